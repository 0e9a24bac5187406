"""Reporters render one Report; they compute nothing. Registered by format name."""

from __future__ import annotations

from typing import Callable

from ..results import Report
from . import github, json_v1, sarif, text

Reporter = Callable[[Report], str]

REPORTERS: dict[str, Reporter] = {
    "text": text.render,
    "concise": text.concise,
    "json": json_v1.render,
    "github": github.render,
    "sarif": sarif.render,
}
