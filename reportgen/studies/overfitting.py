"""Overfitting: polynomials of growing degree (and noise) fitted to the lecture's data.

The kind's registration: its definition schema and its kind object. The analysis
(figures, tables, facts) lives in :mod:`.overfitting_analysis` and is imported only when a
study is analyzed, so listing or validating a course loads no plotting library.
"""

from __future__ import annotations

from typing import Literal

from ..schema import PolynomialSpec, RegressionStudyFile
from .lab import RegressionLab
from .trained import RegressionKind


class OverfittingFile(RegressionStudyFile):
    """Schema of an overfitting study file: polynomials fitted to the lecture's data."""

    kind: Literal["overfitting"]
    model: PolynomialSpec


KIND = RegressionKind(name="overfitting", schema=OverfittingFile, template="studies/overfitting.html.j2",
                      analysis="reportgen.studies.overfitting_analysis:analyze",
                      handout="reportgen.studies.handout:overfitting", lab=RegressionLab(more="least_squares_metrics"))
"""The overfitting study kind, registered as the ``overfitting`` entry point of ``reportgen.study_kinds``."""
