"""The build's one part that pyproject.toml cannot say: the optional compiled half of eos_guard/vocab_scan.py.

``optional=True``: where it cannot be compiled (no C compiler, no Python headers), setuptools warns and installs
eos-guard without it, and the pure-Python scan answers the same (docs/performance.md). ``EOS_GUARD_NO_EXTENSIONS=1``
leaves it out on purpose, at build time as at run time.
"""

import os

from setuptools import Extension, setup

wanted = os.environ.get("EOS_GUARD_NO_EXTENSIONS", "") in ("", "0")
setup(ext_modules=[Extension("eos_guard._vocab_scan", ["eos_guard/_vocab_scan.c"], optional=True)] if wanted else [])
