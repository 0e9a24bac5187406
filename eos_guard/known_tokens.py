"""Token texts that end a turn in known chat formats: one table, shared by the template probe and runtimes."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Callable

# llama.cpp's end-of-generation texts: any vocabulary token with one of these texts stops generation
# (ggml-org/llama.cpp src/llama-vocab.cpp, llama_vocab::impl::load, the EOG section). This list holds for builds
# up to b11067 (read at commit 00ad355e009e; libllama b10335, b10488, b10603 and b11067 agree) and so for
# Ollama 0.33, which pins b10488.
LLAMA_CPP_EOG_TEXTS_B11067 = (
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
)
# b11548 (commit 781dbc5ac) adds K2 Horizon's turn end; b11413 does not have it yet. The newest build (b11739,
# commit 0ce8cd114, 2026-10) also has Llama 4's <|eot|>, which b11549 does not have yet.
LLAMA_CPP_EOG_TEXTS_B11548 = LLAMA_CPP_EOG_TEXTS_B11067 + ("<|ifm|im_end|>",)
LLAMA_CPP_EOG_TEXTS = LLAMA_CPP_EOG_TEXTS_B11067 + ("<|eot|>", "<|ifm|im_end|>")

# The fill-in-the-middle tokens llama.cpp finds by text and makes end-of-generation too (llama-vocab.cpp, "find
# FIM_PAD token" ... then "maintain a list of tokens that cause end-of-generation"): of each kind, the first
# vocabulary token with one of these texts. The lists of b11549's source; libllama b10335, b11067 and b11413
# hold the same texts but for PLaMo's file separator, which b11548 adds (its libllama, and b11739's, hold it).
LLAMA_CPP_FIM_PAD_TEXTS = ("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]")
LLAMA_CPP_FIM_REP_TEXTS = ("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>")
LLAMA_CPP_FIM_SEP_TEXTS_B11067 = ("<|file_sep|>",)
LLAMA_CPP_FIM_SEP_TEXTS = LLAMA_CPP_FIM_SEP_TEXTS_B11067 + ("<|plamo:file_separator|>",)
LLAMA_CPP_FIM_TEXTS = LLAMA_CPP_FIM_PAD_TEXTS + LLAMA_CPP_FIM_REP_TEXTS + LLAMA_CPP_FIM_SEP_TEXTS  # looked up once
# the GGUF keys (tokenizer.ggml.<kind>_token_id) that name those tokens, in the same order (pad, repo, separator);
# where one is set, llama.cpp looks for no token of that kind by text
LLAMA_CPP_FIM_KINDS = ("fim_pad", "fim_rep", "fim_sep")

# Texts llama.cpp's load gives the CONTROL type whatever type the file writes ("control-looking token ... was not
# control-type; this is probably a bug in the model. its type will be overridden", llama-vocab.cpp, the EOG section):
# a GGUF whose <|eot_id|> is typed NORMAL still has it read as one token in a prompt, and stops on it. (The FIM
# section does so too, for the first token of each kind the GGUF names no id for: no chat answer ends with one.)
LLAMA_CPP_CONTROL_LOOKING = tuple(dict.fromkeys(LLAMA_CPP_EOG_TEXTS_B11548 + LLAMA_CPP_EOG_TEXTS))

# PLaMo's eos: from b11413, llama.cpp drops `</s>` from the end-of-generation set when this token is in it.
PLAMO_EOS = "<|plamo:eos|>"

# SGLang 0.5.23: added tokens with these texts are extra stop ids
# (python/sglang/srt/utils/hf_transformers/common.py, _ADDITIONAL_STOP_TOKEN_TEXTS).
SGLANG_STOP_TEXTS = ("<|eom_id|>", "<|content_model_end_sampling|>", "<|ifm|im_end|>")

# What the template probe may take as a terminator when a folder does not list its added tokens.
END_OF_TURN_TEXTS = LLAMA_CPP_EOG_TEXTS + ("<|END_OF_TURN_TOKEN|>", "[|endofturn|]", "<|end▁of▁sentence|>",
                                           "<|content_model_end_sampling|>")

# Texts that end an assistant turn calling a tool where another ends an answer: gpt-oss's <|call|> (already above),
# Llama 3.1's <|eom_id|> with built-in tools (above), and GLM-4.5's <|observation|>, the tool turn's header, as its
# <|user|> ends an answer, and Apertus' <|tools_suffix|>, which closes its calls (swiss-ai's converter lists
# "</s>", "<|assistant_end|>", "<|tools_suffix|>" as the eos, swiss-ai/Megatron-LM#120), and Llama 4's <|eom|>
# (200007, which Meta's generation_config.json lists: [200001, 200007, 200008]; helper-179). EOS030 advises adding
# the first of these after a call.
TOOL_CALL_END_TEXTS = END_OF_TURN_TEXTS + ("<|observation|>", "<|tools_suffix|>", "<|eom|>")

# Texts that open every turn of a chat format (ChatML, Command R's, Llama 3's, Gemma's, harmony's): a template that
# writes one right after a tool call's arguments, and none of TOOL_CALL_END_TEXTS, ends the calling turn with nothing
# (Command R+'s tool_use template: its action, then <|START_OF_TURN_TOKEN|> for the tool's result), so it does not
# show which token the model ends such a turn with (helper-172, -164, -159).
TURN_OPENING_TEXTS = ("<|im_start|>", "<|START_OF_TURN_TOKEN|>", "<|start_header_id|>", "<start_of_turn>",
                      "<|start|>")


def known_turn_end(text: str) -> str | None:
    """The known turn-end text (:data:`END_OF_TURN_TEXTS`) ``text`` starts with, longest first (``<|end|>`` is not
    taken for ``<|end_of_text|>``), else None."""
    return next((token for token in _LONGEST_FIRST if text.startswith(token)), None)


def known_turn_end_in(text: str) -> str | None:
    """The first known turn-end text anywhere in ``text`` (the longest where two start at one place: ``<|end|>`` is
    not taken for ``<|end_of_text|>``), else None."""
    found = [(text.find(token), -len(token), token) for token in END_OF_TURN_TEXTS if token in text]
    return min(found)[2] if found else None


_LONGEST_FIRST = sorted(END_OF_TURN_TEXTS, key=len, reverse=True)

# harmony (gpt-oss; solar-open's "<|calls|>" and "<|flush|>"): "<|end|>" ends each message of an assistant's turn (its
# reasoning on the analysis channel, then its answer on the final one), "<|return|>" ("<|flush|>") ends the turn and
# "<|call|>" ("<|calls|>") a tool call. llama.cpp drops "<|end|>" from its end-of-generation set where the vocabulary
# holds both kinds (llama-vocab.cpp, the EOG section: "<|end|>" ... "<|return|>", "<|call|>").
MESSAGE_END = "<|end|>"


def turn_end_instead(text: str | None, has: Callable[[str], bool]) -> str | None:
    """For harmony's message end in a harmony vocabulary (``has``: whether the vocabulary holds a text), the text that
    ends a turn there ("<|return|>", else "<|flush|>"): a stop id on the message end would end an answer after its
    reasoning (helper-177). None for any other token, or where the vocabulary lacks either kind of turn end."""
    if text != MESSAGE_END or not (has("<|call|>") or has("<|calls|>")):
        return None
    return next((end for end in ("<|return|>", "<|flush|>") if has(end)), None)
