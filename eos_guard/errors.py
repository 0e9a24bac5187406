"""The one exception eos-guard raises for bad input, carrying where the problem is."""

from __future__ import annotations

import functools
import os
from pathlib import Path


class InputError(Exception):
    """A file or setting that eos-guard cannot use: reported as ``path:line:col: message``, exit code 2."""

    def __init__(self, path: Path | str | None, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.message = message
        self.line = line
        self.column = column

    def render(self, relative_to: Path | None = None) -> str:
        if self.path is None:
            return self.message
        shown = display_path(self.path, relative_to)
        where = f"{shown}:{self.line}:{self.column}" if self.line else shown
        return f"{where}: {self.message}"

    def __str__(self) -> str:  # the API's message names the file, as the CLI's does
        return self.render()


# Folders shown under another name: a Hub repository's local snapshot is shown as ``org/name@revision``.
ALIASES: dict[Path, str] = {}
# Folders whose files have a web page: a Hub snapshot -> ``{endpoint}/{org/name}/blob/{commit}``.
WEB_PAGES: dict[Path, str] = {}


def register_alias(folder: Path, label: str, web_page: str | None = None) -> None:
    """Show ``folder`` as ``label``; with ``web_page``, a finding in it links to ``{web_page}/{file}#L{line}``.

    A source registers its folders here, so reporters never need to know where a folder came from.
    """
    ALIASES[folder.resolve()] = label
    if web_page is not None:
        WEB_PAGES[folder.resolve()] = web_page


def web_address(path: Path, line: int | None = None) -> str | None:
    """The web page of ``path`` (at ``line``) when it lies in a folder registered with one, else None."""
    if not WEB_PAGES:
        return None
    from urllib.parse import quote

    full = path.parent.resolve() / path.name
    for folder in full.parents:  # a look-up per parent, not a scan of every folder: audits fetch hundreds
        page = WEB_PAGES.get(folder)
        if page is not None:
            anchor = f"#L{line}" if line else ""
            return f"{page}/{quote(full.relative_to(folder).as_posix())}{anchor}"
    return None


def display_path(path: Path, relative_to: Path | None = None) -> str:
    """A path relative to the working directory when it lies below it, with ``/`` separators; a path inside an
    aliased folder is shown under the alias."""
    base = relative_to or Path.cwd()
    full = _real(path.parent) / path.name  # a link is shown where it is, not where it points
    for folder in (full, *full.parents):
        label = ALIASES.get(folder)
        if label is not None:
            rest = full.relative_to(folder).as_posix()
            return label if rest == "." else f"{label}/{rest}"
    try:
        return full.relative_to(_real(base)).as_posix() or "."
    except ValueError:
        return path.as_posix()


@functools.lru_cache(maxsize=4096)
def _resolved(folder: Path, cwd: str) -> Path:
    return Path(os.path.realpath(os.path.join(cwd, folder)))


def _real(folder: Path) -> Path:
    """The real path of a folder, remembered: reporters show thousands of paths in a few folders."""
    return _resolved(folder, os.getcwd())
