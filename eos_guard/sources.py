"""What the PATH arguments name: local files and folders, Hugging Face Hub repositories, GGUF files.

``hf://org/name[@revision]`` names a Hub repository (eos_guard/hub.py fetches only the small files eos-guard
reads); a path ending in ``.gguf`` (any case) that is no folder names a GGUF file (eos_guard/gguf_check.py reads
only its metadata); anything else is a local model folder, a folder above model folders, or a file inside a model
folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError
from .records import field, record

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterable, Union

HUB_SCHEME = "hf://"


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
        repo, _, revision = name.partition("@")
        parts = repo.split("/")
        if len(parts) != 2 or not all(parts) or any(p in (".", "..") or p.startswith("-") for p in parts):
            raise InputError(None, f"{text}: not a Hub repository name (expected org/name[@revision])")
        return cls(repo, revision or None)


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
        elif text.lower().endswith(".gguf") and not os.path.isdir(text):  # llama.cpp reads any name; a folder is one
            path = Path(text)
            if not path.is_file():
                raise InputError(path, "not a regular file" if os.path.exists(text) else "no such file")
            sources.gguf.append(path)
        else:
            sources.local.append(Path(text))
    return sources
