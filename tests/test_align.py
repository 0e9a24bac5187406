"""eos_guard.align() and EosGuardCallback on real transformers objects built in code (no torch, no download).

align() only reads ``model.config`` and ``model.generation_config``, so a stand-in holding a real
``LlamaConfig``/``Gemma3TextConfig`` and a real ``GenerationConfig`` is the model; the tokenizers are built with
the ``tokenizers`` library and wrapped in transformers' fast tokenizer. What align() leaves is then saved with
the real ``save_pretrained`` methods and checked with eos-guard, and compared with transformers' own
``trainer_utils.align_special_tokens``.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from support import FIXTURES
from eos_guard.align import align, terminators
from eos_guard.pipeline import check_folder

transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
GEMMA = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)
LLAMA3 = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{{ message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)


def make_tokenizer(vocab: dict[str, int], special: list[str], eos: str, template=None, **tokens):
    """A word-level tokenizer whose ``special`` strings are added special tokens (vocab id when in ``vocab``)."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token=eos, unk_token="<unk>", **tokens)
    if template is not None:
        tokenizer.chat_template = template
    return tokenizer


def qwen_tokenizer(eos: str = "<|im_end|>", template=CHATML):
    """Qwen2.5-like: a small vocab, then <|endoftext|> 5, <|im_start|> 6, <|im_end|> 7 as added tokens."""
    vocab = {"<unk>": 0, "user": 1, "assistant": 2, "system": 3, "hello": 4}
    return make_tokenizer(vocab, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], eos, template,
                          pad_token="<|endoftext|>")


def gemma_tokenizer():
    """Gemma-like ids: <eos> 1, <bos> 2, <start_of_turn> 105, <end_of_turn> 106, in the vocab."""
    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
    vocab.update({f"w{i}": i for i in range(4, 105)})
    vocab.update({"<start_of_turn>": 105, "<end_of_turn>": 106, "user": 107, "model": 108})
    return make_tokenizer(vocab, ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"], "<eos>", GEMMA,
                          bos_token="<bos>", pad_token="<pad>")


def stand_in(config, eos_token_id, **generation):
    """What align() sees of a model: a real config and a real GenerationConfig."""
    from transformers import GenerationConfig

    return SimpleNamespace(config=config, generation_config=GenerationConfig(eos_token_id=eos_token_id, **generation))


def llama_config(eos, vocab_size=8):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=vocab_size, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                       intermediate_size=8, eos_token_id=eos, bos_token_id=None, pad_token_id=None)


# --- align() ---------------------------------------------------------------------------------------------

def test_chatml_fine_tune_gains_the_terminator_after_the_base_eos():
    tokenizer = qwen_tokenizer()
    model = stand_in(llama_config(eos=5), 5)

    changes = align(model, tokenizer)

    assert model.generation_config.eos_token_id == [5, 7]
    assert model.config.eos_token_id == [5, 7]  # a scalar without the tokenizer's eos keeps its id (add-only)
    assert changes == {"generation_config.eos_token_id": (5, [5, 7]), "config.eos_token_id": (5, [5, 7])}
    assert align(model, tokenizer) == {}  # a second call changes nothing


def test_qwen_base_tokenizer_under_a_chatml_template_still_gets_im_end():
    """The tokenizer's eos is <|endoftext|>: the alignment-handbook's line would keep stopping there."""
    tokenizer = qwen_tokenizer(eos="<|endoftext|>")
    model = stand_in(llama_config(eos=5), 5)

    changes = align(model, tokenizer)

    assert model.generation_config.eos_token_id == [5, 7]
    assert model.config.eos_token_id == 5  # already the tokenizer's eos
    assert changes == {"generation_config.eos_token_id": (5, [5, 7])}


def test_gemma_1_106_stays_and_nothing_is_dropped():
    from transformers import Gemma3TextConfig

    tokenizer = gemma_tokenizer()
    config = Gemma3TextConfig(vocab_size=109, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                              num_key_value_heads=1, head_dim=8, intermediate_size=8, eos_token_id=[1, 106])
    model = stand_in(config, [1, 106], bos_token_id=2, pad_token_id=0)

    assert align(model, tokenizer) == {}
    assert model.generation_config.eos_token_id == [1, 106]
    assert model.config.eos_token_id == [1, 106]


def test_gemma_collapsed_by_an_sft_script_gets_106_back():
    """``generation_config.eos_token_id = config.eos_token_id = tokenizer.eos_token_id`` left 1 and 1."""
    tokenizer = gemma_tokenizer()
    model = stand_in(llama_config(eos=1, vocab_size=109), 1)

    assert align(model, tokenizer) == {"generation_config.eos_token_id": (1, [1, 106])}
    assert model.config.eos_token_id == 1  # the tokenizer's eos: a scalar that agrees is kept


def test_llama31_collapsed_by_an_sft_script_gets_the_built_in_calls_eom_back():
    """Llama 3.1's [128001, 128008, 128009] collapsed to 128009: answers stop, but with ``builtin_tools`` the template
    ends a calling turn with <|eom_id|> 128008 (EOS030), which align() adds as ``--fix`` does."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(FIXTURES / "llama31-8b-instruct-sft-collapsed-eos"))
    model = stand_in(llama_config(eos=128009, vocab_size=128256), 128009)

    assert align(model, tokenizer) == {"generation_config.eos_token_id": (128009, [128009, 128008])}
    assert model.config.eos_token_id == 128009 and align(model, tokenizer) == {}


def test_an_int_stays_an_int_when_nothing_is_added():
    tokenizer = qwen_tokenizer()
    model = stand_in(llama_config(eos=7), 7)

    assert align(model, tokenizer) == {}
    assert model.generation_config.eos_token_id == 7 and isinstance(model.generation_config.eos_token_id, int)
    assert model.config.eos_token_id == 7


def test_a_config_list_gains_ids_and_keeps_its_order():
    tokenizer = qwen_tokenizer()
    model = stand_in(llama_config(eos=[5, 2]), [5, 2])

    changes = align(model, tokenizer)

    assert model.generation_config.eos_token_id == [5, 2, 7]
    assert model.config.eos_token_id == [5, 2, 7]
    assert changes == {"generation_config.eos_token_id": ([5, 2], [5, 2, 7]),
                       "config.eos_token_id": ([5, 2], [5, 2, 7])}


def test_missing_eos_ids_are_set():
    tokenizer = qwen_tokenizer(eos="<|endoftext|>")
    model = stand_in(llama_config(eos=None), None)

    assert align(model, tokenizer) == {"generation_config.eos_token_id": (None, [7, 5]),
                                       "config.eos_token_id": (None, 5)}


def test_ids_the_model_cannot_emit_are_not_added(caplog):
    tokenizer = qwen_tokenizer()  # <|im_end|> is 7, the terminator and the tokenizer's eos
    model = stand_in(llama_config(eos=5, vocab_size=7), 5)

    with caplog.at_level("WARNING", logger="eos_guard"):
        assert align(model, tokenizer) == {}
    assert model.generation_config.eos_token_id == 5
    # said once, though the id is both the terminator and the eos (helper-133: the warning came twice)
    assert [r.getMessage() for r in caplog.records] == [
        "eos-guard: not adding stop id 7: it is not below the model's vocab_size 7"]


@pytest.mark.parametrize("template, rendered", [
    # Mistral's [INST] template without the eos after answers: it refuses a system turn, renders the others
    ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}"
     "{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}"
     "{% else %}{{ m['content'] }}{% endif %}{% endfor %}", True),
    ("{{ raise_exception('no') }}", False)])
def test_a_template_that_renders_some_conversations_is_not_said_not_to_render(caplog, template, rendered):
    """helper-170: align() warned "the chat template did not render" for a template that renders every user/assistant
    conversation and writes no token after an answer; only the probes that open with a system turn raised."""
    model = stand_in(llama_config(eos=5), 5)
    with caplog.at_level("WARNING", logger="eos_guard"):
        align(model, qwen_tokenizer(template=template))
    [message] = [r.getMessage() for r in caplog.records]
    assert message.startswith("eos-guard: the chat template writes no added token after an answer in the "
                              "conversations it renders, so it names no terminator; the others raised: ") is rendered
    assert message.startswith("eos-guard: the chat template did not render") is not rendered, message


def test_without_a_chat_template_only_the_tokenizer_eos_is_added():
    tokenizer = qwen_tokenizer(template=None)
    model = stand_in(llama_config(eos=5), 5)

    assert align(model, tokenizer)["generation_config.eos_token_id"] == (5, [5, 7])


def test_named_templates_default_first():
    tokenizer = qwen_tokenizer(eos="<|endoftext|>", template={"tool_use": LLAMA3, "default": CHATML})
    vocab = dict(tokenizer.get_vocab())
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|start_header_id|>", "<|end_header_id|>",
                                                                "<|eot_id|>"]})
    eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
    assert eot not in vocab.values()
    assert [t[:2] for t in terminators(tokenizer)] == [("default", "<|im_end|>"), ("tool_use", "<|eot_id|>")]
    model = stand_in(llama_config(eos=5, vocab_size=len(tokenizer)), 5)

    assert align(model, tokenizer)["generation_config.eos_token_id"] == (5, [5, 7, eot])


def test_a_multimodal_config_s_change_is_named_by_its_text_config_key():
    """training.md: for a multimodal model the config key names the text config."""
    from transformers import Gemma3Config

    config = Gemma3Config(text_config={"vocab_size": 109, "hidden_size": 8, "num_hidden_layers": 1,
                                       "num_attention_heads": 1, "num_key_value_heads": 1, "head_dim": 8,
                                       "intermediate_size": 8, "eos_token_id": 106},
                          vision_config={"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1,
                                         "intermediate_size": 8})
    changes = align(stand_in(config, 106), gemma_tokenizer())  # 106 is not the tokenizer's eos, <eos> 1

    assert changes == {"generation_config.eos_token_id": (106, [106, 1]),
                       "config.text_config.eos_token_id": (106, [106, 1])}
    assert config.get_text_config().eos_token_id == [106, 1]


def test_a_processor_and_a_wrapped_model_are_unwrapped():
    processor = SimpleNamespace(tokenizer=qwen_tokenizer(), chat_template=CHATML)
    model = stand_in(llama_config(eos=5), 5)
    wrapped = SimpleNamespace(module=model)  # DistributedDataParallel keeps the model in .module

    assert align(wrapped, processor)["generation_config.eos_token_id"] == (5, [5, 7])


def test_a_multimodal_config_aligns_its_text_config():
    from transformers import Gemma3Config

    tokenizer = gemma_tokenizer()
    config = Gemma3Config(text_config={"vocab_size": 109, "hidden_size": 8, "num_hidden_layers": 1,
                                       "num_attention_heads": 1, "num_key_value_heads": 1, "head_dim": 8,
                                       "intermediate_size": 8, "eos_token_id": 1},
                          vision_config={"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1,
                                         "intermediate_size": 8})
    model = stand_in(config, 1)

    changes = align(model, tokenizer)

    assert changes == {"generation_config.eos_token_id": (1, [1, 106])}
    assert config.get_text_config().eos_token_id == 1


def test_what_align_leaves_is_clean_for_eos_guard_and_transformers_agrees(tmp_path):
    """Save with the real save_pretrained methods: eos-guard finds nothing; transformers' own
    align_special_tokens then changes nothing either."""
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig
    from transformers.trainer_utils import align_special_tokens

    tokenizer = qwen_tokenizer()
    model = stand_in(llama_config(eos=5), 5)
    before = copy.deepcopy(model)
    align(model, tokenizer)
    model.config.save_pretrained(tmp_path)
    model.generation_config.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)

    report = check_folder(tmp_path)
    assert report.error is None and [f.code for f in report.findings] == []

    reloaded = SimpleNamespace(config=AutoConfig.from_pretrained(tmp_path),
                               generation_config=GenerationConfig.from_pretrained(tmp_path))
    assert reloaded.generation_config.eos_token_id == [5, 7] and reloaded.config.eos_token_id == [5, 7]
    align_special_tokens(reloaded, AutoTokenizer.from_pretrained(tmp_path))
    assert reloaded.generation_config.eos_token_id == [5, 7] and reloaded.config.eos_token_id == [5, 7]

    # Without align(), the same folder is what the issue is about.
    broken = tmp_path / "broken"
    before.config.save_pretrained(broken)
    before.generation_config.save_pretrained(broken)
    tokenizer.save_pretrained(broken)
    assert {"EOS001", "EOS002", "EOS003"} <= {f.code for f in check_folder(broken).findings}


def test_importing_eos_guard_and_align_imports_neither_transformers_nor_torch():
    code = ("import sys, eos_guard, eos_guard.align, eos_guard.integrations; "
            "print(sorted(m for m in ('transformers', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- EosGuardCallback, driven by hand (the real Trainer runs in tests/e2e) -------------------------------

def _hooks():
    from transformers.trainer_callback import TrainerControl, TrainerState

    return TrainerState(global_step=3), TrainerControl()


def save_folder(folder: Path, model, tokenizer) -> None:
    model.config.save_pretrained(folder)
    model.generation_config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def test_callback_aligns_only_when_a_save_follows_and_checks_after(tmp_path):
    from transformers import TrainerCallback

    from eos_guard.integrations.transformers import EosGuardCallback

    callback = EosGuardCallback()
    assert isinstance(callback, TrainerCallback)
    tokenizer = qwen_tokenizer()
    model = stand_in(llama_config(eos=5), 5)
    args = SimpleNamespace(output_dir=str(tmp_path), should_save=True)
    state, control = _hooks()
    objects = {"model": model, "processing_class": tokenizer}

    callback.on_step_end(args, state, control, **objects)
    assert model.generation_config.eos_token_id == 5  # no save follows this step
    control.should_save = True
    callback.on_step_end(args, state, control, **objects)
    assert model.generation_config.eos_token_id == [5, 7]
    assert callback.changes == [{"generation_config.eos_token_id": (5, [5, 7]), "config.eos_token_id": (5, [5, 7])}]

    save_folder(tmp_path / "checkpoint-3", model, tokenizer)
    callback.on_save(args, state, control, **objects)
    assert list(callback.reports) == [tmp_path / "checkpoint-3"]
    assert list(callback.reports[tmp_path / "checkpoint-3"].findings()) == []


def test_callback_logs_findings_and_strict_raises(tmp_path, caplog):
    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = qwen_tokenizer()
    model = stand_in(llama_config(eos=5), 5)
    save_folder(tmp_path / "checkpoint-3", model, tokenizer)  # saved without aligning
    args = SimpleNamespace(output_dir=str(tmp_path), should_save=True)
    state, control = _hooks()

    with caplog.at_level("INFO", logger="eos_guard"):
        report = EosGuardCallback().check(tmp_path / "checkpoint-3")
    assert "EOS001" in {f.code for f in report.findings()}
    assert any("generation_config.json:2:" in r.getMessage() and "EOS001" in r.getMessage() and r.levelname == "ERROR"
               for r in caplog.records)

    with pytest.raises(EosGuardCheckError, match="EOS001") as raised:
        EosGuardCallback(strict=True).on_save(args, state, control, model=model, processing_class=tokenizer)
    assert raised.value.folder == tmp_path / "checkpoint-3"


@pytest.mark.parametrize("where", ["run-0", "another-rank"])
def test_callback_checks_only_the_checkpoint_this_process_saved_where_trainer_writes_it(tmp_path, caplog, where):
    """training.md, Not covered: a hyperparameter search saves under output_dir/run-*/checkpoint-N, which is not
    found (a warning says so); in a distributed run only the rank that saves (args.should_save) checks, so strict
    raises only there."""
    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = qwen_tokenizer()
    model = stand_in(llama_config(eos=5), 5)
    save_folder(tmp_path / "run-0" / "checkpoint-3", model, tokenizer)  # saved without aligning: EOS001
    save_folder(tmp_path / "checkpoint-3", model, tokenizer)
    args = SimpleNamespace(output_dir=str(tmp_path), should_save=where == "run-0")
    if where == "run-0":
        (tmp_path / "checkpoint-3").rename(tmp_path / "elsewhere")
    state, control = _hooks()
    callback = EosGuardCallback(strict=True)
    with caplog.at_level("WARNING", logger="eos_guard"):
        callback.on_save(args, state, control, model=model, processing_class=tokenizer)
    assert callback.reports == {}
    warned = [r.getMessage() for r in caplog.records if "no checkpoint folder" in r.getMessage()]
    assert warned == ([f"eos-guard: no checkpoint folder at {tmp_path / 'checkpoint-3'}; nothing checked"]
                      if where == "run-0" else [])


def test_callback_strict_raises_from_fail_on(tmp_path):
    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = qwen_tokenizer()
    model = stand_in(llama_config(eos=5), [5, 7])  # stops right; config.json's eos is the base one: a warning
    save_folder(tmp_path, model, tokenizer)

    report = EosGuardCallback(strict=True).check(tmp_path)
    assert [(f.code, str(f.severity)) for f in report.findings()] == [("EOS003", "warning")]
    with pytest.raises(EosGuardCheckError, match="EOS003"):
        EosGuardCallback(strict=True, fail_on="warning").check(tmp_path)


def test_callback_on_train_end_aligns_for_the_final_save_model(tmp_path):
    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = qwen_tokenizer(eos="<|endoftext|>")
    model = stand_in(llama_config(eos=5), 5)
    state, control = _hooks()
    EosGuardCallback().on_train_end(SimpleNamespace(output_dir=str(tmp_path)), state, control, model=model,
                                    processing_class=tokenizer)
    assert model.generation_config.eos_token_id == [5, 7]


def test_callback_without_a_tokenizer_warns_once(caplog, tmp_path):
    from eos_guard.integrations.transformers import EosGuardCallback

    callback = EosGuardCallback()
    model = stand_in(llama_config(eos=5), 5)
    state, control = _hooks()
    with caplog.at_level("WARNING", logger="eos_guard"):
        for _ in range(2):
            callback.on_train_begin(SimpleNamespace(output_dir=str(tmp_path)), state, control, model=model,
                                    processing_class=None)
    assert len([r for r in caplog.records if "processing_class" in r.getMessage()]) == 1
    assert model.generation_config.eos_token_id == 5


def test_exported_as_eos_guard_align():
    import eos_guard

    if "align" not in getattr(eos_guard, "__all__", ()):
        pytest.skip("eos_guard/__init__.py does not export align yet")
    assert eos_guard.align is align


@pytest.mark.parametrize("tokenizer", [None, "path/to/tokenizer", {"eos_token": "<|im_end|>"}],
                         ids=["none", "path", "dict"])
def test_align_and_stop_ids_refuse_what_is_not_a_tokenizer(tokenizer):
    """align(model, None) returned {} ("already aligned") and stop_ids left the terminator out."""
    from eos_guard.align import stop_ids

    model = stand_in(llama_config(2), 2)
    with pytest.raises(TypeError, match="is not a tokenizer"):
        align(model, tokenizer)
    with pytest.raises(TypeError, match="is not a tokenizer"):
        stop_ids(model, tokenizer)


@pytest.mark.parametrize("generation, config_eos, message", [
    pytest.param("<|im_end|>", 5, "generation_config.eos_token_id is '<|im_end|>', which holds '<|im_end|>'",
                 id="a-token-string"),
    pytest.param([5, None], 5, "generation_config.eos_token_id is [5, None], which holds None",
                 id="a-null-in-a-list"),
    pytest.param(-1, 5, "generation_config.eos_token_id is -1, which holds -1", id="a-negative-id"),
    # generate() would cast it (training.md), but AutoConfig refuses a float in config.json: refused too
    pytest.param(5.0, 5, "generation_config.eos_token_id is 5.0, which holds 5.0", id="a-float"),
    pytest.param(5, -1, "config.eos_token_id is -1, which holds -1", id="a-negative-id-in-config"),
])
def test_a_value_that_holds_no_token_id_is_refused_as_check_mode_reports_it(tmp_path, generation, config_eos,
                                                                           message):
    """generation_config.eos_token_id = tokenizer.eos_token (the string) became ['<|im_end|>', 7] after align():
    still no stop id generate() can use, and EOS007 in the saved folder, while align() said it had aligned it. As
    --fix leaves such a value to a person, align() refuses it and changes nothing."""
    tokenizer = qwen_tokenizer()
    model = stand_in(llama_config(eos=config_eos), generation)
    save_folder(tmp_path, model, tokenizer)
    assert "EOS007" in {f.code for f in check_folder(tmp_path).findings}  # what check mode says of the value

    hint = "; '<|im_end|>' is token 7" if generation == "<|im_end|>" else ""
    with pytest.raises(ValueError) as raised:
        align(model, tokenizer)
    assert str(raised.value) == (f"eos-guard: {message}: not a token id (a non-negative integer), as every runtime "
                                 "needs (EOS007 in a saved folder); align() only adds ids: set it to "
                                 f"token ids{hint}")
    assert model.generation_config.eos_token_id == generation and model.config.eos_token_id == config_eos


def test_callback_logs_a_value_align_refuses_and_strict_raises(tmp_path, caplog):
    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = qwen_tokenizer()
    model = stand_in(llama_config(eos=7), "<|im_end|>")
    state, control = _hooks()
    args = SimpleNamespace(output_dir=str(tmp_path))
    with caplog.at_level("ERROR", logger="eos_guard"):
        EosGuardCallback(check_data=False).on_train_begin(args, state, control, model=model, processing_class=tokenizer)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "eos-guard: generation_config.eos_token_id is '<|im_end|>', which holds '<|im_end|>': not a token id (a "
        "non-negative integer), as every runtime needs (EOS007 in a saved folder); align() only adds ids: "
        "set it to token ids; '<|im_end|>' is token 7"]
    with pytest.raises(ValueError, match="EOS007"):
        EosGuardCallback(strict=True, check_data=False).on_train_begin(args, state, control, model=model,
                                                                       processing_class=tokenizer)
    assert model.generation_config.eos_token_id == "<|im_end|>"


def test_the_callback_writes_only_the_cache_folder_and_cache_false_keeps_it_out(tmp_path, monkeypatch):
    """helper-191: checking a saved folder (``check()``, ``on_save``) fills eos-guard's cache folder as the command
    line does; ``align()`` writes nothing; ``cache: false`` in a settings file above the output folder keeps the cache
    folder untouched (docs/training.md)."""
    from eos_guard.integrations.transformers import EosGuardCallback

    cache = tmp_path / "cache"
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(cache))
    tokenizer, model = qwen_tokenizer(), stand_in(llama_config(eos=5), 5)
    args = SimpleNamespace(output_dir=str(tmp_path / "run"), should_save=True)
    state, control = _hooks()
    control.should_save = True
    callback = EosGuardCallback()
    callback.on_step_end(args, state, control, model=model, processing_class=tokenizer)
    assert model.generation_config.eos_token_id == [5, 7] and not cache.exists()
    save_folder(tmp_path / "run" / "checkpoint-3", model, tokenizer)
    saved = sorted(p for p in (tmp_path / "run").rglob("*"))
    callback.on_save(args, state, control, model=model, processing_class=tokenizer)
    assert sorted(p for p in (tmp_path / "run").rglob("*")) == saved
    assert [p for p in cache.rglob("*") if p.is_file()], "the check filled the cache folder"

    (tmp_path / "quiet").mkdir()
    (tmp_path / "quiet" / ".eos-guard.yaml").write_text("cache: false\n", encoding="utf-8")
    cache, args = tmp_path / "cache-2", SimpleNamespace(output_dir=str(tmp_path / "quiet" / "run"), should_save=True)
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(cache))
    save_folder(tmp_path / "quiet" / "run" / "checkpoint-3", model, tokenizer)
    EosGuardCallback().on_save(args, state, control, model=model, processing_class=tokenizer)
    assert not cache.exists()
