"""The golden JSON reports: ``eos-guard --format json`` and ``eos-guard explain --format json`` of every folder in
tests/fixtures/, tests/rule_cases/ and examples/, stored next to this file and compared byte for byte by
tests/test_golden.py.

A refactoring must leave every file unchanged. A change that alters verdicts on purpose regenerates them and
commits the diff with the change, so the review shows exactly which reports moved::

    python tests/golden/regenerate.py          # rewrite every golden file
    python tests/golden/regenerate.py --check  # exit 1 and name the files that differ

Each folder is checked from inside itself (``eos-guard .``), so every path in a report is relative to it. A rule
case runs where docs/gen_rules.py prepares it (with its GGUF written, or its ``baseline/`` committed to a
temporary git repository); the other folders run with ``--baseline none`` so the result does not depend on the
git state of the work tree. The render cache is off (``--no-cache``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
GROUPS = ("tests/fixtures", "tests/rule_cases", "examples")


def _gen_rules():
    spec = importlib.util.spec_from_file_location("gen_rules", ROOT / "docs" / "gen_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def folders() -> list[Path]:
    """Every folder a golden report is kept for, in a stable order."""
    return [path for group in GROUPS for path in sorted((ROOT / group).iterdir()) if path.is_dir()]


def golden_paths(folder: Path) -> tuple[Path, Path]:
    """Where the check report and the explain report of ``folder`` are stored."""
    group = folder.parent.relative_to(ROOT).as_posix().replace("tests/", "")
    return GOLDEN / group / f"{folder.name}.json", GOLDEN / group / f"{folder.name}.explain.json"


@contextlib.contextmanager
def _prepared(folder: Path) -> Iterator[tuple[Path, list[str]]]:
    """The directory to run in and the arguments that name what to check there."""
    if folder.parent.name == "rule_cases":
        gen = _gen_rules()
        with gen.prepared(folder) as where:
            yield where, gen.arguments(where)
    else:
        yield folder, [".", "--baseline", "none"]


def _run(where: Path, args: list[str]) -> str:
    from eos_guard.cli import main

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    github = os.environ.pop("GITHUB_ACTIONS", None)
    os.chdir(where)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(args)
    finally:
        os.chdir(cwd)
        if github is not None:
            os.environ["GITHUB_ACTIONS"] = github
    return out.getvalue()


def reports(folder: Path) -> tuple[str, str]:
    """The current ``--format json`` and ``explain --format json`` output for ``folder``."""
    with _prepared(folder) as (where, args):
        check = _run(where, ["--format", "json", "--no-cache", *args])
        explain = _run(where, ["explain", "--format", "json", "--no-cache", *args])
    return check, explain


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    differ = []
    for folder in folders():
        for path, text in zip(golden_paths(folder), reports(folder)):
            old = path.read_text(encoding="utf-8") if path.is_file() else None
            if old == text:
                continue
            differ.append(path)
            if "--check" not in argv:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for path in differ:
        print(f"{'differs' if '--check' in argv else 'rewrote'}: {path.relative_to(ROOT).as_posix()}")
    return 1 if differ and "--check" in argv else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
