"""Definition validation: the bad-definitions corpus through the real CLI, the shipped definitions in-process."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from reportgen.errors import SpecError
from reportgen.plan import plan_study
from reportgen.spec import load_course

from .conftest import EXPERIMENTS, run_reportgen

CORPUS = Path(__file__).resolve().parent / "bad_definitions"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "expected.txt").is_file())
# `build` costs the same as `validate` on bad input (it stops before importing torch); a few cases suffice
# to pin that it, too, exits before running or writing anything.
BUILD_CASES = ("invalid-toml-syntax", "target-imports-os", "sweep-bad-value", "course-names-missing-study",
               "errors-in-two-files")
HEADER = re.compile(r"Error: (\d+) problems in the definitions:")
PROBLEM = re.compile(r"\S+\.toml: \S.*")
"""``file.toml: key.path: message``, or ``file.toml: message`` for the file as a whole."""


def _expected(case: Path) -> list[str]:
    return [line for line in (case / "expected.txt").read_text(encoding="utf-8").splitlines() if line.strip()]


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _assert_rejected(result: subprocess.CompletedProcess, case: Path) -> None:
    """Status 2, every expected substring, no traceback, nothing on stdout, one line per problem."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert result.stdout == ""  # nothing ran: not even the `echo hi` of an unsafe target
    for expected in _expected(case):
        assert expected in result.stderr, f"{expected!r} not in:\n{result.stderr}"
    lines = result.stderr.strip().splitlines()
    header = HEADER.fullmatch(lines[0])
    problems = lines[1:] if header else [lines[0].removeprefix("Error: ")]
    assert len(problems) == (int(header.group(1)) if header else 1), result.stderr
    for line in problems:
        assert PROBLEM.fullmatch(line.strip()), f"not 'file.toml: key: message': {line!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_definition_is_rejected_with_one_clear_line_per_problem(case: Path, tmp_path: Path) -> None:
    """``validate`` names file, key, expectation and value, and writes nothing anywhere."""
    before = _listing(case)
    result = run_reportgen("validate", "--definitions", case, cwd=tmp_path, timeout=120)
    _assert_rejected(result, case)
    assert _listing(tmp_path) == []  # no build/ in the working folder
    assert _listing(case) == before
    assert not (CORPUS / ".reportgen-cache").exists()


@pytest.mark.parametrize("name", BUILD_CASES)
def test_build_with_bad_definitions_runs_nothing_and_writes_nothing(name: str, tmp_path: Path) -> None:
    """``build`` rejects bad definitions like ``validate``, before creating its output or cache folder."""
    case = CORPUS / name
    out, cache = tmp_path / "out", tmp_path / "cache"
    result = run_reportgen("build", "--definitions", case, "--out", out, "--cache", cache, cwd=tmp_path,
                           timeout=120)
    _assert_rejected(result, case)
    assert not out.exists()
    assert not cache.exists()
    assert _listing(tmp_path) == []


def test_corpus_covers_at_least_eighteen_cases() -> None:
    """The corpus is the specification of the error messages; keep it from silently shrinking."""
    assert len(CASES) >= 18


def test_problems_in_several_files_are_raised_together() -> None:
    """One SpecError carries every problem of every file, not just the first."""
    with pytest.raises(SpecError) as caught:
        load_course(CORPUS / "errors-in-two-files")
    files = sorted({problem.split(": ", 1)[0].rsplit("/", 1)[-1] for problem in caught.value.problems})
    assert len(caught.value.problems) == 3
    assert files == ["capacity.toml", "overfitting.toml"]


def test_shipped_definitions_expand_to_the_documented_run_counts() -> None:
    """The four lecture studies load in course order with 36, 18, 48 and 24 runs."""
    course = load_course(EXPERIMENTS)
    assert [(s.id, s.n_runs) for s in course.studies] == [
        ("overfitting", 36), ("regularization", 18), ("prior", 48), ("capacity", 24)]
    assert course.date == "2026-11-29"


def test_sweep_follows_file_order_with_seeds_innermost() -> None:
    """Axes keep the order of the sweep table, the last axis varies fastest, and seeds vary fastest of all."""
    study = load_course(EXPERIMENTS).studies[0]
    assert [key for key, _ in study.axes] == ["model.degree", "data.noise"]
    assert [point.params for point in study.points[:3]] == [
        (("model.degree", 1), ("data.noise", 0.1)),
        (("model.degree", 1), ("data.noise", 0.3)),
        (("model.degree", 3), ("data.noise", 0.1)),
    ]
    third = study.points[2].config
    assert (third.model.degree, third.data.noise) == (3, 0.1)
    runs = plan_study(study)
    assert [(run.params[0][1], run.params[1][1], run.seed) for run in runs[:4]] == [
        (1, 0.1, 0), (1, 0.1, 1), (1, 0.1, 2), (1, 0.3, 0)]


def test_validated_definitions_are_frozen() -> None:
    """Neither the pydantic models nor the Study and Course records can be changed after validation."""
    course = load_course(EXPERIMENTS)
    study = course.studies[0]
    with pytest.raises(ValidationError):
        study.base.model.degree = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        study.points[0].config.data.noise = 0.5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        study.title = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        course.studies = ()  # type: ignore[misc]


def test_toml_lists_become_tuples() -> None:
    """Arrays from TOML arrive as tuples, so definitions are immutable and hashable all the way down."""
    course = load_course(EXPERIMENTS)
    study = course.studies[0]
    assert isinstance(course.authors, tuple) and [str(a) for a in course.authors] == ["Course staff"]
    assert study.base.data.domain == (0.0, 1.0)
    assert study.base.data.removed == (9, 10, 11, 12, 13)
    assert study.seeds == (0, 1, 2)
    assert study.axes[0] == ("model.degree", (1, 3, 5, 10, 20, 100))
    assert all(isinstance(values, tuple) for _, values in study.axes)
    hash(study.base)
