"""The example plug-in (examples/reportgen-basis), installed as a third party's kind would be, builds its course.

The package is pip-installed from a copy into a temporary folder put on PYTHONPATH for the reportgen
subprocesses only, so importlib.metadata finds its entry point there and the rest of the suite never sees it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

from reportgen.data import make_dataset
from reportgen.formatting import fmt
from reportgen.schema import DataSpec

from .conftest import OUTPUTS, install_plugin, run_reportgen
from .support import english_left

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "examples" / "reportgen-basis"
COURSE = ROOT / "examples" / "basis-course"
TEMPLATES = PACKAGE / "reportgen_basis" / "templates"
LOCALE = TEMPLATES / "locale"


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict[str, str]:
    """Environment whose PYTHONPATH holds the example package, freshly installed (with its dist-info)."""
    return install_plugin(PACKAGE, tmp_path_factory.mktemp("plugin"))


@pytest.fixture(scope="module")
def first_build(plugin_env, tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """The example course built once with an empty cache: (output folder, cache folder, the process)."""
    work = tmp_path_factory.mktemp("builds")
    out, cache = work / "first", work / "cache"
    done = run_reportgen("build", "--definitions", COURSE, "--out", out, "--cache", cache, "--jobs", "1",
                         cwd=work, env=plugin_env, timeout=300)
    return out, cache, done


def _runs(out: Path) -> list[dict]:
    document = json.loads((out / "results.json").read_text())
    (study,) = [s for s in document["studies"] if s["kind"] == "basis"]
    return study["runs"]


def test_list_shows_the_study_of_the_plugin_kind(plugin_env, tmp_path):
    listed = run_reportgen("list", "--definitions", COURSE, cwd=tmp_path, env=plugin_env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    row = next(line.split() for line in listed.stdout.splitlines() if line.startswith("basis "))
    assert row[:3] == ["basis", "basis", "6"]


def test_plugin_schema_errors_name_the_file_and_key(plugin_env, tmp_path):
    course = shutil.copytree(COURSE, tmp_path / "course")
    text = (course / "basis.toml").read_text()
    (course / "basis.toml").write_text(text.replace('"model.count" = [3, 6, 12]', '"model.count" = [0, 3]')
                                       .replace("width = 0.1 ", "width = -1.0 "))
    checked = run_reportgen("validate", "--definitions", course, cwd=tmp_path, env=plugin_env, timeout=120)
    assert checked.returncode == 2
    assert "basis.toml: model.width: expected a number > 0, got -1.0" in checked.stderr
    assert "basis.toml: sweep.model.count[0]: expected an integer >= 1, got 0" in checked.stderr


def test_course_of_the_plugin_kind_builds_its_section_figure_and_table(first_build):
    out, _, done = first_build
    assert done.returncode == 0, done.stdout + done.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<section class="study" id="basis"' in html
    assert '<figure id="fig-basis-fits"' in html and '<table id="tab-basis-errors">' in html
    assert 'id="basis-results"' in html  # the plug-in's own template, instructor part included
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")


def test_the_introduction_explains_the_data_it_uses_and_nothing_the_course_does_not_train(first_build):
    out, _, _ = first_build
    html = (out / "report.html").read_text()
    intro = html.split('id="introduction"')[1].split("</section>")[0]
    # The basis study holds the lecture's data recipe (found by its type), but fits no polynomial, trains nothing.
    assert 'id="data"' in intro and "The regression study uses one synthetic data set." in intro
    for absent in ('id="linear-in-a-basis"', 'id="likelihood"', 'id="training"', "follows the lecture"):
        assert absent not in intro


def test_results_json_holds_every_run_of_the_sweep(first_build):
    out, _, _ = first_build
    runs = _runs(out)
    assert sorted((r["params"]["model.family"], r["params"]["model.count"]) for r in runs) == sorted(
        (family, count) for family in ("gaussian", "fourier") for count in (3, 6, 12))
    for run in runs:
        assert run["status"] == "ok"
        assert run["metrics"]["n_parameters"] == run["params"]["model.count"] + 1
        assert run["metrics"]["train_sse"] >= 0 and run["metrics"]["test_mse"] > 0


def test_rebuild_from_the_same_cache_computes_nothing_and_gives_the_same_bytes(first_build, plugin_env):
    out, cache, done = first_build
    assert done.returncode == 0, done.stderr
    again = out.parent / "again"
    second = run_reportgen("build", "--definitions", COURSE, "--out", again, "--cache", cache, "--jobs", "1",
                           cwd=out.parent, env=plugin_env, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    for name in OUTPUTS:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    (study,) = json.loads((again / "build-info.json").read_text())["studies"]
    assert (study["trained"], study["reused"]) == (0, 6)


def _design_matrix(x: np.ndarray, family: str, count: int, width: float, domain: tuple[float, float]):
    """The basis as the plug-in documents it, written out column by column."""
    lo, hi = domain
    columns = [np.ones_like(x)]
    for j in range(1, count + 1):
        if family == "gaussian":
            centre = lo + (hi - lo) * (j - 1) / (count - 1) if count > 1 else (lo + hi) / 2
            columns.append(np.exp(-(x - centre) ** 2 / (2 * width ** 2)))
        else:
            k, t = (j + 1) // 2, (x - lo) / (hi - lo)
            columns.append(np.cos(k * np.pi * t) if j % 2 else np.sin(k * np.pi * t))
    return np.column_stack(columns)


def test_closed_form_train_sse_equals_numpy_lstsq_on_the_same_design_matrix(first_build):
    out, _, _ = first_build
    definition = tomllib.loads((COURSE / "basis.toml").read_text())
    assert definition["model"]["ridge"] == 0.0  # plain least squares: what lstsq solves
    spec = DataSpec(**definition["data"])
    data = make_dataset(spec)
    for run in _runs(out):
        phi = _design_matrix(data.x_train, run["params"]["model.family"], run["params"]["model.count"],
                             definition["model"]["width"], spec.domain)
        coef, *_ = np.linalg.lstsq(phi, data.y_train, rcond=None)
        expected = float(np.sum((phi @ coef - data.y_train) ** 2))
        assert run["metrics"]["train_sse"] == pytest.approx(expected, rel=1e-9), run["params"]


def test_ridge_fit_solves_the_penalised_normal_equations(plugin_env, tmp_path):
    # In a subprocess: the plug-in is on the PYTHONPATH of reportgen's subprocesses only.
    script = textwrap.dedent("""
        import numpy as np
        from reportgen.plugin import DataSpec, make_dataset
        from reportgen_basis.kind import BasisSpec, design_matrix, solve

        data = make_dataset(DataSpec())
        for family in ("gaussian", "fourier"):
            phi = design_matrix(data.x_train, BasisSpec(kind="basis", family=family, count=12), (0.0, 1.0))
            penalty = np.diag([0.0] + [1.0] * 12)
            norms = []
            for ridge in (1e-4, 1e-2, 1.0):
                coef, rank = solve(phi, data.y_train, ridge)
                exact = np.linalg.solve(phi.T @ phi + ridge * penalty, phi.T @ data.y_train)
                assert np.allclose(coef, exact, rtol=1e-6, atol=1e-9), (family, ridge, coef - exact)
                assert rank == 13
                norms.append(np.linalg.norm(coef[1:]))
            assert norms == sorted(norms, reverse=True), (family, norms)  # more penalty, smaller coefficients
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env=plugin_env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr


def test_editing_the_plugin_code_puts_its_outputs_out_of_date(plugin_env, first_build, tmp_path):
    out, _, done = first_build
    assert done.returncode == 0, done.stderr
    site, *rest = plugin_env["PYTHONPATH"].split(os.pathsep)
    edited = shutil.copytree(site, tmp_path / "site")  # the module's installed copy stays as it is
    env = dict(plugin_env, PYTHONPATH=os.pathsep.join([str(edited), *rest]))
    check = ("check", "--definitions", COURSE, "--out", out)
    assert run_reportgen(*check, cwd=tmp_path, env=env, timeout=120).returncode == 0  # the same code: current
    analysis = edited / "reportgen_basis" / "analysis.py"
    analysis.write_text(analysis.read_text() + "\n# an edit of the kind's analysis\n")
    result = run_reportgen(*check, cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 1 and "out of date" in result.stderr, result.stderr


def _section(page: str) -> str:
    """The basis study's section of a report, after its title and summary (text of the definition), as text."""
    start = page.index('<section class="study" id="basis"')
    section = page[start:page.index('<section id="references"', start)]
    section = section[section.index("</p>", section.index('class="summary"')):]
    return html.unescape(re.sub(r"<[^>]+>", " ", section))


def test_course_of_the_plugin_kind_builds_in_spanish_from_its_catalogue(plugin_env, tmp_path):
    site = Path(plugin_env["PYTHONPATH"].split(os.pathsep)[0])
    assert (site / "reportgen_basis" / "templates" / "locale" / "es" / "LC_MESSAGES" / "messages.po").is_file()
    out = tmp_path / "out"
    # --strict: a message the catalogues leave fuzzy or untranslated fails the build.
    done = run_reportgen("build", "--definitions", COURSE, "--out", out, "--cache", tmp_path / "cache", "--jobs", "1",
                         "--lang", "es", "--strict", cwd=tmp_path, env=plugin_env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    section = _section((out / "report.es.html").read_text(encoding="utf-8"))
    assert "Los coeficientes muestran cómo falla una base." in section
    assert "Con campanas gaussianas, entre las cantidades probadas, el error de prueba en este conjunto de datos es " \
        "mínimo con 6 funciones base" in section
    assert "la SSE de entrenamiento termina por debajo de 0,177" in section
    assert "MSE de prueba fuera de los datos" in section  # the new column's header
    page = (out / "report.es.html").read_text(encoding="utf-8")
    # The course's own words are Spanish too: title, subtitle, authors and the study's title and summary.
    assert "<title>Cómo elegir una base</title>" in page and "Equipo docente" in page
    assert "Campanas gaussianas y características de Fourier" in page and "dónde generaliza o falla" in page
    assert "Ajustes en forma cerrada sobre una base fija" in section  # the figure's caption, from the analysis
    assert "MSE de prueba en el hueco" in section  # a table header
    # No English sentence of the section is left: no stretch of any of its messages between two fields.
    stretches, left = english_left(LOCALE / "messages.pot", section)
    assert stretches > 40 and not left, left


def test_the_example_catalogue_is_complete_and_current(tmp_path):
    options = ("--templates", TEMPLATES, "--code", PACKAGE / "reportgen_basis")
    status = run_reportgen("translations", "status", *options, cwd=tmp_path, timeout=120)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "(100 %), 0 fuzzy, 0 missing" in status.stdout, status.stdout
    # messages.pot is what `translations update` writes from the code and templates as they are now.
    copy = shutil.copytree(PACKAGE / "reportgen_basis", tmp_path / "reportgen_basis",
                           ignore=shutil.ignore_patterns("__pycache__"))
    update = run_reportgen("translations", "update", "--templates", copy / "templates", "--code", copy,
                           cwd=tmp_path, timeout=120)
    assert update.returncode == 0, update.stdout + update.stderr
    assert (copy / "templates" / "locale" / "messages.pot").read_bytes() == (LOCALE / "messages.pot").read_bytes()


def _fits(out: Path) -> list[dict]:
    """Each run of the example course refitted here with lstsq on the basis as documented: its params, its training
    SSE, its mean squared error per region of the test grid, and the share of its squared error beyond the data."""
    definition = tomllib.loads((COURSE / "basis.toml").read_text())
    data = make_dataset(DataSpec(**definition["data"]))
    outside = (data.x_test < data.x_train.min()) | (data.x_test > data.x_train.max())
    gap = (data.x_test > data.gap[0]) & (data.x_test < data.gap[1])
    fits = []
    for run in _runs(out):
        family, count = run["params"]["model.family"], run["params"]["model.count"]
        phi = _design_matrix(data.x_train, family, count, definition["model"]["width"], (0.0, 1.0))
        coef, *_ = np.linalg.lstsq(phi, data.y_train, rcond=None)
        squared = (_design_matrix(data.x_test, family, count, definition["model"]["width"], (0.0, 1.0)) @ coef
                   - data.f_test) ** 2
        fits.append({"family": family, "count": count, "train_sse": float(np.sum((phi @ coef - data.y_train) ** 2)),
                     "mse": float(squared.mean()), "gap_mse": float(squared[gap].mean()),
                     "outside_mse": float(squared[outside].mean()),
                     "outside_share": float(squared[outside].sum() / squared.sum()),
                     "gap_share": float(squared[gap].sum() / squared.sum()),
                     "floor": float(np.sum((data.y_train - data.f_train) ** 2))})
    return fits


def _table_rows(page: str) -> list[list[str]]:
    """The cells of the error table, as text, one list per row."""
    table = re.search(r'<table id="tab-basis-errors">.*?</table>', page, re.S).group(0)
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]


def test_the_table_reports_the_error_beyond_the_ends_of_the_data_as_recomputed(first_build):
    out, _, _ = first_build
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "test MSE beyond the data" in page
    rows = {(row[0], row[1]): row for row in _table_rows(page)}
    names = {"gaussian": "Gaussian bumps", "fourier": "Fourier features"}
    for fit in _fits(out):
        row = rows[(names[fit["family"]], str(fit["count"]))]
        # setting, functions, rank, train SSE, test MSE, in the gap, beyond the data
        assert row[3:] == [fmt(fit[key], html=False) for key in ("train_sse", "mse", "gap_mse", "outside_mse")], row
    (study,) = [s for s in json.loads((out / "results.json").read_text())["studies"] if s["kind"] == "basis"]
    for run, fit in zip(study["runs"], _fits(out)):
        assert run["metrics"]["outside_mse"] == pytest.approx(fit["outside_mse"], rel=1e-6)
        assert run["metrics"]["outside_share"] == pytest.approx(fit["outside_share"], rel=1e-6)


def test_the_noise_floor_sentence_lists_exactly_the_counts_that_train_below_it(first_build):
    out, _, _ = first_build
    section = " ".join(_section((out / "report.html").read_text(encoding="utf-8")).split())
    fits = _fits(out)
    floor = fits[0]["floor"]
    for family in ("gaussian", "fourier"):
        mine = [fit for fit in fits if fit["family"] == family]
        below = [fit for fit in mine if fit["train_sse"] < floor]
        above = [fit for fit in mine if fit["train_sse"] >= floor]
        assert [fit["count"] for fit in below] == [6, 12] and [fit["count"] for fit in above] == [3]  # this data
        listed = " and ".join(str(fit["count"]) for fit in below)
        sses = " and ".join(fmt(fit["train_sse"], html=False) for fit in below)
        assert (f"The training SSE ends below the {fmt(floor, html=False)} that the noiseless target itself scores on "
                f"these points with {listed} basis functions ({sses}), so part of the noise has been fitted, and above "
                f"it with 3 ({fmt(above[0]['train_sse'], html=False)}).") in section


def test_the_failure_paragraph_cites_the_errors_by_region_and_where_most_of_it_lies(first_build):
    out, _, _ = first_build
    page = (out / "report.html").read_text(encoding="utf-8")
    section = " ".join(_section(page).split())
    fits = {(fit["family"], fit["count"]): fit for fit in _fits(out)}
    fourier, gaussian = fits[("fourier", 12)], fits[("gaussian", 12)]
    assert (f"That fit's test error is {fmt(fourier['gap_mse'], html=False)} inside the gap and "
            f"{fmt(fourier['outside_mse'], html=False)} beyond the ends of the data.") in section
    # Shares rounded down to a tenth of a percent: 72.8 % beyond the data for 12 Fourier features, 99.6 % in the gap
    # for 12 bumps.
    assert fourier["outside_share"] > 0.5 and gaussian["gap_share"] > 0.5
    beyond = np.floor(1000 * fourier["outside_share"]) / 10
    inside_gap = np.floor(1000 * gaussian["gap_share"]) / 10
    assert f"The grid beyond the ends of the data holds {beyond:.1f} % of that fit's squared error" in section
    assert f"The gap holds {inside_gap:.1f} % of that fit's squared error" in section
    # Rankings are of the settings tried, on this one data set; no run has a ridge penalty, so none is claimed.
    assert "Of the settings tried, Fourier features with 6 basis functions generalize best on this data set" in section
    assert "No fit here has a ridge penalty; the activities ask you to try one" in section
    assert "the other remedy" not in section


def test_the_setup_leaves_what_the_sweep_varies_to_the_sweep_and_the_prose_is_american(first_build):
    out, _, _ = first_build
    page = (out / "report.html").read_text(encoding="utf-8")
    section = " ".join(_section(page).split())
    # The base count (6) and family (gaussian) describe no run: the Model row leaves both to the sweep row.
    assert "Model a bias plus fixed basis functions, combined linearly; bump width 0.1; ridge penalty 0.0 Fit" \
        in section
    assert "a bias plus 6 Gaussian bumps" not in section
    for british in ("generalise", "centre", "minimis", "optimis", "neighbour", "regularis", "penalis"):
        assert british not in section, british
    # Alt text writes numbers as the page does, with the minus sign.
    assert 'alt="1 panel of 15 noisy observations of the target, x from 0.0 to 1.0, y from −0.500 to 0.856."' in page
