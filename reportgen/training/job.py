"""One run to train, and the outcomes a trained chunk gives back."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..outcomes import RegressionOutcome
from ..spec import MLPSpec, PolynomialSpec, TrainSpec

REPORT_EVERY = 500
"""Steps between two progress reports."""


@dataclass(frozen=True)
class RegressionJob:
    """One run to train: model, optimizer settings, data and the seed of its initial weights."""

    model: PolynomialSpec | MLPSpec
    train: TrainSpec
    seed: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray


def collect(jobs, losses, train_pred, targets, test_pred, flat) -> list[RegressionOutcome]:
    """Each run's outcome from a trained chunk: column r of ``losses``, row r of the rest, marked if it diverged."""
    runs = []
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
        ))
    return runs
