"""Reading settings from ``.eos-guard.yaml``, ``[tool.eos-guard]`` in pyproject.toml, or ``--config FILE``.

Discovery walks up from the first checked path: the nearest ``.eos-guard.yaml`` (or ``.eos-guard.yml``)
wins; without one, the nearest pyproject.toml that has a ``[tool.eos-guard]`` table. Unknown keys and rule
codes are errors, never silently ignored.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .config_types import FAIL_ON_NEVER, Config
from .errors import InputError
from .findings import Severity
from .jsonspan import read_text
from .rules import ALL_RULES, lookup, suggest
from .runtimes import RUNTIMES
from .template import Limits

YAML_NAMES = (".eos-guard.yaml", ".eos-guard.yml")
KEYS = ("select", "ignore", "per-file-ignores", "severity", "fail-on", "exclude", "runtimes", "template-timeout",
        "template-max-output", "cache", "max-file-size")
RUNTIME_NAMES = tuple(RUNTIMES)


def codes_of(entries: Any, where: Path | None, key: str) -> set[str]:
    """Rule codes named by a list of codes, names or code prefixes (``EOS0``), or ``ALL``."""
    if isinstance(entries, str):
        entries = [e for e in entries.replace(",", " ").split() if e]
    if not isinstance(entries, list):
        raise InputError(where, f"{key} must be a list of rule codes")
    codes: set[str] = set()
    for entry in entries:
        if not isinstance(entry, str):
            raise InputError(where, f"{key}: {entry!r} is not a rule code")
        if entry.upper() == "ALL":
            codes.update(rule.code for rule in ALL_RULES)
            continue
        try:
            codes.add(lookup(entry).code)
            continue
        except KeyError:
            pass
        matched = {rule.code for rule in ALL_RULES if rule.code.startswith(entry.upper())}
        if not matched or not entry.upper().startswith("EOS"):
            hint = suggest(entry)
            also = f"did you mean {hint}? " if hint else ""
            raise InputError(where, f"{key}: unknown rule {entry!r} ({also}'eos-guard rule --all' lists them)")
        codes.update(matched)
    return codes


def runtimes_of(entries: Any, where: Path | None, key: str) -> tuple[str, ...]:
    """Runtime names from a list or a comma-separated string; ``all`` means every runtime."""
    if isinstance(entries, str):
        entries = [e for e in entries.replace(",", " ").split() if e]
    if not isinstance(entries, list) or not entries:
        raise InputError(where, f"{key} must be a list of runtime names ({', '.join(RUNTIME_NAMES)}) or all")
    names: list[str] = []
    for entry in entries:
        if entry == "all":
            names.extend(RUNTIME_NAMES)
        elif entry in RUNTIME_NAMES:
            names.append(entry)
        else:
            raise InputError(where, f"{key}: unknown runtime {entry!r} (known: {', '.join(RUNTIME_NAMES)}, all)")
    return tuple(n for n in RUNTIME_NAMES if n in names)


def parse_fail_on(value: Any, where: Path | None) -> Severity | None:
    if value == FAIL_ON_NEVER:
        return None
    try:
        return Severity.parse(str(value))
    except ValueError:
        raise InputError(where, f"fail-on: {value!r} is not one of error, warning, info, never") from None


def severities_of(table: Any, where: Path | None) -> dict[str, Severity]:
    """``{rule: error|warning|info}``: the severity every finding of that rule gets."""
    if not isinstance(table, dict):
        raise InputError(where, "severity must map rule codes or names to error, warning or info")
    result = {}
    for key, value in table.items():
        codes = codes_of([key], where, "severity")
        try:
            level = Severity.parse(value if isinstance(value, str) else repr(value))
        except ValueError:
            raise InputError(where, f"severity {key!r}: {value!r} is not one of error, warning, info") from None
        result.update(dict.fromkeys(codes, level))
    return result


def from_mapping(data: Any, source: Path | None) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(source, "the eos-guard settings must be a mapping of keys to values")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise InputError(source, f"unknown setting {unknown[0]!r} (known: {', '.join(KEYS)})")
    config = Config(source=source, root=source.parent if source else Path.cwd())
    if "select" in data:
        config.select = codes_of(data["select"], source, "select")
    if "ignore" in data:
        config.ignore = codes_of(data["ignore"], source, "ignore")
    if "per-file-ignores" in data:
        table = data["per-file-ignores"]
        if not isinstance(table, dict):
            raise InputError(source, "per-file-ignores must map path patterns to lists of rule codes")
        config.per_file_ignores = {str(k): codes_of(v, source, f"per-file-ignores {k!r}") for k, v in table.items()}
    if "severity" in data:
        config.severity = severities_of(data["severity"], source)
    if "fail-on" in data:
        config.fail_on = parse_fail_on(data["fail-on"], source)
    if "runtimes" in data:
        config.runtimes = runtimes_of(data["runtimes"], source, "runtimes")
    if "exclude" in data:
        if not isinstance(data["exclude"], list) or not all(isinstance(p, str) for p in data["exclude"]):
            raise InputError(source, "exclude must be a list of path patterns")
        config.exclude = list(data["exclude"])
    seconds, size = config.limits.seconds, config.limits.max_output
    if "template-timeout" in data:
        seconds = _positive(data["template-timeout"], source, "template-timeout", float)
    if "template-max-output" in data:
        size = int(_positive(data["template-max-output"], source, "template-max-output", int))
    if "max-file-size" in data:
        config.max_file_bytes = int(_positive(data["max-file-size"], source, "max-file-size", float) * 1024 * 1024)
    cache = data.get("cache", True)
    if not isinstance(cache, bool):
        raise InputError(source, "cache must be true or false")
    config.limits = Limits(seconds, size, cache)
    return config


def _positive(value: Any, source: Path | None, key: str, kind: type) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 \
            or (kind is int and not isinstance(value, int)):
        raise InputError(source, f"{key} must be a positive {'integer' if kind is int else 'number'}")
    return value


def load(explicit: Path | None, start: Path) -> Config:
    """The settings for a run: ``explicit`` if given, else the nearest config file above ``start``."""
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(explicit, "config file not found")
        return _read(explicit)
    folder = start.resolve()
    if folder.is_file():
        folder = folder.parent
    ancestors = [folder, *folder.parents]
    for directory in ancestors:
        for name in YAML_NAMES:
            if (directory / name).is_file():
                return _read(directory / name)
    for directory in ancestors:
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            table = _pyproject_table(pyproject)
            if table is not None:
                return from_mapping(table, pyproject)
    return Config()


def _read(path: Path) -> Config:
    if path.name == "pyproject.toml" or path.suffix == ".toml":
        table = _pyproject_table(path) if path.name == "pyproject.toml" else _toml(path)
        return from_mapping(table or {}, path)
    return from_mapping(_yaml(path), path)


def _yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(read_text(path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise InputError(path, f"cannot parse YAML: {exc.problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise InputError(path, f"cannot parse YAML: {exc}") from None


def _toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"cannot parse TOML: {exc}") from None


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    table = _toml(path).get("tool", {}).get("eos-guard")
    if table is not None and not isinstance(table, dict):
        raise InputError(path, "[tool.eos-guard] must be a table")
    return table
