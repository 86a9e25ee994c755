"""Prior sampling: functions drawn from MLPs with Gaussian weights, their spread against theory, and every finding
the prose states, computed here as ``facts`` (which results.json also gives, as ``findings``).

The facts are plain records (lists of dicts with string keys), so they survive the analysis cache's JSON and read
the same in every language; the templates choose their sentences from them.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Sequence

import numpy as np

from ..figures import (
    categorical_colors,
    figure,
    log_scale,
    plain_number,
    plotted_values,
    powers_of_ten,
    to_svg,
    unlisted,
    values_only,
)
from ..formatting import fmt
from ..language import _, conjoined, fixed, number
from ..model import Run, Study
from ..results import Drawing, Figure, StudyResult, Table, assemble
from ..stats import interval, t975
from .prior_explorer import prior_explorers
from .prior_sampling import PriorOutcome, exact_recursion, log_slope, predicted_slope, second_moment

AXIS = "model.width"

TAIL = 0.01
"""The share of the largest draws whose part of the measured variance tells how heavy-tailed f(x) is."""
TAIL_DRAWS = 10
"""The fewest draws that share must hold for the comparison with a Gaussian to mean anything (a lone largest draw
holds much of a small sample's variance whatever the distribution)."""
FLAT = 0.01
"""A drawn function is flat when its range over the domain is below this fraction of the predicted spread."""
STRAIGHT = 1e-3
"""A drawn function is straight when no point lies farther than this fraction of its range from its fitted line."""
TURN = 0.01
"""A turning point counts when the function comes back by this fraction of its range."""
PROPORTIONAL, SATURATING = 0.9, 0.1
"""Log-log slope of E[g(z)**2] against the variance of z above which it is called proportional to the variance,
and below which saturating."""
EXPLAINED = (("proportional", "compounds"), ("saturating", "depth_free"))
"""How E[g(z)**2] grows with q, and how the predicted slope grows with depth, in the pairs the prose explains."""
GROWS = 0.05
"""The predicted slope above which the prose says the spread grows with the width."""
DIFFERS = 0.1
"""How far apart the deepest networks' predicted slopes must be for the prose to say the growth depends on the
activation."""
BIAS_FLOOR = 0.02
"""How far below the slope without biases a predicted slope must be for the prose to say the biases lower it."""

Key = tuple[str, int, int]
"""A configuration: (activation, depth, width)."""


def analyze(study: Study, runs: list[Run], outcomes: list[PriorOutcome]) -> StudyResult:
    """Spread per configuration with its interval, a grid of draws per depth, spread against width, the spread and
    slope tables, and the facts the prose states."""
    metrics = [_metrics(run, o) for run, o in zip(runs, outcomes)]
    models = [run.config.model for run in runs]
    widths = sorted({m.width for m in models})
    activations = list(dict.fromkeys(m.activation for m in models))
    depths = sorted({m.depth for m in models})
    groups: dict[Key, list[int]] = {}
    for i, m in enumerate(models):
        groups.setdefault((m.activation, m.depth, m.width), []).append(i)
    configs = {key: _configuration(key, [outcomes[i] for i in members]) for key, members in groups.items()}
    first = {key: outcomes[members[0]] for key, members in groups.items()}
    facts = _facts(runs, outcomes, groups, configs, first, widths, activations, depths)
    draws = runs[0].config.sampling.draws
    grows = {row["depth"]: row["grows"] for row in facts["scales_grow"]}
    # The grids are most of the analysis's time: each is drawn as a unit of its own, beside the others.
    figures: dict = {f"draws_depth{d}": Drawing(_draws_figure, (study.id, draws, d, activations, widths,
                                                                _first_draws(first, d), grows[d]))
                     for d in depths}
    figures["spread"] = _spread_figure(study, configs, widths, activations, depths, facts)
    tables = {"spread": _table(study, configs, widths, activations, depths, facts)}
    if facts["slopes"]:
        tables["slopes"] = _slope_table(study, activations, depths, facts)
    return assemble(study, runs, outcomes, metrics, figures, tables, facts,
                    explorers=prior_explorers(study, runs, outcomes, metrics))


# ------------------------------------------------------------------------------------------- per run, per config


def _metrics(run: Run, outcome: PriorOutcome) -> dict[str, float]:
    # Root mean square over the measurement points: one number per configuration.
    measured = float(np.sqrt(np.mean(outcome.measured_std ** 2)))
    theory = float(np.sqrt(np.mean(outcome.theory_std ** 2)))
    spread = _measured([outcome])
    model = run.config.model
    return {"measured_std": measured, "theory_std": theory, "ratio": measured / theory,
            "theory_exact": exact_recursion(model.activation, model.depth), "draws_std": float(np.std(outcome.curves)),
            "spread_draws": spread["draws"], "measured_low": spread["low"], "measured_high": spread["high"]}


def _measured(outcomes: Sequence[PriorOutcome]) -> dict:
    """The spread measured over the draws of ``outcomes`` (runs of one configuration, pooled), its 95 % interval,
    the standard error of its logarithm, and the share of its variance held by the largest draws.

    The measured variance (mean over the points of the variance over draws) is the mean of the per-draw
    ``spread_terms`` times draws / (draws - 1): its interval is the t interval of that mean, which is what a
    bootstrap over draws approximates, with no generator to seed.
    """
    if any(o.spread_terms is None for o in outcomes):
        measured = float(np.sqrt(np.mean([np.mean(o.measured_std ** 2) for o in outcomes])))
        return {"draws": 0, "measured": measured, "low": math.nan, "high": math.nan, "log_se": math.nan,
                "tail_share": math.nan}
    terms = np.concatenate([np.asarray(o.spread_terms, dtype=np.float64) for o in outcomes])
    n, runs = len(terms), len(outcomes)
    scale = n / (n - runs)
    mean = interval(terms.tolist())
    measured = math.sqrt(mean.mean * scale)
    if mean.n < 2 or not mean.mean > 0:
        return {"draws": n, "measured": measured, "low": math.nan, "high": math.nan, "log_se": math.nan,
                "tail_share": math.nan}
    largest = np.sort(terms)[::-1][:max(1, math.ceil(TAIL * n))]
    return {"draws": n, "measured": measured, "low": math.sqrt(max(mean.low, 0.0) * scale),
            "high": math.sqrt(mean.high * scale),
            # d log(spread) = d log(variance) / 2; the t interval's half-width over its quantile is the standard error.
            "log_se": mean.half_width / t975(mean.n - 1) / mean.mean / 2,
            "tail_share": float(largest.sum() / terms.sum())}


def _configuration(key: Key, outcomes: Sequence[PriorOutcome]) -> dict:
    activation, depth, width = key
    spread = _measured(outcomes)
    predicted = float(np.sqrt(np.mean(outcomes[0].theory_std ** 2)))
    inside = None if math.isnan(spread["low"]) else bool(spread["low"] <= predicted <= spread["high"])
    return {"activation": activation, "depth": depth, "width": width, **spread, "predicted": predicted,
            "ratio": spread["measured"] / predicted, "exact": exact_recursion(activation, depth), "inside": inside}


# ------------------------------------------------------------------------------------------------------ facts


def _facts(runs, outcomes, groups, configs, first, widths, activations, depths) -> dict:
    base = runs[0].config
    spread_x = np.asarray(outcomes[0].spread_x, dtype=np.float64)
    slopes = _slopes(runs, groups, configs, spread_x, widths, activations, depths)
    checked = [c for c in configs.values() if c["inside"] is not None]
    return {
        "widths": widths, "activations": activations, "depths": depths,
        "narrowest": widths[0], "widest": widths[-1], "shallowest": depths[0], "deepest": depths[-1],
        "draws": base.sampling.draws,
        "spread_draws": [{"width": w, "draws": base.sampling.spread_draws_at(w)} for w in widths],
        "seeds": len({run.seed for run in runs}),
        "weight_std": base.model.weight_std, "bias_std": base.model.bias_std, "domain": base.sampling.domain,
        "exact_every_depth": [a for a in activations if all(exact_recursion(a, d) for d in depths)],
        "exact_one_layer": [a for a in activations if not all(exact_recursion(a, d) for d in depths)]
        if 1 in depths else [],
        "limit_activations": [a for a in activations if not all(exact_recursion(a, d) for d in depths)],
        "limit_depths": [d for d in depths if not all(exact_recursion(a, d) for a in activations)],
        "configurations": [_public(configs[key]) for key in _order(configs, activations)],
        "spread": {"checked": len(checked), "inside": sum(c["inside"] for c in checked),
                   "exact": _agreement([c for c in checked if c["exact"]]),
                   "limit": _agreement([c for c in checked if not c["exact"]])},
        "slopes": slopes,
        "slopes_checked": sum(s["agrees"] is not None for s in slopes),
        "slopes_agree": sum(bool(s["agrees"]) for s in slopes),
        "growth": _growth(slopes, spread_x, activations, depths, base.model),
        "bias_lowered": [s["activation"] for s in slopes
                         if s["depth"] == depths[0] and s["predicted"] < s["unbiased"] - BIAS_FLOOR],
        "tails": _tails(configs, widths, activations, depths),
        "scales_grow": [{"depth": d, "grows": all(_grows([configs[(a, d, w)]["measured"] for w in widths
                                                          if (a, d, w) in configs]) for a in activations)}
                        for d in depths],
        "shapes": _shapes(configs, first, widths, activations, depths),
    }


def _order(configs, activations) -> list[Key]:
    """Configurations by depth, then activation (as the definitions list them), then width."""
    return sorted(configs, key=lambda key: (key[1], activations.index(key[0]), key[2]))


def _public(config: dict) -> dict:
    """A configuration as the facts give it: NaN as None (JSON has no NaN)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in config.items()}


def _agreement(configs: list[dict]) -> dict:
    """How many predictions lie inside the measured intervals, which do not, and how many misses 95 % intervals
    allow by chance (the 95th percentile of a binomial count with p = 5 %)."""
    misses = [_public(c) for c in configs if not c["inside"]]
    chance = _binomial_bound(len(configs), 0.05, 0.95)
    return {"checked": len(configs), "inside": len(configs) - len(misses), "misses": misses, "chance": chance,
            "beyond_chance": len(misses) > chance}


def _binomial_bound(n: int, p: float, level: float) -> int:
    """The smallest k with P(X <= k) >= level for X ~ Binomial(n, p)."""
    total = 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p ** k * (1 - p) ** (n - k)
        if total >= level:
            return k
    return n


def _slopes(runs, groups, configs, spread_x, widths, activations, depths) -> list[dict]:
    """Per (activation, depth): the slope of log spread against log width, predicted (the recursion, and the
    recursion without biases) and measured, with the measured slope's 95 % interval."""
    rows = []
    for depth in depths:
        for activation in activations:
            present = [w for w in widths if (activation, depth, w) in configs]
            if len(present) < 2:
                continue
            cells = [configs[(activation, depth, w)] for w in present]
            model = runs[groups[(activation, depth, present[0])][0]].config.model
            row = {"activation": activation, "depth": depth, "widths": present,
                   "predicted": log_slope(present, [c["predicted"] for c in cells]),
                   "unbiased": predicted_slope(model.model_copy(update={"bias_std": 0.0}), spread_x, present),
                   "measured": None, "low": None, "high": None, "agrees": None}
            measured = [c["measured"] for c in cells]
            if all(math.isfinite(m) and m > 0 for m in measured):
                row["measured"] = log_slope(present, measured)
                logs = np.log(np.asarray(present, dtype=np.float64))
                weights = (logs - logs.mean()) / np.sum((logs - logs.mean()) ** 2)
                error = math.sqrt(sum((w * c["log_se"]) ** 2 for w, c in zip(weights, cells)))
                if math.isfinite(error):
                    # Student's t at the fewest draws among the widths: a little wider than normal for few draws.
                    quantile = t975(min(c["draws"] for c in cells) - 1)
                    row["low"], row["high"] = row["measured"] - quantile * error, row["measured"] + quantile * error
                    row["agrees"] = bool(row["low"] <= row["predicted"] <= row["high"])
            rows.append(row)
    return rows


def _growth(slopes, spread_x, activations, depths, model) -> dict:
    """Why the spread grows as it does: how E[g(z)**2] grows with the variance q of z (its log-log slope, from the
    widest first-layer variance to a hundred times more), and how the predicted slope grows with depth."""
    q = model.bias_std ** 2 + model.weight_std ** 2 * float(np.max(spread_x ** 2))
    shallow, deep = depths[0], depths[-1]
    by_key = {(s["activation"], s["depth"]): s["predicted"] for s in slopes}
    rows = []
    for activation in activations:
        moments = second_moment(activation, np.array([q, 100 * q]))
        exponent = float(np.log(moments[1] / moments[0]) / np.log(100))
        moment = "proportional" if exponent >= PROPORTIONAL else "saturating" if exponent <= SATURATING else "between"
        row = {"activation": activation, "exponent": exponent, "moment": moment,
               "shallow": by_key.get((activation, shallow)), "deep": by_key.get((activation, deep)),
               "ratio": None, "depth_growth": None}
        if deep > shallow and row["shallow"] and row["deep"] is not None:
            row["ratio"] = row["deep"] / row["shallow"]
            depth_ratio = deep / shallow
            row["depth_growth"] = ("compounds" if row["ratio"] >= 1 + 0.8 * (depth_ratio - 1) else
                                   "depth_free" if row["ratio"] <= 1 + 0.2 * (depth_ratio - 1) else "between")
        rows.append(row)
    deep_slopes = [s["predicted"] for s in slopes if s["depth"] == deep]
    return {"q": q, "rows": rows,
            "grows": bool(slopes) and all(s["predicted"] > GROWS for s in slopes),
            "differs": len(deep_slopes) > 1 and max(deep_slopes) - min(deep_slopes) > DIFFERS,
            "compounding": [r["activation"] for r in rows
                            if r["moment"] == "proportional" and r["depth_growth"] == "compounds"],
            "depth_free": [r["activation"] for r in rows
                           if r["moment"] == "saturating" and r["depth_growth"] == "depth_free"],
            "other": [r["activation"] for r in rows if r["depth_growth"] is not None
                      and (r["moment"], r["depth_growth"]) not in EXPLAINED]}


def gaussian_tail_share(tail: float = TAIL) -> float:
    """The most of the measured variance the largest ``tail`` of the draws can hold when f(x) is Gaussian: when
    every point moves together, each draw's term is a scaled chi-square with one degree of freedom, and the top
    ``tail`` of Z**2 holds 2 c phi(c) + tail of E[Z**2] = 1, c its threshold (less correlated points hold less)."""
    normal = NormalDist()
    c = normal.inv_cdf(1 - tail / 2)
    return 2 * c * normal.pdf(c) + tail


def _tails(configs, widths, activations, depths) -> dict:
    """Where f(x) is heavy-tailed: the narrowest networks whose largest 1 % of draws (at least ``TAIL_DRAWS`` of
    them) hold at least twice the share of the measured variance that they could hold were f(x) Gaussian."""
    narrow, wide = widths[0], widths[-1]
    bound = gaussian_tail_share()
    heavy = []
    for depth in depths:
        for activation in activations:
            a, b = configs.get((activation, depth, narrow)), configs.get((activation, depth, wide))
            if a and math.isfinite(a["tail_share"]) and TAIL * a["draws"] >= TAIL_DRAWS and \
                    a["tail_share"] >= 2 * bound:
                heavy.append({"activation": activation, "depth": depth, "width": narrow, "share": a["tail_share"],
                              "draws": a["draws"], "wide_width": wide if b and narrow < wide else None,
                              "wide_share": _finite(b["tail_share"]) if b and narrow < wide else None})
    heaviest = max(heavy, key=lambda row: row["share"]) if heavy else None
    return {"tail": TAIL, "gaussian": bound, "heavy": heavy,
            "activations": list(dict.fromkeys(row["activation"] for row in heavy)), "heaviest": heaviest}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _grows(values: list[float]) -> bool:
    return len(values) >= 2 and all(b > a for a, b in zip(values, values[1:]))


# ----------------------------------------------------------------------------------------------------- shapes


def turning_points(curve: np.ndarray, tolerance: float) -> int:
    """How many times ``curve`` changes direction, counting a turn only once it has come back by more than
    ``tolerance`` from its last extreme (so rounding and tiny ripples do not count)."""
    turns, direction = 0, 0
    start = extreme = float(curve[0])
    for value in map(float, curve[1:]):
        if direction == 0:
            if abs(value - start) > tolerance:
                direction, extreme = (1 if value > start else -1), value
        elif (value - extreme) * direction > 0:
            extreme = value
        elif abs(value - extreme) > tolerance:
            turns, direction, extreme = turns + 1, -direction, value
    return turns


def shape_of(x: np.ndarray, curves: np.ndarray, spread: float) -> dict:
    """Per drawn function: its turning points, and whether it is flat (range below ``FLAT`` of ``spread``) or
    straight (within ``STRAIGHT`` of its range from its least-squares line)."""
    ranges = curves.max(axis=1) - curves.min(axis=1)
    design = np.column_stack([np.ones_like(x), x])
    fitted = design @ np.linalg.lstsq(design, curves.T, rcond=None)[0]
    off_line = np.max(np.abs(curves.T - fitted), axis=0)
    return {"turns": [turning_points(c, TURN * r) for c, r in zip(curves, ranges)],
            "flat": [bool(r < FLAT * spread) for r in ranges],
            "straight": [bool(d <= STRAIGHT * r) for d, r in zip(off_line, ranges)]}


def _shapes(configs, first, widths, activations, depths) -> dict:
    """What the figures of draws show: turning points, flat and straight draws, by width and by depth."""
    shapes = {key: shape_of(o.x, o.curves, configs[key]["predicted"]) for key, o in first.items()}
    rows = [{"activation": a, "depth": d, "width": w, "draws": len(s["turns"]),
             "turns": float(np.mean(s["turns"])), "monotone": sum(t == 0 for t in s["turns"]),
             "flat": sum(s["flat"]), "straight": sum(s["straight"])}
            for (a, d, w), s in ((key, shapes[key]) for key in _order(shapes, activations))]
    narrow, wide, shallow, deep = widths[0], widths[-1], depths[0], depths[-1]

    def more(lower: Key, higher: Key) -> bool | None:
        if lower not in shapes or higher not in shapes:
            return None
        return interval(shapes[lower]["turns"]).below(interval(shapes[higher]["turns"]))

    def turns(key: Key) -> float | None:
        return float(np.mean(shapes[key]["turns"])) if key in shapes else None

    straight = [a for a in activations if all(all(s["straight"]) for (b, _d, _w), s in shapes.items() if b == a)]
    straight_draws = {a: sum(len(s["straight"]) for (b, _d, _w), s in shapes.items() if b == a) for a in straight}
    single = [shapes[(a, shallow, narrow)] for a in activations if (a, shallow, narrow) in shapes]
    wider = [{"activation": a, "narrow": turns((a, shallow, narrow)), "wide": turns((a, shallow, wide)),
              "more": more((a, shallow, narrow), (a, shallow, wide))}
             for a in activations if a not in straight and narrow < wide]
    deeper = [{"activation": a, "shallow": turns((a, shallow, wide)), "deep": turns((a, deep, wide)),
               "widths": [w for w in widths if more((a, shallow, w), (a, deep, w))],
               "more": bool(more((a, shallow, wide), (a, deep, wide)))}
              for a in activations if a not in straight and deep > shallow]
    flat = [{"activation": a, "flat": sum(sum(shapes[(a, d, narrow)]["flat"]) for d in depths[1:]
                                          if (a, d, narrow) in shapes),
             "draws": sum(len(shapes[(a, d, narrow)]["flat"]) for d in depths[1:] if (a, d, narrow) in shapes)}
            for a in activations if a not in straight]
    return {
        "rows": rows, "turn": TURN, "flat_below": FLAT,
        "single_unit": None if narrow != 1 or shallow != 1 or not single else {
            "monotone": sum(t == 0 for s in single for t in s["turns"]), "draws": sum(len(s["turns"]) for s in single)},
        "straight": [{"activation": a, "draws": straight_draws[a]} for a in straight],
        "wider": wider, "wider_more": [row["activation"] for row in wider if row["more"]],
        "deeper": deeper, "deeper_more": [row["activation"] for row in deeper if row["more"]],
        "deeper_not": [row["activation"] for row in deeper if not row["more"]],
        "flat_narrow": [row for row in flat if row["flat"]],
        "flat_narrow_total": {"flat": sum(row["flat"] for row in flat), "draws": sum(row["draws"] for row in flat)},
    }


# ---------------------------------------------------------------------------------------------------- figures


def _first_draws(first, depth) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """The grid and the curves of the first seed of each (activation, width) at ``depth``."""
    return {(activation, width): (o.x, o.curves) for (activation, d, width), o in first.items() if d == depth}


def _draws_figure(study_id: str, draws: int, depth: int, activations, widths, cells, grows: bool) -> Figure:
    with figure(len(activations), len(widths), height=1.25 * len(activations) + 0.4, sharex=True) as (fig, axes):
        for i, activation in enumerate(activations):
            for j, width in enumerate(widths):
                ax = axes[i][j]
                if (activation, width) in cells:
                    x, curves = cells[(activation, width)]
                    for curve, color in zip(curves, categorical_colors(len(curves))):
                        # Hundreds of curves per figure: raster inside the SVG keeps the PDF fast.
                        ax.plot(x, curve, color=color, lw=0.8, alpha=0.8, rasterized=True)
                powers_of_ten(ax.yaxis)  # no offset label: each tick says its own power of ten
                ax.tick_params(labelsize=6.5)
                if i == 0:
                    ax.set_title(_("width {width}", width=width))
                if j == 0:
                    ax.set_ylabel(_(activation))
                if i == len(activations) - 1:
                    ax.set_xlabel("x")
        svg, values = to_svg(fig), plotted_values(fig)
    layers = _hidden_layers(depth)
    caption = _("{draws} functions drawn from the prior of networks with {layers}: one row per activation, one "
                "column per width.", draws=draws, layers=layers)
    if grows:
        caption += " " + _("Note the vertical scales: the measured spread grows with width in every row.")
    return Figure(id=f"fig-{study_id}-draws-{depth}", svg=svg, values=values, caption=caption,
                  alt=_("{draws} functions per panel drawn from networks with {layers}, one row per activation, one "
                        "column per width ({widths}). The largest |f(x)| drawn, by width: {largest}.", draws=draws,
                        layers=layers, widths=conjoined(widths),
                        largest="; ".join(f"{_(a)} " + conjoined(
                            plain_number(float(np.max(np.abs(cells[(a, w)][1]))), 2) if (a, w) in cells else "—"
                            for w in widths) for a in activations)))


def _hidden_layers(depth: int) -> str:
    return _("one hidden layer") if depth == 1 else _("{depth} hidden layers", depth=depth)


def _spread_figure(study, configs, widths, activations, depths, facts) -> Figure:
    with figure(1, len(depths), height=2.5, sharey=True) as (fig, axes):
        colors = categorical_colors(len(activations))
        for ax, depth in zip(axes[0], depths):
            for activation, color in zip(activations, colors):
                cells = [configs[(activation, depth, w)] for w in widths if (activation, depth, w) in configs]
                w = [c["width"] for c in cells]
                measured = np.array([c["measured"] for c in cells])
                ax.plot(w, [c["predicted"] for c in cells], "-", color=color, lw=1.0, alpha=0.8,
                        label=unlisted(_("{activation}, predicted", activation=_(activation))))
                ax.plot(w, measured, "o", color=color, ms=3.5, label=_(activation))
                low = np.array([c["low"] for c in cells], dtype=float)
                high = np.array([c["high"] for c in cells], dtype=float)
                # The bars below are no curve: the plotted values take their ends from these hidden ones.
                values_only(ax, w, low, _("{curve}: 95 % interval, from", curve=_(activation)))
                values_only(ax, w, high, _("to"))
                shown = np.isfinite(low) & np.isfinite(high)
                if shown.any():
                    # The 95 % interval of each measured spread, as a bar through its dot.
                    ax.vlines(np.asarray(w)[shown], np.maximum(low[shown], measured[shown] * 1e-3), high[shown],
                              color=color, lw=1.0)
            log_scale(ax)
            ax.set_xlabel(_("width (units per hidden layer)"))
            ax.set_title(_hidden_layers(depth))
        axes[0][0].set_ylabel(_("spread of f(x)"))
        axes[0][-1].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        svg, values = to_svg(fig), plotted_values(fig)
    deep = [s for s in facts["slopes"] if s["depth"] == facts["deepest"]]
    slopes = conjoined(f"{_(s['activation'])} {fixed(s['predicted'], 2)}" for s in deep)
    spread = facts["spread"]
    misses = spread["exact"]["misses"] + spread["limit"]["misses"]
    alt = _("Log-log plots of the spread of f(x) against width, one panel per depth: measured dots with bars for "
            "their 95 % intervals, predicted lines.")
    if spread["checked"]:
        if misses:
            far = max(misses, key=lambda c: abs(math.log(c["ratio"])))
            alt += " " + _("The predicted line passes through the bar of {inside} of {checked} dots; the farthest "
                           "from it, {activation} with {layers} at width {width}, measures {ratio} times the "
                           "prediction.", inside=spread["inside"], checked=spread["checked"],
                           activation=_(far["activation"]), layers=_hidden_layers(far["depth"]), width=far["width"],
                           ratio=fixed(far["ratio"], 2))
        else:
            alt += " " + _("The predicted line passes through the bar of every dot ({checked} of {checked}).",
                           checked=spread["checked"])
    if deep:
        alt += " " + _("Predicted slopes with {layers}: {slopes}.", layers=_hidden_layers(facts["deepest"]),
                       slopes=slopes)
    return Figure(id=f"fig-{study.id}-spread", svg=svg, values=values,
                  caption=_("Spread of f(x) (standard deviation over draws, root mean square over x) against the "
                            "width: measured (dots, with bars for their 95 % intervals) and predicted by the "
                            "variance recursion (lines)."),
                  alt=alt)


# ----------------------------------------------------------------------------------------------------- tables


def _table(study: Study, configs, widths, activations, depths, facts) -> Table:
    """One row per (depth, activation), one column per width: measured spread over predicted."""
    cells: dict[tuple[int, str], dict[int, tuple[str, str]]] = {}
    for (activation, depth, width), c in configs.items():
        measured = fmt(c["measured"]) + ("†" if c["inside"] is False else "")
        predicted = fmt(c["predicted"]) + ("" if c["exact"] else "*")
        cells.setdefault((depth, activation), {})[width] = (measured, predicted)
    order = sorted(cells, key=lambda key: (key[0], activations.index(key[1])))
    rows = [(str(depth), _(activation), *(cells[(depth, activation)].get(w, "—") for w in widths))
            for depth, activation in order]
    caption = _("Spread of f(x) per configuration: measured (upper) and predicted by the variance recursion "
                "(lower, grey).")
    if any(not c["exact"] for c in configs.values()):
        caption += " " + _("Predictions marked * are the infinite-width limit (a bounded activation behind more "
                           "than one hidden layer); the others are exact at every width.")
    else:
        caption += " " + _("Every prediction is exact at its width.")
    if any(c["inside"] is False for c in configs.values()):
        caption += " " + _("† marks a measured spread whose 95 % interval does not contain the prediction.")
    elif facts["spread"]["checked"]:
        caption += " " + _("Every prediction lies inside the 95 % interval of its measured spread.")
    return Table(id=f"tab-{study.id}-spread",
                 columns=(_("hidden layers"), _("activation"), *(_("width {width}", width=w) for w in widths)),
                 rows=tuple(rows), numeric=(True, False, *([True] * len(widths))), caption=caption)


def _slope_table(study: Study, activations, depths, facts) -> Table:
    """One row per activation, one column per depth: the measured slope with its interval over the predicted."""
    by_key = {(s["activation"], s["depth"]): s for s in facts["slopes"]}
    rows = []
    for activation in activations:
        row = [_(activation)]
        for depth in depths:
            s = by_key.get((activation, depth))
            if s is None:
                row.append("—")
                continue
            measured = "—" if s["measured"] is None else fixed(s["measured"], 2)
            if s["low"] is not None:
                measured += f" ({fixed(s['low'], 2)}–{fixed(s['high'], 2)})" + ("" if s["agrees"] else "†")
            row.append((measured, fixed(s["predicted"], 2)))
        rows.append(tuple(row))
    widths = facts["widths"]
    caption = _("Slope of the log spread against the log width, over widths {first} to {last}: measured, with its "
                "95 % interval (upper), and predicted by the variance recursion (lower, grey).",
                first=number(widths[0]), last=number(widths[-1]))
    if any(s["agrees"] is False for s in facts["slopes"]):
        caption += " " + _("† marks a measured slope whose interval does not contain the prediction.")
    elif facts["slopes_checked"]:
        caption += " " + _("Every prediction lies inside the interval of its measured slope.")
    return Table(id=f"tab-{study.id}-slopes", columns=(_("activation"), *(_hidden_layers(d) for d in depths)),
                 rows=tuple(rows), numeric=(False, *([True] * len(depths))), caption=caption)
