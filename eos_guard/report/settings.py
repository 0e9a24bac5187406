"""``--show-settings``: the settings a check of the PATHs takes, as text a settings file could hold, or as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import display_path, path_field
from .escape import json_text, no_workflow_commands, printable

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


def render(values: dict[str, Any], source: Path | None, options: list[str], baseline: str | None,
           source_has_settings: bool = True) -> str:
    """One ``key: value`` line per setting, each value in JSON's flow form, which YAML reads too: the lines below
    the comments are an ``.eos-guard.yaml`` with the same settings. ``source`` is the settings file (None: none was
    found), ``options`` the command-line options that changed the settings; ``source_has_settings`` False: a
    pyproject.toml given with --config that holds no ``[tool.eos-guard]`` table."""
    table = (" [tool.eos-guard]" if source_has_settings else " (no [tool.eos-guard] table: the defaults)") \
        if source is not None and source.name == "pyproject.toml" else ""
    where = f"{printable(display_path(source))}{table}" if source is not None else \
        "none read (--isolated)" if "--isolated" in options else "none found (the defaults)"
    lines = [f"# settings file: {where}"]
    if options:
        lines.append(f"# changed by the options: {', '.join(options)}")
    # JSON escapes control characters; printable the other characters a terminal must not get (a bidirectional
    # override, a lone surrogate) and a GitHub runner's "##[" command form, as escapes YAML's quoted strings read
    lines += [printable(f"{key}: {_flow(value)}") for key, value in values.items()]
    lines.append("# --baseline (the revision EOS015 compares with, in a git work tree; not a settings key): "
                 + (printable(baseline) if baseline is not None else "none"))
    return no_workflow_commands("\n".join(lines)) + "\n"


def _flow(value: Any) -> str:
    """``value`` in JSON's form, but a number with a decimal point, never an exponent: YAML reads ``1e-05`` as a
    string (helper-123: a template-timeout of 0.00001 did not read back)."""
    if isinstance(value, float):
        from decimal import Decimal

        text = format(Decimal(repr(value)), "f")
        return text if "." in text else text + ".0"
    return json.dumps(value, ensure_ascii=False)


def render_json(values: dict[str, Any], source: Path | None, options: list[str], baseline: str | None) -> str:
    return json_text({"version": 1, "settings_file": path_field(source) if source is not None else None,
                      "options": options, "settings": values, "baseline": baseline})
