"""What a ``kind = "basis"`` definition file may say: the lecture's data and a fixed basis to fit on it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from reportgen.schema import FLOAT64, DataSpec, NonNegativeFloat, PositiveFloat, StudyFields, _Frozen

MAX_COUNT = 500


class BasisSpec(_Frozen):
    """A bias plus ``count`` fixed basis functions of x, combined linearly."""

    kind: Literal["basis"]
    family: Literal["gaussian", "fourier"] = "gaussian"
    """``gaussian``: bumps centred at equally spaced points of ``data.domain``; ``fourier``: cosines and sines
    whose longest period is twice ``data.domain``."""
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] = 10
    """Number of basis functions besides the bias; the model has count + 1 coefficients."""
    width: PositiveFloat = 0.1
    """Standard deviation of every Gaussian bump, in units of x (not used by ``fourier``)."""
    ridge: NonNegativeFloat = 0.0
    """Penalty on the squared coefficients of the basis functions (not the bias); 0 is plain least squares."""


class BasisStudyFile(StudyFields):
    """Schema of a basis study file."""

    kind: Literal["basis"]
    data: DataSpec = DataSpec()
    model: BasisSpec

    def memory_estimate(self) -> int:
        """Bytes one run holds: its design matrices on both grids, with the solver's copies."""
        rows = self.data.points + self.data.test_points + self.model.count
        return 4 * rows * (self.model.count + 1) * FLOAT64
