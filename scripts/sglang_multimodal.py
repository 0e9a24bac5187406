"""Writes eos_guard/data/sglang_multimodal.json: the architectures SGLang runs as multimodal models.

usage: python scripts/sglang_multimodal.py MODEL_CONFIG_PY VERSION

MODEL_CONFIG_PY is ``sglang/srt/configs/model_config.py`` of an SGLang release, read as text (SGLang is not
installed):

    pip download --no-deps --only-binary :all: sglang==0.5.23
    unzip -p sglang-0.5.23-*.whl sglang/srt/configs/model_config.py > model_config.py
    python scripts/sglang_multimodal.py model_config.py 0.5.23

``multimodal``: the module's ``multimodal_model_archs`` list (``is_multimodal_model``); ``disabled``: the
``mm_disabled_models`` of ``ModelConfig.__init__``, for which ``enable_multimodal`` is false unless asked for
(``--enable-multimodal``). Only a model SGLang runs as multimodal gets a processor (``TokenizerManager.
init_tokenizer_and_processor``), whose chat template it then renders (runtimes/sglang.py).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import data_table


def string_lists(source: str, names: tuple[str, ...]) -> dict[str, list[str]]:
    """The string lists assigned to each of ``names`` anywhere in ``source`` (at module level or in a function)."""
    found: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in names and isinstance(node.value, ast.List):
            found[node.targets[0].id] = [item.value for item in node.value.elts
                                         if isinstance(item, ast.Constant) and isinstance(item.value, str)]
    missing = [name for name in names if not found.get(name)]
    if missing:
        raise SystemExit(f"model_config.py has no list {', '.join(missing)}: read the release's file again")
    return found


def main(argv: list[str]) -> int:
    source, version = data_table.arguments(argv, 2, __doc__)
    lists = string_lists(Path(source).read_text(encoding="utf-8"), ("multimodal_model_archs", "mm_disabled_models"))
    data = {"about": "The architectures SGLang runs as multimodal models (multimodal_model_archs), and those it "
                     "runs as text models unless --enable-multimodal is passed (mm_disabled_models). Written by "
                     "scripts/sglang_multimodal.py.",
            "sglang": version, "multimodal": sorted(set(lists["multimodal_model_archs"])),
            "disabled": sorted(set(lists["mm_disabled_models"]))}
    return data_table.write("sglang_multimodal.json", data, "multimodal", "architectures")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
