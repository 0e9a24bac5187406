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

FORMAT = 1
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
_DATA: dict[str, Any] | None = None


@functools.lru_cache(maxsize=1024)  # asked twice per template (known, lookup); many folders share one template
def template_hash(source: str) -> str:
    from .cache import sha256_hex

    return sha256_hex(source.encode("utf-8", "surrogatepass"))


def result_key(uses: list[str], special_tokens: dict[str, str], with_tools: bool) -> str:
    """The values of the variables a template reads (None where unset), with the tools flag."""
    return json.dumps([with_tools, [special_tokens.get(name) for name in uses]], ensure_ascii=False)


def _data() -> dict[str, Any]:
    global _DATA
    if _DATA is None:
        try:  # beside this module (importlib.resources would cost more to import than the read)
            loaded = json.loads(DATA_FILE.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = {}
        _DATA = loaded.get("templates", {}) if loaded.get("format") == FORMAT else {}
    return _DATA


def known(source: str) -> bool:
    """Whether ``source`` is one of the shipped templates (some of its results may still need a render)."""
    return template_hash(source) in _data()


def lookup(source: str, special_tokens: dict[str, str], with_tools: bool) -> list[tuple[str, str, str]] | None:
    """The render outcomes of ``source`` with these special tokens, or None when the template is not known, or
    when a token is named like a global of the render (RENDER_GLOBALS)."""
    if not RENDER_GLOBALS.isdisjoint(special_tokens):
        return None
    entry = _data().get(template_hash(source))
    if entry is None:
        return None
    outcomes = entry["results"].get(result_key(entry["uses"], special_tokens, with_tools))
    return [tuple(item) for item in outcomes] if outcomes is not None else None
