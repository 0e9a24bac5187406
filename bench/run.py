"""eos-guard's cost as whole processes, with the cache state of every row stated, against what it must at least do.

usage: python bench/run.py [--quick] [--runs N] [--workdir DIR] [--baseline-tree DIR] [--corpus DIR]
                           [--transformers]

Builds its inputs (bench/build_inputs.py), compiles the sources to bytecode as an installation does, then times
whole processes, each ``eos-guard PATH`` as a user types it (``python -m eos_guard PATH``: the concise report; the
work folder must be outside a git work tree, so no baseline is read); every row's commands run interleaved, one
warm-up round first, and medians are printed with min-max, peak RSS and ratios measured in the same rounds. Wall
time is what a user waits; CPU time (user + system of the process and its children) is what the process itself
costs, and it stays stable when other jobs load the machine, so both are printed:

- a Llama-3-scale folder (128k vocab, 256 added tokens) with an empty cache (a fresh cache folder every run:
  what a CI job sees), then warm (the cache the warm-up filled), against reading its files' bytes (the floor);
  with an empty cache also with the Python vocab scan (``EOS_GUARD_NO_EXTENSIONS=1``: an install without a C
  compiler), as the compiled one (eos_guard/_vocab_scan.c) is built into the measured tree first;
- the same folder with a chat template eos-guard does not know (its own render, jinja2 included);
- a Gemma-scale folder (262k vocab, ~34 MB tokenizer.json), empty cache, against ``json.loads`` of tokenizer.json;
- a small ChatML folder without tokenizer.json, empty cache, against ``python -c pass``, through ``python -m`` and
  through the console script pip writes, run as the pre-commit hook runs it (its entry's options, ``--pre-commit``,
  and the file names);
- ``import eos_guard`` against ``python -c pass``;
- trees of 1,000 and 10,000 small ChatML folders in one run, empty cache: time per folder and peak RSS;
- the steps of reading the large folders' tokenizer.json, one by one (bench/phases.py).

``--baseline-tree DIR`` measures another copy of the sources (e.g. ``git worktree add DIR <commit>``) in the same
rounds, so today's and the changed code share the machine's load. ``--corpus DIR`` (default
$EOS_GUARD_CORPUS or /work/shared/corpus) supplies the real Llama 3.1, Gemma 3 and Qwen2 templates when present;
without it the shortened templates of build_inputs.py are used and the output says so. ``--transformers`` adds
the check users write with transformers (bench/transformers_check.py). ``--quick`` uses small inputs and one run:
a smoke test that the benchmark works, with no timing claims. docs/performance.md records a full run.
"""

from __future__ import annotations

import argparse
import atexit
import compileall
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import build_inputs  # noqa: E402

PYTHON = sys.executable  # replaced by the interpreter of clean_python() before anything is timed
NEUTRAL = tempfile.gettempdir()  # the working directory of every timed command
FLOOR = "import sys\nfor p in sys.argv[1:]:\n    open(p, 'rb').read()"
# What a check cannot start without: the JSON parser and paths (a plain command line, options without values and
# PATHs, needs no argparse since commit 47d6e2d: eos_guard/options.py).
STDLIB = "import json, pathlib"
# What a check imports anyway, whichever JSON parser and paths it used (re and enum through its own patterns and
# enums, functools, collections and contextlib through runpy and its own code): the ledger's base (performance.md)
ANYWAY = "import re, enum, functools, collections, contextlib"
EMPTY_MODULES = 60  # the ledger's cost of the import machinery alone: a package of this many empty modules
# What a check of one folder (its concise report) imports before it reads a file (the old code has the same modules).
CHECK_MODULES = "import eos_guard.cli, eos_guard.pipeline, eos_guard.report.text"
# The bytecode of eos-guard's own modules that a check loads: how many, how large, and the time to read and unmarshal
# it in one process (best of 20), the part of importing them that grows with the code's size whatever its layout
BYTECODE = (CHECK_MODULES + "\nimport importlib.util, marshal, sys, time\n"
            "paths = [importlib.util.cache_from_source(m.__file__) for n, m in sorted(sys.modules.items())\n"
            "         if n.split('.')[0] == 'eos_guard' and getattr(m, '__file__', None)]\n"
            "best = float('inf')\n"
            "for _ in range(20):\n"
            "    start = time.perf_counter()\n"
            "    datas = [open(path, 'rb').read() for path in paths]\n"
            "    codes = [marshal.loads(data[16:]) for data in datas]  # after the .pyc header\n"
            "    best = min(best, time.perf_counter() - start)\n"
            "print(len(paths), sum(map(len, datas)), best)")
JSON_LOADS = "import json, sys\njson.loads(open(sys.argv[1], encoding='utf-8').read())"
# Each command runs under this small wrapper, which times it and reads its peak RSS: a child forked straight
# from this benchmark (which may hold a large tokenizer) would report the benchmark's own memory.
WRAPPER = ("import resource, subprocess, sys, time\n"
           "start = time.perf_counter()\n"
           "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
           "elapsed = time.perf_counter() - start\n"
           "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
           "print(elapsed, usage.ru_maxrss, code, usage.ru_utime + usage.ru_stime)")
# (corpus folder, file, key) of the real templates: the ones most fine-tunes ship byte for byte
REAL_TEMPLATES = {
    "llama": ("llama-3.1-8b-instruct-finetune", "tokenizer_config.json", "chat_template"),
    "gemma": ("medgemma-27b-it", "chat_template.jinja", None),
    "chatml": ("qwen2-1.5b-instruct-boundless", "tokenizer_config.json", "chat_template"),
}


class Command:
    """One process to time: its arguments, environment, and a step before each run (emptying a cache)."""

    def __init__(self, label: str, argv: list[str], tree: Path | None = None, cache: Path | None = None,
                 empty_cache: bool = False, expect: tuple[int, ...] = (0, 1), env: dict | None = None) -> None:
        self.label, self.argv, self.expect = label, argv, expect
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", **(env or {})}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        if not env or "EOS_GUARD_NO_EXTENSIONS" not in env:
            self.env.pop("EOS_GUARD_NO_EXTENSIONS", None)
        if tree is not None:
            self.env["PYTHONPATH"] = str(tree)
        if cache is not None:
            self.env["EOS_GUARD_CACHE_DIR"] = str(cache)
        self.cache, self.empty_cache = cache, empty_cache
        self.times: list[float] = []
        self.cpu: list[float] = []  # user + system seconds: what the process itself costs, whatever the load
        self.peaks: list[float] = []

    def run(self, keep: bool) -> None:
        if self.empty_cache and self.cache is not None:
            shutil.rmtree(self.cache, ignore_errors=True)
        # From a neutral folder: ``python -m`` puts the working directory first on sys.path, ahead of PYTHONPATH.
        proc = subprocess.run([PYTHON, "-c", WRAPPER, *self.argv], capture_output=True, text=True, env=self.env,
                              cwd=NEUTRAL)
        elapsed, rss, code, cpu = proc.stdout.split()
        if int(code) not in self.expect:
            raise SystemExit(f"{self.label}: {' '.join(self.argv)} exited {code}: {proc.stderr[-400:]}")
        if keep:
            self.times.append(float(elapsed))
            self.cpu.append(float(cpu))
            self.peaks.append(int(rss) / 1024)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def fmt(self) -> str:
        return f"{self.median * 1000:.0f} ms ({min(self.times) * 1000:.0f}-{max(self.times) * 1000:.0f})"

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def fmt_cpu(self) -> str:
        return f"{self.cpu_median * 1000:.0f} ms"

    @property
    def rss(self) -> float:
        return statistics.median(self.peaks)


def clean_python(work: Path) -> str:
    """A fresh virtualenv whose only addition is a path line to the dependencies' site-packages.

    Started from a development install, every Python process (``python -c pass`` too) runs the editable-install
    finder, which imports pathlib, urllib.parse and re: ~15-20 ms that an installed wheel never pays, and that made
    the references slower and the ratios look better than a user sees. A path line in a ``.pth`` file only extends
    sys.path; it imports nothing.
    """
    target = work / "python"
    if not (target / "bin" / "python").exists():
        venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(target)
    deps = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    site = subprocess.run([str(target / "bin" / "python"), "-c", "import site; print(site.getsitepackages()[0])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "eos_guard_bench_deps.pth").write_text("".join(f"{p}\n" for p in deps), encoding="utf-8")
    return str(target / "bin" / "python")


def measure(commands: list[Command], runs: int) -> None:
    """Run the commands interleaved: one warm-up round, then ``runs`` rounds."""
    for round_ in range(runs + 1):
        for command in commands:
            command.run(keep=round_ > 0)


def hook_options(tree: Path) -> list[str]:
    """The options of the first hook's entry in ``tree``'s .pre-commit-hooks.yaml (``eos-guard --pre-commit``): what
    pre-commit puts before the file names."""
    text = (tree / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    entry = re.search(r"^\s*entry:\s*(.+)$", text, re.MULTILINE)
    return shlex.split(entry[1])[1:] if entry else []


def files_of(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file())


def real_template(corpus: Path | None, name: str) -> str | None:
    if corpus is None:
        return None
    folder, file, key = REAL_TEMPLATES[name]
    path = corpus / folder / file
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    return json.loads(text)[key] if key else text


def unknown_template(template: str) -> str:
    """``template`` with a comment of the bench's own, so that no probe eos-guard ships matches it (TRL's
    setup_chat_format ChatML template is one of tests/fixtures', whose probe known_probes.json ships: the row "template
    eos-guard does not know" measured a known one). Refused if eos-guard knows it all the same."""
    sys.path.insert(0, str(ROOT))
    from eos_guard import known_probes

    marked = template + "{# eos-guard bench: a template no model folder ships #}"
    if known_probes.known(marked):
        raise SystemExit("bench: eos-guard ships a probe of the template the bench measures as unknown")
    return marked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, one run: a smoke test")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--baseline-tree", type=Path, help="another copy of the sources, measured alongside")
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("EOS_GUARD_CORPUS", "/work/shared/corpus")))
    parser.add_argument("--transformers", action="store_true", help="also time the transformers-based check")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    work = args.workdir or Path(tempfile.mkdtemp(prefix="eos-guard-bench-"))
    if args.workdir is None:  # a folder of our own: removed at exit, as --workdir's is kept
        atexit.register(shutil.rmtree, work, True)
    work.mkdir(parents=True, exist_ok=True)
    if any((folder / ".git").exists() for folder in (work.resolve(), *work.resolve().parents)):
        raise SystemExit(f"bench: {work} is in a git work tree, where a check compares with HEAD (EOS015): "
                         "choose a --workdir outside one")
    global NEUTRAL, PYTHON
    NEUTRAL = str(work)
    PYTHON = clean_python(work)
    corpus = args.corpus if args.corpus.is_dir() else None
    trees = [("new", ROOT)] + ([("old", args.baseline_tree.resolve())] if args.baseline_tree else [])
    for _, tree in trees:  # bytecode, and the compiled vocab scan where the tree has one, as pip builds them
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(tree / "eos_guard")], check=True,
                       stdout=subprocess.DEVNULL)
        if (tree / "eos_guard" / "_vocab_scan.c").is_file():
            subprocess.run([PYTHON, "setup.py", "-q", "build_ext", "--inplace"], cwd=tree, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    for name, tree in trees:  # each label must time its own sources (an installed copy must not win)
        probe = Command(name, [], tree=tree)
        where = subprocess.run([PYTHON, "-c", "import eos_guard; print(eos_guard.__file__)"], capture_output=True,
                               text=True, env=probe.env, cwd=NEUTRAL).stdout.strip()
        if not Path(where).is_relative_to(tree):
            raise SystemExit(f"{name}: eos_guard is imported from {where}, not from {tree}")
        built = subprocess.run([PYTHON, "-c", "import eos_guard._vocab_scan"], env=probe.env, cwd=NEUTRAL,
                               capture_output=True).returncode == 0
        print(f"{name} ({tree}): the compiled vocab scan (eos_guard/_vocab_scan.c) is "
              f"{'built' if built else 'not there'}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at the start; every command runs under {PYTHON}, a fresh "
          f"virtualenv without the editable-install finder")
    templates = {name: real_template(corpus, name) for name in REAL_TEMPLATES}
    print("templates: " + ", ".join(f"{name} {'real (from ' + str(corpus) + ')' if text else 'shortened'}"
                                    for name, text in templates.items()))
    llama_vocab, gemma_vocab = (2_000, 4_000) if args.quick else (128_000, 262_144)
    llama = build_inputs.llama3_folder(work / "llama3", llama_vocab, templates["llama"] or build_inputs.LLAMA3_TEMPLATE)
    own_llama, own_chatml = (unknown_template(build_inputs.LLAMA3_TEMPLATE), unknown_template(build_inputs.CHATML))
    llama_own = build_inputs.llama3_folder(work / "llama3-own-template", llama_vocab, own_llama)
    gemma = build_inputs.gemma_folder(work / "gemma", gemma_vocab, templates["gemma"] or build_inputs.GEMMA_TEMPLATE)
    small = build_inputs.chatml_folder(work / "chatml", template=templates["chatml"] or build_inputs.CHATML)
    small_own = build_inputs.chatml_folder(work / "chatml-own-template", template=own_chatml)
    print(f"inputs in {work}: tokenizer.json {(llama / 'tokenizer.json').stat().st_size / 1e6:.1f} MB (Llama-3-scale),"
          f" {(gemma / 'tokenizer.json').stat().st_size / 1e6:.1f} MB (Gemma-scale); {runs} runs per command after "
          f"a warm-up round, interleaved\n")
    caches = work / "caches"

    # The console script pip writes for eos-guard (pip 24+; what pre-commit runs): it imports the package's
    # __main__ without runpy, which `python -m` imports first (importlib.util, contextlib, collections, functools).
    script = work / "eos-guard-script"
    script.write_text("import sys\nfrom eos_guard.__main__ import main\nif __name__ == '__main__':\n"
                      "    sys.argv[0] = sys.argv[0].removesuffix('.exe')\n    sys.exit(main())\n", encoding="utf-8")

    def eos_guard(name: str, tree: Path, target: Path, state: str, env: dict | None = None,
                  how: list[str] | None = None, words: list[str] | None = None) -> Command:
        """``eos-guard PATH`` as a user types it (the concise report, no baseline outside a git work tree), or
        ``words``."""
        return Command(f"{name} {state}", [PYTHON, *(how or ["-m", "eos_guard"]), *(words or [str(target)])],
                       tree=tree, cache=caches / f"{name}-{target.name}", empty_cache=state == "empty cache", env=env)

    print("| input | cache | code | eos-guard wall (min-max) | CPU | reference | wall (min-max) | CPU | "
          "eos-guard / reference, wall | CPU | eos-guard peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [("Llama-3-scale folder", llama, "empty cache", "read bytes", [PYTHON, "-c", FLOOR, *files_of(llama)]),
            ("Llama-3-scale folder", llama, "warm cache", "read bytes", [PYTHON, "-c", FLOOR, *files_of(llama)]),
            ("Llama-3-scale folder, template eos-guard does not know", llama_own, "empty cache", "read bytes",
             [PYTHON, "-c", FLOOR, *files_of(llama_own)]),
            ("Gemma-scale folder", gemma, "empty cache", "json.loads of tokenizer.json",
             [PYTHON, "-c", JSON_LOADS, str(gemma / "tokenizer.json")]),
            ("small ChatML folder, no tokenizer.json", small, "empty cache", "python -c pass",
             [PYTHON, "-c", "pass"]),
            ("small ChatML folder, no tokenizer.json, template eos-guard does not know", small_own, "empty cache",
             "python -c pass", [PYTHON, "-c", "pass"])]
    # the new code with its Python vocab scan, on the row where the scan is most of the time (an install that had
    # no C compiler)
    python_scan = {"EOS_GUARD_NO_EXTENSIONS": "1"}
    for title, folder, state, ref_name, ref_argv in rows:
        reference = Command(ref_name, ref_argv, expect=(0,))
        labelled = list(trees)
        ours = [eos_guard(name, tree, folder, state) for name, tree in trees]
        if title == "Llama-3-scale folder" and state == "empty cache":
            labelled.insert(1, ("new, Python scan", ROOT))
            ours.insert(1, eos_guard("new-python-scan", ROOT, folder, state, env=python_scan))
        if title == "small ChatML folder, no tokenizer.json":
            for name, tree in trees:
                labelled.append((f"{name}, eos-guard script", tree))
                ours.append(eos_guard(f"{name}-script", tree, folder, state, how=[str(script)],
                                      words=[*hook_options(tree), *files_of(folder)]))
        measure([reference, *ours], runs)
        for (name, _), command in zip(labelled, ours):
            print(f"| {title} | {state} | {name} | {command.fmt()} | {command.fmt_cpu()} | {ref_name} | "
                  f"{reference.fmt()} | {reference.fmt_cpu()} | {command.median / reference.median:.2f}x | "
                  f"{command.cpu_median / reference.cpu_median:.2f}x | {command.rss:.0f} MB |")

    bare = Command("bare", [PYTHON, "-c", "pass"], expect=(0,))
    stdlib = Command("stdlib", [PYTHON, "-c", STDLIB], expect=(0,))
    # `python -m` of a package that imports only those: what `python -m eos_guard` pays before any module of its own
    stub = work / "stdlib-only"
    (stub / "stdlib_only").mkdir(parents=True, exist_ok=True)
    (stub / "stdlib_only" / "__init__.py").write_text("", encoding="utf-8")
    (stub / "stdlib_only" / "__main__.py").write_text(STDLIB + "\n", encoding="utf-8")
    stdlib_m = Command("stdlib -m", [PYTHON, "-m", "stdlib_only"], tree=stub, expect=(0,))
    anyway = Command("anyway", [PYTHON, "-c", ANYWAY], expect=(0,))
    anyway_json = Command("anyway + json", [PYTHON, "-c", ANYWAY + ", json"], expect=(0,))
    anyway_pathlib = Command("anyway + pathlib", [PYTHON, "-c", ANYWAY + ", pathlib"], expect=(0,))
    empty = work / "empty-modules"
    (empty / "empty_modules").mkdir(parents=True, exist_ok=True)
    (empty / "empty_modules" / "__init__.py").write_text("", encoding="utf-8")
    for number in range(EMPTY_MODULES):
        (empty / "empty_modules" / f"m{number}.py").write_text("", encoding="utf-8")
    compileall.compile_dir(empty, quiet=1)  # as an installation compiles them
    empties = Command("empty modules", [PYTHON, "-c", ", ".join(
        ["import empty_modules", *(f"empty_modules.m{number}" for number in range(EMPTY_MODULES))])],
        tree=empty, expect=(0,))
    ledger = [anyway, anyway_json, anyway_pathlib, empties]
    imports = [Command(f"import {name}", [PYTHON, "-c", "import eos_guard"], tree=tree, expect=(0,))
               for name, tree in trees]
    check_modules = [Command(f"check modules {name}", [PYTHON, "-c", CHECK_MODULES], tree=tree, expect=(0,))
                     for name, tree in trees]
    measure([bare, stdlib, stdlib_m, *ledger, *imports, *check_modules], runs * 3)
    print()
    print(f"the standard library modules every check imports (`{STDLIB}`): "
          f"{(stdlib.median - bare.median) * 1000:.1f} ms wall, {(stdlib.cpu_median - bare.cpu_median) * 1000:.1f} ms "
          f"CPU over a bare interpreter, {stdlib.median / bare.median:.2f}x its wall time; `python -m` of a package "
          f"that imports only them: {stdlib_m.fmt()}, {stdlib_m.median / bare.median:.2f}x a bare interpreter")
    print(f"the ledger of the small ChatML row: over `{ANYWAY}` ({anyway.fmt()}, "
          f"{anyway.median / bare.median:.2f}x a bare interpreter), the `json` package costs "
          f"{(anyway_json.median - anyway.median) * 1000:.1f} ms wall "
          f"({(anyway_json.median - anyway.median) / bare.median:.2f}x a bare interpreter) and `pathlib` "
          f"{(anyway_pathlib.median - anyway.median) * 1000:.1f} ms "
          f"({(anyway_pathlib.median - anyway.median) / bare.median:.2f}x); a package and {EMPTY_MODULES} empty "
          f"modules of it, compiled, {(empties.median - bare.median) * 1000:.1f} ms over a bare interpreter "
          f"({(empties.median - bare.median) / (EMPTY_MODULES + 1) * 1e6:.0f} µs each of the {EMPTY_MODULES + 1})")
    for (name, _), command in zip(trees, imports):
        print(f"`import eos_guard` ({name}): {(command.median - bare.median) * 1000:.1f} ms wall, "
              f"{(command.cpu_median - bare.cpu_median) * 1000:.1f} ms CPU over a bare interpreter "
              f"({bare.fmt()}, {bare.fmt_cpu()} CPU)")
    for name, tree in trees:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        count, size, seconds = subprocess.run([PYTHON, "-c", BYTECODE], capture_output=True, text=True, env=env,
                                              cwd=NEUTRAL, check=True).stdout.split()
        print(f"eos-guard's own modules a check of a folder loads ({name}): {count}, {int(size) / 1e6:.2f} MB of "
              f"bytecode, read and unmarshalled in {float(seconds) * 1000:.1f} ms "
              f"({float(seconds) / bare.median:.2f}x a bare interpreter)")
    for (name, _), command in zip(trees, check_modules):
        print(f"the modules a check of a folder loads ({name}; concise report; standard library included): "
              f"{(command.median - bare.median) * 1000:.1f} ms wall, "
              f"{(command.cpu_median - bare.cpu_median) * 1000:.1f} ms CPU over a bare interpreter")

    print("\n| folders in one run | cache | code | eos-guard wall (min-max) | per folder | CPU | per folder | "
          "peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for count in ((20, 50) if args.quick else (1_000, 10_000)):
        root = build_inputs.tree(work / f"tree{count}", count)
        ours = [eos_guard(name, tree, root, "empty cache") for name, tree in trees]
        measure(ours, max(1, runs // 2) if count >= 10_000 else runs)
        for (name, _), command in zip(trees, ours):
            print(f"| {count} | empty cache | {name} | {command.fmt()} | {command.median / count * 1000:.2f} ms | "
                  f"{command.fmt_cpu()} | {command.cpu_median / count * 1000:.2f} ms | {command.rss:.0f} MB |")

    print("\nWhere a cold check of the large folders spends its time (bench/phases.py, in one process):\n")
    sys.stdout.flush()
    subprocess.run([PYTHON, str(HERE / "phases.py"), str(llama), str(gemma), "--runs", str(max(3, runs))],
                   check=True, cwd=NEUTRAL, env={**os.environ, "PYTHONPATH": str(ROOT)})

    if args.transformers:
        print("\n| input | transformers check | eos-guard (new, empty cache) |")
        print("|---|---|---|")
        for title, folder in (("Llama-3-scale folder", llama), ("Gemma-scale folder", gemma)):
            theirs = Command("transformers", [PYTHON, str(HERE / "transformers_check.py"), str(folder)], expect=(0,))
            ours = eos_guard("new", ROOT, folder, "empty cache")
            measure([theirs, ours], runs)
            print(f"| {title} | {theirs.fmt()} | {ours.fmt()} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
