"""ONNX Runtime GenAI (onnxruntime-genai).

It runs the folder its model builder (``src/python/py/models/builder.py``) writes: ONNX weights and a
genai_config.json, whose ``model.eos_token_id`` the builder fills from the Hugging Face folder it exported
(``builders/base.py`` ``make_genai_config``: generation_config.json's ``eos_token_id`` when set, else config.json's;
0.18.0 then ``text_config``'s, else the tokenizer's, and puts the tokenizer's ``eos_token`` id first when it is not
there already, ``resolve_special_token_ids``). The runtime reads only that file for its stop ids (``src/config.cpp``:
``Model_Element`` takes ``eos_token_id`` as a number or an array of numbers, each through ``SafeDoubleToInt``, which
takes any JSON number that is finite, integral and within int32's range, ``2.0`` included, and makes loading raise
for anything else; ``Config::Config`` uses ``model.pad_token_id`` when the list is empty or absent), and every
search stops on them (``src/search.cpp`` ``GreedySearch_Cpu::SetNextToken``, ``beam_search_scorer.cpp``; main's
speculative, n-gram and MTP decoding as well); config.json, generation_config.json and the tokenizer's eos are not
read. ``pad_token_id`` and ``vocab_size`` go through ``SafeDoubleToInt`` too. An id outside
``[0, model.vocab_size)`` makes the generator raise (v0.15.2 ``src/generators.cpp`` ``Generator::Generator``;
0.18.0 ``CreateSearch``): no stop set then.

A folder without genai_config.json is no export of the builder: the runtime cannot load it (unknown).

Not modelled: stop strings a caller gives an Engine turn (0.18.0 ``set_stop_strings``, not in any file); 0.18.0's
refusal to load a ``model.audio_output`` export whose eos ids hold its ``audio_start_token_id`` or
``text_end_token_id``; the other integer fields of ``model`` (``bos_token_id``, ``context_length``...), which make
loading raise the same way; a key written twice in ``model`` (json.loads keeps the last, the runtime appends a
second array to the first).
"""
from __future__ import annotations

import math

from ..resolve import ResolvedModel
from .base import Release, StopSet, place, show

RELEASES = (Release("onnxruntime-genai 0.18.0", None,
                    "microsoft/onnxruntime-genai src/config.cpp Model_Element, SafeDoubleToInt, Config::Config (v0.15.2 "
                    "lines 1133-1135, 1199-1200, 1803-1806; main a0c04eb13 1315-1316, 1381-1382, 2106-2109; the PyPI "
                    "0.18.0 wheel's library the same), src/search.cpp SetNextToken"),)
FIX = "add the id to genai_config.json model.eos_token_id"


def stop_set(model: ResolvedModel, release: Release = RELEASES[0]) -> StopSet:
    doc = model.files.genai_config
    if doc is None:
        reason = "no genai_config.json: onnxruntime-genai loads only a folder its model builder wrote"
        return StopSet("onnxruntime-genai", (), reason, "export the model with onnxruntime-genai's model builder",
                       unknown=reason)
    section = doc.get(("model",))
    section = section if isinstance(section, dict) else {}
    where = place(doc, ("model", "eos_token_id")) if doc.has(("model",)) else place(doc, ("model",))
    for name in ("pad_token_id", "vocab_size"):
        if name in section and as_int32(section[name]) is None:
            reason = f"genai_config.json model.{name} is not an integer: onnxruntime-genai cannot load the folder"
            return StopSet("onnxruntime-genai", (), reason, FIX, place(doc, ("model", name)), unknown=reason)
    value = section.get("eos_token_id")
    read = [as_int32(item) for item in (value if isinstance(value, list) else [value])]
    source = "genai_config.json model.eos_token_id"
    if "eos_token_id" not in section or not read:  # Config::Config: "If no eos_token_id was set, set it to the
        read = [as_int32(section.get("pad_token_id", 0))]  # pad token id" (checked above)
        source = "genai_config.json model.pad_token_id (" + \
            ("no eos_token_id)" if "eos_token_id" not in section else "eos_token_id is [])")
    elif None in read:
        reason = f"{source} holds a value that is not an integer: onnxruntime-genai cannot load the folder"
        return StopSet("onnxruntime-genai", (), reason, FIX, where, unknown=reason)
    ids = tuple(dict.fromkeys(item for item in read if item is not None))
    vocab_size = as_int32(section.get("vocab_size", 0)) or 0  # 0 when missing (config.h): every id is out of range
    if not all(0 <= item < vocab_size for item in ids):
        reason = f"{source} holds an id outside [0, model.vocab_size): onnxruntime-genai's Generator raises"
        return StopSet("onnxruntime-genai", (), reason, FIX, where, unknown=reason)
    return StopSet("onnxruntime-genai", ids, f"{source} {show(ids)}", FIX, where)


def as_int32(value: object) -> int | None:
    """The int onnxruntime-genai reads from a JSON value of genai_config.json (``SafeDoubleToInt``: its parser
    reads every number as a double, and takes one that is finite, integral and within int32's range), or None
    where loading raises: a string, null, true or false, an array, a fraction, or a value out of range."""
    if isinstance(value, float):
        value = int(value) if math.isfinite(value) and value.is_integer() else None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if -(1 << 31) <= value < (1 << 31) else None
