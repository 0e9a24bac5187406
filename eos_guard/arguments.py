"""The parser of ``eos-guard``'s command line (argparse), built from eos_guard/options.py's table: loaded for a
command line that :func:`eos_guard.options.plain_command_line` does not read (an option's value, ``--help``, a
usage error), and for ``eos-guard rule``.
"""

from __future__ import annotations

import argparse
import os
import sys

from .errors import shown
from .options import EXIT_ERROR, EXPLAIN_HELP, destination, option_table
from .report import write

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, with the terminal width found as shutil.get_terminal_size finds it, without
    importing shutil (and the compression modules it loads) on every run."""

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ["COLUMNS"])
        except (KeyError, ValueError):
            columns = 0
        if columns <= 0:
            try:
                columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
            except (AttributeError, ValueError, OSError):
                columns = 0
        super().__init__(prog, width=(columns or 80) - 2)


# Options other tools have for what eos-guard does with a command (ruff's --explain, ...): the way here.
_OPTION_HABITS = {"--explain": "explain is a command: eos-guard explain PATH",
                  "--rule": "rule is a command: eos-guard rule CODE (or --all)",
                  "--rules": "rule is a command: eos-guard rule --all",
                  "--output-format": "did you mean --format?"}  # ruff's name for it


class _Parser(argparse.ArgumentParser):
    def _print_message(self, message: str, file: Any = None) -> None:
        """argparse's, except that stdout that cannot be written (--help or --version to a full disk) is
        OutputFailed, not silently lost: argparse passes over an OSError there."""
        if message and file is sys.stdout:
            write(message)  # the reports' writer: a full disk is its OutputFailed
            return
        super()._print_message(message, file)

    def error(self, message: str) -> None:
        """One line, as every other error of eos-guard's (argparse printed its three usage lines first), exit 2."""
        if message.startswith("unrecognized arguments: "):
            hints = [_OPTION_HABITS.get(word.split("=", 1)[0]) or self._closest(word) for word in message.split()[2:]]
            message += "".join(f" ({hint})" for hint in dict.fromkeys(hint for hint in hints if hint))
        else:
            hint = self._closest_choice(message)
            message += f"; did you mean {hint!r}?" if hint else ""
        self.exit(EXIT_ERROR, f"eos-guard: error: {shown(message)}\n")  # the words are argv's

    def _closest_choice(self, message: str) -> str | None:
        """The choice closest to an invalid one: argparse says ``argument --format: invalid choice: 'jsn' (...)``."""
        option, _, rest = message.partition(": invalid choice: ")
        action = self._option_string_actions.get(option.removeprefix("argument ").split("/")[0])
        if not rest or action is None or not action.choices:
            return None
        import ast
        import difflib

        try:
            value = ast.literal_eval(rest.rsplit(" (choose from ", 1)[0])  # the value, as repr() wrote it
        except (ValueError, SyntaxError):
            return None
        close = difflib.get_close_matches(str(value), [str(c) for c in action.choices], n=1, cutoff=0.6)
        return close[0] if close else None

    def _closest(self, word: str) -> str | None:
        """'did you mean --format?' for a mistyped or abbreviated option (abbreviations are refused: ruff's way)."""
        if not word.startswith("-"):
            return None
        import difflib

        name = word.split("=", 1)[0]
        options = [option for option in self._option_string_actions if option.startswith("--")]
        prefixed = [option for option in options if option.startswith(name) and len(name) > 2]
        close = prefixed if len(prefixed) == 1 else difflib.get_close_matches(name, options, n=1, cutoff=0.75)
        return f"did you mean {close[0]}?" if close else None


def build_parser(words_as_written: bool = False, explain: bool = False) -> argparse.ArgumentParser:
    """``eos-guard [explain] [PATH ...] [options]``'s parser. ``words_as_written``: the program's own run takes
    argparse's words as they are written, without their gettext look-ups (cli.start_up_done). ``explain``: the
    same options (so one that explain refuses gets options.conflict's reason), with explain's own ``--help``."""
    if words_as_written:
        argparse._ = str  # type: ignore[attr-defined]  # gettext's identity for a message without a translation
    if explain:
        parser = _Parser(prog="eos-guard explain", usage="%(prog)s [PATH ...] [options]", formatter_class=_Formatter,
                         allow_abbrev=False,
                         description="Show, for each model folder, the token a chat answer ends with and, for each "
                         "serving runtime, the ids it stops on, whether a chat answer stops, which file and value "
                         "decided it, and the fix where it does not. It runs no rule: a check's options (--select, "
                         "--fix, --sarif, ...) are refused.")
        for flags, keywords in option_table():
            name = destination(flags)
            wanted = EXPLAIN_HELP.get(name, keywords.get("help"))
            shown_as = {"metavar": "{text,json}"} if name == "format" else {}  # what explain prints
            parser.add_argument(*flags, **{**keywords, **shown_as,
                                           "help": wanted if wanted is not None else argparse.SUPPRESS})
        return parser
    parser = _Parser(prog="eos-guard",
                     usage="%(prog)s [explain] [PATH ...] [options]\n       %(prog)s rule CODE|NAME ... | --all\n"
                           "       %(prog)s --hub-list FILE [options]\n"
                           "       %(prog)s --show-settings [PATH ...] [options]",
                     formatter_class=_Formatter, allow_abbrev=False,
                     description="Check that a model folder's chat template, tokenizer and generation config agree "
                     "on the token that ends a turn. 'eos-guard explain PATH' shows, for each serving runtime, the "
                     "ids it stops on and whether a chat answer stops; 'eos-guard rule CODE' prints a rule's "
                     "documentation.")
    for flags, keywords in option_table():
        parser.add_argument(*flags, **keywords)
    return parser


def rule_parser() -> argparse.ArgumentParser:
    """``eos-guard rule CODE|NAME ... | --all``'s parser."""
    parser = _Parser(prog="eos-guard rule", allow_abbrev=False,
                     description="Print the documentation of rules, from the installed package.")
    parser.add_argument("rules", nargs="*", metavar="CODE",
                        help="rule codes (EOS001), code prefixes (EOS01) or names (pad-is-terminator)")
    parser.add_argument("--all", action="store_true", help="every rule, in code order")
    return parser
