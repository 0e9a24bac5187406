"""Builds the benchmark's inputs: a Llama-3-scale folder, a small ChatML folder, and trees of small folders.

The Llama-3-scale tokenizer.json is built with the ``tokenizers`` library: a byte-level BPE with a
128,000-entry vocabulary (256 byte symbols and 127,744 merges made deterministically from a seeded RNG) and
256 added special tokens (ids 128000-128255, as in Llama 3), about 12 MB like the real file. The Gemma-scale one
has 262,144 entries and is about 34 MB. The templates written here are shortened paraphrases; bench/run.py puts
the real templates in when a local copy exists (``--corpus``), since those are the ones eos-guard knows.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

LLAMA3_TEMPLATE = (
    "{{- bos_token }}\n{%- if custom_tools is defined %}\n    {%- set tools = custom_tools %}\n{%- endif %}\n"
    "{%- if not tools_in_user_message is defined %}\n    {%- set tools_in_user_message = true %}\n{%- endif %}\n"
    "{%- if not date_string is defined %}\n    {%- set date_string = strftime_now(\"%d %b %Y\") %}\n{%- endif %}\n"
    "{%- if not tools is defined %}\n    {%- set tools = none %}\n{%- endif %}\n\n"
    "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content']|trim %}\n"
    "    {%- set messages = messages[1:] %}\n{%- else %}\n    {%- set system_message = \"\" %}\n{%- endif %}\n\n"
    "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n{%- if tools is not none %}\n"
    "    {{- \"Environment: ipython\\n\" }}\n{%- endif %}\n{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n"
    "{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n{%- if tools is not none and not tools_in_user_message %}\n"
    "    {{- \"You have access to the following functions. To call a function, please respond with JSON.\" }}\n"
    "    {{- \"\\n\\n\" }}\n    {%- for t in tools %}\n        {{- t | tojson(indent=4) }}\n        {{- \"\\n\\n\" }}\n"
    "    {%- endfor %}\n{%- endif %}\n{{- system_message }}\n{{- \"<|eot_id|>\" }}\n\n"
    "{%- for message in messages %}\n    {%- if not (message.role == 'ipython' or message.role == 'tool' or "
    "'tool_calls' in message) %}\n        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' }}\n    {%- elif 'tool_calls' in message %}\n"
    "        {%- set tool_call = message.tool_calls[0].function %}\n"
    "        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
    "        {{- '{\"name\": \"' + tool_call.name + '\", ' }}\n        {{- '\"parameters\": ' }}\n"
    "        {{- tool_call.arguments | tojson }}\n        {{- \"}\" }}\n        {{- \"<|eot_id|>\" }}\n"
    "    {%- elif message.role == \"tool\" or message.role == \"ipython\" %}\n"
    "        {{- \"<|start_header_id|>ipython<|end_header_id|>\\n\\n\" }}\n"
    "        {{- message.content | tojson }}\n        {{- \"<|eot_id|>\" }}\n    {%- endif %}\n{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n"
)
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
LLAMA3_SPECIAL = (["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
                  + [f"<|reserved_special_token_{i}|>" for i in range(2, 247)])


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _added(tokens: list[tuple[int, str]]) -> dict:
    return {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                     "special": True} for i, t in tokens}


def grow_merges(vocab: dict[str, int], tokens: list[str], size: int, rng: random.Random, spread: float,
                first: int, second: int, longest: int) -> list[tuple[str, str]]:
    """Merge random pairs of tokens into new ones until ``vocab`` has ``size`` entries (``tokens`` grows with it).
    The first part is any token with probability ``spread``, else one of the ``first`` oldest; the second is one of
    the ``second`` oldest; merged tokens longer than ``longest`` characters are skipped."""
    merges = []
    while len(vocab) < size:
        a = tokens[rng.randrange(len(tokens)) if rng.random() < spread else rng.randrange(min(len(tokens), first))]
        b = tokens[rng.randrange(min(len(tokens), second))]
        merged = a + b
        if merged in vocab or len(merged) > longest:
            continue
        vocab[merged] = len(vocab)
        tokens.append(merged)
        merges.append((a, b))
    return merges


def llama3_folder(folder: Path, vocab_size: int = 128_000, template: str = LLAMA3_TEMPLATE) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.pre_tokenizers import ByteLevel

    rng = random.Random(1234)
    alphabet = sorted(ByteLevel.alphabet())
    vocab = {symbol: i for i, symbol in enumerate(alphabet)}
    tokens = list(alphabet)
    merges = grow_merges(vocab, tokens, vocab_size, rng, spread=0.3, first=4000, second=2000, longest=16)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(LLAMA3_SPECIAL)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    special = [(vocab_size + i, t) for i, t in enumerate(LLAMA3_SPECIAL)]
    _write(folder / "tokenizer_config.json", {
        "added_tokens_decoder": _added(special), "bos_token": "<|begin_of_text|>", "chat_template": template,
        "clean_up_tokenization_spaces": True, "eos_token": "<|eot_id|>", "model_max_length": 131072,
        "tokenizer_class": "PreTrainedTokenizerFast"})
    _write(folder / "config.json", {"architectures": ["LlamaForCausalLM"], "bos_token_id": 128000,
                                    "eos_token_id": [128001, 128008, 128009], "model_type": "llama",
                                    "hidden_size": 4096, "num_hidden_layers": 32, "vocab_size": 128256})
    _write(folder / "generation_config.json", {"bos_token_id": 128000, "do_sample": True,
                                               "eos_token_id": [128001, 128008, 128009], "temperature": 0.6,
                                               "top_p": 0.9})
    return folder


GEMMA_SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "[multimodal]"] + [f"<unused{i}>" for i in range(99)] \
    + ["<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>", "<image_soft_token>"]
GEMMA_TEMPLATE = (
    "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- set first_user_prefix = "
    "messages[0]['content'] + '\n\n' -%}\n    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n"
    "    {%- set first_user_prefix = \"\" -%}\n    {%- set loop_messages = messages -%}\n{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n    {%- if (message['role'] == 'assistant') -%}\n"
    "        {%- set role = \"model\" -%}\n    {%- else -%}\n        {%- set role = message['role'] -%}\n"
    "    {%- endif -%}\n    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {{ message['content'] | trim }}\n    {{ '<end_of_turn>\n' }}\n{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\n'}}\n{%- endif -%}\n")


def gemma_folder(folder: Path, vocab_size: int = 262_144, template: str = GEMMA_TEMPLATE) -> Path:
    """A Gemma-3-scale folder: a byte-fallback BPE over "▁"-marked pieces, 262,144 entries (the special and
    unused tokens among them, as in Gemma, so every added token is in the vocab), about 34 MB like the real file."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    rng = random.Random(4321)
    base = GEMMA_SPECIAL + [f"<0x{b:02X}>" for b in range(256)]
    letters = [chr(c) for c in range(0x61, 0x7B)] + [chr(c) for c in range(0xE0, 0x100)] + ["▁", "\n", "\t", " "] \
        + [chr(c) for c in range(0x4E00, 0x4E00 + 200)]
    vocab = {t: i for i, t in enumerate(base)}
    tokens = []
    for ch in letters:
        if ch not in vocab:
            vocab[ch] = len(vocab)
            tokens.append(ch)
    merges = grow_merges(vocab, tokens, vocab_size, rng, spread=0.5, first=6000, second=3000, longest=22)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=True, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split("▁", "merged_with_next")
    tokenizer.decoder = decoders.ByteFallback()
    tokenizer.add_special_tokens(GEMMA_SPECIAL)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    special = [(vocab[t], t) for t in GEMMA_SPECIAL]
    _write(folder / "tokenizer_config.json", {
        "added_tokens_decoder": _added(special), "bos_token": "<bos>", "chat_template": template,
        "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>", "model_max_length": 1000000000000000019884624838656,
        "tokenizer_class": "GemmaTokenizer"})
    _write(folder / "config.json", {"architectures": ["Gemma3ForCausalLM"], "bos_token_id": 2, "eos_token_id": [1, 106],
                                    "model_type": "gemma3_text", "vocab_size": vocab_size})
    _write(folder / "generation_config.json", {"bos_token_id": 2, "eos_token_id": [1, 106], "pad_token_id": 0})
    return folder


def chatml_folder(folder: Path, broken: bool = False, template: str = CHATML) -> Path:
    tokens = [(151643, "<|endoftext|>"), (151644, "<|im_start|>"), (151645, "<|im_end|>")]
    _write(folder / "tokenizer_config.json", {"added_tokens_decoder": _added(tokens), "chat_template": template,
                                              "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                                              "tokenizer_class": "Qwen2Tokenizer"})
    _write(folder / "config.json", {"architectures": ["Qwen2ForCausalLM"], "eos_token_id": 151645,
                                    "model_type": "qwen2", "vocab_size": 151936})
    _write(folder / "generation_config.json", {"eos_token_id": 151643 if broken else [151645, 151643]})
    return folder


def small_chatml_with_tokenizer(folder: Path) -> Path:
    """A small ChatML folder with a tokenizer.json, loadable by transformers (for the comparison)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<unk>": 0, **{w: i + 1 for i, w in enumerate("hello world how are you fine thanks".split())}}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    n = len(vocab)
    tokens = [(n, "<|endoftext|>"), (n + 1, "<|im_start|>"), (n + 2, "<|im_end|>")]
    _write(folder / "tokenizer_config.json", {"added_tokens_decoder": _added(tokens), "chat_template": CHATML,
                                              "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"})
    _write(folder / "config.json", {"architectures": ["Qwen2ForCausalLM"], "eos_token_id": n + 2,
                                    "model_type": "qwen2", "vocab_size": 64})
    _write(folder / "generation_config.json", {"eos_token_id": [n + 2, n]})
    return folder


def tree(root: Path, count: int) -> Path:
    if root.exists():
        shutil.rmtree(root)
    for i in range(count):
        chatml_folder(root / f"org{i // 100:03d}" / f"model{i:05d}", broken=i % 10 == 0)
    return root
