"""The prior-sampling kind's definition schema, its outcome and its kind object (no torch: cached builds
never import it; the sampling itself is in :mod:`reportgen.studies.prior_draws`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Callable, Literal, Sequence

import numpy as np
from pydantic import BaseModel, Field, field_validator

from ..executors import StudyExecutor
from ..kinds import Progress
from ..outcomes import stored
from ..plan import Run
from ..schema import FLOAT32, FLOAT64, MLPSpec, NonNegativeFloat, PositiveFloat, StudyFields, _check_interval, _Frozen


class PriorMLPSpec(MLPSpec):
    """An MLP whose weights and biases are drawn from zero-mean Gaussians."""

    weight_std: PositiveFloat = 5.0
    """Standard deviation of every weight (the lecture's sw)."""
    bias_std: NonNegativeFloat = 5.0
    """Standard deviation of every bias (the lecture's sb)."""




class SamplingSpec(_Frozen):
    """How functions are drawn from the prior and where they are evaluated."""

    draws: Annotated[int, Field(ge=1, le=1000)] = 10
    """Functions drawn for the figure."""
    spread_draws: Annotated[int, Field(ge=2, le=100_000)] = 100
    """Functions drawn to measure the spread of f(x)."""
    spread_points: Annotated[int, Field(ge=1, le=1000)] = 11
    """Grid points at which the spread is measured."""
    domain: tuple[float, float] = (-5.0, 5.0)
    points: Annotated[int, Field(ge=2, le=100_000)] = 200

    _interval = field_validator("domain")(_check_interval)




class PriorStudyFile(StudyFields):
    """Schema of a prior-sampling study file."""

    kind: Literal["prior"]
    model: PriorMLPSpec
    sampling: SamplingSpec = SamplingSpec()

    def memory_estimate(self) -> int:
        """Bytes one configuration holds while it is sampled (its widest layer, at the draws and the spread)."""
        s, width = self.sampling, self.model.width
        # The figure's draws materialise each weight matrix; the spread works on covariances over its points.
        draws = s.draws * (width * width + 3 * s.points * width) * FLOAT32
        spread = s.spread_draws * (3 * s.spread_points ** 2 + 2 * s.spread_points * width) * FLOAT64
        return draws + spread


@stored
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


@dataclass(frozen=True)
class SamplingKind:
    """A study kind whose runs draw functions from a Gaussian weight prior (see :class:`StudyKind`)."""

    name: str
    analyze: Callable
    template: str
    schema: type[BaseModel] = PriorStudyFile
    templates: Path | None = None
    outcome: type = PriorOutcome
    trains: bool = False
    batched: bool = False
    """Configurations are sampled one after another."""

    def work_units(self, study) -> int:
        """One unit per run."""
        return study.n_runs

    def compute(self, runs: Sequence[Run], progress: Progress, executor: StudyExecutor) -> list[PriorOutcome]:
        """Sample every run as its own work unit (a prior configuration); seeded per run, so the executor does not
        matter."""
        outcomes: list = [None] * len(runs)
        costs = [run.config.memory_estimate() for run in runs]  # the widest first, so a narrow one ends the study
        for i, outcome in executor.map(sample_run, list(runs), costs):
            outcomes[i] = outcome
            progress(1)
        return outcomes


def sample_run(run: Run) -> PriorOutcome:
    """One prior configuration's draws, where the executor placed it, on one torch thread."""
    # Imported here: the client of a cached build, or of a cluster build, never loads torch for sampling.
    import torch

    from . import prior_draws

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return prior_draws.draw_prior(run.config.model, run.config.sampling, run.seed)
    finally:
        torch.set_num_threads(threads)
