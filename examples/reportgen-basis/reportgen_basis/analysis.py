"""A basis study's metrics, its figures, its table and the facts its template quotes."""

from __future__ import annotations

import numpy as np

from reportgen.data import Dataset
from reportgen.figures import Figure
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
FAMILY_NAMES = {"gaussian": "Gaussian bumps", "fourier": "Fourier features"}
WHERE = " (over the whole grid, and inside the gap)"


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


def _setting(rest: tuple[tuple[str, object], ...]) -> str:
    """What a series holds fixed, as a reader names it: ``Fourier features, noise 0.3``."""
    parts = [FAMILY_NAMES[value] if key == "model.family" else f"{key.split('.')[-1].replace('_', ' ')} {value}"
             for key, value in rest]
    return ", ".join(parts) or "all runs"


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
        per_series.append({
            "label": _setting(rest), "family": model.family, "family_name": FAMILY_NAMES[model.family],
            # What else the series holds fixed, for prose that already names the family ("" when nothing).
            "other": _setting(tuple(pair for pair in rest if pair[0] != "model.family")) if any(
                key != "model.family" for key, _ in rest) else "",
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
            "best": {"family_name": overall["family_name"], "other": overall["other"],
                     "count": overall["best_count"], "test_mse": overall["best_test_mse"]}}


def _fits_figure(study: Study, series: dict, facts: dict) -> Figure:
    # fit_panels titles each panel by its series label ("family fourier"); name the family as the prose does.
    titles = {series_label(rest): _setting(rest) for rest in series}
    svg = fit_panels(series, lambda cell: f"{_count(cell)} function{'s' if _count(cell) != 1 else ''}",
                     title=lambda label: titles.get(label, label))
    described = "; ".join(
        f"{s['label'] + ': ' if len(series) > 1 else ''}{s['family_name']}, lowest test error with {s['best_count']} "
        f"({fmt(s['best_test_mse'], html=False)})" for s in facts["series"])
    return Figure(
        id=f"fig-{study.id}-fits", svg=svg,
        caption=("Closed-form fits on a fixed basis (a bias plus the given number of functions) to the training "
                 f"data, with the noiseless target dashed{' and the gap in the data shaded' if facts['gap'] else ''}."),
        alt=f"Training points, the target and the fitted curves, one panel per setting. {described}.",
    )


def _table(study: Study, series: dict) -> Table:
    multi = len(series) > 1
    gap = any("gap_mse" in c.metrics[0] for members in series.values() for c in members)
    rows = []
    for rest, members in series.items():
        for cell in members:
            row = [_setting(rest)] if multi else []
            row += [str(_count(cell)), str(cell.metrics[0]["rank"]), fmt(cell.mean("train_sse")),
                    fmt(cell.mean("test_mse"))]
            inside = fmt(cell.mean("gap_mse")) if "gap_mse" in cell.metrics[0] else "—"
            rows.append(tuple(row + ([inside] if gap else [])))
    columns = (["setting"] if multi else []) + ["basis functions", "rank", "train SSE", "test MSE"]
    columns += ["test MSE in the gap"] if gap else []
    return Table(id=f"tab-{study.id}-errors", columns=tuple(columns), rows=tuple(rows),
                 numeric=tuple([False] * multi + [True] * (len(columns) - multi)),
                 caption=("Errors per basis: training SSE on the noisy points, and mean squared error against the "
                          f"noiseless target on the test grid{WHERE if gap else ''}. The rank is that of the design "
                          "matrix (with its ridge rows): below the number of coefficients, some combination of basis "
                          "functions is invisible at the training points."))
