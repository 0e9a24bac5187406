"""Ollama (0.30 and later): its converter's eos, served by llama.cpp's end-of-generation rule.

Converter source: ollama/ollama ``convert/tokenizer.go`` ``parseTokenizer`` and ``convert/convert.go``
(commit fb30760996, v0.33.0-rc2): the eos is tokenizer_config.json's ``eos_token`` matched to the **last**
tokenizer.json ``added_tokens`` entry with that content; config.json is never read; a generation_config.json
eos **list** is written as ``tokenizer.ggml.eos_token_ids``, which llama-server (Ollama's engine for GGUF
since 0.30, PR #16031) does not read. Serving follows ``llama_cpp.end_of_generation`` at the build Ollama
pins: ``LLAMA_CPP_VERSION`` b10488 in v0.33.0-rc2, so the older text list (no ``<|eot|>``) applies.

``ollama create`` converts only the classes ``convert/convert.go`` ``LoadModelMetadata`` lists for config.json's
``architectures[0]`` (:data:`CONVERTED_ARCHITECTURES`); for any other it stops with ``unsupported architecture``
(MistralForCausalLM since v0.6.5, commit 6bd0a983c; Qwen3ForCausalLM, Glm4MoeForCausalLM, ...), and Ollama's
maintainers point to llama.cpp's ``convert_hf_to_gguf.py``, whose GGUF Ollama then serves: such a folder's stop
set is that converter's eos (``llama_cpp.converter_special``) with the end-of-generation texts of b10488.

Stop strings do not help for special tokens: Ollama passes ``PARAMETER stop`` to llama-server's
``/completion`` (``llm/llama_server.go:1569``), which matches them against rendered text, and a CONTROL token
renders as empty text without ``--special`` (llama.cpp ``tools/server/server-context.cpp:3781-3784``). The fix
advised for a special terminator is therefore in the files or the GGUF, never a stop string.
Not modelled: GLM-4-MoE-Lite's extra eot/eom from the eos list (``convert/convert_glm4moelite.go``), and
Ollama's MLX engine.
"""

from __future__ import annotations

from ..resolve import ResolvedModel
from .base import (Release, StopSet, added_token_declared_id, config_architecture, show, tokenizer_config_eos,
                   tokenizer_eos_place)
from .llama_cpp import EOG_B11067, cannot_convert, converter_special, describe_special, end_of_generation

RELEASES = (Release("Ollama 0.30 – 0.33 (llama.cpp b10488)", None,
                    "ollama/ollama fb30760996 (v0.33.0-rc2) convert/tokenizer.go parseTokenizer; llama.cpp b10488"),)

SPECIAL_FIX = ("set tokenizer_config.json eos_token to the terminator before `ollama create`; for a GGUF already made, "
               "rewrite its metadata (gguf-py gguf_new_metadata.py --special-token eos TEXT) and create the model "
               "again (a Modelfile PARAMETER stop never matches a special token: it is rendered as empty text)")
CONVERTED_ARCHITECTURES = frozenset({  # convert/convert.go LoadModelMetadata at fb30760996, in its order
    "LlamaForCausalLM", "MllamaForConditionalGeneration", "Llama4ForConditionalGeneration",
    "Mistral3ForConditionalGeneration", "Ministral3ForCausalLM", "MixtralForCausalLM", "GemmaForCausalLM",
    "Gemma2ForCausalLM", "Gemma3ForCausalLM", "Gemma3ForConditionalGeneration", "Gemma3TextModel",
    "Gemma3nForConditionalGeneration", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration", "Phi3ForCausalLM",
    "Qwen2ForCausalLM", "Qwen2_5_VLForConditionalGeneration", "Qwen3VLForConditionalGeneration",
    "Qwen3VLMoeForConditionalGeneration", "Olmo3ForCausalLM", "BertModel", "NomicBertModel", "NomicBertMoEModel",
    "CohereForCausalLM", "GptOssForCausalLM", "DeepseekOCRForCausalLM", "DeepseekV3ForCausalLM",
    "Glm4MoeLiteForCausalLM", "LagunaForCausalLM", "GlmOcrForConditionalGeneration", "Lfm2ForCausalLM",
    "Lfm2MoeForCausalLM", "Lfm2VlForConditionalGeneration", "Qwen3NextForCausalLM",
    "Qwen3_5ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration", "NemotronH_Nano_VL_V2",
    "NemotronH_Nano_Omni_Reasoning_V3", "NemotronHForCausalLM",
})

SPECIAL_FIX_GGUF = ("set tokenizer_config.json eos_token to the terminator before converting with llama.cpp's "
                    "convert_hf_to_gguf.py (`ollama create` cannot convert this architecture); for a GGUF already "
                    "made, rewrite its metadata (gguf-py gguf_new_metadata.py --special-token eos TEXT) and create "
                    "the model again")
TEXT_FIX = ('add PARAMETER stop "{text}" to the Modelfile (the terminator is not a special token, so the stop '
            "string matches), or set tokenizer_config.json eos_token to it before {step}")


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    architecture = config_architecture(model)
    if model.files.config is not None and architecture not in CONVERTED_ARCHITECTURES:
        return _through_llama_cpp(model, architecture)
    content = tokenizer_config_eos(model)
    eos = added_token_declared_id(model, content, last=True) if content and model.files.tokenizer else None
    special = {"eos": eos} if eos is not None else {}
    ids = end_of_generation(model, special, EOG_B11067)
    source = describe_special(special, "tokenizer_config.json eos_token")
    if content and model.files.tokenizer is None:  # not the value's fault: the converter has nowhere to look it up
        source = "GGUF eos unknown (no tokenizer.json, whose added_tokens give the converter the eos_token's id)"
    elif model.files.tokenizer_config is None:
        source = "GGUF eos unknown (no tokenizer_config.json, whose eos_token the converter reads)"
    elif not content:
        source = "GGUF eos unknown (tokenizer_config.json names no eos_token, which the converter reads)"
    why = f"{source} ∪ llama.cpp b10488 end-of-generation texts → {show(ids)}"
    return StopSet("ollama", ids, why, _fix(model), tokenizer_eos_place(model))


def _through_llama_cpp(model: ResolvedModel, architecture: str | None) -> StopSet:
    """A folder ``ollama create`` refuses: served from the GGUF llama.cpp's converter writes, if it writes one."""
    refused = (f"`ollama create` cannot convert {architecture} (convert.go: unsupported architecture)" if architecture
               else "`ollama create` cannot convert the folder (config.json names no architecture: convert.go: "
                    "unknown architecture)")
    why_not, fix = cannot_convert(model)
    if why_not:
        reason = f"{refused}; {why_not}"
        return StopSet("ollama", (), reason, fix, None, unknown=reason)
    special, source = converter_special(model)
    ids = end_of_generation(model, special, EOG_B11067)
    why = (f"{refused}; from the GGUF llama.cpp's convert_hf_to_gguf.py writes: {describe_special(special, source)} "
           f"∪ llama.cpp b10488 end-of-generation texts → {show(ids)}")
    return StopSet("ollama", ids, why, _fix(model, converted=False), tokenizer_eos_place(model))


def _fix(model: ResolvedModel, converted: bool = True) -> str:
    """What to change; ``converted``: whether ``ollama create`` converts the folder itself."""
    terminator = model.terminator
    text = terminator.token if terminator is not None else None
    added = model.vocab.added.get(text) if text else None
    if text and (added is None or not added.special):
        return TEXT_FIX.format(text=text, step="`ollama create`" if converted else "converting with convert_hf_to_gguf.py")
    return SPECIAL_FIX if converted else SPECIAL_FIX_GGUF
