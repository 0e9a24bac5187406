"""Text Generation Inference (TGI, in maintenance mode since 2025-12-11, PR #3345).

Source: huggingface/text-generation-inference ``server/text_generation_server/models/flash_causal_lm.py``
``FlashCausalLM.__init__`` and ``utils/tokens.py`` ``StoppingCriteria.from_pb`` (commit db931fcf42, 2026-01-08).
Rule: when generation_config.json's ``eos_token_id`` is a **list**, it **replaces** the tokenizer's eos; an
int there is ignored; config.json is never read. (Only the FlashCausalLM path reads generation_config.json;
non-flash model classes use the tokenizer's eos alone.) TGI pins transformers 4.51.3 and tokenizers 0.21.1
(``server/requirements_cuda.txt``), which keep tokenizer.json's order for every tokenizer class: a raw id in
generation_config.json is read in that numbering (``base.renumbered``) and shown in transformers 5.24's.
"""

from __future__ import annotations

from ..resolve import ResolvedModel
from .base import (Release, StopSet, as_ids, generation_eos, place, renumbered, show, show_id, tokenizer_eos_id,
                   tokenizer_eos_place, unique)

RELEASES = (Release("TGI db931fcf42", None, "huggingface/text-generation-inference db931fcf42 (2026-01-08) "
                                            "flash_causal_lm.py FlashCausalLM.__init__, utils/tokens.py"),)


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    gen = generation_eos(model)
    where = place(model.files.generation_config, ("eos_token_id",)) or tokenizer_eos_place(model)
    if isinstance(gen, list):
        ids, moved = renumbered(model, unique(as_ids(gen)), "4.51")
        why = f"generation_config.json eos_token_id list {show(unique(as_ids(gen)))} replaces the tokenizer eos{moved}"
        return StopSet("tgi", ids, why, "add the id to the generation_config.json eos_token_id list", where)
    primary = tokenizer_eos_id(model)
    ids = unique([primary])
    ignored = " (a scalar generation_config.json eos_token_id is ignored)" if gen is not None else ""
    why = f"tokenizer eos {show_id(primary)} only{ignored}"
    return StopSet("tgi", ids, why, "make generation_config.json eos_token_id a list holding the id and the "
                                    "tokenizer eos", where)

