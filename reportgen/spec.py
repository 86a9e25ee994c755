"""Definition files -> frozen, validated models.

``experiments/course.toml`` names the course and the order of its studies;
every other ``experiments/*.toml`` defines one study. Validation collects
every problem in every file and raises one :class:`SpecError` listing them
all, each as ``experiments/x.toml: sweep.model.degree[2]: expected an
integer >= 1, got 0``.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import itertools
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import SpecError
from .expr import ExpressionError, parse_expression

STUDY_KINDS = ("overfitting", "regularization", "prior", "capacity")
ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")

PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


class _Frozen(BaseModel):
    """Strict, immutable, closed: TOML values are never coerced and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _check_interval(value: tuple[float, float]) -> tuple[float, float]:
    if not value[0] < value[1]:
        raise ValueError(f"expected [low, high] with low < high, got [{value[0]}, {value[1]}]")
    return value


class DataSpec(_Frozen):
    """The synthetic regression data set; the defaults are the lecture's recipe."""

    target: str = "x * sin(10 * x)"
    """Noiseless target f(x), a safe expression in x."""
    points: Annotated[int, Field(ge=2)] = 20
    """Number of equally spaced x values on ``domain`` before removal."""
    domain: tuple[float, float] = (0.0, 1.0)
    """Interval of the training inputs."""
    removed: tuple[NonNegativeInt, ...] = (9, 10, 11, 12, 13)
    """Indices deleted from the grid, leaving a gap in the data."""
    noise: NonNegativeFloat = 0.1
    """Standard deviation of the Gaussian noise added to the targets."""
    seed: NonNegativeInt = 0
    """Seed of NumPy's legacy global generator for the noise."""
    test_points: Annotated[int, Field(ge=2)] = 200
    """Number of points of the evaluation grid."""
    test_domain: tuple[float, float] = (-0.05, 1.05)
    """Interval of the evaluation grid."""

    _interval = field_validator("domain", "test_domain")(_check_interval)

    @field_validator("target")
    @classmethod
    def _safe_target(cls, value: str) -> str:
        try:
            parse_expression(value)
        except ExpressionError as exc:
            raise ValueError(f"unsafe or invalid expression {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _removed_in_range(self) -> "DataSpec":
        bad = [i for i in self.removed if i >= self.points]
        if bad:
            raise ValueError(f"removed: expected indices below points = {self.points}, got {bad[0]}")
        if len(set(self.removed)) != len(self.removed):
            raise ValueError("removed: expected distinct indices, got a repeated one")
        if self.points - len(self.removed) < 1:
            raise ValueError("removed: every point would be removed")
        return self


class PolynomialSpec(_Frozen):
    """A polynomial of the given degree with a bias, fitted as a linear model."""

    kind: Literal["polynomial"]
    degree: Annotated[int, Field(ge=1, le=400)] = 10
    """Highest power of x; the model has degree + 1 coefficients."""


class MLPSpec(_Frozen):
    """A fully connected network with ``depth`` hidden layers of ``width`` units."""

    kind: Literal["mlp"]
    width: Annotated[int, Field(ge=1, le=100_000)] = 10
    """Units in every hidden layer."""
    depth: Annotated[int, Field(ge=1, le=10)] = 1
    """Number of hidden layers."""
    activation: Literal["tanh", "sigmoid", "relu", "identity"] = "tanh"
    """Activation of the hidden layers; the output layer is linear."""


class PriorMLPSpec(MLPSpec):
    """An MLP whose weights and biases are drawn from zero-mean Gaussians."""

    weight_std: PositiveFloat = 5.0
    """Standard deviation of every weight (the lecture's sw)."""
    bias_std: NonNegativeFloat = 5.0
    """Standard deviation of every bias (the lecture's sb)."""


class TrainSpec(_Frozen):
    """Full-batch training; the defaults are the lecture's."""

    optimizer: Literal["adam"] = "adam"
    lr: PositiveFloat = 0.01
    """Adam's learning rate."""
    steps: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    """Number of full-batch gradient steps."""
    loss: Literal["sse"] = "sse"
    """Sum of squared errors, ``MSELoss(reduction='sum')``."""
    weight_decay: NonNegativeFloat = 0.0
    """L2 penalty added to the gradient by Adam (a Gaussian prior)."""
    betas: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = (0.9, 0.999)
    eps: PositiveFloat = 1e-8


class SamplingSpec(_Frozen):
    """How functions are drawn from the prior and where they are evaluated."""

    draws: Annotated[int, Field(ge=1, le=1000)] = 10
    """Functions drawn for the figure."""
    spread_draws: Annotated[int, Field(ge=2, le=100_000)] = 100
    """Functions drawn to measure the spread of f(x)."""
    spread_points: Annotated[int, Field(ge=1, le=1000)] = 11
    """Grid points at which the spread is measured."""
    domain: tuple[float, float] = (-5.0, 5.0)
    points: Annotated[int, Field(ge=2, le=100_000)] = 200

    _interval = field_validator("domain")(_check_interval)


class _StudyFields(_Frozen):
    kind: str
    title: Annotated[str, Field(min_length=1)]
    summary: str = ""


class RegressionStudyFile(_StudyFields):
    """Schema of an overfitting, regularization or capacity study file."""

    kind: Literal["overfitting", "regularization", "capacity"]
    data: DataSpec = DataSpec()
    model: Annotated[Union[PolynomialSpec, MLPSpec], Field(discriminator="kind")]
    train: TrainSpec = TrainSpec()


class PriorStudyFile(_StudyFields):
    """Schema of a prior-sampling study file."""

    kind: Literal["prior"]
    model: PriorMLPSpec
    sampling: SamplingSpec = SamplingSpec()


REQUIRED_MODEL = {"overfitting": "polynomial", "regularization": "polynomial", "capacity": "mlp", "prior": "mlp"}
_MODEL_TAGS: dict[str, type[BaseModel]] = {"polynomial": PolynomialSpec, "mlp": MLPSpec}


def _model_schema(kind: str) -> type[BaseModel]:
    return PriorMLPSpec if kind == "prior" else _MODEL_TAGS[REQUIRED_MODEL[kind]]


@dataclass(frozen=True)
class Point:
    """One point of a study's sweep: the swept values and the full resolved configuration."""

    params: tuple[tuple[str, Any], ...]
    """Swept fields by dotted key, in the order of the sweep table."""
    config: RegressionStudyFile | PriorStudyFile
    """The study with this point's values substituted (its ``sweep`` emptied)."""


@dataclass(frozen=True)
class Study:
    """A validated study definition."""

    id: str
    path: str
    kind: str
    title: str
    summary: str
    base: RegressionStudyFile | PriorStudyFile
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    """Swept fields (dotted key, values) in file order."""
    seeds: tuple[int, ...]
    points: tuple[Point, ...]
    source: str
    """The definition file's text, for the provenance appendix."""

    @property
    def n_runs(self) -> int:
        """Number of runs the sweep expands to (points x seeds)."""
        return len(self.points) * len(self.seeds)


@dataclass(frozen=True)
class Course:
    """The validated course: its metadata and its studies in report order."""

    title: str
    subtitle: str
    authors: tuple[str, ...]
    date: str
    studies: tuple[Study, ...]
    root: Path

    def select(self, ids: tuple[str, ...] | list[str]) -> "Course":
        """Return the course restricted to ``ids`` (in course order); unknown ids are bad input."""
        if not ids:
            return self
        known = {s.id for s in self.studies}
        problems = [f"unknown study '{i}'{_did_you_mean(i, known)}" for i in ids if i not in known]
        if problems:
            raise SpecError(problems)
        wanted = set(ids)
        return Course(self.title, self.subtitle, self.authors, self.date,
                      tuple(s for s in self.studies if s.id in wanted), self.root)


class CourseFile(_Frozen):
    """Schema of ``course.toml``."""

    title: Annotated[str, Field(min_length=1)]
    subtitle: str = ""
    authors: tuple[str, ...] = ()
    date: str | _dt.date | None = None
    studies: tuple[str, ...] | None = None


# --------------------------------------------------------------------------- loading


def load_course(root: str | os.PathLike) -> Course:
    """Read and validate ``root/course.toml`` and every study file; raise SpecError listing all problems."""
    root = Path(root)
    problems: list[str] = []
    course_path = root / "course.toml"
    if not root.is_dir():
        raise SpecError([f"{root}: definitions folder not found"])
    raw_course = _read_toml(course_path, problems)
    studies: dict[str, Study] = {}
    for path in sorted(root.glob("*.toml")):
        if path.name == "course.toml":
            continue
        raw = _read_toml(path, problems)
        if raw is not None:
            study = _validate_study(path, raw, problems)
            if study is not None:
                studies[study.id] = study
    if raw_course is None:
        raise SpecError(problems)
    raw_course.pop("__source__")
    course_file = _validate(CourseFile, raw_course, _display(course_path), problems)
    if course_file is None:
        raise SpecError(problems)
    order = course_file.studies if course_file.studies is not None else tuple(sorted(studies))
    known_files = {p.stem for p in root.glob("*.toml")} - {"course"}
    for i, study_id in enumerate(order):
        if study_id not in known_files:
            problems.append(f"{_display(course_path)}: studies[{i}]: no file {study_id}.toml"
                            f"{_did_you_mean(study_id, known_files)}")
    if not order:
        problems.append(f"{_display(course_path)}: studies: expected at least one study, got none")
    if problems:
        raise SpecError(problems)
    return Course(
        title=course_file.title,
        subtitle=course_file.subtitle,
        authors=course_file.authors,
        date=_course_date(course_file.date),
        studies=tuple(studies[i] for i in order),
        root=root,
    )


def _course_date(value: str | _dt.date | None) -> str:
    if isinstance(value, _dt.date):
        return value.isoformat()
    if value:
        return value
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc).date().isoformat()
    return ""


def _display(path: Path) -> str:
    """A path as the user should read it: relative to the working folder when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_toml(path: Path, problems: list[str]) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{_display(path)}: file not found")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{_display(path)}: cannot read file ({exc.__class__.__name__}: {exc})")
        return None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{_display(path)}: invalid TOML: {exc}")
        return None
    return _tuples(raw) | {"__source__": text}


def _tuples(value: Any) -> Any:
    """TOML arrays become tuples so that strict tuple fields accept them and models stay hashable."""
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _validate_study(path: Path, raw: dict, problems: list[str]) -> Study | None:
    where = _display(path)
    source = raw.pop("__source__")
    kind = raw.get("kind")
    if kind is None:
        problems.append(f"{where}: kind: required key is missing (one of {_one_of(STUDY_KINDS)})")
        return None
    if kind not in STUDY_KINDS:
        problems.append(f"{where}: kind: expected one of {_one_of(STUDY_KINDS)}, got {_show(kind)}"
                        f"{_did_you_mean(str(kind), STUDY_KINDS)}")
        return None
    schema = PriorStudyFile if kind == "prior" else RegressionStudyFile
    raw = _with_model_kind(raw, kind, where, problems)
    if raw is None:
        return None
    sweep_raw = raw.get("sweep", {})
    if not isinstance(sweep_raw, dict):
        problems.append(f"{where}: sweep: expected a table, got {_show(sweep_raw)}")
        return None
    base_raw = {k: v for k, v in raw.items() if k != "sweep"}
    before = len(problems)
    base = _validate(schema, base_raw, where, problems)
    axes, seeds = _validate_sweep(schema, base_raw, sweep_raw, where, problems)
    if base is None or len(problems) > before:
        return None
    points = _expand(schema, base_raw, axes, where, problems)
    if len(problems) > before:
        return None
    return Study(id=path.stem, path=where, kind=kind, title=base.title, summary=base.summary, base=base,
                 axes=axes, seeds=seeds, points=points, source=source)


def _with_model_kind(raw: dict, kind: str, where: str, problems: list[str]) -> dict | None:
    """Default ``model.kind`` from the study kind, and insist it matches."""
    model = raw.get("model")
    if model is None:
        problems.append(f"{where}: model: required table is missing")
        return None
    if not isinstance(model, dict):
        problems.append(f"{where}: model: expected a table, got {_show(model)}")
        return None
    expected = REQUIRED_MODEL[kind]
    given = model.get("kind", expected)
    if given != expected:
        problems.append(f"{where}: model.kind: expected {_show(expected)} for a {kind} study, got {_show(given)}")
        return None
    return raw | {"model": model | {"kind": expected}}


def _validate(schema: type[BaseModel], raw: dict, where: str, problems: list[str], prefix: str = ""):
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(f"{where}: {prefix or _dotted(error['loc'])}: {_explain(error, schema)}")
        return None


def _validate_sweep(schema, base_raw, sweep_raw, where, problems):
    """Check every swept key and value; return the axes and the seeds."""
    flat = _flatten(sweep_raw)
    seeds: tuple[int, ...] = (0,)
    axes = []
    sweepable = _leaf_paths(schema, _model_schema(base_raw["kind"]))
    for key, values in flat.items():
        loc = f"sweep.{key}"
        if not isinstance(values, tuple):
            problems.append(f"{where}: {loc}: expected a list of values, got {_show(values)}")
            continue
        if not values:
            problems.append(f"{where}: {loc}: expected a non-empty list, got []")
            continue
        if key == "seeds":
            bad = [(i, v) for i, v in enumerate(values) if isinstance(v, bool) or not isinstance(v, int) or v < 0]
            for i, v in bad:
                problems.append(f"{where}: {loc}[{i}]: expected an integer >= 0, got {_show(v)}")
            if len(set(values)) != len(values):
                problems.append(f"{where}: {loc}: expected distinct seeds, got {_show(values)}")
            seeds = values
            continue
        if key not in sweepable:
            problems.append(f"{where}: {loc}: unknown field '{key}'{_did_you_mean(key, sweepable)}")
            continue
        if len(set(map(repr, values))) != len(values):
            problems.append(f"{where}: {loc}: expected distinct values, got {_show(values)}")
        for i, value in enumerate(values):
            trial = _set_path(base_raw, key, value)
            try:
                schema.model_validate(trial)
            except ValidationError as exc:
                for error in exc.errors():
                    inner = _dotted(error["loc"])
                    if inner == key or inner.startswith(key.rsplit(".", 1)[0]):
                        problems.append(f"{where}: {loc}[{i}]: {_explain(error, schema)}")
        axes.append((key, values))
    return tuple(axes), tuple(seeds)


def _expand(schema, base_raw, axes, where, problems) -> tuple[Point, ...]:
    """Cartesian product of the axes, each point validated as a whole."""
    keys = [k for k, _ in axes]
    points = []
    for combo in itertools.product(*(values for _, values in axes)):
        raw = base_raw
        for key, value in zip(keys, combo):
            raw = _set_path(raw, key, value)
        try:
            config = schema.model_validate(raw)
        except ValidationError as exc:
            shown = ", ".join(f"{k} = {_show(v)}" for k, v in zip(keys, combo))
            for error in exc.errors():
                problems.append(f"{where}: sweep ({shown}): {_dotted(error['loc'])}: {_explain(error, schema)}")
            continue
        points.append(Point(params=tuple(zip(keys, combo)), config=config))
    return tuple(points)


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def _set_path(raw: dict, dotted: str, value: Any) -> dict:
    head, _, rest = dotted.partition(".")
    if not rest:
        return raw | {head: value}
    inner = raw.get(head, {})
    return raw | {head: _set_path(inner if isinstance(inner, dict) else {}, rest, value)}


def _leaf_paths(schema: type[BaseModel], model: type[BaseModel]) -> list[str]:
    """Dotted paths of every field a sweep may vary."""
    paths = []
    for name, field in schema.model_fields.items():
        if name in ("kind", "title", "summary"):
            continue
        sub = model if name == "model" else _submodel(field.annotation)
        if sub is None:
            paths.append(name)
        else:
            paths.extend(f"{name}.{p}" for p in sub.model_fields if p != "kind")
    return paths


def _submodel(annotation) -> type[BaseModel] | None:
    candidates = [annotation, *getattr(annotation, "__args__", ())]
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel):
            return c
        for inner in getattr(c, "__args__", ()):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


# --------------------------------------------------------------------------- messages


def _dotted(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        elif item in _MODEL_TAGS and parts and parts[-1] == "model":
            continue  # pydantic names the union member; the user only wrote `model`
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _explain(error: dict, schema: type[BaseModel]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        return f"unknown key '{name}'{_did_you_mean(name, _siblings(schema, error['loc']))}"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        noun = "an integer" if isinstance(given, int) and isinstance(limit, int) else "a number"
        return f"expected {noun} {bounds[kind]} {_show(limit)}, got {_show(given)}"
    if kind in ("int_type", "int_from_float"):
        return f"expected an integer, got {_show(given)}"
    if kind in ("float_type",):
        return f"expected a number, got {_show(given)}"
    if kind in ("string_type",):
        return f"expected a string, got {_show(given)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_show(given)}"
    if kind == "too_short" and isinstance(given, str):
        return "expected a non-empty string, got \"\""
    if kind in ("too_short", "too_long"):
        expected = ctx.get("min_length", ctx.get("max_length"))
        return f"expected a list of {expected} values, got {_show(given)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected', '')}, got {_show(given)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a table, got {_show(given)}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg'][0].lower()}{error['msg'][1:]}, got {_show(given)}"


def _siblings(schema: type[BaseModel], loc: tuple) -> list[str]:
    """Field names next to the unknown key at ``loc``, for the did-you-mean."""
    model: type[BaseModel] | None = schema
    for item in loc[:-1]:
        if isinstance(item, int) or model is None:
            continue
        if item in _MODEL_TAGS:
            model = _MODEL_TAGS[item]
            continue
        field = model.model_fields.get(str(item))
        model = _submodel(field.annotation) if field else None
    return [name for name in model.model_fields if name != "kind"] if model else []


def _did_you_mean(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _one_of(options) -> str:
    return ", ".join(f"'{o}'" for o in options)


def _show(value: Any) -> str:
    """A value as it would be written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "a table"
    return str(value)
