"""Finds model folders and reads each of their files once, keeping the text so values can be located.

A model folder is one that holds generation_config.json, tokenizer_config.json or a model's config.json
(:data:`MODEL_CONFIG_KEYS`). Which chat
templates count follows transformers 5.x (``PreTrainedTokenizerBase._from_pretrained``):
chat_template.jinja and additional_chat_templates/*.jinja replace tokenizer_config.json's ``chat_template``
entirely; chat_template.json is read only by processors and is checked as a template of its own where
AutoProcessor builds one for the folder, or where the tokenizer has no template (ModelFiles._builds_processor).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from functools import cache
from pathlib import Path

from .errors import InputError, forget_real_paths, real_folder
from .findings import Location
from .jsonspan import KIND_NAMES, JsonDocument, KeyPath, NotRead, Where, dotted, read_bytes, read_text
from .records import field, record, replace

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator

    from .spm_model import SentencePieceModel

MODEL_MARKERS = ("config.json", "generation_config.json", "tokenizer_config.json")
JSON_FILES = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
              "added_tokens.json", "tokenizer.json", "chat_template.json", "processor_config.json")
TEMPLATE_FILE = "chat_template.jinja"
TEMPLATE_DIR = "additional_chat_templates"
PROCESSOR_TEMPLATE = "chat_template.json"  # a processor's template, checked under this name next to the tokenizer's
PROCESSOR_CONFIG = "processor_config.json"  # its chat_template, when set, is the processor's instead
# the files whose presence may make AutoProcessor build a processor (ModelFiles._builds_processor)
# an image or video processor's config: read only for the processor class it names (ModelFiles._builds_processor:
# without one of these, AutoProcessor builds no processor, the one reader of chat_template.json); the pre-commit
# hooks run on them too
PROCESSOR_MARKERS = ("preprocessor_config.json", "video_preprocessor_config.json")
PROCESSOR_FILES = (PROCESSOR_CONFIG, *PROCESSOR_MARKERS)
# the keys under which processor_config.json nests a sub-processor's config (ModelFiles._builds_processor)
SUB_PROCESSORS = ("image_processor", "video_processor", "feature_extractor", "audio_processor")
ADAPTER_CONFIG = "adapter_config.json"  # a PEFT adapter: generate() runs with its base model's configs
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")  # PEFT's save_pretrained
# the weight files of a whole model (model.safetensors, model-00001-of-00004.safetensors, their index,
# pytorch_model.bin, Mistral's consolidated.safetensors, TensorFlow's and Flax's, and torchtune's hf_model_0001_0.pt:
# FullModelHFCheckpointer.save_checkpoint without safe_serialization, beside a LoRA run's adapter files), by the start
# and end of their names
WHOLE_MODEL_WEIGHTS = ("model.", "model-", "pytorch_model", "consolidated", "tf_model", "flax_model", "hf_model_")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".h5", ".msgpack", ".index.json")
# PEFT's TaskType values of adapters on a head that cannot generate (peft/utils/peft_types.py TaskType)
ADAPTER_TASKS_WITHOUT_GENERATE = ("SEQ_CLS", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION")
# an ONNX Runtime GenAI export (onnxruntime-genai's model builder writes it next to the ONNX weights): that runtime
# stops on its model.eos_token_id, and no runtime that loads a Hugging Face checkpoint loads the folder
GENAI_CONFIG = "genai_config.json"
# the weights' names: a causal LM's checkpoint holds these (ModelFiles.weights_of_a_causal_lm)
SAFETENSORS_INDEX, SAFETENSORS_FILE = "model.safetensors.index.json", "model.safetensors"
LM_HEAD = "lm_head."
# the base model inside a ...ForCausalLM, as transformers saves it (a vision-language model's too, in the layout its
# older releases wrote); the towers beside it
BASE_MODEL_TENSORS = ("model.", "language_model.model.")
TOWER_TENSORS = ("vision_tower.", "multi_modal_projector.")
MODULES_CONFIG = "modules.json"  # a sentence-transformers model's modules: one that pools makes it an embedding model
# the module types vLLM takes for a Pooling module (vllm/transformers_utils/config.py _ST_POOLING_MODULE_TYPES,
# 0.33.0 and 0.34.0)
POOLING_MODULES = ("sentence_transformers.models.Pooling",
                   "sentence_transformers.sentence_transformer.modules.pooling.Pooling")


def is_processor_template(name: str) -> bool:
    """Whether a template's name (``ModelFiles.templates``) is one of a processor's (chat_template.json's, or
    processor_config.json's)."""
    return name.partition(":")[0] in (PROCESSOR_TEMPLATE, PROCESSOR_CONFIG)


# Real tokenizer.json files reach ~35 MB. One laid out as the tokenizers library writes it is read without parsing it
# whole (about its size in memory); any other is parsed whole, and parsed JSON can take ~25 times its size
# ([[],[],...]): a hostile 100 MB one costs ~2.6 GB and ~15 s, once per folder (a folder's files are dropped after it).
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
# Every other file: configs, added tokens, templates. Gemma 3's tokenizer_config.json (6,000 added tokens) is 1.2 MB;
# parsed JSON can take ~25 times its size ([{},{},...]), so this bounds each of them to ~100 MB once parsed.
DEFAULT_MAX_CONFIG_BYTES = 4 * 1024 * 1024
# Model types whose generate() runs the generate() of a model inside it, which stops on that model's own generation
# config: made from its section of config.json when the model is built (modeling_utils.py ``PreTrainedModel.__init__``:
# ``GenerationConfig.from_model_config(config)``), while loading gives generation_config.json to the outer model only
# (generation/utils.py ``adjust_generation_fn``), whose config generate() never uses. transformers 5.25
# models/qwen2_5_omni/modeling_qwen2_5_omni.py ``Qwen2_5OmniForConditionalGeneration.generate``:
# ``self.thinker.generate(input_ids=input_ids, **thinker_kwargs)``, the thinker built from ``config.thinker_config``
# (a default one, without an eos, where config.json has none or null); models/blip_2/modeling_blip_2.py
# ``Blip2ForConditionalGeneration.generate``: ``self.language_model.generate(**inputs, **generate_kwargs)``, built from
# ``config.text_config`` (so InstructBLIP's and InstructBLIPVideo's; Kosmos-2's ``self.text_model.generate``; BLIP's
# passes ``eos_token_id=text_config.sep_token_id`` itself: GENERATE_EOS_ARGUMENTS). A section that is neither an
# object nor null makes AutoConfig raise.
GENERATING_SECTIONS = {"qwen2_5_omni": "thinker_config", "blip-2": "text_config", "instructblip": "text_config",
                       "instructblipvideo": "text_config", "kosmos-2": "text_config"}
# Model types whose generate() passes the eos_token_id of the generate() it runs itself, which replaces the
# generation config's (transformers 5.25; a caller may pass another): models/qwen3_omni_moe/modeling_qwen3_omni_moe.py
# ``Qwen3OmniMoeForConditionalGeneration.generate(..., thinker_eos_token_id=151645)`` passes that argument to
# ``self.thinker.generate``; models/blip/modeling_blip.py ``BlipForConditionalGeneration.generate`` and
# ``BlipForQuestionAnswering.generate`` pass ``eos_token_id=self.config.text_config.sep_token_id`` to their text
# decoder's (BlipTextConfig's default 102, BERT's [SEP]). model type -> (the argument a caller passes instead, the
# config.json keys the ids come from or None for the argument's default, the default ids); tests/test_runtimes.py
# reads both kinds from the installed source.
GENERATE_EOS_ARGUMENTS = {"qwen3_omni_moe": ("thinker_eos_token_id", None, (151645,)),
                          "blip": ("eos_token_id", ("text_config", "sep_token_id"), (102,))}
# Model types whose config class declares ``eos_token_id: int | None`` (or ``int``), checked by huggingface_hub's
# strict dataclasses when the class is made: a list makes AutoConfig raise StrictDataclassFieldValidationError
# (transformers 5.25; tests/test_runtimes.py compares the set with every class of CONFIG_MAPPING). Such a config
# (top level, or a ``text_config`` of that type: Inkling's multimodal model's) holds one id: --fix never makes it a
# list, and stop ids go to generation_config.json, which takes a list.
INT_EOS_MODEL_TYPES = frozenset({
    "altclip_text_model", "canary", "canary_decoder", "chinese_clip_text_model", "cohere_asr", "gradium_phonon_tts",
    "inkling2_loop_text", "inkling2_text", "inkling_text", "muse_glimmer_assistant", "nomic_bert", "omniasr",
    "pocket_tts", "unispeech-sat", "vibevoice"})


# composite model type -> the model type of its text_config class (``sub_configs``, transformers 5.25), for the
# composites whose text config matters here: one that takes one id, one whose class default eos generate() stops on
# (resolve.SECTION_DEFAULT_EOS), one that cuts logits to unpadded_vocab_size. A text_config that names no model_type
# (or is missing or null) is of that class.
TEXT_CONFIG_TYPES = {"inkling_mm_model": "inkling_text", "inkling2": "inkling2_text",
                     "inkling2_loop": "inkling2_loop_text", "altclip": "altclip_text_model",
                     "chinese_clip": "chinese_clip_text_model", "blip-2": "opt", "instructblip": "opt",
                     "instructblipvideo": "opt", "kosmos-2": "kosmos_2_text_model"}
ONE_EOS_TEXT_CONFIGS = {outer: inner for outer, inner in TEXT_CONFIG_TYPES.items() if inner in INT_EOS_MODEL_TYPES}


def _at(data: Any, keys: KeyPath) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def section_model_type(config: Any, keys: KeyPath) -> str | None:
    """The model type of config.json's object at ``keys`` (its top level, or ``("text_config",)``): its own
    ``model_type``, else, for a text_config, its parent's text config class (TEXT_CONFIG_TYPES)."""
    data = _at(config, keys)
    own = data.get("model_type") if isinstance(data, dict) else None
    if not isinstance(own, str) and keys == ("text_config",) and isinstance(config, dict) \
            and isinstance(config.get("model_type"), str):
        own = TEXT_CONFIG_TYPES.get(config["model_type"])
    return own if isinstance(own, str) else None


def one_eos_type(config: Any, keys: KeyPath) -> str | None:
    """The model type of config.json's object at ``keys`` when that object is there and its config class takes one id
    (INT_EOS_MODEL_TYPES), else None."""
    kind = section_model_type(config, keys)
    return kind if kind in INT_EOS_MODEL_TYPES and isinstance(_at(config, keys), dict) else None


# files transformers reads as a JSON object (a dict): one of another kind stops it (AttributeError, TypeError),
# and what that stops; tokenizer.json's shape is checked with its parts (vocabulary._check_tokenizer_json)
OBJECT_FILES = {"config.json": "transformers cannot load the config",
                "generation_config.json": "transformers cannot load the generation config",
                "tokenizer_config.json": "transformers cannot load the tokenizer",
                "special_tokens_map.json": "transformers cannot load the tokenizer when it reads this file",
                "added_tokens.json": "transformers cannot load the tokenizer when it reads this file",
                GENAI_CONFIG: "onnxruntime-genai cannot load the model",
                "chat_template.json": "AutoProcessor raises on it"}
# read under max-file-size; the others under max-config-size. A SentencePiece model reaches ~5 MB (Gemma's 262k
# pieces), a vocab.json ~3 MB (Qwen's 151k entries).
LARGE_FILES = ("tokenizer.json", SPM_FILE := "tokenizer.model", VOCAB_FILE := "vocab.json")
MERGES_FILE = "merges.txt"
# Mistral's own tokenizer file: never read (only whether it is there: EOS031), and what mistral-common's tokenizer
# loads instead of the others where a runtime uses it
TEKKEN_FILE = "tekken.json"
# Every file of a model folder a check may read, beside additional_chat_templates/*.jinja (the vocabulary files only
# without tokenizer.json; tekken.json only noticed): what the pre-commit hooks run on, a Hub check fetches (not the
# vocabulary files, which its listing decides), and --fix compares before it writes.
VOCABULARY_FILES = (SPM_FILE, VOCAB_FILE, MERGES_FILE, TEKKEN_FILE)
# the files the ids of a folder's tokens come from: one that is there and was not read (EOS018) leaves them unknown
ID_FILES = ("tokenizer.json", "tokenizer_config.json", "added_tokens.json", SPM_FILE, VOCAB_FILE, TEKKEN_FILE)
CHECKED_FILES = (*JSON_FILES, TEMPLATE_FILE, ADAPTER_CONFIG, MODULES_CONFIG, GENAI_CONFIG, *VOCABULARY_FILES)
# what the pre-commit hooks run on (.pre-commit-hooks.yaml's files:, beside additional_chat_templates/*.jinja; cli's
# --pre-commit reads an argument so named as a PATH, never as an option): the checked files and those whose
# presence counts
HOOK_FILES = (*CHECKED_FILES, *PROCESSOR_MARKERS)
# The files transformers 5 takes a folder's vocabulary from when it has no tokenizer.json: any listed name this
# finds (tokenization_utils_base.py ``_from_pretrained``, lines 1728-1736 in 5.24), else the class's own files
VOCAB_FILE_PATTERN = re.compile(r"tekken\.json|tokenizer\.model\.*|tiktoken\.model")
# lost+found: a file system's own folder, readable by root only (a folder that cannot be listed is an error)
SKIPPED_DIRS = {"node_modules", "venv", "__pycache__", "site-packages", "lost+found"}
# Chat templates read per folder (real models have one to three): each probe is bounded by the template limits,
# so this bounds a folder's rendering time; the others are not read (EOS018).
MAX_TEMPLATES = 16
# class names of heads that cannot generate (transformers gives them no GenerationMixin): a model folder of one
# has no stop ids to check. The bare models AutoModel loads (BertModel, MistralModel), the encoders
# AutoModelForTextEncoding loads (T5EncoderModel) and the towers no Auto class loads (CLIPTextModelWithProjection)
# are listed by name in data/model_classes.json instead: a suffix cannot tell them apart (ChatGLM's remote-code
# generating class is ChatGLMModel).
NO_GENERATE = ("ForSequenceClassification", "ForTokenClassification", "ForMultipleChoice",
               "ForMaskedLM", "ForPreTraining", "ForNextSentencePrediction", "ForImageClassification",
               "ForAudioClassification", "ForAudioFrameClassification", "ForXVector", "ForObjectDetection",
               "ForSemanticSegmentation", "ForDepthEstimation", "ForZeroShotImageClassification")


# the Auto classes none of whose classes can generate in transformers 5.25 (tests/test_runtimes.py computes them):
# a remote class config.json's ``auto_map`` names only for these cannot (briaai/RMBG-1.4's BriaRMBG, an
# AutoModelForImageSegmentation). Not AutoModelForMaskedLM or AutoModelForPreTraining, which load BART's generating
# class among others.
NO_GENERATE_AUTO_CLASSES = frozenset(f"AutoModelFor{task}" for task in (
    "AudioClassification", "AudioFrameClassification", "AudioXVector", "Decision", "DepthEstimation",
    "DocumentQuestionAnswering", "ImageClassification", "ImageMatting", "ImageSegmentation", "ImageToImage",
    "InstanceSegmentation", "KeypointDetection", "KeypointMatching", "MaskGeneration", "MaskedImageModeling",
    "MultipleChoice", "NextSentencePrediction", "NormalEstimation", "ObjectDetection", "PointmapEstimation",
    "PoseEstimation", "QuestionAnswering", "SemanticSegmentation", "SequenceClassification",
    "TableQuestionAnswering", "TableRecognition", "TextEncoding", "TextRecognition", "TimeSeriesPrediction",
    "TokenClassification", "UniversalSegmentation", "VideoClassification", "ZeroShotImageClassification",
    "ZeroShotObjectDetection"))


def _cannot_generate(class_name: str) -> bool:
    if class_name.endswith(GENERATING):  # most folders: the table is not read
        return False
    return class_name.endswith(NO_GENERATE) or class_name in _non_generating_classes()


# class names that generate: no bare model's ends so (tests/test_runtimes.py reads the table)
GENERATING = ("ForCausalLM", "ForConditionalGeneration", "LMHeadModel")
# Classes whose generate() writes audio codes, not the tokenizer's tokens: the tokenizer is the text encoder's (T5's
# in MusicGen and Parler-TTS, BERT's in Bark), and the stop ids are codebook ids or none. transformers' MusicGen
# runs to max_length (models/musicgen/modeling_musicgen.py reads no eos_token_id; facebook/musicgen-*'s
# generation_config.json names none); BarkModel.generate stops on its generation_config.json's
# semantic_config.eos_token_id (10000, models/bark/generation_configuration_bark.py), not a top-level one;
# Parler-TTS (the parler_tts package) on its decoder's eos 1024, the codebook size. CSM (sesame/csm-1b) writes Mimi
# codebook frames and stops when a frame is all config.json's codebook_eos_token_id (0; CsmGenerationMixin._sample,
# models/csm/generation_csm.py, 5.24 and 5.25), with no eos_token_id in the configs its conversion writes; Dia
# (nari-labs/Dia-1.6B) writes DAC codes and stops on its decoder_config's eos 1024, past its byte tokenizer's 256 ids
# (DiaGenerationMixin._get_logits_processor, models/dia/generation_dia.py). Not listed: the text-to-speech classes
# whose generate() stops on a token of the folder's tokenizer (HiggsAudioV2ForConditionalGeneration writes
# config.json's eos_token_id, Llama 3's <|eot_id|>, once every codebook has ended, generation_higgs_audio_v2.py;
# VibeVoiceForConditionalGeneration picks among four Qwen2 tokens and stops on eos_token_id <|endoftext|>,
# generation_vibevoice.py) or writes text first (Qwen2.5-Omni's and Qwen3-Omni's thinker, SeamlessM4T). vLLM,
# SGLang, TGI, mlx-lm and llama.cpp serve none of these.
AUDIO_CODE_CLASSES = frozenset({"MusicgenForConditionalGeneration", "MusicgenForCausalLM",
                                "MusicgenMelodyForConditionalGeneration", "MusicgenMelodyForCausalLM", "BarkModel",
                                "ParlerTTSForConditionalGeneration", "ParlerTTSForCausalLM",
                                "CsmForConditionalGeneration", "DiaForConditionalGeneration"})


@cache
def shipped(file: str) -> dict[str, Any]:
    """A table in eos_guard/data, read when a run first needs it: for the first folder whose classes are not named
    as generating ones, whose model type TGI has no flash code for, or whose config.json llama.cpp's converter or
    mlx-lm looks its class up by (once per run)."""
    import json

    return json.loads((Path(__file__).parent / "data" / file).read_text(encoding="utf-8"))


@cache
def shipped_names(file: str, key: str) -> frozenset[str]:
    """A list of names in a table of eos_guard/data (class names, model types, architectures)."""
    return frozenset(shipped(file)[key])


def _headless_classes() -> frozenset[str]:
    """data/model_classes.json's classes without generate(): bare models, encoders, towers (scripts/model_classes.py)."""
    return shipped_names("model_classes.json", "headless")


@cache
def _non_generating_classes() -> frozenset[str]:
    """The bare models, and data/vllm_registry.json's architectures, which vLLM registers only as pooling models and
    transformers has no class of its own for (ColBERT's ``HF_ColBERT``, ``Qwen2ForRewardModel``:
    scripts/vllm_registry.py)."""
    return _headless_classes() | shipped_names("vllm_registry.json", "pooling")


@record(frozen=True)
class TemplateSource:
    """One chat template: its name, text, and where it is written."""

    name: str
    text: str
    path: Path
    document: JsonDocument | None = None  # the JSON file that holds it; None for a .jinja file
    keys: KeyPath = ()
    # the name under which the processor AutoProcessor builds holds it in its ``chat_template`` ("default", or
    # another one's name); "" where it is not the processor's (ModelFiles.processor_renders)
    processor: str = ""

    def location(self) -> Location:
        """Where a finding about the template points: its value in the JSON file, or the start of the .jinja."""
        if self.document is None:
            return Location(self.path, 1, 1, 1, 1)
        return Where(self.document, self.keys).location()


def _object(doc: JsonDocument) -> JsonDocument:
    """``doc``, when its file is one transformers reads as an object and it is one (else an InputError)."""
    consequence = OBJECT_FILES.get(doc.path.name)
    if consequence is not None and doc.kind(()) is not dict:
        line, column = doc.position(doc.nearest_span(())[0].start)
        raise InputError(doc.path, f"the file is {KIND_NAMES.get(doc.kind(()), 'a value')}, not an object: "
                                   f"{consequence}", line, column)
    if doc.path.name == "chat_template.json" and not doc.has(("chat_template",)):  # processing_utils.py reads
        # json.load(reader)["chat_template"]: a KeyError
        raise InputError(doc.path, f"the file has no chat_template: {consequence}", 1, 1)
    section = GENERATING_SECTIONS.get(doc.get(("model_type",))) if doc.path.name == "config.json" and \
        isinstance(doc.get(("model_type",)), str) else None
    if section is not None and doc.kind((section,)) not in (dict, type(None)) and doc.has((section,)):
        line, column = doc.position(doc.nearest_span((section,))[0].start)
        raise InputError(doc.path, f"{section} is {KIND_NAMES[doc.kind((section,))]}, not an object: {consequence}",
                         line, column)
    if doc.path.name == "config.json" and doc.kind(("model_type",)) in (list, dict):
        # AutoConfig looks the type up in a mapping (CONFIG_MAPPING[model_type]): a list or an object raises
        # TypeError, which neither AutoConfig nor AutoTokenizer's PreTrainedConfig fallback catches
        line, column = doc.position(doc.nearest_span(("model_type",))[0].start)
        raise InputError(doc.path, f"model_type is {KIND_NAMES[doc.kind(('model_type',))]}, not a string: "
                                   f"{consequence} or the tokenizer", line, column)
    if doc.path.name == "config.json":
        for keys in ((), ("text_config",)):
            kind = one_eos_type(doc.data, keys)
            if kind is not None and doc.kind(keys + ("eos_token_id",)) is list:
                line, column = doc.position(doc.nearest_span(keys + ("eos_token_id",))[0].start)
                raise InputError(doc.path, f"{dotted(keys + ('eos_token_id',))} is a list, but the "
                                           f"{kind} config class takes one id: "
                                           f"{consequence} (list the stop ids in generation_config.json)",
                                 line, column)
    return doc


@record
class ModelFiles:
    """The files of one model folder that eos-guard reads; ``None`` where a file does not exist."""

    folder: Path
    config: JsonDocument | None = None
    generation_config: JsonDocument | None = None
    # files that cannot be read (not valid JSON, ...) but that every runtime modelled loads the folder without
    # (_read_on_without): reported as errors (exit 2), and the folder is checked without them
    read_without: list[InputError] = field(default_factory=list)
    tokenizer_config: JsonDocument | None = None
    special_tokens_map: JsonDocument | None = None
    added_tokens: JsonDocument | None = None
    tokenizer: JsonDocument | None = None
    # without tokenizer.json: the vocabulary a tokenizer class may read instead (vocabulary.base_vocabulary says
    # which one it does), tokenizer.model when it is the only file transformers' pattern finds, else vocab.json
    # beside a merges.txt (its bytes)
    sp_model: SentencePieceModel | None = None
    vocab_json: tuple[Path, bytes] | None = None
    processor_template: JsonDocument | None = None
    processor_config: JsonDocument | None = None
    # a PEFT adapter's base model (adapter_config.json's base_model_name_or_path; "" when it does not say), None
    # for a folder that is no adapter
    adapter_base: str | None = None
    adapter_config: JsonDocument | None = None  # adapter_config.json, when it parses
    # an adapter's weights beside it and none of a whole model: configs here are a copy of the base model's (axolotl
    # saves the base's config.json next to every adapter), which nothing generates with (configs_elsewhere)
    adapter_weights_only: bool = False
    # the base model's config.json and generation_config.json, when adapter_base names a folder of the repository
    # by an absolute path (_base_configs)
    base_configs: ModelFiles | None = None
    # modules.json's Pooling module (its "path", or the module's place when it has none) in a sentence-transformers
    # folder, else None: vLLM runs the model as a pooling model (ModelFiles.generates)
    pooling_module: str | None = None
    # the names of the tensors the weights hold, read when a rule needs them (weights_of_a_causal_lm)
    _weight_names: frozenset[str] | None = field(default=None, repr=False, compare=False)
    genai_config: JsonDocument | None = None  # genai_config.json: the folder is an ONNX Runtime GenAI export
    templates: dict[str, TemplateSource] = field(default_factory=dict)
    baseline: dict[str, JsonDocument] = field(default_factory=dict)  # file name -> its earlier version
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # files not read, and why (EOS018)
    # which of tokenizer.json and tokenizer.model the folder has, read or not (Ollama's converter needs one of them)
    vocabulary_names: frozenset[str] = frozenset()
    # tokenizer.model's first bytes are text (a tiktoken file so named, a Git LFS pointer), or it cannot be read
    # (binary_head): `ollama create` does not send it. Looked at only without tokenizer.json (Ollama reads that one
    # then), so a folder with both opens no more files
    spm_unsent: bool = False
    # tekken.json, when the folder (or its Hub commit's listing) has one: never read (EOS031)
    tekken: Path | None = None
    # the GGUF files beside (a quantization repository's): a run that does not name them says so (cli)
    gguf_names: tuple[str, ...] = ()
    # tokenizer_config.json chat_template values apply_chat_template fails on (EOS014): (the template's name, or
    # None for the whole value; message; where)
    template_problems: list[tuple[Any, str, Where]] = field(default_factory=list)
    # the most bytes read of tokenizer.json and of every other file (max-file-size, max-config-size): one field, so
    # that an instance has at most 29 attributes, whose keys CPython 3.11 shares between the instances of a class
    # (one more gave each folder of a run its own key table: +1.3 KB a folder, tests/test_records.py)
    size_limits: tuple[int | None, int | None] = field(default=(DEFAULT_MAX_BYTES, DEFAULT_MAX_CONFIG_BYTES),
                                                       repr=False)
    root: Path | None = field(default=None, repr=False)  # where symbolic links may point

    @classmethod
    def read(cls, folder: Path, baseline_texts: dict[Path, str] | None = None,
             max_bytes: int | None = DEFAULT_MAX_BYTES,
             max_config_bytes: int | None = DEFAULT_MAX_CONFIG_BYTES,
             vouched_layout: Callable[[Path], tuple[int, int] | None] | None = None) -> ModelFiles:
        """Read every file the folder has; raises InputError for the first unreadable or malformed one.

        ``baseline_texts`` holds earlier versions of some files (from git); unparsable ones are ignored.
        Symbolic links that leave the repository, files that are not regular files, and files over their limit
        (``max_bytes`` for tokenizer.json, ``max_config_bytes`` for every other file) are not read: they are
        listed in ``skipped``. ``vouched_layout`` gives the vocabulary bounds that the cache vouches for in a
        tokenizer.json's bytes (vocabulary.warm_layout, in a run that uses the cache): such a file is read up to its
        vocabulary only, until more is asked of it.
        """
        files = cls(folder, size_limits=(max_bytes, max_config_bytes), root=trusted_root(folder))
        for path, text in (baseline_texts or {}).items():
            if path.parent == folder:
                try:
                    files.baseline[path.name] = JsonDocument(path, text)
                except InputError:
                    pass
        entries = _Entries(folder)
        for name, attribute in zip(JSON_FILES, ("config", "generation_config", "tokenizer_config",
                                                "special_tokens_map", "added_tokens", "tokenizer",
                                                "processor_template", "processor_config")):
            link = entries.link(name)
            if link is None:
                continue
            path = folder / name
            if files._followable(path, link):
                try:
                    document = JsonDocument.read(path, name == "tokenizer.json", *files._limit(name),
                                                 layout=vouched_layout(path) if vouched_layout is not None
                                                 and name == "tokenizer.json" else None)
                except NotRead as exc:
                    files.skipped.append((path, str(exc)))
                    continue
                except InputError as exc:
                    files.read_without.append(files._read_on_without(name, exc))
                    continue
                if name == "config.json" and document.kind(()) is dict \
                        and (not any(key in document.data for key in READ_CONFIG_NAMES)
                             or diffusers_config(document.data)
                             or set(document.data) == {"model_type"} and _ggml_beside(entries.links or (), folder)):
                    # no runtime loads it (a CTranslate2 conversion's, diffusers', the ctransformers stub beside
                    # GGUF files, on the Hub too): no model config
                    continue
                try:
                    setattr(files, attribute, _object(document))
                except InputError as exc:
                    files.read_without.append(files._read_on_without(name, exc, other_kind=True))
        if entries.link("tokenizer.json") is None:
            files._read_vocabulary_file(entries)
        unfetched = not_fetched(folder)
        for name, reason in unfetched.items():  # a Hub file over its limit was never downloaded
            if not os.path.lexists(folder / name):
                files.skipped.append((folder / name, reason))
        files.vocabulary_names = frozenset(name for name in ("tokenizer.json", SPM_FILE)
                                           if entries.link(name) is not None or name in unfetched)
        files.spm_unsent = files.vocabulary_names == {SPM_FILE} and entries.link(SPM_FILE) is not None \
            and not binary_head(folder / SPM_FILE, files.root)
        if entries.link(TEKKEN_FILE) is not None or TEKKEN_FILE in listed_vocabulary_files(folder):
            files.tekken = folder / TEKKEN_FILE
        files.templates = files._tokenizer_templates(entries)
        files._add_processor_templates(entries)
        files.gguf_names = tuple(sorted(name for name in entries.links or () if is_gguf_name(name)))
        if entries.link(ADAPTER_CONFIG) is not None:
            files.adapter_base = files._adapter_base(folder / ADAPTER_CONFIG)
            names = {*(entries.links or ()), *listed_names(folder)}  # a Hub snapshot downloads no weights
            files.adapter_weights_only = any(name in names for name in ADAPTER_WEIGHTS) and not any(
                name.startswith(WHOLE_MODEL_WEIGHTS) and name.endswith(WEIGHT_SUFFIXES) for name in names)
            files.base_configs = files._base_configs()
        link = entries.link(GENAI_CONFIG)
        if link is not None and files._followable(folder / GENAI_CONFIG, link):
            try:  # onnxruntime-genai fails on one that is not JSON or not an object: the folder's error (exit 2)
                files.genai_config = _object(JsonDocument.read(folder / GENAI_CONFIG, False,
                                                               *files._limit(GENAI_CONFIG)))
            except NotRead as exc:
                files.skipped.append((folder / GENAI_CONFIG, str(exc)))
        if entries.link(MODULES_CONFIG) is not None:
            files.pooling_module = files._pooling_module(folder / MODULES_CONFIG)
        return files

    def _read_vocabulary_file(self, entries: _Entries) -> None:
        """tokenizer.model, or vocab.json, for a folder without tokenizer.json. transformers takes the first listed
        name that :data:`VOCAB_FILE_PATTERN` finds (in the order the file system lists them), so only a folder where
        that is tokenizer.model alone is read; vocab.json only when there is none, and with merges.txt, without
        which GPT-2-style classes cannot load."""
        # a Hub snapshot holds only the files eos-guard fetched: its commit's listing names the others
        names = [*(entries.links or ()), *listed_vocabulary_files(self.folder)]
        name = vocabulary_file_read(names, lambda wanted: entries.link(wanted) is not None)
        if name is None:
            return
        path = self.folder / name
        if not self._followable(path, bool(entries.link(name))):
            return
        try:
            raw = read_bytes(path, *self._limit(name))
        except NotRead as exc:
            self.skipped.append((path, str(exc)))
            return
        if name == SPM_FILE:
            from .spm_model import SentencePieceModel  # only a folder without tokenizer.json that has one

            self.sp_model = SentencePieceModel(path, raw)
        else:
            self.vocab_json = (path, raw)

    @classmethod
    def read_configs(cls, folder: Path, max_config_bytes: int | None = DEFAULT_MAX_CONFIG_BYTES) -> ModelFiles | None:
        """Only config.json and generation_config.json of ``folder`` (a PEFT adapter's base model, EOS027), or None
        when neither can be read as an object: what generate() takes its stop ids from, without the tokenizer."""
        files = cls(folder, size_limits=(DEFAULT_MAX_BYTES, max_config_bytes), root=trusted_root(folder))
        for name, attribute in (("config.json", "config"), ("generation_config.json", "generation_config")):
            path = folder / name
            try:
                if files._readable(path):
                    setattr(files, attribute, _object(JsonDocument.read(path, False, *files._limit(name))))
            except (InputError, NotRead, OSError):
                if attribute == "generation_config":
                    return None  # transformers would fall back to config.json: not followed here
        return files if files.config is not None or files.generation_config is not None else None

    def _adapter_base(self, path: Path) -> str:
        """adapter_config.json's base model, or "" when it cannot be read (PEFT reads it, not transformers: a
        broken one is no error of the tokenizer's or the configs')."""
        try:
            if not self._readable(path):
                return ""
            self.adapter_config = JsonDocument.read(path, False, *self._limit(path.name))
        except (InputError, NotRead, OSError):
            return ""
        value = self.adapter_config.get(("base_model_name_or_path",))
        return value if isinstance(value, str) else ""

    def _base_configs(self) -> ModelFiles | None:
        """The configs of the folder adapter_config.json names by an absolute path (or one from ``~``), as a training
        script that loaded its base model from a local folder writes it, when that folder is in the repository. A
        relative path names a folder relative to where the adapter is loaded, which is not known here, and a Hub name
        is not fetched: those are not read. Nor is a folder outside the repository (its git work tree, else the
        adapter folder): adapter_config.json may come from an untrusted pull request (docs/security.md)."""
        base = self.adapter_base or ""
        if not base.startswith(("/", "~")):
            return None
        folder = Path(os.path.expanduser(base))
        root = self.root or trusted_root(self.folder)
        if not is_within(Path(os.path.realpath(folder)), root) or not folder.is_dir():
            return None
        return ModelFiles.read_configs(folder, self.size_limits[1])

    @property
    def weights_of_a_causal_lm(self) -> bool:
        """Whether the folder's weights are a causal LM's, as model.safetensors.index.json's ``weight_map`` or
        model.safetensors' header names them: a language-model head (``lm_head``, also inside another part:
        ``language_model.lm_head``), or, with tied embeddings (:attr:`_ties_embeddings`), every tensor under the base
        model inside a ``...ForCausalLM`` (``model.``, as transformers saves the Llama-family classes) and a
        vision-language model's towers (a head of another kind beside it, a reward model's ``score.``, is no causal
        LM). Such weights under an ``architectures`` that names a bare model (``Qwen2Model``) are run as a causal LM by
        pipeline() and the runtimes that pick a class by ``model_type`` (helper-157: the edit turned every rule off),
        where that type generates (:attr:`_type_generates_as_causal_lm`). False without either file, or when it
        cannot be read (an LFS pointer)."""
        names = self.weight_names
        if any(name.startswith(LM_HEAD) or f".{LM_HEAD}" in name for name in names):
            return True
        # every tensor under the base model (and a vision-language model's towers; no head of another kind beside
        # it, as a reward model's score. or v_head.), with tied embeddings: the output layer is the embedding itself
        return self._ties_embeddings and any(name.startswith(BASE_MODEL_TENSORS) for name in names) \
            and all(name.startswith((*BASE_MODEL_TENSORS, *TOWER_TENSORS)) for name in names)

    @property
    def _ties_embeddings(self) -> bool:
        """config.json's ``tie_word_embeddings`` (its text config's), else its config class's default
        (data/model_classes.json ``types_tying_embeddings``: Gemma's True, Llama's and Qwen2's False)."""
        config = self.config
        if config is None:
            return False
        for keys in (("tie_word_embeddings",), ("text_config", "tie_word_embeddings")):
            if isinstance(config.get(keys), bool):
                return config.get(keys)
        kind = config.get(("model_type",))
        return isinstance(kind, str) and kind in shipped_names("model_classes.json", "types_tying_embeddings")

    @property
    def _type_generates_as_causal_lm(self) -> bool:
        """Whether config.json's ``model_type`` has a class transformers can generate with (not an encoder's type:
        RoBERTa's and ESM's masked-LM heads are named ``lm_head`` too)."""
        kind, generation = self._model_type_generation
        return kind is not None and not generation

    @property
    def _model_type_generation(self) -> tuple[str | None, str]:
        """config.json's ``model_type`` (None when it names none) and how transformers generates with it: "none" (no
        class of it can: data/model_classes.json ``types_without_generate``), "encoder" (only an encoder's causal-LM
        head, which needs ``is_decoder``, and config.json does not set it: ``types_generating_only_as_decoders``),
        else "" (a class of it can, or transformers does not know the type)."""
        config = self.config
        kind = config.get(("model_type",)) if config is not None else None
        if not isinstance(kind, str):
            return None, ""
        if kind in shipped_names("model_classes.json", "types_without_generate"):
            return kind, "none"
        if config.get(("is_decoder",)) is not True and \
                kind in shipped_names("model_classes.json", "types_generating_only_as_decoders"):
            return kind, "encoder"
        return kind, ""

    @property
    def weight_names(self) -> frozenset[str]:
        """The names of the tensors model.safetensors.index.json's ``weight_map`` or model.safetensors' header
        lists, read once; empty without either, or when it cannot be read (a Git LFS pointer)."""
        if self._weight_names is None:
            self._weight_names = self._tensor_names()
        return self._weight_names

    def _tensor_names(self) -> frozenset[str]:
        """The weights' tensor names; empty when there are no weights to tell, or they lie behind a link out of the
        repository (a local_dir snapshot's links into the Hub cache): optional evidence, never EOS018."""
        import json

        try:
            index = self.folder / SAFETENSORS_INDEX
            if self._inside(index):
                weight_map = JsonDocument.read(index, False, *self._limit(SAFETENSORS_INDEX)).data
                weight_map = weight_map.get("weight_map") if isinstance(weight_map, dict) else None
                return frozenset(weight_map) if isinstance(weight_map, dict) else frozenset()
            weights = self.folder / SAFETENSORS_FILE
            if not self._inside(weights):
                return frozenset()
            # the header: its length (u64, little-endian), then JSON, within the file (an LFS pointer's text reads
            # as a length of about 2**61) and the config limit; a FIFO or device is never read (read_bytes)
            length = int.from_bytes(read_bytes(weights, 8, head=True), "little")
            limit = min(os.stat(weights).st_size - 8, self._limit(SAFETENSORS_INDEX)[0] or length)
            if not 2 <= length <= limit:
                return frozenset()
            header = json.loads(read_bytes(weights, 8 + length, head=True)[8:])
            return frozenset(header) - {"__metadata__"} if isinstance(header, dict) else frozenset()
        except (InputError, NotRead, OSError, ValueError, RecursionError):
            return frozenset()

    def _inside(self, path: Path) -> bool:
        """Whether ``path`` exists and may be followed, as :meth:`_readable` says; nothing is listed as skipped."""
        return os.path.lexists(path) and self._followable(path, os.path.islink(path), note=False)

    def _pooling_module(self, path: Path) -> str | None:
        """modules.json's first Pooling module, as vLLM's ``get_pooling_config``
        (vllm/transformers_utils/config.py, 0.33.0 and 0.34.0) finds it: the first item of the list whose ``type``
        is one of :data:`POOLING_MODULES`. None when
        there is none, and when the file cannot be read, is not a list of objects with a ``type`` up to that item,
        or that item has no ``path`` (vLLM fails to start on it; transformers never reads the file): the folder is
        then checked as one that may generate."""
        modules = self._small_object(path)
        if not isinstance(modules, list):
            return None
        for place, item in enumerate(modules):
            if not (isinstance(item, dict) and "type" in item):
                return None
            if isinstance(item["type"], str) and item["type"] in POOLING_MODULES:
                if "path" not in item:  # where vLLM reads the module's config.json: it fails without one
                    return None
                module = item["path"]
                return module if isinstance(module, str) and module else f"item {place + 1}"
        return None

    @property
    def configs_read(self) -> list[str]:
        """The names of the model configs read: config.json, generation_config.json, as far as the folder holds them."""
        return [name for name, doc in (("config.json", self.config), ("generation_config.json",
                                                                      self.generation_config)) if doc is not None]

    @property
    def configs_elsewhere(self) -> bool:
        """A PEFT adapter without config.json and generation_config.json, or with them beside its weights and none of
        a whole model: generate() runs with its base model, whose configs give the stop ids (PEFT's
        AutoPeftModelForCausalLM loads the base from base_model_name_or_path; transformers' from_pretrained takes a
        folder with config.json for a model with an adapter embedded and finds no weights of that model)."""
        return self.adapter_base is not None and (self.adapter_weights_only or self.config is None
                                                  and self.generation_config is None
                                                  and self.generation_config_error is None)

    @property
    def onnx_export(self) -> bool:
        """An ONNX Runtime GenAI export (genai_config.json): onnxruntime-genai runs it; transformers, vLLM, SGLang,
        TGI and mlx-lm load no ONNX weights, and llama.cpp's and Ollama's converters convert none."""
        return self.genai_config is not None

    @property
    def mlx_quantized(self) -> bool:
        """An MLX-quantized checkpoint, as ``mlx_lm.convert -q`` writes it: config.json's ``quantization`` is an
        object with integer ``group_size`` and ``bits`` (what mlx-lm's ``load`` quantizes the model with before
        loading the packed uint32 weights and their ``scales`` and ``biases``; mlx_lm/utils.py, 0.32.2), and its
        ``quantization_config``, where there is one, is that copy without ``quant_method`` (mlx-lm ≥ 0.18.2 writes
        it; a Hugging Face quantization_config always names its ``quant_method``). Only mlx-lm runs it."""
        config = self.config
        data = config.data if config is not None else None
        if not isinstance(data, dict):
            return False
        quantization, hf = data.get("quantization"), data.get("quantization_config")
        return isinstance(quantization, dict) \
            and all(type(quantization.get(key)) is int for key in ("group_size", "bits")) \
            and (hf is None or (isinstance(hf, dict) and "quant_method" not in hf)) \
            and not self._weights_not_quantized()

    def _weights_not_quantized(self) -> bool:
        """Whether the weights beside (model.safetensors.index.json, or model.safetensors' header) name no
        ``.scales`` tensor, which every layer mlx-lm quantizes holds: a checkpoint transformers loads whole, under a
        config.json that only says it is quantized (helper-157: a ``quantization`` object added to it turned the
        transformers checks off). False without weights to tell."""
        names = self.weight_names
        return bool(names) and not any(name.endswith(".scales") for name in names)

    @property
    def ids_not_read(self) -> list[str]:
        """The files the token ids come from (:data:`ID_FILES`) that are there and were not read (EOS018): the ids
        eos-guard gives the tokens may then not be transformers' (a legacy added_tokens.json's id of a text that the
        unread tokenizer.json gives another word), so ``--fix`` adds none (helper-145: it wrote an ordinary word's
        id as a stop id). tokenizer_config.json counts only when it was not read at all, not when only some of the
        chat templates it holds were left out; added_tokens.json only where transformers reads it (:attr:`legacy`)."""
        return [path.name for path, _ in self.skipped if path.name in ID_FILES
                and not (path.name == "tokenizer_config.json" and self.tokenizer_config is not None)
                and not (path.name == "added_tokens.json" and not self.legacy)]  # then transformers never opens it

    @property
    def appends_eos(self) -> bool:
        """Whether the tokenizer ends every text it encodes with its eos: an encoder-decoder's (T5's post-processor
        appends ``</s>`` to each input and label, and transformers builds it from ``eos_token``), or one whose
        tokenizer_config.json sets ``add_eos_token``. Making the turn terminator its eos would change every input
        the model was trained on (helper-138: a T5 chat fine-tune's inputs ended with <|im_end|> after
        --unsafe-fixes), so the fix and EOS017's advice leave the eos alone."""
        config = self.config.data if self.config is not None else None
        tokenizer_config = self.tokenizer_config.data if self.tokenizer_config is not None else None
        return (isinstance(config, dict) and config.get("is_encoder_decoder") is True) or \
            (isinstance(tokenizer_config, dict) and tokenizer_config.get("add_eos_token") is True)

    @property
    def generates(self) -> bool:
        """Whether a runtime runs ``generate()`` on the model (:attr:`not_generating` says why not)."""
        return not self.not_generating

    @property
    def not_generating(self) -> str:
        """Why no runtime runs ``generate()`` on the model, or "" when one may:

        - every class config.json's ``architectures`` lists cannot generate: a head without GenerationMixin
          (``BertForSequenceClassification``, whose ``can_generate()`` is False), or a bare model as AutoModel loads
          it (``BertModel`` in sentence-transformers folders, ``MistralModel`` in embedding models); vLLM runs these
          as pooling models. Not when the list names a class not known, nor when config.json's ``auto_map`` names
          remote code for an ``AutoModelFor...`` class that can generate (the class ``trust_remote_code`` loads
          instead; not one of :data:`NO_GENERATE_AUTO_CLASSES`, classification and segmentation heads, for which
          a remote class named there only cannot generate);
        - config.json names no ``architectures`` (nor remote code that may generate), and no class of its
          ``model_type`` can generate in transformers (data/model_classes.json ``types_without_generate``:
          DeBERTa-v3's ``deberta-v2``), or its only generating class is an encoder's causal-LM head that needs
          ``is_decoder``, which config.json does not set (``types_generating_only_as_decoders``: BERT-era encoders
          saved without the list, ``bert``, ``roberta``, ``electra``);
        - the only classes ``architectures`` lists are the remote class ``auto_map`` gives ``AutoModel`` beside
          remote heads that cannot generate (gte's ``NewModel`` with ``NewForMaskedLM``), and no remote class that
          may generate;
        - modules.json lists a sentence-transformers Pooling module (:attr:`pooling_module`): vLLM runs the model as
          a pooling model whatever its class (``ModelConfig._get_default_runner_type``, vllm/config/model.py,
          0.33.0 and 0.34.0: "Some Sentence Transformers models use *ForCausalLM archs"), as Qwen3-Embedding and
          gte-Qwen2 are;
        - every class ``architectures`` lists generates audio codes (:data:`AUDIO_CODE_CLASSES`: MusicGen, Bark,
          Parler-TTS), whose stop ids are no tokens of the folder's tokenizer;
        - a PEFT adapter without config.json whose adapter_config.json ``task_type`` is a classification, question
          answering or feature extraction one (:data:`ADAPTER_TASKS_WITHOUT_GENERATE`): PEFT loads its base model
          with that head (``AutoPeftModelForSequenceClassification``), which cannot generate.
        """
        config = self.config
        names = config.get(("architectures",)) if config is not None else None
        auto_map = config.get(("auto_map",)) if config is not None else None
        mapped = [(key, value.rsplit(".", 1)[-1]) for key, value in auto_map.items()
                  if isinstance(key, str) and key.startswith("AutoModel") and isinstance(value, str)] \
            if isinstance(auto_map, dict) else []
        # remote code for an Auto class that may generate, and AutoModel's when its name says it generates (ChatGLM's
        # ChatGLMForConditionalGeneration); the remote classes named only for Auto classes that cannot
        remote = [name for key, name in mapped if key not in NO_GENERATE_AUTO_CLASSES
                  and (key != "AutoModel" or name.endswith(GENERATING))]
        # a name that says it generates is no head, whatever auto_map registers it for: AutoModelForCausalLM still
        # loads transformers' class of that name (helper-157: "AutoModelForSequenceClassification":
        # "m.Qwen2ForCausalLM" turned every rule off)
        heads = {name for key, name in mapped if key in NO_GENERATE_AUTO_CLASSES and not name.endswith(GENERATING)} \
            - set(remote)
        # AutoModel's remote class beside remote heads that cannot generate, when its name does not say it
        # generates: the bare model of an encoder (gte's NewModel, with AutoModelForMaskedLM). Alone it may be
        # the whole model (Ultravox's UltravoxModel, which vLLM runs as a generator)
        if heads:
            heads |= {name for key, name in mapped if key == "AutoModel"} - set(remote)
        if isinstance(names, list) and names and all(isinstance(name, str) for name in names):
            if all(_cannot_generate(name) or name in heads for name in [*names, *remote]) \
                    and not (all(name in _headless_classes() for name in names) and self._type_generates_as_causal_lm
                             and self.weights_of_a_causal_lm):
                return (f"{', '.join(names)} cannot generate (config.json architectures): vLLM runs it as a pooling "
                        "model")
            if not remote and all(name in AUDIO_CODE_CLASSES for name in names):
                return (f"{', '.join(names)} generates audio codes, not text (config.json architectures): its stop ids "
                        "are codebook ids, not the tokenizer's")
        elif not remote:  # no architectures (or none transformers reads as a list of names)
            kind, generation = self._model_type_generation
            if generation == "none":
                return (f"no class of model type '{kind}' can generate in transformers (config.json names no "
                        "architectures)")
            if generation == "encoder":
                return (f"model type '{kind}' is an encoder: its only class that can generate is a causal-LM head "
                        "for a config with is_decoder, which config.json does not set (and it names no "
                        "architectures)")
        if self.pooling_module is not None:
            return (f"modules.json lists a sentence-transformers Pooling module ({self.pooling_module}): vLLM runs it "
                    "as a pooling model")
        task = self.adapter_config.get(("task_type",)) if self.adapter_config is not None else None
        if config is None and task in ADAPTER_TASKS_WITHOUT_GENERATE:
            return f"a PEFT adapter for a head that cannot generate (adapter_config.json task_type {task})"
        return ""

    @property
    def tokenizer_only(self) -> bool:
        """Tokenizer files without config.json or generation_config.json, and no adapter's base model named: no
        runtime can load a model from the folder, so the stop ids are those of the model it is used with."""
        configs = ("config.json", "generation_config.json")
        return self.adapter_base is None and self.config is None and self.generation_config is None \
            and self.generation_config_error is None and not any(path.name in configs for path, _ in self.skipped)

    @property
    def processor_renders(self) -> tuple[str, ...]:
        """The labels of the templates AutoProcessor's processor holds as its ``chat_template``, in its order: a
        JSON file's templates as the file orders them; the .jinja files with additional_chat_templates/'s first and
        chat_template.jinja's ("default") last, as ``get_processor_dict`` builds them (processing_utils.py 5.25,
        lines 1544-1550). None where AutoProcessor builds no processor. What vLLM and SGLang render
        (runtimes/vllm.py, runtimes/sglang.py; :meth:`processor_default`)."""
        held = [(label, source) for label, source in self.templates.items() if source.processor]
        if held and held[0][1].document is None:  # the .jinja files
            held.sort(key=lambda item: item[1].processor == "default")
        return tuple(label for label, _ in held)

    def processor_default(self) -> str:
        """The label of the processor's "default" template (:meth:`processor_renders`), else ""."""
        return next((label for label in self.processor_renders if self.templates[label].processor == "default"), "")

    def _add_processor_templates(self, entries: _Entries) -> None:
        """A processor's own templates, as ``ProcessorMixin.get_processor_dict`` (processing_utils.py, 5.24)
        finds them: processor_config.json's ``chat_template`` when it is set (not null), which replaces every
        other (transformers warns that it belongs in chat_template.jinja); else chat_template.json's (else the
        processor takes the tokenizer's .jinja files, checked already). The value is a string, or an object of
        named templates (``_resolve_chat_template`` takes "default" unless asked for another). Each string is
        checked as a template of its own, named after its file (``chat_template.json``, the processor's
        default) or ``FILE:NAME``. Not chat_template.json where no processor is built (:meth:`_builds_processor`)
        and the tokenizer has a template of its own: nothing reads it then (helper-179: a text model's leftover
        file got EOS001), AutoTokenizer never does, and gguf-py's SpecialVocab takes tokenizer_config.json's
        template first."""
        doc = self.processor_config
        if doc is None or doc.get(("chat_template",)) is None:
            doc = self.processor_template
        value = doc.get(("chat_template",)) if doc is not None else None
        builds = self._builds_processor(entries)
        if doc is None or (doc is self.processor_template and not value):
            # 0, false, "", [] or {}: get_processor_dict keeps only a true value (``elif chat_templates``); the
            # processor then holds the tokenizer's .jinja files (not tokenizer_config.json's template)
            if builds:
                self.templates.update({label: replace(source, processor=label) for label, source
                                       in self.templates.items() if source.document is None})
            return
        # chat_template.json beside additional_chat_templates/: get_processor_dict raises ValueError (lines
        # 1535-1543), so no processor is built (vLLM falls back to the tokenizer's template)
        builds = builds and not (doc is self.processor_template and any(
            source.path.parent.name == TEMPLATE_DIR for source in self.templates.values()))
        if doc is self.processor_template and "default" in self.templates and not builds:
            return
        named = list(value.items()) if isinstance(value, dict) else [("default", value)]
        for name, text in named:
            file_name = doc.path.name
            label = file_name if name == "default" else f"{file_name}:{name}"
            keys = ("chat_template",) if value is text else ("chat_template", name)
            if text is not None and not isinstance(text, str):  # the processor keeps it as it is
                self.template_problems.append((label, f"the '{label}' chat template is "
                                                      f"{KIND_NAMES.get(type(text), 'a value')}, not a string: the "
                                                      "processor's apply_chat_template raises TypeError where it is "
                                                      "used", Where(doc, keys)))
                continue
            if text is None or not isinstance(name, str):
                continue
            # the processor's default is checked whatever the tokenizer holds; its named ones count to the limit
            if label != file_name and len(self.templates) >= MAX_TEMPLATES and label not in self.templates:
                self.skipped.append((doc.path, f"chat_template holds {len(named)} templates: {TOO_MANY_TEMPLATES}"))
                break
            self.templates.setdefault(label, TemplateSource(label, text, doc.path, doc, keys,
                                                            processor=name if builds else ""))

    def _builds_processor(self, entries: _Entries) -> bool:
        """Whether AutoProcessor builds a processor for the folder (``AutoProcessor.from_pretrained``,
        models/auto/processing_auto.py, 5.25), the one reader of chat_template.json. It needs a processor class:
        a ``processor_class`` (or an ``AutoProcessor`` in ``auto_map``) in processor_config.json, else the image or
        video processor's config, else tokenizer_config.json or config.json, or a ``model_type`` with a processor
        in transformers (data/model_classes.json ``types_with_processor``); without one it returns the tokenizer.
        And that class needs its image, video or audio processor's config: preprocessor_config.json or
        video_preprocessor_config.json, or processor_config.json with that config nested (:data:`SUB_PROCESSORS`):
        without one, loading it raises OSError (helper-185: a Gemma 3 text-only fine-tune that kept
        ``processor_class: Gemma3Processor``; helper-187: with a processor_config.json that names the class only),
        and nothing reads the template. A Hub snapshot's processor file counts
        where its commit lists it, downloaded or not, as one that may name a class."""
        listed = listed_names(self.folder)
        present = [name for name in PROCESSOR_FILES if entries.link(name) is not None or name in listed]
        if not present:
            return False
        if any(entries.link(name) is None for name in present):  # listed by the commit, not downloaded
            return True
        own = self.processor_config.data if self.processor_config is not None else None
        # processor_config.json holds a sub-processor's config only nested under its name (image_processing_base.py
        # lines 336-352 and the video and audio counterparts, 5.25); else the image processor's file must exist
        nested = isinstance(own, dict) and any(key in own for key in SUB_PROCESSORS)
        if not nested and not any(name in present for name in PROCESSOR_MARKERS):
            return False
        docs = [own,
                *(self._small_object(self.folder / name) for name in PROCESSOR_MARKERS if name in present),
                *(doc.data if doc is not None else None for doc in (self.tokenizer_config, self.config))]
        if any(isinstance(data, dict) and (data.get("processor_class") is not None or (
                isinstance(data.get("auto_map"), dict) and "AutoProcessor" in data["auto_map"])) for data in docs):
            return True
        model_type = self.config.data.get("model_type") if self.config is not None \
            and isinstance(self.config.data, dict) else None
        return isinstance(model_type, str) and model_type in shipped_names("model_classes.json", "types_with_processor")

    def _small_object(self, path: Path) -> Any:
        """A file eos-guard reads only for a key or two (an image processor's ``processor_class``, modules.json's
        Pooling module): its JSON, or None when it cannot be read (then it names nothing)."""
        try:
            if not self._readable(path):
                return None
            return JsonDocument.read(path, False, *self._limit(path.name)).data
        except (InputError, NotRead, OSError):
            return None

    def _read_on_without(self, name: str, error: InputError, other_kind: bool = False) -> InputError:
        """The error of a file that cannot be read (not valid JSON, ...), kept when the runtimes load the folder
        without that file; raised again when they cannot load the folder at all.

        - generation_config.json that is not JSON: transformers (GenerationConfig.from_pretrained raises OSError,
          model loading falls back to config.json) and mlx-lm (load_config ignores a JSONDecodeError) read on as
          if it were absent; JSON of ``other_kind`` than an object makes it raise TypeError, which model loading
          does not catch (generation/utils.py, 5.24), so that folder is not read on;
        - processor_config.json and chat_template.json: only ``ProcessorMixin.get_processor_dict`` reads them
          (AutoProcessor raises on one that is not JSON); AutoTokenizer, ``generate()`` and the text-generation
          pipeline never open them;
        - special_tokens_map.json and added_tokens.json: transformers opens them only in its legacy branch
          (``PreTrainedTokenizerBase._from_pretrained``, tokenization_utils_base.py lines 1889-1940 in 5.24,
          2279-2346 in 4.57), never when tokenizer_config.json has ``added_tokens_decoder``, and the stop sets
          eos-guard models for the converters (llama.cpp, Ollama) come from tokenizer.json and
          tokenizer_config.json. (The converters do read added_tokens.json for a SentencePiece tokenizer.model,
          whose conversion fails on a broken one; the file's error, exit 2, stands for that too.)
        """
        if name == "generation_config.json" and not other_kind:
            return error.detached()
        if name in ("special_tokens_map.json", "added_tokens.json") and not self.legacy:
            return InputError(error.path, f"{error.message}; transformers does not read this file here "
                                          "(tokenizer_config.json has added_tokens_decoder), so the folder is "
                                          "checked without it", error.line, error.column)
        if name in (PROCESSOR_CONFIG, PROCESSOR_TEMPLATE):  # AutoProcessor fails on it; the tokenizer, generate()
            # and pipeline() never open it
            return InputError(error.path, f"{error.message}; only a processor (AutoProcessor) reads this file, "
                                          "so the folder is checked without it", error.line, error.column)
        raise error

    @property
    def generation_config_error(self) -> InputError | None:
        """generation_config.json's error when it is not valid JSON (the folder is then read without it)."""
        return next((e for e in self.read_without if e.path is not None and e.path.name == "generation_config.json"),
                    None)

    def _readable(self, path: Path) -> bool:
        """Whether ``path`` exists and may be followed; a link out of the repository is listed as skipped. A file
        that cannot be looked at (its folder readable but not searchable) raises InputError: the model folder's
        error, not a file it lacks."""
        try:
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
        return self._followable(path, stat.S_ISLNK(info.st_mode))

    def _followable(self, path: Path, link: bool, note: bool = True) -> bool:
        """Whether an existing ``path`` may be followed; a link out of the repository is listed as skipped (with
        ``note``)."""
        if link:
            try:
                target = Path(os.path.realpath(path, strict=True))
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    if note:
                        self.skipped.append((path, "is a symbolic link loop; not followed"))
                    return False
                # dangling (or not searchable): refused like an existing target when it leads out, so the output
                # never tells whether a file of the runner exists; inside, reading it says what is wrong
                target = Path(os.path.realpath(path))
            if not is_within(target, self.root):
                if note:
                    self.skipped.append((path, linked_outside(path, self.root)))
                return False
        return True

    def _limit(self, name: str) -> tuple[int | None, str]:
        return size_limit(name, *self.size_limits)

    def _template_text(self, path: Path) -> str | None:
        if not self._readable(path):
            return None
        try:
            return read_text(path, *self._limit(path.name))
        except NotRead as exc:
            self.skipped.append((path, str(exc)))
            return None

    def _tokenizer_templates(self, entries: _Entries) -> dict[str, TemplateSource]:
        templates: dict[str, TemplateSource] = {}
        if entries.link(TEMPLATE_FILE) is not None:
            jinja = self.folder / TEMPLATE_FILE
            text = self._template_text(jinja)
            if text is not None:
                templates["default"] = TemplateSource("default", text, jinja)
        link = entries.link(TEMPLATE_DIR)
        extra = self.folder / TEMPLATE_DIR if link is not None else None
        # A link to a folder inside the repository is followed; one out of it (or a loop) is EOS018.
        if extra is not None and self._followable(extra, link) and extra.is_dir():
            for path in self._listed_templates(extra):
                if len(templates) >= MAX_TEMPLATES:
                    self.skipped.append((path, TOO_MANY_TEMPLATES))
                    continue
                text = self._template_text(path)
                if text is not None:
                    templates[path.stem] = TemplateSource(path.stem, text, path)
        if templates or self.tokenizer_config is None:
            return templates
        doc = self.tokenizer_config
        value = doc.get(("chat_template",))
        if isinstance(value, str):
            templates["default"] = TemplateSource("default", value, doc.path, doc, ("chat_template",))
        elif isinstance(value, (list, dict)):
            self._named_templates(value, templates)
        elif value is not None:  # kept as it is, and apply_chat_template cannot compile it
            self.template_problems.append((None, f"chat_template is {KIND_NAMES[type(value)]}, not a string: "
                                                 "apply_chat_template raises TypeError",
                                           Where(doc, ("chat_template",))))
        return templates

    @staticmethod
    def _listed_templates(folder: Path) -> list[Path]:
        """additional_chat_templates/*.jinja, sorted: every one, as transformers' pathlib glob takes them
        (".hidden.jinja" too). A folder that cannot be listed is the model folder's error (so is a file in it that
        cannot be looked at: _readable): transformers loads these templates in place of tokenizer_config.json's,
        so checking without them would check another template."""
        try:
            names = sorted(name for name in os.listdir(folder) if name.endswith(".jinja"))
        except OSError as exc:
            raise InputError(folder, f"cannot list the folder: {exc.strerror or exc}") from None
        return [folder / name for name in names]

    def _named_templates(self, value: list | dict, templates: dict[str, TemplateSource]) -> None:
        """tokenizer_config.json's named templates, as transformers 5.24 keeps them (``PreTrainedTokenizerBase.
        __init__``): a list of ``{"name", "template"}`` objects becomes a dict, the last of a repeated name winning,
        and an item that is not such an object makes loading raise (TypeError, KeyError); an object is kept as it
        is. ``get_chat_template`` then takes "default" (EOS014 when there is none)."""
        doc = self.tokenizer_config
        assert doc is not None
        named: dict[Any, tuple[Any, KeyPath]] = {}  # name -> (template, where), as transformers' dict holds them
        for key, item in (enumerate(value) if isinstance(value, list) else value.items()):
            if isinstance(value, dict):
                named[key] = (item, ("chat_template", key))
            elif isinstance(item, dict) and "name" in item and "template" in item \
                    and not isinstance(item["name"], (list, dict)):
                named[item["name"]] = (item["template"], ("chat_template", key, "template"))
            else:
                place = Where(doc, ("chat_template", key)).location()
                raise InputError(doc.path, f"chat_template item {key} {_item_shape(item)}: transformers cannot load "
                                           "this tokenizer (AutoTokenizer raises)", place.line, place.column)
        if "default" not in named and not any(isinstance(name, str) and isinstance(text, str)
                                              for name, (text, _) in named.items()):
            # no default, and no template the rule could name instead (the names are no strings, or none is there)
            shape = "an empty " + ("array" if isinstance(value, list) else "object") if not value else \
                "without a template named \"default\""
            self.template_problems.append((None, f"chat_template is {shape}: apply_chat_template raises \"This model "
                                                 "has multiple chat templates with no default specified!\"",
                                           Where(doc, ("chat_template",))))
        # the "default" template, the one apply_chat_template uses, keeps a place wherever it is listed
        default_listed = isinstance(named.get("default", (None,))[0], str)
        left_out = False
        for name, (text, keys) in named.items():
            if not isinstance(text, str):
                self.template_problems.append((name, f"the '{name}' chat template is "
                                                     f"{KIND_NAMES.get(type(text), 'a value')}, not a string: "
                                                     "apply_chat_template raises TypeError where it is used",
                                               Where(doc, keys)))
                continue
            if not isinstance(name, str):  # usable only as apply_chat_template(chat_template=5)
                continue
            room = MAX_TEMPLATES - (1 if default_listed and name != "default" and "default" not in templates else 0)
            if len(templates) >= room and name not in templates:
                if not left_out:
                    self.skipped.append((doc.path,
                                         f"chat_template lists {len(value)} templates: {TOO_MANY_TEMPLATES}"))
                    left_out = True
                continue
            templates[name] = TemplateSource(name, text, doc.path, doc, keys)

    @property
    def legacy(self) -> bool:
        """Whether transformers takes its "legacy" branch: tokenizer_config.json has no ``added_tokens_decoder``
        key (even ``{}`` counts), so it also reads special_tokens_map.json and added_tokens.json."""
        tc = self.tokenizer_config
        return tc is None or not isinstance(tc.data, dict) or "added_tokens_decoder" not in tc.data

    def documents(self) -> Iterator[JsonDocument]:
        for doc in (self.config, self.generation_config, self.tokenizer_config, self.special_tokens_map,
                    self.added_tokens, self.tokenizer, self.processor_template, self.processor_config):
            if doc is not None:
                yield doc


def _item_shape(item: Any) -> str:
    """What is wrong with a chat_template list item transformers cannot turn into a named template."""
    if not isinstance(item, dict):
        return f"is {KIND_NAMES.get(type(item), 'a value')}, not an object with \"name\" and \"template\""
    for key in ("name", "template"):
        if key not in item:
            return f"has no \"{key}\""
    return "has a name that is no string"


TEMPLATES_NOT_READ = f"eos-guard checks at most {MAX_TEMPLATES} chat templates per folder"
TOO_MANY_TEMPLATES = f"not read: {TEMPLATES_NOT_READ}, each one costing its renders"


class _Entries:
    """A folder's entries, listed once: one system call instead of one per file name looked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.links: dict[str, bool] | None = None  # name -> whether it is a symbolic link
        try:
            with os.scandir(folder) as listing:
                self.links = {entry.name: entry.is_symlink() for entry in listing}
        except OSError:  # the names are then looked for one by one
            pass
        self.folded = {name.casefold() for name in self.links} if self.links is not None else set()

    def link(self, name: str) -> bool | None:
        """None when the folder has no entry ``name``, else whether it is a symbolic link."""
        if self.links is not None:
            if name in self.links:
                return self.links[name]
            if name.casefold() not in self.folded:
                return None
        # not listed, or listed in another case (which a case-insensitive file system opens): ask for the name
        path = os.path.join(self.folder, name)
        return os.path.islink(path) if os.path.lexists(path) else None


def input_signatures(folder: Path) -> dict[Path, tuple[int, ...] | None]:
    """The stat signature (inode, size and modification time) of each file a check of ``folder`` may read, None for
    one that is not there: taken before a fix run reads the folder, and compared before it writes, so that a folder
    whose files another process changed meanwhile (a file that is only read, such as tokenizer_config.json, too) is
    not written from a stale plan. Not the status-change time: replacing one of two hard links to a file (this run's
    own write in another folder) changes the other's link count, and so its ctime, not its content."""
    names = list(CHECKED_FILES)
    try:
        names += [f"{TEMPLATE_DIR}/{name}" for name in sorted(os.listdir(folder / TEMPLATE_DIR))]
    except OSError:  # none (or one that cannot be listed: the check says so)
        pass
    signatures: dict[Path, tuple[int, ...] | None] = {}
    for name in dict.fromkeys(names):
        try:
            found = os.stat(folder / name)
            signatures[folder / name] = (found.st_ino, found.st_size, found.st_mtime_ns)
        except OSError:
            signatures[folder / name] = None
    return signatures


def vocabulary_file_read(names: Iterable[str], exists: Callable[[str], bool]) -> str | None:
    """The vocabulary file transformers reads in a folder without tokenizer.json whose files are ``names``: the
    first name :data:`VOCAB_FILE_PATTERN` finds (in the order the file system lists them) when that can only be
    tokenizer.model, None when it may be another (tekken.json, tiktoken.model: eos-guard reads neither);
    vocab.json where it finds none, with merges.txt, without which GPT-2-style classes cannot load."""
    found = {match.group() for name in names for match in [VOCAB_FILE_PATTERN.search(name)] if match}
    if found:
        return SPM_FILE if found == {SPM_FILE} else None
    return VOCAB_FILE if exists(VOCAB_FILE) and exists(MERGES_FILE) else None


# Hub snapshot folder (real path) -> what its commit's listing shows that the snapshot does not hold (hub.py
# records it): the files over their size limit, never downloaded, and why (reading the folder turns them into
# EOS018); and the names of the vocabulary files VOCAB_FILE_PATTERN finds, which decide whether tokenizer.model is
# read, as they do in a folder on disk.
_NOT_FETCHED: dict[str, dict[str, str]] = {}
_LISTED: dict[str, frozenset[str]] = {}  # a Hub snapshot's folder -> the names its commit's root lists


def record_not_fetched(folder: Path, reasons: dict[str, str], listed: Iterable[str] = ()) -> None:
    real = os.path.realpath(folder)
    _NOT_FETCHED[real] = reasons
    _LISTED[real] = frozenset(listed)


def listed_names(folder: Path) -> frozenset[str]:
    """The file names a Hub snapshot's commit lists at its root, downloaded or not (weights, GGUF files): empty for
    a local folder."""
    return _LISTED.get(os.path.realpath(folder), frozenset()) if _LISTED else frozenset()


def not_fetched(folder: Path) -> dict[str, str]:
    return _NOT_FETCHED.get(os.path.realpath(folder), {}) if _NOT_FETCHED else {}


def listed_vocabulary_files(folder: Path) -> frozenset[str]:
    return frozenset(name for name in listed_names(folder) if VOCAB_FILE_PATTERN.search(name))


def size_limit(name: str, max_bytes: int | None, max_config_bytes: int | None) -> tuple[int | None, str]:
    """The size limit of a model file named ``name``, and the setting that changes it."""
    if name in LARGE_FILES or max_config_bytes is None:
        return max_bytes, "max-file-size"
    if max_bytes is not None and max_bytes < max_config_bytes:
        return max_bytes, "max-file-size"
    return max_config_bytes, "max-config-size"


def trusted_root(folder: Path) -> Path:
    """Where links may point: the git work tree that holds the folder, else the folder itself; for a Hugging Face
    cache snapshot (``models--org--name/snapshots/<rev>/``, whose files link to ``../../blobs/``) and any folder in
    it (a sentence-transformers ``1_Pooling/``), the repo folder."""
    real = real_folder(os.path.join(os.getcwd(), folder))  # not abspath: '..' after a link
    repo = cache_repo_of(real)
    if repo is not None:
        return Path(repo)
    tree = _work_tree(real)
    if tree is None:
        return folder if isinstance(folder, Path) and os.fspath(folder) == real else Path(real)
    return _TREE_PATHS.setdefault(tree, Path(tree))  # one object for the folders of a tree


def in_hub_cache(folder: Path) -> bool:
    """Whether a folder is (or is in) a Hugging Face cache snapshot: ``models--org--name/snapshots/<rev>/`` (or a
    dataset's or a Space's), where it really is (a link into the cache counts)."""
    return cache_repo_of(real_folder(os.path.join(os.getcwd(), folder))) is not None


def repository_link(path: Path) -> bool:
    """Whether a file is a symbolic link its repository holds: not a Hugging Face cache snapshot's link into its
    blobs, which stands for the file itself (a clone of the repository holds a regular file there)."""
    return os.path.islink(path) and not in_hub_cache(path.parent)


def cache_repo_of(real: str) -> str | None:
    """The cache's repo folder (``models--org--name``) of an absolute path in one of its snapshots, else None."""
    revision = real
    while os.path.dirname(revision) != revision:
        parent = os.path.dirname(revision)
        if os.path.basename(parent) == "snapshots" and os.path.basename(os.path.dirname(parent)).startswith(
                ("models--", "datasets--", "spaces--")):
            return os.path.dirname(parent)
        revision = parent
    return None


# work tree -> its Path, for the run (forgotten with _WORK_TREES)
_TREE_PATHS: dict[str, Path] = {}


def _work_tree(directory: str) -> str | None:
    """The nearest folder at or above ``directory`` that holds ``.git``."""
    if os.path.exists(os.path.join(directory, ".git")):
        return directory
    parent = os.path.dirname(directory)
    return _parent_work_tree(parent) if parent != directory else None


# folder -> the work tree that holds it (None: none), for the folders above model folders: remembered for the run
# (folders of one tree share their parents), forgotten when the next run looks for model folders
_WORK_TREES: dict[str, str | None] = {}


def _parent_work_tree(directory: str) -> str | None:
    """A loop, not recursion: a folder may lie deeper than Python's recursion limit."""
    pending = []
    current: str = directory
    found: str | None = None
    while True:
        if current in _WORK_TREES:
            found = _WORK_TREES[current]
            break
        if os.path.exists(os.path.join(current, ".git")):
            found = current
            break
        pending.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in pending:
        _WORK_TREES[folder] = found
    return found


def is_within(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it (both real paths)."""
    if os.sep == "/":  # string work: a run asks this for every folder
        inside, top = os.fspath(path), os.fspath(root)
        return inside == top or inside.startswith(top if top.endswith("/") else top + "/")
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


# Keys of a config.json that transformers wrote or can load (model_type and architectures pick the class; an eos
# is what the checks are about): a config.json is a model's only when one is there, so an application's
# config.json next to the models of a repository is not checked (pre-commit passes them all), nor a checkpoint's
# own configuration of sizes (gpt-oss's original/config.json: vocab_size and num_hidden_layers, no model_type), nor
# a CTranslate2 conversion's beside the tokenizer files it copies (faster-whisper's suppress_ids and
# alignment_heads; an LLM's eos_token as a string), which no Auto class loads (AutoConfig needs model_type).
MODEL_CONFIG_KEYS = (b'"model_type"', b'"architectures"', b'"eos_token_id"', b'"text_config"',
                     b'"_name_or_path"', b'"transformers_version"')
MODEL_CONFIG_PROBE = 1024 * 1024  # bytes read to look for them; real configs are a few KB
# diffusers' ConfigMixin.to_json_string writes _class_name and _diffusers_version into the config.json of every
# component it saves (unet/, vae/, transformer/ of a pipeline), and ModelMixin.from_pretrained registers
# _name_or_path, which save_pretrained then writes too (diffusers src/diffusers/configuration_utils.py,
# models/modeling_utils.py): such a config.json names no model_type or architectures, and transformers' AutoConfig
# cannot load it ("Should have a `model_type` key"), so it is a diffusers model's, not a transformers one's.
DIFFUSERS_KEY = "_diffusers_version"
CLASS_KEYS = ("model_type", "architectures")  # what picks a transformers class (and llama.cpp's converter's)


def names_a_model(head: bytes) -> bool:
    """Whether a config.json whose text starts with ``head`` may be a model's: one of MODEL_CONFIG_KEYS in its first
    MB, or an escape there (``"model\\u005ftype"`` is the key model_type to a JSON parser: the folder is read, and
    the parsed keys decide, READ_CONFIG_NAMES); not a diffusers component's (:func:`diffusers_config`)."""
    head = head[:MODEL_CONFIG_PROBE]
    if b"\\u" in head:
        return True
    if f'"{DIFFUSERS_KEY}"'.encode() in head and not any(f'"{key}"'.encode() in head for key in CLASS_KEYS):
        return False
    return any(key in head for key in MODEL_CONFIG_KEYS)


def diffusers_config(data: dict) -> bool:
    """Whether a parsed config.json is a diffusers component's (a UNet's, a VAE's, a diffusion transformer's):
    ``_diffusers_version`` and no ``model_type`` or ``architectures``. No runtime eos-guard models loads it, whatever
    else it holds (a ``_name_or_path`` that diffusers wrote)."""
    return DIFFUSERS_KEY in data and not any(key in data for key in CLASS_KEYS)


# A config.json read in a model folder (one with tokenizer_config.json or generation_config.json) also with this key:
# llama.cpp's converter picks Mamba's class by it when architectures is missing (conversion/base.py
# get_model_architecture, b11413), as in state-spaces/mamba-* configs. Alone, such a config.json makes no model
# folder: transformers cannot load it (no model_type).
READ_CONFIG_NAMES = (*(key.decode().strip('"') for key in MODEL_CONFIG_KEYS), "ssm_cfg")


# The files of a model folder eos-guard reads.
MODEL_FILES = (*JSON_FILES, TEMPLATE_FILE)


def is_model_folder(folder: Path) -> bool:
    return holds_model_files(folder, [name for name in MODEL_FILES if (folder / name).is_file()])


def holds_model_files(folder: Path | str, names: list[str]) -> bool:
    """Whether a folder whose files have these names is a model folder: it holds generation_config.json or
    tokenizer_config.json, or a config.json that looks like a model's (MODEL_CONFIG_KEYS), wherever it lies."""
    markers = [name for name in names if name in MODEL_MARKERS]
    if any(name != "config.json" for name in markers):
        return True
    if not markers:
        return False
    path = os.path.join(folder, "config.json")
    if os.path.islink(path) and not is_within(Path(os.path.realpath(path)), trusted_root(Path(folder))):
        return True  # not opened: checking the folder reports the link out of the repository (EOS018)
    try:  # never blocks: a FIFO is opened without waiting for a writer, and not read
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return True  # unreadable: checking the folder reports it
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return True  # a FIFO or a device: checking the folder reports it (EOS018)
        head = os.read(descriptor, MODEL_CONFIG_PROBE)
    except OSError:
        return True
    finally:
        os.close(descriptor)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 (keys not findable as bytes): checking the folder reports the encoding
    if _model_type_only(head) and _ggml_beside(_listing(folder), folder):
        return False  # beside GGUF or GGML files, a ctransformers stub: no runtime loads a model from it
    return names_a_model(head)


def is_gguf_name(name: str) -> bool:
    """Whether a file name is a GGUF file's, as eos-guard takes a PATH for one (any case of ``.gguf``)."""
    return name.lower().endswith(".gguf")


def _ggml_beside(names: Iterable[str], folder: Path | str) -> bool:
    """Whether a folder's names (or its Hub commit's listing) hold a GGUF file or an older GGML one
    (``*.ggmlv3.q4_0.bin``, ``ggml-model-q4_0.bin``): what makes a config.json naming only its model_type the
    ctransformers stub (_model_type_only)."""
    return any(is_gguf_name(name) or ".ggml" in name.lower() or name.lower().startswith("ggml-")
               for name in (*names, *listed_names(Path(folder))))


def _listing(folder: Path | str) -> list[str]:
    """The names in a folder, or none when it cannot be listed (checking it says why)."""
    try:
        return os.listdir(folder)
    except OSError:
        return []


STUB_BYTES = 1024  # a config.json that names nothing but its model_type is shorter than this


def _model_type_only(head: bytes) -> bool:
    """Whether a config.json is the stub ``{"model_type": "llama"}`` quantization repositories ship for ctransformers
    beside their GGUF (or older GGML) files (TheBloke's *-GGUF): an object with no key but model_type."""
    import json  # loaded by the JSON reader already

    if len(head) > STUB_BYTES or b'"model_type"' not in head:
        return False
    try:
        data = json.loads(head)
    except (ValueError, RecursionError):  # not JSON, or nested too deep: checking the folder says what is wrong
        return False
    return isinstance(data, dict) and set(data) == {"model_type"}


def binary_head(path: Path, root: Path | None) -> bool:
    """Whether a file's first 512 bytes are binary as Go's ``http.DetectContentType`` sees them
    (``application/octet-stream``): they hold a byte its text sniffer refuses (0x00-0x08, 0x0B, 0x0E-0x1A, 0x1C-0x1F)
    and start with no Unicode byte order mark. A SentencePiece tokenizer.model is; a tiktoken file named
    tokenizer.model (GLM-4's) or an unfetched Git LFS pointer is text, and ``ollama create`` does not send it
    (ollama parser/parser.go ``filesForModel`` globs tokenizer.model as application/octet-stream only). The binary
    signatures Go names first (gzip, zip, images, fonts) are not told apart. One that cannot be read (a folder,
    a FIFO, no permission) is not sent either (``glob`` fails, and its error is dropped); a link out of the
    repository, which eos-guard does not open, counts as binary."""
    if os.path.islink(path) and root is not None and not is_within(Path(os.path.realpath(path)), root):
        return True
    try:
        head = read_bytes(path, SNIFF_BYTES, head=True)
    except (InputError, NotRead):
        return False
    if head.startswith((b"\xfe\xff", b"\xff\xfe", b"\xef\xbb\xbf")):
        return False
    return any(byte in _GO_BINARY_BYTES for byte in head)


SNIFF_BYTES = 512  # what http.DetectContentType reads (sniffLen)
_GO_BINARY_BYTES = frozenset([*range(0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])


def repository_of(path: Path) -> Path:
    """The repository a PATH argument lies in, as written (links not followed): the git work tree that holds it,
    else the PATH itself (a folder, or a file's folder; a template's in additional_chat_templates/, the model
    folder above), which whoever runs eos-guard named."""
    absolute = Path(os.path.abspath(path))
    for directory in (absolute, *absolute.parents):
        if not os.path.islink(directory) and os.path.lexists(directory / ".git"):
            return Path(os.path.realpath(directory))
    if os.path.isdir(absolute):
        return Path(os.path.realpath(absolute))
    return Path(os.path.realpath(absolute.parent.parent if absolute.parent.name == TEMPLATE_DIR else absolute.parent))


def linked_out_of_repository(path: Path) -> str | None:
    """Why a named file (a GGUF PATH) is not read: it lies in a git work tree and is, or lies under, a symbolic link
    to a place outside it, as a pull request can add (a folder so linked is refused in find_model_folders). None
    otherwise: outside a work tree, whoever runs eos-guard named the file, wherever it links."""
    root = repository_of(path)
    if not os.path.lexists(root / ".git"):
        return None
    real = Path(os.path.realpath(path))
    return None if is_within(real, root) else linked_outside(path, root)


def work_tree_above(tree: Path) -> Path | None:
    """The git work tree that holds ``tree`` (a submodule's superproject, a nested repository's), or None."""
    parent = os.path.dirname(os.fspath(tree))
    found = _work_tree(parent) if parent != os.fspath(tree) else None
    return Path(found) if found is not None else None


def output_linked_out(path: Path, workspace: str | None = None) -> str | None:
    """Why an output file (``--sarif``, ``--summary``, the Action's ``sarif-file``) is not written, or None. Its path
    is followed component by component as the kernel follows it; inside a work tree (the innermost folder on the
    way that holds ``.git``, or ``workspace``: a GitHub checkout made without git has none), a component that is a
    symbolic link leading out of it refuses the path, as a pull request can commit the output path or a folder on
    its way (also when the tree is named through a link to it, or by '..' after a link). '..' that is no link, and
    a path that never enters a tree (``$RUNNER_TEMP``, ``$GITHUB_STEP_SUMMARY``), go wherever they lead."""
    roots = {os.path.realpath(workspace)} if workspace else set()
    tree: str | None = None
    current = os.path.abspath(os.sep)
    for part in Path(os.path.join(os.getcwd(), path)).parts[1:]:
        candidate = os.path.join(current, part)
        resolved = os.path.realpath(candidate)  # '..' after a link: as the kernel goes
        if tree is not None and os.path.islink(candidate) and not is_within(Path(resolved), Path(tree)):
            return linked_outside(path, Path(tree))
        current = resolved
        if tree is not None and not is_within(Path(current), Path(tree)):
            tree = None  # left by '..', which is no link
        if current in roots or os.path.lexists(os.path.join(current, ".git")):
            tree = current  # the innermost: a repository inside another one (a home that is a git tree) is its own
    return None


def linked_outside(path: Path, root: Path) -> str:
    """Why a link is not followed (EOS018): the one wording for files, folders and GGUF PATHs. It shows the link as
    written (the pull request's own text), never where it resolves: a link to /proc/self/cwd, /proc/self/fd/3 or
    /etc/alternatives/python would print the runner's paths."""
    try:
        written = os.readlink(path)
    except OSError:  # not a link itself: a folder above it is one
        return f"lies under a symbolic link that leads outside {root}; not followed"
    return f"is a symbolic link to {written}, which leads outside {root}; not followed"


# a PATH that is a symbolic link whose target is missing, or that leads back to itself (helper-198: "no such file")
LEADS_NOWHERE = "a symbolic link that leads nowhere (its target is missing, or a loop of links)"


def find_model_folders(paths: Iterable[Path], refused: list[tuple[Path, str]] | None = None,
                       unlisted: list[InputError] | None = None) -> list[Path]:
    """Model folders named by ``paths``: folders searched recursively, files grouped by their folder.

    A file inside a model folder (as pre-commit passes them) stands for its folder, checked once. A folder
    that is (or lies under) a symbolic link out of its repository (:func:`repository_of`) is not read: it is
    added to ``refused`` with the reason. A folder that cannot be listed (no permission) may hold a model folder:
    its error goes to ``unlisted``. A PATH that cannot be looked at raises InputError.
    """
    _WORK_TREES.clear()
    _TREE_PATHS.clear()
    forget_real_paths()
    found: dict[Path, None] = {}
    for path in paths:
        try:
            if not path.exists():
                raise InputError(path, LEADS_NOWHERE if os.path.islink(path) else "no such file or directory")
            is_file = not path.is_dir()  # a FIFO or a device named config.json stands for its folder too (EOS018)
        except OSError as exc:  # a folder on the way that cannot be searched
            raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
        root = repository_of(path)
        cwd = os.getcwd()

        def inside(folder: Path) -> bool:
            return is_within(Path(real_folder(os.path.join(cwd, folder))), root)

        place = path.parent if is_file else path
        if is_file and Path(os.path.abspath(place)).name == TEMPLATE_DIR and \
                (not inside(place) or not is_model_folder(place)):
            # a template's model folder (which refuses a linked additional_chat_templates/); '..' from inside it
            place = place.parent if place.name == TEMPLATE_DIR else place / os.pardir
        if not inside(place):
            # nothing in it is listed or opened (a link to the runner's home or to / would be searched whole)
            if refused is not None:
                refused.append((place, linked_outside(place, root)))
            continue
        if is_file:
            folders = [place] if is_model_folder(place) else []
        else:
            folders = list(_walk(path, unlisted, root))
        for folder in folders:
            real = Path(real_folder(os.path.join(cwd, folder)))
            if is_within(real, root):
                found.setdefault(real, None)
            elif refused is not None:
                refused.append((folder, linked_outside(folder, root)))
    return list(found)


def _walk(top: Path, unlisted: list[InputError] | None = None, repository: Path | None = None) -> Iterator[Path]:
    """Folders below ``top`` (itself first, then sorted, depth first) that hold a marker file, as os.walk finds them.

    os.walk recurses in Python before 3.12: a tree a thousand folders deep raised RecursionError. This walk keeps
    its own stack; links to folders are not entered, so a link loop cannot trap it (a link to a model folder is
    yielded itself); a folder that cannot be listed is added to ``unlisted`` (it may hold a model folder).
    """
    stack = [top]
    while stack:
        root = stack.pop()
        try:
            with os.scandir(root) as entries:
                listed = [(entry.name, _is_dir(entry), entry.is_symlink()) for entry in entries]
        except OSError as exc:
            if unlisted is not None and not isinstance(exc, (FileNotFoundError, NotADirectoryError)):
                unlisted.append(InputError(root, f"cannot list the folder: {exc.strerror or exc}; a model folder "
                                                 "in it is not checked"))
            continue
        if root is not top and any(name == "pyvenv.cfg" for name, _, _ in listed) \
                and os.path.exists(os.path.join(root, "pyvenv.cfg")):
            continue  # a virtual environment, found from its own listing (no look-up per folder)
        model = holds_model_files(root, [name for name, is_dir, _ in listed if not is_dir])
        if model:
            yield root
        # a model folder's additional_chat_templates/ is its own (an unlistable one is that folder's error)
        children = sorted(name for name, is_dir, is_link in listed if is_dir and not is_link
                          and not name.startswith(".") and name not in SKIPPED_DIRS
                          and not (model and name == TEMPLATE_DIR))
        # A link to a model folder is yielded (the caller refuses it if it leaves the repository), not entered.
        yield from (root / name for name, is_dir, is_link in sorted(listed)
                    if is_dir and is_link and not name.startswith(".") and name != TEMPLATE_DIR
                    and _linked_model_folder(root / name, repository))
        stack.extend(root / name for name in reversed(children))


def _linked_model_folder(link: Path, repository: Path | None) -> bool:
    """Whether a link to a folder met by the search is a model folder's. One that leads out of ``repository`` is
    judged by the names of its files alone (a lone config.json counts, as a linked config.json does in
    holds_model_files): nothing outside the repository is listed or opened."""
    if repository is not None and not is_within(Path(os.path.realpath(link)), repository):
        return any(os.path.isfile(link / name) for name in MODEL_MARKERS)
    return is_model_folder(link)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a link loop, or a name too long for the system
        return False
