"""Regularization: a high-degree polynomial under growing weight decay, beside the MAP solution in closed form.

``torch.optim.Adam`` with ``weight_decay`` adds ``weight_decay · θ`` to the gradient (coupled L2), so a run that
converges minimizes SSE + λ‖θ‖² with λ = weight_decay / 2 (:func:`reportgen.data.penalty_weight`): the MAP
estimate under a Gaussian prior. Each run is compared with that solution, so the report can say which runs
reached it and which were still on their way (early stopping), and judge the prior by what it does at its optimum.
"""

from __future__ import annotations

import math

import numpy as np

from ..data import penalty_weight, polynomial_map, region_errors
from ..figures import (
    figure,
    log_scale,
    ordered_colors,
    plain_number,
    plotted_values,
    to_svg,
    unlisted,
    values_only,
)
from ..formatting import fmt
from ..language import _, conjoined, number
from ..model import Run, Study
from ..outcomes import RegressionOutcome
from ..results import Figure, StudyResult, Table, assemble
from .regression import (
    Cell,
    cells,
    data_figure,
    dataset_of,
    fit_panels,
    interval_cell,
    ranked,
    regression_metrics,
    series_label,
    split_by,
)
from .regression_explorer import training_explorers

AXIS = "train.weight_decay"
REACHED = 0.05
"""A run whose parameters lie within this relative distance of the MAP solution has reached it."""


def analyze(study: Study, runs: list[Run], outcomes: list[RegressionOutcome]) -> StudyResult:
    """Metrics per run (by region, beside MAP), fits, errors and norms against weight decay, tables, facts."""
    metrics = []
    for run, outcome in zip(runs, outcomes):
        data = dataset_of(run)
        m = regression_metrics(run, outcome, data)
        optimum = polynomial_map(data.x_train, data.y_train, run.config.model.degree, run.config.train.weight_decay)
        trained = outcome.parameters.astype(np.float64)
        m["map_train_sse"] = optimum.train_sse
        m["map_norm"] = float(np.linalg.norm(optimum.parameters))
        m["map_distance"] = float(np.linalg.norm(trained - optimum.parameters) / np.linalg.norm(optimum.parameters))
        m.update(region_errors(optimum.predict(data.x_test), data, prefix="map_"))
        metrics.append(m)
    grid = cells(runs, outcomes, metrics)
    series = split_by(grid, AXIS)
    facts = _facts(series)
    figures = {"data": data_figure(study, grid), "fits": _fits_figure(study, series),
               "tradeoff": _tradeoff_figure(study, series, facts)}
    tables = {"errors": _table(study, series), "map": _map_table(study, series)}
    return assemble(study, runs, outcomes, metrics, figures, tables, facts,
                    explorers=training_explorers(study, runs, outcomes))


def _decay(cell: Cell) -> float:
    return cell.runs[0].config.train.weight_decay


def _label(decay: float) -> str:
    return "0" if decay == 0 else number(float(f"{decay:g}"))


def _direction(values: list[float]) -> str:
    """``rises``, ``falls`` or ``mixed``: how a sequence moves from one step to the next."""
    steps = np.diff(np.asarray(values, float))
    if (steps > 0).all():
        return "rises"
    if (steps < 0).all():
        return "falls"
    return "mixed"


def _facts(series: dict) -> dict:
    return {"series": [_series_facts(rest, members) for rest, members in series.items()]}


def _series_facts(rest: tuple, members: list[Cell]) -> dict:
    ordered = sorted(members, key=_decay)
    penalized = [c for c in ordered if _decay(c) > 0]
    none = next((c for c in ordered if _decay(c) == 0), None)
    strongest = ordered[-1]
    data = dataset_of(strongest.runs[0])
    counts = {name: int(mask.sum()) for name, mask in data.regions().items()}
    reached = [_decay(c) for c in penalized if _farthest(c) <= REACHED]
    on_the_way = [_decay(c) for c in penalized if _farthest(c) > REACHED]
    share = (counts["outside"] * none.mean("mse_outside") / (sum(counts.values()) * none.mean("test_mse"))
             if none is not None and counts["outside"] and none.mean("test_mse") > 0 else 0.0)
    weakest_on_the_way = next((c for c in penalized if _decay(c) in on_the_way), None)
    noise = strongest.runs[0].config.data.noise
    return {
        "label": series_label(rest),
        "degree": strongest.runs[0].config.model.degree,
        "noise": noise,
        "decays": [_decay(c) for c in ordered],
        "best_inside": ranked(ordered, "mse_inside", _decay, key="decay"),
        "best_gap": ranked(ordered, "mse_gap", _decay, key="decay"),
        "trained_gap_direction": _direction([c.mean("mse_gap") for c in penalized]),
        "trained_test_direction": _direction([c.mean("test_mse") for c in ordered]),
        "map_gap_direction": _direction([c.metrics[0]["map_mse_gap"] for c in penalized]),
        "map_inside_direction": _direction([c.metrics[0]["map_mse_inside"] for c in penalized]),
        "map_best_inside": _map_best(penalized, "map_mse_inside"),
        "map_best_gap": _map_best(penalized, "map_mse_gap"),
        "weakest": {"decay": _decay(penalized[0]), "map_mse_inside": penalized[0].metrics[0]["map_mse_inside"],
                    "map_mse_gap": penalized[0].metrics[0]["map_mse_gap"]} if penalized else None,
        "strongest": {"decay": _decay(strongest), "map_mse_inside": strongest.metrics[0]["map_mse_inside"],
                      "map_mse_gap": strongest.metrics[0]["map_mse_gap"], "norm": strongest.mean("weight_norm"),
                      "train_sse": strongest.mean("train_sse"), "test_mse": strongest.mean("test_mse")},
        "reached_map": reached,
        "on_the_way": on_the_way,
        # Every seed of every run that reached MAP lies within this many percent of it (rounded up, never down).
        "reached_within_percent": _rounded_up(100 * max((_farthest(c) for c in penalized if _decay(c) in reached),
                                                        default=0.0)) if reached else None,
        "on_the_way_example": None if weakest_on_the_way is None else {
            "decay": _decay(weakest_on_the_way), "train_sse": weakest_on_the_way.mean("train_sse"),
            "map_train_sse": weakest_on_the_way.metrics[0]["map_train_sse"],
            "distance": weakest_on_the_way.mean("map_distance")},
        "none": None if none is None else {
            "test_mse": none.mean("test_mse"), "norm": none.mean("weight_norm"),
            "train_sse": none.mean("train_sse"), "lstsq_norm": none.metrics[0]["map_norm"],
            "lstsq_train_sse": none.metrics[0]["map_train_sse"]},
        "outside_points": counts["outside"],
        "has_gap": counts["gap"] > 0,
        "outside_share_without_decay": share,
        "prior_variances": [{"decay": _decay(c), "lambda": penalty_weight(_decay(c)),
                             "variance": noise ** 2 / penalty_weight(_decay(c))} for c in penalized],
    }


def _farthest(cell: Cell) -> float:
    """The largest relative distance to MAP over the cell's healthy seeds."""
    return max((m["map_distance"] for m, o in zip(cell.metrics, cell.outcomes) if o.status == "ok"),
               default=float("inf"))


def _rounded_up(value: float, digits: int = 2) -> float:
    """``value`` rounded up to ``digits`` significant digits: a bound that stays a bound once written."""
    if value <= 0:
        return 0.0
    scale = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return float(f"{math.ceil(value / scale - 1e-9) * scale:.{digits}g}")


def _map_best(members: list[Cell], metric: str) -> dict:
    best = min(members, key=lambda c: c.metrics[0][metric])
    return {"decay": _decay(best), "mse": best.metrics[0][metric]}


def _fits_figure(study: Study, series: dict) -> Figure:
    svg, values = fit_panels(series, lambda cell: _("weight decay {decay}", decay=_label(_decay(cell))))
    members = next(iter(series.values()))
    degree = members[0].runs[0].config.model.degree
    decays = conjoined(_label(_decay(c)) for c in members)
    return Figure(id=f"fig-{study.id}-fits", svg=svg, values=values,
                  caption=_("Degree-{degree} polynomial fits (first seed) for weight decay {decays}.",
                            degree=degree, decays=decays),
                  alt=" ".join([_("Fits of a degree-{degree} polynomial for weight decay {decays}.", degree=degree,
                                  decays=decays), *(_fits_finding(rest, members, len(series) > 1)
                                                    for rest, members in series.items())]))


def _fits_finding(rest: tuple, members: list[Cell], named: bool) -> str:
    """Where a panel's fits come closest to the target, inside the data and in the gap, with the errors."""
    inside = ranked(members, "mse_inside", _decay, key="decay")
    gap = ranked(members, "mse_gap", _decay, key="decay")
    prefix = f"{series_label(rest)}: " if named else ""
    if inside["decay"] is None:
        return ""
    if gap["decay"] is None:
        return prefix + _("Inside the data the test error is lowest at weight decay {inside} ({inside_mse}).",
                          inside=_label(inside["decay"]), inside_mse=plain_number(inside["mse"]))
    return prefix + _("Inside the data the test error is lowest at weight decay {inside} ({inside_mse}), in the gap "
                      "at {gap} ({gap_mse}).", inside=_label(inside["decay"]),
                      inside_mse=plain_number(inside["mse"]), gap=_label(gap["decay"]),
                      gap_mse=plain_number(gap["mse"]))


def _positions(ordered: list[Cell]) -> np.ndarray:
    """Equal steps for the non-zero decays, and 0 set apart to their left: no log axis can place it."""
    return np.array([0.0 if _decay(c) == 0 else 1.0 + i for i, c in enumerate(ordered)])


def _tradeoff_figure(study: Study, series: dict, facts: dict) -> Figure:
    with figure(1, 2, height=2.5) as (fig, axes):
        error_ax, norm_ax = axes[0]
        for (rest, members), color in zip(series.items(), ordered_colors(len(series) + 1)):
            ordered = sorted(members, key=_decay)
            positions = _positions(ordered)
            setting = "" if len(series) == 1 else f", {series_label(rest)}"
            for metric, style, name in (("mse_inside", "o-", _("MSE inside the data")),
                                        ("mse_gap", "s--", _("MSE in the gap"))):
                error_ax.plot(positions, [c.mean(metric) for c in ordered], style, color=color, ms=3.5,
                              label=unlisted(_("{curve}, trained", curve=name) + setting))
            norm_ax.plot(positions, [c.mean("weight_norm") for c in ordered], "o-", color=color, ms=3.5,
                         label=unlisted(_("{curve}, trained", curve="‖θ‖") + setting))
            _map_markers(error_ax, positions, [[c.metrics[0][f"map_{m}"] for c in ordered]
                                               for m in ("mse_inside", "mse_gap")], ordered,
                         [_("{curve}, MAP", curve=_("MSE inside the data")) + setting,
                          _("{curve}, MAP", curve=_("MSE in the gap")) + setting])
            _map_markers(norm_ax, positions, [[c.metrics[0]["map_norm"] for c in ordered]], ordered,
                         [_("{curve}, MAP", curve="‖θ‖") + setting])
            for ax in (error_ax, norm_ax):
                ax.set_xticks(positions, [_label(_decay(c)) for c in ordered])
                if any(_decay(c) == 0 for c in ordered):
                    ax.axvline(0.5, color="#888888", lw=0.8, ls=":")
        for ax, title in ((error_ax, _("MSE inside the data (●) and in the gap (■); MAP ×, ▲ above the axis")),
                          (norm_ax, _("norm of the parameters ‖θ‖; MAP ×, ▲ above the axis"))):
            log_scale(ax, x=False)
            ax.set_xlabel(_("weight decay"))
            ax.set_title(title)
        svg, values = to_svg(fig), plotted_values(fig)
    first = facts["series"][0]
    if first["best_gap"]["decay"] is None:  # data with no gap
        alt = _("Test error inside the data and parameter norm against weight decay, trained runs beside the MAP "
                "solution. Inside the data the trained error is lowest at weight decay {inside} ({inside_mse}).",
                inside=_label(first["best_inside"]["decay"]), inside_mse=fmt(first["best_inside"]["mse"], html=False))
    else:
        alt = _("Test error by region and parameter norm against weight decay, trained runs beside the MAP solution. "
                "Inside the data the trained error is lowest at weight decay {inside} ({inside_mse}); in the gap at "
                "{gap} ({gap_mse}).", inside=_label(first["best_inside"]["decay"]),
                inside_mse=fmt(first["best_inside"]["mse"], html=False), gap=_label(first["best_gap"]["decay"]),
                gap_mse=fmt(first["best_gap"]["mse"], html=False))
    if first["reached_map"]:
        alt += " " + _("The trained runs sit on the MAP solution for weight decay {decays}.",
                       decays=conjoined(_label(d) for d in first["reached_map"]))
    return Figure(id=f"fig-{study.id}-tradeoff", svg=svg, values=values, alt=alt,
                  caption=_("Test error inside the data and in the gap (left) and size of the parameter vector "
                            "(right) against the weight decay, mean over seeds, beside the MAP solution in closed form "
                            "(×). The non-zero decays are placed at equal steps; 0 is set apart on the left."))


def _map_markers(ax, positions: np.ndarray, rows: list[list[float]], ordered: list[Cell], names: list[str]) -> None:
    """The MAP values as crosses; the interpolant of decay 0, orders of magnitude above the rest, as a ▲ on the
    axis's top edge rather than a scale that flattens everything else. The plotted values list them all, by
    ``names``."""
    penalized = [v for row in rows for v, c in zip(row, ordered) if _decay(c) > 0]
    drawn = [line.get_ydata() for line in ax.get_lines() if line.get_visible()]
    top = max([*penalized, *(float(np.nanmax(y)) for y in drawn if len(y))]) * 3
    for row, name in zip(rows, names):
        values = np.asarray(row, float)
        values_only(ax, positions, values, name)
        above = values > top
        ax.plot(positions[~above], values[~above], "x", color="#444444", ms=5)
        ax.plot(positions[above], np.full(above.sum(), top), "^", color="#444444", ms=5, mfc="none", clip_on=False)


def _table(study: Study, series: dict) -> Table:
    rows = []
    for members in series.values():
        for cell in sorted(members, key=_decay):
            rows.append((_label(_decay(cell)), *(interval_cell(cell, metric) for metric in
                                                 ("train_sse", "mse_inside", "mse_gap", "mse_outside"))))
    return Table(id=f"tab-{study.id}-errors",
                 columns=(_("weight decay"), _("train SSE"), _("MSE inside"), _("MSE in the gap"),
                          _("MSE beyond the data")),
                 rows=tuple(rows), numeric=(True,) * 5,
                 caption=_("Trained runs per weight decay: training SSE and test error by region, as mean ± "
                           "half-width of the 95 % interval over seeds (Student's t)."))


def _map_table(study: Study, series: dict) -> Table:
    rows = []
    for members in series.values():
        for cell in sorted(members, key=_decay):
            m = cell.metrics[0]
            rows.append((_label(_decay(cell)), interval_cell(cell, "train_sse"), fmt(m["map_train_sse"]),
                         interval_cell(cell, "weight_norm"), fmt(m["map_norm"]), interval_cell(cell, "map_distance"),
                         fmt(m["map_mse_inside"]), fmt(m["map_mse_gap"])))
    return Table(id=f"tab-{study.id}-map",
                 columns=(_("weight decay"), _("train SSE"), _("MAP SSE"), "‖θ‖", _("MAP ‖θ‖"),
                          _("distance to MAP"), _("MAP MSE inside"), _("MAP MSE in the gap")),
                 rows=tuple(rows), numeric=(True,) * 8,
                 caption=_("Trained runs beside the MAP solution in closed form (minimum-norm least squares for "
                           "weight decay 0): training SSE, parameter norm, relative distance between the trained "
                           "and the MAP parameters, and the MAP solution's test error by region."))
