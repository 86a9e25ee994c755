"""One module per study kind: its analysis, figures and tables."""

from __future__ import annotations

from importlib import import_module
from typing import Callable

from .base import StudyResult, Table

_MODULES = {"overfitting": "overfitting", "regularization": "regularization", "prior": "prior",
            "capacity": "capacity"}


def analyzer(kind: str) -> Callable[..., StudyResult]:
    """The ``analyze(study, runs, outcomes)`` function of a study kind."""
    return import_module(f".{_MODULES[kind]}", __name__).analyze


__all__ = ["StudyResult", "Table", "analyzer"]
