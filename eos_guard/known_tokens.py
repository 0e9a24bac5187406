"""Token texts that end a turn in known chat formats: one table, shared by the template probe and runtimes."""

# llama.cpp's end-of-generation texts: any vocabulary token with one of these texts stops generation
# (ggml-org/llama.cpp src/llama-vocab.cpp, llama_vocab::impl::load, read at commit 00ad355e009e, 2026).
LLAMA_CPP_EOG_TEXTS = (
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
)

# What the template probe may take as a terminator when a folder does not list its added tokens.
END_OF_TURN_TEXTS = LLAMA_CPP_EOG_TEXTS + ("<|END_OF_TURN_TOKEN|>", "[|endofturn|]", "<|end▁of▁sentence|>")
