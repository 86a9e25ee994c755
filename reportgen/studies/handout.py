"""What a student edition shows of the built-in studies, from their definitions alone: no run is computed.

A student handout prints each study's setup, its data figure and its activities, and chooses a few words from
facts the definitions determine (the degrees a sweep tries and its settings' labels, the prior's scales and
draws). Each function here gives exactly those, as a :class:`StudyResult` without runs, so that a build of
student editions alone trains and samples nothing. The facts carry the names the analyses give them (the same
templates read both) and are computed by the same helpers.
"""

from __future__ import annotations

from ..model import Run, Study
from ..results import StudyResult
from .regression import Cell, cells, data_figure, series_label, split_by


def overfitting(study: Study, runs: list[Run]) -> StudyResult:
    """The data figure, each noise setting's label and the degrees the sweep tries."""
    grid = _cells(runs)
    series = split_by(grid, "model.degree")
    facts = {"series": [{"label": series_label(rest)} for rest in series],
             "degrees": sorted({cell.runs[0].config.model.degree for cell in grid})}
    return _result(study, grid, facts)


def regularization(study: Study, runs: list[Run]) -> StudyResult:
    """The data figure, and per setting its label and the degree of its polynomial."""
    grid = _cells(runs)
    series = split_by(grid, "train.weight_decay")
    facts = {"series": [{"label": series_label(rest),
                         "degree": max(members, key=lambda c: c.runs[0].config.train.weight_decay)
                         .runs[0].config.model.degree}
                        for rest, members in series.items()]}
    return _result(study, grid, facts)


def capacity(study: Study, runs: list[Run]) -> StudyResult:
    """The data figure."""
    return _result(study, _cells(runs), {})


def prior(study: Study, runs: list[Run]) -> StudyResult:
    """The prior's scales, its domain and how many functions each width draws to measure the spread."""
    base = runs[0].config
    widths = sorted({run.config.model.width for run in runs})
    facts = {"weight_std": base.model.weight_std, "bias_std": base.model.bias_std, "domain": base.sampling.domain,
             "draws": base.sampling.draws,
             "spread_draws": [{"width": w, "draws": base.sampling.spread_draws_at(w)} for w in widths]}
    return StudyResult(study=study, runs=(), statuses=(), metrics=(), figures={}, tables={}, facts=facts)


def _cells(runs: list[Run]) -> list[Cell]:
    """The sweep's points, without outcomes: what the data figure and the series labels need."""
    return cells(runs, [None] * len(runs), [{}] * len(runs))


def _result(study: Study, grid: list[Cell], facts: dict) -> StudyResult:
    return StudyResult(study=study, runs=(), statuses=(), metrics=(), figures={"data": data_figure(study, grid)},
                       tables={}, facts=facts)
