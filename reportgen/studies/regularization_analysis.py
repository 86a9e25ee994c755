"""Regularization: a high-degree polynomial under growing weight decay (a Gaussian prior)."""

from __future__ import annotations

import numpy as np

from ..figures import Figure, figure, log_scale, ordered_colors, to_svg
from ..language import _, listing, number
from ..outcomes import RegressionOutcome
from ..plan import Run
from ..spec import Study
from .base import StudyResult, Table, assemble, fmt, fmt_pm
from .regression import Cell, cells, data_figure, dataset_of, fit_panels, regression_metrics, series_label, split_by
from .regression_explorer import training_explorers

AXIS = "train.weight_decay"


def analyze(study: Study, runs: list[Run], outcomes: list[RegressionOutcome]) -> StudyResult:
    """Metrics per run, fits per weight decay, and test error and weight norm against weight decay."""
    metrics = [regression_metrics(run, outcome, dataset_of(run)) for run, outcome in zip(runs, outcomes)]
    grid = cells(runs, outcomes, metrics)
    series = split_by(grid, AXIS)
    facts = _facts(series)
    figures = {"data": data_figure(study, grid), "fits": _fits_figure(study, series),
               "tradeoff": _tradeoff_figure(study, series, facts)}
    return assemble(study, runs, outcomes, metrics, figures, {"errors": _table(study, series)}, facts,
                    explorers=training_explorers(study, runs, outcomes))


def _decay(cell: Cell) -> float:
    return cell.runs[0].config.train.weight_decay


def _label(decay: float) -> str:
    return "0" if decay == 0 else number(float(f"{decay:g}"))


def _facts(series: dict) -> dict:
    out = []
    for rest, members in series.items():
        best = min(members, key=lambda c: np.nan_to_num(c.mean("test_mse"), nan=np.inf))
        none = next((c for c in members if _decay(c) == 0), None)
        strongest = max(members, key=_decay)
        out.append({
            "label": series_label(rest),
            "degree": members[0].runs[0].config.model.degree,
            # How much the highest power grows at the far end of the test grid (1.05**100 is about 131).
            "edge_growth": abs(members[0].runs[0].config.data.test_domain[1]) ** members[0].runs[0].config.model.degree,
            "test_edge": members[0].runs[0].config.data.test_domain[1],
            "best_decay": _decay(best),
            "best_test_mse": best.mean("test_mse"),
            "best_norm": best.mean("weight_norm"),
            "none_test_mse": none.mean("test_mse") if none else None,
            "none_norm": none.mean("weight_norm") if none else None,
            "none_train_sse": none.mean("train_sse") if none else None,
            "best_train_sse": best.mean("train_sse"),
            "strongest_decay": _decay(strongest),
            "strongest_test_mse": strongest.mean("test_mse"),
            "strongest_train_sse": strongest.mean("train_sse"),
            "strongest_norm": strongest.mean("weight_norm"),
        })
    return {"series": out}


def _fits_figure(study: Study, series: dict) -> Figure:
    svg = fit_panels(series, lambda cell: _("weight decay {decay}", decay=_label(_decay(cell))))
    members = next(iter(series.values()))
    degree = members[0].runs[0].config.model.degree
    decays = listing(_label(_decay(c)) for c in members)
    return Figure(id=f"fig-{study.id}-fits", svg=svg,
                  caption=_("Degree-{degree} polynomial fits (first seed) for weight decay {decays}.",
                            degree=degree, decays=decays),
                  alt=_("Fits of a degree-{degree} polynomial to the training data for weight decay {decays}, "
                        "with the target function dashed and the gap shaded.", degree=degree, decays=decays))


def _tradeoff_figure(study: Study, series: dict, facts: dict) -> Figure:
    with figure(1, 2, height=2.4) as (fig, axes):
        for (rest, members), color in zip(series.items(), ordered_colors(len(series) + 1)):
            positions = np.arange(len(members))
            for ax, metric in zip(axes[0], ("test_mse", "weight_norm")):
                mean = [c.mean(metric) for c in members]
                lo, hi = zip(*(c.span(metric) for c in members))
                ax.plot(positions, mean, "o-", color=color, ms=3.5, label=series_label(rest))
                ax.fill_between(positions, lo, hi, color=color, alpha=0.2, lw=0)
                ax.set_xticks(positions, [_label(_decay(c)) for c in members])
        for ax, title in zip(axes[0], (_("test MSE against the noiseless target"),
                                       _("norm of the parameters ‖θ‖"))):
            log_scale(ax, x=False)
            ax.set_xlabel(_("weight decay λ"))
            ax.set_title(title)
        svg = to_svg(fig)
    first = facts["series"][0]
    alt = _("Test error and parameter norm against weight decay. The test error is lowest at weight decay "
            "{best} ({best_mse}); the norm falls from {none_norm} without decay to {strongest_norm} at "
            "{strongest}.", best=_label(first["best_decay"]), best_mse=fmt(first["best_test_mse"], html=False),
            none_norm=fmt(first["none_norm"] or float("nan"), html=False),
            strongest_norm=fmt(first["strongest_norm"], html=False), strongest=_label(first["strongest_decay"]))
    return Figure(id=f"fig-{study.id}-tradeoff", svg=svg, alt=alt,
                  caption=_("Test error and size of the parameter vector against the weight decay λ: mean over "
                            "seeds, band from the smallest to the largest seed."))


def _table(study: Study, series: dict) -> Table:
    rows = []
    for rest, members in series.items():
        for cell in members:
            rows.append((_label(_decay(cell)), fmt_pm(cell.mean("train_sse"), cell.spread("train_sse")),
                         fmt_pm(cell.mean("test_mse"), cell.spread("test_mse")),
                         fmt_pm(cell.mean("weight_norm"), cell.spread("weight_norm"))))
    return Table(id=f"tab-{study.id}-errors", columns=(_("weight decay λ"), _("train SSE"), _("test MSE"), "‖θ‖"),
                 rows=tuple(rows), numeric=(True, True, True, True),
                 caption=_("Errors and parameter norm per weight decay, mean ± standard deviation over seeds."))
