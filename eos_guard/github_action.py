"""The GitHub Action (action.yml): its inputs, the check, and what it hands back to the workflow.

action/main.py runs this module from the action's own checkout with the interpreter the ``python`` input names
(already checked by action/check.sh, the only shell the action has). It has two commands, one per step:

- ``check`` (the first step) validates every input, with the standard library only, before anything runs. Then
  it checks the paths in this process, prints the annotations, appends the job summary, writes the SARIF file,
  and writes the outputs to ``$GITHUB_OUTPUT``. eos-guard's dependencies are used from the interpreter, or from
  the folder an earlier use of the action in the job installed them into. Without them, the check goes ahead
  anyway: most checks need none (a chat template eos-guard ships results for, no ``.eos-guard.yaml``). One
  that needs one stops before it annotates or writes anything, and sets ``needs-dependencies`` with where the
  dependencies go (``deps``) and their actions/cache key.
- ``run`` (the second step, only then) checks the same way with the dependencies on ``sys.path``, which
  ``action/check-with-dependencies.sh`` has installed or actions/cache has restored.

Inputs arrive only as ``EOS_GUARD_*`` environment variables. No value is ever evaluated, and a path is always
passed after ``--``. Inside a runner (``GITHUB_OUTPUT`` is set) the step ends with 0 and hands eos-guard's exit
code over in the ``exit-code`` output, so everything it printed comes from a step that ended normally. The
action's last step then fails with that code.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import cli, config as settings
from .config_types import FAIL_ON_NEVER
from .errors import InputError, MissingDependency, display_path
from .findings import Severity
from .records import field, record
from .report.escape import code as code_span, printable
from .report.github import error_annotation, escape_data, escape_property
from .runtimes import RUNTIMES

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import TextIO

OUTPUTS = ("findings", "errors", "changed-files", "sarif-file", "exit-code")
FAIL_ON_VALUES = (*(str(s) for s in sorted(Severity, reverse=True)), FAIL_ON_NEVER)
RUNTIME_VALUES = (*RUNTIMES, "all")
BOOLEANS = ("true", "false")
# The action's own dependency spec: what action/check-with-dependencies.sh installs when a check needs it.
REQUIREMENTS = Path(__file__).resolve().parent.parent / "action" / "requirements.txt"
# action/check-with-dependencies.sh writes it into the folder once pip has installed them all
COMPLETE = ".eos-guard-complete"


@record
class Inputs:
    paths: list[str]
    fix: bool
    fail_on: str
    runtimes: list[str]
    config: str
    isolated: bool
    sarif_file: str
    summary: bool
    problems: list[str] = field(default_factory=list)  # one line per invalid input

    @classmethod
    def read(cls, env: Mapping[str, str]) -> Inputs:
        problems: list[str] = []

        def value(name: str, default: str = "") -> str:
            return env.get("EOS_GUARD_" + name.upper().replace("-", "_"), default)

        def one_line(name: str, text: str) -> bool:
            """A free-form value (a path): one line, no control character, not an option."""
            if any(ord(c) < 32 or ord(c) == 127 for c in text):
                problems.append(f"{name}: the value contains a newline or another control character")  # not echoed
                return False
            if text.startswith("-"):
                problems.append(f"{name}: '{text}' begins with '-' and would be read as an option")
                return False
            return True

        def boolean(name: str, default: str) -> bool:
            text = value(name, default)
            if text.lower() not in BOOLEANS:
                problems.append(f"{name}: '{text}' is not true or false")
            return text.lower() == "true"

        paths = value("paths").split() or ["."]  # whitespace-separated, newlines included
        for path in paths:
            if one_line("paths", path) and not os.path.lexists(path):
                problems.append(f"paths: '{path}' does not exist (in {os.getcwd()})")
        fix = boolean("fix", "false")
        fail_on = value("fail-on", "error")
        if fail_on.lower() not in (*FAIL_ON_VALUES, ""):  # any case, as --fail-on and the settings file take it
            problems.append(f"fail-on: '{fail_on}' is not one of {', '.join(FAIL_ON_VALUES)}")
        fail_on = fail_on.lower()
        runtimes = [name for name in re.split(r"[,\s]+", value("runtimes", "transformers")) if name]
        for name in runtimes:  # in any case, as --runtime and the settings file take them
            if name.lower() != "all" and settings.runtime_name(name) is None:
                hint = settings.runtime_hint(name)
                problems.append(f"runtimes: '{name}' is not one of {' '.join(RUNTIME_VALUES)}"
                                + (f" ({hint.strip()})" if hint else ""))
        runtimes = [settings.runtime_name(name) or name.lower() for name in runtimes]
        config = value("config")
        if config and one_line("config", config) and not os.path.isfile(config):
            problems.append(f"config: '{config}' is not a file (in {os.getcwd()})")
        isolated = boolean("isolated", "false")
        if isolated and config:
            problems.append("isolated: true reads no settings file, so config must be empty")
        sarif_file = value("sarif-file")
        if sarif_file:
            one_line("sarif-file", sarif_file)
        summary = boolean("summary", "true")
        return cls(paths, fix, fail_on, runtimes, config, isolated, sarif_file, summary, problems)

    def argv(self, env: Mapping[str, str], out: TextIO) -> list[str]:
        """eos-guard's command line for these inputs (the SARIF file and the summary are written here)."""
        args = ["--format=github"]
        if self.fail_on:
            args.append(f"--fail-on={self.fail_on}")
        if self.runtimes:
            args.append(f"--runtime={','.join(self.runtimes)}")
        if self.config:
            args.append(f"--config={self.config}")
        if self.isolated:
            args.append("--isolated")
        if self.fix:
            # The edits stay in the workspace and are listed in changed-files: the step fails only when failing
            # findings remain.
            args += ["--fix", "--exit-zero-even-if-changed"]
        baseline = pull_request_baseline(env, out)
        if baseline:
            args.append(f"--baseline={baseline}")
        return [*args, "--", *self.paths]


def pull_request_baseline(env: Mapping[str, str], out: TextIO) -> str | None:
    """EOS015 (stop ids dropped) compares with git HEAD by default. In a pull request, compare with the base
    branch instead when it was fetched (actions/checkout with fetch-depth: 0); never fetch anything."""
    base = env.get("GITHUB_BASE_REF", "")
    if not base or base.startswith("-"):
        return None
    ref = f"refs/remotes/origin/{base}"
    import subprocess  # here: only a pull request's check runs a process

    try:
        found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                               stdin=subprocess.DEVNULL, capture_output=True).returncode == 0
    except OSError:  # no git
        found = False
    if not found:
        print(f"eos-guard: {ref} is not in the checkout (fetch-depth: 0 fetches it); EOS015 compares with HEAD",
              file=out)
    return ref if found else None


class Outputs:
    """Step outputs in the delimiter form (``name<<DELIMITER``), which holds any value, several lines too."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.path = env.get("GITHUB_OUTPUT") or None

    def set(self, values: Mapping[str, str]) -> None:
        if self.path is None:
            return
        chunks = []
        for name, text in values.items():
            delimiter = f"EOS_GUARD_{os.urandom(16).hex()}"  # secrets.token_hex, without importing secrets
            while delimiter in text:  # never with a random delimiter, but then the value could end the block
                delimiter = f"EOS_GUARD_{os.urandom(16).hex()}"
            chunks.append(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("".join(chunks))

    def finish(self, code: int, values: Mapping[str, str] | None = None) -> int:
        """Every output (empty when not known) with the exit code; the step's own code."""
        self.set({**dict.fromkeys(OUTPUTS, ""), **(values or {}), "exit-code": str(code)})
        return 0 if self.path else code


def annotate(level: str, message: str, title: str = "eos-guard") -> str:
    """One workflow command for a message that names no file (an error about a file: ``error_annotation``). The
    message may quote inputs and folder names: it is shown escaped, on one line."""
    return f"::{level} title={escape_property(title)}::{escape_data(printable(message))}"


def invalid(inputs: Inputs, out: TextIO, outputs: Outputs) -> int | None:
    if not inputs.problems:
        return None
    for problem in inputs.problems:
        print(annotate("error", problem, title="eos-guard input"), file=out)
    print(f"eos-guard: {len(inputs.problems)} invalid input(s); nothing was installed or run", file=out)
    return outputs.finish(cli.EXIT_ERROR)  # a usage error, as on the command line


def check(env: Mapping[str, str], out: TextIO) -> int:
    """The first check step: validate the inputs, put the dependencies on ``sys.path`` when they are installed,
    and check; without them, a check that needs one hands over to the second step (see the module's docstring)."""
    outputs = Outputs(env)
    inputs = Inputs.read(env)
    stopped = invalid(inputs, out, outputs)
    if stopped is not None:
        return stopped
    unusable = unusable_dependencies()
    if not unusable:
        print(f"eos-guard: {sys.executable} already has jinja2 and PyYAML; nothing to install", file=out)
        return check_paths(inputs, env, out, outputs)
    key = cache_key()
    deps = dependency_folder(env, key)
    if os.path.exists(os.path.join(deps, COMPLETE)):  # an earlier step of this job installed or restored them
        use_dependencies(deps)
        return check_paths(inputs, env, out, outputs)
    block_imports(unusable)  # missing, or too old: the check asks for them if it needs them
    return check_paths(inputs, env, out, outputs, install_later={"python": sys.executable, "deps": deps,
                                                                 "cache-key": key})


def dependency_folder(env: Mapping[str, str], key: str) -> str:
    """A path that is the same in every job (unlike RUNNER_TEMP under act): actions/cache restores only to the
    path it saved. On a self-hosted runner the folder outlives the job, and the key in its name keeps it right.

    Under ``$XDG_CACHE_HOME`` when it is absolute (the XDG specification ignores a relative one), else the home
    folder's ``.cache``. A relative path would name a folder in the workspace, the pull request's checkout, whose
    files it writes: a ``.eos-guard-complete`` there put its own packages on ``sys.path`` (helper-176). Without an
    absolute home, a new private folder that no cache restores."""
    base = env.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = env.get("HOME") or os.path.expanduser("~")
        if not os.path.isabs(home):
            import tempfile

            return os.path.join(tempfile.mkdtemp(prefix="eos-guard-action-"), key)
        base = os.path.join(home, ".cache")
    return os.path.join(base, "eos-guard-action", key)


def requirements() -> list[tuple[str, tuple[int, ...], bool]]:
    """(distribution, lowest version, needed by this interpreter) for each line of action/requirements.txt.

    The file holds only ``name>=version`` lines, with ``; python_version < "3.11"`` at most (a test keeps it
    equal to pyproject.toml's dependencies), so no packaging library is needed to read it.
    """
    needed = []
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        spec, _, marker = line.split("#", 1)[0].partition(";")
        if not spec.strip():
            continue
        name, _, version = spec.partition(">=")
        applies = True
        if marker.strip():
            below = re.fullmatch(r"""\s*python_version\s*<\s*["']3\.(\d+)["']\s*""", marker)
            if below is None:
                raise ValueError(f"{REQUIREMENTS.name}: cannot read the marker {marker.strip()!r}")
            applies = sys.version_info < (3, int(below[1]))
        needed.append((name.strip(), tuple(int(part) for part in version.strip().split(".")), applies))
    return needed


# The modules each dependency of action/requirements.txt provides (its distribution name normalised).
MODULES = {"jinja2": ("jinja2",), "pyyaml": ("yaml",), "tomli": ("tomli",)}


def unusable_dependencies() -> list[str]:
    """The dependencies this interpreter lacks, or has in a version below the one action/requirements.txt asks
    for (jinja2 3.1.6 is the first without the sandbox escapes docs/security.md lists)."""
    unusable = []
    for name, lowest, applies in requirements():
        if not applies:
            continue
        found = installed_version(name)
        numbers = tuple(int(part) for part in re.findall(r"\d+", found)[:len(lowest)]) if found else ()
        if found is None or numbers < lowest:
            unusable.append(name)
    return unusable


def block_imports(distributions: Sequence[str]) -> None:
    """Make the modules of ``distributions`` unimportable in this process (``sys.modules[name] = None``: an import
    raises ImportError and ``importlib.util.find_spec`` gives None), so that a check without the dependency
    folder asks for them rather than using a version that is too old. The render worker starts only after
    ``template.require_jinja2`` has found jinja2, so it never runs with a blocked one."""
    for name in distributions:
        for module in MODULES[_distribution_key(name)]:
            sys.modules.setdefault(module, None)  # type: ignore[arg-type]


def installed_version(name: str) -> str | None:
    """The version ``importlib.metadata.version(name)`` gives, found as it finds it, without importing it (it
    imports email, zipfile, csv and typing: ~40 ms, more than validating the inputs).

    The first ``*.dist-info`` or ``*.egg-info`` on ``sys.path`` whose name part normalises to ``name``'s
    (``[-_.]+`` as ``_``, lower case), and the ``Version:`` header of its METADATA (PKG-INFO for egg-info, the
    file itself for an egg-info file). Zip files and eggs on ``sys.path`` are not looked into: a distribution only
    there reads as missing, and the action installs the dependencies (tests/test_github_action.py compares this
    with importlib.metadata for every installed distribution)."""
    wanted = _distribution_key(name)
    for entry in sys.path:
        try:
            children = os.listdir(entry or ".")
        except OSError:  # not a folder (a zip file), or gone
            continue
        for child in children:
            stem, _, suffix = child.lower().rpartition(".")
            if suffix in ("dist-info", "egg-info") and _distribution_key(stem.partition("-")[0]) == wanted:
                return _version_header(os.path.join(entry or ".", child))
    return None


def _distribution_key(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _version_header(info: str) -> str | None:
    """The ``Version:`` header of a dist-info's METADATA, an egg-info folder's PKG-INFO, or an egg-info file;
    None without one (importlib.metadata gives None too)."""
    for candidate in (os.path.join(info, "METADATA"), os.path.join(info, "PKG-INFO"), info):
        try:
            with open(candidate, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    if not line.strip():
                        break  # the headers end at the first empty line
                    if line.lower().startswith("version:"):
                        return line.split(":", 1)[1].strip()
            return None
        except OSError:  # not there, or a folder (an egg-info folder read as a file)
            continue
    return None


def cache_key() -> str:
    """Changes with everything the installed dependencies depend on: the dependency spec, the interpreter (its
    implementation, version and ABI) and the platform. The action's own code is never cached: it runs from the
    action's checkout, so a new ref restores only dependencies its own spec asked for."""
    spec = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    version = ".".join(map(str, sys.version_info[:3]))
    abi = getattr(sys, "abiflags", "")
    if hasattr(os, "uname"):
        machine = os.uname().machine  # what platform.machine() reads there, without importing platform
    else:  # Windows
        import platform

        machine = platform.machine()
    return (f"eos-guard-deps-{sys.platform}-{machine}-{sys.implementation.name}{version}{abi}-{spec}"
            .lower())


def run(env: Mapping[str, str], out: TextIO) -> int:
    """The second check step, with the dependencies installed in the folder ``EOS_GUARD_DEPS`` names."""
    outputs = Outputs(env)
    inputs = Inputs.read(env)
    stopped = invalid(inputs, out, outputs)
    if stopped is not None:
        return stopped
    use_dependencies(env.get("EOS_GUARD_DEPS", ""))
    return check_paths(inputs, env, out, outputs)


def use_dependencies(folder: str) -> None:
    """Import the dependencies from ``folder``: after the action's checkout (action/main.py puts it first), before
    the interpreter's own packages (one may be too old)."""
    if folder and folder not in sys.path:
        sys.path.insert(1, folder)


def check_paths(inputs: Inputs, env: Mapping[str, str], out: TextIO, outputs: Outputs,
                install_later: Mapping[str, str] | None = None) -> int:
    """Check the paths (and fix them with ``fix: true``); print annotations; write outputs, summary, SARIF.

    With ``install_later`` (the outputs the second step needs: the interpreter, the dependency folder and its
    cache key), a check that needs a missing dependency sets them and ``needs-dependencies`` instead."""
    argv = inputs.argv(env, out)
    print(printable("Running: eos-guard " + " ".join(shlex.quote(arg) for arg in argv)), file=out)
    args = cli.build_parser().parse_args(argv)
    written: list[Path] = []
    started = time.perf_counter()
    try:
        paths, config = cli.configure(args)
        # a sarif-file that is a file the run checks is refused before --fix writes anything (helper-197)
        outcome = cli.check(paths, config, args, on_write=written.append,
                            output_files=[("the sarif-file", inputs.sarif_file)] if inputs.sarif_file else [])
    except InputError as exc:  # a bad setting, a missing path, a file --fix could not write
        print(error_annotation(exc), file=out)
        return finish_written(env, out, outputs, written, cli.EXIT_ERROR, {})
    except MissingDependency as exc:  # raised before --fix writes anything: every folder is checked first
        if install_later is not None and outputs.path and not written:
            print(printable(f"eos-guard: {exc.purpose} needs {exc.distribution}: the next step installs "
                            "eos-guard's dependencies and checks again"), file=out)
            out.flush()
            outputs.set({**install_later, "needs-dependencies": "true"})
            return 0
        print(annotate("error", str(exc)), file=out)
        return finish_written(env, out, outputs, written, cli.EXIT_ERROR, {})
    seconds = time.perf_counter() - started
    from .report import REPORTERS

    report = outcome.report
    for path in outcome.written:
        print(printable(f"Fixing {display_path(path)}"), file=out)  # a folder's name is data: one line
    distrusted = cli.distrusted_cache_warning()
    if distrusted is not None:
        print(annotate("warning", distrusted), file=out)
    for line in cli.own_settings_lines(report, config):  # a settings file a pull request may have added
        print(annotate("notice", line), file=out)
    out.write(REPORTERS["github"](report))
    code = cli.exit_code(outcome, config, args)
    level = "error" if report.errors else "warning"
    for failure in outcome.failed:  # the other folders were written, and are listed in changed-files
        print(error_annotation(failure), file=out)
    for path in outcome.skipped:
        print(error_annotation(InputError(path, cli.STALE), level), file=out)
    # the github reporter has annotated every unreadable file and every PATH that could not be checked
    if not report.models and not report.errors:
        print(annotate(level, cli.NO_MODEL_FOLDERS), file=out)

    findings = list(report.findings())
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    values = {"findings": str(len(findings)), "errors": str(errors)}
    if inputs.sarif_file:
        from .report import sarif

        try:
            cli.write_output_file(Path(inputs.sarif_file), sarif.render(report), make_folders=True,
                                  workspace=env.get("GITHUB_WORKSPACE"))
            values["sarif-file"] = inputs.sarif_file
        except cli.OutputNotWritten as exc:
            print(annotate("error", f"sarif-file: cannot write '{inputs.sarif_file}': {exc.reason}"), file=out)
            code = cli.EXIT_ERROR
    summary_file = env.get("GITHUB_STEP_SUMMARY")
    if inputs.summary and summary_file:
        from .report import summary

        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(summary.render(report))
    print(f"eos-guard: {len(findings)} finding(s), {errors} error(s); exit code {code} "
          f"(check took {seconds * 1000:.0f} ms)", file=out)
    # the summary's report lists the written files itself
    return finish_written(env, out, outputs, outcome.written, code, values, summary=False)


def finish_written(env: Mapping[str, str], out: TextIO, outputs: Outputs, written: Sequence[Path], code: int,
                   values: dict[str, str], summary: bool = True) -> int:
    """The files --fix wrote, in changed-files, and in the summary when no report was rendered there (the run
    stopped early), then the end."""
    shown = [display_path(path) for path in written]
    if shown:
        # one line per file: a folder named "evil\n.github" must not list ".github/..." as written
        values["changed-files"] = "\n".join(map(printable, shown))
        summary_file = env.get("GITHUB_STEP_SUMMARY")
        if summary and summary_file:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write("### Files written by `eos-guard --fix`\n\n"
                             + "".join(f"- {code_span(path)}\n" for path in shown) + "\n")
    out.flush()
    return outputs.finish(code, values)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """``check`` or ``run`` (see the module's docstring); the exit code of the step."""
    if argv is None:  # action/main.py, not a test
        cli.start_up_done()
    argv = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    if argv not in (["check"], ["run"]):
        print("usage: action/main.py check|run", file=sys.stderr)
        return cli.EXIT_ERROR
    try:
        return check(env, out) if argv == ["check"] else run(env, out)
    except Exception as exc:  # an internal error: one annotation, then the traceback for the report
        print(annotate("error", f"internal error: {type(exc).__name__}: {exc}"), file=out)
        out.flush()
        raise
