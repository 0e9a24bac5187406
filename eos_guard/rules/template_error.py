from __future__ import annotations

from ..findings import Finding, Severity
from ..model_files import TEMPLATE_FILE, TEMPLATES_NOT_READ, is_processor_template
from ..resolve import ResolvedModel
from ..template import probe_problem
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
    assistant's answer. A variable the template needs from its caller and adds to text (fireworks-ai's
    firefunction-v2 writes the `functions` and `datetime` its users pass to `apply_chat_template`) is no failure:
    where jinja2 says "'functions' is undefined", the probe renders again with that name an empty string, up to
    eight names (never a special token's: `bos_token` comes from the tokenizer, and transformers fails without it
    too), and shows the first error if that does not help. It also fires when the tokenizer's templates
    are all named and none is `default`:
    `additional_chat_templates/*.jinja` without a `chat_template.jinja` (those files replace tokenizer_config.json's
    `chat_template` entirely), or a `chat_template` list without a `default` entry. transformers 5.24 then keeps
    them as a dict, and `apply_chat_template` without tools raises "This model has multiple chat templates with no
    default specified!" (`tokenization_utils_base.py`, `_from_pretrained` lines 1822-1839 and
    `get_chat_template` lines 3361-3376); a call with tools uses `tool_use` when there is one. eos-guard checks
    the first named template as the one chats use. And it fires for a tokenizer_config.json `chat_template`
    that `apply_chat_template` cannot use: a number or boolean, an empty list or object, or a named template that
    is not a string (transformers keeps an object of named templates as it is, and a list of `{"name",
    "template"}` objects as such an object). A list item that is not such an object is no finding but an error
    (exit 2): transformers cannot load the tokenizer at all. The same holds for a processor's template
    (chat_template.json's `chat_template`, or processor_config.json's): the processor keeps a value that is not a
    string as it is, and its `apply_chat_template` raises TypeError on it.

    It fires, too, where every probe conversation without tools raises on the default template (the one a chat
    without tools renders) and the template renders only when tools are passed: transformers passes `tools=None`
    to a chat without tools, so a template that tests `tools is defined` and then iterates `tools` (llama.cpp's
    Phi-4-mini tools template) raises TypeError on every such chat; eos-guard checks the terminator from the
    renders with tools.

    ## Why it matters
    The turn terminator cannot be found, so EOS001 cannot be checked; a template that always raises also
    fails in `apply_chat_template`, and without a default template every chat without tools fails there
    (`pipeline("text-generation")` with messages included).

    ## Remediation
    Fix the template; `template-timeout` and `template-max-output` in the configuration raise the limits. Name
    one template `default` (write it to `chat_template.jinja`).
    """

    code = "EOS014"
    name = "template-error"
    severity = Severity.WARNING
    summary = "the chat template fails on every probe or exceeds the limits"

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        named = [source for name, source in model.files.templates.items() if not is_processor_template(name)]
        # a chat_template.jinja or template list eos-guard did not read (EOS018) may hold the default
        unread = any(path.name == TEMPLATE_FILE or TEMPLATES_NOT_READ in reason for path, reason in model.files.skipped)
        # a "default" that is no string is its own finding below, not a missing default
        unusable_default = any(name == "default" for name, _, _ in model.files.template_problems)
        if named and not unread and not unusable_default and all(source.name != "default" for source in named):
            shown = ", ".join(f"'{source.name}'" for source in named)
            yield self.finding(model, f"no chat template is the default one (the tokenizer's are {shown}): "
                                      "apply_chat_template without tools raises \"This model has multiple chat "
                                      "templates with no default specified!\"", named[0])
        for _, message, place in model.files.template_problems:
            yield self.finding(model, message, place)
        for terminator in model.terminators:
            problem = probe_problem(terminator.probe)
            if problem is not None:
                yield self.finding(model, f"the '{terminator.template.name}' chat template {problem}",
                                   terminator.template)
            elif terminator.probe.plain_error is not None and "default" in (terminator.template.name,
                                                                           terminator.template.processor):
                # the template a chat without tools renders: a named one is rendered only when asked for (helper-188)
                yield self.finding(model, f"the '{terminator.template.name}' chat template fails on every probe "
                                          f"conversation without tools ({terminator.probe.plain_error}), as "
                                          "apply_chat_template and pipeline() will on every chat without tools (they "
                                          "pass tools=None); it was checked with tools",
                                   terminator.template)
