"""What one run produced, as plain NumPy records (no torch), so cached builds never import torch.

Each study kind names its outcome dataclass; :func:`stored` registers it so the result store can
rebuild it. Fields hold NumPy arrays, numbers, strings, booleans or None.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

Outcome = Any
"""Any outcome dataclass registered with :func:`stored`: what one run of some study kind produced."""

_TYPES: dict[str, type] = {}


def stored(cls: type) -> type:
    """Register an outcome dataclass, so the result store can rebuild it from its arrays."""
    _TYPES[_type_name(cls)] = cls
    return cls


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"



@stored
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
    snapshot_steps: np.ndarray
    """Checkpoints: after how many Adam steps each snapshot was taken (increasing; the last is the final step)."""
    snapshots: np.ndarray
    """[checkpoints, test points] the model on the evaluation grid after each of ``snapshot_steps``, float32.
    The last row is ``test_pred`` bit for bit."""


def to_arrays(outcome: Any) -> dict[str, np.ndarray]:
    """Flatten an outcome into named arrays (for an ``.npz`` file); None fields are listed, not stored."""
    if _type_name(type(outcome)) not in _TYPES:
        raise TypeError(f"{type(outcome).__qualname__} is not a registered outcome (decorate it with @stored)")
    arrays = {"__type__": np.array(_type_name(type(outcome)))}
    empty = [field.name for field in fields(outcome) if getattr(outcome, field.name) is None]
    arrays["__none__"] = np.array(empty, dtype=str)
    for field in fields(outcome):
        if field.name not in empty:
            arrays[field.name] = np.array(getattr(outcome, field.name))
    return arrays


def from_arrays(arrays) -> Any:
    """Rebuild an outcome written by :func:`to_arrays`; raise KeyError or TypeError if it does not fit."""
    cls = _TYPES[str(arrays["__type__"])]
    empty = {str(name) for name in arrays["__none__"]}
    values = {}
    for field in fields(cls):
        if field.name in empty:
            values[field.name] = None
            continue
        value = arrays[field.name]
        values[field.name] = value.item() if value.ndim == 0 else value
    return cls(**values)
