"""The sweep trainer: every regression run of a study trained at once, exactly.

Runs are grouped into *chunks* of a fixed number of columns. A chunk's
parameters are one tensor, with one column (polynomials) or one batch row
(MLPs) per run; learning rates and weight decays are per-run tensors, and
runs of smaller degree or width are zero-padded and masked. Adam is applied
elementwise in the operation order of ``torch.optim.Adam``'s default
implementation, so the update of each run is bit-identical to that
optimizer on the run alone.

Why the fixed chunk width and the per-run padding buckets: the float32 GEMM
kernels choose their blocking from the matrix shape, so a column's bits
would depend on how many other runs share the matrix. With shapes that
depend only on the run itself (its bucket) and a constant number of
columns, a run's result is the same whatever else is trained beside it,
and a build that retrains only changed runs reproduces a cold build.

When a C compiler is at hand, a small C kernel (``native.py``,
``kernels/``) does the work instead, and that is the usual path: a whole
chunk's forward and backward pass is one call, computed run by run, so a
chunk may mix degrees, widths and depths, and chunks are simply the
``workers`` shares of the runs. Adam is two more calls around torch's own
square root, rounding as torch's CPU kernels round (fused multiply-adds
where torch fuses them), so it stays bit-identical to ``torch.optim.Adam``.
Each run's parameters are padded to a multiple of ``SEGMENT`` floats, so
that torch's sqrt handles every entry in its vectorized loop wherever the
run sits. Without the kernel, the padded torch programs above do the work.
"""

from __future__ import annotations

import ctypes
import functools
import math
import multiprocessing
import platform
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from . import native
from .outcomes import RegressionOutcome
from .spec import MLPSpec, PolynomialSpec, TrainSpec

POLY_CHUNK = {16: 256, 128: 128}
"""Runs per chunk for each polynomial feature bucket (other buckets: 64); unused slots hold inert dummies."""
MLP_CHUNK = 32
"""Runs per chunk for MLPs."""
SEGMENT = 32
"""Floats each run's parameters are padded to (C kernel): whole AVX-512 vector pairs, so no scalar tails."""
REPORT_EVERY = 500
"""Steps between two progress reports."""


@dataclass(frozen=True)
class RegressionJob:
    """One run to train: model, optimizer settings, data and the seed of its initial weights."""

    model: PolynomialSpec | MLPSpec
    train: TrainSpec
    seed: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray


# --------------------------------------------------------------------------- initial weights


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
    if isinstance(model, PolynomialSpec):
        return [(model.degree, 1)]
    sizes = [1] + [model.width] * model.depth + [1]
    return list(zip(sizes[:-1], sizes[1:]))


def parameter_count(model: PolynomialSpec | MLPSpec) -> int:
    """Weights and biases of ``model``."""
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in layer_shapes(model))


def polynomial_features(x: torch.Tensor, degree: int) -> torch.Tensor:
    """Columns x, x**2, ..., x**degree of a float32 column vector, as the lecture computes them."""
    return torch.stack([x[:, 0] ** (k + 1) for k in range(degree)], dim=1)


# --------------------------------------------------------------------------- public entry


def train_runs(jobs: Sequence[RegressionJob], progress: Callable[[int], None] | None = None,
               workers: int = 1) -> list[RegressionOutcome]:
    """Train every job; results come back in the order of ``jobs``.

    ``progress`` is called now and then with the number of run-steps done
    since its last call. With ``workers`` > 1, chunks train in that many
    processes; every run's result is the same either way.
    """
    report = progress or (lambda _: None)
    chunks = _chunks(jobs, workers)
    results: list[RegressionOutcome | None] = [None] * len(jobs)
    if workers > 1 and len(chunks) > 1:
        # fork: workers start at once with torch loaded; each runs one thread, as the serial path does.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
            futures = {pool.submit(_train_chunk, [jobs[i] for i in indices]): indices
                       for indices in sorted(chunks, key=lambda c: -_chunk_cost([jobs[i] for i in c]))}
            for future in as_completed(futures):
                indices = futures[future]
                for i, run in zip(indices, future.result()):
                    results[i] = run
                report(sum(jobs[i].train.steps for i in indices))
    else:
        for indices in chunks:
            chunk = [jobs[i] for i in indices]
            for i, run in zip(indices, _train_chunk(chunk, lambda steps, n=len(chunk): report(steps * n))):
                results[i] = run
    return results  # type: ignore[return-value]


def _train_chunk(chunk: list[RegressionJob], report: Callable[[int], None] = lambda _: None) -> list[RegressionOutcome]:
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # kernels must not change their blocking with the thread count
    try:
        with torch.no_grad():
            found = native.kernel(chunk[0].model.kind)
            if isinstance(found, native.Kernel):
                return _train_with_kernel(chunk, report, found.library)
            if isinstance(chunk[0].model, PolynomialSpec):
                return _train_polynomials(chunk, report)
            return _train_mlps(chunk, report)
    finally:
        torch.set_num_threads(previous_threads)


def _chunk_cost(chunk: list[RegressionJob]) -> float:
    """Rough relative cost of training ``chunk``, to start the longest first."""
    if isinstance(native.kernel(chunk[0].model.kind), native.Kernel):
        return sum(job.train.steps * _kernel_cost(job.model) for job in chunk)
    job = chunk[0]
    if isinstance(job.model, PolynomialSpec):
        return job.train.steps * (degree_bucket(job.model.degree) + 1) * chunk_size(job.model)
    return job.train.steps * width_bucket(job.model.width) ** 2 * job.model.depth * chunk_size(job.model)


def _chunks(jobs: Sequence[RegressionJob], workers: int = 1) -> list[list[int]]:
    """Group jobs that can share one batched program: ``workers`` shares for a C kernel, else fixed-size chunks."""
    with_kernel = {kind: isinstance(native.kernel(kind), native.Kernel) for kind in {job.model.kind for job in jobs}}
    groups: dict[tuple, list[int]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault(_kernel_key(job) if with_kernel[job.model.kind] else _shape_key(job), []).append(i)
    chunks = []
    for key, members in groups.items():
        if key[0] == "kernel":
            chunks += _balanced(members, [_kernel_cost(jobs[i].model) for i in members], workers)
        else:
            size = chunk_size(jobs[members[0]].model)
            chunks += [members[s:s + size] for s in range(0, len(members), size)]
    return chunks


def _balanced(members: list[int], costs: list[float], parts: int) -> list[list[int]]:
    """Split ``members`` into at most ``parts`` groups of similar total cost (longest first, to the lightest)."""
    totals, groups = [0.0] * min(parts, len(members)), [[] for _ in range(min(parts, len(members)))]
    for cost, member in sorted(zip(costs, members), key=lambda pair: -pair[0]):
        lightest = totals.index(min(totals))
        totals[lightest] += cost
        groups[lightest].append(member)
    return [sorted(group) for group in groups]


def _kernel_cost(model: PolynomialSpec | MLPSpec) -> float:
    """Relative cost of one C-kernel step of ``model``: its products, activations and fixed overhead."""
    if isinstance(model, PolynomialSpec):
        return model.degree + 20
    return model.width * model.width * (model.depth - 1) + 8 * model.width * model.depth + 40


def chunk_size(model: PolynomialSpec | MLPSpec) -> int:
    """Runs per chunk: a function of the run's own shape, never of the other runs."""
    if isinstance(model, PolynomialSpec):
        return POLY_CHUNK.get(degree_bucket(model.degree), 64)
    return MLP_CHUNK


def _shape_key(job: RegressionJob) -> tuple:
    t = job.train
    common = (t.steps, t.betas, t.eps, job.x_train.tobytes(), job.x_test.tobytes())
    if isinstance(job.model, PolynomialSpec):
        return ("polynomial", degree_bucket(job.model.degree)) + common
    return ("mlp", width_bucket(job.model.width), job.model.depth, job.model.activation) + common


def _kernel_key(job: RegressionJob) -> tuple:
    # One learning rate per chunk, so that Adam's step size is one scalar, as in torch.optim.Adam.
    t = job.train
    model = ("polynomial",) if isinstance(job.model, PolynomialSpec) else ("mlp", job.model.activation)
    return ("kernel",) + model + (t.lr, t.steps, t.betas, t.eps, job.x_train.tobytes(), job.x_test.tobytes())



def degree_bucket(degree: int) -> int:
    """Padded number of polynomial features: a function of the degree alone."""
    return 16 if degree <= 16 else 128 * math.ceil(degree / 128)


def width_bucket(width: int) -> int:
    """Padded hidden width: a function of the width alone."""
    return 8 if width <= 8 else 32 if width <= 32 else 32 * math.ceil(width / 32)


# --------------------------------------------------------------------------- batched Adam


def _initial_moments(params: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Adam's first and second moments before step 1: zeros where ``mask`` marks a real parameter.

    Padded entries keep a harmless non-zero second moment: sqrt of zeros and denormals is slow.
    """
    return torch.zeros_like(params), torch.where(mask.bool(), torch.zeros_like(params), torch.ones_like(params))


class _BatchedAdam:
    """``torch.optim.Adam`` (default, non-fused) on one tensor holding many runs.

    ``lr`` and ``weight_decay`` are per-run tensors broadcastable against the
    parameters. The operation order is that of ``_single_tensor_adam``, with
    ``grad.add(param, alpha=wd)`` written as the equivalent fused
    ``addcmul`` and ``addcdiv``'s scalar replaced by a per-run tensor. The
    bias corrections are computed up front with Python floats exactly as
    torch does (``1 - beta ** step``), so each step costs only tensor ops.
    """

    def __init__(self, params: torch.Tensor, mask: torch.Tensor, lr: torch.Tensor, weight_decay: torch.Tensor,
                 betas: tuple[float, float], eps: float, steps: int, shared_lr: float | None = None):
        self.params = params
        self.shared_lr = shared_lr
        self.exp_avg, self.exp_avg_sq = _initial_moments(params, mask)
        self.weight_decay = weight_decay
        self.any_decay = bool((weight_decay != 0).any())
        self.beta1, self.beta2 = betas
        self.eps = eps
        counts = [float(k) for k in range(1, steps + 1)]
        self.bias_correction1 = [1 - self.beta1 ** k for k in counts]
        bias_correction1 = torch.tensor(self.bias_correction1, dtype=torch.float64)
        # [steps, *lr.shape]: row k broadcasts against the parameters like lr does.
        self.neg_step_size = (-(lr.to(torch.float64).unsqueeze(0) / bias_correction1.view(-1, 1, 1))
                              ).to(torch.float32)
        self.bias_correction2_sqrt = [(1 - self.beta2 ** k) ** 0.5 for k in counts]
        self._denom = torch.empty_like(params)
        self._update = torch.empty_like(params)

    def step(self, grad: torch.Tensor, k: int) -> None:
        """Apply update number ``k`` (from 0) given this step's gradient."""
        if self.any_decay:
            grad = torch.addcmul(grad, self.params, self.weight_decay)
        self.exp_avg.lerp_(grad, 1 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        torch.sqrt(self.exp_avg_sq, out=self._denom).div_(self.bias_correction2_sqrt[k]).add_(self.eps)
        if self.shared_lr is not None:
            # One learning rate for the chunk: torch's own scalar addcdiv, one op instead of three.
            self.params.addcdiv_(self.exp_avg, self._denom, value=-(self.shared_lr / self.bias_correction1[k]))
            return
        torch.mul(self.neg_step_size[k], self.exp_avg, out=self._update)
        self.params.add_(self._update.div_(self._denom))


# --------------------------------------------------------------------------- polynomials


def _train_polynomials(jobs: list[RegressionJob], report: Callable[[int], None]) -> list[RegressionOutcome]:
    """Parameter-major layout: column r of ``params`` is run r, row 0 its bias."""
    width = degree_bucket(jobs[0].model.degree)
    size = chunk_size(jobs[0].model)
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
    adam = _BatchedAdam(params, mask, *_hyper(jobs, size, (1, size)), jobs[0].train.betas, jobs[0].train.eps,
                        steps, _shared_lr(jobs))

    losses = torch.empty(steps, size)
    residual = torch.empty(len(x), size)
    squares = torch.empty(len(x), size)
    grad = torch.empty_like(params)
    for k in range(steps):
        torch.mm(features, params, out=residual).sub_(targets)
        torch.sum(torch.mul(residual, residual, out=squares), dim=0, out=losses[k])
        torch.mm(features_t2, residual, out=grad).mul_(mask)
        adam.step(grad, k)
        if (k + 1) % REPORT_EVERY == 0 or k + 1 == steps:
            report((k % REPORT_EVERY) + 1)

    train_pred = torch.mm(features, params)
    test_pred = torch.mm(test_features, params)
    flat = [torch.cat([params[1:job.model.degree + 1, r], params[:1, r]]) for r, job in enumerate(jobs)]
    return _collect(jobs, losses, train_pred.T, targets.T, test_pred.T, flat)


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


def _train_mlps(jobs: list[RegressionJob], report: Callable[[int], None]) -> list[RegressionOutcome]:
    """Run-major layout: row r of ``params`` is run r, every layer packed in one row."""
    spec = jobs[0].model
    size = chunk_size(spec)
    layout = _MLPLayout(width_bucket(spec.width), spec.depth)
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
    adam = _BatchedAdam(params, mask, *_hyper(jobs, size, (size, 1)), jobs[0].train.betas, jobs[0].train.eps,
                        steps, _shared_lr(jobs))
    # The SSE gradient is 2 J^T r; the exact doubling rides on the mask instead of costing an op per layer.
    mask2 = 2 * mask

    layers = layout.views(params)
    x_with_ones = torch.cat([x, torch.ones_like(x)], dim=2).contiguous()
    losses = torch.empty(steps, size)
    for k in range(steps):
        inputs, pre, post = _forward(x, layers, activation)
        residual = post[-1].sub_(targets)
        torch.bmm(residual.transpose(1, 2), residual, out=losses[k].view(size, 1, 1))
        grads = _backward(inputs, pre, post, layers, residual, backward, x_with_ones)
        adam.step(torch.cat([g.reshape(size, -1) for g in grads], dim=1).mul_(mask2), k)
        if (k + 1) % REPORT_EVERY == 0 or k + 1 == steps:
            report((k % REPORT_EVERY) + 1)

    train_pred = _forward(x, layers, activation)[2][-1][:, :, 0]
    test_pred = _forward(x_test, layers, activation)[2][-1][:, :, 0]
    flat = [_unpad(params[r], layout, job.model) for r, job in enumerate(jobs)]
    return _collect(jobs, losses, train_pred, targets[:, :, 0], test_pred, flat)


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


# --------------------------------------------------------------------------- with the C kernel


def _train_with_kernel(jobs: list[RegressionJob], report: Callable[[int], None], library) -> list[RegressionOutcome]:
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
        adam = _KernelAdam(library, fused, params, grads, mask, decay, lr, betas, eps, steps)
    else:
        adam = _BatchedAdam(params, mask, torch.tensor([lr], dtype=torch.float64), decay, betas, eps, steps,
                            shared_lr=lr)
    losses = torch.empty(steps, len(jobs))
    targets = np.ascontiguousarray(np.stack([job.y_train for job in jobs]), dtype=np.float32)
    offsets = np.array(starts[:-1], dtype=np.dtype(f"i{ctypes.sizeof(ctypes.c_long)}"))
    calls = (_PolynomialCalls if isinstance(jobs[0].model, PolynomialSpec) else _MLPCalls)(
        library, jobs, offsets, targets, params, grads)

    row, row_bytes = losses.data_ptr(), losses.stride(0) * losses.element_size()
    for k in range(steps):
        calls.gradients(row + k * row_bytes)
        adam.step(grads, k)
        if (k + 1) % REPORT_EVERY == 0 or k + 1 == steps:
            report((k % REPORT_EVERY) + 1)

    flat = [params[start:start + size] for start, size in zip(starts, sizes)]
    return _collect(jobs, losses, calls.predict(jobs[0].x_train), torch.from_numpy(targets),
                    calls.predict(jobs[0].x_test), flat)


def torch_fuses_multiply_adds() -> bool | None:
    """Whether torch's CPU kernels round Adam's multiply-adds once (AVX2, AVX-512) or twice (baseline x86-64).

    None where the kernel's Adam does not know torch's rounding (other architectures): Adam then runs as
    torch operations.
    """
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    return {"AVX2": True, "AVX512": True, "DEFAULT": False}.get(torch.backends.cpu.get_cpu_capability())


class _KernelAdam:
    """``torch.optim.Adam`` (default implementation) on the flat parameters: two C calls and torch's sqrt.

    The kernel's ``adam_moments`` and ``adam_update`` reproduce the rounding of torch's own CPU kernels
    (``fused`` says which), and the square root is torch's, so the update is bit for bit that of
    ``torch.optim.Adam``. The step scalars are computed here exactly as torch computes them.
    """

    def __init__(self, library, fused: bool, params: torch.Tensor, grad: torch.Tensor, mask: torch.Tensor,
                 decay: torch.Tensor, lr: float, betas: tuple[float, float], eps: float, steps: int):
        self.params, self.grad, self.decay = params, grad, decay
        self.exp_avg, self.exp_avg_sq = _initial_moments(params, mask)
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


class _KernelCalls:
    """The kernel's entry points bound to one chunk; holds every array the kernel reads while it runs."""

    _gradients: Callable[[int], int]

    def gradients(self, losses: int) -> None:
        """Write every run's gradient, and its loss at address ``losses`` onwards."""
        if self._gradients(losses) != 0:
            raise MemoryError("the gradient kernel could not allocate its scratch memory")


class _MLPCalls(_KernelCalls):
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


class _PolynomialCalls(_KernelCalls):
    """Polynomial gradients and predictions, from the chunk's table of features x, x**2, ..."""

    def __init__(self, library, jobs, offsets, targets, params, grads):
        self.library, self.arrays = library, (offsets, targets)
        self.degrees = np.array([job.model.degree for job in jobs], dtype=np.intc)
        self.most = int(self.degrees.max())
        self.features = self._features(jobs[0].x_train)
        self.columns = np.ascontiguousarray(self.features.T)
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
        columns = np.ascontiguousarray(self._features(inputs).T)
        out = np.empty((self.shape[0], len(inputs)), dtype=np.float32)
        self.library.poly_predict(*self.shape, len(inputs), columns.ctypes.data, self.params.data_ptr(),
                                  out.ctypes.data)
        return torch.from_numpy(out)


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


def _collect(jobs, losses, train_pred, targets, test_pred, flat) -> list[RegressionOutcome]:
    runs = []
    for r, _ in enumerate(jobs):
        curve = losses[:, r].numpy().copy()
        bad = ~np.isfinite(curve)
        final_pred = train_pred[r]
        final_sse = float(((final_pred - targets[r]) ** 2).sum())
        parameters = flat[r].numpy().copy()
        finite = not bad.any() and math.isfinite(final_sse) and bool(np.isfinite(parameters).all())
        runs.append(RegressionOutcome(
            status="ok" if finite else "diverged",
            losses=curve,
            train_sse=final_sse,
            train_pred=final_pred.numpy().copy(),
            test_pred=test_pred[r].numpy().copy(),
            parameters=parameters,
            diverged_at=int(np.argmax(bad)) if bad.any() else None,
        ))
    return runs
