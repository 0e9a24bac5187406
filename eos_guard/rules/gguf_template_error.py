from __future__ import annotations

from ..findings import Finding, Severity
from ..model_files import MAX_TEMPLATES
from .base import Options
from .gguf_base import GgufRule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

    from ..gguf_check import GgufModel


class GgufTemplateError(GgufRule):
    """A chat template of the GGUF cannot be checked.

    ## What it detects
    The GGUF's counterpart of EOS014 and EOS018: a template (`tokenizer.chat_template` or a named
    `tokenizer.chat_template.<name>`) that fails on every probe conversation, exceeds the limits of
    docs/security.md, or never shows the assistant's answer, so EOS019 cannot tell whether llama.cpp stops at
    the end of an answer; and, as an **error**, templates past the first 16 (in key order,
    `tokenizer.chat_template` first), which are not rendered: each may run to the time limit, so a small file
    with thousands of them would hold a check for hours. A folder checks as many (EOS018).

    ## Why it matters
    A template that is not checked may end answers with a token llama.cpp does not stop on. eos-guard renders it
    with jinja2 as transformers does, so one that fails on every probe fails in `apply_chat_template` too; but
    llama.cpp's `--jinja` path has its own Jinja engine (`common/jinja/`), which runs some templates jinja2
    refuses: it sets an attribute of any object (`{% set message.tool_calls = [] %}`; `set_statement::execute_impl`
    in `common/jinja/runtime.cpp`, read at commit 0c1e57098bba), where jinja2 allows `{% set x.y = ... %}` only
    on a `namespace()` (llama.cpp's `models/templates/MiroThinker-v1.jinja` does so after its output). Such a
    template works in llama.cpp and is still not checked.

    ## Remediation
    Fix the template in the model folder and convert again, or rewrite the GGUF's template with gguf-py's
    `gguf-new-metadata --chat-template-file`. Keep a GGUF to at most 16 chat templates.
    """

    code = "EOS028"
    name = "gguf-template-error"
    severity = Severity.WARNING
    summary = "a chat template of the GGUF cannot be checked"

    def check_gguf(self, gguf: GgufModel, options: Options) -> Iterator[Finding]:
        for template in gguf.templates:
            if template.problem is not None:
                yield self.gguf_finding(gguf, f"{template.described} {template.problem}")
        if gguf.templates_not_checked:
            count = len(gguf.templates_not_checked)
            yield self.gguf_finding(
                gguf, f"{count:,} chat template{'s' if count != 1 else ''} not checked ({gguf.templates_not_checked[0]}"
                      f"{' and the ones after it' if count > 1 else ''}): eos-guard checks at most {MAX_TEMPLATES} "
                      "chat templates per GGUF file, as per model folder", Severity.ERROR)
