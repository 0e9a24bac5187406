"""Replays every input the fuzzer kept (fuzz/corpus/: seeds, interesting inputs and fixed crashes)."""

from __future__ import annotations

import sys

import pytest

from support import ROOT

sys.path.insert(0, str(ROOT / "fuzz"))
from harness import check_input  # noqa: E402

CORPUS = sorted((ROOT / "fuzz" / "corpus").iterdir())


def test_corpus_is_there():
    assert len(CORPUS) >= 18


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name[:16])
def test_replay(path):
    check_input(path.read_bytes())
