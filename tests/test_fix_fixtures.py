"""--fix on every fixture folder with an error, checked with transformers as the oracle."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess

import pytest

from support import FIXTURES, RULE_CASES
from eos_guard.pipeline import check_folder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")

# Errors --fix cannot repair by adding ids: the value itself is wrong, or no id can be resolved.
UNFIXABLE = {"EOS005", "EOS006", "EOS007", "EOS011", "EOS012", "EOS014"}


def _expected(folder):
    return json.loads((folder / "expected.json").read_text(encoding="utf-8"))


FIXABLE = [pytest.param(f, id=f.name) for f in sorted(FIXTURES.iterdir())
           if (f / "expected.json").exists() and _expected(f)["errors"]
           and not set(_expected(f)["errors"]) & UNFIXABLE and _expected(f).get("exit_code") != 2
           # an ONNX Runtime GenAI export's fix is in genai_config.json (tests/test_onnxruntime_genai.py)
           and not (f / "genai_config.json").exists()]


def generation_eos(folder) -> list:
    if (folder / "generation_config.json").exists():
        config = transformers.GenerationConfig.from_pretrained(str(folder))
    else:
        config = transformers.GenerationConfig.from_pretrained(
            str(folder), config_file_name="config.json", _from_model_config=True)
    eos = config.eos_token_id
    return [] if eos is None else (list(eos) if isinstance(eos, list) else [eos])


def test_enough_fixable_fixtures():
    assert len(FIXABLE) >= 8


@pytest.mark.parametrize("folder", FIXABLE)
def test_fix_makes_transformers_stop_on_the_terminator(folder, tmp_path, run):
    repo = tmp_path / "repo"
    copy = shutil.copytree(folder, repo / folder.name)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "fixture"], check=True)
    before = generation_eos(copy)

    code, out, err = run("--fix", folder.name, cwd=repo)
    assert code == 1 and err.startswith("Fixing "), err
    report = check_folder(copy)
    assert not [f for f in report.findings if str(f.severity) == "error"], out
    model = report.model
    after = generation_eos(copy)
    assert set(before) <= set(after), "an id was dropped"
    terminator = model.terminator
    if terminator is not None and terminator.id is not None:
        assert terminator.id in after
    # transformers loads a tokenizer.model only with sentencepiece and protobuf (tests/test_vocab_files.py)
    if (copy / "tokenizer.json").exists() or not (copy / "tokenizer.model").exists() or all(
            importlib.util.find_spec(name) for name in ("sentencepiece", "google.protobuf")):
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(copy))
        if model.vocab.complete:
            assert tokenizer.eos_token_id in after

    diff = subprocess.run(git + ["diff", "--numstat"], capture_output=True, text=True, check=True).stdout
    for line in diff.splitlines():
        added, removed, name = line.split("\t")
        # One value replaced, or one member inserted (the line before it gains a comma).
        assert int(removed) <= 1 and int(added) <= 2, f"{name}: more than the value changed:\n{diff}"
    created = subprocess.run(git + ["status", "--porcelain"], capture_output=True, text=True).stdout
    assert all(line[3:].endswith("generation_config.json") for line in created.splitlines() if line.startswith("??"))

    assert run("--fix", folder.name, cwd=repo)[0] == 0
    assert subprocess.run(git + ["diff", "--numstat"], capture_output=True, text=True).stdout == diff


FOLDERS = [pytest.param(f, id=f.name) for root in (FIXTURES, RULE_CASES) for f in sorted(root.iterdir())
           if f.is_dir() and (f / "config.json").exists()]


@pytest.mark.parametrize("folder", FOLDERS)
def test_one_fix_with_unsafe_fixes_is_enough(folder, tmp_path, run):
    """--fix --unsafe-fixes sets the tokenizer's eos to the terminator and aligns config.json with that new eos
    in the same run: a second run changes nothing (it planned config.json with the old eos, so EOS003 remained
    and a second run wrote config.json)."""
    copy = shutil.copytree(folder, tmp_path / folder.name)
    run("--fix", "--unsafe-fixes", folder.name, cwd=tmp_path)
    after = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()}
    code, out, err = run("--fix", "--unsafe-fixes", folder.name, cwd=tmp_path)
    assert "Fixing" not in err, (err, out)
    assert {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()} == after


def _errors(out: str) -> set[tuple[str, str]]:
    return {(f["code"], f["message"]) for f in json.loads(out)["findings"] if f["severity"] == "error"}


@pytest.mark.parametrize("folder", FOLDERS)
def test_unsafe_fixes_leave_no_error_the_safe_fix_does_not(folder, tmp_path, run):
    """--unsafe-fixes made the eos a terminator that transformers appends at load time (a string listed in
    additional_special_tokens only), and the next check reported its own edit as EOS005 ('in no vocabulary')
    where --fix alone ended passing. The errors left after --fix --unsafe-fixes are among those --fix leaves, and
    neither fix leaves a finding the folder did not have."""
    safe = shutil.copytree(folder, tmp_path / "safe" / folder.name)
    unsafe = shutil.copytree(folder, tmp_path / "unsafe" / folder.name)
    run("--fix", "--no-cache", "--baseline", "none", folder.name, cwd=safe.parent)
    run("--fix", "--unsafe-fixes", "--no-cache", "--baseline", "none", folder.name, cwd=unsafe.parent)
    left, codes = {}, {}
    for kind, copy in (("safe", safe), ("unsafe", unsafe), ("before", folder)):
        _, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", copy.name, cwd=copy.parent)
        left[kind] = {code for code, _ in _errors(out)}
        codes[kind] = {f["code"] for f in json.loads(out)["findings"]} if out else set()
    assert left["unsafe"] <= left["safe"], left
    # and no fix makes a finding of any severity the folder did not have: --unsafe-fixes set tokenizer_config.json's
    # eos and left a special_tokens_map.json that transformers ignores naming the old one (EOS008 info)
    assert codes["safe"] <= codes["before"] and codes["unsafe"] <= codes["before"], codes


def test_trl_clone_chat_template_from_phi4_mini_is_caught_and_fixed(tmp_path, run):
    """TRL 1.16 clone_chat_template copies a source tokenizer's eos, not its turn terminator: a Qwen2.5 base cloned
    from Phi-4-mini-instruct stops on <|endoftext|> 151643 while every answer ends <|end|> 151667 (the fixture's
    README has what TRL wrote). EOS001 names the id; --fix adds it, and transformers then stops there."""
    name = "trl-clone-chat-template-phi4-mini-on-qwen25-base"
    copy = shutil.copytree(FIXTURES / name, tmp_path / name)
    code, out, _ = run("--format", "concise", "--baseline", "none", name)
    assert code == 1 and out.startswith(
        f"{name}/generation_config.json:4:19: EOS001 error: the chat template ends assistant turns with '<|end|>' "
        "(151667), but generate() stops only on [151643 '<|endoftext|>'] (generation_config.json eos_token_id); "
        "add 151667 [terminator-not-stop-id]\n"), out
    assert run("--fix", "--baseline", "none", name)[0] == 1
    assert generation_eos(copy) == [151643, 151667]
    assert run("--baseline", "none", name)[0] == 0
