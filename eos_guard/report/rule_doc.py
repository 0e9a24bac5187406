"""``eos-guard rule CODE``: a rule's documentation, from its docstring in the installed package.

The same pages, with an example folder and its output for each rule, are published at :data:`DOCS_URL` (the
docs/rules.md of the release's tag, so the page matches the installed version); SARIF's ``helpUri`` points there.
"""

from __future__ import annotations

from ..version import __version__
from ..rules.base import SKIPPED_ANCHOR, Rule

DOCS_URL = f"https://github.com/org/eos-guard/blob/v{__version__}/docs/rules.md"


def url(rule: Rule) -> str:
    return f"{DOCS_URL}#{rule.code.lower()}-{rule.name}"


def text(rule: Rule) -> str:
    """The rule's documentation with its links into docs/rules.md made absolute (it is read outside that page)."""
    return rule.doc().replace(f"]({SKIPPED_ANCHOR})", f"]({DOCS_URL}{SKIPPED_ANCHOR})")


def render(rule: Rule) -> str:
    doc = text(rule).splitlines()
    return "\n".join([f"{rule.code} {rule.name}", "", f"Default severity: {rule.severity}. {doc[0]}",
                      *doc[1:], "", f"Examples: {url(rule)}"]) + "\n"
