"""Where work units run: in this process, in local worker processes, or on a Dask cluster (``cluster.py``).

A work unit is a module-level function and one picklable item: a batched
chunk of runs, a prior configuration, a study's analysis. Every executor
runs the same units and hands back the same values; the client (the
process running the build) alone writes the result store. A unit's value
does not depend on where it ran, so neither do the outputs.

A study kind's ``compute`` receives the build's executor bound to its study
(:class:`StudyExecutor`) and calls its ``map``; ``slots`` says how many units
run at once, which is how many shares the trainer splits a study's runs into.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Iterable, Iterator, Sequence

from .heap import set_aside


class Unfit(Exception):
    """A worker cannot compute a unit as the build requires (say, its gradient kernel differs)."""


@dataclass(frozen=True)
class Done:
    """What a unit gave back, where it ran and how long it took there."""

    value: Any
    worker: str
    seconds: float


class Stage(Enum):
    """What a work unit is for, as whoever submits it says: the timings add up each study's stages apart."""

    COMPUTE = "compute"
    """Computing runs (training, sampling): a kind's own units."""
    ANALYSIS = "analysis"
    """Analysing a study's runs and drawing its figures."""


@dataclass(frozen=True)
class TaskRecord:
    """One finished unit, for build-info.json and ``--timings``."""

    study: str
    task: str
    """The unit's function, e.g. ``train_chunk``."""
    stage: Stage
    runs: int
    """Runs the unit computed (0 for an analysis)."""
    worker: str
    seconds: float


def perform(function: Callable[[Any], Any], item: Any, worker: str) -> Done:
    """Run one unit where the executor placed it; an :class:`Unfit` worker fails it naming itself, and a unit that
    calls ``sys.exit`` fails the build instead of ending its worker (or the build) as a success."""
    from .errors import BuildError, contained

    start = time.perf_counter()
    try:
        with contained(f"work unit {function.__module__}.{function.__qualname__}"):
            value = function(item)
    except Unfit as refusal:
        raise BuildError(f"worker {worker}: {refusal}") from None
    return Done(value, worker, time.perf_counter() - start)


def runs_in(item: Any) -> int:
    """How many runs a unit computes: a sized item (a chunk, an analysis) says so with ``len``; else it is one run."""
    return len(item) if hasattr(item, "__len__") else 1


class Executor(ABC):
    """Runs work units and records where each ran. Use as a context manager: leaving it stops its workers."""

    slots: int = 1
    """Units that run at once."""
    description: str = "this process"

    def __init__(self) -> None:
        self.records: list[TaskRecord] = []
        self.cancelled = False
        self._lock = threading.Lock()

    def map(self, function: Callable[[Any], Any], items: Sequence[Any], costs: Sequence[float] | None = None,
            study: str = "", stage: Stage = Stage.COMPUTE) -> Iterator[tuple[int, Any]]:
        """``function(item)`` for every item, one unit each, costliest first; yields (index, value) as each ends.
        The units are recorded under ``study`` and ``stage``."""
        if self.cancelled:
            raise CancelledError()
        order = sorted(range(len(items)), key=lambda i: -costs[i]) if costs is not None else list(range(len(items)))
        for position, done in self._run(function, [items[i] for i in order], study):
            index = order[position]
            with self._lock:
                self.records.append(TaskRecord(study, function.__name__, stage, runs_in(items[index]),
                                               done.worker, done.seconds))
            yield index, done.value

    def for_study(self, study: str, stage: Stage = Stage.COMPUTE) -> "StudyExecutor":
        """This executor as one study's kind sees it: its units are recorded under ``study`` and ``stage``."""
        return StudyExecutor(self, study, stage)

    @property
    def concurrent(self) -> bool:
        """Whether several studies should submit units at once (from threads of the client)."""
        return self.slots > 1

    @abstractmethod
    def _run(self, function: Callable, items: list, study: str) -> Iterator[tuple[int, Done]]:
        """(position in ``items``, what it gave) for every item, as each finishes."""

    def start(self, modules: Iterable[str] = ()) -> None:
        """Get the workers ready (called once, before any thread submits); ``modules`` are those the work will
        import on them."""

    def cancel(self) -> None:
        """Drop every unit submitted and not finished, and refuse new ones (Ctrl-C, or a failed study)."""
        self.cancelled = True
        self._drop()

    def _drop(self) -> None:
        """Drop the units submitted and not finished."""

    def close(self) -> None:
        """Release the workers."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc_info) -> None:
        if exc_info[0] is not None:
            self.cancel()
        self.close()


@dataclass(frozen=True)
class StudyExecutor:
    """An executor bound to one study: what a kind's ``compute`` receives."""

    executor: Executor
    study: str
    stage: Stage = Stage.COMPUTE

    @property
    def slots(self) -> int:
        """Units that run at once."""
        return self.executor.slots

    def map(self, function: Callable[[Any], Any], items: Sequence[Any],
            costs: Sequence[float] | None = None) -> Iterator[tuple[int, Any]]:
        """``function(item)`` for every item as one unit; yields (index, value) as each finishes."""
        return self.executor.map(function, items, costs, self.study, self.stage)


class InProcess(Executor):
    """Every unit in this process, one after another: ``--jobs 1``."""

    def _run(self, function, items, study):
        for position, item in enumerate(items):
            with set_aside():  # as the forked workers do: the client's heap is left out of the unit's collections
                done = perform(function, item, self.description)
            yield position, done


class LocalProcesses(Executor):
    """Units in ``jobs`` forked worker processes on this machine: ``--jobs N``."""

    def __init__(self, jobs: int) -> None:
        super().__init__()
        self.slots = jobs
        self.description = f"{jobs} local processes"
        self._pool: ProcessPoolExecutor | None = None
        self._start_lock = threading.Lock()

    def start(self, modules: Iterable[str] = ()) -> None:
        """Fork the workers now, from the calling thread, before other threads of the client can hold locks.

        ``modules`` are imported here first, once, so that every worker starts with them: two workers
        importing torch and matplotlib side by side take longer than the client importing them before it forks.
        """
        with self._start_lock:
            if self._pool is None:
                for name in sorted(modules):
                    importlib.import_module(name)
                # fork: workers start at once and inherit the loaded kinds and the modules just imported.
                context = multiprocessing.get_context("fork")
                self._pool = ProcessPoolExecutor(max_workers=self.slots, mp_context=context,
                                                 initializer=_start_worker, initargs=(os.getpid(),))
                with set_aside():  # the workers' collections never visit what they inherit
                    self._pool.submit(os.getpid).result()  # forks every worker (fork pools start all at the first)

    def _run(self, function, items, study):
        self.start()
        futures = {self._pool.submit(_perform_here, function, item): position for position, item in enumerate(items)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def _drop(self) -> None:
        """Drop queued units and end the running ones with their processes: a chunk can train for minutes, and
        Ctrl-C must not wait for it."""
        if self._pool is not None:
            # The pool forgets its processes at shutdown, and offers no way to end them before Python 3.14.
            processes = list((self._pool._processes or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(5)  # reaped here, so none is left behind as a zombie

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _perform_here(function: Callable, item: Any) -> Done:
    return perform(function, item, f"local process {os.getpid()}")


def _start_worker(parent: int) -> None:
    # One thread per process: the kernels' results must not depend on the thread count.
    os.environ["OMP_NUM_THREADS"] = "1"
    # Ctrl-C reaches the whole process group: the client alone decides what stops, and ends its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """Stop this worker once its build is gone (killed): an orphaned worker would otherwise wait forever."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
