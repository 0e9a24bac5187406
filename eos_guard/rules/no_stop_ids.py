from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel, generating_section
from .base import Options, Rule, describe_ids, ids_to_stop_on

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class NoStopIds(Rule):
    """There are no stop ids at all.

    ## What it detects
    generation_config.json exists without an `eos_token_id` (or with `null` or `[]`), or there is no
    generation_config.json and config.json has no `eos_token_id` at the top level nor in `decoder`,
    `generator` or `text_config`. For a model whose `generate()` runs the generate() of a model inside it
    (Qwen2.5-Omni's thinker, BLIP-2's language model), that model's section of config.json (`thinker_config`, or
    its `text_config`; BLIP-2's `text_config`) has
    no `eos_token_id`, or the section is missing or null: generation_config.json is not used.

    ## Why it breaks generation
    transformers never merges generation_config.json with config.json: a generation_config.json without
    `eos_token_id` means `generate()` has no stopping criterion on tokens and every answer runs to
    `max_new_tokens`, whatever config.json says.

    ## Remediation
    Add `"eos_token_id"` with the turn terminator and the tokenizer's eos to generation_config.json. The
    finding names those ids where the files give them (`add [32002 '<end_of_utterance>', 2 '</s>']`), and
    `--fix` writes them, with the token that ends a turn calling a tool where the template has one of its own
    (EOS030: gpt-oss's `<|call|>`).
    """

    code = "EOS004"
    name = "no-stop-ids"
    severity = Severity.ERROR
    summary = "no stop ids: generate() never stops on a token"
    needs_generation = True
    reads_generation_configs = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        stop = model.stop
        if stop.ids or stop.invalid or stop.where is None:
            return
        wanted = ids_to_stop_on(model)  # what --fix writes: the terminators, then the tokenizer's eos
        add = f"; add {describe_ids(wanted, model)}" if wanted else ""
        section = generating_section(model.files)
        if section is not None:  # Qwen2.5-Omni: generate() runs the thinker's, whose config comes from its section
            holds = "has no eos_token_id" if not stop.present else "has an empty eos_token_id"
            yield self.finding(
                model,
                f"config.json's {section} {holds} (nor its text_config), so generate(), which runs the generate() of "
                f"the model built from it, never stops on a token (generation_config.json is not used){add}",
                stop.where)
        elif model.files.generation_config is not None:
            why = "has an empty eos_token_id" if stop.present else "has no eos_token_id"
            yield self.finding(
                model,
                f"generation_config.json {why}, so generate() never stops on a token "
                f"(config.json's eos_token_id is not used when this file exists){add}", stop.where)
        else:
            yield self.finding(
                model,
                "config.json has no eos_token_id (top level, decoder, generator or text_config) and there is no "
                f"generation_config.json, so generate() never stops on a token{add}", stop.where)
