from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eos_guard.errors import InputError
from eos_guard.jsonspan import JsonDocument

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
