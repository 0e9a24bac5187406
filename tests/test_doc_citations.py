"""Every test the docs cite as the proof of a sentence exists: a renamed or deleted test leaves a claim without one.

The docs cite tests as ``test_file.py::test_name`` (``tests/`` optional), and a run of citations from the same file
as ``::test_other`` after the first; a citation names the file it is in by the last one written before it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md")])
CITATION = re.compile(r"`((?:tests/)?(?:[\w/]+/)?(test_\w+\.py))?::(test_\w+)(?:\[[^`\]]*\])?`")


def citations(text: str) -> list[tuple[str, str]]:
    """``(file, test)`` for each citation of ``text``, in order; a ``::test`` alone takes the last file named."""
    found, last = [], None
    for match in CITATION.finditer(text):
        path, _name, test = match.groups()
        if path is not None:
            last = path if path.startswith("tests/") else f"tests/{path}"
        assert last is not None, f"{match.group()} names no file, and none is named before it"
        found.append((last, test))
    return found


def test_the_pattern_reads_both_forms_of_citation():
    text = ("`test_cli.py::test_a`, `::test_b`; `tests/golden/test_c.py::test_d[x-1]` and `::test_e` "
            "(`tests/test_f.py::test_g`)")
    assert citations(text) == [("tests/test_cli.py", "test_a"), ("tests/test_cli.py", "test_b"),
                               ("tests/golden/test_c.py", "test_d"), ("tests/golden/test_c.py", "test_e"),
                               ("tests/test_f.py", "test_g")]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_cited_test_exists(doc):
    missing = []
    for file, test in citations(doc.read_text(encoding="utf-8")):
        path = ROOT / file
        source = path.read_text(encoding="utf-8") if path.is_file() else ""
        if not re.search(rf"^\s*(?:async\s+)?def {test}\(", source, re.MULTILINE):
            missing.append(f"{file}::{test}")
    for file in re.findall(r"`(tests/[\w/.-]+\.py)`", doc.read_text(encoding="utf-8")):
        if not (ROOT / file).is_file():
            missing.append(file)
    assert not missing, f"{doc.relative_to(ROOT)} cites tests that do not exist: {missing}"


def test_the_docs_cite_tests_at_all():
    """The pattern still matches how the docs write citations (a change of form would make the test above pass
    on nothing)."""
    assert sum(len(citations(doc.read_text(encoding="utf-8"))) for doc in DOCS) > 100
