"""The garbage collector around the stages that allocate most: what is already allocated is set aside.

Python's cyclic collector visits every tracked object in its oldest
generation on each full collection. A build's process holds hundreds of
thousands of long-lived ones (modules, torch's and matplotlib's among them,
the results) while WeasyPrint or matplotlib allocate millions of short-lived
ones; every full collection would visit the long-lived ones again. Frozen,
they are left out of collections (``gc.freeze``), which took about 13 % off
typesetting the lecture's PDF in a process that had loaded torch. Forked
workers inherit the frozen set, as the ``gc`` documentation advises for
fork without exec.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

_depth = 0
"""How many set_aside blocks are open: only the outermost freezes and unfreezes."""


@contextmanager
def set_aside() -> Iterator[None]:
    """Leave what is allocated now out of garbage collections until the block ends (one stage at a time: a block
    inside another changes nothing, as the outer one's unfreeze would undo an inner freeze anyway)."""
    global _depth
    if _depth == 0:
        gc.freeze()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.unfreeze()  # back into the oldest generation: a long-running serve still collects it
