"""What the training-data rules share: batches as data collators make them, read into sequences and labels.

A batch is a mapping with ``input_ids`` and ``labels`` (and optionally ``attention_mask`` and ``position_ids``),
each a torch tensor, a numpy array or a list of lists; only ``.tolist()`` is called, so neither torch nor numpy
is imported here. Labels are read as transformers' causal language models read them: not shifted (the label
at position ``i`` is the token at position ``i``; the model shifts them itself, so a sequence's first label is
never trained), and a negative label (``-100``) is left out of the loss. Padding (``attention_mask`` 0) is left
out, except the first padding after the text when its label is not negative: the loss predicts it from the
text's last token.

Findings point at a pseudo file ``<batch>`` (``<batch N>`` when several batches are checked together): the
line is the row of the batch and the column the token position in it, both 1-based.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from ..findings import Finding, Location, Severity
from ..records import record
from ..resolve import ResolvedModel
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterable, Iterator, Mapping

# Tokens a supervised span may hold after its last stop id and still count as ending with it: ChatML and Gemma
# put "\n" after the terminator, and some formats add the tokenizer's eos after the turn terminator.
TAIL = 2


class BatchError(ValueError):
    """A batch that cannot be read: a missing key, or values that are not rows of integer ids."""


@record(frozen=True)
class Sequence:
    """One training sequence: a row of a padded batch, or one of the sequences packed into a row."""

    batch: int
    row: int
    positions: tuple[int, ...]       # its tokens' positions in the row (padding left out, but the first padding
                                     # after the text when its label is trained: see _trained_after_text)
    ids: tuple[int, ...] | None      # None when input_ids and labels differ in length (encoder-decoder)
    labels: tuple[int, ...]
    full_row: int = 0                # its row's length when it runs to the last position of a row without padding
    unmasked: bool = False           # no attention_mask came with it: padding stays in ``ids`` (pad ids at the end)

    @cached_property
    def supervised(self) -> list[int]:
        """Indexes (into this sequence) whose label is trained: not negative, and (in a causal language model,
        where ``ids`` is known) not the first, which the shift drops."""
        first = 1 if self.ids is not None else 0
        return [i for i, label in enumerate(self.labels) if label >= 0 and i >= first]

    @cached_property
    def supervised_set(self) -> frozenset[int]:
        return frozenset(self.supervised)


@record(frozen=True)
class Token:
    """One token of a sequence, for a finding's location."""

    sequence: Sequence
    index: int

    @property
    def id(self) -> int | None:
        return None if self.sequence.ids is None else self.sequence.ids[self.index]


# What the caller may say about how the rows were made (``packing``): None, not known (read from the batches); False,
# each row, or each sequence of a padding-free row, is one example (cut at ``max_length`` when it was longer);
# TRL's packing strategies: "bfd" (examples packed, each cut at ``max_length``), "bfd_split" (examples longer than
# ``max_length`` split into pieces, packed apart), "wrapped" (blocks cut from the concatenated examples).
PACKING = (None, False, "bfd", "bfd_split", "wrapped")
EXAMPLES = (False, "bfd")      # every sequence is one example, whose end is the example's end or a cut
CONTINUED = ("bfd_split", "wrapped")  # a sequence as long as max_length goes on in another row or piece


class BatchView:
    """The sequences of one or more batches and the stop ids: what the training-data rules look at."""

    def __init__(self, sequences: list[Sequence], stop_ids: frozenset[int], pad_token_id: int | None,
                 batches: int, ends_visible: bool, packing: str | bool | None = None,
                 max_length: int | None = None, truncation: bool = True,
                 answer_opening: tuple[int, ...] = (), turn_openings: frozenset[int] = frozenset(),
                 answer_closing: frozenset[int] = frozenset()) -> None:
        self.sequences = sequences
        self.stop_ids = stop_ids
        self.pad_token_id = pad_token_id
        self.batches = batches
        self.ends_visible = ends_visible
        self.packing = packing
        self.max_length = max_length
        self.truncation = truncation  # False: nothing was cut (TRL's SFTConfig(max_length=None) without packing)
        self.answer_opening = answer_opening  # the ids that open an answer (the chat template's generation prompt)
        self.turn_openings = turn_openings  # ids that open the template's other turns (Phi-3's <|user|>)
        self.answer_closing = answer_closing  # ids the template ends an answer with before the next turn

    @cached_property
    def trained_stops(self) -> list[Token]:
        """The supervised labels that are stop ids: what teaches the model to stop."""
        return [Token(s, i) for s in self.sequences for i in s.supervised if s.labels[i] in self.stop_ids]

    @cached_property
    def has_supervision(self) -> bool:
        return any(s.supervised for s in self.sequences)

    @cached_property
    def masked_stops(self) -> list[Token]:
        """Stop ids in input_ids (outside padding) whose label is not trained."""
        return [Token(s, i) for s in self.sequences if s.ids is not None for i, token in enumerate(s.ids)
                if token in self.stop_ids and i not in s.supervised_set]

    @cached_property
    def stops_after_answers(self) -> list[Token]:
        """The masked stop ids that close a supervised span: at most ``TAIL`` unsupervised tokens after it."""
        return [t for t in self.masked_stops
                if any(k in t.sequence.supervised_set for k in range(t.index - 1 - TAIL, t.index))]

    @cached_property
    def masked_by_pad_id(self) -> bool:
        """Whether the masked stop ids look masked because they are the pad id (a collator that masks padding by
        id): a stop id is the pad id, and either every masked token is a pad-id token, or some masked pad-id
        token is followed by a supervised one (a hole in the supervision that only the id explains). A loss
        mask that stops short of the terminator masks the tokens after it too (ChatML's ``\\n``, the next
        prompt)."""
        pad = self.pad_token_id
        if not any(t.id == pad for t in self.masked_stops):
            return False
        masked = [(s, i) for s in self.sequences if s.ids is not None
                  for i in range(1, len(s.ids)) if i not in s.supervised_set]
        return all(s.ids[i] == pad for s, i in masked) or \
            any(s.ids[i] == pad and i + 1 in s.supervised_set for s, i in masked)

    @cached_property
    def packed_rows(self) -> frozenset[tuple[int, int]]:
        """The rows (batch, row) that hold more than one sequence (``position_ids``)."""
        seen: set[tuple[int, int]] = set()
        packed = set()
        for s in self.sequences:
            row = (s.batch, s.row)
            if row in seen:
                packed.add(row)
            seen.add(row)
        return frozenset(packed)

    def packed(self, sequence: Sequence) -> bool:
        """Whether the sequence shares its row with others (:attr:`packed_rows`)."""
        return (sequence.batch, sequence.row) in self.packed_rows

    def inner_stops(self, sequence: Sequence) -> list[int]:
        """The indexes of the stop ids in ``sequence`` (label trained or not) followed by more than ``TAIL`` tokens:
        a turn or a document that ends inside it."""
        if sequence.ids is None:
            return []
        last = len(sequence.ids) - 1 - TAIL
        return [i for i, token in enumerate(sequence.ids) if token in self.stop_ids and i < last]

    @cached_property
    def rows_open_as_examples(self) -> bool:
        """Whether the batches hold two rows or more, each one sequence, that open as examples of one format do:
        all with the same token, and either all with the same second token too (a chat template's opening:
        ``<|im_start|>user``, ``<|begin_of_text|><|start_header_id|>``, ``<bos><start_of_turn>``), or with that
        first token opening again after every stop id of :meth:`inner_stops`, with at most ``TAIL`` tokens between
        them (ChatML's ``<|im_end|>\\n<|im_start|>``: the next turn, whatever role each row opens with), and every
        row but one going on after it as a turn does: with a token that follows it after such a stop id too, or
        that opens another row as well (the roles: ``user``, ``system``). Blocks cut from concatenated text start
        anywhere (run_clm's ``group_texts``); a block prefixed with a bos goes on mid-document, with any token,
        and the documents inside it start without the bos or, when each was tokenized with one (Llama 3's
        ``<|begin_of_text|>``), go on after it with their first word, not with the token a block goes on with."""
        rows = self.sequences
        if len(rows) < 2 or self.packed_rows or any(s.ids is None for s in rows) or \
                len({s.ids[0] for s in rows}) != 1:
            return False
        if len({s.ids[1:2] for s in rows}) == 1:
            return True
        opener = rows[0].ids[0]
        inner = [(s, i) for s in rows for i in self.inner_stops(s)]
        if not inner or not all(opener in s.ids[i + 1:i + 2 + TAIL] for s, i in inner):
            return False
        turns = set()  # what follows the opener after a stop id: the role of the next turn
        for s, i in inner:
            at = s.ids.index(opener, i + 1)
            turns.add(s.ids[at + 1:at + 2])
        seconds = [s.ids[1:2] for s in rows]
        unlike = [t for t in seconds if t not in turns and seconds.count(t) < 2]
        return len(unlike) <= 1

    @cached_property
    def padded_rows_open_as_examples(self) -> bool:
        """Whether two rows or more, each one sequence, end before padding, and open as examples do: every one with
        a token that opens another of them too (a bos, a role's token) or that is one of the ``TAIL`` tokens right
        after a stop id of :meth:`inner_stops` (the next turn's opening: Zephyr's ``</s>\\n<|user|>``). Wrapped
        text pads only the last block of each part of the dataset packed on its own (TRL packs each batch of
        ``datasets.map``, and each process's shard, apart), and that block goes on mid-text."""
        padded = [s for s in self.sequences
                  if s.ids is not None and not s.full_row and not self.packed(s)]
        if len(padded) < 2:
            return False
        after_stops = {t for s in self.sequences for i in self.inner_stops(s) for t in s.ids[i + 1:i + 1 + TAIL]}
        firsts = [s.ids[0] for s in padded]
        unlike = [t for t in firsts if firsts.count(t) < 2 and t not in after_stops]
        return not unlike

    @cached_property
    def full_rows_differ(self) -> bool:
        """Whether two full rows or more (one sequence, no padding) are shorter than another full row: a batch of one
        row (``per_device_train_batch_size=1``) has no padding, but examples in batches of their own end where their
        texts do, at different lengths. Blocks cut from concatenated text are all as long (run_clm's ``group_texts``
        drops the rest; TRL's wrapped packing leaves one shorter block for each part of the data set packed on its
        own), so this never counts when the caller said the rows were wrapped or split (``packing``)."""
        if self.packing in CONTINUED:
            return False
        full = [s.full_row for s in self.sequences if s.ids is not None and s.full_row and not self.packed(s)]
        longest = max(full, default=0)
        return sum(1 for length in full if length < longest) >= 2

    @cached_property
    def shows_ends(self) -> bool:
        """Whether the batches show where their sequences end: one of them does (padding, packed sequences, a loss
        mask, rows of different lengths), or full rows in different batches are of different lengths
        (:attr:`full_rows_differ`)."""
        return self.ends_visible or self.full_rows_differ

    @cached_property
    def rows_show_text_ends(self) -> bool:
        """Whether rows of one sequence show where their texts end, as examples do and blocks cut from concatenated
        text do not: two rows or more end before padding or before the longest full row
        (:attr:`full_rows_differ`), or some row holds a loss mask (a label -100 after its first token, padding left
        out). Wrapped packing pads only the last block of each part of the data set packed on its own (TRL packs
        each batch of ``datasets.map`` apart): one long document, or documents longer than a block, leave one
        padded row whose full rows hold no stop id either."""
        unpacked = [s for s in self.sequences if s.ids is not None and not self.packed(s)]
        padded = [s for s in unpacked if not s.full_row]
        return len(padded) >= 2 or self.full_rows_differ or \
            any(label < 0 for s in unpacked for label in s.labels[1:])

    @cached_property
    def rows_are_examples(self) -> bool:
        """Whether a full row (no padding, one sequence) that ends without a stop id was cut at ``max_length``: the
        caller said how the rows were made (``packing``: False or "bfd", examples), or its rows open as examples do
        (:attr:`rows_open_as_examples`), or two rows or more end before padding and open as examples do
        (:attr:`padded_rows_open_as_examples`), or the rows show where their texts end
        (:attr:`rows_show_text_ends`) and no full row holds a stop id with more than ``TAIL`` tokens after it
        (each row one text, as in plain-text fine-tuning). Blocks cut from documents joined with the eos (run_clm's
        ``group_texts``, TRL's wrapped packing) hold it inside their rows and start anywhere: a block ends where
        the cut falls, even when the last, shorter block is padded. (Multi-turn rows whose turns open with their
        role's token, Zephyr's ``<|user|>``, read as examples through their padded rows.)"""
        if self.packing is not None:
            return self.packing in EXAMPLES
        if self.rows_open_as_examples or self.padded_rows_open_as_examples:
            return True
        return self.shows_ends and self.rows_show_text_ends and \
            not any(self.inner_stops(s) for s in self.sequences if s.full_row and not self.packed(s))

    @cached_property
    def packing_split(self) -> bool:
        """Whether packing split sequences longer than ``max_length`` into pieces instead of truncating them (TRL's
        ``packing_strategy="bfd_split"``): half the supervised packed sequences or more (two or more) open with
        one token that marks where texts start (:meth:`opens_texts`: the chat template's, the bos), and some other
        one opens with another: a piece that goes on mid-text. Packed sequences that open each with its own token,
        or with a word (plain text without a bos), show nothing. When the caller said how the rows were made (``packing``), that decides."""
        if self.packing is not None:
            return self.packing == "bfd_split"
        packed = [s for s in self.sequences if s.ids is not None and s.supervised and self.packed(s)]
        counts: dict[int, int] = {}
        for s in packed:
            counts[s.ids[0]] = counts.get(s.ids[0], 0) + 1
        most = max(counts.values(), default=0)
        if not (2 <= most < len(packed) and 2 * most >= len(packed)):
            return False
        opener = max(counts, key=counts.__getitem__)
        return self.opens_texts(opener)

    def opens_texts(self, token: int) -> bool:
        """Whether ``token`` marks where a text (or a turn) starts: inside a sequence it follows a stop id, at most
        ``TAIL`` tokens after it, or never occurs (a chat template's ``<|im_start|>``, a bos), except in a
        sequence's first ``TAIL + 1`` tokens (a piece that opens just after the stop that ended another). A word
        that opens most plain texts (``what``) occurs mid-text too."""
        for s in self.sequences:
            if s.ids is None:
                continue
            for i in range(1 + TAIL, len(s.ids)):  # a piece may open just after the stop that ends another
                if s.ids[i] == token and not any(t in self.stop_ids for t in s.ids[max(0, i - 1 - TAIL):i]):
                    return False
        return True

    def end_known(self, sequence: Sequence) -> bool:
        """Whether the sequence's end shows whether it ends with a stop id: a full row's when the rows are
        examples (:attr:`rows_are_examples`); another sequence's (it ends before padding, or where the next packed
        one starts) when the batches show where their sequences end, except a packed one as long as the longest
        when packing split sequences (:attr:`packing_split`): a piece whose end goes on in another piece. When the
        caller said how the rows were made (``packing``): every end, but a block's or a piece's as long as
        :attr:`block` ("wrapped", "bfd_split"), which goes on in the next one."""
        if self.packing is not None:
            return self.packing not in CONTINUED or len(sequence.positions) < self.block
        packed = self.packed(sequence)
        if sequence.full_row and not packed:
            return self.rows_are_examples
        if packed and self.packing_split and len(sequence.positions) == self.longest:
            return False
        return self.shows_ends

    @cached_property
    def longest(self) -> int:
        """The length of the longest sequence (padding left out): ``max_length`` when truncation cut one."""
        return max((len(s.positions) for s in self.sequences if s.ids is not None), default=0)

    @cached_property
    def block(self) -> int:
        """The length truncation cuts at: ``max_length`` when the caller gave it, else the longest sequence's."""
        return self.max_length if self.max_length is not None else self.longest

    def cut(self, sequence: Sequence) -> bool:
        """Whether the sequence is as long as :attr:`block` and supervised to its last token: what truncation at
        ``max_length`` leaves, whether it fills its row or padding follows it (``pad_to_multiple_of``) or another
        packed sequence does (best-fit packing, padding-free batches). Never when the caller said the sequences
        were split or wrapped instead of cut (``packing``: "bfd_split", "wrapped"), or not truncated at all
        (``truncation=False``)."""
        supervised = sequence.supervised
        return self.truncation and self.packing not in CONTINUED and sequence.ids is not None and \
            len(sequence.positions) >= self.block > 0 and bool(supervised) and \
            supervised[-1] == len(sequence.labels) - 1

    @cached_property
    def never_trained(self) -> str | None:
        """Why no supervised label is a stop id: ``"pad"`` (a stop id is the pad id, and the collator masks
        it by id: :attr:`masked_by_pad_id`), ``"mask"`` (a masked stop id closes a supervised span: the loss
        mask stops short of it), ``"cut"`` (two sequences or more, and every supervised one is :meth:`cut`:
        truncation took the terminator away; in batches that show no sequence end and no stop id, only when the
        rows open as examples, :attr:`rows_open_as_examples`: chat rows cut before their first terminator),
        ``"absent"`` (no stop id closes any supervised span: none appears, or only in unsupervised parts such as
        prompts); None when some supervised label is a stop id, nothing is supervised, or the batch shows no
        sequence end and no stop id and its rows are not examples cut (blocks of concatenated text)."""
        if self.trained_stops or not self.has_supervision:
            return None
        if self.masked_by_pad_id:
            return "pad"
        if self.stops_after_answers:
            return "mask"
        supervised = [s for s in self.sequences if s.supervised]
        known = self.packing in EXAMPLES  # the caller said each sequence is one example
        if len(supervised) >= 2 and all(self.cut(s) for s in supervised) and \
                (known or self.shows_ends or self.masked_stops or self.rows_open_as_examples):
            return "cut"
        return "absent" if known or self.shows_ends or self.masked_stops or self.rows_open_as_examples else None

    @cached_property
    def answer_ends(self) -> list[str]:
        """How each supervised answer ends (:attr:`answers`)."""
        return [how for how, _ in self.answers]

    @cached_property
    def answers(self) -> list[tuple[str, Token]]:
        """How each supervised answer ends, with the answer's last token (:attr:`answer_spans`)."""
        return [(how, Token(s, end - 1)) for how, s, _, end in self.answer_spans]

    @cached_property
    def answer_spans(self) -> list[tuple[str, Sequence, int, int]]:
        """How each supervised answer ends: ``"stop"`` (with a supervised stop id), ``"turn"`` (the next turn opens
        first) or ``"end"`` (its sequence ends first). An answer is what follows an :attr:`answer_opening` in a
        sequence (``<|im_start|>assistant``); the next turn opens with the opening's first token, where that token
        opens other turns too (ChatML's ``<|im_start|>``, Llama 3's ``<|start_header_id|>``, Gemma's
        ``<start_of_turn>``; when it is itself a stop id, as under a template that writes no terminator, the answer
        ends with it), or with one of :attr:`turn_openings` (Phi-3's ``<|user|>``, where ``<|assistant|>`` opens
        answers only). Such a token opens a turn only where it is followed as it is where a turn surely starts
        (:attr:`turn_headers`), when it does surely start one somewhere: the same token inside an answer's text (an
        answer about chat templates that names ``<|im_start|>``, which the tokenizer reads as the special token) is
        followed by other text, and is part of the answer (helper-210, helper-212). A token of ``turn_openings`` that
        surely starts no turn in the batches (Phi-4-mini's ``<|tool|>`` after calling turns that lost their
        ``<|end|>``) opens one wherever it is. Without those, an answer runs to the end of its sequence, and a
        later turn's stop id counts for it. An answer with no supervised token is left out. Empty without an
        opening, or where it is not found. Each with its sequence, the index of its first token after the opening
        and the index after its last token (its stop id, or the token before the next turn or its end), in the
        sequences' order."""
        opening = self.answer_opening
        width = len(opening)
        if not width:
            return []
        found = [(s, set(occurrences(s.ids, opening))) for s in self.sequences if s.ids is not None]
        first = opening[0]
        opens_other_turns = any(token == first and i not in starts
                                for s, starts in found for i, token in enumerate(s.ids))
        headers = self.turn_headers
        ends = []
        for s, starts in found:
            for start in sorted(starts):
                span_end, how = len(s.ids), "end"
                for i in range(start + width, len(s.ids)):
                    if s.ids[i] in self.stop_ids and i in s.supervised_set:
                        span_end, how = i + 1, "stop"
                        break
                    if (s.ids[i] in self.turn_openings or (opens_other_turns and s.ids[i] == first)) \
                            and (s.ids[i] not in headers or tuple(s.ids[i + 1:i + 2]) in headers[s.ids[i]]):
                        span_end, how = i, "turn"
                        break
                if any(i in s.supervised_set for i in range(start + width, span_end)):
                    ends.append((how, s, start + width, span_end))
        return ends

    @cached_property
    def turn_headers(self) -> dict[int, set[tuple[int, ...]]]:
        """For each token that opens a turn (the answer opening's first, :attr:`turn_openings`), the tokens that
        follow it where a turn surely starts: a sequence's start (after a bos), right after a stop id or the
        template's end of an answer (at most ``TAIL`` tokens before it), and the answer opening's second token.
        Where the text writes no closing at all and a system turn opens each row, the user's header is not among
        them; a token of ``turn_openings`` found at no such place has no entry."""
        opening = tuple(self.answer_opening)
        if not opening:
            return {}
        openers = {opening[0], *self.turn_openings}
        ends = self.stop_ids | self.answer_closing
        headers: dict[int, set[tuple[int, ...]]] = {opening[0]: {opening[1:2]}}
        for sequence in self.sequences:
            ids = sequence.ids
            if ids is None:
                continue
            for i, token in enumerate(ids):
                if token in openers and (i <= 1 or any(ids[j] in ends for j in range(max(0, i - 1 - TAIL), i))):
                    headers.setdefault(token, set()).add(tuple(ids[i + 1:i + 2]))
        return headers

    def stop_list(self) -> str:
        return "[" + ", ".join(str(i) for i in sorted(self.stop_ids)) + "]"

    def where(self) -> str:
        return "the batch" if self.batches == 1 else f"the {self.batches} batches"

    def location(self, token: Token) -> tuple[Location, Path]:
        s = token.sequence
        path = Path("<batch>" if self.batches == 1 else f"<batch {s.batch + 1}>")
        column = s.positions[token.index] + 1
        return Location(path, s.row + 1, column, s.row + 1, column + 1), path


def last_span(sequence: Sequence) -> list[int]:
    """The indexes of the sequence's last run of supervised labels (its last assistant turn, say)."""
    supervised = sequence.supervised
    if not supervised:
        return []
    span = [supervised[-1]]
    for i in reversed(supervised[:-1]):
        if i != span[0] - 1:
            break
        span.insert(0, i)
    return span


def ends_with_stop(sequence: Sequence, stop_ids: frozenset[int], opening: tuple[int, ...] = ()) -> bool:
    """Whether the last supervised span ends with a stop id, followed by at most ``TAIL`` more tokens, or by
    ``opening`` (the chat template's opening of an answer, without the whitespace it ends with) with at most ``TAIL``
    tokens before it and one after it, where the opening occurs before that stop id too (so the stop id ended an
    answer): the generation prompt a conversation formatted with ``add_generation_prompt=True`` ends with (helper-191:
    every such sequence was taken for one cut before its stop). Give ``opening`` only for a sequence that was not cut
    at ``max_length``: one cut right after the opening of its last answer reads the same (helper-193)."""
    span = last_span(sequence)
    stops = [i for i in span if sequence.labels[i] in stop_ids]
    if not stops:
        return False
    after = tuple(sequence.labels[i] for i in range(stops[-1] + 1, span[-1] + 1))
    if len(after) <= TAIL:
        return True
    width, ids = len(opening), sequence.ids
    return width > 0 and ids is not None and any(
        after[start:start + width] == opening and len(after) - start - width <= 1 for start in range(TAIL + 1)) \
        and any(occurrences(ids[:stops[-1]], opening))


def occurrences(ids: tuple[int, ...], part: tuple[int, ...]) -> Iterator[int]:
    """The indexes where ``part`` (an answer's opening) starts in ``ids``, in order."""
    width = len(part)
    return (i for i in range(len(ids) - width + 1) if tuple(ids[i:i + width]) == part)


class BatchRule(Rule):
    """A rule about training batches (``eos_guard.check_batch``, implement :meth:`check_batches`); on a model
    folder it finds nothing."""

    def run(self, subject: object, options: Options) -> Iterator[Finding]:
        return self.check_batches(subject) if isinstance(subject, BatchView) else iter(())

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        return iter(())

    def check_batches(self, view: BatchView) -> Iterator[Finding]:
        raise NotImplementedError

    def batch_finding(self, view: BatchView, message: str, at: Token, severity: Severity | None = None) -> Finding:
        location, path = view.location(at)
        return Finding(self.code, self.name, severity or self.severity, message, location, path)


# -- reading batches ------------------------------------------------------------------------------------------

def read_batches(batches: Iterable[Mapping[str, Any]], stop_ids: Iterable[int],
                 pad_token_id: int | None, packing: str | bool | None = None,
                 max_length: int | None = None, truncation: bool = True,
                 answer_opening: Iterable[int] | None = None,
                 turn_openings: Iterable[int] | None = None, encoder_decoder: bool | None = None,
                 answer_closing: Iterable[int] | None = None) -> BatchView:
    """The sequences of ``batches``; raises :class:`BatchError` for a batch that cannot be read, or for a
    ``packing``, ``max_length``, ``truncation``, ``answer_opening`` or ``turn_openings`` it does not know.
    ``stop_ids`` may be one id, as ``generation_config.eos_token_id`` often is. ``packing`` says how the rows were made (:data:`PACKING`; None:
    read from the batches), ``max_length`` where truncation cuts (None: at the longest sequence), and
    ``truncation=False`` that nothing was cut (then ``max_length`` must be None); ``answer_opening`` the ids
    that open an answer and ``turn_openings`` those that open other turns (:attr:`BatchView.answer_ends`);
    ``answer_closing`` the ids the chat template ends an answer with before the next turn (EOS034).
    ``pad_token_id`` None is read from the padding: the id every padded position holds (attention_mask 0 before
    a row's first attended token or after its last), where that is one id.
    ``encoder_decoder=True`` says the labels are a decoder's (T5, BART: ``config.is_encoder_decoder``), never lined
    up with ``input_ids``, the encoder's, even where both have as many columns (``padding="max_length"``,
    ``pad_to_multiple_of``); False says they are a causal model's, lined up where the widths agree; None reads it from
    the batch (``decoder_input_ids``, rows of other lengths, or labels mostly unlike the input id at their place)."""
    if not (packing is None or packing is False or (isinstance(packing, str) and packing in PACKING)):
        raise BatchError(f"packing must be None, False, 'bfd', 'bfd_split' or 'wrapped', not {packing!r}")
    if max_length is not None and (isinstance(max_length, bool) or not hasattr(max_length, "__index__")
                                   or max_length.__index__() < 1):
        raise BatchError(f"max_length must be a positive int or None, not {max_length!r}")
    max_length = None if max_length is None else max_length.__index__()
    if not isinstance(truncation, bool):
        raise BatchError(f"truncation must be True or False, not {truncation!r}")
    if not truncation and max_length is not None:
        raise BatchError(f"max_length={max_length} is where truncation cuts: with truncation=False give none")
    if encoder_decoder is not None and not isinstance(encoder_decoder, bool):
        raise BatchError(f"encoder_decoder must be True, False or None, not {encoder_decoder!r}")
    if isinstance(stop_ids, (str, bytes, bytearray)):
        raise BatchError(f"stop_ids must be token ids, not text ({type(stop_ids).__name__})")
    if hasattr(stop_ids, "tolist"):  # a torch tensor or numpy array, of one id (0-d) or more: neither is imported
        stop_ids = stop_ids.tolist()
    if stop_ids is None:
        stop_ids = ()
    elif not hasattr(stop_ids, "__iter__"):  # one id
        stop_ids = (stop_ids,)
    stops = frozenset(_int(i, "stop_ids") for i in stop_ids)
    if not stops:
        raise BatchError("no stop ids given: pass the ids that end generation (generation_config.eos_token_id)")
    pad = None if pad_token_id is None else _int(pad_token_id, "pad_token_id")
    opening = _ids(answer_opening, "answer_opening")
    others = frozenset(_ids(turn_openings, "turn_openings"))
    closing = frozenset(_ids(answer_closing, "answer_closing"))
    sequences: list[Sequence] = []
    visible = False
    count = 0
    padding: set[int] = set()
    for number, batch in enumerate(batches):
        count += 1
        found, shows_ends = _read_batch(number, batch, encoder_decoder, padding)
        sequences += found
        visible = visible or shows_ends
    if pad is None and len(padding) == 1:  # check_batch(batch, stop_ids) without the pad id: the padding shows it
        pad = next(iter(padding))  # (helper-207: pad == eos read as a loss mask, EOS025 instead of EOS023)
    return BatchView(sequences, stops, pad, count, visible, packing, max_length, truncation, opening, others,
                     closing)


def _ids(value: Iterable[int] | None, name: str) -> tuple[int, ...]:
    """Token ids given by the caller (a list, a tuple, a tensor or array, None), checked: never text."""
    if isinstance(value, (str, bytes, bytearray)):
        raise BatchError(f"{name} must be token ids, not text ({type(value).__name__})")
    if hasattr(value, "tolist"):
        value = value.tolist()
    if value is not None and not hasattr(value, "__iter__"):
        raise BatchError(f"{name} must be a sequence of token ids, not {value!r}")
    return tuple(_int(i, name) for i in value or ())


def _read_batch(number: int, batch: Mapping[str, Any], encoder_decoder: bool | None = None,
                padding: set[int] | None = None) -> tuple[list[Sequence], bool]:
    """The batch's sequences, and whether it shows where sequences end (padding, packing, a loss mask, rows
    of different lengths: chunks of concatenated text show none); the ids of its padding are added to
    ``padding`` (attention_mask 0 before a row's first attended token or after its last)."""
    if not hasattr(batch, "keys") or "input_ids" not in batch or "labels" not in batch:
        keys = sorted(str(k) for k in batch.keys()) if hasattr(batch, "keys") else type(batch).__name__
        raise BatchError(f"a batch needs 'input_ids' and 'labels' (the collator's output); got {keys}")
    input_ids = _rows(batch["input_ids"], "input_ids")
    labels = _rows(batch["labels"], "labels")
    if len(labels) != len(input_ids):
        raise BatchError(f"'labels' has {len(labels)} rows but 'input_ids' has {len(input_ids)}")
    masks = _optional_rows(batch, "attention_mask", input_ids, bools=True)
    positions = _optional_rows(batch, "position_ids", input_ids)
    visible = len({len(r) for r in input_ids}) > 1
    if encoder_decoder is None:  # DataCollatorForSeq2Seq given the model makes the decoder's inputs from the labels
        encoder_decoder = "decoder_input_ids" in batch or _not_lined_up(input_ids, labels)
    sequences = []
    for row, (ids, row_labels) in enumerate(zip(input_ids, labels)):
        mask = masks[row] if masks is not None else None
        if mask is not None and any(m == 0 for m in mask):
            visible = True
            if padding is not None:
                inner = _inside(mask, range(len(ids)))
                padding.update(ids[i] for i, m in enumerate(mask) if m == 0 and i not in inner)
        if encoder_decoder or len(row_labels) != len(ids):  # the labels are a decoder's, not lined up with input_ids
            sequences.append(Sequence(number, row, tuple(range(len(row_labels))), None, tuple(row_labels)))
            visible = visible or any(label < 0 for label in row_labels)
            continue
        segments = _segments(positions[row]) if positions is not None else [range(len(ids))]
        if len(segments) > 1:
            visible = True
        for segment in segments:
            if len(segments) > 1 and len(segment) == 1 and row_labels[segment.start] < 0:
                continue  # padding of a padding-free row (TRL pads position_ids with 0): one token trains nothing
            inside = _inside(mask, segment)
            kept = tuple(i for i in segment if _attended(mask, i) or i in inside
                         or _trained_after_text(mask, row_labels, segment, i))
            if not kept:
                continue
            full = len(ids) if kept[-1] == len(ids) - 1 and (mask is None or all(m != 0 for m in mask)) else 0
            sequence = Sequence(number, row, kept, tuple(ids[i] for i in kept), tuple(row_labels[i] for i in kept),
                                full, mask is None)
            if any(label < 0 for label in sequence.labels[1:]):
                visible = True
            sequences.append(sequence)
    return sequences, visible


def _not_lined_up(input_ids: list[list[int]], labels: list[list[int]]) -> bool:
    """Whether rows of equal widths hold labels that are not a copy of input_ids: a causal collator's labels are
    input_ids with positions left out (-100), so a label the loss uses is the token at its position; a decoder's
    labels (T5, BART, padded to the encoder's width) are another text. Most of the labels used must differ."""
    used = differ = 0
    for ids, row_labels in zip(input_ids, labels):
        if len(ids) != len(row_labels):
            continue
        for token, label in zip(ids, row_labels):
            if label >= 0:
                used += 1
                differ += label != token
    return used > 0 and differ * 2 > used


def _inside(mask: list[int] | None, segment: range) -> range:
    """The positions between the first and the last attended token of ``segment``: padding is at either end, so a
    zero of the attention mask in there is a token the collator masked by its id (Stanford Alpaca's
    ``input_ids.ne(pad_token_id)`` with pad == eos masks every <|im_end|>). Read as padding, the stop ids vanished
    and EOS024 said the text never held the terminator (helper-152); read as tokens, EOS023 says the loss masks
    them."""
    if mask is None:
        return range(0)
    attended = [i for i in segment if mask[i] != 0]
    return range(attended[0] + 1, attended[-1]) if attended else range(0)


def _attended(mask: list[int] | None, i: int) -> bool:
    return mask is None or mask[i] != 0


def _trained_after_text(mask: list[int] | None, labels: list[int], segment: range, i: int) -> bool:
    """Whether the padding at ``i`` is trained from the text before it. The loss reads labels, not the attention
    mask, and the label at ``i`` is predicted from position ``i - 1`` (transformers' ``ForCausalLMLoss`` shifts
    the labels): the first padding after the text counts when its label is not negative (``labels =
    input_ids`` with ``padding="max_length"`` and pad == eos trains "last word -> eos"). Padding predicted from
    padding (the rest of right padding, all of left padding) teaches nothing about ending the text."""
    return i > segment.start and _attended(mask, i - 1) and labels[i] >= 0


def _segments(position_ids: list[int]) -> list[range]:
    """Packed sequences in a row: a new one starts wherever the position ids do not count on by one
    (``DataCollatorWithFlattening``, TRL's padding-free collator). Padding whose position ids are 0 (TRL's
    padding-free collator with ``pad_to_multiple_of``) makes one sequence of each token: the caller leaves out
    sequences of one token with label -100."""
    starts = [0] + [i for i in range(1, len(position_ids)) if position_ids[i] != position_ids[i - 1] + 1]
    ends = starts[1:] + [len(position_ids)]
    return [range(a, b) for a, b in zip(starts, ends)]


def _optional_rows(batch: Mapping[str, Any], key: str, like: list[list[int]],
                   bools: bool = False) -> list[list[int]] | None:
    """``attention_mask`` (``bools``: of True and False too, as a ``torch.bool`` mask) or ``position_ids`` when it
    has the shape of ``input_ids``; in another form (a 4-D attention mask, say) it is not read."""
    if key not in batch or batch[key] is None:
        return None
    try:
        rows = _rows(batch[key], key, bools)
    except BatchError:
        return None
    return rows if [len(r) for r in rows] == [len(r) for r in like] else None


def _rows(value: Any, key: str, bools: bool = False) -> list[list[int]]:
    """Rows of ints from a tensor, an array, a list of lists or one flat list (a single row)."""
    if hasattr(value, "tolist"):
        value = _as_list(value, key)
    if not isinstance(value, (list, tuple)):
        raise BatchError(f"'{key}' is a {type(value).__name__}, not rows of token ids")
    if value and not any(hasattr(v, "tolist") or isinstance(v, (list, tuple)) for v in value):
        value = [value]
    rows = []
    for row in value:
        if hasattr(row, "tolist"):
            row = _as_list(row, key)
        if not isinstance(row, (list, tuple)):
            raise BatchError(f"'{key}' mixes rows and single values")
        rows.append([_int(v, key, bools) for v in row])
    return rows


def _as_list(value: Any, key: str) -> Any:
    """``value.tolist()``; a tensor whose values cannot be read (on the meta device: "Cannot copy out of meta
    tensor") is a batch that cannot be read, not a crash of training."""
    try:
        return value.tolist()
    except (NotImplementedError, RuntimeError, ValueError, TypeError) as error:
        raise BatchError(f"'{key}' cannot be read ({type(error).__name__}: {error})") from None


def _int(value: Any, key: str, bools: bool = False) -> int:
    if (isinstance(value, bool) and not bools) or not hasattr(value, "__index__"):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise BatchError(f"'{key}' holds {value!r}, not an integer token id")
    return value.__index__()
