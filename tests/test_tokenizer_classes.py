"""eos_guard/data/tokenizer_classes.json is what scripts/tokenizer_classes.py computes from the installed transformers:
the test regenerates the section of the installed release line and compares.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from support import ROOT

transformers = pytest.importorskip("transformers")
from transformers.utils import import_utils  # noqa: E402

TABLES_FILE = ROOT / "eos_guard" / "data" / "tokenizer_classes.json"


def _installed_section() -> dict:
    releases = json.loads(TABLES_FILE.read_text(encoding="utf-8"))["releases"]
    line = ".".join(transformers.__version__.split(".")[:2])
    return next((s for s in releases.values() if s["transformers"].startswith(line + ".")), releases["newest"])


def test_tables_match_the_installed_transformers():
    section = _installed_section()
    if (section["sentencepiece"], section["mistral_common"]) != (import_utils.is_sentencepiece_available(),
                                                                  import_utils.is_mistral_common_available()):
        pytest.skip("the tables were generated with other optional packages (sentencepiece, mistral-common), which "
                    "change a few entries")
    spec = importlib.util.spec_from_file_location("tokenizer_classes", ROOT / "scripts" / "tokenizer_classes.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    computed = script.tables()
    assert {k: v for k, v in computed.items() if k != "transformers"} \
        == {k: v for k, v in section.items() if k != "transformers"}, \
        "run python scripts/tokenizer_classes.py (see its docstring) and commit eos_guard/data/tokenizer_classes.json"
