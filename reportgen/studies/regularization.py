"""Regularization: weight decay on a high-degree polynomial, a Gaussian prior on its coefficients.

The kind's registration: its definition schema and its kind object. The analysis
(figures, tables, facts) lives in :mod:`.regularization_analysis` and is imported only when a
study is analyzed, so listing or validating a course loads no plotting library.
"""

from __future__ import annotations

from typing import Literal

from ..schema import PolynomialSpec, RegressionStudyFile
from .lab import RegressionLab
from .trained import RegressionKind


class RegularizationFile(RegressionStudyFile):
    """Schema of a regularization study file: a polynomial fitted with weight decay."""

    kind: Literal["regularization"]
    model: PolynomialSpec


KIND = RegressionKind(name="regularization", schema=RegularizationFile, template="studies/regularization.html.j2",
                      analysis="reportgen.studies.regularization_analysis:analyze",
                      handout="reportgen.studies.handout:regularization", lab=RegressionLab(more="map_metrics"))
"""The regularization study kind, registered as the ``regularization`` entry point of ``reportgen.study_kinds``."""
