"""Functions drawn from MLPs with Gaussian weights and biases, and their theoretical spread.

Every weight is N(0, weight_std**2) and every bias N(0, bias_std**2), as in
the lecture (no 1/sqrt(width) scaling, so the output variance grows with
width). Draws use a ``torch.Generator`` seeded from the run's seed:
``torch.randn`` is several times faster than NumPy's legacy generator for
wide networks. The theory they are compared with, :func:`prior_variance`,
lives with the schema (no torch), so an analysis of stored draws can use it.
"""

from __future__ import annotations

import numpy as np
import torch

from ..threads import torch_threads
from .prior_sampling import PriorMLPSpec, PriorOutcome, PriorStudyFile, SamplingSpec, exact_recursion, prior_variance

__all__ = ["draw_prior", "prior_variance", "sample", "sample_at_points", "sample_functions"]

_ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda z: z}


def sample_functions(model: PriorMLPSpec, x: np.ndarray, draws: int, generator: torch.Generator) -> np.ndarray:
    """Draw ``draws`` networks and evaluate each at ``x``; returns [draws, len(x)] float64."""
    activation = _ACTIVATIONS[model.activation]
    h = torch.from_numpy(np.asarray(x, dtype=np.float32)).view(1, -1, 1).expand(draws, -1, -1)
    sizes = [1] + [model.width] * model.depth + [1]
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weight = torch.randn(draws, fan_in, fan_out, generator=generator) * model.weight_std
        bias = torch.randn(draws, 1, fan_out, generator=generator) * model.bias_std
        z = torch.baddbmm(bias, h, weight) if fan_in > 1 else torch.addcmul(bias, h, weight)
        h = z if layer == len(sizes) - 2 else activation(z)
    return h[:, :, 0].double().numpy()


def sample_at_points(model: PriorMLPSpec, x: np.ndarray, draws: int, generator: torch.Generator) -> np.ndarray:
    """Like :func:`sample_functions`, but without drawing weight matrices wider than ``len(x)``.

    Given the previous layer's outputs ``h`` at the P points, a layer with
    independent N(0, sw**2) weights and N(0, sb**2) biases gives each unit a
    pre-activation vector over the points that is exactly Gaussian with
    covariance ``sw**2 h h^T + sb**2``. Where the layer has P or more inputs,
    sampling it through that covariance's square root draws P numbers per unit
    instead of fan_in; where it has fewer (the first layer, narrow networks),
    drawing the weights themselves is cheaper. Either way the distribution is
    that of :func:`sample_functions`, at a fraction of the cost for wide layers
    evaluated at a few points.
    """
    activation = _ACTIVATIONS[model.activation]
    points = len(x)
    h = torch.from_numpy(np.asarray(x, dtype=np.float64)).view(1, -1, 1).expand(draws, -1, -1)
    sizes = [1] + [model.width] * model.depth + [1]
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if fan_in < points:
            weight = torch.randn(draws, fan_in, fan_out, generator=generator, dtype=torch.float64) * model.weight_std
            bias = torch.randn(draws, 1, fan_out, generator=generator, dtype=torch.float64) * model.bias_std
            z = bias + h * weight if fan_in == 1 else torch.baddbmm(bias, h, weight)
        else:
            covariance = model.weight_std ** 2 * h @ h.transpose(1, 2) + model.bias_std ** 2
            eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
            root = eigenvectors * eigenvalues.clamp(min=0).sqrt().unsqueeze(1)
            noise = torch.randn(draws, points, fan_out, generator=generator, dtype=torch.float64)
            z = root @ noise
        h = z if layer == len(sizes) - 2 else activation(z)
    return h[:, :, 0].numpy()


def sample(config: PriorStudyFile, seed: int) -> PriorOutcome:
    """One prior configuration's draws, where the executor placed it, on one torch thread."""
    with torch_threads(1):
        return draw_prior(config.model, config.sampling, seed)


def draw_prior(model: PriorMLPSpec, sampling: SamplingSpec, seed: int) -> PriorOutcome:
    """The figure's draws on the grid and the measured and predicted spread of f(x)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        x = np.linspace(sampling.domain[0], sampling.domain[1], sampling.points)
        curves = sample_functions(model, x, sampling.draws, generator)
        spread_x = np.linspace(sampling.domain[0], sampling.domain[1], sampling.spread_points)
        values = sample_at_points(model, spread_x, sampling.spread_draws_at(model.width), generator)
    terms = np.mean((values - values.mean(axis=0)) ** 2, axis=1)
    return PriorOutcome(status="ok", x=x, curves=curves, spread_x=spread_x, measured_std=values.std(axis=0, ddof=1),
                        spread_terms=terms, theory_std=np.sqrt(prior_variance(model, spread_x)),
                        exact=exact_recursion(model.activation, model.depth))
