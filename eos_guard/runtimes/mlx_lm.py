"""mlx-lm.

Source: ml-explore/mlx-lm ``mlx_lm/utils.py`` ``load_config``/``load`` and ``mlx_lm/tokenizer_utils.py``
``TokenizerWrapper.__init__`` (commit d78bf58e21, version 0.32.0). Rule: config.json's top-level
``eos_token_id``, **replaced** by generation_config.json's when that is truthy; the result **replaces** the
tokenizer's eos, which is used only when both are missing. ``text_config`` is not read. ``--extra-eos-token``
is a command-line addition, not modelled.
"""

from __future__ import annotations

from ..resolve import ResolvedModel
from .base import StopSet, as_ids, config_top_eos, generation_eos, place, show, show_id, tokenizer_eos_id, unique


def stop_set(model: ResolvedModel) -> StopSet:
    gen = generation_eos(model)
    if gen:
        ids = unique(as_ids(gen))
        return StopSet("mlx-lm", ids, f"generation_config.json eos_token_id {show(ids)} replaces the tokenizer eos",
                       "add the id to generation_config.json eos_token_id, or pass --extra-eos-token",
                       place(model.files.generation_config, ("eos_token_id",)))
    config = config_top_eos(model)
    if config is not None:
        ids = unique(as_ids(config))
        return StopSet("mlx-lm", ids, f"config.json eos_token_id {show(ids)} replaces the tokenizer eos",
                       "add the id to config.json eos_token_id, or pass --extra-eos-token",
                       place(model.files.config, ("eos_token_id",)))
    primary = tokenizer_eos_id(model)
    return StopSet("mlx-lm", unique([primary]),
                   f"tokenizer eos {show_id(primary)} (no eos_token_id in the configs)",
                   "add eos_token_id to generation_config.json, or pass --extra-eos-token",
                   place(model.files.generation_config, ("eos_token_id",)) or place(model.files.config, ("eos_token_id",)))
