"""vLLM.

Source: vllm-project/vllm ``vllm/sampling_params.py`` ``SamplingParams.update_from_generation_config`` and
``vllm/transformers_utils/config.py`` ``try_get_generation_config`` (read at commits 00388f6573cc and
0036026e7171, 2026). Rule: the tokenizer's eos ("primary eos") **union** generation_config.json's
``eos_token_id``; when generation_config.json is absent, ``GenerationConfig.from_model_config(config)`` (so
config.json, with the same sub-config fallback as transformers). A generation_config.json without
``eos_token_id`` contributes nothing. ``ignore_eos`` and request ``stop_token_ids`` are per request and not
modelled.
"""

from __future__ import annotations

from ..resolve import ResolvedModel
from .base import StopSet, show, show_id, tokenizer_eos_id, unique


def stop_set(model: ResolvedModel) -> StopSet:
    primary = tokenizer_eos_id(model)
    ids = unique([primary, *model.stop.ids])
    source = "generation_config.json" if model.files.generation_config is not None else "config.json"
    why = f"tokenizer eos {show_id(primary)} ∪ {source} eos_token_id {show(model.stop.ids)}"
    return StopSet("vllm", ids, why, f"add the id to {source} eos_token_id, or pass stop_token_ids per request",
                   model.stop.where)
