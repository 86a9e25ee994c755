"""The ``basis`` study kind: its definition files, one closed-form fit per run, and the ``KIND`` object.

The model is ``f(x) = w_0 + sum_j w_j phi_j(x)``. Because it is linear in ``w``, minimizing the training SSE plus
``ridge * sum_{j>=1} w_j**2`` is a least-squares problem on the design matrix stacked above ``sqrt(ridge)`` times
the identity (without the bias column), solved once by SVD (``numpy.linalg.lstsq``): no training, no seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from reportgen.plugin import DataSpec, Kind, NonNegativeFloat, PositiveFloat, Strict, StudyFields, make_dataset

MAX_COUNT = 500


class BasisSpec(Strict):
    """A bias plus ``count`` fixed basis functions of x, combined linearly."""

    kind: Literal["basis"]
    family: Literal["gaussian", "fourier"] = "gaussian"
    """``gaussian``: bumps centered at equally spaced points of ``data.domain``; ``fourier``: cosines and sines
    whose longest period is twice ``data.domain``."""
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] = 10
    """Number of basis functions besides the bias; the model has count + 1 coefficients."""
    width: PositiveFloat = 0.1
    """Standard deviation of every Gaussian bump, in units of x (not used by ``fourier``)."""
    ridge: NonNegativeFloat = 0.0
    """Penalty on the squared coefficients of the basis functions (not the bias); 0 is plain least squares."""


class BasisStudyFile(StudyFields):
    """What a ``kind = "basis"`` definition file may say: the lecture's data and a fixed basis to fit on it."""

    kind: Literal["basis"]
    data: DataSpec = DataSpec()
    model: BasisSpec

    def memory_estimate(self) -> int:
        """Bytes one run holds: its design matrices on both grids (float64), with the solver's copies."""
        rows = self.data.points + self.data.test_points + self.model.count
        return 4 * rows * (self.model.count + 1) * 8


def design_matrix(x: np.ndarray, model: BasisSpec, domain: tuple[float, float]) -> np.ndarray:
    """[len(x), count + 1]: a column of ones, then each basis function of ``model`` at ``x``."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = domain
    j = np.arange(1, model.count + 1)
    if model.family == "gaussian":
        centers = np.linspace(lo, hi, model.count) if model.count > 1 else np.array([(lo + hi) / 2])
        features = np.exp(-((x[:, None] - centers[None, :]) ** 2) / (2 * model.width ** 2))
    else:
        # Odd j: cos(k pi t), even j: sin(k pi t), k = ceil(j / 2), t = x rescaled to [0, 1] on the domain.
        k = (j + 1) // 2
        phase = np.pi * k[None, :] * ((x[:, None] - lo) / (hi - lo))
        features = np.where(j % 2 == 1, np.cos(phase), np.sin(phase))
    return np.column_stack([np.ones_like(x), features])


def solve(phi: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, int]:
    """Coefficients minimizing ``|phi w - y|^2 + ridge |w[1:]|^2`` (minimum norm if not unique), and the rank."""
    if ridge > 0:
        penalty = np.sqrt(ridge) * np.eye(phi.shape[1])[1:]
        phi, y = np.vstack([phi, penalty]), np.concatenate([y, np.zeros(len(penalty))])
    coef, _, rank, _ = np.linalg.lstsq(phi, y, rcond=None)
    return coef, int(rank)


def fit(config: BasisStudyFile, seed: int) -> dict:
    """One run: the closed-form fit on the run's data (the seed plays no part: nothing here is random).

    Returns the fit's training SSE (penalty excluded), the fit at the training inputs and on the evaluation
    grid, its coefficients (bias first) and the rank of the design matrix (with its ridge rows), and a status
    ``"diverged"`` when the solve gave a non-finite coefficient.
    """
    data = make_dataset(config.data)
    phi = design_matrix(data.x_train, config.model, config.data.domain)
    coef, rank = solve(phi, data.y_train, config.model.ridge)
    train_pred = phi @ coef
    test_pred = design_matrix(data.x_test, config.model, config.data.domain) @ coef
    sse = float(np.sum((train_pred - data.y_train) ** 2))
    finite = bool(np.all(np.isfinite(coef)) and np.isfinite(sse))
    return {"status": "ok" if finite else "diverged", "train_sse": sse, "train_pred": train_pred,
            "test_pred": test_pred, "coefficients": coef, "rank": rank}


KIND = Kind(name="basis", schema=BasisStudyFile, run="reportgen_basis.kind:fit",
            analysis="reportgen_basis.analysis:analyze", template="studies/basis.html.j2",
            templates=Path(__file__).parent / "templates")
"""Registered in this package's pyproject.toml as ``basis = "reportgen_basis.kind:KIND"``."""
