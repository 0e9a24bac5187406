from __future__ import annotations

from ..findings import Finding, Severity
from .batch_base import BatchRule, BatchView

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class LossMaskExcludesStop(BatchRule):
    """The training batches contain the terminator, but only outside the supervised span.

    ## What it detects
    In the batches given to `eos_guard.check_batch` (or read by `EosGuardCallback`), no label that the loss
    uses is a stop id, and a stop id with label -100 closes a supervised span (it follows the span's last
    token, or comes at most two tokens later), and the masked stop ids are not explained by a pad token that
    is a stop id and masked by id (that case is EOS023): a mask that leaves out the terminator leaves out the
    tokens after it too (ChatML's `\\n`, the next prompt).

    When that stop id is also the pad id, the labels cannot tell two causes apart: a mask that stops short of
    the terminator, and a mask that keeps it but leaves out the `\\n` after it under a collator that masks the
    pad id (`labels[labels == tokenizer.pad_token_id] = -100`) make the same batch. The message then names
    both fixes.

    ## Why it breaks generation
    Assistant-only or completion-only loss masks everything but the answers. When the mask ends before the
    terminator (a chat template whose `{% generation %}` block closes before `<|im_end|>`, a response
    template that cuts the answer's end, a custom mask that stops at the last word), the model is trained on
    every answer but never on ending it, and runs to `max_new_tokens`.

    ## Example
    ```python
    # <|im_start|> 1, <|im_end|> 2 (the stop id), "\\n" 3, pad 0; loss on the answer words 6 and 7 only
    batch = {
        "input_ids":      [[1, 5, 2, 3, 1, 6, 7, 2, 3]],
        "attention_mask": [[1, 1, 1, 1, 1, 1, 1, 1, 1]],
        "labels":         [[-100, -100, -100, -100, -100, 6, 7, -100, -100]],
    }
    findings = eos_guard.check_batch(batch, stop_ids=[2], pad_token_id=0)
    ```
    `findings`, each printed with `print(finding)` (the line `eos-guard --format concise` prints):
    ```
    <batch>:1:8: EOS025 error: no supervised label in the batch is a stop id [2]: 2 follows the supervised tokens with label -100 (the loss mask excludes the terminator), so the model is never trained to stop; put the terminator inside the supervised span [loss-mask-excludes-stop]
    ```

    ## Remediation
    Put the terminator inside the supervised span: in the chat template, close `{% endgeneration %}` after the
    terminator (`{% generation %}{{ content }}<|im_end|>{% endgeneration %}`); with prompt-completion data,
    end each completion with the terminator; in a custom mask, keep the answer's last token and the one after
    it. If the mask already keeps it and the pad token is the terminator, give the tokenizer a pad token that
    is not a stop id (EOS023's remediation).
    """

    code = "EOS025"
    name = "loss-mask-excludes-stop"
    severity = Severity.ERROR
    summary = "the training batches contain a stop id only outside the supervised span"

    def check_batches(self, view: BatchView) -> Iterator[Finding]:
        if view.never_trained != "mask":
            return
        at = view.stops_after_answers[0]  # the terminator the mask should have kept
        pad = view.pad_token_id
        # A mask that keeps the terminator and leaves out the "\n" after it, under a collator that masks the pad
        # id, makes the very labels of a mask that stops short of the terminator: name both fixes.
        by_id = "" if at.id != pad else (f"; the pad token id {pad} is this stop id: if the loss mask keeps it, "
                                         "the collator masks it by id (pad token == eos); then give the tokenizer "
                                         "a pad token that is not a stop id")
        yield self.batch_finding(view, f"no supervised label in {view.where()} is a stop id {view.stop_list()}: "
                                       f"{at.id} follows the supervised tokens with label -100 (the loss mask "
                                       "excludes the terminator), so the model is never trained to stop; put the "
                                       f"terminator inside the supervised span{by_id}", at)
