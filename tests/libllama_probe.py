"""Loads GGUF files with the real libllama, vocabulary only, and prints what it made of each: one JSON line per path
read from stdin, after ``PREFIX``: ``{"loaded": false}`` or ``{"loaded": true, "bos": id, "eos": id, "eot": id,
"eog": [ids], "template": text or null, "tool_use": text or null}`` (the ids for which ``llama_vocab_is_eog`` is true:
what
llama.cpp stops generating on; the default and the ``tool_use`` chat template as ``llama_model_chat_template`` gives
them).

libllama is the one the ``xllamacpp`` wheel links into its extension module (the C API is exported from it:
``llama_model_load_from_file``, ``llama_vocab_is_eog``...), so no compiler and no model weights are needed. A file
llama.cpp aborts on (``GGML_ASSERT``) ends this process: tests/test_llama_cpp_differential.py runs it apart and
starts it again.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import sys

PREFIX = "libllama_probe: "  # libllama and what it runs on an abort may write to stdout too


class ModelParams(ctypes.Structure):
    """``struct llama_model_params`` of include/llama.h as xllamacpp 2026.10.11549 vendors it (build b11549)."""

    _fields_ = [("devices", ctypes.c_void_p), ("tensor_buft_overrides", ctypes.c_void_p),
                ("n_gpu_layers", ctypes.c_int32), ("split_mode", ctypes.c_int), ("load_mode", ctypes.c_int),
                ("lazy_mode", ctypes.c_int), ("main_gpu", ctypes.c_int32), ("tensor_split", ctypes.c_void_p),
                ("progress_callback", ctypes.c_void_p), ("progress_callback_user_data", ctypes.c_void_p),
                ("kv_overrides", ctypes.c_void_p), ("vocab_only", ctypes.c_bool), ("check_tensors", ctypes.c_bool),
                ("use_extra_bufts", ctypes.c_bool), ("no_host", ctypes.c_bool), ("no_alloc", ctypes.c_bool),
                ("load_mtp", ctypes.c_bool)]


def libllama() -> ctypes.CDLL:
    lib = ctypes.CDLL(importlib.util.find_spec("xllamacpp.xllamacpp").origin)
    lib.llama_model_default_params.restype = ModelParams
    lib.llama_model_load_from_file.argtypes = [ctypes.c_char_p, ModelParams]
    lib.llama_model_load_from_file.restype = ctypes.c_void_p
    lib.llama_model_get_vocab.argtypes = [ctypes.c_void_p]
    lib.llama_model_get_vocab.restype = ctypes.c_void_p
    for name in ("llama_vocab_n_tokens", "llama_vocab_bos", "llama_vocab_eos", "llama_vocab_eot"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
        getattr(lib, name).restype = ctypes.c_int32
    lib.llama_vocab_is_eog.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.llama_vocab_is_eog.restype = ctypes.c_bool
    lib.llama_model_free.argtypes = [ctypes.c_void_p]
    lib.llama_model_chat_template.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.llama_model_chat_template.restype = ctypes.c_char_p
    lib.llama_backend_init()
    return lib


def probe(lib: ctypes.CDLL, path: str) -> dict:
    params = lib.llama_model_default_params()
    params.vocab_only = True
    model = lib.llama_model_load_from_file(path.encode(), params)
    if not model:
        return {"loaded": False}
    try:
        vocab = lib.llama_model_get_vocab(model)
        eog = [i for i in range(lib.llama_vocab_n_tokens(vocab)) if lib.llama_vocab_is_eog(vocab, i)]
        templates = {name: lib.llama_model_chat_template(model, name and name.encode()) for name in (None, "tool_use")}
        return {"loaded": True, "bos": lib.llama_vocab_bos(vocab), "eos": lib.llama_vocab_eos(vocab),
                "eot": lib.llama_vocab_eot(vocab), "eog": eog,
                **{name or "template": text.decode("utf-8", "replace") if text is not None else None
                   for name, text in templates.items()}}
    finally:
        lib.llama_model_free(model)


def main() -> None:
    lib = libllama()
    for line in sys.stdin:
        print(PREFIX + json.dumps(probe(lib, line.rstrip("\n"))), flush=True)


if __name__ == "__main__":
    main()
