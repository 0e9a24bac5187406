"""What every rule is: a stable code, a kebab-case name, a default severity, and a docstring that is its doc."""

from __future__ import annotations

from pathlib import Path

from ..findings import Finding, Location, Severity, quoted_list
from ..known_tokens import END_OF_TURN_TEXTS
from ..model_files import TemplateSource, one_eos_type
from ..records import record
from ..resolve import ResolvedModel, StopIds, TokenValue, Where
from ..runtimes import ids_first, turn_end_shown

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

Place = Where | TemplateSource | Path


@record(frozen=True)
class Options:
    """Settings rules read: the runtimes whose failure to stop is an error, the revision EOS015 compares with."""

    runtimes: tuple[str, ...] = ("transformers",)
    baseline: str = "HEAD"


class Rule:
    """Subclasses set the metadata below and implement :meth:`check`; the docstring is the rule's page."""

    code: str = ""
    name: str = ""
    severity: Severity = Severity.ERROR
    summary: str = ""
    # a rule about generation stopping: not run for a model that cannot generate (ModelFiles.generates)
    needs_generation: bool = False
    # a rule about the stop ids generate() takes from config.json and generation_config.json: not run for an ONNX
    # Runtime GenAI export (ModelFiles.onnx_export), which only onnxruntime-genai runs, from genai_config.json, nor
    # for an MLX-quantized checkpoint (ModelFiles.mlx_quantized), which only mlx-lm loads (EOS016 checks it)
    reads_generation_configs: bool = False
    # the runtimes it checks: the pipeline runs it only where the runtimes checked (runtimes.runtimes_checked: the
    # run's --runtime or ``runtimes``) name one (EOS001 and EOS030 check transformers' generate(), EOS016 the
    # others); () for a rule that runs whichever are named
    checks_runtimes: tuple[str, ...] = ()

    def run(self, subject: object, options: Options) -> Iterator[Finding]:
        """The findings on ``subject``, a resolved folder (a GGUF rule's: a GGUF file): the pipeline's one way to
        run any rule."""
        return self.check(subject, options)  # type: ignore[arg-type]

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        raise NotImplementedError

    def finding(self, model: ResolvedModel, message: str, place: Place,
                severity: Severity | None = None) -> Finding:
        return Finding(self.code, self.name, severity or self.severity, message, Location.of(place), model.folder)

    @classmethod
    def doc(cls) -> str:
        """The docstring without its indentation (``inspect.cleandoc``, without importing inspect), with one line
        at the end of "What it detects" that names the folders the rule skips (the section of docs/rules.md that
        :data:`NOT_FOR_NON_GENERATING` and :data:`NOT_FOR_ONNX_EXPORTS` make)."""
        lines = (cls.__doc__ or "").expandtabs().splitlines()
        indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
        margin = min(indents, default=0)
        text = "\n".join([lines[0].strip()] + [line[margin:].rstrip() for line in lines[1:]]).strip()
        skipped = [kind for kind, applies in ((SKIPS_NON_GENERATING, cls.needs_generation),
                                              (SKIPS_OTHER_RUNTIMES, cls.reads_generation_configs)) if applies]
        if skipped:
            head, mark, rest = text.partition("\n\n## Why")
            which = ",\nnor for ".join(skipped)
            text = f"{head}\n\nNot reported for {which}:\n[{SKIPPED_HEADING}]({SKIPPED_ANCHOR}).{mark}{rest}"
        return text


# The folders the rules about stopping skip, written once (docs/rules.md's section of this heading, which
# docs/gen_rules.py writes from the texts below); each such rule's doc names them in one line.
SKIPPED_HEADING = "Folders the stop rules skip"
SKIPPED_ANCHOR = "#folders-the-stop-rules-skip"
SKIPS_NON_GENERATING = "a model that cannot generate (a classifier, a bare or embedding model)"
SKIPS_OTHER_RUNTIMES = "an ONNX Runtime GenAI export or an MLX-quantized checkpoint"


NOT_FOR_ONNX_EXPORTS = (
    "Not run for an ONNX Runtime GenAI export (a folder with `genai_config.json`, as onnxruntime-genai's model\n"
    "builder writes it): no runtime that reads config.json or generation_config.json loads its ONNX weights, and\n"
    "onnxruntime-genai stops on `genai_config.json`'s `model.eos_token_id` alone, which EOS029 checks. Nor for an\n"
    "MLX-quantized checkpoint (config.json `quantization`, as `mlx_lm.convert -q` writes it, unless the weights\n"
    "beside name no `.scales` tensor): transformers does not load its packed weights, and EOS016 checks mlx-lm, the\n"
    "one runtime that does, whether `--runtime` selects it or not.")
NOT_FOR_NON_GENERATING = (
    "Not run for a model folder whose config.json `architectures` lists only classes without `generate()`:\n"
    "heads (`BertForSequenceClassification`, `Qwen2ForSequenceClassification` reward models,\n"
    "`...ForTokenClassification`, `...ForMaskedLM`, ...) and bare models as `AutoModel` loads them (`BertModel` in\n"
    "sentence-transformers folders, `MistralModel` in embedding models) or `AutoModelForTextEncoding` does\n"
    "(`T5EncoderModel`, `UMT5EncoderModel`: the text encoders of diffusers pipelines), and the other model classes\n"
    "of transformers with neither `GenerationMixin` nor a `generate()` of their own, such as the towers no Auto class\n"
    "loads (`CLIPTextModelWithProjection`, SDXL's `text_encoder_2`; `SiglipTextModel`; `CLIPVisionModelWithProjection`,\n"
    "an IP-Adapter's image encoder; computed from transformers' sources into `eos_guard/data/model_classes.json`),\n"
    "and the architectures vLLM 0.34.0 registers only as pooling models\n"
    "that transformers has no class for (ColBERT's `HF_ColBERT`, `Qwen2ForRewardModel`;\n"
    "`eos_guard/data/vllm_registry.json`, from vLLM's model registry). The rules follow `architectures`, as vLLM\n"
    "does, which runs such a folder as a pooling model. transformers' `pipeline()` and `AutoModelForCausalLM` pick\n"
    "their class by `model_type` instead, and would load a generating class whose head the checkpoint does not\n"
    "hold (untrained, unless the embeddings are tied), and llama.cpp's converter takes some bare models\n"
    "(`LlamaModel`, `Qwen2Model`): a folder meant to generate names its `...ForCausalLM` class. The rules do run\n"
    "where `architectures` names only bare models of a `model_type` that has a class that generates, and the weights\n"
    "are a causal LM's (an `lm_head` tensor, or, with tied embeddings, as config.json or its config class's default\n"
    "says, every tensor under the base model inside a `...ForCausalLM`, `model.`, and a vision-language model's\n"
    "towers; as model.safetensors.index.json's `weight_map` or model.safetensors' header lists them, not behind a\n"
    "link out of the repository): a causal LM's checkpoint under a bare model's name, which `pipeline()` runs as one.\n"
    "A config.json `auto_map` that names remote code able to\n"
    "generate keeps the rules: one named for an `AutoModelFor...` class whose classes in transformers can generate,\n"
    "or for `AutoModel` when its name ends as a generating class's does; not a class whose name says it cannot\n"
    "(nomic-bert's `NomicBertForPreTraining`), nor one named only for heads that cannot (briaai/RMBG-1.4's\n"
    "`AutoModelForImageSegmentation`). A class whose name ends as a generating class's is never such a head, whatever\n"
    "`auto_map` names it for: `AutoModelForCausalLM` still loads transformers' class of that name.\n\n"
    "Nor for a folder whose config.json names no `architectures` (nor such remote code) and whose `model_type` has no\n"
    "class that can generate in transformers (`types_without_generate` in `eos_guard/data/model_classes.json`:\n"
    "DeBERTa-v3's `deberta-v2`, ModernBERT, CLIP, wav2vec 2.0, ...), or whose only such class is an encoder's\n"
    "causal-LM head that needs `is_decoder`, which config.json does not set (`types_generating_only_as_decoders`:\n"
    "BERT's `BertLMHeadModel`, RoBERTa's, ELECTRA's, which warn \"If you want to use `BertLMHeadModel` as a\n"
    "standalone, add `is_decoder=True.`\"); with `is_decoder: true` the rules run. Nor when the only classes\n"
    "`architectures` lists are the remote class `auto_map` gives `AutoModel` beside remote heads that cannot\n"
    "generate (gte's `NewModel`); alone it may be the whole model (Ultravox's `UltravoxModel`), and the rules run.\n"
    "Nor for a PEFT adapter without\n"
    "config.json whose adapter_config.json `task_type` is `SEQ_CLS`, `TOKEN_CLS`, `QUESTION_ANS` or\n"
    "`FEATURE_EXTRACTION`: PEFT loads its base model with a head that cannot generate.\n\n"
    "Nor for a sentence-transformers folder whose `modules.json` lists a Pooling module\n"
    "(`sentence_transformers.models.Pooling`), whatever its class: embedding models such as gte-Qwen2 and\n"
    "Qwen3-Embedding name `...ForCausalLM`. vLLM 0.34.0 runs such a folder as a pooling model\n"
    "(`ModelConfig._get_default_runner_type`, vllm/config/model.py, reading `modules.json` before the class).\n\n"
    "Nor for a text-to-audio model whose `architectures` lists only MusicGen's, Bark's, Parler-TTS's, CSM's or Dia's\n"
    "classes (`MusicgenForConditionalGeneration`, `BarkModel`, `ParlerTTSForConditionalGeneration`,\n"
    "`CsmForConditionalGeneration`, `DiaForConditionalGeneration`, ...): its `generate()` writes audio codes, and its\n"
    "tokenizer is the text encoder's or the prompt's. Its stop ids are codebook ids (Parler-TTS's and Dia's decoder\n"
    "eos 1024, CSM's `codebook_eos_token_id` 0 in every codebook), a sub-config's (Bark's\n"
    "`semantic_config.eos_token_id` 10000 in generation_config.json), or none (MusicGen runs to `max_length`:\n"
    "transformers' models/musicgen reads no `eos_token_id`). The text-to-speech models whose `generate()` stops on\n"
    "a token of their tokenizer keep the rules: Higgs Audio v2 (config.json's `eos_token_id`, `<|eot_id|>`, once\n"
    "every codebook has ended), VibeVoice (`<|endoftext|>`), Qwen2.5-Omni and SeamlessM4T (which write text first).")


def describe_ids(ids: tuple[int, ...] | list[int], model: ResolvedModel) -> str:
    """``[151643 '<|endoftext|>']``-style list with token strings where the files say them."""
    def shown(token_id: int) -> str:
        text = token_text(model, token_id)
        return f"{token_id} '{text}'" if text else str(token_id)

    return quoted_list(ids, shown)


def token_text(model: ResolvedModel, token_id: int) -> str:
    return model.vocab.content_of(token_id) or ""


def checked_stop_ids(model: ResolvedModel) -> StopIds | None:
    """generate()'s stop ids for a check that a turn's last token is one (EOS001, EOS030): None when no file lists
    any (EOS004). (The pipeline runs those rules only where transformers is among the runtimes checked.)"""
    stop = model.stop
    if not stop.ids or stop.where is None:
        return None
    return stop


def add_to_stop_ids(model: ResolvedModel, what: str) -> str:
    """What a finding about a missing stop id says to do, ``what`` being ``add ID``: that, or, while transformers
    cannot read generation_config.json (it then uses config.json's eos_token_id, where the finding points), to repair
    that file first (EOS001, EOS030). Where the stop ids are config.json's and its config class takes one id
    (``one_eos_type``: a list there makes AutoConfig raise), the ids go in a generation_config.json, as ``--fix``
    writes them. Where the value holds entries that are no ids (EOS007: a float, a string, a negative number), to which
    ``--fix`` adds nothing, those are to be written as ids first."""
    where = model.stop.where
    kind = one_eos_type(where.document.data, where.keys[:-1]) \
        if where is not None and where.path.name == "config.json" else None
    if kind is not None:
        one_id = f"config.json's {kind} config class takes one id: a list there stops AutoConfig"
        if model.files.generation_config_error is not None:
            return f"repair generation_config.json and {what} to its eos_token_id list ({one_id})"
        return f"{what} in a generation_config.json's eos_token_id list, as --fix writes it ({one_id})"
    if model.stop.invalid:  # --fix adds to no value of the wrong type (EOS007): the ids come first
        return ids_first(model, what)
    if model.files.generation_config_error is None:
        return what
    return (f"repair generation_config.json (while transformers cannot read it, generate() uses config.json's "
            f"eos_token_id), or {what} here")


def message_end_eos(model: ResolvedModel, eos: TokenValue) -> str:
    """What EOS002 and EOS003 say of a tokenizer eos that is harmony's message end (ResolvedModel.turn_end_instead):
    to change the eos, not to list it."""
    return (f"'{eos.token}' also ends the reasoning before an answer, and a stop id on it would end generation "
            f"there: set eos_token to {turn_end_shown(model, eos.token)}, which ends turns, rather than listing "
            f"{eos.id}")


def text_token_stops(model: ResolvedModel, ids: tuple[int, ...] | list[int]) -> bool:
    """Every id a plain text token of the model vocabulary (not an added token), where no chat template ends answers
    with a token of known id: a stop set chosen on purpose, as a captioner trained to end its output with a newline
    has it (BLIP-2 OPT: 50118 'Ċ', LAVIS's eos; EOS002 and ``explain`` say so)."""
    vocab = model.vocab
    return bool(ids) and not any(t.id is not None for t in model.terminators) and vocab.complete \
        and all(0 <= i < vocab.model_size and vocab.content_of(i) is None for i in ids)


def templates_doing(names: list[str], singular: str, plural: str) -> str:
    """``the chat template ends``, ``the 'tool_use' chat template ends``, ``the 'default' and 'chat_template.json'
    chat templates end``: the subject of a finding about the templates ``names`` (EOS001, EOS030)."""
    if names == ["default"]:
        return f"the chat template {singular}"
    if len(names) == 1:
        return f"the '{names[0]}' chat template {singular}"
    quoted = ", ".join(f"'{name}'" for name in names[:-1])
    return f"the {quoted} and '{names[-1]}' chat templates {plural}"


def where_stop_ids_are(model: ResolvedModel) -> str:
    stop = model.stop
    if stop.where is None:
        return "no file"
    return stop.where.describe()


def ids_to_stop_on(model: ResolvedModel, terminators: bool = True, tokenizer_eos: bool = True,
                    new_eos: int | None = None) -> list[int]:
    """The ids a stop list needs (what ``--fix`` adds, EOS004 advises): terminators first (default template
    first), then the tokenizer's eos; only ids the model can emit: token ids (non-negative, below 2**32), below
    vocab_size when it is known; never a terminator or eos that also ends the reasoning before an answer
    (harmony's ``<|end|>``: ResolvedModel.turn_end_instead), where a stop id would end answers after their
    reasoning. ``new_eos``: the eos an unsafe fix gives the tokenizer, after which the old one stays a stop id (a
    base model's ``<|endoftext|>`` or ``</s>``, which chat releases keep: Qwen2-Instruct's [151645, 151643]),
    unless it is the tokenizer's bos and no text that ends generation anywhere (an eos set to Llama 3's
    ``<|begin_of_text|>``; GPT-2's ``<|endoftext|>``, its bos too, stays)."""
    ids: list[int] = []
    candidates = [t.id for t in sorted(model.terminators, key=lambda t: t.template.name != "default")
                  if not model.turn_end_instead(t.token)] if terminators else []
    eos = model.tokenizer_eos
    if tokenizer_eos and new_eos is not None:
        candidates.append(new_eos)
    if tokenizer_eos and eos is not None and eos.in_vocabulary and not model.turn_end_instead(eos.token) \
            and not (new_eos is not None and eos.token == model.special_tokens.get("bos_token")
                     and eos.token not in END_OF_TURN_TEXTS):
        candidates.append(eos.id)
    for token_id in candidates:
        if model.can_emit(token_id) and token_id not in ids:
            ids.append(token_id)
    return ids
