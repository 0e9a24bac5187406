"""Time grows linearly with the input: 10 times the tokens or ids never costs 30 times the CPU time.

Written from the class (any list or table a hostile folder can make long, through every stage: reading with
positions, resolving, rules, fix planning, every reporter), measured against the same shape at a tenth of the
size, so the bound holds on a slow or busy machine. Before, 8,000 mismatched added tokens took 150 s and a
30,000-id eos list over 200 s (one position scan per finding, a list searched per id).
"""

from __future__ import annotations

import gc
import json
import time
import weakref

import pytest

from eos_guard import cache
from eos_guard.config import Config
from eos_guard.pipeline import check_paths, fix_paths
from eos_guard.report import REPORTERS, explain, summary
from support import FIXTURES, ROOT, RULE_CASES, added_token, write_json


def long_eos_list(folder, n):
    """n stop ids, most of them over vocab_size: a finding per id (EOS011), positions inside one long list."""
    write_json(folder / "config.json", {"eos_token_id": list(range(n)), "vocab_size": 100})
    write_json(folder / "generation_config.json", {"eos_token_id": list(range(n))})
    write_json(folder / "tokenizer_config.json", {"eos_token": "</s>", "added_tokens_decoder": {
        str(n + 1): {"content": "</s>", "special": True}}})


def many_added_tokens(folder, n):
    """n added tokens whose declared ids disagree with tokenizer.json's: two findings per token (EOS009)."""
    write_json(folder / "tokenizer.json", {
        "added_tokens": [added_token(5 + i, f"<|a{i}|>") for i in range(n)],
        "model": {"type": "BPE", "vocab": {f"t{i}": i for i in range(100)}, "merges": []}})
    write_json(folder / "tokenizer_config.json", {
        "eos_token": "<|a0|>", "chat_template": "{% for m in messages %}{{ m.content }}<|a1|>{% endfor %}",
        "added_tokens_decoder": {str(7 + i): {"content": f"<|a{i}|>", "special": True} for i in range(n)}})
    write_json(folder / "config.json", {"eos_token_id": 5, "vocab_size": 90})


def long_eos_list_and_many_added_tokens(folder, n):
    """n stop ids the model can emit and n added tokens: every message that names the stop ids looks up each
    id's token (once a scan of every added token per id)."""
    write_json(folder / "config.json", {"eos_token_id": 1, "vocab_size": 10**6})
    write_json(folder / "generation_config.json", {"eos_token_id": [1] + list(range(300_000, 300_000 + n))})
    write_json(folder / "tokenizer_config.json", {
        "eos_token": "</s>", "chat_template": "{% for m in messages %}{{ m.content }}<|a1|>{% endfor %}",
        "added_tokens_decoder": {"1": {"content": "</s>", "special": True},
                                 **{str(200_000 + i): {"content": f"<|a{i}|>", "special": True} for i in range(n)}}})


def many_tokens_transformers_cannot_load(folder, n):
    """n added_tokens_decoder entries, n AddedToken objects in a list and n map entries transformers refuses (a
    flag that is not true or false): an EOS007 finding each, and a placed message for each."""
    bad = {"content": "x", "lstrip": 1, "rstrip": False, "single_word": False, "normalized": False, "special": True}
    write_json(folder / "tokenizer_config.json", {
        "eos_token": "</s>", "added_tokens_decoder": {str(100 + i): {**bad, "content": f"<|b{i}|>"} for i in range(n)},
        "settings": [[{"__type": "AddedToken", **bad, "content": f"<|c{i}|>"}] for i in range(n)],
        "extra_special_tokens": [{"content": f"<|d{i}|>"} for i in range(n)]})
    write_json(folder / "config.json", {"eos_token_id": 2, "vocab_size": 90})


def a_long_eos_list_that_lost_an_id(folder, n):
    """n stop ids at the git baseline, the first one dropped since (EOS015): before, fix planning merged the lists
    in quadratic time (40,000 ids: 5.7 s) and the message quoted both lists whole (helper-119)."""
    import subprocess

    folder.mkdir()
    write_json(folder / "config.json", {"eos_token_id": 0, "vocab_size": 10**6})  # every id one the model can emit
    write_json(folder / "generation_config.json", {"eos_token_id": list(range(n))})
    write_json(folder / "tokenizer_config.json", {"eos_token": "</s>", "added_tokens_decoder": {
        "0": {"content": "</s>", "special": True}}})
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run([*git, "-C", str(folder), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(folder), "commit", "-qm", "baseline"], check=True)
    write_json(folder / "generation_config.json", {"eos_token_id": list(range(1, n))})


def many_lengths_and_a_long_tail(folder, n, spaces):
    """n added tokens ' x', ' xx', ... (n lengths, each starting with a space) and a template that writes ``spaces``
    spaces after the answer inside a {% generation %} block, then <|im_end|> (EOS001 there)."""
    import shutil

    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", folder)
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    settings["added_tokens_decoder"].update({str(151646 + k): {"content": " " + "x" * (k + 1), "special": True}
                                              for k in range(n)})
    settings["chat_template"] = (
        "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{{ ' ' * SPACES }}"
        "<|im_end|>{% endgeneration %}{% else %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}").replace("SPACES", str(spaces))
    write_json(folder / "tokenizer_config.json", settings)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "vocab_size": 200_000})


def cpu_seconds(folder) -> float:
    config = Config()
    config.limits = type(config.limits)(config.limits.seconds, config.limits.max_output, False)
    start = time.process_time()
    report = check_paths([folder], config)
    assert sum(1 for _ in report.findings()) >= 2
    for render in (*REPORTERS.values(), summary.render, explain.render, explain.render_json):
        render(report)
    fix_paths([folder], config, write=False)
    return time.process_time() - start


@pytest.mark.parametrize("shape,n", [(long_eos_list, 1500), (many_added_tokens, 500),
                                     (long_eos_list_and_many_added_tokens, 500),
                                     (many_tokens_transformers_cannot_load, 300),
                                     (a_long_eos_list_that_lost_an_id, 2000)],
                         ids=["eos-list", "added-tokens", "eos-list-and-added-tokens", "tokens-that-cannot-load",
                              "eos-list-that-lost-an-id"])
def test_ten_times_the_input_costs_at_most_thirty_times_the_time(tmp_path, monkeypatch, shape, n):
    monkeypatch.chdir(tmp_path)
    shape(tmp_path / "small", n)
    shape(tmp_path / "large", 10 * n)
    cpu_seconds(tmp_path / "small")  # imports and first-use costs out of the measurement
    small = min(cpu_seconds(tmp_path / "small") for _ in range(2))
    large = cpu_seconds(tmp_path / "large")
    assert large < 30 * small + 0.5, (small, large)


def test_the_message_of_a_long_list_that_lost_ids_quotes_at_most_16_of_each(tmp_path, monkeypatch):
    """docs/usage.md: a message quotes at most 16 ids of a list; EOS015 quoted the lists whole (a pull request could
    put a line of megabytes into annotations and the job summary)."""
    monkeypatch.chdir(tmp_path)
    a_long_eos_list_that_lost_an_id(tmp_path / "m", 20_000)
    [finding] = [f for f in check_paths([tmp_path / "m"], Config()).findings() if f.code == "EOS015"]
    assert finding.message == ("generation_config.json eos_token_id lost [0] compared with HEAD: [0, 1, 2, 3, 4, 5, 6, "
                               "7, 8, 9, 10, 11, 12, 13, 14, 15, ... 19,984 more] became [1, 2, 3, 4, 5, 6, 7, 8, 9, "
                               "10, 11, 12, 13, 14, 15, 16, ... 19,983 more]; restore them")


def test_reports_hold_no_reference_cycles(tmp_path, monkeypatch):
    """A run over many folders leaves what it made frozen out of the garbage collector until its report is dropped
    (pipeline._collector_for_many), so that no collection scans it again: a reference cycle inside a report would
    then outlive the report. Every fixture folder, a file that is not JSON and a PATH that does not exist, rendered
    in every format, are freed by reference counting alone."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{")
    paths = [FIXTURES, RULE_CASES, tmp_path / "broken", tmp_path / "missing"]
    config = Config()
    config.baseline = None
    check_paths(paths, config)  # cache files written (json.dump leaves cycles of its own), templates probed
    gc.collect()
    gc.disable()
    try:
        report = check_paths(paths, config)
        assert report.problems and any(m.cause for m in report.models)
        assert any(m.model is not None and m.model.files.generation_config_error for m in report.models)
        for render in (*REPORTERS.values(), summary.render, explain.render, explain.render_json):
            render(report)
        gc.collect()  # what rendering left
        freed = weakref.ref(report)
        del report
        assert freed() is None and gc.get_freeze_count() == 0  # dropping the report unfroze what the run made
        assert gc.collect() == 0
    finally:
        gc.enable()


# --- tokenizer.json: any shape is read in time linear in its size ------------------------------------------------

def _tokenizer_folder(folder, tokenizer: str) -> None:
    write_json(folder / "config.json", {"eos_token_id": 2})
    write_json(folder / "tokenizer_config.json", {"eos_token": "</s>"})
    (folder / "tokenizer.json").write_text(tokenizer, encoding="utf-8")


def unigram_of_empty_arrays(n):
    """A Unigram vocabulary of n empty items: parsed whole (once: it was re-parsed per key path, in growing
    windows, 5.6 s and 554 MB for 10 MB), and millions of small arrays for the garbage collector."""
    return '{"added_tokens": [], "model": {"type": "Unigram", "vocab": [' + ",".join(["[]"] * n) + "]}}"


def bpe_of_tricky_tokens(n, indent=2):
    """The tokenizers library's layout, whose vocabulary holds n keys with braces, quotes and backslashes and whose
    merges hold n colons: every one is looked at to read the file without parsing it."""
    vocab = {f'}}"{i}\\': i for i in range(n)} | {"</s>": n}
    merges = [[f':{i}"', f'\\\\:{i}'] for i in range(n)]
    return json.dumps({"added_tokens": [added_token(n, "</s>")],
                       "model": {"type": "BPE", "vocab": vocab, "merges": merges}}, indent=indent)


def long_members_before_the_vocabulary(n):
    """A top level whose members before the model are n values long: the decoded head grows."""
    return json.dumps({"added_tokens": [], "normalizer": [[] for _ in range(n)], "decoder": "x" * n,
                       "model": {"type": "BPE", "vocab": {"</s>": 0}, "merges": []}}, indent=2)


@pytest.mark.parametrize("shape,n", [
    pytest.param(unigram_of_empty_arrays, 60_000, id="unigram-of-empty-arrays"),
    pytest.param(bpe_of_tricky_tokens, 6_000, id="pretty-bpe-of-tricky-tokens"),
    pytest.param(lambda n: bpe_of_tricky_tokens(n, None), 6_000, id="compact-bpe-of-tricky-tokens"),
    pytest.param(long_members_before_the_vocabulary, 30_000, id="long-members-before-the-vocabulary"),
    pytest.param(lambda n: bpe_of_tricky_tokens(n)[:-1], 6_000, id="not-json"),
])
def test_tokenizer_json_ten_times_larger_costs_at_most_thirty_times_the_time(tmp_path, monkeypatch, shape, n):
    monkeypatch.chdir(tmp_path)
    for name, size in (("small", n), ("large", 10 * n)):
        _tokenizer_folder(tmp_path / name, shape(size))

    config = Config()
    config.limits = type(config.limits)(config.limits.seconds, config.limits.max_output, False)

    def seconds(folder) -> float:
        cache._MEMORY.clear()  # each run reads the file anew (a cache entry would answer for it)
        start = time.process_time()
        report = check_paths([folder], config)
        assert len(report.models) == 1
        return time.process_time() - start

    seconds(tmp_path / "small")  # imports and first-use costs out of the measurement
    small = min(seconds(tmp_path / "small") for _ in range(2))
    large = seconds(tmp_path / "large")
    assert large < 30 * small + 0.5, (small, large)


@pytest.mark.parametrize("shape,n", [
    pytest.param(unigram_of_empty_arrays, 300_000, id="unigram-of-empty-arrays"),
    pytest.param(bpe_of_tricky_tokens, 20_000, id="pretty-bpe-of-tricky-tokens"),
    pytest.param(lambda n: bpe_of_tricky_tokens(n, None), 20_000, id="compact-bpe-of-tricky-tokens"),
    pytest.param(long_members_before_the_vocabulary, 200_000, id="long-members-before-the-vocabulary"),
])
def test_tokenizer_json_is_parsed_at_most_once(tmp_path, monkeypatch, shape, n):
    """A check parses each part of tokenizer.json at most once (a 10 MB Unigram vocabulary was parsed 13 times):
    the text json parses in all is at most the file's size, and its merges are never parsed."""
    from eos_guard import jsonspan

    _tokenizer_folder(tmp_path / "m", shape(n))
    size = (tmp_path / "m" / "tokenizer.json").stat().st_size
    parsed = []
    loads, scan = json.loads, jsonspan._SCAN_VALUE

    def counting_loads(text, *args, **kwargs):
        parsed.append(len(text))
        return loads(text, *args, **kwargs)

    def counting_scan(text, start):
        value, end = scan(text, start)
        parsed.append(end - start)
        return value, end

    monkeypatch.setattr(json, "loads", counting_loads)
    monkeypatch.setattr(jsonspan, "_SCAN_VALUE", counting_scan)
    config = Config()
    config.limits = type(config.limits)(config.limits.seconds, config.limits.max_output, False)
    report = check_paths([tmp_path / "m"], config)
    assert report.models[0].error is None
    assert sum(parsed) < size + 100_000, (sum(parsed), size)


def test_digits_before_an_over_long_integer_cost_what_letters_cost(tmp_path, monkeypatch):
    """helper-114: a file json.loads refuses for an integer over 4,300 digits is located by a search for the first
    such run, which from every position inside a run of exactly 4,300 digits failed again at its end (~2 s per MB,
    45 s for a 20 MB tokenizer.json, at any later position of the over-long integer). Runs are only tried where
    they start: a megabyte of such runs costs what the same text with letters costs."""
    monkeypatch.chdir(tmp_path)

    def folder(name, filler):
        path = tmp_path / name
        path.mkdir()
        (path / "generation_config.json").write_text(
            '{"note": "' + (filler * 4300 + "x") * 250 + '", "eos_token_id": 1' + "0" * 4301 + "}", encoding="utf-8")
        write_json(path / "config.json", {"eos_token_id": 2, "vocab_size": 90})
        return path

    def seconds(path):
        start = time.process_time()
        report = check_paths([path], Config())
        assert "over Python's limit of 4,300" in report.errors[0], report.errors
        return time.process_time() - start

    digits, letters = folder("digits", "9"), folder("letters", "a")
    seconds(letters)
    assert seconds(digits) < 5 * min(seconds(letters) for _ in range(2)) + 0.1


def test_what_a_template_writes_after_the_answer_costs_no_look_up_per_character(tmp_path, monkeypatch):
    """docs/security.md (helper-178): with {% generation %} blocks, every character a template wrote after the answer
    (up to template-max-output) was looked up in the added tokens, each look-up costing every length of the tokens
    that start with that character: 1,000 tokens ' x', ' xx', ... and 900,000 spaces took 267 s of CPU, outside the
    template limits. The tokens after an answer are now found within 256 characters of text, as the probe reads
    them: 900,000 spaces cost what 900 do."""
    monkeypatch.chdir(tmp_path)
    many_lengths_and_a_long_tail(tmp_path / "short", 30, 900)
    many_lengths_and_a_long_tail(tmp_path / "long", 30, 900_000)
    cpu_seconds(tmp_path / "short")  # imports and first-use costs out of the measurement
    short = min(cpu_seconds(tmp_path / "short") for _ in range(2))
    long = cpu_seconds(tmp_path / "long")
    assert long < 3 * short + 0.5, (short, long)
    config = Config()
    config.limits = type(config.limits)(config.limits.seconds, config.limits.max_output, False)
    assert "EOS001" in {f.code for f in check_paths([tmp_path / "long"], config).findings()}
