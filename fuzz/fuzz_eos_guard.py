"""Coverage-guided fuzzing with atheris (pip install atheris): the whole pipeline, or one reader.

usage: python fuzz/fuzz_eos_guard.py [--target pipeline|gguf|hub-list|config] CORPUS [libFuzzer options]
e.g.   python fuzz/fuzz_eos_guard.py fuzz/corpus -max_total_time=900 -rss_limit_mb=2048
       python fuzz/fuzz_eos_guard.py --target gguf fuzz/corpus-gguf -max_total_time=240

The targets are in harness.py. New interesting inputs go into the corpus folder; a crash is written as
crash-<hash> in the working directory. Copy each crash into the corpus once fixed: tests/test_fuzz_corpus.py
replays every file of fuzz/corpus*/.
"""

import sys

import atheris

with atheris.instrument_imports(include=["eos_guard"]):
    import eos_guard.audit  # noqa: F401
    import eos_guard.config  # noqa: F401
    import eos_guard.fixes  # noqa: F401
    import eos_guard.gguf_check  # noqa: F401
    import eos_guard.hub  # noqa: F401
    import eos_guard.pipeline  # noqa: F401
    import eos_guard.report  # noqa: F401

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import harness  # noqa: E402

TARGETS = {"pipeline": harness.check_input, "gguf": harness.check_gguf_input,
           "hub-list": harness.check_hub_list_input, "config": harness.check_config_input}


def main() -> None:
    argv = list(sys.argv)
    target = "pipeline"
    if len(argv) > 2 and argv[1] == "--target":
        target = argv[2]
        del argv[1:3]
    if target not in TARGETS:
        raise SystemExit(f"unknown target {target!r}; one of {', '.join(TARGETS)}")
    atheris.Setup(argv, TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
