"""What a model starts from: the lecture's initial weights and polynomial features."""

from __future__ import annotations

import math

import torch

from ..schema import MLPSpec, PolynomialSpec


def initial_parameters(model: PolynomialSpec | MLPSpec, seed: int) -> list[torch.Tensor]:
    """The default ``nn.Linear`` initialisation, drawn from a generator seeded with ``seed``.

    Tensors come in ``nn.Module.parameters()`` order (weight, bias per layer),
    so ``torch.manual_seed(seed)`` followed by building the lecture's module
    gives the same values.
    """
    generator = torch.Generator().manual_seed(seed)
    tensors = []
    for fan_in, fan_out in layer_shapes(model):
        weight = torch.empty(fan_out, fan_in)
        torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        bias = torch.empty(fan_out)
        bound = 1 / math.sqrt(fan_in)
        torch.nn.init.uniform_(bias, -bound, bound, generator=generator)
        tensors += [weight, bias]
    return tensors


def layer_shapes(model: PolynomialSpec | MLPSpec) -> list[tuple[int, int]]:
    """(fan_in, fan_out) of each linear layer, input to output."""
    return model.layer_shapes()


def polynomial_features(x: torch.Tensor, degree: int) -> torch.Tensor:
    """Columns x, x**2, ..., x**degree of a float32 column vector, as the lecture computes them."""
    return torch.stack([x[:, 0] ** (k + 1) for k in range(degree)], dim=1)
