"""Reads the metadata key/values at the start of a GGUF file, and nothing after them.

The layout follows the GGUF specification (ggml-org/ggml ``docs/gguf.md``) as gguf-py's ``GGUFReader`` reads it:
``GGUF``, a uint32 version (2 or 3; a version whose low 16 bits are zero is the other byte order), uint64
tensor and key/value counts, then the key/values (uint64-length UTF-8 key, uint32 type, value). The tensor
infos and the tensor data that follow are never read. ``GGUFReader`` is not used: it memory-maps the whole
file and builds a view of every tensor.

The file is read front to back in chunks of at most ``CHUNK`` bytes past what is needed. Every length and
count is checked against the bytes left in the file before anything is read or allocated, so a corrupt or
hostile header fails with one line naming the byte offset instead of allocating its claimed sizes.
"""

from __future__ import annotations

import array
import os
import struct
import sys
from pathlib import Path

from .errors import InputError, lfs_pointer
from .records import field, record

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import BinaryIO, Callable

MAGIC = b"GGUF"
VERSIONS = (2, 3)
STRING, ARRAY = 8, 9
# GGUFValueType -> struct format of the scalar types (gguf-py constants.py).
SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
SIZES = {kind: struct.calcsize(fmt) for kind, fmt in SCALARS.items()}
TYPE_NAMES = {0: "uint8", 1: "int8", 2: "uint16", 3: "int16", 4: "uint32", 5: "int32", 6: "float32", 7: "bool",
              STRING: "string", ARRAY: "array", 10: "uint64", 11: "int64", 12: "float64"}
# tokenizer.ggml.token_type values (gguf-py constants.py TokenType).
NORMAL, CONTROL, USER_DEFINED = 1, 3, 4  # tokenizer.ggml.token_type values
TOKEN_TYPE_NAMES = {1: "NORMAL", 2: "UNKNOWN", 3: "CONTROL", 4: "USER_DEFINED", 5: "UNUSED", 6: "BYTE"}
CHUNK = 1 << 20
# the specification's limit for a key, which ggml does not enforce (libllama b11549 loads a 70,000-byte key,
# helper-198): keys up to it are read in the buffer, longer ones as any value (the file's size bounds them)
MAX_KEY_BYTES = 65535


class Field:
    """One kept key/value: where its entry starts, its type, the item type of an array, and its value (an array
    of numbers is an ``array.array`` of its item type, of bools one of 0 and 1; an array of strings a list).

    A class with slots, not a record: a hostile file keeps hundreds of thousands (chat template keys), and a
    record's instance dictionary made reading 800,000 of them cost 11 times the metadata's size (helper-198)."""

    __slots__ = ("offset", "type", "item_type", "value")

    def __init__(self, offset: int, type: int, item_type: int | None, value: object) -> None:
        self.offset, self.type, self.item_type, self.value = offset, type, item_type, value

    def __repr__(self) -> str:
        return f"Field(offset={self.offset!r}, type={self.type!r}, item_type={self.item_type!r}, value={self.value!r})"


@record(frozen=True)
class GgufMetadata:
    path: Path
    fields: dict[str, Field]  # only the keys asked for: the first copy of each (ggml's gguf_find_key)
    end: int                  # the byte offset where the key/value section ends
    # of a key asked for whose first copy is an array, the first later copy that is none: llama.cpp reads the chat
    # template from a map of the keys that are no arrays (llama_model_loader's gguf_kv), where that copy wins
    scalar_copies: dict[str, Field] = field(default_factory=dict)


def _shown(key: str) -> str:
    """A key as it may appear in a one-line message: as it is when printable and short, else quoted with line
    breaks and controls escaped, and cut."""
    if key.isprintable() and len(key) <= 80:
        return key
    return repr(key) if len(key) <= 80 else repr(key[:80]) + "..."


class _Corrupt(Exception):
    """What is wrong at a byte offset; read_metadata turns it into one InputError line."""

    def __init__(self, at: int, message: str) -> None:
        super().__init__(message)
        self.at, self.message = at, message


def read_metadata(path: Path, keep: Callable[[str], bool], max_bytes: int | None = None) -> GgufMetadata:
    """The values of the keys for which ``keep`` is true; ``max_bytes`` bounds the key/value section."""
    try:
        with path.open("rb") as handle:
            return _Reader(handle, path, os.fstat(handle.fileno()).st_size, max_bytes).read(keep)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    except _Corrupt as exc:
        raise InputError(path, f"corrupt GGUF at byte {exc.at}: {exc.message}") from None


class _Reader:
    def __init__(self, handle: BinaryIO, path: Path, size: int, max_bytes: int | None) -> None:
        self.handle, self.path, self.size = handle, path, size
        self.limit = size if max_bytes is None else min(size, max_bytes)
        self.buffer = b""
        self.start = 0  # the file offset of buffer[0]
        self.pos = 0
        self.order = "<"

    def read(self, keep: Callable[[str], bool]) -> GgufMetadata:
        if self.size < 4 or self._take(4) != MAGIC:
            # the first read fills the buffer from byte 0 (CHUNK bytes): a pointer's whole text
            raise lfs_pointer(self.path, self.buffer) or \
                InputError(self.path, "not a GGUF file (it does not start with 'GGUF')")
        self._version()
        _tensors, count = self._unpack("QQ", 16)
        self._check_count(count, 13, "key/value count", 16)  # the smallest entry: empty key, type, one byte
        fields: dict[str, Field] = {}
        scalar_copies: dict[str, Field] = {}
        seen: set[bytes] = set()  # llama.cpp refuses a repeated key (gguf_init_from_file_impl), byte for byte
        read_head = struct.Struct(self.order + "Q").unpack_from
        read_kind = struct.Struct(self.order + "I").unpack_from
        for _ in range(count):
            # an entry whose key, type and scalar value lie in the buffer is read there (a hostile file holds
            # millions of keys); the buffer only holds bytes of the file below the limit
            at, buffer = self.pos, self.buffer
            i = at - self.start
            length = read_head(buffer, i)[0] if i + 8 <= len(buffer) else None
            if length is not None and length <= MAX_KEY_BYTES and i + 12 + length <= len(buffer):
                raw = buffer[i + 8:i + 8 + length]
                kind = read_kind(buffer, i + 8 + length)[0]
                self.pos = at + 12 + length
            else:
                raw = self._key()
                kind = None
            if raw in seen:
                raise _Corrupt(at, f"duplicate key {raw.decode('utf-8', 'replace')[:80]!r}")
            seen.add(raw)
            # ggml finds a key by strcmp (gguf_find_key): up to its first NUL, and the first entry that matches wins,
            # so a later entry of the same name up to its NUL is never read (helper-157: it shadowed the eos id)
            key = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
            if key in fields:
                kind = kind if kind is not None else self._unpack("I", 4)[0]
                later = fields[key].type == ARRAY and kind != ARRAY and key not in scalar_copies
                try:
                    item_type, value = self._value(kind, later)
                except _Corrupt as exc:
                    raise _Corrupt(exc.at, f"in {_shown(key)}: {exc.message}") from None
                if later:
                    scalar_copies[key] = Field(at, kind, item_type, value)
                continue
            wanted = keep(key)
            if not wanted and kind in SIZES and self.pos + SIZES[kind] <= self.start + len(self.buffer):
                self.pos += SIZES[kind]
                continue
            try:
                if kind is None:
                    kind = self._unpack("I", 4)[0]
                item_type, value = self._value(kind, wanted)
            except _Corrupt as exc:
                raise _Corrupt(exc.at, f"in {_shown(key)}: {exc.message}") from None
            if wanted:
                fields[key] = Field(at, kind, item_type, value)
        return GgufMetadata(self.path, fields, self.pos, scalar_copies)

    def _version(self) -> None:
        """Checks the version, and learns the byte order from it."""
        version = self._unpack("I", 4)[0]
        if version & 0xFFFF == 0:  # written on a machine of the other byte order (gguf-py does the same)
            self.order = ">"
            version = struct.unpack(">I", struct.pack("<I", version))[0]
        if version not in VERSIONS:
            raise _Corrupt(4, f"GGUF version {version} is not supported (only versions 2 and 3)")

    def _key(self) -> bytes:
        length = self._unpack("Q", 8)[0]
        return self._take(length)

    def _value(self, kind: int, keep: bool) -> tuple[int | None, object]:
        """(item type of an array, value); the value is None when not kept: it is skipped, not decoded."""
        at = self.pos
        if kind in SCALARS:
            data = self._take(struct.calcsize(SCALARS[kind]))
            return None, struct.unpack(self.order + SCALARS[kind], data)[0] if keep else None
        if kind == STRING:
            length = self._unpack("Q", 8)[0]
            if not keep:
                self._skip(length)
                return None, None
            # llama.cpp reads a string value as a C string (gguf_get_val_str's c_str()): up to its first NUL
            return None, self._take(length).split(b"\0", 1)[0].decode("utf-8", "replace")
        if kind != ARRAY:
            raise _Corrupt(at, f"unknown value type {kind}")
        item, count = self._unpack("IQ", 12)
        if item in SCALARS:
            size = struct.calcsize(SCALARS[item])
            self._check_count(count, size, "array length", at + 4)
            if not keep:
                self._skip(count * size)
                return item, None
            # an array of machine numbers, not a list of int objects: 25 million int32 token types of large values
            # cost 13 times their bytes as a list
            values = array.array(SCALARS[item].replace("?", "B"), self._take(count * size))
            if (self.order == "<") != (sys.byteorder == "little"):
                values.byteswap()
            return item, values
        if item == ARRAY:  # ggml's reader (gguf.cpp) refuses it ("invalid GGUF type 9"): llama.cpp loads no such file
            raise _Corrupt(at, "an array of arrays, which llama.cpp's GGUF reader refuses: llama.cpp cannot load the "
                               "file")
        if item != STRING:
            raise _Corrupt(at, f"unknown array item type {item}")
        self._check_count(count, 8, "array length", at + 4)
        return item, self._strings(count, keep)

    def _strings(self, count: int, keep: bool) -> list[str] | None:
        """An array's ``count`` strings (a vocabulary, merges: hundreds of thousands), each read from the buffer in
        place; :meth:`_value` reads the ones that cross the buffer's end (it refills the buffer, checks the room
        and the limit). The buffer only ever holds bytes of the file below the limit."""
        values: list[str] | None = [] if keep else None
        read_length = struct.Struct(self.order + "Q").unpack_from
        buffer, start, i = self.buffer, self.start, self.pos - self.start  # i: where the next string is in buffer
        room = len(buffer) - 8  # a length starting at i <= room is in the buffer
        for _ in range(count):
            if i <= room:
                text = i + 8
                end = text + read_length(buffer, i)[0]
                if end <= room + 8:
                    if values is not None:
                        values.append(buffer[text:end].decode("utf-8", "replace"))
                    i = end
                    continue
            self.pos = start + i
            value = self._value(STRING, keep)[1]
            if values is not None:
                values.append(value)  # type: ignore[arg-type]
            buffer, start = self.buffer, self.start
            i, room = self.pos - start, len(buffer) - 8
        self.pos = start + i
        return values

    def _check_count(self, count: int, smallest: int, what: str, at: int) -> None:
        """A count whose items cannot fit in the rest of the file is corrupt: refuse it before looping over it."""
        if count * smallest > self.size - self.pos:
            raise _Corrupt(at, f"{what} {count} needs at least {count * smallest} more bytes, but the file ends at "
                               f"byte {self.size}")

    def _unpack(self, fmt: str, size: int) -> tuple:
        return struct.unpack(self.order + fmt, self._take(size))

    def _take(self, n: int) -> bytes:
        self._check_room(n)
        end = self.pos + n
        if end > self.start + len(self.buffer):
            self.handle.seek(self.pos)
            self.buffer = self.handle.read(min(max(n, CHUNK), self.limit - self.pos))
            self.start = self.pos
            if len(self.buffer) < n:
                raise _Corrupt(self.pos, "the file shrank while being read")
        i = self.pos - self.start
        self.pos = end
        return self.buffer[i:i + n]

    def _skip(self, n: int) -> None:
        self._check_room(n)
        self.pos += n

    def _check_room(self, n: int) -> None:
        if self.pos + n > self.size:
            raise _Corrupt(self.pos, f"{n} bytes needed, but the file ends at byte {self.size}")
        if self.pos + n > self.limit:
            raise InputError(self.path, f"the metadata is larger than max-file-size ({self.limit} bytes); raise "
                                        "max-file-size in the configuration to read it")
