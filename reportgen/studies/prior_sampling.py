"""The prior-sampling kind's definition schema, its outcome, and the theory the draws are checked against: the
variance of f(x) layer by layer (no torch: cached builds never import it; the sampling itself is in
:mod:`reportgen.studies.prior_draws`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator

from ..outcomes import stored
from ..schema import FLOAT32, FLOAT64, MLPSpec, NonNegativeFloat, PositiveFloat, Strict, StudyFields, _check_interval


class PriorMLPSpec(MLPSpec):
    """An MLP whose weights and biases are drawn from zero-mean Gaussians."""

    weight_std: PositiveFloat = 5.0
    """Standard deviation of every weight (the lecture's sw)."""
    bias_std: NonNegativeFloat = 5.0
    """Standard deviation of every bias (the lecture's sb)."""




class SamplingSpec(Strict):
    """How functions are drawn from the prior and where they are evaluated."""

    draws: Annotated[int, Field(ge=1, le=1000)] = 10
    """Functions drawn for the figure."""
    spread_draws: Annotated[int, Field(ge=2, le=100_000)] = 100
    """Functions drawn to measure the spread of f(x) (at every width; more for narrow networks with
    ``spread_units``)."""
    spread_units: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    """Hidden units per layer drawn in all to measure the spread: a network of width N draws
    ``max(spread_draws, spread_units // N)`` functions. Narrow networks, whose f(x) is heavy-tailed, then get more
    draws for the cost of a wide one (a draw costs about its width). 0 draws ``spread_draws`` at every width."""
    spread_points: Annotated[int, Field(ge=1, le=1000)] = 11
    """Grid points at which the spread is measured."""
    domain: tuple[float, float] = (-5.0, 5.0)
    points: Annotated[int, Field(ge=2, le=100_000)] = 200

    _interval = field_validator("domain")(_check_interval)

    def spread_draws_at(self, width: int) -> int:
        """Functions drawn to measure the spread of a network ``width`` units wide."""
        return max(self.spread_draws, self.spread_units // width)




class PriorStudyFile(StudyFields):
    """Schema of a prior-sampling study file."""

    kind: Literal["prior"]
    model: PriorMLPSpec
    sampling: SamplingSpec = SamplingSpec()

    def memory_estimate(self) -> int:
        """Bytes one configuration holds while it is sampled (its widest layer, at the draws and the spread)."""
        s, width = self.sampling, self.model.width
        # The figure's draws materialise each weight matrix; the spread works on covariances over its points.
        draws = s.draws * (width * width + 3 * s.points * width) * FLOAT32
        spread = s.spread_draws_at(width) * (3 * s.spread_points ** 2 + 2 * s.spread_points * width) * FLOAT64
        return draws + spread


@stored
@dataclass(frozen=True)
class PriorOutcome:
    """Functions sampled from one prior network configuration."""

    status: str
    """Always ``"ok"``: sampling has nothing to diverge."""
    x: np.ndarray
    """Grid of the drawn curves."""
    curves: np.ndarray
    """[draws, points] values of f(x) for the figure."""
    spread_x: np.ndarray
    """Points where the spread is measured."""
    measured_std: np.ndarray
    """Sample standard deviation of f(x) over the spread's draws (``spread_draws_at(width)``), at each of
    ``spread_x``."""
    theory_std: np.ndarray
    """Predicted standard deviation at each of ``spread_x`` (:func:`prior_variance`)."""
    exact: bool
    """True when the prediction is exact at this width and depth (:func:`exact_recursion`)."""
    spread_terms: np.ndarray | None = None
    """Per spread draw, its squared deviation from the mean over draws, averaged over ``spread_x``: the mean
    of ``measured_std ** 2`` over ``spread_x`` is their sum over (draws - 1), so their scatter gives its interval
    (None: not kept, and the spread has no interval)."""


# ------------------------------------------------------------------------------------------------- the theory

SCALE_FREE = {"relu": 0.5, "identity": 1.0}
"""Activations whose E[g(z)**2] is a fixed fraction of E[z**2] for every z symmetric about 0, Gaussian or not
(half of a symmetric z's square lies on each side of 0, and relu keeps one side)."""

_BOUNDED = {"tanh": np.tanh, "sigmoid": lambda z: 0.5 * (1 + np.tanh(z / 2))}


def prior_variance(model: PriorMLPSpec, x: np.ndarray) -> np.ndarray:
    """Variance of f(x) under the prior, by the recursion the report states.

    The first hidden layer's pre-activation has variance ``q1 = sb**2 + sw**2 x**2``; each further layer, and
    the output, has variance ``sb**2 + width * sw**2 * E[g(z)**2]``, z the previous pre-activation. Every
    pre-activation is symmetric about 0 (a sum of terms with independent zero-mean Gaussian factors), and its
    second moment is exactly ``sb**2 + width * sw**2 * E[g(z)**2]`` at any width. The recursion is therefore
    exact wherever ``E[g(z)**2]`` follows from the variance of z alone: for one hidden layer (z is Gaussian) and,
    at every depth and width, for relu and the identity (:data:`SCALE_FREE`). For a bounded activation behind
    another layer, z is Gaussian only in the limit of infinite width, which the recursion then gives.
    """
    sw2, sb2 = model.weight_std ** 2, model.bias_std ** 2
    q = sb2 + sw2 * np.asarray(x, dtype=np.float64) ** 2
    for _ in range(model.depth):
        q = sb2 + model.width * sw2 * second_moment(model.activation, q)
    return q


def exact_recursion(activation: str, depth: int) -> bool:
    """Whether :func:`prior_variance` is exact at every width for this activation and depth."""
    return depth == 1 or activation in SCALE_FREE


def second_moment(activation: str, variance: np.ndarray) -> np.ndarray:
    """E[g(z)**2] for z ~ N(0, variance): a fixed fraction of the variance for relu and the identity, otherwise
    by the trapezoid rule on a grid fine on both scales, the Gaussian's and the activation's (Gauss-Hermite
    nodes are too far apart to see a bounded activation turn when the variance is large: 3 % off at 650)."""
    variance = np.asarray(variance, dtype=np.float64)
    if activation in SCALE_FREE:
        return SCALE_FREE[activation] * variance
    g = _BOUNDED[activation]
    degenerate = variance <= 0  # z = 0 for certain (no bias, x = 0)
    sigma = np.sqrt(np.where(degenerate, 1.0, variance))[..., None]
    gaussian_scale = sigma * np.linspace(-12.0, 12.0, 2401)
    activation_scale = np.broadcast_to(np.linspace(-40.0, 40.0, 3201), gaussian_scale.shape[:-1] + (3201,))
    z = np.sort(np.concatenate([gaussian_scale, activation_scale], axis=-1), axis=-1)
    density = np.exp(-0.5 * (z / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    return np.where(degenerate, g(0.0) ** 2, np.trapezoid(g(z) ** 2 * density, z, axis=-1))


def log_slope(widths, spreads) -> float:
    """Least-squares slope of log(spread) against log(width): the exponent of a power law through the points."""
    w, s = np.log(np.asarray(widths, dtype=np.float64)), np.log(np.asarray(spreads, dtype=np.float64))
    w = w - w.mean()
    return float(np.dot(w, s) / np.dot(w, w))


def predicted_slope(model: PriorMLPSpec, x: np.ndarray, widths) -> float:
    """The slope :func:`log_slope` of the predicted spread (root mean square of :func:`prior_variance` over x)
    against width, for ``model`` at each of ``widths``."""
    spreads = [np.sqrt(np.mean(prior_variance(model.model_copy(update={"width": w}), x))) for w in widths]
    return log_slope(widths, spreads)
