"""Which runs train together, in which process: chunks by shape or by cost, spread over workers.

With the C kernel, a chunk may mix shapes, and chunks are the ``workers``
shares of the runs of equal training settings. Without it, a chunk holds a
fixed number of runs of one padded shape (see ``models``).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, Sequence

import torch

from .. import native
from ..outcomes import RegressionOutcome
from .job import RegressionJob
from .kernel_backend import train_with_kernel
from .models import chunk_size, kind_of


def train_runs(jobs: Sequence[RegressionJob], progress: Callable[[int], None] | None = None,
               workers: int = 1) -> list[RegressionOutcome]:
    """Train every job; results come back in the order of ``jobs``.

    ``progress`` is called now and then with the number of run-steps done
    since its last call. With ``workers`` > 1, chunks train in that many
    processes; every run's result is the same either way.
    """
    report = progress or (lambda _: None)
    chunks = _chunks(jobs, workers)
    results: list[RegressionOutcome | None] = [None] * len(jobs)
    if workers > 1 and len(chunks) > 1:
        # fork: workers start at once with torch loaded; each runs one thread, as the serial path does.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
            futures = {pool.submit(_train_chunk, [jobs[i] for i in indices]): indices
                       for indices in sorted(chunks, key=lambda c: -_chunk_cost([jobs[i] for i in c]))}
            for future in as_completed(futures):
                indices = futures[future]
                for i, run in zip(indices, future.result()):
                    results[i] = run
                report(sum(jobs[i].train.steps for i in indices))
    else:
        for indices in chunks:
            chunk = [jobs[i] for i in indices]
            for i, run in zip(indices, _train_chunk(chunk, lambda steps, n=len(chunk): report(steps * n))):
                results[i] = run
    return results  # type: ignore[return-value]


def _train_chunk(chunk: list[RegressionJob], report: Callable[[int], None] = lambda _: None) -> list[RegressionOutcome]:
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # kernels must not change their blocking with the thread count
    try:
        with torch.no_grad():
            kind = kind_of(chunk[0].model)
            found = native.kernel(kind.name)
            if isinstance(found, native.Kernel):
                return train_with_kernel(chunk, report, found.library, kind.kernel_calls)
            return kind.train_torch(chunk, report)
    finally:
        torch.set_num_threads(previous_threads)


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
