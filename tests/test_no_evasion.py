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
