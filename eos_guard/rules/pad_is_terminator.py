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
    Collators that find padding by id mask it out of the loss (label -100): transformers'
    `DataCollatorForLanguageModeling` (`labels[labels == tokenizer.pad_token_id] = -100`), and scripts built on
    it. Every terminator in the training data is then masked too, so fine-tuning never teaches the model to stop,
    and the fine-tuned model runs on after its answers in every runtime. (TRL's current SFT collator pads the
    labels with -100 instead and keeps the terminator.)

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
        yield self.finding(model, f"the pad token '{pad}' is also the turn terminator: a collator that masks "
                                  "padding by id (transformers' DataCollatorForLanguageModeling) masks every "
                                  "terminator too, and fine-tuning never teaches the model to stop (EosGuardCallback "
                                  "checks the training batches: EOS023); before training, set pad_token to a token "
                                  "that ends nothing (a reserved or unused one)", where)
