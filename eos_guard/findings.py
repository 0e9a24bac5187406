"""Findings: what a rule reports, with the place of the value to change. Reporters only render these.

This is the lowest layer: a place to report (a readers-layer ``Where`` or ``TemplateSource``) turns itself into a
:class:`Location`, and a Location links to itself (``url``) from what the sources registered, so nothing here
imports a reader or a source.
"""

from __future__ import annotations

import enum
from pathlib import Path

from .errors import display_path, path_field, web_address
from .records import record


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use error, warning or info)") from None


TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Callable, Protocol, Sequence, Union

    class Locatable(Protocol):
        """A place in a file that knows its line and column (jsonspan.Where, model_files.TemplateSource)."""

        def location(self) -> Location: ...


@record(frozen=True)
class Location:
    """1-based line and column of the start and end of the text a finding is about."""

    path: Path
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def of(cls, place: Union[Locatable, Path]) -> Location:
        if isinstance(place, Path):
            return cls(place, 1, 1, 1, 1)
        return place.location()

    @property
    def url(self) -> str | None:
        """The web page of the file at this line when it came from a Hub repository, else None."""
        return web_address(self.path, self.line)


@record(frozen=True)
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    location: Location
    model: Path

    def __post_init__(self) -> None:
        self.__dict__["message"] = clipped(self.message)  # frozen: the one place it is set

    def sort_key(self) -> tuple:
        loc = self.location
        return (str(self.model), str(loc.path), loc.line, loc.column, self.code)

    def severity_first_key(self) -> tuple:
        """Most severe first, then by place: the order a person reads one folder's findings in (text, summary)."""
        return (-self.severity, self.sort_key())

    def __str__(self) -> str:
        """``path:line:col: EOS001 error: message [rule-name]``: the line ``eos-guard --format concise`` prints (which
        also escapes what a terminal would act on), for ``print(finding)`` and logs."""
        loc = self.location
        return f"{display_path(loc.path)}:{loc.line}:{loc.column}: {self.code} {self.severity}: {self.message} " \
               f"[{self.name}]"


QUOTED_ITEMS = 16  # a message quotes at most this many items of a list (a 3.5 MB list of ids made 12 MB lines)
QUOTED_TEXT = 200  # characters of one quoted text a message shows whole (a 2 MB eos_token made 2 MB lines: helper-162)
QUOTED_DIGITS = 40  # digits of one number a message shows whole (ids have at most 10; a 4,300-digit one: helper-190)
MESSAGE_TEXT = 4000  # characters of a message shown whole


def clipped(message: str) -> str:
    """``message`` with each quoted text of more than QUOTED_TEXT characters without a space cut to its start and
    its length (``'<|aaaa…' (2,000,000 characters)``: a run between two apostrophes with a space in it may be the
    message's own words, "the model's ... the tokenizer's"), and each number of more than QUOTED_DIGITS digits
    outside them (not part of a word or a path) to its start and its length; a message still longer than
    MESSAGE_TEXT (a long text with spaces or quotes in it) keeps its start and its end (where the advice is), and
    says how much is left out between them."""
    if len(message) <= QUOTED_TEXT:
        return message
    import re

    message = re.sub("'([^'\\s]{%d,})'" % (QUOTED_TEXT + 1),
                     lambda m: f"'{m.group(1)[:QUOTED_TEXT // 2]}…' ({len(m.group(1)):,} characters)", message)
    # a number on its own: not in a quoted text (a token's), nor part of a word, a path or a decimal (helper-193)
    message = re.sub(r"('[^'\s]*')|(?<![\w/.])([0-9]{%d,})(?![\w/]|\.\w)" % (QUOTED_DIGITS + 1),
                     lambda m: m[1] or f"{m[2][:QUOTED_DIGITS // 2]}… ({len(m[2]):,} digits)", message)
    if len(message) > MESSAGE_TEXT:
        head, tail = message[:MESSAGE_TEXT // 2], message[-(MESSAGE_TEXT // 4):]
        message = f"{head} … ({len(message) - len(head) - len(tail):,} characters left out) … {tail}"
    return message


def shell_word(text: str) -> str:
    """``text`` as one word of a command a person pastes into a shell. A printable text takes ``shlex.quote``'s
    quotes (the outputs show it as it is); one holding characters the outputs escape (a newline, a control
    character, a no-break space, a name's byte that is not UTF-8, ``##[``) takes bash's ``$'...'`` form, where each
    such character is written as its UTF-8 bytes, ``\\xHH``, which bash reads back as those bytes in any locale
    (helper-198, helper-199: shlex's quotes around a newline the outputs escape named another token)."""
    if text.isprintable() and "##[" not in text:
        import shlex  # only findings that quote a command need it (start-up, docs/performance.md)

        return shlex.quote(text)
    words = []
    for char in text:
        if char.isprintable() and char not in "\\'[":
            words.append(char)
        elif char in "\\'":
            words.append("\\" + char)
        else:
            try:  # a byte of a name that is not UTF-8 is os.fsdecode's surrogate escape of it
                raw = char.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a lone surrogate that stands for no byte (a JSON escape): its bytes
                raw = char.encode("utf-8", "surrogatepass")
            words.append("".join(f"\\x{byte:02x}" for byte in raw))
    return "$'" + "".join(words) + "'"


def command_path(path: Path) -> str:
    """A path as a command a finding quotes takes it: relative to the working directory as the outputs show it, with
    the name's own characters (shell_word quotes them; display_path would have escaped them already), and ``./``
    before one that starts with a dash, which a command would read as an option (helper-199)."""
    shown = path_field(path)
    return f"./{shown}" if shown.startswith("-") else shown


def quoted_list(items: Sequence[object], show: Callable[[object], str] = str) -> str:
    """``[a, b, c]`` for a message, each item as ``show`` gives it; a longer list than QUOTED_ITEMS shows its first
    items and how many more there are (``[1, 2, ..., 16, ... 499,984 more]``)."""
    shown = [show(item) for item in items[:QUOTED_ITEMS]]
    if len(items) > QUOTED_ITEMS:
        shown.append(f"... {len(items) - QUOTED_ITEMS:,} more")
    return "[" + ", ".join(shown) + "]"
