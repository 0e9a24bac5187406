"""llama.cpp: the stop set of a GGUF that ``convert_hf_to_gguf.py`` writes from the folder, at run time.

The GGUF's eos/eot/eom are what ``convert_hf_to_gguf.py`` writes (llama_cpp_converter.py).

Runtime source: ``src/llama-vocab.cpp`` ``llama_vocab::impl::load``, the EOG section. The end-of-generation
set is the GGUF eos and eot, plus every token whose text is in the build's list (``known_tokens``);
``<|end|>`` is dropped when ``<|return|>`` and ``<|call|>`` (or ``<|calls|>`` and ``<|flush|>``) are there too
(gpt-oss, solar-open), and ``</s>`` when ``<|tool_response>`` is. What changed between builds (checked with the
compiled libllama of llama-cpp-py-sync b10335, b10603, b11067, b11413 and b11739, vocab-only GGUFs; b11548 from the
strings of its libllama, b11549 from its source as xllamacpp 2026.10.11549 vendors it, and its libllama as the
test oracle: tests/test_llama_cpp_differential.py):

- ≥ b11739 (commit 0ce8cd114, 2026-10): the text list adds ``<|eot|>`` (Llama 4); b11549's source does not have it.
- ≥ b11548 (commit 781dbc5ac): the text list adds ``<|ifm|im_end|>`` (K2 Horizon; in b11549's source the text
  appears in that list only, and b11548's libllama holds it).
- ≥ b11413 (vendored in llama-cpp-python 0.3.36 = commit 0c1e57098): ``</s>`` is also dropped when
  ``<|plamo:eos|>`` is end-of-generation (PLaMo vocabularies).
- ≤ b11067 (commit 00ad355e009e; and b10488, which Ollama 0.33 pins): neither.
  Builds between b11068 and b11412, between b11414 and b11547, and between b11550 and b11738 were not
  checked; they are given the older rule.

Before those, the set holds the fill-in-the-middle pad, repo and file-separator tokens llama.cpp finds by text
(``known_tokens.LLAMA_CPP_FIM_*``: Qwen2.5's ``<|fim_pad|>``, ``<|repo_name|>``, ``<|file_sep|>``; Granite's
``<fim_pad>``, ``<reponame>``; from b11548 PLaMo's ``<|plamo:file_separator|>``), one of each kind: llama.cpp takes
the first it meets in its ``token_to_id`` hash map, eos-guard the first of the list (a vocabulary with two texts of
one kind is not told apart). They end no chat answer, so no verdict depends on them; the ids are shown because
llama.cpp stops on them.

Not modelled: the default eos id (2 or 11) used when the GGUF has none.
"""
from __future__ import annotations

from ..known_tokens import (LLAMA_CPP_EOG_TEXTS, LLAMA_CPP_EOG_TEXTS_B11067, LLAMA_CPP_EOG_TEXTS_B11548,
                            LLAMA_CPP_FIM_KINDS, LLAMA_CPP_FIM_PAD_TEXTS, LLAMA_CPP_FIM_REP_TEXTS,
                            LLAMA_CPP_FIM_SEP_TEXTS, LLAMA_CPP_FIM_SEP_TEXTS_B11067, LLAMA_CPP_FIM_TEXTS,
                            MESSAGE_END, PLAMO_EOS, turn_end_instead)
from ..records import record
from ..resolve import ResolvedModel
from .base import Release, StopSet, config_eos_place, parse_version, pick_release, show, tokenizer_eos_place, unique
from .llama_cpp_converter import converted, describe_special

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Callable

    from ..gguf_check import GgufModel
    from ..resolve import Where


@record(frozen=True)
class EogRule:
    """What a llama.cpp build adds to the GGUF's eos/eot/eom: the texts that stop, the PLaMo ``</s>`` rule, and the
    texts of the fill-in-the-middle pad, repo and file-separator tokens (one of each kind stops)."""

    texts: tuple[str, ...]
    plamo_drops_s: bool
    fim: tuple[tuple[str, ...], ...]


FIM_NEWEST = (LLAMA_CPP_FIM_PAD_TEXTS, LLAMA_CPP_FIM_REP_TEXTS, LLAMA_CPP_FIM_SEP_TEXTS)
FIM_B11067 = (LLAMA_CPP_FIM_PAD_TEXTS, LLAMA_CPP_FIM_REP_TEXTS, LLAMA_CPP_FIM_SEP_TEXTS_B11067)
EOG_NEWEST = EogRule(LLAMA_CPP_EOG_TEXTS, True, FIM_NEWEST)
EOG_B11548 = EogRule(LLAMA_CPP_EOG_TEXTS_B11548, True, FIM_NEWEST)
EOG_B11413 = EogRule(LLAMA_CPP_EOG_TEXTS_B11067, True, FIM_B11067)
EOG_B11067 = EogRule(LLAMA_CPP_EOG_TEXTS_B11067, False, FIM_B11067)

_VOCAB = "ggml-org/llama.cpp src/llama-vocab.cpp llama_vocab::impl::load"
RELEASES = (
    Release("llama.cpp ≥ b11739", (11739,), f"{_VOCAB} (b11739, 0ce8cd114)"),
    Release("llama.cpp b11548 – b11738", (11548,), f"{_VOCAB} (b11548, 781dbc5ac; b11549 as xllamacpp 2026.10.11549 "
                                                   "vendors it)"),
    Release("llama.cpp b11413 – b11547", (11413,), f"{_VOCAB} (b11413; 0c1e57098)"),
    Release("llama.cpp ≤ b11412", None, f"{_VOCAB} (00ad355e009e; b10335, b10488, b10603, b11067)"),
)
RULES = dict(zip(RELEASES, (EOG_NEWEST, EOG_B11548, EOG_B11413, EOG_B11067)))
# every text some build's rule looks up, so a folder's vocabulary is asked about each once
EOG_LOOKUPS = tuple(dict.fromkeys(LLAMA_CPP_EOG_TEXTS + LLAMA_CPP_EOG_TEXTS_B11548 + LLAMA_CPP_EOG_TEXTS_B11067
                                  + (PLAMO_EOS,) + LLAMA_CPP_FIM_TEXTS))


def end_of_generation(model: ResolvedModel, special: dict[str, int],
                      rule: EogRule = EOG_NEWEST) -> tuple[int, ...]:
    """llama.cpp's ``special_eog_ids`` for a GGUF with these special ids and this folder's vocabulary."""
    return end_of_generation_ids(_id_of(model), special, rule)


def end_of_generation_ids(id_of: Callable[[str], int | None], special: dict[str, int],
                          rule: EogRule = EOG_NEWEST) -> tuple[int, ...]:
    """llama.cpp's ``special_eog_ids`` for a vocabulary (token text -> id) and the GGUF's eos/eot/eom ids."""
    by_text = {text: id_of(text) for text in rule.texts + (PLAMO_EOS,)}
    present = {text for text, token_id in by_text.items() if token_id is not None}
    fim = fill_in_the_middle_ids(id_of, rule, special)
    ids = unique([by_text[t] for t in rule.texts if t in present]
                 + [special.get("eos"), special.get("eot"), special.get("eom")] + fim)
    if MESSAGE_END in present and turn_end_instead(MESSAGE_END, present.__contains__) is not None:
        ids = tuple(i for i in ids if i != by_text[MESSAGE_END])
    if "</s>" in present and ("<|tool_response>" in present
                              or (rule.plamo_drops_s and by_text[PLAMO_EOS] in ids)):
        ids = tuple(i for i in ids if i != by_text["</s>"])
    return ids


def fill_in_the_middle_ids(id_of: Callable[[str], int | None], rule: EogRule = EOG_NEWEST,
                           special: Mapping[str, int] | None = None) -> list[int]:
    """The pad, repo and file-separator tokens: of each kind, the id the GGUF names for it
    (``tokenizer.ggml.fim_pad_token_id``...; llama.cpp then looks for none by text), else the first of the kind's
    texts the vocabulary has."""
    given = special or {}
    found = (given.get(kind, next((token_id for token_id in map(id_of, texts) if token_id is not None), None))
             for kind, texts in zip(LLAMA_CPP_FIM_KINDS, rule.fim))
    return [token_id for token_id in found if token_id is not None]


def texts_that_stop(model: ResolvedModel, rule: EogRule = EOG_NEWEST) -> str:
    """What the GGUF's own ids are joined with, for ``why``: the end-of-generation texts, and the fill-in-the-middle
    tokens where the vocabulary has some."""
    fim = " and fill-in-the-middle tokens" if fill_in_the_middle_ids(_id_of(model), rule) else ""
    return f"end-of-generation texts{fim}"


def _id_of(model: ResolvedModel) -> Callable[[str], int | None]:
    """The folder's vocabulary as llama.cpp's rules ask it, every text of :data:`EOG_LOOKUPS` looked up once."""
    return model.vocab.ids_of(EOG_LOOKUPS).__getitem__


def gguf_release(versions: Mapping[str, str] | None = None) -> Release:
    """The llama.cpp release line a GGUF is judged by: the one ``runtime-versions`` pins, else the newest."""
    pin = (versions or {}).get("llama.cpp")
    return pick_release(RELEASES, parse_version(pin) if pin is not None else None)


def gguf_end_of_generation(gguf: GgufModel, replace: dict[str, int] | None = None) -> tuple[int, ...]:
    """llama.cpp's end-of-generation ids for a GGUF file, by the rule of its release line (``gguf.eog_release``,
    else the newest); ``replace`` swaps in other special ids, as a repair would."""
    return end_of_generation_ids(gguf.ids_of(EOG_LOOKUPS).__getitem__, gguf.special(replace),
                                 RULES[gguf.eog_release or RELEASES[0]])


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    (refused, fix), (special, source) = converted(model)
    if refused:
        return StopSet("llama.cpp", (), refused, fix, None, unknown=refused)
    ids = end_of_generation(model, special, RULES[release])
    why = f"{describe_special(special, source)} ∪ known {texts_that_stop(model, RULES[release])} → {show(ids)}"
    return StopSet("llama.cpp", ids, why, *converter_fix(model))


FIX = ("set tokenizer_config.json eos_token to the terminator before converting; for a converted GGUF pass "
       "--override-kv tokenizer.ggml.eos_token_id=int:ID")
# Without tokenizer.json gguf-py's SpecialVocab never reads eos_token (it looks it up in tokenizer.json's added_tokens):
# the eos is config.json's eos_token_id, and only an int (_set_special_token skips a list).
FIX_WITHOUT_TOKENIZER_JSON = (
    "set config.json eos_token_id to the terminator's id, a single int, before converting (without tokenizer.json "
    "the converter reads the eos there, not tokenizer_config.json's eos_token, and skips a list); for a converted "
    "GGUF pass --override-kv tokenizer.ggml.eos_token_id=int:ID")


def converter_fix(model: ResolvedModel) -> tuple[str, Where | None]:
    """What to change so the converter writes the terminator as the eos, and where: tokenizer_config.json's
    eos_token, or config.json's eos_token_id in a folder without tokenizer.json."""
    if model.files.tokenizer is not None:
        return FIX, tokenizer_eos_place(model)
    return FIX_WITHOUT_TOKENIZER_JSON, config_eos_place(model) or tokenizer_eos_place(model)
