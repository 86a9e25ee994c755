"""Editions: the student handout keeps the questions and drops every solution; the instructor edition has it all.

One ``--audience all`` build of the tiny course is shared by the tests that only read its outputs. Every
build here uses one result store, so only the first one trains.
"""

from __future__ import annotations

import json
import re

import pytest

from reportgen.discover import builtin_templates

from .conftest import result_store, run_reportgen, write_course
from .support import (
    assert_shows_no_result,
    contains_number,
    definition_values,
    pdf_text,
    result_numbers,
    shown_as_figures,
    visible_text,
)

STUDIES = ["overfitting", "regularization", "prior", "capacity"]
REGRESSION = ["overfitting", "regularization", "capacity"]
RESULT_FIGURE = re.compile(r"fig-[\w-]+-(?:fits|errors|losses|tradeoff|draws-\d+|spread)")


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """The tiny course built once with --audience all: both editions and results.json."""
    root = tmp_path_factory.mktemp("editions")
    definitions = write_course(root / "experiments")
    result = run_reportgen("build", "--definitions", definitions, "--out", root / "build", "--audience", "all",
                           "--cache", result_store(tmp_path_factory), "--quiet")
    assert result.returncode == 0, result.stderr
    out = root / "build"
    return {
        "root": root,
        "out": out,
        "definitions": definitions,
        "student_html": (out / "report-student.html").read_text(encoding="utf-8"),
        "instructor_html": (out / "report.html").read_text(encoding="utf-8"),
        "results": json.loads((out / "results.json").read_text()),
    }


# --------------------------------------------------------------------------- file names per audience


def test_audience_all_writes_both_editions_and_results(editions):
    names = sorted(p.name for p in editions["out"].iterdir() if not p.name.startswith("."))
    assert {"report.html", "report.pdf", "report-student.html", "report-student.pdf", "results.json"} <= set(names)
    assert (editions["out"] / "report-student.pdf").read_bytes().startswith(b"%PDF-")
    assert "Student handout" in visible_text(editions["student_html"])
    assert "Student handout" not in visible_text(editions["instructor_html"])


@pytest.fixture(scope="module")
def student_by_default(tmp_path_factory):
    """A course whose course.toml says audience = "student", built without --audience (one study, to be quick)."""
    root = tmp_path_factory.mktemp("student-default")
    definitions = write_course(root / "experiments", course_lines='\naudience = "student"\n')
    result = run_reportgen("build", "capacity", "--definitions", definitions, "--out", root / "build",
                           "--cache", result_store(tmp_path_factory), "--quiet")
    assert result.returncode == 0, result.stderr
    return root


def test_course_audience_student_is_the_default_and_writes_no_results_json(student_by_default):
    out = student_by_default / "build"
    assert (out / "report-student.html").is_file() and (out / "report-student.pdf").is_file()
    assert not (out / "results.json").exists()  # the numbers are solutions
    assert not (out / "report.html").exists() and not (out / "report.pdf").exists()
    html = (out / "report-student.html").read_text(encoding="utf-8")
    assert 'class="answer"' in html


def test_audience_option_overrides_the_course_default(student_by_default, tmp_path_factory):
    out = student_by_default / "instructor"
    result = run_reportgen("build", "capacity", "--definitions", student_by_default / "experiments",
                           "--out", out, "--audience", "instructor", "--cache", result_store(tmp_path_factory), "-q")
    assert result.returncode == 0, result.stderr
    assert (out / "report.html").is_file() and (out / "report.pdf").is_file() and (out / "results.json").is_file()
    assert not (out / "report-student.html").exists() and not (out / "report-student.pdf").exists()
    assert 'class="answer"' not in (out / "report.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the leak test


def test_student_edition_shows_no_number_of_the_results(editions):
    """No metric of results.json, printed any way the report prints numbers, is visible to a student."""
    candidates = result_numbers(editions["results"], editions["definitions"])
    assert_shows_no_result(candidates, editions["instructor_html"], editions["student_html"],
                           editions["out"] / "report-student.pdf")


def test_student_edition_shows_no_number_of_the_instructor_results_sections(editions):
    """Means, spreads and other numbers the results prose and tables print (not only results.json's) stay out."""
    own_values = definition_values(editions["definitions"]) + json.dumps(editions["results"]["provenance"])
    student, instructor = editions["student_html"], editions["instructor_html"]
    student_ids = set(re.findall(r'\bid="([^"]+)"', student))
    numbers = set()
    for study in STUDIES:
        text = visible_text(_results_section(instructor, study, student_ids))
        numbers |= {n for n in re.findall(r"\d+\.\d+", text) if len(n) >= 4 and not contains_number(own_values, n)}
    assert len(numbers) >= 30
    student_html = visible_text(shown_as_figures(student))
    assert sorted(n for n in numbers if contains_number(student_html, n)) == []
    student_pdf = pdf_text(editions["out"] / "report-student.pdf")
    assert sorted(n for n in numbers if contains_number(student_pdf, n)) == []


def test_student_edition_has_no_result_figure_or_table_but_every_data_figure(editions):
    student, instructor = editions["student_html"], editions["instructor_html"]
    floats = set(re.findall(r'<(?:figure|table)[^>]*\bid="((?:fig|tab)-[^"]+)"', instructor))
    result_ids = {i for i in floats if not i.endswith("-data") and i != "tab-provenance"}
    # The instructor edition has every kind of result float, so the check below covers them all.
    for kind in ("fits", "errors", "losses", "tradeoff", "draws-1", "draws-2", "spread"):
        assert any(i.startswith("fig-") and i.endswith(f"-{kind}") for i in result_ids), kind
    assert {f"tab-{s}-errors" for s in REGRESSION} | {"tab-prior-spread"} <= result_ids
    for ident in sorted(result_ids):
        assert ident not in student, ident
    assert not RESULT_FIGURE.search(student)
    assert not re.search(r'id="tab-(?!provenance")', student)
    for study in REGRESSION:  # the data, drawn once: a later study on the same data refers to the first figure
        for edition in (student, instructor):
            assert f'<figure id="fig-{study}-data"' in edition or (
                study != REGRESSION[0] and f'href="#fig-{REGRESSION[0]}-data"' in edition), study


def _results_section(html: str, study: str, shared_ids: set[str]) -> str:
    """The instructor edition from ``<h3 id="<study>-results">`` to the study's end, or to a heading both share."""
    start = html.index(f'<h3 id="{study}-results">')
    ends = [html.find(marker, start + 1) for marker in ("<h2", "</section>")]
    for match in re.finditer(r'<h3 id="([^"]+)"', html[start + 1:]):
        if match.group(1) in shared_ids:
            ends.append(start + 1 + match.start())
            break
    return html[start:min(e for e in ends if e > 0)]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?:;])\s+", text) if len(s.split()) >= 6]


def test_student_edition_has_no_sentence_of_the_results_and_discussion(editions):
    student, instructor = editions["student_html"], editions["instructor_html"]
    student_ids = set(re.findall(r'\bid="([^"]+)"', student))
    student_text = visible_text(student)
    solutions = []
    for study in STUDIES:
        assert f'id="{study}-results"' not in student
        solutions += _sentences(visible_text(_results_section(instructor, study, student_ids)))
    assert len(solutions) >= 15
    leaked = [s for s in solutions if s in student_text]
    assert leaked == []
    # The comparison can find a sentence: the discussion both editions share is there in both.
    shared = _sentences(visible_text(_results_section(instructor, "capacity", set()).split("</section>")[0]))
    assert [s for s in shared if s in student_text and "universal approximator" in s]


def test_student_edition_has_activities_with_answer_space_and_instructor_edition_none(editions):
    student, instructor = editions["student_html"], editions["instructor_html"]
    for study in STUDIES:
        for html in (student, instructor):
            assert f'<h3 id="{study}-activities">Activities</h3>' in html
        section = student.split(f'<h3 id="{study}-activities">')[1].split("</section>")[0]
        # Every activity is followed by its own answer space, which is never inside a list item (PDF/UA's LI-KIDS:
        # a tagged list item holds only its label and body).
        pairs = re.findall(r'<p class="activity">.*?</p>\s*<div class="answer" role="presentation"></div>', section,
                           re.S)
        assert len(pairs) >= 3 and len(pairs) == section.count('<p class="activity">'), study
        assert "<li" not in section and "<ol" not in section, study
        assert section.count('<div class="answer"') == len(pairs), study
    assert student.count('<div class="answer"') == 15  # 4 + 3 + 5 + 3 activities
    assert 'class="answer"' not in instructor and instructor.count("<li>") >= 15
    assert "Activities" in pdf_text(editions["out"] / "report-student.pdf")


def test_answer_space_is_five_even_lines_of_whole_pixels():
    """Even lines: one 24 px tile holding a one-pixel line away from its edges, repeated over a 120 px box (a
    gradient of em fractions drew lines of uneven weight, some too thin to show)."""
    css = (builtin_templates() / "report.css").read_text(encoding="utf-8")
    rule = re.search(r"\.answer \{([^}]*)\}", css).group(1)
    assert "height: 120px" in rule and "background-size: 100% 24px" in rule and "repeat-y" in rule
    assert "transparent 22px, #9aa0a6 22px, #9aa0a6 23px, transparent 23px" in rule


def test_student_edition_has_no_provenance_appendix_and_the_instructor_edition_keeps_it(editions):
    student, instructor = editions["student_html"], editions["instructor_html"]
    assert 'id="provenance"' not in student and 'href="#provenance"' not in student
    assert "SHA-256" not in visible_text(student) and "SHA-256" not in pdf_text(editions["out"] / "report-student.pdf")
    assert 'id="provenance"' in instructor and "SHA-256" in visible_text(instructor)


def test_student_introduction_says_what_to_do_and_names_the_notebook(editions):
    student = visible_text(editions["student_html"].split('id="introduction"')[1].split("</section>")[0])
    assert "You run the experiments in the lab notebook that comes with this handout, lab.ipynb, in Jupyter" in student
    assert "Write your answers in the space after each activity." in student
    for claim in ("runs the experiments", "runs every experiment", "trained together as one batched program",
                  "95 % interval"):
        assert claim not in student, claim
    instructor = visible_text(editions["instructor_html"].split('id="introduction"')[1].split("</section>")[0])
    assert "runs the experiments the lecture asks students to try by hand" in instructor


def test_student_notebook_shows_no_result_of_the_instructor_edition(editions):
    """The leak test, on the student notebook's JSON as stored (cell sources, metadata and outputs): no metric of
    results.json as the report prints it or at full precision, and no sentence of the results and discussion."""
    notebook = (editions["out"] / "lab.ipynb").read_text(encoding="utf-8")
    cells = json.loads(notebook)["cells"]
    assert len(cells) > 50 and all(cell.get("outputs", []) == [] for cell in cells)
    candidates = result_numbers(editions["results"], editions["definitions"])
    assert len(candidates) > 100
    assert {n: where for n, where in candidates.items() if contains_number(notebook, n)} == {}
    own_values = definition_values(editions["definitions"]) + json.dumps(editions["results"]["provenance"])
    exact = {repr(value) for study in editions["results"]["studies"] for run in study["runs"]
             for value in run["metrics"].values() if type(value) is float}
    exact = {number for number in exact if len(number) >= 8 and not contains_number(own_values, number)}
    assert len(exact) > 100 and sorted(n for n in exact if contains_number(notebook, n)) == []
    words = " ".join("".join(cell["source"]) for cell in cells)
    instructor = editions["instructor_html"]
    ids = set(re.findall(r'\bid="([^"]+)"', editions["student_html"]))
    solutions = [s for study in STUDIES for s in _sentences(visible_text(_results_section(instructor, study, ids)))]
    assert len(solutions) >= 15 and [s for s in solutions if s in words] == []


def test_student_edition_keeps_the_setup_of_every_study(editions):
    student = visible_text(editions["student_html"])
    for study in STUDIES:
        assert f'<h3 id="{study}-setup">Setup</h3>' in editions["student_html"]
    assert "Sweep model.degree ∈ {1, 3, 12} × data.noise ∈ {0.1, 0.3}; seeds 0, 1: 12 runs" in student


# --------------------------------------------------------------------------- one-study handout


@pytest.fixture(scope="module")
def handout(editions, tmp_path_factory):
    out = editions["root"] / "handout"
    result = run_reportgen("build", "overfitting", "--audience", "student", "--definitions", editions["definitions"],
                           "--out", out, "--cache", result_store(tmp_path_factory), "--quiet")
    assert result.returncode == 0, result.stderr
    return out


def test_one_study_handout_has_its_own_title_page(handout):
    html = (handout / "report-student.html").read_text(encoding="utf-8")
    title_page = html.split('<header class="title-page">')[1].split("</header>")[0]
    assert re.search(r"<h1>\s*Overfitting\s*</h1>", title_page)
    assert re.search(r'<p class="subtitle">\s*Tiny course\s*</p>', title_page)
    assert "A fixture" not in title_page  # the course subtitle gives way to the course title
    assert "Student handout" in title_page
    assert "<title>Overfitting · Tiny course</title>" in html  # the tab and the PDF's Title name the handout


def test_one_study_handout_has_only_that_study(handout):
    html = (handout / "report-student.html").read_text(encoding="utf-8")
    assert re.findall(r'<section class="study" id="([^"]+)"', html) == ["overfitting"]
    for other in ("regularization", "prior", "capacity"):
        assert f'id="{other}-' not in html and f'href="#{other}"' not in html
    assert 'id="overfitting-results"' not in html and '<div class="answer"' in html
    names = {p.name for p in handout.iterdir()}
    assert {"report-student.html", "report-student.pdf"} <= names
    assert not names & {"report.html", "report.pdf", "results.json"}  # --audience student alone: no solutions


def test_student_edition_has_no_script_explorer_or_embedded_run_data(editions):
    """Explorers hold every fit: the student HTML has no script, no explorer, none of their data, and no metric of
    results.json at full precision anywhere in its source (attributes and data URIs included)."""
    instructor, student = editions["instructor_html"], editions["student_html"]
    payloads = [json.loads(p) for p in
                re.findall(r'<script type="application/json" data-role="data">(.*?)</script>', instructor, re.S)]
    # Not vacuous: every study of the tiny course has an explorer, whose runs carry encoded fits and losses.
    assert len(payloads) == len(STUDIES)
    encoded = [item[field] for p in payloads for item in p.get("runs", p.get("configs", []))
               for field in ("fits", "losses", "draws") if field in item]
    assert len(encoded) > 40 and all(len(e) > 40 for e in encoded)
    assert sum(e in instructor for e in encoded) == len(encoded)

    assert re.findall(r"<script\b", student, re.I) == []
    assert "explorer" not in student and "data-widget" not in student
    assert [e[:24] for e in encoded if e in student] == []
    own_values = definition_values(editions["definitions"]) + json.dumps(editions["results"]["provenance"])
    exact = {repr(value) for study in editions["results"]["studies"] for run in study["runs"]
             for value in run["metrics"].values() if type(value) is float}
    exact = {number for number in exact if len(number) >= 8 and not contains_number(own_values, number)}
    assert len(exact) > 100
    assert sorted(n for n in exact if contains_number(student, n)) == []


def test_explorers_are_hidden_without_javascript_and_absent_from_the_instructor_pdf(editions):
    """The page without its script reads as before (explorers carry ``hidden``), and the PDF has no explorer."""
    instructor = editions["instructor_html"]
    headings = ["Replay the training", "Explore the prior"]
    assert all(heading in instructor for heading in headings)
    opening = re.findall(r'<div class="explorer"[^>]*>', instructor)
    assert len(opening) == len(STUDIES) and all(" hidden" in tag for tag in opening)
    assert not any(heading in visible_text(instructor) for heading in headings)
    pdf = pdf_text(editions["out"] / "report.pdf")
    assert "Results" in pdf and not any(heading in pdf for heading in headings)
