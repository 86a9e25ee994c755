"""The lecture's way of training: one ``nn.Module`` and one ``torch.optim.Adam`` per run.

Not used by builds. Tests compare the sweep trainer with it, and the
benchmark times it as the baseline.
"""

from __future__ import annotations

import numpy as np
import torch

from .schema import MLPSpec, PolynomialSpec
from .train import RegressionJob, initial_parameters, polynomial_features

_ACTIVATION_MODULES = {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU,
                       "identity": torch.nn.Identity}


class PolynomialRegressor(torch.nn.Module):
    """The lecture's ``LinearRegressor``: polynomial features and one linear layer."""

    def __init__(self, degree: int):
        super().__init__()
        self.degree = degree
        self.linear = torch.nn.Linear(degree, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the polynomial at a column of inputs."""
        return self.linear(polynomial_features(x, self.degree))


class MLP(torch.nn.Module):
    """The lecture's MLP: ``depth`` hidden layers of ``width`` units and a linear output."""

    def __init__(self, width: int, depth: int, activation: str):
        super().__init__()
        sizes = [1] + [width] * depth
        self.hidden = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.output = torch.nn.Linear(width, 1)
        self.activation = _ACTIVATION_MODULES[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the network at a column of inputs."""
        for layer in self.hidden:
            x = self.activation(layer(x))
        return self.output(x)


_MODULES = {
    "polynomial": lambda model: PolynomialRegressor(model.degree),
    "mlp": lambda model: MLP(model.width, model.depth, model.activation),
}
"""The lecture's module for a model spec, by its ``kind`` tag (the key the trainer finds model kinds by)."""


def build_module(model: PolynomialSpec | MLPSpec, seed: int) -> torch.nn.Module:
    """The lecture's module for ``model``, holding the sweep trainer's initial weights for ``seed``."""
    module = _MODULES[model.kind](model)
    with torch.no_grad():
        for param, value in zip(module.parameters(), initial_parameters(model, seed)):
            param.copy_(value.view_as(param))
    return module


def train_alone(job: RegressionJob, steps: int | None = None) -> tuple[np.ndarray, torch.nn.Module]:
    """Train one run as the lecture does; return the loss before each step and the module."""
    module = build_module(job.model, job.seed)
    x = torch.from_numpy(job.x_train.astype("float32")).unsqueeze(1)
    y = torch.from_numpy(job.y_train.astype("float32")).unsqueeze(1)
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.Adam(module.parameters(), lr=job.train.lr, betas=job.train.betas,
                                 eps=job.train.eps, weight_decay=job.train.weight_decay)
    losses = np.zeros(steps if steps is not None else job.train.steps, dtype=np.float32)
    for k in range(len(losses)):
        optimizer.zero_grad()
        loss = criterion(y, module(x))
        loss.backward()
        optimizer.step()
        losses[k] = loss.item()
    return losses, module
