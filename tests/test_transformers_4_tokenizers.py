"""TGI's image runs transformers 4.51 (runtimes/tgi.py), whose AutoTokenizer raises on two things transformers 5's
save_pretrained writes: ``tokenizer_class`` ``TokenizersBackend`` and ``extra_special_tokens`` as a list
(runtimes.base.transformers_4_refuses_tokenizer; helper-161: 35 of 39 folders saved by LLaMA-Factory, TRL, unsloth,
mlx-lm and others). TGI then never starts, so its stop set is unknown, and no fix of the stop ids can help.

The folders here are saved by the real transformers 5 of the test extra. The oracle is transformers 4.51.3 itself,
in a virtualenv of its own that .ci/run makes and names in EOS_GUARD_TRANSFORMERS_4_PYTHON (skipped without it,
but where EOS_GUARD_REQUIRE_TRANSFORMERS_4=1, as .ci/run sets)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from support import FIXTURES, write_json
from eos_guard.pipeline import check_folder

transformers = pytest.importorskip("transformers")

PYTHON_4 = os.environ.get("EOS_GUARD_TRANSFORMERS_4_PYTHON")
REQUIRED = os.environ.get("EOS_GUARD_REQUIRE_TRANSFORMERS_4") == "1"

# (name, fixture, tokenizer_config.json changes after the transformers 5 save: None to leave out a key)
CASES = [
    ("llama3-saved", "llama3-8b-instruct-genconfig-fix", {}),
    ("qwen2-saved", "qwen2-instruct-aligned", {}),
    ("qwen2-saved-extra-list", "qwen2-instruct-aligned", {"extra_special_tokens": ["<|im_start|>"]}),
    ("qwen2-saved-extra-empty-list", "qwen2-instruct-aligned", {"extra_special_tokens": []}),
    ("qwen2-saved-extra-null", "qwen2-instruct-aligned", {"extra_special_tokens": None}),
    ("qwen2-saved-extra-object", "qwen2-instruct-aligned", {"extra_special_tokens": {"image_token": "<|im_start|>"}}),
    ("llama3-saved-fast-class", "llama3-8b-instruct-genconfig-fix", {"tokenizer_class": "PreTrainedTokenizerFast"}),
    ("qwen2-saved-backend-class", "qwen2-instruct-aligned", {"tokenizer_class": "TokenizersBackend"}),
    ("llama3-fixture", "llama3-8b-instruct-genconfig-fix", None),  # the files as transformers 4.40 wrote them
    # no tokenizer_class in tokenizer_config.json: AutoTokenizer takes config.json's (helper-163)
    ("qwen2-saved-class-in-config", "qwen2-instruct-aligned", {"tokenizer_class": None}),
]


def saved(tmp_path, name, fixture, changes):
    """The fixture's tokenizer as transformers 5 saves it, beside the fixture's configs, with ``changes``."""
    folder = shutil.copytree(FIXTURES / fixture, tmp_path / name, ignore=shutil.ignore_patterns("README.md",
                                                                                               "expected.json"))
    if changes is None:
        return folder
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(FIXTURES / fixture))
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|extra_0|>"]}) if "extra" in name else None
    tokenizer.save_pretrained(str(folder))
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(changes)
    if "class-in-config" in name:
        del config["tokenizer_class"]
        model_config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        write_json(folder / "config.json", {**model_config, "tokenizer_class": "TokenizersBackend"})
    write_json(path, config)
    return folder


def tgi_unknown(folder) -> str | None:
    report = check_folder(folder)
    assert report.error is None, report.error
    return report.model.runtime_stops["tgi"].unknown or None


def test_transformers_5_writes_what_transformers_4_cannot_read_and_tgi_cannot_tell(tmp_path):
    """The installed transformers 5 writes TokenizersBackend for Llama 3's tokenizer.json-only class and a list for
    added special tokens: TGI's verdict is unknown, with the reason."""
    llama = saved(tmp_path, "llama3-saved", "llama3-8b-instruct-genconfig-fix", {})
    assert json.loads((llama / "tokenizer_config.json").read_text())["tokenizer_class"] == "TokenizersBackend"
    assert "TokenizersBackend" in tgi_unknown(llama)
    qwen = saved(tmp_path, "qwen2-saved-extra", "qwen2-instruct-aligned", {})
    assert json.loads((qwen / "tokenizer_config.json").read_text())["extra_special_tokens"] == ["<|extra_0|>"]
    assert tgi_unknown(qwen) == (
        "TGI cannot load the tokenizer: transformers 4.51, which its image installs, raises on tokenizer_config.json's "
        "extra_special_tokens, a list (transformers 5 writes a list; 4.x reads an object of named tokens), and the "
        "model does not start")


LOAD = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import transformers
transformers.logging.set_verbosity_error()
out = {"version": transformers.__version__, "loads": {}}
for folder in sys.argv[1:]:
    try:
        transformers.AutoTokenizer.from_pretrained(folder)
        out["loads"][folder] = None
    except Exception as exc:
        out["loads"][folder] = f"{type(exc).__name__}: {exc}"[:200]
print(json.dumps(out))
"""


@pytest.mark.skipif(PYTHON_4 is None and not REQUIRED, reason="needs transformers 4.51.3 in the virtualenv that "
                                                              "EOS_GUARD_TRANSFORMERS_4_PYTHON names")
def test_tgi_cannot_tell_exactly_when_transformers_4_51_cannot_load_the_tokenizer(tmp_path):
    assert PYTHON_4, "EOS_GUARD_TRANSFORMERS_4_PYTHON is not set"
    folders = {name: saved(tmp_path, name, fixture, changes) for name, fixture, changes in CASES}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}
    result = subprocess.run([PYTHON_4, "-c", LOAD, *map(str, folders.values())], capture_output=True, text=True,
                            env=env, check=True, timeout=600)
    oracle = json.loads(result.stdout.splitlines()[-1])
    assert oracle["version"] == "4.51.3", oracle["version"]
    raised = {name: oracle["loads"][str(folder)] for name, folder in folders.items()}
    assert {name for name, error in raised.items() if error} == {
        "llama3-saved", "qwen2-saved-extra-list", "qwen2-saved-extra-empty-list", "qwen2-saved-extra-null",
        "qwen2-saved-backend-class", "qwen2-saved-class-in-config"}, raised  # the oracle raises on these only
    for name, folder in folders.items():
        assert (tgi_unknown(folder) is not None) == (raised[name] is not None), (name, raised[name])
