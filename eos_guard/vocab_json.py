"""vocab.json as the tokenizers library reads it for a folder without tokenizer.json.

The classes of ``vocabulary.VOCAB_JSON_CLASSES`` pass the paths of vocab.json and merges.txt to
``tokenizers.models.BPE``, which reads them in Rust (``BPE::read_file``, tokenizers/src/models/bpe/model.rs, 0.23):
vocab.json with serde_json, keeping each member whose value is a number, as ``as_u64() as u32``. What it refuses,
transformers cannot load; what it skips, is in no vocabulary. merges.txt is not read here.
``tests/test_vocab_json_differential.py`` compares this reading with the installed transformers on generated
folders.
"""

from __future__ import annotations

import json
import math
import re
from operator import itemgetter
from pathlib import Path

from .errors import InputError
from .jsonspan import KIND_NAMES, JsonDocument, decode_utf8, parse

U64_LIMIT = 1 << 64
U32_MASK = (1 << 32) - 1
SERDE_DEPTH = 128  # serde_json's recursion limit: a value nested this deep (the file's object is 1) is refused
_REFUSED = "the tokenizers library cannot load this {}"


class _NotU64:
    """A fraction or constant as written: ``as_u64`` refuses it."""

    def __init__(self, text: str) -> None:
        self.text = text


class _Depth(dict):
    """An object, with how deep it nests (itself 1), counting the values of keys written again too. A slot, not
    an instance dictionary: a hostile file of nested objects (``{"":{"":{}}}``, ...) cost 150 times its size
    with one per object."""

    __slots__ = ("depth",)


class _Scan:
    """The json.loads hooks; ``suspect``: a number or constant serde_json refuses wherever it stands; ``kinds``:
    the types of the values of the last object made (the file's own, which is made last)."""

    def __init__(self) -> None:
        self.suspect = False
        self.kinds: set[type] = set()
        self.low = self.high = 0  # the least and greatest value of the last object, when all are ints

    def fraction(self, text: str) -> _NotU64:
        if math.isinf(float(text)):  # serde_json: out of range
            self.suspect = True
        return _NotU64(text)

    def constant(self, text: str) -> _NotU64:  # NaN, Infinity: not JSON to serde_json
        self.suspect = True
        return _NotU64(text)

    def members(self, pairs: list) -> _Depth:
        found = _Depth(pairs)
        found.depth = 1
        # the types first, in C: a vocabulary of 150k ids holds no container, and its depth is 1 without a loop
        self.kinds = set(map(type, map(_VALUE, pairs)))
        if pairs and self.kinds == {int}:  # values replaced by a key written again included, as serde_json reads them
            self.low, self.high = min(map(_VALUE, pairs)), max(map(_VALUE, pairs))
        if _Depth in self.kinds or list in self.kinds:
            found.depth = 1 + max((_depth(value) for _, value in pairs), default=0)
        return found


_VALUE = itemgetter(1)


def _depth(value: object) -> int:
    if isinstance(value, _Depth):
        return value.depth
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def read_vocab(path: Path, raw: bytes, class_name: str) -> dict[str, int]:
    """The vocabulary ``tokenizers.models.BPE`` builds from vocab.json: each token with a number, and no other; an
    InputError with the line and column where the library refuses the file. merges.txt is not read (as the
    merges of a tokenizer.json are not: most of the file, and nothing an id comes from; docs/security.md)."""
    text = decode_utf8(path, raw)
    scan = _Scan()
    data = parse(path, text, parse_float=scan.fraction, parse_constant=scan.constant, object_pairs_hook=scan.members)
    if not isinstance(data, dict):
        raise InputError(path, f"the file is {KIND_NAMES.get(type(data), 'a value')}, not an object: {class_name} "
                               f"cannot load it", 1, 1)
    # ids alone (the file's object holds nothing else, so every number of the file is one of its values), all
    # within u32: no number is out of an f64's range, and none needs a look at how it is written but -0
    ids_only = scan.kinds <= {int} and 0 <= scan.low and scan.high <= U32_MASK
    if scan.suspect or data.depth >= SERDE_DEPTH or ("\\u" in text and _SURROGATE_ESCAPE.search(text)) \
            or (not ids_only and _LONG_INTEGER.search(text)):
        _check_serde_json(path, text, data)
    # json.loads reads -0 as 0; serde_json as the float -0.0
    minus_zero = "-0" in text and _MINUS_ZERO.search(text) is not None
    if ids_only and not minus_zero:
        return dict(data)  # every value an id as written: the loop below would keep each as it is
    vocab = {}
    doc = JsonDocument(path, text, data=data)
    for token, value in data.items():
        if type(value) is not int and not isinstance(value, _NotU64):
            continue  # a string, boolean, null, array or object is skipped
        if isinstance(value, _NotU64) or not 0 <= value < U64_LIMIT or (
                minus_zero and value == 0 and text.startswith("-", doc.span((token,)).start)):
            start = doc.span((token,)).start
            written = _TOKEN.match(text, start).group()
            raise InputError(path, f"the id of {json.dumps(token)} is {written[:30]}, not a whole number from 0 to "
                                   f"2**64-1: {_REFUSED.format('vocab.json')}", *doc.position(start))
        vocab[token] = value & U32_MASK  # as u32: ids over 2**32-1 wrap
    return vocab


# a string, a bracket, a number or a constant of a text that json.loads has read (so its strings are well formed)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]|-?[0-9][0-9.eE+-]*|NaN|-?Infinity')
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONG_INTEGER = re.compile(r"[0-9]{309}")  # may be out of an f64's range
_MINUS_ZERO = re.compile(r":[ \t\n\r]*-0[ \t\n\r]*[,}]")  # a member -0 (or such text inside a string)
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)")


def _check_serde_json(path: Path, text: str, data: object) -> None:
    """What serde_json refuses that json.loads reads: NaN and Infinity, a number out of an f64's range, a lone
    surrogate escape, nesting 128 deep."""
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        problem = None
        if token in "[{":
            depth += 1
            if depth >= SERDE_DEPTH:
                problem = f"nesting is {SERDE_DEPTH} deep, over serde_json's limit"
        elif token in "]}":
            depth -= 1
        elif token[0] == '"':
            if _SURROGATE_ESCAPE.search(token):
                problem = _lone_surrogate(token)
        elif token in ("NaN", "Infinity", "-Infinity"):
            problem = f"{token} is not JSON"
        elif math.isinf(float(token)):
            problem = f"the number {token[:20]}{'...' if len(token) > 20 else ''} is out of range"
        if problem:
            doc = JsonDocument(path, text, data=data)
            raise InputError(path, f"{problem}: {_REFUSED.format('vocab.json')}", *doc.position(match.start()))


def _lone_surrogate(string: str) -> str | None:
    """The message for a string that holds a surrogate escape not in a high-low pair, else None."""
    high = None
    for match in _ESCAPE.finditer(string):
        code = int(match.group(1), 16) if match.group(1) else None
        if high is not None and not (code is not None and 0xDC00 <= code <= 0xDFFF):
            return f"a lone surrogate escape \\u{high:04x}"
        if high is not None:
            high = None
        elif code is not None and 0xD800 <= code <= 0xDBFF:
            high = code
        elif code is not None and 0xDC00 <= code <= 0xDFFF:
            return f"a lone surrogate escape \\u{code:04x}"
    return f"a lone surrogate escape \\u{high:04x}" if high is not None else None
