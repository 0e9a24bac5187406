from __future__ import annotations

from ..findings import Finding, Severity
from ..jsonspan import dotted
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
    as `from_pretrained` builds the generation config from it (its top level, else the first truthy of `decoder`,
    `generator`, `text_config`); or `sequence_bias` gives one, as a sequence of one token, a bias of minus
    infinity (`[[[151645], -Infinity]]`) or -10,000 or lower (its score then ends more than 104 below the highest,
    where float32's softmax gives exactly 0; the last entry for an id counts, as transformers reads the list).
    A model that generates with a model inside it (Qwen2.5-Omni's thinker) runs that model's generation config,
    made from its config object, which keeps neither key.
    `begin_suppress_tokens` does not count: it applies only to the first generated token (Whisper suppresses its
    eos there so that no answer is empty); nor does `bad_words_ids`, whose processor drops every one-token
    sequence that is a stop id (transformers 5.24 `NoBadWordsLogitsProcessor`).

    It fires, too, when `suppress_tokens` holds the token chat answers end with (the template's terminator) while
    it is no stop id yet: EOS001 then asks for the id among the stop ids, and adding it (`--fix` does) is not
    enough, since the model can never emit it. unsloth writes the rows it pads the embedding with into
    `suppress_tokens`; a token added to the tokenizer later (LLaMA-Factory's `<|im_end|>` for a ChatML template)
    can land in one of those rows.

    ## Why it breaks generation
    `SuppressTokensLogitsProcessor` sets the token's score to minus infinity at every step (and
    `SequenceBiasLogitsProcessor`, which takes no stop id out of `sequence_bias`, adds the bias), so the model can
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
            key, does = _banning(place.keys)
            if token_id in stop:
                yield self.finding(model, f"{key} {does} the stop id {token_id}, so generation can never stop on it",
                                   place)
            elif token_id in ends:
                yield self.finding(model, f"{key} {does} {token_id} '{ends[token_id]}', the token chat answers end "
                                          "with, so the model can never write it: making it a stop id is not enough; "
                                          f"remove it from {key}", place)


def _banning(keys: tuple) -> tuple[str, str]:
    """The key that bans an id, and how: ``text_config.suppress_tokens`` contains it, ``sequence_bias[0]`` (an
    entry) biases it out."""
    if isinstance(keys[-1], int):
        return f"{dotted(keys[:-1])}[{keys[-1]}]", "biases out"
    return dotted(keys), "contains"
