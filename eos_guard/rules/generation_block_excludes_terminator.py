from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class GenerationBlockExcludesTerminator(Rule):
    """The chat template's `{% generation %}` block ends before the token that ends assistant turns.

    ## What it detects
    The template marks what the assistant writes with `{% generation %}...{% endgeneration %}`, the span
    transformers' `apply_chat_template(..., return_assistant_tokens_mask=True)` returns as the assistant's tokens,
    and the block closes right after the answer's content, before the turn's terminator (`<|im_end|>`):
    LLaVA-OneVision's template as transformers' conversion script writes it
    (`models/llava_onevision/convert_llava_onevision_weights_to_hf.py`: a block around each text part,
    `{% generation %}{{ content['text'] }}{% endgeneration %}`, then `{{'<|im_end|>' + '\\n'}}` after the loop).
    eos-guard renders the template with the block's start and end marked and counts the tokens of the answer's
    terminator run inside it (`Probe.trained`): the rule fires when there is a block after the answer and it holds
    none of them.

    ## Why it breaks generation
    Assistant-only training (TRL's `assistant_only_loss=True`, or any trainer that builds its labels from the
    assistant mask) computes the loss on the block alone: the terminator is never a label, so the model never
    learns to emit it, and a fine-tune runs on whatever the stop ids are. TRL warns of the same when
    `assistant_only_loss` is set (`trl/chat_template_utils.py` `is_chat_template_stop_token_trained`, called by
    `trainer/sft_trainer.py`, f2cd57710: "the model may not learn to stop").
    Training on whole sequences, or with a template whose block holds the terminator (SmolLM3's), is not affected.

    ## Remediation
    Move `{% endgeneration %}` after the terminator (`{% generation %}{{ content }}<|im_end|>{% endgeneration %}`),
    or train on whole sequences. `--fix` does not edit templates.
    """

    code = "EOS032"
    name = "generation-block-excludes-terminator"
    severity = Severity.WARNING
    summary = "the template's {% generation %} block ends before the turn terminator"
    needs_generation = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        for terminator in model.terminators:
            if terminator.token is None or terminator.probe.trained != 0:
                continue  # no terminator, no block after the answer (None), or a block that holds it
            yield self.finding(
                model, f"the '{terminator.template.name}' chat template's {{% generation %}} block ends before "
                f"'{terminator.token}', which ends assistant turns: assistant-only training (the assistant mask of "
                "apply_chat_template, TRL's assistant_only_loss) never has it as a label, so the model never learns "
                "to stop; move {% endgeneration %} after it", terminator.template)
