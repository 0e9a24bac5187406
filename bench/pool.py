"""Whether a worker pool pays for a run over many folders: one process against two workers, with both cores idle
and with another process keeping one core busy (docs/performance.md, "Many folders"; eos_guard/pipeline.py
``pool_size``).

usage: python bench/pool.py [--folders N] [--runs N] [--workdir DIR]

Each command is a whole process, ``python -c`` that fixes ``pipeline.pool_size`` (1 or 2 workers) and runs the
check of a tree of small ChatML folders (bench/build_inputs.py's ``tree``, one in ten broken) with an empty cache,
as ``eos-guard --format json --baseline none TREE`` does. The two commands alternate, after a warm-up round;
"busy" rounds run a busy loop in another process for their whole length. Wall time and CPU time (this process and
its children: the workers) are medians of the rounds.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_inputs  # noqa: E402

CHECK = ("import sys, eos_guard.pipeline as pipeline\n"
         "workers = int(sys.argv[1])\n"
         "pipeline.pool_size = lambda folders, cores, idle: workers\n"
         "from eos_guard.cli import main\n"
         "raise SystemExit(main(['--format', 'json', '--baseline', 'none', sys.argv[2]]))\n")


def run(workers: int, tree: Path) -> tuple[float, float]:
    """One check of ``tree`` with this many workers: (wall, CPU of the process and its workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="eos-guard-pool-") as cache:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "EOS_GUARD_CACHE_DIR": cache}
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHECK, str(workers), str(tree)], env=env,
                              cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"the check failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "eos-guard-bench-pool")
    args = parser.parse_args()
    tree = args.workdir / f"tree{args.folders}"
    if not (tree.exists() and sum(1 for _ in tree.glob("*/*")) == args.folders):
        build_inputs.tree(tree, args.folders)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; {args.folders} folders, "
          f"{args.runs} rounds after a warm-up round")
    print("\n| other load | workers | wall (min-max) | per folder | CPU | per folder |")
    print("|---|---|---|---|---|---|")
    for busy in (False, True):
        loop = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            times: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
            for round_ in range(args.runs + 1):
                for workers in (1, 2):
                    result = run(workers, tree)
                    if round_:
                        times[workers].append(result)
        finally:
            if loop is not None:
                loop.kill()
                loop.wait()
        for workers, results in times.items():
            walls, cpus = [w for w, _ in results], [c for _, c in results]
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            print(f"| {'one core busy' if busy else 'none'} | {workers if workers > 1 else 'none (one process)'} | "
                  f"{wall:.2f} s ({min(walls):.2f}-{max(walls):.2f}) | {wall / args.folders * 1000:.2f} ms | "
                  f"{cpu:.2f} s | {cpu / args.folders * 1000:.2f} ms |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
