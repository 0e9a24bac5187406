"""Token strings to ids, as the tokenizer that transformers builds will number them.

With a tokenizer.json the ``tokenizers`` library decides: an added token whose text is in the model vocab
takes the vocab id; every other added token gets the next free id in list order, whatever its ``"id"`` field
says (``AddedVocabulary::add_tokens``). Without tokenizer.json, the ids declared in tokenizer_config.json's
``added_tokens_decoder`` and added_tokens.json are all there is, and the base vocabulary is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .jsonspan import JsonDocument, KeyPath
from .known_tokens import END_OF_TURN_TEXTS
from .model_files import ModelFiles
from .vocab_scan import vocab_facts


@dataclass(frozen=True)
class AddedToken:
    content: str
    id: int
    special: bool
    declared_id: Any                 # what the file says, for reporting disagreements
    document: JsonDocument
    keys: KeyPath                    # where the token's entry is written


class Vocabulary:
    """The ids a folder's tokenizer gives to token strings."""

    def __init__(self, files: ModelFiles, use_cache: bool = False) -> None:
        self.files = files
        self.use_cache = use_cache
        self.tokenizer_json = files.tokenizer
        self.added: dict[str, AddedToken] = {}
        self.declared: dict[str, AddedToken] = {}  # added_tokens_decoder entries, by content
        self._read_declared()
        if self.tokenizer_json is not None:
            self._read_tokenizer_json_added()
        else:
            for token in self.declared.values():
                self.added.setdefault(token.content, token)

    @property
    def complete(self) -> bool:
        """Whether every id is known: only tokenizer.json carries the whole vocabulary."""
        return self.tokenizer_json is not None

    @property
    def lists_added_tokens(self) -> bool:
        """Whether the files say which strings are single added tokens (else a template's text can't be judged)."""
        return self.complete or bool(self.declared)

    def _read_declared(self) -> None:
        tc = self.files.tokenizer_config
        if tc is not None and isinstance(tc.get(("added_tokens_decoder",)), dict):
            for key, entry in tc.data["added_tokens_decoder"].items():
                if isinstance(entry, dict) and isinstance(entry.get("content"), str) and _is_int_text(key):
                    self.declared[entry["content"]] = AddedToken(
                        entry["content"], int(key), bool(entry.get("special", False)), int(key), tc,
                        ("added_tokens_decoder", key))
        at = self.files.added_tokens
        if at is not None and isinstance(at.data, dict):
            for content, value in at.data.items():
                if _is_int(value) and content not in self.declared:
                    self.declared[content] = AddedToken(content, value, False, value, at, (content,))

    def _read_tokenizer_json_added(self) -> None:
        doc = self.tokenizer_json
        entries = doc.get(("added_tokens",))
        if not isinstance(entries, list):
            return
        assigned: list[int] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            content = entry.get("content")
            if not isinstance(content, str) or not content or content in self.added:
                continue
            token_id = self.model_id(content)
            if token_id is None:
                token_id = self._next_id(assigned)
            assigned.append(token_id)
            self.added[content] = AddedToken(content, token_id, bool(entry.get("special", False)),
                                             entry.get("id"), doc, ("added_tokens", index))

    def _next_id(self, assigned: list[int]) -> int:
        size = self.model_size
        if not assigned:
            return size
        highest = max(assigned)
        return highest + 1 if highest >= size or size == 0 else size

    @cached_property
    def _model_vocab(self) -> dict[str, int]:
        if self.tokenizer_json is None:
            return {}
        vocab = self.tokenizer_json.get(("model", "vocab"))
        if isinstance(vocab, dict):
            return vocab
        if isinstance(vocab, list):  # Unigram: [[piece, score], ...], the id is the position
            table: dict[str, int] = {}
            for index, item in enumerate(vocab):
                if isinstance(item, list) and item and isinstance(item[0], str):
                    table.setdefault(item[0], index)
            return table
        return {}

    @cached_property
    def _facts(self) -> dict:
        """The model vocab's size and the ids of the strings a check can ask about (cache.py keeps them).

        Parsing a 128k-entry vocab is the costliest step of a check; the strings asked about are known up
        front: added tokens, special token values, known end-of-turn texts. vocab_scan.py reads a BPE vocab piece
        by piece for them; anything else is parsed whole.
        """
        doc = self.tokenizer_json
        if doc is None:  # no model vocab: nothing to look up (a run over many small folders keeps this per folder)
            return {"size": 0, "ids": {}}
        from . import cache

        wanted = sorted(self._candidates())
        key = cache.content_key(doc.path, doc.raw, self.use_cache)
        cached = cache.load("vocab", key, self.use_cache) if key else None
        if isinstance(cached, dict) and isinstance(cached.get("ids"), dict) and set(wanted) <= set(cached["ids"]):
            return cached
        undecoded = doc.undecoded
        scanned = vocab_facts(undecoded, wanted, self._added_contents()) if undecoded is not None else None
        size, vocab = scanned if scanned is not None else (len(self._model_vocab), self._model_vocab)
        facts = {"size": size, "ids": {c: vocab.get(c) if _is_int(vocab.get(c)) else None for c in wanted}}
        if key:
            cache.store("vocab", key, facts, self.use_cache)
        return facts

    def _added_contents(self) -> list[str]:
        entries = self.tokenizer_json.get(("added_tokens",)) if self.tokenizer_json is not None else None
        if not isinstance(entries, list):
            return []
        return [e["content"] for e in entries if isinstance(e, dict) and isinstance(e.get("content"), str)]

    def _candidates(self) -> set[str]:
        names = set(self.declared) | set(END_OF_TURN_TEXTS) | set(self._added_contents())
        for doc in (self.files.tokenizer_config, self.files.special_tokens_map):
            if doc is not None and isinstance(doc.data, dict):
                for name, value in doc.data.items():
                    if name.endswith("_token"):
                        value = value.get("content") if isinstance(value, dict) else value
                        if isinstance(value, str):
                            names.add(value)
        return names

    @property
    def model_size(self) -> int:
        size = self._facts["size"]
        return int(size) if size is not None else len(self._model_vocab)  # not counted by the scan: parse

    def model_id(self, content: str) -> int | None:
        ids = self._facts["ids"]
        value = ids[content] if content in ids else self._model_vocab.get(content)
        return value if _is_int(value) else None

    def id_of(self, content: str) -> int | None:
        """The id of a token string, or None when the files do not say it."""
        token = self.added.get(content)
        if token is not None:
            return token.id
        return self.model_id(content)

    def appended_id(self) -> int | None:
        """The id transformers gives a special token string it finds nowhere: appended after the rest."""
        if not self.complete:
            return None
        return self._next_id([t.id for t in self.added.values()])

    def is_added(self, content: str) -> bool:
        return content in self.added

    def added_token_strings(self) -> list[str]:
        return list(self.added) + [c for c in self.declared if c not in self.added]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int_text(text: str) -> bool:
    return text.isascii() and text.isdigit()
