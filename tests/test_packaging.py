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


def _sources(into) -> None:
    """The files an sdist of this checkout builds from, without anything a build left in it (an in-place .so)."""
    import shutil

    listed = subprocess.run(["git", "ls-files", "eos_guard", "pyproject.toml", "setup.py", "README.md"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, into / name)


@pytest.mark.parametrize("how", ["no C compiler", "EOS_GUARD_NO_EXTENSIONS=1"])
def test_a_wheel_built_without_the_compiled_scan_checks_the_same(tmp_path, how):
    """setup.py's extension is optional: where it cannot be compiled, the build warns and the wheel is eos-guard
    without it, which reports what an install with it reports."""
    import os
    import zipfile

    source, wheels, unpacked = tmp_path / "src", tmp_path / "wheels", tmp_path / "site"
    _sources(source)
    env = {**os.environ, **({"CC": "/nonexistent/cc"} if how == "no C compiler" else {"EOS_GUARD_NO_EXTENSIONS": "1"})}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(source), "-w",
                    str(wheels)], env=env, check=True, capture_output=True, text=True)
    [wheel] = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert not [n for n in names if "_vocab_scan" in n and not n.endswith(".py")], names
    if how == "EOS_GUARD_NO_EXTENSIONS=1":  # docs/release.md: the pure wheel uploaded for every other platform
        assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    # folders whose tokenizer.json vocab is scanned, one of them for its size (ids after the vocab)
    folders = [str(ROOT / "tests" / "fixtures" / name) for name in ("added-token-ids-disagree",
                                                                   "llama3-8b-instruct-release")]
    runs = []
    for path in (unpacked, ROOT):
        runs.append(subprocess.run([sys.executable, "-m", "eos_guard", "--no-cache", "--format", "json", *folders],
                                   env={**os.environ, "PYTHONPATH": str(path)}, cwd=tmp_path, capture_output=True,
                                   text=True))
    assert runs[0].returncode == runs[1].returncode == 1, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout and "EOS" in runs[0].stdout


def test_a_wheel_built_with_a_compiler_carries_the_compiled_scan_and_says_its_platform(tmp_path):
    """docs/release.md: the wheel a build with a C compiler makes (as cibuildwheel's builds do) holds the compiled
    scan and is tagged for this interpreter and platform, so pip prefers it to the pure one where both exist."""
    import os
    import shutil
    import sysconfig
    import zipfile

    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None and not os.environ.get("EOS_GUARD_REQUIRE_EXTENSIONS"):  # CI has one
        pytest.skip(f"no C compiler here ({compiler})")
    source, wheels = tmp_path / "src", tmp_path / "wheels"
    _sources(source)
    env = {key: value for key, value in os.environ.items() if key != "EOS_GUARD_NO_EXTENSIONS"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(source), "-w",
                    str(wheels)], env=env, check=True, capture_output=True, text=True)
    [wheel] = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    assert f"eos_guard/_vocab_scan{suffix}" in names, names
    assert "eos_guard/_vocab_scan.c" not in names  # the source goes in the sdist only (pyproject.toml)
    assert not wheel.name.endswith("-none-any.whl"), wheel.name
