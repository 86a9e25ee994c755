"""Everything a study kind needs from reportgen, in one import.

A kind is a :class:`Kind`: a name, a schema for its definition files, a function computing one run, an
analysis turning the runs into a report section, and the template of that section::

    from reportgen.plugin import Kind, StudyFields

    KIND = Kind(name="noise", schema=NoiseFile, run="noise_kind.runs:draw",
                analysis="noise_kind.analysis:analyze", template="studies/noise.html.j2",
                templates=Path(__file__).parent / "templates")

registered in the package's ``pyproject.toml``::

    [project.entry-points."reportgen.study_kinds"]
    noise = "noise_kind.kind:KIND"

Functions are named as ``"module:function"`` and imported only when needed; each run's cache key hashes the
run function's module (and what it imports), each analysis's the analysis module's. ``docs/writing-a-kind.md``
walks through a whole kind; ``examples/`` holds two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .data import Dataset, make_dataset
from .formatting import fmt, fmt_pm
from .kinds import Kind
from .language import _, conjoined, ngettext, number
from .model import Run, Study
from .results import Drawing, Figure, StudyResult, Table, assemble
from .schema import DataSpec, NonNegativeFloat, PositiveFloat, Strict, StudyFields
from .stats import Interval, interval

if TYPE_CHECKING:
    from .figures import plot

__all__ = [
    "DataSpec", "Dataset", "Drawing", "Figure", "Interval", "Kind", "NonNegativeFloat", "PositiveFloat", "Run",
    "Strict", "Study", "StudyFields", "StudyResult", "Table", "_", "assemble", "conjoined", "fmt", "fmt_pm",
    "interval", "make_dataset", "ngettext", "number", "plot",
]


def __getattr__(name: str) -> Any:
    # plot comes with matplotlib, imported on first use: a kind module that imports this one for Kind must not
    # make listing or validating a course load a plotting library.
    if name == "plot":
        from .figures import plot

        return plot
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
