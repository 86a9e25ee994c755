"""The kind object shared by the studies that train a regression model on the lecture's data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..executors import StudyExecutor
from ..kinds import Kind, Progress
from ..model import Run
from ..outcomes import RegressionOutcome


@dataclass(frozen=True)
class RegressionKind(Kind):
    """A study kind whose runs are regression models trained together by the sweep trainer."""

    outcome: type | None = RegressionOutcome
    trains: bool = True
    batched: bool = True
    """The sweep trainer holds every missing run of a study together."""

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
