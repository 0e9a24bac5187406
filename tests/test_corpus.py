"""The shared real-world corpus (../shared/corpus, not part of this repository): every verdict must agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

CHECKER = ROOT.parent / "shared" / "tools" / "corpus-check"


@pytest.mark.skipif(not CHECKER.exists(), reason="../shared/corpus is not next to this checkout")
def test_corpus_verdicts_agree():
    eos_guard = Path(sys.executable).parent / "eos-guard"
    proc = subprocess.run([sys.executable, str(CHECKER), str(eos_guard)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "agree" in proc.stdout
