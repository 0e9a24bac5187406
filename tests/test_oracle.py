"""Differential tests: eos-guard's resolution equals what the real transformers does, on every fixture folder.

transformers is the oracle (the ``test`` extra pins transformers>=5). For each folder it can load:
- the tokenizer eos id equals ``AutoTokenizer.from_pretrained(folder).eos_token_id``;
- the stop ids equal ``GenerationConfig.from_pretrained`` (the ``config.json`` path with
  ``_from_model_config=True`` when there is no generation_config.json, as model loading does);
- the terminator is the token that follows the assistant's content in ``apply_chat_template``, for the
  same conversation shape eos-guard rendered.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest

from support import FIXTURES, ROOT, RULE_CASES, write_json
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


# transformers loads a tokenizer.model only with sentencepiece and protobuf (not in the test extra: the tokenizer
# class tables are generated without them); tests/test_vocab_files.py says more
SENTENCEPIECE = all(importlib.util.find_spec(name) for name in ("sentencepiece", "google.protobuf")) \
    or os.environ.get("EOS_GUARD_REQUIRE_SENTENCEPIECE") == "1"  # .ci/run's SentencePiece run: never skipped


def has_vocabulary(folder: Path) -> bool:
    """Whether the folder's files hold its whole vocabulary, in a form the installed transformers loads."""
    if (folder / "tokenizer.json").exists() or (folder / "vocab.json").exists():
        return True
    return (folder / "tokenizer.model").exists() and SENTENCEPIECE


ORACLE_FOLDERS = [pytest.param(f, id=f.name) for f in FOLDERS if loadable(f)]
ID_FOLDERS = [pytest.param(f, id=f.name) for f in FOLDERS if loadable(f) and has_vocabulary(f)]
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
        # the tokens written before the terminator, then the terminator, in turn: the first right after the answer,
        # the others after whitespace or after text every answer is followed by (Kimi K3's closing tags)
        written = [*terminator.written_before, terminator.token]
        assert re.match(r"\s*" + r".*?".join(map(re.escape, written)), tail, re.S), (tail, written)
        assert tokenizer.convert_tokens_to_ids(terminator.token) == terminator.id
        for token in written:
            assert token in tokenizer.get_added_vocab() or token in tokenizer.all_special_tokens
        # as ids: the added tokens of the text after the answer start with exactly these, and it starts with the
        # first (only a stop id is a terminator after others)
        ids = [i for i in tokenizer(tail, add_special_tokens=False)["input_ids"] if tokenizer.decode([i]).strip()]
        added = set(tokenizer.get_added_vocab().values())
        assert ids[:1] == tokenizer.convert_tokens_to_ids(written[:1]), (ids, written)
        assert [i for i in ids if i in added][:len(written)] == tokenizer.convert_tokens_to_ids(written), (ids, written)
        assert not terminator.written_before or terminator.id in resolved(folder).stop.ids


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


AT_FLAGS = {"single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}


def added_token_object(content, **changes):
    return {"__type": "AddedToken", "content": content, **AT_FLAGS, **changes}


def _tc(**changes):
    def change(folder):
        path = folder / "tokenizer_config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        for key, value in changes.items():
            if callable(value):
                value(config)
            else:
                config[key] = value
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return change


def _map(special_tokens_map):
    """special_tokens_map.json replaced, tokenizer_config.json kept (with its added_tokens_decoder)."""
    def change(folder):
        (folder / "special_tokens_map.json").write_text(json.dumps(special_tokens_map, indent=2), encoding="utf-8")
    return change


def _legacy(special_tokens_map):
    """The legacy branch: tokenizer_config.json without added_tokens_decoder, and this special_tokens_map.json."""
    def change(folder):
        _tc(added_tokens_decoder=lambda config: config.pop("added_tokens_decoder"))(folder)
        (folder / "special_tokens_map.json").write_text(json.dumps(special_tokens_map, indent=2), encoding="utf-8")
    return change


def _decoder_entry(key, **changes):
    return lambda config: config["added_tokens_decoder"].__setitem__(
        key, {**config["added_tokens_decoder"].get(key, config["added_tokens_decoder"]["151645"]), **changes})


def _added_tokens(edit):
    def change(folder):
        path = folder / "tokenizer.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        edit(data["added_tokens"])
        text = json.dumps(data, ensure_ascii=False)  # a lone surrogate as its escape, which UTF-8 cannot hold
        path.write_text("".join(f"\\u{ord(c):04x}" if "\ud800" <= c <= "\udfff" else c for c in text),
                        encoding="utf-8")
    return change


def _first_added_token_id_written(text):
    """tokenizer.json's first added token's id written as ``text``, which json.dumps would not write (``-0``)."""
    def change(folder):
        path = folder / "tokenizer.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        data["added_tokens"][0]["id"] = "ID"
        path.write_text(json.dumps(data, ensure_ascii=False).replace('"id": "ID"', f'"id": {text}', 1),
                        encoding="utf-8")
    return change


# (change, whether AutoTokenizer raises: 1 for tokenizer_config.json and special_tokens_map.json, 2 for tokenizer.json,
# which the tokenizers library refuses; eos-guard says so with an EOS007 finding either way)
LOADING_CASES = [
    pytest.param(_tc(added_tokens_decoder=_decoder_entry("151645", special="true")), 1, id="decoder-flag-string"),
    pytest.param(_tc(added_tokens_decoder=_decoder_entry("151644", content=5)), 1, id="decoder-content-number"),
    pytest.param(_tc(added_tokens_decoder=lambda c: c["added_tokens_decoder"].__setitem__("151644", "<|im_start|>")),
                 1, id="decoder-entry-string"),
    pytest.param(_tc(added_tokens_decoder=_decoder_entry("x")), 1, id="decoder-key-not-a-number"),
    pytest.param(_tc(added_tokens_decoder=_decoder_entry("²")), 1, id="decoder-key-a-digit-int-refuses"),
    pytest.param(_tc(added_tokens_decoder=_decoder_entry("151646", content=None)), 0, id="decoder-content-null"),
    pytest.param(_tc(eos_token=added_token_object("<|im_end|>", lstrip=1)), 1, id="eos-added-token-flag-number"),
    pytest.param(_tc(some_setting={"x": [added_token_object("<y>", rstrip=0)]}), 1, id="nested-added-token-flag"),
    pytest.param(_tc(some_setting={"x": [added_token_object("<y>", foo=1)]}), 0, id="nested-added-token-other-key"),
    pytest.param(_tc(extra_special_tokens=[{"content": "<img>"}]), 1, id="extra-list-plain-object"),
    pytest.param(_tc(extra_special_tokens=[5]), 1, id="extra-list-number"),
    pytest.param(_tc(extra_special_tokens=[None]), 1, id="extra-list-null"),
    pytest.param(_tc(extra_special_tokens="<img>"), 1, id="extra-string"),
    pytest.param(_tc(extra_special_tokens=[added_token_object("<img>")]), 0, id="extra-list-added-token"),
    pytest.param(_tc(additional_special_tokens=[{"content": "<img>"}]), 1, id="additional-list-plain-object"),
    pytest.param(_tc(extra_special_tokens=["<img>"], additional_special_tokens=[{"content": "<x>"}]), 0,
                 id="additional-list-unused"),
    pytest.param(_tc(extra_special_tokens={"image_token": added_token_object("<img>", lstrip=1)}), 1,
                 id="extra-object-added-token-flag"),
    pytest.param(_legacy({"eos_token": {"content": "<|im_end|>", "lstrip": "no"}}), 1, id="legacy-map-flag-string"),
    pytest.param(_legacy({"eos_token": added_token_object("<|im_end|>")}), 0, id="legacy-map-added-token"),
    pytest.param(_legacy({"foo": {"content": "x", "rstrip": "n"}}), 1, id="legacy-map-other-object-flag"),
    pytest.param(_legacy({"extra_special_tokens": [{"content": "<img>", "special": True}]}), 1,
                 id="legacy-map-extra-list-special-key"),
    pytest.param(_legacy({"extra_special_tokens": [{"content": "<img>", "lstrip": None}]}), 1,
                 id="legacy-map-extra-list-flag-null"),
    pytest.param(_legacy({"extra_special_tokens": [{"lstrip": False}]}), 0, id="legacy-map-extra-list-no-content"),
    pytest.param(_legacy({"extra_special_tokens": {"image_token": {"content": "<img>"}}}), 1,
                 id="legacy-map-extra-object-plain-object"),
    pytest.param(_legacy({"additional_special_tokens": [{"content": "<img>", **AT_FLAGS}]}), 1,
                 id="legacy-map-additional-list-plain-object"),  # transformers 4.57 loads it
    pytest.param(_legacy({"additional_special_tokens": ["<img>"]}), 0, id="legacy-map-additional-list-string"),
    pytest.param(_map({"additional_special_tokens": [{"content": "<img>", "special": 1}]}), 0,
                 id="map-not-read-with-added-tokens-decoder"),
    pytest.param(_added_tokens(lambda tokens: tokens[0].__setitem__("special", "yes")), 2,
                 id="tokenizer-json-flag-string"),
    pytest.param(_added_tokens(lambda tokens: tokens[1].pop("lstrip")), 2, id="tokenizer-json-missing-flag"),
    pytest.param(_added_tokens(lambda tokens: tokens[2].__setitem__("id", "151645")), 2, id="tokenizer-json-id-string"),
    pytest.param(_added_tokens(lambda tokens: tokens[2].__setitem__("id", -1)), 2, id="tokenizer-json-id-negative"),
    pytest.param(_added_tokens(lambda tokens: tokens.append("<x>")), 2, id="tokenizer-json-entry-string"),
    pytest.param(_first_added_token_id_written("-0"), 2, id="tokenizer-json-id-minus-zero"),  # json.loads: 0
    # a lone surrogate (valid JSON as the escape \ud800) in a token's text: UTF-8 cannot encode it
    pytest.param(_added_tokens(lambda tokens: tokens[0].__setitem__("content", "<|endoftext|>\ud800")), 2,
                 id="tokenizer-json-content-lone-surrogate"),
    pytest.param(_added_tokens(lambda tokens: tokens[0].__setitem__("content", "<|endoftext|>\U0001f600")), 0,
                 id="tokenizer-json-content-surrogate-pair"),
    pytest.param(_tc(added_tokens_decoder=_decoder_entry("151646", content="<x>\udc00")), 1,
                 id="decoder-content-lone-surrogate"),
    pytest.param(_tc(added_tokens_decoder=_decoder_entry("151646", content="<x>\U0001f600")), 0,
                 id="decoder-content-surrogate-pair"),
    pytest.param(_tc(some_setting={"x": [added_token_object("<y>\ud800")]}), 1, id="nested-added-token-surrogate"),
    pytest.param(_legacy({"foo": {"content": "x\ud800"}}), 1, id="legacy-map-other-object-surrogate"),
    pytest.param(_first_added_token_id_written("151643"), 0, id="tokenizer-json-id-as-written"),
    pytest.param(_added_tokens(lambda tokens: tokens[0].__setitem__("note", 1)), 0, id="tokenizer-json-other-key"),
]


@pytest.mark.parametrize("change,refused", LOADING_CASES)
def test_eos_guard_says_the_tokenizer_cannot_load_exactly_when_transformers_raises(tmp_path, run, change, refused):
    """Where transformers builds an AddedToken from the files (tokenizer_config.json's added_tokens_decoder and
    AddedToken objects, the legacy special_tokens_map.json, tokenizer.json's added_tokens) or hands the
    tokenizers library its unnamed list, a value it refuses makes AutoTokenizer raise: eos-guard reports it (an
    EOS007 finding), and stays silent on the look-alike values that load."""
    import shutil

    from tokenizers import Tokenizer

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    change(folder)
    if refused == 2:  # Qwen2Tokenizer rebuilds the tokenizer from the vocabulary: the tokenizers library refuses it
        with pytest.raises(Exception, match="expected|missing field|invalid"):
            Tokenizer.from_file(str(folder / "tokenizer.json"))
        # the generic class, for a model type whose own class does not replace it, loads the file with that library
        _tc(tokenizer_class="PreTrainedTokenizerFast")(folder)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        (folder / "config.json").write_text(json.dumps({**config, "model_type": "llama"}), encoding="utf-8")
    try:
        transformers.AutoTokenizer.from_pretrained(str(folder))
        raised = False
    except Exception:  # TypeError, ValueError, AttributeError, the tokenizers library's own exception
        raised = True
    assert raised == bool(refused)
    code, out, err = run("--format", "concise", "--no-cache", str(folder))
    if refused:
        assert code == 1 and " EOS007 error: " in out, (out, err)
    else:
        assert " EOS007 " not in out and code in (0, 1), (code, out, err)


def test_the_fast_added_token_test_agrees_with_the_full_one():
    """``_plain_added_token`` (the loop-free test of thousands of entries) passes exactly the objects with a string
    content that ``added_token_error`` accepts; 0 and 1 are no booleans for tokenizers' AddedToken."""
    import itertools

    from eos_guard.resolve import ADDED_TOKEN_FLAGS, _plain_added_token, added_token_error

    values = [True, False, None, 0, 1, "true", [], {}, 0.0]
    for flag, value, content in itertools.product(ADDED_TOKEN_FLAGS, values, ["<x>", None, 5]):
        entry = {"content": content, **dict.fromkeys(ADDED_TOKEN_FLAGS, False), flag: value}
        assert _plain_added_token(entry) == (added_token_error(entry) is None and isinstance(content, str)), entry
        entry.pop(flag)
        assert _plain_added_token(entry) == isinstance(content, str), entry


NO_DEFAULT_CASES = [
    pytest.param({"additional_chat_templates/tool_use.jinja": "tools"}, True, id="tool-use-file-only"),
    pytest.param({"additional_chat_templates/tool_use.jinja": "tools", "chat_template.jinja": "main"}, False,
                 id="tool-use-file-and-default-file"),
    pytest.param({"list": ["tool_use", "rag"]}, True, id="list-without-default"),
    pytest.param({"list": ["default", "tool_use"]}, False, id="list-with-default"),
    pytest.param({"chat_template.json": "main"}, False, id="processor-template-only"),
]


@pytest.mark.parametrize("files,raises", NO_DEFAULT_CASES)
def test_eos014_says_there_is_no_default_template_exactly_when_apply_chat_template_raises(tmp_path, run, files,
                                                                                         raises):
    """The tokenizer's templates are all named and none is "default": transformers keeps them as a dict and
    apply_chat_template without tools raises. Each file holds the folder's own inline template."""
    import shutil

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    template = config["chat_template"]
    for name, value in files.items():
        if name == "list":
            config["chat_template"] = [{"name": item, "template": template} for item in value]
        elif name == "chat_template.json":
            del config["chat_template"]
            (folder / name).write_text(json.dumps({"chat_template": template}), encoding="utf-8")
        else:
            (folder / name).parent.mkdir(exist_ok=True)
            (folder / name).write_text(template, encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    try:
        tokenizer.apply_chat_template(chat, tokenize=False)
        raised = False
    except ValueError as error:
        # the tokenizer has no template at all when only a processor's chat_template.json holds one: not EOS014
        assert "multiple chat templates with no default" in str(error) or "chat_template.json" in files, error
        raised = "multiple chat templates with no default" in str(error)
    assert raised == raises
    code, out, _ = run("--format", "concise", "--no-cache", str(folder))
    no_default = [line for line in out.splitlines() if " EOS014 " in line and "no chat template is the default" in line]
    assert bool(no_default) == raises, out


def test_a_processor_chat_template_json_of_named_templates_is_checked_template_by_template(tmp_path, run):
    """chat_template.json's ``chat_template`` may be an object of named templates: the processor keeps it as such
    (``ProcessorMixin.get_processor_dict``) and renders "default" unless asked for another. Each is checked, so a
    named one ending turns with a string that is no token is reported at its own value."""
    import shutil

    from transformers.processing_utils import ProcessorMixin

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    template = config.pop("chat_template")
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    named = {"default": template, "tool_use": template.replace("<|im_end|>", "<|end|>")}
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": named}, indent=2), encoding="utf-8")
    processor_dict, _ = ProcessorMixin.get_processor_dict(str(folder))
    assert processor_dict["chat_template"] == named

    code, out, _ = run("--format", "json", "--no-cache", str(folder))
    report = json.loads(out)
    templates = {entry["name"]: entry["id"] for entry in report["models"][0]["templates"]}
    assert templates == {"chat_template.json": 151645, "chat_template.json:tool_use": None}, templates
    findings = [(f["code"], f["line"]) for f in report["findings"]]
    assert findings == [("EOS011", 4)], report["findings"]
    assert "'chat_template.json:tool_use'" in report["findings"][0]["message"]


def with_a_processor(folder):
    """A preprocessor_config.json naming a processor class, as a vision-language model's folder has: AutoProcessor
    builds a processor, the one reader of chat_template.json (a text model's is read by nothing)."""
    write_json(folder / "preprocessor_config.json", {"processor_class": "Qwen2VLProcessor"})
    return folder


def test_a_text_model_s_leftover_chat_template_json_is_read_by_nothing_and_not_checked(tmp_path, run):
    """helper-179: a text model (Qwen2ForCausalLM) with the tokenizer's own template and a leftover chat_template.json
    got EOS001 from the leftover file. AutoProcessor builds no processor for such a folder (no processor file, no
    processor_class, a model type without a processor in transformers) and returns the tokenizer, which never reads
    the file: the verdict is the tokenizer template's. Where a processor is named, or a Hub snapshot's commit lists a
    processor file it did not download, the file is checked again."""
    import shutil

    from transformers import AutoProcessor
    from transformers.processing_utils import ProcessorMixin

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    template = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))["chat_template"]
    stale = template.replace("<|im_end|>", "<|im_start|>")  # ends turns with a token that is no stop id
    write_json(folder / "chat_template.json", {"chat_template": stale})
    assert not isinstance(AutoProcessor.from_pretrained(str(folder)), ProcessorMixin)
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    report = json.loads(out)
    assert [entry["name"] for entry in report["models"][0]["templates"]] == ["default"]
    assert "EOS001" not in {f["code"] for f in report["findings"]}, report["findings"]

    from eos_guard import model_files  # a Hub snapshot whose commit lists a processor file it did not download
    try:
        model_files.record_not_fetched(folder, {}, [*(p.name for p in folder.iterdir()), "preprocessor_config.json"])
        assert "chat_template.json" in model_files.ModelFiles.read(folder).templates
    finally:
        model_files.record_not_fetched(folder, {})

    def codes() -> set[str]:
        out = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))[1]
        return {f["code"] for f in json.loads(out)["findings"]}

    # helper-185: a leftover image processor's config that names no processor class: AutoProcessor still returns
    # the tokenizer
    write_json(folder / "preprocessor_config.json", {"image_processor_type": "Qwen2VLImageProcessor"})
    assert not isinstance(AutoProcessor.from_pretrained(str(folder)), ProcessorMixin)
    assert "EOS001" not in codes()
    # a processor class named, but no image processor's config for it to load (a text-only fine-tune of a VLM that
    # kept processor_class, helper-185): loading the processor raises, and nothing reads chat_template.json
    (folder / "preprocessor_config.json").unlink()
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(folder / "tokenizer_config.json", {**settings, "processor_class": "Qwen2VLProcessor"})
    with pytest.raises(Exception):
        AutoProcessor.from_pretrained(str(folder))
    assert "EOS001" not in codes()
    # both: the processor is built, and its template checked (named in the image processor's config too)
    write_json(folder / "preprocessor_config.json", {"image_processor_type": "Qwen2VLImageProcessor"})
    assert "EOS001" in codes()
    write_json(folder / "tokenizer_config.json", settings)
    write_json(folder / "preprocessor_config.json", {"image_processor_type": "Qwen2VLImageProcessor",
                                                     "processor_class": "Qwen2VLProcessor"})
    assert "EOS001" in codes()
    # helper-187: processor_config.json that names the class but nests no image processor's config, without
    # preprocessor_config.json: loading the processor raises, and nothing reads chat_template.json
    (folder / "preprocessor_config.json").unlink()
    write_json(folder / "processor_config.json", {"processor_class": "Qwen2VLProcessor", "image_seq_length": 256})
    with pytest.raises(OSError, match="Can't load image processor"):
        AutoProcessor.from_pretrained(str(folder))
    assert "EOS001" not in codes()
    # chat_template.json beside additional_chat_templates/: get_processor_dict raises, whatever the processor files
    write_json(folder / "preprocessor_config.json", {"image_processor_type": "Qwen2VLImageProcessor",
                                                     "processor_class": "Qwen2VLProcessor"})
    assert "EOS001" in codes()
    (folder / "additional_chat_templates").mkdir()
    (folder / "additional_chat_templates" / "tool_use.jinja").write_text(template, encoding="utf-8")
    with pytest.raises(ValueError, match="conflicting files"):
        AutoProcessor.from_pretrained(str(folder))


@pytest.mark.parametrize("value, where, label, kind", [
    (5, "1:19", "chat_template.json", "a number"),
    (["{{ 1 }}"], "1:19", "chat_template.json", "an array"),
    ({"default": None, "tool_use": True}, "1:49", "chat_template.json:tool_use", "a boolean"),
], ids=["number", "array", "named-boolean"])
def test_a_processor_template_that_is_no_text_is_eos014(tmp_path, run, value, where, label, kind):
    """A processor keeps chat_template.json's value as it is (``ProcessorMixin.get_processor_dict``), and its
    apply_chat_template hands it to transformers' template compiler, which raises on anything but text. It was
    skipped without a word; now it is EOS014, as such a value in tokenizer_config.json is."""
    import shutil

    from transformers.processing_utils import ProcessorMixin
    from transformers.utils.chat_template_utils import _compile_jinja_template

    folder = with_a_processor(shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m"))
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": value}), encoding="utf-8")
    processor_dict, _ = ProcessorMixin.get_processor_dict(str(folder))
    kept = processor_dict["chat_template"]
    with pytest.raises(TypeError):
        _compile_jinja_template(kept if not isinstance(kept, dict) else kept["tool_use"])

    code, out, err = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert code == 1 and err == "" and " EOS001 error: " in out, (out, err)
    assert f"chat_template.json:{where}: EOS014 warning: the '{label}' chat template is {kind}, not a string: the " \
           "processor's apply_chat_template raises TypeError where it is used [template-error]" in out, out


@pytest.mark.parametrize("value", [0, False, [], {}, ""], ids=["zero", "false", "empty-list", "empty-object", "empty"])
def test_a_processor_template_json_value_that_is_false_gives_the_processor_none(tmp_path, run, value):
    """helper-117: get_processor_dict flattens chat_template.json's value and keeps it only when it is true
    (``elif chat_templates:``): 0, false, "", [] and {} give the processor no template at all, so there is nothing
    to report (it was EOS014 'apply_chat_template raises TypeError')."""
    import shutil

    from transformers.processing_utils import ProcessorMixin

    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": value}), encoding="utf-8")
    processor_dict, _ = ProcessorMixin.get_processor_dict(str(folder))
    assert "chat_template" not in processor_dict
    code, out, err = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert code == 1 and " EOS014 " not in out and " EOS001 error: " in out, out


def test_templates_ending_turns_with_the_same_missing_id_make_one_eos001(tmp_path, run):
    """Gemma 3 ships its template in tokenizer_config.json and in chat_template.json (for the processor). An SFT
    save that collapsed generation_config.json's [1, 106] to 1 leaves both ending turns with <end_of_turn> 106 that
    generate() does not stop on: one finding at eos_token_id, naming both templates, not the same line twice. A
    template that ends turns with another missing id gets a finding of its own."""
    import shutil

    folder = shutil.copytree(FIXTURES / "gemma-3-it-sft-collapsed-eos", tmp_path / "m")
    template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": template}), encoding="utf-8")
    # the image processor's config Gemma 3 ships beside it, without which its processor does not load (helper-185)
    write_json(folder / "preprocessor_config.json", {"image_processor_type": "Gemma3ImageProcessor",
                                                     "processor_class": "Gemma3Processor"})
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "EOSGUARD"}]
    after = tokenizer.apply_chat_template(chat, tokenize=False).split("EOSGUARD")[1]
    assert after.startswith("<end_of_turn>") and tokenizer.convert_tokens_to_ids("<end_of_turn>") == 106
    stop = transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id
    assert 106 not in ([stop] if isinstance(stop, int) else stop)

    code, out, _ = run("--format", "json", "--no-cache", str(folder))
    report = json.loads(out)
    assert {t["name"]: t["id"] for t in report["models"][0]["templates"]} == {"default": 106,
                                                                             "chat_template.json": 106}
    eos001 = [f["message"] for f in report["findings"] if f["code"] == "EOS001"]
    assert len(eos001) == 1 and eos001[0].startswith(
        "the 'default' and 'chat_template.json' chat templates end assistant turns with '<end_of_turn>' (106)"), eos001

    (folder / "chat_template.json").write_text(json.dumps({"chat_template": template.replace(
        "<end_of_turn>", "<start_of_image>")}), encoding="utf-8")
    report = json.loads(run("--format", "json", "--no-cache", str(folder))[1])
    eos001 = [f["message"] for f in report["findings"] if f["code"] == "EOS001"]
    assert len(eos001) == 2 and eos001[0].startswith("the chat template ends assistant turns with '<end_of_turn>'") \
        and eos001[1].startswith("the 'chat_template.json' chat template ends assistant turns with"), eos001


def test_the_processor_template_is_checked_next_to_sixteen_tokenizer_templates(tmp_path, run):
    """The limit of 16 templates per folder counts chat_template.json's named templates, not its one string (which
    was EOS018 since named ones were read, with the string's length given as a count of templates)."""
    import shutil

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    with_a_processor(folder)
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    template = config["chat_template"]
    config["chat_template"] = [{"name": "default" if i == 0 else f"t{i}", "template": template} for i in range(16)]
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": template}), encoding="utf-8")
    code, out, _ = run("--format", "json", "--no-cache", str(folder))
    report = json.loads(out)
    assert code == 0 and report["findings"] == [], report["findings"]
    assert "chat_template.json" in [t["name"] for t in report["models"][0]["templates"]]


def test_no_default_template_is_not_said_when_eos_guard_did_not_read_chat_template_jinja(tmp_path, run):
    """chat_template.jinja is a link out of the repository (EOS018: not read): transformers follows it and has a
    default template, so EOS014 must not say there is none."""
    import shutil

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    (tmp_path / "outside.jinja").write_text(config["chat_template"], encoding="utf-8")
    (folder / "chat_template.jinja").symlink_to(tmp_path / "outside.jinja")
    (folder / "additional_chat_templates").mkdir()
    (folder / "additional_chat_templates" / "tool_use.jinja").write_text(config["chat_template"], encoding="utf-8")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    code, out, _ = run("--format", "concise", "--no-cache", str(folder))
    assert " EOS018 " in out and "no chat template is the default" not in out, out


@pytest.mark.parametrize("key", ["+151645", " 151645 ", "151_645", "\uff11\uff15\uff11\uff16\uff14\uff15",
                                 "\u0661\u0665\u0661\u0666\u0664\u0665"],
                         ids=["plus", "spaces", "underscore", "full-width", "arabic-indic"])
@pytest.mark.parametrize("fixture", ["qwen2-instruct-aligned", "../../examples/chatml-finetune-broken"],
                         ids=["with-tokenizer-json", "without"])
def test_an_added_tokens_decoder_key_is_read_as_int_reads_it(tmp_path, run, key, fixture):
    """transformers reads an added_tokens_decoder key with ``int(idx)``, which takes these spellings of 151645:
    the entry counts as that id's (a folder that fails keeps failing, one that passes gets no finding)."""
    import shutil

    plain = shutil.copytree(FIXTURES / fixture, tmp_path / "plain", ignore=shutil.ignore_patterns("expected.json"))
    spelled = shutil.copytree(plain, tmp_path / "spelled")
    path = spelled / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["added_tokens_decoder"] = {key if k == "151645" else k: v for k, v in config["added_tokens_decoder"].items()}
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    if (spelled / "tokenizer.json").exists():
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(spelled))
        assert (resolved(spelled).tokenizer_eos.id, tokenizer.eos_token_id) == (151645, 151645)
    code, out, err = run("--format", "concise", "--no-cache", "--baseline", "none", str(plain))
    assert run("--format", "concise", "--no-cache", "--baseline", "none", str(spelled)) == \
        (code, out.replace("plain/", "spelled/"), err)


@pytest.mark.parametrize("shape", ["list", "object"])
def test_the_default_template_is_checked_wherever_it_is_listed_past_the_limit(tmp_path, run, shape):
    """Of 20 named templates, 16 are checked: "default" (the one apply_chat_template uses) among them when it is
    listed last, so its verdict is the folder's (EOS001 here, as transformers' template ends turns with a token
    generate() does not stop on), not that of another template."""
    import shutil

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    template = config["chat_template"]
    other = template.replace("<|im_end|>", "<|endoftext|>")
    named = [(f"t{i}", other + "{# %d #}" % i) for i in range(19)] + [("default", template)]
    config["chat_template"] = [{"name": n, "template": t} for n, t in named] if shape == "list" else dict(named)
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    tokenizer_text = transformers.AutoTokenizer.from_pretrained(str(folder)).apply_chat_template(
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "XYZZY"}], tokenize=False)
    assert tokenizer_text.split("XYZZY")[1].startswith("<|im_end|>")
    code, out, _ = run("--format", "json", "--no-cache", "--select", "EOS001", str(folder))
    report = json.loads(out)
    assert code == 1 and [f["code"] for f in report["findings"]] == ["EOS001"]
    assert report["models"][0]["terminator"]["template"] == "default"
    assert len(report["models"][0]["templates"]) == 16


def test_an_added_token_listed_twice_is_eos009_at_the_later_entry(tmp_path, run):
    """tokenizer.json lists '<|im_end|>' twice, the second time with the next id: the tokenizers library keeps the
    first entry (151645) and gives the second id to nothing; EOS009 points at the later entry's id."""
    import shutil

    from tokenizers import Tokenizer

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m",
                             ignore=shutil.ignore_patterns("expected.json"))
    path = folder / "tokenizer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    first = next(entry for entry in data["added_tokens"] if entry["content"] == "<|im_end|>")
    data["added_tokens"].append({**first, "id": 151646})
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tokenizer = Tokenizer.from_file(str(path))
    assert (tokenizer.token_to_id("<|im_end|>"), tokenizer.id_to_token(151646)) == (151645, None)
    assert transformers.AutoTokenizer.from_pretrained(str(folder)).convert_tokens_to_ids("<|im_end|>") == 151645
    code, out, _ = run("--format", "json", "--no-cache", "--select", "EOS009", str(folder))
    findings = json.loads(out)["findings"]
    assert [(f["code"], f["path"]) for f in findings] == [("EOS009", "m/tokenizer.json")], findings
    assert "'<|im_end|>' is listed again in tokenizer.json's added_tokens with id 151646, but the first entry " \
           "wins: transformers gives it 151645" == findings[0]["message"]


@pytest.mark.parametrize("fixture,token,named", [
    ("terminator-not-special-named-eos", "<|im_end|>", {}),
    ("terminator-not-special", "<|im_end|>", {}),
    ("terminator-not-special", "<|im_end|>", {"eot_token": "<|im_end|>"}),  # a model-specific name
    ("terminator-not-special", "<|im_end|>", {"extra_special_tokens": {"eot_token": "<|im_end|>"}}),
    ("terminator-not-special", "<|im_end|>", {"extra_special_tokens": ["<|im_end|>"]}),  # a list names nothing
    ("terminator-not-special", "<|im_end|>", {"additional_special_tokens": ["<|im_end|>"]}),
])
def test_eos010_is_info_exactly_when_transformers_makes_the_terminator_special(run, tmp_path, fixture, token, named):
    """A terminator with "special": false in the files: transformers 5 makes a named token (eos_token, or a
    model-specific name such as eot_token, top level or in an extra_special_tokens object) special at load, so
    decode(skip_special_tokens=True) drops it and EOS010 is info; otherwise (also in an unnamed list) decode
    keeps its text in the answer and EOS010 is a warning (deepseek-coder-instruct's <|EOT|> was a false
    warning)."""
    import shutil

    folder = shutil.copytree(FIXTURES / fixture, tmp_path / "m", ignore=shutil.ignore_patterns("expected.json"))
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, **named}), encoding="utf-8")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    dropped = tokenizer.decode([tokenizer.convert_tokens_to_ids(token)], skip_special_tokens=True) == ""
    code, out, _ = run("--format", "json", "--no-cache", "--select", "EOS010", str(folder))
    assert [f["severity"] for f in json.loads(out)["findings"]] == ["info" if dropped else "warning"]


@pytest.mark.parametrize("in_config, in_json, expected", [
    pytest.param("bad", "good", {"processor_config.json": None}, id="processor-config-wins"),
    pytest.param(None, "bad", {"chat_template.json": None}, id="null-in-processor-config"),
    pytest.param("absent", "bad", {"chat_template.json": None}, id="no-key-in-processor-config"),
    pytest.param({"default": "good", "tool_use": "bad"}, None,
                 {"processor_config.json": 151645, "processor_config.json:tool_use": None}, id="named"),
])
def test_the_processor_s_template_is_processor_config_json_s_when_it_sets_one(tmp_path, run, in_config, in_json,
                                                                             expected):
    """Processors saved by transformers before chat_template.json (PR #31691, 2024: Idefics2, which TGI read it
    for) wrote ``chat_template`` into processor_config.json; ``ProcessorMixin.get_processor_dict`` (5.24) still
    takes it there first, over chat_template.json, when it is not null. A template there that ends turns with a
    string that is no token went unchecked. The oracle is transformers' own processor dict."""
    import shutil

    from transformers.processing_utils import ProcessorMixin

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m",
                             ignore=shutil.ignore_patterns("expected.json"))
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    template = config.pop("chat_template")
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    texts = {"good": template, "bad": template.replace("<|im_end|>", "<|end|>")}

    def value(choice: object) -> object:
        return {name: texts[text] for name, text in choice.items()} if isinstance(choice, dict) else texts.get(choice)

    processor = {"processor_class": "LlavaProcessor", "patch_size": 14}
    if in_config != "absent":
        processor["chat_template"] = value(in_config)
    (folder / "processor_config.json").write_text(json.dumps(processor, indent=2), encoding="utf-8")
    if in_json is not None:
        (folder / "chat_template.json").write_text(json.dumps({"chat_template": texts[in_json]}), encoding="utf-8")
    processor_dict, _ = ProcessorMixin.get_processor_dict(str(folder))
    wins = value(in_config) if in_config not in (None, "absent") else texts[in_json]
    assert processor_dict["chat_template"] == wins

    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    report = json.loads(out)
    templates = {entry["name"]: entry["id"] for entry in report["models"][0]["templates"]}
    assert templates == expected, templates
    bad = [name for name, token_id in expected.items() if token_id is None]
    assert [(f["code"], f["path"].rsplit("/", 1)[-1]) for f in report["findings"]] == \
        [("EOS011", bad[0].partition(":")[0])], report["findings"]


def test_a_template_that_prints_list_content_is_not_read_as_ending_turns_with_its_repr(tmp_path, run):
    """helper-113: LLaMA-Factory's ``empty`` template (picked when a base model is fine-tuned without ``template:``)
    writes each message's content and nothing else. The probe's list-content conversation made it print the
    list, ``[{'type': 'text', 'text': '...'}]``, and eos-guard read the list's own ``'}]`` as the text that ends
    answers (EOS011 "ends assistant turns with ''}]''"). transformers renders nothing after an answer there; the
    printed list is no answer of the template's. What the template does write is nothing at all after an answer,
    not even before the next turn, which EOS011 says (as for a template that writes only text between turns)."""
    import shutil

    from transformers import AutoTokenizer

    folder = shutil.copytree(FIXTURES / "llama31-8b-base-no-template", tmp_path / "m")
    (folder / "chat_template.jinja").write_text(
        "{% for message in messages %}{% if message['role'] in ['user', 'assistant'] %}{{ message['content'] }}"
        "{% endif %}{% endfor %}", encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yes"}],
                                         tokenize=False) == "HiYes"
    code, out, err = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert "'}]" not in out and code == 0, out
    assert "EOS011 warning: the 'default' chat template writes nothing after an answer, neither after the last one " \
           "nor before the next turn: no stop id can end an answer unless training appended an eos the template " \
           "does not write" in out, out


# The shape of fireworks-ai/llama-3-firefunction-v2's template: its system prompt ends with the ``functions`` and
# ``datetime`` its users pass to apply_chat_template, added to text, so it fails without them (helper-159)
CALLER_VARIABLES_TEMPLATE = (
    "{%- set suffix = 'Available functions as JSON spec:' + '\\n' + functions + '\\nToday is ' + datetime + '.' -%}"
    "{{- bos_token + '<|start_header_id|>system<|end_header_id|>\\n\\n' + suffix + '<|eot_id|>' -}}"
    "{%- for message in messages -%}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] | trim + '<|eot_id|>' -}}{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}")


def test_a_template_that_needs_variables_from_its_caller_is_checked_with_them(tmp_path, run):
    """transformers raises without the variables and renders with them; eos-guard renders with each one it names
    an empty string, finds the terminator transformers writes (<|eot_id|> 128009, a stop id) and reports nothing."""
    import shutil

    folder = shutil.copytree(FIXTURES / "llama3-8b-instruct-genconfig-fix", tmp_path / "firefunction")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = CALLER_VARIABLES_TEMPLATE
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ASSISTANT_MARKER}]
    with pytest.raises(Exception, match="'functions' is undefined"):
        tokenizer.apply_chat_template(chat, tokenize=False)
    text = tokenizer.apply_chat_template(chat, tokenize=False, functions="[]", datetime="2026-12-06")
    assert text.endswith(ASSISTANT_MARKER + "<|eot_id|>")

    terminator = resolved(folder).terminator
    assert (terminator.token, terminator.id) == ("<|eot_id|>", 128009), terminator
    code, out, _ = run("--no-cache", str(folder))
    assert code == 0 and "EOS014" not in out, out


@pytest.mark.parametrize("template,error", [
    # the name filled in is no use: the first error is the one shown
    ("{{ functions.keys() | list }}{% for m in messages %}{{ m.content }}<|eot_id|>{% endfor %}",
     "'functions' is undefined"),
    # more names than MAX_CALLER_VARIABLES
    ("{{ " + " + ".join(f"v{i}" for i in range(9)) + " }}{% for m in messages %}{{ m.content }}<|eot_id|>{% endfor %}",
     "'v0' is undefined"),
    # an attribute, not a variable: never filled
    ("{% for m in messages %}{{ m.content + m.missing }}<|eot_id|>{% endfor %}", "has no attribute 'missing'"),
    # a special token the tokenizer does not have (a Llama 2 template on a Qwen tokenizer, whose bos is null):
    # transformers passes none, and apply_chat_template fails there too (helper-163)
    ("{{ bos_token + '' }}{% for m in messages %}{{ m.content }}<|eot_id|>{% endfor %}", "'bos_token' is undefined"),
    ("{% for m in messages %}{{ m.content + eos_token }}{% endfor %}", "'eos_token' is undefined"),
])
def test_a_template_that_fails_with_its_caller_variables_filled_keeps_its_first_error(template, error):
    from eos_guard.template import Limits, probe_template

    probe = probe_template(template, {}, ["<|eot_id|>"], Limits(cache=False))
    assert not probe.rendered and probe.errors and all(error in each for each in probe.errors), probe.errors


def test_a_template_that_raises_on_every_chat_without_tools_is_eos014(tmp_path, run):
    """helper-181: llama.cpp's Phi-4-mini tools template tests `tools is defined` and iterates `tools`;
    apply_chat_template passes tools=None to a chat without tools, so every such chat raises TypeError, and
    eos-guard, which checks the terminator from the renders with tools, said nothing. The shape here is that
    template's (a tool list written into the system turn), over Qwen2-Instruct's ChatML."""
    import shutil

    import transformers

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    tools_first = ("{%- if tools is defined %}<|im_start|>system\n{% for tool in tools %}{{ tool | tojson }}"
                   "{% endfor %}<|im_end|>\n{%- endif %}")
    write_json(folder / "tokenizer_config.json", {**settings, "chat_template": tools_first + settings["chat_template"]})
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "EOSGUARD"}]
    with pytest.raises(TypeError, match="not iterable"):
        tokenizer.apply_chat_template(chat, tokenize=False)
    tool = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object",
                                                                                        "properties": {}}}}
    assert tokenizer.apply_chat_template(chat, tools=[tool], tokenize=False).split("EOSGUARD")[1].startswith(
        "<|im_end|>")
    code, out, _ = run("--no-cache", "--baseline", "none", str(folder))
    assert code == 0 and "EOS014 warning: the 'default' chat template fails on every probe conversation without " \
                         "tools (user,assistant: TypeError: 'NoneType' object is not iterable), as " \
                         "apply_chat_template and pipeline() will on every chat without tools (they pass " \
                         "tools=None); it was checked with tools [template-error]" in out, out
    assert run("--no-cache", "--baseline", "none", str(FIXTURES / "qwen2-instruct-aligned"))[0:2] == (
        0, "All checks passed (1 model folder).\n")
    # helper-188: the error quoted is the one of the conversation that rendered with tools (a system turn here), not
    # the first one's, which needs a system turn with tools too
    needs_system = ("{%- if messages[0]['role'] != 'system' %}{{ raise_exception('A system message is required') }}"
                    "{%- endif %}")
    write_json(folder / "tokenizer_config.json", {**settings, "chat_template": needs_system + tools_first
                                                  + settings["chat_template"]})
    code, out, _ = run("--no-cache", "--baseline", "none", str(folder))
    assert "without tools (system,user,assistant: TypeError: 'NoneType' object is not iterable)" in out, out
    # a named template only a caller asks for (chat_template="tools") is no chat without tools: the default renders
    write_json(folder / "tokenizer_config.json", settings)
    (folder / "additional_chat_templates").mkdir()
    (folder / "chat_template.jinja").write_text(settings["chat_template"], encoding="utf-8")
    (folder / "additional_chat_templates" / "tools.jinja").write_text(tools_first + settings["chat_template"],
                                                                       encoding="utf-8")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert tokenizer.apply_chat_template(chat, tokenize=False).split("EOSGUARD")[1].startswith("<|im_end|>")
    assert run("--no-cache", "--baseline", "none", str(folder))[0:2] == (0, "All checks passed (1 model folder).\n")
