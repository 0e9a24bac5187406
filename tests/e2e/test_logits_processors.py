"""Which generation-config keys keep a stop id from ever being sampled, with transformers' own logits processors
as the oracle (they need torch): eos-guard's transformers verdict (``runtimes.transformers.BANNING_KEYS``, EOS012)
counts ``suppress_tokens``, and a ``sequence_bias`` of ``BANNING_BIAS`` or lower for the id alone; and where
``from_pretrained`` takes them from when a folder has no generation_config.json."""

from __future__ import annotations


import pytest

from support import require

pytestmark = pytest.mark.e2e

require("torch", "transformers")

import torch  # noqa: E402
from transformers.generation.logits_process import (  # noqa: E402
    NoBadWordsLogitsProcessor,
    SequenceBiasLogitsProcessor,
    SuppressTokensAtBeginLogitsProcessor,
    SuppressTokensLogitsProcessor,
)

from eos_guard.pipeline import check_folder  # noqa: E402
from eos_guard.runtimes.transformers import BANNING_BIAS, BANNING_KEYS  # noqa: E402

EOS, VOCAB = 5, 8


def _banned_at(processor, length: int) -> bool:
    """Whether the processor makes the eos impossible after a prompt of ``length`` tokens."""
    scores = processor(torch.zeros((1, length), dtype=torch.long), torch.zeros((1, VOCAB)))
    return bool(torch.isinf(scores[0, EOS]) and scores[0, EOS] < 0)


def test_only_suppress_tokens_bans_a_stop_id_at_every_step():
    processors = {
        "suppress_tokens": SuppressTokensLogitsProcessor([EOS]),
        "begin_suppress_tokens": SuppressTokensAtBeginLogitsProcessor([EOS], begin_index=3),
        "bad_words_ids": NoBadWordsLogitsProcessor([[EOS], [2, EOS]], eos_token_id=[EOS]),
    }
    every_step = {key for key, processor in processors.items()
                  if all(_banned_at(processor, length) for length in (3, 4, 9))}
    assert every_step == set(BANNING_KEYS) == {"suppress_tokens"}
    assert _banned_at(processors["begin_suppress_tokens"], 3)  # the first generated token only


def _probability(processor, eos_score: float) -> float:
    """The eos's probability after the processor, its score ``eos_score`` above every other id's (greedy decoding
    would pick it); float32, as generate() samples."""
    scores = torch.zeros((1, VOCAB))
    scores[0, EOS] = eos_score
    return float(torch.softmax(processor(torch.zeros((1, 4), dtype=torch.long), scores), dim=-1)[0, EOS])


@pytest.mark.parametrize(("bias", "banned"), [(float("-inf"), True), (-1e39, True), (BANNING_BIAS, True),
                                              (-50.0, False)])
def test_a_sequence_bias_this_low_leaves_the_stop_id_no_probability(bias, banned):
    """Even with the eos's score 100 above every other id's (a model sure it is done), a bias of BANNING_BIAS or
    lower leaves it a probability of exactly 0 at every step; -50 does not."""
    processor = SequenceBiasLogitsProcessor([[[EOS], bias]])
    assert (_probability(processor, 100.0) == 0.0) is banned
    # the list becomes a dict: a later entry for the same id replaces the bias
    assert _probability(SequenceBiasLogitsProcessor([[[EOS], bias], [[EOS], 0.0]]), 100.0) > 0.5


def test_from_pretrained_takes_the_banning_keys_from_config_json_without_a_generation_config(tmp_path):
    """A Qwen2 folder without generation_config.json whose config.json holds suppress_tokens: from_pretrained's
    generation config has them (adjust_generation_fn), and generate() never writes the eos even where the model
    would; eos-guard says it never samples that stop id (EOS012). The config object's own generation config, which
    keeps suppress_tokens for Whisper only, is replaced."""
    import json

    from transformers import AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, eos_token_id=EOS)
    folder = tmp_path / "m"
    Qwen2ForCausalLM(config).save_pretrained(folder)
    (folder / "generation_config.json").unlink(missing_ok=True)
    data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").write_text(json.dumps({**data, "suppress_tokens": [EOS]}), encoding="utf-8")
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.generation_config.suppress_tokens == [EOS]
    with torch.no_grad():  # a model that writes the eos first, greedily
        model.lm_head.weight.zero_()
        model.lm_head.weight[EOS] = 10.0
    written = model.generate(torch.tensor([[1, 2]]), max_new_tokens=4, do_sample=False)[0, 2:].tolist()
    assert EOS not in written and len(written) == 4
    report = check_folder(folder)  # no tokenizer: no answer's end to judge, but the stop id is never sampled
    assert [i for i, _, _ in report.model.runtime_stops["transformers"].never_samples] == [EOS]
    assert [f.code for f in report.findings if f.code == "EOS012"] == ["EOS012"]
