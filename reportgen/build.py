"""The orchestrator: gather and compute everything first, write last, atomically."""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, ContextManager, Iterator

from . import __version__, kinds, native, placement
from .cache import ResultCache
from .coursefiles import FIXED_LIMIT, read_course_file
from .editions import Material, render_editions
from .errors import BadInputError, BuildError
from .execute import StudyExecution, handout_study, run_study, work_units, worker_modules
from .executors import Executor, Stage, TaskRecord
from .keys import KEY_FILE_VARIABLE, user_key
from .language import LANGUAGES, Text
from .limits import Limits
from .model import Course
from .notebooks import render_notebooks
from .outputs import AUDIENCES, BUILD_INFO, FORMATS, RESULTS, Edition, editions, output_names
from .plan import analysis_code_version, code_version
from .preflight import check_output_folder, unshowable
from .progress import Reporter
from .publish import publish, read_manifest, recover
from .spec import display_path, load_course

RENDERING_LIBRARIES = ("torch", "numpy", "matplotlib", "weasyprint", "jinja2", "ziamath", "pydantic", "babel")
@dataclass(frozen=True)
class BuildOptions:
    """Everything ``reportgen build`` was asked to do."""

    definitions: Path = Path("experiments")
    out: Path = Path("build")
    studies: tuple[str, ...] = ()
    cache: Path | None = None
    """Result store; None disables caching (and the up-to-date check)."""
    templates: tuple[Path, ...] = ()
    """Folders of the user's templates, searched before the course's own and the built-in ones."""
    jobs: int = 1
    """Worker processes on this machine; results do not depend on it."""
    scheduler: str | None = None
    """Address of a Dask scheduler whose cluster computes the work units instead (``--scheduler``)."""
    force: bool = False
    """Rebuild even when the outputs are up to date."""
    audience: str | None = None
    """``student``, ``instructor`` or ``all``; None takes course.toml's ``audience``."""
    languages: tuple[str, ...] = ()
    """Language codes to write, or ``("all",)``; empty takes course.toml's ``language`` or ``languages``."""
    profile: str | None = None
    """A ``[profiles.<name>]`` of course.toml to apply."""
    assignments: tuple[str, ...] = ()
    """``--set [study.]key=value`` overrides."""
    strict: bool = False
    """Fail (exit 1) on any warning: a diverged run, an unlisted definition, an unreadable cache entry."""
    limits: Limits = Limits()
    """Bounds on runs, memory and file size given on the command line (course.toml's apply otherwise)."""
    notebooks: bool = True
    """Write each edition's lab notebook (lab.ipynb, lab-solutions.ipynb) beside its report."""


@dataclass
class BuildSummary:
    """What a build did, for the command line."""

    outputs: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    executions: dict[str, StudyExecution] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    up_to_date: bool = False
    kernel: native.GradientCode | None = None
    """What computed gradients (C kernel or torch), when the course trains models."""
    executor: str = "this process"
    """Where the work units ran."""
    tasks: list[TaskRecord] = field(default_factory=list)
    """Every work unit that ran: its study, function, runs, worker and seconds."""
    kept: list[str] = field(default_factory=list)
    """Studies whose execution an earlier run of the pipeline in this process kept (serve): nothing computed now."""


def load(options: BuildOptions) -> tuple[Course, str, list[Path]]:
    """The selected course, its audience and its template search folders (without the built-in one).

    The definitions and the limits are checked here; the templates by
    :func:`check_course_templates`, still before any work.
    """
    course = load_course(options.definitions, options.profile, options.assignments,
                         options.limits).select(options.studies)
    audience = options.audience or course.audience
    folders = template_folders(course, options.templates)
    return course, audience, folders


def languages_of(options: BuildOptions, course: Course) -> tuple[str, ...]:
    """The languages this build writes, the course's own first when it is among them."""
    if not options.languages:
        return course.languages
    wanted = tuple(LANGUAGES) if "all" in options.languages else options.languages
    return tuple(dict.fromkeys(code for code in (course.languages[0], *LANGUAGES) if code in wanted))


def outputs(options: BuildOptions, course: Course, audience: str) -> tuple[str, ...]:
    """The files this build writes: every edition in every language, and results.json with an instructor one."""
    return output_names(audience, languages_of(options, course), course.languages[0], options.notebooks)


def template_folders(course: Course, given: tuple[Path, ...] = ()) -> list[Path]:
    """The user's template folders (command line first, then course.toml's, then the plug-in kinds'), found."""
    folders = [*given, *([course.templates] if course.templates else [])]
    for folder in folders:
        if not folder.is_dir():
            raise BadInputError(f"{folder}: templates folder not found")
    if course.templates and not course.templates.resolve().is_relative_to(course.root.resolve()):
        # Named inside the course, it may still be a link out of it: course.toml's templates travel with it.
        raise BadInputError(f"{course.templates}: the course's templates folder links outside the course "
                            f"(to {course.templates.resolve()}); name such a folder with --templates")
    # A plug-in kind's own templates come after the user's, so a course can still restyle its section.
    for study in course.studies:
        shipped = kinds.get(study.kind).templates
        if shipped is not None and Path(shipped) not in folders:
            folders.append(Path(shipped))
    return folders


def check_course_templates(course: Course, folders: list[Path], languages: tuple[str, ...] = ("en",),
                           audiences: tuple[str, ...] = AUDIENCES["all"]) -> None:
    """Find and parse every template the course's report includes in each language, refuse unsafe ones, and
    render the report for each of ``audiences`` with stand-ins for its results, so that a template error is
    refused (exit 2) before any work."""
    from .rehearsal import rehearse
    from .render import check_templates

    check_templates(folders, sorted({study.template for study in course.studies}), languages)
    rehearse(course, folders, languages[0], audiences)


def user_texts(course: Course) -> list[tuple[str, Text]]:
    """Every piece of text the user wrote that the report typesets, as (file: key, text)."""
    where = display_path(course.root / "course.toml")
    texts = [(f"{where}: title", course.title), (f"{where}: subtitle", course.subtitle),
             *((f"{where}: authors[{i}]", author) for i, author in enumerate(course.authors))]
    if course.profile:
        texts.append((f"{where}: profiles.{course.profile}.description", course.profile_description))
    for study in course.studies:
        texts += [(f"{study.path}: title", study.title), (f"{study.path}: summary", study.summary),
                  *((f"{study.path}: activities[{i}]", text) for i, text in enumerate(study.base.activities))]
    return texts


def course_warnings(course: Course, languages: tuple[str, ...], folders: list[Path] = ()) -> list[str]:
    """What the definitions and catalogues alone reveal: unlisted study files, untranslated text, fuzzy or empty
    translations, text the fonts cannot show."""
    texts = [(where, version) for where, text in user_texts(course) for _, version in text.versions]
    return [*course.warnings, *untranslated(course, languages), *untranslated_messages(languages, folders),
            *unshowable(texts)]


def untranslated_messages(languages: tuple[str, ...], folders: list[Path] = ()) -> list[str]:
    """A warning per language whose catalogues hold fuzzy or empty translations: those messages show in English."""
    from .language import catalogue

    found = []
    for code in languages:
        waiting = catalogue(code, folders).untranslated if code != "en" else ()
        if waiting:
            found.append(f"{code}: {len(waiting)} message{'s' if len(waiting) > 1 else ''} fuzzy or untranslated, "
                         f"shown in English (first: {waiting[0]!r}); see `reportgen translations status`")
    return found


def execution_warnings(executions: list[StudyExecution]) -> list[str]:
    """What computing the studies revealed: unreadable cache entries, diverged runs."""
    return [*(w for e in executions for w in e.warnings),
            *(f"{e.result.study.id}: run diverged: {label}" for e in executions for label in e.result.diverged)]


def untranslated(course: Course, languages: tuple[str, ...]) -> list[str]:
    """A warning for each text the definitions give in some languages but not in one this build writes."""
    return [f"{where}: no {code} text (the {code} editions show {' or '.join(c for c, _ in text.versions)})"
            for where, text in user_texts(course) if text for code in languages if not text.has(code)]


def build(options: BuildOptions, reporter: Reporter | None = None) -> BuildSummary:
    """Validate, compute (or reuse), render and publish the report."""
    reporter = reporter or Reporter("quiet")
    summary = BuildSummary()
    with _timed(summary, "definitions"):
        loaded = load(options)
    # Reached before anything is written, so that an unreachable scheduler leaves no trace.
    with placement.for_build(options.scheduler, options.jobs) as executor:
        summary.executor = executor.description
        return pipeline(options, loaded, OutputFolder(options, executor), reporter, summary)


class Target(ABC):
    """Where one run of :func:`pipeline` sends what it made, and what it may skip or keep: the hooks by which
    ``reportgen serve`` differs from ``reportgen build``, as mkdocs' serve calls its one ``build()`` with a live
    server's address. Build's target is :class:`OutputFolder`; serve's is ``serve.Session``."""

    live: bool = False
    """A live preview (serve): the HTML pages alone (no PDF, notebook or results.json), and no line but computing's
    progress: the preview's own line per rebuild says what happened."""
    memory: StudyMemory | None = None
    """Where each study's execution is kept for the next run in this process, if anywhere (serve)."""

    def prepare(self, course: Course, audience: str, folders: list[Path], names: tuple[str, ...],
                summary: BuildSummary) -> bool:
        """Check what must hold before any work, adding warnings to ``summary``; True when the outputs ``names``
        are current already, which ends the run."""
        return False

    def check_templates(self, course: Course, folders: list[Path], languages: tuple[str, ...],
                        audiences: tuple[str, ...]) -> None:
        """Refuse the course's templates for the editions of ``audiences``, before any work."""
        check_course_templates(course, folders, languages, audiences)

    @abstractmethod
    def executor(self) -> ContextManager[Executor]:
        """The executor that computes the studies; entered only when some study must be computed."""

    @abstractmethod
    def deliver(self, files: dict[str, bytes], material: Material, chosen: tuple[Edition, ...],
                summary: BuildSummary) -> None:
        """Hand over the files made, by name, rendered from ``material`` for the ``chosen`` editions."""


class OutputFolder(Target):
    """Build's target: the output folder, written atomically unless its outputs are current already."""

    def __init__(self, options: BuildOptions, executor: Executor):
        self.options = options
        self._executor = executor
        self._digest = ""

    def prepare(self, course: Course, audience: str, folders: list[Path], names: tuple[str, ...],
                summary: BuildSummary) -> bool:
        """Check the output folder and the store, and digest the inputs; True when the outputs are current."""
        options = self.options
        with _timed(summary, "definitions"):
            check_output_folder(options.out)
            recover(options.out)  # a killed build's stage and temporary files, before they can be taken for outputs
            ResultCache(options.cache).check_writable()
            summary.warnings += key_warnings()  # a bad key file is refused here, before any work
            self._digest = input_digest(options, course, audience, folders)
        if options.cache is not None and not options.force and outputs_current(options.out, self._digest, names):
            # The same inputs give the same warnings: repeat those of the build that wrote these outputs.
            summary.warnings += recorded_warnings(options.out)
            _fail_if_strict(options, summary)
            summary.up_to_date = True
            summary.outputs = [options.out / name for name in names]
            return True
        return False

    def executor(self) -> ContextManager[Executor]:
        """The executor :func:`build` reached before anything was written."""
        return nullcontext(self._executor)

    def deliver(self, files: dict[str, bytes], material: Material, chosen: tuple[Edition, ...],
                summary: BuildSummary) -> None:
        """Write the files and build-info.json into the output folder, atomically."""
        with _timed(summary, "write"):
            summary.outputs = publish(self.options.out, files, self._digest, summary.warnings,
                                      extras={BUILD_INFO: build_info(summary)})


class StudyMemory:
    """Each study's execution, kept between runs of the pipeline in one process (serve): a study whose definition,
    languages and audience are unchanged is neither computed nor read from the store again."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[tuple, StudyExecution]] = {}

    def recall(self, course: Course, how: tuple) -> dict[str, StudyExecution]:
        """The kept executions of ``course``'s studies that were computed from the same definition ``how``."""
        return {study.id: kept[1] for study in course.studies
                if (kept := self._kept.get(study.id)) is not None and kept[0] == (study, how)}

    def keep(self, course: Course, executions: list[StudyExecution], how: tuple) -> None:
        """Keep these executions (one per study of ``course``, in its order) and forget every other."""
        self._kept = {study.id: ((study, how), execution) for study, execution in zip(course.studies, executions)}


def pipeline(options: BuildOptions, loaded: tuple[Course, str, list[Path]], target: Target, reporter: Reporter,
             summary: BuildSummary) -> BuildSummary:
    """The one build pipeline: check the course, compute its studies (or reuse them), render the editions and
    deliver them to ``target``. ``build`` runs it once into the output folder, ``serve`` on every save."""
    course, audience, folders = loaded
    languages = languages_of(options, course)
    names = outputs(options, course, audience)
    if target.prepare(course, audience, folders, names, summary):
        return summary
    with _timed(summary, "definitions"):
        # After the up-to-date check: outputs recorded for these very inputs were rendered from valid templates.
        target.check_templates(course, folders, languages, AUDIENCES[audience])
    summary.warnings += course_warnings(course, languages, folders)
    _fail_if_strict(options, summary)  # what the definitions alone reveal fails before any training
    # Student editions show no result: their studies' handouts need no run, unless a plug-in kind says otherwise.
    handouts_only = "instructor" not in AUDIENCES[audience]
    telling = Reporter("quiet") if target.live else reporter  # the live preview tells what computing does alone
    kinds = trained_kinds(course) if not handouts_only else []
    if kinds:
        summary.kernel = native.describe(kinds)
        if not summary.kernel.native:
            telling.line(f"note: gradients come from {summary.kernel}; MLPs train several times slower")
    with _timed(summary, "training and figures"):
        executions = _compute(options, course, languages, handouts_only, target, reporter, summary)
    summary.executions = {e.result.study.id: e for e in executions}
    summary.warnings += execution_warnings(executions)
    _fail_if_strict(options, summary)
    results = [e.result for e in executions]
    provenance = collect_provenance(course)
    material = Material(course, [e.results for e in executions], provenance, folders, options.notebooks)
    chosen = editions(audience, languages, course.languages[0])
    formats = ("html",) if target.live else FORMATS
    with telling.bar("rendering", len(chosen) * len(formats), "file") as advance:
        def timed(stage: str, seconds: float) -> None:
            summary.timings[stage] = summary.timings.get(stage, 0.0) + seconds
            advance(1)

        files = render_editions(material, chosen, formats, telling.line, timed, jobs=options.jobs)
    if options.notebooks and not target.live:
        with _timed(summary, "notebooks"):
            files.update(render_notebooks(material, chosen))
    if RESULTS in names and not target.live:
        document = results_document(course, results, provenance)
        files[RESULTS] = (json.dumps(document, indent=2, allow_nan=False) + "\n").encode()
    target.deliver(files, material, chosen, summary)
    return summary


def _compute(options: BuildOptions, course: Course, languages: tuple[str, ...], handouts_only: bool,
             target: Target, reporter: Reporter, summary: BuildSummary) -> list[StudyExecution]:
    """Each study's execution, in course order: kept in the target's memory, else computed on its executor."""
    how = (languages, handouts_only)
    kept = target.memory.recall(course, how) if target.memory is not None else {}
    summary.kept = list(kept)
    stale = [study.id for study in course.studies if study.id not in kept]
    computed: list[StudyExecution] = []
    if stale:
        with target.executor() as executor:
            summary.executor = executor.description
            try:
                computed = compute_studies(course.select(stale) if kept else course, options.cache, executor,
                                           reporter, languages, handouts_only)
            finally:
                summary.tasks = list(executor.records)
    fresh = {execution.result.study.id: execution for execution in computed}
    executions = [kept.get(study.id) or fresh[study.id] for study in course.studies]
    if target.memory is not None:
        target.memory.keep(course, executions, how)
    return executions


def key_warnings() -> list[str]:
    """Why what this build writes will not be believed by a later one, when no key file can be kept."""
    reason = user_key().ephemeral_reason
    return [f"{reason}: no later build will reuse this build's results or take its outputs as current "
            f"(set {KEY_FILE_VARIABLE}, or XDG_CONFIG_HOME to a writable folder)"] if reason else []


def build_info(summary: BuildSummary) -> bytes:
    """What differs from build to build (runs trained or reused, seconds), kept out of the deterministic outputs."""
    info = {
        "studies": [{"id": study_id, "trained": e.trained, "reused": e.reused, "seconds": round(e.seconds, 3),
                     "recomputed": [{"run": label, "why": why} for label, why in e.reasons]}
                    for study_id, e in summary.executions.items()],
        "timings": {stage: round(seconds, 3) for stage, seconds in summary.timings.items()},
        "warnings": summary.warnings,
        "kernel": str(summary.kernel) if summary.kernel else None,
        "executor": summary.executor,
        "tasks": [{"study": t.study, "task": t.task, "stage": t.stage.value, "runs": t.runs, "worker": t.worker,
                   "seconds": round(t.seconds, 3)} for t in sorted(summary.tasks, key=_task_order)],
    }
    return (json.dumps(info, indent=2) + "\n").encode()


def _fail_if_strict(options: BuildOptions, summary: BuildSummary) -> None:
    if options.strict and summary.warnings:
        raise BuildError(f"--strict: {len(summary.warnings)} warning{'s' if len(summary.warnings) > 1 else ''} "
                         f"(first: {summary.warnings[0]}); nothing was written")


@contextmanager
def _timed(summary: BuildSummary, stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        summary.timings[stage] = summary.timings.get(stage, 0.0) + time.perf_counter() - start


# --------------------------------------------------------------------------- computing the studies


def compute_studies(course: Course, cache_root: Path | None, executor: Executor,
                    reporter: Reporter, languages: tuple[str, ...] = ("en",),
                    handouts_only: bool = False) -> list[StudyExecution]:
    """Every study's result (analysed in each of ``languages``), in course order; their work units run on
    ``executor``, the studies side by side. With ``handouts_only`` (no instructor edition), a study whose kind
    can say what its student edition shows without results computes no run."""
    handouts = {s.id: handout_study(s, languages) for s in course.studies} if handouts_only else {}
    for execution in filter(None, handouts.values()):
        _report_study(reporter, execution)
    studies = [s for s in course.studies if handouts.get(s.id) is None]
    units = {s.id: work_units(s) for s in studies}
    lock = threading.Lock()  # studies advance the bar and print from their own threads
    with reporter.bar("training", sum(units.values()), "step") as advance:

        def one(study) -> StudyExecution:
            counted = [0]

            def step(amount: int) -> None:
                with lock:
                    counted[0] += amount
                    advance(amount)

            execution = run_study(study, cache_root, step, executor, languages)
            with lock:
                advance(max(units[study.id] - counted[0], 0))  # a cached study jumps to its share
                _report_study(reporter, execution)
            return execution

        if not executor.concurrent or len(studies) <= 1:
            computed = [one(study) for study in studies]
        else:
            # Forks local workers before the threads start, with what their units will import already loaded.
            executor.start(set().union(*(worker_modules(s, cache_root, languages) for s in studies)))
            # One client thread per study: each submits its units and waits; the longest starts first.
            with ThreadPoolExecutor(max_workers=len(studies), thread_name_prefix="study") as threads:
                futures = {s.id: threads.submit(one, s) for s in sorted(studies, key=lambda s: -units[s.id])}
                try:
                    wait(futures.values(), return_when=FIRST_EXCEPTION)
                    failed = next((f.exception() for f in futures.values() if f.done() and f.exception()), None)
                    if failed is not None:
                        raise failed
                except BaseException:  # a failed study or Ctrl-C: drop the units still queued or running
                    executor.cancel()
                    raise
                computed = [futures[s.id].result() for s in studies]
    done = {execution.result.study.id: execution for execution in computed}
    return [handouts.get(s.id) or done[s.id] for s in course.studies]


def study_stages(tasks: list[TaskRecord]) -> dict[str, tuple[float, float]]:
    """Per study, the seconds its units spent where they ran: (computing runs, analysis and figures).

    Measured by the executor around each unit, so a unit waiting for a free worker is not counted.
    """
    stages: dict[str, list[float]] = {}
    for task in tasks:
        spent = stages.setdefault(task.study, [0.0, 0.0])
        spent[task.stage is Stage.ANALYSIS] += task.seconds
    return {study: (computing, analysis) for study, (computing, analysis) in stages.items()}


def _task_order(task: TaskRecord) -> tuple:
    return (task.study, task.task, task.worker, -task.seconds)


def _report_study(reporter: Reporter, execution: StudyExecution) -> None:
    reporter.line(f"{execution.result.study.id}: {execution.trained} computed, {execution.reused} reused "
                  f"({execution.seconds:.1f} s)")


# --------------------------------------------------------------------------- outputs


def results_document(course: Course, results: list, provenance: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable results: every run's swept params, seed, status and metrics."""
    return {
        "title": course.title.as_data(),
        "provenance": provenance,
        "studies": [
            {"id": r.study.id, "kind": r.study.kind, "title": r.study.title.as_data(), "runs": _json_safe(r.records()),
             "findings": _json_safe(r.facts)}
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
        "libraries": {name: _version(name) for name in RENDERING_LIBRARIES},
        "kernel": kernel_identities(course),
        "kinds": {name: kinds.provider(name) for name in sorted({study.kind for study in course.studies})},
        "profile": course.profile,
        "overrides": list(course.overrides),
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


@lru_cache(maxsize=None)
def _git_state(folder: Path) -> dict[str, Any] | None:
    """Commit of the reportgen checkout and whether its tracked files differ from it."""
    if not (folder / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def trained_kinds(course: Course) -> list[str]:
    """The kinds of model (polynomial, mlp) that ``course`` trains: their gradient kernels matter."""
    return sorted({point.config.model.kind for study in course.studies if kinds.get(study.kind).trains
                   for point in study.points})


def kernel_identities(course: Course) -> dict[str, str] | None:
    """What computes each trained kind's gradients (``native.backend_id``), or None if nothing is trained."""
    return {kind: native.backend_id(kind) for kind in trained_kinds(course)} or None


def input_digest(options: BuildOptions, course: Course, audience: str, folders: list[Path]) -> str:
    """Hash of everything the outputs depend on: definitions, options, templates, code, libraries, kernel."""
    from .render import template_dirs

    digest = hashlib.sha256()

    def add_files(label: str, folder: Path, paths, what: str, where: str, inside: list[Path] | None = None,
                  limit: int = FIXED_LIMIT, prefix: str = "") -> None:
        # Each file is read as the build reads it: a FIFO (which would block), a device or a link out of its folder
        # is refused, not skipped (the key would not cover what the build reads), and none is read past the limit.
        for path in sorted(paths):
            if "__pycache__" in path.parts or path.is_dir():
                continue  # folders are walked, not read; compiled code is not an input
            relative = path.relative_to(folder)
            name = f"{prefix} {relative.as_posix()} ({display_path(path)})" if prefix else display_path(path)
            data = read_course_file(path, inside or folder, limit, what, name=name, folder=where)
            digest.update(f"{label}/{relative}\0".encode() + data + b"\0")

    # Only the top level, as load_course reads it: a course folder may hold build/, the store or a venv.
    # load_course has just read each one under the course's max_file_kb, which does not reach here: the larger of
    # the fixed limit and the command line's bounds the hashing.
    add_files("definitions", options.definitions, options.definitions.glob("*.toml"), "definitions",
              "the definitions folder", limit=max(FIXED_LIMIT, options.limits.merged(None).max_file_kb * 1024))
    searched = template_dirs(folders)
    for i, folder in enumerate(searched):
        # Any templates folder, as the template loader allows: a course's template may link to a built-in one.
        add_files(f"templates{i}", folder, folder.rglob("*"), "files of the templates folders",
                  "the templates folders", inside=searched, prefix="template")
    code = Path(__file__).resolve().parent
    add_files("code", code, code.rglob("*.py"), "reportgen's code files", "reportgen's folder")
    add_files("kernels", code / "kernels", (code / "kernels").rglob("*"), "reportgen's code files",
              "reportgen's kernels folder")
    # A plug-in kind's code lives outside reportgen: the hashes its cache keys use cover it. A kind whose code is
    # reportgen's own is covered by "code" above, and its import closure (a parse of each module) is not needed.
    for name in sorted({study.kind for study in course.studies}):
        kind = kinds.get(name)
        if {module.split(".")[0] for module in (kind.compute_module, kind.analysis_module)} != {__package__}:
            digest.update(f"kind {name}\0{code_version(kind)}\0{analysis_code_version(kind)}\0".encode())
    digest.update(json.dumps({
        "studies": list(options.studies),
        "audience": audience,
        "languages": list(languages_of(options, course)),
        "profile": options.profile,
        "assignments": list(options.assignments),
        "notebooks": options.notebooks,
        "libraries": {name: _version(name) for name in RENDERING_LIBRARIES},
        "python": platform.python_version(),
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH"),
        "git": _git_state(Path(__file__).resolve().parent.parent),
        "kernel": kernel_identities(course),
    }, sort_keys=True).encode())
    return digest.hexdigest()


def outputs_current(out: Path, digest: str, names: tuple[str, ...]) -> bool:
    """True when ``out`` holds these outputs, built from inputs with this digest and unmodified since."""
    return staleness(out, digest, names) is None


def staleness(out: Path, digest: str, names: tuple[str, ...]) -> str | None:
    """Why the outputs in ``out`` are out of date, or None when they are current."""
    manifest, why = read_manifest(out)
    if manifest is None:
        return why
    if manifest.get("inputs") != digest:
        return "definitions, options, templates, code, library versions or kernel changed since the last build"
    recorded = manifest.get("outputs") if isinstance(manifest.get("outputs"), dict) else {}
    for name in names:
        try:
            if hashlib.sha256((out / name).read_bytes()).hexdigest() != recorded.get(name):
                return f"{out / name}: differs from what the last build wrote"
        except OSError:
            return f"{out / name}: missing"
    return None


def recorded_warnings(out: Path) -> list[str]:
    """The warnings of the build that wrote the outputs in ``out``, from its manifest."""
    warnings = (read_manifest(out)[0] or {}).get("warnings", [])
    return [str(w) for w in warnings] if isinstance(warnings, list) else []


def default_cache(definitions: Path | None = None) -> Path:
    """The result store of a course: inside its folder when built where it stands, else beside the definitions."""
    from .discover import default_store

    return default_store(definitions)
