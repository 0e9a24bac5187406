"""A model whose generate() runs the generate() of a model inside it stops on that inner model's generation config
(``resolve.GENERATING_SECTIONS``): Qwen2.5-Omni's thinker, built from config.json's ``thinker_config``. A tiny
Qwen2.5-Omni (the real transformers classes, random weights) is saved, and generation runs as users run it
(``from_pretrained``, then ``generate(generation_mode="text")``): an eos in generation_config.json alone never stops
it, one in ``thinker_config`` does, and eos-guard's transformers verdict reads the same place."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import require

pytestmark = pytest.mark.e2e

require("torch", "transformers")

PROMPT = [1, 10, 11, 12]
ROPE = {"mrope_section": [2, 3, 3], "rope_type": "default", "type": "default"}
GENERATED = 6


@pytest.fixture(scope="module")
def omni(tmp_path_factory) -> tuple[Path, list[int]]:
    """A saved tiny Qwen2.5-Omni (talker and token2wav included: generate() reads the talker even for text), with
    the tokens it writes greedily after PROMPT when nothing stops it (thinker eos 7, which it never writes)."""
    import torch
    from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

    config = Qwen2_5OmniConfig(
        enable_audio_output=True,
        thinker_config=dict(
            text_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_key_value_heads=1,
                             num_hidden_layers=1, vocab_size=300, rope_scaling=ROPE),
            vision_config=dict(depth=1, hidden_size=16, num_heads=2, intermediate_size=32, out_hidden_size=32,
                               fullatt_block_indexes=[0]),
            audio_config=dict(d_model=16, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=32,
                              output_dim=32, num_mel_bins=8),
            eos_token_id=7, pad_token_id=0, bos_token_id=1, vision_start_token_id=290, vision_end_token_id=291,
            audio_token_index=292, image_token_index=293, video_token_index=294),
        talker_config=dict(embedding_size=32, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=16, rope_scaling=ROPE),
        token2wav_config=dict(
            dit_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, emb_dim=16, head_dim=16,
                            look_ahead_layers=[1], look_backward_layers=[0], enc_emb_dim=16, enc_dim=16,
                            enc_channels=[16, 16, 16, 16, 48], enc_attention_channels=8, enc_se_channels=8),
            bigvgan_config=dict(upsample_initial_channel=32)))
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("omni") / "qwen25-omni-tiny"
    Qwen2_5OmniForConditionalGeneration(config).save_pretrained(folder)
    torch.save({"Chelsie": {}}, folder / "spk_dict.pt")  # from_pretrained loads the speakers
    free = _generate(folder)
    assert 7 not in free and len(free) == GENERATED
    return folder, free


def _generate(folder: Path) -> list[int]:
    import torch
    from transformers import Qwen2_5OmniForConditionalGeneration

    model = Qwen2_5OmniForConditionalGeneration.from_pretrained(folder)
    out = model.generate(input_ids=torch.tensor([PROMPT]), generation_mode="text", thinker_max_new_tokens=GENERATED,
                         thinker_do_sample=False)
    return out[0].tolist()[len(PROMPT):]


def _set(folder: Path, thinker_eos: int, generation_eos: list[int]) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["thinker_config"]["eos_token_id"] = thinker_eos
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": generation_eos}))


def _transformers_stop_ids(folder: Path) -> list[int]:
    result = subprocess.run([sys.executable, "-m", "eos_guard", "explain", "--format", "json", "--no-cache",
                             str(folder)], capture_output=True, text=True, check=True)
    [row] = [r for r in json.loads(result.stdout)["models"][0]["runtimes"] if r["runtime"] == "transformers"]
    return row["stop_ids"]


@pytest.mark.parametrize("where", ["generation_config.json", "thinker_config"])
def test_the_thinker_stops_on_its_own_config_and_eos_guard_reads_it(omni, tmp_path, where):
    folder, free = omni
    folder = Path(shutil.copytree(folder, tmp_path / "m"))
    first = free[0]
    if where == "generation_config.json":
        _set(folder, 7, [first])  # the outer model's config: generate() never reads it
        assert _generate(folder) == free
        assert _transformers_stop_ids(folder) == [7]
    else:
        _set(folder, first, [5])
        assert _generate(folder) == [first]
        assert _transformers_stop_ids(folder) == [first]


def test_blip_2_stops_on_its_text_config_and_eos_guard_reads_it(tmp_path):
    """BLIP-2's generate() runs its language model's: a tiny BLIP-2 (the real classes, random weights) saved, then
    loaded as users load it, with generation_config.json saying 7 and text_config 50. Forced to write 10, 7, 11,
    50, ..., it runs past 7 and stops after 50; eos-guard's transformers stop ids are [50]."""
    import torch
    from transformers import (Blip2Config, Blip2ForConditionalGeneration, Blip2QFormerConfig, Blip2VisionConfig,
                              LogitsProcessor, LogitsProcessorList, OPTConfig)

    vision = Blip2VisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                               image_size=30, patch_size=15)
    qformer = Blip2QFormerConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                 encoder_hidden_size=16, vocab_size=50)
    text = OPTConfig(vocab_size=100, hidden_size=16, ffn_dim=32, num_hidden_layers=1, num_attention_heads=2,
                     word_embed_proj_dim=16, eos_token_id=50, bos_token_id=2, pad_token_id=1)
    config = Blip2Config(vision_config=vision.to_dict(), qformer_config=qformer.to_dict(), text_config=text.to_dict(),
                         num_query_tokens=2, image_token_index=99)
    torch.manual_seed(0)
    folder = tmp_path / "blip2-tiny"
    Blip2ForConditionalGeneration(config).save_pretrained(folder)
    (folder / "generation_config.json").write_text(json.dumps({"bos_token_id": 2, "eos_token_id": 7,
                                                               "pad_token_id": 1}))

    class Forced(LogitsProcessor):
        def __init__(self, tokens):
            self.tokens, self.step = tokens, 0

        def __call__(self, ids, scores):
            token = self.tokens[min(self.step, len(self.tokens) - 1)]
            self.step += 1
            forced = torch.full_like(scores, -1e9)
            forced[:, token] = 0
            return forced

    model = Blip2ForConditionalGeneration.from_pretrained(folder)
    prompt = [99, 99, 2, 5]
    out = model.generate(pixel_values=torch.randn(1, 3, 30, 30), input_ids=torch.tensor([prompt]), max_new_tokens=6,
                         do_sample=False, logits_processor=LogitsProcessorList([Forced([10, 7, 11, 50, 12, 13])]))
    assert out[0].tolist()[-4:] == [10, 7, 11, 50]
    assert _transformers_stop_ids(folder) == [50]
