"""The pieces of a SentencePiece ``tokenizer.model``, read without the ``sentencepiece`` or ``protobuf`` packages.

The file is a protobuf ``ModelProto`` (sentencepiece_model.proto): field 1 ``pieces`` (repeated ``SentencePiece``:
``piece`` 1, ``score`` 2, ``type`` 3, where CONTROL is 3 and USER_DEFINED 4), field 2 ``trainer_spec`` (``unk_id``
40, ``bos_id`` 41, ``eos_id`` 42, ``unk_piece`` 45, ``bos_piece`` 46, ``eos_piece`` 47, with the proto's defaults
0, 1, 2, ``<unk>``, ``<s>``, ``</s>``), and others eos-guard skips. A piece's id is its place in ``pieces``, which is
what transformers 5 gives it (``SentencePieceExtractor.extract``, convert_slow_tokenizer.py).

A check needs the number of pieces and the ids of a few strings. The top-level fields are walked by their lengths
(one step per piece, ~5 ms for Llama 2's 32,000), and only the pieces looked up, and those whose bytes may hold a
CONTROL or USER_DEFINED type, are decoded. Every length is checked against the end of the file and every varint
against ten bytes, without recursion: a truncated or malformed file is an ``InputError`` that names the byte offset.
"""

from __future__ import annotations

import re
import struct
from bisect import bisect_right
from functools import cached_property
from pathlib import Path

from .errors import InputError

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterable

CONTROL, USER_DEFINED = 3, 4
VARINT, I64, LEN, I32 = 0, 1, 2, 5
# where a piece's type field may start: its key (field 3, varint) and a CONTROL or USER_DEFINED value
_SPECIAL_TYPE = re.compile(rb"\x18[\x03\x04]")
_TRAINER_INTS = {40: "unk_id", 41: "bos_id", 42: "eos_id"}
_TRAINER_PIECES = {45: "unk_piece", 46: "bos_piece", 47: "eos_piece"}
MAX_MISSES = 16  # places a looked-up text's bytes are found at that start no piece, before decoding them all
TRAINER_DEFAULTS = {"unk_id": 0, "bos_id": 1, "eos_id": 2, "unk_piece": "<unk>", "bos_piece": "<s>",
                    "eos_piece": "</s>"}


class SentencePieceModel:
    """A tokenizer.model's bytes, read on demand."""

    def __init__(self, path: Path, raw: bytes) -> None:
        self.path = path
        self.raw = raw

    def _error(self, offset: int, problem: str) -> InputError:
        return InputError(self.path, f"byte {offset:,}: {problem}: not a SentencePiece model transformers can load")

    def _varint(self, pos: int, end: int) -> tuple[int, int]:
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
                return value, pos
            shift += 7
            if shift >= 70:
                raise self._error(start, "a varint is longer than ten bytes")

    def _fields(self, pos: int, end: int) -> Iterable[tuple[int, int, int, int]]:
        """``(field, wire type, value or payload start, payload end)`` of each field of a message in
        ``[pos, end)``; a length-delimited field's value is its payload's start."""
        while pos < end:
            start = pos
            key, pos = self._varint(pos, end)
            field, wire = key >> 3, key & 7
            if field == 0:
                raise self._error(start, "a field number is 0")
            if wire == VARINT:
                value, pos = self._varint(pos, end)
                yield field, wire, value, pos
            elif wire == LEN:
                length, pos = self._varint(pos, end)
                if length > end - pos:
                    raise self._error(start, f"a field of {length:,} bytes runs past the end of its message")
                yield field, wire, pos, pos + length
                pos += length
            elif wire in (I64, I32):
                size = 8 if wire == I64 else 4
                if size > end - pos:
                    raise self._error(start, "a fixed-size field runs past the end of its message")
                yield field, wire, pos, pos + size
                pos += size
            else:
                raise self._error(start, f"wire type {wire} (groups, or none) is not used by SentencePiece models")

    @cached_property
    def _outline(self) -> tuple[list[int], list[int], tuple[int, int] | None, bool]:
        """The payload offsets of every piece (start, end), of the trainer_spec message, and whether every piece
        message starts with its piece field."""
        return self._walk({})

    def _walk(self, wanted: dict[bytes, str]) -> tuple[list[int], list[int], tuple[int, int] | None, bool]:
        """:attr:`_outline`, noting in ``self._seen`` the place of each ``wanted`` text (encoded) met on the way
        (the last place of a text twice)."""
        data, end = self.raw, len(self.raw)
        starts: list[int] = []
        ends: list[int] = []
        trainer = None
        regular = True
        seen: dict[bytes, int] = {}
        lengths = {len(text) for text in wanted}
        pos = 0
        while pos < end:
            # the common case, a piece of under 128 bytes that starts with its text: 0x0a, one length byte, 0x0a
            if data[pos] == 0x0A and pos + 3 < end and data[pos + 1] < 0x80 and data[pos + 2] == 0x0A:
                payload = pos + 2
                pos = payload + data[pos + 1]
                if pos > end:
                    raise self._error(payload - 2, f"a piece of {data[payload - 1]} bytes runs past the end of the "
                                                   "file")
                if data[payload + 1] in lengths and data[payload + 2:payload + 2 + data[payload + 1]] in wanted:
                    seen[data[payload + 2:payload + 2 + data[payload + 1]]] = len(starts)
                starts.append(payload)
                ends.append(pos)
                continue
            field, wire, value, after = next(iter(self._fields(pos, end)))
            if field in (1, 2) and wire != LEN:
                raise self._error(pos, f"field {field} ({'pieces' if field == 1 else 'trainer_spec'}) is not "
                                       "length-delimited")
            if field == 1:
                starts.append(value)
                ends.append(after)
                regular = regular and value < after and data[value] == 0x0A
            elif field == 2:
                trainer = (value, after)
            pos = after
        self._seen = seen
        return starts, ends, trainer, regular

    @property
    def size(self) -> int:
        """The number of pieces."""
        return len(self._outline[0])

    def _piece(self, index: int) -> tuple[str | None, int]:
        """The text and type of piece ``index`` (None for a text that is not UTF-8; type 1, NORMAL, when absent)."""
        starts, ends = self._outline[:2]
        text, kind = b"", 1
        for field, wire, value, after in self._fields(starts[index], ends[index]):
            if field == 1 and wire == LEN:
                text = self.raw[value:after]
            elif field == 3 and wire == VARINT:
                kind = value
        try:
            return text.decode("utf-8"), kind
        except UnicodeDecodeError:
            return None, kind

    def ids(self, wanted: Iterable[str]) -> dict[str, int | None]:
        """The id of each wanted text (None where it is no piece); a text twice takes its last place, as
        transformers' ``{piece: id}`` table does.

        Each text is found by its bytes as a piece message starts with them (key 0x0a, the length, the text: the
        order protobuf writes fields in); a file whose pieces do not all start so, or whose bytes hold a text's
        many times elsewhere (inside other pieces or scores), is decoded piece by piece instead."""
        wanted = list(wanted)
        if "_outline" not in self.__dict__:  # the first look-up walks the pieces and finds these on the way
            encoded = {text.encode("utf-8", "surrogatepass"): text for text in wanted}
            self.__dict__["_outline"] = self._walk({text: name for text, name in encoded.items() if len(text) < 126})
            if self._outline[3]:
                found = dict.fromkeys(wanted)
                for text, index in self._seen.items():
                    if self._piece(index)[0] == encoded[text]:
                        found[encoded[text]] = index
                found.update(self._ids([text for text in wanted if len(text.encode("utf-8", "surrogatepass")) >= 126]))
                return found
        return self._ids(wanted)

    def _ids(self, wanted: list[str]) -> dict[str, int | None]:
        starts, ends = self._outline[:2]
        if "_table" in self.__dict__ or not self._outline[3]:
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
                if index >= 0 and starts[index] == at and self._piece(index)[0] == text:
                    found[text] = index
                else:
                    misses += 1
                    if misses > MAX_MISSES:
                        return {text: self._table.get(text) for text in wanted}
                at = data.find(needle, at + 1)
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
        starts, ends = self._outline[:2]
        indexes = set()
        for match in _SPECIAL_TYPE.finditer(self.raw):
            index = bisect_right(starts, match.start()) - 1
            if index >= 0 and match.start() < ends[index]:
                indexes.add(index)
        pieces: dict[str, int] = {}
        for index in sorted(indexes):
            text, kind = self._piece(index)
            if text is not None and kind in (CONTROL, USER_DEFINED):
                pieces[text] = index  # a text twice: its last place, as transformers' table keeps
        return pieces

    @cached_property
    def trainer_spec(self) -> dict[str, int | str]:
        """The trainer spec's unk, bos and eos ids and pieces (the proto's defaults where absent)."""
        spec: dict[str, int | str] = dict(TRAINER_DEFAULTS)
        bounds = self._outline[2]
        if bounds is None:
            return spec
        for field, wire, value, after in self._fields(*bounds):
            if field in _TRAINER_INTS and wire == VARINT:
                spec[_TRAINER_INTS[field]] = struct.unpack("<q", struct.pack("<Q", value & (1 << 64) - 1))[0]
            elif field in _TRAINER_PIECES and wire == LEN:
                spec[_TRAINER_PIECES[field]] = self.raw[value:after].decode("utf-8", "replace")
        return spec

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
