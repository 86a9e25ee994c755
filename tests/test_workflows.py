"""Workflows around a build: profiles, --set, own templates, --strict, check, init and the CI workflow.

Builds run the real command (``python -m reportgen``); commands that stop before any rendering (bad
input, ``check``, ``init``) run in this process (``run_reportgen(..., in_process=True)``), a second each
sooner. All builds of the tiny course share one result store with tests/test_handouts.py, so only the first
one trains.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reportgen.render import BUILTIN_TEMPLATES

from .conftest import ROOT, result_store, run_reportgen, write_course
from .support import pdf_text, visible_text


def results_of(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def runs_by_study(out: Path) -> dict[str, list[dict]]:
    return {s["id"]: s["runs"] for s in results_of(out)["studies"]}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The tiny course built with --strict (instructor edition): outputs to compare and check against."""
    root = tmp_path_factory.mktemp("base")
    definitions = write_course(root / "experiments")
    result = run_reportgen("build", "--strict", "--definitions", definitions, "--out", root / "build",
                           "--cache", result_store(tmp_path_factory), "--quiet")
    return root, result


@pytest.fixture
def base_copy(base, tmp_path):
    """A private copy of the base course and its outputs, free to modify."""
    root, _ = base
    shutil.copytree(root / "experiments", tmp_path / "experiments")
    shutil.copytree(root / "build", tmp_path / "build")
    return tmp_path


# --------------------------------------------------------------------------- profiles

QUICK = '''
[profiles.quick]
description = "smoke run"
"train.steps" = 20
"sweep.seeds" = [0]
'''


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Two studies of the tiny course built with --profile quick."""
    root = tmp_path_factory.mktemp("profile")
    definitions = write_course(root / "experiments", course_lines=QUICK)
    result = run_reportgen("build", "overfitting", "capacity", "--profile", "quick", "--definitions", definitions,
                           "--out", root / "build", "--cache", result_store(tmp_path_factory), "--quiet")
    assert result.returncode == 0, result.stderr
    return root / "build"


def test_profile_banner_is_on_the_title_page_of_html_and_pdf(quick):
    html = (quick / "report.html").read_text(encoding="utf-8")
    title_page = html.split('<header class="title-page">')[1].split("</header>")[0]
    banner = re.search(r'<p class="profile-banner"[^>]*>(.*?)</p>', title_page, re.S)
    assert banner and visible_text(banner.group(1)).startswith("Reduced profile “quick”: smoke run.")
    assert "Reduced profile “quick”: smoke run" in pdf_text(quick / "report.pdf")


def test_profile_is_recorded_in_the_results_provenance(quick):
    provenance = results_of(quick)["provenance"]
    assert provenance["profile"] == "quick"
    assert provenance["overrides"] == ["course.toml: profiles.quick.train.steps",
                                       "course.toml: profiles.quick.sweep.seeds"]


def test_profile_reduces_the_runs_and_their_steps(quick):
    runs = runs_by_study(quick)
    assert [len(runs["overfitting"]), len(runs["capacity"])] == [6, 4]  # 12 and 8 with both seeds
    assert {r["seed"] for rs in runs.values() for r in rs} == {0}
    assert "20 full-batch steps" in visible_text((quick / "report.html").read_text(encoding="utf-8"))


def test_build_without_profile_has_no_banner(base):
    root, result = base
    assert result.returncode == 0, result.stderr
    assert "profile-banner\"" not in (root / "build" / "report.html").read_text(encoding="utf-8")
    assert results_of(root / "build")["provenance"]["profile"] is None


def test_unknown_profile_is_bad_input_with_a_suggestion(tmp_path):
    definitions = write_course(tmp_path / "experiments", course_lines=QUICK)
    result = run_reportgen("build", "--profile", "quik", "--definitions", definitions, "--out", tmp_path / "out",
                           in_process=True)
    assert result.returncode == 2
    assert "--profile quik: course.toml defines no such profile" in result.stderr
    assert "(did you mean 'quick'?)" in result.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- --set


@pytest.fixture(scope="module")
def seven_steps(tmp_path_factory):
    root = tmp_path_factory.mktemp("set")
    definitions = write_course(root / "experiments")
    result = run_reportgen("build", "capacity", "--set", "capacity.train.steps=7", "--definitions", definitions,
                           "--out", root / "build", "--cache", result_store(tmp_path_factory), "--quiet")
    assert result.returncode == 0, result.stderr
    return root / "build"


def test_set_changes_the_runs(seven_steps, base):
    root, _ = base
    changed, original = runs_by_study(seven_steps)["capacity"], runs_by_study(root / "build")["capacity"]
    assert [r["params"] for r in changed] == [r["params"] for r in original]
    for new, old in zip(changed, original):
        assert new["metrics"]["train_sse"] != old["metrics"]["train_sse"], new["params"]
    assert "7 full-batch steps" in visible_text((seven_steps / "report.html").read_text(encoding="utf-8"))
    assert results_of(seven_steps)["provenance"]["overrides"] == ["--set capacity.train.steps=7"]


def test_set_is_shown_on_the_title_page(seven_steps):
    html = (seven_steps / "report.html").read_text(encoding="utf-8")
    title_page = visible_text(html.split('<header class="title-page">')[1].split("</header>")[0])
    assert "Built with overrides: --set capacity.train.steps=7." in title_page
    assert "Built with overrides: --set capacity.train.steps=7" in pdf_text(seven_steps / "report.pdf")


def test_set_with_an_invalid_value_names_the_override_and_writes_nothing(tmp_path):
    definitions = write_course(tmp_path / "experiments")
    result = run_reportgen("build", "--set", "overfitting.train.steps=0", "--definitions", definitions,
                           "--out", tmp_path / "out", in_process=True)
    assert result.returncode == 2
    expected = "--set overfitting.train.steps=0: train.steps: expected an integer >= 1, got 0"
    assert result.stderr.strip() == f"Error: {expected}"
    assert not (tmp_path / "out").exists()


def test_set_of_an_unknown_field_suggests_the_closest(tmp_path):
    definitions = write_course(tmp_path / "experiments")
    for key in ("overfitting.train.stpes", "train.stpes"):
        result = run_reportgen("build", "--set", f"{key}=5", "--definitions", definitions, "--out", tmp_path / "out",
                               in_process=True)
        assert result.returncode == 2
        assert f"--set {key}=5: train.stpes: no such field" in result.stderr
        assert "(did you mean 'train.steps'?)" in result.stderr
    assert not (tmp_path / "out").exists()


def test_set_without_equals_sign_is_bad_input(tmp_path):
    definitions = write_course(tmp_path / "experiments")
    result = run_reportgen("build", "--set", "overfitting.train.steps", "--definitions", definitions,
                           "--out", tmp_path / "out", in_process=True)
    assert result.returncode == 2
    assert "--set overfitting.train.steps: expected [study.]section.field=value" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_set_without_study_applies_to_every_study_with_the_field(tmp_path):
    from reportgen.spec import load_course

    definitions = write_course(tmp_path / "experiments")
    course = load_course(definitions, assignments=("train.steps=7", "sweep.seeds=[5]"))
    studies = {s.id: s for s in course.studies}
    for study_id in ("overfitting", "regularization", "capacity"):
        assert studies[study_id].base.train.steps == 7
        assert all(point.config.train.steps == 7 for point in studies[study_id].points)
    assert all(s.seeds == (5,) for s in course.studies)  # the prior study has seeds, but no train table
    assert course.overrides == ("--set train.steps=7", "--set sweep.seeds=[5]")


def test_set_without_study_with_a_bad_value_is_reported_once(tmp_path):
    definitions = write_course(tmp_path / "experiments")
    result = run_reportgen("build", "--set", "train.steps=abc", "--definitions", definitions, "--out", tmp_path / "out",
                           in_process=True)
    assert result.returncode == 2
    assert result.stderr.count('--set train.steps=abc: train.steps: expected an integer, got "abc"') == 1


# --------------------------------------------------------------------------- own templates

OWN_CAPACITY = '<p class="own">Own capacity partial: {{ result.runs | length }} runs of {{ result.study.title }}.</p>\n'


@pytest.fixture(scope="module")
def own_templates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own-templates")
    (folder / "studies").mkdir()
    (folder / "studies" / "capacity.html.j2").write_text(OWN_CAPACITY)
    return folder


def _assert_own_capacity_partial(html: str, other_study_marker: str) -> None:
    assert "Own capacity partial: 8 runs of Capacity." in visible_text(html)
    assert "Why depth matters" not in html  # the built-in capacity partial is not used ...
    assert other_study_marker in visible_text(html)  # ... but the other study's still is


def test_templates_option_overrides_one_partial(own_templates, base, tmp_path, tmp_path_factory):
    root, _ = base
    out = tmp_path / "out"
    args = ("overfitting", "capacity", "--templates", own_templates, "--definitions", root / "experiments",
            "--out", out)
    result = run_reportgen("build", *args, "--cache", result_store(tmp_path_factory), "--quiet")
    assert result.returncode == 0, result.stderr
    _assert_own_capacity_partial((out / "report.html").read_text(encoding="utf-8"),
                                 "This study fits polynomials of degree 1, 3, and 12")
    # The user's templates are inputs: editing one makes the outputs out of date.
    assert run_reportgen("check", *args, in_process=True).returncode == 0
    (own_templates / "studies" / "capacity.html.j2").write_text(OWN_CAPACITY.replace("Own", "My own"))
    try:
        assert run_reportgen("check", *args, in_process=True).returncode == 1
    finally:
        (own_templates / "studies" / "capacity.html.j2").write_text(OWN_CAPACITY)


def test_course_templates_folder_overrides_one_partial(own_templates, tmp_path, tmp_path_factory):
    definitions = write_course(tmp_path / "experiments", course_lines='\ntemplates = "mine"\n')
    shutil.copytree(own_templates, definitions / "mine")
    result = run_reportgen("build", "prior", "capacity", "--definitions", definitions, "--out", tmp_path / "out",
                           "--cache", result_store(tmp_path_factory), "--quiet")
    assert result.returncode == 0, result.stderr
    _assert_own_capacity_partial((tmp_path / "out" / "report.html").read_text(encoding="utf-8"),
                                 "From neurons to networks")


def _build_with_broken_partial(base, tmp_path, tmp_path_factory, text: str):
    """Build the capacity study with ``text`` as its partial; the templates folder and the result."""
    root, _ = base
    templates = tmp_path / "t"
    (templates / "studies").mkdir(parents=True)
    (templates / "studies" / "capacity.html.j2").write_text(text)
    result = run_reportgen("build", "capacity", "--templates", templates, "--definitions", root / "experiments",
                           "--out", tmp_path / "out", "--cache", result_store(tmp_path_factory))
    return templates, result


def test_missing_include_names_the_template_and_the_search_path(base, tmp_path, tmp_path_factory):
    templates, result = _build_with_broken_partial(base, tmp_path, tmp_path_factory,
                                                   '<p>one</p>\n{% include "studies/not-there.html.j2" %}\n')
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert "template studies/not-there.html.j2 not found" in message
    assert f"(search path: {templates}, {BUILTIN_TEMPLATES})" in message
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_template_syntax_error_names_the_template_and_the_line(base, tmp_path, tmp_path_factory):
    templates, result = _build_with_broken_partial(base, tmp_path, tmp_path_factory,
                                                   "<p>one</p>\n<p>two</p>\n<p>{{ result.study.title }</p>\n")
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("Error: template studies/capacity.html.j2, line 3: ")
    assert f"(search path: {templates}, {BUILTIN_TEMPLATES})" in message
    assert not (tmp_path / "out").exists()


def test_nonexistent_templates_folder_is_bad_input(tmp_path):
    definitions = write_course(tmp_path / "experiments")
    result = run_reportgen("build", "--templates", tmp_path / "nowhere", "--definitions", definitions,
                           "--out", tmp_path / "out", in_process=True)
    assert result.returncode == 2
    assert f"{tmp_path / 'nowhere'}: templates folder not found" in result.stderr
    (definitions / "course.toml").write_text((definitions / "course.toml").read_text() + 'templates = "nope"\n')
    result = run_reportgen("build", "--definitions", definitions, "--out", tmp_path / "out", in_process=True)
    assert result.returncode == 2
    assert f"{definitions / 'nope'}: templates folder not found" in result.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- --strict

DIVERGING = {
    "course.toml": 'title = "T"\ndate = "2026-01-01"\nstudies = ["overfitting"]\n',
    "overfitting.toml": 'kind = "overfitting"\ntitle = "O"\n[data]\nnoise = 0.1\ntarget = "1e30 * x"\n'
                        '[model]\nkind = "polynomial"\n[train]\nsteps = 20\n[sweep]\n"model.degree" = [1, 40]\n'
                        '"train.lr" = [0.01, 10.0]\n',
}


@pytest.fixture(scope="module")
def diverged(tmp_path_factory):
    """A course whose runs diverge, built once without --strict (which succeeds, with warnings)."""
    root = tmp_path_factory.mktemp("diverged")
    (root / "experiments").mkdir()
    for name, text in DIVERGING.items():
        (root / "experiments" / name).write_text(text)
    result = run_reportgen("build", "--definitions", root / "experiments", "--out", root / "build",
                           "--cache", root / "cache", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "warning: overfitting: run diverged" in result.stderr
    return root


def test_strict_fails_on_a_diverged_run_and_leaves_the_outputs(diverged):
    before = snapshot(diverged / "build")
    result = run_reportgen("build", "--strict", "--force", "--definitions", diverged / "experiments",
                           "--out", diverged / "build", "--cache", diverged / "cache")
    assert result.returncode == 1
    assert "--strict:" in result.stderr and "run diverged: model.degree=" in result.stderr
    assert "nothing was written" in result.stderr
    assert snapshot(diverged / "build") == before


def test_strict_fails_on_a_diverged_run_even_when_the_outputs_are_up_to_date(diverged):
    before = snapshot(diverged / "build")
    result = run_reportgen("build", "--strict", "--definitions", diverged / "experiments", "--out", diverged / "build",
                           "--cache", diverged / "cache")
    assert result.returncode == 1
    assert "run diverged: model.degree=" in result.stderr
    assert snapshot(diverged / "build") == before
    # Without --strict the up-to-date build still repeats its warnings.
    result = run_reportgen("build", "--definitions", diverged / "experiments", "--out", diverged / "build",
                           "--cache", diverged / "cache")
    assert result.returncode == 0 and "up to date" in result.stderr
    assert "warning: overfitting: run diverged" in result.stderr


def test_strict_fails_on_a_study_file_course_toml_does_not_list(tmp_path, tmp_path_factory):
    definitions = write_course(tmp_path / "experiments")
    course = definitions / "course.toml"
    course.write_text(re.sub(r"studies = \[.*\]", 'studies = ["capacity"]', course.read_text()))
    result = run_reportgen("build", "--strict", "--definitions", definitions, "--out", tmp_path / "out",
                           "--cache", result_store(tmp_path_factory))
    assert result.returncode == 1
    assert "overfitting.toml: not listed in course.toml studies, so not built" in result.stderr
    assert not (tmp_path / "out").exists()


def test_strict_passes_on_the_clean_course(base):
    root, result = base
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    assert {"report.html", "report.pdf", "results.json"} <= set(snapshot(root / "build"))


# --------------------------------------------------------------------------- check


def test_check_after_a_build_is_up_to_date(base_copy):
    result = run_reportgen("check", "--definitions", base_copy / "experiments", "--out", base_copy / "build",
                           in_process=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_check_after_changing_a_definition_is_out_of_date(base_copy, monkeypatch):
    import reportgen.build
    import reportgen.execute

    def no_training(*args, **kwargs):
        raise AssertionError("check trained")

    monkeypatch.setattr(reportgen.build, "compute_studies", no_training)
    monkeypatch.setattr(reportgen.execute, "run_study", no_training)
    study = base_copy / "experiments" / "capacity.toml"
    study.write_text(study.read_text().replace("steps = 40", "steps = 41"))
    before = snapshot(base_copy / "build")
    result = run_reportgen("check", "--definitions", base_copy / "experiments", "--out", base_copy / "build",
                           in_process=True)
    assert result.returncode == 1
    assert result.stderr.startswith("out of date: ")
    assert snapshot(base_copy / "build") == before


def test_check_runs_nothing_heavy(base_copy):
    study = base_copy / "experiments" / "capacity.toml"
    study.write_text(study.read_text().replace("steps = 40", "steps = 41"))
    script = ("import sys\nfrom reportgen.cli import main\n"
              "try:\n    main(sys.argv[1:], prog_name='reportgen')\n"
              "except SystemExit as exit:\n    print('exit', exit.code, 'torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script, "check", "--definitions", str(base_copy / "experiments"),
                             "--out", str(base_copy / "build")], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "exit 1 False", result.stderr  # out of date, and torch was never imported
    assert "out of date" in result.stderr


def test_check_after_editing_an_output_is_out_of_date(base_copy):
    with open(base_copy / "build" / "report.html", "a") as handle:
        handle.write("<!-- edited -->\n")
    result = run_reportgen("check", "--definitions", base_copy / "experiments", "--out", base_copy / "build",
                           in_process=True)
    assert result.returncode == 1
    assert "out of date: " in result.stderr and "report.html" in result.stderr


def test_check_with_other_options_than_the_build_is_out_of_date(base_copy):
    result = run_reportgen("check", "--audience", "all", "--definitions", base_copy / "experiments",
                           "--out", base_copy / "build", in_process=True)
    assert result.returncode == 1 and "out of date" in result.stderr


# --------------------------------------------------------------------------- init


def test_init_writes_a_course_that_builds_as_it_is(tmp_path, tmp_path_factory):
    folder = tmp_path / "lecture"
    result = run_reportgen("init", folder, in_process=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in folder.iterdir()) == [".gitignore", "course.toml", "overfitting.toml"]
    assert run_reportgen("validate", "--definitions", folder, in_process=True).returncode == 0
    build = run_reportgen("build", "--definitions", folder, "--out", tmp_path / "out",
                          "--cache", result_store(tmp_path_factory), "--quiet")
    assert build.returncode == 0, build.stderr
    assert (tmp_path / "out" / "report.html").is_file() and (tmp_path / "out" / "report.pdf").is_file()
    assert len(runs_by_study(tmp_path / "out")["overfitting"]) == 6


def test_init_refuses_a_folder_that_holds_definitions(tmp_path):
    folder = tmp_path / "lecture"
    assert run_reportgen("init", folder, in_process=True).returncode == 0
    course = (folder / "course.toml").read_text()
    (folder / "course.toml").write_text(course + "# mine\n")
    result = run_reportgen("init", folder, in_process=True)
    assert result.returncode == 2
    assert "already holds definitions" in result.stderr
    assert (folder / "course.toml").read_text() == course + "# mine\n"


def test_init_refuses_a_path_that_is_a_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("notes")
    result = run_reportgen("init", path, in_process=True)
    assert result.returncode == 2 and "not a folder" in result.stderr
    assert path.read_text() == "notes"


# --------------------------------------------------------------------------- CI workflow


def _steps(workflow: str) -> list[str]:
    """The workflow's steps, each as its block of text (a light reading; the venv has no YAML parser)."""
    body = workflow.split("steps:", 1)[1]
    return [block for block in re.split(r"\n\s*- (?=uses:|name:|run:)", "\n" + body) if block.strip()]


def test_ci_workflow_tests_builds_strictly_and_uploads_the_report():
    path = ROOT / ".github" / "workflows" / "report.yml"
    assert path.is_file(), "the CI workflow .github/workflows/report.yml is missing"
    steps = _steps(path.read_text())
    runs = [i for i, step in enumerate(steps) if re.search(r"\bpytest\b", step)]
    builds = [i for i, step in enumerate(steps) if re.search(r"reportgen build\b[^\n]*--strict", step)]
    uploads = [i for i, step in enumerate(steps) if "uses: actions/upload-artifact@" in step]
    assert runs and builds and uploads, steps
    upload = steps[uploads[0]]
    assert re.search(r"^\s*path:\s*['\"]?build/?['\"]?\s*$", upload, re.M), upload
    assert runs[0] < uploads[0] and builds[0] < uploads[0]
