from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class TokenNotInVocab(Rule):
    """An eos or terminator string is in no vocabulary.

    ## What it detects
    The tokenizer's `eos_token` names a string that is neither an added token nor in tokenizer.json's model
    vocab. transformers does not complain: it silently appends the string as a brand-new token, with an id
    after every other one (`len(tokenizer)`), which the model's embedding has never seen.

    An empty `eos_token` (`""`) is never added: the tokenizer's `eos_token_id` is then the unk token's id (a
    string it cannot find), or None without an unk token.

    When the folder has no tokenizer.json, eos-guard reads the vocabulary from the SentencePiece tokenizer.model,
    or the GPT-2-style vocab.json and merges.txt, that the tokenizer class is built from (for the classes listed
    in docs/resolution.md). Otherwise (another class, a tiktoken or tekken.json file, remote code) the full
    vocabulary is not known, so a string missing from `added_tokens_decoder` is reported as **info**: its id
    cannot be checked (not for a model that cannot generate, such as wav2vec 2.0 with its CTC vocab.json).

    ## Why it breaks generation
    The model can never produce a token it was not trained with, so a stop set built from the tokenizer's eos
    (vLLM, TGI, llama.cpp) never fires.

    When no file names `eos_token`, the tokenizer class's default is the eos (`GPT2Tokenizer`'s and
    `Qwen2Tokenizer`'s `<|endoftext|>`, `LlamaTokenizer`'s `</s>`): a default the vocabulary lacks is reported
    the same way, on tokenizer_config.json as a whole (on tokenizer.json when the folder has no
    tokenizer_config.json).

    ## Remediation
    Spell `eos_token` exactly as the token is written in tokenizer.json's `added_tokens` (for a class default,
    add `eos_token` to tokenizer_config.json).
    """

    code = "EOS005"
    name = "token-not-in-vocab"
    severity = Severity.ERROR
    summary = "an eos or terminator string is in no vocabulary"

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        eos = model.tokenizer_eos
        where = eos.where or model.eos_default_where if eos is not None else None
        if eos is not None and where is not None:
            shown = f"'{eos.token}' ({model.eos_default_of})" if model.eos_default_of else f"'{eos.token}'"
            if eos.token == "":
                unk = f"{eos.id}, the unk token's id" if eos.id is not None else "None"
                yield self.finding(
                    model, f"the tokenizer's eos is an empty string: transformers adds no token for it, so "
                    f"tokenizer.eos_token_id is {unk}", where)
            elif eos.appended:
                yield self.finding(
                    model,
                    f"the tokenizer's eos {shown} is in no vocabulary; transformers appends it as a new "
                    f"token {eos.id} that the model never produces", where)
            elif eos.id is None and model.files.generates:  # an encoder's (wav2vec2's CTC vocab.json): no noise
                yield self.finding(
                    model,
                    f"cannot tell the id of the tokenizer's eos {shown}: added_tokens_decoder and "
                    f"added_tokens.json give it no token id, and {_vocabulary_unread(model)}", where,
                    Severity.INFO)
        for terminator in model.terminators if model.files.generates else ():
            if terminator.token is not None and terminator.id is None and \
                    (eos is None or terminator.token != eos.token):
                yield self.finding(
                    model,
                    f"cannot tell the id of '{terminator.token}', which ends assistant turns in the "
                    f"'{terminator.template.name}' chat template", terminator.template, Severity.INFO)


def _vocabulary_unread(model: ResolvedModel) -> str:
    if model.vocab.remote and not model.vocab.complete:  # a remote class builds it in its own code
        return "the tokenizer is remote code (auto_map), whose vocabulary eos-guard does not build"
    if "tokenizer.json" in model.files.ids_not_read:  # added_tokens.json's ids are then no evidence (vocabulary)
        return "tokenizer.json, which gives the ids (added_tokens.json's too), was not read (EOS018)"
    return "eos-guard cannot read the folder's vocabulary"
