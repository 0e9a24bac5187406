"""The chat template a runtime renders where a processor has one of its own (helper-185).

vLLM 0.34.0 renders AutoProcessor's ``chat_template`` for a request without tools (``vllm/renderers/hf.py``
``resolve_chat_template``), and SGLang 0.5.23 for every request of a model it runs as multimodal
(``srt/parser/template_manager.py`` ``_resolve_hf_chat_template``); TGI's router renders chat_template.json's for every
request (helper-192: ``router/src/server.rs`` 1662-1689); transformers' text-generation pipeline renders
the tokenizer's. Where the two templates end answers with different tokens, each runtime is judged on its own.
The folders are Qwen2-VL-shaped copies of tests/fixtures/qwen2-instruct-aligned (Qwen2-VL-7B-Instruct's ids: stop ids
151645 ``<|im_end|>`` and 151643), with a chat_template.json whose answers end with another token.
"""

from __future__ import annotations

import json
import shutil

import pytest

from support import FIXTURES, model_of, write_json
from eos_guard.runtimes import answer_terminator, stops, target_id

IM_END, IM_START = 151645, 151644


def _folder(tmp_path, architecture="Qwen2VLForConditionalGeneration", processor_breaks=True):
    """A Qwen2-VL-shaped folder whose tokenizer's template ends answers with ``<|im_end|>`` (a stop id) and whose
    chat_template.json ends them with ``<|im_start|>`` (none), or the other way round."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "architectures": [architecture], "model_type": "qwen2_vl"})
    write_json(folder / "preprocessor_config.json", {"image_processor_type": "Qwen2VLImageProcessor",
                                                     "processor_class": "Qwen2VLProcessor"})
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    good = settings["chat_template"]
    bad = good.replace("<|im_end|>", "<|im_start|>")
    write_json(folder / "chat_template.json", {"chat_template": bad if processor_breaks else good})
    if not processor_breaks:
        write_json(folder / "tokenizer_config.json", {**settings, "chat_template": bad})
    return folder


def test_vllm_and_sglang_render_the_processor_s_template(tmp_path):
    """The processor's template ends answers with a token no runtime stops on: vLLM and SGLang run away, the
    text-generation pipeline (the tokenizer's template) stops. eos-guard said vLLM and SGLang stop."""
    model = model_of(_folder(tmp_path))
    assert model.files.processor_renders == ("chat_template.json",)
    verdicts = {name: stops(model, model.runtime_stops[name]) for name in ("transformers", "vllm", "sglang", "tgi")}
    assert verdicts == {"transformers": True, "vllm": False, "sglang": False, "tgi": False}
    vllm, tgi = model.runtime_stops["vllm"], model.runtime_stops["tgi"]
    assert (tgi.template, tgi.tool_template) == ("chat_template.json", "chat_template.json")  # TGI: every chat
    assert (vllm.template, vllm.tool_template) == ("chat_template.json", "")  # with tools: the tokenizer's
    assert target_id(model, vllm) == IM_START and target_id(model) == IM_END
    assert answer_terminator(model, vllm).template.name == "chat_template.json"


def test_the_mirror_case_stops_in_vllm_and_sglang(tmp_path):
    """The tokenizer's template is the broken one: the pipeline runs away, vLLM and SGLang (without tools) stop.
    eos-guard said vLLM does not stop (EOS016), true only for a request with tools."""
    model = model_of(_folder(tmp_path, processor_breaks=False))
    verdicts = {name: stops(model, model.runtime_stops[name]) for name in ("transformers", "vllm", "sglang", "tgi")}
    assert verdicts == {"transformers": False, "vllm": True, "sglang": True, "tgi": True}


def test_sglang_runs_gemma_3_as_a_textmodel_of(tmp_path):
    """SGLang 0.5.23 builds no processor for Gemma3ForConditionalGeneration without --enable-multimodal
    (mm_disabled_models), so it renders the tokenizer's template; vLLM still renders the processor's."""
    model = model_of(_folder(tmp_path, architecture="Gemma3ForConditionalGeneration"))
    assert model.runtime_stops["sglang"].template == ""
    assert stops(model, model.runtime_stops["sglang"]) is True
    assert stops(model, model.runtime_stops["vllm"]) is False


def test_without_a_processor_a_leftover_chat_template_json_is_not_checked(tmp_path):
    """No processor file: AutoProcessor returns the tokenizer, and the leftover chat_template.json is not checked;
    of the runtimes, only TGI's router renders it (in place of the tokenizer's), which its row does not model
    (docs/runtimes.md)."""
    folder = _folder(tmp_path)
    (folder / "preprocessor_config.json").unlink()
    write_json(folder / "config.json", {**json.loads((folder / "config.json").read_text(encoding="utf-8")),
                                        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"})
    model = model_of(folder)
    assert model.files.processor_renders == ()
    assert {stop.template for stop in model.runtime_stops.values()} == {""}
    assert all(stops(model, stop) is not False for stop in model.runtime_stops.values())


@pytest.mark.parametrize("runtime, name, chats", [("vllm", "vLLM", "a chat without tools"),
                                                  ("sglang", "SGLang", "every chat"), ("tgi", "TGI", "every chat")])
def test_eos016_names_the_template_the_runtime_renders(tmp_path, run, runtime, name, chats):
    folder = _folder(tmp_path)
    code, out, _ = run("--runtime", runtime, "--no-cache", "--baseline", "none", str(folder))
    assert code == 1
    assert f"EOS016 error: {name} does not stop on '<|im_start|>' ({IM_START}), which ends answers in the " \
           f"chat_template.json template it renders for {chats}: it stops on" in out, out
    code, out, _ = run("--runtime", runtime, "--no-cache", "--baseline", "none",
                       str(_folder(tmp_path / "mirror", processor_breaks=False)))
    assert "EOS016" not in out, out


def test_explain_says_which_template_a_runtime_renders(tmp_path, run):
    code, out, _ = run("explain", "--no-cache", str(_folder(tmp_path)))
    assert "  vllm renders the 'chat_template.json' template for a chat without tools (a processor's), whose " \
           f"answers end with '<|im_start|>' ({IM_START})" in out, out
    assert "  sglang renders the 'chat_template.json' template for every chat" in out, out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.startswith("  ") and
            line.split()[0] in ("transformers", "vllm", "sglang")}
    assert rows == {"transformers": "yes", "vllm": "NO", "sglang": "NO"}
    code, out, _ = run("explain", "--format", "json", "--no-cache", str(tmp_path / "m"))
    [model] = json.loads(out)["models"]
    assert model["target"] == IM_END  # the default template's
    assert {row["runtime"]: row["stops"] for row in model["runtimes"]}["vllm"] is False


def test_eos001_offers_to_delete_a_stale_chat_template_json_beside_chat_template_jinja(tmp_path, run):
    """transformers 5 saves a processor's template to chat_template.jinja (``ProcessorMixin.save_pretrained``), but
    its processor still reads an older save's chat_template.json first (``get_processor_dict``, processing_utils.py
    5.25, the legacy path): a fine-tune that changed the template kept the stale file (helper-185). Beside adding the
    id, EOS001 says that deleting the stale file is the other way out; not where the tokenizer's template is
    inline (nothing of the .jinja's to fall back to)."""
    folder = _folder(tmp_path)
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    (folder / "chat_template.jinja").write_text(settings.pop("chat_template"), encoding="utf-8")
    write_json(folder / "tokenizer_config.json", settings)
    # transformers' own reading of the processor's files (no processor is built: no image processor needed here)
    from transformers.processing_utils import ProcessorMixin

    bad = json.loads((folder / "chat_template.json").read_text(encoding="utf-8"))["chat_template"]
    assert ProcessorMixin.get_processor_dict(str(folder))[0]["chat_template"] == bad
    code, out, _ = run("--no-cache", "--baseline", "none", str(folder))
    assert code == 1
    assert f"EOS001 error: the 'chat_template.json' chat template ends assistant turns with '<|im_start|>' " \
           f"({IM_START}), but generate() stops only on" in out, out
    assert f"add {IM_START}, or delete chat_template.json: the processor reads it instead of chat_template.jinja " \
           "(whose template ends turns with '<|im_end|>'), which transformers 5 saves the processor's template to " \
           "[terminator-not-stop-id]" in out, out
    code, out, _ = run("--no-cache", "--baseline", "none", str(_folder(tmp_path / "inline")))
    assert "EOS001" in out and "delete chat_template.json" not in out, out


def test_the_template_is_named_only_where_its_answers_end_otherwise(tmp_path, run):
    """The processor's template ends answers as the tokenizer's does (a VLM release ships the same template twice):
    EOS016 and explain say nothing about which one a runtime renders."""
    folder = _folder(tmp_path, processor_breaks=False)
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(folder / "chat_template.json", {"chat_template": settings["chat_template"]})  # both break
    code, out, _ = run("--runtime", "vllm", "--no-cache", "--baseline", "none", str(folder))
    assert f"EOS016 error: vLLM does not stop on '<|im_start|>' ({IM_START}): it stops on" in out, out
    code, out, _ = run("explain", "--no-cache", str(folder))
    assert " renders the " not in out, out



def test_sglang_runs_a_model_with_a_text_sub_config_as_multimodal(tmp_path):
    """SGLang's has_multimodal_subconfig (srt/configs/model_config.py): SmolVLM and Idefics3 are not in its
    multimodal_model_archs, but their config.json has a text_config, so SGLang builds the processor and renders its
    template (helper-187: eos-guard judged SGLang on the tokenizer's)."""
    folder = _folder(tmp_path, architecture="SmolVLMForConditionalGeneration")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "model_type": "smolvlm", "text_config": {"model_type": "llama"}})
    model = model_of(folder)
    assert model.runtime_stops["sglang"].template == "chat_template.json"
    assert stops(model, model.runtime_stops["sglang"]) is False
    write_json(folder / "config.json", {**config, "model_type": "smolvlm", "text_config": {"model_type": "llama"},
                                        "language_model_only": True})
    assert model_of(folder).runtime_stops["sglang"].template == ""
    # a composite config class gives the config object a text_config of its own when config.json has none
    write_json(folder / "config.json", {**config, "model_type": "qwen2_vl"})
    assert model_of(folder).runtime_stops["sglang"].template == "chat_template.json"


def test_sglang_renders_the_first_of_additional_chat_templates(tmp_path):
    """A processor built over chat_template.jinja and additional_chat_templates/ (what transformers 5 saves for named
    templates) holds them as one dict, the additional ones first and "default" last (get_processor_dict): SGLang
    renders the first, vLLM the "default" one (helper-187)."""
    folder = _folder(tmp_path)
    (folder / "chat_template.json").unlink()
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    good = settings.pop("chat_template")
    write_json(folder / "tokenizer_config.json", settings)
    (folder / "chat_template.jinja").write_text(good, encoding="utf-8")
    (folder / "additional_chat_templates").mkdir()
    (folder / "additional_chat_templates" / "tool_use.jinja").write_text(
        good.replace("<|im_end|>", "<|im_start|>"), encoding="utf-8")
    model = model_of(folder)
    assert model.files.processor_renders == ("tool_use", "default")
    assert (model.runtime_stops["sglang"].template, model.runtime_stops["vllm"].template) == ("tool_use", "default")
    assert stops(model, model.runtime_stops["sglang"]) is False and stops(model, model.runtime_stops["vllm"]) is True


@pytest.mark.parametrize("case", ["processor_config names the class only", "chat_template.json with additional"])
def test_no_processor_is_built_where_autoprocessor_raises(tmp_path, case):
    """processor_config.json that names the class but nests no image processor's config, without a
    preprocessor_config.json (image_processing_base.py raises OSError), or chat_template.json beside
    additional_chat_templates/ (get_processor_dict raises ValueError): no processor, so vLLM renders the tokenizer's
    template and stops (helper-187: EOS016 said it does not)."""
    folder = _folder(tmp_path)
    if case.startswith("processor_config"):
        (folder / "preprocessor_config.json").unlink()
        write_json(folder / "processor_config.json", {"processor_class": "Qwen2VLProcessor", "image_seq_length": 256})
    else:  # the tokenizer's templates in .jinja files, as transformers 5 saves them, beside a stale legacy file
        settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        good = settings.pop("chat_template")
        write_json(folder / "tokenizer_config.json", settings)
        (folder / "chat_template.jinja").write_text(good, encoding="utf-8")
        (folder / "additional_chat_templates").mkdir()
        (folder / "additional_chat_templates" / "tool_use.jinja").write_text(good, encoding="utf-8")
    model = model_of(folder)
    assert model.files.processor_renders == ()
    assert "chat_template.json" not in model.files.templates  # read by nothing: not checked (no EOS001)
    assert stops(model, model.runtime_stops["vllm"]) is True and stops(model, model.runtime_stops["sglang"]) is True
    if case.startswith("processor_config"):  # a processor's file that nests its image processor's config: built
        nested = {"image_processor_type": "Qwen2VLImageProcessor"}
        write_json(folder / "processor_config.json", {"processor_class": "Qwen2VLProcessor", "image_processor": nested})
        built = model_of(folder)
        assert stops(built, built.runtime_stops["vllm"]) is False


def test_a_processor_s_named_templates_without_a_tokenizer_template_end_answers_with_its_default(tmp_path):
    """chat_template.json holds {"tool_use": ..., "default": ...} and the tokenizer has no template: the processor's
    apply_chat_template takes "default" (processing_utils.py), as eos-guard's answer end now does (helper-187: the
    first, "tool_use", was taken, and every runtime said NO)."""
    folder = _folder(tmp_path)
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    good = settings.pop("chat_template")
    write_json(folder / "tokenizer_config.json", settings)
    write_json(folder / "chat_template.json", {"chat_template": {
        "tool_use": good.replace("<|im_end|>", "<|im_start|>"), "default": good}})
    model = model_of(folder)
    assert model.terminator.template.name == "chat_template.json" and target_id(model) == IM_END
    assert model.files.processor_renders == ("chat_template.json:tool_use", "chat_template.json")
    assert stops(model, model.runtime_stops["vllm"]) is True and stops(model, model.runtime_stops["sglang"]) is False


def test_a_chat_template_json_no_processor_reads_never_ends_the_answers(tmp_path):
    """helper-188: chat_template.json beside additional_chat_templates/ builds no processor (get_processor_dict raises),
    and the tokenizer has only named templates: the answers' end was taken from chat_template.json by its name,
    which nothing renders (a new EOS017). Only a processor's default template stands in for a missing default."""
    folder = _folder(tmp_path)
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    (folder / "additional_chat_templates").mkdir()
    (folder / "additional_chat_templates" / "tool_use.jinja").write_text(settings["chat_template"], encoding="utf-8")
    model = model_of(folder)
    assert model.files.processor_renders == () and model.terminator.template.name == "tool_use"
    assert target_id(model) == IM_END


def test_where_a_runtime_reads_no_template_its_row_judges_the_folder_s_own(tmp_path):
    """helper-192: TGI db931fcf42 reads chat_template.json, else tokenizer_config.json's inline template, never
    chat_template.jinja; and a text model whose tokenizer has no template (its only one a leftover
    chat_template.json) can chat in none of vLLM, SGLang, TGI, mlx-lm or transformers. A runtime without a template
    refuses chat requests (vLLM 400, TGI 422) rather than run on; the rows judge what answers formatted by the
    folder's template end with, as a client formatting its prompt itself sends them (docs/runtimes.md)."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "jinja-only")
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    (folder / "chat_template.jinja").write_text(settings.pop("chat_template"), encoding="utf-8")
    write_json(folder / "tokenizer_config.json", settings)
    model = model_of(folder)
    assert model.terminator.template.name == "default" and model.runtime_stops["tgi"].template == ""
    assert answer_terminator(model, model.runtime_stops["tgi"]) is model.terminator
    assert target_id(model, model.runtime_stops["tgi"]) == IM_END

    text_model = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "leftover")
    settings = json.loads((text_model / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(text_model / "chat_template.json", {"chat_template": settings.pop("chat_template")})
    write_json(text_model / "tokenizer_config.json", settings)
    model = model_of(text_model)
    assert model.files.processor_renders == () and model.terminator.template.name == "chat_template.json"
    for name, stop in model.runtime_stops.items():
        assert answer_terminator(model, stop) is model.terminator, name
