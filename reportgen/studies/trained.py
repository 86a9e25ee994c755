"""The kind object shared by the studies that train a regression model on the lecture's data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from pydantic import BaseModel

from ..executors import StudyExecutor
from ..kinds import Progress
from ..outcomes import RegressionOutcome
from ..plan import Run


@dataclass(frozen=True)
class RegressionKind:
    """A study kind whose runs are regression models trained by the sweep trainer (see :class:`StudyKind`)."""

    name: str
    schema: type[BaseModel]
    analyze: Callable
    template: str
    templates: Path | None = None
    outcome: type = RegressionOutcome
    trains: bool = True
    batched: bool = True
    """The sweep trainer holds every missing run of a study together."""
    handout: Callable | None = None
    """``handout(study, runs)``: the study as a student edition shows it, from its definition alone (a
    :class:`StudyResult` without runs), so that a build of student editions alone computes nothing; None: the
    handout needs the runs' results."""
    lab: object | None = None
    """Writes the kind's sections of the lab notebooks (see :mod:`reportgen.studies.lab`); None: a section with
    words and activities only."""

    def work_units(self, study) -> int:
        """Run-steps: every sweep point's steps, once per seed."""
        return sum(point.config.train.steps for point in study.points) * len(study.seeds)

    def compute(self, runs: Sequence[Run], progress: Progress, executor: StudyExecutor) -> list[RegressionOutcome]:
        """Train every run on its data set, in batched chunks: one work unit each, on ``executor``."""
        # Imported here: a fully cached build never loads torch.
        from ..data import make_dataset
        from ..train import RegressionJob, train_runs

        jobs = []
        for run in runs:
            data = make_dataset(run.config.data)
            jobs.append(RegressionJob(model=run.config.model, train=run.config.train, seed=run.seed,
                                      x_train=data.x_train, y_train=data.y_train, x_test=data.x_test))
        return train_runs(jobs, progress=progress, executor=executor)
