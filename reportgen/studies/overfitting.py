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


def analyze(study, runs, outcomes):
    """The study's metrics, figures, tables and facts (see :func:`.overfitting_analysis.analyze`)."""
    from .overfitting_analysis import analyze as analysis

    return analysis(study, runs, outcomes)


def handout(study, runs):
    """The study as a student edition shows it, computing no run (see :func:`.handout.overfitting`)."""
    from .handout import overfitting as shown

    return shown(study, runs)


class OverfittingFile(RegressionStudyFile):
    """Schema of an overfitting study file: polynomials fitted to the lecture's data."""

    kind: Literal["overfitting"]
    model: PolynomialSpec


KIND = RegressionKind(name="overfitting", schema=OverfittingFile, analyze=analyze,
                      template="studies/overfitting.html.j2", handout=handout,
                      lab=RegressionLab(more="least_squares_metrics"))
"""The overfitting study kind, registered as the ``overfitting`` entry point of ``reportgen.study_kinds``."""
