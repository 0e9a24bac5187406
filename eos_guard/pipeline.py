"""The pipeline for one run: find folders, read their files, resolve, apply the rules, collect a Report."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Union

from .baseline import baseline_problems, read_baselines
from .config import Config
from .errors import InputError
from .findings import Finding, ModelReport, Report
from .model_files import ModelFiles, find_model_folders
from .resolve import ResolvedModel, resolve
from .rules import ALL_RULES
from .rules.base import Options
from .sources import classify


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
        from .hub import fetch

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
    report = Report(check_folders(folders, config, baselines) + found.failed, found.problems + problems,
                    runtimes=config.runtimes, fail_on=config.fail_on)
    if found.ggufs:
        from .gguf_check import check_gguf

        report.models += [check_gguf(path, config, folders) for path in found.ggufs]
    return report


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
        model = resolve(ModelFiles.read(folder, baselines, config.max_file_bytes), config.limits)
    except InputError as exc:
        return ModelReport(folder, None, [], error=exc.render(), cause=exc)
    findings = run_rules(model, config)
    fixable = 0
    if findings:
        from .fixes import plan

        fixable = len(plan(model))
    model.release()
    return ModelReport(folder, model, findings, fixable=fixable)


@dataclass
class FixResult:
    """What a fix run changed (or would change, when not writing) and the report of the folders afterwards."""

    changes: list  # of fixes.FileChange
    report: Report
    skipped: list[Path]  # files another writer changed between reading and writing


def fix_paths(paths: Iterable[Path], config: Config | None = None, unsafe: bool = False,
              write: bool = True, allow_empty: bool = False) -> FixResult:
    from .fixes import plan, unchanged_since_read, write_atomically

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


def run_rules(model: ResolvedModel, config: Config) -> list[Finding]:
    options = Options(runtimes=config.runtimes)
    findings = [finding for rule in ALL_RULES if config.enabled(rule.code) for finding in rule.check(model, options)]
    return sorted((config.severity_of(f) for f in findings if config.keeps(f)), key=Finding.sort_key)
