"""A small cache of derived facts, so a hook that runs on every commit stays near the cost of reading files.

Two things are expensive in a check and depend only on their inputs: rendering templates (importing jinja2 and
rendering cost ~50 ms) and the model vocabulary of a large tokenizer.json (parsing 128k entries costs ~80 ms).
Results are kept in memory for the run and as small JSON files in ``$EOS_GUARD_CACHE_DIR``, else
``$XDG_CACHE_HOME/eos-guard``, else ``~/.cache/eos-guard``:

- template probes, keyed by a hash of the template, the special and added token strings and eos-guard's version
  (a render that hit a time limit is never cached);
- vocabulary look-ups, keyed by tokenizer.json's path, size, modification time and inode, like ruff's cache.

``--no-cache`` or ``cache: false`` turns the files off; an unwritable cache folder is silently not used.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .version import __version__

_MEMORY: dict[str, Any] = {}


def cache_dir() -> Path:
    explicit = os.environ.get("EOS_GUARD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "eos-guard"


def digest(*parts: Any) -> str:
    payload = json.dumps([__version__, *parts], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def file_key(path: Path) -> str | None:
    """A key that changes whenever the file does (path, size, mtime in ns, inode), or None if it cannot stat."""
    try:
        st = path.stat()
    except OSError:
        return None
    return digest(str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


def load(kind: str, key: str, on_disk: bool) -> Any:
    memory_key = f"{kind}/{key}"
    if memory_key in _MEMORY:
        return _MEMORY[memory_key]
    if not on_disk:
        return None
    try:
        value = json.loads((cache_dir() / "v1" / kind / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    _MEMORY[memory_key] = value
    return value


def store(kind: str, key: str, value: Any, on_disk: bool) -> None:
    _MEMORY[f"{kind}/{key}"] = value
    if not on_disk:
        return
    folder = cache_dir() / "v1" / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(value, handle, ensure_ascii=False)
        os.replace(temporary, folder / f"{key}.json")
    except OSError:
        pass
