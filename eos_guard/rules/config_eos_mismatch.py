from __future__ import annotations

from ..findings import Finding, Severity
from ..model_files import one_eos_type
from ..resolve import ResolvedModel
from .base import Options, Rule, describe_ids, message_end_eos

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class ConfigEosMismatch(Rule):
    """config.json's eos disagrees with the tokenizer's eos.

    ## What it detects
    A generation_config.json exists, and config.json's `eos_token_id` (top level, or in `text_config` and
    the other sub-configs) does not contain the tokenizer's eos id. Where there is no generation_config.json,
    config.json *is* the stop set and EOS001/EOS002 report it instead.

    ## Why it matters
    `generate()` falls back to config.json when generation_config.json is missing, the llama.cpp converter
    reads it, and so do tools that rebuild generation_config.json (mergekit, training scripts). A stale value
    here comes back the next time the folder is saved or merged.

    ## Remediation
    Set config.json's `eos_token_id` to include the tokenizer's eos id. A config class that takes one id (Inkling's,
    VibeVoice's: `eos_token_id: int`, where a list makes AutoConfig raise) keeps one: `--fix` leaves it, and the
    message says so. Where the eos is harmony's `<|end|>` in a vocabulary that also holds `<|return|>`
    and `<|call|>` (gpt-oss), it also ends the reasoning before every answer, and a stop id on it would end generation
    there: the finding points at `eos_token`, which is to be `<|return|>`, and `--fix` adds nothing (EOS001).
    """

    code = "EOS003"
    name = "config-eos-mismatch"
    severity = Severity.WARNING
    summary = "config.json's eos disagrees with the tokenizer's eos"
    needs_generation = True
    reads_generation_configs = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        eos, config = model.tokenizer_eos, model.config_eos
        if model.files.generation_config is None or config is None or not config.ids or config.where is None:
            return
        if eos is None or eos.id is None or not eos.in_vocabulary or eos.id in config.ids:
            return
        # a config class that takes one id (model_files.INT_EOS_MODEL_TYPES): a list would make AutoConfig raise
        kind = one_eos_type(config.where.document.data, config.where.keys[:-1])
        fix = f"its {kind} config class takes one id, so only a person can change it (set it to {eos.id} if that " \
            "is the eos the model was trained with)" if kind else f"add {eos.id}"
        place = config.where
        if model.turn_end_instead(eos.token):  # harmony's message end: the eos is what to change
            fix, place = message_end_eos(model, eos), eos.where or config.where
        yield self.finding(
            model,
            f"{config.where.describe()} {describe_ids(config.ids, model)} does not "
            f"include the tokenizer's eos '{eos.token}' ({eos.id}); {fix}",
            place)
