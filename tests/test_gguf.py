"""``eos-guard model.gguf``: GGUF files written here with gguf-py's GGUFWriter (tiny tensors), one converted from a
fixture folder as convert_hf_to_gguf.py would and repaired with gguf-py's own gguf_new_metadata.py."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import FIXTURES, write_json
from eos_guard.gguf_metadata import read_metadata

gguf = pytest.importorskip("gguf")
np = pytest.importorskip("numpy")

NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5
RELEASE = FIXTURES / "llama3-8b-instruct-release"          # eos <|end_of_text|> 128001, turns end <|eot_id|> 128009
TOKENIZER_FIX = FIXTURES / "llama3-8b-instruct-tokenizer-fix"  # the same folder after eos_token became <|eot_id|>
CUSTOM_TEMPLATE = ("{% for m in messages %}<|turn|>{{ m.role }}\n{{ m.content }}<|assistant_end|>\n{% endfor %}"
                   "{% if add_generation_prompt %}<|turn|>assistant\n{% endif %}")
# A BPE vocabulary whose id 11 is ',' (llama.cpp's default eos for gpt2 vocabularies) and a turn terminator that
# is not on llama.cpp's list of end-of-turn texts.
VOCAB = [chr(ord("a") + i) for i in range(11)] + [","] + ["</s>", "<|turn|>", "<|assistant_end|>"]
TYPES = [NORMAL] * 12 + [CONTROL] * 3
END, ASSISTANT_END = 12, 14


def write_gguf(path: Path, tokens: list[str] | None = VOCAB, types: list[int] | None = TYPES,
               template: str | list | None = CUSTOM_TEMPLATE, eos: int | None = END, model: str | None = "gpt2",
               **metadata: object) -> Path:
    writer = gguf.GGUFWriter(path, arch="llama", endianess=metadata.pop("endianess", gguf.GGUFEndian.LITTLE))
    if tokens is not None:
        if model is not None:
            writer.add_tokenizer_model(model)
        writer.add_token_list(tokens)
    if types is not None:
        writer.add_token_types(types)
    if eos is not None:
        writer.add_eos_token_id(eos)
    if template is not None:
        writer.add_chat_template(template)
    for key, value in metadata.items():
        writer.add_uint32(key, value)
    _finish(writer)
    return path


def _finish(writer) -> None:
    writer.add_tensor("token_embd.weight", np.zeros((2, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def convert(folder: Path, path: Path) -> Path:
    """The metadata convert_hf_to_gguf.py writes for a BPE folder: tokens by id (missing ids padded as
    ``[PAD<id>]``, UNUSED), added special tokens CONTROL, and gguf-py's SpecialVocab for the special ids and the
    chat template, as the converter calls it."""
    size = json.loads((folder / "config.json").read_text())["vocab_size"]
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    by_id = {i: text for text, i in tokenizer["model"]["vocab"].items()}
    by_id.update({t["id"]: t["content"] for t in tokenizer["added_tokens"]})
    special = {t["id"] for t in tokenizer["added_tokens"] if t["special"]}
    writer = gguf.GGUFWriter(path, arch="llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list([by_id.get(i, f"[PAD{i}]") for i in range(size)])
    writer.add_token_types([CONTROL if i in special else NORMAL if i in by_id else UNUSED for i in range(size)])
    gguf.SpecialVocab(folder, load_merges=False, n_vocab=size).add_to_gguf(writer, quiet=True)
    _finish(writer)
    return path


def new_metadata(*args: str, cwd: Path) -> None:
    """gguf-py's gguf_new_metadata.py, as the messages tell users to run it."""
    subprocess.run([sys.executable, "-m", "gguf.scripts.gguf_new_metadata", *args, "--force"], cwd=cwd, check=True,
                   capture_output=True)


def repair_arguments(message: str) -> list[str]:
    """The gguf-new-metadata arguments a message gives (everything after the command name)."""
    return shlex.split(message.split("gguf-new-metadata ", 1)[1])


@pytest.fixture(scope="module")
def release_gguf(tmp_path_factory) -> Path:
    return convert(RELEASE, tmp_path_factory.mktemp("release") / "release.gguf")


def findings(out: str) -> list[tuple[str, str]]:
    return [(f["code"], f["message"]) for f in json.loads(out)["findings"]]


# --- the terminator rule ---------------------------------------------------------------------------------------

def test_terminator_not_end_of_generation(run, tmp_path):
    write_gguf(tmp_path / "model.gguf")
    code, out, err = run("model.gguf")
    assert (code, err) == (1, "")
    assert out == (
        "model.gguf:1:1: EOS019 error: the chat template (tokenizer.chat_template) ends assistant turns with "
        "'<|assistant_end|>' (14), but llama.cpp stops only on [12 '</s>']; run llama.cpp with --override-kv "
        "tokenizer.ggml.eos_token_id=int:14, or rewrite the GGUF: gguf-new-metadata model.gguf model.fixed.gguf "
        "--special-token eos '<|assistant_end|>' [gguf-terminator-not-eog]\n"
        "1 of 1 GGUF file fails (1 error).\n")


def test_the_printed_rewrite_fixes_the_file(run, tmp_path):
    write_gguf(tmp_path / "model.gguf")
    _, out, _ = run("--format", "json", "model.gguf")
    new_metadata(*repair_arguments(findings(out)[0][1]), cwd=tmp_path)
    code, out, _ = run("--format", "json", "model.fixed.gguf")
    assert code == 0
    assert json.loads(out)["gguf"][0]["eos_token_id"] == ASSISTANT_END
    assert json.loads(out)["gguf"][0]["stops"] is True


def test_gguf_set_metadata_changes_the_eos_in_place_after_asking(run, tmp_path):
    """docs/gguf.md: gguf-set-metadata changes an existing key in the file itself; it asks to type YES first (with
    no answer it changes nothing), and --force skips the question."""
    write_gguf(tmp_path / "model.gguf")
    command = [sys.executable, "-m", "gguf.scripts.gguf_set_metadata", "model.gguf", "tokenizer.ggml.eos_token_id",
               str(ASSISTANT_END)]
    asked = subprocess.run(command, cwd=tmp_path, input="", capture_output=True, text=True)
    assert asked.returncode != 0 and "Enter exactly YES" in asked.stderr
    assert run("model.gguf")[0] == 1
    subprocess.run([*command, "--force"], cwd=tmp_path, check=True, capture_output=True)
    code, out, _ = run("--format", "json", "model.gguf")
    assert (code, findings(out), json.loads(out)["gguf"][0]["eos_token_id"]) == (0, [], ASSISTANT_END)


def test_named_template_is_checked_under_its_key(run, tmp_path):
    chatml = "{% for m in messages %}<|turn|>{{ m.content }}</s>{% endfor %}"
    write_gguf(tmp_path / "model.gguf", template=[{"name": "default", "template": chatml},
                                                   {"name": "tool_use", "template": CUSTOM_TEMPLATE}])
    code, out, _ = run("--format", "json", "model.gguf")
    assert code == 1
    [(rule, message)] = findings(out)
    assert rule == "EOS019"
    assert message.startswith("the 'tool_use' chat template (tokenizer.chat_template.tool_use) ends assistant turns "
                              "with '<|assistant_end|>' (14)")
    assert [(t["name"], t["token"]) for t in json.loads(out)["gguf"][0]["templates"]] == [
        ("default", "</s>"), ("tool_use", "<|assistant_end|>")]


def test_without_a_default_template_stops_is_the_tool_use_template_s(run, tmp_path):
    """docs/gguf.md: `terminator` and `stops` are those of the template llama.cpp's chat uses: the default one, else
    tool_use (helper-136: the first named one by sort order was taken, 'rag' before 'tool_use'); without either,
    llama.cpp uses its built-in ChatML template: null, and each named template is still EOS019's."""
    stopping = CUSTOM_TEMPLATE.replace("<|assistant_end|>", "</s>")
    write_gguf(tmp_path / "model.gguf", template=[{"name": "rag", "template": stopping},
                                                  {"name": "tool_use", "template": CUSTOM_TEMPLATE}])
    code, out, _ = run("--format", "json", "model.gguf")
    entry = json.loads(out)["gguf"][0]
    assert code == 1 and entry["terminator"] == {"token": "<|assistant_end|>", "id": 14, "template": "tool_use"}
    assert entry["stops"] is False
    write_gguf(tmp_path / "model.gguf", template=[{"name": "rag", "template": CUSTOM_TEMPLATE}])
    code, out, _ = run("--format", "json", "model.gguf")
    entry = json.loads(out)["gguf"][0]
    assert code == 1 and (entry["terminator"], entry["stops"]) == (None, None)
    assert [c for c, _ in findings(out)] == ["EOS019"]


@pytest.mark.parametrize("default", ["", "chatml"])
def test_a_default_template_that_is_empty_or_chatml_gives_way_to_tool_use(run, tmp_path, default):
    """helper-198: llama.cpp's chat (common/chat.cpp common_chat_templates_init, b11549) replaces a default template
    that is empty or the word "chatml" with tool_use, else its built-in ChatML. eos-guard rendered it: EOS028 ("never
    shows the assistant's answer"), and with tool_use beside it, terminator and stops were null. Alone, "chatml" is
    checked as llama.cpp's ChatML template (helper-211), and an empty one is not."""
    write_gguf(tmp_path / "model.gguf", template=[{"name": "default", "template": default},
                                                  {"name": "tool_use", "template": CUSTOM_TEMPLATE}])
    code, out, _ = run("--format", "json", "model.gguf")
    entry = json.loads(out)["gguf"][0]
    assert entry["terminator"] == {"token": "<|assistant_end|>", "id": 14, "template": "tool_use"}, entry
    assert entry["stops"] is False and [c for c, _ in findings(out)] == ["EOS019"], out
    write_gguf(tmp_path / "model.gguf", template=default)
    code, out, _ = run("--format", "json", "model.gguf")
    entry = json.loads(out)["gguf"][0]
    if default == "":  # a base model's: llama.cpp's chat would use ChatML, but nothing says the model is one
        assert (code, findings(out), entry["terminator"], entry["stops"]) == (0, [], None, None), out
    else:  # helper-211: "chatml" names llama.cpp's built-in ChatML template, which is checked: no <|im_end|> here
        [(code_, message)] = findings(out)
        assert code == 1 and code_ == "EOS019" and entry["stops"] is False, out
        assert message.startswith('llama.cpp\'s built-in ChatML template (tokenizer.chat_template is "chatml") ends '
                                  "assistant turns with the text '<|im_end|>', which is no token of this GGUF"), message


@pytest.mark.parametrize("model", ["gpt2", "llama"])
def test_a_template_that_renders_bos_token_without_a_bos_id_is_checked(run, tmp_path, model):
    """helper-211: without tokenizer.ggml.bos_token_id, a template that starts with {{ bos_token }} (Functionary
    v3.1's) was EOS028 ('bos_token' is undefined), and its answers' end was not checked. llama.cpp renders it with the
    text of its default bos id (tests/test_llama_cpp_differential.py::test_the_bos_id_a_template_renders_is_libllama_s),
    and the answers end with <|assistant_end|>, on which it does not stop: EOS019."""
    write_gguf(tmp_path / "model.gguf", template="{{ bos_token }}" + CUSTOM_TEMPLATE, model=model)
    code, out, _ = run("--format", "json", "model.gguf")
    assert code == 1 and [c for c, _ in findings(out)] == ["EOS019"], out


@pytest.mark.parametrize("text", ["<x\n::end>", "<end\u00a0>", "##[error]end", "<\u2028end\U000e0001>", "<it's\\>"])
def test_a_command_a_finding_quotes_gives_the_shell_the_token_s_exact_text(run, tmp_path, text):
    """helper-198: the repair command quoted a terminator holding a newline with shlex ('<x\\n...>'), and every
    output escapes the newline, so the command printed named another token. helper-199: \\u escapes need a UTF-8
    locale, a no-break space came out as one byte, and '##[' is shown as '##\\x5b'. A text holding characters the
    outputs escape is written in bash's $'...' form, its UTF-8 bytes as \\xHH, which bash reads back in any
    locale."""
    tokens = VOCAB[:14] + [text]
    write_gguf(tmp_path / "model.gguf", tokens=tokens, template=CUSTOM_TEMPLATE.replace("<|assistant_end|>", text))
    code, out, _ = run("--format", "concise", "model.gguf")
    word = re.search(r"--special-token eos (.+?) \[gguf-", out)
    assert code == 1 and word is not None, out
    said = subprocess.run(["bash", "-c", f"printf %s {word[1]}"], capture_output=True, check=True,
                          env={"PATH": os.environ["PATH"], "LC_ALL": "C"}).stdout.decode("utf-8")
    assert said == text


@pytest.mark.parametrize("name", [b"bad\xff.gguf", b"-dash.gguf", b"new\nline.gguf"])
def test_a_command_a_finding_quotes_names_the_file_itself(run, tmp_path, name):
    """helper-199: the rewrite command quoted the path as the outputs show it, a byte that is not UTF-8 already
    written as the text '\\xff' (a file that does not exist), and a name starting with a dash read as an option."""
    path = os.path.join(os.fsencode(tmp_path), name)
    write_gguf(Path(os.fsdecode(path)), eos=END)
    code, out, _ = run("--format", "concise", "--", os.fsdecode(name))
    command = re.search(r"gguf-new-metadata (\S+) ", out)
    assert code == 1 and command is not None, out
    said = subprocess.run(["bash", "-c", f"printf %s {command[1]}"], capture_output=True, check=True,
                          env={"PATH": os.environ["PATH"], "LC_ALL": "C"}, cwd=tmp_path).stdout
    assert said in (name, b"./" + name), said


def test_end_of_turn_texts_stop_whatever_the_eos(run, tmp_path):
    """llama.cpp stops on <|im_end|> by its text even when the eos is another token."""
    chatml = "{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>{% endfor %}"
    write_gguf(tmp_path / "model.gguf", tokens=VOCAB[:12] + ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
               template=chatml)
    code, out, _ = run("--format", "json", "model.gguf")
    assert (code, findings(out)) == (0, [])
    assert json.loads(out)["gguf"][0] == {
        "path": "model.gguf", "tokens": 15, "eos_token_id": 12, "eot_token_id": None, "eom_token_id": None,
        "terminator": {"token": "<|im_end|>", "id": 14, "template": "default"},
        "templates": [{"name": "default", "key": "tokenizer.chat_template", "token": "<|im_end|>", "id": 14}],
        "eog_ids": [14, 12], "release": "llama.cpp ≥ b11739",
        "source": "ggml-org/llama.cpp src/llama-vocab.cpp llama_vocab::impl::load (b11739, 0ce8cd114)",
        "stops": True, "folders": []}


def test_a_gguf_is_judged_by_the_llama_cpp_release_runtime_versions_pins(run, tmp_path):
    """helper-115: a GGUF was always judged by the newest build's rule, whatever ``runtime-versions`` pinned, where a
    folder's llama.cpp row follows the pin. <|eot|> (Llama 4's turn end) is an end-of-generation text from b11739
    only: a GGUF whose eos is another token stops there with the newest build and runs on with b10488 (which
    Ollama 0.33 pins), by its rule and in explain, text and JSON."""
    template = "{% for m in messages %}<|im_start|>{{ m.content }}<|eot|>{% endfor %}"
    write_gguf(tmp_path / "model.gguf", tokens=VOCAB[:12] + ["<|endoftext|>", "<|im_start|>", "<|eot|>"],
               template=template)
    assert run("--format", "concise", "model.gguf")[0] == 0
    (tmp_path / ".eos-guard.yaml").write_text('runtime-versions: {llama.cpp: "b10488"}\n', encoding="utf-8")
    code, out, _ = run("--format", "concise", "model.gguf")
    assert code == 1 and " EOS019 error: " in out, out
    code, out, _ = run("explain", "model.gguf")
    assert "  llama.cpp ≤ b11412 stops on [12 '<|endoftext|>']: NO\n" in out, out
    entry = json.loads(run("explain", "--format", "json", "model.gguf")[1])["gguf"][0]
    assert (entry["release"], entry["eog_ids"], entry["stops"]) == ("llama.cpp ≤ b11412", [12], False), entry


def test_eot_id_stops_too(run, tmp_path):
    write_gguf(tmp_path / "model.gguf", **{"tokenizer.ggml.eot_token_id": ASSISTANT_END})
    code, out, _ = run("model.gguf")
    assert code == 0, out


def test_eom_id_stops_too(run, tmp_path):
    """docs/gguf.md: llama.cpp's end-of-generation set holds "the eos, eot and eom ids that lie inside the token
    list": a GGUF whose eom is the template's terminator stops (`stops` true, the eom among `eog_ids`)."""
    write_gguf(tmp_path / "model.gguf", **{"tokenizer.ggml.eom_token_id": ASSISTANT_END})
    code, out, _ = run("--format", "json", "model.gguf")
    entry = json.loads(out)["gguf"][0]
    assert (code, findings(out)) == (0, [])
    assert (entry["eom_token_id"], entry["eot_token_id"], entry["eog_ids"], entry["stops"]) == (
        ASSISTANT_END, None, [END, ASSISTANT_END], True)
    write_gguf(tmp_path / "model.gguf")  # the same file without the eom: it does not stop
    assert run("model.gguf")[0] == 1


# A turn that ends with the special token the template is given: what follows the answer is the text of the id
EOS_TEMPLATE = ("{% for m in messages %}<|turn|>{{ m.role }}\n{{ m.content }}{{ eos_token }}{% endfor %}"
                "{% if add_generation_prompt %}<|turn|>assistant\n{% endif %}")


@pytest.mark.parametrize("eos", [END, ASSISTANT_END])
def test_the_template_gets_the_eos_token_text_of_the_gguf(run, tmp_path, eos):
    """docs/gguf.md: "Each chat template is rendered in eos-guard's sandbox with `bos_token` and `eos_token` set to
    the texts of those ids": a template writing {{ eos_token }} after the answer ends turns with the GGUF's eos,
    whichever token it is, and its id is its index in the token list."""
    write_gguf(tmp_path / "model.gguf", template=EOS_TEMPLATE, eos=eos)
    code, out, _ = run("--format", "json", "model.gguf")
    entry = json.loads(out)["gguf"][0]
    assert (code, findings(out)) == (0, []), out
    assert entry["terminator"] == {"token": VOCAB[eos], "id": eos, "template": "default"}
    assert entry["stops"] is True


def test_the_template_gets_the_bos_token_text_of_the_gguf(run, tmp_path):
    """docs/gguf.md: templates are rendered with `bos_token` set to the text of tokenizer.ggml.bos_token_id: a
    template writing {{ bos_token }} after the answer ends turns with '<|turn|>' (13), which llama.cpp does not stop
    on (EOS019)."""
    write_gguf(tmp_path / "model.gguf", template=EOS_TEMPLATE.replace("eos_token", "bos_token"),
               **{"tokenizer.ggml.bos_token_id": 13})
    code, out, _ = run("--format", "json", "model.gguf")
    assert code == 1 and [rule for rule, _ in findings(out)] == ["EOS019"], out
    assert json.loads(out)["gguf"][0]["terminator"] == {"token": "<|turn|>", "id": 13, "template": "default"}


@pytest.mark.parametrize("template", [None, '{{ "hello" }}', "{% for m in messages %}{{ m.content }}\n{% endfor %}"],
                         ids=["no-template", "no-answer", "no-token-after-the-answer"])
def test_stops_is_null_when_the_template_shows_no_terminator(run, tmp_path, template):
    """docs/gguf.md (JSON): "`stops` is whether the default template's terminator is in it (`null` when the template
    shows none)", in --format json and in explain --format json; explain's text says "unknown"."""
    write_gguf(tmp_path / "model.gguf", template=template)
    for args in (("--format", "json"), ("explain", "--format", "json")):
        entry = json.loads(run(*args, "model.gguf")[1])["gguf"][0]
        assert (entry["terminator"], entry["stops"], entry["eog_ids"]) == (None, None, [END]), (args, entry)
    assert run("explain", "model.gguf")[1] == "model.gguf\n  llama.cpp ≥ b11739 stops on [12 '</s>']: unknown\n"


CHATML = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def test_a_turn_end_text_typed_normal_is_one_token_and_stops(run, tmp_path):
    """helper-136: llama.cpp gives the CONTROL type to a token whose text is on its end-of-generation list whatever
    type the file writes ("control-looking token ... its type will be overridden", llama-vocab.cpp), so it reads
    a NORMAL <|im_end|> as one token and stops on it; eos-guard looked for the terminator among CONTROL and
    USER_DEFINED tokens only, and said "unknown"."""
    tokens = VOCAB[:12] + ["</s>", "<|im_start|>", "<|im_end|>"]
    write_gguf(tmp_path / "model.gguf", tokens=tokens, types=[NORMAL] * 12 + [CONTROL, CONTROL, NORMAL],
               template=CHATML)
    code, out, _ = run("--format", "json", "model.gguf")
    entry = json.loads(out)["gguf"][0]
    assert code == 0 and (entry["terminator"], entry["stops"]) == (
        {"token": "<|im_end|>", "id": 14, "template": "default"}, True), entry


def test_beside_tool_response_s_is_neither_one_token_nor_a_stop(run, tmp_path):
    """llama-vocab.cpp (newest): beside <|tool_response> (Gemma 4, PaddleOCR) </s> leaves the end-of-generation set and
    becomes NORMAL whatever type the file writes: a template ending answers with it does not stop there."""
    tokens = VOCAB[:12] + ["<eos>", "<|tool_response>", "</s>"]
    template = CUSTOM_TEMPLATE.replace("<|assistant_end|>", "</s>").replace("<|turn|>", "<|tool_response>")
    write_gguf(tmp_path / "model.gguf", tokens=tokens, types=[NORMAL] * 12 + [CONTROL] * 3, template=template)
    code, out, _ = run("--format", "json", "model.gguf")
    entry = json.loads(out)["gguf"][0]
    assert code == 1 and 14 not in entry["eog_ids"] and entry["stops"] is False, entry
    assert [c for c, _ in findings(out)] == ["EOS019"]
    # helper-142: named the eos, </s> still does not stop: the message says so instead of the no-op override
    write_gguf(tmp_path / "model.gguf", tokens=tokens, types=[NORMAL] * 12 + [CONTROL] * 3, template=template, eos=14)
    [(_, message)] = findings(run("--format", "json", "model.gguf")[1])
    assert message.endswith("no eos or eot setting brings it back (the newest build takes </s> off the "
                            "end-of-generation ids beside <|tool_response>, whatever names it): pass it as a stop "
                            "string, or run an older build"), message


def test_a_terminator_of_its_own_typed_normal_is_still_the_id_the_model_emits(run, tmp_path):
    """helper-136: a NORMAL <|assistant_end|> (a SentencePiece conversion's user piece) that is not on llama.cpp's
    list is not read as one token in a prompt, but the model trained with it emits its id, which llama.cpp does not
    stop on: EOS019, not a pass."""
    write_gguf(tmp_path / "model.gguf", types=[NORMAL] * 12 + [CONTROL, CONTROL, NORMAL])
    code, out, _ = run("--format", "json", "model.gguf")
    assert code == 1 and [c for c, _ in findings(out)] == ["EOS019"], out
    assert "ends assistant turns with '<|assistant_end|>' (14), but llama.cpp stops only on [12 '</s>']" in out


def test_a_turn_end_text_that_is_no_token_is_an_error(run, tmp_path):
    """helper-136: a ChatML template on a tokenizer without <|im_end|> (a base model's, eos <|endoftext|>) passed:
    llama.cpp reads the text as pieces, and nothing stops the answer, as EOS011 says of a folder."""
    tokens = VOCAB[:12] + ["<|endoftext|>", "<|im_start|>"]
    write_gguf(tmp_path / "model.gguf", tokens=tokens, types=[NORMAL] * 12 + [CONTROL, CONTROL], template=CHATML)
    code, out, _ = run("--format", "json", "model.gguf")
    [(rule, message)] = findings(out)
    assert code == 1 and rule == "EOS019" and message.startswith(
        "the chat template (tokenizer.chat_template) ends assistant turns with the text '<|im_end|>', which is no "
        "token of this GGUF: llama.cpp reads it as ordinary pieces, and it stops only on [12 '<|endoftext|>']"), out
    entry = json.loads(out)["gguf"][0]
    assert (entry["terminator"], entry["stops"]) == ({"token": "<|im_end|>", "id": None, "template": "default"}, False)
    assert run("explain", "model.gguf")[1].splitlines()[1] == (
        "  chat answers end with '<|im_end|>' (id unknown: not one token of the GGUF), from tokenizer.chat_template")


def test_fill_in_the_middle_ids_the_gguf_names_stop_and_replace_the_search_by_text(run, tmp_path):
    """helper-136: llama.cpp reads tokenizer.ggml.fim_pad_token_id (and fim_rep, fim_sep) and adds them to its
    end-of-generation ids, looking for no token of that kind by text then (llama-vocab.cpp, "find FIM_PAD token"
    only while special_fim_pad_id is unset); eos-guard found them by text alone."""
    path = write_gguf(tmp_path / "model.gguf", **{"tokenizer.ggml.fim_pad_token_id": ASSISTANT_END})
    code, out, _ = run("--format", "json", "model.gguf")
    assert code == 0 and json.loads(out)["gguf"][0]["eog_ids"] == [END, ASSISTANT_END], out
    tokens = VOCAB + ["<|fim_pad|>"]
    write_gguf(path, tokens=tokens, types=TYPES + [CONTROL], **{"tokenizer.ggml.fim_pad_token_id": 13})
    assert json.loads(run("--format", "json", "model.gguf")[1])["gguf"][0]["eog_ids"] == [END, 13]
    write_gguf(path, tokens=tokens, types=TYPES + [CONTROL])  # no key: found by its text
    assert json.loads(run("--format", "json", "model.gguf")[1])["gguf"][0]["eog_ids"] == [END, 15]


def test_explain_and_summary_show_the_stop_set(run, tmp_path):
    write_gguf(tmp_path / "model.gguf")
    assert run("explain", "model.gguf") == (0, (
        "model.gguf\n"
        "  chat answers end with '<|assistant_end|>' (14), from tokenizer.chat_template\n"
        "  llama.cpp ≥ b11739 stops on [12 '</s>']: NO\n"), "")
    run("--summary", "summary.md", "model.gguf")
    assert "| llama.cpp end-of-generation ids | [12] |" in (tmp_path / "summary.md").read_text(encoding="utf-8")


# --- the eos rules ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model, default", [("gpt2", "11 ','"), ("llama", "2 'c'"), ("plamo2", "2 'c'"),
                                            ("plamo3", "2 'c'"), ("t5", "1 'b'")])
def test_missing_eos_falls_back_to_the_vocabulary_s_default(run, tmp_path, model, default):
    """docs/gguf.md: tokenizer.ggml.model gives "llama.cpp's default eos when the file has none (2 for `llama`, 11
    for `gpt2`)" (helper-122 added the 'llama' case; helper-151 PLaMo 3's, which b11549 defaults to 2 as PLaMo 2's:
    eos-guard said llama.cpp had no eos there)."""
    write_gguf(tmp_path / "model.gguf", eos=None, model=model)
    code, out, _ = run("--format", "json", "model.gguf")
    assert code == 1
    assert ("EOS020", f"the GGUF has no tokenizer.ggml.eos_token_id; llama.cpp uses its default eos {default} for "
            f"'{model}' vocabularies; run llama.cpp with --override-kv tokenizer.ggml.eos_token_id=int:14, or rewrite "
            "the GGUF: gguf-new-metadata model.gguf model.fixed.gguf --special-token eos '<|assistant_end|>'"
            ) in findings(out)
    # '</s>' by its text, and the default eos
    assert json.loads(out)["gguf"][0]["eog_ids"] == [12, int(default.split()[0])]


@pytest.mark.parametrize("model, tokens, error", [
    (None, VOCAB, "tokenizer.ggml.model is missing: llama.cpp cannot load the file (llama_vocab::impl::load: key not "
                  "found)"),
    ("sentencepiece", VOCAB, "tokenizer.ggml.model is 'sentencepiece': llama.cpp cannot load the file "
                             "(llama_vocab::impl::load: unknown tokenizer; it knows no_vocab, none, llama, bert, gpt2, "
                             "hybriddna, whitespace, t5, rwkv, test, plamo2, plamo3, gemma4)"),
    ("gpt2", VOCAB[:13] + ["</s>", "<|assistant_end|>"], "tokenizer.ggml.tokens writes the text '</s>' twice, as ids "
     "12 and 13: llama.cpp cannot load the file (llama_vocab::impl::load asserts every text has one id)"),
    ("gpt2", VOCAB[:12] + ["x" * 100, "x" * 100, "<|assistant_end|>"], "tokenizer.ggml.tokens writes the text '"
     + "x" * 60 + "…' twice, as ids 12 and 13"),
])
def test_a_gguf_llama_cpp_refuses_to_load_is_an_error_not_a_verdict(run, tmp_path, model, tokens, error):
    """llama_vocab::impl::load (b11549's source; b11739's libllama refused each of these, helper-151) throws for a
    file with tokens but no tokenizer.ggml.model or one it does not know, and aborts on a token text written twice
    (GGML_ASSERT(id_to_token.size() == token_to_id.size())): eos-guard passed all three. One line and exit 2, and
    the run's other files are still checked."""
    write_gguf(tmp_path / "bad.gguf", tokens=tokens, model=model)
    write_gguf(tmp_path / "good.gguf")
    code, out, err = run("bad.gguf", "good.gguf")
    assert code == 2 and err.startswith(f"eos-guard: bad.gguf: {error}"), err
    assert len(err.splitlines()) == 1 and "good.gguf:1:1: EOS019 error" in out, out


def test_empty_token_texts_are_no_text_written_twice(run, tmp_path):
    """llama_vocab::impl::load reads an empty text as "[EMPTY_<id>]" before it asserts each text has one id, so two
    empty tokens load (helper-153: eos-guard refused the file)."""
    write_gguf(tmp_path / "model.gguf", tokens=VOCAB[:12] + ["", ""] + VOCAB[12:],
               types=TYPES[:12] + [NORMAL] * 2 + TYPES[12:], eos=END + 2)
    code, out, err = run("--format", "json", "model.gguf")
    assert code == 1 and err == "" and [f["code"] for f in json.loads(out)["findings"]] == ["EOS019"], out


@pytest.mark.parametrize("text", ["[EMPTY_\u00b2]", "[EMPTY_" + "1" * 5000 + "]"])
def test_a_text_like_empty_with_digits_int_cannot_read_is_a_text(run, tmp_path, text):
    """helper-198: beside an empty text, '[EMPTY_²]' (str.isdigit takes '²', int() does not) or '[EMPTY_' and 5,000
    digits was an internal error, which lost the other files' results. Neither names an empty token's id: a text
    like any other (libllama loads both files)."""
    write_gguf(tmp_path / "model.gguf", tokens=VOCAB[:12] + ["", text] + VOCAB[12:],
               types=TYPES[:12] + [NORMAL] * 2 + TYPES[12:], eos=END + 2)
    write_gguf(tmp_path / "good.gguf")
    code, out, err = run("--format", "json", "model.gguf", "good.gguf")
    assert code == 1 and err == "" and len(json.loads(out)["gguf"]) == 2, (out, err)


def test_token_texts_are_compared_as_llama_cpp_reads_them(run, tmp_path):
    """helper-154: llama.cpp reads each token text up to its first NUL (a C string) and compares bytes. eos-guard
    passed a file it aborts on ('b\\0junk' beside 'b'), found no token '<|assistant_end|>' in
    '<|assistant_end|>\\0junk' (a false EOS019 where the text is an end-of-generation one), and refused
    a file it loads (two different byte strings that are not UTF-8, both decoded as U+FFFD)."""
    write_gguf(tmp_path / "model.gguf", tokens=["b\0junk", "b"] + VOCAB[2:])
    code, _, err = run("model.gguf")
    assert code == 2 and "writes the text 'b' twice, as ids 0 and 1" in err, err
    write_gguf(tmp_path / "model.gguf", tokens=VOCAB[:14] + ["<|assistant_end|>\0junk"])
    code, out, err = run("--format", "json", "model.gguf")  # the terminator's id, read up to the NUL
    assert json.loads(out)["gguf"][0]["terminator"] == {"token": "<|assistant_end|>", "id": 14, "template": "default"}
    writer = gguf.GGUFWriter(tmp_path / "bytes.gguf", arch="llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_array("tokenizer.ggml.tokens", [b"\xff", b"\xfe"] + [t.encode() for t in VOCAB[2:]])
    writer.add_token_types(TYPES)
    writer.add_eos_token_id(END)
    writer.add_chat_template(CUSTOM_TEMPLATE)
    _finish(writer)
    code, out, err = run("bytes.gguf")
    assert code == 1 and err == "" and "EOS019" in out, (out, err)


def test_a_gguf_s_architecture_of_another_type_and_an_empty_token_list_are_refused(run, tmp_path):
    """llama.cpp: general.architecture "has wrong type ... expected type str"; an empty token list without
    tokenizer.ggml.model is "key not found" (helper-154: both passed). A no_vocab file whose eos id has another
    type, which llama.cpp loads without reading it, has no findings (it was exit 2)."""
    writer = gguf.GGUFWriter(tmp_path / "arch.gguf", arch="llama")
    writer.kv_data[0]["general.architecture"] = gguf.GGUFValue(7, gguf.GGUFValueType.UINT32)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(VOCAB)
    _finish(writer)
    code, _, err = run("arch.gguf")
    assert code == 2 and "general.architecture (at byte " in err and "has type uint32, not string" in err, err
    import struct  # gguf's writer refuses an empty array: the file by hand (GGUF 3, no tensors, two keys)

    def text(value: str) -> bytes:
        return struct.pack("<Q", len(value)) + value.encode()

    (tmp_path / "empty.gguf").write_bytes(
        b"GGUF" + struct.pack("<IQQ", 3, 0, 2) + text("general.architecture") + struct.pack("<I", 8) + text("llama")
        + text("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 0))
    assert "tokenizer.ggml.tokens" in read_metadata(tmp_path / "empty.gguf", lambda key: True).fields
    code, _, err = run("empty.gguf")
    assert code == 2 and "tokenizer.ggml.model is missing: llama.cpp cannot load the file" in err, err
    writer = gguf.GGUFWriter(tmp_path / "no_vocab.gguf", arch="llama")
    writer.add_tokenizer_model("no_vocab")
    writer.add_int32("tokenizer.ggml.eos_token_id", 2)
    _finish(writer)
    assert run("no_vocab.gguf")[:2] == (0, "All checks passed (1 GGUF file).\n")


def test_a_clip_model_with_text_tokens_is_no_language_model(run, tmp_path):
    """llama.cpp's convert_image_encoder_to_gguf.py writes a CLIP's text tokens without tokenizer.ggml.model
    (general.architecture "clip"); clip.cpp/mtmd loads it, llama_model_load never does: no findings, as for a vision
    projector without tokens (helper-153: "tokenizer.ggml.model is missing", exit 2)."""
    writer = gguf.GGUFWriter(tmp_path / "clip.gguf", arch="clip")
    writer.add_bool("clip.has_text_encoder", True)
    writer.add_token_list(["<|startoftext|>", "<|endoftext|>", "a", "b"])
    _finish(writer)
    code, out, err = run("--format", "json", "clip.gguf")
    assert (code, json.loads(out)["findings"], err) == (0, [], "")


@pytest.mark.parametrize("model", ["none", "no_vocab"])
def test_a_gguf_llama_cpp_loads_without_its_vocabulary_has_no_findings(run, tmp_path, model):
    """tokenizer.ggml.model "none"/"no_vocab": llama.cpp reads no token of the file, so no text is read or written
    and no id ends anything: as a GGUF without tokens (a vision projector), no findings."""
    write_gguf(tmp_path / "model.gguf", eos=None, model=model)
    code, out, err = run("--format", "json", "model.gguf")
    assert (code, json.loads(out)["findings"], err) == (0, [], "")
    write_gguf(tmp_path / "mmproj.gguf", tokens=None, types=None, template=None, eos=None, model=None)
    assert run("--format", "json", "mmproj.gguf")[:2] == (0, run("--format", "json", "model.gguf")[1].replace(
        "model.gguf", "mmproj.gguf"))


def test_eos_outside_the_token_list(run, tmp_path):
    write_gguf(tmp_path / "model.gguf", eos=40000)
    code, out, _ = run("--format", "json", "model.gguf")
    assert code == 1
    [message] = [m for rule, m in findings(out) if rule == "EOS020"]
    assert message.startswith("tokenizer.ggml.eos_token_id 40000 is outside the token list (15 tokens), so llama.cpp "
                              "ignores it; llama.cpp uses its default eos 11 ','")


@pytest.mark.parametrize(("tokens", "template", "severity"), [
    # a SentencePiece vocabulary: the default eos 2 '</s>' ends the template's turns
    (["<unk>", "<s>", "</s>", "<|turn|>"] + [chr(ord("a") + i) for i in range(8)],
     CUSTOM_TEMPLATE.replace("<|assistant_end|>", "</s>"), "warning"),
    # a BPE vocabulary: the default eos 11 ',' stops answers at their first comma, whatever the turns end with
    (VOCAB[:13] + ["<|turn|>", "<|im_end|>"], CUSTOM_TEMPLATE.replace("<|assistant_end|>", "<|im_end|>"), "error"),
])
def test_a_missing_eos_llama_cpp_stops_without_is_a_warning(run, tmp_path, tokens, template, severity):
    """helper-211: without tokenizer.ggml.eos_token_id, EOS020 was an error whose fix (write the default id) changed
    nothing in llama.cpp, which stops at the end of the turns all the same; where the default eos is ordinary text
    (',' in a gpt2 vocabulary) it still is one."""
    model = "llama" if tokens[2] == "</s>" else "gpt2"
    types = [CONTROL if t.startswith("<") and t.endswith(">") else NORMAL for t in tokens]
    write_gguf(tmp_path / "model.gguf", tokens=tokens, types=types, template=template, eos=None, model=model)
    code, out, _ = run("--format", "json", "model.gguf")
    [finding] = [f for f in json.loads(out)["findings"] if f["code"] == "EOS020"]
    assert finding["severity"] == severity and code == (0 if severity == "warning" else 1), out
    if severity == "warning":  # writing the key is for other readers: no --override-kv, which changes nothing
        assert finding["message"].endswith(
            "and it stops at the end of the chat template's turns all the same (on [2 '</s>']), but a reader that does "
            "not apply llama.cpp's defaults finds no eos; rewrite the GGUF: gguf-new-metadata model.gguf "
            "model.fixed.gguf --special-token eos '</s>'"), finding["message"]


def test_eos_not_control(run, tmp_path):
    write_gguf(tmp_path / "model.gguf", types=TYPES[:12] + [USER_DEFINED, CONTROL, CONTROL], eos=END,
               **{"tokenizer.ggml.eot_token_id": ASSISTANT_END})
    code, out, _ = run("--format", "json", "model.gguf")
    assert code == 0
    assert findings(out) == [("EOS021", "tokenizer.ggml.eos_token_id 12 '</s>' has tokenizer.ggml.token_type "
                                        "USER_DEFINED (4), not CONTROL (3): llama.cpp warns \"control-looking token "
                                        "... was not control-type\" and treats it as CONTROL; mark it \"special\": "
                                        "true in the model folder and convert again")]


@pytest.mark.parametrize(("kind", "fix"), [
    ("eot", "run llama.cpp with --override-kv tokenizer.ggml.eot_token_id=int:14, or rewrite the GGUF: "
            "gguf-new-metadata model.gguf model.fixed.gguf --special-token eot '<|assistant_end|>'"),
    ("eom", "rewrite the GGUF: gguf-new-metadata model.gguf model.fixed.gguf --remove-metadata "
            "tokenizer.ggml.eom_token_id"),
])
def test_a_stop_id_on_ordinary_text_is_an_error(run, tmp_path, kind, fix):
    """helper-211: an eot or eom id written on ',' (off by one) is one of llama.cpp's end-of-generation ids, so every
    answer ends at its first comma; no finding said so (EOS021 looked at the eos alone)."""
    write_gguf(tmp_path / "model.gguf", eos=ASSISTANT_END, **{f"tokenizer.ggml.{kind}_token_id": 11})
    code, out, _ = run("--format", "json", "model.gguf")
    assert code == 1 and findings(out) == [(
        "EOS021", f"tokenizer.ggml.{kind}_token_id 11 ',' has tokenizer.ggml.token_type NORMAL (1), not CONTROL (3), "
                  "and its text is ordinary text: llama.cpp stops wherever the model writes it, so answers end at "
                  f"its first ','; it is the wrong id: {fix}")], out
    assert 11 in json.loads(out)["gguf"][0]["eog_ids"]


def test_rules_can_be_ignored(run, tmp_path):
    write_gguf(tmp_path / "model.gguf")
    assert run("--ignore", "gguf-terminator-not-eog", "model.gguf")[0] == 0


def test_a_gguf_without_vocabulary_has_nothing_to_check(run, tmp_path):
    write_gguf(tmp_path / "mmproj.gguf", tokens=None, types=None, template=None, eos=None)
    code, out, _ = run("mmproj.gguf")
    assert (code, out) == (0, "All checks passed (1 GGUF file).\n")


def test_big_endian_file(run, tmp_path):
    write_gguf(tmp_path / "model.gguf", endianess=gguf.GGUFEndian.BIG)
    code, out, _ = run("--format", "json", "model.gguf")
    assert code == 1
    assert [rule for rule, _ in findings(out)] == ["EOS019"]


@pytest.mark.parametrize("endian", ["little", "big"])
def test_gguf_version_2_reads_as_version_3(run, tmp_path, endian):
    """docs/gguf.md: "GGUF versions 2 and 3 are read, in either byte order": the same file with its version field
    (bytes 4 to 8) set to 2 gives the same JSON document as version 3 (their key/value sections are laid out
    alike)."""
    order = gguf.GGUFEndian.BIG if endian == "big" else gguf.GGUFEndian.LITTLE
    data = write_gguf(tmp_path / "v3.gguf", endianess=order).read_bytes()
    assert data[4:8] == (3).to_bytes(4, endian)
    outputs = []
    for version in (3, 2):
        folder = tmp_path / f"v{version}"
        folder.mkdir()
        (folder / "model.gguf").write_bytes(data[:4] + version.to_bytes(4, endian) + data[8:])
        outputs.append(run("--format", "json", "model.gguf", cwd=folder))
    assert outputs[1] == outputs[0]
    code, out, err = outputs[1]
    assert (code, err, [rule for rule, _ in findings(out)]) == (1, "", ["EOS019"])
    assert json.loads(out)["gguf"][0]["terminator"]["id"] == ASSISTANT_END


# --- a GGUF and the folder it came from --------------------------------------------------------------------------

def test_converted_from_the_release_folder(run, release_gguf):
    """Llama 3 at release: the GGUF's eos is <|end_of_text|>, but llama.cpp stops on <|eot_id|> by its text. A folder
    of another model family (Qwen ids) given in the same run is not compared with the GGUF."""
    other = FIXTURES / "qwen2-instruct-aligned"
    code, out, _ = run("--format", "json", str(release_gguf), str(RELEASE), str(other), cwd=release_gguf.parent)
    document = json.loads(out)
    assert code == 1
    assert [f["code"] for f in document["findings"]] == ["EOS001", "EOS017"]  # the folder's own, for transformers
    assert document["gguf"][0]["folders"] == [RELEASE.as_posix()]
    assert document["gguf"][0]["eos_token_id"] == 128001
    assert document["gguf"][0]["terminator"] == {"token": "<|eot_id|>", "id": 128009, "template": "default"}
    assert set(document["gguf"][0]["eog_ids"]) == {128001, 128009}
    assert document["gguf"][0]["stops"] is True


def test_compared_with_the_fixed_folder(run, release_gguf):
    code, out, _ = run("release.gguf", str(TOKENIZER_FIX), cwd=release_gguf.parent)
    assert code == 0
    assert out == (
        "release.gguf:1:1: EOS022 warning: tokenizer.ggml.eos_token_id is 128001 '<|end_of_text|>', but converting "
        f"{TOKENIZER_FIX.as_posix()} today writes 128009 '<|eot_id|>'; run llama.cpp with --override-kv "
        "tokenizer.ggml.eos_token_id=int:128009, or rewrite the GGUF: gguf-new-metadata release.gguf "
        "release.fixed.gguf --special-token eos '<|eot_id|>' [gguf-folder-mismatch]\n"
        "2 checked (1 model folder, 1 GGUF file) pass (1 warning).\n")


def test_repaired_gguf_matches_the_fixed_folder(run, release_gguf, tmp_path):
    shutil.copy(release_gguf, tmp_path / "release.gguf")
    _, out, _ = run("--format", "json", "release.gguf", str(TOKENIZER_FIX))
    new_metadata(*repair_arguments(findings(out)[0][1]), cwd=tmp_path)
    code, out, _ = run("--format", "json", "release.fixed.gguf", str(TOKENIZER_FIX))
    assert (code, findings(out)) == (0, [])
    assert json.loads(out)["gguf"][0]["eos_token_id"] == 128009


def test_template_differs_from_the_folder(run, release_gguf, tmp_path):
    folder = shutil.copytree(TOKENIZER_FIX, tmp_path / "folder")
    (folder / "chat_template.jinja").write_text(
        "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|end_of_text|>"
        "{% endfor %}", encoding="utf-8")
    code, out, _ = run("--format", "json", str(release_gguf), "folder")
    messages = [m for rule, m in findings(out) if rule == "EOS022"]
    assert (f"tokenizer.chat_template differs from folder's chat template (folder/chat_template.jinja): the GGUF's "
            "ends assistant turns with '<|eot_id|>', the folder's with '<|end_of_text|>'; run llama.cpp with --jinja "
            "--chat-template-file folder/chat_template.jinja, or rewrite the GGUF: gguf-new-metadata "
            f"{release_gguf.as_posix()} {release_gguf.with_suffix('').as_posix()}.fixed.gguf --chat-template-file "
            "folder/chat_template.jinja") in messages


def _eos022_with_template(run, release_gguf: Path, path: Path, add_template) -> list[str]:
    """EOS022's messages for a GGUF of the release's tokens whose chat template ``add_template(writer)`` writes,
    compared with the tokenizer-fix folder."""
    writer = gguf.GGUFWriter(path, arch="llama")
    reader = gguf.GGUFReader(release_gguf)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list([bytes(reader.fields["tokenizer.ggml.tokens"].parts[i]).decode()
                           for i in reader.fields["tokenizer.ggml.tokens"].data])
    writer.add_eos_token_id(128009)
    add_template(writer)
    _finish(writer)
    _, out, _ = run("--format", "json", str(path), str(TOKENIZER_FIX))
    return [m for rule, m in findings(out) if rule == "EOS022"]


def test_a_gguf_template_that_ends_answers_with_no_token_is_said_so(run, release_gguf, tmp_path):
    """helper-198: a template stored as a number (llama.cpp reads 5 as the text '5') ends no answer with a token;
    EOS022 said the GGUF's "ends assistant turns with 'None'"."""
    messages = _eos022_with_template(run, release_gguf, tmp_path / "number.gguf",
                                     lambda writer: writer.add_uint32("tokenizer.chat_template", 5))
    assert any("the GGUF's ends assistant turns with no token, the folder's with '<|eot_id|>'" in m
               for m in messages), messages


def test_a_gguf_default_template_llama_cpp_replaces_is_named_as_such(run, release_gguf, tmp_path):
    """helper-199: a GGUF whose tokenizer.chat_template is "chatml" (which llama.cpp's chat replaces, so eos-guard
    does not check it) was said to have no template."""
    messages = _eos022_with_template(run, release_gguf, tmp_path / "chatml.gguf",
                                     lambda writer: writer.add_chat_template("chatml"))
    assert any(m.startswith("the GGUF's tokenizer.chat_template is 'chatml', which llama.cpp's chat replaces with "
                            "its tool_use template, else its built-in ChatML one; rewrite the GGUF") for m in messages), \
        messages


def _stale_folder(folder: Path) -> Path:
    """A folder of VOCAB whose eos is </s>, while its template ends turns with <|assistant_end|>."""
    folder.mkdir()
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, t in enumerate(VOCAB) if i >= END]
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "eos_token": "</s>", "chat_template": CUSTOM_TEMPLATE,
        "added_tokens_decoder": {str(t["id"]): {"content": t["content"], "special": True} for t in added}}))
    (folder / "tokenizer.json").write_text(json.dumps({
        "added_tokens": added, "model": {"type": "BPE", "vocab": {t: i for i, t in enumerate(VOCAB[:END])}}}))
    return folder


def test_gguf_fixed_by_hand_and_folder_not(run, tmp_path):
    """A GGUF whose eos was repaired stops; converting the stale folder again would not: keep the GGUF's."""
    folder = _stale_folder(tmp_path / "folder")
    write_gguf(tmp_path / "model.gguf", eos=ASSISTANT_END)
    code, out, _ = run("--format", "json", "model.gguf", "folder")
    messages = [m for rule, m in findings(out) if rule == "EOS022"]
    assert messages == [
        "tokenizer.ggml.eos_token_id is 14 '<|assistant_end|>', but converting folder today writes 12 '</s>'; keep "
        "the GGUF's: with the folder's, chat answers would not stop in llama.cpp",
        "chat answers stop in llama.cpp with this GGUF, but would not with folder converted today: fix the folder "
        "before converting it again"]


@pytest.mark.parametrize(("vocab_size", "compared"), [(32000, False), (len(VOCAB), True)])
def test_a_folder_without_special_tokens_is_compared_only_at_the_gguf_s_vocabulary_size(run, tmp_path, vocab_size,
                                                                                       compared):
    """helper-211: a folder holding config.json alone has no special token to tell its family by, and every GGUF was
    compared with it: a Qwen GGUF beside a Llama 2 config.json was told to take its eos. The converter pads the token
    list to config.json's vocab_size, so a folder of another size is not compared."""
    folder = tmp_path / "folder"
    write_json(folder / "config.json", {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                        "eos_token_id": 12, "vocab_size": vocab_size})
    write_gguf(tmp_path / "model.gguf", eos=ASSISTANT_END)
    code, out, _ = run("--format", "json", "model.gguf", "folder")
    assert (json.loads(out)["gguf"][0]["folders"] != []) == compared, out


def test_a_folder_the_converter_cannot_convert_is_not_said_to_convert(run, tmp_path):
    """helper-211: EOS022 said "converting folder today writes 12 '</s>'" of a folder whose architecture
    convert_hf_to_gguf.py has no class for, where explain says it cannot convert it: no ids are compared then."""
    folder = _stale_folder(tmp_path / "folder")
    (folder / "config.json").write_text(json.dumps({"architectures": ["FooBarForCausalLM"], "model_type": "foobar"}))
    write_gguf(tmp_path / "model.gguf", eos=ASSISTANT_END)
    code, out, _ = run("--format", "json", "model.gguf", "folder")
    messages = [m for rule, m in findings(out) if rule == "EOS022"]
    assert not any("converting folder today writes" in m for m in messages), messages
    explained = run("explain", "folder")[1]
    assert "cannot convert FooBarForCausalLM" in explained, explained


def test_a_folder_eos_past_the_gguf_s_token_list_says_to_convert_again(run, tmp_path):
    """A folder whose conversion writes an eos the GGUF's token list does not reach (a token added after the GGUF was
    made; without tokenizer.json the converter takes config.json's eos_token_id): one statement of it (helper-142:
    "44 (outside the token list), an id outside the GGUF's token list")."""
    folder = tmp_path / "folder"
    folder.mkdir()
    write_json(folder / "config.json", {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                        "eos_token_id": 44, "vocab_size": 45})
    write_json(folder / "tokenizer_config.json", {"added_tokens_decoder": {
        str(i): {"content": t, "special": True} for i, t in enumerate(VOCAB) if i >= END}})
    write_gguf(tmp_path / "model.gguf")
    code, out, _ = run("--format", "json", "model.gguf", "folder")
    assert "tokenizer.ggml.eos_token_id is 12 '</s>', but converting folder today writes 44 (outside the token list): " \
           "convert the folder again" in [m for rule, m in findings(out) if rule == "EOS022"], out


def test_eot_differs_from_what_converting_the_folder_writes(run, tmp_path):
    """docs/gguf.md: EOS022 compares "`tokenizer.ggml.eos_token_id` and `eot_token_id` with the ids
    `convert_hf_to_gguf.py` would write from the folder today (... then the ids the converter's class for the
    architecture sets itself, such as GLM-4's eot `<|user|>`)": a GGUF whose eot is '<|turn|>' beside a GLM-4
    folder, whose conversion writes eot '<|user|>'; the same folder under another architecture writes no eot, and
    then there is no such finding."""
    tokens = VOCAB + ["<|user|>"]
    added = [{"id": i, "content": text, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, text in enumerate(tokens) if i >= END]
    folder = tmp_path / "folder"
    write_json(folder / "config.json", {"architectures": ["Glm4ForCausalLM"], "vocab_size": len(tokens)})
    write_json(folder / "tokenizer_config.json", {
        "eos_token": "</s>", "chat_template": CUSTOM_TEMPLATE,
        "added_tokens_decoder": {str(t["id"]): {"content": t["content"], "special": True} for t in added}})
    write_json(folder / "tokenizer.json", {"added_tokens": added, "model": {
        "type": "BPE", "vocab": {t: i for i, t in enumerate(VOCAB[:END])}, "merges": []}})
    write_gguf(tmp_path / "model.gguf", tokens=tokens, types=TYPES + [CONTROL], **{"tokenizer.ggml.eot_token_id": 13})
    code, out, _ = run("--format", "json", "model.gguf", "folder")
    assert json.loads(out)["gguf"][0]["folders"] == ["folder"]
    assert [m for rule, m in findings(out) if rule == "EOS022"] == [
        "tokenizer.ggml.eot_token_id is 13 '<|turn|>', but converting folder today writes 15 '<|user|>'; run llama.cpp "
        "with --override-kv tokenizer.ggml.eot_token_id=int:15, or rewrite the GGUF: gguf-new-metadata model.gguf "
        "model.fixed.gguf --special-token eot '<|user|>'"]
    write_json(folder / "config.json", {"architectures": ["LlamaForCausalLM"], "vocab_size": len(tokens)})
    code, out, _ = run("--format", "json", "model.gguf", "folder")
    assert [m for rule, m in findings(out) if rule == "EOS022"] == [], out


# --- reading only the metadata, and bad files --------------------------------------------------------------------

def listed(value):
    """A value as gguf-py gives it: an array of numbers, which the reader keeps as an ``array.array``, as a list."""
    return value.tolist() if hasattr(value, "tolist") else value


def test_reader_agrees_with_gguf_py(tmp_path):
    path = write_gguf(tmp_path / "model.gguf", **{"tokenizer.ggml.bos_token_id": 13})
    theirs = gguf.GGUFReader(path)
    keys = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.eos_token_id",
            "tokenizer.ggml.bos_token_id", "tokenizer.chat_template")
    ours = read_metadata(path, lambda key: key in keys)
    assert set(ours.fields) == set(keys)
    for key in keys:
        assert listed(ours.fields[key].value) == theirs.get_field(key).contents(), key
        assert ours.fields[key].offset == theirs.get_field(key).offset, key



def test_string_arrays_across_the_read_buffer_agree_with_gguf_py(tmp_path):
    """Token lists and merges are read string by string from a 1 MiB buffer: strings of many lengths (empty,
    long, multi-byte) lie across its ends again and again; kept and skipped arrays, and what follows them, read as
    gguf-py reads them."""
    import random

    rng = random.Random(7)
    tokens = [rng.choice(["", "a", "é" * rng.randrange(1, 40), "x" * rng.randrange(100, 3000), f"<t{i}>"])
              + str(i) for i in range(30_000)]
    path = tmp_path / "model.gguf"
    writer = gguf.GGUFWriter(path, arch="llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_merges([f"{rng.randrange(10**6)} {i}" for i in range(50_000)])
    writer.add_uint32("tokenizer.ggml.bos_token_id", 3)
    writer.add_chat_template(CUSTOM_TEMPLATE)
    _finish(writer)
    assert path.stat().st_size > 4 * (1 << 20)
    theirs = gguf.GGUFReader(path)
    keys = ("tokenizer.ggml.tokens", "tokenizer.ggml.bos_token_id", "tokenizer.chat_template")
    ours = read_metadata(path, lambda key: key in keys)
    for key in keys:
        assert listed(ours.fields[key].value) == theirs.get_field(key).contents(), key
        assert ours.fields[key].offset == theirs.get_field(key).offset, key
    merges = read_metadata(path, lambda key: key == "tokenizer.ggml.merges").fields["tokenizer.ggml.merges"]
    assert merges.value == theirs.get_field("tokenizer.ggml.merges").contents()


def test_reads_only_the_key_value_section(run, tmp_path):
    """A header that claims a 256 GiB tensor, garbage after the key/values, and a sparse 64 GiB file: the tensor
    infos and data are never parsed (gguf-py's GGUFReader, which maps and parses them, fails on this file)."""
    path = tmp_path / "model.gguf"
    writer = gguf.GGUFWriter(path, arch="llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(VOCAB)
    writer.add_token_types(TYPES)
    writer.add_eos_token_id(ASSISTANT_END)
    writer.add_chat_template(CUSTOM_TEMPLATE)
    writer.add_tensor_info("token_embd.weight", [1 << 22, 1 << 14], np.dtype(np.float32), 1 << 38)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    end = path.stat().st_size
    with path.open("ab") as handle:
        handle.write(b"\xff" * 4096)
    try:
        os.truncate(path, 1 << 36)
    except OSError:  # a file system without sparse files: the garbage tail alone still shows it
        pass
    assert read_metadata(path, lambda key: False).end == end
    with pytest.raises(Exception):
        gguf.GGUFReader(path)
    code, out, _ = run("--format", "json", "model.gguf")
    assert (code, findings(out)) == (0, [])
    assert json.loads(out)["gguf"][0]["terminator"]["id"] == ASSISTANT_END


@pytest.mark.parametrize("cut", [3, 10, 30, 200, -40])
def test_truncated_file(run, tmp_path, cut):
    data = write_gguf(tmp_path / "full.gguf").read_bytes()
    end = read_metadata(tmp_path / "full.gguf", lambda key: False).end
    (tmp_path / "model.gguf").write_bytes(data[:cut if cut > 0 else end + cut])
    code, out, err = run("model.gguf")
    assert code == 2
    [line] = err.splitlines()
    assert line.startswith("eos-guard: model.gguf: ")
    assert "Traceback" not in err
    if cut > 4:
        assert line.startswith("eos-guard: model.gguf: corrupt GGUF at byte ")
        assert f"but the file ends at byte {len(data[:cut if cut > 0 else end + cut])}" in line


@pytest.mark.parametrize("patch, message", [
    (lambda data: b"PK\x03\x04" + data[4:], "model.gguf: not a GGUF file (it does not start with 'GGUF')"),
    # a clone made without git-lfs (*.gguf is tracked by LFS on the Hub): what it is, and how to get the file
    (lambda data: b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"ab" * 32 + b"\nsize 4920734816\n",
     "model.gguf:1:1: a git-LFS pointer, not the file: run git lfs pull"),
    (lambda data: b"GG", "model.gguf: not a GGUF file (it does not start with 'GGUF')"),
    (lambda data: data[:4] + (1).to_bytes(4, "little") + data[8:],
     "model.gguf: corrupt GGUF at byte 4: GGUF version 1 is not supported (only versions 2 and 3)"),
    (lambda data: data[:16] + (1 << 60).to_bytes(8, "little") + data[24:],
     "model.gguf: corrupt GGUF at byte 16: key/value count 1152921504606846976 needs at least "),
])
def test_corrupt_header(run, tmp_path, patch, message):
    data = write_gguf(tmp_path / "full.gguf").read_bytes()
    (tmp_path / "model.gguf").write_bytes(patch(data))
    code, _, err = run("model.gguf")
    assert code == 2
    assert err.startswith(f"eos-guard: {message}")
    assert len(err.splitlines()) == 1


def test_huge_string_length_is_refused_before_reading(run, tmp_path):
    data = bytearray(write_gguf(tmp_path / "full.gguf").read_bytes())
    at = data.index(b"tokenizer.ggml.tokens") + len("tokenizer.ggml.tokens") + 4 + 4  # type, item type
    data[at:at + 8] = (1 << 62).to_bytes(8, "little")
    (tmp_path / "model.gguf").write_bytes(bytes(data))
    code, _, err = run("model.gguf")
    assert code == 2
    assert err == (f"eos-guard: model.gguf: corrupt GGUF at byte {at}: in tokenizer.ggml.tokens: array length "
                   f"{1 << 62} needs at least {8 << 62} more bytes, but the file ends at byte {len(data)}\n")


def test_wrong_value_type(run, tmp_path):
    writer_path = tmp_path / "model.gguf"
    writer = gguf.GGUFWriter(writer_path, arch="llama")
    writer.add_string("tokenizer.ggml.eos_token_id", "</s>")
    _finish(writer)
    code, _, err = run("model.gguf")
    assert code == 2
    assert err.startswith("eos-guard: model.gguf: tokenizer.ggml.eos_token_id (at byte ")
    assert err.endswith(") has type string, not uint32: llama.cpp cannot load the file (it reads the id as a "
                        "uint32)\n")


@pytest.mark.parametrize(("add", "value", "name"), [
    ("add_int32", -1, "int32"), ("add_int32", END, "int32"), ("add_uint8", END, "uint8"),
    ("add_uint64", END, "uint64"), ("add_int64", END, "int64"), ("add_uint16", END, "uint16"),
])
@pytest.mark.parametrize("kind", ["eos", "eot", "bos"])
def test_a_special_id_of_another_integer_type_is_a_file_llama_cpp_cannot_load(run, tmp_path, add, value, name, kind):
    """llama.cpp reads tokenizer.ggml.<kind>_token_id with get_key<uint32_t>, which throws "key ... has wrong type
    i32 but expected type u32" for any other type: the file does not load. An int32 -1 was EOS020 ("outside the
    token list, so llama.cpp ignores it"), and a uint8 eos passed."""
    writer = gguf.GGUFWriter(tmp_path / "model.gguf", arch="llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(VOCAB)
    writer.add_token_types(TYPES)
    writer.add_chat_template(CUSTOM_TEMPLATE)
    if kind != "eos":
        writer.add_eos_token_id(END)
    getattr(writer, add)(f"tokenizer.ggml.{kind}_token_id", value)
    _finish(writer)
    code, out, err = run("model.gguf")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"eos-guard: model.gguf: tokenizer.ggml.{kind}_token_id (at byte ")
    assert err.endswith(f") has type {name}, not uint32: llama.cpp cannot load the file (it reads the id as a uint32)\n")


def test_metadata_larger_than_max_file_size(run, tmp_path):
    (tmp_path / ".eos-guard.yaml").write_text("max-file-size: 0.0001\n", encoding="utf-8")  # 104 bytes
    write_gguf(tmp_path / "model.gguf")
    code, _, err = run("model.gguf")
    assert code == 2
    assert err == ("eos-guard: model.gguf: the metadata is larger than max-file-size (104 bytes); raise "
                   "max-file-size in the configuration to read it\n")


def test_other_files_are_still_checked(run, tmp_path):
    (tmp_path / "broken.gguf").write_bytes(b"GGUF")
    write_gguf(tmp_path / "model.gguf")
    code, out, err = run("broken.gguf", "model.gguf")
    assert code == 2
    assert "EOS019" in out
    assert err.startswith("eos-guard: broken.gguf: corrupt GGUF at byte 4: ")


def test_the_closing_line_counts_folders_and_gguf_files_apart(run, tmp_path):
    write_gguf(tmp_path / "model.gguf")
    folder = tmp_path / "model"
    write_json(folder / "config.json", {"eos_token_id": 2, "vocab_size": 8})
    write_json(folder / "generation_config.json", {"eos_token_id": 2})
    code, out, _ = run("--ignore", "gguf-terminator-not-eog,gguf-folder-mismatch", "model", "model.gguf")
    assert (code, out) == (0, "All checks passed (1 model folder, 1 GGUF file; 1 names no token that ends an answer: stopping not checked).\n")
    code, out, _ = run("model", "model.gguf")
    # (the folder names no architecture, which convert_hf_to_gguf.py needs: EOS022 compares no ids with it)
    assert code == 1 and out.endswith("1 of 2 checked (1 model folder, 1 GGUF file) fails (1 error); "
                                      "1 names no token that ends an answer: stopping not checked.\n"), out


def test_a_gguf_name_in_any_case_is_read_and_a_folder_so_named_is_a_folder(run, tmp_path):
    """llama.cpp opens a GGUF whatever its name: "Model.GGUF" was taken for a file outside a model folder (exit 0,
    nothing checked). A folder named "x.gguf" is a folder; a FIFO so named is not a regular file."""
    import os

    write_gguf(tmp_path / "Model.GGUF")
    code, out, _ = run("--format", "json", "Model.GGUF")
    assert code == 1 and [rule for rule, _ in findings(out)] == ["EOS019"], out
    (tmp_path / "dir.gguf").mkdir()
    code, _, err = run("dir.gguf")
    assert code == 2 and "dir.gguf: holds no model folder" in err, err
    os.mkfifo(tmp_path / "fifo.gguf")
    code, _, err = run("fifo.gguf")
    assert code == 2 and "fifo.gguf: not a regular file" in err, err


def test_a_gguf_path_linked_out_of_its_repository_is_not_read(run, tmp_path):
    """A .gguf PATH in a git work tree that links outside it (a pull request can add one) was read and its token
    texts quoted in findings; it is refused as a linked model file is (EOS018). Outside a work tree the named
    file is read wherever it links (a GGUF linked from a model store)."""
    import subprocess

    outside = write_gguf(tmp_path / "outside.gguf", tokens=VOCAB[:-1] + ["SECRET-FROM-OUTSIDE"])
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    os.symlink(outside, repo / "model.gguf")
    code, out, _ = run("--format", "json", "model.gguf", cwd=repo)
    assert code == 1 and [(f["code"], f["path"]) for f in json.loads(out)["findings"]] == [("EOS018", "model.gguf")]
    assert "SECRET" not in out and "not followed" in out
    plain = tmp_path / "plain"
    plain.mkdir()
    os.symlink(outside, plain / "model.gguf")
    code, out, _ = run("model.gguf", cwd=plain)
    assert (code, out) == (0, "All checks passed (1 GGUF file).\n")


@pytest.mark.parametrize(("template", "problem"), [
    ("{% for m in messages %}{{ m.content }}{% endfor", "failed on every probe conversation: TemplateSyntaxError"),
    ("{{ raise_exception('no chats here') }}", "failed on every probe conversation: user,assistant: TemplateError"),
    ("{{ 'x' * 999999 }}{{ 'y' * 999999 }}", "was stopped: "),
    ("{% for m in messages %}<|turn|>{{ m.role }}{% endfor %}", "never shows the assistant's answer"),
], ids=["syntax-error", "raises", "over-a-limit", "no-answer"])
def test_a_gguf_template_that_cannot_be_checked_is_eos028(run, tmp_path, template, problem):
    """The GGUF's EOS014: a template eos-guard cannot check passed in silence ('All checks passed', exit 0) where a
    working one gives EOS019, so breaking the template hid the error."""
    write_gguf(tmp_path / "m.gguf", template=template)
    code, out, _ = run("--format", "json", "m.gguf", cwd=tmp_path)
    found = [(f["code"], f["severity"], f["message"]) for f in json.loads(out)["findings"]]
    assert code == 0 and [(c, s) for c, s, _ in found] == [("EOS028", "warning")], found
    assert found[0][2].startswith("the chat template (tokenizer.chat_template) " + problem), found


# The shape of llama.cpp's models/templates/MiroThinker-v1.jinja (shortened): after the conversation it sets an
# attribute of each assistant message, which llama.cpp's own Jinja engine does (common/jinja/runtime.cpp,
# set_statement::execute_impl) and jinja2 refuses on anything but a namespace().
SETS_A_MESSAGE_ATTRIBUTE = CUSTOM_TEMPLATE + ("{% for m in messages %}{% if m.role == 'assistant' and m.tool_calls | "
                                              "length == 0 %}{% set m.tool_calls = [] %}{% endif %}{% endfor %}")


def test_a_template_only_llama_cpps_engine_renders_fails_in_transformers_and_is_eos028(run, tmp_path):
    """docs/rules.md (EOS028) says eos-guard renders as transformers does, so a template that fails on every probe
    here fails in apply_chat_template too, and that one llama.cpp runs may still fail here: a warning that it is not
    checked, not a verdict."""
    from jinja2.exceptions import TemplateRuntimeError
    render_jinja_template = pytest.importorskip("transformers.utils.chat_template_utils").render_jinja_template

    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    with pytest.raises(TemplateRuntimeError, match="cannot assign attribute on non-namespace object"):
        render_jinja_template(conversations=[chat], chat_template=SETS_A_MESSAGE_ATTRIBUTE)
    write_gguf(tmp_path / "m.gguf", template=SETS_A_MESSAGE_ATTRIBUTE)
    code, out, _ = run("--format", "json", "m.gguf", cwd=tmp_path)
    found = [(f["code"], f["severity"], f["message"]) for f in json.loads(out)["findings"]]
    assert code == 0 and [(c, s) for c, s, _ in found] == [("EOS028", "warning")], found
    assert found[0][2].startswith("the chat template (tokenizer.chat_template) failed on every probe conversation: "
                                  "user,assistant: TemplateRuntimeError: cannot assign attribute on non-namespace "
                                  "object"), found


def test_a_gguf_renders_at_most_sixteen_templates(run, tmp_path, monkeypatch):
    """A GGUF's templates were all rendered: a 3 KB file with 20 templates that each ran to the time limit held a
    check for 40 s, and 2,000 of them took 1.9 GB. As for a folder, 16 are checked (tokenizer.chat_template
    first) and the rest are one EOS028 error."""
    from eos_guard import gguf_check

    rendered = []
    real = gguf_check.probe_named_template
    monkeypatch.setattr(gguf_check, "probe_named_template", lambda name, *rest: rendered.append(name) or real(name,
                                                                                                        *rest))
    writer = gguf.GGUFWriter(tmp_path / "m.gguf", arch="llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(VOCAB)
    writer.add_token_types(TYPES)
    writer.add_eos_token_id(END)
    writer.add_chat_template([{"name": "default", "template": CUSTOM_TEMPLATE}] +
                             [{"name": f"t{i:02d}", "template": CUSTOM_TEMPLATE} for i in range(19)])
    _finish(writer)
    code, out, _ = run("--format", "json", "m.gguf", cwd=tmp_path)
    assert len(rendered) == 16 and rendered[0] == "default"
    found = [(f["code"], f["severity"], f["message"]) for f in json.loads(out)["findings"]]
    assert code == 1 and ("EOS028", "error", "4 chat templates not checked (tokenizer.chat_template.t15 and the ones "
                          "after it): eos-guard checks at most 16 chat templates per GGUF file, as per model folder") \
        in found, found


# --- what a hostile file costs (docs/security.md, Limits on model files) -----------------------------------------

def hostile_gguf(path: Path, shape: str, n: int) -> Path:
    """A GGUF whose metadata is mostly ``n`` of one small entry, beside a vocabulary and a template that check
    clean: keys (5.4 million in 100 MiB took 25 s and 725 MB), CONTROL tokens (6 million took 1.1 GB and gave a
    false EOS028: the list went to the render worker), NORMAL tokens, or token types of large values (each an int
    object as a list: 13 times their bytes)."""
    tokens, types = list(VOCAB), list(TYPES)
    if shape == "control-tokens":
        tokens += [f"<{i:x}>" for i in range(n)]
        types += [CONTROL] * n
    elif shape == "normal-tokens":
        tokens += [f"{i:x}_" for i in range(n)]  # no text twice: llama.cpp refuses that (another test)
        types += [NORMAL] * n
    elif shape == "large-token-types":
        types += range(1000, 1000 + n)
    elif shape == "repeated-text":  # short texts, the last one written twice: found by sorting past 300,000 tokens
        tokens += [f"{i:x}" for i in range(16, n)] + ["10"]
        types += [NORMAL] * (n - 16 + 1)
    elif shape == "empty-texts":  # 8 bytes each, without token types: llama.cpp reads each as "[EMPTY_<id>]"
        tokens += [""] * n
        types = None
    elif shape == "cut-texts-not-utf-8":  # b"\xff\0" each, two texts in Python (decoded, then cut at the NUL)
        tokens = [t.encode() for t in tokens] + [b"\xff\0" + i.to_bytes(3, "little").replace(b"\0", b"\1")
                                                 for i in range(n)]
        types += [NORMAL] * n
    writer = gguf.GGUFWriter(path, arch="llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    if types is not None:
        writer.add_token_types(types)
    writer.add_eos_token_id(ASSISTANT_END)
    writer.add_chat_template(CUSTOM_TEMPLATE)
    if shape == "keys":
        for i in range(n):
            writer.add_uint8(f"{i:x}", 1)
    if shape == "template-keys":  # each read: the first 16 by name are rendered, the others named (EOS028)
        for i in range(n):
            writer.add_uint8(f"tokenizer.chat_template.{i:x}", 1)
    _finish(writer)
    return path


HOSTILE = {"keys": 250_000, "control-tokens": 250_000, "normal-tokens": 300_000, "large-token-types": 1_000_000,
           "repeated-text": 600_000, "empty-texts": 550_000, "cut-texts-not-utf-8": 500_000,
           "template-keys": 120_000}


@pytest.mark.parametrize("shape", HOSTILE)
def test_a_hostile_gguf_costs_at_most_the_documented_multiple_of_its_size(tmp_path, shape):
    """docs/security.md: reading a GGUF's metadata and checking it takes at most 10 times the metadata's size in
    memory, above what a GGUF with a small vocabulary takes (measured: 1 to 7.3 times). It took 11.7 times for token
    types of large values (a list of int objects, now an array) and 10.4 times for CONTROL tokens (a table of every
    token's id beside the list, now the ids of the few texts looked up); 4 to 5 MB of each shape, in a process of
    its own. A text written twice among millions of short ones, which llama.cpp refuses, took 11.6 times when a set
    found it (helper-154): past 300,000 tokens, sorting does. Empty texts, each made its "[EMPTY_<id>]" text to
    compare, took 11.4 times (helper-157); only a text written so is looked at now. helper-198: texts that are not
    UTF-8 and hold a NUL took 18.5 times (a second list of the texts cut at it), and chat template keys 10.9 (an
    instance dictionary per kept entry)."""
    from support import ROOT

    path = hostile_gguf(tmp_path / "hostile.gguf", shape, HOSTILE[shape])
    small = write_gguf(tmp_path / "small.gguf", template=CUSTOM_TEMPLATE, eos=ASSISTANT_END)
    measure = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EOS_GUARD_CACHE_DIR": str(tmp_path / "cache")}

    def peak(gguf_path: Path) -> int:
        proc = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "eos_guard", "--no-cache",
                               str(gguf_path)], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
        return int(proc.stdout) * 1024  # ru_maxrss is in KiB on Linux

    size = read_metadata(path, lambda key: False).end
    assert size > 3 << 20
    grown = peak(path) - peak(small)
    assert grown <= 10 * size, f"{grown / size:.1f} times the metadata's size"


def cpu_seconds(path: Path) -> float:
    import time

    from eos_guard.config import Config
    from eos_guard.pipeline import check_paths
    from eos_guard.report import REPORTERS

    config = Config()
    config.limits = type(config.limits)(config.limits.seconds, config.limits.max_output, False)
    start = time.process_time()
    report = check_paths([path], config)
    assert not report.errors and not list(report.findings())
    for render in REPORTERS.values():
        render(report)
    return time.process_time() - start


@pytest.mark.parametrize("shape", ["keys", "control-tokens", "normal-tokens"])
def test_a_gguf_ten_times_larger_costs_at_most_thirty_times_the_time(tmp_path, monkeypatch, shape):
    """docs/security.md: the time of a check grows linearly with the metadata's entries (test_linear_time.py's bound
    for folders): measured against the same shape at a tenth of the size, so it holds on a slow or busy machine."""
    monkeypatch.chdir(tmp_path)
    small = hostile_gguf(tmp_path / "small.gguf", shape, 20_000)
    large = hostile_gguf(tmp_path / "large.gguf", shape, 200_000)
    cpu_seconds(small)  # imports and first-use costs out of the measurement
    small_time = min(cpu_seconds(small) for _ in range(2))
    large_time = cpu_seconds(large)
    assert large_time < 30 * small_time + 0.5, (small_time, large_time)


def test_the_token_list_never_goes_to_the_render_worker(tmp_path):
    """The worker renders and this process picks the token (template._probe_isolated): a million CONTROL tokens
    (four times Gemma 3's whole vocabulary) are checked under a 64 MiB address-space limit, which a template with
    no tokens needs. They were sent to the worker, whose limits are the template's: at 512 MiB, 5 million CONTROL
    tokens made a correct template 'need more than 512 MiB of memory', a false EOS028."""
    from eos_guard import gguf_check
    from eos_guard.template import Limits

    path = hostile_gguf(tmp_path / "m.gguf", "control-tokens", 1_000_000)
    checked = gguf_check.load(path, Limits(cache=False, memory_mb=64))
    [template] = checked.templates
    assert (template.problem, template.token, template.id) == (None, "<|assistant_end|>", ASSISTANT_END)


def test_a_gguf_stops_on_its_fill_in_the_middle_tokens(run, tmp_path):
    """llama.cpp makes the FIM pad, repo and file-separator tokens it finds by text end-of-generation in a GGUF file
    too (docs/gguf.md): Qwen2.5's '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>'; its '<|fim_prefix|>' does not stop."""
    fim = ["<|fim_prefix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]
    write_gguf(tmp_path / "model.gguf", tokens=VOCAB + fim, types=TYPES + [CONTROL] * 4)
    code, out, _ = run("--format", "json", "model.gguf")
    assert json.loads(out)["gguf"][0]["eog_ids"] == [12, 16, 17, 18], out  # the eos 12, then the three (not 15)


def test_keys_and_string_values_are_read_up_to_their_first_nul_as_llama_cpp_reads_them(run, tmp_path):
    """helper-157: ggml finds a key by strcmp, the first entry that matches winning, and llama.cpp reads a string
    value through c_str(). A key 'tokenizer.ggml.eos_token_id\\0' written before the real one is the eos llama.cpp
    reads (it shadowed the real key: eos-guard passed a file that does not stop); a template '{{- '\\0' -}}...' is
    '{{- '' to llama.cpp, which cannot parse it (eos-guard rendered the whole text and passed)."""
    writer = gguf.GGUFWriter(tmp_path / "shadowed.gguf", arch="llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(VOCAB)
    writer.add_token_types(TYPES)
    writer.add_uint32("tokenizer.ggml.eos_token_id\0", 2)  # 'c': no end of generation
    writer.add_eos_token_id(ASSISTANT_END)
    writer.add_chat_template(CUSTOM_TEMPLATE)
    _finish(writer)
    code, out, _ = run("--format", "json", "shadowed.gguf")
    assert code == 1 and "EOS019" in [f["code"] for f in json.loads(out)["findings"]], out
    assert "llama.cpp stops only on [12 '</s>', 2 'c']" in out  # tests/test_llama_cpp_differential.py: libllama's
    write_gguf(tmp_path / "template.gguf", template="{{- '\0' -}}" + CUSTOM_TEMPLATE, eos=ASSISTANT_END)
    code, out, _ = run("--format", "json", "template.gguf")
    [finding] = json.loads(out)["findings"]
    assert finding["code"] == "EOS028" and "TemplateSyntaxError" in finding["message"], out
    write_gguf(tmp_path / "template.gguf", template=CUSTOM_TEMPLATE, eos=ASSISTANT_END)  # without the NUL: stops
    assert run("template.gguf")[0] == 0


def test_a_sarif_file_named_as_the_gguf_path_it_checks_is_refused(run, tmp_path):
    """helper-162: an output file that is one the run checks is refused (docs/usage.md); for a GGUF PATH the file
    itself, which --sarif would have replaced with the report."""
    path = write_gguf(tmp_path / "model.gguf")
    before = path.read_bytes()
    code, _, err = run("--sarif", "model.gguf", "model.gguf", cwd=tmp_path)
    assert code == 2 and "model.gguf: cannot write the --sarif file: it is a file this run checks" in err, err
    assert path.read_bytes() == before


def test_a_model_folder_s_own_gguf_files_are_named_on_stderr_when_not_checked(run, tmp_path, monkeypatch):
    """helper-169: a quantization repository that ships the model's config.json beside its GGUF files (unsloth's
    *-GGUF) passed `eos-guard .` having checked none of what llama.cpp runs, and said nothing of them (without the
    config.json, the run exits 2 naming the command). A warning on stderr names the command; not when the run names
    them, nor under pre-commit, which passes the GGUF files its pattern matches."""
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    folder = tmp_path / "m"
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", folder, ignore=shutil.ignore_patterns("expected.json"))
    write_gguf(folder / "model-Q4_K_M.gguf")
    code, _, err = run("m")
    assert err == "eos-guard: warning: m holds a GGUF file this run does not check (folders are searched for model " \
        "folders, not GGUF files): eos-guard m/*.gguf m\n", err
    # a command a shell takes: the folder quoted, and each file where a name's case escapes the glob (helper-171)
    spaced = shutil.copytree(folder, tmp_path / "my models" / "m")
    (spaced / "Q8.GGUF").write_bytes((spaced / "model-Q4_K_M.gguf").read_bytes())
    err = run("my models")[2]
    assert err.endswith(": eos-guard 'my models/m/Q8.GGUF' 'my models/m/model-Q4_K_M.gguf' 'my models/m'\n"), err
    argv = shlex.split(err.rsplit("): ", 1)[1])  # the command runs as printed, and checks the GGUF files
    proc = subprocess.run([sys.executable, "-m", "eos_guard", *argv[1:]], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode in (0, 1) and "GGUF" not in proc.stderr, proc
    assert "GGUF" not in run("m/model-Q4_K_M.gguf", "m")[2]
    # a folder named with a leading dash, and a hidden file the glob skips (helper-173)
    dashed = shutil.copytree(folder, tmp_path / "-m")
    (dashed / ".hidden.gguf").write_bytes((dashed / "model-Q4_K_M.gguf").read_bytes())
    assert run("./-m")[2].endswith(": eos-guard ./-m/.hidden.gguf ./-m/model-Q4_K_M.gguf ./-m\n")
    monkeypatch.setenv("PRE_COMMIT", "1")
    assert run("m")[2] == ""


def test_a_ctransformers_config_json_beside_gguf_files_is_no_model_s(run, tmp_path):
    """helper-169: TheBloke's *-GGUF repositories ship config.json {"model_type": "llama"} for ctransformers beside
    the GGUF files: it was checked as a model's, EOS004 "generate() never stops", where no runtime loads a model from
    it. Beside GGUF (or GGML) files such a stub makes no model folder; elsewhere it is still read."""
    folder = tmp_path / "Llama-2-7B-Chat-GGUF"
    write_json(folder / "config.json", {"model_type": "llama"})
    write_gguf(folder / "llama-2-7b-chat.Q4_K_M.gguf")
    code, out, err = run("Llama-2-7B-Chat-GGUF")
    assert (code, out) == (2, "No model folders found.\n")
    assert err.endswith("its GGUF file is checked when named: eos-guard Llama-2-7B-Chat-GGUF/*.gguf\n"), err
    code, out, err = run("Llama-2-7B-Chat-GGUF/config.json")  # as pre-commit passes it
    assert (code, out) == (0, "No model folders found.\n"), (out, err)
    # named with its GGUF files, as gguf.md shows it (helper-171: exit 2, "its GGUF file is checked when named")
    code, out, err = run("Llama-2-7B-Chat-GGUF/llama-2-7b-chat.Q4_K_M.gguf", "Llama-2-7B-Chat-GGUF")
    assert code != 2 and "holds no model folder" not in err, (code, out, err)
    (folder / "llama-2-7b-chat.Q4_K_M.gguf").unlink()
    assert "EOS004" in run("Llama-2-7B-Chat-GGUF")[1]
