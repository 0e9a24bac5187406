"""Text Generation Inference (TGI, in maintenance mode since 2026).

Source: huggingface/text-generation-inference ``server/text_generation_server/models/flash_causal_lm.py``
``FlashCausalLM.__init__`` and ``utils/tokens.py`` ``StoppingCriteria.from_pb`` (commit db931fcf42, 2026-01-08).
Rule: when generation_config.json's ``eos_token_id`` is a **list**, it **replaces** the tokenizer's eos; an
int there is ignored; config.json is never read. (Only the FlashCausalLM path reads generation_config.json;
non-flash model classes use the tokenizer's eos alone.)
"""

from __future__ import annotations

from ..resolve import ResolvedModel
from .base import StopSet, as_ids, generation_eos, place, show, show_id, tokenizer_eos_id, tokenizer_eos_place, unique


def stop_set(model: ResolvedModel) -> StopSet:
    gen = generation_eos(model)
    where = place(model.files.generation_config, ("eos_token_id",)) or tokenizer_eos_place(model)
    if isinstance(gen, list):
        ids = unique(as_ids(gen))
        return StopSet("tgi", ids, f"generation_config.json eos_token_id list {show(ids)} replaces the tokenizer eos",
                       "add the id to the generation_config.json eos_token_id list", where)
    primary = tokenizer_eos_id(model)
    ids = unique([primary])
    why = f"tokenizer eos {show_id(primary)} only" + (" (a scalar generation_config.json eos_token_id is ignored)"
                                           if gen is not None else "")
    return StopSet("tgi", ids, why, "make generation_config.json eos_token_id a list holding the id and the "
                                    "tokenizer eos", where)
