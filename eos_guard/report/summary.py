"""Markdown for a GitHub job summary: one table per model folder, findings in a collapsed section."""

from __future__ import annotations

from ..errors import display_path
from ..results import Report
from ..runtimes import stops
from .text import summary


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def render(report: Report) -> str:
    lines = ["## eos-guard", "", summary(report), ""]
    if report.problems:
        lines += [f"- not checked: {cell(problem.render())}" for problem in report.problems] + [""]
    by_model = {m.folder: m for m in report.models}
    for folder, item in by_model.items():
        model = item.model
        lines.append(f"### `{cell(display_path(folder))}`")
        lines.append("")
        if item.gguf is not None:
            gguf = item.gguf
            eos, ends = gguf.written.get("eos"), gguf.terminator
            lines += ["| | |", "|---|---|",
                      f"| tokenizer.ggml.eos_token_id | {cell(gguf.show(eos)) if eos is not None else 'none'} |",
                      f"| chat turn terminator | "
                      f"{cell(f'{ends.token} ({ends.id})') if ends and ends.token else 'none'} |",
                      f"| llama.cpp end-of-generation ids | {cell(list(gguf.eog))} |", ""]
        elif model is None:
            lines += [f"Cannot be read: {cell(item.error)}", ""]
            continue
        else:
            eos = model.tokenizer_eos
            terminator = model.terminator
            shown = f"{terminator.token} ({terminator.id})" if terminator and terminator.token else None
            lines += ["| | |", "|---|---|",
                      f"| tokenizer eos | {cell(f'{eos.token} ({eos.id})') if eos else 'none'} |",
                      f"| chat turn terminator | {cell(shown) if shown else 'none'} |",
                      f"| transformers stop ids | {cell(list(model.stop.ids))} |"]
            stopping = [name for name, stop in model.runtime_stops.items() if stops(model, stop) is False]
            if stopping:
                lines.append(f"| does not stop in | {cell(', '.join(stopping))} |")
            lines.append("")
        if item.findings:
            lines += [f"<details><summary>{len(item.findings)} finding(s)</summary>", "",
                      "| code | severity | where | message |", "|---|---|---|---|"]
            for f in item.findings:
                where = f"{display_path(f.location.path)}:{f.location.line}:{f.location.column}"
                lines.append(f"| {f.code} | {f.severity} | {cell(where)} | {cell(f.message)} |")
            lines += ["", "</details>", ""]
    return "\n".join(lines) + "\n"
