"""eos_guard.github_action, the Python half of action.yml, called directly: a fake environment dict, a real
workspace in tmp_path, and real GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files. tests/test_action.py runs the whole
action under the real `act`."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from eos_guard import github_action
from support import with_own_template
from eos_guard.config import RUNTIME_NAMES
from eos_guard.findings import Severity
from eos_guard.report.escape import printable
from eos_guard.report.github import escape_property

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "examples" / "chatml-finetune-broken"
CLEAN = ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned"


def read_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: ``name<<DELIMITER``, the value's lines, ``DELIMITER``."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines) - 1:
        name, delimiter = lines[i].split("<<")
        end = lines.index(delimiter, i + 1)
        values[name] = "\n".join(lines[i + 1:end])
        i = end + 1
    return values


class Step:
    """One run of the step in a workspace (tmp_path/work) with the runner's files (tmp_path/runner)."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.work = tmp_path / "work"
        self.work.mkdir()
        runner = tmp_path / "runner"
        (runner / "temp").mkdir(parents=True)
        self.output = runner / "output"
        self.summary = runner / "summary.md"
        self.output.touch()
        self.summary.touch()
        self.cache_home = runner / "home-cache"
        self.env = {"GITHUB_OUTPUT": str(self.output), "GITHUB_STEP_SUMMARY": str(self.summary),
                    "RUNNER_TEMP": str(runner / "temp"), "XDG_CACHE_HOME": str(self.cache_home)}
        monkeypatch.chdir(self.work)

    def add(self, source: Path, name: str) -> Path:
        return Path(shutil.copytree(source, self.work / name))

    def __call__(self, command: str = "run", **inputs: str) -> tuple[int, str, dict[str, str]]:
        env = dict(self.env)
        env.update({"EOS_GUARD_" + name.upper(): value for name, value in inputs.items()})
        out = io.StringIO()
        code = github_action.main([command], env, out)
        return code, re.sub(r"check took \d+ ms", "check took N ms", out.getvalue()), read_outputs(self.output)


@pytest.fixture
def step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Step:
    return Step(tmp_path, monkeypatch)


def test_findings_are_annotated_and_every_output_is_set(step: Step) -> None:
    step.add(BROKEN, "broken")
    code, out, outputs = step(paths="broken", sarif_file="reports/nested/eos-guard.sarif")
    assert code == 0  # inside a runner the step ends normally; the action's last step fails with exit-code
    assert outputs == {"findings": "3", "errors": "1", "changed-files": "",
                       "sarif-file": "reports/nested/eos-guard.sarif", "exit-code": "1"}
    lines = out.splitlines()
    assert lines[0] == "Running: eos-guard --format=github --fail-on=error --runtime=transformers -- broken"
    assert [line.split("::")[1] for line in lines[1:4]] == [
        "warning file=broken/config.json,line=6,col=19,endLine=6,endColumn=25,title=EOS003 config-eos-mismatch",
        "error file=broken/generation_config.json,line=3,col=19,endLine=3,endColumn=25,"
        "title=EOS001 terminator-not-stop-id",
        "warning file=broken/generation_config.json,line=3,col=19,endLine=3,endColumn=25,"
        "title=EOS002 tokenizer-eos-not-stop-id"]
    assert lines[4:] == ["1 of 1 model folder fails (1 error, 2 warnings); --fix changes 2 files in 1 folder.",
                         "eos-guard: 3 finding(s), 1 error(s); exit code 1 (check took N ms)"]
    sarif = json.loads((step.work / "reports" / "nested" / "eos-guard.sarif").read_text(encoding="utf-8"))
    assert sorted(r["ruleId"] for r in sarif["runs"][0]["results"]) == ["EOS001", "EOS002", "EOS003"]
    summary = step.summary.read_text(encoding="utf-8")
    assert summary.startswith("## eos-guard\n\n1 of 1 model folder fails (1 error, 2 warnings); --fix changes 2 files in 1 folder.\n")
    assert "| EOS001 | error | ` broken/generation_config.json:3:19 ` |" in summary


def test_a_cache_folder_in_the_checkout_is_not_used_and_the_step_says_so(step: Step,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """helper-184: EOS_GUARD_CACHE_DIR in the workspace, the repository being checked (docs/security.md): not used,
    and a warning annotation says why, with the fix; the findings are the same."""
    import subprocess

    step.add(BROKEN, "broken")
    subprocess.run(["git", "init", "-q", str(step.work)], check=True)
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(step.work / ".eos-guard-cache"))
    code, out, outputs = step(paths="broken")
    warning = next(line for line in out.splitlines() if "EOS_GUARD_CACHE_DIR" in line)
    assert warning.startswith("::warning title=eos-guard::the cache folder EOS_GUARD_CACHE_DIR=") and \
        warning.endswith("set it outside (in a GitHub job, under $RUNNER_TEMP)"), warning
    assert outputs["findings"] == "3" and not (step.work / ".eos-guard-cache").exists()


def test_a_settings_file_that_governs_a_folder_is_a_notice(step: Step) -> None:
    """helper-204: a model folder's own .eos-guard.yaml (one a pull request may add) turns its checks off in the run
    over the repository; the command says so on stderr, and the step's log said nothing. A notice annotation says
    which file sets which folders' settings."""
    step.add(BROKEN, "models/a")
    step.add(BROKEN, "models/b")
    (step.work / "models" / "a" / ".eos-guard.yaml").write_text("select: [EOS009]\n", encoding="utf-8")
    code, out, outputs = step(paths=".")
    assert "::notice title=eos-guard::models/a/.eos-guard.yaml sets the settings of models/a (the nearest settings " \
           "file above a folder applies to it; the run's: none: the defaults)" in out.splitlines(), out
    assert outputs["exit-code"] == "1" and outputs["errors"] == "1" and "models/a/" not in "".join(
        line for line in out.splitlines() if line.startswith("::error file="))


def test_a_clean_folder_passes_without_summary_when_asked(step: Step) -> None:
    step.add(CLEAN, "clean")
    # fail-on in any case, as --fail-on and the settings file take it
    code, out, outputs = step(paths="clean", summary="FALSE", fail_on="Warning", runtimes="transformers, vllm")
    assert code == 0
    assert outputs == {"findings": "0", "errors": "0", "changed-files": "", "sarif-file": "", "exit-code": "0"}
    assert out.splitlines()[0] == "Running: eos-guard --format=github --fail-on=warning " \
                                  "--runtime=transformers,vllm -- clean"
    assert step.summary.read_text(encoding="utf-8") == ""


def test_isolated_reads_no_settings_file_in_the_workspace(step: Step) -> None:
    """docs/action.md: with ``isolated``, a settings file a pull request adds cannot turn the check off."""
    step.add(BROKEN, "broken")
    (step.work / ".eos-guard.yaml").write_text("ignore: [ALL]\n", encoding="utf-8")
    assert step(paths="broken")[2]["findings"] == "0"  # what the settings file asks for
    code, out, outputs = step(paths="broken", isolated="True")
    assert out.splitlines()[0] == "Running: eos-guard --format=github --fail-on=error --runtime=transformers " \
                                  "--isolated -- broken"
    assert (outputs["findings"], outputs["errors"], outputs["exit-code"]) == ("3", "1", "1")


def test_outside_a_runner_the_exit_code_is_the_step_s_own(step: Step) -> None:
    step.add(BROKEN, "broken")
    del step.env["GITHUB_OUTPUT"]
    code, _, _ = step(paths="broken")
    assert code == 1


def test_fix_lists_the_written_files_in_changed_files_and_the_summary(step: Step) -> None:
    step.add(BROKEN, "fixme")
    code, out, outputs = step(paths="fixme", fix="true")
    assert outputs == {"findings": "0", "errors": "0", "sarif-file": "", "exit-code": "0",
                       "changed-files": "fixme/config.json\nfixme/generation_config.json"}
    assert "--fix --exit-zero-even-if-changed -- fixme" in out.splitlines()[0]
    assert "Fixing fixme/generation_config.json\n" in out
    assert step.summary.read_text(encoding="utf-8").endswith(
        "### Files written by `eos-guard --fix`\n\n- ` fixme/config.json `\n- ` fixme/generation_config.json `\n\n")


def test_changed_files_is_one_line_per_written_file_whatever_the_folders_are_named(step: Step) -> None:
    """A pull request's folder named ``evil<LF>.github`` must not make changed-files list a path that was not
    written (``.github/workflows/config.json``, which a later step could add and push): each written file is one
    line, its control characters shown escaped, as docs/action.md says."""
    step.add(BROKEN, "evil\n.github")
    step.add(BROKEN, "bidi\u2028x\u202e")
    code, _, outputs = step(paths=".", fix="true")
    assert outputs["exit-code"] == "0", outputs
    assert sorted(outputs["changed-files"].split("\n")) == [
        "bidi\\u2028x\\u202e/config.json", "bidi\\u2028x\\u202e/generation_config.json",
        "evil\\n.github/config.json", "evil\\n.github/generation_config.json"]
    assert len(outputs["changed-files"].splitlines()) == 4


def run_locked(step: Step, locked: Path, **inputs: str) -> tuple[int, str, dict[str, str]]:
    """The step, run while the folder ``locked`` is immutable (chattr +i, which holds for root too)."""
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this file system")
    try:
        return step(**inputs)
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)


def test_a_fix_that_fails_half_way_still_lists_what_it_wrote(step: Step) -> None:
    """The second folder is immutable: its write fails after the first folder's files were written, and
    changed-files names exactly those."""
    step.add(BROKEN, "a")
    locked = step.add(BROKEN, "b")
    code, out, outputs = run_locked(step, locked, paths="a b", fix="true")
    assert outputs["exit-code"] == "2"
    assert outputs["changed-files"] == "a/config.json\na/generation_config.json"
    assert int(outputs["findings"]) > 0  # the run went on: folder b, not written, still has its findings
    assert re.search(r"^::error file=b/config\.json,.*cannot write|^::error title=eos-guard::b/config\.json: "
                     r"cannot write", out, re.MULTILINE), out
    assert "- ` a/generation_config.json `" in step.summary.read_text(encoding="utf-8")
    assert (BROKEN / "generation_config.json").read_bytes() == (locked / "generation_config.json").read_bytes()


def test_a_write_failure_is_annotated_at_its_file_whatever_the_folder_is_named(step: Step) -> None:
    """A folder named like ``path:line:col: message`` with a terminal control in it: the annotation of the file
    --fix could not write names that file (escaped), not the place the name spells, and no control reaches the log."""
    name = "README.md:99:7: \x1b[2Jevil"
    code, out, outputs = run_locked(step, step.add(BROKEN, name), paths=".", fix="true")
    assert outputs["exit-code"] == "2"
    assert "\x1b" not in out
    failures = [line for line in out.splitlines() if line.startswith("::") and "cannot write" in line]
    assert failures, out
    shown = escape_property(printable(name))
    assert all(line.startswith(f"::error file={shown}/") for line in failures), failures
    assert "file=README.md," not in out


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv without packages (not even pip), as setup-python's Python is: no jinja2, no PyYAML."""
    folder = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return folder / "bin" / "python"


def run_step(step: Step, python: Path, command: str, **inputs: str) -> tuple[int, str, dict[str, str]]:
    """action/main.py as the action's steps run it, with ``python``."""
    env = {**step.env, "PATH": "/usr/bin:/bin"}
    env.update({"EOS_GUARD_" + name.upper(): value for name, value in inputs.items()})
    proc = subprocess.run([str(python), "-I", str(ROOT / "action" / "main.py"), command], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.stderr == ""
    return proc.returncode, proc.stdout, read_outputs(step.output)


def test_without_the_dependencies_a_known_template_is_checked_at_once(step: Step, bare_python: Path) -> None:
    step.add(BROKEN, "broken")
    code, out, outputs = run_step(step, bare_python, "check", paths="broken")
    assert outputs == {"findings": "3", "errors": "1", "changed-files": "", "sarif-file": "", "exit-code": "1"}
    assert "::error file=broken/generation_config.json" in out
    assert not step.cache_home.exists()  # nothing installed, no folder named
    step.output.write_text("", encoding="utf-8")
    code, out, outputs = run_step(step, bare_python, "check", paths="broken", fix="true")  # fixing needs none
    assert outputs == {"findings": "0", "errors": "0", "sarif-file": "", "exit-code": "0",
                       "changed-files": "broken/config.json\nbroken/generation_config.json"}


@pytest.mark.parametrize("fix", ["false", "true"])
def test_a_check_that_needs_a_dependency_stops_without_annotating_or_writing(step: Step, bare_python: Path,
                                                                            fix: str) -> None:
    """A known template first (its folder would be fixed), then one eos-guard has no results for: the check asks
    for the dependencies before it has annotated, summarised or written anything."""
    first = step.add(BROKEN, "a")
    with_own_template(step.add(CLEAN, "b"))
    before = {path: path.read_bytes() for path in first.iterdir()}
    code, out, outputs = run_step(step, bare_python, "check", paths="a b", fix=fix, sarif_file="eos-guard.sarif")
    key = outputs.get("cache-key", "")
    version = ".".join(map(str, sys.version_info[:3]))
    assert re.fullmatch(rf"eos-guard-deps-{sys.platform}-[a-z0-9_]+-cpython{version}[a-z]*-[0-9a-f]{{16}}", key), key
    assert (code, outputs) == (0, {"python": str(bare_python), "cache-key": key, "needs-dependencies": "true",
                                   "deps": str(step.cache_home / "eos-guard-action" / key)})
    running, message = out.splitlines()
    assert running.startswith("Running: eos-guard ")
    assert message == ("eos-guard: b/tokenizer_config.json: the chat template is not one eos-guard ships results "
                       "for; rendering it needs jinja2: the next step installs eos-guard's dependencies and checks "
                       "again")
    assert step.summary.read_text(encoding="utf-8") == "" and not (step.work / "eos-guard.sarif").exists()
    assert {path: path.read_bytes() for path in first.iterdir()} == before
    assert not step.cache_home.exists()  # named, not made: check-with-dependencies.sh installs into it


def test_a_settings_file_needs_pyyaml(step: Step, bare_python: Path) -> None:
    step.add(CLEAN, "clean")
    (step.work / ".eos-guard.yaml").write_text("fail-on: warning\n", encoding="utf-8")
    code, out, outputs = run_step(step, bare_python, "check", paths="clean")
    assert outputs["needs-dependencies"] == "true" and "findings" not in outputs
    assert "eos-guard: reading the settings file .eos-guard.yaml needs PyYAML: the next step installs" in out


def test_installed_dependencies_are_used_by_later_checks(step: Step, bare_python: Path) -> None:
    """Once the folder is complete (installed by an earlier use of the action in the job, or restored), the first
    check imports from it and needs no second step. The folder here holds links to this environment's packages."""
    with_own_template(step.add(CLEAN, "own"))
    _, _, outputs = run_step(step, bare_python, "check", paths="own")
    deps = Path(outputs["deps"])
    deps.mkdir(parents=True)
    for name in ("jinja2", "markupsafe", "yaml"):
        module = __import__(name)
        (deps / name).symlink_to(Path(module.__file__).parent)
    (deps / github_action.COMPLETE).touch()
    step.output.write_text("", encoding="utf-8")
    code, out, outputs = run_step(step, bare_python, "check", paths="own")
    assert code == 0 and outputs == {"findings": "0", "errors": "0", "changed-files": "", "sarif-file": "",
                                     "exit-code": "0"}
    step.output.write_text("", encoding="utf-8")
    code, out, outputs = run_step(step, bare_python, "run", paths="own", deps=str(deps))
    assert (code, outputs["exit-code"]) == (0, "0")


@pytest.mark.parametrize("xdg, home", [(".cache", "/home/runner"), ("", "."), ("", "relative/home"),
                                       ("cache", "")])
def test_the_dependency_folder_is_never_in_the_workspace(step: Step, bare_python: Path, xdg: str, home: str) -> None:
    """helper-176: a relative XDG_CACHE_HOME (or HOME) named the dependency folder inside the workspace, the pull
    request's checkout: a planted ``.eos-guard-complete`` there would put the pull request's own jinja2 on
    sys.path. A relative XDG_CACHE_HOME is ignored (the XDG specification), and without an absolute home the
    folder is a new private one; the check that needs jinja2 never imports anything from the workspace."""
    key = github_action.cache_key()
    planted = step.work / xdg / "eos-guard-action" / key if xdg else step.work / ".cache" / "eos-guard-action" / key
    planted.mkdir(parents=True)
    (planted / github_action.COMPLETE).touch()
    (planted / "jinja2").mkdir()
    (planted / "jinja2" / "__init__.py").write_text("raise SystemExit('PWNED')\n", encoding="utf-8")
    with_own_template(step.add(CLEAN, "own"))
    step.env = {**step.env, "XDG_CACHE_HOME": xdg, "HOME": home}
    folder = github_action.dependency_folder(step.env, key)
    assert os.path.isabs(folder) and not Path(folder).resolve().is_relative_to(step.work.resolve()), folder
    code, out, outputs = run_step(step, bare_python, "check", paths="own")
    assert "PWNED" not in out and os.path.isabs(outputs["deps"]), out
    assert not Path(outputs["deps"]).resolve().is_relative_to(step.work.resolve())


def test_a_dependency_too_old_is_never_imported(step: Step, tmp_path: Path) -> None:
    """An interpreter whose jinja2 is older than action/requirements.txt asks (3.0.0 has sandbox escapes 3.1.6
    fixed): the first check treats it as missing. The stand-in package records it if it is ever imported."""
    venv = tmp_path / "old-jinja2"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    [site] = venv.glob("lib/python3*/site-packages")
    (site / "jinja2").mkdir()
    marker = tmp_path / "imported"
    (site / "jinja2" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    (site / "markupsafe").mkdir()  # which jinja2 needs: present, so that only the version can keep jinja2 out
    (site / "markupsafe" / "__init__.py").write_text("", encoding="utf-8")
    (site / "Jinja2-3.0.0.dist-info").mkdir()
    (site / "Jinja2-3.0.0.dist-info" / "METADATA").write_text("Name: Jinja2\nVersion: 3.0.0\n", encoding="utf-8")
    with_own_template(step.add(CLEAN, "own"))
    step.add(BROKEN, "known")
    python = venv / "bin" / "python"
    code, out, outputs = run_step(step, python, "check", paths="known")
    assert outputs["exit-code"] == "1" and "needs-dependencies" not in outputs
    step.output.write_text("", encoding="utf-8")
    code, out, outputs = run_step(step, python, "check", paths="own")
    assert outputs["needs-dependencies"] == "true" and "rendering it needs jinja2: the next step installs" in out
    assert not marker.exists()


def test_a_folder_name_cannot_forge_a_workflow_command_when_asking_for_dependencies(step: Step,
                                                                                    bare_python: Path) -> None:
    with_own_template(step.add(CLEAN, "m\n::error::forged"))
    code, out, outputs = run_step(step, bare_python, "check", paths=".")
    assert outputs["needs-dependencies"] == "true"
    assert "m\\n::error::forged/tokenizer_config.json: the chat template" in out
    assert not [line for line in out.splitlines() if line.startswith("::")], out


def test_a_missing_dependency_is_an_error_when_nothing_will_install_it(step: Step, bare_python: Path) -> None:
    """The second step (its folder lacks them, say a broken install) and a run outside a runner never ask again."""
    with_own_template(step.add(CLEAN, "own"))
    empty = step.work.parent / "empty"
    empty.mkdir()
    code, out, outputs = run_step(step, bare_python, "run", paths="own", deps=str(empty))
    assert (code, outputs["exit-code"]) == (0, "2") and "needs-dependencies" not in outputs
    assert ("::error title=eos-guard::own/tokenizer_config.json: the chat template is not one eos-guard ships "
            "results for; rendering it needs jinja2, which is not installed (pip install jinja2)") in out
    del step.env["GITHUB_OUTPUT"]
    code, out, _ = run_step(step, bare_python, "check", paths="own")
    assert code == 2 and "needs jinja2, which is not installed" in out


def test_an_unreadable_file_is_annotated_at_its_place(step: Step) -> None:
    folder = step.add(CLEAN, "clean")
    (folder / "generation_config.json").write_text('{"eos_token_id": [1,\n', encoding="utf-8")
    code, out, outputs = step(paths="clean")
    assert outputs["exit-code"] == "2"
    [error] = [line for line in out.splitlines() if line.startswith("::error ")]
    assert error.startswith("::error file=clean/generation_config.json,line=")


def test_a_sarif_file_that_cannot_be_written_is_an_error(step: Step) -> None:
    step.add(CLEAN, "clean")
    (step.work / "blocker").write_text("a file, not a folder", encoding="utf-8")
    code, out, outputs = step(paths="clean", sarif_file="blocker/eos-guard.sarif")
    assert outputs["exit-code"] == "2" and outputs["sarif-file"] == ""
    assert "::error title=eos-guard::sarif-file: cannot write 'blocker/eos-guard.sarif'" in out


@pytest.mark.parametrize("fix", ["true", "false"])
def test_a_sarif_file_that_is_a_file_the_run_checks_is_refused_before_anything_is_written(step: Step, fix) -> None:
    """helper-197: with fix: true and sarif-file: m/config.json, the step wrote the fix, then replaced config.json
    with the SARIF report, exit 0, and changed-files listed it for a later step to commit. As the CLI's --sarif, it is
    refused once the folder is read, before a fix is written."""
    folder = step.add(BROKEN, "m")
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    code, out, outputs = step(paths="m", fix=fix, sarif_file="m/config.json")
    assert outputs["exit-code"] == "2" and outputs["sarif-file"] == "" and outputs["changed-files"] == "", outputs
    assert "::error file=m/config.json,title=eos-guard::m/config.json: cannot write the sarif-file: it is a file this " \
           "run checks" in out, out
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


def test_the_runtimes_input_is_read_in_any_case(step: Step) -> None:
    """helper-197: --runtime and the settings file read 'vLLM'; the Action's input refused it, with no hint for
    'llamacpp'."""
    step.add(CLEAN, "clean")
    code, out, outputs = step(paths="clean", runtimes="vLLM, TGI")
    assert outputs["exit-code"] == "0" and "--runtime=vllm,tgi" in out.splitlines()[0], out
    code, out, outputs = step(paths="clean", runtimes="llamacpp")
    assert "runtimes: 'llamacpp' is not one of " in out and "(did you mean llama.cpp?)" in out, out


def test_a_sarif_file_a_pull_request_links_out_of_the_workspace_is_not_written(step: Step, tmp_path: Path) -> None:
    """helper-114: the sample workflow writes eos-guard-results/eos-guard.sarif inside the checkout, so a pull request
    can commit that folder as a link to the runner's home: the step overwrote (or created) a file there. The
    workspace is a git work tree; the path leads out of it, so it is refused, and its folders are not created."""
    step.add(CLEAN, "clean")
    (step.work / ".git").mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "eos-guard.sarif").write_text("precious", encoding="utf-8")
    (step.work / "eos-guard-results").symlink_to(home)
    code, out, outputs = step(paths="clean", sarif_file="eos-guard-results/eos-guard.sarif")
    assert outputs["exit-code"] == "2" and outputs["sarif-file"] == ""
    assert "::error title=eos-guard::sarif-file: cannot write 'eos-guard-results/eos-guard.sarif': it lies under a " \
           "symbolic link that leads outside " in out, out
    assert (home / "eos-guard.sarif").read_text(encoding="utf-8") == "precious"
    code, out, outputs = step(paths="clean", sarif_file="eos-guard-results/new/eos-guard.sarif")
    assert outputs["exit-code"] == "2" and not (home / "new").exists()
    # a checkout made without git (actions/checkout's REST fallback) has no .git: the workspace bounds it
    (step.work / ".git").rmdir()
    step.env["GITHUB_WORKSPACE"] = str(step.work)
    code, out, outputs = step(paths="clean", sarif_file="eos-guard-results/eos-guard.sarif")
    assert outputs["exit-code"] == "2" and (home / "eos-guard.sarif").read_text(encoding="utf-8") == "precious"


def test_the_pull_request_base_is_the_baseline_only_when_it_was_fetched(step: Step) -> None:
    step.add(CLEAN, "clean")
    step.env["GITHUB_BASE_REF"] = "main"
    code, out, outputs = step(paths="clean")
    assert "eos-guard: refs/remotes/origin/main is not in the checkout (fetch-depth: 0 fetches it); EOS015 " \
           "compares with HEAD" in out
    assert "--baseline" not in out.splitlines()[0]


INVALID = [
    pytest.param({"fail_on": "$(touch pwned)"}, "fail-on: '$(touch pwned)' is not one of error, warning, info, never",
                 id="fail-on"),
    pytest.param({"runtimes": 'vllm,"; touch pwned; id; "'},
                 "runtimes: '\";' is not one of transformers vllm sglang tgi mlx-lm llama.cpp ollama onnxruntime-genai all",
                 id="runtimes"),
    pytest.param({"fix": "`touch pwned`"}, "fix: '`touch pwned`' is not true or false", id="fix"),
    pytest.param({"summary": "yes"}, "summary: 'yes' is not true or false", id="summary"),
    pytest.param({"config": "eos-guard.yaml\n::warning::injected"},
                 "config: the value contains a newline or another control character", id="config-newline"),
    pytest.param({"config": "missing.yaml"}, "config: 'missing.yaml' is not a file (in ", id="config-missing"),
    pytest.param({"isolated": "1"}, "isolated: '1' is not true or false", id="isolated"),
    pytest.param({"isolated": "true", "config": "broken/config.json"},
                 "isolated: true reads no settings file, so config must be empty", id="isolated-and-config"),
    pytest.param({"paths": "--fix broken"}, "paths: '--fix' begins with '-' and would be read as an option",
                 id="paths-option"),
    pytest.param({"paths": "broken\x1b[31m"}, "paths: the value contains a newline or another control character",
                 id="paths-control"),
    pytest.param({"paths": "$(touch pwned)"}, "paths: '$(touch' does not exist (in ", id="paths-missing"),
    # docs/action.md: wildcards are not expanded
    pytest.param({"paths": "brok*"}, "paths: 'brok*' does not exist (in ", id="paths-wildcard"),
    pytest.param({"sarif_file": "--help"}, "sarif-file: '--help' begins with '-' and would be read as an option",
                 id="sarif-option"),
]


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize(("inputs", "message"), INVALID)
def test_an_invalid_input_stops_the_step_before_anything_runs(step: Step, command: str, inputs: dict[str, str],
                                                              message: str) -> None:
    step.add(BROKEN, "broken")
    before = (step.work / "broken" / "generation_config.json").read_bytes()
    code, out, outputs = step(command, **{"paths": "broken", **inputs})
    errors = [line for line in out.splitlines() if line.startswith("::")]
    assert errors[0].startswith("::error title=eos-guard input::" + message), out
    assert all(line.startswith("::error title=eos-guard input::") for line in errors), out
    assert outputs == {"findings": "", "errors": "", "changed-files": "", "sarif-file": "", "exit-code": "2"}
    assert "Running:" not in out
    assert (step.work / "broken" / "generation_config.json").read_bytes() == before
    assert list(Path(step.env["RUNNER_TEMP"]).iterdir()) == [] and not step.cache_home.exists()
    assert not list(step.work.rglob("pwned"))


@pytest.mark.parametrize("python", ["no-such-python", "-c"])
def test_an_invalid_python_input_is_a_usage_error_too(step: Step, python: str) -> None:
    """docs/action.md: an invalid input sets ``exit-code`` to 2, the usage errors' code; the interpreter is the one
    input the shell step checks itself (action/check.sh), before any Python runs."""
    proc = subprocess.run(["bash", str(ROOT / "action" / "check.sh")], capture_output=True, text=True, timeout=60,
                          env={**step.env, "PATH": os.environ["PATH"], "EOS_GUARD_PYTHON": python,
                               "GITHUB_ACTION_PATH": str(ROOT)})
    assert proc.returncode == 0 and proc.stdout.startswith("::error title=eos-guard input::python: "), proc
    assert step.output.read_text(encoding="utf-8") == "exit-code=2\n"


def test_a_failed_install_of_the_dependencies_is_exit_code_2_and_leaves_no_folder(step: Step,
                                                                                  tmp_path: Path) -> None:
    """docs/action.md: a failed install of the dependencies sets ``exit-code`` to 2 (action/check-with-dependencies.sh),
    and nothing is left for actions/cache to save. pip is pointed at an index that refuses connections, and reads no
    configuration file (this machine's names local package folders)."""
    deps = tmp_path / "runner" / "home-cache" / "eos-guard-action" / "deps"
    proc = subprocess.run(["bash", str(ROOT / "action" / "check-with-dependencies.sh")], capture_output=True,
                          text=True, timeout=300,
                          env={**step.env, "PATH": os.environ["PATH"], "EOS_GUARD_INTERPRETER": sys.executable,
                               "GITHUB_ACTION_PATH": str(ROOT), "EOS_GUARD_DEPS": str(deps),
                               "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
                               "PIP_RETRIES": "0", "PIP_TIMEOUT": "2"})
    assert proc.returncode == 0, proc
    assert "::error title=eos-guard::pip could not install eos-guard's dependencies" in proc.stdout, proc
    assert step.output.read_text(encoding="utf-8") == "exit-code=2\n"
    assert not deps.parent.exists() or list(deps.parent.iterdir()) == []


def test_every_invalid_input_is_reported_at_once(step: Step) -> None:
    _, out, _ = step("check", paths="missing", fix="maybe", fail_on="fatal")
    assert [line.split("::")[2].split(":")[0] for line in out.splitlines() if line.startswith("::")] == [
        "paths", "fix", "fail-on"]


def test_the_accepted_values_are_the_registries() -> None:
    assert github_action.RUNTIME_VALUES == (*RUNTIME_NAMES, "all")
    assert github_action.FAIL_ON_VALUES == ("error", "warning", "info", "never")
    assert set(github_action.FAIL_ON_VALUES) - {"never"} == {str(s) for s in Severity}


def test_check_uses_the_interpreter_s_own_dependencies(step: Step) -> None:
    step.add(CLEAN, "clean")
    code, out, outputs = step("check", paths="clean")
    assert code == 0 and outputs == {"findings": "0", "errors": "0", "changed-files": "", "sarif-file": "",
                                     "exit-code": "0"}
    assert out.startswith(f"eos-guard: {sys.executable} already has jinja2 and PyYAML; nothing to install\n")


def test_the_cache_key_changes_with_the_dependency_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "requirements.txt"
    spec.write_bytes(github_action.REQUIREMENTS.read_bytes())
    monkeypatch.setattr(github_action, "REQUIREMENTS", spec)
    before = github_action.cache_key()
    spec.write_text(spec.read_text(encoding="utf-8").replace("jinja2>=3.1.6", "jinja2>=3.2"), encoding="utf-8")
    assert github_action.cache_key() != before
    assert github_action.requirements()[0] == ("jinja2", (3, 2), True)


def test_installed_versions_are_those_importlib_metadata_gives() -> None:
    """The action reads versions without importlib.metadata (its imports cost more than validating the inputs):
    for every distribution installed here, and for names spelt otherwise or missing, the same answer."""
    from importlib import metadata

    names = {dist.metadata["Name"] for dist in metadata.distributions()}
    assert {"Jinja2", "PyYAML", "MarkupSafe"} <= names
    spelt_otherwise = {n.upper() for n in names} | {n.replace("-", ".") for n in names} | {"no-such-dist", "py_yaml"}
    for name in sorted(names | spelt_otherwise):
        try:
            expected = metadata.version(name)
        except metadata.PackageNotFoundError:
            expected = None
        assert github_action.installed_version(name) == expected, name


def test_installed_versions_follow_sys_path_order_and_metadata_files(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Made-up site folders: the first on sys.path wins, the METADATA header is read (not the folder's name),
    PKG-INFO for an egg-info folder, the file itself for an egg-info file; the same as importlib.metadata."""
    from importlib import metadata

    first, second = tmp_path / "first", tmp_path / "second"
    (first / "Jinja2-9.9.9.dist-info").mkdir(parents=True)
    (first / "Jinja2-9.9.9.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: Jinja2\n"
                                                                "Version: 3.0.0\n\nVersion: 7\n")
    (second / "jinja2-3.1.6.dist-info").mkdir(parents=True)
    (second / "jinja2-3.1.6.dist-info" / "METADATA").write_text("Name: jinja2\nVersion: 3.1.6\n")
    (second / "PyYAML-6.0.egg-info").mkdir()
    (second / "PyYAML-6.0.egg-info" / "PKG-INFO").write_text("Name: PyYAML\nVersion: 6.0\n")
    (second / "tomli-2.0.1-py3.11.egg-info").write_text("Name: tomli\nVersion: 2.0.1\n")
    (second / "empty_dist-1.0.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(first), str(second)])
    for name in ("jinja2", "pyyaml", "tomli", "empty-dist", "markupsafe"):
        with warnings.catch_warnings():  # a dist without a Version: None, deprecated since Python 3.13 for a KeyError
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                expected = metadata.version(name)
            except (metadata.PackageNotFoundError, KeyError):
                expected = None
        assert github_action.installed_version(name) == expected, name
    assert github_action.installed_version("jinja2") == "3.0.0"  # the first on sys.path, its header
    assert github_action.unusable_dependencies() == ["jinja2"]  # 3.0.0 is below the 3.1.6 the action asks for


def test_the_action_requirements_are_pyproject_s_dependencies() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [line for line in github_action.REQUIREMENTS.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    assert lines == project["dependencies"]
    assert {name for name, _, _ in github_action.requirements()} == {"jinja2", "pyyaml", "tomli"}


def test_outputs_use_a_delimiter_the_value_does_not_contain(tmp_path: Path) -> None:
    path = tmp_path / "output"
    outputs = github_action.Outputs({"GITHUB_OUTPUT": str(path)})
    outputs.set({"changed-files": "a\nEOS_GUARD_\nb<<c", "exit-code": "0"})
    assert read_outputs(path) == {"changed-files": "a\nEOS_GUARD_\nb<<c", "exit-code": "0"}


def test_the_steps_run_python_in_utf8_mode_and_annotate_a_non_ascii_path_in_utf8(step: Step) -> None:
    """docs/action.md: both shell steps start Python as ``-I -X utf8``, so the workflow commands are written in
    UTF-8 whatever the runner's locale; here in the C locale, with a folder named ``modèle-日本``."""
    import re

    for script in ("check.sh", "check-with-dependencies.sh"):
        text = (ROOT / "action" / script).read_text(encoding="utf-8")
        assert re.search(r'exec "\$\{?python\}?" -I -X utf8 "[^"]*action/main\.py"', text), script
    step.add(BROKEN, "modèle-日本")
    env = {**step.env, "PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C", "EOS_GUARD_PATHS": "modèle-日本"}
    env.pop("PYTHONIOENCODING", None)
    proc = subprocess.run([sys.executable, "-I", "-X", "utf8", str(ROOT / "action" / "main.py"), "check"], env=env,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0 and b"::error file=mod\xc3\xa8le-\xe6\x97\xa5\xe6\x9c\xac/generation_config.json" \
        in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_the_documented_cache_key_is_one_this_action_makes() -> None:
    """docs/action.md's example key ends with the hash of today's action/requirements.txt (it kept the hash of an
    older one), and has the form cache_key() gives."""
    example = re.search(r"for\s+example `(eos-guard-deps-[^`]+)`", (ROOT / "docs" / "action.md").read_text(
        encoding="utf-8")).group(1)
    here = github_action.cache_key()
    assert example.rsplit("-", 1)[1] == here.rsplit("-", 1)[1]
    assert example.count("-") == here.count("-") and example.startswith("eos-guard-deps-linux-x86_64-cpython3.")
