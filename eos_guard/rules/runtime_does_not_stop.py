from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from ..runtimes import NAMES, answer_terminator, other_template, runtimes_checked, stop_advice, stops, target_id
from .base import Options, Rule, describe_ids, token_text

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

OWN_RULES = ("transformers", "onnxruntime-genai")  # EOS001 and EOS029 check them


class RuntimeDoesNotStop(Rule):
    """A selected serving runtime does not stop at the end of a chat answer.

    ## What it detects
    For each runtime selected with `--runtime` (or `runtimes` in the configuration) other than transformers
    (EOS001 covers transformers) and onnxruntime-genai (EOS029 covers it), eos-guard builds the stop set that
    runtime builds from the folder's files (docs/runtimes.md) and checks that it holds the turn terminator (or, without a chat template, the
    tokenizer's eos). Runtimes that are not selected are shown by `eos-guard explain` but never fail a run.

    ## Why it breaks generation
    The runtimes merge the files differently: vLLM, SGLang and mlx-lm (0.32 and later) take a union with the
    tokenizer's eos, TGI lets a generation_config.json *list* replace it and ignores a scalar, mlx-lm 0.31 and
    earlier replace it with the configs' value, the llama.cpp and Ollama converters read tokenizer_config.json's
    `eos_token` (llama.cpp's, failing that, config.json's `eos_token_id`; `ollama create` refuses an
    architecture its converter does not list, and such a model reaches Ollama as a GGUF llama.cpp's converter
    writes). The same folder can stop in one runtime and run to the token limit in another (Yi-34B-Chat:
    transformers and vLLM stop, TGI does not). A runtime that cannot load or convert the folder at all (TGI for
    a model type it does not serve, llama.cpp's converter for an architecture it has no class for) gives no
    stop set: `eos-guard explain` says "unknown" and why, and this rule says nothing. Each runtime is checked at its newest release unless
    `runtime-versions` in the configuration pins the one you run (docs/runtimes.md).

    vLLM (for a request without tools) and SGLang (for a model it runs as multimodal) render a processor's own chat
    template (chat_template.json, or processor_config.json's) where AutoProcessor builds a processor that has one:
    for them the answer ends with that template's terminator, and the message names the template.

    An MLX-quantized checkpoint (config.json `quantization` with `group_size` and `bits`, as `mlx_lm.convert -q`
    writes it for the mlx-community repositories) is loaded by mlx-lm alone: the rule checks mlx-lm for it whether
    selected or not, and the other runtimes, which cannot load its packed weights, are "unknown".

    ## Remediation
    The message names the file and value to change for that runtime, or, where the fix lies outside the
    folder (a GGUF already converted), what to pass: `--override-kv tokenizer.ggml.eos_token_id=int:ID` to
    llama.cpp (or `gguf_new_metadata.py --special-token eos TEXT`, then `ollama create` again for Ollama),
    `stop_token_ids` to vLLM. An Ollama `PARAMETER stop` string is advised only for a terminator that is not
    a special token: a special token is rendered as empty text, so a stop string never matches it. Where the
    template ends the final answer with harmony's `<|end|>` (EOS001 says when), the finding points at the template,
    which is what to change, for every runtime.
    """

    code = "EOS016"
    name = "runtime-does-not-stop"
    severity = Severity.ERROR
    summary = "a selected serving runtime does not stop at the end of a chat answer"
    needs_generation = True
    checks_runtimes = tuple(name for name in NAMES if name != "transformers")  # (runtimes_checked: and mlx-lm)

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        for runtime in runtimes_checked(model, options.runtimes):
            stop = model.runtime_stops.get(runtime)
            if runtime in OWN_RULES or stop is None or stops(model, stop) is not False:
                continue
            target = target_id(model, stop)  # a processor's template's terminator where the runtime renders that
            if target is None or target in stop.ids:  # listed, but the model never emits it: EOS006 says so
                continue
            place = stop.where or model.stop.where
            if place is None:
                continue
            terminator = answer_terminator(model, stop)
            if terminator is not None and model.turn_end_instead(terminator.token):
                place = terminator.template  # harmony's message end: the template is what to change
            text = token_text(model, target)
            shown = f"'{text}' ({target})" if text else str(target)
            other = other_template(model, stop)
            if other is not None:
                shown += f", which ends answers in the {stop.template} template it renders for {other[1]}"
            yield self.finding(model, f"{NAMES[runtime]} does not stop on {shown}: it stops on "
                                      f"{describe_ids(stop.ids, model)} ({stop.why}); "
                                      f"{stop_advice(model, stop)}", place)
