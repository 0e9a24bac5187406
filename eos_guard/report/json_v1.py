"""The versioned JSON document (``"version": 1``); docs/output.md describes every field."""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import path_field
from ..resolve import ResolvedModel
from ..results import Report
from ..runtimes import stops
from ..version import __version__
from .escape import json_text

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from ..gguf_check import GgufModel

VERSION = 1


def render(report: Report) -> str:
    """``json.dumps(document(report), indent=2)``."""
    return "".join(chunks(report))


def chunks(report: Report) -> Iterator[str]:
    """:func:`render`'s text in pieces, made one list item at a time: written as they come (report.write), a run
    over thousands of folders never holds the whole document, nor its text (12 MB for 10,000 folders, and as much
    again encoded)."""
    separator = "{\n"
    for key, value in _sections(report):
        yield f"{separator}  {_dumps(key)}: "
        separator = ",\n"
        if isinstance(value, Iterator):
            empty = True
            for item in value:
                yield ("[\n    " if empty else ",\n    ") + _dumps(item, "\n    ")
                empty = False
            yield "[]" if empty else "\n  ]"
        else:
            yield _dumps(value, "\n  ")
    yield "\n}\n"


def _dumps(value: Any, newline: str = "\n") -> str:
    return json_text(value, newline)[:-1]


def document(report: Report) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, Iterator) else value for key, value in _sections(report)}


def _sections(report: Report) -> Iterator[tuple[str, Any]]:
    yield "version", VERSION
    yield "tool", {"name": "eos-guard", "version": __version__}
    yield "findings", (_finding(f) for f in report.findings())
    yield "models", (_model(m.model) for m in report.models if m.model is not None)
    yield "gguf", (gguf_entry(m.gguf) for m in report.models if m.gguf is not None)
    yield "errors", errors_entry(report)
    yield "written", [path_field(path) for path in report.written]


def errors_entry(report: Report) -> list[dict[str, Any]]:
    """What could not be read or checked: a folder (``model``, its error) or a PATH (``model`` None without one)."""
    return [*({"model": path_field(m.folder), "message": m.error} for m in report.models if m.error),
            *({"model": path_field(p.path) if p.path is not None else None, "message": p.render()}
              for p in report.problems)]


def _finding(f: Any) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "severity": str(f.severity),
        "path": path_field(f.location.path),
        "line": f.location.line,
        "column": f.location.column,
        "end_line": f.location.end_line,
        "end_column": f.location.end_column,
        "message": f.message,
        "model": path_field(f.model),
    }


def _after(model: ResolvedModel, tokens: list[str] | None) -> list[dict[str, Any]] | None:
    return [{"token": token, "id": model.vocab.id_of(token)} for token in tokens] if tokens is not None else None


def _model(model: ResolvedModel) -> dict[str, Any]:
    eos = model.tokenizer_eos
    terminator = model.terminator
    return {
        "path": path_field(model.folder),
        "tokenizer_eos": {"token": eos.token, "id": eos.id} if eos else None,
        "terminator": {"token": terminator.token, "id": terminator.id, "template": terminator.template.name}
        if terminator and terminator.token is not None else None,
        "templates": [{"name": t.template.name, "path": path_field(t.template.path), "token": t.token, "id": t.id,
                       "after_call": _after(model, t.probe.after_call),
                       "after_builtin_call": _after(model, dict(t.probe.calls()).get(True))}
                      for t in model.terminators],
        "stop_ids": {name: list(stop.ids) for name, stop in model.runtime_stops.items()},
        "stops": {name: stops(model, stop) for name, stop in model.runtime_stops.items()},
    }


def gguf_entry(gguf: GgufModel) -> dict[str, Any]:
    terminator = gguf.terminator
    return {
        "path": path_field(gguf.path),
        "tokens": len(gguf.tokens),
        "eos_token_id": gguf.written.get("eos"),
        "eot_token_id": gguf.written.get("eot"),
        "eom_token_id": gguf.written.get("eom"),
        "terminator": {"token": terminator.token, "id": terminator.id, "template": terminator.name}
        if terminator and terminator.token is not None else None,
        "templates": [{"name": t.name, "key": t.key, "token": t.token, "id": t.id} for t in gguf.templates],
        "eog_ids": list(gguf.eog),
        "release": gguf.eog_release.label if gguf.eog_release is not None else None,
        "source": gguf.eog_release.source if gguf.eog_release is not None else None,
        "stops": gguf.stops(),
        "folders": [path_field(m.folder) for m in gguf.folders],
    }
