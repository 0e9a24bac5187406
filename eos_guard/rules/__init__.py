"""The rules, in code order. Codes are stable and never reused.

``check_batches`` runs the training-data rules (EOS023-EOS026, EOS034) on collated batches: ``eos_guard.check_batch``
for one batch, EosGuardCallback for the first batches of a training run, read as one sample so that one short
batch does not decide alone.
"""

from __future__ import annotations

from ..findings import Finding
from .added_token_id_mismatch import AddedTokenIdMismatch
from .base import Options, Rule
from .config_eos_mismatch import ConfigEosMismatch
from .file_not_read import FileNotRead
from .generation_block_excludes_terminator import GenerationBlockExcludesTerminator
from .genai_config_does_not_stop import GenaiConfigDoesNotStop
from .id_out_of_range import IdOutOfRange
from .invalid_token_id import InvalidTokenId
from .no_stop_ids import NoStopIds
from .pad_is_terminator import PadIsTerminator
from .runtime_does_not_stop import RuntimeDoesNotStop
from .special_tokens_map_override import SpecialTokensMapOverride
from .stop_id_ends_message import StopIdEndsMessage
from .stop_id_suppressed import StopIdSuppressed
from .stop_ids_dropped import StopIdsDropped
from .stop_ids_in_base_model import StopIdsInBaseModel
from .tekken_overrides_template import TekkenOverridesTemplate
from .template_error import TemplateError
from .terminator_not_single_token import TerminatorNotSingleToken
from .terminator_not_special import TerminatorNotSpecial
from .terminator_listed_nowhere import TerminatorListedNowhere
from .terminator_not_stop_id import TerminatorNotStopId
from .token_not_in_vocab import TokenNotInVocab
from .tokenizer_eos_not_stop_id import TokenizerEosNotStopId
from .tool_call_not_stop_id import ToolCallNotStopId

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping

    from .batch_base import BatchRule, BatchView

# The rules a model folder runs, in code order, imported with this package. The GGUF and training-data rules are
# imported when a run first needs them (gguf_rules, batch_rules): a check of folders imports neither.
FOLDER_RULES: tuple[Rule, ...] = (
    TerminatorNotStopId(), TokenizerEosNotStopId(), ConfigEosMismatch(), NoStopIds(), TokenNotInVocab(),
    IdOutOfRange(), InvalidTokenId(), SpecialTokensMapOverride(), AddedTokenIdMismatch(), TerminatorNotSpecial(),
    TerminatorNotSingleToken(), StopIdSuppressed(), PadIsTerminator(), TemplateError(), StopIdsDropped(),
    RuntimeDoesNotStop(), TerminatorListedNowhere(), FileNotRead(), StopIdsInBaseModel(), GenaiConfigDoesNotStop(),
    ToolCallNotStopId(), TekkenOverridesTemplate(), GenerationBlockExcludesTerminator(), StopIdEndsMessage(),
)
_loaded: dict[str, tuple[Rule, ...]] = {}


def gguf_rules() -> tuple[Rule, ...]:
    """The rules a GGUF file runs (EOS019-EOS022, EOS028), in code order."""
    if "gguf" not in _loaded:
        from .gguf_eos_invalid import GgufEosInvalid
        from .gguf_eos_not_control import GgufEosNotControl
        from .gguf_folder_mismatch import GgufFolderMismatch
        from .gguf_template_error import GgufTemplateError
        from .gguf_terminator_not_eog import GgufTerminatorNotEog

        _loaded["gguf"] = (GgufTerminatorNotEog(), GgufEosInvalid(), GgufEosNotControl(), GgufFolderMismatch(),
                           GgufTemplateError())
    return _loaded["gguf"]


def batch_rules() -> tuple[BatchRule, ...]:
    """The training-data rules (EOS023-EOS026, EOS034), in code order: they find nothing in a model folder."""
    if "batch" not in _loaded:
        from .answers_end_without_stop import AnswersEndWithoutStop
        from .loss_mask_excludes_stop import LossMaskExcludesStop
        from .pad_masks_stop import PadMasksStop
        from .sequences_end_without_stop import SequencesEndWithoutStop
        from .stop_not_in_data import StopNotInData

        _loaded["batch"] = (PadMasksStop(), StopNotInData(), LossMaskExcludesStop(), SequencesEndWithoutStop(),
                            AnswersEndWithoutStop())
    return _loaded["batch"]  # type: ignore[return-value]


def _every_rule() -> dict[str, Any]:
    """This module's globals, with ``ALL_RULES`` (every rule, in code order), ``BATCH_RULES``, ``BY_CODE`` and
    ``BY_NAME`` set the first time: they import the GGUF and training-data rules."""
    names = globals()
    if "ALL_RULES" not in names:
        every = tuple(sorted((*FOLDER_RULES, *gguf_rules(), *batch_rules()), key=lambda rule: rule.code))
        names.update(ALL_RULES=every, BATCH_RULES=batch_rules(), BY_CODE={rule.code: rule for rule in every},
                     BY_NAME={rule.name: rule for rule in every})
    return names


def __getattr__(name: str) -> Any:  # PEP 562: asked only for names not set yet
    if name in ("ALL_RULES", "BATCH_RULES", "BY_CODE", "BY_NAME"):
        return _every_rule()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def lookup(code_or_name: str) -> Rule:
    """A rule by code (``EOS001``) or name (``terminator-not-stop-id``); unknown ones raise KeyError."""
    every = _every_rule()
    rule = every["BY_CODE"].get(code_or_name.upper()) or every["BY_NAME"].get(code_or_name)
    if rule is None:
        raise KeyError(code_or_name)
    return rule


def matching(entry: str) -> list[Rule]:
    """The rules a code, a name, a code prefix (``EOS01``: EOS010 to EOS019) or ``ALL`` stands for, in code order,
    as ``--select`` and ``eos-guard rule`` read them; [] for none."""
    every = _every_rule()["ALL_RULES"]
    if entry.upper() == "ALL":
        return list(every)
    try:
        return [lookup(entry)]
    except KeyError:
        pass
    prefix = entry.upper()
    return [rule for rule in every if rule.code.startswith(prefix)] if prefix.startswith("EOS") else []


def check_batches(batches: Iterable[Mapping[str, Any]], stop_ids: Iterable[int],
                  pad_token_id: int | None = None, *, packing: str | bool | None = None,
                  max_length: int | None = None, truncation: bool = True,
                  answer_opening: Iterable[int] | None = None,
                  turn_openings: Iterable[int] | None = None, encoder_decoder: bool | None = None,
                  answer_closing: Iterable[int] | None = None) -> list[Finding]:
    """The training-data findings for collated batches, read as one sample (``rules/batch_base.py`` says how a
    batch is read, and what ``packing``, ``max_length``, ``truncation``, ``answer_opening``, ``turn_openings``,
    ``encoder_decoder`` and ``answer_closing`` tell); locations
    name ``<batch>``, or ``<batch N>`` (1-based) for several. Raises :class:`eos_guard.rules.batch_base.BatchError`
    for a batch it cannot read."""
    from .batch_base import read_batches

    return batch_findings(read_batches(batches, stop_ids, pad_token_id, packing, max_length, truncation,
                                       answer_opening, turn_openings, encoder_decoder, answer_closing))


def batch_findings(view: BatchView) -> list[Finding]:
    """The training-data findings for batches already read (``rules.batch_base.read_batches``)."""
    return [finding for rule in batch_rules() for finding in rule.run(view, Options())]


def suggest(code_or_name: str) -> str | None:
    """The rule code or name closest to a mistyped one (``EOS01`` -> ``EOS010``), or None."""
    import difflib
    import os

    text = code_or_name.strip()
    every = _every_rule()
    if len(text) >= 3:
        prefixed = [key for key in (*every["BY_CODE"], *every["BY_NAME"]) if key.startswith(text.upper()) or key.startswith(text)]
        if prefixed:
            return prefixed[0]
    upper = text.upper()
    if upper.startswith("EOS") and len(upper) > 3:
        number = upper[3:]
        # EOS1 -> EOS001, EOS0017 -> EOS017 (ASCII digits only: int() reads '²' as none, and 5,000 digits raise)
        if number.isascii() and number.isdigit() and len(number) <= 6 and f"EOS{int(number):03d}" in every["BY_CODE"]:
            return f"EOS{int(number):03d}"
        # a code mistyped after its first digits (EOS01X, EOS0199): the first of the codes that share most of it
        shared = max(len(os.path.commonprefix([upper, code])) for code in every["BY_CODE"])
        if shared > len("EOS"):
            return min(code for code in every["BY_CODE"] if code.startswith(upper[:shared]))
    codes = difflib.get_close_matches(upper, list(every["BY_CODE"]), n=1, cutoff=0.6)
    names = difflib.get_close_matches(text.lower(), list(_every_rule()["BY_NAME"]), n=1, cutoff=0.6)
    if text.upper().startswith("EOS"):
        return (codes or names or [None])[0]
    return (names or codes or [None])[0]


__all__ = ["ALL_RULES", "BATCH_RULES", "BY_CODE", "FOLDER_RULES", "Rule", "batch_findings", "batch_rules",
           "check_batches", "gguf_rules", "lookup", "suggest"]
