"""The settings of a run, as every layer sees them. Reading and validating them (config.py) needs the rule and
runtime registries; this type does not, so sources and the pipeline can take settings without importing rules."""

from __future__ import annotations

import fnmatch
import os
import posixpath
from pathlib import Path

from .findings import Finding, Severity
from .model_files import DEFAULT_MAX_BYTES, DEFAULT_MAX_CONFIG_BYTES
from .records import field, record, replace
from .template import Limits

FAIL_ON_NEVER = "never"


@record
class Config:
    select: set[str] | None = None              # rule codes to run; None: every rule
    ignore: set[str] = field(default_factory=set)
    per_file_ignores: dict[str, set[str]] = field(default_factory=dict)
    severity: dict[str, Severity] = field(default_factory=dict)  # rule code -> the severity of all its findings
    fail_on: Severity | None = Severity.ERROR   # None: never fail on findings
    exclude: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    runtimes: tuple[str, ...] = ("transformers",)  # runtimes whose failure to stop is an error
    runtime_versions: dict[str, str] = field(default_factory=dict)  # runtime -> release run ("0.31"); else newest
    max_file_bytes: int = DEFAULT_MAX_BYTES       # a larger tokenizer.json (or GGUF metadata) is not read (EOS018)
    max_config_bytes: int = DEFAULT_MAX_CONFIG_BYTES  # a larger config, added-tokens or template file is not read
    baseline: str | None = "HEAD"               # git revision to compare stop ids with (EOS015); None: off
    baseline_explicit: bool = False             # asked for (--baseline): a revision that cannot be read is an error
    source: Path | None = None                  # the file the settings came from
    source_has_settings: bool = True            # False: a --config pyproject.toml without [tool.eos-guard] (defaults)
    root: Path = field(default_factory=Path.cwd)  # patterns are relative to this folder

    def enabled(self, code: str) -> bool:
        return (self.select is None or code in self.select) and code not in self.ignore

    def keeps(self, finding: Finding) -> bool:
        if not self.enabled(finding.code):
            return False
        if not self.per_file_ignores:
            return True
        relative = _relative(finding.location.path, self.root)
        return not any(finding.code in codes and _matches(relative, pattern)
                       for pattern, codes in self.per_file_ignores.items())

    def severity_of(self, finding: Finding) -> Finding:
        """The finding with the severity the settings give its rule, if they give one."""
        wanted = self.severity.get(finding.code)
        return finding if wanted in (None, finding.severity) else replace(finding, severity=wanted)

    def excluded(self, folder: Path) -> bool:
        """Whether ``exclude`` names the folder, where it is (its parent's real path: not where a link points)."""
        if not self.exclude:
            return False
        return self.excludes_real(os.path.join(os.path.realpath(folder.parent), folder.name))

    def excludes_real(self, real: str) -> bool:
        """:meth:`excluded` for a folder's real path, without asking the file system again (a check of thousands of
        folders asks it of every folder above each)."""
        if not self.exclude:
            return False
        root = _REAL_ROOTS.get(self.root) or _REAL_ROOTS.setdefault(self.root, os.path.realpath(self.root))
        inside = root if root.endswith("/") else root + "/"
        relative = real[len(inside):] if real.startswith(inside) else real
        return any(_matches(relative, pattern) for pattern in self.exclude)


_REAL_ROOTS: dict[Path, str] = {}  # a settings file's folder -> its real path, for the process (folders stay put)


def _relative(path: Path, root: Path) -> str:
    try:
        # Where the file is, not where a link points (Path.resolve raises on a link loop before Python 3.13).
        return (Path(os.path.realpath(path.parent)) / path.name).relative_to(os.path.realpath(root)).as_posix()
    except ValueError:
        return path.as_posix()


def _matches(relative: str, pattern: str) -> bool:
    """Whether a path relative to the settings' folder is the pattern or under it; "./m/" and "m//" are "m". A
    leading "**/" also matches at the top, as in .gitignore ("**/m" is "m" too; fnmatch's "**/" needs a "/"). A
    pattern without a "/" is a name, matched at any depth below the settings' folder, as .gitignore and ruff match
    one ("generation_config.json" is every such file, "old" every folder so named and what it holds)."""
    pattern = posixpath.normpath(pattern) if pattern else pattern
    if pattern.startswith("**/") and _matches(relative, pattern[3:]):
        return True
    if "/" not in pattern and not posixpath.isabs(relative) and \
            any(fnmatch.fnmatch(name, pattern) for name in relative.split("/")):
        return True
    return fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, pattern + "/*")
