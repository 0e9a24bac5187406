"""Earlier versions of the files, from git, so a change that drops stop ids can be caught (EOS015).

Per repository, ``git ls-tree -z`` finds the wanted files at the revision (names as arguments, NUL-terminated
answers) and one ``git cat-file --batch`` reads them by object id; no git at all when the folders are not in a
work tree. Files git does not track at that revision have no baseline, and neither has a version over the size
limit of the working-tree file (max-config-size): ls-tree gives its size, so it is never read.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import BaselineUnread, InputError, display_path

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterable

BASELINE_FILES = ("generation_config.json", "config.json")
ARGUMENTS_PER_CALL = 500  # paths per ls-tree call, well below any system's argument-length limit


def git_root(folder: Path) -> Path | None:
    """The work tree ``folder`` lies in, or None. A folder that cannot be searched (listable, not enterable) is
    no work tree here: os.path.exists says False where Path.exists raises, and the folder's own check then says
    why it cannot be read, while the run's other folders are reported."""
    for directory in (folder, *folder.parents):
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
    return None


def work_trees(folders: Iterable[Path]) -> set[str]:
    """The git work trees the folders lie in, as :func:`git_root` finds them, each folder above looked at once
    (10,000 folders of one repository cost about one look each)."""
    known: dict[str, str | None] = {}
    trees: set[str] = set()
    for folder in folders:
        path, walked, tree = os.path.abspath(folder), [], None
        while True:
            if path in known:
                tree = known[path]
                break
            walked.append(path)
            if os.path.exists(os.path.join(path, ".git")):
                tree = path
                break
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        known.update(dict.fromkeys(walked, tree))
        if tree is not None:
            trees.add(tree)
    return trees


def read_baselines(folders: Iterable[Path], revision: str, max_bytes: int,
                   refused: list[InputError] | None = None) -> dict[Path, str]:
    """Text of each of BASELINE_FILES at ``revision`` of at most ``max_bytes``, keyed by its path in the work
    tree. A work tree git refuses to read (``detected dubious ownership``: a checkout owned by another user, as
    in CI container jobs) has none, and ``refused`` gets why, so that the regression check is never off without
    a word; a work tree without commits yet has none either, silently."""
    by_root: dict[Path, list[Path]] = {}
    for folder in folders:
        root = git_root(folder)
        if root is not None:
            by_root.setdefault(root, []).extend(folder / name for name in BASELINE_FILES)
    texts: dict[Path, str] = {}
    for root, paths in by_root.items():
        # HEAD names a commit or nothing (ls-tree then lists nothing): the default, read by every check in a
        # repository, costs no process to resolve it
        commit = revision if revision == "HEAD" else commit_of(root, revision)
        if commit is not None:  # a revision that names no commit (a tree, a blob) compares with nothing
            texts.update(_cat_files(root, paths, commit, max_bytes, refused, revision))
    return texts


# how to be rid of the line: the command's option, or the rule off in the settings (what the Python API can do)
_SILENCE = "(--baseline none, or EOS015 in ignore, turns it off without this line)"


def _refusal(root: Path, revision: str) -> BaselineUnread | None:
    """Why git refuses the work tree, when ``git rev-parse`` of the revision fails with a message (a revision that
    is only missing fails without one under ``--quiet``: no commits yet), or why git cannot be run at all."""
    proc = _run_git(root, ["rev-parse", "--verify", "--quiet", "--end-of-options", revision])
    if proc is None:  # no git to run (a container with the checkout mounted, no git installed): never off silently
        return BaselineUnread(None, f"--baseline {revision}: {display_path(root)} is a git work tree, but "
                                    f"{_NOT_RUN.get(root, 'git cannot be run')}; the regression check (EOS015) is "
                                    f"off there {_SILENCE}")
    said = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode == 0 or not said:
        return None
    return BaselineUnread(None, f"--baseline {revision}: git cannot read {display_path(root)} ({said[0].strip()}); "
                                f"the regression check (EOS015) is off there {_SILENCE}")


def baseline_problems(folders: Iterable[Path], revision: str) -> list[InputError]:
    """Why a baseline that was asked for cannot be read: folders outside any git work tree (said once), and each
    work tree where ``revision`` names no commit."""
    roots: dict[Path, None] = {}
    outside: list[Path] = []
    for folder in folders:
        root = git_root(folder)
        if root is None:
            outside.append(folder)
        else:
            roots.setdefault(root, None)
    problems = []
    if outside:
        first = display_path(outside[0])
        more = len(outside) - 1
        where = f"{first} (and {more} more folder{'s' if more != 1 else ''})" if more else first
        problems.append(BaselineUnread(None, f"--baseline {revision}: {where} is not in a git repository; the "
                                         "regression check (EOS015) is off there"))
    for root in roots:
        if commit_of(root, revision) is None:
            problems.append(_refusal(root, revision) or BaselineUnread(
                None, f"--baseline {revision}: no such commit in {display_path(root)}; the regression check (EOS015) "
                      "is off"))
    return problems


def commit_of(root: Path, revision: str) -> str | None:
    """The id of the commit ``revision`` names in that work tree, or None: a revision git cannot read, or one
    that names a tree or a blob. The revision is resolved alone first (``REV^{commit}`` would read ``:/text^{commit}``
    as a search for that whole text), then the id is peeled to a commit (an annotated tag names its commit)."""
    found = _git(root, ["rev-parse", "--verify", "--quiet", "--end-of-options", revision])
    oid = found.decode("ascii", "replace").strip() if found else ""
    if not oid or not all(c in "0123456789abcdef" for c in oid):
        return None
    # a commit is itself, an annotated tag its commit; a tree or a blob (no version of the files) has none
    peeled = _git(root, ["rev-parse", "--verify", "--quiet", f"{oid}^{{commit}}"])
    return peeled.decode("ascii", "replace").strip() or None if peeled else None


def _cat_files(root: Path, paths: list[Path], revision: str, max_bytes: int,
               refused: list[InputError] | None = None, named: str | None = None) -> dict[Path, str]:
    """Any path is data: names go to git as arguments (literal pathspecs) and come back NUL-terminated; blobs are
    then asked for by object id and read by their announced size, so no name can shift the reader. A blob over
    ``max_bytes`` (a file that is small in .git's compressed store can be large) is not asked for. ``named``: the
    revision as the user wrote it, for what ``refused`` gets."""
    named = named or revision
    by_name = {os.fsencode(p.relative_to(root).as_posix()): p for p in paths}
    blobs: dict[bytes, list[Path]] = {}  # object id -> the paths with that content
    missing: list[Path] = []
    names = list(by_name)
    for start in range(0, len(names), ARGUMENTS_PER_CALL):
        chunk = names[start:start + ARGUMENTS_PER_CALL]
        listed = _git(root, ["--literal-pathspecs", "ls-tree", "-l", "-z", revision, "--", *chunk])
        if listed is None:  # no such revision (no commits yet), git refuses the work tree, or a partial clone
            # lacks a version whose size ls-tree -l would fetch: asked only then
            if refused is not None:
                tracked = _git(root, ["--literal-pathspecs", "ls-tree", "-z", "--name-only", revision, "--", *chunk])
                lacking = [by_name[name] for name in (tracked or b"").split(b"\0") if name in by_name]
                why = _not_fetched(lacking, named) if lacking else _refusal(root, named)
                if why is not None:
                    refused.append(why)
            return {}
        for entry in (listed or b"").split(b"\0"):
            info, _, name = entry.partition(b"\t")
            fields = info.split()  # mode, type, object id, size
            if len(fields) == 4 and fields[1] == b"blob" and fields[3].isdigit() and name in by_name \
                    and int(fields[3]) <= max_bytes:
                blobs.setdefault(fields[2], []).append(by_name[name])
            elif len(fields) == 4 and fields[1] == b"blob" and name in by_name:  # no size: "BAD" (or "-")
                missing.append(by_name[name])  # its object is not here: a partial clone's, which git would fetch
    if missing and refused is not None:
        refused.append(_not_fetched(missing, named))
    if not blobs:
        return {}
    out = _git(root, ["cat-file", "--batch"], b"".join(oid + b"\n" for oid in blobs)) or b""
    pos, texts = 0, {}
    for oid, same in blobs.items():
        end = out.find(b"\n", pos)
        header = out[pos:end].split() if end >= 0 else []
        if len(header) != 3 or header[0] != oid or header[1] != b"blob" or not header[2].isdigit() \
                or int(header[2]) > max_bytes:
            break  # not what was asked for: trust nothing after it
        size = int(header[2])
        blob = out[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
        try:
            texts.update(dict.fromkeys(same, blob.decode("utf-8")))
        except UnicodeDecodeError:
            continue
    return texts


def _not_fetched(missing: list[Path], revision: str) -> BaselineUnread:
    """Why files have no baseline in a partial clone (``git clone --filter=blob:none``, actions/checkout's
    ``filter``): their versions at the revision are not in the clone, and git, which would fetch them, runs here
    with no transport (:data:`GIT_READ_ONLY`): said, never off without a word (helper-180)."""
    first = display_path(missing[0])
    what = f"the version of {first} at {revision} is not" if len(missing) == 1 else \
        f"the versions of {first} and {len(missing) - 1} more at {revision} are not all"
    them = "it" if len(missing) == 1 else "them"
    return BaselineUnread(None, f"--baseline {revision}: {what} in this clone (a partial clone; eos-guard fetches "
                                f"nothing), so the regression check (EOS015) is off for {them}: fetch {them} first "
                                f"(git show {revision}:PATH), or --baseline none turns it off without this line")


def _git(root: Path, args: list, stdin: bytes | None = None) -> bytes | None:
    proc = _run_git(root, args, stdin)
    return proc.stdout if proc is not None and proc.returncode == 0 else None


# git only reads here, and runs nothing a repository's own config names. A model folder unpacked from an archive may
# hold a .git of its own whose config declares a partial clone with an object missing: reading it, git would fetch
# it from the remote the config names, through the core.sshCommand (or proxy, or credential helper) it names
# (helper-178), and write the object into that .git. No transport is allowed (GIT_ALLOW_PROTOCOL, which overrides
# the repository's protocol settings; -c protocol.allow=never alone is only their default), and no lazy fetch is
# tried (git 2.44+); nothing prompts. A missing object is then a missing baseline, said as such (_not_fetched).
# no transport (a partial clone would fetch through the folder's own ssh command), and no core.fsmonitor: a revision
# that reads the index (":0:config.json") ran the command a folder's own .git/config names (helper-183)
GIT_READ_ONLY = ("-c", "protocol.allow=never", "-c", "core.fsmonitor=false")
GIT_READ_ONLY_ENV = {"GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0",
                     # only the protocol named "none" (there is none), whatever protocol.<name>.allow the repository's
                     # config sets: it overrides every one of them, where -c protocol.allow=never is only the default
                     # (helper-180: protocol.ssh.allow=always in the folder's config let the fetch run)
                     "GIT_ALLOW_PROTOCOL": "none"}
GIT_SECONDS = 30  # a git that takes longer (a hung credential helper, a network file system) is given up on
# work tree -> why git could not be run there: asked once per run (a git that timed out is not waited for again)
_NOT_RUN: dict[Path, str] = {}


def forget_git_failures() -> None:
    _NOT_RUN.clear()


def _run_git(root: Path, args: list, stdin: bytes | None = None) -> Any:
    """The finished git process (its stdout and stderr), or None when git cannot be run (:data:`_NOT_RUN` says
    why)."""
    import subprocess  # only for folders in a git work tree
    if root in _NOT_RUN:
        return None
    try:
        return subprocess.run(["git", *GIT_READ_ONLY, "-C", str(root), *args], input=stdin, capture_output=True,
                              timeout=GIT_SECONDS, check=False, env={**os.environ, **GIT_READ_ONLY_ENV})
    except subprocess.TimeoutExpired:
        _NOT_RUN[root] = f"git did not answer within {GIT_SECONDS} s"
    except (OSError, subprocess.SubprocessError):
        _NOT_RUN[root] = "git cannot be run (is it installed and on PATH?)"
    return None
