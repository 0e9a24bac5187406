"""The command line's options, as data: flags and ``argparse.ArgumentParser.add_argument``'s keywords. The parser
(eos_guard/arguments.py) is built from them; a plain command line (options that take no value, then PATHs) is read
from them without argparse, whose import and parser cost about 2 ms of a small check (docs/performance.md); and
:func:`conflict` names the options that cannot be combined, whichever read them.
"""

from __future__ import annotations

from pathlib import Path

from . import config as settings
from .version import __version__

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2  # docs/usage.md: 2 is also a usage error, argparse's included
TEXT_FORMATS = ("text", "concise")  # the formats for people and editors: --color and --statistics apply to them


def file_name(text: str) -> Path:
    """A FILE option's value: an empty one names no file (``Path("")`` is the current folder)."""
    if not text or text == "-":
        from argparse import ArgumentTypeError  # only argparse calls this: it is loaded

        if not text:
            raise ArgumentTypeError("an empty value (a variable that expanded to nothing?) is not a file name")
        # not stdin or stdout: a file named '-' was written in the current folder (helper-162)
        raise ArgumentTypeError("'-' names no file here: a FILE option takes a file's name (the report goes to stdout "
                                "in the format --format names, --format sarif for SARIF)")
    return Path(text)


def option_table() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every option of ``eos-guard [explain] [PATH ...]``: ``add_argument(*flags, **keywords)``."""
    from .report import REPORTERS  # the output formats are the reporters' registry

    return [
        (("paths",), dict(nargs="*", metavar="PATH",
               help="model folders, folders above them, files inside them, hf://org/name[@revision] Hub "
                    "repositories, or .gguf files (default: .)")),
        (("--hub",), dict(action="append", default=[], metavar="ORG/NAME[@REV]",
               help="a Hugging Face Hub repository to check without downloading weights (repeatable)")),
        (("--hub-list",), dict(type=file_name, metavar="FILE",
               help="audit every Hub repository listed in FILE (one per line) concurrently")),
        (("--format",), dict(choices=("auto", *REPORTERS), default="auto",
               help="output format; auto is github inside GitHub Actions, text (grouped by model folder) "
                    "on a terminal, concise (one line per finding) elsewhere and in pre-commit "
                    "(default: auto)")),
        (("--color",), dict(choices=("auto", "always", "never"), default="auto",
               help="colour the text and concise formats; auto colours a terminal unless NO_COLOR is set, "
                    "or when FORCE_COLOR is set (default: auto)")),
        (("--statistics",), dict(action="store_true",
               help="print how many findings each rule has instead of the findings")),
        (("-q", "--quiet"), dict(action="store_true",
               help="print only the findings that reach --fail-on (and errors); no summary")),
        (("--sarif",), dict(type=file_name, metavar="FILE",
               help="also write SARIF 2.1.0 to FILE (stdout and the exit code are unchanged)")),
        (("--summary",), dict(type=file_name, metavar="FILE",
               help="also append a Markdown summary to FILE (e.g. $GITHUB_STEP_SUMMARY)")),
        (("--fail-on",), dict(type=str.lower, choices=("error", "warning", "info", "never"),  # as the settings read it
               help="lowest severity that makes the exit code 1 (default: error)")),
        (("--exit-zero",), dict(action="store_true",
               help="exit 0 even when findings reach --fail-on (--fix still exits 1 when it changed "
                    "files, unless --exit-zero-even-if-changed)")),
        (("--runtime",), dict(metavar="NAMES", action="append",
               help="comma-separated runtimes whose failure to stop is an error: "
                    f"{', '.join(settings.RUNTIME_NAMES)}, or all (default: transformers); replaces "
                    "config, so name transformers too to keep its check (EOS001); repeatable, values add up")),
        (("--config",), dict(type=file_name, metavar="FILE",
               help="settings file (.eos-guard.yaml or pyproject.toml); default: the nearest one")),
        (("--isolated",), dict(action="store_true",
               help="read no settings file: the defaults and the options given (for a folder whose "
                    "settings you did not write, such as a downloaded model's)")),
        (("--select",), dict(metavar="CODES", action="append",
               help="comma-separated rules to check: codes (EOS001), code prefixes (EOS01) or names "
                    "(pad-is-terminator); replaces config; repeatable, values add up")),
        (("--ignore",), dict(metavar="CODES", action="append",
               help="comma-separated rules to skip, as for --select; adds to config; repeatable")),
        (("--fix",), dict(action="store_true",
               help="edit the files so they agree (add-only edits), then report what remains")),
        (("--unsafe-fixes",), dict(action="store_true",
               help="with --fix or --diff, also change tokenizer files (eos_token), which training code reads")),
        (("--diff",), dict(action="store_true", help="print the unified diff --fix would apply; write nothing")),
        (("--exit-zero-even-if-changed",), dict(action="store_true",
               help="with --fix, exit 0 when files were changed and nothing failing remains")),
        (("--baseline",), dict(metavar="REV",
               help="git revision whose eos_token_id lists must not lose ids (EOS015); 'none' turns it off; "
                    "a REV that cannot be read is an error (default: HEAD, off where there is none; a work "
                    "tree git refuses is an error)")),
        (("--allow-empty",), dict(action="store_true",
               help="a folder PATH without model folders is not an error")),
        (("--no-cache",), dict(action="store_true",
               help="compute everything from the files: no cache folder, no shipped template results "
                    "(see docs/performance.md)")),
        (("--pre-commit",), dict(action="store_true",
               help="run as a pre-commit hook (the hooks' entry): pre-commit passes file names after the "
                    "options without --, so an argument that names an existing model file is a PATH, "
                    "even one that starts with - (a file named --sarif=/x/config.json)")),
        (("--show-settings",), dict(action="store_true",
               help="print the settings a check of the PATHs takes (the settings file found, then every "
                    "key with the options applied, as .eos-guard.yaml lines; JSON with --format json) and "
                    "check nothing")),
        (("--verbose",), dict(action="store_true", help="show tracebacks of internal errors")),
        (("--version",), dict(action="version", version=f"eos-guard {__version__}")),
    ]


def destination(flags: tuple[str, ...]) -> str:
    """The attribute an option's value lands in, as argparse names it: the first long flag, ``-`` as ``_``."""
    long = next((flag for flag in flags if flag.startswith("--")), flags[0])
    return long.lstrip("-").replace("-", "_")


def plain_command_line(argv: list[str]) -> dict[str, Any] | None:
    """``argv``'s options as argparse reads them, for a command line of options that take no value (``--fix``,
    ``-q``, ``--pre-commit``) and one run of PATHs that do not start with ``-`` (``eos-guard .``, ``eos-guard .
    --fix``, a pre-commit hook's entry and file names); None for any other command line (a value, ``--help``,
    ``--``, an unknown word, PATHs on both sides of an option), which the parser reads, and whose errors it
    reports."""
    values: dict[str, Any] = {}
    switches: dict[str, str] = {}
    for flags, keywords in option_table():
        action = keywords.get("action")
        if action == "version":
            continue  # argparse keeps no value for it
        name = destination(flags)
        if action == "store_true":
            values[name] = False
            switches.update(dict.fromkeys(flags, name))
        else:  # a PATH list (nargs="*" collects nothing into []) or an option's default
            values[name] = keywords.get("default", [] if keywords.get("nargs") == "*" else None)
    paths: list[str] = []
    after_paths = False  # a switch followed the PATHs: argparse takes a single run of PATHs
    for word in argv:
        if word in switches:
            values[switches[word]] = True
            after_paths = bool(paths)
        elif word.startswith("-") or after_paths:
            return None
        else:
            paths.append(word)
    values["paths"] = paths
    return values


def conflict(args: Any) -> str | None:
    """Options that would be ignored, or contradict each other: a usage error rather than a silent no-op."""
    if args.fix and args.diff:
        return "--fix and --diff cannot be combined (--diff shows what --fix would write)"
    if args.isolated and args.config:
        return "--isolated and --config cannot be combined (--isolated reads no settings file)"
    if args.unsafe_fixes and not (args.fix or args.diff):
        return "--unsafe-fixes needs --fix or --diff"
    if args.statistics and args.format not in ("auto", *TEXT_FORMATS):
        return f"--statistics prints a table; it cannot be combined with --format {args.format}"
    if args.exit_zero_even_if_changed and not args.fix:
        return "--exit-zero-even-if-changed needs --fix"
    if args.show_settings and (args.explain or args.hub_list):
        return (f"--show-settings cannot be combined with {'explain' if args.explain else '--hub-list'}: "
                f"{_WHAT_IT_PRINTS['--show-settings']}")
    mode, formats = ("--show-settings", ("auto", "text", "json")) if args.show_settings else \
        ("explain", ("auto", "text", "json")) if args.explain else ("--diff", ("auto", "text")) if args.diff else \
        (None, ())
    if mode is not None:
        # --fail-on is a setting: --show-settings shows it
        shaping = _REPORT_OPTIONS + _CHECK_OPTIONS if mode == "explain" else _REPORT_OPTIONS
        given = [name for name, dest in shaping if getattr(args, dest) and name != mode
                 and not (mode == "--show-settings" and name == "--fail-on")
                 and not (name == "--baseline" and args.baseline.lower() == "none")]  # what explain does anyway
        if mode == "explain" and args.color != "auto":  # its table has no colours to turn on or off
            given.append(f"--color {args.color}")
        if given:
            return f"{mode} cannot be combined with {given[0]}: {_WHAT_IT_PRINTS[mode]}"
        if args.format not in formats:
            return f"{mode} cannot be combined with --format {args.format}: {_WHAT_IT_PRINTS[mode]}"
    return None


# Options that shape a check's report, its exit code or its edits: explain and --diff print something else.
# (--hub-list refuses both itself: audit.py)
_REPORT_OPTIONS = (("--fix", "fix"), ("--diff", "diff"), ("--statistics", "statistics"),
                   ("--quiet", "quiet"), ("--sarif", "sarif"), ("--summary", "summary"), ("--fail-on", "fail_on"),
                   ("--exit-zero", "exit_zero"))
# Options that choose the rules a check runs: explain runs none, so it refuses them too (the settings file's select
# and ignore apply to checks only, and are not an error there), but --baseline none, which says what it does anyway
# (scripts add it to every call). --runtime picks the runtimes explain shows.
_CHECK_OPTIONS = (("--select", "select"), ("--ignore", "ignore"), ("--baseline", "baseline"))
# What ``eos-guard explain --help`` shows: the options explain takes, with its own words where they differ from a
# check's; the others (above, and those that need --fix or name another mode) are left out of its help.
EXPLAIN_HELP = {
    "format": "text (a table per model folder) or json (default: text)",
    "runtime": "comma-separated runtimes whose rows to show: "
               f"{', '.join(settings.RUNTIME_NAMES)}, or all (default: every runtime; the settings file's "
               "runtimes choose what a check judges, not what explain shows); repeatable, values add up",
    "baseline": None,  # only 'none', what explain does anyway
    "unsafe_fixes": None, "exit_zero_even_if_changed": None, "hub_list": None, "show_settings": None, "color": None,
    **{dest: None for _, dest in _REPORT_OPTIONS + _CHECK_OPTIONS},
}
_WHAT_IT_PRINTS = {"explain": "it prints each runtime's stop ids (as text, or as JSON with --format json) and runs "
                              "no rule",
                   "--diff": "it prints the unified diff --fix would apply, and exits 1 when there is one",
                   "--show-settings": "it prints the settings a check would take (as text, or as JSON with "
                                      "--format json) and checks nothing"}
