"""Prior sampling: functions drawn from MLPs with Gaussian weights, and their spread against theory."""

from __future__ import annotations

import numpy as np
from markupsafe import Markup

from ..figures import Figure, categorical_colors, figure, log_scale, to_svg
from ..language import _, fixed, listing
from ..plan import Run
from ..spec import Study
from .base import Drawing, StudyResult, Table, assemble, fmt
from .prior_explorer import prior_explorers
from .prior_sampling import PriorOutcome

AXIS = "model.width"


def analyze(study: Study, runs: list[Run], outcomes: list[PriorOutcome]) -> StudyResult:
    """Spread per configuration, a grid of draws per depth, spread against width, and the spread table."""
    metrics = [_metrics(o) for o in outcomes]
    models = [run.config.model for run in runs]
    widths = sorted({m.width for m in models})
    activations = list(dict.fromkeys(m.activation for m in models))
    depths = sorted({m.depth for m in models})
    first_seed = {(m.width, m.activation, m.depth): i for i, m in reversed(list(enumerate(models)))}
    draws = runs[0].config.sampling.draws
    # The grids are most of the analysis's time: each is drawn as a unit of its own, beside the others.
    figures = {f"draws_depth{d}": Drawing(_draws_figure, (study.id, draws, d, activations, widths,
                                                          _first_draws(outcomes, first_seed, d)))
               for d in depths}
    facts = _facts(runs, metrics, widths, activations, depths)
    figures["spread"] = _spread_figure(study, runs, metrics, widths, activations, depths, facts)
    return assemble(study, runs, outcomes, metrics, figures, {"spread": _table(study, runs, metrics)}, facts,
                    explorers=prior_explorers(study, runs, outcomes, metrics))


def _metrics(outcome: PriorOutcome) -> dict[str, float]:
    # Root mean square over the measurement points: one number per configuration.
    measured = float(np.sqrt(np.mean(outcome.measured_std ** 2)))
    theory = float(np.sqrt(np.mean(outcome.theory_std ** 2)))
    return {"measured_std": measured, "theory_std": theory, "ratio": measured / theory,
            "theory_exact": bool(outcome.exact), "draws_std": float(np.std(outcome.curves))}


def _facts(runs, metrics, widths, activations, depths) -> dict:
    def lookup(width, activation, depth):
        values = [m for r, m in zip(runs, metrics) if (r.config.model.width, r.config.model.activation,
                                                       r.config.model.depth) == (width, activation, depth)]
        return values[0] if values else None

    slopes = {}
    for activation in activations:
        points = [(w, lookup(w, activation, depths[0])) for w in widths]
        points = [(w, m["measured_std"]) for w, m in points if m is not None]
        if len(points) >= 2:
            w, s = np.log(np.array(points, dtype=float)).T
            slopes[activation] = float(np.polyfit(w, s, 1)[0])
    exact_ratios = [m["ratio"] for m in metrics if m["theory_exact"]]
    widest = widths[-1]
    return {
        "widths": widths, "activations": activations, "depths": depths,
        "slopes": slopes,
        "widest": widest,
        "widest_ratio": {a: lookup(widest, a, depths[0])["ratio"] for a in activations if lookup(widest, a, depths[0])},
        "exact_ratio_range": (min(exact_ratios), max(exact_ratios)) if exact_ratios else None,
        "draws": runs[0].config.sampling.draws,
        "spread_draws": runs[0].config.sampling.spread_draws,
        "weight_std": runs[0].config.model.weight_std,
        "bias_std": runs[0].config.model.bias_std,
        "domain": runs[0].config.sampling.domain,
    }


def _first_draws(outcomes, first_seed, depth) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """The grid and the curves of the first seed of each (activation, width) at ``depth``."""
    return {(activation, width): (outcomes[k].x, outcomes[k].curves)
            for (width, activation, d), k in first_seed.items() if d == depth}


def _draws_figure(study_id: str, draws: int, depth: int, activations, widths, cells) -> Figure:
    with figure(len(activations), len(widths), height=1.25 * len(activations) + 0.4, sharex=True) as (fig, axes):
        for i, activation in enumerate(activations):
            for j, width in enumerate(widths):
                ax = axes[i][j]
                if (activation, width) in cells:
                    x, curves = cells[(activation, width)]
                    for curve, color in zip(curves, categorical_colors(len(curves))):
                        # Hundreds of curves per figure: raster inside the SVG keeps the PDF fast.
                        ax.plot(x, curve, color=color, lw=0.8, alpha=0.8, rasterized=True)
                ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
                ax.tick_params(labelsize=6.5)
                ax.yaxis.get_offset_text().set_fontsize(6.5)
                if i == 0:
                    ax.set_title(_("width {width}", width=width))
                if j == 0:
                    ax.set_ylabel(_(activation))
                if i == len(activations) - 1:
                    ax.set_xlabel("x")
        svg = to_svg(fig)
    layers = _hidden_layers(depth)
    return Figure(id=f"fig-{study_id}-draws-{depth}", svg=svg,
                  caption=_("{draws} functions drawn from the prior of networks with {layers}: one row per "
                            "activation, one column per width. Note the vertical scales, which grow with width.",
                            draws=draws, layers=layers),
                  alt=_("A grid of {rows} by {columns} panels, each with {draws} random functions of x drawn from "
                        "networks with {layers}; rows {activations}; columns widths {widths}.", rows=len(activations),
                        columns=len(widths), draws=draws, layers=layers,
                        activations=listing(_(a) for a in activations), widths=listing(widths)))


def _hidden_layers(depth: int) -> str:
    return _("one hidden layer") if depth == 1 else _("{depth} hidden layers", depth=depth)


def _spread_figure(study, runs, metrics, widths, activations, depths, facts) -> Figure:
    with figure(1, len(depths), height=2.5, sharey=True) as (fig, axes):
        colors = categorical_colors(len(activations))
        for ax, depth in zip(axes[0], depths):
            for activation, color in zip(activations, colors):
                pts = [(r.config.model.width, m) for r, m in zip(runs, metrics)
                       if r.config.model.activation == activation and r.config.model.depth == depth]
                pts.sort(key=lambda p: p[0])
                w = [p[0] for p in pts]
                ax.plot(w, [p[1]["theory_std"] for p in pts], "-", color=color, lw=1.0, alpha=0.8)
                ax.plot(w, [p[1]["measured_std"] for p in pts], "o", color=color, ms=3.5, label=_(activation))
            log_scale(ax)
            ax.set_xlabel(_("width (units per hidden layer)"))
            ax.set_title(_hidden_layers(depth))
        axes[0][0].set_ylabel(_("spread of f(x)"))
        axes[0][-1].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        svg = to_svg(fig)
    slopes = listing(f"{_(a)} {fixed(s, 2)}" for a, s in facts["slopes"].items())
    return Figure(id=f"fig-{study.id}-spread", svg=svg,
                  caption=_("Spread of f(x) (standard deviation over draws, root mean square over x) against the "
                            "width: measured (dots) and predicted (lines)."),
                  alt=_("Log-log plots of the spread of f(x) against width, one panel per depth. Measured dots "
                        "follow the predicted lines; for one hidden layer the fitted slopes are {slopes}, close to "
                        "the square-root growth (slope {half}) theory predicts.", slopes=slopes, half=fixed(0.5, 1)))


def _table(study: Study, runs, metrics) -> Table:
    """One row per (depth, activation), one column per width: measured spread over predicted."""
    widths = sorted({run.config.model.width for run in runs})
    cells: dict[tuple[int, str], dict[int, str]] = {}
    for run, m in zip(runs, metrics):
        model = run.config.model
        predicted = fmt(m["theory_std"]) + ("" if m["theory_exact"] else "*")
        cells.setdefault((model.depth, model.activation), {})[model.width] = Markup(
            f"{fmt(m['measured_std'])}<br><span class=\"predicted\">{predicted}</span>")
    activations = list(dict.fromkeys(run.config.model.activation for run in runs))
    order = sorted(cells, key=lambda key: (key[0], activations.index(key[1])))
    rows = [(str(depth), _(activation), *(cells[(depth, activation)].get(w, "—") for w in widths))
            for depth, activation in order]
    return Table(id=f"tab-{study.id}-spread",
                 columns=(_("hidden layers"), _("activation"), *(_("width {width}", width=w) for w in widths)),
                 rows=tuple(rows), numeric=(True, False, *([True] * len(widths))),
                 caption=_("Spread of f(x) per configuration: measured (upper) and predicted (lower, grey). "
                           "Predictions marked * are the infinite-width limit, exact only for one hidden layer."))
