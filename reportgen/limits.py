"""Bounds on the work a course may ask for, checked before any of it is done.

A course folder may come from a stranger. Its sweep could expand to a
billion runs, its widths could ask for terabytes, its files could be
gigabytes of comment: each would hang or crash a build long after it
started. These limits refuse such a course while it is validated, with the
estimate, the limit, and the setting that raises it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_MAX_RUNS = 10_000
DEFAULT_MAX_MEMORY_MB = 4_096
DEFAULT_MAX_FILE_KB = 1_024


@dataclass(frozen=True)
class Limits:
    """The bounds in force; ``None`` fields take course.toml's value, then the default."""

    max_runs: int | None = None
    """Runs one study may expand to (points x seeds)."""
    max_memory_mb: int | None = None
    """Estimated memory of one study's computation, in MB."""
    max_file_kb: int | None = None
    """Size of one definition file, in KB."""

    def merged(self, course_file) -> "Limits":
        """These limits, with course.toml's values where the command line gave none, then the defaults."""
        def pick(given, from_course, default):
            return given if given is not None else from_course if from_course is not None else default
        return Limits(
            max_runs=pick(self.max_runs, getattr(course_file, "max_runs", None), DEFAULT_MAX_RUNS),
            max_memory_mb=pick(self.max_memory_mb, getattr(course_file, "max_memory_mb", None), DEFAULT_MAX_MEMORY_MB),
            max_file_kb=pick(self.max_file_kb, getattr(course_file, "max_file_kb", None), DEFAULT_MAX_FILE_KB),
        )

    def file_problem(self, size: int) -> str | None:
        """Why a file of ``size`` bytes is refused, or None."""
        if size <= self.max_file_kb * 1024:
            return None
        return (f"file is {size / 1024:,.0f} KB, over the limit of {self.max_file_kb:,} KB "
                "(raise max_file_kb in course.toml or --max-file-kb)")

    def runs_problem(self, axes: list[tuple[str, int]], seeds: int) -> str | None:
        """Why a sweep with these axis lengths and seeds is refused, or None; counts without expanding."""
        runs = math.prod(length for _, length in axes) * seeds
        if runs <= self.max_runs:
            return None
        factors = " × ".join([f"{length:,} {key}" for key, length in axes] + [f"{seeds:,} seed{'s' * (seeds != 1)}"])
        return (f"expands to {runs:,} runs ({factors}), over the limit of {self.max_runs:,} "
                "(raise max_runs in course.toml or --max-runs)")

    def memory_problem(self, estimate: int, what: str) -> str | None:
        """Why a computation estimated at ``estimate`` bytes is refused, or None."""
        if estimate <= self.max_memory_mb * 1_000_000:
            return None
        return (f"{what} needs an estimated {_size(estimate)}, over the limit of {self.max_memory_mb:,} MB "
                "(raise max_memory_mb in course.toml or --max-memory-mb)")


def _size(count: int) -> str:
    """Bytes as a reader compares them with a machine's memory."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count / 1e3:,.1f} KB"
