"""Differential tests: eos-guard's resolution equals what the real transformers does, on every fixture folder.

transformers is the oracle (the ``test`` extra pins transformers>=5). For each folder it can load:
- the tokenizer eos id equals ``AutoTokenizer.from_pretrained(folder).eos_token_id``;
- the stop ids equal ``GenerationConfig.from_pretrained`` (the ``config.json`` path with
  ``_from_model_config=True`` when there is no generation_config.json, as model loading does);
- the terminator is the token that follows the assistant's content in ``apply_chat_template``, for the
  same conversation shape eos-guard rendered.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from support import FIXTURES
from eos_guard.pipeline import check_folder
from eos_guard.model_files import ModelFiles
from eos_guard.template import ASSISTANT_MARKER, SAMPLE_TOOLS, SECOND_USER_MARKER, _conversations

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")

FOLDERS = sorted(p for p in FIXTURES.iterdir() if p.is_dir() and (p / "expected.json").exists())


def expected(folder: Path) -> dict:
    return json.loads((folder / "expected.json").read_text(encoding="utf-8"))


def loadable(folder: Path) -> bool:
    return expected(folder).get("loads_in_transformers", True)


def resolved(folder: Path):
    report = check_folder(folder)
    assert report.error is None or expected(folder).get("exit_code") == 2, report.error
    return report.model


def generation_config(folder: Path):
    """The GenerationConfig model loading builds: generation_config.json, else (also when that file raises
    OSError, e.g. not valid JSON: transformers generation/utils.py adjust_generation_fn) config.json."""
    if (folder / "generation_config.json").exists():
        try:
            return transformers.GenerationConfig.from_pretrained(str(folder))
        except OSError:
            pass
    return transformers.GenerationConfig.from_pretrained(str(folder), config_file_name="config.json",
                                                         _from_model_config=True)


def as_list(value) -> list:
    return [] if value is None else (list(value) if isinstance(value, list) else [value])


ORACLE_FOLDERS = [pytest.param(f, id=f.name) for f in FOLDERS if loadable(f)]
ID_FOLDERS = [pytest.param(f, id=f.name) for f in FOLDERS if loadable(f) and (f / "tokenizer.json").exists()]
TEMPLATE_FOLDERS = [p for p in ID_FOLDERS if ModelFiles.read(p.values[0]).templates]


def test_there_are_enough_fixtures():
    assert len(FOLDERS) >= 20 and len(ID_FOLDERS) >= 10


@pytest.mark.parametrize("folder", ID_FOLDERS)
def test_tokenizer_eos_id_matches_transformers(folder):
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = resolved(folder)
    ours = model.tokenizer_eos
    assert (ours.token if ours else None) == tokenizer.eos_token
    assert (ours.id if ours else None) == tokenizer.eos_token_id


@pytest.mark.parametrize("folder", ORACLE_FOLDERS)
def test_stop_ids_match_generation_config(folder):
    config = generation_config(folder)
    stop = resolved(folder).stop
    assert as_list(stop.raw) == as_list(config.eos_token_id)
    assert list(stop.ids) == [i for i in as_list(config.eos_token_id)
                              if isinstance(i, int) and not isinstance(i, bool) and i >= 0]


@pytest.mark.parametrize("folder", TEMPLATE_FOLDERS)
def test_terminator_matches_apply_chat_template(folder):
    model = resolved(folder)
    terminator = model.terminator
    assert terminator is not None and terminator.probe.shape is not None, terminator
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    parts = terminator.probe.shape.endswith("+parts")
    messages = dict(_conversations(parts))[terminator.probe.shape]
    kwargs = {"chat_template": terminator.template.name} if isinstance(tokenizer.chat_template, dict) else {}
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, **kwargs)
    except Exception:
        text = tokenizer.apply_chat_template(messages, tokenize=False, tools=SAMPLE_TOOLS, **kwargs)
    tail = text[text.rfind(ASSISTANT_MARKER) + len(ASSISTANT_MARKER):].split(SECOND_USER_MARKER)[0]
    assert tail == terminator.probe.tail
    if terminator.token is not None:
        assert tail.lstrip().startswith(terminator.token)
        assert tokenizer.convert_tokens_to_ids(terminator.token) == terminator.id
        assert terminator.token in tokenizer.get_added_vocab() or terminator.token in tokenizer.all_special_tokens


@pytest.mark.parametrize("folder", [pytest.param(f, id=f.name) for f in FOLDERS])
def test_findings_match_the_fixture_readme(folder, run):
    want = expected(folder)
    code, out, _ = run("--format", "json", str(folder))
    findings = json.loads(out)["findings"]
    errors = sorted({f["code"] for f in findings if f["severity"] == "error"})
    warnings = sorted({f["code"] for f in findings if f["severity"] == "warning"})
    infos = sorted({f["code"] for f in findings if f["severity"] == "info"})
    assert (errors, warnings, infos) == (sorted(set(want["errors"])), sorted(set(want["warnings"])),
                                         sorted(set(want["infos"]))), out
    if want.get("exit_code") == 2:  # a file that cannot be read is exit 2, whatever the findings
        assert code == 2
    else:
        assert (code == 1) == (want["verdict"] == "misaligned" or bool(want["errors"]))


def test_an_added_tokens_json_id_transformers_does_not_give_is_reported_in_that_file(tmp_path, run):
    """Legacy branch (no added_tokens_decoder): added_tokens.json declares <|im_end|> 9, but the token is in the
    model vocab as 5, which the tokenizer keeps. EOS009 names added_tokens.json and its entry."""
    from tokenizers import AddedToken, Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "hi": 3, "<|im_start|>": 4, "<|im_end|>": 5}
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = Whitespace()
    tok.add_special_tokens([AddedToken(t, special=True) for t in ("<unk>", "<s>", "</s>")])
    tok.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "</s>", "unk_token": "<unk>"}))
    (tmp_path / "added_tokens.json").write_text('{\n  "<|im_end|>": 9\n}\n')
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": 16, "eos_token_id": 2}))

    assert transformers.AutoTokenizer.from_pretrained(str(tmp_path)).convert_tokens_to_ids("<|im_end|>") == 5
    code, out, _ = run("--format", "concise", "--no-cache", str(tmp_path))
    eos009 = [line for line in out.splitlines() if " EOS009 " in line]
    assert eos009 == ["added_tokens.json:2:17: EOS009 warning: '<|im_end|>' is 9 in added_tokens.json but "
                      "transformers gives it 5 (ids follow tokenizer.json's list order) [added-token-id-mismatch]"]


@pytest.mark.parametrize("change,name", [
    pytest.param({"pad_token": {"content": "<|endoftext|>"}}, "pad_token", id="pad-object-without-type"),
    pytest.param({"extra_special_tokens": {"image_token": {"content": "<img>"}}}, "image_token",
                 id="extra-object-entry-without-type"),
    pytest.param({"extra_special_tokens": {"image_token": None}}, "image_token", id="extra-object-entry-null"),
])
def test_a_special_token_transformers_cannot_load_is_eos007(tmp_path, run, change, name):
    """Not only the eos: any special token value AutoTokenizer refuses means no runtime loads these files."""
    import shutil

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, **change}, indent=2), encoding="utf-8")
    with pytest.raises(TypeError):
        transformers.AutoTokenizer.from_pretrained(str(folder))
    code, out, _ = run("--format", "concise", "--no-cache", str(folder))
    assert code == 1 and f"EOS007 error: {name}" in out, out
