from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class PadIsTerminator(Rule):
    """The pad token is the turn terminator.

    ## What it detects
    The tokenizer's `pad_token` is the same token that ends assistant turns in the chat template.

    ## Why it breaks generation
    Data collators mask pad positions out of the loss (label -100), and they find them by id: every
    terminator in the training data is masked too, so fine-tuning never teaches the model to stop.
    The fine-tuned model then runs on after its answers in every runtime.

    ## Severity
    Info by default: it does not change how a released model generates, and unmodified publisher releases
    (TinyLlama-Chat, Granite) have it. It matters when you train on the folder: `EosGuardCallback` reports
    it as a warning, and `severity: {pad-is-terminator: warning}` in the settings raises it for the CLI.

    ## Remediation
    Use a dedicated pad token (for ChatML models `<|endoftext|>` or an unused reserved token). Whether the
    collator really masks the terminator shows in the training batches: `EosGuardCallback` checks the first
    ones before the first optimizer step, and `eos_guard.check_batch` checks any batch (EOS023).
    """

    code = "EOS013"
    name = "pad-is-terminator"
    severity = Severity.INFO
    summary = "the pad token equals the turn terminator"
    needs_generation = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        pad = model.special_tokens.get("pad_token")
        where = model.special_where.get("pad_token")
        terminator = model.terminator
        if pad is None or where is None or terminator is None or terminator.token != pad:
            return
        yield self.finding(model, f"the pad token '{pad}' is also the turn terminator: collators mask it, so "
                                  "fine-tuning never teaches the model to stop (EosGuardCallback checks the training "
                                  "batches: EOS023)", where)
