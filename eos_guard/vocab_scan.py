"""The ids of a few strings in a BPE tokenizer.json's ``model.vocab``, without building the whole table.

A check asks the model vocab for a few hundred strings (added tokens, special token values, known end-of-turn
texts) and its size; parsing the 128k-262k entries into one dict held them all at once (~20-40 MB). Here the
vocab object, found where :func:`jsonspan.bpe_vocab_bounds` finds it, is cut between members and each piece is
parsed alone by the standard library's parser, keeping only the wanted ids and one hash per key.

The answer is exactly what parsing the vocab whole gives (``len`` of the dict, the value of each wanted key,
the last one for a repeated key), or None when this way cannot be sure; the caller then parses it whole:

- a piece is cut only after a ``,`` that ends a line (a raw newline never occurs inside a JSON string), or, in a
  file without newlines, before a ``,"`` (after which the piece must still parse); the pieces of a valid object
  are valid members, and if every piece parses and none but a lone one is empty (an empty piece is a comma with
  no member after it: ``{"a": 1,}``), the whole object does too;
- the size is the number of distinct keys: pieces count their own keys, and a repeated key hash across pieces
  (a key written twice, or two keys whose hashes collide) means "not sure" (:class:`KeyHashes`).

Where eos-guard was installed with its compiled half (eos_guard/_vocab_scan.c, built by setup.py when a C compiler
is found), that reads the vocab first, without a Python object per key, and answers for the plain vocabularies the
tokenizers library writes (string keys, each once, integer values) with the same size and values; for anything
else it says it is not sure and the pieces above are read.
"""

from __future__ import annotations

import json
import os

from .jsonspan import bpe_vocab_bounds

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Callable, Iterable

PIECE = 1 << 16  # bytes parsed at once: small pieces keep the peak low, and cost no more time than larger ones


def vocab_facts(raw: bytes, wanted: Iterable[str], size_unless_present: Iterable[str] = (),
                give_up: Callable[[], bool] | None = None,
                bounds: tuple[int, int] | None = None) -> tuple[int | None, dict[str, object]] | None:
    """``(size, {string: value})`` of tokenizer.json's BPE vocab for each wanted string found in it, or None.

    The compiled scan always gives the size. In Python, counting the distinct keys costs a third of the time and
    most of the memory, so the size is counted only when it will be needed: when one of ``size_unless_present``
    (the added tokens, which take ids after the vocab when they are not in it) is not written in the vocab's
    bytes; otherwise it is None (then parse it whole in the rare case that it is needed after all). ``give_up``
    is asked between pieces; when it says yes (the answer arrived from the cache meanwhile), the scan stops and
    returns None. ``bounds``: the vocab's, when the caller knows them already
    (:meth:`jsonspan.JsonDocument.bpe_vocab`).
    """
    bounds = bounds or bpe_vocab_bounds(raw)
    if bounds is None:
        return None
    start, end = bounds
    wanted = set(wanted)
    compiled = _compiled_scan()
    if compiled is not None:
        keys = list(wanted)
        # a wanted string with a lone surrogate is in no vocab the compiled scan answers for (it leaves those to
        # this one), so its bytes, made with surrogatepass, match no key there
        answer = compiled(raw, start, end, tuple(key.encode("utf-8", "surrogatepass") for key in keys),
                          int.from_bytes(os.urandom(8), "little"))
        if answer is not None:
            size, values = answer
            return size, {key: value for key, value in zip(keys, values) if value is not None}
    counting = any(raw.find(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass"), start, end) < 0
                   for text in list(size_unless_present)[:16])
    found: dict[str, object] = {}
    hashes = KeyHashes()
    count = 0
    view = memoryview(raw)
    first = start + 1  # inside the braces
    stop = end - 1
    separator = b",\n" if raw.find(b",\n", first, min(stop, first + PIECE)) >= 0 else b',"'
    while True:
        cut = raw.find(separator, first + PIECE, stop) if first + PIECE < stop else -1
        piece_end = cut if cut >= 0 else stop
        try:
            # The braces joined as bytes: a copy of the piece's bytes costs less than one of its decoded text
            piece = json.loads(str(b"{" + view[first:piece_end] + b"}", "utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return None
        if not isinstance(piece, dict):
            return None
        if not piece and (cut >= 0 or first != start + 1):  # a comma before "}" or before another comma
            return None
        count += len(piece)
        if counting and not hashes.add(map(hash, piece), len(piece)):
            return None
        for key in piece.keys() & wanted:  # C walks the smaller of the two
            found[key] = piece[key]
        if cut < 0:
            break
        if give_up is not None and give_up():
            return None
        first = cut + 1
    return (count if counting else None), found


_COMPILED: list = []  # [scan or None], once looked up


def _compiled_scan() -> Callable | None:
    """``scan`` of eos_guard/_vocab_scan.c: it answers for the vocabularies whose keys are plain strings, each
    once, and whose values are integers (all that the tokenizers library writes) with the same size and values as
    this module, without a Python object per key, or says None and this module reads the vocab. None when it was
    not compiled (an install without a C compiler) or ``EOS_GUARD_NO_EXTENSIONS`` is set (docs/performance.md)."""
    if not _COMPILED:
        scan = None
        if os.environ.get("EOS_GUARD_NO_EXTENSIONS", "") in ("", "0"):
            try:
                from ._vocab_scan import scan
            except ImportError:
                pass
        _COMPILED.append(scan)
    return _COMPILED[0]


class KeyHashes:
    """The hashes of the keys seen so far. ``add`` says False when a hash is there already: a key written twice,
    or two keys whose hashes collide; either way the caller cannot be sure of the count.

    A set of ints, filled by ``set.update`` in C: 128k keys cost ~8 MB there for the time of the scan. (A table
    of 8-byte slots held a quarter of that, but was filled by a Python loop, one step per key.) Keys chosen
    so that their hashes share their low bits (possible with PYTHONHASHSEED fixed) do not make it slow: the set's
    probing mixes in the high bits of the hash after a few slots."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    @property
    def count(self) -> int:
        return len(self.seen)

    def add(self, hashes: Iterable[int], how_many: int) -> bool:
        seen = self.seen
        before = len(seen)
        seen.update(hashes)
        return len(seen) - before == how_many
