"""A fine-tune that never stops talking, and the fix: the whole story on a tiny model trained here on CPU.

    python examples/runaway_generation.py [--workdir DIR]

1. Build a tiny Llama-architecture model and a ChatML tokenizer in code (nothing is downloaded).
2. Train it until every greedy answer ends with ``<|im_end|>``.
3. Save it as a broken SFT script does: the tokenizer's eos is ``<|im_end|>``, but generation_config.json still
   stops on the base model's eos ``<|endoftext|>``. ``transformers.pipeline("text-generation")`` then runs
   every answer to ``max_new_tokens``: the model closes its turn and goes on writing the user's next one.
4. ``eos-guard`` names the line; ``eos-guard --fix`` adds ``<|im_end|>``; the pipeline stops after the answer.
5. The same training run in a ``transformers.Trainer`` with ``EosGuardCallback`` saves clean checkpoints.

Needs torch, transformers (with accelerate, for the Trainer) and tokenizers. tests/e2e imports this file for
its model-building functions, so the test and this story share one toy model.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

SEED = 1234
MAX_NEW_TOKENS = 40
BASE_EOS = "<|endoftext|>"
TERMINATOR = "<|im_end|>"
SPECIAL_TOKENS = (BASE_EOS, "<|im_start|>", TERMINATOR)

# A ChatML template as Qwen2.5 ships it, without the system-prompt and tool branches.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

QA = [
    ("what color is the sky?", "the sky is blue."),
    ("what color is grass?", "grass is green."),
    ("how many legs does a cat have?", "a cat has four legs."),
    ("what do bees make?", "bees make honey."),
    ("where do fish live?", "fish live in water."),
    ("what is two plus two?", "two plus two is four."),
    ("what do cows eat?", "cows eat grass."),
    ("when do owls hunt?", "owls hunt at night."),
]
TOKEN_PATTERN = r"\w+|[^\w\s]+|\s"


# ---------------------------------------------------------------------------------------------------------
# The toy tokenizer, data and model
# ---------------------------------------------------------------------------------------------------------

def build_tokenizer(eos_token: str = TERMINATOR) -> Any:
    """A word-level ChatML tokenizer (``tokenizers`` library) wrapped in transformers' fast tokenizer.

    Words, punctuation, ``" "`` and ``"\\n"`` are tokens, so decoding gives back the exact text; the three
    ChatML tokens are added special tokens, as in Qwen's tokenizer. ``pad_token`` is ``<|endoftext|>``.
    """
    import re

    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<unk>", "system", "user", "assistant", " ", "\n"]
    for question, answer in QA:
        for piece in re.findall(TOKEN_PATTERN, question + " " + answer):
            if piece not in words:
                words.append(piece)
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(TOKEN_PATTERN), behavior="isolated")
    backend.decoder = decoders.Fuse()
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token=eos_token, pad_token=BASE_EOS,
                                        unk_token="<unk>")
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def conversations() -> list[list[dict[str, str]]]:
    """Every question once alone and once followed by the next one: the model learns what a user turn
    looks like, so nothing stops it from writing one when generation does not stop at ``<|im_end|>``."""
    single = [[{"role": "user", "content": q}, {"role": "assistant", "content": a}] for q, a in QA]
    double = []
    for i, (q, a) in enumerate(QA):
        q2, a2 = QA[(i + 1) % len(QA)]
        double.append([{"role": "user", "content": q}, {"role": "assistant", "content": a},
                       {"role": "user", "content": q2}, {"role": "assistant", "content": a2}])
    return single + double


def training_batch(tokenizer: Any) -> dict[str, Any]:
    """All conversations, right-padded, with the loss on every real token."""
    import torch

    rows = [_ids(tokenizer.apply_chat_template(c, tokenize=True)) for c in conversations()]
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        input_ids[i, :len(row)] = torch.tensor(row)
        attention_mask[i, :len(row)] = 1
    labels = input_ids.masked_fill(attention_mask == 0, -100)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def build_model(tokenizer: Any, seed: int = SEED) -> Any:
    """A 2-layer, 64-wide Llama whose configs stop on the base model's eos ``<|endoftext|>``."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    base_eos = tokenizer.convert_tokens_to_ids(BASE_EOS)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=4, intermediate_size=128, max_position_embeddings=128,
                         tie_word_embeddings=True, bos_token_id=None, eos_token_id=base_eos, pad_token_id=base_eos)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=base_eos, pad_token_id=base_eos)
    return model


@dataclass
class Answer:
    """One greedy generation: the new token ids, and how they decode."""

    question: str
    new_ids: list[int]
    text: str           # special tokens kept
    content: str        # what pipeline() returns as the assistant message (special tokens skipped)


def greedy_answers(model: Any, tokenizer: Any, max_new_tokens: int = 12) -> list[Answer]:
    """Greedy continuations of every single-question prompt, with the model's own generation_config."""
    import torch

    answers = []
    model.eval()
    with torch.no_grad():
        for question, _ in QA:
            prompt = _ids(tokenizer.apply_chat_template([{"role": "user", "content": question}],
                                                        add_generation_prompt=True, tokenize=True))
            out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                                 max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=[],
                                 pad_token_id=tokenizer.pad_token_id)
            new = out[0, len(prompt):].tolist()
            answers.append(Answer(question, new, tokenizer.decode(new),
                                  tokenizer.decode(new, skip_special_tokens=True)))
    model.train()
    return answers


def answers_end_with_terminator(model: Any, tokenizer: Any) -> bool:
    """Whether every greedy answer is exactly the trained answer followed by ``<|im_end|>``."""
    expected = {q: a + TERMINATOR for q, a in QA}
    return all(a.text.startswith(expected[a.question]) for a in greedy_answers(model, tokenizer))


def train(model: Any, tokenizer: Any, max_steps: int = 400, check_every: int = 20, lr: float = 3e-3) -> int:
    """Full-batch AdamW until every greedy answer ends with ``<|im_end|>``; returns the steps taken."""
    import torch

    batch = training_batch(tokenizer)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    for step in range(1, max_steps + 1):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % check_every == 0 and answers_end_with_terminator(model, tokenizer):
            return step
    raise RuntimeError(f"the toy model did not learn to end its answers with {TERMINATOR} in {max_steps} steps")


def save_like_a_broken_sft_script(model: Any, tokenizer: Any, folder: Path) -> None:
    """The tokenizer says ``<|im_end|>`` is the eos; generation_config.json still stops on ``<|endoftext|>``
    (and config.json's eos_token_id is the base model's too): what a custom training loop saves when nobody
    updates the model's configs."""
    assert tokenizer.eos_token == TERMINATOR
    assert model.generation_config.eos_token_id == tokenizer.convert_tokens_to_ids(BASE_EOS)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


class TrainingDataset:
    """The training batch as a map-style dataset for ``transformers.Trainer`` (one full batch a step)."""

    def __init__(self, tokenizer: Any) -> None:
        self.batch = training_batch(tokenizer)

    def __len__(self) -> int:
        return self.batch["input_ids"].shape[0]

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {key: value[i] for key, value in self.batch.items()}


def tokenized_conversations(tokenizer: Any) -> list[dict[str, list[int]]]:
    """Every conversation as ``{"input_ids": [...]}``, for a data collator to pad and label."""
    return [{"input_ids": _ids(tokenizer.apply_chat_template(c, tokenize=True))} for c in conversations()]


def trainer_for(model: Any, tokenizer: Any, output_dir: Path, steps: int, callbacks: list | None = None,
                save_steps: int | None = None, save_strategy: str = "steps", lr: float = 3e-3,
                dataset: Any = None, data_collator: Any = None, batch_size: int | None = None,
                **arguments: Any) -> Any:
    """A ``transformers.Trainer`` running the same training as :func:`train`: full batch, AdamW, constant lr,
    no gradient clipping, CPU; checkpoints every ``save_steps`` (default: only at the last step), or every
    epoch (one step: the whole data set is one batch) with ``save_strategy="epoch"``. ``dataset`` and
    ``data_collator`` replace the ready-made batch (:class:`TrainingDataset`); ``arguments`` are more
    ``TrainingArguments``."""
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    dataset = TrainingDataset(tokenizer) if dataset is None else dataset
    args = TrainingArguments(
        output_dir=str(output_dir), max_steps=steps, per_device_train_batch_size=batch_size or len(dataset),
        learning_rate=lr,
        weight_decay=0.0, lr_scheduler_type="constant", warmup_steps=0, max_grad_norm=0.0, seed=SEED,
        save_strategy=save_strategy, save_steps=save_steps or steps, save_only_model=True, logging_strategy="no",
        report_to="none", use_cpu=True, dataloader_num_workers=0, disable_tqdm=True, **arguments)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=callbacks,
                      data_collator=data_collator)
    trainer.remove_callback(PrinterCallback)  # it prints the metrics dict; the story prints what matters
    return trainer


# ---------------------------------------------------------------------------------------------------------
# Generating with the real pipeline, and running the real CLI
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Generation:
    question: str
    new_ids: list[int]
    text: str        # the new tokens, special tokens kept
    content: str     # the assistant message pipeline() returns
    max_new_tokens: int

    @property
    def ran_away(self) -> bool:
        return len(self.new_ids) >= self.max_new_tokens


def pipeline_generate(folder: Path, questions: list[str], max_new_tokens: int = MAX_NEW_TOKENS) -> list[Generation]:
    """Load ``folder`` with ``transformers.pipeline("text-generation")`` and answer each question (one user
    message) greedily, as a chat: the pipeline applies the chat template and stops on generation_config's ids."""
    from transformers import pipeline

    generator = pipeline("text-generation", model=str(folder), device="cpu")
    results = []
    for question in questions:
        chat = [{"role": "user", "content": question}]
        [reply] = generator(chat, max_new_tokens=max_new_tokens, do_sample=False)
        [tensors] = generator(chat, max_new_tokens=max_new_tokens, do_sample=False, return_tensors=True)
        prompt = _ids(generator.tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True))
        sequence = list(tensors["generated_token_ids"])
        assert sequence[:len(prompt)] == prompt
        new = sequence[len(prompt):]
        results.append(Generation(question, new, generator.tokenizer.decode(new),
                                  reply["generated_text"][-1]["content"], max_new_tokens))
    return results


def eos_guard_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed ``eos-guard`` command (``python -m eos_guard`` when the script is not on PATH)."""
    script = shutil.which("eos-guard", path=str(Path(sys.executable).parent)) or shutil.which("eos-guard")
    command = [script] if script else [sys.executable, "-m", "eos_guard"]
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def _ids(encoded: Any) -> list[int]:
    """``apply_chat_template(tokenize=True)`` returns a BatchEncoding in transformers 5, a list in 4.x."""
    if hasattr(encoded, "keys"):
        encoded = encoded["input_ids"]
    return list(encoded)


# ---------------------------------------------------------------------------------------------------------
# The story
# ---------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where to save the models (default: a temporary folder)")
    options = parser.parse_args(argv)
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="eos-guard-runaway-"))
    workdir.mkdir(parents=True, exist_ok=True)

    import logging

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(1)  # a model this small runs as fast on one thread, and much faster on a busy machine
    started = time.monotonic()
    question, expected = QA[0]

    print("== 1. Train a tiny ChatML model on CPU")
    tokenizer = build_tokenizer()
    model = build_model(tokenizer)
    steps = train(model, tokenizer)
    print(f"   {sum(p.numel() for p in model.parameters()):,} parameters, vocabulary {len(tokenizer)}; "
          f"after {steps} steps every greedy answer ends with {TERMINATOR}")

    broken = workdir / "sft-broken"
    save_like_a_broken_sft_script(model, tokenizer, broken)
    print(f"\n== 2. Save it like a broken SFT script: {broken}")
    print(f"   generation_config.json: {(broken / 'generation_config.json').read_text().strip()}")
    [before] = pipeline_generate(broken, [question])
    print(f"\n   pipeline('text-generation')([user: {question!r}], max_new_tokens={MAX_NEW_TOKENS}):")
    print(f"   {len(before.new_ids)} new tokens{' (ran to max_new_tokens)' if before.ran_away else ''}:")
    print("   " + repr(before.text))
    print(f"   assistant message: {before.content!r}")

    print("\n== 3. eos-guard")
    result = eos_guard_cli(broken.name, cwd=workdir)
    print(_indent(result.stdout) + f"   (exit code {result.returncode})")
    print("\n== 4. eos-guard --fix")
    result = eos_guard_cli("--fix", broken.name, cwd=workdir)
    print(_indent(result.stderr + result.stdout) + f"   (exit code {result.returncode}: files were changed)")
    print(f"   generation_config.json: {(broken / 'generation_config.json').read_text().strip()}")
    [after] = pipeline_generate(broken, [question])
    print(f"\n   the same pipeline call: {len(after.new_ids)} new tokens:")
    print("   " + repr(after.text))
    print(f"   assistant message: {after.content!r}")

    print("\n== 5. The same training in transformers.Trainer with EosGuardCallback")
    from eos_guard.integrations.transformers import EosGuardCallback

    logging.getLogger("eos_guard").setLevel(logging.ERROR)
    callback = EosGuardCallback(strict=True)
    base_tokenizer = build_tokenizer(eos_token=BASE_EOS)  # a Qwen2.5 base tokenizer: eos <|endoftext|>
    trainer = trainer_for(build_model(base_tokenizer), base_tokenizer, workdir / "trainer", steps)
    trainer.add_callback(callback)
    trainer.train()
    checkpoint = workdir / "trainer" / f"checkpoint-{steps}"
    for change in callback.changes:
        for key, (old, new) in change.items():
            print(f"   EosGuardCallback: {key} {old!r} -> {new!r}")
    result = eos_guard_cli(str(checkpoint.relative_to(workdir)), cwd=workdir)
    print(_indent(result.stdout) + f"   (exit code {result.returncode})")
    [trained] = pipeline_generate(checkpoint, [question])
    print(f"   pipeline on {checkpoint.name}: {len(trained.new_ids)} new tokens: {trained.text!r}")

    print(f"\nDone in {time.monotonic() - started:.0f} s; models in {workdir}")
    ok = before.ran_away and not after.ran_away and after.content == expected and result.returncode == 0
    return 0 if ok else 1


def _indent(text: str) -> str:
    return "".join(f"   {line}\n" for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
