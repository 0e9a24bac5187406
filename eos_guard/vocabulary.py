"""Token strings to ids, as the tokenizer that transformers 5 builds will number them.

With a tokenizer.json the ``tokenizers`` library numbers added tokens: one that is in the model vocab takes the
vocab id; the others get new ids in the order they are added, whatever their ``"id"`` field says
(``AddedVocabulary::add_tokens``). Which tokens are added, in which order, depends on the tokenizer class
transformers picks (``models/auto/tokenization_auto.py`` ``AutoTokenizer.from_pretrained``, 5.24):

- ``TokenizersBackend`` (``PreTrainedTokenizerFast``, a ByteLevel ``LlamaTokenizer``, ...) loads tokenizer.json
  as it is: its ``added_tokens`` in list order, then added_tokens_decoder entries it lacks;
- a model-specific class with its own ``__init__`` (``Qwen2Tokenizer``, ``GPT2Tokenizer``, ``GemmaTokenizer``,
  ...: ``REBUILDING_CLASSES``) rebuilds the tokenizer from the vocab and merges and adds the
  ``added_tokens_decoder`` entries **sorted by their declared id** (``tokenization_utils_tokenizers.py``
  ``convert_to_native_format`` and ``TokenizersBackend.__init__``, lines 113-123 and 477-513).

Numbering a batch (tokenizers ≥ 0.22.2, commit d6a4acc0; transformers 5.19+ needs ≥ 0.23.1): new ids count up
from the model vocab's size (its number of entries), or from one past the highest earlier added id when that is
at or above the size. Without tokenizer.json, the ids declared in tokenizer_config.json's
``added_tokens_decoder`` and added_tokens.json are all there is, and the base vocabulary is unknown.
"""

from __future__ import annotations

from functools import cached_property

from .errors import InputError
from .jsonspan import JsonDocument, KeyPath
from .known_tokens import END_OF_TURN_TEXTS, PLAMO_EOS
from .model_files import ModelFiles
from .records import record
from .vocab_scan import vocab_facts

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


# Tokenizer classes (tokenizer_class without "Fast") that rebuild the tokenizer from the vocab and number added
# tokens from added_tokens_decoder: TokenizersBackend subclasses with their own __init__ in transformers 5.24
# (tests/test_runtimes.py checks this list against the installed transformers' registry).
REBUILDING_CLASSES = frozenset({
    "AlbertTokenizer", "BartTokenizer", "BarthezTokenizer", "BertTokenizer", "BigBirdTokenizer", "BlenderbotTokenizer",
    "CLIPTokenizer", "CamembertTokenizer", "CodeLlamaTokenizer", "CohereTokenizer", "DPRQuestionEncoderTokenizer",
    "DebertaTokenizer", "DebertaV2Tokenizer", "EsmcTokenizer", "FunnelTokenizer", "GPT2Tokenizer", "GPTNeoXTokenizer",
    "GemmaTokenizer", "HerbertTokenizer", "LEDTokenizer", "LasrTokenizer", "LayoutLMv2Tokenizer", "LayoutLMv3Tokenizer",
    "LayoutXLMTokenizer", "LlamaTokenizer", "LukeTokenizer", "LxmertTokenizer", "MBart50Tokenizer", "MBartTokenizer",
    "MPNetTokenizer", "MarkupLMTokenizer", "MobileBertTokenizer", "MvpTokenizer", "NllbTokenizer", "NougatTokenizer",
    "OpenAIGPTTokenizer", "PegasusTokenizer", "Qwen2Tokenizer", "Qwen3_5Tokenizer", "ReformerTokenizer",
    "RemBertTokenizer", "RoFormerTokenizer", "RobertaTokenizer", "SeamlessM4TTokenizer", "Siglip2Tokenizer",
    "SplinterTokenizer", "T5Tokenizer", "UdopTokenizer", "VideoPrismTokenizer", "WhisperTokenizer", "XGLMTokenizer",
    "XLMRobertaTokenizer", "XLNetTokenizer",
})
# model_type -> the tokenizer class transformers 5.24 registers for it (TOKENIZER_MAPPING_NAMES, "Fast" removed,
# TokenizersBackend for the generic backends), for common model types; and the model types whose tokenizer_class on
# the Hub transformers overrides (MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS). Other model types: the folder's
# tokenizer_class decides.
REGISTERED_CLASSES = {
    "mistral": "TokenizersBackend", "mixtral": "TokenizersBackend", "phi3": "TokenizersBackend",
    "olmo2": "TokenizersBackend", "granite": "TokenizersBackend", "internlm2": "TokenizersBackend",
    "stablelm": "TokenizersBackend", "llava": "TokenizersBackend", "llava_next": "TokenizersBackend",
    "mistral3": "TokenizersBackend", "glm": "TokenizersBackend", "glm4": "TokenizersBackend",
    "jamba": "TokenizersBackend", "nemotron": "TokenizersBackend", "ernie4_5": "TokenizersBackend",
    "qwen2": "Qwen2Tokenizer", "qwen2_moe": "Qwen2Tokenizer", "qwen3": "Qwen2Tokenizer", "qwen3_moe": "Qwen2Tokenizer",
    "qwen2_vl": "Qwen2Tokenizer", "qwen2_5_vl": "Qwen2Tokenizer", "gemma": "GemmaTokenizer", "gemma2": "GemmaTokenizer",
    "gemma3": "GemmaTokenizer", "gemma3_text": "GemmaTokenizer", "phi": "GPT2Tokenizer", "gpt2": "GPT2Tokenizer",
    "starcoder2": "GPT2Tokenizer", "gpt_neox": "GPTNeoXTokenizer", "olmo": "GPTNeoXTokenizer",
    "mpt": "GPTNeoXTokenizer", "cohere": "CohereTokenizer", "cohere2": "CohereTokenizer", "t5": "T5Tokenizer",
    "bart": "RobertaTokenizer", "mbart": "MBartTokenizer", "whisper": "WhisperTokenizer",
}
HUB_CLASS_OVERRIDDEN = frozenset({"qwen2", "phi3", "internlm2", "llava", "llava_next", "jamba", "nemotron",
                                  "ernie4_5"})
GENERIC_CLASSES = frozenset({"TokenizersBackend", "PythonBackend", "PreTrainedTokenizer"})


def tokenizer_class(files: ModelFiles, numbering: str = "5.24") -> str:
    """The tokenizer class AutoTokenizer loads (without "Fast"); ``TokenizersBackend`` for the generic one.
    ``numbering`` "5.19": before the ByteLevel ``LlamaTokenizer`` rule below (transformers 5.19 still loads
    such a folder as ``LlamaTokenizer``)."""
    tc = files.tokenizer_config.data if files.tokenizer_config is not None else None
    config = files.config.data if files.config is not None else None
    tc = tc if isinstance(tc, dict) else {}
    config = config if isinstance(config, dict) else {}
    if tc.get("auto_map"):
        return "TokenizersBackend"  # remote code: not modelled; such classes load tokenizer.json as it is
    hub = tc.get("tokenizer_class") or config.get("tokenizer_class")
    hub = hub.removesuffix("Fast") if isinstance(hub, str) else None
    model_type = config.get("model_type")
    registered = REGISTERED_CLASSES.get(model_type) if isinstance(model_type, str) else None
    if hub == "LlamaTokenizer" and numbering != "5.19" and model_type not in HUB_CLASS_OVERRIDDEN \
            and files.tokenizer is not None \
            and files.tokenizer.contains('"ByteLevel"'):
        return "TokenizersBackend"  # LlamaTokenizer hard-codes Metaspace; a ByteLevel tokenizer.json loads as is
    if hub and registered and registered != hub:
        if registered in GENERIC_CLASSES | {"TokenizersBackend"}:
            return "TokenizersBackend"
        chosen = registered if model_type in HUB_CLASS_OVERRIDDEN else hub
        return "TokenizersBackend" if chosen in GENERIC_CLASSES else chosen
    chosen = hub or registered or "TokenizersBackend"
    return "TokenizersBackend" if chosen in GENERIC_CLASSES else chosen


_NO_BATCH = object()  # no batch of added tokens read yet
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


class Vocabulary:
    """The ids a folder's tokenizer gives to token strings."""

    def __init__(self, files: ModelFiles, use_cache: bool = False, numbering: str = "5.24",
                 facts: dict | None = None) -> None:
        self.files = files
        self.use_cache = use_cache
        self.tokenizer_json = files.tokenizer
        self.added: dict[str, AddedToken] = {}
        self.declared: dict[str, AddedToken] = {}  # added_tokens_decoder entries, by content
        # "5.24" (the newest), "5.19" (SGLang 0.5.23's pin), "4.51" (TGI's pin): transformers 4.x, with
        # tokenizers < 0.22.2, keeps tokenizer.json for every class and numbers each new token one past the
        # highest added id (or from the vocab size)
        self.transformers_release = numbering
        self.transformers4 = numbering.startswith("4.")
        self.tokenizer_class = tokenizer_class(files, numbering)
        self.rebuilds = (self.tokenizer_class in REBUILDING_CLASSES and files.tokenizer is not None
                         and not self.transformers4)
        self._next: int | None = None  # the id the open batch gives its next new token
        self._batch_highest: object = _NO_BATCH  # the highest added id when the last batch started
        if facts is not None:
            self.__dict__["_facts"] = facts
        if files.tokenizer is not None:
            if facts is None:
                self._lookup = self._cache_lookup(files.tokenizer)
            _check_tokenizer_json(files.tokenizer)
        self._read_declared()
        if self.tokenizer_json is not None:
            self._number_added_tokens()
        else:
            for token in self.declared.values():
                self.added.setdefault(token.content, token)

    @property
    def complete(self) -> bool:
        """Whether every id is known: only tokenizer.json carries the whole vocabulary."""
        return self.tokenizer_json is not None

    @property
    def numbering(self) -> str:
        """How added-token ids are decided, for messages."""
        if self.rebuilds:
            return f"{self.tokenizer_class} re-adds added_tokens_decoder sorted by id"
        return "ids follow tokenizer.json's list order"

    @property
    def lists_added_tokens(self) -> bool:
        """Whether the files say which strings are single added tokens (else a template's text can't be judged)."""
        return self.complete or bool(self.declared)

    def _read_declared(self) -> None:
        tc = self.files.tokenizer_config
        if tc is not None and isinstance(tc.get(("added_tokens_decoder",)), dict):
            for key, entry in tc.data["added_tokens_decoder"].items():
                if isinstance(entry, dict) and isinstance(entry.get("content"), str) and _is_int_text(key):
                    if len(key) > INT_DIGITS:  # transformers' int(key) raises: the tokenizer cannot be loaded
                        line, column = tc.position(tc.nearest_span(("added_tokens_decoder", key))[0].start)
                        raise InputError(tc.path, f"added_tokens_decoder key of {len(key):,} digits: transformers "
                                         f"cannot read it as an id (Python's limit is {INT_DIGITS:,})", line, column)
                    self.declared[entry["content"]] = AddedToken(
                        entry["content"], int(key), bool(entry.get("special", False)), int(key), tc,
                        ("added_tokens_decoder", key))
        at = self.files.added_tokens
        if at is not None and isinstance(at.data, dict):
            for content, value in at.data.items():
                if _is_int(value) and content not in self.declared:
                    self.declared[content] = AddedToken(content, value, False, value, at, (content,))

    def _number_added_tokens(self) -> None:
        """Number the added tokens in the batches transformers adds them (see the module docstring)."""
        doc = self.tokenizer_json
        entries = doc.get(("added_tokens",))
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
            self._add_batch([by_content.get(t.content, t) for t in self._rebuild_order(listed)])
        else:
            self._add_batch(listed)
            self._add_batch([t for t in sorted(self.declared.values(), key=lambda t: t.id)
                             if t.content not in self.added])

    def _rebuild_order(self, listed: list[AddedToken]) -> list[AddedToken]:
        """added_tokens_decoder sorted by id; without that key (legacy), added_tokens.json then tokenizer.json's
        list, keyed by their declared ids (``tokenization_utils_base.py`` ``_from_pretrained``, lines 1885-1953)."""
        tc = self.files.tokenizer_config
        if tc is not None and isinstance(tc.data, dict) and "added_tokens_decoder" in tc.data:
            by_id = {t.id: t for t in self.declared.values() if t.document is tc}
        else:
            by_id = {t.id: t for t in self.declared.values() if t.document is not tc}
            by_id.update({t.declared_id: t for t in listed if _is_int(t.declared_id)})
        return [by_id[key] for key in sorted(by_id)]

    def _add_batch(self, tokens: list[AddedToken]) -> None:
        """``AddedVocabulary::add_tokens`` (tokenizers ≥ 0.22.2): vocab ids for vocab texts, then counting up
        from where the batch started. That start needs the model vocab's size, which can cost a parse of the
        whole vocabulary, so it is worked out only when a token of the batch is in no vocabulary."""
        highest = max((t.id for t in self.added.values()), default=None)  # of the ids assigned so far
        self._batch_highest = highest
        self._next = None
        for token in tokens:
            if token.content in self.added:
                continue
            token_id = self.model_id(token.content)
            if token_id is None:
                if self.transformers4:  # tokenizers < 0.22.2: from the ids assigned so far, token by token
                    self._next = self._start_after(highest)
                elif self._next is None:
                    self._next = self._start_after(self._batch_highest)
                token_id = self._next
                self._next += 1
            self.added[token.content] = AddedToken(token.content, token_id, token.special, token.declared_id,
                                                   token.document, token.keys)
            if highest is None or token_id > highest:
                highest = token_id

    def _batch_start(self) -> int:
        return self._start_after(max((t.id for t in self.added.values()), default=None))

    def _start_after(self, highest: int | None) -> int:
        """The first id a new added token gets when ``highest`` is the highest added id so far (None: none)."""
        size = self.model_size
        if highest is None:
            return size
        return highest + 1 if highest >= size or size == 0 else size

    @cached_property
    def _model_vocab(self) -> dict[str, int]:
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
        if doc is None:  # no model vocab: nothing to look up (a run over many small folders keeps this per folder)
            return {"size": 0, "ids": {}}
        from . import cache

        wanted = sorted(self._candidates())
        wanted_set = set(wanted)

        def usable(cached: Any) -> bool:
            ids = cached.get("ids") if isinstance(cached, dict) else None
            return isinstance(ids, dict) and wanted_set <= ids.keys()

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
        facts = {"size": size, "ids": {c: vocab.get(c) if _is_int(vocab.get(c)) else None for c in wanted}}
        if doc.checked_layout is not None:
            facts["layout"] = list(doc.checked_layout)
        if key:
            cache.store("vocab", key, facts, self.use_cache)
        return facts

    def _cache_lookup(self, doc: JsonDocument) -> Any:
        """The cache entry of tokenizer.json's bytes, looked up before anything is read from the file (a large file
        is hashed on another thread meanwhile): when it is there already, it vouches for the checks of the file's
        layout that the run which stored it made (JsonDocument.vouch)."""
        from . import cache

        lookup = cache.Lookup("vocab", doc.path, doc.raw, self.use_cache)
        cached = lookup.result()[1] if lookup.ready() else None  # ready now: the digest was known, no hashing
        layout = cached.get("layout") if isinstance(cached, dict) else None
        if isinstance(layout, list) and len(layout) == 2 and all(_is_int(bound) for bound in layout):
            doc.vouch((layout[0], layout[1]))
        return lookup

    def _added_contents(self) -> list[str]:
        entries = self.tokenizer_json.get(("added_tokens",)) if self.tokenizer_json is not None else None
        if not isinstance(entries, list):
            return []
        return [e["content"] for e in entries if isinstance(e, dict) and isinstance(e.get("content"), str)]

    def _candidates(self) -> set[str]:
        names = set(self.declared) | set(END_OF_TURN_TEXTS) | {PLAMO_EOS} | set(self._added_contents())
        for doc in (self.files.tokenizer_config, self.files.special_tokens_map):
            if doc is not None and isinstance(doc.data, dict):
                for name, value in doc.data.items():
                    if name.endswith("_token"):
                        value = value.get("content") if isinstance(value, dict) else value
                        if isinstance(value, str):
                            names.add(value)
        return names

    @property
    def model_size(self) -> int:
        size = self._facts["size"]
        return int(size) if size is not None else len(self._model_vocab)  # not counted by the scan: parse

    def model_id(self, content: str) -> int | None:
        ids = self._facts["ids"]
        value = ids[content] if content in ids else self._model_vocab.get(content)
        return value if _is_int(value) else None

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
            if self.tokenizer_json is None:  # no model vocab: the added tokens are every id known
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
                and tokenizer_class(self.files, numbering) == self.tokenizer_class):
            return self  # the same class in the same tokenizers: the same ids
        others = self.__dict__.setdefault("_numberings", {})
        if numbering not in others:
            others[numbering] = Vocabulary(self.files, self.use_cache, numbering,
                                           facts=self._facts if self.complete else None)
        return others[numbering]

    def content_of(self, token_id: int) -> str | None:
        """The added token that has this id, if any."""
        return next((t.content for t in self.added.values() if t.id == token_id), None)

    def appended_id(self) -> int | None:
        """The id transformers gives a special token string it finds nowhere: the next one of the last batch
        (transformers adds missing special tokens together with the last added_tokens_decoder entries)."""
        if not self.complete:
            return None
        if self._next is not None:
            return self._next
        # the next id of the last batch, which started after the ids added before it
        return self._start_after(self._batch_highest) if self._batch_highest is not _NO_BATCH else self._batch_start()

    def is_added(self, content: str) -> bool:
        return content in self.added

    def added_token_strings(self) -> list[str]:
        return list(self.added) + [c for c in self.declared if c not in self.added]


# model.type -> the kind of model.vocab it needs (tokenizers' models/*/serialization.rs)
VOCAB_KINDS = {"BPE": dict, "WordPiece": dict, "WordLevel": dict, "Unigram": list}
KIND_NAMES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
              bool: "a boolean", type(None): "null"}


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int_text(text: str) -> bool:
    return text.isascii() and text.isdigit()
