"""Reporters render one Report; they compute nothing. Registered by format name."""

from __future__ import annotations

import codecs
import errno
import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping

from ..errors import OutputFailed

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import BinaryIO

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
    buffer = getattr(stream, "buffer", None)
    if buffer is not None and (fmt in MACHINE_FORMATS or os.linesep == "\n"):  # no newline to translate
        stream.flush()
        _write_all(buffer, text.encode("utf-8" if fmt in MACHINE_FORMATS or utf8 else encoding, "backslashreplace"))
        return
    if not utf8:
        text = text.encode(encoding, "backslashreplace").decode(encoding, "replace")
    stream.write(text)
    stream.flush()


def _write_all(buffer: BinaryIO, data: bytes) -> None:
    """Write all of ``data`` and flush it, so that a failure is this write's OutputFailed. Unflushed, a full disk
    showed only when the interpreter flushed stdout at exit: two lines of "Exception ignored", exit status 120.
    With ``PYTHONUNBUFFERED=1`` (set in many CI images) stdout's buffer is the file itself, whose write may write
    only part of the bytes (a file-size limit, ``ulimit -f``, reached midway), and the text layer above it passes
    over the rest: the report was cut short and the run exited 0 or 1. Here the rest is written again, and the
    next write fails with the reason."""
    view = memoryview(data)
    while True:
        try:
            while view:
                written = buffer.write(view)
                if written is None:  # a non-blocking stdout that is full, unbuffered: wait until it takes more
                    _wait_writable(buffer)
                    continue
                if not written:
                    raise OSError(errno.EIO, "stdout took none of the output")
                view = view[written:]
            buffer.flush()
            return
        except BlockingIOError as exc:  # the same, buffered (Python's default): it took characters_written bytes
            view = view[exc.characters_written:]
            _wait_writable(buffer)


def _wait_writable(buffer: BinaryIO) -> None:
    import select

    select.select([], [buffer.fileno()], [])
