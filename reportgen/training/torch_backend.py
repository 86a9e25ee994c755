"""Training a chunk as padded, batched torch programs: the path when the C kernel cannot be had.

A chunk's parameters are one tensor, with one column (polynomials) or one
batch row (MLPs) per run; learning rates and weight decays are per-run
tensors, and runs of smaller degree or width are zero-padded and masked.
The padded width and the number of runs come from the model kind
(``models``), so that a run's bits never depend on the other runs.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..outcomes import RegressionOutcome
from ..schema import MLPSpec
from .adam import BatchedAdam
from .job import REPORT_EVERY, RegressionJob, collect
from .parameters import initial_parameters, layer_shapes, polynomial_features

# --------------------------------------------------------------------------- polynomials


def train_polynomials(jobs: list[RegressionJob], report: Callable[[int], None], width: int,
                      size: int) -> list[RegressionOutcome]:
    """Parameter-major layout: column r of ``params`` is run r, row 0 its bias, ``width`` features, ``size`` runs."""
    x = torch.from_numpy(jobs[0].x_train.astype(np.float32)).unsqueeze(1)
    x_test = torch.from_numpy(jobs[0].x_test.astype(np.float32)).unsqueeze(1)
    features = _with_bias_column(polynomial_features(x, width))
    test_features = _with_bias_column(polynomial_features(x_test, width))
    # Doubling is exact in floating point: 2 F^T r is the SSE gradient, bit for bit.
    features_t2 = (2 * features).T.contiguous()

    params = torch.zeros(width + 1, size)
    mask = torch.zeros(width + 1, size)
    targets = torch.zeros(len(x), size)
    for r, job in enumerate(jobs):
        weight, bias = initial_parameters(job.model, job.seed)
        degree = job.model.degree
        params[0, r] = bias[0]
        params[1:degree + 1, r] = weight[0]
        mask[: degree + 1, r] = 1
        targets[:, r] = torch.from_numpy(job.y_train.astype(np.float32))
    steps = jobs[0].train.steps
    adam = BatchedAdam(params, mask, *_hyper(jobs, size, (1, size)), jobs[0].train.betas, jobs[0].train.eps,
                       steps, _shared_lr(jobs))

    losses = torch.empty(steps, size)
    residual = torch.empty(len(x), size)
    squares = torch.empty(len(x), size)
    grad = torch.empty_like(params)
    checkpoints, snapshots = set(jobs[0].checkpoints), []
    for k in range(steps):
        torch.mm(features, params, out=residual).sub_(targets)
        torch.sum(torch.mul(residual, residual, out=squares), dim=0, out=losses[k])
        torch.mm(features_t2, residual, out=grad).mul_(mask)
        adam.step(grad, k)
        if k + 1 in checkpoints:
            snapshots.append(torch.mm(test_features, params).T)
        if (k + 1) % REPORT_EVERY == 0 or k + 1 == steps:
            report((k % REPORT_EVERY) + 1)

    train_pred = torch.mm(features, params)
    test_pred = torch.mm(test_features, params)
    flat = [torch.cat([params[1:job.model.degree + 1, r], params[:1, r]]) for r, job in enumerate(jobs)]
    return collect(jobs, losses, train_pred.T, targets.T, test_pred.T, flat, snapshots)


def _with_bias_column(features: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.ones(len(features), 1), features], dim=1).contiguous()


# --------------------------------------------------------------------------- MLPs


_ACTIVATIONS = {
    # (activation, gradient through it given (grad, pre-activation, output)): autograd's own backward kernels.
    "tanh": (torch.tanh, lambda g, z, h: torch.ops.aten.tanh_backward(g, h)),
    "sigmoid": (torch.sigmoid, lambda g, z, h: torch.ops.aten.sigmoid_backward(g, h)),
    "relu": (torch.relu, lambda g, z, h: torch.ops.aten.threshold_backward(g, z, 0)),
    "identity": (lambda z: z, lambda g, z, h: g),
}


class _MLPLayout:
    """Where each layer's weight and bias live in a run's flat parameter row.

    Weights are stored transposed ([fan_in, fan_out]) so that a batch of
    inputs multiplies them directly with ``baddbmm``.
    """

    def __init__(self, width: int, depth: int):
        sizes = [1] + [width] * depth + [1]
        self.shapes = list(zip(sizes[:-1], sizes[1:]))
        self.offsets = []
        offset = 0
        for fan_in, fan_out in self.shapes:
            self.offsets.append((offset, offset + fan_in * fan_out))
            offset += fan_in * fan_out + fan_out
        self.size = offset

    def views(self, flat: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weight [R, fan_in, fan_out], bias [R, 1, fan_out]) views into ``flat`` [R, size]."""
        layers = []
        for (fan_in, fan_out), (w0, b0) in zip(self.shapes, self.offsets):
            weight = flat[:, w0:b0].view(-1, fan_in, fan_out)
            bias = flat[:, b0:b0 + fan_out].view(-1, 1, fan_out)
            layers.append((weight, bias))
        return layers


def train_mlps(jobs: list[RegressionJob], report: Callable[[int], None], width: int,
               size: int) -> list[RegressionOutcome]:
    """Run-major layout: row r of ``params`` is run r, every layer (``width`` wide) packed in one row, ``size`` runs."""
    spec = jobs[0].model
    layout = _MLPLayout(width, spec.depth)
    activation, backward = _ACTIVATIONS[spec.activation]
    x = torch.from_numpy(jobs[0].x_train.astype(np.float32)).view(1, -1, 1).expand(size, -1, -1)
    x_test = torch.from_numpy(jobs[0].x_test.astype(np.float32)).view(1, -1, 1).expand(size, -1, -1)

    params = torch.zeros(size, layout.size)
    mask = torch.zeros(size, layout.size)
    targets = torch.zeros(size, x.shape[1], 1)
    for r, job in enumerate(jobs):
        real = _MLPLayout(job.model.width, job.model.depth)
        tensors = initial_parameters(job.model, job.seed)
        for layer, ((weight, bias), (fan_in, fan_out)) in enumerate(zip(_pairs(tensors), real.shapes)):
            w_view, b_view = layout.views(params[r:r + 1])[layer]
            w_mask, b_mask = layout.views(mask[r:r + 1])[layer]
            w_view[0, :fan_in, :fan_out] = weight.T
            b_view[0, 0, :fan_out] = bias
            w_mask[0, :fan_in, :fan_out] = 1
            b_mask[0, 0, :fan_out] = 1
        targets[r, :, 0] = torch.from_numpy(job.y_train.astype(np.float32))
    steps = jobs[0].train.steps
    adam = BatchedAdam(params, mask, *_hyper(jobs, size, (size, 1)), jobs[0].train.betas, jobs[0].train.eps,
                       steps, _shared_lr(jobs))
    # The SSE gradient is 2 J^T r; the exact doubling rides on the mask instead of costing an op per layer.
    mask2 = 2 * mask

    layers = layout.views(params)
    x_with_ones = torch.cat([x, torch.ones_like(x)], dim=2).contiguous()
    losses = torch.empty(steps, size)
    checkpoints, snapshots = set(jobs[0].checkpoints), []
    for k in range(steps):
        inputs, pre, post = _forward(x, layers, activation)
        residual = post[-1].sub_(targets)
        torch.bmm(residual.transpose(1, 2), residual, out=losses[k].view(size, 1, 1))
        grads = _backward(inputs, pre, post, layers, residual, backward, x_with_ones)
        adam.step(torch.cat([g.reshape(size, -1) for g in grads], dim=1).mul_(mask2), k)
        if k + 1 in checkpoints:
            snapshots.append(_forward(x_test, layers, activation)[2][-1][:, :, 0])
        if (k + 1) % REPORT_EVERY == 0 or k + 1 == steps:
            report((k % REPORT_EVERY) + 1)

    train_pred = _forward(x, layers, activation)[2][-1][:, :, 0]
    test_pred = _forward(x_test, layers, activation)[2][-1][:, :, 0]
    flat = [_unpad(params[r], layout, job.model) for r, job in enumerate(jobs)]
    return collect(jobs, losses, train_pred, targets[:, :, 0], test_pred, flat, snapshots)


def _forward(x, layers, activation):
    """Inputs to each layer, pre-activations and outputs (the last one linear)."""
    inputs, pre, post = [], [], []
    h = x
    for i, (weight, bias) in enumerate(layers):
        inputs.append(h)
        z = torch.baddbmm(bias, h, weight) if h.shape[2] > 1 else torch.addcmul(bias, h, weight)
        h = z if i == len(layers) - 1 else activation(z)
        pre.append(z)
        post.append(h)
    return inputs, pre, post


def _backward(inputs, pre, post, layers, grad_out, backward, x_with_ones):
    """Half the gradients of the SSE (the caller doubles them) for every weight and bias, in layout order."""
    grads = []
    g = grad_out
    for i in reversed(range(len(layers))):
        weight, _ = layers[i]
        if i < len(layers) - 1:
            g = backward(g, pre[i], post[i])
        h = inputs[i]
        if i == 0:
            # Input and a column of ones: one product gives the weight and bias gradients, stacked as stored.
            grads[:0] = [torch.bmm(x_with_ones.transpose(1, 2), g)]
        else:
            grads[:0] = [torch.bmm(h.transpose(1, 2), g), g.sum(dim=1, keepdim=True)]
        if i > 0:
            g = torch.bmm(g, weight.transpose(1, 2))
    return grads


def _pairs(tensors: list[torch.Tensor]):
    return list(zip(tensors[0::2], tensors[1::2]))


def _unpad(row: torch.Tensor, layout: _MLPLayout, model: MLPSpec) -> torch.Tensor:
    """A run's parameters without padding, in ``nn.Module.parameters()`` order."""
    parts = []
    for (weight, bias), (fan_in, fan_out) in zip(layout.views(row.unsqueeze(0)), layer_shapes(model)):
        parts += [weight[0, :fan_in, :fan_out].T.reshape(-1), bias[0, 0, :fan_out]]
    return torch.cat(parts)


# --------------------------------------------------------------------------- shared


def _shared_lr(jobs: list[RegressionJob]) -> float | None:
    """The learning rate of every run in the chunk, if they all share one."""
    rates = {job.train.lr for job in jobs}
    return rates.pop() if len(rates) == 1 else None


def _hyper(jobs: list[RegressionJob], size: int, shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-run learning rates (float64) and weight decays (float32), dummy runs included."""
    lr = torch.zeros(size, dtype=torch.float64)
    decay = torch.zeros(size)
    for r, job in enumerate(jobs):
        lr[r] = job.train.lr
        decay[r] = job.train.weight_decay
    return lr.view(shape), decay.view(shape)
