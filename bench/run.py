"""eos-guard's cost against the transformers-based check and against only reading the files.

usage: python bench/run.py [--quick] [--runs N] [--workdir DIR]

Builds its inputs (bench/build_inputs.py), then times whole processes, each after a warm-up run: (a) eos-guard,
(b) bench/transformers_check.py, the check users write with transformers, (c) the floor, ``python -c`` reading
the same files' bytes, run by the same interpreter. Prints medians with min-max, the ratios, peak RSS, and the
per-folder cost on trees of 100 / 1,000 / 5,000 folders. ``--quick`` uses small inputs and one run: a smoke test
that the benchmark works, with no timing claims. docs/performance.md records a full run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import build_inputs  # noqa: E402

PYTHON = sys.executable
FLOOR = "import sys\nfor p in sys.argv[1:]:\n    open(p, 'rb').read()"
# Each command runs under this small wrapper, which times it and reads its peak RSS: a child forked straight
# from this benchmark (which holds a 128k-entry tokenizer) would report the benchmark's own memory.
WRAPPER = ("import resource, subprocess, sys, time\n"
           "start = time.perf_counter()\n"
           "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
           "elapsed = time.perf_counter() - start\n"
           "print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)")


def measure(command: list[str], runs: int, expect: tuple[int, ...] = (0, 1)) -> dict:
    """Median, min and max wall time (s) and the largest peak RSS (MB) of ``runs`` runs after one warm-up."""
    times, peaks = [], []
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    for attempt in range(runs + 1):
        proc = subprocess.run([PYTHON, "-c", WRAPPER, *command], capture_output=True, text=True, env=env)
        elapsed, rss, code = proc.stdout.split()
        if int(code) not in expect:
            raise SystemExit(f"{' '.join(command)} exited {code}: {proc.stderr[-400:]}")
        if attempt:
            times.append(float(elapsed))
            peaks.append(int(rss) / 1024)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "rss": max(peaks)}


def files_of(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file())


def fmt(m: dict) -> str:
    return f"{m['median'] * 1000:.0f} ms ({m['min'] * 1000:.0f}-{m['max'] * 1000:.0f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, one run: a smoke test")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    work = args.workdir or Path(tempfile.mkdtemp(prefix="eos-guard-bench-"))
    eos_guard = [PYTHON, "-m", "eos_guard", "--format", "json", "--baseline", "none"]
    os.environ["EOS_GUARD_CACHE_DIR"] = str(work / "cache")

    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    llama = build_inputs.llama3_folder(work / "llama3", vocab_size=2_000 if args.quick else 128_000)
    small = build_inputs.small_chatml_with_tokenizer(work / "chatml")
    size = (llama / "tokenizer.json").stat().st_size / 1e6
    print(f"inputs in {work}: llama3 tokenizer.json {size:.1f} MB; runs per command: {runs} after a warm-up\n")

    print("| input | eos-guard | transformers check | floor (read bytes) | vs transformers | vs floor | "
          "eos-guard peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for name, folder in (("Llama-3-scale folder", llama), ("small ChatML folder", small)):
        theirs = measure([PYTHON, str(HERE / "transformers_check.py"), str(folder)], runs, expect=(0,))
        floor = measure([PYTHON, "-c", FLOOR, *files_of(folder)], runs, expect=(0,))
        # The default keeps template renders and vocabulary look-ups in the cache folder (warm after the
        # warm-up run); --no-cache pays for jinja2 and the vocabulary every time.
        for mode, extra in (("", []), (", --no-cache", ["--no-cache"])):
            ours = measure(eos_guard + extra + [str(folder)], runs)
            print(f"| {name}{mode} | {fmt(ours)} | {fmt(theirs)} | {fmt(floor)} | "
                  f"{theirs['median'] / ours['median']:.1f}x faster | {ours['median'] / floor['median']:.1f}x | "
                  f"{ours['rss']:.0f} MB |")

    print("\n| folders in one run | eos-guard | per folder | floor (read bytes) | peak RSS |")
    print("|---|---|---|---|---|")
    for count in ((20, 50) if args.quick else (100, 1_000, 5_000)):
        root = build_inputs.tree(work / f"tree{count}", count)
        ours = measure(eos_guard + [str(root)], runs)
        floor = measure([PYTHON, "-c", FLOOR, *files_of(root)], runs, expect=(0,))
        print(f"| {count} | {fmt(ours)} | {ours['median'] / count * 1000:.2f} ms | {fmt(floor)} | "
              f"{ours['rss']:.0f} MB |")

    imports = measure([PYTHON, "-X", "importtime", "-c", "import eos_guard"], runs, expect=(0,))
    bare = measure([PYTHON, "-c", "pass"], runs, expect=(0,))
    print(f"\n`import eos_guard`: {(imports['median'] - bare['median']) * 1000:.0f} ms over a bare interpreter "
          f"({fmt(bare)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
