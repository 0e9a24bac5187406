from __future__ import annotations

from ..findings import Finding, Severity
from ..known_tokens import LLAMA_CPP_EOG_TEXTS
from .base import Options
from .gguf_base import GgufRule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

    from ..gguf_check import GgufModel


class GgufEosNotControl(GgufRule):
    """The GGUF's eos token is not a CONTROL token.

    ## What it detects
    The entry of `tokenizer.ggml.token_type` for the eos id is not CONTROL (3). convert_hf_to_gguf.py writes
    CONTROL for added tokens marked `"special": true` (and for texts that look like `<|...|>`), USER_DEFINED (4)
    for other added tokens, NORMAL (1) for the rest of the vocabulary.

    ## Why it matters
    Generation still stops on the id, but llama.cpp hides only CONTROL tokens from the text it returns, so the
    eos text can appear at the end of answers; a NORMAL eos written in a prompt by the chat template is not even
    read as one token. For the texts on its end-of-turn list, llama.cpp logs "control-looking token ... was not
    control-type; this is probably a bug in the model" and treats the token as CONTROL.

    ## Remediation
    Mark the token `"special": true` in the model folder's tokenizer_config.json `added_tokens_decoder` and
    tokenizer.json `added_tokens`, then convert again: gguf-new-metadata cannot change token types.
    """

    code = "EOS021"
    name = "gguf-eos-not-control"
    severity = Severity.WARNING
    summary = "the GGUF's eos token is not CONTROL-type"

    def check_gguf(self, gguf: GgufModel, options: Options) -> Iterator[Finding]:
        from ..gguf_metadata import CONTROL, TOKEN_TYPE_NAMES, USER_DEFINED  # GGUF code loads for GGUF runs only

        eos = gguf.written.get("eos")
        if eos is None or not gguf.in_range(eos) or not gguf.types or gguf.types[eos] == CONTROL:
            return
        kind = gguf.types[eos]
        text = gguf.tokens[eos]
        if text in LLAMA_CPP_EOG_TEXTS:
            effect = 'llama.cpp warns "control-looking token ... was not control-type" and treats it as CONTROL'
        elif kind == USER_DEFINED:
            effect = "llama.cpp does not hide it, so its text can appear at the end of answers"
        else:
            effect = ("llama.cpp does not hide it, so its text can appear at the end of answers, and the template's "
                      "text of it is not read as one token in prompts")
        named = f"{TOKEN_TYPE_NAMES.get(kind, 'unknown')} ({kind})"
        yield self.gguf_finding(
            gguf, f"tokenizer.ggml.eos_token_id {gguf.show(eos)} has tokenizer.ggml.token_type {named}, not CONTROL "
                  f"(3): {effect}; mark it \"special\": true in the model folder and convert again")
