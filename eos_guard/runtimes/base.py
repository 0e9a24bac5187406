"""What every runtime module returns, and helpers they share (all from the already resolved folder)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..jsonspan import JsonDocument, KeyPath
from ..resolve import ResolvedModel, Where, special_token_text


@dataclass(frozen=True)
class StopSet:
    """The ids a runtime stops on, why, what to change so it stops on the terminator, and where that is."""

    runtime: str
    ids: tuple[int, ...]
    why: str
    fix: str
    where: Where | None = None


def place(doc: JsonDocument | None, keys: KeyPath) -> Where | None:
    """The value at ``keys`` in ``doc``, or the object that should hold it; None without the file."""
    if doc is None:
        return None
    return Where(doc, keys) if doc.has(keys) else Where(doc, keys[:-1])


def tokenizer_eos_place(model: ResolvedModel) -> Where | None:
    return model.special_where.get("eos_token") or place(model.files.tokenizer_config, ("eos_token",))


def as_ids(value: Any) -> list[int]:
    """An eos value as a list of valid ids (int -> [int], list -> its ints, anything else -> [])."""
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, int) and not isinstance(v, bool) and v >= 0]


def unique(ids: list[int | None]) -> tuple[int, ...]:
    seen: list[int] = []
    for token_id in ids:
        if token_id is not None and token_id not in seen:
            seen.append(token_id)
    return tuple(seen)


def tokenizer_eos_id(model: ResolvedModel) -> int | None:
    eos = model.tokenizer_eos
    return eos.id if eos is not None and not eos.appended else None


def generation_eos(model: ResolvedModel) -> Any:
    """generation_config.json's raw eos_token_id, or None when the file or key is missing."""
    gen = model.files.generation_config
    return gen.get(("eos_token_id",)) if gen is not None else None


def config_top_eos(model: ResolvedModel) -> Any:
    config = model.files.config
    return config.get(("eos_token_id",)) if config is not None else None


def tokenizer_config_eos(model: ResolvedModel) -> str | None:
    """tokenizer_config.json's own eos_token string (converters read it directly, without special_tokens_map)."""
    tc = model.files.tokenizer_config
    if tc is None or not isinstance(tc.data, dict):
        return None
    text, _ = special_token_text(tc.data.get("eos_token"), False)
    return text


def added_token_declared_id(model: ResolvedModel, content: str, last: bool = False) -> int | None:
    """The ``"id"`` field of the first (or last) tokenizer.json added_tokens entry with that content."""
    doc = model.files.tokenizer
    entries = doc.get(("added_tokens",)) if doc is not None else None
    if not isinstance(entries, list):
        return None
    matches = [e.get("id") for e in entries if isinstance(e, dict) and e.get("content") == content]
    if not matches:
        return None
    value = matches[-1] if last else matches[0]
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def show_id(token_id: int | None) -> str:
    """An id in a ``why`` text; "none" where there is none (explain never prints Python's None)."""
    return "none" if token_id is None else str(token_id)


def show(ids: tuple[int, ...] | list[int]) -> str:
    return "[" + ", ".join(str(i) for i in ids) + "]"
