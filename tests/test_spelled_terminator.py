"""A template whose answers end with a known turn end the tokenizer does not have ('<|im_end|>' in a ChatML
template set on a base model's tokenizer) is an EOS011 error, and no runtime is said to stop; text of a format of
its own ('### End') stays a warning. Text written between the answer and a token ('</answer><|im_end|>') is part
of the answer: the token is the terminator. A remote-code tokenizer without tokenizer.json keeps the ids its files
declare. transformers is the oracle."""

from __future__ import annotations

import json
import shutil

import pytest

from support import FIXTURES, write_json

transformers = pytest.importorskip("transformers")

CHAT = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]


def findings(run, folder):
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    return code, [(f["code"], f["severity"], f["message"]) for f in json.loads(out)["findings"]], json.loads(out)


def test_a_chatml_template_on_a_tokenizer_without_im_end_is_an_error(tmp_path, run):
    """terminator-plain-text: Mistral-7B-v0.1's tokenizer, a ChatML template. transformers splits '<|im_end|>' into
    pieces and generate() stops only on 2, which the template never writes: an error, 'unknown' for every runtime
    (whether the model learned '</s>' after the spelled text is not in the files), and no fix that adds an id."""
    folder = shutil.copytree(FIXTURES / "terminator-plain-text", tmp_path / "m")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    rendered = tokenizer.apply_chat_template(CHAT, tokenize=False)
    assert rendered.split("Hello", 1)[1].startswith("<|im_end|>")
    assert "<|im_end|>" not in tokenizer.get_added_vocab()
    assert len(tokenizer.encode("<|im_end|>", add_special_tokens=False)) > 1
    assert transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id == 2

    code, found, report = findings(run, folder)
    assert code == 1 and [(c, s) for c, s, _ in found] == [("EOS011", "error")], found
    assert found[0][2] == ("the 'default' chat template ends assistant turns with '<|im_end|>', but the tokenizer "
                           "has no such token (not an added token): the model can only spell it in pieces, and no "
                           "stop id ends an answer; add '<|im_end|>' as a special token")
    assert set(report["models"][0]["stops"].values()) == {None}, report["models"][0]["stops"]
    code, out, _ = run("--format", "text", "--baseline", "none", str(folder))
    assert out.splitlines()[0].endswith(": fails; stops in transformers: unknown (chat answers end with the text "
                                        "'<|im_end|>', which is no token of this tokenizer (EOS011))"), out
    code, out, _ = run("explain", str(folder))
    assert out.splitlines()[1] == ("  chat answers end with the text '<|im_end|>', which is no token of this "
                                   "tokenizer (EOS011), from the 'default' template"), out
    assert "fix for" not in out and "unknown: the folder does not say" not in out
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert run("--fix", "--baseline", "none", str(folder))[0] == 1
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no id to add: nothing written


@pytest.mark.parametrize("ending,severity", [
    ("### End", "warning"),  # a format of its own
    ("<|end_of_text|>", "error"),  # longest first: not '<|end|>'
    ("<|end|>", "error"),
    ("<end_of_turn>", "error"),
])
def test_only_a_known_turn_end_makes_it_an_error(tmp_path, run, ending, severity):
    folder = shutil.copytree(FIXTURES / "terminator-plain-text", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}" + ending +
                               "\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}")
    write_json(folder / "tokenizer_config.json", config)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert ending not in tokenizer.get_added_vocab()
    assert tokenizer.apply_chat_template(CHAT, tokenize=False).split("Hello", 1)[1].startswith(ending)
    _, found, _ = findings(run, folder)
    eos011 = [(s, m) for c, s, m in found if c == "EOS011"]
    assert len(eos011) == 1 and eos011[0][0] == severity, found
    assert f"'{ending.split()[0]}'" in eos011[0][1], eos011


def test_a_remote_code_tokenizer_without_tokenizer_json_keeps_the_ids_it_declares(tmp_path, run):
    """ChatGLM3-6B: auto_map names remote code (tokenization_chatglm.ChatGLMTokenizer) and chatglm is not a model
    type transformers skips remote code for, so only trust_remote_code=True loads it, and its class (a Python
    tokenizer over its own SPTokenizer) keeps added_tokens_decoder's ids: '<|user|>' is 64795, not the 64789 a
    generic backend built from tokenizer.model would give. The finding and --fix say 64795."""
    folder = shutil.copytree(FIXTURES / "llama2-chatml-finetune-tokenizer-model-added-tokens-json", tmp_path / "glm")
    for name in ("added_tokens.json", "tokenizer.json", "special_tokens_map.json", "generation_config.json"):
        (folder / name).unlink(missing_ok=True)
    size = _pieces(folder)
    decoder = {str(size + 6): "<|user|>", str(size + 8): "<|observation|>"}  # ChatGLM's numbering past the pieces
    write_json(folder / "tokenizer_config.json", {
        "added_tokens_decoder": {i: {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                                     "single_word": False, "special": True} for i, t in decoder.items()},
        "auto_map": {"AutoTokenizer": ["tokenization_chatglm.ChatGLMTokenizer", None]},
        "tokenizer_class": "ChatGLMTokenizer", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>",
        "chat_template": "{% for m in messages %}<|{{ m['role'] }}|>\n {{ m['content'] }}{% endfor %}"
                         "{% if add_generation_prompt %}<|assistant|>{% endif %}"})
    write_json(folder / "config.json", {"model_type": "chatglm", "architectures": ["ChatGLMModel"],
                                        "auto_map": {"AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration"},
                                        "eos_token_id": 2, "pad_token_id": 0, "padded_vocab_size": 65024})
    with pytest.raises(ValueError, match="trust_remote_code"):  # no class of transformers' own loads it
        transformers.AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    code, found, _ = findings(run, folder)
    eos001 = [m for c, _, m in found if c == "EOS001"]
    assert eos001 and f"'<|user|>' ({size + 6})" in eos001[0] and eos001[0].endswith(f"add {size + 6}"), found
    assert not [c for c, _, _ in found if c == "EOS009"], found
    run("--fix", "--exit-zero-even-if-changed", "--baseline", "none", str(folder))
    assert json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))["eos_token_id"] == [
        2, size + 6]


def _pieces(folder) -> int:
    from eos_guard.spm_model import SentencePieceModel

    path = folder / "tokenizer.model"
    return SentencePieceModel(path, path.read_bytes()).size


def test_a_remote_code_sentencepiece_tokenizer_keeps_its_pieces_ids(tmp_path, run):
    """Early Yi (remote YiTokenizer over tokenizer.model; a model type transformers does not skip remote code
    for, and no tokenizer class of its own named): a Python tokenizer keeps the pieces' ids, so '<|im_end|>' is piece 7 and a single token, and the
    declared added_tokens_decoder entries (0-2) do not make it "no token". generation_config [2, 7] stops; [2]
    does not, and the finding says 7."""
    folder = shutil.copytree(FIXTURES / "yi-chat-finetune-tokenizer-model-im-end-piece", tmp_path / "yi")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoTokenizer": ["tokenization_yi.YiTokenizer", None]}
    config["tokenizer_class"] = "YiTokenizer"  # no class of transformers' own: only the remote one loads
    config["added_tokens_decoder"] = {str(i): {"content": t, "special": True, "lstrip": False, "rstrip": False,
                                               "normalized": False, "single_word": False}
                                      for i, t in ((0, "<unk>"), (1, "<|startoftext|>"), (2, "<|endoftext|>"))}
    write_json(folder / "tokenizer_config.json", config)
    write_json(folder / "config.json", {**json.loads((folder / "config.json").read_text(encoding="utf-8")),
                                        "model_type": "Yi", "architectures": ["YiForCausalLM"]})
    with pytest.raises(ValueError, match="trust_remote_code"):
        transformers.AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    write_json(folder / "generation_config.json", {"eos_token_id": [2, 7]})
    code, found, report = findings(run, folder)
    assert code == 0 and not [c for c, s, _ in found if s != "info"], found
    assert report["models"][0]["terminator"]["id"] == 7
    write_json(folder / "generation_config.json", {"eos_token_id": 2})
    code, found, _ = findings(run, folder)
    assert code == 1 and any(c == "EOS001" and m.endswith("add 7") for c, _, m in found), found


def test_a_known_turn_end_that_is_one_vocabulary_token_stays_a_warning(tmp_path, run):
    """'<|im_end|>' in the model vocab but not an added token: a WordLevel tokenizer over whitespace keeps it one
    token (transformers encodes it as 53), so no error; the warning stays (a ByteLevel or Metaspace pre-tokenizer
    would split it)."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    folder = shutil.copytree(FIXTURES / "terminator-plain-text", tmp_path / "m")
    tokenizer = Tokenizer(WordLevel({"<unk>": 0, "<s>": 1, "</s>": 2, "Hi": 3, "Hello": 4, "<|im_end|>": 53},
                                    unk_token="<unk>"))
    tokenizer.pre_tokenizer = WhitespaceSplit()
    tokenizer.add_special_tokens(["<unk>", "<s>", "</s>"])
    tokenizer.save(str(folder / "tokenizer.json"))
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    write_json(folder / "tokenizer_config.json", config)
    loaded = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert loaded.encode("<|im_end|>", add_special_tokens=False) == [53]
    _, found, _ = findings(run, folder)
    assert [(c, s) for c, s, _ in found if c == "EOS011"] == [("EOS011", "warning")], found


def test_a_known_turn_end_followed_by_the_eos_token_stays_a_warning(tmp_path, run):
    """'<|im_end|>' + eos_token: the text is spelled, but the answer ends with '</s>' (2), a stop id: transformers
    renders it, and generation stops there. A warning, and the runtimes stop."""
    folder = shutil.copytree(FIXTURES / "terminator-plain-text", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>"
                               "{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
                               "{% endif %}")
    write_json(folder / "tokenizer_config.json", config)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert tokenizer.apply_chat_template(CHAT, tokenize=False).split("Hello", 1)[1].startswith("<|im_end|></s>")
    _, found, report = findings(run, folder)
    assert [(c, s) for c, s, _ in found if c == "EOS011"] == [("EOS011", "warning")], found
    assert report["models"][0]["stops"]["transformers"] is True


@pytest.mark.parametrize("before", ["", "</answer>", "."])
def test_a_known_turn_end_spelled_before_the_eos_after_other_text_is_a_warning(tmp_path, run, before):
    """'<|im_end|>' on a tokenizer without it, then eos_token: the model spells it in pieces into every answer before
    </s> stops it, also after other text (helper-112: '</answer><|im_end|>' + eos_token had no finding)."""
    folder = shutil.copytree(FIXTURES / "terminator-plain-text", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}" + before +
                               "<|im_end|>{{ eos_token }}\n{% endfor %}")
    write_json(folder / "tokenizer_config.json", config)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    after = tokenizer.encode(tokenizer.apply_chat_template(CHAT, tokenize=False).split("Hello", 1)[1],
                             add_special_tokens=False)
    assert after.index(2) > 1  # </s> (2) comes after '<|im_end|>' in pieces
    _, found, report = findings(run, folder)
    assert [(c, s) for c, s, _ in found if c == "EOS011"] == [("EOS011", "warning")], found
    assert "writes '<|im_end|>' before '</s>' after every answer" in found[0][2]
    assert report["models"][0]["stops"]["transformers"] is True


@pytest.mark.parametrize("before", ["</answer>", '"', ".", "</answer>\n"])
@pytest.mark.parametrize("eos_ids,stops", [(151643, False), ([151645, 151643], True)])
def test_text_before_the_token_after_an_answer_is_part_of_the_answer(tmp_path, run, before, eos_ids, stops):
    """A template that writes text between the answer and <|im_end|> (a reasoning fine-tune's </answer>, a quote): the
    model writes that text, then <|im_end|>, where generation stops, so <|im_end|> is the terminator. It was taken for
    a terminator spelled in pieces (EOS011, a warning), with no id: with the tokenizer eos <|endoftext|> the folder
    passed while generate(), stopping only on 151643, runs on."""
    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}" + before +
                               "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    config["eos_token"] = "<|endoftext|>"
    write_json(folder / "tokenizer_config.json", config)
    generation = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    generation["eos_token_id"] = eos_ids
    write_json(folder / "generation_config.json", generation)
    model_config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**model_config, "eos_token_id": 151643})
    (folder / "special_tokens_map.json").unlink(missing_ok=True)

    # the oracle: the first added token the model writes after the answer, and what generate() stops on
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    rendered = tokenizer.apply_chat_template(CHAT, tokenize=False)
    after = tokenizer.encode(rendered.split("Hello", 1)[1], add_special_tokens=False)
    added = set(tokenizer.get_added_vocab().values())
    first_added = next(i for i in after if i in added)
    assert tokenizer.convert_ids_to_tokens(first_added) == "<|im_end|>" and after[0] != first_added
    listed = transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id
    listed = listed if isinstance(listed, list) else [listed]
    assert (first_added in listed) == stops

    code, found, report = findings(run, folder)
    assert report["models"][0]["stops"]["transformers"] is stops
    assert "EOS011" not in [c for c, _, _ in found], found
    assert ("EOS001", "error") in [(c, s) for c, s, _ in found] if not stops else code == 0, found
    if not stops:  # --fix adds <|im_end|> (exit 1: a file changed), and the folder then passes
        assert run("--fix", "--baseline", "none", str(folder))[0] == 1
        assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == [151643, 151645]
        assert findings(run, folder)[0] == 0


def _remote_spm_folder(tmp_path, tokenizer_config, source="llama2-chatml-finetune-tokenizer-model-added-tokens-json"):
    """A folder of a remote Python tokenizer over a real SentencePiece tokenizer.model (no tokenizer.json)."""
    folder = tmp_path / "remote"
    folder.mkdir()
    shutil.copy(FIXTURES / source / "tokenizer.model", folder)
    write_json(folder / "tokenizer_config.json", {
        "auto_map": {"AutoTokenizer": ["tokenization_baichuan.BaichuanTokenizer", None]},
        "tokenizer_class": "BaichuanTokenizer",
        "chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                         "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
        **tokenizer_config})
    write_json(folder / "config.json", {"model_type": "baichuan", "architectures": ["BaichuanForCausalLM"],
                                        "eos_token_id": 2})
    write_json(folder / "generation_config.json", {"eos_token_id": 2})
    return folder


def test_a_remote_tokenizer_adds_the_special_tokens_it_is_given_at_its_length(tmp_path, run):
    """Baichuan2 fine-tuned with additional_special_tokens and no added_tokens_decoder: the Python class adds
    '<|im_start|>' and '<|im_end|>' at len(tokenizer), in order: 321 and 322 past this tokenizer.model's 321
    pieces. Not "no such token" (an EOS011 error): an EOS001 naming 322."""
    folder = _remote_spm_folder(tmp_path, {"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    code, found, report = findings(run, folder)
    assert report["models"][0]["terminator"]["id"] == 322, report["models"][0]
    assert any(c == "EOS001" and m.endswith("add 322") for c, _, m in found), found
    assert not [c for c, _, _ in found if c == "EOS011"], found


def test_a_remote_sentencepiece_tokenizer_takes_its_eos_from_the_model(tmp_path, run):
    """ChatGLM2-6B's tokenizer_config.json names no eos_token: its class takes the SentencePiece model's eos
    ('</s>' 2), which the stop ids hold."""
    folder = _remote_spm_folder(tmp_path, {"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    code, out, _ = run("explain", "--format", "json", str(folder))
    model = json.loads(out)["models"][0]
    assert {r["runtime"]: r["stop_ids"] for r in model["runtimes"]}["tgi"] == [2], model["runtimes"]
    _, _, report = findings(run, folder)
    assert report["models"][0]["tokenizer_eos"] == {"token": "</s>", "id": 2}, report["models"][0]


def test_a_remote_tokenizer_over_a_git_lfs_pointer_is_an_error(tmp_path, run):
    folder = _remote_spm_folder(tmp_path, {})
    (folder / "tokenizer.model").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n",
                                            encoding="utf-8")
    code, out, err = run("--baseline", "none", str(folder))
    assert code == 2 and "a git-LFS pointer, not the file" in err, (out, err)


def test_chatglm3_s_official_files_name_no_id_for_the_user_token_that_ends_its_answers(tmp_path, run):
    """helper-164: ChatGLM3-6B's official tokenizer_config.json declares no added token: its remote class adds
    '<|user|>' (64795) in Python, and the model ends every answer with it (its own chat() passes it to generate()).
    The template writes nothing after an answer and '<|user|>' before the next turn. eos-guard said every runtime
    stops on the tokenizer's eos 2; whether one does is unknown, and EOS011 says which token to list."""
    folder = shutil.copytree(FIXTURES / "llama2-chatml-finetune-tokenizer-model-added-tokens-json", tmp_path / "glm")
    for name in ("added_tokens.json", "tokenizer.json", "special_tokens_map.json", "generation_config.json"):
        (folder / name).unlink(missing_ok=True)
    write_json(folder / "tokenizer_config.json", {
        "auto_map": {"AutoTokenizer": ["tokenization_chatglm.ChatGLMTokenizer", None]},
        "tokenizer_class": "ChatGLMTokenizer",
        "chat_template": "{% for m in messages %}<|{{ m['role'] }}|> \n {{ m['content'] }}{% endfor %}"
                         "{% if add_generation_prompt %}<|assistant|>{% endif %}"})
    write_json(folder / "config.json", {"model_type": "chatglm", "architectures": ["ChatGLMModel"],
                                        "auto_map": {"AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration"},
                                        "eos_token_id": 2, "pad_token_id": 0, "padded_vocab_size": 65024})
    code, found, report = findings(run, folder)
    assert code == 0 and [(c, s) for c, s, _ in found if c == "EOS011"] == [("EOS011", "warning")], found
    message = next(m for c, _, m in found if c == "EOS011")
    assert "'<|user|>' follows it, which no file gives an id, and the tokenizer is remote code" in message, message
    assert set(report["models"][0]["stops"].values()) == {None}, report["models"][0]["stops"]


@pytest.mark.parametrize("named", [True, False], ids=["user_token_id", "named-nowhere"])
def test_the_user_turn_marker_the_config_names_is_no_end_of_an_answer(tmp_path, run, named):
    """helper-186: Baichuan 2 with vLLM's template ('<reserved_106>' + the user's message, '<reserved_107>' + the
    answer, nothing after it): eos-guard read the next turn's opener as what ends an answer, as ChatGLM3's
    '<|user|>' does, and said "add 195" (EOS001), though Baichuan's own config names 195 its user_token_id and its
    training appends the eos. Where generation_config.json names that id user_token_id, the template shows nothing
    that ends an answer (EOS011's warning); named nowhere, it is still taken for the answer's end."""
    template = ("{% for m in messages %}{% if m['role'] == 'user' %}{{ '<|im_start|>' + m['content'] }}{% else %}"
                "{{ '<|im_sep|>' + m['content'] }}{% endif %}{% endfor %}"
                "{% if add_generation_prompt %}{{ '<|im_sep|>' }}{% endif %}")
    folder = _remote_spm_folder(tmp_path, {"chat_template": template, "eos_token": "<|endoftext|>"},
                                "yi-chat-finetune-tokenizer-model-im-end-piece")
    write_json(folder / "generation_config.json", {"eos_token_id": 2, **({"user_token_id": 6, "assistant_token_id": 8}
                                                                       if named else {})})
    code, found, report = findings(run, folder)
    if named:
        assert code == 0 and [c for c, _, _ in found] == ["EOS011"], found
        assert "and '<|im_start|>' (the user turn's marker, user_token_id in the model's config) before the next " \
               "turn" in found[0][2], found
    else:
        assert code == 1 and "EOS001" in [c for c, _, _ in found], found
        assert report["models"][0]["terminator"] == {"token": "<|im_start|>", "id": 6, "template": "default"}


def test_a_control_piece_is_spelled_by_a_remote_sentencepiece_tokenizer(tmp_path, run):
    """sentencepiece encodes a USER_DEFINED piece's text as that piece, a CONTROL piece's text in pieces: the same
    Yi tokenizer.model with '<|im_end|>' made CONTROL is no single token for a remote Python class (a warning),
    while its id is still 7 for lookups."""
    folder = _remote_spm_folder(tmp_path, {}, "yi-chat-finetune-tokenizer-model-im-end-piece")
    raw = (folder / "tokenizer.model").read_bytes()
    piece = b"\n\n<|im_end|>\x15\x00\x00\xe0\xc0\x18\x04"
    assert raw.count(piece) == 1
    (folder / "tokenizer.model").write_bytes(raw.replace(piece, piece[:-1] + b"\x03"))
    _, found, report = findings(run, folder)
    assert [(c, s) for c, s, _ in found if c == "EOS011"] == [("EOS011", "warning")], found
    (folder / "tokenizer.model").write_bytes(raw)  # USER_DEFINED, as Yi ships it: one token, 7
    _, found, report = findings(run, folder)
    assert report["models"][0]["terminator"]["id"] == 7 and not [c for c, _, _ in found if c == "EOS011"], found
