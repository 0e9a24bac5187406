"""llama.cpp: the stop set of a GGUF that ``convert_hf_to_gguf.py`` writes from the folder, at run time.

Converter source: ggml-org/llama.cpp ``gguf-py/gguf/vocab.py`` ``SpecialVocab._try_load_from_tokenizer_json``,
``_try_load_from_config_json`` and ``_set_special_token`` (commit 0c1c9d33a805; identical in the ``gguf`` 0.19.0
package, which the tests use as the oracle). The eos is tokenizer_config.json's ``eos_token`` string, matched
to the **first** tokenizer.json ``added_tokens`` entry with that content (its ``"id"`` field); a
``TemplateProcessing`` post-processor whose ``single`` template ends with another special token makes that
token the eos and the old one the eot. Failing that, config.json's ``eos_token_id`` (top level, else
``text_config``) when it is an int. generation_config.json and special_tokens_map.json are never read.

Runtime source: ``src/llama-vocab.cpp`` ``llama_vocab::impl::load`` (commit 00ad355e009e). The
end-of-generation set is the GGUF eos and eot, plus every token whose text is in ``LLAMA_CPP_EOG_TEXTS``;
``<|end|>`` is dropped when ``<|return|>`` and ``<|call|>`` (or ``<|calls|>`` and ``<|flush|>``) are there too
(gpt-oss, solar-open), and ``</s>`` when ``<|tool_response>`` is. Not modelled: FIM pad/rep/sep tokens, which
also stop, and the default eos id (2 or 11) used when the GGUF has none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..known_tokens import LLAMA_CPP_EOG_TEXTS
from ..resolve import ResolvedModel
from .base import StopSet, added_token_declared_id, show, show_id, tokenizer_eos_place, unique

if TYPE_CHECKING:
    from ..gguf_check import GgufModel


def converter_special_ids(model: ResolvedModel) -> dict[str, int]:
    """``{"eos": id, "eot": id}`` as gguf-py's SpecialVocab sets them (only the keys it sets)."""
    ids: dict[str, int] = {}
    tc = model.files.tokenizer_config
    tokenizer = model.files.tokenizer
    config_data = tc.data if tc is not None and isinstance(tc.data, dict) else None
    if tokenizer is not None and config_data:
        eos_entry: Any = config_data.get("eos_token")
        if not eos_entry and config_data.get("sep_token"):
            eos_entry = config_data["sep_token"]
        eot_entry: Any = None
        post = tokenizer.get(("post_processor",))
        processors = post.get("processors", [post]) if isinstance(post, dict) else []
        for processor in processors:
            if not isinstance(processor, dict) or processor.get("type") != "TemplateProcessing":
                continue
            single = processor.get("single", [])
            if isinstance(single, list) and len(single) > 1 and isinstance(single[-1], dict):
                last = single[-1].get("SpecialToken", {}).get("id")
                if last and last != eos_entry:
                    eot_entry, eos_entry = eos_entry, last
        for kind, entry in (("eos", eos_entry), ("eot", eot_entry)):
            content = entry.get("content") if isinstance(entry, dict) else entry
            if isinstance(content, str):
                token_id = added_token_declared_id(model, content)
                if token_id is not None and token_id >= 0:
                    ids[kind] = token_id
    if "eos" not in ids and model.files.config is not None and isinstance(model.files.config.data, dict):
        config = model.files.config.data
        value = config.get("eos_token_id")
        if value is None and isinstance(config.get("text_config"), dict):
            value = config["text_config"].get("eos_token_id")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            ids["eos"] = value
    return ids


def end_of_generation(model: ResolvedModel, special: dict[str, int]) -> tuple[int, ...]:
    """llama.cpp's ``special_eog_ids`` for a GGUF with these special ids and this folder's vocabulary."""
    return end_of_generation_ids(model.vocab.id_of, special)


def end_of_generation_ids(id_of: Callable[[str], int | None], special: dict[str, int]) -> tuple[int, ...]:
    """llama.cpp's ``special_eog_ids`` for a vocabulary (token text -> id) and the GGUF's eos/eot/eom ids."""
    by_text = {text: id_of(text) for text in LLAMA_CPP_EOG_TEXTS}
    present = {text for text, token_id in by_text.items() if token_id is not None}
    ids = unique([by_text[t] for t in LLAMA_CPP_EOG_TEXTS if t in present]
                 + [special.get("eos"), special.get("eot"), special.get("eom")])
    calls = "<|call|>" in present or "<|calls|>" in present
    if "<|end|>" in present and calls and ("<|return|>" in present or "<|flush|>" in present):
        ids = tuple(i for i in ids if i != by_text["<|end|>"])
    if "<|tool_response>" in present and "</s>" in present:
        ids = tuple(i for i in ids if i != by_text["</s>"])
    return ids


def gguf_end_of_generation(gguf: GgufModel, replace: dict[str, int] | None = None) -> tuple[int, ...]:
    """llama.cpp's end-of-generation ids for a GGUF file; ``replace`` swaps in other special ids, as a repair
    would."""
    return end_of_generation_ids(gguf.id_of, gguf.special(replace))


def stop_set(model: ResolvedModel) -> StopSet:
    special = converter_special_ids(model)
    ids = end_of_generation(model, special)
    parts = [f"GGUF eos {show_id(special.get('eos'))}"]
    if "eot" in special:
        parts.append(f"eot {special['eot']}")
    why = " + ".join(parts) + f" (from tokenizer_config.json eos_token) ∪ known end-of-generation texts → {show(ids)}"
    return StopSet("llama.cpp", ids, why,
                   "set tokenizer_config.json eos_token to the terminator before converting; for a converted GGUF "
                   "pass --override-kv tokenizer.ggml.eos_token_id=int:ID", tokenizer_eos_place(model))
