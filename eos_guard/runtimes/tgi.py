"""Text Generation Inference (TGI, in maintenance mode since 2025-12-11, PR #3345).

Source: huggingface/text-generation-inference ``server/text_generation_server/models/flash_causal_lm.py``
``FlashCausalLM.__init__`` and ``utils/tokens.py`` ``StoppingCriteria.from_pb`` (commit db931fcf42, 2026-01-08).
Rule: when generation_config.json's ``eos_token_id`` is a **list**, it **replaces** the tokenizer's eos; an
int there is ignored; config.json is never read. Only ``FlashCausalLM.__init__`` reads generation_config.json
(lines 1239-1247), and TGI runs it only for the model types it has flash code for (``FLASH_MODEL_TYPES``, from
``models/__init__.py`` ``get_model``, on a GPU with flash attention, TGI's usual deployment; ``VlmCausalLM`` runs
it too). Every other model type (Llama 4, Qwen3, Qwen3-MoE, OLMo 2, GLM-4, Cohere2, gpt-oss, ...) is served by
``TransformersFlashCausalLM`` or ``TransformersLlama4VlmCausalLM``, which skip that ``__init__`` ("Skip
FlashCausalLM init.", transformers_flash_causal_lm.py and transformers_flash_vlm.py), or by the non-flash
``CausalLM``: the tokenizer's eos alone. A model type neither ``get_model`` names nor transformers' causal-LM and
seq2seq-LM tables list, without remote code (``auto_map``), is refused ("Unsupported model type"): gpt-oss,
GLM-4 and GLM-4.5, SmolLM3, Gemma 3n, EXAONE 4, ... (``data/tgi_model_types.json``, written by
``scripts/tgi_model_types.py``); TGI's stop set for it is unknown, never "does not stop". So it is for a tokenizer
transformers 4.51 cannot load (``base.transformers_4_refuses_tokenizer``: what transformers 5's save_pretrained
writes for most fine-tunes): every model class loads it with ``AutoTokenizer.from_pretrained`` outside any ``try``
(``flash_causal_lm.py:1232``, ``transformers_flash_causal_lm.py:129``, ``causal_lm.py:612``,
``seq2seq_lm.py:660``), and the model does not start.

TGI's image installs ``server/uv.lock`` (its Dockerfile runs ``uv sync --frozen``): transformers 4.51.0 and
tokenizers 0.21.0, whose model tables decide what it serves; ``server/requirements_*.txt`` pin 4.51.3 and 0.21.1.
Both keep tokenizer.json's order for every tokenizer class: a raw id in generation_config.json is read in that
numbering (``base.renumbered``; checked against 4.51.3) and shown in transformers 5.25's.

The chat template (``router/src/server.rs`` lines 1599-1689, 1735-1737): chat_template.json's, else
tokenizer_config.json's, else processor_config.json's (only one that also holds an integer ``image_seq_len``:
``router/src/lib.rs`` lines 211-215); never chat_template.jinja (:func:`rendered_template`).
"""

from __future__ import annotations

from ..model_files import PROCESSOR_TEMPLATE, shipped_names
from ..resolve import ResolvedModel
from .base import (Release, StopSet, as_ids, config_data, generation_eos, place, renumbered, show, show_id,
                   tokenizer_eos_id, tokenizer_eos_place, transformers_4_refuses_tokenizer, unique)

RELEASES = (Release("TGI db931fcf42", None, "huggingface/text-generation-inference db931fcf42 (2026-01-08) "
                                            "models/__init__.py get_model, flash_causal_lm.py "
                                            "FlashCausalLM.__init__, utils/tokens.py"),)


# model_type values get_model serves with FlashCausalLM or VlmCausalLM when flash attention is available
FLASH_MODEL_TYPES = frozenset({
    "deepseek_v2", "deepseek_v3", "gpt_bigcode", "gpt2", "gptj", "gpt_neox", "phi", "phimoe", "llama", "phi3",
    "granite", "baichuan", "gemma", "gemma2", "gemma3_text", "gemma3", "cohere", "dbrx", "RefinedWeb",
    "RefinedWebModel", "falcon", "mistral", "mixtral", "starcoder2", "qwen2", "qwen2_vl", "qwen2_5_vl", "mllama",
    "idefics2", "idefics3", "paligemma", "llava_next",
})
FALCON_TYPES = ("falcon", "RefinedWeb", "RefinedWebModel")  # flash only without "alibi" (get_model)


def _flash(model_type: str, config: dict) -> bool:
    """Whether get_model serves the model type with FlashCausalLM (or VlmCausalLM)."""
    return model_type in FLASH_MODEL_TYPES and not (model_type in FALCON_TYPES and config.get("alibi"))


def _served(model_type: str, config: dict) -> bool:
    """Whether get_model serves a model type it has no flash code for: one it names, one transformers 4.51.0 has
    a causal-LM or seq2seq-LM class for, or remote code (with ``--trust-remote-code``)."""
    if model_type in shipped_names("tgi_model_types.json", "model_types"):
        return True
    auto_map = config.get("auto_map")
    return isinstance(auto_map, dict) and ("AutoModelForCausalLM" in auto_map or "AutoModelForSeq2SeqLM" in auto_map)


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    stops = _stop_set(model)
    template = rendered_template(model)
    return stops._with(template=template, tool_template=template) if template else stops


def rendered_template(model: ResolvedModel) -> str:
    """The label of chat_template.json's template where TGI renders it, for every chat, tools too: its router reads
    chat_template.json's ``chat_template`` in place of tokenizer_config.json's (``router/src/server.rs`` lines
    1662-1689; a string, or the "default" entry of a list of ``{name, template}``: ``router/src/infer/mod.rs``
    lines 71-81), and never chat_template.jinja. Only a string value, and only where eos-guard checks that template
    (``ModelFiles.templates``: a processor reads it, or the tokenizer has none); else "" (the tokenizer's)."""
    doc, files = model.files.processor_template, model.files
    source = files.templates.get(PROCESSOR_TEMPLATE)
    if doc is None or not isinstance(doc.get(("chat_template",)), str) or source is None or source.document is not doc:
        return ""
    return PROCESSOR_TEMPLATE


def _stop_set(model: ResolvedModel) -> StopSet:
    gen = generation_eos(model)
    where = place(model.files.generation_config, ("eos_token_id",)) or tokenizer_eos_place(model)
    config = config_data(model)
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if isinstance(model_type, str) and not _flash(model_type, config) and not _served(model_type, config):
        reason = (f"TGI cannot load model type '{model_type}' (get_model: Unsupported model type; transformers "
                  "4.51.0, which its image installs, has no causal-LM or seq2seq-LM class for it)")
        return StopSet("tgi", (), reason, "none in these files: serve the model with another runtime",
                       where, unknown=reason)
    refused = transformers_4_refuses_tokenizer(model)
    if refused is not None:
        reason = (f"TGI cannot load the tokenizer: transformers 4.51, which its image installs, raises on {refused}, "
                  "and the model does not start")
        return StopSet("tgi", (), reason, "none for the stop ids: save the tokenizer so that transformers 4.x loads "
                                          "it, or serve the model with another runtime", where, unknown=reason)
    if isinstance(model_type, str) and not _flash(model_type, config):
        primary = tokenizer_eos_id(model)
        which = f"model type '{model_type}'" + (" with alibi" if model_type in FALCON_TYPES else "")
        why = (f"tokenizer eos {show_id(primary)} only (TGI serves {which}, if at all, with its transformers or "
               "non-flash backend, not with FlashCausalLM, the one class that reads generation_config.json)")
        fix = ("none in these files: the tokenizer appends its eos to every input (is_encoder_decoder, "
               "add_eos_token), so it stays; serve the model with another runtime, or pass the terminator as a stop "
               "sequence") if model.files.appends_eos else \
            "make the tokenizer's eos (tokenizer_config.json eos_token) the terminator"
        return StopSet("tgi", unique([primary]), why, fix, tokenizer_eos_place(model) or where)
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

