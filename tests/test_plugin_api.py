"""A minimal kind through ``reportgen.plugin``: plain-dict outcomes, its own ``train`` table, its own introduction,
and templates checked against stand-in results before any run is computed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from .conftest import one_line, run_reportgen, write_files
from .support import fake_distribution

PLUGIN = '''
"""A kind that counts: each run's total is scale * rounds + seed (nothing is trained)."""

from pathlib import Path
from typing import Literal

from reportgen.plugin import Kind, Strict, StudyFields, Table, assemble, number


class Train(Strict):
    """The kind's own table named ``train``: not reportgen's training recipe."""

    rounds: int = 3


class CountFile(StudyFields):
    kind: Literal["counting"]
    train: Train = Train()
    scale: float = 1.0


def run(config, seed):
    return {"total": config.scale * config.train.rounds + seed}


def analyze(study, runs, outcomes):
    totals = [outcome["total"] for outcome in outcomes]
    table = Table(id=f"tab-{study.id}-totals", caption="Totals per run.", columns=("run", "total"),
                  rows=tuple((run.label, number(total)) for run, total in zip(runs, totals)), numeric=(False, True))
    return assemble(study, runs, outcomes, [{"total": total} for total in totals], {}, {"totals": table},
                    {"largest": max(totals), "rounds": study.base.train.rounds})


KIND = Kind(name="counting", schema=CountFile, run="countkind:run", analysis="countkind:analyze",
            template="studies/counting.html.j2", introduction="intro/counting.html.j2",
            templates=Path(__file__).parent / "countkind_templates")
'''
SECTION = '''<p>{{ t("Each run adds its seed to {rounds} rounds.", rounds=result.facts.rounds | number) }}
{{ t("The largest total is {total}.", total=result.facts.largest | number) }}</p>
{{ m.table(result.tables.totals) }}
{{ m.activities(result.study, [t("Change the scale: how do the totals change?")]) }}
'''
INTRO = '<p id="counting-intro">{{ t("Counting studies add numbers; nothing is trained.") }}</p>\n'
COURSE = {
    "course.toml": 'title = "Counting"\nstudies = ["count"]\n',
    "count.toml": 'kind = "counting"\ntitle = "Count"\n[train]\nrounds = 4\n[sweep]\n"scale" = [1.0, 2.5]\n'
                  'seeds = [0, 1]\n',
}


def install(site: Path, section: str = SECTION) -> dict[str, str]:
    """The counting kind as an installed distribution on ``site``; the environment that sees it."""
    return fake_distribution(site, PLUGIN, "counting = countkind:KIND", name="countkind", files={
        "countkind_templates/studies/counting.html.j2": section,
        "countkind_templates/intro/counting.html.j2": INTRO,
    })


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, str], subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """The counting course built twice with one store, into ``out`` and then ``again``: (work folder, env, first,
    second)."""
    work = tmp_path_factory.mktemp("counting")
    env = install(work / "site")
    course = write_files(work / "course", COURSE)
    builds = [run_reportgen("build", "--definitions", course, "--out", work / out, "--cache", work / "store",
                            "--no-notebooks", cwd=work, env=env, timeout=300) for out in ("out", "again")]
    return work, env, *builds


def test_a_minimal_kind_with_plain_dict_outcomes_builds_and_reuses_its_stored_runs(built):
    work, _, first, second = built
    assert first.returncode == 0, first.stderr
    runs = json.loads((work / "out" / "results.json").read_text())["studies"][0]["runs"]
    assert [(run["params"], run["seed"], run["metrics"]["total"]) for run in runs] == [
        ({"scale": 1.0}, 0, 4.0), ({"scale": 1.0}, 1, 5.0), ({"scale": 2.5}, 0, 10.0), ({"scale": 2.5}, 1, 11.0)]
    assert second.returncode == 0, second.stderr
    first_info, second_info = (json.loads((work / out / "build-info.json").read_text()) for out in ("out", "again"))
    assert [(s["trained"], s["reused"]) for s in first_info["studies"]] == [(4, 0)]
    assert [(s["trained"], s["reused"]) for s in second_info["studies"]] == [(0, 4)]


def test_the_introduction_is_the_courses_own_and_ignores_a_table_that_is_merely_named_train(built):
    work, *_ = built
    html = (work / "out" / "report.html").read_text()
    intro = html.split('id="introduction"')[1].split("</section>")[0]
    # The kind's paragraph, and none of the lecture's: no data recipe, no polynomials, no likelihood, no Adam.
    assert "Counting studies add numbers; nothing is trained." in intro
    for lecture in ('id="data"', 'id="linear-in-a-basis"', 'id="likelihood"', 'id="training"', "polynomial",
                    "Adam"):
        assert lecture not in intro
    assert "The largest total is 11." in html and "adds its seed to 4 rounds" in html


@pytest.mark.parametrize("line, expected", [
    ('{{ result.study.base.train.optimizer }}',
     "template studies/counting.html.j2, line 5: UndefinedError: "
     "'countkind.Train object' has no attribute 'optimizer'"),
    ('{{ m.training_row(result.study.base.train) }}',
     "template macros.html.j2, line 112 (called from studies/counting.html.j2, line 5): UndefinedError: "
     "'countkind.Train object' has no attribute 'optimizer'"),
])
def test_a_template_error_is_refused_by_validate_and_build_before_any_run(tmp_path, line, expected):
    env = install(tmp_path / "site", SECTION + line + "\n")
    course = write_files(tmp_path / "course", COURSE)
    checked = run_reportgen("validate", "--definitions", course, cwd=tmp_path, env=env, timeout=120)
    assert one_line(checked, 2).startswith(f"Error: {expected} (search path: ")
    out, store = tmp_path / "out", tmp_path / "store"
    built = run_reportgen("build", "--definitions", course, "--out", out, "--cache", store, cwd=tmp_path, env=env,
                          timeout=120)
    assert one_line(built, 2).startswith(f"Error: {expected}")
    # Refused before any work: no output, and no run stored.
    assert not out.exists() and not any(path.is_file() for path in store.rglob("*.npz"))


def test_a_course_whose_kinds_write_no_notebook_code_is_not_promised_any(tmp_path):
    env = install(tmp_path / "site")
    course = write_files(tmp_path / "course", COURSE)
    out = tmp_path / "out"
    done = run_reportgen("build", "--definitions", course, "--out", out, "--audience", "all", "--no-cache",
                         cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    handout = (out / "report-student.html").read_text()
    assert "this course&#39;s studies come with no code to run in it" in handout
    assert "TODO" not in handout and "PyTorch" not in handout
    student, solutions = (json.loads((out / name).read_text()) for name in ("lab.ipynb", "lab-solutions.ipynb"))
    text = {name: "\n".join("".join(cell["source"]) for cell in notebook["cells"])
            for name, notebook in (("student", student), ("solutions", solutions))}
    assert "come with no notebook code" in text["student"] and "TODO" not in text["student"]
    assert "Adam" not in text["solutions"] and "Every run of the report is now in `results`" not in text["solutions"]
    assert "Answer from this study's results in the instructor report." in text["solutions"]


def _unsorted(config, seed):
    return {"zeta": np.arange(3.0) * seed, "alpha": 2.5, "status": "ok", "label": "x"}


def test_a_dict_outcome_reads_the_same_fresh_and_from_the_store():
    from reportgen.kinds import RunUnit, compute_run
    from reportgen.outcomes import from_arrays, to_arrays

    fresh = compute_run(RunUnit("counting", "tests.test_plugin_api:_unsorted", None, None, 2))
    stored = from_arrays(to_arrays(fresh))
    assert list(fresh) == list(stored) == ["alpha", "label", "status", "zeta"]
    assert stored["alpha"] == 2.5 and stored["label"] == "x" and np.array_equal(stored["zeta"], [0.0, 2.0, 4.0])


def test_a_run_that_returns_something_else_than_its_kind_declares_fails_naming_it():
    from reportgen.errors import BuildError
    from reportgen.kinds import RunUnit, compute_run

    with pytest.raises(BuildError, match=r"study kind 'counting': tests.test_plugin_api:_unsorted returned a dict, "
                                         r"not a Path"):
        compute_run(RunUnit("counting", "tests.test_plugin_api:_unsorted", Path, None, 0))
