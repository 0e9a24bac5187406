"""transformers ``generate()`` and ``pipeline("text-generation")``.

Source: transformers 5.25 ``generation/utils.py`` (``GenerationMixin`` loads ``GenerationConfig``;
``_prepare_special_tokens``, ``EosTokenCriteria``) and ``generation/configuration_utils.py``
(``GenerationConfig.from_model_config``). The tokenizer's eos is never used.
Rule: generation_config.json's ``eos_token_id`` when that file exists; otherwise config.json's top level, then
the first truthy of ``decoder``, ``generator``, ``text_config``. A model whose generate() runs the generate() of a
model inside it (Qwen2.5-Omni's thinker: ``model_files.GENERATING_SECTIONS``) stops on that inner model's
generation config, made from its section of config.json by the same rule; generation_config.json is not read. One
whose generate() passes the eos_token_id itself (Qwen3-Omni's ``thinker_eos_token_id=151645``, BLIP's
``text_config.sep_token_id``: ``model_files.GENERATE_EOS_ARGUMENTS``) stops on those ids whatever generation_config.json
says. A
generation_config.json that is not valid JSON makes ``GenerationConfig.from_pretrained`` raise ``OSError``, which model loading catches: config.json is
used instead (``generation/utils.py:536-587``). 5.24 builds the same stop ids (its lines 532-583). A float or a bool
in generation_config.json is cast to an id as torch casts it (``resolve._cast_as_generate_does``).
"""

from __future__ import annotations

from ..resolve import ResolvedModel, Where, from_model_config_keys, generating_section, is_listed_id
from .base import Release, StopSet, show

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterator

# The generation config's keys whose logits processors keep an id from being sampled at every step (generation/
# utils.py 5.24 and 5.25 ``_get_logits_processor``): SuppressTokensLogitsProcessor. Not ``bad_words_ids``:
# NoBadWordsLogitsProcessor drops every one-token sequence that is an eos id (logits_process.py 5.24 lines
# 1491-1501, "Filter EOS token from bad_words_ids"; 5.19 and 5.25 too), so it never bans a stop id. Not
# ``begin_suppress_tokens``: SuppressTokensAtBeginLogitsProcessor applies only at the first generated position
# (Whisper suppresses its eos there, so that no answer is empty).
BANNING_KEYS = ("suppress_tokens",)
# SequenceBiasLogitsProcessor adds a one-token sequence's bias to that id's score at every step and takes no stop id
# out (logits_process.py 5.25 ``SequenceBiasLogitsProcessor``: ``length_1_bias``; its list form, the only one JSON
# can write, becomes a dict, so the last entry for an id wins). Minus infinity bans the id; so does a bias this low
# in practice: the id's score ends more than 104 below the highest, where float32's softmax gives exactly 0.
BANNING_BIAS = -1e4

RELEASES = (Release("transformers 5.25", None, "huggingface/transformers v5.25.0 generation/utils.py, "
                                               "generation/configuration_utils.py"),)


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    stop = model.stop
    # "config.json eos_token_id [2]", or, where no file gives one, "no eos_token_id" (it read "nothing []")
    section = generating_section(model.files)
    if stop.where is not None and stop.present:
        given = f"{stop.where.describe()} {show(stop.ids)}"
    elif stop.ids and section is not None:  # no eos in the section: its config class's default (resolve)
        given = f"{section}'s config class default {show(stop.ids)} (config.json {section} names no eos_token_id)"
    else:
        given = show(stop.ids) if stop.ids else "no eos_token_id"
    if stop.argument is not None:
        why = f"{show(stop.ids)} ({stop.passed_from}; generation_config.json is not read for them)"
        fix = f"pass the ids in generate()'s {stop.argument}"
    elif section is not None:
        why = f"{given} (generate() runs the generate() of the model built from {section}, whose generation config " \
              "comes from that section; generation_config.json and the tokenizer are not read)"
        fix = f"add the id to config.json {section}.eos_token_id"
    elif model.files.generation_config is not None:
        why = f"{given} (generation_config.json only; config.json and the tokenizer are not read)"
        fix = "add the id to generation_config.json eos_token_id"
    elif model.files.generation_config_error is not None:
        why = f"{given} (generation_config.json is not valid JSON, so config.json)"
        fix = "repair generation_config.json and list the id in its eos_token_id"
    else:
        why = f"{given} (no generation_config.json, so config.json)"
        fix = "add the id to config.json eos_token_id, or create generation_config.json"
    never = tuple((token_id, f"{place.describe()} holds it", f"remove {place.describe()}" if isinstance(
        place.keys[-1], int) else f"remove {token_id} from {place.describe()}") for token_id, place in banned_ids(model))
    return StopSet("transformers", stop.ids, why, fix, stop.where, never_samples=never)


def banned_ids(model: ResolvedModel) -> Iterator[tuple[int, Where]]:
    """The ids generate() never samples, each with the key that bans it, where generate() reads its generation
    config: generation_config.json's top level; without that file (or when it is not valid JSON), config.json as
    ``GenerationConfig.from_model_config`` reads its dict (generation/utils.py ``adjust_generation_fn``, after
    ``from_pretrained`` finds no generation config): a key's value at the top level, else in the first truthy of
    ``decoder``, ``generator``, ``text_config``, for every model type. A model that generates with an inner model
    (GENERATING_SECTIONS, GENERATE_EOS_ARGUMENTS) runs that model's generation config, which its config object makes
    when it is built: no config class of those inner models keeps either key, so nothing is banned there."""
    files = model.files
    if generating_section(files) is not None or model.stop.argument is not None:
        return
    doc = files.generation_config if files.generation_config is not None else files.config
    if doc is None or not isinstance(doc.data, dict):
        return
    for key in (*BANNING_KEYS, "sequence_bias"):
        keys = (key,) if doc is files.generation_config else from_model_config_keys(doc.data, key)
        if keys is None:
            continue
        value = doc.get(keys)
        if key == "sequence_bias":
            yield from _biased_out(doc, keys, value)
            continue
        ids = {v for v in value if isinstance(v, int) and not isinstance(v, bool)} if isinstance(value, list) else ()
        for token_id in sorted(ids):
            yield token_id, Where(doc, keys)


def _biased_out(doc: Any, keys: tuple[str, ...], value: Any) -> Iterator[tuple[int, Where]]:
    """The ids ``sequence_bias`` (at ``keys``) gives minus infinity, or a bias of BANNING_BIAS or lower, as sequences
    of one token, each at its entry (the last for an id, which is the one that counts). The list form is
    ``[[[id], -Infinity], ...]`` (Python's json reads -Infinity); a bias that is no float makes generate() raise."""
    last: dict[int, tuple[float, int]] = {}
    for index, entry in enumerate(value if isinstance(value, list) else ()):
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list) and len(entry[0]) == 1 \
                and is_listed_id(entry[0][0]) and isinstance(entry[1], float):
            last[entry[0][0]] = (entry[1], index)
    for token_id, (bias, index) in sorted(last.items()):
        if bias <= BANNING_BIAS:
            yield token_id, Where(doc, (*keys, index))
