"""``python -m eos_guard`` and the ``eos-guard`` command (the console script in pyproject.toml)."""

import gc

# Start-up makes tens of thousands of objects that live until the process exits (modules, classes, registries):
# collections while they are made would only scan them again (~4 ms of a small check, docs/performance.md).
# cli.main then freezes them, since it runs as the program.
_collecting = gc.isenabled()
gc.disable()
from .cli import main  # noqa: E402
if _collecting:
    gc.enable()

if __name__ == "__main__":
    raise SystemExit(main())
