"""Coverage-guided fuzzing of one reader with atheris (see fuzz_eos_guard.py for the whole pipeline).

usage: python fuzz/fuzz_hub_list.py fuzz/corpus-hub-list -max_total_time=300 -rss_limit_mb=2048

The target is harness.check_hub_list_input; tests/test_fuzz_corpus.py replays every file of fuzz/corpus-hub-list/.
"""

import sys

import atheris

with atheris.instrument_imports(include=["eos_guard"]):
    import eos_guard.audit  # noqa: F401
    import eos_guard.config  # noqa: F401
    import eos_guard.gguf_check  # noqa: F401
    import eos_guard.hub  # noqa: F401
    import eos_guard.pipeline  # noqa: F401
    import eos_guard.report  # noqa: F401

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from harness import check_hub_list_input  # noqa: E402


def main() -> None:
    atheris.Setup(sys.argv, check_hub_list_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
