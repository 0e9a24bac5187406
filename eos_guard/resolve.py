"""What transformers 5.x will do with a model folder: the tokenizer's eos, the stop ids, the turn terminator.

Every value keeps where it came from (a :class:`Where`), so rules can point at the text to change.
Sources: ``tokenization_utils_base.py:PreTrainedTokenizerBase._from_pretrained`` (eos string precedence),
``generation/configuration_utils.py:GenerationConfig.from_model_config`` (stop ids without
generation_config.json) and ``utils/chat_template_utils.py`` (templates), read in transformers 5.24
and unchanged in 5.25. Where 4.x differs, docs/resolution.md says so.
"""

from __future__ import annotations

from pathlib import Path

from .errors import MissingDependency
from .jsonspan import JsonDocument, KeyPath, Where, dotted
from .known_tokens import END_OF_TURN_TEXTS, known_turn_end, turn_end_instead
from .model_files import (AUDIO_CODE_CLASSES, GENERATE_EOS_ARGUMENTS, GENERATING_SECTIONS, TEXT_CONFIG_TYPES,
                          ModelFiles, TemplateSource, section_model_type)
from .records import field, record, replace
from .template import AddedTokens, Limits, Probe, first_listed, prepare, probe_named_template, turn_end_run
from .vocabulary import (Vocabulary, cache_lookup, class_required_tokens, class_special_defaults,
                         class_takes_padding_pad_token, is_token_id, older_release_lines, spm_defaults,
                         tokenizer_class)

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterator

# GenerationConfig.from_model_config: attributes still unset are taken from the first truthy of these.
SUB_CONFIGS = ("decoder", "generator", "text_config")
# every section a config.json may keep its text model's eos in (multimodal models name it in either of the last two)
TEXT_SECTIONS = SUB_CONFIGS + ("llm_config", "language_config")
SPECIAL_TOKEN_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


@record(frozen=True)
class TokenValue:
    """A special token as the tokenizer will see it: its string, id (None when unknown) and origin."""

    token: str
    id: int | None
    where: Where | None
    appended: bool = False  # the string is in no vocabulary, so transformers adds it as a new id

    @property
    def in_vocabulary(self) -> bool:
        """Whether the id is a token the model knows (not a new one, not the unk id an empty string gets): only
        then is it worth a stop id (EOS002, EOS003, --fix)."""
        return not self.appended and self.token != ""


@record(frozen=True)
class StopIds:
    """The eos_token_id generate() stops on, and where it is written."""

    ids: tuple[int, ...]
    where: Where | None          # the value, or the object that lacks it
    present: bool                # whether the key exists with a non-null value
    raw: Any = None
    invalid: tuple[Any, ...] = ()  # entries that are not non-negative integers
    argument: str | None = None  # where generate() passes them itself: the argument a caller passes instead
    passed_from: str = ""  # and where they come from (an argument's default, a value of config.json)


@record(frozen=True)
class Terminator:
    """The token that ends an assistant turn in one template."""

    template: TemplateSource
    token: str | None
    id: int | None
    probe: Probe
    # the added tokens the template writes right before ``token`` after every answer, none of them a stop id
    # (Command R7B's "<|END_RESPONSE|>" before "<|END_OF_TURN_TOKEN|>"): the model writes them, then stops
    written_before: tuple[str, ...] = ()
    run_ids: tuple[int | None, ...] = ()  # the ids of every token of the probe's run (Probe.run), in order
    # no token ends an answer, and the text the template writes after one starts with a known turn end that is no
    # added token of this tokenizer ('<|im_end|>' in a ChatML template on a base tokenizer): that text (EOS011)
    spelled: str | None = None


@record
class ResolvedModel:
    folder: Path
    files: ModelFiles
    vocab: Vocabulary
    tokenizer_eos: TokenValue | None
    tokenizer_eos_problem: str | None
    special_tokens: dict[str, str]
    special_where: dict[str, Where]
    stop: StopIds
    config_eos: StopIds | None
    vocab_size: int | None
    terminators: list[Terminator] = field(default_factory=list)
    vocab_size_name: str = "vocab_size"  # the config key vocab_size is (Inkling's unpadded_vocab_size, _vocab_size)
    baseline_eos: dict[str, StopIds] = field(default_factory=dict)  # file name -> eos_token_id there earlier
    # special tokens other than eos whose value makes AutoTokenizer raise: name -> (message, where) (EOS007)
    special_token_problems: dict[str, tuple[str, Where]] = field(default_factory=dict)
    # runtime name -> runtimes.StopSet; the runtimes layer fills it in (runtimes.stop_sets), since it reads this model
    runtime_stops: dict[str, Any] = field(default_factory=dict)
    # why no runtime runs generate() on the model (a classifier, an embedding model: ModelFiles.not_generating),
    # else ""; kept here since reports come after the files are released
    not_generating: str = ""

    @property
    def generation_config_creatable(self) -> bool:
        """Whether --fix can create the folder's missing generation_config.json: from config.json, read as an
        object (as ``GenerationConfig.from_model_config`` makes it), where no generation_config.json is there
        unread (EOS018: a link out of the repository, over its size limit), which --fix never replaces."""
        config = self.files.config
        return self.files.generation_config is None and config is not None and isinstance(config.data, dict) \
            and not any(path.name == "generation_config.json" for path, _ in self.files.skipped)

    @property
    def generates(self) -> bool:
        """Whether a runtime may run generate() on the model (the rules about stopping run only then)."""
        return not self.not_generating

    @property
    def terminator(self) -> Terminator | None:
        """The default template's terminator (the one chat pipelines use); without one, the default template of the
        processor AutoProcessor builds (helper-187: not a named one that comes first in chat_template.json; not
        chat_template.json where no processor reads it, helper-188), else the first."""
        for item in self.terminators:
            if item.template.name == "default":
                return item
        for item in self.terminators:
            if item.template.processor == "default":
                return item
        return self.terminators[0] if self.terminators else None

    def terminator_of(self, label: str) -> Terminator | None:
        """The terminator of the template ``label`` names (a ``ModelFiles.templates`` label), else None."""
        for item in self.terminators:
            if item.template.name == label:
                return item
        return None

    @property
    def names_no_answer_end(self) -> bool:
        """Whether the folder names no token a chat answer ends with: no template terminator (not even one spelled
        in text, EOS011) and no tokenizer eos (none named, and none its tokenizer class defaults to)."""
        terminator = self.terminator
        no_terminator = terminator is None or (terminator.token is None and not terminator.spelled)
        return no_terminator and self.tokenizer_eos is None

    @property
    def eos_default_of(self) -> str:
        """For messages, when no file names the tokenizer's eos and it is the class's default: "Qwen2Tokenizer's
        default: no file names eos_token"; else ""."""
        eos = self.tokenizer_eos
        if eos is None or eos.where is not None:
            return ""
        return f"{self.vocab.tokenizer_class}'s default: no file names eos_token"

    @property
    def eos_default_where(self) -> Where | None:
        """Where a class-default eos would be named: tokenizer_config.json (the whole file), else tokenizer.json."""
        doc = self.files.tokenizer_config or self.files.tokenizer
        return Where(doc, ()) if doc is not None and self.eos_default_of else None

    def turn_end_instead(self, token: str | None) -> str | None:
        """Where ``token`` (a terminator, the tokenizer's eos) ends messages and not turns (harmony's "<|end|>":
        known_tokens.turn_end_instead), the text that ends a turn in this vocabulary: no stop id can be that token,
        which also ends the reasoning before an answer. None for any other token."""
        return turn_end_instead(token, lambda text: self.vocab.id_of(text) is not None)

    def describe_id(self, token_id: int | None) -> str:
        """An id for people: the number, or why it is unknown (never ``None``)."""
        return str(token_id) if token_id is not None else f"id unknown: {self.why_no_id}"

    def beyond_vocab(self, token_id: int) -> bool:
        """Whether the output layer has no row for ``token_id`` (not below ``vocab_size``, when that is known)."""
        return self.vocab_size is not None and token_id >= self.vocab_size

    def can_emit(self, token_id: object) -> bool:
        """Whether ``token_id`` is an id the model can emit: one a tokenizer can give (vocabulary.is_token_id: an
        int from 0 to 2**32 - 1) that the output layer has a row for. No other value is an id to stop on, to
        advise, to add (fixes.py) or to miss (EOS015)."""
        return is_token_id(token_id) and not self.beyond_vocab(token_id)  # type: ignore[arg-type]

    @property
    def why_no_id(self) -> str:
        """Why a token string of this folder may have no id."""
        if self.vocab.remote and not self.vocab.complete:
            return "no tokenizer.json, and the tokenizer is remote code (auto_map), whose vocabulary is not modelled"
        return "no tokenizer.json" if not self.vocab.complete else "not one token of the vocabulary"

    def release(self, keep_documents: bool = True) -> None:
        """Drop tokenizer.json's text and parsed vocabulary once the rules have run: a run over many folders with
        large tokenizers would otherwise keep ~20 MB per folder. Everything reported has been computed.
        Without ``keep_documents``, every file's text and parsed value goes too, templates' text included (fixes
        need them; reports do not)."""
        if self.files.tokenizer is not None:
            self.files.tokenizer.release()
        self.vocab.__dict__.pop("_model_vocab", None)
        self.vocab.__dict__.pop("_numberings", None)
        self.vocab.__dict__.pop("_looked_up", None)
        if not keep_documents:
            for document in [*self.files.documents(), *self.files.baseline.values()]:
                document.release()
            for template in self.files.templates.values():  # the terminators hold these same objects
                object.__setattr__(template, "text", "")  # frozen for readers; released like its document


def resolve(files: ModelFiles, limits: Limits = Limits()) -> ResolvedModel:
    for template in files.templates.values():  # a render worker starts while the vocabulary is read
        try:
            prepare(template.text, limits)
        except MissingDependency as exc:
            raise exc.at(template.path) from None
    # the cache's entry for tokenizer.json's bytes, before the first read of its members: a warm run's entry
    # vouches for the layout checks that read would make (~10-20 ms for 12 MB)
    lookup = cache_lookup(files.tokenizer, limits.cache) if files.tokenizer is not None else None
    # a folder without tokenizer.json and tokenizer_config.json has no tokenizer, so no class and no defaults
    has_tokenizer = files.tokenizer is not None or files.tokenizer_config is not None \
        or files.sp_model is not None or files.vocab_json is not None
    class_name = tokenizer_class(files) if has_tokenizer else None
    defaults, default_where = _unnamed_defaults(files, class_name)
    special, where, problem, extra, unloadable = _special_tokens(files, defaults, default_where)
    for name, message, place in _required_tokens_missing(files, class_name, special):
        unloadable.setdefault(name, (message, place))
    specials = _batch(special, where, extra)
    by_line = {}  # a release line whose class has other defaults numbers added tokens with its own specials
    for line in older_release_lines():
        older, older_where = _unnamed_defaults(files, tokenizer_class(files, line) if has_tokenizer else None, line)
        if older != defaults:
            named, places, _, unnamed, _ = _special_tokens(files, older, older_where)
            by_line[line] = _batch(named, places, unnamed)
    vocab = Vocabulary(files, use_cache=limits.cache, specials=specials, specials_by_line=by_line,
                       lookup=lookup)
    eos = None
    if "eos_token" in special:
        eos = _token_value(special["eos_token"], where.get("eos_token"), vocab, special.get("unk_token"))
    model = ResolvedModel(
        folder=files.folder, files=files, vocab=vocab, tokenizer_eos=eos, tokenizer_eos_problem=problem,
        special_token_problems=unloadable,
        special_tokens=special, special_where=where,
        # a PEFT adapter's configs, when it holds them, are no loader's (ModelFiles.configs_elsewhere): EOS027
        stop=StopIds((), None, False) if files.configs_elsewhere else generation_stop_ids(files),
        config_eos=None if files.configs_elsewhere else config_eos_ids(files), vocab_size=_vocab_size(files))
    unpadded = _unpadded_vocab_size(files, model.vocab_size)
    if unpadded is not None:
        model.vocab_size, model.vocab_size_name = unpadded, "unpadded_vocab_size"
    if files.templates:
        added = _added_tokens(model)  # indexed once for all the templates: tokenizer.json may add millions
        model.terminators = [_terminator(t, model, added, limits) for t in files.templates.values()]
    model.not_generating = files.not_generating
    for name, doc in files.baseline.items():  # config.json's places are compared by rules.stop_ids_dropped
        if isinstance(doc.data, dict) and doc.data.get("eos_token_id") is not None:
            model.baseline_eos[name] = _stop_ids(doc, ("eos_token_id",))
    return model


def _batch(named: dict[str, str], where: dict[str, Where], unnamed: list[tuple[str, Where]]) \
        -> list[tuple[str, Where | None]]:
    """The special token strings in the order the tokenizer adds them, each with its place (Vocabulary.specials)."""
    return [(text, where.get(name)) for name, text in named.items()] + unnamed


def _unnamed_defaults(files: ModelFiles, class_name: str | None, numbering: str = "5.25") \
        -> tuple[dict[str, str], dict[str, Where]]:
    """The values of the standard special tokens no file names, and the places of those a file holds: the class's
    ``__init__`` defaults, and for a class that takes it (``TokenizersBackend``, ``LlamaTokenizer``, ...),
    tokenizer.json's ``padding.pad_token`` (``TokenizersBackend.__init__``: ``kwargs.setdefault("pad_token",
    padding["pad_token"])`` in 5.24 and 5.19)."""
    defaults = dict(class_special_defaults(class_name, numbering))
    defaults.update(spm_defaults(files, class_name))
    places: dict[str, Where] = {}
    tokenizer = files.tokenizer
    pad = tokenizer.get(("padding", "pad_token")) if tokenizer is not None else None
    if isinstance(pad, str) and class_takes_padding_pad_token(class_name, numbering):
        defaults["pad_token"] = pad
        places["pad_token"] = Where(tokenizer, ("padding", "pad_token"))
    return defaults, places


def _special_tokens(files: ModelFiles, defaults: dict[str, str] | None = None,
                    default_where: dict[str, Where] | None = None) \
        -> tuple[dict[str, str], dict[str, Where], str | None, list[tuple[str, Where]], dict[str, tuple[str, Where]]]:
    """Named special token strings after transformers' precedence, in its order, their origins, any eos problem,
    the unnamed special tokens, and the other special token values that make transformers raise (name ->
    message, where). The named ones are the tokenizer's ``special_tokens_map``: the variables a chat template
    sees.

    The seven standard names first: tokenizer_config.json's, which special_tokens_map.json overrides only when
    tokenizer_config.json has no ``added_tokens_decoder`` key (the "legacy" branch). Then the model-specific
    ones (Gemma 3's ``boi_token``, an ``eot_token``), in transformers' steps (:func:`_model_specific_and_extra`).
    A standard name no file read mentions (not even as null) takes the tokenizer class's default, ``defaults``
    (``Qwen2Tokenizer``'s eos is ``<|endoftext|>``): the class's ``__init__`` default, as no keyword overrides it,
    or tokenizer.json's padding pad token (:func:`_unnamed_defaults`); only the latter has a ``where``
    (``default_where``).
    """
    tc, stm = files.tokenizer_config, files.special_tokens_map
    standard: dict[str, str] = {}
    where: dict[str, Where] = {}
    problem: str | None = None
    unloadable: dict[str, tuple[str, Where]] = {}  # other special tokens that make transformers raise
    sources = [(tc, True)] + ([(stm, False)] if files.legacy else [])
    unmentioned = dict(defaults or {})
    for doc, is_config in sources:
        if doc is None or not isinstance(doc.data, dict):
            continue
        for name in SPECIAL_TOKEN_NAMES:
            if name not in doc.data:
                continue
            unmentioned.pop(name, None)
            text, error = special_token_text(doc.data[name], is_config, name)
            if text is not None or error:
                where[name] = Where(doc, (name,))
            if name == "eos_token" and (text is not None or error):
                problem = error
            elif error:
                unloadable[name] = (f"{name} {error}", Where(doc, (name,)))
            else:
                unloadable.pop(name, None)  # the legacy map's value replaces a bad one
            if text is not None:
                standard[name] = text
            elif not error:
                standard.pop(name, None)
    if problem:
        standard.pop("eos_token", None)
    standard.update(unmentioned)
    where.update({name: place for name, place in (default_where or {}).items() if name in unmentioned})
    for label, message, place in _added_token_problems(files):
        unloadable.setdefault(label, (message, place))
    named, extra = _model_specific_and_extra(files, unloadable)
    tokens: dict[str, str] = {}
    for name in SPECIAL_TOKEN_NAMES:  # the standard slots first, whatever set them
        if name in named:  # an extra_special_tokens object may name a standard token, the eos too: it wins
            tokens[name], where[name] = named[name]
        elif name in standard:
            tokens[name] = standard[name]
    for name, (text, place) in named.items():
        if name not in SPECIAL_TOKEN_NAMES:
            tokens[name], where[name] = text, place
    return tokens, where, problem, extra, unloadable


def _required_tokens_missing(files: ModelFiles, class_name: str | None,
                             special: dict[str, str]) -> Iterator[tuple[str, str, Where]]:
    """The standard special tokens the tokenizer class cannot be built without that the files leave with no
    token (null, or absent with no class default, or "" with no unk token, whose id is then None): transformers
    raises while it builds the tokenizer (RobertaTokenizer passes the sep and cls ids to its post-processor)."""
    for name in class_required_tokens(class_name):
        text = special.get(name)
        if text is not None and (text != "" or special.get("unk_token") is not None):
            continue
        sources = ([files.special_tokens_map] if files.legacy else []) + [files.tokenizer_config]
        doc = next((d for d in sources if d is not None and isinstance(d.data, dict) and name in d.data), None)
        place = Where(doc, (name,)) if doc is not None else Where(files.tokenizer_config or files.tokenizer, ())
        given = "an empty string, and there is no unk token" if text == "" else \
            "null" if doc is not None else "not set, and the class has no default"
        yield name, (f"{name} is {given}: {class_name} cannot be built without its id, so {LOAD_FAILS}"), place


def _model_specific_and_extra(files: ModelFiles, unloadable: dict[str, tuple[str, Where]] | None = None) \
        -> tuple[dict[str, tuple[str, Where]], list[tuple[str, Where]]]:
    """The model-specific named special tokens, in the order the tokenizer sets them, and the unnamed extra
    ones, each with where it is written: the steps of ``_from_pretrained`` (lines 1850-1865, 1904-1930) and of
    ``__init__`` (lines 1011-1013, 1034-1109) in transformers 5.24, on the files' values.

    - tokenizer_config.json's ``additional_special_tokens`` becomes ``extra_special_tokens`` unless that is set;
      its ``*_token`` keys with a string value and its ``extra_special_tokens`` object are collected first;
    - in the legacy branch special_tokens_map.json's keys are then copied over (its extra list merged, its
      ``extra_special_tokens`` object added to the collected names, replacing theirs);
    - ``__init__`` takes the other ``*_token`` keys (AddedToken objects, the map's) first, then the collected
      names, and uses one unnamed list: ``extra_special_tokens``, else what is left of
      ``additional_special_tokens``.
    """
    tc, stm = files.tokenizer_config, files.special_tokens_map
    init: dict[str, tuple[Any, Where, bool]] = {}  # key -> (value, where, whether a plain object is an AddedToken)
    if tc is not None and isinstance(tc.data, dict):
        init = {key: (value, Where(tc, (key,)), False) for key, value in tc.data.items()}
    if "additional_special_tokens" in init and not init.get("extra_special_tokens", (None,))[0]:
        init["extra_special_tokens"] = init.pop("additional_special_tokens")
    collected = {key: (init[key][0], init.pop(key)[1]) for key in list(init)
                 if key not in SPECIAL_TOKEN_NAMES and key.endswith("_token") and isinstance(init[key][0], str)}
    collected.update(_named_entries(init))
    if files.legacy and stm is not None and isinstance(stm.data, dict):
        for key, value in stm.data.items():
            if key == "extra_special_tokens" and isinstance(value, list):
                if isinstance(init.get("extra_special_tokens", (None,))[0], list):  # merged into a new list
                    _refused_entries(init["extra_special_tokens"], unloadable)
                _refused_entries((value, Where(stm, (key,)), True), unloadable, converted=True)
                merged = _items(init.get("extra_special_tokens"))
                seen = {text for text, _ in merged}
                for text, place in _items((value, Where(stm, (key,)), True)):
                    if text not in seen:
                        merged.append((text, place))
                        seen.add(text)
                init[key] = (merged, Where(stm, (key,)), True)
            else:
                init[key] = (value, Where(stm, (key,)), True)
        collected.update(_named_entries(init))
    if "additional_special_tokens" in init and "extra_special_tokens" not in init:
        init["extra_special_tokens"] = init.pop("additional_special_tokens")
    automatic: dict[str, tuple[str, Where]] = {}
    for key, (value, place, plain_objects) in init.items():
        if key not in SPECIAL_TOKEN_NAMES and key != "extra_special_tokens" and key.endswith("_token"):
            text, error = special_token_text(value, not plain_objects)
            if text is not None and not error:
                automatic[key] = (text, place)
    if unloadable is not None:  # an object's entry that is no string or AddedToken: TypeError in __init__
        for key, (text, place) in collected.items():
            if text is None:
                unloadable[key] = (f"{key} in extra_special_tokens is not a string or AddedToken; transformers "
                                   "raises when it loads the tokenizer", place)
        _refused_entries(init.get("extra_special_tokens"), unloadable)
    named = {**automatic, **{key: found for key, found in collected.items() if found[0] is not None}}
    return named, _items(init.get("extra_special_tokens"))


LOAD_FAILS = "transformers raises when it loads the tokenizer"
# special_tokens_map.json's additional_special_tokens objects: transformers 4.57 made them AddedTokens, 5.x does not
LOAD_FAILS_IN_5 = "transformers 5 raises when it loads the tokenizer (4.x loads it)"
ADDED_TOKEN_FLAGS = ("single_word", "lstrip", "rstrip", "normalized", "special")
ADDED_TOKEN_FLAGS_SET = frozenset(ADDED_TOKEN_FLAGS)


def added_token_error(value: dict, special_given: bool = False) -> str | None:
    """Why ``tokenizers.AddedToken(**value)`` raises (a TypeError; a UnicodeEncodeError for a content with a lone
    surrogate), or None (it ignores other keys, and a missing content is ""). ``special_given``: transformers
    passes ``special=True`` itself, so a "special" key is given twice (special_tokens_map.json's
    ``extra_special_tokens`` list)."""
    content = value.get("content")
    if content is not None and not isinstance(content, str):
        return f'has a "content" that is {_kind(content)}, not a string'
    surrogate = lone_surrogate(content) if content is not None else None
    if surrogate is not None:
        return f'has a "content" with a lone surrogate {surrogate}, which UTF-8 cannot encode (UnicodeEncodeError)'
    if special_given and "special" in value:
        return 'has a "special" key, which transformers gives AddedToken() itself ("got multiple values")'
    for flag in ADDED_TOKEN_FLAGS:
        if flag in value and not isinstance(value[flag], bool):
            return f'has a "{flag}" that is {_kind(value[flag])}, not true or false'
    return None


def _added_token_problems(files: ModelFiles) -> Iterator[tuple[str, str, Where]]:
    """The values transformers turns into AddedTokens that make it raise (``_from_pretrained`` lines 1887-1958,
    ``convert_added_tokens``): tokenizer_config.json's ``added_tokens_decoder`` entries (an object each, keyed by
    an id ``int()`` reads) and its ``{"__type": "AddedToken"}`` objects anywhere; in the legacy branch
    special_tokens_map.json's objects (``special`` is dropped from a named one) and its own AddedToken objects.
    Yields (label, message, where).

    tokenizer.json's ``added_tokens`` entries too: the tokenizers library refuses one without every field of
    the right kind, so every runtime that loads the file with it fails (transformers does, unless its tokenizer
    class rebuilds the tokenizer from the vocabulary, as Qwen2Tokenizer does)."""
    tc, stm = files.tokenizer_config, files.special_tokens_map
    if tc is not None and isinstance(tc.data, dict):
        if "added_tokens_decoder" in tc.data:
            decoder = tc.data["added_tokens_decoder"]
            if not isinstance(decoder, dict):
                yield "added_tokens_decoder", (f"added_tokens_decoder is {_kind(decoder)}, not an object; "
                                               f"{LOAD_FAILS}"), Where(tc, ("added_tokens_decoder",))
                decoder = {}
            for key, entry in decoder.items():
                if key.isdecimal() and _plain_added_token(entry) and lone_surrogate(entry["content"]) is None:
                    continue  # nearly every entry (thousands in a file)
                label, place = f'added_tokens_decoder["{key}"]', Where(tc, ("added_tokens_decoder", key))
                try:
                    int(key)
                except ValueError:
                    yield label, f"{label} has a key that is not a number (int() reads it as the id); {LOAD_FAILS}", \
                        place
                    continue
                error = added_token_error(entry) if isinstance(entry, dict) else f"is {_kind(entry)}, not an object"
                if error:
                    yield label, f"{label} {error}; {LOAD_FAILS}", place
        yield from _added_token_objects(tc, [item for item in tc.data.items() if item[0] != "added_tokens_decoder"])
    if files.legacy and stm is not None and isinstance(stm.data, dict):
        rest = []
        for key, value in stm.data.items():
            if isinstance(value, dict) and key != "extra_special_tokens":  # AddedToken(**value, special=True)
                error = added_token_error({k: v for k, v in value.items() if k != "special"})
                if error:
                    yield key, f"{key} {error}; {LOAD_FAILS}", Where(stm, (key,))
            elif not (key == "extra_special_tokens" and isinstance(value, list)):  # that list: _refused_entries
                rest.append((key, value))
        yield from _added_token_objects(stm, rest)
    doc = files.tokenizer
    entries = doc.get(("added_tokens",)) if doc is not None else None
    wrong = _wrong_added_token(doc, entries) if isinstance(entries, list) else None
    if wrong is not None:
        message, keys = wrong
        yield "tokenizer.json added_tokens", (f"tokenizer.json {message}; the tokenizers library refuses the file "
                                              "(TGI loads it with that library, and transformers does for most "
                                              "tokenizer classes)"), Where(doc, keys)


# tokenizers' AddedTokenWithId: every field is required, of this kind (serde; other keys are ignored)
ADDED_TOKEN_FIELDS = (("id", "a token id"), ("content", "a string"),
                      *((flag, "true or false") for flag in ADDED_TOKEN_FLAGS))


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` as its escape (``\\ud800``), or None: a JSON string may hold one (a
    ``\\u`` escape of half a pair), which UTF-8, and so the tokenizers library, cannot take."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"\\u{ord(text[exc.start]):04x}"
    return None


def _plain_added_token(entry: Any) -> bool:
    """Whether an object has a string content and no flag (ADDED_TOKEN_FLAGS) but true or false: the usual entry,
    tested without a loop (a file may hold thousands)."""
    return type(entry) is dict and type(entry.get("content")) is str \
        and type(entry.get("special", False)) is bool and type(entry.get("normalized", False)) is bool \
        and type(entry.get("lstrip", False)) is bool and type(entry.get("rstrip", False)) is bool \
        and type(entry.get("single_word", False)) is bool


def _wrong_added_token(doc: JsonDocument, entries: list) -> tuple[str, KeyPath] | None:
    """The first tokenizer.json added_tokens entry the tokenizers library refuses: (the problem, where), or None.
    (transformers loads the file with it, unless the tokenizer class rebuilds the tokenizer from the vocabulary,
    as Qwen2Tokenizer does; TGI and the other Rust loaders always do.) An id written ``-0``, which json.loads
    reads as 0, is refused too: serde_json reads it as the float -0.0 ("invalid type: floating point `-0.0`,
    expected u32", tokenizers 0.23.3 under transformers 5.24)."""
    for index, entry in enumerate(entries):
        if _plain_added_token(entry) and ADDED_TOKEN_FLAGS_SET <= entry.keys() and is_token_id(entry.get("id")):
            # (-0 looked for first: finding the id's text decodes a file parsed whole, 12 MB, again)
            if entry["id"] == 0 and doc.head_contains("-0") and doc.written(("added_tokens", index, "id")) == "-0":
                return f"added_tokens[{index}].id is -0, not a token id", ("added_tokens", index, "id")
            surrogate = lone_surrogate(entry["content"])
            if surrogate is not None:  # serde_json: "unexpected end of hex escape"
                return f"added_tokens[{index}].content holds a lone surrogate {surrogate}, which is no text", \
                    ("added_tokens", index, "content")
            continue
        if not isinstance(entry, dict):
            return f"added_tokens[{index}] is {_kind(entry)}, not an object", \
                ("added_tokens", index)
        for name, kind in ADDED_TOKEN_FIELDS:
            if name not in entry:
                return f'added_tokens[{index}] has no "{name}"', ("added_tokens", index)
            value = entry[name]
            if not (is_token_id(value) if name == "id" else isinstance(value, str) if name == "content"
                    else isinstance(value, bool)):
                shown = str(value) if name == "id" and isinstance(value, int) and not isinstance(value, bool) \
                    else _kind(value)
                return f'added_tokens[{index}].{name} is {shown}, not {kind}', ("added_tokens", index, name)
    return None


def _added_token_objects(doc: JsonDocument, items: list[tuple[str, Any]]) -> Iterator[tuple[str, str, Where]]:
    """The ``{"__type": "AddedToken", ...}`` objects under these top-level items that AddedToken() refuses,
    depth first in file order, without recursion (a file may nest a thousand levels)."""
    stack: list[tuple[KeyPath, Any]] = [((key,), value) for key, value in reversed(items)
                                        if isinstance(value, (dict, list))]
    while stack:
        keys, value = stack.pop()
        if isinstance(value, dict):
            if value.get("__type") == "AddedToken":
                error = added_token_error(value)
                if error:
                    label = _label(keys)
                    yield label, f"{label} {error}; {LOAD_FAILS}", Where(doc, keys)
                continue
            children = [(key, child) for key, child in value.items() if isinstance(child, (dict, list))]
        else:  # a long list of strings (additional_special_tokens) costs one test per item
            children = [(index, child) for index, child in enumerate(value) if isinstance(child, (dict, list))]
        stack.extend((keys + (key,), child) for key, child in reversed(children))


def _label(keys: KeyPath) -> str:
    """A value's key path as messages write it: ``settings.tokens[0]``."""
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" if i else key for i, key in enumerate(keys))


def _refused_entries(entry: tuple | None, unloadable: dict[str, tuple[str, Where]] | None,
                     converted: bool = False) -> None:
    """Note in ``unloadable`` the entries of an unnamed special-token list that the tokenizers library refuses
    ("Input must be a List[Union[str, AddedToken]]"), or the value when it is neither a list nor an object:
    anything but a string or an AddedToken object. ``converted``: special_tokens_map.json's
    ``extra_special_tokens`` list, whose objects transformers makes AddedTokens (special=True given)."""
    if entry is None or unloadable is None:
        return
    value, place, from_map = entry
    if value is None or isinstance(value, dict):
        return
    if not isinstance(value, list):
        unloadable.setdefault("extra_special_tokens", (
            f"extra_special_tokens is {_kind(value)}, not a list or an object; {LOAD_FAILS}", place))
        return
    for index, item in enumerate(value):
        if isinstance(item, (str, tuple)):  # a tuple: an entry already read (a merged list)
            continue
        if isinstance(item, dict) and converted:
            error = added_token_error(item, special_given=True)
        elif isinstance(item, dict) and item.get("__type") == "AddedToken":
            continue  # its fields are checked with the file's other AddedToken objects
        else:
            error = ('is an object without "__type": "AddedToken"' if isinstance(item, dict)
                     else f"is {_kind(item)}, not a string or AddedToken")
        if error:
            label = _label(place.keys + (index,))
            fails = LOAD_FAILS_IN_5 if from_map and not converted and isinstance(item, dict) else LOAD_FAILS
            unloadable.setdefault(label, (f"{label} {error}; {fails}", Where(place.document, place.keys + (index,))))


def _named_entries(init: dict) -> dict[str, tuple[str | None, Where]]:
    """An ``extra_special_tokens`` object's entries (taken out of ``init``), name -> (text, where)."""
    if not isinstance(init.get("extra_special_tokens", (None,))[0], dict):
        return {}
    value, place, _ = init.pop("extra_special_tokens")
    found = {}
    for name, entry in value.items():  # a plain object stays a dict in either file: __init__ raises
        text, error = special_token_text(entry, True)
        found[name] = (text if not error else None, Where(place.document, place.keys + (name,)))
    return found


def _items(entry: tuple | None) -> list[tuple[str, Where]]:
    """The texts of an unnamed token list (strings and AddedTokens), each with where it is written."""
    if entry is None:
        return []
    value, place, plain_objects = entry
    if not isinstance(value, list):
        return []
    found: list[tuple[str, Where]] = []
    seen: set[str] = set()  # a list may be long (a 4 MB tokenizer_config.json): one look-up per item
    for index, item in enumerate(value):
        if isinstance(item, tuple):  # already read (a merged list)
            found.append(item)
            continue
        text, error = special_token_text(item, not plain_objects)
        if text is not None and not error and text not in seen:
            seen.add(text)
            found.append((text, Where(place.document, place.keys + (index,))))
    return found


def special_token_text(value: Any, in_tokenizer_config: bool,
                       name: str = "eos_token") -> tuple[str | None, str | None]:
    """The string of a special token value, or the reason transformers cannot load it."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        if in_tokenizer_config and value.get("__type") != "AddedToken":
            return None, ('is a dict without "__type": "AddedToken"; transformers raises '
                          f'"Special token {name} has to be either str or AddedToken"')
        return value["content"], None
    return None, f"is {_kind(value)}, not a string or AddedToken; transformers cannot load the tokenizer"


def _token_value(text: str, where: Where | None, vocab: Vocabulary, unk: str | None = None) -> TokenValue:
    """The id the tokenizer gives a special token string: an added or vocab token's, or, for a string found
    nowhere, the new id the tokenizer appends it with. An empty string is never added, and an id the tokenizer
    cannot find is the unk token's (``_convert_token_to_id_with_added_voc``), or None without one."""
    if text == "":
        return TokenValue(text, vocab.id_of(unk) if unk else None, where)
    return TokenValue(text, vocab.id_of(text), where, appended=text in vocab.appended)


def generation_stop_ids(files: ModelFiles) -> StopIds:
    """The eos ids generate() and pipeline() stop on (transformers 5.x ``adjust_generation_fn``; for the model types
    of GENERATING_SECTIONS, the inner model's, from its section of config.json)."""
    config = files.config.data if files.config is not None else None
    model_type = section_model_type(config, ())
    if model_type in GENERATE_EOS_ARGUMENTS:
        argument, keys, default = GENERATE_EOS_ARGUMENTS[model_type]
        if keys is None:
            return StopIds(default, None, True, argument=argument,
                           passed_from=f"the default of generate()'s {argument} argument, which no file sets")
        section = config.get(keys[0])  # type: ignore[union-attr]  # a model type was read from it
        if not isinstance(section, dict) or keys[1] not in section:  # the config class's default
            return StopIds(default, None, True, argument=argument,
                           passed_from=f"config.json {dotted(keys)}, which generate() passes as its {argument}: its "
                                       "config class's default, as config.json names none")
        if is_listed_id(section[keys[1]]):
            return StopIds((section[keys[1]],), None, True, argument=argument,
                           passed_from=f"config.json {dotted(keys)}, which generate() passes as its {argument}")
    section = generating_section(files)
    if section is not None:
        stop = _section_stop_ids(files.config, (section,))  # type: ignore[arg-type]
        data = files.config.data.get(section) if files.config is not None else None  # type: ignore[union-attr]
        if not stop.ids and (data is None or isinstance(data, dict) and "eos_token_id" not in data):
            default = _section_default_eos(files.config.data, section)  # type: ignore[union-attr]
            if default is not None:  # the inner config object's class default (a 4.x save leaves it out)
                return StopIds((default,), Where(files.config, (section,)), False)  # type: ignore[arg-type]
        return stop
    stop = files_stop_ids(files)
    return _cast_as_generate_does(stop) if files.generation_config is not None else stop


# the range of torch.long: a float beyond it is not cast (torch raises), and eos-guard adds no id for it
_LONG_RANGE = 2.0 ** 63


def _cast_as_generate_does(stop: StopIds) -> StopIds:
    """generation_config.json's eos ids as generate() builds its stop tensor: ``torch.tensor(eos_token_id,
    dtype=torch.long)`` (generation/utils.py 5.25 ``_prepare_special_tokens``, ``_tensor_or_none``) cuts a float to
    its integer part (151645.0 and 151645.7 stop on 151645) and makes a bool 0 or 1, without the "should consist of
    positive integers" warning, which checks for a float tensor; a negative id is never generated. ``GenerationConfig``
    keeps the value as written, so generate() itself is the oracle (tests/e2e/test_logits_processors.py). A value
    torch cannot cast (a string, null, a list) makes generate() raise: nothing is cast then. ``invalid`` keeps the
    entries for EOS007: AutoConfig refuses them in config.json, and other runtimes compare ids, not casts."""
    if not stop.invalid or any(cast_id(v) is None for v in stop.invalid):
        return stop
    items = stop.raw if isinstance(stop.raw, list) else [stop.raw]
    return replace(stop, ids=tuple(cast for cast in map(cast_id, items) if cast is not None and cast >= 0))


def cast_id(value: Any) -> int | None:
    """The id ``torch.tensor(value, dtype=torch.long)`` makes of one eos_token_id entry: an int as it is (one beyond a
    long's range too, which torch refuses: EOS006 reports it as out of the vocabulary), a bool 0 or 1, a finite float
    cut toward zero (as ``int()`` cuts it); None for what torch cannot cast (a string, null, a list, NaN, an
    infinity, a float beyond the range of a long)."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and abs(value) < _LONG_RANGE:  # False for NaN and the infinities
        return int(value)
    return None


# The eos an inner model's config class defaults to (transformers 5.25), by its section's model_type, else the outer
# model type's default one (sub_configs): its generation config is made from the config object, where the default
# applies when the section names no eos (transformers 4.x saves leave a default out). tests/test_runtimes.py compares.
SECTION_DEFAULT_TYPES = {outer: TEXT_CONFIG_TYPES[outer] for outer, section in GENERATING_SECTIONS.items()
                         if section == "text_config"}
SECTION_DEFAULT_EOS = {"opt": 2, "llama": 2, "t5": 1, "kosmos_2_text_model": 2}


def _section_default_eos(config: dict, section: str) -> int | None:
    """A missing or null section, or one without model_type, is the outer class's default text config."""
    return SECTION_DEFAULT_EOS.get(section_model_type(config, (section,)) or "")


def generating_section(files: ModelFiles) -> str | None:
    """config.json's section whose model generates (model_files.GENERATING_SECTIONS), for its model type; model_files
    refuses a config whose section is there and no object, so it is one, null or missing."""
    model_type = section_model_type(files.config.data if files.config is not None else None, ())
    return GENERATING_SECTIONS.get(model_type) if model_type is not None else None


def files_stop_ids(files: ModelFiles) -> StopIds:
    """generation_config.json's eos_token_id, else config.json's as ``GenerationConfig.from_model_config`` reads it:
    what generate() stops on for a model that generates itself, and what other runtimes read as the folder's
    generation config."""
    gen = files.generation_config
    if gen is not None:
        return _stop_ids(gen, ("eos_token_id",))
    config = files.config
    if config is None or not isinstance(config.data, dict):
        return StopIds((), None, False)
    return _section_stop_ids(config, ())


def _section_stop_ids(config: JsonDocument, keys: KeyPath) -> StopIds:
    """``GenerationConfig.from_model_config`` of the config at ``keys``: its eos_token_id, else the first truthy of
    its ``decoder``, ``generator`` and ``text_config`` sections' (when that one has one)."""
    data = config.get(keys)
    if not isinstance(data, dict):  # a section that is null or missing: its class's defaults, which hold no eos
        return StopIds((), Where(config, keys if config.has(keys) else ()), False)
    return _stop_ids(config, keys + (from_model_config_keys(data, "eos_token_id") or ("eos_token_id",)))


def from_model_config_keys(data: Any, key: str) -> KeyPath | None:
    """Where ``GenerationConfig.from_model_config`` takes ``key`` from in a config's dict: its own value, else the
    first truthy of its SUB_CONFIGS sections' (when that one has one); None when neither is set."""
    if not isinstance(data, dict):
        return None
    if data.get(key) is not None:
        return (key,)
    name = next((name for name in SUB_CONFIGS if data.get(name)), None)
    sub = data[name] if name is not None else None
    return (name, key) if isinstance(sub, dict) and sub.get(key) is not None else None  # type: ignore[return-value]


def config_eos_ids(files: ModelFiles) -> StopIds | None:
    """config.json's own eos (top level, else the first truthy sub-config), whatever generation_config says."""
    config = files.config
    keys = config_eos_keys(config.data) if config is not None else None
    return _stop_ids(config, keys) if config is not None and keys is not None else None


def config_eos_keys(data: Any) -> KeyPath | None:
    """Where a config.json's own eos is: the top level, else the first sub-config that sets one."""
    if not isinstance(data, dict):
        return None
    if data.get("eos_token_id") is not None:
        return ("eos_token_id",)
    for name in TEXT_SECTIONS:
        sub = data.get(name)
        if isinstance(sub, dict) and sub.get("eos_token_id") is not None:
            return (name, "eos_token_id")
    return None


def _stop_ids(doc: JsonDocument, keys: KeyPath) -> StopIds:
    raw = doc.get(keys)
    where = Where(doc, keys) if doc.has(keys) else Where(doc, keys[:-1])
    if raw is None:
        return StopIds((), where, False, raw)
    items = raw if isinstance(raw, list) else [raw]
    ids = tuple(v for v in items if is_listed_id(v))
    invalid = tuple(v for v in items if not is_listed_id(v))
    return StopIds(ids, where, True, raw, invalid)


def is_listed_id(value: Any) -> bool:
    """Whether a config's eos_token_id (or another id key) holds an id here: an int of at least 0 that is no
    bool; transformers keeps any such value (vocabulary.is_token_id also asks that a tokenizer can give it)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _vocab_size(files: ModelFiles) -> int | None:
    """The rows of the output layer: ``config.get_text_config(decoder=True).vocab_size`` (configuration_utils.py
    5.24), the ``decoder``, ``generator`` or ``text_config`` section's where config.json has one that says it, else
    the top level's (a section without vocab_size takes its class default, which eos-guard does not know: the top
    level's stands for it). None for a model that writes audio codes (model_files.AUDIO_CODE_CLASSES), whose
    vocab_size counts codebook entries."""
    config = files.config
    if config is None or not isinstance(config.data, dict):
        return None
    names = config.data.get("architectures")
    if isinstance(names, list) and names and all(isinstance(name, str) and name in AUDIO_CODE_CLASSES
                                                 for name in names):
        return None  # its output layer writes codebook entries (CSM: vocab_size 2051), not the tokenizer's ids
    sections = [name for name in SUB_CONFIGS if config.data.get(name)]
    for keys in [(name, "vocab_size") for name in sections[:1]] + [("vocab_size",)]:
        value = config.get(keys)
        if is_listed_id(value) and value > 0:
            return value
    return None


# model types whose logits are cut to config.json's unpadded_vocab_size (transformers 5.25 models/inkling/
# modeling_inkling.py ``logits[..., :unpadded_vocab_size]``; inkling2's lm_head has that many rows): an id at or past
# it is never emitted
UNPADDED_VOCAB_TYPES = frozenset({"inkling_text", "inkling2_text", "inkling2_loop_text"})


def _unpadded_vocab_size(files: ModelFiles, vocab_size: int | None) -> int | None:
    """config.json's unpadded_vocab_size (top level, or text_config's) where its model type cuts the logits to it
    and it is below vocab_size, else None."""
    config = files.config
    data = config.data if config is not None else None
    if not isinstance(data, dict) or vocab_size is None:
        return None
    for keys in (("text_config",), ()):
        section = data.get(keys[0]) if keys else data
        value = section.get("unpadded_vocab_size") if isinstance(section, dict) else None
        if section_model_type(data, keys) in UNPADDED_VOCAB_TYPES and is_listed_id(value) and 0 < value < vocab_size:
            return value
    return None


def _added_tokens(model: ResolvedModel) -> AddedTokens:
    added = model.vocab.added_token_strings() + list(model.special_tokens.values())
    if not model.vocab.lists_added_tokens:
        added += END_OF_TURN_TEXTS
    return AddedTokens(added)


def _spelled(probe: Probe, model: ResolvedModel, added: AddedTokens) -> str | None:
    """The known turn end a template writes as text after an answer where no token can end it (EOS011's error):
    the files list every added token, the text is no token of the vocabulary either (a BPE or Unigram vocab may
    hold '<|im_end|>' as one piece), and no added token follows it (``'<|im_end|>' + eos_token`` ends with the
    eos). None otherwise."""
    tail = probe.tail.strip()
    known = known_turn_end(tail) if model.vocab.lists_added_tokens and not probe.between_turns else None
    if known is None or model.vocab.id_of(known) is not None:
        return None
    rest = tail[len(known):]
    return None if any(added.at(rest, at) is not None for at in range(len(rest))) else known


def _terminator(template: TemplateSource, model: ResolvedModel, added: AddedTokens, limits: Limits) -> Terminator:
    try:
        probe = probe_named_template(template.name, template.text, model.special_tokens, added, limits)
    except MissingDependency as exc:
        raise exc.at(template.path) from None
    if probe.token is None:
        return Terminator(template, None, None, probe, spelled=_spelled(probe, model, added))
    tokens = turn_end_run(probe, template.text)
    ids = tuple(_terminator_id(token, model) for token in tokens)
    if probe.between_turns and ids[0] is not None and ids[0] in user_turn_markers(model):
        # the next turn's opener is the user turn's marker the model's own config names (Baichuan 2's
        # generation_config.json user_token_id), not an end of the answer, which the template does not show
        # (helper-186: vLLM's Baichuan template; ChatGLM3's <|user|>, which its answers do end with, is named nowhere)
        return Terminator(template, None, None, probe)
    # generate() stops at the first token of the run that is a stop id (runtimes.stop_id: each runtime's own
    # first); when none is, the one to make a stop id is the first the tokenizer or config.json names as eos
    # (Command R7B's <|END_OF_TURN_TOKEN|>, after <|END_RESPONSE|>), else the first
    named = {model.tokenizer_eos.id} if model.tokenizer_eos is not None else set()
    named.update(model.config_eos.ids if model.config_eos is not None else ())
    stop_at = first_listed(ids, model.stop.ids)
    if stop_at is None:
        stop_at = first_listed(ids, named) or 0
    return Terminator(template, tokens[stop_at], ids[stop_at], probe, tuple(tokens[:stop_at]), ids)


def user_turn_markers(model: ResolvedModel) -> set[int]:
    """The ids generation_config.json or config.json names ``user_token_id``: the marker that opens a user turn in
    the model's own chat format (Baichuan 2's remote-code ``build_chat_input``)."""
    markers = set()
    for doc in (model.files.generation_config, model.files.config):
        data = doc.data if doc is not None else None
        value = data.get("user_token_id") if isinstance(data, dict) else None
        if is_listed_id(value):
            markers.add(value)
    return markers


def _terminator_id(token: str, model: ResolvedModel) -> int | None:
    token_id = model.vocab.id_of(token)
    if token_id is None and token == (model.tokenizer_eos.token if model.tokenizer_eos else None):
        token_id = model.tokenizer_eos.id
    return token_id


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"{type(value).__name__}"
