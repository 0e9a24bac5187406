"""Every output format, on every stream, treats strings from the checked folder as data.

Written from the classes, not from one example: folder and file names and token strings that hold line breaks,
workflow commands (also after leading whitespace, which the runner trims), Markdown links and images, HTML,
backticks and pipes, terminal controls, bidirectional overrides and lone surrogates (valid JSON, not encodable as
UTF-8), each run through text, json, github, sarif, explain (text and json), the job summary, --diff and --fix.
"""

from __future__ import annotations

import json
import re
import shutil
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt

from eos_guard.report.escape import printable
from support import ROOT, write_json

FOLDER_NAMES = [
    pytest.param("x\n::error file=forged.py,line=1::forged", id="newline-command"),
    pytest.param("x\r\n   ::warning file=forged.py::forged", id="crlf-indented-command"),
    pytest.param("README.md#L1 [l](https:e.example) ![i](https:e.example?i.png) <img src=x> `t` |p|%41",
                 id="markdown-html-uri"),
    pytest.param("\u202eevil\x1b[31m\u2028\x85", id="bidi-ansi-separators"),
    # the text formats start a line with the path: a name that starts with "::" would be a command there
    pytest.param("::error file=forged.py,line=1::forged", id="leading-command"),
    pytest.param("  ::warning file=forged.py::forged", id="indented-leading-command"),
    pytest.param("##[error]forged annotation", id="old-form-command"),
]
TOKEN = "<|end|>\n::error file=forged.py::forged\r![i](https://e.example/i.png)`|\ud800\x1b[2J\u202e##[error]x"
FORMATS = [["--format", f] for f in ("text", "concise", "json", "github", "sarif")] + [["explain"], ["explain", "--format", "json"]]


def hostile_folder(root, name):
    folder = root / name
    write_json(folder / "config.json", {"eos_token_id": 5, "vocab_size": 8})
    write_json(folder / "tokenizer_config.json", {
        "eos_token": TOKEN, "added_tokens_decoder": {"3": {"content": TOKEN, "special": True}},
        "chat_template": "{% for m in messages %}{{ m['content'] }}" + TOKEN.replace("\ud800", "") + "{% endfor %}"})
    return folder


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def assert_no_forged_command(text, folder=None):
    """The runner reads a line as a command when, with leading whitespace trimmed, it starts with ``::``, or else
    when it holds the older form ``##[command]`` anywhere (actions/runner ActionCommand.TryParseV2, then TryParse);
    only eos-guard's own annotations may, and their file property, unescaped as the runner does, is the checked
    file: its line breaks and tabs as they are (the runner decodes them), other controls escaped as printable()
    shows them."""
    shown = None if folder is None else "".join(
        part if part in ("\r", "\n", "\t") else printable(part) for part in re.split("([\r\n\t])", folder))
    for line in re.split("\r\n|\r|\n", text):
        if line.lstrip().startswith("::") or "##[" in line:
            command = re.match(r"::(error|warning|notice) ([^:]*)::", line)
            assert folder is not None and command, line
            properties = dict(item.split("=", 1) for item in command.group(2).split(","))
            file = unquote(properties["file"])  # %XX, as the runner unescapes %25, %0D, %0A, %3A, %2C
            assert file.startswith(shown + "/"), line


def assert_one_line_per_entry(text):
    assert "\r" not in text and "\x1b" not in text and "\u202e" not in text and "\u2028" not in text
    assert "\x85" not in text and not re.search("[\ud800-\udfff]", text)


@pytest.mark.parametrize("name", FOLDER_NAMES)
@pytest.mark.parametrize("args", FORMATS, ids=lambda a: "-".join(a).replace("--format-", ""))
def test_every_format_writes_valid_output_and_forges_nothing(run, tmp_path, name, args):
    folder = hostile_folder(tmp_path, name)
    code, out, err = run(*args, "--sarif", "out.sarif", "--summary", "summary.md", ".") if args[0] != "explain" \
        else run(*args, ".")
    assert code in (0, 1), err
    assert err == ""
    out.encode("utf-8")  # strict: no lone surrogate reaches a stream
    assert_no_forged_command(out, folder.name if "github" in args else None)
    if "json" in args or "sarif" in args:
        document = json.loads(out)
        assert args[0] == "explain" or any(TOKEN in text for text in strings(document))  # exact, JSON-escaped
    else:
        assert_one_line_per_entry(out)
    if args[0] == "explain":
        return
    sarif = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris and all(re.fullmatch(r"[A-Za-z0-9\-._~/%]+", u) for u in uris)  # RFC 3986, nothing left raw
    assert {unquote(u, errors="surrogateescape").rsplit("/", 1)[0] for u in uris} == {folder.name}
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert_one_line_per_entry(summary)
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(summary)
    assert "<a " not in html and "<img" not in html and "<script" not in html
    shown = printable(TOKEN).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert f"<td><code>{shown}</code> (3)</td>" in html  # the whole token, in its table cell, as text


@pytest.mark.parametrize("name", FOLDER_NAMES)
def test_error_lines_and_fix_lines_on_stderr_are_escaped(run, tmp_path, name):
    broken = tmp_path / (name + "-broken")
    broken.mkdir()
    (broken / "config.json").write_text("{\"model_type\": ", encoding="utf-8")
    folder = tmp_path / name
    write_json(folder / "config.json", {"eos_token_id": 2, "vocab_size": 8})
    write_json(folder / "generation_config.json", {"eos_token_id": 1})
    write_json(folder / "tokenizer_config.json", {"eos_token": "</s>", "added_tokens_decoder": {
        "2": {"content": "</s>", "special": True}}})
    code, out, err = run("--diff", ".")
    assert_no_forged_command(out + err)
    assert out and all(line.startswith(("---", "+++", "@@", " ", "-", "+")) for line in out.splitlines())
    code, out, err = run("--fix", "--format", "github", ".")
    assert code == 2
    assert_no_forged_command(err)
    assert_one_line_per_entry(err)
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Fixing ") and lines[1].startswith("eos-guard: ")


@pytest.mark.parametrize("args", [["--format", "text"], ["--format", "concise"], ["explain"], ["--fix"]])
def test_the_old_command_form_is_escaped_where_nothing_else_is(run, tmp_path, args):
    """A folder named "##[error]..." in a run whose output has no "::" at all (ordinary token strings): the runner
    reads "##[" anywhere in a line, so printable() escapes it in every string, not only next to other hostile text."""
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "##[error]forged")
    code, out, err = run(*args, ".")
    assert "##\\x5berror]forged" in out + err
    assert_no_forged_command(out + err)


def test_code_spans_hold_any_text():
    from eos_guard.report.escape import code

    md = MarkdownIt("commonmark").enable("table")
    for text in ["`", "``a`", "a|b", " lead", "trail ", "<b>x</b>", "[l](u)", "a\\|b", "\\"]:
        cell = f"| h |\n|---|\n| {code(text)} |\n"
        html = md.render(cell)
        shown = re.search(r"<td><code>(.*)</code></td>", html).group(1)
        assert shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&quot;", '"') == text


def test_the_json_report_is_written_in_pieces_that_make_the_same_document(run, tmp_path, monkeypatch):
    """The JSON report is made and written a list item at a time (report.rendered, report.write): a run over
    10,000 folders held its 12 MB text, and as much again encoded, at its peak (bench/: 151 -> 129 MB side by
    side). Written in blocks of any size, the text is the one render gives."""
    import eos_guard.report as report_module
    from eos_guard import check
    from eos_guard.report import json_v1, rendered

    for index in range(3):
        shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / f"m{index}")
    report = check(*(tmp_path / f"m{index}" for index in range(3)))
    pieces = list(rendered("json", report))
    assert len(pieces) > 10 and "".join(pieces) == json_v1.render(report)
    whole = run("--format", "json", ".")
    monkeypatch.setattr(report_module, "WRITE_BLOCK", 7)
    assert run("--format", "json", ".") == whole and json.loads(whole[1])["models"]
