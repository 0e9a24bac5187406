"""Each runtime's stop set, checked against its source: gguf-py itself for llama.cpp's converter, and table
tests (expected sets derived from each runtime's code, cited per case) for the others."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import FIXTURES, ROOT, RULE_CASES, llama_pieces, model_of, sentencepiece_model, write_json
from eos_guard.config import Config
from eos_guard.model_files import binary_head
from eos_guard.pipeline import check_folder, check_paths
from eos_guard.runtimes import MODULES, RUNTIMES, stop_sets, stops
from eos_guard.runtimes.config_object import CLASS_DEFAULT_EOS, COMPOSITE
from eos_guard.runtimes.llama_cpp_converter import SENTENCEPIECE_ONLY, converter_special_ids, special_vocab

gguf = pytest.importorskip("gguf")

FOLDERS = sorted(p for p in FIXTURES.iterdir() if p.is_dir() and (p / "expected.json").exists())
ONNX = "onnxruntime-genai"  # only for a folder with genai_config.json


def load_script(name):
    """A module of scripts/ (the data-table writers), imported without leaving scripts/ on sys.path."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "scripts"))


@pytest.mark.parametrize("folder", [pytest.param(f, id=f.name) for f in FOLDERS + sorted(
    p for p in RULE_CASES.iterdir() if p.is_dir())])
def test_llama_cpp_converter_matches_gguf_special_vocab(folder):
    vocab = gguf.SpecialVocab(folder, load_merges=False)
    theirs = {k: v for k, v in vocab.special_token_ids.items() if k in ("eos", "eot")}
    assert special_vocab(model_of(folder))[0] == theirs


# (fixture, runtime) -> expected stop ids, and whether a chat answer stops. Sources:
# vllm: SamplingParams.update_from_generation_config (tokenizer eos ∪ generation_config eos).
# sglang: ModelConfig._get_hf_eos_token_id (config ∪ generation_config) ∪ tokenizer eos.
# tgi: FlashCausalLM.__init__ (a generation_config list replaces the tokenizer eos; an int is ignored), for the
#      model types TGI has flash code for; the others (llama4, qwen3, ...) stop on the tokenizer eos alone.
# mlx-lm: load_config + TokenizerWrapper (generation_config replaces config; 0.32: ∪ tokenizer eos).
# llama.cpp / ollama: converter eos ∪ llama-vocab.cpp end-of-generation texts.
CASES = [
    # Llama 3 Instruct at release: nothing stops but llama.cpp, whose text list has <|eot_id|>.
    ("llama3-8b-instruct-release", "transformers", [128001], False),
    ("llama3-8b-instruct-release", "vllm", [128001], False),
    ("llama3-8b-instruct-release", "sglang", [128001], False),
    ("llama3-8b-instruct-release", "tgi", [128001], False),
    ("llama3-8b-instruct-release", "mlx-lm", [128001], False),
    ("llama3-8b-instruct-release", "llama.cpp", [128009, 128001], True),
    # After Meta's generation_config.json fix ([128001, 128009]): transformers, vLLM and TGI stop.
    ("llama3-8b-instruct-genconfig-fix", "transformers", [128001, 128009], True),
    ("llama3-8b-instruct-genconfig-fix", "vllm", [128001, 128009], True),
    ("llama3-8b-instruct-genconfig-fix", "tgi", [128001, 128009], True),
    # After the tokenizer fix (eos_token <|eot_id|>): the converters read it too.
    ("llama3-8b-instruct-tokenizer-fix", "vllm", [128009, 128001], True),
    ("llama3-8b-instruct-tokenizer-fix", "ollama", [128009, 128001], True),
    # Yi-34B-Chat: generation_config 7, tokenizer eos 2: transformers and vLLM stop, TGI does not.
    ("yi-34b-chat-tokenizer-eos-endoftext", "transformers", [7], True),
    ("yi-34b-chat-tokenizer-eos-endoftext", "vllm", [2, 7], True),
    ("yi-34b-chat-tokenizer-eos-endoftext", "tgi", [2], False),
    ("yi-34b-chat-tokenizer-eos-endoftext", "mlx-lm", [7, 2], True),
    # Phi-3: a list in generation_config.json.
    ("phi3-mini-4k-instruct", "tgi", [32000, 32001, 32007], True),
    ("phi3-mini-4k-instruct", "mlx-lm", [32000, 32001, 32007], True),
    # mlx-lm 0.32 adds the tokenizer eos: a generation_config without the terminator still stops when the
    # tokenizer's eos is the terminator (tokenizer_utils.py:359-361); ≤ 0.31.3 does not (see test_release_lines).
    ("yi-15-chat-slerp-merge-no-genconfig", "mlx-lm", [2, 7], True),
    # A config.json-only list with no generation_config.json.
    ("llama31-modelstock-merge-config-list", "transformers", [128001, 128008, 128009], True),
    ("llama31-modelstock-merge-config-list", "vllm", [128009, 128001, 128008], True),
    ("llama31-modelstock-merge-config-list", "tgi", [128009], True),
    ("llama31-modelstock-merge-config-list", "mlx-lm", [128001, 128008, 128009], True),
    # gpt-oss: llama.cpp drops <|end|> (200007) from its list when <|return|> and <|call|> exist.
    ("gpt-oss-harmony-return-vs-end", "llama.cpp", [200002, 200012, 199999], True),
    # SGLang 0.5.23 reads the config object: text_config's eos is copied up (HfModelConfigParser.parse).
    ("vlm-eos-only-in-text-config", "sglang", [151645, 151643], True),
    ("vlm-eos-only-in-text-config", "mlx-lm", [], None),  # mlx-lm 0.32.2 has no llava_onevision module
    # SGLang's extra turn-end texts (common.py _ADDITIONAL_STOP_TOKEN_TEXTS) and llama.cpp b11739's new texts.
    ("ifm-im-end-turns-config-eos-endoftext", "sglang", [151643, 151647], True),
    ("ifm-im-end-turns-config-eos-endoftext", "vllm", [151643], False),
    ("ifm-im-end-turns-config-eos-endoftext", "llama.cpp", [151645, 151643, 151647], True),
    ("ifm-im-end-turns-config-eos-endoftext", "ollama", [151645, 151643], False),
    ("llama4-eot-turn-end-tokenizer-eos-end-of-text", "llama.cpp", [200001, 200008], True),
    # TGI serves Llama 4 with TransformersLlama4VlmCausalLM, which skips FlashCausalLM.__init__: tokenizer eos only.
    ("llama4-eot-turn-end-tokenizer-eos-end-of-text", "tgi", [200001], False),
    ("llama4-eot-turn-end-tokenizer-eos-end-of-text", "ollama", [200001], False),
    # llama.cpp >= b11413 drops </s> when <|plamo:eos|> is end-of-generation; Ollama's b10488 does not.
    ("plamo-s-turn-end", "llama.cpp", [2], False),
    ("plamo-s-turn-end", "ollama", [4, 2], True),
    # No eos in config.json, no generation_config.json: MistralConfig's default eos 2 for vLLM and SGLang.
    ("llama-config-class-default-eos", "transformers", [], False),
    ("llama-config-class-default-eos", "vllm", [32000, 2], True),
    ("llama-config-class-default-eos", "sglang", [2, 32000], True),
    ("llama-config-class-default-eos", "tgi", [32000], False),
    # Effective ids: Qwen2Tokenizer numbers <|im_end|> 300 (added_tokens_decoder), tokenizers >= 0.22.2 338.
    ("qwen2-class-renumbers-added-tokens", "transformers", [300], True),
    ("sparse-vocab-appended-token-id", "transformers", [32002], False),
    ("sparse-vocab-appended-token-id", "vllm", [338, 32002], True),
    # onnxruntime-genai: genai_config.json model.eos_token_id alone (src/config.cpp Model_Element, v0.15.2); a
    # folder without one is no export of its model builder: no row (test_json_output_has_every_runtime).
    ("phi3-mini-4k-instruct-onnx", "onnxruntime-genai", [32000, 32001, 32007], True),
    ("phi3-mini-onnx-built-without-generation-config", "onnxruntime-genai", [32000], False),
]


@pytest.mark.parametrize("name,runtime,ids,stopping", [pytest.param(*c, id=f"{c[0]}-{c[1]}") for c in CASES])
def test_runtime_stop_sets(name, runtime, ids, stopping):
    model = model_of(FIXTURES / name)
    stop = RUNTIMES[runtime](model)
    assert list(stop.ids) == ids
    assert stops(model, stop) is stopping


def test_json_output_has_every_runtime(run):
    code, out, _ = run("--format", "json", str(FIXTURES / "yi-34b-chat-tokenizer-eos-endoftext"))
    model = json.loads(out)["models"][0]
    assert set(model["stop_ids"]) == set(RUNTIMES) - {ONNX}  # no genai_config.json: no export of its builder
    assert model["stops"] == {"transformers": True, "vllm": True, "sglang": True, "tgi": False, "mlx-lm": True,
                              "llama.cpp": True, "ollama": True}


def test_selected_runtime_failure_is_an_error(run):
    folder = str(FIXTURES / "yi-34b-chat-tokenizer-eos-endoftext")
    assert run(folder)[0] == 0
    code, out, _ = run("--runtime", "tgi", folder)
    assert code == 1 and ": EOS016 error: TGI does not stop on '<|im_end|>' (7)" in out
    assert run("--runtime", "transformers,vllm", folder)[0] == 0


def test_a_runtime_selection_without_transformers_turns_eos001_off(run, tmp_path):
    """docs/usage.md: `--runtime` replaces the default and the settings' `runtimes`, so `--runtime vllm` no longer
    checks transformers; naming it keeps EOS001. vLLM stops on this folder (tokenizer eos <|im_end|>), transformers
    does not."""
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    assert run("--select", "EOS001,EOS016", "m")[0] == 1
    assert run("--select", "EOS001,EOS016", "--runtime", "vllm", "m") == (
        0, "All checks passed (1 model folder).\n", "")
    code, out, _ = run("--select", "EOS001,EOS016", "--runtime", "transformers,vllm", "m")
    assert code == 1 and ": EOS001 error: " in out
    (tmp_path / ".eos-guard.yaml").write_text("runtimes: [transformers, tgi]\n", encoding="utf-8")
    assert run("--select", "EOS001,EOS016", "--runtime", "vllm", "m")[0] == 0


def test_runtimes_in_config_and_unknown_names(run, tmp_path):
    write_json(tmp_path / "m" / "config.json", {"eos_token_id": 2})
    (tmp_path / ".eos-guard.yaml").write_text("runtimes: [vllm, tensorrt]\n")
    code, _, err = run(".")
    assert code == 2 and "unknown runtime 'tensorrt'" in err


def test_explain_table(run):
    code, out, _ = run("explain", str(FIXTURES / "yi-34b-chat-tokenizer-eos-endoftext"))
    lines = out.splitlines()
    assert code == 0 and lines[1] == "  chat answers end with '<|im_end|>' (7), from the 'default' template"
    assert lines[6].split()[:4] == ["tgi", "NO", "2", "'<|endoftext|>'"]
    assert lines[-1] == ("  fix for tgi: make generation_config.json eos_token_id a list holding the id and "
                         "the tokenizer eos")


def test_explain_says_when_the_eos_is_the_class_default(run):
    code, out, _ = run("explain", str(FIXTURES / "gpt2-tokenizer-config-names-no-special-tokens"))
    lines = out.splitlines()
    assert code == 0 and lines[1] == ("  no chat template terminator; the tokenizer's eos is '<|endoftext|>' (50256), "
                                      "GPT2Tokenizer's default: no file names eos_token")
    assert all(line.split()[1] == "yes" for line in lines[3:])


def test_explain_json(run):
    code, out, _ = run("explain", "--format", "json", str(FIXTURES / "phi3-mini-4k-instruct"))
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["models"][0]["target"] == 32007
    # the fixture has no tokenizer.model, which llama.cpp's converter needs for Phi-3 (below)
    assert {r["runtime"]: r["stops"] for r in doc["models"][0]["runtimes"]} == {
        "transformers": True, "vllm": True, "sglang": True, "tgi": True, "mlx-lm": True, "llama.cpp": None,
        "ollama": True}, doc["models"][0]["runtimes"]


@pytest.mark.parametrize("fixture", ["phi3-mini-4k-instruct", "gemma-2-2b-it-aligned"])
def test_llama_cpp_cannot_convert_a_sentencepiece_only_class_without_tokenizer_model(tmp_path, fixture):
    """helper-139: convert_hf_to_gguf.py's Phi-3 and Gemma 1/2 classes read tokenizer.model alone (conversion/phi.py
    Phi3MiniModel.set_vocab raises "Error: Missing tokenizer.model" unless tokenizer_class is GPT2Tokenizer;
    conversion/gemma.py Gemma2Model.set_vocab calls _set_vocab_sentencepiece), and transformers 5's save_pretrained
    writes none: no GGUF is made, so llama.cpp's verdict is "cannot tell", not the stop set of a GGUF never written."""
    folder = shutil.copytree(FIXTURES / fixture, tmp_path / "m", ignore=shutil.ignore_patterns("*.md", "expected.json"))
    stop = model_of(folder).runtime_stops["llama.cpp"]
    assert stops(model_of(folder), stop) is None and "cannot convert" in stop.why and "without tokenizer.model" in \
        stop.why, stop.why
    (folder / "tokenizer.model").write_bytes(b"\n\x05<unk>")  # a SentencePiece file the converter would read
    assert stops(model_of(folder), model_of(folder).runtime_stops["llama.cpp"]) is True
    if fixture.startswith("phi3"):
        (folder / "tokenizer.model").unlink()
        config = json.loads((folder / "tokenizer_config.json").read_text())
        write_json(folder / "tokenizer_config.json", {**config, "tokenizer_class": "GPT2Tokenizer"})  # Phi-4's path
        assert stops(model_of(folder), model_of(folder).runtime_stops["llama.cpp"]) is True
        del config["tokenizer_class"]
        write_json(folder / "tokenizer_config.json", config)
        assert "(KeyError)" in model_of(folder).runtime_stops["llama.cpp"].why
        write_json(folder / "tokenizer_config.json", {**config, "tokenizer_class": None})  # read: the SentencePiece path
        assert "without tokenizer.model" in model_of(folder).runtime_stops["llama.cpp"].why


@pytest.mark.parametrize("fixture, target", [
    ("phi3-mini-4k-instruct", 32007),  # the template's terminator <|end|>, not the tokenizer's eos <|endoftext|>
    ("llama31-8b-base-no-template", 128001),  # no template: the tokenizer's eos <|end_of_text|>
    ("terminator-plain-text", None),  # the template ends answers with text that is no token: no id ends one
])
def test_explain_json_target_is_the_id_an_answer_ends_with(run, fixture, target):
    """docs/usage.md: `target` is the default template's terminator, else the tokenizer's eos; null when no id ends
    an answer."""
    code, out, _ = run("explain", "--format", "json", str(FIXTURES / fixture))
    model = json.loads(out)["models"][0]
    assert (model["target"], model["generates"]) == (target, True)


# (fixture, runtime, pinned version) -> whether a chat answer stops at that release.
RELEASE_CASES = [
    # mlx-lm 0.32.0 unions the tokenizer eos (tokenizer_utils.py:359-361); <= 0.31.3 replaces it (306-309).
    ("yi-15-chat-slerp-merge-no-genconfig", "mlx-lm", None, True),
    ("yi-15-chat-slerp-merge-no-genconfig", "mlx-lm", "0.32.2", True),
    ("yi-15-chat-slerp-merge-no-genconfig", "mlx-lm", "0.31", False),
    ("yi-15-chat-slerp-merge-no-genconfig", "mlx-lm", "0.31.3", False),
    ("yi-15-chat-slerp-merge-no-genconfig", "mlx-lm", "0.30.7", False),
    # llama.cpp: <|eot|> from b11739; the PLaMo </s> rule from b11413.
    ("llama4-eot-turn-end-tokenizer-eos-end-of-text", "llama.cpp", None, True),
    ("llama4-eot-turn-end-tokenizer-eos-end-of-text", "llama.cpp", "b11739", True),
    ("llama4-eot-turn-end-tokenizer-eos-end-of-text", "llama.cpp", "b11413", False),
    ("llama4-eot-turn-end-tokenizer-eos-end-of-text", "llama.cpp", "b10488", False),
    ("plamo-s-turn-end", "llama.cpp", "b11413", False),
    ("plamo-s-turn-end", "llama.cpp", "b11500", False),
    ("llama4-eot-turn-end-tokenizer-eos-end-of-text", "llama.cpp", "b11500", False),
    ("plamo-s-turn-end", "llama.cpp", "b11067", True),
]


@pytest.mark.parametrize("version, stop_texts", [
    (None, ["<|eot|>", "<|ifm|im_end|>"]), ("b11739", ["<|eot|>", "<|ifm|im_end|>"]),
    ("b11738", ["<|ifm|im_end|>"]), ("b11549", ["<|ifm|im_end|>"]), ("b11548", ["<|ifm|im_end|>"]),
    ("b11547", []), ("b11413", []), ("b10488", [])])
def test_llama_cpp_builds_add_end_of_generation_texts(tmp_path, version, stop_texts):
    """K2 Horizon's <|ifm|im_end|> stops from b11548 (its libllama; b11549's source lists it), Llama 4's <|eot|>
    from b11739 (b11549's source does not list it yet); the GGUF's eos stops on every build."""
    tokens = {"</s>": 2, "<|ifm|im_end|>": 5, "<|eot|>": 6}
    model = model_of(_converter_folder(tmp_path, "K2HorizonForCausalLM", tokens, "</s>"))
    stop = stop_sets(model, {"llama.cpp": version} if version else None)["llama.cpp"]
    assert set(stop.ids) == {2} | {tokens[text] for text in stop_texts}, stop.why


@pytest.mark.parametrize("architecture, tokens, fim, version", [
    # Qwen2.5: llama.cpp logs EOG 151643, 151645, 151662 <|fim_pad|>, 151663 <|repo_name|>, 151664 <|file_sep|>
    ("Qwen2ForCausalLM", {"<|endoftext|>": 151643, "<|im_end|>": 151645, "<|fim_pad|>": 151662,
                          "<|repo_name|>": 151663, "<|file_sep|>": 151664}, {151662, 151663, 151664}, None),
    ("GraniteForCausalLM", {"<|end_of_text|>": 0, "<fim_pad>": 4, "<reponame>": 5, "<file_sep>": 6}, {4, 5}, None),
    ("Plamo2ForCausalLM", {"<|plamo:eos|>": 4, "<|plamo:file_separator|>": 9}, {9}, None),
    ("Plamo2ForCausalLM", {"<|plamo:eos|>": 4, "<|plamo:file_separator|>": 9}, set(), "b11547"),
    ("LlamaForCausalLM", {"</s>": 2, "<PAD>": 7, "[PAD]": 8}, {7}, None),  # one pad: the first of the list
])
def test_llama_cpp_stops_on_fill_in_the_middle_tokens(tmp_path, architecture, tokens, fim, version):
    """llama.cpp finds the FIM pad, repo and file-separator tokens by text and makes them end-of-generation
    (llama-vocab.cpp, b11549's source; the texts are in libllama b10335 to b11739, PLaMo's file separator from
    b11548): Qwen2.5's three, Granite's <fim_pad> and <reponame> (its <file_sep> is no such text)."""
    eos = next(iter(tokens))
    model = model_of(_converter_folder(tmp_path, architecture, tokens, eos))
    stop = stop_sets(model, {"llama.cpp": version} if version else None)["llama.cpp"]
    plain = {i for text, i in tokens.items() if text in ("<|endoftext|>", "<|im_end|>", "<|end_of_text|>", "</s>")}
    assert set(stop.ids) - plain - {tokens[eos]} == fim, (stop.ids, stop.why)
    assert ("fill-in-the-middle tokens" in stop.why) is bool(fim), stop.why


@pytest.mark.parametrize("name,runtime,version,stopping",
                         [pytest.param(*c, id=f"{c[0]}-{c[1]}-{c[2]}") for c in RELEASE_CASES])
def test_release_lines(name, runtime, version, stopping):
    model = model_of(FIXTURES / name)
    stop = stop_sets(model, {runtime: version} if version else None)[runtime]
    assert stops(model, stop) is stopping


def test_every_runtime_names_its_releases_and_sources():
    for name, module in MODULES.items():
        releases = module.RELEASES
        assert releases and all(r.label and r.source for r in releases), name
        assert releases[-1].since is None, name  # the oldest line stands for every older release
        firsts = [r.since for r in releases[:-1]]
        assert firsts == sorted(firsts, reverse=True), name  # newest first


def test_explain_prints_a_note_where_releases_differ(run):
    code, out, _ = run("explain", str(FIXTURES / "yi-15-chat-slerp-merge-no-genconfig"),
                       str(FIXTURES / "llama4-eot-turn-end-tokenizer-eos-end-of-text"))
    lines = out.splitlines()
    assert "    mlx-lm ≤ 0.31.3: does not stop; mlx-lm ≥ 0.32.0: stops" in lines
    assert ("    llama.cpp ≤ b11412: does not stop; llama.cpp b11413 – b11547: does not stop; "
            "llama.cpp b11548 – b11738: does not stop; llama.cpp ≥ b11739: stops") in lines
    assert "None" not in out


def test_explain_json_carries_releases(run):
    code, out, _ = run("explain", "--format", "json", str(FIXTURES / "yi-15-chat-slerp-merge-no-genconfig"))
    rows = {r["runtime"]: r for r in json.loads(out)["models"][0]["runtimes"]}
    assert rows["mlx-lm"]["release"] == "mlx-lm ≥ 0.32.0" and rows["mlx-lm"]["stops"] is True
    assert rows["mlx-lm"]["other_releases"] == [{"release": "mlx-lm ≤ 0.31.3", "stop_ids": [2], "stops": False}]
    assert rows["mlx-lm"]["notes"] == ["mlx-lm ≤ 0.31.3: does not stop; mlx-lm ≥ 0.32.0: stops"]
    assert rows["vllm"]["release"] == "vLLM 0.34.0"
    assert rows["vllm"]["other_releases"] == [{"release": "vLLM ≤ 0.33.0", "stop_ids": rows["vllm"]["stop_ids"],
                                               "stops": rows["vllm"]["stops"]}]
    assert "tokenizer_utils.py" in rows["mlx-lm"]["source"]


def test_a_runtime_with_one_line_modelled_uses_it_for_every_version(run, tmp_path):
    """docs/runtimes.md: a pin of a runtime with one release line (SGLang, transformers) changes nothing."""
    folder = str(FIXTURES / "yi-15-chat-slerp-merge-no-genconfig")
    newest = json.loads(run("explain", "--format", "json", folder)[1])["models"][0]["runtimes"]
    (tmp_path / ".eos-guard.yaml").write_text('runtime-versions: {sglang: "0.4.0", transformers: "4.40"}\n')
    pinned = json.loads(run("explain", "--format", "json", "--config", str(tmp_path / ".eos-guard.yaml"),
                            folder)[1])["models"][0]["runtimes"]
    rows = {r["runtime"]: r for r in pinned}
    assert (rows["sglang"]["release"], rows["transformers"]["release"]) == ("SGLang 0.5.23", "transformers 5.25")
    assert pinned == newest


def test_runtime_versions_pin_decides_eos016(run, tmp_path):
    folder = str(FIXTURES / "yi-15-chat-slerp-merge-no-genconfig")
    assert run("--runtime", "mlx-lm", folder)[0] == 0
    (tmp_path / ".eos-guard.yaml").write_text('runtime-versions: {mlx-lm: "0.31"}\n')
    code, out, _ = run("--config", str(tmp_path / ".eos-guard.yaml"), "--runtime", "mlx-lm", folder)
    assert code == 1 and "EOS016 error: mlx-lm does not stop on '<|im_end|>' (7)" in out


@pytest.mark.parametrize("text,message", [
    pytest.param('runtime-versions: {tensorrt: "1.0"}', "runtime-versions: unknown runtime 'tensorrt'", id="runtime"),
    # unquoted, 0.30 is the number 0.3: the message says the value was read as a number and must be quoted,
    # rather than that 0.3 (which the user did not write) is not a version such as "0.31"
    pytest.param("runtime-versions: {mlx-lm: 0.30}", "runtime-versions: mlx-lm: the version must be a quoted string, "
                 "such as \"0.31\" or \"0.32.2\"; unquoted, it was read as the number 0.3", id="float"),
    pytest.param("runtime-versions: {llama.cpp: 10488}", "llama.cpp: the version must be a quoted string, such as "
                 "\"b10488\"; unquoted, it was read as the number 10488", id="int-build"),
    pytest.param('runtime-versions: {mlx-lm: "latest"}', "'latest' is not a version of mlx-lm", id="word"),
    # one runtime's form for another's would pick the oldest or newest line without a word
    pytest.param('runtime-versions: {llama.cpp: "0.31"}', "'0.31' is not a version of llama.cpp such as \"b10488\"",
                 id="dotted-llama-cpp"),
    pytest.param('runtime-versions: {mlx-lm: "b100"}', "'b100' is not a version of mlx-lm such as \"0.31\"",
                 id="build-mlx-lm"),
    pytest.param('runtime-versions: {vllm: "33"}', "'33' is not a version of vllm", id="one-number-vllm"),
    pytest.param('runtime-versions: {llama.cpp: "v10488"}', "'v10488' is not a version of llama.cpp", id="v-build"),
    pytest.param("runtime-versions: [mlx-lm]", "runtime-versions must map runtime names to versions", id="list"),
])
def test_runtime_versions_are_validated(run, tmp_path, text, message):
    write_json(tmp_path / "m" / "config.json", {"eos_token_id": 2})
    (tmp_path / ".eos-guard.yaml").write_text(text + "\n")
    code, _, err = run(".")
    assert code == 2 and message in err


def test_a_quoted_version_that_is_not_one_is_not_told_to_be_quoted(run, tmp_path):
    """A string already is quoted: the error names the runtime's form, with no advice about YAML quoting (which
    was also wrong in a pyproject.toml)."""
    write_json(tmp_path / "m" / "config.json", {"eos_token_id": 2})
    (tmp_path / "pyproject.toml").write_text('[tool.eos-guard.runtime-versions]\nvllm = "0.8.x"\n')
    code, _, err = run(".")
    assert (code, err) == (2, "eos-guard: pyproject.toml:2:8: runtime-versions: vllm: '0.8.x' is not a version of vllm "
                              "such as \"0.31\" or \"0.32.2\"\n")


def test_runtime_versions_in_pyproject(run, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.eos-guard.runtime-versions]\n"llama.cpp" = "b10488"\n')
    folder = str(FIXTURES / "llama4-eot-turn-end-tokenizer-eos-end-of-text")
    assert run("--runtime", "llama.cpp", folder)[0] == 0
    code, out, _ = run("--config", str(tmp_path / "pyproject.toml"), "--runtime", "llama.cpp", folder)
    assert code == 1 and "EOS016 error: llama.cpp does not stop on '<|eot|>' (200008)" in out


def folder_with(tmp_path, config: dict) -> object:
    """A folder whose template ends answers with </s> (2) while the tokenizer eos is <|im_end|> (32000)."""
    source = FIXTURES / "llama-config-class-default-eos"
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((source / name).read_bytes())
    write_json(tmp_path / "config.json", config)
    return model_of(tmp_path)


def test_unknown_config_class_is_cannot_tell_not_a_runaway(tmp_path):
    model = folder_with(tmp_path, {"model_type": "made_up_lm"})
    assert stops(model, model.runtime_stops["vllm"]) is None
    assert stops(model, model.runtime_stops["sglang"]) is None
    assert "not known to eos-guard" in model.runtime_stops["vllm"].why
    assert stops(model, model.runtime_stops["transformers"]) is False


def test_config_class_without_default_eos_does_not_stop(tmp_path):
    model = folder_with(tmp_path, {"model_type": "qwen2"})
    assert stops(model, model.runtime_stops["vllm"]) is False


def test_composite_config_uses_its_text_class_default(tmp_path):
    model = folder_with(tmp_path, {"model_type": "llava", "text_config": {"model_type": "mistral"}})
    assert 2 in model.runtime_stops["sglang"].ids and 2 in model.runtime_stops["vllm"].ids


def test_ollama_fix_never_advises_a_stop_string_for_a_special_token():
    special = model_of(FIXTURES / "command-r-turn-token-not-eog").runtime_stops["ollama"]
    assert "PARAMETER stop" in special.fix and "never matches a special token" in special.fix
    assert special.fix.startswith("set tokenizer_config.json eos_token to the terminator before `ollama create`")
    text = model_of(FIXTURES / "terminator-not-special").runtime_stops["ollama"]  # <|im_end|> is not special
    assert text.fix.startswith('add PARAMETER stop "<|im_end|>" to the Modelfile')


def test_no_none_in_explain_or_summary_when_ids_are_unknown(run, tmp_path):
    template = "{% for m in messages %}{{ m['content'] + '<|im_end|>' }}{% endfor %}"
    write_json(tmp_path / "m" / "tokenizer_config.json", {"eos_token": "<|im_end|>", "chat_template": template})
    write_json(tmp_path / "m" / "config.json", {"architectures": ["Qwen2ForCausalLM"], "eos_token_id": 2})
    code, out, _ = run("explain", "m")
    assert code == 0 and "None" not in out
    assert "'<|im_end|>' (id unknown: no tokenizer.json)" in out and "unknown tokenizer format" in out
    summary = tmp_path / "summary.md"
    run("--summary", str(summary), "m")
    assert "None" not in summary.read_text(encoding="utf-8")


def test_class_default_table_matches_transformers():
    transformers = pytest.importorskip("transformers")
    for model_type, value in CLASS_DEFAULT_EOS.items():
        config = transformers.CONFIG_MAPPING[model_type]()
        if model_type in COMPOSITE:
            assert not hasattr(config, "eos_token_id") or config.eos_token_id is None, model_type
            config = config.get_text_config(decoder=True)
        assert config.eos_token_id == value, model_type


def test_the_config_classes_that_take_one_eos_are_those_transformers_declares():
    """model_files.INT_EOS_MODEL_TYPES: every config class whose eos_token_id annotation admits no list (huggingface_hub's
    strict dataclasses then refuse one when the class is made)."""
    transformers = pytest.importorskip("transformers")
    from eos_guard.model_files import INT_EOS_MODEL_TYPES

    if not transformers.__version__.startswith("5.25."):  # Python 3.10 gets 5.20, which has fewer such classes
        pytest.skip(f"INT_EOS_MODEL_TYPES lists transformers 5.25's classes; {transformers.__version__} is installed")
    declared = set()
    for model_type in transformers.CONFIG_MAPPING.keys():
        annotation = next((klass.__dict__["__annotations__"]["eos_token_id"]
                           for klass in transformers.CONFIG_MAPPING[model_type].__mro__
                           if "eos_token_id" in klass.__dict__.get("__annotations__", {})), None)
        if annotation is not None and "list" not in str(annotation).lower():
            declared.add(model_type)
    assert declared == INT_EOS_MODEL_TYPES
    with pytest.raises(Exception, match="eos_token_id"):
        transformers.CONFIG_MAPPING["inkling_text"](eos_token_id=[2, 200006])
    # the composite classes whose text_config class is one of them (helper-123: a text_config without model_type)
    from eos_guard.model_files import ONE_EOS_TEXT_CONFIGS

    composites = {model_type: cls.sub_configs["text_config"].model_type
                  for model_type, cls in ((t, transformers.CONFIG_MAPPING[t]) for t in transformers.CONFIG_MAPPING.keys())
                  if "text_config" in (getattr(cls, "sub_configs", None) or {})
                  and getattr(cls.sub_configs["text_config"], "model_type", "") in INT_EOS_MODEL_TYPES}
    assert composites == ONE_EOS_TEXT_CONFIGS


def _inkling(tmp_path: Path, name: str, generation: bool, config_eos, text_config: bool = False) -> Path:
    """A ChatML fine-tune of an Inkling model (eos_token_id: int | None): <|im_end|> 200006 ends answers."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / name)
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    (folder / "generation_config.json").unlink()
    if generation:
        write_json(folder / "generation_config.json", {"eos_token_id": [151643, 151645]})
    text = {"model_type": "inkling_text", "eos_token_id": config_eos, "vocab_size": 152064}
    if text_config == "no-model-type":  # the parent's sub_configs give its class
        text.pop("model_type")
    write_json(folder / "config.json", {"model_type": "inkling_mm_model", "text_config": text} if text_config
               else {"architectures": ["InklingForCausalLM"], **text})
    assert tokenizer_config["eos_token"] == "<|im_end|>"
    return folder


@pytest.mark.parametrize("text_config", [False, True, "no-model-type"], ids=["top-level", "text_config",
                                                                           "text_config-without-model_type"])
def test_fix_never_makes_a_list_of_a_config_eos_that_takes_one_id(run, tmp_path, text_config):
    """helper-120: --fix turned Inkling's "eos_token_id": 151643 into [151643, 151645], which AutoConfig refuses
    (the class takes one id), then said every check passed. It now leaves such a config alone (EOS003 says why),
    creates generation_config.json where there is none, and a list a person wrote there is the folder's error."""
    transformers = pytest.importorskip("transformers")
    eos003 = _inkling(tmp_path, "eos003", True, 151643, text_config)
    code, out, _ = run("--format", "concise", "--baseline", "none", str(eos003))
    assert code == 0 and "config class takes one id, so only a person can change it (set it to 151645" in out, out
    assert run("--fix", "--baseline", "none", str(eos003))[0] == 0
    loaded = transformers.AutoConfig.from_pretrained(str(eos003))
    assert (loaded.get_text_config() if text_config else loaded).eos_token_id == 151643

    missing = _inkling(tmp_path, "no-generation-config", False, 151643, text_config)
    code, out, _ = run("--format", "concise", "--baseline", "none", str(missing))
    # EOS001: generate() stops on config.json's 151643 only; it says where the id goes (not "add" to that int)
    assert code == 1 and "; add 151645 in a generation_config.json's eos_token_id list, as --fix writes it " \
        "(config.json's inkling_text config class takes one id: a list there stops AutoConfig)" in out, out
    run("--fix", "--baseline", "none", str(missing))
    assert json.loads((missing / "generation_config.json").read_text())["eos_token_id"] == [151643, 151645]
    transformers.AutoConfig.from_pretrained(str(missing))  # still loads
    assert run("--baseline", "none", str(missing))[0] == 0

    broken = _inkling(tmp_path, "broken-generation-config", False, 151643, text_config)
    (broken / "generation_config.json").write_text('{"eos_token_id": [151643,\n', encoding="utf-8")
    code, out, _ = run("--format", "concise", "--baseline", "none", str(broken))
    assert code == 2 and "; repair generation_config.json and add 151645 to its eos_token_id list (config.json's " \
        "inkling_text config class takes one id" in out, out

    listed = _inkling(tmp_path, "list", True, [151643, 151645], text_config)
    with pytest.raises(Exception, match="eos_token_id"):
        transformers.AutoConfig.from_pretrained(str(listed))
    code, _, err = run("--baseline", "none", str(listed))
    where = "text_config.eos_token_id" if text_config else "eos_token_id"
    assert code == 2 and "/config.json:" in err and f": {where} is a list, but the inkling_text config class takes " \
        "one id: transformers cannot load the config (list the stop ids in generation_config.json)" in err, err


def test_invalid_generation_config_is_exit_2_with_the_verdict_runtimes_reach(run, tmp_path):
    folder = shutil.copytree(FIXTURES / "generation-config-invalid-json", tmp_path / "m")
    before = (folder / "generation_config.json").read_bytes()
    code, out, err = run("m")
    assert code == 2 and "generation_config.json:4:40: cannot parse JSON: Illegal trailing comma" in err
    assert "EOS001 error: the chat template ends assistant turns with '<|eot_id|>' (128009), but generate() stops only " \
           "on [128001 '<|end_of_text|>'] (config.json eos_token_id)" in out
    code, out, _ = run("explain", "m")
    assert "(generation_config.json is not valid JSON, so config.json)" in out
    code, _, err = run("--fix", "m")
    assert code == 2 and (folder / "generation_config.json").read_bytes() == before


def _as_list(value) -> list:
    return [] if value is None else (list(value) if isinstance(value, list) else [value])


ID_FOLDERS = [pytest.param(f, id=f.name) for f in FOLDERS + sorted(p for p in RULE_CASES.iterdir() if p.is_dir())
              if (f / "tokenizer.json").exists()]


def _null_eos_variant(tmp_path, source: str, keys: tuple[str, ...]) -> Path:
    folder = shutil.copytree(FIXTURES / source, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.get(keys[0], config)[keys[-1]] = None  # ("eos_token_id",) or ("text_config", "eos_token_id")
    write_json(folder / "config.json", config)
    return folder


NULL_EOS = [pytest.param("llama-config-class-default-eos", ("eos_token_id",), id="mistral-null"),
            pytest.param("llava-text-config-eos-only", ("text_config", "eos_token_id"), id="llava-text-null"),
            # helper-121: a composite config's top-level null hides text_config's eos from SGLang's copy, not vLLM's
            pytest.param("vlm-eos-only-in-text-config", ("eos_token_id",), id="vlm-top-level-null")]


@pytest.mark.parametrize(("source", "keys"), NULL_EOS)
def test_an_explicit_null_eos_is_not_the_class_default_for_vllm_and_sglang(tmp_path, source, keys):
    """``"eos_token_id": null`` reaches the config class as eos_token_id=None: the class default (Mistral's 2)
    does not apply; the same rule as the fixture folders, on the real objects."""
    test_vllm_and_sglang_follow_the_config_object(_null_eos_variant(tmp_path, source, keys))


@pytest.mark.parametrize("folder", ID_FOLDERS)
def test_vllm_and_sglang_follow_the_config_object(folder):
    """vLLM's and SGLang's rules run on the real transformers objects they use: AutoConfig (SGLang copies
    text-config attributes up, HfModelConfigParser.parse), GenerationConfig.from_model_config(config object)
    (vLLM without generation_config.json), AutoTokenizer's eos. (Same result with transformers 5.19, which
    SGLang 0.5.23 pins, on every folder here.)"""
    transformers = pytest.importorskip("transformers")
    try:
        config = transformers.AutoConfig.from_pretrained(str(folder))
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    except Exception:  # noqa: BLE001 - folders transformers cannot load (EOS007 cases) are not compared
        pytest.skip("transformers cannot load this folder")
    model = model_of(folder)
    # neither loads MLX's packed weights nor ONNX weights: no stop set (tests/test_mlx_quantized.py,
    # tests/test_onnxruntime_genai.py)
    if model.files.mlx_quantized or model.files.onnx_export:
        assert model.runtime_stops["vllm"].ids == model.runtime_stops["sglang"].ids == ()
        return
    primary = [] if model.tokenizer_eos is not None and model.tokenizer_eos.appended else [tokenizer.eos_token_id]
    generation = None
    if (folder / "generation_config.json").exists():
        try:
            generation = transformers.GenerationConfig.from_pretrained(str(folder))
        except OSError:
            pass
    vllm_gen = generation or transformers.GenerationConfig.from_model_config(
        transformers.AutoConfig.from_pretrained(str(folder)))
    vllm = set(primary) | set(_as_list(vllm_gen.eos_token_id))
    try:
        text = config.get_text_config()
    except ValueError:  # MusicGen's text_encoder and decoder: neither vLLM nor SGLang loads such a model
        pytest.skip("get_text_config(), which vLLM and SGLang call, cannot pick a text config")
    if text is not config:
        for key, value in text.to_dict().items():
            if not hasattr(config, key) and value is not None:
                setattr(config, key, value)
    added = {str(t): i for i, t in tokenizer.added_tokens_decoder.items()}
    sglang = (set(_as_list(getattr(config, "eos_token_id", None))) | set(primary)
              | set(_as_list(generation.eos_token_id if generation else None))
              | {added[t] for t in ("<|eom_id|>", "<|content_model_end_sampling|>", "<|ifm|im_end|>") if t in added})
    # vLLM's is_encoder_decoder (transformers_utils/config.py) on the config object: served only as its registry or
    # a plugin implements it (data/vllm_registry.json), else no stop set
    registry = json.loads((ROOT / "eos_guard" / "data" / "vllm_registry.json").read_text(encoding="utf-8"))
    encoder_decoder = getattr(config, "is_encoder_decoder", False) or getattr(text, "is_encoder_decoder", False)
    if encoder_decoder and not set(config.architectures or ()) & {*registry["encoder_decoder"], *registry["plugins"]}:
        vllm = set()
    # SGLang 0.5.23 implements no encoder-decoder but Whisper (runtimes/sglang.py): no stop set for the others
    if encoder_decoder and "WhisperForConditionalGeneration" not in (config.architectures or ()):
        sglang = set()
    assert set(model.runtime_stops["vllm"].ids) == {i for i in vllm if isinstance(i, int)}
    assert set(model.runtime_stops["sglang"].ids) == {i for i in sglang if isinstance(i, int)}


@pytest.mark.parametrize(("model_type", "ids"), [("qwen2", [151645, 151643]), ("qwen3", [151643]),
                                                ("olmo2", [151643]), ("falcon", [151645, 151643]),
                                                ("falcon+alibi", [151643])])
def test_tgi_reads_generation_config_only_for_the_model_types_it_has_flash_code_for(tmp_path, model_type, ids):
    """TGI db931fcf42 get_model: qwen2 goes to FlashCausalLM, whose __init__ lets a generation_config.json list
    replace the tokenizer eos; qwen3 and olmo2 (no flash code of TGI's own) go to TransformersFlashCausalLM, which
    skips that __init__, and a falcon config with "alibi" to CausalLM: the tokenizer eos (here <|endoftext|>)
    alone, so answers ending in <|im_end|> run on."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "model_type": model_type.removesuffix("+alibi"),
                                        **({"alibi": True} if model_type.endswith("+alibi") else {})})
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(folder / "tokenizer_config.json", {**tokenizer_config, "eos_token": "<|endoftext|>"})
    write_json(folder / "generation_config.json", {"eos_token_id": [151645, 151643]})
    model = model_of(folder)
    stop = RUNTIMES["tgi"](model)
    assert list(stop.ids) == ids
    assert stops(model, stop) is (151645 in ids)


def test_tgi_reads_generation_config_ids_with_transformers_4_numbering(tmp_path):
    """TGI pins transformers 4.51.3 / tokenizers 0.21.1, which keep tokenizer.json's order for Qwen2TokenizerFast:
    there 300 is <|im_start|> (checked with 4.51.3: AutoTokenizer gives <|im_start|> 300, <|im_end|> 301; the
    transformers-4 numbering equals 4.51.3's on all 875 fixture, rule-case and class-variant folders tried)."""
    folder = shutil.copytree(FIXTURES / "qwen2-class-renumbers-added-tokens", tmp_path / "m")
    write_json(folder / "generation_config.json", {"eos_token_id": [300]})
    model = model_of(folder)
    assert model.vocab.numbered_as("4.51").id_of("<|im_start|>") == 300
    tgi = model.runtime_stops["tgi"]
    assert tgi.ids == (301,) and stops(model, tgi) is False  # TGI stops on <|im_start|>, 301 in transformers 5
    assert "300 is '<|im_start|>' in transformers 4.51.3's numbering, 301 here" in tgi.why
    assert stops(model, model.runtime_stops["transformers"]) is True


def test_tgi_sparse_vocab_token_keeps_its_old_id(tmp_path):
    folder = shutil.copytree(FIXTURES / "sparse-vocab-appended-token-id", tmp_path / "m")
    write_json(folder / "generation_config.json", {"eos_token_id": [32002]})
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "model_type": "llava_next"})  # TGI cannot load 'llava' (1.5)
    model = model_of(folder)
    assert model.vocab.numbered_as("4.51").id_of("<|end|>") == 32002  # tokenizers 0.21: one past <pad> 32001
    assert model.runtime_stops["tgi"].ids == (338,) and stops(model, model.runtime_stops["tgi"]) is True


def test_an_older_release_numbers_added_tokens_with_its_own_class_defaults(tmp_path):
    """transformers 5.19 loads a ByteLevel LlamaTokenizerFast folder as LlamaTokenizer, whose unk_token defaults
    to <unk>: in no vocabulary, it is appended (302) before an extra special token <x> (303); 5.24 loads the generic
    backend, which has no default, and gives <x> 302. Both checked with the real releases (5.19.0 and 5.24.0)."""
    folder = shutil.copytree(FIXTURES / "added-token-ids-disagree", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(folder / "tokenizer_config.json",
               {**config, "tokenizer_class": "LlamaTokenizerFast", "additional_special_tokens": ["<x>"]})
    vocab = model_of(folder).vocab
    texts = ("<|im_start|>", "<|im_end|>", "<x>", "<unk>")
    assert [vocab.id_of(text) for text in texts] == [300, 301, 302, None]
    assert [vocab.numbered_as("5.19").id_of(text) for text in texts] == [301, 300, 303, 302]


def test_vllm_and_sglang_read_raw_ids_with_transformers_5_19(tmp_path):
    """transformers 5.19 (SGLang 0.5.23's pin; vLLM 0.33 needs 5.16-5.20, 0.34 5.16-5.22) loads a ByteLevel
    LlamaTokenizer as LlamaTokenizer, which renumbers from added_tokens_decoder: <|im_end|> is 300 there, 301 in 5.24 (both
    checked with the real releases; the 5.19 numbering equals 5.19's on 902 folders)."""
    folder = shutil.copytree(FIXTURES / "added-token-ids-disagree", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(folder / "tokenizer_config.json", {**config, "tokenizer_class": "LlamaTokenizerFast"})
    model = model_of(folder)
    assert model.vocab.id_of("<|im_end|>") == 301 and model.vocab.numbered_as("5.19").id_of("<|im_end|>") == 300
    vllm, sglang = model.runtime_stops["vllm"].others[0], model.runtime_stops["sglang"]
    assert vllm.release == "vLLM ≤ 0.33.0" and vllm.ids == (301,) and sglang.ids == (301,)
    assert "300 is '<|im_end|>' in transformers 5.19's numbering, 301 here" in vllm.why
    # vLLM 0.34.0 installs transformers 5.22, which has the ByteLevel rule: 300 is <|im_start|> there, as in 5.24
    assert model.runtime_stops["vllm"].ids == (301, 300) and "numbering" not in model.runtime_stops["vllm"].why
    assert stops(model, model.runtime_stops["transformers"]) is False  # 5.24: 300 is <|im_start|>


@pytest.mark.parametrize("value", [0, []])
def test_sglang_says_a_falsy_generation_eos_is_not_read(tmp_path, value):
    """SGLang reads generation_config.json's eos_token_id only when truthy (runtimes/sglang.py): for Granite 3.3's
    and SmolLM2's 0 its why said 'generation_config.json []', as if the file held an empty list (helper-208)."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    generation = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    write_json(folder / "generation_config.json", {**generation, "eos_token_id": value})
    sglang = model_of(folder).runtime_stops["sglang"]
    shown = json.dumps(value)
    assert f"generation_config.json [] (its eos_token_id {shown} is falsy: not read)" in sglang.why
    assert 0 not in sglang.ids and 151645 in sglang.ids


def test_a_run_shares_equal_stop_sets(tmp_path):
    """Once a folder's documents are released, its report keeps the stop sets without their places (which pointed
    into those documents) and one object for equal stop sets of different folders; fix planning, which keeps the
    documents, keeps the places."""
    for name in ("a", "b"):
        shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / name)
    config = Config()
    config.baseline = None
    first, second = (m.model.runtime_stops for m in check_paths([tmp_path], config).models)
    assert list(first) == [name for name in MODULES if name != ONNX]  # not an ONNX Runtime GenAI export
    assert all(first[name] is second[name] for name in first)
    assert all(stop.where is None for stop in first.values())
    assert check_folder(tmp_path / "a", config).model.runtime_stops["transformers"].where is not None
    # nor does it keep what the llama.cpp converter's emulation worked out for the stop sets
    released = check_paths([tmp_path / "a"], config).models[0].model
    assert "_llama_cpp_converted" not in released.__dict__ and released.runtime_stops["llama.cpp"].ids


@pytest.mark.parametrize(("key", "value", "suppressed"), [
    pytest.param("suppress_tokens", [151644, 151645], True, id="suppress-tokens"),
    # NoBadWordsLogitsProcessor drops a one-token sequence that is an eos id: never banned
    pytest.param("bad_words_ids", [[151645]], False, id="one-token-bad-word"),
    pytest.param("bad_words_ids", [[151644, 151645]], False, id="two-token-bad-word"),
    # Whisper's generation config: begin_suppress_tokens [220, 50257] with eos 50257 (only the first step)
    pytest.param("begin_suppress_tokens", [220, 151645], False, id="begin-suppress-tokens"),
    # SequenceBiasLogitsProcessor adds a one-token sequence's bias at every step, a stop id too (helper-130)
    pytest.param("sequence_bias", [[[151645], float("-inf")], [[100], -5.0]], True, id="sequence-bias-minus-infinity"),
    pytest.param("sequence_bias", [[[151645], -50.0]], False, id="sequence-bias-finite"),
    pytest.param("sequence_bias", [[[151645], -1e4]], True, id="sequence-bias-low-enough"),
    pytest.param("sequence_bias", [[[151645], -1e39]], True, id="sequence-bias-minus-infinity-in-float32"),
    # the list becomes a dict: the last entry for an id is the bias applied
    pytest.param("sequence_bias", [[[151645], float("-inf")], [[151645], 0.0]], False, id="sequence-bias-undone"),
    pytest.param("sequence_bias", [[[151644, 151645], float("-inf")]], False, id="sequence-bias-two-tokens"),
])
def test_a_stop_id_transformers_never_samples_does_not_stop_there(run, tmp_path, key, value, suppressed):
    """An id in the stop set that a logits processor keeps from being sampled at every step (suppress_tokens, a
    sequence_bias of minus infinity for it alone) is EOS012, and the folder does not stop in transformers (the
    header, explain and JSON agree); begin_suppress_tokens applies to the first generated token only, bad_words_ids
    never bans an eos id, a finite bias only makes it less likely, and a two-token sequence only after its first."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    config.pop("suppress_tokens", None)
    write_json(folder / "generation_config.json", {**config, key: value})
    if key == "sequence_bias":  # the generation config transformers loads holds it, valid, as written
        transformers = pytest.importorskip("transformers")
        loaded = transformers.GenerationConfig.from_pretrained(folder)
        loaded.validate(strict=True)
        assert loaded.sequence_bias == value
        key = "sequence_bias[0]"
    model = check_folder(folder).model
    assert stops(model, model.runtime_stops["transformers"]) is (not suppressed)
    assert all(stops(model, stop) for name, stop in model.runtime_stops.items() if name != "transformers")
    code, out, _ = run("--format", "text", "m")
    assert ("EOS012" in out) is suppressed and code == (1 if suppressed else 0), out
    assert ("m: fails; stops in transformers: no" in out if suppressed else out == "All checks passed (1 model folder).\n")
    code, out, _ = run("explain", "m")
    if suppressed:
        assert f"the model never emits 151645: generation_config.json {key} holds it" in out
        remove = f"generation_config.json {key}" if key.endswith("]") else f"151645 from generation_config.json {key}"
        assert f"fix for transformers: remove {remove}" in out  # an entry of sequence_bias goes whole


def test_a_suppressed_terminator_that_is_no_stop_id_yet_is_eos012_before_the_fix(run, tmp_path):
    """helper-113: unsloth writes the rows it pads the embedding with into suppress_tokens; a terminator added to the
    tokenizer later can land in one. EOS001 asked for the id among the stop ids and --fix added it, and only the
    next check said that the model can never write it: EOS012 says so from the first check, and the fix stays to
    a person (add-only)."""
    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    config = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    write_json(folder / "generation_config.json", {**config, "suppress_tokens": [151645, 151646]})
    code, out, _ = run("--format", "concise", "--no-cache", "m")
    assert code == 1 and " EOS001 error: " in out, out
    assert "EOS012 error: suppress_tokens contains 151645 '<|im_end|>', the token chat answers end with, so the " \
           "model can never write it: making it a stop id is not enough; remove it from suppress_tokens" in out, out
    code, out, _ = run("explain", "--no-cache", "m")
    assert "the model never emits 151645: generation_config.json suppress_tokens holds it" in out, out
    assert "fix for transformers: add the id to generation_config.json eos_token_id, and remove 151645 from " \
           "generation_config.json suppress_tokens" in out, out
    assert run("--fix", "--no-cache", "m")[0] == 1
    code, out, _ = run("--format", "concise", "--no-cache", "m")
    assert code == 1 and "EOS012 error: suppress_tokens contains the stop id 151645" in out, out


def test_a_stop_id_out_of_the_vocabulary_stops_nowhere(run):
    """The terminator 301 with vocab_size 300: every runtime lists it, and none can stop on it (EOS006 says why;
    EOS016 does not say that the runtime should list it)."""
    model = check_folder(FIXTURES / "stop-id-out-of-range").model
    assert all(stops(model, stop) is False for stop in model.runtime_stops.values())
    code, out, _ = run("--format", "concise", "--runtime", "all", str(FIXTURES / "stop-id-out-of-range"))
    assert "EOS006" in out and "EOS016" not in out
    code, out, _ = run("explain", str(FIXTURES / "stop-id-out-of-range"))
    assert out.count("the model never emits 301: it is not below vocab_size 300") == 7


def test_the_vocab_size_is_the_text_config_s_where_both_are_written(tmp_path):
    """A composite config with a stale top-level vocab_size: the output layer has text_config's rows
    (get_text_config(decoder=True)), so 151645 is in range and the folder stops (it said no in every runtime)."""
    transformers = pytest.importorskip("transformers")
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = {"architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
              "vocab_size": 151643, "eos_token_id": 151645,
              "text_config": {"model_type": "qwen2_vl_text", "vocab_size": 151936, "eos_token_id": 151645}}
    write_json(folder / "config.json", config)
    assert transformers.AutoConfig.from_pretrained(str(folder)).get_text_config(decoder=True).vocab_size == 151936
    report = check_folder(folder)
    assert report.model.vocab_size == 151936 and not [f for f in report.findings if f.code == "EOS006"]
    assert all(stops(report.model, stop) for stop in report.model.runtime_stops.values())


@pytest.mark.parametrize("config, place", [
    ({"model_type": "qwen2", "eos_token_id": [151645, 151643], "vocab_size": 151936, "suppress_tokens": [151645]},
     "suppress_tokens"),
    ({"model_type": "llava", "eos_token_id": [151645, 151643], "text_config": {
        "model_type": "qwen2", "vocab_size": 151936, "suppress_tokens": [151645]}}, "text_config.suppress_tokens"),
    ({"model_type": "qwen2", "eos_token_id": [151645, 151643], "vocab_size": 151936,
      "sequence_bias": [[[151645], float("-inf")]]}, "sequence_bias[0]"),
    # a Qwen2.5-Omni's thinker builds its generation config from its config object, which keeps neither key
    ({"model_type": "qwen2_5_omni", "thinker_config": {"text_config": {"eos_token_id": 151645, "vocab_size": 151936}},
      "suppress_tokens": [151645]}, None),
], ids=["qwen2", "llava-text-config", "sequence-bias", "inner-model"])
def test_config_json_banning_keys_count_without_generation_config_json(run, tmp_path, config, place):
    """helper-131: without generation_config.json, from_pretrained builds the generation config from config.json's
    dict (adjust_generation_fn: GenerationConfig.from_pretrained(config_file_name="config.json",
    _from_model_config=True), the call made here), for every model type: eos-guard read the config object's, which
    keeps suppress_tokens for Whisper only, and missed a Qwen2 config.json's (tests/e2e/test_logits_processors.py
    loads a real model so)."""
    transformers = pytest.importorskip("transformers")
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    (folder / "generation_config.json").unlink()
    write_json(folder / "config.json", config)
    if place is not None:
        loaded = transformers.GenerationConfig.from_pretrained(folder, config_file_name="config.json",
                                                               _from_model_config=True)
        assert (loaded.suppress_tokens, loaded.sequence_bias) in (([151645], None), (None, [[[151645], float("-inf")]]))
    report = check_folder(folder)
    assert stops(report.model, report.model.runtime_stops["transformers"]) is (place is None)
    code, out, _ = run("--format", "concise", "m", cwd=tmp_path)
    assert ("m/config.json:" in out and f"EOS012 error: {place} " in out) if place else " EOS012 " not in out, out


def _converter_folder(tmp_path, architecture: str, tokens: dict[str, int], eos: str | None, config: dict | None = None,
                      generation: dict | None = None):
    """A folder whose tokenizer.json holds ``tokens`` at their ids (in the vocab and as special added tokens)."""
    from tokenizers import AddedToken, Tokenizer
    from tokenizers.models import WordLevel

    folder = tmp_path / architecture
    folder.mkdir()
    tokenizer = Tokenizer(WordLevel({"<unk>": 0, "a": 3, **tokens}, unk_token="<unk>"))
    tokenizer.add_special_tokens([AddedToken(text, special=True, normalized=False) for text in tokens])
    tokenizer.save(str(folder / "tokenizer.json"))
    write_json(folder / "tokenizer_config.json", {**({"eos_token": eos} if eos else {}),
                                                  "tokenizer_class": "PreTrainedTokenizerFast"})
    write_json(folder / "config.json", {"architectures": [architecture], **(config or {})})
    if generation is not None:
        write_json(folder / "generation_config.json", generation)
    if architecture in SENTENCEPIECE_ONLY:  # its class reads tokenizer.model, as the real folders ship it
        (folder / "tokenizer.model").write_bytes(b"\n\x05<unk>")
    return folder


GLM = {"<|endoftext|>": 151329, "<|user|>": 151336, "<|observation|>": 151338}
# architecture, tokens, tokenizer eos, config.json, generation_config.json -> the ids convert_hf_to_gguf.py writes
# (commit 0024aa7417ef: Glm4Model/ChatGLMModel.set_vocab, _set_vocab_glm, GemmaModel, LlamaModel, InternLM2Model;
# b11413 and b11549, conversion/: plamo.py, hunyuan.py, glm.py Glm5Next, dots3.py, muse_glimmer.py, laguna.py, kimi_k3.py, LlamaModel's
# subclasses)
CONVERTER_OVERRIDES = [
    pytest.param("Glm4ForCausalLM", GLM, "<|endoftext|>", {}, None, {"eos": 151329, "eot": 151336}, id="glm-4"),
    pytest.param("ChatGLMForConditionalGeneration", GLM, "<|endoftext|>", {"_name_or_path": "THUDM/chatglm3-6b"}, None,
                 {"eos": 151329}, id="chatglm3-6b-plain"),
    pytest.param("Glm4MoeForCausalLM", GLM, "<|endoftext|>", {}, None,
                 {"eos": 151329, "eot": 151336, "eom": 151338}, id="glm-4-moe"),
    pytest.param("GemmaForCausalLM", {"<eos>": 1, "<end_of_turn>": 107}, "<eos>", {}, None, {"eos": 1, "eot": 107},
                 id="gemma-1"),
    pytest.param("LlamaForCausalLM", {"</s>": 2}, "</s>", {"vocab_size": 32016}, None, {"eos": 2, "eot": 32010},
                 id="codellama"),
    pytest.param("LlamaForCausalLM", {"</s>": 2}, "</s>", {"vocab_size": 32000}, None, {"eos": 2}, id="llama-2"),
    pytest.param("InternLM2ForCausalLM", {"</s>": 2, "<|im_end|>": 92542}, "</s>", {}, None, {"eos": 92542},
                 id="internlm2"),
    pytest.param("Glm4ForCausalLM", GLM, None, {}, None, {"eos": 151329, "eot": 151336}, id="glm-4-eos-where-none"),
    pytest.param("Plamo2ForCausalLM", {"</s>": 2, "<|plamo:op|>": 4}, "</s>", {}, None, {"eos": 2, "eot": 4},
                 id="plamo-2"),
    # b11549's _set_vocab_plamo(eot_token="<|plamo:tag|>"), where b11413 wrote 4
    pytest.param("Plamo3ForCausalLM", {"</s>": 2, "<|plamo:op|>": 4, "<|plamo:tag|>": 9}, "</s>", {}, None,
                 {"eos": 2, "eot": 9}, id="plamo-3"),
    # PLaMo 2's <|plamo:op|> comes from tokenizer.jsonl, which eos-guard does not read: id 4 where no file names it
    pytest.param("Plamo2ForCausalLM", {"</s>": 2}, "</s>", {}, None, {"eos": 2, "eot": 4}, id="plamo-2-op-unlisted"),
    pytest.param("Plamo3ForCausalLM", {"</s>": 2}, "</s>", {}, None, {"eos": 2}, id="plamo-3-tag-unlisted"),
    pytest.param("SolarOpenForCausalLM", {"<|endoftext|>": 5, "<|im_end|>": 6}, "<|im_end|>", {}, None,
                 {"eos": 6, "eot": 5}, id="solar-open"),
    pytest.param("InternLM3ForCausalLM", {"</s>": 2, "<|im_end|>": 128131}, "</s>", {}, None, {"eos": 128131},
                 id="internlm3"),
    pytest.param("InternLM3ForCausalLM", {"</s>": 2, "<|im_end|>": 128131}, None, {}, None, {},
                 id="internlm3-no-eos-loaded"),
    pytest.param("Qwen3OmniMoeForConditionalGeneration", {"<|endoftext|>": 151643, "<|im_end|>": 151645},
                 "<|endoftext|>", {}, None, {"eos": 151645}, id="qwen3-omni"),
    pytest.param("HunYuanDenseV1ForCausalLM", {"<|eos|>": 127960, "<|extra_0|>": 127957}, "<|eos|>",
                 {"eod_token_id": 127957}, {"eos_token_id": [127960, 127957]}, {"eos": 127957, "eot": 127960},
                 id="hunyuan"),
    # HunYuanModel.set_vocab reads eod_token_id through AutoConfig, whose class defaults it to 3, text_config first
    pytest.param("HunYuanDenseV1ForCausalLM", {"<eos>": 50, "<|eod|>": 3}, "<eos>", {"model_type": "hunyuan_v1_dense"},
                 None, {"eos": 3}, id="hunyuan-eod-class-default"),
    pytest.param("HunYuanVLForConditionalGeneration", {"<eos>": 50, "<|eod|>": 3, "<|x|>": 7}, "<eos>",
                 {"model_type": "hunyuan_vl", "eod_token_id": 50, "text_config": {"eod_token_id": 7}}, None,
                 {"eos": 7}, id="hunyuan-vl-text-config-eod"),
    pytest.param("HunYuanDenseV1ForCausalLM", {"<eos>": 50}, "<eos>", {"model_type": "hunyuan"}, None, {"eos": 50},
                 id="hunyuan-remote-code-no-default"),
    pytest.param("Glm5NextForConditionalGeneration", GLM, "<|endoftext|>", {}, None,
                 {"eos": 151329, "eot": 151336, "eom": 151338}, id="glm-5-next"),
    pytest.param("Dots3NoteForCausalLM", {"<|endoftext|>": 5, "<|endofassistant|>": 9}, "<|endoftext|>", {}, None,
                 {"eos": 5, "eot": 9}, id="dots3"),
    pytest.param("MuseGlimmerForConditionalGeneration", {"</s>": 2, "<|eot|>": 11}, "</s>", {}, None,
                 {"eos": 2, "eot": 11}, id="muse-glimmer"),
    pytest.param("LagunaForCausalLM", {"<|endoftext|>": 2, "</assistant>": 24}, "<|endoftext|>",
                 {"bos_token_id": 2, "eos_token_id": [2, 24]}, None, {"eos": 2, "eot": 24}, id="laguna"),
    pytest.param("KimiK3ForConditionalGeneration", {"[EOS]": 1, "<|end_of_msg|>": 163586}, "[EOS]",
                 {"text_config": {"eos_token_id": 163586}}, None, {"eos": 163586}, id="kimi-k3"),
    pytest.param("SmolLM3ForCausalLM", {"</s>": 2}, "</s>", {"text_config": {"vocab_size": 32016}}, None,
                 {"eos": 2, "eot": 32010}, id="llama-subclass-codellama-vocab"),
]


@pytest.mark.parametrize("architecture, tokens, eos, config, generation, expected", CONVERTER_OVERRIDES)
def test_llama_cpp_converter_classes_set_their_own_special_ids(tmp_path, architecture, tokens, eos, config,
                                                               generation, expected):
    """GLM-4 ends a turn with <|user|>: a GGUF of it stops there, since the converter's class adds it as eot."""
    model = model_of(_converter_folder(tmp_path, architecture, tokens, eos, config, generation))
    assert converter_special_ids(model) == expected
    assert set(expected.values()) <= set(model.runtime_stops["llama.cpp"].ids)


@pytest.mark.parametrize("architecture", sorted(SENTENCEPIECE_ONLY))
def test_every_class_that_reads_tokenizer_model_alone_cannot_convert_a_folder_without_it(tmp_path, architecture):
    """helper-194: ERNIE 4.5, InternLM3 and Nemotron fine-tunes saved by transformers 5 (tokenizer.json only) got a
    llama.cpp stop set, while b11549's converter stops at their set_vocab, which reads tokenizer.model alone
    (conversion/ernie.py Ernie4_5Model.set_vocab calls _set_vocab_sentencepiece; internlm.py InternLM3Model calls
    _create_vocab_sentencepiece, which raises FileNotFoundError; InternLM2Model and arctic.py exit on "Error:
    Missing tokenizer.model"): no GGUF is written, so llama.cpp and Ollama cannot tell."""
    from eos_guard.runtimes import ollama

    folder = _converter_folder(tmp_path, architecture, {"</s>": 2, "<|im_end|>": 7}, "</s>")
    assert stops(model_of(folder), model_of(folder).runtime_stops["llama.cpp"]) is True
    (folder / "tokenizer.model").unlink()
    model = model_of(folder)
    # Ollama serves the GGUF llama.cpp's converter writes, but for the classes it converts itself (Gemma, Phi-3)
    for runtime in ("llama.cpp", *(("ollama",) if architecture not in ollama.CONVERTED_ARCHITECTURES else ())):
        stop = model.runtime_stops[runtime]
        assert stops(model, stop) is None, (runtime, stop)
    why = model.runtime_stops["llama.cpp"].why
    assert f"cannot convert {architecture} without tokenizer.model: {SENTENCEPIECE_ONLY[architecture]}" in why, why


def test_a_chatglm3_fine_tune_saved_under_another_name_cannot_be_converted(tmp_path):
    """helper-141: ChatGLMModel.set_vocab takes the GLM-4 path unless _name_or_path names THUDM/chatglm3-6b, and there
    reads tokenizer.get_added_vocab()["<|endoftext|>"] and ["<|user|>"]: a ChatGLM3 fine-tune saved from a local path,
    whose tokenizer has neither, raises KeyError, so llama.cpp's verdict is "cannot tell", not a stop set."""
    tokens = {"</s>": 2, "<|user|>": 64795, "<|assistant|>": 64796}
    folder = _converter_folder(tmp_path, "ChatGLMModel", tokens, "</s>", {"_name_or_path": "/data/ft/chatglm3"})
    stop = model_of(folder).runtime_stops["llama.cpp"]
    assert stops(model_of(folder), stop) is None and "reads the added token '<|endoftext|>'" in stop.why, stop.why
    write_json(folder / "config.json", {"architectures": ["ChatGLMModel"], "_name_or_path": "THUDM/chatglm3-6b"})
    assert "cannot convert" not in model_of(folder).runtime_stops["llama.cpp"].why


def test_glm_keeps_an_eot_special_vocab_found(tmp_path):
    """GLM's class calls _set_special_token("eot", <|user|>) on the SpecialVocab that read the files, which does
    not overwrite: where tokenizer.json's TemplateProcessing ends with another special token, SpecialVocab makes
    the old eos the eot, and that eot stays."""
    from tokenizers import Tokenizer
    from tokenizers.processors import TemplateProcessing

    folder = _converter_folder(tmp_path, "Glm4ForCausalLM", GLM, "<|endoftext|>")
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.post_processor = TemplateProcessing(single="$A <|observation|>", pair="$A $B <|observation|>",
                                                  special_tokens=[("<|observation|>", 151338)])
    tokenizer.save(str(folder / "tokenizer.json"))
    found = {k: v for k, v in gguf.SpecialVocab(folder, load_merges=False).special_token_ids.items()
             if k in ("eos", "eot")}
    assert found == {"eos": 151338, "eot": 151329}
    assert converter_special_ids(model_of(folder)) == found


@pytest.mark.parametrize("config, raises", [
    ({"pad_token_id": -1}, True), ({"text_config": {"bos_token_id": -2}}, True), ({"eos_token_id": -1}, True),
    ({"text_config": None}, True), ({"pad_token_id": 0, "eos_token_id": [2, -1]}, False),
    ({"bos_token_id": True}, False), ({"pad_token_id": -1, "model_type": "hunyuan_v1_dense"}, False)])
def test_llama_cpp_cannot_convert_where_special_vocab_raises_on_config_json(tmp_path, config, raises):
    """gguf-py's SpecialVocab raises for a negative <type>_token_id in config.json (ValueError, checked before it
    looks whether the type was set) and for a text_config that is no object where it looks one up; no GGUF is
    written. HunYuan's class reads no pad then (the last case). gguf 0.19.0's SpecialVocab is the oracle."""
    architecture = "HunYuanDenseV1ForCausalLM" if config.get("model_type") == "hunyuan_v1_dense" else "LlamaForCausalLM"
    folder = _converter_folder(tmp_path, architecture, {"</s>": 2}, "</s>", config)
    types = None if architecture == "LlamaForCausalLM" else ("bos", "eos", "unk", "sep", "cls", "mask")
    try:
        gguf.SpecialVocab(folder, load_merges=False, special_token_types=types)
    except (ValueError, AttributeError):
        raised = True
    else:
        raised = False
    assert raised is raises
    stop = model_of(folder).runtime_stops["llama.cpp"]
    assert (stop.ids == () and stop.unknown == stop.why) is raises, stop.why
    if raises and "text_config" not in config:
        key = next(iter(config))
        assert f"config.json {key} is -1" in stop.why and stop.fix == f"remove {key} from config.json, or set it to a " \
                                                                         "token id"


@pytest.mark.parametrize("special", ["x", ["x"], 5, None])
def test_a_post_processor_special_token_of_another_kind_is_no_internal_error(tmp_path, run, special):
    """A TemplateProcessing whose last piece's SpecialToken is not an object: gguf-py's SpecialVocab raises
    AttributeError on it; eos-guard read it as one and stopped with an internal error."""
    folder = _converter_folder(tmp_path, "LlamaForCausalLM", {"</s>": 2}, "</s>")
    tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer["post_processor"] = {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A"}},
                                                                           {"SpecialToken": special}]}
    write_json(folder / "tokenizer.json", tokenizer)
    code, out, err = run("--runtime", "all", "--no-cache", str(folder))
    assert "internal error" not in err and "Traceback" not in err, err
    assert converter_special_ids(model_of(folder)) == {"eos": 2}


@pytest.mark.parametrize("architecture", ["Glm4MoeForCausalLM", "Glm4ForCausalLM"])
def test_ollama_serves_an_architecture_it_cannot_convert_from_llama_cpps_gguf(tmp_path, architecture):
    """`ollama create` converts only the classes convert.go's LoadModelMetadata lists (fb30760996); GLM-4.5's
    Glm4MoeForCausalLM fails with "unsupported architecture", and Ollama's maintainers point to llama.cpp's
    converter. eos-guard gave Ollama its own converter's eos (<|endoftext|> alone) and said a GLM-4.5 folder, which
    ends turns with <|user|>, runs on; the GGUF llama.cpp writes lists <|user|> as eot, and Ollama stops on it."""
    from eos_guard.runtimes import llama_cpp, ollama

    model = model_of(_converter_folder(tmp_path, architecture, GLM, "<|endoftext|>"))
    stop = model.runtime_stops["ollama"]
    assert stop.ids == llama_cpp.stop_set(model, llama_cpp.RELEASES[-1]).ids  # Ollama pins b10488: ≤ b11412's rule
    assert 151336 in stop.ids and 151329 in stop.ids
    assert stop.why.startswith(f"`ollama create` cannot convert {architecture} (convert.go: unsupported "
                               "architecture); from the GGUF llama.cpp's convert_hf_to_gguf.py writes: GGUF eos "
                               "151329 + eot 151336"), stop.why
    assert "convert_hf_to_gguf.py" in stop.fix and "before `ollama create`" not in stop.fix
    assert architecture not in ollama.CONVERTED_ARCHITECTURES


def _pangu_without_tokenizer_json(tmp_path, config_eos):
    """openPangu-Embedded's tokenizer files as its repositories copy them without tokenizer.json (a remote-code
    PanguTokenizer over tokenizer.model): eos_token '[unused10]' (45892), which ends every turn of its template."""
    folder = tmp_path / "pangu"
    folder.mkdir()
    decoder = {str(i): {"content": text, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                        "special": True} for text, i in (("<unk>", 0), ("<s>", 1), ("</s>", 2), ("[unused9]", 45891),
                                                         ("[unused10]", 45892))}
    write_json(folder / "tokenizer_config.json", {
        "added_tokens_decoder": decoder, "auto_map": {"AutoTokenizer": ["tokenization_openpangu.PanguTokenizer", None]},
        "bos_token": "<s>", "eos_token": "[unused10]", "pad_token": "<unk>", "unk_token": "<unk>",
        "tokenizer_class": "PanguTokenizer",
        "chat_template": "{% for message in messages %}{{ '[unused9]' + message['role'] + '：' + message['content'] "
                         "+ '[unused10]' }}{% endfor %}{% if add_generation_prompt %}{{ '[unused9]assistant：' }}"
                         "{% endif %}"})
    write_json(folder / "config.json", {"architectures": ["PanguEmbeddedForCausalLM"], "bos_token_id": 1,
                                        "eos_token_id": config_eos, "pad_token_id": 0, "vocab_size": 153376})
    # the SentencePiece file its class reads alone (pangu.py set_vocab), shortened
    (folder / "tokenizer.model").write_bytes(sentencepiece_model(llama_pieces()))
    return folder


def test_without_tokenizer_json_the_converter_fix_is_config_json_eos_token_id(tmp_path):
    """gguf-py's SpecialVocab maps eos_token through tokenizer.json's added_tokens, so without tokenizer.json it takes
    config.json's eos_token_id, and only an int (``_set_special_token`` skips a list). eos-guard told such a folder,
    whose eos_token already is the terminator, to "set tokenizer_config.json eos_token to the terminator", at
    tokenizer_config.json: a change that is no change. The fix is config.json's eos_token_id (gguf 0.19.0 is the
    oracle for each step)."""
    from eos_guard.runtimes import llama_cpp, ollama

    folder = _pangu_without_tokenizer_json(tmp_path, 2)
    assert gguf.SpecialVocab(folder, load_merges=False).special_token_ids["eos"] == 2
    stops = model_of(folder).runtime_stops
    for runtime, fix in (("llama.cpp", llama_cpp.FIX_WITHOUT_TOKENIZER_JSON),
                         ("ollama", ollama.SPECIAL_FIX_GGUF_WITHOUT_TOKENIZER_JSON)):
        stop = stops[runtime]
        assert 45892 not in stop.ids and stop.fix == fix
        assert "config.json eos_token_id" in stop.fix and "set tokenizer_config.json eos_token" not in stop.fix
        assert (stop.where.path.name, stop.where.keys) == ("config.json", ("eos_token_id",))

    write_json(folder / "config.json", {"architectures": ["PanguEmbeddedForCausalLM"], "eos_token_id": [2, 45892]})
    assert "eos" not in gguf.SpecialVocab(folder, load_merges=False).special_token_ids  # a list is skipped
    stop = model_of(folder).runtime_stops["llama.cpp"]
    assert 45892 not in stop.ids
    assert "config.json eos_token_id is a list, which it skips" in stop.why, stop.why  # explain says why

    write_json(folder / "config.json", {"architectures": ["PanguEmbeddedForCausalLM"], "eos_token_id": 45892})
    assert gguf.SpecialVocab(folder, load_merges=False).special_token_ids["eos"] == 45892  # the fix, followed
    assert 45892 in model_of(folder).runtime_stops["llama.cpp"].ids


def test_ollama_s_own_converter_without_tokenizer_json_is_told_to_save_one(tmp_path):
    """``ollama create`` looks eos_token up in tokenizer.json's added_tokens only (convert/tokenizer.go
    parseTokenizer, fb30760996): a folder it converts itself that has no tokenizer.json gets no eos in its GGUF,
    whatever tokenizer_config.json says, so "set eos_token" changes nothing there. The fix says to save the
    tokenizer (which writes tokenizer.json) with eos_token set."""
    from eos_guard.runtimes import ollama

    folder = _pangu_without_tokenizer_json(tmp_path, 2)  # its files, under a class `ollama create` converts
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "architectures": ["LlamaForCausalLM"]})
    shutil.copy(FIXTURES / "llama2-chatml-finetune-tokenizer-model-added-tokens-json" / "tokenizer.model", folder)
    stop = model_of(folder).runtime_stops["ollama"]
    assert 45892 not in stop.ids
    assert stop.why.startswith("GGUF eos unknown (no tokenizer.json, whose added_tokens give the converter"), stop.why
    assert stop.fix == ollama.SPECIAL_FIX_WITHOUT_TOKENIZER_JSON
    assert (stop.where.path.name, stop.where.keys) == ("tokenizer_config.json", ("eos_token",))


def test_ollama_cannot_read_a_vocabulary_without_tokenizer_model_or_tokenizer_json(tmp_path):
    """``ollama create`` reads the vocabulary from tokenizer.model or tokenizer.json and refuses any other folder
    ("unknown tokenizer format", convert/tokenizer.go parseVocabulary at fb30760996): a Kimi-K2-style folder
    (DeepseekV3ForCausalLM, which convert.go lists, over a tiktoken.model) is served from llama.cpp's GGUF, as
    for an architecture it does not convert."""
    folder = _pangu_without_tokenizer_json(tmp_path, 2)
    (folder / "tokenizer.model").unlink()
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "architectures": ["DeepseekV3ForCausalLM"]})
    (folder / "tiktoken.model").write_text("IQ== 0\n", encoding="utf-8")
    stop = model_of(folder).runtime_stops["ollama"]
    assert stop.why.startswith("`ollama create` cannot read the folder's vocabulary (neither tokenizer.model nor "
                               "tokenizer.json: convert/tokenizer.go parseVocabulary, unknown tokenizer format); from "
                               "the GGUF llama.cpp's convert_hf_to_gguf.py writes: GGUF eos 2"), stop.why
    assert stop.ids == model_of(folder).runtime_stops["llama.cpp"].ids


def test_ollama_does_not_send_a_tokenizer_model_that_is_text(tmp_path):
    """``ollama create`` sends tokenizer.model only when Go's http.DetectContentType calls it
    application/octet-stream (parser/parser.go filesForModel at fb30760996): a tiktoken file named tokenizer.model
    (GLM-4's) is text and never reaches the converter. Alone it leaves no vocabulary (served from llama.cpp's GGUF);
    beside a tokenizer.json the converter reads that one."""
    folder = _pangu_without_tokenizer_json(tmp_path, 2)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "architectures": ["DeepseekV3ForCausalLM"]})
    (folder / "tokenizer.model").write_bytes(b"IQ== 0\nIg== 1\n")
    stop = model_of(folder).runtime_stops["ollama"]
    assert stop.why.startswith("`ollama create` cannot read the folder's vocabulary (neither tokenizer.model nor "
                               "tokenizer.json (its tokenizer.model is text or cannot be read, and parser.go "
                               "filesForModel does not send it): "), stop.why
    beside = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "qwen2")
    (beside / "tokenizer.model").write_bytes(b"IQ== 0\nIg== 1\n")
    assert "cannot read" not in model_of(beside).runtime_stops["ollama"].why


@pytest.mark.parametrize("head,binary", [
    (b"\n\x0e\n\x05<unk>\x15\x00\x00\x00\x00\x18\x02", True),  # a SentencePiece model's protobuf
    (b"IQ== 0\nIg== 1\n", False),  # tiktoken
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 1\n", False),
    (b"", False),  # Go: empty is text/plain
    (b"\xef\xbb\xbf\x00\x01", False), (b"\xff\xfe<\x00", False), (b"\xfe\xff\x00<", False),  # byte order marks
    (b"\t\r\n\x0c\x1b text", False),  # bytes Go's text sniffer allows
    (b"x" * 512 + b"\x00", False),  # beyond the 512 bytes Go reads
    (b"x" * 511 + b"\x00", True),
])
def test_binary_head_sniffs_as_go_does(tmp_path, head, binary):
    (tmp_path / "tokenizer.model").write_bytes(head)
    assert binary_head(tmp_path / "tokenizer.model", tmp_path) is binary


def test_a_tokenizer_model_that_cannot_be_read_is_not_sent(tmp_path):
    """Go's glob fails on a folder or a FIFO named tokenizer.model (reading it errs), and filesForModel drops the
    error: not sent, as for a text file. A link out of the repository is not opened: taken as sent."""
    (tmp_path / "tokenizer.model").mkdir()
    assert binary_head(tmp_path / "tokenizer.model", tmp_path) is False
    os.mkfifo(tmp_path / "fifo")
    assert binary_head(tmp_path / "fifo", tmp_path) is False  # returns at once: opened without blocking
    outside = tmp_path.parent / f"{tmp_path.name}-outside.model"
    outside.write_bytes(b"IQ== 0\n")
    (tmp_path / "linked").symlink_to(outside)
    assert binary_head(tmp_path / "linked", tmp_path) is True


def test_ollama_converts_the_classes_it_lists_with_its_own_converter(tmp_path):
    """A class convert.go lists keeps Ollama's own converter: the eos_token matched to the last added_tokens entry,
    config.json never read (llama.cpp's converter falls back to config.json's eos_token_id)."""
    folder = _converter_folder(tmp_path, "Qwen2ForCausalLM", {"<|endoftext|>": 151643, "<|turn_end|>": 151700},
                               None, {"eos_token_id": 151700})  # <|turn_end|>: in no end-of-generation text list
    model = model_of(folder)
    assert model.runtime_stops["llama.cpp"].ids == (151643, 151700)
    stop = model.runtime_stops["ollama"]
    assert stop.ids == (151643,)
    assert stop.why.startswith("GGUF eos unknown (tokenizer_config.json names no eos_token, which the converter "
                               "reads)"), stop.why
    write_json(folder / "config.json", {"architectures": ["Qwen3ForCausalLM"], "eos_token_id": 151700})
    stop = model_of(folder).runtime_stops["ollama"]
    assert stop.ids == (151643, 151700)
    assert stop.why.startswith("`ollama create` cannot convert Qwen3ForCausalLM (convert.go: unsupported "
                               "architecture); from the GGUF llama.cpp's convert_hf_to_gguf.py writes: GGUF eos 151700 "
                               "(from config.json eos_token_id)"), stop.why


GLM_FLASH = {**GLM, "<|system|>": 151335, "<|assistant|>": 151337}
GLM_FLASH_EOS = {"eos_token_id": [151329, 151336, 151338]}  # GLM-4.7-Flash: <|endoftext|>, <|user|>, <|observation|>


def test_ollama_stops_glm_4_7_flash_on_the_eos_lists_user_token(tmp_path):
    """GLM-4.7-Flash ends a turn with <|user|>, which is no end-of-generation text and not its eos_token; Ollama's
    converter for Glm4MoeLiteForCausalLM (convert_glm4moelite.go setGLM4MoeLiteExtraEOGFromEOSIDs, fb30760996)
    writes generation_config.json's second and third eos ids as the GGUF's eot and eom, and llama.cpp stops on
    both. eos-guard read only the eos_token, and said Ollama runs on: a false alarm."""
    from eos_guard.runtimes import ollama

    folder = _converter_folder(tmp_path, "Glm4MoeLiteForCausalLM", GLM_FLASH, "<|endoftext|>", {}, GLM_FLASH_EOS)
    tc = json.loads((folder / "tokenizer_config.json").read_text())
    tc["chat_template"] = ("[gMASK]<sop>{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{% endfor %}"
                           "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
    write_json(folder / "tokenizer_config.json", tc)
    model = model_of(folder)
    assert model.terminator.token == "<|user|>"
    stop = model.runtime_stops["ollama"]
    assert {151329, 151336, 151338} <= set(stop.ids) and stops(model, stop) is True
    assert stop.why.startswith("GGUF eos 151329 + eot 151336 (from tokenizer_config.json eos_token; Ollama's "
                               "converter for Glm4MoeLiteForCausalLM sets eot 151336, eom 151338)"), stop.why
    assert "Glm4MoeLiteForCausalLM" in ollama.ARCHITECTURE_OVERRIDES
    # the same eos list means nothing to a class that does not read it: llama.cpp ignores tokenizer.ggml.eos_token_ids
    write_json(folder / "config.json", {"architectures": ["Qwen2ForCausalLM"]})
    model = model_of(folder)
    assert 151336 not in model.runtime_stops["ollama"].ids and stops(model, model.runtime_stops["ollama"]) is False


# architecture, tokens, tokenizer eos, generation_config.json -> the ids `ollama create` writes (fb30760996: the
# KV of convert_gemma.go, convert_gemma2.go, convert_gptoss.go, convert_glm4moelite.go, convert_glmocr.go)
OLLAMA_OVERRIDES = [
    pytest.param("Glm4MoeLiteForCausalLM", GLM_FLASH, "<|endoftext|>", GLM_FLASH_EOS,
                 {"eos": 151329, "eot": 151336, "eom": 151338}, id="glm-4.7-flash"),
    pytest.param("Glm4MoeLiteForCausalLM", GLM_FLASH, "<|endoftext|>", {"eos_token_id": [151329, 151336]},
                 {"eos": 151329, "eot": 151336}, id="glm-4.7-flash-two-eos-ids"),
    # parseTokenizer keeps the list only on the eos it found, and only what Go decodes as []int32
    pytest.param("Glm4MoeLiteForCausalLM", GLM_FLASH, None, GLM_FLASH_EOS, {}, id="glm-4.7-flash-no-eos-token"),
    pytest.param("Glm4MoeLiteForCausalLM", GLM_FLASH, "<|endoftext|>", {"eos_token_id": [151329, 151336.0]},
                 {"eos": 151329}, id="glm-4.7-flash-eos-list-with-a-float"),
    pytest.param("Glm4MoeLiteForCausalLM", GLM_FLASH, "<|endoftext|>", {"eos_token_id": [151329, -1, 151338]},
                 {"eos": 151329, "eom": 151338}, id="glm-4.7-flash-negative-eot"),
    pytest.param("GlmOcrForConditionalGeneration", GLM, "<|endoftext|>", None, {"eos": 151329, "eot": 151336},
                 id="glm-ocr"),
    # Gemma's eot is id 107 whatever its text (<end_of_turn> in Gemma's vocabulary)
    pytest.param("GemmaForCausalLM", {"<eos>": 1, "<turn_close>": 107}, "<eos>", None, {"eos": 1, "eot": 107},
                 id="gemma-1"),
    pytest.param("Gemma2ForCausalLM", {"<eos>": 1, "<turn_close>": 107}, None, None, {"eot": 107},
                 id="gemma-2-no-eos-token"),
    pytest.param("GptOssForCausalLM", {"<|endoftext|>": 199999, "<|return|>": 200002}, "<|return|>", None,
                 {"eos": 199999}, id="gpt-oss"),
]


@pytest.mark.parametrize("architecture, tokens, eos, generation, expected", OLLAMA_OVERRIDES)
def test_ollama_converter_classes_set_their_own_special_ids(tmp_path, architecture, tokens, eos, generation,
                                                            expected):
    """The class convert.go picks writes some ids itself, over (or beside) the eos_token parseTokenizer found."""
    from eos_guard.runtimes.ollama import gguf_special_ids

    model = model_of(_converter_folder(tmp_path, architecture, tokens, eos, None, generation))
    assert gguf_special_ids(model)[0] == expected
    assert set(expected.values()) <= set(model.runtime_stops["ollama"].ids)


@pytest.mark.parametrize("base, check", [
    pytest.param("Qwen/Qwen2.5-3B", "eos-guard hf://Qwen/Qwen2.5-3B", id="hub-id"),
    pytest.param("./qwen-base", "eos-guard ./qwen-base", id="relative-path"),
    pytest.param("/content/drive/base", "eos-guard /content/drive/base", id="absolute-path"),
    pytest.param("models/qwen/base", "eos-guard models/qwen/base", id="deeper-path"),
    # a bare name was suggested as `eos-guard DeepSeek-R1-Distill-Qwen-7B`, a folder that is rarely there
    pytest.param("DeepSeek-R1-Distill-Qwen-7B", "'DeepSeek-R1-Distill-Qwen-7B' is not a Hub repository id (org/name), "
                 "so run eos-guard on the base model's folder, or on hf://ORG/NAME for its Hub repository",
                 id="bare-name"),
    pytest.param("", "run eos-guard on the base model's folder, or on hf://ORG/NAME for its Hub repository",
                 id="not-named"),
])
def test_eos027_says_how_to_check_the_base_model(tmp_path, run, base, check):
    folder = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "adapter")
    for name in ("config.json", "generation_config.json"):
        (folder / name).unlink()
    write_json(folder / "adapter_config.json", {"base_model_name_or_path": base, "peft_type": "LORA"})
    message = json.loads(run("--format", "json", "--no-cache", str(folder))[1])["findings"][0]["message"]
    assert message.endswith(f"(check it: {check})"), message


def test_a_peft_adapter_folder_takes_its_stop_ids_from_the_base_model(tmp_path, run):
    """adapter_config.json with the tokenizer files and no config.json: AutoPeftModelForCausalLM loads the base model
    named there, whose configs give generate() its stop ids. eos-guard said transformers does not stop ("none") and,
    with a tokenizer eos other than the terminator, EOS017 ("listed nowhere"), on a correct Gemma 2 it adapter."""
    folder = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "adapter")
    for name in ("config.json", "generation_config.json"):
        (folder / name).unlink()
    write_json(folder / "adapter_config.json", {"base_model_name_or_path": "Qwen/Qwen2.5-3B", "peft_type": "LORA"})
    code, out, _ = run("--format", "json", "--no-cache", str(folder))
    findings = json.loads(out)["findings"]
    assert code == 0 and [(f["code"], f["severity"]) for f in findings] == [("EOS027", "info")], out
    # the one finding says where the stop ids are and which id they must list (the template's <|im_end|>)
    assert (findings[0]["path"], findings[0]["line"]) == ("adapter/adapter_config.json", 2)
    assert "'Qwen/Qwen2.5-3B'" in findings[0]["message"] and "151645 of '<|im_end|>'" in findings[0]["message"]
    assert "eos-guard hf://Qwen/Qwen2.5-3B" in findings[0]["message"]
    code, out, _ = run("explain", "--format", "json", "--no-cache", str(folder))
    rows = {row["runtime"]: row for row in json.loads(out)["models"][0]["runtimes"]}
    assert rows["transformers"]["stops"] is None and "Qwen/Qwen2.5-3B" in rows["transformers"]["why"]
    assert all(row["stops"] is not False for row in rows.values()), rows
    write_json(folder / "adapter_config.json", {"base_model_name_or_path": "./qwen-base", "peft_type": "LORA"})
    message = json.loads(run("--format", "json", "--no-cache", str(folder))[1])["findings"][0]["message"]
    assert "'./qwen-base'" in message and "(check it: eos-guard ./qwen-base)" in message  # a local folder
    (folder / "adapter_config.json").write_text("{not json", encoding="utf-8")  # PEFT's file: no error of ours
    code, out, _ = run("--format", "concise", "--no-cache", str(folder))
    assert code == 0 and "adapter_config.json:1:1: EOS027 info: a PEFT adapter: generation takes its stop ids " \
        "from its base model, " in out, out
    assert out.splitlines()[0].endswith("(check it: run eos-guard on the base model's folder, or on hf://ORG/NAME "
                                        "for its Hub repository) [stop-ids-in-base-model]")
    # with config.json or generation_config.json the folder's own stop ids are checked: no EOS027
    write_json(folder / "generation_config.json", {"eos_token_id": 151645})
    assert "EOS027" not in run("--format", "concise", "--no-cache", str(folder))[1]


@pytest.mark.parametrize("weights, adapter", [(("adapter_model.safetensors",), True), (("adapter_model.bin",), True),
                                              (("adapter_model.safetensors", "model.safetensors"), False),
                                              (("adapter_model.safetensors", "model-00001-of-00002.safetensors"),
                                               False),
                                              # torchtune's LoRA run (before 0.5): merged weights beside the adapter
                                              (("adapter_model.bin", "adapter_0.pt", "hf_model_0001_0.pt"), False),
                                              ((), False)])
def test_an_adapter_s_folder_with_its_base_model_s_config_json_is_an_adapter(tmp_path, run, weights, adapter):
    """helper-169: axolotl saves its base model's config.json beside every adapter (train.py save_initial_configs:
    model.config.save_pretrained(output_dir)), and eos-guard checked that copy as the folder's stop ids: EOS001 on
    a correct Llama 3 adapter (config.json 128001; the base's generation_config.json, which PEFT's
    AutoPeftModelForCausalLM reads, stops on 128009 too). Beside an adapter's weights and no weights of a whole
    model, config.json and generation_config.json are read by no loader: EOS027, as without them. helper-174:
    torchtune's FullModelHFCheckpointer saved a LoRA run's merged weights as hf_model_0001_0.pt beside the adapter's
    (before 0.5, and since without safe_serialization): a whole model, whose configs are checked."""
    folder = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "adapter")
    write_json(folder / "adapter_config.json", {"base_model_name_or_path": "Qwen/Qwen2.5-3B", "peft_type": "LORA"})
    for name in weights:
        (folder / name).write_bytes(b"")
    code, out, _ = run("--format", "concise", "--no-cache", str(folder))
    codes = [line.split(": ")[1].split()[0] for line in out.splitlines() if ": EOS" in line]
    assert (codes == ["EOS027"]) is adapter and ("EOS001" in codes) is not adapter, out
    if adapter:
        assert "not from the config.json and generation_config.json beside its weights here, which nothing " \
               "generates with (PEFT loads the base model's)" in out, out
        why = json.loads(run("explain", "--format", "json", "--no-cache", str(folder))[1])["models"][0]["runtimes"]
        assert all(row["why"].endswith("not the config.json and generation_config.json beside its weights here")
                   for row in why), why
        before = {path.name: path.read_bytes() for path in folder.iterdir()}
        run("--fix", "--no-cache", str(folder))  # nothing to write: the ids are the base model's
        assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


def test_eos027_reads_a_base_model_folder_named_by_an_absolute_path(tmp_path, run):
    """SFTTrainer(peft_config=LoraConfig(...)) on a Qwen2.5 base loaded from a local folder saves an adapter whose
    adapter_config.json names that folder; PEFT does not save the generation config the Trainer aligned in memory, so
    AutoPeftModelForCausalLM stops on the base's 151643 and runs past <|im_end|> (seen with TRL 1.16 and PEFT 0.21).
    eos-guard said "passes (1 info)": with an absolute path to a folder of the repository whose configs lack the id,
    it is an error."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # the base is in the adapter's repository
    base = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "base")
    adapter = shutil.copytree(base, tmp_path / "adapter")
    for name in ("config.json", "generation_config.json"):
        (adapter / name).unlink()
    write_json(adapter / "adapter_config.json", {"base_model_name_or_path": str(base), "peft_type": "LORA"})
    code, out, _ = run("--format", "json", "--no-cache", str(adapter))
    findings = json.loads(out)["findings"]
    assert code == 1 and [(f["code"], f["severity"]) for f in findings] == [("EOS027", "error")], out
    assert f"{base / 'generation_config.json'} eos_token_id [151643] does not list the id 151645 of '<|im_end|>'" \
        in findings[0]["message"] and f"eos-guard --fix {base}" in findings[0]["message"]
    assert run("--fix", "--no-cache", str(base))[0] == 1  # add-only: generation_config.json gains 151645
    # the base was read and lists the id: no finding (helper-144: the info asked to check the base eos-guard had read)
    code, out, _ = run("--format", "json", "--no-cache", str(adapter))
    assert code == 0 and json.loads(out)["findings"] == [], out
    # without generation_config.json, config.json's eos gives the stop ids; a relative path is not followed (it
    # names a folder relative to where the adapter is loaded)
    (base / "generation_config.json").unlink()
    assert "EOS027 error" in run("--format", "concise", "--no-cache", str(adapter))[1]
    write_json(adapter / "adapter_config.json", {"base_model_name_or_path": "base", "peft_type": "LORA"})
    code, out, _ = run("--format", "concise", "--no-cache", str(adapter))
    assert code == 0 and "EOS027 info" in out, out


def test_eos027_reads_no_base_model_folder_outside_the_repository(tmp_path, run, monkeypatch):
    """adapter_config.json may come from an untrusted pull request: a base_model_name_or_path naming a folder
    outside the adapter's repository (its git work tree, else the adapter folder itself) is not read, whatever it
    holds (no file-existence oracle, as for links out of the repository); the finding stays an info that says how
    to check the base."""
    base = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "outside" / "base")
    repository = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repository)], check=True)
    adapter = shutil.copytree(base, repository / "adapter")
    for name in ("config.json", "generation_config.json"):
        (adapter / name).unlink()
    write_json(adapter / "adapter_config.json", {"base_model_name_or_path": str(base), "peft_type": "LORA"})
    opened: list[str] = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *a, **k: opened.append(os.fspath(path)) or real_open(path, *a, **k))
    code, out, _ = run("--format", "concise", "--no-cache", str(adapter))
    assert code == 0 and "EOS027 info" in out and "error" not in out, out
    assert not [path for path in opened if path.startswith(str(tmp_path / "outside"))], opened


def test_a_tokenizer_only_folder_is_not_said_to_make_generate_run_on(tmp_path, run):
    """Tokenizer files without config.json or generation_config.json (a tokenizer saved on its own, found in real
    repositories): no model loads from the folder, so explain said transformers does "NO" stop and told the user to
    add the id to config.json, which it does not have, while the check passed. transformers is "unknown" now, and
    no runtime is said not to stop."""
    folder = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "tok")
    for name in ("config.json", "generation_config.json"):
        (folder / name).unlink()
    code, out, _ = run("explain", "--format", "json", "--no-cache", str(folder))
    rows = {row["runtime"]: row for row in json.loads(out)["models"][0]["runtimes"]}
    assert code == 0 and rows["transformers"]["stops"] is None, rows["transformers"]
    assert not rows["transformers"]["fix"].startswith("add the id to config.json")
    assert all(row["stops"] is not False for row in rows.values()), rows
    assert run("--format", "concise", "--no-cache", str(folder))[0] == 0


def test_heads_eos_guard_takes_for_non_generating_never_generate_in_transformers():
    """model_files.NO_GENERATE: no class of the installed transformers whose name ends with one of these suffixes
    lists GenerationMixin among its bases (read from the modeling sources: without torch the classes cannot be
    imported), and each suffix names real classes."""
    import ast

    from eos_guard.model_files import NO_GENERATE

    transformers = pytest.importorskip("transformers")
    models = Path(transformers.__file__).parent / "models"
    seen = dict.fromkeys(NO_GENERATE, 0)
    generating = []
    for source in models.glob("*/modeling_*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith(NO_GENERATE):
                seen[next(s for s in NO_GENERATE if node.name.endswith(s))] += 1
                bases = {ast.unparse(base) for base in node.bases}
                if any("GenerationMixin" in base or base.endswith(("ForCausalLM", "LMHeadModel")) for base in bases):
                    generating.append(node.name)
    assert generating == []
    assert all(seen.values()), seen


def test_a_classifier_has_no_stop_ids_to_check(tmp_path, run):
    """A BERT classifier's folder (real repositories commit them next to chat models): no eos_token_id, and no
    generate(); EOS004 said generate() never stops, failing a run over the repository."""
    folder = shutil.copytree(FIXTURES / "llama31-8b-base-no-template", tmp_path / "clf")
    write_json(folder / "config.json", {"architectures": ["BertForSequenceClassification"], "model_type": "bert",
                                        "vocab_size": 128256})
    (folder / "generation_config.json").unlink(missing_ok=True)
    assert run("--format", "concise", "--no-cache", str(folder)) == \
        (0, "All checks passed (1 model folder; 1 cannot generate text, not checked for stopping).\n", "")
    write_json(folder / "config.json", {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                        "vocab_size": 128256})
    code, out, _ = run("--format", "concise", "--no-cache", str(folder))
    assert code == 1 and " EOS004 error: " in out


def test_an_encoder_saved_without_architectures_has_no_stop_ids_to_check(tmp_path, run):
    """helper-125: microsoft/deberta-v3-base's config.json names no ``architectures``, only ``model_type``
    "deberta-v2", and its tokenizer class defaults eos to '[SEP]': EOS004 said generate() never stops. transformers
    has no class of that type that can generate (data/model_classes.json ``types_without_generate``), so nothing
    generates with the folder. A type whose one is BERT's BertLMHeadModel is checked only with is_decoder."""
    transformers = pytest.importorskip("transformers")
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    folder = tmp_path / "deberta-v3-base"
    write_json(folder / "config.json", {"model_type": "deberta-v2", "hidden_size": 768, "vocab_size": 128100,
                                        "pad_token_id": 0})
    write_json(folder / "tokenizer_config.json", {"do_lower_case": False, "vocab_type": "spm"})
    assert "deberta-v2" not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and transformers.AutoConfig.from_pretrained(
        str(folder)).architectures is None
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert code == 0 and "EOS004" not in out and "1 cannot generate text, not checked for stopping" in out, out
    code, out, _ = run("explain", "--no-cache", str(folder))
    assert "no class of model type 'deberta-v2' can generate in transformers (config.json names no architectures), " \
        "and a check runs no rule about stopping" in out, out
    for names in ([], "DebertaV2ForMaskedLM"):  # what transformers reads as no list of classes: the same
        write_json(folder / "config.json", {"model_type": "deberta-v2", "architectures": names, "vocab_size": 128100})
        assert "1 cannot generate text, not checked for stopping" in run(
            "--format", "concise", "--no-cache", "--baseline", "none", str(folder))[1]
    # remote code that generates, named for AutoModel (as ChatGLM's is): the rules run
    write_json(folder / "config.json", {"model_type": "deberta-v2", "vocab_size": 128100,
                                        "auto_map": {"AutoModel": "modeling_x.XForCausalLM"}})
    assert " EOS004 " in run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))[1]
    # BertLMHeadModel generates, but only as a decoder (is_decoder; helper-150): an encoder's config is not checked
    assert "bert" in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    write_json(folder / "config.json", {"model_type": "bert", "vocab_size": 30522})
    assert "1 cannot generate text, not checked for stopping" in run(
        "--format", "concise", "--no-cache", "--baseline", "none", str(folder))[1]
    write_json(folder / "config.json", {"model_type": "bert", "vocab_size": 30522, "is_decoder": True})
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert " EOS004 " in out, out


def test_remote_code_for_a_masked_lm_head_is_not_a_generating_class(tmp_path, run):
    """helper-125: nomic-ai/nomic-bert-2048 (nomic's conversion script, contrastors) names ``NomicBertForPreTraining``
    in ``architectures`` and under ``auto_map``'s ``AutoModelForMaskedLM``, with classification heads beside it: no
    class that generates, but EOS004 said generate() never stops. A remote class under ``AutoModelForCausalLM`` still
    makes the folder a generating one."""
    folder = tmp_path / "nomic-bert-2048"
    remote = {"AutoConfig": "configuration_hf_nomic_bert.NomicBertConfig",
              "AutoModelForMaskedLM": "modeling_hf_nomic_bert.NomicBertForPreTraining",
              "AutoModelForSequenceClassification": "modeling_hf_nomic_bert.NomicBertForSequenceClassification",
              "AutoModelForMultipleChoice": "modeling_hf_nomic_bert.NomicBertForMultipleChoice",
              "AutoModelForQuestionAnswering": "modeling_hf_nomic_bert.NomicBertForQuestionAnswering",
              "AutoModelForTokenClassification": "modeling_hf_nomic_bert.NomicBertForTokenClassification"}
    config = {"architectures": ["NomicBertForPreTraining"], "auto_map": remote, "model_type": "nomic_bert",
              "vocab_size": 30528}
    write_json(folder / "config.json", config)
    write_json(folder / "tokenizer_config.json", {"tokenizer_class": "BertTokenizer", "sep_token": "[SEP]",
                                                  "cls_token": "[CLS]", "model_max_length": 2048})
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert code == 0 and "1 cannot generate text, not checked for stopping" in out, out
    write_json(folder / "config.json", {**config, "auto_map": {
        **remote, "AutoModelForCausalLM": "modeling_hf_nomic_bert.NomicBertForGeneration"}})
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert "cannot generate" not in out and " EOS004 " in out, out


def test_remote_code_named_only_for_heads_that_cannot_generate_is_no_generating_model(tmp_path, run):
    """helper-127: briaai/RMBG-1.4's config.json names its remote class BriaRMBG in ``architectures`` and under
    ``auto_map``'s ``AutoModelForImageSegmentation`` only: an image segmentation model, which got EOS004."""
    folder = tmp_path / "rmbg-1.4"
    config = {"architectures": ["BriaRMBG"], "auto_map": {"AutoConfig": "MyConfig.RMBGConfig",
                                                          "AutoModelForImageSegmentation": "briarmbg.BriaRMBG"},
              "model_type": "SegformerForSemanticSegmentation", "in_ch": 3, "out_ch": 1}
    write_json(folder / "config.json", config)
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert code == 0 and "1 cannot generate text, not checked for stopping" in out, out
    config["auto_map"]["AutoModelForCausalLM"] = "briarmbg.BriaRMBG"  # named for a generating Auto class too
    write_json(folder / "config.json", config)
    assert " EOS004 " in run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))[1]


def test_the_auto_classes_taken_for_heads_load_no_class_that_generates():
    """model_files.NO_GENERATE_AUTO_CLASSES: each is an Auto class of the installed transformers whose mapping holds
    no class that can run generate() (read from the sources: without torch the classes cannot be imported);
    AutoModelForMaskedLM and AutoModelForPreTraining are not among them (they load BART's generating class)."""
    import ast

    transformers = pytest.importorskip("transformers")
    from eos_guard.model_files import NO_GENERATE_AUTO_CLASSES

    model_classes = load_script("model_classes")
    package = Path(transformers.__file__).parent
    bases, own_generate = model_classes.class_bases(package)
    can_generate = model_classes.descendants(bases, {"GenerationMixin", *own_generate})
    modeling_auto = importlib.import_module("transformers.models.auto.modeling_auto")  # the module, not its stand-in

    source = (package / "models" / "auto" / "modeling_auto.py").read_text(encoding="utf-8")
    names = {name: value for name, value in vars(modeling_auto).items() if name.endswith("_MAPPING_NAMES")}
    assert "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES" in names
    mappings = {}  # Auto class -> the name of its mapping's names, read from the source
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("AutoModel"):
            for item in node.body:
                if isinstance(item, ast.Assign) and getattr(item.targets[0], "id", "") == "_model_mapping":
                    mappings[node.name] = ast.unparse(item.value) + "_NAMES"
    generating = {}
    for auto_class, mapping in mappings.items():
        classes = set()
        for value in names.get(mapping, {}).values():
            classes.update(value if isinstance(value, (list, tuple)) else [value])
        generating[auto_class] = bool(classes & can_generate)
    if transformers.__version__.startswith("5.25."):  # older releases lack some (5.20: AutoModelForDecision)
        assert NO_GENERATE_AUTO_CLASSES <= set(generating), NO_GENERATE_AUTO_CLASSES - set(generating)
    assert not [name for name in NO_GENERATE_AUTO_CLASSES if generating.get(name)]
    assert generating["AutoModelForMaskedLM"] and generating["AutoModelForPreTraining"]


@pytest.mark.parametrize("case", ["remote-tokenizer", "sep-token", "tokenizer-config-only", "end-text-in-vocabulary"])
def test_a_folder_that_shows_an_end_token_keeps_the_eos004_error(tmp_path, run, case):
    """helper-127: EOS004 is a warning only for a folder that shows a model without an end token. Qwen-1's remote
    QWenTokenizer defaults eos to '<|endoftext|>' in its own code; a bert2bert model ends its labels with '[SEP]';
    a merge with tokenizer_config.json alone shows no vocabulary; a vocabulary holding '<|endoftext|>' (GPT-NeoX)
    shows a turn end, which the finding names."""
    folder = tmp_path / case
    write_json(folder / "config.json", {"architectures": ["LlamaForCausalLM"], "model_type": "llama"})
    write_json(folder / "generation_config.json", {"bos_token_id": 1})
    vocab = {"<unk>": 0, **{f"w{i}": i for i in range(1, 40)}}
    added = []
    if case == "remote-tokenizer":
        write_json(folder / "tokenizer_config.json", {"tokenizer_class": "QWenTokenizer", "auto_map": {
            "AutoTokenizer": ["tokenization_qwen.QWenTokenizer", None]}})
    elif case == "sep-token":
        write_json(folder / "tokenizer_config.json", {"sep_token": "[SEP]", "cls_token": "[CLS]"})
        added = [{"id": 40, "content": "[SEP]"}, {"id": 41, "content": "[CLS]"}]
    elif case == "tokenizer-config-only":
        write_json(folder / "tokenizer_config.json", {"model_max_length": 8192})
    else:
        write_json(folder / "tokenizer_config.json", {"model_max_length": 2048})
        added = [{"id": 40, "content": "<|endoftext|>"}]
    if case != "tokenizer-config-only":
        write_json(folder / "tokenizer.json", {
            "added_tokens": [{**token, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
                              "special": True} for token in added],
            "model": {"type": "BPE", "vocab": {**vocab, **{t["content"]: t["id"] for t in added}}, "merges": []}})
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert code == 1 and "EOS004 error" in out, out
    if case == "end-text-in-vocabulary":
        assert "; the vocabulary holds '<|endoftext|>' (40): if it ends answers, list it" in out, out


def test_a_model_without_an_end_token_is_a_warning(tmp_path, run):
    """helper-125: openai-community/openai-gpt (GPT-1) has no end token: no eos in its configs, and its tokenizer
    (OpenAIGPTTokenizer) has none. EOS004 was an error no file could answer; it is a warning that says so. A folder
    whose tokenizer names an eos stays an error."""
    transformers = pytest.importorskip("transformers")
    folder = tmp_path / "openai-gpt"
    write_json(folder / "config.json", {"architectures": ["OpenAIGPTLMHeadModel"], "model_type": "openai-gpt",
                                        "n_positions": 512, "vocab_size": 40478})
    write_json(folder / "generation_config.json", {"_from_model_config": True, "transformers_version": "4.27.0.dev0"})
    write_json(folder / "tokenizer_config.json", {"model_max_length": 512})
    vocab = {"<unk>": 0, **{f"w{i}</w>": i for i in range(1, 40)}}
    write_json(folder / "vocab.json", vocab)
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    loaded = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert loaded.eos_token is None and transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id is None
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert code == 0 and "EOS004 warning: generation_config.json has no eos_token_id, so generate() never stops on a " \
        "token (config.json's eos_token_id is not used when this file exists); no file names a token that ends an " \
        "answer either (no chat template terminator, no tokenizer eos), as for a model trained without an end token " \
        "(GPT-1); if it has one, list its id" in out, out
    write_json(folder / "tokenizer_config.json", {"model_max_length": 512, "eos_token": "<unk>"})
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert code == 1 and "EOS004 error" in out, out
    merge = tmp_path / "merge-without-tokenizer"  # nothing tells what the model ends with: still an error
    write_json(merge / "config.json", {"architectures": ["LlamaForCausalLM"], "model_type": "llama"})
    write_json(merge / "generation_config.json", {"bos_token_id": 1})
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(merge))
    assert code == 1 and "EOS004 error" in out, out


def test_the_bare_model_table_is_the_installed_transformers_own():
    """data/model_classes.json ``headless`` is what scripts/model_classes.py computes from the installed
    transformers: the model classes of its sources with neither GenerationMixin nor a generate() of their own among
    their bases. Spot checks keep the computation honest: BERT's and Mistral's bare models, T5's encoder (a FLUX.1
    or SD3 pipeline's text_encoder_2/3) and CLIP's projection towers, which no Auto class loads (SDXL's
    text_encoder_2), cannot generate; Bark's, SeamlessM4T's and RAG's can, and no ...ForCausalLM or
    ...ForConditionalGeneration class of a chat model is listed. (With torch, each of the 1,572 classes the table
    lists from transformers 5.24 was imported: can_generate() is False and it has no generate.)"""
    transformers = pytest.importorskip("transformers")
    shipped = json.loads((ROOT / "eos_guard" / "data" / "model_classes.json").read_text(encoding="utf-8"))
    installed = ".".join(transformers.__version__.split(".")[:2])
    # 5.24 (what CI installs while 5.25's kernels requirement is not on its index) lacks only the bare models of
    # the model types 5.25 added
    added_since = {"5.24": {"ErgoModel", "Kolibri1_1Model", "LlavaOnevision15Model", "LlavaOnevision15VisionModel",
                            "MiniCPM5MoeModel", "Ovis2_5Model", "Ovis2_5VisionModel", "PI05Model",
                            "PI05ActionExpertModel"}}
    if installed != ".".join(shipped["transformers"].split(".")[:2]) and installed not in added_since:
        pytest.skip(f"the table was written from transformers {shipped['transformers']}; {transformers.__version__} "
                    "has other model classes (Python 3.10 gets 5.20)")
    model_classes = load_script("model_classes")
    computed = model_classes.tables()
    assert sorted(set(shipped["headless"]) - added_since.get(installed, set())) == computed["headless"]
    # the model types none of whose classes can generate (an older release lacks some of the newer types)
    assert set(computed["types_without_generate"]) <= set(shipped["types_without_generate"])
    if installed == ".".join(shipped["transformers"].split(".")[:2]):
        assert computed["types_without_generate"] == shipped["types_without_generate"]
    assert {"deberta-v2", "modernbert", "clip", "nomic_bert", "wav2vec2"} <= set(shipped["types_without_generate"])
    assert not {"bert", "llama", "blip", "t5", "whisper", "musicgen", "encoder-decoder"} & \
        set(shipped["types_without_generate"])
    # the encoders whose one generating class is a causal-LM head that needs is_decoder (helper-150)
    assert set(computed["types_generating_only_as_decoders"]) <= set(shipped["types_generating_only_as_decoders"])
    assert {"bert", "roberta", "xlm-roberta", "electra", "ernie"} <= set(shipped["types_generating_only_as_decoders"])
    assert not {"llama", "gpt2", "t5", "bart", "qwen2"} & set(shipped["types_generating_only_as_decoders"])
    # the model types AutoProcessor builds a processor for, the one reader of chat_template.json (helper-179)
    assert set(computed["types_with_processor"]) <= set(shipped["types_with_processor"])
    if installed == ".".join(shipped["transformers"].split(".")[:2]):
        assert computed["types_with_processor"] == shipped["types_with_processor"]
    assert {"qwen2_vl", "qwen2_5_vl", "gemma3", "llama4", "mistral3", "llava"} <= set(shipped["types_with_processor"])
    assert not {"llama", "qwen2", "mistral", "gemma2", "phi3"} & set(shipped["types_with_processor"])
    headless = set(shipped["headless"])
    assert {"BertModel", "MistralModel", "Qwen2Model", "XLMRobertaModel", "T5EncoderModel", "UMT5EncoderModel",
            "CLIPTextModelWithProjection", "CLIPVisionModelWithProjection", "SiglipTextModel", "DacModel"} <= headless
    # generate() of their own without GenerationMixin: RAG writes text, SpeechT5 a spectrogram
    assert not {"BarkModel", "SeamlessM4TModel", "ChatGLMModel", "LlamaForCausalLM", "RagSequenceForGeneration",
                "SpeechT5ForTextToSpeech"} & headless
    assert not [name for name in headless if name.endswith(("ForCausalLM", "LMHeadModel"))]
    from eos_guard.model_files import GENERATING  # names the check passes without reading the table
    assert not [name for name in headless if name.endswith(GENERATING)]


def test_the_vllm_pooling_table_adds_only_what_transformers_classes_do_not_cover():
    """data/vllm_registry.json (scripts/vllm_registry.py, from vLLM 0.34.0's registry.py, which is not installed here;
    0.33.0's gives the same names):
    the architectures vLLM runs only as pooling models, less the heads and bare models eos-guard knows from
    transformers, and never a name that ends as a generating class does."""
    from eos_guard.model_files import GENERATING, NO_GENERATE, _headless_classes

    shipped = json.loads((ROOT / "eos_guard" / "data" / "vllm_registry.json").read_text(encoding="utf-8"))
    pooling = set(shipped["pooling"])
    assert shipped["vllm"] == "0.34.0" and shipped["pooling"] == sorted(pooling)
    assert {"HF_ColBERT", "Qwen2ForRewardModel", "InternLM2ForRewardModel", "GteNewModel"} <= pooling
    assert not pooling & _headless_classes()
    assert not [name for name in pooling if name.endswith((*GENERATING, *NO_GENERATE))]


def test_the_vllm_pooling_script_keeps_pooling_only_architectures():
    """scripts/vllm_registry.py on a registry of vLLM's shape: a name in a pooling table and in no generating one is
    kept; one in both (vLLM registers LlamaForCausalLM for embeddings too), a head, a bare model transformers has,
    and a ``**`` entry are not; a registry without one of the tables is refused."""
    vllm_registry = load_script("vllm_registry")
    tables = {name: "{}" for name in (*vllm_registry.POOLING, *vllm_registry.GENERATING_TABLES)}
    tables["_EMBEDDING_MODELS"] = ('{"BertModel": ("bert", "B"), "Qwen2ForCausalLM": ("qwen2", "Q"), '
                                   '**{k: v for k, v in _TEXT_GENERATION_MODELS.items()}}')
    tables["_LATE_INTERACTION_MODELS"] = '{"HF_ColBERT": ("colbert", "ColBERTModel")}'
    tables["_SEQUENCE_CLASSIFICATION_MODELS"] = '{"BertForSequenceClassification": ("bert", "B")}'
    tables["_TEXT_GENERATION_MODELS"] = '{"Qwen2ForCausalLM": ("qwen2", "Q"), "FooForBar": ("foo", "F")}'
    source = "\n".join(f"{name} = {value}" for name, value in tables.items())
    assert vllm_registry.pooling_only(source) == ["HF_ColBERT"]
    with pytest.raises(SystemExit, match="_REWARD_MODELS"):
        vllm_registry.pooling_only(source.replace("_REWARD_MODELS", "_OTHER_MODELS"))


def test_the_tgi_model_type_script_reads_what_get_model_serves():
    """scripts/tgi_model_types.py on sources of TGI's and transformers' shape: ModelType members' types, the strings
    get_model compares model_type with, and the keys of transformers' causal-LM and seq2seq-LM tables; a source
    without one of them is refused."""
    tgi_model_types = load_script("tgi_model_types")
    tgi = ('class ModelType(enum.Enum):\n    LLAMA = {"type": "llama", "name": "Llama"}\n'
           'def get_model(model_id):\n    model_type = config_dict.get("model_type")\n'
           '    if model_type in ["RefinedWeb", FALCON]:\n        pass\n    if model_type == "phi-msft":\n        pass\n')
    assert tgi_model_types.named_by_tgi(tgi) == {"llama", "RefinedWeb", "phi-msft"}
    auto = ('MODEL_FOR_CAUSAL_LM_MAPPING_NAMES = OrderedDict([("qwen3", "Qwen3ForCausalLM")])\n'
            'MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES = OrderedDict([("t5", "T5ForConditionalGeneration")])\n'
            'MODEL_FOR_MASKED_LM_MAPPING_NAMES = OrderedDict([("bert", "BertForMaskedLM")])\n')
    assert tgi_model_types.transformers_mappings(auto) == {"qwen3", "t5"}
    with pytest.raises(SystemExit, match="MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES"):
        tgi_model_types.transformers_mappings(auto.replace("SEQ_TO_SEQ_CAUSAL_LM", "OTHER"))
    with pytest.raises(SystemExit, match="ModelType"):
        tgi_model_types.named_by_tgi("def get_model():\n    pass\n")


@pytest.mark.parametrize("model_type, served", [
    ("qwen3", True), ("llama4", True), ("olmo2", True), ("t5", True), ("llava_next", True), ("RefinedWeb", True),
    ("gpt_oss", False), ("glm4_moe", False), ("smollm3", False), ("gemma3n", False), ("llava", False)])
def test_the_shipped_tgi_model_types(model_type, served):
    """data/tgi_model_types.json (TGI db931fcf42 with transformers 4.51.0, which predates gpt-oss, GLM-4.5,
    SmolLM3 and Gemma 3n; LLaVA-1.5 has no causal-LM class and TGI names only LLaVA-NeXT)."""
    shipped = json.loads((ROOT / "eos_guard" / "data" / "tgi_model_types.json").read_text(encoding="utf-8"))
    assert (shipped["tgi"], shipped["transformers"]) == ("db931fcf42", "4.51.0")
    assert (model_type in shipped["model_types"]) is served


def test_the_sglang_table_script_reads_both_lists():
    sglang_multimodal = load_script("sglang_multimodal")
    source = ('multimodal_model_archs = ["A", "B"]\n'
              'class ModelConfig:\n    def __init__(self):\n        mm_disabled_models = ["B"]\n')
    assert sglang_multimodal.string_lists(source, ("multimodal_model_archs", "mm_disabled_models")) == {
        "multimodal_model_archs": ["A", "B"], "mm_disabled_models": ["B"]}
    with pytest.raises(SystemExit, match="mm_disabled_models"):
        sglang_multimodal.string_lists('multimodal_model_archs = ["A"]\n', ("multimodal_model_archs",
                                                                             "mm_disabled_models"))


def test_the_shipped_sglang_table():
    """data/sglang_multimodal.json, from SGLang 0.5.23's srt/configs/model_config.py (not installed here)."""
    table = json.loads((ROOT / "eos_guard" / "data" / "sglang_multimodal.json").read_text(encoding="utf-8"))
    assert table["sglang"] == "0.5.23"
    assert {"Qwen2VLForConditionalGeneration", "LlavaForConditionalGeneration"} <= set(table["multimodal"])
    assert set(table["disabled"]) == {"Gemma3ForConditionalGeneration", "Llama4ForConditionalGeneration",
                                      "Step3VLForConditionalGeneration", "InklingForConditionalGeneration"}


def test_tgi_cannot_load_a_model_type_it_does_not_serve(tmp_path, run):
    """TGI's get_model raises "Unsupported model type" for a model type it does not name and transformers 4.51.0
    has no class for: eos-guard said TGI does not stop on GLM-4.5's <|user|> (EOS016 with --runtime tgi). Its
    stop set is unknown now; remote code (auto_map) keeps TGI's tokenizer-eos rule."""
    folder = _converter_folder(tmp_path, "Glm4MoeForCausalLM", GLM, "<|endoftext|>", {"model_type": "glm4_moe"},
                               {"eos_token_id": [151329, 151336, 151338]})
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(folder / "tokenizer_config.json", {**config, "chat_template": "{% for m in messages %}<|{{ m.role }}|>"
                                                  "{{ m.content }}{% endfor %}<|user|>"})
    model = model_of(folder)
    stop = model.runtime_stops["tgi"]
    assert stop.ids == () and stops(model, stop) is None
    assert stop.why == ("TGI cannot load model type 'glm4_moe' (get_model: Unsupported model type; transformers "
                        "4.51.0, which its image installs, has no causal-LM or seq2seq-LM class for it)")
    code, out, _ = run("--format", "json", "--no-cache", "--runtime", "tgi", "--select", "EOS016", str(folder))
    assert code == 0 and json.loads(out)["findings"] == [], out
    write_json(folder / "config.json", {"architectures": ["Glm4MoeForCausalLM"], "model_type": "glm4_moe",
                                        "auto_map": {"AutoModelForCausalLM": "modeling_glm.GlmForCausalLM"}})
    stop = model_of(folder).runtime_stops["tgi"]
    assert stop.ids == (151329,), stop.why
    assert stop.why.startswith("tokenizer eos 151329 only (TGI serves model type 'glm4_moe', if at all, with its "
                               "transformers or non-flash backend, not with FlashCausalLM"), stop.why


def test_vllm_cannot_serve_an_encoder_decoder_it_has_no_implementation_of(tmp_path, run):
    """vLLM 0.34.0 (helper-151): an encoder-decoder model (config.json is_encoder_decoder) resolves to its
    Transformers-backend fallback and then stops the engine at start-up (scheduler.py: "Encoder-decoder models are
    expected to implement the multimodal interface"), unless the registry implements it (Whisper) or a plugin does
    (BART: vllm-project/bart-plugin). eos-guard said vLLM stops on T5; its stop set is unknown now, never a
    "does not stop"."""
    t5 = model_of(FIXTURES / "t5-encoder-decoder-no-template")
    stop = t5.runtime_stops["vllm"]
    assert stop.ids == () and stops(t5, stop) is None
    assert stop.why == ("vLLM 0.34.0 cannot serve the encoder-decoder T5ForConditionalGeneration (config.json "
                        "is_encoder_decoder: its scheduler refuses an encoder-decoder model it has no implementation "
                        "of, vllm/v1/core/sched/scheduler.py)")
    assert all(other.ids == () for other in stop.others)  # vLLM 0.33.0's registry and scheduler are the same here
    code, out, _ = run("--format", "json", "--no-cache", "--runtime", "vllm",
                       str(FIXTURES / "t5-encoder-decoder-no-template"))
    assert code == 0 and json.loads(out)["findings"] == [], out
    bart = model_of(FIXTURES / "bart-encoder-decoder-no-template").runtime_stops["vllm"]
    assert bart.ids == (2,) and bart.why.endswith(
        "(served as BartForConditionalGeneration with the plugin https://github.com/vllm-project/bart-plugin only)")
    # Whisper, which vLLM implements, and an encoder-decoder named in a text section as vLLM reads it
    folder = tmp_path / "whisper"
    shutil.copytree(FIXTURES / "t5-encoder-decoder-no-template", folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "architectures": ["WhisperForConditionalGeneration"]})
    assert model_of(folder).runtime_stops["vllm"].ids == (1,)
    write_json(folder / "config.json", {"architectures": ["Foo"], "model_type": "foo", "eos_token_id": 1,
                                        "text_config": {"is_encoder_decoder": True}})
    assert model_of(folder).runtime_stops["vllm"].why.startswith(
        "vLLM 0.34.0 cannot serve the encoder-decoder Foo (config.json text_config.is_encoder_decoder: ")
    # Canary, which 0.34.0's registry implements and 0.33.0's does not (helper-153)
    write_json(folder / "config.json", {**config, "architectures": ["CanaryForConditionalGeneration"]})
    canary = model_of(folder).runtime_stops["vllm"]
    assert canary.ids == (1,) and [(other.release, other.ids) for other in canary.others] == [("vLLM ≤ 0.33.0", ())]
    assert canary.others[0].why.startswith(
        "vLLM 0.33.0 cannot serve the encoder-decoder CanaryForConditionalGeneration")
    write_json(folder / "config.json", {**config, "is_encoder_decoder": False})  # a decoder: served as before
    assert model_of(folder).runtime_stops["vllm"].ids == (1,)


def test_sglang_cannot_serve_an_encoder_decoder_but_whisper(tmp_path, run):
    """SGLang 0.5.23 (helper-155, running its class resolution on such folders): its registry implements Whisper
    alone of the transformers encoder-decoders; T5, BART and the others go to its Transformers backend, which
    refuses them at start-up (resolve_transformers_arch: not backend-compatible). eos-guard said SGLang stops on T5
    and BART; their stop set is unknown now. T5Gemma, which the backend accepts and runs as a decoder-only model,
    is unknown too, with that reason."""
    t5 = model_of(FIXTURES / "t5-encoder-decoder-no-template").runtime_stops["sglang"]
    assert t5.ids == () and t5.unknown and t5.why == (
        "SGLang 0.5.23 cannot serve the encoder-decoder T5ForConditionalGeneration (config.json is_encoder_decoder: "
        "it implements no encoder-decoder but Whisper, and its Transformers backend refuses it at start-up "
        "(srt/model_loader/utils.py resolve_transformers_arch))")
    assert model_of(FIXTURES / "bart-encoder-decoder-no-template").runtime_stops["sglang"].ids == ()
    code, out, _ = run("--format", "json", "--no-cache", "--runtime", "sglang",
                       str(FIXTURES / "t5-encoder-decoder-no-template"))
    assert code == 0 and json.loads(out)["findings"] == [], out  # unknown: never a "does not stop"
    folder = tmp_path / "whisper"
    shutil.copytree(FIXTURES / "t5-encoder-decoder-no-template", folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "architectures": ["WhisperForConditionalGeneration"]})
    assert model_of(folder).runtime_stops["sglang"].ids == (1,)
    write_json(folder / "config.json", {**config, "architectures": ["T5GemmaForConditionalGeneration"]})
    assert "its Transformers backend runs the bare AutoModel on input ids alone, as a decoder-only model" in \
        model_of(folder).runtime_stops["sglang"].why
    write_json(folder / "config.json", {**config, "is_encoder_decoder": False})  # a decoder: served as before
    assert model_of(folder).runtime_stops["sglang"].ids == (1,)


def test_the_vllm_registry_script_reads_encoder_decoders_and_plugins():
    """scripts/vllm_registry.py: the entries of _MULTIMODAL_MODELS after its "# [Encoder-decoder]" comment, and
    _OOT_SUPPORTED_MODELS; a registry without the comment is refused, not read as having no encoder-decoder."""
    vllm_registry = load_script("vllm_registry")
    source = ('_MULTIMODAL_MODELS = {\n    "LlavaForConditionalGeneration": ("llava", "L"),\n    # [Encoder-decoder]\n'
              '    "WhisperForConditionalGeneration": ("whisper", "W"),\n    # [Unsupported]\n'
              '    "Llama4ForConditionalGeneration": ("mllama4", "L4"),\n}\n'
              '_OOT_SUPPORTED_MODELS = {"BartForConditionalGeneration": "https://github.com/vllm-project/bart-plugin"'
              '}\n')
    assert vllm_registry.encoder_decoder(source) == ["WhisperForConditionalGeneration"]
    assert vllm_registry.plugins(source) == {
        "BartForConditionalGeneration": "https://github.com/vllm-project/bart-plugin"}
    with pytest.raises(SystemExit, match="Encoder-decoder"):
        vllm_registry.encoder_decoder(source.replace("    # [Encoder-decoder]\n", ""))
    with pytest.raises(SystemExit, match="_OOT_SUPPORTED_MODELS"):
        vllm_registry.plugins(source.replace("_OOT_SUPPORTED_MODELS", "_OTHER"))
    shipped = json.loads((ROOT / "eos_guard" / "data" / "vllm_registry.json").read_text(encoding="utf-8"))
    assert "WhisperForConditionalGeneration" in shipped["encoder_decoder"]
    assert "T5ForConditionalGeneration" not in shipped["encoder_decoder"] and "BartForConditionalGeneration" in \
        shipped["plugins"]


def test_the_llama_cpp_architecture_script_reads_the_converters_text_classes():
    """scripts/llama_cpp_architectures.py on converters of llama.cpp's two layouts: the keys of TEXT_MODEL_MAP
    (conversion/__init__.py, b11413), or the names text classes give @ModelBase.register (the single file); a
    projector's classes (MmprojModel and what derives from it) convert no text model."""
    script = load_script("llama_cpp_architectures")
    package = ('TEXT_MODEL_MAP: dict[str, str] = {"LlamaForCausalLM": "llama", "Qwen3ForCausalLM": "qwen"}\n'
               'MMPROJ_MODEL_MAP: dict[str, str] = {"SiglipModel": "siglip"}\n')
    assert script.text_architectures(package) == {"LlamaForCausalLM", "Qwen3ForCausalLM"}
    single = ('@ModelBase.register("LlamaForCausalLM", "MistralForCausalLM")\nclass LlamaModel(TextModel): pass\n'
              'class MmprojModel(ModelBase): pass\nclass VisionBase(MmprojModel): pass\n'
              '@ModelBase.register("Gemma3ForConditionalGeneration")\nclass Gemma3Vision(VisionBase): pass\n'
              '@ModelBase.register("Gemma3ForConditionalGeneration")\nclass Gemma3Model(TextModel): pass\n')
    assert script.text_architectures(single) == {"LlamaForCausalLM", "MistralForCausalLM",
                                                 "Gemma3ForConditionalGeneration"}
    with pytest.raises(SystemExit, match="TEXT_MODEL_MAP"):
        script.text_architectures("class LlamaModel(TextModel): pass\n")
    # with the package's modules, a name only a projector registers is left out (b11413's GraniteSpeech: KeyError)
    package = 'TEXT_MODEL_MAP = {"LlamaForCausalLM": "llama", "GraniteSpeechForConditionalGeneration": "granite"}\n'
    modules = {"base": "class MmprojModel(ModelBase): pass\n",
               "llama": '@ModelBase.register("LlamaForCausalLM")\nclass LlamaModel(TextModel): pass\n',
               "granite": 'from .base import MmprojModel\n@ModelBase.register("GraniteSpeechForConditionalGeneration")\n'
                          'class GraniteSpeechMmproj(MmprojModel): pass\n'}
    assert script.text_architectures(package, modules) == {"LlamaForCausalLM"}


@pytest.mark.parametrize("architecture, converted", [
    ("LlamaForCausalLM", True), ("MistralForCausalLM", True), ("Qwen3ForCausalLM", True), ("GptOssForCausalLM", True),
    ("Gemma3ForConditionalGeneration", True), ("Glm4MoeForCausalLM", True), ("T5ForConditionalGeneration", True),
    ("BartForConditionalGeneration", False), ("LlavaOnevisionForConditionalGeneration", False),
    ("LlavaNextForConditionalGeneration", False), ("InternVLChatModel", False),
    ("GraniteSpeechForConditionalGeneration", False), ("K2HorizonForCausalLM", True), ("ClefModel", True)])
def test_the_shipped_llama_cpp_architectures(architecture, converted):
    """data/llama_cpp_architectures.json: TEXT_MODEL_MAP of llama.cpp b11549 (xllamacpp 2026.10.11549's sdist);
    the build runtimes/llama_cpp_converter.py names is the one the data is from."""
    from eos_guard.runtimes import llama_cpp_converter

    shipped = json.loads((ROOT / "eos_guard" / "data" / "llama_cpp_architectures.json").read_text(encoding="utf-8"))
    assert (shipped["build"], shipped["commit"]) == (
        llama_cpp_converter.CONVERTER_BUILD, "as xllamacpp 2026.10.11549 vendors it (its sdist names no commit)")
    assert (architecture in shipped["architectures"]) is converted
    assert llama_cpp_converter.converts(architecture) is converted
    runtimes_md = (ROOT / "docs" / "runtimes.md").read_text(encoding="utf-8")
    assert f"b11549's `TEXT_MODEL_MAP` less the names only a projector class registers, " \
           f"{len(shipped['architectures'])} names" in runtimes_md  # the count docs/runtimes.md gives


def test_the_mlx_lm_model_type_script_reads_the_modules_and_remappings(tmp_path):
    """scripts/mlx_lm_model_types.py on a wheel of mlx-lm's shape: modules with both Model and ModelArgs (not the
    helpers), MODEL_REMAPPING, and MODEL_ARCHITECTURE_REMAPPING as rows; a utils.py without the table is refused."""
    script = load_script("mlx_lm_model_types")
    files = {"mlx_lm/models/llama.py": "class ModelArgs: pass\nclass Model: pass\n",
             "mlx_lm/models/ministral3.py": "from .llama import Model, ModelArgs\n",
             "mlx_lm/models/cache.py": "class KVCache: pass\n"}
    assert script.model_modules(files) == ["llama", "ministral3"]
    utils = ('MODEL_REMAPPING = {"mistral": "llama"}\n'
             'MODEL_ARCHITECTURE_REMAPPING = {("bailing_hybrid", "BailingMoeV3ForCausalLM"): "bailing_moe_v3"}\n')
    assert script.remappings(utils) == ({"mistral": "llama"}, [["bailing_hybrid", "BailingMoeV3ForCausalLM",
                                                                 "bailing_moe_v3"]])
    with pytest.raises(SystemExit, match="MODEL_REMAPPING"):
        script.remappings("X = 1\n")


@pytest.mark.parametrize("config, loads", [
    ({"model_type": "llama"}, True), ({"model_type": "mistral"}, True), ({"model_type": "qwen3"}, True),
    ({"model_type": "gpt_oss"}, True), ({"model_type": "gemma3"}, True), ({"model_type": "llava"}, True),
    ({"model_type": "t5"}, False), ({"model_type": "bart"}, False), ({"model_type": "falcon"}, False),
    ({"model_type": "llava_onevision"}, False), ({"model_type": "bailing_hybrid"}, True),
    ({"model_type": "bailing_hybrid", "architectures": ["BailingMoeV3ForCausalLM"]}, True),
    ({"architectures": ["LlamaForCausalLM"]}, False)])
def test_mlx_lm_cannot_load_a_model_type_it_has_no_module_for(tmp_path, config, loads):
    """mlx-lm 0.32.2's _get_classes imports mlx_lm.models.<model_type> after its remappings and raises "Model type
    ... not supported." otherwise (a KeyError without model_type): the stop set is unknown, never "does not stop"
    (eos-guard gave an xgen-mm folder, model type xgenmm, mlx-lm's "does not stop")."""
    folder = _converter_folder(tmp_path, "X", {"</s>": 2}, "</s>")
    write_json(folder / "config.json", config)
    stop = model_of(folder).runtime_stops["mlx-lm"]
    assert (stop.ids == () and stop.unknown == stop.why) is not loads, stop.why
    if not loads and "model_type" in config:
        assert stop.why == (f"mlx-lm 0.32.2 cannot load model type '{config['model_type']}' (no mlx_lm.models module "
                            'for it: "Model type ... not supported.")')
    shipped = json.loads((ROOT / "eos_guard" / "data" / "mlx_lm_model_types.json").read_text(encoding="utf-8"))
    assert shipped["mlx_lm"] == "0.32.2" and len(shipped["modules"]) == 126


def test_mlx_lm_reads_no_text_config(tmp_path):
    """mlx-lm's load_config reads config.json's top-level eos_token_id only: a LLaVA folder (model type llava,
    which it loads as mistral3) whose eos is in text_config stops on the tokenizer's eos alone."""
    folder = _converter_folder(tmp_path, "LlavaForConditionalGeneration", {"</s>": 2, "<|im_end|>": 7}, "</s>",
                               {"model_type": "llava", "text_config": {"model_type": "mistral", "eos_token_id": 7}})
    stop = model_of(folder).runtime_stops["mlx-lm"]
    assert stop.ids == (2,) and not stop.unknown, stop.why


def test_llama_cpp_cannot_convert_an_architecture_it_has_no_class_for(tmp_path, run):
    """convert_hf_to_gguf.py raises "Architecture ... not supported!" for a name TEXT_MODEL_MAP lacks, and "Failed to
    detect model architecture" for a config.json naming none: llama.cpp (and Ollama, which converts neither) gets an
    unknown stop set, never "does not stop" (eos-guard gave a BART folder llama.cpp's stop set)."""
    folder = _converter_folder(tmp_path, "BartForConditionalGeneration", {"</s>": 2, "<|im_end|>": 50265}, "</s>")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(folder / "tokenizer_config.json", {**config, "chat_template": "{% for m in messages %}{{ m.content }}"
                                                  "<|im_end|>{% endfor %}"})
    model = model_of(folder)
    for name in ("llama.cpp", "ollama"):
        stop = model.runtime_stops[name]
        assert stop.ids == () and stops(model, stop) is None and stop.unknown == stop.why, name
    assert model.runtime_stops["llama.cpp"].why == (
        "llama.cpp's convert_hf_to_gguf.py (b11549) cannot convert BartForConditionalGeneration (no class for it: "
        '"not supported")')
    assert model.runtime_stops["ollama"].why == (
        "`ollama create` cannot convert BartForConditionalGeneration (convert.go: unsupported architecture); "
        + model.runtime_stops["llama.cpp"].why)
    code, out, _ = run("--format", "json", "--no-cache", "--runtime", "llama.cpp,ollama", "--select", "EOS016",
                       str(folder))
    assert code == 0 and json.loads(out)["findings"] == [], out
    write_json(folder / "config.json", {"model_type": "llama"})
    model = model_of(folder)
    for name in ("llama.cpp", "ollama"):
        stop = model.runtime_stops[name]
        assert stop.ids == () and "names no architecture" in stop.why
        assert stop.fix == "name the model's class in config.json architectures"
    (folder / "config.json").unlink()  # the tokenizer files alone: what the converter would write from them
    assert model_of(folder).runtime_stops["llama.cpp"].ids == (50265, 2)  # <|im_end|> is an end-of-generation text


@pytest.mark.parametrize("config, architecture", [
    ({"architectures": ["LlavaNextForConditionalGeneration"], "text_config": {"architectures": ["MistralForCausalLM"]}},
     "MistralForCausalLM"),
    ({"architectures": ["InternVLChatModel"], "llm_config": {"architectures": ["InternLM2ForCausalLM"]}},
     "InternLM2ForCausalLM"),
    ({"architectures": ["Qwen2_5OmniModel"], "thinker_config": {"text_config": {"architectures": ["Qwen2ForCausalLM"]}}},
     "Qwen2ForCausalLM"),
    ({"architectures": ["KimiK3ForConditionalGeneration"], "text_config": {"architectures": ["KimiLinearForCausalLM"]}},
     "KimiK3ForConditionalGeneration"),
    ({"architectures": ["Gemma3ForConditionalGeneration"], "text_config": {"architectures": None}},
     "Gemma3ForConditionalGeneration"),
    ({"ssm_cfg": {"layer": "Mamba2"}}, "Mamba2ForCausalLM"),
    ({"ssm_cfg": {}}, "MambaForCausalLM"),
    ({"architectures": []}, None),
    ({"model_type": "llama"}, None)])
def test_the_converter_picks_its_class_as_get_model_architecture_does(tmp_path, config, architecture):
    """conversion/base.py get_model_architecture (b11413, b11549): architectures[0], else a Mamba config's ssm_cfg layer;
    the text config's architectures win (load_hparams renames llm_config, lm_config, thinker_config.text_config,
    language_config and lfm to text_config), except for the top-level classes it routes itself."""
    from eos_guard.runtimes.llama_cpp_converter import converter_architecture

    folder = _converter_folder(tmp_path, "X", {"</s>": 2}, "</s>")
    write_json(folder / "config.json", config)
    assert converter_architecture(model_of(folder)) == architecture


def test_an_internvl_folder_gets_its_language_models_converter_class(tmp_path):
    """InternVL's llm_config names InternLM2ForCausalLM: the converter's InternLM2 class makes <|im_end|> the eos,
    as for an InternLM2 folder (eos-guard looked the override up by the top-level InternVLChatModel)."""
    tokens = {"</s>": 2, "<|im_end|>": 92542}
    folder = _converter_folder(tmp_path, "InternVLChatModel", tokens, "</s>",
                               {"llm_config": {"architectures": ["InternLM2ForCausalLM"]}})
    (folder / "tokenizer.model").write_bytes(b"\n\x05<unk>")  # InternLM2's class reads it alone
    stop = model_of(folder).runtime_stops["llama.cpp"]
    assert 92542 in stop.ids
    # the class's eos is what the GGUF gets: said first, the file value it replaces after (it read "from
    # tokenizer_config.json eos_token; ... sets eos 92542", as if the eos came from that file)
    assert stop.why.startswith("GGUF eos 92542 (from convert_hf_to_gguf.py's class for InternLM2ForCausalLM, which "
                               "sets eos 92542 over tokenizer_config.json eos_token's 2)"), stop.why


@pytest.mark.parametrize("architecture, model_type", [("BertModel", "bert"), ("MistralModel", "mistral"),
                                                      ("XLMRobertaModel", "xlm-roberta"), ("HF_ColBERT", "bert")])
def test_an_embedding_model_has_no_stop_ids_to_check(tmp_path, run, architecture, model_type):
    """sentence-transformers' all-MiniLM-L6-v2 (``BertModel``, no eos anywhere), embedding models saved as a
    bare decoder (e5-mistral-7b-instruct, ``MistralModel``) and ColBERT checkpoints (colbertv2.0's ``HF_ColBERT``,
    a class transformers does not have, which vLLM runs as a pooling model) cannot generate: EOS004 failed them."""
    folder = shutil.copytree(FIXTURES / "llama31-8b-base-no-template", tmp_path / "embed")
    write_json(folder / "config.json", {"architectures": [architecture], "model_type": model_type,
                                        "vocab_size": 128256})
    (folder / "generation_config.json").unlink(missing_ok=True)
    assert run("--format", "concise", "--no-cache", str(folder)) == \
        (0, "All checks passed (1 model folder; 1 cannot generate text, not checked for stopping).\n", "")


@pytest.mark.parametrize("config", [
    {"architectures": ["ChatGLMModel"], "model_type": "chatglm"},  # a remote-code class of that name generates
    {"architectures": ["Qwen2Model"], "model_type": "qwen2",
     "auto_map": {"AutoModel": "modeling_qwen.Qwen2Model", "AutoModelForCausalLM": "modeling_qwen.Qwen2ForCausalLM"}},
    {"architectures": ["BertModel", "BertLMHeadModel"], "model_type": "bert"},
])
def test_a_model_that_may_generate_keeps_eos004(tmp_path, run, config):
    """A class not in transformers' bare-model list, remote code mapped to AutoModelForCausalLM, or one
    generating class among several: generate() can run, so no stop ids is still an error."""
    folder = shutil.copytree(FIXTURES / "llama31-8b-base-no-template", tmp_path / "gen")
    write_json(folder / "config.json", {**config, "vocab_size": 128256})
    (folder / "generation_config.json").unlink(missing_ok=True)
    code, out, _ = run("--format", "concise", "--no-cache", str(folder))
    assert code == 1 and " EOS004 error: " in out, out


def test_a_reward_model_with_a_chat_template_gets_no_rule_about_stopping(tmp_path, run):
    """A Qwen2.5-base reward model or classifier fine-tune (Qwen2ForSequenceClassification) keeps the base's
    ChatML template, whose <|im_end|> is no stop id: EOS001 (an error), EOS002 and EOS017 fired, and --fix wrote a
    generation_config.json into it, though transformers gives the class no generate(). The same folder saved as
    Qwen2ForCausalLM keeps them. explain says why it runs no such rule."""
    import shutil

    folder = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "rm",
                             ignore=shutil.ignore_patterns("expected.json"))
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    causal = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    assert causal[0] == 1 and "EOS001" in {f["code"] for f in json.loads(causal[1])["findings"]}
    write_json(folder / "config.json", {**config, "architectures": ["Qwen2ForSequenceClassification"]})
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    codes = {f["code"] for f in json.loads(out)["findings"]}
    assert code == 0 and not codes & {"EOS001", "EOS002", "EOS003", "EOS010", "EOS011", "EOS012", "EOS013", "EOS016",
                                      "EOS017"}, codes
    assert run("--diff", "--no-cache", "--baseline", "none", str(folder))[:2] == (0, "")
    code, out, _ = run("explain", "--no-cache", str(folder))
    assert "Qwen2ForSequenceClassification cannot generate (config.json architectures): vLLM runs it as a pooling " \
           "model" in out
    assert "fix for" not in out
    code, out, _ = run("explain", "--format", "json", "--no-cache", str(folder))
    assert json.loads(out)["models"][0]["generates"] is False


def test_a_text_to_audio_model_gets_no_rule_about_stopping(tmp_path, run):
    """MusicGen, Bark and Parler-TTS generate audio codes: their tokenizer is the text encoder's, and their stop ids
    are codebook ids (Parler-TTS's decoder eos 1024), a semantic_config's (Bark's 10000), or none (MusicGen runs to
    max_length). eos-guard failed facebook/musicgen-small and suno/bark with EOS004 ("generate() never stops") and
    parler-tts with EOS002 (the T5 tokenizer's </s> 1 is no stop id), all errors, in any repository that held one."""
    from transformers import GenerationConfig

    musicgen = shutil.copytree(FIXTURES / "musicgen-small-text-to-audio", tmp_path / "musicgen",
                               ignore=shutil.ignore_patterns("expected.json", "README.md"))
    assert GenerationConfig.from_pretrained(musicgen).eos_token_id is None  # as eos-guard read it: no stop id
    t5 = [musicgen / name for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")]
    # suno/bark-small: BarkGenerationConfig.to_dict() writes the sub-models' configs, no top-level eos_token_id
    bark = tmp_path / "bark"
    write_json(bark / "config.json", {"architectures": ["BarkModel"], "model_type": "bark",
                                      "semantic_config": {"model_type": "semantic", "output_vocab_size": 10048},
                                      "codec_config": {"model_type": "encodec"}})
    write_json(bark / "generation_config.json", {
        "semantic_config": {"eos_token_id": 10000, "semantic_pad_token": 10000, "text_encoding_offset": 10048},
        "coarse_acoustics_config": {"coarse_semantic_pad_token": 12048}, "fine_acoustics_config": {},
        "codebook_size": 1024, "model_type": "bark"})
    write_json(bark / "tokenizer_config.json", {"cls_token": "[CLS]", "pad_token": "[PAD]", "sep_token": "[SEP]",
                                                "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]"})
    # parler-tts/parler-tts-mini-v1: the decoder stops on its codebook eos 1024; the prompt tokenizer is FLAN-T5's
    parler = tmp_path / "parler"
    write_json(parler / "config.json", {
        "architectures": ["ParlerTTSForConditionalGeneration"], "model_type": "parler_tts",
        "decoder": {"model_type": "parler_tts_decoder", "bos_token_id": 1025, "eos_token_id": 1024,
                    "pad_token_id": 1024, "vocab_size": 1088},
        "text_encoder": {"_name_or_path": "google/flan-t5-large", "model_type": "t5", "eos_token_id": 1},
        "decoder_start_token_id": 1025, "pad_token_id": 1024, "vocab_size": 32128})
    write_json(parler / "generation_config.json", {"bos_token_id": 1025, "decoder_start_token_id": 1025,
                                                   "eos_token_id": 1024, "max_length": 2580, "pad_token_id": 1024})
    for path in t5:
        shutil.copy(path, parler / path.name)
    # sesame/csm-1b as transformers' conversion saves it (CsmConfig's values, GenerationConfig.from_model_config:
    # no eos_token_id anywhere; generate() stops when every codebook writes codebook_eos_token_id 0), with a Llama 3
    # tokenizer as its Llama 3.2 one: vocab_size is the codebook size (2051), not the text's (text_vocab_size), so
    # the tokenizer's ids were EOS006 errors ("not below vocab_size 2051")
    csm = tmp_path / "csm"
    csm.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(FIXTURES / "llama3-8b-instruct-release" / name, csm / name)
    write_json(csm / "config.json", {
        "architectures": ["CsmForConditionalGeneration"], "model_type": "csm", "audio_eos_token_id": 128003,
        "audio_token_id": 128002, "bos_token_id": 128000, "codebook_eos_token_id": 0, "codebook_pad_token_id": 2050,
        "num_codebooks": 32, "pad_token_id": 128002, "vocab_size": 2051, "text_vocab_size": 128256})
    write_json(csm / "generation_config.json", {"bos_token_id": 128000, "pad_token_id": 128002})
    # nari-labs/Dia-1.6B as convert_dia_to_hf.py saves it: DiaConfig's decoder_config (eos 1024, pad 1025, bos 1026),
    # GenerationConfig.from_model_config plus sampling settings, DiaTokenizer's byte vocabulary (256 ids, no eos)
    dia = tmp_path / "dia"
    write_json(dia / "config.json", {
        "architectures": ["DiaForConditionalGeneration"], "model_type": "dia", "is_encoder_decoder": True,
        "decoder_config": {"model_type": "dia_decoder", "bos_token_id": 1026, "eos_token_id": 1024,
                           "pad_token_id": 1025, "vocab_size": 1028, "num_channels": 9},
        "encoder_config": {"model_type": "dia_encoder", "vocab_size": 256},
        "delay_pattern": [0, 8, 9, 10, 11, 12, 13, 14, 15]})
    write_json(dia / "generation_config.json", {"bos_token_id": 1026, "do_sample": True, "eos_token_id": 1024,
                                                "guidance_scale": 3.0, "max_length": 3072, "pad_token_id": 1025,
                                                "temperature": 1.2, "top_k": 45, "top_p": 0.95})
    write_json(dia / "tokenizer_config.json", {
        "added_tokens_decoder": {str(i): {"content": text, "lstrip": False, "normalized": True, "rstrip": False,
                                          "single_word": False, "special": False}
                                 for i, text in enumerate(["<pad>", "[S1]", "[S2]"])},
        "max_length": 1024, "offset": 0, "pad_token": "<pad>", "tokenizer_class": "DiaTokenizer",
        "unk_token": "<pad>"})
    for folder in (musicgen, bark, parler, csm, dia):
        code, out, _ = run("--format", "json", "--runtime", "all", "--no-cache", "--baseline", "none", str(folder))
        assert (code, json.loads(out)["findings"]) == (0, []), out
        assert run("--diff", "--no-cache", "--baseline", "none", str(folder))[:2] == (0, "")
        _, out, _ = run("explain", "--no-cache", str(folder))
        assert "generates audio codes, not text (config.json architectures): its stop ids are codebook ids, not " \
               "the tokenizer's, and a check runs no rule about stopping" in out, out
        _, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
        assert out == "All checks passed (1 model folder; 1 cannot generate text, not checked for stopping).\n", out
    # a text model among the architectures keeps the rules: generate() writes the tokenizer's tokens
    write_json(bark / "config.json", {"architectures": ["BarkModel", "LlamaForCausalLM"], "model_type": "bark"})
    # (an error: Bark's BERT tokenizer has a separator token, so the folder does not show a model without an end)
    assert " EOS004 error: " in run("--format", "concise", "--no-cache", "--baseline", "none", str(bark))[1]


def test_a_text_encoder_no_auto_class_loads_gets_no_rule_about_stopping(tmp_path, run):
    """SDXL's text_encoder_2 names CLIPTextModelWithProjection, which no Auto class loads and which has no
    generate() (no GenerationMixin): checked as a generating model, one without eos_token_id failed with EOS004
    ("generate() never stops"), and --fix offered to edit it. So did SigLIP's text tower and an IP-Adapter's
    CLIPVisionModelWithProjection."""
    fixture = FIXTURES / "sdxl-diffusers-pipeline" / "text_encoder_2" / "config.json"
    config = {key: value for key, value in json.loads(fixture.read_text(encoding="utf-8")).items()
              if key != "eos_token_id"}
    for architecture in ("CLIPTextModelWithProjection", "SiglipTextModel", "CLIPVisionModelWithProjection"):
        write_json(tmp_path / "encoder" / "config.json", {**config, "architectures": [architecture]})
        code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(tmp_path / "encoder"))
        assert code == 0 and out.endswith("(1 model folder; 1 cannot generate text, not checked for stopping).\n"), out
    write_json(tmp_path / "encoder" / "config.json", {**config, "architectures": ["CLIPTextModelForCausalLM"]})
    assert " EOS004 error: " in run("--format", "concise", "--no-cache", "--baseline", "none",
                                    str(tmp_path / "encoder"))[1]


def test_a_t5_text_encoder_gets_no_rule_about_stopping(tmp_path, run):
    """FLUX.1's and SD3's text_encoder_2/3 (and the T5 encoders repackaged with their tokenizer) name
    T5EncoderModel, which AutoModelForTextEncoding loads and which has no generate(): a config.json of one without
    eos_token_id failed with EOS004 ("generate() never stops"). T5ForConditionalGeneration keeps the rule."""
    folder = shutil.copytree(FIXTURES / "t5-encoder-decoder-no-template", tmp_path / "t5-xxl-encoder",
                             ignore=shutil.ignore_patterns("*.md", "expected.json", "*config.json"))
    shutil.copy(FIXTURES / "t5-encoder-decoder-no-template" / "tokenizer_config.json", folder)
    config = {"architectures": ["T5EncoderModel"], "model_type": "t5", "d_model": 4096, "vocab_size": 32128}
    write_json(folder / "config.json", config)
    code, out, _ = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))
    assert code == 0 and out.endswith("(1 model folder; 1 cannot generate text, not checked for stopping).\n"), out
    write_json(folder / "config.json", {**config, "architectures": ["T5ForConditionalGeneration"]})
    assert " EOS004 error: " in run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))[1]


POOLING = {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}
TRANSFORMER = {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}


@pytest.mark.parametrize("modules, generates", [
    ([TRANSFORMER, POOLING, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}],
     False),  # the fixture's own
    ([TRANSFORMER, {**POOLING, "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"}], False),
    ([{**POOLING, "path": ""}], False),
    (None, True),  # no modules.json
    ([TRANSFORMER, {"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"}],
     True),  # no Pooling module: vLLM goes by the class
    ([TRANSFORMER, {**POOLING, "type": "my_package.Pooling"}], True),
    ({"0": POOLING}, True),  # not a list: vLLM fails on it
    ([{"path": ""}, POOLING], True),  # an item without a type before the Pooling one: vLLM fails on it
    ([TRANSFORMER, {"type": POOLING["type"]}], True),  # a Pooling module without a path: vLLM fails on it
    ("[{", True),  # not JSON: vLLM fails on it, transformers never reads it
])
def test_a_sentence_transformers_embedding_model_gets_no_rule_about_stopping(tmp_path, run, modules, generates):
    """gte-Qwen2, stella_en_1.5B_v5 and Qwen3-Embedding are embedding models saved with a ...ForCausalLM class and a
    ChatML template whose <|im_end|> is no stop id: EOS001 failed them. vLLM 0.33.0 runs a folder whose modules.json
    lists a Pooling module as a pooling model whatever its class (ModelConfig._get_default_runner_type, through
    get_pooling_config: the first item whose type is a Pooling module's); a folder it cannot read that way keeps
    the rules, and a modules.json that is not JSON is no error of the folder's (transformers never reads it)."""
    folder = shutil.copytree(FIXTURES / "stella-gte-qwen2-embedding-pooling", tmp_path / "embedder",
                             ignore=shutil.ignore_patterns("expected.json", "README.md"))
    if modules is None:
        (folder / "modules.json").unlink()
    elif isinstance(modules, str):
        (folder / "modules.json").write_text(modules, encoding="utf-8")
    else:
        write_json(folder / "modules.json", modules)
    code, out, err = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    codes = {f["code"] for f in json.loads(out)["findings"]}
    assert (code, codes, err) == ((1, {"EOS001", "EOS017"}, "") if generates else (0, set(), ""))
    closing = run("--format", "concise", "--no-cache", "--baseline", "none", str(folder))[1].splitlines()[-1]
    assert ("; 1 cannot generate text, not checked for stopping" in closing) is not generates, closing
    code, out, _ = run("explain", "--no-cache", str(folder))
    assert ("modules.json lists a sentence-transformers Pooling module (" in out) is not generates
    if not generates and modules[-1]["path"]:
        assert "modules.json lists a sentence-transformers Pooling module (1_Pooling): vLLM runs it as a pooling " \
               "model, and a check runs no rule about stopping" in out


def test_messages_quote_what_the_files_hold(tmp_path, run):
    """LLaVA-v1.6-Mistral's template writes the typo <\\s>: EOS011 quoted it as '<\\\\s>' (Python's repr). The
    Ollama row said the eos_token "names no token" where tokenizer_config.json has no eos_token at all, and the
    SGLang row listed "generation_config.json []" for a folder without one."""
    import shutil

    folder = shutil.copytree(FIXTURES / "mistral-7b-instruct-v02", tmp_path / "m",
                             ignore=shutil.ignore_patterns("expected.json"))
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = config["chat_template"].replace("+ eos_token", "+ '<\\\\s>'")
    del config["eos_token"]
    write_json(folder / "tokenizer_config.json", config)
    (folder / "generation_config.json").unlink()
    model_config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    model_config["architectures"] = ["LlamaForCausalLM"]  # a class `ollama create` converts (MistralForCausalLM: not)
    write_json(folder / "config.json", model_config)
    code, out, _ = run("--format", "json", "--no-cache", "--select", "EOS011", str(folder))
    assert [f["message"] for f in json.loads(out)["findings"]] == [
        "the 'default' chat template ends assistant turns with '<\\s>', which is not a single token (not an added "
        "token); a misspelling of '</s>' (2)?"]
    rows = {row["runtime"]: row["why"] for row in json.loads(run("explain", "--format", "json", "--no-cache",
                                                                 str(folder))[1])["models"][0]["runtimes"]}
    assert rows["ollama"].startswith("GGUF eos unknown (tokenizer_config.json names no eos_token, which the converter "
                                     "reads)"), rows["ollama"]
    assert "generation_config.json" not in rows["sglang"], rows["sglang"]
    # explain's header says what EOS011 says (helper-146: "no chat template terminator" beside EOS011's '<\s>')
    code, out, _ = run("explain", "--no-cache", str(folder))
    assert "  chat answers end with the text '<\\s>', which is not a single token (EOS011), from the 'default' " \
           "template\n" in out, out


@pytest.mark.parametrize("fixture, text, token", [
    ("mistral-7b-instruct-v02", "<\\s>", "</s>"), ("mistral-7b-instruct-v02", "</s", "</s>"),
    ("mistral-7b-instruct-v02", "<unk", "<unk>"), ("mistral-7b-instruct-v02", "</s>", None),
    ("mistral-7b-instruct-v02", "### End", None), ("qwen2-instruct-aligned", "<|im_end>", "<|im_end|>"),
    ("qwen2-instruct-aligned", "<|im_ends|>", "<|im_end|>"), ("qwen2-instruct-aligned", "<|im_start|>", None)])
def test_a_text_one_character_from_a_special_token_is_named_as_its_misspelling(fixture, text, token):
    """EOS011's hint (llava-v1.6-mistral's '<\\s>'): one character changed, added or left out; a token itself is no
    misspelling."""
    from eos_guard.pipeline import check_folder
    from eos_guard.rules.terminator_not_single_token import misspelled_token

    assert misspelled_token(check_folder(FIXTURES / fixture).model, text) == token


def _omni_folder(tmp_path: Path, thinker_eos: int, generation_eos: list[int] | None) -> Path:
    """A Qwen2.5-Omni folder (config.json shaped as the release's: eos only in thinker_config) over the Qwen2
    tokenizer of qwen2-instruct-aligned, whose ChatML template ends answers with <|im_end|> (151645)."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "omni")
    (folder / "generation_config.json").unlink()
    if generation_eos is not None:
        write_json(folder / "generation_config.json", {"eos_token_id": generation_eos})
    write_json(folder / "config.json", {
        "architectures": ["Qwen2_5OmniModel"], "model_type": "qwen2_5_omni", "enable_audio_output": True,
        "thinker_config": {"model_type": "qwen2_5_omni_thinker", "bos_token_id": 151644, "eos_token_id": thinker_eos,
                           "pad_token_id": 151643, "text_config": {"model_type": "qwen2_5_omni_text",
                                                                   "vocab_size": 152064}},
        "talker_config": {"model_type": "qwen2_5_omni_talker"}, "token2wav_config": {}})
    return folder


@pytest.mark.parametrize("model_type, module, cls, inner", [
    ("blip-2", "blip_2", "Blip2ForConditionalGeneration", "self.language_model.generate("),
    ("instructblip", "instructblip", "InstructBlipForConditionalGeneration", "self.language_model.generate("),
    ("instructblipvideo", "instructblipvideo", "InstructBlipVideoForConditionalGeneration",
     "self.language_model.generate("),
    ("kosmos-2", "kosmos2", "Kosmos2ForConditionalGeneration", "self.text_model.generate("),
])
def test_a_captioner_whose_generate_runs_its_language_model_stops_on_text_config(run, tmp_path, model_type, module,
                                                                                  cls, inner):
    """helper-120: BLIP-2, InstructBLIP(Video) and Kosmos-2 run the generate() of a model built from text_config,
    which stops on text_config's eos (tests/e2e/test_inner_generation.py generates with a tiny BLIP-2); eos-guard
    read generation_config.json, which only the outer model gets."""
    import importlib.util

    source = Path(importlib.util.find_spec(f"transformers.models.{module}.modeling_{module}").origin).read_text()
    outer = source[source.index(f"class {cls}("):]
    generate = outer[outer.index("    def generate("):]
    ends = [at for at in (generate.find("\n    def ", 10), generate.find("\nclass ")) if at > 0]
    assert inner in generate[:min(ends, default=len(generate))], "generate() runs the inner model's no more"
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    write_json(folder / "generation_config.json", {"eos_token_id": [151645, 151643]})
    write_json(folder / "config.json", {"model_type": model_type, "architectures": [cls],
                                        "text_config": {"model_type": "qwen2", "eos_token_id": 151643}})
    code, out, _ = run("explain", "--format", "json", "--no-cache", str(folder))
    row = next(r for r in json.loads(out)["models"][0]["runtimes"] if r["runtime"] == "transformers")
    assert (row["stop_ids"], row["stops"]) == ([151643], False), row
    assert row["why"].startswith("config.json text_config.eos_token_id [151643] (generate() runs the generate() of "
                                 "the model built from text_config"), row["why"]


def test_a_captioner_whose_stop_id_is_a_newline_token_is_a_warning(run, tmp_path):
    """helper-120: BLIP-2 OPT (Salesforce/blip2-opt-*) stops on text_config's 50118, 'Ċ' (a newline), the end its
    captions were trained with (LAVIS), not on the tokenizer's eos '</s>' (2): EOS002 was an error on a model that
    stops. A stop id that is a plain text token of the vocabulary (no added token) is chosen on purpose: a warning
    saying so. A stop id that is an added token stays an error."""
    folder = tmp_path / "blip2-opt"
    vocab = {f"t{i}": i for i in range(4, 50200)}
    vocab.update({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "\u010a": 50118})
    del vocab["t50118"]
    added = [{"id": i, "content": text, "single_word": False, "lstrip": False, "rstrip": False, "normalized": True,
              "special": True} for i, text in enumerate(("<s>", "<pad>", "</s>", "<unk>"))]
    write_json(folder / "tokenizer.json", {"added_tokens": added, "model": {"type": "BPE", "vocab": vocab,
                                                                             "merges": []}})
    write_json(folder / "tokenizer_config.json", {"tokenizer_class": "GPT2Tokenizer", "eos_token": "</s>",
                                                  "bos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"})
    write_json(folder / "config.json", {"model_type": "blip-2", "architectures": ["Blip2ForConditionalGeneration"],
                                        "text_config": {"model_type": "opt", "eos_token_id": 50118,
                                                        "vocab_size": 50272}})
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    [finding] = [f for f in json.loads(out)["findings"] if f["code"] == "EOS002"]
    assert (code, finding["severity"]) == (0, "warning"), out
    assert "the stop ids are text tokens of the vocabulary, which a model trained to end its output with that text " \
           "stops on (BLIP-2 OPT's captions end with a newline); if it was not, add 2" in finding["message"]
    code, out, _ = run("explain", "--no-cache", str(folder))  # explain says it as the check does
    assert code == 0 and "  transformers stops on text tokens of the vocabulary (50118), not on the tokenizer's eos: " \
        "right for a model trained to end its output with that text (BLIP-2 OPT's captions end with a newline); if it " \
        "was not, add the id to config.json text_config.eos_token_id" in out and "fix for transformers" not in out, out
    code, out, _ = run("explain", "--format", "json", "--no-cache", str(folder))
    rows = {row["runtime"]: row for row in json.loads(out)["models"][0]["runtimes"]}
    assert (rows["transformers"]["stops"], rows["transformers"]["text_token_stops"]) == (False, True), rows
    assert rows["vllm"]["text_token_stops"] is False  # it stops: on the tokenizer's eos too
    config = json.loads((folder / "config.json").read_text())
    config["text_config"]["eos_token_id"] = 1  # '<pad>', an added token: no such choice
    write_json(folder / "config.json", config)
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    assert code == 1 and [f["severity"] for f in json.loads(out)["findings"] if f["code"] == "EOS002"] == ["error"]


@pytest.mark.parametrize("composite", [False, True], ids=["inkling_text", "inkling_mm_model"])
def test_an_id_past_inkling_s_unpadded_vocab_size_is_never_emitted(run, tmp_path, composite):
    """helper-120: Inkling cuts its logits to unpadded_vocab_size (and Inkling 2's lm_head has that many rows), so a
    ChatML fine-tune whose tokens landed past it never stops; EOS006 compared ids with vocab_size only."""
    import importlib.util

    spec = importlib.util.find_spec("transformers.models.inkling.modeling_inkling")
    if spec is None:
        pytest.skip("this transformers has no Inkling")
    assert "logits = logits[..., :unpadded_vocab_size]" in Path(spec.origin).read_text()
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    text = {"eos_token_id": 151645, "vocab_size": 152064, "unpadded_vocab_size": 151640}
    write_json(folder / "config.json", {"model_type": "inkling_mm_model", "text_config": text} if composite
               else {"model_type": "inkling_text", **text})
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    messages = [f["message"] for f in json.loads(out)["findings"] if f["code"] == "EOS006"]
    assert code == 1 and any("not below unpadded_vocab_size 151640" in m for m in messages), out
    text["unpadded_vocab_size"] = 152064  # nothing cut: no finding
    write_json(folder / "config.json", {"model_type": "inkling_mm_model", "text_config": text} if composite
               else {"model_type": "inkling_text", **text})
    assert not [f for f in json.loads(run("--format", "json", "--no-cache", "--baseline", "none",
                                          str(folder))[1])["findings"] if f["code"] == "EOS006"]


def test_the_inner_config_class_defaults_are_transformers():
    """resolve.SECTION_DEFAULT_TYPES and SECTION_DEFAULT_EOS: each outer type's default text config, and each text
    config class's default eos, as transformers makes them."""
    transformers = pytest.importorskip("transformers")
    from eos_guard.resolve import SECTION_DEFAULT_EOS, SECTION_DEFAULT_TYPES

    for outer, inner in SECTION_DEFAULT_TYPES.items():
        assert transformers.CONFIG_MAPPING[outer]().text_config.model_type == inner, outer
    for model_type, eos in SECTION_DEFAULT_EOS.items():
        config = transformers.CONFIG_MAPPING[model_type]()
        assert transformers.GenerationConfig.from_model_config(config).eos_token_id == eos, model_type


@pytest.mark.parametrize("text_config", [{"model_type": "kosmos_2_text_model"}, {}, {"model_type": "t5"}],
                         ids=["kosmos-2-text", "no-model-type", "flan-t5"])
def test_an_inner_section_without_an_eos_stops_on_its_class_default(run, tmp_path, text_config):
    """helper-123: a Kosmos-2 or BLIP-2 config.json saved by transformers 4.x leaves text_config's eos out when it
    is the class default (2; Flan-T5's 1), which the inner model's generation config then has: eos-guard said
    EOS004, and --diff replaced the default with the terminator instead of adding it."""
    transformers = pytest.importorskip("transformers")
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    model_type = "blip-2" if text_config.get("model_type") == "t5" else "kosmos-2"
    write_json(folder / "config.json", {"model_type": model_type, "text_config": text_config})
    inner = transformers.AutoConfig.from_pretrained(str(folder)).text_config
    expected = transformers.GenerationConfig.from_model_config(inner).eos_token_id
    code, out, _ = run("explain", "--format", "json", "--no-cache", str(folder))
    row = next(r for r in json.loads(out)["models"][0]["runtimes"] if r["runtime"] == "transformers")
    assert row["stop_ids"] == [expected] and row["why"].startswith("text_config's config class default"), row
    code, patch, _ = run("--diff", "--no-cache", "--baseline", "none", str(folder))
    assert code == 1 and f'"eos_token_id": [{expected}, 151645]' in patch, patch


def test_a_model_that_generates_with_an_inner_model_stops_on_its_config(run, tmp_path):
    """Qwen2.5-Omni's generate() runs its thinker's generate(), whose generation config is made from config.json's
    thinker_config when the model is built; generation_config.json goes to the outer model, which never uses it
    (tests/e2e/test_inner_generation.py generates with the real classes). eos-guard read generation_config.json:
    a folder whose thinker stops only on <|endoftext|> passed, and one without generation_config.json was EOS004."""
    import importlib.util

    from transformers import AutoConfig, GenerationConfig

    source = Path(importlib.util.find_spec("transformers.models.qwen2_5_omni.modeling_qwen2_5_omni").origin).read_text()
    outer = source[source.index("class Qwen2_5OmniForConditionalGeneration("):]
    generate = outer[outer.index("    def generate("):]
    ends = [at for at in (generate.find("\n    def ", 10), generate.find("\nclass ")) if at > 0]
    assert "self.thinker.generate(" in generate[:min(ends, default=len(generate))], "generate() runs the thinker's no more"

    runs_on = _omni_folder(tmp_path / "a", 151643, [151645, 151643])
    assert GenerationConfig.from_model_config(AutoConfig.from_pretrained(runs_on).thinker_config).eos_token_id == 151643
    code, out, _ = run("--format", "json", "--baseline", "none", str(runs_on))
    report = json.loads(out)
    assert code == 1 and [f["code"] for f in report["findings"] if f["severity"] == "error"] == ["EOS001"]
    assert report["findings"][0]["message"].endswith("generate() stops only on [151643 '<|endoftext|>'] (config.json "
                                                     "thinker_config.eos_token_id); add 151645")
    assert report["models"][0]["stops"]["transformers"] is False
    assert report["models"][0]["stops"]["vllm"] is True  # vLLM reads the folder's generation_config.json
    assert run("--fix", "--baseline", "none", str(runs_on))[0] == 1
    assert json.loads((runs_on / "config.json").read_text())["thinker_config"]["eos_token_id"] == [151643, 151645]
    assert json.loads((runs_on / "generation_config.json").read_text()) == {"eos_token_id": [151645, 151643]}
    assert run("--baseline", "none", str(runs_on))[0] == 0

    stops = _omni_folder(tmp_path / "b", 151645, None)  # the release's shape: no eos outside thinker_config
    assert GenerationConfig.from_model_config(AutoConfig.from_pretrained(stops).thinker_config).eos_token_id == 151645
    code, out, _ = run("--format", "json", "--baseline", "none", str(stops))
    assert code == 0 and json.loads(out)["models"][0]["stops"]["transformers"] is True, out
    code, out, _ = run("explain", str(stops))
    assert "config.json thinker_config.eos_token_id [151645] (generate() runs the generate() of the model built from " \
           "thinker_config" in out


@pytest.mark.parametrize("section", ["absent", "null", "empty", "text-config-eos", "string", "array"])
def test_a_thinker_config_without_an_eos_or_of_another_kind(run, tmp_path, section):
    """helper-112: with thinker_config missing or null, transformers builds a default thinker whose eos is None (so
    nothing stops it), and eos-guard read generation_config.json and passed; one that is no object makes AutoConfig
    raise. The oracle: the thinker's generation config as PreTrainedModel.__init__ makes it."""
    from transformers import AutoConfig, GenerationConfig

    folder = _omni_folder(tmp_path, 151645, [151645, 151643])
    config = json.loads((folder / "config.json").read_text())
    value = {"absent": None, "null": None, "empty": {}, "text-config-eos": {"text_config": {"eos_token_id": 151645}},
             "string": "thinker", "array": [1]}[section]
    if section == "absent":
        del config["thinker_config"]
    else:
        config["thinker_config"] = value
    write_json(folder / "config.json", config)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    code, out, err = run("--format", "json", "--baseline", "none", "omni", cwd=folder.parent)
    if section in ("string", "array"):
        with pytest.raises(Exception):
            AutoConfig.from_pretrained(folder)
        kind = "a string" if section == "string" else "an array"
        assert (code, err) == (2, f"eos-guard: omni/config.json:7:21: thinker_config is {kind}, not an object: "
                                  "transformers cannot load the config\n"), err
        return
    eos = GenerationConfig.from_model_config(AutoConfig.from_pretrained(folder).thinker_config).eos_token_id
    codes = [f["code"] for f in json.loads(out)["findings"]]
    if section == "text-config-eos":
        assert eos == 151645 and code == 0, out
        return
    assert eos is None and code == 1 and codes == ["EOS004"], out
    assert json.loads(out)["findings"][0]["message"].startswith(
        "config.json's thinker_config has no eos_token_id (nor its text_config), so generate(), which runs the "
        "generate() of the model built from it, never stops on a token (generation_config.json is not used)")
    run("--fix", "--baseline", "none", str(folder))
    after = json.loads((folder / "config.json").read_text())
    if section == "empty":  # the section is there: the ids go into it
        assert after["thinker_config"] == {"eos_token_id": 151645}
        assert run("--baseline", "none", str(folder))[0] == 0
    else:  # missing or null: a person writes the section (--fix only adds ids)
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def _qwen3_omni(folder: Path, terminator: str = "<|im_end|>", generation_eos: int | None = None) -> Path:
    """A Qwen3-Omni-shaped folder: config.json with the thinker's section and no top-level eos (its config class has
    none), a ChatML template ending turns with ``terminator``."""
    write_json(folder / "config.json", {
        "architectures": ["Qwen3OmniMoeForConditionalGeneration"], "model_type": "qwen3_omni_moe",
        "im_end_token_id": 151645, "thinker_config": {"model_type": "qwen3_omni_moe_thinker", "text_config": {
            "model_type": "qwen3_omni_moe_text", "vocab_size": 152064}}})
    template = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}" + terminator + "\n{% endfor %}"
                "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    write_json(folder / "tokenizer_config.json", {"eos_token": terminator, "chat_template": template,
                                                  "added_tokens_decoder": {
        "151643": {"content": "<|endoftext|>", "special": True}, "151644": {"content": "<|im_start|>", "special": True},
        "151645": {"content": "<|im_end|>", "special": True}}})
    if generation_eos is not None:
        write_json(folder / "generation_config.json", {"eos_token_id": generation_eos})
    return folder


def test_a_generate_argument_s_default_is_the_stop_set_whatever_the_files_say(run, tmp_path):
    """Qwen3-Omni's generate() passes thinker_eos_token_id (default 151645, '<|im_end|>') to the thinker as its
    eos_token_id: without an eos in any file it stops (EOS004 was a false alarm), a generation_config.json's
    [151643] does not stop it from stopping, and a template ending turns with another token is EOS001 at
    config.json's model_type, which no --fix can repair."""
    plain = _qwen3_omni(tmp_path / "omni")
    assert run("--runtime", "all", "omni", cwd=tmp_path) == (0, "All checks passed (1 model folder).\n", "")
    model = check_folder(plain).model
    assert model.runtime_stops["transformers"].ids == (151645,) and stops(model, model.runtime_stops["transformers"])
    _qwen3_omni(tmp_path / "listed", generation_eos=151643)
    code, out, _ = run("explain", "listed", cwd=tmp_path)
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("transformers"))
    assert row[1:3] == ["yes", "151645"] and "[151645] (the default of generate()'s thinker_eos_token_id argument, " \
        "which no file sets; generation_config.json is not read for them)" in out, out
    _qwen3_omni(tmp_path / "other", "<|endoftext|>", generation_eos=151643)
    code, out, _ = run("--format", "concise", "other", cwd=tmp_path)
    assert (code, out) == (1, "other/config.json:5:17: EOS001 error: the chat template ends assistant turns with "
                              "'<|endoftext|>' (151643), but generate() stops only on [151645 '<|im_end|>'] (the "
                              "default of generate()'s thinker_eos_token_id argument, which no file sets); pass 151643 "
                              "in thinker_eos_token_id when calling generate() [terminator-not-stop-id]\n"
                              "1 of 1 model folder fails (1 error).\n"), out
    assert run("--diff", "other", cwd=tmp_path)[:2] == (0, "")


def test_the_generate_arguments_modelled_are_the_installed_transformers_ones():
    """GENERATE_EOS_ARGUMENTS against the installed source (read, not imported: the modeling files need torch):
    every generate() with a parameter named *eos_token_id whose default is an id, other than a talker's (audio
    codes), passed on as the inner model's eos_token_id; and every generate() that passes
    ``eos_token_id=self.config.<section>.<key>`` to a generate() it runs."""
    import ast

    transformers = pytest.importorskip("transformers")
    if not transformers.__version__.startswith("5.25."):
        pytest.skip(f"modelled on transformers 5.25, not {transformers.__version__}")
    from transformers.models.auto.modeling_auto import MODEL_FOR_MULTIMODAL_LM_MAPPING_NAMES, MODEL_MAPPING_NAMES

    from eos_guard.model_files import GENERATE_EOS_ARGUMENTS

    found: dict[str, set] = {}
    for path in sorted((Path(transformers.__file__).parent / "models").glob("*/modeling_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            for function in (n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "generate"):
                arguments = function.args.args[len(function.args.args) - len(function.args.defaults):]
                for argument, default in zip(arguments, function.args.defaults):
                    if argument.arg.endswith("eos_token_id") and not argument.arg.startswith("talker_") \
                            and isinstance(default, ast.Constant) and isinstance(default.value, int):
                        found.setdefault(cls.name, set()).add((argument.arg, None, (default.value,)))
                        assert f"'eos_token_id': {argument.arg}" in ast.unparse(function)
                for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)
                             and isinstance(n.func, ast.Attribute) and n.func.attr == "generate"):
                    for keyword in call.keywords:
                        source = ast.unparse(keyword.value)
                        if keyword.arg == "eos_token_id" and source.startswith("self.config."):
                            found.setdefault(cls.name, set()).add(
                                ("eos_token_id", tuple(source.split(".")[2:]), None))
    expected: dict[str, set] = {}
    for model_type, (argument, keys, default) in GENERATE_EOS_ARGUMENTS.items():
        # the generating classes of the type (BLIP's two are in no Auto mapping by that type: named here)
        classes = [MODEL_FOR_MULTIMODAL_LM_MAPPING_NAMES.get(model_type), *{
            "blip": ["BlipForConditionalGeneration", "BlipForQuestionAnswering"]}.get(model_type, [])]
        for name in filter(None, classes):
            expected.setdefault(name, set()).add((argument, keys, default if keys is None else None))
    assert found == expected
    assert MODEL_MAPPING_NAMES["blip"] == "BlipModel"  # the model type the BLIP classes share
    # BlipTextConfig's default separator, which generate() passes where config.json's text_config names none
    assert transformers.BlipConfig().text_config.sep_token_id == GENERATE_EOS_ARGUMENTS["blip"][2][0]


@pytest.mark.parametrize(("text_config", "ids"), [({"sep_token_id": 102}, (102,)), ({}, (102,)), (None, (102,)),
                                                  ({"sep_token_id": 5}, (5,))])
def test_blip_stops_on_the_separator_its_generate_passes(run, tmp_path, text_config, ids):
    """BLIP's generate() passes eos_token_id=text_config.sep_token_id (BlipTextConfig's default 102, BERT's [SEP])
    to its text decoder: a fine-tune saved by transformers 4.26+ has a generation_config.json without an eos, which
    was an EOS004 error though generation stops on the separator."""
    folder = tmp_path / "blip"
    config = {"architectures": ["BlipForConditionalGeneration"], "model_type": "blip",
              "vision_config": {"model_type": "blip_vision_model"}}
    if text_config is not None:
        config["text_config"] = {"model_type": "blip_text_model", "bos_token_id": 30522, **text_config}
    write_json(folder / "config.json", config)
    write_json(folder / "generation_config.json", {"_from_model_config": True, "pad_token_id": 0,
                                                   "transformers_version": "4.26.0.dev0"})
    write_json(folder / "tokenizer_config.json", {"sep_token": "[SEP]", "cls_token": "[CLS]", "pad_token": "[PAD]",
                                                  "tokenizer_class": "BertTokenizer"})
    code, out, _ = run("blip", cwd=tmp_path)
    assert code == 0 and " EOS004 " not in out, out
    assert check_folder(folder).model.runtime_stops["transformers"].ids == ids
