"""SGLang.

Source: sgl-project/sglang ``python/sglang/srt/configs/model_config.py`` ``ModelConfig._get_hf_eos_token_id``
(commit 001adf564fd3), ``srt/utils/hf_transformers_utils.py`` ``attach_additional_stop_token_ids`` and
``managers/schedule_batch.py`` ``Req._check_token_based_finish``. Rule: config.json's top-level
``eos_token_id`` **union** generation_config.json's (when truthy) **union** the tokenizer's eos, plus
``<|eom_id|>`` when it is an added token.
"""

from __future__ import annotations

from ..resolve import ResolvedModel
from .base import StopSet, as_ids, config_top_eos, generation_eos, place, show, show_id, tokenizer_eos_id, unique


def stop_set(model: ResolvedModel) -> StopSet:
    config_ids = as_ids(config_top_eos(model))
    gen = generation_eos(model)
    gen_ids = as_ids(gen) if gen else []
    eom = model.vocab.added.get("<|eom_id|>")
    primary = tokenizer_eos_id(model)
    ids = unique([*config_ids, *gen_ids, primary, eom.id if eom else None])
    why = (f"config.json eos_token_id {show(config_ids)} ∪ generation_config.json {show(gen_ids)} ∪ tokenizer eos "
           f"{show_id(primary)}" + (f" ∪ <|eom_id|> {eom.id}" if eom else ""))
    where = place(model.files.generation_config, ("eos_token_id",)) or place(model.files.config, ("eos_token_id",))
    return StopSet("sglang", ids, why, "add the id to generation_config.json (or config.json) eos_token_id", where)
