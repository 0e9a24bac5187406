"""Reports do not depend on the cache: every golden folder's reports are byte-identical to the golden files (made
with ``--no-cache``: every template rendered, every vocabulary parsed) when run with an empty cache folder (cold:
shipped probe results, the vocabulary computed and stored) and again with that folder filled (warm)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from eos_guard import cache, template
from support import FIXTURES, ROOT, settled

_spec = importlib.util.spec_from_file_location("golden_regenerate", ROOT / "tests" / "golden" / "regenerate.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)


def _new_process() -> None:
    """What a new process starts with: no in-memory cache, no compiled jinja2 environment."""
    cache._MEMORY.clear()
    cache._SETTLED.clear()
    template._ENV = None


def _uncached_cold_warm(run, args: tuple[str, ...]) -> list:
    """The CLI's (code, stdout, stderr) with --no-cache, then with the cache folder empty, then filled, each as a
    new process would start."""
    results = []
    for extra in (("--no-cache",), (), ()):
        _new_process()
        results.append(run(*extra, *args))
    return results


@pytest.mark.parametrize("folder", golden.folders(), ids=lambda f: f"{f.parent.name}/{f.name}")
def test_cold_and_warm_reports_match_the_golden_files(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    expected = [path.read_text(encoding="utf-8") for path in golden.golden_paths(folder)]
    with golden._prepared(folder) as (where, args):
        for state in ("cold", "warm"):
            _new_process()
            check = golden._run(where, ["--format", "json", *args])
            _new_process()
            explain = golden._run(where, ["explain", "--format", "json", *args])
            assert [check, explain] == expected, f"{state} cache"


@pytest.mark.parametrize("folder", sorted(p for p in FIXTURES.iterdir() if p.is_dir()), ids=lambda f: f.name)
def test_text_report_is_the_same_uncached_cold_and_warm(run, folder, tmp_path, monkeypatch):
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    uncached, cold, warm = _uncached_cold_warm(run, ("--format", "text", "--baseline", "none", str(folder)))
    assert uncached == cold == warm
    assert uncached[1]


@pytest.mark.parametrize("background", [False, True], ids=["hashed-first", "hashed-meanwhile"])
def test_vocabulary_cache_is_found_by_content_after_a_fresh_checkout(run, tmp_path, monkeypatch, background):
    """A CI job restores the cache folder into a fresh checkout (new paths, inodes, modification times): the
    vocabulary entry is found by tokenizer.json's content, so the second run stores no new one. A large file is
    hashed on another thread while the vocabulary is read (``hashed-meanwhile``: every size, here)."""
    import shutil

    if background:
        monkeypatch.setattr(cache.Lookup, "BACKGROUND_FROM", 0)
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    first = shutil.copytree(FIXTURES / "llama3-8b-instruct-release", tmp_path / "job1" / "model")
    _new_process()
    before = run("--format", "json", "--baseline", "none", ".", cwd=first)
    vocab_entries = sorted((tmp_path / "cache").rglob("vocab/*.json"))
    assert len(vocab_entries) == 1
    second = shutil.copytree(FIXTURES / "llama3-8b-instruct-release", tmp_path / "job2" / "model")
    _new_process()
    after = run("--format", "json", "--baseline", "none", ".", cwd=second)
    assert sorted((tmp_path / "cache").rglob("vocab/*.json")) == vocab_entries
    assert after == before


def test_a_large_tokenizer_hashed_meanwhile_gives_the_same_reports(run, tmp_path, monkeypatch):
    """Every fixture with a tokenizer.json, hashed on another thread while its vocabulary is read: cold and warm
    text reports equal the uncached one."""
    monkeypatch.setattr(cache.Lookup, "BACKGROUND_FROM", 0)
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    folders = sorted(p for p in FIXTURES.iterdir() if (p / "tokenizer.json").is_file())
    assert folders
    for folder in folders:
        uncached, cold, warm = _uncached_cold_warm(run, ("--format", "json", "--baseline", "none", str(folder)))
        assert uncached == cold == warm, folder.name


def test_the_vocabulary_read_stops_when_the_cache_answers(tmp_path, monkeypatch):
    """A restored cache entry for the file's content is used, and the scan asked to give up: the entry planted here
    (a vocabulary size the file does not have) is what the check then reports, so it was not computed again."""
    import shutil

    from eos_guard.model_files import ModelFiles
    from eos_guard.vocabulary import Vocabulary

    monkeypatch.setattr(cache.Lookup, "BACKGROUND_FROM", 0)
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    folder = shutil.copytree(FIXTURES / "llama3-8b-instruct-release", tmp_path / "model")
    _new_process()
    honest = Vocabulary(ModelFiles.read(folder), use_cache=True)
    facts = dict(honest._facts)
    entries = list((tmp_path / "cache").rglob("vocab/*.json"))
    assert len(entries) == 1
    planted = {**facts, "size": facts["size"] + 1000 if facts["size"] is not None else 1000}
    entries[0].write_text(__import__("json").dumps(planted), encoding="utf-8")
    moved = shutil.copytree(folder, tmp_path / "elsewhere")  # new path and inode: only the content finds it
    _new_process()
    assert Vocabulary(ModelFiles.read(moved), use_cache=True)._facts == planted


def _poison(entry: dict, change: dict) -> dict:
    """``entry`` with ``change``'s values; a dict value changes those keys of the entry's dict."""
    changed = {key: {**entry[key], **value} if isinstance(value, dict) and isinstance(entry.get(key), dict) else value
               for key, value in change.items()}
    return {key: value for key, value in {**entry, **changed}.items() if value is not _DROP}


_DROP = object()
FOLDER = "qwen2-class-renumbers-added-tokens"  # its added tokens are numbered from the vocabulary's size


def _filled_cache(run, tmp_path, monkeypatch, settle: bool = False) -> tuple[tuple[str, ...], tuple]:
    """The CLI's arguments for a copy of FOLDER with a template of its own, and its --no-cache output, after a run
    that filled the cache folder gave the same output; ``settle``: its files old enough for their digests to be
    remembered by their stat (support.settled)."""
    import shutil

    from support import settled, with_own_template

    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    folder = with_own_template(shutil.copytree(FIXTURES / FOLDER, tmp_path / "model"))
    if settle:
        settled(folder)
    args = ("--format", "json", "--baseline", "none", str(folder))
    _new_process()
    uncached = run("--no-cache", *args)
    _new_process()
    assert run(*args) == uncached
    return args, uncached
POISONED = [
    pytest.param("probe", {"tail": 7}, id="probe-tail-a-number"),
    pytest.param("probe", {"errors": [None]}, id="probe-error-not-a-string"),
    pytest.param("probe", {"marker_seen": "yes"}, id="probe-flag-a-string"),
    pytest.param("probe", {"token": ["<|im_end|>"]}, id="probe-token-a-list"),
    pytest.param("probe", {"shape": _DROP}, id="probe-field-missing"),
    pytest.param("probe", {"extra": 1}, id="probe-unknown-field"),
    pytest.param("vocab", {"size": "abc"}, id="vocab-size-a-string"),
    pytest.param("vocab", {"size": -1}, id="vocab-size-negative"),
    pytest.param("vocab", {"size": True}, id="vocab-size-a-boolean"),
    pytest.param("vocab", {"ids": {"<|im_end|>": -5}}, id="vocab-id-negative"),
    pytest.param("vocab", {"ids": {"<|im_end|>": 1 << 32}}, id="vocab-id-over-u32"),
    pytest.param("vocab", {"ids": {"<|im_end|>": "7"}}, id="vocab-id-a-string"),
    pytest.param("vocab", {"ids": ["<|im_end|>"]}, id="vocab-ids-a-list"),
    pytest.param("vocab", {"extra": 1}, id="vocab-unknown-field"),
    pytest.param("vocab", {"layout": "0-9"}, id="vocab-layout-a-string"),
    pytest.param("digest", "../../../planted", id="digest-a-path-out-of-the-cache"),
    pytest.param("digest", 42, id="digest-a-number"),
]


@pytest.mark.parametrize("kind, change", POISONED)
def test_a_cache_entry_not_shaped_as_eos_guard_writes_it_is_a_miss(run, tmp_path, monkeypatch, kind, change):
    """The cache folder may be restored from a CI cache: an entry of another shape is recomputed, never an
    internal error, and never gives an id that is no token id (before, "tail": 7 and "size": "abc" were internal
    errors). A digest names the vocabulary entry's file, so it may be nothing but a digest."""
    import json

    args, uncached = _filled_cache(run, tmp_path, monkeypatch, settle=kind == "digest")
    entries = sorted((tmp_path / "cache" / "v1" / kind).glob("*.json"))
    assert entries
    for entry in entries:
        value = change if kind == "digest" else _poison(json.loads(entry.read_text(encoding="utf-8")), change)
        entry.write_text(json.dumps(value), encoding="utf-8")
    vocab = sorted((tmp_path / "cache" / "v1" / "vocab").glob("*.json"))
    planted = {"size": 1 << 20, "ids": dict.fromkeys(json.loads(vocab[0].read_text(encoding="utf-8"))["ids"], 7)}
    (tmp_path / "planted.json").write_text(json.dumps(planted), encoding="utf-8")  # what the path would load
    _new_process()
    assert run(*args) == uncached


def test_a_cached_probe_has_exactly_the_probe_s_fields():
    from eos_guard.records import fields

    assert list(template.PROBE_TYPES) == [f.name for f in fields(template.Probe)]


def _layout_checks_counted(tmp_path, monkeypatch) -> tuple[list[int], object]:
    """A list that gets one item per check of tokenizer.json's layout (jsonspan._bpe_vocab_end), and a copy of a
    Llama 3 folder to check, with an empty cache folder."""
    import shutil

    from eos_guard import jsonspan

    checked: list[int] = []
    real = jsonspan._bpe_vocab_end
    monkeypatch.setattr(jsonspan, "_bpe_vocab_end", lambda raw, start: checked.append(start) or real(raw, start))
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    return checked, shutil.copytree(FIXTURES / "llama3-8b-instruct-release", tmp_path / "job1")


def test_a_warm_run_takes_the_layout_checks_of_tokenizer_json_from_the_entry_of_its_bytes(tmp_path, monkeypatch):
    """The checks of tokenizer.json's layout after its vocabulary (jsonspan._Outline) are made once per content: the
    run that stores the vocabulary's entry records them, and a run that finds that entry before it reads the file
    (its digest known at once: a small file, here in a fresh checkout, or a path, size, modification time and inode
    seen before) does not make them again. An entry whose vocabulary starts elsewhere vouches for nothing."""
    import json
    import shutil

    from eos_guard.model_files import ModelFiles
    from eos_guard.vocabulary import Vocabulary

    checked, folder = _layout_checks_counted(tmp_path, monkeypatch)
    _new_process()
    cold = Vocabulary(ModelFiles.read(folder), use_cache=True)
    assert len(checked) == 1 and cold.tokenizer_json.checked_layout is not None
    ids = {content: token.id for content, token in cold.added.items()}
    _new_process()
    warm = Vocabulary(ModelFiles.read(shutil.copytree(folder, tmp_path / "job2")), use_cache=True)
    assert len(checked) == 1 and {content: token.id for content, token in warm.added.items()} == ids
    entry = next((tmp_path / "cache").rglob("vocab/*.json"))
    stored = json.loads(entry.read_text(encoding="utf-8"))
    entry.write_text(json.dumps({**stored, "layout": [stored["layout"][0] + 1, stored["layout"][1]]}))
    _new_process()
    Vocabulary(ModelFiles.read(shutil.copytree(folder, tmp_path / "job3")), use_cache=True)
    assert len(checked) == 2


def test_a_warm_check_of_a_folder_makes_no_layout_check_of_tokenizer_json(tmp_path, monkeypatch):
    """The whole resolution, not only the Vocabulary: the cache entry is looked up before the first member of
    tokenizer.json is read (the tokenizer class's defaults read its ``padding``), which would make the checks the
    entry vouches for. Until 2026-12-02 every warm check of a 12 MB tokenizer.json made them again (~6 ms)."""
    import shutil

    from eos_guard.model_files import ModelFiles
    from eos_guard.resolve import resolve
    from eos_guard.template import Limits

    checked, folder = _layout_checks_counted(tmp_path, monkeypatch)
    _new_process()
    cold = resolve(ModelFiles.read(folder), Limits(cache=True))
    assert len(checked) == 1
    _new_process()
    warm = resolve(ModelFiles.read(shutil.copytree(folder, tmp_path / "job2")), Limits(cache=True))
    assert len(checked) == 1
    assert (warm.tokenizer_eos.token, warm.tokenizer_eos.id) == (cold.tokenizer_eos.token, cold.tokenizer_eos.id)
    assert warm.vocab.added.keys() == cold.vocab.added.keys()


@pytest.mark.parametrize("entry", ["nested", "fifo", "device", "huge"])
def test_a_cache_entry_that_is_no_small_json_file_is_a_miss(run, tmp_path, monkeypatch, entry):
    """A restored or shared cache folder may hold anything under an entry's name: JSON nested deeper than the
    parser's recursion limit, a FIFO (reading it would hang), a link to a device (/dev/zero: reading it would take
    all memory), a file over the entry limit. Each is a miss, and the run's output is that of --no-cache."""
    import os

    args, uncached = _filled_cache(run, tmp_path, monkeypatch)
    for kind in ("probe", "rendered", "vocab"):
        for path in (tmp_path / "cache" / "v1" / kind).glob("*.json"):
            path.unlink()
            if entry == "nested":
                path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
            elif entry == "fifo":
                os.mkfifo(path)
            elif entry == "device":
                path.symlink_to("/dev/zero")
            else:
                path.write_text(" " * (cache.MAX_ENTRY_BYTES + 1) + "{}", encoding="utf-8")
    _new_process()
    assert run(*args) == uncached


def test_cache_folders_that_are_links_are_never_written_through(run, tmp_path, monkeypatch):
    """eos-guard's own folders in the cache (v1, v1/probe, ...) that are links, as a cache folder restored from
    another job or kept in a repository may have them, are not used: check mode never writes through them into
    a model folder."""
    import shutil

    from support import with_own_template

    cache_root = tmp_path / "cache"
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(cache_root))
    folder = with_own_template(shutil.copytree(FIXTURES / FOLDER, tmp_path / "model"))
    before = sorted(p.name for p in folder.iterdir())
    (cache_root / "v1").mkdir(parents=True)
    for kind in ("probe", "rendered", "vocab", "digest"):
        (cache_root / "v1" / kind).symlink_to(folder, target_is_directory=True)
    args = ("--format", "json", "--baseline", "none", str(folder))
    _new_process()
    cache._entries_at.cache_clear()
    uncached = run("--no-cache", *args)
    assert run(*args) == uncached
    assert sorted(p.name for p in folder.iterdir()) == before
    shutil.rmtree(cache_root)
    (tmp_path / "elsewhere").mkdir()
    cache_root.mkdir()
    (cache_root / "v1").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    cache._entries_at.cache_clear()
    _new_process()
    assert run(*args) == uncached
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_failed_cache_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    """A full disk (here: the write raising ENOSPC) leaves no *.tmp file behind in the cache folder."""
    import errno

    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    cache._entries_at.cache_clear()

    def full(value, handle):
        handle.write("{")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache.json, "dump", full)
    cache.store("probe", "a" * 64, {"x": 1}, True)
    assert list((tmp_path / "cache" / "v1" / "probe").iterdir()) == []


def test_the_cache_folder_is_eos_guard_cache_dir_else_xdg_cache_home_else_home(tmp_path, monkeypatch):
    """docs/usage.md, performance.md and security.md: $EOS_GUARD_CACHE_DIR, else $XDG_CACHE_HOME/eos-guard, else
    ~/.cache/eos-guard."""
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("EOS_GUARD_CACHE_DIR")
    assert cache.cache_dir() == tmp_path / "xdg" / "eos-guard"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "eos-guard"


def test_without_a_known_home_folder_there_is_no_cache_folder(run, tmp_path, monkeypatch):
    """helper-175: with HOME unset and a user the password database does not list (a container run with
    ``--user N``, ``env -i``), "~" names no home folder, and ~/.cache/eos-guard was a folder in the current one: the
    repository being checked, whose files a pull request writes, so its entries could flip the verdict. There is
    no cache folder then (nothing written, nothing read: the report is --no-cache's); a relative $XDG_CACHE_HOME is
    ignored, as the XDG specification says."""
    import pwd

    def unknown_user(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.delenv("EOS_GUARD_CACHE_DIR", raising=False)
    monkeypatch.delenv("HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative-cache")
    monkeypatch.setattr(pwd, "getpwuid", unknown_user)
    assert cache.cache_dir() is None
    folder = shutil.copytree(FIXTURES / FOLDER, tmp_path / "repo" / "model")
    args = ("--format", "json", "--baseline", "none", "model")
    _new_process()
    uncached = run("--no-cache", *args, cwd=tmp_path / "repo")
    _new_process()
    assert run(*args, cwd=tmp_path / "repo") == uncached
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == ["model"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in (FIXTURES / FOLDER).iterdir())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "eos-guard"  # the relative XDG_CACHE_HOME ignored


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_a_cache_folder_inside_the_work_tree_being_checked_is_not_used(run, tmp_path, monkeypatch, where):
    """helper-183: EOS_GUARD_CACHE_DIR set to a folder inside the checkout (to keep it with actions/cache): a pull
    request could commit a well-formed entry there and flip a verdict. Such a folder is not used (nothing read or
    written: the report is --no-cache's) and the command says so; the same folder outside a git work tree is."""
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / FOLDER, repo / "model")
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", "cache" if where == "relative" else str(repo / "cache"))
    args = ("--format", "json", "--baseline", "none", "model")
    _new_process()
    uncached = run("--no-cache", *args, cwd=repo)
    _new_process()
    code, out, err = run(*args, cwd=repo)
    assert (code, out) == uncached[:2] and err == "" and (repo / "cache" / "v1").is_dir()  # used: no work tree
    shutil.rmtree(repo / "cache")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _new_process()
    code, out, err = run(*args, cwd=repo)
    assert (code, out) == uncached[:2] and not (repo / "cache").exists()
    assert err == ("eos-guard: warning: the cache folder EOS_GUARD_CACHE_DIR="
                   f"{'cache' if where == 'relative' else repo / 'cache'} is not used: it lies in ., the git work tree "
                   "being checked, whose files a pull request can write; set it outside (in a GitHub job, under "
                   "$RUNNER_TEMP)\n"), err
    monkeypatch.chdir(repo)
    _new_process()
    import eos_guard  # the Python API too

    findings = eos_guard.check(repo / "model", isolated=True).findings()
    assert [(f.code, f.message) for f in findings] == [(f["code"], f["message"])
                                                       for f in json.loads(uncached[1])["findings"]]
    assert not (repo / "cache").exists()
    # helper-184: every command that checks folders says it (explain, --diff), but not with --no-cache
    for command in (("explain", "model"), ("--diff", "model")):
        _new_process()
        assert "set it outside (in a GitHub job, under $RUNNER_TEMP)\n" in run(*command, cwd=repo)[2]
    _new_process()
    assert run("--no-cache", *args, cwd=repo)[2] == ""
    assert not (repo / "cache").exists()


def test_a_cache_folder_inside_a_model_repository_checked_at_its_root_is_not_used(run, tmp_path, monkeypatch):
    """helper-184: a model repository is a model folder at its root (``eos-guard .``), which is the work tree
    itself, not a folder inside it: the cache folder in it was used. A cache folder in a submodule of the
    repository being checked is not used either."""
    import subprocess

    repo = shutil.copytree(FIXTURES / FOLDER, tmp_path / "repo")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for cache_dir in (repo / ".eos-cache", repo / "vendored" / "cache"):
        (repo / "vendored").mkdir(exist_ok=True)
        (repo / "vendored" / ".git").write_text("gitdir: ../.git/modules/vendored\n", encoding="utf-8")
        monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(cache_dir))
        _new_process()
        code, out, err = run("--baseline", "none", ".", cwd=repo)
        assert "is not used: it lies in ., the git work tree being checked" in err, err
        assert not cache_dir.exists()


def test_a_cache_folder_swapped_for_a_link_while_entries_are_written_takes_none_of_them(tmp_path, monkeypatch):
    """helper-175: another process that can write the cache folder swaps ``v1/vocab`` with a link to another folder,
    over and over (renameat2's exchange), while eos-guard writes entries: each write opens eos-guard's folders one
    below the other without following a link, so no entry and no temporary file lands in the other folder, and
    none is left behind."""
    import ctypes
    import subprocess
    import sys
    import time

    if not hasattr(ctypes.CDLL(None), "renameat2") or not cache._AT_A_FOLDER:
        pytest.skip("no renameat2 (Linux) or no *at() calls here")
    root, victim = tmp_path / "cache", tmp_path / "victim"
    (root / "v1" / "vocab").mkdir(parents=True)
    victim.mkdir()
    (root / "v1" / "link").symlink_to(victim, target_is_directory=True)
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(root))
    cache._entries_at.cache_clear()
    cache.store("vocab", "f" * 64, {"ids": {}}, True)  # the folder checked (and remembered) before the swaps start
    swap = ("import ctypes, sys\nlibc = ctypes.CDLL(None)\na, b = sys.argv[1].encode(), sys.argv[2].encode()\n"
            "while True:\n    libc.renameat2(-100, a, -100, b, 2)\n")  # AT_FDCWD, RENAME_EXCHANGE
    swapper = subprocess.Popen([sys.executable, "-c", swap, str(root / "v1" / "vocab"), str(root / "v1" / "link")])
    try:
        time.sleep(0.2)
        for number in range(3000):  # writing by path, ~300 of them landed in the other folder
            cache._SETTLED.clear()
            cache.store("vocab", f"{number:064x}", {"ids": {}}, True)
    finally:
        swapper.kill()
        swapper.wait()
    assert list(victim.iterdir()) == []
    real = root / "v1" / ("vocab" if (root / "v1" / "link").is_symlink() else "link")
    assert len(list(real.iterdir())) > 1 and not any(name.suffix == ".tmp" for name in real.iterdir())
    cache._entries_at.cache_clear()


def test_a_cache_folder_that_can_be_written_but_not_listed_keeps_entries(tmp_path):
    """helper-176: the descriptor writes opened the cache folder for reading, so a folder its user may write into but
    not list (a shared folder of mode 1733) got no entries, where writing by path had kept them: it is opened as a
    path only (O_PATH, Linux). As root (whom permissions do not stop), the write runs as another user."""
    import os
    import subprocess
    import sys
    import tempfile

    if not hasattr(os, "O_PATH"):
        pytest.skip("O_PATH is Linux's")
    code = ("import sys\nfrom eos_guard import cache\ncache.store('vocab', 'a' * 64, {'ids': {}}, True)\n")
    if os.geteuid() != 0:
        root = tmp_path / "drop"
        root.mkdir(mode=0o333)
        command = [sys.executable, "-c", code]
    else:
        other = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", sys.executable]
        if not shutil.which("setpriv") or subprocess.run([*other, "-c", "import eos_guard"], capture_output=True,
                                                         cwd="/", env={**os.environ, "PYTHONPATH": str(ROOT)},
                                                         timeout=60).returncode != 0:
            pytest.skip("as root, another user must run this interpreter and eos-guard: not possible here")
        root = tempfile.mkdtemp(prefix="eos-guard-drop-")  # outside tmp_path, which only root may enter
        os.chmod(root, 0o1733)
        command = [*other, "-c", code]
    try:
        done = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(ROOT), "EOS_GUARD_CACHE_DIR": str(root)},
                              cwd="/", capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        os.chmod(root, 0o755)
        assert [path.name for path in (Path(root) / "v1" / "vocab").iterdir()] == ["a" * 64 + ".json"]
    finally:
        os.chmod(root, 0o755)
        shutil.rmtree(root, ignore_errors=True)


COMPILED_SCAN = sorted(path.name for path in (ROOT / "eos_guard").glob("_vocab_scan.*")
                       if path.suffix in (".so", ".pyd"))


@pytest.mark.parametrize("changed, kind", [("template.py", "probe"), ("render_worker.py", "probe"),
                                           ("vocab_scan.py", "vocab"), ("jsonspan.py", "vocab"),
                                           ("_vocab_scan.c", "vocab"),
                                           *[pytest.param(name, "vocab", id="compiled-scan")
                                             for name in COMPILED_SCAN]])
def test_an_entry_cached_by_other_code_of_the_same_version_is_not_used(tmp_path, changed, kind):
    """docs/performance.md: probe results are keyed by the code that renders too, and a vocabulary's facts by the
    code that reads them (helper-175: they were not), so an editable install or a pre-commit ``rev:`` on a commit
    (both keep the last release's version) never reads an entry older code made. Two copies of the package, one
    with a file of that code changed (the compiled scan's own file too: a wheel holds no _vocab_scan.c,
    helper-176), share one cache folder: the second computes again (a new entry) instead of
    taking the first one's, and a third run of the first copy adds none."""
    import os
    import shutil
    import subprocess
    import sys

    from support import with_own_template

    folder = with_own_template(shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "model"))
    first = tmp_path / "first"
    second = tmp_path / "second"
    for code in (first, second):
        shutil.copytree(ROOT / "eos_guard", code / "eos_guard", ignore=shutil.ignore_patterns("__pycache__"))
    with (second / "eos_guard" / changed).open("ab") as source:  # a compiled module loads with bytes after its end
        source.write(b"\n# another commit of the same release\n")
    env = {**os.environ, "EOS_GUARD_CACHE_DIR": str(tmp_path / "cache")}

    def probes_after_a_run(code):
        done = subprocess.run([sys.executable, "-m", "eos_guard", "--format", "json", "--baseline", "none",
                               str(folder)], env={**env, "PYTHONPATH": str(code)}, cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.returncode in (0, 1), done.stderr
        assert '"EOS014"' not in done.stdout  # rendered
        return sorted(path.name for path in (tmp_path / "cache").rglob(f"{kind}/*.json"))

    by_first = probes_after_a_run(first)
    assert by_first
    by_second = probes_after_a_run(second)
    assert set(by_first) < set(by_second)
    assert probes_after_a_run(first) == by_second


def test_a_probe_cached_under_another_jinja2_is_not_used(tmp_path):
    """docs/performance.md: probe results are keyed by the renderer too, jinja2 and MarkupSafe as installed and
    Python's version (helper-175: an upgrade of jinja2 that renders differently kept the old results). A second
    run with another jinja2 first on the import path (a copy of the installed one whose __init__.py differs, as
    another release's does) renders again (a new entry); the first setup then finds its own entry again."""
    import os
    import subprocess
    import sys

    import jinja2
    from support import with_own_template

    folder = with_own_template(shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "model"))
    other = tmp_path / "other-jinja2"
    shutil.copytree(os.path.dirname(jinja2.__file__), other / "jinja2", ignore=shutil.ignore_patterns("__pycache__"))
    with (other / "jinja2" / "__init__.py").open("a", encoding="utf-8") as source:
        source.write("\n# another release of jinja2\n")
    env = {**os.environ, "EOS_GUARD_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}

    def probes_after_a_run(first_on_path=None):
        path = os.pathsep.join(str(p) for p in (first_on_path, ROOT) if p)
        done = subprocess.run([sys.executable, "-m", "eos_guard", "--format", "json", "--baseline", "none",
                               str(folder)], env={**env, "PYTHONPATH": path}, cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.returncode in (0, 1), done.stderr
        assert '"EOS014"' not in done.stdout  # rendered
        return sorted(path.name for path in (tmp_path / "cache").rglob("probe/*.json"))

    installed = probes_after_a_run()
    assert installed
    with_other = probes_after_a_run(other)
    assert set(installed) < set(with_other)
    assert probes_after_a_run() == with_other
    assert probes_after_a_run(other) == with_other


def test_a_probe_cached_under_a_longer_template_timeout_is_not_used_under_a_shorter_one(run, tmp_path, monkeypatch):
    """helper-119: a render that finished within template-timeout: 30 was taken from the cache under the default 2
    s, and under 0.5 s, where it may exceed the limit (EOS014): a verdict that depended on the cache's state. The
    limits key the entry: each timeout renders once, then finds its own entry."""
    from support import with_own_template

    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    folder = with_own_template(shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "model"))
    settings = {}
    for seconds in ("30", "2", "0.5"):
        settings[seconds] = tmp_path / f"{seconds}.yaml"
        settings[seconds].write_text(f"template-timeout: {seconds}\n", encoding="utf-8")

    def probes_after_a_run(seconds):
        _new_process()
        code, out, _ = run("--config", str(settings[seconds]), "--baseline", "none", str(folder))
        assert code == 0, out
        return sorted(path.name for path in (tmp_path / "cache").rglob("probe/*.json"))

    counts = [len(probes_after_a_run(seconds)) for seconds in ("30", "2", "0.5", "30", "2", "0.5")]
    assert counts == [1, 2, 3, 3, 3, 3], counts


def _reads_of(monkeypatch) -> list[tuple[str, int]]:
    """A list that gets ``(file name, bytes read)`` for each file jsonspan reads."""
    from eos_guard import jsonspan

    reads: list[tuple[str, int]] = []
    real = jsonspan.read_bytes
    monkeypatch.setattr(jsonspan, "read_bytes",
                        lambda path, *args, **kwargs: reads.append((path.name, len(data := real(path, *args,
                                                                                                    **kwargs))))
                        or data)
    return reads


def test_a_warm_check_reads_tokenizer_json_only_up_to_its_vocabulary(run, tmp_path, monkeypatch):
    """A warm run whose cache vouches for tokenizer.json's bytes (their digest known from the file's path, size,
    modification time and inode, and the layout checked by the run that stored the entry) reads the file up to its
    vocabulary: all a check asks of it then. Reading the rest cost ~7 ms of a 12 MB file's ~50 ms warm check. The
    report is the one a run without the cache makes."""
    folder = settled(shutil.copytree(FIXTURES / "llama3-8b-instruct-release", tmp_path / "m"))
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    reads = _reads_of(monkeypatch)
    uncached = run("--no-cache", "--format", "json", "m")
    _new_process()
    cold = run("--format", "json", "m")
    size = (folder / "tokenizer.json").stat().st_size
    assert ("tokenizer.json", size) in reads
    reads.clear()
    _new_process()
    warm = run("--format", "json", "m")
    [read] = [length for name, length in reads if name == "tokenizer.json"]
    assert read == (folder / "tokenizer.json").read_bytes().index(b'"vocab": {') + len(b'"vocab": {')
    assert uncached == cold == warm


def test_a_warm_check_that_asks_more_of_tokenizer_json_reads_it_whole(run, tmp_path, monkeypatch):
    """The start of the file is all a warm run reads until something needs more: here the template changed, so
    its terminator's id is not in the cache entry and the vocabulary is scanned, from the whole file. The report is
    the one a run without the cache makes."""
    folder = shutil.copytree(FIXTURES / "llama3-8b-instruct-release", tmp_path / "m")
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    _new_process()
    run("m")
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        # an eos token in the vocabulary (no added token), which the first run did not look up
        config = json.loads((folder / name).read_text(encoding="utf-8"))
        config["eos_token"] = "Ā"
        (folder / name).write_text(json.dumps(config), encoding="utf-8")
    reads = _reads_of(monkeypatch)
    _new_process()
    warm = run("--format", "json", "m")
    size = (folder / "tokenizer.json").stat().st_size
    assert [length for name, length in reads if name == "tokenizer.json"][-1] == size
    _new_process()
    assert warm == run("--no-cache", "--format", "json", "m")


def test_a_tokenizer_json_that_changes_between_its_start_and_the_rest_is_one_error_line(tmp_path):
    """Read up to its vocabulary first and whole later: bytes that differ at the start by then are not mixed with
    the first ones (the ids would be another file's); the rest growing is just read."""
    from eos_guard.errors import InputError
    from eos_guard.jsonspan import JsonDocument

    path = tmp_path / "tokenizer.json"
    shutil.copy(FIXTURES / "llama3-8b-instruct-release" / "tokenizer.json", path)
    raw = path.read_bytes()
    start = raw.index(b'"vocab": {') + len(b'"vocab": ')
    layout = (start, raw.index(b'},\n    "merges"') + 1)
    doc = JsonDocument.read(path, True, None, "max-file-size", layout=layout)
    assert doc.get(("added_tokens", 0, "content")) == "<|begin_of_text|>"
    path.write_bytes(raw + b"\n")
    assert doc.raw == raw + b"\n"
    doc = JsonDocument.read(path, True, None, "max-file-size", layout=layout)
    path.write_bytes(raw.replace(b"<|begin_of_text|>", b"<|begin_of_texT|>", 1))
    with pytest.raises(InputError, match="tokenizer.json: cannot read file: it changed while it was read; run "
                                         "eos-guard again"):
        doc.get(("model", "vocab", "!"))


@pytest.mark.parametrize("shift", [-10, 10, 10**9])
def test_a_cache_entry_whose_layout_is_wrong_makes_tokenizer_json_read_whole(run, tmp_path, monkeypatch, shift):
    """The vocabulary bounds a cache entry vouches for decide how much of tokenizer.json a warm run reads first;
    bounds that are wrong (a restored or edited cache folder) make the file read whole, with the report of a run
    without the cache, and never a read of something else."""
    shutil.copytree(FIXTURES / "llama3-8b-instruct-release", tmp_path / "m")
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    _new_process()
    run("m")
    [entry] = (tmp_path / "cache").rglob("vocab/*.json")
    _new_process()
    expected = run("--no-cache", "--format", "json", "m")
    stored = json.loads(entry.read_text(encoding="utf-8"))
    entry.write_text(json.dumps({**stored, "layout": [stored["layout"][0] + shift, stored["layout"][1]]}))
    reads = _reads_of(monkeypatch)
    _new_process()
    assert run("--format", "json", "m") == expected
    size = (tmp_path / "m" / "tokenizer.json").stat().st_size
    assert [length for name, length in reads if name == "tokenizer.json"][-1] == size


def test_a_run_with_the_cache_after_one_without_it_in_the_same_process_writes_its_entries(run, tmp_path, monkeypatch):
    """A Python caller may check with ``cache: false`` and then with the cache, or with two cache folders, in one
    process: what the first run remembered in memory is written by the second, as a new process would write it,
    so that the next process finds it on disk."""
    folder = FIXTURES / "llama3-8b-instruct-release"
    args = ("--format", "json", "--baseline", "none", str(folder))

    def entries(root):
        return sorted(p.relative_to(root) for p in root.rglob("*.json")) if root.exists() else []

    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "alone"))
    _new_process()
    alone = run(*args)
    written = entries(tmp_path / "alone")
    assert any(p.parts[1] == "vocab" for p in written)

    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "after-no-cache"))
    _new_process()
    assert run("--no-cache", *args) == alone
    assert entries(tmp_path / "after-no-cache") == []
    assert run(*args) == alone
    after = entries(tmp_path / "after-no-cache")
    assert set(written) <= set(after)  # and the probe the uncached run rendered (a fresh run took the shipped one)

    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "another-folder"))
    assert run(*args) == alone
    assert entries(tmp_path / "another-folder") == after


def _same_stat_rewrite(path, old: bytes, new: bytes) -> None:
    """Rewrite ``path`` in place (same inode) with ``old`` replaced by ``new`` of the same length, and set its
    access and modification times back (as ``touch -r`` does): only the status-change time tells."""
    import os

    before = path.stat()
    raw = path.read_bytes()
    assert len(old) == len(new) and raw.count(old) == 1
    with open(path, "r+b") as handle:
        handle.write(raw.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


def test_a_tokenizer_json_rewritten_with_the_same_size_and_times_is_read_again(run, tmp_path, monkeypatch):
    """The digest remembered by a file's stat must change with its bytes: a tokenizer.json rewritten in place to
    the same size, its modification time set back, kept its path, size, inode and modification time, and a warm
    run reported the old vocabulary's facts (here the eos '<|end_of_text|>' still in it as 299, EOS002 asking to
    add 299, where transformers now appends it as 300: EOS005). The status-change time, which only the kernel
    sets, is part of the key."""
    folder = shutil.copytree(FIXTURES / "eos-string-not-in-vocab", tmp_path / "m")
    tokenizer = folder / "tokenizer.json"
    tokenizer.write_bytes(tokenizer.read_bytes().replace(b'"\xc4\xa0l": 299', b'"<|end_of_text|>": 299'))
    settled(folder)
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    _new_process()
    cold = run("--format", "json", "--baseline", "none", "m")
    assert "EOS002" in cold[1] and "EOS005" not in cold[1]
    assert list((tmp_path / "cache" / "v1" / "digest").glob("*.json"))  # remembered by the file's stat
    _same_stat_rewrite(tokenizer, b'"<|end_of_text|>": 299', b'"<|end_of_texx|>": 299')
    settled(folder)
    _new_process()
    warm = run("--format", "json", "--baseline", "none", "m")
    _new_process()
    assert warm == run("--no-cache", "--format", "json", "--baseline", "none", "m")
    assert "EOS005" in warm[1] and "EOS002" not in warm[1]


def test_a_digest_is_not_remembered_by_the_stat_of_a_file_changed_just_now(run, tmp_path, monkeypatch):
    """A file changed within the file system's timestamp step of a run could change again after the run read it
    and keep every field of its stat ("racily clean", as git says): its digest is remembered by its stat only once
    it is older than cache.RACY_NS."""
    from eos_guard import cache

    folder = shutil.copytree(FIXTURES / "eos-string-not-in-vocab", tmp_path / "m")
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    _new_process()
    fresh = run("--format", "json", "--baseline", "none", "m")
    assert cache.file_key(folder / "tokenizer.json") is None
    assert not list((tmp_path / "cache" / "v1" / "digest").glob("*.json"))
    settled(folder)
    _new_process()
    assert run("--format", "json", "--baseline", "none", "m") == fresh
    assert len(list((tmp_path / "cache" / "v1" / "digest").glob("*.json"))) == 1


@pytest.mark.parametrize("size", [0, 1000, (1 << 20) - 1, 1 << 20, 3 << 20])
def test_a_content_key_is_the_sha256_of_the_bytes_below_and_above_the_openssl_threshold(size):
    # below 1 MB the interpreter's own SHA-256, from there OpenSSL's constructor taken from _hashlib: the key of a
    # restored CI cache must not depend on which one hashed the file
    import hashlib

    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert cache.sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_the_renderer_in_a_zip_archive_keys_probes_by_its_code_too(tmp_path):
    """helper-180: jinja2 imported from a zip archive (a zipapp, a zipped egg) could not be opened as a file, so every
    release of it gave the same empty part of the probe key. It is read through its loader: two archives whose
    jinja2 differs give different keys, and the same one the same."""
    import os
    import zipfile

    import jinja2

    from eos_guard import cache

    source = open(jinja2.__file__, "rb").read()
    archives = []
    for name, extra in (("a.zip", b""), ("b.zip", b"\n# another release\n"), ("c.zip", b"")):
        archive = tmp_path / name
        with zipfile.ZipFile(archive, "w") as packed:
            packed.writestr("jinja2/__init__.py", source + extra)
        archives.append(cache.installed_fingerprint(("jinja2",), (os.fspath(archive),)))
    assert archives[0].rpartition(";")[2] == cache.sha256_hex(source)
    assert archives[0] != archives[1] and archives[0] == archives[2]
