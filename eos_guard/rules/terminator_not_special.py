from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel, Where
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class TerminatorNotSpecial(Rule):
    """The turn terminator is an added token that is not marked special.

    ## What it detects
    The token that ends assistant turns is in tokenizer.json's `added_tokens` (or `added_tokens_decoder`)
    with `"special": false`; so is a token the template writes right before it after every answer (Command
    R7B's `<|END_RESPONSE|>` before `<|END_OF_TURN_TOKEN|>`), which shows in the answer just as well.

    ## Why it matters
    `decode(..., skip_special_tokens=True)` leaves it in the answer text, chat UIs show it, and the llama.cpp
    converter types it as a normal token, so llama.cpp's end-of-generation heuristics may not treat it as
    control.

    **info** instead of warning for a token the tokenizer names (`eos_token`, `pad_token`, ...:
    deepseek-coder-instruct's `<|EOT|>`; or a model-specific name, a `*_token` key of tokenizer_config.json or
    of its `extra_special_tokens` object, such as `eot_token`): transformers 5 adds the named tokens as special
    when it loads the tokenizer, whatever the files say (`TokenizersBackend._post_init`,
    tokenization_utils_tokenizers.py, 5.24), so decode drops it; a token only in an unnamed list
    (`additional_special_tokens`, an `extra_special_tokens` list) keeps its flag, and llama.cpp's converter reads the flags through transformers; only a tool
    that reads tokenizer.json's flag itself (the tokenizers library alone, Ollama's converter) sees a normal
    token.

    ## Remediation
    Set `"special": true` on the token in tokenizer.json and tokenizer_config.json.
    """

    code = "EOS010"
    name = "terminator-not-special"
    severity = Severity.WARNING
    summary = "the turn terminator is an added token not marked special"
    needs_generation = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        named = set(model.special_tokens.values())  # the standard and the model-specific names
        seen = set()
        for terminator in model.terminators:
            # the terminator, and the tokens the model writes right before it (they show in the answer just as)
            for text in (*terminator.written_before, terminator.token or ""):
                token = model.vocab.added.get(text)
                if token is None or token.special or token.content in seen:
                    continue
                if token.document.path.name == "added_tokens.json":
                    continue  # that file has no special flag
                seen.add(token.content)
                # at the value to change; a missing key's place is its entry's (Where.location, docs/usage.md)
                if token.content in named:
                    yield self.finding(model, f"'{token.content}' ends assistant turns and is not marked special in "
                                              "the files (transformers makes it special at load, as a named token; "
                                              "tools that read tokenizer.json alone do not); set \"special\": true "
                                              "on it", Where(token.document, token.keys + ("special",)), Severity.INFO)
                    continue
                yield self.finding(model, f"'{token.content}' ends assistant turns but is not marked special; set "
                                          "\"special\": true on it", Where(token.document, token.keys + ("special",)))
