"""eos-guard's reading of a folder's vocab.json (no tokenizer.json: eos_guard/vocab_json.py,
vocabulary.base_vocabulary) against the installed transformers loading the same folder, on generated files:
vocab.json with repeated keys, values that are no ids (fractions, strings, booleans, null, arrays, objects,
negative, -0, over 2**32 and 2**64), escaped, non-BMP, NUL and lone-surrogate keys, NaN, deep nesting, a byte order
mark, any JSON whitespace, an empty object or an array, beside a merges.txt the library loads (empty, with or
without its ``#version`` line); tokenizer_config.json naming special tokens and ``added_tokens_decoder`` entries in
the vocabulary or not. Either both refuse the folder (eos-guard with one line naming the file and a position), or
both give the same ids, sizes and eos id. merges.txt is not read (docs/security.md): a test below holds that
limit."""

from __future__ import annotations

import json
import os

import pytest
import transformers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eos_guard.errors import InputError
from eos_guard.model_files import ModelFiles
from eos_guard.resolve import resolve
from eos_guard.vocabulary import VOCAB_JSON_CLASSES

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TEXTS = ["a", "b", "ab", "\u0120", "\u0120a", "<|endoftext|>", "</s>", "<|im_end|>", "\x00", "\u00e9", "\U0001f600",
         '"', "\\", " ", ""]
LOOKED_UP = TEXTS + ["<|im_start|>", "<unk>", "<pad>", "<s>", "<mask>"]
# values as written: ids, and what the tokenizers library skips (not numbers) or refuses (numbers that are no u64)
IDS = ["0", "1", "2", "3", "5", "7", "4294967296", "4294967301", "18446744073709551615"]
SKIPPED = ['"5"', "true", "null", "[1]", '{"y": -1}', "[1.5, -2]", "[]"]
REFUSED = ["-1", "-0", "5.0", "1e2", "18446744073709551616", "NaN", "[1e999]", "[" * 127 + "]" * 127]


@st.composite
def key(draw) -> str:
    """A JSON string for a token, ASCII-escaped or not, or a lone or paired surrogate escape."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(st.sampled_from(['"\\ud800"', '"\\udc00"', '"\\ud83d\\ude00"', '"a\\ud800b"']))
    return json.dumps(draw(st.sampled_from(TEXTS)), ensure_ascii=draw(st.booleans()))


@st.composite
def vocab_json(draw) -> bytes:
    if draw(st.integers(0, 29)) == 0:
        return draw(st.sampled_from([b"[]", b'["a"]', b"{}", b"", b"null"]))
    members = []
    for _ in range(draw(st.integers(0, 7))):
        value = draw(st.sampled_from(IDS * 6 + SKIPPED) if draw(st.integers(0, 9)) else st.sampled_from(REFUSED))
        members.append(f"{draw(key())}:{draw(st.sampled_from(['', ' ']))}{value}")
    space = draw(st.sampled_from(["", " ", "\n", "\r\n", "\t", "\n  "]))
    text = "{" + space + ("," + space).join(members) + space + "}" + draw(st.sampled_from(["", "\n", " \t\r\n"]))
    return (b"\xef\xbb\xbf" if draw(st.integers(0, 19)) == 0 else b"") + text.encode("utf-8", "surrogatepass")


@st.composite
def merges_txt(draw) -> bytes:
    """A merges.txt without merges, which the library loads whatever the vocabulary (eos-guard does not read it)."""
    return draw(st.sampled_from([b"", b"#version: 0.2\n", b"#version: 0.2\r\n", b"#version: 0.2"]))


@st.composite
def tokenizer_config(draw) -> dict:
    config: dict = {"tokenizer_class": draw(st.sampled_from(sorted(VOCAB_JSON_CLASSES)))}
    for name in draw(st.lists(st.sampled_from(["eos_token", "bos_token", "unk_token", "pad_token"]), unique=True,
                              max_size=3)):
        config[name] = draw(st.sampled_from(["</s>", "<|im_end|>", "<|endoftext|>", "a", "<pad>"]))
    if draw(st.booleans()):
        entries = draw(st.dictionaries(st.sampled_from([0, 1, 2, 5, 6, 9, 40]), st.sampled_from(
            ["<|im_end|>", "<|im_start|>", "</s>", "a", "ab"]), max_size=3))
        config["added_tokens_decoder"] = {
            str(token_id): {"content": text, "lstrip": False, "normalized": False, "rstrip": False,
                            "single_word": False, "special": True} for token_id, text in entries.items()}
    return config


def transformers_reading(folder):
    """transformers' ids, vocabulary size, length and eos id, or None when it cannot load the folder (the
    tokenizers library raises an Exception, or panics: pyo3's PanicException is a BaseException)."""
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    except Exception:
        return None
    except BaseException as exc:  # noqa: B036
        if type(exc).__name__ != "PanicException":
            raise
        return None
    vocab = tokenizer.get_vocab()
    return {text: vocab.get(text) for text in LOOKED_UP}, tokenizer.vocab_size, len(tokenizer), tokenizer.eos_token_id


def eos_guard_reading(folder):
    model = resolve(ModelFiles.read(folder))
    vocab = model.vocab
    vocab.read()
    assert vocab.complete
    ids = {text: vocab.id_of(text) for text in LOOKED_UP}
    length = vocab.model_size + sum(1 for text in vocab.added if vocab.model_id(text) is None)
    return ids, vocab.model_size, length, model.tokenizer_eos.id if model.tokenizer_eos else None


def write_folder(folder, vocab: bytes, merges: bytes, config: dict):
    folder.mkdir()
    (folder / "vocab.json").write_bytes(vocab)
    (folder / "merges.txt").write_bytes(merges)
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def assert_same_reading(folder) -> None:
    theirs = transformers_reading(folder)
    try:
        ours = eos_guard_reading(folder)
    except InputError as exc:
        assert theirs is None, f"eos-guard refuses a folder transformers loads: {exc}"
        where, line, column, _ = str(exc).removeprefix(str(folder) + "/").split(":", 3)
        assert where == "vocab.json" and line.isdigit() and column.isdigit(), str(exc)
        assert "\n" not in str(exc)
        return
    assert theirs is not None, "eos-guard reads a folder transformers cannot load"
    assert ours == theirs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(vocab=vocab_json(), merges=merges_txt(), config=tokenizer_config())
def test_a_generated_folder_reads_as_transformers_loads_it(tmp_path_factory, vocab, merges, config):
    assert_same_reading(write_folder(tmp_path_factory.mktemp("m") / "m", vocab, merges, config))


BASE = b'{"a": 0, "b": 1, "ab": 2, "</s>": 3}'
CASES = {
    # found by the test above: each failed before eos_guard/vocab_json.py read the files as tokenizers does
    "a-string-value-is-no-entry": (b'{"a": 0, "b": 1, "ab": 2, "x": "5"}', b"a b\n"),
    "null-and-nested-values-are-no-entries": (b'{"a": 0, "x": null, "y": [1], "z": {"q": 1}, "w": true}', b""),
    "a-fraction-is-refused": (b'{"a": 0, "x": 5.0}', b""),
    "an-exponent-is-refused": (b'{"a": 0, "x": 1e2}', b""),
    "a-negative-id-is-refused": (b'{"a": 0, "x": -1}', b""),
    "minus-zero-is-refused": (b'{"a": 0, "x": -0}', b""),
    "an-id-over-2-64-is-refused": (b'{"a": 0, "x": 18446744073709551616}', b""),
    "an-id-over-2-32-wraps": (b'{"a": 0, "</s>": 4294967297}', b""),
    "u64-max-wraps": (b'{"a": 0, "</s>": 18446744073709551615}', b""),
    "a-lone-surrogate-key-is-refused": (b'{"a": 0, "\\ud800": 1}', b""),
    "a-lone-low-surrogate-is-refused": (b'{"a": 0, "x": ["\\udc00"]}', b""),
    "a-surrogate-pair-is-one-character": (b'{"a": 0, "\\ud83d\\ude00": 1}', b""),
    "nan-nested-is-refused": (b'{"a": 0, "x": [NaN]}', b""),
    "a-number-out-of-f64-range-is-refused": (b'{"a": 0, "x": [1e999]}', b""),
    "nesting-128-deep-is-refused": (b'{"a": 0, "x": ' + b"[" * 127 + b"]" * 127 + b"}", b""),
    "nesting-128-deep-under-a-repeated-key-is-refused": (b'{"a": ' + b"[" * 127 + b"]" * 127 + b', "a": 0}', b""),
    "nesting-127-deep-is-read": (b'{"a": 0, "x": ' + b"[" * 126 + b"]" * 126 + b"}", b""),
    # read the same before and after
    "crlf-merges-and-a-version-line-anywhere": (BASE, b"#version: 0.2\r\na b\r\n#version again\r\n"),
    "an-empty-object-and-empty-merges": (b"{}", b""),
    "a-repeated-key-keeps-its-last-value": (b'{"a": 0, "x": 1.5, "x": 3, "a": 7}', b""),
    "a-nul-key": (b'{"a": 0, "\\u0000": 1}', b""),
}


@pytest.mark.parametrize("vocab, merges", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("class_name", ["GPT2Tokenizer", "Qwen2Tokenizer"])
def test_edge_cases_read_as_transformers_loads_them(tmp_path, vocab, merges, class_name):
    config = {"tokenizer_class": class_name, "eos_token": "</s>", "added_tokens_decoder": {
        "9": {"content": "<|im_end|>", "special": True}}}
    assert_same_reading(write_folder(tmp_path / "m", vocab, merges, config))


@pytest.mark.parametrize("vocab, merges, message", [
    pytest.param(b'{"a": 0,\n "x": 5.0}', b"", "m/vocab.json:2:7: the id of \"x\" is 5.0, not a whole number from 0 "
                 "to 2**64-1: the tokenizers library cannot load this vocab.json", id="a-fraction"),
    pytest.param(b'{"a": 0, "\\ud800": 1}', b"", "m/vocab.json:1:10: a lone surrogate escape \\ud800: the tokenizers "
                 "library cannot load this vocab.json", id="a-lone-surrogate"),
])
def test_a_folder_the_tokenizers_library_refuses_is_one_line_exit_2(tmp_path, run, vocab, merges, message):
    write_folder(tmp_path / "m", vocab, merges, {"tokenizer_class": "GPT2Tokenizer", "eos_token": "</s>"})
    code, _, err = run("m")
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"eos-guard: {message}", err


@pytest.mark.parametrize("merges", [b"#version: 0.2\na b\n\n", b"a b c\n", b"a x\n", b"b a\n", b"a b\n\xff\n",
                                    b"a b\r"],
                         ids=["a-blank-line", "three-tokens", "a-token-out-of-the-vocabulary", "a-missing-result",
                              "not-utf-8", "a-last-line-keeps-its-cr"])
def test_a_merges_txt_the_library_refuses_is_not_read(tmp_path, run, merges):
    """A documented limit (docs/security.md), as for tokenizer.json's merges: merges.txt is most of a folder's
    vocabulary files and no id comes from it, so it is not read, and one transformers cannot load passes."""
    folder = write_folder(tmp_path / "m", BASE, merges, {"tokenizer_class": "GPT2Tokenizer", "eos_token": "</s>"})
    assert transformers_reading(folder) is None
    code, _, err = run("m")
    assert code in (0, 1) and err == ""
