from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from .base import (Options, Rule, add_to_stop_ids, describe_ids, message_end_eos, text_token_stops,
                   where_stop_ids_are)

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class TokenizerEosNotStopId(Rule):
    """The tokenizer's eos token is not among the stop ids.

    ## What it detects
    `tokenizer.eos_token_id` (tokenizer_config.json's `eos_token`, or special_tokens_map.json's where
    transformers reads it) is not in the `eos_token_id` that `generate()` stops on.

    Severity: **error** when the folder has no chat template (or no template ends its turns with a token whose
    id the files give), since the tokenizer's eos is then the only end-of-text the model knows; **warning** when
    a chat template ends turns with a token of known id, which EOS001 checks against the stop ids (the eos
    itself, as in a ChatML fine-tune whose eos is `<|im_end|>`, or another token), and when every stop id is a
    plain text token of the model vocabulary, not an added token: chosen on purpose, as BLIP-2 OPT's `text_config`
    names 50118 (`Ċ`, a newline), the end its captions were trained with.

    ## Why it breaks generation
    Training code appends `tokenizer.eos_token` to every sample, so that is what the model learns to emit.
    vLLM, SGLang and TGI stop on it; transformers does not. A model that emits it keeps generating in
    `pipeline()`.

    ## Remediation
    Add the tokenizer's eos id to `eos_token_id` (`[128001, 128009]`), or fix `eos_token` in
    tokenizer_config.json if it names the wrong token. Where the eos is harmony's `<|end|>` in a vocabulary that
    also holds `<|return|>` and `<|call|>` (gpt-oss), it also ends the reasoning before every answer, and a stop id
    on it would end generation there: the finding points at `eos_token`, which is to be `<|return|>`, and `--fix`
    adds nothing (EOS001).
    """

    code = "EOS002"
    name = "tokenizer-eos-not-stop-id"
    severity = Severity.ERROR
    summary = "the tokenizer's eos is not among the stop ids"
    needs_generation = True
    reads_generation_configs = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        eos, stop = model.tokenizer_eos, model.stop
        if eos is None or eos.id is None or not eos.in_vocabulary or not stop.ids or stop.where is None:
            return
        if eos.id in stop.ids:
            return
        chat_ends_elsewhere = any(t.id is not None for t in model.terminators)
        text_stops = text_token_stops(model, stop.ids)
        why = "the stop ids are text tokens of the vocabulary, which a model trained to end its output with that " \
            "text stops on (BLIP-2 OPT's captions end with a newline); if it was not, " if text_stops else ""
        add = add_to_stop_ids(model, f"add {eos.id}")
        place = stop.where
        if model.turn_end_instead(eos.token):  # harmony's message end: the eos is what to change
            why, add, place = "", message_end_eos(model, eos), eos.where or stop.where
        yield self.finding(
            model,
            f"the tokenizer's eos '{eos.token}' ({eos.id}) is not among the stop ids "
            f"{describe_ids(stop.ids, model)} ({where_stop_ids_are(model)}); {why}{add}",
            place, Severity.WARNING if chat_ends_elsewhere or text_stops else Severity.ERROR)
