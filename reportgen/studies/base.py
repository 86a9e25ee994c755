"""What every study's analysis produces for the report and for ``results.json``."""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Any

from markupsafe import Markup

from ..figures import Figure
from ..outcomes import Outcome
from ..plan import Run
from ..spec import Study


@dataclass(frozen=True)
class Table:
    """A table ready to render: header cells and rows of formatted cells."""

    id: str
    """Document-unique label, e.g. ``tab-overfitting-errors``."""
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()
    """Which columns hold numbers (right-aligned)."""


@dataclass(frozen=True)
class StudyResult:
    """A study's numbers, figures and tables."""

    study: Study
    runs: tuple[Run, ...]
    outcomes: tuple[Outcome, ...]
    metrics: tuple[dict[str, float], ...]
    """Per-run metrics, in run order (what ``results.json`` reports)."""
    figures: dict[str, Figure]
    tables: dict[str, Table]
    facts: dict[str, Any]
    """Numbers and phrases the prose quotes, computed from the results."""
    diverged: tuple[str, ...] = field(default=())
    """Labels of runs that diverged."""

    def records(self) -> list[dict[str, Any]]:
        """The study's runs as ``results.json`` records."""
        return [
            {"params": dict(run.params), "seed": run.seed, "status": outcome.status, "metrics": metrics}
            for run, outcome, metrics in zip(self.runs, self.outcomes, self.metrics)
        ]


def fmt(value: float, digits: int = 3, html: bool = True) -> str:
    """A number with ``digits`` significant digits; powers of ten as superscripts (or ``e`` when not html)."""
    if value != value:
        return "—"
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e5:
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
        text = f"{value:.{decimals}f}"
        return text.replace("-", "−") if html else text
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    if not html:
        return f"{mantissa}e{int(exponent)}"
    return Markup(f"{mantissa.replace('-', '−')} × 10<sup>{str(int(exponent)).replace('-', '−')}</sup>")


def fmt_pm(mean: float, spread: float, digits: int = 3) -> str:
    """``mean ± spread`` as HTML."""
    return Markup(f"{fmt(mean, digits)} ± {fmt(spread, 2)}")
