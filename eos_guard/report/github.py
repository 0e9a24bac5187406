"""GitHub Actions workflow commands, escaped exactly as actions/toolkit's ``issueCommand`` does."""

from __future__ import annotations

import re

from ..errors import InputError, repository_field, shown
from ..findings import Severity
from ..results import Report
from .escape import printable
from .text import summary

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


_LINE_BREAKS = re.compile("([\r\n\t])")


def file_property(path: Path) -> str:
    """A path as the runner matches it to the repository's file: relative to the git work tree that holds it, not
    to where eos-guard runs (``repository_field``); line breaks and tabs kept (``escape_property`` encodes the
    breaks, and the runner decodes them), every other control shown as ``printable`` shows it."""
    return "".join(part if _LINE_BREAKS.fullmatch(part) else printable(part)
                   for part in _LINE_BREAKS.split(shown(repository_field(path))))


def render(report: Report, closing: bool = True) -> str:
    """One workflow command per finding and per error, then the closing line (``closing``: not with ``-q``)."""
    lines = []
    for finding in report.findings():
        loc = finding.location
        url = loc.url  # a Hub file is not in the workflow's repository: the message links to it
        message = f"{finding.message} ({url})" if url else finding.message
        properties = {
            "file": file_property(loc.path),
            "line": str(loc.line),
            "col": str(loc.column),
            "endLine": str(loc.end_line),
            "endColumn": str(loc.end_column),
            "title": f"{finding.code} {finding.name}",
        }
        joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
        lines.append(f"::{COMMANDS[finding.severity]} {joined}::{escape_data(printable(message))}")
    # What stopped a folder or a PATH from being checked is annotated too, where the file and position are known.
    lines += [error_annotation(cause) for cause in report.causes()]
    if closing:
        lines.append(summary(report))
    return "".join(line + "\n" for line in lines)


def error_annotation(cause: InputError, level: str = "error") -> str:
    """An ``::error`` (or ``level``) at the file and position of an error (a file that cannot be read or written, a
    bad setting), taken from the error's fields: a message that merely starts like ``path:line:col:`` (a folder
    named so) places nothing."""
    properties = {"file": file_property(cause.path)} if cause.path is not None else {}
    if cause.path is not None and cause.line:
        properties.update(line=str(cause.line), col=str(cause.column))
    properties["title"] = "eos-guard"
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{level} {joined}::{escape_data(printable(cause.render()))}"
