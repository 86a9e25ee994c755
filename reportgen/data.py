"""The lecture's synthetic regression data, reproduced exactly from a DataSpec."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .expr import parse_expression
from .schema import DataSpec


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
    gaps: tuple[tuple[float, float], ...] = ()
    """Every open interval between two consecutive training inputs that ``removed`` emptied (one per run of
    removed indices with a training point on each side)."""

    def regions(self) -> dict[str, np.ndarray]:
        """Masks over the evaluation grid: ``inside`` the training inputs' range but not in a gap, in a
        ``gap``, and ``outside`` the range (extrapolation)."""
        x = self.x_test
        in_gap = np.zeros(x.shape, bool)
        for low, high in self.gaps:
            in_gap |= (x > low) & (x < high)
        within = (x >= self.x_train.min()) & (x <= self.x_train.max())
        return {"inside": within & ~in_gap, "gap": in_gap, "outside": ~within}


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
                   gap=_gap(grid, spec.removed), gaps=_gaps(grid, spec.removed))


def region_errors(prediction: np.ndarray, data: Dataset, prefix: str = "") -> dict[str, float]:
    """Mean squared error against the noiseless target per region (``mse_inside``, ``mse_gap``,
    ``mse_outside``, after ``prefix``); NaN for a region with no test point."""
    error = (np.asarray(prediction, np.float64) - data.f_test) ** 2
    return {f"{prefix}mse_{name}": float(error[mask].mean()) if mask.any() else float("nan")
            for name, mask in data.regions().items()}


def _gaps(grid: np.ndarray, removed: tuple[int, ...]) -> tuple[tuple[float, float], ...]:
    """The open interval around each run of consecutive removed indices that has a kept point on either side."""
    gone = set(removed)
    gaps, i = [], 0
    while i < len(grid):
        if i not in gone:
            i += 1
            continue
        start = i
        while i in gone:
            i += 1
        if start > 0 and i < len(grid):
            gaps.append((float(grid[start - 1]), float(grid[i])))
    return tuple(gaps)


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
    fit = polynomial_map(x, y, degree, 0.0)
    return fit.train_sse


@dataclass(frozen=True)
class PolynomialFit:
    """A polynomial solved in closed form: its parameters (``nn.Module`` order: x, x², …, then the bias)."""

    parameters: np.ndarray
    train_sse: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The polynomial at ``x`` (float64)."""
        return polynomial_features(x, len(self.parameters) - 1) @ self.parameters


def polynomial_features(x: np.ndarray, degree: int) -> np.ndarray:
    """Columns x, x², …, x^degree, then 1 (the bias): the trainer's parameter order, in float64 from the
    float32 inputs the trainer sees."""
    x32 = np.asarray(x).astype(np.float32).astype(np.float64)
    return np.column_stack([x32 ** k for k in range(1, degree + 1)] + [np.ones_like(x32)])


def penalty_weight(weight_decay: float) -> float:
    """λ of the MAP objective SSE + λ‖θ‖² that Adam's coupled weight decay minimizes at convergence.

    ``torch.optim.Adam`` adds ``weight_decay · θ`` to the gradient of the loss; the gradient of λ‖θ‖² is 2λθ, so
    λ = weight_decay / 2. The one place this factor is written.
    """
    return weight_decay / 2


def polynomial_map(x: np.ndarray, y: np.ndarray, degree: int, weight_decay: float) -> PolynomialFit:
    """The minimizer of SSE + λ‖θ‖² (λ from :func:`penalty_weight`, every parameter, bias included), in float64;
    with no decay, the minimum-norm least-squares solution."""
    features = polynomial_features(x, degree)
    target = np.asarray(y).astype(np.float32).astype(np.float64)
    lam = penalty_weight(weight_decay)
    if lam > 0:
        # Ridge as least squares on rows stacked with sqrt(λ)·I: better conditioned than the normal equations.
        stacked = np.vstack([features, np.sqrt(lam) * np.eye(features.shape[1])])
        coef, *_ = np.linalg.lstsq(stacked, np.concatenate([target, np.zeros(features.shape[1])]), rcond=None)
    else:
        coef, *_ = np.linalg.lstsq(features, target, rcond=None)
    return PolynomialFit(parameters=coef, train_sse=float(((features @ coef - target) ** 2).sum()))
