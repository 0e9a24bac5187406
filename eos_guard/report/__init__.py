"""Reporters render one Report; they compute nothing. Registered by format name."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from ..results import Report

Reporter = Callable[["Report"], str]

# format name -> (module, function) that writes it
_FORMATS = {"text": ("text", "render"), "concise": ("text", "concise"), "json": ("json_v1", "render"),
            "github": ("github", "render"), "sarif": ("sarif", "render")}


class _Reporters(Mapping):
    """Format name -> render function; a format's module is imported only when a run asks for that format."""

    def __getitem__(self, name: str) -> Reporter:
        module, function = _FORMATS[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), function)

    def __iter__(self) -> Iterator[str]:
        return iter(_FORMATS)

    def __len__(self) -> int:
        return len(_FORMATS)


REPORTERS: Mapping[str, Reporter] = _Reporters()
