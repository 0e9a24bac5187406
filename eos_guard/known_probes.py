"""Probe results of widely used chat templates, shipped with eos-guard, so a cold check of such a template needs
no jinja2 (importing it and compiling the template cost more than the rest of a small check).

Most fine-tunes ship their base model's template byte for byte. ``data/known_probes.json`` holds, for each of
those templates (by the SHA-256 of its text), the names of the variables it reads and, for the values of those
variables and with or without tools, what each probe conversation rendered (template.render_outcomes). The
added tokens are not part of the key: template.select picks the token from the outcomes, as it does after a
render. ``scripts/known_probes.py`` generates the file with eos-guard's own renderer from templates on disk
(the templates themselves are not shipped); tests/test_known_probes.py renders them again and compares.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

FORMAT = 2  # 2: an entry per line (dumps)
# The variables every probe sets itself; a special token of the same name is overridden, so it is not in the key.
PROBE_VARIABLES = frozenset({"messages", "add_generation_prompt", "documents", "tools"})

# The globals of eos-guard's render environment (jinja2's and transformers'), which jinja2.meta does not count among
# the variables a template reads: a special token of the same name hides the global in a real render
# (transformers passes the special tokens as the render's variables), so the shipped results, keyed without it, do
# not apply (helper-175: a token named "namespace" made a render fail that the shipped results passed).
# tests/test_known_probes.py compares it with the environment.
RENDER_GLOBALS = frozenset({"cycler", "dict", "joiner", "lipsum", "namespace", "range", "raise_exception",
                            "strftime_now"})

DATA_FILE = Path(__file__).parent / "data" / "known_probes.json"


@functools.lru_cache(maxsize=1024)  # asked twice per template (known, lookup); many folders share one template
def template_hash(source: str) -> str:
    from .cache import sha256_hex

    return sha256_hex(source.encode("utf-8", "surrogatepass"))


def result_key(uses: list[str], special_tokens: dict[str, str], with_tools: bool) -> str:
    """The values of the variables a template reads (None where unset), with the tools flag."""
    return json.dumps([with_tools, [special_tokens.get(name) for name in uses]], ensure_ascii=False)


def dumps(data: dict[str, Any]) -> str:
    """The data file's text (scripts/known_probes.py writes it): JSON, with each template's entry on a line of its
    own, ``"<hash>": {...}``, so that a check parses only the entry of its template (:func:`_entry`); a newline
    inside a JSON string is written as ``\\n``, so a line starts only where an entry does."""
    head = {key: value for key, value in data.items() if key != "templates"}
    entries = ",\n".join(f"{json.dumps(digest)}: {json.dumps(entry, ensure_ascii=False)}"
                          for digest, entry in data["templates"].items())
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "templates": {\n' + entries + "\n}}\n"


def _data() -> dict[str, Any]:
    """Every shipped entry, by template hash (the tests and scripts/known_probes.py; a check reads one)."""
    try:
        loaded = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded.get("templates", {}) if loaded.get("format") == FORMAT else {}


_TEXT: bytes | None = None
_ENTRIES: dict[str, dict[str, Any] | None] = {}


def _entry(digest: str) -> dict[str, Any] | None:
    """The shipped entry of the template whose hash is ``digest``, parsed from its own line of the data file (the
    whole file, 96 KB, took half a millisecond to parse: a fifth of a small check's own work)."""
    global _TEXT
    if digest in _ENTRIES:
        return _ENTRIES[digest]
    if _TEXT is None:
        try:  # beside this module (importlib.resources would cost more to import than the read)
            with open(DATA_FILE, "rb") as handle:
                text = handle.read()
            head = json.loads(text[:text.index(b"\n")] + b"}}")  # '{"format": 2, ..., "templates": {' closed
        except (OSError, ValueError):
            text, head = b"", {}
        _TEXT = text if isinstance(head, dict) and head.get("format") == FORMAT else b""
    entry = None
    start = _TEXT.find(b'\n"' + digest.encode("ascii") + b'": ')
    if start >= 0:
        begin = start + len(digest) + 5
        line = _TEXT[begin:_TEXT.find(b"\n", begin)].rstrip(b"\r").removesuffix(b",")  # a CRLF checkout too
        try:
            entry = json.loads(line.decode("utf-8"))
        except ValueError:
            entry = None
    _ENTRIES[digest] = entry if isinstance(entry, dict) else None
    return _ENTRIES[digest]


def known(source: str) -> bool:
    """Whether ``source`` is one of the shipped templates (some of its results may still need a render)."""
    return _entry(template_hash(source)) is not None


def lookup(source: str, special_tokens: dict[str, str], with_tools: bool) -> list[tuple[str, str, str]] | None:
    """The render outcomes of ``source`` with these special tokens, or None when the template is not known, or
    when a token is named like a global of the render (RENDER_GLOBALS)."""
    if not RENDER_GLOBALS.isdisjoint(special_tokens):
        return None
    entry = _entry(template_hash(source))
    if entry is None:
        return None
    outcomes = entry["results"].get(result_key(entry["uses"], special_tokens, with_tools))
    return [tuple(item) for item in outcomes] if outcomes is not None else None
