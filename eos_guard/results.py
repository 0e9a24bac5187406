"""What one run found: a report per model folder or GGUF file (resolved values, findings, or the error that stopped
it), and per repository of a Hub audit. The pipeline fills these in; reporters and the API only read them."""

from __future__ import annotations

from pathlib import Path

from .errors import InputError
from .findings import Finding, Severity
from .records import field, record, replace

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:  # annotations only: ``import eos_guard`` stays light (these are all in lower layers)
    from typing import Any

    from .config_types import Config

    from .gguf_check import GgufModel
    from .resolve import ResolvedModel
    from .sources import HubRef


@record
class ModelReport:
    """One model folder's resolved values and findings, or the error that stopped it from being read.

    For a GGUF file, ``folder`` is the file, ``model`` is None and ``gguf`` holds what its metadata says.
    """

    folder: Path
    model: ResolvedModel | None = field(repr=False)  # its documents: print(report) shows the findings, not those
    findings: list[Finding]
    error: str | None = None
    gguf: GgufModel | None = None
    cause: InputError | None = None  # the error with its file and position, for annotations
    fixable: int = 0                 # files ``--fix`` would change in this folder
    unfetched: bool = False          # a Hub repository whose files could not be fetched: no folder was read
    trace: str = ""                  # the traceback of an internal error kept to this folder (shown with --verbose)
    not_read: str | None = None      # why a folder or GGUF file was not read at all (a link out of the repository)
    # the stat signatures of the files a check may read, taken before it read them (with keep_documents: --fix)
    inputs: dict[Path, tuple[int, ...] | None] | None = field(default=None, repr=False)
    # the folder's own settings where a settings file of its own governs it (ruff's nearest settings), else None:
    # the run's (``Report.runtimes`` and ``fail_on``)
    settings: Config | None = field(default=None, repr=False)


@record
class Report:
    """One run: a report per model folder, and what stopped a PATH from being checked.

    ``runtimes`` and ``fail_on`` are the run's settings the reporters show verdicts for; ``written`` lists the
    files ``--fix`` wrote before the folders were checked again.
    """

    models: list[ModelReport]
    problems: list[InputError] = field(default_factory=list)
    runtimes: tuple[str, ...] = ("transformers",)
    fail_on: Severity | None = Severity.ERROR
    written: list[Path] = field(default_factory=list)  # files --fix wrote, in order
    excluded: int = 0  # model folders the settings' exclude left out (said when nothing else was found)

    def findings(self) -> list[Finding]:
        """Every folder's findings, in folder order: a list, so ``len()`` and indexing work."""
        return [finding for model in self.models for finding in model.findings]

    @property
    def errors(self) -> list[str]:
        """One line each for every folder that could not be read and every PATH that could not be checked."""
        return [m.error for m in self.models if m.error] + [p.render() for p in self.problems]

    def causes(self) -> list[InputError]:
        """What stopped each folder or PATH from being checked, with its file and position where known (for the
        reporters that place it: GitHub annotations, SARIF notifications)."""
        return [m.cause or InputError(None, m.error) for m in self.models if m.error] + self.problems

    def count(self, at_least: Severity | str) -> int:
        """How many findings are at least this severe (``Severity.WARNING`` or ``"warning"``)."""
        floor = Severity.parse(at_least) if isinstance(at_least, str) else at_least
        if not isinstance(floor, int) or isinstance(floor, bool):  # None compared with a Severity (helper-209)
            raise TypeError(f"at_least must be a Severity or a severity's name, not {at_least!r}")
        return sum(1 for f in self.findings() if f.severity >= floor)

    def fail_on_of(self, model: ModelReport) -> Severity | None:
        """The lowest severity that makes this folder fail: its own settings', else the run's."""
        return model.settings.fail_on if model.settings is not None else self.fail_on

    def runtimes_of(self, model: ModelReport) -> tuple[str, ...]:
        """The runtimes whose failure to stop is an error in this folder: its own settings', else the run's."""
        return model.settings.runtimes if model.settings is not None else self.runtimes

    def fails(self, model: ModelReport) -> bool:
        """Whether a folder has a finding that reaches its ``fail_on``."""
        fail_on = self.fail_on_of(model)
        return fail_on is not None and any(f.severity >= fail_on for f in model.findings)

    def __str__(self) -> str:
        """``print(report)``: each finding as ``eos-guard --format concise`` prints it, then what could not be read,
        then how many folders were checked (the record's repr, ``repr(report)``, holds every resolved value)."""
        lines = [str(finding) for finding in self.findings()] + self.errors
        folders = sum(1 for m in self.models if m.model is not None)
        ggufs = sum(1 for m in self.models if m.gguf is not None)

        def counted(count: int, what: str) -> str:
            return f"{count} {what}{'s' if count != 1 else ''}"

        checked = [counted(folders, "model folder")] if folders or not ggufs else []
        checked += [counted(ggufs, "GGUF file")] if ggufs else []
        lines.append(f"{counted(len(self.findings()), 'finding')} in {' and '.join(checked)} checked")
        return "\n".join(lines)

    def only_failing(self) -> Report:
        """The same report with only the findings that reach ``fail_on`` (``--quiet``)."""
        models = [replace(m, findings=[f for f in m.findings if (fail_on := self.fail_on_of(m)) is not None
                                       and f.severity >= fail_on]) for m in self.models]
        return replace(self, models=models)


@record
class RepoResult:
    """One repository of ``--hub-list``: its findings (``model``), or why it could not be fetched or read
    (``failure``)."""

    ref: HubRef
    folder: Path | None = None  # the snapshot, named by its commit sha
    model: ModelReport | None = None  # findings and error only: see audit.fetch_and_check
    summary: list[dict[str, Any]] = field(default_factory=list)  # its entry of the JSON "models[]"
    failure: str | None = None
    verdict: str = "error"  # "pass", "fail" (a finding reaches fail-on) or "error" (not fetched, or unreadable)

    @property
    def commit(self) -> str | None:
        return self.folder.name if self.folder else None
