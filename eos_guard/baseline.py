"""Earlier versions of the files, from git, so a change that drops stop ids can be caught (EOS015).

One ``git cat-file --batch`` process per repository reads every wanted file at the revision; no git at all
when the folders are not in a work tree. Files git does not track at that revision have no baseline.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterable

from .errors import InputError, display_path

BASELINE_FILES = ("generation_config.json", "config.json")


def git_root(folder: Path) -> Path | None:
    for directory in (folder, *folder.parents):
        if (directory / ".git").exists():
            return directory
    return None


def read_baselines(folders: Iterable[Path], revision: str = "HEAD") -> dict[Path, str]:
    """Text of each of BASELINE_FILES at ``revision``, keyed by its path in the work tree."""
    by_root: dict[Path, list[Path]] = {}
    for folder in folders:
        root = git_root(folder)
        if root is not None:
            by_root.setdefault(root, []).extend(folder / name for name in BASELINE_FILES)
    texts: dict[Path, str] = {}
    for root, paths in by_root.items():
        texts.update(_cat_files(root, paths, revision))
    return texts


def baseline_problems(folders: Iterable[Path], revision: str) -> list[InputError]:
    """Why a baseline that was asked for cannot be read: folders outside any git work tree (said once), and each
    work tree where ``revision`` names no commit."""
    roots: dict[Path, None] = {}
    outside: list[Path] = []
    for folder in folders:
        root = git_root(folder)
        if root is None:
            outside.append(folder)
        else:
            roots.setdefault(root, None)
    problems = []
    if outside:
        first = display_path(outside[0])
        more = len(outside) - 1
        where = f"{first} (and {more} more folder{'s' if more != 1 else ''})" if more else first
        problems.append(InputError(None, f"--baseline {revision}: {where} is not in a git repository; the "
                                         "regression check (EOS015) is off there"))
    for root in roots:
        if not _is_commit(root, revision):
            problems.append(InputError(None, f"--baseline {revision}: no such revision in {display_path(root)}; "
                                             "the regression check (EOS015) is off"))
    return problems


def _is_commit(root: Path, revision: str) -> bool:
    try:
        proc = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def _cat_files(root: Path, paths: list[Path], revision: str) -> dict[Path, str]:
    names = [p.relative_to(root).as_posix() for p in paths]
    request = "".join(f"{revision}:{name}\n" for name in names).encode("utf-8")
    try:
        proc = subprocess.run(["git", "-C", str(root), "cat-file", "--batch"], input=request,
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return {}
    if proc.returncode != 0:
        return {}
    out, pos, texts = proc.stdout, 0, {}
    for path in paths:
        end = out.find(b"\n", pos)
        if end < 0:
            break
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3 or header[1] != b"blob":
            continue  # "<name> missing": not tracked at that revision
        size = int(header[2])
        blob = out[pos:pos + size]
        pos += size + 1
        try:
            texts[path] = blob.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts
