from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class TemplateError(Rule):
    """The chat template cannot be checked: it fails on every probe conversation or exceeds the limits.

    ## What it detects
    eos-guard renders each template in a sandbox with probe conversations (`[user, assistant]`, with a system
    turn, with a following user turn, with content as a list of parts, with tools). This rule fires when
    every probe raises, when the template exceeds the time, output or memory limits (a loop, a huge `range`, a
    recursive macro, a string built to gigabytes; see docs/security.md), or when no render shows the
    assistant's answer.

    ## Why it matters
    The turn terminator cannot be found, so EOS001 cannot be checked; a template that always raises also
    fails in `apply_chat_template`.

    ## Remediation
    Fix the template; `template-timeout` and `template-max-output` in the configuration raise the limits.
    """

    code = "EOS014"
    name = "template-error"
    severity = Severity.WARNING
    summary = "the chat template fails on every probe or exceeds the limits"

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        for terminator in model.terminators:
            probe, name = terminator.probe, terminator.template.name
            if probe.limit_exceeded:
                message = f"the '{name}' chat template was stopped: {probe.limit_exceeded}"
            elif not probe.marker_seen and probe.errors:
                message = f"the '{name}' chat template failed on every probe conversation: {probe.errors[0]}"
            elif not probe.marker_seen:
                message = f"the '{name}' chat template never shows the assistant's answer"
            else:
                continue
            yield self.finding(model, message, terminator.template)
