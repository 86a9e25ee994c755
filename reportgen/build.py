"""The orchestrator: gather and compute everything first, write last, atomically."""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

from . import __version__
from .cache import ResultCache
from .execute import Execution, execute_study
from .plan import plan_study
from .spec import Course, load_course

OUTPUTS = ("report.html", "report.pdf", "results.json")


@dataclass(frozen=True)
class BuildOptions:
    """Everything ``reportgen build`` was asked to do."""

    definitions: Path = Path("experiments")
    out: Path = Path("build")
    studies: tuple[str, ...] = ()
    cache: Path | None = None
    """Result store; None disables caching."""
    templates: tuple[Path, ...] = ()


@dataclass
class BuildSummary:
    """What a build did, for the command line."""

    outputs: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    executions: dict[str, Execution] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class _Stopwatch:
    def __init__(self, summary: BuildSummary):
        self.summary = summary

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.summary.timings[stage] = self.summary.timings.get(stage, 0.0) + time.perf_counter() - start


def build(options: BuildOptions, log: Callable[[str], None] = lambda _: None) -> BuildSummary:
    """Validate, plan, execute, analyze, render and publish the report."""
    summary = BuildSummary()
    timed = _Stopwatch(summary)
    with timed("definitions"):
        course = load_course(options.definitions).select(options.studies)
        cache = ResultCache(options.cache)
        cache.check_writable()
    results = []
    for study in course.studies:
        runs = plan_study(study)
        log(f"{study.id}: {len(runs)} runs")
        with timed("training"):
            execution = execute_study(study.kind, runs, cache)
        summary.executions[study.id] = execution
        log(f"{study.id}: {execution.trained} trained, {execution.reused} reused ({execution.seconds:.1f} s)")
        with timed("figures"):
            from .studies import analyzer

            results.append(analyzer(study.kind)(study, runs, list(execution.outcomes)))
    summary.warnings += cache.warnings
    summary.warnings += [f"{r.study.id}: run diverged: {label}" for r in results for label in r.diverged]
    provenance = collect_provenance(course)
    with timed("html"):
        from .render import load_bibliography, render_html

        bibliography = load_bibliography(list(options.templates))
        html = render_html({"course": course, "results": results, "provenance": provenance,
                            "bibliography": bibliography}, list(options.templates))
    with timed("pdf"):
        from .pdf import render_pdf

        pdf = render_pdf(html, epoch=course.epoch)
    document = results_document(course, results, provenance)
    with timed("write"):
        summary.outputs = publish(options.out, {
            "report.html": html.encode("utf-8"),
            "report.pdf": pdf,
            "results.json": (json.dumps(document, indent=2, sort_keys=False, allow_nan=False) + "\n").encode(),
        })
    return summary


def results_document(course: Course, results: list, provenance: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable results: every run's swept params, seed, status and metrics."""
    return {
        "title": course.title,
        "provenance": provenance,
        "studies": [
            {"id": r.study.id, "kind": r.study.kind, "title": r.study.title, "runs": _json_safe(r.records())}
            for r in results
        ],
    }


def _json_safe(value: Any) -> Any:
    """NaN and infinities become null: JSON has no spelling for them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def collect_provenance(course: Course) -> dict[str, Any]:
    """Versions and definition hashes: what the numbers were computed from (deterministic, no clock)."""
    return {
        "reportgen": __version__,
        "git": _git_state(Path(__file__).resolve().parent.parent),
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in ("torch", "numpy", "matplotlib", "weasyprint", "jinja2")},
        "studies": [
            {"id": s.id, "file": Path(s.path).name, "sha256": hashlib.sha256(s.source.encode()).hexdigest(),
             "seeds": list(s.seeds), "runs": s.n_runs}
            for s in course.studies
        ],
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_state(folder: Path) -> dict[str, Any] | None:
    """Commit of the reportgen checkout and whether its tracked files differ from it."""
    try:
        commit = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def publish(out: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every output to a temporary file first, then rename each into ``out``.

    Nothing is renamed until every output exists in full, so a failed or
    killed build leaves the previous report in place.
    """
    out.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for name, data in files.items():
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            staged.append((name, Path(tmp)))
        for name, tmp in staged:
            os.replace(tmp, out / name)
    finally:
        for _, tmp in staged:
            if tmp.exists():
                tmp.unlink()
    return [out / name for name in files]


def default_cache(definitions: Path) -> Path:
    """The result store beside the definitions folder."""
    return definitions.resolve().parent / ".reportgen-cache"

