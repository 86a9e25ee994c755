"""The regression studies' explorer: every run's fit at its checkpoints, replayed beside its loss curve."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..explorer import Explorer, axes_of, half, single, sweep_point
from ..figures import data_limits
from ..model import Run, Study
from ..outcomes import RegressionOutcome
from .regression import dataset_of

CURVE_POINTS = 48
"""Log-spaced steps of the loss curve the explorer draws (the checkpoints are added to them)."""


def training_explorers(study: Study, runs: Sequence[Run], outcomes: Sequence[RegressionOutcome]
                       ) -> dict[str, Explorer]:
    """The study's explorers: ``training``, unless no run recorded snapshots (then there is nothing to replay)."""
    if not any(len(outcome.snapshot_steps) for outcome in outcomes):
        return {}
    return {"training": training_explorer(study, runs, outcomes)}


def training_explorer(study: Study, runs: Sequence[Run], outcomes: Sequence[RegressionOutcome]) -> Explorer:
    """Controls over the swept values and the seed; per run, the fit after each checkpoint and the loss curve."""
    datasets: dict[str, int] = {}
    schedules: dict[tuple, int] = {}
    data_entries, schedule_entries, run_entries = [], [], []
    for run, outcome in zip(runs, outcomes):
        config = run.config.data.model_dump_json()
        if config not in datasets:
            datasets[config] = len(data_entries)
            data_entries.append(_dataset_entry(run))
        steps = len(outcome.losses)
        schedule = (steps, tuple(int(s) for s in outcome.snapshot_steps))
        if schedule not in schedules:
            schedules[schedule] = len(schedule_entries)
            schedule_entries.append({"steps": steps, "checkpoints": list(schedule[1]),
                                     "curve": curve_steps(steps, schedule[1])})
        curve = schedule_entries[schedules[schedule]]["curve"]
        run_entries.append({
            "point": sweep_point(study, run),
            "seed": study.seeds.index(run.seed),
            "data": datasets[config],
            "schedule": schedules[schedule],
            "fits": half(outcome.snapshots.reshape(-1)),
            "losses": single(losses_after(outcome, curve)),
        })
    return Explorer(id=f"explorer-{study.id}", widget="replay", data={
        "axes": axes_of(study),
        "seeds": list(study.seeds),
        "datasets": data_entries,
        "schedules": schedule_entries,
        "runs": run_entries,
    })


def curve_steps(steps: int, checkpoints: tuple[int, ...]) -> list[int]:
    """Where the explorer samples the loss curve: log-spaced steps from 1 to ``steps``, and every checkpoint."""
    spaced = np.unique(np.geomspace(1, steps, CURVE_POINTS).round().astype(int))
    return sorted({int(s) for s in spaced} | set(checkpoints))


def losses_after(outcome: RegressionOutcome, steps: list[int]) -> np.ndarray:
    """Training SSE of the model after each of ``steps`` Adam steps: the loss the next step starts from, or the
    final SSE after the last step (``losses[k]`` is measured before step k + 1)."""
    total = len(outcome.losses)
    return np.array([outcome.losses[s] if s < total else outcome.train_sse for s in steps], dtype=np.float32)


def _dataset_entry(run: Run) -> dict:
    data = dataset_of(run)
    return {"x_train": single(data.x_train), "y_train": single(data.y_train), "x_test": single(data.x_test),
            "target": single(data.f_test), "gap": list(data.gap) if data.gap else None,
            "ylim": list(data_limits(np.concatenate([data.y_train, data.f_test])))}
