"""vLLM.

Source: vLLM 0.33.0 (PyPI wheel, ``__commit_id__`` g4ba787ec9; 0.34.0's wheel has the same functions, only moved:
``input_processor.py:486``, ``vllm/config/model.py`` ``get_diff_sampling_param``, ``try_get_generation_config``):
``vllm/v1/engine/input_processor.py``
(``update_from_generation_config(self.generation_config_fields, self.renderer.get_eos_token_id())``, lines
64, 489-492), ``vllm/renderers/base.py:444-451`` (the tokenizer's eos), ``vllm/sampling_params.py:775-804``
``SamplingParams.update_from_generation_config`` and ``vllm/transformers_utils/config.py:1275-1302``
``try_get_generation_config``. Rule: the tokenizer's eos ("primary eos") **union** generation_config.json's
``eos_token_id``; a generation_config.json without the key contributes nothing. Without generation_config.json,
``GenerationConfig.from_model_config(config)`` on the loaded config **object**: config.json's value, else its
text sub-config's, else the config class default (a Llama config without ``eos_token_id`` stops on 2;
``config_object``). What differs between the lines is the transformers release each installs, which numbers the
tokenizer's added tokens: vLLM 0.34.0 requires transformers 5.16.1-5.22.x (a fresh install gets 5.22.2), whose
tokenizer loading has the newest releases' ByteLevel ``LlamaTokenizer`` rule (``tokenization_auto.py``, added in
5.22.0), so raw ids are read in eos-guard's own numbering (5.25's; 5.22's tables for model types added in 5.23 to
5.25 are not modelled); vLLM 0.33.0 requires 5.16.1-5.20.x, without that rule: raw ids are read in 5.19's numbering
(``base.renumbered``; checked with 5.19 only). Not modelled: ``ignore_eos`` and request ``stop_token_ids``
(per request), and Mistral-format checkpoints (``consolidated*.safetensors`` with ``tekken.json``), whose eos
comes from mistral_common.

Encoder-decoder models (config.json's ``is_encoder_decoder``, or that of the section ``get_text_config()`` returns:
``is_encoder_decoder`` in ``vllm/transformers_utils/config.py``): vLLM serves only those its registry implements
(``_MULTIMODAL_MODELS``' "Encoder-decoder" entries: Whisper, Canary, ...) or a plugin registers
(``_OOT_SUPPORTED_MODELS``: BART and Florence-2 with ``vllm-project/bart-plugin``), both in data/vllm_registry.json
(scripts/vllm_registry.py). Any other (T5, mT5, Marian, NLLB/M2M100) resolves to the Transformers-backend fallback
(``registry.py`` ``_try_resolve_transformers``: their classes set an attention implementation) and then stops the
engine at start-up (``vllm/v1/core/sched/scheduler.py:276``: "Encoder-decoder models are expected to implement the
multimodal interface"), so its stop ids are unknown, as a model type TGI cannot load (0.33.0's registry and
scheduler are the same, less Canary). A config.json that leaves ``is_encoder_decoder`` to its class's default is not
caught (transformers writes the key whenever it saves such a config). ``decoder_start_token_id`` only starts the
decoder and ``forced_eos_token_id`` is not read (``renderers/base.py``, ``get_diff_sampling_param``).

The chat template (vLLM 0.34.0 ``vllm/renderers/hf.py:313-340`` ``resolve_chat_template``): for a request without
tools, the processor's template when AutoProcessor builds a processor that has one (``_try_get_processor_chat_
template``, :262-310: a string, or the "default" entry of its named templates: ``ModelFiles.processor_default``;
a processor that fails to load, or named templates without "default", leave the tokenizer's), else the tokenizer's;
with tools, the tokenizer's. So the answer vLLM must stop on is the processor's template's terminator where the two
differ (``StopSet.template``). Earlier lines' template resolution was not checked.
"""

from __future__ import annotations

from ..model_files import shipped
from ..resolve import ResolvedModel, files_stop_ids
from .base import (Release, StopSet, architecture_names, config_data, encoder_decoder_key, renumbered, show, show_id,
                   tokenizer_eos_id, unique)
from .config_object import config_object_eos

_SOURCE = "vllm/v1/engine/input_processor.py, vllm/sampling_params.py update_from_generation_config"
RELEASES = (
    Release("vLLM 0.34.0", (0, 34), f"vllm-project/vllm 0.34.0 (PyPI wheel; transformers ≤ 5.22) {_SOURCE}"),
    Release("vLLM ≤ 0.33.0", None, f"vllm-project/vllm 0.33.0 (g4ba787ec9; transformers ≤ 5.20) {_SOURCE}"),
)
NUMBERINGS = dict(zip(RELEASES, ("5.25", "5.19")))  # whose numbering the raw ids are read in (docstring)
# the encoder-decoder architectures of data/vllm_registry.json (0.34.0's) that 0.33.0's registry.py does not have
NOT_IN_0_33 = frozenset({"CanaryForConditionalGeneration"})


def serving(model: ResolvedModel, release: Release = RELEASES[0]) -> tuple[str, str]:
    """(why vLLM cannot serve the folder, or ""; the plugin it needs to, or ""): an encoder-decoder model is served
    only by an implementation of vLLM's own or a plugin's (module docstring)."""
    config = config_data(model)
    key = encoder_decoder_key(config) if isinstance(config, dict) else ""
    if not key:
        return "", ""
    names = architecture_names(config)
    table = shipped("vllm_registry.json")
    served = set(table["encoder_decoder"]) - (NOT_IN_0_33 if release is not RELEASES[0] else set())
    version = table["vllm"] if release is RELEASES[0] else "0.33.0"
    if any(name in served for name in names):
        return "", ""
    plugin = next((f"{name} with the plugin {table['plugins'][name]}" for name in names if name in table["plugins"]),
                  "")
    if plugin:
        return "", plugin
    shown = ", ".join(names) or "a folder naming no architectures"
    return (f"vLLM {version} cannot serve the encoder-decoder {shown} ({key}: its scheduler refuses an "
            "encoder-decoder model it has no implementation of, vllm/v1/core/sched/scheduler.py)"), ""


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    refused, plugin = serving(model, release)
    if refused:
        return StopSet("vllm", (), refused, "none in these files: serve the model with another runtime", None,
                       unknown=refused)
    stops = _stop_set(model, release)
    # a chat without tools renders the processor's default template, where it has one (module docstring)
    template = model.files.processor_default()
    if template:
        stops = stops._with(template=template)
    return stops._with(why=f"{stops.why} (served as {plugin} only)") if plugin else stops


def _stop_set(model: ResolvedModel, release: Release) -> StopSet:
    primary = tokenizer_eos_id(model)
    numbering = NUMBERINGS[release]
    stop = files_stop_ids(model.files)  # the folder's own, not an inner model's (model_files.GENERATING_SECTIONS)
    if model.files.generation_config is not None or stop.present:
        stop_ids, moved = renumbered(model, stop.ids, numbering)
        ids = unique([primary, *stop_ids])
        source = "generation_config.json" if model.files.generation_config is not None else "config.json"
        # the key it was read from: text_config's where config.json's top level holds null
        read = stop.where.describe() if stop.where is not None and stop.where.keys[-1:] == ("eos_token_id",) \
            else f"{source} eos_token_id"
        why = f"tokenizer eos {show_id(primary)} ∪ {read} {show(stop.ids)}{moved}"
        return StopSet("vllm", ids, why, f"add the id to {source} eos_token_id, or pass stop_token_ids per request",
                       stop.where)
    found = config_object_eos(model)
    found_ids, moved = renumbered(model, found.ids, numbering)
    ids = unique([primary, *found_ids])
    why = f"tokenizer eos {show_id(primary)} ∪ {found.describe()}{moved} (no generation_config.json)"
    return StopSet("vllm", ids, why, "add the id to config.json eos_token_id, or create generation_config.json",
                   stop.where or found.where, unknown="" if found.known else found.how)
