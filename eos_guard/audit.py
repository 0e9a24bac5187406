"""``eos-guard --hub-list FILE``: fetch many Hub repositories concurrently, check each one with the pipeline as it
arrives, and print the findings and a table (report/audit.py renders it). It sits above the pipeline; the Hub
source (hub.py) only fetches.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .config_types import Config
from .errors import InputError
from .findings import Severity
from .hub import HubError, download, import_hub, register
from .jsonspan import NotRead, read_text
from .pipeline import check_folders
from .records import replace
from .report import REPORTERS, write
from .report import audit as render
from .report.escape import no_workflow_commands, printable
from .report.json_v1 import document
from .results import ModelReport, RepoResult, Report
from .sources import HubRef

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import TextIO
    import argparse

WORKERS_ENV = "EOS_GUARD_HUB_WORKERS"
DEFAULT_WORKERS = 8


def audit(list_file: Path, config: Config, args: argparse.Namespace) -> int:
    """``eos-guard --hub-list FILE``: fetch and check every listed repository; print the findings and a table.

    Exit code: 2 if any repository could not be fetched or read, else 1 if a finding reaches fail-on, else 0.
    """
    fmt = _format(args)
    refs = read_list(list_file)
    import_hub(None)
    config = replace(config, baseline=None)  # a Hub snapshot has no git history to compare with (EOS015)
    results = fetch_and_check(refs, config, _workers(), sys.stderr, summaries=fmt == "json")
    unique = list({r.folder: r for r in results if r.model}.values())  # two revisions may name one commit
    # --fix does not apply to Hub repositories: the closing line does not offer it
    report = Report([replace(r.model, fixable=0) for r in unique if r.model], runtimes=config.runtimes,
                    fail_on=config.fail_on)
    if fmt == "json":
        write(render.json_document(report, [e for r in unique for e in r.summary], results), "json")
    else:
        # the table quotes repository names as given: text for a person, also after the github format's commands;
        # when no repository could be checked, the table's totals say so, not "No model folders found."
        findings = REPORTERS[fmt](report) + "\n" if report.models or not results else ""
        write(findings + no_workflow_commands(render.table(results)), fmt)
    if args.summary:
        try:
            with args.summary.open("a", encoding="utf-8") as handle:
                handle.write(render.markdown(results))
        except OSError as exc:
            raise InputError(args.summary, f"cannot write: {exc.strerror}") from None
    for result in results:
        if result.failure is not None:  # an unreadable folder's message already starts with its path
            prefix = "" if result.model else f"hf://{result.ref.label}: "
            print(printable(f"eos-guard: {prefix}{result.failure}"), file=sys.stderr)
    if any(r.verdict == "error" for r in results):
        return 2
    if args.exit_zero or config.fail_on is None:
        return 0
    return 1 if report.count(config.fail_on) else 0

MAX_LIST_BYTES = 16 * 1024 * 1024  # a --hub-list file: ~400,000 repository names


def read_list(path: Path) -> list[HubRef]:
    """The repositories listed in ``path``, one ``org/name[@revision]`` a line; blank and ``#`` lines are skipped."""
    try:  # the same checks as a model file: a FIFO or device is never read, nor a file over the limit
        lines = read_text(path, MAX_LIST_BYTES, "--hub-list").splitlines()
    except NotRead as exc:
        raise InputError(path, str(exc)) from None
    refs: dict[HubRef, None] = {}
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if text and not text.startswith("#"):
            try:
                refs.setdefault(HubRef.parse(text), None)
            except InputError as exc:
                raise InputError(path, exc.message, number, 1) from None
    if not refs:
        raise InputError(path, "lists no repositories")
    return list(refs)


def fetch_and_check(refs: list[HubRef], config: Config, workers: int, stream: TextIO,
                    summaries: bool = False) -> list[RepoResult]:
    """Fetch the repositories, ``workers`` at a time, and check each one as soon as it is fetched.

    A failure is kept in its result, never raised. Worker threads only download; registering and checking run on
    this thread, where the template sandbox can interrupt a render, one folder at a time. Each report is then cut
    down to its findings (and, with ``summaries``, its entry of the JSON ``models[]``): a checked folder holds its
    parsed tokenizer.json (~20 MB for a 150k vocabulary), which a few hundred repositories would multiply into
    gigabytes.
    """
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from .template import forget_stopped_probes

    forget_stopped_probes()  # one run: a slow template many repositories ship is rendered once
    results = [RepoResult(ref) for ref in refs]
    checked: dict[Path, RepoResult] = {}
    progress = Progress(len(refs), stream)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eos-guard-hub")
    try:
        futures = {pool.submit(download, result.ref, config): result for result in results}
        for future in as_completed(futures):
            result = futures[future]
            try:
                result.folder = future.result()
            except HubError as exc:
                result.failure = exc.reason
            else:
                register(result.ref, result.folder)
                _check(result, checked.setdefault(result.folder, result), config, summaries)
            progress.advance(failed=result.verdict == "error")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C, start no further downloads
        progress.close()
    return results


def _check(result: RepoResult, same: RepoResult, config: Config, summaries: bool) -> None:
    """Check the fetched folder, or copy the results of ``same``, a listed revision with the same commit."""
    if same is result:
        [full] = check_folders([result.folder], config)
        result.summary = document(Report([full]))["models"] if summaries else []
        result.model = ModelReport(full.folder, None, full.findings, full.error)
        result.failure = full.error
        result.verdict = _verdict(full, config.fail_on)
    else:
        result.model, result.summary, result.failure, result.verdict = \
            same.model, same.summary, same.failure, same.verdict


def _verdict(model: ModelReport, fail_on: Severity | None) -> str:
    if model.error is not None:
        return "error"
    failing = fail_on is not None and any(f.severity >= fail_on for f in model.findings)
    return "fail" if failing else "pass"


def _workers() -> int:
    text = os.environ.get(WORKERS_ENV, str(DEFAULT_WORKERS))
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or int(text) < 1:  # int('²') raises
        raise InputError(None, f"{WORKERS_ENV} must be a positive integer, not {text!r}")
    return int(text)


def _format(args: argparse.Namespace) -> str:
    """The output format of an audit; options that make no sense for Hub repositories are refused, not ignored."""
    refused = [name for name, given in (("PATH arguments", args.paths), ("--hub", args.hub), ("--fix", args.fix),
                                        ("--diff", args.diff), ("explain", args.explain), ("--sarif", args.sarif),
                                        ("--statistics", args.statistics),
                                        ("--format sarif", args.format == "sarif")) if given]
    if refused:
        raise InputError(None, f"--hub-list cannot be combined with {', '.join(refused)}")
    if args.format == "auto":
        return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    return args.format


class Progress:
    """``[#####-----] 12/40 repositories (1 failed)`` on one line of ``stream``, drawn only on a terminal."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.failed, self.stream = total, 0, 0, stream
        self.enabled = stream.isatty()
        self._draw()

    def advance(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        self._draw()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _draw(self) -> None:
        if self.enabled:
            filled = self.WIDTH * self.done // self.total
            failed = f" ({self.failed} failed)" if self.failed else ""
            self.stream.write(f"\r[{'#' * filled}{'-' * (self.WIDTH - filled)}] {self.done}/{self.total} "
                              f"repositories{failed}")
            self.stream.flush()

