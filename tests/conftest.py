from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from eos_guard.cli import main

# Tests never touch the user's cache.
os.environ["EOS_GUARD_CACHE_DIR"] = tempfile.mkdtemp(prefix="eos-guard-test-cache-")


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
