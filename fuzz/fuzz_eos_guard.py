"""Coverage-guided fuzzing of the whole pipeline with atheris (pip install atheris).

usage: python fuzz/fuzz_eos_guard.py fuzz/corpus -max_total_time=900 -rss_limit_mb=2048

New interesting inputs go into fuzz/corpus/; a crash is written as crash-<hash> in the working directory.
Copy each crash into fuzz/corpus/ once fixed: tests/test_fuzz_corpus.py replays every file there.
"""

import sys

import atheris

with atheris.instrument_imports(include=["eos_guard"]):
    import eos_guard.pipeline  # noqa: F401
    import eos_guard.fixes  # noqa: F401
    import eos_guard.report  # noqa: F401

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from harness import check_input  # noqa: E402


def main() -> None:
    atheris.Setup(sys.argv, check_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
