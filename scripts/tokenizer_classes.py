"""Writes eos_guard/data/tokenizer_classes.json: how the installed transformers' AutoTokenizer picks a tokenizer class.

usage: python scripts/tokenizer_classes.py [RELEASE]

Without RELEASE it rewrites the section "newest" (the release whose numbering eos-guard reports, 5.25 today)
from the transformers installed with this Python: after upgrading transformers, this one command updates the
tables. A RELEASE names an older release line a runtime pins ("5.19", SGLang 0.5.23's), whose section
it writes when that line is installed: ``pip install --target /tmp/t519 --no-deps transformers==5.19.0``, then
``PYTHONPATH=/tmp/t519 python scripts/tokenizer_classes.py 5.19``. Other sections are kept.
tests/test_tokenizer_classes.py compares the section of the installed release line (else "newest") with what this
script computes, and sweeps every model type through ``AutoTokenizer.from_pretrained``.

Each section holds what ``models/auto/tokenization_auto.py`` ``AutoTokenizer.from_pretrained`` reads
(eos_guard/vocabulary.py ``tokenizer_class`` follows its steps):

- ``registered``: ``TOKENIZER_MAPPING_NAMES`` (model_type -> class name, "Fast" removed, unset entries left out);
- ``overridden``: ``MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS``, the model types whose tokenizer_class on the
  Hub is replaced by the registered class;
- ``default``: for each model type ``AutoConfig`` knows, the class ``TOKENIZER_MAPPING`` gives its config class
  when no file names a tokenizer class (not always the registered one: config classes shared by model types,
  aliases such as ``LEDTokenizer`` = ``RobertaTokenizer``; for ``encoder-decoder``, its default encoder's);
  ``TokenizersBackend`` entries left out;
- ``classes``: tokenizer_class value -> the class ``tokenizer_class_from_name`` returns (its ``__name__``), for
  every tokenizer class name transformers exports or registers, with and without "Fast"; a name not listed
  is found nowhere (or only as a placeholder that raises because a package is missing);
- ``rebuilding``: the classes among them that rebuild the tokenizer from the vocab and re-add
  added_tokens_decoder sorted by id (``TokenizersBackend`` subclasses with their own ``__init__``);
- ``byte_level_llama``: whether a ``LlamaTokenizer`` whose tokenizer.json is ByteLevel loads as
  ``TokenizersBackend`` (5.24 and 5.25 do, 5.19 and 5.20 do not; tried on a small folder);
- ``sentencepiece``, ``mistral_common``: whether those packages were installed, since a few registered
  classes depend on them;
- ``special_defaults``: class -> the standard special tokens (``eos_token``, ...) it sets when no file names them
  (the class loaded from a tiny BPE or Unigram tokenizer.json, else its ``__init__`` signature);
- ``required_tokens``: class -> the standard names it cannot be built without (set to null, the load raises);
- ``padding_pad_token``: the classes whose pad_token is tokenizer.json's ``padding.pad_token`` when no file names
  one (``TokenizersBackend.__init__``: ``kwargs.setdefault("pad_token", ...)``; a class that passes its own
  default, or None, keeps it).
"""

from __future__ import annotations

import inspect
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = ROOT / "eos_guard" / "data" / "tokenizer_classes.json"
NEWEST = "newest"


def tables() -> dict:
    """The section for the installed transformers."""
    import transformers
    from transformers.models.auto import tokenization_auto as auto
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING, CONFIG_MAPPING_NAMES
    from transformers.models.encoder_decoder import EncoderDecoderConfig
    from transformers.tokenization_utils_base import PreTrainedTokenizerBase
    from transformers.tokenization_utils_tokenizers import TokenizersBackend
    from transformers.utils import import_utils

    registered = {t: n.removesuffix("Fast") for t, n in auto.TOKENIZER_MAPPING_NAMES.items() if n}
    default = {}
    for model_type in CONFIG_MAPPING_NAMES:
        config_class = CONFIG_MAPPING[model_type]
        if issubclass(config_class, EncoderDecoderConfig):  # its encoder's class: the default encoder's here
            try:
                config_class = type(config_class().encoder)
            except ValueError:  # 5.19 has no default encoder: AutoTokenizer falls back to PreTrainedConfig
                continue
        cls = auto.TOKENIZER_MAPPING.get(config_class, TokenizersBackend)
        if cls is not None and cls.__name__ != "TokenizersBackend":
            default[model_type] = cls.__name__
    names = {"BloomTokenizer", "PreTrainedTokenizer", "PreTrainedTokenizerFast", *registered.values(),
             *(n for n in dir(transformers) if n.endswith(("Tokenizer", "Backend")))}
    names |= {n + "Fast" for n in names if not n.endswith("Fast")}
    classes = {}
    for name in sorted(names):
        cls = auto.tokenizer_class_from_name(name)
        if isinstance(cls, type) and issubclass(cls, PreTrainedTokenizerBase):  # not a placeholder or a helper
            classes[name] = cls.__name__
    rebuilding = set()
    for name in classes:
        cls = auto.tokenizer_class_from_name(name)
        if issubclass(cls, TokenizersBackend) and cls is not TokenizersBackend and "__init__" in cls.__dict__:
            rebuilding.add(cls.__name__)
    special_defaults, required_tokens, padding_pad_token = {}, {}, []
    for name in sorted(set(classes.values())):
        cls = auto.tokenizer_class_from_name(name)
        unigram = _loading_kind(cls)
        defaults = _special_defaults(cls, unigram)
        if defaults:
            special_defaults[name] = defaults
        required = _required_tokens(cls, unigram)
        if required:
            required_tokens[name] = required
        if _takes_padding_pad_token(cls, unigram):
            padding_pad_token.append(name)
    return {"transformers": transformers.__version__,
            "sentencepiece": import_utils.is_sentencepiece_available(),
            "mistral_common": import_utils.is_mistral_common_available(),
            "byte_level_llama": _byte_level_llama_loads_generic(),
            "registered": dict(sorted(registered.items())),
            "overridden": sorted(auto.MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS),
            "default": dict(sorted(default.items())),
            "classes": classes,
            "rebuilding": sorted(rebuilding),
            "special_defaults": special_defaults,
            "required_tokens": required_tokens,
            "padding_pad_token": padding_pad_token}


SPECIAL_TOKEN_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


PADDING_PROBE = "b"  # a token of both small vocabularies that no class has as a default


def _small_folder(folder: Path, unigram: bool, tokenizer_config: dict, padding: bool = False) -> Path:
    """A folder the tokenizer classes can be loaded from: a tiny BPE, or Unigram, tokenizer.json; with
    ``padding``, its padding set to pad with PADDING_PROBE."""
    from tokenizers import Tokenizer, models

    model = (models.Unigram([("<unk>", 0.0), ("▁", -1.0), ("a", -2.0), ("b", -2.0), ("hi", -3.0)], 0)
             if unigram else models.BPE({"a": 0, "b": 1, "ab": 2}, [("a", "b")]))
    tokenizer = Tokenizer(model)
    if padding:
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(PADDING_PROBE), pad_token=PADDING_PROBE)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    return folder


def _load(cls: type, unigram: bool, tokenizer_config: dict, padding: bool = False) -> Any:
    """The class loaded from a small folder, or None when that raises."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    with tempfile.TemporaryDirectory() as folder:
        try:
            return cls.from_pretrained(str(_small_folder(Path(folder), unigram, tokenizer_config, padding)))
        except Exception:  # noqa: BLE001 - needs vocab files, sentencepiece, the other model...: it does not load
            return None


def _loading_kind(cls: type) -> bool | None:
    """Whether the class loads from the Unigram folder (True), the BPE one (False), or neither (None)."""
    return next((unigram for unigram in (False, True) if _load(cls, unigram, {}) is not None), None)


def _required_tokens(cls: type, unigram: bool | None) -> list[str]:
    """The standard names the class cannot be built without: a folder that loads fails to once tokenizer_config.json
    sets that name to null (RobertaTokenizer builds its post-processor from the sep and cls ids, T5Tokenizer from
    the eos id). Only classes that load from a tiny BPE or Unigram tokenizer.json (``unigram``) are tried."""
    if unigram is None:
        return []
    return [name for name in SPECIAL_TOKEN_NAMES if _load(cls, unigram, {name: None}) is None]


def _takes_padding_pad_token(cls: type, unigram: bool | None) -> bool:
    """Whether the class, loaded from a folder whose tokenizer.json pads with PADDING_PROBE and whose files name no
    pad_token, has that as its pad_token. Only classes that load from a tiny BPE or Unigram tokenizer.json."""
    if unigram is None:
        return False
    loaded = _load(cls, unigram, {}, padding=True)
    return loaded is not None and str(loaded.pad_token) == PADDING_PROBE


def _special_defaults(cls: type, unigram: bool | None) -> dict[str, str]:
    """The standard special tokens the class sets when no file names them: what the class loaded from a folder
    whose files name none says (``special_tokens_map``), else, for a class that cannot be built from that small
    BPE or Unigram file (``unigram`` None), its ``__init__`` defaults, following ``**kwargs`` up to the parents."""
    from transformers import AddedToken

    if unigram is not None:
        loaded = _load(cls, unigram, {}).special_tokens_map
        return {name: str(loaded[name]) for name in SPECIAL_TOKEN_NAMES
                if isinstance(loaded.get(name), (str, AddedToken))}
    defaults: dict[str, str] = {}
    shadowed: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in klass.__dict__ or klass.__name__ in ("TokenizersBackend", "PythonBackend",
                                                                   "PreTrainedTokenizerBase"):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        for parameter in parameters.values():
            if parameter.name in SPECIAL_TOKEN_NAMES and parameter.name not in shadowed:
                shadowed.add(parameter.name)
                value = parameter.default
                if isinstance(value, (str, AddedToken)):
                    defaults[parameter.name] = str(value)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            break
    return {name: defaults[name] for name in SPECIAL_TOKEN_NAMES if name in defaults}


def _byte_level_llama_loads_generic() -> bool:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()  # the rule's warning is what is being tried
    with tempfile.TemporaryDirectory() as folder:
        tokenizer = Tokenizer(models.BPE({"a": 0, "b": 1, "ab": 2}, [("a", "b")]))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel()
        tokenizer.save(str(Path(folder) / "tokenizer.json"))
        (Path(folder) / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
        (Path(folder) / "tokenizer_config.json").write_text('{"tokenizer_class": "LlamaTokenizerFast"}',
                                                            encoding="utf-8")
        return type(AutoTokenizer.from_pretrained(folder)).__name__ == "TokenizersBackend"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    release = args[0] if args else NEWEST
    data = (json.loads(DATA_FILE.read_text(encoding="utf-8")) if DATA_FILE.exists()
            else {"about": "Generated by scripts/tokenizer_classes.py: how transformers' AutoTokenizer picks a "
                           "tokenizer class, per release line eos-guard models.", "releases": {}})
    section = tables()
    if release != NEWEST and not section["transformers"].startswith(release + "."):
        print(f"transformers {section['transformers']} is installed, not {release}", file=sys.stderr)
        return 2
    data["releases"][release] = section
    data["releases"] = dict(sorted(data["releases"].items(), key=lambda item: item[0] != NEWEST))  # newest first
    DATA_FILE.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"transformers {section['transformers']}: {len(section['registered'])} registered model types, "
          f"{len(section['classes'])} class names -> {DATA_FILE} [{release}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
