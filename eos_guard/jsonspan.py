"""A JSON document that remembers its text, so any value can be located by line and column.

Values come from the standard library's C parser (``json.loads``), which is what transformers uses, so
duplicate keys, ``NaN`` and big numbers mean the same here as there. Positions are found on demand by walking
the raw text along one key path, skipping the values that are not on it with the same C scanner: locating
``eos_token_id`` in a 10 MB tokenizer.json never builds a position table for the whole file. tokenizer.json
itself is read without parsing it whole (:class:`_Outline`), with the values parsing it whole would give.
"""

from __future__ import annotations

import bisect
import gc
import json
import os
import re
import stat
import sys
from json.decoder import scanstring
from pathlib import Path

from .errors import LFS_POINTER, InputError
from .findings import Location
from .records import record

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterator

Key = str | int
KeyPath = tuple[Key, ...]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_WHITESPACE_BYTES = re.compile(rb"[ \t\n\r]*")
_SCAN_VALUE = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]
_UNPARSED = object()
_MISSING = object()
_WHOLE = object()  # an outline's answer: parse the file whole
# what may stand right before a ':' outside strings (the end of a member's name), and right after one (a value);
# right after a '}' outside strings
_BEFORE_COLON = frozenset(b'" \t\n\r')
_AFTER_COLON = frozenset(b' \t\n\r"{[-0123456789tfnNI')  # json.loads reads NaN and Infinity too
_AFTER_BRACE = frozenset(b" \t\n\r,}]")
_OUTSIDE_STRINGS = b" \t\n\r,:[]{}0123456789+-.eEtrufalsn"  # the bytes valid JSON may hold outside strings
# the kinds of value a tokenizer.json read as an outline (_Outline) is known to hold, by key path
_OUTLINED: dict[KeyPath, type] = {(): dict, ("model",): dict, ("model", "vocab"): dict, ("model", "merges"): list}


@record(frozen=True)
class Span:
    """Character offsets ``[start, end)`` of a value in its document's text."""

    start: int
    end: int


class JsonDocument:
    """One JSON file: its text, its value, and positions of the values inside it.

    A ``lazy`` document (tokenizer.json, often 10 MB) keeps its bytes. Laid out as the ``tokenizers`` library
    writes it, it is never decoded or parsed whole unless a position inside it is asked for: :class:`_Outline`
    parses its top level and ``model`` up to the vocabulary, the vocabulary when it is asked for, and never the
    merges. Either way every value :meth:`get` gives is the one ``json.loads`` of the whole file gives (the last
    of a duplicated key, which the ``tokenizers`` library keeps too); any other layout, and any part that does not
    parse, is parsed whole, so a file that is not JSON is the error json gives.
    """

    def __init__(self, path: Path, text: str | None = None, lazy: bool = False, raw: bytes | None = None,
                 rest: tuple[int | None, str] | None = None, data: Any = _UNPARSED) -> None:
        """``data``: the value of ``text``, when the caller parsed it already (with hooks of its own): it is not
        parsed again (a second parse of a hostile file held twice its memory at once)."""
        self.path = path
        self._raw = raw
        # when ``raw`` is only the file's start (:meth:`read` with ``layout``): the limit and its setting's name to
        # read the whole file with
        self._rest = rest
        self._text = text
        head = text[:1] if text is not None else (raw or b"")[:3].decode("utf-8", "replace")[:1]
        if head == "\ufeff":
            raise InputError(path, "cannot parse JSON: file starts with a UTF-8 byte order mark, "
                             "which transformers' json.load rejects", 1, 1)
        self._data: Any = _UNPARSED
        self._children: dict[int, Any] = {}  # container offset -> its members' or items' offsets (_start_of)
        self._spans: dict[KeyPath, Span | None] = {}
        self._line_starts: list[int] | None = None
        self._lines_of = 0  # the length of the text _line_starts were found in
        self._outline = _Outline.read(raw) if lazy and raw is not None and text is None else None
        if self._outline is None:
            self._data = data if data is not _UNPARSED else self._parse_whole()

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = decode_utf8(self.path, self._whole() or b"")
        return self._text

    def _whole(self) -> bytes | None:
        """The bytes of the whole file: read now when only its start was (a warm run that needed no more)."""
        if self._rest is not None:
            rest, self._rest = self._rest, None
            whole = read_bytes(self.path, *rest)
            if not whole.startswith(self._raw or b""):
                raise InputError(self.path, "cannot read file: it changed while it was read; run eos-guard again")
            self._raw = whole
            if self._outline is not None:
                self._outline.raw = whole
        return self._raw

    def bpe_vocab(self) -> tuple[bytes, tuple[int, int]] | None:
        """The bytes of a lazy document and the byte offsets ``[start, end)`` of its BPE ``model.vocab`` object,
        while that object is not parsed yet (vocab_scan.py reads it in pieces); None otherwise."""
        outline = self._checked_outline()
        if outline is None or outline.vocab is not _UNPARSED:
            return None
        self._whole()
        return outline.raw, outline.bounds

    @property
    def checked_layout(self) -> tuple[int, int] | None:
        """The vocabulary bounds of a lazy document whose layout has been checked (the cache keeps them, so that a
        later run on the same bytes can :meth:`vouch` for the checks)."""
        return self._outline.bounds if self._outline is not None else None

    def vouch(self, bounds: tuple[int, int]) -> None:
        """Take the checks of the layout after the vocabulary as passed, for a lazy document whose vocabulary
        starts at ``bounds[0]``: an earlier run made them on the same bytes (the cache keys them by content)."""
        if self._outline is not None and self._outline.bounds is None and self._outline.start == bounds[0]:
            self._outline.bounds = bounds

    def _checked_outline(self) -> _Outline | None:
        """The outline once the layout after its vocabulary is checked (on first use); None for a document parsed
        whole, which one whose layout fails the checks then is."""
        outline = self._outline
        if outline is not None and outline.bounds is None:
            self._whole()  # the checks read the bytes after the vocabulary
            if not outline.check():
                self._data = self._parse_whole()
                self._outline = outline = None
        return outline

    def kind(self, keys: KeyPath) -> type | None:
        """The type of the value at ``keys`` (None where there is none), without parsing a lazy document whole or
        its vocabulary for it."""
        if keys in _OUTLINED and self._checked_outline() is not None:
            return _OUTLINED[keys]
        value = self.get(keys, _MISSING)
        return None if value is _MISSING else type(value)

    @property
    def raw(self) -> bytes:
        """The file's bytes (encoded again from the text for a document read as text)."""
        whole = self._whole()
        return whole if whole is not None else self.text.encode("utf-8")

    def contains(self, text: str) -> bool:
        """Whether the file's text holds ``text``, looked for in the bytes of a document read as bytes (decoding a
        10 MB tokenizer.json for it would cost more than reading it)."""
        return text in self._text if self._text is not None else text.encode("utf-8") in (self._whole() or b"")

    def _parse_whole(self) -> Any:
        """The file's value; a file read as bytes is decoded for it only (a position decodes it again)."""
        return parse(self.path, self._text if self._text is not None else decode_utf8(self.path, self._whole() or b""))

    def release(self) -> None:
        """Drop the text and parsed values once nothing needs them (many folders in a run): afterwards the document
        is empty (``data`` is None, ``get`` answers its default)."""
        self._raw, self._text, self._line_starts, self._spans, self._data = b"", "", None, {}, None
        self._outline = self._rest = None
        self._children = None  # type: ignore[assignment]  # never read again: an empty text has no members

    @property
    def data(self) -> Any:
        if self._data is _UNPARSED:
            self._data = self._parse_whole()
            self._outline = None
        return self._data

    @classmethod
    def read(cls, path: Path, lazy: bool = False, max_bytes: int | None = None,
             setting: str = "max-file-size", layout: tuple[int, int] | None = None) -> JsonDocument:
        """The file at ``path``; ``lazy`` keeps its bytes (tokenizer.json). ``layout``: the vocabulary bounds an
        earlier run checked in these same bytes (vocabulary.warm_layout): the file is read only up to the start of
        its vocabulary, and whole only if more is asked of it (a 12 MB read costs more than the rest of a warm
        check's work)."""
        if lazy and layout is not None:
            start = read_bytes(path, max_bytes, setting, prefix=layout[0] + 1)
            doc = cls(path, lazy=True, raw=start, rest=(max_bytes, setting))
            doc.vouch(layout)
            return doc
        if lazy:
            return cls(path, lazy=True, raw=read_bytes(path, max_bytes, setting))
        return cls(path, read_text(path, max_bytes, setting))

    def get(self, keys: KeyPath, default: Any = None) -> Any:
        """The value at ``keys``, or ``default`` where any step is missing or of the wrong kind."""
        outline = self._checked_outline()
        if outline is not None:
            if keys[:2] == ("model", "vocab"):
                self._whole()
            value = outline.get(keys)
            if value is not _WHOLE:
                return default if value is _MISSING else value
        value = _index(self.data, keys)
        return default if value is _MISSING else value

    def _text_holding(self, keys: KeyPath) -> str:
        """The text to find ``keys`` in: for a top-level member of a lazy document other than ``model``, the decoded
        head its outline read (the member is whole in it, and written nowhere after it); else the whole text."""
        if keys[:1] not in ((), ("model",)) and self._text is None and self._checked_outline() is not None:
            return self._outline.text
        return self.text

    def _start_of(self, keys: KeyPath, text: str) -> int | None:
        """Offset of the value at ``keys`` in ``text``. Each object's members and each array's items are scanned once
        and remembered: a finding per item of a 30,000-id list costs one scan, not 30,000."""
        start: int | None = _WHITESPACE.match(text, 0).end()
        for key in keys:
            opener = text[start:start + 1]
            if isinstance(key, str) and opener == "{":
                members = self._children.get(start)
                if members is None:
                    members = self._children[start] = _members(text, start)
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
        text = self._text_holding(keys)
        start = self._start_of(keys, text)
        found = None
        if start is not None:
            try:
                found = Span(start, _SCAN_VALUE(text, start)[1])
            except (StopIteration, ValueError, RecursionError):
                pass
        self._spans[keys] = found
        return found

    def head_contains(self, text: str) -> bool:
        """Whether the part of the file that holds its top-level members other than ``model`` holds ``text``: a
        lazy document's decoded head, else the whole file, looked for as :meth:`contains` does. Reads nothing
        more (a warm run read tokenizer.json only up to its vocabulary)."""
        if self._text is None and self._checked_outline() is not None:
            return text in self._outline.text
        return self.contains(text)

    def written(self, keys: KeyPath) -> str | None:
        """The text of the value at ``keys`` as the file writes it (``-0`` where json.loads gives 0), or None."""
        found = self.span(keys)
        return None if found is None else self._text_holding(keys)[found.start:found.end]

    def nearest_span(self, keys: KeyPath) -> tuple[Span, bool]:
        """The span of ``keys``, or of the deepest enclosing value that exists; the flag says which."""
        for depth in range(len(keys), -1, -1):
            found = self.span(keys[:depth])
            if found is not None:
                return found, depth == len(keys)
        return Span(0, len(self.text)), False

    def multi_line_whole_value(self) -> tuple[int, int] | None:
        """The line and column where a lazy document's top-level value starts, while its text is not decoded and
        when that value spans lines (then
        ``Where(doc, ()).location()`` marks that character alone), found in its bytes: a finding on a whole 10 MB
        tokenizer.json neither decodes nor scans it (that cost 0.4 s). The value runs from the first to the last
        character that is not JSON whitespace (the file is JSON), so it spans lines when a line break lies between
        them. None for a file on one line, whose end column needs its text, and for a decoded text."""
        if self._text is not None or self._raw is None:
            return None
        raw = self._whole() or b""
        start = _LEADING_SPACE.match(raw).end()
        end = len(raw)
        while end > start and raw[end - 1] in b" \t\n\r":
            end -= 1
        if raw.find(b"\n", start, end) < 0:
            return None
        line = raw.count(b"\n", 0, start) + 1
        return line, start - (raw.rfind(b"\n", 0, start) + 1) + 1  # whitespace is ASCII: bytes are characters

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset (lines end at ``\\n``, so CRLF files count right); inside a
        lazy document's decoded head, found without decoding the whole file."""
        text = self._text
        if text is None and self._checked_outline() is not None and offset <= len(self._outline.text):
            text = self._outline.text  # a prefix of the whole text: the same lines and columns
        elif text is None:
            text = self.text
        if self._line_starts is None or self._lines_of != len(text):
            self._line_starts, self._lines_of = [0] + [m.end() for m in re.finditer("\n", text)], len(text)
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1


_LEADING_SPACE = re.compile(rb"[ \t\n\r]*")
# what a JSON value's Python type is called in messages
KIND_NAMES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
              bool: "a boolean", type(None): "null"}


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
        place = doc.multi_line_whole_value() if not self.keys else None
        if place is not None:
            return Location(doc.path, *place, place[0], place[1] + 1)
        span, _ = doc.nearest_span(self.keys)
        line, column = doc.position(span.start)
        end_line, end_column = doc.position(span.end)
        if end_line != line:
            end_line, end_column = line, column + 1
        return Location(doc.path, line, column, end_line, end_column)


def parse(path: Path, text: str, **hooks: Any) -> Any:
    """``json.loads`` of a file's text (with json.loads's ``parse_int``-style ``hooks``), or an InputError with
    json's reason at its line and character column.

    The garbage collector is paused meanwhile: json.loads makes no reference cycles, and collections while it
    builds millions of small arrays (a hostile 10 MB ``[[],[],...]``) cost five times the parse itself."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        if text.startswith(LFS_POINTER):  # a checkout without git-lfs: the common way to meet a non-JSON file
            raise InputError(path, "cannot parse JSON: a git-LFS pointer, not the file: run git lfs pull", 1,
                             1) from None
        message, place = _message_and_place(exc)
        raise InputError(path, f"cannot parse JSON: {message}", *_text_position(text, place)) from None
    except RecursionError:
        limit = _json_depth_limit()
        line, column = _past_depth(text, limit)
        raise InputError(path, f"cannot parse JSON: nesting is too deep (more than {limit:,} levels, Python's "
                               "limit)", line, column) from None
    except ValueError:  # an integer over Python's int-string limit (json.loads gives no position)
        problem, line, column = long_integer(text)
        raise InputError(path, f"cannot parse JSON: {problem}", line, column) from None
    finally:
        if collecting:
            gc.enable()


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
    if exc.msg.endswith(" at"):  # "Invalid control character at", "Unterminated string starting at": the place
        # json puts after them goes before the message here, so the sentence would end on "at"
        if exc.msg.startswith("Invalid control character"):
            return f"Invalid control character U+{ord(text[pos]):04X} in a string", pos
        return exc.msg[:-len(" at")].replace(" starting", ""), pos
    return exc.msg, pos


def _text_position(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of a character offset, as json.JSONDecodeError counts them."""
    return text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)


def long_integer(text: str, settings: bool = False) -> tuple[str, int, int]:
    """What is wrong with the first integer over Python's int-string limit (4,300 digits), which json.loads (and
    so transformers) cannot read, and its line and column. Digits in a string are no integer (in JSON, on a line
    with an odd number of quotes before them); with ``settings`` (YAML, TOML), nor are those in a comment, and digits
    may be grouped by ``_`` (both parsers drop them before they convert)."""
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
    if settings:
        for match in _settings_tokens(f"(?<![0-9_])-?[0-9](?:_?[0-9]){{{limit},}}").finditer(text):
            if match.lastgroup == "other":
                return _too_many_digits(match[0], limit), *_text_position(text, match.start())
    else:
        # only where a run of digits starts: from inside a run, a search for limit+1 digits would fail again and
        # again (runs of exactly 4,300 digits cost 4300**2 / 2 steps each)
        for match in re.finditer(r"(?<![0-9])-?[0-9]{%d,}" % (limit + 1), text):
            line_start = text.rfind("\n", 0, match.start()) + 1
            before = text[line_start:match.start()]
            if (before.count('"') - before.count('\\"')) % 2 == 0:  # not inside a string (JSON's stay on one line)
                return _too_many_digits(match[0], limit), *_text_position(text, match.start())
    return f"an integer of more than {limit:,} digits, Python's limit", 1, 1


def _too_many_digits(number: str, limit: int) -> str:
    return f"an integer of {sum(c.isdigit() for c in number):,} digits, over Python's limit of {limit:,}"


# What hides brackets and digits from a scan of YAML or TOML: a string (TOML's multi-line ones, a double-quoted one,
# which YAML may run over lines, a single-quoted one) and a comment; ``other`` is what the scan looks for
_SETTINGS_HIDING = r'"""[\s\S]*?(?:"""|\Z)|\'\'\'[\s\S]*?(?:\'\'\'|\Z)|"(?:[^"\\]|\\.)*"?|\'[^\'\n]*\'?|#[^\n]*'


def _settings_tokens(other: str) -> re.Pattern[str]:
    return re.compile(f"(?P<hidden>{_SETTINGS_HIDING})|(?P<other>{other})")


def _json_depth_limit() -> int:
    """The deepest nesting json.loads parses here: what Python's recursion limit leaves (about 990 levels in Python
    3.11, about 10,000 in 3.13, whose C code has a limit of its own), found by parsing nested empty arrays (a few
    milliseconds, only for a file that is too deep)."""
    low, high = 1, 1 << 17
    while low < high:
        middle = (low + high + 1) // 2
        try:
            json.loads("[" * middle + "]" * middle)
            low = middle
        except RecursionError:
            high = middle - 1
    return low


def _past_depth(text: str, limit: int) -> tuple[int, int]:
    """The line and column of the first bracket of a JSON text nested more than ``limit`` deep: where json.loads
    gave up. The scan stops there (a hostile 94 MiB file took 12 s to scan whole: helper-193); 1:1 where no
    bracket is (the parser ran out of recursion for another reason)."""
    start = next((start for depth, start in _openings(re.finditer(_BRACKETS, text)) if depth > limit), None)
    return _text_position(text, start) if start is not None else (1, 1)


# a bracket, or a string of a JSON text (which hides the brackets in it); compiled when an error needs it
_BRACKETS = r'[\[\]{}]|"(?:[^"\\\n]|\\.)*"?'


def _openings(tokens: Iterator[re.Match[str]]) -> Iterator[tuple[int, int]]:
    """The depth each opening bracket among ``tokens`` (brackets, and strings that hide the ones in them) reaches,
    and its offset."""
    depth = 0
    for token in tokens:
        bracket = token[0]
        if bracket == "[" or bracket == "{":
            depth += 1
            yield depth, token.start()
        elif bracket == "]" or bracket == "}":
            depth -= 1


def deepest_nesting(text: str) -> tuple[int, int]:
    """The line and column where the nesting of a YAML or TOML text is deepest: the bracket that opens its innermost
    level, skipping strings and comments; for a text nested by indentation (YAML's block style, no bracket nested 32
    deep), the first of its most indented lines. A settings file is small (1 MiB at most), so it is scanned whole: a
    best guess at where the parser gave up, which PyYAML and tomllib do not say."""
    deepest, where = max(_openings(_settings_tokens(r"[\[\]{}]").finditer(text)), key=lambda pair: (pair[0], -pair[1]),
                         default=(0, 0))
    if deepest < 32:
        lines = [(len(line) - len(line.lstrip(" ")), number) for number, line in enumerate(text.split("\n"), 1)
                 if line.strip() and not line.lstrip().startswith("#")]
        indent, number = max(lines, key=lambda pair: (pair[0], -pair[1]), default=(0, 1))
        return number, indent + 1
    return _text_position(text, where)


def _members(text: str, start: int) -> dict[str, int]:
    """Offsets of the values of the object at ``start``, by member name: the last occurrence of a duplicated name
    (as json.loads keeps). A member that does not scan ends the table."""
    found: dict[str, int] = {}
    pos = _WHITESPACE.match(text, start + 1).end()
    while text[pos:pos + 1] == '"':
        try:
            name, pos = scanstring(text, pos + 1)
        except ValueError:
            break
        pos = _WHITESPACE.match(text, pos).end() + 1  # past ':'
        value_start = found[name] = _WHITESPACE.match(text, pos).end()
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


class _Outline:
    """A tokenizer.json laid out as the ``tokenizers`` library writes it, read without its vocabulary and merges::

        {<members>, "model": {<members>, "vocab": {<vocabulary>}, "merges": [<merges>]}}

    The members before the vocabulary (``added_tokens``, ``post_processor``, ``model.type``, ...: a few KB) are
    parsed from a decoded head of the file, each once. The vocabulary ends at its first ``}`` outside a string,
    and must be followed by the merges, the model's ``}`` and the file's ``}`` only: the merges may hold no ``:``
    outside a string, which would be a member after them (json.loads, and the ``tokenizers`` library, would let
    it replace one read here). For a file that is valid JSON these facts make every value read here the one
    ``json.loads`` of the whole file gives; they are found from the few bytes around each ``}`` of the vocabulary
    and each ``:`` of the merges (:func:`_first_outside_strings`). The vocabulary is parsed when it is asked for
    (vocab_scan.py scans it instead), and must then be one object; the merges, most of the file, are never parsed.
    A file laid out otherwise, or that does not parse where it is read, is parsed whole by its document.
    """

    HEAD = 1 << 16  # bytes decoded first: the members before the vocabulary; four times more while they go on

    def __init__(self, raw: bytes, text: str, members: dict[str, Any], model: dict[str, Any], start: int) -> None:
        self.raw, self.text, self.members, self.model, self.start = raw, text, members, model, start
        self.bounds: tuple[int, int] | None = None  # the vocabulary's, once the layout after it is checked
        self.vocab: Any = _UNPARSED  # parsed when asked for

    def check(self) -> bool:
        """Whether the layout after the vocabulary is the one the outline reads (see the class)."""
        stop = _bpe_vocab_end(self.raw, self.start)
        if stop is not None:
            self.bounds = (self.start, stop)
        return stop is not None

    @classmethod
    def read(cls, raw: bytes) -> _Outline | None:
        """The outline of ``raw``, or None. The garbage collector is paused meanwhile, as in :func:`parse`: the
        members before the vocabulary may be long arrays of small values, and in a process with a large heap (a
        long run, a test session) each collection while they are built scans all of it."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            return cls._read(raw)
        finally:
            if collecting:
                gc.enable()

    @classmethod
    def _read(cls, raw: bytes) -> _Outline | None:
        head, size = _Head(), cls.HEAD
        while True:
            end = min(len(raw), size)
            while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # never cut a UTF-8 sequence
                end -= 1
            try:
                text = raw[:end].decode("utf-8")
                vocab = head.walk(text)
            except (_Short, StopIteration, ValueError):  # cut by the end of the head, or not JSON
                if end == len(raw):
                    return None
                size *= 4  # the members read so far are kept: the walk goes on from the one that was cut
                continue
            except RecursionError:
                return None
            if vocab is None:
                return None
            return cls(raw, text, head.members, head.model, len(text[:vocab].encode("utf-8")))

    def get(self, keys: KeyPath) -> Any:
        """The value at ``keys``, ``_MISSING``, or ``_WHOLE`` where only the whole file can say."""
        if keys[:1] != ("model",):
            return _index(self.members, keys) if keys else _WHOLE
        if keys[1:2] == ("vocab",):
            if self.vocab is _UNPARSED:
                start, end = self.bounds
                try:
                    self.vocab = json.loads(self.raw[start:end].decode("utf-8"))
                except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
                    self.vocab = _WHOLE
            return self.vocab if self.vocab is _WHOLE else _index(self.vocab, keys[2:])
        if len(keys) == 1 or keys[1] == "merges":
            return _WHOLE
        return _index(self.model, keys[1:])


class _Short(Exception):
    """The decoded head of the file ends before the members before the vocabulary do."""


class _Head:
    """The top-level members before ``model`` and model's members before ``vocab``, read from a decoded head of
    the file; a walk cut by the end of the head goes on from the last member it finished in a longer head."""

    def __init__(self) -> None:
        self.members: dict[str, Any] = {}
        self.model: dict[str, Any] = {}
        self.in_model = False
        self.pos = -1  # where the next member's name starts; -1: the file's first character is still to read

    def walk(self, text: str) -> int | None:
        """Where the vocabulary object starts in ``text``, or None when the file does not begin that way."""
        pos = self.pos
        if pos < 0:
            pos = _next(text, 0)
            if text[pos] != "{":
                return None
            pos = self.pos = _next(text, pos + 1)
        while text[pos] == '"':
            name, pos = scanstring(text, pos + 1)
            pos = _next(text, pos)
            if text[pos] != ":":
                return None
            pos = _next(text, pos + 1)
            if self.in_model and name == "vocab":
                if text[pos] != "{":
                    return None  # not a BPE vocabulary
                self.model.pop("merges", None)  # replaced by the merges after the vocabulary
                return pos
            if not self.in_model and name == "model" and text[pos] == "{":
                pos = _next(text, pos + 1)
                self.members.pop("model", None)
                self.in_model, self.pos = True, pos
                continue
            value, pos = _SCAN_VALUE(text, pos)
            pos = _next(text, pos)
            if text[pos] != ",":
                return None  # the end of an object before the vocabulary, or not JSON
            pos = _next(text, pos + 1)
            (self.model if self.in_model else self.members)[name] = value
            self.pos = pos  # state changes only once a member is read whole
        return None


def _next(text: str, pos: int) -> int:
    """The position of the next character that is not whitespace; _Short at the end of the decoded head."""
    pos = _WHITESPACE.match(text, pos).end()
    if pos >= len(text):
        raise _Short
    return pos


def _bpe_vocab_end(raw: bytes, start: int) -> int | None:
    """The end of the vocabulary object at byte ``start`` when only ``, "merges": [...]}}`` follows it."""
    close = _first_outside_strings(raw, b"}", start + 1, len(raw), after=_AFTER_BRACE)
    if close is None or close < 0:
        return None
    pos = _WHITESPACE_BYTES.match(raw, close + 1).end()
    if raw[pos:pos + 1] != b",":
        return None
    pos = _WHITESPACE_BYTES.match(raw, pos + 1).end()
    if not raw.startswith(b'"merges"', pos):
        return None
    pos = _WHITESPACE_BYTES.match(raw, pos + 8).end()
    if raw[pos:pos + 1] != b":":
        return None
    merges = _WHITESPACE_BYTES.match(raw, pos + 1).end()
    last = len(raw)
    for closing in b"}}]":  # the file's, the model's, the merges'
        last = _last_nonspace(raw, last)
        if last <= merges or raw[last] != closing:
            return None
    if raw[merges:merges + 1] != b"[" \
            or _first_outside_strings(raw, b":", merges + 1, last, _BEFORE_COLON, _AFTER_COLON) != -1:
        return None
    return close + 1


def _last_nonspace(raw: bytes, end: int) -> int:
    """The offset of the last byte before ``end`` that is not JSON whitespace (-1 for none)."""
    pos = end - 1
    while pos >= 0 and raw[pos] in b" \t\n\r":
        pos -= 1
        if end - pos > 64:  # a long run (hostile): one copy, not a loop per byte
            return len(raw[:end].rstrip(b" \t\n\r")) - 1
    return pos


def _first_outside_strings(raw: bytes, byte: bytes, start: int, end: int, before: frozenset[int] | None = None,
                           after: frozenset[int] = frozenset(range(256))) -> int | None:
    """The offset of the first ``byte`` in ``raw[start:end]`` that lies outside every string, -1 for none, or None
    when the bytes near one cannot say (see :func:`_inside_string`). ``start`` must lie outside strings. Only a
    ``byte`` between one of ``before`` and one of ``after`` is looked at: where JSON allows it outside strings."""
    find, rfind, count = raw.find, raw.rfind, raw.count
    found = find(byte, start, end)
    while found >= 0:
        if (before is None or raw[found - 1] in before) and (found + 1 == len(raw) or raw[found + 1] in after):
            line = rfind(b"\n", found - 4096 if found - 4096 > start else start, found)
            if line >= 0:  # the common case of _inside_string, inline: a line break in the 4 KB before
                quotes = count(b'"', line + 1, found)
                inside = quotes & 1 == 1
                if quotes and find(b"\\", line + 1, found) >= 0:
                    inside = _inside_string(raw, found, start)
            else:
                inside = _inside_string(raw, found, start)
            if not inside:
                return None if inside is None else found
        found = find(byte, found + 1, end)
    return -1


def _inside_string(raw: bytes, pos: int, start: int) -> bool | None:
    """Whether byte ``pos`` lies inside a string of a valid JSON file, told from the few bytes before it, or None.

    A line starts outside strings (a string cannot hold a line break): when one starts in the 4 KB before ``pos``,
    the parity of the unescaped quotes between the two says. Otherwise (a file without line breaks), between two
    unescaped quotes bytes lie all inside a string or all outside: inside when they hold an escape or a byte that
    cannot stand outside strings (anything but whitespace, ``,:[]{}``, digits and the letters of numbers, true,
    false and null). Going back from ``pos`` one quote at a time until such a stretch (or ``start``, which lies
    outside strings), the number of quotes passed says. None beyond 64 quotes or 4 KB."""
    floor = max(start, pos - 4096)
    line = raw.rfind(b"\n", floor, pos)
    if line >= 0:
        quotes = raw.count(b'"', line + 1, pos)
        if quotes and raw.find(b'\\"', line + 1, pos) >= 0:
            quotes = _unescaped_quotes(raw, line + 1, pos, quotes)
            if quotes is None:
                return None
        return quotes & 1 == 1
    quotes, stop = 0, pos
    for _ in range(64):
        quote = raw.rfind(b'"', floor, stop)
        if quote < 0:
            return quotes & 1 == 1 if floor == start else None
        if raw[quote - 1] == 92:  # a backslash: the quote is escaped after an odd run of them
            run = raw[max(quote - 16, start):quote]
            run = len(run) - len(run.rstrip(b"\\"))
            if run == 16:
                return None
            if run & 1:
                return quotes & 1 == 0
        if raw[quote + 1:stop].translate(None, _OUTSIDE_STRINGS):  # text: a string's content
            return quotes & 1 == 0
        quotes, stop = quotes + 1, quote
    return None


def _unescaped_quotes(raw: bytes, start: int, end: int, quotes: int) -> int | None:
    """How many of the ``quotes`` in ``raw[start:end]`` a backslash does not escape (``\\"`` is escaped, ``\\\\"``
    is not: quotes after an odd run of backslashes are), or None after runs too long to count this way."""
    run, sign = b'\\"', 1
    while True:  # quotes after at least 1, 2, 3, ... backslashes, taken away and added back in turn
        after = raw.count(run, start, end)
        if not after:
            return quotes
        quotes -= sign * after
        run, sign = b"\\" + run, -sign
        if len(run) > 17:
            return None


def bpe_vocab_bounds(raw: bytes) -> tuple[int, int] | None:
    """Byte offsets ``[start, end)`` of the BPE ``model.vocab`` object of a tokenizer.json laid out as the
    ``tokenizers`` library writes it (:class:`_Outline`), or None. For a valid file, the slice is that object."""
    outline = _Outline.read(raw)
    return outline.bounds if outline is not None and outline.check() else None


def _index(value: Any, keys: KeyPath) -> Any:
    """The value at ``keys`` inside ``value``, or _MISSING."""
    for key in keys:
        if isinstance(key, str) and isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return _MISSING
    return value


def _character_position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and character column of byte ``offset`` (columns count characters in every error, as SARIF's
    ``unicodeCodePoints`` says; an undecodable byte counts as one)."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, len(raw[line_start:offset].decode("utf-8", "replace")) + 1


def decode_utf8(path: Path, raw: bytes) -> str:
    """A file's bytes as UTF-8 text, or an InputError at the line and column of the first byte that is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        unicode = "UTF-32" if raw[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff") else \
            "UTF-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else None
        mark = f": the file starts with a {unicode} byte order mark; save it as UTF-8" if unicode else ""
        raise InputError(path, f"cannot decode UTF-8: invalid byte 0x{raw[exc.start]:02x}{mark}",
                         *_character_position(raw, exc.start)) from None


class NotRead(Exception):
    """A file eos-guard refuses to open (its reason is a finding, not an error: see model_files.py)."""


def read_bytes(path: Path, max_bytes: int | None = None, setting: str = "max-file-size", head: bool = False,
               prefix: int | None = None) -> bytes:
    """A regular file's bytes. FIFOs and devices are never read (opened non-blocking, checked with fstat,
    closed), and a file over ``max_bytes`` raises NotRead before it is read; with ``head``, its first
    ``max_bytes`` bytes are read instead, however large it is; with ``prefix``, its first ``prefix`` bytes (up to
    its end) once it is known to be within ``max_bytes``."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if os.path.islink(path):  # a link whose target is gone (a Hub cache's blob deleted, a moved checkout)
            raise InputError(path, f"cannot read file: a symbolic link to {os.readlink(path)}, which does not "
                                   "exist") from None
        raise InputError(path, "cannot read file: No such file or directory") from None
    except OSError as exc:
        if _not_regular(path):  # a socket: open() refuses it (ENXIO) before fstat could say what it is
            raise NotRead(NOT_REGULAR) from None
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRead(NOT_REGULAR)
        if head and max_bytes is not None:
            return _read_up_to(fd, max_bytes)
        if max_bytes is not None and info.st_size > max_bytes:
            raise NotRead(f"is {info.st_size:,} bytes, over the {setting} limit of {max_bytes:,}; not read")
        if prefix is not None and prefix < info.st_size:
            return _read_up_to(fd, prefix)
        # os.read, not a file object: a run over many small folders reads three files each. Asking for one byte
        # more than the size: a regular file that gives exactly its size has ended (no second call to see it).
        chunks = [os.read(fd, info.st_size + 1)]
        if len(chunks[0]) == info.st_size:
            return chunks[0]
        total = len(chunks[0])
        while chunks[-1]:  # it grew, or the system gave less than asked: read to the end, but not past the limit
            if max_bytes is not None and total > max_bytes:
                raise NotRead(f"grew past the {setting} limit of {max_bytes:,} bytes while it was read; not read")
            chunks.append(os.read(fd, 1 << 20))
            total += len(chunks[-1])
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


NOT_REGULAR = "is not a regular file (a FIFO, socket, device or folder); not opened for reading"


def _not_regular(path: Path) -> bool:
    """Whether ``path`` names something that is not a regular file (its target, for a link)."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _read_up_to(fd: int, size: int) -> bytes:
    """The first ``size`` bytes of an open file, or all of it when it is shorter."""
    data = os.read(fd, size)
    while 0 < len(data) < size:  # the system gave less than asked: the rest, up to the end
        more = os.read(fd, size - len(data))
        if not more:
            break
        data += more
    return data


def read_text(path: Path, max_bytes: int | None = None, setting: str = "max-file-size") -> str:
    """A file's text as UTF-8, or an InputError naming the position of the first byte that is not."""
    return decode_utf8(path, read_bytes(path, max_bytes, setting))
