"""Text for people and for editors: grouped by model folder (``text``), one line per finding (``concise``), the
count per rule (``--statistics``), and the closing line all of them end with.

``color=True`` adds ANSI colours to the severity, the rule code and the path; they are added after
:func:`printable` has escaped the text from the checked files, so a file can never colour the terminal itself.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from ..errors import display_path, real_folder
from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from ..results import ModelReport, Report
from .escape import printable
from ..runtimes import stops, stops_early, why_unknown

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
SEVERITY_COLORS = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
SEVERITY_WIDTH = max(len(str(s)) for s in Severity)


def paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{RESET}" if color and text else text


def concise(report: Report, color: bool = False, closing: bool = True) -> str:
    """``path:line:col: EOS001 error: message [rule-name]``, one finding a line: the form editors, problem matchers
    and pre-commit read."""
    lines = [_concise_line(finding, color) for finding in report.findings()]
    return _join(lines, report, closing)


def _concise_line(finding: Finding, color: bool) -> str:
    loc = finding.location
    where = paint(f"{printable(display_path(loc.path))}:{loc.line}:{loc.column}:", BOLD, color)
    return (f"{where} {paint(finding.code, BOLD, color)} "
            f"{paint(str(finding.severity) + ':', SEVERITY_COLORS[finding.severity], color)} "
            f"{printable(finding.message)} [{finding.name}]")


def render(report: Report, color: bool = False, closing: bool = True) -> str:
    """One block per model folder with findings: a header with its verdict, then its findings, most severe
    first, with paths relative to the folder."""
    blocks = []
    for item in report.models:
        if not item.findings:
            continue
        lines = [f"{paint(printable(display_path(item.folder)), BOLD, color)}: {verdict(report, item)}"]
        findings = sorted(item.findings, key=Finding.severity_first_key)
        places = [_place(f, item.folder) for f in findings]
        width = max(len(place) for place in places)
        for finding, place in zip(findings, places):
            severity = str(finding.severity).ljust(SEVERITY_WIDTH)
            lines.append(f"  {paint(place, BOLD, color)}{' ' * (width - len(place))}  "
                         f"{paint(severity, SEVERITY_COLORS[finding.severity], color)}  "
                         f"{paint(finding.code, BOLD, color)}  {printable(finding.message)}")
        blocks.append("\n".join(lines))
    text = "\n\n".join(blocks)
    if not closing:
        return text + "\n" if text else ""
    return (text + "\n\n" if text else "") + summary(report) + "\n"


def _place(finding: Finding, folder: Path) -> str:
    loc = finding.location
    shown = _inside(loc.path, folder)
    if shown is None:
        shown = display_path(loc.path)
    if shown == ".":  # a finding on a GGUF file, whose "folder" is the file itself
        shown = loc.path.name
    return f"{printable(shown)}:{loc.line}:{loc.column}"


def _inside(path: Path, folder: Path) -> str | None:
    """``path`` relative to ``folder``, links followed in the folders but not the file's own (a file that is a link
    out of the folder is shown where it is, as its other findings are: helper-209), or None when it lies outside."""
    if path == folder:  # a finding on a GGUF file, whose "folder" is the file itself
        return "."
    if os.sep != "/":
        try:
            return (path.parent.resolve() / path.name).relative_to(folder.resolve()).as_posix()
        except ValueError:
            return None
    cwd = os.getcwd()  # real paths as strings, remembered per folder: a report shows thousands
    full = os.path.join(cwd, path)
    inside = os.path.join(real_folder(os.path.dirname(full)), os.path.basename(full))
    top = real_folder(os.path.join(cwd, folder))
    if inside == top:
        return "."
    prefix = top if top.endswith("/") else top + "/"
    return inside[len(prefix):] if inside.startswith(prefix) else None


def verdict(report: Report, item: ModelReport) -> str:
    """``fails; stops in transformers: no; --fix changes 1 file``: whether the folder fails and whether a chat
    answer stops in the runtimes the run checks."""
    parts = ["fails" if report.fails(item) else "passes"]
    if item.gguf is not None:
        parts.append(f"stops in llama.cpp: {_yes_no(item.gguf.stops())}")
    elif item.model is not None:
        for name in report.runtimes_of(item):
            stop = item.model.runtime_stops.get(name)
            if stop is not None:
                answer = stops(item.model, stop)
                shown = _yes_no(answer) if answer is not None else f"unknown ({why_unknown(item.model, stop)})"
                if stops_early(item.model, stop) is not None:  # on harmony's <|end|>, before the answer
                    shown = "early (EOS033)"
                parts.append(f"stops in {name}: {shown}")
    if item.fixable:
        parts.append(f"--fix changes {_plural(item.fixable, 'file')}")
    return "; ".join(parts)


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown (no template terminator or eos to stop on)"}[value]


def statistics(report: Report, color: bool = False, closing: bool = True) -> str:
    """How many findings each rule has, most first (``--statistics``, as ruff prints it)."""
    counts = Counter((f.code, f.severity, f.name) for f in report.findings())
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0][0], -item[0][1]))
    width = max((len(str(n)) for _, n in rows), default=1)
    lines = [f"{str(n).rjust(width)}  {paint(code, BOLD, color)}  "
             f"{paint(str(severity).ljust(SEVERITY_WIDTH), SEVERITY_COLORS[severity], color)}  {name}"
             for (code, severity, name), n in rows]
    return _join(lines, report, closing)


def _join(lines: list[str], report: Report, closing: bool) -> str:
    if closing:
        lines = [*lines, summary(report)]
    return "".join(line + "\n" for line in lines)


def summary(report: Report) -> str:
    """The closing line: how many folders fail and why, what ``--fix`` can do or did."""
    folders = [m for m in report.models if m.error is None]
    unreadable = len(report.models) - len(folders)
    counts = Counter(f.severity for f in report.findings())
    severities = ", ".join(_plural(counts[s], str(s)) for s in sorted(counts, reverse=True))
    if not report.models:
        return f"No model folders found ({_plural(report.excluded, 'model folder')} excluded by the settings)." \
            if report.excluded else "No model folders found."
    skipped = _not_generating_tail(report) + _no_answer_end_tail(report)
    tail = _unread_tail(report) + skipped
    if all(m.unfetched for m in report.models):
        return f"No model folders checked{tail}."
    if report.written:
        touched = {path.parent for path in report.written}
        left = [s for s in sorted(Severity, reverse=True) if counts[s] or s == Severity.ERROR]
        verb = "remains" if len(left) == 1 and counts[left[0]] == 1 else "remain"
        return (f"Fixed {_plural(len(report.written), 'file')} in {_plural(len(touched), 'folder')}; "
                f"{', '.join(_plural(counts[s], str(s)) for s in left)} {verb}{tail}.")
    checked, alone = _checked(report)
    if not counts:
        # not after an error on stderr (a PATH that names nothing, a folder that cannot be listed, a bad baseline)
        passed = not unreadable and not report.problems and not any(m.not_read for m in report.models)
        return f"All checks passed ({alone}{skipped})." if passed else f"No findings in {checked}{tail}."
    failing = sum(1 for m in report.models if report.fails(m))  # an unreadable file does not hide its findings
    # the files and folders --fix would change, as each folder's header says it ("--fix changes 2 files")
    fixable = [m for m in folders if m.fixable]
    fix = (f"; --fix changes {_plural(sum(m.fixable for m in fixable), 'file')} in "
           f"{_plural(len(fixable), 'folder')}") if fixable else ""
    if failing:
        verb = "fail" if failing != 1 else "fails"
        return f"{failing} of {checked} {verb} ({severities}){fix}{tail}."
    # a folder a file stopped did not pass: "4 model folders pass (1 info); 1 cannot be read" (helper-196: it said 5)
    passing, _ = _checked(report, read_only=True)
    verb = "pass" if sum(1 for m in report.models if _was_read(m)) != 1 else "passes"
    return f"{passing} {verb} ({severities}){fix}{tail}."


def _unread_tail(report: Report) -> str:
    """``; N cannot be read`` for the folders a file stopped, and ``; N checked without a malformed file`` for those
    checked without it, as the runtimes load them (a broken generation_config.json: config.json's ids)."""
    unfetched = sum(1 for m in report.models if m.unfetched)
    stopped = sum(1 for m in report.models if m.error is not None and m.model is None) - unfetched
    without = sum(1 for m in report.models if m.error is not None and m.model is not None)
    # a folder not read at all (a link out of the repository) whose EOS018 the settings turn off (helper-197: "All
    # checks passed (2 model folders)" for one checked)
    passed_over = sum(1 for m in report.models if m.not_read and not m.findings)
    parts = ([f"{stopped} cannot be read"] if stopped else []) + \
        ([f"{without} checked without a malformed file"] if without else []) + \
        ([f"{passed_over} not read (EOS018 is off)"] if passed_over else []) + \
        ([f"{_plural(unfetched, 'Hub repository')} cannot be fetched"] if unfetched else [])
    return "".join(f"; {part}" for part in parts)


def _not_generating_tail(report: Report) -> str:
    """``; N cannot generate text, not checked for stopping`` for the folders whose model cannot generate (a classifier,
    an embedding model: ModelFiles.not_generating), whose rules about stopping did not run: a run says so, so that
    a change that makes a chat model read as one (its class, a modules.json) is seen."""
    count = sum(1 for m in report.models if m.model is not None and not m.model.generates)
    return f"; {count} cannot generate text, not checked for stopping" if count else ""


def _no_answer_end_tail(report: Report) -> str:
    """``; N name no token that ends an answer: stopping not checked`` for the folders without findings of a
    generating model with neither a chat template terminator nor a tokenizer eos (no tokenizer files, as a merge saved
    without them): the rules that compare the stop ids with the answer's end had nothing to compare, so "All checks
    passed" alone would say more than was checked (``explain`` says the same per runtime: unknown). A folder with a
    finding (EOS004, a warning there: no stop ids at all) was judged, and is not counted."""
    count = sum(1 for m in report.models if m.model is not None and m.model.generates and not m.findings
                and m.model.names_no_answer_end)
    verb = "names" if count == 1 else "name"
    return f"; {count} {verb} no token that ends an answer: stopping not checked" if count else ""


def _was_read(model: ModelReport) -> bool:
    """Whether the run checked the folder: fetched, read, and not stopped by a file it could not read."""
    return not model.unfetched and not model.not_read and not (model.error is not None and model.model is None)


def _checked(report: Report, read_only: bool = False) -> tuple[str, str]:
    """What the run checked, for ``N of ...`` (``2 model folders``, ``1 GGUF file``, ``2 checked (1 model folder,
    1 GGUF file)``) and alone in brackets (``1 model folder, 1 GGUF file``); ``read_only``: without the folders a
    file stopped."""
    models = [m for m in report.models if (_was_read(m) if read_only else not m.unfetched)]
    ggufs = sum(1 for m in models if m.gguf is not None or m.folder.suffix.lower() == ".gguf")
    folders = len(models) - ggufs
    if not ggufs or not folders:
        noun = _plural(folders, "model folder") if folders else _plural(ggufs, "GGUF file")
        return noun, noun
    both = f"{_plural(folders, 'model folder')}, {_plural(ggufs, 'GGUF file')}"
    return f"{len(models)} checked ({both})", both


def _plural(n: int, noun: str) -> str:
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {noun[:-1]}ies" if noun.endswith("y") else f"{n} {noun}s"

