"""Strings from the checked files cannot forge workflow commands, break lines, or drive the terminal."""

from __future__ import annotations

import json

import pytest

from eos_guard.report.github import escape_data, escape_property
from support import write_json

HOSTILE = "<|x|>\n::error file=evil.py,line=1::forged\r\x1b[31mred\x1b[0m\u202eevil%0A,:"


@pytest.fixture
def hostile_folder(tmp_path):
    folder = tmp_path / "we,ird:%dir"
    write_json(folder / "config.json", {"eos_token_id": 5, "vocab_size": 8})
    write_json(folder / "tokenizer_config.json", {"eos_token": HOSTILE, "added_tokens_decoder": {
        "3": {"content": HOSTILE, "special": True}}})
    return folder


def test_github_commands_cannot_be_forged(run, hostile_folder):
    code, out, _ = run("--format", "github", hostile_folder.name)
    lines = out.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert code == 1 and len(commands) == len(lines) - 1  # every finding is one line, then the summary
    assert all(line.startswith(("::error file=we%2Cird%3A%25dir/", "::warning file=we%2Cird%3A%25dir/"))
               for line in commands)
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    assert "forged" in out  # quoted inside our own command, where it cannot start one


def test_text_output_is_one_line_per_finding_without_controls(run, hostile_folder):
    code, out, _ = run("--format", "concise", hostile_folder.name)
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    assert all(line.startswith("we,ird:%dir/") for line in out.splitlines()[:-1])
    assert "\\x1b[31m" in out and "\\u202e" in out


def test_json_and_sarif_keep_the_exact_strings(run, hostile_folder):
    code, out, _ = run("--format", "json", hostile_folder.name)
    assert json.loads(out)["models"][0]["tokenizer_eos"]["token"] == HOSTILE
    code, out, _ = run("--format", "sarif", hostile_folder.name)
    assert HOSTILE in json.loads(out)["runs"][0]["results"][0]["message"]["text"]


@pytest.mark.parametrize("text,data,prop", [
    ("a%b", "a%25b", "a%25b"),
    ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
    ("a:b,c", "a:b,c", "a%3Ab%2Cc"),
    ("%0A", "%250A", "%250A"),
])
def test_escaping_matches_actions_toolkit(text, data, prop):
    assert escape_data(text) == data and escape_property(text) == prop


def test_a_github_annotation_names_a_file_whose_folder_has_a_line_break(tmp_path, run):
    """helper-110: a folder named with a newline was shown as ``\\n`` in the ``file`` property, so the annotation
    named no file of the repository. The runner decodes ``%0A`` (actions/toolkit's ``escapeProperty``), so the
    break is kept and encoded; the message and every other control stay escaped."""
    folder = tmp_path / "a\nb\x1b"
    write_json(folder / "config.json", {"eos_token_id": 5, "vocab_size": 8})
    write_json(folder / "tokenizer_config.json", {"eos_token": "<|x|>", "added_tokens_decoder": {
        "3": {"content": "<|x|>", "special": True}}})
    code, out, _ = run("--format", "github", folder.name)
    commands = [line for line in out.splitlines() if line.startswith("::")]
    assert code == 1 and commands and "\x1b" not in out and "\n" not in out.rstrip("\n").split("\n")[0]
    assert all(line.split(" ", 1)[1].startswith("file=a%0Ab\\x1b/") for line in commands), commands
