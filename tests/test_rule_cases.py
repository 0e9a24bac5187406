"""Each rule's example folder (the one docs/rules.md shows) triggers that rule, and the page is current."""

from __future__ import annotations

import importlib.util
import json

import pytest

from support import ROOT, RULE_CASES
from eos_guard.rules import ALL_RULES
from eos_guard.rules.batch_base import BatchRule

FOLDER_RULES = [rule for rule in ALL_RULES if not isinstance(rule, BatchRule)]  # batch rules: tests/test_batch.py


def _generator():
    spec = importlib.util.spec_from_file_location("gen_rules", ROOT / "docs" / "gen_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("rule", FOLDER_RULES, ids=lambda r: f"{r.code}-{r.name}")
def test_example_folder_triggers_its_rule(run, rule):
    folder = next(RULE_CASES.glob(f"{rule.code}-*"))
    assert folder.name == f"{rule.code}-{rule.name}"
    generator = _generator()
    with generator.prepared(folder) as where:
        code, out, _ = run("--format", "json", *generator.arguments(where), cwd=where)
    found = {(f["code"], f["severity"]) for f in json.loads(out)["findings"]}
    assert (rule.code, str(rule.severity)) in found


def test_rules_page_is_generated_from_the_code():
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == _generator().render(), \
        "docs/rules.md is stale: run python docs/gen_rules.py"


def test_codes_and_names_are_unique_and_well_formed():
    codes = [r.code for r in ALL_RULES]
    names = [r.name for r in ALL_RULES]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
    assert all(c.startswith("EOS") and len(c) == 6 and c[3:].isdigit() for c in codes)
    assert all(n == n.lower() and " " not in n for n in names)
