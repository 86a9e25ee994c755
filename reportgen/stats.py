"""Statistics a claim must survive: a mean over seeds with its 95 % interval, and when two differ."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
"""Student's t at 97.5 % for 1 to 30 degrees of freedom (two-sided 95 %)."""


def t975(df: int) -> float:
    """Student's t quantile at 0.975 for ``df`` degrees of freedom (a series in 1/df beyond the table)."""
    if df < 1:
        raise ValueError("a t interval needs at least two values")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


@dataclass(frozen=True)
class Interval:
    """A mean and its 95 % confidence interval (Student's t over independent values, such as seeds)."""

    mean: float
    half_width: float
    """NaN with fewer than two values: one seed says nothing about the spread."""
    n: int

    @property
    def low(self) -> float:
        """The interval's lower end."""
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        """The interval's upper end."""
        return self.mean + self.half_width

    def below(self, other: "Interval") -> bool:
        """Whether this mean is lower than ``other``'s beyond both intervals (they do not overlap)."""
        if math.isnan(self.half_width) or math.isnan(other.half_width):
            return False
        return self.high < other.low


def interval(values: Iterable[float]) -> Interval:
    """The mean of ``values`` and its 95 % t interval (half-width NaN for fewer than two values)."""
    xs = [float(v) for v in values if math.isfinite(v)]
    if not xs:
        return Interval(float("nan"), float("nan"), 0)
    mean = sum(xs) / len(xs)
    if len(xs) < 2:
        return Interval(mean, float("nan"), 1)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    return Interval(mean, t975(len(xs) - 1) * sd / math.sqrt(len(xs)), len(xs))
