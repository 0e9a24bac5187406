from __future__ import annotations

from ..findings import Finding, Severity
from .base import Options
from .gguf_base import GgufRule, repair, rewrite, special_token

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

    from ..gguf_check import GgufModel

KEY = "tokenizer.ggml.eos_token_id"


class GgufEosInvalid(GgufRule):
    """The GGUF has no eos id, or one outside its token list.

    ## What it detects
    `tokenizer.ggml.eos_token_id` is missing from the GGUF's metadata, or it is not an index into
    `tokenizer.ggml.tokens`.

    ## Why it breaks generation
    llama.cpp then uses its tokenizer's default eos: id 2 for SentencePiece (`llama`) vocabularies, id 11 for
    BPE (`gpt2`) ones, none for others. Id 11 of a BPE vocabulary is an ordinary token (`,` in many), so
    generation stops at the first comma, or never stops when there is no default and the chat template's
    terminator is not on llama.cpp's list of end-of-turn texts. A warning, not an error, where the key is missing
    and llama.cpp stops at the end of the chat template's turns all the same (its default eos is the terminator,
    or the terminator's text is on its list), and the default is no piece of ordinary text: only a reader that does
    not apply its defaults finds no eos.

    ## Remediation
    Run llama.cpp with `--override-kv tokenizer.ggml.eos_token_id=int:ID`, or write a fixed copy with gguf-py's
    `gguf-new-metadata model.gguf model.fixed.gguf --special-token eos TOKEN`; converting again from a folder
    whose tokenizer_config.json names an `eos_token` writes the key.
    """

    code = "EOS020"
    name = "gguf-eos-invalid"
    severity = Severity.ERROR
    summary = "the GGUF has no eos id, or one outside its token list"

    def check_gguf(self, gguf: GgufModel, options: Options) -> Iterator[Finding]:
        eos = gguf.written.get("eos")
        if gguf.in_range(eos):
            return
        if eos is None:
            problem = f"the GGUF has no {KEY}"
        else:
            problem = f"{KEY} {eos} is outside the token list ({len(gguf.tokens)} tokens), so llama.cpp ignores it"
        default = gguf.default_eos
        fallback = f"llama.cpp uses its default eos {gguf.show(default)} for '{gguf.tokenizer_model}' vocabularies" \
            if default is not None else "llama.cpp has no eos"
        terminator = gguf.terminator
        fix = repair(gguf, "eos", terminator.id) if terminator is not None and terminator.id is not None \
            else f"set {KEY} to the id of the token that ends a turn"
        if eos is None and gguf.stops() and (default is None or not gguf.ordinary_text(default)):
            # llama.cpp stops at the turn's end all the same, on its default eos or on a text it knows (helper-211:
            # an error whose fix changed nothing in llama.cpp); writing the key is for the other readers alone
            # (helper-212: --override-kv with the default id changes nothing)
            write = rewrite(gguf, special_token(gguf, "eos", terminator.id)) \
                if terminator is not None and terminator.id is not None else f"write {KEY}"
            yield self.gguf_finding(gguf, f"{problem}; {fallback}, and it stops at the end of the chat template's "
                                          f"turns all the same (on {gguf.describe(gguf.eog)}), but a reader that "
                                          f"does not apply llama.cpp's defaults finds no eos; {write}",
                                    Severity.WARNING)
            return
        yield self.gguf_finding(gguf, f"{problem}; {fallback}; {fix}")
