"""Reports do not depend on the cache: every fixture folder gives byte-identical output when everything is computed
from the files (``--no-cache``: every template rendered, every vocabulary parsed), with an empty cache folder
(cold: shipped probe results and the vocabulary scan), and with that folder filled by the cold run (warm)."""

from __future__ import annotations

import pytest

from eos_guard import cache, template
from support import FIXTURES

FOLDERS = sorted(p for p in FIXTURES.iterdir() if p.is_dir())


def _forget_run_memory() -> None:
    """What a new process starts with: no in-memory cache, no compiled jinja2 environment."""
    cache._MEMORY.clear()
    template._ENV = None


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
@pytest.mark.parametrize("output", ["json", "text"])
def test_report_is_the_same_uncached_cold_and_warm(run, folder, output, tmp_path, monkeypatch):
    args = ("--format", output, "--baseline", "none", str(folder))
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    _forget_run_memory()
    uncached = run("--no-cache", *args)
    _forget_run_memory()
    cold = run(*args)
    assert (tmp_path / "cache").is_dir(), "the cold run filled the cache folder"
    _forget_run_memory()
    warm = run(*args)
    assert uncached == cold == warm
    assert uncached[1]  # a report was written
