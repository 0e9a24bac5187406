"""One module per serving runtime: resolved folder -> that runtime's stop set (see docs/runtimes.md)."""

from __future__ import annotations

from typing import Callable

from ..resolve import ResolvedModel
from . import llama_cpp, mlx_lm, ollama, sglang, tgi, transformers, vllm
from .base import StopSet

RUNTIMES: dict[str, Callable[[ResolvedModel], StopSet]] = {
    "transformers": transformers.stop_set,
    "vllm": vllm.stop_set,
    "sglang": sglang.stop_set,
    "tgi": tgi.stop_set,
    "mlx-lm": mlx_lm.stop_set,
    "llama.cpp": llama_cpp.stop_set,
    "ollama": ollama.stop_set,
}


def stop_sets(model: ResolvedModel) -> dict[str, StopSet]:
    """Every runtime's stop set for the folder, in the registry's order (the pipeline stores it in the model)."""
    return {name: stop_set(model) for name, stop_set in RUNTIMES.items()}


def target_id(model: ResolvedModel) -> int | None:
    """The id a chat answer ends with: the default template's terminator, else the tokenizer's eos."""
    terminator = model.terminator
    if terminator is not None and terminator.id is not None:
        return terminator.id
    if terminator is not None and terminator.token is not None:
        return None
    eos = model.tokenizer_eos
    return eos.id if eos is not None and not eos.appended else None


def stops(model: ResolvedModel, stop: StopSet) -> bool | None:
    """Whether a chat answer stops in that runtime; None when the folder does not say which id it ends with."""
    target = target_id(model)
    return None if target is None else target in stop.ids


__all__ = ["RUNTIMES", "StopSet", "stop_sets", "stops", "target_id"]
