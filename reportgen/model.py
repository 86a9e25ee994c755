"""The course as the core sees it once loaded: a course, its studies, their sweep points and runs.

Plain frozen records, at the bottom of the import graph: the registry of kinds, the loader, the planner, the
studies and the renderer all import them, and they import none of those.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError
from .language import Text
from .messages import did_you_mean
from .schema import StudyFields

EXCERPT_LINES = 120
EXCERPT_CHARS = 8_000


@dataclass(frozen=True)
class Point:
    """One point of a study's sweep: the swept values and the full resolved configuration."""

    params: tuple[tuple[str, Any], ...]
    """Swept fields by dotted key, in the order of the sweep table."""
    config: StudyFields
    """The study with this point's values substituted (its ``sweep`` emptied), as its kind's schema."""


@dataclass(frozen=True)
class Study:
    """A validated study definition."""

    id: str
    path: str
    kind: str
    title: Text
    summary: Text
    base: StudyFields
    """The definition without its sweep, as its kind's schema."""
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    """Swept fields (dotted key, values) in file order."""
    seeds: tuple[int, ...]
    points: tuple[Point, ...]
    source: str
    """The definition file's text, for the provenance appendix."""
    template: str
    """The template of the study's report section, as its kind names it."""

    def swept(self, key: str) -> tuple[Any, ...] | None:
        """The values the sweep gives the dotted ``key``, or None when the study does not sweep it."""
        return next((values for name, values in self.axes if name == key), None)

    @property
    def source_excerpt(self) -> str:
        """The definition's text as the provenance appendix lists it: a long file shortened to its head."""
        lines = self.source.splitlines(keepends=True)
        head = "".join(lines[:EXCERPT_LINES])
        return head if len(head) <= EXCERPT_CHARS else head[:EXCERPT_CHARS]

    @property
    def source_omitted(self) -> int:
        """Characters of the definition's text that :attr:`source_excerpt` leaves out."""
        return len(self.source) - len(self.source_excerpt)

    @property
    def n_runs(self) -> int:
        """Number of runs the sweep expands to (points x seeds)."""
        return len(self.points) * len(self.seeds)


@dataclass(frozen=True)
class Course:
    """The validated course: its metadata and its studies in report order."""

    title: Text
    subtitle: Text
    authors: tuple[Text, ...]
    date: str
    studies: tuple[Study, ...]
    root: Path
    audience: str = "instructor"
    """Default edition: ``instructor`` (everything), ``student`` (no solutions) or ``all`` (both)."""
    languages: tuple[str, ...] = ("en",)
    """The languages built when none are asked for; the first is the course's own (plain file names)."""
    templates: Path | None = None
    """The course's own template folder, searched before the built-in templates."""
    profile: str | None = None
    """Name of the reduced profile the course was loaded with, if any."""
    profile_description: Text = Text.of("")
    overrides: tuple[str, ...] = ()
    """Every override applied, as given (profile entries and ``--set``)."""
    warnings: tuple[str, ...] = ()
    """Definitions that exist but take no part (study files the course does not list)."""

    @property
    def epoch(self) -> int:
        """The report date as seconds since 1970 (0 when undated), for tools that stamp a time."""
        try:
            day = _dt.date.fromisoformat(self.date)
        except ValueError:
            return 0
        return int(_dt.datetime(day.year, day.month, day.day, tzinfo=_dt.timezone.utc).timestamp())

    def select(self, ids: tuple[str, ...] | list[str]) -> "Course":
        """Return the course restricted to ``ids`` (in course order); unknown ids are bad input."""
        if not ids:
            return self
        known = {s.id for s in self.studies}
        problems = [f"unknown study '{i}'{did_you_mean(i, known)}" for i in ids if i not in known]
        if problems:
            raise SpecError(problems)
        wanted = set(ids)
        return dataclasses.replace(self, studies=tuple(s for s in self.studies if s.id in wanted))


@dataclass(frozen=True)
class RunKey:
    """What a run's cache key covers: each part that, changed, gives the run different numbers."""

    config: dict[str, Any]
    """The run's numeric configuration (see :func:`reportgen.plan.canonical_config`)."""
    seed: int
    code: str
    """Hash of the code that computes the kind's runs."""
    libraries: dict[str, str]
    """Versions of the numeric libraries."""
    kernel: str | None = None
    """The gradient kernel's identity, for runs trained by gradient steps (None otherwise)."""

    def as_dict(self) -> dict[str, Any]:
        """The parts as the store records them (the kernel only when there is one)."""
        parts = dataclasses.asdict(self)
        if self.kernel is None:
            del parts["kernel"]
        return parts


@dataclass(frozen=True)
class Run:
    """One sweep point trained (or sampled) with one seed."""

    study_id: str
    params: tuple[tuple[str, Any], ...]
    """Swept fields by dotted key."""
    seed: int
    config: StudyFields
    """The run's configuration, as its kind's schema."""
    key: str
    """Content address of the result: a hash of ``key_parts``."""
    key_parts: RunKey

    @property
    def label(self) -> str:
        """A short human name, e.g. ``model.degree=3, data.noise=0.1, seed=0``."""
        return ", ".join([f"{k}={v}" for k, v in self.params] + [f"seed={self.seed}"])
