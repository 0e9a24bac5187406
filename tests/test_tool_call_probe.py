"""A turn that calls a tool must stop too (EOS030): the probe renders a tool call and the tool's answer, and keeps
the added tokens the template writes between them (``Probe.after_call``); transformers is the oracle."""

from __future__ import annotations

import json
import shutil

import pytest

from support import FIXTURES, write_json
from eos_guard.template import TOOL_CALL_SHAPE, Limits, call_end, probe_template, select

transformers = pytest.importorskip("transformers")

CALL = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
TOOL_CHAT = [{"role": "user", "content": "Weather in Paris?"},
             {"role": "assistant", "content": "", "tool_calls": [CALL]},
             {"role": "tool", "name": "get_weather", "content": "sunny"}]


def eos030(run, folder, *extra):
    code, out, _ = run("--format", "json", "--baseline", "none", *extra, str(folder))
    return [f["message"] for f in json.loads(out)["findings"] if f["code"] == "EOS030"]


def test_gpt_oss_as_first_published_does_not_stop_after_a_tool_call(tmp_path, run):
    """openai/gpt-oss-20b's generation_config.json first listed [200002, 199999] (<|return|>, <|endoftext|>): answers
    stop, but the harmony template ends a calling turn with <|call|> 200012, which transformers then writes past.
    --fix lists 200012, as OpenAI later did (add-only, the rest of the file as it was), and the finding is gone."""
    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    rendered = tokenizer.apply_chat_template(TOOL_CHAT, tokenize=False)
    after = rendered.split('"Paris"}', 1)[1]
    assert after.startswith("<|call|>") and tokenizer.convert_tokens_to_ids("<|call|>") == 200012, after
    stop = transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id
    assert 200012 not in stop and 200002 in stop

    messages = eos030(run, folder)
    assert len(messages) == 1 and messages[0].startswith(
        "after the arguments of a tool call, the chat template writes '<|call|>' (200012), '<|start|>' (200006)"), messages
    assert messages[0].endswith("; add 200012 ('<|call|>' ends them)"), messages
    assert eos030(run, folder, "--no-cache") == messages
    assert eos030(run, folder) == messages  # from the cache this time

    before = (folder / "generation_config.json").read_text(encoding="utf-8")
    assert run("--fix", "--baseline", "none", "--ignore", "EOS030", str(folder))[0] == 0
    assert (folder / "generation_config.json").read_text(encoding="utf-8") == before  # a rule turned off fixes nothing
    code, _, _ = run("--fix", "--exit-zero-even-if-changed", "--baseline", "none", str(folder))
    after_fix = (folder / "generation_config.json").read_text(encoding="utf-8")
    assert code == 0 and after_fix == before.replace("199999\n  ],", "199999,\n    200012\n  ],"), after_fix
    assert transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id == [200002, 199999, 200012]
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    assert code == 0 and json.loads(out)["findings"] == [], out


GLM_TOKENS = {151329: "<|endoftext|>", 151331: "[gMASK]", 151333: "<sop>", 151336: "<|user|>",
              151337: "<|assistant|>", 151338: "<|observation|>", 151352: "<tool_call>", 151353: "</tool_call>",
              151354: "<tool_response>", 151355: "</tool_response>"}
# GLM-4.5's shape: a turn ends where the next role's header starts; a tool's answer comes after <|observation|>
GLM_TEMPLATE = (
    "[gMASK]<sop>{% for m in messages %}"
    "{% if m.role == 'user' %}<|user|>\n{{ m.content }}"
    "{% elif m.role == 'assistant' %}<|assistant|>\n{{ m.content }}"
    "{% for c in m.tool_calls or [] %}<tool_call>{{ c.function.name }}\n{{ c.function.arguments | tojson }}"
    "</tool_call>{% endfor %}"
    "{% elif m.role == 'tool' %}<|observation|><tool_response>\n{{ m.content }}\n</tool_response>"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")


def chat_folder(folder, tokens, template, stop_ids, config, **tokenizer_config):
    """A folder of tokenizer_config.json (``tokens`` as special added tokens, the template), config.json and
    generation_config.json (both with ``stop_ids``)."""
    folder.mkdir(parents=True)
    decoder = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                        "special": True} for i, t in tokens.items()}
    write_json(folder / "tokenizer_config.json", {"added_tokens_decoder": decoder, "chat_template": template,
                                                  **tokenizer_config})
    write_json(folder / "config.json", {**config, "eos_token_id": stop_ids})
    write_json(folder / "generation_config.json", {"eos_token_id": stop_ids})
    return folder


def glm_folder(tmp_path, stop_ids):
    return chat_folder(tmp_path / "glm", GLM_TOKENS, GLM_TEMPLATE, stop_ids,
                       {"architectures": ["Glm4MoeForCausalLM"], "model_type": "glm4_moe", "vocab_size": 151552},
                       eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def test_glm_stops_a_calling_turn_on_the_tool_turns_header(tmp_path, run):
    """GLM-4.5/4.6 list [151329, 151336, 151338]: <|user|> ends answers, <|observation|> (the tool turn's header)
    ends a turn that calls a tool. Without 151338 answers still stop, tool calls do not."""
    assert eos030(run, glm_folder(tmp_path / "a", [151329, 151336, 151338])) == []
    messages = eos030(run, glm_folder(tmp_path / "b", [151329, 151336]))
    assert len(messages) == 1 and "'</tool_call>' (151353), '<|observation|>' (151338), '<tool_response>' (151354)" \
        in messages[0] and messages[0].endswith("add 151338 ('<|observation|>' ends them)"), messages
    folder = tmp_path / "b" / "glm"
    assert run("--fix", "--exit-zero-even-if-changed", "--baseline", "none", str(folder))[0] == 0
    assert json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))["eos_token_id"] == [
        151329, 151336, 151338]
    assert eos030(run, folder) == []


LLAMA4_TOKENS = {200000: "<|begin_of_text|>", 200001: "<|end_of_text|>", 200005: "<|header_start|>",
                 200006: "<|header_end|>", 200007: "<|eom|>", 200008: "<|eot|>", 200018: "<|finetune_right_pad|>"}
# Llama 4's shape: an answer ends with <|eot|>, a turn that calls a tool with <|eom|> (then the tool's header)
LLAMA4_TEMPLATE = (
    "<|begin_of_text|>{% for m in messages %}<|header_start|>{{ 'ipython' if m.role == 'tool' else m.role }}"
    "<|header_end|>\n\n{{ m.content }}"
    "{% for c in m.tool_calls or [] %}{{ {'name': c.function.name, 'parameters': c.function.arguments} | tojson }}"
    "{% endfor %}{{ '<|eom|>' if m.tool_calls else '<|eot|>' }}{% endfor %}"
    "{% if add_generation_prompt %}<|header_start|>assistant<|header_end|>\n\n{% endif %}")


def test_llama_4_stops_a_calling_turn_on_eom(tmp_path, run):
    """helper-179: Meta's Llama 4 releases list [200001, 200007, 200008]; after the alignment-handbook's collapse to
    200008 (<|eot|>) answers stop, but a turn that calls a tool ends with <|eom|> 200007. EOS030 named no id (it
    knew Llama 3.1's <|eom_id|>, not Llama 4's <|eom|>) and --fix added nothing; it names and adds 200007."""
    folder = chat_folder(tmp_path / "l4", LLAMA4_TOKENS, LLAMA4_TEMPLATE, 200008,
                         {"architectures": ["Llama4ForCausalLM"], "model_type": "llama4_text", "vocab_size": 202048},
                         eos_token="<|eot|>", bos_token="<|begin_of_text|>")
    from transformers.utils.chat_template_utils import render_jinja_template  # the renderer apply_chat_template runs

    rendered = render_jinja_template([TOOL_CHAT], chat_template=LLAMA4_TEMPLATE)[0][0]  # (texts, indices)
    assert '"Paris"}}<|eom|><|header_start|>ipython' in rendered, rendered
    messages = eos030(run, folder)
    assert len(messages) == 1 and messages[0].endswith("add 200007 ('<|eom|>' ends them)"), messages
    assert run("--fix", "--exit-zero-even-if-changed", "--baseline", "none", str(folder))[0] == 0
    assert transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id == [200008, 200007]
    assert eos030(run, folder) == []


def _qwen_with_template(tmp_path, template: str):
    """qwen2-instruct-aligned with ``template`` as its chat template, and what transformers renders after the sample
    call's arguments."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(folder / "tokenizer_config.json", {**config, "chat_template": template})
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    return folder, tokenizer.apply_chat_template(TOOL_CHAT, tokenize=False).split('"Paris"}}', 1)[1]


def test_a_chatml_tool_call_ends_with_the_answers_terminator(tmp_path, run):
    """Qwen2.5's shape: </tool_call> (no stop id) then <|im_end|>, which ends answers too: the calling turn stops
    where answers do, and a folder whose answers do not stop gets EOS001, not EOS030."""
    folder, after = _qwen_with_template(tmp_path, (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}"
        "{% for c in m.tool_calls or [] %}<tool_call>\n{{ c.function | tojson }}\n</tool_call>{% endfor %}"
        "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"))
    assert after.startswith("\n</tool_call><|im_end|>"), after
    assert eos030(run, folder) == []
    write_json(folder / "generation_config.json", {"eos_token_id": 151643})
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    codes = [f["code"] for f in json.loads(out)["findings"]]
    assert "EOS001" in codes and "EOS030" not in codes, codes


def test_a_template_that_writes_no_end_for_a_calling_turn_shows_nothing_to_stop_on(tmp_path, run):
    """Command R+'s tool_use template writes an action and opens the tool result's turn at once
    (<|START_OF_TURN_TOKEN|>), where an answer gets <|END_OF_TURN_TOKEN|> first: EOS030 warned on the official folder
    and named no id to add (helper-172, -164, -159). What the model ends such a turn with is not shown: no finding,
    and explain cannot tell whether calls stop. A calling turn that ends with a token of its own is still judged."""
    template = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}"
                "{% if m.tool_calls %}Action: {{ m.tool_calls[0].function | tojson }}{% else %}<|im_end|>\n{% endif %}"
                "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    folder, after = _qwen_with_template(tmp_path, template)
    assert after.startswith("<|im_start|>tool"), after  # no <|im_end|> after the action
    assert eos030(run, folder) == []
    rows = json.loads(run("explain", "--format", "json", str(folder))[1])["models"][0]["runtimes"]
    assert {row["calls_stop"] for row in rows} == {None}, rows
    # with a token of its own after the action (<|endoftext|>, no stop id here), the calling turn is judged
    folder, _ = _qwen_with_template(tmp_path / "own", template.replace("tojson }}{% else %}",
                                                                       "tojson }}<|endoftext|>{% else %}"))
    write_json(folder / "generation_config.json", {"eos_token_id": 151645})
    assert len(eos030(run, folder)) == 1


def test_a_template_without_tool_calls_is_not_checked_and_its_probe_is_unchanged():
    """A template that refuses a "tool" message (Mistral's and Gemma's alternation check) or ignores tool_calls
    has no after_call; its errors are those of the answer probes only, so EOS014's message is unchanged."""
    added = ["<|im_start|>", "<|im_end|>"]
    refusing = ("{% for m in messages %}{% if m.role not in ['user', 'assistant', 'system'] %}"
                "{{ raise_exception('Conversation roles must alternate user/assistant') }}{% endif %}"
                "<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}")
    probe = probe_template(refusing, {}, added, Limits(cache=False))
    assert probe.token == "<|im_end|>" and probe.after_call is None and probe.errors == []
    ignoring = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    probe = probe_template(ignoring, {}, added, Limits(cache=False))
    assert probe.token == "<|im_end|>" and probe.after_call is None


def test_the_tool_call_outcome_is_never_taken_for_an_answer():
    """select() reads the tool-call outcome for after_call only: not as the answer's tail, nor as an error that
    would make every probe conversation look failed."""
    added = ["<|call|>", "<|start|>", "<|return|>"]
    probe = select([(TOOL_CALL_SHAPE, "tail", '"}<|call|><|start|>functions'),
                    ("user,assistant", "tail", "<|return|>")], added)
    assert probe.token == "<|return|>" and probe.shape == "user,assistant" and probe.after_call == ["<|call|>",
                                                                                                   "<|start|>"]
    probe = select([(TOOL_CALL_SHAPE, "tail", "<|call|>"), ("user,assistant", "error", "TypeError: x")], added)
    assert probe.token is None and not probe.marker_seen and probe.errors == ["user,assistant: TypeError: x"]
    probe = select([(TOOL_CALL_SHAPE, "error", "TemplateError: no tools"), ("user,assistant", "tail", "<|return|>")],
                   added)
    assert probe.after_call is None and probe.errors == []


def test_align_adds_the_calling_turns_end_and_leaves_a_folder_eos_guard_finds_clean(tmp_path):
    """align() (the training callback's save-time fix) gains, like --fix, the token that ends a turn calling a tool
    where no stop id follows a call: gpt-oss's [200002, 199999] becomes [200002, 199999, 200012]; the folder then
    saved with the real save_pretrained methods has no finding. An aligned list is left as it is."""
    from types import SimpleNamespace

    from eos_guard.align import align, stop_ids
    from eos_guard.pipeline import check_folder

    folder = FIXTURES / "gpt-oss-harmony-return-vs-end"
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = SimpleNamespace(config=transformers.AutoConfig.from_pretrained(str(folder)),
                            generation_config=transformers.GenerationConfig.from_pretrained(str(folder)))
    assert stop_ids(model, tokenizer) == [200002, 199999, 200012]
    changes = align(model, tokenizer)
    assert changes["generation_config.eos_token_id"] == ([200002, 199999], [200002, 199999, 200012]), changes
    assert align(model, tokenizer) == {}
    saved = tmp_path / "saved"
    model.config.save_pretrained(saved)
    model.generation_config.save_pretrained(saved)
    tokenizer.save_pretrained(saved)
    report = check_folder(saved)
    assert report.error is None and [f.code for f in report.findings] == [], report.findings


HEAVY_WITH_TOOLS = [
    # an output over the limit only where a tool answers
    "{% for m in messages %}{% if m.role == 'tool' %}{{ 'y' * 1500000 }}{% endif %}{% endfor %}",
    # a loop that calls nothing, only under a tool call: the deadline (SIGALRM) stops it
    "{% for m in messages %}{% if m.tool_calls %}{% for i in range(99999) %}{% for j in range(99999) %}"
    "{% endfor %}{% endfor %}{% endif %}{% endfor %}",
]
CHATML_ANSWERS = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                  "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@pytest.mark.parametrize("heavy", HEAVY_WITH_TOOLS, ids=["output", "time"])
def test_a_template_heavy_only_with_tools_keeps_its_answers_check(tmp_path, run, heavy):
    """The tool call is rendered after the answers' probe, and a limit it hits is its own: a template cannot turn
    an EOS001 into a passing folder by being slow or huge only when a tool answers (helper-98's repro)."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = heavy + CHATML_ANSWERS
    write_json(folder / "tokenizer_config.json", config)
    write_json(folder / "generation_config.json", {"eos_token_id": 151643})
    write_json(folder / ".eos-guard.yaml", {"template-timeout": 0.5})
    for extra in ([], ["--no-cache"]):
        code, out, _ = run("--format", "json", "--baseline", "none", *extra, str(folder))
        codes = [f["code"] for f in json.loads(out)["findings"]]
        assert code == 1 and "EOS001" in codes and "EOS014" not in codes, out
    probe = probe_template(config["chat_template"], {}, ["<|im_start|>", "<|im_end|>"],
                           Limits(seconds=0.5, cache=False))
    assert probe.token == "<|im_end|>" and probe.limit_exceeded is None and probe.after_call is None


def test_a_template_that_concatenates_the_arguments_gets_them_as_a_json_string():
    """DeepSeek V3's template writes ``tool['function']['arguments']`` into a string, which an object breaks
    (TypeError): the tool call is rendered again with the arguments as JSON text, as OpenAI-style clients send."""
    template = ("{% for m in messages %}{% if m.tool_calls %}{% for c in m.tool_calls %}"
                "{{ '<|tool_call|>' + c.function.name + '\\n' + c.function.arguments + '<|tool_call_end|>' }}"
                "{% endfor %}<|eos|>{% elif m.role == 'tool' %}<|tool_output|>{{ m.content }}"
                "{% else %}<|{{ m.role }}|>{{ m.content }}<|eos|>{% endif %}{% endfor %}")
    probe = probe_template(template, {}, ["<|tool_call|>", "<|tool_call_end|>", "<|eos|>", "<|tool_output|>",
                                          "<|user|>", "<|assistant|>"], Limits(cache=False))
    assert probe.token == "<|eos|>" and probe.after_call == ["<|tool_call_end|>", "<|eos|>", "<|tool_output|>"]


def test_one_fix_is_enough_where_answers_do_not_stop_either(tmp_path, run):
    """EOS030 waits for answers to stop (EOS001 comes first), so --fix adds the calling turn's end together with the
    answers' terminator: a second run finds nothing (helper-98's repro: gpt-oss with only 199999)."""
    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    write_json(folder / "generation_config.json", {"eos_token_id": [199999], "pad_token_id": 199999})
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    assert [f["code"] for f in json.loads(out)["findings"]] == ["EOS001", "EOS002"], out  # no EOS030 yet
    run("--fix", "--baseline", "none", str(folder))
    assert json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))["eos_token_id"] == [
        199999, 200002, 200012]
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    assert code == 0 and json.loads(out)["findings"] == [], out


def test_the_advice_names_only_an_id_the_model_can_emit(tmp_path, run):
    """A calling turn's end at or past config.json's vocab_size is no id to add (EOS006's concern): the finding
    asks for the token that ends such turns, and --fix adds nothing for it."""
    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "vocab_size": 200010})
    messages = eos030(run, folder)
    assert len(messages) == 1 and messages[0].endswith("add the id of the token that ends them"), messages
    before = (folder / "generation_config.json").read_text(encoding="utf-8")
    run("--fix", "--baseline", "none", str(folder))
    assert (folder / "generation_config.json").read_text(encoding="utf-8") == before


def test_a_template_that_writes_only_text_arguments_gets_them_as_a_json_string():
    """A template that writes the arguments only when they are text (and shows no call for an object) is read from
    the JSON-string form too."""
    template = ("{% for m in messages %}{% if m.tool_calls %}{% for c in m.tool_calls %}"
                "{% if c.function.arguments is string %}<tool_call>{{ c.function.arguments }}</tool_call>{% endif %}"
                "{% endfor %}<|im_end|>\n{% elif m.role == 'tool' %}<|im_start|>tool\n{{ m.content }}<|im_end|>\n"
                "{% else %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}")
    probe = probe_template(template, {}, ["<tool_call>", "</tool_call>", "<|im_start|>", "<|im_end|>"],
                           Limits(cache=False))
    assert probe.token == "<|im_end|>" and probe.after_call == ["</tool_call>", "<|im_end|>", "<|im_start|>"]


SLOW_UNDER_A_TOOL = ("{% if messages[-1].role == 'tool' %}{% for i in range(20000) %}{% for j in range(1000) %}"
                     "{% endfor %}{% endfor %}{% endif %}")


def test_a_tool_call_stopped_by_a_limit_is_not_cached(tmp_path, run):
    """A tool call that hits the time limit has no after_call, and that probe is not cached (the cache key holds no
    time limit): with more time the same template shows its EOS030 again (helper-99's repro)."""
    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    (folder / "chat_template.jinja").write_text(SLOW_UNDER_A_TOOL + template, encoding="utf-8")
    write_json(folder / ".eos-guard.yaml", {"template-timeout": 0.3})
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    assert json.loads(out)["findings"] == [], out  # answers stop; the tool call was cut short
    write_json(folder / ".eos-guard.yaml", {"template-timeout": 60})
    assert len(eos030(run, folder)) == 1


def _small_stack() -> bool:
    from test_sandbox_limits import _stack_limit

    return _stack_limit() <= 64 << 20


@pytest.mark.skipif(not _small_stack(), reason="a stack this large holds the recursion: nothing crashes")
def test_a_worker_lost_in_the_tool_call_leaves_the_answers_check_alone(tmp_path, run):
    """A template that crashes the render worker (a C stack overflow) only in the tool call, after every answer
    shape was rendered (text ends its answers, so the parent reads them all): the answers' finding (EOS011) stands,
    with no EOS014."""
    from test_sandbox_limits import NESTED_TUPLE_HASHED

    folder = shutil.copytree(FIXTURES / "terminator-plain-text", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = ("{% if messages[-1].role == 'tool' %}" + NESTED_TUPLE_HASHED + "{% endif %}"
                               + config["chat_template"])
    write_json(folder / "tokenizer_config.json", config)
    code, out, _ = run("--format", "json", "--baseline", "none", "--no-cache", str(folder))
    codes = [f["code"] for f in json.loads(out)["findings"]]
    assert "EOS011" in codes and "EOS014" not in codes, out


def test_after_call_keeps_at_most_thirty_two_tokens_of_the_first_1024_characters():
    """docs/resolution.md: the tokens after a call, in order, at most 32 in 1,024 characters (8 cut Kimi K3's
    <|end_of_msg|> off, after the eight tags it closes: helper-159)."""
    added = [f"<t{i}>" for i in range(40)]
    many = "{% for m in messages %}{% if m.tool_calls %}{{ m.tool_calls[0].function.arguments | tojson }}" \
           + "".join(added) + "{% elif m.role == 'tool' %}{{ m.content }}{% else %}{{ m.content }}<t0>{% endif %}" \
           "{% endfor %}"
    assert probe_template(many, {}, added, Limits(cache=False)).after_call == added[:32]
    far = many.replace("".join(added), "{{ 'x' * 1030 }}<t1>")
    assert probe_template(far, {}, added, Limits(cache=False)).after_call == []


def test_the_call_id_is_nine_letters_and_digits_as_mistral_templates_require():
    """Mistral's templates raise unless a tool call's id is nine letters and digits; the probe's passes, and its
    calling turn ends with </s>, a stop id: no EOS030."""
    template = (
        "{% for m in messages %}{% if m.role == 'user' %}[INST]{{ m.content }}[/INST]"
        "{% elif m.tool_calls %}[TOOL_CALLS][{% for c in m.tool_calls %}"
        "{% if c.id is not string or c.id|length != 9 %}{{ raise_exception('Tool call IDs should be alphanumeric "
        "strings with length 9!') }}{% endif %}{\"name\": \"{{ c.function.name }}\", \"arguments\": "
        "{{ c.function.arguments | tojson }}, \"id\": \"{{ c.id }}\"}{% endfor %}]</s>"
        "{% elif m.role == 'tool' %}[TOOL_RESULTS]{\"content\": {{ m.content | tojson }}, \"call_id\": "
        "\"{{ m.tool_call_id }}\"}[/TOOL_RESULTS]"
        "{% else %}{{ m.content }}</s>{% endif %}{% endfor %}")
    probe = probe_template(template, {}, ["[INST]", "[/INST]", "[TOOL_CALLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]",
                                          "</s>"], Limits(cache=False))
    assert probe.token == "</s>" and probe.after_call == ["</s>", "[TOOL_RESULTS]"]


def test_a_fix_of_eos001_leaves_the_calling_turn_alone_where_eos030_is_off(tmp_path, run):
    """docs/fix.md: the calling turn's end comes with the terminators unless EOS030 is turned off."""
    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    write_json(folder / "generation_config.json", {"eos_token_id": [199999], "pad_token_id": 199999})
    run("--fix", "--baseline", "none", "--ignore", "EOS030", str(folder))
    assert json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))["eos_token_id"] == [
        199999, 200002]


def test_runtimes_md_lists_the_rules_an_export_skips_as_the_code_does():
    """docs/runtimes.md names the rules about generate()'s stop ids, which an ONNX Runtime GenAI export and an
    MLX-quantized checkpoint do not run (Rule.reads_generation_configs): EOS030 is one of them."""
    from support import ROOT
    from eos_guard.rules import ALL_RULES

    codes = [rule.code for rule in ALL_RULES if rule.reads_generation_configs]
    assert codes[:4] == ["EOS001", "EOS002", "EOS003", "EOS004"]
    listed = f"the rules about the stop ids generate() reads (EOS001-EOS004, {', '.join(codes[4:])}) are not run"
    assert (ROOT / "docs" / "runtimes.md").read_text(encoding="utf-8").replace("\n", " ").count(listed) == 2


def test_explain_shows_whether_each_runtime_stops_a_calling_turn(tmp_path, run):
    """Where a calling turn ends with its own token (gpt-oss's <|call|>), explain says so under the answers' line and
    adds a column: generate() (transformers as the oracle), vLLM, SGLang and mlx-lm read generation_config.json's
    [200002, 199999] and run on; llama.cpp and Ollama stop on <|call|> by its end-of-generation text. The JSON
    output carries the same (``calling_turn``, ``calls_stop``), and a check's ``templates[].after_call``."""
    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    stop = transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id
    call = transformers.AutoTokenizer.from_pretrained(str(folder)).convert_tokens_to_ids("<|call|>")
    code, out, _ = run("explain", str(folder))
    assert code == 0
    lines = out.splitlines()
    assert lines[2].startswith("  after the arguments of a tool call, the template writes '<|call|>' (200012), "
                               "'<|start|>' (200006)")
    assert lines[3].split() == ["runtime", "stops?", "calls", "stop?", "stop", "ids", "why"], lines[3]
    rows = {line.split()[0]: line.split()[1:3] for line in lines[4:12]}
    assert rows["transformers"] == ["yes", "yes" if call in stop else "NO"] == ["yes", "NO"]
    assert rows["vllm"] == rows["sglang"] == rows["mlx-lm"] == ["yes", "NO"], rows
    assert rows["llama.cpp"] == rows["ollama"] == ["yes", "yes"] and rows["tgi"] == ["unknown", "unknown"], rows

    code, out, _ = run("explain", "--format", "json", str(folder))
    model = json.loads(out)["models"][0]
    assert model["calling_turn"][0] == {"token": "<|call|>", "id": 200012}, model["calling_turn"]
    assert {r["runtime"]: r["calls_stop"] for r in model["runtimes"]} == {
        "transformers": False, "vllm": False, "sglang": False, "tgi": None, "mlx-lm": False, "llama.cpp": True,
        "ollama": True}
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    assert json.loads(out)["models"][0]["templates"][0]["after_call"][:2] == [
        {"token": "<|call|>", "id": 200012}, {"token": "<|start|>", "id": 200006}]

    # Once generation_config.json lists <|call|>, every runtime that reads it stops a calling turn too.
    write_json(folder / "generation_config.json", {"eos_token_id": [200002, 199999, 200012]})
    code, out, _ = run("explain", "--format", "json", str(folder))
    calls = {r["runtime"]: r["calls_stop"] for r in json.loads(out)["models"][0]["runtimes"]}
    assert calls == {"transformers": True, "vllm": True, "sglang": True, "tgi": None, "mlx-lm": True,
                     "llama.cpp": True, "ollama": True}, calls


def test_explain_adds_no_column_where_answers_and_calls_end_alike(tmp_path, run):
    """ChatML's <|im_end|> ends a calling turn too: the table keeps its four columns, and the JSON says the
    calling turn's tokens and that it stops where answers do; a template without tool calls has none (null)."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    plain = config["chat_template"]
    config["chat_template"] = (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}"
        "{% for c in m.tool_calls or [] %}<tool_call>\n{{ c.function | tojson }}\n</tool_call>{% endfor %}"
        "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    write_json(folder / "tokenizer_config.json", config)
    code, out, _ = run("explain", str(folder))
    assert "calls a tool" not in out and out.splitlines()[2].split() == ["runtime", "stops?", "stop", "ids", "why"]
    code, out, _ = run("explain", "--format", "json", str(folder))
    model = json.loads(out)["models"][0]
    assert [t["token"] for t in model["calling_turn"]] == ["<|im_end|>", "<|im_start|>"], model["calling_turn"]
    assert all(r["calls_stop"] == r["stops"] for r in model["runtimes"]), model["runtimes"]

    config["chat_template"] = plain
    write_json(folder / "tokenizer_config.json", config)
    code, out, _ = run("explain", "--format", "json", str(folder))
    model = json.loads(out)["models"][0]
    assert model["calling_turn"] is None and {r["calls_stop"] for r in model["runtimes"]} == {None}


def test_calls_stop_is_unknown_where_the_call_token_has_no_id(tmp_path, run):
    """gpt-oss's template without added_tokens_decoder or tokenizer.json: '<|call|>' has no id in these files, so
    whether a runtime stops on it cannot be told (llama.cpp would, by its text): null, not false."""
    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    (folder / "tokenizer.json").unlink(missing_ok=True)
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.pop("added_tokens_decoder", None)
    write_json(folder / "tokenizer_config.json", config)
    code, out, _ = run("explain", "--format", "json", str(folder))
    model = json.loads(out)["models"][0]
    assert model["calling_turn"] and any(t["id"] is None for t in model["calling_turn"]), model["calling_turn"]
    assert {r["calls_stop"] for r in model["runtimes"]} == {None}, model["runtimes"]


BUILTIN_CALL = {"type": "function", "function": {"name": "brave_search", "arguments": {"query": "Paris weather"}}}


def test_llama31_collapsed_to_its_tokenizer_eos_does_not_stop_after_a_built_in_tool_call(tmp_path, run):
    """The alignment-handbook's save-time patch turns Llama 3.1's [128001, 128008, 128009] into 128009: answers
    still stop at <|eot_id|>, but with ``builtin_tools`` (Meta's "ipython" mode) the template ends a calling turn
    with <|eom_id|> 128008 (transformers renders it so), which generate() no longer stops on. EOS030 names the
    built-in call; the same from the shipped results, a render in the worker and the cache; --fix adds 128008."""
    folder = shutil.copytree(FIXTURES / "llama31-8b-instruct-sft-collapsed-eos", tmp_path / "m")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    chat = [TOOL_CHAT[0], {"role": "assistant", "content": "", "tool_calls": [BUILTIN_CALL]},
            {"role": "tool", "name": "brave_search", "content": "sunny"}]
    rendered = tokenizer.apply_chat_template(chat, tokenize=False, builtin_tools=["brave_search", "wolfram_alpha"])
    assert rendered.split('Paris weather"', 1)[1].lstrip(')}').startswith("<|eom_id|><|start_header_id|>ipython")
    plain = tokenizer.apply_chat_template(TOOL_CHAT, tools=[{"type": "function", "function": {
        "name": "get_weather", "description": "Get the weather.", "parameters": {"type": "object", "properties": {}}}}],
        tokenize=False)
    assert plain.split('"Paris"}}', 1)[1].startswith("<|eot_id|>")  # a call to any other tool ends as answers do
    stop = transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id
    assert stop == 128009 and tokenizer.convert_tokens_to_ids("<|eom_id|>") == 128008

    messages = eos030(run, folder)
    assert messages == [
        "after the arguments of a call to a built-in tool (one listed in builtin_tools, which the template reads), the chat template "
        "writes '<|eom_id|>' (128008), '<|start_header_id|>' (128006), '<|end_header_id|>' (128007), but generate() "
        "stops only on [128009 '<|eot_id|>'] (generation_config.json eos_token_id): turns that call a built-in tool "
        "run on; add 128008 ('<|eom_id|>' ends them)"], messages
    assert eos030(run, folder, "--no-cache") == messages  # rendered in the worker, not from the shipped results
    assert eos030(run, folder) == messages  # from the cache this time

    code, _, _ = run("--fix", "--exit-zero-even-if-changed", "--baseline", "none", str(folder))
    assert code == 0
    assert transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id == [128009, 128008]
    assert eos030(run, folder) == []


def test_the_built_in_call_is_probed_only_where_the_template_names_builtin_tools():
    """A template that never reads ``builtin_tools`` renders the same call either way: no second render, no
    ``after_builtin_call``; one that reads it but ends both calls alike adds no second calling turn."""
    added = ["<|im_end|>", "<|eom|>"]
    chatml = ("{% for m in messages %}{{ m['content'] }}{% if m.tool_calls %}{{ m.tool_calls[0].function.arguments"
              " | tojson }}{% endif %}<|im_end|>{% endfor %}")
    probe = probe_template(chatml, {}, added, Limits(cache=False))
    assert probe.after_call == ["<|im_end|>"] and probe.after_builtin_call is None and len(probe.calls()) == 1
    alike = chatml.replace("<|im_end|>{% endfor %}", "<|im_end|>{% endfor %}{# builtin_tools #}")
    probe = probe_template(alike, {}, added, Limits(cache=False))
    assert probe.after_builtin_call == probe.after_call == ["<|im_end|>"] and probe.calls() == [(False, ["<|im_end|>"])]
    own = chatml.replace("<|im_end|>{% endfor %}",
                         "{% if m.tool_calls and builtin_tools is defined %}<|eom|>{% else %}<|im_end|>{% endif %}"
                         "{% endfor %}")
    probe = probe_template(own, {}, added, Limits(cache=False))
    assert probe.calls() == [(False, ["<|im_end|>"]), (True, ["<|eom|>"])], probe


def test_explain_shows_the_built_in_call_where_it_ends_with_a_token_of_its_own(tmp_path, run):
    """Llama 3.1 after the collapse: a line for the built-in call and the ``calls stop?`` column, NO where the
    runtime's stop ids lack 128008 (generate(), vLLM, TGI, mlx-lm), yes where they hold it (SGLang adds <|eom_id|>;
    llama.cpp and Ollama stop on its text); the JSON's ``builtin_calling_turn`` and a check's
    ``templates[].after_builtin_call``."""
    folder = FIXTURES / "llama31-8b-instruct-sft-collapsed-eos"
    code, out, _ = run("explain", str(folder))
    lines = out.splitlines()
    assert code == 0 and lines[2].startswith(
        "  after the arguments of a call to a built-in tool (builtin_tools), the template writes '<|eom_id|>' "
        "(128008)"), lines
    rows = {line.split()[0]: line.split()[1:3] for line in lines[4:11]}
    assert rows == {"transformers": ["yes", "NO"], "vllm": ["yes", "NO"], "sglang": ["yes", "yes"],
                    "tgi": ["yes", "NO"], "mlx-lm": ["yes", "NO"], "llama.cpp": ["yes", "yes"],
                    "ollama": ["yes", "yes"]}, rows
    code, out, _ = run("explain", "--format", "json", str(folder))
    model = json.loads(out)["models"][0]
    assert model["builtin_calling_turn"][0] == {"token": "<|eom_id|>", "id": 128008}
    assert model["calling_turn"][0] == {"token": "<|eot_id|>", "id": 128009}
    # calls_stop is false where either calling turn runs on (the ordinary call stops at <|eot_id|> everywhere)
    assert {r["runtime"]: r["calls_stop"] for r in model["runtimes"]} == {
        "transformers": False, "vllm": False, "sglang": True, "tgi": False, "mlx-lm": False, "llama.cpp": True,
        "ollama": True}
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    template = json.loads(out)["models"][0]["templates"][0]
    assert template["after_builtin_call"][0] == {"token": "<|eom_id|>", "id": 128008}
    assert template["after_call"][0] == {"token": "<|eot_id|>", "id": 128009}


# Gemma 4's shape (google/gemma-4 -it templates; ids as its tokenizer numbers them): the tool's result goes in the
# calling message itself (tool_responses), right after the call; an OpenAI-style "tool" message is a turn of its own
GEMMA4_TOKENS = {1: "<eos>", 2: "<bos>", 48: "<|tool_call>", 49: "<tool_call|>", 50: "<|tool_response>",
                 51: "<tool_response|>", 105: "<|turn>", 106: "<turn|>"}
GEMMA4_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|turn>{{ 'model' if m.role == 'assistant' else m.role }}\n"
    "{% for c in m.tool_calls or [] %}<|tool_call>call:{{ c.function.name }}{{ c.function.arguments | tojson }}"
    "<tool_call|>{% endfor %}"
    "{% for r in m.tool_responses or [] %}<|tool_response>response:{{ r.name }}{{ r.response | tojson }}"
    "<tool_response|>{% endfor %}{{ m.content }}"
    "{% if not (m.tool_responses and not m.content) %}<turn|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|turn>model\n{% endif %}")


def gemma4_folder(tmp_path, stop_ids):
    folder = chat_folder(tmp_path / "gemma4", GEMMA4_TOKENS, GEMMA4_TEMPLATE, stop_ids,
                         {"architectures": ["Gemma4ForConditionalGeneration"], "model_type": "gemma4",
                          "vocab_size": 262144},
                         bos_token="<bos>", eos_token="<eos>", tokenizer_class="PreTrainedTokenizerFast")
    from tokenizers import Tokenizer, models

    vocab = {"<unk>": 0, **{t: i for i, t in GEMMA4_TOKENS.items()}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.add_special_tokens(list(GEMMA4_TOKENS.values()))
    backend.save(str(folder / "tokenizer.json"))
    return folder


def test_gemma4_s_own_tool_result_format_shows_what_ends_a_calling_turn(tmp_path, run):
    """helper-156: Gemma 4 releases list [1, 106, 50]; a fine-tune that kept [1, 106] stops its answers (<turn|>)
    but not its tool calls, after which the model writes <|tool_response>, as the format it is trained on puts the
    result in the calling message (vllm#45591: tool calls never stopped). eos-guard rendered only an OpenAI-style
    "tool" message, a turn of its own opened after <turn|>, and passed. A template whose text names
    tool_responses is probed with the result in the message first (transformers renders both alike)."""
    folder = gemma4_folder(tmp_path / "a", [1, 106])
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    native = [TOOL_CHAT[0], {**TOOL_CHAT[1], "tool_responses": [{"name": "get_weather", "response": "sunny"}]}]
    after = tokenizer.apply_chat_template(native, tokenize=False).split('"Paris"}', 1)[1]
    assert after.startswith("<tool_call|><|tool_response>"), after
    messages = eos030(run, folder)
    assert len(messages) == 1 and "'<tool_call|>' (49), '<|tool_response>' (50)" in messages[0] \
        and messages[0].endswith("add 50 ('<|tool_response>' ends them)"), messages
    assert eos030(run, gemma4_folder(tmp_path / "b", [1, 106, 50])) == []
    # the alignment-handbook's scalar: one fix lists the answers' terminator and the calling turn's
    folder = gemma4_folder(tmp_path / "c", 1)
    assert run("--fix", "--exit-zero-even-if-changed", "--baseline", "none", str(folder))[0] == 0
    assert json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))["eos_token_id"] == [1, 106, 50]


def test_a_template_that_fails_on_transformers_tool_list_has_its_call_rendered_without_it():
    """helper-156: Apertus' template prints each tool's ``description`` at its top level and fails on the form
    transformers documents ({"type": "function", "function": {...}}), so the call was never rendered and a calling
    turn that ends with <|tools_suffix|> went unchecked. When every render with the tools listed fails, the call is
    rendered without them."""
    template = ("{% for t in tools or [] %}{{ t.description.upper() }}{% endfor %}"
                "{% for m in messages %}{% if m.tool_calls %}<|assistant_start|>"
                "{% for c in m.tool_calls %}<|tools_prefix|>{{ c.function.arguments | tojson }}{% endfor %}"
                "<|tools_suffix|>{% elif m.role == 'tool' %}[{{ m.content }}]<|assistant_end|>"
                "{% else %}<|{{ m.role }}_start|>{{ m.content }}<|{{ m.role }}_end|>{% endif %}{% endfor %}")
    tokens = ["<|tools_prefix|>", "<|tools_suffix|>", "<|assistant_start|>", "<|assistant_end|>", "<|user_start|>",
              "<|user_end|>"]
    probe = probe_template(template, {}, tokens, Limits(cache=False))
    assert probe.token == "<|assistant_end|>" and probe.after_call == ["<|tools_suffix|>"], probe
    assert call_end(probe.after_call) == "<|tools_suffix|>"  # Apertus lists it: [2, 68, 72] (Megatron-LM#120)
