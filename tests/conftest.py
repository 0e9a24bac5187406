from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from eos_guard.cli import main

# Tests never touch the user's cache; the session's own is removed when it ends.
_CACHE = tempfile.mkdtemp(prefix="eos-guard-test-cache-")
os.environ["EOS_GUARD_CACHE_DIR"] = _CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture
def run(capsys, monkeypatch, tmp_path):
    """Run the CLI in ``tmp_path`` (or a given cwd) and return (exit code, stdout, stderr)."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)

    def runner(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd or tmp_path)
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return runner
