from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel, generating_section
from ..vocabulary import names_remote_tokenizer
from ..known_tokens import END_OF_TURN_TEXTS
from .base import Options, Rule, describe_ids, ids_to_stop_on

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class NoStopIds(Rule):
    """There are no stop ids at all.

    ## What it detects
    generation_config.json exists without an `eos_token_id` (or with `null` or `[]`), or there is no
    generation_config.json and config.json has no `eos_token_id` at the top level nor in `decoder`,
    `generator` or `text_config`. For a model whose `generate()` runs the generate() of a model inside it
    (Qwen2.5-Omni's thinker, BLIP-2's language model), that model's section of config.json (`thinker_config`, or
    its `text_config`; BLIP-2's `text_config`) has
    no `eos_token_id`, or the section is missing or null: generation_config.json is not used.

    ## Why it breaks generation
    transformers never merges generation_config.json with config.json: a generation_config.json without
    `eos_token_id` means `generate()` has no stopping criterion on tokens and every answer runs to
    `max_new_tokens`, whatever config.json says.

    ## Remediation
    Add `"eos_token_id"` with the turn terminator and the tokenizer's eos to generation_config.json. The
    finding names those ids where the files give them (`add [32002 '<end_of_utterance>', 2 '</s>']`), and
    `--fix` writes them, with the token that ends a turn calling a tool where the template has one of its own
    (EOS030: gpt-oss's `<|call|>`).

    Where the folder shows a model trained without an end token, the finding is a warning: GPT-1 (`openai-gpt`)
    never stops by design, and no id can be named to add. That is a folder whose tokenizer eos-guard sees whole
    (tokenizer.json or the vocabulary files it is built from; not remote code, whose class may default to an eos)
    and which names no token that ends an answer: no chat template terminator, no tokenizer eos (nor one its class
    defaults to), no separator token (a bert2bert model's `[SEP]` ends its training labels), no eos in config.json,
    and no token of a known turn end (`<|endoftext|>`, `</s>`, `<|im_end|>`, ...) in its vocabulary, which the
    finding names instead. A folder without tokenizer files (a merge saved without them) stays an error.
    """

    code = "EOS004"
    name = "no-stop-ids"
    severity = Severity.ERROR
    summary = "no stop ids: generate() never stops on a token"
    needs_generation = True
    reads_generation_configs = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        stop = model.stop
        if stop.ids or stop.invalid or stop.where is None:
            return
        wanted = ids_to_stop_on(model)  # what --fix writes: the terminators, then the tokenizer's eos
        add = f"; add {describe_ids(wanted, model)}" if wanted else ""
        # the vocabulary's tokens that end turns in known models
        ends = [(text, token_id) for text in END_OF_TURN_TEXTS if (token_id := model.vocab.id_of(text)) is not None]
        if ends and not wanted:  # no file names it, but the vocabulary holds one
            add = f"; the vocabulary holds '{ends[0][0]}' ({ends[0][1]}): if it ends answers, list it"
        severity = None
        if not ends and _designed_without_an_end(model):
            severity = Severity.WARNING
            add = "; no file names a token that ends an answer either (no chat template terminator, no tokenizer " \
                "eos), as for a model trained without an end token (GPT-1); if it has one, list its id"
        section = generating_section(model.files)
        if section is not None:  # Qwen2.5-Omni: generate() runs the thinker's, whose config comes from its section
            holds = "has no eos_token_id" if not stop.present else "has an empty eos_token_id"
            yield self.finding(
                model,
                f"config.json's {section} {holds} (nor its text_config), so generate(), which runs the generate() of "
                f"the model built from it, never stops on a token (generation_config.json is not used){add}",
                stop.where, severity)
        elif model.files.generation_config is not None:
            why = "has an empty eos_token_id" if stop.present else "has no eos_token_id"
            yield self.finding(
                model,
                f"generation_config.json {why}, so generate() never stops on a token "
                f"(config.json's eos_token_id is not used when this file exists){add}", stop.where, severity)
        else:
            yield self.finding(
                model,
                "config.json has no eos_token_id (top level, decoder, generator or text_config) and there is no "
                f"generation_config.json, so generate() never stops on a token{add}", stop.where, severity)


def _designed_without_an_end(model: ResolvedModel) -> bool:
    """Whether the folder shows a model trained without an end token (GPT-1, openai-gpt): no chat template
    terminator, no tokenizer eos (nor one its class defaults to) and no separator token, no eos in config.json, and
    a tokenizer eos-guard sees whole (its vocabulary complete, not remote code, whose class may default to an eos);
    the caller has found no token of a known turn end in the vocabulary. A folder without tokenizer files (a merge
    saved without them), or one that shows less, keeps the error."""
    files, vocab = model.files, model.vocab
    if not model.names_no_answer_end or "sep_token" in model.special_tokens:
        return False
    if model.config_eos is not None and model.config_eos.ids:
        return False
    if files.tokenizer_config is None and files.tokenizer is None and files.special_tokens_map is None:
        return False
    tokenizer_config = files.tokenizer_config.data if files.tokenizer_config is not None else None
    return vocab.complete and not vocab.remote and not names_remote_tokenizer(tokenizer_config)
