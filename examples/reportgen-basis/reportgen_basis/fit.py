"""The closed-form fit of a fixed basis, its outcome record and the kind object (NumPy float64 only, no torch).

The model is ``f(x) = w_0 + sum_j w_j phi_j(x)``. Because it is linear in ``w``, minimising the training SSE plus
``ridge * sum_{j>=1} w_j**2`` is a least-squares problem on the design matrix stacked above ``sqrt(ridge)`` times
the identity (without the bias column), solved once by SVD (``numpy.linalg.lstsq``): no training, no seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from pydantic import BaseModel

from reportgen.data import make_dataset
from reportgen.kinds import Progress
from reportgen.outcomes import stored
from reportgen.plan import Run


def design_matrix(x: np.ndarray, model, domain: tuple[float, float]) -> np.ndarray:
    """[len(x), count + 1]: a column of ones, then each basis function of ``model`` at ``x``."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = domain
    j = np.arange(1, model.count + 1)
    if model.family == "gaussian":
        centres = np.linspace(lo, hi, model.count) if model.count > 1 else np.array([(lo + hi) / 2])
        features = np.exp(-((x[:, None] - centres[None, :]) ** 2) / (2 * model.width ** 2))
    else:
        # Odd j: cos(k pi t), even j: sin(k pi t), k = ceil(j / 2), t = x rescaled to [0, 1] on the domain.
        k = (j + 1) // 2
        phase = np.pi * k[None, :] * ((x[:, None] - lo) / (hi - lo))
        features = np.where(j % 2 == 1, np.cos(phase), np.sin(phase))
    return np.column_stack([np.ones_like(x), features])


def solve(phi: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, int]:
    """Coefficients minimising ``|phi w - y|^2 + ridge |w[1:]|^2`` (minimum norm if not unique), and the rank."""
    if ridge > 0:
        penalty = np.sqrt(ridge) * np.eye(phi.shape[1])[1:]
        phi, y = np.vstack([phi, penalty]), np.concatenate([y, np.zeros(len(penalty))])
    coef, _, rank, _ = np.linalg.lstsq(phi, y, rcond=None)
    return coef, int(rank)


@stored
@dataclass(frozen=True)
class BasisOutcome:
    """What fitting one basis run produced."""

    status: str
    """``"ok"``, or ``"diverged"`` when the solve gave a non-finite coefficient."""
    train_sse: float
    """Sum of squared errors of the fit on the (noisy) training points, the penalty excluded."""
    train_pred: np.ndarray
    """The fit at the training inputs."""
    test_pred: np.ndarray
    """The fit on the evaluation grid."""
    coefficients: np.ndarray
    """Bias first, then one per basis function."""
    rank: int
    """Numerical rank of the design matrix (with the ridge rows, when there are any)."""


def fit_run(run: Run) -> BasisOutcome:
    """Build the run's data and design matrices and solve."""
    config = run.config
    data = make_dataset(config.data)
    phi = design_matrix(data.x_train, config.model, config.data.domain)
    coef, rank = solve(phi, data.y_train, config.model.ridge)
    train_pred = phi @ coef
    test_pred = design_matrix(data.x_test, config.model, config.data.domain) @ coef
    sse = float(np.sum((train_pred - data.y_train) ** 2))
    finite = bool(np.all(np.isfinite(coef)) and np.isfinite(sse))
    return BasisOutcome(status="ok" if finite else "diverged", train_sse=sse, train_pred=train_pred,
                        test_pred=test_pred, coefficients=coef, rank=rank)


@dataclass(frozen=True)
class BasisKind:
    """A study kind whose runs are closed-form fits on a fixed basis (see ``reportgen.kinds.StudyKind``)."""

    name: str
    schema: type[BaseModel]
    analyze: Callable
    template: str
    templates: Path | None
    outcome: type = BasisOutcome
    trains: bool = False
    """Nothing is trained by gradient steps, so no gradient kernel enters the cache key."""
    batched: bool = False
    """Runs are solved one after another: only the largest run's memory counts."""

    def work_units(self, study) -> int:
        """One unit per run."""
        return study.n_runs

    def compute(self, runs: Sequence[Run], progress: Progress, executor) -> list[BasisOutcome]:
        """Solve every run in turn, here (each takes well under a millisecond: a work unit on ``executor`` would
        cost more to schedule than to compute)."""
        outcomes = []
        for run in runs:
            outcomes.append(fit_run(run))
            progress(1)
        return outcomes
