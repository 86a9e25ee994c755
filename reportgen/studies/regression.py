"""Analysis shared by the studies that train regression models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..data import Dataset, make_dataset, region_errors
from ..figures import (
    DATA_COLOR,
    TRUTH_COLOR,
    data_limits,
    figure,
    log_scale,
    plain_number,
    plotted_values,
    sequence_style,
    shade_beyond,
    shade_gap,
    to_svg,
)
from ..formatting import fmt, fmt_pm
from ..language import _, current, fixed, number
from ..model import Run
from ..outcomes import RegressionOutcome
from ..results import Figure
from ..stats import Interval, interval


@dataclass(frozen=True)
class Cell:
    """The runs of one sweep point (all seeds) and their summary statistics."""

    params: dict[str, Any]
    runs: tuple[Run, ...]
    outcomes: tuple[RegressionOutcome, ...]
    metrics: tuple[dict[str, float], ...]

    def mean(self, metric: str) -> float:
        """Mean over the healthy seeds (NaN when all diverged)."""
        values = [m[metric] for m, o in zip(self.metrics, self.outcomes) if o.status == "ok"]
        return float(np.mean(values)) if values else float("nan")

    def spread(self, metric: str) -> float:
        """Sample standard deviation over the healthy seeds (0 for a single seed)."""
        values = [m[metric] for m, o in zip(self.metrics, self.outcomes) if o.status == "ok"]
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    def interval(self, metric: str) -> Interval:
        """The mean over the healthy seeds with its 95 % interval (Student's t)."""
        return interval(m[metric] for m, o in zip(self.metrics, self.outcomes) if o.status == "ok")

    def span(self, metric: str) -> tuple[float, float]:
        """Smallest and largest value over the healthy seeds."""
        values = [m[metric] for m, o in zip(self.metrics, self.outcomes) if o.status == "ok"]
        return (float(min(values)), float(max(values))) if values else (float("nan"), float("nan"))

    @property
    def representative(self) -> int | None:
        """Index of the first healthy seed, whose fit the figures draw."""
        return next((i for i, o in enumerate(self.outcomes) if o.status == "ok"), None)


def dataset_of(run: Run) -> Dataset:
    """The data set a run was trained on."""
    return make_dataset(run.config.data)


def regression_metrics(run: Run, outcome: RegressionOutcome, data: Dataset) -> dict[str, float]:
    """The numbers reported for every regression run."""
    test_mse = float(np.mean((outcome.test_pred.astype(np.float64) - data.f_test) ** 2))
    metrics = {
        "train_sse": float(outcome.train_sse),
        "test_mse": test_mse,
        **region_errors(outcome.test_pred, data),
        "final_loss": float(outcome.losses[-1]),
        "weight_norm": float(np.sqrt(np.sum(outcome.parameters.astype(np.float64) ** 2))),
        "n_parameters": int(outcome.parameters.size),
    }
    if outcome.diverged_at is not None:
        metrics["diverged_at_step"] = int(outcome.diverged_at) + 1  # steps counted from 1, as a reader would
    return metrics


def noise_floor(data: Dataset) -> float:
    """The training SSE of the noiseless target itself: the noise drawn into these very points (Σ ε²)."""
    return float(((data.y_train - data.f_train) ** 2).sum())


def ranked(members: Sequence[Cell], metric: str, name: Callable[[Cell], Any], key: str = "degree") -> dict[str, Any]:
    """The cell with the lowest mean ``metric`` (named under ``key`` by ``name``), the runner-up, and whether the
    best is clearly lower: its 95 % interval over seeds lies entirely below the runner-up's (else the difference
    is within the spread)."""
    order = sorted((c for c in members if np.isfinite(c.mean(metric))), key=lambda c: (c.mean(metric), name(c)))
    if not order:
        return {key: None, "mse": float("nan"), "decisive": False, "seeds": 0, "runner_up": None, "runner_up_mse": None}
    best = order[0]
    runner = order[1] if len(order) > 1 else None
    return {key: name(best), "mse": best.mean(metric),
            "decisive": bool(runner is not None and best.interval(metric).below(runner.interval(metric))),
            "seeds": best.interval(metric).n,
            "runner_up": name(runner) if runner else None,
            "runner_up_mse": runner.mean(metric) if runner else None}


def interval_cell(cell: Cell, metric: str) -> str:
    """A table cell: the mean over seeds ± the half-width of its 95 % interval (the mean alone for one seed)."""
    found = cell.interval(metric)
    return fmt(found.mean) if not np.isfinite(found.half_width) else fmt_pm(found.mean, found.half_width)


def cells(runs: Sequence[Run], outcomes: Sequence[RegressionOutcome], metrics: Sequence[dict]) -> list[Cell]:
    """Group runs by sweep point, in sweep order."""
    groups: dict[tuple, list[int]] = {}
    for i, run in enumerate(runs):
        groups.setdefault(run.params, []).append(i)
    return [Cell(dict(params), tuple(runs[i] for i in idx), tuple(outcomes[i] for i in idx),
                 tuple(metrics[i] for i in idx)) for params, idx in groups.items()]


def split_by(cell_list: list[Cell], key: str) -> dict[Any, list[Cell]]:
    """Cells grouped by every swept value other than ``key``: one series per group, ``key`` along it."""
    series: dict[Any, list[Cell]] = {}
    for cell in cell_list:
        rest = tuple((k, v) for k, v in cell.params.items() if k != key)
        series.setdefault(rest, []).append(cell)
    return series


def series_label(rest: tuple[tuple[str, Any], ...]) -> str:
    """A legend label for the fixed values of a series, e.g. ``noise 0.3``."""
    return current().separator.join(f"{_(k.split('.')[-1].replace('_', ' '))} {number(v)}" for k, v in rest) or _(
        "all runs")


def draw_data(ax, data: Dataset) -> None:
    """Training points, the noiseless target and the gap, in the house style."""
    shade_gap(ax, data.gap)
    shade_beyond(ax, data.x_test, data.x_train)
    ax.plot(data.x_test, data.f_test, color=TRUTH_COLOR, lw=1.2, ls="--", label=_("target f(x)"), zorder=3)
    # A marker-only line draws the points as a scatter of area 14 pt² would, at a fraction of the cost.
    ax.plot(data.x_train, data.y_train, "o", ms=14 ** 0.5, color=DATA_COLOR, zorder=4, label=_("training data"))
    ax.set_ylim(*data_limits(np.concatenate([data.y_train, data.f_test])))
    ax.set_xlim(data.x_test[0], data.x_test[-1])
    ax.set_xlabel("x")


def downsample_curve(losses: np.ndarray, points: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Log-spaced steps (1-based) and their losses, so a 10,000-step curve stays a small SVG."""
    steps = np.unique(np.geomspace(1, len(losses), points).astype(int))
    return steps, losses[steps - 1]


def data_figure(study, cell_list: list[Cell]) -> Figure:
    """The training data of the study (one panel per distinct data set): what a student gets to see."""
    panels: dict[str, tuple[str, Dataset]] = {}
    for cell in cell_list:
        config = cell.runs[0].config.data
        label = current().separator.join(f"{_(k.split('.')[-1].replace('_', ' '))} {number(v)}"
                                         for k, v in cell.params.items() if k.startswith("data."))
        panels.setdefault(config.model_dump_json(), (label, dataset_of(cell.runs[0])))
    shown = list(panels.values())[:4]
    with figure(1, len(shown), height=2.4, sharey=True) as (fig, axes):
        for ax, (label, data) in zip(axes[0], shown):
            draw_data(ax, data)
            if label:
                ax.set_title(label)
        axes[0][0].set_ylabel("y")
        axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        svg, values = to_svg(fig), plotted_values(fig)
    data = shown[0][1]
    points = len(data.x_train)
    gap = _(", with no points between x = {low} and {high}", low=fixed(data.gap[0], 2),
            high=fixed(data.gap[1], 2)) if data.gap else ""
    return Figure(id=f"fig-{study.id}-data", svg=svg, values=values,
                  caption=_("The training data: {points} noisy observations of the target (dashed){gap} (shaded).",
                            points=points, gap=gap),
                  alt=_data_alt(shown, gap))


def _data_alt(shown: list, gap: str) -> str:
    """What the data figure shows, in numbers: how many points, where, the range of their values."""
    data = shown[0][1]
    ys = np.concatenate([d.y_train for _label, d in shown])
    facts = {"points": len(data.x_train), "low": fixed(data.x_train.min(), 2), "high": fixed(data.x_train.max(), 2),
             "ymin": plain_number(float(ys.min())), "ymax": plain_number(float(ys.max())), "gap": gap}
    if len(shown) == 1:
        return _("{points} noisy observations of the target, x from {low} to {high}, y from {ymin} to {ymax}{gap}.",
                 **facts)
    return _("{panels} panels, one per setting ({settings}), each of {points} noisy observations of the target, x "
             "from {low} to {high}; y from {ymin} to {ymax} over all panels{gap}.", panels=len(shown),
             settings="; ".join(label for label, _data in shown), **facts)


def fit_panels(series: dict, label: Callable[[Cell], str], title: Callable[[str], str] = str,
               every_seed: bool = False) -> tuple[str, tuple]:
    """SVG and plotted values: one panel per series with the data, the target and each cell's fit (first healthy
    seed); with ``every_seed``, the other healthy seeds' fits drawn faintly beneath it, so the spread over seeds
    shows."""
    with figure(1, len(series), height=2.7, sharey=True) as (fig, axes):
        for ax, (rest, members) in zip(axes[0], series.items()):
            data = dataset_of(members[0].runs[0])
            draw_data(ax, data)
            for k, cell in enumerate(members):
                style = sequence_style(k, len(members), len(data.x_test))
                i = cell.representative
                for j, outcome in enumerate(cell.outcomes if every_seed else ()):
                    if outcome.status == "ok" and j != i:
                        ax.plot(data.x_test, outcome.test_pred, color=faint(style["color"]), lw=0.6)
                if i is not None:
                    ax.plot(data.x_test, cell.outcomes[i].test_pred, lw=1.1, label=label(cell), **style)
            if len(series) > 1:
                ax.set_title(title(series_label(rest)))
        axes[0][0].set_ylabel("y")
        axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        # The data figure lists the training data; the fits' tables give the fits beside the target.
        return to_svg(fig), plotted_values(fig, listed_elsewhere=(_("training data"),))


def faint(color) -> tuple:
    """``color`` at the opacity of a seed drawn beneath the first one."""
    return (*color[:3], 0.35)


def loss_panels(series: dict, label: Callable[[Cell], str],
                title: Callable[[str], str] = str) -> tuple[str, tuple]:
    """SVG and plotted values: one log-log panel per series with each cell's training loss curve (first healthy
    seed)."""
    with figure(1, len(series), height=2.4, sharey=True) as (fig, axes):
        for ax, (rest, members) in zip(axes[0], series.items()):
            for k, cell in enumerate(members):
                i = cell.representative
                if i is not None:
                    steps, losses = downsample_curve(cell.outcomes[i].losses)
                    ax.plot(steps, losses, lw=1.0, label=label(cell), **sequence_style(k, len(members), len(steps)))
            log_scale(ax)
            ax.set_xlabel(_("Adam step"))
            if len(series) > 1:
                ax.set_title(title(series_label(rest)))
        axes[0][0].set_ylabel(_("training SSE"))
        axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        return to_svg(fig), plotted_values(fig)
