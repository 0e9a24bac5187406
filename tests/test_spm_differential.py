"""eos-guard's reading of a SentencePiece tokenizer.model (eos_guard/spm_model.py, hand-written) against protobuf's
parse of it with the ``sentencepiece_model_pb2`` that transformers uses (``import_protobuf``, which
``SentencePieceExtractor`` parses the file with), on generated ModelProto-shaped messages: pieces whose fields come
in any order, twice, with unknown fields and groups, types outside the enum or in long varints, trainer specs
written twice, other messages, and bytes cut or changed. Either both refuse the file, or both read the same pieces,
ids, special pieces and trainer spec. Needs the sentencepiece and protobuf packages (skipped without them, but in
.ci/run's SentencePiece run, which sets EOS_GUARD_REQUIRE_SENTENCEPIECE=1)."""

from __future__ import annotations

import importlib.util
import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eos_guard.errors import InputError
from eos_guard.spm_model import SentencePieceModel

HAS_PROTOBUF = all(importlib.util.find_spec(name) for name in ("sentencepiece", "google.protobuf"))
REQUIRED = os.environ.get("EOS_GUARD_REQUIRE_SENTENCEPIECE") == "1"
pytestmark = pytest.mark.skipif(not (HAS_PROTOBUF or REQUIRED),
                                reason="the oracle is protobuf's parse, with the sentencepiece package's schema")

TEXTS = ["</s>", "<s>", "<unk>", "<|im_end|>", "<|im_start|>", "a", "\u2581the", "", "<0x0A>", "x" * 130]
ABSENT = ["<|eot_id|>", "<end_of_turn>", "y" * 200]


def varint(value: int, pad: int = 0) -> bytes:
    """``value`` (below 2**64) as a varint, with ``pad`` extra bytes that add nothing (protobuf reads those too)."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            break
    if pad:
        out[-1] |= 0x80
        out += b"\x80" * (pad - 1) + b"\x00"
    return bytes(out)


def key(field: int, wire: int, pad: int = 0) -> bytes:
    return varint(field << 3 | wire, pad)


def length_delimited(field: int, payload: bytes) -> bytes:
    return key(field, 2) + varint(len(payload)) + payload


pads = st.sampled_from([0, 0, 0, 0, 1, 3])


@st.composite
def unknown_field(draw, depth: int = 0) -> bytes:
    """A field no SentencePiece message declares, or a declared one of another wire type (protobuf keeps either
    as an unknown field): a varint, fixed, length-delimited or a group holding such fields."""
    field = draw(st.sampled_from([1, 2, 3, 6, 7, 9, 40, 42, 47, 100, 536_870_911]))
    wire = draw(st.sampled_from([0, 1, 2, 5, 3] if depth < 3 else [0, 1, 2, 5]))
    if wire == 0:
        return key(field, 0) + varint(draw(st.integers(0, 2**64 - 1)))
    if wire in (1, 5):
        return key(field, wire) + draw(st.binary(min_size=8 if wire == 1 else 4, max_size=8 if wire == 1 else 4))
    if wire == 2:
        return length_delimited(field, draw(st.binary(max_size=6)))
    inner = b"".join(draw(st.lists(unknown_field(depth + 1), max_size=2)))
    return key(field, 3) + inner + key(field, 4)


enum_values = st.sampled_from([1, 2, 3, 4, 5, 6, 3, 4, 0, 7, 99, 2**32 + 3, 2**64 - 1, 2**64 - 4])


@st.composite
def piece(draw) -> bytes:
    fields = []
    for _ in range(draw(st.integers(1, 2)) if draw(st.booleans()) else 1):  # the text, sometimes twice
        text = draw(st.sampled_from(TEXTS + ABSENT[:2])).encode() if draw(st.integers(0, 9)) else b"\xff\xfe"
        fields.append(key(1, 2, draw(pads)) + varint(len(text)) + text)
    if draw(st.integers(0, 3)):
        fields.append(b"\x15" + struct.pack("<f", draw(st.floats(-100, 0, width=32))))
    for _ in range(draw(st.integers(0, 2))):
        fields.append(key(3, 0, draw(pads)) + varint(draw(enum_values), draw(pads)))
    fields += draw(st.lists(unknown_field(), max_size=2))
    if draw(st.booleans()):  # any order
        fields = draw(st.permutations(fields))
    return length_delimited(1, b"".join(fields))


@st.composite
def canonical_piece(draw) -> bytes:
    """A piece as protobuf writes one: text, score, type unless NORMAL."""
    text = draw(st.sampled_from(TEXTS)).encode()
    kind = draw(st.sampled_from([1, 1, 1, 2, 3, 4, 6]))
    body = length_delimited(1, text) + b"\x15" + struct.pack("<f", -1.0) + (b"\x18" + varint(kind) if kind != 1 else b"")
    return length_delimited(1, body)


@st.composite
def trainer_spec(draw) -> bytes:
    fields = []
    for number in draw(st.lists(st.sampled_from([40, 41, 42, 3, 4]), max_size=4)):
        fields.append(key(number, 0) + varint(draw(st.sampled_from([0, 1, 2, 5, 2**31 - 1, 2**32 + 2, 2**64 - 1]))))
    for number in draw(st.lists(st.sampled_from([45, 46, 47]), max_size=3)):
        fields.append(length_delimited(number, draw(st.sampled_from(TEXTS[:5] + ["", "\u00e9"])).encode()
                                       if draw(st.integers(0, 5)) else b"\xc3"))
    fields += draw(st.lists(unknown_field(), max_size=2))
    return length_delimited(2, b"".join(draw(st.permutations(fields))))


@st.composite
def normalizer_spec(draw) -> bytes:
    fields = [length_delimited(1, b"identity"), key(3, 0) + varint(1), length_delimited(2, draw(st.binary(max_size=8)))]
    fields += draw(st.lists(unknown_field(), max_size=2))
    return length_delimited(draw(st.sampled_from([3, 5])), b"".join(draw(st.permutations(fields))))


@st.composite
def model_proto(draw) -> bytes:
    pieces = draw(st.lists(st.one_of(canonical_piece(), canonical_piece(), piece()), max_size=12))
    others = draw(st.lists(st.one_of(trainer_spec(), normalizer_spec(), unknown_field()), max_size=4))
    items = pieces + others if draw(st.booleans()) else draw(st.permutations(pieces + others))
    return b"".join(items)


@st.composite
def changed(draw, raw: bytes) -> bytes:
    """``raw`` cut, or with a byte changed, inserted or removed."""
    if not raw:
        return draw(st.binary(max_size=8))
    at = draw(st.integers(0, len(raw) - 1))
    how = draw(st.sampled_from(["cut", "set", "insert", "remove"]))
    if how == "cut":
        return raw[:at]
    byte = bytes([draw(st.sampled_from([0x00, 0x01, 0x0A, 0x0B, 0x0C, 0x0E, 0x0F, 0x12, 0x15, 0x18, 0x7F, 0x80,
                                        0xFF]))])
    return raw[:at] + byte + raw[at + (how == "set"):] if how != "remove" else raw[:at] + raw[at + 1:]


def protobuf_reading(raw: bytes):
    """What transformers reads: the pieces' texts (bytes where not UTF-8) and types, the trainer spec; or None
    when protobuf refuses the file."""
    from google.protobuf.message import DecodeError
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    try:
        proto.ParseFromString(raw)
    except DecodeError:
        return None
    spec = proto.trainer_spec
    pieces = {name: getattr(spec, name) for name in ("unk_piece", "bos_piece", "eos_piece")}
    return ([(p.piece, p.type) for p in proto.pieces],
            {"unk_id": spec.unk_id, "bos_id": spec.bos_id, "eos_id": spec.eos_id,
             **{name: value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                for name, value in pieces.items()}})


def assert_same_reading(raw: bytes) -> None:
    theirs = protobuf_reading(raw)
    looked_up = TEXTS + ABSENT
    readers = [SentencePieceModel(Path("tokenizer.model"), raw) for _ in range(3)]
    try:
        ids = [readers[0].ids(looked_up)]  # the look-up that walks the file
        readers[1].check()  # walked first, then looked up by the bytes' places
        ids.append(readers[1].ids(looked_up))
        readers[2].check()
        readers[2]._table  # every piece decoded
        ids.append(readers[2].ids(looked_up))
    except InputError as exc:
        assert theirs is None, f"eos-guard refuses a file protobuf reads: {exc}"
        assert str(exc).startswith("tokenizer.model: byte ") and "\n" not in str(exc)
        return
    assert theirs is not None, "eos-guard reads a file protobuf refuses"
    pieces, spec = theirs
    table = {text: index for index, (text, _) in enumerate(pieces) if isinstance(text, str)}
    for found in ids:
        assert found == {text: table.get(text) for text in looked_up}
    specials = {text: index for index, (text, kind) in enumerate(pieces) if kind in (3, 4) and isinstance(text, str)}
    for reader in readers:
        assert reader.size == len(pieces)
        assert reader.special_pieces == specials
        # in the order transformers adds them: by id, a text twice where it is first (then it is added already)
        assert list(reader.special_pieces) == list(dict.fromkeys(text for text, kind in pieces
                                                                 if kind in (3, 4) and isinstance(text, str)))
        assert reader.trainer_spec == spec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model_proto())
def test_the_reading_of_a_well_formed_model_is_protobuf_s(raw):
    assert_same_reading(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_changed_model_is_refused_where_protobuf_refuses_it(data):
    assert_same_reading(data.draw(changed(data.draw(model_proto()))))


@pytest.mark.parametrize("raw", [
    pytest.param(b"\x0a\x00", id="an-empty-piece"),
    pytest.param(b"\x0a\x0d\x0a\x04</s>", id="a-typed-piece-cut-short"),
    pytest.param(b"\x08\x05", id="pieces-as-a-varint"),
    pytest.param(b"\x0b" * 100 + b"\x0c" * 100, id="groups-100-deep"),
    pytest.param(b"\x0b" * 101 + b"\x0c" * 101, id="groups-101-deep"),
    pytest.param(b"\x0a\xc6\x01" + b"\x0b" * 99 + b"\x0c" * 99, id="groups-99-deep-in-a-piece"),
    pytest.param(b"\x0a\xc8\x01" + b"\x0b" * 100 + b"\x0c" * 100, id="groups-100-deep-in-a-piece"),
    pytest.param(b"\x0b\x14", id="a-group-ended-by-another"),
    pytest.param(b"\x0c", id="an-end-group-alone"),
    pytest.param(b"\x0e", id="wire-type-6"),
    pytest.param(b"\x8a\x80\x80\x80\x0f\x00", id="a-key-of-5-bytes"),
    pytest.param(b"\x8a\x80\x80\x80\x10\x00", id="a-key-over-32-bits"),
    pytest.param(b"\x8a\x80\x80\x80\x80\x00\x00", id="a-key-of-6-bytes"),
    pytest.param(b"\x0a\x80\x80\x80\x80\x00", id="a-length-of-5-bytes"),
    pytest.param(b"\x0a\x80\x80\x80\x80\x80\x00", id="a-length-of-6-bytes"),
    pytest.param(b"\x08" + b"\xff" * 9 + b"\x7f", id="a-varint-of-10-bytes"),
    pytest.param(b"\x08" + b"\xff" * 10 + b"\x01", id="a-varint-of-11-bytes"),
    pytest.param(b"\x12\x03\xd0\x02\x05\x12\x03\xc8\x02\x07", id="a-trainer-spec-twice-is-merged"),
    pytest.param(b"\x12\x07\xd0\x02\x82\x80\x80\x80\x10", id="an-eos-id-over-32-bits"),
    pytest.param(b"\x1a\x01\x0e", id="a-broken-normalizer-spec"),
    pytest.param(b"\x2a\x01\x0e", id="a-broken-denormalizer-spec"),
    pytest.param(b"\x22\x01\x0e", id="field-4-is-not-read"),
    pytest.param(b"\x0a\x0b\x0a\x01a\x15\x00\x00\x00\x00\x18\x03\x0e", id="a-canonical-piece-then-a-bad-field"),
    pytest.param(b"\x0a\x0c\x0a\x01a\x15\x00\x00\x00\x00\x18\x03\x18\x63", id="a-type-outside-the-enum-after-3"),
    pytest.param(b"\x0a\x0c\x0a\x01a\x15\x00\x00\x00\x00\x18\x83\x80\x00", id="a-type-in-a-long-varint"),
    pytest.param(b"\x0a\x03\x0a\x01a" + b"\x0a\x06\x0a\x01a\x0a\x01b", id="a-piece-with-two-texts"),
])
def test_edge_cases_read_as_protobuf_reads_them(raw):
    assert_same_reading(raw)
