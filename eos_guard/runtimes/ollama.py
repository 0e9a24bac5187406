"""Ollama (0.32.15 to 0.33; 0.30 to 0.32.5 lack one end-of-generation text): its converter's eos, served by
llama.cpp's end-of-generation rule.

Converter source: ollama/ollama ``convert/tokenizer.go`` ``parseTokenizer`` and ``convert/convert.go``
(commit fb30760996, v0.33.0-rc2): the eos is tokenizer_config.json's ``eos_token`` matched to the **last**
tokenizer.json ``added_tokens`` entry with that content; config.json is never read; a generation_config.json
eos **list** is written as ``tokenizer.ggml.eos_token_ids`` (only when the eos was found), which llama.cpp does
not read: no ``src/llama-arch.cpp`` key has that name, in the tree Ollama vendored until 0.30 (ec98e2002) nor in
a later one (00395eb285), and Ollama's patches leave ``llama-vocab.cpp`` alone; the Go engine that read it was
removed in 0.30 (PR #16031), and the MLX engine, the only other, serves no GGUF. Serving follows
``llama_cpp.end_of_generation`` at the build Ollama pins: ``LLAMA_CPP_VERSION`` b10488 from v0.32.15 to
v0.33.0-rc2, so the older text list (no ``<|eot|>``) applies. Earlier releases pin older builds (v0.30.0 b9452 ...
v0.32.14 b10434); those to v0.32.5 (b10091 and before) also lack ``[e~[`` among the texts, so a MiniMax-style
terminator stops there only as the GGUF's eos or eot (the text lists of those builds are not modelled).

The converter's ``KV`` for some classes sets ids itself (:data:`ARCHITECTURE_OVERRIDES`): Gemma and Gemma 2 eot
107 (``convert_gemma.go``, ``convert_gemma2.go``), gpt-oss eos 199999 (``convert_gptoss.go``), GLM-OCR eot
``<|user|>`` (``convert_glmocr.go`` ``applyGlmOcrTokenizerKV``), and GLM-4.7-Flash eot and eom from the second and
third ids of that eos list (``convert_glm4moelite.go`` ``setGLM4MoeLiteExtraEOGFromEOSIDs``; its chat turns end
with ``<|user|>``, the second). Ollama's load-time translation (``llama/compat/llama-ollama-compat.cpp``
``translate_metadata``) changes these keys in two handlers only: ``handle_glm4moelite`` for an arch
``glm4moelite`` GGUF, which this converter no longer writes (it writes ``deepseek2``), and
``handle_llama3_metadata``, which makes a Llama 3 GGUF's eos and eot 128009 when its eos is 128001: 128009 is
``<|eot_id|>`` there (a condition of the handler), which stops by its text already, so the set changes only
where id 128001 is not a text that stops (not modelled).

``ollama create`` converts only the classes ``convert/convert.go`` ``LoadModelMetadata`` lists for config.json's
``architectures[0]`` (:data:`CONVERTED_ARCHITECTURES`); for any other it stops with ``unsupported architecture``
(MistralForCausalLM since v0.6.5, commit 6bd0a983c; Qwen3ForCausalLM, Glm4MoeForCausalLM, ...), and Ollama's
maintainers point to llama.cpp's ``convert_hf_to_gguf.py``, whose GGUF Ollama then serves: such a folder's stop
set is that converter's eos (``llama_cpp_converter.converter_special``) with the end-of-generation texts of b10488.
So is a folder with neither tokenizer.model nor tokenizer.json (Kimi-K2's tiktoken.model, a tekken.json-only
Mistral): ``convert/tokenizer.go`` ``parseVocabulary`` stops on it ("unknown tokenizer format"); a tokenizer.model
that is text (a tiktoken file so named, an unfetched Git LFS pointer) counts as none, since ``parser/parser.go``
``filesForModel`` sends tokenizer.model only when Go sniffs it as application/octet-stream
(``model_files.binary_head``); beside a tokenizer.json, that one is read instead.

Stop strings do not help for special tokens: Ollama passes ``PARAMETER stop`` to llama-server's
``/completion`` (``llm/llama_server.go:1569``), which matches them against rendered text, and a CONTROL token
renders as empty text without ``--special`` (llama.cpp ``tools/server/server-context.cpp:3781-3784``). The fix
advised for a special terminator is therefore in the files or the GGUF, never a stop string.
Not modelled: the MLX engine (``x/mlxrunner``), which serves only models made with ``ollama create
--experimental`` and stops on generation_config.json's eos ids, else config.json's, else the eos_token
(``x/tokenizer/tokenizer_load.go`` ``applySpecialTokenConfig``); the stop strings ``ollama create`` adds itself
(Gemma 4's ``<turn|>``, ``server/create.go:801-809``; a recognised chat template's list, ``server/model.go``
``detectChatTemplate``), which match only text that is not a special token; special ids at or above the
vocabulary size, which llama.cpp replaces by its default.
"""

from __future__ import annotations

from ..resolve import ResolvedModel
from .base import (Release, StopSet, added_token_declared_id, config_architecture, config_eos_place,
                   generation_eos, show, tokenizer_config_eos, tokenizer_eos_place)
from .llama_cpp import EOG_B11067, end_of_generation, texts_that_stop
from .llama_cpp_converter import converted, describe_special

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable

    from ..resolve import Where

RELEASES = (Release("Ollama 0.32.15 – 0.33 (llama.cpp b10488)", None,
                    "ollama/ollama fb30760996 (v0.33.0-rc2) convert/tokenizer.go parseTokenizer; llama.cpp b10488"),)

SPECIAL_FIX = ("set tokenizer_config.json eos_token to the terminator before `ollama create`; for a GGUF already made, "
               "rewrite its metadata (gguf-py gguf_new_metadata.py --special-token eos TEXT) and create the model "
               "again (a Modelfile PARAMETER stop never matches a special token: it is rendered as empty text)")
# parseTokenizer looks eos_token up in tokenizer.json's added_tokens only: without that file it writes no eos
SPECIAL_FIX_WITHOUT_TOKENIZER_JSON = (
    "save the tokenizer with tokenizer_config.json eos_token set to the terminator so that the folder has a "
    "tokenizer.json (AutoTokenizer.from_pretrained(folder).save_pretrained(folder)) before `ollama create`, which "
    "looks eos_token up in tokenizer.json's added_tokens and without that file writes no eos; for a GGUF already "
    "made, rewrite its metadata (gguf-py gguf_new_metadata.py --special-token eos TEXT) and create the model again")
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
                    "convert_hf_to_gguf.py (`ollama create` cannot convert this folder); for a GGUF already "
                    "made, rewrite its metadata (gguf-py gguf_new_metadata.py --special-token eos TEXT) and create "
                    "the model again")
SPECIAL_FIX_GGUF_WITHOUT_TOKENIZER_JSON = (
    "set config.json eos_token_id to the terminator's id, a single int, before converting with llama.cpp's "
    "convert_hf_to_gguf.py (`ollama create` cannot convert this folder; without tokenizer.json that converter "
    "reads the eos there, not tokenizer_config.json's eos_token, and skips a list); for a GGUF already made, rewrite "
    "its metadata (gguf-py gguf_new_metadata.py --special-token eos TEXT) and create the model again")
TEXT_FIX = ('add PARAMETER stop "{text}" to the Modelfile (the terminator is not a special token, so the stop '
            "string matches), or set tokenizer_config.json eos_token to it before {step}")


def _eos_token_ids(model: ResolvedModel) -> list[int] | None:
    """``tokenizer.ggml.eos_token_ids``: generation_config.json's eos_token_id when Go decodes it as ``[]int32``
    (``parseTokenizer``; a null entry becomes 0, any other non-integer fails and the list is not written)."""
    value: Any = generation_eos(model)
    if not isinstance(value, list):
        return None
    ids = [0 if item is None else item for item in value]
    if all(isinstance(i, int) and not isinstance(i, bool) and -2**31 <= i < 2**31 for i in ids):
        return ids
    return None


def _glm4_moe_lite(model: ResolvedModel, ids: dict[str, int]) -> None:
    """setGLM4MoeLiteExtraEOGFromEOSIDs: eot and eom are the eos list's second and third ids (when not negative);
    the list is written only when the eos_token was found."""
    listed = _eos_token_ids(model) if "eos" in ids else None
    for kind, index in (("eot", 1), ("eom", 2)):
        if listed is not None and len(listed) > index and listed[index] >= 0:
            ids[kind] = listed[index]


def _glm_ocr(model: ResolvedModel, ids: dict[str, int]) -> None:
    """applyGlmOcrTokenizerKV: eot is ``<|user|>``'s place in the converter's token list (glmOcrTokenID), its id
    where the ids have no gaps."""
    token_id = model.vocab.id_of("<|user|>")
    if token_id is not None:
        ids["eot"] = token_id


def _fixed(kind: str, token_id: int) -> Callable[[ResolvedModel, dict[str, int]], None]:
    def write(model: ResolvedModel, ids: dict[str, int]) -> None:
        ids[kind] = token_id
    return write


# config.json architectures[0] -> what the class LoadModelMetadata picks writes in its KV (fb30760996)
ARCHITECTURE_OVERRIDES: dict[str, Callable[[ResolvedModel, dict[str, int]], None]] = {
    "GemmaForCausalLM": _fixed("eot", 107),  # convert_gemma.go gemmaModel.KV
    "Gemma2ForCausalLM": _fixed("eot", 107),  # convert_gemma2.go gemma2Model.KV
    "GptOssForCausalLM": _fixed("eos", 199999),  # convert_gptoss.go gptossModel.KV: <|endoftext|>
    "Glm4MoeLiteForCausalLM": _glm4_moe_lite,  # convert_glm4moelite.go glm4MoeLiteModel.KV
    "GlmOcrForConditionalGeneration": _glm_ocr,  # convert_glmocr.go KV and TextKV
}


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    architecture = config_architecture(model)
    if model.files.config is not None and architecture not in CONVERTED_ARCHITECTURES:
        return _through_llama_cpp(model, f"`ollama create` cannot convert {architecture} (convert.go: unsupported "
                                         "architecture)" if architecture else
                                  "`ollama create` cannot convert the folder (config.json names no architecture: "
                                  "convert.go: unknown architecture)")
    sent = model.files.vocabulary_names - ({"tokenizer.model"} if model.files.spm_unsent else set())
    if model.files.config is not None and not sent:
        text_spm = " (its tokenizer.model is text or cannot be read, and parser.go filesForModel does not send it)" \
            if model.files.spm_unsent else ""
        return _through_llama_cpp(model, "`ollama create` cannot read the folder's vocabulary (neither "
                                         f"tokenizer.model nor tokenizer.json{text_spm}: convert/tokenizer.go "
                                         "parseVocabulary, unknown tokenizer format)")
    special, source = gguf_special_ids(model)
    ids = end_of_generation(model, special, EOG_B11067)
    why = f"{source} ∪ llama.cpp b10488 {texts_that_stop(model, EOG_B11067)} → {show(ids)}"
    return StopSet("ollama", ids, why, *_fix(model))


def gguf_special_ids(model: ResolvedModel) -> tuple[dict[str, int], str]:
    """``{"eos": id, "eot": id, "eom": id}`` as ``ollama create`` writes them (only the keys it sets), and where
    they come from (for ``explain``)."""
    architecture = config_architecture(model)
    content = tokenizer_config_eos(model)
    eos = added_token_declared_id(model, content, last=True) if content and model.files.tokenizer else None
    found = {"eos": eos} if eos is not None else {}
    special = dict(found)
    override = ARCHITECTURE_OVERRIDES.get(architecture) if architecture else None
    if override is not None:
        override(model, special)
    changed = [f"{kind} {token_id}" for kind, token_id in special.items() if found.get(kind) != token_id]
    note = f"Ollama's converter for {architecture} sets {', '.join(changed)}" if changed else ""
    if "eos" in special:
        origin = "; ".join(part for part in ("tokenizer_config.json eos_token" if found else "", note) if part)
        return special, describe_special(special, origin)
    if content and model.files.tokenizer is None:  # not the value's fault: the converter has nowhere to look it up
        source = "GGUF eos unknown (no tokenizer.json, whose added_tokens give the converter the eos_token's id)"
    elif model.files.tokenizer_config is None:
        source = "GGUF eos unknown (no tokenizer_config.json, whose eos_token the converter reads)"
    elif not content:
        source = "GGUF eos unknown (tokenizer_config.json names no eos_token, which the converter reads)"
    else:
        source = describe_special(special, "tokenizer_config.json eos_token")
    return special, f"{source}; {note}" if note else source


def _through_llama_cpp(model: ResolvedModel, refused: str) -> StopSet:
    """A folder ``ollama create`` refuses (``refused`` says why): served from the GGUF llama.cpp's converter writes,
    if it writes one."""
    (why_not, fix), (special, source) = converted(model)
    if why_not:
        reason = f"{refused}; {why_not}"
        return StopSet("ollama", (), reason, fix, None, unknown=reason)
    ids = end_of_generation(model, special, EOG_B11067)
    why = (f"{refused}; from the GGUF llama.cpp's convert_hf_to_gguf.py writes: {describe_special(special, source)} "
           f"∪ llama.cpp b10488 {texts_that_stop(model, EOG_B11067)} → {show(ids)}")
    return StopSet("ollama", ids, why, *_fix(model, converted=False))



def _fix(model: ResolvedModel, converted: bool = True) -> tuple[str, Where | None]:
    """What to change, and where; ``converted``: whether ``ollama create`` converts the folder itself. Without
    tokenizer.json neither converter finds eos_token's id: Ollama's writes no eos, llama.cpp's reads config.json's
    eos_token_id."""
    terminator = model.terminator
    text = terminator.token if terminator is not None else None
    added = model.vocab.added.get(text) if text else None
    where = tokenizer_eos_place(model)
    if text and (added is None or not added.special):
        step = "`ollama create`" if converted else "converting with convert_hf_to_gguf.py"
        return TEXT_FIX.format(text=text, step=step), where
    if model.files.tokenizer is not None:
        return (SPECIAL_FIX if converted else SPECIAL_FIX_GGUF), where
    if converted:
        return SPECIAL_FIX_WITHOUT_TOKENIZER_JSON, where
    return SPECIAL_FIX_GGUF_WITHOUT_TOKENIZER_JSON, config_eos_place(model) or where
