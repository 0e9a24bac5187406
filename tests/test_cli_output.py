"""What a person and a program read: the grouped text, the concise lines, --statistics, -q, explain, colour, and
the closing line. Whole outputs are compared with the golden files in tests/golden/cli/ (input: the fixture
folders of ``CLI_TREE`` in tests/golden/regenerate.py, copied side by side; output: ``<case>.out``)."""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import FIXTURES, ROOT, RULE_CASES

_spec = importlib.util.spec_from_file_location("golden_regenerate", ROOT / "tests" / "golden" / "regenerate.py")
regenerate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regenerate)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return regenerate.cli_tree(tmp_path)


def golden(name: str) -> str:
    return (regenerate.GOLDEN / "cli" / f"{name}.out").read_text(encoding="utf-8")


@pytest.mark.parametrize("case", list(regenerate.CLI_CASES))
def test_golden_outputs(run, tree, case):
    args, code = regenerate.CLI_CASES[case]
    assert run(*args, cwd=tree) == (code, golden(case), ""), \
        "if on purpose, run python tests/golden/regenerate.py and commit the diff"


def test_every_finding_line_says_its_severity(run, tree):
    _, concise, _ = run("--format", "concise", "models", cwd=tree)
    _, text, _ = run("--format", "text", "models", cwd=tree)
    findings = concise.splitlines()[:-1]
    assert findings and all(re.search(r": EOS\d{3} (error|warning|info): ", line) for line in findings)
    rows = [line for line in text.splitlines() if line.startswith("  ")]
    assert len(rows) == len(findings) and all(re.search(r"  (error|warning|info) +EOS\d{3}  ", r) for r in rows)


def test_the_readme_sample_is_what_a_terminal_shows(run):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sample = readme.split("<!-- sample output: eos-guard examples/chatml-finetune-broken -->\n```\n")[1]
    sample = sample.split("```")[0]
    assert run("--format", "text", "examples/chatml-finetune-broken", cwd=ROOT) == (1, sample, "")


def test_explain_never_prints_none(run):
    folders = [str(p) for p in sorted(FIXTURES.iterdir()) + sorted(RULE_CASES.iterdir())
               if p.is_dir() and not (p / "model.gguf.json").exists()]
    code, out, _ = run("explain", *folders)
    assert "None" not in out and out.count("\n  runtime  ") >= 40


# ---------------------------------------------------------------------------------------------- closing line

def test_closing_line_after_fix(run, tree):
    code, out, err = run("--fix", "--format", "concise", "models", cwd=tree)
    assert code == 1 and err.splitlines() == [
        "Fixing models/chatml/config.json", "Fixing models/chatml/generation_config.json",
        "Fixing models/llama3/generation_config.json", "Fixing models/yi/generation_config.json"]
    assert out.splitlines()[-1] == "Fixed 4 files in 3 folders; 0 errors, 1 info remain."


def test_no_model_folder_is_never_all_checks_passed(run, tmp_path):
    (tmp_path / "docs").mkdir()
    code, out, err = run("docs")
    assert (code, out) == (2, "No model folders found.\n")
    assert err == ("eos-guard: docs: holds no model folder (one with generation_config.json, tokenizer_config.json "
                   "or a model's config.json)\n")


# ---------------------------------------------------------------------------------------------- colour

def _on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run eos-guard with its stdout on a pseudo-terminal, as in an interactive shell."""
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "eos_guard", *args], stdout=child, stderr=subprocess.DEVNULL,
                            cwd=cwd, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closes when the process ends (EIO on Linux)
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS", "PRE_COMMIT", "TERM")}
    return {**env, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", **extra}


def _through_a_pipe(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "eos_guard", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=60)
    return proc.returncode, proc.stdout


def test_a_terminal_gets_grouped_coloured_text(tree):
    code, out = _on_a_terminal(["models"], _env(), tree)
    assert code == 1 and "\x1b[1;31merror" in out and "\x1b[1mEOS001\x1b[0m" in out
    assert ANSI.sub("", out) == golden("text")


def test_a_pipe_gets_concise_lines_without_colour(tree):
    assert _through_a_pipe(["models"], _env(), tree) == (1, golden("concise"))


@pytest.mark.parametrize("env,args,coloured", [
    pytest.param({"NO_COLOR": "1"}, [], False, id="NO_COLOR"),
    pytest.param({"NO_COLOR": "1"}, ["--color", "always"], True, id="color-always-beats-NO_COLOR"),
    pytest.param({}, ["--color", "never"], False, id="color-never"),
    pytest.param({"TERM": "dumb"}, [], False, id="dumb-terminal"),
])
def test_colour_on_a_terminal(tree, env, args, coloured):
    code, out = _on_a_terminal(["models", *args], _env(**env), tree)
    assert ("\x1b[" in out) is coloured
    assert ANSI.sub("", out) == golden("text")  # still grouped: it is a person's terminal


@pytest.mark.parametrize("env,args,coloured", [
    pytest.param({"FORCE_COLOR": "1"}, [], True, id="FORCE_COLOR"),
    pytest.param({"FORCE_COLOR": "1", "NO_COLOR": "1"}, [], False, id="NO_COLOR-beats-FORCE_COLOR"),
    pytest.param({}, ["--color", "always"], True, id="color-always"),
])
def test_colour_through_a_pipe(tree, env, args, coloured):
    code, out = _through_a_pipe(["models", *args], _env(**env), tree)
    assert ("\x1b[" in out) is coloured
    assert ANSI.sub("", out) == golden("concise")


def test_pre_commit_gets_concise_lines_even_on_a_terminal(tree):
    code, out = _on_a_terminal(["models", "--color", "never"], _env(PRE_COMMIT="1"), tree)
    assert (code, out) == (1, golden("concise"))


def test_the_usage_page_shows_the_golden_outputs():
    usage = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(.*?)```", usage, flags=re.S)
    assert golden("text") in blocks and golden("statistics") in blocks
    concise = next(b for b in blocks if b.startswith("models/chatml/generation_config.json:3:19: EOS001 error:"))
    assert concise in golden("concise")
    explain = next(b for b in blocks if b.startswith("models/chatml\n"))
    assert all(line in golden("explain").splitlines() for line in explain.splitlines() if line.strip() != "…")


# A Windows pipe or a C locale without UTF-8 mode: stdout cannot encode every token string (DeepSeek's
# '<｜end▁of▁sentence｜>', explain's '∪').
NOT_UTF8 = ("ascii", "cp1252")
DEEPSEEK = FIXTURES / "deepseek-r1-distill-think-split"


def _bytes_out(args: list[str], encoding: str | None) -> tuple[int, bytes, bytes]:
    env = _env(PYTHONIOENCODING=encoding) if encoding else _env(PYTHONUTF8="1")
    proc = subprocess.run([sys.executable, "-m", "eos_guard", *args], capture_output=True, cwd=ROOT, env=env,
                          timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("encoding", NOT_UTF8)
@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_machine_formats_are_utf8_whatever_the_locale(encoding, fmt):
    code, out, err = _bytes_out(["--format", fmt, str(DEEPSEEK)], encoding)
    assert (code, err) == (0, b"")
    assert out == _bytes_out(["--format", fmt, str(DEEPSEEK)], None)[1]
    assert "<\uff5cend\u2581of\u2581sentence\uff5c>" in out.decode("utf-8")


@pytest.mark.parametrize("encoding", NOT_UTF8)
@pytest.mark.parametrize("args", [["--format", "text"], ["--format", "concise"], ["explain"]])
def test_text_escapes_what_the_stream_cannot_encode(encoding, args):
    code, out, err = _bytes_out([*args, str(DEEPSEEK)], encoding)
    assert (code, err) == (0, b"")
    text = out.decode(encoding)
    assert "\\uff5c" in text and "internal error" not in text
    if args == ["explain"]:
        assert "\\u222a" in text  # explain's '∪'


@pytest.mark.parametrize("encoding", NOT_UTF8)
def test_explain_json_is_utf8_whatever_the_locale(encoding):
    code, out, err = _bytes_out(["explain", "--format", "json", str(DEEPSEEK)], encoding)
    assert (code, err) == (0, b"")
    assert out == _bytes_out(["explain", "--format", "json", str(DEEPSEEK)], None)[1]


def test_a_message_quotes_a_long_id_list_by_its_first_ids_and_a_count(run, tmp_path):
    """A hostile generation_config.json of 3.5 MB holds 500,000 ids: each finding that quoted the list whole was a
    12 MB line. A message quotes sixteen ids and says how many more there are."""
    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": [151643] * 5000}), encoding="utf-8")
    code, out, err = run("--format", "concise", str(folder))
    assert code == 1 and err == ""
    eos001 = next(line for line in out.splitlines() if " EOS001 " in line)
    assert "151643 '<|endoftext|>', ... 4,984 more]" in eos001
    assert eos001.count("151643") == 16
    assert max(len(line) for line in out.splitlines()) < 1000
    code, out, err = run("--format", "json", str(folder))
    assert json.loads(out)["models"][0]["stop_ids"]["transformers"] == [151643] * 5000
    code, out, err = run("explain", "--runtime", "all", str(folder))
    assert "... 4,984 more" in out and max(len(line) for line in out.splitlines()) < 1000


@pytest.mark.parametrize(("env", "tty", "colour"), [
    ({}, True, True), ({}, False, False), ({"TERM": "dumb"}, True, False),
    ({"NO_COLOR": "1"}, True, False), ({"NO_COLOR": ""}, True, True),
    ({"FORCE_COLOR": "1"}, False, True), ({"FORCE_COLOR": ""}, False, False),
    ({"FORCE_COLOR": "1", "TERM": "dumb"}, False, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),
])
def test_color_auto_follows_no_color_force_color_and_term(monkeypatch, env, tty, colour):
    """docs/usage.md --color: NO_COLOR (not empty) wins over FORCE_COLOR (not empty), which wins over TERM=dumb;
    otherwise a terminal is coloured."""
    from eos_guard.cli import use_color

    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    master, terminal = pty.openpty()
    try:
        with open(terminal if tty else os.devnull, "w", closefd=not tty) as stream:
            assert stream.isatty() is tty
            assert use_color("auto", stream) is colour
    finally:
        os.close(master)
        os.close(terminal)


@pytest.mark.parametrize("count", [3, 400_000])
def test_the_out_of_range_ids_of_one_list_are_one_finding(run, tmp_path, count):
    """A generation_config.json listing ids past vocab_size (151936) is one EOS006 naming the first 16: one
    finding per id made 348,064 findings, 50-170 MB of output, from a 3 MB file a pull request can hold."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    ids = [151645, 151643] + list(range(151936, 151936 + count))
    (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": ids}), encoding="utf-8")
    code, out, _ = run("--format", "concise", "m")
    lines = [line for line in out.splitlines() if "EOS006" in line]
    more = f", ... {count - 16:,} more" if count > 16 else ""
    shown = ", ".join(str(i) for i in range(151936, 151936 + min(count, 16)))
    assert lines == [f"m/generation_config.json:1:18: EOS006 error: eos_token_id [{shown}{more}] are not below "
                     "vocab_size 151936 (generation_config.json eos_token_id) [id-out-of-range]"], out
    assert len(out) < 2_000


def test_an_unknown_verdict_says_why(run):
    """"stops in transformers: unknown" names the reason: here the eos is in no vocabulary (EOS005), while explain
    shows the id transformers appends it as; it used to say there was no eos to stop on."""
    code, out, _ = run("--format", "text", str(FIXTURES / "eos-string-not-in-vocab"))
    assert out.splitlines()[0].endswith("fails; stops in transformers: unknown (no template terminator, and the "
                                        "tokenizer's eos '<|end_of_text|>' is in no vocabulary)"), out


def test_explain_says_why_ollama_has_no_eos_id_from_the_files(run, tmp_path):
    """Without tokenizer.json, Ollama's converter has no added_tokens to take tokenizer_config.json's eos_token id
    from; explain said the files give that token no id, next to rows that use its id from added_tokens_decoder.
    Without tokenizer.model either (the bundled example), `ollama create` stops at the vocabulary, and the row says
    so and follows llama.cpp's GGUF."""
    code, out, _ = run("explain", str(ROOT / "examples" / "chatml-finetune-broken"))
    row = next(line for line in out.splitlines() if line.lstrip().startswith("ollama"))
    assert "`ollama create` cannot read the folder's vocabulary (neither tokenizer.model nor tokenizer.json" in row
    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    shutil.copy(ROOT / "tests" / "fixtures" / "llama2-chatml-finetune-tokenizer-model-added-tokens-json" /
                "tokenizer.model", folder)
    code, out, _ = run("explain", str(folder))
    row = next(line for line in out.splitlines() if line.lstrip().startswith("ollama"))
    assert "GGUF eos unknown (no tokenizer.json, whose added_tokens give the converter the eos_token's id)" in row


def test_explain_says_a_runtime_that_stops_on_harmonys_message_end_stops_early(run):
    """helper-183: where EOS033 said generate(), vLLM, SGLang and mlx-lm stop on harmony's <|end|> (before every
    answer), explain said "stops? yes" for them, with no fix. They are EARLY now, with EOS033's fix; llama.cpp
    and Ollama, which leave <|end|> out in such a vocabulary, stop ("yes")."""
    folder = str(RULE_CASES / "EOS033-stop-id-ends-message")
    code, out, _ = run("explain", "--runtime", "all", folder)
    verdicts = {line.split()[0]: line.split()[1] for line in out.splitlines()[4:11]}
    assert verdicts == {"transformers": "EARLY", "vllm": "EARLY", "sglang": "EARLY", "tgi": "unknown",
                        "mlx-lm": "EARLY", "llama.cpp": "yes", "ollama": "yes"}, out
    assert "  fix for vllm: it stops on '<|end|>' (200007), which ends the reasoning before every answer (EOS033): " \
           "remove 200007, and end turns with '<|return|>' (200002)\n" in out
    code, out, _ = run("explain", "--runtime", "all", "--format", "json", folder)
    rows = json.loads(out)["models"][0]["runtimes"]
    assert {row["runtime"]: row["stops_early"] for row in rows} == {
        "transformers": True, "vllm": True, "sglang": True, "tgi": False, "mlx-lm": True, "llama.cpp": False,
        "ollama": False}
    assert {row["fix"] for row in rows if row["stops_early"]} == {"remove 200007, and end turns with '<|return|>' "
                                                                  "(200002)"}
    code, out, _ = run("--format", "text", folder)  # the folder's header line (helper-184)
    assert out.startswith(f"{folder}: fails; stops in transformers: early (EOS033)\n") or \
        out.splitlines()[0].endswith(": fails; stops in transformers: early (EOS033)"), out


def test_a_finding_prints_as_its_concise_line():
    """``str(finding)`` (for ``print`` and the callback's logs) is the concise line, before its terminal escaping."""
    from eos_guard.pipeline import check_paths
    from eos_guard.report.escape import printable
    from eos_guard.report.text import concise

    report = check_paths([str(FIXTURES), str(RULE_CASES)])
    findings = list(report.findings())
    assert len(findings) > 50
    lines = concise(report, closing=False).splitlines()
    assert lines == [printable(str(finding)) for finding in findings]


@pytest.mark.parametrize("fmt", ["text", "concise", "github"])
def test_quiet_prints_no_closing_line_in_any_format_that_has_one(run, fmt):
    """docs/usage.md: -q prints only the findings that reach --fail-on, and no closing line. The github format still
    printed its closing line."""
    from support import FIXTURES

    code, out, _ = run("-q", "--format", fmt, str(FIXTURES / "qwen2-instruct-aligned"))
    assert (code, out) == (0, "")
    code, out, _ = run("-q", "--format", fmt, str(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext"))
    assert code == 1 and "EOS001" in out and "1 of 1 model folder fails" not in out, out


def test_the_header_says_why_the_verdict_is_unknown(run, tmp_path):
    """falcon-7b-instruct's files: both configs stop on 11 and the tokenizer's eos is '<|endoftext|>', whose id no
    file gives (no tokenizer.json). The header said 'no template terminator or eos to stop on', which its own
    explain contradicted (stop id 11)."""
    from support import write_json

    write_json(tmp_path / "m" / "config.json", {"model_type": "falcon", "eos_token_id": 11, "vocab_size": 65024})
    write_json(tmp_path / "m" / "generation_config.json", {"eos_token_id": 11})
    write_json(tmp_path / "m" / "tokenizer_config.json", {"eos_token": "<|endoftext|>"})
    code, out, _ = run("--format", "text", "m", cwd=tmp_path)
    assert out.startswith("m: passes; stops in transformers: unknown (no template terminator, and the tokenizer's "
                          "eos '<|endoftext|>' has no id in these files)"), out


def test_the_readme_python_snippet_runs_as_written(tmp_path, monkeypatch, capsys):
    """The README's Python snippet, copied verbatim, runs in the repository's root: it checks the bundled example (a
    copy here), shows the fix without writing it, and finds EOS025 in its batch. (It named "path/to/model" and used
    undefined names.)"""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("```python\n", 1)[1].split("```", 1)[0]
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "examples" / "chatml-finetune-broken")
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "\nEOS001 " in out and "\nEOS025 no supervised label in the batch is a stop id" in out
    assert "generation_config.json ['eos_token_id: add [151645]']" in out
    assert "/config.json ['eos_token_id: add [151645]']" in out  # each reason names the key, the path the file
    import eos_guard

    assert eos_guard.check("examples/chatml-finetune-broken").count("error") > 0  # nothing written


def test_a_finding_s_path_is_relative_below_the_working_directory_else_absolute(run, tmp_path):
    """docs/usage.md: a path relative to the working directory when the file lies below it, else absolute (as ruff
    shows one outside it), in the text and JSON reports."""
    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "models" / "m")
    (tmp_path / "work").mkdir()
    below = json.loads(run("--format", "json", "models/m")[1])["findings"][0]["path"]
    outside = json.loads(run("--format", "json", "../models/m", cwd=tmp_path / "work")[1])["findings"][0]["path"]
    assert below.startswith("models/m/") and outside == str(folder.resolve() / below.rsplit("/", 1)[1])
    assert run("../models/m", cwd=tmp_path / "work")[1].startswith(f"{folder.resolve()}/")


def test_the_text_format_shows_a_file_linked_out_of_the_folder_relative_to_it(run, tmp_path):
    """docs/usage.md, the text format: a folder's findings 'with paths relative to the folder'. A file that is a
    link out of the repository (EOS018) was shown with the folder's path in front (helper-209): the reporter
    followed the file's own link before making its path relative."""
    repo = tmp_path / "repo"
    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", repo / "m")
    (folder / "generation_config.json").rename(tmp_path / "outside.json")
    (folder / "generation_config.json").symlink_to(tmp_path / "outside.json")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    out = run("--format", "text", "m", cwd=repo)[1]
    places = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert "generation_config.json:1:1" in places and all(not p.startswith("m/") for p in places), out


@pytest.mark.parametrize("eos", ["<|" + "a" * 2_000_000 + "|>", "it's" * 500_000])
def test_a_huge_token_text_is_quoted_short(run, tmp_path, eos):
    """helper-162: a 2 MB eos_token was quoted whole in each finding (two 2 MB lines of text, 6 MB of JSON). A quoted
    text over 200 characters shows its start and its length; a message still over 4,000 characters (a text with
    quotes in it) its start and its end."""
    import shutil

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["eos_token"] = eos
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    code, out, _ = run("--format", "json", "m", cwd=tmp_path)
    messages = [finding["message"] for finding in json.loads(out)["findings"]]
    assert code == 1 and messages and all(len(message) < 4200 for message in messages), [len(m) for m in messages]
    said = "\n".join(messages)
    assert (f"'<|{'a' * 98}…' ({len(eos):,} characters)" in said) if eos.startswith("<|") else \
        "characters left out) … " in said, said[:600]


def test_clipping_leaves_a_message_s_own_words_alone():
    """Two apostrophes far apart in a message's own words ("the model's ... ChatGLM3's") are no quoted text: only a
    quoted run without a space is cut (a text with spaces is bounded by the message's own limit)."""
    from eos_guard.findings import MESSAGE_TEXT, clipped

    prose = "the model's answer " + "goes on " * 40 + "until ChatGLM3's '<|user|>'"
    assert len(prose) > 300 and clipped(prose) == prose
    assert clipped("'" + "a" * 201 + "' is long") == "'" + "a" * 100 + "…' (201 characters) is long"
    spaced = "'" + "a b " * 2000 + "' ends here"
    assert len(clipped(spaced)) < MESSAGE_TEXT + 100 and clipped(spaced).endswith("' ends here")


def test_explain_shows_the_runtimes_runtime_names(run):
    """helper-196: explain printed every runtime whatever --runtime said. It shows those --runtime names, in text
    and JSON, and says so where none of them runs the folder; without it, every runtime (the settings' runtimes
    choose what a check judges, not what explain shows)."""
    folder = str(ROOT / "examples" / "chatml-finetune-broken")
    code, out, _ = run("explain", "--runtime", "tgi,vllm", folder)
    rows = [line.split()[0] for line in out.splitlines()[3:]]
    assert code == 0 and rows == ["vllm", "tgi"], out
    code, out, _ = run("explain", "--runtime", "vllm", "--format", "json", folder)
    assert [row["runtime"] for row in json.loads(out)["models"][0]["runtimes"]] == ["vllm"]
    code, out, _ = run("explain", "--runtime", "onnxruntime-genai", folder)
    assert code == 0 and out.splitlines()[2:] == [
        "  no runtime --runtime names runs this folder (onnxruntime-genai); onnxruntime-genai runs ONNX Runtime "
        "GenAI exports (a folder with genai_config.json)"], out
    code, out, _ = run("explain", folder)
    assert len(out.splitlines()) > 9 and " NO " in out  # every runtime, transformers' fix included
    assert run("explain", "--baseline", "none", folder)[1] == out  # what explain does anyway: scripts add it
    # helper-203: a PATH that cannot be read was on stderr only; explain's JSON lists it as a check's does
    code, out, _ = run("explain", "--format", "json", "missing")
    assert code == 2 and json.loads(out)["errors"] == [{"model": "missing",
                                                        "message": "missing: no such file or directory"}], out


def test_explain_help_is_explains_own(run):
    """helper-203: `eos-guard explain --help` printed the check's help: --select, --fix, --sarif (which explain
    refuses) and a --runtime that 'replaces config, so name transformers too'. It lists what explain takes, in its
    words; the check's help is unchanged."""
    code, out, err = run("explain", "--help")
    assert (code, err) == (0, "") and out.startswith("usage: eos-guard explain [PATH ...] [options]\n"), out
    assert "--runtime NAMES" in out and "runtimes whose rows to show" in out and "--format {text,json}" in out
    listed = {line.split()[0].rstrip(",") for line in out.splitlines() if line.startswith("  -")}
    assert listed == {"-h", "--hub", "--format", "--runtime", "--config", "--isolated", "--allow-empty", "--no-cache",
                      "--pre-commit", "--verbose"}, listed
    code, out, _ = run("--help")
    assert code == 0 and "--select" in out and "--sarif" in out and "usage: eos-guard [explain] [PATH ...]" in out


def test_a_selected_rule_the_runtimes_leave_nothing_to_check_is_warned_of(run):
    """helper-203: `--runtime vllm --select EOS001` said 'All checks passed' with EOS001 checking nothing (it checks
    transformers' generate()); so did `--select EOS016 --runtime transformers`. A warning on stderr says so."""
    folder = str(ROOT / "examples" / "chatml-finetune-broken")
    code, out, err = run("--runtime", "vllm", "--select", "EOS001", folder)
    assert (code, out) == (0, "All checks passed (1 model folder).\n") and err == (
        "eos-guard: warning: EOS001 is selected, but it checks transformers, which the run's runtimes (vllm) leave "
        "out (--runtime, or runtimes in the settings)\n"), err
    err = run("--runtime", "transformers", "--select", "EOS016", folder)[2]
    assert "EOS016 is selected, but it checks a runtime other than transformers" in err, err
    assert run("--select", "EOS001,EOS016", "--runtime", "transformers,vllm", folder)[2] == ""
    assert run("--select", "EOS001", "--runtime", "vllm", "-q", folder)[2] == ""
    # helper-205: not while some chosen rule checks something (--select ALL, a prefix, a settings file's ALL)
    for chosen in ("ALL", "EOS", "EOS01", "EOS001,EOS002"):
        assert run("--select", chosen, "--runtime", "vllm", folder)[2] == "", chosen
