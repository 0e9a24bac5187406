"""Hugging Face Hub repositories: fetch only the small files eos-guard reads, and audit lists of repositories.

huggingface_hub (the ``eos-guard[hub]`` extra) is imported here only, and only when a Hub repository is named. It
honours HF_ENDPOINT, HF_TOKEN, HF_HOME / HF_HUB_CACHE and HF_HUB_OFFLINE. A fetched snapshot is shown as
``org/name@<commit sha>`` (errors.register_alias), so findings name the exact commit that was checked.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

from .config import Config
from .errors import InputError, register_alias
from .findings import ModelReport, Report, Severity
from .model_files import JSON_FILES, TEMPLATE_DIR, TEMPLATE_FILE
from .sources import HubRef

if TYPE_CHECKING:
    import argparse

READ_PATTERNS = [*JSON_FILES, TEMPLATE_FILE, f"{TEMPLATE_DIR}/*.jinja"]
SKIP_PATTERNS = [f"{TEMPLATE_DIR}/*/*"]  # fnmatch's * crosses "/", but only direct children are templates
WORKERS_ENV = "EOS_GUARD_HUB_WORKERS"
DEFAULT_WORKERS = 8
FILE_WORKERS = 4  # parallel file downloads inside one repository; a repository has at most a few files to fetch
# Resolving the revision is the one request huggingface_hub sends without retrying on 429 (repo_info); its tree
# listing and file requests already back off on 429 themselves, so only the resolution is retried here.
RETRIES = 5
BACKOFF_SECONDS = 1.0
MAX_WAIT_SECONDS = 60.0
INSTALL_HINT = "checking Hub repositories needs huggingface_hub: pip install 'eos-guard[hub]'"

# Snapshot folder -> (endpoint, repo, commit sha), for the web address of a fetched file.
_SNAPSHOTS: dict[Path, tuple[str, str, str]] = {}


class HubError(InputError):
    """A repository that cannot be fetched, reported as ``hf://org/name[@rev]: reason`` (exit code 2)."""

    def __init__(self, ref: HubRef, reason: str) -> None:
        super().__init__(None, f"hf://{ref.label}: {reason}")
        self.reason = reason


def fetch(ref: HubRef, config: Config) -> Path:
    """The local snapshot folder of ``ref``, holding only the files eos-guard reads, downloaded or from the cache.

    ``config`` is the run's settings; fetching needs none of them, but every source takes them.
    """
    folder = _download(ref)
    _register(ref, folder)
    return folder


def _download(ref: HubRef) -> Path:
    """The snapshot folder (named by its commit sha). It changes no state of eos-guard, so threads may run it."""
    hub = _import_hub(ref)
    # Offline, ask the cache only: trying the network first would only fail, with a warning for each repository.
    offline = hub.constants.is_offline_mode()
    try:
        revision = _resolve(hub.HfApi(), ref, offline)
        return Path(hub.snapshot_download(ref.repo, revision=revision, allow_patterns=READ_PATTERNS,
                                          ignore_patterns=SKIP_PATTERNS, max_workers=FILE_WORKERS,
                                          tqdm_class=_quiet_bar(hub), local_files_only=offline))
    except Exception as exc:  # every failure of the client becomes one line naming the repository
        raise HubError(ref, _reason(hub, exc, ref)) from None


def _register(ref: HubRef, folder: Path) -> None:
    """Show the snapshot as ``org/name@<sha>``. Not thread-safe: display_path reads the aliases unguarded."""
    from huggingface_hub.constants import ENDPOINT

    register_alias(folder, f"{ref.repo}@{folder.name}")
    _SNAPSHOTS[folder.resolve()] = (ENDPOINT, ref.repo, folder.name)


def blob_url(path: Path, line: int | None = None) -> str | None:
    """The Hub web page of a file fetched by ``fetch`` (at ``line``), or None for a local file.

    A GitHub annotation cannot attach to a file outside the workflow's repository: reporters add this address.
    """
    full = path.parent.resolve() / path.name
    for folder in full.parents:  # a look-up per parent, not a scan of every snapshot: audits fetch hundreds
        if folder in _SNAPSHOTS:
            endpoint, repo, sha = _SNAPSHOTS[folder]
            anchor = f"#L{line}" if line else ""
            return f"{endpoint}/{repo}/blob/{sha}/{quote(full.relative_to(folder).as_posix())}{anchor}"
    return None


def _import_hub(ref: HubRef | None) -> Any:
    try:
        import huggingface_hub
        import huggingface_hub.constants
    except ImportError:
        raise (HubError(ref, INSTALL_HINT) if ref else InputError(None, f"--hub-list: {INSTALL_HINT}")) from None
    return huggingface_hub


def _quiet_bar(hub: Any) -> type:
    """huggingface_hub's own progress bars, switched off: eos-guard draws one bar for a whole audit."""

    class QuietBar(hub.utils.tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "disable": True})

    return QuietBar


def _resolve(api: Any, ref: HubRef, offline: bool) -> Any:
    """The revision pinned to its commit (a ResolvedRevision), retrying on 429 as Retry-After asks."""
    from huggingface_hub.errors import HfHubHTTPError

    attempt = 0
    while True:
        try:
            return api.resolve_revision(ref.repo, revision=ref.revision, local_files_only=offline)
        except HfHubHTTPError as exc:
            if exc.response is None or exc.response.status_code != 429 or attempt == RETRIES:
                raise
            time.sleep(_wait(exc.response.headers.get("Retry-After"), attempt))
            attempt += 1


def _wait(retry_after: str | None, attempt: int) -> float:
    """Seconds before the next attempt: the server's Retry-After (in seconds), else exponential backoff."""
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), MAX_WAIT_SECONDS)
    return min(BACKOFF_SECONDS * 2 ** attempt, MAX_WAIT_SECONDS)


def _reason(hub: Any, exc: Exception, ref: HubRef) -> str:
    errors, endpoint = hub.errors, hub.constants.ENDPOINT
    token = hub.get_token()  # HF_TOKEN, else the token saved by ``hf auth login``
    if isinstance(exc, errors.GatedRepoError):
        return (f"gated repository: request access on {endpoint}/{ref.repo}"
                + (" for the token's account" if token else " and set HF_TOKEN"))
    if isinstance(exc, errors.RepositoryNotFoundError):
        return (f"repository not found on {endpoint}"
                + (" (or the token has no access to it)" if token else " (if it is private or gated, set HF_TOKEN)"))
    if isinstance(exc, errors.RevisionNotFoundError):
        return f"revision {ref.revision or 'main'!r} not found"
    if isinstance(exc, errors.HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        return f"{endpoint} answered HTTP {status}" + (" (rate limited; retries exhausted)" if status == 429 else "")
    if isinstance(exc, (errors.RevisionResolutionError, errors.LocalEntryNotFoundError)):
        if hub.constants.is_offline_mode():
            return "not in the local cache, and HF_HUB_OFFLINE is set"
        cause = exc.__cause__ or exc.__context__
        detail = f": {_first_line(cause)}" if cause else ""
        return f"cannot reach {endpoint}, and the files are not in the local cache{detail}"
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


@dataclasses.dataclass
class RepoResult:
    """One listed repository: its findings (``model``), or why it could not be fetched or read (``failure``)."""

    ref: HubRef
    folder: Path | None = None  # the snapshot, named by its commit sha
    model: ModelReport | None = None  # findings and error only: see fetch_and_check
    summary: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # its entry of the JSON "models[]"
    failure: str | None = None
    verdict: str = "error"  # "pass", "fail" (a finding reaches fail-on) or "error" (not fetched, or unreadable)

    @property
    def commit(self) -> str | None:
        return self.folder.name if self.folder else None


def audit(list_file: Path, config: Config, args: argparse.Namespace) -> int:
    """``eos-guard --hub-list FILE``: fetch and check every listed repository; print the findings and a table.

    Exit code: 2 if any repository could not be fetched or read, else 1 if a finding reaches fail-on, else 0.
    """
    from .report import REPORTERS
    from .report import audit as render

    fmt = _format(args)
    refs = read_list(list_file)
    _import_hub(None)
    config = dataclasses.replace(config, baseline=None)  # a Hub snapshot has no git history to compare with (EOS015)
    results = fetch_and_check(refs, config, _workers(), sys.stderr, summaries=fmt == "json")
    unique = list({r.folder: r for r in results if r.model}.values())  # two revisions may name one commit
    # --fix does not apply to Hub repositories: the closing line does not offer it
    report = Report([dataclasses.replace(r.model, fixable=0) for r in unique if r.model], runtimes=config.runtimes,
                    fail_on=config.fail_on)
    if fmt == "json":
        sys.stdout.write(render.json_document(report, [e for r in unique for e in r.summary], results))
    else:
        sys.stdout.write(REPORTERS[fmt](report) + "\n" + render.table(results))
    if args.summary:
        try:
            with args.summary.open("a", encoding="utf-8") as handle:
                handle.write(render.markdown(results))
        except OSError as exc:
            raise InputError(args.summary, f"cannot write: {exc.strerror}") from None
    for result in results:
        if result.failure is not None:  # an unreadable folder's message already starts with its path
            prefix = "" if result.model else f"hf://{result.ref.label}: "
            print(f"eos-guard: {prefix}{result.failure}", file=sys.stderr)
    if any(r.verdict == "error" for r in results):
        return 2
    if args.exit_zero or config.fail_on is None:
        return 0
    return 1 if report.count(config.fail_on) else 0


def read_list(path: Path) -> list[HubRef]:
    """The repositories listed in ``path``, one ``org/name[@revision]`` a line; blank and ``#`` lines are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
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

    results = [RepoResult(ref) for ref in refs]
    checked: dict[Path, RepoResult] = {}
    progress = Progress(len(refs), stream)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eos-guard-hub")
    try:
        futures = {pool.submit(_download, result.ref): result for result in results}
        for future in as_completed(futures):
            result = futures[future]
            try:
                result.folder = future.result()
            except HubError as exc:
                result.failure = exc.reason
            else:
                _register(result.ref, result.folder)
                _check(result, checked.setdefault(result.folder, result), config, summaries)
            progress.advance(failed=result.verdict == "error")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C, start no further downloads
        progress.close()
    return results


def _check(result: RepoResult, same: RepoResult, config: Config, summaries: bool) -> None:
    """Check the fetched folder, or copy the results of ``same``, a listed revision with the same commit."""
    from .pipeline import check_folders
    from .report.json_v1 import document

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
    if not text.isdigit() or int(text) < 1:
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

