"""Reporters render one Report; they compute nothing. Registered by format name."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..results import Report

Reporter = Callable[["Report"], str]

# format name -> the module whose render() writes it
_MODULES = {"text": "text", "json": "json_v1", "github": "github", "sarif": "sarif"}


class _Reporters(Mapping):
    """Format name -> render function; a format's module is imported only when a run asks for that format."""

    def __getitem__(self, name: str) -> Reporter:
        return importlib.import_module(f"{__name__}.{_MODULES[name]}").render

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


REPORTERS: Mapping[str, Reporter] = _Reporters()
