"""Writes eos_guard/data/vllm_registry.json: what vLLM's model registry says about architectures eos-guard needs.

usage: python scripts/vllm_registry.py REGISTRY_PY VERSION

REGISTRY_PY is ``vllm/model_executor/models/registry.py`` of a vLLM release, read as text (vLLM is not
installed; its wheel needs no build):

    pip download --no-deps --only-binary :all: vllm==0.34.0
    unzip -p vllm-0.34.0-*.whl vllm/model_executor/models/registry.py > registry.py
    python scripts/vllm_registry.py registry.py 0.34.0

``pooling``: the names of the registry's pooling tables (``_EMBEDDING_MODELS``, ``_LATE_INTERACTION_MODELS``,
``_REWARD_MODELS``, ``_TOKEN_CLASSIFICATION_MODELS``, ``_SEQUENCE_CLASSIFICATION_MODELS``) that none of its
generating tables lists (``_TEXT_GENERATION_MODELS``, ``_MULTIMODAL_MODELS``, ``_SPECULATIVE_DECODING_MODELS``,
``_TRANSFORMERS_SUPPORTED_MODELS``, ``_TRANSFORMERS_BACKEND_MODELS``), less the names that transformers' own
classes cover already (``model_files.NO_GENERATE`` heads, data/model_classes.json's bare models) and the names
ending as a generating class does (``model_files.GENERATING``). vLLM registers these ``architectures`` as
pooling models only: ``HF_ColBERT`` (ColBERT checkpoints), ``GteNewModel``, ``Qwen2ForRewardModel``. transformers
has no class of its own for any of them (remote code, or no class at all).

``encoder_decoder``: the encoder-decoder architectures vLLM itself serves, the entries of ``_MULTIMODAL_MODELS``
after its ``# [Encoder-decoder]`` comment (Whisper, Canary, ...). vLLM's scheduler refuses any other
encoder-decoder model (``vllm/v1/core/sched/scheduler.py``: "Encoder-decoder models are expected to implement the
multimodal interface"), including the ones its Transformers-backend fallback would otherwise accept (T5, Marian).
``plugins``: ``_OOT_SUPPORTED_MODELS``, the architectures served only by an out-of-tree plugin, with its address
(BART's ``vllm-project/bart-plugin``).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import data_table

POOLING = ("_EMBEDDING_MODELS", "_LATE_INTERACTION_MODELS", "_REWARD_MODELS", "_TOKEN_CLASSIFICATION_MODELS",
           "_SEQUENCE_CLASSIFICATION_MODELS")
GENERATING_TABLES = ("_TEXT_GENERATION_MODELS", "_MULTIMODAL_MODELS", "_SPECULATIVE_DECODING_MODELS",
                     "_TRANSFORMERS_SUPPORTED_MODELS", "_TRANSFORMERS_BACKEND_MODELS")


def table_names(source: str) -> dict[str, set[str]]:
    """Each top-level ``_NAME = {...}`` table of the registry: its literal string keys (``**`` entries are left
    out: the registry's one, in ``_EMBEDDING_MODELS``, repeats generating names)."""
    tables: dict[str, set[str]] = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else \
            node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and isinstance(node.value, ast.Dict):
            tables[target.id] = {key.value for key in node.value.keys
                                 if isinstance(key, ast.Constant) and isinstance(key.value, str)}
    return tables


def pooling_only(source: str) -> list[str]:
    sys.path.insert(0, str(data_table.ROOT))
    from eos_guard.model_files import GENERATING, NO_GENERATE, _headless_classes

    tables = table_names(source)
    missing = [name for name in (*POOLING, *GENERATING_TABLES) if name not in tables]
    if missing:
        raise SystemExit(f"the registry has no table {', '.join(missing)}: read the release's registry.py again")
    pooling = set().union(*(tables[name] for name in POOLING))
    generating = set().union(*(tables[name] for name in GENERATING_TABLES))
    return sorted(name for name in pooling - generating
                  if not name.endswith((*GENERATING, *NO_GENERATE)) and name not in _headless_classes())


ENCODER_DECODER_MARK = "# [Encoder-decoder]"


def encoder_decoder(source: str) -> list[str]:
    """The keys of ``_MULTIMODAL_MODELS`` written after its ``# [Encoder-decoder]`` comment, up to the next section
    comment (``# [...]``: older registries listed other models after the encoder-decoders) or the table's end."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["_MULTIMODAL_MODELS"] \
                and isinstance(node.value, ast.Dict):
            lines = source.splitlines()[node.lineno - 1:node.end_lineno]
            marks = [number for number, line in enumerate(lines, node.lineno) if line.strip() == ENCODER_DECODER_MARK]
            if len(marks) != 1:
                break
            after = [number for number, line in enumerate(lines, node.lineno)
                     if number > marks[0] and line.strip().startswith("# [")]
            end = after[0] if after else node.end_lineno
            return sorted(key.value for key in node.value.keys if isinstance(key, ast.Constant)
                          and isinstance(key.value, str) and marks[0] < key.lineno < end)
    raise SystemExit(f"_MULTIMODAL_MODELS has no one {ENCODER_DECODER_MARK!r} comment: read the release's "
                     "registry.py again")


def plugins(source: str) -> dict[str, str]:
    """``_OOT_SUPPORTED_MODELS``: architecture -> the address of the plugin that serves it."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["_OOT_SUPPORTED_MODELS"]:
            table = ast.literal_eval(node.value)
            if isinstance(table, dict):
                return dict(sorted(table.items()))
    raise SystemExit("the registry has no _OOT_SUPPORTED_MODELS table: read the release's registry.py again")


def main(argv: list[str]) -> int:
    registry, version = data_table.arguments(argv, 2, __doc__)
    source = Path(registry).read_text(encoding="utf-8")
    data = {"about": "From vllm/model_executor/models/registry.py, written by scripts/vllm_registry.py: the "
                     "architectures vLLM registers only as pooling models, less those transformers' own classes "
                     "cover; the encoder-decoder architectures vLLM serves itself; those only a plugin serves.",
            "vllm": version,
            "pooling": pooling_only(source),
            "encoder_decoder": encoder_decoder(source),
            "plugins": plugins(source)}
    return data_table.write("vllm_registry.json", data, "pooling", "pooling names")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
