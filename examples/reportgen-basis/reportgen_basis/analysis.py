"""A basis study's metrics, its figures, its table and the facts its template quotes.

Every word goes through ``reportgen.language._`` and ``ngettext``: ``analyze`` runs once per language of a build,
and the Spanish is in ``templates/locale/es/LC_MESSAGES/messages.po`` (``reportgen translations update``).
"""

from __future__ import annotations

import numpy as np

from reportgen.data import Dataset
from reportgen.figures import Figure
from reportgen.language import _, current, ngettext, number
from reportgen.plan import Run
from reportgen.spec import Study
from reportgen.studies.base import StudyResult, Table, assemble, fmt
from reportgen.studies.regression import (
    Cell,
    cells,
    data_figure,
    dataset_of,
    fit_panels,
    series_label,
    split_by,
)

from .fit import BasisOutcome

AXIS = "model.count"


def analyze(study: Study, runs: list[Run], outcomes: list[BasisOutcome]) -> StudyResult:
    """Errors per run; the data and the fits (one panel per setting); the error table; the facts."""
    metrics = [_metrics(run, outcome, dataset_of(run)) for run, outcome in zip(runs, outcomes)]
    grid = cells(runs, outcomes, metrics)
    series = split_by(grid, AXIS)
    facts = _facts(series)
    figures = {"data": data_figure(study, grid), "fits": _fits_figure(study, series, facts)}
    return assemble(study, runs, outcomes, metrics, figures, {"errors": _table(study, series)}, facts)


def _metrics(run: Run, outcome: BasisOutcome, data: Dataset) -> dict[str, float]:
    error = outcome.test_pred - data.f_test
    metrics = {
        "train_sse": float(outcome.train_sse),
        "test_mse": float(np.mean(error ** 2)),
        "weight_norm": float(np.sqrt(np.sum(outcome.coefficients ** 2))),
        "n_parameters": int(outcome.coefficients.size),
        "rank": int(outcome.rank),
    }
    if data.gap is not None:
        inside = (data.x_test > data.gap[0]) & (data.x_test < data.gap[1])
        metrics["gap_mse"] = float(np.mean(error[inside] ** 2)) if inside.any() else float("nan")
    return metrics


def _family_name(family: str) -> str:
    """A family of bases as the prose names it, in the current language."""
    return _("Gaussian bumps") if family == "gaussian" else _("Fourier features")


def _parameter(key: str, value: object) -> str:
    """One value a series holds fixed, as a reader names it: ``width 0.05``, ``noise 0.3``."""
    if key == "model.width":
        return _("width {width}", width=number(value))
    if key == "model.ridge":
        return _("ridge penalty {ridge}", ridge=number(value))
    return series_label(((key, value),))  # the data's keys, as the built-in studies name them


def _other(rest: tuple[tuple[str, object], ...]) -> str:
    """What a series holds fixed besides its family (``""`` when nothing)."""
    return current().separator.join(_parameter(key, value) for key, value in rest if key != "model.family")


def _setting(rest: tuple[tuple[str, object], ...], family: str) -> str:
    """What a series holds fixed, as a reader names it: ``Fourier features, noise 0.3``."""
    return current().separator.join([_family_name(family), *filter(None, [_other(rest)])])


def _count(cell: Cell) -> int:
    return cell.runs[0].config.model.count


def _best(members: list[Cell]) -> Cell:
    """The cell of lowest mean test error (a failed one counts as infinitely bad), the fewest functions on a tie."""
    return min(members, key=lambda c: (np.nan_to_num(c.mean("test_mse"), nan=np.inf), _count(c)))


def _facts(series: dict) -> dict:
    per_series = []
    for rest, members in series.items():
        best, low, high = _best(members), min(members, key=_count), max(members, key=_count)
        data = dataset_of(members[0].runs[0])
        model = members[0].runs[0].config.model
        other = _other(rest)
        per_series.append({
            "label": _setting(rest, model.family), "family": model.family,
            "family_name": _family_name(model.family),
            # What else the series holds fixed ("" when nothing), and the family named with it, for the prose.
            "other": other,
            "name": _("{family} ({setting})", family=_family_name(model.family), setting=other) if other
            else _family_name(model.family),
            "width": model.width, "ridge": model.ridge,
            "counts": [_count(c) for c in members],
            "best_count": _count(best), "best_test_mse": best.mean("test_mse"),
            "lowest_count": _count(low), "lowest_test_mse": low.mean("test_mse"),
            "lowest_train_sse": low.mean("train_sse"),
            "highest_count": _count(high), "highest_test_mse": high.mean("test_mse"),
            "highest_train_sse": high.mean("train_sse"), "highest_gap_mse": high.metrics[0].get("gap_mse"),
            "best_weight_norm": best.mean("weight_norm"), "highest_weight_norm": high.mean("weight_norm"),
            "noise_floor": float(np.sum((data.y_train - data.f_train) ** 2)),
            "n_train": len(data.x_train),
        })
    overall = min(per_series, key=lambda s: (np.nan_to_num(s["best_test_mse"], nan=np.inf), s["best_count"]))
    return {"series": per_series, "families": sorted({s["family"] for s in per_series}),
            "gap": any(dataset_of(m[0].runs[0]).gap is not None for m in series.values()),
            "best": {"family_name": overall["family_name"], "other": overall["other"], "name": overall["name"],
                     "count": overall["best_count"], "test_mse": overall["best_test_mse"]}}


def _fits_figure(study: Study, series: dict, facts: dict) -> Figure:
    # fit_panels titles each panel by its series label ("family fourier"); name the family as the prose does.
    titles = {series_label(rest): s["label"] for rest, s in zip(series, facts["series"])}
    svg, values = fit_panels(series, lambda cell: ngettext("{n} function", "{n} functions", _count(cell)),
                             title=lambda label: titles.get(label, label))
    described = " ".join(
        ngettext("{setting}: lowest test error with {n} function ({error}).",
                 "{setting}: lowest test error with {n} functions ({error}).", s["best_count"],
                 setting=s["label"], error=fmt(s["best_test_mse"], html=False)) for s in facts["series"])
    if facts["gap"]:
        caption = _("Closed-form fits on a fixed basis (a bias plus the given number of functions) to the training "
                    "data, with the noiseless target dashed and the gap in the data shaded.")
    else:
        caption = _("Closed-form fits on a fixed basis (a bias plus the given number of functions) to the training "
                    "data, with the noiseless target dashed.")
    return Figure(
        id=f"fig-{study.id}-fits", svg=svg, values=values, caption=caption,
        alt=_("Training points, the target and the fitted curves, one panel per setting. {described}",
              described=described),
    )


def _table(study: Study, series: dict) -> Table:
    multi = len(series) > 1
    gap = any("gap_mse" in c.metrics[0] for members in series.values() for c in members)
    rows = []
    for rest, members in series.items():
        setting = _setting(rest, members[0].runs[0].config.model.family)
        for cell in members:
            row = [setting] if multi else []
            row += [number(_count(cell)), number(cell.metrics[0]["rank"]), fmt(cell.mean("train_sse")),
                    fmt(cell.mean("test_mse"))]
            inside = fmt(cell.mean("gap_mse")) if "gap_mse" in cell.metrics[0] else "—"
            rows.append(tuple(row + ([inside] if gap else [])))
    columns = ([_("setting")] if multi else []) + [_("basis functions"), _("rank"), _("train SSE"), _("test MSE")]
    columns += [_("test MSE in the gap")] if gap else []
    if gap:
        caption = _("Errors per basis: training SSE on the noisy points, and mean squared error against the "
                    "noiseless target on the test grid (over the whole grid, and inside the gap). The rank is that "
                    "of the design matrix (with its ridge rows): below the number of coefficients, some combination "
                    "of basis functions is invisible at the training points.")
    else:
        caption = _("Errors per basis: training SSE on the noisy points, and mean squared error against the "
                    "noiseless target on the test grid. The rank is that of the design matrix (with its ridge "
                    "rows): below the number of coefficients, some combination of basis functions is invisible at "
                    "the training points.")
    return Table(id=f"tab-{study.id}-errors", columns=tuple(columns), rows=tuple(rows),
                 numeric=tuple([False] * multi + [True] * (len(columns) - multi)), caption=caption)
