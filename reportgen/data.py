"""The lecture's synthetic regression data, reproduced exactly from a DataSpec."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .expr import parse_expression
from .spec import DataSpec


@dataclass(frozen=True)
class Dataset:
    """Training points, evaluation grid and the noiseless target on both (float64)."""

    x_train: np.ndarray
    y_train: np.ndarray
    f_train: np.ndarray
    x_test: np.ndarray
    f_test: np.ndarray
    gap: tuple[float, float] | None
    """The interval left empty by the removed points, if they are contiguous."""


def make_dataset(spec: DataSpec) -> Dataset:
    """Build the data as the lecture does: seed, grid, deletion, then noise drawn with ``randn``."""
    target = parse_expression(spec.target)
    # RandomState(seed) is the legacy global generator after np.random.seed(seed), without touching global state.
    generator = np.random.RandomState(spec.seed)
    grid = np.linspace(spec.domain[0], spec.domain[1], num=spec.points)
    x = np.delete(grid, list(spec.removed))
    f_train = target(x)
    y = f_train + spec.noise * generator.randn(len(x))
    x_test = np.linspace(spec.test_domain[0], spec.test_domain[1], num=spec.test_points)
    return Dataset(x_train=x, y_train=y, f_train=f_train, x_test=x_test, f_test=target(x_test),
                   gap=_gap(grid, spec.removed))


def _gap(grid: np.ndarray, removed: tuple[int, ...]) -> tuple[float, float] | None:
    """The open interval between the points on either side of a contiguous run of removed indices."""
    if not removed:
        return None
    lo, hi = min(removed), max(removed)
    if hi - lo + 1 != len(removed):
        return None
    left = grid[lo - 1] if lo > 0 else grid[lo]
    right = grid[hi + 1] if hi + 1 < len(grid) else grid[hi]
    return float(left), float(right)


def least_squares_sse(x: np.ndarray, y: np.ndarray, degree: int) -> float:
    """Closed-form minimum of the training SSE of a degree-``degree`` polynomial with bias.

    Solved in float64 on the float32-rounded data the trainer sees.
    """
    x32 = x.astype(np.float32).astype(np.float64)
    y32 = y.astype(np.float32).astype(np.float64)
    vander = np.vander(x32, degree + 1, increasing=True)
    coef, *_ = np.linalg.lstsq(vander, y32, rcond=None)
    return float(((vander @ coef - y32) ** 2).sum())
