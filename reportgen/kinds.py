"""The registry of study kinds: every kind, built-in or third-party, is found through one entry-point group.

A study kind is one object that tells the core everything it needs about
studies of that kind (a :class:`Kind`). The core never names a kind:
it looks the definition's ``kind`` up here. A package makes a kind available
by declaring, in its ``pyproject.toml``::

    [project.entry-points."reportgen.study_kinds"]
    basis = "mypackage.basis:KIND"

The four built-in kinds register the same way, in reportgen's own
``pyproject.toml``. Kinds are code the user installs on purpose; definitions
and templates stay data.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, is_dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, get_args

from pydantic import BaseModel

from .codehash import module_closure, module_names
from .errors import BadInputError, BuildError, contained, ending
from .outcomes import check_outcome, stored

if TYPE_CHECKING:
    from .executors import StudyExecutor
    from .model import Run, Study

ENTRY_POINT_GROUP = "reportgen.study_kinds"

Progress = Callable[[int], None]
"""Called with a number of finished work units (run-steps when training, runs when sampling)."""


@dataclass(frozen=True)
class Kind:
    """A kind of study: what its definitions may say, how one run is computed, and how its runs become a section.

    Functions are named as ``"module:function"`` strings and imported only when needed, so listing or validating
    a course loads no numeric or plotting library, and the cache keys hash each function's own module (and what
    it imports) and nothing else: editing an analysis that the run's module does not import redoes the analysis,
    not the runs.
    """

    name: str
    """The ``kind = "…"`` value of its definition files; equal to the entry point's name."""
    schema: type[BaseModel]
    """Validates one definition file: a subclass of :class:`reportgen.plugin.StudyFields` whose ``kind`` field is
    ``Literal[name]``."""
    analysis: str
    """``"module:function"``: ``function(study, runs, outcomes)`` returns the study's
    :class:`~reportgen.results.StudyResult` (see :func:`reportgen.results.assemble`)."""
    template: str
    """Name of the Jinja template of its report section, e.g. ``studies/basis.html.j2``."""
    run: str | None = None
    """``"module:function"``: ``function(config, seed)`` computes one run and returns its outcome. A kind that
    computes its runs otherwise (batched training) overrides :meth:`compute` instead."""
    templates: Path | None = None
    """Folder holding that template (searched after the course's own), and its ``locale`` catalogues."""
    outcome: type | None = None
    """What one run returns: a dataclass of NumPy arrays, numbers and strings, or None for plain dicts of
    them. An optional ``status`` field or key says ``"ok"`` (the default) or ``"diverged"``."""
    introduction: str | None = None
    """Template of the kind's paragraphs in the course introduction (found in ``templates``), or None."""
    trains: bool = False
    """Whether runs are trained by reportgen's gradient kernels, whose bits enter the cache key."""
    batched: bool = False
    """Whether a study's runs are computed together, so their memory estimates add up."""
    handout: str | None = None
    """``"module:function"``: ``function(study, runs)`` returns the study as a student edition shows it without
    computing a run; None: a student edition computes the runs."""
    lab: Any = None
    """Writes the kind's sections of the lab notebooks (see :mod:`reportgen.studies.lab`); None: a section with
    words and activities only."""

    def __post_init__(self) -> None:
        if self.templates is not None:
            object.__setattr__(self, "templates", Path(self.templates))
        if is_dataclass(self.outcome):
            stored(self.outcome)  # the result store rebuilds outcomes by their registered type

    def work_units(self, study: "Study") -> int:
        """How much computing the study needs with nothing cached, in the units ``compute`` reports: its runs."""
        return study.n_runs

    def compute(self, runs: Sequence["Run"], progress: Progress, executor: "StudyExecutor") -> list[Any]:
        """One outcome per run, in order, each run a work unit on ``executor`` (the largest memory estimate
        first); calls ``progress`` as each ends. Must not depend on ``executor``."""
        outcomes: list[Any] = [None] * len(runs)
        items = [RunUnit(self.name, self.run, self.outcome, run.config, run.seed) for run in runs]
        costs = [run.config.memory_estimate() for run in runs]
        for i, outcome in executor.map(compute_run, items, costs):
            outcomes[i] = outcome
            progress(1)
        return outcomes

    @property
    def compute_module(self) -> str:
        """The module whose code (with what it imports) computes the runs: what the run cache keys hash."""
        if self.run is not None:
            return self.run.partition(":")[0]
        return type(self).compute.__module__

    @property
    def analysis_module(self) -> str:
        """The module whose code (with what it imports) analyses the runs: what the analysis cache keys hash."""
        return self.analysis.partition(":")[0]


@dataclass(frozen=True)
class RunUnit:
    """One run of a kind that names its ``run`` function, as a work unit (picklable: it travels to a worker)."""

    kind: str
    target: str
    outcome: type | None
    config: Any
    seed: int


def compute_run(unit: RunUnit) -> Any:
    """The outcome of one run, checked against what its kind declares."""
    with contained(f"study kind '{unit.kind}': {unit.target}"):
        outcome = resolve(unit.target)(unit.config, unit.seed)
    problem = check_outcome(outcome, unit.outcome)
    if problem:
        raise BuildError(f"study kind '{unit.kind}': {unit.target} returned {problem}")
    # In the order the store gives them back: an analysis reads a fresh outcome as it reads a stored one.
    return {key: outcome[key] for key in sorted(outcome)} if isinstance(outcome, dict) else outcome


def resolve(target: str) -> Callable:
    """The function a ``"module:function"`` string names, importing its module now."""
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def names() -> list[str]:
    """The installed kinds' names, read from package metadata without importing any of them."""
    return sorted({point.name for point in _entry_points()})


def get(name: str) -> Kind:
    """The kind called ``name``; BadInputError if none is installed, or if its plug-in is broken."""
    return _load(name)


def find(name: str) -> Kind | None:
    """The kind called ``name``, or None if no installed package provides it (a broken one still raises)."""
    return _load(name) if name in names() else None


def provider(name: str) -> str:
    """The distribution and version that provide kind ``name``, e.g. ``reportgen-basis 0.1.0``."""
    point = next(point for point in _entry_points() if point.name == name)
    return f"{point.dist.name} {point.dist.version}" if point.dist else "unknown"


def code_files(module: str) -> list[Path]:
    """The source files ``module`` is made of: itself and what it imports from its own package and from
    reportgen, transitively. The cache keys hash these, so editing a kind's code redoes its work."""
    return module_closure(module)


def code_modules(module: str) -> tuple[str, ...]:
    """The names of the modules behind :func:`code_files`: what a worker that runs ``module``'s code imports."""
    return module_names(module)


@lru_cache(maxsize=1)
def _entry_points() -> tuple[metadata.EntryPoint, ...]:
    # Read once per process: scanning every installed distribution's metadata costs about 10 ms a time.
    return tuple(metadata.entry_points(group=ENTRY_POINT_GROUP))


@lru_cache(maxsize=None)
def _load(name: str) -> Kind:
    points = [point for point in _entry_points() if point.name == name]
    if not points:
        from .messages import did_you_mean, one_of

        raise BadInputError(f"no study kind '{name}' is installed (installed: {one_of(names()) or 'none'})"
                            f"{did_you_mean(name, names())}")
    point = points[0]
    where = f"plug-in {point.dist.name if point.dist else '?'}, entry point {point.name} = {point.value}"
    try:
        kind = point.load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a plug-in can fail to import in any way, sys.exit too; say which one, not how deep
        raise BadInputError(f"study kind '{name}' cannot be loaded ({where}): "
                            f"importing it {ending(exc)}") from None
    problem = kind_problem(kind, name)
    if problem:
        raise BadInputError(f"study kind '{name}' is not a usable kind ({where}): {problem}")
    return kind


def kind_problem(kind: Any, name: str) -> str | None:
    """What is wrong with ``kind`` as the study kind called ``name``, or None when it is usable."""
    if not isinstance(kind, Kind):
        return f"expected a reportgen.plugin.Kind, got {type(kind).__name__}"
    if kind.name != name:
        return f"its name is {kind.name!r}, but it is registered as {name!r}"
    if not (isinstance(kind.schema, type) and issubclass(kind.schema, BaseModel)):
        return f"schema must be a pydantic model class, got {kind.schema!r}"
    fields = kind.schema.model_fields
    for field in ("kind", "title", "summary"):
        if field not in fields:
            return f"schema {kind.schema.__name__} has no '{field}' field"
    if name not in get_args(fields["kind"].annotation):
        return f"schema {kind.schema.__name__}'s kind field must be Literal[{name!r}]"
    if kind.outcome is not None and not (isinstance(kind.outcome, type) and is_dataclass(kind.outcome)):
        return f"outcome must be a dataclass or None (plain dicts), got {kind.outcome!r}"
    if kind.run is None and type(kind).compute is Kind.compute:
        return "it names no run function (run = \"module:function\") and does not override compute"
    for attribute in ("run", "analysis", "handout"):
        problem = _target_problem(getattr(kind, attribute), optional=attribute != "analysis")
        if problem:
            return f"{attribute}: {problem}"
    for attribute in ("template", "introduction"):
        value = getattr(kind, attribute)
        if not (isinstance(value, str) and value) and not (value is None and attribute == "introduction"):
            return f"{attribute} must be a template name, got {value!r}"
    if kind.templates is not None and not kind.templates.is_dir():
        return f"its templates folder {kind.templates} does not exist"
    return None


def _target_problem(target: Any, optional: bool) -> str | None:
    """Why ``target`` does not name a function as ``"module:function"``, or None; its module is found, not run."""
    if target is None and optional:
        return None
    if not isinstance(target, str) or target.count(":") != 1 or not all(target.split(":")):
        return f"expected \"module:function\", got {target!r}"
    module = target.partition(":")[0]
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        found = None
    return None if found is not None else f"no module {module} is installed"
