"""No lost runs: one hostile file or folder is one finding or one error line; every other folder is reported.

Each test is written from a class of input (not one example): every JSON file eos-guard reads, every way a tree
can be too deep or loop, every output format.
"""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from eos_guard.model_files import JSON_FILES
from support import write_json

LONG = "1" * 4301  # one digit over Python's int-string limit (sys.get_int_max_str_digits)
# a model's config.json that says nothing else (a key transformers writes into every one): its folder is a model
# folder, whatever the file under test next to it holds
MODEL_CONFIG = {"transformers_version": "5.24.0"}


def honest(folder):
    """A folder that must keep its verdict whatever its neighbours hold: eos 2 everywhere, found clean."""
    write_json(folder / "config.json", {"eos_token_id": 2, "vocab_size": 8})
    write_json(folder / "generation_config.json", {"eos_token_id": 2})
    write_json(folder / "tokenizer_config.json", {"eos_token": "</s>", "added_tokens_decoder": {
        "2": {"content": "</s>", "special": True}}})
    return folder


def assert_one_error_line(code, out, err, name, fmt="text"):
    lines = [line for line in err.splitlines() if line.startswith("eos-guard: ")]
    assert code == 2, err
    assert "internal error" not in err and "Traceback" not in err
    assert len(lines) == 1 and name in lines[0], err
    if fmt == "text":
        assert "2 model folders" in out.splitlines()[-1]
    else:
        assert [m["path"] for m in json.loads(out)["models"]] == ["a"]


@pytest.mark.parametrize("name", JSON_FILES)
def test_an_integer_over_the_int_string_limit_is_one_error_line(run, tmp_path, name):
    honest(tmp_path / "a")
    folder = tmp_path / "b"
    write_json(folder / "config.json", MODEL_CONFIG)
    (folder / name).write_text('{"eos_token_id": %s, "added_tokens": [], "x": [%s]}' % (LONG, LONG),
                               encoding="utf-8")
    code, out, err = run("--format", "text", ".")
    assert_one_error_line(code, out, err, f"b/{name}")


@pytest.mark.parametrize("where", ["added_tokens_decoder", "added_tokens.json"])
def test_a_token_id_over_the_int_string_limit_is_one_error_line(run, tmp_path, where):
    honest(tmp_path / "a")
    folder = tmp_path / "b"
    write_json(folder / "config.json", MODEL_CONFIG)
    if where == "added_tokens_decoder":  # a key: valid JSON, but int(key) raises
        write_json(folder / "tokenizer_config.json", {"added_tokens_decoder": {LONG: {"content": "x"}}})
    else:
        (folder / "added_tokens.json").write_text('{"x": %s}' % LONG, encoding="utf-8")
    code, out, err = run("--format", "json", ".")
    assert_one_error_line(code, out, err, "b/", "json")


@pytest.mark.parametrize("name", [*JSON_FILES, "chat_template.jinja", "additional_chat_templates"])
def test_a_symbolic_link_loop_in_a_model_folder_is_a_finding(run, tmp_path, name):
    honest(tmp_path / "a")
    folder = honest(tmp_path / "b")
    (folder / name).unlink(missing_ok=True)
    os.symlink(name, folder / name)  # links to itself: ELOOP on open, RuntimeError from Path.resolve before 3.13
    code, out, err = run("--format", "json", ".")
    assert "internal error" not in err and "Traceback" not in err
    assert [m["path"] for m in json.loads(out)["models"]] == ["a", "b"]
    if name != "additional_chat_templates":  # a looping folder link holds no template to check
        assert [(f["code"], f["path"]) for f in json.loads(out)["findings"]] == [("EOS018", f"b/{name}")]


def test_link_loops_between_folders_do_not_trap_the_walk(run, tmp_path):
    honest(tmp_path / "a")
    os.symlink("../b", tmp_path / "a" / "up")
    os.symlink("../a", (tmp_path / "b").mkdir() or tmp_path / "b" / "up")
    os.symlink("self", tmp_path / "self")
    code, out, err = run("--format", "text", ".")
    assert (code, err) == (0, "") and out == "All checks passed (1 model folder).\n"


@pytest.fixture
def deep_tree(tmp_path):
    """``tmp_path/d/d/.../d/config.json``, ``depth`` folders deep, removed bottom-up afterwards (shutil.rmtree, and so
    pytest's clean-up of old temporary folders, recurses and fails on it)."""
    made = []

    def make(depth: int) -> None:
        here = os.getcwd()
        os.chdir(tmp_path)
        for _ in range(depth):  # relative steps: the whole path may be longer than PATH_MAX
            os.mkdir("d")
            os.chdir("d")
            made.append(None)
        with open("config.json", "w", encoding="utf-8") as handle:
            handle.write('{"eos_token_id": 2}')
        os.chdir(here)

    yield make
    here = os.getcwd()
    os.chdir(tmp_path)
    for _ in made:
        os.chdir("d")
    if os.path.exists("config.json"):
        os.remove("config.json")
    for _ in made:
        os.chdir("..")
        os.rmdir("d")
    os.chdir(here)


@pytest.mark.parametrize("depth", [1200, 2100], ids=["deeper-than-recursion-limit", "longer-than-path-max"])
def test_a_folder_tree_deeper_than_the_recursion_limit_is_walked(run, tmp_path, deep_tree, depth):
    honest(tmp_path / "a")
    deep_tree(depth)
    reachable = len(str(tmp_path)) + 2 * depth < 4000
    assert depth > sys.getrecursionlimit()
    code, out, err = run("--format", "json", ".")
    assert "internal error" not in err and "Traceback" not in err
    assert [m["path"] for m in json.loads(out)["models"]] == ["a"] + (["d/" * (depth - 1) + "d"] if reachable else [])


def test_a_fix_that_fails_half_way_reports_every_file_it_wrote(tmp_path):
    """A file that cannot be written (here: larger than RLIMIT_FSIZE, so the real write fails with EFBIG) does not
    hide the files written before and after it: each is a ``Fixing`` line on stderr as soon as it is written (the
    Action's changed-files reads them) and in the JSON ``written`` list; the failure is one error line, exit 2."""
    import resource
    import signal
    import subprocess

    for name, padding in (("a", 0), ("b", 4000), ("c", 0)):
        write_json(tmp_path / name / "config.json", {"eos_token_id": 2, "vocab_size": 8, "pad": "x" * padding})
        write_json(tmp_path / name / "generation_config.json", {"eos_token_id": 1, "pad": "x" * padding})
        write_json(tmp_path / name / "tokenizer_config.json", {"eos_token": "</s>", "added_tokens_decoder": {
            "2": {"content": "</s>", "special": True}}})

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write over the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))

    proc = subprocess.run([sys.executable, "-m", "eos_guard", "--fix", "--no-cache", "--baseline", "none",
                           "--format", "json", "."], cwd=tmp_path, capture_output=True, text=True,
                          preexec_fn=limit_file_size, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[:2] == ["Fixing a/generation_config.json", "Fixing c/generation_config.json"]
    assert lines[2].startswith("eos-guard: b/generation_config.json: cannot write: File too large")
    assert len(lines) == 3
    assert json.loads(proc.stdout)["written"] == ["a/generation_config.json", "c/generation_config.json"]
    assert json.loads((tmp_path / "b" / "generation_config.json").read_text())["eos_token_id"] == 1  # untouched


@pytest.mark.parametrize("name", [n for n in JSON_FILES if n != "tokenizer.json"])
def test_small_model_files_have_their_own_smaller_size_limit(run, tmp_path, name):
    """``[{},{},...]`` costs ~25 bytes of memory per byte of JSON: config files are capped at max-config-size
    (4 MiB), tokenizer.json at max-file-size (100 MiB)."""
    honest(tmp_path / "a")
    folder = honest(tmp_path / "b")
    (folder / name).write_text('{"x": [' + ",".join(["{}"] * (4 * 1024 * 1024 // 3 + 1)) + "]}", encoding="utf-8")
    write_json(folder / "tokenizer.json", {"added_tokens": [], "model": {"vocab": {}}, "pad": "x" * 5_000_000})
    code, out, err = run("--format", "json", ".")
    findings = json.loads(out)["findings"]
    not_read = [f for f in findings if f["code"] == "EOS018"]
    assert [f["path"] for f in not_read] == [f"b/{name}"]  # tokenizer.json, larger, is read
    assert "over the max-config-size limit of 4,194,304" in not_read[0]["message"]
    assert not [f for f in findings if f["model"] == "a"]


def _peak_rss_mib(tmp_path, folders):
    import subprocess

    script = ("import resource, sys\nfrom eos_guard.cli import main\ncode = main(['--format', 'json', '--no-cache',"
              " '--baseline', 'none', *sys.argv[1:]])\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", script, *folders], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert len(json.loads(proc.stdout)["models"]) == len(folders), proc.stderr
    return int(proc.stderr.splitlines()[-1])


def test_memory_does_not_grow_with_the_number_of_folders(tmp_path):
    """Each folder's parsed documents are dropped once its findings are made: ten folders whose configs parse to
    ~30 MB each peak no higher than one folder plus a margin (kept to the end, they would add ~300 MB)."""
    objects = '{"eos_token": "</s>", "x": [' + ",".join(["{}"] * 330_000) + "]}"
    names = [f"m{i}" for i in range(10)]
    for name in names:
        honest(tmp_path / name)
        (tmp_path / name / "tokenizer_config.json").write_text(objects, encoding="utf-8")
    one, ten = _peak_rss_mib(tmp_path, names[:1]), _peak_rss_mib(tmp_path, names)
    assert ten < one + 100, (one, ten)


def test_a_file_swapped_for_a_fifo_before_the_fix_writes_is_not_read_or_written(tmp_path):
    """--fix reads each file again just before writing it; that read has the first read's checks, so a FIFO put
    in the file's place meanwhile neither blocks the run nor gets written."""
    from eos_guard.fixes import FileChange, unchanged_since_read

    fifo = tmp_path / "generation_config.json"
    os.mkfifo(fifo)
    assert unchanged_since_read(FileChange(fifo, '{"eos_token_id": 1}\n', '{"eos_token_id": [1, 2]}\n')) is False


@pytest.mark.parametrize("name", JSON_FILES)
def test_json_nested_deeper_than_the_recursion_limit_is_one_error_line(run, tmp_path, name):
    honest(tmp_path / "a")
    folder = tmp_path / "b"
    write_json(folder / "config.json", MODEL_CONFIG)
    (folder / name).write_text('{"eos_token_id": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    code, out, err = run("--format", "text", ".")
    assert_one_error_line(code, out, err, f"b/{name}")


DEEP_OBJECT = '{"a": ' * 50_000 + "1" + "}" * 50_000
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("added,vocab", [
    pytest.param("[]", DEEP_OBJECT, id="model.vocab"),
    pytest.param(DEEP_ARRAY, '{"a": 0}', id="added_tokens"),
    pytest.param("[]", '{"a": ' + DEEP_ARRAY + "}", id="a-value-in-model.vocab"),
])
def test_tokenizer_json_nested_deeper_than_the_recursion_limit_is_the_same_error_line(run, tmp_path, added, vocab):
    """tokenizer.json is read in parts (docs/performance.md); nesting too deep in any part is the error line of any
    other file, not an internal error."""
    honest(tmp_path / "a")
    folder = honest(tmp_path / "b")
    (folder / "tokenizer.json").write_text(
        '{"added_tokens": ' + added + ', "model": {"type": "BPE", "vocab": ' + vocab + ', "merges": []}}',
        encoding="utf-8")
    code, out, err = run("--format", "text", ".")
    assert_one_error_line(code, out, err, "b/tokenizer.json")
    assert_past_the_depth_it_names(err, "b/tokenizer.json", (folder / "tokenizer.json").read_text(encoding="utf-8"))


def assert_past_the_depth_it_names(err, name, text):
    """The error line names the depth json.loads gave up past, and the place is the first bracket nested deeper than
    that in ``text`` (one line, no brackets in its strings), found here by counting."""
    [line] = [line for line in err.splitlines() if line.startswith(f"eos-guard: {name}:")]
    found = re.fullmatch(rf"eos-guard: {re.escape(name)}:1:(\d+): cannot parse JSON: nesting is too deep \(more than "
                         r"([\d,]+) levels, Python's limit\)", line)
    assert found, line
    limit = int(found[2].replace(",", ""))
    assert 100 < limit < sys.getrecursionlimit() * 100, line
    depth = 0
    for index, character in enumerate(text):
        depth += (character in "[{") - (character in "]}")
        if depth > limit:
            assert int(found[1]) == index + 1, line
            return
    raise AssertionError(f"nothing nested past {limit} in the file: {line}")


def test_a_file_changed_between_reading_and_writing_is_not_written(tmp_path):
    from eos_guard.fixes import FileChange, unchanged_since_read

    path = write_json(tmp_path / "generation_config.json", {"eos_token_id": 1})
    planned = FileChange(path, path.read_text(), '{"eos_token_id": [1, 2]}\n')
    assert unchanged_since_read(planned)
    write_json(path, {"eos_token_id": 3})  # another writer was faster
    assert not unchanged_since_read(planned)


def test_check_mode_writes_nothing_but_the_cache_and_the_named_outputs(run, tmp_path, monkeypatch):
    """Every format and explain, on a folder with findings: the folder is byte for byte and time for time the
    same; the only new files are in the cache folder and the --sarif / --summary files."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("EOS_GUARD_CACHE_DIR", str(cache))
    folder = honest(tmp_path / "m")
    write_json(folder / "generation_config.json", {"eos_token_id": 1})
    (folder / "chat_template.jinja").write_text("{% for m in messages %}{{ m.content }}</s>{% endfor %}")

    def snapshot():
        return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()}

    before = snapshot()
    for args in (["--format", "text"], ["--format", "json"], ["--format", "github"], ["--format", "sarif"],
                 ["explain"], ["--diff"], ["--sarif", "out.sarif", "--summary", "summary.md"]):
        code, out, err = run(*args, "m")
        assert code in (0, 1), err
    after = snapshot()
    assert {p: v for p, v in after.items() if p in before} == before
    new = {p.relative_to(tmp_path).parts[0] for p in after if p not in before}
    # the cache folder may stay empty: a probe already made in this process is answered from memory
    assert new - {"cache"} == {"out.sarif", "summary.md"}
