"""A JSON document that remembers its text, so any value can be located by line and column.

Values come from the standard library's C parser (``json.loads``), which is what transformers uses, so
duplicate keys, ``NaN`` and big numbers mean the same here as there. Positions are found on demand by walking
the raw text along one key path, skipping the values that are not on it with the same C scanner: locating
``eos_token_id`` in a 10 MB tokenizer.json never builds a position table for the whole file.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import stat
import sys
from json.decoder import scanstring
from pathlib import Path

from .errors import InputError
from .findings import Location
from .records import record

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

Key = str | int
KeyPath = tuple[Key, ...]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SCAN_VALUE = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]
_UNPARSED = object()
_MISSING = object()


@record(frozen=True)
class Span:
    """Character offsets ``[start, end)`` of a value in its document's text."""

    start: int
    end: int


class JsonDocument:
    """One JSON file: its text, its value, and positions of the values inside it.

    A ``lazy`` document (tokenizer.json, often 10 MB) keeps its bytes and is never decoded or parsed whole
    unless a position inside it is asked for: :meth:`get` walks the raw bytes along the key path, decoding and
    parsing only the values on the way (``model.vocab`` is read without touching the merges). A duplicated
    key then resolves to its first occurrence; the ``tokenizers`` library rejects duplicated keys anyway.
    """

    def __init__(self, path: Path, text: str | None = None, lazy: bool = False, raw: bytes | None = None) -> None:
        self.path = path
        self.lazy = lazy
        self._raw = raw
        self._text = text
        head = text[:1] if text is not None else (raw or b"")[:3].decode("utf-8", "replace")[:1]
        if head == "\ufeff":
            raise InputError(path, "cannot parse JSON: file starts with a UTF-8 byte order mark, "
                             "which transformers' json.load rejects", 1, 1)
        self._data: Any = _UNPARSED
        self._memo: dict[KeyPath, Any] = {}
        self._children: dict[int, Any] = {}  # container offset -> its members' or items' offsets (_start_of)
        self._spans: dict[KeyPath, Span | None] = {}
        if not lazy:
            self._data = self._parse(self.text)
        self._line_starts: list[int] | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _decode(self.path, self._raw or b"")
        return self._text

    @property
    def undecoded(self) -> bytes | None:
        """The bytes of a lazy document whose text has not been decoded (values are then read from the bytes)."""
        return self._raw if self._raw is not None and self._text is None and self._data is _UNPARSED else None

    @property
    def raw(self) -> bytes:
        """The file's bytes (encoded again from the text for a document read as text)."""
        return self._raw if self._raw is not None else self.text.encode("utf-8")

    def _parse(self, text: str) -> Any:
        return parse(self.path, text)

    def release(self) -> None:
        """Drop the text and parsed values once nothing needs them (many folders in a run): afterwards the document
        is empty (``data`` is None, ``get`` answers its default)."""
        self._raw, self._text, self._line_starts, self._spans, self._data = b"", "", None, {}, None
        # never read again: get() memoises only unparsed documents, and an empty text has no members or items
        self._memo = self._children = None  # type: ignore[assignment]

    @property
    def data(self) -> Any:
        if self._data is _UNPARSED:
            self._data = self._parse(self.text)
        return self._data

    @classmethod
    def read(cls, path: Path, lazy: bool = False, max_bytes: int | None = None,
             setting: str = "max-file-size") -> JsonDocument:
        if lazy:
            return cls(path, lazy=True, raw=read_bytes(path, max_bytes, setting))
        return cls(path, read_text(path, max_bytes, setting))

    def get(self, keys: KeyPath, default: Any = None) -> Any:
        """The value at ``keys``, or ``default`` where any step is missing or of the wrong kind."""
        if self._data is _UNPARSED:
            if keys in self._memo:  # a lazy document answers each key path once (tokenizer.json is large)
                value = self._memo[keys]
                return default if value is _MISSING else value
            if self._raw is not None and self._text is None:
                value = _ByteWalker(self.path, self._raw).get(keys, _MISSING)
            else:
                value = self._get_lazily(keys, _MISSING)
            self._memo[keys] = value
            return default if value is _MISSING else value
        value = self.data
        for key in keys:
            if isinstance(key, str) and isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value):
                value = value[key]
            else:
                return default
        return value

    def _get_lazily(self, keys: KeyPath, default: Any) -> Any:
        start = self._start_of(keys)
        if start is None:
            return default
        try:
            return _SCAN_VALUE(self.text, start)[0]
        except (StopIteration, ValueError, RecursionError):
            raise parse_error(self.path, self.raw, len(self.text[:start].encode("utf-8"))) from None

    def _start_of(self, keys: KeyPath) -> int | None:
        """Offset of the value at ``keys``. Each object's members and each array's items are scanned once and
        remembered: a finding per item of a 30,000-id list costs one scan, not 30,000."""
        text = self.text
        start: int | None = _WHITESPACE.match(text, 0).end()
        for key in keys:
            opener = text[start:start + 1]
            if isinstance(key, str) and opener == "{":
                members = self._children.get(start)
                if members is None:
                    members = self._children[start] = _members(text, start, first=self.lazy)
                start = members.get(key)
            elif isinstance(key, int) and opener == "[":
                items = self._children.get(start)
                if items is None:
                    items = self._children[start] = _items(text, start)
                start = items[key] if -len(items) <= key < len(items) else None
            else:
                return None
            if start is None:
                return None
        return start

    def has(self, keys: KeyPath) -> bool:
        sentinel = object()
        return self.get(keys, sentinel) is not sentinel

    def span(self, keys: KeyPath) -> Span | None:
        """Where the value at ``keys`` is written (the last occurrence of a duplicated key, as json.loads keeps).
        Remembered: many findings may point at one long list."""
        if keys in self._spans:
            return self._spans[keys]
        start = self._start_of(keys)
        found = None
        if start is not None:
            try:
                found = Span(start, _SCAN_VALUE(self.text, start)[1])
            except (StopIteration, ValueError, RecursionError):
                pass
        self._spans[keys] = found
        return found

    def nearest_span(self, keys: KeyPath) -> tuple[Span, bool]:
        """The span of ``keys``, or of the deepest enclosing value that exists; the flag says which."""
        for depth in range(len(keys), -1, -1):
            found = self.span(keys[:depth])
            if found is not None:
                return found, depth == len(keys)
        return Span(0, len(self.text)), False

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset (lines end at ``\\n``, so CRLF files count right)."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1


@record(frozen=True)
class Where:
    """A value's place: a document and the key path inside it (``keys=()`` for the whole file)."""

    document: JsonDocument
    keys: KeyPath

    @property
    def path(self) -> Path:
        return self.document.path

    def describe(self) -> str:
        return f"{self.path.name} {dotted(self.keys)}" if self.keys else self.path.name

    def location(self) -> Location:
        """The value's first and last character; a multi-line value is marked at its opening line only
        (annotations on whole files are noise)."""
        doc = self.document
        span, _ = doc.nearest_span(self.keys)
        line, column = doc.position(span.start)
        end_line, end_column = doc.position(span.end)
        if end_line != line:
            end_line, end_column = line, column + 1
        return Location(doc.path, line, column, end_line, end_column)


def parse(path: Path, text: str) -> Any:
    """``json.loads`` of a file's text, or an InputError with json's reason at its line and character column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message, place = _message_and_place(exc)
        raise InputError(path, f"cannot parse JSON: {message}", *_text_position(text, place)) from None
    except RecursionError:
        raise InputError(path, "cannot parse JSON: nesting is too deep", 1, 1) from None
    except ValueError:  # an integer over Python's int-string limit (json.loads gives no position)
        raise InputError(path, *long_integer(text)) from None


def parse_error(path: Path, raw: bytes, offset: int) -> InputError:
    """The error of a file read in parts whose part at byte ``offset`` does not parse: the one parsing the whole
    file gives (json's reason, at the line and character column of the real error, as for every other file), so
    that the place is the same however the file was read. Only ever called for a file that does not parse."""
    text = _decode(path, raw)  # raises the error of the file's first byte that is not UTF-8
    try:
        parse(path, text)
    except InputError as exc:
        return exc
    return InputError(path, "cannot parse JSON", *_character_position(raw, offset))


def dotted(keys: KeyPath) -> str:
    """``generation_config.eos_token_id``-style text of a key path (``added_tokens[3].content``)."""
    return "".join(f"[{k}]" if isinstance(k, int) else (f".{k}" if i else k) for i, k in enumerate(keys))


def _message_and_place(exc: json.JSONDecodeError) -> tuple[str, int]:
    """The error's message and character offset, with Python 3.13's words and place for a trailing comma
    (``{"a": 1,}``, ``[1,]``) on every Python: 3.10 to 3.12 say "Expecting property name enclosed in double
    quotes" (or "Expecting value") at the closing bracket instead, so that the report is the same on every
    version. Only those two messages at the bracket that closes what the comma continues are reworded: 3.13
    reports ``[1,}`` as "Expecting value" at the brace, and so does this."""
    text, pos = exc.doc, exc.pos
    closing = {"Expecting property name enclosed in double quotes": "}", "Expecting value": "]"}.get(exc.msg)
    if closing is not None and text[pos:pos + 1] == closing:
        comma = len(text[:pos].rstrip(" \t\n\r")) - 1
        if comma >= 0 and text[comma] == ",":
            return f"Illegal trailing comma before end of {'object' if closing == '}' else 'array'}", comma
    return exc.msg, pos


def _text_position(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of a character offset, as json.JSONDecodeError counts them."""
    return text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)


def long_integer(text: str) -> tuple[str, int, int]:
    """The message and position of the first integer over Python's int-string limit (4,300 digits), which
    json.loads (and so transformers) cannot read."""
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
    found = re.search(r"[0-9]{%d,}" % (limit + 1), text)
    start = found.start() if found else 0
    before = text[:start]
    line, column = before.count("\n") + 1, start - (before.rfind("\n") + 1) + 1
    digits = f"{found.end() - found.start():,} digits" if found else "too many digits"
    return f"cannot parse JSON: an integer of {digits}, over Python's limit of {limit:,}", line, column




def _members(text: str, start: int, first: bool = False) -> dict[str, int]:
    """Offsets of the values of the object at ``start``, by member name: the last occurrence of a duplicated name
    (as json.loads keeps), or the first with ``first``. A member that does not scan ends the table."""
    found: dict[str, int] = {}
    pos = _WHITESPACE.match(text, start + 1).end()
    while text[pos:pos + 1] == '"':
        try:
            name, pos = scanstring(text, pos + 1)
        except ValueError:
            break
        pos = _WHITESPACE.match(text, pos).end() + 1  # past ':'
        value_start = _WHITESPACE.match(text, pos).end()
        if not (first and name in found):
            found[name] = value_start
        try:
            _, pos = _SCAN_VALUE(text, value_start)
        except (StopIteration, ValueError, RecursionError):
            break
        pos = _WHITESPACE.match(text, pos).end()
        if text[pos:pos + 1] != ",":
            break
        pos = _WHITESPACE.match(text, pos + 1).end()
    return found


def _items(text: str, start: int) -> list[int]:
    """Offsets of the items of the array at ``start``; an item that does not scan is the last one."""
    starts: list[int] = []
    pos = _WHITESPACE.match(text, start + 1).end()
    if text[pos:pos + 1] == "]":
        return starts
    while True:
        starts.append(pos)
        try:
            _, pos = _SCAN_VALUE(text, pos)
        except (StopIteration, ValueError, RecursionError):
            break
        pos = _WHITESPACE.match(text, pos).end()
        if text[pos:pos + 1] != ",":
            break
        pos = _WHITESPACE.match(text, pos + 1).end()
    return starts


class _ByteWalker:
    """Reads values of a lazy document from its bytes, decoding growing windows instead of the whole file."""

    WINDOW = 1 << 16

    def __init__(self, path: Path, raw: bytes) -> None:
        self.path, self.raw = path, raw

    def value_at(self, pos: int) -> tuple[Any, int]:
        """The JSON value starting at byte ``pos`` and the byte offset just after it."""
        raw, window = self.raw, self.WINDOW
        while True:
            end = min(len(raw), pos + window)
            while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # never cut a UTF-8 sequence
                end -= 1
            try:
                text = raw[pos:end].decode("utf-8")
            except UnicodeDecodeError:
                raise parse_error(self.path, raw, pos) from None  # the file's first undecodable byte
            try:
                value, stop = _SCAN_VALUE(text, 0)
            except (StopIteration, ValueError):
                stop = -1
            except RecursionError:  # as for every other file (JsonDocument._parse)
                raise InputError(self.path, "cannot parse JSON: nesting is too deep", 1, 1) from None
            if stop >= 0 and (stop < len(text) or end == len(raw)):
                return value, pos + len(text[:stop].encode("utf-8"))
            if end == len(raw):
                raise parse_error(self.path, raw, pos)
            window *= 4

    def skip_whitespace(self, pos: int) -> int:
        raw = self.raw
        while pos < len(raw) and raw[pos] in b" \t\n\r":
            pos += 1
        return pos

    def member_start(self, pos: int, wanted: str) -> int | None:
        """Byte offset of the value of the first member ``wanted`` of the object at ``pos``."""
        raw = self.raw
        if raw[pos:pos + 1] != b"{":
            return None
        pos = self.skip_whitespace(pos + 1)
        while raw[pos:pos + 1] == b'"':
            name, pos = self.value_at(pos)
            pos = self.skip_whitespace(pos)
            if raw[pos:pos + 1] != b":":
                return None
            value_start = self.skip_whitespace(pos + 1)
            if name == wanted:
                return value_start
            _, pos = self.value_at(value_start)
            pos = self.skip_whitespace(pos)
            if raw[pos:pos + 1] != b",":
                return None
            pos = self.skip_whitespace(pos + 1)
        return None

    def get(self, keys: KeyPath, default: Any) -> Any:
        if keys == ("model", "vocab"):
            found = self._bpe_vocab()
            if found is not None:
                return found
        pos = self.skip_whitespace(0)
        for key in keys:
            if isinstance(key, int):  # arrays: read the array, then index it
                array, _ = self.value_at(pos)
                return array[key] if isinstance(array, list) and -len(array) <= key < len(array) else default
            found = self.member_start(pos, key)
            if found is None:
                return default
            pos = found
        return self.value_at(pos)[0]


    def _bpe_vocab(self) -> dict | None:
        """A BPE ``model.vocab`` decoded and parsed alone (see :func:`bpe_vocab_bounds`), or None for the general
        walk."""
        raw = self.raw
        bounds = bpe_vocab_bounds(raw)
        if bounds is None:
            return None
        start, end = bounds
        try:
            value = json.loads(raw[start:end].decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; the general walk reports it
            return None
        return value if isinstance(value, dict) else None


def bpe_vocab_bounds(raw: bytes) -> tuple[int, int] | None:
    """Byte offsets ``[start, end)`` of a BPE ``model.vocab`` object: the slice between the first ``"vocab":`` key
    of the file and the last ``"merges": [``, or None when the file is not laid out that way.

    ``"merges": [`` cannot occur inside the vocab (its values are numbers), so the last occurrence marks the
    vocab's end; the slice must then parse as exactly one object (the caller's part), or the general walk is used.
    A ``"vocab":`` key earlier than the model's (in a hand-written file) makes the slice span other members, so it
    does not parse and the general walk runs. The searches are chosen for speed on 30 MB files: the first
    ``"vocab":`` is near the start, and searching backwards for ``merges":`` (then checking the quote before it)
    skips faster than for ``"merges":``, whose first byte is the most frequent one of a merges list.
    """
    merges, end_of_search = -1, len(raw)
    while True:  # the last '"merges":[' or '"merges": [', in one backward search
        found = raw.rfind(b'merges":', 0, end_of_search)
        if found < 1:
            break
        after = raw[found + 8:found + 10]
        if raw[found - 1:found] == b'"' and (after[:1] == b"[" or after == b" ["):
            merges = found - 1
            break
        end_of_search = found + 7
    if merges < 0:
        return None
    vocab = raw.find(b'"vocab":', 0, merges)
    model = raw.rfind(b'"model":', 0, vocab) if vocab >= 0 else -1
    if vocab < 0 or model < 0:
        return None
    start = vocab + len(b'"vocab":')
    while start < len(raw) and raw[start] in b" \t\n\r":
        start += 1
    end = raw.rfind(b"}", start, merges) + 1
    if raw[start:start + 1] != b"{" or raw[end:merges].strip(b" \t\r\n") != b",":
        return None
    return start, end


def _character_position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and character column of byte ``offset`` (columns count characters in every error, as SARIF's
    ``unicodeCodePoints`` says; an undecodable byte counts as one)."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, len(raw[line_start:offset].decode("utf-8", "replace")) + 1


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"cannot decode UTF-8: invalid byte 0x{raw[exc.start]:02x}",
                         *_character_position(raw, exc.start)) from None


class NotRead(Exception):
    """A file eos-guard refuses to open (its reason is a finding, not an error: see model_files.py)."""


def read_bytes(path: Path, max_bytes: int | None = None, setting: str = "max-file-size") -> bytes:
    """A regular file's bytes. FIFOs and devices are never read (opened non-blocking, checked with fstat,
    closed), and a file over ``max_bytes`` raises NotRead before it is read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRead("is not a regular file (a FIFO, device or folder); not opened for reading")
        if max_bytes is not None and info.st_size > max_bytes:
            raise NotRead(f"is {info.st_size:,} bytes, over the {setting} limit of {max_bytes:,}; not read")
        # os.read, not a file object: a run over many small folders reads three files each. Asking for one byte
        # more than the size: a regular file that gives exactly its size has ended (no second call to see it).
        chunks = [os.read(fd, info.st_size + 1)]
        if len(chunks[0]) == info.st_size:
            return chunks[0]
        while chunks[-1]:  # it grew, or the system gave less than asked: read to the end
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_text(path: Path, max_bytes: int | None = None, setting: str = "max-file-size") -> str:
    """A file's text as UTF-8, or an InputError naming the position of the first byte that is not."""
    return _decode(path, read_bytes(path, max_bytes, setting))
