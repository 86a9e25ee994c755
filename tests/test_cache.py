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

from .conftest import (
    OUTPUTS,
    REPORTGEN,
    TINY_COURSE,
    build_here,
    in_mount_namespace,
    run_reportgen,
    write_course,
)

MANIFEST = ".reportgen-manifest.json"
RUNS = {"overfitting": 12, "regularization": 6, "prior": 12, "capacity": 8}


# --------------------------------------------------------------------------- helpers


def outputs_of(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


def assert_same_outputs(folder: Path, reference: dict[str, bytes]) -> None:
    for name in OUTPUTS:
        assert (folder / name).read_bytes() == reference[name], f"{name} differs from the clean build's"


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
    result = run_reportgen("build", "--definitions", definitions, "--out", root / "build", "--cache", root / "cache",
                           "--jobs", "2")
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(root=root, definitions=definitions, out=root / "build", cache=root / "cache",
                           outputs=outputs_of(root / "build"))


@pytest.fixture
def copy(course, tmp_path):
    """A private copy of the course's definitions (with edits) and of its warm store."""

    def make(edits: dict[str, tuple[str, str]] | None = None) -> SimpleNamespace:
        definitions = write_course(tmp_path / "experiments", edits=edits)
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
    monkeypatch.setattr("reportgen.studies.prior_draws.draw_prior", forbidden)


@pytest.fixture
def counted_training(monkeypatch):
    """Count the runs handed to the trainer and to the prior sampler."""
    import reportgen.studies.prior_draws
    import reportgen.train

    counts = {"trained": 0, "sampled": 0}
    train_runs, draw_prior = reportgen.train.train_runs, reportgen.studies.prior_draws.draw_prior

    def counting_train(jobs, *args, **kwargs):
        counts["trained"] += len(jobs)
        return train_runs(jobs, *args, **kwargs)

    def counting_draw(*args, **kwargs):
        counts["sampled"] += 1
        return draw_prior(*args, **kwargs)

    monkeypatch.setattr(reportgen.train, "train_runs", counting_train)
    monkeypatch.setattr(reportgen.studies.prior_draws, "draw_prior", counting_draw)
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


def test_workers_are_told_to_preload_only_the_code_of_missing_work(copy, tmp_path):
    from reportgen.execute import worker_modules
    from reportgen.spec import load_course

    warm = copy()
    prior = next(s for s in load_course(warm.definitions).studies if s.id == "prior")
    assert worker_modules(prior, warm.cache) == set()  # all stored: a prose edit imports nothing for workers
    _, key = study_keys(warm.definitions, "prior")
    (warm.cache / "analysis" / f"{key}.json").unlink()
    redraw = worker_modules(prior, warm.cache)
    assert "reportgen.studies.prior_analysis" in redraw and "reportgen.figures" in redraw
    cold = worker_modules(prior, tmp_path / "empty store")
    assert {"reportgen.studies.prior_draws", "reportgen.studies.prior_analysis"} <= cold


def test_warm_build_equals_the_cold_build(warm, course):
    assert_same_outputs(warm.out, course.outputs)


def test_warm_build_trains_samples_and_analyzes_nothing(copy, stub_pdf, no_training, monkeypatch):
    c = copy()
    monkeypatch.setattr("reportgen.execute.analyze", lambda kind, *_: pytest.fail(f"{kind.name} was analyzed again"))
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
    monkeypatch.setattr("reportgen.execute.analyze", lambda kind, *_: pytest.fail(f"{kind.name} was analyzed again"))
    summary = build_here(c.definitions, c.out, c.cache)
    assert trained(summary) == {study_id: 0 for study_id in RUNS}
    html = (c.out / "report.html").read_bytes()
    assert html != course.outputs["report.html"]
    assert b"A fixture, reworded" in html
    assert (c.out / "results.json").read_bytes() == course.outputs["results.json"]


def test_code_version_change_recomputes_every_run(copy, stub_pdf, counted_training, monkeypatch, capsys):
    c = copy()
    monkeypatch.setattr("reportgen.plan.code_version", lambda kind: "edited-trainer")
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
    assert not summary.kernel.native
    assert str(summary.kernel) == \
        "torch (no C kernel: mlp: REPORTGEN_KERNEL=torch; polynomial: REPORTGEN_KERNEL=torch)"
    assert json.loads((c.out / "build-info.json").read_text())["kernel"] == str(summary.kernel)


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


def sealed_body(path: Path) -> bytes:
    """The verified body of the store entry at ``path``."""
    from reportgen.cache import unseal

    return unseal(path.read_bytes())


def header_of(path: Path) -> bytes:
    """The header line of the store entry at ``path``, newline included."""
    data = path.read_bytes()
    return data[:data.index(b"\n") + 1]


def one_digit_changed(body: bytes) -> bytes:
    """``body`` with the first digit of its first metric changed, as in ``2.2335`` -> ``9.2335``."""
    match = re.search(rb'"metrics": \[\{"[^"]+": -?(\d)', body)
    assert match, body[:200]
    digit = b"9" if match[1] != b"9" else b"8"
    return body[:match.start(1)] + digit + body[match.end(1):]


def altered_outcome(body: bytes) -> bytes:
    """A valid ``.npz`` body like ``body``'s, every float doubled: wrong numbers that zip's CRC cannot notice."""
    import io

    import numpy as np

    with np.load(io.BytesIO(body), allow_pickle=False) as arrays:
        changed = {name: arrays[name] * 2 if arrays[name].dtype.kind == "f" else arrays[name] for name in arrays}
    buffer = io.BytesIO()
    np.savez(buffer, **changed)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def damaged(course, tmp_path_factory):
    """A build over a store with entries that are garbage, tampered with, truncated or in the unsealed old format.

    overfitting (its analysis removed, as an edit of the analysis code would): run 1 is garbage, run 5 keeps
    its header over altered numbers, run 8 is an old-format ``.npz`` of altered numbers. capacity's analysis
    has one digit changed under its header, regularization's is cut short, prior's is an old-format JSON with
    one digit changed. Every altered number would change the report if it were used.
    """
    root = tmp_path_factory.mktemp("damaged")
    cache = root / "cache"
    shutil.copytree(course.cache, cache)
    runs, overfitting_analysis = study_keys(course.definitions, "overfitting")
    entries = {i: cache / runs[i].key[:2] / f"{runs[i].key}.npz" for i in (1, 5, 8)}
    entries[1].write_bytes(b"garbage, not an npz archive")
    entries[5].write_bytes(header_of(entries[5]) + altered_outcome(sealed_body(entries[5])))
    entries[8].write_bytes(altered_outcome(sealed_body(entries[8])))
    (cache / "analysis" / f"{overfitting_analysis}.json").unlink()
    analyses = {study_id: cache / "analysis" / f"{study_keys(course.definitions, study_id)[1]}.json"
                for study_id in ("capacity", "regularization", "prior")}
    original = {study_id: path.read_bytes() for study_id, path in analyses.items()}
    path = analyses["capacity"]
    path.write_bytes(header_of(path) + one_digit_changed(sealed_body(path)))
    path = analyses["regularization"]
    path.write_bytes(path.read_bytes()[:-40])
    path = analyses["prior"]
    path.write_bytes(one_digit_changed(sealed_body(path)))
    summary = build_here(course.definitions, root / "build", cache)
    return SimpleNamespace(summary=summary, cache=cache, out=root / "build", runs=runs, entries=entries,
                           analyses=analyses, original=original)


def _warnings_naming(summary, path: Path) -> list[str]:
    return [w for w in summary.warnings if path.name in w]


def test_garbage_run_entry_is_reported_recomputed_and_replaced(damaged):
    from reportgen.cache import ResultCache

    (warning,) = _warnings_naming(damaged.summary, damaged.entries[1])
    assert "fails verification (no reportgen-entry header)" in warning and warning.endswith("recomputing it")
    store = ResultCache(damaged.cache)
    assert store.get(damaged.runs[1].key) is not None and store.warnings == []


def test_run_entry_with_valid_npz_but_wrong_digest_is_reported_and_recomputed(damaged):
    from reportgen.cache import ResultCache

    (warning,) = _warnings_naming(damaged.summary, damaged.entries[5])
    assert "not written under this user's key" in warning
    store = ResultCache(damaged.cache)
    assert store.get(damaged.runs[5].key) is not None and store.warnings == []


def test_old_format_run_entry_is_a_silent_miss_recomputed_and_sealed(damaged):
    from reportgen.cache import ResultCache

    assert _warnings_naming(damaged.summary, damaged.entries[8]) == []
    assert damaged.entries[8].read_bytes().startswith(b"reportgen-entry 2 hmac-sha256=")
    store = ResultCache(damaged.cache)
    assert store.get(damaged.runs[8].key) is not None and store.warnings == []


def test_exactly_the_unusable_run_entries_are_recomputed(damaged):
    summary = damaged.summary
    assert trained(summary) == {"overfitting": 3, "regularization": 0, "prior": 0, "capacity": 0}
    assert summary.executions["overfitting"].reasons == tuple(
        (damaged.runs[i].label, "cache entry missing or unreadable") for i in (1, 5, 8))


def test_analysis_entry_with_one_digit_changed_is_reported_and_redone_without_training(damaged):
    (warning,) = _warnings_naming(damaged.summary, damaged.analyses["capacity"])
    assert "analysis entry" in warning and "not written under this user's key" in warning
    assert warning.endswith("redoing it")
    assert damaged.analyses["capacity"].read_bytes() == damaged.original["capacity"]  # rewritten as it was


def test_truncated_analysis_entry_is_reported_and_redone(damaged):
    (warning,) = _warnings_naming(damaged.summary, damaged.analyses["regularization"])
    assert "not written under this user's key" in warning
    assert damaged.analyses["regularization"].read_bytes() == damaged.original["regularization"]


def test_old_format_analysis_entry_is_a_silent_miss_and_is_redone_sealed(damaged):
    assert _warnings_naming(damaged.summary, damaged.analyses["prior"]) == []
    assert damaged.analyses["prior"].read_bytes() == damaged.original["prior"]


def test_damaged_entries_warn_once_each_and_old_format_ones_not_at_all(damaged):
    assert len(damaged.summary.warnings) == 4, damaged.summary.warnings


def test_build_over_damaged_entries_equals_a_clean_build(damaged, course):
    assert_same_outputs(damaged.out, course.outputs)


def test_analysis_entry_with_one_digit_changed_fails_a_strict_build_and_nothing_is_written(copy, course):
    c = copy()
    _, key = study_keys(c.definitions, "capacity")
    path = c.cache / "analysis" / f"{key}.json"
    path.write_bytes(header_of(path) + one_digit_changed(sealed_body(path)))
    result = run_reportgen("build", "--definitions", c.definitions, "--out", c.out, "--cache", c.cache, "--strict")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "--strict: 1 warning" in error and f"analysis entry {path.name} fails verification" in error
    assert "not written under this user's key" in error
    assert not c.out.exists()


def test_index_record_is_sealed_and_a_tampered_or_old_one_is_ignored(tmp_path):
    from reportgen.cache import ResultCache

    parts = {"seed=0": {"seed": 0, "config": {"x": 1}}}
    ResultCache(tmp_path / "store").record_keys("study", parts)
    record = tmp_path / "store" / "index" / "study.json"
    assert json.loads(sealed_body(record)) == parts
    store = ResultCache(tmp_path / "store")
    assert store.previous_keys("study") == parts and store.warnings == []

    record.write_bytes(record.read_bytes().replace(b'"seed": 0', b'"seed": 1'))
    store = ResultCache(tmp_path / "store")
    assert store.previous_keys("study") == {}
    assert store.warnings == ["index entry study.json fails verification (not written under this user's key: "
                              "another user or machine wrote it, or it was changed since); ignoring it"]

    record.write_text(json.dumps(parts))  # written before entries were sealed
    store = ResultCache(tmp_path / "store")
    assert store.previous_keys("study") == {} and store.warnings == []


@pytest.mark.parametrize("header, problem", [
    (b"reportgen-entry 3 hmac-sha256=" + b"0" * 64 + b"\n", "entry format 3, this reportgen reads format 2"),
    (b"reportgen-entry 2 sha256=" + b"0" * 64 + b"\n", "malformed reportgen-entry header"),
    (b"reportgen-entry 2 hmac-sha256=ABC\n", "malformed reportgen-entry header"),
    (b"reportgen-entry 2 hmac-sha256=" + b"0" * 64, "malformed reportgen-entry header"),  # no newline: no body
])
def test_entry_with_unknown_or_malformed_header_is_a_miss_with_a_warning(tmp_path, header, problem):
    from reportgen.cache import ResultCache

    ResultCache(tmp_path).put_analysis("a" * 64, {"metrics": [{"mse": 2.2335}]})
    path = tmp_path / "analysis" / f"{'a' * 64}.json"
    path.write_bytes(header + sealed_body(path))
    store = ResultCache(tmp_path)
    assert store.get_analysis("a" * 64) is None
    assert store.warnings == [f"analysis entry {path.name} fails verification ({problem}); redoing it"]


# --------------------------------------------------------------------------- the store's marker


def test_build_marks_its_new_store(course):
    from reportgen.cache import STORE_MARKER

    text = (course.cache / STORE_MARKER).read_text()
    assert text.count("\n") == 1 and "reportgen result store" in text and "clean --cache" in text


def test_check_writable_creates_nothing_for_a_new_or_an_empty_folder(tmp_path):
    from reportgen.cache import ResultCache

    empty = tmp_path / "empty"
    empty.mkdir()
    ResultCache(tmp_path / "new" / "store").check_writable()
    ResultCache(empty).check_writable()
    assert not (tmp_path / "new").exists() and list(empty.iterdir()) == []  # a refused build leaves no store


def test_first_write_marks_the_store_without_check_writable(tmp_path):
    from reportgen.cache import STORE_MARKER, ResultCache

    ResultCache(tmp_path / "store").record_keys("study", {})
    assert (tmp_path / "store" / STORE_MARKER).is_file()


def _foreign_folder(root: Path) -> Path:
    """A folder that is plainly not a store: a home folder's kind of content."""
    root.mkdir()
    (root / ".bashrc").write_text("export PATH\n")
    (root / "notes.txt").write_text("do not delete\n")
    (root / "analysis").mkdir()
    (root / "analysis" / "results.json").write_text("{}")
    return root


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def test_build_refuses_a_non_empty_folder_without_the_marker_and_writes_nothing_into_it(course, tmp_path):
    cache, out = _foreign_folder(tmp_path / "home"), tmp_path / "build"
    before = _snapshot(cache)
    result = run_reportgen("build", "--definitions", course.definitions, "--out", out, "--cache", cache)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(cache) in lines[0] and "not a reportgen result store" in lines[0] and "--cache DIR" in lines[0]
    assert "Traceback" not in result.stderr
    assert _snapshot(cache) == before
    assert not out.exists()


@pytest.mark.parametrize("stranger", ["notes.txt", "analysis/notes.json", "ab/cd0123.npz", "index/sub/x.json"])
def test_one_unknown_file_beside_store_folders_makes_a_folder_foreign(tmp_path, stranger):
    from reportgen.cache import STORE_MARKER, ResultCache
    from reportgen.errors import BadInputError

    root = tmp_path / "store"
    (root / "index").mkdir(parents=True)
    (root / "index" / "overfitting.json").write_text("{}")
    (root / stranger).parent.mkdir(parents=True, exist_ok=True)
    (root / stranger).write_text("x")
    with pytest.raises(BadInputError, match="not a reportgen result store"):
        ResultCache(root).check_writable()
    with pytest.raises(BadInputError, match="not a reportgen result store"):
        ResultCache(root).put_analysis("a" * 64, {})
    assert not (root / STORE_MARKER).exists()


def test_unmarked_store_from_before_the_marker_is_adopted_and_reused(copy, stub_pdf, no_training, course):
    from reportgen.cache import STORE_MARKER

    c = copy()
    (c.cache / STORE_MARKER).unlink()
    # Leftovers of an interrupted write and of a probe belong to a store too.
    (c.cache / "index" / ".overfitting.json.x1y2z3w4.tmp").write_text("partial")
    (c.cache / ".probe-abc123").write_text("")
    summary = build_here(c.definitions, c.out, c.cache, force=True)
    assert (c.cache / STORE_MARKER).is_file()
    assert trained(summary) == {study_id: 0 for study_id in RUNS} and summary.warnings == []
    assert (c.out / "results.json").read_bytes() == course.outputs["results.json"]


def test_marked_folder_is_written_into_whatever_else_it_holds(tmp_path):
    from reportgen.cache import STORE_MARKER, ResultCache

    root = _foreign_folder(tmp_path / "store")
    (root / STORE_MARKER).write_text("marked by hand\n")
    ResultCache(root).check_writable()
    ResultCache(root).record_keys("study", {})
    assert (root / "index" / "study.json").is_file()


# --------------------------------------------------------------------------- unwritable stores


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
    result = run_reportgen("build", "--definitions", course.definitions, "--out", out, "--cache", cache)
    _assert_refused(result, cache, out)


def test_read_only_empty_cache_folder_is_bad_input_even_for_root(course, tmp_path, mount_namespace):
    cache, out = tmp_path / "cache", tmp_path / "build"
    cache.mkdir()
    result = in_mount_namespace(mount_namespace, 'mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"', cache,
                                *REPORTGEN, "build", "--definitions", course.definitions,
                                "--out", out, "--cache", cache)
    _assert_refused(result, cache, out)
    assert "Read-only file system" in result.stderr


def test_read_only_existing_store_is_bad_input_even_for_root(course, tmp_path, mount_namespace):
    cache, out = tmp_path / "cache", tmp_path / "build"
    shutil.copytree(course.cache, cache)
    before = _snapshot(cache)
    result = in_mount_namespace(mount_namespace, 'mount --bind -o ro "$1" "$1" && shift && exec "$@"', cache,
                                *REPORTGEN, "build", "--definitions", course.definitions,
                                "--out", out, "--cache", cache, "--force")
    _assert_refused(result, cache, out)
    assert "Read-only file system" in result.stderr
    assert _snapshot(cache) == before


FULL_DISK = """
set -e
mount -t tmpfs -o size=64k tmpfs "$1"
printf 'store\\n' > "$1/.reportgen-store"
head -c 1048576 /dev/zero > "$1/filler" 2>/dev/null || true
set +e
"$3" -m reportgen build prior --definitions "$4" --out "$5" --cache "$1" --jobs 1 --quiet 2> "$2/stderr"
echo $? > "$2/rc"
find "$1" -name '*.tmp' > "$2/leftovers"
find "$1" -name '*.npz' > "$2/entries"
"""


def test_full_disk_while_storing_entries_is_a_one_line_build_error_leaving_no_temporary(course, tmp_path,
                                                                                         mount_namespace):
    cache, report, out = tmp_path / "cache", tmp_path / "report", tmp_path / "build"
    cache.mkdir()
    report.mkdir()
    result = in_mount_namespace(mount_namespace, FULL_DISK, cache, report, sys.executable, course.definitions, out)
    assert result.returncode == 0, result.stderr
    stderr = (report / "stderr").read_text()
    assert (report / "rc").read_text().strip() == "1", stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert re.match(rf"Error: {re.escape(str(cache))}/\S+: could not write this cache entry "
                    r"\(No space left on device\)", lines[0]), lines[0]
    assert "Traceback" not in stderr
    assert (report / "leftovers").read_text() == ""
    assert (report / "entries").read_text() == ""
    assert not out.exists()


@pytest.mark.parametrize("failing, code", [("fsync", "EIO"), ("replace", "EROFS"), ("mkstemp", "ENOSPC")])
@pytest.mark.parametrize("write", ["put", "put_analysis", "record_keys"])
def test_os_error_while_writing_an_entry_is_a_build_error_naming_it(tmp_path, monkeypatch, write, failing, code):
    import errno
    import tempfile

    import numpy as np

    from reportgen.cache import STORE_MARKER, ResultCache
    from reportgen.errors import BuildError
    from reportgen.outcomes import RegressionOutcome

    store = ResultCache(tmp_path)
    store.record_keys("earlier", {})  # the store exists and is marked before the failing write
    number = getattr(errno, code)

    def fail(*args, **kwargs):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr({"fsync": os, "replace": os, "mkstemp": tempfile}[failing], failing, fail)
    outcome = RegressionOutcome(status="ok", losses=np.zeros(3, np.float32), train_sse=0.5, train_pred=np.zeros(2),
                                test_pred=np.zeros(4), parameters=np.zeros(2), diverged_at=None,
                                snapshot_steps=np.array([3]), snapshots=np.zeros((1, 4), np.float32))
    call, path = {"put": (lambda: store.put("ab" + "0" * 62, outcome), tmp_path / "ab" / f"ab{'0' * 62}.npz"),
                  "put_analysis": (lambda: store.put_analysis("c" * 64, {}),
                                   tmp_path / "analysis" / f"{'c' * 64}.json"),
                  "record_keys": (lambda: store.record_keys("study", {}), tmp_path / "index" / "study.json")}[write]
    with pytest.raises(BuildError) as raised:
        call()
    monkeypatch.undo()
    message = raised.value.format_message()
    assert "\n" not in message and raised.value.exit_code == 1
    assert message.startswith(f"{path}: could not write this cache entry ({os.strerror(number)})"), message
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        STORE_MARKER, "index/earlier.json"]


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
    definitions = write_course(tmp_path / "experiments", edits=slow)
    cache, out = tmp_path / "cache", tmp_path / "build"
    # The previous report: a successful build of another version of the course, with its manifest.
    out.mkdir()
    for name in (*OUTPUTS, MANIFEST):
        shutil.copy2(course.out / name, out / name)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    build = subprocess.Popen([*REPORTGEN, "build", "--definitions", str(definitions),
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
    clean = subprocess.Popen([*REPORTGEN, "build", "--definitions", str(definitions),
                              "--out", str(tmp_path / "clean"), "--no-cache", "--jobs", "1", "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    resumed = run_reportgen("build", "--definitions", definitions, "--out", out, "--cache", cache, "--explain")
    clean_err = clean.communicate(timeout=600)[1]
    assert clean.returncode == 0, clean_err
    assert resumed.returncode == 0, resumed.stderr
    reused = sum(int(n) for n in re.findall(r"^\w+: (\d+) reused", resumed.stderr, re.M))
    assert reused >= 1, resumed.stderr  # what the killed build stored is used
    assert_same_outputs(out, outputs_of(tmp_path / "clean"))
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUTPUTS, MANIFEST, "build-info.json"])


def test_concurrent_builds_on_one_store_and_one_output_folder_both_succeed(course, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "build"
    command = [*REPORTGEN, "build", "--definitions", str(course.definitions), "--out", str(out),
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
    result = run_reportgen("build", "--definitions", course.definitions, "--out", tmp_path / "serial", "--no-cache",
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
    result = run_reportgen("build", "--definitions", c.definitions, "--out", c.out, "--cache", c.cache, "--explain")
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
    result = run_reportgen("clean", "--definitions", definitions, "--out", out)
    assert result.returncode == 0, result.stderr
    assert not out.exists()
    assert npz_entries(cache)


def test_clean_cache_removes_the_store_beside_the_definitions_or_the_one_named(course, tmp_path):
    definitions = write_course(tmp_path / "experiments")
    beside = tmp_path / ".reportgen-cache"
    named = tmp_path / "elsewhere"
    shutil.copytree(course.cache, beside)
    shutil.copytree(course.cache, named)
    assert run_reportgen("clean", "--definitions", definitions, "--out", tmp_path / "build", "--cache").returncode == 0
    assert not beside.exists() and named.exists()
    assert run_reportgen("clean", "--definitions", definitions, "--out", tmp_path / "build", "--cache",
                         "--cache-dir", named).returncode == 0
    assert not named.exists()


def test_a_store_another_build_marked_a_moment_ago_is_no_stranger(tmp_path):
    """Two first builds share a new store: the one that looks between the other's mkdir and its marker must not
    take the marker itself for a foreign file."""
    from reportgen.cache import MARKER_TEXT, STORE_MARKER, foreign_entries

    (tmp_path / STORE_MARKER).write_bytes(MARKER_TEXT)
    assert foreign_entries(tmp_path) == []
    (tmp_path / "notes.txt").write_text("mine")
    assert foreign_entries(tmp_path) == ["notes.txt"]
