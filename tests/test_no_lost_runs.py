"""No lost runs: one hostile file or folder is one finding or one error line; every other folder is reported.

Each test is written from a class of input (not one example): every JSON file eos-guard reads, every way a tree
can be too deep or loop, every output format.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from eos_guard.model_files import JSON_FILES
from support import write_json

LONG = "1" * 4301  # one digit over Python's int-string limit (sys.get_int_max_str_digits)


def honest(folder):
    """A folder that must keep its verdict whatever its neighbours hold: eos 2 everywhere, found clean."""
    write_json(folder / "config.json", {"eos_token_id": 2, "vocab_size": 8})
    write_json(folder / "generation_config.json", {"eos_token_id": 2})
    write_json(folder / "tokenizer_config.json", {"eos_token": "</s>", "added_tokens_decoder": {
        "2": {"content": "</s>", "special": True}}})
    return folder


def assert_one_error_line(code, out, err, name, fmt="text"):
    lines = [line for line in err.splitlines() if line.startswith("eos-guard: ")]
    assert code == 2, err
    assert "internal error" not in err and "Traceback" not in err
    assert len(lines) == 1 and name in lines[0], err
    if fmt == "text":
        assert "in 2 model folders" in out.splitlines()[-1]
    else:
        assert [m["path"] for m in json.loads(out)["models"]] == ["a"]


@pytest.mark.parametrize("name", JSON_FILES)
def test_an_integer_over_the_int_string_limit_is_one_error_line(run, tmp_path, name):
    honest(tmp_path / "a")
    folder = tmp_path / "b"
    write_json(folder / "config.json", {})
    (folder / name).write_text('{"eos_token_id": %s, "added_tokens": [], "x": [%s]}' % (LONG, LONG),
                               encoding="utf-8")
    code, out, err = run("--format", "text", ".")
    assert_one_error_line(code, out, err, f"b/{name}")


@pytest.mark.parametrize("where", ["added_tokens_decoder", "added_tokens.json"])
def test_a_token_id_over_the_int_string_limit_is_one_error_line(run, tmp_path, where):
    honest(tmp_path / "a")
    folder = tmp_path / "b"
    write_json(folder / "config.json", {})
    if where == "added_tokens_decoder":  # a key: valid JSON, but int(key) raises
        write_json(folder / "tokenizer_config.json", {"added_tokens_decoder": {LONG: {"content": "x"}}})
    else:
        (folder / "added_tokens.json").write_text('{"x": %s}' % LONG, encoding="utf-8")
    code, out, err = run("--format", "json", ".")
    assert_one_error_line(code, out, err, "b/", "json")
