"""The training-side half of "it never stops", end to end: configs that are perfectly aligned, and a model that
still runs to ``max_new_tokens`` because its training data never taught it to stop.

The toy ChatML model of examples/runaway_generation.py is trained in a real ``transformers.Trainer`` on the same
16 conversations twice, with transformers' ``DataCollatorForLanguageModeling(mlm=False)``: once after the usual
``tokenizer.pad_token = tokenizer.eos_token`` (the collator then masks every ``<|im_end|>``), once with the
distinct pad token ``<|endoftext|>``. The first model's configs pass eos-guard's file check, and ``pipeline()``
still runs every answer to ``max_new_tokens``; ``EosGuardCallback`` stops that training at ``on_train_begin``
with EOS023. The second trains, passes the check, and stops after each answer.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from support import require

pytestmark = pytest.mark.e2e

require("torch", "transformers", "tokenizers", "accelerate", needing="the e2e tests need")

ROOT = Path(__file__).resolve().parents[2]


def _load_story():
    spec = importlib.util.spec_from_file_location("runaway_generation", ROOT / "examples" / "runaway_generation.py")
    if spec.name in sys.modules:  # test_runaway_generation.py loaded it already
        return sys.modules[spec.name]
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


story = _load_story()
QUESTIONS = [q for q, _ in story.QA]
ANSWERS = dict(story.QA)
STEPS = 100  # what the toy model needs to end every answer with <|im_end|> (docs/training.md)


@pytest.fixture(scope="module", autouse=True)
def quiet_one_thread():
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # see test_runaway_generation.py: faster and deterministic for a model this small
    yield
    torch.set_num_threads(before)


def tokenizer_with(pad: str):
    tokenizer = story.build_tokenizer()  # eos and terminator <|im_end|>
    tokenizer.pad_token = pad
    return tokenizer


def lm_trainer(tokenizer, output_dir: Path, steps: int, callbacks: list, **kwargs):
    """The story's Trainer (full batch, AdamW, constant lr, seed 1234) fed by DataCollatorForLanguageModeling."""
    from transformers import DataCollatorForLanguageModeling

    return story.trainer_for(story.build_model(tokenizer), tokenizer, output_dir, steps, callbacks=callbacks,
                             dataset=story.tokenized_conversations(tokenizer),
                             data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False), **kwargs)


def test_pad_equal_to_eos_runs_away_with_aligned_configs_and_the_callback_stops_it(tmp_path):
    import torch

    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    # 1. Trained without the data check: align() keeps the configs right, every file check passes ...
    pad_is_eos = tokenizer_with(story.TERMINATOR)
    unchecked = EosGuardCallback(strict=True, check_data=False)
    trainer = lm_trainer(pad_is_eos, tmp_path / "pad-is-eos", STEPS, [unchecked])
    trainer.train()
    assert unchecked.data_report is None
    folder = tmp_path / "pad-is-eos" / f"checkpoint-{STEPS}"
    im_end = pad_is_eos.convert_tokens_to_ids(story.TERMINATOR)
    # transformers' own align_special_tokens put the tokenizer's eos first
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == [im_end, 43]
    result = story.eos_guard_cli("--format", "json", str(folder.relative_to(tmp_path)), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert {f["code"] for f in findings} <= {"EOS013"}  # pad == terminator: a warning (info after #14), no error
    assert all(f["severity"] != "error" for f in findings)

    # ... and the real pipeline still runs every answer to max_new_tokens: the model never emits <|im_end|>.
    for run in story.pipeline_generate(folder, QUESTIONS):
        assert run.ran_away and len(run.new_ids) == story.MAX_NEW_TOKENS, run
        assert im_end not in run.new_ids and 43 not in run.new_ids
        assert run.text.startswith(ANSWERS[run.question]), run  # it learned the answers, not how to end them

    # 2. The same training with the check on (the default): stopped at on_train_begin, before any step.
    guarded = EosGuardCallback()
    trainer = lm_trainer(pad_is_eos, tmp_path / "guarded", STEPS, [guarded])
    before = [p.detach().clone() for p in trainer.model.parameters()]
    with pytest.raises(EosGuardCheckError) as raised:
        trainer.train()
    assert trainer.state.global_step == 0
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    assert str(raised.value) in (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    assert str(raised.value) == (
        "eos-guard: all 16 examples of the dataset (1 batch, in its order) do not train the model to stop (stop ids "
        "[43 '<|endoftext|>', "
        "45 '<|im_end|>'], pad token [45 '<|im_end|>']); stopped before the first optimizer step (strict_data=False "
        "logs the findings instead):\n"
        "<batch>:1:14: EOS023 error: no supervised label in the batch is a stop id [43, 45]: the pad token id 45 is a "
        "stop id, and every 45 in input_ids has label -100 (pad token == eos: the collator masks every eos), so the "
        "model is never trained to stop; give the tokenizer a pad token that is not a stop id [pad-masks-stop]")
    assert [f.code for f in raised.value.report.findings()] == ["EOS023"]
    assert not (tmp_path / "guarded").exists() or not any((tmp_path / "guarded").iterdir())


def test_answers_formatted_without_the_terminator_write_the_next_turn_and_the_callback_stops_it(tmp_path):
    """Chat text formatted by a script instead of the template: the user turns keep <|im_end|>, the answers lost it,
    and DataCollatorForLanguageModeling puts the loss on the whole text. <|im_end|> is supervised (after every
    question), so the batch alone reads as EOS026, a warning; but no answer ends with it. Trained without the data
    check, the model ends each answer by writing the user's next turn, closed with <|im_end|>, where generation
    stops: every reply holds a question nobody asked. The callback reads the template's opening of an answer
    (<|im_start|>assistant) and stops that training before the first step with EOS026, an error."""
    from transformers import DataCollatorForLanguageModeling

    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = tokenizer_with(story.BASE_EOS)
    texts = ["".join(f"<|im_start|>{m['role']}\n{m['content']}" + ("\n" if m["role"] == "assistant" else
                                                                   "<|im_end|>\n") for m in conversation)
             for conversation in story.conversations()]
    data = [{"input_ids": tokenizer(text, add_special_tokens=False)["input_ids"]} for text in texts]

    def trainer(output_dir: Path, callback):
        return story.trainer_for(story.build_model(tokenizer), tokenizer, output_dir, STEPS, callbacks=[callback],
                                 dataset=data, data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))

    trainer(tmp_path / "unchecked", EosGuardCallback(strict=True, check_data=False)).train()
    for run in story.pipeline_generate(tmp_path / "unchecked" / f"checkpoint-{STEPS}", QUESTIONS):
        assert not run.ran_away, run
        assert run.text.startswith(ANSWERS[run.question] + "\n<|im_start|>user\n"), run
        assert run.text.endswith("<|im_end|>") and run.content != ANSWERS[run.question], run

    guarded = trainer(tmp_path / "guarded", EosGuardCallback())
    with pytest.raises(EosGuardCheckError) as raised:
        guarded.train()
    assert guarded.state.global_step == 0
    [finding] = raised.value.report.findings()
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    assert finding.message == (
        "16 of 16 sequences (100%) in the batch do not end their last supervised span with a stop id [43, 45]; the "
        "supervised stop ids end other turns (system, user) only: none of the 24 answers (what follows the chat "
        "template's opening of an answer) ends with one, so the model is never trained to stop after an answer; "
        "append the terminator (the chat template's, or tokenizer.eos_token) to every answer")


def test_answers_without_the_terminator_but_the_last_write_the_next_turn(tmp_path):
    """helper-207: three-turn chat text formatted by a script that leaves <|im_end|> out (the user turns keep it),
    given to SFTTrainer as plain text, which appends the eos, <|im_end|>, to each text: the last answer of each
    conversation ends with the stop id, the two before it run straight into the next user turn. Every sequence ends
    with a stop id, so EOS026 says nothing, and the callback passed. Trained without the data check (300 steps), the
    model follows every answer with a user turn nobody wrote (helper-207's went on to max_new_tokens); the callback
    reads the template's end of an answer (<|im_end|>) and stops that training before the first step with EOS034."""
    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = tokenizer_with(story.BASE_EOS)
    triples = [[story.QA[(i + k) % len(story.QA)] for k in range(3)] for i in range(len(story.QA))]
    texts = ["".join(f"<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n{a}\n" for q, a in triple)
             for triple in triples]
    rows = [{"text": text} for text in texts]

    unchecked = _sft_trainer(tmp_path / "unchecked", tokenizer, [EosGuardCallback(strict=True, check_data=False)],
                             rows, max_steps=3 * STEPS, per_device_train_batch_size=len(rows),
                             save_strategy="steps", save_steps=3 * STEPS)
    unchecked.train()
    runs = story.pipeline_generate(tmp_path / "unchecked" / "sft" / f"checkpoint-{3 * STEPS}", QUESTIONS)
    for run in runs:  # the answer, then a user turn nobody wrote
        assert run.text.startswith(ANSWERS[run.question] + "\n<|im_start|>user\n"), run

    guarded = _sft_trainer(tmp_path / "guarded", tokenizer, [EosGuardCallback()], rows,
                           per_device_train_batch_size=len(rows))
    with pytest.raises(EosGuardCheckError) as raised:
        guarded.train()
    assert guarded.state.global_step == 0
    [finding] = raised.value.report.findings()
    assert (finding.code, str(finding.severity)) == ("EOS034", "error"), finding
    assert finding.message.startswith(f"{2 * len(rows)} of {2 * len(rows)} answers that another turn follows in the "
                                      "batch end with no stop id")


def test_a_distinct_pad_token_trains_passes_and_stops(tmp_path):
    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = tokenizer_with(story.BASE_EOS)
    callback = EosGuardCallback(strict=True)
    lm_trainer(tokenizer, tmp_path / "out", STEPS, [callback]).train()
    assert list(callback.data_report.findings()) == []
    folder = tmp_path / "out" / f"checkpoint-{STEPS}"
    assert list(callback.reports[folder].findings()) == []
    assert story.eos_guard_cli(str(folder.relative_to(tmp_path)), cwd=tmp_path).returncode == 0
    im_end = tokenizer.convert_tokens_to_ids(story.TERMINATOR)
    for run in story.pipeline_generate(folder, QUESTIONS):
        answer_ids = tokenizer.encode(ANSWERS[run.question], add_special_tokens=False)
        assert run.new_ids == answer_ids + [im_end] and not run.ran_away, run
        assert run.content == ANSWERS[run.question]


def test_padding_to_max_length_with_labels_copied_and_pad_equal_to_eos_trains(tmp_path):
    """The classic recipe (``padding="max_length"``, ``labels = input_ids``, ``default_data_collator``, pad ==
    eos): the first padding after each text keeps its label, so the loss trains "last word -> eos". The callback
    lets it train (it stopped it with EOS024 when it left every padding label out)."""
    from transformers import default_data_collator

    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = story.build_tokenizer(eos_token=story.BASE_EOS)  # eos and pad <|endoftext|>
    tokenizer.chat_template = None
    encoded = tokenizer([f"{q} {a}" for q, a in story.QA], padding="max_length", max_length=32)
    features = [{"input_ids": ids, "attention_mask": mask, "labels": list(ids)}
                for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"])]
    callback = EosGuardCallback()
    trainer = story.trainer_for(story.build_model(tokenizer), tokenizer, tmp_path / "out", 1, callbacks=[callback],
                                batch_size=4, save_strategy="no", dataset=features,
                                data_collator=default_data_collator)
    trainer.train()
    assert trainer.state.global_step == 1
    assert list(callback.data_report.findings()) == []


@pytest.mark.parametrize("eos", [False, True], ids=["no-eos", "eos-appended"])
def test_plain_text_one_example_a_batch(tmp_path, eos):
    """``per_device_train_batch_size=1`` (with gradient accumulation, the usual way to fit a large model): no
    batch has padding. Texts tokenized as the tokenizer does it (it adds no eos) never show the terminator, and
    the callback stops training with EOS024 (it let it train: each row alone read as a block of concatenated
    text); with the eos appended, it trains."""
    from transformers import DataCollatorForLanguageModeling

    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = tokenizer_with(story.BASE_EOS)
    ids = [tokenizer(f"{q} {a}")["input_ids"] + ([tokenizer.eos_token_id] if eos else []) for q, a in story.QA]
    assert not any(tokenizer.eos_token_id in row for row in ids) or eos
    callback = EosGuardCallback()
    trainer = story.trainer_for(story.build_model(tokenizer), tokenizer, tmp_path / "out", 1, callbacks=[callback],
                                batch_size=1, save_strategy="no", dataset=[{"input_ids": row} for row in ids],
                                data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    if eos:
        trainer.train()
        assert trainer.state.global_step == 1 and list(callback.data_report.findings()) == []
        return
    with pytest.raises(EosGuardCheckError) as raised:
        trainer.train()
    assert trainer.state.global_step == 0
    assert str(raised.value).startswith("eos-guard: all 8 examples of the dataset (8 batches, in its order) do not "
                                        "train the model to stop")
    assert [f.code for f in raised.value.report.findings()] == ["EOS024"]


# -- the check must not change what is trained -------------------------------------------------------------

def _trained(tmp_path: Path, name: str, callbacks: list, seedable: bool) -> tuple[list, list]:
    """The input_ids of every forward pass, and the final weights, of 8 steps (2 epochs of 4 shuffled batches),
    with attention dropout on, so that the weights depend on torch's random generator too."""
    tokenizer = tokenizer_with(story.BASE_EOS)
    trainer = lm_trainer(tokenizer, tmp_path / name, 8, callbacks, batch_size=4, save_strategy="no",
                         accelerator_config={"use_seedable_sampler": seedable})
    for layer in trainer.model.model.layers:
        layer.self_attn.attention_dropout = 0.1
    seen = []
    trainer.model.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs["input_ids"].clone()),
                                            with_kwargs=True)
    trainer.train()
    return seen, [p.detach().clone() for p in trainer.model.parameters()]


def _same(a: list, b: list) -> bool:
    import torch

    return len(a) == len(b) and all(x.shape == y.shape and torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("seedable", [True, False], ids=["seedable-sampler", "random-sampler"])
def test_the_data_check_does_not_change_what_is_trained(tmp_path, seedable):
    """The batches (their order: Trainer shuffles) and the final weights (dropout draws from torch's generator)
    are the same with and without the data check. The control shows that reading the first batch by
    iterating the dataloader would change them: the new iterator draws from torch's generator (the dropout
    masks move), and a plain RandomSampler (``use_seedable_sampler=False``) draws its shuffle from it too."""
    from transformers import TrainerCallback

    from eos_guard.integrations.transformers import EosGuardCallback

    class IterateTheDataloader(TrainerCallback):
        def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
            next(iter(train_dataloader))

    plain, plain_weights = _trained(tmp_path, "plain", [EosGuardCallback(check_data=False)], seedable)
    checker = EosGuardCallback()
    checked, checked_weights = _trained(tmp_path, "checked", [checker], seedable)
    control, control_weights = _trained(tmp_path, "control", [EosGuardCallback(check_data=False),
                                                              IterateTheDataloader()], seedable)

    assert checker.data_report is not None and list(checker.data_report.findings()) == []
    assert len(plain) == 8 and len({tuple(r) for b in plain[:4] for r in b.tolist()}) == 16  # one epoch: all 16
    assert _same(plain, checked) and _same(plain_weights, checked_weights)
    assert not _same(plain_weights, control_weights)
    assert _same(plain, control) == seedable  # the seedable sampler reseeds at every epoch; a RandomSampler not


def test_the_callback_reads_the_configured_number_of_batches(tmp_path, caplog):
    """``data_batches`` batches drawn over the dataset, named by their indices; more of small batches, until they
    hold MIN_EXAMPLES (64) examples (helper-152: 8 examples made EOS026's verdict a draw); all of a smaller dataset."""
    import logging

    from eos_guard.integrations.transformers import MIN_EXAMPLES, EosGuardCallback

    tokenizer = tokenizer_with(story.BASE_EOS)
    rows = story.tokenized_conversations(tokenizer) * 10  # 160 examples
    for data_batches, batch_size, read in ((3, 2, 32), (40, 2, 40), (3, 32, 3)):
        caplog.clear()
        callback = EosGuardCallback(data_batches=data_batches)
        with caplog.at_level(logging.INFO, logger="eos_guard"):
            callback.check_training_data(None, _loader(tokenizer, rows, batch_size), story.build_model(tokenizer),
                                         tokenizer)
        assert f"eos-guard: {read} training batches of examples drawn over the dataset (indices " in caplog.text, \
            caplog.text
        assert read * batch_size >= MIN_EXAMPLES
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="eos_guard"):  # 16 examples: 6 drawn, then the other 10
        lm_trainer(tokenizer, tmp_path / "out", 1, [EosGuardCallback(data_batches=3)], batch_size=2,
                   save_strategy="no").train()
    assert "eos-guard: all 16 examples of the dataset (8 batches) train the model to stop (stop ids " \
        "[43 '<|endoftext|>', " \
        "45 '<|im_end|>'])" in caplog.text


# -- TRL's SFTTrainer (the e2e extra installs TRL) -----------------------------------------------------------

def _sft_trainer(tmp_path: Path, tokenizer, callbacks: list, rows: list | None = None, **config):
    """TRL's SFTTrainer on ``rows`` (the story's conversations by default), one step of 8 examples a batch, saving
    nothing, unless ``config`` says otherwise."""
    # CI installs TRL (the e2e extra): missing is a failure there, not a skip
    trl = importlib.import_module("trl") if os.environ.get("CI") else pytest.importorskip("trl")
    from datasets import Dataset

    data = Dataset.from_list(rows if rows is not None else [{"messages": c} for c in story.conversations()])
    config = {"per_device_train_batch_size": 8, "max_steps": 1, "save_strategy": "no", **config}
    args = trl.SFTConfig(output_dir=str(tmp_path / "sft"), learning_rate=3e-3, report_to="none", use_cpu=True,
                         logging_strategy="no", disable_tqdm=True, seed=story.SEED, **config)
    return trl.SFTTrainer(model=story.build_model(tokenizer), args=args, train_dataset=data,
                          processing_class=tokenizer, callbacks=callbacks)


@pytest.mark.parametrize("config", [
    pytest.param({}, id="padded"),
    pytest.param({"padding_free": True, "max_length": None}, id="padding-free"),
    pytest.param({"packing": True, "max_length": 64}, id="packed"),
    # the two-turn conversations (50-58 tokens) split into a piece of 40 and the rest, packed apart: no
    # truncation (it was EOS026, "5 of 16 sequences (31%)")
    pytest.param({"packing": True, "packing_strategy": "bfd_split", "max_length": 40}, id="packed-bfd-split"),
    # blocks of 16 cut from the concatenated conversations, which start anywhere (the last, shorter block too)
    pytest.param({"packing": True, "packing_strategy": "wrapped", "max_length": 16}, id="packed-wrapped"),
    # blocks of 32: the callback's 8 batches reach the last block, padded beside 4 full ones (it was EOS026,
    # "15 of 21 sequences (71%)")
    pytest.param({"packing": True, "packing_strategy": "wrapped", "max_length": 32}, id="packed-wrapped-padded-tail"),
    # two processes pack a shard each, and each shard leaves a padded last block: two padded rows, each starting
    # mid-conversation (it was EOS026: two padded rows read as examples)
    pytest.param({"packing": True, "packing_strategy": "wrapped", "max_length": 32, "dataset_num_proc": 2},
                 id="packed-wrapped-two-shards"),
])
def test_sft_trainer_with_pad_equal_to_eos_passes(tmp_path, config):
    """TRL's collator pads labels by position (-100), so pad == eos masks nothing: no false alarm."""
    from eos_guard.integrations.transformers import EosGuardCallback

    from eos_guard.integrations.transformers import first_batches

    callback = EosGuardCallback()
    trainer = _sft_trainer(tmp_path, tokenizer_with(story.TERMINATOR), [callback], **config)
    [batch] = first_batches(trainer.get_train_dataloader(), 1)
    if config.get("packing_strategy") == "wrapped":  # blocks cut from the concatenated conversations
        attended = batch["attention_mask"] == 1
        assert "position_ids" not in batch and (batch["labels"] == batch["input_ids"])[attended].all()
        if "dataset_num_proc" in config:  # a padded last block from each shard among the batches the callback reads
            read = first_batches(trainer.get_train_dataloader(), callback.data_batches)
            assert sum(int((b["attention_mask"] == 0).any(dim=1).sum()) for b in read) == 2
    else:
        packed = bool(config)
        assert ("position_ids" in batch and batch["input_ids"].shape[0] == 1) == packed
    trainer.train()
    assert trainer.state.global_step == 1
    assert list(callback.data_report.findings()) == []


# ChatML with {% generation %} marks around each answer and its <|im_end|>, as assistant_only_loss needs them
KEEPS_TERMINATOR = (
    "{% for message in messages %}{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def _prompt_completion(conversational: bool) -> list[dict]:
    if conversational:  # the last answer is the completion, the turns before it the prompt
        return [{"prompt": c[:-1], "completion": c[-1:]} for c in story.conversations()]
    return [{"prompt": f"{q} ", "completion": a} for q, a in story.QA] * 2  # SFTTrainer appends the eos


@pytest.mark.parametrize(("rows", "config"), [
    # keep_end cuts the start off every conversation longer than 20 (all of them): the rows open mid-text, and
    # each ends with its terminator
    pytest.param(None, {"max_length": 20, "truncation_mode": "keep_end"}, id="keep-end"),
    pytest.param(None, {"max_length": 20, "truncation_mode": "keep_end", "per_device_train_batch_size": 1},
                 id="keep-end-one-a-batch"),
    pytest.param(None, {"max_length": 20, "truncation_mode": "keep_end", "assistant_only_loss": True,
                        "template": KEEPS_TERMINATOR}, id="keep-end-assistant-only"),
    pytest.param(_prompt_completion(True), {"max_length": 12, "truncation_mode": "keep_end"},
                 id="keep-end-prompt-completion"),
    pytest.param(None, {"assistant_only_loss": True, "template": KEEPS_TERMINATOR}, id="assistant-only"),
    pytest.param(None, {"assistant_only_loss": True, "template": KEEPS_TERMINATOR, "padding_free": True,
                        "max_length": None}, id="assistant-only-padding-free"),
    pytest.param(_prompt_completion(False), {}, id="prompt-completion-text"),
    pytest.param(_prompt_completion(True), {}, id="prompt-completion-conversational"),
    pytest.param(_prompt_completion(True), {"completion_only_loss": False}, id="prompt-completion-full-loss"),
    pytest.param(None, {"per_device_train_batch_size": 1}, id="one-a-batch"),
])
def test_sft_trainer_data_paths_with_pad_equal_to_eos_pass(tmp_path, rows, config):
    """The other ways SFTTrainer makes rows from correct data, each with pad == eos (TRL's collator pads labels
    by position): no finding. ``truncation_mode="keep_end"`` (deprecated in TRL 1.16, still run) keeps each
    sequence's end, terminator included, and cuts its start: the rows open mid-conversation, which is neither a
    missing terminator nor truncation of it."""
    from eos_guard.integrations.transformers import EosGuardCallback, first_batches

    config = dict(config)
    tokenizer = tokenizer_with(story.TERMINATOR)
    if "template" in config:
        tokenizer.chat_template = config.pop("template")
    callback = EosGuardCallback()
    trainer = _sft_trainer(tmp_path, tokenizer, [callback], rows=rows, **config)
    if config.get("truncation_mode") == "keep_end":
        read = first_batches(trainer.get_train_dataloader(), callback.data_batches)
        texts = [r[:sum(m)] for b in read for r, m in zip(b["input_ids"].tolist(), b["attention_mask"].tolist())]
        im_start, im_end = tokenizer.convert_tokens_to_ids(["<|im_start|>", story.TERMINATOR])
        cut = [t for t in texts if len(t) == config["max_length"] and t[0] != im_start]
        assert cut and all(im_end in t[-2:] for t in cut)  # each opens mid-text and keeps its terminator
    trainer.train()
    assert trainer.state.global_step == 1
    assert list(callback.data_report.findings()) == []


def test_sft_trainer_truncating_every_conversation_is_reported(tmp_path):
    """Full-sequence loss, max_length=20 below every conversation's length: full rows with no padding and no
    -100, each starting with <|im_start|> (it was no finding, and the log said the batches train the model to
    stop)."""
    from eos_guard.integrations.transformers import EosGuardCallback

    callback = EosGuardCallback()
    trainer = _sft_trainer(tmp_path, tokenizer_with(story.BASE_EOS), [callback], max_length=20)
    trainer.train()  # a warning: logged, training goes on
    [finding] = callback.data_report.findings()
    assert finding.code == "EOS026" and "raise max_length" in finding.message


def test_the_more_batches_of_long_examples_stop_at_a_token_budget():
    """64 examples of 32k tokens took 12 s and 426 MB where 8 took 1.6 s (helper-154): the batches read beyond
    data_batches stop at MAX_TOKENS tokens, counted from the first ones; a loader without automatic batching
    (batch_size=None) gets none."""
    from torch.utils.data import DataLoader

    from eos_guard.integrations.transformers import MAX_TOKENS, MIN_EXAMPLES, first_batches

    def collate(rows):
        return {"input_ids": [row["input_ids"] for row in rows], "labels": [row["input_ids"] for row in rows]}

    for length, expected in ((20_000, MAX_TOKENS // 20_000), (100, MIN_EXAMPLES), (300_000, 3)):
        rows = [{"input_ids": [5] * length} for _ in range(200)]
        drawn: list[int] = []
        batches = first_batches(DataLoader(rows, batch_size=1, collate_fn=collate), 3, drawn=drawn,
                                min_examples=MIN_EXAMPLES, max_tokens=MAX_TOKENS)
        assert len(batches) == len(drawn) == len(set(drawn)) == expected, (length, len(batches))
    whole = DataLoader([collate([{"input_ids": [5] * 10}] * 4) for _ in range(100)], batch_size=None,
                       collate_fn=lambda batch: batch)
    assert len(first_batches(whole, 3, min_examples=MIN_EXAMPLES, max_tokens=MAX_TOKENS)) == 3


def test_best_fit_packing_s_longest_rows_first_do_not_stop_a_correct_run(tmp_path, caplog):
    """helper-148: TRL's best-fit packing (packing=True, "bfd") orders its packed rows longest first, so the few
    conversations longer than max_length, cut to it, each fill one of the first rows. One row a batch, the callback's
    8 batches, read from the dataset's start, held only those: EOS026 as an error ("8 of 8 sequences ... never
    trained to stop") stopped a run where most answers end with <|im_end|>. The batches are read spread over the
    dataset now, and at least 64 examples: here all of its 40 rows. At most a warning that some were cut."""
    from eos_guard.integrations.transformers import EosGuardCallback, first_batches

    long_answer = " ".join(answer for _, answer in story.QA)
    rows = [{"messages": c} for c in story.conversations() * 3] + \
        [{"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": long_answer}]}
         for question, _ in story.QA[:4]]
    callback = EosGuardCallback()
    trainer = _sft_trainer(tmp_path, tokenizer_with(story.BASE_EOS), [callback], rows=rows, packing=True,
                           max_length=64, per_device_train_batch_size=1)
    loader = trainer.get_train_dataloader()
    assert len(loader.dataset) > callback.data_batches  # the dataset is read spread, not whole
    first_rows = [loader.dataset[i]["input_ids"] for i in range(callback.data_batches)]
    terminator = trainer.processing_class.convert_tokens_to_ids(story.TERMINATOR)
    assert sum(len(ids) == 64 and terminator not in ids[-3:] for ids in first_rows) >= 4  # the cut ones first
    with caplog.at_level("INFO", logger="eos_guard"):
        trainer.train()
    assert trainer.state.global_step == 1
    assert [str(f.severity) for f in callback.data_report.findings()] in ([], ["warning"])
    # fewer rows than the 64 examples read at least: every one
    assert f"all {len(loader.dataset)} examples of the dataset ({len(loader.dataset)} batches) train " \
        "the model to stop" in caplog.text, caplog.text
    assert len(first_batches(loader, callback.data_batches)) == callback.data_batches


@pytest.mark.parametrize("config", [
    pytest.param({}, id="padded"),
    # best-fit packing truncates each conversation to 8 tokens and packs them with position_ids (it was EOS024)
    pytest.param({"packing": True}, id="packed-bfd"),
    # rows of 8 padded to 16 after truncation: they end in padding although they were cut (it was EOS024)
    pytest.param({"pad_to_multiple_of": 16}, id="padded-to-a-multiple"),
    # pad == eos, and the packed row padded to a multiple of 48 with it, position id 0 and label -100: each
    # padding token read as a one-token sequence with a masked eos (it was EOS023, "the collator masks every eos")
    pytest.param({"packing": True, "pad_to_multiple_of": 48, "pad": story.TERMINATOR}, id="packed-bfd-pad-is-eos"),
])
def test_sft_trainer_truncating_every_conversation_before_its_first_terminator_is_stopped(tmp_path, config):
    """max_length=8, shorter than every first user turn: no -100 and no stop id anywhere, each sequence opening
    with <|im_start|>user and 8 tokens long. Nothing teaches the model to stop: EOS026, an error (it was no
    finding)."""
    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    config = dict(config)
    tokenizer = tokenizer_with(config.pop("pad", story.BASE_EOS))
    trainer = _sft_trainer(tmp_path, tokenizer, [EosGuardCallback()], max_length=8, **config)
    with pytest.raises(EosGuardCheckError) as raised:
        trainer.train()
    assert trainer.state.global_step == 0
    [finding] = raised.value.report.findings()
    assert (finding.code, str(finding.severity)) == ("EOS026", "error") and "raise max_length" in finding.message


def test_sft_trainer_assistant_only_loss_that_drops_the_terminator_is_stopped(tmp_path):
    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    ours = ("{% for message in messages %}{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\\n' }}"
            "{% generation %}{{ message['content'] }}{% endgeneration %}{{ '<|im_end|>\\n' }}"
            "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
            "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    tokenizer = tokenizer_with(story.BASE_EOS)
    tokenizer.chat_template = ours
    trainer = _sft_trainer(tmp_path, tokenizer, [EosGuardCallback()], assistant_only_loss=True)
    with pytest.raises(EosGuardCheckError) as raised:
        trainer.train()
    assert trainer.state.global_step == 0
    assert [f.code for f in raised.value.report.findings()] == ["EOS025"]
    assert "put the terminator inside the supervised span" in str(raised.value)


def test_batches_without_labels_are_not_checked(caplog):
    """A collator that adds no labels: a warning, no error (training would go on)."""
    import logging

    from torch.utils.data import DataLoader
    from transformers import DataCollatorWithPadding

    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = tokenizer_with(story.BASE_EOS)
    loader = DataLoader(story.tokenized_conversations(tokenizer), batch_size=4,
                        collate_fn=DataCollatorWithPadding(tokenizer))
    callback = EosGuardCallback()
    with caplog.at_level(logging.WARNING, logger="eos_guard"):
        assert callback.check_training_data(None, loader, story.build_model(tokenizer), tokenizer) is None
    assert "the training batches could not be read, so they are not checked: a batch needs 'input_ids' and " \
           "'labels' (the collator's output); got ['attention_mask', 'input_ids'] (check_data=False turns this " \
           "check off, as for a preference trainer's batches)" in caplog.text


def test_preference_batches_are_not_checked_and_the_warning_names_the_switch(caplog):
    """TRL's DPOTrainer collator marks the completions with a completion_mask and writes no labels: a warning that
    names check_data=False, no error."""
    import logging

    from torch.utils.data import DataLoader
    from eos_guard.integrations.transformers import EosGuardCallback

    dpo = importlib.import_module("trl.trainer.dpo_trainer") if os.environ.get("CI") else \
        pytest.importorskip("trl.trainer.dpo_trainer")
    tokenizer = tokenizer_with(story.BASE_EOS)
    examples = [{"prompt_ids": [1, 2, 3], "chosen_ids": [4, 5], "rejected_ids": [6]}] * 4
    loader = DataLoader(examples, batch_size=4, collate_fn=dpo.DataCollatorForPreference(pad_token_id=0))
    with caplog.at_level(logging.WARNING, logger="eos_guard"):
        assert EosGuardCallback().check_training_data(None, loader, story.build_model(tokenizer), tokenizer) is None
    assert "got ['attention_mask', 'completion_mask', 'input_ids'] (check_data=False turns this check off" \
        in caplog.text


def test_an_encoder_decoder_s_labels_padded_to_the_source_s_width_are_the_decoder_s(caplog):
    """helper-137: T5 pairs padded to one width (padding="max_length") whose target repeats the source and goes on
    (most labels are the input id at their position): the labels were read as lined up with the source, its
    padding dropped the target's </s>, and the run stopped (EOS024, EOS026). The callback passes the model's
    config.is_encoder_decoder."""
    import logging

    import torch
    from torch.utils.data import DataLoader
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration, default_data_collator

    import eos_guard
    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = AutoTokenizer.from_pretrained(ROOT / "tests" / "fixtures" / "t5-encoder-decoder-no-template")
    pairs = [("a b c d e f", "a b c d e f g"), ("b c d e f a", "b c d e f a g")] * 2
    source = tokenizer([s for s, _ in pairs], padding="max_length", max_length=24)
    target = tokenizer(text_target=[t for _, t in pairs], padding="max_length", max_length=24)
    features = [{"input_ids": ids, "attention_mask": mask,
                 "labels": [t if t != tokenizer.pad_token_id else -100 for t in labels]}
                for ids, mask, labels in zip(source["input_ids"], source["attention_mask"], target["input_ids"])]
    batch = default_data_collator(features)
    assert (batch["input_ids"].shape == batch["labels"].shape
            and all(row[row >= 0][-1] == tokenizer.eos_token_id for row in batch["labels"]))
    # read as lined up (most labels are the input id at their place), the source's padding hides the </s>
    assert [f.code for f in eos_guard.check_batch(batch, [1], 0)] == ["EOS026"]
    assert eos_guard.check_batch(batch, [1], 0, encoder_decoder=True) == []
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(vocab_size=len(tokenizer), d_model=16, d_ff=32, d_kv=8, num_layers=1,
                                                num_heads=2, decoder_start_token_id=0, eos_token_id=1, pad_token_id=0))
    loader = DataLoader(features, batch_size=4, collate_fn=default_data_collator)
    with caplog.at_level(logging.INFO, logger="eos_guard"):
        report = EosGuardCallback().check_training_data(None, loader, model, tokenizer)
    assert report is not None and list(report.findings()) == [], caplog.text


def test_a_processing_class_without_a_tokenizer_is_a_warning_not_a_crash(tmp_path, caplog):
    """helper-137: Trainer(processing_class=<an image processor>) (Whisper's fine-tuning guide passes a feature
    extractor) raised a TypeError out of on_train_begin: now what processing_class=None gets, a warning for each
    half, and training goes on."""
    import logging

    import torch
    from transformers import (Trainer, TrainingArguments, ViTConfig, ViTForImageClassification, WhisperFeatureExtractor,
                              default_data_collator)

    from eos_guard.integrations.transformers import EosGuardCallback

    torch.manual_seed(0)
    model = ViTForImageClassification(ViTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                                intermediate_size=32, image_size=16, patch_size=8, num_labels=2))
    data = [{"pixel_values": torch.rand(3, 16, 16), "labels": i % 2} for i in range(4)]
    args = TrainingArguments(output_dir=str(tmp_path / "vit"), max_steps=1, report_to=[], use_cpu=True,
                             save_strategy="no", per_device_train_batch_size=2)
    # a feature extractor needs numpy alone (an image processor needs Pillow or torchvision, which CI does not have)
    trainer = Trainer(model=model, args=args, train_dataset=data, processing_class=WhisperFeatureExtractor(),
                      data_collator=default_data_collator, callbacks=[EosGuardCallback()])
    with caplog.at_level(logging.WARNING, logger="eos_guard"):
        trainer.train()
    assert trainer.state.global_step == 1
    assert "no tokenizer in the processing_class (WhisperFeatureExtractor)" in caplog.text, caplog.text
    assert "the Trainer has a processing_class that holds no tokenizer (WhisperFeatureExtractor)" in caplog.text


def test_a_datasets_iterable_dataset_is_read_from_a_new_iterator(tmp_path):
    """A datasets.IterableDataset opens its sources again for each iteration: its start is read, and the log and
    the error say that only its start was."""
    import datasets
    from transformers import DataCollatorForLanguageModeling

    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = tokenizer_with(story.TERMINATOR)
    stream = datasets.Dataset.from_list(story.tokenized_conversations(tokenizer)).to_iterable_dataset()
    trainer = story.trainer_for(story.build_model(tokenizer), tokenizer, tmp_path / "out", 2,
                                callbacks=[EosGuardCallback()], batch_size=4, dataset=stream,
                                data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    with pytest.raises(EosGuardCheckError) as raised:
        trainer.train()
    assert [f.code for f in raised.value.report.findings()] == ["EOS023"]
    assert str(raised.value).startswith("eos-guard: the first 4 training batches (the start of an iterable dataset: "
                                        "later examples, if any, are not read) do not train the model")


def test_an_iterable_dataset_in_accelerate_s_shard_is_read():
    """Several processes without dispatched batches: accelerate wraps the datasets.IterableDataset in an
    IterableDatasetShard, which iterates it anew each time; the check was skipped, its warning calling it a stream
    (helper-153)."""
    import datasets
    from accelerate.data_loader import IterableDatasetShard
    from torch.utils.data import DataLoader
    from transformers import DataCollatorForLanguageModeling

    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = tokenizer_with(story.TERMINATOR)
    stream = datasets.Dataset.from_list(story.tokenized_conversations(tokenizer)).to_iterable_dataset()
    shard = IterableDatasetShard(stream, batch_size=4, num_processes=2, process_index=0)
    loader = DataLoader(shard, batch_size=4, collate_fn=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    report = EosGuardCallback(strict_data=False).check_training_data(None, loader, story.build_model(tokenizer),
                                                                     tokenizer)
    assert report is not None and [f.code for f in report.findings()] == ["EOS023"]


@pytest.mark.parametrize("source", ["inside", "outside"])
def test_a_from_generator_dataset_loses_what_is_read_only_when_its_source_was_opened_outside(source):
    """docs/training.md: a datasets.IterableDataset made ``from_generator`` calls its function again for each
    iteration, so the check's read takes nothing from training; unless the function goes on reading a source opened
    once outside it, which then loses the examples the check read (and eos-guard cannot tell it apart)."""
    import datasets
    from torch.utils.data import DataLoader
    from transformers import DataCollatorForLanguageModeling

    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = tokenizer_with(story.TERMINATOR)
    examples = story.tokenized_conversations(tokenizer) * 10  # more than the check reads
    opened_once = iter(examples)

    def generate():
        yield from (iter(examples) if source == "inside" else opened_once)

    stream = datasets.IterableDataset.from_generator(generate)
    loader = DataLoader(stream, batch_size=4, collate_fn=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    report = EosGuardCallback(strict_data=False).check_training_data(None, loader, story.build_model(tokenizer),
                                                                     tokenizer)
    assert report is not None and [f.code for f in report.findings()] == ["EOS023"]  # it was read
    trained = len([row for batch in loader for row in batch["input_ids"]])
    if source == "inside":
        assert trained == len(examples)
    else:  # the examples the check read are lost
        assert 0 < trained < len(examples)


@pytest.mark.parametrize("kind", ["stream", "one-shot"])
def test_an_iterable_dataset_that_may_not_start_again_is_not_read(caplog, kind):
    """A stream's ``__iter__`` is a generator that goes on reading a source opened once (a file, a pipe, a socket),
    so a second iteration does not start again. Reading it took its first examples away from training (helper-152:
    24 examples in 6 batches, and the run then stopped with "Batch does not contain any data"); a one-shot iterator
    too. Nothing tells that an iterable other than a datasets.IterableDataset starts again: a warning, and nothing
    is taken."""
    import logging

    import torch
    from torch.utils.data import DataLoader
    from transformers import DataCollatorForLanguageModeling

    from eos_guard.integrations.transformers import EosGuardCallback

    class Stream(torch.utils.data.IterableDataset):  # a generator that goes on reading a source opened once
        def __init__(self, examples):
            self.source = iter(examples)

        def __iter__(self):
            yield from self.source

    class OneShot(torch.utils.data.IterableDataset):
        def __init__(self, examples):
            self.examples = iter(examples)

        def __iter__(self):
            return self

        def __next__(self):
            return next(self.examples)

    tokenizer = tokenizer_with(story.TERMINATOR)
    examples = story.tokenized_conversations(tokenizer)
    dataset = Stream(examples) if kind == "stream" else OneShot(examples)
    loader = DataLoader(dataset, batch_size=4, collate_fn=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    with caplog.at_level(logging.WARNING, logger="eos_guard"):
        assert EosGuardCallback().check_training_data(None, loader, story.build_model(tokenizer), tokenizer) is None
    assert "may not start again from its first example when read (a stream)" in caplog.text, caplog.text
    assert len([row for batch in loader for row in batch["input_ids"]]) == len(examples)  # nothing was taken


def test_a_batch_on_the_meta_device_is_not_read_and_training_goes_on(caplog):
    """A collator that returns tensors on the meta device (helper-152): .tolist() raised NotImplementedError out of
    on_train_begin. A batch that cannot be read is a warning, as any other."""
    import logging

    import torch
    from torch.utils.data import DataLoader

    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = tokenizer_with(story.TERMINATOR)

    def on_meta(features):
        ids = torch.zeros((len(features), 8), dtype=torch.long, device="meta")
        return {"input_ids": ids, "attention_mask": ids, "labels": ids}

    loader = DataLoader(story.tokenized_conversations(tokenizer), batch_size=4, collate_fn=on_meta)
    with caplog.at_level(logging.WARNING, logger="eos_guard"):
        assert EosGuardCallback().check_training_data(None, loader, story.build_model(tokenizer), tokenizer) is None
    assert "the training batches could not be read, so they are not checked: 'input_ids' cannot be read " \
           "(NotImplementedError" in caplog.text, caplog.text


def _loader(tokenizer, features, batch_size: int = 4):
    from torch.utils.data import DataLoader
    from transformers import DataCollatorForLanguageModeling

    return DataLoader(features, batch_size=batch_size,
                      collate_fn=DataCollatorForLanguageModeling(tokenizer, mlm=False))


def test_strict_data_false_logs_the_findings_instead_of_raising(caplog):
    import logging

    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = tokenizer_with(story.TERMINATOR)
    callback = EosGuardCallback(strict_data=False)
    with caplog.at_level(logging.WARNING, logger="eos_guard"):
        report = callback.check_training_data(None, _loader(tokenizer, story.tokenized_conversations(tokenizer)),
                                              story.build_model(tokenizer), tokenizer)
    assert report is callback.data_report and [f.code for f in report.findings()] == ["EOS023"]
    [record] = [r for r in caplog.records if "EOS023" in r.getMessage()]
    assert record.levelno == logging.ERROR and record.getMessage().startswith("eos-guard: <batch 1>:1:14: EOS023")
    # where <batch N>:ROW leads: said when the findings are only logged too (helper-152)
    assert caplog.records[-1].getMessage().startswith("eos-guard: the findings above are in ")


def test_batches_with_no_supervised_label_are_not_said_to_train_the_model_to_stop(caplog):
    """Every label -100 (a response template that never matches): a warning that nothing is trained."""
    import logging

    from torch.utils.data import DataLoader
    from transformers import DataCollatorForSeq2Seq

    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = tokenizer_with(story.BASE_EOS)
    features = [{"input_ids": f["input_ids"], "labels": [-100] * len(f["input_ids"])}
                for f in story.tokenized_conversations(tokenizer)]
    loader = DataLoader(features, batch_size=4, collate_fn=DataCollatorForSeq2Seq(tokenizer))
    with caplog.at_level(logging.INFO, logger="eos_guard"):
        report = EosGuardCallback().check_training_data(None, loader, story.build_model(tokenizer), tokenizer)
    assert list(report.findings()) == []
    assert "train the model to stop" not in caplog.text
    [record] = [r for r in caplog.records if r.name == "eos_guard"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == ("eos-guard: all 16 examples of the dataset (4 batches, in its order) have no label "
                                   "the loss uses (every label "
                                   "is -100): nothing is trained, so whether the model learns to stop is not checked")


def test_the_settings_above_output_dir_apply_to_the_data_check(tmp_path):
    """``ignore: [EOS023]`` in the settings the checkpoints are checked with ignores it in the data check too."""
    from eos_guard.integrations.transformers import EosGuardCallback

    (tmp_path / ".eos-guard.yaml").write_text("ignore: [EOS023]\n", encoding="utf-8")
    callback = EosGuardCallback()
    trainer = lm_trainer(tokenizer_with(story.TERMINATOR), tmp_path / "out", 1, [callback], save_strategy="no")
    trainer.train()
    assert trainer.state.global_step == 1 and list(callback.data_report.findings()) == []


def test_a_mistake_in_the_settings_stops_training_before_the_first_step(tmp_path):
    """It was read at the first checkpoint only: a non-strict run died there, after the first save."""
    from eos_guard.errors import InputError
    from eos_guard.integrations.transformers import EosGuardCallback

    (tmp_path / ".eos-guard.yaml").write_text("fail_on: errr\n", encoding="utf-8")
    trainer = lm_trainer(tokenizer_with(story.BASE_EOS), tmp_path / "out", 2, [EosGuardCallback()], save_steps=1)
    with pytest.raises(InputError, match="unknown setting 'fail_on'"):
        trainer.train()
    assert trainer.state.global_step == 0


def test_the_pad_is_terminator_hint_is_left_out_when_the_data_trains_the_pad(tmp_path):
    """pad == eos with a collator that pads labels by position: the data check sees <|im_end|> trained, so the
    checkpoints' EOS013 ("a collator that masks padding by id masks every terminator") is left out; it stopped
    a strict fail_on="warning" run at the first save. Without the data check it is still raised to a warning."""
    from transformers import DataCollatorForSeq2Seq

    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = tokenizer_with(story.TERMINATOR)
    features = [{**f, "labels": list(f["input_ids"])} for f in story.tokenized_conversations(tokenizer)]

    def trainer(name, callback):
        return story.trainer_for(story.build_model(tokenizer), tokenizer, tmp_path / name, 1, callbacks=[callback],
                                 batch_size=4, dataset=features, data_collator=DataCollatorForSeq2Seq(tokenizer))

    checked = EosGuardCallback(strict=True, fail_on="warning")
    trainer("checked", checked).train()
    assert [f.code for f in checked.reports[tmp_path / "checked" / "checkpoint-1"].findings()] == []
    unchecked = EosGuardCallback(strict=True, fail_on="warning", check_data=False)
    with pytest.raises(EosGuardCheckError, match="EOS013 warning"):
        trainer("unchecked", unchecked).train()


def test_fail_on_warning_stops_on_truncated_sequences():
    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = tokenizer_with(story.BASE_EOS)
    features = story.tokenized_conversations(tokenizer)
    cut = [{"input_ids": f["input_ids"][:len(f["input_ids"]) - 5 if i >= 8 else None]} for i, f in enumerate(features)]
    model = story.build_model(tokenizer)
    report = EosGuardCallback().check_training_data(None, _loader(tokenizer, cut), model, tokenizer)
    assert [f.code for f in report.findings()] == ["EOS026"]  # a warning: logged, training goes on
    with pytest.raises(EosGuardCheckError, match="8 of 16 sequences"):
        EosGuardCallback(fail_on="warning").check_training_data(None, _loader(tokenizer, cut), model, tokenizer)


@pytest.mark.parametrize("settings, stopped", [("fail-on: warning\n", False), ("severity: {EOS026: error}\n", True)],
                         ids=["fail-on", "severity"])
def test_the_settings_severity_applies_to_the_data_check_and_their_fail_on_does_not(tmp_path, settings, stopped):
    """docs/training.md: the settings' severity applies to the training-data findings; their fail-on does not (the
    callback's fail_on argument decides): truncated sequences (EOS026, a warning) go on under fail-on: warning, and
    stop training before its first step once the settings make EOS026 an error."""
    from types import SimpleNamespace

    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = tokenizer_with(story.BASE_EOS)
    features = story.tokenized_conversations(tokenizer)
    cut = [{"input_ids": f["input_ids"][:len(f["input_ids"]) - 5 if i >= 8 else None]} for i, f in enumerate(features)]
    (tmp_path / ".eos-guard.yaml").write_text(settings, encoding="utf-8")
    callback = EosGuardCallback()
    args = SimpleNamespace(output_dir=str(tmp_path / "out"), train_batch_size=4)

    def begin():
        callback.on_train_begin(args, None, None, train_dataloader=_loader(tokenizer, cut),
                                model=story.build_model(tokenizer), processing_class=tokenizer)

    if stopped:
        with pytest.raises(EosGuardCheckError, match="EOS026 error"):
            begin()
    else:
        begin()
        assert [(f.code, str(f.severity)) for f in callback.data_report.findings()] == [("EOS026", "warning")]


def test_a_loader_without_automatic_batching_reads_each_item_as_a_batch():
    """``DataLoader(batch_size=None)``: the dataset's items are whole batches (made by the dataset itself)."""
    from torch.utils.data import DataLoader
    from transformers import DataCollatorForLanguageModeling

    from eos_guard.integrations.transformers import EosGuardCallback, first_batches

    tokenizer = tokenizer_with(story.TERMINATOR)
    features = story.tokenized_conversations(tokenizer)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    batches = [collator(features[i:i + 4]) for i in range(0, 16, 4)]
    loader = DataLoader(batches, batch_size=None)
    read = first_batches(loader, 8)
    assert len(read) == 4 and all((a["input_ids"] == b["input_ids"]).all() for a, b in zip(read, batches))
    report = EosGuardCallback(strict_data=False).check_training_data(None, loader, story.build_model(tokenizer),
                                                                     tokenizer)
    assert [f.code for f in report.findings()] == ["EOS023"]


# -- plain text under TRL's packing: blocks and pieces that end where packing put them -----------------------

QA_TEXT = " ".join(f"{q} {a}" for q, a in story.QA)


def _long_documents(*copies: int) -> list[dict]:
    """Plain-text documents, each the story's questions and answers ``copies`` times: longer than any block,
    with no bos; SFTTrainer appends the eos to each."""
    return [{"text": " ".join([QA_TEXT] * n)} for n in copies]


def _plain_texts() -> list[dict]:
    """One question and answer (10-14 tokens with the eos) or three (38-46), alternately."""
    return [{"text": " ".join(f"{q} {a}" for q, a in story.QA[i:i + k])} for i in range(8) for k in (1, 3)]


@pytest.mark.parametrize(("rows", "config", "from_the_batches"), [
    # one document in blocks of 32, the last one padded: one padded row (it was EOS026, "9 of 10 sequences (90%)")
    pytest.param(_long_documents(2), {"packing_strategy": "wrapped"}, [], id="one-document-wrapped"),
    # two documents, one a process: two padded rows beside full blocks that hold no stop id, which read as
    # examples cut at 32
    pytest.param(_long_documents(2, 2), {"packing_strategy": "wrapped", "dataset_num_proc": 2}, ["EOS026"],
                 id="two-documents-wrapped-two-shards"),
    # wrapped blocks flattened by the padding-free collator: each block a packed sequence as long as the longest
    pytest.param(_long_documents(2), {"packing_strategy": "wrapped", "padding_free": True}, ["EOS026"],
                 id="one-document-wrapped-padding-free"),
    # the texts longer than 24 split into pieces, which open with a word as every text does (it was EOS026,
    # "14 of 30 sequences (47%)")
    pytest.param(_plain_texts(), {"packing_strategy": "bfd_split", "max_length": 24}, ["EOS026"],
                 id="plain-text-bfd-split"),
    pytest.param(_plain_texts(), {"packing_strategy": "bfd_split", "max_length": 24, "pad_to_multiple_of": 64},
                 ["EOS026"], id="plain-text-bfd-split-padded-to-a-multiple"),
])
def test_sft_trainer_packing_plain_text_without_truncating_is_no_truncation(tmp_path, rows, config, from_the_batches):
    """The callback reads SFTConfig's ``packing_strategy`` and ``max_length``: a wrapped block or a bfd_split piece
    as long as max_length goes on in the next one. Read from the batches alone (``eos_guard.check_batch``
    without ``packing=``), plain text without a bos cannot always show it: ``from_the_batches`` is what that
    finds."""
    from eos_guard.integrations.transformers import EosGuardCallback, first_batches
    from eos_guard.rules import check_batches

    callback = EosGuardCallback()
    config = {"max_length": 32, **config}
    trainer = _sft_trainer(tmp_path, tokenizer_with(story.BASE_EOS), [callback], rows=rows, packing=True, **config)
    read = first_batches(trainer.get_train_dataloader(), callback.data_batches)
    if config["packing_strategy"] == "wrapped" and not config.get("padding_free"):
        assert sum(int((b["attention_mask"] == 0).any(dim=1).sum()) for b in read) == \
            config.get("dataset_num_proc", 1)  # a padded last block from each part
    assert [f.code for f in check_batches(read, [43, 45], 43)] == from_the_batches
    trainer.train()
    assert trainer.state.global_step == 1
    assert list(callback.data_report.findings()) == []


@pytest.mark.parametrize(("config", "share"), [
    pytest.param({"max_length": 24}, "8 of 16 sequences (50%)", id="padded"),
    # plain texts that mostly open with "what": it was no finding, read as bfd_split's pieces
    pytest.param({"packing": True, "max_length": 24}, "8 of 16 sequences (50%)", id="packed-bfd"),
    # one text a batch: no padding anywhere, but texts of different lengths (it was no finding: full rows that end
    # without a stop id read as blocks of concatenated text)
    pytest.param({"max_length": 24, "per_device_train_batch_size": 1}, "8 of 16 sequences (50%)",
                 id="one-text-a-batch"),
])
def test_sft_trainer_truncating_plain_text_is_reported(tmp_path, caplog, config, share):
    """The true positive beside the cases above: the texts longer than 24 cut at max_length (half of them; one text
    a batch reads all 16, at least 64 examples being read, where 8 batches read 8 and found 3)."""
    from eos_guard.integrations.transformers import EosGuardCallback

    callback = EosGuardCallback()
    trainer = _sft_trainer(tmp_path, tokenizer_with(story.BASE_EOS), [callback], rows=_plain_texts(), **config)
    with caplog.at_level("WARNING", logger="eos_guard"):
        trainer.train()  # a warning: logged, training goes on
    [finding] = callback.data_report.findings()
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning")
    assert finding.message.startswith(share)
    # below fail_on, not raised: where <batch N>:ROW leads is said too
    assert "eos-guard: the findings above are in " in caplog.text, caplog.text


def test_sft_trainer_conversations_without_a_terminator_of_one_length_are_no_truncation(tmp_path):
    """A chat template that writes no terminator, and three conversations that happen to be as long (20 tokens):
    read from the batch, each is as long as the longest and supervised to its last token, as truncation leaves
    them (EOS026, "raise max_length"). SFTConfig's max_length (1024) says nothing was cut: EOS024, "append the
    terminator", stops training."""
    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError, first_batches
    from eos_guard.rules import check_batches

    tokenizer = tokenizer_with(story.BASE_EOS)
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] + '\\n' + m['content'] + '\\n' }}{% endfor %}"
    conversations = [c for c in story.conversations()[:8]
                     if len(tokenizer.apply_chat_template(c, tokenize=True)["input_ids"]) == 20]
    assert len(conversations) == 3
    trainer = _sft_trainer(tmp_path, tokenizer, [EosGuardCallback()],
                           rows=[{"messages": c} for c in conversations])
    [batch] = first_batches(trainer.get_train_dataloader(), 1)
    assert batch["attention_mask"].all() and (batch["labels"] == batch["input_ids"]).all()
    [finding] = check_batches([batch], [43, 45], 43)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    with pytest.raises(EosGuardCheckError) as raised:
        trainer.train()
    assert trainer.state.global_step == 0
    assert [f.code for f in raised.value.report.findings()] == ["EOS024"]


@pytest.mark.parametrize("config", [
    pytest.param({"max_length": None}, id="padded"),
    pytest.param({"padding_free": True, "max_length": None}, id="padding-free"),  # TRL needs max_length=None there
])
def test_sft_trainer_without_max_length_truncates_nothing(tmp_path, config):
    """SFTConfig(max_length=None) without packing: SFTTrainer truncates nothing (trl 1.16, sft_trainer.py
    `if args.max_length is not None and not packing`), and padding_free=True without packing requires it. The
    three conversations of one length under a template that writes no terminator are EOS024, "append the
    terminator", which stops training (it was EOS026, "raise max_length or drop the examples that exceed it", a
    key that is not set)."""
    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = tokenizer_with(story.BASE_EOS)
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] + '\\n' + m['content'] + '\\n' }}{% endfor %}"
    conversations = [c for c in story.conversations()[:8]
                     if len(tokenizer.apply_chat_template(c, tokenize=True)["input_ids"]) == 20]
    trainer = _sft_trainer(tmp_path, tokenizer, [EosGuardCallback()],
                           rows=[{"messages": c} for c in conversations], **config)
    with pytest.raises(EosGuardCheckError) as raised:
        trainer.train()
    assert trainer.state.global_step == 0
    [finding] = raised.value.report.findings()
    assert finding.code == "EOS024" and "max_length" not in finding.message


@pytest.mark.parametrize("config", [
    pytest.param({}, id="max-length-1024"),
    pytest.param({"padding_free": True, "max_length": None}, id="padding-free-no-max-length"),
])
def test_sft_trainer_template_without_a_terminator_is_named_as_such(tmp_path, config):
    """A ChatML-like template that closes no turn with <|im_end|>: the stop id align() finds after the answer is the
    next turn's <|im_start|>, trained before each answer, so some stop id is supervised and the finding is EOS026,
    a warning. No conversation reaches SFTConfig's max_length (1024): the message names the missing terminator
    and its fix alone (it said "truncated at max_length, or missing the terminator; raise max_length")."""
    from eos_guard.align import stop_ids
    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = tokenizer_with(story.BASE_EOS)
    tokenizer.chat_template = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '\\n' }}"
                               "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    callback = EosGuardCallback()
    trainer = _sft_trainer(tmp_path, tokenizer, [callback], **config)
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") in stop_ids(trainer.model, tokenizer)
    trainer.train()  # a warning: logged, training goes on
    [finding] = callback.data_report.findings()
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning")
    assert finding.message.startswith("16 of 16 sequences (100%)")
    # without max_length SFTTrainer truncates nothing (it said "raise max_length or drop the examples that exceed it")
    why = "nothing was truncated (no max_length)" if "max_length" in config else \
        "none of them reaches max_length (1024 tokens), so truncation did not cut it"
    assert finding.message.endswith(f"{why}: the formatted text lacks the terminator; append the terminator (the "
                                    "chat template's, or tokenizer.eos_token) to every example")


@pytest.mark.parametrize("config", [
    pytest.param({}, id="max-length-1024"),
    pytest.param({"max_length": None}, id="no-max-length"),  # SFTTrainer truncates nothing: truncation=False
])
def test_sft_trainer_without_packing_on_blocks_the_caller_cut_is_no_truncation(tmp_path, config):
    """A data set passed already tokenized, as blocks of 32 cut from the concatenated documents (run_clm's
    group_texts: the remainder dropped), with SFTConfig's defaults (no packing, max_length 1024): SFTTrainer
    keeps the rows as they are, so the callback does not take them for examples because TRL did not pack
    (it reads only max_length from SFTConfig then): the full blocks, with the eos inside them, are no
    truncation."""
    from eos_guard.integrations.transformers import EosGuardCallback, first_batches
    from eos_guard.rules import check_batches

    tokenizer = tokenizer_with(story.BASE_EOS)
    eos = tokenizer.eos_token_id
    stream = [t for row in _plain_texts() for t in tokenizer(row["text"])["input_ids"] + [eos]]
    blocks = [{"input_ids": stream[i:i + 32]} for i in range(0, len(stream) - len(stream) % 32, 32)]
    callback = EosGuardCallback()
    trainer = _sft_trainer(tmp_path, tokenizer, [callback], rows=blocks, **config)
    read = first_batches(trainer.get_train_dataloader(), callback.data_batches)
    # what packing=False (every row an example) would say: each block cut at max_length
    assert [f.code for f in check_batches(read, [43, 45], 43, packing=False)] == ["EOS026"]
    trainer.train()
    assert trainer.state.global_step == 1
    assert list(callback.data_report.findings()) == []


def test_a_checkpoint_with_nothing_to_check_never_stops_training(tmp_path, caplog):
    """helper-133: a LoRA run whose Trainer has no processing_class saves checkpoints that hold the adapter alone
    (adapter_config.json and its weights): the check raised "holds no model folder" out of on_save and killed the
    run, strict or not. And a checkpoint the settings' exclude leaves out was said to pass all checks."""
    import logging
    import shutil

    from eos_guard.integrations.transformers import EosGuardCallback

    adapter = tmp_path / "out" / "checkpoint-1"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}), encoding="utf-8")
    (adapter / "adapter_model.safetensors").write_bytes(b"")
    callback = EosGuardCallback(strict=True)
    with caplog.at_level(logging.INFO, logger="eos_guard"):
        for _ in range(2):
            assert list(callback.check(adapter).findings()) == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "eos_guard"]
    assert len(warnings) == 1 and "a PEFT adapter without tokenizer files" in warnings[0], warnings
    assert warnings[0].endswith("; not checked")

    caplog.clear()
    (tmp_path / ".eos-guard.yaml").write_text('exclude: ["outputs/**"]\n', encoding="utf-8")
    checkpoint = tmp_path / "outputs" / "run1" / "checkpoint-2"
    shutil.copytree(Path(__file__).parents[2] / "examples" / "chatml-finetune-broken", checkpoint)
    with caplog.at_level(logging.INFO, logger="eos_guard"):
        report = callback.check(checkpoint)
    assert report.models == [] and report.excluded == 1
    assert [r.getMessage() for r in caplog.records if r.name == "eos_guard"] == [
        f"eos-guard: {checkpoint}: not checked: the settings' exclude leaves it out"]
