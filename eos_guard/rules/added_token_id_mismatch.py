from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel, Where
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class AddedTokenIdMismatch(Rule):
    """tokenizer.json's added token ids disagree with tokenizer_config.json's `added_tokens_decoder`.

    ## What it detects
    A token whose id in tokenizer.json (the id the `tokenizers` library really assigns: its vocab id, or the
    next free id in list order, whatever the `"id"` field says) differs from its key in
    `added_tokens_decoder` (or, without that key, from its id in added_tokens.json), or an `added_tokens` entry
    whose `"id"` field is not the id it really gets, a later entry of a text listed twice included (the library
    keeps the first; Ollama's converter, which reads the list, takes the last).

    ## Why it matters
    Which id wins depends on the transformers version and tokenizer class: transformers 5's model-specific
    classes (Qwen2Tokenizer, ...) re-add tokens in `added_tokens_decoder` order, while 4.x and the generic
    backend keep tokenizer.json's. The eos id that stops generation can therefore change with an upgrade.

    ## Remediation
    Re-save the tokenizer with one transformers version so both files agree, or correct the ids by hand.
    """

    code = "EOS009"
    name = "added-token-id-mismatch"
    severity = Severity.WARNING
    summary = "tokenizer.json's added token ids disagree with added_tokens_decoder"

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        vocab = model.vocab
        if not vocab.complete:
            return
        for content, token in vocab.added.items():
            if token.declared_id is None or token.declared_id == token.id or token.document is not vocab.tokenizer_json:
                continue  # added_tokens_decoder below; added_tokens.json in the loop after it
            yield self.finding(model, f"'{content}' is declared as id {token.declared_id} in tokenizer.json but "
                                      f"transformers gives it {token.id} ({vocab.numbering})",
                               Where(token.document, token.keys + ("id",)))
        yield from self._repeated_entries(model)
        for content, declared in vocab.declared.items():
            real = vocab.id_of(content)
            if real is None or real == declared.id:
                continue
            where = "added_tokens_decoder" if declared.document.path.name == "tokenizer_config.json" \
                else declared.document.path.name
            yield self.finding(model, f"'{content}' is {declared.id} in {where} but transformers gives it {real} "
                                      f"({vocab.numbering})", Where(declared.document, declared.keys))

    def _repeated_entries(self, model: ResolvedModel) -> Iterator[Finding]:
        """An ``added_tokens`` entry whose text an earlier entry has: the tokenizers library keeps the first (its
        id is the text's), so the later entry's id is no token's, while a GGUF converter that reads the list (Ollama)
        takes the last."""
        vocab = model.vocab
        entries = vocab.tokenizer_json.get(("added_tokens",)) if vocab.tokenizer_json is not None else None
        seen: set[str] = set()
        for index, entry in enumerate(entries if isinstance(entries, list) else ()):
            content = entry.get("content") if isinstance(entry, dict) else None
            if not isinstance(content, str):
                continue
            declared, real = entry.get("id"), vocab.id_of(content)
            if content in seen and isinstance(declared, int) and real is not None and declared != real:
                yield self.finding(model, f"'{content}' is listed again in tokenizer.json's added_tokens with id "
                                          f"{declared}, but the first entry wins: transformers gives it {real}",
                                   Where(vocab.tokenizer_json, ("added_tokens", index, "id")))
            seen.add(content)
