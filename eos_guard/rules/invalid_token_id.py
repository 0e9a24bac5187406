from __future__ import annotations

import json

from ..findings import Finding, Severity
from ..resolve import ResolvedModel, cast_id
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class InvalidTokenId(Rule):
    """An eos value has the wrong type.

    ## What it detects
    `eos_token_id` holding something other than a non-negative integer or a list of them (`"2"`, `2.0`,
    `-1`, `true`, `[[2]]`, `[2, null]`), or an `eos_token` in the tokenizer files that transformers cannot
    load (a list, a number, or in tokenizer_config.json an object without `"__type": "AddedToken"`). The same for
    the other special tokens (`pad_token`, ..., and the entries of an `extra_special_tokens` object): such a value
    makes `AutoTokenizer.from_pretrained` raise, so nothing runs the model with these files.

    Also every other value that makes the tokenizer fail to load while transformers builds its added tokens:
    an `added_tokens_decoder` entry that is not an object or whose key is not a number; an object tokenizers'
    `AddedToken` refuses (a `"content"` that is not a string or holds a lone surrogate, `"\\ud800"`, which
    UTF-8 cannot encode; an `"lstrip"`, `"rstrip"`, `"single_word"`, `"normalized"` or `"special"` that is not
    `true` or `false`), in tokenizer_config.json's `added_tokens_decoder` and `{"__type": "AddedToken"}`
    objects, and in the legacy branch in special_tokens_map.json (where an `extra_special_tokens` entry may not
    say `"special"`: transformers passes it); an entry of the unnamed special-token list the tokenizer gets that
    is not a string or an AddedToken object (transformers 5); a tokenizer.json `added_tokens` entry without
    every field of the right kind (`id`, `content`, the five flags; an `id` written `-0`, which Python reads as
    0, is a float to it, and a `content` with a lone surrogate is no text), which the tokenizers library refuses
    (TGI loads the file with it, and so does transformers for most tokenizer classes); and a special token the
    tokenizer class cannot be built without (`RobertaTokenizer`'s `sep_token` and `cls_token`, `T5Tokenizer`'s
    and `XLMRobertaTokenizer`'s `eos_token`, ...: `required_tokens` in eos_guard/data/tokenizer_classes.json,
    found by loading each class) left with no id: null, or `""` with no unk token (every such token has a class
    default, so leaving it out is fine).

    ## Why it breaks generation
    `GenerationConfig` accepts anything, so the error only shows at generation time: transformers warns that
    "`eos_token_id` should consist of positive integers" and never stops on a negative id, and fails to build the
    stop tensor from a string or a null. It casts a float to its integer part and a bool to 0 or 1 (`2.0` and `2.7`
    stop on 2, `true` on 1): eos-guard's transformers verdict reads them so, and the finding says so. It is still
    an error: `AutoConfig` in transformers 5 refuses such a value in config.json, and eos-guard's rows for the
    other runtimes read only integers (those that keep the ids in a Python set, where `2.0` equals 2, may stop on
    it: not modelled).
    `AutoConfig` in transformers 5 refuses to load such a config.json at all, and a bad `eos_token` makes
    `AutoTokenizer.from_pretrained` raise.

    ## Remediation
    Write ids as JSON integers: `"eos_token_id": 2` or `[2, 32000]`; write token flags as `true` or `false`, and
    special token values as strings or `{"__type": "AddedToken", "content": ...}` objects.
    """

    code = "EOS007"
    name = "invalid-token-id"
    severity = Severity.ERROR
    summary = "an eos value has the wrong type"

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        seen = set()
        for stop in (model.stop, model.config_eos):
            if stop is None or not stop.invalid or stop.where is None or stop.where in seen:
                continue
            seen.add(stop.where)
            shown = ", ".join(json.dumps(v) for v in stop.invalid)
            # generate() casts a float or bool of generation_config.json to an id (resolve._cast_as_generate_does)
            cast = [(v, cast_id(v)) for v in stop.invalid] if stop is model.stop else []
            cast = [(v, token_id) for v, token_id in cast if token_id is not None and token_id in stop.ids]
            read = f"; generate() reads {', '.join(f'{json.dumps(v)} as {token_id}' for v, token_id in cast)}, but " \
                   "eos-guard's other runtimes read only integers, and AutoConfig refuses such a value in " \
                   "config.json: write the id as a JSON integer" if cast else ""
            yield self.finding(model, f"eos_token_id holds {shown}, which is not a non-negative integer "
                                      f"({stop.where.describe()}){read}", stop.where)
        eos_where = model.special_where.get("eos_token")
        if model.tokenizer_eos_problem and eos_where is not None:
            yield self.finding(model, f"eos_token {model.tokenizer_eos_problem}", eos_where)
        for message, where in model.special_token_problems.values():  # the tokenizer does not load at all
            yield self.finding(model, message, where)
