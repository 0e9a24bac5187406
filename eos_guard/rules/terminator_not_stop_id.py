from __future__ import annotations

from ..findings import Finding, Severity
from ..model_files import PROCESSOR_TEMPLATE, TEMPLATE_FILE
from ..resolve import ResolvedModel, Terminator, Where
from ..runtimes import message_end_advice
from .base import (Options, Rule, add_to_stop_ids, checked_stop_ids, describe_ids, templates_doing,
                   where_stop_ids_are)

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class TerminatorNotStopId(Rule):
    """The chat template's turn terminator is not among the stop ids.

    ## What it detects
    The chat template ends every assistant turn with a token (`<|im_end|>`, `<|eot_id|>`, `<end_of_turn>`,
    `<|end|>`, `</s>`...), but that token's id is not in the `eos_token_id` that `generate()` and
    `pipeline()` stop on: generation_config.json's `eos_token_id` when that file exists, otherwise
    config.json's (top level, then `decoder`, `generator`, `text_config`). Where the template writes several
    tokens right after every answer (Command R7B's `<|END_RESPONSE|><|END_OF_TURN_TOKEN|>`), generation stops
    at the first of them that is a stop id, and the rule fires only when none is. Templates that end turns with
    the same token (Gemma 3 ships its template in tokenizer_config.json and chat_template.json) get one finding,
    naming them all. This is the check of transformers, the default of `--runtime` (`runtimes` in the
    configuration): a selection that leaves it out (`--runtime vllm`) turns the rule off, and EOS016 checks the
    runtimes selected. Where `generate()` passes the stop ids itself (Qwen3-Omni's `thinker_eos_token_id=151645`,
    BLIP's `text_config.sep_token_id`), generation_config.json does not set them: the finding is at config.json's
    `model_type`, and the caller passes the id (`--fix` writes nothing).

    ## Why it breaks generation
    The model emits the terminator at the end of its answer, transformers does not stop, and the model goes
    on to write the next turn itself until `max_new_tokens`. This is the bug eos-guard exists for: Llama 3
    Instruct at release, Qwen base models fine-tuned on ChatML, Gemma fine-tunes whose `[1, 107]` was
    collapsed to `1`, and TRL's `clone_chat_template` (1.16) from a model whose eos is not its turn terminator
    (Phi-4-mini, Phi-3, Gemma): it copies the template and the source tokenizer's eos (`<|endoftext|>`) alone into
    the configs, while the copied template ends turns with `<|end|>`.

    The files cannot show how the model was trained. Some trainers teach the tokenizer's eos after the terminator
    (LLaMA-Factory's `efficient_eos` templates, Gemma's among them: `data/processor/supervised.py`, ff6d4d12e,
    labels the eos where the next turn begins and after the last; OpenRLHF's SFT dataset appends it to every
    sample, `openrlhf/datasets/sft_dataset.py`, 3c3be623): such a model stops a few tokens late, on the eos,
    rather than running on. The fix is the same, and costs nothing where the model does stop.

    ## Remediation
    Add the terminator's id to `eos_token_id`, keeping the ids already there:
    `"eos_token_id": [151643, 151645]`. Where generation_config.json is not valid JSON, transformers reads
    config.json instead (the finding points there) and the message says to repair generation_config.json first.
    Where only chat_template.json ends turns with the missing id and a chat_template.jinja that a stop id ends sits
    beside it, the message offers deleting chat_template.json instead: it is an older save of the processor's
    template (transformers 5 saves it to chat_template.jinja), which the processor still reads first.

    Not where the template ends the final answer with harmony's `<|end|>` in a vocabulary that also holds
    `<|return|>` and `<|call|>` (gpt-oss; Unsloth's gpt-oss template does this): `<|end|>` also ends the
    reasoning message before every answer, and a stop id on it would end generation there, before the answer.
    The finding then points at the template, which is to end the final answer with `<|return|>` as OpenAI's
    does, and `--fix` adds nothing (llama.cpp drops `<|end|>` from its stop set for such vocabularies, for the
    same reason).
    """

    code = "EOS001"
    name = "terminator-not-stop-id"
    severity = Severity.ERROR
    summary = "the chat template's turn terminator is not among the stop ids"
    needs_generation = True
    checks_runtimes = ("transformers",)
    reads_generation_configs = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        if model.stop.argument is not None:
            yield from self._argument_lacks_terminator(model)
            return
        stop = checked_stop_ids(model)
        if stop is None:
            return
        # one finding per missing id: the templates that end turns with it (Gemma 3 ships the same one in
        # tokenizer_config.json and chat_template.json) all point at the same eos_token_id, with the same change
        templates: dict[int, list[str]] = {}
        firsts: dict[int, Terminator] = {}
        for terminator in model.terminators:
            if terminator.id is None or terminator.id in stop.ids:
                continue
            templates.setdefault(terminator.id, []).append(terminator.template.name)
            firsts.setdefault(terminator.id, terminator)
        for token_id, names in templates.items():
            which = templates_doing(names, "ends", "end")
            first = firsts[token_id]
            said = (f"{which} assistant turns with '{first.token}' ({token_id}), but generate() stops only on "
                    f"{describe_ids(stop.ids, model)} ({where_stop_ids_are(model)})")
            if model.turn_end_instead(first.token):  # harmony's message end: the template is what to change
                yield self.finding(model, f"{said}; {message_end_advice(model, first)}", first.template)
                continue
            yield self.finding(model, f"{said}; {add_to_stop_ids(model, f'add {token_id}')}"
                                      f"{_or_delete_stale(model, names, stop.ids)}", stop.where)

    def _argument_lacks_terminator(self, model: ResolvedModel) -> Iterator[Finding]:
        """generate() passes the stop ids itself (Qwen3-Omni's thinker_eos_token_id default, BLIP's
        text_config.sep_token_id): the finding is at config.json's model_type, which picks that class, and a caller
        fixes it (a separator id is no list to add to)."""
        stop, config = model.stop, model.files.config
        if config is None:
            return
        missing = {t.id: t for t in model.terminators if t.id is not None and t.id not in stop.ids}
        for token_id, terminator in missing.items():
            which = templates_doing([t.template.name for t in model.terminators if t.id == token_id], "ends", "end")
            yield self.finding(
                model,
                f"{which} assistant turns with '{terminator.token}' ({token_id}), but generate() stops only on "
                f"{describe_ids(stop.ids, model)} ({stop.passed_from}); pass {token_id} in {stop.argument} when "
                "calling generate()",
                Where(config, ("model_type",)))


def _or_delete_stale(model: ResolvedModel, names: list[str], stop_ids: tuple[int, ...]) -> str:
    """The other way out where only chat_template.json ends turns with the missing id and chat_template.jinja's
    template, which a stop id ends, sits beside it: an older save of the processor's template, which its processor
    reads instead of the .jinja file transformers 5 saves it to (helper-185's stale file); else ""."""
    default = model.terminator
    if names != [PROCESSOR_TEMPLATE] or default is None or default.template.path.name != TEMPLATE_FILE \
            or default.id not in stop_ids:
        return ""
    return (f", or delete {PROCESSOR_TEMPLATE}: the processor reads it instead of {TEMPLATE_FILE} (whose template "
            f"ends turns with '{default.token}'), which transformers 5 saves the processor's template to")

