"""What a Dask cluster costs on one machine: a sweep ten times the overfitting study, three ways.

Run it as ``.venv/bin/python benchmarks/dask.py`` (about two minutes; needs
``pip install -e '.[dask]'``). The lecture's overfitting study with 30 seeds
instead of 3 (360 runs of 10,000 steps, and the study's figures) is
computed, with no result store, by:

- local processes, as ``reportgen build --jobs 2``;
- a ``distributed.LocalCluster`` of 2 single-threaded worker processes;
- ``dask scheduler`` and two ``dask worker --nthreads 1`` processes on 127.0.0.1.

Each executor first computes the sweep once untimed (its workers load torch,
matplotlib and the kernels), then the three take turns ``--repeat`` times.
The script prints the median and range of each against local processes, the
runs per second a worker trains, a chunk's median seconds, and the client's
cost per task (``--tasks`` empty units), then one PASS/FAIL line per target. The exit status is 1 if a target is
missed.

Target: each cluster takes at most 10 % longer than local processes.
"""

from __future__ import annotations

import argparse
import json
import operator
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is named dask.py: its own folder on the path would shadow the dask package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from reportgen.build import BuildOptions, compute_studies, load  # noqa: E402
from reportgen.cluster import connect  # noqa: E402
from reportgen.executors import Executor, LocalProcesses  # noqa: E402
from reportgen.progress import Reporter  # noqa: E402

SEEDS = 30
TARGET = 1.10
WORKERS = 2


def sweep():
    """The lecture's overfitting study with SEEDS seeds."""
    seeds = ", ".join(map(str, range(SEEDS)))
    course, _, _ = load(BuildOptions(definitions=ROOT / "experiments", studies=("overfitting",),
                                     assignments=(f"overfitting.sweep.seeds=[{seeds}]",)))
    return course


def warm(executor: Executor, course) -> None:
    """One untimed computation: the workers import torch and matplotlib and load the kernels."""
    compute_studies(course, None, executor, Reporter("quiet"))


def timed(executor: Executor, course) -> float:
    """Seconds to compute the sweep on ``executor`` (its records keep the tasks)."""
    start = time.perf_counter()
    compute_studies(course, None, executor, Reporter("quiet"))
    return time.perf_counter() - start


def per_task(executor: Executor, tasks: int) -> float:
    """The client's seconds per task, from ``tasks`` empty ones."""
    start = time.perf_counter()
    for _ in executor.map(operator.neg, list(range(tasks))):
        pass
    return (time.perf_counter() - start) / tasks


def command_line_cluster(folder: Path) -> tuple[str, list[subprocess.Popen]]:
    """``dask scheduler`` on a free port of 127.0.0.1 and WORKERS ``dask worker`` processes."""
    dask = str(Path(sys.executable).with_name("dask"))
    address_file = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(address_file)], **quiet)]
    deadline = time.monotonic() + 60
    while not address_file.exists():
        if time.monotonic() > deadline:
            stop(processes)
            sys.exit("dask scheduler did not start within 60 s")
        time.sleep(0.1)
    address = json.loads(address_file.read_text())["address"]
    processes += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                                    "--host", "127.0.0.1"], **quiet) for _ in range(WORKERS)]
    return address, processes


def stop(processes: list[subprocess.Popen]) -> None:
    """Kill the scheduler and worker processes and reap them."""
    for process in processes:
        process.kill()
        process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed computations per executor (default 5)")
    parser.add_argument("--tasks", type=int, default=200, help="empty tasks timed for the per-task cost")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    course = sweep()
    runs = course.studies[0].n_runs
    print(f"sweep: overfitting with {SEEDS} seeds, {runs} runs; {WORKERS} workers each way", flush=True)
    with tempfile.TemporaryDirectory(prefix="reportgen-dask-bench-") as folder, ExitStack() as stack:
        local = stack.enter_context(LocalProcesses(WORKERS))
        local.start()  # forked before Dask's client threads exist
        address, processes = command_line_cluster(Path(folder))
        stack.callback(stop, processes)
        cluster = stack.enter_context(LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                                   host="127.0.0.1", dashboard_address=":0"))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(WORKERS, timeout=60)
        executors = {"local processes (--jobs 2)": local,
                     "LocalCluster, 2 workers": stack.enter_context(connect(cluster.scheduler_address)),
                     "dask scheduler + 2 dask worker": stack.enter_context(connect(address))}
        for executor in executors.values():
            warm(executor, course)
            executor.records.clear()
        # Taking turns, so that a spell of load from elsewhere on the machine falls on every way alike.
        seconds = {name: [] for name in executors}
        for _ in range(args.repeat):
            for name, executor in executors.items():
                seconds[name].append(timed(executor, course))
        results = {}
        for name, executor in executors.items():
            chunks = [task for task in executor.records if task.task == "train_chunk"]
            rate = sum(task.runs for task in chunks) / sum(task.seconds for task in chunks)
            results[name] = {"seconds": seconds[name], "per_task": per_task(executor, args.tasks),
                             "runs_per_second": rate,
                             "task_seconds": statistics.median(task.seconds for task in chunks)}

    baseline = statistics.median(results["local processes (--jobs 2)"]["seconds"])
    print(f"\n{'executor':<32} {'median s':>9} {'range s':>13} {'of local':>9} {'runs/s/worker':>14} "
          f"{'chunk s':>8} {'ms/task':>8}")
    failures = 0
    verdicts = []
    for name, result in results.items():
        median = statistics.median(result["seconds"])
        low, high = min(result["seconds"]), max(result["seconds"])
        ratio = median / baseline
        print(f"{name:<32} {median:9.2f} {low:6.2f}-{high:<6.2f} {100 * ratio:8.0f}% "
              f"{result['runs_per_second']:14.0f} {result['task_seconds']:8.2f} {1000 * result['per_task']:8.2f}")
        if not name.startswith("local"):
            ok = ratio <= TARGET
            failures += not ok
            verdicts.append(f"{'PASS' if ok else 'FAIL'} {name}: {100 * (ratio - 1):+.0f} % over local "
                            f"(target at most {100 * (TARGET - 1):.0f} %)")
    print()
    for line in verdicts:
        print(line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
