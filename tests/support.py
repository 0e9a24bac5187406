"""Paths and helpers shared by the tests (conftest.py holds the fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
RULE_CASES = ROOT / "tests" / "rule_cases"


# ChatML as a fine-tune might write it: a chat template eos-guard ships no results for, so a check must render it
# (with jinja2).
OWN_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def with_own_template(folder: Path) -> Path:
    """``folder``, its tokenizer_config.json's chat template replaced by OWN_TEMPLATE."""
    config = folder / "tokenizer_config.json"
    values = json.loads(config.read_text(encoding="utf-8"))
    values["chat_template"] = OWN_TEMPLATE
    config.write_text(json.dumps(values, indent=2), encoding="utf-8")
    return folder


def settled(folder: Path) -> Path:
    """``folder`` once every file in it was last changed over cache.RACY_NS ago (waits for it): only then does the
    cache remember a file's digest by its stat, which a warm run that reads tokenizer.json only up to its
    vocabulary needs."""
    import time

    from eos_guard.cache import RACY_NS

    changed = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in folder.rglob("*") if p.is_file())
    time.sleep(max(0, changed + RACY_NS - time.time_ns()) / 1e9 + 0.01)
    return folder


def model_of(folder: Path):
    """The resolved folder with every runtime's stop set, its files still loaded (check_folder releases
    tokenizer.json after the rules)."""
    from eos_guard.model_files import ModelFiles
    from eos_guard.resolve import resolve
    from eos_guard.runtimes import stop_sets

    model = resolve(ModelFiles.read(folder))
    model.runtime_stops = stop_sets(model)
    return model


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def added_token(token_id: int, content: str, special: bool = True) -> dict:
    """A tokenizer.json ``added_tokens`` entry with every field the tokenizers library requires."""
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": not special, "special": special}


# SentencePiece piece types (sentencepiece_model.proto)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def sentencepiece_model(pieces: list[tuple[str, int]], model_type: int = 2, trainer: bytes = b"") -> bytes:
    """A SentencePiece ModelProto, encoded by hand (the ``sentencepiece`` and ``protobuf`` packages are not needed
    to write one): ``pieces`` are (text, type), each with a falling score; a trainer spec of the model type (BPE 2,
    Unigram 1), with byte fallback, and ``trainer``'s own fields; an identity normalizer that adds a dummy prefix."""
    import struct

    out = bytearray()
    for index, (text, kind) in enumerate(pieces):
        body = _field(1, text.encode("utf-8")) + b"\x15" + struct.pack("<f", -float(index))
        if kind != NORMAL:
            body += b"\x18" + _varint(kind)
        out += _field(1, body)
    out += _field(2, b"\x18" + _varint(model_type) + b"\x20" + _varint(len(pieces)) + b"\x98\x02\x01" + trainer)
    out += _field(3, _field(1, b"identity") + b"\x18\x01")
    return bytes(out)


def llama_pieces(normal: int = 62, extra: tuple[tuple[str, int], ...] = ()) -> list[tuple[str, int]]:
    """Llama 2's layout, shortened: <unk> 0, <s> 1, </s> 2 (control), the 256 byte pieces, then ``normal`` pieces."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    texts = ["\u2581", *letters, *("\u2581" + c for c in letters), "\u2581th", "\u2581to", "\u2581te", "in", "er",
             "an", "re", "on", "at"]
    return [("<unk>", UNKNOWN), ("<s>", CONTROL), ("</s>", CONTROL), *((f"<0x{b:02X}>", BYTE) for b in range(256)),
            *((text, NORMAL) for text in texts[:normal]), *extra]


def tiktoken_file() -> bytes:
    """A tiktoken vocabulary as Llama 3's original/tokenizer.model and GLM-4's tokenizer.model are written: a line
    per token, its bytes in base64 and its rank; the 256 bytes in GPT-2's byte-level order (Llama 3's rank 0 is
    ``!``, "IQ== 0"), then three merged tokens: 259 ranks."""
    import base64

    order = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    order += [byte for byte in range(256) if byte not in order]
    tokens = [bytes([byte]) for byte in order] + [b"he", b" t", b" the"]
    return "".join(f"{base64.b64encode(token).decode()} {rank}\n" for rank, token in enumerate(tokens)).encode()


def require(*names: str, needing: str = "this test needs") -> None:
    """Import each module, or skip the calling test module without it (at its top level); CI installs them
    (.ci/run), so there a missing one is a failure, not a skip."""
    import importlib
    import os

    import pytest

    for name in names:
        if os.environ.get("CI"):
            importlib.import_module(name)
        else:
            pytest.importorskip(name, reason=f"{needing} {name} (CI installs it; see .ci/run)")


def write_safetensors_header(path, names) -> None:
    """A model.safetensors whose header names these tensors (one float each): what eos-guard reads of weights."""
    import json
    import struct

    header = json.dumps({"__metadata__": {"format": "pt"},
                         **{name: {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]}
                            for i, name in enumerate(names)}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4 * len(names))
