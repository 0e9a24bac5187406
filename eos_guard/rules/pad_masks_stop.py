from __future__ import annotations

from ..findings import Finding, Severity
from .batch_base import TAIL, BatchRule, BatchView, Token

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class PadMasksStop(BatchRule):
    """The training batches never supervise a stop id, because the pad token is the stop token.

    ## What it detects
    In the batches given to `eos_guard.check_batch` (or read by `EosGuardCallback` at the start of training),
    no label that the loss uses is a stop id; the stop ids do appear in `input_ids`, every one with label
    -100, and one of them is the pad token id, masked as a collator masks padding by id: every token with
    label -100 (padding left out) is a pad-id token, or some pad-id token with label -100 is followed by a
    trained one. A loss mask that leaves out the terminator together with the tokens after it is EOS025, even
    when the pad token is a stop id. So it is when the only supervised stop ids come right after such a masked
    pad-id token (at most two tokens after it): text that appends another stop id after the terminator
    (`apply_chat_template(...) + tokenizer.eos_token` under Llama 3 with `pad_token = "<|eot_id|>"`; Phi-3's own
    template, which writes `<|end|>\\n<|endoftext|>` at the end, with `pad_token = "<|end|>"`) trains the other
    stop id only after a terminator the model is never trained to write.

    ## Why it breaks generation
    `tokenizer.pad_token = tokenizer.eos_token` is the usual way to give a tokenizer a pad token. A collator
    that finds padding by its id, such as transformers' `DataCollatorForLanguageModeling(mlm=False)`
    (`labels[labels == pad_token_id] = -100`), then masks every real eos as well. The loss never rewards the
    terminator, so the fine-tuned model never learns to emit it and runs to `max_new_tokens`, however well the
    runtime is configured to stop on it.

    ## Example
    ```python
    # <|im_start|> 1, <|im_end|> 2 (the eos, and the pad token), words 5-9; loss on every token
    batch = {
        "input_ids":      [[1, 5, 2, 1, 6, 7, 2], [1, 8, 2, 1, 9, 2, 2]],
        "attention_mask": [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0]],
        "labels":         [[1, 5, -100, 1, 6, 7, -100], [1, 8, -100, 1, 9, -100, -100]],
    }
    findings = eos_guard.check_batch(batch, stop_ids=[2], pad_token_id=2)
    ```
    `findings`, each printed with `print(finding)` (the line `eos-guard --format concise` prints):
    ```
    <batch>:1:3: EOS023 error: no supervised label in the batch is a stop id [2]: the pad token id 2 is a stop id, and every 2 in input_ids has label -100 (pad token == eos: the collator masks every eos), so the model is never trained to stop; give the tokenizer a pad token that is not a stop id [pad-masks-stop]
    ```

    ## Remediation
    Give the tokenizer a pad token that is not a stop id: an unused reserved token, `<|endoftext|>` for ChatML
    models whose terminator is `<|im_end|>`, or a new one (`tokenizer.add_special_tokens({"pad_token":
    "<pad>"})` and `model.resize_token_embeddings(len(tokenizer))`). Or use a collator that masks padding by
    position, not by id (`DataCollatorForSeq2Seq`, TRL's `SFTTrainer` collator, `DataCollatorWithFlattening`).
    """

    code = "EOS023"
    name = "pad-masks-stop"
    severity = Severity.ERROR
    summary = "the training batches never supervise a stop id: the pad token is the stop token"

    def check_batches(self, view: BatchView) -> Iterator[Finding]:
        pad = view.pad_token_id
        masked_pads = [_masked_pad_before(t, pad) for t in view.trained_stops] \
            if view.trained_stops and view.masked_by_pad_id else [None]
        if None not in masked_pads:
            # another stop id appended after the terminator (Llama 3's <|end_of_text|> after a pad <|eot_id|>,
            # Phi-3's <|endoftext|> after a pad <|end|> and "\n"): it is trained, but only after the masked one,
            # which the model is never trained to write
            first = view.trained_stops[0]
            yield self.batch_finding(view, f"every supervised stop id in {view.where()} comes right after a {pad} "
                                           f"with label -100 (at most {TAIL} tokens after it): the pad token id {pad} "
                                           "is a stop id, masked by id (pad token == eos: the collator masks every "
                                           f"eos), so the model is only trained to stop after a {pad}, which it is "
                                           "never trained to write; give the tokenizer a pad token that is not a "
                                           "stop id", Token(first.sequence, masked_pads[0]))  # type: ignore[arg-type]
            return
        if view.never_trained != "pad":
            return
        at = next(t for t in view.masked_stops if t.id == pad)
        yield self.batch_finding(view, f"no supervised label in {view.where()} is a stop id {view.stop_list()}: "
                                       f"the pad token id {pad} is a stop id, and every {pad} in input_ids has "
                                       "label -100 (pad token == eos: the collator masks every eos), so the model "
                                       "is never trained to stop; give the tokenizer a pad token that is not a "
                                       "stop id", at)


def _masked_pad_before(stop: Token, pad: int | None) -> int | None:
    """The index of the last pad-id token with label -100 among the ``TAIL`` + 1 tokens before a trained stop id
    (``<|end|>`` before ``\\n<|endoftext|>``), None when there is none."""
    ids = stop.sequence.ids
    if ids is None:
        return None
    return next((j for j in range(stop.index - 1, max(stop.index - 2 - TAIL, -1), -1)
                 if ids[j] == pad and j not in stop.sequence.supervised_set), None)
