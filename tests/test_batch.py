"""eos_guard.check_batch (EOS023-EOS026) on batches made by the real collators of transformers (and TRL's when
it is installed), from conversations tokenized with the toy ChatML tokenizer of examples/runaway_generation.py.

Each cause of "the model is never trained to stop" has its case, next to the batches that must stay clean
(full-sequence loss, assistant-only loss that keeps the terminator, multi-turn, packed sequences, the
Seq2Seq collator with pad == eos, chunks of pretraining text).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import eos_guard
from eos_guard.results import ModelReport, Report
from eos_guard.report import github, json_v1, sarif, text
from eos_guard.rules.batch_base import BatchError
from eos_guard.rules import BATCH_RULES, check_batches

ROOT = Path(__file__).resolve().parent.parent


def _load_story():
    spec = importlib.util.spec_from_file_location("runaway_generation", ROOT / "examples" / "runaway_generation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


story = _load_story()

# The ChatML template with {% generation %} marks, as assistant-only loss needs them: the terminator inside
# the marked span, or (the mistake EOS025 finds) after it.
ASSISTANT_TURN = "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
KEEPS_TERMINATOR = story.CHATML_TEMPLATE.replace(ASSISTANT_TURN, (
    "{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{% else %}" + ASSISTANT_TURN + "{% endif %}"))
DROPS_TERMINATOR = KEEPS_TERMINATOR.replace("{{ message['content'] + '<|im_end|>' }}{% endgeneration %}",
                                            "{{ message['content'] }}{% endgeneration %}{{ '<|im_end|>' }}")


@pytest.fixture(scope="module")
def tok():
    """Tokenizer eos and terminator <|im_end|> (45), pad <|endoftext|> (43)."""
    return story.build_tokenizer()


@pytest.fixture(scope="module")
def pad_is_eos():
    """The same tokenizer after the usual ``tokenizer.pad_token = tokenizer.eos_token``."""
    tokenizer = story.build_tokenizer()
    tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def stops(tokenizer) -> list[int]:
    return [tokenizer.convert_tokens_to_ids(story.BASE_EOS), tokenizer.convert_tokens_to_ids(story.TERMINATOR)]


def chat(tokenizer, template: str | None = None, assistant_only: bool = False) -> list[dict]:
    """Every conversation tokenized with the chat template; labels from the assistant mask when asked."""
    features = []
    for conversation in story.conversations():
        encoded = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True,
                                                chat_template=template, return_assistant_tokens_mask=assistant_only)
        feature = {"input_ids": list(encoded["input_ids"])}
        if assistant_only:
            feature["labels"] = [t if m else -100 for t, m in zip(encoded["input_ids"], encoded["assistant_masks"])]
        features.append(feature)
    return features


def plain(tokenizer) -> list[dict]:
    """Question and answer joined by a formatting function that forgets the terminator."""
    return [{"input_ids": tokenizer(f"user\n{q}\nassistant\n{a}", add_special_tokens=False)["input_ids"]}
            for q, a in story.QA]


def with_labels(features: list[dict]) -> list[dict]:
    return [{**f, "labels": list(f.get("labels", f["input_ids"]))} for f in features]


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def as_lists(batch) -> dict:
    return {key: value.tolist() for key, value in batch.items() if hasattr(value, "tolist")}


# -- the documented examples -----------------------------------------------------------------------------

@pytest.mark.parametrize("rule", BATCH_RULES, ids=lambda r: f"{r.code}-{r.name}")
def test_docstring_example_gives_the_documented_findings(rule):
    doc = rule.doc()
    code = re.search(r"## Example\n```python\n(.*?)```", doc, re.S).group(1)
    shown = re.search(r"`print\(finding\)` \(the line `eos-guard --format concise` prints\):\n```\n(.*?)```", doc,
                      re.S).group(1)
    namespace = {"eos_guard": eos_guard}
    exec(code, namespace)  # the docstring's own code, as a reader would run it
    findings = namespace["findings"]
    assert "\n".join(str(f) for f in findings) + "\n" == shown
    assert [(f.code, f.severity) for f in findings] == [(rule.code, rule.severity)]


# -- each cause, with transformers' collators ------------------------------------------------------------

@pytest.mark.parametrize("tensors", ["np", "pt", "lists"])
def test_pad_is_eos_with_the_language_modeling_collator(pad_is_eos, tensors):
    from transformers import DataCollatorForLanguageModeling

    if tensors == "pt":
        pytest.importorskip("torch")
    collator = DataCollatorForLanguageModeling(pad_is_eos, mlm=False, return_tensors="np" if tensors == "lists"
                                               else tensors)
    batch = collator(chat(pad_is_eos))
    if tensors == "lists":
        batch = as_lists(batch)
    [finding] = eos_guard.check_batch(batch, stops(pad_is_eos), pad_is_eos.pad_token_id)
    assert finding.code == "EOS023" and str(finding.severity) == "error"
    assert "pad token == eos: the collator masks every eos" in finding.message
    assert "give the tokenizer a pad token that is not a stop id" in finding.message
    # the first <|im_end|> of the first conversation: row 1, after "<|im_start|>user\nwhat color is the sky?"
    assert (str(finding.location.path), finding.location.line, finding.location.column) == ("<batch>", 1, 14)


def test_a_distinct_pad_token_with_the_same_collator_is_clean(tok):
    from transformers import DataCollatorForLanguageModeling

    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(chat(tok))
    assert (batch["labels"] == -100).any()  # padded: the batch shows where its sequences end
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id) == []


def test_left_padding_is_read_by_the_attention_mask(pad_is_eos, tok):
    from transformers import DataCollatorForLanguageModeling

    for tokenizer, expected in ((tok, []), (pad_is_eos, ["EOS023"])):
        tokenizer.padding_side = "left"
        try:
            batch = DataCollatorForLanguageModeling(tokenizer, mlm=False, return_tensors="np")(chat(tokenizer))
        finally:
            tokenizer.padding_side = "right"
        assert batch["attention_mask"][:, 0].min() == 0
        assert codes(eos_guard.check_batch(batch, stops(tokenizer), tokenizer.pad_token_id)) == expected


def test_the_seq2seq_collator_pads_labels_by_position_so_pad_equal_to_eos_is_fine(pad_is_eos):
    from transformers import DataCollatorForSeq2Seq

    batch = DataCollatorForSeq2Seq(pad_is_eos, return_tensors="np")(with_labels(chat(pad_is_eos)))
    assert eos_guard.check_batch(batch, stops(pad_is_eos), pad_is_eos.pad_token_id) == []


def _padded_to_max_length_with_labels_copied(tokenizer, side: str) -> dict:
    """The classic recipe: ``tokenizer(texts, padding="max_length")``, ``labels = input_ids.copy()``,
    ``default_data_collator``: the padding keeps its labels, and the loss trains them."""
    from transformers import default_data_collator

    tokenizer.padding_side = side
    try:
        encoded = tokenizer([f"{q} {a}" for q, a in story.QA], padding="max_length", max_length=32)
    finally:
        tokenizer.padding_side = "right"
    features = [{"input_ids": ids, "attention_mask": mask, "labels": list(ids)}
                for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"])]
    return default_data_collator(features, return_tensors="np")


def test_right_padding_whose_labels_are_kept_trains_the_pad_equal_to_eos():
    """The first padding after the text is predicted from the text's last token (the loss shifts the labels and
    does not read the attention mask): with pad == eos that trains "last word -> eos", so nothing is wrong."""
    tokenizer = story.build_tokenizer(eos_token=story.BASE_EOS)  # eos and pad <|endoftext|> (43)
    assert tokenizer.pad_token_id == tokenizer.eos_token_id == 43
    batch = _padded_to_max_length_with_labels_copied(tokenizer, "right")
    first_pad = [list(row).index(0) for row in batch["attention_mask"]]
    assert [int(batch["labels"][k, p]) for k, p in enumerate(first_pad)] == [43] * 8
    assert eos_guard.check_batch(batch, [43], tokenizer.pad_token_id) == []


def test_left_padding_whose_labels_are_kept_trains_no_stop():
    """Left padding's pads are predicted from padding, never from the text: the text still never ends."""
    tokenizer = story.build_tokenizer(eos_token=story.BASE_EOS)
    batch = _padded_to_max_length_with_labels_copied(tokenizer, "left")
    assert codes(eos_guard.check_batch(batch, [43], tokenizer.pad_token_id)) == ["EOS024"]


def test_the_padding_after_a_text_whose_label_is_masked_stays_out():
    """DataCollatorForLanguageModeling sets the pad labels to -100: the padding is not trained, as before."""
    from transformers import DataCollatorForLanguageModeling

    tokenizer = story.build_tokenizer(eos_token=story.BASE_EOS)
    encoded = tokenizer([f"{q} {a}" for q, a in story.QA], padding="max_length", max_length=32)
    batch = DataCollatorForLanguageModeling(tokenizer, mlm=False, return_tensors="np")(
        [{"input_ids": ids, "attention_mask": mask}
         for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"])])
    assert batch["attention_mask"].min() == 0 and (batch["labels"] == -100).any()
    assert codes(eos_guard.check_batch(batch, [43], tokenizer.pad_token_id)) == ["EOS024"]


def test_text_that_never_contains_the_terminator(tok):
    from transformers import DataCollatorForLanguageModeling

    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(plain(tok))
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS024"
    assert "the formatted text never contains the terminator" in finding.message
    assert "append the terminator" in finding.message
    # the end of the first example: where the terminator should be
    assert (finding.location.line, finding.location.column) == (1, len(plain(tok)[0]["input_ids"]))


def test_assistant_only_loss_whose_mask_excludes_the_terminator(tok):
    from transformers import DataCollatorForSeq2Seq

    features = chat(tok, DROPS_TERMINATOR, assistant_only=True)
    batch = DataCollatorForSeq2Seq(tok, return_tensors="np")(features)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS025"
    assert "the loss mask excludes the terminator" in finding.message
    assert "put the terminator inside the supervised span" in finding.message
    # the <|im_end|> right after the first answer "the sky is blue."
    ids = features[0]["input_ids"]
    answer_end = max(i for i, label in enumerate(features[0]["labels"]) if label != -100)
    assert ids[answer_end + 1] == tok.convert_tokens_to_ids(story.TERMINATOR)
    assert (finding.location.line, finding.location.column) == (1, answer_end + 2)


def test_assistant_only_loss_that_keeps_the_terminator_multi_turn_is_clean(tok):
    from transformers import DataCollatorForSeq2Seq

    features = chat(tok, KEEPS_TERMINATOR, assistant_only=True)
    assert any(f["input_ids"].count(tok.convert_tokens_to_ids(story.TERMINATOR)) == 4 for f in features)
    batch = DataCollatorForSeq2Seq(tok, return_tensors="np")(features)
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id) == []


def test_truncation_cuts_the_terminator_off_some_sequences(tok):
    from transformers import DataCollatorForLanguageModeling

    features = chat(tok)  # 8 single-turn conversations (24-34 tokens), then 8 two-turn ones (50-58)
    # the two-turn ones cut inside their last answer, as truncation to a max_length just below their length
    cut = [{"input_ids": f["input_ids"][:len(f["input_ids"]) - 5 if i >= 8 else None]} for i, f in enumerate(features)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(cut)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS026" and str(finding.severity) == "warning"
    assert finding.message.startswith("8 of 16 sequences (50%) in the batch do not end their last supervised "
                                      "span with a stop id [43, 45]")
    assert (finding.location.line, finding.location.column) == (9, len(features[8]["input_ids"]) - 5)


def test_truncation_at_a_given_max_length_is_named_with_it(tok):
    """The two-turn conversations (50-58 tokens) cut at max_length=40, as TRL's best-fit packing and padded rows
    leave them (three of them right after a terminator): given max_length, every sequence that ends without a
    stop id fills it, so the message names the
    truncation and its length alone (it said "truncated at max_length, or missing the terminator")."""
    from transformers import DataCollatorForLanguageModeling

    features = [{"input_ids": f["input_ids"][:40]} for f in chat(tok)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(features)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, max_length=40)
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning")
    assert finding.message == (
        "5 of 16 sequences (31%) in the batch do not end their last supervised span with a stop id [43, 45] (each "
        "fills max_length, 40 tokens: truncation cut it); raise max_length or drop the examples that exceed it")


def test_examples_without_the_terminator_below_max_length_are_named_as_such(tok):
    """Half the conversations formatted without their last "<|im_end|>\\n": the other half train the stop id. Given
    max_length, which none of them reaches, nothing was cut: the message names the missing terminator and its
    fix alone (it said "truncated at max_length, or missing the terminator; raise max_length")."""
    from transformers import DataCollatorForLanguageModeling

    features = chat(tok)[:8]
    features = [{"input_ids": f["input_ids"][:-2] if i % 2 else f["input_ids"]} for i, f in enumerate(features)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(features)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, max_length=64)
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning")
    assert finding.message == (
        "4 of 8 sequences (50%) in the batch do not end their last supervised span with a stop id [43, 45]; none of "
        "them reaches max_length (64 tokens), so truncation did not cut it: the formatted text lacks the terminator; "
        "append the terminator (the chat template's, or tokenizer.eos_token) to every example")
    # without max_length, none of them is as long as the longest sequence, which a cut one would be (it said
    # "truncated at max_length, or missing the terminator" here too)
    longest = max(len(f["input_ids"]) for f in features)
    assert max(len(f["input_ids"]) for f in features[1::2]) < longest
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.message.endswith(
        f"; none of them is both as long as the longest sequence ({longest} tokens) and supervised to its last token, "
        "as truncation at max_length would leave it, so truncation did not cut it: the formatted text lacks the "
        "terminator; append the terminator (the chat template's, or tokenizer.eos_token) to every example")
    # as long as the second: it may be cut
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, max_length=len(features[1]["input_ids"]))
    assert finding.message.endswith("(truncated at max_length, or missing the terminator); raise max_length or "
                                    "drop the examples that exceed it, and append the terminator to the "
                                    "examples that lack it")
    # without max_length, one of them as long as the longest: it may be the one cut, and the others not
    longer = [{"input_ids": f["input_ids"] + [tok.convert_tokens_to_ids("a")] * (longest - len(f["input_ids"]))}
              if i == 1 else f for i, f in enumerate(features)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(longer)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.message.endswith("(truncated at max_length, or missing the terminator); raise max_length or "
                                    "drop the examples that exceed it, and append the terminator to the "
                                    "examples that lack it")


def test_examples_without_the_terminator_when_nothing_was_truncated_are_named_as_such(tok):
    """The same batch, flattened as a padding-free collator makes it, which TRL's SFTTrainer runs only with
    max_length=None: nothing was truncated (truncation=False), so the message names the missing terminator alone
    (read without it, it said "truncated at max_length, or missing the terminator; raise max_length")."""
    from transformers import DataCollatorWithFlattening

    features = chat(tok)[:8]
    features = [{"input_ids": f["input_ids"][:-2] if i % 2 else f["input_ids"]} for i, f in enumerate(features)]
    batch = DataCollatorWithFlattening(return_tensors="np")(with_labels(features))
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)  # none as long as the longest
    assert "none of them is both as long as the longest sequence" in finding.message
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, truncation=False)
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning")
    assert finding.message == (
        "4 of 8 sequences (50%) in the batch do not end their last supervised span with a stop id [43, 45]; nothing "
        "was truncated (no max_length): the formatted text lacks the terminator; append the terminator (the chat "
        "template's, or tokenizer.eos_token) to every example")


def test_texts_of_one_length_without_a_terminator_when_nothing_was_truncated_are_absent(tok):
    """Texts formatted without the terminator that happen to be all as long read as cut examples (EOS026, an error
    that says "raise max_length"); with truncation=False nothing was cut: EOS024, "append the terminator"."""
    from transformers import DataCollatorForLanguageModeling

    rows = [{"input_ids": f["input_ids"][:12]} for f in plain(tok)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(rows)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error") and "raise max_length" in finding.message
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, truncation=False)
    assert finding.code == "EOS024" and "append the terminator" in finding.message
    assert "max_length" not in finding.message


def _mistral_without_eos() -> dict:
    """Mistral v0.3's ids (<s> 1, </s> 2, [INST] 3, [/INST] 4) under a template that writes no eos after the
    answer: `<s>[INST] question[/INST] answer`, padded with </s> (pad == eos) and -100 as TRL's collator pads.
    align() takes the next turn's [INST] for the terminator (it follows the answer in a multi-turn render), so
    the stop ids are [2, 3]; the only one trained is each row's [INST], right after <s>."""
    rows = [[1, 3, 101, 102, 4, 201, 202, 203], [1, 3, 103, 4, 204, 205], [1, 3, 104, 105, 106, 4, 206]]
    width = max(len(r) for r in rows)
    return {"input_ids": [r + [2] * (width - len(r)) for r in rows],
            "attention_mask": [[1] * len(r) + [0] * (width - len(r)) for r in rows],
            "labels": [r + [-100] * (width - len(r)) for r in rows]}


@pytest.mark.parametrize("max_length", [None, 1024])
def test_a_stop_id_trained_only_where_sequences_open_does_not_teach_the_stop(max_length):
    """Single-turn examples whose only trained stop id is the template's first token (Mistral's [INST], after the
    bos): no answer ends with a stop id, so nothing teaches the model to stop. EOS026 is an error (it was a
    warning, which lets training go on)."""
    [finding] = eos_guard.check_batch(_mistral_without_eos(), [2, 3], 2, max_length=max_length)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    assert finding.message.startswith(
        "3 of 3 sequences (100%) in the batch do not end their last supervised span with a stop id [2, 3]; the only "
        "supervised stop ids open their sequences (within their first 3 tokens), so no answer ends with one and the "
        "model is never trained to stop")
    assert (finding.location.line, finding.location.column) == (1, 8)
    # one answer that ends with </s> trains the stop: a warning again
    batch = _mistral_without_eos()
    batch["input_ids"][1][6] = batch["labels"][1][6] = 2
    batch["attention_mask"][1][6] = 1
    [finding] = eos_guard.check_batch(batch, [2, 3], 2, max_length=max_length)
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning") and "2 of 3 sequences" in finding.message


def _by_hand(tokenizer, conversations, answer_end: str = "\n", prompt_end: str = "<|im_end|>\n") -> dict:
    """ChatML formatted by a script instead of the template: prompts end with ``prompt_end``, answers with
    ``answer_end``; labels are the whole text, right-padded."""
    rows = []
    for conversation in conversations:
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}" +
                       (answer_end if m["role"] == "assistant" else prompt_end) for m in conversation)
        rows.append(tokenizer(text, add_special_tokens=False)["input_ids"])
    return _padded(rows, tokenizer.pad_token_id)


def _padded(rows: list[list[int]], pad: int) -> dict:
    width = max(len(r) for r in rows)
    return {"input_ids": [r + [pad] * (width - len(r)) for r in rows],
            "attention_mask": [[1] * len(r) + [0] * (width - len(r)) for r in rows],
            "labels": [r + [-100] * (width - len(r)) for r in rows]}


def test_answer_opening_is_what_the_generation_prompt_adds(tok):
    from eos_guard.integrations.transformers import answer_opening

    assert tok.convert_ids_to_tokens(list(answer_opening(tok))) == ["<|im_start|>", "assistant"]
    bare = story.build_tokenizer()
    bare.chat_template = None
    assert answer_opening(bare) == ()
    no_prompt = story.build_tokenizer()  # a template with no generation prompt (Mistral's answer follows [/INST])
    no_prompt.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    assert answer_opening(no_prompt) == ()
    raising = story.build_tokenizer()
    raising.chat_template = "{{ raise_exception('a system message is required') }}"
    assert answer_opening(raising) == ()


CHATML_TURNS = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"


@pytest.mark.parametrize("prompt, expected", [
    # Qwen3-Thinking-2507's and DeepSeek-R1's prompts pre-fill <think> (an added token; <|endoftext|> stands for it
    # in this vocabulary): the answers of the history do not open so (helper-111: the opening held it, earlier
    # answers were not found, and cut conversations became an error)
    ("{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<|endoftext|>\\n' }}{% endif %}",
     ["<|im_start|>", "assistant"]),
    # Phi-3's template writes the eos where no generation prompt is asked for
    ("{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% else %}{{ eos_token }}{% endif %}",
     ["<|im_start|>", "assistant"]),
])
def test_answer_opening_is_what_the_prompt_and_an_answer_both_open_with(prompt, expected):
    from eos_guard.integrations.transformers import answer_opening

    tokenizer = story.build_tokenizer()
    tokenizer.chat_template = CHATML_TURNS + prompt
    assert tokenizer.convert_ids_to_tokens(list(answer_opening(tokenizer))) == expected


def test_an_answer_opening_written_as_text_is_not_used():
    """Vicuna's 'ASSISTANT:', Tülu's '<|assistant|>' without a token of its own: the same tokens occur inside answers,
    where they were read as the next turn (helper-111: an answer ended at its first space, and the check became an
    error). Only an opening that starts with an added token is used."""
    from eos_guard.integrations.transformers import answer_opening

    tokenizer = story.build_tokenizer()
    tokenizer.chat_template = ("{% for m in messages %}{{ m['role'] + '\\n' + m['content'] + '\\n' }}{% endfor %}"
                               "{% if add_generation_prompt %}{{ 'assistant\\n' }}{% endif %}")
    assert answer_opening(tokenizer) == ()


@pytest.mark.parametrize("answer_end", ["<|im_end|><|endoftext|>", "<|im_end|>\n<|endoftext|>"],
                         ids=["right-after", "a-newline-after"])
def test_a_stop_id_trained_only_after_the_masked_pad_terminator_does_not_teach_the_stop(tok, answer_end):
    """helper-148: pad == terminator (<|im_end|>), masked by id, and another stop id (<|endoftext|>) appended
    after it: that one is trained, but only right after a <|im_end|> the model is never trained to write (a toy model
    trained so ran to max_new_tokens), and nothing was reported. helper-170: so with a newline between, as Phi-3's own
    template ends a conversation ('<|end|>\\n<|endoftext|>', pad_token '<|end|>', DataCollatorForLanguageModeling):
    EOS023 looked at the token right before a trained stop id only."""
    terminator, other = tok.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    formatted = _by_hand(tok, story.conversations(), answer_end=answer_end)
    rows = [row[:sum(mask)] for row, mask in zip(formatted["input_ids"], formatted["attention_mask"])]
    batch = _padded(rows, terminator)
    batch["labels"] = [[-100 if t == terminator else t for t in row] for row in batch["input_ids"]]
    [finding] = eos_guard.check_batch(batch, [terminator, other], terminator)
    assert (finding.code, str(finding.severity)) == ("EOS023", "error"), finding
    assert f"every supervised stop id in the batch comes right after a {terminator} with label -100 (at most 2 " \
        "tokens after it)" in finding.message
    # a pad that is not the terminator: the terminator is trained, nothing to report
    batch = _padded(rows, other)
    batch["labels"] = [[-100 if t == other else t for t in row] for row in batch["input_ids"]]
    assert eos_guard.check_batch(batch, [terminator, other], other) == []


def test_a_loss_mask_that_leaves_out_the_last_answer_s_terminator_is_named_as_the_cause(tok):
    """helper-170: labels = input_ids[:-2] + [-100, -100] on two-turn ChatML (the last '<|im_end|>\\n' masked):
    EOS026 said the formatted text lacks the terminator and to append it, but the text holds it; the loss mask
    leaves it out."""
    full = _by_hand(tok, [c + c for c in story.conversations()], answer_end="<|im_end|>\n")
    rows = [[t for t in row if t != tok.pad_token_id] for row in full["input_ids"]]
    batch = _padded(rows, tok.pad_token_id)
    batch["labels"] = [row[:len(text) - 2] + [-100] * (len(row) - len(text) + 2)
                       for row, text in zip(batch["input_ids"], rows)]
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning"), finding
    assert "in each, the stop id that ends its last answer has label -100: the loss mask leaves out the " \
        "terminator of the last answer; put the terminator inside the supervised span" in finding.message
    assert "append" not in finding.message
    # pad == eos and no attention_mask: a row's trailing pad ids beyond the fewest a row of the batch ends with are
    # padding (a batch padded to its longest row), so the text lacks the terminator (helper-171)...
    batch = {"input_ids": [[1, 5, 6, 3, 2], [1, 7, 8, 9, 3], [1, 9, 10, 11, 2]],
             "labels": [[-100, 5, 6, 3, -100], [-100, 7, 8, 9, 3], [-100, 9, 10, 11, -100]]}
    [finding] = eos_guard.check_batch(batch, [2, 3], pad_token_id=2)
    assert "the loss mask" not in finding.message and "append the terminator" in finding.message, finding.message
    # ...but not the ones every row ends with: the longest row's own terminator, with label -100 (helper-173)
    batch = {"input_ids": [[1, 5, 6, 7, 2], [1, 8, 9, 10, 2], [1, 11, 12, 2, 2]],
             "labels": [[-100, 5, 6, 7, 2], [-100, 8, 9, 10, -100], [-100, 11, 12, -100, -100]]}
    [finding] = eos_guard.check_batch(batch, [2], pad_token_id=2)
    assert "the loss mask leaves out the terminator" in finding.message, finding.message
    batch["attention_mask"] = [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]  # so with it given
    [finding] = eos_guard.check_batch(batch, [2], pad_token_id=2)
    assert "the loss mask leaves out the terminator" in finding.message, finding.message


@pytest.mark.parametrize("after_system", [2, 6])
def test_truncation_that_leaves_no_answer_in_any_sequence_is_an_error(tok, after_system):
    """helper-170: a system prompt every example starts with, and max_length that cuts every one before its first
    answer (after the system turn's <|im_end|>, or inside the user turn): the system's <|im_end|> is trained, and the
    callback said the examples train the model to stop. No answer is trained at all: EOS026, an error. Without the
    opening of an answer, and for plain text cut the same way, not so."""
    from eos_guard.integrations.transformers import answer_opening

    system = [{"role": "system", "content": "you answer every question about the sky"}]
    full = _by_hand(tok, [system + conversation for conversation in story.conversations()], answer_end="<|im_end|>\n")
    texts = [[t for t in row if t != tok.pad_token_id] for row in full["input_ids"]]
    length = texts[0].index(tok.convert_tokens_to_ids("<|im_end|>")) + after_system
    rows = [text[:length] for text in texts]
    batch = {"input_ids": rows, "labels": rows}
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, max_length=length,
                                      answer_opening=answer_opening(tok))
    assert (finding.code, str(finding.severity)) == ("EOS026", "error"), finding
    assert f"none of the {len(rows)} sequences in the batch holds an answer (the chat template's opening of one " \
        f"occurs in none): each fills max_length ({length} tokens)" in finding.message
    # without the opening of an answer, nothing shows where answers are (at most the warning of cut sequences);
    # plain text never holds the opening's token
    assert all(f.severity < eos_guard.Severity.ERROR
               for f in eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, max_length=length))
    plain = [tok(" ".join(["the sky is blue"] * 20), add_special_tokens=False)["input_ids"][:length]] * 4
    assert all("holds an answer" not in f.message for f in eos_guard.check_batch(
        {"input_ids": plain, "labels": plain}, stops(tok), tok.pad_token_id, max_length=length,
        answer_opening=answer_opening(tok)))


@pytest.mark.parametrize("packing", [None, "wrapped"])
def test_answers_without_the_terminator_inside_blocks_of_concatenated_text_are_a_warning(tok, packing):
    """helper-148: the same hand-formatted chat text (prompts keep <|im_end|>, answers lost it), concatenated and
    cut into blocks (TRL's packing_strategy="wrapped", run_clm's group_texts): no row's end counts, so nothing was
    reported, though unpacked it is an error, and a toy model trained so writes the user's next turn. The answers
    inside the blocks that the next turn follows suggest it: a warning, since an answer whose opening lies in
    another block is not seen (helper-149: an error stopped correct gpt-oss training, whose long final messages end
    with the only stop id its answers have)."""
    from eos_guard.integrations.transformers import answer_opening

    def blocks(answer_end):
        text = [t for row in _by_hand(tok, story.conversations(), answer_end=answer_end)["input_ids"]
                for t in row if t != tok.pad_token_id]
        rows = [text[i:i + 32] for i in range(0, len(text) - 31, 32)]
        return {"input_ids": rows, "labels": rows}

    [finding] = eos_guard.check_batch(blocks("\n"), stops(tok), tok.pad_token_id, packing=packing, max_length=32,
                                      answer_opening=answer_opening(tok))
    # a warning: an answer whose opening lies in another block is not seen (helper-149: gpt-oss)
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning"), finding
    assert " are followed by the next turn without one; if the answers lack the terminator, the model is never " \
        "trained to stop after an answer: append the terminator" in finding.message
    assert eos_guard.check_batch(blocks("\n"), stops(tok), tok.pad_token_id, packing=packing, max_length=32) == []
    assert eos_guard.check_batch(blocks("<|im_end|>\n"), stops(tok), tok.pad_token_id, packing=packing,
                                 max_length=32, answer_opening=answer_opening(tok)) == []


@pytest.mark.parametrize("packing", [None, "wrapped"])
def test_gpt_oss_blocks_whose_final_messages_span_blocks_are_not_reported(packing):
    """helper-149: gpt-oss's analysis message ends with <|end|> (no stop id) and the final message, next, with
    <|return|>; final messages longer than a block have their opening in one block and <|return|> in another. The
    analysis messages read as answers the next turn follows, and a correct run stopped (EOS026 error). Another
    message of the same answer is not the next turn."""
    from transformers import AutoTokenizer

    from eos_guard.integrations.transformers import answer_opening, turn_openings

    from support import FIXTURES

    tokenizer = AutoTokenizer.from_pretrained(FIXTURES / "gpt-oss-harmony-return-vs-end")
    stream = [token for i in range(4) for token in tokenizer.apply_chat_template(
        [{"role": "user", "content": f"question {i}"},
         {"role": "assistant", "thinking": f"let me think {i}", "content": "a long final answer " * 40 + f"done {i}"}],
        tokenize=True, return_dict=False)]
    rows = [stream[i:i + 256] for i in range(0, len(stream) - 255, 256)]
    assert eos_guard.check_batch({"input_ids": rows, "labels": rows}, [200002, 199999, 200012],
                                 tokenizer.pad_token_id, packing=packing, max_length=256,
                                 answer_opening=answer_opening(tokenizer), turn_openings=turn_openings(tokenizer)) == []


def test_earlier_answers_that_end_with_a_stop_id_teach_it_when_the_last_ones_are_cut(tok):
    """Two-turn conversations whose first answers end with <|im_end|> and whose last answers were cut at max_length:
    answers do end with a stop id, so it stays truncation's warning (helper-111 found it an error when the opening
    held a pre-filled <think> and the earlier answers were not found)."""
    from eos_guard.integrations.transformers import answer_opening

    rows = _by_hand(tok, [c for c in story.conversations() if len(c) == 4], answer_end="<|im_end|>\n")
    cut = [[t for t in row if t != tok.pad_token_id][:-4] for row in rows["input_ids"]]
    [finding] = eos_guard.check_batch(_padded(cut, tok.pad_token_id), stops(tok), tok.pad_token_id,
                                      answer_opening=answer_opening(tok))
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning"), finding


@pytest.mark.parametrize("turns", ["single", "two"])
def test_stop_ids_that_end_only_prompts_do_not_teach_the_stop(tok, turns):
    """Chat text formatted by hand: the system and user turns keep <|im_end|>, the answers lost it, and the loss is on
    the whole text. Some stop id is supervised, so without the template's opening of an answer it is only a warning
    (training goes on); with it, no answer ends with a stop id: an error (tests/e2e/test_training_data.py trains
    such a model: it runs on, or writes the user's next turn)."""
    from eos_guard.integrations.transformers import answer_opening

    conversations = [c for c in story.conversations() if (len(c) == 2) == (turns == "single")]
    batch = _by_hand(tok, conversations)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning")
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, answer_opening=answer_opening(tok))
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    answers = 8 if turns == "single" else 16
    assert f"; the supervised stop ids end other turns (system, user) only: none of the {answers} answers (what " \
        "follows the chat template's opening of an answer) ends with one, so the model is never trained to stop " \
        "after an answer" in finding.message
    # an answer the next turn follows was not cut by truncation: the fix is the terminator alone
    fix = "append the terminator (the chat template's, or tokenizer.eos_token) to every answer"
    if turns == "two":
        assert finding.message.endswith(f"after an answer; {fix}")
    else:
        assert finding.message.endswith("after an answer (truncated at max_length, or missing the terminator); raise "
                                        "max_length or drop the examples that exceed it, and append the terminator "
                                        "to the examples that lack it")
    # the same text with the terminator after every answer is clean; after the last one only, a warning
    fixed = _by_hand(tok, conversations, answer_end="<|im_end|>\n")
    assert eos_guard.check_batch(fixed, stops(tok), tok.pad_token_id, answer_opening=answer_opening(tok)) == []


def test_an_answer_opening_the_batch_does_not_hold_changes_nothing(tok):
    batch = _by_hand(tok, story.conversations())
    other = tok("<|im_start|>system", add_special_tokens=False)["input_ids"] + [7]
    for opening in (None, [], other):
        [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, answer_opening=opening)
        assert (finding.code, str(finding.severity)) == ("EOS026", "warning")


def test_a_stop_id_that_opens_the_next_turn_after_an_answer_teaches_the_stop(tok):
    """A template that closes no turn with <|im_end|>, whose stop id is the next turn's <|im_start|> (align() finds
    it): after the first answer of a two-turn conversation it is trained, so answers do end with a stop id and the
    finding stays a warning; single-turn conversations never train it after an answer: an error."""
    from eos_guard.integrations.transformers import answer_opening

    stop_ids = [*stops(tok), tok.convert_tokens_to_ids("<|im_start|>")]
    two = _by_hand(tok, [c for c in story.conversations() if len(c) == 4], prompt_end="\n")
    [finding] = eos_guard.check_batch(two, stop_ids, tok.pad_token_id, answer_opening=answer_opening(tok))
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning")
    single = _by_hand(tok, [c for c in story.conversations() if len(c) == 2], prompt_end="\n")
    [finding] = eos_guard.check_batch(single, stop_ids, tok.pad_token_id, answer_opening=answer_opening(tok))
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")


def test_an_opening_whose_first_token_opens_answers_only_needs_the_user_turn_s_opening():
    """Phi-3's <|assistant|> opens answers only (<|user|> opens the user's turns). Without ``turn_openings`` an
    answer runs to the end of its sequence, so the user's <|end|> after a first answer counted for it, and
    multi-turn text whose answers lost <|end|> stayed a warning (noted in session 28); with <|user|> given, each
    answer ends where the next user turn opens: an error, as for single-turn text. Ids: 1 <|user|>,
    2 <|assistant|>, 3 <|end|>, 4 newline, 0 pad, 10 and up words."""
    def row(*turns):
        ids = []
        for role, words, closed in turns:
            ids += [1 if role == "user" else 2, 4, *words, *([3, 4] if closed else [4])]
        return ids

    single = _padded([row(("user", [10, 11], True), ("assistant", [12, 13], False)),
                      row(("user", [14], True), ("assistant", [15, 16, 17], False))], 0)
    [finding] = eos_guard.check_batch(single, [3], 0, answer_opening=[2])
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    two = _padded([row(("user", [10], True), ("assistant", [12], False), ("user", [11], True),
                       ("assistant", [13], False)),
                   row(("user", [14], True), ("assistant", [15], False), ("user", [16], True),
                       ("assistant", [17], False))], 0)
    [finding] = eos_guard.check_batch(two, [3], 0, answer_opening=[2])
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning")
    [finding] = eos_guard.check_batch(two, [3], 0, answer_opening=[2], turn_openings=[1])
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    assert finding.message.endswith("; append the terminator (the chat template's, or tokenizer.eos_token) to every "
                                    "answer"), finding.message
    # the answers keep <|end|>: nothing to say
    fixed = _padded([row(("user", [10], True), ("assistant", [12], True), ("user", [11], True),
                         ("assistant", [13], True))] * 2, 0)
    assert eos_guard.check_batch(fixed, [3], 0, answer_opening=[2], turn_openings=[1]) == []


def _byte_tokenizer(template: str, specials: list[str], bos: str | None = None, eos: str | None = None):
    """A byte-level tokenizer (``tokenizers``, no merges) with ``specials`` as added special tokens: any text
    encodes, and added tokens stay whole, as in the real models' tokenizers."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    backend = Tokenizer(models.BPE({ch: i for i, ch in enumerate(alphabet)}, []))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=bos, eos_token=eos)
    tokenizer.chat_template = template
    return tokenizer


TURNS = "{% for m in messages %}"
# the shapes of public templates, written here: Phi-3.5-mini-instruct's (<|user|>, <|assistant|>, <|end|>; the
# eos after the last turn), Command R7B's (a default system turn first; the answer closes with <|END_RESPONSE|>
# and <|END_OF_TURN_TOKEN|>), gpt-oss's (a system turn; <|message|> inside every turn's header, <|end|>
# closing it), SmolLM3's (a default system turn that spells <think>), Zephyr's (roles written as text)
PHI = (TURNS + "{{ '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' }}{% endfor %}"
       "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}",
       ["<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>"], "<|endoftext|>", ["<|user|>"])
COMMAND_R = ("{{ bos_token }}<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>Be brief.<|END_OF_TURN_TOKEN|>" + TURNS +
             "{% if m['role'] == 'user' %}<|START_OF_TURN_TOKEN|><|USER_TOKEN|>{{ m['content'] }}"
             "<|END_OF_TURN_TOKEN|>{% else %}<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|><|START_RESPONSE|>"
             "{{ m['content'] }}<|END_RESPONSE|><|END_OF_TURN_TOKEN|>{% endif %}{% endfor %}"
             "{% if add_generation_prompt %}<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>{% endif %}",
             ["<BOS_TOKEN>", "<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>", "<|SYSTEM_TOKEN|>", "<|USER_TOKEN|>",
              "<|CHATBOT_TOKEN|>", "<|START_RESPONSE|>", "<|END_RESPONSE|>"], "<|END_OF_TURN_TOKEN|>",
             ["<|START_OF_TURN_TOKEN|>"])
GPT_OSS = ("<|start|>system<|message|>Reasoning: low<|end|>" + TURNS +
           "{% if m['role'] == 'user' %}<|start|>user<|message|>{{ m['content'] }}<|end|>{% else %}"
           "<|start|>assistant<|channel|>final<|message|>{{ m['content'] }}<|end|>{% endif %}{% endfor %}"
           "{% if add_generation_prompt %}<|start|>assistant{% endif %}",
           ["<|start|>", "<|message|>", "<|end|>", "<|channel|>", "<|return|>"], "<|return|>", ["<|start|>"])
SMOLLM3 = ("<|im_start|>system\nThink in <think> and </think>.<|im_end|>\n" + TURNS +
           "{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
           "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
           ["<|im_start|>", "<|im_end|>", "<think>", "</think>"], "<|im_end|>", ["<|im_start|>"])
ZEPHYR = (TURNS + "{{ '<|' + m['role'] + '|>\n' + m['content'] + eos_token + '\n' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}", ["</s>"], "</s>", [])
SPACES = (TURNS + "{{ '  ' + m['role'] + ': ' + m['content'] + eos_token }}{% endfor %}", ["</s>", "  "], "</s>", [])


@pytest.mark.parametrize("template, specials, eos, expected", [PHI, COMMAND_R, GPT_OSS, SMOLLM3, ZEPHYR, SPACES],
                         ids=["phi-3", "command-r7b", "gpt-oss", "smollm3", "zephyr-text-roles", "whitespace-token"])
def test_turn_openings_is_the_token_that_opens_a_user_turn(template, specials, eos, expected):
    """Only the first added token of the user turn's header: a default system turn's tokens (SmolLM3's system
    prompt spells <think>), a header's inner token (gpt-oss's <|message|>, which answers hold too) and a turn's
    closing token (Command R's <|END_OF_TURN_TOKEN|>, which the header follows after the system turn) would end
    answers inside them. Roles written as text, or a whitespace token, give none."""
    from eos_guard.integrations.transformers import turn_openings

    tokenizer = _byte_tokenizer(template, specials, eos=eos)
    assert tokenizer.convert_ids_to_tokens(sorted(turn_openings(tokenizer))) == expected
    bare = _byte_tokenizer(template, specials, eos=eos)
    bare.chat_template = None
    assert turn_openings(bare) == frozenset()
    bare.chat_template = "{{ raise_exception('a system message is required') }}"
    assert turn_openings(bare) == frozenset()


# Phi-4-mini's shape: tool results open with <|tool|>, calls sit between <|tool_call|> and <|/tool_call|>
PHI4_MINI_TOOLS = (
    TURNS + "{% if m['role'] == 'tool' %}{{ '<|tool|>' + m['content'] + '<|end|>' }}"
    "{% elif m.get('tool_calls') %}{{ '<|assistant|><|tool_call|>' + m['tool_calls'] | tojson + '<|/tool_call|><|end|>' }}"
    "{% else %}{{ '<|' + m['role'] + '|>' + m['content'] + '<|end|>' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}")
PHI4_MINI_TOKENS = ["<|user|>", "<|assistant|>", "<|tool|>", "<|end|>", "<|tool_call|>", "<|/tool_call|>",
                    "<|endoftext|>"]
# EXAONE 4's shape: every rendered answer holds an empty reasoning block unless reasoning is written into it
EXAONE = (TURNS + "{% if m['role'] == 'assistant' %}{{ '[|assistant|]\\n<think>\\n\\n</think>\\n\\n' + m['content'] + "
          "'[|endofturn|]\\n' }}{% else %}{{ '[|' + m['role'] + '|]\\n' + m['content'] + '[|endofturn|]\\n' }}{% endif %}"
          "{% endfor %}{% if add_generation_prompt %}{{ '[|assistant|]\\n<think>\\n\\n</think>\\n\\n' }}{% endif %}")


# Qwen3's shape: a tool's result is a user turn that holds <tool_response>...</tool_response>
QWEN3_TOOLS = (
    TURNS + "{% if m['role'] == 'tool' %}{{ '<|im_start|>user\\n<tool_response>\\n' + m['content'] + "
    "'\\n</tool_response><|im_end|>\\n' }}{% elif m.get('tool_calls') %}{{ '<|im_start|>assistant\\n<tool_call>' + "
    "m['tool_calls'] | tojson + '</tool_call><|im_end|>\\n' }}{% else %}{{ '<|im_start|>' + m['role'] + '\\n' + "
    "m['content'] + '<|im_end|>\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
QWEN3_TOKENS = ["<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]


def test_a_tool_result_that_opens_as_a_user_turn_has_no_opening_of_its_own():
    """helper-210: Qwen3's tool results open with <|im_start|>user, like a user turn, and hold <tool_response>:
    that token was read as a tool turn's opening, so an answer naming it in its text was cut there, and EOS034
    stopped a correct training. The user turn's opening covers such a turn."""
    from eos_guard.integrations.transformers import turn_openings

    tokenizer = _byte_tokenizer(QWEN3_TOOLS, QWEN3_TOKENS, eos="<|im_end|>")
    assert tokenizer.convert_ids_to_tokens(sorted(turn_openings(tokenizer))) == ["<|im_start|>"]
    phi = _byte_tokenizer(PHI4_MINI_TOOLS, PHI4_MINI_TOKENS, eos="<|endoftext|>")  # a turn of its own: kept
    assert "<|tool|>" in phi.convert_ids_to_tokens(sorted(turn_openings(phi)))


def test_the_openings_of_a_tool_turn_a_named_default_and_reasoning_data_are_read():
    """helper-116: Phi-4-mini and EXAONE 4 open a tool's result with a token of their own, so an answer that called
    a tool ran on into the tool turn and took its <|end|> for its own; Hermes and Command R ship named templates
    (``default``, ``tool_use``), where no opening was read at all; EXAONE 4's answers all hold an empty <think>
    block that reasoning data fills, so the opening held it and no answer was found."""
    from eos_guard.integrations.transformers import answer_opening, turn_openings

    phi = _byte_tokenizer(PHI4_MINI_TOOLS, PHI4_MINI_TOKENS, eos="<|endoftext|>")
    assert phi.convert_ids_to_tokens(sorted(turn_openings(phi))) == ["<|user|>", "<|tool|>"]
    assert phi.convert_ids_to_tokens(list(answer_opening(phi))) == ["<|assistant|>"]
    named = _byte_tokenizer(SMOLLM3[0], SMOLLM3[1], eos=SMOLLM3[2])
    named.chat_template = {"default": SMOLLM3[0], "tool_use": SMOLLM3[0]}
    assert named.convert_ids_to_tokens(sorted(turn_openings(named))) == ["<|im_start|>"]
    assert answer_opening(named)[:1] == tuple(named.convert_tokens_to_ids(["<|im_start|>"]))
    named.chat_template = {"tool_use": SMOLLM3[0]}  # no default: apply_chat_template raises without tools
    assert (answer_opening(named), turn_openings(named)) == ((), frozenset())
    exaone = _byte_tokenizer(EXAONE, ["[|user|]", "[|assistant|]", "[|system|]", "[|tool|]", "[|endofturn|]", "<think>",
                                      "</think>"], eos="[|endofturn|]")
    assert exaone.convert_ids_to_tokens(list(answer_opening(exaone))) == ["[|assistant|]"]

    # answers that lost <|end|>, tool calls among them, the user and tool turns keeping it: an error
    calls = [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]
    conversation = [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": "", "tool_calls": calls},
                    {"role": "tool", "content": "Sunny"}, {"role": "assistant", "content": "It is sunny."}]
    text = phi.apply_chat_template(conversation, tokenize=False)
    lost = text.replace("<|/tool_call|><|end|>", "<|/tool_call|>").replace("It is sunny.<|end|>", "It is sunny.")
    batch = _padded([phi.encode(lost, add_special_tokens=False)] * 2, 0)
    how = {"answer_opening": answer_opening(phi), "turn_openings": turn_openings(phi)}
    stop_ids = [phi.convert_tokens_to_ids("<|end|>")]
    [finding] = eos_guard.check_batch(batch, stop_ids, None, **how)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error"), finding
    kept = _padded([phi.encode(text, add_special_tokens=False)] * 2, 0)
    assert eos_guard.check_batch(kept, stop_ids, None, **how) == []


@pytest.mark.parametrize("template, specials, eos, term", [
    (PHI[0], PHI[1], PHI[2], "<|end|>"), (GPT_OSS[0], GPT_OSS[1], GPT_OSS[2], "<|end|>"),
    (SMOLLM3[0], SMOLLM3[1], SMOLLM3[2], "<|im_end|>")], ids=["phi-3", "gpt-oss", "smollm3"])
def test_multi_turn_answers_that_lost_the_terminator_are_an_error_and_kept_ones_clean(template, specials, eos, term):
    """Rendered by the template, whole-text loss: answers that keep their terminator give no finding (no token
    inside an answer ends it early); the same text with each answer's terminator removed (the system and user
    turns keep theirs) is an error with the openings read from the tokenizer."""
    from eos_guard.integrations.transformers import answer_opening, turn_openings

    tokenizer = _byte_tokenizer(template, specials, eos=eos)
    conversation = [{"role": "user", "content": "Two plus two?"}, {"role": "assistant", "content": "Four."},
                    {"role": "user", "content": "And three?"}, {"role": "assistant", "content": "Six, <think>."}]
    texts = [tokenizer.apply_chat_template(conversation[:k], tokenize=False) for k in (2, 4, 4)]
    stop_ids = [tokenizer.convert_tokens_to_ids(term)]
    how = {"answer_opening": answer_opening(tokenizer), "turn_openings": turn_openings(tokenizer)}
    kept = _padded([tokenizer.encode(t, add_special_tokens=False) for t in texts], 0)
    assert eos_guard.check_batch(kept, stop_ids, None, **how) == []
    lost = [t.replace("Four." + term, "Four.").replace("<think>." + term, "<think>.") for t in texts]
    batch = _padded([tokenizer.encode(t, add_special_tokens=False) for t in lost], 0)
    [finding] = eos_guard.check_batch(batch, stop_ids, None, **how)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error"), finding


@pytest.mark.parametrize("name", ["answer_opening", "turn_openings"])
@pytest.mark.parametrize("opening", ["<|im_start|>assistant", 3.5, [1, "2"]])
def test_an_answer_or_turn_opening_that_is_not_token_ids_is_refused(tok, opening, name):
    with pytest.raises(BatchError, match=name):
        eos_guard.check_batch(_by_hand(tok, story.conversations()), stops(tok), 43, **{name: opening})


def test_truncation_of_every_example_in_full_rows_is_told_from_pretraining_blocks(tok):
    """Full-sequence loss, every conversation longer than max_length=20: full rows, no padding and no -100, as
    run_clm's blocks. But every row starts with <|im_start|> and supervises the prompt's <|im_end|>: each row is
    one example, cut before its answer's terminator (it was no finding)."""
    from transformers import DataCollatorForLanguageModeling

    cut = [{"input_ids": f["input_ids"][:20]} for f in chat(tok)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(cut)
    assert (batch["labels"] == batch["input_ids"]).all() and batch["attention_mask"].all()
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS026" and str(finding.severity) == "warning"
    assert finding.message.startswith("14 of 16 sequences (88%) in the batch do not end their last supervised span")
    assert "raise max_length" in finding.message


def test_truncation_inside_every_answer_under_assistant_only_loss(tok):
    """Every example cut inside its first answer: the data has the terminator, max_length took it (EOS026, an
    error since nothing teaches the model to stop; it was EOS024, "append the terminator")."""
    from transformers import DataCollatorForSeq2Seq

    features = [{key: value[:22] for key, value in f.items()} for f in chat(tok, KEEPS_TERMINATOR, assistant_only=True)]
    batch = DataCollatorForSeq2Seq(tok, return_tensors="np")(features)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    assert finding.message == (
        "14 of 14 sequences (100%) in the batch do not end their last supervised span with a stop id [43, 45]: each "
        "is as long as the longest (22 tokens) and supervised to its last token (truncated at max_length), and no "
        "supervised label is a stop id, so the model is never trained to stop; raise max_length or drop the examples "
        "that exceed it")
    assert (finding.location.line, finding.location.column) == (1, 22)


def _cut_inside_every_answer(tok) -> list[dict]:
    """Assistant-only labels, every conversation truncated to max_length=22, inside its first answer."""
    return [{key: value[:22] for key, value in f.items()} for f in chat(tok, KEEPS_TERMINATOR, assistant_only=True)]


@pytest.mark.parametrize("collator", ["seq2seq-pad-to-8", "trl-pad-to-8", "flattening", "trl-padding-free"])
def test_truncation_inside_every_answer_then_padded_or_packed_is_truncation(tok, collator):
    """The same truncated examples, padded to a multiple of 8 after truncation (rows of 24 that end in padding),
    or packed into one row with position_ids (DataCollatorWithFlattening; TRL's padding-free collator, which
    best-fit packing uses: it truncates a sequence longer than max_length to it). Every sequence is as long as
    the longest and supervised to its end: truncation, EOS026 (it was EOS024, "append the terminator")."""
    features = _cut_inside_every_answer(tok)
    if collator == "seq2seq-pad-to-8":
        from transformers import DataCollatorForSeq2Seq

        batch = DataCollatorForSeq2Seq(tok, pad_to_multiple_of=8, return_tensors="np")(features)
    elif collator == "flattening":
        from transformers import DataCollatorWithFlattening

        batch = DataCollatorWithFlattening(return_tensors="np")(features)
    else:
        make = _trl_collator()
        options = {"pad_to_multiple_of": 8} if collator == "trl-pad-to-8" else {"padding_free": True}
        batch = make(pad_token_id=tok.pad_token_id, **options)(features)
    batch = as_lists(batch)
    if "pad-to-8" in collator:
        assert len(batch["input_ids"][0]) == 24 and all(row[-1] == 0 for row in batch["attention_mask"])
    else:
        assert len(batch["input_ids"]) == 1 and "position_ids" in batch
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    assert finding.message.startswith("14 of 14 sequences (100%)") and "(22 tokens)" in finding.message


@pytest.mark.parametrize("collator", ["lm-pad-to-16", "flattening"])
def test_truncation_before_the_first_terminator_then_padded_or_packed_is_truncation(tok, collator):
    """Full-sequence loss, max_length=8, then padding to a multiple of 16 or packing: no stop id anywhere, every
    sequence 8 tokens long (it was EOS024)."""
    from transformers import DataCollatorForLanguageModeling, DataCollatorWithFlattening

    cut = [{"input_ids": f["input_ids"][:8]} for f in chat(tok)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, pad_to_multiple_of=16, return_tensors="np")(cut) \
        if collator == "lm-pad-to-16" else DataCollatorWithFlattening(return_tensors="np")(with_labels(cut))
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")


@pytest.mark.parametrize("collator", ["lm-pad-to-8", "flattening"])
def test_text_without_terminator_padded_to_a_multiple_or_packed_is_still_absent(tok, collator):
    """Sequences of different lengths, none cut: the formatted text lacks the terminator (EOS024), however padded."""
    from transformers import DataCollatorForLanguageModeling, DataCollatorWithFlattening

    batch = DataCollatorForLanguageModeling(tok, mlm=False, pad_to_multiple_of=8, return_tensors="np")(plain(tok)) \
        if collator == "lm-pad-to-8" else DataCollatorWithFlattening(return_tensors="np")(with_labels(plain(tok)))
    assert codes(eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)) == ["EOS024"]


def test_truncation_before_the_first_terminator_of_every_example_in_full_rows(tok):
    """Full-sequence loss, max_length=8, shorter than every first user turn: full rows, no padding, no -100 and no
    stop id anywhere, each row opening with <|im_start|>user. Truncation took every terminator: EOS026, an error (it
    was no finding: only rows that trained some stop id were read as examples)."""
    from transformers import DataCollatorForLanguageModeling

    cut = [{"input_ids": f["input_ids"][:8]} for f in chat(tok)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(cut)
    assert (batch["labels"] == batch["input_ids"]).all() and batch["attention_mask"].all()
    assert not set(batch["input_ids"].flatten().tolist()) & set(stops(tok))
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    assert finding.message.startswith("16 of 16 sequences (100%) in the batch do not end their last supervised span")
    assert "raise max_length" in finding.message


def test_truncated_chatml_rows_that_open_with_different_roles_are_examples(tok):
    """Half the conversations open with a system turn (<|im_start|>system), half with the user's: the rows share
    only <|im_start|>, which opens again after every <|im_end|> inside them. They are still examples, cut at
    max_length=24."""
    from transformers import DataCollatorForLanguageModeling

    system = [{"role": "system", "content": "be short."}]
    features = []
    for k, conversation in enumerate(story.conversations()):
        ids = tok.apply_chat_template(system + conversation if k % 2 else conversation, tokenize=True,
                                      return_dict=True)["input_ids"]
        features.append({"input_ids": list(ids)[:24]})
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(features)
    assert batch["attention_mask"].all() and len({int(r[1]) for r in batch["input_ids"]}) == 2
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert (finding.code, str(finding.severity)) == ("EOS026", "warning")
    assert finding.message.startswith("12 of 16 sequences (75%)")  # 4 rows end with <|im_end|>\n


def test_a_single_truncated_sequence_among_many_is_counted(tok):
    from transformers import DataCollatorForLanguageModeling

    features = chat(tok)
    features[3] = {"input_ids": features[3]["input_ids"][:20]}
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(features)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS026" and "1 of 16 sequences (6%)" in finding.message
    assert finding.location.line == 4


# -- packed, padding-free batches (position_ids) ---------------------------------------------------------

def test_flattened_batch_with_pad_equal_to_eos_is_clean(pad_is_eos):
    from transformers import DataCollatorWithFlattening

    batch = DataCollatorWithFlattening(return_tensors="np")(with_labels(chat(pad_is_eos)))
    assert batch["input_ids"].shape[0] == 1 and "attention_mask" not in batch
    assert eos_guard.check_batch(batch, stops(pad_is_eos), pad_is_eos.pad_token_id) == []


def test_flattened_batch_without_terminators(tok):
    from transformers import DataCollatorWithFlattening

    batch = DataCollatorWithFlattening(return_tensors="np")(with_labels(plain(tok)))
    assert codes(eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)) == ["EOS024"]


def test_flattened_batch_with_some_sequences_cut(tok):
    from transformers import DataCollatorWithFlattening

    features = with_labels(chat(tok))
    features[0] = {key: value[:20] for key, value in features[0].items()}
    features[9] = {key: value[:30] for key, value in features[9].items()}
    batch = DataCollatorWithFlattening(return_tensors="np")(features)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS026" and "2 of 16 sequences (12%)" in finding.message
    # the first cut sequence is the first of the row: its 20th token
    assert (finding.location.line, finding.location.column) == (1, 20)


def test_packed_sequences_with_a_masked_terminator(tok):
    from transformers import DataCollatorWithFlattening

    features = chat(tok, DROPS_TERMINATOR, assistant_only=True)
    batch = DataCollatorWithFlattening(return_tensors="np")(features)
    assert codes(eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)) == ["EOS025"]


# -- batches that must stay clean -------------------------------------------------------------------------

def test_chunks_of_pretraining_text_without_a_stop_are_not_reported(tok):
    """run_clm's group_texts: documents concatenated and cut into equal blocks, loss on every token. No
    sequence end is visible, so a missing eos is no finding."""
    from transformers import DataCollatorForLanguageModeling

    stream = [t for f in plain(tok) for t in f["input_ids"]]
    blocks = [{"input_ids": stream[i:i + 16]} for i in range(0, len(stream) - 16, 16)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(blocks)
    assert (batch["labels"] == batch["input_ids"]).all()
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id) == []


def test_chunks_of_pretraining_text_with_a_masked_eos_between_documents(pad_is_eos):
    """The same blocks with an eos after each document and pad == eos: the collator masks those eos."""
    from transformers import DataCollatorForLanguageModeling

    eos = pad_is_eos.eos_token_id
    stream = [t for f in plain(pad_is_eos) for t in f["input_ids"] + [eos]]
    blocks = [{"input_ids": stream[i:i + 16]} for i in range(0, len(stream) - 16, 16)]
    batch = DataCollatorForLanguageModeling(pad_is_eos, mlm=False, return_tensors="np")(blocks)
    assert batch["attention_mask"].all()
    assert codes(eos_guard.check_batch(batch, stops(pad_is_eos), pad_is_eos.pad_token_id)) == ["EOS023"]


def test_chunks_of_pretraining_text_with_a_trained_eos_between_documents(tok):
    """The blocks with an eos after each document and a distinct pad: the eos is trained inside the rows, and
    the rows start anywhere, so a row that ends without one says nothing."""
    from transformers import DataCollatorForLanguageModeling

    stream = [t for f in plain(tok) for t in f["input_ids"] + [tok.eos_token_id]]
    blocks = [{"input_ids": stream[i:i + 16]} for i in range(0, len(stream) - 16, 16)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(blocks)
    assert (batch["labels"] == batch["input_ids"]).all() and len({int(r[0]) for r in batch["input_ids"]}) > 1
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id) == []


def wrapped(features: list[dict], length: int, keep_tail: bool = True) -> list[dict]:
    """TRL's ``packing_strategy="wrapped"`` and run_clm's ``group_texts``: the token streams of every example
    concatenated and cut into blocks of ``length``. TRL keeps the shorter last block (run_clm drops it, unless
    the data set is shorter than one block), which the collator pads."""
    stream = [t for f in features for t in f["input_ids"]]
    end = len(stream) if keep_tail else len(stream) - len(stream) % length
    return [{"input_ids": stream[i:i + length]} for i in range(0, end, length)]


def documents(tokenizer) -> list[dict]:
    """Plain-text documents, each followed by the tokenizer's eos: pretraining text."""
    return [{"input_ids": f["input_ids"] + [tokenizer.eos_token_id]} for f in plain(tokenizer)]


@pytest.mark.parametrize("data", ["documents-with-eos", "chatml-conversations"])
@pytest.mark.parametrize("collator", ["transformers-lm", "trl"])
def test_wrapped_blocks_whose_last_block_is_padded_are_clean(tok, pad_is_eos, data, collator):
    """A small data set packed into blocks of 24: the last block is shorter, and its padding makes the batch show
    where a sequence ends. The full blocks still start and end anywhere, with the eos (or <|im_end|>) trained
    inside them: their ends are no truncation (it was EOS026, "4 of 8 sequences (50%) ... truncated at
    max_length")."""
    if collator == "trl":  # TRL pads by position, so pad == eos masks nothing
        tokenizer = pad_is_eos
        make = _trl_collator()(pad_token_id=tokenizer.pad_token_id)
    else:
        from transformers import DataCollatorForLanguageModeling

        tokenizer = tok
        make = DataCollatorForLanguageModeling(tokenizer, mlm=False, return_tensors="np")
    features = documents(tokenizer) if data == "documents-with-eos" else chat(tokenizer)[:3]
    batch = as_lists(make(wrapped(features, 24)))
    assert min(batch["attention_mask"][-1]) == 0 and all(min(row) == 1 for row in batch["attention_mask"][:-1])
    assert eos_guard.check_batch(batch, stops(tokenizer), tokenizer.pad_token_id) == []


@pytest.fixture(scope="module")
def with_bos():
    """The toy tokenizer with a bos, ``<s>``, for pretraining blocks that each start with it."""
    tokenizer = story.build_tokenizer()
    tokenizer.add_special_tokens({"bos_token": "<s>"})
    return tokenizer


@pytest.mark.parametrize("keep_tail", [False, True], ids=["full-blocks", "padded-last-block"])
def test_pretraining_blocks_each_prefixed_with_bos_train_the_eos_inside_them(with_bos, keep_tail):
    """Documents joined with the eos, cut into blocks of 15 each prefixed with the bos: every row opens with the
    same token, but goes on mid-document, and the eos inside the rows is followed by the next document, not by
    the bos. Blocks, not examples (it was EOS026, "10 of 12 sequences (83%)")."""
    from transformers import DataCollatorForLanguageModeling

    bos = with_bos.bos_token_id
    blocks = [{"input_ids": [bos] + b["input_ids"]} for b in wrapped(documents(with_bos), 15, keep_tail)]
    batch = DataCollatorForLanguageModeling(with_bos, mlm=False, return_tensors="np")(blocks)
    assert {int(r[0]) for r in batch["input_ids"]} == {bos}
    assert (batch["labels"] == with_bos.eos_token_id).sum() >= 4  # the eos is trained inside the blocks
    assert eos_guard.check_batch(batch, stops(with_bos), with_bos.pad_token_id) == []


@pytest.mark.parametrize("keep_tail", [False, True], ids=["full-blocks", "padded-last-block"])
def test_pretraining_blocks_prefixed_with_bos_from_documents_that_carry_a_bos_too(with_bos, keep_tail):
    """Each document tokenized with the bos and the eos (Llama 3's tokenizer with an eos appended), one longer
    than every block, concatenated and cut into blocks of 15 each prefixed with the bos: the bos opens again
    after every eos inside the rows, as ChatML's <|im_start|> does after <|im_end|>, but the rows go on
    mid-document after it, each with its own token. Blocks, not examples (it was EOS026, "11 of 13 sequences
    (85%)")."""
    from transformers import DataCollatorForLanguageModeling

    bos, eos = with_bos.bos_token_id, with_bos.eos_token_id
    texts = [f["input_ids"] for f in plain(with_bos)]
    texts[2] = [t for text in texts for t in text][:40]  # a document longer than every block
    docs = [{"input_ids": [bos] + text + [eos]} for text in texts]
    blocks = [{"input_ids": [bos] + b["input_ids"]} for b in wrapped(docs, 15, keep_tail)]
    batch = DataCollatorForLanguageModeling(with_bos, mlm=False, return_tensors="np")(blocks)
    assert {int(r[0]) for r in batch["input_ids"]} == {bos} and (batch["labels"] == eos).sum() >= 4
    assert eos_guard.check_batch(batch, stops(with_bos), with_bos.pad_token_id) == []


def test_pretraining_blocks_prefixed_with_bos_without_any_eos_are_not_reported(with_bos):
    """The same blocks from documents joined without an eos: no sequence end shows, and rows that share only the
    bos are no examples cut before their terminator (EOS026 is not read into them)."""
    from transformers import DataCollatorForLanguageModeling

    bos = with_bos.bos_token_id
    blocks = [{"input_ids": [bos] + b["input_ids"]} for b in wrapped(plain(with_bos), 15, keep_tail=False)]
    batch = DataCollatorForLanguageModeling(with_bos, mlm=False, return_tensors="np")(blocks)
    assert batch["attention_mask"].all()
    assert eos_guard.check_batch(batch, stops(with_bos), with_bos.pad_token_id) == []


def _one_row_batches(tokenizer, features: list[dict]) -> list:
    """``per_device_train_batch_size=1``: each example collated alone, so no batch has padding."""
    from transformers import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(tokenizer, mlm=False, return_tensors="np")
    return [collator([feature]) for feature in features]


def test_text_without_terminator_in_batches_of_one_row(tok):
    """A batch of one row shows no sequence end, but examples in batches of their own are of different lengths,
    as blocks cut from concatenated text are not: the missing terminator is EOS024 (it was no finding)."""
    texts = [{"input_ids": tok(f"{q} {a}", add_special_tokens=False)["input_ids"]} for q, a in story.QA]
    batches = _one_row_batches(tok, texts)  # they open with "what", "how", "where", "when": no common opening
    assert all(b["attention_mask"].all() for b in batches) and len({b["input_ids"].shape[1] for b in batches}) > 2
    assert codes(check_batches(batches, stops(tok), tok.pad_token_id)) == ["EOS024"]


def test_truncation_of_some_texts_in_batches_of_one_row(tok):
    """Plain texts that end with the eos, each in a batch of its own, half of them cut at 18: EOS026 (it was no
    finding: full rows ending without a stop read as blocks)."""
    texts = [tok(f"{q} {a}", add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for q, a in story.QA]
    assert min(len(t) for t in texts) < 18 < max(len(t) for t in texts)
    batches = _one_row_batches(tok, [{"input_ids": t[:18]} for t in texts])
    [finding] = check_batches(batches, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS026" and str(finding.severity) == "warning"
    cut = sum(len(t) > 18 for t in texts)
    assert finding.message.startswith(f"{cut} of 8 sequences")


@pytest.mark.parametrize("keep_tail", [False, True], ids=["full-blocks", "shorter-last-block"])
def test_pretraining_blocks_in_batches_of_one_row_are_not_reported(tok, keep_tail):
    """run_clm's blocks (all as long) and TRL's wrapped blocks (the last one shorter), one a batch, without an eos:
    one shorter row is what wrapping leaves, so nothing is reported."""
    stream = [t for f in plain(tok) for t in f["input_ids"]]
    blocks = wrapped([{"input_ids": stream}], 20, keep_tail)
    assert len({len(b["input_ids"]) for b in blocks}) == (2 if keep_tail else 1)
    assert check_batches(_one_row_batches(tok, blocks), stops(tok), tok.pad_token_id) == []


def test_one_unpadded_example_without_a_loss_mask_looks_like_a_chunk():
    """No padding, no -100, no packing: where the sequence ends is not visible, so nothing is reported."""
    batch = {"input_ids": [[1, 5, 6, 7]], "attention_mask": [[1, 1, 1, 1]], "labels": [[1, 5, 6, 7]]}
    assert eos_guard.check_batch(batch, [2], 0) == []


def test_full_sequence_loss_on_chatml_conversations_is_clean(tok):
    """Every conversation ends ``<|im_end|>\\n``: the newline after the terminator is supervised too."""
    from transformers import DataCollatorForSeq2Seq

    batch = DataCollatorForSeq2Seq(tok, return_tensors="np")(with_labels(chat(tok)))
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id) == []


def test_a_batch_with_nothing_supervised_has_no_finding():
    batch = {"input_ids": [[1, 5, 2, 0]], "attention_mask": [[1, 1, 1, 0]], "labels": [[-100] * 4]}
    assert eos_guard.check_batch(batch, [2], 0) == []


def test_the_first_label_is_not_trained_so_a_stop_there_does_not_count():
    """transformers shifts labels inside the model: the label at position 0 has no prediction."""
    batch = {"input_ids": [[2, 5, 6, 0]], "attention_mask": [[1, 1, 1, 0]], "labels": [[2, 5, 6, -100]]}
    [finding] = eos_guard.check_batch(batch, [2], 0)
    assert finding.code == "EOS024" and "never after a supervised span" in finding.message


def test_encoder_decoder_labels_are_read_on_their_own():
    """Labels of another length than input_ids are a decoder's: read alone, the first one trained too."""
    done = {"input_ids": [[7, 8, 9, 1]], "labels": [[5, 6, 1, -100, -100]]}
    assert eos_guard.check_batch(done, [1], 0) == []
    never = {"input_ids": [[7, 8, 9, 1]], "labels": [[5, 6, 4, -100, -100]]}
    [finding] = eos_guard.check_batch(never, [1], 0)
    assert finding.code == "EOS024" and "no stop id appears in the labels" in finding.message


def test_encoder_decoder_labels_as_wide_as_input_ids_are_read_on_their_own():
    """helper-137: a T5's source and target padded to one width (padding="max_length", DataCollatorForSeq2Seq's
    pad_to_multiple_of=8 under fp16) were read as causal labels lined up with the source: every label under the
    source's padding was dropped, the target's </s> with them, and a correct run stopped with EOS024. Labels that
    are mostly not the input id at their position are a decoder's; encoder_decoder=True (the callback passes the
    model's config.is_encoder_decoder) says so outright."""
    done = {"input_ids": [[7, 8, 1, 0, 0, 0]], "attention_mask": [[1, 1, 1, 0, 0, 0]],
            "labels": [[5, 6, 9, 4, 1, -100]]}
    assert eos_guard.check_batch(done, [1], 0) == []
    assert eos_guard.check_batch(done, [1], 0, encoder_decoder=True) == []
    # False (a causal model's config, as the callback passes it): lined up, the source's padding left out
    assert [f.code for f in eos_guard.check_batch(done, [1], 0, encoder_decoder=False)] == ["EOS024"]
    never = {**done, "labels": [[5, 6, 9, 4, 3, -100]]}
    for flag in (None, True):
        [finding] = eos_guard.check_batch(never, [1], 0, encoder_decoder=flag)
        assert finding.code == "EOS024" and "no stop id appears in the labels" in finding.message, finding
    # a causal collator's labels are input_ids with positions left out: still lined up, padding still left out
    causal = {"input_ids": [[7, 8, 5, 0, 0]], "attention_mask": [[1, 1, 1, 0, 0]], "labels": [[7, 8, 5, -100, -100]]}
    [finding] = eos_guard.check_batch(causal, [1], 0)
    assert finding.code == "EOS024" and "no stop id appears in input_ids" in finding.message, finding
    with pytest.raises(BatchError, match="encoder_decoder must be True, False or None, not 'yes'"):
        eos_guard.check_batch(done, [1], 0, encoder_decoder="yes")


def test_a_batch_with_decoder_input_ids_holds_a_decoder_s_labels():
    """training.md: labels as wide as input_ids are read on their own when the batch holds decoder_input_ids
    (DataCollatorForSeq2Seq given the model makes them), even where most labels equal the input id at their place."""
    batch = {"input_ids": [[7, 8, 9, 0, 0]], "attention_mask": [[1, 1, 1, 0, 0]], "labels": [[7, 8, 9, 5, 1]],
             "decoder_input_ids": [[0, 7, 8, 9, 5]]}
    assert eos_guard.check_batch(batch, [1], 0) == []
    without = {key: value for key, value in batch.items() if key != "decoder_input_ids"}
    assert [f.code for f in eos_guard.check_batch(without, [1], 0)] != []  # read lined up: the padding hides </s>


# -- input forms -----------------------------------------------------------------------------------------

def test_lists_and_numpy_need_neither_torch_nor_numpy_imported():
    code = ("import sys, eos_guard\n"
            "batch = {'input_ids': [[1, 5, 2, 2]], 'attention_mask': [[1, 1, 1, 0]], 'labels': [[1, 5, -100, -100]]}\n"
            "print([f.code for f in eos_guard.check_batch(batch, [2], 2)])\n"
            "print(sorted(m for m in ('torch', 'numpy', 'transformers') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.splitlines() == ["['EOS023']", "[]"]


def test_the_callback_module_does_not_import_trl():
    code = "import sys, eos_guard.integrations.transformers; print('trl' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(("arguments", "error", "message"), [
    pytest.param({"data_batches": 0}, ValueError, "data_batches must be 1 or more, not 0", id="data-batches-0"),
    pytest.param({"data_batches": -1}, ValueError, "data_batches must be 1 or more, not -1",
                 id="data-batches-negative"),
    pytest.param({"data_batches": "8"}, TypeError, "data_batches must be an int, not str ('8')", id="data-batches-str"),
    pytest.param({"data_batches": True}, TypeError, "data_batches must be an int, not bool", id="data-batches-bool"),
    pytest.param({"fail_on": None}, TypeError, "fail_on must be 'error', 'warning' or 'info', not None",
                 id="fail-on-none"),
    pytest.param({"fail_on": "fatal"}, ValueError, "unknown severity 'fatal'", id="fail-on-unknown"),
    # a string is true: strict="no" switched strict mode on
    pytest.param({"strict": "no"}, TypeError, "strict must be True or False, not str ('no')", id="strict-str"),
    pytest.param({"check_data": 0}, TypeError, "check_data must be True or False, not int (0)", id="check-data-int"),
    pytest.param({"strict_data": None}, TypeError, "strict_data must be True or False, not NoneType (None)",
                 id="strict-data-none"),
])
def test_the_callback_refuses_bad_arguments_when_it_is_made(arguments, error, message):
    """Not inside train(): data_batches=0 skipped the data check without a word, "8" raised a TypeError from
    on_train_begin, fail_on=None an AttributeError."""
    from eos_guard.integrations.transformers import EosGuardCallback

    with pytest.raises(error, match=re.escape(message)):
        EosGuardCallback(**arguments)


def test_one_stop_id_alone_is_read_as_generation_config_gives_it():
    """``generation_config.eos_token_id`` is often one int: passing it as it is raised a bare TypeError."""
    batch = {"input_ids": (1, 5, 2), "labels": (1, 5, -100)}
    assert codes(eos_guard.check_batch(batch, 2, 2)) == codes(eos_guard.check_batch(batch, [2], 2)) == ["EOS023"]


def test_stop_ids_as_an_array_of_one_id_or_more():
    """A 0-d array (``np.array(2)``, a tensor's scalar) iterated raised TypeError; ``.tolist()`` reads both."""
    np = pytest.importorskip("numpy")
    batch = {"input_ids": (1, 5, 2), "labels": (1, 5, -100)}
    assert codes(eos_guard.check_batch(batch, np.array(2), 2)) == codes(eos_guard.check_batch(batch, np.array([2, 7]),
                                                                                             2)) == ["EOS023"]


def test_one_flat_row_and_tuples_are_read():
    assert codes(eos_guard.check_batch({"input_ids": (1, 5, 2), "labels": (1, 5, -100)}, (2,), 2)) == ["EOS023"]


def test_torch_tensors_and_a_batch_encoding(pad_is_eos):
    pytest.importorskip("torch")
    from transformers import DataCollatorForLanguageModeling

    batch = DataCollatorForLanguageModeling(pad_is_eos, mlm=False, return_tensors="pt")(chat(pad_is_eos))
    assert type(batch).__name__ == "BatchEncoding"
    assert codes(eos_guard.check_batch(batch, stops(pad_is_eos), pad_is_eos.pad_token_id)) == ["EOS023"]


@pytest.mark.parametrize(("batch", "stop_ids", "message"), [
    pytest.param({"input_ids": [[1, 2]]}, [2], "a batch needs 'input_ids' and 'labels'", id="no-labels"),
    pytest.param([[1, 2]], [2], "a batch needs 'input_ids' and 'labels'", id="not-a-mapping"),
    pytest.param({"input_ids": [[1, 2]], "labels": [[1, 2], [1, 2]]}, [2], "'labels' has 2 rows", id="rows"),
    pytest.param({"input_ids": [["a", "b"]], "labels": [[1, 2]]}, [2], "not an integer token id", id="strings"),
    pytest.param({"input_ids": [[1, 2]], "labels": [[1, 2]]}, [], "no stop ids given", id="no-stop-ids"),
    pytest.param({"input_ids": [[1, 2]], "labels": [[1, 2]]}, None, "no stop ids given", id="none"),
    pytest.param({"input_ids": [[1, 2]], "labels": [[1, 2]]}, 2.5, "not an integer token id", id="a-float"),
    pytest.param({"input_ids": [[1, 2]], "labels": [[1, 2]]}, "12", "stop_ids must be token ids, not text",
                 id="a-string"),
    pytest.param({"input_ids": [[1, 2]], "labels": [[1, 2]]}, b"\x02", "stop_ids must be token ids, not text",
                 id="bytes"),
])
def test_unreadable_batches_raise_a_value_error(batch, stop_ids, message):
    with pytest.raises(BatchError, match=re.escape(message)):
        eos_guard.check_batch(batch, stop_ids, 0)
    assert issubclass(BatchError, ValueError)


@pytest.mark.parametrize("kind", ["lists", "numpy", "torch"])
def test_a_bool_attention_mask_is_read(kind):
    """A mask of True and False (``torch.bool``, common in custom collators) marks padding as 0 and 1 do: the
    text has no terminator, so EOS024 (it was not read, the padding counted as text, and EOS023 named the pad)."""
    ids = [[1, 5, 6, 7, 2, 2], [1, 8, 9, 10, 11, 12]]  # 2 = eos = pad; no eos in the text
    mask = [[True, True, True, True, False, False], [True] * 6]
    labels = [[-100 if t == 2 else t for t in row] for row in ids]
    if kind == "numpy":
        np = pytest.importorskip("numpy")
        ids, mask, labels = np.array(ids), np.array(mask), np.array(labels)
    elif kind == "torch":
        torch = pytest.importorskip("torch")
        ids, mask, labels = torch.tensor(ids), torch.tensor(mask), torch.tensor(labels)
        assert mask.dtype == torch.bool
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    assert codes(eos_guard.check_batch(batch, [2], 2)) == ["EOS024"]


def test_an_attention_mask_of_another_shape_is_not_read():
    """A 4-D mask (some packing collators make one) is left aside; the rest of the batch is read."""
    mask = [[[[1, 0, 0], [1, 1, 0], [1, 1, 1]]]]
    batch = {"input_ids": [[1, 5, 2]], "attention_mask": mask, "labels": [[1, 5, -100]]}
    assert codes(eos_guard.check_batch(batch, [2], 2)) == ["EOS023"]


def test_several_batches_are_one_sample():
    """One short batch without a stop does not decide alone; locations name the batch."""
    trained = {"input_ids": [[1, 5, 2, 0]], "attention_mask": [[1, 1, 1, 0]], "labels": [[1, 5, 2, -100]]}
    cut = {"input_ids": [[1, 5, 6, 7]], "attention_mask": [[1, 1, 1, 1]], "labels": [[1, 5, 6, 7]]}
    [finding] = check_batches([trained, cut], [2], 0)
    assert finding.code == "EOS026" and "1 of 2 sequences (50%) in the 2 batches" in finding.message
    assert (str(finding.location.path), finding.location.line, finding.location.column) == ("<batch 2>", 1, 4)


def test_the_reporters_render_batch_findings(pad_is_eos):
    batch = {"input_ids": [[1, 5, 2, 2]], "attention_mask": [[1, 1, 1, 0]], "labels": [[1, 5, -100, -100]]}
    findings = eos_guard.check_batch(batch, [2], 2)
    report = Report([ModelReport(Path("<batch>"), None, findings)])
    assert text.concise(report).splitlines()[0].startswith("<batch>:1:3: EOS023 error: no supervised label")
    document = json.loads(json_v1.render(report))
    assert [(f["code"], f["path"], f["line"], f["column"]) for f in document["findings"]] == [
        ("EOS023", "<batch>", 1, 3)]
    [result] = sarif.document(report)["runs"][0]["results"]
    assert result["ruleId"] == "EOS023"
    assert github.render(report).startswith("::error file=<batch>,line=1,")


# -- TRL's collator (when TRL is installed: the e2e extra) --------------------------------------------------

def _trl_collator():
    """TRL's SFT collator; CI installs TRL (the e2e extra), so there a missing TRL fails instead of skipping."""
    if not os.environ.get("CI"):
        pytest.importorskip("trl")
    return importlib.import_module("trl.trainer.sft_trainer").DataCollatorForLanguageModeling


@pytest.mark.parametrize("padding_free", [False, True], ids=["padded", "padding-free"])
def test_trl_collator_pads_by_position_so_pad_equal_to_eos_is_fine(pad_is_eos, padding_free):
    DataCollatorForLanguageModeling = _trl_collator()
    collator = DataCollatorForLanguageModeling(pad_token_id=pad_is_eos.pad_token_id, padding_free=padding_free)
    batch = collator(chat(pad_is_eos))
    assert ("position_ids" in batch) == padding_free
    assert eos_guard.check_batch(batch, stops(pad_is_eos), pad_is_eos.pad_token_id) == []


@pytest.mark.parametrize("data, code", [("cut-before-the-first-terminator", "EOS026"), ("without-terminator", "EOS024")])
def test_trl_padding_free_padded_to_a_multiple_with_pad_equal_to_eos_is_not_the_pad(pad_is_eos, data, code):
    """TRL's padding-free collator pads the one row to a multiple of 64 with the pad id, label -100 and position
    id 0: each padding token reads as a sequence of one, a masked pad == eos, and no stop id was trained (every
    conversation cut to 8 tokens; text without the terminator), so it was EOS023, "the collator masks every
    eos". TRL masks by position; padding trains nothing. The causes are truncation (EOS026) and the formatting
    (EOS024)."""
    features = [{"input_ids": f["input_ids"][:8]} for f in chat(pad_is_eos)][:15] \
        if data.startswith("cut") else plain(pad_is_eos)
    batch = as_lists(_trl_collator()(pad_token_id=pad_is_eos.pad_token_id, padding_free=True,
                                     pad_to_multiple_of=64)(features))
    assert batch["input_ids"][0][-1] == pad_is_eos.pad_token_id and batch["position_ids"][0][-2:] == [0, 0]
    findings = eos_guard.check_batch(batch, stops(pad_is_eos), pad_is_eos.pad_token_id)
    assert [(f.code, str(f.severity)) for f in findings] == [(code, "error")]


@pytest.mark.parametrize("data, part", [("documents-with-eos", 2), ("chatml-conversations", 4),
                                        ("chatml-conversations", 8)])
def test_trl_wrapped_packing_leaves_a_padded_block_in_each_part_of_the_dataset(tok, data, part):
    """TRL's pack_dataset wraps each batch of ``datasets.map`` (1000 examples by default; each process's shard
    with ``dataset_num_proc``) on its own, so every part leaves a shorter last block, which the collator pads:
    here parts of 2, 4 or 8 examples in blocks of 32, two to four padded blocks among the full ones. Each starts
    mid-text, as the full ones do (it was EOS026, "13 of 21 sequences (62%)": two padded rows read as examples).
    (Not parts of 4 documents: both padded blocks start with the toy tokenizer's " ", which opens both, as a role
    would.)"""
    collator = _trl_collator()(pad_token_id=tok.pad_token_id)  # skips without TRL (and so without datasets)
    from datasets import Dataset
    from trl.data_utils import pack_dataset

    features = documents(tok) if data == "documents-with-eos" else chat(tok)
    blocks = pack_dataset(Dataset.from_list(features), 32, strategy="wrapped", map_kwargs={"batch_size": part})
    rows = [blocks[i] for i in range(len(blocks))]
    assert sum(len(row["input_ids"]) < 32 for row in rows) >= 2
    batches = [collator(rows[i:i + 8]) for i in range(0, len(rows), 8)]
    assert check_batches(batches, stops(tok), tok.pad_token_id) == []


@pytest.mark.parametrize("strategy", ["bfd", "bfd_split"])
def test_trl_best_fit_packing_that_splits_long_conversations_is_no_truncation(tok, strategy):
    """TRL's pack_dataset into bins of 40, then its padding-free collator, 2 bins a batch, every batch read as one
    sample (as the callback does). "bfd" truncates the two-turn conversations (50-58 tokens) to 40: EOS026.
    "bfd_split" splits them instead, and packs the rest, which ends with the terminator, as a piece of its own
    that opens mid-conversation: the 40-token pieces were not cut (it was EOS026, "5 of 16 sequences")."""
    collator = _trl_collator()(pad_token_id=tok.pad_token_id, padding_free=True)
    from datasets import Dataset
    from trl.data_utils import pack_dataset

    bins = pack_dataset(Dataset.from_list(chat(tok)), 40, strategy=strategy)
    rows = [bins[i] for i in range(len(bins))]
    batches = [collator(rows[i:i + 2]) for i in range(0, len(rows), 2)]
    findings = check_batches(batches, stops(tok), tok.pad_token_id)
    if strategy == "bfd":
        assert [(f.code, str(f.severity)) for f in findings] == [("EOS026", "warning")]
        assert findings[0].message.startswith("5 of 16 sequences (31%) in the 8 batches")
    else:
        assert findings == []


@pytest.mark.parametrize("padding_free", [False, True], ids=["padded", "padding-free"])
@pytest.mark.parametrize("pad", ["distinct-pad", "pad-is-eos"])
def test_trl_collator_with_a_mask_that_excludes_the_terminator(tok, pad_is_eos, padding_free, pad):
    """With pad == eos too the mask is the cause: TRL pads labels by position (it was EOS023)."""
    tokenizer = tok if pad == "distinct-pad" else pad_is_eos
    DataCollatorForLanguageModeling = _trl_collator()
    collator = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=padding_free)
    batch = collator(chat(tokenizer, DROPS_TERMINATOR, assistant_only=True))
    assert codes(eos_guard.check_batch(batch, stops(tokenizer), tokenizer.pad_token_id)) == ["EOS025"]


def test_pad_equal_to_eos_under_a_mask_that_excludes_the_terminator_is_the_mask(pad_is_eos):
    """A collator that pads labels by position (Seq2Seq, TRL's) with pad == eos, and a {% generation %} block that
    closes before <|im_end|>: the mask is the cause (EOS025), not the pad token (it was EOS023, whose fix changes
    nothing here). The tokens after each masked <|im_end|> are masked too: a span, not a hole at the pad id."""
    from transformers import DataCollatorForSeq2Seq

    batch = DataCollatorForSeq2Seq(pad_is_eos, return_tensors="np")(chat(pad_is_eos, DROPS_TERMINATOR,
                                                                         assistant_only=True))
    assert codes(eos_guard.check_batch(batch, stops(pad_is_eos), pad_is_eos.pad_token_id)) == ["EOS025"]


def test_pad_equal_to_eos_masked_by_id_under_a_completion_only_mask_is_the_pad(pad_is_eos):
    """A completion-only mask (everything before the first answer -100) from a collator that also masks the pad
    id, as DataCollatorForCompletionOnlyLM did: every <|im_end|> is masked while the "\\n" after it is trained.
    Only the pad id explains that hole: EOS023."""
    from transformers import DataCollatorForSeq2Seq

    pad = pad_is_eos.pad_token_id
    features = []
    for feature in chat(pad_is_eos, KEEPS_TERMINATOR, assistant_only=True):
        start = next(i for i, label in enumerate(feature["labels"]) if label != -100)
        labels = [-100 if i < start or t == pad else t for i, t in enumerate(feature["input_ids"])]
        features.append({"input_ids": feature["input_ids"], "labels": labels})
    batch = DataCollatorForSeq2Seq(pad_is_eos, return_tensors="np")(features)
    assert codes(eos_guard.check_batch(batch, stops(pad_is_eos), pad)) == ["EOS023"]


def test_pad_equal_to_eos_masked_by_id_under_a_template_mask_that_keeps_the_terminator(pad_is_eos):
    """The template's mask keeps <|im_end|> and leaves the "\\n" after it out (KEEPS_TERMINATOR); the script then
    masks the pad id, as ``labels[labels == tokenizer.pad_token_id] = -100`` does, and pad == eos. <|im_end|> is
    not trained, so the error is right; but the batch is, token for token, the one a {% generation %} block that
    closes before <|im_end|> makes with a collator that pads by position: the labels cannot tell the two causes
    apart. EOS025 names both fixes (it named only the template's)."""
    from transformers import DataCollatorForSeq2Seq

    pad = pad_is_eos.pad_token_id
    by_id = [{"input_ids": f["input_ids"], "labels": [-100 if t == pad else label
                                                      for t, label in zip(f["input_ids"], f["labels"])]}
             for f in chat(pad_is_eos, KEEPS_TERMINATOR, assistant_only=True)]
    batch = DataCollatorForSeq2Seq(pad_is_eos, return_tensors="np")(by_id)
    template = DataCollatorForSeq2Seq(pad_is_eos, return_tensors="np")(chat(pad_is_eos, DROPS_TERMINATOR,
                                                                            assistant_only=True))
    assert as_lists(batch) == as_lists(template)
    [finding] = eos_guard.check_batch(batch, stops(pad_is_eos), pad)
    assert finding.code == "EOS025"
    assert "put the terminator inside the supervised span" in finding.message
    assert (f"the pad token id {pad} is this stop id: if the loss mask keeps it, the collator masks it by id "
            "(pad token == eos); then give the tokenizer a pad token that is not a stop id") in finding.message


def test_a_mask_that_excludes_a_terminator_that_is_not_the_pad_names_only_the_mask(tok):
    from transformers import DataCollatorForSeq2Seq

    batch = DataCollatorForSeq2Seq(tok, return_tensors="np")(chat(tok, DROPS_TERMINATOR, assistant_only=True))
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS025" and "pad token" not in finding.message


def test_answers_without_terminator_under_prompt_masking(tok):
    """The prompts end with <|im_end|> (masked), the answers were formatted without it: the mask is not the
    problem, the formatting is (EOS024, not EOS025)."""
    from transformers import DataCollatorForSeq2Seq

    im_end = tok.convert_tokens_to_ids(story.TERMINATOR)
    features = []
    for question, answer in story.QA:
        prompt = tok.apply_chat_template([{"role": "user", "content": question}], tokenize=True,
                                         add_generation_prompt=True, return_dict=True)["input_ids"]
        reply = tok(answer, add_special_tokens=False)["input_ids"]
        features.append({"input_ids": prompt + reply, "labels": [-100] * len(prompt) + reply})
    assert all(im_end in f["input_ids"] for f in features)
    batch = DataCollatorForSeq2Seq(tok, return_tensors="np")(features)
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS024"
    assert "stop ids appear only in unsupervised parts (prompts), never after a supervised span" in finding.message


def test_truncated_multi_turn_rows_whose_turns_open_with_their_role_still_count():
    """Zephyr-style rows (``<|system|>``/``<|user|>``/``<|assistant|>`` each open a turn, ``</s>`` ends one): the
    rows neither share their second token nor reopen with their first after a stop, so after 6995feb a truncated
    full row read as a block of wrapped text and EOS026 went silent. Two rows that end before padding show that
    rows are examples: wrapped text pads only the dataset's last block."""
    full = [1, 10, 13, 20, 2, 13, 11, 13, 21, 2, 13, 12, 13, 22, 23, 24]  # cut inside its last answer
    padded = [[1, 11, 13, 21, 2, 13, 12, 13, 22, 25, 2, 13, 0, 0, 0, 0],
              [1, 11, 13, 26, 2, 13, 12, 13, 27, 2, 13, 0, 0, 0, 0, 0]]
    batch = {"input_ids": [full, *padded],
             "attention_mask": [[1] * 16, [1] * 12 + [0] * 4, [1] * 11 + [0] * 5],
             "labels": [[-100] * 13 + [22, 23, 24], [-100] * 8 + [22, 25, 2] + [-100] * 5,
                        [-100] * 8 + [27, 2] + [-100] * 6]}
    findings = eos_guard.check_batch(batch, stop_ids=[2], pad_token_id=0)
    assert [(f.code, str(f.severity)) for f in findings] == [("EOS026", "warning")]
    assert findings[0].message.startswith("1 of 3 sequences (33%)")


# -- blocks and pieces that end where packing put them, not where truncation cut ----------------------------

def long_document(tokenizer, copies: int = 2) -> list[int]:
    """Every question and answer as one plain text, ``copies`` times, then the eos: one document longer than
    any block, with no stop id inside it and no bos."""
    text = " ".join([" ".join(f"{q} {a}" for q, a in story.QA)] * copies)
    return tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]


@pytest.mark.parametrize("collator", ["transformers-lm", "trl"])
def test_one_long_document_wrapped_with_a_padded_last_block_is_no_truncation(tok, collator):
    """One document cut into blocks of 32, the last one padded: the full blocks hold no stop id, as examples cut
    at max_length would not either, and the padded block ends with the eos. One padded row shows where one text
    ends, not that every row is a text (it was EOS026, "9 of 10 sequences (90%)")."""
    if collator == "trl":
        make = _trl_collator()(pad_token_id=tok.pad_token_id)
    else:
        from transformers import DataCollatorForLanguageModeling

        make = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")
    batch = as_lists(make(wrapped([{"input_ids": long_document(tok)}], 32)))
    masks = [min(row) for row in batch["attention_mask"]]
    assert len(masks) >= 5 and masks == [1] * (len(masks) - 1) + [0]
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id) == []
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, packing="wrapped", max_length=32) == []


def test_plain_texts_cut_at_max_length_beside_two_padded_rows_are_still_truncation(tok):
    """The true positive the rule above keeps: plain texts each followed by the eos, one text a row, four longer
    than max_length=24 and cut, four padded: EOS026."""
    from transformers import DataCollatorForLanguageModeling

    texts = [tok(" ".join(f"{q} {a}" for q, a in story.QA[i:i + 1 + i % 2]), add_special_tokens=False)["input_ids"]
             + [tok.eos_token_id] for i in range(8)]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(
        [{"input_ids": t[:24]} for t in texts])
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS026" and finding.message.startswith("4 of 8 sequences (50%)")
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, packing=False, max_length=24)
    assert finding.code == "EOS026" and finding.message.startswith("4 of 8 sequences (50%)")


def _plain_texts(tok) -> list[dict]:
    """Plain texts without a bos, each followed by the eos (as TRL's SFTTrainer appends it): one question and
    answer (10-14 tokens) or three (38-46), so that every third text is longer than 24."""
    return [{"input_ids": tok(" ".join(f"{q} {a}" for q, a in story.QA[i:i + k]), add_special_tokens=False)[
        "input_ids"] + [tok.eos_token_id]} for i in range(8) for k in (1, 3)]


@pytest.mark.parametrize("strategy", ["bfd", "bfd_split"])
def test_plain_text_packed_by_bfd_split_is_told_from_bfd_only_by_the_caller(tok, strategy):
    """TRL's pack_dataset into bins of 24 and its padding-free collator. Plain text without a bos opens each
    sequence with its own word, so the batches cannot show whether a 24-token piece was cut ("bfd") or goes
    on in another piece ("bfd_split"): read from the batches, both are EOS026 (bfd_split's a false alarm).
    ``packing=`` (what EosGuardCallback reads from TRL's SFTConfig) tells them apart."""
    collator = _trl_collator()(pad_token_id=tok.pad_token_id, padding_free=True)
    from datasets import Dataset
    from trl.data_utils import pack_dataset

    bins = pack_dataset(Dataset.from_list(_plain_texts(tok)), 24, strategy=strategy)
    rows = [bins[i] for i in range(len(bins))]
    batches = [collator(rows[i:i + 4]) for i in range(0, len(rows), 4)]
    assert codes(check_batches(batches, stops(tok), tok.pad_token_id)) == ["EOS026"]
    told = check_batches(batches, stops(tok), tok.pad_token_id, packing=strategy, max_length=24)
    if strategy == "bfd":
        assert [(f.code, str(f.severity)) for f in told] == [("EOS026", "warning")]
        assert told[0].message.startswith("8 of 16 sequences (50%)")
    else:
        assert told == []


@pytest.mark.parametrize("collator", ["transformers-lm", "trl-padding-free"])
def test_wrapped_blocks_the_caller_names_are_never_truncation(tok, collator):
    """Blocks of 32 from two long documents, the second wrapped on its own (a second part, as
    ``dataset_num_proc=2`` makes): two padded rows, which read as examples, and TRL's padding-free collator
    packs the blocks, which read as sequences cut at the longest. ``packing="wrapped"`` says the full blocks
    go on in the next one."""
    if collator == "trl-padding-free":
        make = _trl_collator()(pad_token_id=tok.pad_token_id, padding_free=True)
    else:
        from transformers import DataCollatorForLanguageModeling

        make = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")
    blocks = wrapped([{"input_ids": long_document(tok)}], 32) + wrapped([{"input_ids": long_document(tok, 3)}], 32)
    batch = make(blocks)
    assert codes(eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)) == ["EOS026"]  # read from the batch
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, packing="wrapped") == []
    # the padded blocks' ends are still read: a part whose text lacks the eos is reported
    open_ended = make([{"input_ids": b["input_ids"][:-1] if len(b["input_ids"]) < 32 else b["input_ids"]}
                       for b in blocks])
    assert codes(eos_guard.check_batch(open_ended, stops(tok), tok.pad_token_id, packing="wrapped")) == ["EOS024"]


def test_texts_without_the_terminator_that_happen_to_be_as_long_are_told_from_truncation_by_max_length(tok):
    """Three formatted texts without the terminator, all 19 tokens: read from the batch they are as long as the
    longest and supervised to their last token, which truncation would leave too (EOS026, an error). Only the
    length truncation cuts at tells: below ``max_length`` nothing was cut, and the text lacks the terminator
    (EOS024)."""
    from transformers import DataCollatorForLanguageModeling

    same = [f for f in plain(tok) if len(f["input_ids"]) == 19]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(same)
    assert len(same) == 3 and batch["attention_mask"].all()
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    # no stop id anywhere, not even in a prompt: the message names both fixes (it named only "raise max_length")
    assert finding.message.endswith("raise max_length or drop the examples that exceed it; if no example is longer "
                                    "than 19 tokens, the formatted text lacks the terminator instead: append it to "
                                    "every example")
    for packing in (None, False):
        [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, packing=packing, max_length=64)
        assert (finding.code, str(finding.severity)) == ("EOS024", "error")
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, max_length=19)
    assert (finding.code, str(finding.severity)) == ("EOS026", "error")
    assert "each fills max_length (19 tokens) and supervised to its last token" in finding.message
    assert finding.message.endswith("raise max_length or drop the examples that exceed it")


@pytest.mark.parametrize(("arguments", "message"), [
    pytest.param({"packing": True}, "packing must be None, False, 'bfd', 'bfd_split' or 'wrapped', not True",
                 id="packing-true"),
    pytest.param({"packing": "bfd-split"}, "not 'bfd-split'", id="packing-typo"),
    pytest.param({"packing": 0}, "not 0", id="packing-zero"),
    pytest.param({"max_length": 0}, "max_length must be a positive int or None, not 0", id="max-length-zero"),
    pytest.param({"max_length": True}, "not True", id="max-length-bool"),
    pytest.param({"max_length": "32"}, "not '32'", id="max-length-text"),
    pytest.param({"truncation": None}, "truncation must be True or False, not None", id="truncation-none"),
    pytest.param({"truncation": False, "max_length": 32}, "max_length=32 is where truncation cuts: with "
                 "truncation=False give none", id="truncation-off-with-max-length"),
])
def test_unknown_packing_or_max_length_is_refused(arguments, message):
    with pytest.raises(BatchError, match=re.escape(message)):
        eos_guard.check_batch({"input_ids": [[1, 2]], "labels": [[1, 2]]}, [2], 0, **arguments)


def test_the_callback_reads_how_trl_made_the_rows_from_its_config():
    """SFTConfig's packing, packing_strategy and max_length (read by attribute: TRL is not imported): the
    strategies that make blocks or pieces themselves, and max_length; nothing from other trainers' arguments,
    nor when TRL does not prepare the data set."""
    from types import SimpleNamespace

    from eos_guard.integrations.transformers import how_rows_were_made

    def sft(**kwargs):
        return SimpleNamespace(**{"packing": False, "packing_strategy": "bfd", "max_length": 1024,
                                  "dataset_kwargs": None, **kwargs})

    assert how_rows_were_made(sft()) == (None, 1024, True)  # rows passed already tokenized may be the caller's blocks
    assert how_rows_were_made(sft(packing=True)) == (None, 1024, True)
    assert how_rows_were_made(sft(packing=True, packing_strategy="wrapped", max_length=32)) == ("wrapped", 32, True)
    assert how_rows_were_made(sft(packing=True, packing_strategy="bfd_split", max_length=None)) == \
        ("bfd_split", None, True)
    assert how_rows_were_made(sft(packing=False, packing_strategy="wrapped")) == (None, 1024, True)
    # without packing, max_length=None truncates nothing (padding_free=True without packing requires it)
    assert how_rows_were_made(sft(max_length=None)) == (None, None, False)
    assert how_rows_were_made(sft(max_length=None, padding_free=True)) == (None, None, False)
    assert how_rows_were_made(sft(dataset_kwargs={"skip_prepare_dataset": True})) == (None, None, True)
    assert how_rows_were_made(sft(dataset_kwargs={"skip_prepare_dataset": True}, max_length=None)) == \
        (None, None, True)
    assert how_rows_were_made(sft(packing=True, packing_strategy="something-new")) == (None, None, True)
    assert how_rows_were_made(SimpleNamespace(max_length=None)) == (None, None, True)  # transformers' TrainingArguments
    assert how_rows_were_made(None) == (None, None, True)


def test_a_terminator_masked_by_its_id_inside_the_text_is_a_token_not_padding():
    """Stanford Alpaca's collator (``attention_mask = input_ids.ne(pad_token_id)``, labels -100 where the mask is 0)
    with pad == eos, <|im_end|>: every terminator gets attention 0 and label -100. Read as padding, the stop ids
    vanished and EOS024 said the text never held the terminator, whose advice (append it) changes nothing
    (helper-152: 300 steps, 0 of 20 answers ended). A zero between attended tokens is a masked token: EOS023."""
    im_start, im_end, newline, user, assistant = 151644, 151645, 198, 872, 77091
    rows = [[im_start, user, newline, 101, 102, im_end, newline, im_start, assistant, newline, 201, 202, im_end,
             newline],
            [im_start, user, newline, 103, im_end, newline, im_start, assistant, newline, 203, im_end, newline]]
    width = max(len(r) for r in rows)
    input_ids = [r + [im_end] * (width - len(r)) for r in rows]
    mask = [[int(t != im_end) for t in r] for r in input_ids]
    labels = [[t if m else -100 for t, m in zip(r, row_mask)] for r, row_mask in zip(input_ids, mask)]
    findings = eos_guard.check_batch({"input_ids": input_ids, "attention_mask": mask, "labels": labels},
                                     [im_end], im_end)
    assert [f.code for f in findings] == ["EOS023"], [str(f) for f in findings]
    # right padding alone (a distinct pad, every <|im_end|> attended and trained) stays clean
    pad = 151643
    input_ids = [r + [pad] * (width - len(r)) for r in rows]
    mask = [[1] * len(r) + [0] * (width - len(r)) for r in rows]
    labels = [r + [-100] * (width - len(r)) for r in rows]
    assert eos_guard.check_batch({"input_ids": input_ids, "attention_mask": mask, "labels": labels},
                                 [im_end], pad) == []


def test_a_single_turn_terminator_masked_as_padding_is_named_as_such():
    """Alpaca's collator with pad == eos on single-turn rows (Mistral's `<s>[INST] q[/INST] a</s>`): the only </s>
    ends the text and gets attention 0, which is what padding looks like, so EOS024 stays; its message now says the
    pad token may hide it, since appending the terminator again changes nothing (helper-152)."""
    rows = [[1, 3, 101, 4, 201, 202, 2], [1, 3, 102, 103, 4, 203, 2], [1, 3, 104, 4, 204, 205, 206, 2]]
    width = max(len(r) for r in rows)
    input_ids = [r + [2] * (width - len(r)) for r in rows]
    mask = [[int(t != 2) for t in r] for r in input_ids]
    labels = [[t if m else -100 for t, m in zip(r, row_mask)] for r, row_mask in zip(input_ids, mask)]
    [finding] = eos_guard.check_batch({"input_ids": input_ids, "attention_mask": mask, "labels": labels}, [2], 2)
    assert finding.code == "EOS024" and finding.message.endswith(
        "; if the texts do end with 2, the pad token, the attention mask reads it as padding (a collator that masks "
        "by pad id): use a pad token that is no stop id"), finding.message
    # a pad token that is no stop id: no such hint
    cut = [r[:-1] for r in rows]  # the texts without their </s>, padded with 0
    [finding] = eos_guard.check_batch({"input_ids": [r + [0] * (width - len(r)) for r in cut],
                                       "attention_mask": [[1] * len(r) + [0] * (width - len(r)) for r in cut],
                                       "labels": [r + [-100] * (width - len(r)) for r in cut]}, [2], 0)
    assert finding.code == "EOS024" and "pad token" not in finding.message


def test_conversations_formatted_with_a_generation_prompt_after_the_last_answer_end_with_their_stop(tok):
    """helper-191: whole conversations tokenized with ``add_generation_prompt=True`` end with the opening of a next
    answer after the last answer's '<|im_end|>': every answer's terminator is supervised, but EOS026 took every
    sequence for one cut before its stop (more than 2 supervised tokens after the last stop id) and said to append
    the terminator. The opening alone (the answer that would follow it is not there) ends the sequence as well."""
    from transformers import DataCollatorForLanguageModeling

    from eos_guard.integrations.transformers import answer_opening, turn_openings

    rows = [{"input_ids": list(tok.apply_chat_template(conversation, tokenize=True, add_generation_prompt=True,
                                                        return_dict=True)["input_ids"])}
            for conversation in story.conversations()]
    opening = answer_opening(tok)  # '<|im_start|>assistant': the '\n' after it is not part of it
    assert all(tuple(row["input_ids"][-len(opening) - 1:-1]) == opening for row in rows)
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(rows)
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, answer_opening=opening,
                                 turn_openings=turn_openings(tok)) == []
    # the same text with an answer begun after the opening, and no terminator: still open-ended
    longer = [{"input_ids": row["input_ids"] + row["input_ids"][3:9]} for row in rows]
    cut = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(longer)
    [finding] = eos_guard.check_batch(cut, stops(tok), tok.pad_token_id, answer_opening=opening,
                                      turn_openings=turn_openings(tok))
    assert finding.code == "EOS026", finding


def test_a_masked_terminator_before_a_supervised_newline_is_named_as_the_loss_mask(tok):
    """helper-191: labels with the last '<|im_end|>' at -100 and the '\\n' after it supervised: EOS026 said
    "truncated at max_length, or missing the terminator" and to append it; the text holds it, the loss mask leaves
    it out."""
    full = _by_hand(tok, [c + c for c in story.conversations()], answer_end="<|im_end|>\n")
    rows = [[t for t in row if t != tok.pad_token_id] for row in full["input_ids"]]
    assert all(tok.convert_ids_to_tokens(row[-2:])[0] == "<|im_end|>" for row in rows)
    batch = _padded(rows, tok.pad_token_id)
    batch["labels"] = [row[:len(text) - 2] + [-100, row[len(text) - 1]] + [-100] * (len(row) - len(text))
                       for row, text in zip(batch["input_ids"], rows)]
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id)
    assert finding.code == "EOS026", finding
    assert "in each, the stop id that ends its last answer has label -100: the loss mask leaves out the terminator " \
        "of the last answer; put the terminator inside the supervised span" in finding.message, finding.message
    assert "append" not in finding.message and "truncated" not in finding.message


def test_a_last_answer_cut_just_after_its_opening_is_still_open_ended(tok):
    """helper-193: with the generation-prompt rule above, single-turn chats cut at max_length one word into the answer
    ('<|im_end|>\\n<|im_start|>assistant\\nbees': the user turn's stop id, then the opening) passed; a sequence cut
    at max_length never ends with the opening, and the opening must follow an answer's stop id."""
    from transformers import DataCollatorForLanguageModeling

    from eos_guard.integrations.transformers import answer_opening, turn_openings

    answers = dict(story.QA)
    conversations = [[{"role": "user", "content": q}, {"role": "assistant", "content": answers[q]}]
                     for q in ("what do bees make?", "what do cows eat?")]
    prompt = len(tok.apply_chat_template(conversations[0][:1], add_generation_prompt=True, tokenize=True,
                                         return_dict=True)["input_ids"])
    rows = [{"input_ids": tok.apply_chat_template(c, tokenize=True, return_dict=True, truncation=True,
                                                  max_length=prompt + 1)["input_ids"]} for c in conversations]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(rows)
    for options in ({"max_length": prompt + 1}, {}):
        [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, answer_opening=answer_opening(tok),
                                          turn_openings=turn_openings(tok), **options)
        assert finding.code == "EOS026", (options, finding)


def test_a_completion_cut_two_tokens_in_is_truncation_not_the_loss_mask(tok):
    """helper-193: prompt-completion rows, the prompt's '<|im_end|>' masked and one row cut two tokens into its
    completion: the loss-mask wording (a masked stop id before a short last span) must not take it, the cut does."""
    answers = dict(story.QA)

    def prompt_and_completion(history, question):
        return (tok.encode(history + "<|im_start|>user\n" + question + "<|im_end|>"),
                tok.encode("\n<|im_start|>assistant\n" + answers[question] + "<|im_end|>\n"))

    history = "<|im_start|>user\nwhat do bees make?<|im_end|>\n<|im_start|>assistant\nbees make honey.<|im_end|>\n"
    long_prompt, long_completion = prompt_and_completion(history, "what do cows eat?")
    short_prompt, short_completion = prompt_and_completion("", "what do bees make?")
    length = len(long_prompt) + 2
    rows = [(long_prompt + long_completion)[:length], short_prompt + short_completion]
    labels = [[-100] * len(long_prompt) + rows[0][len(long_prompt):], [-100] * len(short_prompt) + short_completion]
    pad = tok.pad_token_id
    batch = {"input_ids": [row + [pad] * (length - len(row)) for row in rows],
             "attention_mask": [[1] * len(row) + [0] * (length - len(row)) for row in rows],
             "labels": [label + [-100] * (length - len(label)) for label in labels]}
    [finding] = eos_guard.check_batch(batch, stops(tok), pad, max_length=length)
    assert finding.code == "EOS026" and "truncation cut it" in finding.message, finding.message
    assert "loss mask" not in finding.message


# -- EOS034: answers that the next turn follows without a stop id (helper-207) -----------------------------

def _template_ids(tokenizer) -> dict:
    """What EosGuardCallback reads from the tokenizer's chat template for the data check."""
    from eos_guard.integrations.transformers import answer_closing, answer_opening, turn_openings

    return {"answer_opening": answer_opening(tokenizer), "turn_openings": turn_openings(tokenizer),
            "answer_closing": answer_closing(tokenizer)}


def _hand_formatted(tokenizer, conversations, eos_at_the_end: bool = True) -> list[dict]:
    """Chat text a script formats: the user turns keep <|im_end|>, the answers lose it, and the trainer appends
    the eos at the end of each text (SFTTrainer does for plain text)."""
    texts = ["".join(f"<|im_start|>{m['role']}\n{m['content']}" + ("\n" if m["role"] == "assistant" else
                                                                   "<|im_end|>\n") for m in conversation)
             + (tokenizer.eos_token if eos_at_the_end else "") for conversation in conversations]
    return [{"input_ids": tokenizer(text, add_special_tokens=False)["input_ids"]} for text in texts]


def _three_turns() -> list[list[dict]]:
    qa = story.QA
    return [[message for k in range(3) for message in ({"role": "user", "content": qa[(i + k) % len(qa)][0]},
                                                      {"role": "assistant", "content": qa[(i + k) % len(qa)][1]})]
            for i in range(len(qa))]


def test_answers_without_the_terminator_but_the_last_are_an_error(tok):
    """helper-207: three-turn text whose answers lost <|im_end|> and whose end has the eos appended: every
    sequence ends with a stop id (EOS026 is silent), but two answers in three run into the next user turn. With the
    template's end of an answer that the callback reads, EOS034 says so, an error: the model is taught to go on
    twice as often as to stop (tests/e2e/test_training_data.py trains it: it writes the next user turn)."""
    from transformers import DataCollatorForLanguageModeling

    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(_hand_formatted(tok, _three_turns()))
    template = _template_ids(tok)
    assert tok.convert_ids_to_tokens(sorted(template["answer_closing"])) == ["<|im_end|>"]
    [finding] = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, **template)
    count = 2 * len(story.QA)
    assert (finding.code, str(finding.severity)) == ("EOS034", "error")
    assert finding.message.startswith(f"{count} of {count} answers that another turn follows in the batch end with "
                                      f"no stop id {sorted(stops(tok))} and without the chat template's end of an "
                                      "answer [45]: the next turn opens right after their text, and only the last "
                                      "answer of a sequence ends with a stop id"), finding.message
    # the column is the answer's last token, before the next turn's <|im_start|>
    row = batch["input_ids"][0].tolist()
    assert row[finding.location.column] == tok.convert_tokens_to_ids("<|im_start|>")
    # without the template's end of an answer (check_batch called with the opening alone) the rule does not run
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id,
                                 answer_opening=template["answer_opening"]) == []


def test_the_same_conversations_formatted_with_the_template_pass(tok):
    from transformers import DataCollatorForLanguageModeling

    features = [{"input_ids": list(tok.apply_chat_template(c, tokenize=True, return_dict=True)["input_ids"])}
                for c in _three_turns()]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(features)
    assert eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, **_template_ids(tok)) == []


def test_answers_that_stop_more_often_than_they_go_on_are_a_warning(tok):
    """The story's data set: each question once alone and once followed by the next, so an answer that the next
    turn follows is one in three: a warning with its share, not an error."""
    from transformers import DataCollatorForLanguageModeling

    batch = DataCollatorForLanguageModeling(tok, mlm=False, return_tensors="np")(
        _hand_formatted(tok, story.conversations()))
    found = eos_guard.check_batch(batch, stops(tok), tok.pad_token_id, **_template_ids(tok))
    [finding] = [f for f in found if f.code == "EOS034"]
    doubles = sum(1 for c in story.conversations() if len(c) > 2)
    assert str(finding.severity) == "warning"
    assert finding.message.startswith(f"{doubles} of {doubles} answers that another turn follows"), finding.message


def test_an_answer_that_ends_with_the_template_s_closing_that_is_no_stop_id_passes():
    """harmony: an answer of the history ends with <|end|> (7), which is no stop id, and the last with <|return|>
    (2): formatted as the template formats it, nothing to report; a reasoning message followed by the final one
    (the answer opening again) is the same answer."""
    opening, user = [5, 6], [5, 8]
    row = [*user, 10, 7, *opening, 11, 7, *opening, 12, 7, *user, 13, 7, *opening, 14, 2]
    batch = {"input_ids": [row, row], "labels": [row, row]}
    assert eos_guard.check_batch(batch, [2], answer_opening=opening, answer_closing=[7]) == []
    stripped = [t for t in row[:9] if t != 7] + row[9:]  # the first answer ran straight into the next message
    assert codes(eos_guard.check_batch({"input_ids": [stripped] * 2, "labels": [stripped] * 2}, [2],
                                       answer_opening=opening, answer_closing=[7])) == []


def test_an_answer_whose_stop_id_the_loss_mask_leaves_out_is_not_eos034():
    """The text holds the terminator, with label -100: the loss mask's mistake, which EOS025 names, not a text
    without it."""
    row = [5, 7, 10, 2, 5, 6, 11, 2, 5, 7, 12, 2, 5, 6, 13, 2]
    labels = [-100, -100, -100, -100, -100, -100, 11, -100, -100, -100, -100, -100, -100, -100, 13, 2]
    found = eos_guard.check_batch({"input_ids": [row, row], "labels": [labels, labels]}, [2],
                                  answer_opening=[5, 6], answer_closing=[2])
    assert "EOS034" not in codes(found)


def test_the_pad_id_is_read_from_the_padding_when_it_is_not_given(pad_is_eos):
    """helper-207: check_batch(batch, stop_ids) on DataCollatorForLanguageModeling's batch with pad == eos said
    EOS025 (a loss mask that leaves out the terminator) and to put the terminator inside the supervised span; the
    padding (attention_mask 0 at the rows' ends) holds the pad id, and it is EOS023 as with pad_token_id given."""
    from transformers import DataCollatorForLanguageModeling

    batch = DataCollatorForLanguageModeling(pad_is_eos, mlm=False, return_tensors="np")(chat(pad_is_eos))
    given = eos_guard.check_batch(batch, stops(pad_is_eos), pad_is_eos.pad_token_id)
    assert codes(eos_guard.check_batch(batch, stops(pad_is_eos))) == codes(given) == ["EOS023"]
    # padding of two ids (no one pad id) is not read as one
    mixed = {key: value.tolist() for key, value in batch.items()}
    padded = next(r for r, mask in enumerate(mixed["attention_mask"]) if 0 in mask)
    mixed["input_ids"][padded][-1] = 0
    assert codes(eos_guard.check_batch(mixed, stops(pad_is_eos))) != ["EOS023"]


@pytest.mark.parametrize(("fixture", "closing"), [
    ("qwen2-instruct-aligned", ["<|im_end|>"]),
    ("llama3-8b-instruct-release", ["<|eot_id|>"]),
    ("gemma-3-it-aligned", ["<end_of_turn>"]),
    ("phi3-mini-4k-instruct", ["<|end|>"]),
    ("gpt-oss-harmony-return-vs-end", ["<|end|>"]),
    ("deepseek-r1-distill-think-split", ["<｜end▁of▁sentence｜>"]),
    ("command-r7b-end-response-then-end-of-turn", ["<|END_OF_TURN_TOKEN|>", "<|END_RESPONSE|>"]),
    ("mistral-7b-instruct-v02", []),  # [INST] is text: no user turn opening, nor answer opening (EOS034 is off)
])
def test_answer_closing_is_what_the_template_writes_after_an_answer(fixture, closing):
    from transformers import AutoTokenizer

    from support import FIXTURES
    from eos_guard.integrations.transformers import answer_closing

    tokenizer = AutoTokenizer.from_pretrained(FIXTURES / fixture)
    assert sorted(tokenizer.convert_ids_to_tokens(sorted(answer_closing(tokenizer)))) == sorted(closing)


def test_a_piece_split_off_right_before_its_terminator_names_the_split():
    """helper-207: TRL's bfd_split packing cut a conversation right before its <|im_end|>, and the piece
    '<|im_end|>\\n' trains no stop id (a piece's first label is dropped): counting it is right, but EOS026 said
    the formatted text lacks the terminator and to append it, which the text has. It names the split now."""
    piece = [2, 9]
    first, second = [5, 6, 10, 11, 2, 9], [5, 6, 12, 13, 14, 2, 9]
    batch = {"input_ids": [first + piece, second + [0]], "labels": [first + piece, second + [-100]],
             "position_ids": [[*range(6), 0, 1], [*range(7), 0]]}
    [finding] = eos_guard.check_batch(batch, [2], 0, packing="bfd_split", max_length=8)
    assert finding.code == "EOS026" and "formatted text lacks" not in finding.message
    assert finding.message.endswith("do not end their last supervised span with a stop id [2]; each is the end of a "
                                    "text that packing split off right before its terminator, the piece's first "
                                    "token, which is never trained (packing_strategy=\"bfd_split\" cuts a text "
                                    "longer than max_length into pieces); raise max_length so that the examples "
                                    "fit, or drop the examples that exceed it")
    # a piece that opens with its stop id where nothing was split (bfd: each example whole) is not said to be one
    [whole] = eos_guard.check_batch(batch, [2], 0, packing="bfd", max_length=8)
    assert "split off" not in whole.message


def test_whole_number_floats_are_ids_and_fractions_are_refused():
    """docs/training.md (helper-207): labels held as floats (a float tensor) are read when each is a whole number;
    a fraction is no token id."""
    row = [1, 5, 2]
    assert eos_guard.check_batch({"input_ids": [row], "labels": [[1.0, 5.0, 2.0]]}, [2]) == \
        eos_guard.check_batch({"input_ids": [row], "labels": [row]}, [2])
    with pytest.raises(BatchError, match="'labels' holds 2.5, not an integer token id"):
        eos_guard.check_batch({"input_ids": [row], "labels": [[1, 5, 2.5]]}, [2])


@pytest.mark.parametrize("fixture", ["qwen2-instruct-aligned", "llama3-8b-instruct-release"])
def test_an_answer_that_names_a_turn_opening_token_in_its_text_is_one_answer(fixture):
    """helper-210: an answer whose text holds the token that opens every turn ('<|im_start|>', Llama 3's
    '<|start_header_id|>': a data set about chat templates), which the tokenizer reads as the special token, was cut
    there: its first part counted as an answer the next turn follows without a terminator, as many as the answers
    that stop, and EOS034 stopped a correct training. helper-212: the cut was EOS034's alone, so the rest of such an
    answer, with its stop id, did not count as an answer that stops, and two hand-formatted rows among them were an
    error. The token opens a turn only where a turn's header follows it ('user', 'assistant' at a row's start or
    after a terminator), not ' and'."""
    from transformers import AutoTokenizer

    from support import FIXTURES

    tokenizer = AutoTokenizer.from_pretrained(FIXTURES / fixture)
    qwen = fixture.startswith("qwen")
    opener, end = ("<|im_start|>", "<|im_end|>") if qwen else ("<|start_header_id|>", "<|eot_id|>")
    named = [[{"role": "user", "content": q},
              {"role": "assistant", "content": f"{a} A chat template opens a turn with {opener} and more."}]
             for q, a in story.QA]
    rows = [tokenizer.encode(tokenizer.apply_chat_template(c, tokenize=False), add_special_tokens=False)
            for c in named]
    # the opener of each turn (Qwen adds a system turn) and the one the answer names
    assert all(row.count(tokenizer.convert_tokens_to_ids(opener)) == (4 if qwen else 3) for row in rows)
    stop_ids = [tokenizer.convert_tokens_to_ids(end)]
    template = _template_ids(tokenizer)
    assert eos_guard.check_batch(_padded(rows, 0), stop_ids, **template) == []
    # two rows whose first answer runs into the next turn (its terminator left out, the text's end kept): a warning,
    # as beside answers that do not name the token
    two_turns = [named[0][0], {"role": "assistant", "content": "Yes."}, named[1][0], named[1][1]]
    text = tokenizer.apply_chat_template(two_turns, tokenize=False)
    hand = tokenizer.encode(text.replace("Yes." + end, "Yes.", 1), add_special_tokens=False)
    [finding] = eos_guard.check_batch(_padded(rows + [hand, hand], 0), stop_ids, **template)
    assert (finding.code, str(finding.severity)) == ("EOS034", "warning"), finding
