"""SARIF 2.1.0, with the fields GitHub code scanning reads (rules with descriptions and help, levels,
repository-relative URIs, regions with start and end line and column)."""

from __future__ import annotations

from ..errors import repository_field
from ..findings import Severity
from ..results import Report
from ..rules import ALL_RULES
from ..version import __version__
from . import rule_doc
from .escape import json_text, uri

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(report: Report) -> str:
    return json_text(document(report))


def document(report: Report) -> dict[str, Any]:
    rules = [{
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.doc().splitlines()[0]},
        "help": {"text": rule_doc.text(rule), "markdown": rule_doc.text(rule)},
        "helpUri": rule_doc.url(rule),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": ["llm", "generation-config"]},
    } for rule in ALL_RULES]
    index = {rule.code: i for i, rule in enumerate(ALL_RULES)}
    results = []
    for finding in report.findings():
        loc = finding.location
        results.append({
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": LEVELS[finding.severity],
            "message": {"text": finding.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": uri(repository_field(loc.path)),
                "region": {"startLine": loc.line, "startColumn": loc.column,
                           "endLine": loc.end_line, "endColumn": loc.end_column},
            }}],
            "partialFingerprints": {"eosGuard/v1": f"{finding.code}:{repository_field(loc.path)}:{loc.line}"},
        })
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "eos-guard", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://github.com/org/eos-guard", "rules": rules}},
            "results": results,
            "invocations": [invocation(report)],
            "columnKind": "unicodeCodePoints",
        }],
    }


def invocation(report: Report) -> dict[str, Any]:
    """Whether every PATH was checked, and a notification for each file or PATH that stopped a check (a file that
    is not valid JSON, a missing PATH), at its file and position where known: those are no finding of a rule, and
    without them a folder that could not be read left no trace in the document."""
    notifications = []
    for cause in report.causes():
        notification: dict[str, Any] = {"level": "error", "message": {"text": cause.render()}}
        if cause.path is not None:
            location: dict[str, Any] = {"artifactLocation": uri(repository_field(cause.path))}
            if cause.line:
                location["region"] = {"startLine": cause.line, "startColumn": max(cause.column or 1, 1)}
            notification["locations"] = [{"physicalLocation": location}]
        notifications.append(notification)
    return {"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}
