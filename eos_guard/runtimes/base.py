"""What every runtime module returns, and helpers they share (all from the already resolved folder)."""

from __future__ import annotations

from ..findings import quoted_list
from ..jsonspan import JsonDocument, KeyPath
from ..records import record
from ..resolve import SUB_CONFIGS, ResolvedModel, Where, is_listed_id, special_token_text

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


@record(frozen=True, eq=False)  # each line is one constant: compared and hashed by identity, fast as a dict key
class Release:
    """A line of releases that build the stop set by the same rule.

    ``since`` is the first version the rule applies to (a tuple of ints: ``(0, 32)``, ``(11739,)`` for llama.cpp
    build b11739); ``None`` for the oldest line modelled, which then stands for every older release too.
    """

    label: str                          # how output names it, with the runtime: "mlx-lm ≤ 0.31.3"
    since: tuple[int, ...] | None
    source: str                         # upstream file, function and commit read


@record(frozen=True)
class StopSet:
    """The ids a runtime stops on, why, what to change so it stops on the terminator, and where that is.

    ``unknown`` is non-empty when the runtime may stop on more ids than the files say (a config class default
    for a model type eos-guard does not know): it says why, and an id missing from ``ids`` is then "cannot
    tell", never "does not stop"."""

    runtime: str
    ids: tuple[int, ...]
    why: str
    fix: str
    where: Where | None = None
    release: str = ""                   # the Release.label this stop set follows
    source: str = ""                    # the Release.source: upstream file, function and commit
    notes: tuple[str, ...] = ()         # where other release lines give another answer, one line each
    unknown: str = ""
    # ids the runtime never samples, whatever the stop set says, each with where that is set: (id, reason, fix)
    never_samples: tuple[tuple[int, str, str], ...] = ()
    others: tuple["StopSet", ...] = ()  # the stop sets of the other release lines modelled, newest first
    # the chat template the runtime renders (a ModelFiles.templates label) where it is not the tokenizer's default:
    # a processor's (vLLM, SGLang); for a chat without tools, and for one with tools
    template: str = ""
    tool_template: str = ""

    def labelled(self, release: Release, notes: tuple[str, ...] = (), others: tuple[StopSet, ...] = ()) -> StopSet:
        """This stop set as the release line ``release`` gives it, with the notes and the other lines' stop sets."""
        return self._with(release=release.label, source=release.source, notes=notes, others=others)

    def from_elsewhere(self, reason: str, fix: str, keep_ids: bool = True) -> StopSet:
        """This stop set where the ids come from files this folder does not hold: an id it lacks is "cannot
        tell", and the fix is there. ``keep_ids``: the folder's own files still give some (a tokenizer folder's eos,
        which vLLM reads from the folder passed as --tokenizer); without, none of them counts (a PEFT adapter is
        served on its base model's tokenizer and configs), so every id is "cannot tell"."""
        if not keep_ids:
            return self._with(ids=(), unknown=reason, why=reason, fix=fix, where=None, notes=(), never_samples=(),
                              others=tuple(other.from_elsewhere(reason, fix, False) for other in self.others))
        return self._with(unknown=reason, why=f"{self.why}; {reason}" if self.ids else reason, fix=fix,
                          others=tuple(other.from_elsewhere(reason, fix) for other in self.others))

    def not_loaded(self, reason: str, fix: str) -> StopSet:
        """This runtime as one that cannot load the folder at all (an MLX-quantized checkpoint's packed weights): no
        stop set, so every id is "cannot tell", as for a model type the runtime refuses."""
        return self._with(ids=(), why=reason, fix=fix, where=None, notes=(), unknown=reason, never_samples=(),
                          others=tuple(other.not_loaded(reason, fix) for other in self.others))

    def _with(self, **changes: Any) -> StopSet:
        """``records.replace`` without its field-by-field work (a run makes ten of these per folder)."""
        copy = object.__new__(StopSet)
        copy.__dict__.update(self.__dict__, **changes)
        return copy

    def without_place(self, shared: dict[tuple, StopSet]) -> StopSet:
        """This stop set without ``where`` (nor have its others), as one object for all equal ones in ``shared``,
        which holds them (so the others, already shared, are told apart by identity)."""
        others = tuple(other.without_place(shared) for other in self.others)
        key = tuple({**self.__dict__, "where": None, "others": tuple(map(id, others))}.values())
        found = shared.get(key)
        if found is None:
            found = shared[key] = self._with(where=None, others=others)
        return found


def parse_version(text: str) -> tuple[int, ...] | None:
    """``"0.31"``, ``"v0.32.2"``, ``"b11739"`` -> ``(0, 31)``, ``(0, 32, 2)``, ``(11739,)``; None when not a version."""
    body = text.strip()
    if body[:1] in ("v", "b"):
        body = body[1:]
    parts = body.split(".")
    if not body or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def pick_release(releases: tuple[Release, ...], version: tuple[int, ...] | None) -> Release:
    """The release line (newest first in ``releases``) that a version belongs to; the newest without a version."""
    if version is None:
        return releases[0]
    for release in releases:
        if release.since is None or version >= release.since:
            return release
    return releases[-1]


def place(doc: JsonDocument | None, keys: KeyPath) -> Where | None:
    """The value at ``keys`` in ``doc``, or the object that should hold it; None without the file."""
    if doc is None:
        return None
    return Where(doc, keys) if doc.has(keys) else Where(doc, keys[:-1])


def tokenizer_eos_place(model: ResolvedModel) -> Where | None:
    return model.special_where.get("eos_token") or place(model.files.tokenizer_config, ("eos_token",))


def config_eos_place(model: ResolvedModel) -> Where | None:
    """config.json's eos_token_id as gguf-py's SpecialVocab looks it up: the top level, else ``text_config``'s."""
    config = model.files.config
    if config is None:
        return None
    if config.get(("eos_token_id",)) is None and isinstance(config.get(("text_config",)), dict):
        return place(config, ("text_config", "eos_token_id"))
    return place(config, ("eos_token_id",))


def as_ids(value: Any) -> list[int]:
    """An eos value as a list of valid ids (int -> [int], list -> its ints, anything else -> [])."""
    items = value if isinstance(value, list) else [value]
    return [v for v in items if is_listed_id(v)]


def unique(ids: list[int | None]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(token_id for token_id in ids if token_id is not None))  # first-seen order, linear


def tokenizer_eos_id(model: ResolvedModel) -> int | None:
    eos = model.tokenizer_eos
    return eos.id if eos is not None and not eos.appended else None


def generation_eos(model: ResolvedModel) -> Any:
    """generation_config.json's raw eos_token_id, or None when the file or key is missing."""
    gen = model.files.generation_config
    return gen.get(("eos_token_id",)) if gen is not None else None


def config_top_eos(model: ResolvedModel) -> Any:
    config = model.files.config
    return config.get(("eos_token_id",)) if config is not None else None


def config_data(model: ResolvedModel) -> Any:
    """config.json's parsed value (an object once read: model_files checks it), None without the file."""
    return model.files.config.data if model.files.config is not None else None


def architecture_names(config: dict) -> list[str]:
    """config.json's ``architectures`` as the class names a runtime tries: a lone string as one, entries that are no
    string left out, none when it is missing or no list."""
    names = config.get("architectures")
    if isinstance(names, str):
        return [names]
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


# the sections PretrainedConfig.get_text_config() looks for (transformers 5.22-5.25), which vLLM's is_encoder_decoder
# reads beside the config itself
TEXT_CONFIG_NAMES = ("text_encoder", *SUB_CONFIGS)


def encoder_decoder_key(config: dict) -> str:
    """Where config.json says the model is an encoder-decoder, as vLLM's ``is_encoder_decoder`` reads it: its own
    key or its text section's (``config.json is_encoder_decoder``); "" if nowhere."""
    if config.get("is_encoder_decoder") is True:
        return "config.json is_encoder_decoder"
    text = next((name for name in TEXT_CONFIG_NAMES if isinstance(config.get(name), dict)), None)
    return f"config.json {text}.is_encoder_decoder" if text and config[text].get("is_encoder_decoder") is True else ""


def config_architecture(model: ResolvedModel) -> str | None:
    """config.json's ``architectures[0]``, the class a GGUF converter picks by; None when it names none."""
    config = model.files.config
    names = config.get(("architectures",)) if config is not None else None
    return names[0] if isinstance(names, list) and names and isinstance(names[0], str) else None


def tokenizer_config_eos(model: ResolvedModel) -> str | None:
    """tokenizer_config.json's own eos_token string (converters read it directly, without special_tokens_map)."""
    tc = model.files.tokenizer_config
    if tc is None or not isinstance(tc.data, dict):
        return None
    text, _ = special_token_text(tc.data.get("eos_token"), False)
    return text


def transformers_4_refuses_tokenizer(model: ResolvedModel) -> str | None:
    """What in the tokenizer's files makes transformers 4.x's AutoTokenizer.from_pretrained raise where 5.x loads
    it, or None. transformers 5's save_pretrained writes both (tokenization_utils_base.py, 5.25): ``tokenizer_class``
    ``TokenizersBackend`` for a tokenizer.json-only class (Llama 3, Mistral, Phi-3 fine-tunes), which 4.x has no
    class of ("Tokenizer class TokenizersBackend does not exist"; config.json's where tokenizer_config.json names
    none, as AutoTokenizer takes it), and ``extra_special_tokens`` as a list (the additional special tokens,
    Qwen2.5's), which 4.x takes for its object of named tokens (``_set_model_specific_special_tokens``: "'list'
    object has no attribute 'keys'"). Tested against transformers 4.51.3 itself
    (tests/test_transformers_4_tokenizers.py); 4.57.6 raised the same in a helper's run."""
    tc = model.files.tokenizer_config
    data = tc.data if tc is not None else None
    if not isinstance(data, dict):
        return None
    name, where = data.get("tokenizer_class"), "tokenizer_config.json"
    config = config_data(model)
    if name is None and isinstance(config, dict):  # AutoTokenizer takes config.json's then (helper-163)
        name, where = config.get("tokenizer_class"), "config.json"
    if isinstance(name, str) and name.startswith("TokenizersBackend"):
        return f"{where}'s tokenizer_class '{name}' (transformers 5's; 4.x has no such class)"
    if "extra_special_tokens" in data and not isinstance(data["extra_special_tokens"], dict):
        extra = data["extra_special_tokens"]
        kind = "a list" if isinstance(extra, list) else "null" if extra is None else "no object"
        return (f"tokenizer_config.json's extra_special_tokens, {kind} (transformers 5 writes a list; 4.x reads an "
                "object of named tokens)")
    return None


def added_token_declared_id(model: ResolvedModel, content: str, last: bool = False) -> int | None:
    """The ``"id"`` field of the first (or last) tokenizer.json added_tokens entry with that content."""
    doc = model.files.tokenizer
    entries = doc.get(("added_tokens",)) if doc is not None else None
    if not isinstance(entries, list):
        return None
    matches = [e.get("id") for e in entries if isinstance(e, dict) and e.get("content") == content]
    if not matches:
        return None
    value = matches[-1] if last else matches[0]
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def show(ids: tuple[int, ...] | list[int]) -> str:
    return quoted_list(ids)


def show_id(token_id: int | None, reason: str = "unknown") -> str:
    """An id for a sentence: the number, or what is known instead (never ``None``)."""
    return str(token_id) if token_id is not None else reason


NUMBERING_NAMES = {"4.51": "transformers 4.51.3", "5.19": "transformers 5.19"}


def renumbered(model: ResolvedModel, ids: tuple[int, ...], numbering: str) -> tuple[tuple[int, ...], str]:
    """Raw ids a runtime reads with another transformers release's tokenizer, as the tokens they are there,
    given in eos-guard's numbering (transformers 5.25), and a note for each id that moved ("" when none did).
    Ids differ only where the files disagree on added-token ids (EOS009; ``vocabulary.py``)."""
    if not model.vocab.complete or not model.vocab.added:
        return ids, ""
    theirs = model.vocab.numbered_as(numbering)
    result: list[int | None] = []
    moved: list[str] = []
    for raw in ids:
        text = theirs.content_of(raw)
        now = model.vocab.id_of(text) if text is not None else None
        if now is not None and now != raw:
            moved.append(f"{raw} is '{text}' in {NUMBERING_NAMES[numbering]}'s numbering, {now} here")
            result.append(now)
        else:
            result.append(raw)
    return unique(result), (" (" + "; ".join(moved) + ")") if moved else ""
