"""One study from definition to analysis: cache hits, or the trainer for all misses at once.

The client runs this for every study: it plans the runs, reuses stored
outcomes (or a stored analysis), has the study's kind compute what is
missing as work units on the build's executor (``executors``), and has the
analysis computed as one more unit (and each figure the analysis leaves to be
drawn as one more, side by side). Only the client writes the store, so
workers need not share its filesystem; the result does not depend on where
any unit ran.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import kinds
from .cache import ResultCache
from .errors import contained
from .executors import Executor, InProcess, Stage
from .language import speaking
from .model import Run, Study
from .plan import analysis_key, plan_study
from .results import Drawing, StudyResult

Progress = kinds.Progress


@dataclass(frozen=True)
class StudyExecution:
    """A study's result and how it was obtained."""

    results: dict[str, StudyResult]
    """The study analysed in each language of the build: same numbers, the figures' and tables' words in each."""
    reused: int
    trained: int
    seconds: float
    reasons: tuple[tuple[str, str], ...]
    """(run label, why it had to be computed) for every computed run."""
    warnings: tuple[str, ...]

    @property
    def result(self) -> StudyResult:
        """The result in the build's first language (its numbers are every language's)."""
        return next(iter(self.results.values()))


def work_units(study: Study) -> int:
    """How much computing a study needs if nothing is cached, in the units its kind reports progress in."""
    with contained(f"study kind '{study.kind}': work_units"):
        return kinds.get(study.kind).work_units(study)


def analyze(kind: kinds.Kind, study: Study, runs: list[Run], outcomes: list) -> StudyResult:
    """The kind's analysis of a study's outcomes: the one place every fresh analysis goes through."""
    with contained(f"study kind '{kind.name}': analyze"):
        return kinds.resolve(kind.analysis)(study, runs, outcomes)


@dataclass(frozen=True)
class AnalysisUnit:
    """A study's analysis as a work unit: its runs and their outcomes in, the analysis payload out."""

    study: Study
    runs: tuple[Run, ...]
    outcomes: tuple
    language: str = "en"

    def __len__(self) -> int:
        return 0  # it computes no run


def analysis_payload(unit: AnalysisUnit) -> tuple[dict, dict[str, Drawing]]:
    """The analysis in the unit's language, as stored: through JSON on every path, so a fresh and a cached analysis
    render the same bytes; and the figures it left to be drawn (their places in the payload hold None)."""
    kind = kinds.get(unit.study.kind)
    with speaking(unit.language, _folders(kind)):
        fresh = analyze(kind, unit.study, list(unit.runs), list(unit.outcomes))
    return json.loads(json.dumps(fresh.to_payload())), fresh.drawings


@dataclass(frozen=True)
class FigureUnit:
    """One figure an analysis left to be drawn, as a work unit: drawn in its language, the figure's record out."""

    kind: str
    drawing: Drawing
    language: str = "en"

    def __len__(self) -> int:
        return 0  # it computes no run


def draw_figure(unit: FigureUnit) -> dict:
    """The figure's record as the analysis payload stores it (through JSON, like the rest of the payload)."""
    with speaking(unit.language, _folders(kinds.get(unit.kind))), contained(f"study kind '{unit.kind}': drawing"):
        figure = unit.drawing()
    return json.loads(json.dumps(asdict(figure)))


def _folders(kind) -> list[Path]:
    return [Path(kind.templates)] if kind.templates else []


def _analysed(units, study: Study, runs: list[Run], outcomes: list, language: str) -> dict:
    """The study's analysis payload in ``language``, its deferred figures drawn as units of their own."""
    [(_, (payload, drawings))] = units.map(analysis_payload, [AnalysisUnit(study, tuple(runs), tuple(outcomes),
                                                                           language)])
    names = list(drawings)
    for i, figure in units.map(draw_figure, [FigureUnit(study.kind, drawings[name], language) for name in names]):
        payload["figures"][names[i]] = figure
    return payload


def worker_modules(study: Study, cache_root: Path | None, languages: tuple[str, ...] = ("en",)) -> set[str]:
    """The modules a worker will import for the study's missing work, found without importing them: its kind's
    computing code when a run is missing from the store, its analysis code when an analysis is."""
    kind = kinds.get(study.kind)
    cache = ResultCache(cache_root)
    runs = plan_study(study)
    if all(cache.holds_analysis(analysis_key(study, runs, language)) for language in languages):
        return set()
    modules = set(kinds.code_modules(kind.analysis_module)) | set(kinds.code_modules(__name__))
    if not all(cache.holds(run.key) for run in runs):
        modules |= set(kinds.code_modules(kind.compute_module))
    return modules


def handout_study(study: Study, languages: tuple[str, ...] = ("en",)) -> StudyExecution | None:
    """The study as its student edition shows it, in each of ``languages``, computing no run: None when its kind
    cannot say what its handout shows without the runs' results (its ``handout`` is None or missing)."""
    kind = kinds.get(study.kind)
    if kind.handout is None:  # optional: a plug-in kind without it has its runs computed
        return None
    start = time.perf_counter()
    runs = plan_study(study)
    results: dict[str, StudyResult] = {}
    for language in languages:
        with speaking(language, _folders(kind)), contained(f"study kind '{kind.name}': handout"):
            fresh = kinds.resolve(kind.handout)(study, runs)
        # Through JSON, as every analysis goes: the handout then renders the bytes an analysed study's would.
        payload = json.loads(json.dumps(fresh.to_payload(), allow_nan=False))
        results[language] = StudyResult.from_payload(study, (), payload)
    return StudyExecution(results=results, reused=0, trained=0, seconds=time.perf_counter() - start, reasons=(),
                          warnings=())


def run_study(study: Study, cache_root: Path | None, progress: Progress = lambda _: None,
              executor: Executor | None = None, languages: tuple[str, ...] = ("en",)) -> StudyExecution:
    """Plan, reuse or compute, and analyze one study in each of ``languages``; its units run on ``executor``
    (default: this process).

    Runs are computed once for every language; only the analysis (whose figures, captions and tables carry
    words and formatted numbers) is done, and stored, per language.
    """
    start = time.perf_counter()
    kind = kinds.get(study.kind)
    executor = executor or InProcess()
    units, analysis_units = executor.for_study(study.id), executor.for_study(study.id, Stage.ANALYSIS)
    cache = ResultCache(cache_root)
    runs = plan_study(study)
    previous = cache.previous_keys(study.id)
    results: dict[str, StudyResult] = {}
    reasons: list[tuple[str, str]] = []
    outcomes: list | None = None
    for language in languages:
        key = analysis_key(study, runs, language)
        result = _stored_result(study, runs, cache, key)
        if result is None:
            if outcomes is None:
                outcomes, reasons = _outcomes(kind, study, runs, cache, previous, cache_root, progress, units)
            payload = _analysed(analysis_units, study, runs, outcomes, language)
            cache.put_analysis(key, payload)
            result = StudyResult.from_payload(study, tuple(runs), payload)
        results[language] = result
    cache.record_keys(study.id, {run.label: run.key_parts.as_dict() for run in runs})
    return StudyExecution(results=results,
                          reused=len(runs) - len(reasons), trained=len(reasons),
                          seconds=time.perf_counter() - start, reasons=tuple(reasons),
                          warnings=tuple(cache.warnings))


def _outcomes(kind, study: Study, runs: list[Run], cache: ResultCache, previous: dict, cache_root: Path | None,
              progress: Progress, units) -> tuple[list, list[tuple[str, str]]]:
    """Every run's outcome, from the store or computed (all misses at once), and why each computed one was."""
    outcomes: list = [cache.get(run.key) for run in runs]
    missing = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if missing:
        with contained(f"study kind '{kind.name}': compute"):
            computed = kind.compute([runs[i] for i in missing], progress, units)
        for i, outcome in zip(missing, computed):
            outcomes[i] = outcome
            cache.put(runs[i].key, outcome)
    reasons = [(runs[i].label, _why(runs[i], previous.get(runs[i].label), cache_root)) for i in missing]
    return outcomes, reasons


def _stored_result(study: Study, runs: list[Run], cache: ResultCache, key: str) -> StudyResult | None:
    """The stored analysis as a result, or None when absent or not of the expected shape."""
    payload = cache.get_analysis(key)
    if payload is None:
        return None
    try:
        result = StudyResult.from_payload(study, tuple(runs), payload)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        cache.warnings.append(f"analysis entry {key[:12]}… does not fit ({exc.__class__.__name__}); redoing it")
        return None
    if len(result.statuses) != len(runs):
        cache.warnings.append(f"analysis entry {key[:12]}… holds {len(result.statuses)} runs, not {len(runs)}; "
                              "redoing it")
        return None
    return result


def _why(run: Run, before: dict | None, cache_root: Path | None) -> str:
    """Which part of a run's key changed since the last build (or why there was no entry)."""
    if cache_root is None:
        return "cache disabled"
    if before is None:
        return "new run"
    now = run.key_parts
    changed = []
    if before.get("config") != now.config:
        fields = sorted(_differences(before.get("config", {}), now.config))
        changed.append("config (" + ", ".join(fields) + ")" if fields else "config")
    if before.get("seed") != now.seed:
        changed.append("seed")
    if before.get("code") != now.code:
        changed.append("code version")
    if before.get("libraries") != now.libraries:
        libs = [f"{name} {before.get('libraries', {}).get(name)} -> {version}"
                for name, version in now.libraries.items() if before.get("libraries", {}).get(name) != version]
        changed.append("library versions (" + ", ".join(libs) + ")")
    if before.get("kernel") != now.kernel:
        changed.append(f"gradient kernel ({before.get('kernel')} -> {now.kernel})")
    return "changed: " + "; ".join(changed) if changed else "cache entry missing or unreadable"


def _differences(before: dict, after: dict, prefix: str = "") -> list[str]:
    keys = set(before) | set(after)
    out = []
    for key in keys:
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out
