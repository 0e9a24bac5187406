"""Reporters render one Report; they compute nothing. Registered by format name."""

from __future__ import annotations

import codecs
import importlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping

from ..errors import OutputFailed

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from ..results import Report

Reporter = Callable[["Report"], str]

# format name -> (module, function) that writes it
_FORMATS = {"text": ("text", "render"), "concise": ("text", "concise"), "json": ("json_v1", "render"),
            "github": ("github", "render"), "sarif": ("sarif", "render")}


class _Reporters(Mapping):
    """Format name -> render function; a format's module is imported only when a run asks for that format."""

    def __getitem__(self, name: str) -> Reporter:
        return _function(*_FORMATS[name])

    def __iter__(self) -> Iterator[str]:
        return iter(_FORMATS)

    def __len__(self) -> int:
        return len(_FORMATS)


REPORTERS: Mapping[str, Reporter] = _Reporters()


def _function(module: str, function: str) -> Callable:
    """A reporter module's function; the module is imported only when a run asks for its format."""
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)


# format name -> (module, function) that gives its text in pieces, for the formats whose text grows with the run
_CHUNKED = {"json": ("json_v1", "chunks")}


def rendered(fmt: str, report: Report) -> Iterable[str]:
    """The report in format ``fmt``, in pieces where the format makes them (for :func:`write`)."""
    if fmt in _CHUNKED:
        return _function(*_CHUNKED[fmt])(report)
    return (REPORTERS[fmt](report),)


MACHINE_FORMATS = ("json", "sarif", "github", "diff")  # diff: the files' own UTF-8, so that the patch applies


WRITE_BLOCK = 1 << 20  # characters of a report in pieces written at once


def write(text: str | Iterable[str], fmt: str = "text") -> None:
    """Write a rendered report to stdout, whatever its encoding. JSON, SARIF and workflow commands are UTF-8
    (RFC 8259; GitHub's runner reads UTF-8), also where the locale says otherwise (a Windows pipe is cp1252).
    Text for a person goes in the stream's encoding, a character it cannot hold written as a Python escape
    (``\\u222a``), as Python's stderr does, instead of failing, and never as a line a GitHub runner would read as
    a workflow command (only the github format writes those). ``text`` may come in pieces (:func:`rendered`):
    they are written about a MB at a time, so the whole text is never held."""
    try:
        if isinstance(text, str):
            _write(text, fmt)
            return
        block: list[str] = []
        size = 0
        for piece in text:
            block.append(piece)
            size += len(piece)
            if size >= WRITE_BLOCK:
                _write("".join(block), fmt)
                block, size = [], 0
        if block:
            _write("".join(block), fmt)
    except BrokenPipeError:  # the reader stopped reading: the caller ends quietly
        raise
    except OSError as exc:  # a full disk, an I/O error: one line on stderr, not an internal error
        raise OutputFailed(None, f"cannot write the output: {exc.strerror or exc}") from None


def _write(text: str, fmt: str) -> None:
    if fmt not in MACHINE_FORMATS and "::" in text:
        from .escape import no_workflow_commands

        text = no_workflow_commands(text)
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        utf8 = False
    if not utf8:
        buffer = getattr(stream, "buffer", None)
        if fmt in MACHINE_FORMATS and buffer is not None:
            stream.flush()
            buffer.write(text.encode("utf-8", "backslashreplace"))
            buffer.flush()
            return
        text = text.encode(encoding, "backslashreplace").decode(encoding, "replace")
    stream.write(text)
