from __future__ import annotations

from ..findings import Finding, Severity
from .batch_base import BatchRule, BatchView, Token, last_span

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class StopNotInData(BatchRule):
    """The training batches never end a supervised span with a stop id: the formatted text lacks the terminator.

    ## What it detects
    In the batches given to `eos_guard.check_batch` (or read by `EosGuardCallback`), no label that the loss
    uses is a stop id, and no stop id closes a supervised span: none appears in `input_ids` (padding left
    out), or only in unsupervised parts such as the prompts; and not every sequence was cut at `max_length`
    (each as long as the longest, or as `max_length` when `check_batch` is given it, and supervised to its last
    token, in full rows, rows padded after truncation or packed sequences: EOS026). Batches that contain no
    stop id must show where their sequences end (padding, packed sequences, a loss mask, or rows of different
    lengths, also in batches of one row each, two or more shorter than the longest), open as examples
    of one format do, or be said to hold examples (`packing=False` or `"bfd"`, as `EosGuardCallback` reads
    from TRL's `SFTConfig`): chunks of concatenated pretraining text, which show no sequence end, are not
    reported.

    ## Why it breaks generation
    The model learns what the formatted text shows it. A formatting function that joins prompt and answer
    without the chat template's terminator or the tokenizer's eos (GPT-2's tokenizer, for one, adds no eos
    when it encodes) never shows the model an end, so the fine-tuned model never learns to emit one and runs
    to `max_new_tokens`.

    ## Example
    ```python
    # stop id 2 (the eos), pad token 0; the texts end with their last word
    batch = {
        "input_ids":      [[1, 5, 6, 7], [1, 8, 9, 0]],
        "attention_mask": [[1, 1, 1, 1], [1, 1, 1, 0]],
        "labels":         [[1, 5, 6, 7], [1, 8, 9, -100]],
    }
    findings = eos_guard.check_batch(batch, stop_ids=[2], pad_token_id=0)
    ```
    `findings`, each printed with `print(finding)` (the line `eos-guard --format concise` prints):
    ```
    <batch>:1:4: EOS024 error: no supervised label in the batch is a stop id [2], and no stop id appears in input_ids: the formatted text never contains the terminator, so the model is never trained to stop; append the terminator (the chat template's, or tokenizer.eos_token) to every example [stop-not-in-data]
    ```

    ## Remediation
    Append the terminator to every example: format conversations with `tokenizer.apply_chat_template` (it
    writes the template's terminator), or add `tokenizer.eos_token` to the end of each text before
    tokenizing (TRL's `SFTTrainer` does this for plain-text and prompt-completion datasets). When the pad token
    is a stop id, the message adds that texts which do end with it look padded to a collator that masks by pad
    id (`attention_mask = input_ids.ne(pad_token_id)`, as Stanford Alpaca's): the last terminator of a
    single-turn row is then read as padding, and the fix is a pad token that is no stop id.
    """

    code = "EOS024"
    name = "stop-not-in-data"
    severity = Severity.ERROR
    summary = "no supervised span in the training batches ends with a stop id"

    def check_batches(self, view: BatchView) -> Iterator[Finding]:
        if view.never_trained != "absent":
            return
        sequence = next(s for s in view.sequences if s.supervised)
        at = Token(sequence, last_span(sequence)[-1])
        if view.masked_stops:
            seen = "stop ids appear only in unsupervised parts (prompts), never after a supervised span: the " \
                   "formatted answers never end with the terminator"
        else:
            where = "input_ids" if sequence.ids is not None else "the labels"
            seen = f"no stop id appears in {where}: the formatted text never contains the terminator"
        # a text that does end with the pad token, a stop id, looks padded there when the collator masks by pad id
        # (Alpaca's attention_mask = input_ids.ne(pad_token_id)): appending the terminator again changes nothing
        hidden = f"; if the texts do end with {view.pad_token_id}, the pad token, the attention mask reads it as " \
            "padding (a collator that masks by pad id): use a pad token that is no stop id" \
            if view.pad_token_id in view.stop_ids and view.ends_visible else ""
        yield self.batch_finding(view, f"no supervised label in {view.where()} is a stop id {view.stop_list()}, "
                                       f"and {seen}, so the model is never trained to stop; append the "
                                       "terminator (the chat template's, or tokenizer.eos_token) to every example"
                                       f"{hidden}", at)
