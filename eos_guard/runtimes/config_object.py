"""config.json's eos as a transformers config *object* sees it: what vLLM and SGLang read.

transformers' own ``generate()`` reads the raw JSON (``resolve.generation_stop_ids``), where an absent eos is
absent. vLLM (``GenerationConfig.from_model_config(config)`` on the loaded object) and SGLang
(``getattr(hf_config, "eos_token_id")`` after copying ``text_config`` attributes up) read the object, where
the config class's default applies: a Llama config.json without ``eos_token_id`` means eos 2, one with
``"eos_token_id": null`` none (the class receives ``eos_token_id=None``). A composite config (LLaVA, Qwen2-VL, ...)
has no top-level eos attribute; its text sub-config's value (null included), or that class's default, is used.
A composite config.json with a top-level ``"eos_token_id": null`` has the attribute, as None: SGLang, which copies
a text-config attribute up only where the config has none, reads no eos (``hides_text_config``), while vLLM
(``GenerationConfig.from_model_config``) takes the text config's.
"""

from __future__ import annotations

from ..records import record
from ..resolve import ResolvedModel, Where
from .base import as_ids, show

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

# model_type -> eos_token_id default of its transformers config class (configuration_<model>.py), for a
# composite model the default of its text sub-config. Checked against the installed transformers by
# tests/test_runtimes.py (5.24, 5.25); transformers 5.19, which SGLang 0.5.23 pins (vLLM 0.33 needs 5.16-5.20), has
# the same defaults for every entry.
# None: the class has no default eos. A model type not listed here: eos-guard cannot tell.
CLASS_DEFAULT_EOS: dict[str, int | list[int] | None] = {
    "llama": 2, "mistral": 2, "mixtral": 2, "phi": 2, "gpt_neox": 2, "deepseek_v2": 2, "exaone4": 2,
    "granite": 2, "granitemoe": 2, "bloom": 2, "opt": 2, "ernie4_5": 2, "seed_oss": 2, "apertus": 2, "jamba": 2,
    "helium": 2, "gemma": 1, "gemma2": 1, "gemma3_text": 1, "deepseek_v3": 1, "phi3": 32000, "gpt2": 50256,
    "gptj": 50256, "starcoder2": 50256, "falcon": 11, "cohere": 255001, "cohere2": 255001, "olmo": 50279,
    "olmo2": 50279, "smollm3": 128001, "nemotron": 3, "stablelm": 0,
    "glm": [151329, 151336, 151338], "glm4": [151329, 151336, 151338],
    "qwen2": None, "qwen2_moe": None, "qwen3": None, "qwen3_moe": None, "gpt_oss": None, "mpt": None,
    "dbrx": None,
    # composite configs: the default text sub-config's eos
    "llava": 2, "llava_next": 2, "mistral3": 2, "idefics3": 2, "llama4": 2, "mllama": 128001, "gemma3": 1,
    "qwen2_vl": 151645, "qwen2_5_vl": 151645,
}
COMPOSITE = frozenset({"llava", "llava_next", "mistral3", "idefics3", "llama4", "mllama", "gemma3", "qwen2_vl",
                       "qwen2_5_vl"})


@record(frozen=True)
class ObjectEos:
    """The eos ids of the config object, how they were found, and whether eos-guard can tell at all."""

    ids: tuple[int, ...]
    how: str
    known: bool = True
    where: Where | None = None

    def describe(self) -> str:
        # ids only where a config.json gave them (where): "no model config.json" has none to show
        return f"{self.how} {show(self.ids)}" if self.known and self.where is not None else self.how


def config_object_eos(model: ResolvedModel, hides_text_config: bool = False) -> ObjectEos:
    """``hides_text_config``: a top-level null is read as no eos in a composite config too (SGLang)."""
    config = model.files.config
    data = config.data if config is not None and isinstance(config.data, dict) else None
    if data is None:
        # none, or one that is not a model's (a CTranslate2 conversion's): model_files leaves it out
        return ObjectEos((), "no model config.json", known=True)
    if data.get("eos_token_id") is not None:
        return ObjectEos(tuple(as_ids(data["eos_token_id"])), "config.json eos_token_id", where=Where(config,
                                                                                                   ("eos_token_id",)))
    model_type = data.get("model_type")
    text = data.get("text_config")
    composite = model_type in COMPOSITE or isinstance(text, dict)
    if "eos_token_id" in data and isinstance(model_type, str) and composite and hides_text_config:
        return ObjectEos((), "config.json eos_token_id null (the config then has the attribute, so text_config's "
                             "eos is not copied up to it)", where=Where(config, ("eos_token_id",)))
    if "eos_token_id" in data and isinstance(model_type, str) and not composite:
        # an explicit null is passed to the class as eos_token_id=None: no default (LlamaConfig's 2 included); a
        # config with a text sub-config (composite, also one not in COMPOSITE: gemma3n, qwen3_vl) goes on to it
        return ObjectEos((), "config.json eos_token_id null (the class default does not apply)",
                         where=Where(config, ("eos_token_id",)))
    if isinstance(text, dict) and "eos_token_id" in text:
        value = text["eos_token_id"]
        return ObjectEos(tuple(as_ids(value)), "config.json text_config.eos_token_id" if value is not None else
                         "config.json text_config.eos_token_id null (the class default does not apply)",
                         where=Where(config, ("text_config", "eos_token_id")))
    where = Where(config, ())
    if isinstance(model_type, str) and model_type in COMPOSITE and isinstance(text, dict) \
            and isinstance(text.get("model_type"), str):
        return _default(text["model_type"], f"the text config class default ({text['model_type']})", where)
    if isinstance(model_type, str):
        return _default(model_type, f"the {model_type} config class default", where)
    return ObjectEos((), "a config class default (config.json names no model_type)", known=False, where=where)


def _default(model_type: str, how: str, where: Where) -> ObjectEos:
    if model_type not in CLASS_DEFAULT_EOS:
        return ObjectEos((), f"the {model_type} config class default (not known to eos-guard)", known=False,
                         where=where)
    value: Any = CLASS_DEFAULT_EOS[model_type]
    return ObjectEos(tuple(as_ids(value)), how, where=where)
