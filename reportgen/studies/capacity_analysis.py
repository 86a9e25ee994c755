"""Capacity: tanh networks of growing width, with one or more hidden layers.

Every claim the section makes is a fact computed here, and the template only chooses a sentence for it:

- ``configurations``: one record per width and depth, with the training SSE against the noise floor and the test
  error by region (inside the data, in the gap, beyond), each a mean with its 95 % interval over seeds;
- ``series``: per depth, the fewest units that train below the noise floor, and the lowest test error over the
  data's range with whether it is lower than every other width beyond the spread over seeds;
- ``overshoot``: the flexible fits (below the floor) whose error in the gap exceeds their error inside the data
  beyond the spread over seeds (compared seed by seed), with how far they stray from the target there;
- ``polynomial`` and ``versus``: the least-squares polynomial of the same data (closed form, not trained) against
  the best network, region by region (the lecture's third activity).

Comparisons are words, never bare booleans: ``"lower"`` or ``"higher"`` when the two 95 % intervals do not
overlap, ``"within"`` when they do, ``"unknown"`` when one side has a single seed and so no spread.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..data import Dataset, polynomial_map, region_errors
from ..figures import DATA_COLOR, figure, log_scale, ordered_colors, plotted_values, to_svg
from ..formatting import fmt, fmt_pm
from ..language import _, conjoined, current, ngettext, number, power_of_ten
from ..model import Run, Study
from ..outcomes import RegressionOutcome
from ..results import Figure, StudyResult, Table, assemble
from ..stats import Interval, interval
from .regression import (
    Cell,
    cells,
    data_figure,
    dataset_of,
    downsample_curve,
    faint,
    fit_panels,
    noise_floor,
    regression_metrics,
    series_label,
    split_by,
)
from .regression_explorer import training_explorers

AXIS = "model.width"

FAR_BELOW = 0.1
"""A training SSE under this fraction of the noise floor is "far below" it: an order of magnitude."""

MAX_DEGREE = 10
"""The least-squares polynomials compared with the networks have degree 1 up to this (and below the number of
training points)."""

SATURATING = frozenset({"tanh", "sigmoid"})
"""Activations bounded on both sides: a network of them levels off beyond its data (a polynomial cannot)."""

EXACT = 0.0
"""The half-width of a closed-form value's interval: one solution, no seed to vary."""


def analyze(study: Study, runs: list[Run], outcomes: list[RegressionOutcome]) -> StudyResult:
    """Metrics per run, fits and loss curves per width and depth, the error table and the section's facts."""
    metrics = []
    for run, outcome in zip(runs, outcomes):
        data = dataset_of(run)
        metrics.append({**regression_metrics(run, outcome, data), **_region_metrics(outcome.test_pred, data)})
    grid = cells(runs, outcomes, metrics)
    series = split_by(grid, AXIS)
    facts = _facts(series)
    figures = {"data": data_figure(study, grid), "fits": _fits_figure(study, series, facts),
               "losses": _losses_figure(study, series, facts)}
    return assemble(study, runs, outcomes, metrics, figures, _tables(study, facts), facts,
                    explorers=training_explorers(study, runs, outcomes))


# ---------------------------------------------------------------- numbers per run


def _region_metrics(prediction: np.ndarray, data: Dataset) -> dict[str, float]:
    """The test error over the data's range (inside and gap together), and the largest distance from the target in
    the gap and beyond the data (NaN where a region has no test point)."""
    regions = data.regions()
    deviation = np.abs(np.asarray(prediction, np.float64) - data.f_test)
    within = regions["inside"] | regions["gap"]
    return {
        "mse_range": float(np.mean(deviation[within] ** 2)) if within.any() else math.nan,
        "gap_max_deviation": float(np.max(deviation[regions["gap"]])) if regions["gap"].any() else math.nan,
        "outside_max_deviation": float(np.max(deviation[regions["outside"]])) if regions["outside"].any()
        else math.nan,
    }


# ---------------------------------------------------------------- comparisons


def relation(a: Interval, b: Interval) -> str:
    """How ``a`` stands to ``b``: ``"lower"`` or ``"higher"`` beyond both 95 % intervals, ``"within"`` when they
    overlap, ``"unknown"`` when either has no spread to judge by (a single seed)."""
    if a.below(b):
        return "lower"
    if b.below(a):
        return "higher"
    if math.isnan(a.half_width) or math.isnan(b.half_width):
        return "unknown"
    return "within"


def exact(value: float) -> Interval:
    """A closed-form value as an interval of no width (the least-squares polynomial, the noise floor)."""
    return Interval(float(value), EXACT, 1)


def _healthy(cell: Cell, metric: str) -> list[float]:
    return [m[metric] for m, o in zip(cell.metrics, cell.outcomes) if o.status == "ok"]


def _gap_over_inside(cell: Cell) -> Interval:
    """The logarithm of the gap error over the inside error, seed by seed, as an interval: a paired comparison
    (errors differ by factors; each seed's ratio removes what the seeds share)."""
    return interval([math.log(gap / inside) for gap, inside in zip(_healthy(cell, "mse_gap"),
                                                                   _healthy(cell, "mse_inside"))
                     if gap > 0 and inside > 0 and math.isfinite(gap) and math.isfinite(inside)])


def _ratio_interval(logs: Interval) -> dict[str, float | None]:
    """The 95 % interval of a ratio from that of its logarithm (None where a single seed gives none)."""
    if not (math.isfinite(logs.mean) and math.isfinite(logs.half_width)):
        return {"low": None, "high": None}
    return {"low": math.exp(logs.mean - logs.half_width), "high": math.exp(logs.mean + logs.half_width)}


def _iv(value: Interval) -> dict[str, Any]:
    """An interval as facts: mean, half-width (None for a single seed) and the number of seeds."""
    return {"mean": value.mean if math.isfinite(value.mean) else None,
            "half_width": value.half_width if math.isfinite(value.half_width) else None, "n": value.n}


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 and math.isfinite(a) and math.isfinite(b) else None


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# ---------------------------------------------------------------- facts


def _width(cell: Cell) -> int:
    return cell.runs[0].config.model.width


def _depth(cell: Cell) -> int:
    return cell.runs[0].config.model.depth


def _error(cell: Cell) -> float:
    """What ranks the configurations: the mean test error over the data's range, a diverged one last."""
    value = cell.mean("mse_range")
    return value if math.isfinite(value) else math.inf


def depth_title(depth: int) -> str:
    """``one hidden layer``, ``two hidden layers``, ``10 hidden layers``: the words, never a patched label."""
    words = {1: _("one hidden layer"), 2: _("two hidden layers")}
    return words.get(depth) or ngettext("{n} hidden layer", "{n} hidden layers", depth)


def panel_title(rest: tuple[tuple[str, Any], ...]) -> str:
    """A series' title: its depth in words, then any other fixed value as :func:`series_label` writes it."""
    parts = [depth_title(value) if key == "model.depth" else series_label(((key, value),)) for key, value in rest]
    return current().separator.join(parts) or _("all runs")


def _configuration(cell: Cell, floor: float) -> dict[str, Any]:
    """One width and depth: its errors by region and how its training SSE stands to the noise floor."""
    first = cell.representative
    train = cell.interval("train_sse")
    gap_deviations = [v for v in _healthy(cell, "gap_max_deviation") if math.isfinite(v)]
    outside_deviations = [v for v in _healthy(cell, "outside_max_deviation") if math.isfinite(v)]
    floor_relation = relation(train, exact(floor))
    gap_logs = _gap_over_inside(cell)
    gap_relation = relation(gap_logs, exact(0.0))  # whether the gap error exceeds the inside error, seed by seed
    return {
        "width": _width(cell),
        "depth": _depth(cell),
        "title": _("{layers} of {units}", layers=depth_title(_depth(cell)),
                   units=ngettext("{n} unit", "{n} units", _width(cell))),
        "parameters": int(cell.metrics[0]["n_parameters"]),
        "noise_floor": floor,
        "seeds": train.n,
        "train_sse": _iv(train),
        "floor_ratio": _ratio(train.mean, floor),
        "floor": floor_relation,
        "far_below_floor": relation(train, exact(FAR_BELOW * floor)) == "lower",
        "mse_range": _iv(cell.interval("mse_range")),
        "mse_inside": _iv(cell.interval("mse_inside")),
        "mse_gap": _iv(cell.interval("mse_gap")),
        "mse_outside": _iv(cell.interval("mse_outside")),
        "gap_ratio": _ratio(cell.mean("mse_gap"), cell.mean("mse_inside")),
        "gap_against_inside": gap_relation,
        "gap_ratio_paired": _ratio_interval(gap_logs),
        # The same comparison without pairing: the two errors' own intervals, which the tables show.
        "gap_against_inside_unpaired": relation(cell.interval("mse_gap"), cell.interval("mse_inside")),
        "overshoots": floor_relation == "lower" and gap_relation == "higher",
        "gap_max_deviation": {
            "first": _finite(cell.metrics[first]["gap_max_deviation"]) if first is not None else None,
            "low": min(gap_deviations) if gap_deviations else None,
            "high": max(gap_deviations) if gap_deviations else None},
        "outside_max_deviation": {
            "first": _finite(cell.metrics[first]["outside_max_deviation"]) if first is not None else None,
            "low": min(outside_deviations) if outside_deviations else None,
            "high": max(outside_deviations) if outside_deviations else None},
        "first_train_sse": _finite(cell.metrics[first]["train_sse"]) if first is not None else None,
    }


def _ranking(members: list[Cell], records: list[dict]) -> dict[str, Any]:
    """The configuration with the lowest mean error over the data's range, and how each other stands to it."""
    best = min(range(len(members)), key=lambda i: (_error(members[i]), i))
    mine = members[best].interval("mse_range")
    others = [{"title": records[i]["title"], "width": records[i]["width"], "depth": records[i]["depth"],
               "mse_range": records[i]["mse_range"], "relation": relation(mine, members[i].interval("mse_range"))}
              for i in range(len(members)) if i != best]
    return {
        "index": best,
        "best": records[best],
        "clearly_lowest": bool(others) and all(o["relation"] == "lower" for o in others),
        "within": [o for o in others if o["relation"] == "within"],
        "unknown": [o for o in others if o["relation"] == "unknown"],
        "others": others,
    }


def _facts(series: dict) -> dict[str, Any]:
    per_series, everything, all_cells = [], [], []
    for rest, members in series.items():
        data = dataset_of(members[0].runs[0])
        floor = noise_floor(data)
        records = [_configuration(cell, floor) for cell in members]
        everything += records
        all_cells += members
        finals = [r["first_train_sse"] for r in records]
        known = [v for v in finals if v is not None]
        per_series.append({
            "label": series_label(rest),
            "title": panel_title(rest),
            "depth": _depth(members[0]),
            "noise_floor": floor,
            "narrowest": records[0],
            "fewest_below_floor": next((r for r in records if r["floor"] == "lower"), None),
            **{k: v for k, v in _ranking(members, records).items() if k != "index"},
            "first_seed_train_sse": finals,
            "first_seed_train_falls": len(known) == len(finals) and all(b < a for a, b in zip(known, known[1:])),
            "widths": [r["width"] for r in records],
        })
    overall = _ranking(all_cells, everything)
    best_cell = all_cells[overall["index"]]
    data = dataset_of(best_cell.runs[0])
    floors = sorted({s["noise_floor"] for s in per_series})
    noise = best_cell.runs[0].config.data.noise
    polynomial = _polynomial(data)
    activation = best_cell.runs[0].config.model.activation
    return {
        "activation": activation,
        "seeds": max(r["seeds"] for r in everything),
        "n_train": len(data.x_train),
        "noise": noise,
        "noise_floor": floors[0] if len(floors) == 1 else None,
        "far_below": FAR_BELOW,
        "has_gap": bool(data.gaps),
        "configurations": everything,
        "series": per_series,
        "best": overall["best"],
        "best_clearly_lowest": overall["clearly_lowest"],
        "best_within": overall["within"],
        "far_below_floor": [r for r in everything if r["far_below_floor"]],
        "overshoot": [r for r in everything if r["overshoots"]],
        "gap_worse_above_floor": [r for r in everything
                                  if r["gap_against_inside"] == "higher" and r["floor"] == "higher"],
        "gap_worse_at_floor": [r for r in everything
                               if r["gap_against_inside"] == "higher" and r["floor"] == "within"],
        "flexible_steady": [r for r in everything if r["floor"] == "lower" and not r["overshoots"]],
        "polynomial": polynomial,
        "versus": _versus(best_cell, polynomial, activation in SATURATING),
    }


def _polynomial(data: Dataset) -> dict[str, Any]:
    """The least-squares polynomials of degree 1 to :data:`MAX_DEGREE` on the same training data (closed form,
    float64): the one with the lowest test error over the data's range, and how the error beyond the data grows
    with the degree."""
    degrees = list(range(1, max(1, min(MAX_DEGREE, len(data.x_train) - 1)) + 1))
    fits = []
    for degree in degrees:
        fit = polynomial_map(data.x_train, data.y_train, degree, 0.0)
        errors = {**region_errors(fit.predict(data.x_test), data), **_region_metrics(fit.predict(data.x_test), data)}
        fits.append({"degree": degree, "train_sse": fit.train_sse, **errors})
    best = min(range(len(fits)), key=lambda i: (fits[i]["mse_range"], i))
    beyond = [f["outside_max_deviation"] for f in fits[best:]]
    return {
        "degrees": degrees,
        **{key: _finite(value) if isinstance(value, float) else value for key, value in fits[best].items()},
        "highest_degree": degrees[-1],
        "highest_outside_max_deviation": _finite(fits[-1]["outside_max_deviation"]),
        "outside_grows_with_degree": len(beyond) > 1 and all(b > a for a, b in zip(beyond, beyond[1:])),
    }


def _versus(network: Cell, polynomial: dict[str, Any], saturating: bool) -> dict[str, Any]:
    """The least-squares polynomial against the best network, region by region (``"lower"``: the polynomial's
    error is lower beyond the network's spread over seeds); whether the numbers show the network levelling off
    beyond the data where the polynomials grow (only a saturating activation can)."""
    out = {}
    for region in ("inside", "gap", "outside"):
        value = polynomial[f"mse_{region}"]
        out[region] = "unknown" if value is None else relation(exact(value), network.interval(f"mse_{region}"))
    winner = {"lower": "polynomial", "higher": "network"}
    out["better_in_gap"] = winner.get(out["gap"], out["gap"])
    out["network_levels_off"] = saturating and out["outside"] == "higher" and polynomial["outside_grows_with_degree"]
    return out


# ---------------------------------------------------------------- figures and table


def _fits_figure(study: Study, series: dict, facts: dict) -> Figure:
    titles = {series_label(rest): panel_title(rest) for rest in series}  # depth in words, as the prose says it
    svg, values = fit_panels(series, lambda cell: ngettext("{n} unit", "{n} units", _width(cell)),
                     title=lambda label: titles.get(label, label), every_seed=True)
    widths = conjoined(_width(c) for c in next(iter(series.values())))
    return Figure(id=f"fig-{study.id}-fits", svg=svg, values=values, caption=_fits_caption(widths, facts),
                  alt=_fits_alt(widths, facts))


def _activation(facts: dict) -> str:
    return _(facts["activation"])


def _seeds_drawn(facts: dict) -> str:
    if facts["seeds"] > 1:
        return _("the first seed solid, the other {n} faint", n=number(facts["seeds"] - 1))
    return _("one seed")


def _fits_caption(widths: str, facts: dict) -> str:
    return _("Fits of {activation} networks with {widths} hidden units per layer ({seeds}), with the target dashed, "
             "the gap in the data shaded and the ends beyond the data hatched.", activation=_activation(facts),
             widths=widths, seeds=_seeds_drawn(facts))


def _fits_alt(widths: str, facts: dict) -> str:
    """What the drawn seed shows in the gap, from the same facts as the prose."""
    parts = [_("Fitted {activation} networks with {widths} units per hidden layer over the training data, one panel "
               "per depth ({seeds}).", activation=_activation(facts), widths=widths, seeds=_seeds_drawn(facts)),
             _("The lowest test error over the range of the data is that of {title} ({error}).",
               title=facts["best"]["title"], error=_plain(facts["best"]["mse_range"]["mean"]))]
    for record in facts["overshoot"]:
        parts.append(_("The fit with {title} overshoots in the gap: up to {deviation} from the target in the first "
                       "seed.", title=record["title"],
                       deviation=_plain(record["gap_max_deviation"]["first"])))
    # The drawn seed: among the other fits whose first seed ends below the floor, the one straying furthest in the gap.
    others = [(r["gap_max_deviation"]["first"], _("{title}, whose seeds straddle the floor", title=r["title"])
               if r["floor"] == "within" else r["title"]) for r in facts["configurations"]
              if not r["overshoots"] and r["gap_max_deviation"]["first"] is not None
              and r["first_train_sse"] is not None and r["first_train_sse"] < r["noise_floor"]]
    if others:
        deviation, title = max(others, key=lambda item: item[0])
        if facts["overshoot"]:
            parts.append(_("In the first seed, the other fits that end below the noise floor stray up to {deviation} "
                           "from the target in the gap ({title}).", deviation=_plain(deviation), title=title))
        else:
            parts.append(_("In the first seed, the fits that end below the noise floor stray up to {deviation} from "
                           "the target in the gap ({title}).", deviation=_plain(deviation), title=title))
    return " ".join(parts)


def _plain(value: float | None) -> str:
    """A number for alt text (no markup), a dash when unknown."""
    if value is None:
        return "—"
    mantissa, _e, exponent = fmt(value, html=False).partition("e")
    return f"{mantissa} × {power_of_ten(int(exponent))}" if exponent else mantissa


def _losses_figure(study: Study, series: dict, facts: dict) -> Figure:
    with figure(1, len(series), height=2.4, sharey=True) as (fig, axes):
        for ax, (rest, members), s in zip(axes[0], series.items(), facts["series"]):
            for cell, color in zip(members, ordered_colors(len(members))):
                first = cell.representative
                for i, outcome in enumerate(cell.outcomes):
                    if outcome.status == "ok" and i != first:
                        ax.plot(*downsample_curve(outcome.losses), color=faint(color), lw=0.6)
                if first is not None:
                    ax.plot(*downsample_curve(cell.outcomes[first].losses), color=color, lw=1.0,
                            label=ngettext("{n} unit", "{n} units", _width(cell)))
            ax.axhline(s["noise_floor"], color=DATA_COLOR, lw=0.8, ls=":", label=_("noise floor"))
            log_scale(ax)
            ax.set_xlabel(_("Adam step"))
            if len(series) > 1:
                ax.set_title(panel_title(rest))
        axes[0][0].set_ylabel(_("training SSE"))
        axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        svg, values = to_svg(fig), plotted_values(fig)
    return Figure(id=f"fig-{study.id}-losses", svg=svg, values=values,
                  caption=_("Training loss during optimization ({seeds}), one panel per depth, with the noise floor "
                            "dotted.", seeds=_seeds_drawn(facts)),
                  alt=_losses_alt(facts))


def _losses_alt(facts: dict) -> str:
    """Where each panel's drawn seed ends, and whether it ends lower with every added unit."""
    parts = [_("Loss curves on log-log axes, one per width, one panel per depth, with the noise floor dotted.")]
    for s in facts["series"]:
        ends = conjoined(_plain(v) for v in s["first_seed_train_sse"])
        trend = (_("lower with every added unit") if s["first_seed_train_falls"]
                 else _("not lower with every added unit"))
        parts.append(_("With {title}, the first seed ends at {ends} for {widths} units: {trend}.", title=s["title"],
                       ends=ends, widths=conjoined(s["widths"]), trend=trend))
    return " ".join(parts)


def _pm(value: dict[str, Any]) -> str:
    """A table cell: the mean, with its 95 % half-width when there is a spread."""
    if value["mean"] is None:
        return "—"
    return fmt(value["mean"]) if value["half_width"] is None else fmt_pm(value["mean"], value["half_width"])


def _tables(study: Study, facts: dict) -> dict[str, Table]:
    """Two tables, so that each fits the printed page: the training and overall test error, then the test error by
    region."""
    configurations = facts["configurations"]
    spread = (_("mean and 95 % interval over {n} seeds (Student's t)", n=number(facts["seeds"]))
              if facts["seeds"] > 1 else _("one seed"))
    floor = (_(" (the noise floor is {floor})", floor=_plain(facts["noise_floor"]))
             if facts["noise_floor"] is not None else "")
    errors = Table(
        id=f"tab-{study.id}-errors",
        columns=(_("hidden layers"), _("units per layer"), _("parameters"), _("train SSE"), _("test MSE")),
        rows=tuple((number(r["depth"]), number(r["width"]), number(r["parameters"]), _pm(r["train_sse"]),
                    _pm(r["mse_range"])) for r in configurations),
        numeric=(True,) * 5,
        caption=_("Errors per architecture, {spread}: the training SSE{floor}, and the test MSE against the noiseless "
                  "target over the range of the training inputs.", spread=spread, floor=floor))
    regions = Table(
        id=f"tab-{study.id}-regions",
        columns=(_("hidden layers"), _("units per layer"), _("inside the data"), _("in the gap"),
                 _("beyond the data")),
        rows=tuple((number(r["depth"]), number(r["width"]), _pm(r["mse_inside"]), _pm(r["mse_gap"]),
                    _pm(r["mse_outside"])) for r in configurations),
        numeric=(True,) * 5,
        caption=_("Test MSE against the noiseless target by region, {spread}: inside the data, in the gap, and beyond "
                  "the data (extrapolation).", spread=spread))
    return {"errors": errors, "regions": regions}
