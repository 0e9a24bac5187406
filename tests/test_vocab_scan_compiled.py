"""The compiled scan (eos_guard/_vocab_scan.c) answers as parsing the vocab whole does, or says None; it answers for
every plain vocabulary (else it would spare nothing); and it reads no byte outside the slice it is given, which an
AddressSanitizer build checks on mutated vocabularies.

It is built by an install where a C compiler is found (setup.py). Without it these tests skip, unless
``EOS_GUARD_REQUIRE_EXTENSIONS=1`` (.ci/run sets it), which makes a missing build a failure.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eos_guard import vocab_scan
from eos_guard.jsonspan import bpe_vocab_bounds
from support import ROOT
from test_vocab_scan import _whole, tokenizer_json

REQUIRED = os.environ.get("EOS_GUARD_REQUIRE_EXTENSIONS") == "1"


def _compiled():
    try:
        from eos_guard._vocab_scan import scan
    except ImportError:
        if REQUIRED:
            pytest.fail("EOS_GUARD_REQUIRE_EXTENSIONS=1 but eos_guard._vocab_scan was not built")
        pytest.skip("eos_guard._vocab_scan was not built (no C compiler at install)")
    return scan


@pytest.fixture
def scan():
    return _compiled()


def _ask(scan, raw: bytes, wanted: list[str], seed: int = 1):
    bounds = bpe_vocab_bounds(raw)
    if bounds is None:
        return None
    answer = scan(raw, bounds[0], bounds[1], tuple(w.encode("utf-8", "surrogatepass") for w in wanted), seed)
    if answer is None:
        return None
    size, values = answer
    return size, {w: v for w, v in zip(wanted, values) if v is not None}


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tokenizer_json(), st.integers(0, 2**64 - 1))
def test_the_compiled_scan_agrees_with_parsing_the_vocab_whole(case, seed):
    scan = _compiled()
    raw, wanted = case
    answer = _ask(scan, raw, wanted, seed)
    whole = _whole(raw, wanted)
    if whole == "invalid" or whole is None:
        assert answer is None
    elif answer is not None:
        assert answer == whole


PLAIN_KEYS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(PLAIN_KEYS, st.integers(0, 10**18 - 1), max_size=60), st.booleans(), st.booleans(),
       st.integers(0, 2**64 - 1))
def test_the_compiled_scan_answers_for_every_plain_vocabulary(vocab, pretty, escaped, seed):
    """String keys, each once, integer values: what every tokenizers-written vocab is (escaped: as Python's
    json.dumps writes non-ASCII text, and "\\/")."""
    scan = _compiled()
    dump = json.dumps(vocab, indent=2 if pretty else None, ensure_ascii=escaped)
    if escaped:
        dump = dump.replace("/", "\\/")
    raw = ('{"model": {"type": "BPE", "vocab": ' + dump + ', "merges": []}}').encode()
    wanted = list(vocab)[:5] + ["absent", "\ud800"]
    assert _ask(scan, raw, wanted, seed) == (len(vocab), {k: vocab[k] for k in wanted if k in vocab})


SPELT_CHARS = st.sampled_from(["a", "b", "/", '"', "\\", "\x00", "\x1f", "\x7f", "\n", "\t", "\u00e9", "\u07ff",
                               "\u0800", "\ud7ff", "\ue000", "\uffff", "\U00010000", "\U0001F600", "\U0010FFFF"])
SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@st.composite
def _spelt(draw, key: str) -> str:
    """``key`` as a JSON string, each character written raw, as a short escape or as \\uXXXX (a surrogate pair
    above U+FFFF) with each hex digit in either case, as JSON allows."""
    def u(code: int) -> str:
        return "\\u" + "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in format(code, "04x"))
    out = []
    for ch in key:
        code = ord(ch)
        ways = [ch] if ch not in '"\\' and code >= 0x20 else []
        ways += [SHORT_ESCAPES[ch]] if ch in SHORT_ESCAPES else []
        ways += [u(code) if code < 0x10000 else u(0xD800 + ((code - 0x10000) >> 10)) + u(0xDC00 + (code & 0x3FF))]
        out.append(draw(st.sampled_from(ways)))
    return '"' + "".join(out) + '"'


@settings(max_examples=400, deadline=None)
@given(st.data(), st.lists(st.text(SPELT_CHARS, max_size=5), unique=True, max_size=12),
       st.sampled_from(["", " ", "\t", "\r", "\n", "\r\n  "]), st.booleans(), st.integers(0, 2**64 - 1))
def test_the_compiled_scan_reads_every_spelling_of_a_key(data, keys, space, again, seed):
    """A key written with any mix of raw characters, short escapes and \\u escapes in either case (surrogate pairs
    too) is the key json.loads reads: found when asked for (by every place it has in the wanted tuple), and the same
    key written again in another spelling makes the scan unsure, as a key written twice does."""
    scan = _compiled()
    values = data.draw(st.lists(st.integers(0, 10**18 - 1), min_size=len(keys), max_size=len(keys)))
    members = [(data.draw(_spelt(key)), value) for key, value in zip(keys, values)]
    if again and keys:
        at = data.draw(st.integers(0, len(keys) - 1))
        members.append((data.draw(_spelt(keys[at])), 1))
    body = ("{" + space + ("," + space).join(f"{text}{space}:{space}{value}" for text, value in members)
            + space + "}").encode()
    vocab = json.loads(body)
    wanted = keys[:3] + keys[:2] + ["absent", "\ud800"]
    answer = scan(body, 0, len(body), tuple(w.encode("utf-8", "surrogatepass") for w in wanted), seed)
    if again and keys:
        assert answer is None
    else:
        assert answer == (len(vocab), tuple(vocab.get(w) for w in wanted))


@pytest.mark.parametrize("body", [
    '{"a": 1, "a": 1}',            # a key written twice: json.loads keeps one, so the size is not the members
    '{"a": 1, "\\u0061": 2}',      # the same key, once escaped
    '{"\\ud800": 1}',              # a lone surrogate: json.loads takes it, the tokenizers library does not
    '{"a": -1}', '{"a": 1.0}', '{"a": 1e3}', '{"a": "1"}', '{"a": 01}', '{"a": 1000000000000000000}',
    '{"a": 1,}', '{"a" 1}', '{"a": 1} x', '{"\x01": 1}', '{"a\\x": 1}',
])
def test_the_compiled_scan_leaves_what_is_not_plain_to_python(scan, body):
    raw = ('{"model": {"type": "BPE", "vocab": ' + body + ', "merges": []}}').encode()
    assert _ask(scan, raw, ["a"]) is None


def test_the_compiled_scan_reads_only_its_slice(scan):
    """The bounds given are the vocab's; bytes after them (the merges) are never the vocab's."""
    raw = b'{"a": 1, "b": 2}{"c": 3}'
    assert scan(raw, 0, 16, (b"a", b"c"), 5) == (2, (1, None))
    with pytest.raises(ValueError):
        scan(raw, 0, len(raw) + 1, (), 5)
    with pytest.raises(ValueError):
        scan(raw, 5, 4, (), 5)


def test_a_key_asked_for_twice_gets_its_value_in_both_places(scan):
    """values[i] is the value of wanted[i] for every i, also when the same bytes are asked for twice (vocab_facts
    asks each string once, but the answer must not depend on that)."""
    raw = b'{"a": 1, "b": 2}'
    assert scan(raw, 0, len(raw), (b"a", b"b", b"a", b"c", b"b"), 3) == (2, (1, 2, 1, None, 2))
    assert scan(raw, 0, len(raw), (b"b",) * 40, 3) == (2, (2,) * 40)


def test_a_large_vocab_has_the_same_answer_through_vocab_facts(monkeypatch):
    """vocab_facts takes the compiled answer when there is one, the size included; the Python scan, asked the
    same, agrees on the ids."""
    _compiled()
    vocab = {f"\u0120tok{i}": i for i in range(200_000)}
    vocab["<|eot_id|>"] = 200_000
    raw = ('{"model": {"type": "BPE", "vocab": ' + json.dumps(vocab, indent=2, ensure_ascii=False)
           + ', "merges": []}}').encode()
    wanted = ["<|eot_id|>", "\u0120tok5", "missing"]
    assert vocab_scan.vocab_facts(raw, wanted, ["<|eot_id|>"]) == (200_001, {"<|eot_id|>": 200_000, "\u0120tok5": 5})
    monkeypatch.setattr(vocab_scan, "_COMPILED", [None])
    assert vocab_scan.vocab_facts(raw, wanted, ["<|eot_id|>"])[1] == {"<|eot_id|>": 200_000, "\u0120tok5": 5}


def test_a_vocab_denser_than_the_table_was_sized_for_grows_it(scan):
    """The table is sized for a member per 32 bytes; short keys written compactly (8 bytes a member) make it grow
    twice, and the answer stays exact."""
    vocab = {format(i, "x"): i for i in range(300_000)}
    raw = ('{"model": {"type": "BPE", "vocab": ' + json.dumps(vocab, separators=(",", ":")) + ', "merges": []}}')
    assert _ask(scan, raw.encode(), ["0", "493df", "493e0"]) == (300_000, {"0": 0, "493df": 299_999})


MASK = 2**64 - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX = (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53)


def _mix(h: int) -> int:  # mix() of _vocab_scan.c
    for factor in MIX:
        h ^= h >> 33
        h = (h * factor) & MASK
    return h ^ (h >> 33)


def _unmix(h: int) -> int:
    for factor in reversed(MIX):
        h ^= h >> 33
        h = (h * pow(factor, -1, 2**64)) & MASK
    return h ^ (h >> 33)


def _eight_byte_key_with_hash(target: int, seed: int) -> bytes:
    """The 8 bytes whose key_hash() under ``seed`` is ``target``: key_hash of 8 bytes is mix(x ^ (x >> 29)) with
    x = (mix(seed ^ 8) ^ k) * MULTIPLIER, and each step is a bijection."""
    x = _unmix(target)
    x ^= (x >> 29) ^ (x >> 58)
    return (((x * pow(GOLDEN, -1, 2**64)) & MASK) ^ _mix(seed ^ 8)).to_bytes(8, "little")


@pytest.mark.skipif(sys.byteorder != "little", reason="the keys are worked out for a little-endian machine")
def test_keys_chosen_to_share_one_place_in_the_table_make_it_give_up_not_slow(scan):
    """With the seed known (vocab_facts draws it from os.urandom for each file, so a file cannot know it), keys can
    be chosen whose hashes all start their probe at the same slot; the probe is cut at 128 slots and the scan
    says None, so they cost it linear time, and the Python scan reads them."""
    rng = random.Random(5)
    seed = rng.getrandbits(64)
    keys: list[str] = []
    while len(keys) < 400:
        target = rng.getrandbits(64) & ~0xFFFFF  # the same low 20 bits: the same first slot in any table this size
        try:
            key = _eight_byte_key_with_hash(target, seed).decode("utf-8")
        except UnicodeDecodeError:
            continue
        if "\x00" not in key and key not in keys:
            keys.append(key)
    vocab = {key: i for i, key in enumerate(keys)}
    raw = ('{"model": {"type": "BPE", "vocab": ' + json.dumps(vocab) + ', "merges": []}}').encode()
    bounds = bpe_vocab_bounds(raw)
    assert scan(raw, bounds[0], bounds[1], (), seed) is None
    assert scan(raw, bounds[0], bounds[1], (), seed ^ 1) == (400, ())  # any other seed: no such keys
    fewer = ('{"model": {"type": "BPE", "vocab": ' + json.dumps(dict(list(vocab.items())[:100])) + ', "merges": []}}').encode()
    bounds = bpe_vocab_bounds(fewer)
    assert scan(fewer, bounds[0], bounds[1], (), seed) == (100, ())  # probes under the cut: it answers


def test_eos_guard_no_extensions_turns_it_off():
    code = ("from eos_guard import vocab_scan; import sys; "
            "sys.stdout.write(str(vocab_scan._compiled_scan() is None))")
    env = {**os.environ, "EOS_GUARD_NO_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout == "True"


def _mutations(seed_text: bytes, count: int, rng: random.Random):
    specials = [b'"', b"\\", b"\\u", b"\\ud800", b"\\uDC00", b",", b"}", b"{", b":", b"\x00", b"\x1f", b"\xc3",
                b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe0\x80", b"0", b"-", b"9" * 20, b" ", b"\n"]
    for _ in range(count):
        data = bytearray(seed_text)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            kind = rng.randrange(4)
            if kind == 0:
                data[at] = rng.randrange(256)
            elif kind == 1:
                del data[at:at + rng.randint(1, 8)]
            elif kind == 2:
                data[at:at] = rng.choice(specials)
            else:
                data[at:] = data[at:at + 1]  # cut short
            if not data:
                data = bytearray(b"{")
        yield bytes(data)


def _seed_vocab() -> bytes:
    rng = random.Random(7)
    alphabet = "ab\u0120\u010a\"\\/\n\t\u00e9\u4e2d\U0001F600<|>"
    vocab = {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9))): i for i in range(400)}
    return json.dumps(vocab, indent=2, ensure_ascii=rng.random() < 0.5).encode()


def test_mutated_vocabularies_get_the_answer_of_parsing_them_whole_or_none(scan):
    rng = random.Random(11)
    seed_text = _seed_vocab()
    wanted = [k for k in json.loads(seed_text)][:20]
    encoded = tuple(w.encode("utf-8", "surrogatepass") for w in wanted)
    for data in _mutations(seed_text, 4000, rng):
        answer = scan(data, 0, len(data), encoded, rng.getrandbits(64))
        try:
            vocab = json.loads(data.decode("utf-8"))
        except ValueError:
            assert answer is None, data
            continue
        if answer is not None:
            assert isinstance(vocab, dict) and answer[0] == len(vocab), data
            assert answer[1] == tuple(vocab.get(w) for w in wanted), data


FUZZ = """
import ctypes, json, mmap, random, sys
if sys.argv[1] == "-":
    from eos_guard._vocab_scan import scan  # the build the tests run with
else:
    sys.path.insert(0, sys.argv[1])
    from _vocab_scan import scan
sys.path.insert(0, sys.argv[2])
from test_vocab_scan_compiled import _mutations, _seed_vocab

# Pages whose first and last cannot be read: a vocab written flush against either makes a read one byte before
# its start or past its end a segmentation fault. (A bytes object has a NUL after its last byte and its own header
# before its first, inside its allocation, so AddressSanitizer alone does not see those reads.)
PAGE = mmap.PAGESIZE
ROOM = 1 << 20
libc = ctypes.CDLL(None)
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
region = mmap.mmap(-1, ROOM + 2 * PAGE)
base = ctypes.addressof(ctypes.c_char.from_buffer(region))
assert libc.mprotect(base, PAGE, 0) == 0 and libc.mprotect(base + PAGE + ROOM, PAGE, 0) == 0


def scans(data, wanted, seed):
    answer = scan(data, 0, len(data), wanted, seed)
    for at in (PAGE + ROOM - len(data), PAGE):  # flush against the page after, then the page before
        region[at:at + len(data)] = data
        with memoryview(region)[at:at + len(data)] as view:
            assert scan(view, 0, len(data), wanted, seed) == answer, data
    if len(data) > 2:  # a slice inside the data: the bytes around it change nothing
        assert scan(b"{" + data + b"}", 1, len(data) + 1, wanted, seed) == answer, data
    return answer is not None


rng = random.Random(3)
seed_text = _seed_vocab()
wanted = tuple(w.encode("utf-8", "surrogatepass") for w in list(json.loads(seed_text))[:20])
answers = 0
for data in _mutations(seed_text, 3000, rng):
    answers += scans(data, wanted, rng.getrandbits(64))
# denser than the table is sized for: it grows (and a mutation may make it give up while growing)
dense = json.dumps({format(i, "x"): i for i in range(20_000)}, separators=(",", ":")).encode()
for data in [dense, *_mutations(dense, 20, rng)]:
    answers += scans(data, wanted, rng.getrandbits(64))
print(answers)
"""


def _run_fuzz(module: str, tmp_path, env: dict) -> None:
    script = tmp_path / "fuzz.py"
    script.write_text(FUZZ, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), module, str(ROOT / "tests")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]  # a segmentation fault is -11
    assert "Sanitizer" not in run.stderr, run.stderr[-3000:]
    assert int(run.stdout) > 0  # some mutations stay plain vocabularies, which it answers for


@pytest.mark.skipif(sys.platform == "win32", reason="mprotect (the guard pages) is POSIX")
def test_no_read_one_byte_outside_the_slice_with_guard_pages(scan, tmp_path):
    """The build the tests run with, on the same mutated vocabularies, each written flush against a page that
    cannot be read, after it and before it: a read one byte outside is a segmentation fault (checked: with the
    bounds check of a two-byte UTF-8 sequence off by one, it fails, where the AddressSanitizer run did not)."""
    _run_fuzz("-", tmp_path, dict(os.environ))


def test_no_read_or_write_outside_the_slice_under_address_sanitizer(tmp_path):
    """The C file built with AddressSanitizer and UndefinedBehaviorSanitizer, run on mutated vocabularies: a read
    or write past an allocation, or undefined behaviour (an overflow, a misaligned read) in the scan is an error
    report and a non-zero exit (checked: with a bug that leaves a byte of an escaped key uncounted, it fails)."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    lib = None
    if compiler:
        found = subprocess.run([compiler, "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
        lib = found if os.path.isabs(found) and os.path.exists(found) else None
    if lib is None:
        if REQUIRED and sys.platform == "linux":
            pytest.fail("no C compiler with AddressSanitizer (libasan) to check the compiled scan with")
        pytest.skip("no C compiler with AddressSanitizer here")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    built = tmp_path / f"_vocab_scan{suffix}"
    subprocess.run([compiler, "-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                    "-fno-omit-frame-pointer", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}",
                    str(ROOT / "eos_guard" / "_vocab_scan.c"), "-o", str(built)], check=True)
    env = {**os.environ, "LD_PRELOAD": lib, "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1", "PYTHONMALLOC": "malloc",
           "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}
    _run_fuzz(str(tmp_path), tmp_path, env)
