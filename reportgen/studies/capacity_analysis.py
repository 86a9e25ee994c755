"""Capacity: tanh networks of growing width, with one or two hidden layers."""

from __future__ import annotations

import numpy as np

from ..figures import Figure
from ..language import _, listing, ngettext
from ..outcomes import RegressionOutcome
from ..plan import Run
from ..spec import Study
from .base import StudyResult, Table, assemble, fmt_pm
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

AXIS = "model.width"


def analyze(study: Study, runs: list[Run], outcomes: list[RegressionOutcome]) -> StudyResult:
    """Metrics per run, fits and loss curves per width and depth, and the error table."""
    metrics = [regression_metrics(run, outcome, dataset_of(run)) for run, outcome in zip(runs, outcomes)]
    grid = cells(runs, outcomes, metrics)
    series = split_by(grid, AXIS)
    facts = _facts(series, dataset_of(runs[0]))
    figures = {"data": data_figure(study, grid), "fits": _fits_figure(study, series, facts),
               "losses": _losses_figure(study, series)}
    return assemble(study, runs, outcomes, metrics, figures, {"errors": _table(study, series)}, facts,
                    explorers=training_explorers(study, runs, outcomes))


def _width(cell: Cell) -> int:
    return cell.runs[0].config.model.width


def _depth(cell: Cell) -> int:
    return cell.runs[0].config.model.depth


def _depth_title(label: str) -> str:
    return label.replace(f"{_('depth')} 1", _("one hidden layer")).replace(f"{_('depth')} 2", _("two hidden layers"))


def _facts(series: dict, data) -> dict:
    # The noise floor: the SSE the noiseless target itself scores on the noisy training points.
    floor = float(np.sum((data.y_train - data.f_train) ** 2))
    out = []
    for rest, members in series.items():
        best = min(members, key=lambda c: np.nan_to_num(c.mean("test_mse"), nan=np.inf))
        reaching = [c for c in members if c.mean("train_sse") <= 1.5 * floor]
        out.append({
            "label": series_label(rest),
            "depth": _depth(members[0]),
            "best_width": _width(best),
            "best_test_mse": best.mean("test_mse"),
            "best_parameters": best.metrics[0]["n_parameters"],
            "smallest_reaching_width": _width(reaching[0]) if reaching else None,
            "narrowest_width": _width(members[0]),
            "narrowest_train_sse": members[0].mean("train_sse"),
        })
    overall = min((c for s in series.values() for c in s), key=lambda c: np.nan_to_num(c.mean("test_mse"), nan=np.inf))
    return {"series": out, "noise_floor": floor, "best_overall_width": _width(overall),
            "best_overall_depth": _depth(overall), "best_overall_test_mse": overall.mean("test_mse")}


def _fits_figure(study: Study, series: dict, facts: dict) -> Figure:
    svg = fit_panels(series, lambda cell: ngettext("{n} unit", "{n} units", _width(cell)), _depth_title)
    widths = listing(_width(c) for c in next(iter(series.values())))
    return Figure(id=f"fig-{study.id}-fits", svg=svg,
                  caption=_("Fits of tanh networks with {widths} hidden units per layer (first seed).", widths=widths),
                  alt=_("Fitted tanh networks with {widths} units per hidden layer, one panel per depth. The lowest "
                        "test error is reached with {width} units and {depth} hidden layer(s).", widths=widths,
                        width=facts["best_overall_width"], depth=facts["best_overall_depth"]))


def _losses_figure(study: Study, series: dict) -> Figure:
    svg = loss_panels(series, lambda cell: ngettext("{n} unit", "{n} units", _width(cell)), _depth_title)
    return Figure(id=f"fig-{study.id}-losses", svg=svg,
                  caption=_("Training loss during optimisation (first seed), one panel per depth."),
                  alt=_("Loss curves on log-log axes, one per width; wider networks reach lower training error."))


def _table(study: Study, series: dict) -> Table:
    rows = []
    for rest, members in series.items():
        for cell in members:
            rows.append((str(_depth(cell)), str(_width(cell)), str(cell.metrics[0]["n_parameters"]),
                         fmt_pm(cell.mean("train_sse"), cell.spread("train_sse")),
                         fmt_pm(cell.mean("test_mse"), cell.spread("test_mse"))))
    return Table(id=f"tab-{study.id}-errors",
                 columns=(_("hidden layers"), _("units per layer"), _("parameters"), _("train SSE"), _("test MSE")),
                 rows=tuple(rows), numeric=(True,) * 5,
                 caption=_("Errors per architecture, mean ± standard deviation over seeds."))
