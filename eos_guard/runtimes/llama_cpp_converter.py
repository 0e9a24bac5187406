"""llama.cpp's ``convert_hf_to_gguf.py``: whether it converts a folder, and the eos/eot/eom ids the GGUF it writes
carries (the stop set is llama_cpp.py's, at run time).

Converter source: ggml-org/llama.cpp ``gguf-py/gguf/vocab.py`` ``SpecialVocab._try_load_from_tokenizer_json``,
``_try_load_from_config_json`` and ``_set_special_token`` (commit 0c1c9d33a805; identical in the ``gguf`` 0.19.0
package, which the tests use as the oracle). The eos is tokenizer_config.json's ``eos_token`` string, matched
to the **first** tokenizer.json ``added_tokens`` entry with that content (its ``"id"`` field); a
``TemplateProcessing`` post-processor whose ``single`` template ends with another special token makes that
token the eos and the old one the eot. Failing that, config.json's ``eos_token_id`` (top level, else
``text_config``) when it is an int. generation_config.json and special_tokens_map.json are never read.

Which class converts the folder (b11549, as xllamacpp 2026.10.11549 vendors it; its ``conversion/base.py`` and
``gguf-py/gguf/vocab.py`` differ from b11413's (0c1e57098, llama-cpp-python 0.3.36) in nothing read here but the
architectures, PLaMo's eot and the checkpoint loaders below): ``conversion/base.py``
``get_model_architecture`` takes config.json's ``architectures[0]``, or the text config's when that names one
(``load_hparams`` renames ``llm_config``, ``lm_config``, ``thinker_config.text_config``, ``language_config`` and
``lfm`` to ``text_config``); ``get_model_class`` raises for a name ``TEXT_MODEL_MAP`` lacks
(``data/llama_cpp_architectures.json``, written by ``scripts/llama_cpp_architectures.py``), and a config.json
naming none stops it too, as does what makes gguf-py's SpecialVocab raise on config.json (a negative
``<type>_token_id``; a ``text_config`` that is no object): no GGUF, so the stop set is unknown. Older builds may
convert fewer architectures. Not modelled: from b11549, ``load_hparams`` first asks every registered checkpoint
loader, which converts a folder it recognises whatever config.json's architecture (decision and speech models,
not chat models: Clef ``joint_head_config.json``, Lev ``lev_release.json``, Kev and Nimble LoRA adapters,
OpenJev ``helper/shim.py``, pplx-decider ``decision_config.json``, ModernBERT decision ``encoder/config.json``;
D1 by config.json's ``auto_map`` ``AutoModel`` and D1-omni by its ``model_type`` ``d1_omni``; pocket-tts by its
tensors, which b11413 tried only without a config.json).

Architecture overrides (``ARCHITECTURE_OVERRIDES``; ``convert_hf_to_gguf.py`` at 0024aa7417ef, checked against
the ``conversion/`` packages of b11413, which also has Glm5Next, Dots3, Muse-Glimmer, Laguna and Kimi-K3, and
b11549, whose new classes set no special id): GLM-4 and ChatGLM add ``<|user|>`` as eot (GLM-4-MoE and GLM-5-Next
also ``<|observation|>`` as eom), Dots3 ``<|endofassistant|>``, Muse-Glimmer ``<|eot|>``, Laguna the first
non-bos id of its eos list, Gemma (1) ``<end_of_turn>`` 107, PLaMo 2 ``<|plamo:op|>`` and PLaMo 3
``<|plamo:tag|>`` (b11549, their ids in tokenizer.jsonl; b11413 wrote id 4, ``<|plamo:op|>``'s, for both), CodeLlama (vocab_size 32016, for Llama's class and those
inheriting its ``set_vocab``) 32010, Solar Open ``<|endoftext|>``; InternLM2, InternLM3 and Qwen3-Omni/ASR make ``<|im_end|>``
the eos, Kimi-K3 its config's ``eos_token_id``, and HunYuan its config's ``eod_token_id`` (text config first;
3, the transformers class default, when none is written), eot: generation_config.json's first eos id. What GLM,
Dots3 and Solar Open set with ``_set_special_token`` stands only where SpecialVocab set no id of that kind (it
does not overwrite); the others write theirs over it. Config values are read from config.json with its text
config over it (``TextModel.__init__``); the class defaults AutoConfig adds in ``load_hparams`` are modelled for
HunYuan's ``eod_token_id`` only.

Not modelled: an eom SpecialVocab makes of a second TemplateProcessing swap; ids at or past the vocabulary size,
which SentencePiece paths skip; the converter's own transformers (its requirements pin 4.57.6), which numbers
some folders' added tokens otherwise than the 5.x numbering used here (files that disagree on ids, EOS009;
model-specific tokens 4.x does not add);
``convert_hf_to_gguf.py``'s refusal of a tokenizer.json id at or past config.json's ``vocab_size`` (EOS006
reports it); the ids InternLM2/3 and Qwen3-Omni read from the files' declarations rather than
transformers' numbering (they differ only where the files disagree, EOS009); PLaMo's tokenizer.jsonl (the ids
of its eos and eot where no other file gives them; the refusal of a folder without it, of a tokenizer_class
other than Plamo2Tokenizer or Plamo3Tokenizer, and from b11549 of a tokenizer.jsonl without the eot's text);
overrides of classes for less common architectures (RWKV, Kimi-Linear, MPT's SEA-LION fallback, Qwen v1
tiktoken, Refact, Mistral's own format and tekken.json-only Llama folders, GLM-ASR, draft models).
"""

from __future__ import annotations

from ..jsonspan import KIND_NAMES
from ..model_files import SPM_FILE, listed_vocabulary_files, shipped_names
from ..resolve import ResolvedModel, is_listed_id
from .base import added_token_declared_id, config_data, generation_eos

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable

CONVERTER_BUILD = "b11549"  # the converter data/llama_cpp_architectures.json is read from


# load_hparams (conversion/base.py) renames these config keys to text_config, in this order (the last one there wins):
# InternVL, GLM-ASR, Qwen2.5-Omni's thinker, DeepSeek-OCR, LFM2-Audio
TEXT_CONFIG_KEYS = (("llm_config",), ("lm_config",), ("thinker_config", "text_config"), ("language_config",),
                    ("lfm",))
# get_model_architecture routes these on the top-level architecture even when text_config names another
TOP_LEVEL_ROUTED = ("StepVLForConditionalGeneration", "Sarashina2VisionForCausalLM",
                    "Exaone4_5_ForConditionalGeneration", "Step3p7ForConditionalGeneration",
                    "KimiK3ForConditionalGeneration")


def converter_architecture(model: ResolvedModel) -> str | None:
    """The architecture ``convert_hf_to_gguf.py`` picks its text class by (conversion/base.py
    ``get_model_architecture``): config.json's ``architectures[0]`` (a Mamba config without it: its ``ssm_cfg``
    layer), replaced by the text config's when that names one. None when it finds none (the converter stops:
    "Failed to detect model architecture")."""
    config = config_data(model)
    if not isinstance(config, dict):
        return None
    names, ssm = config.get("architectures"), config.get("ssm_cfg")
    arch = None
    if isinstance(names, list) and names:
        arch = names[0]
    elif isinstance(ssm, dict):
        arch = f"{ssm.get('layer', 'Mamba')}ForCausalLM"
    if arch in TOP_LEVEL_ROUTED:
        return arch
    text = config.get("text_config")
    for keys in TEXT_CONFIG_KEYS:
        value: Any = config
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        text = value if keys[0] in config else text
    names = text.get("architectures") if isinstance(text, dict) else None
    if isinstance(names, list) and names:
        arch = names[0]
    return arch if isinstance(arch, str) else None


def converts(architecture: str | None) -> bool:
    """Whether ``convert_hf_to_gguf.py`` has a text class for the architecture (data/llama_cpp_architectures.json)."""
    return architecture in shipped_names("llama_cpp_architectures.json", "architectures")


# gguf-py SpecialVocab's default special_token_types: each one's config.json <type>_token_id is read
SPECIAL_TYPES = ("bos", "eos", "unk", "sep", "pad", "cls", "mask")
_HUNYUAN_CLASSES = ("HunYuanDenseV1ForCausalLM", "HunYuanVLForConditionalGeneration")


def cannot_convert(model: ResolvedModel) -> tuple[str, str]:
    """Why ``convert_hf_to_gguf.py`` makes no GGUF of the folder and what to change, or ("", "") when it converts
    it (or when the folder has no config.json to say: the check is of its tokenizer files alone)."""
    if model.files.config is None:
        return "", ""
    architecture = converter_architecture(model)
    if architecture is None:
        return ("llama.cpp's convert_hf_to_gguf.py cannot convert the folder (config.json names no architecture: "
                "\"Failed to detect model architecture\")", "name the model's class in config.json architectures")
    if not converts(architecture):
        return (f"llama.cpp's convert_hf_to_gguf.py ({CONVERTER_BUILD}) cannot convert {architecture} (no class "
                "for it: \"not supported\")", "none in these files: serve the model with another runtime")
    return _sentencepiece_missing(model, architecture) or _glm_tokens_missing(model, architecture) \
        or _special_vocab_raises(model, architecture)


# Classes whose set_vocab reads tokenizer.model alone, with no tokenizer.json fallback (b11549's conversion/ package;
# every registered class's set_vocab, inherited ones included, read for it): those that call _set_vocab_sentencepiece
# or _create_vocab_sentencepiece, which raise FileNotFoundError without the file (gemma.py GemmaModel and
# Gemma2Model, Gemma 3's falls back to tokenizer.json; ernie.py Ernie4_5Model, whose set_vocab Ernie4_5MoeModel and
# PaddleOCRModel inherit; internlm.py InternLM3Model; nemotron.py NemotronModel, not Nemotron-H's; baichuan.py,
# bitnet.py, minicpm.py MiniCPMModel and MiniCPM3Model, orion.py, pangu.py PanguEmbeddedModel, plamo.py PlamoModel,
# PLaMo 2 and 3 read tokenizer.jsonl), and those that open it themselves and exit with "Error: Missing
# tokenizer.model" (internlm.py InternLM2Model, arctic.py ArcticModel; phi.py Phi3MiniModel unless
# tokenizer_config.json's tokenizer_class is GPT2Tokenizer, Phi-4, a key it reads with [], so a KeyError without
# it). transformers 5's save_pretrained writes no tokenizer.model. (T5's classes also take spiece.model: not listed.)
SENTENCEPIECE_ONLY = {"GemmaForCausalLM": "gemma.py GemmaModel", "Gemma2ForCausalLM": "gemma.py Gemma2Model",
                      "Phi3ForCausalLM": "phi.py Phi3MiniModel", "Phi4ForCausalLMV": "phi.py Phi3MiniModel",
                      "PhiMoEForCausalLM": "phi.py PhiMoeModel (Phi3MiniModel's)",
                      "Ernie4_5_ForCausalLM": "ernie.py Ernie4_5Model", "Ernie4_5ForCausalLM": "ernie.py Ernie4_5Model",
                      "Ernie4_5_MoeForCausalLM": "ernie.py Ernie4_5MoeModel (Ernie4_5Model's)",
                      "PaddleOCRVLForConditionalGeneration": "ernie.py PaddleOCRModel (Ernie4_5Model's)",
                      "InternLM2ForCausalLM": "internlm.py InternLM2Model",
                      "InternLM3ForCausalLM": "internlm.py InternLM3Model",
                      "NemotronForCausalLM": "nemotron.py NemotronModel",
                      "BaichuanForCausalLM": "baichuan.py BaichuanModel",
                      "BaiChuanForCausalLM": "baichuan.py BaichuanModel",
                      "BitnetForCausalLM": "bitnet.py BitnetModel", "BitNetForCausalLM": "bitnet.py BitnetModel",
                      "MiniCPMForCausalLM": "minicpm.py MiniCPMModel",
                      "MiniCPM3ForCausalLM": "minicpm.py MiniCPM3Model", "OrionForCausalLM": "orion.py OrionModel",
                      "PanguEmbeddedForCausalLM": "pangu.py PanguEmbeddedModel",
                      "PlamoForCausalLM": "plamo.py PlamoModel", "ArcticForCausalLM": "arctic.py ArcticModel"}


def _glm_tokens_missing(model: ResolvedModel, architecture: str) -> tuple[str, str] | None:
    """ChatGLM's class (conversion ChatGLMModel.set_vocab) takes the GLM-4 path unless config.json's
    ``_name_or_path`` names THUDM/chatglm3-6b, and there reads ``tokenizer.get_added_vocab()["<|endoftext|>"]`` and
    ``["<|user|>"]``: a ChatGLM3 fine-tune saved from a local path, whose tokenizer has neither, raises KeyError."""
    if architecture not in ("ChatGLMModel", "ChatGLMForConditionalGeneration", "GlmForCausalLM") or _chatglm3(model):
        return None
    # absent from the vocabulary altogether and named nowhere in tokenizer_config.json: a token named only among its
    # special tokens is still one get_added_vocab() gives under the converter's transformers 4.x (a slow tokenizer
    # adds them), and a remote-code tokenizer's vocabulary (ChatGLM4Tokenizer's tiktoken file) is not read here
    named = model.files.tokenizer_config.text if model.files.tokenizer_config is not None else ""
    missing = [text for text in ("<|endoftext|>", "<|user|>") if model.vocab.id_of(text) is None and text not in named]
    if not missing:
        return None
    return (f"llama.cpp's convert_hf_to_gguf.py cannot convert {architecture}: config.json _name_or_path does not name "
            f"THUDM/chatglm3-6b, so its GLM-4 path reads the added token '{missing[0]}', which the tokenizer does not "
            "have (KeyError)", "none in these files for another tokenizer; a ChatGLM3 model converts with config.json "
            "_name_or_path naming THUDM/chatglm3-6b")


def _sentencepiece_missing(model: ResolvedModel, architecture: str) -> tuple[str, str] | None:
    """Why a class that reads tokenizer.model alone cannot convert the folder (SENTENCEPIECE_ONLY), or None."""
    where = SENTENCEPIECE_ONLY.get(architecture)
    if where is None:
        return None
    if where.startswith("phi.py") and model.files.tokenizer_config is not None:
        data = model.files.tokenizer_config.data
        tokenizer_class = data.get("tokenizer_class") if isinstance(data, dict) else None
        if tokenizer_class == "GPT2Tokenizer":
            return None  # Phi-4: the tokenizer.json path
        if isinstance(data, dict) and "tokenizer_class" not in data:  # null is read, and is no GPT2Tokenizer
            return (f"llama.cpp's convert_hf_to_gguf.py cannot convert {architecture}: {where}.set_vocab reads "
                    "tokenizer_config.json's tokenizer_class, which it does not have (KeyError)",
                    "set tokenizer_config.json tokenizer_class (GPT2Tokenizer for a tokenizer.json-only folder)")
    if SPM_FILE in model.files.vocabulary_names or SPM_FILE in listed_vocabulary_files(model.folder):
        return None
    return (f"llama.cpp's convert_hf_to_gguf.py cannot convert {architecture} without tokenizer.model: {where}"
            ".set_vocab reads the SentencePiece file alone (transformers 5's save_pretrained writes tokenizer.json "
            "only)", "copy the base model's tokenizer.model into the folder before converting")


def _special_vocab_raises(model: ResolvedModel, architecture: str) -> tuple[str, str]:
    """gguf-py's SpecialVocab reading config.json (vocab.py ``_try_load_from_config_json``): a negative
    ``<type>_token_id`` raises ValueError in ``_set_special_token`` (before it looks whether the type is set),
    and a text_config that is no object where it looks one up raises AttributeError. HunYuan's class leaves pad
    out when its pad_token_id is negative (hunyuan.py)."""
    config = config_data(model)
    if not isinstance(config, dict):
        return "", ""
    types = SPECIAL_TYPES
    pad = hparams(model).get("pad_token_id")
    if architecture in _HUNYUAN_CLASSES and isinstance(pad, int) and pad < 0:
        types = tuple(t for t in types if t != "pad")
    for kind in types:
        key = f"{kind}_token_id"
        value, where = config.get(key), key
        if value is None and "text_config" in config:
            text = config["text_config"]
            if not isinstance(text, dict):
                return (f"llama.cpp's convert_hf_to_gguf.py cannot convert the folder (config.json text_config is "
                        f"{KIND_NAMES.get(type(text), 'a value')}, where gguf-py's SpecialVocab looks {key} up)",
                        "make config.json text_config an object, or remove it")
            value, where = text.get(key), f"text_config.{key}"
        if isinstance(value, int) and value < 0:
            return (f"llama.cpp's convert_hf_to_gguf.py cannot convert the folder (config.json {where} is {value}: "
                    f"gguf-py's SpecialVocab raises \"invalid value for special token type {kind}\")",
                    f"remove {where} from config.json, or set it to a token id")
    return "", ""


def converter_special_ids(model: ResolvedModel) -> dict[str, int]:
    """``{"eos": id, "eot": id, "eom": id}`` as the converter writes them (only the keys it sets)."""
    return converter_special(model)[0]


def converter_special(model: ResolvedModel) -> tuple[dict[str, int], str]:
    """:func:`converter_special_ids`, and which file value the eos comes from (for ``explain``): gguf-py's
    SpecialVocab, then what the converter's class for the architecture sets itself."""
    ids, source = special_vocab(model)
    architecture = converter_architecture(model)  # the converter class it registers picks the overrides
    override = ARCHITECTURE_OVERRIDES.get(architecture)
    if override is not None:
        before = dict(ids)
        override(model, ids)
        changed = [kind for kind in ids if ids[kind] != before.get(kind)]
        if "eos" in changed and "eos" in before:  # the class's eos replaces the file's: said first
            others = "".join(f", and {kind} {ids[kind]}" for kind in changed if kind != "eos")
            source = f"convert_hf_to_gguf.py's class for {architecture}, which sets eos {ids['eos']} over " \
                     f"{source}'s {before['eos']}{others}"
        elif changed:
            source += f"; convert_hf_to_gguf.py's class for {architecture} sets " + ", ".join(
                f"{kind} {ids[kind]}" for kind in changed)
    return ids, source


def special_vocab(model: ResolvedModel) -> tuple[dict[str, int], str]:
    """``{"eos": id, "eot": id}`` as gguf-py's SpecialVocab sets them (only the keys it sets), and the source."""
    ids: dict[str, int] = {}
    source = "tokenizer_config.json eos_token"
    tc = model.files.tokenizer_config
    tokenizer = model.files.tokenizer
    tc_data = tc.data if tc is not None and isinstance(tc.data, dict) else None
    missing = [name for name, doc in (("tokenizer.json", tokenizer), ("tokenizer_config.json", tc)) if doc is None]
    if missing:
        source = f"no {' or '.join(missing)}, where gguf-py's SpecialVocab reads the eos"
    if tokenizer is not None and tc_data:
        eos_entry: Any = tc_data.get("eos_token")
        if not eos_entry and tc_data.get("sep_token"):
            eos_entry, source = tc_data["sep_token"], "tokenizer_config.json sep_token"
        eot_entry: Any = None
        post = tokenizer.get(("post_processor",))
        processors = post.get("processors", [post]) if isinstance(post, dict) else []
        for processor in processors:
            if not isinstance(processor, dict) or processor.get("type") != "TemplateProcessing":
                continue
            single = processor.get("single", [])
            special = single[-1].get("SpecialToken") if isinstance(single, list) and len(single) > 1 \
                and isinstance(single[-1], dict) else None
            if isinstance(special, dict):  # another kind stops the converter too (AttributeError): not modelled
                last = special.get("id")
                if last and last != eos_entry:
                    eot_entry, eos_entry = eos_entry, last
                    source = "tokenizer.json post_processor, eot: tokenizer_config.json eos_token"
        for kind, entry in (("eos", eos_entry), ("eot", eot_entry)):
            content = entry.get("content") if isinstance(entry, dict) else entry
            if isinstance(content, str):
                token_id = added_token_declared_id(model, content)
                if token_id is not None and token_id >= 0:
                    ids[kind] = token_id
    if "eos" not in ids and model.files.config is not None and isinstance(model.files.config.data, dict):
        config = model.files.config.data
        value = config.get("eos_token_id")
        if value is None and isinstance(config.get("text_config"), dict):
            value = config["text_config"].get("eos_token_id")
        if is_listed_id(value):
            ids["eos"] = value
            source = "config.json eos_token_id"
        elif isinstance(value, list) and missing:  # what explain says is why the GGUF has no eos
            source += "; config.json eos_token_id is a list, which it skips (_set_special_token)"
    return ids, source


def _added(model: ResolvedModel, text: str) -> int | None:
    """``tokenizer.get_added_vocab()[text]`` as the converter asks it (transformers' id), None when not added."""
    token = model.vocab.added.get(text)
    return token.id if token is not None else None


def _set(ids: dict[str, int], kind: str, token_id: int | None, overwrite: bool = True) -> None:
    """``special_vocab._set_special_token`` on the SpecialVocab that read the files (``overwrite=False``: it keeps
    any id of that kind SpecialVocab found, an eot from a TemplateProcessing too), or the class writing the id
    itself (a second SpecialVocab, ``gguf_writer.add_*_token_id``, ``special_token_ids[...] =``)."""
    if token_id is not None and (overwrite or kind not in ids):
        ids[kind] = token_id


def _chatglm3(model: ResolvedModel) -> bool:
    """Whether ChatGLM's class takes its ChatGLM3 path (``set_vocab_chatglm3``): config.json's ``_name_or_path``
    names THUDM/chatglm3-6b."""
    config = model.files.config
    return config is not None and "THUDM/chatglm3-6b" in str(config.get(("_name_or_path",), ""))


def _glm(model: ResolvedModel, ids: dict[str, int]) -> None:  # Glm4Model, ChatGLMModel, _set_vocab_glmedge
    if _chatglm3(model):
        return  # set_vocab_chatglm3: a plain SpecialVocab
    _set(ids, "eos", _added(model, "<|endoftext|>"), overwrite=False)
    _set(ids, "eot", _added(model, "<|user|>"), overwrite=False)


def _glm_moe(model: ResolvedModel, ids: dict[str, int]) -> None:  # _set_vocab_glm
    _set(ids, "eot", _added(model, "<|user|>"), overwrite=False)
    _set(ids, "eom", _added(model, "<|observation|>"), overwrite=False)


def _solar_open(model: ResolvedModel, ids: dict[str, int]) -> None:
    _set(ids, "eos", _added(model, "<|endoftext|>"), overwrite=False)
    _set(ids, "eot", _added(model, "<|endoftext|>"), overwrite=False)


def _code_llama(model: ResolvedModel, ids: dict[str, int]) -> None:  # LlamaModel.set_vocab
    if hparams(model).get("vocab_size", 32000) == 32016:
        _set(ids, "eot", 32010)


def _im_end_is_eos(model: ResolvedModel, ids: dict[str, int]) -> None:  # InternLM2, Qwen3-Omni, Qwen3-ASR
    _set(ids, "eos", _added(model, "<|im_end|>"))


def _internlm3(model: ResolvedModel, ids: dict[str, int]) -> None:
    token = model.vocab.added.get("<|im_end|>")
    if "eos" in ids and token is not None and token.special:
        _set(ids, "eos", token.id)


def hparams(model: ResolvedModel) -> dict[str, Any]:
    """The converter class's ``self.hparams``: config.json with its text config's keys over it
    (``TextModel.__init__``; ``load_hparams`` reads it through AutoConfig, whose class defaults are not modelled
    here but for HunYuan's ``eod_token_id``)."""
    config = config_data(model)
    if not isinstance(config, dict):
        return {}
    text = config.get("text_config")
    return {**config, **text} if isinstance(text, dict) else config


# model types whose transformers config class defaults eod_token_id to 3 (configuration_hunyuan_v1_dense.py,
# HunYuanVLTextConfig in configuration_hunyuan_vl.py, transformers 5.24), which AutoConfig's to_dict writes
HUNYUAN_EOD_DEFAULT = ("hunyuan_v1_dense", "hunyuan_vl")


def _hunyuan(model: ResolvedModel, ids: dict[str, int]) -> None:  # HunYuanModel.set_vocab (hunyuan.py)
    merged = hparams(model)
    eod = merged.get("eod_token_id", 3 if merged.get("model_type") in HUNYUAN_EOD_DEFAULT else None)
    _set(ids, "eos", eod if is_listed_id(eod) else None)
    eos = generation_eos(model)
    if isinstance(eos, list) and len(eos) >= 2 and is_listed_id(eos[0]):
        _set(ids, "eot", eos[0])


def _laguna(model: ResolvedModel, ids: dict[str, int]) -> None:  # LagunaModel.set_vocab (laguna.py)
    merged = hparams(model)
    eos = merged.get("eos_token_id")
    extra = [i for i in eos if i != merged.get("bos_token_id")] if isinstance(eos, list) else []
    _set(ids, "eot", extra[0] if extra and is_listed_id(extra[0]) else None)


def _kimi_k3(model: ResolvedModel, ids: dict[str, int]) -> None:  # KimiK3Model.set_vocab (kimi_k3.py)
    eos = hparams(model).get("eos_token_id")
    _set(ids, "eos", eos if is_listed_id(eos) else None)


def _fixed(kind: str, token_id: int) -> Callable[[ResolvedModel, dict[str, int]], None]:
    return lambda model, ids: _set(ids, kind, token_id)


def _eot_text(text: str, usual: int | None = None) -> Callable[[ResolvedModel, dict[str, int]], None]:
    """``_set_vocab_plamo(eot_token=...)`` (b11549): the eot is that token's id in tokenizer.jsonl, which eos-guard
    does not read: its id in the folder's vocabulary when the files give it one, else ``usual``, its id in the
    model family's tokenizer.jsonl (PLaMo 2's ``<|plamo:op|>`` is 4: b11413 wrote 4 as that token's id)."""
    def set_eot(model: ResolvedModel, ids: dict[str, int]) -> None:
        found = model.vocab.id_of(text)
        _set(ids, "eot", found if found is not None else usual)
    return set_eot


# the names whose class is LlamaModel or inherits its set_vocab (b11413 and b11549; not the Eagle3 draft models, whose vocabulary
# comes from --target-model-dir)
_LLAMA_CLASSES = ("LLaMAForCausalLM", "LlamaForCausalLM", "MistralForCausalLM", "MixtralForCausalLM",
                  "VLlama3ForCausalLM", "LlavaForConditionalGeneration", "LlamaModel",
                  "VoxtralForConditionalGeneration", "IQuestCoderForCausalLM", "AfmoeForCausalLM", "ApertusForCausalLM",
                  "ArceeForCausalLM",
                  "CogVLMForCausalLM", "GraniteForCausalLM", "GraniteMoeForCausalLM", "GraniteMoeSWAForCausalLM",
                  "GraniteMoeSharedForCausalLM", "GraniteSWAForCausalLM", "GraniteSwitchForCausalLM",
                  "JanusForConditionalGeneration", "LlamaBidirectionalModel", "NanbeigeForCausalLM",
                  "Sarashina2VisionForCausalLM", "SmolLM3ForCausalLM")
# config.json architectures[0] -> what convert_hf_to_gguf.py's class for it does to the special ids
ARCHITECTURE_OVERRIDES: dict[str, Callable[[ResolvedModel, dict[str, int]], None]] = {
    **dict.fromkeys(("Glm4ForCausalLM", "Glm4vForConditionalGeneration", "GlmOcrForConditionalGeneration",
                     "GlmForCausalLM", "ChatGLMModel", "ChatGLMForConditionalGeneration"), _glm),
    **dict.fromkeys(("Glm4MoeForCausalLM", "Glm4vMoeForConditionalGeneration", "Glm4MoeLiteForCausalLM",
                     "GlmMoeDsaForCausalLM", "Glm5NextForConditionalGeneration"), _glm_moe),
    **dict.fromkeys(("Dots3NoteForCausalLM", "Dots3NoteForConditionalGeneration", "Dots3NoteTextForCausalLM"),
                    lambda model, ids: _set(ids, "eot", _added(model, "<|endofassistant|>"), overwrite=False)),
    "MuseGlimmerForConditionalGeneration": lambda model, ids: _set(ids, "eot", model.vocab.id_of("<|eot|>")),
    "LagunaForCausalLM": _laguna,
    "KimiK3ForConditionalGeneration": _kimi_k3,
    "SolarOpenForCausalLM": _solar_open,
    "GemmaForCausalLM": _fixed("eot", 107),
    **dict.fromkeys(("Plamo2ForCausalLM", "PLaMo2ForCausalLM"), _eot_text("<|plamo:op|>", usual=4)),
    **dict.fromkeys(("Plamo3ForCausalLM", "PLaMo3ForCausalLM"), _eot_text("<|plamo:tag|>")),
    **dict.fromkeys(_LLAMA_CLASSES, _code_llama),
    **dict.fromkeys(("InternLM2ForCausalLM", "Qwen3OmniMoeForConditionalGeneration",
                     "Qwen3ASRForConditionalGeneration"), _im_end_is_eos),
    "InternLM3ForCausalLM": _internlm3,
    **dict.fromkeys(("HunYuanDenseV1ForCausalLM", "HunYuanVLForConditionalGeneration"), _hunyuan),
}


def describe_special(special: dict[str, int], source: str) -> str:
    """``GGUF eos 7 + eot 2 (from ...)``, or why the GGUF would have no eos (never ``None``)."""
    if "eos" not in special:
        if source.startswith("no "):  # the files it reads are not there
            return f"GGUF eos unknown ({source})"
        return f"GGUF eos unknown ({source} names no token the files give an id)"
    parts = [f"GGUF eos {special['eos']}"] + ([f"eot {special['eot']}"] if "eot" in special else [])
    return " + ".join(parts) + f" (from {source})"


_MEMO = "_llama_cpp_converted"


def converted(model: ResolvedModel) -> tuple[tuple[str, str], tuple[dict[str, int], str]]:
    """:func:`cannot_convert` and :func:`converter_special` of the folder, worked out once: every release line
    (and Ollama, for an architecture it cannot convert) asks. The ids are shared: callers only read them."""
    memo = model.__dict__.get(_MEMO)
    if memo is None:
        refused = cannot_convert(model)
        memo = model.__dict__[_MEMO] = (refused, ({}, "") if refused[0] else converter_special(model))
    return memo


def forget_converted(model: ResolvedModel) -> None:
    """Drop what :func:`converted` kept once the stop sets are made: a run over many folders keeps every report,
    and this was a few hundred bytes of each (docs/performance.md)."""
    model.__dict__.pop(_MEMO, None)
