"""The sweep trainer against the lecture's one-model-at-a-time loop, in one process and one run.

Usage: python benchmarks/trainer.py [--workers N] [--sample-steps N]

For each sweep it times the notebook-style loop (one ``nn.Module`` and one
``torch.optim.Adam`` per run) on one run of every shape, extrapolates its
per-step cost to the whole sweep, trains the whole sweep with the sweep
trainer, checks that final losses agree, and prints the speed-up and the
useful GFLOP/s beside a large float32 matmul measured in the same run.

Sweeps (from the speed issue):
  (a) overfitting: degree {1,2,3,5,10,20,50,100} x weight decay {0,1e-4,1e-3,1e-2,1e-1}
      x noise {0.1,0.3} x 3 seeds = 240 runs x 10,000 steps; target >= 1000x
  (b) capacity: tanh MLP width {1,2,5,10,20} x depth {1,2} x 6 seeds = 60 runs x 5,000 steps; target >= 100x

Recording the explorers' snapshots (each run's fit on the test grid at its checkpoints) must cost at most
10 % of the sweep trainer's time: each sweep is also trained without them, alternating, and the medians of
five of each are compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from itertools import product
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from reportgen import native  # noqa: E402
from reportgen.data import make_dataset  # noqa: E402
from reportgen.reference import train_alone  # noqa: E402
from reportgen.schema import DataSpec, MLPSpec, PolynomialSpec, TrainSpec  # noqa: E402
from reportgen.train import RegressionJob, layer_shapes, parameter_count, train_runs  # noqa: E402


def sweep_a() -> list[RegressionJob]:
    """Sweep (a): 240 polynomial runs of 10,000 steps."""
    jobs = []
    for degree, decay, noise, seed in product([1, 2, 3, 5, 10, 20, 50, 100], [0, 1e-4, 1e-3, 1e-2, 1e-1],
                                              [0.1, 0.3], [0, 1, 2]):
        data = make_dataset(DataSpec(noise=noise))
        jobs.append(RegressionJob(PolynomialSpec(kind="polynomial", degree=degree),
                                  TrainSpec(steps=10_000, weight_decay=decay), seed,
                                  data.x_train, data.y_train, data.x_test))
    return jobs


def sweep_b() -> list[RegressionJob]:
    """Sweep (b): 60 tanh-MLP runs of 5,000 steps."""
    data = make_dataset(DataSpec())
    return [RegressionJob(MLPSpec(kind="mlp", width=width, depth=depth, activation="tanh"), TrainSpec(steps=5_000),
                          seed, data.x_train, data.y_train, data.x_test)
            for width, depth, seed in product([1, 2, 5, 10, 20], [1, 2], range(6))]


def shape(job: RegressionJob) -> tuple:
    """What the lecture loop's per-step cost depends on."""
    model = job.model
    return (model.degree,) if isinstance(model, PolynomialSpec) else (model.width, model.depth)


def useful_flops(job: RegressionJob) -> float:
    """Arithmetic a run needs per step: forward, backward, loss and Adam (padding and dummies excluded)."""
    n = len(job.x_train)
    parameters = parameter_count(job.model)
    if isinstance(job.model, PolynomialSpec):
        matrix = 2 * 2 * n * (job.model.degree + 1)
        activations = 0
    else:
        matrix = sum(3 * 2 * n * fan_in * fan_out for fan_in, fan_out in layer_shapes(job.model))
        activations = 4 * n * job.model.width * job.model.depth
    adam = 12 * parameters
    return matrix + activations + 3 * n + adam


def matmul_gflops() -> float:
    """Float32 GFLOP/s of a large matrix product on all cores."""
    size = 2048
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    repeats = 10
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size ** 3 * repeats / (time.perf_counter() - start) / 1e9


def lecture_loop_seconds(jobs: list[RegressionJob], sample_steps: int) -> tuple[float, dict]:
    """Extrapolated time of the lecture's loop over every job, from one timed sample per shape."""
    per_step: dict[tuple, float] = {}
    torch.set_num_threads(1)
    for job in jobs:
        key = shape(job)
        if key in per_step:
            continue
        sample = RegressionJob(job.model, job.train.model_copy(update={"steps": sample_steps}), job.seed,
                               job.x_train, job.y_train, job.x_test)
        train_alone(RegressionJob(job.model, job.train.model_copy(update={"steps": 20}), job.seed,
                                  job.x_train, job.y_train, job.x_test))  # warm-up
        start = time.perf_counter()
        train_alone(sample)
        per_step[key] = (time.perf_counter() - start) / sample_steps
    torch.set_num_threads(os.cpu_count() or 1)
    return sum(per_step[shape(job)] * job.train.steps for job in jobs), per_step


def final_loss_check(jobs: list[RegressionJob], batched, pick) -> list[tuple[str, float]]:
    """Relative difference of final training SSE, sweep trainer against the lecture loop, for picked runs."""
    rows = []
    for job, outcome in zip(jobs, batched):
        if not pick(job):
            continue
        _, module = train_alone(job)
        x = torch.from_numpy(job.x_train.astype("float32")).unsqueeze(1)
        y = torch.from_numpy(job.y_train.astype("float32")).unsqueeze(1)
        with torch.no_grad():
            reference = float(((module(x) - y) ** 2).sum())
        rows.append((str(shape(job)), abs(outcome.train_sse - reference) / reference))
    return rows


def kernel_seconds(kind: str) -> tuple[float, float]:
    """Seconds to get ``kind``'s gradient kernel with a cold cache (compile and load) and a warm one (load)."""
    previous = os.environ.get("XDG_CACHE_HOME")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_CACHE_HOME"] = folder
        native.forget()
        start = time.perf_counter()
        found = native.kernel(kind)
        cold = time.perf_counter() - start
        native.forget()
        start = time.perf_counter()
        native.kernel(kind)  # stays loaded for the sweep
        warm = time.perf_counter() - start
    if previous is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = previous
    print(f"  gradients: {native.describe([kind]) if isinstance(found, native.Kernel) else found.reason}")
    return cold, warm


SNAPSHOT_TARGET = 0.10
"""Most that recording snapshots may add to the sweep trainer's time."""


def snapshot_cost(jobs: list[RegressionJob], workers: int, repeats: int = 5) -> dict[bool, list[float]]:
    """Seconds of the sweep with snapshots (True) and without, timed alternately (a loaded machine drifts)."""
    bare = [replace(job, snapshots=False) for job in jobs]
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        for recording, batch in ((True, jobs), (False, bare)):
            start = time.perf_counter()
            train_runs(batch, workers=workers)
            times[recording].append(time.perf_counter() - start)
    return times


def run_sweep(name: str, jobs: list[RegressionJob], target: float, workers: int, sample_steps: int, peak: float,
              pick, tolerance: float) -> bool:
    """Time one sweep both ways and print the comparison; True when the targets are met."""
    baseline, per_step = lecture_loop_seconds(jobs, sample_steps)
    print(f"\nsweep ({name}): {len(jobs)} runs x {jobs[0].train.steps:,} steps")
    cold, warm = kernel_seconds(jobs[0].model.kind)
    start = time.perf_counter()
    batched = train_runs(jobs, workers=workers)
    seconds = time.perf_counter() - start
    flops = sum(useful_flops(job) * job.train.steps for job in jobs)
    ratio = baseline / (seconds + cold)
    diverged = sum(o.status != "ok" for o in batched)
    checks = final_loss_check(jobs, batched, pick)
    worst = max(diff for _, diff in checks)
    print(f"  lecture loop (extrapolated from {sample_steps} steps per shape): {baseline:9.1f} s")
    print("    per step: " + ", ".join(f"{k}: {1e3 * v:.3f} ms" for k, v in per_step.items()))
    print(f"  sweep trainer ({workers} worker{'s' if workers > 1 else ''}):             {seconds:9.3f} s")
    print(f"  C kernel: compiled and loaded in {cold:.3f} s (cold cache), loaded in {warm:.3f} s (warm cache)")
    print(f"  speed-up, kernel compile included: {ratio:,.0f}x   (target >= {target:,.0f}x)")
    print(f"  speed-up, warm kernel cache:       {baseline / (seconds + warm):,.0f}x")
    print(f"  useful arithmetic: {flops / 1e9:.2f} GFLOP -> {flops / seconds / 1e9:.2f} GFLOP/s "
          f"(large matmul: {peak:.0f} GFLOP/s)")
    print(f"  final training SSE vs the lecture loop, {len(checks)} converged runs: worst relative difference "
          f"{worst:.1e} (tolerance {tolerance:g}); diverged runs: {diverged}")
    times = snapshot_cost(jobs, workers)
    with_snapshots, without = statistics.median(times[True]), statistics.median(times[False])
    overhead = with_snapshots / without - 1
    checkpoints = len(jobs[0].checkpoints)
    print(f"  snapshots ({checkpoints} checkpoints a run): {with_snapshots:.3f} s with "
          f"({min(times[True]):.3f}-{max(times[True]):.3f}), {without:.3f} s without "
          f"({min(times[False]):.3f}-{max(times[False]):.3f}), medians of {len(times[True])}: "
          f"{100 * overhead:+.1f} % of the sweep trainer's time (target <= {100 * SNAPSHOT_TARGET:.0f} %)")
    assert all(len(o.snapshot_steps) == checkpoints for o in batched)
    passed = ratio >= target and worst <= tolerance and diverged == 0 and overhead <= SNAPSHOT_TARGET
    print(f"  {'PASS' if passed else 'FAIL'}")
    return passed


def main() -> int:
    """Run both sweeps; exit status 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for the sweep trainer")
    parser.add_argument("--sample-steps", type=int, default=1000, help="steps timed per shape for the lecture loop")
    args = parser.parse_args()
    peak = matmul_gflops()
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, large float32 matmul {peak:.0f} GFLOP/s")
    ok = run_sweep("a", sweep_a(), 1000, args.workers, args.sample_steps, peak,
                   pick=lambda j: j.model.degree <= 3 and j.train.weight_decay == 0 and j.seed == 0, tolerance=1e-4)
    ok &= run_sweep("b", sweep_b(), 100, args.workers, args.sample_steps, peak,
                    pick=lambda j: j.model.width == 1 and j.seed == 0, tolerance=1e-4)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
