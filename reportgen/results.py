"""What every study's analysis produces for the report and for ``results.json``: figures, tables and facts.

Leaf records like :mod:`reportgen.model`, which they build on: kinds, the build and the renderer import them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from .explorer import Explorer
from .model import Run, Study
from .outcomes import status_of
from .svgslim import data_uri


@dataclass(frozen=True)
class Figure:
    """A finished figure: SVG text plus what the report says about it."""

    id: str
    """Document-unique label, e.g. ``fig-overfitting-fits``."""
    caption: str
    alt: str
    """Text alternative: what the figure shows, in numbers."""
    svg: str
    values: tuple = ()
    """The plotted values, sampled, for readers who cannot see the drawing: tables of ``{"title", "columns",
    "rows"}`` with text cells (see :func:`reportgen.figures.plotted_values`); the HTML offers them beside it."""

    @property
    def data_uri(self) -> str:
        """The SVG as a ``data:`` URI for an ``<img>``."""
        return data_uri(self.svg)


@dataclass(frozen=True)
class Drawing:
    """A figure still to be drawn: ``draw(*args)`` returns it.

    An analysis may put these among its figures in place of the costly ones;
    the build then draws each as a work unit of its own, side by side on the
    executor's workers, in the analysis's language. ``draw`` must be a
    module-level function and ``args`` picklable (they travel to a worker).
    """

    draw: Callable[..., Figure]
    args: tuple = ()

    def __call__(self) -> Figure:
        return self.draw(*self.args)


@dataclass(frozen=True)
class Table:
    """A table ready to render: header cells and rows of formatted cells."""

    id: str
    """Document-unique label, e.g. ``tab-overfitting-errors``."""
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str | tuple[str, str], ...], ...]
    """Plain text cells (a number as :func:`fmt` writes it), or (value, prediction) pairs shown one above the
    other; the report escapes every cell, so a stored table is data, never markup."""
    numeric: tuple[bool, ...] = ()
    """Which columns hold numbers (right-aligned)."""


@dataclass(frozen=True)
class StudyResult:
    """A study's numbers, figures and tables: everything the report and ``results.json`` need."""

    study: Study
    runs: tuple[Run, ...]
    statuses: tuple[str, ...]
    """Each run's ``"ok"`` or ``"diverged"``, in run order."""
    metrics: tuple[dict[str, float], ...]
    """Per-run metrics, in run order (what ``results.json`` reports)."""
    figures: dict[str, Figure | Drawing]
    """Finished figures, or :class:`Drawing` s the build draws as units of their own (then stores as figures)."""
    tables: dict[str, Table]
    facts: dict[str, Any]
    """Numbers and phrases the prose quotes, computed from the results."""
    explorers: dict[str, Explorer] = field(default_factory=dict)
    """Interactive views of the runs for the instructor HTML (see :mod:`reportgen.explorer`); none by default."""

    @property
    def diverged(self) -> tuple[str, ...]:
        """Labels of the runs that diverged."""
        return tuple(run.label for run, status in zip(self.runs, self.statuses) if status != "ok")

    def records(self) -> list[dict[str, Any]]:
        """The study's runs as ``results.json`` records."""
        return [
            {"params": dict(run.params), "seed": run.seed, "status": status, "metrics": metrics}
            for run, status, metrics in zip(self.runs, self.statuses, self.metrics)
        ]

    @property
    def drawings(self) -> dict[str, Drawing]:
        """The figures still to be drawn, by name."""
        return {name: fig for name, fig in self.figures.items() if isinstance(fig, Drawing)}

    def to_payload(self) -> dict[str, Any]:
        """Everything but the study and its runs, as JSON-ready data (for the analysis cache); a figure still to
        be drawn holds its place as None."""
        return {
            "statuses": list(self.statuses),
            "metrics": list(self.metrics),
            "figures": {name: None if isinstance(fig, Drawing) else asdict(fig) for name, fig in self.figures.items()},
            "tables": {name: asdict(tab) for name, tab in self.tables.items()},
            "facts": self.facts,
            "explorers": {name: asdict(explorer) for name, explorer in self.explorers.items()},
        }

    @classmethod
    def from_payload(cls, study: Study, runs: tuple[Run, ...], payload: dict[str, Any]) -> "StudyResult":
        """Rebuild a result stored by :meth:`to_payload`."""
        tables = {}
        for name, tab in payload["tables"].items():
            # A store can arrive with a course: cells stay text, which the report escapes (JSON made pairs lists).
            rows = tuple(tuple(tuple(cell) if isinstance(cell, list) else cell for cell in row) for row in tab["rows"])
            tables[name] = Table(id=tab["id"], caption=tab["caption"], columns=tuple(tab["columns"]), rows=rows,
                                 numeric=tuple(tab["numeric"]))
        return cls(study=study, runs=tuple(runs), statuses=tuple(payload["statuses"]),
                   metrics=tuple(payload["metrics"]),
                   figures={name: Figure(**fig) for name, fig in payload["figures"].items()},
                   tables=tables, facts=payload["facts"],
                   explorers={name: Explorer(**e) for name, e in payload["explorers"].items()})


def assemble(study: Study, runs, outcomes, metrics, figures, tables, facts,
             explorers: dict[str, Explorer] | None = None) -> StudyResult:
    """A StudyResult recording each run's status from its outcome."""
    return StudyResult(study=study, runs=tuple(runs), statuses=tuple(status_of(o) for o in outcomes),
                       metrics=tuple(metrics), figures=figures, tables=tables, facts=facts,
                       explorers=explorers or {})
