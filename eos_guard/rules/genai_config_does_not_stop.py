from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from ..runtimes import stops, target_id
from .base import Options, Rule, describe_ids, token_text

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class GenaiConfigDoesNotStop(Rule):
    """An ONNX Runtime GenAI export's genai_config.json does not stop at the end of a chat answer.

    ## What it detects
    A folder with `genai_config.json` is an ONNX Runtime GenAI export (onnxruntime-genai's model builder writes it
    next to the ONNX weights, with a copy of the tokenizer files and often of config.json). onnxruntime-genai stops
    on that file's `model.eos_token_id` alone (a number or a list; `model.pad_token_id` when it has none or `[]`),
    never on config.json, generation_config.json or the tokenizer's eos. The rule reports when those ids lack the
    turn terminator of the default chat template (or, without a template, the tokenizer's eos). The builder copies
    generation_config.json's `eos_token_id` when the exported folder had one, else config.json's: an export of a
    folder without generation_config.json (a fine-tune saved without it) gets config.json's single eos (0.18.0's
    builder also puts the tokenizer's `eos_token` id first).

    It is an error too when onnxruntime-genai cannot load the export by what genai_config.json says (a
    `model.eos_token_id`, `model.pad_token_id` or `model.vocab_size` that is no integer it reads, an id outside
    `[0, model.vocab_size)`, no `model` at all): then nothing in the folder says the model stops.

    The rules about the stop ids generate() reads (EOS001-EOS004, EOS012, EOS015, EOS017, EOS030) are not run for such a
    folder: transformers, vLLM, SGLang, TGI and mlx-lm load no ONNX weights, and llama.cpp's and Ollama's
    converters convert none (`eos-guard explain` says "cannot tell" for them).

    ## Why it breaks generation
    `og.Generator` keeps sampling past `<|end|>` (or `<|im_end|>`, `<|eot_id|>`) until `search.max_length`,
    writing the next user turn itself.

    ## Remediation
    Add the terminator's id to `model.eos_token_id` in genai_config.json (`--fix` does, keeping the ids already
    there). For example, Phi-3-mini's turns end with `<|end|>` (32007):

    ```json
    "eos_token_id": [32000, 32001, 32007],
    ```
    """

    code = "EOS029"
    name = "genai-config-does-not-stop"
    severity = Severity.ERROR
    summary = "onnxruntime-genai does not stop at the end of a chat answer (genai_config.json)"
    needs_generation = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        stop = model.runtime_stops.get("onnxruntime-genai")
        if not model.files.onnx_export or stop is None or stop.where is None:
            return
        if stop.unknown:
            # onnxruntime-genai cannot load the export, and the other runtimes' rules are off for it: nothing would
            # be said (helper-157: a genai_config.json of {} beside a checkpoint that runs on passed)
            yield self.finding(model, f"onnxruntime-genai cannot run this export ({stop.why}), and the checks of the "
                                      "other runtimes are off for an export (they load no ONNX weights), so nothing "
                                      "here says the model stops; write genai_config.json as the model builder does "
                                      "(model.eos_token_id, model.pad_token_id and model.vocab_size integers, the ids "
                                      "below vocab_size)", stop.where)
            return
        target = target_id(model)
        if target is None or stops(model, stop) is not False or target in stop.ids:
            return
        text = token_text(model, target)
        shown = f"'{text}' ({target})" if text else str(target)
        yield self.finding(model, f"onnxruntime-genai does not stop on {shown}: it stops on "
                                  f"{describe_ids(stop.ids, model)} ({stop.why}); add {target}", stop.where)
