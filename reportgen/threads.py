"""Torch's intra-op thread count, set for one block of work and restored after it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def torch_threads(count: int = 1) -> Iterator[None]:
    """Run the block with torch on ``count`` threads, and give the process its previous count back after it, even on
    failure: the kernels and the samplers must not change their blocking (so their rounding) with the machine, and
    the host process (a test, a notebook) keeps its own setting."""
    import torch  # here: a cached build never imports torch, and importing this module must not either

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
