"""A small cache of derived facts, so a hook that runs on every commit stays near the cost of reading files.

Two things are expensive in a check and depend only on their inputs: rendering templates (importing jinja2 and
rendering cost ~50 ms) and the model vocabulary of a large tokenizer.json (parsing 128k entries costs ~80 ms).
Results are kept in memory for the process (a Python caller's later runs use them too, with or without the cache:
every key names its inputs, so the values are the ones they would compute) and as small JSON files in
``$EOS_GUARD_CACHE_DIR`` (not inside the work tree being checked), else ``$XDG_CACHE_HOME/eos-guard``, else
``~/.cache/eos-guard``, none when the home
folder is not known (:func:`_root`; a run with the cache writes there what the process remembered from an earlier
run without it or with another folder):

- template probes, keyed by a hash of the template, the special and added token strings, eos-guard's version,
  the code that makes a probe (:func:`code_fingerprint` of template.PROBE_CODE: unreleased code keeps the last
  release's version) and the renderer it runs (:func:`installed_fingerprint` of template.RENDERER: jinja2 and
  MarkupSafe as installed, and Python's version); a render that hit a time limit is never cached;
- vocabulary look-ups, keyed by a SHA-256 of tokenizer.json's bytes, so a cache folder restored on another
  machine (a CI cache) is warm, and by the code that reads a vocabulary (vocabulary.vocab_code); the digest
  itself is remembered under the file's path, size, modification and status-change times and inode (not for a
  file changed in the last 2 s: :func:`file_key`), so a repeated local run does not hash the file again. The
  entry also records the
  vocabulary's bounds once the layout after it was checked (jsonspan.JsonDocument.vouch), so those bytes are
  checked once, and a run that finds the digest by the file's stat reads the file only up to its vocabulary
  (vocabulary.warm_layout);
- which templates were rendered before (``rendered``), so the render worker is started early, before a folder's
  vocabulary is read, only for a template that is likely to be rendered (template.prepare).

Templates that many models ship byte for byte are not rendered at all on a cold run: known_probes.py holds their
results. ``--no-cache`` or ``cache: false`` turns both off (every template is rendered, every vocabulary read);
an unwritable cache folder is silently not used. Its users take an entry only in exactly the shape they store
(template._cached_probe, vocabulary.well_formed_facts, _is_digest here); anything else is a miss.
"""

from __future__ import annotations

import functools
import json
import os
import stat
import sys
import time
from pathlib import Path

from .errors import InputError
from .version import __version__

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable

_MEMORY: dict[str, Any] = {}
# (cache folder, entry) for each entry this process read from that folder or wrote (or tried to write) there: an
# entry remembered from a run without the cache (or with another cache folder) is written when a run with the cache
# finds it in memory, so that the next process finds it on disk
_SETTLED: set[tuple[str, str]] = set()


# EOS_GUARD_CACHE_DIR values this run does not use, with the work tree being checked they lie in (distrust_inside)
_DISTRUSTED: dict[str, str] = {}


def distrust_inside(work_trees: Iterable[str]) -> str | None:
    """Stop using ``$EOS_GUARD_CACHE_DIR`` for this run when it lies in the git work tree of a folder being checked
    (``work_trees``: those trees; the tree itself too, a model repository checked as ``eos-guard .``), whose files a
    pull request writes (a CI job that keeps the cache in the checkout, for actions/cache): a well-formed entry
    committed there could change a verdict (helper-183, helper-184). Returns that work tree, or None when the
    folder is used. The defaults (``$XDG_CACHE_HOME``, ``~/.cache``) are the user's own, and are always used."""
    explicit = os.environ.get("EOS_GUARD_CACHE_DIR")
    _DISTRUSTED.clear()
    if not explicit:
        return None
    forms = {os.path.abspath(explicit), os.path.realpath(explicit)}
    for tree in work_trees:
        for root in {tree, os.path.realpath(tree)}:
            inside = root.rstrip(os.sep) + os.sep
            if any(form == root or form.startswith(inside) for form in forms):
                _DISTRUSTED[explicit] = tree
                return tree
    return None


def distrusted() -> tuple[str, str] | None:
    """The ``$EOS_GUARD_CACHE_DIR`` this run did not use, and the work tree it lies in (for the command's warning)."""
    return next(iter(_DISTRUSTED.items()), None)


def cache_dir() -> Path | None:
    root = _root()
    return Path(root) if root is not None else None


def _root() -> str | None:
    """``$EOS_GUARD_CACHE_DIR``, else ``$XDG_CACHE_HOME/eos-guard`` (an absolute one: the XDG specification says a
    relative one is ignored), else ``~/.cache/eos-guard``; None, no cache folder, when the home folder is not known
    (no HOME, and a user the password database does not list, as in a container run with ``--user N``): "~" would
    name a folder in the current one, the repository being checked, whose files a pull request writes
    (helper-175)."""
    explicit = os.environ.get("EOS_GUARD_CACHE_DIR")
    if explicit:
        return None if explicit in _DISTRUSTED else explicit
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "eos-guard")


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data``: the interpreter's own implementation for small inputs (loading OpenSSL through hashlib
    costs more than a small check), OpenSSL's (several times faster) for a large tokenizer.json."""
    if len(data) < 1 << 20:
        return _small_sha256()(data).hexdigest()
    try:  # the constructor hashlib's sha256 is, without hashlib's import of its other algorithms (~0.4 ms)
        from _hashlib import openssl_sha256 as sha256
    except ImportError:  # an interpreter built without OpenSSL
        from hashlib import sha256

    return sha256(data).hexdigest()


@functools.lru_cache(maxsize=None)
def _small_sha256() -> Any:
    """Found once: a failed import searches the whole path again each time (a run hashes a template per folder)."""
    try:
        from _sha2 import sha256  # Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # Python 3.10, 3.11
        except ImportError:
            from hashlib import sha256
    return sha256


@functools.lru_cache(maxsize=None)
def code_fingerprint(names: tuple[str, ...]) -> str:
    """A hash of eos-guard's own files ``names`` (in its package folder), part of the key of what their code computes,
    beside eos-guard's version: code that is not a release (a pre-commit ``rev:`` on a commit, an editable install)
    keeps the version of the last release, and an entry older code made would be taken. Read once a run; a file that
    cannot be read (an installation in a zip archive, the C source a wheel leaves out) counts as empty, and the
    version still keys the entry."""
    here = os.path.dirname(os.path.abspath(__file__))
    parts = []
    for name in names:
        try:
            with open(os.path.join(here, name), "rb") as handle:
                parts.append(sha256_hex(handle.read()))
        except OSError:
            parts.append("")
    return ",".join(parts)


def installed_fingerprint(packages: tuple[str, ...], path: tuple[str, ...]) -> str:
    """Python's version and a hash of each installed package of ``packages`` as found on the import path ``path``
    (not imported): its ``__init__.py`` (jinja2's names its version) and the names of its ``.dist-info`` folders
    beside it (pip writes one, named for the version): part of the key of what that code computes, so that an
    upgrade of Python or of the package, which may render a template differently, takes no entry the old one made
    (helper-175). The file is read through the package's loader, so a package in a zip archive counts too
    (helper-180); one that is not found counts as empty. template._renderer reads it once a process (a long-lived
    caller that upgrades jinja2 in place keeps the key it started with)."""
    from importlib.machinery import PathFinder

    parts = [sys.version]
    for name in packages:
        try:
            spec = PathFinder.find_spec(name, list(path))
        except (ImportError, ValueError):
            spec = None
        origin = getattr(spec, "origin", None)
        found = ""
        if origin and hasattr(spec.loader, "get_data"):
            try:
                found = sha256_hex(spec.loader.get_data(origin))
            except OSError:
                pass
            prefix = f"{name.lower()}-"
            try:
                found += "".join(sorted(f",{entry}" for entry in os.listdir(os.path.dirname(os.path.dirname(origin)))
                                        if entry.lower().startswith(prefix) and entry.endswith(".dist-info")))
            except OSError:  # a zip archive's inside: no folder to list
                pass
        parts.append(found)
    return ";".join(parts)


def digest(*parts: Any) -> str:
    payload = json.dumps([__version__, *parts], ensure_ascii=False, sort_keys=True, default=str)
    return sha256_hex(payload.encode("utf-8", "surrogatepass"))  # a lone surrogate is valid JSON


RACY_NS = 2_000_000_000  # a file changed this recently may change again with the same stat (FAT counts 2 s)


def file_key(path: Path) -> str | None:
    """A key that changes whenever the file does (path, size, inode, and the modification and status-change times
    in ns), or None if it cannot stat, or while the file is "racily clean" (git's term): changed in the last
    ``RACY_NS``, so that a change after it was read could leave every field as it is (a file system's clock ticks
    in steps of up to 2 s), and its digest is not remembered by its stat. The status-change time is there because
    the others can all be kept through a change: a file rewritten in place to the same size and its modification
    time set back (``touch -r``, ``os.utime``) kept the digest, and so the facts, of its old bytes; the kernel
    alone sets the status-change time. (On Windows ``st_ctime`` is the creation time, which a rewrite in place
    keeps: there such a rewrite is not seen.)"""
    try:
        st = path.stat()
    except OSError:
        return None
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_NS:
        return None
    return digest(str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def entry_key(content: str, code: tuple[str, ...]) -> str:
    """The key of an entry computed from a file whose bytes' digest is ``content``, by the code in the files
    ``code`` (none: the content's digest itself)."""
    return digest(code_fingerprint(code), content) if code else content


def known_digest(by_stat: str | None, on_disk: bool) -> str | None:
    """The content key remembered for a file's :func:`file_key`, or None."""
    known = load("digest", by_stat, on_disk) if by_stat else None
    return known if _is_digest(known) else None  # it names a cache file: nothing else may


class Lookup:
    """The content key of ``data`` and what the cache holds for it under ``kind`` (None for nothing).

    Hashing a large file costs tens of milliseconds (36 MB: ~35 ms). When the digest is not already known from
    the file's stat, it is worked out on another thread while the caller computes the value itself; hashlib
    releases the interpreter lock while it hashes, so on a machine with two cores a cold run pays the longer of
    the two, not their sum. ``ready()`` says, without waiting, whether a usable cached value has arrived, so the
    caller can stop computing; ``result()`` waits for the key and the value.
    """

    BACKGROUND_FROM = 1 << 20  # bytes: below this, a thread costs more than the hash

    def __init__(self, kind: str, path: Path, data: Callable[[], bytes], on_disk: bool,
                 code: tuple[str, ...] = ()) -> None:
        """``data`` gives the file's bytes, asked for only when their digest is not known from the file's stat (a
        warm run may not have read the whole file: model_files.py); ``code``, the files whose code computes the
        entry (:func:`entry_key`)."""
        self.kind, self.path, self.on_disk, self.code = kind, path, on_disk, code
        self.data = b""
        self.key: str | None = None
        self.value: Any = None
        self.by_stat = file_key(path)
        known = known_digest(self.by_stat, on_disk)
        if known is None:
            self.data = data()
        if known is not None or len(self.data) < self.BACKGROUND_FROM:
            self._thread = None
            self._run(known)
            return
        import threading  # only a large file on a cold cache starts one

        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eos-guard-hash", daemon=True)
        self._thread.start()

    def _run(self, known: str | None = None) -> None:
        try:
            key = known if known is not None else digest(sha256_hex(self.data))
            if known is None and self.by_stat:
                store("digest", self.by_stat, key, self.on_disk)  # the bytes' digest: the code does not change it
            entry = entry_key(key, self.code)
            self.value = load(self.kind, entry, self.on_disk)
            self.key = entry
        except Exception:  # noqa: BLE001 - a cache that cannot be used is not used; the caller computes
            self.key, self.value = None, None
        finally:
            self.data = b""  # hashed: the file's bytes are not kept alive by the lookup
            if self._thread is not None:
                self._done.set()

    def ready(self) -> bool:
        return self._thread is None or self._done.is_set()

    def result(self) -> tuple[str | None, Any]:
        if self._thread is not None:
            self._done.wait()
        return self.key, self.value

    def __getstate__(self) -> dict[str, Any]:
        """A finished lookup, without its thread and event: a report that keeps its model crosses processes
        (a worker of a run over many folders returns it)."""
        self.result()
        return {**self.__dict__, "_thread": None, "_done": None}


_HEX = frozenset("0123456789abcdef")


def _is_digest(value: Any) -> bool:
    """A SHA-256 as ``digest`` writes it: 64 lowercase hexadecimal digits."""
    return isinstance(value, str) and len(value) == 64 and _HEX.issuperset(value)


MAX_ENTRY_BYTES = 16 * 1024 * 1024  # a vocabulary's entry holds a few thousand ids: far below this
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def load(kind: str, key: str, on_disk: bool) -> Any:
    memory_key = f"{kind}/{key}"
    if memory_key in _MEMORY:
        value = _MEMORY[memory_key]
        if on_disk and (_root(), memory_key) not in _SETTLED:
            store(kind, key, value, on_disk)
        return value
    if not on_disk:
        return None
    folder = _entries(kind)
    if folder is None:
        return None
    try:
        value = json.loads(_read_entry(folder / f"{key}.json"))
    except (OSError, ValueError, RecursionError):  # gone, not a small regular file, not JSON, nested too deep
        return None
    _MEMORY[memory_key] = value
    _SETTLED.add((_root(), memory_key))
    return value


def _read_entry(path: Path) -> str:
    """An entry's text: a regular file of at most MAX_ENTRY_BYTES, read with the checks model files get (a FIFO or
    device, which a restored or shared cache folder may hold, is never read)."""
    from .jsonspan import NotRead, read_bytes

    try:
        return read_bytes(path, MAX_ENTRY_BYTES, "cache entry").decode("utf-8")
    except (NotRead, InputError) as exc:
        raise ValueError("not a cache entry") from exc


@functools.lru_cache(maxsize=None)
def _entries_at(root: str, kind: str) -> Path | None:
    """``root/v1/kind`` when eos-guard's own folders there are real folders (or not made yet); None when either is
    a link or another kind of file: a cache folder restored from another job or kept in a repository could link
    them into a model folder, which check mode must never write into."""
    folder = Path(root) / "v1" / kind
    for part in (folder.parent, folder):
        try:
            mode = os.lstat(part).st_mode
        except FileNotFoundError:
            return folder
        except OSError:
            return None
        if not stat.S_ISDIR(mode):
            return None
    return folder


def _entries(kind: str) -> Path | None:
    root = _root()
    return _entries_at(root, kind) if root is not None else None


def store(kind: str, key: str, value: Any, on_disk: bool) -> None:
    _MEMORY[f"{kind}/{key}"] = value
    if not on_disk:
        return
    root = _root()
    _SETTLED.add((root, f"{kind}/{key}"))  # tried once: an unwritable folder is not tried again
    folder = _entries(kind)
    if folder is None or root is None:
        return
    # A name of this process's own (not tempfile, whose import costs more than a small check), then an atomic
    # rename: concurrent runs never see a half-written file.
    temporary, target = f"{key}.{os.getpid()}.{id(value):x}.tmp", f"{key}.json"
    folder_fd, written = None, False
    try:
        if _AT_A_FOLDER:
            folder_fd = _open_entries(root, kind)
            at: dict[str, Any] = {"dir_fd": folder_fd}
            here = {"src_dir_fd": folder_fd, "dst_dir_fd": folder_fd}
        else:  # no *at() calls (Windows): by path, the folders checked just before
            folder.mkdir(parents=True, exist_ok=True)
            if _entries_at.__wrapped__(root, kind) is None:  # made a link meanwhile, by another process
                return
            temporary, target, at, here = str(folder / temporary), str(folder / target), {}, {}
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0),
                     0o644, **at)
        written = True
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(value, handle)  # ASCII: a token string may hold a lone surrogate, which UTF-8 cannot encode
        os.replace(temporary, target, **here)
        written = False
    except OSError:
        pass
    finally:
        if written:  # a full disk, a write refused: no partial file is left behind
            try:
                os.unlink(temporary, **at)
            except OSError:
                pass
        if folder_fd is not None:
            os.close(folder_fd)


# Writes go through a descriptor of the entries' folder where the platform has the *at() calls (not Windows)
_AT_A_FOLDER = {os.open, os.mkdir, os.rename, os.unlink} <= os.supports_dir_fd and hasattr(os, "O_DIRECTORY") \
    and bool(_NOFOLLOW)


def _open_entries(root: str, kind: str) -> int:
    """A descriptor of ``root/v1/kind``, eos-guard's two folders made where missing and each opened relative to the
    one above without following a link (``O_NOFOLLOW``): a folder another process swaps for a link after the
    check in :func:`_entries_at` fails the open instead of taking the write elsewhere (helper-175: swapped in a
    loop, ``v1/vocab`` took entries and temporary files into the folder its link named). The root is the
    user's choice, and may be a link; it is opened as a path only (``O_PATH``, Linux), so a root that can be written
    but not listed (a shared folder of mode 1733) keeps its entries (helper-176)."""
    os.makedirs(root, exist_ok=True)
    fd = os.open(root, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY)
    try:
        for part in ("v1", kind):
            try:
                os.mkdir(part, 0o777, dir_fd=fd)
            except FileExistsError:
                pass
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd
