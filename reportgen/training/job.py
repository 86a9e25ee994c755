"""One run to train, and the outcomes a trained chunk gives back."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..outcomes import RegressionOutcome
from ..schema import MLPSpec, PolynomialSpec, TrainSpec

REPORT_EVERY = 500
"""Steps between two progress reports."""

SNAPSHOTS = 10
"""Checkpoints at which a run records its fit on the test grid, for the report's explorers.

Set by the size budget: ten snapshots of the lecture's 78 trained runs, at 200 test points in half
precision, are about 420 KB of the report (see ``reportgen.explorer``)."""


def checkpoint_steps(steps: int, count: int | None = None) -> tuple[int, ...]:
    """The steps after which a run of ``steps`` steps records a snapshot: up to ``count`` (default
    :data:`SNAPSHOTS`), the last one ``steps``.

    Half are regular (``steps / h``, ``2 steps / h``, ...), half log-spaced below the first regular one on the
    round numbers 1, 3, 10, 30, 100, ... (the early steps change the fit most, as the loss curve shows).
    """
    count = SNAPSHOTS if count is None else count  # read when called: benchmarks/cache.py builds without any
    if count <= 0:
        return ()
    regular = max(1, count // 2)
    late = {max(1, round(k * steps / regular)) for k in range(1, regular + 1)}
    round_numbers = [m * 10 ** e for e in range(len(str(steps)) + 1) for m in (1, 3)]
    early = [n for n in round_numbers if n < min(late)][-(count - regular):] if count > regular else []
    return tuple(sorted(late | set(early)))


@dataclass(frozen=True)
class RegressionJob:
    """One run to train: model, optimizer settings, data and the seed of its initial weights."""

    model: PolynomialSpec | MLPSpec
    train: TrainSpec
    seed: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    snapshots: bool = True
    """Whether to record the fit on ``x_test`` at :func:`checkpoint_steps` (the explorers' replay)."""

    @property
    def checkpoints(self) -> tuple[int, ...]:
        """The steps after which this run records its fit on the test grid."""
        return checkpoint_steps(self.train.steps) if self.snapshots else ()


def collect(jobs, losses, train_pred, targets, test_pred, flat, snapshots) -> list[RegressionOutcome]:
    """Each run's outcome from a trained chunk: column r of ``losses``, row r of the rest, marked if it diverged.

    ``snapshots`` holds one [runs, test points] prediction per checkpoint of the chunk, in step order.
    """
    runs = []
    steps = np.array(jobs[0].checkpoints, dtype=np.int64)
    for r, _ in enumerate(jobs):
        curve = losses[:, r].numpy().copy()
        bad = ~np.isfinite(curve)
        final_pred = train_pred[r]
        final_sse = float(((final_pred - targets[r]) ** 2).sum())
        parameters = flat[r].numpy().copy()
        finite = not bad.any() and math.isfinite(final_sse) and bool(np.isfinite(parameters).all())
        runs.append(RegressionOutcome(
            status="ok" if finite else "diverged",
            losses=curve,
            train_sse=final_sse,
            train_pred=final_pred.numpy().copy(),
            test_pred=test_pred[r].numpy().copy(),
            parameters=parameters,
            diverged_at=int(np.argmax(bad)) if bad.any() else None,
            snapshot_steps=steps,
            snapshots=np.stack([shot[r].numpy() for shot in snapshots]) if snapshots else
            np.zeros((0, test_pred.shape[1]), dtype=np.float32),
        ))
    return runs
