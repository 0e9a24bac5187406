"""The action's Python entry point: ``python -I action/main.py check|run`` (see eos_guard/github_action.py).

Isolated mode (-I) keeps the workspace, which a pull request controls, off ``sys.path``: the action's own
checkout comes first (eos_guard.github_action puts the folder of the dependencies right after it, when they
are used from there).
"""

import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

gc.disable()  # start-up's objects live until the process exits: no collection while they are made (main freezes them)
from eos_guard.github_action import main  # noqa: E402  (the path above comes first)

gc.enable()
raise SystemExit(main())
