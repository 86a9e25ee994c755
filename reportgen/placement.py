"""Which executor a build's work units run on: this process, local worker processes, or a Dask cluster."""

from __future__ import annotations

from .executors import Executor, InProcess, LocalProcesses


def local(jobs: int) -> Executor:
    """The executor of a build on this machine with ``jobs`` processes."""
    return LocalProcesses(jobs) if jobs > 1 else InProcess()


def for_build(scheduler: str | None, jobs: int) -> Executor:
    """The executor a build asked for: the Dask scheduler at ``scheduler`` (reached now), else local processes.

    Dask is imported only here and only with a scheduler, so a local build never loads it.
    """
    if scheduler:
        from .cluster import connect

        return connect(scheduler)
    return local(jobs)
