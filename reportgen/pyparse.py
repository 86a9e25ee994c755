"""``ast.parse``, one thread at a time.

The client plans and prepares studies in threads (one per study), and in
CPython 3.11 two threads building syntax trees at once can fail with
"SystemError: AST constructor recursion depth mismatch" (gh-106905). Every
parse in reportgen goes through :func:`parse`.
"""

from __future__ import annotations

import ast
import threading

_PARSING = threading.Lock()


def parse(source: str | bytes, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    """``ast.parse(source, filename, mode)`` while no other thread of reportgen parses."""
    with _PARSING:
        return ast.parse(source, filename=filename, mode=mode)
