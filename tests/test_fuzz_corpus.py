"""Replays every input the fuzzers kept (seeds, interesting inputs and fixed crashes): fuzz/corpus/ through the
whole pipeline, and the GGUF reader's, Hub list's and config loader's corpora through their targets."""

from __future__ import annotations

import sys

import pytest

from support import ROOT

sys.path.insert(0, str(ROOT / "fuzz"))
import harness  # noqa: E402

TARGETS = {"corpus": harness.check_input, "corpus-gguf": harness.check_gguf_input,
           "corpus-hub-list": harness.check_hub_list_input, "corpus-config": harness.check_config_input}
CORPUS = [(folder, path) for folder in TARGETS for path in sorted((ROOT / "fuzz" / folder).iterdir())]


@pytest.mark.parametrize("folder", TARGETS)
def test_corpus_is_there(folder):
    assert len(list((ROOT / "fuzz" / folder).iterdir())) >= (18 if folder == "corpus" else 2)


@pytest.mark.parametrize("folder, path", CORPUS, ids=lambda p: p if isinstance(p, str) else p.name[:24])
def test_replay(folder, path):
    TARGETS[folder](path.read_bytes())
