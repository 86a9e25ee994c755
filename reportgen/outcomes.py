"""What one run produced, as plain NumPy records (no torch), so cached builds never import torch."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass(frozen=True)
class RegressionOutcome:
    """What training one regression run produced."""

    status: str
    """``"ok"``, or ``"diverged"`` when a loss or parameter became NaN or infinite."""
    losses: np.ndarray
    """Training SSE before each step (the lecture's ``epoch_loss``), float32."""
    train_sse: float
    """SSE of the final parameters on the training points."""
    train_pred: np.ndarray
    """Final model at the training inputs."""
    test_pred: np.ndarray
    """Final model on the evaluation grid."""
    parameters: np.ndarray
    """Final parameters, flattened in ``nn.Module.parameters()`` order."""
    diverged_at: int | None
    """First step whose loss was not finite, if any."""


@dataclass(frozen=True)
class PriorOutcome:
    """Functions sampled from one prior network configuration."""

    status: str
    """Always ``"ok"``: sampling has nothing to diverge."""
    x: np.ndarray
    """Grid of the drawn curves."""
    curves: np.ndarray
    """[draws, points] values of f(x) for the figure."""
    spread_x: np.ndarray
    """Points where the spread is measured."""
    measured_std: np.ndarray
    """Sample standard deviation of f(x) over ``spread_draws`` draws, at each of ``spread_x``."""
    theory_std: np.ndarray
    """Predicted standard deviation at each of ``spread_x``."""
    exact: bool
    """True when the prediction is exact at this width (one hidden layer)."""


Outcome = RegressionOutcome | PriorOutcome
_TYPES = {cls.__name__: cls for cls in (RegressionOutcome, PriorOutcome)}


def to_arrays(outcome: Outcome) -> dict[str, np.ndarray]:
    """Flatten an outcome into named arrays (for an ``.npz`` file)."""
    arrays = {"__type__": np.array(type(outcome).__name__)}
    for field in fields(outcome):
        value = getattr(outcome, field.name)
        arrays[field.name] = np.array(-1 if value is None else value)
    return arrays


def from_arrays(arrays) -> Outcome:
    """Rebuild an outcome written by :func:`to_arrays`; raise ValueError if it does not fit."""
    cls = _TYPES[str(arrays["__type__"])]
    values = {}
    for field in fields(cls):
        value = arrays[field.name]
        if value.ndim == 0:
            value = value.item()
        values[field.name] = value
    if cls is RegressionOutcome and values["diverged_at"] == -1:
        values["diverged_at"] = None
    return cls(**values)
