"""Markdown for a GitHub job summary: one table per model folder, findings in a collapsed section.

Every string that comes from a checked folder (paths, token strings, messages that quote them) is a code span
(escape.code): Markdown cannot turn it into a link, an image, HTML or a new line.
"""

from __future__ import annotations

from ..errors import display_path
from ..findings import Finding
from ..results import Report
from ..runtimes import stops
from .escape import code
from .text import summary


def _token(token: str, token_id: object) -> str:
    return f"{code(token)} ({token_id})"


def gguf_id(token_id: int | None) -> str:
    return str(token_id) if token_id is not None else "id unknown: not one token of the GGUF"


def render(report: Report) -> str:
    lines = ["## eos-guard", "", summary(report), ""]
    if report.problems:
        lines += [f"- not checked: {code(problem.render())}" for problem in report.problems] + [""]
    by_model = {m.folder: m for m in report.models}
    for folder, item in by_model.items():
        model = item.model
        lines.append(f"### {code(display_path(folder))}")
        lines.append("")
        if item.gguf is not None:
            gguf = item.gguf
            eos, ends = gguf.written.get("eos"), gguf.terminator
            lines += ["| | |", "|---|---|",
                      f"| tokenizer.ggml.eos_token_id | {code(gguf.show(eos)) if eos is not None else 'none'} |",
                      f"| chat turn terminator | {_token(ends.token, gguf_id(ends.id)) if ends and ends.token else 'none'} |",
                      f"| llama.cpp end-of-generation ids | {list(gguf.eog)} |", ""]
        elif model is None:
            if item.error:
                lines += [f"Cannot be read: {code(item.error)}", ""]
        else:
            eos = model.tokenizer_eos
            terminator = model.terminator
            lines += ["| | |", "|---|---|",
                      f"| tokenizer eos | {_token(eos.token, model.describe_id(eos.id)) if eos else 'none'} |",
                      f"| chat turn terminator | "
                      f"{_token(terminator.token, model.describe_id(terminator.id)) if terminator and terminator.token else 'none'}"
                      " |",
                      f"| transformers stop ids | {list(model.stop.ids)} |"]
            stopping = [name for name, stop in model.runtime_stops.items() if stops(model, stop) is False]
            if stopping:
                lines.append(f"| does not stop in | {', '.join(stopping)} |")
            lines.append("")
        if item.findings:
            lines += [f"<details><summary>{len(item.findings)} finding(s)</summary>", "",
                      "| code | severity | where | message |", "|---|---|---|---|"]
            for f in sorted(item.findings, key=Finding.severity_first_key):  # most severe first, as text is
                where = f"{display_path(f.location.path)}:{f.location.line}:{f.location.column}"
                lines.append(f"| {f.code} | {f.severity} | {code(where)} | {code(f.message)} |")
            lines += ["", "</details>", ""]
    if report.written:
        lines += ["### Files written by `eos-guard --fix`", "", *(f"- {code(display_path(p))}" for p in report.written), ""]
    return "\n".join(lines) + "\n"
