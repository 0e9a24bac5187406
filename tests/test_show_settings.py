"""--show-settings: the settings a check takes, from the file discovery finds and the options, as .eos-guard.yaml
lines that read back to the same settings, or as JSON."""

from __future__ import annotations

import json
import shutil

import pytest

from support import RULE_CASES

from eos_guard import config as settings
from eos_guard.config_types import Config
from eos_guard.rules import ALL_RULES

BROKEN = RULE_CASES / "EOS001-terminator-not-stop-id"

SETTINGS = [
    "",  # an empty file: the defaults
    "select: [EOS00, pad-is-terminator]\nignore: EOS003\nfail-on: never\ncache: false\n",
    "per-file-ignores:\n  'models/*/config.json': [EOS003, EOS015]\nseverity: {EOS002: info, pad-is-terminator: error}\n"
    "exclude: [models/old, './models/x/']\n",
    "runtimes: all\nruntime-versions: {mlx-lm: '0.31', llama.cpp: 'b10488'}\ntemplate-timeout: 0.5\n"
    "template-max-output: 5000\nmax-file-size: 0.000001\nmax-config-size: 2.5\n",
    # numbers JSON writes with an exponent, which YAML reads as text (helper-123)
    "template-timeout: 0.00001\nmax-file-size: 0.00001\nmax-config-size: 4095.999999\n",
]


@pytest.fixture
def repo(tmp_path):
    shutil.copytree(BROKEN, tmp_path / "models" / "chat")
    return tmp_path


def _same(a: Config, b: Config) -> None:
    """Every setting alike (the file they came from aside); select as the rules it runs."""
    every = {rule.code for rule in ALL_RULES}
    assert (a.select or every) == (b.select or every)
    for name in ("ignore", "per_file_ignores", "severity", "fail_on", "exclude", "runtimes", "runtime_versions",
                 "max_file_bytes", "max_config_bytes", "limits"):
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize("text", SETTINGS)
def test_the_lines_shown_are_a_settings_file_with_the_same_settings(run, repo, text):
    (repo / ".eos-guard.yaml").write_text(text, encoding="utf-8")
    code, out, err = run("--show-settings", "models/chat", cwd=repo)
    assert (code, err) == (0, ""), err
    assert out.splitlines()[0] == "# settings file: .eos-guard.yaml"
    lines = [line for line in out.splitlines() if not line.startswith("#")]
    assert [line.split(":")[0] for line in lines] == list(settings.KEYS)  # every key, in the documented order
    original = settings.load(None, repo / "models" / "chat")
    (repo / "shown.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _same(settings.load(repo / "shown.yaml", repo), original)
    # and shown again, the same lines
    assert run("--show-settings", "--config", "shown.yaml", "models/chat", cwd=repo)[1].splitlines()[2:] == \
        out.splitlines()[1:]


def test_without_a_settings_file_the_defaults(run, repo):
    code, out, _ = run("--show-settings", "models/chat", cwd=repo)
    assert code == 0 and out.splitlines()[0] == "# settings file: none found (the defaults)"
    shown = dict(line.split(": ", 1) for line in out.splitlines() if not line.startswith("#"))
    assert {key: json.loads(value) for key, value in shown.items()} == settings.as_mapping(Config())
    assert shown["select"] == '["ALL"]' and shown["runtimes"] == '["transformers"]' and shown["max-file-size"] == "100"
    assert out.splitlines()[-1].endswith("(the revision EOS015 compares with, in a git work tree; not a settings key): HEAD")


def test_the_options_apply_over_the_settings_file_and_are_named(run, repo):
    (repo / "pyproject.toml").write_text('[tool.eos-guard]\nignore = ["EOS003"]\nselect = ["EOS0"]\n')
    code, out, _ = run("--show-settings", "--ignore", "EOS002", "--select", "EOS001,EOS002,EOS003", "--runtime",
                       "vllm", "--fail-on", "warning", "--no-cache", "--baseline", "none", "models/chat", cwd=repo)
    lines = out.splitlines()
    assert code == 0 and lines[:2] == ["# settings file: pyproject.toml [tool.eos-guard]",
                                       "# changed by the options: --select, --ignore, --runtime, --fail-on, "
                                       "--no-cache, --baseline"]
    shown = dict(line.split(": ", 1) for line in lines if not line.startswith("#"))
    assert (shown["select"], shown["ignore"]) == ('["EOS001", "EOS002", "EOS003"]', '["EOS002", "EOS003"]')
    assert (shown["runtimes"], shown["fail-on"], shown["cache"]) == ('["vllm"]', '"warning"', "false")
    assert lines[-1].endswith(": none")


def test_json(run, repo):
    (repo / ".eos-guard.yml").write_text("ignore: [EOS003]\n")
    code, out, _ = run("--show-settings", "--format", "json", "--ignore", "EOS002", cwd=repo / "models" / "chat")
    document = json.loads(out)
    assert code == 0 and document == {
        "version": 1, "settings_file": str(repo / ".eos-guard.yml"), "options": ["--ignore"], "baseline": "HEAD",
        "settings": {**settings.as_mapping(Config()), "ignore": ["EOS002", "EOS003"]}}
    assert list(document["settings"]) == list(settings.KEYS)


def test_the_settings_of_the_paths_given(run, repo):
    """Discovery starts where a check of the PATHs starts it: the folder that holds them all."""
    (repo / "models" / "chat" / ".eos-guard.yaml").write_text("ignore: [EOS001]\n")
    shutil.copytree(BROKEN, repo / "models" / "other")
    assert run("--show-settings", "models/chat", cwd=repo)[1].startswith("# settings file: models/chat/.eos-guard")
    assert run("--show-settings", "models/chat", "models/other", cwd=repo)[1].startswith(
        "# settings file: none found")


def test_hostile_strings_are_shown_as_escapes_that_read_back(run, repo):
    """A pattern in a pull request's settings file holds a terminal escape, a bidirectional override and the GitHub
    runner's ##[ command form: the lines show escapes of them, which YAML reads back as the same strings."""
    patterns = ["a\x1b[31mred", "b\u202egnp.exe", "##[error]forged", 'q"uote\\slash', "模型/*"]
    (repo / ".eos-guard.yaml").write_text(json.dumps({"exclude": patterns}), encoding="utf-8")
    code, out, _ = run("--show-settings", "models/chat", cwd=repo)
    assert code == 0 and all(line.isprintable() and "##[" not in line for line in out.splitlines())
    line = next(line for line in out.splitlines() if line.startswith("exclude: "))
    assert "模型/*" in line and "\\u001b" in line and "\\u202e" in line
    (repo / "shown.yaml").write_text(line + "\n", encoding="utf-8")
    assert settings.load(repo / "shown.yaml", repo).exclude == patterns


@pytest.mark.parametrize("args, message", [
    (["--fix"], "--show-settings cannot be combined with --fix"),
    (["--format", "sarif"], "--show-settings cannot be combined with --format sarif"),
    (["--sarif", "out.sarif"], "--show-settings cannot be combined with --sarif"),
    (["--hub-list", "list.txt"], "--show-settings cannot be combined with --hub-list"),
    (["--diff"], "--show-settings cannot be combined with --diff"),
    (["--quiet"], "--show-settings cannot be combined with --quiet"),
])
def test_refused_with_what_it_does_not_do(run, repo, args, message):
    code, out, err = run("--show-settings", *args, "models/chat", cwd=repo)
    assert (code, out) == (2, "") and message in err and not (repo / "out.sarif").exists()


def test_refused_with_explain(run, repo):
    code, _, err = run("explain", "--show-settings", "models/chat", cwd=repo)
    assert code == 2 and "--show-settings cannot be combined with explain" in err


def test_bad_settings_are_the_error_a_check_gives(run, repo):
    (repo / ".eos-guard.yaml").write_text("ignore: [EOS999]\n")
    shown = run("--show-settings", "models/chat", cwd=repo)
    checked = run("models/chat", cwd=repo)
    assert shown[0] == checked[0] == 2 and shown[2] == checked[2] and shown[2].count("\n") == 1
    assert "unknown rule 'EOS999'" in shown[2]


@pytest.mark.parametrize("text, header", [
    ("[tool.other]\nx = 1\n", "# settings file: pyproject.toml (no [tool.eos-guard] table: the defaults)"),
    ('[tool.eos-guard]\nfail-on = "warning"\n', "# settings file: pyproject.toml [tool.eos-guard]"),
])
def test_a_pyproject_given_with_config_is_shown_with_or_without_its_table(run, repo, text, header):
    """helper-144: a pyproject.toml without [tool.eos-guard] given with --config gives the defaults, and the header
    named the table all the same."""
    (repo / "pyproject.toml").write_text(text, encoding="utf-8")
    code, out, err = run("--show-settings", "--config", "pyproject.toml", "models/chat", cwd=repo)
    assert (code, err) == (0, "") and out.splitlines()[:2] == [header, "# changed by the options: --config"], out
    assert ("fail-on: \"warning\"" in out) == ("eos-guard" in text)
