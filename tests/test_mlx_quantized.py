"""MLX-quantized checkpoints (config.json "quantization", as mlx_lm.convert -q writes them for the mlx-community
repositories): only mlx-lm loads their packed weights, so the other runtimes cannot tell, the checks of the stop ids
generate() reads stay silent, and EOS016 checks mlx-lm whether selected or not; --fix adds the id where mlx-lm
reads it."""

from __future__ import annotations

import json
import shutil

import pytest

from support import FIXTURES, write_safetensors_header
from eos_guard.model_files import ModelFiles
from eos_guard.resolve import resolve
from eos_guard.runtimes import stop_sets, stops

ALIGNED = FIXTURES / "llama3-finetune-mlx-4bit-tokenizer-eos-eot-id"  # mlx-lm 0.32.2: both keys, with "mode"
RUNAWAY = FIXTURES / "llama3-8b-instruct-release-mlx-4bit"  # mlx-lm <= 0.18.1: "quantization" alone
MLX_0_32 = {"group_size": 64, "bits": 4, "mode": "affine"}


def with_config(tmp_path, source, change):
    """``source`` copied, with config.json changed by ``change`` (a function of the parsed object)."""
    folder = shutil.copytree(source, tmp_path / "model", ignore=shutil.ignore_patterns("expected.json", "*.md"))
    data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    change(data)
    (folder / "config.json").write_text(json.dumps(data, indent=4), encoding="utf-8")
    return folder


def verdicts(folder):
    model = resolve(ModelFiles.read(folder))
    model.runtime_stops = stop_sets(model)
    return model, {name: stops(model, stop) for name, stop in model.runtime_stops.items()}


def test_an_mlx_fine_tune_that_stops_in_mlx_lm_is_not_said_to_run_on(run):
    """The false alarm: transformers' stop ids [128001] lack <|eot_id|> (EOS001 before), but transformers does not load
    the folder, and mlx-lm 0.32 stops on the tokenizer's eos <|eot_id|>."""
    assert run("--format", "concise", str(ALIGNED)) == (0, "All checks passed (1 model folder).\n", "")


def test_only_mlx_lm_has_a_stop_set_for_an_mlx_checkpoint():
    model, verdict = verdicts(ALIGNED)
    assert verdict == {"transformers": None, "vllm": None, "sglang": None, "tgi": None, "mlx-lm": True,
                       "llama.cpp": None, "ollama": None}
    others = [stop for name, stop in model.runtime_stops.items() if name != "mlx-lm"]
    assert all(stop.ids == () and "MLX-quantized" in stop.unknown and "mlx-lm runs it" in stop.fix for stop in others)
    # llama.cpp's rule would stop on <|eot_id|> (a known end-of-generation text): its other lines cannot tell either
    assert all(other.ids == () for stop in others for other in stop.others)


def test_mlx_lm_running_on_is_eos016_at_its_value_whatever_runtimes_are_selected(run):
    expected = (f"{RUNAWAY}/generation_config.json:3:19: EOS016 error: mlx-lm does not stop on '<|eot_id|>' (128009): "
                "it stops on [128001 '<|end_of_text|>'] (generation_config.json eos_token_id [128001] ∪ tokenizer eos "
                "128001); add the id to generation_config.json eos_token_id, or pass --extra-eos-token "
                "[runtime-does-not-stop]")
    for selection in ([], ["--runtime", "vllm"], ["--runtime", "mlx-lm"]):
        code, out, _ = run("--format", "concise", *selection, str(RUNAWAY))
        assert (code, out.splitlines()[0]) == (1, expected), selection
        assert " EOS001 " not in out and " EOS017 " not in out


def test_fix_makes_mlx_lm_stop(tmp_path, run):
    folder = shutil.copytree(RUNAWAY, tmp_path / "model")
    config = (folder / "config.json").read_bytes()
    assert run("--fix", str(folder))[0] == 1
    assert json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))["eos_token_id"] == [128001,
                                                                                                          128009]
    assert (folder / "config.json").read_bytes() == config
    assert run("--format", "concise", str(folder)) == (0, "All checks passed (1 model folder).\n", "")


@pytest.mark.parametrize("change", [
    pytest.param(lambda c: c.pop("quantization"), id="no-quantization-key"),
    pytest.param(lambda c: c.update(quantization={"bits": 4}), id="no-group-size"),
    pytest.param(lambda c: c.update(quantization={"group_size": 64, "bits": "4"}), id="bits-not-an-integer"),
    pytest.param(lambda c: c.update(quantization={"group_size": 64, "bits": True}), id="bits-a-boolean"),
    pytest.param(lambda c: c.update(quantization_config={"quant_method": "gptq", "bits": 4, "group_size": 128}),
                 id="hf-quantization-config"),
])
def test_a_folder_that_is_not_an_mlx_checkpoint_keeps_every_runtime(tmp_path, run, change):
    """A Hugging Face quantization_config always names its quant_method (GPTQ, AWQ, bitsandbytes... load in
    transformers and vLLM); without MLX's "quantization" object, the folder is checked as any other."""
    folder = with_config(tmp_path, ALIGNED, change)
    assert not ModelFiles.read(folder).mlx_quantized
    _, verdict = verdicts(folder)
    assert verdict["transformers"] is False
    code, out, _ = run("--format", "concise", str(folder))
    assert code == 1 and " EOS001 " in out


@pytest.mark.parametrize("change", [
    pytest.param(lambda c: None, id="mlx-lm-0.32"),
    pytest.param(lambda c: c.pop("quantization_config"), id="mlx-lm-0.18.1-quantization-only"),
    pytest.param(lambda c: c["quantization"].update({"model.layers.0.mlp.down_proj": {"group_size": 64, "bits": 8}}),
                 id="mixed-per-layer"),
    pytest.param(lambda c: c.update(quantization={"group_size": 32, "bits": 4, "mode": "mxfp4"},
                                    quantization_config={"group_size": 32, "bits": 4, "mode": "mxfp4"}), id="mxfp4"),
])
def test_what_mlx_lm_writes_is_an_mlx_checkpoint(tmp_path, change):
    assert ModelFiles.read(with_config(tmp_path, ALIGNED, change)).mlx_quantized


def test_transformers_refuses_the_quantization_config_mlx_lm_writes():
    """The oracle: from_pretrained asks AutoHfQuantizer.supports_quant_method about config.json's quantization_config
    (transformers/quantizers/auto.py get_hf_quantizer, 5.24), which raises without quant_method. (Loading such a
    folder for real, with a tiny Llama saved in MLX's packed layout, also fails without quantization_config: the
    packed weights' sizes do not match, and from_pretrained raises.)"""
    from transformers.quantizers.auto import AutoHfQuantizer

    with pytest.raises(ValueError, match="no `quant_method`"):
        AutoHfQuantizer.supports_quant_method(dict(MLX_0_32))


def test_weights_without_scales_are_no_mlx_checkpoint(tmp_path, run):
    """helper-157: a "quantization" object added to config.json turned the transformers checks off, though
    transformers ignores the key and loads the weights whole. Every layer mlx-lm quantizes holds a ".scales"
    tensor: weights beside that name none are not MLX-quantized (without weights to tell, or an LFS pointer, the
    config still says it)."""
    folder = shutil.copytree(RUNAWAY, tmp_path / "model", ignore=shutil.ignore_patterns("expected.json", "*.md"))
    assert ModelFiles.read(folder).mlx_quantized
    write_safetensors_header(folder / "model.safetensors", ["model.layers.0.mlp.down_proj.weight",
                                                       "model.layers.0.mlp.down_proj.scales",
                                                       "model.layers.0.mlp.down_proj.biases"])
    assert ModelFiles.read(folder).mlx_quantized
    write_safetensors_header(folder / "model.safetensors", ["model.layers.0.mlp.down_proj.weight", "lm_head.weight"])
    assert not ModelFiles.read(folder).mlx_quantized
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    assert code == 1 and "EOS001" in [f["code"] for f in json.loads(out)["findings"]], out
    # docs/runtimes.md: transformers reads quantization_config, not quantization (no quantizer for these weights)
    transformers = pytest.importorskip("transformers")
    assert getattr(transformers.AutoConfig.from_pretrained(str(folder)), "quantization_config", None) is None
