from __future__ import annotations

from ..findings import Finding, Severity
from .base import Options
from .gguf_base import GgufRule, repair

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

    from ..gguf_check import GgufModel


class GgufTerminatorNotEog(GgufRule):
    """The GGUF's chat template ends assistant turns with a token llama.cpp does not stop on.

    ## What it detects
    A GGUF file carries its chat template (`tokenizer.chat_template`) and the ids llama.cpp stops on. When it
    loads the file, llama.cpp builds its end-of-generation set: `tokenizer.ggml.eos_token_id`, `eot_token_id`
    and `eom_token_id`, plus every token whose text is on its list of end-of-turn texts (`<|im_end|>`,
    `<|eot_id|>`, `<end_of_turn>`, `</s>`...). This rule renders the template (and each named template,
    `tokenizer.chat_template.<name>`) and fires when the token that follows the assistant's answer is not in
    that set, or when the template ends answers with a known turn-end text (`<|im_end|>`) that is no token of the
    GGUF at all: llama.cpp reads it as ordinary pieces, none of which ends an answer (a ChatML template on a base
    model's tokenizer that never gained `<|im_end|>`).

    ## Why it breaks generation
    llama-cli, llama-server and the tools built on llama.cpp keep generating after the answer: the model writes
    the next user turn itself until `n_predict` or the context runs out. Fine-tunes with a terminator of their
    own (`<|END_OF_TURN_TOKEN|>`, `<|assistant_end|>`) converted from a folder whose `eos_token` is still the
    base model's are the usual case.

    ## Remediation
    Run llama.cpp with `--override-kv tokenizer.ggml.eos_token_id=int:ID` (the message gives the id), or write
    a fixed copy with gguf-py's `gguf-new-metadata model.gguf model.fixed.gguf --special-token eos TOKEN`.
    Then set `eos_token` in the model folder's tokenizer_config.json to the terminator before converting again.
    """

    code = "EOS019"
    name = "gguf-terminator-not-eog"
    severity = Severity.ERROR
    summary = "the GGUF's chat turn terminator is not an end-of-generation token in llama.cpp"

    def check_gguf(self, gguf: GgufModel, options: Options) -> Iterator[Finding]:
        for template in gguf.templates:
            which = template.described
            if template.spelled is not None:
                yield self.gguf_finding(
                    gguf,
                    f"{which} ends assistant turns with the text '{template.spelled}', which is no "
                    f"token of this GGUF: llama.cpp reads it as ordinary pieces, and it stops only on "
                    f"{gguf.describe(gguf.eog)}, so nothing ends an answer (a model trained on this template learned "
                    "to spell the terminator in pieces); convert from a tokenizer that has the token, or pass the "
                    "text as a stop string (llama-server's stop, llama-cli's --reverse-prompt)")
                continue
            if template.id is None or template.stops_on(gguf.eog):
                continue
            if template.id in gguf.special().values():  # already its eos or eot: llama.cpp's load took it off
                fix = ("no eos or eot setting brings it back (the newest build takes </s> off the end-of-generation "
                       "ids beside <|tool_response>, whatever names it): pass it as a stop string, or run an older "
                       "build") if gguf.tokens[template.id] == "</s>" else \
                    "no eos or eot setting brings it back: pass it as a stop string"
            else:
                fix = repair(gguf, "eos", template.id)
            yield self.gguf_finding(
                gguf,
                f"{which} ends assistant turns with '{template.token}' ({template.id}), but "
                f"llama.cpp stops only on {gguf.describe(gguf.eog)}; {fix}")
