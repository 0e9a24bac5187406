"""Property tests over generated model folders: no exception but eos-guard's own, positions inside the files,
and fixes that always give valid JSON keeping every other value."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eos_guard.pipeline import check_folder
from eos_guard.fixes import plan
from eos_guard.splice import apply_edits  # noqa: F401  (plan uses it; imported to fail early if renamed)

scalars = st.none() | st.booleans() | st.integers(min_value=-5, max_value=300_000) \
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                      max_leaves=8)
ids = st.integers(min_value=0, max_value=40) | st.lists(st.integers(min_value=0, max_value=40), max_size=4)
eos_values = ids | values
tokens = st.sampled_from(["<|im_end|>", "</s>", "<|endoftext|>", "<eos>", "", "\u202e", "a\nb", "<|x|>"])
templates = st.sampled_from([
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}",
    "{% for m in messages %}{{ m['content'] }}{{ eos_token }}{% endfor %}",
    "{{ raise_exception('no') }}", "{% if %}", "{{ messages[0]['content'][0]['text'] }}", "",
    "{% for m in messages %}{{ m.content }}{% endfor %}<|im_end|>",
])


@st.composite
def folders(draw):
    files = {}
    if draw(st.booleans()):
        files["config.json"] = {"eos_token_id": draw(eos_values), "vocab_size": draw(st.integers(0, 64) | values),
                                **draw(st.dictionaries(st.sampled_from(["text_config", "decoder"]),
                                                       st.fixed_dictionaries({"eos_token_id": eos_values}),
                                                       max_size=1))}
    if draw(st.booleans()):
        files["generation_config.json"] = draw(st.fixed_dictionaries(
            {}, optional={"eos_token_id": eos_values, "suppress_tokens": values, "bad_words_ids": values}))
    tc = draw(st.fixed_dictionaries({}, optional={
        "eos_token": tokens | values, "pad_token": tokens,
        "chat_template": templates | st.lists(st.fixed_dictionaries({"name": st.sampled_from(["default", "x"]),
                                                                     "template": templates}), max_size=2),
        "added_tokens_decoder": st.dictionaries(st.integers(0, 40).map(str),
                                                st.fixed_dictionaries({"content": tokens, "special": st.booleans()}),
                                                max_size=4) | values}))
    files["tokenizer_config.json"] = tc
    if draw(st.booleans()):
        files["special_tokens_map.json"] = {"eos_token": draw(tokens | values)}
    if draw(st.booleans()):
        files["tokenizer.json"] = {
            "added_tokens": draw(st.lists(st.fixed_dictionaries({"id": st.integers(0, 40) | values,
                                                                 "content": tokens, "special": st.booleans()}),
                                          max_size=4) | values),
            "model": {"type": "WordLevel", "vocab": draw(st.dictionaries(tokens | st.text(max_size=3),
                                                                         st.integers(0, 40), max_size=6) | values)}}
    style = draw(st.sampled_from([None, 2, 4]))
    crlf = draw(st.booleans())
    return files, style, crlf


def write(folder: Path, files: dict, style, crlf: bool) -> None:
    for name, data in files.items():
        text = json.dumps(data, indent=style, ensure_ascii=False)
        (folder / name).write_bytes((text.replace("\n", "\r\n") if crlf else text).encode("utf-8", "surrogatepass"))


def eos_ids_by_path(data: dict, keys: tuple = ()) -> dict:
    """Every eos_token_id that without_eos drops, by its key path."""
    found = {keys: data["eos_token_id"]} if "eos_token_id" in data else {}
    for k, v in data.items():
        if isinstance(v, dict) and k in ("text_config", "decoder"):
            found.update(eos_ids_by_path(v, keys + (k,)))
    return found


def without_eos(data: dict) -> dict:
    return {k: (without_eos(v) if isinstance(v, dict) and k in ("text_config", "decoder") else v)
            for k, v in data.items() if k != "eos_token_id"}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(folders())
def test_resolver_and_rules_never_crash_and_point_inside_files(case):
    files, style, crlf = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "m"
        folder.mkdir()
        try:
            write(folder, files, style, crlf)
        except UnicodeEncodeError:
            return
        report = check_folder(folder)
        if report.error is not None:  # eos-guard's own documented error, e.g. a NaN it cannot place
            assert ": " in report.error
            return
        for finding in report.findings:
            loc = finding.location
            lines = loc.path.read_bytes().decode("utf-8").split("\n") if loc.path.is_file() else [""]
            assert 1 <= loc.line <= len(lines)
            assert 1 <= loc.column <= len(lines[loc.line - 1]) + 1
        for change in plan(report.model):
            json.loads(change.new_text)  # always valid JSON
            if change.old_text is not None:
                old, new = json.loads(change.old_text), json.loads(change.new_text)
                # Only eos_token_id may change (at the top level, or in the sub-config that holds config.json's
                # eos), and only by gaining ids: add-only (docs/fix.md).
                assert without_eos(old) == without_eos(new)
                for keys, before in eos_ids_by_path(old).items():
                    after = eos_ids_by_path(new)[keys]
                    before = before if isinstance(before, list) else [before]
                    after = after if isinstance(after, list) else [after]
                    assert all(i in after for i in before if i is not None), f"an id was dropped at {keys}"
        shutil.rmtree(folder)
