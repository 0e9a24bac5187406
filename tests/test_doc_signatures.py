"""The signatures the docs give for the Python API are the code's: a parameter added to a function and not to its
documented signature leaves users without it (helper-144: check_batch's ``encoder_decoder``)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import eos_guard

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md")])
# a documented signature: a code span of its own (``eos_guard.check(*paths, config=None)``, a return annotation
# after it), or the callback's at the start of a code block; its parameters are names, with defaults, or a bare *
SIGNATURE = re.compile(r"`(eos_guard\.\w+)\(([^()`]*)\)( -> [^`]*)?`|```python\n(EosGuardCallback)\(([^()`]*)\)\n")
PARAMETER = re.compile(r"\*?\*?\w+(=[^,]+)?|\*")


def documented() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for match in SIGNATURE.finditer(doc.read_text(encoding="utf-8")):
            name = match.group(1) or match.group(4)
            text = " ".join((match.group(2) if match.group(1) else match.group(5)).split())
            parts = [p.strip() for p in text.split(",")] if text else []
            # a return annotation makes it a signature (a heading); else a default or a * does, not a call's names
            claimed = bool(match.group(3)) or any("=" in p or p.startswith("*") for p in parts)
            if parts and all(PARAMETER.fullmatch(p) for p in parts) and claimed:
                found.append((doc.relative_to(ROOT).as_posix(), name, ", ".join(parts)))
    return found


def with_star(name: str) -> str:
    """The code's parameters as the docs write them: a bare ``*`` before the first keyword-only one."""
    if name == "EosGuardCallback":
        from eos_guard.integrations.transformers import EosGuardCallback as target
    else:
        target = getattr(eos_guard, name.split(".", 1)[1])
    parts, star = [], False
    for parameter in inspect.signature(target).parameters.values():
        if parameter.kind == parameter.KEYWORD_ONLY and not star:
            parts.append("*")
        star = star or parameter.kind in (parameter.KEYWORD_ONLY, parameter.VAR_POSITIONAL)
        parts.append(str(parameter.replace(annotation=inspect.Parameter.empty)).replace("'", '"'))
    return ", ".join(parts)


def test_the_docs_give_signatures():
    names = {name for _doc, name, _text in documented()}
    assert {"eos_guard.check", "eos_guard.fix", "eos_guard.check_batch", "eos_guard.align",
            "EosGuardCallback"} <= names, names


@pytest.mark.parametrize("doc, name, text", documented(), ids=lambda v: str(v)[:40])
def test_a_documented_signature_is_the_code_s(doc, name, text):
    assert text == with_star(name), f"{doc}: {name}({text})"
