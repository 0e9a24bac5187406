"""Settings: discovery, keys, and errors for anything unknown."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from support import ROOT, RULE_CASES

BROKEN = RULE_CASES / "EOS001-terminator-not-stop-id"


@pytest.fixture
def repo(tmp_path):
    shutil.copytree(BROKEN, tmp_path / "models" / "chat")
    return tmp_path


def test_yaml_found_by_walking_up(run, repo):
    (repo / ".eos-guard.yaml").write_text("ignore: [EOS001]\n")
    code, out, _ = run("models/chat", cwd=repo)
    assert code == 0 and ": EOS001 " not in out and ": EOS002 " in out


def test_pyproject_table(run, repo):
    (repo / "pyproject.toml").write_text('[tool.eos-guard]\nignore = ["terminator-not-stop-id"]\n')
    assert run("models/chat", cwd=repo)[0] == 0


@pytest.mark.parametrize("other", [
    '[tool.codespell]\n"ignore-words\\U00000020list" = "x"\n',     # an escape TOML has and JSON has not
    '[tool.codespell]\n"tab\there" = "x"\n',                        # a raw tab in a quoted key
    "[tool.x]\npatterns = [ \'\'\'\n\"\\d+\" = 1\n\'\'\' ]\n",          # a multi-line string opened inside an array
], ids=["unicode-escape", "tab", "string-in-array"])
def test_valid_toml_of_other_tools_is_read_around(run, repo, other):
    """helper-114: the line scan that places settings for messages decoded every quoted key it met as JSON, and
    tracked only multi-line strings that open right after '=': valid TOML of another tool's table made every run
    an internal error (exit 2, settings dropped, pre-commit and the Action too)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    text = '[tool.eos-guard]\nignore = ["terminator-not-stop-id"]\n' + other
    tomllib.loads(text)  # valid TOML
    (repo / "pyproject.toml").write_text(text, encoding="utf-8")
    code, out, err = run("--format", "concise", "models/chat", cwd=repo)
    assert code == 0 and err == "" and " EOS001 " not in out, (out, err)
    (repo / "pyproject.toml").write_text(text + '[tool.eos-guard.severity]\nEOS002 = "fatal"\n', encoding="utf-8")
    code, out, err = run("--format", "concise", "models/chat", cwd=repo)
    assert code == 2 and err.startswith("eos-guard: pyproject.toml:") and "fatal" in err, err


@pytest.mark.parametrize("text, where", [
    ('[tool.other]\nx = 1  # a """ in a comment\n\n[tool.eos-guard]\nselect = 5\n', "5:10"),
    ("[tool.other]\nx = \'\"\"\"\'\n[tool.eos-guard]\nselect = 5\n", "4:10"),   # a literal string of quotes
    ("[tool.eos-guard]\nignore = []  # don\'t write \'\'\' here\nselect = 5\n", "3:10"),
    ("[tool.other]\nx = \'\'\'a\"\"\"\nb\'\'\'\n[tool.eos-guard]\nselect = 5\n", "5:10"),
    ('[tool.other]\nx = """\n\\"""\n"""\n[tool.eos-guard]\nselect = 5\n', "6:10"),   # an escaped quote run
    ('[tool.other]\ny = """\n[tool.eos-guard]\nselect = 7\n"""\n[tool.eos-guard]\nselect = 5\n', "7:10"),
    ('x = [\n["""\n[tool.eos-guard]\nselect = 7\n"""]]\n[tool.eos-guard]\nselect = 5\n', "7:10"),
    ("[tool.other]\nx = [\n  [1, 2],\n]\n[tool.eos-guard]\nselect = 5\n", "6:10"),  # an array item line
    ("[tool.other]\n# a \u2028 separator\n[tool.eos-guard]\nselect = 5\n", "4:10"),  # no TOML line break
    ('[tool.eos-guard]\nx = """a""""\nselect = 5\n', "2:1"),  # the unknown key first; a quote before the close
    ("[tool.other]\r\nx = 1\r\n[tool.eos-guard]\r\nselect = 5\r\n", "4:10"),  # a Windows checkout's CRLF
], ids=["comment", "literal", "apostrophes-in-comment", "other-quotes-inside", "escaped-quotes", "header-in-string",
        "string-in-array-item", "array-item-line", "line-separator", "four-quotes", "crlf"])
def test_settings_errors_are_placed_whatever_strings_and_comments_hold(run, repo, text, where):
    """helper-117: the scan that places settings errors counted triple quotes anywhere on a line (in comments, in
    literal strings, in a string of the other quote kind), so errors lost their place or pointed into a string; a
    line of an array that starts with '[' was read as a table header; U+2028 in a comment split a line."""
    (repo / "pyproject.toml").write_text(text, encoding="utf-8")
    code, _, err = run("models/chat", cwd=repo)
    assert code == 2 and err.startswith(f"eos-guard: pyproject.toml:{where}: "), err


def test_yaml_wins_over_pyproject(run, repo):
    (repo / "pyproject.toml").write_text('[tool.eos-guard]\nfail-on = "warning"\n')
    (repo / ".eos-guard.yaml").write_text("select: [EOS003]\n")
    assert run("models/chat", cwd=repo)[0] == 0


def test_the_nearest_folder_with_settings_wins_whatever_their_kind(run, repo):
    """As ruff: in the nearest folder that has settings, .eos-guard.yaml, else pyproject.toml; a .eos-guard.yaml
    farther up (a CI workspace's parent, /tmp) never beats the repository's own pyproject.toml."""
    (repo / "models" / "pyproject.toml").write_text('[tool.eos-guard]\nfail-on = "warning"\n')
    (repo / ".eos-guard.yaml").write_text("select: [EOS003]\n")
    assert run("models/chat", cwd=repo)[0] == 1


def test_settings_in_one_model_folder_govern_it_alone(run, repo):
    """A folder takes the nearest settings file above it, as ruff takes the nearest settings for each file: a pull
    request's model folder that brings its own .eos-guard.yaml cannot turn the checks off for the folders checked
    with it, in any order of the PATHs (the order pre-commit passes file names in), and governs itself whichever
    other files a commit touches (helper-203: `pre-commit run --files` of that folder passed, `--all-files` failed).
    A run over the whole repository names on stderr each settings file that governs some of its folders."""
    shutil.copytree(repo / "models" / "chat", repo / "models" / "00-pr")
    (repo / "models" / "00-pr" / ".eos-guard.yaml").write_text("ignore: ALL\n")
    for paths in (["models/00-pr/config.json", "models/chat/config.json"],
                  ["models/chat/config.json", "models/00-pr/config.json"], ["models/00-pr", "models/chat"], ["."]):
        code, out, err = run("--format", "concise", *paths, cwd=repo)
        assert code == 1 and "models/00-pr/" not in out and "models/chat/generation_config" in out, (paths, out)
        assert err == "eos-guard: models/00-pr/.eos-guard.yaml sets the settings of models/00-pr (the nearest " \
                      "settings file above a folder applies to it; the run's: none: the defaults)\n", err
    assert run("models/00-pr", cwd=repo) == (0, "All checks passed (1 model folder).\n", "")
    # the command line's options apply over a folder's own settings, as over the run's
    code, out, _ = run("--format", "concise", "--select", "EOS002", "--fail-on", "warning", ".", cwd=repo)
    assert code == 1 and " EOS001 " not in out and "models/00-pr/" not in out and " EOS002 " in out, out
    (repo / "models" / "00-pr" / ".eos-guard.yaml").write_text("fail-on: warning\nselect: [EOS002]\n")
    code, out, _ = run("--format", "concise", "--fail-on", "never", ".", cwd=repo)
    assert code == 0 and "models/00-pr/generation_config.json" in out and " EOS001 " in out, out
    # its exclude leaves it out; its fail-on and runtimes are its own in the report and the exit code
    (repo / "models" / "00-pr" / ".eos-guard.yaml").write_text("exclude: ['*']\n")
    code, out, _ = run("--format", "concise", ".", cwd=repo)
    assert "models/00-pr/" not in out and "models/chat/" in out and "of 1 model folder" in out, out
    assert run("models/00-pr", cwd=repo)[1] == "No model folders found (1 model folder excluded by the settings).\n"
    (repo / "models" / "00-pr" / ".eos-guard.yaml").write_text("fail-on: never\nruntimes: [vllm]\n")
    (repo / "models" / "chat" / "generation_config.json").write_text('{"eos_token_id": [151643, 151645]}\n')
    code, out, _ = run("--format", "text", ".", cwd=repo)
    assert code == 0 and "models/00-pr: passes; stops in vllm: yes" in out and \
        out.endswith("\n2 model folders pass (1 warning); --fix changes 1 file in 1 folder.\n"), out
    import eos_guard

    report = eos_guard.check(repo)  # the API takes each folder's own too
    assert [str(m.folder.relative_to(repo)) for m in report.models if report.fails(m)] == []
    assert {m.folder.name: m.settings is not None for m in report.models} == {"00-pr": True, "chat": False}


def test_isolated_reads_no_settings_file(run, repo):
    """A downloaded model's own .eos-guard.yaml (its author's, not the user's) could turn its check off; ruff's
    --isolated checks with the defaults and the options given. With --config it is a usage error."""
    (repo / "models" / "chat" / ".eos-guard.yaml").write_text("exclude: ['*']\n")
    (repo / ".eos-guard.yaml").write_text("fail-on: never\n")
    assert run("models/chat", cwd=repo)[1] == "No model folders found (1 model folder excluded by the settings).\n"
    code, out, _ = run("--isolated", "models/chat", cwd=repo)
    assert code == 1 and out.endswith("1 of 1 model folder fails (1 error, 1 warning); --fix changes 1 file in 1 "
                                      "folder.\n"), out
    assert run("--isolated", "--fail-on", "warning", "--ignore", "EOS001", "models/chat", cwd=repo)[0] == 1
    code, out, _ = run("--isolated", "--show-settings", "models/chat", cwd=repo)
    assert code == 0 and out.startswith("# settings file: none read (--isolated)\n# changed by the options: "
                                        "--isolated\n"), out
    code, _, err = run("--isolated", "--config", ".eos-guard.yaml", "models/chat", cwd=repo)
    assert code == 2 and err.endswith("error: --isolated and --config cannot be combined (--isolated reads no "
                                      "settings file)\n"), err


def test_the_api_s_isolated_reads_no_settings_file(repo):
    """eos_guard.check/fix(isolated=True), as --isolated: the folder's own settings neither exclude it nor stop a
    fix; with config, or a value that is not a bool, it is refused before anything is read."""
    import eos_guard

    folder = repo / "models" / "chat"
    (folder / ".eos-guard.yaml").write_text("exclude: ['*']\n")
    assert eos_guard.check(folder).models == []
    report = eos_guard.check(folder, isolated=True)
    assert sorted({f.code for f in report.findings()}) == ["EOS001", "EOS002"]
    assert eos_guard.fix(folder, write=False) == []
    assert [change.path.name for change in eos_guard.fix(folder, write=False, isolated=True)] == [
        "generation_config.json"]
    with pytest.raises(ValueError, match="isolated=True reads no settings file: pass config=None with it"):
        eos_guard.check(folder, config=folder / ".eos-guard.yaml", isolated=True)
    with pytest.raises(TypeError, match="isolated must be True or False, not 'true'"):
        eos_guard.fix(folder, isolated="true")


def test_a_folder_s_settings_depend_on_the_folder_alone(run, repo, monkeypatch):
    """helper-204: a folder's settings took what lay between it and the PATHs' common folder, so they changed with
    the PATHs given: a linked folder's, a folder the run's exclude named, a folder a template file of its
    additional_chat_templates/ stood for, one linked out of the repository; EOS015 and the cache followed the run's
    settings alone; and a folder deeper than Python's recursion limit was an internal error."""
    import subprocess

    def verdicts(*paths: str) -> tuple[int, str]:
        code, out, _ = run("--format", "concise", "--no-cache", *paths, cwd=repo)
        return code, out

    subprocess.run(["git", "init", "-q", str(repo)], check=True)  # links inside it are followed
    shutil.copytree(repo / "models" / "chat", repo / "other" / "c")
    (repo / ".eos-guard.yaml").write_text("exclude: [models/a]\n")
    (repo / "models" / ".eos-guard.yaml").write_text("fail-on: never\n")
    # the root's exclude names models/a, whose nearest settings (models/) do not: checked in every run
    shutil.copytree(repo / "models" / "chat", repo / "models" / "a")
    for paths in (["."], ["models"], ["models/a/config.json"], ["models/a/config.json", "other/c/config.json"]):
        assert "models/a/generation_config.json" in verdicts(*paths)[1], paths
    # a linked folder takes the settings where it really is (other/: the root's), whatever the PATHs
    (repo / "models" / "link").symlink_to(repo / "other" / "c")
    outcomes = {verdicts(*paths)[0] for paths in (["."], ["models"], ["models/link"], ["models/link", "other/c"])}
    assert outcomes == {1}, outcomes
    (repo / "models" / "link").unlink()
    # a template file of a model folder's additional_chat_templates/ stands for the folder and its settings
    templates = repo / "other" / "c" / "additional_chat_templates"
    templates.mkdir()
    (templates / "tool_use.jinja").write_text((repo / "other" / "c" / "tokenizer_config.json").read_text()[:0] + "x")
    (templates / ".eos-guard.yaml").write_text("fail-on: never\nselect: [EOS009]\n")
    assert verdicts("other/c/additional_chat_templates/tool_use.jinja")[0] == 1
    assert verdicts("other/c/additional_chat_templates/tool_use.jinja", "other/c/config.json")[0] == 1
    shutil.rmtree(templates)
    # a folder linked out of the repository: the settings where the link is exclude it, or turn EOS018 off
    outside = shutil.copytree(repo / "other" / "c", repo.parent / f"{repo.name}-outside")
    (repo / "models" / "ext").symlink_to(outside)
    (repo / "models" / ".eos-guard.yaml").write_text("fail-on: never\nexclude: [ext]\n")
    assert all("models/ext" not in verdicts(*paths)[1] for paths in (["."], ["models"])), verdicts(".")
    (repo / "models" / ".eos-guard.yaml").write_text("fail-on: never\n")
    assert all(" EOS018 " in verdicts(*paths)[1] for paths in (["."], ["models"]))
    (repo / "models" / "ext").unlink()
    # EOS015 runs where a folder's own settings run it, though the run's ignore it
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "m"],
                   check=True)
    (repo / ".eos-guard.yaml").write_text("ignore: [EOS015]\n")
    (repo / "models" / ".eos-guard.yaml").write_text("fail-on: error\n")
    generation = repo / "models" / "a" / "generation_config.json"
    generation.write_text(generation.read_text().replace('"eos_token_id": 151643', '"eos_token_id": 151645'))
    for paths in (["."], ["models/a"]):
        assert " EOS015 " in run("--format", "concise", *paths, cwd=repo)[1], paths
    # a folder's own settings that use the cache keep a cache folder in the work tree unused, as the run's do
    (repo / ".eos-guard.yaml").write_text("cache: false\n")
    (repo / "models" / ".eos-guard.yaml").write_text("cache: true\n")
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(repo / ".ci-cache"))
    assert "is not used" in run(".", cwd=repo)[2] and not (repo / ".ci-cache").exists()
    # helper-205: the settings above a folder decide first, as ruff walks: a parent's exclude leaves out a folder
    # with settings of its own, and a settings file in an excluded folder is never read (a broken one stops nothing)
    (repo / "models" / ".eos-guard.yaml").write_text("exclude: [b, vendor]\n")
    shutil.copytree(repo / "other" / "c", repo / "models" / "b")
    (repo / "models" / "b" / ".eos-guard.yaml").write_text("fail-on: warning\n")
    shutil.copytree(repo / "other" / "c", repo / "models" / "vendor" / "m")
    (repo / "models" / "vendor" / "m" / ".eos-guard.yaml").write_text("fail_on: x\n")
    code, out = verdicts(".")
    assert code == 1 and "models/b/" not in out and "models/vendor" not in out and "models/a/" in out, out
    # helper-206: a settings file above the repository (a home folder's) never leaves out a folder of it with
    # settings nearer; a link out of the repository that the settings exclude is counted as excluded
    home_settings = repo.parent / ".eos-guard.yaml"
    home_settings.write_text(f"exclude: [{repo.name}]\n")
    try:
        assert "models/a/" in verdicts(".")[1]
    finally:
        home_settings.unlink()
    outside_link = repo / "linked-out"
    outside_link.symlink_to(outside)
    (repo / ".eos-guard.yaml").write_text("exclude: [linked-out]\n")
    assert "linked-out" not in verdicts(".")[1]
    assert verdicts("linked-out") == (0, "No model folders found (1 model folder excluded by the settings).\n")
    (repo / ".eos-guard.yaml").write_text("ignore: [EOS001]\n")
    elsewhere = repo.parent / f"{repo.name}-elsewhere"
    shutil.copytree(outside, elsewhere / "m")
    (elsewhere / ".eos-guard.yaml").write_text("fail-on: never\n")
    outside_link.unlink()
    outside_link.symlink_to(elsewhere / "m")
    shown = run("--show-settings", "linked-out", cwd=repo)[1]  # what the check takes there: not the file it links to
    assert shown.startswith("# settings file: .eos-guard.yaml\n") and '"never"' not in shown, shown
    outside_link.unlink()
    (repo / ".eos-guard.yaml").write_text("cache: false\n")
    # --show-settings of a folder shows that folder's settings, as its check takes them
    shown = run("--show-settings", "models/b", cwd=repo)[1]
    assert shown.startswith("# settings file: models/b/.eos-guard.yaml\n") and 'fail-on: "warning"' in shown, shown
    # deeper than Python's recursion limit
    deep = repo / "deep"
    for _ in range(1100):  # mkdir one level at a time: os.makedirs recurses once a level
        deep = deep / "d"
        deep.mkdir(parents=deep.parent == repo / "deep")
    try:
        for name in ("config.json", "generation_config.json", "tokenizer_config.json"):
            shutil.copy(repo / "other" / "c" / name, deep / name)
        assert run("--format", "concise", "deep", cwd=repo)[0] == 1
    finally:  # removed a level at a time: shutil.rmtree (pytest's clean-up too) recurses once a level
        while deep != repo / "deep":
            for child in deep.iterdir():
                child.unlink()
            deep.rmdir()
            deep = deep.parent


def test_a_settings_file_in_an_excluded_folder_is_never_read(run, tmp_path):
    """helper-206: pre-commit naming only a file in a folder the root's settings exclude read the broken settings
    file of that folder (exit 2), and a commit that also touched another folder did not: the run's own settings
    are looked for as a folder's are, past the settings of folders the settings above leave out."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copytree(BROKEN, tmp_path / "a")
    shutil.copytree(BROKEN, tmp_path / "sub" / "b")
    (tmp_path / ".eos-guard.yaml").write_text("exclude: [sub]\n")
    (tmp_path / "sub" / ".eos-guard.yaml").write_text("fail-on: bogus\n")
    for paths in (["sub/b/config.json"], ["sub/b"], ["a/config.json", "sub/b/config.json"], ["."]):
        code, out, err = run("--format", "concise", *paths, cwd=tmp_path)
        assert err == "" and "sub/b" not in out and code == (1 if paths[0] in ("a/config.json", ".") else 0), \
            (paths, code, out, err)


def test_a_folder_linked_into_a_hugging_face_cache_takes_the_run_s_settings(run, tmp_path):
    """helper-205: a models/ folder of links into the Hub cache (outside a git work tree, where such links are
    followed): the snapshot's real place has no settings of its own, and took the defaults, not the run's."""
    snapshot = tmp_path / "hub" / "models--o--n" / "snapshots" / "0123"
    shutil.copytree(BROKEN, snapshot)
    (tmp_path / "work" / "models").mkdir(parents=True)
    (tmp_path / "work" / "models" / "cached").symlink_to(snapshot)
    (tmp_path / "work" / ".eos-guard.yaml").write_text("fail-on: never\n")
    assert run("--isolated", "models/cached", cwd=tmp_path / "work")[0] == 1
    code, out, err = run("models/cached", cwd=tmp_path / "work")
    assert (code, err) == (0, "") and out.endswith("\n1 model folder passes (1 error, 1 warning).\n"), out


def test_the_settings_files_that_govern_folders_are_named_on_stderr(run, repo):
    """helper-135 found a model folder's own .eos-guard.yaml governed a run over that folder alone but not
    `eos-guard .`; now it governs both, and the run over the folder above says which files set which folders'
    settings (once each, on stderr; not with --config, --isolated or -q, which read no such file or say nothing)."""
    (repo / "models" / "chat" / ".eos-guard.yaml").write_text("ignore: [ALL]\n")
    (repo / "models" / "pyproject.toml").write_text("[tool.eos-guard]\nfail-on = 'never'\n")
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # names no eos-guard: not settings
    shutil.copytree(repo / "models" / "chat", repo / "models" / "other")
    (repo / "models" / "other" / ".eos-guard.yaml").unlink()
    code, out, err = run(".", cwd=repo)
    assert code == 0 and "models/chat/" not in out and " EOS001 " in out and \
        out.endswith("\n2 model folders pass (1 error, 1 warning); --fix changes 1 file in 1 folder.\n"), out
    assert err.splitlines() == [
        "eos-guard: models/chat/.eos-guard.yaml sets the settings of models/chat (the nearest settings file above a "
        "folder applies to it; the run's: none: the defaults)",
        "eos-guard: models/pyproject.toml sets the settings of models/other (the nearest settings file above a folder "
        "applies to it; the run's: none: the defaults)"], err
    assert run("models/chat", cwd=repo)[2] == ""  # the folder's own settings are this run's
    for options in (["--isolated"], ["--config", "models/pyproject.toml"], ["-q"]):
        assert "sets the settings" not in run(*options, ".", cwd=repo)[2], options
    assert run("--isolated", ".", cwd=repo)[0] == 1
    # helper-142: a pyproject.toml that names eos-guard as a dependency only is no settings file
    (repo / "models" / "pyproject.toml").write_text("[project]\ndependencies = ['eos-guard>=1']\n")
    assert "models/pyproject.toml" not in run(".", cwd=repo)[2]
    # the tree named through a link still says it
    (repo.parent / "link").symlink_to(repo)
    assert "models/chat/.eos-guard.yaml sets the settings" in run(str(repo.parent / "link"), cwd=repo)[2]
    # many: five lines, then how many more
    for i in range(7):
        shutil.copytree(repo / "models" / "chat", repo / "models" / f"m{i}")
    err = run(".", cwd=repo)[2].splitlines()
    assert len(err) == 6 and err[-1] == "eos-guard: and 3 more settings files set some folders' settings", err


def test_settings_inside_a_hugging_face_cache_snapshot_are_not_read(run, tmp_path):
    """A snapshot's files are the Hub repository's (its author's): an .eos-guard.yaml there is not the user's
    settings. Discovery starts above the cache's repository folder (models--org--name)."""
    snapshot = tmp_path / "hub" / "models--org--name" / "snapshots" / "0123abcd"
    shutil.copytree(BROKEN, snapshot)
    (snapshot / ".eos-guard.yaml").write_text("exclude: ['*']\n")
    (tmp_path / ".eos-guard.yaml").write_text("ignore: [EOS002]\n")
    code, out, _ = run("--format", "concise", str(snapshot), cwd=tmp_path)
    assert code == 1 and " EOS001 " in out and " EOS002 " not in out, out
    code, out, _ = run("--show-settings", str(snapshot / "config.json"), cwd=tmp_path)
    assert out.startswith("# settings file: .eos-guard.yaml\n"), out
    # helper-131: reached through a link (a models/ folder of links into the cache), the snapshot's were read
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine").symlink_to(snapshot)
    (tmp_path / "snaps").symlink_to(snapshot.parent)
    for path in ("models/mine", "snaps/0123abcd"):
        code, out, _ = run("--format", "concise", path, cwd=tmp_path)
        assert code == 1 and " EOS001 " in out and " EOS002 " not in out, (path, out)


@pytest.mark.parametrize("codes", ["[EOS001, EOS002]", "EOS001, EOS002", "[terminator-not-stop-id, EOS002]"])
def test_per_file_ignores_match_paths_below_the_config(run, repo, codes):
    """The codes are written as select's: a list, or a single string of codes (usage.md's settings table)."""
    (repo / ".eos-guard.yaml").write_text(f"per-file-ignores:\n  models/chat/*: {codes}\n")
    code, out, _ = run("models", cwd=repo)
    assert code == 0 and out == "All checks passed (1 model folder).\n"


def test_exclude_skips_folders(run, repo):
    (repo / ".eos-guard.yaml").write_text("exclude: [models/chat]\n")
    assert run(".", cwd=repo) == (0, "No model folders found (1 model folder excluded by the settings).\n", "")


@pytest.mark.parametrize("key", ["exclude", "per-file-ignores"])
def test_a_pattern_that_can_never_match_is_an_error(run, repo, key):
    """helper-130: an absolute pattern for a folder inside the settings file's folder, or one that climbs out with
    '..', was accepted and matched nothing. An absolute pattern for a folder outside it still matches (by its
    absolute path)."""
    def settings(pattern: str) -> str:
        return f"exclude: ['{pattern}']\n" if key == "exclude" else f"per-file-ignores:\n  '{pattern}': [EOS001]\n"

    (repo / ".eos-guard.yaml").write_text(settings(f"{repo}/models/chat"))
    code, _, err = run("models", cwd=repo)
    assert code == 2 and err.startswith(f"eos-guard: .eos-guard.yaml:{1 if key == 'exclude' else 2}:") and err.endswith(
        "never matches: a folder inside the settings file's folder is matched by its relative path ('models/chat')\n")
    for pattern in ("../models/chat", "models/../../models/chat", "/"):
        (repo / ".eos-guard.yaml").write_text(settings(pattern))
        code, _, err = run("models", cwd=repo)
        assert code == 2 and "never matches: patterns are relative to the folder of the settings file, inside it" in err
    # helper-131: a '..' that stays inside matches, as the pattern is normalized
    (repo / ".eos-guard.yaml").write_text(settings("models/x/../chat"))
    code, out, _ = run("--format", "concise", "models", cwd=repo)
    assert code == 0 and " EOS001 " not in out, out
    outside = shutil.copytree(BROKEN, repo.parent / f"{repo.name}-outside")
    (repo / ".eos-guard.yaml").write_text(settings(f"{outside}"))
    code, out, _ = run("--format", "concise", "--config", ".eos-guard.yaml", "models", str(outside), cwd=repo)
    assert code == 1 and (str(outside) in out) is (key != "exclude"), out


@pytest.mark.parametrize("pattern", ["**/models", "**/models/chat", "**/chat", "**/models/*"])
def test_a_leading_double_star_matches_at_the_top_too(run, repo, pattern):
    """As in .gitignore: "**/models" names the top-level models folder too (helper-183: fnmatch's "**/" needs a
    "/" before the name, so it matched nothing there)."""
    (repo / ".eos-guard.yaml").write_text(f"exclude: ['{pattern}']\n")
    assert run(".", cwd=repo) == (0, "No model folders found (1 model folder excluded by the settings).\n", "")
    (repo / ".eos-guard.yaml").write_text(f"per-file-ignores:\n  '{pattern}/*': [EOS001, EOS002]\n")
    assert run("models", cwd=repo) == (0, "All checks passed (1 model folder).\n", "")


@pytest.mark.parametrize("pattern", ["chat", "ch*"])
def test_a_pattern_without_a_slash_is_a_name_matched_at_any_depth(run, repo, pattern):
    """helper-203: per-file-ignores' "generation_config.json" (ruff's own example is "__init__.py") matched nothing,
    and exclude's "chat" only a top-level folder. A pattern without a "/" names a file or folder at any depth, as
    in .gitignore and ruff; one with a "/" stays relative to the settings file's folder."""
    (repo / ".eos-guard.yaml").write_text(f"exclude: ['{pattern}']\n")
    assert run(".", cwd=repo) == (0, "No model folders found (1 model folder excluded by the settings).\n", "")
    (repo / ".eos-guard.yaml").write_text("exclude: ['models/ch']\n")
    assert run(".", cwd=repo)[0] == 1
    (repo / ".eos-guard.yaml").write_text("per-file-ignores:\n  generation_config.json: [EOS001]\n"
                                          "  config.json: [EOS003]\n")
    code, out, _ = run("--format", "concise", "models", cwd=repo)
    assert " EOS001 " not in out and " EOS003 " not in out and " EOS002 " in out, out
    (repo / ".eos-guard.yaml").write_text("per-file-ignores:\n  other/generation_config.json: [EOS001]\n")
    assert " EOS001 " in run("--format", "concise", "models", cwd=repo)[1]


@pytest.mark.parametrize("pattern", ["./models/chat", "./models/chat/", ".//models/chat"])
def test_patterns_written_from_the_current_folder_match(run, repo, pattern):
    """"./models/chat" names the same folder as "models/chat": it matched nothing (accepted, and ignored)."""
    (repo / ".eos-guard.yaml").write_text(f"exclude: ['{pattern}']\n")
    assert run(".", cwd=repo) == (0, "No model folders found (1 model folder excluded by the settings).\n", "")
    (repo / ".eos-guard.yaml").write_text(f"per-file-ignores:\n  '{pattern}/*': [EOS001, EOS002]\n")
    assert run("models", cwd=repo) == (0, "All checks passed (1 model folder).\n", "")


def test_explicit_config_and_fail_on(run, repo):
    (repo / "strict.yaml").write_text("fail-on: warning\nignore: [EOS001]\n")
    assert run("--config", "strict.yaml", "models/chat", cwd=repo)[0] == 1


@pytest.mark.parametrize("where", ["settings", "command line"])
def test_fail_on_takes_any_case(run, repo, where):
    """The settings file read `fail-on: WARNING` where `--fail-on Warning` was refused (helper-183); both take
    any case now, `never` too."""
    for value, code in (("WARNING", 1), ("Never", 0)):
        if where == "settings":
            (repo / "strict.yaml").write_text(f"fail-on: {value}\nignore: [EOS001]\n")
            assert run("--config", "strict.yaml", "models/chat", cwd=repo)[0] == code
        else:
            assert run("--fail-on", value, "--ignore", "EOS001", "models/chat", cwd=repo)[0] == code


@pytest.mark.parametrize("text,message", [
    pytest.param("colour: red\n", "unknown setting 'colour'", id="unknown-key"),
    pytest.param("select: [EOS999]\n", "select: unknown rule 'EOS999'", id="unknown-code"),
    pytest.param("fail-on: sometimes\n", "fail-on: 'sometimes' is not one of", id="bad-fail-on"),
    # YAML 1.1 reads an unquoted no as false: the message showed False, which the file does not hold
    pytest.param("fail-on: no\n", "fail-on: false is not one of error, warning, info, never (YAML reads an unquoted "
                 "yes, no, on or off as a boolean)", id="yaml-boolean"),
    pytest.param("severity:\n  EOS003: off\n", "severity 'EOS003': false is not one of error, warning, info (YAML "
                 "reads an unquoted yes, no, on or off as a boolean)", id="yaml-boolean-severity"),
    pytest.param("template-timeout: -1\n", "template-timeout must be a positive number", id="bad-timeout"),
    # YAML 1.1 (PyYAML) reads 1e-3 as a string: the message says so, or it reads "not '1e-3'"
    pytest.param("template-timeout: 1e-3\n", "not '1e-3' (a string: YAML reads a number in this form as text; write "
                 "it with a decimal point, as 0.001)", id="yaml-exponent"),
    # helper-135: an unquoted date is a date to YAML; the message showed datetime.date(2001, 12, 14)
    pytest.param("template-timeout: 2001-12-14\n", "template-timeout must be a positive number, not 2001-12-14",
                 id="yaml-date"),
    pytest.param("select: [EOS001\n", "cannot parse YAML", id="bad-yaml"),
    pytest.param("- a\n- b\n", "must be a mapping", id="not-a-mapping"),
])
def test_bad_settings_are_exit_2_with_the_file_named(run, repo, text, message):
    (repo / ".eos-guard.yaml").write_text(text)
    code, out, err = run("models/chat", cwd=repo)
    assert code == 2 and err.startswith("eos-guard: .eos-guard.yaml") and message in err, err
    assert out == ""


def test_the_command_line_replaces_select_and_fail_on_and_adds_to_ignore(run, repo):
    """docs/usage.md: --select replaces the settings' select, --ignore adds to their ignore, --fail-on wins."""
    def codes(*args: str) -> tuple[int, list[str]]:
        code, out, _ = run("--format", "json", *args, "models/chat", cwd=repo)
        return code, [f["code"] for f in json.loads(out)["findings"]]

    (repo / ".eos-guard.yaml").write_text("select: [EOS002]\nfail-on: warning\n")
    assert codes() == (1, ["EOS002"])
    assert codes("--select", "EOS001") == (1, ["EOS001"])
    assert codes("--fail-on", "error") == (0, ["EOS002"])
    (repo / ".eos-guard.yaml").write_text("ignore: [EOS001]\n")
    assert codes() == (0, ["EOS002"])
    assert codes("--ignore", "EOS002") == (0, [])


def test_repeated_select_ignore_and_runtime_add_up(run, repo):
    """docs/usage.md: a repeated --select, --ignore or --runtime adds its values to the others' (as ruff's --select);
    the last one alone was kept, so --runtime transformers --runtime vllm dropped transformers' EOS001 and passed."""
    def codes(*args: str) -> tuple[int, list[str]]:
        code, out, _ = run("--format", "json", *args, "models/chat", cwd=repo)
        return code, [f["code"] for f in json.loads(out)["findings"]]

    assert codes("--select", "EOS001", "--select", "EOS002") == codes("--select", "EOS001,EOS002") == \
        (1, ["EOS001", "EOS002"])
    assert codes("--ignore", "EOS001", "--ignore", "EOS002") == codes("--ignore", "EOS001,EOS002") == (0, [])
    assert codes("--runtime", "vllm") == (0, ["EOS002"])  # vLLM stops on the tokenizer's eos: transformers' EOS001
    assert codes("--runtime", "vllm", "--runtime", "transformers") == (1, ["EOS001", "EOS002"])  # is back
    code, _, err = run("--select", "EOS001", "--select", "", "models/chat", cwd=repo)
    assert code == 2 and err == "eos-guard: --select: the value is empty\n"


def test_unknown_code_on_the_command_line(run, repo):
    code, _, err = run("--select", "EOS0,XYZ", "models/chat", cwd=repo)
    assert code == 2 and "unknown rule 'XYZ'" in err


def test_code_prefix_selects_several_rules(run, repo):
    code, out, _ = run("--select", "EOS00", "models/chat", cwd=repo)
    assert code == 1 and ": EOS001 " in out


def test_discovery_skips_a_pyproject_that_never_names_eos_guard(run, repo):
    """Another tool's pyproject.toml is not parsed: even a broken one does not stop the check."""
    (repo / "pyproject.toml").write_text('[tool.ruff\nline-length = 120\n')
    code, out, err = run("--format", "json", cwd=repo)
    assert code != 2, err


def test_an_explicit_pyproject_is_always_parsed(run, repo):
    (repo / "pyproject.toml").write_text('[tool.ruff\nline-length = 120\n')
    code, out, err = run("--config", "pyproject.toml", cwd=repo)
    assert code == 2 and "cannot parse TOML" in err


@pytest.mark.parametrize("text, message", [
    pytest.param('tool = "eos-guard"\n', "1:8: [tool] must be a table, not 'eos-guard'", id="tool-a-string"),
    pytest.param('[project]\n[[tool]]\neos-guard = {}\n', "2:1: [tool] must be a table, not [{'eos-guard': {}}]",
                 id="tool-an-array"),
    pytest.param('[tool]\neos-guard = ["EOS001"]\n', "2:13: [tool.eos-guard] must be a table", id="eos-guard-a-list"),
    pytest.param('[project]\n[[tool.eos-guard]]\nselect = ["EOS001"]\n', "2:1: [tool.eos-guard] must be a table",
                 id="eos-guard-an-array-of-tables"),
    pytest.param('tool = {eos-guard = "x"}\n', "1:8: [tool.eos-guard] must be a table", id="eos-guard-in-an-inline-table"),
])
@pytest.mark.parametrize("explicit", [False, True], ids=["discovered", "explicit"])
def test_a_tool_section_that_is_no_table_is_one_error_line(run, repo, text, message, explicit):
    """As for ruff, a malformed [tool] is an error naming the file (before, an internal AttributeError)."""
    (repo / "pyproject.toml").write_text(text)
    code, out, err = run(*(["--config", "pyproject.toml"] if explicit else []), "models/chat", cwd=repo)
    assert (code, out, err) == (2, "", f"eos-guard: pyproject.toml:{message}\n")


def test_a_toml_value_left_open_is_placed_at_the_end_of_the_file(run, repo):
    """docs/usage.md: every settings error is file:line:col; tomllib places an unclosed array "at end of document"."""
    (repo / "pyproject.toml").write_text('[tool.eos-guard]\nignore = ["EOS001"\n')
    code, out, err = run("models/chat", cwd=repo)
    assert (code, out, err) == (2, "", "eos-guard: pyproject.toml:3:1: cannot parse TOML: Unclosed array at the end of "
                                       "the file\n")


def test_a_mistyped_setting_gets_a_suggestion(run, repo):
    (repo / ".eos-guard.yaml").write_text("fail_on: never\n")
    code, out, err = run("models/chat", cwd=repo)
    assert code == 2 and "unknown setting 'fail_on' (did you mean 'fail-on'?" in err


@pytest.mark.parametrize("table, shown", [("eos_guard", "eos_guard"), ("eosguard", "eosguard"),
                                          ("EOS-Guard", "EOS-Guard"), ('"eos guard"', '"eos guard"')])
def test_a_tool_eos_underscore_guard_table_is_an_error_not_ignored(run, repo, table, shown):
    (repo / "pyproject.toml").write_text(f'[project]\nname = "m"\n\n[tool.{table}]\nfail-on = "never"\n')
    code, out, err = run("models/chat", cwd=repo)
    assert (code, out, err) == (2, "", f"eos-guard: pyproject.toml:4:1: [tool.{shown}] is not read: eos-guard's table "
                                       "is [tool.eos-guard]\n")


@pytest.mark.parametrize("text, message", [
    pytest.param("runtimes: []\n", ".eos-guard.yaml:1:11: runtimes names no runtime: list the runtimes whose failure "
                 "to stop is an error", id="no-runtime"),
    pytest.param("max-file-size: true\n", ".eos-guard.yaml:1:16: max-file-size must be a positive number, not true",
                 id="boolean-spelled-as-yaml-spells-it"),
])
def test_settings_errors_speak_the_settings_files_language(run, repo, text, message):
    (repo / ".eos-guard.yaml").write_text(text)
    code, out, err = run("models/chat", cwd=repo)
    assert (code, out) == (2, "") and err.startswith(f"eos-guard: {message}"), err


def test_a_single_exclude_pattern_may_be_written_without_the_list(run, repo):
    (repo / ".eos-guard.yaml").write_text("exclude: models/chat\n")
    code, out, err = run("--format", "json", "models", cwd=repo)
    assert json.loads(out)["findings"] == [] and "chat" not in out, (code, out, err)
    # helper-203: "m1, m2" was one pattern that matched nothing, where select's "EOS001, EOS002" is two codes
    shutil.copytree(repo / "models" / "chat", repo / "models" / "other")
    (repo / ".eos-guard.yaml").write_text("exclude: models/chat, models/other\n")
    assert run(".", cwd=repo) == (0, "No model folders found (2 model folders excluded by the settings).\n", "")
    shown = json.loads(run("--show-settings", "--format", "json", cwd=repo)[1])["settings"]
    assert shown["exclude"] == ["models/chat", "models/other"]
    (repo / ".eos-guard.yaml").write_text('exclude: "models/[co]*, x"\n')  # helper-205: a set keeps its commas
    assert run(".", cwd=repo) == (0, "No model folders found (2 model folders excluded by the settings).\n", "")
    (repo / ".eos-guard.yaml").write_text('exclude: "models/[c,o]*"\n')
    assert run(".", cwd=repo) == (0, "No model folders found (2 model folders excluded by the settings).\n", "")


def test_a_single_rule_or_runtime_may_be_written_without_the_list(run, repo):
    """docs/usage.md: `select`, `ignore` and `runtimes` take a list, or one value written alone."""
    (repo / ".eos-guard.yaml").write_text("select: EOS002\nruntimes: all\n")
    code, out, _ = run("--format", "concise", "models/chat", cwd=repo)
    assert ": EOS002 " in out and ": EOS001 " not in out
    (repo / ".eos-guard.yaml").write_text("ignore: EOS001\n")
    code, out, _ = run("--format", "concise", "models/chat", cwd=repo)
    assert code == 0 and ": EOS001 " not in out and ": EOS002 " in out
    (repo / ".eos-guard.yaml").write_text("runtimes: vllm\n")
    code, out, _ = run("--format", "text", "models/chat", cwd=repo)
    assert "stops in vllm: yes" in out and "stops in transformers" not in out


def test_runtime_names_are_read_in_any_case_and_a_spelling_without_punctuation_gets_a_hint(run, repo):
    """helper-196: 'vLLM' (the project's own spelling) was an unknown runtime while `fail-on: Warning` was read,
    and 'llamacpp' got no hint. Runtime names are read in any case; a name written without its punctuation is
    refused with the name it means; one runtime named twice in runtime-versions is an error."""
    (repo / ".eos-guard.yaml").write_text("runtimes: [vLLM, TGI]\nruntime-versions: {Ollama: '0.30'}\n")
    code, out, err = run("--show-settings", "--format", "json", "models/chat", cwd=repo)
    shown = json.loads(out)["settings"]
    assert code == 0 and shown["runtimes"] == ["vllm", "tgi"] and shown["runtime-versions"] == {"ollama": "0.30"}, out
    for setting, name, meant in (("runtimes: [llamacpp]", "llamacpp", "llama.cpp"),
                                 ("runtime-versions: {mlx_lm: '0.31'}", "mlx_lm", "mlx-lm")):
        (repo / ".eos-guard.yaml").write_text(setting + "\n")
        code, _, err = run("models/chat", cwd=repo)
        assert code == 2 and f"unknown runtime '{name}' (did you mean {meant}? known: " in err, err
    (repo / ".eos-guard.yaml").write_text("runtime-versions: {vllm: '0.11', vLLM: '0.12'}\n")
    code, _, err = run("models/chat", cwd=repo)
    assert code == 2 and "runtime-versions: vllm is named twice" in err, err
    (repo / ".eos-guard.yaml").unlink()
    assert run("--runtime", "SGLang,Ollama", "models/chat", cwd=repo)[0] in (0, 1)
    assert "did you mean llama.cpp?" in run("--runtime", "llama-cpp", "models/chat", cwd=repo)[2]


def test_the_api_takes_paths_as_bytes_too(repo):
    """os.PathLike, str and bytes, as os.fsdecode takes them: bytes raised TypeError from inside check()."""
    import eos_guard

    report = eos_guard.check(bytes(repo / "models" / "chat"))
    assert [f.code for f in report.findings() if f.code == "EOS001"] == ["EOS001"]


def test_severity_overrides_a_rule_whose_severity_depends_on_the_case(run, repo):
    """usage.md: `severity` sets a rule's severity whatever the case would give it. EOS002 is a warning next to a
    template's terminator (this folder); set to error, it fails the run on its own."""
    (repo / ".eos-guard.yaml").write_text("select: [EOS002]\n")
    assert run("--format", "concise", "models/chat", cwd=repo)[0] == 0
    (repo / ".eos-guard.yaml").write_text("select: [EOS002]\nseverity:\n  EOS002: error\n")
    code, out, _ = run("--format", "concise", "models/chat", cwd=repo)
    assert code == 1 and " EOS002 error: " in out


@pytest.mark.parametrize("table", ["{EOS0: info, EOS002: error}", "{EOS002: error, EOS0: info}",
                                   "{ALL: info, EOS00: warning, tokenizer-eos-not-stop-id: error}",
                                   "{tokenizer-eos-not-stop-id: error, EOS00: warning, ALL: info}"])
def test_a_rule_s_own_severity_beats_a_prefix_s_in_any_order(run, repo, table):
    """helper-130: the last key of `severity` won, so swapping two keys changed the exit code. A code or a name
    now beats a prefix, and a longer prefix a shorter one or ALL, as written anywhere in the mapping."""
    (repo / ".eos-guard.yaml").write_text(f"select: [EOS002]\nseverity: {table}\n")
    code, out, _ = run("--format", "concise", "models/chat", cwd=repo)
    assert code == 1 and " EOS002 error: " in out


@pytest.mark.parametrize("table, key, other, level", [
    ("{EOS001: info, terminator-not-stop-id: error}", "terminator-not-stop-id", "EOS001", "info"),
    ("{terminator-not-stop-id: error, EOS001: info}", "EOS001", "terminator-not-stop-id", "error"),
    ("{eos001: info, EOS001: error}", "EOS001", "eos001", "info")])
def test_two_keys_for_one_rule_with_different_severities_are_an_error(run, repo, table, key, other, level):
    """A code and a name of the same rule (or two spellings of its code) are the same key to the rule, as a key
    written twice is: which one won depended on their order."""
    (repo / ".eos-guard.yaml").write_text(f"severity: {table}\n")
    code, _, err = run("models/chat", cwd=repo)
    column = len("severity: ") + table.index(key + ":") + len(key) + 3
    assert (code, err) == (2, f"eos-guard: .eos-guard.yaml:1:{column}: severity '{key}': EOS001 is also given by "
                              f"'{other}', with another severity ({level})\n")
    (repo / ".eos-guard.yaml").write_text(f"severity: {table.replace('info', 'error')}\n")
    assert run("models/chat", cwd=repo)[0] == 1  # the same severity twice says the same thing


@pytest.mark.parametrize("name,text,message", [
    pytest.param("pyproject.toml", '[tool.eos-guard]\nmax-file-size = "5"\n',
                 "2:17: max-file-size must be a positive number, not '5' (a string: write the number without quotes)",
                 id="toml-quoted"),
    pytest.param(".eos-guard.yaml", 'max-file-size: "5"\n',
                 "1:16: max-file-size must be a positive number, not '5' (a string: write the number without quotes)",
                 id="yaml-quoted"),
])
def test_a_quoted_number_is_said_to_be_quoted_not_a_yaml_exponent(run, repo, name, text, message):
    """The YAML 1.1 hint (1e-3 is text there) was given for a quoted "5" in pyproject.toml too."""
    (repo / name).write_text(text, encoding="utf-8")
    code, _, err = run("models/chat", cwd=repo)
    assert code == 2 and err == f"eos-guard: {name}:{message}\n"


def _usage_example(kind: str) -> str:
    """The ```yaml or ```toml settings example of docs/usage.md's Configuration section, as a reader copies it."""
    usage = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    [example] = re.findall(rf"```{kind}\n(.*?)```", usage.split("## Configuration", 1)[1], flags=re.S)
    return example


def test_the_usage_page_s_yaml_example_is_read_as_it_says(run, tmp_path):
    """Its comment: pad-is-terminator (info by default) raised to a warning, which fails with fail-on: warning."""
    (tmp_path / ".eos-guard.yaml").write_text(_usage_example("yaml"), encoding="utf-8")
    shutil.copytree(RULE_CASES / "EOS013-pad-is-terminator", tmp_path / "pad")
    code, out, err = run("--format", "json", "pad")
    assert (code, err) == (1, "")
    assert [(f["code"], f["severity"]) for f in json.loads(out)["findings"]] == [("EOS013", "warning")]


def test_the_usage_page_s_toml_example_is_read_as_it_says(run, tmp_path):
    """EOS013 ignored, and mlx-lm modelled as its 0.31 release, which does not stop on the tokenizer's eos when
    generation_config.json lists another id (docs/runtimes.md)."""
    (tmp_path / "pyproject.toml").write_text(_usage_example("toml"), encoding="utf-8")
    shutil.copytree(RULE_CASES / "EOS013-pad-is-terminator", tmp_path / "pad")
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "chatml")
    code, out, err = run("--format", "json", "pad", "chatml")
    report = json.loads(out)
    assert (code, err, report["errors"]) == (1, "", [])
    assert "EOS013" not in {f["code"] for f in report["findings"]}
    assert {m["path"]: m["stops"]["mlx-lm"] for m in report["models"]} == {"pad": True, "chatml": False}
    (tmp_path / "pyproject.toml").unlink()  # the newest mlx-lm stops there
    assert json.loads(run("--format", "json", "chatml")[1])["models"][0]["stops"]["mlx-lm"] is True


def test_the_usage_page_s_key_table_names_every_key_with_its_default_and_maximum():
    """docs/usage.md's settings table: the keys eos-guard reads, no more and no fewer, with the defaults and the
    maxima the code applies."""
    from eos_guard.config import KEYS, MAXIMUM
    from eos_guard.config_types import Config

    usage = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    table = usage.split("| key | type | meaning | default |", 1)[1].split("\n\n", 1)[0]
    rows = {row.split("`")[1]: row.rsplit("|", 2)[1].strip() for row in table.splitlines()[2:]}
    assert list(rows) == list(KEYS)  # in the order --show-settings prints them (helper-144: they differed)
    config = Config()
    assert rows["max-file-size"] == f"`{config.max_file_bytes // 2**20}`"
    assert rows["max-config-size"] == f"`{config.max_config_bytes // 2**20}`"
    assert rows["template-timeout"] == f"`{config.limits.seconds:g}`"
    assert rows["template-max-output"] == f"`{config.limits.max_output}`"
    assert rows["fail-on"] == f"`{config.fail_on}`" and rows["runtimes"] == f"`[{', '.join(config.runtimes)}]`"
    assert rows["cache"] == f"`{str(config.limits.cache).lower()}`"
    for key, maximum in MAXIMUM.items():
        row = table.split(f"| `{key}` |", 1)[1].split("\n", 1)[0]
        assert f"at most {maximum:,}" in row or f"at most {maximum} " in row, key


def test_a_toml_config_file_holds_the_settings_at_its_top_level(run, repo):
    """docs/usage.md: --config names a .eos-guard.yaml-style file, a pyproject.toml (its [tool.eos-guard] table;
    without one, the defaults), or another .toml file whose top-level keys are the settings, as ruff.toml's are."""
    (repo / "eos-guard.toml").write_text('fail-on = "never"\n', encoding="utf-8")
    assert run("--config", "eos-guard.toml", "models/chat", cwd=repo)[0] == 0
    (repo / "eos-guard.toml").write_text('[tool.eos-guard]\nfail-on = "never"\n', encoding="utf-8")
    code, _, err = run("--config", "eos-guard.toml", "models/chat", cwd=repo)
    assert code == 2 and "unknown setting 'tool'" in err, err
    (repo / "other").mkdir()
    (repo / "other" / "pyproject.toml").write_text('[tool.ruff]\nline-length = 100\n', encoding="utf-8")
    assert run("--config", "other/pyproject.toml", "models/chat", cwd=repo)[0] == 1


@pytest.mark.parametrize("quoted, text", [
    (r'"a\x2Db"', "a-b"), (r'"\U0001F600"', "\U0001F600"), (r'"\e"', "\x1b"), (r'"a\\b"', "a\\b"),
    (r'"\x"', r"\x"), (r'"\u"', r"\u"), (r'"\UFFFFFFFF"', r"\UFFFFFFFF"),  # no escape: kept as written
])
def test_a_quoted_toml_key_is_unescaped_without_a_toml_parser(quoted, text):
    """The position scan reads keys as TOML 1.0 and 1.1 (tomli 2.5 on Python 3.10) write them, without tomllib
    (absent on 3.10), and never raises on an escape it does not know (helper-118)."""
    from eos_guard.config import _basic_string

    assert _basic_string(quoted) == text
