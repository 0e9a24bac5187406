"""``eos-guard explain``: per model folder, each runtime's stop ids, whether a chat answer stops, and why."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..errors import display_path
from ..resolve import ResolvedModel
from ..results import Report
from ..rules.base import token_text
from ..runtimes import stops, target_id
from .text import printable

if TYPE_CHECKING:
    from ..gguf_check import GgufModel


def render(report: Report) -> str:
    blocks = [_model(m.model) for m in report.models if m.model is not None]
    blocks += [_gguf(m.gguf) for m in report.models if m.gguf is not None]
    blocks += [f"{display_path(m.folder)}: cannot be read: {m.error}" for m in report.models if m.error]
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
            "runtimes": [{"runtime": name, "stop_ids": list(stop.ids), "stops": stops(model, stop), "why": stop.why,
                          "fix": stop.fix} for name, stop in model.runtime_stops.items()],
        })
    return json.dumps({"version": 1, "models": models}, indent=2, ensure_ascii=False) + "\n"


def _model(model: ResolvedModel) -> str:
    target = target_id(model)
    terminator = model.terminator
    eos = model.tokenizer_eos
    lines = [printable(display_path(model.folder))]
    if terminator is not None and terminator.token is not None:
        lines.append(printable(f"  chat answers end with '{terminator.token}' ({terminator.id}), "
                               f"from the '{terminator.template.name}' template"))
    elif eos is not None:
        lines.append(printable(f"  no chat template terminator; the tokenizer's eos is '{eos.token}' ({eos.id})"))
    rows = [("runtime", "stop ids", "stops?", "why")]
    for name, stop in model.runtime_stops.items():
        verdict = {True: "yes", False: "NO", None: "?"}[stops(model, stop)]
        ids = printable(", ".join(f"{i} {token_text(model, i)}".strip() for i in stop.ids) or "none")
        rows.append((name, ids, verdict, printable(stop.why)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    failing = [name for name, stop in model.runtime_stops.items() if stops(model, stop) is False]
    for name in failing:
        lines.append(f"  fix for {name}: {model.runtime_stops[name].fix}")
    if target is None:
        lines.append("  (the folder does not say which id a chat answer ends with)")
    return "\n".join(lines)


def _gguf(gguf: GgufModel) -> str:
    lines = [printable(display_path(gguf.path))]
    terminator = gguf.terminator
    if terminator is not None and terminator.token is not None:
        lines.append(printable(f"  chat answers end with '{terminator.token}' ({terminator.id}), from "
                               f"{terminator.key}"))
    verdict = {True: "yes", False: "NO", None: "?"}[gguf.stops()]
    lines.append(printable(f"  llama.cpp stops on {gguf.describe(gguf.eog)}: {verdict}"))
    return "\n".join(lines)
