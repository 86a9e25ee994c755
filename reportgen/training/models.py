"""The kinds of model the trainer knows: one object each, registered by the tag in the spec's ``kind``.

A kind answers every question the trainer has about its models: how runs
are grouped, padded and priced, and which torch program and kernel entry
points train them. Nothing else in the trainer tells models apart.

Why the fixed chunk width and the per-run padding buckets of the torch
backend: the float32 GEMM kernels choose their blocking from the matrix
shape, so a column's bits would depend on how many other runs share the
matrix. With shapes that depend only on the run itself (its bucket) and a
constant number of columns, a run's result is the same whatever else is
trained beside it, and a build that retrains only changed runs reproduces a
cold build.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Callable, ClassVar

from ..outcomes import RegressionOutcome
from ..schema import MLPSpec, PolynomialSpec
from . import kernel_backend, torch_backend
from .job import RegressionJob

POLY_CHUNK = {16: 256, 128: 128}
"""Runs per chunk for each polynomial feature bucket (other buckets: 64); unused slots hold inert dummies."""
MLP_CHUNK = 32
"""Runs per chunk for MLPs."""


class ModelKind(ABC):
    """What the trainer asks of one kind of model, answered from a model spec of that kind."""

    name: ClassVar[str]
    """The spec's ``kind`` tag, under which the kind is registered."""
    kernel_calls: ClassVar[type[kernel_backend.KernelCalls]]
    """The C kernel's entry points for a chunk of this kind."""

    @abstractmethod
    def chunk_size(self, model) -> int:
        """Runs per torch chunk: a function of the run's own shape, never of the other runs."""

    @abstractmethod
    def shape_key(self, model) -> tuple:
        """What runs must have in common to share one padded torch program."""

    def kernel_key(self, model) -> tuple:
        """What runs must have in common to share one kernel call."""
        return (self.name,)

    @abstractmethod
    def step_cost(self, model) -> int:
        """Relative cost of one step of a torch chunk of runs shaped like ``model``."""

    @abstractmethod
    def kernel_cost(self, model) -> int:
        """Relative cost of one C-kernel step of ``model``: its products, activations and fixed overhead."""

    @abstractmethod
    def train_torch(self, jobs: list[RegressionJob], report: Callable[[int], None]) -> list[RegressionOutcome]:
        """Train one chunk of a single shape key with the padded torch program."""


class PolynomialKind(ModelKind):
    """Polynomials: one linear layer on the powers of x, padded to a bucket of features."""

    name = "polynomial"
    kernel_calls = kernel_backend.PolynomialCalls

    def chunk_size(self, model: PolynomialSpec) -> int:
        """Runs per torch chunk: fewer for the wider feature buckets."""
        return POLY_CHUNK.get(degree_bucket(model.degree), 64)

    def shape_key(self, model: PolynomialSpec) -> tuple:
        """Runs of one degree bucket share a program."""
        return (self.name, degree_bucket(model.degree))

    def step_cost(self, model: PolynomialSpec) -> int:
        """Padded coefficients times runs per chunk."""
        return (degree_bucket(model.degree) + 1) * self.chunk_size(model)

    def kernel_cost(self, model: PolynomialSpec) -> int:
        """Its coefficients and a fixed overhead."""
        return model.degree + 20

    def train_torch(self, jobs: list[RegressionJob], report: Callable[[int], None]) -> list[RegressionOutcome]:
        """Train the chunk as one matrix program over the bucket's features."""
        model = jobs[0].model
        return torch_backend.train_polynomials(jobs, report, degree_bucket(model.degree), self.chunk_size(model))


class MLPKind(ModelKind):
    """Fully connected networks, padded to a bucket of hidden widths."""

    name = "mlp"
    kernel_calls = kernel_backend.MLPCalls

    def chunk_size(self, model: MLPSpec) -> int:
        """Runs per torch chunk: the same for every shape."""
        return MLP_CHUNK

    def shape_key(self, model: MLPSpec) -> tuple:
        """Runs of one width bucket, depth and activation share a program."""
        return (self.name, width_bucket(model.width), model.depth, model.activation)

    def kernel_key(self, model: MLPSpec) -> tuple:
        """Runs of one activation share a kernel call."""
        return (self.name, model.activation)

    def step_cost(self, model: MLPSpec) -> int:
        """Padded hidden products times runs per chunk."""
        return width_bucket(model.width) ** 2 * model.depth * self.chunk_size(model)

    def kernel_cost(self, model: MLPSpec) -> int:
        """Its hidden products, activations and a fixed overhead."""
        return model.width * model.width * (model.depth - 1) + 8 * model.width * model.depth + 40

    def train_torch(self, jobs: list[RegressionJob], report: Callable[[int], None]) -> list[RegressionOutcome]:
        """Train the chunk as one batched program over the bucket's width."""
        model = jobs[0].model
        return torch_backend.train_mlps(jobs, report, width_bucket(model.width), self.chunk_size(model))


MODEL_KINDS: dict[str, ModelKind] = {kind.name: kind for kind in (PolynomialKind(), MLPKind())}
"""Every model kind the trainer knows, by its spec's ``kind`` tag."""


def kind_of(model: PolynomialSpec | MLPSpec) -> ModelKind:
    """The registered kind of ``model``: the one place the trainer tells kinds of model apart."""
    return MODEL_KINDS[model.kind]


def chunk_size(model: PolynomialSpec | MLPSpec) -> int:
    """Runs per torch chunk: a function of the run's own shape, never of the other runs."""
    return kind_of(model).chunk_size(model)


def degree_bucket(degree: int) -> int:
    """Padded number of polynomial features: a function of the degree alone."""
    return 16 if degree <= 16 else 128 * math.ceil(degree / 128)


def width_bucket(width: int) -> int:
    """Padded hidden width: a function of the width alone."""
    return 8 if width <= 8 else 32 if width <= 32 else 32 * math.ceil(width / 32)
