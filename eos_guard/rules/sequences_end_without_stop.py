from __future__ import annotations

from ..findings import Finding, Severity
from .batch_base import TAIL, BatchRule, BatchView, Sequence, Token, ends_with_stop, last_span, occurrences

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class SequencesEndWithoutStop(BatchRule):
    """Some training sequences do not end their last supervised span with a stop id.

    ## What it detects
    The batches given to `eos_guard.check_batch` (or read by `EosGuardCallback`) do supervise a stop id, but
    some sequences' last supervised span (the last answer) does not end with one: its last stop id is
    followed by more than two supervised tokens (ChatML's `<|im_end|>\\n` ends with one), or it has none. With
    `answer_opening` given (the callback gives it), a last stop id followed by at most two tokens, that opening and
    at most one token more ends the sequence too, where the opening occurs before that stop id as well and the
    sequence does not fill the `max_length` given: a conversation tokenized with `add_generation_prompt=True` ends
    so after its last answer's terminator. A
    sequence is a row of a padded batch or one of the sequences packed into a row (`position_ids`). The
    message gives the share of the sequences whose end counts.

    Whose end counts:

    - a sequence that ends before padding, or where the next packed one starts, when the batches show where
      their sequences end (padding, packed sequences, a loss mask, rows of different lengths: in one batch, or
      two full rows or more shorter than another, as batches of one example each make them); not a packed one as long as the longest
      when packing split the sequences longer than `max_length` into pieces instead of truncating them (TRL's
      `packing_strategy="bfd_split"`: half the supervised packed sequences or more, two or more, open with one
      token that marks where texts start, one found inside them only right after a stop id, as a chat
      template's opening or a bos, and some other one opens with another, a piece that goes on mid-text);
    - a sequence that runs to the end of a full row (no padding), only when the rows are examples, each cut at
      `max_length`, not blocks cut from concatenated text (run_clm's `group_texts`, TRL's
      `packing_strategy="wrapped"`, blocks that each start with a bos), whose ends fall anywhere.

    The rows are examples when:

    - every row (two or more) opens with the same token, and either with the same second token too (a chat
      template's opening: `<|im_start|>user`), or with that first token again after each stop id followed by
      more than two tokens in its row, at most two tokens after it (ChatML's `<|im_end|>\\n<|im_start|>`), every
      row but one going on after it with a token that follows it after such a stop id too, or that opens
      another row as well (a role: `user`, `system`);
    - or two rows or more end before padding, each opening with a token that opens another of them too (a
      bos, a role's token) or that is one of the two tokens right after a stop id followed by more than two
      tokens (Zephyr-style rows, whose turns open with their role's token). Wrapped text pads only the last
      block of each part of the dataset packed on its own (a batch of `datasets.map`, a process's shard), and
      that block starts mid-text;
    - or the rows show where their texts end, two rows or more before padding, two full rows or more shorter
      than another full row (`per_device_train_batch_size=1`: no batch is padded, but examples are of different
      lengths, and blocks cut from concatenated text are all as long but the last of each part), or a loss mask
      (label -100) in a row, and no full row holds a stop id followed by more than two tokens (one text per row,
      as in plain-text fine-tuning). One padded or shorter row is not enough: wrapping one long document leaves
      one, beside full blocks that hold no stop id either. Rows the caller said were wrapped or split
      (`packing="wrapped"` or `"bfd_split"`) are never compared by length.

    The batches cannot always show how their rows were made: plain text without a bos reads the same whether
    a row or a packed sequence as long as the longest was cut at `max_length` or goes on in the next block or
    piece (wrapped packing of documents longer than a block in two parts of the data set or more, or flattened
    by a padding-free collator; `bfd_split`). `eos_guard.check_batch(..., packing=, max_length=)` says it:
    `packing=False` or `"bfd"` makes every sequence an example whose end counts; `"wrapped"` and `"bfd_split"`
    make a block or a piece as long as `max_length` (or the longest) go on, so its end does not count and it is
    never cut. `max_length` replaces the longest sequence as the length truncation cuts at. `EosGuardCallback`
    reads them from TRL's `SFTConfig`: `max_length`, and `packing_strategy` when `packing` is on and it is
    `"wrapped"` or `"bfd_split"` (TRL made those blocks or pieces itself; without packing, or with `"bfd"`, a
    data set passed already tokenized may hold the caller's blocks, so whether rows are examples is still
    read from the batches); nothing when `dataset_kwargs={"skip_prepare_dataset": True}` leaves the data set
    as the caller made it.

    A bos alone makes no examples: a block prefixed with it goes on mid-document with any token, and the
    documents inside it start without it or, when each was tokenized with one too (Llama 3's
    `<|begin_of_text|>`), go on after it with their first word, not with the token each block goes on with.

    It is an error, too, when every sequence whose end counts (two or more) ends without a stop id and the only
    supervised stop ids open their sequences (within their first three tokens): a template that writes no eos
    after the answer, under which the stop id `align()` finds is the next turn's opening (Mistral's `[INST]`),
    trained only right after each single-turn example's bos. No answer ends with a stop id, so nothing teaches
    the model to stop.

    And it is an error when every sequence whose end counts (two or more) ends without a stop id and, where
    `answer_opening` says how the chat template opens an answer (`EosGuardCallback` reads it from the
    tokenizer's template: what `add_generation_prompt=True` adds and answers open with, `<|im_start|>assistant`;
    only an opening that starts with an added token), two answers or more are found and none ends with a
    supervised stop id: the stop ids trained close system and user turns only,
    as in chat text formatted by hand whose prompts keep their `<|im_end|>` and whose answers lost it, under a
    loss on the whole text. An answer runs to the next turn (the opening's first token, where it opens other
    turns too, or the user turn's opening that `turn_openings` gives: Phi-3's `<|user|>`, where `<|assistant|>`
    opens answers only; or a tool result's own opening, Phi-4-mini's `<|tool|>`) or to the end of its sequence.
    Trained so, a toy ChatML model runs on to `max_new_tokens` after single-turn examples and writes the user's next
    turn after two-turn ones (`tests/e2e/test_training_data.py`).
    When the next turn follows an answer without a stop id, the text lacks the terminator, and the message names
    that fix alone. In rows whose ends do not count (blocks cut from concatenated text: TRL's
    `packing_strategy="wrapped"`, run_clm's `group_texts`) it is a warning when two answers or more inside them are
    followed by the next turn (not by another message of the same answer) without a stop id and none whose opening
    they show ends with one: an answer whose opening lies in another block is not seen (gpt-oss's final message,
    longer than a block, ends with the only stop id its answers have), so the batches cannot prove it.

    When no stop id is supervised at all and every supervised sequence (two or more) is as long as the longest
    (padding left out; at least `max_length` when it is given) and supervised to its last token, truncation cut
    the terminator off every one: the
    finding is then an error, since nothing in the batches teaches the model to stop (EOS024 would name the
    wrong fix: the data has the terminator). That holds for full rows, for rows padded after truncation
    (`pad_to_multiple_of`), and for packed sequences (best-fit packing truncates a sequence longer than
    `max_length` to it; padding-free batches). When the batches show no sequence end either (no padding, no
    -100, no stop id anywhere: chat examples cut before their first terminator), only if the rows open as
    examples do (the same first and second token, as above); blocks of concatenated text are not reported.
    Texts formatted without the terminator that happen to be all as long read the same: without `max_length`
    the batch cannot tell them from truncation, and when no stop id appears anywhere in it (not even masked, in
    a prompt) the message names both fixes. With it (and from `SFTConfig` in the callback), sequences
    shorter than `max_length` were not cut, and EOS024 reports the missing terminator; so it does with
    `truncation=False` (nothing was cut: `SFTConfig(max_length=None)` without packing, as the callback reads it).

    It is an error, too, when truncation left no answer at all: with `max_length` and `answer_opening` given (the
    callback reads both), every supervised sequence (two or more) fills `max_length`, is supervised to its last
    token and holds the first token of the answer opening (it opens the other turns too: chat text), and none
    holds the whole opening. A system prompt and tools every example starts with, longer than `max_length`
    allows, leave the system turn's terminator trained and no answer (a warning said so before 2026-12-06, or
    nothing when the cut fell right after that terminator, helper-170).

    The warning's message names truncation alone, with `max_length`, when it is given and every sequence that
    ends without a stop id fills it. It says the formatted text lacks the terminator, and names that fix alone (a
    template that writes none, under which the next turn's opening is the stop id), when none was cut: none of the
    sequences that end without a stop id reaches `max_length` or, without it, is both as long as the longest
    sequence read and supervised to its last token (a cut one would be: truncation leaves `max_length` tokens, and
    none is longer), or `truncation=False`
    says nothing was cut. Otherwise it names truncation and a missing terminator both. Where each is a piece of at
    most three tokens that opens with a stop id, in rows packing split texts into (`packing="bfd_split"`, or packed
    sequences when `packing` is not given), the message names that split: the rest of a text cut right before its
    terminator, whose first label is never trained (the text has the terminator). Where a stop id with label
    -100 follows the last supervised token of each such sequence (at most two tokens after it), or comes between a
    supervised token and a last supervised span of at most two tokens in a sequence that does not fill the
    `max_length` given (`<|im_end|>` masked, the `\\n` after it supervised), the message names the loss mask
    instead, which leaves out the last answer's terminator the text holds. Without an `attention_mask`, padding
    stays in the rows: a row's trailing pad ids beyond the fewest any row of its batch ends with are taken for
    padding (a batch padded to its longest row), not for a terminator.

    ## Why it breaks generation
    Usually truncation: an example longer than `max_length` loses its end, terminator included, so the model
    is trained on answers that stop mid-sentence without ending the turn. A few such sequences are harmless;
    many teach the model to run on.

    ## Example
    ```python
    # stop id 2, pad 0; the third row was cut at max_length=4
    batch = {
        "input_ids":      [[1, 5, 2, 0], [1, 6, 2, 0], [1, 8, 9, 9]],
        "attention_mask": [[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 1]],
        "labels":         [[1, 5, 2, -100], [1, 6, 2, -100], [1, 8, 9, 9]],
    }
    findings = eos_guard.check_batch(batch, stop_ids=[2], pad_token_id=0)
    ```
    `findings`, each printed with `print(finding)` (the line `eos-guard --format concise` prints):
    ```
    <batch>:3:4: EOS026 warning: 1 of 3 sequences (33%) in the batch do not end their last supervised span with a stop id [2] (truncated at max_length, or missing the terminator); raise max_length or drop the examples that exceed it, and append the terminator to the examples that lack it [sequences-end-without-stop]
    ```

    ## Remediation
    Raise `max_length` so that the examples fit, or drop (or shorten the prompts of) the examples that exceed
    it; check that every example ends with the terminator.
    """

    code = "EOS026"
    name = "sequences-end-without-stop"
    severity = Severity.WARNING
    summary = "some training sequences do not end their last supervised span with a stop id"

    def check_batches(self, view: BatchView) -> Iterator[Finding]:
        supervised = [s for s in view.sequences if s.supervised]
        if view.never_trained == "cut":  # every sequence cut: no stop id is trained at all
            first = supervised[0]
            length = f"is as long as the longest ({view.longest} tokens)" if view.max_length is None else \
                f"fills max_length ({view.max_length} tokens)"
            # Without max_length and with no stop id anywhere, texts formatted without the terminator that happen
            # to be all as long read the same: name that fix too.
            unknown = view.max_length is None and not view.masked_stops
            also = f"; if no example is longer than {view.longest} tokens, the formatted text lacks the terminator " \
                "instead: append it to every example" if unknown else ""
            yield self.batch_finding(view, f"{len(supervised)} of {len(supervised)} sequences (100%) in "
                                           f"{view.where()} do not end their last supervised span with a stop id "
                                           f"{view.stop_list()}: each {length} and supervised to its last token "
                                           "(truncated at max_length), "
                                           "and no supervised label is a stop id, so the model is never trained "
                                           f"to stop; raise max_length or drop the examples that exceed it{also}",
                                 Token(first, last_span(first)[-1]), Severity.ERROR)
            return
        if _cut_before_every_answer(view, supervised):
            first = supervised[0]
            yield self.batch_finding(view, f"none of the {len(supervised)} sequences in {view.where()} holds an "
                                           "answer (the chat template's opening of one occurs in none): each fills "
                                           f"max_length ({view.max_length} tokens) and was cut before its first "
                                           "answer, so the model is trained on prompts only and never to stop after "
                                           "an answer; raise max_length, or shorten the system prompt and tools the "
                                           "examples start with", Token(first, last_span(first)[-1]), Severity.ERROR)
            return
        if not view.trained_stops:
            return
        known = [s for s in supervised if view.end_known(s)]
        opening = tuple(view.answer_opening)
        open_ended = [s for s in known if not ends_with_stop(s, view.stop_ids, () if _cut_at_max_length(view, s)
                                                               else opening)]
        # answers the next turn follows, not another message of the same answer (gpt-oss's analysis, then its final
        # message: only the last one ends with a stop id)
        followed = [token for how, token in view.answers if how == "turn" and token.sequence.ids is not None
                    and tuple(token.sequence.ids[token.index + 1:token.index + 1 + len(opening)]) != opening]
        if not known and len(followed) >= 2 and "stop" not in view.answer_ends:
            # blocks cut from concatenated text (wrapped packing, group_texts): no row's end counts, but answers
            # inside them that the next turn follows without a stop id suggest the text lacks the terminator. A
            # warning, not the unpacked rows' error: an answer whose opening lies in another block is not seen
            # (gpt-oss's final message, longer than a block, ends with the only stop id its answers have)
            yield self.batch_finding(view, f"none of the {len(view.answer_ends)} answers in {view.where()} whose "
                                           "opening they show (what follows the chat template's opening of an "
                                           f"answer) ends with a supervised stop id {view.stop_list()}: "
                                           f"{len(followed)} are followed by the next turn without one; if the "
                                           "answers lack the terminator, the model is never trained to stop after "
                                           "an answer: append the terminator (the chat template's, or "
                                           "tokenizer.eos_token) to every answer", followed[0])
            return
        if not open_ended:
            return
        share = f"{len(open_ended)} of {len(known)} sequences ({len(open_ended) / len(known):.0%})"
        first = open_ended[0]
        if all(_split_off_at_its_stop(view, s) for s in open_ended):
            # the text holds the terminator: packing cut the text right before it, and a piece's first label is
            # never trained (helper-207: the formatted text was blamed)
            why = "; each is the end of a text that packing split off right before its terminator, the piece's " \
                "first token, which is never trained (packing_strategy=\"bfd_split\" cuts a text longer than " \
                "max_length into pieces); raise max_length so that the examples fit, or drop the examples that " \
                "exceed it"
        elif _loss_mask_leaves_out_terminators(view, open_ended):
            # the text holds the terminator, with label -100: the loss mask leaves it out (EOS025's fix), not the text
            why = "; in each, the stop id that ends its last answer has label -100: the loss mask leaves out the " \
                "terminator of the last answer; put the terminator inside the supervised span"
        elif not any(view.cut(s) for s in open_ended):
            # nothing was truncated, or none reaches max_length; without max_length, none is as long as the longest
            # sequence read, which a cut one would be (truncation leaves max_length tokens, and none is longer):
            # the text was formatted without the terminator
            if not view.truncation:
                uncut = "nothing was truncated (no max_length)"
            elif view.max_length is not None:
                uncut = f"none of them reaches max_length ({view.max_length} tokens), so truncation did not cut it"
            else:
                uncut = f"none of them is both as long as the longest sequence ({view.longest} tokens) and " \
                    "supervised to its last token, as truncation at max_length would leave it, so truncation did " \
                    "not cut it"
            why = f"; {uncut}: the formatted text lacks the terminator; append the terminator (the chat template's, " \
                "or tokenizer.eos_token) to every example"
        elif view.max_length is not None and \
                all(view.cut(s) and len(s.positions) == view.max_length for s in open_ended):
            why = f" (each fills max_length, {view.max_length} tokens: truncation cut it); raise max_length or drop " \
                "the examples that exceed it"
        else:
            why = " (truncated at max_length, or missing the terminator); raise max_length or drop the examples " \
                "that exceed it, and append the terminator to the examples that lack it"
        severity = None
        none_ends = len(known) >= 2 and len(open_ended) == len(known)  # no sequence whose end counts ends with one
        if none_ends and all(t.index <= TAIL for t in view.trained_stops):
            # every stop id trained opens its sequence (a template's first token, after the bos: Mistral's [INST]
            # when the template writes no eos after the answer): no answer ends with one, nothing teaches the stop
            severity = Severity.ERROR
            why = f"; the only supervised stop ids open their sequences (within their first {TAIL + 1} tokens), so " \
                f"no answer ends with one and the model is never trained to stop{why}"
        elif none_ends and len(view.answer_ends) >= 2 and "stop" not in view.answer_ends:
            # the chat template's opening shows where answers are: every supervised stop id ends another turn (a
            # system or user turn formatted with its terminator, answers without), so no answer ends with one
            severity = Severity.ERROR
            if "turn" in view.answer_ends:  # an answer the next turn follows was not cut: the text lacks it
                why = "; append the terminator (the chat template's, or tokenizer.eos_token) to every answer"
            why = f"; the supervised stop ids end other turns (system, user) only: none of the " \
                f"{len(view.answer_ends)} answers (what follows the chat template's opening of an answer) ends " \
                f"with one, so the model is never trained to stop after an answer{why}"
        yield self.batch_finding(view, f"{share} in {view.where()} do not end their last supervised span with a "
                                       f"stop id {view.stop_list()}{why}", Token(first, last_span(first)[-1]), severity)


def _cut_before_every_answer(view: BatchView, supervised: list) -> bool:
    """Whether truncation left no answer at all (helper-170: a long system prompt and max_length=30): two sequences
    or more, each cut at the ``max_length`` the caller gave, each chat text (the first token of the chat template's
    opening of an answer, ``<|im_start|>``, occurs in it: it opens the other turns too), and none holding the whole
    opening. Plain text, which never holds the opening's first token, and wrapped or split packing (no sequence is
    cut then) are never reported so."""
    opening = tuple(view.answer_opening)
    if not opening or view.max_length is None or len(supervised) < 2 or not all(view.cut(s) for s in supervised):
        return False
    return all(opening[0] in s.ids and not any(occurrences(s.ids, opening)) for s in supervised)


def _split_off_at_its_stop(view: BatchView, sequence: Sequence) -> bool:
    """Whether ``sequence`` is a piece of at most ``TAIL`` + 1 tokens that opens with a stop id, where packing split
    texts into pieces (``packing="bfd_split"``, or a packed sequence: TRL's split is read from the batches too):
    the rest of a text cut right before its terminator (``<|im_end|>\\n``), whose first label the shift drops."""
    ids = sequence.ids
    return ids is not None and 0 < len(ids) <= 1 + TAIL and ids[0] in view.stop_ids and \
        (view.packing == "bfd_split" or (view.packing is None and view.packed(sequence)))


def _loss_mask_leaves_out_terminators(view: BatchView, sequences: list[Sequence]) -> bool:
    """Whether a stop id with label -100 ends the last answer of every one of ``sequences``: it follows the last
    supervised token, at most ``TAIL`` tokens after it (a loss mask that ends before the last answer's terminator:
    helper-170's collator masked '<|im_end|>\\n'), or it comes between a supervised token and a last supervised span
    of at most ``TAIL`` tokens in a sequence not cut at max_length (helper-191: '<|im_end|>' masked, the '\\n' after
    it supervised). Without an attention_mask, padding stays in a sequence: a row's trailing pad ids beyond the
    fewest any row of its batch ends with are padding, not text (a batch padded to its longest row leaves that row
    its own; helper-171, helper-173)."""
    pad = view.pad_token_id
    fewest: dict[int, int] = {}
    for s in view.sequences:
        if s.unmasked and s.ids is not None:
            fewest[s.batch] = min(fewest.get(s.batch, len(s.ids)), _trailing(s.ids, pad))
    for sequence in sequences:
        ids, supervised = sequence.ids, sequence.supervised
        if ids is None or not supervised:
            return False
        end = len(ids) - (_trailing(ids, pad) - fewest[sequence.batch] if sequence.unmasked else 0)
        last, span = supervised[-1], last_span(sequence)
        # the masked stop id before a short last span closes a supervised answer (not a masked prompt's user turn),
        # and the sequence was not cut at max_length (helper-193: a completion cut two tokens in read so)
        closes_answer = len(span) <= TAIL and span[0] > 1 and ids[span[0] - 1] in view.stop_ids and \
            span[0] - 2 in sequence.supervised_set and not _cut_at_max_length(view, sequence)
        if not closes_answer and not any(ids[j] in view.stop_ids for j in range(last + 1, min(last + 2 + TAIL, end))):
            return False
    return True


def _cut_at_max_length(view: BatchView, sequence: Sequence) -> bool:
    """Whether the sequence fills the ``max_length`` the caller gave, supervised to its end (:meth:`BatchView.cut`).
    Without one, the longest sequences read as cut, and a row that ends with a generation prompt is often the longest:
    its end decides then."""
    return view.max_length is not None and view.cut(sequence)


def _trailing(ids: tuple[int, ...], pad: int | None) -> int:
    """How many pad ids a sequence ends with."""
    count = 0
    while count < len(ids) and ids[-1 - count] == pad:
        count += 1
    return count
