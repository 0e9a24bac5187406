from __future__ import annotations

from ..findings import Finding, Severity
from ..model_files import section_model_type
from ..resolve import ResolvedModel
from ..vocabulary import MISTRAL_COMMON_TYPES
from .base import Options, Rule, templates_doing

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

MISTRAL_EOS = "</s>"  # the eos of every tekken.json: mistral-common's Tekkenizer takes the rank of '</s>'


class TekkenOverridesTemplate(Rule):
    """A tekken.json makes Mistral's own tokenizer load, which ignores the chat template and ends answers with `</s>`.

    ## What it detects
    The folder has a `tekken.json` (Mistral's tokenizer file), a runtime loads Mistral's own tokenizer from it, and
    the folder's answers end with another token: the default chat template's terminator (else the tokenizer's eos)
    is not `</s>`, as when a ChatML fine-tune of Mistral Nemo or Mistral Small keeps the base model's tekken.json.
    Where Mistral's tokenizer loads:
    - SGLang 0.5.23, which installs mistral-common and Pillow: always without tokenizer.json
      (`is_bare_tekken_checkpoint`, sglang/srt/utils/hf_transformers/tokenizer.py), and beside one for the model
      types below, through transformers' AutoTokenizer (the 5.19 it pins lists them but `mistral_large4`);
    - transformers 5.25 and mlx-lm 0.32.2 (AutoTokenizer) where mistral-common ≥ 1.11.5 and Pillow are installed
      (transformers does not install them), for the model types whose tokenizer is `MistralCommonBackend`
      (`mistral`, `mistral3`, `ministral`, `ministral3`, `mistral_large4`, `mixtral`, `pixtral`, `voxtral`,
      `voxtral_realtime`: `TOKENIZER_MAPPING_NAMES` and `_use_mistral_format`, models/auto/tokenization_auto.py),
      even beside a tokenizer.json;
    - vLLM 0.34.0 only for a folder with `consolidated*.safetensors` beside tekken.json (`tokenizer_mode` auto:
      vllm/tokenizers/registry.py); otherwise it loads the Hugging Face tokenizer with `mistral_format=False`.

    eos-guard does not read tekken.json: the finding depends only on its being there, and the rules about the
    stop ids judge the folder as transformers loads it without mistral-common (the Hugging Face files).

    ## Why it breaks generation
    Mistral's tokenizer (`MistralCommonBackend`) formats chats with mistral-common's own `[INST]` format, never the
    folder's template, and its eos is `</s>`: a model trained to end its answers with `<|im_end|>` gets prompts in
    another format, and the runtime's stop set (SGLang: config.json's, generation_config.json's and the tokenizer's
    eos) may lack the token it writes. Which tokenizer loads depends on the runtime and on what else is installed,
    so the same folder stops in one environment and not in another.

    ## Remediation
    Remove tekken.json if it was copied from the base model and the model no longer uses Mistral's format (and
    `consolidated*.safetensors` and `params.json`, if they were copied too), or make the chat template end answers
    with `</s>`. `--fix` changes nothing: it only adds ids.
    """

    code = "EOS031"
    name = "tekken-overrides-template"
    severity = Severity.WARNING
    summary = "tekken.json makes Mistral's tokenizer load, which ignores the chat template and ends answers with </s>"
    needs_generation = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        files = model.files
        if files.tekken is None:
            return
        model_type = section_model_type(files.config.data, ()) if files.config is not None else None
        mistral_type = model_type in MISTRAL_COMMON_TYPES
        if "tokenizer.json" in files.vocabulary_names and not mistral_type:
            return  # SGLang and transformers load tokenizer.json for other model types
        terminator, eos = model.terminator, model.tokenizer_eos
        if terminator is not None and terminator.token is not None:
            what, token = f"{templates_doing([terminator.template.name], 'ends', 'end')} answers with", terminator.token
        elif terminator is None and eos is not None:
            what, token = "the tokenizer's eos is", eos.token
        else:
            return
        if token == MISTRAL_EOS:
            return
        loaders = "SGLang and, where mistral-common and Pillow are installed, transformers and mlx-lm load" \
            if mistral_type else "SGLang loads"
        yield self.finding(
            model,
            f"{loaders} Mistral's tokenizer from tekken.json, which ignores the chat template and ends answers "
            f"with '{MISTRAL_EOS}', but {what} '{token}'; remove tekken.json if it was copied from the base model",
            files.tekken)
