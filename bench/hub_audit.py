"""``eos-guard --hub-list`` on 500 repositories served by the local Hub stand-in (tests/hub_server.py).

usage: python bench/hub_audit.py [--quick] [--repos N] [--latency SECONDS] [--workdir DIR]

The repositories are built from five templates (the broken ChatML fine-tune; its fixed version with
chat_template.jinja and additional_chat_templates/; one without generation_config.json; one listing 10 GB of
weights; one with a 2.6 MB tokenizer.json served through the CDN redirect). The server answers after ``--latency``
seconds, standing in for the round trip to the real Hub. eos-guard runs as a child process with the real
huggingface_hub client, timed by bench/run.py's wrapper, which also reads its peak RSS. Runs: a cold cache with
1, 8 and 32 workers (EOS_GUARD_HUB_WORKERS), then with a warm cache and offline (HF_HUB_OFFLINE=1).
``--quick`` audits 20 repositories once per mode: a smoke test, no timing claims. docs/hub.md records a full run.
"""

from __future__ import annotations

import argparse
import atexit
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from hub_server import HubServer, Repo, chatml  # noqa: E402
from run import WRAPPER  # noqa: E402

TEMPLATES = (chatml(), chatml(fixed=True, jinja=True), chatml(generation_config=False),
             chatml(fixed=True, weights=True), chatml(fixed=True, tokenizer=True))


def repositories(count: int) -> dict[str, Repo]:
    return {f"bench/model-{i:04d}": Repo.of(TEMPLATES[i % len(TEMPLATES)]) for i in range(count)}


def audit(hub: HubServer, work: Path, workers: int, offline: bool = False) -> dict:
    """One ``eos-guard --hub-list`` run: wall time, peak RSS (MB), exit code, requests sent, bytes cached."""
    env = {"PATH": os.environ["PATH"], "HOME": str(work), "HF_ENDPOINT": hub.url, "HF_HOME": str(work / "hf"),
           "HF_HUB_DISABLE_TELEMETRY": "1", "EOS_GUARD_HUB_WORKERS": str(workers), "NO_PROXY": "127.0.0.1",
           "EOS_GUARD_CACHE_DIR": str(work / "eos-guard-cache"), "PYTHONPATH": str(HERE.parent),
           **({"HF_HUB_OFFLINE": "1"} if offline else {})}
    before = len(hub.log)
    proc = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-m", "eos_guard", "--hub-list",
                           str(work / "list.txt"), "--format", "json"], env=env, cwd=work, capture_output=True,
                          text=True)
    elapsed, rss, code, _ = proc.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"eos-guard exited {code}: {proc.stderr[-1000:]}")
    cached = sum(p.stat().st_size for p in (work / "hf" / "hub").rglob("*") if p.is_file() and not p.is_symlink())
    return {"seconds": float(elapsed), "rss": int(rss) / 1024, "requests": len(hub.log) - before,
            "cached": cached / 1e6}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 repositories: a smoke test")
    parser.add_argument("--repos", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before each answer (default 0.05)")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    count = 20 if args.quick else args.repos
    work = args.workdir or Path(tempfile.mkdtemp(prefix="eos-guard-hub-bench-"))
    if args.workdir is None:  # a folder of our own: removed at exit, as --workdir's is kept
        atexit.register(shutil.rmtree, work, True)
    repos = repositories(count)
    work.mkdir(parents=True, exist_ok=True)
    (work / "list.txt").write_text("\n".join(repos) + "\n", encoding="utf-8")

    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{count} repositories, {args.latency * 1000:.0f} ms per answer\n")
    print("| run | workers | wall time | repositories/s | requests | cached | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    with HubServer(repos, latency=args.latency, lifetime=3600) as hub:
        runs = [("cold cache", workers, False) for workers in (1, 8, 32)] + [("warm cache", 8, False),
                                                                              ("offline (HF_HUB_OFFLINE=1)", 8, True)]
        for name, workers, offline in runs:
            if name == "cold cache":
                shutil.rmtree(work / "hf", ignore_errors=True)
            m = audit(hub, work, workers, offline)
            print(f"| {name} | {workers} | {m['seconds']:.1f} s | {count / m['seconds']:.1f} | {m['requests']} | "
                  f"{m['cached']:.1f} MB | {m['rss']:.0f} MB |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
