"""vocab_scan.vocab_facts gives what parsing the vocab whole gives (its size, each wanted string's value), or None;
never a different answer. Generated vocabularies cover escapes, non-ASCII text, repeated keys, odd whitespace,
compact and pretty layouts, values that are not integers, and broken JSON.

These tests hold the Python scan (the compiled one is turned off for them); tests/test_vocab_scan_compiled.py holds
the compiled one to the same generated vocabularies."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eos_guard import vocab_scan
from eos_guard.jsonspan import bpe_vocab_bounds

@pytest.fixture(autouse=True)
def python_scan(monkeypatch):
    monkeypatch.setattr(vocab_scan, "_COMPILED", [None])


KEYS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6) | st.sampled_from(
    ["<|eot_id|>", "a,", ",\"", "\\", "\"", "\n", "}", "{", ":", "merges", "\"merges\": [", "é", "\U0001F600"])
VALUES = st.integers(-3, 300_000) | st.sampled_from([1.5, "7", None, True, [1], {"a": 1}])
WHITESPACE = st.sampled_from(["", " ", "\n", "\n  ", "\t", "\r\n", " \n "])


def _encode(key: str, escaped: bool) -> str:
    text = json.dumps(key, ensure_ascii=escaped)
    return text.replace("/", "\\/") if escaped else text


@st.composite
def tokenizer_json(draw) -> tuple[bytes, list[str]]:
    entries = draw(st.lists(st.tuples(KEYS, VALUES), max_size=40))
    if entries and draw(st.booleans()):  # a key written twice
        entries.append((entries[draw(st.integers(0, len(entries) - 1))][0], draw(VALUES)))
    ws = draw(WHITESPACE)
    members = [f"{ws}{_encode(k, draw(st.booleans()))}{draw(WHITESPACE)}:{draw(WHITESPACE)}{json.dumps(v)}"
               for k, v in entries]
    body = "{" + ",".join(members) + ws + "}"
    if draw(st.booleans()) and body != "{}":  # break it somewhere
        cut = draw(st.integers(1, len(body) - 1))
        body = body[:cut] + draw(st.sampled_from(["", ",", "\"", "\x01", "\\x", "}", "\ud800"])) + body[cut + 1:]
    text = ('{"added_tokens": [], "model": {"type": "BPE", "vocab": ' + body + ',\n "merges": [["a", "b"]]}}')
    wanted = [k for k, _ in entries[:5]] + draw(st.lists(KEYS, max_size=3))
    return text.encode("utf-8", "surrogatepass"), wanted


def _whole(raw: bytes, wanted: list[str]):
    bounds = bpe_vocab_bounds(raw)
    if bounds is None:
        return None
    try:
        vocab = json.loads(raw[bounds[0]:bounds[1]].decode("utf-8"))
    except ValueError:
        return "invalid"
    return len(vocab), {k: vocab[k] for k in wanted if k in vocab}


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tokenizer_json(), st.sampled_from([8, 64, 1 << 20]), st.booleans())
def test_scan_agrees_with_parsing_the_vocab_whole(case, piece, count):
    raw, wanted = case
    old = vocab_scan.PIECE
    vocab_scan.PIECE = piece  # small pieces: many cuts even in small vocabularies
    try:  # an added token missing from the vocab makes it count the keys; all of them present: no count
        scanned = vocab_scan.vocab_facts(raw, wanted, ["\x00 not in any vocab"] if count else [])
    finally:
        vocab_scan.PIECE = old
    whole = _whole(raw, wanted)
    if scanned is not None:
        assert scanned[1] == whole[1]
        assert scanned[0] == (whole[0] if count else None)
    if whole == "invalid" or whole is None:
        assert scanned is None


@pytest.mark.parametrize("layout", ["pretty", "compact"])
def test_large_vocab_is_read_in_pieces_with_the_same_answer(layout):
    vocab = {f"tok{i}": i for i in range(60_000)}
    vocab["<|eot_id|>"] = 60_000
    dump = json.dumps(vocab, indent=2) if layout == "pretty" else json.dumps(vocab, separators=(",", ":"))
    raw = ('{"model": {"type": "BPE", "vocab": ' + dump + ', "merges": []}}').encode()
    size, ids = vocab_scan.vocab_facts(raw, ["<|eot_id|>", "tok5", "missing"], ["<|eot_id|>", "<|im_end|>"])
    assert (size, ids) == (60_001, {"<|eot_id|>": 60_000, "tok5": 5})
    assert vocab_scan.vocab_facts(raw, ["tok5"], ["<|eot_id|>"]) == (None, {"tok5": 5})  # all present: not counted


def test_a_key_repeated_in_another_piece_is_not_guessed():
    vocab = ",\n".join(f'"tok{i}": {i}' for i in range(200_000))
    raw = ('{"model": {"vocab": {' + vocab + ',\n"tok3": 7}, "merges": []}}').encode()
    assert vocab_scan.vocab_facts(raw, ["tok3"], ["absent"]) is None


def test_the_scan_gives_up_between_pieces_when_asked():
    vocab = ",\n".join(f'"tok{i}": {i}' for i in range(200_000))
    raw = ('{"model": {"vocab": {' + vocab + '}, "merges": []}}').encode()
    asked = []

    def give_up() -> bool:
        asked.append(1)
        return len(asked) == 2

    assert vocab_scan.vocab_facts(raw, ["tok3"], ["absent"], give_up=give_up) is None
    assert len(asked) == 2  # asked once per piece, and it stopped at the first yes
    assert vocab_scan.vocab_facts(raw, ["tok3"], ["absent"], give_up=lambda: False) == (200_000, {"tok3": 3})


@pytest.mark.parametrize("decoy", [
    '"normalizer": {"vocab": {"<|eot_id|>": 999}}, ',                  # an earlier "vocab" key
    '"normalizer": {"vocab": {"<|eot_id|>": 999}, "merges": [1]}, ',   # ... followed by its own merges
    '',                                                                 # a vocab and merges after the model's
])
def test_another_vocab_key_never_gives_its_ids(decoy):
    vocab = ",\n".join(f'"tok{i}": {i}' for i in range(50_000)) + ',\n"<|eot_id|>": 50000'
    after = '' if decoy else ', "extra": {"vocab": {"<|eot_id|>": 999}, "merges": []}'
    raw = ('{' + decoy + '"model": {"type": "BPE", "vocab": {' + vocab + '}, "merges": ["a b"]}, '
           '"post": {"xmerges": [], "merges":1}' + after + '}').encode()
    scanned = vocab_scan.vocab_facts(raw, ["<|eot_id|>"], ["absent"])
    assert scanned is None or scanned == (50_001, {"<|eot_id|>": 50_000})
    assert json.loads(raw)["model"]["vocab"]["<|eot_id|>"] == 50_000


def test_key_hashes_find_every_repeat_across_pieces():
    import random

    rng = random.Random(7)
    values = [rng.getrandbits(64) - (1 << 63) for _ in range(300_000)]
    table = vocab_scan.KeyHashes()
    for start in range(0, len(values), 1000):
        assert table.add(values[start:start + 1000], 1000)
    assert table.count == len(values)
    assert not table.add([values[123_456]], 1)  # seen long before
    assert not table.add([5, 5], 2)  # two keys of one piece with the same hash: not sure either
    fresh = next(v for v in range(1, 100) if v not in set(values))
    assert table.add([fresh], 1)


def test_key_hashes_sharing_their_low_bits_stay_linear():
    """With PYTHONHASHSEED fixed, a file could hold keys whose hashes share their low bits. The set's probing mixes
    in the high bits after a few slots, so 200,000 of them cost about what random hashes cost, not one run of
    200,000 slots walked by every key (quadratic); the count stays exact."""
    import time

    same_low_bits = [(i << 20) | 12345 for i in range(1, 200_000)]
    spread = [(i * 0x9E3779B97F4A7C15) & ((1 << 62) - 1) for i in range(1, 200_000)]
    took = {}
    for name, hashes in (("same low bits", same_low_bits), ("spread", spread)):
        table = vocab_scan.KeyHashes()
        start = time.perf_counter()
        assert table.add(hashes, len(hashes)) and table.count == len(hashes)
        took[name] = time.perf_counter() - start
    assert took["same low bits"] < 20 * took["spread"] + 0.05, took


@pytest.mark.parametrize("body", ['{\n  "a": 1,\n  "b": 2,\n  }', '{\n  "a": 1,\n  ,\n  "b": 2\n}',
                                  '{"a": 1,"b": 2,}', '{,"a": 1,"b": 2}'])
def test_a_comma_with_no_member_after_it_is_not_json(body):
    """Found by the property test above: a trailing comma became a cut, and the empty piece after it parsed as {}."""
    raw = ('{"added_tokens": [], "model": {"type": "BPE", "vocab": ' + body + ',\n "merges": []}}').encode()
    for piece in (1, 4, 8, 12, 16, 1 << 20):
        old = vocab_scan.PIECE
        vocab_scan.PIECE = piece
        try:
            assert vocab_scan.vocab_facts(raw, ["a"], []) is None
            assert vocab_scan.vocab_facts(raw, ["a"], ["absent"]) is None
        finally:
            vocab_scan.PIECE = old


def test_an_empty_vocabulary_is_still_read():
    raw = b'{"added_tokens": [], "model": {"type": "BPE", "vocab": { \n }, "merges": []}}'
    assert vocab_scan.vocab_facts(raw, ["a"], ["absent"]) == (0, {})
