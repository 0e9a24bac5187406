"""Hub repositories (hf://org/name[@rev], --hub-list) against a local stand-in for the Hub, with the real client.

tests/hub_server.py answers the requests huggingface_hub makes. The CLI runs in a child process whose environment
points HF_ENDPOINT at that server and the cache into tmp_path (huggingface_hub reads both when it is imported, so
an in-process run could reach the real Hub). HTTP(S)_PROXY points at the server as well: a request for any other
host would arrive there as a proxied request, which the ``hub`` fixture rejects when the test ends.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from hub_server import GB, HubServer, Repo, chatml, commit_sha, lfs_oid
from support import FIXTURES, ROOT

pytest.importorskip("huggingface_hub")

from eos_guard.audit import Progress  # noqa: E402
from eos_guard.hub import MAX_WAIT_SECONDS, RETRIES, _wait  # noqa: E402

TOKEN = "hf_test_token"


def _files(fixture: str) -> dict[str, bytes]:
    """A fixture folder's model files (its README and expected verdict left out)."""
    return {path.name: path.read_bytes() for path in (FIXTURES / fixture).iterdir()
            if path.name not in ("README.md", "expected.json")}


TEMPLATE = chatml(jinja=True)["chat_template.jinja"]
REPOS = {
    "org/chatml": Repo.of(chatml()),
    "org/fixed": Repo.of(chatml(fixed=True, tokenizer=True, jinja=True)),
    "org/weights": Repo.of(chatml(fixed=True, weights=True)),
    "org/no-generation-config": Repo.of(chatml(generation_config=False)),
    "org/private": Repo.of(chatml(fixed=True), private=True),
    "org/gated": Repo.of(chatml(fixed=True), gated=True),
    "org/tagged": Repo({"main": chatml(fixed=True), "v1.0": chatml()}),
    "org/slow": Repo.of(chatml(fixed=True)),
    "org/malformed": Repo.of({**chatml(fixed=True), "config.json": b'{"eos_token_id": 151645,,}\n'}),
    # a PEFT adapter: the tokenizer files and adapter_config.json, no config.json or generation_config.json
    "org/lora": Repo.of({"tokenizer_config.json": chatml()["tokenizer_config.json"],
                         "adapter_config.json": b'{"base_model_name_or_path": "Qwen/Qwen2.5-3B", "peft_type": "LORA"}'}),
    # axolotl's adapter: its base model's config.json (and here a generation_config.json) beside the adapter's
    # weights, which the snapshot does not download (helper-171: checked as the folder's stop ids, EOS001)
    "org/axolotl-lora": Repo.of({**chatml(), "adapter_model.safetensors": 1_000_000,
                                 "adapter_config.json": b'{"base_model_name_or_path": "Qwen/Qwen2.5-3B", '
                                                        b'"peft_type": "LORA"}'}),
    # TheBloke's *-GGUF: the ctransformers stub config.json beside the GGUF files
    "org/stub-gguf": Repo.of({"config.json": b'{"model_type": "llama"}', "README.md": b"# GGUF\n",
                              "model.Q4_K_M.gguf": 4_000_000_000}),
    # an embedding model: a ChatML template whose <|im_end|> is no stop id, and a sentence-transformers Pooling module
    "org/embedder": Repo.of({**chatml(), "modules.json": b'[{"idx": 0, "name": "0", "path": "", "type": '
                             b'"sentence_transformers.models.Transformer"}, {"idx": 1, "name": "1", "path": '
                             b'"1_Pooling", "type": "sentence_transformers.models.Pooling"}]'}),
    # no tokenizer.json: the vocabulary of a SentencePiece tokenizer.model, or of vocab.json and merges.txt
    "org/sentencepiece": Repo.of(_files("yi-chat-finetune-tokenizer-model-im-end-piece")),
    "org/vocab-json": Repo.of(_files("gpt2-chatml-finetune-vocab-json-added-tokens-json")),
    # tokenizer.model beside a tiktoken.model: transformers may take the other, so neither is read, as on disk
    "org/spm-and-tiktoken": Repo.of({**_files("yi-chat-finetune-tokenizer-model-im-end-piece"),
                                     "tiktoken.model": b"aGVsbG8= 0\n"}),
    # a ChatML fine-tune of Mistral Nemo that kept tekken.json (EOS031): the listing shows it, it is never fetched
    "org/mistral-chatml": Repo.of({path.name: path.read_bytes() for path in
                                   (ROOT / "tests" / "rule_cases" / "EOS031-tekken-overrides-template").iterdir()}),
    # an ONNX Runtime GenAI export: its stop ids are genai_config.json's
    "org/onnx": Repo.of(_files("phi3-mini-4k-instruct-onnx")),
    # a tokenizer.json too: the tokenizer.model beside it is not read, so not fetched
    "org/both": Repo.of({**chatml(fixed=True, tokenizer=True),
                         "tokenizer.model": _files("yi-chat-finetune-tokenizer-model-im-end-piece")["tokenizer.model"]}),
    # listed with sizes only: a 300 MiB tokenizer.json and a 5 MiB template (over max-file-size / max-config-size)
    "org/huge": Repo.of({**chatml(fixed=True), "tokenizer.json": 300 * 1024 * 1024,
                         "additional_chat_templates/tool_use.jinja": 5 * 1024 * 1024}),
    # more templates than a check reads (MAX_TEMPLATES), and one over max-config-size among the first by name
    # a server that answers another text than a commit id for a revision (helper-136: it named the snapshot folder)
    "org/bad-sha": Repo.of(chatml(), _shas={("org/bad-sha", "main"): "ATTACKER TEXT"}),
    "org/many-templates": Repo.of({**chatml(fixed=True, jinja=True),
                                   **{f"additional_chat_templates/t{i:02d}.jinja": TEMPLATE for i in range(20)},
                                   "additional_chat_templates/a_huge.jinja": 5 * 1024 * 1024}),
}


def sha(repo: str, revision: str = "main") -> str:
    return commit_sha(repo, REPOS[repo].revisions[revision])


@pytest.fixture
def hub():
    with HubServer(REPOS, token=TOKEN) as server:
        yield server
    leaked = [line for line in server.log if not line.split(" ", 1)[1].startswith("/")]
    assert not leaked, f"requests for other hosts: {leaked}"


@pytest.fixture
def eos_guard(hub, tmp_path):
    """Run ``python -m eos_guard ARGS`` (or ``python -c CODE``) with the Hub at ``hub``; keyword arguments set
    more environment variables."""

    def run(*args: str, code: str | None = None, **env: str) -> subprocess.CompletedProcess:
        command = ["-c", code] if code else ["-m", "eos_guard", *args]
        return subprocess.run([sys.executable, *command], env={**_environment(hub, tmp_path), **env}, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    return run


def _environment(hub: HubServer, home: Path) -> dict[str, str]:
    """The environment of a process that reaches the Hub at ``hub`` only, with its caches in ``home``."""
    return {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(ROOT),
            "HF_ENDPOINT": hub.url, "HF_HOME": str(home / "hf"), "HF_HUB_CACHE": str(home / "hf" / "hub"),
            "HF_HUB_DISABLE_TELEMETRY": "1", "HTTP_PROXY": hub.url, "HTTPS_PROXY": hub.url, "ALL_PROXY": hub.url,
            "NO_PROXY": "127.0.0.1", "EOS_GUARD_CACHE_DIR": str(home / "eos-guard-cache")}


def test_a_request_for_another_host_reaches_the_tripwire(tmp_path):
    code = ("from huggingface_hub.utils import get_session\n"
            "for url in ('https://huggingface.co/api/models/gpt2', 'http://example.com/'):\n"
            "    try:\n        get_session().get(url)\n    except Exception:\n        pass\n")
    with HubServer({}) as server:
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "HTTP_PROXY": server.url,
               "HTTPS_PROXY": server.url, "NO_PROXY": "127.0.0.1"}
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert server.log == ["CONNECT huggingface.co:443", "GET http://example.com/"]


def test_public_repo_finding_names_the_commit(eos_guard):
    proc = eos_guard("hf://org/chatml")
    assert proc.returncode == 1, proc.stderr
    assert f"org/chatml@{sha('org/chatml')}/generation_config.json:3:19: EOS001 " in proc.stdout
    assert proc.stderr == ""
    assert eos_guard("--hub", "org/chatml").stdout == proc.stdout


def test_only_the_files_eos_guard_reads_are_requested(eos_guard, hub):
    proc = eos_guard("hf://org/weights")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    commit = sha("org/weights")
    assert hub.requests_for(f"/api/models/org/weights/tree/{commit}")  # the weights were listed...
    for name in ("model.safetensors", lfs_oid("model.safetensors", 10 * GB), "README.md", "unused.jinja",
                 "model.safetensors.index.json"):  # docs/hub.md: a Hub check reads no tensor names
        assert not hub.requests_for(name)  # ...and never requested
    downloaded = {line.rsplit("/", 1)[1] for line in hub.requests_for(f"GET /org/weights/resolve/{commit}/")}
    assert downloaded == {"config.json", "generation_config.json", "tokenizer_config.json"}


@pytest.mark.parametrize(("repo", "files"), [
    ("org/sentencepiece", {"tokenizer.model"}),
    ("org/vocab-json", {"vocab.json", "merges.txt", "added_tokens.json"}),
])
def test_a_repository_without_tokenizer_json_is_checked_with_its_vocabulary_files(eos_guard, hub, repo, files):
    """hub.md: without tokenizer.json, the check reads the vocabulary from tokenizer.model, else vocab.json and
    merges.txt, so they are fetched too: the fine-tune's <|im_end|> is found and is no stop id (EOS001), as in
    the local fixture folder."""
    proc = eos_guard(f"hf://{repo}", "--format", "concise")
    assert proc.returncode == 1 and "/generation_config.json:3:19: EOS001 " in proc.stdout, proc.stdout + proc.stderr
    commit = sha(repo)
    downloaded = {line.rsplit("/", 1)[1] for line in hub.requests_for(f"GET /{repo}/resolve/{commit}/")}
    assert files <= downloaded


def test_a_snapshot_reads_the_vocabulary_file_a_folder_on_disk_reads(eos_guard, hub, tmp_path):
    """helper-121: the snapshot held tokenizer.model alone, since tiktoken.model is not fetched, so it was read (an
    EOS001 error with an id) where the same files on disk are not (transformers may take tiktoken.model: eos-guard
    cannot tell the ids, EOS005 info). The commit's listing now names the vocabulary files the snapshot lacks; and
    a file no check reads is not fetched, cold or warm."""
    local = tmp_path / "local"
    local.mkdir()
    for name, data in REPOS["org/spm-and-tiktoken"].revisions["main"].items():
        (local / name).write_bytes(data)
    on_disk = eos_guard("--format", "concise", "--fail-on", "info", "local")
    assert on_disk.returncode == 1 and " EOS005 info: " in on_disk.stdout and " EOS001 " not in on_disk.stdout
    prefix = f"org/spm-and-tiktoken@{sha('org/spm-and-tiktoken')}/"
    for _ in ("cold", "warm"):
        proc = eos_guard("--format", "concise", "--fail-on", "info", "hf://org/spm-and-tiktoken")
        assert (proc.returncode, proc.stdout.replace(prefix, "local/")) == (1, on_disk.stdout), proc.stdout
    assert not hub.requests_for("tokenizer.model") and not hub.requests_for("tiktoken.model")


def test_a_listed_tekken_json_is_noticed_and_never_fetched(eos_guard, hub):
    """EOS031 needs only to know that tekken.json is there: the commit's listing says so, and its megabytes (15-20
    in Mistral's releases) are not downloaded."""
    proc = eos_guard("--format", "concise", "hf://org/mistral-chatml")
    assert proc.returncode == 0 and "/tekken.json:1:1: EOS031 warning: " in proc.stdout, proc.stdout + proc.stderr
    assert not hub.requests_for("tekken.json"), hub.log


def test_an_onnx_runtime_genai_export_is_checked_with_its_genai_config(eos_guard, hub):
    """hub.md: genai_config.json is fetched, so an export's copied config.json (eos 32000 only) is no false alarm."""
    proc = eos_guard("hf://org/onnx", "--fail-on", "info")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert hub.requests_for(f"GET /org/onnx/resolve/{sha('org/onnx')}/genai_config.json")


def test_a_tokenizer_model_beside_tokenizer_json_is_not_fetched(eos_guard, hub):
    proc = eos_guard("hf://org/both", "--fail-on", "info")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert hub.requests_for(f"/org/both/resolve/{sha('org/both')}/tokenizer.json")
    assert not hub.requests_for("tokenizer.model")


def test_templates_and_an_lfs_tokenizer_are_fetched(eos_guard, hub):
    proc = eos_guard("hf://org/fixed", "--fail-on", "info")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    commit = sha("org/fixed")
    for name in ("chat_template.jinja", "additional_chat_templates/tool_use.jinja", "tokenizer.json"):
        assert hub.requests_for(f"HEAD /org/fixed/resolve/{commit}/{name}")
    # tokenizer.json is in LFS: the Hub redirects to its CDN, which is asked without the token
    assert hub.requests_for(f"GET /{lfs_oid('tokenizer.json', chatml(tokenizer=True)['tokenizer.json'])}")


def test_a_repo_without_generation_config_is_still_checked(eos_guard, hub):
    proc = eos_guard("hf://org/no-generation-config")
    assert proc.returncode == 1, proc.stderr
    assert f"org/no-generation-config@{sha('org/no-generation-config')}/config.json:6:19: EOS001 " in proc.stdout
    assert not hub.requests_for("generation_config.json")


def test_private_repo_needs_the_token(eos_guard, hub):
    proc = eos_guard("hf://org/private")
    assert proc.returncode == 2
    assert proc.stderr == (f"eos-guard: hf://org/private: repository not found on {hub.url} "
                           "(if it is private or gated, set HF_TOKEN)\n")
    wrong = eos_guard("hf://org/private", HF_TOKEN="hf_wrong")
    assert wrong.stderr.endswith("(or the token has no access to it)\n")
    proc = eos_guard("hf://org/private", HF_TOKEN=TOKEN)
    assert proc.returncode == 0, proc.stderr
    assert "All checks passed" in proc.stdout


def test_gated_repo_without_token(eos_guard, hub):
    proc = eos_guard("hf://org/gated")
    assert proc.returncode == 2
    assert proc.stderr == f"eos-guard: hf://org/gated: gated repository: request access on {hub.url}/org/gated " \
                          "and set HF_TOKEN\n"


def test_rate_limited_requests_are_retried_once_each(eos_guard, hub):
    commit = sha("org/slow")
    hub.throttle.update({"/api/models/org/slow/revision/main": 1, f"/api/models/org/slow/revision/{commit}": 1,
                         "/api/models/org/slow/tree": 1})
    start = time.monotonic()
    proc = eos_guard("hf://org/slow@main")
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start >= hub.retry_after
    # eos-guard retries the revision look-up and its file listing (model_info), which huggingface_hub does not...
    assert len(hub.requests_for("/api/models/org/slow/revision/main")) == 2
    assert len(hub.requests_for(f"/api/models/org/slow/revision/{commit}?blobs=true")) == 2
    # ...and huggingface_hub retries snapshot_download's listing itself
    assert len(hub.requests_for("/api/models/org/slow/tree/")) == 2


def test_rate_limit_that_does_not_end(eos_guard, hub):
    hub.throttle["/api/models/org/slow"] = 1000
    hub.retry_after = 0
    proc = eos_guard("hf://org/slow")
    assert proc.returncode == 2
    assert proc.stderr == f"eos-guard: hf://org/slow: {hub.url} answered HTTP 429 (rate limited; retries exhausted)\n"
    assert len(hub.requests_for("/api/models/org/slow")) == RETRIES + 1


def test_retry_wait():
    assert _wait("3", 0) == 3
    assert _wait(None, 0) == 1 and _wait(None, 2) == 4
    assert _wait("86400", 0) == MAX_WAIT_SECONDS
    assert _wait("Wed, 21 Oct 2015 07:28:00 GMT", 1) == 2  # an HTTP date: back off instead


def test_specific_revision(eos_guard, hub):
    tagged = sha("org/tagged", "v1.0")
    proc = eos_guard("hf://org/tagged@v1.0")
    assert proc.returncode == 1, proc.stderr
    assert f"org/tagged@{tagged}/generation_config.json:3:19: EOS001 " in proc.stdout
    assert eos_guard("hf://org/tagged").returncode == 0
    assert f"org/tagged@{tagged}/generation_config.json:3:19: EOS001 " in eos_guard(f"hf://org/tagged@{tagged}").stdout
    missing = eos_guard("hf://org/tagged@v9")
    assert (missing.returncode, missing.stderr) == (2, "eos-guard: hf://org/tagged@v9: revision 'v9' not found\n")


def test_an_empty_revision_is_refused_not_read_as_the_default_branch(eos_guard, hub, tmp_path):
    """helper-183: hf://org/name@ (a revision variable that expanded to nothing) checked the default branch, as an
    empty PATH was the current folder before it was refused; so did a --hub-list line ``org/name@``."""
    proc = eos_guard("hf://org/chatml@")
    assert (proc.returncode, proc.stderr) == (2, "eos-guard: hf://org/chatml@: no revision after '@' (a variable that "
                                                 "expanded to nothing?); name one, or write hf://org/chatml for the "
                                                 "default branch\n")
    listing = tmp_path / "list.txt"
    listing.write_text("org/chatml@\n", encoding="utf-8")
    proc = eos_guard("--hub-list", str(listing))
    assert proc.returncode == 2 and "org/chatml@: no revision after '@'" in proc.stderr, proc.stderr
    assert hub.log == []


@pytest.mark.parametrize("revision", ["../../../../escaped", "a/../../b", "main\x1b[2J", "-b", ".hidden", "x.lock",
                                      "refs//pr", "@{1}", "a b", "@"])
def test_a_revision_git_would_not_name_is_refused_before_any_request(eos_guard, hub, tmp_path, revision):
    """helper-136: huggingface_hub writes refs/<revision> in the cache with the commit a revision resolved to, so
    hf://org/name@../../x (an endpoint that answered it) wrote a file outside the cache. A revision is a name git
    allows for a ref; nothing is asked of the Hub for another."""
    proc = eos_guard(f"hf://org/chatml@{revision}")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc
    assert "is not a revision (a branch, a tag or a commit; git's rules for a ref name)" in proc.stderr, proc.stderr
    assert hub.log == [] and not (tmp_path / "hf").exists()
    # a bad PATH, not a repository that cannot be fetched (docs/usage.md, the closing line)
    assert proc.stdout == "No model folders found.\n", proc.stdout


def test_a_commit_that_is_no_commit_id_is_refused(eos_guard, hub, tmp_path):
    proc = eos_guard("hf://org/bad-sha")
    assert proc.returncode == 2 and proc.stderr == (
        "eos-guard: hf://org/bad-sha: the Hub answered 'ATTACKER TEXT' for its commit, which is no commit id (40 "
        "hex digits)\n"), proc.stderr
    assert not list((tmp_path / "hf").rglob("*ATTACKER*"))


def test_branches_with_slashes_and_tags_are_revisions():
    from eos_guard.sources import HubRef

    for revision in ("main", "refs/pr/1", "v1.0", "feature/x-y_z", "0" * 40):
        assert HubRef.parse(f"hf://org/name@{revision}").revision == revision


def test_fix_refuses_a_hub_repository_and_diff_shows_the_changes(eos_guard, hub, tmp_path):
    """--fix on hf://org/name edited the shared Hugging Face cache: the snapshot's links to blobs became edited
    files, after which hf://org/name@<sha> passed (and transformers loaded them) while the Hub commit was broken."""
    commit = sha("org/chatml")
    checked = eos_guard("hf://org/chatml")
    assert checked.returncode == 1 and "--fix" not in checked.stdout, checked.stdout  # not offered for the Hub
    snapshot = tmp_path / "hf" / "hub" / "models--org--chatml" / "snapshots" / commit
    links = {path.name: os.readlink(path) for path in snapshot.iterdir()}
    # hub.md: "a run that also names local PATHs fixes none of them": a local folder --fix would change
    local = shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "local")
    assert "+++ b/local/generation_config.json\n" in eos_guard("--diff", "local").stdout
    local_bytes = {path.name: path.read_bytes() for path in local.iterdir()}
    requests = len(hub.log)
    for args in (["hf://org/chatml", "--fix"], ["--hub", "org/chatml", "local", "--fix"],
                 ["local", "hf://org/chatml", "--fix"]):
        proc = eos_guard(*args)
        assert (proc.returncode, proc.stdout, proc.stderr) == (
            2, "", "eos-guard: hf://org/chatml: --fix cannot edit a Hub repository (it would edit the shared Hugging "
                   "Face cache, not the repository); --diff shows the changes to make in a clone\n")
        assert {path.name: path.read_bytes() for path in local.iterdir()} == local_bytes, args
    api = eos_guard(code="import eos_guard\ntry:\n    eos_guard.fix('hf://org/chatml')\nexcept Exception as e:\n"
                         "    print(type(e).__name__, e)\n")
    assert api.stdout.startswith("InputError hf://org/chatml: --fix cannot edit a Hub repository"), api.stderr
    assert len(hub.log) == requests  # refused before anything is fetched
    assert {path.name: os.readlink(path) for path in snapshot.iterdir()} == links
    assert eos_guard(f"hf://org/chatml@{commit}").returncode == 1  # the cached commit still fails
    diff = eos_guard("hf://org/chatml", "--diff")
    assert diff.returncode == 1 and f"+++ b/org/chatml@{commit}/generation_config.json\n" in diff.stdout, diff.stderr
    assert {path.name: os.readlink(path) for path in snapshot.iterdir()} == links


def test_a_hub_diff_applies_in_a_clone_and_fix_without_writing_returns_the_changes(eos_guard, hub, tmp_path):
    """hub.md: "`--diff` writes nothing, so it is allowed: its patch names the files as
    `org/name@<sha>/generation_config.json`; apply it in a clone of the repository with `git apply -p3`", and
    "`eos_guard.fix("hf://…", write=False)` returns the changes": the patch applies with git in a git work tree
    holding the commit's files, which then hold the new texts fix() returned and check clean; the cache is
    untouched."""
    commit = sha("org/chatml")
    code = ("import json, eos_guard\nchanges = eos_guard.fix('hf://org/chatml', write=False)\n"
            "print(json.dumps({c.path.name: c.new_text for c in changes}))\n")
    api = eos_guard(code=code)
    assert api.returncode == 0, api.stderr
    changes = json.loads(api.stdout)
    assert sorted(changes) == ["config.json", "generation_config.json"]
    snapshot = tmp_path / "hf" / "hub" / "models--org--chatml" / "snapshots" / commit
    links = {path.name: os.readlink(path) for path in snapshot.iterdir()}
    diff = eos_guard("hf://org/chatml", "--diff")
    assert diff.returncode == 1 and f"+++ b/org/chatml@{commit}/config.json\n" in diff.stdout, diff.stderr
    assert {path.name: os.readlink(path) for path in snapshot.iterdir()} == links  # nothing written
    clone = tmp_path / "clone"  # the repository's files at the commit, as a clone holds them
    clone.mkdir()
    for name, content in REPOS["org/chatml"].revisions["main"].items():
        (clone / name).write_bytes(content)
    subprocess.run(["git", "init", "-q"], cwd=clone, check=True)
    applied = subprocess.run(["git", "apply", "-p3"], cwd=clone, input=diff.stdout, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    assert {name: (clone / name).read_text(encoding="utf-8") for name in changes} == changes
    fixed = eos_guard("--format", "concise", "clone")
    assert fixed.returncode == 0 and " EOS001 " not in fixed.stdout, fixed.stdout


@pytest.mark.parametrize(("repo", "pinned"), [("org/chatml", False), ("org/both", False), ("org/chatml", True)],
                         ids=["branch", "lfs-tokenizer", "commit-sha"])
def test_a_cold_cache_costs_the_requests_hub_md_lists(eos_guard, hub, repo, pinned):
    """hub.md's table, cold cache: "3: the revision (none for a commit sha), the file listing eos-guard reads the
    sizes from, the listing `snapshot_download` makes (and saves)", then "2 per file (`HEAD` for its metadata,
    `GET` for its bytes)", and nothing else. org/both's tokenizer.json is in LFS: its GET goes to the CDN the HEAD
    was redirected to. The files each repository fetches all differ in bytes (a file whose bytes another one
    already brought costs its HEAD only: the next test)."""
    commit = sha(repo)
    proc = eos_guard(f"hf://{repo}@{commit}" if pinned else f"hf://{repo}")
    assert proc.returncode in (0, 1), proc.stderr
    api = ([] if pinned else [f"GET /api/models/{repo}"]) + [
        f"GET /api/models/{repo}/revision/{commit}", f"GET /api/models/{repo}/tree/{commit}"]
    assert [line.split("?")[0] for line in hub.log[:len(api)]] == api, hub.log  # in this order
    fetched = ["config.json", "generation_config.json", "tokenizer_config.json"]
    files = [f"HEAD /{repo}/resolve/{commit}/{name}" for name in fetched]
    files += [f"GET /{repo}/resolve/{commit}/{name}" for name in fetched]
    if repo == "org/both":
        files += [f"HEAD /{repo}/resolve/{commit}/tokenizer.json",
                  f"GET /{lfs_oid('tokenizer.json', REPOS[repo].revisions['main']['tokenizer.json'])}"]
    assert sorted(hub.log[len(api):]) == sorted(files)


def test_a_file_whose_bytes_another_brought_costs_its_head_only(eos_guard, hub):
    """hub.md's table (helper-122: it said 2 per file): org/fixed's additional_chat_templates/tool_use.jinja has
    chat_template.jinja's bytes; huggingface_hub keeps blobs by content, so it asks for its metadata only."""
    commit = sha("org/fixed")
    assert eos_guard("hf://org/fixed").returncode == 0
    resolve = f"/org/fixed/resolve/{commit}/"
    heads = {line.split(resolve, 1)[1] for line in hub.log if line.startswith(f"HEAD {resolve}")}
    gets = {line.split(resolve, 1)[1] for line in hub.log if line.startswith(f"GET {resolve}")}
    templates = {"chat_template.jinja", "additional_chat_templates/tool_use.jinja"}
    assert templates <= heads
    # the files are fetched on parallel threads: whichever comes first brings the bytes (CI saw either)
    assert len(templates & gets) == 1, hub.log


def test_a_warm_cache_costs_one_request(eos_guard, hub):
    """A commit's file listing never changes: snapshot_download saves it in the cache, and a warm run reads it there
    instead of listing the files again (it cost 2 requests a repository, hub.md said 1)."""
    cold = eos_guard("hf://org/fixed")
    requests = len(hub.log)
    warm = eos_guard("hf://org/fixed")
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    assert hub.log[requests:] == ["GET /api/models/org/fixed"]  # the revision; nothing else
    pinned = eos_guard(f"hf://org/fixed@{sha('org/fixed')}")  # a commit sha needs no resolving
    assert (pinned.returncode, pinned.stdout) == (cold.returncode, cold.stdout)
    assert len(hub.log) == requests + 1


def test_an_unreachable_hub_checks_a_complete_cached_snapshot(eos_guard, tmp_path):
    """hub.md: when the Hub cannot be reached, a revision in the cache is checked from the cache. The file listing
    was always asked for, retried for ~25 s, and the run ended with "ConnectError: [Errno 111] Connection refused"."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    commit = sha("org/chatml")
    online = eos_guard("hf://org/chatml")
    for name in ("hf://org/chatml", f"hf://org/chatml@{commit}"):
        start = time.monotonic()
        proc = eos_guard(name, HF_ENDPOINT=closed)
        assert time.monotonic() - start < 10
        assert (proc.returncode, proc.stdout) == (online.returncode, online.stdout), proc.stderr
    # the branch was resolved from the cache, which huggingface_hub says (it may have moved on the Hub since)
    assert "Using cached commit hash for 'org/chatml'" in eos_guard("hf://org/chatml", HF_ENDPOINT=closed).stderr
    # a snapshot that lacks a file its cached listing has is not complete: never checked without it
    repo = tmp_path / "hf" / "hub" / "models--org--chatml"
    (repo / "snapshots" / commit / "generation_config.json").unlink()
    unreachable = (f"eos-guard: hf://org/chatml@{commit}: cannot reach {closed}, and the files are not in the local "
                   "cache: ")
    start = time.monotonic()
    proc = eos_guard(f"hf://org/chatml@{commit}", HF_ENDPOINT=closed)
    assert (proc.returncode, proc.stderr.startswith(unreachable), proc.stderr.count("\n")) == (2, True, 1), proc.stderr
    assert time.monotonic() - start < 10
    # nor is a snapshot whose listing the cache does not hold (transformers' downloads save none)
    eos_guard("hf://org/chatml")
    shutil.rmtree(repo / "trees")
    proc = eos_guard(f"hf://org/chatml@{commit}", HF_ENDPOINT=closed)
    assert (proc.returncode, proc.stderr.startswith(unreachable), proc.stderr.count("\n")) == (2, True, 1), proc.stderr
    assert time.monotonic() - start < 10


class FailingHub:
    """A Hub that answers every request with a server error (a 503 of an outage): its requests are logged."""

    def __init__(self, status: int = 503) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        log = self.log = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                log.append(f"{self.command} {self.path}")
                body = b'{"error": "Service Unavailable"}' if self.command == "GET" else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> FailingHub:
        import threading

        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_a_hub_answering_5xx_checks_a_complete_cached_snapshot(eos_guard):
    """hub.md: "When the Hub cannot be reached (network down, 5xx), a revision already in the cache is checked from
    the cache, without a request after the one that failed (and without any for `hf://org/name@<sha>`)";
    huggingface_hub says it used the cached commit on stderr, and for a commit sha "nothing differs from a warm
    run"."""
    commit = sha("org/chatml")
    online = eos_guard("hf://org/chatml")
    assert online.returncode == 1, online.stderr
    with FailingHub(503) as down:
        proc = eos_guard("hf://org/chatml", HF_ENDPOINT=down.url)
        assert (proc.returncode, proc.stdout) == (online.returncode, online.stdout), proc.stderr
        assert "503 Service Unavailable" in proc.stderr and "Using cached commit hash for 'org/chatml'" in proc.stderr
        assert down.log == ["GET /api/models/org/chatml"]  # the revision, which failed; nothing after it
        proc = eos_guard(f"hf://org/chatml@{commit}", HF_ENDPOINT=down.url)
        assert (proc.returncode, proc.stdout, proc.stderr) == (online.returncode, online.stdout, "")
        assert down.log == ["GET /api/models/org/chatml"]


def test_offline_mode_uses_the_cache(eos_guard, hub, tmp_path):
    online = eos_guard("hf://org/chatml")
    requests = len(hub.log)
    offline = eos_guard("hf://org/chatml", HF_HUB_OFFLINE="1")
    assert (offline.returncode, offline.stdout) == (online.returncode, online.stdout)
    assert len(hub.log) == requests
    uncached = eos_guard("hf://org/fixed", HF_HUB_OFFLINE="1")
    assert (uncached.returncode, uncached.stderr) == (
        2, "eos-guard: hf://org/fixed: not in the local cache, and HF_HUB_OFFLINE is set\n")
    # the commit's saved listing names a file the snapshot lacks: an error, not a check without it
    snapshot = tmp_path / "hf" / "hub" / "models--org--chatml" / "snapshots" / sha("org/chatml")
    (snapshot / "generation_config.json").unlink()
    partial = eos_guard("hf://org/chatml", HF_HUB_OFFLINE="1")
    assert (partial.returncode, partial.stderr) == (
        2, "eos-guard: hf://org/chatml: not in the local cache, and HF_HUB_OFFLINE is set\n")


def test_offline_a_snapshot_without_a_saved_listing_is_checked_with_its_files(eos_guard, hub, tmp_path):
    """hub.md: "A snapshot whose listing the cache does not hold (transformers' `from_pretrained` downloads files
    one by one and saves none) is checked offline with the files it holds": the same findings as online, in text
    and JSON, with no request."""
    online = [eos_guard(*args, "hf://org/chatml") for args in ((), ("--format", "json"))]
    assert online[0].returncode == 1 and " EOS001 " in online[0].stdout, online[0].stderr
    repo = tmp_path / "hf" / "hub" / "models--org--chatml"
    assert (repo / "trees" / f"{sha('org/chatml')}.json").is_file()  # the listing snapshot_download saved
    shutil.rmtree(repo / "trees")
    requests = len(hub.log)
    for args, checked in zip(((), ("--format", "json")), online):
        offline = eos_guard(*args, "hf://org/chatml", HF_HUB_OFFLINE="1")
        assert (offline.returncode, offline.stdout, offline.stderr) == (checked.returncode, checked.stdout, "")
    assert len(hub.log) == requests


def test_unreachable_hub(eos_guard):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    proc = eos_guard("hf://org/chatml", HF_ENDPOINT=closed)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"eos-guard: hf://org/chatml: cannot reach {closed}, and the files are not in the "
                                  "local cache: ")
    assert proc.stderr.count("\n") == 1


# eos-guard is not on PyPI: the hint names what pip can install, and the extra only for a checkout
INSTALL = ("checking Hub repositories needs huggingface_hub: pip install 'huggingface_hub>=1.26' "
           "(in an eos-guard checkout: pip install -e '.[hub]')")


def test_without_huggingface_hub(eos_guard, tmp_path):
    shadow = tmp_path / "shadow" / "huggingface_hub"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'huggingface_hub'\")\n")
    path = f"{shadow.parent}{os.pathsep}{ROOT}"
    proc = eos_guard("hf://org/chatml", PYTHONPATH=path)
    assert (proc.returncode, proc.stderr) == (2, f"eos-guard: hf://org/chatml: {INSTALL}\n")
    # the repository is its own error; a local PATH next to it is still checked (docs/usage.md)
    shutil.copytree(ROOT / "examples" / "chatml-finetune-broken", tmp_path / "local")
    proc = eos_guard("--format", "concise", "hf://org/chatml", "local", PYTHONPATH=path)
    assert proc.returncode == 2 and "local/generation_config.json:3:19: EOS001 error" in proc.stdout, proc.stdout
    (tmp_path / "list.txt").write_text("org/chatml\n")
    proc = eos_guard("--hub-list", "list.txt", PYTHONPATH=path)
    assert proc.stderr == f"eos-guard: --hub-list: {INSTALL}\n"


def test_blob_url_of_a_fetched_file(eos_guard, hub):
    code = ("from pathlib import Path\nfrom eos_guard.config import Config\nfrom eos_guard.hub import blob_url, fetch\n"
            "from eos_guard.sources import HubRef\nfolder = fetch(HubRef('org/chatml'), Config())\n"
            "print(blob_url(folder / 'generation_config.json', 3))\nprint(blob_url(Path('config.json'), 3))\n")
    proc = eos_guard(code=code)
    assert proc.stdout.splitlines() == [f"{hub.url}/org/chatml/blob/{sha('org/chatml')}/generation_config.json#L3",
                                        "None"], proc.stderr


AUDIT = "# repositories to audit\norg/fixed\norg/chatml\n\norg/missing\norg/private\norg/tagged@v9\norg/malformed\n" \
        "org/tagged@v1.0\n"


def table(stdout: str) -> dict[str, list[str]]:
    """The --hub-list table's rows by repository: commit, verdict, errors, warnings, detail."""
    lines = stdout[stdout.index("\nrepository "):].strip().splitlines()
    return {line.split()[0]: line.split(None, 5)[1:] for line in lines[1:-1]}


def test_hub_list_keeps_partial_results_and_reports_every_failure(eos_guard, hub, tmp_path):
    (tmp_path / "list.txt").write_text(AUDIT)
    proc = eos_guard("--hub-list", "list.txt")
    assert proc.returncode == 2
    assert f"org/chatml@{sha('org/chatml')}/generation_config.json:3:19: EOS001 " in proc.stdout
    assert f"org/tagged@{sha('org/tagged', 'v1.0')}/generation_config.json:3:19: EOS001 " in proc.stdout
    rows = table(proc.stdout)
    assert list(rows) == ["org/fixed", "org/chatml", "org/missing", "org/private", "org/tagged@v9", "org/malformed",
                          "org/tagged@v1.0"]
    assert rows["org/fixed"] == [sha("org/fixed")[:12], "pass", "0", "0"]
    assert rows["org/chatml"] == [sha("org/chatml")[:12], "fail", "1", "2"]
    assert rows["org/tagged@v9"] == ["-", "error", "-", "-", "revision 'v9' not found"]
    assert rows["org/malformed"][:4] == [sha("org/malformed")[:12], "error", "-", "-"]
    assert proc.stdout.endswith("Audited 7 repositories: 1 pass, 2 fail, 4 error.\n")
    not_found = f"repository not found on {hub.url} (if it is private or gated, set HF_TOKEN)"
    assert proc.stderr.splitlines() == [
        f"eos-guard: hf://org/missing: {not_found}", f"eos-guard: hf://org/private: {not_found}",
        "eos-guard: hf://org/tagged@v9: revision 'v9' not found",
        f"eos-guard: org/malformed@{sha('org/malformed')}/config.json:1:25: cannot parse JSON: Expecting property name "
        "enclosed in double quotes"]

    document = json.loads(eos_guard("--hub-list", "list.txt", "--format", "json").stdout)
    repositories = document["repositories"]
    assert [(r["repo"], r["revision"], r["verdict"]) for r in repositories] == [
        ("org/fixed", None, "pass"), ("org/chatml", None, "fail"), ("org/missing", None, "error"),
        ("org/private", None, "error"), ("org/tagged", "v9", "error"), ("org/malformed", None, "error"),
        ("org/tagged", "v1.0", "fail")]
    assert repositories[1] == {"repo": "org/chatml", "revision": None, "commit": sha("org/chatml"), "verdict": "fail",
                               "errors": 1, "warnings": 2, "infos": 0, "failure": None}
    assert repositories[2]["failure"] == not_found and repositories[2]["errors"] is None
    assert {e["model"] for e in document["errors"]} == {"hf://org/missing", "hf://org/private", "hf://org/tagged@v9",
                                                         f"org/malformed@{sha('org/malformed')}"}
    assert {f["model"] for f in document["findings"]} == {f"org/chatml@{sha('org/chatml')}",
                                                           f"org/tagged@{sha('org/tagged', 'v1.0')}"}
    assert [(m["path"], m["stops"]["transformers"]) for m in document["models"]] == [
        (f"org/fixed@{sha('org/fixed')}", True), (f"org/chatml@{sha('org/chatml')}", False),
        (f"org/tagged@{sha('org/tagged', 'v1.0')}", False)]


def test_hub_list_where_no_repository_can_be_checked_shows_the_table_alone(eos_guard, tmp_path):
    """Every repository failed: the output was "No model folders found." above a table of errors."""
    (tmp_path / "list.txt").write_text("org/missing\norg/tagged@v9\n")
    proc = eos_guard("--hub-list", "list.txt")
    assert proc.returncode == 2 and proc.stdout.startswith("repository ") and "No model folders" not in proc.stdout
    assert proc.stdout.endswith("Audited 2 repositories: 2 error.\n"), proc.stdout


def test_the_closing_line_counts_a_repository_that_cannot_be_fetched_apart(eos_guard):
    """It said "No findings in 1 model folder; 1 cannot be read", as if a folder had been checked."""
    proc = eos_guard("hf://org/missing")
    assert proc.returncode == 2 and proc.stdout == "No model folders checked; 1 Hub repository cannot be fetched.\n"
    proc = eos_guard("hf://org/missing", "hf://org/private", "hf://org/chatml", "hf://org/malformed")
    assert proc.returncode == 2
    assert proc.stdout.endswith("1 of 2 model folders fails (1 error, 2 warnings); 1 cannot be read; "
                                "2 Hub repositories cannot be fetched.\n"), proc.stdout


def test_hub_list_checks_a_commit_once(eos_guard, tmp_path):
    tagged = sha("org/tagged", "v1.0")
    (tmp_path / "list.txt").write_text(f"org/tagged@v1.0\norg/tagged@{tagged}\norg/chatml\norg/chatml@main\n")
    proc = eos_guard("--hub-list", "list.txt")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.count(f"org/tagged@{tagged}/generation_config.json:3:19: EOS001 ") == 1
    assert "2 of 2 model folders fail (2 errors, 4 warnings)." in proc.stdout
    rows = table(proc.stdout)
    assert rows["org/tagged@v1.0"] == rows[f"org/tagged@{tagged}"] == [tagged[:12], "fail", "1", "2"]
    assert rows["org/chatml"] == rows["org/chatml@main"]


def test_hub_list_exit_codes(eos_guard, tmp_path):
    (tmp_path / "list.txt").write_text("org/fixed\norg/chatml\n")
    assert eos_guard("--hub-list", "list.txt").returncode == 1
    assert eos_guard("--hub-list", "list.txt", "--exit-zero").returncode == 0
    assert eos_guard("--hub-list", "list.txt", "--fail-on", "never").returncode == 0
    (tmp_path / "list.txt").write_text("org/fixed\norg/private\n")
    proc = eos_guard("--hub-list", "list.txt", HF_TOKEN=TOKEN)
    assert proc.returncode == 0, proc.stderr
    assert "All checks passed (2 model folders)." in proc.stdout
    assert proc.stdout.endswith("Audited 2 repositories: 2 pass.\n")


def test_hub_list_github_format_and_summary(eos_guard, tmp_path):
    (tmp_path / "list.txt").write_text("org/chatml\norg/missing\n")
    proc = eos_guard("--hub-list", "list.txt", "--summary", "summary.md", GITHUB_ACTIONS="true")
    assert proc.returncode == 2
    assert f"::error file=org/chatml@{sha('org/chatml')}/generation_config.json,line=3,col=19," in proc.stdout
    assert "Audited 2 repositories: 1 fail, 1 error." in proc.stdout
    summary = (tmp_path / "summary.md").read_text()
    assert f"| ` org/chatml ` | {sha('org/chatml')[:12]} | fail | 1 | 2 |  |" in summary
    assert "| ` org/missing ` | - | error | - | - | ` repository not found on " in summary


def test_hub_list_table_forges_no_command_in_the_github_format(eos_guard, tmp_path):
    """The table after the annotations quotes the list's names as given: a name that starts a line with "::" or
    holds "##[" is text there, not a workflow command (docs/security.md)."""
    (tmp_path / "list.txt").write_text("org/chatml\n::error file=README.md,line=1::forged/x\n##[error]forged/y\n")
    proc = eos_guard("--hub-list", "list.txt", GITHUB_ACTIONS="true")
    commands = [line for line in proc.stdout.splitlines() if line.lstrip().startswith("::") or "##[" in line]
    assert commands and all(line.startswith(("::error file=org/chatml@", "::warning file=org/chatml@",
                                             "::error title=eos-guard::hf://")) for line in commands), commands
    assert "\\x3a:error file=README.md,line=1::forged/x" in proc.stdout and "Audited " in proc.stdout


# the audit's own loop, with a line on stdout after each repository's check (the check itself is the real one)
TRACED_AUDIT = """import sys
from eos_guard import audit
check = audit._check
def traced(result, *args):
    check(result, *args)
    print("checked", result.ref.repo, flush=True)
audit._check = traced
from eos_guard.cli import main
sys.exit(main(["--hub-list", "list.txt"]))
"""


def test_each_repository_is_checked_as_soon_as_it_is_fetched(hub, tmp_path):
    """docs/hub.md: "each one is checked as soon as it is fetched". org/slow's files wait at the server until the
    audit has checked org/chatml; an audit that fetched every repository before checking any would check nothing
    until the wait ran out (HOLD_SECONDS) and no request waited any more."""
    (tmp_path / "list.txt").write_text("org/slow\norg/chatml\n")
    release = threading.Event()
    hub.held["/org/slow/resolve/"] = release
    proc = subprocess.Popen([sys.executable, "-c", TRACED_AUDIT], env=_environment(hub, tmp_path), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        slow_waiting = hub.waiting  # org/slow's downloads, still held when org/chatml's check ended
        release.set()
        rest, err = proc.communicate(timeout=120)
    finally:
        release.set()
        proc.kill()
    assert first == "checked org/chatml\n" and slow_waiting > 0, (first, slow_waiting, err)
    assert rest.startswith("checked org/slow\n") and proc.returncode == 1, (rest, err)


def test_hub_list_concurrency_setting(eos_guard, tmp_path):
    (tmp_path / "list.txt").write_text("\n".join(REPOS) + "\n")
    one = eos_guard("--hub-list", "list.txt", EOS_GUARD_HUB_WORKERS="1")
    many = eos_guard("--hub-list", "list.txt", EOS_GUARD_HUB_WORKERS="16")
    assert (one.returncode, table(one.stdout)) == (many.returncode, table(many.stdout))
    proc = eos_guard("--hub-list", "list.txt", EOS_GUARD_HUB_WORKERS="0")
    assert (proc.returncode, proc.stderr) == (2, "eos-guard: EOS_GUARD_HUB_WORKERS must be a positive integer, "
                                                 "not '0'\n")


@pytest.mark.parametrize("text, message", [
    ("org/fixed\n\n  # a comment\nnot-a-repo\n",
     "list.txt:4:1: not-a-repo: not a Hub repository name (expected org/name[@revision])"),
    ("# nothing\n\n", "list.txt: lists no repositories"),
])
def test_hub_list_file_errors(run, tmp_path, text, message):
    (tmp_path / "list.txt").write_text(text)
    assert run("--hub-list", "list.txt") == (2, "", f"eos-guard: {message}\n")


def test_hub_list_missing_file(run):
    code, _, err = run("--hub-list", "nowhere.txt")
    assert code == 2 and err == "eos-guard: nowhere.txt: cannot read file: No such file or directory\n"


@pytest.mark.parametrize("kind", ["fifo", "device", "large"])
def test_hub_list_file_gets_the_checks_model_files_get(run, tmp_path, kind):
    """A FIFO would block and /dev/zero would fill memory: neither is read, nor a file over 16 MiB."""
    path = tmp_path / "list.txt"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "large":
        path.write_text("org/name\n" * (2 * 1024 * 1024), encoding="utf-8")
    else:
        path = "/dev/zero"
    code, out, err = run("--hub-list", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert ("is not a regular file" if kind != "large" else "over the --hub-list limit of 16,777,216") in err


@pytest.mark.parametrize("args, refused", [
    (["models"], "PATH arguments"), (["--fix"], "--fix"), (["--diff"], "--diff"), (["--sarif", "x.sarif"], "--sarif"),
    (["--hub", "org/x", "--format", "sarif"], "--hub, --format sarif"), (["--statistics"], "--statistics"),
    (["explain"], "explain"),
])
def test_hub_list_refuses_options_it_cannot_honour(run, tmp_path, args, refused):
    """docs/hub.md lists them."""
    (tmp_path / "list.txt").write_text("org/fixed\n")
    argv = ["explain", "--hub-list", "list.txt"] if args == ["explain"] else ["--hub-list", "list.txt", *args]
    assert run(*argv) == (2, "", f"eos-guard: --hub-list cannot be combined with {refused}\n")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal():
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress(2, stream)
        progress.advance(failed=False)
        progress.advance(failed=True)
        progress.close()
    assert pipe.getvalue() == ""
    assert terminal.getvalue() == ("\r[------------------------------] 0/2 repositories"
                                   "\r[###############---------------] 1/2 repositories"
                                   "\r[##############################] 2/2 repositories (1 failed)\r\x1b[K")


def test_benchmark_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "hub_audit.py"), "--quick", "--latency", "0",
                           "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| cold cache | 8 |" in proc.stdout and "| offline (HF_HUB_OFFLINE=1) | 8 |" in proc.stdout


def test_github_annotations_link_to_the_file_on_the_hub(eos_guard, hub):
    proc = eos_guard("hf://org/chatml", "--format", "github")
    assert f"add 151645 ({hub.url}/org/chatml/blob/{sha('org/chatml')}/generation_config.json#L3)" in proc.stdout


def test_one_unreachable_repository_does_not_stop_the_others(eos_guard):
    proc = eos_guard("hf://org/chatml", "hf://org/does-not-exist", "hf://org/gone@v2", "--format", "json")
    assert proc.returncode == 2 and "hf://org/does-not-exist" in proc.stderr
    document = json.loads(proc.stdout)
    assert any(f["code"] == "EOS001" for f in document["findings"])
    # docs/usage.md: errors[].model is a Hub repository's org/name[@rev] without hf:// (--hub-list's keeps it)
    assert sorted(e["model"] for e in document["errors"]) == ["org/does-not-exist", "org/gone@v2"]


def test_a_listed_file_over_its_size_limit_is_never_downloaded(eos_guard, hub):
    """The tree listing gives every file's size: files over their limit are EOS018 and never requested."""
    proc = eos_guard("--format", "json", "hf://org/huge")
    commit = sha("org/huge")
    not_read = {f["path"]: f["message"] for f in json.loads(proc.stdout)["findings"] if f["code"] == "EOS018"}
    assert not_read == {
        f"org/huge@{commit}/tokenizer.json":
            "tokenizer.json is 314,572,800 bytes on the Hub, over the max-file-size limit of 104,857,600; not downloaded",
        f"org/huge@{commit}/additional_chat_templates/tool_use.jinja":
            "tool_use.jinja is 5,242,880 bytes on the Hub, over the max-config-size limit of 4,194,304; not downloaded"}
    assert proc.returncode == 1, proc.stderr
    for name in ("tokenizer.json", "tool_use.jinja", lfs_oid("tokenizer.json", 300 * 1024 * 1024)):
        assert not hub.requests_for(name)
    assert hub.requests_for(f"GET /org/huge/resolve/{commit}/config.json")  # the small files still are


def test_only_the_templates_a_check_reads_are_downloaded(eos_guard, hub, tmp_path):
    """A check reads at most MAX_TEMPLATES templates (chat_template.jinja, then additional_chat_templates/*.jinja by
    name; one over its limit does not count): only those are downloaded. Every one was, so a repository with 2,000
    templates cost 2,001 requests. The others are EOS018 as in a local folder, without being downloaded."""
    proc = eos_guard("--format", "json", "hf://org/many-templates")
    assert proc.returncode == 1, proc.stderr  # EOS018 is an error
    commit = sha("org/many-templates")
    fetched = {line.rsplit("/", 1)[1] for line in hub.requests_for(f"HEAD /org/many-templates/resolve/{commit}/")
               if line.endswith(".jinja")}
    assert fetched == {"chat_template.jinja", *(f"t{i:02d}.jinja" for i in range(15))}
    assert not hub.requests_for("a_huge.jinja") and not hub.requests_for("t15.jinja")
    not_read = {f["path"].rsplit("/", 1)[1]: f["message"] for f in json.loads(proc.stdout)["findings"]
                if f["code"] == "EOS018"}
    assert not_read.pop("a_huge.jinja").endswith("over the max-config-size limit of 4,194,304; not downloaded")
    assert not_read == {name: f"{name} not read: eos-guard checks at most 16 chat templates per folder, each one "
                              "costing its renders; not downloaded"
                        for name in (*(f"t{i:02d}.jinja" for i in range(15, 20)), "tool_use.jinja")}
    # the same templates in a local folder: the same ones are not read
    local = tmp_path / "local"
    for name, content in REPOS["org/many-templates"].revisions["main"].items():
        if isinstance(content, bytes):
            (local / name).parent.mkdir(parents=True, exist_ok=True)
            (local / name).write_bytes(content)
    findings = json.loads(eos_guard("--format", "json", "local").stdout)["findings"]
    assert {f["path"].rsplit("/", 1)[1] for f in findings if f["code"] == "EOS018"} == set(not_read)


def test_an_adapter_on_the_hub_is_checked_as_one(eos_guard, hub):
    """adapter_config.json was not fetched, so an adapter checked as hf://org/name was a folder without configs
    (EOS017) where the same files checked locally give EOS027, which names the base model to check."""
    proc = eos_guard("--format", "concise", "hf://org/lora")
    assert proc.returncode == 0 and ": EOS027 info: a PEFT adapter: generation takes its stop ids from its base " \
        "model 'Qwen/Qwen2.5-3B'" in proc.stdout and "EOS017" not in proc.stdout, proc.stdout + proc.stderr
    assert hub.requests_for(f"GET /org/lora/resolve/{sha('org/lora')}/adapter_config.json")


def test_an_axolotl_adapter_and_a_gguf_repository_on_the_hub_are_checked_as_on_disk(eos_guard, hub):
    """helper-171: the snapshot downloads no weights and no GGUF files, so an adapter holding its base model's
    config.json read as a model folder (EOS001 from that copy), and TheBloke's stub config.json as a model's
    (EOS004); the commit's listing shows them, as a local folder's does."""
    proc = eos_guard("--format", "concise", "hf://org/axolotl-lora")
    assert proc.returncode == 0 and ": EOS027 info: a PEFT adapter: " in proc.stdout and "EOS001" not in proc.stdout, \
        proc.stdout + proc.stderr
    proc = eos_guard("--format", "concise", "hf://org/stub-gguf")
    assert proc.returncode == 0 and "EOS004" not in proc.stdout, proc.stdout + proc.stderr


def test_an_embedding_model_on_the_hub_is_checked_as_one(eos_guard, hub):
    """modules.json was not fetched, so a sentence-transformers model checked as hf://org/name got the rules about
    stopping (EOS001 here) that the same files checked locally do not get."""
    proc = eos_guard("--format", "concise", "hf://org/embedder")
    assert proc.returncode == 0 and "EOS001" not in proc.stdout, proc.stdout + proc.stderr
    assert hub.requests_for(f"GET /org/embedder/resolve/{sha('org/embedder')}/modules.json")
    assert eos_guard("--format", "concise", "hf://org/chatml").returncode == 1  # the same files without it


def test_the_hub_page_s_table_is_what_an_audit_prints(eos_guard, hub, tmp_path):
    """docs/hub.md's --hub-list table, row for row and column for column, for the same four repositories served by
    the stand-in (its address in place of https://huggingface.co)."""
    page = (ROOT / "docs" / "hub.md").read_text(encoding="utf-8")
    sample = page.split("reason, in the table and on stderr, and the others are still checked:\n\n```\n", 1)[1]
    sample = sample.split("```", 1)[0]
    (tmp_path / "list.txt").write_text("".join(line.split()[0] + "\n" for line in sample.splitlines()[1:-1]))
    proc = eos_guard("--hub-list", "list.txt", "--format", "text")
    assert proc.returncode == 2
    printed = proc.stdout[proc.stdout.index("repository "):].replace(hub.url, "https://huggingface.co")
    assert printed == sample
