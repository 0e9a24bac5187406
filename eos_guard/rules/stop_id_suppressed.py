from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from ..runtimes.transformers import banned_ids
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class StopIdSuppressed(Rule):
    """A stop id is suppressed or banned by the generation config.

    ## What it detects
    `suppress_tokens`, or a one-token sequence of `bad_words_ids` (in generation_config.json, or in config.json
    when there is no generation_config.json), holds one of the stop ids. `begin_suppress_tokens` does not count:
    it applies only to the first generated token (Whisper suppresses its eos there so that no answer is empty).

    ## Why it breaks generation
    Those logits processors set the token's score to minus infinity at every step, so the model can never emit
    the token generation is waiting for and every answer runs to `max_new_tokens`. The folder's verdict for
    transformers is then "does not stop" (`eos-guard explain` says why).

    ## Remediation
    Remove the stop ids from `suppress_tokens` and `bad_words_ids`.
    """

    code = "EOS012"
    name = "stop-id-suppressed"
    severity = Severity.ERROR
    summary = "a stop id is suppressed or banned"

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        stop = set(model.stop.ids)
        for token_id, place in banned_ids(model):
            if token_id in stop:
                yield self.finding(model, f"{place.keys[0]} contains the stop id {token_id}, so generation can never "
                                          "stop on it", place)
