"""Writes eos_guard/data/model_classes.json: the model classes of the installed transformers that cannot generate.

usage: python scripts/model_classes.py

``headless``: the classes ``AutoModel`` loads (``MODEL_MAPPING_NAMES`` in ``models/auto/modeling_auto.py``: the
bare model of each model type, ``BertModel``, ``MistralModel``, with no head on top) and those
``AutoModelForTextEncoding`` loads (``MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES``: the encoders of encoder-decoder
models, ``T5EncoderModel``, ``UMT5EncoderModel``, as the text encoders of diffusers pipelines name them) whose
class has no
``GenerationMixin``, so ``can_generate()`` is False and ``generate()`` cannot run on them. A folder whose
config.json ``architectures`` lists only such classes (and heads ending in ``model_files.NO_GENERATE``) is an
embedding or encoder model (sentence-transformers' ``BertModel`` folders, ``MistralModel`` embedding models);
vLLM runs these ``architectures`` as pooling models too. ``generate()`` is found in the modeling sources (without
torch the classes cannot be imported): a class generates when ``GenerationMixin`` or a class that generates is
among its bases, followed through every source of ``models/`` and ``generation/``.

tests/test_runtimes.py compares the file with what this script computes from the installed transformers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import data_table



def generating_classes(package: Path) -> set[str]:
    """The class names of the sources of transformers (``package``) that have ``GenerationMixin`` in their bases,
    directly or through a class of another source that has (``CsmGenerationMixin`` in ``generation_csm.py``)."""
    bases: dict[str, set[str]] = {}
    for source in sorted([*package.glob("models/*/*.py"), *package.glob("generation/*.py")]):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = {ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases}
                bases.setdefault(node.name, set()).update(names)
    generating = {"GenerationMixin"}
    while True:
        more = {name for name, parents in bases.items() if name not in generating and parents & generating}
        if not more:
            return generating - {"GenerationMixin"}
        generating |= more


def tables() -> dict:
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES, MODEL_MAPPING_NAMES

    generating = generating_classes(Path(transformers.__file__).parent)
    loaded = set()
    for value in [*MODEL_MAPPING_NAMES.values(), *MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES.values()]:
        loaded.update(value if isinstance(value, (list, tuple)) else [value])
    return {
        "about": "The classes AutoModel and AutoModelForTextEncoding load (MODEL_MAPPING_NAMES, "
                 "MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES) that have no GenerationMixin: "
                 "written by scripts/model_classes.py from the installed transformers.",
        "transformers": transformers.__version__,
        "headless": sorted(loaded - generating),
    }


def main() -> int:
    return data_table.write("model_classes.json", tables())


if __name__ == "__main__":
    raise SystemExit(main())
