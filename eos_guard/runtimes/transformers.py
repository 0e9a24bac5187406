"""transformers ``generate()`` and ``pipeline("text-generation")``.

Source: transformers 5.24 ``generation/utils.py`` (``GenerationMixin`` loads ``GenerationConfig``;
``_prepare_special_tokens``, ``EosTokenCriteria``) and ``generation/configuration_utils.py``
(``GenerationConfig.from_model_config``). The tokenizer's eos is never used.
Rule: generation_config.json's ``eos_token_id`` when that file exists; otherwise config.json's top level, then
the first truthy of ``decoder``, ``generator``, ``text_config``. A generation_config.json that is not valid
JSON makes ``GenerationConfig.from_pretrained`` raise ``OSError``, which model loading catches: config.json is
used instead (``generation/utils.py:532-583``).
"""

from __future__ import annotations

from ..resolve import ResolvedModel
from .base import Release, StopSet, show

RELEASES = (Release("transformers 5.24", None, "huggingface/transformers v5.24.0 generation/utils.py, "
                                               "generation/configuration_utils.py"),)


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    stop = model.stop
    where = stop.where.describe() if stop.where is not None and stop.present else "nothing"
    if model.files.generation_config is not None:
        why = f"{where} {show(stop.ids)} (generation_config.json only; config.json and the tokenizer are not read)"
        fix = "add the id to generation_config.json eos_token_id"
    elif model.files.generation_config_error is not None:
        why = f"{where} {show(stop.ids)} (generation_config.json is not valid JSON, so config.json)"
        fix = "repair generation_config.json and list the id in its eos_token_id"
    else:
        why = f"{where} {show(stop.ids)} (no generation_config.json, so config.json)"
        fix = "add the id to config.json eos_token_id, or create generation_config.json"
    return StopSet("transformers", stop.ids, why, fix, stop.where)
