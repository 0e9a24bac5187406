"""``path:line:col: EOS001 message [rule-name]``, one finding a line, then a summary line."""

from __future__ import annotations

from ..errors import display_path
from ..findings import Severity
from ..results import Report


def render(report: Report) -> str:
    lines = []
    for finding in report.findings():
        loc = finding.location
        lines.append(f"{printable(display_path(loc.path))}:{loc.line}:{loc.column}: {finding.code} "
                     f"{printable(finding.message)} [{finding.name}]")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def summary(report: Report) -> str:
    counts = {severity: 0 for severity in Severity}
    for finding in report.findings():
        counts[finding.severity] += 1
    folders = len(report.models)
    checked = f"{folders} model folder{'s' if folders != 1 else ''}"
    parts = [f"{n} {s}{'s' if n != 1 else ''}" for s, n in sorted(counts.items(), reverse=True) if n]
    broken = len(report.errors)
    if broken:
        parts.append(f"{broken} unreadable folder{'s' if broken != 1 else ''}")
    if not parts:
        return f"All checks passed ({checked})."
    return f"Found {', '.join(parts)} in {checked}."


def printable(text: str) -> str:
    """Messages quote strings from the checked files: keep them on one line, without terminal controls,
    ANSI escapes or bidirectional overrides (shown as escapes such as ``\\x1b`` and ``\\u202e``)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
