"""The command line as users meet it: output formats, exit codes, bad input, folder discovery."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from support import FIXTURES, OWN_TEMPLATE, ROOT, RULE_CASES, write_json

BROKEN = RULE_CASES / "EOS001-terminator-not-stop-id"
EXPECTED_CONCISE = (
    "generation_config.json:3:19: EOS001 error: the chat template ends assistant turns with '<|im_end|>' (151645), but "
    "generate() stops only on [151643 '<|endoftext|>'] (generation_config.json eos_token_id); add 151645 "
    "[terminator-not-stop-id]\n"
    "generation_config.json:3:19: EOS002 warning: the tokenizer's eos '<|im_end|>' (151645) is not among the stop ids "
    "[151643 '<|endoftext|>'] (generation_config.json eos_token_id); add 151645 [tokenizer-eos-not-stop-id]\n"
    "1 of 1 model folder fails (1 error, 1 warning); --fix changes 1 file in 1 folder.\n"
)


def test_concise_is_the_default_when_stdout_is_not_a_terminal(run):
    assert run(cwd=BROKEN) == (1, EXPECTED_CONCISE, "")
    assert run("--format", "concise", cwd=BROKEN) == (1, EXPECTED_CONCISE, "")


def test_github_output_is_escaped_workflow_commands(run, tmp_path):
    import shutil

    # outside any git work tree, file= is relative to the folder eos-guard runs in (test_sarif.py: in one, to it)
    folder = shutil.copytree(BROKEN, tmp_path / "m")
    code, out, _ = run("--format", "github", cwd=folder)
    assert code == 1
    assert out.splitlines()[0] == (
        "::error file=generation_config.json,line=3,col=19,endLine=3,endColumn=25,"
        "title=EOS001 terminator-not-stop-id::the chat template ends assistant turns with '<|im_end|>' (151645), "
        "but generate() stops only on [151643 '<|endoftext|>'] (generation_config.json eos_token_id); add 151645")
    assert out.splitlines()[1].startswith("::warning file=generation_config.json,line=3,col=19,")


def test_auto_format_is_github_inside_actions(run, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = run(cwd=BROKEN)
    assert out.startswith("::error file=")


def test_statistics_inside_actions_prints_the_table(run, monkeypatch):
    """helper-119: --statistics with --format auto inside GitHub Actions printed annotations, the option ignored;
    the table is printed, as elsewhere (an explicit --format github with it is a usage error)."""
    outside = run("--statistics", cwd=BROKEN)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    inside = run("--statistics", cwd=BROKEN)
    assert inside == outside and "::" not in inside[1] and inside[0] == 1


def test_json_output_document(run):
    code, out, _ = run("--format", "json", "EOS001-terminator-not-stop-id", cwd=RULE_CASES)
    doc = json.loads(out)
    assert code == 1 and doc["version"] == 1
    assert doc["findings"][0] == {
        "code": "EOS001", "name": "terminator-not-stop-id", "severity": "error",
        "path": "EOS001-terminator-not-stop-id/generation_config.json", "line": 3, "column": 19,
        "end_line": 3, "end_column": 25,
        "message": "the chat template ends assistant turns with '<|im_end|>' (151645), but generate() stops only "
                   "on [151643 '<|endoftext|>'] (generation_config.json eos_token_id); add 151645",
        "model": "EOS001-terminator-not-stop-id"}
    assert doc["models"] == [{
        "path": "EOS001-terminator-not-stop-id",
        "tokenizer_eos": {"token": "<|im_end|>", "id": 151645},
        "terminator": {"token": "<|im_end|>", "id": 151645, "template": "default"},
        "templates": [{"name": "default", "path": "EOS001-terminator-not-stop-id/tokenizer_config.json",
                       "token": "<|im_end|>", "id": 151645, "after_call": None,
                       "after_builtin_call": None}],  # it renders no tool call
        "stop_ids": {"transformers": [151643], "vllm": [151645, 151643], "sglang": [151645, 151643],
                     "tgi": [151645], "mlx-lm": [151643, 151645], "llama.cpp": [151645, 151643],
                     "ollama": [151645, 151643]},
        "stops": {"transformers": False, "vllm": True, "sglang": True, "tgi": True, "mlx-lm": True,
                  "llama.cpp": True, "ollama": True}}]


@pytest.mark.parametrize("args,expected", [
    pytest.param([], 1, id="default-fails-on-error"),
    pytest.param(["--fail-on", "warning"], 1, id="fail-on-warning"),
    pytest.param(["--exit-zero"], 0, id="exit-zero"),
    pytest.param(["--fail-on", "never"], 0, id="fail-on-never"),
    pytest.param(["--ignore", "EOS001"], 0, id="ignored-error-leaves-warning"),
    pytest.param(["--ignore", "EOS001", "--fail-on", "warning"], 1, id="warning-fails-when-asked"),
    pytest.param(["--select", "EOS003"], 0, id="select-other-rule"),
])
def test_exit_codes(run, args, expected):
    assert run(*args, cwd=BROKEN)[0] == expected


def test_summary_is_appended_to_the_file_and_changes_nothing_else(run, tmp_path):
    """docs/usage.md: --summary FILE appends (as to $GITHUB_STEP_SUMMARY, which earlier steps wrote to); stdout and
    the exit code are those of the run without it."""
    shutil.copytree(BROKEN, tmp_path / "m")
    (tmp_path / "summary.md").write_text("an earlier step's summary\n", encoding="utf-8")
    without = run("m")
    assert run("--summary", "summary.md", "m") == without
    run("--summary", "summary.md", "m")
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("an earlier step's summary\n## eos-guard\n") and summary.count("## eos-guard\n") == 2
    # an earlier step that wrote no last line break: the heading still starts a line (helper-119)
    (tmp_path / "summary.md").write_text("no line break", encoding="utf-8")
    run("--summary", "summary.md", "m")
    assert (tmp_path / "summary.md").read_text(encoding="utf-8").startswith("no line break\n## eos-guard\n")


def test_the_summary_lists_a_folder_s_findings_most_severe_first_as_the_text_report_does(run, tmp_path):
    """They came in file order: config.json's EOS003 warning before generation_config.json's EOS001 error."""
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    code, text, _ = run("--format", "text", "--summary", "summary.md", "m")
    rows = [line.split(" | ")[0].lstrip("| ") for line in (tmp_path / "summary.md").read_text(encoding="utf-8")
            .splitlines() if line.startswith("| EOS")]
    assert code == 1
    assert rows == [line.split()[2] for line in text.splitlines() if line.startswith("  ")] == \
        ["EOS001", "EOS003", "EOS002"]


def test_clean_folder_passes(run):
    code, out, err = run(cwd=RULE_CASES / "EOS013-pad-is-terminator")
    assert code == 0 and out.endswith("1 model folder passes (1 info).\n")


def test_files_are_grouped_by_folder_like_pre_commit_passes_them(run):
    code, out, _ = run("EOS001-terminator-not-stop-id/config.json", "EOS001-terminator-not-stop-id/tokenizer_config.json",
                       "EOS001-terminator-not-stop-id/generation_config.json", cwd=RULE_CASES)
    assert code == 1 and out.count(": EOS001 ") == 1
    assert out.endswith("1 of 1 model folder fails (1 error, 1 warning); --fix changes 1 file in 1 folder.\n")


def test_recursive_search_skips_hidden_and_virtualenv_folders(run, tmp_path):
    write_json(tmp_path / "models" / "a" / "config.json", {"eos_token_id": 2})
    write_json(tmp_path / ".git" / "x" / "config.json", {"eos_token_id": "bad"})
    write_json(tmp_path / "env" / "pyvenv.cfg", {})
    write_json(tmp_path / "env" / "lib" / "config.json", {"eos_token_id": "bad"})
    # that .git is no repository git can read: the default baseline would say so (test_cli_failures.py)
    code, out, _ = run("--baseline", "none", ".")
    # a config.json alone names no token an answer ends with: the closing line says what was not checked
    assert code == 0 and out == "All checks passed (1 model folder; 1 names no token that ends an answer: stopping not checked).\n"


@pytest.mark.parametrize("name", ["node_modules", "__pycache__", "site-packages", "lost+found", "venv"])
def test_recursive_search_skips_the_folders_usage_md_names(run, tmp_path, name):
    """docs/usage.md lists them; a `venv` is skipped by its name, with or without pyvenv.cfg."""
    write_json(tmp_path / "models" / "a" / "config.json", {"eos_token_id": 2})
    write_json(tmp_path / "models" / name / "pkg" / "config.json", {"eos_token_id": "bad"})
    assert run("models") == (0, "All checks passed (1 model folder; 1 names no token that ends an answer: stopping not checked).\n", "")


@pytest.mark.parametrize("content,message", [
    pytest.param(b'{"eos_token_id": 2,\n  "x": }', "config.json:2:8: cannot parse JSON: Expecting value",
                 id="malformed"),
    # Python 3.13's words and place on every version (3.10-3.12 say "Expecting property name ..." at the brace)
    pytest.param(b'{"eos_token_id": [2, 7],\n  "x": 1,\n}',
                 "config.json:2:9: cannot parse JSON: Illegal trailing comma before end of object", id="trailing-comma"),
    pytest.param(b'{"eos_token_id": [2, 7, ]}',
                 "config.json:1:23: cannot parse JSON: Illegal trailing comma before end of array",
                 id="trailing-comma-array"),
    pytest.param(b'{"eos_token_id": [2, 7,}', "config.json:1:24: cannot parse JSON: Expecting value",
                 id="comma-then-the-wrong-bracket"),
    pytest.param(b'{"eos_token_id": 2, "n": "\xff"}', "config.json:1:27: cannot decode UTF-8: invalid byte 0xff",
                 id="not-utf8"),
    pytest.param(b'{"n": "\xc3\xa9", "m": "\xff", "model_type": "x"}',
                 "config.json:1:18: cannot decode UTF-8: invalid byte 0xff",
                 id="not-utf8-after-a-two-byte-character"),  # columns count characters, as SARIF declares
    pytest.param(b'\xef\xbb\xbf{"model_type": "llama"}',
                 "config.json:1:1: cannot parse JSON: file starts with a UTF-8 byte order mark",
                 id="bom"),
])
def test_unreadable_file_is_one_line_exit_2_and_others_still_checked(run, tmp_path, content, message):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_bytes(content)
    write_json(tmp_path / "good" / "config.json", {"eos_token_id": 2})
    code, out, err = run(".")
    assert code == 2
    assert err.startswith(f"eos-guard: bad/{message}")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == "No findings in 2 model folders; 1 cannot be read; 1 names no token that ends an answer: stopping not checked.\n"


@pytest.mark.parametrize("content,message", [
    pytest.param('{"x": "ééééééééé", "added_tokens": [tru], "model": {}}', "1:37: cannot parse JSON: Expecting value",
                 id="in-added_tokens"),
    pytest.param('{"added_tokens": [],\n "model": {"type": "BPE", "vocab": {"é": 0, "b" 1}, "merges": []}}',
                 "2:49: cannot parse JSON: Expecting ':' delimiter", id="in-model.vocab"),
    pytest.param('{"x": "é", "added_tokens": ["\udcff"]}', "1:30: cannot decode UTF-8: invalid byte 0xff",
                 id="not-utf8"),
    # what a tokenizer.json that is not JSON looks like in practice: each used to be read as an empty vocabulary,
    # and --fix then wrote ids numbered from 0
    pytest.param("version https://git-lfs.github.com/spec/v1\noid sha256:4b2e8f8c1f1d0a3f2a8c6a4a2e9c1b2e3f4a5b6c7d"
                 "8e9f0a1b2c3d4e5f6a7b8c\nsize 7031645\n",
                 "1:1: cannot parse JSON: a git-LFS pointer, not the file: run git lfs pull", id="git-lfs-pointer"),
    pytest.param("", "1:1: cannot parse JSON: Expecting value", id="empty"),
    pytest.param("<!DOCTYPE html><html>404</html>", "1:1: cannot parse JSON: Expecting value", id="html"),
    pytest.param('{"model": {"vocab": {}}}'.encode("utf-16").decode("utf-8", "surrogateescape"),
                 "1:1: cannot decode UTF-8: invalid byte 0xff: the file starts with a UTF-16 byte order mark; save "
                 "it as UTF-8", id="utf-16"),
    pytest.param('{"added_tokens": [], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}\n<<<<<<< HEAD',
                 "2:1: cannot parse JSON: Extra data", id="garbage-after"),
    pytest.param('{"added_tokens": [], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a", "b"]',
                 "1:87: cannot parse JSON: Expecting ',' delimiter", id="truncated"),
])
def test_tokenizer_json_errors_are_those_of_any_other_file(run, tmp_path, content, message):
    """tokenizer.json is read in parts (docs/performance.md), yet a file that is not JSON is an error, and the
    error names json's reason at the line and character column of the real error, as the same bytes in
    config.json do."""
    raw = content.encode("utf-8", "surrogateescape")
    write_json(tmp_path / "t" / "config.json", {"eos_token_id": 2})
    (tmp_path / "t" / "tokenizer.json").write_bytes(raw)
    write_json(tmp_path / "c" / "generation_config.json", {"eos_token_id": 2})  # a model folder, whatever config.json holds
    (tmp_path / "c" / "config.json").write_bytes(raw)
    code, out, err = run(".")
    assert code == 2
    assert err.splitlines() == [f"eos-guard: c/config.json:{message}", f"eos-guard: t/tokenizer.json:{message}"]


@pytest.mark.parametrize("content,message", [
    pytest.param("[1]", "1:1: the file is an array, not an object", id="not-an-object"),
    pytest.param('{"added_tokens": []}', "1:1: model is missing", id="no-model"),
    pytest.param('{"added_tokens": [], "model": "BPE"}', "1:31: model is a string, not an object", id="model-string"),
    pytest.param('{"added_tokens": {"<|im_end|>": 2}, "model": {"type": "BPE", "vocab": {}, "merges": []}}',
                 "1:18: added_tokens is an object, not an array", id="added_tokens-object"),
    pytest.param('{"model": {"type": "BPE", "merges": []}}', "1:11: model.vocab is missing", id="no-vocab"),
    pytest.param('{"model": {"type": "BPE", "vocab": [["a", 0.0]], "merges": []}}',
                 "1:36: model.vocab is an array, not the object a BPE model needs", id="vocab-array"),
])
def test_a_tokenizer_json_the_tokenizers_library_cannot_load_is_an_error_and_fix_writes_nothing(
        run, tmp_path, content, message):
    """Without a model vocabulary, added tokens would be numbered from 0 and --fix would write those ids."""
    folder = tmp_path / "m"
    write_json(folder / "config.json", {"eos_token_id": 151643})
    write_json(folder / "generation_config.json", {"eos_token_id": 151643})
    write_json(folder / "tokenizer_config.json", {"eos_token": "<|im_end|>", "added_tokens_decoder": {
        "151643": {"content": "<|endoftext|>", "special": True}, "151645": {"content": "<|im_end|>", "special": True}}})
    (folder / "tokenizer.json").write_text(content, encoding="utf-8")
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    for args in (("m",), ("--fix", "m")):
        code, out, err = run(*args)
        assert code == 2
        assert err.splitlines() == [f"eos-guard: m/tokenizer.json:{message}: the tokenizers library cannot load "
                                    "this tokenizer.json"]
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


@pytest.mark.parametrize("value,shown", [
    pytest.param("2", '"2"', id="string"),
    pytest.param(None, None, id="null"),
    pytest.param(2.0, "2.0", id="float"),
    pytest.param([[2]], "[2]", id="nested-list"),
    pytest.param(-1, "-1", id="negative"),
    pytest.param(True, "true", id="bool"),
])
def test_wrongly_typed_stop_ids_are_findings(run, tmp_path, value, shown):
    write_json(tmp_path / "m" / "config.json", {"eos_token_id": 2})
    write_json(tmp_path / "m" / "generation_config.json", {"eos_token_id": value})
    code, out, err = run("--format", "json", ".")
    codes = [f["code"] for f in json.loads(out)["findings"]]
    assert code == 1 and err == ""
    if shown is None:
        assert codes == ["EOS004"]
    else:
        assert codes == ["EOS007"] and shown in json.loads(out)["findings"][0]["message"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [151645, float("-inf")], 1e300])
def test_an_id_torch_cannot_cast_is_reported_not_a_crash(tmp_path, value):
    """helper-171: EOS007's hint cast every float with int(), and NaN or Infinity (which Python's json and
    transformers read) stopped the folder with an internal error."""
    from eos_guard.pipeline import check_folder

    folder = tmp_path / "m"
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", folder)
    write_json(folder / "generation_config.json", {"eos_token_id": value})
    report = check_folder(folder)
    assert report.error is None, report.error
    [invalid] = [f.message for f in report.findings if f.code == "EOS007"]
    assert "generate() reads" not in invalid, invalid


@pytest.mark.parametrize("value,stops", [([151645.0, 151643], True), (151645.7, True), ([True], False),
                                         (["151645", 151643], False)])
def test_generate_casts_a_float_or_bool_id_and_eos_guard_reads_it_so(tmp_path, value, stops):
    """helper-168: generation_config.json [151645.0, 151643] was "transformers never stops" with EOS001 "add 151645",
    which --fix did not do; generate() casts the float to 151645 (tests/e2e/test_generate_casts_ids.py runs it)."""
    from eos_guard.pipeline import check_folder

    folder = tmp_path / "m"
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", folder)
    write_json(folder / "generation_config.json", {"bos_token_id": 151643, "eos_token_id": value})
    report = check_folder(folder)
    assert (151645 in report.model.runtime_stops["transformers"].ids) is stops
    codes = sorted(f.code for f in report.findings)
    assert codes == (["EOS007"] if stops else ["EOS001", "EOS002", "EOS007"]), codes
    [invalid] = [f.message for f in report.findings if f.code == "EOS007"]
    assert ("generate() reads" in invalid and "as 151645" in invalid) is stops, invalid
    # --fix adds to no value of the wrong type: EOS001 says to write the ids as integers first (helper-171)
    assert all(f.message.endswith("write eos_token_id as non-negative integer ids (EOS007), then add 151645")
               for f in report.findings if f.code == "EOS001")


def test_bad_option_is_exit_2(run):
    assert run("--format", "xml")[0] == 2


@pytest.mark.parametrize("template,expected", [
    pytest.param("{{ raise_exception('nope') }}", "failed on every probe conversation", id="always-raises"),
    pytest.param("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                 "took longer than", id="loop"),
    pytest.param("{{ 'a' * 100000000 }}", "produced more than", id="output-bomb"),
    pytest.param("{% macro f(x) %}{{ f(x) }}{% endmacro %}{{ f(1) }}", "RecursionError", id="recursion"),
    pytest.param("{{ ''.__class__.__mro__[1].__subclasses__() }}", "failed on every probe", id="attribute-walk"),
    pytest.param("{% if %}", "TemplateSyntaxError", id="syntax-error"),
])
def test_hostile_or_broken_templates_end_in_a_finding(run, tmp_path, template, expected):
    write_json(tmp_path / "m" / "tokenizer_config.json", {"eos_token": "</s>", "chat_template": template})
    write_json(tmp_path / "m" / "config.json", {"eos_token_id": 2})
    (tmp_path / ".eos-guard.yaml").write_text("template-timeout: 0.5\n")
    code, out, err = run("--format", "json", ".")
    findings = [f for f in json.loads(out)["findings"] if f["code"] == "EOS014"]
    assert len(findings) == 1 and expected in findings[0]["message"], out
    assert err == ""


def test_runs_as_a_module_without_traceback(tmp_path):
    write_json(tmp_path / "m" / "config.json", {"eos_token_id": 2})
    (tmp_path / "m" / "generation_config.json").write_text("{oops")
    proc = subprocess.run([sys.executable, "-m", "eos_guard", str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "generation_config.json:1:2: cannot parse JSON" in proc.stderr


def test_input_errors_survive_pickling_with_their_place():
    """Worker processes send reports back pickled; an InputError (and HubError, whose __init__ differs) must come
    back whole: the exception default would call __init__ with the message alone."""
    import pickle

    from eos_guard.errors import InputError
    from eos_guard.hub import HubError
    from eos_guard.sources import HubRef

    error = InputError("m/generation_config.json", "cannot parse JSON: Expecting value", 3, 19)
    back = pickle.loads(pickle.dumps(error))
    assert (type(back), back.path, back.message, back.line, back.column, str(back)) == \
        (InputError, error.path, error.message, 3, 19, str(error))
    hub = HubError(HubRef("org/name", None), "not found")
    back = pickle.loads(pickle.dumps(hub))
    assert type(back) is HubError and back.reason == "not found" and str(back) == str(hub)


def forked():
    import multiprocessing

    return multiprocessing.get_context("fork")


def test_many_folders_are_checked_in_parallel_with_the_same_report(run, tmp_path, monkeypatch):
    import shutil

    from eos_guard import pipeline as check

    for i in range(12):
        shutil.copytree(RULE_CASES / ("EOS001-terminator-not-stop-id" if i % 3 else "EOS013-pad-is-terminator"),
                        tmp_path / "tree" / f"m{i:02d}")
    # a folder that cannot be read: its report carries an InputError, which a worker sends back pickled
    shutil.copytree(FIXTURES / "generation-config-invalid-json", tmp_path / "tree" / "m12")
    serial = run("--format", "json", "tree")
    assert "cannot parse JSON" in serial[1]
    monkeypatch.setattr(check, "PARALLEL_FROM", 2)
    monkeypatch.setattr(check, "_cores", lambda: 2)  # as on an idle 2-core machine
    monkeypatch.setattr(check, "_idle_cores", lambda: 2)
    monkeypatch.setattr(check, "_start_method", forked)  # workers, even where earlier tests left a thread
    assert run("--format", "json", "tree") == serial
    assert json.loads(serial[1])["findings"][0]["model"] == "tree/m00"
    # --fix keeps each folder's documents to plan its edits: workers send them back too, and the same files change
    shutil.copytree(tmp_path / "tree", tmp_path / "copy")
    monkeypatch.setattr(check, "_cores", lambda: 1)
    fixed_serially = run("--fix", "--format", "json", "copy")
    monkeypatch.setattr(check, "_cores", lambda: 2)
    fixed_in_parallel = run("--fix", "--format", "json", "tree")
    assert fixed_in_parallel == (fixed_serially[0], *(part.replace("copy/", "tree/") for part in fixed_serially[1:]))
    assert "tree/m01/generation_config.json" in json.loads(fixed_in_parallel[1])["written"]
    for path in (tmp_path / "copy").rglob("*.json"):
        assert path.read_bytes() == (tmp_path / "tree" / path.relative_to(tmp_path / "copy")).read_bytes(), path


def test_the_api_checks_many_folders_in_parallel_when_one_has_a_large_tokenizer_json(tmp_path, monkeypatch):
    """eos_guard.check() keeps each folder's model in its report: a worker sends it back pickled, and a
    tokenizer.json over 1 MB is hashed on a thread (cache.Lookup) whose lock could not be pickled: the whole call
    raised TypeError. Run as on an idle 2-core machine."""
    import shutil

    from tokenizers import AddedToken, Tokenizer
    from tokenizers.models import WordLevel

    import eos_guard
    from eos_guard import pipeline as check

    for i in range(4):
        shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "tree" / f"m{i}")
    big = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "tree" / "big")
    tokenizer = Tokenizer(WordLevel({f"piece{i:06d}": i for i in range(80_000)}, unk_token="piece000000"))
    tokenizer.add_special_tokens([AddedToken(t, special=True) for t in ("<|endoftext|>", "<|im_start|>",
                                                                       "<|im_end|>")])
    tokenizer.save(str(big / "tokenizer.json"))
    assert (big / "tokenizer.json").stat().st_size > (1 << 20)
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cold-cache"))  # first: this process remembers entries
    monkeypatch.setattr(check, "PARALLEL_FROM", 2)
    monkeypatch.setattr(check, "_cores", lambda: 2)
    monkeypatch.setattr(check, "_idle_cores", lambda: 2)
    monkeypatch.setattr(check, "_start_method", forked)  # workers, even where earlier tests left a thread
    parallel = eos_guard.check(tmp_path / "tree")
    monkeypatch.setattr(check, "_cores", lambda: 1)
    serial = eos_guard.check(tmp_path / "tree")
    assert [(m.folder, [f.code for f in m.findings]) for m in parallel.models] == \
        [(m.folder, [f.code for f in m.findings]) for m in serial.models]
    kept = next(m.model for m in parallel.models if m.folder.name == "big")
    assert kept.vocab.id_of("<|im_end|>") == 80_002


@pytest.fixture(scope="module")
def without_dependencies(tmp_path_factory):
    """An interpreter with the standard library only (a virtualenv without pip) that imports eos-guard from this
    checkout, as an installation made with --no-deps, or the GitHub Action's first check step, has it."""
    folder = tmp_path_factory.mktemp("bare")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")], check=True)

    def run(*args, cwd):
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "EOS_GUARD_CACHE_DIR": str(folder / "cache")}
        proc = subprocess.run([str(folder / "venv" / "bin" / "python"), "-m", "eos_guard", *args], cwd=cwd,
                              env=env, capture_output=True, text=True, timeout=120)
        return proc.returncode, proc.stdout, proc.stderr

    return run


def test_a_check_that_renders_nothing_needs_no_dependency(without_dependencies, run, tmp_path):
    """A template eos-guard ships results for, no settings file: the same report as with every dependency. (Copied
    out of this repository, whose pyproject.toml names eos-guard: Python 3.10 needs tomli to read it.)"""
    import shutil

    example = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "example")
    code, out, err = without_dependencies("--format", "json", cwd=example)
    assert (code, err) == (1, "") and len(json.loads(out)["findings"]) == 3
    assert (code, out, err) == run("--format", "json", cwd=example)
    # --no-cache renders every template (no shipped results): that needs jinja2, and the message says why
    code, out, err = without_dependencies("--no-cache", cwd=example)
    assert (code, out) == (2, "") and err == (
        "eos-guard: tokenizer_config.json: with the shipped results off (no cache, or limits below the defaults), "
        "rendering the chat template needs jinja2, which is not installed (pip install jinja2)\n")
    # so do cache = false and a template limit below its default in the settings (docs/usage.md); at the default or
    # above, the shipped results stand (a pyproject.toml: Python 3.10 reads it with tomli, a dependency hidden here)
    settings = [("cache = false", True), ("template-timeout = 1", True), ("template-max-output = 1000", True),
                ("template-timeout = 3", False)]
    for setting, renders in settings if sys.version_info >= (3, 11) else []:
        (example / "pyproject.toml").write_text(f"[tool.eos-guard]\n{setting}\n", encoding="utf-8")
        code, out, err = without_dependencies("--format", "json", cwd=example)
        assert (code == 2 and "needs jinja2" in err) if renders else (code, err) == (1, ""), (setting, err)


def test_a_missing_dependency_is_one_line_and_exit_code_2(without_dependencies, tmp_path):
    folder = tmp_path / "own"
    write_json(folder / "tokenizer_config.json", {"eos_token": "<|im_end|>", "chat_template": OWN_TEMPLATE})
    code, out, err = without_dependencies("own", cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err == ("eos-guard: own/tokenizer_config.json: the chat template is not one eos-guard ships results "
                   "for; rendering it needs jinja2, which is not installed (pip install jinja2)\n")
    code, out, err = without_dependencies("--format", "github", "own", cwd=tmp_path)
    assert code == 2 and out.startswith("::error title=eos-guard::own/tokenizer_config.json: the chat template")
    (tmp_path / ".eos-guard.yaml").write_text("fail-on: warning\n", encoding="utf-8")
    code, out, err = without_dependencies("own", cwd=tmp_path)  # the settings are read first
    assert (code, out, err) == (2, "", "eos-guard: reading the settings file .eos-guard.yaml needs PyYAML, which "
                                       "is not installed (pip install PyYAML)\n")


def test_a_folder_with_a_malformed_file_is_still_checked_and_counted_as_not_read(run):
    """docs/usage.md: a broken generation_config.json still leaves config.json's findings."""
    code, out, err = run("--format", "text", str(FIXTURES / "generation-config-invalid-json"))
    assert code == 2 and "generation_config.json:4:40: cannot parse JSON" in err
    assert "config.json" in out and out.endswith("1 of 1 model folder fails (1 error); 1 checked without a malformed file.\n")


def test_a_folder_checked_without_a_malformed_file_and_no_findings_says_so(run, tmp_path):
    """A broken generation_config.json whose folder config.json aligns (transformers stops on config.json's ids):
    the folder was checked, so the closing line does not say that it cannot be read."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    (folder / "generation_config.json").write_text('{"eos_token_id": [151645, 151643],}', encoding="utf-8")
    code, out, err = run("--format", "text", str(folder))
    assert code == 2 and "m/generation_config.json:1:34: cannot parse JSON" in err
    assert out == "No findings in 1 model folder; 1 checked without a malformed file.\n"


@pytest.mark.parametrize("legacy", [False, True], ids=["with-added-tokens-decoder", "legacy"])
@pytest.mark.parametrize("name", ["special_tokens_map.json", "added_tokens.json"])
def test_a_malformed_file_transformers_does_not_open_leaves_the_folder_checked(run, tmp_path, name, legacy):
    """transformers opens special_tokens_map.json and added_tokens.json only when tokenizer_config.json has no
    added_tokens_decoder (tests/fixtures/special-tokens-map-invalid-json-with-decoder): with that key, a broken one
    is an error (exit 2) and the folder's findings are still reported; without it, AutoTokenizer fails on the
    file, and so does the folder."""
    folder = shutil.copytree(FIXTURES / "gemma-1-2b-it-gen-eos-1", tmp_path / "m")
    (folder / name).write_text('{"<start_of_turn>": 106,}', encoding="utf-8")
    if legacy:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        del config["added_tokens_decoder"]
        (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    code, out, err = run("--format", "concise", str(folder))
    assert code == 2
    assert f"{name}:1:24: cannot parse JSON" in err  # the comma
    if legacy:
        assert "does not read this file" not in err and "EOS001" not in out
    else:
        assert "transformers does not read this file here (tokenizer_config.json has added_tokens_decoder)" in err
        assert "EOS001" in out


def test_of_several_malformed_files_of_a_folder_the_first_in_reading_order_is_reported(run, tmp_path):
    """docs/usage.md: generation_config.json is read before added_tokens.json."""
    folder = shutil.copytree(FIXTURES / "gemma-1-2b-it-gen-eos-1", tmp_path / "m")
    (folder / "generation_config.json").write_text('{"eos_token_id": 1,}', encoding="utf-8")
    (folder / "added_tokens.json").write_text('{"<x>": 5,}', encoding="utf-8")
    code, out, err = run("--format", "concise", str(folder))
    assert code == 2 and "generation_config.json:1:19: cannot parse JSON" in err and "added_tokens.json" not in err
    assert "EOS001" in out  # config.json's eos 1, the template's <end_of_turn> 107


def test_a_pool_starts_where_it_pays():
    """Two workers from 2 cores with one of them idle (on 2 cores: three quarters of the wall time of one process
    when both are idle, the same when another process keeps one busy; bench/pool.py), never on 1 core or when
    every core is busy, and one worker per 100 folders at most."""
    from eos_guard.pipeline import pool_size

    assert pool_size(10_000, cores=1, idle=1) == 1
    assert pool_size(10_000, cores=2, idle=0) == 1
    assert pool_size(10_000, cores=2, idle=1) == 2
    assert pool_size(10_000, cores=2, idle=2) == 2
    assert pool_size(199, cores=2, idle=2) == 1
    assert pool_size(300, cores=8, idle=8) == 3
    assert pool_size(10_000, cores=8, idle=5) == 5



@pytest.mark.parametrize(("option", "hint"), [("--explain", "explain is a command: eos-guard explain PATH"),
                                              ("--rules", "rule is a command: eos-guard rule --all"),
                                              ("--output-format", "did you mean --format?"),  # helper-203: ruff's
                                              ("--output-format=json", "did you mean --format?")])
def test_an_option_other_tools_have_for_a_command_says_the_command(run, option, hint):
    """ruff's ``--explain``: eos-guard's ``explain`` is a command; the usage error says so."""
    code, out, err = run(option, ".")
    assert code == 2 and out == "" and err == f"eos-guard: error: unrecognized arguments: {option} ({hint})\n"


def test_workers_are_not_forked_while_another_thread_runs(tmp_path, monkeypatch):
    """eos_guard.check() over many folders from a process with other threads (a notebook's kernel, a training
    script): a fork then may deadlock the child, which Python 3.12+ warns of (a DeprecationWarning, made an error
    here). Those folders are checked in this process, with the same reports; without threads, workers are forked
    (Python 3.14's default, forkserver, would import the caller's main script again)."""
    import multiprocessing
    import shutil
    import threading
    import warnings

    import eos_guard
    from eos_guard import pipeline as check

    for i in range(6):
        shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "tree" / f"m{i}")
    monkeypatch.setattr(check, "_cores", lambda: 1)
    serial = [(m.folder, m.findings) for m in eos_guard.check(tmp_path / "tree").models]
    monkeypatch.setattr(check, "PARALLEL_FROM", 2)
    monkeypatch.setattr(check, "_cores", lambda: 2)
    monkeypatch.setattr(check, "_idle_cores", lambda: 2)
    if check._threads() == 1:
        assert check._start_method().get_start_method() == "fork"
    pools = []
    monkeypatch.setattr(multiprocessing.get_context("fork"), "Process",
                        lambda *args, **kwargs: pools.append(1) or multiprocessing.Process(*args, **kwargs))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert check._start_method() is None
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            threaded = [(m.folder, m.findings) for m in eos_guard.check(tmp_path / "tree").models]
    finally:
        stop.set()
        other.join()
    assert threaded == serial and pools == []


def test_threads_a_library_starts_outside_python_count_too():
    """The tokenizers library's thread pool (Rust, not in threading.enumerate()) stays after encode_batch: a fork
    then warned on Python 3.13 although threading counted one thread."""
    import threading

    from tokenizers import Tokenizer, models, pre_tokenizers

    from eos_guard import pipeline as check

    tokenizer = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.encode_batch(["a a"] * 2000)
    if check._threads() == threading.active_count():
        pytest.skip("the tokenizers library started no thread here (one core, or TOKENIZERS_PARALLELISM=false)")
    assert check._start_method() is None


def test_every_option_is_documented_and_every_documented_option_exists():
    """The README's synopsis and docs/usage.md's option table name the parser's options, no more and no fewer, with
    the parser's choices (a renamed or removed option would leave a sentence that no run can follow)."""
    import re

    from eos_guard.cli import build_parser

    parser = build_parser()
    options = {a.option_strings[-1]: a for a in parser._actions if a.option_strings and a.dest != "help"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("## Usage", 1)[1].split("```")[1]
    usage = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    table = usage.split("| option | meaning | default |", 1)[1].split("\n\n", 1)[0]
    rows = {row.split("`")[1].split()[0]: row for row in table.splitlines()[2:]}
    assert set(rows) - {"PATH"} == {action.option_strings[0] for action in options.values()}
    for name, action in options.items():
        assert re.search(rf"(?<![\w-]){re.escape(action.option_strings[0])}(?![\w-])", readme), name
        if action.choices:
            assert "|".join(action.choices) in readme and "\\|".join(action.choices) in rows[
                action.option_strings[0]], name


def test_a_folder_that_names_no_end_of_answer_says_stopping_was_not_checked(tmp_path, run):
    """A merge saved without its tokenizer files (config.json and generation_config.json alone): nothing says which
    token ends an answer, so no stop rule had anything to compare, and the closing line says so instead of a bare
    "All checks passed"; explain says unknown for every runtime. A base model's folder, whose tokenizer names an eos,
    is checked as before, and so is a chat model's."""
    folder = tmp_path / "merge"
    folder.mkdir()
    for name in ("config.json", "generation_config.json"):
        shutil.copy(FIXTURES / "llama31-8b-instruct-strftime" / name, folder / name)
    code, out, err = run("--baseline", "none", str(folder))
    assert (code, out, err) == (
        0, "All checks passed (1 model folder; 1 names no token that ends an answer: stopping not checked).\n", "")
    code, out, _ = run("explain", "--format", "json", str(folder))
    assert code == 0 and {r["stops"] for r in json.loads(out)["models"][0]["runtimes"]} == {None}, out

    base = shutil.copytree(FIXTURES / "llama31-8b-base-no-template", tmp_path / "base")
    chat = FIXTURES / "qwen2-instruct-aligned"
    code, out, _ = run("--baseline", "none", str(base), str(chat), str(folder))
    assert out.splitlines()[-1].endswith("; 1 names no token that ends an answer: stopping not checked)."), out
    two = shutil.copytree(folder, tmp_path / "merge2")
    code, out, _ = run("--format", "concise", "--baseline", "none", str(two), str(folder))
    assert out.splitlines()[-1].endswith("; 2 name no token that ends an answer: stopping not checked)."), out


@pytest.mark.parametrize("where, argument", [("", "m/additional_chat_templates/x.jinja"),
                                             ("m", "additional_chat_templates/x.jinja"),
                                             ("m/additional_chat_templates", "x.jinja")])
def test_a_template_file_outside_git_stands_for_its_model_folder(tmp_path, run, where, argument):
    """helper-115: outside a git work tree the PATH's own folder bounds where links may lead, and for a file in
    additional_chat_templates/ that was that folder, so the model folder above it was 'outside' (EOS018 'lies under
    a symbolic link' with no link anywhere); named from inside additional_chat_templates/, no model folder was
    found at all. A template file stands for its model folder from wherever it is named."""
    import shutil

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    (folder / "additional_chat_templates").mkdir()
    (folder / "additional_chat_templates" / "x.jinja").write_text(
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}", encoding="utf-8")
    assert not any(os.path.lexists(parent / ".git") for parent in (tmp_path, *tmp_path.parents))
    code, out, err = run("--format", "concise", "--no-cache", argument, cwd=tmp_path / where)
    assert code == 1 and err == "" and "EOS018" not in out, (out, err)
    assert "generation_config.json:3:19: EOS001 error: the 'x' chat template ends assistant turns with " \
           "'<|im_end|>' (151645)" in out, out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers: Linux")
@pytest.mark.parametrize("name", ["SIGTERM", "SIGKILL"])
def test_workers_end_when_the_run_is_killed(tmp_path, name):
    """helper-145: a run checking many folders with worker processes, killed alone (SIGTERM from Popen.terminate()
    or `docker stop`, SIGKILL), left its forked workers waiting forever, holding its stdout and stderr: a caller
    reading the output hung. Each worker now dies with the run (prctl PR_SET_PDEATHSIG)."""
    import shutil
    import signal
    import time

    for i in range(4):
        shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "tree" / f"m{i}")
    script = tmp_path / "run.py"
    script.write_text(
        "import multiprocessing, os, sys, time\n"
        "from eos_guard import pipeline as check\n"
        "check.PARALLEL_FROM, check._cores, check._idle_cores = 2, (lambda: 2), (lambda: 2)\n"
        "check._start_method = lambda: multiprocessing.get_context('fork')\n"
        "def slow(folders, **kwargs):  # a worker that is still busy when the run is killed\n"
        "    with open(sys.argv[2], 'a') as f:\n"
        "        f.write(f'{os.getpid()}\\n')\n"
        "    time.sleep(120)\n"
        "check._check_many = slow\n"
        "from eos_guard.cli import main\n"
        "sys.exit(main(['--no-cache', sys.argv[1]]))\n", encoding="utf-8")
    pids_file = tmp_path / "pids"
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "tree"), str(pids_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    deadline = time.monotonic() + 60
    while len(pids_file.read_text().split() if pids_file.exists() else []) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(pid) for pid in pids_file.read_text().split()]
    assert len(workers) >= 2
    proc.send_signal(getattr(signal, name))
    proc.communicate(timeout=30)  # hung until the workers' sleep ended: they held the pipes

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as stat_file:
                return stat_file.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers)
