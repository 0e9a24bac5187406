"""Which generation-config keys keep a stop id from ever being sampled, with transformers' own logits processors
as the oracle (they need torch): eos-guard's transformers verdict (``runtimes.transformers.BANNING_KEYS``, EOS012)
counts ``suppress_tokens`` only."""

from __future__ import annotations


import pytest

from support import require

pytestmark = pytest.mark.e2e

require("torch", "transformers")

import torch  # noqa: E402
from transformers.generation.logits_process import (  # noqa: E402
    NoBadWordsLogitsProcessor,
    SuppressTokensAtBeginLogitsProcessor,
    SuppressTokensLogitsProcessor,
)

from eos_guard.runtimes.transformers import BANNING_KEYS  # noqa: E402

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
