"""A basis study's metrics, its two figures, its table and the facts its template quotes.

Every word goes through ``_`` and ``ngettext``: ``analyze`` runs once per language of a build, and the Spanish is
in ``templates/locale/es/LC_MESSAGES/messages.po`` (``reportgen translations update``).
"""

from __future__ import annotations

import numpy as np

from reportgen.plugin import Dataset, Table, _, assemble, conjoined, fmt, make_dataset, ngettext, number, plot

AXIS = "model.count"
"""The swept key each series runs along; every other swept value makes a series of its own."""


def analyze(study, runs, outcomes):
    """Errors per run; the data and the fits (one panel per setting); the error table; the facts."""
    metrics = [_metrics(outcome, make_dataset(run.config.data)) for run, outcome in zip(runs, outcomes)]
    series = _series(runs, outcomes, metrics)
    facts = _facts(series)
    figures = {"data": _data_figure(study, runs), "fits": _fits_figure(study, series, facts)}
    return assemble(study, runs, outcomes, metrics, figures, {"errors": _table(study, series, facts)}, facts)


REGIONS = ("gap", "outside")
"""The regions of the test grid whose errors the study reports apart: the gap in the data, and the grid beyond the
ends of the training inputs (``Dataset.regions()``)."""


def _metrics(outcome: dict, data: Dataset) -> dict[str, float]:
    squared = (outcome["test_pred"] - data.f_test) ** 2
    metrics = {
        "train_sse": float(outcome["train_sse"]),
        "test_mse": float(np.mean(squared)),
        "weight_norm": float(np.sqrt(np.sum(outcome["coefficients"] ** 2))),
        "n_parameters": int(outcome["coefficients"].size),
        "rank": int(outcome["rank"]),
    }
    masks = data.regions()
    for region in REGIONS:
        if masks[region].any():
            # Its mean squared error, and its share of the squared error summed over the whole grid.
            metrics[f"{region}_mse"] = float(np.mean(squared[masks[region]]))
            metrics[f"{region}_share"] = float(np.sum(squared[masks[region]]) / np.sum(squared))
    return metrics


class _Cell:
    """The runs of one sweep point (every seed): their outcomes, metrics and means over the healthy seeds."""

    def __init__(self, params: dict, members: list[tuple]):
        self.params, self.runs, self.metrics = params, [r for r, _o, _m in members], [m for _r, _o, m in members]
        self.healthy = [(outcome, metric) for _r, outcome, metric in members if outcome.get("status", "ok") == "ok"]
        self.config = self.runs[0].config
        self.count = self.config.model.count

    def mean(self, metric: str) -> float:
        """Mean of ``metric`` over the healthy seeds (NaN when every seed failed, or when no run has it)."""
        values = [m[metric] for _o, m in self.healthy if metric in m]
        return float(np.mean(values)) if values else float("nan")

    @property
    def fit(self) -> np.ndarray | None:
        """The first healthy seed's fit on the evaluation grid, the one the figure draws."""
        return self.healthy[0][0]["test_pred"] if self.healthy else None


def _series(runs, outcomes, metrics) -> dict[tuple, list[_Cell]]:
    """Runs grouped by sweep point (in sweep order), the points grouped by every swept value but ``AXIS``."""
    points: dict[tuple, list[tuple]] = {}
    for member in zip(runs, outcomes, metrics):
        points.setdefault(member[0].params, []).append(member)
    series: dict[tuple, list[_Cell]] = {}
    for params, members in points.items():
        rest = tuple((key, value) for key, value in params if key != AXIS)
        series.setdefault(rest, []).append(_Cell(dict(params), members))
    return series


def _family_name(family: str) -> str:
    """A family of bases as the prose names it, in the current language."""
    return _("Gaussian bumps") if family == "gaussian" else _("Fourier features")


def _parameter(key: str, value: object) -> str:
    """One value a series holds fixed, as a reader names it: ``width 0.05``; a key without words of its own
    as the definition spells it (``data.noise = 0.3``)."""
    if key == "model.width":
        return _("width {width}", width=number(value))
    if key == "model.ridge":
        return _("ridge penalty {ridge}", ridge=number(value))
    return f"{key} = {number(value)}"


def _other(rest: tuple) -> str:
    """What a series holds fixed besides its family (``""`` when nothing)."""
    return conjoined(_parameter(key, value) for key, value in rest if key != "model.family")


def _best(cells: list[_Cell]) -> _Cell:
    """The cell of lowest mean test error (a failed one counts as infinitely bad), the fewest functions on a tie."""
    return min(cells, key=lambda c: (np.nan_to_num(c.mean("test_mse"), nan=np.inf), c.count))


def _regions(cell: _Cell) -> dict:
    """The cell's mean error in each region of the grid that has test points (None where it has none), and the
    region holding more than half of its squared error over the whole grid (None when no region does)."""
    errors = {f"{region}_mse": cell.mean(f"{region}_mse") if f"{region}_mse" in cell.metrics[0] else None
              for region in REGIONS}
    shares = {region: cell.mean(f"{region}_share") for region in REGIONS if f"{region}_share" in cell.metrics[0]}
    most = max(shares, key=shares.get) if shares and max(shares.values()) > 0.5 else None
    return {**errors, "most": most, "most_share": shares[most] if most else None}


def _facts(series: dict) -> dict:
    per_series = []
    for rest, cells in series.items():
        best, low, high = _best(cells), min(cells, key=lambda c: c.count), max(cells, key=lambda c: c.count)
        data, model = make_dataset(cells[0].config.data), cells[0].config.model
        other, family = _other(rest), _family_name(model.family)
        # The training SSE of the noiseless target itself: the noise drawn into these very points. A fit whose
        # training SSE ends below it sits closer to the noisy targets than the target does: it has fitted noise.
        floor = float(np.sum((data.y_train - data.f_train) ** 2))
        below = [c for c in cells if c.mean("train_sse") < floor]
        above = [c for c in cells if c not in below]
        per_series.append({
            "family": model.family, "family_name": family, "other": other,
            # The setting as a label ("Fourier features, width 0.05") and as the prose names it.
            "label": _("{family}, {setting}", family=family, setting=other) if other else family,
            "name": _("{family} ({setting})", family=family, setting=other) if other else family,
            "counts": [c.count for c in cells],
            "best_count": best.count, "best_test_mse": best.mean("test_mse"),
            "lowest_count": low.count, "lowest_test_mse": low.mean("test_mse"),
            "lowest_train_sse": low.mean("train_sse"),
            "highest_count": high.count, "highest_test_mse": high.mean("test_mse"),
            "highest_train_sse": high.mean("train_sse"),
            "highest": _regions(high),
            "best_weight_norm": best.mean("weight_norm"), "highest_weight_norm": high.mean("weight_norm"),
            "noise_floor": floor,
            # The counts whose training SSE ends below the noise floor, and the others, each with its SSE.
            "below_floor": [c.count for c in below], "below_floor_sse": [c.mean("train_sse") for c in below],
            "above_floor": [c.count for c in above], "above_floor_sse": [c.mean("train_sse") for c in above],
        })
    overall = min(per_series, key=lambda s: (np.nan_to_num(s["best_test_mse"], nan=np.inf), s["best_count"]))
    sets = [make_dataset(cells[0].config.data) for cells in series.values()]
    return {"series": per_series, "families": sorted({s["family"] for s in per_series}),
            "gap": any(data.regions()["gap"].any() for data in sets),
            "outside": any(data.regions()["outside"].any() for data in sets),
            "best": {"name": overall["name"], "count": overall["best_count"], "test_mse": overall["best_test_mse"]}}


def _plain(value: float, digits: int = 3) -> str:
    """A measured number for a caption or alt text: plain text, in the build's language, with the minus sign "−"
    that ``number`` and the HTML numbers use."""
    return fmt(value, digits, html=False).replace("-", "−")


def _draw_data(ax, data: Dataset, legend: bool) -> None:
    """Training points, the noiseless target (dashed) and the gap (shaded) on one panel."""
    if data.gap is not None:
        ax.axvspan(*data.gap, color="#bbbbbb", alpha=0.3, lw=0)
    ax.plot(data.x_test, data.f_test, color="#d62728", lw=1.2, ls="--", label=_("target f(x)"), zorder=3)
    ax.plot(data.x_train, data.y_train, "o", ms=3.7, color="#222222", label=_("training data") if legend else "_",
            zorder=4)
    # The data's range with a margin: a fit that swings far beyond it leaves the panel rather than flatten the data.
    values = np.concatenate([data.y_train, data.f_test])
    margin = 0.35 * (values.max() - values.min())
    ax.set_ylim(values.min() - margin, values.max() + margin)
    ax.set_xlim(data.x_test[0], data.x_test[-1])
    ax.set_xlabel("x")


def _data_figure(study, runs):
    """The training data (one panel per distinct data set, four at most): what a student gets to see."""
    shown = list({run.config.data.model_dump_json(): run.config.data for run in runs}.values())[:4]
    sets = [make_dataset(spec) for spec in shown]

    def draw(axes):
        for ax, data in zip(axes[0], sets):
            _draw_data(ax, data, legend=True)
        axes[0][0].set_ylabel("y")
        axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)

    data = sets[0]
    if data.gap is not None:
        caption = _("The training data: {points} noisy observations of the target (dashed), with no points between "
                    "x = {low} and {high} (shaded).", points=number(len(data.x_train)),
                    low=_plain(data.gap[0], 2), high=_plain(data.gap[1], 2))
    else:
        caption = _("The training data: {points} noisy observations of the target (dashed).",
                    points=number(len(data.x_train)))
    ys = np.concatenate([d.y_train for d in sets])
    alt = ngettext("{n} panel of {points} noisy observations of the target, x from {low} to {high}, y from {ymin} "
                   "to {ymax}.", "{n} panels, each of {points} noisy observations of the target, x from {low} to "
                   "{high}; y from {ymin} to {ymax} over all panels.", len(sets), points=number(len(data.x_train)),
                   # The ends of the training inputs as the definitions place them (0.0 and 1.0), measured y as fmt.
                   low=number(float(data.x_train.min())), high=number(float(data.x_train.max())),
                   ymin=_plain(ys.min()), ymax=_plain(ys.max()))
    return plot(draw, id=f"fig-{study.id}-data", caption=caption, alt=alt, ncols=len(sets), height=2.4, sharey=True)


def _fits_figure(study, series: dict, facts: dict):
    """One panel per setting: the data, the target and each count's fit (its first healthy seed)."""
    def draw(axes):
        for ax, cells, s in zip(axes[0], series.values(), facts["series"]):
            data = make_dataset(cells[0].config.data)
            _draw_data(ax, data, legend=False)
            for k, cell in enumerate(cells):
                if cell.fit is not None:
                    ax.plot(data.x_test, cell.fit, lw=1.1, color=f"C{k}",
                            label=ngettext("{n} function", "{n} functions", cell.count))
            if len(series) > 1:
                ax.set_title(s["label"])
        axes[0][0].set_ylabel("y")
        axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)

    described = " ".join(
        ngettext("{setting}: of the counts tried, lowest test error with {n} function ({error}).",
                 "{setting}: of the counts tried, lowest test error with {n} functions ({error}).", s["best_count"],
                 setting=s["label"], error=_plain(s["best_test_mse"])) for s in facts["series"])
    if facts["gap"]:
        caption = _("Closed-form fits on a fixed basis (a bias plus the given number of functions) to the training "
                    "data (dots), with the noiseless target dashed and the gap in the data shaded.")
    else:
        caption = _("Closed-form fits on a fixed basis (a bias plus the given number of functions) to the training "
                    "data (dots), with the noiseless target dashed.")
    alt = _("Training points, the target and the fitted curves, one panel per setting. {described}",
            described=described)
    return plot(draw, id=f"fig-{study.id}-fits", caption=caption, alt=alt, ncols=len(series), height=2.7,
                sharey=True)


def _table(study, series: dict, facts: dict) -> Table:
    multi = len(series) > 1
    regions = [region for region in REGIONS if facts[region]]  # the regions some data set has test points in
    rows = []
    for cells, s in zip(series.values(), facts["series"]):
        for cell in cells:
            row = ([s["label"]] if multi else []) + [number(cell.count), number(cell.metrics[0]["rank"]),
                                                     fmt(cell.mean("train_sse")), fmt(cell.mean("test_mse"))]
            rows.append(tuple(row + [fmt(cell.mean(f"{region}_mse")) for region in regions]))
    names = {"gap": _("test MSE in the gap"), "outside": _("test MSE beyond the data")}
    columns = ([_("setting")] if multi else []) + [_("basis functions"), _("rank"), _("train SSE"), _("test MSE")]
    columns += [names[region] for region in regions]
    where = {"gap": _("inside the gap"), "outside": _("beyond the ends of the training inputs")}
    over = conjoined([_("over the whole grid")] + [where[region] for region in regions])
    caption = _("Errors per basis: training SSE on the noisy points, and mean squared error against the noiseless "
                "target on the test grid: {regions}. The rank is that of the design matrix (with its ridge rows): "
                "below the number of coefficients, some combination of basis functions is invisible at the training "
                "points.", regions=over)
    return Table(id=f"tab-{study.id}-errors", columns=tuple(columns), rows=tuple(rows),
                 numeric=tuple([False] * multi + [True] * (len(columns) - multi)), caption=caption)
