"""eos-guard: check that a model folder's chat template, tokenizer and generation config agree on when to stop.

Public API::

    report = eos_guard.check("path/to/model")
    for finding in report.findings():
        print(finding.code, finding.message)
"""

from __future__ import annotations

import os
from os import PathLike
from pathlib import Path
from typing import Union

from .align import align
from .findings import Finding, Severity
from .results import Report
from .version import __version__

__all__ = ["Finding", "Report", "Severity", "align", "check", "fix", "__version__"]


def check(*paths: Union[str, PathLike], config: Union[str, PathLike, None] = None) -> Report:
    """Check model folders (or folders above them) and return the findings with the resolved values.

    ``config`` names a settings file; without it the nearest ``.eos-guard.yaml`` or ``[tool.eos-guard]`` above
    the first path applies. Raises :class:`eos_guard.errors.InputError`, whose message starts with the path, for
    a missing path, a folder without model folders, or bad settings; a malformed model file is reported in
    ``Report.errors`` instead.
    """
    from . import config as settings
    from .pipeline import check_paths

    targets = [os.fspath(p) for p in paths] or ["."]
    local = [Path(t) for t in targets if t and not t.startswith("hf://")]
    loaded = settings.load(Path(config) if config is not None else None, local[0] if local else Path("."))
    report = check_paths(targets, loaded)
    if report.problems:
        raise report.problems[0]
    return report


def fix(*paths: Union[str, PathLike], config: Union[str, PathLike, None] = None, unsafe: bool = False,
        write: bool = True) -> list:
    """Make the folders' files agree (see docs/fix.md) and return the :class:`eos_guard.fixes.FileChange` list.

    With ``write=False`` nothing is written: the changes are what ``--diff`` would show. Raises
    :class:`eos_guard.errors.InputError` as :func:`check` does.
    """
    from . import config as settings
    from .pipeline import fix_paths

    targets = [os.fspath(p) for p in paths] or ["."]
    loaded = settings.load(Path(config) if config is not None else None, Path(targets[0]))
    result = fix_paths(targets, loaded, unsafe=unsafe, write=write)
    if result.report.problems:
        raise result.report.problems[0]
    return result.changes
