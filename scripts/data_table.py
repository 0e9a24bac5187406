"""Writes a table of eos_guard/data, as every script here does: indented JSON, one line to stderr saying what."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "eos_guard" / "data"


def arguments(argv: list[str], count: int, doc: str | None) -> list[str]:
    """The script's ``count`` arguments, or its usage line (the docstring's second paragraph) and exit 2."""
    if len(argv) != count:
        raise SystemExit((doc or "").split("\n\n")[1])
    return argv


def write(name: str, data: dict, count: str = "", what: str = "") -> int:
    """Write ``data`` to eos_guard/data/``name`` and say so, with the length of ``data[count]`` as ``what``."""
    path = DATA / name
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}" + (f": {len(data[count])} {what}" if count else ""), file=sys.stderr)
    return 0
