"""Each runtime's stop set, checked against its source: gguf-py itself for llama.cpp's converter, and table
tests (expected sets derived from each runtime's code, cited per case) for the others."""

from __future__ import annotations

import json

import pytest

from support import FIXTURES, RULE_CASES, write_json
from eos_guard.model_files import ModelFiles
from eos_guard.resolve import resolve
from eos_guard.runtimes import RUNTIMES, stops
from eos_guard.runtimes.llama_cpp import converter_special_ids

gguf = pytest.importorskip("gguf")

FOLDERS = sorted(p for p in FIXTURES.iterdir() if p.is_dir() and (p / "expected.json").exists())


def model_of(folder):
    """The resolved folder, with its files still loaded (check_folder releases tokenizer.json after the rules)."""
    return resolve(ModelFiles.read(folder))


@pytest.mark.parametrize("folder", [pytest.param(f, id=f.name) for f in FOLDERS + sorted(
    p for p in RULE_CASES.iterdir() if p.is_dir())])
def test_llama_cpp_converter_matches_gguf_special_vocab(folder):
    vocab = gguf.SpecialVocab(folder, load_merges=False)
    theirs = {k: v for k, v in vocab.special_token_ids.items() if k in ("eos", "eot")}
    assert converter_special_ids(model_of(folder)) == theirs


# (fixture, runtime) -> expected stop ids, and whether a chat answer stops. Sources:
# vllm: SamplingParams.update_from_generation_config (tokenizer eos ∪ generation_config eos).
# sglang: ModelConfig._get_hf_eos_token_id (config ∪ generation_config) ∪ tokenizer eos.
# tgi: FlashCausalLM.__init__ (a generation_config list replaces the tokenizer eos; an int is ignored).
# mlx-lm: load_config + TokenizerWrapper (generation_config replaces config replaces tokenizer eos).
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
    ("yi-34b-chat-tokenizer-eos-endoftext", "mlx-lm", [7], True),
    # Phi-3: a list in generation_config.json.
    ("phi3-mini-4k-instruct", "tgi", [32000, 32001, 32007], True),
    ("phi3-mini-4k-instruct", "mlx-lm", [32000, 32001, 32007], True),
    # A config.json-only list with no generation_config.json.
    ("llama31-modelstock-merge-config-list", "transformers", [128001, 128008, 128009], True),
    ("llama31-modelstock-merge-config-list", "vllm", [128009, 128001, 128008], True),
    ("llama31-modelstock-merge-config-list", "tgi", [128009], True),
    ("llama31-modelstock-merge-config-list", "mlx-lm", [128001, 128008, 128009], True),
    # gpt-oss: llama.cpp drops <|end|> (200007) from its list when <|return|> and <|call|> exist.
    ("gpt-oss-harmony-return-vs-end", "llama.cpp", [200002, 200012, 199999], True),
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
    assert set(model["stop_ids"]) == set(RUNTIMES)
    assert model["stops"] == {"transformers": True, "vllm": True, "sglang": True, "tgi": False, "mlx-lm": True,
                              "llama.cpp": True, "ollama": True}


def test_selected_runtime_failure_is_an_error(run):
    folder = str(FIXTURES / "yi-34b-chat-tokenizer-eos-endoftext")
    assert run(folder)[0] == 0
    code, out, _ = run("--runtime", "tgi", folder)
    assert code == 1 and ": EOS016 error: TGI does not stop on '<|im_end|>' (7)" in out
    assert run("--runtime", "transformers,vllm", folder)[0] == 0


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


def test_explain_json(run):
    code, out, _ = run("explain", "--format", "json", str(FIXTURES / "phi3-mini-4k-instruct"))
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["models"][0]["target"] == 32007
    assert all(r["stops"] for r in doc["models"][0]["runtimes"])
