"""mlx-lm.

Eos ids from the configs (``mlx_lm/utils.py`` ``load_config``, same in every release modelled): config.json's
top-level ``eos_token_id``, **replaced** by generation_config.json's when that is truthy. ``text_config`` is not
read. How they meet the tokenizer's eos (``mlx_lm/tokenizer_utils.py`` ``TokenizerWrapper.__init__``) changed:

- 0.32.0 – 0.32.2 (PyPI wheels, 2026-10-01 to 2026-10-16; ``tokenizer_utils.py:359-361``): the **union** of
  those ids and the tokenizer's eos.
- ≤ 0.31.3 (PyPI wheel, ``tokenizer_utils.py:306-309``; also the 0.32.0-dev commit d78bf58e21): the ids
  **replace** the tokenizer's eos, which is used only when both configs lack one.

Not modelled: a model module's ``TOKENIZER_DEFAULTS["eos_token_ids"]`` (0.32, used when the configs have no
eos; ``utils.py:638-645``) and the ``--extra-eos-token`` command-line addition.
"""

from __future__ import annotations

from ..resolve import ResolvedModel
from .base import (Release, StopSet, as_ids, config_top_eos, generation_eos, place, show, show_id, tokenizer_eos_id,
                   unique)

RELEASES = (
    Release("mlx-lm ≥ 0.32.0", (0, 32), "ml-explore/mlx-lm mlx_lm/tokenizer_utils.py TokenizerWrapper.__init__ "
                                        "(PyPI 0.32.2, lines 359-361: union)"),
    Release("mlx-lm ≤ 0.31.3", None, "ml-explore/mlx-lm mlx_lm/tokenizer_utils.py TokenizerWrapper.__init__ "
                                     "(PyPI 0.31.3, lines 306-309; commit d78bf58e21: replace)"),
)


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    union = release is RELEASES[0]
    primary = tokenizer_eos_id(model)
    gen = generation_eos(model)
    config = config_top_eos(model)
    if gen:
        source, ids, where = "generation_config.json", unique(as_ids(gen)), place(model.files.generation_config,
                                                                                   ("eos_token_id",))
    elif config is not None:
        source, ids, where = "config.json", unique(as_ids(config)), place(model.files.config, ("eos_token_id",))
    else:
        where = place(model.files.generation_config, ("eos_token_id",)) or place(model.files.config, ("eos_token_id",))
        return StopSet("mlx-lm", unique([primary]),
                       f"tokenizer eos {show_id(primary)} (no eos_token_id in the configs)",
                       "add eos_token_id to generation_config.json, or pass --extra-eos-token", where)
    fix = f"add the id to {source} eos_token_id, or pass --extra-eos-token"
    if union:
        return StopSet("mlx-lm", unique([*ids, primary]),
                       f"{source} eos_token_id {show(ids)} ∪ tokenizer eos {show_id(primary)}", fix, where)
    return StopSet("mlx-lm", ids, f"{source} eos_token_id {show(ids)} replaces the tokenizer eos", fix, where)
