"""``eos-guard explain``: per model folder, each runtime's stop ids, whether a chat answer stops, and why."""

from __future__ import annotations

from ..errors import display_path, path_field
from ..resolve import ResolvedModel
from ..results import Report
from ..rules.base import describe_ids
from ..runtimes import fix, stops, target_id, why
from .escape import json_text, printable
from .text import summary

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from ..gguf_check import GgufModel


def render(report: Report) -> str:
    blocks = [_model(m.model) for m in report.models if m.model is not None]
    blocks += [_gguf(m.gguf) for m in report.models if m.gguf is not None]
    blocks += [printable(f"{display_path(m.folder)}: cannot be read: {m.error}") for m in report.models if m.error]
    if not report.models:  # a file outside any model folder: say so, as a check's closing line does, not a blank line
        blocks = [summary(report)]
    return "\n\n".join(blocks) + "\n"


def render_json(report: Report) -> str:
    models = []
    for item in report.models:
        model = item.model
        if model is None:
            continue
        models.append({
            "path": path_field(model.folder),
            "generates": model.generates,
            "target": target_id(model),
            "not_read": [{"path": path_field(path), "reason": reason} for path, reason in model.files.skipped],
            "runtimes": [{"runtime": name, "release": stop.release, "source": stop.source, "stop_ids": list(stop.ids),
                          "stops": stops(model, stop), "why": why(model, stop), "fix": fix(model, stop),
                          "notes": list(stop.notes),
                          "other_releases": [{"release": other.release, "stop_ids": list(other.ids),
                                              "stops": stops(model, other)} for other in stop.others]}
                         for name, stop in model.runtime_stops.items()],
        })
    return json_text({"version": 1, "models": models})


VERDICTS = {True: "yes", False: "NO", None: "unknown"}
COLUMNS = ("runtime", "stops?", "stop ids", "why")


def _model(model: ResolvedModel) -> str:
    terminator = model.terminator
    eos = model.tokenizer_eos
    lines = [printable(display_path(model.folder))]
    if terminator is not None and terminator.token is not None:
        before = "".join(f"'{token}' then " for token in terminator.written_before)
        lines.append(printable(f"  chat answers end with {before}'{terminator.token}' "
                               f"({model.describe_id(terminator.id)}), from the '{terminator.template.name}' template"))
    elif eos is not None:
        default = f", {model.eos_default_of}" if model.eos_default_of else ""
        lines.append(printable(f"  no chat template terminator; the tokenizer's eos is '{eos.token}' "
                               f"({model.describe_id(eos.id)}){default}"))
    else:
        lines.append("  no chat template terminator and no tokenizer eos")
    generates = model.generates
    if not generates:
        lines.append(printable(f"  {model.not_generating}, and a check runs no rule about stopping; the rows below "
                               "say what each runtime would stop on if it generated"))
    for path, reason in model.files.skipped:  # what the rows below do without (EOS018 in a check)
        lines.append(printable(f"  {path.name} {reason}: the rows below are without it"))
    rows = [COLUMNS]
    for name, stop in model.runtime_stops.items():
        ids = describe_ids(stop.ids, model)[1:-1]  # the list's items, at most 16 (findings.quoted_list)
        rows.append((name, VERDICTS[stops(model, stop)], printable(ids or "none"), printable(why(model, stop))))
    # One row per runtime, the last column unpadded: a runtime's row may be followed by indented lines of its own.
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
        stop = model.runtime_stops.get(row[0]) if row is not rows[0] else None
        if stop is not None:  # where releases of that runtime disagree, one line each
            lines += [printable(f"    {note}") for note in stop.notes]
    for name, stop in model.runtime_stops.items():
        if stops(model, stop) is False and generates:
            lines.append(printable(f"  fix for {name}: {fix(model, stop)}"))
    if target_id(model) is None:
        lines.append("  unknown: the folder does not say which id a chat answer ends with")
    return "\n".join(lines)


def _gguf(gguf: GgufModel) -> str:
    lines = [printable(display_path(gguf.path))]
    terminator = gguf.terminator
    if terminator is not None and terminator.token is not None:
        shown = terminator.id if terminator.id is not None else "id unknown: not one token of the GGUF"
        lines.append(printable(f"  chat answers end with '{terminator.token}' ({shown}), from "
                               f"{terminator.key}"))
    verdict = VERDICTS[gguf.stops()]
    lines.append(printable(f"  llama.cpp stops on {gguf.describe(gguf.eog)}: {verdict}"))
    return "\n".join(lines)
