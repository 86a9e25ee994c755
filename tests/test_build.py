"""End to end: a tiny course built by the real command into a temporary folder."""

from __future__ import annotations

import json
import math
import re
from html import unescape

import pytest

from .conftest import OUTPUTS, run_reportgen, write_course
from .support import pdf_text, poppler, section, text_with_formulas


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build of the tiny course, shared by the tests that only read its outputs."""
    root = tmp_path_factory.mktemp("course")
    definitions = write_course(root / "experiments")
    result = run_reportgen("build", "--definitions", definitions, "--out", root / "build", "--cache", root / "cache")
    assert result.returncode == 0, result.stderr
    return root


def test_build_writes_html_pdf_and_results(built):
    out = built / "build"
    assert sorted(p.name for p in out.iterdir()) == sorted([".reportgen-manifest.json", "build-info.json", *OUTPUTS])
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")


def test_introduction_states_the_recipe_the_definitions_give(built):
    intro = text_with_formulas(section((built / "build" / "report.html").read_text(), "introduction"))
    assert "All regression studies share one synthetic data set. 20 equally spaced inputs" in intro
    assert "the 5 with indices 9, 10, 11, 12, and 13 are deleted" in intro and "the 15 that remain" in intro
    assert "learning rate 0.01" in intro and "seeded with 0" in intro and "grid of 200 points" in intro
    # The tiny course trains its studies for different numbers of steps: the text says so per study.
    assert "60 steps (Overfitting; Regularization) and 40 steps (Capacity)" in intro


@pytest.fixture(scope="module")
def selected(built, tmp_path_factory):
    """Two of the tiny course's studies built again from the first build's result store: the output folder."""
    out = tmp_path_factory.mktemp("selected") / "build"
    result = run_reportgen("build", "capacity", "overfitting", "--definitions", built / "experiments", "--out", out,
                           "--cache", built / "cache", "--quiet")
    assert result.returncode == 0, result.stderr
    return out


def test_build_info_records_what_differs_between_builds(built, selected):
    runs = {s["id"]: len(s["runs"]) for s in json.loads((built / "build" / "results.json").read_text())["studies"]}
    cold = json.loads((built / "build" / "build-info.json").read_text())
    # The first build computed every run, each for the reason it gives.
    assert {s["id"]: (s["trained"], s["reused"], len(s["recomputed"])) for s in cold["studies"]} == {
        study: (count, 0, count) for study, count in runs.items()}
    # A study is timed around its units of work, so its seconds hold each of its units' (timed where they ran),
    # and every study ran a unit that computed runs.
    seconds = {s["id"]: s["seconds"] for s in cold["studies"]}
    assert all(task["seconds"] <= seconds[task["study"]] for task in cold["tasks"]), (seconds, cold["tasks"])
    assert max(task["seconds"] for task in cold["tasks"]) > 0 and cold["timings"]["pdf"] > 0
    assert {task["study"] for task in cold["tasks"] if task["runs"]} == set(runs)
    # Built again from the same store, the selected studies reuse every run and run no unit: their analyses are
    # stored too.
    warm = json.loads((selected / "build-info.json").read_text())
    assert {s["id"]: (s["trained"], s["reused"], s["recomputed"]) for s in warm["studies"]} == {
        "overfitting": (0, 12, []), "capacity": (0, 8, [])}
    assert warm["tasks"] == []


def test_report_appendix_shows_each_definition_file_and_its_hash(built):
    html = (built / "build" / "report.html").read_text()
    appendix = unescape(html.split('id="provenance"')[1])
    assert 'kind = "overfitting"' in appendix and '"model.degree" = [1, 3, 12]' in appendix
    document = json.loads((built / "build" / "results.json").read_text())
    for study in document["provenance"]["studies"]:
        assert study["sha256"][:16] in appendix
    kernels = document["provenance"]["kernel"]
    assert sorted(kernels) == ["mlp", "polynomial"]
    for kind, identity in kernels.items():
        assert identity.startswith("c ") and f"<dt>{kind} gradients</dt><dd>C kernel {identity[2:]}</dd>" in appendix


def test_results_json_has_every_run_with_params_seed_status_and_metrics(built):
    document = json.loads((built / "build" / "results.json").read_text())
    studies = {s["id"]: s for s in document["studies"]}
    assert list(studies) == ["overfitting", "regularization", "prior", "capacity"]
    assert [len(s["runs"]) for s in studies.values()] == [12, 6, 12, 8]
    first = studies["overfitting"]["runs"][0]
    assert first["params"] == {"model.degree": 1, "data.noise": 0.1}
    assert first["seed"] == 0 and first["status"] == "ok"
    assert {"train_sse", "test_mse", "lstsq_sse"} <= set(first["metrics"])
    assert studies["regularization"]["runs"][2]["params"] == {"train.weight_decay": 0.1}
    assert studies["capacity"]["runs"][0]["params"] == {"model.width": 1, "model.depth": 1}
    assert "measured_std" in studies["prior"]["runs"][0]["metrics"]
    # The tiny course trains gently: every run converged, and "ok" means every metric is a finite number (a
    # diverged run's non-finite ones are null), so the report lists no diverged run.
    runs = [run for s in studies.values() for run in s["runs"]]
    assert [run for run in runs if run["status"] != "ok"] == []
    assert [run for run in runs if not all(isinstance(value, (int, float)) and math.isfinite(value)
                                           for value in run["metrics"].values())] == []
    assert "Diverged runs." not in (built / "build" / "report.html").read_text()


def test_html_is_one_self_contained_file(built):
    html = (built / "build" / "report.html").read_text()
    assert '<html lang="en">' in html
    # No stylesheet, script, font or image is fetched: every src is a data URI and there is no <link> or @import.
    sources = re.findall(r'\bsrc="([^"]*)"', html)
    assert sources and all(s.startswith("data:image/svg+xml,%3Csvg") for s in sources)
    links = re.findall(r"<link [^>]*>", html)
    assert links == ['<link rel="icon" href="data:,">']  # the one link is an inline empty icon
    assert "@import" not in html
    # Scripts are inline: the explorers' one script and their JSON data, nothing with a src.
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts.count("") == 1 and scripts.count(' type="application/json" data-role="data"') == len(scripts) - 1
    outside_images = re.sub(r'="data:[^"]*"', '=""', html)  # url(%23id) inside an image names a clip path there
    assert not re.search(r"url\((?!data:|#)", outside_images)  # url(#id) names a clip path in the page itself


def test_html_has_figures_with_alt_text_tables_and_rendered_equations(built):
    html = (built / "build" / "report.html").read_text()
    figures = re.findall(r'<figure id="(fig-[^"]+)"', html)
    assert len(figures) >= 9
    alts = re.findall(r'<figure[^>]*>\s*(?:<div class="figure-image"[^>]*>)?<img src="[^"]+" alt="([^"]*)"', html)
    assert len(alts) == len(figures)
    for alt in alts:
        assert len(alt) > 30
    assert set(re.findall(r'<table id="(tab-[^"]+)"', html)) >= {
        "tab-overfitting-errors", "tab-overfitting-lstsq", "tab-regularization-errors", "tab-regularization-map",
        "tab-prior-spread", "tab-capacity-errors"}
    assert html.count('class="math-display"') >= 8 and html.count('class="math"') > 20
    assert "\\(" not in html and "\\[" not in html and "\\ref{" not in html and "\\cite{" not in html
    assert re.search(r'<a class="xref" href="#fig-overfitting-fits">Figure 2</a>', html)  # Figure 1 shows the data


def test_prose_quotes_numbers_from_the_results(built):
    html = (built / "build" / "report.html").read_text()
    document = json.loads((built / "build" / "results.json").read_text())
    runs = document["studies"][0]["runs"]
    by_degree = {}
    for run in runs:
        if run["params"]["data.noise"] == 0.1:
            by_degree.setdefault(run["params"]["model.degree"], []).append(run["metrics"]["mse_inside"])
    best = min(by_degree, key=lambda d: sum(by_degree[d]) / len(by_degree[d]))
    assert f"At noise 0.1, the error inside the data is lowest at degree {best}" in html
    assert document["studies"][0]["findings"]["series"][0]["best_inside"]["degree"] == best


def test_pdf_is_a4_with_page_numbers_and_the_report_text(built):
    pdf = built / "build" / "report.pdf"
    info = poppler("pdfinfo", pdf)
    assert re.search(r"Page size:\s+595.27\d* x 841.8\d* pts \(A4\)", info)
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 8
    assert re.search(r"Tagged:\s+yes", info)
    assert re.search(r"Title:\s+Tiny course", info) and re.search(r"Author:\s+Test Author", info)
    text = pdf_text(pdf)
    assert "page 3 of" in text
    assert "Overfitting" in text and "References" in text and "Provenance" in text
    # The contents page carries page numbers; captions are numbered; the bibliography is there.
    assert re.search(r"Introduction\s*\.{5,}\s*\d+", text)
    assert re.search(r"Figure 1\. The training data", text) and re.search(r"Table 1\. Trained fits per degree", text)
    assert "Hornik, K., Stinchcombe, M. and White, H. (1989)" in text


def test_pdf_has_a_bookmark_per_section(built):
    import weasyprint

    document = weasyprint.HTML(string=(built / "build" / "report.html").read_text()).render()
    labels = [entry[0] for entry in document.make_bookmark_tree()]
    for title in ("Introduction", "Overfitting", "Regularization", "Prior", "Capacity", "References", "Provenance"):
        assert title in labels


def test_two_builds_of_the_same_definitions_are_byte_identical(built, tmp_path):
    again = tmp_path / "again"
    result = run_reportgen("build", "--definitions", built / "experiments", "--out", again, "--no-cache", "--quiet")
    assert result.returncode == 0, result.stderr
    for name in OUTPUTS:
        assert (again / name).read_bytes() == (built / "build" / name).read_bytes(), name


def test_selected_studies_only_are_built(selected):
    ids = [s["id"] for s in json.loads((selected / "results.json").read_text())["studies"]]
    assert ids == ["overfitting", "capacity"]
    assert "Prior" not in (selected / "report.html").read_text().split("<main")[1].split("Provenance")[0]


def test_unknown_study_is_bad_input(built, tmp_path):
    result = run_reportgen("build", "overfiting", "--definitions", built / "experiments", "--out", tmp_path / "x")
    assert result.returncode == 2
    assert "unknown study 'overfiting' (did you mean 'overfitting'?)" in result.stderr
    assert not (tmp_path / "x").exists()


def test_failed_build_leaves_the_previous_report_in_place(built, tmp_path):
    out = tmp_path / "out"
    definitions = tmp_path / "experiments"
    definitions.mkdir()
    for f in (built / "experiments").iterdir():
        (definitions / f.name).write_text(f.read_text())
    assert run_reportgen("build", "--definitions", definitions, "--out", out, "--cache", built / "cache",
                         "-q").returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # A bibliography that lacks the cited works parses, so the build fails only once the HTML is rendered.
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "bibliography.toml").write_text('[[entry]]\nkey = "nobody"\nauthors = "N. Body"\nyear = 2026\n'
                                                 'title = "Not the cited works"\nvenue = "Nowhere"\nurl = "x"\n')
    result = run_reportgen("build", "--definitions", definitions, "--out", out, "--cache", built / "cache",
                           "--templates", templates)
    assert result.returncode == 2, result.stderr
    assert "rendering the instructor edition (HTML)" in result.stderr  # it got past the studies, then failed
    assert "names no entry of bibliography.toml" in result.stderr
    assert "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_diverged_run_is_reported_not_fatal(tmp_path):
    definitions = tmp_path / "experiments"
    definitions.mkdir()
    (definitions / "course.toml").write_text('title = "T"\ndate = "2026-01-01"\nstudies = ["overfitting"]\n')
    (definitions / "overfitting.toml").write_text(
        'kind = "overfitting"\ntitle = "O"\n[data]\nnoise = 0.1\ntarget = "1e30 * x"\n[model]\nkind = "polynomial"\n'
        '[train]\nsteps = 200\n[sweep]\n"model.degree" = [1, 40]\n"train.lr" = [0.01, 10.0]\n')
    result = run_reportgen("build", "--definitions", definitions, "--out", tmp_path / "out", "--no-cache")
    assert result.returncode == 0, result.stderr
    assert "diverged" in result.stderr
    runs = json.loads((tmp_path / "out" / "results.json").read_text())["studies"][0]["runs"]
    assert "diverged" in {r["status"] for r in runs}
    for run in runs:
        # A diverged run says when; its non-finite numbers are null, since JSON cannot spell NaN.
        assert (run["status"] == "diverged") == ("diverged_at_step" in run["metrics"])
        if run["status"] == "diverged":
            assert 1 <= run["metrics"]["diverged_at_step"] <= 200 and run["metrics"]["train_sse"] is None
    assert "Diverged runs." in (tmp_path / "out" / "report.html").read_text()
