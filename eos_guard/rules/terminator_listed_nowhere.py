from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import TEXT_SECTIONS, ResolvedModel
from ..runtimes.base import as_ids
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class TerminatorListedNowhere(Rule):
    """The turn terminator is not the tokenizer's eos and no config lists it: a base model's configs were kept.

    ## What it detects
    The chat template ends turns with a token that is not the tokenizer's eos, and neither
    generation_config.json nor config.json (at any level) lists its id. Not in a PEFT adapter's folder that holds
    neither file (`adapter_config.json` and the tokenizer files): its base model's configs give the stop ids (EOS027);
    nor in a folder of tokenizer files alone (a diffusers pipeline's `tokenizer/`), whose model's configs are
    elsewhere.
    Nor where generation_config.json cannot be read: it may list the id (EOS001 then says to repair it).

    ## Why it breaks generation
    This is the most common real cause of answers that never stop: a base model (Qwen2.5, Llama 3, Mistral)
    fine-tuned with a chat template (ChatML's `<|im_end|>`) whose configs still describe the base model.
    No runtime that reads the configs can stop on the terminator; only llama.cpp's list of known
    end-of-generation texts may rescue it. The finding points at the tokenizer's eos, the value that
    training code appends to every sample.

    ## Remediation
    Add the terminator's id to generation_config.json's `eos_token_id` (`eos-guard --fix`), and consider
    making it the tokenizer's eos (`eos-guard --fix --unsafe-fixes`), as TRL's `SFTConfig.eos_token` does.
    """

    code = "EOS017"
    name = "terminator-listed-nowhere"
    severity = Severity.WARNING
    summary = "the terminator is not the tokenizer's eos and no config lists it"
    needs_generation = True
    reads_generation_configs = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        terminator, eos = model.terminator, model.tokenizer_eos
        if terminator is None or terminator.id is None or eos is None or eos.token == terminator.token:
            return
        if model.turn_end_instead(terminator.token):  # harmony's message end: no config is to list it (EOS001 says so)
            return
        if model.files.configs_elsewhere or model.files.tokenizer_only:  # a PEFT adapter, tokenizer files alone:
            return  # the configs of the model they are used with may list it (docs/runtimes.md)
        if model.files.generation_config_error is not None:  # a generation_config.json not read may list it
            return
        listed = set(model.stop.ids)
        if model.config_eos is not None:
            listed |= set(model.config_eos.ids)
        config = model.files.config
        if config is not None and isinstance(config.data, dict):
            for sub in TEXT_SECTIONS:
                listed |= set(as_ids(config.get((sub, "eos_token_id"))))
        if terminator.id in listed:
            return
        place = eos.where or terminator.template
        # not where the tokenizer appends its eos to every input (T5): --unsafe-fixes keeps that eos
        making = "" if model.files.appends_eos else ", and consider making it the eos (--unsafe-fixes)"
        # the folder may have no generation_config.json yet: --fix then creates it (helper-156), from config.json
        # read (not one linked out of the repository: helper-209); not one that is there unread (a link out of the
        # repository, over its size limit: EOS018), which --fix leaves alone
        files = model.files
        there = files.generation_config is not None or files.generation_config_error is not None \
            or any(path.name == "generation_config.json" for path, _ in files.skipped)
        fix = "--fix" if there else "--fix creates the file" if model.generation_config_creatable else \
            "a new file, which --fix creates only from a config.json it reads"
        yield self.finding(model, f"the chat template ends turns with '{terminator.token}' ({terminator.id}), which is "
                                  f"not the tokenizer's eos '{eos.token}' and is listed nowhere, as when a base "
                                  "model's configs are kept after a chat fine-tune; list it in "
                                  f"generation_config.json's eos_token_id ({fix}){making}", place)
