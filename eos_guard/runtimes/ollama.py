"""Ollama (0.30 and later): its converter's eos, served by llama.cpp's end-of-generation rule.

Converter source: ollama/ollama ``convert/tokenizer.go`` ``parseTokenizer`` and ``convert/convert.go``
(commit fb30760996, v0.33.0-rc2): the eos is tokenizer_config.json's ``eos_token`` matched to the **last**
tokenizer.json ``added_tokens`` entry with that content; config.json is never read; a generation_config.json
eos **list** is written as ``tokenizer.ggml.eos_token_ids``, which llama-server (Ollama's engine for GGUF
since 0.30, PR #16031) does not read. Serving therefore follows ``llama_cpp.end_of_generation``.
"""

from __future__ import annotations

from ..resolve import ResolvedModel
from .base import StopSet, added_token_declared_id, show, show_id, tokenizer_config_eos, tokenizer_eos_place
from .llama_cpp import end_of_generation


def stop_set(model: ResolvedModel) -> StopSet:
    content = tokenizer_config_eos(model)
    eos = added_token_declared_id(model, content, last=True) if content and model.files.tokenizer else None
    ids = end_of_generation(model, {"eos": eos} if eos is not None else {})
    why = (f"GGUF eos {show_id(eos)} (tokenizer_config.json eos_token) ∪ llama.cpp end-of-generation texts → "
           f"{show(ids)}")
    return StopSet("ollama", ids, why, 'add PARAMETER stop "<token>" to the Modelfile, or set tokenizer_config.json '
                                       "eos_token to the terminator before converting", tokenizer_eos_place(model))
