"""--fix, --diff and the splice writer: add-only, byte-preserving, atomic, idempotent."""

from __future__ import annotations

import json
from pathlib import Path
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eos_guard
from support import FIXTURES, OWN_TEMPLATE, ROOT, RULE_CASES, write_json
from eos_guard.jsonspan import JsonDocument
from eos_guard.splice import add_to_id_list, apply_edits, insert_member, replace_value

CHATML = RULE_CASES / "EOS001-terminator-not-stop-id"


@pytest.fixture
def chatml(tmp_path):
    return shutil.copytree(CHATML, tmp_path / "chatml")


def test_fix_adds_the_terminator_and_keeps_every_byte_around_it(run, chatml):
    before = (chatml / "generation_config.json").read_text()
    code, out, err = run("--fix", "chatml")
    after = (chatml / "generation_config.json").read_text()
    assert code == 1 and err == "Fixing chatml/generation_config.json\n"
    assert after == before.replace('"eos_token_id": 151643', '"eos_token_id": [151643, 151645]')
    assert out == "Fixed 1 file in 1 folder; 0 errors remain.\n"


def test_second_fix_changes_nothing_and_exits_0(run, chatml):
    run("--fix", "chatml")
    assert run("--fix", "chatml") == (0, "All checks passed (1 model folder).\n", "")


def test_exit_zero_even_if_changed(run, chatml, tmp_path):
    """A --fix that wrote a file exits 1 as pre-commit expects of a hook that edits, also with --exit-zero (which is
    about findings, helper-196); --exit-zero-even-if-changed makes it 0."""
    other = shutil.copytree(chatml, tmp_path / "other")
    assert run("--fix", "--exit-zero", "other")[0] == 1
    assert run("--fix", "--exit-zero-even-if-changed", "chatml")[0] == 0


def test_diff_prints_and_writes_nothing(run, chatml):
    before = (chatml / "generation_config.json").read_bytes()
    code, out, _ = run("--diff", "chatml")
    assert code == 1 and (chatml / "generation_config.json").read_bytes() == before
    assert out == ("--- a/chatml/generation_config.json\n+++ b/chatml/generation_config.json\n"
                   "@@ -1,4 +1,4 @@\n {\n   \"bos_token_id\": 151643,\n-  \"eos_token_id\": 151643\n"
                   "+  \"eos_token_id\": [151643, 151645]\n }\n")


def test_a_diff_with_nothing_to_change_says_so(run, chatml, tmp_path):
    """helper-203: --diff printed nothing at all where --fix would change nothing, which reads as a run that did
    not happen; stderr says so, and how many findings --fix does not repair (the exit code stays 0)."""
    run("--fix", "chatml")
    assert run("--diff", "chatml") == (0, "", "eos-guard: --fix would change nothing\n")
    shutil.copytree(ROOT / "tests" / "fixtures" / "eos-string-not-in-vocab", tmp_path / "unfixable")
    assert run("--diff", "--unsafe-fixes", str(tmp_path / "unfixable")) == (
        0, "", "eos-guard: --fix --unsafe-fixes would change nothing; 1 finding --fix does not repair: run without "
               "--diff to see it\n")
    (tmp_path / "unfixable" / "tokenizer_config.json").write_text("{", encoding="utf-8")  # helper-205: not read
    code, out, err = run("--diff", str(tmp_path / "unfixable"))
    assert code == 2 and out == "" and "would change nothing" not in err and "cannot parse JSON" in err, err


def test_crlf_four_space_file_keeps_its_bytes(run, chatml):
    path = chatml / "generation_config.json"
    raw = '{\r\n    "bos_token_id": 151643,\r\n    "eos_token_id": [\r\n        151643\r\n    ]\r\n}'
    path.write_bytes(raw.encode())
    os.chmod(path, 0o640)
    run("--fix", "chatml")
    assert path.read_bytes() == raw.replace("151643\r\n    ]", "151643,\r\n        151645\r\n    ]").encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_missing_key_is_inserted_with_the_siblings_indentation(run, tmp_path):
    folder = shutil.copytree(CHATML, tmp_path / "m")
    (folder / "generation_config.json").write_text('{\n\t"bos_token_id": 151643,\n\t"max_new_tokens": 512\n}\n')
    run("--fix", "m")
    assert (folder / "generation_config.json").read_text() == (
        '{\n\t"bos_token_id": 151643,\n\t"max_new_tokens": 512,\n\t"eos_token_id": 151645\n}\n')


def test_missing_generation_config_is_created(run, tmp_path):
    folder = shutil.copytree(CHATML, tmp_path / "m")
    (folder / "generation_config.json").unlink()
    write_json(folder / "config.json", {"model_type": "qwen2", "bos_token_id": 151643, "eos_token_id": 151643,
                                        "vocab_size": 151936})
    run("--fix", "m")
    # not marked _from_model_config: transformers 4.x would rebuild it from config.json (docs/fix.md, helper-179)
    assert json.loads((folder / "generation_config.json").read_text()) == {
        "bos_token_id": 151643, "eos_token_id": [151643, 151645]}
    # config.json's scalar lacks the tokenizer's eos: it becomes a list that keeps its id (add-only)
    assert json.loads((folder / "config.json").read_text())["eos_token_id"] == [151643, 151645]


@pytest.mark.parametrize("marked, setting, rebuilt", [
    (True, {"max_length": 4096}, True), (True, {"temperature": 0.7}, True), (True, {"max_length": 20}, False),
    (True, {}, False), (False, {"max_length": 4096}, False), (1, {"num_beams": 4}, True)])
def test_a_generation_config_transformers_4_rebuilds_from_config_json_gets_config_json_aligned_too(
        run, tmp_path, marked, setting, rebuilt):
    """helper-183: --fix added the terminator to an existing generation_config.json marked "_from_model_config":
    true, and left config.json's scalar eos, the tokenizer's, as it was; transformers 4.x (to 4.57) rebuilds such a
    file from config.json where config.json sets a generation setting to another value than its default, and
    generate() then stopped on config.json's eos alone. config.json's eos now gains the same ids there (add-only;
    docs/fix.md); a setting at its default, or an unmarked file, leaves it alone."""
    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    write_json(folder / "config.json", {"architectures": ["Qwen2ForCausalLM"], "bos_token_id": 151643,
                                        "eos_token_id": 151643, **setting, "model_type": "qwen2",
                                        "vocab_size": 151936})
    write_json(folder / "generation_config.json", {**({"_from_model_config": marked} if marked else {}),
                                                   "bos_token_id": 151643, "eos_token_id": 151643, **setting})
    tokenizer = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer["eos_token"] = "<|endoftext|>"  # config.json's scalar is the tokenizer's eos: no EOS003
    write_json(folder / "tokenizer_config.json", tokenizer)
    assert run("--fix", "--baseline", "none", "m")[0] == 1  # files changed, as pre-commit expects
    generation = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    assert generation["eos_token_id"] == [151643, 151645] and generation.get("_from_model_config") == \
        (marked or None)  # any true value is the mark, as generate() tests it; it stays
    assert json.loads((folder / "config.json").read_text(encoding="utf-8"))["eos_token_id"] == \
        ([151643, 151645] if rebuilt else 151643)


def test_gemma_list_is_never_collapsed(run, tmp_path):
    folder = tmp_path / "gemma"
    shutil.copytree(RULE_CASES / "EOS015-stop-ids-dropped", folder, ignore=shutil.ignore_patterns("baseline"))
    write_json(folder / "generation_config.json", {"eos_token_id": [1, 106], "bos_token_id": 2})
    assert run("--fix", "--baseline", "none", "gemma") == (0, "All checks passed (1 model folder).\n", "")


def test_python_api_returns_the_changes(chatml):
    changes = eos_guard.fix(chatml, write=False)
    assert [c.path.name for c in changes] == ["generation_config.json"]
    assert "[151643, 151645]" in changes[0].new_text
    assert '"eos_token_id": 151643' in (chatml / "generation_config.json").read_text()


def test_python_api_raises_for_a_folder_it_could_not_fix_after_fixing_the_others(tmp_path):
    """eos_guard.fix returned [] for a folder whose generation_config.json is not JSON (which --fix never edits,
    exit 2), so a script took it for fixed; it raises that file's error once the other folders are written."""
    from eos_guard.errors import InputError

    broken = shutil.copytree(FIXTURES / "generation-config-invalid-json", tmp_path / "broken")
    fine = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "fine")
    with pytest.raises(InputError, match=r"generation_config\.json:4:40: cannot parse JSON") as raised:
        eos_guard.fix(broken, fine)
    assert raised.value.path == broken / "generation_config.json"
    assert "151645" in (fine / "generation_config.json").read_text(encoding="utf-8")  # the other folder is fixed


def test_python_api_names_every_folder_it_could_not_fix(tmp_path):
    """helper-209: with two folders it could not fix, eos_guard.fix raised the first one's error alone, and a script
    reading its path took the other for fixed. It raises FoldersNotFixed, an InputError naming both, each error in
    ``failures``; the folder between them is fixed."""
    import pickle

    from eos_guard.errors import FoldersNotFixed, InputError, display_path

    for name in ("a", "b", "c"):
        shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / name)
    (tmp_path / "a" / "generation_config.json").write_text('{"eos_token_id": 1,}', encoding="utf-8")
    (tmp_path / "c" / "tokenizer_config.json").write_text('{"eos_token": 1,,}', encoding="utf-8")
    with pytest.raises(InputError) as raised:
        eos_guard.fix(tmp_path / "a", tmp_path / "b", tmp_path / "c")
    error = raised.value
    assert isinstance(error, FoldersNotFixed) and error.path == tmp_path / "a" / "generation_config.json"
    assert [failure.path for failure in error.failures] == [tmp_path / "a" / "generation_config.json",
                                                            tmp_path / "c" / "tokenizer_config.json"]
    other = display_path(tmp_path / "c" / "tokenizer_config.json")
    assert str(error).endswith(f"cannot parse JSON: Illegal trailing comma before end of object (not fixed either: "
                               f"the folder of {other})"), str(error)
    assert "151645" in (tmp_path / "b" / "generation_config.json").read_text(encoding="utf-8")
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def _gemma_repository(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A git repository holding a Gemma 3 fine-tune whose configs list [1, 106], committed: the repository, the
    model folder and the git command that commits in it."""
    repo = tmp_path / "repo"
    folder = shutil.copytree(RULE_CASES / "EOS015-stop-ids-dropped", repo / "gemma",
                             ignore=shutil.ignore_patterns("baseline"))
    write_json(folder / "generation_config.json", {"bos_token_id": 2, "eos_token_id": [1, 106], "pad_token_id": 0})
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "gemma 3 fine-tune"], check=True)
    return repo, folder, git


def test_fix_restores_the_ids_a_change_dropped_from_config_json_too(run, tmp_path):
    """helper-138: the SFT script's `generation_config.eos_token_id = config.eos_token_id = tokenizer.eos_token_id`
    cuts Gemma 3's [1, 106] to 1 in both files. --fix put generation_config.json's back, but left config.json's
    scalar alone because it is the tokenizer's eos, so EOS015 stayed on every later run and --fix could not end it."""
    repo, folder, _ = _gemma_repository(tmp_path)
    for name in ("config.json", "generation_config.json"):
        data = json.loads((folder / name).read_text())
        write_json(folder / name, {**data, "eos_token_id": 1})
    code, out, _ = run("--format", "concise", ".", cwd=repo)
    assert code == 1 and "gemma/config.json:" in out and " EOS015 " in out, out
    code, out, _ = run("--fix", ".", cwd=repo)
    assert code == 1 and "0 errors remain" in out, out  # 1: files changed (pre-commit re-stages them)
    assert json.loads((folder / "config.json").read_text())["eos_token_id"] == [1, 106]
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == [1, 106]
    assert run(".", cwd=repo)[0] == 0


def test_unsafe_fixes_change_the_tokenizer_side_only_when_asked(run, tmp_path):
    folder = shutil.copytree(RULE_CASES / "EOS008-special-tokens-map-override", tmp_path / "m")
    run("--fix", "m")
    assert json.loads((folder / "special_tokens_map.json").read_text()) == {"eos_token": "<|endoftext|>"}
    run("--fix", "--unsafe-fixes", "m")
    assert json.loads((folder / "special_tokens_map.json").read_text()) == {"eos_token": "<|im_end|>"}


def test_regression_rule_in_a_real_git_repository(run, tmp_path):
    repo, folder, git = _gemma_repository(tmp_path)
    assert run(".", cwd=repo)[0] == 0
    # What `generation_config.eos_token_id = tokenizer.eos_token_id` writes:
    write_json(folder / "generation_config.json", {"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0})
    code, out, _ = run("--select", "EOS015", ".", cwd=repo)
    assert code == 1 and out.startswith(
        "gemma/generation_config.json:3:19: EOS015 error: generation_config.json eos_token_id lost [106] compared with "
        "HEAD: [1, 106] became 1; restore them [stop-ids-dropped]\n")
    # helper-135: the value is quoted as the file spells it (true, not Python's True)
    write_json(folder / "generation_config.json", {"bos_token_id": 2, "eos_token_id": [1, True], "pad_token_id": 0})
    code, out, _ = run("--select", "EOS015", ".", cwd=repo)
    assert code == 1 and "HEAD: [1, 106] became [1, true]; restore them" in out, out
    write_json(folder / "generation_config.json", {"bos_token_id": 2, "eos_token_id": "<eos>", "pad_token_id": 0})
    assert 'HEAD: [1, 106] became "<eos>"; restore them' in run("--select", "EOS015", ".", cwd=repo)[1]
    write_json(folder / "generation_config.json", {"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0})
    commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    code, out, _ = run("--select", "EOS015", "--baseline", commit, ".", cwd=repo)  # the revision as given
    assert code == 1 and f"lost [106] compared with {commit}: [1, 106] became 1" in out, out
    assert run("--select", "EOS015", "--baseline", "none", ".", cwd=repo)[0] == 0
    # helper-145: the baseline's value is quoted whole, as the new one is (an entry that is no id was left out)
    write_json(folder / "generation_config.json", {"bos_token_id": 2, "eos_token_id": [1, True, 106],
                                                   "pad_token_id": 0})
    subprocess.run(git + ["commit", "-qam", "an entry that is no id"], check=True)
    write_json(folder / "generation_config.json", {"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0})
    assert "HEAD: [1, true, 106] became 1; restore them" in run("--select", "EOS015", ".", cwd=repo)[1]


def _committed(tmp_path: Path, fixture: str, name: str, edit=None) -> tuple[Path, Path]:
    """A git repository holding a copy of ``fixture`` as its folder ``name`` (after ``edit`` of it), committed: the
    repository and the model folder."""
    repo = tmp_path / "repo"
    folder = shutil.copytree(FIXTURES / fixture, repo / name, ignore=shutil.ignore_patterns("expected.json",
                                                                                            "README.md"))
    if edit is not None:
        edit(folder)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", fixture], check=True)
    return repo, folder


def test_fix_restores_the_stop_ids_a_change_dropped(run, tmp_path):
    """EOS015 asks to restore the ids a change dropped, and putting them back only adds ids: --fix does it (it added
    the terminator alone, so the eos-guard-fix hook failed again on the same EOS015 with nothing left to fix)."""
    repo, folder = _committed(tmp_path, "llama31-8b-instruct-strftime", "llama")
    before = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    assert before["eos_token_id"] == [128001, 128008, 128009]
    # what `generation_config.eos_token_id = tokenizer.eos_token_id` writes
    write_json(folder / "generation_config.json", {**before, "eos_token_id": 128001})
    assert run(".", cwd=repo)[0] == 1
    assert run("--fix", ".", cwd=repo)[:2] == (1, "Fixed 1 file in 1 folder; 0 errors remain.\n")  # a file changed
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == [128001, 128009, 128008]
    assert run(".", cwd=repo) == (0, "All checks passed (1 model folder).\n", "")


def test_ids_dropped_from_a_text_config_eos_are_found_and_restored(run, tmp_path):
    """helper-195: a LLaVA-style config.json without generation_config.json keeps its eos in text_config, where
    generate() reads it; EOS015 compared the top level only, so [151645, 151643] cut to 151645 there passed, and
    --fix could not restore it. The eos is compared where config.json holds it now, also when it moved."""
    def vlm(folder: Path) -> None:
        (folder / "generation_config.json").unlink()
        write_json(folder / "config.json", {"architectures": ["LlavaForConditionalGeneration"], "model_type": "llava",
                                            "text_config": {"model_type": "qwen2", "eos_token_id": [151645, 151643],
                                                            "vocab_size": 151936}})

    repo, folder = _committed(tmp_path, "qwen2-instruct-aligned", "vlm", vlm)
    assert run(".", cwd=repo)[0] == 0
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["text_config"]["eos_token_id"] = 151645
    write_json(folder / "config.json", config)
    code, out, _ = run("--format", "concise", "--select", "EOS015", ".", cwd=repo)
    assert code == 1 and out.startswith(
        "vlm/config.json:8:21: EOS015 error: config.json text_config.eos_token_id lost [151643] compared with HEAD: "
        "[151645, 151643] became 151645; restore them [stop-ids-dropped]\n"), out
    assert run("--fix", ".", cwd=repo)[0] == 1
    assert json.loads((folder / "config.json").read_text())["text_config"]["eos_token_id"] == [151645, 151643]
    assert run(".", cwd=repo)[0] == 0
    # moved to the top level, without the id: the baseline's place is named
    write_json(folder / "config.json", {**config, "eos_token_id": [151645], "text_config": {"model_type": "qwen2"}})
    code, out, _ = run("--format", "concise", "--select", "EOS015", ".", cwd=repo)
    assert "config.json eos_token_id lost [151643] compared with HEAD: [151645, 151643] (at HEAD in " \
           "text_config.eos_token_id) became [151645]" in out, out


_A, _B = 151643, 151645


def _text(eos):
    return {"model_type": "qwen2", "eos_token_id": eos, "vocab_size": 151936}


def _llava(**members):
    return {"model_type": "llava", "architectures": ["LlavaForConditionalGeneration"], **members}


def _blip(**members):
    return {"model_type": "blip-2", "architectures": ["Blip2ForConditionalGeneration"], **members}


def _omni(eos):
    return {"model_type": "qwen2_5_omni", "architectures": ["Qwen2_5OmniForConditionalGeneration"],
            "thinker_config": {"model_type": "qwen2_5_omni_thinker", "text_config": _text(eos)}}


@pytest.mark.parametrize("before, after, gen_before, gen_after, reported", [
    # a top-level scalar appears beside generation_config.json; text_config keeps its list: nothing lost
    pytest.param(_llava(text_config=_text([_B, _A])), _llava(eos_token_id=_B, text_config=_text([_B, _A])),
                 [_B, _A], [_B, _A], [], id="scalar-added-beside-generation-config"),
    # the ids moved from config.json to a new generation_config.json, which generate() reads: nothing lost
    pytest.param(_llava(eos_token_id=[_B, _A], text_config={"model_type": "qwen2"}),
                 _llava(text_config={"model_type": "qwen2"}), None, [_B, _A], [], id="moved-to-generation-config"),
    # BLIP-2 generates with text_config's ids, whatever the top level says
    pytest.param(_blip(eos_token_id=_B, text_config=_text([_B, _A])), _blip(eos_token_id=_B, text_config=_text(_B)),
                 None, None, ["config.json text_config.eos_token_id lost [151643]"], id="blip-2-text-config"),
    pytest.param(_omni([_B, _A]), _omni(_B), None, None,
                 ["config.json thinker_config.text_config.eos_token_id lost [151643]"], id="qwen2.5-omni-thinker"),
    # BLIP-2 beside generation_config.json: each file gets its own ids back (--fix had added the file's to
    # text_config, and EOS015 stayed)
    pytest.param(_blip(text_config=_text([_A, 151644])), _blip(text_config=_text(_A)), [_A, 151646], _A,
                 ["config.json text_config.eos_token_id lost [151644]",
                  "generation_config.json eos_token_id lost [151646]"], id="blip-2-both-files"),
    # helper-199: the section lost its eos beside generation_config.json, which generate() does not read
    pytest.param(_blip(text_config=_text([_B, _A])), _blip(text_config={"model_type": "qwen2", "vocab_size": 151936}),
                 [_B, _A], [_B, _A], ["config.json text_config.eos_token_id lost [151645, 151643]"],
                 id="blip-2-section-eos-removed"),
    # the thinker's own eos gone, its text_config's read now; or gone with nothing in its place
    pytest.param({**_omni(None), "thinker_config": {"model_type": "qwen2_5_omni_thinker", "eos_token_id": [_B, _A],
                                                    "text_config": {"model_type": "qwen2"}}},
                 _omni(_A), None, None, ["config.json thinker_config.text_config.eos_token_id lost [151645]"],
                 id="qwen2.5-omni-thinker-eos-moved"),
    pytest.param({**_omni(None), "thinker_config": {"model_type": "qwen2_5_omni_thinker", "eos_token_id": [_B, _A]}},
                 {**_omni(None), "thinker_config": {"model_type": "qwen2_5_omni_thinker"}}, None, None,
                 ["config.json thinker_config.eos_token_id lost [151645, 151643]"], id="qwen2.5-omni-thinker-eos-gone"),
    # config.json's eos deleted without generation_config.json: --fix writes one with every lost id
    pytest.param({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "eos_token_id": [_B, _A]},
                 {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}, None, None,
                 ["config.json eos_token_id lost [151645, 151643]"], id="config-eos-deleted"),
    # BLIP-2's generation_config.json lost its eos key: it comes back there, not in the section generate() reads
    pytest.param(_blip(text_config=_text(_A)), _blip(text_config=_text(_A)), [_A, 151644], "absent",
                 ["generation_config.json eos_token_id lost [151643, 151644]"], id="blip-2-generation-key-removed"),
])
def test_ids_dropped_anywhere_generate_reads_them_and_only_there(run, tmp_path, before, after, gen_before,
                                                                 gen_after, reported):
    """helper-197: after 5f9966d, EOS015 compared the baseline's own eos with whatever config.json's own eos was
    now (a false alarm for a scalar added beside generation_config.json), missed the inner model's section that
    BLIP-2 and Qwen2.5-Omni generate with, called ids moved to generation_config.json lost, and --fix could not
    clear BLIP-2's generation_config.json. Each place is compared with itself; --fix restores each and converges."""
    def at_baseline(folder: Path) -> None:
        write_json(folder / "config.json", before)
        if gen_before is None:
            (folder / "generation_config.json").unlink()
        else:
            write_json(folder / "generation_config.json", {"eos_token_id": gen_before})

    repo, folder = _committed(tmp_path, "qwen2-instruct-aligned", "m", at_baseline)
    write_json(folder / "config.json", after)
    if gen_after == "absent":
        write_json(folder / "generation_config.json", {"bos_token_id": _A})
    elif gen_after is not None:
        write_json(folder / "generation_config.json", {"eos_token_id": gen_after})
    code, out, _ = run("--format", "concise", "--select", "EOS015", ".", cwd=repo)
    assert [line.split(" EOS015 error: ")[1].split(" compared")[0] for line in out.splitlines()
            if " EOS015 " in line] == reported, out
    if reported:
        assert run("--fix", ".", cwd=repo)[0] == 1
        code, out, _ = run("--select", "EOS015", ".", cwd=repo)
        assert code == 0, out
        assert run("--fix", "--select", "EOS015", ".", cwd=repo)[:2] == (0, "All checks passed (1 model folder).\n")
        if gen_after == "absent":  # the section generate() reads did not get generation_config.json's 151644
            written = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            assert 151644 not in written["text_config"]["eos_token_id"]  # (its terminator 151645, EOS001's, is)
            written = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
            assert written["eos_token_id"] == [_A, 151644]


@pytest.mark.parametrize("before, after", [
    pytest.param({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "eos_token_id": [_B, _A]},
                 {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "eos_token_id": [_B]}, id="qwen2"),
    pytest.param(_llava(text_config=_text([_B, _A])), _llava(text_config=_text([_B])), id="llava"),
])
def test_ids_a_list_lost_in_config_json_come_back_there_alone(run, tmp_path, before, after):
    """helper-200: without generation_config.json, config.json is the stop set; a list cut there is restored in
    place, and --fix writes no generation_config.json besides (d889695 made it create one, which generate() would
    then read instead of config.json)."""
    def at_baseline(folder: Path) -> None:
        write_json(folder / "config.json", before)
        (folder / "generation_config.json").unlink()

    repo, folder = _committed(tmp_path, "qwen2-instruct-aligned", "m", at_baseline)
    write_json(folder / "config.json", after)
    code, out, _ = run("--format", "concise", "--select", "EOS015", ".", cwd=repo)
    assert code == 1 and out.endswith("--fix changes 1 file in 1 folder.\n"), out
    assert run("--fix", "--select", "EOS015", ".", cwd=repo)[0] == 1
    assert not (folder / "generation_config.json").exists()
    assert json.loads((folder / "config.json").read_text(encoding="utf-8")) == before


def test_a_deleted_generation_config_json_loses_the_ids_config_json_lacks(run, tmp_path, monkeypatch):
    """helper-183: EOS015 compared each file with itself, so deleting generation_config.json (Qwen2-Instruct's
    [151645, 151643]) passed, though generate() then stops on config.json's 151645 alone. --fix writes the file
    again with the lost id, and a deleted file whose ids config.json holds loses nothing."""
    repo, folder = _committed(tmp_path, "qwen2-instruct-aligned", "qwen")
    (folder / "generation_config.json").unlink()
    code, out, _ = run("--select", "EOS015", ".", cwd=repo)
    assert (code, out) == (1, "qwen/config.json:14:19: EOS015 error: generation_config.json, whose eos_token_id was "
                              "[151645, 151643] at HEAD, is deleted: generate() now stops on [151645 '<|im_end|>'] "
                              "(config.json eos_token_id), without [151643]; restore the file, or add them there "
                              "[stop-ids-dropped]\n1 of 1 model folder fails (1 error); --fix changes 1 file in 1 "
                              "folder.\n"), out
    assert run("--select", "EOS015", "--baseline", "none", ".", cwd=repo)[0] == 0
    # the file comes back byte for byte, with its sampling settings (helper-187: a new one from config.json lost them)
    committed = subprocess.run(["git", "-C", str(repo), "show", "HEAD:qwen/generation_config.json"],
                               capture_output=True, check=True).stdout
    monkeypatch.chdir(repo)
    [change] = eos_guard.fix("qwen", write=False)
    assert (change.old_text, change.new_text.encode("utf-8")) == (None, committed)
    assert change.reasons == ["restore generation_config.json from the baseline revision"]
    assert run("--fix", ".", cwd=repo)[0] == 1
    assert (folder / "generation_config.json").read_bytes() == committed
    assert run(".", cwd=repo) == (0, "All checks passed (1 model folder).\n", "")
    # config.json lists every id the deleted file did: nothing is lost
    (folder / "generation_config.json").unlink()
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    write_json(folder / "config.json", {**config, "eos_token_id": [151645, 151643]})
    assert run("--select", "EOS015", ".", cwd=repo)[0] == 0


@pytest.mark.parametrize("bad", [200000, 4294967296])
def test_removing_an_id_the_model_cannot_emit_is_no_lost_stop_id(run, tmp_path, bad):
    """helper-162: EOS006 calls an id past vocab_size an error, and EOS015 asked to put it back once a change removed
    it, an error --fix cannot clear (it adds no such id): the pre-commit hook blocked the commit that fixed the
    folder. Only ids the model can emit are lost (ResolvedModel.can_emit, as for what --fix adds)."""
    before = json.loads((FIXTURES / "qwen2-instruct-aligned" / "generation_config.json").read_text(encoding="utf-8"))
    good = before["eos_token_id"]
    repo, folder = _committed(tmp_path, "qwen2-instruct-aligned", "qwen", lambda folder: write_json(
        folder / "generation_config.json", {**before, "eos_token_id": [*good, bad]}))  # an id past vocab_size
    code, out, _ = run("--format", "concise", ".", cwd=repo)
    assert code == 1 and "EOS006" in out, out
    write_json(folder / "generation_config.json", {**before, "eos_token_id": good})
    assert run(".", cwd=repo) == (0, "All checks passed (1 model folder).\n", "")
    # an id the model can emit is still lost when it goes
    write_json(folder / "generation_config.json", {**before, "eos_token_id": good[:1]})
    assert "EOS015" in run("--format", "concise", ".", cwd=repo)[1]


ids = st.integers(min_value=0, max_value=300_000)
documents = st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k != "eos_token_id"),
                            st.none() | st.integers() | st.text(max_size=10) | st.lists(st.integers(), max_size=3),
                            max_size=5)


@settings(max_examples=300, deadline=None)
@given(doc=documents, current=st.one_of(ids, st.lists(ids, max_size=4)), added=st.lists(ids, min_size=1, max_size=3),
       indent=st.sampled_from([None, 2, 4, "\t"]), crlf=st.booleans(), ensure_ascii=st.booleans(),
       position=st.integers(min_value=0, max_value=5))
def test_adding_ids_splices_only_the_value(doc, current, added, indent, crlf, ensure_ascii, position):
    items = list(doc.items())
    items.insert(min(position, len(items)), ("eos_token_id", current))
    data = dict(items)
    text = json.dumps(data, indent=indent, ensure_ascii=ensure_ascii)
    if crlf:
        text = text.replace("\n", "\r\n")
    parsed = JsonDocument.__new__(JsonDocument)
    parsed.__init__(__import__("pathlib").Path("g.json"), text)
    new_text = apply_edits(text, [add_to_id_list(parsed, ("eos_token_id",), added)])
    expected = dict(data)
    expected["eos_token_id"] = (current if isinstance(current, list) else [current]) + added
    assert json.loads(new_text) == expected
    span = parsed.span(("eos_token_id",))
    assert new_text[:span.start] == text[:span.start]
    assert new_text.endswith(text[span.end:])


@settings(max_examples=300, deadline=None)
@given(doc=documents, value=st.one_of(ids, st.lists(ids, min_size=1, max_size=3)),
       indent=st.sampled_from([None, 2, 4, "\t"]), crlf=st.booleans())
def test_inserting_a_missing_key_keeps_everything_else(doc, value, indent, crlf):
    text = json.dumps(doc, indent=indent)
    if crlf:
        text = text.replace("\n", "\r\n")
    parsed = JsonDocument(__import__("pathlib").Path("g.json"), text)
    new_text = apply_edits(text, [insert_member(parsed, (), "eos_token_id", value)])
    assert json.loads(new_text) == {**doc, "eos_token_id": value}
    if crlf and indent is not None and doc:
        assert "\n" not in new_text.replace("\r\n", "")


@settings(max_examples=300, deadline=None)
@given(doc=documents.filter(bool), trailing=st.sampled_from(["", " ", "\t ", "   "]),
       endings=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=40))
def test_an_inserted_member_leaves_every_existing_line_as_it_was(doc, trailing, endings):
    """helper-114: the last member's trailing spaces moved to the new line, and in a file of mixed line endings the
    last member's line took the ending of the line before it. Every line of the file, ending included, is kept;
    only the comma after the last value is added, and the new line ends as the line it splits off did."""
    lines = json.dumps(doc, indent=2).split("\n")
    lines[-2] += trailing  # the last member's line (the closing brace is the last)
    text = "".join(line + endings[i % len(endings)] for i, line in enumerate(lines))
    parsed = JsonDocument(Path("g.json"), text)
    new_text = apply_edits(text, [insert_member(parsed, (), "eos_token_id", 5)])
    assert json.loads(new_text) == {**doc, "eos_token_id": 5}
    old_lines, new_lines = ([line for line in re.split("(?<=\n)|(?<=\r)(?!\n)", t) if line] for t in (text, new_text))
    assert len(new_lines) == len(old_lines) + 1
    last = len(old_lines) - 2
    assert new_lines[:last] == old_lines[:last] and new_lines[last + 2:] == old_lines[last + 1:]
    value_end = old_lines[last].rstrip("\r\n")[:len(old_lines[last].rstrip("\r\n")) - len(trailing)]
    assert new_lines[last] == value_end + "," + old_lines[last][len(value_end):]
    assert new_lines[last + 1] == '  "eos_token_id": 5' + old_lines[last][len(old_lines[last].rstrip("\r\n")):]


# Any string a JSON file can hold: lone surrogates included, but no high surrogate followed by a low one, which
# JSON reads back as the one character the pair encodes (json.loads never gives such a string).
json_strings = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=8).filter(
    lambda s: not any("\ud800" <= a <= "\udbff" and "\udc00" <= b <= "\udfff" for a, b in zip(s, s[1:])))


@settings(max_examples=300, deadline=None)
@given(value=json_strings, ensure_ascii=st.booleans())
def test_a_spliced_string_is_always_encodable(value, ensure_ascii):
    text = json.dumps({"eos_token": "x", "note": "caf\u00e9"}, indent=2, ensure_ascii=ensure_ascii)
    parsed = JsonDocument(__import__("pathlib").Path("t.json"), text)
    new_text = apply_edits(text, [replace_value(parsed, ("eos_token",), value),
                                  insert_member(parsed, (), "added", value)])
    new_text.encode("utf-8")
    assert json.loads(new_text) == {"eos_token": value, "note": "caf\u00e9", "added": value}


def test_a_missing_dependency_after_a_fix_is_the_folder_s_error(tmp_path, monkeypatch):
    """An unsafe fix can change the tokens a template is given, so that the check after the writes must render it:
    without jinja2 that folder reports the error (its files are written), rather than the run stopping unheard."""
    from eos_guard.config_types import Config
    from eos_guard.pipeline import _check_again

    folder = tmp_path / "own"
    write_json(folder / "tokenizer_config.json", {"eos_token": "<|im_end|>", "chat_template": OWN_TEMPLATE})
    monkeypatch.setitem(sys.modules, "jinja2", None)
    monkeypatch.chdir(tmp_path)
    report = _check_again(folder, Config(), {})
    assert report.model is None and report.error.endswith(
        "own: after the fix: own/tokenizer_config.json: the chat template is not one eos-guard ships results for; "
        "rendering it needs jinja2, which is not installed (pip install jinja2)")


def _qwen_tokenizer_json(vocab: dict) -> dict:
    added = [{"id": 151643 + i, "content": c, "special": True, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False} for i, c in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])]
    return {"version": "1.0", "added_tokens": added, "model": {"type": "BPE", "vocab": vocab, "merges": []}}


def _no_id_in_vocab(folder):
    write_json(folder / "tokenizer.json", _qwen_tokenizer_json({"a": 0, "<|im_end|>": -5}))


def _no_id_in_vocab_over_u32(folder):
    write_json(folder / "tokenizer.json", _qwen_tokenizer_json({"a": 0, "<|im_end|>": 1 << 32}))


def _no_id_in_added_tokens_json(folder):
    config = json.loads((folder / "tokenizer_config.json").read_text())
    del config["added_tokens_decoder"]
    write_json(folder / "tokenizer_config.json", config)
    write_json(folder / "added_tokens.json", {"<|im_end|>": -7, "<|endoftext|>": 151643, "<|im_start|>": 151644})


def _huge_declared_id_without_vocab_size(folder):
    write_json(folder / "config.json", {"model_type": "qwen2", "eos_token_id": 151645})
    text = (folder / "tokenizer_config.json").read_text()
    (folder / "tokenizer_config.json").write_text(text.replace('"151645"', '"' + "9" * 4300 + '"'))


@pytest.mark.parametrize("make", [
    pytest.param(_no_id_in_vocab, id="negative-vocab-value"),
    pytest.param(_no_id_in_vocab_over_u32, id="vocab-value-over-u32"),
    pytest.param(_no_id_in_added_tokens_json, id="negative-added-tokens-json-value"),
    pytest.param(_huge_declared_id_without_vocab_size, id="4300-digit-declared-id-no-vocab-size"),
])
def test_fix_adds_only_valid_token_ids(run, chatml, make):
    """tokenizers cannot load an id that is negative or not below 2**32 (u32): such a value is never an id to stop
    on, and --fix never writes it (a second run would flag eos-guard's own edit as EOS007)."""
    make(chatml)
    run("--fix", "chatml")
    for name in ("config.json", "generation_config.json"):
        value = json.loads((chatml / name).read_text())["eos_token_id"]
        assert all(0 <= i < 1 << 32 for i in (value if isinstance(value, list) else [value])), (name, value)
    code, out, err = run("--format", "concise", "chatml")
    assert "EOS007" not in out and "EOS006" not in out and err == "", out


@pytest.fixture
def lone_surrogate_terminator(chatml):
    """The terminator is an added token ending in a lone surrogate (valid JSON as the escape \\ud800), in a
    tokenizer_config.json that also holds a non-ASCII character, so splices there do not escape non-ASCII."""
    config = json.loads((chatml / "tokenizer_config.json").read_text())
    config["added_tokens_decoder"]["151645"]["content"] = "<|im_end|>\ud800"
    config["chat_template"] = config["chat_template"].replace("<|im_end|>", "<|im_end|>\ud800")
    config["eos_token"] = "<|endoftext|>"
    config["note"] = "NOTE"
    text = json.dumps(config, indent=2).replace('"NOTE"', '"caf\u00e9"')
    (chatml / "tokenizer_config.json").write_text(text, encoding="utf-8")
    return chatml


def test_a_lone_surrogate_is_spliced_as_its_escape(run, lone_surrogate_terminator):
    folder = lone_surrogate_terminator
    code, out, err = run("--diff", "--unsafe-fixes", "chatml")
    assert code == 1 and '+  "eos_token": "<|im_end|>\\ud800",\n' in out, err
    code, out, err = run("--fix", "--unsafe-fixes", "chatml")
    # config.json's 151645 is the tokenizer's eos once the fix is written: it needs nothing
    assert err.splitlines() == ["Fixing chatml/generation_config.json", "Fixing chatml/tokenizer_config.json"], err
    text = (folder / "tokenizer_config.json").read_text(encoding="utf-8")
    assert '"eos_token": "<|im_end|>\\ud800"' in text and '"caf\u00e9"' in text
    assert json.loads(text)["eos_token"] == "<|im_end|>\ud800"
    assert run("--fix", "--unsafe-fixes", "chatml")[2] == ""  # nothing left to write


def test_a_fix_encodes_every_new_text_before_the_first_write(run, chatml, monkeypatch):
    """Should a planned text not be encodable, the folder is not half-written: no file of it is, and one line
    says why (exit 2), for --fix and --diff alike."""
    from eos_guard import fixes

    def plan_with_an_unencodable_text(model, unsafe=False, reported=None, enabled=None):
        good = fixes.FileChange(chatml / "generation_config.json", None, '{"eos_token_id": [151643, 151645]}\n')
        bad = fixes.FileChange(chatml / "tokenizer_config.json", None, '{"eos_token": "\ud800"}\n')
        return [good, bad]

    monkeypatch.setattr(fixes, "plan", plan_with_an_unencodable_text)
    before = {p.name: p.read_bytes() for p in chatml.iterdir()}
    for mode in ("--fix", "--diff"):
        code, out, err = run(mode, "chatml")
        assert code == 2 and err.count("\n") == 1 and err.startswith(
            "eos-guard: chatml/tokenizer_config.json: cannot write: the new text holds '\\ud800', "), (mode, err)
        assert {p.name: p.read_bytes() for p in chatml.iterdir()} == before


@pytest.mark.parametrize("text", [
    pytest.param('{\n  "note": "a\u2028b\u0085c\u2029d",\n  "eos_token_id": 151643\n}\n',
                 id="line-separators-in-a-string"),
    pytest.param('{\r\n  "note": "\u2028",\r\n  "eos_token_id": 151643\r\n}\r\n', id="crlf"),
    pytest.param('{\n  "note": "\u0085",\n  "eos_token_id": 151643\n}', id="no-final-newline"),
    pytest.param(None, id="created-file"),
])
def test_the_diff_is_a_patch_git_applies(run, tmp_path, text):
    """--diff applied with git gives byte for byte what --fix writes; str.splitlines cut lines at U+2028 and
    U+0085, which git does not, so the patch did not apply."""
    for where in ("diffed", "fixed"):
        folder = shutil.copytree(CHATML, tmp_path / where / "chatml")
        if text is None:
            (folder / "generation_config.json").unlink()
            write_json(folder / "config.json", {"model_type": "qwen2", "eos_token_id": 151643, "vocab_size": 151936})
        else:
            (folder / "generation_config.json").write_bytes(text.encode("utf-8"))
    code, patch, err = run("--diff", "chatml", cwd=tmp_path / "diffed")
    assert code == 1 and err == ""
    (tmp_path / "fix.patch").write_bytes(patch.encode("utf-8"))
    apply = ["git", "apply", "--whitespace=nowarn", str(tmp_path / "fix.patch")]
    for args in (apply[:2] + ["--check"] + apply[2:], apply):
        proc = subprocess.run(args, cwd=tmp_path / "diffed", capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr + patch
    run("--fix", "chatml", cwd=tmp_path / "fixed")
    for name in ("config.json", "generation_config.json"):
        diffed, fixed = (tmp_path / where / "chatml" / name for where in ("diffed", "fixed"))
        assert diffed.read_bytes() == fixed.read_bytes(), name


def test_a_diff_of_a_folder_outside_the_current_one_applies_from_the_root(run, tmp_path):
    """helper-162: a folder outside the working directory is named by its absolute path without the leading '/', as
    git diff --no-index names it, so the patch applies from '/' (docs/fix.md says so), with patch and git alike."""
    for where in ("patched", "applied", "fixed"):
        shutil.copytree(CHATML, tmp_path / where / "chatml")
    (tmp_path / "elsewhere").mkdir()
    code, text, _ = run("--diff", str(tmp_path / "patched" / "chatml"), cwd=tmp_path / "elsewhere")
    assert code == 1 and f"--- a/{str(tmp_path).lstrip('/')}/patched/chatml/" in text, text
    (tmp_path / "fix.patch").write_text(text, encoding="utf-8")
    subprocess.run(["patch", "-s", "-p1", "-d", "/", "-i", str(tmp_path / "fix.patch")], check=True)
    applied = text.replace(f"{tmp_path}/patched/".lstrip("/"), f"{tmp_path}/applied/".lstrip("/"))
    (tmp_path / "git.patch").write_text(applied, encoding="utf-8")
    subprocess.run(["git", "apply", "--whitespace=nowarn", str(tmp_path / "git.patch")], cwd="/", check=True)
    run("--fix", "chatml", cwd=tmp_path / "fixed")
    for name in ("generation_config.json",):
        fixed = (tmp_path / "fixed" / "chatml" / name).read_bytes()
        assert (tmp_path / "patched" / "chatml" / name).read_bytes() == fixed
        assert (tmp_path / "applied" / "chatml" / name).read_bytes() == fixed


def test_a_file_that_is_not_read_is_never_created_or_replaced(run, tmp_path):
    """generation_config.json is a link out of the repository (EOS018): --fix neither writes through it nor
    replaces it, and --diff shows no new file there."""
    outside = tmp_path / "outside.json"
    repo = tmp_path / "repo"
    folder = shutil.copytree(CHATML, repo / "m")
    (repo / ".git").mkdir()  # the repository: the work tree that holds the folder
    (folder / "generation_config.json").rename(outside)
    (folder / "generation_config.json").symlink_to(outside)
    before = outside.read_bytes()
    code, out, _ = run("--diff", "m", cwd=repo)
    assert "generation_config.json" not in out
    code, out, err = run("--fix", "m", cwd=repo)
    assert "EOS018" in out and "generation_config.json" not in err and "another process" not in err
    assert (folder / "generation_config.json").is_symlink() and outside.read_bytes() == before


def test_a_linked_file_inside_the_repository_is_replaced_by_a_file_and_its_target_kept(run, tmp_path):
    """A folder whose file links to another file of the repository (as a Hugging Face cache snapshot links each file
    to a blob shared with other snapshots): --fix writes a regular file in the link's place, never into the
    target."""
    folder = shutil.copytree(CHATML, tmp_path / "m")
    (tmp_path / ".git").mkdir()  # the repository holds both the folder and the blob
    blob = tmp_path / "blob"
    (folder / "generation_config.json").rename(blob)
    (folder / "generation_config.json").symlink_to(blob)
    before = blob.read_bytes()
    run("--fix", "m")
    assert not (folder / "generation_config.json").is_symlink() and blob.read_bytes() == before
    assert "151645" in (folder / "generation_config.json").read_text()


def test_a_hugging_face_cache_snapshot_named_by_its_path_is_not_fixed(run, tmp_path):
    """`--fix hf://org/name` is refused because its snapshot is the shared cache; the same snapshot named by its
    path (~/.cache/huggingface/hub/models--org--name/snapshots/<rev>) was fixed, its links replaced by files, and
    `hf://org/name` then passed offline while the commit on the Hub was unchanged. Its folders are refused, one line
    each, exit 2; other folders of the run are still fixed; the check's closing line does not offer --fix."""
    repo = tmp_path / "hub" / "models--org--name"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for source in sorted(CHATML.iterdir()):
        (repo / "blobs" / source.name).write_bytes(source.read_bytes())
        (snapshot / source.name).symlink_to(Path("..", "..", "blobs", source.name))
    local = shutil.copytree(CHATML, tmp_path / "local")
    code, out, _ = run(str(snapshot), "local")
    assert code == 1 and out.endswith("2 of 2 model folders fail (2 errors, 2 warnings); --fix changes 1 file in 1 "
                                      "folder.\n"), out
    code, out, err = run("--fix", str(snapshot), "local")
    assert code == 2 and "eos-guard: hub/models--org--name/snapshots/0123abcd: --fix does not edit a Hugging Face cache snapshot (the cached " \
        "commit, which transformers and vLLM load, would pass while the repository is unchanged); --diff shows the " \
        "changes to make in a clone\n" in err
    assert all(path.is_symlink() for path in snapshot.iterdir()) and "151645" in (
        local / "generation_config.json").read_text(encoding="utf-8")
    code, out, _ = run("--diff", str(snapshot))
    assert code == 1 and "+  \"eos_token_id\": [" in out


@pytest.mark.parametrize("text, expected", [
    ("{}", '{"eos_token_id": 5}'),
    ("{\n\n}\n", '{\n  "eos_token_id": 5\n\n}\n'),
    ("{ }", '{"eos_token_id": 5 }'),
    ("{\r\n}\r\n", '{\r\n  "eos_token_id": 5\r\n}\r\n'),
    ("{\n\t\n}", '{\n  "eos_token_id": 5\n\t\n}'),
    # the member gets a line of its own before the first line break: no space moves to the end of its line
    ("{ \n }\n", '{ \n  "eos_token_id": 5\n }\n'),
    ("{\t\r\n}", '{\t\r\n  "eos_token_id": 5\r\n}'),
    ("{\r}\r", '{\r  "eos_token_id": 5\r}\r'),
])
def test_a_member_added_to_an_empty_object_is_a_pure_insertion(text, expected):
    from eos_guard.jsonspan import JsonDocument
    from eos_guard.splice import apply_edits, insert_member

    edit = insert_member(JsonDocument(Path("generation_config.json"), text), (), "eos_token_id", 5)
    new = apply_edits(text, [edit])
    assert edit.start == edit.end and json.loads(new) == {"eos_token_id": 5} and new == expected, repr(new)
    assert new[:edit.start] + new[edit.start + len(edit.text):] == text  # every byte of the file, in order


@pytest.mark.parametrize("text, expected", [
    ('{"eos_token_id": []}', '{"eos_token_id": [5, 6]}'),
    ('{"eos_token_id": [ ]}', '{"eos_token_id": [5, 6 ]}'),
    # helper-135: '[\n  ]' became '[5, 6]', its line break lost
    ('{\n  "eos_token_id": [\n  ]\n}\n', '{\n  "eos_token_id": [\n    5, 6\n  ]\n}\n'),
    ('{\r\n  "eos_token_id": [\r\n  ]\r\n}\r\n', '{\r\n  "eos_token_id": [\r\n    5, 6\r\n  ]\r\n}\r\n'),
    # indented one step deeper than its line, the step being the file's own (was two spaces whatever the file's)
    ('{\n    "eos_token_id": [\n    ]\n}\n', '{\n    "eos_token_id": [\n        5, 6\n    ]\n}\n'),
    ('{\n\t"eos_token_id": [\n\t]\n}\n', '{\n\t"eos_token_id": [\n\t\t5, 6\n\t]\n}\n'),
    # a lone CR ends a line too (helper-145: '[\r  ]' was filled on its line)
    ('{\r  "eos_token_id": [\r  ]\r}\r', '{\r  "eos_token_id": [\r    5, 6\r  ]\r}\r'),
])
def test_ids_added_to_an_empty_list_are_a_pure_insertion(text, expected):
    from eos_guard.jsonspan import JsonDocument

    edit = add_to_id_list(JsonDocument(Path("generation_config.json"), text), ("eos_token_id",), [5, 6])
    new = apply_edits(text, [edit])
    assert edit.start == edit.end and json.loads(new) == {"eos_token_id": [5, 6]} and new == expected, repr(new)
    assert new[:edit.start] + new[edit.start + len(edit.text):] == text  # every byte of the file, in order


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_ids_added_to_a_one_entry_multi_line_list_get_lines_of_their_own(newline):
    """helper-147: in a file whose lines end with a lone CR, a list of one entry on a line of its own got the new
    ids on that line ('1, 5, 6'), where LF and CRLF files get a line each."""
    text = '{\n  "eos_token_id": [\n    1\n  ]\n}\n'.replace("\n", newline)
    edit = add_to_id_list(JsonDocument(Path("generation_config.json"), text), ("eos_token_id",), [5, 6])
    assert apply_edits(text, [edit]) == \
        '{\n  "eos_token_id": [\n    1,\n    5,\n    6\n  ]\n}\n'.replace("\n", newline)


def test_a_diff_in_github_actions_pauses_workflow_commands(run, tmp_path, monkeypatch):
    """--diff shows the files' own lines, which a GitHub runner would read as workflow commands where they hold
    ``##[`` (the runner's older form, read anywhere in a line): in GitHub Actions the patch is printed between
    ``::stop-commands::TOKEN`` and ``::TOKEN::``, with a new random token each run, and still applies."""
    hostile = '{\n  "note": "##[error file=x.py]forged ::warning::forged",\n  "eos_token_id": 151643\n}\n'
    for where in ("diffed", "fixed"):
        folder = shutil.copytree(CHATML, tmp_path / where / "chatml")
        (folder / "generation_config.json").write_text(hostile, encoding="utf-8")
    code, plain, _ = run("--diff", "chatml", cwd=tmp_path / "diffed")
    assert code == 1 and plain.startswith("--- a/chatml/generation_config.json\n") and "##[error" in plain
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    tokens = []
    for _ in range(2):
        code, patch, err = run("--diff", "chatml", cwd=tmp_path / "diffed")
        assert code == 1 and err == ""
        lines = patch.splitlines()
        opening, closing = lines[0], lines[-1]
        token = opening.removeprefix("::stop-commands::")
        assert re.fullmatch(r"[0-9a-f]{32}", token) and closing == f"::{token}::", patch
        assert "\n".join(lines[1:-1]) + "\n" == plain and token not in plain
        tokens.append(token)
    assert tokens[0] != tokens[1]
    (tmp_path / "fix.patch").write_text(patch, encoding="utf-8")
    proc = subprocess.run(["git", "apply", "--whitespace=nowarn", str(tmp_path / "fix.patch")],
                          cwd=tmp_path / "diffed", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run("--fix", "chatml", cwd=tmp_path / "fixed")
    name = "generation_config.json"
    assert (tmp_path / "diffed" / "chatml" / name).read_bytes() == (tmp_path / "fixed" / "chatml" / name).read_bytes()


def test_one_unsafe_fix_is_enough_when_a_stale_special_tokens_map_sets_the_eos(run, tmp_path):
    """TRL's SFTConfig(eos_token="<|im_end|>") saved by transformers 5 into a folder that still holds the base
    model's special_tokens_map.json: without added_tokens_decoder, transformers reads the map, whose
    <|endoftext|> wins. The unsafe fix rewrites the map; config.json must then be aligned with <|im_end|> in the
    same run (a second run changed config.json again)."""
    import transformers

    folder = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "m")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    del config["added_tokens_decoder"]
    config["eos_token"] = "<|im_end|>"
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    assert transformers.AutoTokenizer.from_pretrained(str(folder)).eos_token == "<|endoftext|>"
    code, out, _ = run("--fix", "--unsafe-fixes", "--no-cache", "m")
    assert code == 1 and out == "Fixed 3 files in 1 folder; 0 errors remain.\n", out  # 1: files were changed
    assert transformers.AutoTokenizer.from_pretrained(str(folder)).eos_token_id == 151645
    assert 151645 in transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id
    assert run("--diff", "--unsafe-fixes", "--no-cache", "m") == (
        0, "", "eos-guard: --fix --unsafe-fixes would change nothing\n")


def test_an_unsafe_fix_leaves_no_special_tokens_map_naming_the_old_eos(run, tmp_path):
    """Qwen2.5 base + ChatML SFT: tokenizer_config.json has added_tokens_decoder, so transformers ignores
    special_tokens_map.json, whose eos is <|endoftext|> like tokenizer_config.json's. --unsafe-fixes made
    tokenizer_config.json's eos <|im_end|> and left the map naming <|endoftext|>: the fix itself created an EOS008,
    and once transformers 5 saves the tokenizer again (it writes no added_tokens_decoder), that stale map takes over
    and the eos is <|endoftext|> again. The map now follows the eos the fix sets."""
    import transformers

    folder = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "m")
    code, out, _ = run("--fix", "--unsafe-fixes", "--no-cache", "m")
    assert code == 1 and out == "Fixed 4 files in 1 folder; 0 errors remain.\n", out
    assert json.loads((folder / "special_tokens_map.json").read_text())["eos_token"]["content"] == "<|im_end|>"
    assert transformers.AutoTokenizer.from_pretrained(str(folder)).eos_token == "<|im_end|>"
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    del config["added_tokens_decoder"]  # as transformers 5's save_pretrained writes it
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    assert transformers.AutoTokenizer.from_pretrained(str(folder)).eos_token == "<|im_end|>"


@pytest.mark.parametrize("fixture", ["gemma-2-2b-it-aligned", "gemma-3-it-aligned", "llama3-8b-instruct-genconfig-fix"])
def test_unsafe_fixes_leave_a_folder_every_runtime_stops_on_as_it_is(run, tmp_path, fixture):
    """Gemma 2 it ends turns with <end_of_turn> and its eos is <eos>: every runtime stops (generation_config.json
    lists both, llama.cpp knows the text). --unsafe-fixes made <end_of_turn> the eos anyway, changing what
    training code appends to every example, and exited 1 on an official release."""
    folder = shutil.copytree(FIXTURES / fixture, tmp_path / "m")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert run("--fix", "--unsafe-fixes", "--no-cache", "m") == (0, "All checks passed (1 model folder).\n", "")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_unsafe_fixes_leave_a_model_that_cannot_generate_as_it_is(run, tmp_path):
    """An embedding model saved with a ...ForCausalLM class (stella / gte-Qwen2: modules.json lists a Pooling
    module) is not checked for stopping, and its tokenizer appends its eos to every input it embeds. --unsafe-fixes
    made the ChatML template's <|im_end|> its eos all the same, since some runtime "does not stop" on it: every
    embedding changed, in a folder the report called passing."""
    folder = shutil.copytree(FIXTURES / "stella-gte-qwen2-embedding-pooling", tmp_path / "m")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    code, out, err = run("--fix", "--unsafe-fixes", "--no-cache", "m")
    assert (code, err) == (0, ""), (out, err)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


@pytest.mark.parametrize("kind", ["encoder-decoder", "add_eos_token"])
def test_unsafe_fixes_keep_the_eos_a_tokenizer_appends_to_every_input(run, tmp_path, kind):
    """helper-138: a T5 chat fine-tune (ChatML tokens added): --unsafe-fixes made <|im_end|> its eos, and T5's
    tokenizer, which appends its eos to every input and label, then ended every encoded text with <|im_end|>. The
    safe fix (the terminator a stop id) is made; the eos stays, as for an embedding model."""
    folder = shutil.copytree(FIXTURES / "t5-encoder-decoder-no-template", tmp_path / "m",
                             ignore=shutil.ignore_patterns("README.md", "expected.json"))
    added = [{"id": i, "content": text, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, text in ((300, "<|im_start|>"), (301, "<|im_end|>"))]
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    write_json(folder / "tokenizer.json", {**tokenizer, "added_tokens": tokenizer["added_tokens"] + added})
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    tokenizer_config["added_tokens_decoder"].update({str(t["id"]): {k: v for k, v in t.items() if k != "id"}
                                                     for t in added})
    tokenizer_config["chat_template"] = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] "
                                         "+ '<|im_end|>' + '\\n' }}{% endfor %}")
    if kind == "add_eos_token":  # the same folder read as a decoder whose tokenizer appends its eos
        tokenizer_config["add_eos_token"] = True
        config = json.loads((folder / "config.json").read_text())
        write_json(folder / "config.json", {**config, "is_encoder_decoder": False})
    write_json(folder / "tokenizer_config.json", tokenizer_config)
    code, out, _ = run("--format", "concise", "--no-cache", "m")  # EOS017 does not advise what the fix will not do
    assert " EOS017 " in out and "--unsafe-fixes" not in out.split(" EOS017 ")[1].splitlines()[0], out
    code, out, _ = run("--fix", "--unsafe-fixes", "--no-cache", "m")
    assert code == 1 and "0 errors remain" in out, out
    assert json.loads((folder / "tokenizer_config.json").read_text())["eos_token"] == "</s>"
    assert 301 in json.loads((folder / "generation_config.json").read_text())["eos_token_id"]


def test_a_rule_turned_off_changes_no_file(run, tmp_path):
    """As ruff applies only the fixes of the diagnostics it reports, --fix makes an edit only for a finding the run
    reports after --select/--ignore and per-file-ignores: a team that keeps config.json's scalar eos on purpose
    (EOS003 ignored for it) had it rewritten by every pre-commit run, and a check that passed (--select EOS013)
    still wrote both files and exited 1."""
    example = Path(__file__).resolve().parent.parent / "examples" / "chatml-finetune-broken"

    def fixed(settings: str | None, *options: str) -> tuple[int, set[str]]:
        work = tmp_path / f"w{len(list(tmp_path.iterdir()))}"
        folder = shutil.copytree(example, work / "m")
        if settings is not None:
            (work / ".eos-guard.yaml").write_text(settings, encoding="utf-8")
        code, _, _ = run("--fix", "--no-cache", "--baseline", "none", *options, "m", cwd=work)
        return code, {p.name for p in folder.iterdir() if p.read_bytes() != (example / p.name).read_bytes()}

    assert fixed(None) == (1, {"config.json", "generation_config.json"})
    assert fixed('per-file-ignores:\n  "m/config.json": [EOS003]\n') == (1, {"generation_config.json"})
    assert fixed("ignore: [EOS003]\n") == (1, {"generation_config.json"})
    assert fixed(None, "--select", "EOS013") == (0, set())  # the check passes: nothing to fix
    assert fixed(None, "--select", "EOS003") == (1, {"config.json"})
    assert fixed(None, "--select", "EOS001") == (1, {"generation_config.json"})
    # without generation_config.json, config.json holds the stop ids: EOS001 alone creates the file and aligns it
    folder = shutil.copytree(example, tmp_path / "no-generation-config" / "m")
    (folder / "generation_config.json").unlink()
    run("--fix", "--no-cache", "--select", "EOS001", "m", cwd=folder.parent)
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == [151643, 151645]
    assert json.loads((folder / "config.json").read_text())["eos_token_id"] == [151643, 151645]


@pytest.mark.parametrize("value", [{}, {"__type": "AddedToken"}, 5, ["<|im_end|>"]], ids=["object", "added-token-no-content",
                                                                                          "number", "list"])
@pytest.mark.parametrize("name", ["tokenizer_config.json", "special_tokens_map.json"])
def test_unsafe_fixes_leave_an_eos_transformers_cannot_load_to_a_person(run, tmp_path, name, value):
    """An eos_token object without "content" made --fix --unsafe-fixes and --diff --unsafe-fixes stop with an
    internal error (AssertionError), the run's other folders neither fixed nor reported. The value is EOS007's
    and left as it is; the stop ids are still fixed, and so is the other folder."""
    folder = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "bad")
    other = shutil.copytree(CHATML, tmp_path / "good")
    if name == "special_tokens_map.json":  # read only without added_tokens_decoder (the legacy branch)
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        config.pop("added_tokens_decoder")
        write_json(folder / "tokenizer_config.json", config)
        write_json(folder / name, {"eos_token": value})
    else:
        config = json.loads((folder / name).read_text(encoding="utf-8"))
        write_json(folder / name, {**config, "eos_token": value})
    before = (folder / name).read_bytes()
    code, out, err = run("--diff", "--unsafe-fixes", "--no-cache", ".", cwd=tmp_path)
    assert code == 1 and "internal error" not in err and "b/good/generation_config.json" in out, err
    code, out, err = run("--fix", "--unsafe-fixes", "--no-cache", "--format", "concise", ".", cwd=tmp_path)
    assert "internal error" not in err and f"bad/{name}" in out and "EOS007" in out, (out, err)
    assert (folder / name).read_bytes() == before
    assert 151645 in json.loads((other / "generation_config.json").read_text())["eos_token_id"]


def test_the_generation_attributes_are_those_of_the_installed_transformers():
    transformers = pytest.importorskip("transformers")
    from eos_guard.fixes import GENERATION_ATTRIBUTES

    if not transformers.__version__.startswith(("5.24.", "5.25.")):
        pytest.skip(f"GENERATION_ATTRIBUTES lists transformers 5.25's (and 5.24's); {transformers.__version__} is "
                    "installed")
    defaults = transformers.GenerationConfig().to_dict()
    assert [key for key in defaults if key not in ("_from_model_config", "transformers_version")] == \
        list(GENERATION_ATTRIBUTES)
    assert all(defaults[key] is None for key in GENERATION_ATTRIBUTES)  # save_pretrained writes what is set


@pytest.mark.parametrize("config", [
    {"model_type": "gpt2", "eos_token_id": 50256, "bos_token_id": 50256, "max_length": 50, "do_sample": True,
     "temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.1, "no_repeat_ngram_size": 3, "use_cache": True,
     "num_beams": 4, "task_specific_params": {"summarization": {"num_beams": 2}}, "vocab_size": 151936},
    {"model_type": "llava", "text_config": {"eos_token_id": 2, "max_length": 77, "pad_token_id": 0},
     "vocab_size": 151936},
    {"model_type": "t5", "eos_token_id": 1, "decoder_start_token_id": 0, "output_hidden_states": True,
     "decoder": {"max_length": 9, "eos_token_id": 5}, "vocab_size": 151936},
    {"model_type": "qwen2", "eos_token_id": 151643, "max_length": None, "vocab_size": 151936},
    {"model_type": "bart", "eos_token_id": 2, "bos_token_id": 0, "forced_bos_token_id": 5,
     "force_bos_token_to_be_generated": True, "output_scores": 1, "vocab_size": 151936},
    {"model_type": "bart", "eos_token_id": 2, "force_bos_token_to_be_generated": True,
     "text_config": {"forced_bos_token_id": 7}, "vocab_size": 151936},
], ids=["settings-at-the-top", "settings-in-text-config", "output-flag-and-decoder", "null-values",
        "old-forced-bos-flag-and-a-truthy-output-flag", "old-forced-bos-flag-without-bos"])
def test_a_created_generation_config_keeps_what_generate_read_from_config_json(run, tmp_path, config):
    """Without generation_config.json, generate() takes every generation setting config.json holds
    (GenerationConfig.from_model_config); once the file exists, only the file. The file --fix created held the ids
    alone: max_length, do_sample, temperature, top_p, repetition_penalty and no_repeat_ngram_size were lost, and
    decoding changed. It holds what from_model_config gives now, with the stop ids completed."""
    transformers = pytest.importorskip("transformers")
    folder = shutil.copytree(CHATML, tmp_path / "m")
    (folder / "generation_config.json").unlink()
    write_json(folder / "config.json", config)
    run("--fix", "--no-cache", "m")
    created = json.loads((folder / "generation_config.json").read_text())
    expected = transformers.GenerationConfig.from_model_config(config).to_diff_dict()
    expected.pop("transformers_version")
    expected.pop("_from_model_config", None)  # not written (docs/fix.md): transformers 4.x would rebuild the file
    created_ids, expected_ids = created.pop("eos_token_id"), expected.pop("eos_token_id", None)
    assert created == expected
    assert (created_ids if isinstance(created_ids, list) else [created_ids])[:1] == \
        (expected_ids if isinstance(expected_ids, list) else [expected_ids])[:1] or expected_ids is None


def test_a_scalar_made_a_list_keeps_its_spelling(tmp_path):
    """Turning a scalar eos into a list re-wrote it with str(): -0 became 0, a byte outside the ids added."""
    path = tmp_path / "generation_config.json"
    path.write_text('{"eos_token_id": -0}\n', encoding="utf-8")
    doc = JsonDocument.read(path)
    assert apply_edits(doc.text, [add_to_id_list(doc, ("eos_token_id",), [151645])]) == \
        '{"eos_token_id": [-0, 151645]}\n'


def test_the_stop_ids_gain_only_the_ids_the_reported_findings_ask_for(run, tmp_path):
    """With EOS001 and EOS017 ignored, the only finding was EOS002 ('add 151643'), yet --fix added the terminator
    151645 too: an id only the ignored rules ask for."""
    folder = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "m")  # eos 151643
    write_json(folder / "generation_config.json", {"eos_token_id": 151644})
    run("--fix", "--no-cache", "--ignore", "EOS001,EOS017", "m")
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == [151644, 151643]
    run("--fix", "--no-cache", "m")
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == [151644, 151643, 151645]


def test_one_fix_is_enough_when_two_folders_share_a_file_through_a_link(run, tmp_path):
    """m2/config.json links to m1/config.json (a checkpoint layout). The run wrote m1's, then refused m2's as
    'changed by another process while fixing' (the other process was itself), and a second --fix wrote again. The
    folder whose file another folder's fix wrote first is now planned again from what is there."""
    example = Path(__file__).resolve().parent.parent / "examples" / "chatml-finetune-broken"
    for name in ("m1", "m2"):
        shutil.copytree(example, tmp_path / name)
    config = (tmp_path / "m2" / "tokenizer_config.json").read_text(encoding="utf-8")
    (tmp_path / "m2" / "tokenizer_config.json").write_text(  # m2's turns end with <|im_start|>, its eos
        config.replace("+ '<|im_end|>' +", "+ '<|im_start|>' +").replace('"eos_token": "<|im_end|>"',
                                                                        '"eos_token": "<|im_start|>"'),
        encoding="utf-8")
    (tmp_path / "m2" / "config.json").unlink()
    os.symlink("../m1/config.json", tmp_path / "m2" / "config.json")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # links may point anywhere in the repository
    # the diff, which writes nothing, plans m2 from the old config.json: its new file holds m2's ids alone (fix.md)
    patch = run("--diff", "--no-cache", "m1", "m2")[1]
    m2_config = patch.split("+++ b/m2/config.json\n")[1].split("diff --git")[0]
    assert '+  "eos_token_id": [151643, 151644],' in m2_config.splitlines(), m2_config
    code, out, err = run("--fix", "--no-cache", "--format", "concise", "m1", "m2")
    assert "another process" not in err and out == "Fixed 4 files in 2 folders; 0 errors remain.\n", (out, err)
    assert run("--fix", "--no-cache", "m1", "m2") == (0, "All checks passed (2 model folders).\n", "")
    assert json.loads((tmp_path / "m2" / "config.json").read_text())["eos_token_id"] == [151643, 151645, 151644]


def _tree(root: Path) -> dict[str, str]:
    """Every entry under ``root`` but .git: a link as its target, a file as its text."""
    return {str(path.relative_to(root)): ("-> " + os.readlink(path)) if path.is_symlink() else path.read_text("utf-8")
            for path in sorted(root.rglob("*")) if ".git" not in path.parts and not path.is_dir()}


@pytest.mark.parametrize("layout", ["link-to-a-shared-file", "two-folders-share-a-file", "a-chain-of-links"])
def test_the_diff_of_a_folder_with_a_linked_file_applies_and_is_what_fix_writes(run, tmp_path, layout):
    """helper-168: --fix replaces a linked file by a regular file, and the diff showed a text edit of the link, which
    git apply and GNU patch refuse ('not a regular file'); it is now git's type change. Two folders sharing a file
    through a link: --fix plans the second again after the first's write, and the diff changed that link too (4 files
    against --fix's 3): a link to a file the diff already gives the same text needs no change of its own."""
    example = ROOT / "examples" / "chatml-finetune-broken"
    repo = tmp_path / "repo"
    shutil.copytree(example, repo / "m1")
    if layout != "two-folders-share-a-file":
        (repo / "shared").mkdir()
        (repo / "m1" / "generation_config.json").rename(repo / "shared" / "generation_config.json")
        os.symlink("../shared/generation_config.json", repo / "m1" / "generation_config.json")
    if layout == "a-chain-of-links":  # m2's links to m1's, which links to shared/ (helper-171: one file too many)
        shutil.copytree(example, repo / "m2", ignore=shutil.ignore_patterns("generation_config.json"))
        os.symlink("../m1/generation_config.json", repo / "m2" / "generation_config.json")
    elif layout == "two-folders-share-a-file":
        shutil.copytree(example, repo / "m2")
        (repo / "m2" / "generation_config.json").unlink()
        os.symlink("../m1/generation_config.json", repo / "m2" / "generation_config.json")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    folders = [p.name for p in sorted(repo.iterdir()) if p.name.startswith("m")]
    if layout == "two-folders-share-a-file":  # the check counts each folder's files as if it were fixed alone (fix.md)
        assert run("--no-cache", "--baseline", "none", *folders, cwd=repo)[1].endswith(
            "--fix changes 4 files in 2 folders.\n")
    code, patch, err = run("--diff", "--no-cache", "--baseline", "none", *folders, cwd=repo)
    assert code == 1 and err == "", err
    (tmp_path / "fix.patch").write_text(patch, encoding="utf-8")
    fixed = shutil.copytree(repo, tmp_path / "fixed", symlinks=True)
    wrote = "Fixed 2 files in 1 folder" if layout == "link-to-a-shared-file" else "Fixed 3 files in 2 folders"
    assert run("--fix", "--no-cache", "--baseline", "none", *folders, cwd=fixed)[1].startswith(wrote)
    assert (fixed / "m1" / "generation_config.json").is_file() and not (fixed / "m1" / "generation_config.json"
                                                                         ).is_symlink()
    appliers = [["git", "apply"]] + ([["patch", "-s", "-p1", "-i"]] if shutil.which("patch") else [])
    for applier in appliers:
        applied = shutil.copytree(repo, tmp_path / applier[0], symlinks=True)
        proc = subprocess.run([*applier, str(tmp_path / "fix.patch")], cwd=applied, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert _tree(applied) == _tree(fixed), applier
    if layout != "two-folders-share-a-file":  # the link's target is never written
        assert (fixed / "shared" / "generation_config.json").read_text() == (example / "generation_config.json"
                                                                            ).read_text()


def test_a_diff_that_replaces_a_link_applies_from_a_subfolder_of_the_work_tree(run, tmp_path):
    """helper-209: git apply reads a git-style section's path (a link's type change) from the work tree's root and a
    plain section's from where it runs, so from models/ it edited m/config.json and skipped the link ('Skipped
    patch'), exit 0, half a fix. Below the root every section now has git's headers and its path from the root, as
    git diff writes it there: git apply applies it in that folder, patch -p1 at the root, and both equal --fix."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", repo / "models" / "m")
    (repo / "models" / "m" / "generation_config.json").rename(repo / "models" / "m" / "gen.real.json")
    os.symlink("gen.real.json", repo / "models" / "m" / "generation_config.json")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, patch, err = run("--diff", "--no-cache", "--baseline", "none", "m", cwd=repo / "models")
    # helper-212: git apply in a folder below the root skips the files outside it (exit 0): the run says where
    assert code == 1 and err == (
        f"eos-guard: the patch replaces a symbolic link, so it names each file from the git work tree's root, as git "
        f"diff does: apply it at {repo.resolve()} (git apply, or patch -p1); git apply in a folder below the root "
        "applies only the files under that folder\n"), err
    headers = [line for line in patch.splitlines() if line.startswith(("diff --git", "--- ", "+++ "))]
    assert headers[0] == "diff --git a/models/m/config.json b/models/m/config.json", headers
    assert all("models/m/" in line or line.endswith("/dev/null") for line in headers), headers
    (tmp_path / "fix.patch").write_text(patch, encoding="utf-8")
    fixed = shutil.copytree(repo, tmp_path / "fixed", symlinks=True)
    assert run("--fix", "--no-cache", "--baseline", "none", "m", cwd=fixed / "models")[1].startswith("Fixed 2 files")
    appliers = [(["git", "apply"], "models")] + ([(["patch", "-s", "-p1", "-i"], ".")] if shutil.which("patch") else [])
    for applier, where in appliers:
        applied = shutil.copytree(repo, tmp_path / applier[0], symlinks=True)
        proc = subprocess.run([*applier, str(tmp_path / "fix.patch")], cwd=applied / where, capture_output=True,
                              text=True)
        assert proc.returncode == 0 and "Skipped" not in proc.stderr, proc.stdout + proc.stderr
        assert _tree(applied) == _tree(fixed), applier
    # at the root, or with no link to replace, the paths stay relative to the working directory, with plain headers
    assert run("--diff", "--no-cache", "--baseline", "none", "models/m", cwd=repo)[1] == patch.replace(
        "diff --git a/models/m/config.json b/models/m/config.json\n", "")
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", repo / "models" / "plain")
    assert run("--diff", "--no-cache", "--baseline", "none", "plain", cwd=repo / "models")[1].startswith(
        "--- a/plain/config.json\n")


def _set_tokens(path: Path, **tokens: str) -> None:
    values = json.loads(path.read_text(encoding="utf-8"))
    values.update(tokens)
    path.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")


@pytest.mark.parametrize("fixture, tokens, generation, expected", [
    pytest.param("llama3-8b-instruct-release", {"eos_token": "<|begin_of_text|>"}, None, [128001, 128009],
                 id="an-eos-that-is-the-bos-is-not-added"),
    pytest.param("qwen25-base-chatml-sft-gen-endoftext", {}, 151645, [151645, 151643],
                 id="a-base-model-s-endoftext-is-kept"),
    pytest.param("qwen25-base-chatml-sft-gen-endoftext", {"bos_token": "<|endoftext|>"}, 151645, [151645, 151643],
                 id="a-gpt2-style-bos-and-eos-is-kept"),
])
def test_an_unsafe_fix_keeps_the_old_eos_a_stop_id_unless_it_is_the_bos(run, tmp_path, fixture, tokens, generation,
                                                                         expected):
    """--unsafe-fixes makes the eos the turn terminator, and the stop ids gained the old eos as well, since it was
    the tokenizer's eos when the fix was planned: a tokenizer whose eos was set to its bos (Llama 3's
    <|begin_of_text|>) got its bos as a stop id in generation_config.json and config.json. The old eos stays a stop
    id (Qwen2-Instruct ships [151645, 151643], Llama 3.1-Instruct [128001, 128008, 128009]) unless it is the
    tokenizer's bos and no text that ends generation (GPT-2's <|endoftext|> is both)."""
    import transformers

    folder = shutil.copytree(FIXTURES / fixture, tmp_path / "m")
    if tokens:
        _set_tokens(folder / "tokenizer_config.json", **tokens)
    if generation is not None:
        write_json(folder / "generation_config.json", {"bos_token_id": 151643, "eos_token_id": generation})
    run("--fix", "--unsafe-fixes", "--no-cache", "--baseline", "none", "m")
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == expected
    config_eos = json.loads((folder / "config.json").read_text())["eos_token_id"]
    assert set(config_eos if isinstance(config_eos, list) else [config_eos]) <= set(expected)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert tokenizer.eos_token in ("<|eot_id|>", "<|im_end|>") and tokenizer.eos_token_id in expected  # the terminator
    code, out, _ = run("--no-cache", "--baseline", "none", "--format", "concise", "m")
    assert not re.search(r"EOS00[123]", out), out


@pytest.mark.parametrize("top, generation, eos_token", [
    pytest.param("absent", None, "<|endoftext|>", id="text-config-only"),
    pytest.param(None, None, "<|endoftext|>", id="top-level-null"),
    pytest.param(151643, None, "<|endoftext|>", id="top-level-and-text-config"),
    pytest.param("absent", [151645, 151643], "<|im_end|>", id="text-config-only-beside-generation-config"),
    pytest.param(151643, [151645, 151643], "<|im_end|>", id="top-level-and-text-config-beside-generation-config"),
])
def test_a_composite_config_is_fixed_where_transformers_and_vllm_read_it(run, tmp_path, top, generation, eos_token):
    """A VLM's config.json (LLaVA-OneVision-Qwen2 shape) with text_config.eos_token_id beside or instead of a
    top-level one. transformers 5.24 reads the top level, else the text config (GenerationConfig.from_model_config
    on the raw JSON, and on the config object through get_text_config, which vLLM 0.34 uses without
    generation_config.json; SGLang copies text_config's values up only where the top level has none): the fix
    edits that value, and the check points at it."""
    import transformers

    folder = shutil.copytree(FIXTURES / "vlm-eos-only-in-text-config", tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["text_config"]["eos_token_id"] = 151643
    if top != "absent":
        config["eos_token_id"] = top
    write_json(folder / "config.json", config)
    if generation is not None:
        write_json(folder / "generation_config.json", {"eos_token_id": generation})
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    write_json(folder / "tokenizer_config.json", {**tokenizer_config, "eos_token": eos_token})
    read_at = ("eos_token_id",) if isinstance(top, int) else ("text_config", "eos_token_id")
    _, out, _ = run("--no-cache", "--baseline", "none", "--format", "json", "m")
    start = JsonDocument.read(folder / "config.json").span(read_at).start
    line = (folder / "config.json").read_text()[:start].count("\n") + 1
    # EOS001 (no generation_config.json: config.json holds the stop ids) or EOS003, at the value that is read
    assert {f["line"] for f in json.loads(out)["findings"] if f["path"] == "m/config.json"} == {line}, out

    run("--fix", "--no-cache", "--baseline", "none", "m")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    stop = transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id  # created where it was missing
    assert {151645, tokenizer.eos_token_id} <= set(stop)
    objects = transformers.GenerationConfig.from_model_config(transformers.AutoConfig.from_pretrained(str(folder)))
    config_eos = objects.eos_token_id if isinstance(objects.eos_token_id, list) else [objects.eos_token_id]
    assert tokenizer.eos_token_id in config_eos  # config.json's eos, as read through the object (vLLM's C*)
    _, out, _ = run("--no-cache", "--baseline", "none", "--format", "concise", "m")
    assert not re.search(r"EOS00[1-3]", out), out


@pytest.mark.parametrize("case", ["no-stop-ids-anywhere", "generation-config-without-eos"])
def test_eos004_names_the_ids_fix_writes(tmp_path, run, case):
    """EOS004 said only "generate() never stops on a token"; it now names the ids --fix writes (the terminators,
    then the tokenizer's eos), and transformers stops on exactly those after the fix."""
    transformers = pytest.importorskip("transformers")
    folder = shutil.copytree(FIXTURES / case, tmp_path / "m")
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    message = next(f["message"] for f in json.loads(out)["findings"] if f["code"] == "EOS004")
    named = [int(i) for i in re.findall(r"(\d+) '", message.rpartition("; add ")[2])]
    assert named, message
    run("--fix", "--exit-zero-even-if-changed", "--baseline", "none", str(folder))
    if (folder / "generation_config.json").exists():
        eos = transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id
    else:
        eos = json.loads((folder / "config.json").read_text(encoding="utf-8"))["eos_token_id"]
    assert (eos if isinstance(eos, list) else [eos]) == named, (message, eos)


def test_eos004_fix_also_adds_the_calling_turns_end(tmp_path, run):
    """docs/rules.md EOS004: --fix writes the ids the finding names and, where the template ends a tool call with
    a token of its own, that one too (gpt-oss's <|call|> 200012, as EOS030 asks)."""
    transformers = pytest.importorskip("transformers")
    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    write_json(folder / "generation_config.json", {"bos_token_id": 199998})
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    message = next(f["message"] for f in json.loads(out)["findings"] if f["code"] == "EOS004")
    named = [int(i) for i in re.findall(r"(\d+) '", message.rpartition("; add ")[2])]
    assert 200012 not in named and named, message
    run("--fix", "--exit-zero-even-if-changed", "--baseline", "none", str(folder))
    eos = transformers.GenerationConfig.from_pretrained(str(folder)).eos_token_id
    assert eos == [*named, 200012], (message, eos)


@pytest.mark.parametrize("keywords, error", [
    ({"write": "false"}, TypeError), ({"unsafe": "no"}, TypeError), ({"write": 0}, TypeError),
    ({"config": ""}, ValueError), ({"config": 3}, TypeError),
])
def test_fix_refuses_switches_that_are_not_booleans_and_writes_nothing(tmp_path, keywords, error):
    """helper-114: eos_guard.fix('m', write='false') wrote (a non-empty string is true), and unsafe='no' changed
    tokenizer_config.json's eos_token; config='' read the current folder as a settings file."""
    import shutil

    import eos_guard

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(error):
        eos_guard.fix(folder, **keywords)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_an_unsafe_fix_changes_what_a_template_writing_eos_token_renders(tmp_path, run):
    """docs/fix.md (helper-113): Phi-3's template writes eos_token after the last turn when no generation prompt is
    asked for. With the eos made the terminator, the rendered training text ends with the terminator twice
    (AutoGPTQ saves no generation_config.json: the safe fix alone makes such a folder stop)."""
    import shutil

    from transformers import AutoTokenizer

    folder = shutil.copytree(FIXTURES / "phi3-mini-4k-instruct", tmp_path / "m")
    (folder / "generation_config.json").unlink()
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    before = AutoTokenizer.from_pretrained(folder).apply_chat_template(chat, tokenize=False)
    assert before.endswith("Hello<|end|>\n<|endoftext|>"), before
    safe = shutil.copytree(folder, tmp_path / "safe")
    assert run("--fix", "--unsafe-fixes", "--no-cache", "m")[0] == 1
    after = AutoTokenizer.from_pretrained(folder).apply_chat_template(chat, tokenize=False)
    assert after == before.removesuffix("<|endoftext|>") + "<|end|>", after
    # the safe fix alone: the stop ids get <|end|>, the tokenizer (and so the training text) is left as it was
    assert run("--fix", "--no-cache", "safe")[0] == 1
    code, out, _ = run("--format", "text", "--no-cache", "safe")
    assert (code, out) == (0, "All checks passed (1 model folder).\n"), out
    assert AutoTokenizer.from_pretrained(safe).apply_chat_template(chat, tokenize=False) == before


def test_a_diff_of_a_folder_named_by_its_absolute_path_applies_from_the_root(run, tmp_path):
    """An absolute PATH made headers like 'a//tmp/m/config.json'; they are 'a/tmp/m/config.json', as git diff
    --no-index writes them, and the patch applies with -p stripping 'a/' and the folders above."""
    folder = shutil.copytree(CHATML, tmp_path / "diffed" / "chatml")
    (tmp_path / "elsewhere").mkdir()
    code, patch, err = run("--diff", str(folder), cwd=tmp_path / "elsewhere")
    assert code == 1 and err == "" and "a//" not in patch and f"--- a{folder}/generation_config.json" in patch, patch
    (tmp_path / "fix.patch").write_text(patch, encoding="utf-8")
    relative = os.path.relpath(tmp_path, "/")
    proc = subprocess.run(["git", "apply", "--check", f"-p{relative.count('/') + 2}", str(tmp_path / "fix.patch")],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


NAMES = {"nbsp": "my\u00a0model", "tab": "tab\there", "bytes": os.fsdecode(b"raw\xffbyte"), "quote": 'q"uote',
         "emoji": "emoji\U0001f44dx", "escape": "red\x1b[31m", "space": "plain name", "command": "##[error]forged"}


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_a_diff_of_a_folder_with_an_odd_name_applies(run, tmp_path, name):
    """helper-119: headers went through printable(), so 'my\\xa0model' (a NBSP) was a name no file has and the patch
    did not apply. They are quoted as git quotes them (octal bytes in double quotes), which git apply reads back
    and a terminal shows as plain ASCII."""
    try:
        folder = shutil.copytree(CHATML, tmp_path / "repo" / name)
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system refuses the name")
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    code, patch, _ = run("--diff", "--baseline", "none", ".", cwd=tmp_path / "repo")
    # a header's name with a space ends with a tab, as git writes it
    assert code == 1 and patch.isascii() and all(line.rstrip("\t").isprintable() for line in patch.splitlines()), patch
    assert "##[" not in patch  # a GitHub runner's command form, anywhere in a line
    (tmp_path / "fix.patch").write_text(patch, encoding="utf-8")
    if shutil.which("patch"):  # helper-138: GNU patch cut 'plain name/config.json' at the space
        proc = subprocess.run(["patch", "-p1", "--dry-run", "-i", str(tmp_path / "fix.patch")], cwd=tmp_path / "repo",
                              capture_output=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run(["git", "apply", str(tmp_path / "fix.patch")], cwd=tmp_path / "repo", capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert run("--baseline", "none", ".", cwd=tmp_path / "repo")[0] == 0 and (folder / "config.json").is_file()


@pytest.mark.parametrize("skip", ["link", "size"])
def test_a_folder_whose_tokenizer_json_was_not_read_gets_no_id(run, tmp_path, skip):
    """helper-145: with tokenizer.json not read (EOS018: a link out of the folder, or over max-file-size), the
    terminator's id came from a stale legacy added_tokens.json, and --fix wrote it as a stop id, where transformers,
    which loads tokenizer.json, gives that id to another token (here <|im_start|>) and <|im_end|> a new one. The
    ids of a folder whose vocabulary was not read are not known: no id is reported from added_tokens.json, and --fix
    writes nothing."""
    fixture = FIXTURES / "legacy-added-tokens-json-id-taken-by-tokenizer-json"
    folder = shutil.copytree(fixture, tmp_path / "m", ignore=shutil.ignore_patterns("README.md", "expected.json"))
    if skip == "link":
        shutil.move(folder / "tokenizer.json", tmp_path / "tokenizer.json")
        (folder / "tokenizer.json").symlink_to(tmp_path / "tokenizer.json")
    else:
        (folder / ".eos-guard.yaml").write_text("max-file-size: 0.0005\n", encoding="utf-8")  # 524 bytes
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.is_symlink()}
    code, out, err = run("--format", "json", "--no-cache", str(folder), cwd=folder)
    findings = json.loads(out)["findings"]
    assert code == 1 and "EOS018" in {f["code"] for f in findings}, out
    assert not any("(4)" in f["message"] or "add 4" in f["message"] for f in findings), out
    assert "tokenizer.json, which gives the ids (added_tokens.json's too), was not read (EOS018)" in out, out
    code, out, err = run("--fix", "--no-cache", str(folder), cwd=folder)
    assert code == 1 and "Fixing" not in err, (out, err)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.is_symlink()} == before


def test_a_folder_whose_tokenizer_json_was_not_read_gets_no_edit_from_its_declared_ids(run, tmp_path):
    """The ids added_tokens_decoder declares are taken while tokenizer.json is unread (they report EOS001, "add
    151645"), but transformers, which loads tokenizer.json, may give its texts other ids: --fix adds none."""
    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    (tmp_path / "elsewhere.json").write_text("{}", encoding="utf-8")
    (folder / "tokenizer.json").symlink_to(tmp_path / "elsewhere.json")  # a link out of the folder: EOS018
    before = {p.name: p.read_bytes() for p in folder.iterdir() if not p.is_symlink()}
    code, out, _ = run("--format", "concise", "--no-cache", str(folder))
    assert code == 1 and " EOS018 " in out and " EOS001 " in out and "add 151645" in out, out
    code, out, err = run("--fix", "--no-cache", str(folder))
    assert code == 1 and "Fixing" not in err, (out, err)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if not p.is_symlink()} == before


def test_an_unread_added_tokens_json_transformers_never_opens_leaves_the_fix_alone(run, tmp_path):
    """helper-147: with added_tokens_decoder in tokenizer_config.json, transformers does not open added_tokens.json;
    one that is not read (a link out of the folder) does not make the ids unknown, and --fix still adds them."""
    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    (tmp_path / "elsewhere.json").write_text('{"<|im_end|>": 151645}', encoding="utf-8")
    (folder / "added_tokens.json").symlink_to(tmp_path / "elsewhere.json")
    code, out, err = run("--fix", "--no-cache", str(folder))
    assert code == 1 and "Fixing m/generation_config.json" in err.replace(str(tmp_path) + os.sep, ""), (out, err)
    assert 151645 in json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))["eos_token_id"]


def test_eos017_says_fix_creates_generation_config_json_only_where_there_is_none(run, tmp_path):
    """helper-156: EOS017 said "list it in generation_config.json's eos_token_id (--fix)" of a folder without the
    file, which --fix creates; helper-158: not where the file is there but not read (over its size limit), which
    --fix leaves alone, nor where config.json is not read (helper-209)."""
    folder = shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "m")
    (folder / "generation_config.json").unlink()

    def eos017() -> str:
        _, out, _ = run("--format", "json", "--no-cache", "--isolated", str(folder))
        return next(f["message"] for f in json.loads(out)["findings"] if f["code"] == "EOS017")

    assert "generation_config.json's eos_token_id (--fix creates the file)" in eos017()
    write_json(folder / "generation_config.json", {"eos_token_id": 151643, "padding": "x" * 5_000_000})
    assert "generation_config.json's eos_token_id (--fix)" in eos017()
    assert run("--fix", "--no-cache", "--isolated", str(folder))[0] != 0  # it is not read: nothing is fixed
    assert len((folder / "generation_config.json").read_bytes()) > 5_000_000
    # helper-209: nor where config.json, which the new file is made from, is not read (a link out of the repository)
    (folder / "generation_config.json").unlink()
    (tmp_path / "outside").mkdir()
    (folder / "config.json").rename(tmp_path / "outside" / "config.json")
    (folder / "config.json").symlink_to(tmp_path / "outside" / "config.json")
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    assert "eos_token_id (a new file, which --fix creates only from a config.json it reads)" in eos017()
    assert run("--fix", "--no-cache", "--isolated", str(folder))[0] == 1
    assert not (folder / "generation_config.json").exists()


def test_a_harmony_template_that_ends_answers_with_end_is_told_to_end_them_with_return(tmp_path, run):
    """docs/rules.md EOS001 (helper-177): Unsloth's gpt-oss template ends the final answer of a training conversation
    with <|end|> 200007, not <|return|>. transformers renders <|end|> after the reasoning too (the oracle), so a stop
    id on it would end every answer after its reasoning: the finding points at the template and says to end the
    final answer with <|return|>; no finding asks to list <|end|> (EOS017), every runtime's advice is the template's,
    and --fix with --unsafe-fixes writes nothing."""
    from transformers import AutoTokenizer, GenerationConfig

    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    template = folder / "chat_template.jinja"
    text = template.read_text(encoding="utf-8")
    assert text.count('message.content + "<|return|>"') == 1
    template.write_text(text.replace('message.content + "<|return|>"', 'message.content + "<|end|>"'),
                        encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "ANSWER", "thinking": "REASONING"}]
    rendered = tokenizer.apply_chat_template(chat, tokenize=False)
    assert rendered.endswith("REASONING<|end|><|start|>assistant<|channel|>final<|message|>ANSWER<|end|>"), rendered
    end = tokenizer.convert_tokens_to_ids("<|end|>")
    assert end == 200007 and end not in GenerationConfig.from_pretrained(folder).eos_token_id

    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    code, out, _ = run("--format", "json", "--baseline", "none", "--runtime", "all", str(folder))
    findings = json.loads(out)["findings"]
    assert code == 1
    codes = {f["code"] for f in findings}
    assert "EOS001" in codes and "EOS017" not in codes, findings
    for finding in findings:
        if finding["code"] in ("EOS001", "EOS016"):
            assert finding["path"].endswith("chat_template.jinja"), finding
            assert "end the final answer with '<|return|>' (200002) in the chat template" in finding["message"]
            assert "add 200007" not in finding["message"], finding
    run("--fix", "--unsafe-fixes", "--baseline", "none", "--runtime", "all", str(folder))
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


def test_a_harmony_eos_set_to_end_is_told_to_be_return_not_listed(tmp_path, run):
    """docs/rules.md EOS002, EOS003 (helper-177): with the tokenizer's eos set to harmony's <|end|> (as an unsafe fix
    of the template above made it), the findings point at eos_token and say to make it <|return|>: listing 200007,
    which also ends the reasoning before every answer, would end generation there. --fix adds 200007 nowhere (it
    adds <|call|> 200012, for EOS030, as in the fixture) and leaves the eos as it is."""
    from transformers import GenerationConfig

    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        data = json.loads((folder / name).read_text(encoding="utf-8"))
        data["eos_token"] = "<|end|>"
        write_json(folder / name, data)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    findings = {f["code"]: f for f in json.loads(out)["findings"]}
    assert {"EOS002", "EOS003"} <= set(findings), findings
    for code_ in ("EOS002", "EOS003"):
        assert findings[code_]["path"].endswith("tokenizer_config.json"), findings[code_]
        assert "set eos_token to '<|return|>' (200002)" in findings[code_]["message"], findings[code_]
    # docs/rules.md EOS033: vLLM, SGLang and mlx-lm add the tokenizer's eos to their stop set, and so stop after the
    # reasoning; llama.cpp (and Ollama, built on it) leaves <|end|> out in a harmony vocabulary
    code, out, _ = run("--format", "json", "--baseline", "none", "--runtime", "all", str(folder))
    early = sorted(f["message"].split(" stops on ")[0] for f in json.loads(out)["findings"] if f["code"] == "EOS033")
    assert early == ["SGLang", "mlx-lm", "vLLM"], out
    run("--fix", "--baseline", "none", str(folder))
    after = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert {name for name in before if after[name] != before[name]} == {"generation_config.json"}
    assert GenerationConfig.from_pretrained(folder).eos_token_id == [200002, 199999, 200012]


@pytest.mark.parametrize("template_ends_with", ["<|return|>", "<|end|>"], ids=["openai-template", "unsloth-template"])
def test_a_harmony_stop_id_on_end_is_eos033_and_fix_removes_nothing(tmp_path, run, template_ends_with):
    """docs/rules.md EOS033 (helper-180): with 200007 '<|end|>' in a gpt-oss fine-tune's eos_token_id (by hand, or by an
    earlier --fix of Unsloth's template), generate() stops after the reasoning, which transformers renders ending with
    <|end|> before the answer (the oracle). Nothing said so; EOS033 does, for OpenAI's template and Unsloth's, and no
    finding asks to add or keep it. --fix only adds ids: the list keeps 200007 (a person removes it). Phi-3, whose turn
    end <|end|> is in a vocabulary without <|return|> or <|call|>, gets no EOS033 (phi3-mini-4k-instruct's golden
    report)."""
    from transformers import AutoTokenizer, GenerationConfig

    folder = shutil.copytree(FIXTURES / "gpt-oss-harmony-return-vs-end", tmp_path / "m")
    template = folder / "chat_template.jinja"
    template.write_text(template.read_text(encoding="utf-8").replace(
        'message.content + "<|return|>"', f'message.content + "{template_ends_with}"'), encoding="utf-8")
    settings = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    write_json(folder / "generation_config.json", {**settings, "eos_token_id": [200002, 199999, 200012, 200007]})
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "ANSWER", "thinking": "REASONING"}]
    rendered = AutoTokenizer.from_pretrained(folder).apply_chat_template(chat, tokenize=False)
    assert "REASONING<|end|><|start|>assistant<|channel|>final<|message|>ANSWER" in rendered, rendered
    assert 200007 in GenerationConfig.from_pretrained(folder).eos_token_id

    code, out, _ = run("--format", "json", "--baseline", "none", str(folder))
    findings = json.loads(out)["findings"]
    eos033 = [f for f in findings if f["code"] == "EOS033"]
    assert code == 1 and len(eos033) == 1 and eos033[0]["path"].endswith("generation_config.json"), findings
    assert "remove 200007, and end turns with '<|return|>' (200002)" in eos033[0]["message"]
    assert not [f for f in findings if "add 200007" in f["message"]], findings
    run("--fix", "--baseline", "none", str(folder))
    assert GenerationConfig.from_pretrained(folder).eos_token_id == [200002, 199999, 200012, 200007]


@pytest.mark.parametrize("model_type, architecture", [("blip-2", "Blip2ForConditionalGeneration"),
                                                      ("instructblip", "InstructBlipForConditionalGeneration"),
                                                      ("kosmos-2", "Kosmos2ForConditionalGeneration")])
@pytest.mark.parametrize("eos", [151643, [151643]], ids=["scalar", "list"])
@pytest.mark.parametrize("case", ["generation-config", "no-template", "unsafe-without-generation-config"])
def test_a_value_two_steps_add_ids_to_is_edited_once(run, tmp_path, model_type, architecture, eos, case):
    """helper-195: a model that generates with config.json's text_config (BLIP-2, InstructBLIP, Kosmos-2) has its
    stop ids and config.json's own eos in one value, and --fix spliced it twice: '[151643, 151645]3, 151645]', a
    config.json transformers cannot read (a list got the id twice). One value, one edit, each id once; and a plan
    whose splices overlap is refused rather than written (splice.apply_edits)."""
    folder = shutil.copytree(CHATML, tmp_path / "m")
    write_json(folder / "config.json", {"model_type": model_type, "architectures": [architecture],
                                        "text_config": {"model_type": "qwen2", "eos_token_id": eos,
                                                        "vocab_size": 151936}})
    options = ["--fix"]
    if case == "no-template":  # EOS002/EOS003 alone: the tokenizer's eos is <|im_end|>
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        config.pop("chat_template")
        write_json(folder / "tokenizer_config.json", config)
    if case == "unsafe-without-generation-config":
        (folder / "generation_config.json").unlink()
        options.append("--unsafe-fixes")
    code, out, err = run(*options, "m")
    written = json.loads((folder / "config.json").read_text(encoding="utf-8"))  # parses
    ids = written["text_config"]["eos_token_id"]
    assert ids == [151643, 151645], (ids, out, err)
    assert code in (0, 1) and "cannot be read" not in out, (code, out, err)
    assert run("--fix", "m")[0] == 0  # nothing left to fix
    transformers = pytest.importorskip("transformers")
    assert transformers.AutoConfig.from_pretrained(folder).text_config.eos_token_id == [151643, 151645]


def test_overlapping_splices_are_refused():
    """Two edits of one span make text that is no JSON: apply_edits raises instead of writing it."""
    from eos_guard.splice import Edit

    with pytest.raises(ValueError, match="overlapping edits"):
        apply_edits('{"a": 1}', [Edit(6, 7, "[1, 2]"), Edit(6, 7, "[1, 3]")])
    with pytest.raises(ValueError, match="overlapping edits"):
        apply_edits('{"a": [1, 2]}', [Edit(6, 12, "[1, 2, 3]"), Edit(11, 11, ", 4")])
    # an insertion at the start of a replaced value goes before it, in either order
    assert apply_edits('{"a": 1}', [Edit(6, 6, "X"), Edit(6, 7, "2")]) == '{"a": X2}'
    assert apply_edits('{"a": 1}', [Edit(6, 7, "2"), Edit(6, 6, "X")]) == '{"a": X2}'
