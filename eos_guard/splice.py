"""Edits of JSON text as splices: only the characters of one value change, every other byte stays.

Each function returns an :class:`Edit` (or None when nothing needs to change) computed from a document's
spans; :func:`apply_edits` applies several to one text. Indentation, key order, CRLF line endings, the final
newline and the ``ensure_ascii`` style of the file are kept because nothing else is re-serialised.
"""

from __future__ import annotations

import json
import re

from .jsonspan import JsonDocument, KeyPath
from .records import record

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SURROGATE = re.compile("[\ud800-\udfff]")
_FIRST_INDENT = re.compile(r"[\r\n]([ \t]+)[^ \t\r\n\]}]")  # a line's indentation before a member or an entry


@record(frozen=True)
class Edit:
    start: int
    end: int
    text: str


def apply_edits(text: str, edits: list[Edit]) -> str:
    """``text`` with every edit made. Edits whose spans overlap are a planning error (two splices of one value
    wrote invalid JSON, helper-195): refused, so nothing of theirs is written."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for before, after in zip(ordered, ordered[1:]):
        if after.start < before.end:
            raise ValueError(f"overlapping edits at characters {before.start}-{before.end} and "
                             f"{after.start}-{after.end}")
    # from the end; at one place a replacement first, then an insertion before it (two insertions at one place
    # come out in reverse order: no plan makes them)
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        text = text[:edit.start] + edit.text + text[edit.end:]
    return text


def dumps_like(doc: JsonDocument, value: Any) -> str:
    """``value`` as JSON on one line, escaping non-ASCII only if the file does (``ensure_ascii`` style). A lone
    surrogate (valid JSON as an escape, read from one) is written as its escape either way: UTF-8 cannot hold it."""
    ascii_file = doc.text.isascii() and "\\u" in doc.text
    text = json.dumps(value, ensure_ascii=ascii_file)
    return text if ascii_file else _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def replace_value(doc: JsonDocument, keys: KeyPath, value: Any) -> Edit:
    span = doc.span(keys)
    assert span is not None, keys
    return Edit(span.start, span.end, dumps_like(doc, value))


def add_to_id_list(doc: JsonDocument, keys: KeyPath, ids: list[int]) -> Edit | None:
    """Append ``ids`` to the int or list at ``keys``: an int becomes a list, a list keeps its layout."""
    current = doc.get(keys)
    if not ids:
        return None
    span = doc.span(keys)
    assert span is not None, keys
    text = doc.text
    if not isinstance(current, list):  # the value keeps its spelling ("-0", "1E2" stay as written)
        return Edit(span.start, span.end, "[" + ", ".join([text[span.start:span.end], *map(str, ids)]) + "]")
    if not current:  # an insertion after the bracket: the whitespace inside stays, byte for byte (insert_member)
        added = ", ".join(str(i) for i in ids)
        inner = text[span.start + 1:span.end - 1]
        newline = _first_line_break(inner)
        if newline:  # on a line of its own, before the first line break: '[\n  ]' keeps its lines
            at = span.start + 1 + inner.index(newline)
            return Edit(at, at, f"{newline}{_inner_indent(text, span.start)}{added}")
        return Edit(span.start + 1, span.start + 1, added)
    first = doc.span(keys + (0,))
    last = doc.span(keys + (len(current) - 1,))
    assert first is not None and last is not None
    if len(current) >= 2:
        second = doc.span(keys + (1,))
        assert second is not None
        separator = text[first.end:second.start]
    else:
        leading = text[span.start + 1:first.start]
        separator = "," + (leading if _first_line_break(leading) else " ")
    return Edit(last.end, last.end, "".join(separator + str(i) for i in ids))


def insert_member(doc: JsonDocument, object_keys: KeyPath, name: str, value: Any) -> Edit:
    """Add ``"name": value`` as the last member of the object at ``object_keys``, indented like its siblings."""
    span = doc.span(object_keys)
    assert span is not None, object_keys
    text = doc.text
    obj = doc.get(object_keys)
    member = f"{json.dumps(name)}: {dumps_like(doc, value)}"
    if not obj:  # an insertion after the brace: the whitespace inside stays, byte for byte
        inner = text[span.start + 1:span.end - 1]
        if inner.strip():  # not JSON whitespace: never reached for a parsed empty object
            return Edit(span.start + 1, span.end - 1, inner + member)
        newline = _first_line_break(inner)
        if newline:  # on a line of its own, before the first line break: '{ \n }' keeps its ' ' and ' '
            at = span.start + 1 + inner.index(newline)
            return Edit(at, at, f"{newline}{_inner_indent(text, span.start)}{member}")
        return Edit(span.start + 1, span.start + 1, member)
    last_key = list(obj)[-1]
    last_value = doc.span(object_keys + (last_key,))
    assert last_value is not None
    # The whitespace before the last member's key is the indentation the new member gets.
    key_start = _key_start(text, span.start, last_value.start)
    line_start = max(text.rfind("\n", 0, key_start), text.rfind("\r", 0, key_start)) + 1  # a lone CR ends one too
    before = text[line_start:key_start] if text[line_start:key_start].strip() == "" else None
    if before is not None and line_start > span.start:
        # the last member's line keeps what ends it (trailing spaces, its own CRLF or LF): the comma goes after
        # the value, the new line after that line's trailing spaces, and ends as the line it splits off did
        ws_end = last_value.end
        while text[ws_end:ws_end + 1] in (" ", "\t"):
            ws_end += 1
        if text[ws_end:ws_end + 1] in ("\r", "\n"):
            newline = "\r\n" if text.startswith("\r\n", ws_end) else text[ws_end]  # CRLF, LF or a lone CR
            return Edit(last_value.end, ws_end, f",{text[last_value.end:ws_end]}{newline}{before}{member}")
        newline = "\r\n" if text[line_start - 2:line_start] == "\r\n" else text[line_start - 1]
        return Edit(last_value.end, last_value.end, f",{newline}{before}{member}")
    return Edit(last_value.end, last_value.end, f", {member}")


def _first_line_break(whitespace: str) -> str:
    """The first line break of the whitespace inside an empty list or object: CRLF, LF or a lone CR (an old Mac
    file's), or "" when it has none."""
    at = min((whitespace.find(c) for c in "\r\n" if c in whitespace), default=-1)
    if at < 0:
        return ""
    return "\r\n" if whitespace.startswith("\r\n", at) else whitespace[at]


def _inner_indent(text: str, bracket: int) -> str:
    """The indentation of a first entry inside the empty list or object opened at ``bracket``: its line's own
    indentation and one step more, the step being the file's first indented line's (two spaces in a file without
    one), as json.dumps(indent=...) would have written it."""
    line_start = max(text.rfind("\n", 0, bracket), text.rfind("\r", 0, bracket)) + 1
    line = text[line_start:bracket]
    own = line[:len(line) - len(line.lstrip(" \t"))]
    step = _FIRST_INDENT.search(text)
    return own + (step.group(1) if step else "  ")


def _key_start(text: str, object_start: int, value_start: int) -> int:
    """Offset of the opening quote of the key whose value starts at ``value_start``."""
    colon = text.rfind(":", object_start, value_start)
    end_quote = text.rfind('"', object_start, colon)
    pos = end_quote - 1
    while pos > object_start:
        if text[pos] == '"':
            backslashes = 0
            while text[pos - 1 - backslashes] == "\\":
                backslashes += 1
            if backslashes % 2 == 0:
                return pos
        pos -= 1
    return object_start + 1
