"""The sweep trainer: exact Adam, agreement with the lecture's loop, batch invariance, divergence."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from reportgen.reference import build_module, train_alone
from reportgen.schema import MLPSpec, PolynomialSpec
from reportgen.train import RegressionJob, initial_parameters, train_runs
from reportgen.training.adam import BatchedAdam as _BatchedAdam
from reportgen.training.job import SNAPSHOTS, checkpoint_steps

from .conftest import ROOT, mlp_job, polynomial_job, relative_error


def test_initial_parameters_match_nn_linear_under_manual_seed():
    for model in (PolynomialSpec(kind="polynomial", degree=7), MLPSpec(kind="mlp", width=5, depth=2)):
        torch.manual_seed(3)
        if isinstance(model, PolynomialSpec):
            expected = list(torch.nn.Linear(7, 1).parameters())
        else:
            layers = [torch.nn.Linear(1, 5), torch.nn.Linear(5, 5), torch.nn.Linear(5, 1)]
            expected = [p for layer in layers for p in layer.parameters()]
        got = initial_parameters(model, 3)
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert torch.equal(a.view_as(b), b.detach())


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
@pytest.mark.parametrize("shared_lr", [False, True], ids=["lr-per-run", "lr-shared"])
def test_batched_adam_update_is_bitwise_torch_adam_on_each_run_alone(weight_decay, shared_lr):
    generator = torch.Generator().manual_seed(0)
    n_params, n_runs, steps = 11, 64, 25
    params = torch.randn(n_params, n_runs, generator=generator)
    lrs = torch.tensor([0.01 if shared_lr else 0.01 * (1 + r % 4) for r in range(n_runs)], dtype=torch.float64)
    decays = torch.full((n_runs,), weight_decay)
    grads = [torch.randn(n_params, n_runs, generator=generator) for _ in range(steps)]

    batched = _BatchedAdam(params.clone(), torch.ones(n_params, n_runs), lrs.view(1, -1), decays.view(1, -1),
                           (0.9, 0.999), 1e-8, steps, 0.01 if shared_lr else None)
    for k, g in enumerate(grads):
        batched.step(g.clone(), k)

    for r in (0, 1, 17, 63):
        alone = params[:, r].clone().requires_grad_(True)
        optimizer = torch.optim.Adam([alone], lr=float(lrs[r]), weight_decay=weight_decay)
        for g in grads:
            alone.grad = g[:, r].clone()
            optimizer.step()
        assert torch.equal(batched.params[:, r], alone.detach()), f"run {r} differs"


def kernel_adam_mismatches(weight_decay: float, betas: tuple[float, float]) -> int:
    """Entries where the kernel's Adam on a flat chunk differs from ``torch.optim.Adam`` on each run alone."""
    from reportgen import native
    from reportgen.train import torch_fuses_multiply_adds
    from reportgen.training.kernel_backend import SEGMENT
    from reportgen.training.kernel_backend import KernelAdam as _KernelAdam

    found, fused = native.kernel("polynomial"), torch_fuses_multiply_adds()
    assert isinstance(found, native.Kernel) and fused is not None
    generator = torch.Generator().manual_seed(1)
    sizes, steps, lr = [3, 31, 32, 33, 100, 1, 64, 7], 30, 0.01
    decays = [weight_decay * (1 + r % 3) for r in range(len(sizes))]
    starts = np.cumsum([0] + [SEGMENT * math.ceil(size / SEGMENT) for size in sizes])
    params, mask, decay = (torch.zeros(int(starts[-1])) for _ in range(3))
    for start, size, wd in zip(starts, sizes, decays):
        params[start:start + size] = torch.randn(size, generator=generator)
        mask[start:start + size], decay[start:start + size] = 1, wd
    initial, grads = params.clone(), torch.zeros_like(params)
    adam = _KernelAdam(found.library, fused, params, grads, mask, decay, lr, betas, 1e-8, steps)
    history = []
    for k in range(steps):
        scale = 10.0 ** torch.randint(-6, 3, params.shape, generator=generator)
        history.append(torch.randn(params.shape, generator=generator) * scale * mask)
        grads.copy_(history[-1])
        adam.step(grads, k)
    mismatches = int((params[mask == 0] != 0).sum())
    for start, size, wd in zip(starts, sizes, decays):
        alone = initial[start:start + size].clone().requires_grad_(True)
        optimizer = torch.optim.Adam([alone], lr=lr, betas=betas, weight_decay=wd)
        for g in history:
            alone.grad = g[start:start + size].clone()
            optimizer.step()
        mismatches += int((params[start:start + size] != alone.detach()).sum())
    return mismatches


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.3, 0.99)], ids=["default-betas", "beta1-0.3"])
def test_kernel_adam_update_is_bitwise_torch_adam_on_each_run_alone(weight_decay, betas):
    assert kernel_adam_mismatches(weight_decay, betas) == 0


def test_kernel_adam_follows_torch_baseline_kernels_which_round_every_product():
    # Without AVX2, torch's CPU kernels do not fuse multiply-adds; the kernel's Adam must round as they do.
    code = ("import torch\nfrom reportgen.train import torch_fuses_multiply_adds\n"
            "from tests.test_train import kernel_adam_mismatches as m\n"
            "print(torch.backends.cpu.get_cpu_capability(), torch_fuses_multiply_adds(),"
            " m(1e-2, (0.9, 0.999)), m(0.0, (0.3, 0.99)))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env={**os.environ, "ATEN_CPU_CAPABILITY": "default"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["DEFAULT", "False", "0", "0"]


@pytest.mark.parametrize("make_job", [
    lambda d: polynomial_job(d, 1), lambda d: polynomial_job(d, 3, seed=1), lambda d: polynomial_job(d, 10),
    lambda d: polynomial_job(d, 100, seed=2), lambda d: polynomial_job(d, 20, weight_decay=0.1),
    lambda d: mlp_job(d, 1), lambda d: mlp_job(d, 10, seed=1), lambda d: mlp_job(d, 5, depth=2),
    lambda d: mlp_job(d, 7, depth=3, activation="sigmoid"), lambda d: mlp_job(d, 6, activation="relu", seed=4),
    lambda d: mlp_job(d, 3, activation="identity", weight_decay=0.01),
], ids=["deg1", "deg3", "deg10", "deg100", "deg20-decay", "tanh1", "tanh10", "tanh5x2", "sigmoid7x3", "relu6",
        "identity3-decay"])
def test_batched_run_follows_the_lecture_loop_for_its_first_100_steps(lecture_data, make_job, kernel):
    job = make_job(lecture_data)
    batched = train_runs([job, polynomial_job(lecture_data, 5, seed=9), mlp_job(lecture_data, 4, seed=9)])[0]
    reference, _ = train_alone(job)
    assert batched.status == "ok"
    assert relative_error(batched.losses, reference) < 1e-6


@pytest.fixture(scope="module")
def lecture_final_sse(lecture_data) -> dict[int, float]:
    """Final training SSE of the lecture's loop after 10,000 steps, for degrees 1-3 (computed once)."""
    x = torch.from_numpy(lecture_data.x_train.astype("float32")).unsqueeze(1)
    y = torch.from_numpy(lecture_data.y_train.astype("float32")).unsqueeze(1)
    final = {}
    for degree in (1, 2, 3):
        _, module = train_alone(polynomial_job(lecture_data, degree, steps=10_000))
        with torch.no_grad():
            final[degree] = float(((module(x) - y) ** 2).sum())
    return final


def test_final_training_loss_matches_the_lecture_loop_for_low_degrees(lecture_data, lecture_final_sse, kernel):
    runs = train_runs([polynomial_job(lecture_data, degree, steps=10_000) for degree in (1, 2, 3)])
    for degree, run in zip((1, 2, 3), runs):
        reference = lecture_final_sse[degree]
        assert abs(run.train_sse - reference) / reference < 1e-4, f"degree {degree}"


def _assert_same_run(a, b):
    assert a.status == b.status
    assert np.array_equal(a.losses, b.losses, equal_nan=True)
    assert np.array_equal(a.parameters, b.parameters, equal_nan=True)
    assert np.array_equal(a.test_pred, b.test_pred, equal_nan=True)
    assert np.array_equal(a.snapshots, b.snapshots, equal_nan=True)


@pytest.mark.parametrize("kind", ["polynomial", "mlp"])
def test_run_result_is_bitwise_independent_of_its_batch(lecture_data, kind, kernel):
    rng = np.random.RandomState(1)
    if kind == "polynomial":
        probe = polynomial_job(lecture_data, 5, seed=7, steps=300)
        others = [polynomial_job(lecture_data, int(d), seed=s, steps=300, weight_decay=float(w))
                  for d, s, w in zip(rng.choice([1, 2, 3, 5, 10, 16, 20, 50, 100], 240), range(240),
                                     rng.choice([0, 1e-4, 1e-2], 240))]
    else:
        probe = mlp_job(lecture_data, 5, seed=7, steps=150, weight_decay=1e-3)
        others = [mlp_job(lecture_data, int(w), depth=int(d), seed=s, steps=150, weight_decay=float(wd))
                  for w, d, s, wd in zip(rng.choice([1, 2, 5, 10, 20], 60), rng.choice([1, 2], 60), range(60),
                                         rng.choice([0, 1e-3], 60))]
    alone = train_runs([probe])[0]
    with_30 = train_runs(others[:13] + [probe] + others[13:30])[13]
    middle = len(others) // 2
    with_many = train_runs(others[:middle] + [probe] + others[middle:])[middle]
    _assert_same_run(alone, with_30)
    _assert_same_run(alone, with_many)


def test_run_results_do_not_depend_on_the_number_of_worker_processes(lecture_data, kernel):
    jobs = [polynomial_job(lecture_data, d, seed=s, steps=120, weight_decay=wd)
            for d, s, wd in [(1, 0, 0.0), (5, 1, 1e-2), (20, 2, 0.0), (100, 3, 1e-3), (3, 4, 0.0)]]
    jobs += [mlp_job(lecture_data, w, depth=d, seed=s, steps=120) for w, d, s in [(1, 1, 0), (20, 2, 1), (5, 1, 2)]]
    serial = train_runs(jobs, workers=1)
    for a, b in zip(serial, train_runs(jobs, workers=3)):
        _assert_same_run(a, b)


def test_diverging_run_is_marked_and_leaves_its_batch_untouched(lecture_data, kernel):
    healthy = [polynomial_job(lecture_data, d, seed=s, steps=400) for d, s in [(3, 0), (10, 1), (100, 2), (5, 3)]]
    exploding = polynomial_job(lecture_data, 100, seed=0, steps=400, lr=10.0,
                               y=lecture_data.y_train * 1e30)
    _assert_divergence_is_contained(healthy, exploding)


def test_diverging_mlp_is_marked_and_leaves_its_batch_untouched(lecture_data, kernel):
    healthy = [mlp_job(lecture_data, w, depth=d, seed=s, steps=300) for w, d, s in [(5, 1, 0), (20, 2, 1), (1, 2, 2),
                                                                                      (10, 1, 3)]]
    exploding = mlp_job(lecture_data, 10, depth=2, steps=300, lr=10.0, y=lecture_data.y_train * 1e30)
    _assert_divergence_is_contained(healthy, exploding)


def _assert_divergence_is_contained(healthy, exploding):
    mixed = train_runs(healthy[:2] + [exploding] + healthy[2:])
    assert mixed[2].status == "diverged"
    assert mixed[2].diverged_at is not None
    for a, b in zip(train_runs(healthy), mixed[:2] + mixed[3:]):
        assert b.status == "ok"
        _assert_same_run(a, b)


def test_mlp_trained_parameters_load_into_the_lecture_module(lecture_data, kernel):
    job = mlp_job(lecture_data, 4, depth=2, steps=50)
    run = train_runs([job])[0]
    module = build_module(job.model, job.seed)
    with torch.no_grad():
        offset = 0
        for p in module.parameters():
            p.copy_(torch.from_numpy(run.parameters[offset:offset + p.numel()]).view_as(p))
            offset += p.numel()
        x = torch.from_numpy(lecture_data.x_test.astype("float32")).unsqueeze(1)
        prediction = module(x)[:, 0].numpy()
    assert offset == run.parameters.size
    assert relative_error(prediction, run.test_pred) < 1e-5
    assert math.isfinite(run.train_sse)


@pytest.mark.parametrize("make_job", [lambda data: polynomial_job(data, 20, seed=3, steps=120, weight_decay=1e-3),
                                      lambda data: mlp_job(data, 5, depth=2, seed=3, steps=120)],
                         ids=["polynomial", "mlp"])
def test_snapshots_are_the_fit_after_their_step_and_the_last_is_the_final_fit_bit_for_bit(lecture_data, make_job,
                                                                                          kernel):
    job = make_job(lecture_data)
    outcome = train_runs([job, RegressionJob(**{**job.__dict__, "seed": 4})])[0]
    steps = list(outcome.snapshot_steps)
    assert steps == list(checkpoint_steps(120)) and steps[-1] == 120
    assert outcome.snapshots.shape == (len(steps), len(lecture_data.x_test))
    assert outcome.snapshots.dtype == np.float32
    assert outcome.snapshots[-1].tobytes() == outcome.test_pred.tobytes()
    # Adam's step k does not depend on how many steps follow: a run stopped at a checkpoint is that snapshot.
    middle = steps[len(steps) // 2]
    shorter = train_runs([RegressionJob(**{**job.__dict__, "train": job.train.model_copy(update={"steps": middle})})])
    assert outcome.snapshots[len(steps) // 2].tobytes() == shorter[0].test_pred.tobytes()
    # and the snapshots move: the fit changes during training
    assert not np.array_equal(outcome.snapshots[0], outcome.snapshots[-1])


def test_checkpoints_mix_round_early_steps_with_regular_late_ones_within_the_budget():
    assert checkpoint_steps(10_000) == (10, 30, 100, 300, 1000, 2000, 4000, 6000, 8000, 10_000)
    assert checkpoint_steps(5_000) == (3, 10, 30, 100, 300, 1000, 2000, 3000, 4000, 5000)
    for steps in (1, 2, 7, 60, 300, 12_345):
        points = checkpoint_steps(steps)
        assert points[-1] == steps and len(points) <= SNAPSHOTS and list(points) == sorted(set(points))
    assert checkpoint_steps(100, count=0) == ()
