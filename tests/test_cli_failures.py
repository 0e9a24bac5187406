"""Mistakes fail loudly: one clear line on stderr, exit 2, and every other PATH still checked and reported.
Also ``eos-guard rule``, severities from the settings, and the messages of the Python API."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import time

import pytest

import eos_guard
from eos_guard.errors import InputError
from eos_guard.report import rule_doc
from eos_guard.rules import ALL_RULES
from support import FIXTURES, ROOT, RULE_CASES, write_json

BROKEN = ROOT / "examples" / "chatml-finetune-broken"
ONE_FAILING = "1 of 1 model folder fails (1 error, 2 warnings); --fix changes 2 files in 1 folder.\n"
NO_MODEL = "holds no model folder (one with generation_config.json, tokenizer_config.json or a model's config.json)"


@pytest.fixture
def broken(tmp_path):
    return shutil.copytree(BROKEN, tmp_path / "broken")


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   check=True, capture_output=True)


# ---------------------------------------------------------------------------------------------- PATHs

def test_a_dash_says_standard_input_is_not_read(run, broken):
    """helper-196: `eos-guard -` (a Unix tool's standard input) said only "-: no such file or directory"."""
    code, out, err = run("-", "broken")
    assert code == 2 and err == ("eos-guard: -: no such file or directory (eos-guard reads model folders, not "
                                 "standard input: name the folder, or its files)\n"), err
    assert out.endswith(ONE_FAILING)


def test_a_link_that_leads_nowhere_is_said_so(run, broken, tmp_path):
    """helper-198: a PATH that is a loop of symbolic links, or a link to a missing target, was "no such file"."""
    (tmp_path / "a.gguf").symlink_to("b.gguf")
    (tmp_path / "b.gguf").symlink_to("a.gguf")
    (tmp_path / "gone").symlink_to("missing-folder")
    code, out, err = run("a.gguf", "gone", "broken")
    nowhere = "a symbolic link that leads nowhere (its target is missing, or a loop of links)"
    assert code == 2 and err == f"eos-guard: a.gguf: {nowhere}\neos-guard: gone: {nowhere}\n", err
    assert out.endswith(ONE_FAILING)


def test_missing_path_is_reported_and_the_others_are_checked(run, broken):
    code, out, err = run("does-not-exist", "broken")
    assert code == 2 and err == "eos-guard: does-not-exist: no such file or directory\n"
    assert "broken/generation_config.json:3:19: EOS001 error: " in out and out.endswith(ONE_FAILING)


def test_an_empty_path_is_not_the_current_folder(run, broken):
    code, out, err = run("", "broken")
    assert code == 2 and err == ("eos-guard: an empty PATH argument (a variable that expanded to nothing?) is not "
                                 "the current folder; pass . for that\n")
    assert out.endswith(ONE_FAILING)


def test_a_folder_without_model_folders_is_an_error(run, broken, tmp_path):
    (tmp_path / "notes").mkdir()
    code, out, err = run("notes", "broken")
    assert (code, err) == (2, f"eos-guard: notes: {NO_MODEL}\n") and out.endswith(ONE_FAILING)


def test_a_folder_of_gguf_files_or_a_bare_adapter_says_what_checks_it(run, broken, tmp_path):
    """`eos-guard .` in a repository of GGUF quantizations (bartowski/*-GGUF: .gguf files and a README) or of a PEFT
    adapter saved without tokenizer files (adapter_config.json, adapter_model.safetensors) found no model folder and
    said only that: the error now says how those are checked."""
    gguf = tmp_path / "Llama-3-8B-Instruct-GGUF"
    gguf.mkdir()
    for name in ("Llama-3-8B-Instruct-Q4_K_M.gguf", "Llama-3-8B-Instruct-Q8_0.gguf", "README.md"):
        (gguf / name).write_bytes(b"")
    code, _, err = run("Llama-3-8B-Instruct-GGUF", "broken")
    assert (code, err) == (2, f"eos-guard: Llama-3-8B-Instruct-GGUF: {NO_MODEL}; its 2 GGUF files are checked when "
                              "named: eos-guard Llama-3-8B-Instruct-GGUF/*.gguf\n")
    adapter = tmp_path / "lora"
    write_json(adapter / "adapter_config.json", {"base_model_name_or_path": "meta-llama/Meta-Llama-3-8B-Instruct",
                                                 "peft_type": "LORA", "r": 16, "task_type": "CAUSAL_LM"})
    (adapter / "adapter_model.safetensors").write_bytes(b"")
    code, _, err = run(cwd=adapter)
    assert (code, err) == (2, f"eos-guard: .: {NO_MODEL}; a PEFT adapter without tokenizer files: generation takes "
                              "its stop ids and chat template from the base model adapter_config.json names, which "
                              "is checked where it lies\n")


def test_a_folder_whose_config_json_names_no_model_says_why_it_is_not_checked(run, broken, tmp_path):
    """A legacy BERT folder (Bio_ClinicalBERT, SciBERT: a config.json of sizes without model_type or architectures,
    and a vocab.txt) said only "holds no model folder" though it holds a config.json."""
    write_json(tmp_path / "Bio_ClinicalBERT" / "config.json", {"hidden_size": 768, "num_hidden_layers": 12,
                                                               "vocab_size": 28996})
    (tmp_path / "Bio_ClinicalBERT" / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n", encoding="utf-8")
    code, out, err = run("Bio_ClinicalBERT", "broken")
    assert (code, err) == (2, f"eos-guard: Bio_ClinicalBERT: {NO_MODEL}; its config.json names no model_type or "
                              "architectures (a legacy encoder's, an application's or a diffusers component's), so "
                              "eos-guard does not read it as a model's\n")
    assert out.endswith(ONE_FAILING)


@pytest.mark.parametrize("args", [pytest.param([], id="default"), pytest.param(["."], id="dot")])
def test_the_current_folder_without_model_folders_says_so(run, args):
    assert run(*args) == (2, "No model folders found.\n", f"eos-guard: .: {NO_MODEL}\n")


def _nothing_found(*paths: str, folders: bool = False) -> str:
    files = "" if folders else "a file is checked with the model folder it lies in; "
    return (f"eos-guard: warning: no model folder found for {', '.join(paths)} ({files}a model folder holds "
            "generation_config.json, tokenizer_config.json or a model's config.json)\n")


def test_allow_empty_accepts_a_folder_without_model_folders(run):
    assert run("--allow-empty", ".") == (0, "No model folders found.\n", _nothing_found(".", folders=True))


def test_a_file_outside_a_model_folder_is_skipped_as_pre_commit_passes_files(run, tmp_path):
    # pre-commit passes every file whose name matches the hook's `files:`; a lone tokenizer.json is not a model
    write_json(tmp_path / "lone" / "tokenizer.json", {"added_tokens": []})
    assert run("--pre-commit", "lone/tokenizer.json") == (0, "No model folders found.\n", "")
    # by hand, the same run says on stderr that nothing was checked (ruff's "No Python files found")
    assert run("lone/tokenizer.json") == (0, "No model folders found.\n", _nothing_found("lone/tokenizer.json"))


_FORMATS = ("text", "concise", "json", "sarif", "github")


@pytest.mark.parametrize("fmt", _FORMATS)
def test_paths_in_no_model_folder_are_named_on_stderr_by_hand_and_not_in_pre_commit(tmp_path, fmt):
    """`eos-guard model.safetensors` (a file in no model folder) printed only "No model folders found." and exited 0:
    right for pre-commit, which passes every file its pattern matches, but a person got no hint that nothing was
    checked. By hand (no --pre-commit, no PRE_COMMIT=1) one warning line on stderr names the PATHs, as ruff's "No
    Python files found under the given path(s)"; stdout (still a whole JSON or SARIF document) and the exit code
    are those of the pre-commit run."""
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.safetensors").write_bytes(b"")
    (tmp_path / "notes").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "PRE_COMMIT")}
    env["PYTHONPATH"] = str(ROOT)
    args = ["--format", fmt, "--allow-empty", "weights/model.safetensors", "notes"]
    by_hand, hook = (subprocess.run([sys.executable, "-m", "eos_guard", *extra, *args], cwd=tmp_path, env=env,
                                    capture_output=True, text=True) for extra in ([], ["--pre-commit"]))
    assert (by_hand.returncode, by_hand.stderr) == (0, _nothing_found("weights/model.safetensors", "notes"))
    assert (hook.returncode, hook.stderr, hook.stdout) == (0, "", by_hand.stdout)
    if fmt in ("json", "sarif"):
        json.loads(by_hand.stdout)
    # pre-commit's own variable (a local hook whose entry has no --pre-commit) is pre-commit too
    hooked = subprocess.run([sys.executable, "-m", "eos_guard", *args], cwd=tmp_path, env={**env, "PRE_COMMIT": "1"},
                            capture_output=True, text=True)
    assert (hooked.returncode, hooked.stderr) == (0, "")


def test_nothing_found_is_not_warned_about_when_a_folder_was_checked_excluded_or_quiet(run, broken, tmp_path):
    write_json(tmp_path / "lone" / "tokenizer.json", {"added_tokens": []})
    assert run("--format", "concise", "broken", "lone/tokenizer.json")[2] == ""  # one folder was checked
    assert run("--quiet", "lone/tokenizer.json") == (0, "", "")  # -q: findings and errors only
    (tmp_path / ".eos-guard.yaml").write_text("exclude: [broken]\n")
    assert run("broken/config.json") == (0, "No model folders found (1 model folder excluded by the settings).\n", "")


@pytest.mark.parametrize(("args", "code", "err"), [
    pytest.param(["lone/tokenizer.json"], 0, _nothing_found("lone/tokenizer.json"), id="file-outside-a-model-folder"),
    pytest.param(["--allow-empty", "."], 0, _nothing_found(".", folders=True), id="allow-empty"),
    pytest.param(["."], 2, f"eos-guard: .: {NO_MODEL}\n", id="empty-folder"),
])
def test_explain_with_nothing_to_explain_says_so(run, tmp_path, args, code, err):
    """explain printed one blank line (exit 0 for a file outside a model folder: nothing on stderr either); it
    now closes as a check does."""
    write_json(tmp_path / "lone" / "tokenizer.json", {"added_tokens": []})
    assert run("explain", *args) == (code, "No model folders found.\n", err)


def test_a_missing_gguf_does_not_stop_the_other_paths(run, broken):
    code, out, err = run("missing.gguf", "broken")
    assert (code, err) == (2, "eos-guard: missing.gguf: no such file\n") and out.endswith(ONE_FAILING)


# ---------------------------------------------------------------------------------------------- --baseline

def test_a_baseline_revision_that_does_not_exist(run, tmp_path):
    shutil.copytree(BROKEN, tmp_path / "repo" / "broken")
    _git(tmp_path, "init", "-q", "repo")
    _git(tmp_path / "repo", "add", ".")
    _git(tmp_path / "repo", "commit", "-qm", "models")
    for revision in ("v9.9", "HEAD^{tree}"):  # neither names a commit: a tree is no earlier version
        code, out, err = run(f"--baseline={revision}", "broken", cwd=tmp_path / "repo")
        assert code == 2 and err == (f"eos-guard: --baseline {revision}: no such commit in .; the regression check "
                                     "(EOS015) is off\n")
        assert out.endswith(ONE_FAILING)
    assert run("--baseline", "HEAD", "broken", cwd=tmp_path / "repo")[0] == 1  # exists: the findings decide


def test_a_baseline_named_by_its_message_or_an_annotated_tag_is_read(run, tmp_path):
    """':/models' names the newest commit whose message holds "models": "REV^{commit}" read it as a search for
    "models^{commit}", so the check said "no such revision" while EOS015 compared with it. An annotated tag names
    a tag object, peeled to its commit."""
    shutil.copytree(FIXTURES / "gemma-3-it-aligned", tmp_path / "repo" / "gemma")
    _git(tmp_path, "init", "-q", "repo")
    _git(tmp_path / "repo", "add", ".")
    _git(tmp_path / "repo", "commit", "-qm", "models")
    config = tmp_path / "repo" / "gemma" / "generation_config.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    data["eos_token_id"] = 1
    config.write_text(json.dumps(data, indent=2), encoding="utf-8")
    _git(tmp_path / "repo", "tag", "-a", "-m", "release", "v1.0")  # an annotated tag: a tag object, then the commit
    for revision in (":/models", "v1.0"):
        code, out, err = run("--format", "concise", "--baseline", revision, "gemma", cwd=tmp_path / "repo")
        assert (code, err) == (1, "") and " EOS015 " in out, (revision, out, err)


def test_a_baseline_outside_a_git_repository_is_said_once(run, tmp_path):
    for name in ("a", "b"):
        shutil.copytree(BROKEN, tmp_path / name)
    code, out, err = run("--baseline", "HEAD", "a", "b")
    assert code == 2 and err == ("eos-guard: --baseline HEAD: a (and 1 more folder) is not in a git repository; the "
                                 "regression check (EOS015) is off there\n")
    assert out.endswith("2 of 2 model folders fail (2 errors, 4 warnings); --fix changes 4 files in 2 folders.\n")


def test_the_default_baseline_is_quietly_off_without_git(run, broken):
    assert run("broken") == (1, run("broken")[1], "")


def test_the_default_baseline_is_quietly_off_in_a_repository_without_commits(run, tmp_path):
    shutil.copytree(BROKEN, tmp_path / "repo" / "broken")
    _git(tmp_path, "init", "-q", "repo")
    code, out, err = run("broken", cwd=tmp_path / "repo")
    assert (code, err) == (1, "") and out.endswith(ONE_FAILING)


def _refused_by_git(repo):
    """A work tree git refuses: its .git names a folder that is not there (as a moved worktree's does). Run as
    root, also one owned by another user ("detected dubious ownership", as CI container jobs meet it)."""
    (repo / ".git").write_text("gitdir: /nonexistent/eos-guard-test\n", encoding="utf-8")
    return "not a git repository"


@pytest.mark.parametrize("explicit", [False, True], ids=["default", "explicit"])
def test_a_work_tree_git_refuses_is_said_not_silently_skipped(run, tmp_path, explicit):
    """The regression check (EOS015) was silently off, and a dropped stop id passed, when git refused the work
    tree; an explicit --baseline said "no such commit". git's own reason is now one error line (exit 2)."""
    shutil.copytree(BROKEN, tmp_path / "repo" / "broken")
    said = _refused_by_git(tmp_path / "repo")
    code, out, err = run(*(["--baseline", "HEAD"] if explicit else []), "broken", cwd=tmp_path / "repo")
    assert code == 2 and err.startswith("eos-guard: --baseline HEAD: git cannot read . (fatal: ") and said in err
    assert err.count("\n") == 1 and err.endswith("the regression check (EOS015) is off there (--baseline none, "
                                                  "or EOS015 in ignore, turns it off without this line)\n"), err
    assert out.endswith(ONE_FAILING)
    assert run("--baseline", "none", "broken", cwd=tmp_path / "repo")[2] == ""


@pytest.mark.parametrize("explicit", [False, True], ids=["default", "explicit"])
def test_a_work_tree_without_git_to_run_is_said_not_silently_skipped(run, tmp_path, monkeypatch, explicit):
    """helper-119: in a work tree where no git can be run (a container with the checkout mounted and no git), the
    regression check was off without a word (and an explicit --baseline said "no such commit")."""
    shutil.copytree(BROKEN, tmp_path / "repo" / "broken")
    _git(tmp_path, "init", "-q", "repo")
    _git(tmp_path / "repo", "add", ".")
    _git(tmp_path / "repo", "commit", "-qm", "models")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    code, out, err = run(*(["--baseline", "HEAD"] if explicit else []), "broken", cwd=tmp_path / "repo")
    assert (code, err) == (2, "eos-guard: --baseline HEAD: . is a git work tree, but git cannot be run (is it "
                              "installed and on PATH?); the regression check (EOS015) is off there (--baseline none, "
                              "or EOS015 in ignore, turns it off without this line)\n"), err
    assert out.endswith(ONE_FAILING)
    assert run("--baseline", "none", "broken", cwd=tmp_path / "repo")[2] == ""
    (tmp_path / "repo" / ".eos-guard.yaml").write_text("ignore: [EOS015]\n", encoding="utf-8")
    assert run("broken", cwd=tmp_path / "repo")[:3:2] == (1, "")


@pytest.mark.parametrize("refusal", ["no git", "git refuses"])
def test_a_baseline_git_cannot_read_keeps_the_report(tmp_path, monkeypatch, refusal):
    """helper-183: in a work tree where git cannot be run or refuses the checkout (a training container with the
    repository mounted), eos_guard.check raised InputError about EOS015's baseline and returned no report: the
    folder's EOS001 was lost, and the training callback logged only that line. The report now comes back, with
    the baseline's line in Report.errors; strict=True fails on findings and unread folders, not on it."""
    shutil.copytree(BROKEN, tmp_path / "repo" / "broken")
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "repo" / "good")
    _git(tmp_path, "init", "-q", "repo")
    _git(tmp_path / "repo", "add", ".")
    _git(tmp_path / "repo", "commit", "-qm", "models")
    if refusal == "no git":
        monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    else:
        shutil.rmtree(tmp_path / "repo" / ".git")
        _refused_by_git(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    report = eos_guard.check("broken")
    assert sorted(f.code for f in report.findings()) == ["EOS001", "EOS002", "EOS003"]
    assert len(report.errors) == 1 and report.errors[0].startswith("--baseline HEAD: ") and "EOS015" in \
        report.errors[0], report.errors
    assert eos_guard.check("good").findings() == [] and len(eos_guard.check("good").errors) == 1
    changes = eos_guard.fix("broken", write=False)
    assert [change.path.name for change in changes] == ["config.json", "generation_config.json"]
    with pytest.raises(InputError, match="no-such-folder"):  # what stops a PATH is still raised
        eos_guard.check("no-such-folder", "good")
    assert eos_guard.check("good", config=_ignoring_eos015(tmp_path)).errors == []
    pytest.importorskip("transformers")
    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    assert "EOS001" in [f.code for f in EosGuardCallback().check(tmp_path / "repo" / "broken").findings()]
    assert EosGuardCallback(strict=True).check(tmp_path / "repo" / "good").findings() == []
    with pytest.raises(EosGuardCheckError, match="EOS001"):
        EosGuardCallback(strict=True).check(tmp_path / "repo" / "broken")


def _ignoring_eos015(tmp_path):
    settings = tmp_path / "ignoring.yaml"
    settings.write_text("ignore: [EOS015]\n", encoding="utf-8")
    return settings


@pytest.mark.parametrize("revision", ["HEAD", "HEAD~0", ":/model", ":0:config.json", ":config.json", "@{0}"])
def test_a_model_folders_own_fsmonitor_command_does_not_run_whatever_the_revision(run, tmp_path, revision):
    """docs/security.md (helper-183): a revision that reads git's index (``:0:config.json``) made git run the
    folder's own core.fsmonitor command; git now runs with core.fsmonitor off."""
    folder = shutil.copytree(BROKEN, tmp_path / "model")
    _git(folder, "init", "-q")
    _git(folder, "add", ".")
    _git(folder, "commit", "-qm", "model")
    marker = tmp_path / "ran"
    _git(folder, "config", "core.fsmonitor", f"touch {marker}; false")
    code, out, err = run("--baseline", revision, "model", cwd=tmp_path)
    assert "EOS001" in out and code in (1, 2), (out, err)
    assert not marker.exists()


@pytest.mark.parametrize("old_git", [False, True], ids=["git", "git-without-no-lazy-fetch"])
@pytest.mark.parametrize("api", [False, True], ids=["cli", "api"])
def test_a_model_folders_own_git_config_runs_no_command_and_fetches_nothing(run, tmp_path, monkeypatch, api, old_git):
    """docs/security.md (helper-178): a model folder unpacked from an archive held a .git of its own whose config
    declared a partial clone with generation_config.json's object missing, and a core.sshCommand: reading the
    baseline, git fetched the object through that command, which ran, with --isolated too. git now runs with no
    transport allowed and no lazy fetch: the command does not run, nothing is written into that .git, and the
    check reports the folder, without the missing object's baseline. The config also allows ssh by name
    (protocol.ssh.allow, which -c protocol.allow=never does not override: helper-180), and the check also runs
    under a git that ignores GIT_NO_LAZY_FETCH (older than 2.44 without its backport: a wrapper that drops it)."""
    if old_git:
        real = shutil.which("git")
        wrapper = tmp_path / "bin" / "git"
        wrapper.parent.mkdir()
        wrapper.write_text(f"#!/bin/sh\nunset GIT_NO_LAZY_FETCH\nexec {real} \"$@\"\n", encoding="utf-8")
        wrapper.chmod(0o755)
        monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    folder = shutil.copytree(BROKEN, tmp_path / "model")
    _git(folder, "init", "-q")
    _git(folder, "add", ".")
    _git(folder, "commit", "-qm", "model")
    blob = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD:generation_config.json"], check=True,
                          capture_output=True, text=True).stdout.strip()
    (folder / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    marker = tmp_path / "ran"
    for key, value in (("core.repositoryformatversion", "1"), ("extensions.partialClone", "origin"),
                       ("remote.origin.url", "ssh://attacker.invalid/x"), ("remote.origin.promisor", "true"),
                       ("core.sshCommand", f"sh -c 'touch {marker}; false'"), ("protocol.ssh.allow", "always")):
        _git(folder, "config", key, value)
    git_files = sorted(str(p) for p in (folder / ".git").rglob("*"))
    missing = ("--baseline HEAD: the version of model/generation_config.json at HEAD is not in this clone (a partial "
               "clone; eos-guard fetches nothing), so the regression check (EOS015) is off for it: fetch it first")
    if api:  # the report comes back, with the line in its errors (test_a_baseline_git_cannot_read_keeps_the_report)
        report = eos_guard.check(folder, isolated=True)
        assert "EOS001" in [f.code for f in report.findings()]
        assert [line.startswith(missing.replace("model/", f"{folder}/")) for line in report.errors] == [True]
    else:
        code, out, err = run("--isolated", "model", cwd=tmp_path)
        assert code == 2 and "EOS001" in out and missing in err, (out, err)
    assert not marker.exists()
    assert sorted(str(p) for p in (folder / ".git").rglob("*")) == git_files


def test_a_baseline_a_partial_clone_does_not_hold_is_said_not_skipped(run, tmp_path):
    """docs/usage.md (helper-180): in a partial clone (git clone --filter=blob:none, actions/checkout's filter) the
    earlier version of a file is not in the clone; git fetched it when asked, which a check no longer lets it do
    (a model folder's own .git could make that fetch run commands). The regression check (EOS015) was then off
    for it without a word: it is one error line that says why and what to do (exit 2), and once the user's git
    has fetched it, EOS015 reports the dropped id."""
    server = shutil.copytree(BROKEN, tmp_path / "server" / "model").parent
    _git(server, "init", "-q")
    write_json(server / "model" / "generation_config.json", {"eos_token_id": [151643, 151645]})
    _git(server, "add", ".")
    _git(server, "commit", "-qm", "both ids")
    write_json(server / "model" / "generation_config.json", {"eos_token_id": 151643})
    _git(server, "commit", "-qam", "one dropped")
    _git(server, "config", "uploadpack.allowFilter", "true")
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", f"file://{server}", str(tmp_path / "clone")],
                   check=True, capture_output=True)
    clone = tmp_path / "clone"
    code, out, err = run("--baseline", "HEAD~1", "model", cwd=clone)
    assert code == 2 and " EOS015 " not in out, (out, err)
    assert err == ("eos-guard: --baseline HEAD~1: the versions of model/config.json and 1 more at HEAD~1 are not all "
                   "in this clone (a partial clone; eos-guard fetches nothing), so the regression check (EOS015) is "
                   "off for them: fetch them first (git show HEAD~1:PATH), or --baseline none turns it off without "
                   "this line\n"), err
    for name in ("config.json", "generation_config.json"):  # the user's own git fetches what it lacks
        subprocess.run(["git", "-C", str(clone), "show", f"HEAD~1:model/{name}"], check=True, capture_output=True)
    code, out, err = run("--baseline", "HEAD~1", "model", cwd=clone)
    assert err == "" and " EOS015 error: " in out, (out, err)


def test_a_git_that_does_not_answer_is_given_up_on_once_and_said(run, tmp_path, monkeypatch):
    """helper-123: a git that timed out was reported as not installed, and was waited for twice (60 s)."""
    from eos_guard import baseline

    shutil.copytree(BROKEN, tmp_path / "repo" / "broken")
    _git(tmp_path, "init", "-q", "repo")
    hung = tmp_path / "bin"
    hung.mkdir()
    (hung / "git").write_text("#!/bin/sh\nsleep 30\n", encoding="utf-8")
    (hung / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{hung}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(baseline, "GIT_SECONDS", 0.5)
    started = time.monotonic()
    code, _, err = run("--baseline", "HEAD", "broken", cwd=tmp_path / "repo")
    assert code == 2 and "is a git work tree, but git did not answer within 0.5 s; the regression check" in err, err
    assert err.count("\n") == 1 and time.monotonic() - started < 5


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_git_config_that_includes_a_fifo_is_given_up_on_within_the_limit(run, tmp_path, monkeypatch):
    """docs/security.md (helper-183): a model folder's own .git/config that includes a FIFO makes git wait on it,
    without end: the check gives git up at the limit (GIT_SECONDS, 30 s; 1 s here), one error line."""
    from eos_guard import baseline

    folder = shutil.copytree(BROKEN, tmp_path / "model")
    _git(folder, "init", "-q")
    _git(folder, "add", ".")
    _git(folder, "commit", "-qm", "model")
    os.mkfifo(tmp_path / "fifo")
    _git(folder, "config", "include.path", str(tmp_path / "fifo"))
    monkeypatch.setattr(baseline, "GIT_SECONDS", 1)
    started = time.monotonic()
    code, out, err = run("model", cwd=tmp_path)
    assert code == 2 and "EOS001" in out and "git did not answer within 1 s" in err, (out, err)
    assert time.monotonic() - started < 10


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give the work tree "
                    "to another user")
def test_a_work_tree_of_another_user_is_said_not_silently_skipped(run, tmp_path):
    shutil.copytree(BROKEN, tmp_path / "repo" / "broken")
    _git(tmp_path, "init", "-q", "repo")
    _git(tmp_path / "repo", "add", ".")
    _git(tmp_path / "repo", "commit", "-qm", "models")
    subprocess.run(["chown", "-R", "nobody", str(tmp_path / "repo")], check=True)
    code, _, err = run("broken", cwd=tmp_path / "repo")
    assert code == 2 and "dubious ownership" in err, err
    # explain reads no earlier version (EOS015 is a check's): git's refusal is no error of its
    code, out, err = run("explain", "broken", cwd=tmp_path / "repo")
    assert (code, err) == (0, "") and "transformers  NO" in out, (out, err)


# ---------------------------------------------------------------------------------------------- options

@pytest.mark.parametrize("args,message", [
    pytest.param(["--unsafe-fixes"], "--unsafe-fixes needs --fix or --diff", id="unsafe-without-fix"),
    pytest.param(["--fix", "--diff"], "--fix and --diff cannot be combined", id="fix-with-diff"),
    pytest.param(["--form", "json"], "unrecognized arguments: --form", id="abbreviated-option"),
    pytest.param(["--stat"], "unrecognized arguments: --stat", id="abbreviated-flag"),
    pytest.param(["--statistics", "--format", "json"], "--statistics prints a table", id="statistics-json"),
    pytest.param(["--exit-zero-even-if-changed"], "--exit-zero-even-if-changed needs --fix", id="exit-zero-changed"),
    # explain and --diff print something else than a report: an option for the report would be ignored
    *(pytest.param(["explain", *option], f"explain cannot be combined with {shown}", id=f"explain{shown}")
      for option, shown in [(["--diff"], "--diff"), (["--fix"], "--fix"), (["--sarif", "x.sarif"], "--sarif"),
                            (["--summary", "s.md"], "--summary"), (["-q"], "--quiet"),
                            (["--statistics"], "--statistics"), (["--exit-zero"], "--exit-zero"),
                            (["--fail-on", "info"], "--fail-on"), (["--format", "sarif"], "--format sarif"),
                            (["--format", "github"], "--format github"), (["--format", "concise"], "--format concise"),
                            # explain runs no rule (helper-196): these chose rules, and were ignored
                            (["--select", "EOS001"], "--select"), (["--ignore", "EOS002"], "--ignore"),
                            (["--baseline", "HEAD"], "--baseline"),
                            (["--color", "always"], "--color always")]),  # helper-203: it prints no colour
    *(pytest.param(["--diff", *option], f"--diff cannot be combined with {shown}", id=f"diff{shown}")
      for option, shown in [(["--sarif", "x.sarif"], "--sarif"), (["--summary", "s.md"], "--summary"),
                            (["-q"], "--quiet"), (["--statistics"], "--statistics"), (["--exit-zero"], "--exit-zero"),
                            (["--fail-on", "info"], "--fail-on"), (["--format", "json"], "--format json"),
                            (["--format", "sarif"], "--format sarif"), (["--format", "github"], "--format github"),
                            (["--format", "concise"], "--format concise")]),
])
def test_refused_options(run, broken, args, message):
    code, out, err = run(*args, "broken")
    assert code == 2 and out == "" and message in err and err.splitlines()[-1].startswith("eos-guard: error: ")
    assert not (broken.parent / "x.sarif").exists() and not (broken.parent / "s.md").exists()


@pytest.mark.parametrize(("args", "start", "end"), [
    (["--format", "jsn"], "argument --format: invalid choice: 'jsn' (choose from ", "; did you mean 'json'?"),
    (["--fail-on", "warn"], "argument --fail-on: invalid choice: 'warn' (choose from ", "; did you mean 'warning'?"),
    (["--color", "sometimes"], "argument --color: invalid choice: 'sometimes' (choose from ", ")"),
    (["--fxi"], "unrecognized arguments: --fxi", " (did you mean --fix?)"),
    (["--format"], "argument --format: expected one argument", ""),
], ids=["choice", "choice-prefix", "choice-unlike-any", "option", "missing-value"])
def test_a_usage_error_is_one_line_with_what_was_meant(run, broken, args, start, end):
    """Bad input is one line on stderr and exit 2, as every other error of eos-guard's: argparse printed its three
    usage lines before it, and an invalid choice got no suggestion where an unknown option did. (How argparse
    lists the choices differs between Python releases.)"""
    code, out, err = run("broken", *args)
    assert (code, out) == (2, "") and err.count("\n") == 1, err
    assert err.startswith(f"eos-guard: error: {start}") and err.endswith(f"{end}\n"), err


@pytest.mark.parametrize("args", [["--diff", "--format", "text"], ["--diff", "--format", "auto"],
                                  ["explain", "--format", "text"], ["explain", "--format", "auto"],
                                  ["explain", "--format", "json"]])
def test_the_formats_diff_and_explain_accept(run, broken, args):
    """usage.md's exit codes: a --format other than text or auto (or json for explain) is refused with them."""
    code, out, err = run(*args, "broken")
    assert code in (0, 1) and out and err == ""


def test_a_closed_stdout_ends_the_run_quietly():
    """``eos-guard ... | head``: the reader is gone before the report is written (a broken pipe)."""
    for args in (["--format", "json"], ["--format", "text"], ["explain"], ["--diff"], ["rule", "--all"]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        proc = subprocess.run([sys.executable, "-m", "eos_guard", *args, *([] if "rule" in args else [str(BROKEN)])],
                              stdout=write_end, stderr=subprocess.PIPE, cwd=ROOT, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        os.close(write_end)
        assert (proc.returncode, proc.stderr) == (2, b""), args


STOPS = {"config.json": "transformers cannot load the config",
         "generation_config.json": "transformers cannot load the generation config",
         "tokenizer_config.json": "transformers cannot load the tokenizer",
         "special_tokens_map.json": "transformers cannot load the tokenizer when it reads this file",
         "added_tokens.json": "transformers cannot load the tokenizer when it reads this file"}
NOT_OBJECTS = [("[]", "an array"), ("null", "null"), ("3", "a number"), ('"x"', "a string"), ("true", "a boolean")]


def _transformers_error(folder, file_name):
    """What the transformers part that reads ``file_name`` raises loading the folder, None when it loads (the
    oracle)."""
    transformers = pytest.importorskip("transformers")
    load = {"config.json": transformers.AutoConfig.from_pretrained,
            "generation_config.json": transformers.GenerationConfig.from_pretrained}.get(
        file_name, transformers.AutoTokenizer.from_pretrained)
    try:
        load(str(folder))
    except Exception as error:  # noqa: BLE001 - AttributeError, TypeError, ValueError: it does not load
        return error
    return None


@pytest.mark.parametrize(("text", "kind"), NOT_OBJECTS)
@pytest.mark.parametrize("file_name", list(STOPS))
def test_a_file_transformers_reads_as_an_object_that_is_not_one_is_an_error(run, tmp_path, file_name, text, kind):
    """Valid JSON of another kind stops transformers as invalid JSON would: one line naming the file, exit 2.
    special_tokens_map.json and added_tokens.json are read only in the legacy branch (no added_tokens_decoder)."""
    folder = shutil.copytree(ROOT / "tests" / "fixtures" / "llama3-8b-instruct-release", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    del config["added_tokens_decoder"]  # the legacy branch: special_tokens_map.json and added_tokens.json are read
    write_json(folder / "tokenizer_config.json", config)
    (folder / file_name).write_text(text, encoding="utf-8")
    code, out, err = run(str(folder))
    error = _transformers_error(folder, file_name)
    # model loading catches only the OSError of a generation_config.json that is not JSON (docs/usage.md)
    assert error is not None and not isinstance(error, OSError)
    assert code == 2 and err == f"eos-guard: m/{file_name}:1:1: the file is {kind}, not an object: {STOPS[file_name]}\n"
    assert out == "No findings in 1 model folder; 1 cannot be read.\n"  # nothing loads it: nothing else to say


@pytest.mark.parametrize(("value", "kind", "column"), [(["qwen2"], "an array", 17), ({"type": "qwen2"}, "an object", 17)])
def test_a_model_type_transformers_cannot_look_up_is_an_error(run, capsys, tmp_path, value, kind, column):
    """AutoConfig looks model_type up in a mapping: an array or an object raises TypeError, which AutoTokenizer's
    fallback to PreTrainedConfig does not catch. One line naming the key, exit 2, under every runtime (before, a
    config.json without eos_token_id was an internal error under --runtime vllm)."""
    folder = shutil.copytree(ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    del config["eos_token_id"]
    write_json(folder / "config.json", {**config, "model_type": value})
    transformers = pytest.importorskip("transformers")
    for load in (transformers.AutoConfig.from_pretrained, transformers.AutoTokenizer.from_pretrained):
        with pytest.raises(TypeError, match="unhashable"):
            load(str(folder))
    capsys.readouterr()  # transformers' own logging
    code, out, err = run(str(folder), "--runtime", "all")
    assert code == 2 and err == (f"eos-guard: m/config.json:5:{column}: model_type is {kind}, not a string: "
                                 "transformers cannot load the config or the tokenizer\n"), err
    assert out == "No findings in 1 model folder; 1 cannot be read.\n"


@pytest.mark.parametrize("value", [5, None, True, ""])
def test_a_model_type_transformers_does_not_know_is_not_an_error(run, capsys, tmp_path, value):
    """Any other value is a type AutoConfig does not know (ValueError): AutoTokenizer falls back to
    PreTrainedConfig and loads, and eos-guard reads the folder on without the class default."""
    folder = shutil.copytree(ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["model_type"] = value
    config["model_name"] = [value]
    del config["eos_token_id"]
    write_json(folder / "config.json", config)
    transformers = pytest.importorskip("transformers")
    assert transformers.AutoTokenizer.from_pretrained(str(folder)).eos_token == "<|im_end|>"
    capsys.readouterr()  # transformers' own logging
    code, out, err = run(str(folder), "--runtime", "all")
    assert "internal error" not in err and "Traceback" not in err
    assert code in (0, 1) and err == "", err


def test_a_map_transformers_does_not_read_that_is_not_an_object_is_reported_and_skipped(run, tmp_path):
    folder = shutil.copytree(ROOT / "tests" / "fixtures" / "llama3-8b-instruct-release", tmp_path / "m")
    (folder / "special_tokens_map.json").write_text("[]", encoding="utf-8")
    code, out, err = run(str(folder))
    assert _transformers_error(folder, "special_tokens_map.json") is None
    assert code == 2 and "EOS001" in out and err.startswith(
        "eos-guard: m/special_tokens_map.json:1:1: the file is an array, not an object: ")
    assert err.endswith("transformers does not read this file here (tokenizer_config.json has added_tokens_decoder), "
                        "so the folder is checked without it\n")


def test_github_format_annotates_a_file_that_cannot_be_read(run, broken, tmp_path):
    write_json(tmp_path / "bad" / "config.json", {})
    (tmp_path / "bad" / "config.json").write_text('{"eos_token_id": }')
    code, out, err = run("--format", "github", "bad", "broken", "nowhere")
    assert code == 2
    assert "::error file=bad/config.json,line=1,col=18,title=eos-guard::bad/config.json:1:18: cannot parse JSON: " \
           "Expecting value" in out
    assert "::error file=nowhere,title=eos-guard::nowhere: no such file or directory" in out
    assert out.count("::error file=broken/generation_config.json") == 1
    assert err.splitlines() == ["eos-guard: bad/config.json:1:18: cannot parse JSON: Expecting value",
                                "eos-guard: nowhere: no such file or directory"]


# ---------------------------------------------------------------------------------------------- rule docs

def test_rule_prints_its_documentation_from_the_package(run):
    code, out, err = run("rule", "EOS001")
    assert (code, err) == (0, "")
    assert out.startswith("EOS001 terminator-not-stop-id\n\nDefault severity: error. The chat template's turn "
                          "terminator is not among the stop ids.\n")
    assert "## Remediation" in out
    assert out.endswith(f"Examples: {rule_doc.DOCS_URL}#eos001-terminator-not-stop-id\n")
    assert run("rule", "pad-is-terminator")[1].startswith("EOS013 pad-is-terminator\n\nDefault severity: info.")


def test_rule_all_prints_every_rule_in_code_order(run):
    code, out, _ = run("rule", "--all")
    headers = [line.split()[0] for line in out.splitlines() if line.startswith("EOS") and " " in line
               and line.split()[0][3:].isdigit() and len(line.split()) == 2]
    assert code == 0 and headers == [rule.code for rule in ALL_RULES]


def test_rule_takes_a_code_prefix_as_select_does(run):
    """helper-203: `eos-guard rule EOS01` said "did you mean EOS010?" where --select EOS01 selects EOS010-EOS019."""
    code, out, err = run("rule", "EOS01", "EOS010")
    headers = [line.split()[0] for line in out.splitlines() if line.startswith("EOS01") and len(line.split()) == 2]
    assert (code, err) == (0, "") and headers == [rule.code for rule in ALL_RULES if rule.code.startswith("EOS01")]
    assert run("rule", "ALL") == run("rule", "--all")  # helper-205: --select ALL's word


@pytest.mark.parametrize("name,hint", [
    pytest.param("EOS1", "did you mean EOS001?", id="code-without-zeros"),
    pytest.param("eos27", "did you mean EOS027?", id="lower-case-code-without-zero"),
    pytest.param("EOS01X", "did you mean EOS010?", id="code-mistyped-after-its-digits"),
    pytest.param("EOS0199", "did you mean EOS019?", id="code-one-digit-too-many"),
    pytest.param("EOS0017", "did you mean EOS017?", id="code-with-a-zero-too-many"),  # helper-196: EOS001
    pytest.param("pad-is-terminater", "did you mean pad-is-terminator?", id="typo-name"),
    pytest.param("xyz", "", id="nothing-close"),
])
def test_unknown_rule_is_exit_2_with_a_suggestion(run, name, hint):
    code, out, err = run("rule", name)
    assert (code, out) == (2, "")
    assert err == f"eos-guard: unknown rule {name!r}{'; ' + hint if hint else ''} ('eos-guard rule --all' lists " \
                  "every rule)\n"


@pytest.mark.parametrize("name", ["EOS\u00b97", "EOS\u00b2", "EOS" + "1" * 5000])
def test_a_code_of_digits_int_cannot_read_is_an_unknown_rule_not_an_internal_error(run, tmp_path, name):
    """helper-197: the suggestion read a code's digits with int(), which refuses '²' (str.isdigit accepts it) and
    5,000 digits: a traceback for `rule`, an internal error for --select and the settings."""
    code, out, err = run("rule", name)
    assert (code, out) == (2, "") and err.startswith("eos-guard: unknown rule ") and err.count("\n") == 1, err
    code, _, err = run("--select", name, str(FIXTURES / "qwen2-instruct-aligned"))
    assert code == 2 and "unknown rule" in err and "internal error" not in err, err


def test_rule_needs_a_code_or_all(run):
    code, out, err = run("rule")
    assert (code, out) == (2, "")
    assert err.endswith("eos-guard: error: name rules (eos-guard rule EOS001) or give --all\n")


def test_rule_with_codes_and_all_says_both_were_given(run):
    code, out, err = run("rule", "--all", "EOS001")
    assert (code, out) == (2, "")
    assert err.endswith("eos-guard: error: give rule codes or --all, not both (--all prints every rule)\n")


def test_sarif_and_messages_point_at_the_published_docs_not_the_source_tree(run, broken):
    code, out, _ = run("--format", "sarif", "broken")
    rules = json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
    assert {r["helpUri"] for r in rules} == {rule_doc.url(rule) for rule in ALL_RULES}
    assert rule_doc.DOCS_URL == f"https://github.com/org/eos-guard/blob/v{eos_guard.__version__}/docs/rules.md"
    assert rule_doc.DOCS_URL in (ROOT / "docs" / "usage.md").read_text(encoding="utf-8").replace(
        "vX.Y.Z", f"v{eos_guard.__version__}")
    code, _, err = run("--select", "pad-is-terminater", "broken")
    assert code == 2 and "docs/" not in err
    assert "did you mean pad-is-terminator?" in err and "eos-guard rule --all" in err


# ---------------------------------------------------------------------------------------------- severities

def test_pad_is_terminator_is_info_and_settings_can_raise_it(run, tmp_path):
    shutil.copytree(RULE_CASES / "EOS013-pad-is-terminator", tmp_path / "pad")
    code, out, _ = run("--fail-on", "warning", "pad")
    assert code == 0 and ": EOS013 info: " in out
    (tmp_path / ".eos-guard.yaml").write_text("severity:\n  pad-is-terminator: error\n")
    code, out, _ = run("pad")
    assert code == 1 and ": EOS013 error: " in out


@pytest.mark.parametrize("yaml,message", [
    pytest.param("severity: [EOS013]\n", "severity must map rule codes or names", id="not-a-mapping"),
    pytest.param("severity:\n  EOS013: loud\n", "'loud' is not one of error, warning, info", id="bad-level"),
    pytest.param("severity:\n  EOS999: info\n", "unknown rule 'EOS999'", id="bad-rule"),
])
def test_bad_severity_settings(run, broken, tmp_path, yaml, message):
    (tmp_path / ".eos-guard.yaml").write_text(yaml)
    code, _, err = run("broken")
    assert code == 2 and message in err


def test_the_training_guard_reports_pad_is_terminator_as_a_warning(tmp_path):
    pytest.importorskip("transformers")
    from eos_guard.integrations.transformers import EosGuardCallback

    folder = shutil.copytree(RULE_CASES / "EOS013-pad-is-terminator", tmp_path / "checkpoint-1")
    report = EosGuardCallback().check(folder)
    assert [(f.code, str(f.severity)) for f in report.findings()] == [("EOS013", "warning")]


# ---------------------------------------------------------------------------------------------- Python API

def test_the_api_error_names_the_path(tmp_path):
    with pytest.raises(InputError) as raised:
        eos_guard.check(tmp_path / "missing")
    assert str(raised.value) == f"{(tmp_path / 'missing').as_posix()}: no such file or directory"


def test_printing_a_report_shows_its_findings_not_the_documents_read(tmp_path):
    """print(report) in a script: the findings, one line each as --format concise prints them, and how many folders
    (helper-203: it printed the record's repr, a 2,000-character line); repr(report) holds the folders and findings,
    not every parsed file (a 128k vocabulary)."""
    report = eos_guard.check(ROOT / "examples" / "chatml-finetune-broken")
    lines = str(report).splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["EOS003", "EOS001", "EOS002"], lines
    assert lines[0] == str(report.findings()[0]) and lines[-1] == "3 findings in 1 model folder checked"
    text = repr(report)
    assert text.startswith("Report(models=[ModelReport(folder=") and "code='EOS001'" in text, text
    assert len(text) < 4000 and "ResolvedModel" not in text and "inputs=" not in text, text
    assert report.models[0].model is not None  # still there for code that reads it
    (tmp_path / "generation_config.json").write_text("{", encoding="utf-8")
    lines = str(eos_guard.check(tmp_path)).splitlines()
    assert len(lines) == 2 and "generation_config.json:1:2: cannot parse JSON: " in lines[0], lines
    assert lines[1] == "0 findings in 1 model folder checked"


def test_a_folder_with_nothing_to_check_is_its_own_kind_of_input_error(tmp_path):
    """The API tells "nothing to check here" (NoModelFolder, an InputError) from a file that is wrong, without
    reading the message: the training callback warns for the first and stops for the second."""
    from eos_guard.errors import NoModelFolder

    (tmp_path / "adapter_model.safetensors").write_bytes(b"")
    with pytest.raises(NoModelFolder) as raised:
        eos_guard.check(tmp_path)
    assert isinstance(raised.value, InputError) and NO_MODEL in str(raised.value)
    assert type(pickle.loads(pickle.dumps(raised.value))) is NoModelFolder  # as a worker process sends it back
    (tmp_path / "tokenizer_config.json").write_text("{", encoding="utf-8")  # now a model folder, with a bad file
    errors = eos_guard.check(tmp_path).errors  # no raise: a file that is wrong is in the report
    assert len(errors) == 1 and "tokenizer_config.json:1:2: cannot parse JSON" in errors[0], errors


def test_the_transformers_integration_says_which_extra_to_install():
    # transformers is installed here; the child process makes its import fail as on a machine without it
    code = ("import sys; sys.modules['transformers'] = None\n"
            "import eos_guard.integrations.transformers")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == ("ModuleNotFoundError: eos_guard.integrations.transformers needs "
                                            "transformers: pip install 'transformers>=5' (in an eos-guard checkout: "
                                            "pip install -e '.[transformers]')")


def test_json_and_the_job_summary_list_the_paths_not_checked(run, broken, tmp_path):
    code, out, _ = run("--format", "json", "--summary", "summary.md", "nowhere", "broken")
    assert code == 2
    assert json.loads(out)["errors"] == [{"model": "nowhere", "message": "nowhere: no such file or directory"}]
    assert "- not checked: ` nowhere: no such file or directory `\n" in (tmp_path / "summary.md").read_text()


def test_a_ctranslate2_conversion_s_config_json_is_not_a_model_s(run, tmp_path):
    """CTranslate2's converter writes its own config.json beside the tokenizer files it copies: keys of its model
    spec, no model_type (python/ctranslate2/specs/model_spec.py ModelConfig.save_as_json, whisper_spec.py
    WhisperConfig; 0d8bcd36). transformers 5.24's AutoConfig raises on it ("Should have a `model_type` key"), so no
    generate() runs from such a folder: it was EOS004 ("generate() never stops on a token") on every one."""
    # Systran/faster-whisper-large-v3: config.json, tokenizer.json, preprocessor_config.json, vocabulary.json
    whisper = tmp_path / "faster-whisper-large-v3"
    write_json(whisper / "config.json", {"alignment_heads": [[7, 0], [10, 17]], "lang_ids": [50259, 50260],
                                         "suppress_ids": [1, 2, 7], "suppress_ids_begin": [220, 50257]})
    write_json(whisper / "tokenizer.json", {"version": "1.0", "added_tokens": [], "model": {"type": "BPE",
                                            "vocab": {"<|endoftext|>": 50257}, "merges": []}})
    write_json(whisper / "preprocessor_config.json", {"feature_extractor_type": "WhisperFeatureExtractor"})
    assert run("--pre-commit", "faster-whisper-large-v3/config.json") == (0, "No model folders found.\n", "")
    assert run("faster-whisper-large-v3")[0] == 2  # named, it holds no model folder
    # an LLM converted with --copy_files tokenizer.json tokenizer_config.json: checked as tokenizer files alone
    llm = tmp_path / "ct2-llama"
    write_json(llm / "config.json", {"add_source_bos": False, "add_source_eos": False, "bos_token": "<s>",
                                     "decoder_start_token": "<s>", "eos_token": "</s>", "layer_norm_epsilon": 1e-05,
                                     "multi_query_attention": False, "unk_token": "<unk>"})
    write_json(llm / "tokenizer_config.json", {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})
    code, out, err = run("--format", "concise", "ct2-llama")
    assert (code, err) == (0, "") and "EOS004" not in out, out


def test_a_config_json_that_escapes_its_keys_is_still_a_model_s(run, tmp_path):
    """A JSON parser reads ``"eos\\u005ftoken\\u005fid"`` as eos_token_id, and transformers loads this config: written
    so, the keys must not make eos-guard take it for a CTranslate2 config.json (no model folder, or tokenizer files
    alone) and pass a folder that runs on (a Llama 3 Instruct fine-tune whose eos is <|end_of_text|> only)."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text('{"model\\u005ftype": "llama", "archit\\u0065ctures": ["LlamaForCausalLM"], '
                                        '"eos\\u005ftoken\\u005fid": 128001, "vocab_size": 128256}', encoding="utf-8")
    assert json.loads((folder / "config.json").read_text())["eos_token_id"] == 128001
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(FIXTURES / "llama3-8b-instruct-release" / name, folder / name)
    code, out, _ = run("--format", "concise", "--baseline", "none", "m")
    assert code == 1 and "m/config.json:1:" in out and "EOS001" in out, out


def test_github_format_annotates_bad_settings(run, broken, tmp_path):
    (tmp_path / ".eos-guard.yaml").write_text("fail-on: [x\n")
    code, out, err = run("--format", "github", "broken")
    assert code == 2
    assert out.startswith("::error file=.eos-guard.yaml,line=2,col=1,title=eos-guard::.eos-guard.yaml:2:1: "
                          "cannot parse YAML: ")
    assert err.startswith("eos-guard: .eos-guard.yaml:2:1: cannot parse YAML: ")


def test_an_application_config_json_is_not_a_model_folder(run, tmp_path):
    """A repository with models and an app: pre-commit passes every config.json (the hook's files: pattern)."""
    shutil.copytree(BROKEN, tmp_path / "model", ignore=shutil.ignore_patterns("README.md"))
    write_json(tmp_path / "app" / "config.json", {"port": 8080, "debug": True})
    assert run("--pre-commit", "app/config.json") == (0, "No model folders found.\n", "")
    code, out, _ = run("--format", "concise", ".")
    assert code == 1 and "app/" not in out and "model/generation_config.json" in out
    assert run("app")[0] == 2  # a folder named explicitly that holds no model folder, as an empty one
    # a model's config.json alone (no tokenizer files yet) is one: every key transformers writes counts
    for key in ("model_type", "architectures", "eos_token_id", "text_config", "_name_or_path",
                "transformers_version"):
        write_json(tmp_path / key / "config.json", {key: None})
        assert "No model folders found" not in run(key)[1], key
    # a checkpoint's own sizes, as the original/config.json of openai/gpt-oss-20b writes them (no class to load it
    # with): not a model folder, so `eos-guard .` in that repository does not fail it with EOS004
    write_json(tmp_path / "original" / "config.json", {
        "num_hidden_layers": 24, "num_experts": 32, "experts_per_token": 4, "vocab_size": 201088,
        "hidden_size": 2880, "head_dim": 64, "num_attention_heads": 64, "num_key_value_heads": 8})
    assert run("--pre-commit", "original/config.json") == (0, "No model folders found.\n", "")
    # the keys are looked for in the file's first MB (MODEL_CONFIG_PROBE): one written after it does not count
    from eos_guard.model_files import MODEL_CONFIG_PROBE

    (tmp_path / "late").mkdir()
    head = '{"notes": "' + "x" * MODEL_CONFIG_PROBE + '", '
    (tmp_path / "late" / "config.json").write_text(head + '"model_type": "llama"}', encoding="utf-8")
    assert run("--pre-commit", "late/config.json") == (0, "No model folders found.\n", "")
    (tmp_path / "late" / "config.json").write_text('{"model_type": "llama", ' + head[1:] + '"n": 1}', encoding="utf-8")
    assert "No model folders found" not in run("late/config.json")[1]
    # next to another model file too, a config.json without them is no model's (AutoConfig needs model_type)
    write_json(tmp_path / "bare" / "config.json", {})
    write_json(tmp_path / "bare" / "special_tokens_map.json", {"eos_token": "</s>"})
    assert run("--pre-commit", "bare/config.json") == (0, "No model folders found.\n", "")
    # UTF-16 hides the keys from a byte search: the folder is checked, and its file reported
    (tmp_path / "utf16").mkdir()
    (tmp_path / "utf16" / "config.json").write_text('{"model_type": "llama"}', encoding="utf-16")
    code, _, err = run("utf16")
    assert code == 2 and "utf16/config.json" in err


def test_a_diffusers_pipeline_s_component_configs_are_not_model_folders(run, capsys, tmp_path):
    """diffusers writes ``_class_name``, ``_diffusers_version`` and, for a component loaded with from_pretrained,
    ``_name_or_path`` into unet/config.json and vae/config.json (fixture sdxl-diffusers-pipeline): the last is a key
    transformers writes too, so `eos-guard .` at a pipeline's root failed both with EOS004, though AutoConfig
    cannot load them and nothing generates with them."""
    from transformers import AutoConfig

    pipeline = shutil.copytree(FIXTURES / "sdxl-diffusers-pipeline", tmp_path / "sdxl",
                               ignore=shutil.ignore_patterns("README.md"))
    for component in ("unet", "vae"):
        assert "_name_or_path" in json.loads((pipeline / component / "config.json").read_text())
        with pytest.raises(ValueError, match="Should have a `model_type` key"):
            AutoConfig.from_pretrained(pipeline / component)
    capsys.readouterr()  # transformers' own line on stderr, that it runs without torch
    for component in ("unet", "vae"):
        assert run("--pre-commit", f"sdxl/{component}/config.json") == (0, "No model folders found.\n", "")
    code, out, err = run("--format", "json", "--runtime", "all", "sdxl")
    report = json.loads(out)
    assert (code, err, report["findings"]) == (0, "", []), out
    assert sorted(model["path"] for model in report["models"]) == [
        "sdxl/text_encoder", "sdxl/text_encoder_2", "sdxl/tokenizer", "sdxl/tokenizer_2"]
    # CLIPTokenizer builds its vocabulary from vocab.json, as GPT2Tokenizer does: the eos id is known
    assert {model["path"]: model["tokenizer_eos"] for model in report["models"]}["sdxl/tokenizer_2"] == {
        "token": "<|endoftext|>", "id": 49407}
    # a config.json that names a transformers class is a model's, diffusers' key or not
    write_json(tmp_path / "both" / "config.json", {"_diffusers_version": "0.30.0", "model_type": "llama"})
    assert "No model folders found" not in run("both/config.json")[1]


def test_a_fifo_named_config_json_never_blocks_the_search(run, tmp_path):
    (tmp_path / "m").mkdir()
    os.mkfifo(tmp_path / "m" / "config.json")
    code, out, err = run("--format", "concise", ".")  # would wait forever for a writer if it were opened for reading
    assert code in (1, 2) and "m/config.json" in out + err


@pytest.mark.parametrize("args,message", [
    (["check", "broken"], "eos-guard: eos-guard has no 'check' command: the paths follow eos-guard itself"),
    (["rules"], "eos-guard: eos-guard has no 'rules' command: use eos-guard rule --all"),
    (["fix", "broken"], "eos-guard: eos-guard has no 'fix' command: use eos-guard --fix PATH"),
    (["--select", "", "broken"], "eos-guard: --select: the value is empty"),
    (["--runtime", " ", "broken"], "eos-guard: --runtime: the value is empty"),
    (["--ignore", ",", "broken"], "eos-guard: --ignore: the value is empty"),
    (["--hub", "", "broken"], "eos-guard: --hub: the value is empty"),
])
def test_habits_of_other_tools_and_empty_values_are_usage_errors(run, broken, args, message):
    code, out, err = run(*args)
    assert (code, out) == (2, "") and err.startswith(message), err


def test_a_folder_named_like_a_command_is_still_checked(run, broken):
    shutil.copytree(broken, broken.parent / "check")
    assert run("check")[0] == 1


@pytest.mark.parametrize("verbose", [False, True])
def test_an_internal_error_exits_2_with_one_line_or_with_the_traceback(run, broken, monkeypatch, verbose):
    """docs/usage.md: an internal error is exit 2, one line on stderr; --verbose adds the traceback and keeps the
    code (re-raised, it was Python's 1, the code of findings that fail)."""
    from eos_guard import cli

    def fails(*args, **kwargs):
        raise RuntimeError("a bug in \x1b[31m::error::x\n##[error]y\n  ::warning::z")  # quoting a hostile name

    monkeypatch.setattr(cli, "check", fails)
    code, out, err = run(*(["--verbose"] if verbose else []), str(broken))
    assert code == 2 and out == ""
    if verbose:
        assert err.startswith("Traceback (most recent call last):\n")
        assert err.endswith("RuntimeError: a bug in \\x1b[31m::error::x\n##\\x5berror]y\n  \\x3a:warning::z\n")
        assert "\x1b" not in err and "##[" not in err
    else:
        assert err == ("eos-guard: internal error: RuntimeError: a bug in \\x1b[31m::error::x\\n##\\x5berror]y"
                       "\\n  ::warning::z (run with --verbose for details)\n")


@pytest.mark.parametrize("command", [[], ["explain"], ["--diff"]])
@pytest.mark.parametrize("verbose", [False, True])
def test_an_internal_error_kept_to_one_folder_shows_its_traceback_with_verbose(run, broken, monkeypatch, verbose,
                                                                             command):
    """helper-114: an internal error in one folder is that folder's error line (the others are checked), and
    --verbose, which docs/usage.md says shows the traceback of an internal error, showed none for it."""
    from eos_guard import pipeline

    real = pipeline.check_folder

    def fails_on_one(folder, *args, **kwargs):
        if folder.name == "bad":
            raise RuntimeError("a bug")
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(pipeline, "check_folder", fails_on_one)
    shutil.copytree(broken, broken.parent / "bad")
    code, out, err = run(*command, *(["--verbose"] if verbose else []), str(broken), str(broken.parent / "bad"))
    assert code == 2 and err.endswith("bad: internal error: RuntimeError: a bug\n"), err
    assert err.startswith("Traceback (most recent call last):\n") == verbose, err
    assert "fails_on_one" in err if verbose else err.count("\n") == 1


@pytest.mark.parametrize("closed", [">&-", ">&- 2>&-"])
@pytest.mark.parametrize("fix", [False, True])
def test_a_process_started_with_stdout_closed_does_its_work_and_exits_2_quietly(broken, tmp_path, fix, closed):
    """``eos-guard PATH >&-``: as when the reader of a pipe has gone (docs/usage.md, exit 2, nothing more printed);
    --fix still writes the files of every folder first, also with stderr closed too (whose lines print() would
    otherwise send to stdout)."""
    folders = [shutil.copytree(broken, tmp_path / name) for name in ("m", "n")]
    before = [(folder / "generation_config.json").read_bytes() for folder in folders]
    command = [sys.executable, "-m", "eos_guard", *(["--fix"] if fix else []), "m", "n"]
    result = subprocess.run(["sh", "-c", f'exec "$@" {closed}', "sh", *command], stderr=subprocess.PIPE,
                            cwd=tmp_path, env={**os.environ, "EOS_GUARD_CACHE_DIR": str(tmp_path / "cache")})
    fixing = b"".join(b"Fixing %s/config.json\nFixing %s/generation_config.json\n" % (n, n) for n in (b"m", b"n"))
    assert (result.returncode, result.stderr) == (2, fixing if fix and "2>&-" not in closed else b"")
    assert [(f / "generation_config.json").read_bytes() != b for f, b in zip(folders, before)] == [fix, fix]


_TEMPLATE = json.loads((ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned" / "tokenizer_config.json")
                       .read_text(encoding="utf-8"))["chat_template"]
CHAT_TEMPLATE_SHAPES = {
    "string": _TEMPLATE,
    "object-with-default": {"default": _TEMPLATE},
    "object-without-default": {"x": _TEMPLATE},
    "object-tool-use-only": {"tool_use": _TEMPLATE},
    "empty-object": {},
    "empty-array": [],
    "number": 5,
    "boolean": True,
    "array-of-strings": ["a", "b"],
    "array-with-a-number": [{"name": "default", "template": _TEMPLATE}, 5],
    "array-item-without-template": [{"name": "default"}],
    "array-template-a-number": [{"name": "default", "template": 5}],
    "object-template-a-number": {"default": 5},
    "array-repeated-name-last-wins": [{"name": "default", "template": "x"}, {"name": "default", "template": _TEMPLATE}],
    "array-repeated-name-last-is-a-string": [{"name": "default", "template": 5},
                                             {"name": "default", "template": _TEMPLATE}],
    "array-name-a-number": [{"name": 5, "template": _TEMPLATE}],
    "array-name-an-array": [{"name": ["default"], "template": _TEMPLATE}],
    "object-default-a-number-and-tool-use": {"default": 5, "tool_use": _TEMPLATE},
    "object-only-a-number": {"x": 5},
}


@pytest.mark.parametrize("shape", list(CHAT_TEMPLATE_SHAPES))
def test_a_chat_template_value_transformers_cannot_use_is_reported(run, tmp_path, shape):
    """tokenizer_config.json's chat_template as each JSON shape, with transformers as the oracle: where
    AutoTokenizer cannot load the folder, one error line (exit 2); where apply_chat_template raises, EOS014;
    where it renders, eos-guard checks the template it renders (an object of named templates included)."""
    transformers = pytest.importorskip("transformers")
    folder = shutil.copytree(ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(folder / "tokenizer_config.json", {**config, "chat_template": CHAT_TEMPLATE_SHAPES[shape]})
    code, out, err = run("--format", "concise", "m")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    except Exception:  # noqa: BLE001 - TypeError, KeyError: the folder does not load
        assert code == 2 and "transformers cannot load this tokenizer" in err and err.count("\n") == 1, err
        return
    try:
        tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    except Exception as error:  # noqa: BLE001 - ValueError (no default), TypeError (not a string)
        findings = [line for line in out.splitlines() if "EOS014" in line]
        assert code == 0 and err == "" and findings, out
        # the first says what transformers raises (a named template that is no string may follow)
        assert ("no default" in findings[0]) is ("no default" in str(error)), (findings, error)
        return
    assert code == 0 and out == "All checks passed (1 model folder).\n"
    # the template read is the one transformers renders: a broken copy of it is found
    broken = _TEMPLATE.replace("<|im_end|>", "<|im_start|>")
    write_json(folder / "tokenizer_config.json",
               {**config, "chat_template": json.loads(json.dumps(CHAT_TEMPLATE_SHAPES[shape]).replace(
                   json.dumps(_TEMPLATE)[1:-1], json.dumps(broken)[1:-1]))})
    assert "EOS001" in run("--format", "concise", "m")[1]


def _stdout_env(tmp_path, stdout: str) -> dict[str, str]:
    """The environment of a run whose stdout is Python's default (buffered) or unbuffered (PYTHONUNBUFFERED=1, as
    many CI images and this test suite's own environment set it): a full disk showed only in the second."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    env.update(PYTHONPATH=str(ROOT), EOS_GUARD_CACHE_DIR=str(tmp_path / "cache"))
    if stdout == "unbuffered":
        env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("stdout", ["buffered", "unbuffered"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_full_disk_is_one_error_line_not_an_internal_error(tmp_path, fmt, stdout):
    """stdout on a full disk (/dev/full fails every write): one line on stderr, exit 2; the --sarif file that
    cannot be written is named. With Python's default buffered stdout, the report waited in the buffer and the
    interpreter's flush at exit failed: two lines of "Exception ignored", exit status 120."""
    env = _stdout_env(tmp_path, stdout)
    folder = str(ROOT / "examples" / "chatml-finetune-broken")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "eos_guard", "--format", fmt, folder], stdout=full,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr == "eos-guard: cannot write the output: No space left on device\n"
    for option in ("--sarif", "--summary"):
        proc = subprocess.run([sys.executable, "-m", "eos_guard", option, "/dev/full", folder], capture_output=True,
                              text=True, env=env, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stderr == \
            f"eos-guard: /dev/full: cannot write the {option} file: No space left on device\n"
    # a folder after --sarif is taken for the file (eos-guard --sarif models/x): the option is named
    proc = subprocess.run([sys.executable, "-m", "eos_guard", "--sarif", folder, folder], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.endswith("chatml-finetune-broken: cannot write the --sarif file: Is a "
                                                         "directory\n"), proc.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_stderr_that_cannot_be_written_changes_neither_the_report_nor_the_exit_code(tmp_path):
    """With stderr on a full disk, the first line said there (a PATH that does not exist) raised out of main(), and
    out of the handler that tried to say so: the stdout report was lost and Python exited 1, the code of findings.
    A run that finds nothing exited 1 too (its warning on stderr), and --fix wrote the files and said nothing."""
    env = _stdout_env(tmp_path, "buffered")
    folder = tmp_path / "broken"
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", folder)
    write_json(tmp_path / "lone" / "tokenizer.json", {"added_tokens": []})
    expected = subprocess.run([sys.executable, "-m", "eos_guard", "broken", "nope"], capture_output=True, text=True,
                              env=env, cwd=tmp_path)
    assert expected.returncode == 2 and expected.stderr == "eos-guard: nope: no such file or directory\n"
    for argv, code, out in ((["broken", "nope"], 2, expected.stdout), (["lone/tokenizer.json"], 0,
                                                                      "No model folders found.\n"),
                            (["--fix", "broken"], 1, "Fixed 2 files in 1 folder; 0 errors remain.\n")):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-m", "eos_guard", *argv], stdout=subprocess.PIPE, stderr=full,
                                  text=True, env=env, cwd=tmp_path)
        assert (proc.returncode, proc.stdout) == (code, out), argv
    assert "151645" in (folder / "generation_config.json").read_text(encoding="utf-8")


@pytest.mark.skipif(os.name == "nt", reason="Windows refuses to remove a process's current folder")
@pytest.mark.parametrize("paths", [pytest.param([], id="no-path"), pytest.param(["ABSOLUTE"], id="absolute-path")])
def test_a_current_folder_removed_under_the_shell_is_one_line_not_an_internal_error(tmp_path, paths):
    """A shell left in a training output folder the trainer removed and made again: Path.cwd() raised, "internal
    error: FileNotFoundError", also for an absolute PATH (settings are looked for from the current folder)."""
    env = _stdout_env(tmp_path, "buffered")
    folder = str(ROOT / "examples" / "chatml-finetune-broken")
    gone = tmp_path / "gone"
    gone.mkdir()
    proc = subprocess.run(["sh", "-c", 'cd gone && rmdir ../gone && exec "$0" -m eos_guard "$@"', sys.executable,
                           *(folder if path == "ABSOLUTE" else path for path in paths)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        2, "", "eos-guard: the current folder no longer exists (removed after the shell entered it): cd to one that "
               "does\n")


@pytest.mark.parametrize(("target", "message"), [("/dev/null", "the settings file is not a regular file"),
                                                  (".", "the settings file is a folder"),
                                                  ("missing.yaml", "config file not found")])
def test_a_config_option_that_names_no_settings_file_says_what_it_names(run, tmp_path, target, message):
    code, out, err = run("--config", target, str(ROOT / "examples" / "chatml-finetune-broken"))
    assert code == 2 and out == "" and err == f"eos-guard: {target}: {message}\n"


def test_an_unreadable_generation_config_is_what_eos001_says_to_repair(run):
    """generation_config.json with a trailing comma: transformers falls back to config.json, so EOS001 points there;
    it said only 'add 128009' (to config.json) and EOS017 called the id 'listed nowhere', while the unread file
    lists it: a hurried user edited the wrong file. EOS001 now says to repair generation_config.json first, and
    EOS017 does not claim what it cannot see."""
    from support import FIXTURES

    code, out, err = run("--format", "concise", str(FIXTURES / "generation-config-invalid-json"))
    assert code == 2 and "EOS017" not in out and "generation_config.json:4:40: cannot parse JSON" in err
    assert "; repair generation_config.json (while transformers cannot read it, generate() uses config.json's " \
           "eos_token_id), or add 128009 here [terminator-not-stop-id]" in out, out


def test_eos010_points_at_the_special_flag_to_change(run, tmp_path):
    """docs/usage.md: positions point at the value to change, at the object only for a missing key. EOS010 pointed at
    the token's '{' several lines above "special": false."""
    folder = shutil.copytree(RULE_CASES / "EOS010-terminator-not-special", tmp_path / "m")
    found = [f for f in json.loads(run("--format", "json", "m", cwd=tmp_path)[1])["findings"] if f["code"] == "EOS010"]
    path = tmp_path / found[0]["path"]
    line = path.read_text(encoding="utf-8").splitlines()[found[0]["line"] - 1]
    assert line[found[0]["column"] - 1:].startswith("false"), line
    document = json.loads(path.read_text(encoding="utf-8"))  # without the key: at the entry that should hold it
    entries = document["added_tokens"] if path.name == "tokenizer.json" else document["added_tokens_decoder"]
    for entry in entries if isinstance(entries, list) else entries.values():
        entry.pop("special", None)
    write_json(path, document)
    found = [f for f in json.loads(run("--format", "json", "m", cwd=tmp_path)[1])["findings"] if f["code"] == "EOS010"]
    line = path.read_text(encoding="utf-8").splitlines()[found[0]["line"] - 1]
    assert line[found[0]["column"] - 1:].startswith("{"), line


@pytest.mark.parametrize(("argv", "message"), [
    (["explian", "m"], "eos-guard: explian: no such file or directory; did you mean the command 'explain'?\n"),
    (["--form", "json", "m"], "(did you mean --format?)"),
    (["--failon", "warning", "m"], "(did you mean --fail-on?)"),
    (["--selct", "EOS001", "m"], "(did you mean --select?)"),
    (["--unsafe", "m"], "(did you mean --unsafe-fixes?)"),
    (["--no-cache", "explain", "m"], "eos-guard: explain: no such file or directory; a command comes before the "
                                     "options: eos-guard explain [options] PATH ...\n"),
    (["-q", "rule", "EOS001"], "eos-guard: rule: no such file or directory; a command comes before the options: "
                               "eos-guard rule CODE ... | --all\n"),
], ids=["command", "abbreviated-option", "option-without-hyphen", "misspelt-option", "option-prefix",
        "explain-after-an-option", "rule-after-an-option"])
def test_a_mistyped_command_or_option_says_what_was_meant(run, tmp_path, argv, message):
    """'eos-guard explian m' checked m, printed 'All checks passed', then 'explian: no such file or directory'; a
    mistyped option gave argparse's 'unrecognized arguments' alone, where a mistyped rule code gets a suggestion;
    'eos-guard --no-cache explain m' checked m, then said 'explain: no such file or directory'."""
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    code, out, err = run(*argv, cwd=tmp_path)
    assert code == 2 and message in err and "All checks passed" not in out, (out, err)


MISSING = "no such file or directory; did you mean"
NOT_A_NAME = "not a Hub repository name (expected org/name[@revision]); did you mean"


@pytest.mark.parametrize(("argv", "message"), [
    (["Qwen/Qwen2.5-0.5B-Instruct"], f"Qwen/Qwen2.5-0.5B-Instruct: {MISSING} hf://Qwen/Qwen2.5-0.5B-Instruct?"),
    (["meta-llama/Llama-3.1-8B-Instruct@v1"],
     f"meta-llama/Llama-3.1-8B-Instruct@v1: {MISSING} hf://meta-llama/Llama-3.1-8B-Instruct@v1?"),
    (["https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct"],
     f"https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct: {MISSING} hf://Qwen/Qwen2.5-0.5B-Instruct?"),
    (["https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/config.json"],
     f"https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/config.json: {MISSING} "
     "hf://Qwen/Qwen2.5-0.5B-Instruct@main?"),
    (["https://huggingface.co/org/name/tree/refs%2Fpr%2F3"],
     f"https://huggingface.co/org/name/tree/refs%2Fpr%2F3: {MISSING} hf://org/name@refs/pr/3?"),
    (["hf:Qwen/Qwen2.5-0.5B-Instruct"], f"hf:Qwen/Qwen2.5-0.5B-Instruct: {MISSING} hf://Qwen/Qwen2.5-0.5B-Instruct?"),
    (["hf://https://huggingface.co/Qwen/X"], f"hf://https://huggingface.co/Qwen/X: {NOT_A_NAME} hf://Qwen/X?"),
    (["hf://Qwen/X/tree/main"], f"hf://Qwen/X/tree/main: {NOT_A_NAME} hf://Qwen/X@main?"),
    (["--hub", "hf://Qwen/X"], f"hf://hf://Qwen/X: {NOT_A_NAME} hf://Qwen/X?"),
], ids=["bare-id", "bare-id-revision", "address", "file-address", "pr-address", "one-colon", "hub-address",
        "hub-path", "hub-option-scheme"])
def test_a_hub_repository_written_another_way_is_named_as_eos_guard_reads_it(run, tmp_path, argv, message):
    """A hurried user passes the Hub id as transformers takes it, or the address from the browser: each said only
    'no such file or directory' (the address folded to 'https:/huggingface.co/...') or 'not a Hub repository name'."""
    assert run(*argv, cwd=tmp_path) == (2, "No model folders found.\n", f"eos-guard: {message}\n")


@pytest.mark.parametrize("path", ["models/llama", "./org/name", "huggingface.co/datasets/org/data", "a/b/c"])
def test_a_missing_local_path_is_not_taken_for_a_hub_repository(run, tmp_path, path):
    """models/ exists, so models/llama is a local folder mistyped; ./ and three parts are paths; a data set's
    address names no model repository."""
    (tmp_path / "models").mkdir()
    code, _, err = run(path, cwd=tmp_path)
    assert code == 2 and err.endswith(": no such file or directory\n") and "hf://" not in err, err


def test_usage_md_quotes_the_hub_hint_as_printed(run, tmp_path):
    usage = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    _, _, err = run("Qwen/Qwen2.5-0.5B-Instruct", cwd=tmp_path)
    assert f"`{err.strip()}`" in " ".join(usage.split())


def test_the_python_api_names_the_hub_form_too():
    with pytest.raises(eos_guard.InputError, match=r"did you mean hf://Qwen/Qwen2\.5-0\.5B-Instruct\?"):
        eos_guard.check("Qwen/Qwen2.5-0.5B-Instruct")


def test_no_closing_line_says_all_checks_passed_after_an_error(run, tmp_path):
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    code, out, err = run("m", "missing", cwd=tmp_path)
    assert (code, out, err) == (2, "No findings in 1 model folder.\n", "eos-guard: missing: no such file or directory\n")
    code, out, err = run("--baseline", "HEAD", "m", cwd=tmp_path)  # a baseline outside a git repository
    assert (code, out) == (2, "No findings in 1 model folder.\n") and "--baseline HEAD" in err, err


def test_the_python_api_counts_by_severity_name_and_exports_its_error():
    """A script writes report.count("error") (it raised TypeError), indexes report.findings() and catches
    eos_guard.InputError."""
    report = eos_guard.check(ROOT / "examples" / "chatml-finetune-broken")
    assert (report.count("error"), report.count("warning"), report.count(eos_guard.Severity.INFO)) == (1, 3, 3)
    # findings() is a list (helper-166: report.findings()[0] raised TypeError, a generator)
    assert len(report.findings()) == 3 and sorted(f.code for f in report.findings()) == ["EOS001", "EOS002", "EOS003"]
    with pytest.raises(ValueError, match="unknown severity 'fatal'"):
        report.count("fatal")
    with pytest.raises(TypeError, match="at_least must be a Severity or a severity's name, not None"):
        report.count(None)  # helper-209: a bare "'>=' not supported" from inside the sum
    with pytest.raises(eos_guard.InputError, match="no such file or directory"):
        eos_guard.check(ROOT / "no-such-folder")


@pytest.mark.parametrize("option", ["--config", "--sarif", "--summary", "--hub-list"])
def test_an_empty_file_option_is_a_usage_error_not_the_current_folder(run, option):
    """``--config "$SETTINGS"`` with the variable unset: Path("") is ".", which was reported as "the settings file
    is a folder" (and --sarif/--summary as a folder they cannot write, after the check ran)."""
    code, out, err = run(option, "", str(FIXTURES / "qwen2-instruct-aligned"))
    assert code == 2 and out == ""
    assert f"argument {option}: an empty value (a variable that expanded to nothing?) is not a file name" in err


def test_names_after_double_dash_are_paths_even_when_they_look_like_options(run, tmp_path, monkeypatch):
    """docs/usage.md: a script passing file names puts ``--`` before them; a file named ``--sarif=x.json`` is then
    a PATH (a file outside a model folder, skipped), not the option that would write x.json."""
    import shutil

    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    (tmp_path / "--sarif=x.json").write_text("{}", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run("--baseline", "none", "--", "m", "--sarif=x.json")
    assert code == 0 and not (tmp_path / "x.json").exists(), (out, err)
    code, _, _ = run("--baseline", "none", "m", "--sarif=x.json")
    assert code == 0 and (tmp_path / "x.json").exists()  # without "--", the option: why the docs say to add it


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("stdout", ["buffered", "unbuffered"])
@pytest.mark.parametrize("args", [["--version"], ["--help"], ["explain", "--help"], ["rule", "EOS001"],
                                  ["rule", "--all"], ["explain", str(ROOT / "examples" / "chatml-finetune-broken")],
                                  ["--diff", str(ROOT / "examples" / "chatml-finetune-broken")]])
def test_every_command_says_a_full_disk_on_stderr(tmp_path, args, stdout):
    """`eos-guard rule EOS001 > /dev/full` ended in a traceback; --help and --version exited 0 with nothing
    written, since argparse passes over an OSError of stdout."""
    env = _stdout_env(tmp_path, stdout)
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "eos_guard", *args], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (2, "eos-guard: cannot write the output: No space left on device\n")


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGXFSZ"), reason="no file-size limit here")
@pytest.mark.parametrize("stdout", ["buffered", "unbuffered"])
@pytest.mark.parametrize("fmt", ["concise", "json"])
def test_an_output_a_file_size_limit_cuts_short_is_an_error(tmp_path, fmt, stdout):
    """stdout to a file under a file-size limit (``ulimit -f 1``: 1,024 bytes) takes the first bytes of a write and
    refuses the rest. Unbuffered (PYTHONUNBUFFERED=1), Python's text layer passed over the rest: the report was
    cut at 1,024 bytes and the run exited 1, as if it were whole. Now the rest is written again, which fails.
    The folders have no chat template, so no render worker starts under the limit (Python writes a bytecode file
    cut at the limit as if whole, and every later import of that module fails)."""
    import resource

    names = [f"m{i}" for i in range(12)]
    for name in names:
        write_json(tmp_path / name / "config.json", {"model_type": "llama", "eos_token_id": -1})

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    env = {**_stdout_env(tmp_path, stdout), "PYTHONDONTWRITEBYTECODE": "1"}
    with open(tmp_path / "out", "wb") as out:
        proc = subprocess.run([sys.executable, "-m", "eos_guard", "--no-cache", "--baseline", "none", "--format", fmt,
                               *names], stdout=out, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
                              preexec_fn=limit_file_size)
    assert (tmp_path / "out").stat().st_size == 1024  # the report is longer: only its start was written
    assert (proc.returncode, proc.stderr) == (2, "eos-guard: cannot write the output: File too large\n")


@pytest.mark.parametrize("text", ['{"processor_class": "LlavaProcessor",', "[1, 2]"])
def test_a_broken_processor_config_json_does_not_hide_the_folder_s_findings(tmp_path, run, text):
    """Only AutoProcessor reads processor_config.json: AutoTokenizer, generate() and pipeline() never open it. One
    that is not JSON made the folder "cannot be read" (exit 2, no finding) once the file was read for its chat
    template; now its error is reported (exit 2) and the folder checked without it. JSON of another kind has no
    chat template to read."""
    import shutil

    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    (folder / "processor_config.json").write_text(text, encoding="utf-8")
    code, out, err = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert " EOS001 error: " in out, out
    if text.startswith("{"):
        assert code == 2 and "processor_config.json:1:38: cannot parse JSON" in err
        assert "only a processor (AutoProcessor) reads this file, so the folder is checked without it" in err
        assert out.endswith("1 checked without a malformed file.\n")
    else:
        assert code == 1 and err == ""


def test_a_broken_chat_template_json_does_not_hide_the_folder_s_findings(tmp_path, run):
    """chat_template.json is a processor's file too (ProcessorMixin.get_processor_dict): one that is not JSON made
    the folder "cannot be read" (helper-109: exit 2 and no finding, while generate() ran on), where a broken
    processor_config.json is reported and the folder checked without it. Now both are."""
    import shutil

    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    (folder / "chat_template.json").write_text('{"chat_template": "{{ x }}",\n}', encoding="utf-8")
    code, out, err = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert " EOS001 error: " in out, out
    assert code == 2 and "chat_template.json:1:28: cannot parse JSON: Illegal trailing comma" in err, err
    assert "only a processor (AutoProcessor) reads this file, so the folder is checked without it" in err
    assert out.endswith("1 checked without a malformed file.\n")


@pytest.mark.parametrize("text, message", [
    ('"{{ x }}"', "chat_template.json:1:1: the file is a string, not an object: AutoProcessor raises on it"),
    ('{"template": "{{ x }}"}', "chat_template.json:1:1: the file has no chat_template: AutoProcessor raises on it"),
])
def test_a_chat_template_json_a_processor_cannot_load_is_reported(tmp_path, run, text, message):
    """helper-112: valid JSON that is no object, or an object without chat_template (processing_utils.py reads
    json.load(reader)["chat_template"]), was ignored without a word: the folder passed on the tokenizer's template.
    It is reported as a malformed file is, and the folder checked without it."""
    import shutil

    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    (folder / "chat_template.json").write_text(text, encoding="utf-8")
    code, out, err = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert code == 2 and " EOS001 error: " in out and message in err, (out, err)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_SETPIPE_SZ is Linux's")
@pytest.mark.parametrize("stdout", ["buffered", "unbuffered"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_non_blocking_stdout_pipe_that_fills_up_gets_the_whole_report(tmp_path, fmt, stdout):
    """stdout a non-blocking pipe (a parent's event loop, some CI runners) whose reader is slow: a write of more than
    the pipe holds takes part of it. Unbuffered, the rest was waited for; buffered (Python's default), the
    BlockingIOError ended the run with 'cannot write the output' and the report cut at what the pipe held."""
    import fcntl
    import time

    names = [f"m{i}" for i in range(40)]
    for name in names:
        write_json(tmp_path / name / "config.json", {"model_type": "llama", "eos_token_id": -1})
    read, write = os.pipe()
    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(write, False)
    proc = subprocess.Popen([sys.executable, "-m", "eos_guard", "--no-cache", "--baseline", "none", "--format", fmt,
                             *names], stdout=write, stderr=subprocess.PIPE, text=True,
                            env=_stdout_env(tmp_path, stdout), cwd=tmp_path)
    os.close(write)
    time.sleep(2)  # the report is written meanwhile, and fills the pipe
    with os.fdopen(read, "rb") as pipe:
        out = pipe.read().decode()
    err = proc.stderr.read()
    proc.stderr.close()
    assert (proc.wait(60), err) == (1, "")
    assert len(out) > 4096 and out.count("EOS") >= len(names), out[-500:]
    if fmt == "json":
        json.loads(out)


def test_a_name_that_is_not_utf8_is_shown_as_its_bytes_escaped(tmp_path):
    """A PATH whose bytes are not UTF-8 (b"m\\xff") reaches Python as a surrogate escape ("m\\udcff", os.fsdecode), and
    messages showed that: "m\\udcff: no such file or directory", which names no file the user has. Every message and
    text report now shows the byte as the shell user's tools do (os.fsencode, then backslashreplace: "m\\xff"); the
    JSON and SARIF path fields keep the lossless form a program turns back into the bytes."""
    shutil.copytree(BROKEN, tmp_path / os.fsdecode(b"m\xff"))
    (tmp_path / os.fsdecode(b"e\xff")).mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "PRE_COMMIT")}
    env["PYTHONPATH"] = str(ROOT)

    def run(*args: str | bytes) -> tuple[int, str, str]:
        proc = subprocess.run([sys.executable, "-m", "eos_guard", *args, "--baseline", "none"], cwd=tmp_path, env=env,
                              capture_output=True)
        return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")

    code, out, err = run("--format", "concise", b"m\xff", b"e\xff", b"x\xff", b"hf://o/\xff/x")
    assert code == 2 and "m\\xff/generation_config.json:3:19: EOS001 error: " in out
    assert err.splitlines() == [f"eos-guard: e\\xff: {NO_MODEL}", "eos-guard: x\\xff: no such file or directory",
                                "eos-guard: hf://o/\\xff/x: not a Hub repository name (expected org/name[@revision])"]
    code, out, err = run("--format", "text", b"m\xff")
    assert code == 1 and out.startswith("m\\xff: ") and err == ""
    code, out, err = run("--format", "github", b"x\xff")
    assert out.startswith("::error file=x\\xff,title=eos-guard::x\\xff: no such file or directory\n")
    code, out, err = run("--format", "json", b"m\xff", b"x\xff")
    report = json.loads(out)
    assert {f["model"] for f in report["findings"]} == {"m\udcff"}  # os.fsencode gives the bytes back
    assert report["errors"] == [{"model": "x\udcff", "message": "x\\xff: no such file or directory"}]
    code, out, err = run("--fix", "--format", "concise", b"m\xff")
    assert code == 1 and "Fixing m\\xff/generation_config.json" in err.splitlines()
    assert run(b"--sarif=\xff/r.json", b"m\xff")[2] == \
        "eos-guard: \\xff/r.json: cannot write the --sarif file: No such file or directory\n"
    assert run(b"--\xff")[2] == "eos-guard: error: unrecognized arguments: --\\xff\n"
    assert run("--allow-empty", b"e\xff")[2].startswith("eos-guard: warning: no model folder found for e\\xff (")
    assert run("explain", b"x\xff")[2] == "eos-guard: x\\xff: no such file or directory\n"


@pytest.mark.parametrize("option", ["--sarif", "--summary"])
@pytest.mark.parametrize("how", ["file-link", "dangling-link", "folder-link", "through-a-link-to-the-tree",
                                 "dot-dot-after-a-link"])
def test_an_output_file_linked_out_of_the_repository_is_not_written(tmp_path, run, option, how):
    """helper-114: --sarif and --summary wrote through links, and a pull request can commit the output path (or its
    folder) as a link to a file of the runner's: it was overwritten, created or appended to. In a git work tree a
    path that is, or lies under, a link out of it is refused (exit 2), as a model file linked so is not read."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", repo / "m")
    (repo / ".git").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "bashrc").write_text("precious\n", encoding="utf-8")
    if how == "file-link":
        (repo / "out").symlink_to(outside / "bashrc")
        target = "out"
    elif how == "dangling-link":
        (repo / "out").symlink_to(outside / "new")
        target = "out"
    elif how == "folder-link":
        (repo / "results").symlink_to(outside)
        target = "results/bashrc"
    elif how == "through-a-link-to-the-tree":  # helper-117: the tree reached through a link to it (a workspace link)
        (repo / "results").symlink_to(outside)
        (tmp_path / "alias").symlink_to(repo)
        target = str(tmp_path / "alias" / "results" / "bashrc")
    else:  # the kernel takes '..' after following the link: outside/../bashrc is tmp_path/bashrc
        (repo / "results").symlink_to(outside / "deeper", target_is_directory=True)
        (outside / "deeper").mkdir()
        target = "results/../bashrc"
    code, out, err = run(option, target, "--no-cache", "--baseline", "none", "m", cwd=repo)
    assert code == 2 and f"cannot write the {option} file: it " in err and "leads outside" in err, err
    assert (outside / "bashrc").read_text(encoding="utf-8") == "precious\n" and not (outside / "new").exists()
    if how == "through-a-link-to-the-tree":  # run from outside any work tree, as another CI system may
        (tmp_path / "elsewhere").mkdir()
        code, out, err = run(option, target, "--no-cache", "--baseline", "none", str(repo / "m"),
                             cwd=tmp_path / "elsewhere")
        assert code == 2 and "leads outside" in err and (outside / "bashrc").read_text(encoding="utf-8") == \
            "precious\n", err
    # a link that stays in the repository, a path outside any work tree, and '..' out of the tree (no link: the
    # runner's temporary folder next to the workspace, helper-118) are written
    (repo / "inside.sarif").symlink_to(repo / "real.sarif")
    assert run(option, "inside.sarif", "--no-cache", "--baseline", "none", "m", cwd=repo)[0] == 1
    assert (repo / "real.sarif").stat().st_size > 0
    assert run(option, str(outside / "elsewhere"), "--no-cache", "--baseline", "none", "m", cwd=repo)[0] == 1
    code, out, err = run(option, "../up.out", "--no-cache", "--baseline", "none", "m", cwd=repo)
    assert code == 1 and err == "" and (tmp_path / "up.out").stat().st_size > 0, err


@pytest.mark.parametrize("architectures", [[[1]], [{}], [None, "Qwen2ForCausalLM"], {}, True,
                                           [[1], "MusicgenForConditionalGeneration"]])
def test_architectures_of_any_shape_is_no_internal_error(tmp_path, run, broken, architectures):
    """helper-114: architectures holding a list or an object was an internal error (a hash of an unhashable name),
    naming neither config.json nor a position, in check, --diff, --fix and explain. transformers' AutoConfig loads
    such a config.json (the value is kept as it is); a name that is no string names no class."""
    import json

    folder = shutil.copytree(broken, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").write_text(json.dumps({**config, "architectures": architectures}), encoding="utf-8")
    for command in ([], ["explain"], ["--diff"]):
        code, out, err = run(*command, "--no-cache", "m")
        assert "internal error" not in err and code in (0, 1), (command, err)


def test_a_config_json_that_writes_an_eos_but_no_class_is_a_model_s(tmp_path, run):
    """docs/usage.md: a config.json writing one of the keys a runtime reads (eos_token_id) but no model_type or
    architectures is read as the model's, though AutoConfig cannot load it; one writing none of them (a
    checkpoint's own sizes) is no model folder."""
    write_json(tmp_path / "m" / "config.json", {"eos_token_id": 2})
    code, out, err = run("--format", "concise", "--no-cache", "--baseline", "none", "m")
    assert (code, err) == (0, "") and out.startswith("All checks passed (1 model folder;"), (out, err)
    write_json(tmp_path / "s" / "config.json", {"vocab_size": 10, "num_hidden_layers": 2})
    code, out, err = run("--format", "concise", "--no-cache", "--baseline", "none", "s")
    assert code == 2 and "holds no model folder" in err, (out, err)


@pytest.mark.parametrize(("written", "error"), [
    pytest.param(b'{"eos_\x00token_id": 2}', "1:7: cannot parse JSON: Invalid control character U+0000 in a string",
                 id="control-character"),
    pytest.param(b'{"eos_token_id": 2, "note": "open', "1:29: cannot parse JSON: Unterminated string",
                 id="unterminated-string"),
    pytest.param('{"eos_token_id": 2}'.encode("utf-32"), "1:1: cannot decode UTF-8: invalid byte 0xff: the file starts "
                 "with a UTF-32 byte order mark; save it as UTF-8", id="utf-32"),
    pytest.param(b'{"eos_token_id": 2,\n "x": 12' + b"3" * 5000 + b"}",
                 "2:7: cannot parse JSON: an integer of 5,002 digits, over Python's limit of 4,300", id="long-integer"),
])
def test_an_unreadable_model_file_is_one_clear_line_at_its_place(run, broken, tmp_path, written, error):
    """helper-190: json's "Invalid control character at" and "Unterminated string starting at" ended the line on
    "at" (json puts the place after them, eos-guard before); a UTF-32 file was said to start with a UTF-16 mark;
    nesting too deep was reported at 1:1 wherever it was (now: the bracket where the nesting is deepest, and how
    deep)."""
    (broken / "generation_config.json").write_bytes(written)
    code, out, err = run(str(broken), cwd=tmp_path)
    assert code == 2 and err == f"eos-guard: {broken.name}/generation_config.json:{error}\n", err


def test_json_nested_too_deep_is_placed_where_the_parser_gave_up(run, broken, tmp_path):
    """helper-190: nesting too deep was reported at 1:1 wherever it was; now at the first bracket nested deeper than
    json.loads can parse, with that depth; the scan stops there, so a 94 MiB hostile file is not scanned whole
    (helper-193: 12 s). Brackets in strings do not count."""
    text = '{"eos_token_id": 2,\n "x": "[[[",\n "y": ' + "[" * 100_000 + "]" * 100_000 + "}"  # past 3.13's too
    (broken / "generation_config.json").write_text(text, encoding="utf-8")
    code, _, err = run(str(broken), cwd=tmp_path)
    found = re.fullmatch(r"eos-guard: broken/generation_config.json:3:(\d+): cannot parse JSON: nesting is too deep "
                         r"\(more than ([\d,]+) levels, Python's limit\)\n", err)
    assert code == 2 and found, err
    # the third line opens the top-level object's member "y": its first "[" is at column 7, at depth 2
    assert int(found[1]) == 7 + int(found[2].replace(",", "")) - 1, err


def test_a_number_of_thousands_of_digits_is_shown_by_its_start_and_length(run, broken, tmp_path):
    """helper-190: a 4,000-digit eos_token_id was quoted whole in every message about it (token texts were cut,
    numbers not)."""
    (broken / "generation_config.json").write_text('{"eos_token_id": %s}' % ("9" * 4000), encoding="utf-8")
    code, out, err = run("--format", "concise", str(broken), cwd=tmp_path)
    lines = out.splitlines()
    assert code == 1 and err == "" and max(map(len, lines)) < 400, out
    assert any("id-out-of-range" in line and "99999999999999999999… (4,000 digits)" in line for line in lines), out


def test_small_traps_a_hurried_user_meets_are_explained(run, broken, tmp_path):
    """helper-162's nits: '--sarif -' wrote a file named '-'; a UTF-16 file said only 'invalid byte 0xff'; a TOML
    settings file other than pyproject.toml holding a [tool.eos-guard] table said only "unknown setting 'tool'"."""
    code, _, err = run("--sarif", "-", str(broken), cwd=tmp_path)
    assert code == 2 and "'-' names no file here" in err and "--format" in err and not (tmp_path / "-").exists()
    text = (broken / "generation_config.json").read_text(encoding="utf-8")
    (broken / "generation_config.json").write_bytes(text.encode("utf-16"))
    code, _, err = run(str(broken), cwd=tmp_path)
    assert code == 2 and err.endswith("generation_config.json:1:1: cannot decode UTF-8: invalid byte 0xff: the file "
                                      "starts with a UTF-16 byte order mark; save it as UTF-8\n"), err
    (broken / "generation_config.json").write_text(text, encoding="utf-8")
    (tmp_path / "settings.toml").write_text("[tool.eos-guard]\nselect = ['EOS001']\n", encoding="utf-8")
    code, _, err = run("--config", "settings.toml", str(broken), cwd=tmp_path)
    assert code == 2 and "unknown setting 'tool' (a [tool.eos-guard] table is read from pyproject.toml only; here, " \
                         "write the settings at the top level;" in err, err


def test_a_folder_a_file_stopped_is_not_counted_among_those_that_pass(run, tmp_path):
    """helper-196: beside a folder with a warning, a folder whose tokenizer_config.json is not JSON was counted as
    passing ("2 model folders pass (1 warning); 1 cannot be read" for one that passed): it was not checked."""
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "good")
    shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "warn")
    bad = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "bad")
    (bad / "tokenizer_config.json").write_text("{,}", encoding="utf-8")
    code, out, err = run("--format", "concise", "--select", "EOS017", ".", cwd=tmp_path)
    assert code == 2 and err.startswith("eos-guard: bad/tokenizer_config.json:1:2: cannot parse JSON"), err
    assert out.endswith("\n2 model folders pass (1 warning); --fix changes 1 file in 1 folder; 1 cannot be read.\n")
    code, out, _ = run("--format", "concise", "--select", "EOS017", "warn", "bad", cwd=tmp_path)
    assert out.endswith("\n1 model folder passes (1 warning); --fix changes 1 file in 1 folder; 1 cannot be read.\n")


def test_a_folder_not_read_is_not_counted_as_passing_when_eos018_is_off(run, tmp_path):
    """helper-197: a model folder linked out of the repository is not read (EOS018); with EOS018 off in the
    settings, the run said "All checks passed (2 model folders)" for one folder checked."""
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", repo / "good")
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "outside")
    (repo / "linked").symlink_to(tmp_path / "outside")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, out, _ = run("--ignore", "EOS018", "good", "linked", cwd=repo)
    assert (code, out) == (0, "No findings in 2 model folders; 1 not read (EOS018 is off).\n"), out
    assert run("good", "linked", cwd=repo)[1].endswith("1 of 2 model folders fails (1 error).\n")
