"""Strings from checked files and paths are data: the one place that makes them safe for each output.

- ``printable``: one line, no terminal controls, ANSI escapes, bidirectional overrides, lone surrogates or ``##[``
  (the GitHub runner's older command form) (text, stderr, ``explain``, GitHub annotations), shown as Python
  escapes (``\\n``, ``\\x1b``, ``\\u202e``, ``\\ud800``, ``##\\x5b``);
- ``json_text``: JSON that keeps every string exactly; a lone surrogate (valid JSON, ``"\\ud800"``) is written as
  its ``\\u`` escape, since UTF-8 cannot encode it, and so is the ``[`` of ``##[``;
- ``no_workflow_commands``: text for a person in which no line starts a GitHub workflow command (a folder named
  ``::error file=...::`` starts a line of the text report with its path);
- ``code``: a Markdown code span, safe in a table cell (no link, image, HTML or line break can start in it);
- ``uri``: an RFC 3986 URI reference for a shown path, every segment percent-encoded.
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import PurePosixPath
from urllib.parse import quote

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

_BACKTICKS = re.compile("`+")


def printable(text: str) -> str:
    """Messages quote strings from the checked files: keep them on one line, without terminal controls,
    ANSI escapes, bidirectional overrides or lone surrogates (shown as escapes such as ``\\x1b`` and ``\\u202e``),
    and without the GitHub runner's ``##[command]`` form (its ``[`` shown as ``\\x5b``)."""
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    # the GitHub runner's older command form, which it reads anywhere in a line (actions/runner
    # ActionCommand.TryParse): "##[error]..." in a name or token string would be an annotation in a job's log
    return shown.replace("##[", "##\\x5b") if "##[" in shown else shown


def no_workflow_commands(text: str) -> str:
    """``text`` for a person (text, concise, ``explain``, the ``--hub-list`` table) with no line a GitHub runner
    reads as a workflow command: one that starts with ``::`` once leading whitespace is trimmed (a path that
    starts a line, from a folder named ``::error file=README.md::...``) shows its first ``:`` as the escape
    ``\\x3a``. The strings in it went through ``printable``, which escapes the ``##[command]`` form and leaves the
    space as the only whitespace."""
    if "::" not in text:
        return text
    lines = text.split("\n")
    for number, line in enumerate(lines):
        rest = line.lstrip()
        if rest.startswith("::"):
            lines[number] = line[:len(line) - len(rest)] + "\\x3a" + rest[1:]
    return "\n".join(lines)


def json_text(value: Any, newline: str = "\n") -> str:
    """``value`` as indented JSON, non-ASCII kept as is, and always encodable as UTF-8; ``newline`` is the line
    break and indentation the value's own lines start with (a value nested in a larger document)."""
    try:
        text = _indented(value, newline)
    except _NotPlain:
        text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", newline)
    # A surrogate can only stand inside a JSON string, where its escape means the same code point. (No regular
    # expression: compiling that character class cost ~0.6 ms of every check's start-up.)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = "".join(f"\\u{ord(c):04x}" if "\ud800" <= c <= "\udfff" else c for c in text)
    # "##[" can only stand inside a string: its escape keeps the string and forges no command when the document is
    # printed in a GitHub Actions log (no_workflow_commands)
    return text.replace("##[", "##\\u005b") + "\n"


class _NotPlain(Exception):
    """A value _indented leaves to json.dumps (a float, a key that is not a string, an int or str subclass)."""


def _indented(value: Any, newline: str) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)`` for plain values (strings, ints, booleans, None, lists,
    tuples and dicts with string keys), without the pure-Python encoder ``indent`` selects (a report over
    thousands of folders spent a fifth of its time there)."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    inner = newline + "  "
    if kind is dict:
        if not value:
            return "{}"
        if not all(type(key) is str for key in value):
            raise _NotPlain
        return ("{" + inner + ("," + inner).join(encode_basestring(key) + ": " + _indented(item, inner)
                                                for key, item in value.items()) + newline + "}")
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join(_indented(item, inner) for item in value) + newline + "]"
    raise _NotPlain


def code(text: object) -> str:
    """A Markdown code span showing ``text`` literally, on one line; ``|`` is escaped for table cells (GitHub's
    table parser unescapes it inside code spans too). The fence is longer than any run of backticks inside."""
    shown = printable(str(text)).replace("|", "\\|")
    if not shown:
        return '""'
    longest = max((len(run) for run in _BACKTICKS.findall(shown)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {shown} {fence}"  # one space each side is stripped, and lets the text start with a backtick


def uri(shown_path: str) -> dict[str, str]:
    """SARIF ``artifactLocation`` of a path as shown (relative with ``/``, or absolute)."""
    path = PurePosixPath(shown_path)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    # A file name that is not UTF-8 holds surrogate escapes (os.fsdecode): they become its original bytes.
    return {"uri": quote(shown_path, safe="/", errors="surrogateescape"), "uriBaseId": "%SRCROOT%"}
