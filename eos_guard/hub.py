"""Hugging Face Hub repositories as a source: fetch only the small files eos-guard reads into a local snapshot,
which the pipeline then checks like any model folder (audit.py runs ``--hub-list`` on top of this).

huggingface_hub (the ``hub`` extra of pyproject.toml) is imported here only, and only when a Hub repository is named. It
honours HF_ENDPOINT, HF_TOKEN, HF_HOME / HF_HUB_CACHE and HF_HUB_OFFLINE. A fetched snapshot is shown as
``org/name@<commit sha>`` and linked to its web page (errors.register_alias), so findings name the exact commit
that was checked and a finding's Location links to the file without reporters knowing about the Hub.
"""

from __future__ import annotations

import glob
import re
import time
from pathlib import Path

from .config_types import Config
from .errors import InputError, register_alias, shown, web_address
from .model_files import (CHECKED_FILES, MAX_TEMPLATES, MERGES_FILE, TEMPLATE_DIR, TEMPLATE_FILE, TOO_MANY_TEMPLATES,
                          VOCAB_FILE, VOCABULARY_FILES, record_not_fetched, size_limit, vocabulary_file_read)
from .sources import HubRef

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable

# adapter_config.json: a PEFT adapter's base model (EOS027); modules.json: an embedding model (ModelFiles.not_generating);
# genai_config.json: an ONNX Runtime GenAI export (EOS029)
READ_NAMES = tuple(name for name in CHECKED_FILES if name not in VOCABULARY_FILES)
# a folder without tokenizer.json: its vocabulary from a SentencePiece tokenizer.model, else vocab.json and merges.txt
# (ModelFiles picks); fetched only from a repository that has no tokenizer.json
WITHOUT_TOKENIZER_JSON = VOCABULARY_FILES
# offline without a listing: what the cache holds of these
READ_PATTERNS = [*READ_NAMES, *WITHOUT_TOKENIZER_JSON, f"{TEMPLATE_DIR}/*.jinja"]
SKIP_PATTERNS = [f"{TEMPLATE_DIR}/*/*"]  # fnmatch's * crosses "/", but only direct children are templates
FILE_WORKERS = 4  # parallel file downloads inside one repository; a repository has at most a few files to fetch
# Resolving the revision and listing the files (model_info) are the requests huggingface_hub sends without retrying
# on 429; its own tree listing and file requests already back off on 429 themselves, so only those two are retried.
RETRIES = 5
BACKOFF_SECONDS = 1.0
MAX_WAIT_SECONDS = 60.0
COMMIT_ID = re.compile("[0-9a-f]{40}")  # a git commit id, as the Hub resolves every revision to
# eos-guard is not on PyPI yet: 'eos-guard[hub]' would install nothing, or whatever someone published under the name
INSTALL_HINT = ("checking Hub repositories needs huggingface_hub: pip install 'huggingface_hub>=1.26' "
                "(in an eos-guard checkout: pip install -e '.[hub]')")


class HubError(InputError):
    """A repository that cannot be fetched, reported as ``hf://org/name[@rev]: reason`` (exit code 2)."""

    def __init__(self, ref: HubRef, reason: str) -> None:
        super().__init__(None, f"hf://{ref.label}: {reason}")
        self.reason = reason


def fetch(ref: HubRef, config: Config) -> Path:
    """The local snapshot folder of ``ref``, holding only the files eos-guard reads, downloaded or from the cache.

    ``config`` gives the size limits: a file over its limit is not downloaded.
    """
    folder = download(ref, config)
    register(ref, folder)
    return folder


def download(ref: HubRef, config: Config) -> Path:
    """The snapshot folder (named by its commit sha). Threads may run it: the only state it changes is the record of
    files not fetched (model_files.record_not_fetched, one dictionary entry per folder).

    The commit's file listing gives every file's size first: a file over its limit (``max-file-size`` for
    tokenizer.json, ``max-config-size`` for the others) is never downloaded, nor a template past the ones a folder's
    check reads (MAX_TEMPLATES); both become EOS018 when the folder is read. A commit never changes, so its listing
    is taken from the cache when snapshot_download saved it there: a warm cache then costs the revision's one request
    (none for a commit sha), and a Hub that cannot be reached costs nothing more when every file is cached.
    """
    hub = import_hub(ref)
    # Offline, ask the cache only: trying the network first would only fail, with a warning for each repository.
    offline = hub.constants.is_offline_mode()
    try:
        api = hub.HfApi()
        revision = _retrying(lambda: api.resolve_revision(ref.repo, revision=ref.revision, local_files_only=offline))
        commit = getattr(revision, "resolved", None) or revision
        if not isinstance(commit, str) or not COMMIT_ID.fullmatch(commit):  # it names the snapshot's folder
            raise HubError(ref, f"the Hub answered '{shown(commit)}' for its commit, which is no commit id (40 hex "
                                "digits)")
        listing = _cached_listing(hub, ref, commit)
        selection = _selection(listing, config) if listing is not None else None
        # The cache alone when it holds the commit's listing and every file eos-guard reads in it; offline, also
        # when the listing is not saved (then the files the cache holds are checked).
        local = offline or (selection is not None and all(
            isinstance(hub.try_to_load_from_cache(ref.repo, name, revision=commit), str) for name in selection[0]))
        if not local:  # one request that is not retried when the Hub cannot be reached
            listing = _hub_listing(api, ref, commit)
            selection = _selection(listing, config)
        wanted, not_fetched = selection if selection is not None else (None, {})
        folder = Path(hub.snapshot_download(
            ref.repo, revision=revision, max_workers=FILE_WORKERS, tqdm_class=_quiet_bar(hub), local_files_only=local,
            allow_patterns=READ_PATTERNS if wanted is None else [glob.escape(name) for name in wanted],
            ignore_patterns=SKIP_PATTERNS if wanted is None else None))
    except HubError:
        raise
    except Exception as exc:  # every failure of the client becomes one line naming the repository
        raise HubError(ref, _reason(hub, exc, ref)) from None
    if listing is not None:  # what the listing shows that the snapshot does not hold
        record_not_fetched(folder, not_fetched, (path for path in listing if "/" not in path))
    return folder


def _cached_listing(hub: Any, ref: HubRef, commit: str) -> dict[str, int] | None:
    """Every file of the commit and its size, as snapshot_download saved them in the cache (a commit never changes,
    so neither does its listing); None when it saved none (transformers' per-file downloads save none)."""
    try:
        return {item.path: item.size for item in hub.get_cached_repo_tree(ref.repo, revision=commit)}
    except hub.errors.CachedRepoTreeNotFoundError:
        return None


def _hub_listing(api: Any, ref: HubRef, commit: str) -> dict[str, int]:
    """Every file of the commit and its size, from the Hub in one request: model_info's file metadata, which, unlike
    list_repo_tree, huggingface_hub does not retry for 25 seconds when the Hub cannot be reached."""
    info = _retrying(lambda: api.model_info(ref.repo, revision=commit, files_metadata=True))
    return {item.rfilename: item.lfs.size if item.lfs is not None else item.size for item in info.siblings or ()
            if isinstance(item.size, int)}


def _selection(listing: dict[str, int], config: Config) -> tuple[list[str], dict[str, str]]:
    """The listed files eos-guard reads, and those it does not download with why: over their size limit, or a chat
    template past the MAX_TEMPLATES a folder's check reads, taken in the order ModelFiles reads them
    (chat_template.jinja, then additional_chat_templates/*.jinja sorted by name; one not read does not count)."""
    wanted: list[str] = []
    not_fetched: dict[str, str] = {}
    templates = 0
    vocabulary_files = _vocabulary_files(listing)
    for path in sorted(listing, key=_reading_order):
        name = path.rsplit("/", 1)[-1]
        if not _is_read(path, vocabulary_files):
            continue
        limit, setting = size_limit(name, config.max_file_bytes, config.max_config_bytes)
        template = path == TEMPLATE_FILE or path.startswith(f"{TEMPLATE_DIR}/")
        if limit is not None and listing[path] > limit:
            not_fetched[path] = (f"is {listing[path]:,} bytes on the Hub, over the {setting} limit of {limit:,}; "
                                 "not downloaded")
        elif template and templates >= MAX_TEMPLATES:
            not_fetched[path] = f"{TOO_MANY_TEMPLATES}; not downloaded"
        else:
            wanted.append(path)
            templates += template
    return wanted, not_fetched


def _vocabulary_files(listing: dict[str, int]) -> set[str]:
    """The vocabulary files a check of the snapshot reads: none beside a tokenizer.json, else the one transformers
    reads (model_files.vocabulary_file_read, by the names the commit lists: a tiktoken.model or tekken.json beside
    tokenizer.model means neither is read), vocab.json with merges.txt."""
    if "tokenizer.json" in listing:
        return set()
    read = vocabulary_file_read((path for path in listing if "/" not in path), listing.__contains__)
    return {VOCAB_FILE, MERGES_FILE} if read == VOCAB_FILE else {read} if read is not None else set()


def _is_read(path: str, vocabulary_files: set[str]) -> bool:
    """Whether a folder's check reads the file at ``path`` (relative to the folder): READ_PATTERNS, without files in
    folders under additional_chat_templates/; of the vocabulary files, those in ``vocabulary_files``."""
    folder, _, name = path.rpartition("/")
    if folder == TEMPLATE_DIR:
        return name.endswith(".jinja")
    return not folder and (name in READ_NAMES or name in vocabulary_files)


def _reading_order(path: str) -> tuple[int, str]:
    """chat_template.jinja before additional_chat_templates/*.jinja, which are read sorted by name."""
    return (0 if path == TEMPLATE_FILE else 1, path)


def register(ref: HubRef, folder: Path) -> None:
    """Show the snapshot as ``org/name@<sha>`` and link its files to their Hub pages. Not thread-safe:
    display_path reads the aliases unguarded."""
    from huggingface_hub.constants import ENDPOINT

    register_alias(folder, f"{ref.repo}@{folder.name}", f"{ENDPOINT}/{ref.repo}/blob/{folder.name}")


def blob_url(path: Path, line: int | None = None) -> str | None:
    """The Hub web page of a file fetched by ``fetch`` (at ``line``), or None for a local file.

    A GitHub annotation cannot attach to a file outside the workflow's repository: reporters add this address,
    which a finding's ``Location.url`` gives them.
    """
    return web_address(path, line)


def import_hub(ref: HubRef | None) -> Any:
    try:
        import huggingface_hub
        import huggingface_hub.constants
    except ImportError:
        raise (HubError(ref, INSTALL_HINT) if ref else InputError(None, f"--hub-list: {INSTALL_HINT}")) from None
    return huggingface_hub


def _quiet_bar(hub: Any) -> type:
    """huggingface_hub's own progress bars, switched off: eos-guard draws one bar for a whole audit."""

    class QuietBar(hub.utils.tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "disable": True})

    return QuietBar


def _retrying(request: Callable[[], Any]) -> Any:
    """``request()``, retried on 429 as Retry-After asks: huggingface_hub does not retry resolve_revision's and
    model_info's request (it does retry its file listing and file requests)."""
    from huggingface_hub.errors import HfHubHTTPError

    attempt = 0
    while True:
        try:
            return request()
        except HfHubHTTPError as exc:
            if exc.response is None or exc.response.status_code != 429 or attempt == RETRIES:
                raise
            time.sleep(_wait(exc.response.headers.get("Retry-After"), attempt))
            attempt += 1


def _wait(retry_after: str | None, attempt: int) -> float:
    """Seconds before the next attempt: the server's Retry-After (in seconds), else exponential backoff."""
    if retry_after and retry_after.strip().isascii() and retry_after.strip().isdigit():  # float('²') raises
        return min(float(retry_after), MAX_WAIT_SECONDS)
    return min(BACKOFF_SECONDS * 2 ** attempt, MAX_WAIT_SECONDS)


def _reason(hub: Any, exc: Exception, ref: HubRef) -> str:
    errors, endpoint = hub.errors, hub.constants.ENDPOINT
    token = hub.get_token()  # HF_TOKEN, else the token saved by ``hf auth login``
    if isinstance(exc, errors.GatedRepoError):
        return (f"gated repository: request access on {endpoint}/{ref.repo}"
                + (" for the token's account" if token else " and set HF_TOKEN"))
    if isinstance(exc, errors.RepositoryNotFoundError):
        return (f"repository not found on {endpoint}"
                + (" (or the token has no access to it)" if token else " (if it is private or gated, set HF_TOKEN)"))
    if isinstance(exc, errors.RevisionNotFoundError):
        return f"revision {ref.revision or 'main'!r} not found"
    if isinstance(exc, errors.HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        return f"{endpoint} answered HTTP {status}" + (" (rate limited; retries exhausted)" if status == 429 else "")
    if isinstance(exc, (errors.RevisionResolutionError, errors.LocalEntryNotFoundError)):
        if hub.constants.is_offline_mode():
            return "not in the local cache, and HF_HUB_OFFLINE is set"
        cause = exc.__cause__ or exc.__context__
        detail = f": {_first_line(cause)}" if cause else ""
        return f"cannot reach {endpoint}, and the files are not in the local cache{detail}"
    # the listing's request (httpx's, or httpx2's in huggingface_hub 2.x), when the cache cannot stand in for it
    if any(kind.__name__ == "TransportError" for kind in type(exc).__mro__):
        return f"cannot reach {endpoint}, and the files are not in the local cache: {_first_line(exc)}"
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
