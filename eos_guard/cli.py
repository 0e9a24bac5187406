"""``eos-guard [PATHS]``, ``eos-guard explain``, ``eos-guard rule``: arguments and exit codes. The only module (with
reporters) that prints.

Exit codes: 0 no finding reaches ``--fail-on``; 1 one does; 2 usage error, bad settings, or an unreadable or
malformed file (the other folders are still checked and reported).
"""

from __future__ import annotations

import errno
import gc
import io
import os
import sys
from pathlib import Path
from types import SimpleNamespace

from . import config as settings
from . import options
from .errors import InputError, MissingDependency, OutputFailed, display_path, path_field, shown
from .records import field, record, replace
from .report import write
from .report.escape import no_workflow_commands, printable

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    import argparse
    from typing import Any, Callable, Iterator, Sequence, TextIO

    from .fixes import FileChange
    from .results import Report

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = options.EXIT_OK, options.EXIT_FINDINGS, options.EXIT_ERROR
TEXT_FORMATS = options.TEXT_FORMATS


def build_parser(explain: bool = False) -> argparse.ArgumentParser:
    """The command line's parser (eos_guard/arguments.py), for a caller that reads a command line as the program
    does (the GitHub Action's step); ``explain``: explain's, whose --help is its own."""
    from .arguments import build_parser

    return build_parser(words_as_written=_program_run, explain=explain)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the program itself (the console script, python -m eos_guard), not a caller in Python
        start_up_done()
        if sys.stdout is None:  # started with stdout closed (``>&-``): as a reader that stopped reading, below
            sys.stdout = _ClosedStdout()
        if sys.stderr is None:  # started with stderr closed: its lines have nowhere to go (print would use stdout)
            sys.stderr = open(os.devnull, "w", encoding="utf-8")
        else:
            sys.stderr = _ForgivingStderr(sys.stderr)
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # the reader stopped reading (``| head``): nothing more to say, and nowhere to say it
        _discard_stdout()
        return EXIT_ERROR
    except OutputFailed as exc:  # stdout is full (``eos-guard rule --all > /dev/full``): say so on stderr
        _discard_stdout()
        _say(f"eos-guard: {exc.render()}")
        return EXIT_ERROR


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "rule":
        return _rule(argv[1:])
    if "--pre-commit" in argv:
        argv = _hook_paths(argv)
    explain = bool(argv) and argv[0] == "explain"
    words = argv[1:] if explain else argv
    plain = options.plain_command_line(words)
    args: Any = SimpleNamespace(**plain, explain=explain) if plain is not None else None
    if args is None or options.conflict(args):  # the parser reads it, and says what is wrong
        parser = build_parser(explain)
        try:
            args = parser.parse_args(words)
            args.explain = explain
            problem = options.conflict(args)
            if problem:
                parser.error(problem)
        except SystemExit as exc:  # --help, --version, or a usage error already printed by argparse
            return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        return _run(args)
    except OutputFailed as exc:  # stdout is full: say so on stderr, and let the exit's flush fail quietly
        _discard_stdout()
        _say(f"eos-guard: {exc.render()}")
        return EXIT_ERROR
    except InputError as exc:  # bad settings, or an output file that cannot be written: nothing was checked
        return _stopped(args, exc)
    except MissingDependency as exc:  # an installation without eos-guard's dependencies: nothing was written
        return _stopped(args, InputError(None, str(exc)))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # not an internal error: main() ends quietly
        raise
    except Exception as exc:  # an internal error: one line unless asked for the traceback; exit 2 either way
        if args.verbose:  # each line escaped as every line on stderr: a message may quote a hostile name
            import traceback

            for line in traceback.format_exc().splitlines():
                _say(line)
        else:
            _say(f"eos-guard: internal error: {type(exc).__name__}: {exc} (run with --verbose for details)")
        return EXIT_ERROR


def _hook_paths(argv: list[str]) -> list[str]:
    """pre-commit runs ``entry + args + file names`` without a ``--`` before the names, so a pull request's file
    named ``--sarif=/outside/config.json`` would be read as an option (and overwrite that file). Under
    ``--pre-commit`` an argument that starts with ``-`` and names an existing file the hooks match (a model file,
    a template in additional_chat_templates/) is a PATH: ``./`` is put before it. An option never has such a
    name, and a file planted under an option's name (``--fix``) is not one the hooks match."""
    from .model_files import HOOK_FILES, TEMPLATE_DIR

    hooked = set(HOOK_FILES)  # the hooks' files (tests/test_precommit.py compares them with the hooks' pattern)

    def is_model_file(arg: str) -> bool:
        head, name = os.path.split(arg)
        return (name in hooked or (os.path.basename(head) == TEMPLATE_DIR and name.endswith(".jinja"))) \
            and os.path.lexists(arg)

    return [f"./{arg}" if arg.startswith("-") and arg != "--pre-commit" and is_model_file(arg) else arg
            for arg in argv]


class _ClosedStdout(io.TextIOBase):
    """The stdout of a process started without one: writing to it is a broken pipe, as when the reader of a pipe
    has gone, so the run does its work (``--fix`` included) and exits 2 without a word."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "stdout is closed")


class _ForgivingStderr(io.TextIOBase):
    """The program's stderr, whose lines are dropped once one cannot be written (``2>/dev/full``, a reader of
    ``2>(...)`` that has gone): the report on stdout and the exit code still say what the run found. A failed write
    raised out of the handler that was saying why the run stopped, and Python exited 1, the code of findings."""

    def __init__(self, stream: Any) -> None:
        self._stream: Any = stream

    def write(self, text: str) -> int:
        if self._stream is not None:
            try:
                self._stream.write(text)
            except (OSError, ValueError):  # ValueError: a stream closed under it
                self._stream = None
        return len(text)

    def flush(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._stream = None

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()


def _discard_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's flush at exit does not fail again (the recipe
    of Python's signal module documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a file descriptor (a caller's stream): nothing to flush
        pass


def start_up_done() -> None:
    """What start-up made (modules, classes, registries) lives until the process exits: frozen, so that the garbage
    collector's scans skip it, the full collection the interpreter makes at exit too. That was ~10 ms of a small
    check (docs/performance.md). Only for the program itself: a caller's objects are never frozen.

    argparse also looks its own words up in gettext's translations each time it builds a parser, which imports
    ``locale`` and searches the locale folders for an ``argparse.mo`` (~2 ms of a check); Python ships none, and
    eos-guard's messages are English, so the program takes argparse's words as they are written, when a command
    line needs the parser (build_parser)."""
    global _program_run
    gc.freeze()
    _program_run = True


_program_run = False  # start_up_done ran: this process is the eos-guard program, not a caller's


def _stopped(args: argparse.Namespace, error: InputError) -> int:
    """A run stopped before it checked anything (bad settings, an output file it cannot write, a missing dependency):
    the error on stderr and, in a machine format, where the report would have gone: a GitHub annotation, or, for an
    error in a file (a settings file, the --hub-list file), a JSON or SARIF document whose ``errors`` or notification
    says it, and the ``--sarif`` file too, so that an earlier run's results there are not uploaded for this one
    (helper-162: a bad pyproject.toml left both empty and the old file in place). Options that cannot be combined
    are a usage error, as argparse's are: stderr only."""
    from .results import Report

    fmt = output_format(args.format, sys.stdout)
    if fmt == "github":
        from .report.github import error_annotation

        write(error_annotation(error) + "\n", "github")
    if error.path is None:
        _say(f"eos-guard: {error.render()}")
        return EXIT_ERROR
    stopped = Report(models=[], problems=[error])
    if fmt in ("json", "sarif"):
        from .report import rendered

        write(rendered(fmt, stopped), fmt)
    if args.sarif and Path(error.path) != args.sarif and not _model_file_name(args.sarif):
        from .report import sarif

        try:
            _write_named(args.sarif, sarif.render(stopped), "--sarif")
        except InputError:
            pass  # the error said is the one that stopped the run
    _say(f"eos-guard: {error.render()}")
    return EXIT_ERROR


def _rule(argv: list[str]) -> int:
    """``eos-guard rule CODE|NAME ...`` or ``eos-guard rule --all``: the rules' documentation."""
    from .report import rule_doc
    from .rules import ALL_RULES, matching, suggest

    from .arguments import rule_parser

    parser = rule_parser()
    try:
        args = parser.parse_args(argv)
        if args.rules and args.all:
            parser.error("give rule codes or --all, not both (--all prints every rule)")
        if not args.rules and not args.all:
            parser.error("name rules (eos-guard rule EOS001) or give --all")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    chosen, code = (list(ALL_RULES) if args.all else []), EXIT_OK
    for name in args.rules:
        found = matching(name)  # a code, a name, or a code prefix as --select takes it (EOS01)
        chosen += [rule for rule in found if rule not in chosen]
        if not found:
            hint = suggest(name)
            also = f"; did you mean {hint}?" if hint else ""
            print(f"eos-guard: unknown rule {name!r}{also} ('eos-guard rule --all' lists every rule)",
                  file=sys.stderr)
            code = EXIT_ERROR
    write("\n".join(rule_doc.render(rule) for rule in chosen))
    return code


def use_color(choice: str, stream: TextIO) -> bool:
    """``--color``; for auto: NO_COLOR (no-color.org) turns colour off, FORCE_COLOR on, else only on a terminal."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def output_format(choice: str, stream: TextIO) -> str:
    """``--format auto``: annotations in GitHub Actions; grouped text for a person at a terminal; one line per
    finding where a program reads the output (a pipe, an editor, pre-commit), as ruff does."""
    if choice != "auto":
        return choice
    if os.environ.get("GITHUB_ACTIONS") == "true":
        return "github"
    if os.environ.get("PRE_COMMIT") == "1" or not stream.isatty():
        return "concise"
    return "text"


# Commands other tools have, typed out of habit (ruff check, ruff rule): a PATH that does not exist.
_HABITS = {"check": "eos-guard has no 'check' command: the paths follow eos-guard itself (eos-guard PATH ...)",
           "lint": "eos-guard has no 'lint' command: the paths follow eos-guard itself (eos-guard PATH ...)",
           "fix": "eos-guard has no 'fix' command: use eos-guard --fix PATH",
           "rules": "eos-guard has no 'rules' command: use eos-guard rule --all (or eos-guard rule CODE)"}


# The commands, as their usage starts: a command after an option was taken for a PATH, and the run went on
_COMMANDS = {"explain": "eos-guard explain [options] PATH ...", "rule": "eos-guard rule CODE ... | --all"}


def configure(args: argparse.Namespace) -> tuple[list[str], settings.Config]:
    """The paths to check and the run's settings: the settings file, then the options that override it. Without
    --config and --isolated, ``args.folder_settings`` gives each model folder its own (settings.FolderSettings): the
    nearest settings file above it, with the same options applied."""
    if args.paths and args.paths[0] in _HABITS and not os.path.lexists(args.paths[0]):
        raise InputError(None, _HABITS[args.paths[0]])
    mistyped = _mistyped_command(args.paths[0]) if args.paths and not getattr(args, "explain", False) else None
    if mistyped is not None:
        raise InputError(None, f"{shown(args.paths[0])}: no such file or directory; "
                               f"did you mean the command '{mistyped}'?")
    misplaced = next((p for p in args.paths if p in _COMMANDS and not os.path.lexists(p)), None)
    if misplaced is not None and not getattr(args, "explain", False):  # 'eos-guard --no-cache explain m'
        raise InputError(None, f"{shown(misplaced)}: no such file or directory; a command comes before the options: "
                               f"{_COMMANDS[misplaced]}")
    if any(not name.strip() for name in args.hub):  # a variable that expanded to nothing: no repository
        raise InputError(None, "--hub: the value is empty")
    paths: list[str] = list(args.paths) + [f"hf://{name}" for name in args.hub]
    local = [p for p in paths if p and not p.startswith("hf://")]
    start = settings.settings_start(local)
    config = settings.Config() if args.isolated else settings.load(args.config, start)
    if not paths and not args.hub_list:
        paths = ["."]
    for option, values in (("--select", args.select), ("--ignore", args.ignore), ("--runtime", args.runtime),
                           ("--baseline", [args.baseline] if args.baseline is not None else None)):
        for value in values or ():  # a variable that expanded to nothing: not "everything"
            if not value.strip(", "):
                raise InputError(None, f"{option}: the value is empty")
    # a repeated --select, --ignore or --runtime adds its values to the others' (as ruff's --select does)
    args.select, args.ignore, args.runtime = (",".join(values) if values else None
                                              for values in (args.select, args.ignore, args.runtime))
    _apply_options(args, config)
    args.folder_settings = None if args.config or args.isolated else \
        settings.FolderSettings(config, lambda folder_config: _apply_options(args, folder_config), start)
    return paths, config


def _apply_options(args: argparse.Namespace, config: settings.Config) -> None:
    """The command line's options over settings read from a file: the run's, and each folder's own."""
    if args.select:
        config.select = settings.codes_of(args.select, None, "--select")
    if args.ignore:
        config.ignore |= settings.codes_of(args.ignore, None, "--ignore")
    if args.baseline is not None:
        config.baseline = None if args.baseline.lower() == "none" else args.baseline
        config.baseline_explicit = config.baseline is not None
    if config.baseline and config.baseline.startswith("-"):
        raise InputError(None, f"--baseline: '{shown(config.baseline)}' is not a revision")
    if args.no_cache:
        config.limits = replace(config.limits, cache=False)
    if args.runtime:
        config.runtimes = settings.runtimes_of(args.runtime, None, "--runtime")
    if args.fail_on:
        config.fail_on = settings.parse_fail_on(args.fail_on, None)


@record
class Outcome:
    """What a check (or a fix) found and wrote. The CLI and the GitHub Action each render it their own way."""

    report: Report
    written: list[Path]  # files --fix wrote
    skipped: list[Path]  # files another process changed while fixing: not written
    failed: list[InputError] = field(default_factory=list)  # files that could not be written


# a file --fix planned from changed before its folder was written: none of the folder's files is
STALE = "changed by another process while fixing; no file of this folder is changed"


def check(paths: list[str], config: settings.Config, args: argparse.Namespace,
          on_write: Callable[[Path], None] | None = None,
          output_files: Sequence[tuple[str, str]] = ()) -> Outcome:
    """Check the paths, or fix them first with --fix; ``on_write`` hears of each file as soon as it is written.
    ``output_files`` ((what, path): the Action's sarif-file) and --sarif/--summary are refused when they name a
    file the run checks, before anything is written or printed."""
    from .pipeline import check_paths, fix_paths

    outputs = [*named_outputs(args), *output_files]
    folder_settings = getattr(args, "folder_settings", None)
    if not args.fix:
        report = check_paths(paths, config, args.allow_empty, folder_settings=folder_settings)
        refuse_checked_outputs(outputs, report)  # before the report is printed, as a usage error is
        return Outcome(report, [], [])
    written = None if on_write is None else (lambda change: on_write(change.path))
    result = fix_paths(paths, config, unsafe=args.unsafe_fixes, on_write=written, allow_empty=args.allow_empty,
                       before_writing=lambda report: refuse_checked_outputs(outputs, report),
                       folder_settings=folder_settings)
    return Outcome(result.report, [change.path for change in result.changes], result.skipped, result.failed)


def exit_code(outcome: Outcome, config: settings.Config, args: argparse.Namespace) -> int:
    report = outcome.report
    if report.errors or outcome.failed or outcome.skipped:  # a folder not written is not fixed: as a failed write
        return EXIT_ERROR
    if outcome.written and not args.exit_zero_even_if_changed:
        return EXIT_FINDINGS
    if args.exit_zero:
        return EXIT_OK
    return EXIT_FINDINGS if any(report.fails(model) for model in report.models) else EXIT_OK


NO_MODEL_FOLDERS = ("no model folders found (a model folder holds generation_config.json, tokenizer_config.json "
                    "or a model's config.json)")


def _mistyped_command(word: str) -> str | None:
    """The command a first argument that names no file looks like a typo of ('explian', 'rules'), else None."""
    if not word or word in ("explain", "rule", *_HABITS) or word.startswith("-") or "/" in word or os.sep in word \
            or os.path.lexists(word):
        return None
    import difflib

    close = difflib.get_close_matches(word.lower(), ("explain", "rule"), n=1, cutoff=0.7)
    return close[0] if close else None


def _run(args: argparse.Namespace) -> int:
    from .pipeline import check_paths
    from .report import rendered

    try:  # relative paths, settings discovery and the report's paths all start from it
        os.getcwd()
    except FileNotFoundError:
        raise InputError(None, "the current folder no longer exists (removed after the shell entered it): cd to "
                               "one that does") from None
    paths, config = configure(args)
    if args.show_settings:
        from .report import settings as settings_report

        local = [p for p in paths if not p.startswith("hf://")]
        if args.folder_settings is not None and len(local) == 1:  # one folder: its own (FolderSettings)
            from .model_files import linked_out_of_repository

            folder = settings.settings_start(local)
            if linked_out_of_repository(folder) is None:  # else the check reads none there, nor does this
                config = args.folder_settings.of(folder)
        shown_settings = (settings.as_mapping(config), config.source, _settings_options(args), config.baseline)
        if args.format == "json":
            write(settings_report.render_json(*shown_settings), "json")
        else:
            write(settings_report.render(*shown_settings, source_has_settings=config.source_has_settings), "text")
        return EXIT_OK
    if args.hub_list:
        from .audit import audit

        args.format = output_format(args.format, sys.stdout)
        return audit(args.hub_list, config, args)
    if args.diff:
        return _diff(paths, config, args)
    if args.explain:
        from .report import explain

        config.baseline = None  # EOS015 is a check's: explain reads no earlier version (git may refuse the tree)
        report = check_paths(paths, config, args.allow_empty, folder_settings=args.folder_settings)
        _warn_if_nothing_found(args, report)
        _say_own_settings(report, config)
        _warn_of_distrusted_cache()
        shown = config.runtimes if args.runtime else None  # the settings' runtimes are a check's, not explain's
        if args.format == "json":
            write(explain.render_json(report, shown), "json")
        else:
            write(explain.render(report, shown))
        _say_errors(report, args.verbose)
        # a file that was not read (EOS018 in a check: a link out of the repository, over a size limit, a FIFO)
        unread = [(path, reason) for m in report.models if m.model is not None
                  for path, reason in m.model.files.skipped]
        for path, reason in unread:
            _say(f"eos-guard: {display_path(path)} {reason}")
        for m in report.models:  # a folder or GGUF file not read at all
            if m.not_read:
                unread.append((m.folder, m.not_read))
                _say(f"eos-guard: {display_path(m.folder)}: not read: {m.not_read}")
        return EXIT_ERROR if report.errors or unread else EXIT_OK
    outcome = check(paths, config, args, on_write=lambda path: _say(f"Fixing {display_path(path)}"))
    for failure in outcome.failed:
        _say(f"eos-guard: {failure.render()}")
    for path in outcome.skipped:
        _say(f"eos-guard: {display_path(path)}: {STALE}")
    report = outcome.report
    # before the report: its closing line is the last a person reads (ruff prints its errors first too)
    _say_errors(report, args.verbose)
    if not args.quiet:
        _warn_if_nothing_found(args, report)
        _say_own_settings(report, config)
        _warn_of_selected_rules_that_do_not_run(config)
        _warn_of_unnamed_ggufs(args, report)
        _warn_of_distrusted_cache()
    fmt = output_format(args.format, sys.stdout)
    if args.statistics and fmt not in TEXT_FORMATS:  # auto inside GitHub Actions: the table asked for, not annotations
        fmt = "text"
    reported = report.only_failing() if args.quiet else report
    if fmt in TEXT_FORMATS:
        from .report import text

        render = text.statistics if args.statistics else text.render if fmt == "text" else text.concise
        write(render(reported, color=use_color(args.color, sys.stdout), closing=not args.quiet))
    elif fmt == "github":  # the one machine format with a closing line
        from .report import github

        write(github.render(reported, closing=not args.quiet), fmt)
    else:
        write(rendered(fmt, reported), fmt)
    _write_side_outputs(args, report)
    return exit_code(outcome, config, args)


def _settings_options(args: argparse.Namespace) -> list[str]:
    """The options given that change settings (``--select`` ... ``--no-cache``), in --help's order."""
    given = {"--select": args.select, "--ignore": args.ignore, "--runtime": args.runtime, "--fail-on": args.fail_on,
             "--no-cache": args.no_cache, "--config": args.config, "--isolated": args.isolated,
             "--baseline": args.baseline}
    return [option for option, value in given.items() if value]


def _warn_if_nothing_found(args: argparse.Namespace, report: Report) -> None:
    """ruff's "No Python files found under the given path(s)": a run by hand whose PATHs hold no model folder (a
    file that lies in none, a folder with --allow-empty) says so on stderr, naming them; the exit code and stdout
    are unchanged. Not for pre-commit, which passes every file the hook's pattern matches: a config.json outside
    any model folder is nothing to warn about there."""
    if args.pre_commit or os.environ.get("PRE_COMMIT") == "1" or report.models or report.problems \
            or report.excluded:
        return
    named = [path for path in args.paths if not path.startswith("hf://")] or ["."]
    # how a file is checked, only when a file was named (helper-196: said of a folder PATH too)
    files = "a file is checked with the model folder it lies in; " if not all(map(os.path.isdir, named)) else ""
    _say(f"eos-guard: warning: no model folder found for {', '.join(shown(path) for path in named)} "
         f"({files}a model folder holds generation_config.json, tokenizer_config.json or a model's config.json)")


OWN_SETTINGS_SHOWN = 5  # lines naming settings files nearer to some folders than the run's; then how many more


def _say_own_settings(report: Report, config: settings.Config) -> None:
    for line in own_settings_lines(report, config):
        _say(f"eos-guard: {line}")


def _warn_of_selected_rules_that_do_not_run(config: settings.Config) -> None:
    """Where every rule the settings or --select choose checks runtimes the run's runtimes leave out (EOS001 with
    ``--runtime vllm``), the run checks nothing (EOS016 still checks mlx-lm for an MLX-quantized checkpoint), and
    said 'All checks passed' without a word (helper-203). Not when some chosen rule runs (``--select ALL``)."""
    if config.select is None:
        return
    from .rules import ALL_RULES

    chosen = [rule for rule in ALL_RULES if config.enabled(rule.code)]
    left_out = [rule for rule in chosen
                if rule.checks_runtimes and not set(rule.checks_runtimes) & set(config.runtimes)]
    if not chosen or len(left_out) < len(chosen):  # some selected rule checks something: no word (--select ALL)
        return
    for rule in left_out:
        others = set(rule.checks_runtimes) == set(settings.RUNTIME_NAMES) - {"transformers"}  # EOS016
        checked = "a runtime other than transformers (and mlx-lm in an MLX-quantized checkpoint)" if others else \
            " or ".join(rule.checks_runtimes)
        _say(f"eos-guard: warning: {rule.code} is selected, but it checks {checked}, which the run's runtimes "
             f"({', '.join(config.runtimes)}) leave out (--runtime, or runtimes in the settings)")


def own_settings_lines(report: Report, config: settings.Config) -> list[str]:
    """Each settings file that governs some of the run's folders instead of the run's own (a folder takes the nearest
    above it, as ruff does), once, with those folders: a file deep in a model folder (one a pull request may add)
    changes what a run over the whole repository reports, and the log says where (stderr; the Action's notices)."""
    governed: dict[Path | None, list[Path]] = {}  # None: the defaults, where the run has a settings file
    for model in report.models:
        if model.settings is not None:
            governed.setdefault(model.settings.source, []).append(model.folder)
    run = display_path(config.source) if config.source is not None else "none: the defaults"
    lines = []
    for source, folders in list(governed.items())[:OWN_SETTINGS_SHOWN]:
        named = ", ".join(display_path(folder) for folder in folders[:3]) + \
            (f" and {len(folders) - 3:,} more" if len(folders) > 3 else "")
        which = display_path(source) if source is not None else "no settings file (the defaults)"
        lines.append(f"{which} sets the settings of {named} (the nearest settings file above a folder applies to "
                     f"it; the run's: {run})")
    if len(governed) > OWN_SETTINGS_SHOWN:
        lines.append(f"and {len(governed) - OWN_SETTINGS_SHOWN:,} more settings files set some folders' settings")
    return lines


def _warn_of_unnamed_ggufs(args: argparse.Namespace, report: Report) -> None:
    """A checked model folder that holds GGUF files the run did not name (a quantization repository with a model's
    config.json: folders are searched for model folders, not GGUF files) is named on stderr with the command that
    checks them too (helper-169: the run passed and checked none of what llama.cpp runs). Not for pre-commit, which
    passes the GGUF files its pattern matches."""
    if args.pre_commit or os.environ.get("PRE_COMMIT") == "1":
        return
    named = {os.path.realpath(m.folder) for m in report.models if m.gguf is not None}
    for model in report.models:
        if model.gguf is not None or model.unfetched or model.model is None:
            continue
        ggufs = [os.path.join(model.folder, name) for name in model.model.files.gguf_names]  # listed when read
        unnamed = [path for path in ggufs if os.path.realpath(path) not in named]
        if unnamed:
            from .pipeline import gguf_command

            files = "a GGUF file" if len(unnamed) == 1 else f"{len(unnamed)} GGUF files"
            command = gguf_command(model.folder, [os.path.basename(path) for path in unnamed], with_folder=True)
            _say(f"eos-guard: warning: {display_path(model.folder)} holds {files} this run does not check (folders "
                 f"are searched for model folders, not GGUF files): {command}")


def _warn_of_distrusted_cache() -> None:
    warning = distrusted_cache_warning()
    if warning is not None:
        _say(f"eos-guard: warning: {warning}")


def distrusted_cache_warning() -> str | None:
    """Why $EOS_GUARD_CACHE_DIR was not used in the run (cache.distrust_inside: it lies in the git work tree being
    checked), said by every command that checks folders and by the Action, so that a slower run is explained and
    the setting moved."""
    from .cache import distrusted

    refused = distrusted()
    if refused is None:
        return None
    return (f"the cache folder EOS_GUARD_CACHE_DIR={shown(refused[0])} is not used: it lies in "
            f"{display_path(Path(refused[1]))}, the git work tree being checked, whose files a pull request can "
            "write; set it outside (in a GitHub job, under $RUNNER_TEMP)")


def _say(line: str) -> None:
    """One line on stderr. Paths and messages quote file and folder names, which may hold line breaks (a forged
    ``::error`` workflow command on the next line) or terminal controls: they are escaped, on one line, which
    never starts a workflow command (a traceback line with --verbose has no "eos-guard: " before it)."""
    print(no_workflow_commands(printable(line)), file=sys.stderr, flush=True)


def _say_errors(report: Report, verbose: bool) -> None:
    """One line for each folder that could not be read and each PATH that could not be checked; with ``verbose``,
    an internal error kept to its folder is preceded by its traceback, as one that stops the run is."""
    for model in report.models:
        if model.error:
            for line in model.trace.splitlines() if verbose else ():
                _say(line)
            _say(f"eos-guard: {model.error}")
    for problem in report.problems:
        _say(f"eos-guard: {problem.render()}")


def named_outputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(what, path) of the files --sarif and --summary name."""
    return [(f"the {option} file", path) for option, path in (("--sarif", getattr(args, "sarif", None)),
                                                              ("--summary", getattr(args, "summary", None))) if path]


def refuse_checked_outputs(outputs: Sequence[tuple[str, str]], report: Report) -> None:
    """An InputError when an output file ((what, path)) is a file the run checks: raised once the folders are read,
    before a fix is written or the report printed (helper-195: --fix wrote its fixes, then refused the file)."""
    for what, path in outputs:
        if _checked_file(Path(path), report):
            raise InputError(path, f"cannot write {what}: it is a file this run checks (a model's own file would be "
                                   "replaced by the report); name another")


def _write_side_outputs(args: argparse.Namespace, report: Report) -> None:
    refuse_checked_outputs(named_outputs(args), report)  # the report after --fix reads the same folders
    if args.sarif:
        from .report import sarif

        _write_named(args.sarif, sarif.render(report), "--sarif")
    if args.summary:
        from .report import summary

        _write_named(args.summary, summary.render(report), "--summary", append=True)


def _model_file_names() -> tuple[str, ...]:
    """The names of the files eos-guard may read in a model folder (beside additional_chat_templates/*.jinja)."""
    from .model_files import CHECKED_FILES, SAFETENSORS_FILE, SAFETENSORS_INDEX

    return (*CHECKED_FILES, SAFETENSORS_FILE, SAFETENSORS_INDEX)


def _model_file_name(path: Path) -> bool:
    """Whether a path's name is one eos-guard reads in a model folder (a stopped run checked no folder, so an output
    file of such a name is not written: it may be a model's own)."""
    from .model_files import is_gguf_name

    return path.name in _model_file_names() or path.suffix == ".jinja" or is_gguf_name(path.name)


def _checked_file(path: Path, report: Report) -> bool:
    """Whether ``path`` (where its links lead) is a file the run read: a GGUF PATH, or a file of a checked folder
    that eos-guard reads (model_files.CHECKED_FILES, the weights' index or header, a template of
    additional_chat_templates/), also through a hard link. helper-162: ``--sarif m/tokenizer_config.json`` replaced
    the folder's tokenizer config with the report."""
    from .model_files import TEMPLATE_DIR

    names = _model_file_names()
    try:
        target = path.resolve()
        # a file with other hard links may be a model file under another name (a folder's count is its subfolders)
        linked = os.path.isfile(target) and os.stat(target).st_nlink > 1
    except FileNotFoundError:
        linked = False
    except (OSError, RuntimeError, ValueError):
        return False
    for model in report.models:
        try:
            checked = model.folder.resolve()
        except (OSError, RuntimeError):
            continue
        if target == checked and not target.is_dir():  # a GGUF PATH (a folder named is its own error)
            return True
        if target.parent == checked and target.name in names:
            return True
        if target.parent == checked / TEMPLATE_DIR and target.suffix == ".jinja":
            return True
        if linked and any(_same_file(target, other) for other in _read_files(checked, names)):
            return True
    return False


def _read_files(folder: Path, names: tuple[str, ...]) -> Iterator[Path]:
    """The files eos-guard may read in a checked folder (or the GGUF file itself), for the hard-link test."""
    from .model_files import TEMPLATE_DIR

    yield folder
    yield from (folder / name for name in names)
    try:
        yield from (folder / TEMPLATE_DIR).glob("*.jinja")
    except OSError:
        return


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except (OSError, ValueError):
        return False


def _write_named(path: Path, text: str, option: str, append: bool = False) -> None:
    """An output file an option names; its error names the option ('eos-guard --sarif models/x' took the folder for
    the file)."""
    try:
        write_output_file(path, text, append, workspace=os.environ.get("GITHUB_WORKSPACE"))
    except OutputNotWritten as exc:
        raise InputError(exc.path, f"cannot write the {option} file: {exc.reason}") from None


class OutputNotWritten(Exception):
    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def write_output_file(path: Path, text: str, append: bool = False, make_folders: bool = False,
                      workspace: str | None = None) -> None:
    """Write (or append to) an output file the workflow names. A path that a symbolic link leads out of the git work
    tree is refused (model_files.output_linked_out: a pull request can commit ``eos-guard-results`` as a link to the
    runner's home, and the write would overwrite a file there); ``make_folders`` creates the folders on its way,
    after that check; ``workspace`` is a GitHub workspace to keep it in (``$GITHUB_WORKSPACE``: a checkout made
    without git has no ``.git``). Raises :class:`OutputNotWritten`."""
    from .model_files import output_linked_out

    reason = output_linked_out(path, workspace)
    if reason is not None:
        raise OutputNotWritten(path, f"it {reason}")
    try:
        if make_folders:
            path.parent.mkdir(parents=True, exist_ok=True)
        if append and not _ends_a_line(path):  # a file another step wrote without a last line break
            text = "\n" + text
        with path.open("a" if append else "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputNotWritten(exc.filename or path, exc.strerror or str(exc)) from None


def _ends_a_line(path: Path) -> bool:
    """Whether appending to ``path`` starts a line: it is empty or missing, or ends with a line break (a summary
    appended after text without one made '...text## eos-guard', a heading GitHub does not show as one)."""
    try:
        with path.open("rb") as handle:
            if handle.seek(0, os.SEEK_END) == 0:
                return True
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"
    except OSError:  # missing (created by the append), or a FIFO or device that cannot seek: as written
        return True


def _commands_paused(patch: str) -> str:
    """The patch between ``::stop-commands::TOKEN`` and ``::TOKEN::``. Its lines are the files' own, unescaped so
    that it applies, and a GitHub runner reads ``##[`` anywhere in a line as a workflow command (a token string
    ``"##[error]..."``; actions/runner, src/Runner.Common/ActionCommand.cs, TryParse). While paused, the runner
    processes no command of either form but the one that resumes (src/Runner.Worker/ActionCommandManager.cs,
    TryProcessCommand); the token is random, so no file can hold it. ``git apply`` skips the two lines."""
    token = os.urandom(16).hex()
    return f"::stop-commands::{token}\n{patch}::{token}::\n"


def _patch(changes: list[FileChange]) -> tuple[str, Path | None]:
    """The changes as one patch, each path relative to the working directory, its name quoted as git quotes it;
    and the work tree's root where the paths are from there instead.

    A symbolic link that --fix replaces is shown with git's headers, whose paths ``git apply`` reads from the work
    tree's root, while a plain unified diff's are read from the working directory (apply.c, prefix_patch: a git
    patch is 'toplevel relative'). Below the root of a git work tree, such a patch is therefore written as git diff
    writes it there: every file with git's headers and its path from the root, which ``git apply`` applies at the
    root, and in a folder below it to the files under that folder alone, and ``patch -p1`` at the root (a mixed
    patch skipped the link: helper-209; git apply skips a file outside the folder it runs in, exit 0: helper-212)."""
    from .baseline import git_root

    root = None
    if any(change.replaces_link() for change in changes):
        here = Path(os.path.realpath(os.getcwd()))
        root = git_root(here)
        root = root if root != here else None
    patch = "".join(change.diff(path_field(change.path, root), git_headers=root is not None) for change in changes)
    return patch, root


def _diff(paths: list[str], config: settings.Config, args: argparse.Namespace) -> int:
    from .pipeline import fix_paths

    result = fix_paths(paths, config, unsafe=args.unsafe_fixes, write=False, allow_empty=args.allow_empty,
                       folder_settings=args.folder_settings)
    _warn_if_nothing_found(args, result.report)
    _say_own_settings(result.report, config)
    _warn_of_distrusted_cache()
    patch, root = _patch(result.changes)
    if patch and root is not None:
        _say(f"eos-guard: the patch replaces a symbolic link, so it names each file from the git work tree's root, "
             f"as git diff does: apply it at {display_path(root)} (git apply, or patch -p1); git apply in a folder "
             "below the root applies only the files under that folder")
    if patch:
        write(_commands_paused(patch) if os.environ.get("GITHUB_ACTIONS") == "true" else patch, "diff")
    elif result.report.models and not result.failed and not result.report.errors:  # else: a run that did not happen
        left = len(result.report.findings())
        _say(f"eos-guard: --fix{' --unsafe-fixes' if args.unsafe_fixes else ''} would change nothing" + (
            f"; {left} finding{'s' if left != 1 else ''} --fix does not repair: run without --diff to see "
            f"{'them' if left != 1 else 'it'}" if left else ""))
    _say_errors(result.report, args.verbose)
    for failure in result.failed:
        _say(f"eos-guard: {failure}")
    if result.report.errors or result.failed:
        return EXIT_ERROR
    return EXIT_FINDINGS if result.changes else EXIT_OK
