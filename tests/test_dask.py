"""Building on a Dask cluster: real LocalCluster and real `dask scheduler` / `dask worker` processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import dask
import pytest
from distributed import Client, LocalCluster, WorkerPlugin

from reportgen.build import BuildOptions, build, compute_studies, load
from reportgen.cluster import connect
from reportgen.errors import BadInputError, BuildError
from reportgen.progress import Reporter

from .conftest import OUTPUTS, TINY_COURSE, run_reportgen, write_files

# Workers unpickle this module's hook and plugin by value: they cannot import the test suite.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

STUDIES = ("overfitting", "prior", "capacity")
"""The tiny course less regularization, which trains polynomials as overfitting does: both kernels, and sampling."""
TRAINED_RUNS = 12 + 8  # overfitting's and capacity's
PRIOR_RUNS = 12
PRIOR_DEPTHS = 2


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The tiny course's studies of :data:`STUDIES`, shared by every build of this module."""
    files = {name: text for name, text in TINY_COURSE.items() if name.removesuffix(".toml") in STUDIES}
    files["course.toml"] = TINY_COURSE["course.toml"].replace('"regularization", ', "")
    assert 'studies = ["overfitting", "prior", "capacity"]' in files["course.toml"]
    return write_files(tmp_path_factory.mktemp("dask") / "experiments", files)


DASK_MODULES_AFTER = ("import sys\nfrom reportgen.cli import main\n"
                      "try:\n    main(sys.argv[1:], prog_name='reportgen')\nexcept SystemExit as exc:\n"
                      "    assert not exc.code, exc.code\n"
                      "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n")


@pytest.fixture(scope="module")
def local_build(course) -> tuple[dict[str, bytes], str]:
    """Every output of a local build (two processes), which each cluster build must reproduce byte for byte, and
    the Dask modules that build had loaded (printed by the probe that ran it)."""
    out = course.parent / "local"
    env = {key: value for key, value in os.environ.items() if key != "DASK_SCHEDULER_ADDRESS"}
    result = subprocess.run([sys.executable, "-c", DASK_MODULES_AFTER, "build", "--definitions", str(course),
                             "--out", str(out), "--cache", str(course.parent / "local-cache"), "--jobs", "2",
                             "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return {name: (out / name).read_bytes() for name in OUTPUTS}, result.stdout.strip()


@pytest.fixture(scope="module")
def local_outputs(local_build) -> dict[str, bytes]:
    """The local build's outputs by name."""
    return local_build[0]


@pytest.fixture(scope="module")
def local_cluster():
    """A LocalCluster of two single-threaded worker processes."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        yield cluster, client


class StoreWatch:
    """An audit hook, installed in each worker: every file operation that names a path inside the store."""

    EVENTS = {"open", "os.rename", "os.replace", "os.mkdir", "os.remove", "os.rmdir", "os.listdir", "os.scandir",
              "shutil.copyfile", "shutil.rmtree"}

    def __init__(self, store: str):
        self.store, self.seen = store, []

    def __call__(self, event, args):
        if event in self.EVENTS:
            for arg in args:
                if isinstance(arg, (str, bytes, os.PathLike)) and os.fsdecode(arg).startswith(self.store):
                    self.seen.append((event, os.fsdecode(arg)))


def _watch_store(store: str) -> None:
    import builtins

    builtins._reportgen_store_watch = StoreWatch(store)
    sys.addaudithook(builtins._reportgen_store_watch)


def _store_operations() -> list:
    import builtins

    return builtins._reportgen_store_watch.seen


@pytest.fixture(scope="module")
def local_cluster_build(course, local_cluster):
    """A cold build on the LocalCluster, with the workers watching every touch of the store."""
    cluster, client = local_cluster
    store = course.parent / "cluster-cache"
    client.run(_watch_store, str(store))
    out = course.parent / "on-local-cluster"
    summary = build(BuildOptions(definitions=course, out=out, cache=store, scheduler=cluster.scheduler_address))
    return out, store, summary, client.run(_store_operations)


def test_a_local_cluster_build_gives_every_output_byte_for_byte_as_a_local_one(local_cluster_build, local_outputs):
    out = local_cluster_build[0]
    for name in OUTPUTS:
        assert (out / name).read_bytes() == local_outputs[name], f"{name} differs from the local build"


def test_only_the_client_writes_the_store_and_workers_never_touch_it(local_cluster_build):
    out, store, summary, operations = local_cluster_build
    assert len(operations) == 2 and operations == {address: [] for address in operations}
    entries = [path for path in store.rglob("*") if path.is_file() and path.parent != store]
    assert len(entries) >= TRAINED_RUNS + PRIOR_RUNS + len(STUDIES)  # the client wrote every run and analysis


def test_build_info_says_which_worker_computed_what(local_cluster_build, local_cluster):
    out, _, summary, _ = local_cluster_build
    info = json.loads((out / "build-info.json").read_text())
    assert info["executor"].startswith(f"Dask scheduler {local_cluster[0].scheduler_address} (2 workers")
    workers = set(local_cluster[1].scheduler_info()["workers"])
    assert {task["worker"] for task in info["tasks"]} <= workers
    by_task = {}
    for task in info["tasks"]:
        by_task[task["task"]] = by_task.get(task["task"], 0) + task["runs"]
    assert by_task == {"train_chunk": TRAINED_RUNS, "compute_run": PRIOR_RUNS, "analysis_payload": 0, "draw_figure": 0}
    assert sum(1 for task in info["tasks"] if task["task"] == "analysis_payload") == len(STUDIES)
    # The prior's grids of draws, one per depth (1 and 2), are drawn as units of their own, on the cluster too.
    drawn = [task for task in info["tasks"] if task["task"] == "draw_figure"]
    assert len(drawn) == PRIOR_DEPTHS and {task["study"] for task in drawn} == {"prior"}


def test_runs_in_the_store_are_never_sent_to_the_cluster(local_cluster_build, local_cluster, course):
    _, store, _, _ = local_cluster_build
    cached, _, _ = load(BuildOptions(definitions=course))
    with connect(local_cluster[0].scheduler_address) as executor:
        compute_studies(cached, store, executor, Reporter("quiet"))
        assert executor.records == []
    one_more_seed, _, _ = load(BuildOptions(definitions=course, assignments=("overfitting.sweep.seeds=[0, 1, 2]",)))
    with connect(local_cluster[0].scheduler_address) as executor:
        compute_studies(one_more_seed, store, executor, Reporter("quiet"))
        sent = list(executor.records)
    assert sum(task.runs for task in sent if task.task == "train_chunk") == 6  # the new seed's
    assert {task.study for task in sent} == {"overfitting"}


def test_a_worker_with_another_gradient_kernel_fails_its_task_naming_both(local_cluster, course, monkeypatch):
    # The client takes the torch fallback, so its cache keys assume torch; the workers compiled the C kernel.
    monkeypatch.setenv("REPORTGEN_KERNEL", "torch")
    definitions, _, _ = load(BuildOptions(definitions=course, studies=("overfitting",)))
    with connect(local_cluster[0].scheduler_address) as executor, pytest.raises(BuildError) as failure:
        compute_studies(definitions, None, executor, Reporter("quiet"))
    message = failure.value.message
    assert message.startswith("worker tcp://127.0.0.1:")
    assert message.split()[1].rstrip(":") in local_cluster[1].nthreads()
    assert "polynomial gradients with 'c " in message and "cache keys assume 'torch'" in message


# --------------------------------------------------------------------------- dask scheduler / dask worker commands


def _dask(*args: str, **popen) -> subprocess.Popen:
    command = Path(sys.executable).with_name("dask")
    return subprocess.Popen([str(command), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)


@pytest.fixture
def command_line_cluster(tmp_path):
    """`dask scheduler` on a free port of 127.0.0.1 and two `dask worker`s without nannies (a kill is final)."""
    address_file = tmp_path / "scheduler.json"
    scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                      "--scheduler-file", str(address_file))
    processes = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        workers = {name: _dask("worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                               "--no-dashboard", "--host", "127.0.0.1") for name in ("doomed", "survivor")}
        processes += workers.values()
        with Client(address) as client:
            client.wait_for_workers(2, timeout=60)
            yield address, workers, client
    finally:
        for process in processes:
            process.kill()
            process.wait()


class KillOnFirstTask(WorkerPlugin):
    """SIGKILLs the worker named ``doomed`` as it starts its first task: it dies with the task in hand.

    Any task, not a chunk in particular: which units the scheduler hands a worker is its business, but a live
    worker always gets some of a build's dozens."""

    def setup(self, worker):
        self.doomed = worker.name == "doomed"

    def transition(self, key, start, finish, **kwargs):
        if self.doomed and finish == "executing":
            os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_mid_build_leaves_the_same_bytes(command_line_cluster, course, local_outputs, tmp_path):
    address, workers, client = command_line_cluster
    client.register_plugin(KillOnFirstTask(), name="kill-on-first-task")
    survivor = next(a for a, w in client.scheduler_info()["workers"].items() if w["name"] == "survivor")
    build(BuildOptions(definitions=course, out=tmp_path / "out", cache=tmp_path / "cache", scheduler=address))
    assert workers["doomed"].wait(timeout=30) == -signal.SIGKILL
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).read_bytes() == local_outputs[name], f"{name} differs from the local build"
    info = json.loads((tmp_path / "out" / "build-info.json").read_text())
    assert {task["worker"] for task in info["tasks"]} == {survivor}


# --------------------------------------------------------------------------- no cluster


def test_an_unreachable_scheduler_fails_fast_with_one_line_and_writes_nothing(course, tmp_path):
    with socket.socket() as probe:  # a free port that nothing listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DASK_SCHEDULER_ADDRESS": f"tcp://127.0.0.1:{port}",
           "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}
    start = time.monotonic()
    result = run_reportgen("build", "--definitions", course, "--out", tmp_path / "out", "--cache", tmp_path / "cache",
                           cwd=tmp_path, env=env, timeout=60)
    assert time.monotonic() - start < 30
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: --scheduler tcp://127.0.0.1:{port}: cannot reach the Dask scheduler within 3 s (OSError); "
        "nothing was written"]
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_a_build_without_a_scheduler_never_imports_dask(local_build):
    assert local_build[1] == "[]"


def test_a_scheduler_address_that_is_not_one_is_bad_input():
    with pytest.raises(BadInputError) as refusal:
        connect("hello world")
    assert refusal.value.exit_code == 2
    assert refusal.value.message == ("--scheduler hello world: not a Dask scheduler address "
                                     "(missing port number in address 'hello world')")


def test_a_scheduler_without_workers_fails_with_one_line():
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty, \
            dask.config.set({"distributed.comm.timeouts.connect": "1s"}), pytest.raises(BuildError) as failure:
        connect(empty.scheduler_address)
    assert failure.value.message == (f"--scheduler {empty.scheduler_address}: the scheduler has no worker "
                                     f"(waited 1 s); start one with: dask worker {empty.scheduler_address}")


def test_without_dask_installed_a_scheduler_is_refused_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an interpreter without it finds
    with pytest.raises(BadInputError, match=r"^--scheduler needs Dask, which is not installed: "
                                            r"pip install 'reportgen\[dask\]'$"):
        connect("tcp://127.0.0.1:1")
