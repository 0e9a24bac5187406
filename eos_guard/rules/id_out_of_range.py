from __future__ import annotations

from ..findings import Finding, Severity, quoted_list
from ..resolve import ResolvedModel
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class IdOutOfRange(Rule):
    """A stop or eos id is outside the model's vocabulary.

    ## What it detects
    An id in `eos_token_id` (generation_config.json or config.json), the tokenizer's eos id, or the
    terminator's id is not below `vocab_size` of the text model (config.json's `decoder`, `generator` or
    `text_config` section, as `get_text_config(decoder=True)` picks it, else its top level). The ids of one
    `eos_token_id` list that are out of range are one finding (the first 16 quoted). Not for a model that writes
    audio codes (MusicGen, Bark, Parler-TTS, CSM, Dia), whose `vocab_size` counts codebook entries (CSM's 2051
    beside a Llama 3.2 tokenizer).

    ## Why it breaks generation
    The model's output layer has `vocab_size` rows (Inkling's cut to `unpadded_vocab_size`, which its logits are
    sliced to): it can never emit a larger id, so a stop id out of range
    never fires, and a tokenizer token out of range crashes the embedding lookup.

    ## Remediation
    Use the id the tokenizer gives the token, or resize the embeddings and update `vocab_size`.
    """

    code = "EOS006"
    name = "id-out-of-range"
    severity = Severity.ERROR
    summary = "an id is not below the model's vocab_size"

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        size, named = model.vocab_size, model.vocab_size_name
        if size is None:
            return
        reported = set()
        for stop in (model.stop, model.config_eos):
            if stop is None or stop.where is None or stop.where in reported:
                continue
            reported.add(stop.where)
            outside = [token_id for token_id in stop.ids if token_id >= size]
            if len(outside) == 1:
                yield self.finding(model, f"eos_token_id {outside[0]} is not below {named} {size} "
                                          f"({stop.where.describe()})", stop.where)
            elif outside:  # one finding per list: a list of 500,000 ids is one mistake, not 348,000
                yield self.finding(model, f"eos_token_id {quoted_list(outside)} are not below {named} {size} "
                                          f"({stop.where.describe()})", stop.where)
        eos = model.tokenizer_eos
        if eos is not None and eos.id is not None and eos.in_vocabulary and eos.id >= size and eos.where:
            yield self.finding(model, f"the tokenizer's eos '{eos.token}' has id {eos.id}, not below {named} "
                                      f"{size}", eos.where)
        for terminator in model.terminators:
            if terminator.id is not None and terminator.id >= size and \
                    (eos is None or terminator.token != eos.token):
                yield self.finding(model, f"'{terminator.token}', which ends assistant turns, has id "
                                          f"{terminator.id}, not below {named} {size}", terminator.template)
