"""Findings: what a rule reports, with the place of the value to change. Reporters only render these."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Union

from .errors import InputError
from .model_files import TemplateSource

if TYPE_CHECKING:
    from .gguf_check import GgufModel
    from .resolve import ResolvedModel, Where


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use error, warning or info)") from None


@dataclass(frozen=True)
class Location:
    """1-based line and column of the start and end of the text a finding is about."""

    path: Path
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def of(cls, place: Union["Where", TemplateSource, Path]) -> Location:
        if isinstance(place, Path):
            return cls(place, 1, 1, 1, 1)
        if isinstance(place, TemplateSource):
            if place.document is None:
                return cls(place.path, 1, 1, 1, 1)
            from .resolve import Where
            return cls.of(Where(place.document, place.keys))
        span, _ = place.document.nearest_span(place.keys)
        doc = place.document
        line, column = doc.position(span.start)
        # A multi-line object is marked at its opening line only: annotations on whole files are noise.
        end_line, end_column = doc.position(span.end)
        if end_line != line:
            end_line, end_column = line, column + 1
        return cls(doc.path, line, column, end_line, end_column)


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    location: Location
    model: Path

    def sort_key(self) -> tuple:
        loc = self.location
        return (str(self.model), str(loc.path), loc.line, loc.column, self.code)


@dataclass
class ModelReport:
    """One model folder's resolved values and findings, or the error that stopped it from being read.

    For a GGUF file, ``folder`` is the file, ``model`` is None and ``gguf`` holds what its metadata says.
    """

    folder: Path
    model: "ResolvedModel | None"
    findings: list[Finding]
    error: str | None = None
    gguf: "GgufModel | None" = None
    cause: InputError | None = None  # the error with its file and position, for annotations
    fixable: int = 0                 # files ``--fix`` would change in this folder


@dataclass
class Report:
    """One run: a report per model folder, and what stopped a PATH from being checked.

    ``runtimes`` and ``fail_on`` are the run's settings the reporters show verdicts for; ``fixed`` lists the
    files ``--fix`` wrote before the folders were checked again.
    """

    models: list[ModelReport]
    problems: list[InputError] = field(default_factory=list)
    runtimes: tuple[str, ...] = ("transformers",)
    fail_on: Severity | None = Severity.ERROR
    fixed: list[Path] = field(default_factory=list)

    def findings(self) -> Iterator[Finding]:
        for model in self.models:
            yield from model.findings

    @property
    def errors(self) -> list[str]:
        """One line each for every folder that could not be read and every PATH that could not be checked."""
        return [m.error for m in self.models if m.error] + [p.render() for p in self.problems]

    def count(self, at_least: Severity) -> int:
        return sum(1 for f in self.findings() if f.severity >= at_least)

    def fails(self, model: ModelReport) -> bool:
        """Whether a folder has a finding that reaches ``fail_on``."""
        return self.fail_on is not None and any(f.severity >= self.fail_on for f in model.findings)

    def only_failing(self) -> Report:
        """The same report with only the findings that reach ``fail_on`` (``--quiet``)."""
        models = [dataclasses.replace(m, findings=[f for f in m.findings if self.fail_on is not None
                                                   and f.severity >= self.fail_on]) for m in self.models]
        return dataclasses.replace(self, models=models)
