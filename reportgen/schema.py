"""The schemas of definition files: strict, closed, frozen pydantic models.

Every field has the lecture's value as its default. :mod:`reportgen.spec`
reads the files, validates them against these models and turns pydantic's
errors into one clear line each.
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .expr import ExpressionError, parse_expression
from .messages import show

STUDY_KINDS = ("overfitting", "regularization", "prior", "capacity")

NonNegativeInt = Annotated[int, Field(ge=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


class _Frozen(BaseModel):
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


class DataSpec(_Frozen):
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


class CourseFile(_Frozen):
    """Schema of ``course.toml``."""

    title: Annotated[str, Field(min_length=1)]
    subtitle: str = ""
    authors: tuple[str, ...] = ()
    date: str | _dt.date | None = None
    studies: tuple[str, ...] | None = None
    audience: Literal["student", "instructor", "all"] = "instructor"
    templates: str | None = None
    """A folder of the course's own templates, relative to the definitions folder."""
    profiles: dict[str, dict[str, Any]] = {}
    """Named sets of overrides, e.g. ``[profiles.quick]`` with ``"train.steps" = 500``."""

    @field_validator("date", mode="before")
    @classmethod
    def _date_or_text(cls, value: Any) -> Any:
        # Checked by hand: pydantic would report the union as one error per member (date.str, date.date).
        # A TOML date-time is a datetime, a date subclass, yet not what the title page wants.
        if value is None or isinstance(value, str) or (type(value) is _dt.date):
            return value
        raise ValueError(f"expected a date such as 2026-11-29 or a string, got {show(value)}")
