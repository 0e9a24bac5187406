"""What installing eos-guard pulls in, read from the package metadata: the README's test command
(``pip install -e '.[test]'``) must never download torch or CUDA; the e2e test's needs live in ``[e2e]``."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from support import ROOT

HEAVY = re.compile(r"^(torch|accelerate|nvidia-.*|triton)$")


@pytest.fixture(scope="module")
def eos_guard_metadata(tmp_path_factory) -> importlib.metadata.Distribution:
    """This checkout's metadata as pip would install it, written by setuptools' PEP 517 hook without any download.
    (Not the installed metadata: an install from an earlier pyproject.toml, or an eos_guard.egg-info that
    ``pip install .`` leaves in the checkout, would be read instead.)"""
    out = tmp_path_factory.mktemp("metadata")
    proc = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                           "print(build_meta.prepare_metadata_for_build_wheel(sys.argv[1]))", str(out)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return importlib.metadata.PathDistribution(out / proc.stdout.strip().splitlines()[-1])


def requirements(dist: importlib.metadata.Distribution, extra: str) -> list[Requirement]:
    """The requirements ``dist`` installs with ``extra`` ("" for none), markers evaluated for this Python."""
    found = []
    for text in dist.requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
            found.append(requirement)
    return found


def closure(top: list[Requirement]) -> dict[str, str]:
    """Every distribution the requirements pull in, through the installed dependencies' own metadata (no network):
    name -> the chain that brings it."""
    seen: dict[str, str] = {}
    queue = [(r, r.name) for r in top]
    while queue:
        requirement, chain = queue.pop()
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name in seen:
            continue
        seen[name] = chain
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here: its own dependencies cannot be read without a download
        for extra in ["", *requirement.extras]:
            queue += [(r, f"{chain} -> {r.name}") for r in requirements(dist, extra)]
    return seen


def test_the_test_extra_pulls_no_torch_accelerate_or_cuda(eos_guard_metadata):
    test = requirements(eos_guard_metadata, "test")
    assert {r.name for r in test} >= {"pytest", "transformers", "pre-commit"}
    heavy = {name: chain for name, chain in closure(test).items() if HEAVY.match(name)}
    assert heavy == {}


def test_the_core_install_pulls_no_transformers(eos_guard_metadata):
    core = closure(requirements(eos_guard_metadata, ""))
    assert not [name for name in core if HEAVY.match(name) or name in ("transformers", "huggingface-hub")]


def test_the_e2e_extra_holds_what_the_training_test_imports(eos_guard_metadata):
    names = {r.name for r in requirements(eos_guard_metadata, "e2e")}
    assert names >= {"torch", "accelerate"}
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -q torch==" in ci and ".[test,e2e]" in ci  # the CPU torch first, then the extra
    assert ci.index("torch==") < ci.index(".[test,e2e]")
