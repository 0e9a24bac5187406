"""The check users write without eos-guard: load with transformers, render the template, compare ids.

usage: transformers_check.py FOLDER -> prints ALIGNED or MISALIGNED
"""

import sys

from transformers import AutoTokenizer, GenerationConfig

MARKER = "EOSGUARDASSISTANT"

folder = sys.argv[1]
tokenizer = AutoTokenizer.from_pretrained(folder)
try:
    config = GenerationConfig.from_pretrained(folder)
except OSError:
    config = GenerationConfig.from_pretrained(folder, config_file_name="config.json", _from_model_config=True)
stop = config.eos_token_id
stop = [] if stop is None else ([stop] if isinstance(stop, int) else list(stop))
text = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": MARKER}],
                                     tokenize=False)
tail = text[text.rfind(MARKER) + len(MARKER):].lstrip()
added = sorted(tokenizer.get_added_vocab(), key=len, reverse=True)
terminator = next((t for t in added if tail.startswith(t)), None)
ids = [tokenizer.convert_tokens_to_ids(terminator)] if terminator else [tokenizer.eos_token_id]
print("ALIGNED" if all(i in stop for i in ids) else "MISALIGNED")
