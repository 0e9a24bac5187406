"""``eos-guard explain``: per model folder, each runtime's stop ids, whether a chat answer stops, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import display_path
from ..resolve import ResolvedModel
from ..results import Report
from ..rules.base import token_text
from ..runtimes import stops, target_id
from .escape import json_text, printable

if TYPE_CHECKING:
    from ..gguf_check import GgufModel


def render(report: Report) -> str:
    blocks = [_model(m.model) for m in report.models if m.model is not None]
    blocks += [_gguf(m.gguf) for m in report.models if m.gguf is not None]
    blocks += [printable(f"{display_path(m.folder)}: cannot be read: {m.error}") for m in report.models if m.error]
    return "\n\n".join(blocks) + "\n"


def render_json(report: Report) -> str:
    models = []
    for item in report.models:
        model = item.model
        if model is None:
            continue
        models.append({
            "path": display_path(model.folder),
            "target": target_id(model),
            "runtimes": [{"runtime": name, "release": stop.release, "source": stop.source, "stop_ids": list(stop.ids),
                          "stops": stops(model, stop), "why": stop.why, "fix": stop.fix, "notes": list(stop.notes),
                          "other_releases": [{"release": other.release, "stop_ids": list(other.ids),
                                              "stops": stops(model, other)} for other in stop.others]}
                         for name, stop in model.runtime_stops.items()],
        })
    return json_text({"version": 1, "models": models})


def _model(model: ResolvedModel) -> str:
    target = target_id(model)
    terminator = model.terminator
    eos = model.tokenizer_eos
    lines = [printable(display_path(model.folder))]
    if terminator is not None and terminator.token is not None:
        lines.append(printable(f"  chat answers end with '{terminator.token}' ({model.describe_id(terminator.id)}), "
                               f"from the '{terminator.template.name}' template"))
    elif eos is not None:
        lines.append(printable(f"  no chat template terminator; the tokenizer's eos is '{eos.token}' "
                               f"({model.describe_id(eos.id)})"))
    rows = [("runtime", "stop ids", "stops?", "why")]
    for name, stop in model.runtime_stops.items():
        verdict = {True: "yes", False: "NO", None: "?"}[stops(model, stop)]
        ids = printable(", ".join(f"{i} {token_text(model, i)}".strip() for i in stop.ids) or "none")
        rows.append((name, ids, verdict, printable(stop.why)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    for stop in model.runtime_stops.values():
        lines += [printable(f"  {note}") for note in stop.notes]
    failing = [name for name, stop in model.runtime_stops.items() if stops(model, stop) is False]
    for name in failing:
        lines.append(printable(f"  fix for {name}: {model.runtime_stops[name].fix}"))
    if target is None:
        lines.append("  (the folder does not say which id a chat answer ends with)")
    return "\n".join(lines)


def _gguf(gguf: GgufModel) -> str:
    lines = [printable(display_path(gguf.path))]
    terminator = gguf.terminator
    if terminator is not None and terminator.token is not None:
        shown = terminator.id if terminator.id is not None else "id unknown: not one token of the GGUF"
        lines.append(printable(f"  chat answers end with '{terminator.token}' ({shown}), from "
                               f"{terminator.key}"))
    verdict = {True: "yes", False: "NO", None: "?"}[gguf.stops()]
    lines.append(printable(f"  llama.cpp stops on {gguf.describe(gguf.eog)}: {verdict}"))
    return "\n".join(lines)
