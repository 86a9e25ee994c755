"""Local worker processes: they start with what the client imported for them."""

from __future__ import annotations

import sys

from reportgen.executors import LocalProcesses


def loaded(name: str) -> bool:
    """Whether this process has imported module ``name`` (run on a worker)."""
    return name in sys.modules


def test_local_workers_start_with_the_modules_their_units_import_and_only_those():
    assert "tabnanny" not in sys.modules and "wave" not in sys.modules  # stdlib modules nothing else imports
    with LocalProcesses(2) as plain:
        plain.start()
        assert dict(plain.map(loaded, ["tabnanny"])) == {0: False}
    with LocalProcesses(2) as preloaded:
        preloaded.start({"wave"})
        assert dict(preloaded.map(loaded, ["wave", "tabnanny"])) == {0: True, 1: False}
