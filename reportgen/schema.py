"""The schemas of definition files: strict, closed, frozen pydantic models.

Every field has the lecture's value as its default. :mod:`reportgen.spec`
reads the files, validates them against these models and turns pydantic's
errors into one clear line each.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, field_validator, model_validator

from .expr import ExpressionError, parse_expression
from .language import LANGUAGES, Text, parse_text
from .messages import show
from .outputs import AUDIENCES

LocalText = Annotated[Text, PlainValidator(parse_text), PlainSerializer(Text.as_data)]
"""Text in one or more languages: ``"…"`` or ``{en = "…", es = "…"}``."""
RequiredText = Annotated[Text, PlainValidator(lambda value: parse_text(value, required=True)),
                         PlainSerializer(Text.as_data)]
"""Like :data:`LocalText`, never empty."""
LanguageCode = Literal[tuple(LANGUAGES)]  # type: ignore[valid-type]

NonNegativeInt = Annotated[int, Field(ge=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


class Strict(BaseModel):
    """Strict, immutable, closed: TOML values are never coerced and unknown keys are errors."""

    # TOML spells inf and nan; neither is a usable learning rate, noise level or domain bound.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class _At(ValueError):
    """A cross-field check's failure, pinned to the key (and index) below the model that it is about.

    pydantic reports a model validator's error at the model itself (``data``); ``_problem`` appends
    ``loc`` so the user reads ``data.removed[2]`` instead.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.loc = loc


def _check_interval(value: tuple[float, float]) -> tuple[float, float]:
    """Refuse an interval whose low end is not below its high end."""
    if not value[0] < value[1]:
        raise ValueError(f"expected [low, high] with low < high, got [{value[0]}, {value[1]}]")
    return value


class DataSpec(Strict):
    """The synthetic regression data set; the defaults are the lecture's recipe."""

    target: str = "x * sin(10 * x)"
    """Noiseless target f(x), a safe expression in x."""
    points: Annotated[int, Field(ge=2, le=100_000)] = 20
    """Number of equally spaced x values on ``domain`` before removal."""
    domain: tuple[float, float] = (0.0, 1.0)
    """Interval of the training inputs."""
    removed: tuple[NonNegativeInt, ...] = (9, 10, 11, 12, 13)
    """Indices deleted from the grid, leaving a gap in the data."""
    noise: NonNegativeFloat = 0.1
    """Standard deviation of the Gaussian noise added to the targets."""
    seed: NonNegativeInt = 0
    """Seed of NumPy's legacy global generator for the noise."""
    test_points: Annotated[int, Field(ge=2, le=100_000)] = 200
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
            raise ValueError(f"expected a safe expression in x, got {show(value)}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _removed_in_range(self) -> "DataSpec":
        seen: set[int] = set()
        for i, index in enumerate(self.removed):
            if index >= self.points:
                raise _At(("removed", i), f"expected an index below points = {self.points}, got {index}")
            if index in seen:
                raise _At(("removed", i), f"expected distinct indices, got {index} again")
            seen.add(index)
        if len(self.removed) >= self.points:
            raise _At(("removed",), f"expected at least one of the {self.points} points to remain, got all removed")
        return self

    @model_validator(mode="after")
    def _target_finite(self) -> "DataSpec":
        # NaN or inf where the target is sampled would silently poison the fit or the figures.
        target = parse_expression(self.target)
        train = np.delete(np.linspace(self.domain[0], self.domain[1], num=self.points), list(self.removed))
        test = np.linspace(self.test_domain[0], self.test_domain[1], num=self.test_points)
        for where, x in (("training point", train), ("point of test_domain", test)):
            y = target(x)
            bad = np.flatnonzero(~np.isfinite(y))
            if bad.size:
                raise _At(("target",), f"expected a finite value at every {where}, "
                                       f"got {y[bad[0]]} at x = {x[bad[0]]:g}")
        return self


class PolynomialSpec(Strict):
    """A polynomial of the given degree with a bias, fitted as a linear model."""

    kind: Literal["polynomial"]
    degree: Annotated[int, Field(ge=1, le=400)] = 10
    """Highest power of x; the model has degree + 1 coefficients."""

    def layer_shapes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of the one linear layer: the powers of x in, the fit out."""
        return [(self.degree, 1)]

    def widest_activation(self) -> int:
        """Values per input point the forward pass holds at once (the features)."""
        return self.degree


class MLPSpec(Strict):
    """A fully connected network with ``depth`` hidden layers of ``width`` units."""

    kind: Literal["mlp"]
    width: Annotated[int, Field(ge=1, le=100_000)] = 10
    """Units in every hidden layer."""
    depth: Annotated[int, Field(ge=1, le=10)] = 1
    """Number of hidden layers."""
    activation: Literal["tanh", "sigmoid", "relu", "identity"] = "tanh"
    """Activation of the hidden layers; the output layer is linear."""

    def layer_shapes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of each linear layer, input to output."""
        sizes = [1] + [self.width] * self.depth + [1]
        return list(zip(sizes[:-1], sizes[1:]))

    def widest_activation(self) -> int:
        """Values per input point the forward pass holds at once (every hidden layer, kept for the backward pass)."""
        return self.width * self.depth


class TrainSpec(Strict):
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


class StudyFields(Strict):
    """The fields every study file has, whatever its kind; a kind's schema extends it."""

    kind: str
    title: RequiredText
    summary: LocalText = Text.of("")
    activities: tuple[RequiredText, ...] = ()
    """The course's own activities, asked after those of the study's template."""

    def memory_estimate(self) -> int:
        """Bytes one run of this configuration holds while it is computed; a kind overrides it to be bounded by
        ``max_memory_mb`` (counted for every run together when the kind is batched)."""
        return 0


def parameter_count(model: PolynomialSpec | MLPSpec) -> int:
    """Weights and biases of ``model``."""
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in model.layer_shapes())


FLOAT32 = 4
FLOAT64 = 8


class RegressionStudyFile(StudyFields):
    """The fields of a study that trains a regression model on the lecture's data; kinds narrow ``kind`` and
    ``model``."""

    data: DataSpec = DataSpec()
    model: Annotated[Union[PolynomialSpec, MLPSpec], Field(discriminator="kind")]
    train: TrainSpec = TrainSpec()

    def memory_estimate(self) -> int:
        """Bytes one run holds while it trains: parameters with Adam's state, and activations on both grids."""
        # Parameters, gradient, Adam's two moments and one temporary; a forward and a backward copy per point.
        state = 5 * parameter_count(self.model) * FLOAT32
        points = self.data.points + self.data.test_points
        return state + 2 * points * self.model.widest_activation() * FLOAT32


_MODEL_TAGS: dict[str, type[BaseModel]] = {"polynomial": PolynomialSpec, "mlp": MLPSpec}
"""Model specs by their ``kind`` tag, as pydantic names the members of a model union in its error locations."""


class CourseFile(Strict):
    """Schema of ``course.toml``."""

    title: RequiredText
    subtitle: LocalText = Text.of("")
    authors: tuple[RequiredText, ...] = ()
    language: LanguageCode | None = None
    """The course's language: its editions get the plain file names (report.html); the default set built."""
    languages: tuple[LanguageCode, ...] | None = None
    """The languages a build writes by default, the course's own first."""
    date: str | _dt.date | None = None
    studies: tuple[str, ...] | None = None
    audience: Literal[tuple(AUDIENCES)] = "instructor"  # type: ignore[valid-type]
    templates: str | None = None
    """A folder of the course's own templates, relative to the definitions folder."""
    profiles: dict[str, dict[str, Any]] = {}
    """Named sets of overrides, e.g. ``[profiles.quick]`` with ``"train.steps" = 500``."""
    max_runs: Annotated[int, Field(ge=1)] | None = None
    """Most runs one study may expand to (see :mod:`reportgen.limits`)."""
    max_memory_mb: Annotated[int, Field(ge=1)] | None = None
    """Most memory one study's computation may be estimated to need, in MB."""
    max_file_kb: Annotated[int, Field(ge=1)] | None = None
    """Largest definition file read, in KB."""

    @field_validator("templates")
    @classmethod
    def _inside_course(cls, value: str | None) -> str | None:
        # A course folder travels: its templates must travel with it, not point elsewhere on the machine.
        if value is not None and (PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute()
                                  or ".." in PurePosixPath(value.replace("\\", "/")).parts):
            raise ValueError(f"expected a folder inside the course folder, got {show(value)} "
                             "(name another folder with --templates)")
        return value

    @model_validator(mode="after")
    def _one_language_setting(self) -> "CourseFile":
        if self.language is not None and self.languages is not None:
            raise _At(("languages",), "give either language or languages, not both")
        if self.languages is not None and (not self.languages or len(set(self.languages)) != len(self.languages)):
            raise _At(("languages",), f"expected distinct languages, one or more, got {show(list(self.languages))}")
        return self

    @property
    def chosen_languages(self) -> tuple[str, ...]:
        """The languages a build writes when none are asked for, the course's own first."""
        return self.languages or (self.language or "en",)

    @field_validator("date", mode="before")
    @classmethod
    def _date_or_text(cls, value: Any) -> Any:
        # Checked by hand: pydantic would report the union as one error per member (date.str, date.date).
        # A TOML date-time is a datetime, a date subclass, yet not what the title page wants.
        if value is None or isinstance(value, str) or (type(value) is _dt.date):
            return value
        raise ValueError(f"expected a date such as 2026-11-29 or a string, got {show(value)}")
