"""EOS031: a tekken.json makes Mistral's own tokenizer load where mistral-common is installed (SGLang always), which
ignores the chat template and ends answers with '</s>'. The rule case is loaded with the installed transformers, and
with mistral-common where it is installed (.ci/run installs it in a virtualenv of its own and requires it there)."""

from __future__ import annotations

import ast
import json
import os
import shutil
from pathlib import Path

import pytest

from support import ROOT, write_json

CASE = ROOT / "tests" / "rule_cases" / "EOS031-tekken-overrides-template"
WARNING = ("EOS031 warning: SGLang and, where mistral-common and Pillow are installed, transformers and mlx-lm load "
           "Mistral's tokenizer from tekken.json, which ignores the chat template and ends answers with '</s>', but "
           "the chat template ends answers with '<|im_end|>'; remove tekken.json if it was copied from the base model")


def _codes(run, folder: Path) -> tuple[int, list[str], str]:
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    findings = json.loads(out)["findings"]
    return code, [f["code"] for f in findings], " ".join(f["message"] for f in findings)


def test_the_rule_case_is_a_warning_and_the_only_finding(run):
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(CASE))
    assert code == 0 and WARNING in out and out.count(" EOS0") == 1, out
    assert "tekken.json:1:1: EOS031" in out


def test_without_mistral_common_transformers_loads_the_hugging_face_files():
    """What the other rules judge: TokenizersBackend builds the vocabulary from tekken.json, and the ChatML tokens
    tokenizer_config.json declares follow it (1256, 1257), as generation_config.json lists them."""
    transformers = pytest.importorskip("transformers")
    from transformers.utils.import_utils import is_mistral_common_available

    if is_mistral_common_available():
        pytest.skip("mistral-common is installed: test_with_mistral_common_the_template_is_ignored covers this one")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(CASE))
    assert type(tokenizer).__name__ == "TokenizersBackend"
    assert (tokenizer.eos_token, tokenizer.eos_token_id) == ("<|im_end|>", 1257)
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
                                        tokenize=True)
    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    assert list(ids)[-2:] == [1257, 1010]  # '<|im_end|>' '\n': the ChatML template
    assert transformers.GenerationConfig.from_pretrained(str(CASE)).eos_token_id == [1257, 2]


def test_with_mistral_common_the_template_is_ignored():
    """The rule's claim: with mistral-common (and Pillow) installed, the same folder loads MistralCommonBackend,
    whose eos is tekken.json's '</s>' (2), which knows no '<|im_end|>' (the unknown token's 0) and formats chats
    with mistral-common's own format, not the folder's template."""
    transformers = pytest.importorskip("transformers")
    from transformers.utils.import_utils import is_mistral_common_available

    if not is_mistral_common_available():
        if os.environ.get("EOS_GUARD_REQUIRE_MISTRAL_COMMON"):
            pytest.fail("EOS_GUARD_REQUIRE_MISTRAL_COMMON is set, but mistral-common (or Pillow) is not installed")
        pytest.skip("needs mistral-common and Pillow (.ci/run installs them in a virtualenv of their own)")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(CASE))
    assert type(tokenizer).__name__ == "MistralCommonBackend"
    assert (tokenizer.eos_token, tokenizer.eos_token_id) == ("</s>", 2)
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") == 0
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert "[INST]" in prompt and "<|im_start|>" not in prompt, prompt


def test_with_mistral_common_tekken_json_wins_over_tokenizer_json(tmp_path):
    """Beside a tokenizer.json too (the Hugging Face tokenizer saved by save_pretrained, as a fine-tune's folder has
    it), a Mistral model type loads MistralCommonBackend when mistral-common is installed."""
    transformers = pytest.importorskip("transformers")
    from transformers.utils.import_utils import is_mistral_common_available

    if not is_mistral_common_available():
        if os.environ.get("EOS_GUARD_REQUIRE_MISTRAL_COMMON"):
            pytest.fail("EOS_GUARD_REQUIRE_MISTRAL_COMMON is set, but mistral-common (or Pillow) is not installed")
        pytest.skip("needs mistral-common and Pillow (.ci/run installs them in a virtualenv of their own)")
    folder = tmp_path / "m"
    transformers.AutoTokenizer.from_pretrained(str(CASE), mistral_format=False).save_pretrained(str(folder))
    assert (folder / "tokenizer.json").exists()
    for name in ("config.json", "generation_config.json", "tekken.json"):
        shutil.copy(CASE / name, folder / name)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert type(tokenizer).__name__ == "MistralCommonBackend" and tokenizer.eos_token_id == 2
    (folder / "tekken.json").unlink()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert type(tokenizer).__name__ == "TokenizersBackend" and tokenizer.eos_token_id == 1257


def test_the_mistral_common_model_types_are_the_installed_transformers_own():
    """vocabulary.MISTRAL_COMMON_TYPES: the model types TOKENIZER_MAPPING_NAMES maps to MistralCommonBackend when
    mistral-common is available (read from tokenization_auto.py's source, whatever is installed)."""
    transformers = pytest.importorskip("transformers")
    from eos_guard.vocabulary import MISTRAL_COMMON_TYPES

    if not transformers.__version__.startswith("5.25."):
        pytest.skip(f"the list is transformers 5.25's; {transformers.__version__} is installed")
    source = Path(transformers.__file__).parent / "models" / "auto" / "tokenization_auto.py"
    found = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Tuple) and len(node.elts) == 2 and isinstance(node.elts[0], ast.Constant) \
                and isinstance(node.elts[1], ast.IfExp) and isinstance(node.elts[1].body, ast.Constant) \
                and node.elts[1].body.value == "MistralCommonBackend":
            found.add(node.elts[0].value)
    assert found == MISTRAL_COMMON_TYPES


def test_a_template_that_ends_answers_with_the_mistral_eos_is_no_finding(run, tmp_path):
    """Mistral's own releases ship tekken.json beside the Hugging Face files, with a template whose answers end with
    '</s>' (Mistral Small 3.x, Mistral Nemo Instruct): both tokenizers end answers alike."""
    folder = shutil.copytree(CASE, tmp_path / "m")
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer_config["eos_token"] = "</s>"
    tokenizer_config["chat_template"] = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}[INST]"
                                         "{{ m['content'] }}[/INST]{% else %}{{ m['content'] }}{{ eos_token }}"
                                         "{% endif %}{% endfor %}")
    write_json(folder / "tokenizer_config.json", tokenizer_config)
    write_json(folder / "generation_config.json", {"bos_token_id": 1, "eos_token_id": 2})
    write_json(folder / "config.json", {**json.loads((folder / "config.json").read_text()), "eos_token_id": 2})
    code, codes, messages = _codes(run, folder)
    assert (code, codes) == (0, []), messages


def test_which_folders_load_mistral_s_tokenizer(run, tmp_path):
    """Beside a tokenizer.json, only the model types AutoTokenizer maps to MistralCommonBackend load it; without one,
    SGLang loads it for every model type (is_bare_tekken_checkpoint), transformers does not; without tekken.json,
    nothing does."""
    folder = shutil.copytree(CASE, tmp_path / "llama")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "architectures": ["LlamaForCausalLM"], "model_type": "llama"})
    code, codes, messages = _codes(run, folder)
    assert codes == ["EOS031"] and messages.startswith("SGLang loads Mistral's tokenizer from tekken.json"), messages
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")  # only its presence matters to this rule
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", "--select", "EOS031", str(folder))
    assert json.loads(out)["findings"] == [], out
    mistral = shutil.copytree(CASE, tmp_path / "mistral-without-tekken")
    (mistral / "tekken.json").unlink()
    code, codes, messages = _codes(run, mistral)
    assert "EOS031" not in codes, messages


def test_a_change_to_tekken_json_runs_the_hooks():
    """The pre-commit hooks' files (.pre-commit-hooks.yaml) include tekken.json, as model_files.CHECKED_FILES does."""
    from eos_guard.model_files import CHECKED_FILES

    assert "tekken.json" in CHECKED_FILES
    assert "tekken\\.json" in (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
