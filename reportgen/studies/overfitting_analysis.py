"""Overfitting: polynomial fits of growing degree, compared with their least-squares optimum."""

from __future__ import annotations

import numpy as np

from ..data import least_squares_sse
from ..figures import Figure, figure, log_scale, ordered_colors, to_svg
from ..language import _, listing
from ..outcomes import RegressionOutcome
from ..plan import Run
from ..spec import Study
from .base import StudyResult, Table, assemble, fmt, fmt_pm
from .regression import (
    Cell,
    cells,
    data_figure,
    dataset_of,
    fit_panels,
    loss_panels,
    regression_metrics,
    series_label,
    split_by,
)
from .regression_explorer import training_explorers

AXIS = "model.degree"


def analyze(study: Study, runs: list[Run], outcomes: list[RegressionOutcome]) -> StudyResult:
    """Metrics per run, the fits, error-versus-degree and loss-curve figures, and the error table."""
    metrics = []
    for run, outcome in zip(runs, outcomes):
        data = dataset_of(run)
        m = regression_metrics(run, outcome, data)
        m["lstsq_sse"] = least_squares_sse(data.x_train, data.y_train, run.config.model.degree)
        metrics.append(m)
    grid = cells(runs, outcomes, metrics)
    series = split_by(grid, AXIS)
    figures = {
        "data": data_figure(study, grid),
        "fits": _fits_figure(study, series),
        "errors": _errors_figure(study, series),
        "losses": _losses_figure(study, series),
    }
    facts = _facts(series)
    figures["errors"] = _with_alt(figures["errors"], _errors_alt(facts))
    return assemble(study, runs, outcomes, metrics, figures, {"errors": _table(study, series)}, facts,
                    explorers=training_explorers(study, runs, outcomes))


def _degree(cell: Cell) -> int:
    return cell.runs[0].config.model.degree


def _facts(series: dict) -> dict:
    per_series = []
    for rest, members in series.items():
        best = min(members, key=lambda c: (np.nan_to_num(c.mean("test_mse"), nan=np.inf), _degree(c)))
        highest = max(members, key=_degree)
        lowest = min(members, key=_degree)
        per_series.append({
            "label": series_label(rest),
            "noise": members[0].runs[0].config.data.noise,
            "best_degree": _degree(best),
            "best_test_mse": best.mean("test_mse"),
            "lowest_degree": _degree(lowest),
            "lowest_test_mse": lowest.mean("test_mse"),
            "highest_degree": _degree(highest),
            "highest_test_mse": highest.mean("test_mse"),
            "highest_train_sse": highest.mean("train_sse"),
            "highest_lstsq_sse": highest.metrics[0]["lstsq_sse"],
            "highest_test_spread": highest.span("test_mse"),
            "lowest_train_sse": lowest.mean("train_sse"),
            "n_train": len(highest.outcomes[0].train_pred),
            "max_gap_to_lstsq": max(
                abs(c.mean("train_sse") - c.metrics[0]["lstsq_sse"]) / max(c.metrics[0]["lstsq_sse"], 1e-12)
                for c in members if _degree(c) <= 3) if any(_degree(c) <= 3 for c in members) else None,
        })
    low = [c for c in next(iter(series.values())) if _degree(c) <= 3 and c.representative is not None]
    settle = [_steps_to_settle(c.outcomes[c.representative].losses) for c in low]
    return {"series": per_series, "degrees": sorted({_degree(c) for s in series.values() for c in s}),
            "low_degrees_settle": max(settle) if settle else None}


def _steps_to_settle(losses: np.ndarray) -> int:
    """First step after which the loss stays within 1 % of its final value."""
    outside = np.nonzero(np.abs(losses - losses[-1]) > 0.01 * abs(losses[-1]))[0]
    return int(outside[-1]) + 2 if len(outside) else 1


def _fits_figure(study: Study, series: dict) -> Figure:
    svg = fit_panels(series, lambda cell: _("degree {degree}", degree=_degree(cell)))
    degrees = listing(_degree(c) for c in next(iter(series.values())))
    return Figure(
        id=f"fig-{study.id}-fits", svg=svg,
        caption=_("Polynomial fits of degree {degrees} (first seed) to the training data, with the noiseless "
                  "target dashed and the gap in the data shaded. Curves that leave the frame have gone wild "
                  "where there is no data.", degrees=degrees),
        alt=_("Training points, the target function and fitted polynomials of degree {degrees}, one panel per "
              "setting ({settings}).", degrees=degrees, settings="; ".join(series_label(r) for r in series)),
    )


def _errors_figure(study: Study, series: dict) -> Figure:
    with figure(1, 2, height=2.5) as (fig, axes):
        train_ax, test_ax = axes[0]
        for (rest, members), color in zip(series.items(), ordered_colors(len(series) + 1)):
            degrees = [_degree(c) for c in members]
            for ax, metric in ((train_ax, "train_sse"), (test_ax, "test_mse")):
                mean = [c.mean(metric) for c in members]
                lo, hi = zip(*(c.span(metric) for c in members))
                ax.plot(degrees, mean, "o-", color=color, ms=3.5, label=series_label(rest))
                ax.fill_between(degrees, lo, hi, color=color, alpha=0.2, lw=0)
            lstsq = [c.metrics[0]["lstsq_sse"] for c in members]
            train_ax.plot(degrees, np.maximum(lstsq, 1e-12), "x", color=color, ms=4)
        for ax, title in ((train_ax, _("training SSE (× = least-squares optimum)")),
                          (test_ax, _("test MSE against the noiseless target"))):
            log_scale(ax)
            ax.set_xlabel(_("polynomial degree"))
            ax.set_title(title)
        test_ax.legend(frameon=False)
        svg = to_svg(fig)
    return Figure(id=f"fig-{study.id}-errors", svg=svg, alt="",
                  caption=_("Training error and test error against the polynomial degree: mean over seeds, "
                            "with the band spanning the smallest to the largest seed."))


def _errors_alt(facts: dict) -> str:
    parts = [_("For {label}, the test error is lowest at degree {best} ({best_mse}) and reaches {highest_mse} at "
               "degree {highest}", label=s["label"], best=s["best_degree"],
               best_mse=fmt(s["best_test_mse"], html=False), highest_mse=fmt(s["highest_test_mse"], html=False),
               highest=s["highest_degree"]) for s in facts["series"]]
    return _("Two log-log panels of error against degree.") + " " + "; ".join(parts) + "."


def _with_alt(fig: Figure, alt: str) -> Figure:
    return Figure(id=fig.id, caption=fig.caption, alt=alt, svg=fig.svg)


def _losses_figure(study: Study, series: dict) -> Figure:
    svg = loss_panels(series, lambda cell: _("degree {degree}", degree=_degree(cell)))
    return Figure(id=f"fig-{study.id}-losses", svg=svg,
                  caption=_("Training loss (sum of squared errors) during optimisation, first seed of each degree."),
                  alt=_("Loss curves on log-log axes, one per degree, falling faster and lower for higher degrees."))


def _table(study: Study, series: dict) -> Table:
    rows = []
    multi = len(series) > 1
    for rest, members in series.items():
        for cell in members:
            row = ([series_label(rest)] if multi else []) + [
                str(_degree(cell)),
                fmt_pm(cell.mean("train_sse"), cell.spread("train_sse")),
                fmt(cell.metrics[0]["lstsq_sse"]),
                fmt_pm(cell.mean("test_mse"), cell.spread("test_mse")),
            ]
            rows.append(tuple(row))
    columns = ([_("setting")] if multi else []) + [_("degree"), _("train SSE"), _("least-squares SSE"), _("test MSE")]
    return Table(id=f"tab-{study.id}-errors", columns=tuple(columns), rows=tuple(rows),
                 numeric=tuple([False] * multi + [True] * 4),
                 caption=_("Errors per degree: training SSE and test MSE as mean ± standard deviation over seeds, "
                           "beside the smallest training SSE any polynomial of that degree can reach (closed-form "
                           "least squares)."))
