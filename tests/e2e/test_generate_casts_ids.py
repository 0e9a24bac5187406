"""generate() itself as the oracle for an eos_token_id that is no JSON integer in generation_config.json (helper-168):
transformers builds its stop tensor with ``torch.tensor(..., dtype=torch.long)``, which cuts a float to its integer
part and makes a bool 0 or 1; a string makes it raise. eos-guard's transformers verdict (resolve's
``_cast_as_generate_does``) must stop on the same ids, and EOS007 still reports the value."""

from __future__ import annotations

import json

import pytest

from support import require

pytestmark = pytest.mark.e2e

require("torch", "transformers")

import torch  # noqa: E402

from eos_guard.pipeline import check_folder  # noqa: E402

EOS, OTHER, VOCAB = 5, 7, 64


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, eos_token_id=OTHER)
    path = tmp_path_factory.mktemp("cast") / "m"
    Qwen2ForCausalLM(config).save_pretrained(path)
    return path


def _stops_on_eos(folder) -> bool:
    """Whether generate() ends after the model writes EOS (a logits processor makes it write EOS at every step)."""
    from transformers import AutoModelForCausalLM, LogitsProcessor, LogitsProcessorList

    class WriteEos(LogitsProcessor):
        def __call__(self, input_ids, scores):
            forced = torch.full_like(scores, -1e9)
            forced[:, EOS] = 0.0
            return forced

    model = AutoModelForCausalLM.from_pretrained(folder)
    written = model.generate(torch.tensor([[1, 2]]), max_new_tokens=4, do_sample=False,
                             logits_processor=LogitsProcessorList([WriteEos()]))[0, 2:].tolist()
    assert set(written) == {EOS}
    return len(written) == 1


@pytest.mark.parametrize("value", [[EOS + 0.0, OTHER], EOS + 0.0, [EOS + 0.7], [True], True, [EOS + 0.0, -1], [OTHER],
                                   [EOS]])
def test_eos_guard_stops_where_generate_casts_the_value_to_the_id(folder, value):
    (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": value}), encoding="utf-8")
    expected = _stops_on_eos(folder)
    report = check_folder(folder)
    assert (EOS in report.model.runtime_stops["transformers"].ids) is expected
    assert expected is (value not in ([True], True, [OTHER]))
    invalid = [f for f in report.findings if f.code == "EOS007"]
    assert bool(invalid) is (value not in ([OTHER], [EOS])), [f.message for f in report.findings]
