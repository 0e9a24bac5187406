"""SGLang.

Source: SGLang 0.5.23 (PyPI wheel; pins transformers 5.19.0). ``srt/configs/model_config.py:2190-2207``
``ModelConfig._get_hf_eos_token_id`` reads ``eos_token_id`` of the loaded config **object**, after
``srt/utils/hf_transformers/config.py:228-268`` ``HfModelConfigParser.parse`` copied every text-config
attribute missing at the top level up to it; so a VLM whose eos is only in ``text_config`` stops on it (not when
config.json writes a top-level ``"eos_token_id": null``, an attribute that is there), and a config class default
applies when config.json names none (``config_object``). That **union**
generation_config.json's ``eos_token_id`` (when truthy) **union** the tokenizer's eos
(``managers/schedule_batch.py:1856-1878``), plus every added token whose text is in
``_ADDITIONAL_STOP_TOKEN_TEXTS`` (``srt/utils/hf_transformers/common.py:767-781``:
``<|eom_id|>``, ``<|content_model_end_sampling|>``, ``<|ifm|im_end|>``). Raw ids are read in transformers
5.19's numbering (``base.renumbered``). Older SGLang releases were not checked.

Encoder-decoder models (config.json's ``is_encoder_decoder``, or its text section's: ``base.encoder_decoder_key``):
of the transformers encoder-decoders, SGLang's registry implements Whisper alone (``srt/models/whisper.py:490``).
Any other architecture goes to its Transformers backend (``srt/model_loader/utils.py:224-231``
``get_model_architecture``), which refuses at start-up a class whose ``is_backend_compatible()`` is false (:181-188;
T5, mT5, BART, mBART, Marian, M2M100/NLLB, Pegasus and every other encoder-decoder class of transformers 5.19 but
T5Gemma and T5Gemma 2), and runs the bare ``AutoModel`` on input ids alone, a decoder-only model's forward
(``srt/models/transformers.py:607-631``, :1008-1016): so their stop ids are unknown ("cannot tell"), as for vLLM.
Checked by running 0.5.23's class resolution on such folders (helper-155); T5Gemma's path past it was not.

The chat template (``srt/parser/template_manager.py:397-425`` ``_resolve_hf_chat_template``): the processor's
``chat_template`` first (a string, or the first of its named templates), else the tokenizer's, for every request,
with tools or without. SGLang builds a processor only for a model it runs as multimodal
(``managers/tokenizer_manager.py:608-637``; ``srt/configs/model_config.py:809-828``): an architecture in
``multimodal_model_archs`` (:2391), or a config object with a text sub-config (``has_multimodal_subconfig``:
config.json's ``text_config``, ``llm_config``, ``language_config`` or ``thinker_config``, or a composite config
class's default one: ``config_object.COMPOSITE``), unless its first architecture is one of the
``mm_disabled_models`` (Gemma 3, Llama 4, ...: text only without ``--enable-multimodal``) or the config says
``language_model_only``; the two lists are in data/sglang_multimodal.json (scripts/sglang_multimodal.py). Where the
processor holds additional_chat_templates/'s templates, the first of them comes before chat_template.jinja's
(``ModelFiles.processor_renders``), and SGLang renders it. Not modelled: ``--enable-multimodal``, the MiMo-V2 rule,
and the conversation templates of SGLang's own it picks by model path or type (``srt/parser/conversation.py``:
InternVL, Phi-4-multimodal, LLaVA-1.5, LLaVA-OneVision, MiniCPM-V), with their own stop strings.
"""

from __future__ import annotations

import json

from ..known_tokens import SGLANG_STOP_TEXTS
from ..resolve import ResolvedModel
from ..model_files import shipped
from .base import (Release, StopSet, architecture_names, as_ids, config_data, encoder_decoder_key, generation_eos,
                   place, renumbered, show, show_id, tokenizer_eos_id, unique)
from .config_object import COMPOSITE, config_object_eos

RELEASES = (Release("SGLang 0.5.23", None, "sgl-project/sglang 0.5.23 srt/configs/model_config.py "
                                           "_get_hf_eos_token_id, srt/utils/hf_transformers/config.py, common.py"),)
# the transformers encoder-decoder architectures SGLang 0.5.23's registry implements
SERVED_ENCODER_DECODERS = frozenset({"WhisperForConditionalGeneration"})
# the config sections get_hf_text_config takes the text model's config from (srt/utils/hf_transformers/common.py
# 566-613): a config object with one is multimodal to SGLang (has_multimodal_subconfig)
SUB_CONFIGS = ("thinker_config", "llm_config", "language_config", "text_config")
# encoder-decoder classes of transformers 5.19 that its Transformers backend accepts (is_backend_compatible())
BACKEND_COMPATIBLE_ENCODER_DECODERS = frozenset({"T5GemmaForConditionalGeneration", "T5Gemma2ForConditionalGeneration"})


def serving(model: ResolvedModel) -> str:
    """Why SGLang cannot serve the folder's encoder-decoder model, or "" (module docstring)."""
    config = config_data(model)
    key = encoder_decoder_key(config) if isinstance(config, dict) else ""
    names = architecture_names(config) if key else []
    if not key or any(name in SERVED_ENCODER_DECODERS for name in names):
        return ""
    shown = ", ".join(names) or "a folder naming no architectures"
    backend = "runs the bare AutoModel on input ids alone, as a decoder-only model (srt/models/transformers.py)" \
        if any(name in BACKEND_COMPATIBLE_ENCODER_DECODERS for name in names) else \
        "refuses it at start-up (srt/model_loader/utils.py resolve_transformers_arch)"
    return (f"SGLang 0.5.23 cannot serve the encoder-decoder {shown} ({key}: it implements no encoder-decoder but "
            f"Whisper, and its Transformers backend {backend})")


def rendered_template(model: ResolvedModel) -> str:
    """The label of the processor's template SGLang renders (the first it holds), where it runs the model as
    multimodal and AutoProcessor's processor has a template; "" where it renders the tokenizer's (module
    docstring)."""
    labels = model.files.processor_renders
    config = config_data(model) if labels else None
    if not isinstance(config, dict) or config.get("language_model_only"):
        return ""
    names = architecture_names(config)
    table = shipped("sglang_multimodal.json")
    if names and names[0] in table["disabled"]:
        return ""
    sub_config = any(isinstance(config.get(key), dict) for key in SUB_CONFIGS) or config.get("model_type") in COMPOSITE
    return labels[0] if sub_config or any(name in table["multimodal"] for name in names) else ""


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    refused = serving(model)
    if refused:
        return StopSet("sglang", (), refused, "none in these files: serve the model with another runtime", None,
                       unknown=refused)
    found = config_object_eos(model, hides_text_config=True)
    gen = generation_eos(model)
    gen_ids = as_ids(gen) if gen else []
    extra = [(text, model.vocab.added[text].id) for text in SGLANG_STOP_TEXTS if text in model.vocab.added]
    primary = tokenizer_eos_id(model)
    raw, moved = renumbered(model, unique([*found.ids, *gen_ids]), "5.19")
    ids = unique([*raw, primary, *(token_id for _, token_id in extra)])
    generation = f" ∪ generation_config.json {show(gen_ids)}" if model.files.generation_config is not None else ""
    if gen is not None and not gen:  # 0 or []: read only when truthy (a stop id 0 there is not read)
        generation = f" ∪ generation_config.json [] (its eos_token_id {json.dumps(gen)} is falsy: not read)"
    why = (f"{found.describe()}{generation}{moved} ∪ tokenizer eos "
           f"{show_id(primary)}" + "".join(f" ∪ {text} {token_id}" for text, token_id in extra))
    where = (place(model.files.generation_config, ("eos_token_id",)) or found.where
             or place(model.files.config, ("eos_token_id",)))
    template = rendered_template(model)
    return StopSet("sglang", ids, why, "add the id to generation_config.json (or config.json) eos_token_id", where,
                   unknown="" if found.known else found.how, template=template, tool_template=template)
