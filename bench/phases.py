"""Where a cold check of a large folder spends its time: the steps of reading tokenizer.json, timed one by one in
one process, against parsing the file whole.

usage: python bench/phases.py FOLDER [FOLDER ...] [--runs N]

For each folder's tokenizer.json (a BPE vocabulary, as bench/build_inputs.py writes them), the median of N runs of:

- reading its bytes;
- its SHA-256 (the cache key; a cold check does this on another thread while it scans, see eos_guard/cache.py);
- reading its outline (``jsonspan.bpe_vocab_bounds``, which a check does as it reads the file): the members
  before the vocabulary, the vocabulary's bounds, and the check that only the merges follow it;
- the scan of the vocabulary for the strings a check asks about (``vocab_scan.vocab_facts``): the compiled one
  (eos_guard/_vocab_scan.c, where it is built), alone and, in new processes, beside the SHA-256 on another thread
  as a cold check runs them, and the Python one with and without counting its distinct keys (it
  counts them only when an added token is not in the vocabulary);
- decoding the vocabulary slice's UTF-8 alone (``json.loads`` takes text, so the scan decodes each piece);
- ``json.loads`` of the vocabulary slice alone, in one piece (the scan parses it in 64 KB pieces);
- ``json.loads`` of the whole file (the reference of bench/run.py's Gemma-scale row);
- two other ways to learn the distinct keys, for comparison (docs/performance.md): cutting the vocabulary at its
  quotes and counting a set of the keys' bytes, with a UTF-8 check and no other validation (a lower bound of any
  scan that makes an object per key), and, when the ``orjson`` package is installed (it is no dependency),
  ``orjson.loads`` of the vocabulary slice.

The strings asked about are the file's added tokens and the known end-of-turn texts, as a check asks. Files stay
in the page cache between runs (as in bench/run.py: every command there runs after a warm-up round).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eos_guard.jsonspan import JsonDocument, bpe_vocab_bounds  # noqa: E402
from eos_guard.known_tokens import END_OF_TURN_TEXTS  # noqa: E402
from eos_guard import vocab_scan  # noqa: E402
from eos_guard.vocab_scan import vocab_facts  # noqa: E402


def timed(step, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def phases(path: Path, runs: int) -> list[tuple[str, float]]:
    raw = path.read_bytes()
    wanted = _wanted(path)
    bounds = bpe_vocab_bounds(raw)
    if bounds is None:
        raise SystemExit(f"{path}: not a BPE tokenizer.json laid out as the scan expects")
    start, end = bounds
    return [
        ("read the bytes", timed(path.read_bytes, runs)),
        ("SHA-256 of the bytes", timed(lambda: hashlib.sha256(raw).hexdigest(), runs)),
        ("read the outline (the vocabulary's bounds)", timed(lambda: bpe_vocab_bounds(raw), runs)),
    ] + _compiled(path, raw, wanted, bounds, runs) + [
        ("Python scan, counting the keys",
         _python_scan(lambda: vocab_facts(raw, wanted, ["\x00 in no vocabulary"], bounds=bounds), runs)),
        ("Python scan, not counting", _python_scan(lambda: vocab_facts(raw, wanted, [], bounds=bounds), runs)),
        ("decoding the vocabulary slice's UTF-8 (the scan decodes each piece)",
         timed(lambda: raw[start:end].decode("utf-8"), runs)),
        ("json.loads of the vocabulary slice", timed(lambda: json.loads(raw[start:end].decode("utf-8")), runs)),
        ("json.loads of the whole file", timed(lambda: json.loads(raw.decode("utf-8")), runs)),
        ("the keys cut at quotes into a set (UTF-8 checked, nothing else)",
         timed(lambda: _keys_cut_at_quotes(raw[start:end]), runs)),
    ] + _orjson(raw, start, end, runs)


def _wanted(path: Path) -> list[str]:
    """The strings a check asks the vocabulary about: the file's added tokens and the known end-of-turn texts."""
    entries = JsonDocument.read(path, lazy=True).get(("added_tokens",)) or []
    added = [entry["content"] for entry in entries if isinstance(entry, dict) and isinstance(entry.get("content"), str)]
    return sorted(set(added) | set(END_OF_TURN_TEXTS))


def _compiled(path: Path, raw: bytes, wanted: list[str], bounds: tuple[int, int],
              runs: int) -> list[tuple[str, float]]:
    if vocab_scan._compiled_scan() is None:
        print("(the compiled scan is not built here, or EOS_GUARD_NO_EXTENSIONS is set: its row is left out)")
        return []
    return [("compiled scan (eos_guard/_vocab_scan.c; it always counts)",
             timed(lambda: vocab_facts(raw, wanted, ["\x00 in no vocabulary"], bounds=bounds), runs)),
            ("compiled scan with the SHA-256 on another thread, as a cold check runs them (each run a new process; "
             "until both end)", _beside_hash(path, runs))]


def _beside_hash(path: Path, runs: int) -> float:
    """The median of ``runs`` new processes, each timing the compiled scan while a thread hashes the file: in a
    new process the scan's key table is fresh memory, which a run in this process reuses."""
    times = [float(subprocess.run([sys.executable, __file__, "--scan-beside-hash", str(path)], check=True,
                                  capture_output=True, text=True).stdout) for _ in range(runs)]
    return statistics.median(times)


def scan_beside_hash(path: Path) -> float:
    """One cold check's pair: the SHA-256 of the file's bytes on a thread (eos_guard/cache.py) and the compiled
    scan of its vocabulary on this one; the seconds until both have ended."""
    import threading

    raw = path.read_bytes()
    wanted = _wanted(path)
    bounds = bpe_vocab_bounds(raw)
    hashing = threading.Thread(target=lambda: hashlib.sha256(raw).hexdigest())
    start = time.perf_counter()
    hashing.start()
    vocab_facts(raw, wanted, ["\x00 in no vocabulary"], bounds=bounds)
    hashing.join()
    return time.perf_counter() - start


def _python_scan(step, runs: int) -> float:
    kept = vocab_scan._COMPILED[:]
    vocab_scan._COMPILED[:] = [None]
    try:
        return timed(step, runs)
    finally:
        vocab_scan._COMPILED[:] = kept


def _keys_cut_at_quotes(vocabulary: bytes) -> int:
    """The number of distinct keys of a vocabulary object, valid JSON assumed: escaped backslashes and quotes are
    replaced by bytes that cannot stand in JSON, so that every quote left delimits a string."""
    parts = vocabulary.replace(b"\\\\", b"\x00\x00").replace(b'\\"', b"\x01\x01").split(b'"')
    keys = parts[1::2]
    b'"'.join(keys).decode("utf-8")
    return len(set(keys))


def _orjson(raw: bytes, start: int, end: int, runs: int) -> list[tuple[str, float]]:
    try:
        import orjson
    except ImportError:
        return []
    return [("orjson.loads of the vocabulary slice (not a dependency)",
             timed(lambda: orjson.loads(memoryview(raw)[start:end]), runs))]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--scan-beside-hash"]:  # one sample of _beside_hash, in its own process
        print(scan_beside_hash(Path(argv[1])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    names = [folder.name for folder in args.folders]
    results = [phases(folder / "tokenizer.json", args.runs) for folder in args.folders]
    print("| step (median of %d, in one process) | " % args.runs + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for index, (label, _) in enumerate(results[0]):
        print(f"| {label} | " + " | ".join(f"{result[index][1] * 1000:.1f} ms" for result in results) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
