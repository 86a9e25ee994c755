"""The ``basis`` study kind: the object the ``reportgen.study_kinds`` entry point names."""

from __future__ import annotations

from pathlib import Path

from .analysis import analyze
from .fit import BasisKind
from .schema import BasisStudyFile

KIND = BasisKind(name="basis", schema=BasisStudyFile, analyze=analyze, template="studies/basis.html.j2",
                 templates=Path(__file__).resolve().parent / "templates")
"""Registered in this package's pyproject.toml as ``basis = "reportgen_basis.kind:KIND"``."""
