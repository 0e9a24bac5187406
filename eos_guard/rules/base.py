"""What every rule is: a stable code, a kebab-case name, a default severity, and a docstring that is its doc."""

from __future__ import annotations

from pathlib import Path

from ..findings import Finding, Location, Severity, quoted_list
from ..model_files import TemplateSource
from ..records import record
from ..resolve import ResolvedModel, Where

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

Place = Where | TemplateSource | Path


@record(frozen=True)
class Options:
    """Settings rules read: the runtimes whose failure to stop is an error, the revision EOS015 compares with."""

    runtimes: tuple[str, ...] = ("transformers",)
    baseline: str = "HEAD"


class Rule:
    """Subclasses set the metadata below and implement :meth:`check`; the docstring is the rule's page."""

    code: str = ""
    name: str = ""
    severity: Severity = Severity.ERROR
    summary: str = ""

    def run(self, subject: object, options: Options) -> Iterator[Finding]:
        """The findings on ``subject``, a resolved folder (a GGUF rule's: a GGUF file): the pipeline's one way to
        run any rule."""
        return self.check(subject, options)  # type: ignore[arg-type]

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        raise NotImplementedError

    def finding(self, model: ResolvedModel, message: str, place: Place,
                severity: Severity | None = None) -> Finding:
        return Finding(self.code, self.name, severity or self.severity, message, Location.of(place), model.folder)

    @classmethod
    def doc(cls) -> str:
        """The docstring without its indentation (``inspect.cleandoc``, without importing inspect)."""
        lines = (cls.__doc__ or "").expandtabs().splitlines()
        indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
        margin = min(indents, default=0)
        return "\n".join([lines[0].strip()] + [line[margin:].rstrip() for line in lines[1:]]).strip()


def describe_ids(ids: tuple[int, ...] | list[int], model: ResolvedModel) -> str:
    """``[151643 '<|endoftext|>']``-style list with token strings where the files say them."""
    def shown(token_id: int) -> str:
        text = token_text(model, token_id)
        return f"{token_id} '{text}'" if text else str(token_id)

    return quoted_list(ids, shown)


def token_text(model: ResolvedModel, token_id: int) -> str:
    return model.vocab.content_of(token_id) or ""


def where_stop_ids_are(model: ResolvedModel) -> str:
    stop = model.stop
    if stop.where is None:
        return "no file"
    return stop.where.describe()
