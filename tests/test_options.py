"""A plain command line (options that take no value, then PATHs) is read without argparse (docs/performance.md):
it must read exactly as the parser reads it, and every other command line must go to the parser."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eos_guard.arguments import build_parser
from eos_guard.options import option_table, plain_command_line

SWITCHES = [flag for flags, keywords in option_table() if keywords.get("action") == "store_true" for flag in flags]
# words of every kind a command line has: the options with and without values, help and version, PATHs that look
# like options or numbers, '--', '-', '=', empty words and spaces
WORDS = [*SWITCHES, "--format", "json", "--format=json", "--sarif", "out.sarif", "--hub", "org/name", "-h", "--help",
         "--version", "--", "-", "-1", "-x", "--fi", "--no-such", "-qq", "explain", "rule", ".", "model", "a b", "",
         "x=y", "./--fix", "hf://org/name", "config.json", "--pre-commit=1"]


def parsed(argv: list[str]) -> dict | None:
    try:
        return vars(build_parser().parse_args(argv))
    except SystemExit:
        return None


def test_the_plain_command_lines_users_type_are_read_without_the_parser():
    """``eos-guard``, ``eos-guard .``, a pre-commit hook's ``--pre-commit`` and file names, ``--fix model``: read
    from the options table, as the parser reads them."""
    for argv in ([], ["."], ["--pre-commit", "config.json", "sub/tokenizer_config.json"], ["--fix", "model"],
                 [".", "--fix"], ["a", "b", "--diff", "-q"],
                 ["-q", "--exit-zero", "a", "b"], ["--fix", "--fix", "model"], ["", "a b", "x=y", "./--fix"]):
        plain = plain_command_line(argv)
        assert plain is not None, argv
        assert plain == parsed(argv), argv


def test_each_option_that_takes_no_value_reads_as_the_parser_reads_it():
    for switch in SWITCHES:
        for argv in ([switch], [switch, "model"], ["-q", switch, "a", "b"]):
            assert plain_command_line(argv) == parsed(argv), argv


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=6))
def test_any_command_line_is_read_as_the_parser_reads_it_or_left_to_the_parser(argv):
    """Whatever the words: either the table reads them exactly as argparse does (the same values for every option),
    or it declines and the parser reads them: a word that starts with '-' and is no option without a value (a
    value's option, --help, '--'), or a command line argparse refuses."""
    plain = plain_command_line(argv)
    if plain is not None:
        assert plain == parsed(argv), argv
    else:
        assert parsed(argv) is None or any(word.startswith("-") and word not in SWITCHES for word in argv), argv
