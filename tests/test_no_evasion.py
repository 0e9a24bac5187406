"""No evasion, no reading outside the repository: any path is data, links out of the repository are refused,
and every input file gets the same checks as a model file."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from support import write_json

# Names git and line-based protocols treat specially: newlines, a trailing "missing", quotes, tabs, spaces.
AWKWARD_NAMES = ["a\nb", "x missing", "HEAD:y", 'q"uote', "t\tab", " lead", "\\back", "ünï"]


def commit_all(repo):
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "base"], check=True)


@pytest.mark.parametrize("per_call", [500, 3], ids=["one-git-call", "several-git-calls"])
def test_folder_names_cannot_turn_off_the_baseline_for_other_folders(run, tmp_path, monkeypatch, per_call):
    """EOS015 compares with git HEAD; before, a folder name with a newline shifted the reader, so every folder
    after it was compared with nothing."""
    from eos_guard import baseline

    monkeypatch.setattr(baseline, "ARGUMENTS_PER_CALL", per_call)
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    names = [*AWKWARD_NAMES, "z-plain"]
    for name in names:
        write_json(repo / name / "config.json", {"eos_token_id": [1, 2], "vocab_size": 8})
        write_json(repo / name / "generation_config.json", {"eos_token_id": [1, 2]})
    commit_all(repo)
    for name in names:  # every folder drops id 2
        write_json(repo / name / "generation_config.json", {"eos_token_id": [1]})
    code, out, err = run("--format", "json", "--select", "EOS015", ".", cwd=repo)
    dropped = sorted(f["model"] for f in json.loads(out)["findings"] if f["code"] == "EOS015")
    assert dropped == sorted(names), err


def test_a_baseline_over_the_size_limit_is_never_read(run, tmp_path, monkeypatch):
    """A committed generation_config.json is small in .git (compressed) however large it is: before, HEAD's 39 MB
    version was read and parsed whole (1 GB) while the working-tree copy was refused. A baseline over
    max-config-size is not asked from git, so that file has no baseline; the folder beside it keeps its EOS015."""
    from eos_guard import baseline

    git, outputs = baseline._git, []

    def recording_git(*args, **kwargs):
        out = git(*args, **kwargs)
        outputs.append(len(out or b""))
        return out

    monkeypatch.setattr(baseline, "_git", recording_git)
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".eos-guard.yaml").write_text("max-config-size: 0.01\n", encoding="utf-8")  # 10,485 bytes
    for name, padding in (("large", 50_000), ("small", 0)):
        write_json(repo / name / "config.json", {"eos_token_id": [1, 2], "vocab_size": 8})
        write_json(repo / name / "generation_config.json", {"eos_token_id": [1, 2], "pad": " " * padding})
    commit_all(repo)
    for name in ("large", "small"):
        write_json(repo / name / "generation_config.json", {"eos_token_id": [1]})
    code, out, err = run("--format", "json", "--select", "EOS015", ".", cwd=repo)
    assert [f["model"] for f in json.loads(out)["findings"]] == ["small"], err
    assert outputs and max(outputs) < 10_000


@pytest.fixture
def outside(tmp_path):
    """A model folder outside the repository, with a secret a check would quote and a fix would rewrite."""
    folder = tmp_path / "outside"
    write_json(folder / "config.json", {"eos_token_id": 7, "vocab_size": 8})
    write_json(folder / "generation_config.json", {"eos_token_id": 1})
    write_json(folder / "tokenizer_config.json", {"eos_token": "SECRET", "added_tokens_decoder": {
        "7": {"content": "SECRET", "special": True}}})
    return folder


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    write_json(repo / "honest" / "config.json", {"eos_token_id": 2, "vocab_size": 8})
    return repo


@pytest.mark.parametrize("shape", ["folder-link", "parent-link", "link-named-as-path", "file-of-linked-folder"])
@pytest.mark.parametrize("args", [["--format", "json"], ["--fix", "--format", "json"], ["explain", "--format", "json"]],
                         ids=["check", "fix", "explain"])
def test_a_model_folder_linked_out_of_the_repository_is_not_read(run, repo, outside, shape, args):
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    if shape == "folder-link":
        os.symlink(outside, repo / "evil")
        named = "."
    elif shape == "parent-link":
        os.symlink(outside.parent, repo / "models")
        named = "models/outside"
    elif shape == "link-named-as-path":
        os.symlink(outside, repo / "evil")
        named = "evil"
    else:
        os.symlink(outside, repo / "evil")
        named = "evil/generation_config.json"  # as pre-commit passes files
    code, out, err = run(*args, named, "honest", cwd=repo)
    assert "SECRET" not in out + err
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before  # nothing written outside
    if args[0] != "explain":
        findings = json.loads(out)["findings"]
        refused = [f for f in findings if f["code"] == "EOS018"]
        assert len(refused) == 1 and "outside" in refused[0]["message"] and code == 1
        assert [m["path"] for m in json.loads(out)["models"]] == ["honest"]


def _record_reads(monkeypatch) -> list[str]:
    """Every path opened or listed (os.open, os.scandir) while the test runs."""
    seen: list[str] = []
    real_open, real_scandir = os.open, os.scandir
    monkeypatch.setattr(os, "open", lambda path, *rest, **kw: seen.append(os.fspath(path)) or real_open(path, *rest,
                                                                                                     **kw))
    monkeypatch.setattr(os, "scandir", lambda path=".": seen.append(os.fspath(path)) or real_scandir(path))
    return seen


@pytest.mark.parametrize("named", ["models", "models/", "evil/config.json", "."])
def test_a_folder_linked_out_of_the_repository_is_neither_listed_nor_opened(run, repo, tmp_path, monkeypatch,
                                                                             named):
    """A pull request links ``models`` to a tree outside the repository (the runner's home, ``/``): before, the
    search listed that whole tree, opened the config.json it met to tell whether it was a model's, and named
    every model folder it found there by its real path (an EOS018 each), so a pull request could map the runner's
    disk and learn a bit of each config.json's content. Named as a PATH, it is now one EOS018; met by the search,
    it is judged by the names of its files alone; nothing in it is listed or opened, and no message shows where
    a link resolves (a link to /proc/self/cwd would show the runner's working folder)."""
    outside = tmp_path / "outside-tree"
    write_json(outside / "config.json", {"model_type": "qwen2"})  # a lone config.json: opened to tell
    write_json(outside / "deep" / "a" / "tokenizer_config.json", {"eos_token": "SECRET"})
    write_json(outside / "plain" / "config.json", {"not": "a model"})
    os.symlink("../outside-tree", repo / "models")
    os.symlink("../outside-tree/plain", repo / "evil")
    seen = _record_reads(monkeypatch)
    code, out, err = run("--format", "json", named, "honest", cwd=repo)
    assert not [path for path in seen if os.path.realpath(path).startswith(str(outside))], seen
    refused = sorted((f["path"], f["message"]) for f in json.loads(out)["findings"] if f["code"] == "EOS018")
    expected = {"models": ["models"], "models/": ["models"], "evil/config.json": ["evil"],
                "." : ["evil", "models"]}[named]
    assert [path for path, _ in refused] == expected, (out, err)
    assert not any(str(outside) in message for _, message in refused), refused
    assert "SECRET" not in out + err and "deep" not in out + err


def test_a_missing_file_linked_out_of_the_repository_is_refused_like_an_existing_one(run, repo, tmp_path):
    """Whether a file outside the repository exists was told by the output: a link to one that exists was EOS018,
    a link to one that does not was 'cannot read file: ... does not exist' (exit 2), an oracle for the runner's
    files (~/.ssh/id_rsa). Both are now the same EOS018."""
    present = write_json(tmp_path / "present.json", {"eos_token_id": 1})
    write_json(repo / "m" / "config.json", {"eos_token_id": 2, "vocab_size": 8})
    os.symlink(present, repo / "m" / "generation_config.json")
    os.symlink(tmp_path / "absent.json", repo / "m" / "special_tokens_map.json")
    code, out, err = run("--format", "json", "m", cwd=repo)
    refused = sorted(f["path"] for f in json.loads(out)["findings"] if f["code"] == "EOS018")
    assert code == 1 and err == "" and refused == ["m/generation_config.json", "m/special_tokens_map.json"], (out, err)


def test_a_linked_folder_inside_the_repository_is_checked(run, repo):
    write_json(repo / "real" / "config.json", {"eos_token_id": 3, "vocab_size": 8})
    os.symlink("real", repo / "alias")
    code, out, err = run("--format", "json", "alias", cwd=repo)
    assert code == 0 and [m["path"] for m in json.loads(out)["models"]] == ["real"]


@pytest.mark.parametrize("target", ["outside", "inside", "loop"])
def test_a_linked_additional_chat_templates_folder_is_checked_or_refused(run, repo, outside, target):
    folder = repo / "m"
    write_json(folder / "config.json", {"eos_token_id": 2, "vocab_size": 8})
    templates = {"outside": outside, "inside": repo / "templates", "loop": folder / "additional_chat_templates"}[target]
    if target == "inside":
        templates.mkdir()
        (templates / "tool_use.jinja").write_text("{{ raise_exception('checked') }}", encoding="utf-8")
    else:
        (outside / "tool_use.jinja").write_text("SECRET", encoding="utf-8")
    os.symlink(templates, folder / "additional_chat_templates")
    code, out, err = run("--format", "json", "m", cwd=repo)
    findings = [(f["code"], f["path"]) for f in json.loads(out)["findings"]]
    assert "SECRET" not in out + err
    if target == "inside":
        assert ("EOS014", "templates/tool_use.jinja") in findings  # shown where the file is
    else:
        assert findings == [("EOS018", "m/additional_chat_templates")]


def test_code_in_a_model_folder_is_never_imported(run, tmp_path):
    """transformers would import tokenization_evil.py with trust_remote_code; eos-guard reads JSON only."""
    folder = tmp_path / "m"
    write_json(folder / "config.json", {"eos_token_id": 2, "auto_map": {"AutoConfig": "configuration_evil.EvilConfig"}})
    write_json(folder / "tokenizer_config.json", {"eos_token": "</s>", "auto_map": {
        "AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]}})
    marker = tmp_path / "imported"
    for name in ("configuration_evil.py", "tokenization_evil.py", "__init__.py"):
        (folder / name).write_text(f"open({str(marker)!r}, 'w').write('pwned')\n", encoding="utf-8")
    for args in (["--format", "json"], ["explain"], ["--fix"]):
        run(*args, "m")
    assert not marker.exists()


def test_jinja2_is_pinned_to_a_release_without_known_sandbox_escapes():
    import sys
    from importlib.metadata import version

    from support import ROOT

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "jinja2>=3.1.6" in [d.replace(" ", "").lower() for d in dependencies]
    assert tuple(int(p) for p in version("jinja2").split(".")[:3]) >= (3, 1, 6)


@pytest.mark.parametrize("pieces", [1 << 18, 64], ids=["one-piece", "many-pieces"])
def test_a_decoy_vocabulary_after_the_models_is_not_read(run, tmp_path, monkeypatch, pieces):
    """A second ``vocab`` and ``merges`` written after the model's, inside ``model`` (the tokenizers library
    accepts and ignores them): the ids are those of ``model.vocab``, as the tokenizers library gives them. Before,
    the vocabulary's bounds were taken from the last ``"merges": [`` and the ``"vocab":`` before it, the decoy's."""
    from tokenizers import Tokenizer, models

    from eos_guard import vocab_scan

    monkeypatch.setattr(vocab_scan, "PIECE", pieces)
    vocab = {f"tok{i}": i for i in range(300)} | {"<|eot_id|>": 300}
    document = json.loads(Tokenizer(models.BPE(vocab=vocab, merges=[])).to_str())
    document["model"]["zz"] = {"vocab": {"<|eot_id|>": 7}, "merges": []}
    text = json.dumps(document, indent=2)
    assert Tokenizer.from_str(text).token_to_id("<|eot_id|>") == 300
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "tokenizer.json").write_text(text, encoding="utf-8")
    write_json(folder / "tokenizer_config.json", {"eos_token": "<|eot_id|>"})
    write_json(folder / "generation_config.json", {"eos_token_id": 300})
    code, out, err = run("--format", "json", "--no-cache", str(folder))
    assert json.loads(out)["models"][0]["tokenizer_eos"] == {"token": "<|eot_id|>", "id": 300}
    assert code == 0, out + err


def test_a_hidden_template_file_is_checked(run, tmp_path):
    """transformers loads every additional_chat_templates/*.jinja through pathlib's glob, '.rag.jinja' included;
    leaving names that start with a dot out let such a template end turns with a token no stop id covers."""
    import shutil

    from support import RULE_CASES

    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    config = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    config["eos_token_id"] = [151643, 151645]
    write_json(folder / "generation_config.json", config)
    templates = folder / "additional_chat_templates"
    templates.mkdir()
    (templates / "default.jinja").write_text("{% for m in messages %}{{ m.content }}<|im_end|>{% endfor %}")
    (templates / ".rag.jinja").write_text("{% for m in messages %}{{ m.content }}<|im_start|>{% endfor %}")
    code, out, _ = run("--format", "json", "--no-cache", "m", cwd=tmp_path)
    assert code == 1 and any(f["code"] == "EOS001" and "'.rag'" in f["message"] for f in json.loads(out)["findings"])
