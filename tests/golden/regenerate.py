"""The golden JSON reports: ``eos-guard --format json`` and ``eos-guard explain --format json`` of every folder in
tests/fixtures/, tests/rule_cases/ and examples/, stored next to this file and compared byte for byte by
tests/test_golden.py.

A refactoring must leave every file unchanged. A change that alters verdicts on purpose regenerates them and
commits the diff with the change, so the review shows exactly which reports moved::

    python tests/golden/regenerate.py          # rewrite every golden file
    python tests/golden/regenerate.py --check  # exit 1 and name the files that differ

``cli/<case>.out`` holds the text outputs people read (grouped text, concise, ``--statistics``, ``-q``,
``explain``) for the model folders of ``CLI_TREE``, copied side by side into a temporary folder; tests/
test_cli_output.py compares them.

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
import shutil
import sys
import tempfile
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


# The model folders of the text outputs: two errors, a warning only, an info only, and a clean folder.
CLI_TREE = {
    "models/chatml": ROOT / "examples" / "chatml-finetune-broken",
    "models/llama3": ROOT / "tests" / "fixtures" / "llama3-8b-instruct-release",
    "models/yi": ROOT / "tests" / "fixtures" / "yi-34b-chat-tokenizer-eos-endoftext",
    "models/pad": ROOT / "tests" / "rule_cases" / "EOS013-pad-is-terminator",
    "models/clean": ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned",
}
# case -> (arguments, exit code)
CLI_CASES = {
    "text": (["--format", "text", "models"], 1),
    "concise": (["--format", "concise", "models"], 1),
    "statistics": (["--statistics", "models"], 1),
    "quiet": (["-q", "models"], 1),
    "quiet-warning": (["-q", "--fail-on", "warning", "--format", "text", "models"], 1),
    "explain": (["explain", "models/chatml", "models/pad"], 0),
}


def cli_tree(where: Path) -> Path:
    """Copy the folders of ``CLI_TREE`` below ``where`` (without their README.md and expected.json)."""
    for name, source in CLI_TREE.items():
        shutil.copytree(source, where / name, ignore=shutil.ignore_patterns("README.md", "expected.json"))
    return where


def cli_outputs() -> dict[Path, str]:
    """The current text output of each case of ``CLI_CASES``, keyed by its golden file."""
    with tempfile.TemporaryDirectory() as tmp:
        where = cli_tree(Path(tmp))
        return {GOLDEN / "cli" / f"{case}.out": _run(where, [*args, "--no-cache"])
                for case, (args, _) in CLI_CASES.items()}


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    differ = []
    outputs = [(path, text) for folder in folders() for path, text in zip(golden_paths(folder), reports(folder))]
    for path, text in outputs + list(cli_outputs().items()):
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
