"""The import layers of docs/architecture.md hold: import-linter's contracts (pyproject.toml) are kept, and no
module imports one that imports it back, directly or through others, even inside a function or under
TYPE_CHECKING. .ci/run runs lint-imports too; this test lets a plain ``pytest`` catch an upward import."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support import ROOT

IMPORT_LINTER = pytest.mark.skipif(sys.version_info < (3, 11),
                                   reason="import-linter 2.17, which the contracts need, requires Python 3.11")


@IMPORT_LINTER
def test_import_contracts_are_kept():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()", "--no-cache"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@IMPORT_LINTER
def test_no_import_cycles():
    import grimp  # import-linter's graph library

    graph = grimp.build_graph("eos_guard", cache_dir=None)  # includes function-local and TYPE_CHECKING imports
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append(" -> ".join((importer, *back)))
    assert cycles == []


def test_typing_and_the_render_modules_are_not_imported_by_a_check(tmp_path):
    """``import eos_guard`` and a check of a folder with a shipped template (each report format, explain, --diff)
    leave typing unloaded (~4 ms of every run, docs/architecture.md), dataclasses and inspect too (records.py
    replaces them), threading, signal and the render worker's module (they serve rendering only), and the
    SentencePiece reader (a folder with tokenizer.json reads no tokenizer.model). (A pyproject.toml that names eos-guard loads
    tomllib, which imports typing: the folder is copied out of this repository.)"""
    calls = ("import eos_guard\n"
             "assert 'typing' not in sys.modules, 'import eos_guard'\n"
             "from eos_guard.cli import main\n"
             "for args in (['--format', f] for f in ('text', 'concise', 'json', 'github', 'sarif')):\n"
             "    main([*args, '--baseline', 'none', sys.argv[1]])\n"
             "main(['explain', '--format', 'json', sys.argv[1]])\n"
             "main(['--diff', '--baseline', 'none', sys.argv[1]])\n")
    names = ("typing", "dataclasses", "inspect", "threading", "signal", "eos_guard.render_worker",
             "eos_guard.spm_model")
    assert loaded_after(calls, names, tmp_path) == []


def test_the_python_api_imports_neither_transformers_nor_jinja2(tmp_path):
    """docs/usage.md's Python API: a training script's ``import eos_guard`` and a check of a folder with a shipped
    template load neither transformers (nor torch) nor jinja2."""
    calls = ("import eos_guard\n"
             "assert eos_guard.check(sys.argv[1]).models\n"
             "eos_guard.fix(sys.argv[1], write=False)\n")
    assert loaded_after(calls, ("transformers", "torch", "jinja2"), tmp_path) == []


def test_a_folder_check_leaves_the_gguf_and_training_data_rules_unloaded(tmp_path):
    """They find nothing in a model folder: the text and JSON checks of a folder import neither group, nor the
    settings' rule lookup (rules/__init__.py); SARIF lists every rule, so it loads them."""
    code = ("import sys\n"
            "from eos_guard.cli import main\n"
            "main(['--baseline', 'none', sys.argv[1]]); main(['--format', 'json', sys.argv[1]])\n"
            "print('LOADED', sorted(m for m in sys.modules if m.startswith(('eos_guard.rules.gguf',\n"
            "      'eos_guard.rules.batch', 'eos_guard.rules.pad_masks', 'eos_guard.rules.stop_not_in_data'))),\n"
            "      file=sys.stderr)\n"
            "main(['--format', 'sarif', sys.argv[1]])\n"
            "print('SARIF', 'eos_guard.rules.gguf_base' in sys.modules, file=sys.stderr)\n")
    stderr = run_on_a_release_folder(code, tmp_path)
    assert "LOADED []" in stderr and "SARIF True" in stderr, stderr[-2000:]


def test_a_plain_command_line_imports_no_argument_parser(tmp_path):
    """docs/performance.md: ``eos-guard PATH`` (options that take no value and PATHs, as a pre-commit hook runs it)
    is read from the options table, without argparse and the gettext and locale modules it imports; an option with
    a value needs the parser."""
    calls = ("import sys\nfrom eos_guard.cli import main\n"
             "main(['--pre-commit', '--exit-zero', sys.argv[1]]); main([sys.argv[1], '-q'])\n"
             "print('PLAIN', [m for m in ('argparse', 'gettext', 'locale') if m in sys.modules], file=sys.stderr)\n"
             "main(['--format', 'json', sys.argv[1]])\n")
    stderr = run_on_a_release_folder(calls + "print('LOADED', ['argparse'], file=sys.stderr)\n"
                                     "assert 'argparse' in sys.modules\n", tmp_path)
    assert "PLAIN []\n" in stderr and "LOADED ['argparse']" in stderr, stderr[-2000:]


def test_a_check_that_finds_something_imports_no_temporary_file_or_diff_module(tmp_path):
    """docs/performance.md: a check plans the fixes of a folder with findings (for the "--fix changes" line), which
    needs neither tempfile (with shutil, random and the compression modules) nor difflib: only a --fix run writes
    and only --diff prints a diff. The release folder has findings."""
    calls = "from eos_guard.cli import main\nassert main(['--baseline', 'none', sys.argv[1]]) == 1\n"
    names = ("eos_guard.fixes", "tempfile", "difflib", "shutil")
    assert loaded_after(calls, names, tmp_path) == ["eos_guard.fixes"]


def test_the_rule_groups_are_every_rule_once_in_code_order():
    from eos_guard.rules import ALL_RULES, BY_CODE, FOLDER_RULES, batch_rules, gguf_rules
    from eos_guard.rules.batch_base import BatchRule
    from eos_guard.rules.gguf_base import GgufRule

    groups = [*FOLDER_RULES, *gguf_rules(), *batch_rules()]
    assert sorted(rule.code for rule in groups) == [rule.code for rule in ALL_RULES] == sorted(BY_CODE)
    assert len(set(map(id, groups))) == len(ALL_RULES) and set(map(id, groups)) == set(map(id, ALL_RULES))
    assert all(isinstance(rule, GgufRule) for rule in gguf_rules())
    assert all(isinstance(rule, BatchRule) for rule in batch_rules())
    assert not any(isinstance(rule, (GgufRule, BatchRule)) for rule in FOLDER_RULES)
    assert [rule.code for rule in FOLDER_RULES] == sorted(rule.code for rule in FOLDER_RULES)


def loaded_after(calls: str, names: tuple[str, ...], tmp_path) -> list[str]:
    """Which of ``names`` are in sys.modules after ``calls`` (code that may use ``sys`` and ``sys.argv[1]``, the
    folder) ran on the release folder in a new process."""
    import ast

    stderr = run_on_a_release_folder(f"import sys\n{calls}print('LOADED', [m for m in {names!r} if m in sys.modules], "
                                     f"file=sys.stderr)\n", tmp_path)
    lines = [line for line in stderr.splitlines() if line.startswith("LOADED ")]
    assert lines, stderr[-2000:]
    return ast.literal_eval(lines[-1][len("LOADED "):])


def run_on_a_release_folder(code: str, tmp_path) -> str:
    """``run_code`` on a copy of Llama 3 Instruct's release folder (a template eos-guard ships results for), copied out
    of this repository so that its pyproject.toml is not read."""
    import shutil

    folder = shutil.copytree(ROOT / "tests" / "fixtures" / "llama3-8b-instruct-release", tmp_path / "model")
    return run_code(code, folder, tmp_path)


def run_code(code: str, folder, tmp_path) -> str:
    """``python -I -c code folder`` with this checkout importable and a cache of its own; its stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EOS_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("GITHUB_ACTIONS", None)
    proc = subprocess.run([sys.executable, "-I", "-c", code, str(folder)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    return proc.stderr


def test_the_program_freezes_what_start_up_made_and_a_caller_s_objects_stay_collectable(tmp_path):
    """The console script and ``python -m eos_guard`` freeze the start-up's objects (gc.freeze: the scans, and the
    full collection at exit, skip them); ``main(argv)`` from Python, as the tests and the Action's tests call
    it, freezes nothing.

    The program also takes argparse's own words as written (its translation look-ups imported ``locale`` and
    searched the locale folders for every parser built: ~2 ms of a check), and a folder check imports no ``shlex``
    (only GGUF findings quote a command); the help still reads as argparse writes it, and a caller's argparse is
    left as it is."""
    import shutil

    folder = shutil.copytree(ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned", tmp_path / "model")
    code = ("import argparse, gc, gettext, io, runpy, sys\n"
            "from eos_guard.cli import main\n"
            "main(['--format', 'json', '--baseline', 'none', sys.argv[1]])\n"
            "print('CALLED', gc.get_freeze_count(), argparse._ is gettext.gettext, file=sys.stderr)\n"
            "sys.modules.pop('locale', None)\n"
            "sys.argv[1:] = ['--format', 'json', '--baseline', 'none', sys.argv[1]]\n"
            "try:\n"
            "    runpy.run_module('eos_guard', run_name='__main__')\n"
            "except SystemExit as exit:\n"
            "    print('PROGRAM', exit.code, gc.get_freeze_count() > 1000, gc.isenabled(),\n"
            "          [m for m in ('locale', 'shlex') if m in sys.modules], file=sys.stderr)\n"
            "out, sys.stdout = sys.stdout, io.StringIO()\n"
            "main(['--help'])\n"
            "help, sys.stdout = sys.stdout.getvalue(), out\n"
            "print('HELP', 'positional arguments:' in help, 'show this help message and exit' in help, file=sys.stderr)\n")
    stderr = run_code(code, folder, tmp_path)
    assert "CALLED 0 True\n" in stderr and "PROGRAM 0 True True []\n" in stderr and "HELP True True\n" in stderr, \
        stderr[-2000:]


def test_the_picture_in_architecture_md_is_the_layers_lint_imports_keeps():
    """docs/architecture.md says lint-imports keeps its picture true: the picture names the modules of the layers
    contract, layer by layer, no more and no fewer (helper-121: vocab_json was in the contract, not in the picture)."""
    import re

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    layers = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    contract = next(c for c in layers["contracts"] if c["type"] == "layers")["layers"]
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    picture = page.split("```\n", 2)[1].split("```", 1)[0]
    drawn: list[list[str]] = []
    for line in picture.splitlines():
        modules = re.findall(r"[a-z_]+", re.split(r"\s{2,}", line.strip())[0])  # the description follows
        if line.startswith("   :"):  # a layer's names go on on the next line
            drawn[-1] += modules
        elif modules:
            drawn.append(modules)
    assert [set(layer) for layer in drawn] == [set(re.findall(r"[a-z_]+", layer)) for layer in contract]
