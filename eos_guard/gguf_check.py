"""A GGUF file as the checks see it (``eos-guard model.gguf``, docs/gguf.md): its tokens, the special ids it
writes, the token its chat templates end a turn with, and the model folders of the run it may come from.

This is the resolve layer for GGUF files, as resolve.py is for folders; the pipeline checks both the same way.
Only the metadata is read (gguf_metadata.py). llama.cpp's stop set (runtimes/llama_cpp.py) follows llama.cpp's
``llama_vocab::impl::load`` (src/llama-vocab.cpp; the newest build modelled is b11739, read from b11549's source
and run as b11739's libllama): the eos, eot and eom ids that lie inside the token list (an eos outside it, or none,
falls back to the tokenizer's default) plus every token whose text is an end-of-generation text
(runtimes/llama_cpp.py). A file llama.cpp refuses to load (tokens without a ``tokenizer.ggml.model`` it knows, a
token text written twice) is an error, not a verdict; one it loads without its vocabulary (``none``,
``no_vocab``) is read as a file without tokens. Templates get ``bos_token``/``eos_token`` as the texts of
the bos and eos ids llama.cpp uses (written, else the tokenizer's default), "" where it has none, as llama.cpp's
Jinja path passes them; the terminator is the CONTROL or USER_DEFINED token that
follows the assistant's answer, the token types llama.cpp matches as one token in a prompt (with the tokens whose
text it makes CONTROL when it loads the file), else a NORMAL token of that text (the model still emits its id).
"""

from __future__ import annotations

import itertools
from pathlib import Path

from .errors import InputError, MissingDependency
from .findings import quoted_list
from .gguf_metadata import (ARRAY, CONTROL, NORMAL, STRING, TYPE_NAMES, USER_DEFINED, GgufMetadata,
                            read_metadata)
from .known_tokens import END_OF_TURN_TEXTS, LLAMA_CPP_CONTROL_LOOKING, LLAMA_CPP_FIM_KINDS, known_turn_end
from .model_files import MAX_TEMPLATES
from .records import field, record, replace
from .resolve import ResolvedModel
from .template import AddedTokens, Limits, first_listed, probe_named_template, probe_problem, turn_end_run

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterable

# the special ids llama.cpp stops on (the fill-in-the-middle ones too, runtimes/llama_cpp.fill_in_the_middle_ids)
STOPPING_KINDS = ("eos", "eot", "eom", *LLAMA_CPP_FIM_KINDS)
SPECIAL_KEYS = {kind: f"tokenizer.ggml.{kind}_token_id" for kind in ("bos", *STOPPING_KINDS)}
TOKENS = "tokenizer.ggml.tokens"
TOKEN_TYPES = "tokenizer.ggml.token_type"
TOKENIZER_MODEL = "tokenizer.ggml.model"
TOKENIZER_PRE = "tokenizer.ggml.pre"
ARCHITECTURE = "general.architecture"
# files llama_model_load never opens: a CLIP model with a text encoder (llama.cpp's convert_image_encoder_to_gguf.py
# writes its tokens, without tokenizer.ggml.model), loaded by clip.cpp/mtmd as a vision projector is
PROJECTOR_ARCHITECTURES = ("clip",)
TEMPLATE = "tokenizer.chat_template"  # named templates are tokenizer.chat_template.<name>
# the ChatML template llama.cpp's chat uses for a default template that is the word "chatml" (or empty) where the
# file has no tool_use template (common/chat.cpp, CHATML_TEMPLATE_SRC and common_chat_templates_init, b11549)
LLAMA_CPP_CHATML = ("{%- for message in messages -%}\n"
                    "  {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}\n"
                    "{%- endfor -%}\n"
                    "{%- if add_generation_prompt -%}\n"
                    "  {{- '<|im_start|>assistant\n' -}}\n"
                    "{%- endif -%}")
TOOL_USE_TEMPLATE = TEMPLATE + ".tool_use"
UINT32, INT32 = 4, 5
# llama.cpp's eos when the GGUF names none inside the token list, by tokenizer.ggml.model (llama_vocab::impl::load).
DEFAULT_EOS = {"llama": 2, "gpt2": 11, "hybriddna": 11, "whitespace": 11, "t5": 1, "plamo2": 2, "plamo3": 2}
# and the bos id (llama-vocab.cpp, llama_vocab::impl::load, b11549), which the pre-tokenizers of ChatGLM and GLM 4/5
# take away: the bos_token a template renders (common_chat_templates_init passes "" where there is none)
DEFAULT_BOS = {"llama": 1, "bert": 101, "gpt2": 11, "hybriddna": 11, "whitespace": 11, "plamo2": 1, "plamo3": 1}
NO_BOS_PRE_TOKENIZERS = ("chatglm-bpe", "glm4", "glm5")
# every tokenizer.ggml.model llama_vocab::impl::load accepts (b11549's source; b11739 run): any other value, or no
# value, is "unknown tokenizer" / "key not found" and the file does not load
NO_VOCABULARY = ("no_vocab", "none")  # loaded without its tokens: no text is read or written, no id ends anything
TOKENIZER_MODELS = (*NO_VOCABULARY, "llama", "bert", "gpt2", "hybriddna", "whitespace", "t5", "rwkv", "test", "plamo2",
                    "plamo3", "gemma4")


@record(frozen=True)
class GgufTemplate:
    """One chat template of the GGUF and the token its assistant turns end with."""

    name: str          # "default" for tokenizer.chat_template
    key: str
    text: str
    token: str | None
    id: int | None
    # the ids of the tokens written one after the other after every answer, ``id`` first (template.turn_end_run)
    run_ids: tuple[int | None, ...] = ()
    problem: str | None = None  # why the template cannot be checked (template.probe_problem): EOS028
    # a known turn-end text (<|im_end|>) the template writes after answers that is no token of the GGUF: llama.cpp
    # reads it as ordinary pieces, and nothing stops the answer (a folder's EOS011)
    spelled: str | None = None
    builtin: bool = False  # llama.cpp's own ChatML template, which a default template "chatml" stands for

    @property
    def described(self) -> str:
        """The template as findings name it, with its key."""
        if self.builtin:
            return f'llama.cpp\'s built-in ChatML template ({self.key} is "chatml")'
        which = "the chat template" if self.name == "default" else f"the '{self.name}' chat template"
        return f"{which} ({self.key})"

    def stops_on(self, eog: tuple[int, ...]) -> bool:
        """Whether llama.cpp stops at the end of an answer: at the first of the tokens written after it that is
        an end-of-generation id (Command R7B's <|END_OF_TURN_TOKEN|>, after <|END_RESPONSE|>)."""
        return first_listed(self.run_ids or (self.id,), eog) is not None


@record
class GgufModel:
    """What a GGUF's metadata says about ending a turn, and the model folders it is compared with."""

    path: Path
    tokens: list[str]
    types: list[int]                # empty when the GGUF has no token types
    written: dict[str, int]         # tokenizer.ggml.<kind>_token_id as written: bos, eos, eot, eom
    tokenizer_model: str | None
    tokenizer_pre: str | None = None  # tokenizer.ggml.pre
    templates: list[GgufTemplate] = field(default_factory=list)
    # the template keys past MAX_TEMPLATES, not rendered (EOS028): a folder checks as many
    templates_not_checked: list[str] = field(default_factory=list)
    # tokenizer.chat_template when it is empty or the word "chatml", which llama.cpp's chat replaces (not in
    # templates): EOS022 says so
    replaced_default: str | None = None
    folders: list[ResolvedModel] = field(default_factory=list)  # the folders of the run it may come from
    # llama.cpp's end-of-generation ids and the release line whose rule made them (a runtimes.base.Release): the
    # runtimes layer fills them in (runtimes.llama_cpp.gguf_end_of_generation)
    eog: tuple[int, ...] = ()
    eog_release: Any = None

    # the ids looked up so far: a few dozen texts are, and a table of every token would cost more than the tokens
    # (a hostile file lists 5 million)
    _ids: dict[str, int | None] = field(default_factory=dict, repr=False, compare=False)

    def ids_of(self, texts: Iterable[str]) -> dict[str, int | None]:
        """The first id of each text (llama.cpp refuses a repeated text; gguf_new_metadata.py takes the first), None
        for a text not in the token list: one pass over the list finds which are there."""
        texts = tuple(texts)
        new = set(texts).difference(self._ids)
        if new:
            found = new.intersection(self.tokens)
            self._ids.update((text, self.tokens.index(text) if text in found else None) for text in new)
        return {text: self._ids[text] for text in texts}

    def id_of(self, text: str) -> int | None:
        return self.ids_of((text,))[text]

    def in_range(self, token_id: int | None) -> bool:
        return token_id is not None and 0 <= token_id < len(self.tokens)

    @property
    def default_eos(self) -> int | None:
        default = DEFAULT_EOS.get(self.tokenizer_model or "")
        return default if self.in_range(default) else None

    def ordinary_text(self, token_id: int) -> bool:
        """Whether the token is a piece of ordinary text (``,``, ``a``): NORMAL, or of no type written, and not shaped
        as a special token's text. An end-of-generation id on one ends answers wherever the model writes it."""
        return (not self.types or self.types[token_id] == NORMAL) and not token_shaped(self.tokens[token_id])

    @property
    def bos(self) -> int | None:
        """The bos id llama.cpp uses: the one written, when in range, else the tokenizer's default, when in range
        (none after the ChatGLM and GLM 4/5 pre-tokenizers), else None (llama_vocab::impl::load)."""
        written = self.written.get("bos")
        if self.in_range(written):
            return written
        default = None if self.tokenizer_pre in NO_BOS_PRE_TOKENIZERS else DEFAULT_BOS.get(self.tokenizer_model or "")
        return default if self.in_range(default) else None

    def special(self, replace: dict[str, int] | None = None) -> dict[str, int]:
        """The eos/eot/eom and fill-in-the-middle ids llama.cpp uses (out-of-range ones dropped, as llama.cpp
        drops them, and a default eos), after ``replace``."""
        written = {**self.written, **(replace or {})}
        ids = {kind: written[kind] for kind in STOPPING_KINDS if self.in_range(written.get(kind))}
        if "eos" not in ids and self.default_eos is not None:
            ids["eos"] = self.default_eos
        return ids

    @property
    def terminator(self) -> GgufTemplate | None:
        """The template llama.cpp's chat uses (common/chat.cpp, ``common_chat_templates_init``): the default one,
        else ``tool_use`` (also where the default is empty or "chatml", which load() leaves out); None without
        either (llama.cpp then uses its own built-in ChatML template)."""
        by_name = {t.name: t for t in self.templates}
        return by_name.get("default") or by_name.get("tool_use")

    def stops(self, eog: tuple[int, ...] | None = None) -> bool | None:
        """Whether a chat answer stops on ``eog`` (default: llama.cpp's end-of-generation ids, ``self.eog``);
        None when the template's terminator is unknown."""
        terminator = self.terminator
        if terminator is not None and terminator.spelled is not None:
            return False  # pieces of text: no id stops the answer
        if terminator is None or terminator.id is None:
            return None
        return terminator.stops_on(self.eog if eog is None else eog)

    def show(self, token_id: int) -> str:
        if not self.in_range(token_id):
            return f"{token_id} (outside the token list)"
        return f"{token_id} '{self.tokens[token_id]}'"

    def describe(self, ids: tuple[int, ...]) -> str:
        return quoted_list(ids, self.show)


def load(path: Path, limits: Limits = Limits(), max_bytes: int | None = None) -> GgufModel:
    meta = read_metadata(path, _wanted, max_bytes)
    model = _typed(meta, TOKENIZER_MODEL, STRING)
    if model in NO_VOCABULARY or _typed(meta, ARCHITECTURE, STRING) in PROJECTOR_ARCHITECTURES:
        # llama.cpp reads none of its tokens (nor its token types and special ids), or the file is no language
        # model's: as a file without any tokens, nothing ends a turn
        return GgufModel(path, [], [], {}, model)
    tokens = _typed(meta, TOKENS, ARRAY, STRING) or []
    if any("\0" in token for token in tokens):  # llama.cpp reads each text as a C string: up to its first NUL
        for index, token in enumerate(tokens):  # in place: a second list of 3 million texts took 18 times the
            if "\0" in token:                  # metadata's size (helper-198)
                tokens[index] = token.split("\0", 1)[0]
    types = _typed(meta, TOKEN_TYPES, ARRAY, INT32) or []
    if types and len(types) < len(tokens):  # llama.cpp refuses such a file too
        raise InputError(path, f"{TOKEN_TYPES} has {len(types)} entries for {len(tokens)} tokens")
    # llama.cpp reads a special id as a uint32 (llama_model_loader::get_key<uint32_t>, src/llama-model-loader.cpp):
    # any other type, even another integer type, "has wrong type ... but expected type u32" and the file does not load
    written = {kind: _typed(meta, key, UINT32) for kind, key in SPECIAL_KEYS.items() if key in meta.fields}
    if TOKENS in meta.fields:
        _refuse_what_llama_cpp_cannot_load(meta, model, tokens)
    # llama.cpp reads it as a string (llama_model_loader::get_key): another type does not load
    gguf = GgufModel(path, tokens, types, written, model, _typed(meta, TOKENIZER_PRE, STRING))
    added: AddedTokens | None = None  # built once for all the templates: a hostile file lists millions
    for key in sorted(filter(_is_template, meta.fields)):  # tokenizer.chat_template sorts first
        text = _template_text(meta, key)
        # llama.cpp's chat (common_chat_templates_init, b11549) replaces a default template that is empty or the
        # word "chatml" with tool_use, else its built-in ChatML, and takes no empty tool_use (helper-198)
        if key == TEMPLATE and text in ("", "chatml"):
            gguf.replaced_default = text
            continue
        if text is None or (key == TOOL_USE_TEMPLATE and not text):
            continue
        if len(gguf.templates) >= MAX_TEMPLATES:  # each may run to the time limit: a 3 KB file held 20 of them
            gguf.templates_not_checked.append(key)
            continue
        name = "default" if key == TEMPLATE else key[len(TEMPLATE) + 1:]
        added = added or _added_tokens(gguf)
        gguf.templates.append(_template(gguf, name, key, text, added, limits))
    if gguf.replaced_default == "chatml" and gguf.terminator is None:
        # the file names ChatML, and llama.cpp's chat uses its own (helper-211: a Llama 3 vocabulary without
        # <|im_end|> was 'cannot tell'); an empty template, a base model's, is left alone
        builtin = _template(gguf, "default", TEMPLATE, LLAMA_CPP_CHATML, added or _added_tokens(gguf), limits)
        gguf.templates.insert(0, replace(builtin, builtin=True))
    return gguf


def _refuse_what_llama_cpp_cannot_load(meta: GgufMetadata, model: str | None, tokens: list[str]) -> None:
    """llama_vocab::impl::load refuses a file with tokens but no tokenizer.ggml.model or one it does not know, and
    aborts on a token text written twice (``GGML_ASSERT(id_to_token.size() == token_to_id.size())``)."""
    cause = "llama.cpp cannot load the file (llama_vocab::impl::load"
    if model is None:
        raise InputError(meta.path, f"{TOKENIZER_MODEL} is missing: {cause}: key not found)")
    if model not in TOKENIZER_MODELS:
        raise InputError(meta.path, f"{TOKENIZER_MODEL} is {model!r}: {cause}: unknown tokenizer; it knows "
                                    f"{', '.join(TOKENIZER_MODELS)})")
    # an empty text is read as "[EMPTY_<id>]" before the assert (llama_vocab::impl::load): two of them load, and
    # one repeats only a text written so at its id (no string is made for each: helper-157's 12.8 million empty
    # texts held 11 times the metadata's size)
    empty = "" in tokens
    repeat = _repeated([text for text in tokens if text] if empty else tokens)
    if repeat is not None:
        first = tokens.index(repeat)
        ids = (first, tokens.index(repeat, first + 1))
    elif empty:
        ids = next(((int(text[7:-1]), token_id) for token_id, text in enumerate(tokens)
                    if text.startswith("[EMPTY_") and _names_an_empty(text, tokens)), None)
        repeat = tokens[ids[1]] if ids is not None else None
    if repeat is not None:
        shown = repeat if len(repeat) <= 60 else f"{repeat[:60]}…"  # a hostile file's text may run to megabytes
        raise InputError(meta.path, f"{TOKENS} writes the text {shown!r} twice, as ids {min(ids)} and {max(ids)}: "
                                    f"{cause} asserts every text has one id)")


def _names_an_empty(text: str, tokens: list[str]) -> bool:
    """Whether ``text`` is "[EMPTY_<id>]" for the id of an empty text, which llama.cpp reads as that text."""
    number = text[7:-1]
    # ASCII digits of an id's length: str.isdigit takes '²', which int() refuses, and 5,000 digits are past
    # int()'s limit (helper-198: an internal error that lost the run's other files)
    return text.endswith("]") and number.isascii() and number.isdigit() and len(number) <= 20 and \
        number == str(int(number)) and int(number) < len(tokens) and tokens[int(number)] == ""


SET_CHECK_TOKENS = 300_000  # up to this many tokens (every real vocabulary) a set finds a repeated text fastest


def _repeated(texts: list[str]) -> str | None:
    """A text written twice, None when each is written once. Not one with U+FFFD, which stands for bytes that are
    not UTF-8 (gguf_metadata decodes with "replace"): llama.cpp compares the bytes, which may differ. Up to
    :data:`SET_CHECK_TOKENS` tokens with a set; beyond, by sorting references, which costs 8 bytes a token where a
    set costs 30 to 50 and held a hostile file's 8 million short tokens over the 10 times its metadata's size that
    docs/security.md allows (helper-154), in n log n time."""
    if len(texts) <= SET_CHECK_TOKENS:
        if len(set(texts)) == len(texts):
            return None
        seen: set[str] = set()
        for text in texts:
            if text in seen and "\ufffd" not in text:
                return text
            seen.add(text)
        return None
    ordered = sorted(texts)
    return next((a for a, b in zip(ordered, itertools.islice(ordered, 1, None)) if a == b and "\ufffd" not in a),
                None)


WANTED = frozenset((TOKENS, TOKEN_TYPES, TOKENIZER_MODEL, TOKENIZER_PRE, ARCHITECTURE, *SPECIAL_KEYS.values()))


def _wanted(key: str) -> bool:
    return key in WANTED or _is_template(key)


def _is_template(key: str) -> bool:
    return key == TEMPLATE or key.startswith(TEMPLATE + ".")


def _template_text(meta: GgufMetadata, key: str) -> str | None:
    """A chat template as llama.cpp reads it (``llama_model_chat_template``): from its map of the keys that are no
    arrays, the first copy that is none (``GgufMetadata.scalar_copies``), a number or a bool written as text as
    ``gguf_kv_to_str`` writes it (``5``, ``1.500000``, ``true``); None when every copy is an array (no template)."""
    entry = meta.scalar_copies.get(key) or meta.fields[key]
    if entry.type == ARRAY:
        return None
    if entry.type == STRING:
        return entry.value
    if isinstance(entry.value, bool):
        return "true" if entry.value else "false"
    return f"{entry.value:f}" if isinstance(entry.value, float) else str(entry.value)


def _typed(meta: GgufMetadata, key: str, kind: int, item: int | None = None) -> Any:
    """The value of ``key``, None when missing."""
    entry = meta.fields.get(key)
    if entry is None:
        return None
    if entry.type != kind or (kind == ARRAY and entry.item_type != item):
        found, expected = _type_name(entry.type, entry.item_type), _type_name(kind, item)
        cause = ": llama.cpp cannot load the file (it reads the id as a uint32)" if kind == UINT32 else ""
        raise InputError(meta.path, f"{key} (at byte {entry.offset}) has type {found}, not {expected}{cause}")
    return entry.value


def _type_name(kind: int, item: int | None) -> str:
    name = TYPE_NAMES.get(kind, str(kind))
    return f"{name} of {TYPE_NAMES.get(item, str(item)) if item is not None else '?'}" if kind == ARRAY else name


def _added_tokens(gguf: GgufModel) -> AddedTokens:
    """The tokens llama.cpp reads as one in a prompt: CONTROL and USER_DEFINED ones, and those whose text it makes
    CONTROL whatever type the file writes (LLAMA_CPP_CONTROL_LOOKING: a NORMAL <|eot_id|> is one token, and stops);
    not </s> beside <|tool_response> or an end-of-generation <|plamo:eos|>, which the newest build makes NORMAL."""
    if gguf.types:
        forced = frozenset(LLAMA_CPP_CONTROL_LOOKING)
        # beside <|tool_response> (Gemma 4) or PLaMo's <|plamo:eos|> as its eos, eot or eom, the newest build takes
        # </s> off the end-of-generation list and makes it NORMAL, whatever the file writes (llama-vocab.cpp, "gemma4
        # and plamo have a normal </s> token")
        plamo_eos = gguf.id_of("<|plamo:eos|>")
        normal = {"</s>"} if gguf.id_of("<|tool_response>") is not None or (
            plamo_eos is not None and plamo_eos in gguf.special().values()) else set()
        return AddedTokens(token for token, kind in zip(gguf.tokens, gguf.types)
                           if (kind in (CONTROL, USER_DEFINED) or token in forced) and token not in normal)
    # no token types: only the known turn-ending texts can be recognised as one token
    return AddedTokens(token for token, token_id in gguf.ids_of(END_OF_TURN_TEXTS).items() if token_id is not None)


def _template(gguf: GgufModel, name: str, key: str, source: str, added: AddedTokens,
              limits: Limits) -> GgufTemplate:
    # as common_chat_templates_init passes them: the texts of llama.cpp's bos and eos, "" where it has none
    special = {f"{kind}_token": gguf.tokens[i] if gguf.in_range(i) else ""
               for kind, i in (("bos", gguf.bos), ("eos", gguf.special().get("eos")))}
    try:
        probe = probe_named_template(name, source, special, added, limits)
    except MissingDependency as exc:
        raise exc.at(gguf.path) from None
    tokens = turn_end_run(probe, source)
    ids = gguf.ids_of(tokens + [probe.token] if probe.token is not None else tokens)
    token_id = ids[probe.token] if probe.token is not None else None
    run = tuple(ids[token] for token in tokens)
    problem = probe_problem(probe)
    text = probe.tail.strip()
    if probe.token is None and text and problem is None:
        word = text.split()[0]
        known = known_turn_end(text)
        if known is not None and gguf.id_of(known) is None:  # no token of that text: pieces, which stop nothing
            return GgufTemplate(name, key, source, known, None, (), None, spelled=known)
        word_id = gguf.id_of(word) if token_shaped(word) else None
        if word_id is not None:
            # a NORMAL token (<|assistant_end|> of a SentencePiece conversion): not read as one in a prompt, but the
            # model trained with it as a token emits its id, which stops generation only if it is an eog id
            return GgufTemplate(name, key, source, word, word_id, (word_id,), None)
    return GgufTemplate(name, key, source, probe.token, token_id, run, problem)


def token_shaped(text: str) -> bool:
    """Whether a text reads as a special token's (``<|assistant_end|>``, ``[EOT]``), not as words (``### User``)."""
    return len(text) > 2 and (text[0], text[-1]) in (("<", ">"), ("[", "]")) \
        and not any(c in text[1:-1] for c in "<>[]")


def may_come_from(gguf: GgufModel, model: ResolvedModel) -> bool:
    """Whether the GGUF can have been converted from the folder: the converter writes tokens by id, so each of the
    folder's special added tokens has its id in the GGUF (a folder of another model family is not compared). A
    folder with none (config.json alone) is compared only where its top-level vocab_size is the GGUF's number of
    tokens, which the converter pads its token list to (helper-211: a Qwen GGUF was compared with a Llama 2
    config.json, and told to take its eos)."""
    special = [token for token in model.vocab.added.values() if token.special]
    if not special:
        config = model.files.config
        size = config.data.get("vocab_size") if config is not None and isinstance(config.data, dict) else None
        return not isinstance(size, int) or isinstance(size, bool) or size == len(gguf.tokens)
    return all(gguf.in_range(token.id) and gguf.tokens[token.id] == token.content for token in special)
