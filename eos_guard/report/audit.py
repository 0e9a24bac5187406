"""The results of ``eos-guard --hub-list``: a table per repository (text, Markdown) and the JSON document."""

from __future__ import annotations

from ..findings import Severity
from ..results import RepoResult, Report
from . import json_v1
from .escape import code, json_text, printable

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

COLUMNS = ("repository", "commit", "verdict", "errors", "warnings", "detail")


def _rows(results: list[RepoResult]) -> list[tuple[str, ...]]:
    rows = []
    for result in results:
        counts = _counts(result)
        rows.append((result.ref.label, (result.commit or "-")[:12], result.verdict,
                     *(str(counts[key]) if counts[key] is not None else "-" for key in ("errors", "warnings")),
                     result.failure or ""))
    return rows


def _counts(result: RepoResult) -> dict[str, int | None]:
    """Findings by severity, most severe first; None for a repository that was not checked."""
    checked = result.model is not None and result.model.error is None
    findings = result.model.findings if result.model else []
    return {f"{severity}s": sum(1 for f in findings if f.severity == severity) if checked else None
            for severity in sorted(Severity, reverse=True)}


def _totals(results: list[RepoResult]) -> str:
    verdicts = [r.verdict for r in results]
    parts = ", ".join(f"{verdicts.count(v)} {v}" for v in ("pass", "fail", "error") if v in verdicts)
    return f"Audited {len(results)} repositor{'ies' if len(results) != 1 else 'y'}: {parts}."


def table(results: list[RepoResult]) -> str:
    """An aligned plain-text table, then a totals line."""
    rows = [COLUMNS, *([printable(cell) for cell in row] for row in _rows(results))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = []
    for row in rows:
        cells = [cell.rjust(width) if name in ("errors", "warnings") else cell.ljust(width)
                 for name, cell, width in zip(COLUMNS[:-1], row[:-1], widths)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())  # the last column, detail, is not padded
    return "\n".join([*lines, _totals(results)]) + "\n"


def markdown(results: list[RepoResult]) -> str:
    """The same table in Markdown, for a GitHub job summary."""
    lines = ["## eos-guard Hub audit", "", _totals(results), "", "| " + " | ".join(COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_markdown_cell(name, value) for name, value in zip(COLUMNS, row)) + " |"
              for row in _rows(results)]
    return "\n".join(lines) + "\n\n"


def _markdown_cell(column: str, value: str) -> str:
    """The repository name and the failure detail come from the list and the Hub: code spans, never Markdown."""
    if column in ("verdict", "errors", "warnings") or (column == "commit" and (value == "-" or value.isalnum())):
        return value
    return code(value) if value else ""


def json_document(report: Report, models: list[dict[str, Any]], results: list[RepoResult]) -> str:
    """The JSON document of version 1, with ``repositories`` added. ``report`` holds findings only, ``models`` the
    entries of ``models[]``. A repository that could not be fetched is also in ``errors``, like a folder that could
    not be read."""
    document = json_v1.document(report)
    document["models"] = models
    document["repositories"] = [_repository(result) for result in results]
    document["errors"] += [{"model": f"hf://{r.ref.label}", "message": r.failure}
                           for r in results if r.model is None]
    return json_text(document)


def _repository(result: RepoResult) -> dict[str, Any]:
    return {
        "repo": result.ref.repo,
        "revision": result.ref.revision,
        "commit": result.commit,
        "verdict": result.verdict,
        **_counts(result),
        "failure": result.failure,
    }
