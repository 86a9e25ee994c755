"""The registry of study kinds: every kind, built-in or third-party, is found through one entry-point group.

A study kind is one object that tells the core everything it needs about
studies of that kind (see :class:`StudyKind`). The core never names a kind:
it looks the definition's ``kind`` up here. A package makes a kind available
by declaring, in its ``pyproject.toml``::

    [project.entry-points."reportgen.study_kinds"]
    basis = "mypackage.basis:KIND"

The four built-in kinds register the same way, in reportgen's own
``pyproject.toml``. Kinds are code the user installs on purpose; definitions
and templates stay data.
"""

from __future__ import annotations

import inspect
from dataclasses import is_dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence, get_args, runtime_checkable

from pydantic import BaseModel

from .codehash import module_closure, module_names
from .errors import BadInputError, ending

if TYPE_CHECKING:
    from .executors import StudyExecutor
    from .plan import Run
    from .spec import Study
    from .studies.base import StudyResult

ENTRY_POINT_GROUP = "reportgen.study_kinds"

Progress = Callable[[int], None]
"""Called with a number of finished work units (run-steps when training, runs when sampling)."""


@runtime_checkable
class StudyKind(Protocol):
    """What the core knows about a kind of study: the whole protocol a plug-in implements."""

    name: str
    """The ``kind = "…"`` value of its definition files; equal to the entry point's name."""
    schema: type[BaseModel]
    """Validates one definition file: a frozen pydantic model with ``kind``, ``title`` and ``summary`` fields."""
    outcome: type
    """The dataclass one run produces (NumPy arrays, numbers, strings): what the result store keeps."""
    trains: bool
    """Whether runs are trained by gradient steps, whose bits depend on the gradient kernel (``model.kind``)."""
    batched: bool
    """Whether a study's runs are computed together (their memory adds up) rather than one at a time."""
    template: str
    """Name of the Jinja template of its report section, e.g. ``studies/basis.html.j2``."""
    templates: Path | None
    """Folder holding that template (searched after the user's own), or None for the built-in templates."""

    def work_units(self, study: "Study") -> int:
        """How much computing the study needs with nothing cached, in the units ``compute`` reports."""

    def compute(self, runs: Sequence["Run"], progress: Progress, executor: "StudyExecutor") -> list[Any]:
        """One outcome per run, in order; calls ``progress`` as work finishes. Must not depend on ``executor``.

        ``executor.map(function, items)`` runs module-level ``function`` on each picklable item as one work unit,
        in local processes or on a Dask cluster; ``executor.slots`` says how many run at once. A kind whose runs
        take well under 10 ms each may compute them itself instead: a unit that short loses to its scheduling.
        """

    def analyze(self, study: "Study", runs: Sequence["Run"], outcomes: Sequence[Any]) -> "StudyResult":
        """Metrics, figures, tables and facts of the study, from its runs' outcomes (and, if the kind opts in,
        explorers for the instructor HTML: see :mod:`reportgen.explorer`). A costly figure may be given as a
        :class:`~reportgen.studies.base.Drawing`, which the build draws as a work unit of its own."""


REQUIRED = ("name", "schema", "outcome", "trains", "batched", "template", "templates", "work_units", "compute",
            "analyze")


def names() -> list[str]:
    """The installed kinds' names, read from package metadata without importing any of them."""
    return sorted({point.name for point in _entry_points()})


def get(name: str) -> StudyKind:
    """The kind called ``name``; BadInputError if none is installed, or if its plug-in is broken."""
    return _load(name)


def find(name: str) -> StudyKind | None:
    """The kind called ``name``, or None if no installed package provides it (a broken one still raises)."""
    return _load(name) if name in names() else None


def provider(name: str) -> str:
    """The distribution and version that provide kind ``name``, e.g. ``reportgen-basis 0.1.0``."""
    point = next(point for point in _entry_points() if point.name == name)
    return f"{point.dist.name} {point.dist.version}" if point.dist else "unknown"


def code_files(function: Callable) -> list[Path]:
    """The source files ``function``'s module is made of: itself and what it imports from its own package and
    from reportgen, transitively. The cache keys hash these, so editing a kind's code redoes its work."""
    return module_closure(_module_name(function))


def code_modules(function: Callable) -> tuple[str, ...]:
    """The names of the modules behind :func:`code_files`: what a worker that runs ``function`` imports."""
    return module_names(_module_name(function))


def _module_name(function: Callable) -> str:
    module = inspect.getmodule(function)
    if module is None or module.__spec__ is None:
        raise BadInputError(f"cannot find the module of {function!r} to hash its code")
    return module.__spec__.name


@lru_cache(maxsize=1)
def _entry_points() -> tuple[metadata.EntryPoint, ...]:
    # Read once per process: scanning every installed distribution's metadata costs about 10 ms a time.
    return tuple(metadata.entry_points(group=ENTRY_POINT_GROUP))


@lru_cache(maxsize=None)
def _load(name: str) -> StudyKind:
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
    problem = protocol_problem(kind, name)
    if problem:
        raise BadInputError(f"study kind '{name}' breaks the study-kind protocol ({where}): {problem}")
    return kind


def protocol_problem(kind: Any, name: str) -> str | None:
    """What is wrong with ``kind`` as the study kind called ``name``, or None when it keeps the protocol."""
    missing = [attribute for attribute in REQUIRED if not hasattr(kind, attribute)]
    if missing:
        return f"missing {', '.join(missing)}"
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
    if not (isinstance(kind.outcome, type) and is_dataclass(kind.outcome)):
        return f"outcome must be a dataclass, got {kind.outcome!r}"
    if not isinstance(kind.template, str) or not kind.template:
        return f"template must be a template name, got {kind.template!r}"
    if kind.templates is not None and not Path(kind.templates).is_dir():
        return f"its templates folder {kind.templates} does not exist"
    for method in ("work_units", "compute", "analyze"):
        if not callable(getattr(kind, method)):
            return f"{method} is not callable"
    return None
