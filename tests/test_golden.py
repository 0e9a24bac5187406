"""Every fixture folder's JSON reports are byte-identical to the stored golden files (tests/golden/).

A change that moves a verdict on purpose regenerates them (``python tests/golden/regenerate.py``) and shows the
diff in its commit; any other change to a report is a regression.
"""

from __future__ import annotations

import importlib.util

import pytest

from eos_guard import vocab_scan
from support import ROOT

_spec = importlib.util.spec_from_file_location("golden_regenerate", ROOT / "tests" / "golden" / "regenerate.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)


@pytest.mark.parametrize("scan", ["compiled scan", "Python scan"])
@pytest.mark.parametrize("folder", golden.folders(), ids=lambda f: f"{f.parent.name}/{f.name}")
def test_reports_match_the_golden_files(folder, scan, monkeypatch):
    """With the compiled vocab scan where it was built (eos_guard/_vocab_scan.c) and with the Python one."""
    if scan == "Python scan":
        monkeypatch.setattr(vocab_scan, "_COMPILED", [None])
    check, explain = golden.reports(folder)
    check_path, explain_path = golden.golden_paths(folder)
    assert check_path.is_file(), "no golden file yet: run python tests/golden/regenerate.py"
    assert check == check_path.read_text(encoding="utf-8"), \
        f"{check_path.name} changed; if on purpose, run python tests/golden/regenerate.py and commit the diff"
    assert explain == explain_path.read_text(encoding="utf-8"), \
        f"{explain_path.name} changed; if on purpose, run python tests/golden/regenerate.py and commit the diff"


def test_every_golden_file_belongs_to_a_folder():
    kept = {path for folder in golden.folders() for path in golden.golden_paths(folder)}
    stored = set((ROOT / "tests" / "golden").rglob("*.json"))
    assert stored <= kept, f"golden files of folders that no longer exist: {sorted(stored - kept)}"
