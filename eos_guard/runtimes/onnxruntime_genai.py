"""ONNX Runtime GenAI (onnxruntime-genai).

It runs the folder its model builder (``src/python/py/models/builder.py``) writes: ONNX weights and a
genai_config.json, whose ``model.eos_token_id`` the builder fills from the Hugging Face folder it exported
(``builders/base.py`` ``make_genai_config``: generation_config.json's ``eos_token_id`` when set, else config.json's).
The runtime reads only that file for its stop ids (``src/config.cpp``: ``Model_Element`` takes ``eos_token_id`` as
an int or an array of ints; ``Config::Config`` uses ``model.pad_token_id`` when it has none), and every search stops
on them (``src/search.cpp`` ``GreedySearch_Cpu::SetNextToken``, ``beam_search_scorer.cpp``); config.json,
generation_config.json and the tokenizer's eos are not read. An id that is not an integer makes loading raise, and
one outside ``[0, model.vocab_size)`` makes ``Generator`` raise (``src/generators.cpp``): no stop set then.

A folder without genai_config.json is no export of the builder: the runtime cannot load it (unknown).
"""

from __future__ import annotations

from ..resolve import ResolvedModel, is_listed_id
from ..vocabulary import is_int
from .base import Release, StopSet, place, show

RELEASES = (Release("onnxruntime-genai 0.15.2", None,
                    "microsoft/onnxruntime-genai src/config.cpp Model_Element, Config::Config (v0.15.2 lines "
                    "1133-1135, 1199-1200, 1803-1806; main a0c04eb13 the same), src/search.cpp SetNextToken"),)
FIX = "add the id to genai_config.json model.eos_token_id"


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    doc = model.files.genai_config
    if doc is None:
        reason = "no genai_config.json: onnxruntime-genai loads only a folder its model builder wrote"
        return StopSet("onnxruntime-genai", (), reason, "export the model with onnxruntime-genai's model builder",
                       unknown=reason)
    section = doc.get(("model",))
    section = section if isinstance(section, dict) else {}
    if "eos_token_id" in section:
        value, source = section["eos_token_id"], "genai_config.json model.eos_token_id"
    else:  # Config::Config: "If no eos_token_id was set, set it to the pad token id"
        value, source = section.get("pad_token_id", 0), "genai_config.json model.pad_token_id (no eos_token_id)"
    values = value if isinstance(value, list) else [value]
    where = place(doc, ("model", "eos_token_id")) if doc.has(("model",)) else place(doc, ("model",))
    if not all(is_int(item) for item in values):
        reason = f"{source} holds a value that is not an integer: onnxruntime-genai cannot load the folder"
        return StopSet("onnxruntime-genai", (), reason, FIX, where, unknown=reason)
    vocab_size = section.get("vocab_size", 0)  # 0 when missing (config.h): every id is then out of range
    if not (is_int(vocab_size) and all(is_listed_id(item) and item < vocab_size for item in values)):
        reason = f"{source} holds an id outside [0, model.vocab_size): onnxruntime-genai's Generator raises"
        return StopSet("onnxruntime-genai", (), reason, FIX, where, unknown=reason)
    ids = tuple(dict.fromkeys(values))
    return StopSet("onnxruntime-genai", ids, f"{source} {show(ids)}", FIX, where)
