"""Writes eos_guard/data/model_classes.json: the model classes of the installed transformers that cannot generate.

usage: python scripts/model_classes.py

``headless``: every model class of the modeling sources (``models/*/modeling_*.py``: a class with
``PreTrainedModel`` among its bases, directly or through another) that has neither ``GenerationMixin`` nor a
``generate`` method of its own among its bases, so ``can_generate()`` is False and ``generate()`` cannot run on it
(``PreTrainedModel`` has no ``generate``: modeling_utils.py ``can_generate``, 5.24 and 5.25). That is the bare model
of each model type (``MODEL_MAPPING_NAMES``: ``BertModel``, ``MistralModel``, with no head on top), the encoders
``AutoModelForTextEncoding`` loads (``T5EncoderModel``, ``UMT5EncoderModel``) and the towers no Auto class loads
(``CLIPTextModelWithProjection``, ``SiglipTextModel``, ``CLIPVisionModelWithProjection``), as the text encoders and
image encoders of diffusers pipelines and IP-Adapters name them. A folder whose config.json ``architectures`` lists
only such classes (and heads ending in ``model_files.NO_GENERATE``) is an embedding or encoder model; vLLM runs
these ``architectures``, when it runs them at all, as pooling models. Not listed: the classes with a ``generate`` of
their own and no ``GenerationMixin`` (``RagSequenceForGeneration``, which writes text; ``SpeechT5ForTextToSpeech``),
the base classes (``...PreTrainedModel``), names that end as generating classes do (``model_files.GENERATING``), which
eos-guard never looks up, and heads no Auto class of these two loads whose name ends in ``model_files.NO_GENERATE``. Classes are found in the modeling sources (without torch they cannot be imported),
followed through every source of ``models/`` and ``generation/``.

``types_without_generate``: the model types none of whose classes can generate; ``types_generating_only_as_decoders``:
those whose only generating classes are an encoder's causal-LM head that warns unless ``is_decoder`` is set
(``BertLMHeadModel``): with neither ``architectures`` nor ``is_decoder`` in config.json, such a folder is an encoder.
``types_tying_embeddings``: those whose config class ties the embeddings by default (Gemma's), for weights that hold
no ``lm_head`` (model_files.ModelFiles.weights_of_a_causal_lm). ``types_with_processor``: those AutoProcessor builds a
processor of transformers for (``PROCESSOR_MAPPING_NAMES``, models/auto/processing_auto.py): for another type, and
no ``processor_class`` named, it returns the tokenizer, and nothing reads chat_template.json
(model_files.ModelFiles.builds_processor).

tests/test_runtimes.py compares the file with what this script computes from the installed transformers.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import data_table

def class_bases(package: Path) -> tuple[dict[str, set[str]], set[str]]:
    """The base class names of every class of the sources of transformers (``package``) by its name, and the names
    of the classes that define ``generate`` themselves."""
    bases: dict[str, set[str]] = {}
    own_generate: set[str] = set()
    sources = [*package.glob("models/*/*.py"), *package.glob("generation/*.py"), package / "modeling_utils.py"]
    for source in sorted(sources):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = {ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases}
                bases.setdefault(node.name, set()).update(names)
                if any(isinstance(item, ast.FunctionDef) and item.name == "generate" for item in node.body):
                    own_generate.add(node.name)
    return bases, own_generate


def descendants(bases: dict[str, set[str]], roots: set[str]) -> set[str]:
    """``roots`` and every class with one of them among its bases, directly or through another."""
    found = set(roots)
    while True:
        more = {name for name, parents in bases.items() if name not in found and parents & found}
        if not more:
            return found
        found |= more


def generating_classes(package: Path) -> set[str]:
    """The class names of the sources of transformers (``package``) that have ``GenerationMixin`` in their bases,
    directly or through a class of another source that has (``CsmGenerationMixin`` in ``generation_csm.py``)."""
    return descendants(class_bases(package)[0], {"GenerationMixin"}) - {"GenerationMixin"}


def tables() -> dict:
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES, MODEL_MAPPING_NAMES
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

    package = Path(transformers.__file__).parent
    bases, own_generate = class_bases(package)
    can_run_generate = descendants(bases, {"GenerationMixin", *own_generate})
    loaded = set()  # what AutoModel and AutoModelForTextEncoding load, whatever its name
    for value in [*MODEL_MAPPING_NAMES.values(), *MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES.values()]:
        loaded.update(value if isinstance(value, (list, tuple)) else [value])
    models = {name for name in descendants(bases, {"PreTrainedModel"})
              if not name.endswith(("PreTrainedModel", "PretrainedModel", "TokenizerBase"))}
    sys.path.insert(0, str(data_table.ROOT))
    from eos_guard.model_files import GENERATING, NO_GENERATE  # names eos-guard tells without the table

    headless = {name for name in (loaded | models) - can_run_generate
                if not name.endswith(GENERATING) and (name in loaded or not name.endswith(NO_GENERATE))}
    return {
        "about": "The model classes of transformers' modeling sources that have neither GenerationMixin nor a "
                 "generate() of their own (can_generate() is False): the bare models AutoModel loads, the encoders "
                 "AutoModelForTextEncoding loads, the text and vision towers no Auto class loads; the model "
                 "types none of whose classes can generate, and those that generate only as decoders (is_decoder); "
                 "written by scripts/model_classes.py from the installed "
                 "transformers.",
        "transformers": transformers.__version__,
        "headless": sorted(headless),
        "types_without_generate": types_without_generate(package, can_run_generate),
        "types_generating_only_as_decoders": types_generating_only_as_decoders(package, can_run_generate),
        "types_tying_embeddings": types_tying_embeddings(),
        "types_with_processor": sorted(PROCESSOR_MAPPING_NAMES),
    }


def types_tying_embeddings() -> list[str]:
    """The model types whose config class ties the input and output embeddings when config.json does not say
    (``tie_word_embeddings`` of the class's default instance, or of its text config: Gemma's True, Llama's and
    Qwen2's False). A type whose config class cannot be made without arguments is not listed."""
    import warnings

    from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    from transformers.utils import logging

    logging.set_verbosity_error()
    tying = []
    for model_type in CONFIG_MAPPING.keys():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                config = CONFIG_MAPPING[model_type]()
                text = config.get_text_config()
        except Exception:  # noqa: BLE001 - classes that need arguments, or two text configs (MusicGen's)
            continue
        tie = getattr(config, "tie_word_embeddings", None)
        if getattr(text, "tie_word_embeddings", tie) is True:
            tying.append(model_type)
    return sorted(tying)


def types_without_generate(package: Path, can_run_generate: set[str]) -> list[str]:
    """The model types (``CONFIG_MAPPING_NAMES``) none of whose classes can run generate(): no class of their
    modeling sources (``models/<module>/modeling_*.py``) can, and no Auto class maps the type to one that can
    (DeBERTa-v2's, whose config.json names no ``architectures``). A type without modeling sources is not listed."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    mapped = _auto_mapped()
    listed = []
    for model_type in CONFIG_MAPPING_NAMES:
        sources = _model_type_sources(package, model_type)
        if not sources:
            continue
        defined = {node.name for source in sources for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
                   if isinstance(node, ast.ClassDef)}
        if not (defined | mapped.get(model_type, set())) & can_run_generate:
            listed.append(model_type)
    return sorted(listed)


def _model_type_sources(package: Path, model_type: str) -> list[Path]:
    from transformers.models.auto.configuration_auto import model_type_to_module_name

    return sorted((package / "models" / model_type_to_module_name(model_type)).glob("modeling_*.py"))


def _auto_mapped() -> dict[str, set[str]]:
    """Every class an Auto class maps each model type to."""
    from transformers.models.auto import modeling_auto

    mapped: dict[str, set[str]] = {}
    for name in dir(modeling_auto):
        table = getattr(modeling_auto, name)
        if name.endswith("_MAPPING_NAMES") and isinstance(table, dict):
            for model_type, value in table.items():
                mapped.setdefault(model_type, set()).update(value if isinstance(value, (list, tuple)) else [value])
    return mapped


def _warns_unless_decoder(node: ast.ClassDef) -> bool:
    """Whether the class's ``__init__`` tests ``if not config.is_decoder:`` (BertLMHeadModel's "If you want to use
    `BertLMHeadModel` as a standalone, add `is_decoder=True.`")."""
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            return any(isinstance(sub, ast.If) and isinstance(sub.test, ast.UnaryOp)
                       and isinstance(sub.test.op, ast.Not) and isinstance(sub.test.operand, ast.Attribute)
                       and sub.test.operand.attr == "is_decoder" for sub in ast.walk(item))
    return False


def types_generating_only_as_decoders(package: Path, can_run_generate: set[str]) -> list[str]:
    """The model types (``CONFIG_MAPPING_NAMES``) whose every class that can run generate() is an encoder's
    causal-LM head that warns unless the config sets ``is_decoder`` (``BertLMHeadModel``, ``RobertaForCausalLM``,
    ``ElectraForCausalLM``): a BERT-era encoder saved without ``architectures`` and without ``is_decoder`` is no
    text generator, though AutoModelForCausalLM loads that head for it. The classes are those the Auto classes map
    the type to: a module shared by several types (data2vec's) defines the others' too."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    mapped = _auto_mapped()
    listed = []
    for model_type in CONFIG_MAPPING_NAMES:
        classes = {node.name: node for source in _model_type_sources(package, model_type)
                   for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
                   if isinstance(node, ast.ClassDef)}
        generating = mapped.get(model_type, set()) & can_run_generate
        if generating and all(name in classes and _warns_unless_decoder(classes[name]) for name in generating):
            listed.append(model_type)
    return sorted(listed)


def main() -> int:
    return data_table.write("model_classes.json", tables(), "headless", "classes")


if __name__ == "__main__":
    raise SystemExit(main())
