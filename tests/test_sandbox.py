"""Hostile templates end in a finding, in bounded time and memory, and the rest of the run is unaffected;
the real template shapes of popular families still render."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support import FIXTURES, ROOT, write_json

HOSTILE = {
    "globals-walk": "{{ raise_exception.__globals__['os'].system('touch pwned') }}",
    "lipsum-os": "{{ lipsum.__globals__.os.popen('touch pwned').read() }}",
    "cycler-init": "{{ cycler.__init__.__globals__.os.system('touch pwned') }}",
    "subclasses": "{{ ().__class__.__base__.__subclasses__() }}",
    "namespace-dunder": "{% set ns = namespace(__class__=1) %}{{ ns }}",
    "mutate-list": "{% set x = [1] %}{{ x.append(2) }}{{ x }}",
    "format-attr": "{{ '{0.__class__}'.format(messages) }}",
    "huge-range": "{% for i in range(10**9) %}{{ i }}{% endfor %}",
    "for-bomb": "{% for a in range(99999) %}{% for b in range(99999) %}{{ a }}{% endfor %}{% endfor %}",
    "silent-loop": "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}",
    "string-bomb": "{{ 'x' * 10**10 }}",
    "power-bomb": "{{ 10 ** 10 ** 10 }}",
    "recursive-macro": "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "join-bomb": "{{ range(99999)|join(',') * 99999 }}",
}


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    for name, template in HOSTILE.items():
        write_json(root / name / "config.json", {"eos_token_id": 2, "vocab_size": 8})
        write_json(root / name / "tokenizer_config.json", {"eos_token": "</s>", "chat_template": template,
                                                           "added_tokens_decoder": {"2": {"content": "</s>"}}})
    # One honest folder among them: its verdict must not change.
    import shutil
    shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", root / "honest",
                    ignore=shutil.ignore_patterns("expected.json", "README.md"))
    (root / ".eos-guard.yaml").write_text("template-timeout: 1\n")
    return root


def test_hostile_templates_end_in_findings_in_bounded_time_and_memory(hostile_tree):
    code = ("import resource, subprocess, sys, time; t = time.monotonic(); "
            "p = subprocess.run([sys.executable, '-m', 'eos_guard', '--format', 'json', '--no-cache', '.'], "
            "capture_output=True, text=True); "
            "print(p.returncode, round(time.monotonic() - t, 1), "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); print(p.stdout)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=hostile_tree, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    head, _, body = proc.stdout.partition("\n")
    returncode, seconds, megabytes = head.split()
    report = json.loads(body)
    # Safety bounds, not performance targets: every render stops at its 1 s limit or earlier.
    assert float(seconds) < 60 and int(megabytes) < 1024, head
    assert returncode == "1"
    assert not list(hostile_tree.rglob("pwned")) and not (ROOT / "pwned").exists()
    by_model = {}
    for finding in report["findings"]:
        by_model.setdefault(finding["model"], set()).add(finding["code"])
    for name in HOSTILE:
        assert "EOS014" in by_model.get(name, set()), (name, by_model.get(name))
    assert by_model["honest"] >= {"EOS001"}
    honest = next(m for m in report["models"] if m["path"] == "honest")
    assert honest["terminator"] == {"token": "<|im_end|>", "id": 151645, "template": "default"}


@pytest.mark.parametrize("folder", sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").exists()))
def test_real_template_shapes_still_render(folder, run):
    code, out, _ = run("--format", "json", str(FIXTURES / folder))
    assert not any(f["code"] == "EOS014" for f in json.loads(out)["findings"]
                   if "raise" not in folder and "template-raises" not in folder)
