"""Settings files: every number setting rejects NaN, infinities and absurd values; no error message echoes an
expanded YAML alias graph; the loader refuses alias bombs and oversized or non-regular settings files."""

from __future__ import annotations

import os
import re

import pytest

from eos_guard.config import KEYS, MAXIMUM
from support import ROOT

NUMBER_KEYS = [key for key in KEYS if key in MAXIMUM]
BAD_NUMBERS = {".nan": "nan", ".inf": "inf", "-.inf": "-inf", "0": "0", "-1": "-1", "1e400": "inf", "true": "True",
               "'5'": "'5'"}


def check(run, tmp_path, text, name=".eos-guard.yaml"):
    (tmp_path / "m").mkdir(exist_ok=True)
    (tmp_path / "m" / "config.json").write_text('{"eos_token_id": 2}', encoding="utf-8")
    (tmp_path / name).write_text(text, encoding="utf-8")
    return run("--format", "text", "m")


@pytest.mark.parametrize("key", NUMBER_KEYS)
@pytest.mark.parametrize("value", list(BAD_NUMBERS))
def test_number_settings_reject_non_finite_and_non_positive_values(run, tmp_path, key, value):
    code, out, err = check(run, tmp_path, f"{key}: !!float {value}\n" if value == "1e400" else f"{key}: {value}\n")
    assert code == 2 and out == ""
    column = len(key) + 3  # the value's, after "key: "
    assert err.startswith(f"eos-guard: .eos-guard.yaml:1:{column}: {key} must be a positive ") and err.count("\n") == 1


@pytest.mark.parametrize("key", NUMBER_KEYS)
def test_number_settings_reject_absurd_values_and_accept_the_maximum(run, tmp_path, key):
    code, out, err = check(run, tmp_path, f"{key}: {MAXIMUM[key] * 10}\n")
    assert code == 2 and f"of at most {MAXIMUM[key]:,}" in err
    # past a float's range: math.isfinite raised OverflowError, an internal error (helper-193)
    code, out, err = check(run, tmp_path, f"{key}: 1{'0' * 400}\n")
    assert code == 2 and f"of at most {MAXIMUM[key]:,}" in err and err.count("\n") == 1, err
    code, out, err = check(run, tmp_path, f"{key}: {MAXIMUM[key]}\n")
    assert code == 0, err


# Settings whose values are tables: the graph is the value of one of their keys.
TABLE_KEY = {"per-file-ignores": "p", "severity": "EOS001", "runtime-versions": "vllm"}


@pytest.mark.parametrize("key", ["select", "ignore", "runtimes", "fail-on", "per-file-ignores", "exclude", "severity",
                                 "runtime-versions"])
def test_an_expanding_alias_graph_is_never_echoed(run, tmp_path, key):
    """30 anchors that each double the one before: 2**30 leaves if expanded. Every setting's error stays one line."""
    graph = "[" + ", ".join(["&a0 [x, x]"] + [f"&a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 30)]) + "]"
    value = f"{{{TABLE_KEY[key]}: {graph}}}" if key in TABLE_KEY else graph
    code, out, err = check(run, tmp_path, f"{key}: {value}\n")
    assert code == 2 and err.count("\n") == 1 and len(err) < 300, err


def test_no_error_message_quotes_a_settings_value_unshortened():
    """Every value a settings error quotes goes through config.shown (the alias-graph test above runs the ones it
    can reach); a plain repr of a value would expand an alias graph."""
    source = (ROOT / "eos_guard" / "config.py").read_text(encoding="utf-8")
    assert not re.search(r"!r\}|\brepr\(", source.replace("_SHORT.repr(", ""))


def test_more_aliases_than_any_settings_file_needs_are_refused(run, tmp_path):
    text = "a: &a [x]\nselect: [" + ", ".join(["*a"] * 101) + "]\n"
    code, out, err = check(run, tmp_path, text)
    assert code == 2 and "more than 100 aliases" in err and err.count("\n") == 1


@pytest.mark.parametrize("kind", ["fifo", "large", "device"])
def test_a_settings_file_that_is_not_a_small_regular_file_is_an_error(run, tmp_path, kind):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text('{"eos_token_id": 2}', encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    if kind == "fifo":
        os.mkfifo(settings)
    elif kind == "large":
        settings.write_text("# " + "x" * (1024 * 1024) + "\n", encoding="utf-8")
    else:
        settings = "/dev/zero"
    code, out, err = run("--config", str(settings), "m")
    assert code == 2 and err.count("\n") == 1, err


@pytest.mark.parametrize("start, error", [
    pytest.param(b"[tool.ruff]\nline-length = 120\n", None, id="another-tool-s-pyproject"),
    pytest.param(b"[tool.eos-guard]\nfail-on = 'warning'\n", "over the settings-file limit", id="eos-guard-s-pyproject"),
])
def test_a_huge_pyproject_is_never_read_whole(tmp_path, start, error):
    """Discovery looked for "eos-guard" in the whole of every pyproject.toml above the path: a 600 MB one cost
    600 MB, a 3 GB one ended in MemoryError. Only its start is read now; a 2 GiB (sparse) file is checked past
    in a process that may not map 1 GiB, and one that names eos-guard is refused as an oversized settings file."""
    import subprocess
    import sys

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text('{"eos_token_id": 2}', encoding="utf-8")
    with open(tmp_path / "pyproject.toml", "wb") as handle:
        handle.write(start)
        handle.truncate(2 << 30)
    script = ("import resource, sys\nresource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
              "from eos_guard.cli import main\nsys.exit(main(['--no-cache', 'm']))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    if error is None:
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    else:
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith("eos-guard: pyproject.toml: the settings file is 2,147,483,648 bytes, ")
        assert error in proc.stderr


BLOCK_NESTED = "".join(" " * depth + "a:\n" for depth in range(1000))  # YAML nested by indentation alone


@pytest.mark.parametrize(("name", "text", "message"), [
    pytest.param(".eos-guard.yaml", "template-max-output: 1" + "0" * 5000 + "\n",
                 "1:22: cannot parse YAML: an integer of 5,001 digits, over Python's limit of 4,300", id="yaml-huge-int"),
    pytest.param(".eos-guard.yaml", "select: " + "[" * 5000 + "]" * 5000 + "\n",
                 "1:5008: cannot parse YAML: values nested too deeply", id="yaml-deep"),
    pytest.param(".eos-guard.yaml", "# [[[[\nselect: ['[[', \"[[\"]\nx: " + "{a: " * 900 + "1" + "}" * 900 + "\n",
                 "3:3600: cannot parse YAML: values nested too deeply", id="yaml-deep-after-brackets-in-text"),
    pytest.param(".eos-guard.yaml", BLOCK_NESTED, "1000:1000: cannot parse YAML: values nested too deeply",
                 id="yaml-deep-by-indentation"),
    pytest.param("pyproject.toml", "[tool.eos-guard]\ntemplate-max-output = 1" + "0" * 5000 + "\n",
                 "2:23: cannot parse TOML: an integer of 5,001 digits, over Python's limit of 4,300", id="toml-huge-int"),
    pytest.param("pyproject.toml", "[tool.eos-guard]\ntemplate-max-output = 1" + "_000" * 1500 + "\n",
                 "2:23: cannot parse TOML: an integer of 4,501 digits, over Python's limit of 4,300",
                 id="toml-huge-int-grouped"),
    pytest.param("pyproject.toml", "[tool.other]\nx = " + "[" * 5000 + "]" * 5000 + "\n[tool.eos-guard]\n",
                 "2:5004: cannot parse TOML: values nested too deeply", id="toml-deep-in-another-table"),
    # helper-193: digits in a comment or a string, and brackets in a multi-line string or a block scalar, are text
    pytest.param(".eos-guard.yaml", "# run " + "1" * 5000 + "\ntemplate-max-output: 1" + "0" * 5000 + "\n",
                 "2:22: cannot parse YAML: an integer of 5,001 digits, over Python's limit of 4,300",
                 id="yaml-huge-int-after-a-comment-of-digits"),
    pytest.param("pyproject.toml", '[tool.eos-guard]\nid = "' + "9" * 5000 + '"\ntemplate-max-output = 1' + "0" * 5000
                 + "\n", "3:23: cannot parse TOML: an integer of 5,001 digits, over Python's limit of 4,300",
                 id="toml-huge-int-after-a-string-of-digits"),
    pytest.param("pyproject.toml", '[tool.other]\ns = """\n' + "[" * 900 + '\n"""\nx = ' + "[" * 600 + "]" * 600
                 + "\n[tool.eos-guard]\n",
                 "5:604: cannot parse TOML: values nested too deeply", id="toml-brackets-in-a-multi-line-string"),
    pytest.param(".eos-guard.yaml", 'note: "[[[[\n  ]]"\nselect: ' + "[" * 600 + "]" * 600 + "\n",
                 "3:608: cannot parse YAML: values nested too deeply", id="yaml-brackets-in-a-string-over-lines"),
    pytest.param(".eos-guard.yaml", "exclude: 2024-13-45\n", "1:10: cannot parse YAML: '2024-13-45' reads as a date, "
                 "and is none ('month must be in 1..12'): quote it to write text", id="yaml-date-that-is-none"),
])
def test_a_settings_file_beyond_pythons_limits_is_one_error_line(run, tmp_path, name, text, message):
    """An integer past Python's int-string limit or nesting past its recursion limit: the settings file's error
    (one line naming it, exit 2), not an internal error, at the line and column of the value it is about (the
    integer; the bracket, or for YAML nested by indentation the line, where the nesting is deepest), as every
    settings error is (helper-190: they had no place)."""
    code, out, err = check(run, tmp_path, text, name)
    assert code == 2 and out == "" and err == f"eos-guard: {name}:{message}\n", err


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("fail-on: error\nfail-on: never\n", ".eos-guard.yaml:2:1: cannot parse YAML: the key 'fail-on' is "
                 "written twice", id="top-level"),
    pytest.param("per-file-ignores:\n  'm/*': [EOS001]\n  m/*: [EOS002]\n", ".eos-guard.yaml:3:3: cannot parse YAML: "
                 "the key 'm/*' is written twice", id="nested-spelled-otherwise"),
])
def test_a_settings_key_written_twice_is_an_error(run, tmp_path, text, message):
    """PyYAML keeps the last of a repeated key: a second 'fail-on: never' turned the check off unseen. As
    yamllint's key-duplicates, it is an error (TOML refuses a repeated key itself)."""
    code, out, err = check(run, tmp_path, text, ".eos-guard.yaml")
    assert (code, out, err) == (2, "", f"eos-guard: {message}\n")


def test_a_merge_key_may_be_overridden(run, tmp_path):
    """YAML's merge key ('<<') is no repeated key: the mapping's own value overrides the merged one."""
    code, out, err = check(run, tmp_path, "severity: &base {EOS002: error}\nper-file-ignores: {'m/*': [EOS001]}\n"
                           "x-unused: {<<: *base, EOS002: info}\n", ".eos-guard.yaml")
    assert code == 2 and "unknown setting 'x-unused'" in err  # parsed: only the unknown key is refused


@pytest.mark.parametrize(("name", "text"), [
    pytest.param(".eos-guard.yaml", "max-file-size: 0.0000001\n", id="yaml-max-file-size"),
    pytest.param(".eos-guard.yaml", "max-config-size: 0.0000009\n", id="yaml-max-config-size"),
    pytest.param("pyproject.toml", "[tool.eos-guard]\nmax-file-size = 5e-324\n", id="toml-subnormal"),
])
def test_a_size_limit_under_one_byte_is_refused(run, tmp_path, name, text):
    """A positive size in MiB below 1/1,048,576 is a limit of 0 bytes: every model file was then 'over the
    max-file-size limit of 0; not read' (EOS018 on each), a run that reads nothing."""
    code, out, err = check(run, tmp_path, text, name)
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.endswith(": that is less than one byte, so no file would be read\n"), err


@pytest.mark.parametrize(("name", "text", "place"), [
    pytest.param(".eos-guard.yaml", "select: []\n", "1:9", id="yaml-empty-list"),
    pytest.param(".eos-guard.yaml", "fail-on: error\nselect: ''\n", "2:9", id="yaml-empty-string"),
    pytest.param("pyproject.toml", "[tool.eos-guard]\nselect = []\n", "2:10", id="toml-empty-list"),
])
def test_a_select_that_names_no_rule_is_refused(run, tmp_path, name, text, place):
    """``select: []`` turned every rule off and the run said 'All checks passed', where ``--select ""`` was refused: a
    settings file (a pull request's, say) that selects nothing checks nothing, silently."""
    code, out, err = check(run, tmp_path, text, name)
    assert (code, out) == (2, "") and err == f"eos-guard: {name}:{place}: select names no rule, which would turn " \
        "every rule off (list rule codes, or remove the key to check every rule)\n", err


# Every settings error names the line and column of the value it is about (of the entry, in a mapping), as JSON
# and YAML syntax errors do; before, only syntax errors had a place.
PLACED = [
    (".eos-guard.yaml", "fail-on: warning\nselect: [EOS001, EOS99]\n", "2:9: select: unknown rule 'EOS99'"),
    (".eos-guard.yaml", "per-file-ignores:\n  'a/*': [EOS001]\n  'b/*': 7\n",
     "3:10: per-file-ignores 'b/*' must be a list of rule codes"),
    (".eos-guard.yaml", "severity:\n  EOS001: error\n  EOS002: loud\n",
     "3:11: severity 'EOS002': 'loud' is not one of error, warning, info"),
    (".eos-guard.yaml", "runtime-versions: {vllm: '0.31', mlx-lm: 0.3}\n",
     "1:42: runtime-versions: mlx-lm: the version must be a quoted string"),
    (".eos-guard.yaml", "cache: false\nexclude: 7\n", "2:10: exclude must be a list of path patterns"),
    (".eos-guard.yaml", "fail-on: warning\n\nfail_on: never\n", "3:1: unknown setting 'fail_on'"),
    # two misspelt keys: the first in the file is named, not the first in sorted order
    (".eos-guard.yaml", "selct: [EOS001]\nruntime: [vllm]\n", "1:1: unknown setting 'selct' (did you mean 'select'?"),
    (".eos-guard.yaml", "- fail-on: never\n", "1:1: the eos-guard settings must be a mapping"),
    ("pyproject.toml", "[tool.eos-guard]\nfail-on = 'warning'\ncache = 'no'\n", "3:9: cache must be true or false"),
    ("pyproject.toml", "[tool.eos-guard]\nselect = ['EOS001']\n\n[tool.eos-guard.severity]\nEOS001 = 'error'\n"
     "EOS002 = 1\n", "6:10: severity 'EOS002': 1 is not one of error, warning, info"),
    ("pyproject.toml", "[tool.eos-guard]\nrunime-versions = {vllm = '0.31'}\n", "2:1: unknown setting 'runime-versions'"),
    ("pyproject.toml", "[tool.ruff]\nline-length = 99\n[tool.eos-guard]\n'fail-on' = 3\n",
     "4:13: fail-on: 3 is not one of error, warning, info, never"),
    ("pyproject.toml", "[tool.eos-guard]\nfail-on = \n", "2:11: cannot parse TOML: Invalid value"),
    ("pyproject.toml", "\ufeff[tool.eos-guard]\nfail-on = 'never'\n", "1:1: cannot parse TOML: a byte order mark"),
    # helper-130: a key YAML reads as null, true or a number, and an entry of an inline table with a dotted name
    (".eos-guard.yaml", "fail-on: error\nnull: 2\n", "2:1: unknown setting null"),
    (".eos-guard.yaml", "fail-on: error\n~: 2\n", "2:1: unknown setting null"),
    (".eos-guard.yaml", "fail-on: error\ntrue: 2\n", "2:1: unknown setting true"),
    ("pyproject.toml", "[project]\nname = 'x'\n\n[tool]\neos-guard = {fail-on = 'warn'}\n",
     "5:13: fail-on: 'warn' is not one of"),
    ("pyproject.toml", "tool.eos-guard = {fail-on = 'warn'}\n", "1:18: fail-on: 'warn' is not one of"),
]


@pytest.mark.parametrize(("name", "text", "message"), PLACED, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(PLACED)])
def test_every_settings_error_names_its_line_and_column(run, tmp_path, name, text, message):
    code, out, err = check(run, tmp_path, text, name)
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith(f"eos-guard: {name}:{message}"), err


@pytest.mark.parametrize("name, text", [(".eos-guard.yaml", "github.com:\n  oauth_token: gho_SECRET\n"),
                                        ("pyproject.toml", "[tool.eos-guard]\ngho_SECRET = 1\n")])
def test_a_settings_file_linked_out_of_the_repository_is_not_read(tmp_path, run, name, text):
    """helper-114: discovery followed a settings file a pull request links to a file of the runner's, and the error
    for its unknown keys quoted them. In a git work tree a settings file that leads out of it is one error line
    (exit 2) that shows the link as written, never its contents."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", repo / "m")
    (repo / ".git").mkdir()
    (tmp_path / "secret").write_text(text, encoding="utf-8")
    (repo / name).symlink_to(tmp_path / "secret")
    code, out, err = run("--baseline", "none", "m", cwd=repo)  # .git is no repository here
    assert "SECRET" not in out + err, (out, err)
    if name == "pyproject.toml":  # the other tools' file: passed over unopened, the folder checked with the defaults
        assert code == 1 and err == "" and " EOS001 " in out, (out, err)
        return
    assert code == 2 and err == f"eos-guard: {name}: the settings file is a symbolic link to {tmp_path / 'secret'}, " \
                                f"which leads outside {repo}; not followed\n", err


def test_outside_a_git_work_tree_a_settings_link_is_followed_and_isolated_reads_none(tmp_path, run):
    """The limit docs/security.md states (helper-162): outside a work tree nothing bounds a settings file, which is
    read wherever it links (its keys quoted in errors, as any settings file's are); --isolated reads none."""
    import shutil

    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "plain" / "m")
    (tmp_path / "elsewhere").write_text("SECRET_KEY: 1\n", encoding="utf-8")
    (tmp_path / "plain" / "m" / ".eos-guard.yaml").symlink_to(tmp_path / "elsewhere")
    code, _, err = run("m", cwd=tmp_path / "plain")
    assert code == 2 and "unknown setting 'SECRET_KEY'" in err, err
    code, out, err = run("--isolated", "m", cwd=tmp_path / "plain")
    assert code == 1 and "SECRET" not in out + err and " EOS001 " in out, (out, err)


@pytest.mark.parametrize("name", [".eos-guard.yaml", ".eos-guard.yml", "pyproject.toml"])
def test_a_settings_link_out_of_the_repository_is_the_same_error_whatever_it_leads_to(tmp_path, run, name):
    """helper-135: a link to a runner's file was refused, one to nothing or to a folder skipped silently, and a
    pyproject.toml so linked was opened (exit 2 only when the target named eos-guard): a pull request learned from the
    log whether a path of the runner's exists, and something of what it holds. Now the same outcome whatever is at
    the target, and nothing there is opened: one error line for eos-guard's own file, the link as written; a
    pyproject.toml (the other tools' file, helper-140: a repository may link a shared one) is passed over."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", repo / "m")
    (repo / ".git").mkdir()
    (tmp_path / "plain").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "named").write_text("[tool.eos-guard]\nfail-on = 'never'\n", encoding="utf-8")
    outcomes = set()
    for target in ("plain", "missing", "folder", "named"):
        (repo / name).unlink(missing_ok=True)
        (repo / name).symlink_to(f"../{target}")
        code, out, err = run("--baseline", "none", "m", cwd=repo)  # .git is no repository here
        outcomes.add((code, out, err.replace(target, "TARGET")))
    if name == "pyproject.toml":
        [(code, out, err)] = outcomes
        assert code == 1 and err == "" and " EOS001 " in out, outcomes
        return
    assert outcomes == {(2, "", f"eos-guard: {name}: the settings file is a symbolic link to ../TARGET, which leads "
                                f"outside {repo}; not followed\n")}, outcomes


@pytest.mark.parametrize("name", [".eos-guard.yaml", "pyproject.toml"])
@pytest.mark.parametrize("kind", ["folder", "fifo", "dangling link", "link loop"])
def test_a_settings_file_discovery_cannot_read_is_an_error_not_skipped(tmp_path, run, name, kind):
    """helper-135: discovery went on upwards past an .eos-guard.yaml it could not read, and took the settings of a
    folder above (here ``ignore: [ALL]``: "All checks passed"): the user's own settings ignored without a word. It is
    one error line naming the file, exit 2, as ``--config`` with the same file is. A pyproject.toml that is no
    regular file is the other tools' (helper-140: a broken link in a home folder above stopped every run): passed
    over as if absent, which a pull request could make it by deleting it."""
    import shutil

    if kind == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    (tmp_path / ".eos-guard.yaml").write_text("ignore: [ALL]\n", encoding="utf-8")
    sub = tmp_path / "sub"
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", sub / "m")
    target = sub / name
    if kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("nowhere" if kind == "dangling link" else name)
    code, out, err = run("m", cwd=sub)
    if name == "pyproject.toml":
        assert (code, err) == (0, "") and out.startswith("All checks passed"), (out, err)  # the folder above's
        return
    expected = {"folder": "a folder", "fifo": "not a regular file"}.get(kind, "a symbolic link that leads to no file")
    assert (code, out, err) == (2, "", f"eos-guard: {name}: the settings file is {expected}\n")


@pytest.mark.parametrize("key, shown", [("null", "null"), ('""', "''"), ("5", "5")])
def test_a_per_file_ignores_key_that_is_no_path_pattern_is_an_error(tmp_path, run, key, shown):
    """helper-114: per-file-ignores {null: [EOS001]} and {"": ...} were accepted, and matched no path."""
    import shutil

    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    (tmp_path / ".eos-guard.yaml").write_text(f"per-file-ignores:\n  {key}: [EOS001]\n", encoding="utf-8")
    code, out, err = run("m")
    assert code == 2 and f"per-file-ignores {shown}: a key must be a path pattern" in err, err


def test_a_submodule_s_settings_linked_to_its_superproject_s_are_read(tmp_path, run):
    """helper-117: a submodule whose .eos-guard.yaml links to its superproject's was an error once links out of the
    repository were refused; a submodule (its .git a file, as git writes it) may link into its superproject."""
    import shutil

    (tmp_path / ".git").mkdir()
    (tmp_path / ".eos-guard.yaml").write_text("fail-on: never\n", encoding="utf-8")
    sub = tmp_path / "sub"
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", sub / "m")
    (sub / ".git").write_text("gitdir: ../.git/modules/sub\n", encoding="utf-8")  # as git writes a submodule's
    (sub / ".eos-guard.yaml").symlink_to("../.eos-guard.yaml")
    code, out, err = run("--baseline", "none", "m", cwd=sub)
    assert (code, err) == (0, ""), err
    # helper-118: a checkout that merely lies in another work tree (a runner's home kept in git) is no submodule:
    # its link to a file of that tree is refused
    (sub / ".git").unlink()
    (sub / ".git").mkdir()
    code, out, err = run("--baseline", "none", "m", cwd=sub)
    assert code == 2 and "the settings file is a symbolic link to ../.eos-guard.yaml" in err, err


@pytest.mark.parametrize("linked", ["folder", "config-json"])
def test_a_path_linked_out_of_the_repository_does_not_move_settings_discovery(tmp_path, run, linked):
    """helper-117: discovery started at where the PATHs lead, so a PATH a pull request made a link out of the
    repository (a model folder, or the config.json pre-commit passes) moved the common folder outside it: the
    repository's settings (here: ignore EOS018, the refused link's finding) were skipped, and a settings file
    there could be read. The PATHs as written keep discovery in the repository."""
    import shutil

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".eos-guard.yaml").write_text("ignore: [EOS018]\n", encoding="utf-8")
    clean = ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned"
    shutil.copytree(clean, repo / "models" / "a")
    outside = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "outside" / "b")
    (tmp_path / "outside" / ".eos-guard.yaml").write_text("select: [EOS001]\n", encoding="utf-8")
    if linked == "folder":
        (repo / "models" / "b").symlink_to(outside)
        paths = ["models/a", "models/b"]
    else:
        (repo / "models" / "b").mkdir()
        (repo / "models" / "b" / "config.json").symlink_to(outside / "config.json")
        paths = ["models/a/config.json", "models/b/config.json"]
    code, out, err = run("--baseline", "none", "--format", "concise", *paths, cwd=repo)
    assert (code, err) == (0, ""), (out, err)  # the repository's settings: the refused link's EOS018 ignored
