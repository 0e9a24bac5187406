"""Folders that are no chat model, as a repository of many models holds them (helper-150 ran 62 such folders):
none of them may fail a run. Each folder is written from the public facts of the model it names."""

from __future__ import annotations

import json
import shutil

from support import FIXTURES, write_json, write_safetensors_header

QWEN25_BASE_SFT = FIXTURES / "qwen25-base-chatml-sft-gen-endoftext"  # eos <|endoftext|>, turns end <|im_end|>


def _findings(run, folder, *options):
    code, out, err = run("--format", "json", "--no-cache", "--isolated", *options, str(folder))
    assert err == "", err
    return code, [(f["code"], f["severity"]) for f in json.loads(out)["findings"]]


def test_a_bert_era_encoder_saved_without_architectures_is_not_a_generator(run, tmp_path):
    """config.json of model type bert (roberta, electra, ...) without ``architectures`` and without an eos: its
    only class that can generate is BertLMHeadModel, which warns "If you want to use `BertLMHeadModel` as a
    standalone, add `is_decoder=True.`" (data/model_classes.json ``types_generating_only_as_decoders``). eos-guard
    said EOS004: generate() never stops. With ``is_decoder`` set it is a decoder, and the rules run."""
    folder = tmp_path / "bert"
    write_json(folder / "config.json", {"model_type": "bert", "hidden_size": 768, "num_hidden_layers": 12,
                                        "pad_token_id": 0, "vocab_size": 30522})
    write_json(folder / "tokenizer_config.json", {"tokenizer_class": "BertTokenizer", "cls_token": "[CLS]",
                                                  "sep_token": "[SEP]", "pad_token": "[PAD]", "do_lower_case": True})
    assert _findings(run, folder) == (0, [])
    _, out, _ = run("explain", "--no-cache", "--isolated", str(folder))
    assert "model type 'bert' is an encoder: its only class that can generate is a causal-LM head for a config " \
           "with is_decoder, which config.json does not set" in out, out
    write_json(folder / "config.json", {"model_type": "bert", "is_decoder": True, "vocab_size": 30522})
    assert ("EOS004", "error") in _findings(run, folder)[1]


def test_a_remote_code_embedder_named_as_its_auto_model_class_is_not_a_generator(run, tmp_path):
    """Alibaba-NLP/gte-base-en-v1.5 without modules.json: ``architectures`` ["NewModel"], the class auto_map gives
    AutoModel (the bare model), and only heads that cannot generate beside it. eos-guard said EOS004. A remote
    class of AutoModel whose name says it generates (ChatGLM's ChatGLMForConditionalGeneration) still does."""
    folder = tmp_path / "gte"
    remote = "Alibaba-NLP/new-impl--modeling."
    write_json(folder / "config.json", {
        "architectures": ["NewModel"], "model_type": "new", "pad_token_id": 0, "vocab_size": 30528,
        "auto_map": {"AutoConfig": "Alibaba-NLP/new-impl--configuration.NewConfig", "AutoModel": remote + "NewModel",
                     "AutoModelForMaskedLM": remote + "NewForMaskedLM",
                     "AutoModelForSequenceClassification": remote + "NewForSequenceClassification"}})
    write_json(folder / "tokenizer_config.json", {"tokenizer_class": "BertTokenizer", "cls_token": "[CLS]",
                                                  "sep_token": "[SEP]", "pad_token": "[PAD]"})
    assert _findings(run, folder) == (0, [])
    write_json(folder / "config.json", {
        "architectures": ["ChatGLMModel"], "model_type": "chatglm", "vocab_size": 65024,
        "auto_map": {"AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration"}})
    assert ("EOS004", "error") in _findings(run, folder)[1]
    # fixie-ai/ultravox-v0_6: AutoModel's remote class alone is the whole model, which vLLM runs as a generator
    # (helper-153: every rule was off)
    write_json(folder / "config.json", {
        "architectures": ["UltravoxModel"], "model_type": "ultravox", "vocab_size": 128256,
        "auto_map": {"AutoConfig": "ultravox_config.UltravoxConfig", "AutoModel": "ultravox_model.UltravoxModel",
                     "AutoProcessor": "ultravox_processing.UltravoxProcessor"}})
    assert ("EOS004", "error") in _findings(run, folder)[1]


def test_tokenizer_files_alone_are_not_told_to_list_the_terminator(run, tmp_path):
    """A diffusers pipeline's tokenizer/ folder (Sana's: gemma-2-2b-it's tokenizer beside a Gemma2Model text
    encoder) or a tokenizer pushed alone: no config could list the terminator, so EOS017's "list it in
    generation_config.json's eos_token_id (--fix)" asked for what --fix does not do (docs/runtimes.md: tokenizer
    files alone give "cannot tell", never "does not stop")."""
    folder = tmp_path / "tokenizer"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"):
        shutil.copy(QWEN25_BASE_SFT / name, folder / name)
    assert _findings(run, folder) == (0, [])
    assert ("EOS017", "warning") in _findings(run, QWEN25_BASE_SFT)[1]  # with its configs, the warning stays


def test_an_encoder_s_vocabulary_eos_reads_no_info(run, tmp_path):
    """facebook/wav2vec2-base-960h: a CTC tokenizer whose vocab.json eos-guard does not read, and a model that
    cannot generate: "cannot tell the id of the tokenizer's eos" was noise (EOS005 info)."""
    folder = tmp_path / "wav2vec2"
    write_json(folder / "config.json", {"architectures": ["Wav2Vec2ForCTC"], "model_type": "wav2vec2",
                                        "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "vocab_size": 32})
    write_json(folder / "tokenizer_config.json", {"tokenizer_class": "Wav2Vec2CTCTokenizer", "bos_token": "<s>",
                                                  "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                                                  "word_delimiter_token": "|", "do_lower_case": False})
    write_json(folder / "vocab.json", {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "E": 5, "T": 6})
    assert _findings(run, folder) == (0, [])


def test_a_classification_adapter_is_not_a_generator(run, tmp_path):
    """A PEFT LoRA adapter with task_type SEQ_CLS on roberta-base, pushed with its tokenizer: PEFT loads the base
    with a classification head. EOS027 said generation takes its stop ids from the base model; a CAUSAL_LM
    adapter keeps it."""
    folder = tmp_path / "adapter"
    write_json(folder / "adapter_config.json", {"base_model_name_or_path": "FacebookAI/roberta-base",
                                                "peft_type": "LORA", "task_type": "SEQ_CLS", "r": 8})
    write_json(folder / "tokenizer_config.json", {"tokenizer_class": "RobertaTokenizer", "bos_token": "<s>",
                                                  "eos_token": "</s>", "pad_token": "<pad>"})
    write_json(folder / "vocab.json", {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "a": 4})
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    assert _findings(run, folder) == (0, [])
    write_json(folder / "adapter_config.json", {"base_model_name_or_path": "FacebookAI/roberta-base",
                                                "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 8})
    assert ("EOS027", "info") in _findings(run, folder)[1]


def test_an_auto_map_head_named_as_a_generating_class_turns_no_rule_off(run, tmp_path):
    """helper-157: config.json's auto_map registering "m.Qwen2ForCausalLM" for AutoModelForSequenceClassification
    made the folder's own class a remote head that cannot generate, and every rule went off. AutoModelForCausalLM
    (pipeline()'s first choice) still loads transformers' Qwen2ForCausalLM, and the other runtimes never read
    auto_map: a name that says it generates is no head."""
    folder = tmp_path / "qwen"
    shutil.copytree(QWEN25_BASE_SFT, folder)
    before = _findings(run, folder)
    assert before[0] == 1 and ("EOS001", "error") in before[1]
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    for key in ("AutoModelForSequenceClassification", "AutoModelForImageClassification", "AutoModel"):
        write_json(folder / "config.json", {**config, "auto_map": {key: "m.Qwen2ForCausalLM"}})
        assert _findings(run, folder) == before, key


def test_a_causal_lm_s_weights_under_a_bare_model_s_name_keep_the_rules(run, tmp_path):
    """helper-157: config.json's architectures edited to ["Qwen2Model"] turned every rule off, but pipeline() loads
    the class AutoModelForCausalLM maps the model type to, and a causal LM's checkpoint holds its head (lm_head.)
    or its base model under "model." (tied embeddings): the weights' names, from model.safetensors.index.json or
    model.safetensors' header, tell such a checkpoint from a bare model's (an embedder's: embed_tokens.weight)."""
    folder = tmp_path / "qwen"
    shutil.copytree(QWEN25_BASE_SFT, folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "architectures": ["Qwen2Model"]})
    assert _findings(run, folder) == (0, [])  # no weights to tell: a bare model, as vLLM runs it
    write_json(folder / "model.safetensors.index.json", {"metadata": {"total_size": 8}, "weight_map": {
        "model.embed_tokens.weight": "model-00001-of-00002.safetensors", "lm_head.weight": "model-00002.safetensors"}})
    assert ("EOS001", "error") in _findings(run, folder)[1]
    (folder / "model.safetensors.index.json").unlink()
    # every tensor under "model." with tied embeddings: the output layer is the embedding
    write_safetensors_header(folder / "model.safetensors", ["model.embed_tokens.weight", "model.norm.weight"])
    assert ("EOS001", "error") in _findings(run, folder)[1]
    write_json(folder / "config.json", {**config, "architectures": ["Qwen2Model"], "tie_word_embeddings": False})
    assert _findings(run, folder) == (0, [])  # untied and no lm_head: no output layer was trained
    write_json(folder / "config.json", {**config, "architectures": ["Qwen2Model"]})
    # a reward model's or value head's weights keep their base model under "model." too (helper-158)
    for head in ("score.weight", "v_head.summary.weight"):
        write_safetensors_header(folder / "model.safetensors", ["model.embed_tokens.weight", head])
        assert _findings(run, folder) == (0, []), head
    write_safetensors_header(folder / "model.safetensors", ["embed_tokens.weight", "norm.weight"])  # a bare model's
    assert _findings(run, folder) == (0, [])
    (folder / "model.safetensors").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n",
                                              encoding="utf-8")  # a pointer: nothing to tell
    assert _findings(run, folder) == (0, [])
    # the class pipeline() loads (imported last: without torch, transformers warns on stderr at that import)
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    assert MODEL_FOR_CAUSAL_LM_MAPPING_NAMES["qwen2"] == "Qwen2ForCausalLM"


def test_weights_that_cannot_tell_keep_a_bare_model_unchecked(run, tmp_path):
    """model.safetensors as a FIFO (never opened for reading), a header longer than max-config-size, one that is
    no JSON object or nests past the parser's depth, an index without a weight_map: no traceback, no hang; the
    folder is read as its architectures say."""
    import os

    folder = tmp_path / "qwen"
    shutil.copytree(QWEN25_BASE_SFT, folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "architectures": ["Qwen2Model"]})
    weights = folder / "model.safetensors"
    os.mkfifo(weights)
    assert _findings(run, folder) == (0, [])
    weights.unlink()
    for header in (b"x" * 16, (1 << 40).to_bytes(8, "little"), (5).to_bytes(8, "little") + b"[1,2]",
                   (200_000).to_bytes(8, "little") + b"[" * 100_000 + b"]" * 100_000):
        weights.write_bytes(header)
        assert _findings(run, folder) == (0, []), header[:16]
    weights.unlink()
    write_json(folder / "model.safetensors.index.json", {"metadata": {}})
    assert _findings(run, folder) == (0, [])
    # weights linked out of the repository (a local_dir snapshot's links into the Hub cache): not read, and no EOS018
    # (helper-158); a header read without a size limit never asks for more than the file holds (an LFS pointer's text
    # read as a length of about 2**61 raised MemoryError)
    (folder / "model.safetensors.index.json").unlink()
    outside = tmp_path / "store" / "weights.safetensors"
    outside.parent.mkdir()
    write_safetensors_header(outside, ["lm_head.weight"])
    weights.symlink_to(outside)
    assert _findings(run, folder) == (0, [])
    weights.unlink()
    weights.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n", encoding="utf-8")
    from eos_guard.model_files import ModelFiles

    assert not ModelFiles.read(folder, max_bytes=None, max_config_bytes=None).weights_of_a_causal_lm


def test_which_weights_are_a_causal_lm_s_follows_the_model_type(run, tmp_path):
    """helper-160: RoBERTa's and ESM's masked-LM heads are named lm_head too: under their bare class, whose model
    type has no class that generates (or only as a decoder), they are no causal LM (EOS004 was reported). Gemma's
    config class ties the embeddings when config.json does not say (data/model_classes.json
    types_tying_embeddings), so its weights, all under model., are a causal LM's; and a vision-language model's,
    in the layout its older releases wrote (language_model.model., the towers beside)."""
    esm = tmp_path / "esm"
    write_json(esm / "config.json", {"architectures": ["EsmModel"], "model_type": "esm", "vocab_size": 33})
    write_json(esm / "tokenizer_config.json", {"tokenizer_class": "EsmTokenizer", "eos_token": "<eos>"})
    write_safetensors_header(esm / "model.safetensors", ["esm.embeddings.word_embeddings.weight",
                                                        "lm_head.dense.weight", "lm_head.decoder.weight"])
    assert _findings(run, esm) == (0, [])
    gemma = tmp_path / "gemma"
    shutil.copytree(FIXTURES / "gemma-1-2b-it-gen-eos-1", gemma)
    config = json.loads((gemma / "config.json").read_text(encoding="utf-8"))
    assert "tie_word_embeddings" not in config and config["model_type"] == "gemma"
    before = _findings(run, gemma)
    assert ("EOS001", "error") in before[1]
    write_json(gemma / "config.json", {**config, "architectures": ["GemmaModel"]})
    write_safetensors_header(gemma / "model.safetensors", ["model.embed_tokens.weight", "model.norm.weight"])
    assert _findings(run, gemma) == before
    write_safetensors_header(gemma / "model.safetensors", ["language_model.model.embed_tokens.weight",
                                                          "vision_tower.vision_model.embeddings.patch.weight",
                                                          "multi_modal_projector.mm_input_projection_weight"])
    assert _findings(run, gemma) == before
    write_safetensors_header(gemma / "model.safetensors", ["embed_tokens.weight", "norm.weight"])  # a bare model's
    assert _findings(run, gemma) == (0, [])
