"""Shared fixtures: the lecture's data, jobs for the trainer, a tiny course on disk and the names of what a build
writes, and the one way to run the command line (:func:`run_reportgen`). Helpers that read outputs are in support.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from reportgen.data import make_dataset
from reportgen.schema import DataSpec, MLPSpec, PolynomialSpec, TrainSpec
from reportgen.train import RegressionJob

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"


def pytest_configure(config) -> None:
    """One store key for the whole session, outside the user's own config: set before xdist starts its workers,
    so every worker and every CLI subprocess signs and verifies with the same key."""
    if not hasattr(config, "workerinput") and "REPORTGEN_TEST_CONFIG" not in os.environ:
        folder = tempfile.mkdtemp(prefix="reportgen-tests-config-")
        os.environ["REPORTGEN_TEST_CONFIG"] = os.environ["XDG_CONFIG_HOME"] = folder
        os.environ.pop("REPORTGEN_KEY_FILE", None)


@pytest.fixture(scope="session")
def lecture_data():
    """The lecture's data set at its default noise."""
    return make_dataset(DataSpec())


def polynomial_job(data, degree: int, seed: int = 0, steps: int = 100, lr: float = 0.01, weight_decay: float = 0.0,
                   y=None) -> RegressionJob:
    """A polynomial run on ``data``."""
    return RegressionJob(model=PolynomialSpec(kind="polynomial", degree=degree),
                         train=TrainSpec(steps=steps, lr=lr, weight_decay=weight_decay), seed=seed,
                         x_train=data.x_train, y_train=data.y_train if y is None else y, x_test=data.x_test)


def mlp_job(data, width: int, depth: int = 1, activation: str = "tanh", seed: int = 0, steps: int = 100,
            lr: float = 0.01, weight_decay: float = 0.0, y=None) -> RegressionJob:
    """An MLP run on ``data``."""
    return RegressionJob(model=MLPSpec(kind="mlp", width=width, depth=depth, activation=activation),
                         train=TrainSpec(steps=steps, lr=lr, weight_decay=weight_decay), seed=seed,
                         x_train=data.x_train, y_train=data.y_train if y is None else y, x_test=data.x_test)


@pytest.fixture(params=["c", "torch"], ids=["c-kernel", "torch-kernel"])
def kernel(request, monkeypatch) -> str:
    """Take gradients from the C kernel (which must be available) or from the torch fallback."""
    from reportgen import native

    monkeypatch.setenv("REPORTGEN_KERNEL", request.param)
    if request.param == "c":
        for kind in native.KINDS:
            found = native.kernel(kind)
            assert isinstance(found, native.Kernel), f"the {kind} C kernel is unavailable: {found.reason}"
    return request.param


TINY_COURSE = {
    "course.toml": '''
title = "Tiny course"
subtitle = "A fixture"
authors = ["Test Author"]
date = 2026-01-02
studies = ["overfitting", "regularization", "prior", "capacity"]
''',
    "overfitting.toml": '''
kind = "overfitting"
title = "Overfitting"
[model]
kind = "polynomial"
degree = 3
[train]
steps = 60
[sweep]
"model.degree" = [1, 3, 12]
"data.noise" = [0.1, 0.3]
seeds = [0, 1]
''',
    "regularization.toml": '''
kind = "regularization"
title = "Regularization"
[model]
kind = "polynomial"
degree = 20
[train]
steps = 60
[sweep]
"train.weight_decay" = [0.0, 0.1, 1.0]
seeds = [0, 1]
''',
    "prior.toml": '''
kind = "prior"
title = "Prior"
[model]
kind = "mlp"
[sampling]
draws = 3
spread_draws = 20
spread_points = 5
points = 50
[sweep]
"model.width" = [1, 10, 30]
"model.activation" = ["tanh", "relu"]
"model.depth" = [1, 2]
''',
    "capacity.toml": '''
kind = "capacity"
title = "Capacity"
[model]
kind = "mlp"
activation = "tanh"
[train]
steps = 40
[sweep]
"model.width" = [1, 3]
"model.depth" = [1, 2]
seeds = [0, 1]
''',
}


@pytest.fixture
def tiny_course(tmp_path) -> Path:
    """A small but complete course (all four kinds, few steps) in a temporary folder."""
    return write_course(tmp_path / "experiments")


def write_course(folder: Path, *, edits: dict[str, tuple[str, str]] | None = None,
                 files: dict[str, str] | None = None, course_lines: str = "") -> Path:
    """The tiny course (or ``files``) in ``folder``, with ``edits`` (file -> (old, new)) applied and
    ``course_lines`` appended to course.toml; return the folder."""
    written = {}
    for name, text in (files or TINY_COURSE).items():
        text = text.lstrip() + (course_lines if name == "course.toml" else "")
        if edits and name in edits:
            old, new = edits[name]
            assert old in text, (name, old)
            text = text.replace(old, new)
        written[name] = text
    folder.mkdir(parents=True)
    return write_files(folder, written)


def build_here(definitions: Path, out: Path, cache: Path | None, **options):
    """``reportgen build`` in this process (jobs=1), through the library rather than the CLI: its summary."""
    from reportgen.build import BuildOptions, build

    return build(BuildOptions(definitions=definitions, out=out, cache=cache, **options))


def result_store(tmp_path_factory) -> Path:
    """One result store for every build of the tiny course in this session (it is content-addressed)."""
    return tmp_path_factory.getbasetemp() / "tiny-course-result-store"


OUTPUTS = ("report.html", "report.pdf", "results.json", "lab-solutions.ipynb")
"""What a default build (instructor edition, the course's own language, notebooks on) writes."""


EDITIONS = ["report.html", "report.es.html", "report-student.html", "report-student.es.html"]
"""The HTML editions of a course built with --audience all --lang all."""


@pytest.fixture(scope="session")
def tiny_editions(tmp_path_factory) -> Path:
    """The tiny course in all four editions (instructor and student, English and Spanish, HTML and PDF), built
    once per test process by the real command: their folder."""
    root = tmp_path_factory.mktemp("tiny-editions")
    definitions = write_files(root / "experiments", TINY_COURSE)
    result = run_reportgen("build", "--definitions", definitions, "--out", root / "build", "--cache", root / "cache",
                           "--audience", "all", "--lang", "all", "--quiet")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (root / "build").glob("*.html")) == sorted(EDITIONS)
    return root / "build"


@pytest.fixture
def lecture_course(tmp_path) -> Path:
    """A copy of the shipped definitions."""
    folder = tmp_path / "experiments"
    shutil.copytree(EXPERIMENTS, folder)
    return folder


def relative_error(a, b) -> float:
    """Largest elementwise relative difference."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-30)))


REPORTGEN = (sys.executable, "-m", "reportgen")
"""The command line that runs reportgen as a user would, for a test that must start it itself (in the
background, or inside a mount namespace); every other test calls :func:`run_reportgen`."""


def run_reportgen(*args, cwd: Path | None = None, env: dict | None = None, timeout: float = 600,
                  in_process: bool = False) -> "subprocess.CompletedProcess[str]":
    """Run ``python -m reportgen`` with ``args`` and capture its output.

    ``in_process`` runs the same command line in this process instead, through click's test runner: a second
    sooner (no interpreter to start), for commands that train and render nothing (bad input, check, init).
    """
    args = [str(arg) for arg in args]
    if in_process:
        from click.testing import CliRunner

        from reportgen.cli import main

        assert cwd is None and env is None, "a command run in this process has this process's folder and environment"
        result = CliRunner().invoke(main, args, prog_name="reportgen", catch_exceptions=False)
        return subprocess.CompletedProcess([*REPORTGEN, *args], result.exit_code, result.stdout, result.stderr)
    return subprocess.run([*REPORTGEN, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def write_files(folder: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (name -> text) into ``folder``, created if needed; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text.lstrip(), encoding="utf-8")
    return folder


def install_plugin(package: Path, work: Path) -> dict[str, str]:
    """Pip-install the plug-in package folder ``package`` (from a copy) into ``work``/site, as a third party's kind
    would be installed; return an environment whose PYTHONPATH holds it, for reportgen subprocesses only, so that
    importlib.metadata finds its entry point there and the rest of the suite never sees it."""
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    source = shutil.copytree(package, work / "source", ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                                     "__pycache__"))
    site = work / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--no-cache-dir", "--quiet", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    paths = [str(site), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


@pytest.fixture(scope="session")
def mount_namespace(tmp_path_factory) -> list[str]:
    """A command prefix that runs in a private mount namespace where mounting works (root, or a user namespace).

    Mounts made there vanish with it, so a read-only or full file system binds even root and leaks nowhere.
    """
    unshare = shutil.which("unshare")
    probe = tmp_path_factory.mktemp("mount-probe")
    candidates = ([unshare, "-m"], [unshare, "-r", "-m"]) if os.geteuid() == 0 else ([unshare, "-r", "-m"],)
    for prefix in candidates if unshare else ():
        tried = subprocess.run([*prefix, "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$1"', "sh", str(probe)],
                               capture_output=True, timeout=60)
        if tried.returncode == 0:
            return prefix
    pytest.skip("cannot mount in a private namespace here (no unshare, not root and no user namespaces)")


def in_mount_namespace(prefix: list[str], script: str, *args, **run) -> "subprocess.CompletedProcess[str]":
    """Run the shell ``script`` (its arguments as $1...) in a fresh private mount namespace; ``run`` goes to
    subprocess.run (cwd, env, timeout)."""
    return subprocess.run([*prefix, "sh", "-c", script, "sh", *map(str, args)], capture_output=True, text=True,
                          **{"timeout": 600, **run})


# --------------------------------------------------------------------------- a stranger's course, refused

COURSE = '''
title = "Safety course"
date = 2026-01-02
studies = ["overfitting"]
'''

# A million steps: if any refusal below came after training, the test would run into its timeout instead.
SLOW_STUDY = '''
kind = "overfitting"
title = "Overfitting"
[model]
kind = "polynomial"
degree = 3
[train]
steps = 1000000
[sweep]
"model.degree" = [1, 3]
'''

QUICK_STUDY = SLOW_STUDY.replace("steps = 1000000", "steps = 30")

REFUSAL_TIMEOUT = 60
"""Seconds a refusal may take; the slow study trains for far longer than this."""


@pytest.fixture
def slow_course(tmp_path) -> Path:
    """A one-study course whose training would take minutes."""
    return write_files(tmp_path / "course", {"course.toml": COURSE, "overfitting.toml": SLOW_STUDY})


def one_line(result: subprocess.CompletedProcess, status: int) -> str:
    """The only line of stderr, with exit ``status`` and no traceback."""
    assert result.returncode == status, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def refuse(*args, cwd: Path | None = None) -> str:
    """Run reportgen, insist on exit 2 with one line and no traceback; return that line."""
    return one_line(run_reportgen(*args, cwd=cwd, timeout=REFUSAL_TIMEOUT), 2)


CATALOGUE = "locale/es/LC_MESSAGES/messages.po"
"""Where a templates folder keeps its Spanish catalogue."""


def po_text(entries: dict[str, str | tuple[str, str]]) -> str:
    """A Spanish gettext catalogue translating ``entries`` (English -> Spanish, or a counted pair keyed by the
    singular, whose English plural is the singular with an s)."""
    lines = ['msgid ""', 'msgstr ""', '"Language: es\\n"', '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"',
             '"Content-Type: text/plain; charset=utf-8\\n"', ""]
    for english, spanish in entries.items():
        quote = lambda text: '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'  # noqa: E731
        if isinstance(spanish, tuple):
            lines += [f"msgid {quote(english)}", f"msgid_plural {quote(english + 's')}",
                      f"msgstr[0] {quote(spanish[0])}", f"msgstr[1] {quote(spanish[1])}", ""]
        else:
            lines += [f"msgid {quote(english)}", f"msgstr {quote(spanish)}", ""]
    return "\n".join(lines)


def figure_svg(html: str, figure_id: str) -> str:
    """The SVG text of the figure ``figure_id`` in a report page (its image is a percent-encoded data URI)."""
    import re
    from urllib.parse import unquote

    figure = re.search(rf'<figure id="{re.escape(figure_id)}".*?</figure>', html, re.S).group(0)
    return unquote(re.search(r'src="data:image/svg\+xml,([^"]+)"', figure).group(1))
