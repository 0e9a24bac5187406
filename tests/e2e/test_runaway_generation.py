"""The runaway-generation story, end to end, with the real transformers pipeline, Trainer and eos-guard CLI.

A tiny Llama is trained on CPU until every greedy answer ends with ``<|im_end|>`` (module-scoped fixture,
shared by the tests). Saved as a broken SFT script saves it, ``pipeline("text-generation")`` runs every answer
to ``max_new_tokens``; ``eos-guard`` names generation_config.json's line; ``eos-guard --fix`` makes it stop
right after ``<|im_end|>``. The same training in a ``transformers.Trainer`` with ``EosGuardCallback`` saves
folders that are clean from the start. The model-building code lives in examples/runaway_generation.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from support import require

pytestmark = pytest.mark.e2e

require("torch", "transformers", "tokenizers", "accelerate", needing="the e2e tests need")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "runaway_generation.py"


def _load_story():
    spec = importlib.util.spec_from_file_location("runaway_generation", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


story = _load_story()
QUESTIONS = [q for q, _ in story.QA]
ANSWERS = dict(story.QA)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One thread: as fast as two for a model this small, deterministic, and 3-4x faster than two when the
    machine's two cores are busy with something else (OpenMP workers then wait on each other)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trained(one_torch_thread):
    """The toy model trained until every greedy answer ends with <|im_end|> (seeded, CPU, full batch)."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tokenizer = story.build_tokenizer()
    model = story.build_model(tokenizer)
    steps = story.train(model, tokenizer)
    return SimpleNamespace(model=model, tokenizer=tokenizer, steps=steps,
                           base_eos=tokenizer.convert_tokens_to_ids(story.BASE_EOS),
                           im_end=tokenizer.convert_tokens_to_ids(story.TERMINATOR))


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_the_trained_model_ends_its_answers_with_im_end(trained):
    for answer in story.greedy_answers(trained.model, trained.tokenizer):
        assert answer.text.startswith(ANSWERS[answer.question] + story.TERMINATOR), answer


def test_broken_save_runs_away_and_eos_guard_fix_makes_it_stop(trained, tmp_path):
    folder = tmp_path / "sft-broken"
    story.save_like_a_broken_sft_script(trained.model, trained.tokenizer, folder)
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == trained.base_eos

    # The real pipeline, chat input: the model writes its answer and <|im_end|>, then carries on.
    for run in story.pipeline_generate(folder, QUESTIONS):
        assert run.ran_away and len(run.new_ids) == story.MAX_NEW_TOKENS, run
        assert run.text.startswith(ANSWERS[run.question] + story.TERMINATOR), run
        assert trained.im_end in run.new_ids and trained.base_eos not in run.new_ids
        assert run.content != ANSWERS[run.question]

    # The CLI names the line of generation_config.json that generate() reads.
    result = story.eos_guard_cli("sft-broken", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    line = _line_of(folder / "generation_config.json", '"eos_token_id"')
    eos001 = [x for x in result.stdout.splitlines() if " EOS001 " in x]
    assert len(eos001) == 1 and eos001[0].startswith(f"sft-broken/generation_config.json:{line}:"), result.stdout
    assert f"add {trained.im_end}" in eos001[0]

    result = story.eos_guard_cli("--fix", "sft-broken", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr  # pre-commit style: files were changed
    assert "Fixing sft-broken/generation_config.json" in result.stderr
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == [trained.base_eos,
                                                                                        trained.im_end]
    # config.json's scalar lacked the tokenizer's eos: add-only, it keeps the base eos first
    assert json.loads((folder / "config.json").read_text())["eos_token_id"] == [trained.base_eos, trained.im_end]
    assert story.eos_guard_cli("sft-broken", cwd=tmp_path).returncode == 0

    # Reloaded, the same pipeline call stops right after <|im_end|>, and the message is the answer.
    for run in story.pipeline_generate(folder, QUESTIONS):
        answer_ids = trained.tokenizer.encode(ANSWERS[run.question], add_special_tokens=False)
        assert run.new_ids == answer_ids + [trained.im_end], run
        assert len(run.new_ids) < story.MAX_NEW_TOKENS and not run.ran_away
        assert run.content == ANSWERS[run.question]


def test_trainer_alone_leaves_a_qwen_base_tokenizer_broken(trained, tmp_path):
    """Control: transformers' own align_special_tokens (run by Trainer.train) adds the tokenizer's eos only,
    so with a base tokenizer whose eos is <|endoftext|> the ChatML terminator never becomes a stop id."""
    from eos_guard.integrations.transformers import EosGuardCallback, EosGuardCheckError

    tokenizer = story.build_tokenizer(eos_token=story.BASE_EOS)
    check_only = EosGuardCallback(strict=True, align_model=False)
    trainer = story.trainer_for(story.build_model(tokenizer), tokenizer, tmp_path / "out", steps=1,
                                callbacks=[check_only])
    with pytest.raises(EosGuardCheckError) as raised:
        trainer.train()
    checkpoint = tmp_path / "out" / "checkpoint-1"
    assert "EOS001" in [f.code for f in raised.value.report.findings()]
    result = story.eos_guard_cli("out/checkpoint-1", cwd=tmp_path)
    assert result.returncode == 1 and "out/checkpoint-1/generation_config.json" in result.stdout
    assert json.loads((checkpoint / "generation_config.json").read_text())["eos_token_id"] == trained.base_eos


def test_trainer_with_eos_guard_callback_saves_clean_folders(trained, tmp_path):
    from eos_guard.integrations.transformers import EosGuardCallback

    tokenizer = story.build_tokenizer(eos_token=story.BASE_EOS)  # Qwen2.5 base: eos <|endoftext|>
    model = story.build_model(tokenizer)
    assert model.generation_config.eos_token_id == trained.base_eos  # broken for a ChatML template
    callback = EosGuardCallback(strict=True)
    half = trained.steps // 2
    trainer = story.trainer_for(model, tokenizer, tmp_path / "out", steps=trained.steps, save_steps=half,
                                callbacks=[callback])
    trainer.train()

    assert callback.changes == [{"generation_config.eos_token_id": (trained.base_eos,
                                                                     [trained.base_eos, trained.im_end])}]
    checkpoints = [tmp_path / "out" / f"checkpoint-{n}" for n in (half, trained.steps)]
    assert list(callback.reports) == checkpoints
    for checkpoint in checkpoints:
        assert list(callback.reports[checkpoint].findings()) == []
        result = story.eos_guard_cli(str(checkpoint.relative_to(tmp_path)), cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads((checkpoint / "generation_config.json").read_text())["eos_token_id"] == [
            trained.base_eos, trained.im_end]

    # The final save_model() folder: aligned by on_train_end; checked on request.
    final = tmp_path / "final"
    trainer.save_model(str(final))
    assert story.eos_guard_cli("final", cwd=tmp_path).returncode == 0
    assert list(callback.check(final).findings()) == []

    # And it is the same training: the Trainer's model answers and stops, through the real pipeline.
    for run in story.pipeline_generate(checkpoints[-1], QUESTIONS):
        assert run.new_ids[-1] == trained.im_end and not run.ran_away, run
        assert run.content == ANSWERS[run.question]


@pytest.mark.parametrize("save_strategy", ["steps", "epoch"])
def test_the_callback_aligns_before_each_checkpoint_is_written(trained, tmp_path, save_strategy):
    """Which hooks run before the files are written, checked on the real Trainer: a callback listed before
    EosGuardCallback breaks generation_config at every step end, epoch end and save, as a script resetting it
    would. Every checkpoint and the final save_model() folder are still clean, so on_step_end/on_epoch_end
    (with should_save) run before _save_checkpoint, and on_train_end before the script's save_model()."""
    from transformers import TrainerCallback

    from eos_guard.integrations.transformers import EosGuardCallback

    class Saboteur(TrainerCallback):
        def _break(self, model, **kwargs):
            model.generation_config.eos_token_id = trained.base_eos

        def on_step_end(self, args, state, control, **kwargs):
            self._break(**kwargs)

        def on_epoch_end(self, args, state, control, **kwargs):
            self._break(**kwargs)

        def on_save(self, args, state, control, **kwargs):
            self._break(**kwargs)

    tokenizer = story.build_tokenizer(eos_token=story.BASE_EOS)
    callback = EosGuardCallback(strict=True)  # raises in on_save if a checkpoint has an error
    trainer = story.trainer_for(story.build_model(tokenizer), tokenizer, tmp_path / "out", steps=3, save_steps=1,
                                save_strategy=save_strategy, callbacks=[Saboteur(), callback])
    trainer.train()
    assert [p.name for p in callback.reports] == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]
    assert len(callback.changes) == 3 + 1 + 1  # before each save, at the start, at the end
    assert trainer.model.generation_config.eos_token_id == [trained.base_eos, trained.im_end]
    trainer.save_model(str(tmp_path / "final"))
    assert list(callback.check(tmp_path / "final").findings()) == []
