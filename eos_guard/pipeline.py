"""The pipeline for one run: sources -> read -> resolve -> runtimes -> rules -> a Report.

Every source ends as something to check: a local folder, a Hub repository's fetched snapshot (a folder too), or
a GGUF file. Folders and GGUF files take the same steps (read and resolve, compute the runtimes' stop sets, run the
rules that apply to them); a GGUF file is checked after the folders, which it is compared with.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Union

from .baseline import baseline_problems, read_baselines
from .config_types import Config
from .errors import InputError
from .findings import Finding
from .model_files import ModelFiles, find_model_folders
from .resolve import ResolvedModel, resolve
from .results import ModelReport, Report
from .rules import ALL_RULES
from .rules.base import Options
from .rules.gguf_base import GgufRule
from .runtimes import stop_sets
from .runtimes.llama_cpp import gguf_end_of_generation
from .sources import classify

if TYPE_CHECKING:
    from .gguf_check import GgufModel


# Below this many folders per worker, starting worker processes costs more than it saves.
PARALLEL_FROM = 100


@dataclass
class Found:
    """What the PATH arguments name: local model folders, Hub snapshots, GGUF files, Hub repositories that could not
    be fetched, and the PATHs that could not be checked (each one line; the run goes on with the others)."""

    folders: list[Path] = field(default_factory=list)
    fetched: list[Path] = field(default_factory=list)  # the folders that are Hub snapshots (no git history)
    ggufs: list[Path] = field(default_factory=list)
    failed: list[ModelReport] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)


NO_MODEL_FOLDER = "holds no model folder (one with config.json, generation_config.json or tokenizer_config.json)"


def model_folders(paths: Iterable[Union[str, Path]], config: Config, allow_empty: bool = False) -> Found:
    """The model folders named by ``paths`` (local ones found, Hub repositories fetched) and the GGUF files.

    A missing PATH, an empty one, and a folder without any model folder below it (unless ``allow_empty``) are
    problems; a file outside a model folder is skipped, as pre-commit passes every file whose name matches.
    """
    found = Found()
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
                folders = find_model_folders([path])
                if not folders and path.is_dir() and not allow_empty:
                    found.problems.append(InputError(path, NO_MODEL_FOLDER))
                local.update(dict.fromkeys(folders))
        except InputError as exc:
            found.problems.append(exc)
            continue
        found.ggufs += sources.gguf
        hub += sources.hub
    found.folders = [f for f in local if not config.excluded(f)]
    if hub:
        from .hub import fetch  # loaded only when a Hub repository is named

        for ref in hub:
            try:
                found.fetched.append(fetch(ref, config))
            except InputError as exc:
                found.failed.append(ModelReport(Path(ref.label), None, [], error=exc.render(), cause=exc))
    return found


def check_paths(paths: Iterable[Union[str, Path]], config: Config | None = None, allow_empty: bool = False) -> Report:
    """Check every model folder under ``paths``; a broken folder or PATH is reported without stopping the others."""
    config = config or Config()
    found = model_folders(paths, config, allow_empty)
    baselines, problems = _baselines(found.folders, config)
    folders = found.folders + found.fetched
    return Report(check_folders(folders, config, baselines) + found.failed
                  + [check_gguf(path, config, folders) for path in found.ggufs],
                  found.problems + problems, runtimes=config.runtimes, fail_on=config.fail_on)


def _baselines(folders: list[Path], config: Config) -> tuple[dict[Path, str], list[InputError]]:
    """The earlier versions of the files for EOS015, and, when ``--baseline`` was given, why it cannot be read."""
    if not config.baseline or not config.enabled("EOS015") or not folders:
        return {}, []
    problems = baseline_problems(folders, config.baseline) if config.baseline_explicit else []
    return read_baselines(folders, config.baseline), problems


def check_folders(folders: list[Path], config: Config, baselines: dict[Path, str] | None = None) -> list[ModelReport]:
    if baselines is None:
        baselines, _ = _baselines(folders, config)
    workers = min(os.cpu_count() or 1, len(folders) // PARALLEL_FROM)
    if workers < 2:
        return [check_folder(folder, config, baselines) for folder in folders]
    import concurrent.futures
    import functools

    task = functools.partial(_check_many, config=config, baselines=baselines)
    chunks = [folders[i::workers * 4] for i in range(workers * 4)]
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        done = {f.folder: f for chunk in pool.map(task, chunks) for f in chunk}
    return [done[folder] for folder in folders]


def _check_many(folders: list[Path], config: Config, baselines: dict[Path, str]) -> list[ModelReport]:
    return [check_folder(folder, config, baselines) for folder in folders]


def check_folder(folder: Path, config: Config | None = None, baselines: dict[Path, str] | None = None) -> ModelReport:
    config = config or Config()
    try:
        model = resolve_folder(folder, config, baselines)
    except InputError as exc:
        return ModelReport(folder, None, [], error=exc.render(), cause=exc)
    findings = run_rules(model, config)
    fixable = 0
    if findings:
        from .fixes import plan  # only a folder with findings asks what --fix would change

        fixable = len(plan(model))
    model.release()
    return ModelReport(folder, model, findings, fixable=fixable)


def resolve_folder(folder: Path, config: Config, baselines: dict[Path, str] | None = None) -> ResolvedModel:
    """Read and resolve a model folder and compute every runtime's stop set for it."""
    model = resolve(ModelFiles.read(folder, baselines, config.max_file_bytes), config.limits)
    model.runtime_stops = stop_sets(model)
    return model


def check_gguf(path: Path, config: Config, folders: list[Path]) -> ModelReport:
    """Check one GGUF file, and compare it with each model folder of the run (``folders``) it may come from."""
    try:
        gguf = resolve_gguf(path, config, folders)
    except InputError as exc:
        return ModelReport(path, None, [], error=exc.render(), cause=exc)
    if not gguf.tokens:  # a vision projector or an adapter: no vocabulary, nothing ends a turn
        return ModelReport(path, None, [], gguf=gguf)
    return ModelReport(path, None, run_rules(gguf, config), gguf=gguf)


def resolve_gguf(path: Path, config: Config, folders: list[Path]) -> GgufModel:
    """Read a GGUF file's metadata, compute llama.cpp's stop set for it, and find the run's folders it may come
    from (a folder that cannot be read is left out: its error is reported with the folder)."""
    from .gguf_check import load, may_come_from  # only a run that names a GGUF file reads one

    gguf = load(path, config.limits, config.max_file_bytes)
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


@dataclass
class FixResult:
    """What a fix run changed (or would change, when not writing) and the report of the folders afterwards."""

    changes: list  # of fixes.FileChange
    report: Report
    skipped: list[Path]  # files another writer changed between reading and writing


def fix_paths(paths: Iterable[Path], config: Config | None = None, unsafe: bool = False,
              write: bool = True, allow_empty: bool = False) -> FixResult:
    from .fixes import plan, unchanged_since_read, write_atomically  # only a fix run needs the writer

    config = config or Config()
    before = check_paths(paths, config, allow_empty)
    changes = []
    skipped: list[Path] = []
    for model_report in before.models:
        if model_report.model is None:
            continue
        for change in plan(model_report.model, unsafe=unsafe):
            if not write:
                changes.append(change)
            elif unchanged_since_read(change):
                try:
                    write_atomically(change.path, change.new_text)
                except OSError as exc:
                    raise InputError(change.path, f"cannot write: {exc.strerror or exc}") from None
                changes.append(change)
            else:
                skipped.append(change.path)
    if not write or not changes:
        return FixResult(changes, before, skipped)
    baselines = read_baselines([m.folder for m in before.models], config.baseline) if config.baseline else {}
    after = dataclasses.replace(before, models=[check_folder(m.folder, config, baselines) if m.model is not None
                                                else m for m in before.models], fixed=[c.path for c in changes])
    return FixResult(changes, after, skipped)


def run_rules(subject: ResolvedModel | GgufModel, config: Config) -> list[Finding]:
    """The findings of every enabled rule for ``subject``, sorted: the folder rules for a folder, the GGUF rules
    for a GGUF file."""
    options = Options(runtimes=config.runtimes)
    gguf = not isinstance(subject, ResolvedModel)
    findings = [finding for rule in ALL_RULES if isinstance(rule, GgufRule) == gguf and config.enabled(rule.code)
                for finding in rule.run(subject, options)]
    return sorted((config.severity_of(f) for f in findings if config.keeps(f)), key=Finding.sort_key)
