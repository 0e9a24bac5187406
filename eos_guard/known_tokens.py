"""Token texts that end a turn in known chat formats: one table, shared by the template probe and runtimes.

Seeded from llama.cpp's end-of-generation texts (``src/llama-vocab.cpp``, ``llama_vocab::impl::load``) and
the chat formats of the model families in docs/rules.md. The probe uses it only when a folder does not list
its added tokens (no tokenizer.json and no ``added_tokens_decoder``).
"""

END_OF_TURN_TEXTS = (
    "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
    "<|endoftext|>", "<|end_of_text|>", "<EOT>", "[EOT]", "[EOS]", "<end_of_utterance>", "<eos>", "<turn|>",
    "</s>", "<|END_OF_TURN_TOKEN|>", "[|endofturn|]", "<｜end▁of▁sentence｜>", "<|end▁of▁sentence|>",
)
