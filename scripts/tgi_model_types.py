"""Writes eos_guard/data/tgi_model_types.json: the config.json ``model_type`` values TGI can serve.

usage: python scripts/tgi_model_types.py TGI_MODELS_INIT TGI_COMMIT MODELING_AUTO TRANSFORMERS_VERSION

TGI_MODELS_INIT is text-generation-inference's ``server/text_generation_server/models/__init__.py`` at
TGI_COMMIT; MODELING_AUTO is ``transformers/models/auto/modeling_auto.py`` of the transformers release TGI's
image installs (``server/uv.lock``, which its Dockerfile's ``uv sync --frozen`` reads: 4.51.0 at db931fcf42). Both
are read as text (neither is installed):

    git show db931fcf42:server/text_generation_server/models/__init__.py > tgi_models_init.py
    pip download --no-deps --only-binary :all: transformers==4.51.0
    unzip -p transformers-4.51.0-*.whl transformers/models/auto/modeling_auto.py > modeling_auto.py
    python scripts/tgi_model_types.py tgi_models_init.py db931fcf42 modeling_auto.py 4.51.0

``get_model`` serves the model types it names (the ``type`` of each ``ModelType`` member, and the strings it
compares ``model_type`` with), then any model type in transformers' ``MODEL_FOR_CAUSAL_LM_MAPPING_NAMES`` or
``MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES``, then remote code (``auto_map``, with ``--trust-remote-code``);
for anything else it raises ``ValueError: Unsupported model type``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import data_table

MAPPINGS = ("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES")


def named_by_tgi(source: str) -> set[str]:
    """The model types TGI's ``get_model`` names: its ``ModelType`` members' ``type`` and the string literals it
    compares ``model_type`` with (``==`` or ``in [...]``)."""
    tree = ast.parse(source)
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "ModelType":
            for member in node.body:
                if isinstance(member, ast.Assign) and isinstance(member.value, ast.Dict):
                    for key, value in zip(member.value.keys, member.value.values):
                        if isinstance(key, ast.Constant) and key.value == "type" and \
                                isinstance(value, ast.Constant) and isinstance(value.value, str):
                            names.add(value.value)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "get_model"]
    if not names or not functions:
        raise SystemExit("no ModelType members or no get_model: read the release's models/__init__.py again")
    for node in ast.walk(functions[0]):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "model_type":
            for comparator in node.comparators:
                items = comparator.elts if isinstance(comparator, (ast.List, ast.Tuple, ast.Set)) else [comparator]
                names.update(item.value for item in items
                             if isinstance(item, ast.Constant) and isinstance(item.value, str))
    return names


def transformers_mappings(source: str) -> set[str]:
    """The keys of modeling_auto.py's causal-LM and seq2seq-LM name tables (``OrderedDict([(type, class), ...])``)."""
    found: dict[str, set[str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in MAPPINGS and isinstance(node.value, ast.Call) and node.value.args:
            pairs = node.value.args[0]
            found[node.targets[0].id] = {pair.elts[0].value for pair in getattr(pairs, "elts", [])
                                         if isinstance(pair, ast.Tuple) and isinstance(pair.elts[0], ast.Constant)}
    missing = [name for name in MAPPINGS if not found.get(name)]
    if missing:
        raise SystemExit(f"modeling_auto.py has no table {', '.join(missing)}: read the release's file again")
    return set().union(*found.values())


def main(argv: list[str]) -> int:
    init, commit, modeling_auto, version = data_table.arguments(argv, 4, __doc__)
    served = named_by_tgi(Path(init).read_text(encoding="utf-8")) | \
        transformers_mappings(Path(modeling_auto).read_text(encoding="utf-8"))
    data = {"about": "The config.json model_type values TGI's get_model serves without remote code: the ones it "
                     "names, and transformers' causal-LM and seq2seq-LM tables of the release its image installs. "
                     "Written by scripts/tgi_model_types.py.",
            "tgi": commit, "transformers": version, "model_types": sorted(served)}
    return data_table.write("tgi_model_types.json", data, "model_types", "model types")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
