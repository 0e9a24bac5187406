from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eos_guard.errors import InputError
from eos_guard.jsonspan import JsonDocument, Where, bpe_vocab_bounds

P = Path("f.json")


def located(text: str, keys: tuple) -> str:
    doc = JsonDocument(P, text)
    span = doc.span(keys)
    assert span is not None
    return text[span.start:span.end]


@pytest.mark.parametrize("text,keys,expected", [
    pytest.param('{"eos_token_id": 2}', ("eos_token_id",), "2", id="scalar"),
    pytest.param('{\r\n    "a": {\r\n        "eos_token_id": [1, 106]\r\n    }\r\n}\r\n', ("a", "eos_token_id"),
                 "[1, 106]", id="crlf-nested-list"),
    pytest.param('{"eos_token_id": 1, "eos_token_id": 7}', ("eos_token_id",), "7", id="duplicate-key-last-wins"),
    pytest.param('{"x": ["a", {"y": "\\u00e9\\""}]}', ("x", 1, "y"), '"\\u00e9\\""', id="escapes"),
    pytest.param('{"x": [1, 2, 3]}', ("x", -1), "3", id="negative-index"),
])
def test_span_is_the_written_value(text, keys, expected):
    assert located(text, keys) == expected


def test_position_counts_lines_and_columns_from_raw_text():
    text = '{\r\n  "a": 1,\r\n    "eos_token_id": 5\r\n}'
    doc = JsonDocument(P, text)
    assert doc.position(doc.span(("eos_token_id",)).start) == (3, 21)


def test_missing_key_falls_back_to_enclosing_object():
    doc = JsonDocument(P, '{"a": {"b": 1}}')
    span, exact = doc.nearest_span(("a", "eos_token_id"))
    assert not exact and doc.text[span.start:span.end] == '{"b": 1}'


@pytest.mark.parametrize("text,line,column", [
    pytest.param('{"a": 1,\n "b": }', 2, 7, id="missing-value"),
    pytest.param('{"a": 1', 1, 8, id="truncated"),
    pytest.param("\ufeff{}", 1, 1, id="bom"),
])
def test_malformed_json_names_the_position(text, line, column):
    with pytest.raises(InputError) as info:
        JsonDocument(P, text)
    assert (info.value.line, info.value.column) == (line, column)
    assert info.value.message.startswith("cannot parse JSON")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


@settings(max_examples=300, deadline=None)
@given(value=json_values, indent=st.sampled_from([None, 2, 4, "\t"]), crlf=st.booleans(),
       ensure_ascii=st.booleans())
def test_every_value_is_located_exactly(value, indent, crlf, ensure_ascii):
    text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
    if crlf:
        text = text.replace("\n", "\r\n")
    doc = JsonDocument(P, text)
    for keys in _paths(value):
        span = doc.span(keys)
        assert span is not None
        assert json.loads(text[span.start:span.end]) == doc.get(keys)
        line, column = doc.position(span.start)
        assert 1 <= line <= text.count("\n") + 1 and column >= 1


# --- tokenizer.json, read without parsing it whole --------------------------------------------------------------

TOKEN_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=4) | st.sampled_from(
    ["}", "{", ":", '"', "\\", "],", '":', '"}', "\n", "\\\"", "\\\\", "a b", "merges", "é", "\U0001F600"])
# edits that keep a file JSON but move or repeat the members read (json.loads keeps the last of a repeated key),
# and edits that break it
EDITS = ['], "vocab": {"x": 1}, "zz": [', '}, "added_tokens": [], "model": {"vocab": {"y": 2}, "merges": [',
         ', "vocab": {"z": 3}', '"added_tokens": [{"content": "w", "id": 7}], ', '], "merges": [', '"merges": [',
         '],"vocab":{"x":1},"zz":[', '},"added_tokens":[],"model":{"vocab":{"y":NaN},"merges":[', '"zz":-1,',
         '"', "\\", "}", "{", "]", "[", ",", ":", "\n", " ", "\udcff", "tru", '"vocab": ']
READ = [("added_tokens",), ("version",), ("normalizer",), ("post_processor",), ("zz",), ("model", "type"),
        ("model", "dropout"), ("model", "zz"), ("model", "vocab")]
LOCATED = [(), ("added_tokens", 0), ("added_tokens", -1, "content"), ("post_processor", "type"), ("version",),
           ("zz",), ("model", "type"), ("model", "vocab")]


@st.composite
def tokenizer_files(draw) -> bytes:
    """A tokenizer.json as the tokenizers library writes it (pretty, on one line or compact, merges as pairs or
    strings), with tricky token texts, then maybe edited at one place."""
    merges = draw(st.lists(st.tuples(TOKEN_TEXT, TOKEN_TEXT), max_size=6))
    document = {
        "version": "1.0",
        "truncation": "long member before the vocabulary\n" * draw(st.sampled_from([0, 3000])),  # past 64 KB
        "added_tokens": draw(st.lists(st.fixed_dictionaries({"id": st.integers(0, 200), "content": TOKEN_TEXT}),
                                      max_size=3)),
        "normalizer": draw(st.none() | st.fixed_dictionaries({"type": TOKEN_TEXT})),
        "post_processor": {"type": "ByteLevel", "trim_offsets": draw(st.booleans())},
        "model": {"type": "BPE", "dropout": None,
                  "vocab": draw(st.dictionaries(TOKEN_TEXT, st.integers(0, 99), max_size=8)),
                  "merges": [list(m) for m in merges] if draw(st.booleans()) else [" ".join(m) for m in merges]}}
    layout = draw(st.sampled_from([{"indent": 2}, {}, {"separators": (",", ":")}]))  # pretty, one line, compact
    text = json.dumps(document, ensure_ascii=draw(st.booleans()), **layout)
    edit = draw(st.sampled_from(["none", "insert", "delete", "truncate"]))
    at = draw(st.integers(0, len(text)))
    if edit == "insert":
        text = text[:at] + draw(st.sampled_from(EDITS)) + text[at:]
    elif edit == "delete":
        text = text[:at] + text[at + draw(st.integers(1, 3)):]
    elif edit == "truncate":
        text = text[:at]
    return text.encode("utf-8", "surrogateescape")


def _read(document):
    """What a check reads from tokenizer.json, or the error it stops at."""
    try:
        doc = document()
        kinds = [doc.kind(keys) for keys in (("model",), ("model", "vocab"))]
        places = [Where(doc, keys).location() for keys in LOCATED]
        return [doc.get(keys, "missing") for keys in READ] + kinds + places
    except InputError as exc:
        return exc.line, exc.column, exc.message


def _byte_offset(raw: bytes, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = raw.index(b"\n", start) + 1
    return start + len(raw[start:].split(b"\n")[0].decode("utf-8", "replace")[:column - 1].encode("utf-8"))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tokenizer_files())
def test_tokenizer_json_read_in_parts_gives_what_parsing_it_whole_gives(raw):
    """Every value read, and every error, is that of json.loads of the whole file; the one difference is a file
    whose only flaw lies in model.merges, which are never parsed (they are most of the file)."""
    lazy = _read(lambda: JsonDocument(P, lazy=True, raw=raw))
    whole = _read(lambda: JsonDocument(P, raw=raw))
    if lazy != whole:
        assert isinstance(whole, tuple) and isinstance(lazy, list), (lazy, whole)
        bounds = bpe_vocab_bounds(raw)
        assert bounds is not None and _byte_offset(raw, *whole[:2]) >= bounds[1], (lazy, whole)


@pytest.mark.parametrize("text,value", [
    pytest.param('{"added_tokens": [1], "model": {"vocab": {"a": 0}, "merges": []}, "added_tokens": [2]}', [2],
                 id="top-level-key-after-the-model"),
    pytest.param('{"added_tokens": [1], "model": {"vocab": {"a": 0}, "merges": [], "x": []}, "added_tokens": [2]}',
                 [2], id="after-a-member-after-the-merges"),
    pytest.param('{"added_tokens": [1], "model": {"vocab": {"a": 0}, "merges": [["a", "b"]]}, "added_tokens": [2],'
                 ' "zz": {"vocab": {}, "merges": []}}', [2], id="hidden-before-a-decoy-layout"),
    pytest.param('{"added_tokens": [1], "model": {"vocab": {"a": 0}, "merges": ["a b"]}, "added_tokens": [2], '
                 '"model": {"vocab": {}, "merges": []}}', [2], id="a-second-model"),
    pytest.param('{"added_tokens": [1], "model": {"vocab": {"a": {"b": 1}, "merges": [], "c": 2}, "merges": []}}',
                 [1], id="merges-inside-the-vocab"),
])
def test_members_written_again_after_the_vocabulary_are_the_ones_read(text, value):
    """json.loads and the tokenizers library keep the last of a repeated key: so does the reading in parts."""
    doc = JsonDocument(P, lazy=True, raw=text.encode())
    assert doc.get(("added_tokens",)) == value == json.loads(text)["added_tokens"]
    assert doc.get(("model", "vocab")) == json.loads(text)["model"]["vocab"]


def test_a_tokenizer_json_as_the_tokenizers_library_writes_it_is_read_in_parts():
    """The standard layout is read without parsing the file whole, also with long members before the vocabulary
    (read in a growing head) and tokens that hold quotes, braces, colons and backslashes."""
    tricky = ["}", '"}', ":", '":', "\\", '\\"', "a:b", "]", "é}"]
    document = {"version": "1.0", "added_tokens": [{"id": i, "content": f"<|{i}|>"} for i in range(3000)],
                "model": {"type": "BPE", "vocab": {t: i for i, t in enumerate(tricky)},
                          "merges": [[a, b] for a in tricky for b in tricky]}}
    for indent in (None, 2):
        raw = json.dumps(document, indent=indent, ensure_ascii=False).encode()
        doc = JsonDocument(P, lazy=True, raw=raw)
        assert doc.bpe_vocab() is not None  # not parsed whole
        assert doc.get(("added_tokens", 2999, "content")) == "<|2999|>"
        start, end = doc.bpe_vocab()[1]
        assert json.loads(raw[start:end]) == document["model"]["vocab"] == doc.get(("model", "vocab"))


def test_members_before_the_vocabulary_cut_at_any_byte_are_read_on(monkeypatch):
    """The head is decoded 64 KB first, then four times more while the members before the vocabulary go on: the
    walk goes on from the last member it read whole, wherever the head ends."""
    from eos_guard import jsonspan

    document = {"version": "1.0", "added_tokens": [{"id": 1, "content": "é<|x|>"}], "normalizer": {"a": [1, "b"]},
                "model": {"type": "BPE", "dropout": None, "vocab": {"a": 0, "}": 1}, "merges": [["a", ":"]]}}
    for indent in (None, 2):
        raw = json.dumps(document, indent=indent, ensure_ascii=False).encode()
        for head in range(1, len(raw) + 1):
            monkeypatch.setattr(jsonspan._Outline, "HEAD", head)
            doc = JsonDocument(P, lazy=True, raw=raw)
            assert doc.bpe_vocab() is not None, head
            assert [doc.get(("added_tokens",)), doc.get(("normalizer",)), doc.get(("model", "type")),
                    doc.get(("model", "vocab"))] == [document["added_tokens"], document["normalizer"], "BPE",
                                                     document["model"]["vocab"]], head


def _inside_strings(raw: bytes) -> list[bool]:
    """For each byte of a JSON text other than a quote, whether it lies inside a string."""
    inside, escaped, found = False, False, []
    for byte in raw:
        found.append(inside)
        if byte == 0x22 and not escaped:
            inside = not inside
        escaped = inside and not escaped and byte == 0x5C
    return found


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text(st.sampled_from('ab:,[]{}"\\\n é'), max_size=6) | st.integers(),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(TOKEN_TEXT, children, max_size=3),
                    max_leaves=30), st.sampled_from([None, 1]))
def test_a_byte_inside_a_string_is_told_from_the_bytes_before_it(value, indent):
    """What the outline's checks rest on: from the bytes before it alone (a line break, or the quotes back to some
    text), a byte is said to lie inside a string or outside exactly as a parse says, or not at all (None)."""
    from eos_guard import jsonspan

    raw = json.dumps([value], indent=indent, ensure_ascii=False).encode()
    truth = _inside_strings(raw)
    for pos in range(1, len(raw)):
        if raw[pos] != 0x22:  # the checks ask about a ':' or a '}', never about a quote
            told = jsonspan._inside_string(raw, pos, 1)
            assert told == truth[pos] or (told is None and indent is None), (raw, pos)
