"""A local stand-in for the Hugging Face Hub, for the real huggingface_hub client (tests and bench/hub_audit.py).

It answers the requests huggingface_hub 2.x makes for ``HfApi.resolve_revision`` and ``snapshot_download``:

- ``GET /api/models/{org}/{name}[/revision/{rev}]``: the repo info (``id``, ``sha``, ``siblings``; with ``?blobs=true``,
  each sibling's ``size``, ``blobId`` and, for an LFS file, ``lfs``, as ``model_info(files_metadata=True)`` asks);
- ``GET /api/models/{org}/{name}/tree/{rev}``: the recursive file listing (``type``, ``path``, ``size``, ``oid``, and
  ``lfs`` for LFS files);
- ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{path}``: a git-stored file answers 200 with ``X-Repo-Commit``, ``ETag``
  (its git blob id) and ``Content-Length``; an LFS-stored file answers 302 to a second server on another port (the
  CDN, like cdn-lfs.hf.co) with ``X-Linked-Etag`` (its sha256) and ``X-Linked-Size``, so the client takes the metadata
  from the redirect and downloads from the CDN without the token;
- errors as the Hub sends them: ``X-Error-Code: RepoNotFound`` (404, or 401 for a private repo without the token),
  ``RevisionNotFound``, ``GatedRepo``, and 429 with ``Retry-After`` for the first requests under a throttled prefix.

Every request line is logged (``HubServer.log``). A proxied request (absolute URL or CONNECT) is logged too: pointing
HTTP(S)_PROXY at this server turns it into a tripwire for requests that leave 127.0.0.1. The servers bind to
127.0.0.1 on free ports, run in daemon threads, and shut themselves down after ``lifetime`` seconds.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

GB = 1024 ** 3
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "chatml-finetune-broken"
LFS_POINTER_SIZE = 134
HOLD_SECONDS = 30  # how long a held answer waits at most (HubServer.held)
# A file's content, or only its size: a large file that is listed (with its LFS metadata) but has no content here.
Content = bytes | int


@dataclass
class Repo:
    """A repository: its files at each revision (branch or tag name), and who may read it."""

    revisions: dict[str, dict[str, Content]]
    private: bool = False
    gated: bool = False
    lfs: frozenset[str] = frozenset({"tokenizer.json"})  # stored in LFS (sizes-only files always are)
    _shas: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)  # (repo id, revision) -> sha

    @classmethod
    def of(cls, files: dict[str, Content], **kwargs) -> Repo:
        return cls({"main": files}, **kwargs)

    def commit(self, repo_id: str, revision: str) -> tuple[str, dict[str, Content]] | None:
        """The commit sha and files of a branch, tag or commit sha."""
        for name, files in self.revisions.items():
            key = (repo_id, name)
            sha = self._shas.get(key) or self._shas.setdefault(key, commit_sha(repo_id, files))
            if revision in (name, sha):
                return sha, files
        return None


def commit_sha(repo_id: str, files: dict[str, Content]) -> str:
    return hashlib.sha1(repr((repo_id, sorted(files.items()))).encode()).hexdigest()


@functools.cache  # templates share their contents: each is hashed once
def blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@functools.cache
def lfs_oid(path: str, content: Content) -> str:
    return hashlib.sha256(content if isinstance(content, bytes) else f"{path}:{content}".encode()).hexdigest()


@dataclass
class HubServer:
    repos: dict[str, Repo]
    token: str = "hf_test_token"
    throttle: dict[str, int] = field(default_factory=dict)  # path prefix -> how many first requests get a 429
    retry_after: int = 1
    latency: float = 0.0  # seconds each answer waits, as a network round trip to the real Hub would
    lifetime: float = 300.0
    log: list[str] = field(default_factory=list)  # "METHOD target", in arrival order
    # path prefix -> an event the answers to its requests wait for (up to ``HOLD_SECONDS``), as a slow download would
    held: dict[str, threading.Event] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[str, bytes] = {}
        self._waiting_now = 0
        self._servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, cdn=cdn)) for cdn in (False, True)]
        for server in self._servers:
            server.daemon_threads = True
            server.request_queue_size = 128  # the audit opens a few connections per worker at once

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_port}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_port}"

    def __enter__(self) -> HubServer:
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        self.stop()

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def requests_for(self, text: str) -> list[str]:
        with self._lock:
            return [line for line in self.log if text in line]

    def _record(self, method: str, target: str) -> None:
        with self._lock:
            self.log.append(f"{method} {target}")

    @property
    def waiting(self) -> int:
        """How many requests are waiting now (``held``)."""
        with self._lock:
            return self._waiting_now

    def _waiting(self, change: int) -> None:
        with self._lock:
            self._waiting_now += change

    def _throttled(self, path: str) -> bool:
        with self._lock:
            for prefix, left in self.throttle.items():
                if path.startswith(prefix) and left > 0:
                    self.throttle[prefix] = left - 1
                    return True
        return False

    def _store_blob(self, oid: str, content: bytes) -> None:
        with self._lock:
            self._blobs[oid] = content

    def _blob(self, oid: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(oid)


def _handler(hub: HubServer, cdn: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects

        def log_message(self, format: str, *args: object) -> None:  # the request log replaces stderr lines
            pass

        def do_CONNECT(self) -> None:
            hub._record("CONNECT", self.path)
            self._send(502, b"", {})

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            hub._record(self.command, self.path)
            time.sleep(hub.latency)
            for prefix, event in list(hub.held.items()):
                if self.path.startswith(prefix):
                    hub._waiting(+1)
                    event.wait(HOLD_SECONDS)
                    hub._waiting(-1)
            if not self.path.startswith("/"):  # a proxied request: it was meant for another host
                self._send(502, b"", {}, head)
                return
            path = urlsplit(self.path).path
            if hub._throttled(path):
                self._error(429, "RateLimited", "Too many requests", head, {"Retry-After": str(hub.retry_after)})
            elif cdn:
                self._cdn(path, head)
            elif path.startswith("/api/models/"):
                blobs = "blobs=true" in urlsplit(self.path).query.lower().split("&")
                self._api(path[len("/api/models/"):].split("/"), head, blobs)
            else:
                self._resolve(path.lstrip("/").split("/"), head)

        def _authorized(self) -> bool:
            return self.headers.get("Authorization") == f"Bearer {hub.token}"

        def _repo(self, parts: list[str], head: bool) -> Repo | None:
            repo = hub.repos.get("/".join(parts[:2]))
            if repo is None or (repo.private and not self._authorized()):
                status = 401 if repo is not None or not self._authorized() else 404
                self._error(status, "RepoNotFound", "Repository not found", head)
                return None
            return repo

        def _commit(self, parts: list[str], repo: Repo, head: bool) -> tuple[str, dict[str, Content]] | None:
            found = repo.commit("/".join(parts[:2]), unquote(parts[3]) if len(parts) > 3 else "main")
            if found is None:
                self._error(404, "RevisionNotFound", "Invalid rev id", head)
            return found

        def _api(self, parts: list[str], head: bool, blobs: bool = False) -> None:
            repo = self._repo(parts, head)
            if repo is None:
                return
            found = self._commit(parts, repo, head)
            if found is None:
                return
            sha, files = found
            if parts[2:3] == ["tree"]:
                self._json(_tree(repo, files), head)
            else:
                self._json({"_id": sha[:24], "id": "/".join(parts[:2]), "modelId": "/".join(parts[:2]), "sha": sha,
                            "private": repo.private, "gated": "manual" if repo.gated else False, "disabled": False,
                            "tags": [], "siblings": _siblings(repo, files, blobs)}, head)

        def _resolve(self, parts: list[str], head: bool) -> None:
            if len(parts) < 5 or parts[2] != "resolve":
                self._error(404, "EntryNotFound", "Not found", head)
                return
            repo = self._repo(parts, head)
            if repo is None:
                return
            if repo.gated and not self._authorized():
                self._error(401, "GatedRepo", "Access to this model is restricted", head)
                return
            found = self._commit(parts, repo, head)
            if found is None:
                return
            sha, files = found
            name = unquote("/".join(parts[4:]))
            if name not in files:
                self._error(404, "EntryNotFound", "Entry not found", head, {"X-Repo-Commit": sha})
                return
            content = files[name]
            if name in repo.lfs or isinstance(content, int):
                oid = lfs_oid(name, content)
                if isinstance(content, bytes):
                    hub._store_blob(oid, content)
                size = content if isinstance(content, int) else len(content)
                self._send(302, b"", {"Location": f"{hub.cdn_url}/{oid}", "X-Repo-Commit": sha,
                                      "X-Linked-Etag": f'"{oid}"', "X-Linked-Size": str(size),
                                      "ETag": f'"{blob_id(_pointer(oid, size))}"'}, head)
                return
            self._send(200, content, {"X-Repo-Commit": sha, "ETag": f'"{blob_id(content)}"'}, head)

        def _cdn(self, path: str, head: bool) -> None:
            content = hub._blob(path.lstrip("/"))
            if content is None:
                self._send(404, b"", {}, head)
            else:
                self._send(200, content, {"ETag": f'"{path.lstrip("/")}"'}, head)

        def _json(self, data: object, head: bool) -> None:
            self._send(200, json.dumps(data).encode(), {"Content-Type": "application/json"}, head)

        def _error(self, status: int, code: str, message: str, head: bool,
                   extra: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps({"error": message}).encode(),
                       {"Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": message,
                        **(extra or {})}, head)

        def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool = False) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

    return Handler


def _pointer(oid: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def _siblings(repo: Repo, files: dict[str, Content], blobs: bool) -> list[dict]:
    """The repo info's files: names only, or with the metadata ``blobs=true`` asks for (as the tree listing's)."""
    if not blobs:
        return [{"rfilename": name} for name in sorted(files)]
    siblings = []
    for entry in _tree(repo, files):
        if entry["type"] == "file":
            sibling = {"rfilename": entry["path"], "size": entry["size"], "blobId": entry["oid"]}
            if "lfs" in entry:
                sibling["lfs"] = {"sha256": entry["lfs"]["oid"], "size": entry["lfs"]["size"],
                                  "pointerSize": entry["lfs"]["pointerSize"]}
            siblings.append(sibling)
    return siblings


def _tree(repo: Repo, files: dict[str, Content]) -> list[dict]:
    entries: list[dict] = []
    folders = sorted({name.rsplit("/", 1)[0] for name in files if "/" in name})
    for folder in folders:
        entries.append({"type": "directory", "oid": hashlib.sha1(folder.encode()).hexdigest(), "size": 0,
                        "path": folder})
    for name, content in sorted(files.items()):
        size = content if isinstance(content, int) else len(content)
        if name in repo.lfs or isinstance(content, int):
            oid = lfs_oid(name, content)
            entries.append({"type": "file", "oid": blob_id(_pointer(oid, size)), "size": size, "path": name,
                            "lfs": {"oid": oid, "size": size, "pointerSize": LFS_POINTER_SIZE}})
        else:
            entries.append({"type": "file", "oid": blob_id(content), "size": size, "path": name})
    return entries


def chatml(fixed: bool = False, generation_config: bool = True, tokenizer: bool = False, jinja: bool = False,
           weights: bool = False) -> dict[str, Content]:
    """The bundled ChatML fine-tune (examples/chatml-finetune-broken, EOS001 at generation_config.json:3:19), or its
    fixed version; optionally without generation_config.json, with a tokenizer.json (stored in LFS), with the
    template in chat_template.jinja and additional_chat_templates/, or listing 10 GB of weights and other files
    eos-guard must never download."""
    files: dict[str, Content] = {path.name: path.read_bytes() for path in sorted(EXAMPLE.glob("*.json"))}
    if fixed:
        files["config.json"] = files["config.json"].replace(b'"eos_token_id": 151643', b'"eos_token_id": 151645')
        files["generation_config.json"] = files["generation_config.json"].replace(
            b'"eos_token_id": 151643', b'"eos_token_id": [151643, 151645]')
    if not generation_config:
        del files["generation_config.json"]
    if tokenizer:
        files["tokenizer.json"] = _tokenizer_json()
    if jinja:
        template = json.loads(files["tokenizer_config.json"])["chat_template"].encode()
        files["chat_template.jinja"] = template
        files["additional_chat_templates/tool_use.jinja"] = template
    if weights:
        files["model.safetensors"] = 10 * GB
        files["model.safetensors.index.json"] = b'{"weight_map": {"lm_head.weight": "model.safetensors"}}\n'
        files["README.md"] = b"# a model\n"
        files["additional_chat_templates/old/unused.jinja"] = b"not a template eos-guard reads"
    return files


@functools.lru_cache(maxsize=1)
def _tokenizer_json() -> bytes:
    """A Qwen-sized tokenizer.json (2 MB): a 151,643-entry vocabulary, then the three ChatML special tokens."""
    added = [{"id": 151643 + i, "content": token, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for i, token in enumerate(("<|endoftext|>", "<|im_start|>", "<|im_end|>"))]
    vocab = {f"t{i}": i for i in range(151643)}
    return json.dumps({"version": "1.0", "added_tokens": added,
                       "model": {"type": "BPE", "vocab": vocab, "merges": []}}).encode()
