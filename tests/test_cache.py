"""The result store and the up-to-date check, proven on real builds of the tiny course.

One cold build of the tiny course (the ``course`` fixture) is the reference
every other build is compared with, byte for byte. Tests that change the
definitions or the store work on copies of both, so they do not depend on
their order. Builds that only need to count trained runs run in-process
with the PDF stubbed out (the PDF is a pure function of the HTML and the
course date); builds whose outputs are compared render the real PDF.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from .conftest import TINY_COURSE
from .test_build import reportgen

OUTPUTS = ("report.html", "report.pdf", "results.json")
MANIFEST = ".reportgen-manifest.json"
RUNS = {"overfitting": 12, "regularization": 6, "prior": 12, "capacity": 8}


# --------------------------------------------------------------------------- helpers


def write_course(folder: Path, edits: dict[str, tuple[str, str]] | None = None,
                 files: dict[str, str] | None = None) -> Path:
    """The tiny course in ``folder``, with ``edits`` (file -> (old, new)) applied."""
    folder.mkdir(parents=True)
    for name, text in (files or TINY_COURSE).items():
        text = text.lstrip()
        if edits and name in edits:
            old, new = edits[name]
            assert old in text, (name, old)
            text = text.replace(old, new)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def outputs_of(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


def assert_same_outputs(folder: Path, reference: dict[str, bytes]) -> None:
    for name in OUTPUTS:
        assert (folder / name).read_bytes() == reference[name], f"{name} differs from the clean build's"


def build_here(definitions: Path, out: Path, cache: Path | None, **options):
    """``reportgen build`` in this process (jobs=1), returning its summary."""
    from reportgen.build import BuildOptions, build

    return build(BuildOptions(definitions=definitions, out=out, cache=cache, **options))


def trained(summary) -> dict[str, int]:
    return {study_id: e.trained for study_id, e in summary.executions.items()}


def npz_entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("??/*.npz"))


def study_keys(definitions: Path, study_id: str):
    """The planned runs of a study and the key of its analysis entry."""
    from reportgen.plan import analysis_key, plan_study
    from reportgen.spec import load_course

    study = next(s for s in load_course(definitions).studies if s.id == study_id)
    runs = plan_study(study)
    return runs, analysis_key(study, runs)


def explained(summary, capsys) -> str:
    """What ``--explain`` prints for this summary."""
    from reportgen.cli import _explain

    capsys.readouterr()
    _explain(summary)
    return capsys.readouterr().err


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A cold build of the tiny course with a fresh store (two workers): the clean build to compare with."""
    root = tmp_path_factory.mktemp("cached")
    definitions = write_course(root / "experiments")
    result = reportgen("build", "--definitions", definitions, "--out", root / "build", "--cache", root / "cache",
                       "--jobs", "2")
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(root=root, definitions=definitions, out=root / "build", cache=root / "cache",
                           outputs=outputs_of(root / "build"))


@pytest.fixture
def copy(course, tmp_path):
    """A private copy of the course's definitions (with edits) and of its warm store."""

    def make(edits: dict[str, tuple[str, str]] | None = None) -> SimpleNamespace:
        definitions = write_course(tmp_path / "experiments", edits)
        cache = tmp_path / "cache"
        shutil.copytree(course.cache, cache)
        return SimpleNamespace(definitions=definitions, cache=cache, out=tmp_path / "build")

    return make


@pytest.fixture
def stub_pdf(monkeypatch):
    """Replace WeasyPrint by a stand-in (a digest of the HTML) where only the HTML and the runs matter."""
    monkeypatch.setattr("reportgen.pdf.render_pdf",
                        lambda html, epoch=0: b"%PDF-stub " + hashlib.sha256(html.encode()).hexdigest().encode())


@pytest.fixture
def no_training(monkeypatch):
    """Make any training, sampling or analysis fail the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a cached build computed something")

    monkeypatch.setattr("reportgen.train.train_runs", forbidden)
    monkeypatch.setattr("reportgen.prior.draw_prior", forbidden)


@pytest.fixture
def counted_training(monkeypatch):
    """Count the runs handed to the trainer and to the prior sampler."""
    import reportgen.prior
    import reportgen.train

    counts = {"trained": 0, "sampled": 0}
    train_runs, draw_prior = reportgen.train.train_runs, reportgen.prior.draw_prior

    def counting_train(jobs, *args, **kwargs):
        counts["trained"] += len(jobs)
        return train_runs(jobs, *args, **kwargs)

    def counting_draw(*args, **kwargs):
        counts["sampled"] += 1
        return draw_prior(*args, **kwargs)

    monkeypatch.setattr(reportgen.train, "train_runs", counting_train)
    monkeypatch.setattr(reportgen.prior, "draw_prior", counting_draw)
    return counts


@pytest.fixture(scope="module", autouse=True)
def _restore_torch_threads():
    # In-process builds set torch to one thread, as the build does; give later test files their default back.
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------- hits


PROBE = ("import sys\nfrom reportgen.cli import main\ncode = 0\n"
         "try:\n    main(args=sys.argv[1:], prog_name='reportgen')\nexcept SystemExit as exc:\n    code = exc.code\n"
         "print('TORCH LOADED' if 'torch' in sys.modules else 'TORCH NOT LOADED')\nsys.exit(code)\n")


@pytest.fixture(scope="module")
def warm(course, tmp_path_factory):
    """A second build of the unchanged course with --force, run through the command line in a fresh process."""
    root = tmp_path_factory.mktemp("warm")
    cache = root / "cache"
    shutil.copytree(course.cache, cache)
    result = subprocess.run([sys.executable, "-c", PROBE, "build", "--definitions", str(course.definitions),
                             "--out", str(root / "build"), "--cache", str(cache), "--force", "--explain"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(result=result, out=root / "build", cache=cache)


def test_warm_build_explains_every_study_as_0_computed(warm):
    lines = {line.split(":")[0]: line for line in warm.result.stderr.splitlines()
             if re.match(r"^\w+: \d+ reused", line)}
    assert set(lines) == set(RUNS)
    for study_id, runs in RUNS.items():
        assert lines[study_id] == f"{study_id}: {runs} reused, 0 computed"
    assert not re.search(r"^  \d+ computed, ", warm.result.stderr, re.M)  # no reasons: nothing was computed


def test_fully_cached_build_does_not_import_torch(warm):
    assert "TORCH NOT LOADED" in warm.result.stdout, warm.result.stdout


def test_warm_build_equals_the_cold_build(warm, course):
    assert_same_outputs(warm.out, course.outputs)


def test_warm_build_trains_samples_and_analyzes_nothing(copy, stub_pdf, no_training, monkeypatch):
    c = copy()
    monkeypatch.setattr("reportgen.execute.analyzer", lambda kind: pytest.fail(f"{kind} was analyzed again"))
    summary = build_here(c.definitions, c.out, c.cache, force=True)
    assert trained(summary) == {study_id: 0 for study_id in RUNS}
    assert {s: e.reused for s, e in summary.executions.items()} == RUNS
    assert summary.warnings == []


# --------------------------------------------------------------------------- misses


def test_changing_one_sweep_value_retrains_exactly_the_runs_it_touches(copy, course, stub_pdf, counted_training,
                                                                        capsys):
    # noise 0.3 -> 0.25: 3 degrees x 2 seeds of the overfitting study, nothing else.
    c = copy({"overfitting.toml": ('"data.noise" = [0.1, 0.3]', '"data.noise" = [0.1, 0.25]')})
    summary = build_here(c.definitions, c.out, c.cache)
    assert counted_training == {"trained": 6, "sampled": 0}
    assert trained(summary) == {"overfitting": 6, "regularization": 0, "prior": 0, "capacity": 0}
    reasons = summary.executions["overfitting"].reasons
    assert all("data.noise=0.25" in label and reason == "new run" for label, reason in reasons)
    text = explained(summary, capsys)
    assert "overfitting: 6 reused, 6 computed" in text
    assert re.search(r"^  6 computed, new run: model\.degree=1, data\.noise=0\.25, seed=0;", text, re.M), text
    # The reused runs report exactly the numbers of the first build.
    before = json.loads(course.outputs["results.json"])["studies"][0]["runs"]
    after = json.loads((c.out / "results.json").read_text())["studies"][0]["runs"]
    for old, new in zip(before, after):
        if old["params"]["data.noise"] == 0.1:
            assert new == old
        else:
            assert new["params"]["data.noise"] == 0.25 and new["metrics"] != old["metrics"]


def test_changing_a_fixed_value_retrains_its_study_and_explain_names_the_field(copy, stub_pdf, counted_training,
                                                                              capsys):
    c = copy({"capacity.toml": ("steps = 40", "steps = 41")})
    summary = build_here(c.definitions, c.out, c.cache)
    assert counted_training == {"trained": 8, "sampled": 0}
    assert trained(summary) == {"overfitting": 0, "regularization": 0, "prior": 0, "capacity": 8}
    assert {reason for _, reason in summary.executions["capacity"].reasons} == {"changed: config (train.steps)"}
    assert "  8 computed, changed: config (train.steps): model.width=1, model.depth=1, seed=0;" in \
        explained(summary, capsys)


def test_prose_edit_retrains_nothing_but_changes_the_html(copy, course, stub_pdf, no_training, monkeypatch):
    c = copy({"course.toml": ('subtitle = "A fixture"', 'subtitle = "A fixture, reworded"')})
    monkeypatch.setattr("reportgen.execute.analyzer", lambda kind: pytest.fail(f"{kind} was analyzed again"))
    summary = build_here(c.definitions, c.out, c.cache)
    assert trained(summary) == {study_id: 0 for study_id in RUNS}
    html = (c.out / "report.html").read_bytes()
    assert html != course.outputs["report.html"]
    assert b"A fixture, reworded" in html
    assert (c.out / "results.json").read_bytes() == course.outputs["results.json"]


def test_code_version_change_recomputes_every_run(copy, stub_pdf, counted_training, monkeypatch, capsys):
    c = copy()
    monkeypatch.setattr("reportgen.plan.code_version", lambda: "edited-trainer")
    summary = build_here(c.definitions, c.out, c.cache)
    assert trained(summary) == RUNS
    assert counted_training == {"trained": 12 + 6 + 8, "sampled": 12}
    assert {reason for e in summary.executions.values() for _, reason in e.reasons} == {"changed: code version"}
    assert "  12 computed, changed: code version: model.degree=1, data.noise=0.1, seed=0;" in \
        explained(summary, capsys)


def test_library_version_change_recomputes_every_run_and_names_the_library(copy, stub_pdf, counted_training,
                                                                           monkeypatch):
    from reportgen.plan import library_versions

    real = library_versions()
    c = copy()
    monkeypatch.setattr("reportgen.plan.library_versions", lambda: {**real, "numpy": "0.0.1"})
    summary = build_here(c.definitions, c.out, c.cache)
    assert trained(summary) == RUNS
    assert counted_training == {"trained": 12 + 6 + 8, "sampled": 12}
    reasons = {reason for e in summary.executions.values() for _, reason in e.reasons}
    assert reasons == {f"changed: library versions (numpy {real['numpy']} -> 0.0.1)"}


def test_switching_the_gradient_kernel_retrains_trained_runs_only_and_names_both_kernels(copy, stub_pdf,
                                                                                       counted_training, monkeypatch):
    from reportgen import native

    c = copy()
    before = {kind: native.backend_id(kind) for kind in ("polynomial", "mlp")}
    assert sum(trained(build_here(c.definitions, c.out, c.cache)).values()) == 0
    monkeypatch.setenv("REPORTGEN_KERNEL", "torch")
    summary = build_here(c.definitions, c.out, c.cache)
    assert not summary.up_to_date
    assert trained(summary) == {"overfitting": 12, "regularization": 6, "prior": 0, "capacity": 8}
    assert counted_training == {"trained": 12 + 6 + 8, "sampled": 0}
    assert {reason for e in summary.executions.values() for _, reason in e.reasons} == {
        f"changed: gradient kernel ({identity} -> torch)" for identity in before.values()}
    assert summary.kernel == "torch (no C kernel: mlp: REPORTGEN_KERNEL=torch; polynomial: REPORTGEN_KERNEL=torch)"
    assert json.loads((c.out / "build-info.json").read_text())["kernel"] == summary.kernel


def test_sweeping_a_single_value_redraws_the_analysis_without_retraining(tmp_path, stub_pdf):
    # Same runs, but "data.noise" becomes a swept field: its legends and labels must change with it.
    definitions = write_course(tmp_path / "experiments", files={
        "course.toml": TINY_COURSE["course.toml"].replace('"regularization", "prior", "capacity"', ""),
        "overfitting.toml": TINY_COURSE["overfitting.toml"].replace('"data.noise" = [0.1, 0.3]\n', "")})
    cache = tmp_path / "cache"
    build_here(definitions, tmp_path / "first", cache)
    study = definitions / "overfitting.toml"
    study.write_text(study.read_text() + '"data.noise" = [0.1]\n')
    summary = build_here(definitions, tmp_path / "warm", cache)
    assert trained(summary) == {"overfitting": 0}
    build_here(definitions, tmp_path / "cold", None)
    assert_same_outputs(tmp_path / "warm", outputs_of(tmp_path / "cold"))


# --------------------------------------------------------------------------- damaged or unusable stores


@pytest.fixture(scope="module")
def repaired(course, tmp_path_factory):
    """A build over a store with one garbage run entry (overfitting) and one garbage analysis entry (capacity)."""
    root = tmp_path_factory.mktemp("repaired")
    cache = root / "cache"
    shutil.copytree(course.cache, cache)
    runs, overfitting_analysis = study_keys(course.definitions, "overfitting")
    damaged = runs[5]
    entry = cache / damaged.key[:2] / f"{damaged.key}.npz"
    assert entry.is_file()
    entry.write_bytes(b"garbage, not an npz archive")
    # A valid analysis entry is all a warm build reads; remove the study's, as an edit of the analysis code would.
    (cache / "analysis" / f"{overfitting_analysis}.json").unlink()
    _, capacity_analysis = study_keys(course.definitions, "capacity")
    analysis_entry = cache / "analysis" / f"{capacity_analysis}.json"
    analysis_entry.write_bytes(b'{"statuses": ["ok", "o')
    summary = build_here(course.definitions, root / "build", cache)
    return SimpleNamespace(summary=summary, cache=cache, out=root / "build", run=damaged, entry=entry,
                           analysis_entry=analysis_entry)


def test_corrupt_run_entry_is_reported_recomputed_and_replaced(repaired):
    from reportgen.cache import ResultCache

    summary = repaired.summary
    assert trained(summary) == {"overfitting": 1, "regularization": 0, "prior": 0, "capacity": 0}
    assert summary.executions["overfitting"].reasons == ((repaired.run.label, "cache entry missing or unreadable"),)
    assert any(repaired.entry.name in w and "unreadable" in w for w in summary.warnings), summary.warnings
    store = ResultCache(repaired.cache)
    assert store.get(repaired.run.key) is not None and store.warnings == []


def test_corrupt_analysis_entry_is_reported_and_redone_without_training(repaired):
    summary = repaired.summary
    assert summary.executions["capacity"].trained == 0
    assert any(repaired.analysis_entry.name in w and "unreadable" in w for w in summary.warnings), summary.warnings
    assert json.loads(repaired.analysis_entry.read_text())["statuses"] == ["ok"] * RUNS["capacity"]
    assert len(summary.warnings) == 2


def test_build_over_corrupt_entries_equals_a_clean_build(repaired, course):
    assert_same_outputs(repaired.out, course.outputs)


def _assert_refused(result: subprocess.CompletedProcess, cache: Path, out: Path) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(cache) in lines[0] and "not writable" in lines[0] and "--no-cache" in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_cache_folder_that_cannot_be_created_is_bad_input(course, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cache, out = blocker / "cache", tmp_path / "build"
    result = reportgen("build", "--definitions", course.definitions, "--out", out, "--cache", cache)
    _assert_refused(result, cache, out)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="permissions do not stop root")
def test_read_only_cache_folder_is_bad_input(course, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "build"
    cache.mkdir()
    cache.chmod(0o500)
    try:
        result = reportgen("build", "--definitions", course.definitions, "--out", out, "--cache", cache)
    finally:
        cache.chmod(0o700)
    _assert_refused(result, cache, out)


# --------------------------------------------------------------------------- killed and concurrent builds


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the build's workers")
def test_killed_build_leaves_the_previous_report_and_the_next_build_completes_it(course, tmp_path):
    # A slower version of the course: the sampling study finishes (and is stored) long before the training one.
    slow = {"course.toml": ('"overfitting", "regularization", "prior", "capacity"', '"prior", "overfitting"'),
            "overfitting.toml": ("steps = 60", "steps = 4000")}
    definitions = write_course(tmp_path / "experiments", slow)
    cache, out = tmp_path / "cache", tmp_path / "build"
    # The previous report: a successful build of another version of the course, with its manifest.
    out.mkdir()
    for name in (*OUTPUTS, MANIFEST):
        shutil.copy2(course.out / name, out / name)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    build = subprocess.Popen([sys.executable, "-m", "reportgen", "build", "--definitions", str(definitions),
                              "--out", str(out), "--cache", str(cache), "--jobs", "2", "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not npz_entries(cache) and build.poll() is None and time.monotonic() < deadline:
            workers = _children(build.pid) or workers
            time.sleep(0.02)
        workers = _children(build.pid) or workers
        assert build.poll() is None, f"the build ended before it could be killed: {build.stderr.read()}"
        assert npz_entries(cache), "no cache entry appeared"
        os.kill(build.pid, signal.SIGKILL)
        build.wait(timeout=30)
        assert len(workers) == 2
        # Its workers stop too, instead of idling forever.
        deadline = time.monotonic() + 10
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(_alive, workers)), "a worker outlived its killed build"
    finally:
        for pid in [build.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        build.stderr.close()

    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # same files, same bytes, no stray temporaries

    # Finish it, and meanwhile build the same definitions from scratch in fresh folders.
    clean = subprocess.Popen([sys.executable, "-m", "reportgen", "build", "--definitions", str(definitions),
                              "--out", str(tmp_path / "clean"), "--no-cache", "--jobs", "1", "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    resumed = reportgen("build", "--definitions", definitions, "--out", out, "--cache", cache, "--explain")
    clean_err = clean.communicate(timeout=600)[1]
    assert clean.returncode == 0, clean_err
    assert resumed.returncode == 0, resumed.stderr
    reused = sum(int(n) for n in re.findall(r"^\w+: (\d+) reused", resumed.stderr, re.M))
    assert reused >= 1, resumed.stderr  # what the killed build stored is used
    assert_same_outputs(out, outputs_of(tmp_path / "clean"))
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUTPUTS, MANIFEST, "build-info.json"])


def test_concurrent_builds_on_one_store_and_one_output_folder_both_succeed(course, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "build"
    command = [sys.executable, "-m", "reportgen", "build", "--definitions", str(course.definitions), "--out", str(out),
               "--cache", str(cache), "--quiet"]
    builds = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(b, b.communicate(timeout=600)) for b in builds]
    for build, (_, stderr) in results:
        assert build.returncode == 0, stderr
    assert_same_outputs(out, course.outputs)
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUTPUTS, MANIFEST, "build-info.json"])
    assert len(npz_entries(cache)) == sum(RUNS.values())
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- determinism


def test_cold_builds_are_byte_identical_serial_or_parallel(course, tmp_path):
    # The reference is a cold build with two workers; this one is cold, serial and never touches a store.
    result = reportgen("build", "--definitions", course.definitions, "--out", tmp_path / "serial", "--no-cache",
                       "--jobs", "1", "--quiet")
    assert result.returncode == 0, result.stderr
    assert_same_outputs(tmp_path / "serial", course.outputs)


# --------------------------------------------------------------------------- the up-to-date manifest


def test_unchanged_second_build_is_a_no_op(copy, course):
    c = copy()
    c.out.mkdir()
    for name in (*OUTPUTS, MANIFEST):
        shutil.copy2(course.out / name, c.out / name)
        os.utime(c.out / name, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    result = reportgen("build", "--definitions", c.definitions, "--out", c.out, "--cache", c.cache, "--explain")
    assert result.returncode == 0, result.stderr
    assert f"{c.out}: up to date" in result.stderr
    assert "nothing was rebuilt" in result.stderr
    for name in (*OUTPUTS, MANIFEST):
        assert (c.out / name).stat().st_mtime_ns == 1_000_000_000_000_000_000, name
    assert_same_outputs(c.out, course.outputs)


def test_changed_definition_or_template_rebuilds(copy, stub_pdf, tmp_path):
    from reportgen.render import BUILTIN_TEMPLATES

    c = copy()
    templates = tmp_path / "templates"
    templates.mkdir()
    shutil.copy(BUILTIN_TEMPLATES / "report.css", templates / "report.css")
    options = {"templates": (templates,)}
    assert not build_here(c.definitions, c.out, c.cache, **options).up_to_date
    assert build_here(c.definitions, c.out, c.cache, **options).up_to_date

    study = c.definitions / "capacity.toml"
    study.write_text(study.read_text().replace('title = "Capacity"', 'title = "Capacity, retitled"'))
    summary = build_here(c.definitions, c.out, c.cache, **options)
    assert not summary.up_to_date and trained(summary)["capacity"] == 0
    assert "Capacity, retitled" in (c.out / "report.html").read_text()
    assert build_here(c.definitions, c.out, c.cache, **options).up_to_date

    with (templates / "report.css").open("a") as css:
        css.write("\n.marker-for-the-test { color: red; }\n")
    assert not build_here(c.definitions, c.out, c.cache, **options).up_to_date
    assert ".marker-for-the-test" in (c.out / "report.html").read_text()
    assert build_here(c.definitions, c.out, c.cache, **options).up_to_date


def test_deleted_or_edited_output_is_rebuilt(copy, stub_pdf):
    c = copy()
    build_here(c.definitions, c.out, c.cache)
    built = outputs_of(c.out)
    (c.out / "report.pdf").unlink()
    assert not build_here(c.definitions, c.out, c.cache).up_to_date
    assert outputs_of(c.out) == built
    (c.out / "results.json").write_text("{}")
    assert not build_here(c.definitions, c.out, c.cache).up_to_date
    assert outputs_of(c.out) == built
    assert build_here(c.definitions, c.out, c.cache).up_to_date


# --------------------------------------------------------------------------- clean


def test_clean_removes_the_outputs_and_their_manifest_but_keeps_the_store(course, tmp_path):
    definitions = write_course(tmp_path / "experiments")
    out, cache = tmp_path / "build", tmp_path / ".reportgen-cache"
    shutil.copytree(course.out, out)
    shutil.copytree(course.cache, cache)
    result = reportgen("clean", "--definitions", definitions, "--out", out)
    assert result.returncode == 0, result.stderr
    assert not out.exists()
    assert npz_entries(cache)


def test_clean_cache_removes_the_store_beside_the_definitions_or_the_one_named(course, tmp_path):
    definitions = write_course(tmp_path / "experiments")
    beside = tmp_path / ".reportgen-cache"
    named = tmp_path / "elsewhere"
    shutil.copytree(course.cache, beside)
    shutil.copytree(course.cache, named)
    assert reportgen("clean", "--definitions", definitions, "--out", tmp_path / "build", "--cache").returncode == 0
    assert not beside.exists() and named.exists()
    assert reportgen("clean", "--definitions", definitions, "--out", tmp_path / "build", "--cache",
                     "--cache-dir", named).returncode == 0
    assert not named.exists()
