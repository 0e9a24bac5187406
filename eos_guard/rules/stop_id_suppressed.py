from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel, Where
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterator

SUPPRESSING_KEYS = ("suppress_tokens", "begin_suppress_tokens", "bad_words_ids")


class StopIdSuppressed(Rule):
    """A stop id is suppressed or banned by the generation config.

    ## What it detects
    `suppress_tokens`, `begin_suppress_tokens` or `bad_words_ids` (in generation_config.json, or in
    config.json when there is no generation_config.json) contain one of the stop ids.

    ## Why it breaks generation
    Those logits processors set the token's score to minus infinity, so the model can never emit the token
    generation is waiting for and every answer runs to `max_new_tokens`.

    ## Remediation
    Remove the stop ids from `suppress_tokens`, `begin_suppress_tokens` and `bad_words_ids`.
    """

    code = "EOS012"
    name = "stop-id-suppressed"
    severity = Severity.ERROR
    summary = "a stop id is suppressed or banned"

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        stop = model.stop
        if not stop.ids or stop.where is None:
            return
        doc = stop.where.document
        for key in SUPPRESSING_KEYS:
            banned = _single_ids(doc.get((key,)), nested=key == "bad_words_ids")
            for token_id in sorted(banned & set(stop.ids)):
                yield self.finding(model, f"{key} contains the stop id {token_id}, so generation can never stop on it",
                                   Where(doc, (key,)))


def _single_ids(value: Any, nested: bool) -> set[int]:
    if not isinstance(value, list):
        return set()
    if nested:  # bad_words_ids bans sequences; only a one-token sequence bans a stop id outright
        return {v[0] for v in value if isinstance(v, list) and len(v) == 1 and isinstance(v[0], int)}
    return {v for v in value if isinstance(v, int) and not isinstance(v, bool)}
