"""What one run produced, as plain NumPy records (no torch), so cached builds never import torch.

A study kind's runs return either a dataclass, which :func:`stored` registers so the result store can
rebuild it, or a plain dict. Fields and values hold NumPy arrays, numbers, strings, booleans or None.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

Outcome = Any
"""What one run of some study kind produced: an outcome dataclass registered with :func:`stored`, or a dict."""

_TYPES: dict[str, type] = {}
PLAIN = "dict"
"""How the store names a plain-dict outcome."""
_VALUES = (np.ndarray, np.generic, int, float, str, bool, type(None))


def stored(cls: type) -> type:
    """Register an outcome dataclass, so the result store can rebuild it from its arrays."""
    _TYPES[_type_name(cls)] = cls
    return cls


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def status_of(outcome: Any) -> str:
    """A run's ``"ok"`` or ``"diverged"``: its outcome's ``status`` field or key, ``"ok"`` when it has none."""
    if isinstance(outcome, dict):
        return outcome.get("status", "ok")
    return getattr(outcome, "status", "ok")


def check_outcome(outcome: Any, expected: type | None) -> str | None:
    """What is wrong with ``outcome`` as a run's outcome of type ``expected`` (None: a plain dict), or None."""
    if expected is not None:
        return None if isinstance(outcome, expected) else f"a {type(outcome).__name__}, not a {expected.__name__}"
    if not isinstance(outcome, dict):
        return f"a {type(outcome).__name__}, not a dict of arrays and numbers"
    for key, value in outcome.items():
        if not isinstance(key, str) or key.startswith("__"):
            return f"a dict with the key {key!r} (keys are names, not starting with '__')"
        if not isinstance(value, _VALUES):
            return f"a dict whose {key!r} is a {type(value).__name__} (values are arrays, numbers or strings)"
    if status_of(outcome) not in ("ok", "diverged"):
        return f"status {status_of(outcome)!r} (expected 'ok' or 'diverged')"
    return None



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
    if isinstance(outcome, dict):
        type_name, values = PLAIN, dict(outcome)
    elif _type_name(type(outcome)) in _TYPES:
        type_name = _type_name(type(outcome))
        values = {field.name: getattr(outcome, field.name) for field in fields(outcome)}
    else:
        raise TypeError(f"{type(outcome).__qualname__} is not a registered outcome (decorate it with @stored)")
    empty = [name for name, value in values.items() if value is None]
    arrays = {"__type__": np.array(type_name), "__none__": np.array(empty, dtype=str)}
    for name, value in values.items():
        if name not in empty:
            arrays[name] = np.array(value)
    return arrays


def from_arrays(arrays) -> Any:
    """Rebuild an outcome written by :func:`to_arrays`; raise KeyError or TypeError if it does not fit."""
    type_name = str(arrays["__type__"])
    empty = {str(name) for name in arrays["__none__"]}
    if type_name == PLAIN:
        names = sorted((set(arrays) - {"__type__", "__none__"}) | empty)
        return {name: _value(arrays, name, empty) for name in names}
    cls = _TYPES[type_name]
    return cls(**{field.name: _value(arrays, field.name, empty) for field in fields(cls)})


def _value(arrays, name: str, empty: set[str]) -> Any:
    if name in empty:
        return None
    value = arrays[name]
    return value.item() if value.ndim == 0 else value
