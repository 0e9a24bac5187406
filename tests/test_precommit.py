"""The pre-commit hooks, run by the real pre-commit (`pre-commit try-repo`) on a git repository made here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import FIXTURES, ROOT

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


@pytest.mark.parametrize("name", [
    "config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
    "added_tokens.json", "tokenizer.json", "chat_template.jinja", "chat_template.json", "processor_config.json",
    "models/llama/config.json", "a/b/additional_chat_templates/tool_use.jinja", "lora/adapter_config.json",
    "embedder/modules.json", "onnx/genai_config.json", "tokenizer.model", "slow/vocab.json", "slow/merges.txt",
    # only there or not, they decide whether chat_template.json is read (AutoProcessor builds a processor)
    "preprocessor_config.json", "vlm/video_preprocessor_config.json",
])
def test_files_regex_matches_model_files(name):
    assert all(re.search(hook["files"], name) for hook in HOOKS)


@pytest.mark.parametrize("name", [
    "my_config.json", "config.json.bak", "config.yaml", "model.safetensors", "tokenizer.model.bak",
    "generation_config.jsonl", "additional_chat_templates/x.txt", "templates/chat_template.jinja2",
    "a/additional_chat_templates/b/c.jinja", "my_preprocessor_config.json", "my_modules.json",
])
def test_files_regex_rejects_other_files(name):
    assert not any(re.search(hook["files"], name) for hook in HOOKS)


def test_hooks_are_serial_python_hooks_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for hook in HOOKS:
        assert hook["language"] == "python" and hook["require_serial"] is True
        assert hook["minimum_pre_commit_version"]
        assert f"id: {hook['id']}" in readme


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def model_repo(tmp_path):
    repo = tmp_path / "models"
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", repo / "broken")
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", repo / "clean",
                    ignore=shutil.ignore_patterns("expected.json"))
    _git(repo.parent, "init", "-q", str(repo))
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "models")
    return repo


def try_repo(repo: Path, home: Path, hook: str, *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("GITHUB_ACTIONS", None)
    args = ["--files", *files] if files else ["--all-files"]
    return subprocess.run([str(PRE_COMMIT), "try-repo", str(ROOT), hook, "--verbose", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed in this environment")
def test_check_hook_fails_on_the_broken_folder_and_passes_on_the_clean_one(model_repo, pre_commit_home):
    proc = try_repo(model_repo, pre_commit_home, "eos-guard")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "broken/generation_config.json:3:19: EOS001" in proc.stdout
    assert "clean/" not in proc.stdout
    clean_files = [str(p.relative_to(model_repo)) for p in (model_repo / "clean").iterdir()]
    proc = try_repo(model_repo, pre_commit_home, "eos-guard", *clean_files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed in this environment")
def test_fix_hook_fixes_then_passes(model_repo, pre_commit_home):
    proc = try_repo(model_repo, pre_commit_home, "eos-guard-fix")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Fixing broken/generation_config.json" in proc.stdout
    assert '"eos_token_id": [151643, 151645]' in (model_repo / "broken" / "generation_config.json").read_text()
    _git(model_repo, "add", ".")
    proc = try_repo(model_repo, pre_commit_home, "eos-guard-fix")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = try_repo(model_repo, pre_commit_home, "eos-guard")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_one_version_in_the_package_and_the_readme_examples():
    import eos_guard

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"rev: v{eos_guard.__version__}" in readme
    major = eos_guard.__version__.split(".")[0]
    # the moving major tag docs/release.md creates, in the README and in docs/action.md
    assert re.findall(r"uses: org/eos-guard@(\S+)", readme) == [f"v{major}"]
    action_doc = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    assert set(re.findall(r"org/eos-guard@(v[^\s=`]*)", action_doc)) == {f"v{major}"}


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed in this environment")
def test_a_matching_file_outside_a_model_folder_does_not_fail_the_hook(model_repo, pre_commit_home):
    # The hook's `files:` matches a lone tokenizer.json too; a PATH that is a file is skipped when it is not in
    # a model folder, so only folder PATHs without model folders are errors (docs/usage.md).
    (model_repo / "stray").mkdir()
    (model_repo / "stray" / "tokenizer.json").write_text('{"added_tokens": []}\n')
    _git(model_repo, "add", ".")
    proc = try_repo(model_repo, pre_commit_home, "eos-guard", "stray/tokenizer.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No model folders found." in proc.stdout


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed in this environment")
@pytest.mark.parametrize("hook", ["eos-guard", "eos-guard-fix"])
@pytest.mark.parametrize("option", ["--sarif=", "--summary=", "--config="])
def test_a_file_named_as_an_option_is_a_path_not_an_option(model_repo, pre_commit_home, tmp_path, hook, option):
    """pre-commit passes file names after the hook's options without "--": a pull request's file named
    ``--sarif=/outside/config.json`` (a folder ``--sarif=``) must not become ``--sarif /outside/config.json``, which
    would overwrite that file outside the repository (docs/security.md)."""
    victim = tmp_path / "outside" / "config.json"
    victim.parent.mkdir()
    victim.write_text('{"precious": true}\n', encoding="utf-8")
    planted = model_repo / f"{option}{victim.parent}" / "config.json"
    planted.parent.mkdir(parents=True)
    planted.write_text('{"model_type": "llama", "eos_token_id": 2}\n', encoding="utf-8")
    shutil.rmtree(model_repo / "broken")
    _git(model_repo, "add", "-A", ".")
    # --all-files: pre-commit's own --files would read the name as an option of pre-commit's
    proc = try_repo(model_repo, pre_commit_home, hook)
    assert victim.read_text(encoding="utf-8") == '{"precious": true}\n'
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a config.json alone: no template, no tokenizer
    assert "All checks passed (2 model folders; 1 names no token that ends an answer: stopping not checked)." in proc.stdout


def test_the_hook_paths_are_the_files_the_hooks_match(tmp_path, monkeypatch):
    """--pre-commit makes an argument that starts with "-" a PATH exactly when it names an existing file the hooks'
    ``files:`` pattern matches; options, and files planted under an option's name, stay options."""
    from eos_guard.cli import _hook_paths

    monkeypatch.chdir(tmp_path)
    names = ["--a=/x/config.json", "--b/additional_chat_templates/t.jinja", "--c/tokenizer.json", "--fix",
             "--d/model.safetensors", "--e/gone/config.json"]
    for name in names[:-1]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    got = _hook_paths(["--pre-commit", "--select", "EOS001", *names])
    assert got == ["--pre-commit", "--select", "EOS001", "./--a=/x/config.json",
                   "./--b/additional_chat_templates/t.jinja", "./--c/tokenizer.json", "--fix",
                   "--d/model.safetensors", "--e/gone/config.json"]
    for name in names[:3]:
        assert all(re.search(hook["files"], name) for hook in HOOKS)
    assert not any(re.search(hook["files"], name) for hook in HOOKS for name in names[3:5])
    # every name the hooks' pattern lists (helper-184: preprocessor_config.json was added to the pattern only, so
    # --config=evil/preprocessor_config.json, a pull request's file, was read as --config)
    listed = re.fullmatch(r"\(\^\|/\)\((.*)\)\$", HOOKS[0]["files"]).group(1).split("|")
    planted = [f"--config=evil/{name.replace(chr(92), '')}" for name in listed if "/" not in name]
    for name in planted:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("ignore: [ALL]\n", encoding="utf-8")
        assert all(re.search(hook["files"], name) for hook in HOOKS)
    assert _hook_paths(["--pre-commit", *planted]) == ["--pre-commit", *(f"./{name}" for name in planted)]
    assert len(planted) == len(listed) - 1  # all but additional_chat_templates/, above


def test_the_hooks_run_on_every_file_a_check_reads_and_the_readme_lists_them():
    """The hooks' ``files`` pattern, the files a Hub check fetches (hub.READ_NAMES, every file a folder check
    reads), and the lists in the README, usage.md and hub.md name the same files: modules.json was read before
    the hooks ran on it."""
    from eos_guard.hub import READ_NAMES, WITHOUT_TOKENIZER_JSON
    from eos_guard.model_files import PROCESSOR_MARKERS, TEMPLATE_DIR

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = readme[readme.index("Both hooks run on the files eos-guard reads"):]
    listed = listed[:listed.index(") and")]
    for hook in HOOKS:
        names = re.fullmatch(r"\(\^\|/\)\((.*)\)\$", hook["files"]).group(1).split("|")
        assert {name.replace("\\", "") for name in names} == {*READ_NAMES, *WITHOUT_TOKENIZER_JSON, *PROCESSOR_MARKERS,
                                                               f"{TEMPLATE_DIR}/[^/]+.jinja"}
    every = {*READ_NAMES, *WITHOUT_TOKENIZER_JSON, *PROCESSOR_MARKERS, f"{TEMPLATE_DIR}/*.jinja"}
    assert {name for name in re.findall(r"`([^`]+)`", listed)} == every
    for page, start in (("usage.md", "Files read in each folder:"), ("hub.md", "\n\n`config.json`")):
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        paragraph = text[text.index(start):].strip().split("\n\n")[0]
        named = set(re.findall(r"`([^`]+\.(?:json|jinja|model|txt))`", paragraph))
        assert named == every, page


# The repository the README's `repo:` names, as a user's pre-commit clones it: the files without git data, local
# build litter or what the hooks never install (tests, fuzzing, benchmarks), committed with no tag.
NOT_IN_THE_HOOK_REPO = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__",
                                              ".pytest_cache", ".hypothesis", "tests", "fuzz", "bench")


# Meta-Llama-3-8B-Instruct at release: generation_config.json stops on <|end_of_text|> only, not <|eot_id|>
LLAMA3_EXTRAS = shutil.ignore_patterns("README.md", "expected.json")


@pytest.fixture
def untagged_hook_repo(tmp_path):
    repo = shutil.copytree(ROOT, tmp_path / "eos-guard", ignore=NOT_IN_THE_HOOK_REPO)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "eos-guard")
    return repo


def _readme_pre_commit_config(hook_repo: Path) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "repos:" in b]
    assert "repo: https://github.com/org/eos-guard\n" in block
    return block.replace("https://github.com/org/eos-guard", hook_repo.as_uri())


def _pre_commit(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run([str(PRE_COMMIT), *args], cwd=repo, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed in this environment")
def test_the_readme_config_works_before_and_after_the_first_release_tag(untagged_hook_repo, tmp_path):
    """The README's .pre-commit-config.yaml, copied as it is, in a repository with a Llama 3 Instruct folder whose
    generation_config.json lacks <|eot_id|>: with no tag in eos-guard's repository `rev: v0.1.0` fails as the
    README says, `pre-commit autoupdate` pins the newest commit, and after the tag it moves to the tag."""
    import eos_guard

    version = eos_guard.__version__
    home, repo = tmp_path / "pre-commit-home", tmp_path / "models"
    shutil.copytree(FIXTURES / "llama3-8b-instruct-release", repo / "llama3", ignore=LLAMA3_EXTRAS)
    (repo / ".pre-commit-config.yaml").write_text(_readme_pre_commit_config(untagged_hook_repo), encoding="utf-8")
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "add", ".")
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())

    proc = _pre_commit(repo, home, "run", "--all-files")
    quoted = f"error: pathspec 'v{version}' did not match any file(s) known to git"
    assert proc.returncode != 0 and quoted in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert f"`pre-commit run` stops with `{quoted}`" in readme

    commit = subprocess.run(["git", "-C", str(untagged_hook_repo), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    def autoupdate_then_run(rev: str) -> None:
        proc = _pre_commit(repo, home, "autoupdate")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"rev: {rev}  #" in (repo / ".pre-commit-config.yaml").read_text(encoding="utf-8")
        _git(repo, "add", ".")
        proc = _pre_commit(repo, home, "run", "--all-files")
        assert proc.returncode == 1 and "llama3/generation_config.json:3:19: EOS001 error: " in proc.stdout, \
            proc.stdout

    autoupdate_then_run(commit)
    _git(untagged_hook_repo, "tag", "-a", f"v{version}", "-m", f"eos-guard {version}")
    autoupdate_then_run(f"v{version}")


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed in this environment")
def test_the_fix_hook_fails_the_commit_with_its_edits_and_the_next_commit_passes(untagged_hook_repo, tmp_path):
    """The README's config with its eos-guard-fix line chosen instead, installed with `pre-commit install`: the
    first `git commit` writes the fix and fails; `git add` and commit again, and it passes."""
    home, repo = tmp_path / "pre-commit-home", tmp_path / "models"
    shutil.copytree(FIXTURES / "llama3-8b-instruct-release", repo / "llama3", ignore=LLAMA3_EXTRAS)
    config = _readme_pre_commit_config(untagged_hook_repo)
    config = config.replace("      - id: eos-guard ", "      # - id: eos-guard ").replace("# - id: eos-guard-fix",
                                                                                         "- id: eos-guard-fix")
    assert "\n      - id: eos-guard-fix" in config and "\n      # - id: eos-guard " in config
    (repo / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "add", ".")
    assert _pre_commit(repo, home, "autoupdate").returncode == 0
    assert _pre_commit(repo, home, "install").returncode == 0
    _git(repo, "add", ".")

    def commit() -> subprocess.CompletedProcess:
        env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
        env.pop("GITHUB_ACTIONS", None)
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-m",
                               "llama3"], cwd=repo, env=env, capture_output=True, text=True, timeout=900)

    proc = commit()  # git shows the hook's output on stderr
    assert proc.returncode == 1 and "files were modified by this hook" in proc.stderr, proc.stdout + proc.stderr
    assert "Fixing llama3/generation_config.json" in proc.stderr
    assert '"eos_token_id": [128001, 128009]' in (repo / "llama3" / "generation_config.json").read_text()
    _git(repo, "add", ".")
    proc = commit()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"eos-guard \(fix\)\.+Passed", proc.stderr), proc.stderr


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed in this environment")
def test_what_the_hooks_cannot_see_a_commit_that_deletes_or_renames(model_repo, pre_commit_home, run):
    """README.md's limits (helper-196): pre-commit passes no deleted file to a hook, so a commit that only deletes
    generation_config.json is not checked by it, while `eos-guard .` reports the ids lost (EOS015); and a folder
    renamed in the commit has no version at the baseline, so a list cut in the same commit is not compared."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home), "PRE_COMMIT_COLOR": "never"}
    env.pop("GITHUB_ACTIONS", None)
    _git(model_repo, "rm", "-q", "clean/generation_config.json")  # staged: what the next commit holds
    proc = subprocess.run([str(PRE_COMMIT), "try-repo", str(ROOT), "eos-guard"], cwd=model_repo, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0 and "(no files to check)Skipped" in proc.stdout, proc.stdout + proc.stderr
    code, out, _ = run("--select", "EOS015", "--format", "concise", "clean", cwd=model_repo)
    assert code == 1 and "generation_config.json, whose eos_token_id was [151645, 151643] at HEAD, is deleted" in out
    _git(model_repo, "reset", "-q", "--hard")
    _git(model_repo, "mv", "clean", "renamed")
    generation = json.loads((model_repo / "renamed" / "generation_config.json").read_text(encoding="utf-8"))
    (model_repo / "renamed" / "generation_config.json").write_text(
        json.dumps({**generation, "eos_token_id": 151645}), encoding="utf-8")
    assert run("--select", "EOS015", "renamed", cwd=model_repo)[0] == 0  # nothing at HEAD to compare with
