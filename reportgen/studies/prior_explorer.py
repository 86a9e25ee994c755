"""The prior study's explorer: one configuration's draws, and its point on the spread-versus-width plot."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..explorer import Explorer, axes_of, half, single, sweep_point
from ..model import Run, Study
from .prior_sampling import PriorOutcome

DRAW_POINTS = 70
"""Most points per drawn function the explorer keeps (every k-th of the grid: 67 of the lecture's 200), for the
HTML size budget."""


def prior_explorers(study: Study, runs: Sequence[Run], outcomes: Sequence[PriorOutcome],
                    metrics: Sequence[dict]) -> dict[str, Explorer]:
    """The study's explorers: ``configurations``."""
    return {"configurations": prior_explorer(study, runs, outcomes, metrics)}


def prior_explorer(study: Study, runs: Sequence[Run], outcomes: Sequence[PriorOutcome],
                   metrics: Sequence[dict]) -> Explorer:
    """Controls over width, activation, depth (whatever is swept) and seed; per configuration, its draws and its
    measured and predicted spread."""
    grids: dict[str, int] = {}
    configs = []
    for run, outcome, m in zip(runs, outcomes, metrics):
        stride = max(1, math.ceil(len(outcome.x) / DRAW_POINTS))
        grid = grids.setdefault(single(outcome.x[::stride]), len(grids))
        curves = outcome.curves[:, ::stride]
        # A power of two: dividing by it is exact, so half precision keeps its 11 significant bits at any scale.
        largest = float(np.max(np.abs(curves))) if curves.size else 0.0
        exponent = math.frexp(largest)[1] if largest > 0 and math.isfinite(largest) else 0
        configs.append({
            "point": sweep_point(study, run),
            "seed": study.seeds.index(run.seed),
            "x": grid,
            "width": run.config.model.width,
            "exponent": exponent,
            "draws": half(np.ldexp(curves, -exponent).reshape(-1)),
            "measured": _finite(m["measured_std"]),
            "theory": _finite(m["theory_std"]),
            "exact": bool(m["theory_exact"]),
        })
    return Explorer(id=f"explorer-{study.id}", widget="samples", data={
        "axes": axes_of(study), "seeds": list(study.seeds), "grids": list(grids), "along": "model.width",
        "configs": configs,
    })


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: a spread that overflowed is null, which the script shows as a dash."""
    return value if math.isfinite(value) else None
