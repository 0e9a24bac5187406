from __future__ import annotations

from ..findings import Finding, Severity
from ..known_tokens import LLAMA_CPP_EOG_TEXTS
from .base import Options
from .gguf_base import GgufRule, repair, rewrite

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

    from ..gguf_check import GgufModel


class GgufEosNotControl(GgufRule):
    """A stop id of the GGUF (its eos, eot or eom) is not a CONTROL token.

    ## What it detects
    The entry of `tokenizer.ggml.token_type` for the id `tokenizer.ggml.eos_token_id`, `eot_token_id` or
    `eom_token_id` writes is not CONTROL (3). convert_hf_to_gguf.py writes CONTROL for added tokens marked
    `"special": true` (and for texts that look like `<|...|>`), USER_DEFINED (4) for other added tokens, NORMAL (1)
    for the rest of the vocabulary.

    ## Why it matters
    Generation still stops on the id, but llama.cpp hides only CONTROL tokens from the text it returns, so the
    token's text can appear at the end of answers; a NORMAL one written in a prompt by the chat template is not
    even read as one token. For the texts on its end-of-turn list, llama.cpp logs "control-looking token ... was
    not control-type; this is probably a bug in the model" and treats the token as CONTROL.

    It is an error when the token is a NORMAL piece of ordinary text (`,`, `a`: not shaped as a special token's
    `<...>` or `[...]`): llama.cpp stops wherever the model writes it, so answers end at its first occurrence, as
    when an id was written off by one (helper-211: an eot id on `,` cut every answer at its first comma).

    ## Remediation
    Mark the token `"special": true` in the model folder's tokenizer_config.json `added_tokens_decoder` and
    tokenizer.json `added_tokens`, then convert again: gguf-new-metadata cannot change token types. An id on
    ordinary text is the wrong id: write the terminator's (the message gives the command), or, for eot and eom,
    remove the key.
    """

    code = "EOS021"
    name = "gguf-eos-not-control"
    severity = Severity.WARNING
    summary = "a stop id of the GGUF (its eos, eot or eom) is not a CONTROL token"

    def check_gguf(self, gguf: GgufModel, options: Options) -> Iterator[Finding]:
        from ..gguf_metadata import CONTROL, TOKEN_TYPE_NAMES, USER_DEFINED  # GGUF code loads for GGUF runs only

        for kind in ("eos", "eot", "eom"):
            token_id = gguf.written.get(kind)
            if token_id is None or not gguf.in_range(token_id) or not gguf.types or gguf.types[token_id] == CONTROL:
                continue
            key = f"tokenizer.ggml.{kind}_token_id"
            type_ = gguf.types[token_id]
            text = gguf.tokens[token_id]
            named = f"{TOKEN_TYPE_NAMES.get(type_, 'unknown')} ({type_})"
            said = f"{key} {gguf.show(token_id)} has tokenizer.ggml.token_type {named}, not CONTROL (3)"
            if text in LLAMA_CPP_EOG_TEXTS:
                effect = 'llama.cpp warns "control-looking token ... was not control-type" and treats it as CONTROL'
            elif gguf.ordinary_text(token_id):
                yield self.gguf_finding(gguf, f"{said}, and its text is ordinary text: llama.cpp stops wherever the "
                                              f"model writes it, so answers end at its first '{text}'; "
                                              f"{self._right_id(gguf, kind, key)}", Severity.ERROR)
                continue
            elif type_ == USER_DEFINED:
                effect = "llama.cpp does not hide it, so its text can appear at the end of answers"
            else:
                effect = ("llama.cpp does not hide it, so its text can appear at the end of answers, and the "
                          "template's text of it is not read as one token in prompts")
            yield self.gguf_finding(gguf, f"{said}: {effect}; mark it \"special\": true in the model folder and "
                                          "convert again")

    @staticmethod
    def _right_id(gguf: GgufModel, kind: str, key: str) -> str:
        """What to do about a stop id on ordinary text: the chat template's terminator as the eos or eot, else (and
        for eom, which ends tool calls) no such key."""
        terminator = gguf.terminator
        if kind != "eom" and terminator is not None and terminator.id is not None \
                and not gguf.ordinary_text(terminator.id):
            return f"it is the wrong id: {repair(gguf, kind, terminator.id)}"
        if kind != "eos":
            return f"it is the wrong id: {rewrite(gguf, f'--remove-metadata {key}')}"
        return "it is the wrong id: write the id of the token that ends the chat turns"
