"""ONNX Runtime GenAI exports (genai_config.json, as onnxruntime-genai's model builder writes it): only that runtime
runs them, from genai_config.json's model.eos_token_id (src/config.cpp, v0.15.2 to 0.18.0), so the checks of the stop ids
transformers reads stay silent and EOS029 checks genai_config.json; --fix adds the id there."""

from __future__ import annotations

import json
import shutil

import pytest

from support import FIXTURES, model_of
from eos_guard.runtimes import stops

EXPORT = FIXTURES / "phi3-mini-4k-instruct-onnx"
RUNAWAY = FIXTURES / "phi3-mini-onnx-built-without-generation-config"


def export_with(tmp_path, model_section):
    """The Phi-3 export with genai_config.json's "model" object changed as ``model_section`` says."""
    folder = shutil.copytree(EXPORT, tmp_path / "export", ignore=shutil.ignore_patterns("expected.json", "*.md"))
    data = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))
    model_section(data["model"])
    (folder / "genai_config.json").write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
    return folder


def test_the_export_of_phi3_is_not_said_to_run_past_its_turns(run):
    """The false alarm: the copied config.json says 32000 (EOS001 before), genai_config.json stops on <|end|>."""
    code, out, err = run("--format", "concise", str(EXPORT))
    assert (code, out, err) == (0, "All checks passed (1 model folder).\n", "")


def test_every_runtime_but_onnxruntime_genai_cannot_tell_for_an_export():
    model = model_of(EXPORT)
    verdicts = {name: stops(model, stop) for name, stop in model.runtime_stops.items()}
    assert verdicts["onnxruntime-genai"] is True
    assert verdicts["transformers"] is None  # config.json's 32000 alone, but transformers loads no ONNX weights
    assert all(stop.unknown for name, stop in model.runtime_stops.items() if name != "onnxruntime-genai")
    # no stop set at all, as for an MLX-quantized checkpoint: llama.cpp's and Ollama's converters convert no ONNX
    # weights, so the end-of-generation texts they would add say nothing ("yes" before)
    others = {name: (stop.ids, verdicts[name]) for name, stop in model.runtime_stops.items()
              if name != "onnxruntime-genai"}
    assert set(others.values()) == {((), None)}, others


def test_a_genai_config_without_the_terminator_is_eos029_at_its_value(run):
    code, out, _ = run("--format", "concise", str(RUNAWAY))
    assert code == 1
    assert out.splitlines()[0] == (f"{RUNAWAY}/genai_config.json:28:25: EOS029 error: onnxruntime-genai does not stop on "
                   "'<|end|>' (32007): it stops on [32000 '<|endoftext|>'] (genai_config.json model.eos_token_id "
                   "[32000]); add 32007 [genai-config-does-not-stop]")


def test_without_eos_token_id_onnxruntime_genai_stops_on_the_pad_id(tmp_path, run):
    folder = export_with(tmp_path, lambda model: model.pop("eos_token_id"))
    stop = model_of(folder).runtime_stops["onnxruntime-genai"]
    assert stop.ids == (32000,)
    code, out, _ = run("--format", "concise", str(folder))
    assert code == 1 and " EOS029 " in out and "model.pad_token_id (no eos_token_id)" in out


@pytest.mark.parametrize("value", [pytest.param("32007", id="string"), pytest.param([32000, None], id="null"),
                                   pytest.param(32064, id="vocab-size"), pytest.param(-1, id="negative")])
def test_an_eos_onnxruntime_genai_refuses_is_cannot_tell(tmp_path, run, value):
    """A value that is not an integer makes Config raise; one outside [0, vocab_size) makes Generator raise. The
    stop set is unknown, and since the other runtimes' checks are off for an export, that is EOS029's error: nothing
    in the folder says the model stops (it passed, helper-157)."""
    folder = export_with(tmp_path, lambda model: model.update(eos_token_id=value))
    model = model_of(folder)
    assert stops(model, model.runtime_stops["onnxruntime-genai"]) is None
    code, out, _ = run("--format", "concise", str(folder))
    assert code == 1 and " EOS029 error: onnxruntime-genai cannot run this export (genai_config.json model." in out


@pytest.mark.parametrize("value", [pytest.param(2 ** 31, id="over-int32"), pytest.param(32007.5, id="fraction"),
                                   pytest.param(True, id="bool"), pytest.param([[32007]], id="nested"),
                                   pytest.param(None, id="null-scalar")])
def test_an_eos_safedoubletoint_refuses_is_cannot_tell_even_under_vocab_size(tmp_path, value):
    """SafeDoubleToInt (src/config.cpp) takes a finite, integral number within int32's range; json's true is no
    number, and a vocab_size above the value changes nothing: loading raises before any range check."""
    folder = export_with(tmp_path, lambda model: model.update(eos_token_id=value, vocab_size=2 ** 31 - 1))
    stop = model_of(folder).runtime_stops["onnxruntime-genai"]
    assert stop.unknown and "not an integer" in stop.unknown, stop


def test_an_integral_float_is_the_id_it_names(tmp_path, run):
    """genai's JSON parser reads every number as a double: 32007.0 and 3.2007e4 load as 32007."""
    folder = export_with(tmp_path, lambda model: model.update(eos_token_id=[32000.0, 32007.0]))
    text = (folder / "genai_config.json").read_text(encoding="utf-8").replace("32007.0", "3.2007e4")
    (folder / "genai_config.json").write_text(text, encoding="utf-8")
    stop = model_of(folder).runtime_stops["onnxruntime-genai"]
    assert stop.ids == (32000, 32007) and not stop.unknown
    assert run("--format", "concise", str(folder))[:2] == (0, "All checks passed (1 model folder).\n")


def test_an_empty_eos_list_stops_on_the_pad_id(tmp_path, run):
    """Config::Config fills an empty eos_token_id with pad_token_id, as an absent one."""
    folder = export_with(tmp_path, lambda model: model.update(eos_token_id=[]))
    stop = model_of(folder).runtime_stops["onnxruntime-genai"]
    assert stop.ids == (32000,) and "model.pad_token_id (eos_token_id is [])" in stop.why
    code, out, _ = run("--format", "concise", str(folder))
    assert code == 1 and " EOS029 " in out


def test_fix_of_an_empty_eos_list_keeps_the_pad_id_it_stopped_on(tmp_path, run):
    folder = export_with(tmp_path, lambda model: model.update(eos_token_id=[]))
    run("--fix", str(folder))
    data = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))
    assert data["model"]["eos_token_id"] == [32000, 32007]
    assert run("--format", "concise", str(folder))[:2] == (0, "All checks passed (1 model folder).\n")


@pytest.mark.parametrize("name, value", [("pad_token_id", "32000"), ("vocab_size", None), ("vocab_size", 32064.5)])
def test_a_pad_or_vocab_size_genai_cannot_read_is_cannot_tell(tmp_path, name, value):
    """pad_token_id and vocab_size go through SafeDoubleToInt too: loading raises even when eos_token_id is fine."""
    folder = export_with(tmp_path, lambda model: model.update({name: value}))
    stop = model_of(folder).runtime_stops["onnxruntime-genai"]
    assert stop.ids == () and f"model.{name} is not an integer" in stop.unknown


def test_a_genai_config_that_is_not_json_is_one_error_line(tmp_path, run):
    folder = export_with(tmp_path, lambda model: None)
    (folder / "genai_config.json").write_text('{"model": {"eos_token_id": [32000,}}\n', encoding="utf-8")
    code, out, err = run("--format", "concise", "export", cwd=tmp_path)
    assert code == 2
    assert err == "eos-guard: export/genai_config.json:1:35: cannot parse JSON: Expecting value\n"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_fix_adds_the_terminator_to_genai_config_only(tmp_path, run, newline):
    folder = shutil.copytree(RUNAWAY, tmp_path / "runaway", ignore=shutil.ignore_patterns("expected.json", "*.md"))
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    genai = folder / "genai_config.json"
    genai.write_bytes(before["genai_config.json"].replace(b"\n", newline.encode()))
    code, _, _ = run("--fix", str(folder))
    assert code == 1  # a file was rewritten
    expected = before["genai_config.json"].replace(b'"eos_token_id": 32000,', b'"eos_token_id": [32000, 32007],')
    assert genai.read_bytes() == expected.replace(b"\n", newline.encode())
    assert {path.name: path.read_bytes() for path in folder.iterdir() if path.name != "genai_config.json"} == \
        {name: data for name, data in before.items() if name != "genai_config.json"}  # no generation_config.json
    assert run("--format", "concise", str(folder))[:2] == (0, "All checks passed (1 model folder).\n")


def test_fix_adds_eos_token_id_after_the_pad_id_it_stopped_on(tmp_path, run):
    folder = export_with(tmp_path, lambda model: model.pop("eos_token_id"))
    run("--fix", str(folder))
    data = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))
    assert data["model"]["eos_token_id"] == [32000, 32007]
    assert run("--format", "concise", str(folder))[:2] == (0, "All checks passed (1 model folder).\n")


def test_onnxruntime_genai_alone_checks_no_folder_but_an_export(run):
    """usage.md: onnxruntime-genai runs only what its model builder writes, so a folder without genai_config.json
    has no onnxruntime-genai row, and `--runtime onnxruntime-genai` alone finds no failure to stop there (the example
    runs past its turns in transformers: EOS001 with the default); its warnings are not about a runtime."""
    example = str(FIXTURES.parent.parent / "examples" / "chatml-finetune-broken")
    assert "EOS001" in run("--format", "concise", example)[1]
    code, out, _ = run("--format", "json", "--runtime", "onnxruntime-genai", example)
    document = json.loads(out)
    assert code == 0 and [f for f in document["findings"] if f["severity"] == "error"] == []
    assert {f["code"] for f in document["findings"]} == {"EOS002", "EOS003"}  # not about a runtime: still run
    assert "onnxruntime-genai" not in document["models"][0]["stop_ids"]
    assert "onnxruntime-genai" not in run("explain", example)[1]


def test_a_genai_config_json_makes_any_folder_an_export(run, tmp_path):
    """What docs/security.md says is not promised: eos-guard reads no weights, so a folder's files say what runs it.
    A Llama 3 checkpoint whose generation_config.json does not stop on <|eot_id|> (EOS001) with a genai_config.json
    added that does is checked as an ONNX Runtime GenAI export, and passes: the file is a change of what runs
    the model, to review as one."""
    folder = shutil.copytree(FIXTURES / "llama3-8b-instruct-release", tmp_path / "m",
                             ignore=shutil.ignore_patterns("expected.json", "*.md"))
    assert " EOS001 " in run("--format", "concise", "--baseline", "none", "m")[1]
    (folder / "genai_config.json").write_text(json.dumps({"model": {"eos_token_id": [128001, 128009],
                                                                    "pad_token_id": 128001, "vocab_size": 128256}}),
                                              encoding="utf-8")
    assert run("--format", "concise", "--baseline", "none", "m") == (0, "All checks passed (1 model folder).\n", "")
    # one onnxruntime-genai cannot load says nothing stops (helper-157: '{}' passed, as one without vocab_size did)
    for genai in ({}, {"model": {"eos_token_id": [128001, 128009]}}, {"model": []}):
        (folder / "genai_config.json").write_text(json.dumps(genai), encoding="utf-8")
        code, out, _ = run("--format", "concise", "--baseline", "none", "m")
        assert code == 1 and " EOS029 error: onnxruntime-genai cannot run this export (" in out, (genai, out)
