"""Reading settings from ``.eos-guard.yaml``, ``[tool.eos-guard]`` in pyproject.toml, or ``--config FILE``.

Discovery walks up from the first checked path: the nearest ``.eos-guard.yaml`` (or ``.eos-guard.yml``)
wins; without one, the nearest pyproject.toml that has a ``[tool.eos-guard]`` table. Unknown keys and rule
codes are errors, never silently ignored.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import re
import reprlib
import sys
from pathlib import Path

from .config_types import FAIL_ON_NEVER, Config
from .errors import InputError, MissingDependency, display_path, real_folder
from .findings import Severity
from .jsonspan import NotRead, deepest_nesting, long_integer, read_bytes, read_text
from .runtimes import RUNTIMES
from .runtimes.base import parse_version
from .template import Limits

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable

YAML_NAMES = (".eos-guard.yaml", ".eos-guard.yml")
KEYS = ("select", "ignore", "per-file-ignores", "severity", "fail-on", "exclude", "runtimes", "runtime-versions",
        "template-timeout", "template-max-output", "cache", "max-file-size", "max-config-size")
RUNTIME_NAMES = tuple(RUNTIMES)
MAX_CONFIG_FILE = 1024 * 1024  # a settings file is a few lines
MAX_ALIASES = 100  # YAML aliases per settings file: enough for any real one, too few for a "billion laughs"
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 2, 4, 4, 60, 60


def codes_of(entries: Any, where: Path | None, key: str) -> set[str]:
    """Rule codes named by a list of codes, names or code prefixes (``EOS0``), or ``ALL``."""
    if isinstance(entries, str):
        entries = [e for e in entries.replace(",", " ").split() if e]
    if not isinstance(entries, list):
        raise InputError(where, f"{key} must be a list of rule codes")
    from .rules import matching, suggest  # every rule's code: imported only when settings name codes

    codes: set[str] = set()
    for entry in entries:
        if not isinstance(entry, str):
            raise InputError(where, f"{key}: {shown(entry)} is not a rule code")
        matched = {rule.code for rule in matching(entry)}
        if not matched:
            hint = suggest(entry)
            also = f"did you mean {hint}? " if hint else ""
            raise InputError(where, f"{key}: unknown rule {shown(entry)} ({also}'eos-guard rule --all' lists them)")
        codes.update(matched)
    return codes


def runtimes_of(entries: Any, where: Path | None, key: str) -> tuple[str, ...]:
    """Runtime names from a list or a comma-separated string; ``all`` means every runtime."""
    if isinstance(entries, str):
        entries = [e for e in entries.replace(",", " ").split() if e]
    if isinstance(entries, list) and not entries:
        raise InputError(where, f"{key} names no runtime: list the runtimes whose failure to stop is an error "
                                f"({', '.join(RUNTIME_NAMES)}), or all, or remove the key (transformers)")
    if not isinstance(entries, list):
        raise InputError(where, f"{key} must be a list of runtime names ({', '.join(RUNTIME_NAMES)}) or all")
    names: list[str] = []
    for entry in entries:
        name = runtime_name(entry)
        if isinstance(entry, str) and entry.lower() == "all":
            names.extend(RUNTIME_NAMES)
        elif name is not None:
            names.append(name)
        else:
            raise InputError(where, f"{key}: unknown runtime {shown(entry)} ({runtime_hint(entry)}known: "
                                    f"{', '.join(RUNTIME_NAMES)}, all)")
    return tuple(n for n in RUNTIME_NAMES if n in names)


def runtime_name(entry: Any) -> str | None:
    """The runtime an entry names, in any case (``vLLM``, ``TGI``, ``SGLang``: their own spellings), or None."""
    return next((name for name in RUNTIME_NAMES if isinstance(entry, str) and entry.lower() == name), None)


def runtime_hint(entry: Any) -> str:
    """``did you mean llama.cpp? `` for a runtime name written without its punctuation (``llamacpp``, ``mlx_lm``)."""
    def bare(text: str) -> str:
        return "".join(c for c in text.lower() if c.isalnum())

    close = [name for name in RUNTIME_NAMES if isinstance(entry, str) and bare(entry) == bare(name)]
    return f"did you mean {close[0]}? " if close else ""


def runtime_versions_of(table: Any, where: Path | None, trail: list[str] | None = None) -> dict[str, str]:
    """``{runtime: "version"}``: each runtime known, each version a string such as ``"0.31"`` or ``"b10488"``.
    ``trail`` is set to the entry being read (where an error is placed in the settings file)."""
    key = "runtime-versions"
    if not isinstance(table, dict):
        raise InputError(where, f'{key} must map runtime names to versions, e.g. {{mlx-lm: "0.31"}}')
    versions: dict[str, str] = {}
    for name, value in table.items():
        if trail is not None:
            trail[:] = [key, str(name)]
        runtime = runtime_name(name)
        if runtime is None:
            raise InputError(where, f"{key}: unknown runtime {shown(name)} ({runtime_hint(name)}known: "
                                    f"{', '.join(RUNTIME_NAMES)})")
        if runtime in versions:  # vllm and vLLM: one runtime
            raise InputError(where, f"{key}: {runtime} is named twice")
        name = runtime
        # llama.cpp numbers its builds (b10488); the other runtimes have dotted releases (0.31, v0.32.2): one in
        # the other's form would silently pick the newest or the oldest line
        build = name == "llama.cpp"
        parsed = parse_version(value) if isinstance(value, str) else None
        if parsed is None or (len(parsed) == 1) != build or value.strip()[:1] == ("v" if build else "b"):
            example = '"b10488"' if build else '"0.31" or "0.32.2"'
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                # YAML and TOML read an unquoted 0.30 as the number 0.3: quoting the value shown would not help
                raise InputError(where, f"{key}: {name}: the version must be a quoted string, such as {example}; "
                                        f"unquoted, it was read as the number {shown(value)}")
            raise InputError(where, f"{key}: {name}: {shown(value)} is not a version of {name} such as {example}")
        versions[name] = value
    return versions


def parse_fail_on(value: Any, where: Path | None) -> Severity | None:
    """``fail-on``'s severity, None for never; in any case, as ``--fail-on`` takes it."""
    if isinstance(value, str) and value.lower() == FAIL_ON_NEVER:
        return None
    try:
        if not isinstance(value, str):  # str() of an alias graph would expand it
            raise ValueError
        return Severity.parse(value)
    except ValueError:
        raise InputError(where, f"fail-on: {shown(value)} is not one of error, warning, info, never"
                                f"{_boolean_hint(value)}") from None


def severities_of(table: Any, where: Path | None, trail: list[str] | None = None) -> dict[str, Severity]:
    """``{rule: error|warning|info}``: the severity every finding of that rule gets (``trail``: as above). A rule
    named by a code or a name takes that key's severity over a prefix's (``EOS0``), and a longer prefix's over a
    shorter one's or ``ALL``'s, in any order; two keys for the same rule at the same level (``EOS001`` and
    ``terminator-not-stop-id``) with different severities are an error: the order of a mapping decided."""
    if not isinstance(table, dict):
        raise InputError(where, "severity must map rule codes or names to error, warning or info")
    result: dict[str, Severity] = {}
    named_by: dict[str, tuple[int, str]] = {}  # code -> (how narrowly the key that set it names rules, the key)
    for key, value in table.items():
        if trail is not None:
            trail[:] = ["severity", str(key)]
        codes = codes_of([key], where, "severity")
        try:
            if not isinstance(value, str):  # the repr of an alias graph would expand it
                raise ValueError
            level = Severity.parse(value)
        except ValueError:
            raise InputError(where, f"severity {shown(key)}: {shown(value)} is not one of error, warning, info"
                                    f"{_boolean_hint(value)}") from None
        narrowness = _narrowness(str(key))
        for code in sorted(codes):
            earlier = named_by.get(code)
            if earlier is not None and earlier[0] == narrowness and result[code] != level:
                raise InputError(where, f"severity {shown(key)}: {code} is also given by {shown(earlier[1])}, with "
                                        f"another severity ({result[code]})")
            if earlier is None or narrowness >= earlier[0]:
                result[code] = level
                named_by[code] = (narrowness, str(key))
    return result


def _narrowness(entry: str) -> int:
    """How narrowly a rule entry names rules: ``ALL`` 0, a prefix its length, a code or a name the most."""
    from .rules import lookup

    if entry.upper() == "ALL":
        return 0
    try:
        lookup(entry)
    except KeyError:
        return len(entry)
    return 100


# Where the values of a settings file are: (key,) or (key, entry) -> (line, column) of the value; (KEY_AT, key) -> of
# the key itself (an unknown setting)
Positions = dict
KEY_AT = "<key>"


def from_mapping(data: Any, source: Path | None, positions: Positions | None = None) -> Config:
    """The settings ``data`` holds; an error is placed at the line and column of the value it is about (of the
    entry in a mapping such as ``severity``, of the key of an unknown setting), where ``positions`` has them."""
    trail: list[str] = []
    try:
        return _from_mapping(data, source, trail)
    except InputError as exc:
        if positions and exc.path == source and not exc.line:
            # else at the table (an entry of a TOML inline table; a key YAML or the line scan cannot place)
            place = next((positions[key] for key in (tuple(trail), tuple(trail[:1]), ()) if key in positions), None)
            if place is not None:
                exc.line, exc.column = place
        raise


def _from_mapping(data: Any, source: Path | None, trail: list[str]) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(source, "the eos-guard settings must be a mapping of keys to values")
    unknown = [key for key in data if key not in KEYS]  # in the file's order: the first one a reader meets
    if unknown:
        import difflib  # only for the message

        close = difflib.get_close_matches(str(unknown[0]).replace("_", "-"), KEYS, n=1, cutoff=0.6)
        hint = f"did you mean {shown(close[0])}? " if close else ""
        if unknown[0] == "tool" and source is not None and source.name != "pyproject.toml":
            hint = "a [tool.eos-guard] table is read from pyproject.toml only; here, write the settings at the top " \
                   "level; "
        trail[:] = [KEY_AT, str(unknown[0])]
        raise InputError(source, f"unknown setting {shown(unknown[0])} ({hint}known: {', '.join(KEYS)})")
    config = Config(source=source, root=source.parent if source else Path.cwd())

    def reading(key: str) -> bool:
        trail[:] = [key]
        return key in data

    if reading("select"):
        config.select = codes_of(data["select"], source, "select")
        if not config.select:  # select: [] or "" (a template's variable left empty), refused as --select "" is
            raise InputError(source, "select names no rule, which would turn every rule off (list rule codes, or "
                                     "remove the key to check every rule)")
    if reading("ignore"):
        config.ignore = codes_of(data["ignore"], source, "ignore")
    if reading("per-file-ignores"):
        table = data["per-file-ignores"]
        if not isinstance(table, dict):
            raise InputError(source, "per-file-ignores must map path patterns to lists of rule codes")
        for pattern, codes in table.items():
            trail[:] = ["per-file-ignores", str(pattern)]
            if not isinstance(pattern, str) or not pattern:  # YAML's null or 5 key, or "": it matches no path
                raise InputError(source, f"per-file-ignores {shown(pattern)}: a key must be a path pattern (a "
                                         "glob such as models/base/*), not empty")
            _relative_pattern(pattern, source, "per-file-ignores", config.root)
            config.per_file_ignores[pattern] = codes_of(codes, source, f"per-file-ignores {shown(pattern)}")
    if reading("severity"):
        config.severity = severities_of(data["severity"], source, trail)
    if reading("fail-on"):
        config.fail_on = parse_fail_on(data["fail-on"], source)
    if reading("runtimes"):
        config.runtimes = runtimes_of(data["runtimes"], source, "runtimes")
    if reading("runtime-versions"):
        config.runtime_versions = runtime_versions_of(data["runtime-versions"], source, trail)
    if reading("exclude"):
        patterns = data["exclude"]
        if isinstance(patterns, str):  # one without a list, or several separated by commas, as select's codes
            patterns = [part.strip() for part in _outside_brackets(patterns) if part.strip()] or [patterns]
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise InputError(source, "exclude must be a list of path patterns")
        for pattern in patterns:
            _relative_pattern(pattern, source, "exclude", config.root)
        config.exclude = list(patterns)
    seconds, size = config.limits.seconds, config.limits.max_output
    if reading("template-timeout"):
        seconds = _positive(data["template-timeout"], source, "template-timeout", float)
    if reading("template-max-output"):
        size = int(_positive(data["template-max-output"], source, "template-max-output", int))
    if reading("max-file-size"):
        config.max_file_bytes = _bytes(data["max-file-size"], source, "max-file-size")
    if reading("max-config-size"):
        config.max_config_bytes = _bytes(data["max-config-size"], source, "max-config-size")
    reading("cache")
    cache = data.get("cache", True)
    if not isinstance(cache, bool):
        raise InputError(source, "cache must be true or false")
    config.limits = Limits(seconds, size, cache)
    return config


def _outside_brackets(text: str) -> list[str]:
    """``text`` split at the commas outside ``[...]``: a pattern's character set (``[a,b]``) holds its own."""
    parts, start, depth = [], 0, 0
    for at, char in enumerate(text):
        depth = depth + 1 if char == "[" else max(depth - 1, 0) if char == "]" else depth
        if char == "," and depth == 0:
            parts.append(text[start:at])
            start = at + 1
    return parts + [text[start:]]


def _relative_pattern(pattern: str, source: Path | None, key: str, root: Path) -> None:
    """A path pattern is matched, normalized (``models/../models/x`` is ``models/x``), against a folder's path
    relative to the settings file's folder (a folder outside it, against its absolute path): one that still climbs
    out with '..', ``/``, or an absolute one inside that folder, matches nothing, and was accepted without a word."""
    normalized = posixpath.normpath(pattern)  # as config_types._matches reads it
    if normalized == ".." or normalized.startswith("../") or normalized == "/":
        raise InputError(source, f"{key}: {shown(pattern)} never matches: patterns are relative to the folder of the "
                                 "settings file, inside it (models/base, models/*)")
    if os.path.isabs(pattern):
        for base in {os.path.abspath(root), os.path.realpath(root)}:
            try:
                inside = Path(pattern).relative_to(base).as_posix()
                break
            except ValueError:
                continue
        else:
            return  # a folder outside the settings file's folder is matched by its absolute path
        raise InputError(source, f"{key}: {shown(pattern)} never matches: a folder inside the settings file's folder "
                                 f"is matched by its relative path ({shown(inside)})")


def as_mapping(config: Config) -> dict[str, Any]:
    """Every settings key (KEYS, in their order) with the value a run takes, written as a settings file writes it:
    what ``--show-settings`` prints. Read back (``from_mapping``), it gives the same settings; rule codes are the
    ones prefixes and names stood for, and ``select`` is ``[ALL]`` when every rule runs."""
    from .rules import ALL_RULES

    mib = 1024 * 1024
    every = config.select is None or config.select >= {rule.code for rule in ALL_RULES}

    def number(value: float) -> int | float:  # 2.0 as 2, as a person writes it
        return int(value) if float(value).is_integer() else value

    values: dict[str, Any] = {
        "select": ["ALL"] if every else sorted(config.select),
        "ignore": sorted(config.ignore),
        "per-file-ignores": {pattern: sorted(codes) for pattern, codes in config.per_file_ignores.items()},
        "severity": {code: str(severity) for code, severity in sorted(config.severity.items())},
        "fail-on": FAIL_ON_NEVER if config.fail_on is None else str(config.fail_on),
        "exclude": list(config.exclude),
        "runtimes": list(config.runtimes),
        "runtime-versions": dict(config.runtime_versions),
        "template-timeout": number(config.limits.seconds),
        "template-max-output": config.limits.max_output,
        "cache": config.limits.cache,
        "max-file-size": number(config.max_file_bytes / mib),  # a power of two: the division is exact
        "max-config-size": number(config.max_config_bytes / mib),
    }
    return {key: values[key] for key in KEYS}


def _bytes(value: Any, source: Path | None, key: str) -> int:
    """A size setting (MiB) in bytes; one under a byte would read no file at all (``1e-7`` was a limit of 0)."""
    size = int(_positive(value, source, key, float) * 1024 * 1024)
    if size < 1:
        raise InputError(source, f"{key} must be a positive number of at most {MAXIMUM[key]:,} (MiB), not "
                                 f"{shown(value)}: that is less than one byte, so no file would be read")
    return size


# The largest value each number setting accepts: beyond it a value is a typo, or would disable the limit.
MAXIMUM = {"template-timeout": 3600, "template-max-output": 1_000_000_000, "max-file-size": 4096,
           "max-config-size": 4096}


def _positive(value: Any, source: Path | None, key: str, kind: type) -> float:
    """A finite number in (0, MAXIMUM[key]]: NaN, infinities and absurd sizes are one-line errors."""
    kind_name = "integer" if kind is int else "number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        hint = ""
        yaml_exponent = source is not None and source.suffix in (".yaml", ".yml") and "e" in value.lower() \
            if isinstance(value, str) else False
        if isinstance(value, str) and kind is float and _reads_as_float(value) and yaml_exponent:
            hint = " (a string: YAML reads a number in this form as text; write it with a decimal point, as 0.001)"
        elif isinstance(value, str) and _reads_as_float(value):  # "5": quoted
            hint = " (a string: write the number without quotes)"
        raise InputError(source, f"{key} must be a positive {kind_name}, not {shown(value)}{hint}")
    # an int is finite, and math.isfinite of one past a float's range raises OverflowError (helper-193)
    if not (isinstance(value, int) or math.isfinite(value)) or not 0 < value <= MAXIMUM.get(key, math.inf):
        raise InputError(source, f"{key} must be a positive {kind_name} of at most {MAXIMUM[key]:,}, not {shown(value)}")
    return value


def _reads_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _boolean_hint(value: Any) -> str:
    """Why a word became a boolean: YAML 1.1 (PyYAML) reads unquoted yes, no, on, off, true and false as one."""
    return " (YAML reads an unquoted yes, no, on or off as a boolean)" if isinstance(value, bool) else ""


def shown(value: Any) -> str:
    """A value quoted in an error message, cut short: a YAML alias graph can expand to billions of items. A boolean
    is spelled as the settings file spells it (``true``, not Python's ``True``), and so are ``null`` and a date
    (``2001-12-14``, not ``datetime.date(2001, 12, 14)``)."""
    if value is None:
        return "null"
    if callable(getattr(value, "isoformat", None)):  # a date or time YAML and TOML read unquoted: as written
        return value.isoformat()
    return ("true" if value else "false") if isinstance(value, bool) else _SHORT.repr(value)


def load(explicit: Path | None, start: Path) -> Config:
    """The settings for a run: ``explicit`` if given, else the nearest config file above ``start`` (ruff's way: in
    the nearest folder that has one, ``.eos-guard.yaml``, ``.eos-guard.yml``, then ``pyproject.toml``), never one
    inside a Hugging Face cache snapshot (``models--org--name/snapshots/<rev>/``)."""
    if explicit is not None:
        if not _is_file(explicit):
            kind = "a folder" if os.path.isdir(explicit) else "not a regular file" if os.path.lexists(explicit) else ""
            raise InputError(explicit, f"the settings file is {kind}" if kind else "config file not found")
        return _read(explicit)
    folder = Path(os.path.abspath(start))  # the folders above it as written (a link's target has others)
    if _is_file(folder):
        folder = folder.parent
    above = FolderSettings(Config(), lambda config: None, folder)  # what the settings above a folder exclude
    for directory in (folder, *folder.parents):  # the nearest folder with settings: its YAML, else its pyproject
        found = _settings_in(os.fspath(directory))
        # not one in a folder the settings above leave out (pre-commit naming a file there): a check never reads it
        if found is not None and not above.excludes(directory, read_own=False):
            return _read(found)
    return Config()


def _pyproject_settings(pyproject: Path) -> tuple[dict[str, Any] | None, Positions]:
    """A pyproject.toml's ``[tool.eos-guard]`` as discovery takes it (None when it holds none). Discovery skips the
    many pyproject.toml files that never name eos-guard without importing a TOML parser (a broken one belongs to
    the tools it configures). Only the start of each is read: one that names eos-guard there and is over the size
    limit is then refused as a settings file."""
    start_of = _start_of(pyproject).lower() if _pyproject_readable(pyproject) else b""
    if not any(spelling in start_of for spelling in _SPELLINGS):
        return None, {}
    return _pyproject_table(pyproject)


def _exists(path: Path) -> bool:
    """Whether discovery meets something of that name: a file, a folder, a FIFO, a link that leads nowhere."""
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return False


def _pyproject_readable(path: Path) -> bool:
    """Whether discovery looks into a pyproject.toml: one that is there, a regular file, and not a link out of the
    repository. The file belongs to the tools it configures (a repository may link a shared one, a home folder
    above may hold a broken one), so any other is passed over without a word, and a link out of the repository
    without anything at its target looked at: the same whatever is there, which tells a pull request nothing of
    the runner's files."""
    if not _exists(path):
        return False
    try:
        _not_linked_out(path)
    except InputError:
        return False
    return _is_file(path)


def _found(path: Path) -> Path:
    """A name of eos-guard's own settings file (``.eos-guard.yaml``) discovery met, once it is known to be a file it
    may read. Whatever is not, is an error rather than skipped: a user's own settings file that cannot be read
    (a broken link, a folder) would be ignored without a word. A link out of the repository is refused before
    anything at its target is looked at, with the same words whatever is there (a file, nothing, a folder), so a
    pull request that adds one learns nothing of the runner's files from the error."""
    _not_linked_out(path)
    if not _is_file(path):
        kind = "a folder" if os.path.isdir(path) else "a symbolic link that leads to no file" if \
            os.path.islink(path) and not os.path.exists(path) else "not a regular file"
        raise InputError(path, f"the settings file is {kind}")
    return path


def _not_linked_out(path: Path) -> Path:
    """A settings file discovery found, unless it is (or lies under) a symbolic link out of its git work tree: a
    pull request can add one, and its keys (a file of the runner's) would be quoted in error messages. A submodule
    (whose ``.git`` is a file, as git writes it) may link its settings into its superproject; a repository that
    merely lies in another work tree (a checkout in a home folder kept in git) may not."""
    from .model_files import is_within, linked_out_of_repository, repository_of, work_tree_above

    reason = linked_out_of_repository(path)
    if reason is None:
        return path
    root = repository_of(path)
    above = work_tree_above(root) if os.path.isfile(root / ".git") else None
    if above is not None and is_within(Path(os.path.realpath(path)), above):
        return path
    raise InputError(path, f"the settings file {reason}")


def settings_start(paths: list[str]) -> Path:
    """Where discovery starts for a run over ``paths``: the folder that holds them all, so that settings inside one
    of them (a model folder's own ``.eos-guard.yaml``) never govern the others, and the order of the PATHs (the
    order pre-commit passes files in) does not change which settings a run takes. The paths as written, not where
    links lead: a PATH that a pull request made a link out of the repository (a folder, or a config.json pre-commit
    passes) started discovery outside it, where the repository's settings are not."""
    if not paths:
        return Path(".")
    written = [os.path.abspath(p) for p in paths]
    try:
        common = os.path.commonpath(written)
    except ValueError:  # different drives: the first PATH's
        return Path(paths[0])
    folder = common if len(written) > 1 or os.path.isdir(common) else os.path.dirname(common)
    from .model_files import TEMPLATE_DIR

    # a template pre-commit passes from a model folder's additional_chat_templates/: the model folder's settings
    return Path(os.path.dirname(folder) if os.path.basename(folder) == TEMPLATE_DIR else folder)


class FolderSettings:
    """Each model folder's settings, as ruff takes the nearest settings for each file: the nearest settings file
    above where the folder really is (a linked folder inside the repository is checked at its target), found as
    :func:`load` finds one, read once, with the command line's ``options`` applied; ``run``, the run's own
    settings, where that file is the run's, and for a folder in a Hugging Face cache snapshot (linked into a
    repository: it has no place of its own). Whether a folder is checked is decided from the top down, as ruff
    walks: a folder is left out when the settings that govern the folder above it exclude it, or any folder on
    its way, and a settings file inside an excluded folder is never read. It depends on the folder alone, never on
    the other PATHs of the run."""

    def __init__(self, run: Config, options: Callable[[Config], None], start: Path) -> None:
        self.run = run
        self.options = options
        self.start = os.path.realpath(start)  # where the run's settings were looked for from (settings_start)
        self.left_out: dict[str, bool] = {}  # a folder -> whether the settings above leave it out
        self.tops: dict[str, str] = {}  # a folder -> the git work tree that holds it ("" for none)
        self.run_file = os.path.realpath(run.source) if run.source is not None else None
        self.nearest: dict[str, str | None] = {}  # a folder -> the settings file it and what it holds take
        self.read: dict[str | None, Config] = {}

    def of(self, folder: Path) -> Config:
        """The settings of a model folder (or of the folder that holds a GGUF file)."""
        from .model_files import cache_repo_of

        real = real_folder(os.path.abspath(folder))  # remembered: thousands of folders in a few parents
        return self.run if cache_repo_of(real) is not None else self._at(real)

    def excludes(self, path: Path, read_own: bool = True) -> bool:
        """Whether settings leave ``path`` out: those that govern each folder on its way inside its repository (the
        git work tree that holds it, else the folder the run's settings were looked for from), from the top (the
        nearest above the folder that holds it), then, with ``read_own``, its own (``exclude: ['*']`` in a
        downloaded model's own settings leaves it out; not for a link out of the repository or a folder that cannot
        be listed, whose place is where it is). A settings file above the repository never leaves out a folder of
        it that has settings nearer."""
        from .model_files import cache_repo_of

        where = os.path.join(real_folder(os.path.dirname(os.path.abspath(path))), os.path.basename(path))
        if cache_repo_of(where) is not None:
            return self.run.excluded(path)
        if self._left_out(where):
            return True
        return read_own and self.of(path).excluded(path)

    def _left_out(self, where: str) -> bool:
        """Whether a folder on the way to ``where`` (itself included), below its repository's top, is excluded by
        the settings that govern the folder above it; remembered for each folder (thousands share their parents)."""
        top = self._top(where)
        on_the_way: list[str] = []
        step = where
        while step not in self.left_out:
            parent = os.path.dirname(step)
            if parent == step or step == top:
                self.left_out[step] = False  # the top: nothing above it leaves it out here
                break
            on_the_way.append(step)
            step = parent
        outcome = self.left_out[step]
        for step in reversed(on_the_way):  # from the top: an excluded folder's settings file is never read
            outcome = outcome or self._at(os.path.dirname(step)).excludes_real(step)
            self.left_out[step] = outcome
        return self.left_out[where]

    def _top(self, where: str) -> str:
        """The top of ``where``'s repository: the git work tree that holds it, else the folder the run's settings
        were looked for from when it lies below it, else the root of the file system."""
        step, passed = where, []
        while step not in self.tops:
            passed.append(step)
            parent = os.path.dirname(step)
            if os.path.lexists(os.path.join(step, ".git")):
                self.tops[step] = step
                break
            if parent == step:  # the root of the file system: in no work tree
                self.tops[step] = ""
                break
            step = parent
        for each in passed:
            self.tops[each] = self.tops[step]
        found = self.tops[where]
        inside = self.start if self.start.endswith(os.sep) else self.start + os.sep
        return found or (self.start if where.startswith(inside) or where == self.start else os.path.dirname(where))

    def _at(self, folder: str) -> Config:
        path = self._file_of(folder)
        if path not in self.read:  # once a file: the run's own, or read with the options over it
            if (os.path.realpath(path) == self.run_file) if path is not None else self.run.source is None:
                self.read[path] = self.run
            else:
                self.read[path] = config = _read(Path(path)) if path is not None else Config()
                self.options(config)
        return self.read[path]

    def _file_of(self, folder: str) -> str | None:
        below: list[str] = []
        directory = folder
        while directory not in self.nearest:  # a loop, not recursion: a folder may lie deeper than the limit
            below.append(directory)
            found = _settings_in(directory)
            if found is not None:
                self.nearest[directory] = os.fspath(found)
                break
            parent = os.path.dirname(directory)
            if parent == directory:
                self.nearest[directory] = None
                break
            directory = parent
        for step in below:
            self.nearest[step] = self.nearest[directory]
        return self.nearest[folder]


def _settings_in(directory: str) -> Path | None:
    """The settings file discovery takes in ``directory`` (its ``.eos-guard.yaml``, ``.eos-guard.yml``, then a
    pyproject.toml that names eos-guard), None where it has none or lies in a Hugging Face cache snapshot (also
    through a link: its files are the Hub author's)."""
    from .model_files import cache_repo_of

    names = [os.path.join(directory, name) for name in (*YAML_NAMES, "pyproject.toml")]
    present = [name for name in names if _exists(Path(name))]  # most folders have none: 3 lstat calls
    if not present or cache_repo_of(os.path.realpath(directory)) is not None:
        return None
    yaml = [name for name in present if not name.endswith("pyproject.toml")]
    if yaml:
        return _found(Path(yaml[0]))
    pyproject = Path(names[-1])
    return pyproject if _pyproject_settings(pyproject)[0] is not None else None


def _is_file(path: Path) -> bool:
    """Whether a settings file is there; a folder that cannot be searched (no permission) holds none eos-guard can
    read, and the check of a model folder in it says that it cannot be read."""
    try:
        return path.is_file()
    except OSError:
        return False


def _start_of(path: Path) -> bytes:
    """The first MAX_CONFIG_FILE + 1 bytes (enough to tell a file over the limit), with the checks of a settings
    file: no FIFO or device is read."""
    try:
        return read_bytes(path, MAX_CONFIG_FILE + 1, head=True)
    except NotRead:
        return b""


def _read(path: Path) -> Config:
    if path.name == "pyproject.toml":
        table, positions = _pyproject_table(path)
        config = from_mapping(table or {}, path, positions)
        config.source_has_settings = table is not None
        return config
    if path.suffix == ".toml":
        table, text = _toml(path)
        return from_mapping(table, path, _toml_positions(text, ()))
    return from_mapping(*_yaml(path))


def _yaml(path: Path) -> tuple[Any, Path, Positions]:
    """The settings a YAML file holds, the file, and where their values are."""
    try:
        import yaml
    except ImportError:
        raise MissingDependency("PyYAML", f"reading the settings file {display_path(path)}") from None

    class BoundedLoader(yaml.SafeLoader):
        """yaml.safe_load, refusing more than MAX_ALIASES aliases: an alias graph can expand exponentially."""

        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise yaml.composer.ComposerError(None, None, f"more than {MAX_ALIASES} aliases",
                                                      self.peek_event().start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            """A key written twice is an error (yamllint's key-duplicates; PyYAML would keep the last silently,
            so a second ``fail-on: never`` below the first would turn the check off unseen)."""
            seen = set()
            for key_node, _ in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is not None and key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"the key {shown(key)} is written twice",
                                                            key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

    text = _settings_text(path)
    node = None
    try:
        loader = BoundedLoader(text)  # yaml.load(text, BoundedLoader), keeping the nodes and their marks
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        return data, path, _yaml_positions(node)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: its message is two lines
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        raise InputError(path, f"cannot parse YAML: {str(exc).splitlines()[0]}", line, column) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise InputError(path, f"cannot parse YAML: {exc.problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise InputError(path, f"cannot parse YAML: {shown(str(exc))}") from None
    except (ValueError, RecursionError) as exc:  # Python's limits: an int of 4,300+ digits, deep nesting
        found = _unconstructable(node) if isinstance(exc, ValueError) and node is not None else None
        message, line, column = found or _beyond_limits(exc, text)
        raise InputError(path, f"cannot parse YAML: {message}", line, column) from None


def _unconstructable(root: Any) -> tuple[str, int, int] | None:
    """The first scalar of a composed YAML document that the safe loader cannot make a value of (an integer of more
    digits than Python converts, a date that is none: ``2024-13-45``), what is wrong with it, and where it is."""
    import yaml

    loader, pending = yaml.SafeLoader(""), [root]
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.ScalarNode):
            try:
                loader.construct_object(node, deep=True)
            except ValueError as exc:
                place = node.start_mark.line + 1, node.start_mark.column + 1
                if node.tag.endswith(":int"):
                    return (long_integer(node.value, settings=True)[0], *place)
                if node.tag.endswith(":timestamp"):
                    return (f"{shown(node.value)} reads as a date, and is none ({shown(str(exc))}): quote it to "
                            "write text", *place)
                return (f"a value Python cannot hold ({shown(str(exc))})", *place)
        elif isinstance(node, yaml.MappingNode):
            pending.extend(item for pair in reversed(node.value) for item in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(reversed(node.value))
    return None


def _yaml_positions(node: Any) -> Positions:
    """Where the values of a YAML mapping (and of the mappings in it) are, 1-based, from the composed nodes."""
    positions: Positions = {}

    def scalar_keys(mapping: Any) -> list[tuple[Any, Any]]:
        return [(key, value) for key, value in getattr(mapping, "value", ()) if hasattr(key, "value")
                and isinstance(key.value, str)] if type(mapping).__name__ == "MappingNode" else []

    def at(item: Any) -> tuple[int, int]:
        return item.start_mark.line + 1, item.start_mark.column + 1

    if node is not None:
        positions[()] = at(node)
    for key, value in scalar_keys(node):
        positions.setdefault((KEY_AT, key.value), at(key))
        if not key.tag.endswith(":str"):  # null, true, 5: the error names the key as Python has it (None, True)
            positions.setdefault((KEY_AT, str(_scalar(key))), at(key))
        positions.setdefault((key.value,), at(value))
        for entry, entry_value in scalar_keys(value):
            positions.setdefault((key.value, entry.value), at(entry_value))
    return positions


def _scalar(node: Any) -> Any:
    """A YAML scalar key's value, as the safe loader constructs it (``null`` is None)."""
    import yaml

    try:
        return yaml.SafeLoader("").construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError):
        return node.value


def _settings_text(path: Path) -> str:
    try:
        return read_text(path, MAX_CONFIG_FILE, "settings-file")
    except NotRead as exc:
        raise InputError(path, f"the settings file {exc}") from None


def _toml(path: Path) -> tuple[dict[str, Any], str]:
    """The TOML file's data and its text."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        try:
            import tomli as tomllib
        except ImportError:
            raise MissingDependency("tomli", f"reading {display_path(path)} on Python 3.10") from None
    text = _settings_text(path)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        # "Invalid value (at line 2, column 11)": the place goes where every other error has it, path:line:col
        if text.startswith("\ufeff"):  # tomllib: "Invalid statement (at line 1, column 1)"
            raise InputError(path, "cannot parse TOML: a byte order mark (U+FEFF) starts the file; save it as UTF-8 "
                                   "without one", 1, 1) from None
        message = str(exc)
        place = re.search(r" \(at line (\d+), column (\d+)\)$", message)
        if place:
            raise InputError(path, f"cannot parse TOML: {message[:place.start()]}", int(place[1]),
                             int(place[2])) from None
        if message.endswith(" (at end of document)"):  # an array or string left open: the place is the end
            lines = text.split("\n")
            raise InputError(path, f"cannot parse TOML: {message[:-len(' (at end of document)')]} at the end of the "
                                   "file", len(lines), len(lines[-1]) + 1) from None
        raise InputError(path, f"cannot parse TOML: {message}") from None
    except (ValueError, RecursionError) as exc:  # Python's limits: an int of 4,300+ digits, deep nesting
        message, line, column = _beyond_limits(exc, text)
        raise InputError(path, f"cannot parse TOML: {message}", line, column) from None


def _beyond_limits(exc: Exception, text: str) -> tuple[str, int, int]:
    """What a settings file holds that Python cannot hold, in one line, and where it is (the bracket that opens
    the deepest nesting; the first integer of too many digits)."""
    if isinstance(exc, RecursionError):
        return "values nested too deeply", *deepest_nesting(text)
    if "integer string conversion" in str(exc):
        return long_integer(text, settings=True)
    return f"a value Python cannot hold ({shown(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)})", 0, 0


def _pyproject_table(path: Path) -> tuple[dict[str, Any] | None, Positions]:
    """``[tool.eos-guard]`` of a pyproject.toml (None when there is none), and where its values are."""
    # A [tool] that is no table is an error, as it is for ruff (whatever other table names eos-guard)
    data, text = _toml(path)
    tools = data.get("tool", {})
    if not isinstance(tools, dict):
        place = _toml_positions(text, ()).get(("tool",)) or _array_of_tables(text, r"tool")
        raise InputError(path, f"[tool] must be a table, not {shown(tools)}", *place)
    table = tools.get("eos-guard")
    if table is not None and not isinstance(table, dict):
        place = _toml_positions(text, ("tool",)).get(("eos-guard",)) or _toml_positions(text, ()).get(("tool",)) \
            or _array_of_tables(text, r"tool[ \t]*\.[ \t]*(?:eos-guard|\"eos-guard\"|'eos-guard')")
        raise InputError(path, "[tool.eos-guard] must be a table", *place)
    # a table meant for eos-guard would otherwise be ignored silently: eos_guard, eosguard, EOS-Guard, "eos guard"
    meant = next((name for name in tools if name.lower().translate(_SEPARATORS) == "eosguard"), None)
    if table is None and meant is not None:
        written = meant if meant.isascii() and meant.replace("_", "").replace("-", "").isalnum() else json.dumps(meant)
        raise InputError(path, f"[tool.{written}] is not read: eos-guard's table is [tool.eos-guard]",
                         *_toml_positions(text, ("tool",)).get((KEY_AT, meant), ()))
    return table, (_toml_positions(text, ("tool", "eos-guard")) if table else {})


# A TOML key (bare, "basic" or 'literal'), dotted keys, a [table] header, and the start of a key = value line.
_TOML_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_TOML_DOTTED = rf"{_TOML_KEY}(?:[ \t]*\.[ \t]*{_TOML_KEY})*"
# (patterns, not compiled ones: only a settings file in TOML compiles them, not every run's start-up)
_TOML_HEADER = rf"[ \t]*\[[ \t]*({_TOML_DOTTED})[ \t]*\][ \t]*(?:#.*)?$"
_TOML_ASSIGN = rf"[ \t]*({_TOML_DOTTED})[ \t]*=[ \t]*"


def _array_of_tables(text: str, name: str) -> tuple[int, int] | tuple[()]:
    """Where ``[[name]]`` (an array of tables, which _toml_positions does not place) first opens, or nothing."""
    header = re.search(rf"^[ \t]*\[\[[ \t]*{name}[ \t]*\]\]", text, re.MULTILINE)
    return (text.count("\n", 0, header.start()) + 1, header.start() - text.rfind("\n", 0, header.start())) \
        if header else ()


def _toml_positions(text: str, table: tuple[str, ...]) -> Positions:
    """Where the values of ``table`` (and of its sub-tables) are written in a TOML text, for error messages: a
    line scan (tomllib gives no positions) that skips the lines inside multi-line strings and the lines that go on
    with an array or inline table, and leaves out what it cannot place for certain (an entry of an inline table is
    placed at the table)."""
    positions: Positions = {}
    current: tuple[str, ...] | None = ()
    state: tuple[str, int] = ("", 0)
    for number, line in enumerate(text.split("\n"), 1):  # TOML's line breaks only (not U+2028: splitlines)
        line = line[:-1] if line.endswith("\r") else line  # CRLF
        starts_inside = state != ("", 0)
        state = _toml_line_state(line, state)
        if starts_inside:  # in a multi-line string, or an item of an array or inline table
            continue
        header = re.match(_TOML_HEADER, line)
        if header:
            current = _toml_key_parts(header[1])
            if current == table:
                positions.setdefault((), (number, line.index("[") + 1))
            elif current[:len(table)] == table:  # [tool.eos-guard.severity]: the setting, and the key of it
                positions.setdefault(current[len(table):len(table) + 1], (number, line.index("[") + 1))
                positions.setdefault((KEY_AT, current[len(table)]), (number, line.index("[") + 1))
            continue
        if line.lstrip().startswith("["):  # [[array of tables]]: no table of the settings
            current = None
            continue
        assign = re.match(_TOML_ASSIGN, line)
        if assign is None or current is None:
            continue
        path = current + _toml_key_parts(assign[1])
        if path == table:  # tool.eos-guard = {...}, or eos-guard = {...} under [tool]: its entries are placed here
            positions.setdefault((), (number, assign.end() + 1))
        elif path[:len(table)] == table and 1 <= len(path) - len(table) <= 2:
            inside = path[len(table):]
            positions.setdefault(inside, (number, assign.end() + 1))
            positions.setdefault(inside[:1], (number, assign.end() + 1))
            if len(inside) == 1:
                positions.setdefault((KEY_AT, inside[0]), (number, assign.start(1) + 1))
    return positions


def _toml_line_state(line: str, state: tuple[str, int]) -> tuple[str, int]:
    """What is open at the end of a TOML line, given what was open at its start: the multi-line string (its
    quotes, or ""), and how many arrays and inline tables. Strings, literal strings and comments are read as TOML
    reads them, so the quotes and brackets in them count for nothing."""
    quotes, depth = state
    at, end = 0, len(line)
    while at < end:
        if quotes:
            closed = _toml_string_end(line, at, quotes)
            if closed < 0:
                return quotes, depth
            at, quotes = closed, ""
            continue
        char = line[at]
        if char == "#":
            break
        if line.startswith(('"""', "'''"), at):
            quotes, at = line[at:at + 3], at + 3
        elif char == '"':
            at += 1
            while at < end and line[at] != '"':
                at += 2 if line[at] == "\\" else 1
            at += 1
        elif char == "'":
            closing = line.find("'", at + 1)
            at = end if closing < 0 else closing + 1
        else:
            depth += 1 if char in "[{" else -1 if char in "]}" and depth else 0
            at += 1
    return quotes, depth


def _toml_string_end(line: str, at: int, quotes: str) -> int:
    """Where a multi-line string that is open at ``at`` closes in ``line`` (after its quotes, up to two more of
    which belong to the string), or -1."""
    while at < len(line):
        if quotes == '"""' and line[at] == "\\":
            at += 2
            continue
        if line.startswith(quotes, at):
            close = at + 3
            while close < len(line) and close - at < 5 and line[close] == quotes[0]:
                close += 1
            return close
        at += 1
    return -1


def _toml_key_parts(dotted: str) -> tuple[str, ...]:
    parts = re.findall(_TOML_KEY, dotted)
    return tuple(_basic_string(part) if part[0] == '"' else part.strip("'") for part in parts)


def _basic_string(quoted: str) -> str:
    """A TOML basic string's text (its escapes: JSON's, ``\\UXXXXXXXX``, and TOML 1.1's ``\\xHH`` and ``\\e``, which
    tomli 2.5 reads); an escape that is none is kept as written: the scan only places values for messages."""
    def unescape(found: re.Match) -> str:
        escape = found[1]
        if len(escape) > 1:  # u, U or x with their hex digits
            code = int(escape[1:], 16)
            return chr(code) if code <= 0x10FFFF else found[0]
        return _TOML_ESCAPES.get(escape, found[0])

    return re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}|.)", unescape, quoted[1:-1], flags=re.DOTALL)


_TOML_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\", "e": "\x1b"}


_SEPARATORS = str.maketrans("", "", "-_ .")
# how a pyproject.toml may name eos-guard's table, lowercased: one that names none of them is not parsed
_SPELLINGS = (b"eos-guard", b"eos_guard", b"eosguard", b"eos guard")
