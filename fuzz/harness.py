"""The fuzz target shared by the atheris fuzzer (fuzz/fuzz_eos_guard.py) and the regression tests.

An input is a little archive: sections separated by a NUL byte, each ``<file name>\\n<bytes>``, written into
a fresh model folder. The whole pipeline then runs on it: reading with positions, resolving, the template
probe, the rules, every reporter, and planning fixes. Anything but eos-guard's own ``InputError`` escaping is
a crash; so is a finding outside its file or a planned fix that is not valid JSON.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

NAMES = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
         "added_tokens.json", "tokenizer.json", "chat_template.jinja", "chat_template.json")


def unpack(data: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for section in data.split(b"\0")[:8]:
        name, _, body = section.partition(b"\n")
        try:
            text = name.decode("ascii").strip()
        except UnicodeDecodeError:
            continue
        match = next((n for n in NAMES if n.startswith(text) and text), None)
        if match:
            files[match] = body
    return files


def pack(files: dict[str, bytes]) -> bytes:
    return b"\0".join(name.encode() + b"\n" + body for name, body in files.items())


def check_input(data: bytes) -> None:
    from eos_guard.pipeline import check_folder
    from eos_guard.config import Config
    from eos_guard.results import Report
    from eos_guard.fixes import plan
    from eos_guard.report import REPORTERS
    from eos_guard.template import Limits

    config = Config(limits=Limits(seconds=0.5, max_output=100_000, cache=False), baseline=None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "m"
        folder.mkdir()
        for name, body in unpack(data).items():
            (folder / name).write_bytes(body)
        report = check_folder(folder, config)
        for render in REPORTERS.values():
            render(Report([report]))
        if report.model is None:
            return
        for finding in report.findings:
            loc = finding.location
            text = loc.path.read_bytes().decode("utf-8", "replace") if loc.path.is_file() else ""
            assert 1 <= loc.line <= text.count("\n") + 1, finding
        for change in plan(report.model):
            json.loads(change.new_text)


def _small_config() -> "Config":
    from eos_guard.config_types import Config
    from eos_guard.template import Limits

    return Config(limits=Limits(seconds=0.5, max_output=100_000, cache=False), baseline=None)


def check_gguf_input(data: bytes) -> None:
    """A GGUF file: its metadata is read (eos-guard's own reader), its templates probed, its rules run and
    reported. A corrupt file must end in the report's one-line error, never in an exception."""
    from eos_guard.pipeline import check_gguf
    from eos_guard.report import REPORTERS
    from eos_guard.results import Report

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.gguf"
        path.write_bytes(data)
        report = check_gguf(path, _small_config(), [])
        assert report.error is None or "\n" not in report.error.strip(), report.error
        for render in REPORTERS.values():
            render(Report([report]))


def check_hub_list_input(data: bytes) -> None:
    """A ``--hub-list`` file (audit.py): every listed line parses to an ``org/name[@revision]`` or the whole file fails
    with one InputError naming the line."""
    from eos_guard.errors import InputError
    from eos_guard.audit import read_list

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "repos.txt"
        path.write_bytes(data)
        try:
            refs = read_list(path)
        except InputError as exc:
            assert "\n" not in exc.render(), exc.render()
            return
        for ref in refs:
            org, name = ref.repo.split("/")
            assert org and name and ref.label.startswith(ref.repo)


def check_config_input(data: bytes) -> None:
    """A settings file (``.eos-guard.yaml``, or ``pyproject.toml`` when the input starts with ``T``): it loads
    or fails with one InputError, and a loaded one drives a check of a small model folder with a template."""
    from eos_guard.config import load
    from eos_guard.errors import InputError
    from eos_guard.pipeline import check_folder

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        name = "pyproject.toml" if data[:1] == b"T" else ".eos-guard.yaml"
        (root / name).write_bytes(data[1:] if name == "pyproject.toml" else data)
        folder = root / "m"
        folder.mkdir()
        (folder / "config.json").write_text('{"eos_token_id": 2, "vocab_size": 4}')
        (folder / "tokenizer_config.json").write_text(
            '{"eos_token": "</s>", "added_tokens_decoder": {"2": {"content": "</s>"}},'
            ' "chat_template": "{% for m in messages %}{{ m.content }}</s>{% endfor %}"}')
        try:
            config = load(None, folder)
        except InputError as exc:
            assert "\n" not in exc.render(), exc.render()
            return
        config.root = root
        config.limits = type(config.limits)(config.limits.seconds, config.limits.max_output, False,
                                            config.limits.memory_mb)
        check_folder(folder, config)
