"""The action's Python entry point: ``python -I action/main.py prepare|run`` (see eos_guard/github_action.py).

Isolated mode (-I) keeps the workspace, which a pull request controls, off ``sys.path``: the action's own
checkout comes first, then the folder its dependencies were installed into (``EOS_GUARD_DEPS``), if any.
"""

import os
import sys

ACTION = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPS = os.environ.get("EOS_GUARD_DEPS", "")
sys.path[:0] = [ACTION, DEPS] if DEPS else [ACTION]

from eos_guard.github_action import main  # noqa: E402  (the path above comes first)

raise SystemExit(main())
