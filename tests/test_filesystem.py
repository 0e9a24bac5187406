"""Files from strangers: links out of the repository, FIFOs, huge files, read-only files."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest

from support import FIXTURES, write_json


def findings(out: str) -> list[tuple[str, str]]:
    return [(f["code"], f["path"]) for f in json.loads(out)["findings"]]


@pytest.fixture
def repo(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    write_json(tmp_path / "repo" / "m" / "config.json", {"eos_token_id": 2})
    return tmp_path / "repo"


def test_link_out_of_the_repository_is_not_followed(run, repo, tmp_path):
    secret = write_json(tmp_path / "outside.json", {"eos_token_id": 99, "token": "s3cr3t"})
    os.symlink(secret, repo / "m" / "generation_config.json")
    code, out, _ = run("--format", "json", "m", cwd=repo)
    assert code == 1 and findings(out) == [("EOS018", "m/generation_config.json")]
    assert "s3cr3t" not in out and json.loads(out)["models"][0]["stop_ids"]["transformers"] == [2]


def test_a_config_json_linked_out_of_the_repository_is_not_even_opened(run, repo, tmp_path, monkeypatch):
    """A folder whose only model file is config.json: deciding whether it is a model's config opened the file,
    following a link out of the repository (to /dev/zero, say: a device with side effects on open is touched);
    the link is now refused (EOS018) without an open."""
    target = write_json(tmp_path / "outside.json", {"model_type": "qwen2", "eos_token_id": 2})
    (repo / "m" / "config.json").unlink()
    os.symlink(target, repo / "m" / "config.json")
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *rest, **kw: opened.append(os.fspath(path)) or real_open(path, *rest,
                                                                                                      **kw))
    code, out, _ = run("--format", "json", ".", cwd=repo)
    assert code == 1 and findings(out) == [("EOS018", "m/config.json")]
    assert not [path for path in opened if path.endswith("config.json") or path == str(target)], opened


def test_link_inside_the_repository_is_followed(run, repo):
    write_json(repo / "shared" / "generation_config.json", {"eos_token_id": [2, 7]})
    os.symlink("../shared/generation_config.json", repo / "m" / "generation_config.json")
    code, out, _ = run("--format", "json", "m", cwd=repo)
    assert code == 0 and json.loads(out)["models"][0]["stop_ids"]["transformers"] == [2, 7]


def test_hugging_face_cache_snapshot_links_into_its_blobs(run, tmp_path):
    hub = tmp_path / "hub" / "models--org--name"
    write_json(hub / "blobs" / "0123abcd", {"eos_token_id": 2})
    (hub / "snapshots" / "rev").mkdir(parents=True)
    os.symlink("../../blobs/0123abcd", hub / "snapshots" / "rev" / "config.json")
    code, out, _ = run("--format", "json", str(hub / "snapshots" / "rev"))
    assert code == 0 and findings(out) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_never_opened_for_reading(run, repo):
    os.mkfifo(repo / "m" / "tokenizer_config.json")  # a blocking open() would hang the check forever
    code, out, _ = run("--format", "json", "m", cwd=repo)
    assert code == 1 and findings(out) == [("EOS018", "m/tokenizer_config.json")]


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets on this platform")
def test_a_socket_is_not_a_file_as_a_fifo_is_not(run, repo, monkeypatch):
    """docs/security.md (helper-178): open() refuses a Unix socket (ENXIO) before fstat could tell what it is, and
    the folder ended in "cannot read file: No such device or address" (exit 2), where a FIFO or a device is EOS018."""
    monkeypatch.chdir(repo / "m")  # bound by a relative name: a socket's path is limited to about 100 bytes
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind("tokenizer_config.json")
        code, out, _ = run("--format", "json", "m", cwd=repo)
    assert code == 1 and findings(out) == [("EOS018", "m/tokenizer_config.json")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_named_as_a_path_stands_for_its_folder_as_a_file_does(run, repo):
    """helper-130: `eos-guard m/tokenizer_config.json` (a FIFO) was taken for a folder, walked, and found nothing:
    "no model folder found", exit 0, while `eos-guard m` fails with EOS018. Whatever is not a folder is a file."""
    os.mkfifo(repo / "m" / "tokenizer_config.json")
    assert run("--format", "json", "m/tokenizer_config.json", cwd=repo)[:2] == run("--format", "json", "m",
                                                                                  cwd=repo)[:2]


@pytest.mark.parametrize("suffix", ["/", "/.", "/./", "//"])
def test_a_file_named_as_a_folder_is_no_folder(run, repo, suffix):
    """`m/config.json/` names a folder (ls: "Not a directory"); Path() dropped the slash (or a final '.') and
    checked the file. A broken link named so is no such file."""
    name = next(p.name for p in (repo / "m").iterdir() if p.is_file())
    assert run(f"m/{name}{suffix}", cwd=repo) == (
        2, "No model folders found.\n", f"eos-guard: m/{name}{suffix}: not a folder (a file, named as a folder)\n")
    (repo / "gone").symlink_to(repo / "nowhere")
    assert run(f"gone{suffix}", cwd=repo) == (2, "No model folders found.\n",
                                              f"eos-guard: gone{suffix}: no such file or directory\n")
    assert run(f"m{suffix}", cwd=repo)[:2] == run("m", cwd=repo)[:2]  # a folder named so is checked


def test_file_over_the_size_limit_is_skipped(run, repo):
    (repo / ".eos-guard.yaml").write_text("max-file-size: 0.01\n")
    (repo / "m" / "tokenizer.json").write_text(json.dumps({"added_tokens": [], "pad": "x" * 20_000}))
    code, out, _ = run("--format", "json", "m", cwd=repo)
    assert code == 1 and findings(out) == [("EOS018", "m/tokenizer.json")]
    assert "over the max-file-size limit of 10,485" in json.loads(out)["findings"][0]["message"]


@pytest.mark.parametrize("fixture, name", [("gpt2-chatml-finetune-vocab-json-added-tokens-json", "vocab.json"),
                                           ("llama2-chatml-finetune-tokenizer-model-added-tokens-json",
                                            "tokenizer.model")])
def test_the_vocabulary_files_fall_under_max_file_size(run, tmp_path, fixture, name):
    """docs/usage.md: tokenizer.json, tokenizer.model and vocab.json are vocabulary files, under max-file-size
    (100 MiB); the other model files under max-config-size. A 2-5 KB vocabulary file is read under a max-config-size
    of 1 KB, and not under a max-file-size of 1 KB."""
    import shutil

    folder = shutil.copytree(FIXTURES / fixture, tmp_path / "m")
    (tmp_path / ".eos-guard.yaml").write_text("max-config-size: 0.001\n", encoding="utf-8")  # 1,048 bytes
    code, out, _ = run("--format", "json", "--no-cache", "m", cwd=tmp_path)
    assert ("EOS018", f"m/{name}") not in findings(out), out
    (tmp_path / ".eos-guard.yaml").write_text("max-file-size: 0.001\n", encoding="utf-8")
    code, out, _ = run("--format", "json", "--no-cache", "m", cwd=tmp_path)
    assert ("EOS018", f"m/{name}") in findings(out), out
    assert (folder / name).stat().st_size > 1048


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without read permission")
def test_unreadable_file_is_a_clear_error(run, repo):
    path = write_json(repo / "m" / "generation_config.json", {"eos_token_id": 2})
    path.chmod(0)
    code, _, err = run("m", cwd=repo)
    assert code == 2 and "m/generation_config.json: cannot read file: Permission denied" in err


def test_read_only_file_keeps_its_mode_or_fix_says_why_it_cannot_write(run, repo):
    import shutil

    from support import RULE_CASES

    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", repo / "chat")
    target = folder / "generation_config.json"
    target.chmod(0o444)
    folder.chmod(0o555)  # no temporary file can be created here, except by root
    try:
        assert run("chat", cwd=repo)[0] == 1
        code, _, err = run("--fix", "chat", cwd=repo)
    finally:
        folder.chmod(0o755)
    if os.geteuid() == 0:  # root writes anyway: atomically, and the file keeps its read-only mode
        assert code == 1 and "151645" in target.read_text() and (target.stat().st_mode & 0o777) == 0o444
    else:
        assert code == 2 and "chat/generation_config.json: cannot write" in err and "Traceback" not in err
        assert "151645" not in target.read_text()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give a file to another user")
def test_fix_run_as_root_keeps_the_file_s_owner_and_group(run, repo):
    """The temporary file that replaces the original is created by root: before, the fixed file became root's."""
    import shutil

    from support import RULE_CASES

    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", repo / "chat")
    target = folder / "generation_config.json"
    os.chown(target, 12345, 23456)
    target.chmod(0o640)
    assert run("--fix", "chat", cwd=repo)[0] == 1
    st = target.stat()
    assert "151645" in target.read_text() and (st.st_uid, st.st_gid, st.st_mode & 0o777) == (12345, 23456, 0o640)


def test_fix_keeps_the_file_s_extended_attributes(run, repo):
    """helper-195: the atomic replace dropped extended attributes (a user.* note; a POSIX ACL, stored as one,
    granting a group write access): they are copied to the new file where the file system holds them."""
    import shutil

    from support import RULE_CASES

    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", repo / "chat")
    target = folder / "generation_config.json"
    try:
        os.setxattr(target, "user.note", b"reviewed")
    except (AttributeError, OSError) as exc:
        pytest.skip(f"no user extended attributes here: {exc}")
    import struct

    # a POSIX ACL granting user 12345 read and write: version 2, then (tag, permissions, id) entries, as setfacl
    # writes it (user::rw- user:12345:rw- group::r-- mask::rw- other::r--)
    acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, permissions, who) for tag, permissions, who in (
        (0x01, 6, 0xFFFFFFFF), (0x02, 6, 12345), (0x04, 4, 0xFFFFFFFF), (0x10, 6, 0xFFFFFFFF), (0x20, 4, 0xFFFFFFFF)))
    try:
        os.setxattr(target, "system.posix_acl_access", acl)
    except OSError:
        acl = None  # a file system without ACLs
    assert run("--fix", "chat", cwd=repo)[0] == 1
    assert "151645" in target.read_text() and os.getxattr(target, "user.note") == b"reviewed"
    if acl is not None:
        assert os.getxattr(target, "system.posix_acl_access") == acl


def test_fix_that_may_not_set_the_owner_keeps_the_group_or_writes_anyway(run, repo, monkeypatch):
    """A user who is not root may not give a file to another user: the group alone is kept, and when even that is
    refused the file is written all the same, with the user's own."""
    import shutil

    from support import RULE_CASES

    calls = []

    def chown(path, uid, gid):
        calls.append((uid, gid))
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", chown)
    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", repo / "chat")
    target = folder / "generation_config.json"
    st = target.stat()
    code, _, err = run("--fix", "chat", cwd=repo)
    assert code == 1 and "151645" in target.read_text() and "cannot write" not in err
    # the new text's temporary file, then the copy of the old bytes kept to put the file back (docs/fix.md)
    assert calls == [(st.st_uid, st.st_gid), (-1, st.st_gid)] * 2


def test_two_fix_runs_at_once_never_lose_data_or_leave_a_partial_file(tmp_path):
    import shutil
    import sys

    from support import ROOT, RULE_CASES

    for attempt in range(5):
        folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / f"m{attempt}")
        command = [sys.executable, "-m", "eos_guard", "--fix", "--no-cache", "--baseline", "none", str(folder)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        runs = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
                for _ in range(2)]
        errors = [run.communicate(timeout=120)[1].decode() for run in runs]
        assert all("Traceback" not in e for e in errors), errors
        data = json.loads((folder / "generation_config.json").read_text())
        assert data == {"bos_token_id": 151643, "eos_token_id": [151643, 151645]}
        assert sorted(p.name for p in folder.iterdir()) == ["config.json", "generation_config.json",
                                                            "tokenizer_config.json"]


@pytest.mark.parametrize("kind", ["fifo", "over-the-size-limit", "link-out-of-the-repository"])
def test_fix_never_writes_replaces_or_creates_a_file_it_did_not_read(run, repo, tmp_path, kind):
    """docs/fix.md: a file that was not read (EOS018) is never written, replaced or created, whatever the other
    findings ask --fix to change there (here EOS001 asks for 151645 in generation_config.json)."""
    import shutil
    import stat

    from support import RULE_CASES

    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", repo / "chat")
    target = folder / "generation_config.json"
    before = target.read_bytes()
    if kind == "fifo":
        target.unlink()
        os.mkfifo(target)
    elif kind == "over-the-size-limit":
        (repo / ".eos-guard.yaml").write_text("max-config-size: 0.001\n")  # 1,048 bytes
        target.write_bytes(before.rstrip(b"}\n") + b', "pad": "' + b"x" * 2000 + b'"}\n')
        before = target.read_bytes()
    else:
        outside = tmp_path / "outside.json"
        outside.write_bytes(before)
        target.unlink()
        os.symlink(outside, target)
    code, out, err = run("--fix", "--format", "json", "chat", cwd=repo)
    assert code == 1 and ("EOS018", "chat/generation_config.json") in findings(out), (out, err)
    assert json.loads(out)["written"] == [] and "Traceback" not in err
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(target).st_mode)
    elif kind == "over-the-size-limit":
        assert target.read_bytes() == before
    else:
        assert os.path.islink(target) and (tmp_path / "outside.json").read_bytes() == before


def _as_a_user() -> list[str]:
    """A command prefix that runs eos-guard without root's power to read what its permissions deny (root here
    drops it with setpriv; another user has none)."""
    import shutil
    import sys

    if os.geteuid() != 0:
        return [sys.executable, "-m", "eos_guard"]
    if shutil.which("setpriv") is None:
        pytest.skip("root reads folders without read permission, and setpriv is not here to drop that")
    drop = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", sys.executable, "-m", "eos_guard"]


def _run_as_a_user(tmp_path, *argv: str) -> subprocess.CompletedProcess:
    """eos-guard run in ``tmp_path`` as a user without root's power over permissions, with a cache of its own."""
    from support import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT), "EOS_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run([*_as_a_user(), *argv], cwd=tmp_path, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("argv", [["locked", "good"], ["good", "locked"], ["."], ["locked/config.json", "good"]],
                         ids=["locked-first", "locked-second", "parent", "file-inside"])
def test_a_folder_that_cannot_be_listed_is_an_error_and_the_others_are_checked(tmp_path, argv):
    """A model folder without read permission: one error line naming it (not an internal error, not "holds no
    model folder", not silently skipped while the others pass), exit 2, and the other folder is checked."""
    import shutil

    from support import FIXTURES

    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "good")
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "locked")
    (tmp_path / "locked").chmod(0)
    try:
        proc = _run_as_a_user(tmp_path, "--format", "concise", *argv)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert proc.returncode == 2 and "internal error" not in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("eos-guard: locked"), proc.stderr
    assert ("cannot read: Permission denied" if argv[0].endswith(".json") else
            "cannot list the folder: Permission denied; a model folder in it is not checked") in proc.stderr
    assert proc.stdout == "No findings in 1 model folder.\n", proc.stdout  # not "All checks passed"


@pytest.mark.parametrize("argv", [["locked", "good"], ["good", "locked"], ["."]], ids=["named-first", "named-second",
                                                                                    "parent"])
def test_a_folder_that_can_be_listed_but_not_entered_is_an_error_and_the_others_are_checked(tmp_path, argv):
    """Mode 0644 on a folder (read, no search permission): looking for its .git raised PermissionError, an internal
    error that lost the whole run; its files are now its one error line, and the other folder is checked."""
    import shutil

    from support import FIXTURES

    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "good")
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "locked")
    (tmp_path / "locked").chmod(0o644)
    try:
        proc = _run_as_a_user(tmp_path, "--format", "concise", *argv)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert proc.returncode == 2 and "internal error" not in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("eos-guard: locked/"), proc.stderr
    assert "locked/config.json: cannot read file: Permission denied" in proc.stderr
    assert proc.stdout == "No findings in 2 model folders; 1 cannot be read.\n", proc.stdout


@pytest.mark.parametrize("name", ["private", "lost+found"])
def test_an_excluded_folder_that_cannot_be_listed_is_not_reported(tmp_path, name):
    """An excluded folder, and a file system's lost+found (root's only), are not listed: not an error."""
    import shutil

    from support import FIXTURES

    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "good")
    (tmp_path / name).mkdir()
    if name == "private":
        (tmp_path / ".eos-guard.yaml").write_text('exclude: ["private"]\n', encoding="utf-8")
    (tmp_path / name).chmod(0)
    try:
        proc = _run_as_a_user(tmp_path, ".")
    finally:
        (tmp_path / name).chmod(0o755)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_a_link_to_a_missing_file_says_so(run, repo):
    """A dangling generation_config.json (a Hub cache's blob deleted): the error names the link's target."""
    os.symlink("blobs/deleted", repo / "m" / "generation_config.json")
    code, _, err = run("m", cwd=repo)
    assert code == 2 and "m/generation_config.json: cannot read file: a symbolic link to blobs/deleted, which does " \
                          "not exist" in err, err


def test_explain_names_a_file_it_did_not_read_and_exits_2(run, repo, tmp_path):
    """explain explained a folder as if a file it skipped were not there (a chat_template.jinja over the size limit:
    the inline template's terminator, every runtime 'yes'), exit 0; check mode says EOS018. It names the file
    under its folder and on stderr, lists it in JSON, and exits 2 (docs/usage.md)."""
    secret = write_json(tmp_path / "outside.json", {"eos_token_id": 99})
    os.symlink(secret, repo / "m" / "generation_config.json")
    code, out, err = run("explain", "m", cwd=repo)
    assert code == 2 and "  generation_config.json is a symbolic link to " in out, out
    assert ": the rows below are without it" in out
    assert err.count("\n") == 1 and err.startswith("eos-guard: m/generation_config.json is a symbolic link to "), err
    code, out, err = run("explain", "--format", "json", "m", cwd=repo)
    not_read = json.loads(out)["models"][0]["not_read"]
    assert code == 2 and [entry["path"] for entry in not_read] == ["m/generation_config.json"], out
    os.unlink(repo / "m" / "generation_config.json")
    code, out, err = run("explain", "--format", "json", "m", cwd=repo)
    assert (code, err, json.loads(out)["models"][0]["not_read"]) == (0, "", [])


def test_explain_names_a_folder_and_a_gguf_file_it_did_not_read_and_exits_2(run, repo, tmp_path):
    """helper-119: a model folder or a GGUF file that is a link out of the repository (EOS018 in a check) was left
    out of explain's output in silence: a blank line, JSON with no models, exit 0."""
    from support import FIXTURES

    os.symlink(FIXTURES / "qwen2-instruct-aligned", repo / "linked")
    os.symlink(write_json(tmp_path / "outside.gguf", {}), repo / "x.gguf")
    code, out, err = run("explain", "linked", "x.gguf", "m", cwd=repo)
    assert code == 2 and out.startswith("m\n"), out
    assert "\n\nlinked: not read: linked is a symbolic link to " in out and "\n\nx.gguf: not read: x.gguf is a " in out
    assert err.count("\n") == 2 and "eos-guard: linked: not read: linked is a symbolic link to " in err, err
    code, out, _ = run("explain", "--format", "json", "linked", "x.gguf", cwd=repo)
    document = json.loads(out)
    assert code == 2 and document["models"] == [] and [e["path"] for e in document["not_read"]] == ["linked", "x.gguf"]
    assert all(e["reason"].endswith("; not followed") for e in document["not_read"]), document


@pytest.mark.parametrize(("mode", "argv", "named"), [
    (0o000, ["m"], "m/additional_chat_templates: cannot list the folder: Permission denied"),
    (0o000, ["m/config.json"], "m/additional_chat_templates: cannot list the folder: Permission denied"),
    (0o444, ["m"], "m/additional_chat_templates/default.jinja: cannot read file: Permission denied"),
], ids=["unlistable", "unlistable-file-named", "unsearchable"])
def test_templates_that_cannot_be_read_are_the_folders_error(tmp_path, mode, argv, named):
    """additional_chat_templates/ replaces tokenizer_config.json's template in transformers. One that could not be
    listed (named by a file, as pre-commit passes them) or whose files could not be looked at (0444) was skipped
    in silence: the folder was checked with the inline template and passed. It is now the folder's one error."""
    import shutil

    from support import FIXTURES

    folder = shutil.copytree(FIXTURES / "qwen2-instruct-aligned", tmp_path / "m")
    (folder / "additional_chat_templates").mkdir()
    (folder / "additional_chat_templates" / "default.jinja").write_text(
        "{% for m in messages %}{{ m.content }}<|endoftext|>{% endfor %}", encoding="utf-8")
    (folder / "additional_chat_templates").chmod(mode)
    try:
        proc = _run_as_a_user(tmp_path, "--format", "concise", *argv)
    finally:
        (folder / "additional_chat_templates").chmod(0o755)
    assert proc.returncode == 2 and proc.stderr == f"eos-guard: {named}\n", proc.stderr
    assert proc.stdout == "No findings in 1 model folder; 1 cannot be read.\n", proc.stdout


def test_fix_does_not_replace_a_file_read_only_to_it(tmp_path):
    """A generation_config.json the user made read-only (0444, in a writable folder) was replaced through rename,
    which the folder's permissions allow; formatters refuse such a file. One line names it (exit 2), and no file
    of the folder is changed: the check comes before the first write."""
    import shutil

    from support import ROOT

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    (folder / "generation_config.json").chmod(0o444)
    proc = _run_as_a_user(tmp_path, "--fix", "--baseline", "none", "m")
    assert proc.returncode == 2 and proc.stderr == (
        "eos-guard: m/generation_config.json: cannot write: Permission denied (the file is read-only); no file of "
        "this folder is changed\n"), proc.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    # the closing line of a --fix run does not offer --fix ("--fix changes 2 files") when nothing could be written
    assert proc.stdout.splitlines()[-1] == "1 of 1 model folder fails (1 error, 2 warnings).", proc.stdout


def test_a_created_file_gets_the_umask_s_mode(run, tmp_path):
    import shutil

    from support import ROOT

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    (folder / "generation_config.json").unlink()
    previous = os.umask(0o077)
    try:
        run("--fix", "--no-cache", "m")
    finally:
        os.umask(previous)
    assert (folder / "generation_config.json").stat().st_mode & 0o777 == 0o600  # was 0o644 whatever the umask


def test_a_fix_never_changes_the_process_umask(tmp_path, monkeypatch):
    """The Python API runs in a training script, whose other threads create files: reading the umask by setting
    it (os.umask(0o022) and back) would give a file one of them creates in that instant the wrong mode. A created
    file gets the umask's mode from the kernel instead."""
    import shutil

    import eos_guard
    from support import ROOT

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    (folder / "generation_config.json").unlink()
    previous = os.umask(0o027)
    try:
        def no_umask(mask):
            raise AssertionError(f"os.umask({mask:#o}) called while fixing")

        monkeypatch.setattr(os, "umask", no_umask)
        eos_guard.fix(folder)
    finally:
        monkeypatch.undo()
        os.umask(previous)
    assert (folder / "generation_config.json").stat().st_mode & 0o777 == 0o640
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
@pytest.mark.parametrize("when", ["fsync", "unlink"])
def test_a_signal_while_a_fix_is_written_leaves_no_temporary_file(run, tmp_path, monkeypatch, name, when):
    """A cancelled CI job or `timeout` sends SIGTERM, a closed terminal or dropped SSH session SIGHUP, Ctrl-C SIGINT;
    by default each ended the process between the temporary file's write and its rename, leaving
    .generation_config.json.XXXX.tmp in the model folder for `git add -A`. Handled only around the renames, one that
    came while a temporary file was being created, or while the copies of the old bytes were being removed, still
    left one (helper-145: 8 of 30 runs under SIGTERM). The signal now waits for the folder's whole write (its
    temporary files, renames and clean-up, milliseconds), then ends the run: 128 + its number, 130 for Ctrl-C."""
    import shutil
    import signal

    from support import RULE_CASES

    number = getattr(signal, name, None)
    if number is None:
        pytest.skip(f"no {name} on this platform")
    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    real = getattr(os, when)
    sent = []

    def signalled(*args, **kwargs):
        if not sent:
            sent.append(os.kill(os.getpid(), number))
        return real(*args, **kwargs)

    monkeypatch.setattr(os, when, signalled)
    handler = signal.getsignal(number)
    if name == "SIGINT":
        code, _, err = run("--fix", "--no-cache", "m")
        assert code == 130, err
    else:
        with pytest.raises(SystemExit) as stopped:
            run("--fix", "--no-cache", "m")
        assert stopped.value.code == 128 + number
    monkeypatch.undo()
    assert sent and sorted(p.name for p in folder.iterdir()) == ["config.json", "generation_config.json",
                                                                "tokenizer_config.json"]
    assert "151645" in (folder / "generation_config.json").read_text(encoding="utf-8")  # the folder's write ended
    assert signal.getsignal(number) == handler  # restored


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="no SIGHUP on this platform")
def test_a_fix_run_under_nohup_survives_sighup(run, tmp_path, monkeypatch):
    """``nohup eos-guard --fix`` ignores SIGHUP; the fix's handler for it (which removes the temporary file and
    exits) must not undo that."""
    import shutil
    import signal

    from support import RULE_CASES

    folder = shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / "m")
    real_fsync = os.fsync

    def hang_up(fd):
        os.kill(os.getpid(), signal.SIGHUP)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", hang_up)
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        code, _, err = run("--fix", "--no-cache", "m")
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert code == 1 and err == "Fixing m/generation_config.json\n", err
    assert "151645" in (folder / "generation_config.json").read_text()


HOSTILE_SHAPES = {"nested-empty-lists": "[" * 50 + "]" * 50, "flat-empty-lists": "[]",
                  "nested-objects": '{"":' * 20 + "{}" + "}" * 20}


@pytest.mark.parametrize("name, fixture", [("tokenizer.json", "qwen2-instruct-aligned"),
                                           ("vocab.json", "gpt2-chatml-finetune-vocab-json-added-tokens-json")])
@pytest.mark.parametrize("shape", HOSTILE_SHAPES)
def test_a_hostile_tokenizer_json_costs_at_most_the_documented_multiple_of_its_size(tmp_path, shape, name, fixture):
    """docs/security.md: a tokenizer.json not laid out as the tokenizers library writes it is parsed whole, which a
    hostile shape makes at most 60 times its size. It said ~25 times, measured on flat empty lists (~31 times
    here); nested ones (`[[[...]]]`, one list object per byte) cost ~53 times. A 4 MiB file, in a process of its
    own. vocab.json (a folder without tokenizer.json) too: its reader kept an instance dictionary per object and
    parsed a file with a value that is no id twice, at once (150 times the size of nested objects)."""
    import shutil
    import sys

    from support import FIXTURES, ROOT

    folder = shutil.copytree(FIXTURES / fixture, tmp_path / "m")
    unit = HOSTILE_SHAPES[shape]
    size = 4 << 20
    blob = '"x": [' + ",".join([unit] * (size // (len(unit) + 1))) + "],\n"  # no token: the library skips it
    text = (folder / name).read_text(encoding="utf-8")
    (folder / name).write_text(text.replace("{", "{\n  " + blob, 1), encoding="utf-8")
    measure = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EOS_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    baseline = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "eos_guard", "--version"],
                              env=env, capture_output=True, text=True, check=True)
    proc = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "eos_guard", "--no-cache", "m"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    grown = (int(proc.stdout) - int(baseline.stdout)) * 1024  # ru_maxrss is in KiB on Linux
    file_size = (folder / name).stat().st_size
    assert grown <= 60 * file_size, f"{grown / file_size:.0f} times the file's size"


def test_a_hugging_face_snapshot_s_subfolders_link_into_its_blobs_too(run, tmp_path):
    """A sentence-transformers snapshot holds 1_Pooling/config.json, a link to ../../../blobs/: refusing to open
    links out of the folder made that subfolder a model folder with an EOS018 error (exit 1)."""
    hub = tmp_path / "hub" / "models--org--name"
    write_json(hub / "blobs" / "aaaa", {"model_type": "qwen2", "eos_token_id": 2})
    write_json(hub / "blobs" / "bbbb", {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True})
    (hub / "snapshots" / "rev" / "1_Pooling").mkdir(parents=True)
    os.symlink("../../blobs/aaaa", hub / "snapshots" / "rev" / "config.json")
    os.symlink("../../../blobs/bbbb", hub / "snapshots" / "rev" / "1_Pooling" / "config.json")
    code, out, _ = run(str(hub / "snapshots" / "rev"))
    assert (code, out) == (0, "All checks passed (1 model folder; 1 names no token that ends an answer: stopping not checked).\n")


def test_fix_replaces_a_hard_linked_file_in_its_folder_only(run, tmp_path):
    """docs/fix.md: the atomic rename gives the fixed path a new file, so another hard link to the old one (a
    checkpoint copied with ``cp -l``) keeps the old text, as with any editor that writes atomically."""
    import shutil

    from support import ROOT

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    other = tmp_path / "elsewhere.json"
    os.link(folder / "generation_config.json", other)
    before = other.read_bytes()
    code, _, _ = run("--fix", "--baseline", "none", str(folder))
    assert code == 1  # files changed
    assert other.read_bytes() == before and os.stat(other).st_nlink == 1
    assert (folder / "generation_config.json").read_bytes() != before
    assert run("--baseline", "none", str(folder))[0] == 0


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux's /proc")
def test_a_file_that_grows_while_it_is_read_is_read_only_up_to_the_limit():
    """A regular file that gives more than the size it had when opened (one that grows while it is read; /proc's
    files say 0 bytes) is read only up to the size limit, then refused, not read to wherever it ends."""
    from pathlib import Path

    from eos_guard.jsonspan import NotRead, read_bytes

    with pytest.raises(NotRead, match="grew past the max-file-size limit of 100 bytes while it was read"):
        read_bytes(Path("/proc/self/maps"), max_bytes=100)
    assert b"\n" in read_bytes(Path("/proc/self/maps"), max_bytes=10**7)  # within the limit: read to its end


# --- a folder's edit is all or nothing ---------------------------------------------------------------------

def _files(folder) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_file_that_cannot_be_written_leaves_its_folder_unchanged(tmp_path):
    """--fix --unsafe-fixes on the Llama 3 release folder changes config.json, generation_config.json,
    special_tokens_map.json and tokenizer_config.json, one after the other. A write the kernel refuses at the last
    one (here a file-size limit, RLIMIT_FSIZE: EFBIG, as a full disk gives ENOSPC) left the first three written:
    stop ids and config.json aligned with an eos the tokenizer did not get. Every new text is now written to its
    temporary file before any file is replaced, so nothing of the folder changes, and one line names the file."""
    import resource
    import shutil
    import sys

    from support import FIXTURES, ROOT

    folder = shutil.copytree(FIXTURES / "llama3-8b-instruct-release", tmp_path / "m")
    before = _files(folder)
    assert len((folder / "tokenizer_config.json").read_bytes()) > 2000
    assert all(len(data) < 1000 for name, data in before.items()
               if name in ("config.json", "generation_config.json", "special_tokens_map.json"))

    def limit_file_size():  # Python ignores SIGXFSZ, so a larger write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "eos_guard", "--fix", "--unsafe-fixes", "--no-cache", "--baseline",
                           "none", "m"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          preexec_fn=limit_file_size)
    assert proc.returncode == 2 and proc.stderr == (
        "eos-guard: m/tokenizer_config.json: cannot write: File too large; no file of this folder is changed\n"), \
        proc.stderr
    assert _files(folder) == before  # no file replaced, no temporary file left


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="only root can make a folder and a file another user's")
def test_a_replace_the_kernel_refuses_midway_puts_back_the_files_already_replaced(tmp_path):
    """A sticky world-writable folder (a shared /tmp, a team's scratch space) where generation_config.json belongs
    to another user with mode 0666: the process may write it (os.access says so), but not rename over it (only the
    file's or the folder's owner may). config.json, the process's own, was replaced first, and the folder was left
    half-fixed. The file already replaced is now put back from its original bytes, and one line names the file
    the kernel refused. Run as root without the capabilities that override file ownership (setpriv)."""
    import shutil
    import sys

    from support import ROOT

    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not here to drop root's power over other users' files")
    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    os.chown(folder / "generation_config.json", 23456, 0)
    (folder / "generation_config.json").chmod(0o666)
    os.chown(folder, 12345, 12345)
    folder.chmod(0o1777)
    before = _files(folder)
    drop = "-dac_override,-dac_read_search,-fowner,-chown"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", sys.executable, "-m",
                           "eos_guard", "--fix", "--no-cache", "--baseline", "none", "m"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr == (
        "eos-guard: m/generation_config.json: cannot write: Operation not permitted; no file of this folder is "
        "changed\n"), proc.stderr
    assert _files(folder) == before
    assert (folder / "config.json").stat().st_uid == 0 and (folder / "generation_config.json").stat().st_uid == 23456


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_signal_between_two_replaces_lets_the_folder_finish(run, tmp_path, monkeypatch, name):
    """SIGTERM (a cancelled CI job) or SIGHUP after config.json was replaced and before generation_config.json
    was ended the run there: the folder kept a half of the fix. The renames of one folder take microseconds; the
    signal now waits for them, then ends the run (128 + the signal's number), with every file of the folder
    fixed and said so."""
    import shutil
    import signal

    from support import ROOT

    number = getattr(signal, name, None)
    if number is None:
        pytest.skip(f"no {name} on this platform")
    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    real_replace = os.replace

    def replace(source, target, **kwargs):
        real_replace(source, target, **kwargs)
        if str(target).endswith("config.json"):
            os.kill(os.getpid(), number)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(SystemExit) as stopped:
        run("--fix", "--no-cache", "--baseline", "none", "m")
    assert stopped.value.code == 128 + number
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "generation_config.json",
                                                       "tokenizer_config.json"]
    assert run("--no-cache", "--baseline", "none", "m")[0] == 0  # both files fixed


def test_a_file_changed_after_the_check_leaves_its_folder_unchanged(run, tmp_path, monkeypatch):
    """Between the check and the writes another process put a directory where generation_config.json was: that
    file was not written (it changed since it was read), but config.json, planned from the same old state, was.
    No file of a folder with a changed file is written now."""
    import shutil

    from eos_guard import fixes
    from support import ROOT

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    before = _files(folder)
    real_plan = fixes.plan

    def plan_then_change(*args, **kwargs):
        planned = real_plan(*args, **kwargs)
        if (folder / "generation_config.json").is_file():  # the check plans too, to count what --fix changes
            (folder / "generation_config.json").unlink()
            (folder / "generation_config.json").mkdir()
        return planned

    monkeypatch.setattr(fixes, "plan", plan_then_change)
    code, _, err = run("--fix", "--no-cache", "--baseline", "none", "--format", "concise", "m")
    assert code == 2 and err.startswith("eos-guard: m/generation_config.json: changed by another process while "
                                        "fixing; no file of this folder is changed\n"), err
    assert (folder / "config.json").read_bytes() == before["config.json"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(before)


@pytest.mark.parametrize("change", ["rewrite", "new-template"])
def test_a_file_only_read_that_changed_after_the_check_leaves_its_folder_unchanged(run, tmp_path, monkeypatch, change):
    """helper-119: after the check planned to add <|im_end|>'s id, another process rewrote tokenizer_config.json
    (the eos and the template's terminator now <|endoftext|>), or added a chat_template.jinja that replaces the
    inline template; config.json and generation_config.json were written from the stale plan, since only the files
    being written were compared. Every file the check may read is compared now (docs/fix.md)."""
    import shutil

    from eos_guard import fixes
    from support import ROOT

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    before = _files(folder)
    real_plan = fixes.plan
    changed = folder / ("tokenizer_config.json" if change == "rewrite" else "chat_template.jinja")

    def plan_then_change(*args, **kwargs):
        planned = real_plan(*args, **kwargs)
        if change == "rewrite":
            text = changed.read_text(encoding="utf-8").replace("<|im_end|>", "<|endoftext|>")
            changed.write_text(text, encoding="utf-8")
        else:
            changed.write_text("{% for m in messages %}{{ m.content }}<|endoftext|>{% endfor %}", encoding="utf-8")
        return planned

    monkeypatch.setattr(fixes, "plan", plan_then_change)
    code, _, err = run("--fix", "--no-cache", "--baseline", "none", "--format", "concise", "m")
    assert code == 2 and err == (f"eos-guard: m/{changed.name}: changed by another process while fixing; no file of "
                                 "this folder is changed\n"), err
    assert all((folder / name).read_bytes() == data for name, data in before.items() if name != changed.name)


def test_a_file_hard_linked_into_another_folder_does_not_stop_that_folder_s_fix(run, tmp_path):
    """helper-123: the check compared status-change times, which replacing one of two hard links to a file changes
    for the other (its link count): folder b, sharing config.json with a (cp -al, rsync --link-dest), was refused
    as 'changed by another process' after this run's own write to a."""
    import shutil

    from support import ROOT

    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "a", ignore=shutil.ignore_patterns("*.md"))
    (tmp_path / "b").mkdir()
    for name in ("generation_config.json", "tokenizer_config.json"):
        shutil.copy(tmp_path / "a" / name, tmp_path / "b" / name)
    os.link(tmp_path / "a" / "config.json", tmp_path / "b" / "config.json")
    config = json.loads((tmp_path / "b" / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["eos_token"] = "<|endoftext|>"
    (tmp_path / "b" / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    code, out, err = run("--fix", "--no-cache", "--baseline", "none", "--format", "concise", ".", cwd=tmp_path)
    assert "changed by another process" not in err and "Fixed 3 files in 2 folders" in out, (out, err)
    assert run("--baseline", "none", ".", cwd=tmp_path)[0] == 0


def test_ctrl_c_between_two_replaces_lets_the_folder_finish(run, tmp_path, monkeypatch):
    """Ctrl-C (SIGINT) after config.json was replaced and before generation_config.json ended the run with
    config.json fixed alone; then the file already replaced was put back. It now waits for the folder's write to
    end, as SIGTERM does (a KeyboardInterrupt raised elsewhere in a rename still puts the others back:
    ``fixes._replace_all``); the run exits with 130."""
    import shutil
    import signal

    from support import ROOT

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    before = _files(folder)
    real_replace = os.replace

    def replace(source, target, **kwargs):
        real_replace(source, target, **kwargs)
        if str(target).endswith(os.sep + "config.json"):
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace)
    code, _, err = run("--fix", "--no-cache", "--baseline", "none", "m")
    monkeypatch.undo()
    assert code == 130 and "Fixing m/generation_config.json" in err, err
    assert _files(folder) != before and not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert run("--no-cache", "--baseline", "none", "m")[0] == 0  # both files fixed


def test_a_directory_put_in_a_file_s_place_before_its_rename_puts_back_the_others(run, tmp_path, monkeypatch):
    """Another process puts a directory where generation_config.json was, after the check found the file unchanged
    and before its rename: the kernel refuses the rename (EISDIR), and config.json, replaced just before, gets its
    old bytes back."""
    import shutil

    from support import ROOT

    folder = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "m")
    before = _files(folder)
    real_replace = os.replace

    def replace(source, target, **kwargs):
        if str(target).endswith("generation_config.json") and os.path.isfile(target):
            os.unlink(target)
            os.mkdir(target)
        real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    code, _, err = run("--fix", "--no-cache", "--baseline", "none", "m")
    monkeypatch.undo()
    assert code == 2 and err == ("eos-guard: m/generation_config.json: cannot write: Is a directory; no file of this "
                                 "folder is changed\n"), err
    assert (folder / "config.json").read_bytes() == before["config.json"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(before) and (folder / "generation_config.json").is_dir()


def test_a_caller_s_own_sigint_handler_runs_once_for_one_ctrl_c(tmp_path, monkeypatch):
    """helper-147: eos_guard.fix() held a Ctrl-C that came during a folder's write, then called the caller's own
    SIGINT handler after that folder, and again after every later one: one key press read as several."""
    import shutil
    import signal

    from support import RULE_CASES

    import eos_guard

    for i in range(3):
        shutil.copytree(RULE_CASES / "EOS001-terminator-not-stop-id", tmp_path / f"m{i}")
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    real_fsync, sent = os.fsync, []

    def fsync(fd):
        if not sent:
            sent.append(os.kill(os.getpid(), signal.SIGINT))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    try:
        changes = eos_guard.fix(*(tmp_path / f"m{i}" for i in range(3)), isolated=True)
    finally:
        handler = signal.signal(signal.SIGINT, previous)
    assert calls == [signal.SIGINT] and len(changes) == 3
    assert handler.__code__.co_name == "<lambda>"
