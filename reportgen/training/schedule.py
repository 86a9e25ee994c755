"""Which runs train together, in which process: chunks by shape or by cost, spread over workers.

With the C kernel, a chunk may mix shapes, and chunks are the executor's
``slots`` shares of the runs of equal training settings, whichever
executor (local processes or a Dask cluster) runs them. Without it, a chunk holds a
fixed number of runs of one padded shape (see ``models``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from .. import native, placement
from ..executors import Executor, StudyExecutor, Unfit
from ..outcomes import RegressionOutcome
from ..threads import torch_threads
from .job import RegressionJob
from .kernel_backend import train_with_kernel
from .models import chunk_size, kind_of


def train_runs(jobs: Sequence[RegressionJob], progress: Callable[[int], None] | None = None,
               workers: int = 1, executor: Executor | StudyExecutor | None = None) -> list[RegressionOutcome]:
    """Train every job; results come back in the order of ``jobs``.

    Each chunk is one work unit on ``executor`` (see ``reportgen.executors``), split into as many shares as it
    has slots; without one, ``workers`` local processes train them. ``progress`` is called with the run-steps
    of every chunk that ends. Every run's result is the same either way.
    """
    if executor is None:
        with placement.local(workers) as own:
            return train_runs(jobs, progress, executor=own)
    report = progress or (lambda _: None)
    chunks = _chunks(jobs, executor.slots)
    units = [Chunk(tuple(jobs[i] for i in indices), native.backend_id(jobs[indices[0]].model.kind))
             for indices in chunks]
    results: list[RegressionOutcome | None] = [None] * len(jobs)
    for index, outcomes in executor.map(train_chunk, units, [_chunk_cost(list(unit.jobs)) for unit in units]):
        for i, run in zip(chunks[index], outcomes):
            results[i] = run
        report(sum(jobs[i].train.steps for i in chunks[index]))
    return results  # type: ignore[return-value]


@dataclass(frozen=True)
class Chunk:
    """Runs trained as one program (a work unit), and the gradient kernel the client's cache keys assume."""

    jobs: tuple[RegressionJob, ...]
    kernel: str
    """``native.backend_id`` on the client: the worker must compute with the same."""

    def __len__(self) -> int:
        return len(self.jobs)


def train_chunk(chunk: Chunk) -> list[RegressionOutcome]:
    """Train one chunk where the executor placed it; refuse if this machine's gradient kernel is not the client's."""
    kind = chunk.jobs[0].model.kind
    here = native.backend_id(kind)
    if here != chunk.kernel:
        raise Unfit(f"it computes {kind} gradients with '{here}', but this build's cache keys assume "
                    f"'{chunk.kernel}'; give the workers the client's compiler and reportgen (or set "
                    "REPORTGEN_KERNEL=torch on every machine)")
    return _train_chunk(list(chunk.jobs))


def _train_chunk(chunk: list[RegressionJob], report: Callable[[int], None] = lambda _: None) -> list[RegressionOutcome]:
    with torch_threads(1), torch.no_grad():  # kernels must not change their blocking with the thread count
        kind = kind_of(chunk[0].model)
        found = native.kernel(kind.name)
        if isinstance(found, native.Kernel):
            return train_with_kernel(chunk, report, found.library, kind.kernel_calls)
        return kind.train_torch(chunk, report)


def _chunk_cost(chunk: list[RegressionJob]) -> float:
    """Rough relative cost of training ``chunk``, to start the longest first."""
    kind = kind_of(chunk[0].model)
    if _has_kernel(kind.name):
        return sum(job.train.steps * kind.kernel_cost(job.model) for job in chunk)
    return chunk[0].train.steps * kind.step_cost(chunk[0].model)


def _chunks(jobs: Sequence[RegressionJob], workers: int = 1) -> list[list[int]]:
    """Group jobs that can share one batched program: ``workers`` shares for a C kernel, else fixed-size chunks."""
    with_kernel = {kind: _has_kernel(kind) for kind in {job.model.kind for job in jobs}}
    groups: dict[tuple, list[int]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault(_group_key(job, with_kernel[job.model.kind]), []).append(i)
    chunks = []
    for key, members in groups.items():
        if key[0] == "kernel":
            chunks += _balanced(members, [kind_of(jobs[i].model).kernel_cost(jobs[i].model) for i in members],
                                workers)
        else:
            size = chunk_size(jobs[members[0]].model)
            chunks += [members[s:s + size] for s in range(0, len(members), size)]
    return chunks


def _group_key(job: RegressionJob, with_kernel: bool) -> tuple:
    """What ``job`` must have in common with the other runs of its chunk."""
    t, kind = job.train, kind_of(job.model)
    data = (job.x_train.tobytes(), job.x_test.tobytes())
    if with_kernel:
        # One learning rate per chunk, so that Adam's step size is one scalar, as in torch.optim.Adam.
        return ("kernel",) + kind.kernel_key(job.model) + (t.lr, t.steps, t.betas, t.eps, job.checkpoints) + data
    return kind.shape_key(job.model) + (t.steps, t.betas, t.eps, job.checkpoints) + data


def _balanced(members: list[int], costs: list[float], parts: int) -> list[list[int]]:
    """Split ``members`` into at most ``parts`` groups of similar total cost (longest first, to the lightest)."""
    totals, groups = [0.0] * min(parts, len(members)), [[] for _ in range(min(parts, len(members)))]
    for cost, member in sorted(zip(costs, members), key=lambda pair: -pair[0]):
        lightest = totals.index(min(totals))
        totals[lightest] += cost
        groups[lightest].append(member)
    return [sorted(group) for group in groups]


def _has_kernel(kind: str) -> bool:
    """Whether the C kernel for ``kind`` is at hand (else the torch backend trains it)."""
    return isinstance(native.kernel(kind), native.Kernel)
