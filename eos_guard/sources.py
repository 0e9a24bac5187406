"""What the PATH arguments name: local files and folders, Hugging Face Hub repositories, GGUF files.

``hf://org/name[@revision]`` names a Hub repository (eos_guard/hub.py fetches only the small files eos-guard
reads); a path ending in ``.gguf`` (any case) that is no folder names a GGUF file (eos_guard/gguf_check.py reads
only its metadata); anything else is a local model folder, a folder above model folders, or a file inside a model
folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

from .errors import InputError, shown
from .model_files import LEADS_NOWHERE, is_gguf_name
from .records import field, record

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterable, Union

HUB_SCHEME = "hf://"
# A Hub repository as people paste it: https://huggingface.co/ORG/NAME (/tree/REV, /blob/REV/FILE), hf:ORG/NAME,
# ORG/NAME@REV; the address's own pages (datasets/, spaces/, ...) are no model repository.
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
# (patterns, not compiled ones: only a PATH that does not exist compiles them)
_HUB_ADDRESS = r"(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/|hf:/{0,2}"
_HUB_REPO = rf"({_NAME}/{_NAME})(?:@([^\s@/]+)|/(?:tree|blob|resolve)/([^/]+)(?:/.*)?)?"
_HUB_PAGES = {"datasets", "spaces", "models", "collections", "docs", "organizations", "papers", "blog", "settings"}


@record(frozen=True)
class HubRef:
    repo: str                   # "org/name"
    revision: str | None = None

    @property
    def label(self) -> str:
        return f"{self.repo}@{self.revision}" if self.revision else self.repo

    @classmethod
    def parse(cls, text: str) -> HubRef:
        name = text[len(HUB_SCHEME):] if text.startswith(HUB_SCHEME) else text
        repo, at, revision = name.partition("@")
        parts = repo.split("/")
        if len(parts) != 2 or not all(parts) or any(p in (".", "..") or p.startswith("-") for p in parts):
            meant = hub_spelling(name)
            hint = f"; did you mean {meant}?" if meant else ""
            raise InputError(None, f"{shown(text)}: not a Hub repository name (expected org/name[@revision]){hint}")
        if at and not revision:  # a revision variable that expanded to nothing: not the default branch, silently
            bare = HUB_SCHEME + repo if text.startswith(HUB_SCHEME) else repo
            raise InputError(None, f"{shown(text)}: no revision after '@' (a variable that expanded to nothing?); "
                                   f"name one, or write {shown(bare)} for the default branch")
        if revision and not _is_revision(revision):
            raise InputError(None, f"{shown(text)}: {shown(revision)} is not a revision (a branch, a tag or a commit; "
                                   "git's rules for a ref name)")
        return cls(repo, revision or None)


def _is_revision(text: str) -> bool:
    """Whether a revision is a name git allows for a ref (``git check-ref-format``: no ``..``, no control character,
    space or one of ``~^:?*[\\``, no ``@{``, not ``@`` alone, no component starting with ``.`` or ending with ``.lock``,
    no empty component), as a branch (``main``, ``refs/pr/1``), a tag or a commit id is. huggingface_hub writes
    ``refs/<revision>`` in the cache with the commit a revision resolved to: a revision that climbs out with ``..``
    wrote that file outside the cache (helper-136, with an endpoint that answered it)."""
    if text == "@" or "@{" in text or ".." in text or text.endswith((".", "/")) or text.startswith(("/", "-")) or \
            any(ord(c) < 33 or ord(c) == 127 or c in "~^:?*[\\" for c in text):
        return False
    return all(part and not part.startswith(".") and not part.endswith(".lock") for part in text.split("/"))


def hub_spelling(text: str) -> str | None:
    """``hf://org/name[@revision]`` for a text that reads as a Hub repository written another way (a huggingface.co
    address, ``hf:org/name``, a bare ``org/name`` whose ``org`` is no local file), else None: the hint of the
    error a PATH that does not exist gets."""
    address = re.match(_HUB_ADDRESS, text)
    rest = text[address.end():] if address else text
    match = re.fullmatch(_HUB_REPO, rest)
    if match is None or (not address and os.path.lexists(rest.split("/", 1)[0])):
        return None
    repo, revision = match.group(1), match.group(2) or (match.group(3) and unquote(match.group(3)))
    if repo.split("/")[0] in _HUB_PAGES or any(part in (".", "..") for part in repo.split("/")):
        return None
    return f"{HUB_SCHEME}{repo}@{revision}" if revision else f"{HUB_SCHEME}{repo}"


@record
class Sources:
    local: list[Path] = field(default_factory=list)
    hub: list[HubRef] = field(default_factory=list)
    gguf: list[Path] = field(default_factory=list)


def classify(paths: Iterable[Union[str, Path]]) -> Sources:
    sources = Sources()
    for item in paths:
        text = str(item)
        if isinstance(item, str) and text.startswith(HUB_SCHEME):
            sources.hub.append(HubRef.parse(text))
        elif is_gguf_name(text) and not os.path.isdir(text):  # llama.cpp reads any name; a folder is one
            path = Path(text)
            if not path.is_file():
                raise InputError(path, "not a regular file" if os.path.exists(text) else
                                 LEADS_NOWHERE if os.path.islink(text) else "no such file")
            sources.gguf.append(path)
        else:
            if text == "-" and not os.path.lexists(text):  # a Unix tool's "standard input"
                raise InputError(None, f"{shown(text)}: no such file or directory (eos-guard reads model folders, not standard "
                                       "input: name the folder, or its files)")
            meant = hub_spelling(text) if isinstance(item, str) and not os.path.lexists(text) else None
            if meant:  # Path() would also fold an address's "//" into "/"
                raise InputError(None, f"{shown(text)}: no such file or directory; did you mean {meant}?")
            if (text.endswith(("/", os.sep)) or os.path.basename(text) in (".", "..")) and not os.path.isdir(text):
                # Path() drops a final slash or '.', which name a folder: "config.json/" is no file, as ls says
                if os.path.exists(os.path.normpath(text)):
                    raise InputError(None, f"{shown(text)}: not a folder (a file, named as a folder)")
                raise InputError(None, f"{shown(text)}: no such file or directory")
            sources.local.append(Path(text))
    return sources
