"""The pieces of a SentencePiece ``tokenizer.model``, read without the ``sentencepiece`` or ``protobuf`` packages.

The file is a protobuf ``ModelProto`` (sentencepiece_model.proto): field 1 ``pieces`` (repeated ``SentencePiece``:
``piece`` 1, ``score`` 2, ``type`` 3, where CONTROL is 3 and USER_DEFINED 4), field 2 ``trainer_spec`` (``unk_id``
40, ``bos_id`` 41, ``eos_id`` 42, ``unk_piece`` 45, ``bos_piece`` 46, ``eos_piece`` 47, with the proto's defaults
0, 1, 2, ``<unk>``, ``<s>``, ``</s>``), and others eos-guard skips. A piece's id is its place in ``pieces``, which is
what transformers 5 gives it (``SentencePieceExtractor.extract``, convert_slow_tokenizer.py).

A check needs the number of pieces and the ids of a few strings. The top-level fields are walked by their lengths
(one step per piece, ~10 ms for Llama 2's 32,000), and every byte is checked as protobuf (upb, which transformers
parses the file with) checks it: a piece written as protobuf writes one (text, score, type under 128) is checked
by its layout and decoded only when looked up; any other piece, the trainer spec, the normalizer specs are decoded
field by field. A key or length over 5 bytes, a varint over 10, a length past the end of its message, field number
0, wire type 6 or 7, an unmatched group or groups nested over 100 deep is an ``InputError`` that names the byte
offset; without recursion. What protobuf accepts is read as it reads it: unknown fields and groups skipped, a
declared field of another wire type ignored, int32 fields cut to 32 bits, a piece type outside the enum ignored,
the last text of a piece written twice, a trainer spec written twice merged (tests/test_spm_differential.py),
but for a file of more than ``MAX_PIECES`` pieces, which is an ``InputError`` (a bound on time and memory).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from functools import cached_property
from pathlib import Path

from .errors import InputError, lfs_pointer

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterable

CONTROL, USER_DEFINED = 3, 4
PIECE_TYPES = range(1, 7)  # SentencePiece.Type: NORMAL 1 ... BYTE 6; another value is an unknown field to protobuf
VARINT, I64, LEN, START_GROUP, END_GROUP, I32 = 0, 1, 2, 3, 4, 5
# protobuf's (upb's) decoding limits: a key is a varint of at most 5 bytes below 2**32, a length one of at most 5
# bytes below 2**31; groups and messages nest at most 100 deep (the top-level message counts none)
KEY_BYTES, LENGTH_BYTES, VARINT_BYTES, DEPTH = 5, 5, 10, 100
LENGTH_LIMIT = 1 << 31
# the messages of ModelProto that protobuf parses, and so checks: trainer_spec 2, normalizer_spec 3, denormalizer_spec 5
# (sentencepiece_model_pb2; field 4, self_test_data, is not in it: an unknown field, skipped unread)
SUBMESSAGES = (2, 3, 5)
_TRAINER_INTS = {40: "unk_id", 41: "bos_id", 42: "eos_id"}
_TRAINER_PIECES = {45: "unk_piece", 46: "bos_piece", 47: "eos_piece"}
# a piece written as protobuf writes it, of type CONTROL or USER_DEFINED, ends with its type: key 0x18, the value
_SPECIAL_TYPE = re.compile(rb"\x18[\x03\x04]")
MAX_MISSES = 16  # places a looked-up text's bytes are found at that start no piece, before decoding them all
# Pieces read at most: four times Gemma 3's 262,144, the largest SentencePiece vocabulary we know. A piece not
# written as sentencepiece writes it is decoded field by field and kept decoded: 10 million two-byte pieces
# (``0a 00``, a 20 MB file) cost 87 s and 1.5 GB before this bound, and 100 MiB holds 50 million.
MAX_PIECES = 1 << 20
TRAINER_DEFAULTS = {"unk_id": 0, "bos_id": 1, "eos_id": 2, "unk_piece": "<unk>", "bos_piece": "<s>",
                    "eos_piece": "</s>"}
# the first line of a tiktoken file ("IQ== 0": a token's bytes in base64 and its rank; tiktoken.load splits each
# line at whitespace), which protobuf cannot parse: a ModelProto's first byte is a field key, never such text
_TIKTOKEN_LINE = re.compile(rb"[A-Za-z0-9+/]+={0,2}[ \t]+[0-9]+\r?(?:\n|$)")


def int32(value: int) -> int:
    """A varint's value as protobuf reads an int32 or enum field: its low 32 bits, signed."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >> 31 else value


class SentencePieceModel:
    """A tokenizer.model's bytes, read on demand."""

    def __init__(self, path: Path, raw: bytes) -> None:
        self.path = path
        self.raw = raw

    @property
    def is_tiktoken(self) -> bool:
        """Whether the file is a tiktoken vocabulary named tokenizer.model (Llama 3's ``original/`` folder, GLM-4).
        transformers 5 builds such a tokenizer with tiktoken when the SentencePiece extraction fails
        (``TokenizersBackend._convert_from_tiktoken``, tokenization_utils_tokenizers.py) and keeps the ids
        ``added_tokens_decoder`` declares from the base vocabulary's size on; eos-guard does not read its ranks."""
        return _TIKTOKEN_LINE.match(self.raw, 0, 4096) is not None

    def _error(self, offset: int, problem: str) -> InputError:
        return InputError(self.path, f"byte {offset:,}: {problem}: not a SentencePiece model transformers can load")

    def _varint(self, pos: int, end: int, limit: int = VARINT_BYTES) -> tuple[int, int]:
        data = self.raw
        value = shift = 0
        start = pos
        while True:
            if pos >= end:
                raise self._error(start, "a varint runs past the end of its field")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value & 0xFFFFFFFFFFFFFFFF, pos
            shift += 7
            if shift >= 7 * limit:
                raise self._error(start, f"a {'varint' if limit == VARINT_BYTES else 'key or length'} is longer "
                                         f"than {limit} bytes")

    def _fields(self, pos: int, end: int, depth: int = DEPTH - 1) -> Iterable[tuple[int, int, int, int]]:
        """``(field, wire type, value or payload start, payload end)`` of each field of a message in ``[pos, end)``
        (a length-delimited field's value is its payload's start), checked as protobuf checks them. A group, which
        no SentencePiece field is, is one item of wire type START_GROUP from its start to its end (its fields
        skipped, up to ``depth`` groups nested: protobuf's limit)."""
        groups: list[tuple[int, int]] = []  # the open groups: (field, offset)
        while pos < end:
            start = pos
            key, pos = self._varint(pos, end, KEY_BYTES)
            field, wire = key >> 3, key & 7
            if field == 0 or key >> 32:
                raise self._error(start, f"a field number is {'0' if field == 0 else 'over 2**29'}")
            if wire == VARINT:
                value, pos = self._varint(pos, end)
                after = pos
            elif wire == LEN:
                length, pos = self._varint(pos, end, LENGTH_BYTES)
                if length > end - pos or length >= LENGTH_LIMIT:
                    raise self._error(start, f"a field of {length:,} bytes runs past the end of its message")
                value, after = pos, pos + length
                pos = after
            elif wire in (I64, I32):
                size = 8 if wire == I64 else 4
                if size > end - pos:
                    raise self._error(start, "a fixed-size field runs past the end of its message")
                value, after = pos, pos + size
                pos = after
            elif wire == START_GROUP:
                if len(groups) >= depth:
                    raise self._error(start, f"groups are nested more than {DEPTH} deep")
                groups.append((field, start))
                continue
            elif wire == END_GROUP:
                if not groups or groups[-1][0] != field:
                    raise self._error(start, "a group ends that was not started")
                field, start = groups.pop()
                if not groups:  # a whole group, which no consumer reads: its place, for a walk to step over it
                    yield field, START_GROUP, start, pos
                continue
            else:
                raise self._error(start, f"wire type {wire} does not exist")
            if not groups:
                yield field, wire, value, after
        if groups:
            raise self._error(groups[-1][1], "a group runs past the end of its message")

    @cached_property
    def _outline(self) -> tuple[list[int], list[int], dict[str, int | str], dict[int, tuple[str | None, int]]]:
        """The payload offsets of every piece (start, end), the trainer spec, and the pieces not written as
        protobuf writes them (decoded: their text and type)."""
        pointer = lfs_pointer(self.path, self.raw[:64])
        if pointer is not None:
            raise pointer
        return self._walk({})

    def _walk(self, wanted: dict[bytes, str]) -> tuple[list[int], list[int], dict[str, int | str],
                                                      dict[int, tuple[str | None, int]]]:
        """:attr:`_outline`, noting in ``self._seen`` the place of each ``wanted`` text (encoded) met on the way
        (the last place of a text twice). Every byte is checked as protobuf checks it when it parses the file."""
        data, end = self.raw, len(self.raw)
        starts: list[int] = array("q")  # type: ignore[assignment]  # 8 bytes a piece: 1M pieces in 16 MB
        ends: list[int] = array("q")  # type: ignore[assignment]
        odd: dict[int, tuple[str | None, int]] = {}
        spec: dict[str, int | str] = dict(TRAINER_DEFAULTS)
        seen: dict[bytes, int] = {}
        lengths = {len(text) for text in wanted}
        append_start, append_end = starts.append, ends.append
        pos = 0
        while pos < end:
            if len(starts) > MAX_PIECES:
                raise self._too_many(starts)
            # the common case, as protobuf writes a piece of under 128 bytes: 0x0a, its length, then its text
            # (0x0a, a length under 128, the bytes), its score (0x15, 4 bytes) and its type when not NORMAL (0x18,
            # a value under 128)
            if data[pos] == 0x0A and pos + 3 < end and data[pos + 2] == 0x0A:
                size, length = data[pos + 1], data[pos + 3]
                extra = size - length  # the score's 5 bytes, and the type's 2
                after = pos + 2 + size
                # (after <= end first: every index below is then inside the file)
                if size < 0x80 and after <= end and (extra == 7 or extra == 9 and data[after - 2] == 0x18
                                                     and data[after - 1] < 0x80) and data[pos + 4 + length] == 0x15:
                    if length in lengths and data[pos + 4:pos + 4 + length] in wanted:
                        seen[data[pos + 4:pos + 4 + length]] = len(starts)
                    append_start(pos + 2)
                    append_end(after)
                    pos = after
                    continue
            field, wire, value, after = next(iter(self._fields(pos, end, DEPTH)))
            if field == 1 and wire == LEN:
                text, kind = self._decode(value, after)
                if text in wanted:
                    seen[text] = len(starts)
                odd[len(starts)] = (self._text(text), kind)
                starts.append(value)
                ends.append(after)
            elif field == 2 and wire == LEN:
                self._read_trainer_spec(value, after, spec)
            elif field in SUBMESSAGES and wire == LEN:
                for _ in self._fields(value, after):
                    pass
            pos = after
        if len(starts) > MAX_PIECES:
            raise self._too_many(starts)
        self._seen = seen
        return starts, ends, spec, odd

    def _too_many(self, starts: list[int]) -> InputError:
        return InputError(self.path, f"byte {starts[MAX_PIECES]:,}: more than {MAX_PIECES:,} pieces, four times the "
                                     "largest SentencePiece vocabulary known; not read")

    def _decode(self, pos: int, end: int) -> tuple[bytes, int]:
        """A piece message's text (its last ``piece`` field) and type (its last valid one; NORMAL, 1, without)."""
        text, kind = b"", 1
        for field, wire, value, after in self._fields(pos, end):
            if field == 1 and wire == LEN:
                text = self.raw[value:after]
            elif field == 3 and wire == VARINT and int32(value) in PIECE_TYPES:
                kind = int32(value)
        return text, kind

    @staticmethod
    def _text(raw: bytes) -> str | None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def _read_trainer_spec(self, pos: int, end: int, spec: dict[str, int | str]) -> None:
        """Merge a trainer_spec message into ``spec`` (protobuf merges a message field written twice)."""
        for field, wire, value, after in self._fields(pos, end):
            if field in _TRAINER_INTS and wire == VARINT:
                spec[_TRAINER_INTS[field]] = int32(value)
            elif field in _TRAINER_PIECES and wire == LEN:
                spec[_TRAINER_PIECES[field]] = self.raw[value:after].decode("utf-8", "replace")

    @property
    def size(self) -> int:
        """The number of pieces."""
        return len(self._outline[0])

    def _piece(self, index: int) -> tuple[str | None, int]:
        """The text and type of piece ``index`` (None for a text that is not UTF-8; type 1, NORMAL, when absent)."""
        odd = self._outline[3].get(index)
        if odd is not None:
            return odd
        text, kind = self._decode(self._outline[0][index], self._outline[1][index])
        return self._text(text), kind

    def ids(self, wanted: Iterable[str]) -> dict[str, int | None]:
        """The id of each wanted text (None where it is no piece); a text twice takes its last place, as
        transformers' ``{piece: id}`` table does.

        Each text is found by its bytes at the start of a piece written as protobuf writes one (key 0x0a, the
        length, the text); the pieces written otherwise were decoded when the file was walked. A text whose bytes
        are found many times elsewhere (inside other pieces or scores) makes every piece decoded instead."""
        wanted = list(wanted)
        if "_outline" not in self.__dict__:  # the first look-up walks the pieces and finds these on the way
            encoded = {text.encode("utf-8", "surrogatepass"): text for text in wanted}
            self.__dict__["_outline"] = self._walk(encoded)
            found: dict[str, int | None] = dict.fromkeys(wanted)
            for text, index in self._seen.items():
                if self._piece(index)[0] == encoded[text]:
                    found[encoded[text]] = index
            return found
        return self._ids(wanted)

    def _ids(self, wanted: list[str]) -> dict[str, int | None]:
        starts, ends, _, odd = self._outline
        if "_table" in self.__dict__:
            return {text: self._table.get(text) for text in wanted}
        found: dict[str, int | None] = {}
        data = self.raw
        for text in wanted:
            encoded = text.encode("utf-8", "surrogatepass")
            needle = b"\n" + _varint_bytes(len(encoded)) + encoded
            found[text] = None
            at = data.find(needle)  # forward: find is much faster than rfind; the last match wins
            misses = 0
            while at >= 0:
                index = bisect_right(starts, at) - 1
                if index >= 0 and starts[index] == at and index not in odd and self._piece(index)[0] == text:
                    found[text] = index
                else:
                    misses += 1
                    if misses > MAX_MISSES:
                        return {text: self._table.get(text) for text in wanted}
                at = data.find(needle, at + 1)
        for index, (text, _) in odd.items():  # in id order: the last place of a text wins
            if text in found and (found[text] is None or found[text] < index):
                found[text] = index
        return found

    @cached_property
    def _table(self) -> dict[str, int]:
        """Every piece's id, decoded one by one (the last place of a text twice)."""
        table: dict[str, int] = {}
        for index in range(self.size):
            text = self._piece(index)[0]
            if text is not None:
                table[text] = index
        return table

    @cached_property
    def special_pieces(self) -> dict[str, int]:
        """The CONTROL and USER_DEFINED pieces and their ids, in id order: transformers makes them added tokens
        (``SentencePieceExtractor.extract``)."""
        starts, ends, _, odd = self._outline
        indexes = {index for index, (_, kind) in odd.items() if kind in (CONTROL, USER_DEFINED)}
        for match in _SPECIAL_TYPE.finditer(self.raw):  # a piece written as protobuf writes it ends with its type
            index = bisect_right(starts, match.start()) - 1
            if index >= 0 and match.end() == ends[index] and index not in odd:
                indexes.add(index)
        pieces: dict[str, int] = {}
        for index in sorted(indexes):
            text, kind = self._piece(index)
            if text is not None and kind in (CONTROL, USER_DEFINED):
                pieces[text] = index  # a text twice: its last place, as transformers' table keeps
        return pieces

    @cached_property
    def user_defined_pieces(self) -> dict[str, int]:
        """The USER_DEFINED pieces of :attr:`special_pieces`: those sentencepiece itself encodes as one piece from
        text (a CONTROL piece's text is spelled in pieces; only a tokenizer's added tokens make it one)."""
        return {text: index for text, index in self.special_pieces.items() if self._piece(index)[1] == USER_DEFINED}

    @property
    def trainer_spec(self) -> dict[str, int | str]:
        """The trainer spec's unk, bos and eos ids and pieces (the proto's defaults where absent)."""
        return self._outline[2]

    def check(self) -> None:
        """Walk the whole outline now (an InputError for a malformed file)."""
        self._outline


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
