"""Capacity: MLPs of growing width and depth fitted to the lecture's data.

The kind's registration: its definition schema and its kind object. The analysis
(figures, tables, facts) lives in :mod:`.capacity_analysis` and is imported only when a
study is analyzed, so listing or validating a course loads no plotting library.
"""

from __future__ import annotations

from typing import Literal

from ..schema import MLPSpec, RegressionStudyFile
from .lab import RegressionLab
from .trained import RegressionKind


class CapacityFile(RegressionStudyFile):
    """Schema of a capacity study file: MLPs fitted to the lecture's data."""

    kind: Literal["capacity"]
    model: MLPSpec


KIND = RegressionKind(name="capacity", schema=CapacityFile, template="studies/capacity.html.j2",
                      analysis="reportgen.studies.capacity_analysis:analyze",
                      handout="reportgen.studies.handout:capacity", lab=RegressionLab(more="range_metrics"))
"""The capacity study kind, registered as the ``capacity`` entry point of ``reportgen.study_kinds``."""
