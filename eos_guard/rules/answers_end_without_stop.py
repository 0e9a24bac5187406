from __future__ import annotations

from itertools import groupby

from ..findings import Finding, Severity
from .batch_base import BatchRule, BatchView, Token

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class AnswersEndWithoutStop(BatchRule):
    """Answers that another turn follows end without a stop id, while the last answers end with one.

    ## What it detects
    With `answer_opening` and `answer_closing` given (`EosGuardCallback` reads both from the tokenizer's chat
    template: what opens an answer, `<|im_start|>assistant`, and the added tokens the template writes after an
    answer before the next turn, `<|im_end|>`, Llama 3's `<|eot_id|>`, harmony's `<|end|>`), some answer in the
    batches ends with a supervised stop id, but answers that the next turn follows (a user turn, or the next
    turn of any role; not another message of the same answer, which opens as an answer does: harmony's
    reasoning, then its final message) hold neither a stop id nor one of those closing tokens: the next turn
    opens right after their text. A turn opens there when its opening token is followed by a header seen where a
    turn surely starts (at a row's start, after a stop id or a closing token: `<|im_start|>user`); the same token
    inside an answer's text (an answer about chat templates that names `<|im_start|>`, which the tokenizer reads
    as the special token) is followed by other text, and opens none. A conversation the chat template formats
    never reads so: it ends every answer with its closing tokens. Hand-formatted text does, when the formatting
    leaves the terminator out (an f-string of roles and contents) and the trainer appends the eos at the end of
    each text (TRL's `SFTTrainer` does, for plain text), so that only the last answer of a conversation ends with
    a stop id.

    `stop_ids` are every id generation stops on: with `check_batch`, Llama 3.1's `<|eom_id|>`, which ends its
    built-in tool calls, among them (`EosGuardCallback` adds the ids `align()` adds).

    It is an error when such answers (two or more) are at least as many as the answers that end with a supervised
    stop id, the last ones included: the model is taught to go on after an answer as often as to stop, or more
    often; a warning, with their share of the answers that another turn follows, when fewer. Answers whose stop id
    the loss mask leaves out (label -100, the text holds it) are EOS025's.

    ## Why it breaks generation
    After each answer but the last, the model is trained to go on with the next turn (`\\n<|im_start|>user`)
    rather than to stop. In a data set of three-turn conversations two answers in three are such answers: the toy
    ChatML model of `examples/runaway_generation.py` trained so writes the user's next turn after each answer
    instead of stopping, although every example ends with the terminator
    (`tests/e2e/test_training_data.py::test_answers_without_the_terminator_but_the_last_write_the_next_turn`).

    ## Example
    ```python
    # <|im_start|> 5, 'assistant' 6, 'user' 7, <|im_end|> 2 (the stop id); two-turn texts formatted without
    # <|im_end|>, with the eos appended at the end of each
    row = [5, 7, 10, 5, 6, 11, 5, 7, 12, 5, 6, 13, 2]
    batch = {"input_ids": [row, row], "labels": [row, row]}
    findings = eos_guard.check_batch(batch, stop_ids=[2], answer_opening=[5, 6], answer_closing=[2])
    ```
    `findings`, each printed with `print(finding)` (the line `eos-guard --format concise` prints):
    ```
    <batch>:1:6: EOS034 error: 2 of 2 answers that another turn follows in the batch end with no stop id [2] and without the chat template's end of an answer [2]: the next turn opens right after their text, and only the last answer of a sequence ends with a stop id (as when text formatted without the terminator gets the eos appended at its end), so the model is trained to go on with the next turn after an answer instead of stopping; format the conversations with the chat template (tokenizer.apply_chat_template), or end every answer with the terminator [answers-end-without-stop]
    ```

    ## Remediation
    Format conversations with `tokenizer.apply_chat_template` (or TRL's conversational data sets, which it
    formats so), or write the terminator after every answer in a formatting function, not only at the end of
    the text.
    """

    code = "EOS034"
    name = "answers-end-without-stop"
    severity = Severity.ERROR
    summary = "answers that another turn follows end without a stop id, while the last answers end with one"

    def check_batches(self, view: BatchView) -> Iterator[Finding]:
        closing, opening = view.answer_closing, tuple(view.answer_opening)
        if not closing or "stop" not in view.answer_ends:  # no answer stops: EOS024 and EOS026 say so
            return
        followed = 0  # answers another turn follows
        open_ended: list[Token] = []  # those of them that end with neither a stop id nor a closing token
        last_ones_stop = True  # whether each answer ending with a stop id is its sequence's last
        # answer_spans come in the sequences' order: one group a sequence
        for _, group in groupby(view.answer_spans, key=lambda span: id(span[1])):
            spans = list(group)
            for number, (how, sequence, start, end) in enumerate(spans):
                ids = sequence.ids
                assert ids is not None  # answers are found in input_ids
                last = number == len(spans) - 1
                if how == "stop":
                    followed += not last
                    last_ones_stop = last_ones_stop and last
                elif how == "turn" and tuple(ids[end:end + len(opening)]) != opening:
                    followed += 1
                    if not any(ids[i] in view.stop_ids or ids[i] in closing for i in range(start, end)):
                        open_ended.append(Token(sequence, end - 1))
        if not open_ended:
            return
        shown = "[" + ", ".join(str(i) for i in sorted(closing)) + "]"
        only_last = ", and only the last answer of a sequence ends with a stop id (as when text formatted " \
            "without the terminator gets the eos appended at its end)" if last_ones_stop else ""
        # as often taught to go on as to stop, or more: greedy decoding goes on (helper-207's three-turn rows)
        stopping = view.answer_ends.count("stop")
        severity = Severity.ERROR if len(open_ended) >= max(stopping, 2) else Severity.WARNING
        one = len(open_ended) == 1
        yield self.batch_finding(
            view, f"{len(open_ended)} of {followed} answer{'s' if followed != 1 else ''} that another turn follows "
                  f"in {view.where()} end{'s' if one else ''} with no stop id {view.stop_list()} and without the chat "
                  f"template's end of an answer {shown}: the next turn opens right after {'its' if one else 'their'} "
                  f"text{only_last}, so the model is trained to go on with the next turn after an answer instead of "
                  "stopping; format the conversations with the chat template (tokenizer.apply_chat_template), or end "
                  "every answer with the terminator", open_ended[0], severity)

