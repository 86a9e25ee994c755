"""Turn planned runs into outcomes: cache hits, or the trainer for all misses of a study at once."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .cache import ResultCache
from .outcomes import Outcome
from .plan import Run


@dataclass(frozen=True)
class Execution:
    """A study's outcomes, in run order, and how they were obtained."""

    outcomes: tuple[Outcome, ...]
    reused: int
    trained: int
    seconds: float


def execute_study(kind: str, runs: list[Run], cache: ResultCache) -> Execution:
    """Outcomes for every run; misses are computed together, then stored."""
    start = time.perf_counter()
    outcomes: list[Outcome | None] = [cache.get(run.key) for run in runs]
    missing = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if missing:
        computed = _compute(kind, [runs[i] for i in missing])
        for i, outcome in zip(missing, computed):
            outcomes[i] = outcome
            cache.put(runs[i].key, outcome, runs[i].key_parts)
    return Execution(outcomes=tuple(outcomes), reused=len(runs) - len(missing), trained=len(missing),
                     seconds=time.perf_counter() - start)


def _compute(kind: str, runs: list[Run]) -> list[Outcome]:
    # Imported here: a fully cached build never loads torch.
    if kind == "prior":
        from .prior import draw_prior

        return [draw_prior(run.config.model, run.config.sampling, run.seed) for run in runs]
    from .data import make_dataset
    from .train import RegressionJob, train_runs

    jobs = []
    for run in runs:
        data = make_dataset(run.config.data)
        jobs.append(RegressionJob(model=run.config.model, train=run.config.train, seed=run.seed,
                                  x_train=data.x_train, y_train=data.y_train, x_test=data.x_test))
    return train_runs(jobs)
