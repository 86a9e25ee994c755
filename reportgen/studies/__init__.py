"""The built-in study kinds, one module each, registered through the ``reportgen.study_kinds`` entry points."""

from __future__ import annotations

from .base import StudyResult, Table

__all__ = ["StudyResult", "Table"]
