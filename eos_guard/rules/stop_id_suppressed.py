from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from ..runtimes.transformers import banned_ids
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class StopIdSuppressed(Rule):
    """A stop id is suppressed by the generation config.

    ## What it detects
    `suppress_tokens` holds one of the stop ids: generation_config.json's, or without that file config.json's
    where its config class keeps the key (Whisper's; transformers 5 drops it for other model types); or
    generation_config.json's `sequence_bias` gives one, as a sequence of one token, a bias of minus infinity
    (`[[[151645], -Infinity]]`; a finite bias only makes it less likely).
    `begin_suppress_tokens` does not count: it applies only to the first generated token (Whisper suppresses its
    eos there so that no answer is empty); nor does `bad_words_ids`, whose processor drops every one-token
    sequence that is a stop id (transformers 5.24 `NoBadWordsLogitsProcessor`).

    It fires, too, when `suppress_tokens` holds the token chat answers end with (the template's terminator) while
    it is no stop id yet: EOS001 then asks for the id among the stop ids, and adding it (`--fix` does) is not
    enough, since the model can never emit it. unsloth writes the rows it pads the embedding with into
    `suppress_tokens`; a token added to the tokenizer later (LLaMA-Factory's `<|im_end|>` for a ChatML template)
    can land in one of those rows.

    ## Why it breaks generation
    `SuppressTokensLogitsProcessor` (or `SequenceBiasLogitsProcessor`, which takes no stop id out of
    `sequence_bias`) sets the token's score to minus infinity at every step, so the model can
    never emit the token generation is waiting for and every answer runs to `max_new_tokens`. The folder's
    verdict for transformers is then "does not stop" (`eos-guard explain` says why).

    ## Remediation
    Remove the stop ids, and the terminator, from `suppress_tokens`, and their entries from `sequence_bias`.
    """

    code = "EOS012"
    name = "stop-id-suppressed"
    severity = Severity.ERROR
    summary = "a stop id is suppressed"
    needs_generation = True
    reads_generation_configs = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        stop = set(model.stop.ids)
        ends = {t.id: t.token for t in model.terminators if t.id is not None}
        for token_id, place in banned_ids(model):
            if token_id in stop:
                yield self.finding(model, f"{_named(place.keys)} the stop id {token_id}, so generation can "
                                          "never stop on it", place)
            elif token_id in ends:
                yield self.finding(model, f"{_named(place.keys)} {token_id} '{ends[token_id]}', the token chat "
                                          "answers end with, so the model can never write it: making it a stop id "
                                          f"is not enough; remove it from {place.keys[0]}", place)


def _named(keys: tuple) -> str:
    """How the key bans the id: ``suppress_tokens contains``, ``sequence_bias[0] gives minus infinity to``."""
    return f"{keys[0]}[{keys[1]}] gives minus infinity to" if len(keys) > 1 else f"{keys[0]} contains"
