"""The small example plug-in (examples/reportgen-noisefloor) builds its course in both languages, its numbers hold
against the closed form n σ², its sentences follow the facts recomputed from results.json, and every example imports
nothing from reportgen but ``reportgen.plugin``.

The package is pip-installed into a temporary folder on the PYTHONPATH of the reportgen subprocesses only
(:func:`tests.conftest.install_plugin`), built once for the module with ``--lang all``.
"""

from __future__ import annotations

import ast
import html
import json
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

from reportgen.formatting import fmt
from reportgen.stats import t975

from .conftest import install_plugin, run_reportgen
from .support import english_left

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PACKAGE = EXAMPLES / "reportgen-noisefloor"
COURSE = EXAMPLES / "noisefloor-course"
LOCALE = PACKAGE / "reportgen_noisefloor" / "templates" / "locale"
MOST_LINES = 60
"""The small example's Python, every line of every file counted, stays under this."""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The example course built once in English and Spanish, strictly: (output folder, environment with the kind)."""
    work = tmp_path_factory.mktemp("noisefloor")
    env = install_plugin(PACKAGE, work)
    done = run_reportgen("build", "--definitions", COURSE, "--out", work / "out", "--cache", work / "cache",
                         "--jobs", "1", "--lang", "all", "--strict", cwd=work, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return work / "out", env


def _section(page: str) -> str:
    """The study's section of a report page, after its title and summary (text of the definition), as text."""
    start = page.index('<section class="study" id="noisefloor"')
    section = page[start:page.index('<section id="references"', start)]
    section = section[section.index("</p>", section.index('class="summary"')):]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", section)))


def _points() -> int:
    """n, the number of training inputs the example's definition gives (the lecture's 15)."""
    return tomllib.loads((COURSE / "noisefloor.toml").read_text(encoding="utf-8"))["points"]


def _levels(out: Path) -> dict[float, dict]:
    """Per noise level, recomputed from results.json: the mean SSE over seeds, its 95 % t-interval's half-width,
    the closed form n σ², whether it lies inside, and each seed's SSE over n σ²."""
    (study,) = json.loads((out / "results.json").read_text())["studies"]
    n = _points()
    sums: dict[float, list[float]] = {}
    for run in study["runs"]:
        sums.setdefault(run["params"]["noise"], []).append(run["metrics"]["sse"])
    levels = {}
    for sigma, values in sums.items():
        mean, closed = float(np.mean(values)), n * sigma ** 2
        half = t975(len(values) - 1) * float(np.std(values, ddof=1)) / np.sqrt(len(values))
        levels[sigma] = {"mean": mean, "half": half, "closed": closed, "inside": abs(mean - closed) <= half,
                         "draws": [value / closed for value in values]}
    return levels


def _range_sentence(levels: dict[float, dict]) -> str:
    """The sentence on how far single draws range, with the lowest and highest SSE / n σ² over every run."""
    draws = [draw for level in levels.values() for draw in level["draws"]]
    seeds = len(next(iter(levels.values()))["draws"])
    return (f"Over the {seeds} seeds, the sum of squares of one draw ranges from {fmt(min(draws), html=False)} to "
            f"{fmt(max(draws), html=False)} times n σ 2 , the same range at every level.")


def test_small_example_builds_its_report_in_english_and_spanish(built):
    out, _ = built
    english = _section((out / "report.html").read_text(encoding="utf-8"))
    spanish = _section((out / "report.es.html").read_text(encoding="utf-8"))
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF") and (out / "report.es.pdf").is_file()
    assert "The closed form lies inside the interval at each of the 3 noise levels tried." in english
    assert "La forma cerrada queda dentro del intervalo en cada uno de los 3 niveles de ruido probados." in spanish
    assert "La SSE de entrenamiento de un modelo tiene un umbral del que solo puede bajar ajustando el ruido" in spanish
    assert "Entre las 20 semillas, la suma de los cuadrados de una sola muestra de ruido va de 0,371 a 2,11" in spanish
    # The setup says what the study uses, its own fields, and leaves the swept σ to the sweep row.
    assert "Data 15 training inputs, each with Gaussian noise of the standard deviation σ that the sweep sets" \
        " Sweep noise ∈ {0.05, 0.1, 0.3}" in english
    page = (out / "report.html").read_text(encoding="utf-8")
    # The study holds no DataSpec: the introduction does not describe the lecture's data recipe it does not use.
    intro = page.split('id="introduction"')[1].split("</section>")[0]
    assert 'id="data"' not in intro and "synthetic data set" not in intro and "seeded with 0" not in intro
    assert "<title>Noise and error</title>" in page  # the course and its study have titles of their own
    assert "forma cerrada n σ²" in (out / "report.es.html").read_text(encoding="utf-8")  # a figure label, from code
    # No English sentence of the kind is left in Spanish: no stretch of any of its messages between two fields.
    stretches, left = english_left(LOCALE / "messages.pot", spanish)
    assert stretches > 15 and not left, left


def test_small_example_python_is_under_60_lines():
    files = sorted(PACKAGE.rglob("*.py"))
    lines = sum(len(path.read_text(encoding="utf-8").splitlines()) for path in files)
    assert files and lines < MOST_LINES, (lines, [path.name for path in files])


def _reportgen_imports(path: Path) -> list[tuple[str, int]]:
    """Every module of reportgen that ``path`` imports (at module level or inside a function), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.module, node.lineno)] if node.module != "reportgen" else \
                [(f"reportgen.{alias.name}", node.lineno) for alias in node.names]
    return [(name, line) for name, line in found if name.split(".")[0] == "reportgen"]


def test_examples_import_nothing_from_reportgen_but_its_plugin_module():
    files = sorted(EXAMPLES.rglob("*.py"))
    imports = {path: _reportgen_imports(path) for path in files}
    others = [f"{path.relative_to(ROOT)}:{line}: {name}" for path, found in imports.items() for name, line in found
              if name != "reportgen.plugin"]
    assert not others, others
    kinds = [path for path in files if path.name == "kind.py"]
    assert len(kinds) >= 2 and all(imports[path] for path in kinds), kinds  # the check saw both examples' kinds


def test_each_run_sums_the_squares_of_the_noise_its_seed_draws(built):
    out, _ = built
    (study,) = json.loads((out / "results.json").read_text())["studies"]
    n = _points()
    assert n == 15  # the lecture's training inputs: 20 points less the 5 it deletes
    assert len(study["runs"]) == 3 * 20
    for run in study["runs"]:
        sigma, seed = run["params"]["noise"], run["seed"]
        expected = sigma ** 2 * float(np.sum(np.random.default_rng(seed).standard_normal(n) ** 2))
        assert run["metrics"]["sse"] == pytest.approx(expected, rel=1e-12), run


def test_table_and_verdict_follow_the_closed_form_and_the_recomputed_intervals(built):
    out, _ = built
    levels = _levels(out)
    assert all(level["inside"] for level in levels.values())  # these seeds: the closed form lies inside
    page = (out / "report.html").read_text(encoding="utf-8")
    table = re.search(r'<table id="tab-noisefloor-floor">.*?</table>', page, re.S).group(0)
    rows = [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    assert [row[0] for row in rows] == ["0.05", "0.1", "0.3"]
    for row, level in zip(rows, levels.values()):
        assert row[1] == fmt(level["closed"], html=False)  # n σ²: 15 × 0.0025 = 0.0375, …
        mean, half = row[2].split(" ± ")
        assert mean == fmt(level["mean"], html=False) and float(half) == pytest.approx(level["half"], rel=0.02)
        assert row[3] == "yes"
    first = next(iter(levels.values()))
    ratio, relative = first["mean"] / first["closed"], first["half"] / first["closed"]
    section = _section(page)
    assert f"the same multiple of the closed form, {fmt(ratio, html=False)}, at every level" in section
    # The range of single draws, not n σ² alone, is what one fit's training SSE is judged by.
    assert _range_sentence(levels) in section
    assert "A training SSE below that range is evidence that a fit has taken up part of the noise; one inside the " \
        "range is not" in section
    # The figure divides by n σ², so the closed form is the line at 1 and each interval is as wide as the points' scale
    # allows; its alt text states the finding in the same numbers.
    draws = [draw for level in levels.values() for draw in level["draws"]]
    spread = f"{fmt(ratio, html=False)} ± {fmt(relative, 2, html=False)}"
    alt = (f"At σ = 0.05, 0.1, and 0.3, the mean SSE is {spread}, {spread}, and {spread} times n σ² (95 % intervals): "
           f"1 lies inside 3 of them, and single draws range from {fmt(min(draws), html=False)} to "
           f"{fmt(max(draws), html=False)} times n σ².")
    figure = re.search(r'<figure id="fig-noisefloor-floor".*?</figure>', page, re.S).group(0)
    assert f'alt="{alt}"' in figure


def test_verdict_flips_when_the_seeds_miss_the_closed_form(built, tmp_path):
    _, env = built
    course = shutil.copytree(COURSE, tmp_path / "course")
    definition = course / "noisefloor.toml"
    seeds = "seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]"
    assert seeds in definition.read_text()
    # Ten seeds whose mean sum of squares is 0.76 n σ², with an interval of ±0.20 n σ²: the closed form lies outside.
    definition.write_text(definition.read_text().replace(seeds, f"seeds = {list(range(40, 50))}"))
    out = tmp_path / "out"
    done = run_reportgen("build", "--definitions", course, "--out", out, "--cache", tmp_path / "cache", "--jobs", "1",
                         "--no-notebooks", cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    levels = _levels(out)
    assert not any(level["inside"] for level in levels.values())
    section = _section((out / "report.html").read_text(encoding="utf-8"))
    assert "The closed form lies outside the interval at each of the 3 noise levels tried." in section
    assert "A 95 % interval misses the true mean for about one set of seeds in twenty" in section
    assert "inside the interval" not in section
    # The range of single draws is these seeds' own: the sentence follows the numbers.
    assert _range_sentence(levels) in section and "Over the 10 seeds" in section


def test_one_seed_gives_no_interval_and_no_range_and_the_handout_names_its_study_and_course(built, tmp_path):
    _, env = built
    course = shutil.copytree(COURSE, tmp_path / "course")
    definition = course / "noisefloor.toml"
    text = definition.read_text()
    definition.write_text(re.sub(r"^seeds = .*$", "seeds = [3]", text, flags=re.M))
    out = tmp_path / "out"
    done = run_reportgen("build", "--definitions", course, "--out", out, "--cache", tmp_path / "cache", "--jobs", "1",
                         "--audience", "all", "--no-notebooks", cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    section = _section(page)
    assert "With one seed there is no interval to compare with the closed form: add seeds to the sweep." in section
    assert "ranges from" not in section and "evidence" not in section and "lies inside" not in section
    table = re.search(r'<table id="tab-noisefloor-floor">.*?</table>', page, re.S).group(0)
    verdicts = [html.unescape(re.sub(r"<[^>]+>", "", row[-1])).strip() for row in
                (re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:])]
    assert verdicts == ["—", "—", "—"]  # no interval: neither inside nor outside
    handout = (out / "report-student.html").read_text(encoding="utf-8")
    assert "<title>The noise floor · Noise and error</title>" in handout and 'id="noisefloor-results"' not in handout


def test_the_schema_refuses_a_noise_level_or_a_point_count_that_is_not_positive(built, tmp_path):
    _, env = built
    course = shutil.copytree(COURSE, tmp_path / "course")
    definition = course / "noisefloor.toml"
    text = definition.read_text()
    definition.write_text(re.sub(r"^points = 15", "points = 0", text, flags=re.M).replace("noise = [0.05,",
                                                                                          "noise = [0.0,"))
    done = run_reportgen("validate", "--definitions", course, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 2
    assert "noisefloor.toml: points: expected an integer > 0, got 0" in done.stderr
    assert "noisefloor.toml: sweep.noise[0]: expected a number > 0, got 0.0" in done.stderr


def test_the_guide_quotes_the_small_example_as_it_is():
    guide = (ROOT / "docs" / "writing-a-kind.md").read_text(encoding="utf-8")
    quoted = re.findall(r"^```(python|jinja|toml)\n(.*?)^```", guide, re.S | re.M)
    sources = "\n".join(path.read_text(encoding="utf-8") for folder in (PACKAGE, COURSE) for path in folder.rglob("*")
                        if path.suffix in {".py", ".j2", ".toml"})
    stale = [code for _, code in quoted if code not in sources]
    assert len(quoted) >= 8 and not stale, stale


def test_the_small_example_catalogue_is_complete_and_current(tmp_path):
    code = PACKAGE / "reportgen_noisefloor"
    status = run_reportgen("translations", "status", "--templates", code / "templates", "--code", code, cwd=tmp_path,
                           timeout=120)
    assert status.returncode == 0 and "(100 %), 0 fuzzy, 0 missing" in status.stdout, status.stdout + status.stderr
    # messages.pot is what `translations update` writes from the code and the template as they are now.
    copy = shutil.copytree(code, tmp_path / "reportgen_noisefloor", ignore=shutil.ignore_patterns("__pycache__"))
    update = run_reportgen("translations", "update", "--templates", copy / "templates", "--code", copy, cwd=tmp_path,
                           timeout=120)
    assert update.returncode == 0, update.stdout + update.stderr
    assert (copy / "templates" / "locale" / "messages.pot").read_bytes() == (LOCALE / "messages.pot").read_bytes()
