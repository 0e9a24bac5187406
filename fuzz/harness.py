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
