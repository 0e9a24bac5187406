from __future__ import annotations

from ..findings import Finding, Severity
from ..known_tokens import MESSAGE_END
from ..resolve import ResolvedModel
from ..runtimes import NAMES, early_stop_advice, stops_early
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class StopIdEndsMessage(Rule):
    """A runtime stops on harmony's `<|end|>`, which ends the reasoning before every answer.

    ## What it detects
    In a harmony vocabulary (gpt-oss: `<|end|>` beside `<|return|>` and `<|call|>`), `<|end|>` is among the ids a
    selected runtime stops on: generate()'s `eos_token_id` (generation_config.json, else config.json), or a serving
    runtime's stop set, which may add the tokenizer's eos (vLLM, SGLang and mlx-lm do: an `eos_token` set to
    `<|end|>` puts it there). A fine-tune's configs come to list it by hand, by the alignment-handbook's
    `generation_config.eos_token_id = tokenizer.eos_token_id` with the eos set to `<|end|>`, or by an earlier
    eos-guard's `--fix` of a template that ends answers with `<|end|>` (Unsloth's gpt-oss template: EOS001 now says
    to end them with `<|return|>` instead).

    ## Why it breaks generation
    In harmony every message of an assistant's turn ends with `<|end|>`: the reasoning on the analysis channel
    first, then the answer on the final channel, which OpenAI's template ends with `<|return|>` (`<|call|>` for a
    tool call). A runtime that stops on `<|end|>` ends generation after the reasoning, and the answer is never
    written. llama.cpp leaves `<|end|>` out of its end-of-generation set in such a vocabulary for this reason
    (`src/llama-vocab.cpp`, the EOG section), so it is never reported for llama.cpp or Ollama.

    ## Remediation
    Remove `<|end|>`'s id from the list that holds it, and make `<|return|>` the eos where `<|end|>` is. `--fix`
    only adds ids: it changes nothing here.
    """

    code = "EOS033"
    name = "stop-id-ends-message"
    severity = Severity.ERROR
    summary = "a runtime stops on harmony's <|end|>, which ends the reasoning before every answer"
    needs_generation = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        for runtime in dict.fromkeys(options.runtimes):
            stop = model.runtime_stops.get(runtime)
            end_id = stops_early(model, stop) if stop is not None else None
            place = (stop.where or model.stop.where) if stop is not None else None
            if end_id is None or place is None:
                continue
            who = "generate()" if runtime == "transformers" else NAMES[runtime]
            yield self.finding(model, f"{who} stops on '{MESSAGE_END}' ({end_id}) ({stop.why}): in harmony it also "
                                      "ends the reasoning before every answer, so generation ends there and the "
                                      f"answer is never written; {early_stop_advice(model, end_id)}", place)
