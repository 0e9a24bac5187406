"""Folders whose tokenizer is a SentencePiece tokenizer.model or a GPT-2-style vocab.json and merges.txt, without
tokenizer.json: eos-guard reads the ids from those files (spm_model.py, vocabulary.base_vocabulary) and numbers the
added tokens as transformers does, which these tests load with the installed library. transformers needs the
sentencepiece and protobuf packages to load a tokenizer.model (without them it cannot load the folder at all), so
those comparisons are skipped where they are not installed."""

from __future__ import annotations

import importlib.util
import json
import os
import struct
from pathlib import Path

import pytest

from support import (CONTROL, NORMAL, OWN_TEMPLATE, USER_DEFINED, llama_pieces, sentencepiece_model, tiktoken_file,
                     write_json)
from eos_guard.errors import InputError
from eos_guard.model_files import ModelFiles
from eos_guard.resolve import resolve
from eos_guard.spm_model import SentencePieceModel
from eos_guard.vocabulary import SPM_CLASSES, VOCAB_JSON_CLASSES

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HAS_SENTENCEPIECE = all(importlib.util.find_spec(name) for name in ("sentencepiece", "google.protobuf"))
# .ci/run's SentencePiece run sets it: there the comparisons run (and fail without the packages), never skip
REQUIRED = os.environ.get("EOS_GUARD_REQUIRE_SENTENCEPIECE") == "1"
needs_sentencepiece = pytest.mark.skipif(not (HAS_SENTENCEPIECE or REQUIRED), reason="transformers loads a tokenizer.model only "
                                                                       "with sentencepiece and protobuf installed")
SIZE = len(llama_pieces())  # 321
ATD = {str(SIZE + 9): "<|im_end|>", str(SIZE + 4): "<|im_start|>"}  # sparse and out of order: renumbered
# GPT-2's byte-level alphabet would be 256 entries; a few suffice for ids
VOCAB = {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120a": 4, "<|endoftext|>": 5, "</s>": 6}
MERGES = "#version: 0.2\na b\n\u0120 a\n"
LOOKED_UP = ("</s>", "<s>", "<unk>", "<|im_end|>", "<|im_start|>", "<|endoftext|>", "<pad>", "<eos>", "<bos>",
             "<mask>", "<x>")


def decoder(entries: dict[str, str]) -> dict:
    return {key: {"content": text, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                  "special": True} for key, text in entries.items()}


def spm_folder(path: Path, tokenizer_config: dict | None, pieces=None, **files) -> Path:
    path.mkdir(parents=True)
    (path / "tokenizer.model").write_bytes(sentencepiece_model(pieces or llama_pieces()))
    if tokenizer_config is not None:
        write_json(path / "tokenizer_config.json", tokenizer_config)
    for name, data in files.items():
        write_json(path / name.replace("__", "."), data)
    return path


def bpe_folder(path: Path, tokenizer_config: dict, **files) -> Path:
    path.mkdir(parents=True)
    write_json(path / "vocab.json", VOCAB)
    (path / "merges.txt").write_text(MERGES, encoding="utf-8")
    write_json(path / "tokenizer_config.json", tokenizer_config)
    for name, data in files.items():
        write_json(path / name.replace("__", "."), data)
    return path


def compare_with_transformers(folder: Path) -> None:
    """eos-guard's ids of the looked-up strings and of the tokenizer's eos are transformers'."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = resolve(ModelFiles.read(folder))
    vocab = tokenizer.get_vocab()
    theirs = {text: vocab.get(text) for text in LOOKED_UP}
    ours = {text: model.vocab.id_of(text) for text in LOOKED_UP}
    assert ours == theirs, (type(tokenizer).__name__, model.vocab.tokenizer_class)
    assert model.vocab.complete
    eos = model.tokenizer_eos
    assert (eos.token if eos else None, eos.id if eos else None) == (tokenizer.eos_token, tokenizer.eos_token_id)


# the shapes a fine-tune's tokenizer files take: saved with added_tokens_decoder (transformers >= 4.34), or before
# it with added_tokens.json and special_tokens_map.json, or naming tokens no file gives an id (then appended)
SHAPES = {
    "added-tokens-decoder": lambda cls: ({"tokenizer_class": cls, "added_tokens_decoder": decoder(ATD),
                                          "eos_token": "<|im_end|>"}, {}),
    "added-tokens-json": lambda cls: ({"tokenizer_class": cls, "eos_token": "</s>"},
                                      {"added_tokens__json": {"<|im_end|>": SIZE + 1, "<|im_start|>": SIZE},
                                       "special_tokens_map__json": {"eos_token": "<|im_end|>",
                                                                    "additional_special_tokens": ["<|im_start|>"]}}),
    "named-only": lambda cls: ({"tokenizer_class": cls, "eos_token": "<|im_end|>", "pad_token": "<pad>",
                                "additional_special_tokens": ["<|im_start|>"]}, {}),
    "renames-a-piece": lambda cls: ({"tokenizer_class": cls, "added_tokens_decoder": decoder({"5": "<x>"})}, {}),
}


@needs_sentencepiece
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("class_name", sorted(SPM_CLASSES))
def test_tokenizer_model_ids_are_transformers(tmp_path, class_name, shape):
    tokenizer_config, files = SHAPES[shape](class_name)
    compare_with_transformers(spm_folder(tmp_path / "m", tokenizer_config, **files))


# past the 259 ranks of tiktoken_file, with a gap that transformers fills with placeholders
TIKTOKEN_ATD = {"259": "<|begin_of_text|>", "262": "<|eot_id|>"}


@pytest.mark.parametrize("class_name", ["PreTrainedTokenizerFast", "TokenizersBackend", "LlamaTokenizer"])
def test_a_tiktoken_tokenizer_model_keeps_the_ids_the_files_declare_as_transformers_does(tmp_path, class_name):
    """A tokenizer.model that is a tiktoken file (GLM-4's, Llama 3's original/) is not SentencePiece: transformers 5
    builds it with tiktoken (``_convert_from_tiktoken``), keeping the ids added_tokens_decoder declares past the
    ranks; eos-guard takes those ids without reading the ranks, and the check goes on (it stopped with "not a
    SentencePiece model transformers can load")."""
    pytest.importorskip("tiktoken", reason="transformers reads a tiktoken file only with tiktoken installed "
                                           "(the test extra installs it)")
    import transformers

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "tokenizer.model").write_bytes(tiktoken_file())
    write_json(folder / "tokenizer_config.json", {"tokenizer_class": class_name,
                                                  "added_tokens_decoder": decoder(TIKTOKEN_ATD),
                                                  "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"})
    model = resolve(ModelFiles.read(folder))
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    vocab = tokenizer.get_vocab()
    assert {text: model.vocab.id_of(text) for text in TIKTOKEN_ATD.values()} \
        == {text: vocab[text] for text in TIKTOKEN_ATD.values()} == {text: int(i) for i, text in TIKTOKEN_ATD.items()}
    assert (model.tokenizer_eos.token, model.tokenizer_eos.id) == (tokenizer.eos_token, tokenizer.eos_token_id)


@needs_sentencepiece
@pytest.mark.parametrize("tokenizer_config, config", [
    pytest.param(None, None, id="tokenizer-model-alone"),
    pytest.param({}, {"model_type": "llama"}, id="llama-model-type"),
    pytest.param({"eos_token": None}, {"model_type": "llama"}, id="eos-null"),
    pytest.param({"tokenizer_class": "LlamaTokenizer"}, {"model_type": "mistral"}, id="mistral-model-type"),
])
def test_the_generic_backend_takes_the_trainer_spec_s_pieces(tmp_path, tokenizer_config, config):
    """Built from a tokenizer.model, the generic backend's bos, eos and unk are the trainer spec's when no file
    names them; here the spec names eos piece 3 (``<0x00>``), so eos is not ``</s>``."""
    folder = tmp_path / "m"
    folder.mkdir()
    spec = b"\xd0\x02\x03" + b"\xfa\x02\x06<0x00>"  # eos_id 42: 3, eos_piece 47: "<0x00>"
    (folder / "tokenizer.model").write_bytes(sentencepiece_model(llama_pieces(), trainer=spec))
    if tokenizer_config is not None:
        write_json(folder / "tokenizer_config.json", tokenizer_config)
    if config is not None:
        write_json(folder / "config.json", config)
    compare_with_transformers(folder)


@needs_sentencepiece
@pytest.mark.parametrize("kind", [USER_DEFINED, CONTROL])
def test_turn_tokens_that_are_pieces_keep_their_ids(tmp_path, kind):
    """Yi and InternLM2 write ``<|im_end|>`` into the SentencePiece model itself."""
    pieces = llama_pieces(extra=(("<|im_start|>", kind), ("<|im_end|>", kind)))
    folder = spm_folder(tmp_path / "m", {"tokenizer_class": "LlamaTokenizer", "chat_template": OWN_TEMPLATE},
                        pieces=pieces)
    compare_with_transformers(folder)
    assert resolve(ModelFiles.read(folder)).terminator.id == SIZE + 1


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("class_name", sorted(VOCAB_JSON_CLASSES))
def test_vocab_json_ids_are_transformers(tmp_path, class_name, shape):
    tokenizer_config, files = SHAPES[shape](class_name)
    compare_with_transformers(bpe_folder(tmp_path / "m", tokenizer_config, **files))


@pytest.mark.parametrize("class_name", ["T5Tokenizer", "XLMRobertaTokenizer"])
def test_a_class_that_reorders_the_pieces_keeps_only_the_declared_ids(tmp_path, class_name):
    """T5Tokenizer appends its extra ids before the added tokens, XLMRobertaTokenizer shifts every piece: eos-guard
    does not model them and says it cannot tell, as before it read tokenizer.model."""
    folder = spm_folder(tmp_path / "m", {"tokenizer_class": class_name, "eos_token": "</s>"})
    model = resolve(ModelFiles.read(folder))
    assert not model.vocab.complete and model.vocab.id_of("</s>") is None


def test_a_llama_2_chat_fine_tune_saved_without_added_tokens_decoder_is_checked(tmp_path, run):
    """The [INST] template ends an answer with eos_token '</s>'; before eos-guard read tokenizer.model it could not
    tell that id (EOS005 info) and passed a generation_config.json that stops on '<s>'."""
    template = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + "
                "' [/INST]' }}{% else %}{{ ' ' + m['content'] + ' ' + eos_token }}{% endif %}{% endfor %}")
    folder = spm_folder(tmp_path / "m", {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
                                         "unk_token": "<unk>", "chat_template": template},
                        config__json={"model_type": "llama", "eos_token_id": 2, "vocab_size": SIZE},
                        generation_config__json={"eos_token_id": 1})
    code, out, _ = run("--format", "json", str(folder))
    findings = {f["code"]: f for f in json.loads(out)["findings"]}
    assert code == 1 and "EOS001" in findings and "EOS005" not in findings
    assert "'</s>' (2)" in findings["EOS001"]["message"]


@pytest.mark.parametrize("vocabulary", ["tokenizer.model", "vocab.json", None])
def test_an_eos_in_no_vocabulary_is_an_error_with_its_new_id_where_the_vocabulary_is_read(tmp_path, run, vocabulary):
    """docs/resolution.md step 4 (helper-121: it said eos-guard cannot tell without a tokenizer.json): read from
    tokenizer.model or vocab.json, the vocabulary is complete, so an eos found nowhere gets the id transformers
    appends it with (the "named-only" shape above compares that id with transformers'); with neither, eos-guard
    cannot tell (info)."""
    config = {"tokenizer_class": "LlamaTokenizer" if vocabulary != "vocab.json" else "GPT2Tokenizer",
              "eos_token": "<|nowhere|>"}
    folder = bpe_folder(tmp_path / "m", config) if vocabulary == "vocab.json" else spm_folder(tmp_path / "m", config)
    if vocabulary is None:
        (folder / "tokenizer.model").unlink()
    code, out, _ = run("--format", "json", "--fail-on", "info", str(folder))
    [finding] = [f for f in json.loads(out)["findings"] if f["code"] == "EOS005"]
    size = len(VOCAB) if vocabulary == "vocab.json" else SIZE
    if vocabulary is None:
        assert (code, finding["severity"]) == (1, "info") and "cannot tell the id of the tokenizer's eos" in \
            finding["message"], finding
    else:
        assert (code, finding["severity"]) == (1, "error"), finding
        assert f"transformers appends it as a new token {size} " in finding["message"], finding


def test_tekken_json_beside_tokenizer_model_is_not_read(tmp_path):
    """transformers takes the first name its pattern finds in the folder's listing, in the file system's order:
    eos-guard reads tokenizer.model only when it is the one name found."""
    folder = spm_folder(tmp_path / "m", {"tokenizer_class": "LlamaTokenizer", "eos_token": "</s>"})
    (folder / "tekken.json").write_text("{}", encoding="utf-8")
    files = ModelFiles.read(folder)
    assert files.sp_model is None and not resolve(files).vocab.complete


# --- the reader itself ---------------------------------------------------------------------------------------------

def test_the_reader_finds_ids_size_special_pieces_and_trainer_spec():
    pieces = llama_pieces(extra=(("<|im_end|>", USER_DEFINED), ("\u2581the", NORMAL), ("<ctrl>", CONTROL)))
    model = SentencePieceModel(Path("tokenizer.model"), sentencepiece_model(pieces))
    assert model.size == len(pieces)
    assert model.ids(["</s>", "<|im_end|>", "\u2581the", "absent", "<0x0A>"]) == {
        "</s>": 2, "<|im_end|>": SIZE, "\u2581the": SIZE + 1, "absent": None, "<0x0A>": 13}
    assert model.special_pieces == {"<s>": 1, "</s>": 2, "<|im_end|>": SIZE, "<ctrl>": SIZE + 2}
    assert model.trainer_spec == {"unk_id": 0, "bos_id": 1, "eos_id": 2, "unk_piece": "<unk>", "bos_piece": "<s>",
                                  "eos_piece": "</s>"}


def test_pieces_written_in_another_field_order_or_bytes_found_elsewhere_are_decoded_one_by_one():
    """A piece message whose score comes before its text (protobuf accepts any order), and a text whose bytes are
    written inside many other pieces: the ids are still the pieces' places."""
    def piece(text: str, score_first: bool) -> bytes:
        text_field = b"\x0a" + bytes([len(text.encode())]) + text.encode()
        score = b"\x15" + struct.pack("<f", 0.0)
        body = score + text_field if score_first else text_field + score
        return b"\x0a" + bytes([len(body)]) + body
    reordered = piece("<unk>", False) + piece("x", True) + piece("</s>", True)
    assert SentencePieceModel(Path("m"), reordered).ids(["</s>", "x"]) == {"</s>": 2, "x": 1}
    # "\n\x01x" is inside each "\n\x01x"-prefixed piece of a longer text too
    crowded = b"".join(piece("x" + "y" * (i % 5), False) for i in range(40)) + piece("x", False)
    assert SentencePieceModel(Path("m"), crowded).ids(["x"]) == {"x": 40}


HOSTILE = {
    "truncated-piece": (sentencepiece_model(llama_pieces())[:1000], "byte 997: a field of 15 bytes runs past"),
    "truncated-varint": (b"\x0a\x85", "byte 1: a varint runs past the end"),
    "length-past-the-end": (b"\x0a\x06\x0a\x03abc", "byte 0: a field of 6 bytes runs past the end"),
    "huge-declared-length": (b"\x0a\xff\xff\xff\xff\x0f" + b"x" * 10, "byte 0: a field of 4,294,967,295 bytes"),
    "length-of-six-bytes": (b"\x0a" + b"\xff" * 11, "byte 1: a key or length is longer than 5 bytes"),
    "varint-of-eleven-bytes": (b"\x08" + b"\xff" * 11, "byte 1: a varint is longer than 10 bytes"),
    "groups-too-deep": (b"\x0b" * 100_000 + b"\x0c" * 100_000, "byte 100: groups are nested more than 100 deep"),
    "group-never-ended": (b"\x0b\x08\x01", "byte 0: a group runs past the end of its message"),
    "end-group-alone": (b"\x0c", "byte 0: a group ends that was not started"),
    "wire-type-7": (b"\x0f", "byte 0: wire type 7 does not exist"),
    "field-number-zero": (b"\x00\x01", "byte 0: a field number is 0"),
    "trainer-spec-truncated": (sentencepiece_model(llama_pieces())[:-20], "a field of"),
    # a flaw inside a piece no check looks up, or inside the normalizer spec: protobuf refuses the file
    "a-piece-never-looked-up": (sentencepiece_model(llama_pieces()).replace(b"\x0a\x02in\x15", b"\x0a\x02in\x0e", 1),
                                "wire type 6 does not exist"),
    "normalizer-spec-broken": (sentencepiece_model(llama_pieces()) + b"\x1a\x02\x08\x80",
                               "a varint runs past the end"),
}


@pytest.mark.parametrize("data, message", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_malformed_tokenizer_model_is_one_line_with_the_byte_offset(tmp_path, run, data, message):
    folder = spm_folder(tmp_path / "m", {"tokenizer_class": "LlamaTokenizer", "eos_token": "</s>",
                                         "chat_template": OWN_TEMPLATE},
                        generation_config__json={"eos_token_id": 2})
    (folder / "tokenizer.model").write_bytes(data)
    code, _, err = run(str(folder))
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("eos-guard: m/tokenizer.model: byte ") and message in line, err
    assert line.endswith("not a SentencePiece model transformers can load")


def test_a_tokenizer_model_of_more_pieces_than_any_vocabulary_is_one_error_line(tmp_path, run):
    """A piece not written as sentencepiece writes it is decoded field by field: a file of 10 million two-byte
    pieces (``0a 00``, 20 MB, under the 100 MiB limit) cost 87 s and 1.5 GB. Past spm_model.MAX_PIECES (four
    times the largest SentencePiece vocabulary known) the walk stops with one line, exit 2, within seconds;
    a file of exactly that many pieces is read."""
    import time

    from eos_guard.spm_model import MAX_PIECES

    folder = spm_folder(tmp_path / "m", {"tokenizer_class": "LlamaTokenizer", "eos_token": "</s>"},
                        generation_config__json={"eos_token_id": 2})
    (folder / "tokenizer.model").write_bytes(b"\x0a\x00" * (MAX_PIECES + 10))
    started = time.monotonic()
    code, out, err = run("--no-cache", str(folder))
    assert time.monotonic() - started < 60
    assert (code, err) == (2, f"eos-guard: m/tokenizer.model: byte {2 * MAX_PIECES + 2:,}: more than "
                              f"{MAX_PIECES:,} pieces, four times the largest SentencePiece vocabulary known; "
                              "not read\n")
    whole = SentencePieceModel(folder / "tokenizer.model", sentencepiece_model([("a", NORMAL)] * MAX_PIECES))
    assert whole.size == MAX_PIECES


LFS_POINTER_TEXT = (b"version https://git-lfs.github.com/spec/v1\noid sha256:9e556afd44213b6bd1be2b850ebbbd98f5481437"
                    b"a8021afaf58ee7fb1818d347\nsize 499723\n")


def test_a_git_lfs_pointer_in_place_of_tokenizer_model_says_so(tmp_path, run):
    """A clone made without git-lfs holds a pointer where tokenizer.model is (*.model is tracked by LFS in the Hub's
    default .gitattributes): the error says what it is and how to get the file, not which protobuf byte is wrong."""
    folder = spm_folder(tmp_path / "m", {"tokenizer_class": "LlamaTokenizer", "eos_token": "</s>"},
                        generation_config__json={"eos_token_id": 2})
    (folder / "tokenizer.model").write_bytes(LFS_POINTER_TEXT)
    code, out, err = run(str(folder))
    assert (code, err) == (2, "eos-guard: m/tokenizer.model:1:1: a git-LFS pointer, not the file: run git lfs pull\n")
    assert out == "No findings in 1 model folder; 1 cannot be read.\n"


def test_a_tokenizer_model_over_the_file_size_limit_is_not_read(tmp_path):
    """tokenizer.model is read under max-file-size, as tokenizer.json is: over it, the folder is checked without it
    (EOS018) and its ids are those the files declare."""
    folder = spm_folder(tmp_path / "m", {"tokenizer_class": "LlamaTokenizer", "eos_token": "</s>"})
    files = ModelFiles.read(folder, max_bytes=1000)
    assert files.sp_model is None and [path.name for path, _ in files.skipped] == ["tokenizer.model"]
    assert "over the max-file-size limit of 1,000" in files.skipped[0][1]


@pytest.mark.parametrize("text, message", [
    pytest.param('{"a": 0,,}', "vocab.json:1:9: cannot parse JSON", id="not-json"),
    pytest.param("[1, 2]", "vocab.json:1:1: the file is an array, not an object: GPT2Tokenizer cannot load it",
                 id="an-array"),
])
def test_a_vocab_json_transformers_cannot_read_is_one_line(tmp_path, run, text, message):
    folder = bpe_folder(tmp_path / "m", {"tokenizer_class": "GPT2Tokenizer", "eos_token": "<|endoftext|>",
                                         "chat_template": OWN_TEMPLATE},
                        generation_config__json={"eos_token_id": 5})
    (folder / "vocab.json").write_text(text, encoding="utf-8")
    code, _, err = run(str(folder))
    assert code == 2 and "Traceback" not in err and message in err.strip().splitlines()[-1], err


@needs_sentencepiece
@pytest.mark.parametrize("kind", [CONTROL, USER_DEFINED])
def test_a_special_piece_renamed_by_an_added_token_is_gone(tmp_path, kind):
    """The generic backend built from tokenizer.model renames the piece at an added_tokens_decoder id below the
    size (InternLM2's [UNUSED_TOKEN_146] 92542 becomes '<|im_end|>'): a USER_DEFINED piece's own text is then no
    token at all (transformers gives it 0, the unk), while a CONTROL piece's is added again past the vocabulary.
    eos-guard re-added both, which put a USER_DEFINED text on an id transformers never gives it (an InternLM2
    folder's stop id 92550 was labelled '[UNUSED_TOKEN_146]')."""
    import transformers

    pieces = llama_pieces(extra=(("[UNUSED_TOKEN_146]", kind), ("[UNUSED_TOKEN_145]", kind)))
    renamed = len(pieces) - 2
    folder = spm_folder(tmp_path / "m", {"added_tokens_decoder": decoder({str(renamed): "<|im_end|>"}),
                                         "eos_token": "</s>"}, pieces,
                        config__json={"model_type": "internlm2"})
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = resolve(ModelFiles.read(folder))
    texts = ("[UNUSED_TOKEN_146]", "[UNUSED_TOKEN_145]", "<|im_end|>")
    theirs = {text: tokenizer.convert_tokens_to_ids(text) for text in texts}
    gone = kind == USER_DEFINED
    assert theirs == {"[UNUSED_TOKEN_146]": 0 if gone else len(pieces), "[UNUSED_TOKEN_145]": renamed + 1,
                      "<|im_end|>": renamed}, theirs
    assert {text: model.vocab.id_of(text) for text in texts} == {**theirs, **({"[UNUSED_TOKEN_146]": None}
                                                                             if gone else {})}
