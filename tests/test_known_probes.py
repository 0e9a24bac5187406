"""The shipped probe results (eos_guard/data/known_probes.json) are what eos-guard's own renderer gives today, and a
cold check of a known template does not import jinja2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eos_guard import known_probes
from eos_guard.model_files import ModelFiles
from eos_guard.resolve import _special_tokens
from eos_guard.template import Limits, outcomes_of, probe_template
from support import FIXTURES, ROOT

CORPUS = Path(os.environ.get("EOS_GUARD_CORPUS", "/work/shared/corpus"))
SOURCES = sorted(p for p in FIXTURES.iterdir() if p.is_dir()) + (
    sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else [])


def _templates(folder: Path):
    files = ModelFiles.read(folder)
    special = _special_tokens(files)[0]
    for template in files.templates.values():
        yield template.text, special


@pytest.mark.parametrize("folder", SOURCES, ids=[f"{p.parent.name}/{p.name}" for p in SOURCES])
def test_shipped_outcomes_match_a_render(folder):
    for source, special in _templates(folder):
        for with_tools in (False, True):
            shipped = known_probes.lookup(source, special, with_tools)
            if shipped is None:
                continue
            uses, rendered = outcomes_of(source, special, with_tools, Limits(cache=False))
            assert uses == known_probes._data()[known_probes.template_hash(source)]["uses"]
            assert shipped == rendered


def test_every_shipped_template_is_checked_here_when_the_corpus_is_present():
    hashes = {known_probes.template_hash(source) for folder in SOURCES for source, _ in _templates(folder)}
    data = json.loads(known_probes.DATA_FILE.read_text(encoding="utf-8"))
    fixture_hashes = {known_probes.template_hash(s) for f in FIXTURES.iterdir() if f.is_dir() for s, _ in _templates(f)}
    assert fixture_hashes & set(data["templates"]), "fixture templates are shipped"
    if CORPUS.is_dir():
        assert set(data["templates"]) <= hashes


def test_a_token_the_template_reads_changes_the_key():
    """Only the variables a template reads are in the key: a ChatML template reads none, Llama 3.1's reads bos_token."""
    folder = FIXTURES / "llama31-8b-instruct-strftime"
    (source, special), = _templates(folder)
    assert known_probes.lookup(source, special, False) is not None
    uses = known_probes._data()[known_probes.template_hash(source)]["uses"]
    assert "bos_token" in uses
    assert known_probes.lookup(source, {**special, "bos_token": "<s>"}, False) is None
    assert known_probes.lookup(source, {**special, "unrelated_token": "<x>"}, False) is not None


def test_shipped_result_equals_a_render_through_the_probe_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path))
    folder = FIXTURES / "llama31-8b-instruct-strftime"
    (source, special), = _templates(folder)
    added = ["<|eot_id|>", "<|eom_id|>", "<|start_header_id|>"]
    shipped = probe_template(source, special, added, Limits(cache=True))
    rendered = probe_template(source, special, added, Limits(cache=False))
    assert shipped == rendered
    assert shipped.token == "<|eot_id|>"


def test_cold_check_of_a_known_template_imports_no_jinja2(tmp_path):
    folder = FIXTURES / "qwen2-instruct-aligned"
    code = ("import sys\nfrom eos_guard.cli import main\n"
            f"main(['--format', 'json', '--baseline', 'none', {str(folder)!r}])\n"
            "sys.stderr.write('jinja2' in sys.modules and 'JINJA' or 'NOJINJA')\n")
    env = {**os.environ, "EOS_GUARD_CACHE_DIR": str(tmp_path / "empty"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.stderr.endswith("NOJINJA"), proc.stderr[-2000:]


def test_the_render_globals_are_the_environment_s():
    """known_probes.RENDER_GLOBALS is the set of globals eos-guard's render environment has (jinja2's and
    transformers'): a jinja2 that adds one would make the constant stale."""
    from eos_guard.template import _environment

    assert set(_environment().globals) == known_probes.RENDER_GLOBALS


@pytest.mark.parametrize("name", sorted(known_probes.RENDER_GLOBALS))
def test_a_token_named_like_a_global_of_the_render_is_rendered_not_looked_up(tmp_path, run, monkeypatch, name):
    """helper-175: a named special token hides the render's global of the same name (transformers passes the special
    tokens as the render's variables), which jinja2.meta does not count among the variables a template reads: the
    shipped results of DeepSeek-R1's template passed a folder whose token "namespace" makes its render fail
    (EOS014 with --no-cache). Such a token is never looked up in the shipped results; the report is the one the
    render gives, with and without the cache."""
    import shutil

    folder = shutil.copytree(FIXTURES / "deepseek-r1-distill-think-split", tmp_path / "model")
    (source, special), = _templates(folder)
    assert known_probes.lookup(source, special, False) is not None
    assert known_probes.lookup(source, {**special, name: "<｜end▁of▁sentence｜>"}, False) is None
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["extra_special_tokens"] = {name: "<｜end▁of▁sentence｜>"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    cached = run("--format", "concise", "--isolated", str(folder))
    assert cached == run("--format", "concise", "--isolated", "--no-cache", str(folder))
    if name == "namespace":  # the template calls it: a string cannot be called
        assert "EOS014" in cached[1], cached


def test_each_entry_read_from_its_line_is_the_one_the_whole_file_gives():
    """A check parses only its template's line of the data file (known_probes._entry): the file is laid out as
    known_probes.dumps writes it, one entry per line, and each entry read from its line is the whole file's."""
    text = known_probes.DATA_FILE.read_text(encoding="utf-8")
    whole = json.loads(text)
    assert whole["format"] == known_probes.FORMAT and known_probes.dumps(whole) == text
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert f"For {len(whole['templates'])} widely used templates" in page  # the count the page gives
    for digest, entry in whole["templates"].items():
        assert known_probes._entry(digest) == entry
    assert known_probes._entry("0" * 64) is None


def test_a_data_file_checked_out_with_crlf_line_ends_reads_the_same(tmp_path, monkeypatch):
    """helper-176: git on Windows (core.autocrlf) may write the data file with CRLF line ends; each entry still
    reads as the whole file gives it (.gitattributes keeps the file LF in a checkout, where it is honoured)."""
    whole = json.loads(known_probes.DATA_FILE.read_text(encoding="utf-8"))["templates"]
    crlf = tmp_path / "known_probes.json"
    crlf.write_bytes(known_probes.DATA_FILE.read_bytes().replace(b"\n", b"\r\n"))
    monkeypatch.setattr(known_probes, "DATA_FILE", crlf)
    monkeypatch.setattr(known_probes, "_TEXT", None)
    monkeypatch.setattr(known_probes, "_ENTRIES", {})
    assert all(known_probes._entry(digest) == entry for digest, entry in whole.items())


def test_a_cold_check_of_a_known_template_computes_no_cache_key_and_parses_one_entry(tmp_path):
    """docs/performance.md: the shipped results are looked up before the cache, so a cold check of a known template
    never hashes the renderer's code for a probe's cache key, and it parses only its template's entry."""
    folder = FIXTURES / "qwen2-instruct-aligned"
    code = ("import sys\nfrom eos_guard.cli import main\nfrom eos_guard import known_probes, template\n"
            f"main(['--isolated', {str(folder)!r}])\n"
            "sys.stderr.write(f'PROBE KEYS {template._probe_key.cache_info().currsize} '\n"
            "                 f'ENTRIES {sorted(e is not None for e in known_probes._ENTRIES.values())}')\n")
    env = {**os.environ, "EOS_GUARD_CACHE_DIR": str(tmp_path / "empty"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.stderr.endswith("PROBE KEYS 0 ENTRIES [True]"), proc.stderr[-2000:]
