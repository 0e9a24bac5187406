"""Token strings to ids, as the tokenizer that transformers 5 builds will number them.

With a tokenizer.json the ``tokenizers`` library numbers added tokens: one that is in the model vocab takes the
vocab id; the others get new ids in the order they are added, whatever their ``"id"`` field says
(``AddedVocabulary::add_tokens``). Which tokens are added, in which order, depends on the tokenizer class
transformers picks (``models/auto/tokenization_auto.py`` ``AutoTokenizer.from_pretrained``; ``tokenizer_class``
follows its steps for 5.25 and 5.19, reading tables generated from transformers into
``data/tokenizer_classes.json`` by ``scripts/tokenizer_classes.py``):

- ``TokenizersBackend`` (``PreTrainedTokenizerFast``, a ByteLevel ``LlamaTokenizer``, ...) loads tokenizer.json
  as it is: its ``added_tokens`` in list order, then added_tokens_decoder entries it lacks;
- a model-specific class with its own ``__init__`` (``Qwen2Tokenizer``, ``GPT2Tokenizer``, ``GemmaTokenizer``,
  ...: the tables' ``rebuilding``) rebuilds the tokenizer from the vocab and merges and adds the
  ``added_tokens_decoder`` entries **sorted by their declared id** (``tokenization_utils_tokenizers.py``
  ``convert_to_native_format`` and ``TokenizersBackend.__init__``, lines 113-123 and 477-513).

Numbering a batch (tokenizers ≥ 0.22.2, commit d6a4acc0; transformers 5.19+ needs ≥ 0.23.1): new ids count up
from the model vocab's size (its number of entries), or from one past the highest earlier added id when that is
at or above the size. Without tokenizer.json, the ids declared in tokenizer_config.json's
``added_tokens_decoder`` and added_tokens.json are all there is, and the base vocabulary is unknown.
"""

from __future__ import annotations

import json
import os
from functools import cache, cached_property
from pathlib import Path

from .errors import InputError
from .jsonspan import KIND_NAMES, JsonDocument, KeyPath, Where
from .known_tokens import END_OF_TURN_TEXTS, LLAMA_CPP_FIM_TEXTS, PLAMO_EOS
from .model_files import ModelFiles
from .records import record
from .vocab_scan import vocab_facts

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from .spm_model import SentencePieceModel


# How AutoTokenizer picks a class, per transformers release line: TOKENIZER_MAPPING_NAMES,
# MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS, the class each config class maps to, what each tokenizer_class value
# loads and which classes rebuild. Generated from transformers by scripts/tokenizer_classes.py (the section
# "newest", 5.25, and "5.19"); tests/test_tokenizer_classes.py compares it with the installed transformers.
TABLES_FILE = Path(__file__).parent / "data" / "tokenizer_classes.json"
# class names AutoTokenizer treats as the generic backend (tokenization_auto.py 5.25, lines 879-899, 981-985);
# MistralCommonBackend needs mistral-common and a tekken.json, else TokenizersBackend loads (lines 901-912)
GENERIC_CLASSES = frozenset({"TokenizersBackend", "PythonBackend", "PreTrainedTokenizerFast", "MistralCommonBackend"})
# The model types AutoTokenizer loads with MistralCommonBackend where mistral-common and Pillow are installed and the
# folder has a tekken.json, even beside a tokenizer.json (TOKENIZER_MAPPING_NAMES, tokenization_auto.py 5.25, lines
# 207-245, 292, 362-373; the choice at lines 901-912): its eos is tekken.json's '</s>' and it ignores the chat
# template (EOS031; tests/test_tekken.py reads the installed transformers' list)
MISTRAL_COMMON_TYPES = frozenset({"ministral", "ministral3", "mistral", "mistral3", "mistral_large4", "mixtral",
                                  "pixtral", "voxtral", "voxtral_realtime"})


# Without tokenizer.json, the classes that transformers 5.24 builds from a folder's tokenizer.model (the generic
# backend too) or from its vocab.json and merges.txt keeping each piece's id, and numbering added tokens as from
# tokenizer.json: added_tokens_decoder sorted by id, then the special tokens it lacks, new ones counting from the
# vocabulary's size (tests/test_vocab_files.py loads each with the installed transformers). Other classes reorder
# the pieces (T5Tokenizer appends its extra ids, XLMRobertaTokenizer shifts them) or read other files: eos-guard
# keeps only the ids the files declare for them.
SPM_CLASSES = frozenset({"TokenizersBackend", "LlamaTokenizer", "GemmaTokenizer",
                         "GPT2Tokenizer", "Qwen2Tokenizer", "Qwen3_5Tokenizer", "CohereTokenizer",
                         "GPTNeoXTokenizer", "CodeGenTokenizer", "XGLMTokenizer"})
VOCAB_JSON_CLASSES = frozenset({"GPT2Tokenizer", "Qwen2Tokenizer", "CohereTokenizer", "GPTNeoXTokenizer",
                                "CodeGenTokenizer", "OpenAIGPTTokenizer", "WhisperTokenizer", "BlenderbotTokenizer",
                                "CLIPTokenizer"})


def base_vocabulary(files: ModelFiles, class_name: str) -> SentencePieceModel | tuple[Path, bytes] | None:
    """The file a folder without tokenizer.json gives ``class_name`` its vocabulary from, when eos-guard models
    it (:data:`SPM_CLASSES`, :data:`VOCAB_JSON_CLASSES`): tokenizer.model, or vocab.json; else None."""
    if files.tokenizer is not None:
        return None
    if files.sp_model is not None:
        if class_name not in SPM_CLASSES:
            return None
        if files.sp_model.raw[:1] == b"\n":  # its first piece (protobuf writes fields in order)
            return files.sp_model
        if files.sp_model.is_tiktoken:  # not modelled: the ids the files declare
            return None
        # no piece first: an InputError for a malformed file; one without pieces is not modelled (LlamaTokenizer
        # then falls back to a vocabulary of its own: <unk>, <s>, </s>)
        return files.sp_model if files.sp_model.size else None
    if files.vocab_json is not None:
        return files.vocab_json if class_name in VOCAB_JSON_CLASSES else None
    return None


def is_sentencepiece(base: SentencePieceModel | tuple[Path, bytes] | None) -> bool:
    """Whether a base vocabulary (:func:`base_vocabulary`) is a tokenizer.model's, not vocab.json's (a tuple of its
    path and bytes); spm_model is imported only for a folder that has a tokenizer.model."""
    return base is not None and not isinstance(base, tuple)


def spm_defaults(files: ModelFiles, class_name: str | None) -> dict[str, str]:
    """The generic backend built from a tokenizer.model takes the bos, eos and unk pieces of its trainer spec
    when no file names them (``TokenizersBackend.convert_to_native_format``, ``local_kwargs.setdefault``), and so
    does a remote-code class over it (:data:`REMOTE_CODE`: ChatGLM2's eos is the model's ``</s>`` 2)."""
    if class_name not in ("TokenizersBackend", REMOTE_CODE) \
            or not is_sentencepiece(base_vocabulary(files, "TokenizersBackend")):
        return {}
    spec = files.sp_model.trainer_spec
    defaults = {"bos_token": ("bos_id", "bos_piece", "<s>"), "eos_token": ("eos_id", "eos_piece", "</s>"),
                "unk_token": ("unk_id", "unk_piece", "<unk>")}
    return {name: spec[piece] or fallback for name, (key, piece, fallback) in defaults.items()
            if isinstance(spec[key], int) and spec[key] >= 0}


def class_tables(numbering: str = "5.25") -> dict[str, Any]:
    """The tables of a release line: "5.19", else the newest (also for 4.x, whose classes never rebuild)."""
    releases = _releases()
    return releases.get(numbering, releases["newest"])


@cache
def _releases() -> dict[str, Any]:
    return json.loads(TABLES_FILE.read_text(encoding="utf-8"))["releases"]  # 92 KB: about a millisecond, once


def tokenizer_class(files: ModelFiles, numbering: str = "5.25") -> str:
    """The tokenizer class AutoTokenizer loads (its ``__name__``); ``TokenizersBackend`` for the generic one.
    ``numbering`` "5.19": transformers 5.19's tables, without the ByteLevel ``LlamaTokenizer`` rule below.

    The steps of ``models/auto/tokenization_auto.py`` ``AutoTokenizer.from_pretrained`` (5.25, lines 678-1035).
    Remote code (an ``AutoTokenizer`` entry in auto_map) is skipped for the model types of
    MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS (lines 394-435, 943-949: internlm2, minicpm3, phi3, ...), which load
    as any folder, and without ``trust_remote_code`` where transformers has a class of its own
    (:func:`_has_local_code`); for any other folder only ``trust_remote_code=True`` loads it, and the remote class
    is not modelled: with tokenizer.json, eos-guard takes it to keep tokenizer.json as it is (the generic
    backend); without, it builds its own vocabulary (ChatGLM's ``SPTokenizer``) and keeps the ids the files
    declare (:data:`REMOTE_CODE`). Not modelled either: MODEL_IDS_TO_TOKENIZERS_BACKEND (lines 445-455,
    833-842), which matches the name the folder is loaded by, not its files (``deepseek-ai/deepseek-coder-*`` and
    a few more load the generic backend); MistralCommonBackend (mistral-common installed and a tekken.json)."""
    tables = class_tables(numbering)
    tc = files.tokenizer_config.data if files.tokenizer_config is not None else None
    config = files.config.data if files.config is not None else None
    tc = tc if isinstance(tc, dict) else {}
    config = config if isinstance(config, dict) else {}
    # the config object's model_type and model_name: config.json's, also when AutoConfig does not know the type
    # and PreTrainedConfig reads the file (lines 804-816)
    model_type = config.get("model_type") if isinstance(config.get("model_type"), str) else None
    model_name = config.get("model_name") if isinstance(config.get("model_name"), str) else None
    remote = names_remote_tokenizer(tc)
    if remote and model_type not in tables["overridden"] and not _has_local_code(tables, model_type, tc):
        return "TokenizersBackend" if files.tokenizer is not None else REMOTE_CODE  # lines 824-831, 943-975
    overridden = model_type in tables["overridden"] or model_name in tables["overridden"]
    registered = tables["registered"].get(model_type)
    hub = tc.get("tokenizer_class") or config.get("tokenizer_class")
    hub = hub if isinstance(hub, str) else None
    # the ByteLevel LlamaTokenizer rule (lines 844-863; not in 5.19 or 5.20); like the next one, only for a folder
    # without remote code (skipped remote code still counts there: it is dropped only at lines 943-949)
    if hub and hub.removesuffix("Fast") == "LlamaTokenizer" and tables["byte_level_llama"] and not remote \
            and registered != "MistralCommonBackend" and not overridden and files.tokenizer is not None \
            and files.tokenizer.contains('"ByteLevel"'):
        return "TokenizersBackend"  # LlamaTokenizer hard-codes Metaspace; a ByteLevel tokenizer.json loads as is
    classes = tables["classes"]
    if hub and registered and registered != hub.removesuffix("Fast") and not remote:  # lines 865-917
        if registered not in GENERIC_CLASSES:
            chosen = classes.get(registered if overridden else hub)
            if chosen is not None and chosen not in GENERIC_CLASSES:
                return chosen
        return "TokenizersBackend"
    named = tc.get("tokenizer_class")
    if isinstance(named, str):  # lines 976-986
        named = named.removesuffix("Fast")
        chosen = classes.get(named) or classes.get(named + "Fast")
    elif hub:  # config.json's tokenizer_class (lines 988-993)
        chosen = classes.get(hub if "PreTrainedTokenizerFast" in hub else hub.removesuffix("Fast"))
    else:  # the class of the config's model type, an encoder-decoder's encoder's (lines 995-1016)
        encoder = config.get("encoder")
        if model_type == "encoder-decoder" and isinstance(encoder, dict) \
                and isinstance(encoder.get("model_type"), str):
            model_type = encoder["model_type"]
        chosen = tables["default"].get(model_type)
    return "TokenizersBackend" if chosen is None or chosen in GENERIC_CLASSES else chosen


def names_remote_tokenizer(tokenizer_config: Any) -> bool:
    """Whether tokenizer_config.json's ``auto_map`` names a remote-code tokenizer class (a list, or an object with
    ``AutoTokenizer``): code eos-guard does not run, which may set its own special tokens (Qwen-1's QWenTokenizer
    defaults eos to '<|endoftext|>')."""
    auto_map = tokenizer_config.get("auto_map") if isinstance(tokenizer_config, dict) else None
    return isinstance(auto_map, (list, tuple)) or isinstance(auto_map, dict) and bool(auto_map.get("AutoTokenizer"))


def _has_local_code(tables: dict[str, Any], model_type: str | None, tc: dict[str, Any]) -> bool:
    """Whether transformers has a class of its own for a folder whose auto_map names remote code (``has_local_code``,
    lines 921-928): the model type's config class is registered, or tokenizer_config.json's ``tokenizer_class`` is
    a class it knows. Then, without ``trust_remote_code=True``, it loads that class and not the remote one
    (``dynamic_module_utils.resolve_trust_remote_code``: local code when the flag is unset)."""
    if model_type in tables["registered"] or model_type in tables["default"]:
        return True
    named = tc.get("tokenizer_class")
    if not isinstance(named, str):
        return False
    named = named.removesuffix("Fast")
    return named in tables["classes"] or named + "Fast" in tables["classes"]


# A remote-code tokenizer class (auto_map) in a folder without tokenizer.json: no class of transformers'; the ids
# the files declare are the ids, over a SentencePiece tokenizer.model with its pieces' (Vocabulary.remote).
REMOTE_CODE = "remote code"


def rebuilds(class_name: str, numbering: str = "5.25") -> bool:
    """Whether the class rebuilds the tokenizer from the vocab and re-adds added_tokens_decoder sorted by id."""
    return class_name in class_tables(numbering)["rebuilding"]


def class_required_tokens(class_name: str | None, numbering: str = "5.25") -> list[str]:
    """The standard special tokens the tokenizer class cannot be built without (RobertaTokenizer's ``sep_token``
    and ``cls_token``, T5Tokenizer's ``eos_token``): without an id for one, loading raises. None: no tokenizer."""
    return class_tables(numbering).get("required_tokens", {}).get(class_name, []) if class_name else []


def class_takes_padding_pad_token(class_name: str | None, numbering: str = "5.25") -> bool:
    """Whether the class's pad_token is tokenizer.json's ``padding.pad_token`` when no file names one
    (``TokenizersBackend.__init__`` sets it with ``kwargs.setdefault``; a class that passes its own keeps that)."""
    return bool(class_name) and class_name in class_tables(numbering).get("padding_pad_token", ())


def class_special_defaults(class_name: str | None, numbering: str = "5.25") -> dict[str, str]:
    """The standard special tokens (``eos_token``, ...) the tokenizer class sets when no file names them: its
    ``__init__`` defaults, as the tables record them from the class itself. None: no tokenizer."""
    return class_tables(numbering).get("special_defaults", {}).get(class_name, {}) if class_name else {}


def older_release_lines() -> list[str]:
    """The release lines runtimes pin that have tables of their own ("5.19"), besides the newest."""
    return [line for line in _releases() if line != "newest"]


_NO_PIECE = object()  # a Unigram vocab item that is not [piece, ...]


@record(frozen=True)
class AddedToken:
    content: str
    id: int
    special: bool
    declared_id: Any                 # what the file says, for reporting disagreements
    document: JsonDocument
    keys: KeyPath                    # where the token's entry is written


INT_DIGITS = 4300  # Python's default int-string conversion limit (sys.get_int_max_str_digits)
TOKEN_ID_LIMIT = 1 << 32  # the tokenizers library's ids are u32: it refuses to load a file with another one


# The modules whose code reads a vocabulary's facts (its size, the ids asked about, the layout checks the entry vouches
# for), part of their cache entry's key (cache.code_fingerprint): unreleased code keeps the last release's version.
# The compiled scan's own file is added (vocab_code): a wheel holds it and not _vocab_scan.c (helper-176).
VOCAB_CODE = ("vocabulary.py", "vocab_scan.py", "vocab_json.py", "jsonspan.py", "_vocab_scan.c")


@cache
def vocab_code() -> tuple[str, ...]:
    """VOCAB_CODE and the file of the compiled scan beside it, where it was built (``_vocab_scan.*.so``, ``.pyd``)."""
    try:
        names = os.listdir(os.path.dirname(os.path.abspath(__file__)))
    except OSError:
        names = []
    return VOCAB_CODE + tuple(sorted(name for name in names
                                     if name.startswith("_vocab_scan.") and name.endswith((".so", ".pyd"))))


def cache_lookup(doc: JsonDocument, use_cache: bool) -> Any:
    """The cache entry of tokenizer.json's bytes, looked up before anything is read from the file (a large file
    is hashed on another thread meanwhile): when it is there already, it vouches for the checks of the file's
    layout that the run which stored it made (JsonDocument.vouch), so the caller looks it up before its first
    ``get`` of the document, which would make those checks."""
    from . import cache

    lookup = cache.Lookup("vocab", doc.path, lambda: doc.raw, use_cache, vocab_code())
    cached = lookup.result()[1] if lookup.ready() else None  # ready now: the digest was known, no hashing
    if well_formed_facts(cached) and "layout" in cached:  # an entry eos-guard wrote, and no other, vouches
        doc.vouch((cached["layout"][0], cached["layout"][1]))
    return lookup


def warm_layout(path: Path) -> tuple[int, int] | None:
    """The bounds of tokenizer.json's vocabulary that a warm cache vouches for: the entry of the digest the file's
    stat (cache.file_key) maps to records that an earlier run checked the layout of those
    bytes, so the file is read only up to its vocabulary (model_files.py) unless more is asked of it. None when
    the cache has no such entry."""
    from . import cache

    known = cache.known_digest(cache.file_key(path), True)
    cached = cache.load("vocab", cache.entry_key(known, vocab_code()), True) if known is not None else None
    if well_formed_facts(cached) and "layout" in cached:
        return cached["layout"][0], cached["layout"][1]
    return None


class Vocabulary:
    """The ids a folder's tokenizer gives to token strings."""

    def __init__(self, files: ModelFiles, use_cache: bool = False, numbering: str = "5.25",
                 facts: dict | None = None, specials: list[tuple[str, Where | None]] | None = None,
                 specials_by_line: dict[str, list[tuple[str, Where | None]]] | None = None,
                 lookup: Any = None) -> None:
        self.files = files
        self.use_cache = use_cache
        # the special token strings (named, then extra), which the tokenizer adds as special tokens after the
        # added_tokens_decoder entries it lacks, in one batch (TokenizersBackend.__init__, lines 478-513, 5.24 and 5.25)
        self.specials = specials or []
        # another release line's, where its class sets other defaults (5.19 loads a ByteLevel LlamaTokenizer as
        # LlamaTokenizer, whose unk_token defaults to <unk>): what numbered_as numbers with
        self.specials_by_line = specials_by_line or {}
        self.appended: set[str] = set()  # special token strings in no vocabulary: new ids (EOS005)
        self.tokenizer_json = files.tokenizer
        self.added: dict[str, AddedToken] = {}
        self.declared: dict[str, AddedToken] = {}  # added_tokens_decoder entries, by content
        # "5.25" (the newest), "5.19" (SGLang 0.5.23's pin), "4.51" (TGI's pin): transformers 4.x, with
        # tokenizers < 0.22.2, keeps tokenizer.json for every class and numbers each new token one past the
        # highest added id (or from the vocab size)
        self.transformers_release = numbering
        self.transformers4 = numbering.startswith("4.")
        self.tokenizer_class = tokenizer_class(files, numbering)
        # without tokenizer.json: the tokenizer.model or vocab.json the class is built from, numbered as a class
        # that rebuilds numbers tokenizer.json (transformers 5.24; 4.x and 5.19 are taken to number it the same)
        self.base = base_vocabulary(files, tokenizer_class(files)) if files.tokenizer is None else None
        # remote code over a SentencePiece tokenizer.model (ChatGLM3, early Yi, Baichuan): a Python tokenizer that
        # keeps the pieces' ids and the ids added_tokens_decoder declares, numbering nothing anew
        self.remote = self.tokenizer_class == REMOTE_CODE
        if self.remote and is_sentencepiece(remote_base := base_vocabulary(files, "TokenizersBackend")):
            self.base = remote_base  # a malformed tokenizer.model (a Git LFS pointer) raises, as for any class
        self.rebuilds = not self.remote and ((rebuilds(self.tokenizer_class, numbering) and files.tokenizer is not None
                                              and not self.transformers4) or self.base is not None)
        if self.base is not None:
            self.transformers4 = False
        if facts is not None:
            self.__dict__["_facts"] = facts
        if files.tokenizer is not None:
            if facts is None:
                self._lookup = lookup if lookup is not None else cache_lookup(files.tokenizer, use_cache)
            _check_tokenizer_json(files.tokenizer)
        self._read_declared()
        if not self.remote and (self.tokenizer_json is not None or self.base is not None):
            self._number_added_tokens()
        else:  # the declared ids are the ids; one no tokenizer can hold (-7, 2**32) is none
            for token in self.declared.values():
                if is_token_id(token.id):
                    self.added.setdefault(token.content, token)
            if self.base is not None:
                self._add_remote_tokens()

    @property
    def complete(self) -> bool:
        """Whether every id is known: tokenizer.json carries the whole vocabulary, and so does the tokenizer.model
        or vocab.json a folder without it is built from (:func:`base_vocabulary`)."""
        return self.tokenizer_json is not None or self.base is not None

    @property
    def numbering(self) -> str:
        """How added-token ids are decided, for messages."""
        if self.remote:
            return "a remote-code tokenizer keeps tokenizer.model's piece ids and added_tokens_decoder's ids"
        if self.base is not None:
            name = "tokenizer.model" if is_sentencepiece(self.base) else "vocab.json"
            return f"{self.tokenizer_class} builds the vocabulary from {name} and adds added_tokens_decoder sorted by id"
        if self.rebuilds:
            return f"{self.tokenizer_class} re-adds added_tokens_decoder sorted by id"
        return "ids follow tokenizer.json's list order"

    @property
    def lists_added_tokens(self) -> bool:
        """Whether the files say which strings are single added tokens (else a template's text can't be judged):
        tokenizer.json, or tokenizer_config.json's added_tokens_decoder, where transformers writes every added
        token, those of the base vocabulary (``</s>``, Granite's ``<|end_of_text|>`` 0) too. added_tokens.json holds
        only the tokens added past the base vocabulary, so alone it cannot tell that a text is no single token."""
        tc = self.files.tokenizer_config
        return self.complete or any(token.document is tc for token in self.declared.values())

    def _read_declared(self) -> None:
        tc = self.files.tokenizer_config
        if tc is not None and isinstance(tc.get(("added_tokens_decoder",)), dict):
            for key, entry in tc.data["added_tokens_decoder"].items():
                if isinstance(entry, dict) and isinstance(entry.get("content"), str):
                    token_id = self._decoder_key_id(key)
                    if token_id is None:  # not a number: transformers raises (resolve.py reports it)
                        continue
                    earlier = self.declared.get(entry["content"])
                    if earlier is None or token_id < earlier.id:  # sorted by id, a text is added at its first id
                        self.declared[entry["content"]] = AddedToken(
                            entry["content"], token_id, bool(entry.get("special", False)), token_id, tc,
                            ("added_tokens_decoder", key))
        at = self.files.added_tokens
        if "tokenizer.json" in self.files.ids_not_read:
            # transformers loads the unread tokenizer.json and gives added_tokens.json's texts its ids, or new ones:
            # the legacy file's ids are no evidence (helper-145: one named an ordinary word's id, and --fix wrote it)
            at = None
        if at is not None and self.files.legacy and isinstance(at.data, dict):  # not with added_tokens_decoder
            for content, value in at.data.items():
                if is_int(value) and content not in self.declared:
                    self.declared[content] = AddedToken(content, value, False, value, at, (content,))

    def _add_remote_tokens(self) -> None:
        """A remote Python tokenizer over a SentencePiece model (:attr:`remote`): its USER_DEFINED pieces are single
        tokens at their ids (sentencepiece encodes them whole; a CONTROL piece's text is spelled, though its id is
        still looked up), and the special tokens the files name that are neither declared nor a piece are added
        in order at the tokenizer's length (``PreTrainedTokenizer._add_tokens``: Baichuan2's
        ``additional_special_tokens``)."""
        tc = self.files.tokenizer_config
        for text, index in self.base.user_defined_pieces.items():
            if text not in self.added:
                self.added[text] = AddedToken(text, index, True, index, tc, ())
        next_id = max([self.base.size, *(t.id + 1 for t in self.added.values())])  # once: linear in the specials
        for text, where in self.specials:
            if text and text not in self.added and self.model_id(text) is None:
                place = (where.document, where.keys) if where is not None else (tc, ())
                self.added[text] = AddedToken(text, next_id, True, None, *place)
                next_id += 1

    def _decoder_key_id(self, key: str) -> int | None:
        """The id transformers reads from an added_tokens_decoder key, ``int(key)`` (``_from_pretrained``, line
        1894, 5.24), which also takes ``+151645``, `` 151645 ``, ``151_645`` and other scripts' digits; None for a
        key it refuses as not a number. A key of more digits than Python's default limit makes it raise: an
        InputError here, whatever this process's own limit is."""
        digits = sum(ch.isdigit() for ch in key) if len(key) > INT_DIGITS else 0
        if digits <= INT_DIGITS:
            try:
                return int(key)
            except ValueError:
                return None
        tc = self.files.tokenizer_config
        line, column = tc.position(tc.nearest_span(("added_tokens_decoder", key))[0].start)
        raise InputError(tc.path, f"added_tokens_decoder key of {digits:,} digits: transformers cannot read it as "
                         f"an id (Python's limit is {INT_DIGITS:,})", line, column)

    def _number_added_tokens(self) -> None:
        """Number the added tokens in the batches transformers adds them (see the module docstring)."""
        doc = self.tokenizer_json
        if is_sentencepiece(self.base):
            self._facts  # before the model's special pieces: the walk that counts the pieces finds the wanted ids
        entries = doc.get(("added_tokens",)) if doc is not None else None
        listed: list[AddedToken] = []
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                content = entry.get("content") if isinstance(entry, dict) else None
                if isinstance(content, str) and content:
                    listed.append(AddedToken(content, -1, bool(entry.get("special", False)), entry.get("id"), doc,
                                             ("added_tokens", index)))
        if self.rebuilds:
            # keep tokenizer.json's entry (its "id" field and position) for reporting, with the id the class gives
            by_content = {t.content: t for t in reversed(listed)}
            batch = [by_content.get(t.content, t) for t in self._decoder(listed)]
        else:
            self._add_batch(listed)
            batch = [t for t in self._decoder(listed) if t.content not in self.added]
        in_batch = {t.content for t in batch}
        specials = []
        for text, where in self._special_batch():
            if text and text not in self.added and text not in in_batch:
                in_batch.add(text)
                place = (where.document, where.keys) if where is not None else \
                    (doc, ()) if doc is not None else (self.files.tokenizer_config, ())
                specials.append(AddedToken(text, -1, True, None, *place))
        self._add_batch(batch + specials)
        self.appended = {t.content for t in specials if self.model_id(t.content) is None}

    def _special_batch(self) -> list[tuple[str, Where | None]]:
        """The special token strings the tokenizer adds after added_tokens_decoder. Built from a tokenizer.model,
        its unnamed ones are the model's CONTROL and USER_DEFINED pieces, which replace special_tokens_map.json's
        ``additional_special_tokens`` (``SentencePieceExtractor.extract`` sets that keyword; tokenizer_config.json's
        list is ``extra_special_tokens`` by then, and stays)."""
        if not is_sentencepiece(self.base):
            return self.specials
        stm = self.files.special_tokens_map
        kept = [(text, where) for text, where in self.specials
                if where is None or where.document is not stm or where.keys[:1] != ("additional_special_tokens",)]
        # a USER_DEFINED piece the generic backend renamed to an added token's text is gone (its id None here); a
        # renamed CONTROL piece is added again, past the vocabulary (both checked with transformers 5.25)
        ids, user_defined = self._facts["ids"], self.base.user_defined_pieces
        return kept + [(text, None) for text in self.base.special_pieces
                       if ids.get(text, 0) is not None or text not in user_defined]

    def _decoder(self, listed: list[AddedToken]) -> list[AddedToken]:
        """The added_tokens_decoder transformers builds, sorted by id: tokenizer_config.json's; without that key
        (legacy), added_tokens.json's entries, then tokenizer.json's list, keyed by their declared ids, a later
        entry replacing an earlier one of the same id (``tokenization_utils_base.py`` ``_from_pretrained``, lines
        1885-1953). The class adds each text at its first id; a text already in the tokenizer is not added again."""
        tc = self.files.tokenizer_config
        if not self.files.legacy:
            by_id = {t.id: t for t in self.declared.values() if t.document is tc}
        else:
            by_id = {t.id: t for t in self.declared.values() if t.document is not tc}
            by_id.update({t.declared_id: t for t in listed if is_int(t.declared_id)})
        return [by_id[key] for key in sorted(by_id)]

    def _add_batch(self, tokens: list[AddedToken]) -> None:
        """``AddedVocabulary::add_tokens`` (tokenizers ≥ 0.22.2): vocab ids for vocab texts, then counting up
        from where the batch started. That start needs the model vocab's size, which can cost a parse of the
        whole vocabulary, so it is worked out only when a token of the batch is in no vocabulary."""
        highest = max((t.id for t in self.added.values()), default=None)  # of the ids assigned so far
        batch_highest = highest
        next_id = None  # the id the batch gives its next new token
        for token in tokens:
            if token.content in self.added:
                continue
            token_id = self.model_id(token.content)
            if token_id is None:
                if self.transformers4:  # tokenizers < 0.22.2: from the ids assigned so far, token by token
                    next_id = self._start_after(highest)
                elif next_id is None:
                    next_id = self._start_after(batch_highest)
                token_id = next_id
                next_id += 1
            self.added[token.content] = AddedToken(token.content, token_id, token.special, token.declared_id,
                                                   token.document, token.keys)
            if highest is None or token_id > highest:
                highest = token_id

    def _start_after(self, highest: int | None) -> int:
        """The first id a new added token gets when ``highest`` is the highest added id so far (None: none)."""
        size = self.model_size
        if highest is None:
            return size
        return highest + 1 if highest >= size or size == 0 else size

    @cached_property
    def _model_vocab(self) -> dict[str, int]:
        if self.tokenizer_json is None and self.base is not None:  # vocab.json, read whole
            from .vocab_json import read_vocab  # only a folder without tokenizer.json that has one

            return read_vocab(*self.base, self.tokenizer_class)
        if self.tokenizer_json is None:
            return {}
        vocab = self.tokenizer_json.get(("model", "vocab"))
        if isinstance(vocab, dict):
            return vocab
        if isinstance(vocab, list):  # Unigram: [[piece, score], ...], the id is the position (the first one)
            # from the last item to the first, so that the first id of a repeated piece is the one kept
            pieces = (item[0] if type(item) is list and item and type(item[0]) is str else _NO_PIECE
                      for item in reversed(vocab))
            table: dict[str, int] = dict(zip(pieces, range(len(vocab) - 1, -1, -1)))
            table.pop(_NO_PIECE, None)  # type: ignore[call-overload]
            return table
        return {}

    @cached_property
    def _facts(self) -> dict:
        """The model vocab's size and the ids of the strings a check can ask about (cache.py keeps them).

        Parsing a 128k-entry vocab is the costliest step of a check; the strings asked about are known up
        front: added tokens, special token values, known end-of-turn texts. vocab_scan.py reads a BPE vocab piece
        by piece for them; anything else is parsed whole.
        """
        doc = self.tokenizer_json
        if doc is None and self.base is not None:
            return self._base_facts()
        if doc is None:  # no model vocab: nothing to look up (a run over many small folders keeps this per folder)
            return {"size": 0, "ids": {}}
        from . import cache

        wanted = sorted(self._candidates())
        wanted_set = set(wanted)

        def usable(cached: Any) -> bool:  # exactly the shape stored below, with the ids asked about
            return well_formed_facts(cached) and wanted_set <= cached["ids"].keys()

        lookup = self._lookup
        scanned = None
        if not (lookup.ready() and usable(lookup.result()[1])):
            unparsed = doc.bpe_vocab()
            if unparsed is not None:
                scanned = vocab_facts(unparsed[0], wanted, self._added_contents(),
                                      give_up=lambda: lookup.ready() and usable(lookup.result()[1]),
                                      bounds=unparsed[1])
        key, cached = lookup.result()
        if usable(cached):
            return cached
        size, vocab = scanned if scanned is not None else (len(self._model_vocab), self._model_vocab)
        facts = {"size": size, "ids": {c: vocab.get(c) if is_token_id(vocab.get(c)) else None for c in wanted}}
        if doc.checked_layout is not None:
            facts["layout"] = list(doc.checked_layout)
        if key:
            cache.store("vocab", key, facts, self.use_cache)
        return facts

    def _base_facts(self) -> dict:
        """The size and wanted ids of the tokenizer.model or vocab.json the class is built from. The generic
        backend built from a tokenizer.model renames the piece at each added_tokens_decoder id below the size to
        that entry's text, unless the text is a piece that keeps its own id
        (``TokenizersBackend.convert_to_native_format``, "Replace placeholder tokens")."""
        wanted = sorted(self._candidates() | {text for text, _ in self.specials})
        if is_sentencepiece(self.base):
            ids = self.base.ids(wanted)  # first: the walk that counts the pieces finds these
            size = self.base.size
            for text, index in self.base.special_pieces.items():
                if ids.get(text) is None:
                    ids[text] = index
            if self.tokenizer_class == "TokenizersBackend":
                names = {t.id: t.content for t in self._decoder([]) if 0 <= t.id < size}
                missing = [text for text in names.values() if text not in ids]
                ids.update(self.base.ids(missing))
                kept = {text for text, token_id in ids.items() if token_id is not None and token_id not in names}
                for token_id, text in names.items():
                    if text not in kept:
                        for other, other_id in ids.items():
                            if other_id == token_id:
                                ids[other] = None  # the piece's own text is gone
                        ids[text] = token_id
            return {"size": size, "ids": ids}
        # vocab.json: read whole, as the tokenizers library reads it (it refuses the file for a value
        # anywhere in it, and skips members that are not numbers, which the size must not count)
        vocab = self._model_vocab
        return {"size": len(vocab), "ids": {text: vocab.get(text) for text in wanted}}

    def _added_contents(self) -> list[str]:
        entries = self.tokenizer_json.get(("added_tokens",)) if self.tokenizer_json is not None else None
        if not isinstance(entries, list):
            return []
        return [e["content"] for e in entries if isinstance(e, dict) and isinstance(e.get("content"), str)]

    def _candidates(self) -> set[str]:
        names = set(self.declared) | set(END_OF_TURN_TEXTS) | {PLAMO_EOS} | set(LLAMA_CPP_FIM_TEXTS) \
            | set(self._added_contents()) \
            | {text for specials in (self.specials, *self.specials_by_line.values()) for text, _ in specials}
        for doc in (self.files.tokenizer_config, self.files.special_tokens_map):
            if doc is not None and isinstance(doc.data, dict):
                for name, value in doc.data.items():
                    if name.endswith("_token"):
                        value = value.get("content") if isinstance(value, dict) else value
                        if isinstance(value, str):
                            names.add(value)
        return names

    def read(self) -> None:
        """Read the model vocab now (its scan, or the cache entry that vouches for it): a tokenizer.json whose
        vocabulary is not JSON is an error even when no rule or runtime asks for an id from it."""
        self._facts

    @property
    def model_size(self) -> int:
        size = self._facts["size"]
        return int(size) if size is not None else len(self._model_vocab)  # not counted by the scan: parse

    def model_id(self, content: str) -> int | None:
        ids = self._facts["ids"]
        if content in ids:
            value = ids[content]
        elif is_sentencepiece(self.base):  # a string no check asked about beforehand
            value = self.base.ids([content])[content]
        else:
            value = self._model_vocab.get(content)
        return value if is_token_id(value) else None

    def id_of(self, content: str) -> int | None:
        """The id of a token string, or None when the files do not say it."""
        token = self.added.get(content)
        if token is not None:
            return token.id
        return self.model_id(content)

    def ids_of(self, texts: tuple[str, ...]) -> dict[str, int | None]:
        """:meth:`id_of` of each text, remembered per tuple: runtimes look up the same list of known texts for each
        release line they model."""
        looked_up = self.__dict__.setdefault("_looked_up", {})
        found = looked_up.get(texts)
        if found is None:
            if not self.complete:  # no model vocab: the added tokens are every id known
                added = self.added
                found = {text: added[text].id if text in added else None for text in texts}
            else:
                found = {text: self.id_of(text) for text in texts}
            looked_up[texts] = found
        return found

    def numbered_as(self, numbering: str) -> Vocabulary:
        """The same files numbered as another transformers release does: "4.51" (TGI pins 4.51.3 with
        tokenizers 0.21.1) or "5.19" (SGLang 0.5.23 pins it)."""
        if numbering == self.transformers_release or (
                not numbering.startswith("4.") and not self.transformers4
                and tokenizer_class(self.files, numbering) == self.tokenizer_class
                and rebuilds(self.tokenizer_class, numbering) == rebuilds(self.tokenizer_class,
                                                                           self.transformers_release)):
            return self  # the same class in the same tokenizers: the same ids
        others = self.__dict__.setdefault("_numberings", {})
        if numbering not in others:
            others[numbering] = Vocabulary(self.files, self.use_cache, numbering,
                                           facts=self._facts if self.complete else None,
                                           specials=self.specials_by_line.get(numbering, self.specials),
                                           specials_by_line=self.specials_by_line)
        return others[numbering]

    def content_of(self, token_id: int) -> str | None:
        """The added token that has this id, if any (the first one, when two share it)."""
        by_id = self.__dict__.get("_by_id")
        if by_id is None:  # one pass, on first use: rules look up every stop id (thousands, in a hostile file)
            by_id = {}
            for token in self.added.values():
                by_id.setdefault(token.id, token.content)
            self.__dict__["_by_id"] = by_id
        return by_id.get(token_id)

    def is_added(self, content: str) -> bool:
        return content in self.added

    def added_token_strings(self) -> list[str]:
        """The texts that are single tokens: with tokenizer.json, those the tokenizer added (a declared text it
        dropped, such as an added_tokens.json entry whose id tokenizer.json gives another text, is none);
        without it, every declared one too."""
        if self.complete:
            return list(self.added)
        return list(self.added) + [c for c in self.declared if c not in self.added]


def well_formed_facts(cached: Any) -> bool:
    """Whether a vocab cache entry is exactly what ``_facts`` stores: ``{"size": n or None, "ids": {string: id or
    None}}``, and the checked ``"layout"`` (two offsets) when there was one. Any other entry is not one eos-guard
    wrote, and is a miss."""
    if not isinstance(cached, dict) or not {"size", "ids"} <= cached.keys() <= {"size", "ids", "layout"}:
        return False
    layout = cached.get("layout", [0, 0])
    if not (isinstance(layout, list) and len(layout) == 2 and all(is_int(b) and b >= 0 for b in layout)):
        return False
    size, ids = cached["size"], cached["ids"]
    if not (size is None or (is_int(size) and size >= 0)) or not isinstance(ids, dict):
        return False
    return all(value is None or is_token_id(value) for value in ids.values())


# model.type -> the kind of model.vocab it needs (tokenizers' models/*/serialization.rs)
VOCAB_KINDS = {"BPE": dict, "WordPiece": dict, "WordLevel": dict, "Unigram": list}


def _check_tokenizer_json(doc: JsonDocument) -> None:
    """The parts of tokenizer.json that ids are read from must be there and of the right kind: the tokenizers
    library cannot load the file otherwise, and numbering the added tokens from an empty vocabulary would give
    wrong ids (to --fix too)."""
    top = doc.kind(())
    if top is not dict:
        problem, keys = f"the file is {KIND_NAMES.get(top, 'a value')}, not an object", ()
    elif doc.kind(("model",)) is not dict:
        kind = doc.kind(("model",))
        problem, keys = ("model is missing" if kind is None else f"model is {KIND_NAMES[kind]}, not an object",
                         ("model",))
    elif doc.kind(("added_tokens",)) not in (None, list):
        problem, keys = f"added_tokens is {KIND_NAMES[doc.kind(('added_tokens',))]}, not an array", ("added_tokens",)
    else:
        model_type = doc.get(("model", "type"))
        needed = VOCAB_KINDS.get(model_type) if isinstance(model_type, str) else None
        kind = doc.kind(("model", "vocab"))
        if kind in ((needed,) if needed else (dict, list)):
            return
        problem = "model.vocab is missing" if kind is None else f"model.vocab is {KIND_NAMES[kind]}, not " + (
            f"the {KIND_NAMES[needed][3:]} a {model_type} model needs" if needed else "an object or an array")
        keys = ("model", "vocab")
    line, column = doc.position(doc.nearest_span(keys)[0].start)
    raise InputError(doc.path, f"{problem}: the tokenizers library cannot load this tokenizer.json", line, column)


def is_int(value: Any) -> bool:
    """An int that is no bool, as JSON gives one (a config value checked before it is used as a number)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_token_id(value: Any) -> bool:
    """Whether a value is an id a tokenizer can give. Another value (-5, "5", 5.0, 2**32) is none: tokenizers
    refuses to load a vocab that holds one, so it counts as absent, never as an id to stop on."""
    return is_int(value) and 0 <= value < TOKEN_ID_LIMIT
