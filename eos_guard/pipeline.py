"""The pipeline for one run: sources -> read -> resolve -> runtimes -> rules -> a Report.

Every source ends as something to check: a local folder, a Hub repository's fetched snapshot (a folder too), or
a GGUF file. Folders and GGUF files take the same steps (read and resolve, compute the runtimes' stop sets, run the
rules that apply to them); a GGUF file is checked after the folders, which it is compared with.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .baseline import baseline_problems, forget_git_failures, read_baselines, work_trees
from .cache import distrust_inside
from .config_types import Config
from .errors import InputError, MissingDependency, NoModelFolder, display_path
from .findings import Finding, Location, command_path, shell_word
from .model_files import (ADAPTER_CONFIG, ModelFiles, find_model_folders, in_hub_cache, input_signatures,
                          is_gguf_name, linked_out_of_repository, repository_link)
from .records import field, record, replace
from .resolve import ResolvedModel, resolve
from .results import ModelReport, Report
from .rules import FOLDER_RULES, gguf_rules
from .rules.base import Options
from .runtimes import released, runtimes_checked, stop_sets
from .runtimes.llama_cpp import gguf_end_of_generation, gguf_release
from .runtimes.llama_cpp_converter import forget_converted
from .sources import HUB_SCHEME, classify
from .template import forget_stopped_probes
from .vocabulary import warm_layout

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator, Union

    from .gguf_check import GgufModel


# Below this many folders per worker, starting worker processes costs more than it saves.
PARALLEL_FROM = 100
# Workers send each folder's report back pickled, and the parent unpickles them one by one. On 2 cores, two
# workers check 10,000 small folders in three quarters of the wall time of one process when both cores are idle,
# and in the same time when another process keeps one busy, for 1.26x its CPU time (bench/pool.py,
# docs/performance.md): a pool starts from this many cores, with at least one core's worth of them idle.
POOL_FROM_CORES = 2


@record
class Found:
    """What the PATH arguments name: local model folders, Hub snapshots, GGUF files, Hub repositories that could not
    be fetched, and the PATHs that could not be checked (each one line; the run goes on with the others)."""

    folders: list[Path] = field(default_factory=list)
    fetched: list[Path] = field(default_factory=list)  # the folders that are Hub snapshots (no git history)
    ggufs: list[Path] = field(default_factory=list)
    failed: list[ModelReport] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)
    excluded: int = 0  # model folders the settings' exclude left out


NO_MODEL_FOLDER = ("holds no model folder (one with generation_config.json, tokenizer_config.json or a model's "
                   "config.json)")


def _no_model_hint(folder: Path) -> str:
    """What a folder without model folders holds that eos-guard checks otherwise: GGUF files (a repository of
    quantizations, as bartowski/*-GGUF are), which folders are not searched for, or a PEFT adapter without tokenizer
    files (adapter_config.json and its weights), whose stop ids and template are its base model's; or why its
    config.json is not a model's (Bio_ClinicalBERT's and SciBERT's name only sizes, beside a vocab.txt)."""
    try:
        with os.scandir(folder) as entries:
            names = [entry.name for entry in entries if entry.is_file()]
    except OSError:
        return ""
    ggufs = [name for name in names if is_gguf_name(name)]
    if ggufs:
        files = "its GGUF file is" if len(ggufs) == 1 else f"its {len(ggufs)} GGUF files are"
        return f"; {files} checked when named: {gguf_command(folder, ggufs)}"
    if ADAPTER_CONFIG in names:
        return ("; a PEFT adapter without tokenizer files: generation takes its stop ids and chat template from the "
                "base model adapter_config.json names, which is checked where it lies")
    if "config.json" in names:  # not a model's (holds_model_files): a legacy BERT's, a diffusers component's, an app's
        return ("; its config.json names no model_type or architectures (a legacy encoder's, an application's or a "
                "diffusers component's), so eos-guard does not read it as a model's")
    return ""


def _ggufs_named(folder: Path, named: set[str]) -> bool:
    """Whether the folder holds GGUF files and the run names every one of them."""
    if not named:
        return False
    try:
        with os.scandir(folder) as entries:
            ggufs = [os.path.realpath(entry.path) for entry in entries if is_gguf_name(entry.name)]
    except OSError:
        return False
    return bool(ggufs) and all(path in named for path in ggufs)


def gguf_command(folder: Path | str, names: list[str], with_folder: bool = False) -> str:
    """The command that checks a folder's GGUF files (and the folder, ``with_folder``), as a shell takes it: the
    folder quoted, then ``*.gguf``, or each file where the glob would miss one (a name ending in another case, or
    starting with a dot); a relative path that starts with a dash gets ``./``, or it would read as an option."""
    def quoted(path: Path) -> str:
        return shell_word(command_path(path))

    folder = Path(folder)
    globbed = all(name.endswith(".gguf") and not name.startswith(".") for name in names)
    files = f"{quoted(folder)}/*.gguf" if globbed else " ".join(quoted(folder / name) for name in names)
    return f"eos-guard {files}{' ' + quoted(folder) if with_folder else ''}"


def model_folders(paths: Iterable[Union[str, Path]], config: Config, allow_empty: bool = False,
                  folder_settings: Any = None) -> Found:
    """The model folders named by ``paths`` (local ones found, Hub repositories fetched) and the GGUF files.

    A missing PATH, an empty one, and a folder without any model folder below it (unless ``allow_empty``) are
    problems; a file outside a model folder is skipped, as pre-commit passes every file whose name matches. With
    ``folder_settings`` (config.FolderSettings: each folder takes the nearest settings above it), a folder is left
    out by the settings of the folders above it, and one not read (a link out of the repository) takes the settings
    where its link is; without, ``config``'s.
    """
    def settings_at(path: Path) -> Config:  # a link's place: the settings of the folder that holds it
        return folder_settings.of(Path(os.path.dirname(os.path.abspath(path)))) if folder_settings else config

    def excluded(path: Path, read_own: bool = True) -> bool:
        return folder_settings.excludes(path, read_own) if folder_settings is not None else config.excluded(path)

    found = Found()
    paths = list(paths)
    # the GGUF files named: a folder that holds them and no model folder is no bad PATH (`eos-guard *.gguf .`)
    named_ggufs = {os.path.realpath(str(item)) for item in paths if is_gguf_name(str(item))}
    refused: list[tuple[Path, str]] = []  # model folders linked out of their repository: EOS018, never read
    local: dict[Path, None] = {}
    hub = []
    for item in paths:
        if str(item) == "":
            found.problems.append(InputError(None, "an empty PATH argument (a variable that expanded to nothing?) "
                                                   "is not the current folder; pass . for that"))
            continue
        try:
            sources = classify([item])
            for path in sources.local:
                already_refused = len(refused)
                unlisted: list[InputError] = []
                folders = find_model_folders([path], refused, unlisted)
                found.problems += [error for error in unlisted if not excluded(error.path, read_own=False)]
                if not folders and len(refused) == already_refused and not unlisted and path.is_dir() \
                        and not allow_empty and not _ggufs_named(path, named_ggufs):
                    found.problems.append(NoModelFolder(path, NO_MODEL_FOLDER + _no_model_hint(path)))
                local.update(dict.fromkeys(folders))
        except InputError as exc:
            found.problems.append(exc.detached())
            continue
        for gguf in sources.gguf:
            reason = linked_out_of_repository(gguf)
            if reason is None:
                found.ggufs.append(gguf)
            else:
                refused.append((gguf, reason))
        hub += sources.hub
    found.folders = [f for f in local if not excluded(f)]
    found.excluded = len(local) - len(found.folders)
    kept = [(folder, reason) for folder, reason in refused if not excluded(folder, read_own=False)]
    found.excluded += len(refused) - len(kept)
    found.failed += [_not_read(folder, reason, settings_at(folder)) for folder, reason in kept]
    if hub:
        from .hub import fetch  # loaded only when a Hub repository is named

        for ref in hub:
            try:
                found.fetched.append(fetch(ref, config))
            except InputError as exc:
                found.failed.append(ModelReport(Path(ref.label), None, [], error=exc.render(),
                                                cause=exc.detached(), unfetched=True))
    return found


def _not_read(folder: Path, reason: str, config: Config) -> ModelReport:
    """A model folder that is not read at all (a link out of the repository): one EOS018 finding at the folder."""
    from .rules.file_not_read import FileNotRead as rule

    message = f"{folder.name} {reason}"
    finding = Finding(rule.code, rule.name, rule.severity, message, Location.of(folder), folder)
    return ModelReport(folder, None, [finding] if config.keeps(finding) else [], not_read=message)


def check_paths(paths: Iterable[Union[str, Path]], config: Config | None = None, allow_empty: bool = False,
                keep_documents: bool = False, folder_settings: Any = None) -> Report:
    """Check every model folder under ``paths``; a broken folder or PATH is reported without stopping the others.

    Each folder's parsed files are dropped once its findings are made (memory does not grow with the number of
    folders); the reporters need only the resolved values. ``keep_documents`` keeps them, for planning fixes.
    ``folder_settings`` (config.FolderSettings) gives each folder the nearest settings above it, where they are not
    ``config``, the run's; the settings above a folder decide whether it is checked.
    """
    config = config or Config()
    forget_stopped_probes()  # a run renders again what a limit stopped in an earlier one (the training callback)
    found = model_folders(paths, config, allow_empty, folder_settings)
    own = _own_settings(found.folders, config, folder_settings)
    every = [config, *own.values()]
    # a cache folder a pull request could write is not used
    distrust_inside(work_trees(found.folders) if any(c.limits.cache for c in every) else ())
    baselines, problems = _baselines(found.folders, config, any(c.enabled("EOS015") for c in every))
    folders = found.folders + found.fetched
    with _collector_for_many(len(folders)) as collector:
        checked: dict[Path, ModelReport] = {}
        for settings, group in _grouped(folders, config, own):
            for model in check_folders(group, settings, baselines, keep_documents, collector):
                checked[model.folder] = model if settings is config else replace(model, settings=settings)
        # --fix refuses Hub snapshots, fetched or named in the cache (fix_paths): the closing line does not offer it
        fetched = set(found.fetched) | {folder for folder in found.folders if in_hub_cache(folder)}
        report = Report([replace(m, fixable=0) if m.folder in fetched else m for m in (checked[f] for f in folders)]
                        + found.failed + [_check_gguf_with(path, config, folder_settings, folders)
                                          for path in found.ggufs],
                        found.problems + problems, runtimes=config.runtimes, fail_on=config.fail_on,
                        excluded=found.excluded)
        collector.hand_over(report)
    return report


def _check_gguf_with(path: Path, config: Config, folder_settings: Any, folders: list[Path]) -> ModelReport:
    """A GGUF file's check with the settings of the folder that holds it."""
    settings = folder_settings.of(Path(os.path.dirname(os.path.abspath(path)))) if folder_settings else config
    report = check_gguf(path, settings, folders)
    return report if settings is config else replace(report, settings=settings)


def _own_settings(folders: list[Path], config: Config, folder_settings: Any) -> dict[Path, Config]:
    """The folders whose settings are not the run's (a settings file of their own), with those settings."""
    if folder_settings is None:
        return {}
    return {folder: settings for folder in folders if (settings := folder_settings.of(folder)) is not config}


def _grouped(folders: list[Path], config: Config, own: dict[Path, Config]) -> list[tuple[Config, list[Path]]]:
    """The folders by the settings they take, the run's first: each group is checked as one run's folders."""
    groups: dict[int, tuple[Config, list[Path]]] = {id(config): (config, [])}
    for folder in folders:
        settings = own.get(folder, config)
        groups.setdefault(id(settings), (settings, []))[1].append(folder)
    return [group for group in groups.values() if group[1]]


def _baselines(folders: list[Path], config: Config,
               enabled: bool | None = None) -> tuple[dict[Path, str], list[InputError]]:
    """The earlier versions of the files for EOS015, and, when ``--baseline`` was given, why it cannot be read;
    ``enabled``: whether the settings of some folder run EOS015 (default: the run's)."""
    if not config.baseline or not (config.enabled("EOS015") if enabled is None else enabled) or not folders:
        return {}, []
    forget_git_failures()  # a run asks git again (a process may run many checks: the training callback)
    problems = baseline_problems(folders, config.baseline) if config.baseline_explicit else []
    refused: list[InputError] = []
    texts = read_baselines(folders, config.baseline, config.max_config_bytes, refused)
    said = {problem.message for problem in problems}
    return texts, problems + [why for why in refused if why.message not in said]


def check_folders(folders: list[Path], config: Config, baselines: dict[Path, str] | None = None,
                  keep_documents: bool = False, collector: _collector_for_many | None = None) -> list[ModelReport]:
    if collector is None:
        with _collector_for_many(len(folders)) as collector:
            return check_folders(folders, config, baselines, keep_documents, collector)
    if baselines is None:
        baselines, _ = _baselines(folders, config)
    workers = pool_size(len(folders), _cores(), _idle_cores())
    start = _start_method() if workers >= 2 else None
    if start is None:
        reports = []
        shared: dict = {}  # equal stop sets of the run's folders (runtimes.released)
        for folder in folders:
            reports.append(_check_one(folder, config, baselines, keep_documents, shared))
            collector.keep()
        return reports
    import concurrent.futures
    import functools

    task = functools.partial(_check_many, config=config, baselines=baselines, keep_documents=keep_documents)
    chunks = [folders[i::workers * 4] for i in range(workers * 4)]
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=start, initializer=_die_with_parent,
                                                initargs=(os.getpid(),)) as pool:
        try:
            done = {f.folder: f for chunk in pool.map(task, chunks) for f in chunk}
        except BaseException:  # a MissingDependency, an interrupt: the chunks not started yet never start
            pool.shutdown(cancel_futures=True)
            raise
    return [done[folder] for folder in folders]


def _die_with_parent(parent: int) -> None:
    """A worker's first step: it ends when the process that started it does. A forked worker holds both ends of the
    pool's pipes and the run's stdout and stderr; when the run was killed (SIGTERM or SIGHUP, which it does not
    catch while it checks, SIGKILL) its workers waited forever for work or for a reader, and a caller waiting for the
    output to close hung (helper-145). Linux's ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` kills the worker then; elsewhere
    workers are spawned, and hold no end of a pipe the run wrote to."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (linux/prctl.h)
        except (OSError, AttributeError):  # no libc prctl: a worker the run's death leaves is the old risk
            pass
    if os.getppid() != parent:  # the run ended before the line above: nothing would kill this worker
        os._exit(1)


def _start_method() -> Any:
    """How workers start, or None for no workers. On Linux, forked (it costs least, and Python 3.14 would
    otherwise use forkserver, which imports the caller's main script again), but only where this process runs no
    other thread, started by Python or by a library: a fork in the middle of another thread's lock may deadlock
    the child (Python 3.12+ warns of it), so a caller with threads (a notebook's kernel, a training script that
    tokenized with the tokenizers library, calling eos_guard.check) has its folders checked in this process.
    Elsewhere, the platform's default (spawn on macOS and Windows)."""
    import multiprocessing

    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context()
    return multiprocessing.get_context("fork") if _threads() == 1 else None


def _threads() -> int:
    """The threads of this process, those its libraries start outside Python too (the tokenizers library's pool,
    torch's), as Python 3.12+ counts them for its warning: /proc/self/task, else Python's own."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


def pool_size(folders: int, cores: int, idle: int) -> int:
    """How many worker processes check this many folders (1: none, this process does): one per idle core, at
    least POOL_FROM_CORES, where there are that many cores and at least one of them is idle, and at most one per
    PARALLEL_FROM folders."""
    if cores < POOL_FROM_CORES or idle < 1:
        return 1
    return max(1, min(max(idle, POOL_FROM_CORES), folders // PARALLEL_FROM))


def _cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _idle_cores() -> int:
    """Cores this process may use that are not busy now, at least 0 (on a machine whose cores are all busy with
    other work, forking workers and sending their reports back costs more than it saves)."""
    try:
        busy = max(0.0, os.getloadavg()[0] - 1)  # the load average counts this process too
    except (AttributeError, OSError):  # Windows
        busy = 0.0
    return max(0, round(_cores() - busy))


def _check_many(folders: list[Path], config: Config, baselines: dict[Path, str],
                keep_documents: bool) -> list[ModelReport]:
    shared: dict = {}
    return [_check_one(folder, config, baselines, keep_documents, shared) for folder in folders]


def _check_one(folder: Path, config: Config, baselines: dict[Path, str], keep_documents: bool,
               shared: dict) -> ModelReport:
    """check_folder, with an internal error kept to its folder: one hostile folder never loses the whole run."""
    try:
        return check_folder(folder, config, baselines, keep_documents, shared)
    except MissingDependency:  # the whole run needs it: the CLI says which, the Action installs it
        raise
    except Exception as exc:  # noqa: BLE001 - reported as that folder's error (exit code 2)
        import traceback

        return ModelReport(folder, None, [], error=f"{display_path(folder)}: internal error: "
                           f"{type(exc).__name__}: {str(exc)[:200]}", trace=traceback.format_exc())


class _collector_for_many:
    """Many folders make many small objects that live until the report is written, so the garbage collector
    would scan the growing heap again and again (the cost per folder rose with the number of folders, and one
    collection of the whole heap while the JSON report was written cost ~0.6 s for 10,000 folders). For a run
    over many folders, what exists before it (modules, settings) and, every ``EVERY`` folders, their reports
    (once the garbage they left is collected) are frozen out of collections (``gc.freeze``), and young objects
    are collected less often. The threshold is restored when the run ends; the objects are unfrozen then too,
    or, when the run's Report is handed over (:meth:`hand_over`), once that Report is dropped: rendering it never
    scans them.

    Frozen objects are still freed when nothing refers to them; only reference cycles among them wait for
    ``gc.unfreeze``, and reports hold none (tests/test_linear_time.py)."""

    FROM = 50  # folders
    THRESHOLD = 20_000  # allocations between young collections (Python's default is 700)
    EVERY = 100  # folders

    def __init__(self, count: int) -> None:
        self.active = count >= self.FROM
        self.handed_over = False
        self.checked = 0

    def __enter__(self) -> _collector_for_many:
        if self.active:
            import gc

            self.previous = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(self.THRESHOLD, *self.previous[1:])
        return self

    def keep(self) -> None:
        """A folder's report is made; every ``EVERY`` folders, what they left is collected and the rest frozen."""
        self.checked += 1
        if self.active and self.checked % self.EVERY == 0:
            self._freeze()

    def _freeze(self) -> None:
        import gc

        gc.collect(1)  # the young generations only: what was made since the last freeze
        gc.freeze()

    def hand_over(self, report: Report) -> None:
        """Keep what the run made frozen until ``report`` is dropped."""
        if self.active:
            import gc
            import weakref

            self._freeze()
            weakref.finalize(report, gc.unfreeze)
            self.handed_over = True

    def __exit__(self, *exc: object) -> None:
        if self.active:
            import gc

            gc.set_threshold(*self.previous)
            if not self.handed_over:
                gc.unfreeze()


def check_folder(folder: Path, config: Config | None = None, baselines: dict[Path, str] | None = None,
                 keep_documents: bool = True, shared: dict | None = None) -> ModelReport:
    """Read, resolve and check one folder. Without ``keep_documents``, its files are dropped once its findings
    are made, and its stop sets are kept once with the equal ones of the run's other folders (``shared``)."""
    config = config or Config()
    inputs = input_signatures(folder) if keep_documents else None  # what --fix compares before it writes
    try:
        model = resolve_folder(folder, config, baselines)
    except InputError as exc:
        return ModelReport(folder, None, [], error=exc.render(), cause=exc.detached())
    findings = run_rules(model, config)
    broken = model.files.read_without[0] if model.files.read_without else None
    fixable = 0
    if findings and broken is None:  # --fix never edits a folder with a file it could not read
        from .fixes import plan  # only a folder with findings asks what --fix would change

        fixable = len(plan(model, reported=[finding.code for finding in findings], enabled=config.enabled))
    model.release(keep_documents)
    if not keep_documents:
        model.runtime_stops = released(model.runtime_stops, {} if shared is None else shared)
        forget_converted(model)
    # a file the runtimes read on without (ModelFiles._read_on_without) that is not JSON is still an error (exit 2),
    # next to what they do without it; with more than one, the first in reading order is shown
    return ModelReport(folder, model, findings, error=broken.render() if broken is not None else None,
                       fixable=fixable, cause=broken, inputs=inputs)


MAX_LINK_STEPS = 40  # as the kernel's own limit on links followed (ELOOP)


def _link_steps(path: Path) -> Iterator[str]:
    """The paths --fix writes at (_written_path) of each file a link leads to, one link at a time: ``m2/x -> m1/x
    -> shared/x`` gives m1/x, then shared/x (--fix replaces m1/x, the link m2/x then reads: helper-171)."""
    step = str(path)
    for _ in range(MAX_LINK_STEPS):
        if not os.path.islink(step):
            return
        step = os.path.join(os.path.dirname(step), os.readlink(step))
        yield _written_path(Path(step))


def _written_path(path: Path) -> str:
    """The real path --fix writes ``path`` at: a link is replaced by a regular file (its target is never written)."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def _changed_inputs(folder: Path, inputs: dict | None, planned: set[Path]) -> list[Path]:
    """The files of ``folder`` that a fix does not write and that changed since ``inputs`` (input_signatures) was
    taken; none without signatures (a run that kept no documents)."""
    if inputs is None:
        return []
    now = input_signatures(folder)
    return [path for path, signature in inputs.items() if path not in planned and now.get(path) != signature]


def resolve_folder(folder: Path, config: Config, baselines: dict[Path, str] | None = None) -> ResolvedModel:
    """Read and resolve a model folder and compute every runtime's stop set for it."""
    model = resolve(ModelFiles.read(folder, baselines, config.max_file_bytes, config.max_config_bytes,
                                    warm_layout if config.limits.cache else None), config.limits)
    model.runtime_stops = stop_sets(model, config.runtime_versions)
    model.vocab.read()  # a model vocab transformers cannot load is an error, whichever ids the run asked about
    return model


def check_gguf(path: Path, config: Config, folders: list[Path]) -> ModelReport:
    """Check one GGUF file, and compare it with each model folder of the run (``folders``) it may come from."""
    try:
        gguf = resolve_gguf(path, config, folders)
    except InputError as exc:
        return ModelReport(path, None, [], error=exc.render(), cause=exc.detached())
    if not gguf.tokens:  # a vision projector or an adapter: no vocabulary, nothing ends a turn
        return ModelReport(path, None, [], gguf=gguf)
    return ModelReport(path, None, run_rules(gguf, config), gguf=gguf)


def resolve_gguf(path: Path, config: Config, folders: list[Path]) -> GgufModel:
    """Read a GGUF file's metadata, compute llama.cpp's stop set for it, and find the run's folders it may come
    from (a folder that cannot be read is left out: its error is reported with the folder)."""
    from .gguf_check import load, may_come_from  # only a run that names a GGUF file reads one

    gguf = load(path, config.limits, config.max_file_bytes)
    gguf.eog_release = gguf_release(config.runtime_versions)
    gguf.eog = gguf_end_of_generation(gguf)
    if gguf.tokens:
        for folder in folders:
            try:
                model = resolve_folder(folder, config)
            except InputError:
                continue
            if may_come_from(gguf, model):
                gguf.folders.append(model)
    return gguf


@record
class FixResult:
    """What a fix run changed (or would change, when not writing) and the report of the folders afterwards."""

    changes: list  # of fixes.FileChange: written (or, when not writing, to be written)
    report: Report
    skipped: list[Path]  # files another writer changed between reading and writing
    failed: list[InputError] = field(default_factory=list)  # files that could not be written


# A Hub snapshot lives in the shared Hugging Face cache: its files link to blobs that transformers and vLLM load too,
# and an edit there would make the cached commit pass while the repository on the Hub is unchanged.
FIX_REFUSED = ("--fix cannot edit a Hub repository (it would edit the shared Hugging Face cache, not the repository); "
               "--diff shows the changes to make in a clone")
# The same snapshot named by its path in the cache (~/.cache/huggingface/hub/models--org--name/snapshots/<rev>)
CACHE_FIX_REFUSED = ("--fix does not edit a Hugging Face cache snapshot (the cached commit, which transformers and "
                     "vLLM load, would pass while the repository is unchanged); --diff shows the changes to make in a "
                     "clone")


def fix_paths(paths: Iterable[Union[str, Path]], config: Config | None = None, unsafe: bool = False,
              write: bool = True, on_write: Callable[[Any], None] | None = None,
              allow_empty: bool = False, before_writing: Callable[[Report], None] | None = None,
              folder_settings: Any = None) -> FixResult:
    """Plan and (with ``write``) apply the fixes. Each folder's files are written all or nothing
    (``fixes.write_folder``); a folder that cannot be written does not stop the others: its error is in ``failed``,
    and every file written before and after it is in ``changes``; ``on_write`` hears of each written file as soon
    as its folder is written (the CLI prints ``Fixing path``), so even a run that dies later has said what it
    wrote. Every new text is encoded before the first write. A Hub repository among ``paths`` is refused before
    anything is fetched (InputError) when ``write``; without it, the changes are planned in its snapshot
    (``--diff``). ``before_writing`` sees the first check's report before any file is written, and may raise to
    stop the run (the CLI refuses a --sarif file that is a checked file before it writes a fix)."""
    from .fixes import plan, unchanged_since_read, unencodable, write_folder  # a fix run's writer

    paths = list(paths)
    hub = next((p for p in paths if isinstance(p, str) and p.startswith(HUB_SCHEME)), None) if write else None
    if hub is not None:
        raise InputError(None, f"{hub}: {FIX_REFUSED}")
    config = config or Config()
    before = check_paths(paths, config, allow_empty, keep_documents=True, folder_settings=folder_settings)
    if before_writing is not None:
        before_writing(before)
    changes = []
    skipped: list[Path] = []
    failed: list[InputError] = []
    written: set[str] = set()  # the real paths written: a folder may link to another's file
    again: dict[Path, None] = {}  # folders whose planned file another folder's fix wrote first: planned again
    planned_texts: dict[str, str] = {}  # without write: the real path of each change's file -> its new text

    def planned_for(model_report: ModelReport) -> list:
        if model_report.model is None or model_report.error:
            return []  # never edit a folder with a file that could not be read
        if write and in_hub_cache(model_report.folder):
            failed.append(InputError(model_report.folder, CACHE_FIX_REFUSED))
            return []
        settings = model_report.settings or config
        folder_changes = plan(model_report.model, unsafe=unsafe,
                              reported=[finding.code for finding in model_report.findings], enabled=settings.enabled)
        problem = unencodable(folder_changes)
        if problem is not None:
            failed.append(problem)
            return []
        return folder_changes

    def apply(folder: Path, folder_changes: list, inputs: dict | None, second: bool = False) -> None:
        if not write:
            # as --fix plans a folder again when its file links to one this run wrote: a link to a file an earlier
            # change gives the same text needs no change of its own (helper-168: the diff changed 4 files, --fix 3)
            kept = [change for change in folder_changes if not repository_link(change.path)
                    or change.new_text not in (planned_texts.get(step) for step in _link_steps(change.path))]
            for change in kept:
                planned_texts[_written_path(change.path)] = change.new_text
            changes.extend(kept)
            return
        # planned from files that changed since they were read: one it writes (another writer was faster), or one
        # it only read (tokenizer_config.json, a template: the plan may name another terminator); none is written
        stale = [change.path for change in folder_changes if not unchanged_since_read(change)] or \
            _changed_inputs(folder, inputs, {change.path for change in folder_changes})
        if stale:
            if not second and all(os.path.realpath(path) in written for path in stale):
                again[folder] = None  # a link to a file this run wrote: plan its folder again
            else:
                skipped.extend(stale)
            return
        try:
            write_folder(folder_changes, terminate)
        except InputError as exc:
            failed.append(exc)
        else:
            for change in folder_changes:
                written.add(os.path.realpath(change.path))
                changes.append(change)
                if on_write is not None:
                    on_write(change)
        finally:
            terminate.exit_if_pending()  # a signal that came during the renames, once they are said

    planned = [(model_report.folder, planned_for(model_report), model_report.inputs) for model_report in before.models]
    planned = [(folder, folder_changes, inputs) for folder, folder_changes, inputs in planned if folder_changes]
    terminate = _Terminate() if write and planned else None
    try:
        for folder, folder_changes, inputs in planned:
            apply(folder, folder_changes, inputs)
        settings_by_folder = {m.folder: m.settings for m in before.models if m.settings is not None}
        for folder in again:  # so that one run is enough: a second --fix changes nothing
            report = check_folder(folder, settings_by_folder.get(folder, config))
            folder_changes = planned_for(report)
            if folder_changes:
                apply(folder, folder_changes, report.inputs, second=True)
    finally:
        if terminate is not None:
            terminate.restore()
    before.written = [change.path for change in changes] if write else []
    if not write:
        return FixResult(changes, before, skipped, failed)
    models = before.models
    if changes:
        baselines = (read_baselines([m.folder for m in models], config.baseline, config.max_config_bytes)
                     if config.baseline else {})
        models = [replace(_check_again(m.folder, m.settings or config, baselines), settings=m.settings)
                  if m.model is not None else m for m in models]
    # after --fix (also one whose every write failed), the report does not offer --fix again
    return FixResult(changes, replace(before, models=[replace(m, fixable=0) for m in models]), skipped, failed)


class _Terminate:
    """While fixes are written, SIGTERM (a cancelled CI job, ``timeout``) and SIGHUP (a closed terminal, a dropped
    SSH session) exit through Python, so the temporary files being written are removed (``fixes.write_folder``)
    instead of left in the model folder; a signal the process ignores (``nohup``) stays ignored. Used as a context
    manager (around a folder's whole write: its temporary files, renames and clean-up), it keeps the signal, and
    SIGINT (Ctrl-C) too, waiting until they are done: ``exit_if_pending`` then exits (SIGINT as KeyboardInterrupt).
    A folder is never left half-renamed, nor with a temporary file. Off the main thread nothing is changed (and
    nothing waits)."""

    def __init__(self) -> None:
        import signal

        self.holding = False
        self.pending: int | None = None
        self.previous: dict = {}
        try:
            for name in ("SIGTERM", "SIGHUP", "SIGINT"):
                number = getattr(signal, name, None)
                # no SIGHUP on Windows; an ignored signal stays ignored (``nohup eos-guard --fix``)
                if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
                    self.previous[number] = signal.signal(number, self.terminate)
        except (ValueError, AttributeError):  # not the main thread; no SIGTERM on this platform
            pass

    def terminate(self, signum: int, frame: object) -> None:
        if self.holding:
            self.pending = signum
            return
        self._exit(signum)

    def _exit(self, signum: int) -> None:
        import signal

        if signum == getattr(signal, "SIGINT", None):  # Ctrl-C: what it did before (a caller's handler, if any)
            previous = self.previous.get(signum)
            if callable(previous):
                previous(signum, None)  # Python's default_int_handler raises KeyboardInterrupt: exit 130 (cli.main)
                return
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def __enter__(self) -> None:
        self.holding = True

    def __exit__(self, *exc_info: object) -> None:
        self.holding = False

    def exit_if_pending(self) -> None:
        if self.pending is not None:
            # once: a caller's own SIGINT handler returns, and must not run again after every later folder
            signum, self.pending = self.pending, None
            self._exit(signum)

    def restore(self) -> None:
        import signal

        for number, handler in self.previous.items():
            signal.signal(number, handler)


def _check_again(folder: Path, config: Config, baselines: dict[Path, str]) -> ModelReport:
    """A folder after its fix. An unsafe fix can change the tokens a template is given, so that its shipped
    results no longer apply: a missing jinja2 is then that folder's error, since files were already written."""
    try:
        return check_folder(folder, config, baselines)
    except MissingDependency as exc:
        return ModelReport(folder, None, [], error=f"{display_path(folder)}: after the fix: {exc}")


def run_rules(subject: ResolvedModel | GgufModel, config: Config) -> list[Finding]:
    """The findings of every enabled rule for ``subject``, sorted: the folder rules for a folder, the GGUF rules
    for a GGUF file."""
    options = Options(runtimes=config.runtimes, baseline=config.baseline or "HEAD")
    gguf = not isinstance(subject, ResolvedModel)
    generates = gguf or subject.generates  # a classifier or an embedding model: no rule about stopping
    # no generate(): onnxruntime-genai reads genai_config.json; only mlx-lm loads an MLX-quantized checkpoint
    no_generate = not gguf and (subject.files.onnx_export or subject.files.mlx_quantized)
    # a rule about some runtimes runs where the run checks one of them (EOS001 and EOS030: transformers)
    checked = set(config.runtimes if gguf else runtimes_checked(subject, config.runtimes))
    findings = [finding for rule in (gguf_rules() if gguf else FOLDER_RULES)
                if config.enabled(rule.code) and (generates or not rule.needs_generation)
                and not (no_generate and rule.reads_generation_configs)
                and (not rule.checks_runtimes or not checked.isdisjoint(rule.checks_runtimes))
                for finding in rule.run(subject, options)]
    return sorted((config.severity_of(f) for f in findings if config.keeps(f)), key=Finding.sort_key)
