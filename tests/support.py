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


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def added_token(token_id: int, content: str, special: bool = True) -> dict:
    """A tokenizer.json ``added_tokens`` entry with every field the tokenizers library requires."""
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": not special, "special": special}
