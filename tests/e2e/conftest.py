"""End-to-end tests (tests/e2e): a tiny model trained on CPU with torch, the real pipeline() and Trainer.

They are marked ``e2e`` and run with the rest of the suite (``python -m pytest``); ``-m "not e2e"`` leaves
them out. Without torch they are skipped, except in CI (``CI`` set), where .ci/run installs torch and a
missing torch must fail rather than skip.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: trains a tiny model with torch on CPU (tests/e2e)")
