"""The tokens a template writes one right after the other after an answer (``Probe.run``): the model writes them
in turn, so generation stops at the first that is a stop id. Only the tokens written after every answer count:
after the last turn and before the next one."""

from __future__ import annotations

import pytest

from eos_guard.template import Limits, TemplateLimitExceeded, probe_template, select

ADDED = ["<|END_RESPONSE|>", "<|END_OF_TURN_TOKEN|>", "<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>",
         "<|im_end|>", "<|im_start|>", "<|endoftext|>"]


def outcomes(last: str, going_on: str | None) -> list[tuple[str, str, str]]:
    result = [("user,assistant", "tail", last), ("system,user,assistant", "tail", last)]
    if going_on is not None:
        result.append(("user,assistant,user", "tail", going_on))
    return result


@pytest.mark.parametrize("last,going_on,run", [
    # Command R7B: both write <|END_RESPONSE|><|END_OF_TURN_TOKEN|>
    ("<|END_RESPONSE|><|END_OF_TURN_TOKEN|>", "<|END_RESPONSE|><|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|>"
     "<|USER_TOKEN|>", ["<|END_RESPONSE|>", "<|END_OF_TURN_TOKEN|>"]),
    # the eos only after the last turn: between turns <|im_end|> is followed by a newline
    ("<|im_end|><|endoftext|>", "<|im_end|>\n<|im_start|>user\n", ["<|im_end|>"]),
    # between turns another token follows
    ("<|im_end|><|endoftext|>", "<|im_end|><|im_start|>user\n", ["<|im_end|>"]),
    # whitespace before and between the tokens is written too
    (" <|im_end|>", " <|im_end|>\n", ["<|im_end|>"]),
    ("<|im_end|> <|endoftext|>", "<|im_end|> <|endoftext|><|im_start|>", ["<|im_end|>", "<|endoftext|>"]),
    ("<|END_RESPONSE|>\n<|END_OF_TURN_TOKEN|>", "<|END_RESPONSE|>\n<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|>",
     ["<|END_RESPONSE|>", "<|END_OF_TURN_TOKEN|>"]),
    # ... whether or not whitespace stands between them, and whichever (the model writes the same tokens)
    ("<|END_RESPONSE|>\n<|END_OF_TURN_TOKEN|>", "<|END_RESPONSE|><|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|>",
     ["<|END_RESPONSE|>", "<|END_OF_TURN_TOKEN|>"]),
    ("<|END_RESPONSE|> <|END_OF_TURN_TOKEN|>", "<|END_RESPONSE|>\n<|END_OF_TURN_TOKEN|>\n<|START_OF_TURN_TOKEN|>",
     ["<|END_RESPONSE|>", "<|END_OF_TURN_TOKEN|>"]),
    ("<|close|>response<|sep|>\n<|end_of_msg|>", "<|close|>response<|sep|><|end_of_msg|><|open|>",
     ["<|close|>", "<|sep|>", "<|end_of_msg|>"]),
    # text between two tokens is written too, where every answer is followed by it (Kimi K3 closes its tags before
    # <|end_of_msg|>, its stop id)
    ("<|im_end|>x<|endoftext|>", "<|im_end|>x<|endoftext|>", ["<|im_end|>", "<|endoftext|>"]),
    ("<|close|>response<|sep|><|close|>message<|sep|><|end_of_msg|>",
     "<|close|>response<|sep|><|close|>message<|sep|><|end_of_msg|><|open|>message role=\"user\"<|sep|>",
     ["<|close|>", "<|sep|>", "<|close|>", "<|sep|>", "<|end_of_msg|>"]),
    # ... and not where the next turn writes other text there
    ("<|im_end|>x<|endoftext|>", "<|im_end|>y<|endoftext|>", ["<|im_end|>"]),
    ("<|im_end|>\nx<|endoftext|>", "<|im_end|>\n<|im_start|>user\n", ["<|im_end|>"]),
    # text before the first token after the last answer is written too, then the token, which ends the answer
    # (</answer><|im_end|>: it was no run, and EOS011 said the answer ends in text)
    ("x<|im_end|>", "x<|im_end|>\n", ["<|im_end|>"]),
    ("</answer><|im_end|><|endoftext|>", "</answer><|im_end|>\n<|im_start|>user\n", ["<|im_end|>"]),
    # ... but not only between turns, where text may be the next turn's header
    ("", "x<|im_end|>\n", None),
    # no conversation goes on to another turn: only the first token
    ("<|END_RESPONSE|><|END_OF_TURN_TOKEN|>", None, ["<|END_RESPONSE|>"]),
])
def test_the_run_is_what_every_answer_is_followed_by(last, going_on, run):
    probe = select(outcomes(last, going_on), ADDED + ["<|close|>", "<|sep|>", "<|end_of_msg|>", "<|open|>"])
    if run is None:
        assert probe.token is None and probe.run == []
    else:
        assert probe.token == run[0] and probe.run == run and probe.shape == "user,assistant"


@pytest.mark.parametrize("last", ["\n--  <|endoftext|>", "x  y<|im_end|>", "x\t\t<|im_end|>"])
def test_an_added_token_of_whitespace_never_ends_an_answer(last):
    """Phi-2's and GPT-NeoX's tokenizers add runs of spaces as tokens. Text the template writes after the last answer
    counts before the first token (helper-112): a run of spaces in it was taken for the terminator, and --fix made
    it a stop id (generation would stop at every indent). It is text: the token after it ends the answer."""
    probe = select(outcomes(last, None), ADDED + ["  ", "\t\t"])
    assert probe.token == last.rstrip()[last.rstrip().rindex("<"):], probe


def test_a_run_seen_only_between_turns_is_one_token():
    """The answer is followed by a token only when the chat goes on: nothing says what ends the last turn."""
    probe = select([("user,assistant", "tail", ""), ("user,assistant,user", "tail",
                                                     "<|END_RESPONSE|><|END_OF_TURN_TOKEN|>")], ADDED)
    assert probe.token == "<|END_RESPONSE|>" and probe.run == ["<|END_RESPONSE|>"]


def test_a_render_stopped_by_the_limits_after_the_answer_was_found_keeps_the_first_token():
    def rendered():
        yield "user,assistant", "tail", "<|END_RESPONSE|><|END_OF_TURN_TOKEN|>"
        raise TemplateLimitExceeded("over the time limit")

    probe = select(rendered(), ADDED)
    assert probe.token == "<|END_RESPONSE|>" and probe.run == ["<|END_RESPONSE|>"] and probe.limit_exceeded is None


def test_no_other_conversation_is_rendered_when_one_token_follows_the_answer():
    seen = []

    def rendered():
        for item in outcomes("<|im_end|>\n", "<|im_end|>\n<|im_start|>"):
            seen.append(item[0])
            yield item

    assert select(rendered(), ADDED).run == ["<|im_end|>"]
    assert seen == ["user,assistant"]


def test_a_real_render_gives_the_run(tmp_path):
    """The same through jinja2: the template's own renders, not written outcomes."""
    template = ("{% for m in messages %}{% if m.role == 'assistant' %}<|START_RESPONSE|>{{ m.content }}"
                "<|END_RESPONSE|><|END_OF_TURN_TOKEN|>{% else %}<|START_OF_TURN_TOKEN|><|USER_TOKEN|>{{ m.content }}"
                "<|END_OF_TURN_TOKEN|>{% endif %}{% endfor %}")
    probe = probe_template(template, {}, ADDED + ["<|START_RESPONSE|>"], Limits(cache=None))
    assert probe.run == ["<|END_RESPONSE|>", "<|END_OF_TURN_TOKEN|>"]


FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"


def test_when_no_token_of_the_run_is_a_stop_id_the_one_the_tokenizer_names_is_added(tmp_path, run):
    """Command R7B's run with generation_config.json and config.json stopping on <EOS_TOKEN> 6 only: the fix is the
    tokenizer's eos <|END_OF_TURN_TOKEN|> 255001 (generation stops there, after <|END_RESPONSE|>), not 255020;
    runtimes that add the tokenizer's eos stop already. transformers says which ids the fixed files give."""
    import json
    import shutil

    import transformers

    folder = shutil.copytree(FIXTURES / "command-r7b-end-response-then-end-of-turn", tmp_path / "m")
    for name in ("config.json", "generation_config.json"):
        data = json.loads((folder / name).read_text(encoding="utf-8"))
        data["eos_token_id"] = 6
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    code, out, _ = run("--format", "json", "--no-cache", str(folder))
    report = json.loads(out)
    eos001 = [f["message"] for f in report["findings"] if f["code"] == "EOS001"]
    assert code == 1 and len(eos001) == 1 and eos001[0].endswith("; add 255001"), report["findings"]
    assert not [f for f in report["findings"] if f["code"] == "EOS017"], report["findings"]
    code, out, _ = run("explain", "--format", "json", "--no-cache", str(folder))
    verdicts = {row["runtime"]: row["stops"] for row in json.loads(out)["models"][0]["runtimes"]}
    assert verdicts["transformers"] is False and verdicts["vllm"] is True, verdicts

    code, _, _ = run("--fix", "--no-cache", str(folder))
    assert transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id == [6, 255001]
    code, out, _ = run("--no-cache", str(folder))
    assert code == 0, out


def test_a_template_that_ends_no_turn_is_said_so(tmp_path, run):
    """Solar-style: nothing after the last answer, "### User:" before the next turn. EOS011 said the template
    "ends assistant turns with '###'", which is where the next turn starts."""
    import json
    import shutil

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = ("{% for m in messages %}{% if m.role == 'assistant' %}### Assistant:\n{{ m.content }}"
                               "{% if not loop.last %}\n\n{% endif %}{% else %}### User:\n{{ m.content }}\n\n{% endif %}"
                               "{% endfor %}")
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    code, out, _ = run("--format", "json", "--no-cache", str(folder))
    messages = [f["message"] for f in json.loads(out)["findings"] if f["code"] == "EOS011"]
    assert messages == ["the 'default' chat template writes no token after an answer: nothing after the last one, "
                        "and '###' (not an added token) before the next turn; no stop id can end an answer unless "
                        "training appended an eos the template does not write"], out


def _r7b_with(tmp_path, template: str):
    import json
    import shutil

    folder = shutil.copytree(FIXTURES / "command-r7b-end-response-then-end-of-turn", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = template
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder, config


def _assistant_mask(folder) -> dict[int, int]:
    """transformers' assistant mask of a one-answer chat, by token id: what assistant-only training learns from."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    out = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}],
                                        return_assistant_tokens_mask=True, return_dict=True)
    return dict(zip(out["input_ids"], out["assistant_masks"]))


R7B_TURNS = ("{% for m in messages %}{% if m.role == 'assistant' %}<|START_RESPONSE|>{BODY}<|END_OF_TURN_TOKEN|>"
             "{% else %}<|START_OF_TURN_TOKEN|><|USER_TOKEN|>{{ m.content }}<|END_OF_TURN_TOKEN|>{% endif %}"
             "{% endfor %}")


def test_a_generation_block_that_ends_before_the_stop_token_keeps_the_first_token(tmp_path, run):
    """With {% generation %} around the answer and <|END_RESPONSE|> only, transformers' assistant mask leaves
    <|END_OF_TURN_TOKEN|> out: assistant-only training never teaches the stop id. The probe sees where the block
    ends and keeps the tokens inside it, here the first alone (EOS001 as before the run)."""
    import json

    body = "{% generation %}{{ m.content }}<|END_RESPONSE|>{% endgeneration %}"
    folder, _ = _r7b_with(tmp_path, R7B_TURNS.replace("{BODY}", body))
    masked = _assistant_mask(folder)
    assert (masked[255020], masked[255001]) == (1, 0)
    code, out, _ = run("--format", "json", "--no-cache", str(folder))
    assert code == 1 and "EOS001" in [f["code"] for f in json.loads(out)["findings"]], out


@pytest.mark.parametrize("cache", [False, True], ids=["rendered", "cached"])
def test_a_generation_block_that_holds_the_whole_run_stops_on_its_last_token(tmp_path, run, monkeypatch, cache):
    """helper-120: TRL's Command R7B training template puts <|END_RESPONSE|><|END_OF_TURN_TOKEN|> inside
    {% generation %}: the assistant mask trains both, and generate() stops on the eos 255001 after 255020. The
    probe knew no block end and kept the first token alone: an EOS001 error and every runtime 'NO' on a folder that
    stops. Now the probe marks where the block ends and keeps the tokens inside it; cold and from the cache."""
    import json

    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    body = "{% generation %}{{ m.content }}<|END_RESPONSE|><|END_OF_TURN_TOKEN|>{% endgeneration %}"
    template = R7B_TURNS.replace("{BODY}", body).replace("{{ m.content }}<|END_RESPONSE|><|END_OF_TURN_TOKEN|>{% "
                                                         "endgeneration %}<|END_OF_TURN_TOKEN|>",
                                                         "{{ m.content }}<|END_RESPONSE|><|END_OF_TURN_TOKEN|>{% "
                                                         "endgeneration %}")
    folder, _ = _r7b_with(tmp_path, template)
    masked = _assistant_mask(folder)
    assert (masked[255020], masked[255001]) == (1, 1)
    for _ in range(2 if cache else 1):
        code, out, _ = run("--format", "json", *([] if cache else ["--no-cache"]), str(folder))
        assert code == 0 and "EOS001" not in [f["code"] for f in json.loads(out)["findings"]], out
    code, out, _ = run("explain", "--format", "json", "--no-cache", str(folder))
    assert {r["runtime"]: r["stops"] for r in json.loads(out)["models"][0]["runtimes"]}["transformers"] is True


@pytest.mark.parametrize("body, trained", [
    ("{% generation %}{{ m.content }}<|END_RESPONSE|>{% endgeneration %}{% generation %}<|END_OF_TURN_TOKEN|>"
     "{% endgeneration %}", True),
    ("{% generation %}{{ m.content }}{% generation %}<|END_RESPONSE|>{% endgeneration %}<|END_OF_TURN_TOKEN|>"
     "{% endgeneration %}", True),
    ("{% generation %}{{ m.content }}<|END_RESPONSE|>{% endgeneration %}\n{% generation %}<|END_OF_TURN_TOKEN|>"
     "{% endgeneration %}", True),
    ("{% generation %}{{ m.content }}<|END_RESPONSE|>{% endgeneration %}<|END_OF_TURN_TOKEN|>", False),
], ids=["adjacent", "nested", "apart", "one-block"])
def test_the_tokens_inside_any_generation_block_are_trained(tmp_path, run, body, trained):
    """helper-123: only the first block's end counted, so two adjacent or nested blocks (a supervision patch that
    wraps the content and the turn end apart) kept the first token alone: a false EOS001. The probe marks where
    each block starts and ends, and the run's tokens inside any block count, as transformers' assistant mask
    trains them."""
    import json

    template = R7B_TURNS.replace("{BODY}<|END_OF_TURN_TOKEN|>", body)
    folder, _ = _r7b_with(tmp_path, template)
    masked = _assistant_mask(folder)
    assert (masked[255020], masked[255001]) == (1, 1 if trained else 0)
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    codes = [f["code"] for f in json.loads(out)["findings"]]
    assert ("EOS001" in codes) is not trained, out


def test_a_token_not_marked_special_written_before_the_stop_token_is_eos010(tmp_path, run):
    """It shows in every decoded answer as the terminator would."""
    import json

    folder, config = _r7b_with(tmp_path, R7B_TURNS.replace("{BODY}", "{{ m.content }}<|USER_TOKEN|>"))
    assert not config["added_tokens_decoder"]["255006"]["special"]
    code, out, _ = run("--format", "json", "--no-cache", str(folder))
    found = [(f["code"], f["message"]) for f in json.loads(out)["findings"]]
    assert found == [("EOS010", "'<|USER_TOKEN|>' ends assistant turns but is not marked special; set \"special\": "
                                "true on it")], found


def test_a_gguf_whose_template_writes_the_eos_right_after_another_token_stops(tmp_path, run):
    """llama.cpp writes <|END_RESPONSE|> then the eos <|END_OF_TURN_TOKEN|> and stops: no EOS019."""
    import gguf

    tokens = ["<unk>", "<s>", "</s>", "a", "<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>", "<|USER_TOKEN|>",
              "<|START_RESPONSE|>", "<|END_RESPONSE|>"]
    writer = gguf.GGUFWriter(tmp_path / "m.gguf", arch="llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types([3] * len(tokens))
    writer.add_eos_token_id(5)
    writer.add_chat_template(R7B_TURNS.replace("{BODY}", "{{ m.content }}<|END_RESPONSE|>"))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    assert run("--format", "concise", "--no-cache", str(tmp_path / "m.gguf"))[0] == 0


def test_a_template_writing_a_token_a_hundred_thousand_times_costs_a_few_searches():
    """The run stops at MAX_RUN tokens: each one is a search of every added token (thousands in a hostile file)."""
    from eos_guard.template import MAX_RUN

    added = [f"<|reserved_{i}|>" for i in range(5000)] + ["<|eot|>"]
    tail = "<|eot|>" * 100_000
    probe = select([("user,assistant", "tail", tail), ("user,assistant,user", "tail", tail)], added)
    assert probe.run == ["<|eot|>"] * MAX_RUN


@pytest.mark.parametrize("after", ["<|im_end|>", "", "{{ '\\n' * 5000 }}"], ids=["token", "text", "whitespace"])
def test_a_probe_keeps_only_the_start_of_the_text_after_an_answer(after):
    """A template may write up to the output limit after an answer; a probe's result lives for the whole run and in
    the cache, so it keeps the start of that text (what messages show): 60 folders of 16 such templates held
    0.9 GB in memory and wrote 0.9 GB of cache. The token and the first word after the whitespace are kept."""
    from eos_guard.template import TAIL_KEPT, probe_named_template

    source = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}" + after +
              "{% if m.role == 'assistant' %}{{ '### y' * 100000 }}{% endif %}\n{% endfor %}")
    probe = probe_named_template("default", source, {}, ["<|im_start|>", "<|im_end|>"])
    assert len(probe.tail) <= TAIL_KEPT + 64
    assert probe.token == ("<|im_end|>" if after == "<|im_end|>" else None)
    assert probe.tail.split()[0].startswith("<|im_end|>###" if after == "<|im_end|>" else "###")


def test_a_tool_use_template_that_prints_each_argument_description_renders():
    """CohereForAI c4ai-command-r-plus (and c4ai-command-r-v01, 08-2024) ship a tool_use template that writes
    ``param_name + ' (' + type + '): ' + param_fields.description`` for every argument: the sample tools describe
    theirs, as transformers' get_json_schema() does, or every render fails and the template is EOS014."""
    from eos_guard.template import probe_named_template

    source = ("{% for m in messages %}{% if loop.first %}<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>"
              "{% for tool in tools %}{% set tool = tool.function %}def {{ tool.name }}():\n"
              "{% for name, fields in tool.parameters.properties|items %}{{ name + ': ' + fields.description }}"
              "{% endfor %}{% endfor %}<|END_OF_TURN_TOKEN|>{% endif %}<|START_OF_TURN_TOKEN|>"
              "{{ '<|CHATBOT_TOKEN|>' if m.role == 'assistant' else '<|USER_TOKEN|>' }}{{ m.content }}"
              "<|END_OF_TURN_TOKEN|>{% endfor %}")
    probe = probe_named_template("tool_use", source, {}, ADDED + ["<|SYSTEM_TOKEN|>", "<|CHATBOT_TOKEN|>"],
                                 Limits(cache=False))
    assert probe.token == "<|END_OF_TURN_TOKEN|>" and not probe.errors


@pytest.mark.parametrize("split, special", [(True, True), (False, True), (True, False)],
                         ids=["split-special", "not-split", "split-not-special"])
def test_split_special_tokens_splits_a_special_terminator_into_pieces(tmp_path, run, split, special):
    """helper-120: LLaMA-Factory's split_special_tokens, saved in tokenizer_config.json, makes transformers encode
    every special token in text as ordinary pieces: the chat template's '<|im_end|>' never becomes 151645 in a
    training example, so nothing teaches the stop (EOS011 error). An added token not marked special stays one."""
    import json
    import shutil

    import transformers

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["split_special_tokens"] = split
    config["added_tokens_decoder"]["151645"]["special"] = special
    config["eos_token"] = "<|endoftext|>"  # a named token is special whatever its flag says
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    tokenizer_json = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    for token in tokenizer_json["added_tokens"]:
        if token["content"] == "<|im_end|>":
            token["special"] = special
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json), encoding="utf-8")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}],
                                             tokenize=True, return_dict=True)["input_ids"]
    pieces = split and special
    assert (151645 not in rendered) == pieces
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    found = [f for f in json.loads(out)["findings"] if f["code"] == "EOS011"]
    if pieces:
        assert code == 1 and [f["severity"] for f in found] == ["error"], out
        assert found[0]["message"].startswith("tokenizer_config.json sets split_special_tokens to true, so the "
                                              "tokenizer splits '<|im_end|>'"), found
    else:
        assert found == [], out


@pytest.mark.parametrize("body, trained", [
    ("{% generation %}{{ m.content }}{% endgeneration %}<|END_RESPONSE|><|END_OF_TURN_TOKEN|>", False),
    ("{% generation %}{{ m.content }}<|END_RESPONSE|>{% endgeneration %}<|END_OF_TURN_TOKEN|>", True),
    ("{% generation %}{{ m.content }}<|END_RESPONSE|><|END_OF_TURN_TOKEN|>{% endgeneration %}", True),
    ("{{ m.content }}<|END_RESPONSE|><|END_OF_TURN_TOKEN|>", None),
], ids=["block-before-the-run", "block-holds-the-first", "block-holds-the-run", "no-block"])
def test_eos032_fires_exactly_when_the_assistant_mask_holds_no_token_of_the_turn_end(tmp_path, run, body, trained):
    """helper-165: LLaVA-OneVision's template closes its {% generation %} block before <|im_end|>, so transformers'
    assistant mask (what assistant-only training learns from) never holds a token that ends the turn, and such a
    fine-tune never learns to stop: EOS032. The oracle is the mask transformers returns."""
    import json

    template = R7B_TURNS.replace("{BODY}<|END_OF_TURN_TOKEN|>", body)
    folder, _ = _r7b_with(tmp_path, template)
    masked = _assistant_mask(folder)
    assert bool(masked[255020] or masked[255001]) == bool(trained)
    code, out, _ = run("--format", "json", "--no-cache", "--baseline", "none", str(folder))
    codes = [f["code"] for f in json.loads(out)["findings"]]
    assert ("EOS032" in codes) is (trained is False), out


def test_an_added_token_longer_than_512_characters_is_not_looked_for():
    """docs/security.md (helper-178): a look-up tries one slice of each length the added tokens that start with
    that character have, so tokens of thousands of lengths made each cost millions of characters; tokens longer
    than 512 characters (no tokenizer has one) are not looked for, and the longest one up to that is."""
    longest = "<|im_end|>" + "x" * 502
    assert len(longest) == 512
    assert select([("user,assistant", "tail", longest + "y")], ["<|im_end|>", longest]).token == longest
    too_long = longest + "x"
    assert select([("user,assistant", "tail", too_long)], ["<|im_end|>", too_long]).token == "<|im_end|>"
