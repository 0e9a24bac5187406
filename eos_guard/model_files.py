"""Finds model folders and reads each of their files once, keeping the text so values can be located.

A model folder is one that holds config.json, generation_config.json or tokenizer_config.json. Which chat
templates count follows transformers 5.x (``PreTrainedTokenizerBase._from_pretrained``):
chat_template.jinja and additional_chat_templates/*.jinja replace tokenizer_config.json's ``chat_template``
entirely; chat_template.json is read only by processors and is checked as a template of its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .errors import InputError
from .findings import Location
from .jsonspan import JsonDocument, KeyPath, NotRead, Where, read_text

MODEL_MARKERS = ("config.json", "generation_config.json", "tokenizer_config.json")
JSON_FILES = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
              "added_tokens.json", "tokenizer.json", "chat_template.json")
TEMPLATE_FILE = "chat_template.jinja"
TEMPLATE_DIR = "additional_chat_templates"
DEFAULT_MAX_BYTES = 100 * 1024 * 1024  # real tokenizer.json files reach ~35 MB
SKIPPED_DIRS = {"node_modules", "venv", "__pycache__", "site-packages"}


@dataclass(frozen=True)
class TemplateSource:
    """One chat template: its name, text, and where it is written."""

    name: str
    text: str
    path: Path
    document: JsonDocument | None = None  # the JSON file that holds it; None for a .jinja file
    keys: KeyPath = ()

    def location(self) -> Location:
        """Where a finding about the template points: its value in the JSON file, or the start of the .jinja."""
        if self.document is None:
            return Location(self.path, 1, 1, 1, 1)
        return Where(self.document, self.keys).location()


@dataclass
class ModelFiles:
    """The files of one model folder that eos-guard reads; ``None`` where a file does not exist."""

    folder: Path
    config: JsonDocument | None = None
    generation_config: JsonDocument | None = None
    tokenizer_config: JsonDocument | None = None
    special_tokens_map: JsonDocument | None = None
    added_tokens: JsonDocument | None = None
    tokenizer: JsonDocument | None = None
    processor_template: JsonDocument | None = None
    templates: dict[str, TemplateSource] = field(default_factory=dict)
    baseline: dict[str, JsonDocument] = field(default_factory=dict)  # file name -> its earlier version
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # files not read, and why (EOS018)
    max_bytes: int | None = field(default=DEFAULT_MAX_BYTES, repr=False)
    root: Path | None = field(default=None, repr=False)  # where symbolic links may point

    @classmethod
    def read(cls, folder: Path, baseline_texts: dict[Path, str] | None = None,
             max_bytes: int | None = DEFAULT_MAX_BYTES) -> ModelFiles:
        """Read every file the folder has; raises InputError for the first unreadable or malformed one.

        ``baseline_texts`` holds earlier versions of some files (from git); unparsable ones are ignored.
        Symbolic links that leave the repository, files that are not regular files, and files over
        ``max_bytes`` are not read: they are listed in ``skipped``.
        """
        files = cls(folder, max_bytes=max_bytes, root=trusted_root(folder))
        for path, text in (baseline_texts or {}).items():
            if path.parent == folder:
                try:
                    files.baseline[path.name] = JsonDocument(path, text)
                except InputError:
                    pass
        for name, attribute in zip(JSON_FILES, ("config", "generation_config", "tokenizer_config",
                                                "special_tokens_map", "added_tokens", "tokenizer",
                                                "processor_template")):
            path = folder / name
            if files._readable(path):
                try:
                    setattr(files, attribute, JsonDocument.read(path, lazy=name == "tokenizer.json",
                                                                max_bytes=max_bytes))
                except NotRead as exc:
                    files.skipped.append((path, str(exc)))
        files.templates = files._tokenizer_templates()
        if files.processor_template is not None:
            text = files.processor_template.get(("chat_template",))
            if isinstance(text, str):
                files.templates.setdefault("chat_template.json", TemplateSource(
                    "chat_template.json", text, files.processor_template.path, files.processor_template,
                    ("chat_template",)))
        return files

    def _readable(self, path: Path) -> bool:
        """Whether ``path`` exists and may be followed; a link out of the repository is listed as skipped."""
        if not os.path.lexists(path):
            return False
        if path.is_symlink():
            target = path.resolve()
            if not _is_within(target, self.root):
                self.skipped.append((path, f"is a symbolic link to {target}, outside {self.root}; not followed"))
                return False
        return True

    def _template_text(self, path: Path) -> str | None:
        if not self._readable(path):
            return None
        try:
            return read_text(path, self.max_bytes)
        except NotRead as exc:
            self.skipped.append((path, str(exc)))
            return None

    def _tokenizer_templates(self) -> dict[str, TemplateSource]:
        templates: dict[str, TemplateSource] = {}
        jinja = self.folder / TEMPLATE_FILE
        text = self._template_text(jinja) if os.path.lexists(jinja) else None
        if text is not None:
            templates["default"] = TemplateSource("default", text, jinja)
        extra = self.folder / TEMPLATE_DIR
        if extra.is_dir() and not extra.is_symlink():
            for path in sorted(extra.glob("*.jinja")):
                text = self._template_text(path)
                if text is not None:
                    templates[path.stem] = TemplateSource(path.stem, text, path)
        if templates or self.tokenizer_config is None:
            return templates
        value = self.tokenizer_config.get(("chat_template",))
        path = self.tokenizer_config.path
        if isinstance(value, str):
            templates["default"] = TemplateSource("default", value, path, self.tokenizer_config,
                                                  ("chat_template",))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict) and isinstance(item.get("name"), str) \
                        and isinstance(item.get("template"), str):
                    templates[item["name"]] = TemplateSource(item["name"], item["template"], path,
                                                             self.tokenizer_config, ("chat_template", index, "template"))
        return templates

    def documents(self) -> Iterator[JsonDocument]:
        for doc in (self.config, self.generation_config, self.tokenizer_config, self.special_tokens_map,
                    self.added_tokens, self.tokenizer, self.processor_template):
            if doc is not None:
                yield doc


def trusted_root(folder: Path) -> Path:
    """Where links may point: the git work tree that holds the folder, else the folder itself; for a Hugging Face
    cache snapshot (``models--org--name/snapshots/<rev>/``, whose files link to ``../../blobs/``), the repo folder."""
    folder = folder.resolve()
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith(("models--", "datasets--")):
        return folder.parent.parent
    for directory in (folder, *folder.parents):
        if (directory / ".git").exists():
            return directory
    return folder


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def is_model_folder(folder: Path) -> bool:
    return any((folder / name).is_file() for name in MODEL_MARKERS)


def find_model_folders(paths: Iterable[Path]) -> list[Path]:
    """Model folders named by ``paths``: folders searched recursively, files grouped by their folder.

    A file inside a model folder (as pre-commit passes them) stands for its folder, checked once.
    """
    found: dict[Path, None] = {}
    for path in paths:
        if not path.exists():
            raise InputError(path, "no such file or directory")
        if path.is_file():
            folder = path.parent
            if folder.name == TEMPLATE_DIR and not is_model_folder(folder):
                folder = folder.parent
            if is_model_folder(folder):
                found.setdefault(folder.resolve(), None)
            continue
        for folder in _walk(path):
            found.setdefault(folder.resolve(), None)
    return list(found)


def _walk(top: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                         and not (Path(root) / d / "pyvenv.cfg").exists())
        if any(name in files for name in MODEL_MARKERS):
            yield Path(root)
