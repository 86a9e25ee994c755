"""Overfitting: polynomial fits of growing degree, judged by region, beside their least-squares optimum.

Every sentence the report states about this study is chosen from a fact computed here: which degree is best
inside the data and in the gap (and whether that is beyond the spread over seeds), whether training error
falls with the degree, what the model class allows (least squares, in closed form) against what the optimizer
reached, and how much of the whole-grid error comes from extrapolation.
"""

from __future__ import annotations

import numpy as np

from ..data import Dataset, polynomial_map, region_errors
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
from ..language import _, conjoined, ngettext
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
    loss_panels,
    noise_floor,
    ranked,
    regression_metrics,
    series_label,
    split_by,
)
from .regression_explorer import training_explorers

AXIS = "model.degree"
CONVERGED = 0.01
"""A trained SSE within this relative distance of the least-squares optimum counts as converged."""
REGIONS = ("inside", "gap", "outside")


def analyze(study: Study, runs: list[Run], outcomes: list[RegressionOutcome]) -> StudyResult:
    """Metrics per run (by region, beside least squares), the figures, the two error tables and the facts."""
    metrics = []
    for run, outcome in zip(runs, outcomes):
        data = dataset_of(run)
        m = regression_metrics(run, outcome, data)
        optimum = polynomial_map(data.x_train, data.y_train, run.config.model.degree, 0.0)
        m["lstsq_sse"] = optimum.train_sse
        m.update(region_errors(optimum.predict(data.x_test), data, prefix="lstsq_"))
        metrics.append(m)
    grid = cells(runs, outcomes, metrics)
    series = split_by(grid, AXIS)
    facts = _facts(series)
    figures = {
        "data": data_figure(study, grid),
        "fits": _fits_figure(study, series, facts),
        "errors": _errors_figure(study, series, facts),
        "losses": _losses_figure(study, series),
    }
    tables = {"errors": _table(study, series), "lstsq": _lstsq_table(study, series)}
    return assemble(study, runs, outcomes, metrics, figures, tables, facts,
                    explorers=training_explorers(study, runs, outcomes))


def _degree(cell: Cell) -> int:
    return cell.runs[0].config.model.degree


def _facts(series: dict) -> dict:
    per_series = [_series_facts(rest, members) for rest, members in series.items()]
    first = next(iter(series.values()))
    low = [c for c in first if _degree(c) <= 3 and c.representative is not None]
    settle = [_steps_to_settle(c.outcomes[c.representative].losses) for c in low]
    return {"series": per_series, "degrees": sorted({_degree(c) for s in series.values() for c in s}),
            "low_degrees_settle": max(settle) if settle else None}


def _series_facts(rest: tuple, members: list[Cell]) -> dict:
    """What the prose says of one setting (a noise level): every direction and comparison, computed."""
    ordered = sorted(members, key=_degree)
    highest = ordered[-1]
    data = dataset_of(highest.runs[0])
    floor = noise_floor(data)
    counts = {name: int(mask.sum()) for name, mask in data.regions().items()}
    lstsq = {_degree(c): c.metrics[0] for c in ordered}  # the same data for every seed: one optimum per degree
    rises = [(a, b) for a, b in zip(ordered, ordered[1:])
             if a.interval("train_sse").below(b.interval("train_sse"))]
    converged = [_degree(c) for c in ordered
                 if abs(c.mean("train_sse") - lstsq[_degree(c)]["lstsq_sse"])
                 <= CONVERGED * max(lstsq[_degree(c)]["lstsq_sse"], 1e-12)]
    interpolating = [d for d in lstsq if lstsq[d]["lstsq_sse"] < 1e-9 * floor]
    best = {region: ranked(ordered, f"mse_{region}", _degree) for region in ("inside", "gap")}
    best_gap = best["gap"]
    highest_outside = highest.mean("mse_outside")
    outside_share = (counts["outside"] * highest_outside / (sum(counts.values()) * highest.mean("test_mse"))
                     if counts["outside"] and highest.mean("test_mse") > 0 else 0.0)
    lstsq_best = {region: min(lstsq, key=lambda d: np.nan_to_num(lstsq[d][f"lstsq_mse_{region}"], nan=np.inf))
                  for region in ("inside", "gap")}
    not_converged = [_degree(c) for c in ordered if _degree(c) not in converged]
    rise = rises[-1] if rises else None
    return {
        "label": series_label(rest),
        "noise": highest.runs[0].config.data.noise,
        "n_train": len(data.x_train),
        "noise_floor": floor,
        "points": counts,
        "data_range": [float(data.x_train.min()), float(data.x_train.max())],
        "best_inside": best["inside"],
        "best_gap": best_gap,
        "highest_degree": _degree(highest),
        "highest": {name: highest.mean(name) for name in
                    ("train_sse", "test_mse", "mse_inside", "mse_gap", "mse_outside")},
        "highest_lstsq": {name: lstsq[_degree(highest)][f"lstsq_{name}"] for name in
                          ("sse", "mse_inside", "mse_gap", "mse_outside")},
        "highest_over_floor": highest.mean("train_sse") / floor,
        "highest_gap_over_best": highest.mean("mse_gap") / best_gap["mse"] if best_gap["mse"] else None,
        "highest_wild_in_gap": bool(highest.mean("mse_gap") > 10 * best_gap["mse"]),
        "outside_share": outside_share,
        "extrapolation_dominates": bool(outside_share > 0.5),
        "train_sse_rises": rise is not None,
        "train_sse_rise": None if rise is None else {
            "from_degree": _degree(rise[0]), "to_degree": _degree(rise[1]),
            "from_sse": rise[0].mean("train_sse"), "to_sse": rise[1].mean("train_sse")},
        "lstsq_never_rises": all(lstsq[b]["lstsq_sse"] <= lstsq[a]["lstsq_sse"] + 1e-9 * floor
                                 for a, b in zip(lstsq, list(lstsq)[1:])),
        "converged_degrees": converged,
        "unconverged_degrees": not_converged,
        "first_unconverged": None if not not_converged else {
            "degree": not_converged[0],
            "ratio": next(c.mean("train_sse") for c in ordered if _degree(c) == not_converged[0])
            / lstsq[not_converged[0]]["lstsq_sse"]},
        "interpolating_from": min(interpolating) if interpolating else None,
        "lstsq_best_inside": {"degree": lstsq_best["inside"],
                              "mse": lstsq[lstsq_best["inside"]]["lstsq_mse_inside"]},
        "lstsq_best_gap": {"degree": lstsq_best["gap"], "mse": lstsq[lstsq_best["gap"]]["lstsq_mse_gap"]},
        "optimizer_moves_best": bool(lstsq_best["inside"] != best["inside"]["degree"]),
        "escapes": _escapes(ordered, data),
    }


def _escapes(ordered: list[Cell], data: Dataset) -> dict[str, list[int]]:
    """The degrees whose drawn fit (first healthy seed) leaves the figure's frame, by region."""
    from ..figures import data_limits

    low, high = data_limits(np.concatenate([data.y_train, data.f_test]))
    out: dict[str, list[int]] = {region: [] for region in REGIONS}
    for cell in ordered:
        i = cell.representative
        if i is None:
            continue
        prediction = cell.outcomes[i].test_pred
        for region, mask in data.regions().items():
            if mask.any() and ((prediction[mask] < low) | (prediction[mask] > high)).any():
                out[region].append(_degree(cell))
    return out


def _steps_to_settle(losses: np.ndarray) -> int:
    """First step after which the loss stays within 1 % of its final value."""
    outside = np.nonzero(np.abs(losses - losses[-1]) > 0.01 * abs(losses[-1]))[0]
    return int(outside[-1]) + 2 if len(outside) else 1


def _fits_figure(study: Study, series: dict, facts: dict) -> Figure:
    svg, values = fit_panels(series, lambda cell: _("degree {degree}", degree=_degree(cell)))
    degrees = conjoined(_degree(c) for c in next(iter(series.values())))
    where = []
    for s in facts["series"]:
        parts = []
        if s["escapes"]["outside"]:
            parts.append(ngettext("beyond the training inputs: degree {degrees}",
                                  "beyond the training inputs: degrees {degrees}", len(s["escapes"]["outside"]),
                                  degrees=conjoined(s["escapes"]["outside"])))
        if s["escapes"]["gap"]:
            parts.append(ngettext("in the gap: degree {degrees}", "in the gap: degrees {degrees}",
                                  len(s["escapes"]["gap"]), degrees=conjoined(s["escapes"]["gap"])))
        if parts:
            joined = "; ".join(parts)
            where.append(_("at {setting}, {where}", setting=s["label"], where=joined) if len(series) > 1 else joined)
    frame = (_("Fits that leave the frame, {where}.", where="; ".join(where)) if where
             else _("No fit leaves the frame."))
    return Figure(
        id=f"fig-{study.id}-fits", svg=svg, values=values,
        caption=_("Polynomial fits of degree {degrees} (first seed) to the training data, with the noiseless "
                  "target dashed, the gap in the data shaded and the ends beyond the training inputs hatched.",
                  degrees=degrees) + " " + frame,
        alt=_("Training points, the target function and fitted polynomials of degree {degrees}, one panel per "
              "setting ({settings}).", degrees=degrees, settings="; ".join(series_label(r) for r in series))
        + " " + frame,
    )


def _errors_figure(study: Study, series: dict, facts: dict) -> Figure:
    """Training SSE, trained and least squares, and the error inside the data and in the gap, per degree."""
    first = next(iter(series.values()))
    degrees = [_degree(c) for c in sorted(first, key=_degree)]
    positions = np.arange(len(degrees))
    # An interval over few seeds can reach below zero, where a log axis has no place: only positive ends count.
    lowest_drawn = min([s["noise_floor"] for s in facts["series"]]
                       + [low for m in series.values() for c in m
                          for low in (c.interval("train_sse").low, c.mean("train_sse")) if low > 0]) / 20
    with figure(1, 2, height=2.6) as (fig, axes):
        train_ax, test_ax = axes[0]
        for k, ((rest, members), color, s) in enumerate(zip(series.items(), ordered_colors(len(series) + 1),
                                                           facts["series"])):
            ordered = sorted(members, key=_degree)
            setting = series_label(rest)
            _with_intervals(train_ax, positions, ordered, "train_sse", color, "o-", setting)
            optimum = np.array([c.metrics[0]["lstsq_sse"] for c in ordered])
            shown = optimum >= lowest_drawn
            train_ax.plot(positions[shown], optimum[shown], "x", color=color, ms=5)
            # The plotted values give every optimum, those drawn as arrows below the axis too.
            values_only(train_ax, positions, optimum, _("least squares, {setting}", setting=setting))
            # Optima below the axis are drawn as arrows on its floor, not clamped to a made-up value.
            nudge = (k - (len(series) - 1) / 2) * 0.12  # side by side, so one setting's arrow hides no other's
            train_ax.plot(positions[~shown] + nudge, np.full((~shown).sum(), lowest_drawn * 1.4), "v", color=color,
                          ms=5, mfc="none")
            train_ax.axhline(s["noise_floor"], color=color, lw=0.8, ls=":",
                             label=unlisted(_("noise floor, {setting}", setting=setting)))
            for metric, style, name in (("mse_inside", "o-", _("MSE inside the data, {setting}", setting=setting)),
                                        ("mse_gap", "s--", _("MSE in the gap, {setting}", setting=setting))):
                _with_intervals(test_ax, positions, ordered, metric, color, style, unlisted(name))
        train_ax.set_ylim(bottom=lowest_drawn)
        for ax in (train_ax, test_ax):
            log_scale(ax, x=False)
            ax.set_xticks(positions, [str(d) for d in degrees])
            ax.set_xlabel(_("polynomial degree"))
        train_ax.set_title(_("training SSE: Adam (●), least squares (×, ▽ below the axis), noise floor (⋯)"))
        test_ax.set_title(_("MSE inside the data (●) and in the gap (■)"))
        train_ax.legend(frameon=False, loc="lower left")
        svg, values = to_svg(fig), plotted_values(fig)
    return Figure(id=f"fig-{study.id}-errors", svg=svg, values=values, alt=_errors_alt(facts),
                  caption=_("Errors against the polynomial degree, mean over seeds with its 95 % interval "
                            "(Student's t) as error bars. Left: training SSE reached by Adam, the least-squares "
                            "optimum of each degree, and the noise floor (the SSE of the noiseless target). Right: "
                            "test error against the noiseless target inside the range of the data and in the gap. "
                            "Extrapolation beyond the data is left out here: see the tables."))


def _with_intervals(ax, positions, ordered: list[Cell], metric: str, color, style: str, label) -> None:
    intervals = [c.interval(metric) for c in ordered]
    mean = np.array([i.mean for i in intervals])
    half = np.nan_to_num(np.array([i.half_width for i in intervals]))
    lower = np.minimum(half, mean * 0.999)  # a log axis cannot show a bar reaching zero or below
    ax.errorbar(positions, mean, yerr=[lower, half], fmt=style, color=color, ms=3.5, lw=1.0, capsize=2,
                label=label)


def _errors_alt(facts: dict) -> str:
    parts = []
    for s in facts["series"]:
        if s["best_gap"]["degree"] is None:  # data with no gap
            part = _("For {label}, the error inside the data is lowest at degree {inside} ({inside_mse})",
                     label=s["label"], inside=s["best_inside"]["degree"],
                     inside_mse=fmt(s["best_inside"]["mse"], html=False))
        else:
            part = _("For {label}, the error inside the data is lowest at degree {inside} ({inside_mse}) and in the "
                     "gap at degree {gap} ({gap_mse})", label=s["label"], inside=s["best_inside"]["degree"],
                     inside_mse=fmt(s["best_inside"]["mse"], html=False), gap=s["best_gap"]["degree"],
                     gap_mse=fmt(s["best_gap"]["mse"], html=False))
        if s["train_sse_rises"]:
            rise = s["train_sse_rise"]
            part += _("; the trained SSE rises from degree {a} to degree {b}", a=rise["from_degree"],
                      b=rise["to_degree"])
        parts.append(part + ".")
    return " ".join([_("Two panels of error against degree."), *parts])


def _losses_figure(study: Study, series: dict) -> Figure:
    svg, values = loss_panels(series, lambda cell: _("degree {degree}", degree=_degree(cell)))
    members = [c for c in next(iter(series.values())) if c.representative is not None]
    final = min(members, key=lambda c: c.outcomes[c.representative].losses[-1]) if members else None
    alt = _("Loss curves on log-log axes, one per degree.")
    if final is not None:
        finals = "; ".join(f"{_('degree {degree}', degree=_degree(c))} "
                           f"{plain_number(float(c.outcomes[c.representative].losses[-1]))}" for c in members)
        alt += " " + _("Final training SSE in the first panel: {finals}.", finals=finals)
        alt += " " + _("The lowest final loss of the first panel is degree {degree}'s.", degree=_degree(final))
    return Figure(id=f"fig-{study.id}-losses", svg=svg, values=values, alt=alt,
                  caption=_("Training loss (sum of squared errors) during optimization, first seed of each degree."))


def _table(study: Study, series: dict) -> Table:
    rows = []
    multi = len(series) > 1
    for rest, members in series.items():
        for cell in sorted(members, key=_degree):
            rows.append(tuple(([series_label(rest)] if multi else []) + [str(_degree(cell))] + [
                interval_cell(cell, metric) for metric in ("train_sse", "mse_inside", "mse_gap", "mse_outside")]))
    columns = ([_("setting")] if multi else []) + [_("degree"), _("train SSE"), _("MSE inside"), _("MSE in the gap"),
                                                    _("MSE beyond the data")]
    return Table(id=f"tab-{study.id}-errors", columns=tuple(columns), rows=tuple(rows),
                 numeric=tuple([False] * multi + [True] * 5),
                 caption=_("Trained fits per degree: training SSE and test error against the noiseless target "
                           "inside the range of the data, in the gap and beyond the data, as mean ± half-width of "
                           "the 95 % interval over seeds (Student's t)."))


def _lstsq_table(study: Study, series: dict) -> Table:
    rows = []
    multi = len(series) > 1
    for rest, members in series.items():
        for cell in sorted(members, key=_degree):
            m = cell.metrics[0]
            rows.append(tuple(([series_label(rest)] if multi else []) + [str(_degree(cell))] + [
                fmt(m[f"lstsq_{name}"]) for name in ("sse", "mse_inside", "mse_gap", "mse_outside")]))
    columns = ([_("setting")] if multi else []) + [_("degree"), _("least-squares SSE"), _("MSE inside"),
                                                    _("MSE in the gap"), _("MSE beyond the data")]
    return Table(id=f"tab-{study.id}-lstsq", columns=tuple(columns), rows=tuple(rows),
                 numeric=tuple([False] * multi + [True] * 5),
                 caption=_("What the model class allows: the least-squares polynomial of each degree (minimum-norm "
                           "solution, float64), its training SSE and its test error by region. It does not depend on "
                           "the seed."))
