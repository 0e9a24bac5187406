"""A JSON document that remembers its text, so any value can be located by line and column.

Values come from the standard library's C parser (``json.loads``), which is what transformers uses, so
duplicate keys, ``NaN`` and big numbers mean the same here as there. Positions are found on demand by walking
the raw text along one key path, skipping the values that are not on it with the same C scanner: locating
``eos_token_id`` in a 10 MB tokenizer.json never builds a position table for the whole file.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from json.decoder import scanstring
from pathlib import Path
from typing import Any, Union

from .errors import InputError

Key = Union[str, int]
KeyPath = tuple[Key, ...]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SCAN_VALUE = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Span:
    """Character offsets ``[start, end)`` of a value in its document's text."""

    start: int
    end: int


class JsonDocument:
    """One parsed JSON file: its text, its value, and positions of the values inside it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        if text.startswith("\ufeff"):
            raise InputError(path, "cannot parse JSON: file starts with a UTF-8 byte order mark, "
                             "which transformers' json.load rejects", 1, 1)
        try:
            self.data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"cannot parse JSON: {exc.msg}", exc.lineno, exc.colno) from None
        except RecursionError:
            raise InputError(path, "cannot parse JSON: nesting is too deep", 1, 1) from None
        self._line_starts: list[int] | None = None

    @classmethod
    def read(cls, path: Path, text: str | None = None) -> JsonDocument:
        return cls(path, read_text(path) if text is None else text)

    def get(self, keys: KeyPath, default: Any = None) -> Any:
        """The value at ``keys``, or ``default`` where any step is missing or of the wrong kind."""
        value = self.data
        for key in keys:
            if isinstance(key, str) and isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value):
                value = value[key]
            else:
                return default
        return value

    def has(self, keys: KeyPath) -> bool:
        sentinel = object()
        return self.get(keys, sentinel) is not sentinel

    def span(self, keys: KeyPath) -> Span | None:
        """Where the value at ``keys`` is written (the last occurrence of a duplicated key, as json.loads keeps)."""
        text = self.text
        start = _WHITESPACE.match(text, 0).end()
        for key in keys:
            start = _child_start(text, start, key)
            if start is None:
                return None
        try:
            _, end = _SCAN_VALUE(text, start)
        except (StopIteration, ValueError, RecursionError):
            return None
        return Span(start, end)

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


def _child_start(text: str, start: int, key: Key) -> int | None:
    """Offset of the value of member ``key`` of the object (or item of the array) that starts at ``start``."""
    opener = text[start:start + 1]
    if isinstance(key, str) and opener == "{":
        return _member_start(text, start, key)
    if isinstance(key, int) and opener == "[":
        return _item_start(text, start, key)
    return None


def _member_start(text: str, start: int, wanted: str) -> int | None:
    found = None
    pos = _WHITESPACE.match(text, start + 1).end()
    if text[pos:pos + 1] == "}":
        return None
    while True:
        if text[pos:pos + 1] != '"':
            return found
        name, pos = scanstring(text, pos + 1)
        pos = _WHITESPACE.match(text, pos).end() + 1  # past ':'
        value_start = _WHITESPACE.match(text, pos).end()
        if name == wanted:
            found = value_start
        try:
            _, pos = _SCAN_VALUE(text, value_start)
        except (StopIteration, ValueError, RecursionError):
            return found
        pos = _WHITESPACE.match(text, pos).end()
        if text[pos:pos + 1] != ",":
            return found
        pos = _WHITESPACE.match(text, pos + 1).end()


def _item_start(text: str, start: int, index: int) -> int | None:
    starts = []
    pos = _WHITESPACE.match(text, start + 1).end()
    if text[pos:pos + 1] == "]":
        return None
    while True:
        starts.append(pos)
        if index >= 0 and len(starts) > index:
            return starts[index]
        try:
            _, pos = _SCAN_VALUE(text, pos)
        except (StopIteration, ValueError, RecursionError):
            break
        pos = _WHITESPACE.match(text, pos).end()
        if text[pos:pos + 1] != ",":
            break
        pos = _WHITESPACE.match(text, pos + 1).end()
    return starts[index] if -len(starts) <= index < len(starts) else None


def read_text(path: Path) -> str:
    """A file's text as UTF-8, or an InputError naming the position of the first byte that is not."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise InputError(path, f"cannot decode UTF-8: invalid byte 0x{raw[exc.start]:02x}", line, column) from None
