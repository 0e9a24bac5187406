"""mlx-lm.

Eos ids from the configs (``mlx_lm/utils.py`` ``load_config``, same in every release modelled): config.json's
top-level ``eos_token_id``, **replaced** by generation_config.json's when that is truthy. ``text_config`` is not
read. How they meet the tokenizer's eos (``mlx_lm/tokenizer_utils.py`` ``TokenizerWrapper.__init__``) changed:

- 0.32.0 – 0.32.2 (PyPI wheels, 2026-10-01 to 2026-10-16; ``tokenizer_utils.py:359-361``, 358-360 in 0.32.0):
  the **union** of those ids and the tokenizer's eos.
- ≤ 0.31.3 (PyPI wheel, ``tokenizer_utils.py:306-309``; also the 0.32.0-dev commit d78bf58e21): the ids
  **replace** the tokenizer's eos, which is used only when both configs lack one.

Which model types it loads (``mlx_lm/utils.py`` ``_get_classes``, 0.32.2): config.json's ``model_type``, mapped
through ``MODEL_ARCHITECTURE_REMAPPING`` (with an ``architectures`` entry) or ``MODEL_REMAPPING``, names a module of
``mlx_lm.models`` (``data/mlx_lm_model_types.json``, written by ``scripts/mlx_lm_model_types.py``); for any other
(T5, BART, Falcon, MPT, LLaVA-NeXT and -OneVision, Mllama, Whisper, InternVL...) ``load`` raises a ValueError
("Model type ... not supported.", ``utils.py:223-225``), for none a KeyError, and the stop set is unknown. Older
releases may load fewer types (0.32.0 lacks ``muse_spark`` and ``prism_hadamard_qwen35``; 0.32.1 loads
``muse_spark_open`` instead of ``muse_spark``).

Not modelled: a model module's ``TOKENIZER_DEFAULTS["eos_token_ids"]`` (0.32.1 and later, used by
``tokenizer_utils.load`` when the configs have no eos; ``utils.py:638-645`` ``_tokenizer_defaults``, 0.32.2; only
``models/muse_spark.py`` sets one, ``[200001, 200008]``) and the ``--extra-eos-token`` command-line addition.
"""

from __future__ import annotations

from ..model_files import shipped
from ..resolve import ResolvedModel, config_eos_ids
from .base import (Release, StopSet, architecture_names, as_ids, config_data, config_top_eos, generation_eos, place,
                   show, show_id, tokenizer_eos_id, unique)

RELEASES = (
    Release("mlx-lm ≥ 0.32.0", (0, 32), "ml-explore/mlx-lm mlx_lm/tokenizer_utils.py TokenizerWrapper.__init__ "
                                        "(PyPI 0.32.2, lines 359-361: union)"),
    Release("mlx-lm ≤ 0.31.3", None, "ml-explore/mlx-lm mlx_lm/tokenizer_utils.py TokenizerWrapper.__init__ "
                                     "(PyPI 0.31.3, lines 306-309; commit d78bf58e21: replace)"),
)


def cannot_load(model: ResolvedModel) -> str:
    """Why mlx-lm's ``load`` raises for the folder's config.json, or "" when it loads it (or when the folder has no
    config.json to say)."""
    config = config_data(model)
    if not isinstance(config, dict):
        return ""
    model_type = config.get("model_type")
    if not isinstance(model_type, str):
        return "mlx-lm cannot load the folder (config.json names no model_type: _get_classes raises)"
    table = shipped("mlx_lm_model_types.json")
    architectures = architecture_names(config)
    remapped = next((row[2] for row in table["architecture_remapping"] if row[0] == model_type
                     and row[1] in architectures), None)
    module = remapped or table["remapping"].get(model_type, model_type)
    if module not in table["modules"]:
        return (f"mlx-lm {table['mlx_lm']} cannot load model type '{model_type}' (no mlx_lm.models module for it: "
                "\"Model type ... not supported.\")")
    return ""


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    refused = cannot_load(model)
    if refused:
        return StopSet("mlx-lm", (), refused, "none in these files: serve the model with another runtime", None,
                       unknown=refused)
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
        nested = config_eos_ids(model.files)  # no top-level one here: a text section's, which mlx-lm does not read
        unread = (f"no top-level eos_token_id in the configs; mlx-lm does not read config.json's "
                  f"{nested.where.keys[0]}" if nested is not None else "no eos_token_id in the configs")
        return StopSet("mlx-lm", unique([primary]), f"tokenizer eos {show_id(primary)} ({unread})",
                       "add eos_token_id to generation_config.json, or pass --extra-eos-token", where)
    fix = f"add the id to {source} eos_token_id, or pass --extra-eos-token"
    if union:
        return StopSet("mlx-lm", unique([*ids, primary]),
                       f"{source} eos_token_id {show(ids)} ∪ tokenizer eos {show_id(primary)}", fix, where)
    return StopSet("mlx-lm", ids, f"{source} eos_token_id {show(ids)} replaces the tokenizer eos", fix, where)
