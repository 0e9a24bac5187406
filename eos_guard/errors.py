"""The exceptions eos-guard raises for bad input (carrying where the problem is) and for a missing dependency."""

from __future__ import annotations

import os
from pathlib import Path, PurePath


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
        name = display_path(self.path, relative_to)
        where = f"{name}:{self.line}:{self.column}" if self.line else name
        return f"{where}: {self.message}"

    def __str__(self) -> str:  # the API's message names the file, as the CLI's does
        return self.render()

    def __reduce__(self) -> tuple:
        """Pickled as its fields (a worker process sends reports back pickled): the exception default rebuilds
        it as ``cls(*args)``, which calls ``__init__`` with the message alone."""
        return (_restored, (type(self), self.args), self.__dict__)

    def detached(self) -> InputError:
        """This error without its traceback and the exceptions it was raised from, to be kept in a report: their
        frames would keep every local of the run alive, in a reference cycle with the report."""
        self.__traceback__ = self.__context__ = self.__cause__ = None
        return self


def _restored(cls: type[InputError], args: tuple) -> InputError:
    """An unpickled InputError (or subclass) before its fields are set back: made without its ``__init__``."""
    return Exception.__new__(cls, *args)  # BaseException.__new__ keeps ``args``


# How a git-LFS pointer file starts: a checkout made without git-lfs holds these instead of the large files
# (tokenizer.json, tokenizer.model and *.gguf are tracked by LFS in most model repositories).
LFS_POINTER = "version https://git-lfs.github.com/spec/"


def lfs_pointer(path: Path | str, head: bytes) -> InputError | None:
    """The error for a file whose bytes start with ``head`` when it is a git-LFS pointer, else None."""
    if head.startswith(LFS_POINTER.encode("ascii")):
        return InputError(path, "a git-LFS pointer, not the file: run git lfs pull", 1, 1)
    return None


class NoModelFolder(InputError):
    """A folder named as a PATH that holds no model folder: nothing to check (a training checkpoint holding only a
    PEFT adapter's weights is one), told apart from a file or setting that is wrong."""


class BaselineUnread(InputError):
    """The earlier version EOS015 compares with cannot be read (git missing or refusing the work tree, no such
    revision, a partial clone without the files): EOS015 is off there, and every other finding stands. The command
    says it and exits 2; the Python API keeps it in ``Report.errors`` and returns the report."""


class FoldersNotFixed(InputError):
    """``eos_guard.fix`` left more than one folder unfixed (a file it could not read or write): the first one's
    path, line, column and message, with how many others and which, and each error in ``failures`` (the first
    one first), so that a script never takes one of the others for fixed (helper-209)."""

    def __init__(self, failures: list[InputError]) -> None:
        first, others = failures[0], failures[1:]
        names = ", ".join(display_path(error.path) if error.path is not None else error.message for error in others)
        folders = "folder" if len(others) == 1 else f"{len(others)} folders"
        super().__init__(first.path, f"{first.message} (not fixed either: the {folders} of {names})", first.line,
                         first.column)
        self.failures = failures


class OutputFailed(InputError):
    """stdout could not be written (a full disk, an I/O error; not a closed pipe, which ends a run quietly)."""


class MissingDependency(Exception):
    """A run needs a package that is not installed: jinja2 to render a chat template eos-guard has no results for,
    PyYAML to read ``.eos-guard.yaml``, tomli to read pyproject.toml before Python 3.11. The CLI says so and exits
    with 2; the GitHub Action installs the dependencies and checks again (docs/action.md). Nothing was written
    when it is raised: a run with ``--fix`` checks every folder before it writes."""

    def __init__(self, distribution: str, purpose: str) -> None:
        super().__init__(distribution, purpose)  # both in args: pickled as ``cls(*args)`` by a worker process
        self.distribution = distribution
        self.purpose = purpose

    def __str__(self) -> str:
        return f"{self.purpose} needs {self.distribution}, which is not installed (pip install {self.distribution})"

    def at(self, path: Path) -> MissingDependency:
        """The same, naming the file that needs it."""
        return MissingDependency(self.distribution, f"{display_path(path)}: {self.purpose}")


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


def shown(text: str) -> str:
    """A name from the command line or the file system as a person reads it: a byte that is not UTF-8, which Python
    holds as a surrogate escape (``b"\\xff"`` is ``"\\udcff"``, os.fsdecode), is written as its byte's escape
    (``\\xff``), as ``os.fsencode`` then ``decode(..., "backslashreplace")`` gives."""
    if text.isascii():
        return text
    try:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeError:  # a lone surrogate no byte stands for (not from the OS): printable shows its escape
        return text


def display_path(path: Path, relative_to: Path | None = None) -> str:
    """A path as a person reads it (messages, text reports, annotations): :func:`path_field`, with the bytes of a
    name that is not UTF-8 shown as escapes (:func:`shown`)."""
    return shown(path_field(path, relative_to))


def path_field(path: Path, relative_to: Path | None = None) -> str:
    """A path relative to the working directory when it lies below it, with ``/`` separators; a path inside an
    aliased folder is shown under the alias. A name that is not UTF-8 keeps its surrogate escapes (os.fsdecode),
    which a reader turns back into the bytes (os.fsencode): the path fields of JSON and SARIF."""
    if not ALIASES and os.sep == "/":
        return _display_posix(path, relative_to)
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


def repository_field(path: Path) -> str:
    """A path relative to the repository that holds it, with ``/`` separators: what GitHub resolves the paths of
    annotations and code-scanning results against, wherever eos-guard runs (a step's ``working-directory``, a
    checkout in a subfolder). The repository is the outermost folder above the file that holds ``.git``, within
    ``$GITHUB_WORKSPACE`` when that is set (a model folder that is a git clone of its own, or a submodule, is named
    from the repository around it; a checkout made without git is the workspace itself). :func:`path_field` where
    no repository holds the path, or an alias shows it (a Hub snapshot)."""
    shown = path_field(path)
    if ALIASES and any(shown == label or shown.startswith(f"{label}/") for label in ALIASES.values()):
        return shown
    full = os.path.join(real_folder(os.path.abspath(path.parent)), path.name)
    root = _repository_of(os.path.dirname(full))
    if root is None:
        return shown
    relative = os.path.relpath(full, root)
    return relative.replace(os.sep, "/") if os.sep != "/" else relative


_REPOSITORIES: dict[str, str | None] = {}  # real folder -> the repository holding it, for the run


def _repository_of(folder: str) -> str | None:
    known = _REPOSITORIES.get(folder, "")
    if known != "":
        return known
    workspace = os.environ.get("GITHUB_WORKSPACE")
    workspace = real_folder(os.path.abspath(workspace)) if workspace else None
    inside = workspace is not None and (folder == workspace or folder.startswith(workspace.rstrip(os.sep) + os.sep))
    root = None
    for directory in (folder, *map(str, Path(folder).parents)):
        if inside and len(directory) < len(workspace):  # type: ignore[arg-type]
            break
        if os.path.lexists(os.path.join(directory, ".git")):
            root = directory  # the outermost one wins
    root = root if root is not None else workspace if inside else None
    _REPOSITORIES[folder] = root
    return root


def _display_posix(path: Path, relative_to: Path | None) -> str:
    """path_field without aliases, in string operations: reporters show thousands of paths."""
    text = os.fspath(path if isinstance(path, PurePath) else Path(path))
    head, name = os.path.split(text)
    if name == ".":  # Path(".") has no name
        head, name = ".", ""
    cwd = os.getcwd()
    parent = real_folder(os.path.join(cwd, head) if head else cwd)
    full = os.path.join(parent, name) if name else parent  # a link is shown where it is, not where it points
    base = real_folder(os.path.join(cwd, relative_to)) if relative_to is not None else real_folder(cwd)
    if full == base:
        return "."
    prefix = base if base.endswith("/") else base + "/"
    return full[len(prefix):] if full.startswith(prefix) else text


def _real(folder: Path) -> Path:
    """The real path of a folder, remembered: reporters show thousands of paths in a few folders."""
    return Path(real_folder(os.path.join(os.getcwd(), folder)))


# absolute folder path as given -> its real path, for the run (find_model_folders forgets them when a run starts)
_REAL: dict[str, str] = {}
_REAL_KEPT = 1 << 16


def real_folder(folder: str) -> str:
    """``os.path.realpath`` of an absolute path, remembered. A folder's real path is its parent's real path and its
    name unless the folder itself is a link, so a folder in a known parent costs one ``lstat``, not one per level."""
    known = _REAL.get(folder)
    if known is not None:
        return known
    if len(_REAL) > _REAL_KEPT:
        _REAL.clear()
    below: list[tuple[str, str]] = []
    current = folder
    while True:  # a loop, not recursion: a folder may lie deeper than Python's recursion limit
        known = _REAL.get(current)
        if known is not None:
            break
        parent, name = os.path.split(current)
        if not name or name in (".", "..") or parent == current:  # the root, or a path that is not normalised
            known = _REAL[current] = os.path.realpath(current)
            break
        below.append((current, name))
        current = parent
    for current, name in reversed(below):
        known = _REAL[current] = os.path.realpath(current) if os.path.islink(current) else os.path.join(known, name)
    return known


def forget_real_paths() -> None:
    """A new run: folders may have been moved or linked since the last one."""
    _REAL.clear()
    _REPOSITORIES.clear()
