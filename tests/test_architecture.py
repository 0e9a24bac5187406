"""The import layers of docs/architecture.md hold: import-linter's contracts (pyproject.toml) are kept, and no
module imports one that imports it back, directly or through others, even inside a function or under
TYPE_CHECKING. .ci/run runs lint-imports too; this test lets a plain ``pytest`` catch an upward import."""

from __future__ import annotations

import os
import subprocess
import sys

import grimp

from support import ROOT


def test_import_contracts_are_kept():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()", "--no-cache"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_no_import_cycles():
    graph = grimp.build_graph("eos_guard", cache_dir=None)  # includes function-local and TYPE_CHECKING imports
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append(" -> ".join((importer, *back)))
    assert cycles == []
