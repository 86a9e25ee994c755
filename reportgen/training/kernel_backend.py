"""Training a chunk with the C kernel (``native.py``, ``kernels/``): the usual path when a compiler is at hand.

A whole chunk's forward and backward pass is one call, computed run by
run, so a chunk may mix degrees, widths and depths, and chunks are simply
the ``workers`` shares of the runs. Adam is two more calls around torch's
own square root, rounding as torch's CPU kernels round (fused
multiply-adds where torch fuses them), so it stays bit-identical to
``torch.optim.Adam``. Each run's parameters are padded to a multiple of
``SEGMENT`` floats, so that torch's sqrt handles every entry in its
vectorized loop wherever the run sits.
"""

from __future__ import annotations

import ctypes
import functools
import math
import platform
from typing import Callable

import numpy as np
import torch

from .. import native
from ..outcomes import RegressionOutcome
from ..schema import parameter_count
from .adam import BatchedAdam, initial_moments
from .job import REPORT_EVERY, RegressionJob, collect
from .parameters import initial_parameters, polynomial_features

SEGMENT = 32
"""Floats each run's parameters are padded to (C kernel): whole AVX-512 vector pairs, so no scalar tails."""


def train_with_kernel(jobs: list[RegressionJob], report: Callable[[int], None], library,
                      calls_class: type[KernelCalls]) -> list[RegressionOutcome]:
    """Flat layout: run r's parameters in ``nn.Module.parameters()`` order at ``starts[r]``, padded to SEGMENT."""
    sizes = [parameter_count(job.model) for job in jobs]
    starts = np.cumsum([0] + [SEGMENT * math.ceil(size / SEGMENT) for size in sizes])
    params, mask, decay = (torch.zeros(int(starts[-1])) for _ in range(3))
    for job, start, size in zip(jobs, starts, sizes):
        params[start:start + size] = torch.cat([t.reshape(-1) for t in initial_parameters(job.model, job.seed)])
        mask[start:start + size] = 1
        decay[start:start + size] = job.train.weight_decay
    steps, lr, betas, eps = jobs[0].train.steps, jobs[0].train.lr, jobs[0].train.betas, jobs[0].train.eps
    fused = torch_fuses_multiply_adds()
    grads = torch.zeros_like(params)
    if fused is not None and library.adam_available(fused):
        adam = KernelAdam(library, fused, params, grads, mask, decay, lr, betas, eps, steps)
    else:
        adam = BatchedAdam(params, mask, torch.tensor([lr], dtype=torch.float64), decay, betas, eps, steps,
                           shared_lr=lr)
    losses = torch.empty(steps, len(jobs))
    targets = np.ascontiguousarray(np.stack([job.y_train for job in jobs]), dtype=np.float32)
    offsets = np.array(starts[:-1], dtype=np.dtype(f"i{ctypes.sizeof(ctypes.c_long)}"))
    calls = calls_class(library, jobs, offsets, targets, params, grads)

    row, row_bytes = losses.data_ptr(), losses.stride(0) * losses.element_size()
    checkpoints, snapshots = set(jobs[0].checkpoints), []
    for k in range(steps):
        calls.gradients(row + k * row_bytes)
        adam.step(grads, k)
        if k + 1 in checkpoints:
            snapshots.append(calls.predict(jobs[0].x_test))
        if (k + 1) % REPORT_EVERY == 0 or k + 1 == steps:
            report((k % REPORT_EVERY) + 1)

    flat = [params[start:start + size] for start, size in zip(starts, sizes)]
    return collect(jobs, losses, calls.predict(jobs[0].x_train), torch.from_numpy(targets),
                   calls.predict(jobs[0].x_test), flat, snapshots)


def torch_fuses_multiply_adds() -> bool | None:
    """Whether torch's CPU kernels round Adam's multiply-adds once (AVX2, AVX-512) or twice (baseline x86-64).

    None where the kernel's Adam does not know torch's rounding (other architectures): Adam then runs as
    torch operations.
    """
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    return {"AVX2": True, "AVX512": True, "DEFAULT": False}.get(torch.backends.cpu.get_cpu_capability())


class KernelAdam:
    """``torch.optim.Adam`` (default implementation) on the flat parameters: two C calls and torch's sqrt.

    The kernel's ``adam_moments`` and ``adam_update`` reproduce the rounding of torch's own CPU kernels
    (``fused`` says which), and the square root is torch's, so the update is bit for bit that of
    ``torch.optim.Adam``. The step scalars are computed here exactly as torch computes them.
    """

    def __init__(self, library, fused: bool, params: torch.Tensor, grad: torch.Tensor, mask: torch.Tensor,
                 decay: torch.Tensor, lr: float, betas: tuple[float, float], eps: float, steps: int):
        self.params, self.grad, self.decay = params, grad, decay
        self.exp_avg, self.exp_avg_sq = initial_moments(params, mask)
        self.root = torch.empty_like(params)
        beta1, beta2 = betas
        self._moments = functools.partial(
            library.adam_moments, fused, params.numel(), params.data_ptr(), grad.data_ptr(), self.exp_avg.data_ptr(),
            self.exp_avg_sq.data_ptr(), decay.data_ptr(), 1 - beta1, beta2, 1 - beta2)
        self._updates = [functools.partial(
            library.adam_update, params.numel(), params.data_ptr(), self.exp_avg.data_ptr(), self.root.data_ptr(),
            (1 - beta2 ** k) ** 0.5, eps, -(lr / (1 - beta1 ** k))) for k in range(1, steps + 1)]

    def step(self, grad: torch.Tensor, k: int) -> None:
        """Apply update number ``k`` (from 0) given this step's gradient, in the tensor given at construction."""
        if grad is not self.grad or self._moments() != 0:
            raise RuntimeError("the kernel's Adam is unavailable on this CPU")
        torch.sqrt(self.exp_avg_sq, out=self.root)
        self._updates[k]()


class KernelCalls:
    """The kernel's entry points bound to one chunk; holds every array the kernel reads while it runs."""

    _gradients: Callable[[int], int]

    def gradients(self, losses: int) -> None:
        """Write every run's gradient, and its loss at address ``losses`` onwards."""
        if self._gradients(losses) != 0:
            raise MemoryError("the gradient kernel could not allocate its scratch memory")


class MLPCalls(KernelCalls):
    """MLP gradients and predictions."""

    def __init__(self, library, jobs, offsets, targets, params, grads):
        self.library, self.arrays = library, (offsets, targets)
        self.widths = np.array([job.model.width for job in jobs], dtype=np.intc)
        self.depths = np.array([job.model.depth for job in jobs], dtype=np.intc)
        self.x = np.ascontiguousarray(jobs[0].x_train, dtype=np.float32)
        self.shape = (len(jobs), self.widths.ctypes.data, self.depths.ctypes.data, offsets.ctypes.data,
                      native.ACTIVATIONS[jobs[0].model.activation])
        self.params = params
        self._gradients = functools.partial(library.mlp_gradients, *self.shape, len(self.x), self.x.ctypes.data,
                                            targets.ctypes.data, params.data_ptr(), grads.data_ptr())

    def predict(self, inputs: np.ndarray) -> torch.Tensor:
        """Every run's network at ``inputs``: [runs, points]."""
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        out = np.empty((self.shape[0], len(inputs)), dtype=np.float32)
        if self.library.mlp_predict(*self.shape, len(inputs), inputs.ctypes.data, self.params.data_ptr(),
                                    out.ctypes.data) != 0:
            raise MemoryError("the gradient kernel could not allocate its scratch memory")
        return torch.from_numpy(out)


class PolynomialCalls(KernelCalls):
    """Polynomial gradients and predictions, from the chunk's table of features x, x**2, ..."""

    def __init__(self, library, jobs, offsets, targets, params, grads):
        self.library, self.arrays = library, (offsets, targets)
        self.degrees = np.array([job.model.degree for job in jobs], dtype=np.intc)
        self.most = int(self.degrees.max())
        self.features = self._features(jobs[0].x_train)
        self.columns = np.ascontiguousarray(self.features.T)
        self._columns: dict[bytes, np.ndarray] = {}
        self.shape = (len(jobs), self.degrees.ctypes.data, offsets.ctypes.data)
        self.params = params
        self._gradients = functools.partial(
            library.poly_gradients, *self.shape, len(self.features), self.most, self.features.ctypes.data,
            self.columns.ctypes.data, targets.ctypes.data, params.data_ptr(), grads.data_ptr())

    def _features(self, inputs: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.asarray(inputs, dtype=np.float32)).unsqueeze(1)
        return np.ascontiguousarray(polynomial_features(x, self.most).numpy())

    def predict(self, inputs: np.ndarray) -> torch.Tensor:
        """Every run's polynomial at ``inputs``: [runs, points]."""
        key = inputs.tobytes()
        if key not in self._columns:  # snapshots predict on the same grid again and again
            self._columns[key] = np.ascontiguousarray(self._features(inputs).T)
        columns = self._columns[key]
        out = np.empty((self.shape[0], len(inputs)), dtype=np.float32)
        self.library.poly_predict(*self.shape, len(inputs), columns.ctypes.data, self.params.data_ptr(),
                                  out.ctypes.data)
        return torch.from_numpy(out)
