from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from ..template import BUILTIN_TOOLS_VARIABLE, call_end, ends_call_unseen
from .base import (Options, Rule, add_to_stop_ids, checked_stop_ids, describe_ids, templates_doing,
                   where_stop_ids_are)

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Collection, Iterator


class ToolCallNotStopId(Rule):
    """Answers stop, but a turn that calls a tool does not: no token the template writes after a call is a stop id.

    ## What it detects
    The chat template ends an assistant turn that calls a tool with another token than an answer: gpt-oss's
    `<|call|>` (where answers end with `<|return|>`), GLM-4.5's `<|observation|>` (the tool turn's header, where
    answers end at `<|user|>`). eos-guard renders a conversation in which the assistant calls a sample tool and
    the tool answers (the arguments an object, else a JSON string; the tools listed as transformers describes them,
    else, when the template fails on that form, not at all: Apertus' reads each tool's `description` at its top
    level), and reads the added tokens the template writes between the call's argument and the tool's answer: the
    end of the calling turn, then the tool turn's header. Where the template's text names `tool_responses` (Gemma
    4's, which takes a tool's result in the calling message, the format the model is trained on), the result is
    given so first: after a call Gemma 4 writes `<|tool_response>` (50), which its releases list
    (`[1, 106, 50]`), where an OpenAI-style `tool` message would get the `<turn|>` that ends answers.
    Where the template's text names `builtin_tools` (Meta's Llama 3.1 and 3.3 Instruct templates; 3.2's does not),
    the call is rendered again with the tool listed there, as `apply_chat_template(..., builtin_tools=[...])`
    renders it: their "ipython" mode ends that turn with `<|eom_id|>` (128008), where answers and other calls end
    with `<|eot_id|>`.
    The rule fires when generate()'s stop ids (as for EOS001) hold the token that ends answers but none of those.
    A template that renders no tool call (it has no tool support, or refuses a `tool` message) is not checked, and
    a template whose answers do not stop gets EOS001 instead. Nor is one that writes no end for a calling turn at
    all: the first token after the call opens the next turn (`<|im_start|>`, `<|START_OF_TURN_TOKEN|>`,
    `<|start_header_id|>`, `<start_of_turn>`, `<|start|>`) and none is a known turn end, as Command R+'s `tool_use`
    template writes its action and then the tool result's turn; which token the model ends such a turn with is not
    shown, and `eos-guard explain` cannot tell whether calls stop.

    ## Why it breaks generation
    The model writes the call and the token that ends the turn, and generation goes on: the model writes the
    tool turn's header and makes up the tool's answer itself, so an agent acts on an invented result, or the
    answer runs to `max_new_tokens`. gpt-oss was first published with `"eos_token_id": [200002, 199999]`
    (`<|return|>`, `<|endoftext|>`) in generation_config.json; `<|call|>` (200012) was added later. Llama 3.1
    Instruct lists `[128001, 128008, 128009]`; a fine-tune saved with the alignment-handbook's
    `generation_config.eos_token_id = tokenizer.eos_token_id` keeps only 128009, and its built-in tool calls run on.

    ## Remediation
    Add the id of the token that ends a calling turn to `eos_token_id`, keeping the ids already there:
    `"eos_token_id": [200002, 199999, 200012]`. The finding names it where it is a known turn end (`<|call|>`,
    `<|eom_id|>`, Llama 4's `<|eom|>`, `<|observation|>`, `<|tool_response>`, `<|tools_suffix|>`...) and the model
    can emit it, and `--fix` adds that id (also when it fixes EOS001, so that one run is enough); where none is,
    choose it yourself.
    """

    code = "EOS030"
    name = "tool-call-not-stop-id"
    severity = Severity.WARNING
    summary = "a turn that calls a tool ends with no stop id, while answers stop"
    needs_generation = True
    checks_runtimes = ("transformers",)
    reads_generation_configs = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        stop = checked_stop_ids(model)
        if stop is None:
            return
        for (builtin, after), names in calls_not_stopping(model).items():
            which = templates_doing(names, "writes", "write")
            written = ", ".join(_shown(model, token) for token in after)
            end, end_id = calling_turn_end(model, after)
            change = add_to_stop_ids(model, f"add {end_id} ('{end}' ends them)") if end_id is not None else \
                "add the id of the token that ends them"
            # the tokens from the call's arguments on: a template's own closing tags ('</tool_call>') come first
            call, turns = ("a tool call", "turns that call a tool") if not builtin else (
                f"a call to a built-in tool (one listed in {BUILTIN_TOOLS_VARIABLE}, which the template reads)",
                "turns that call a built-in tool")
            yield self.finding(
                model,
                f"after the arguments of {call}, {which} {written}, but generate() stops only on "
                f"{describe_ids(stop.ids, model)} "
                f"({where_stop_ids_are(model)}): {turns} run on; {change}",
                stop.where)


def calls_not_stopping(model: ResolvedModel,
                       stop: Collection[int] | None = None) -> dict[tuple[bool, tuple[str, ...]], list[str]]:
    """The tokens templates write after a tool call (``Probe.calls``: built in or not, the tokens) where none is a
    stop id while the token that ends answers is, each with the names of the templates that write them (one finding
    each, as EOS001); ``stop``: other stop ids than the folder's (those a fix will leave)."""
    stop = model.stop.ids if stop is None else stop
    templates: dict[tuple[bool, tuple[str, ...]], list[str]] = {}
    for terminator in model.terminators:
        if terminator.id is None or terminator.id not in stop:
            continue  # answers do not stop either (EOS001)
        for builtin, after in terminator.probe.calls():
            if ends_call_unseen(after):
                continue  # the template writes no end for the calling turn (Command R+'s tool_use)
            if after and not any(model.vocab.id_of(token) in stop for token in after):
                templates.setdefault((builtin, tuple(after)), []).append(terminator.template.name)
    return templates


def calling_turn_end(model: ResolvedModel, after: tuple[str, ...]) -> tuple[str | None, int | None]:
    """The token that ends a turn calling a tool (template.call_end) and its id, where it is one the model can emit:
    what the finding advises and ``--fix`` adds."""
    end = call_end(after)
    end_id = model.vocab.id_of(end) if end is not None else None
    if end_id is None or not model.can_emit(end_id):
        return end, None  # no id the model can emit (EOS006 and EOS005 say why)
    return end, end_id


def _shown(model: ResolvedModel, token: str) -> str:
    token_id = model.vocab.id_of(token)
    return f"'{token}' ({token_id})" if token_id is not None else f"'{token}'"
