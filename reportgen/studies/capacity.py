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


def analyze(study, runs, outcomes):
    """The study's metrics, figures, tables and facts (see :func:`.capacity_analysis.analyze`)."""
    from .capacity_analysis import analyze as analysis

    return analysis(study, runs, outcomes)


def handout(study, runs):
    """The study as a student edition shows it, computing no run (see :func:`.handout.capacity`)."""
    from .handout import capacity as shown

    return shown(study, runs)


class CapacityFile(RegressionStudyFile):
    """Schema of a capacity study file: MLPs fitted to the lecture's data."""

    kind: Literal["capacity"]
    model: MLPSpec


KIND = RegressionKind(name="capacity", schema=CapacityFile, analyze=analyze, template="studies/capacity.html.j2",
                      handout=handout, lab=RegressionLab(more="range_metrics"))
"""The capacity study kind, registered as the ``capacity`` entry point of ``reportgen.study_kinds``."""
