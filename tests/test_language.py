"""Languages: the Spanish edition has the English one's numbers, in Spanish words and with a decimal comma.

One module-scoped pair of builds of the lecture course (quick profile, fewer steps and prior configurations) serves
most tests: both instructor editions in one build, then the Spanish student handout from the same result store.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import zlib
from pathlib import Path

import jinja2
import pytest

from reportgen import language
from reportgen.discover import builtin_templates
from reportgen.language import speaking
from reportgen.outputs import ALL_OUTPUTS
from reportgen.render import environment

from .conftest import CATALOGUE, EXPERIMENTS, figure_svg, po_text, run_reportgen, write_files
from .support import assert_shows_no_result, result_numbers, visible_text

ACTIVITY = 'activities = [{ en = "Sketch the fit you expect.", es = "Dibuja el ajuste que esperas." }]\n'
REDUCED = ("--profile", "quick", "--set", "train.steps=40", "--set", "prior.sampling.points=40")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory):
    """The lecture (smaller) built in both languages, then its Spanish student handout, from one result store."""
    root = tmp_path_factory.mktemp("bilingual")
    definitions = root / "experiments"
    shutil.copytree(EXPERIMENTS, definitions)
    _edit(definitions / "capacity.toml", 'kind = "capacity"\n', 'kind = "capacity"\n' + ACTIVITY)
    _edit(definitions / "prior.toml", '"model.width" = [1, 10, 100, 1000]', '"model.width" = [1, 10, 100]')
    _edit(definitions / "prior.toml", '"model.depth" = [1, 2, 3]', '"model.depth" = [1, 2]')
    store, out = root / "store", root / "out"
    both = run_reportgen("build", "--definitions", definitions, "--out", out, "--cache", store, *REDUCED,
                         "--lang", "all", "--quiet")
    assert both.returncode == 0, both.stderr
    info = json.loads((out / "build-info.json").read_text())
    handout = run_reportgen("build", "--definitions", definitions, "--out", root / "handout", "--cache", store,
                            *REDUCED, "--lang", "es", "--audience", "student", "--quiet")
    assert handout.returncode == 0, handout.stderr
    return {"root": root, "definitions": definitions, "out": out, "handout": root / "handout", "store": store,
            "html": {"report.html": (out / "report.html").read_text(encoding="utf-8"),
                     "report.es.html": (out / "report.es.html").read_text(encoding="utf-8"),
                     "report-student.es.html": (root / "handout" / "report-student.es.html").read_text("utf-8")},
            "results": json.loads((out / "results.json").read_text()), "info": info,
            "handout_info": json.loads((root / "handout" / "build-info.json").read_text())}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _body(html: str) -> str:
    """What a reader reads of a report, up to the references and the provenance: the text and the figures' alt."""
    body = html[:html.index('<section id="references"')]
    body = re.sub(r'<p class="version">.*?</p>', " ", body)  # "reportgen 0.1.0" is a version, not a decimal
    body = re.sub(r"<code>.*?</code>", " ", body, flags=re.S)  # code and configuration values are not words
    return visible_text(body) + " " + " ".join(re.findall(r'alt="([^"]*)"', body))


# --------------------------------------------------------------------------- one build, two languages


def test_lang_all_writes_each_edition_in_both_languages_and_one_results_file(bilingual):
    names = {p.name for p in bilingual["out"].iterdir() if not p.name.startswith(".")}
    assert names == {"report.html", "report.pdf", "report.es.html", "report.es.pdf", "results.json",
                     "lab-solutions.ipynb", "lab-solutions.es.ipynb", "build-info.json"}
    handout = {p.name for p in bilingual["handout"].iterdir() if not p.name.startswith(".")}
    assert handout == {"report-student.es.html", "report-student.es.pdf", "lab.es.ipynb", "build-info.json"}
    every = {f"{stem}{suffix}.{fmt}" for stem in ("report", "report-student") for suffix in ("", ".es", ".en")
             for fmt in ("html", "pdf")}
    assert every <= set(ALL_OUTPUTS)  # what clean may remove, whichever language is the course's own


def test_runs_are_computed_once_for_both_languages_and_the_analysis_once_per_language(bilingual):
    runs = sum(len(study["runs"]) for study in bilingual["results"]["studies"])
    trained = sum(study["trained"] for study in bilingual["info"]["studies"])
    # Each run once, not once per language. Regularization's undecayed run is overfitting's degree-100 one: stored
    # once, and computed by both studies when they run side by side.
    stored = len(list(bilingual["store"].rglob("*.npz")))
    assert runs - 1 == stored and stored <= trained <= runs
    assert len(list((bilingual["store"] / "analysis").glob("*.json"))) == 2 * 4
    # A later build in either language reuses both: it computes nothing.
    assert [study["trained"] for study in bilingual["handout_info"]["studies"]] == [0, 0, 0, 0]


def test_a_course_activity_is_asked_in_each_language_after_the_template_ones(bilingual):
    for name, text in (("report.html", "Sketch the fit you expect."),
                       ("report-student.es.html", "Dibuja el ajuste que esperas.")):
        section = bilingual["html"][name].split('id="capacity-activities"')[1].split("</section>")[0]
        item = "<li>" if name == "report.html" else '<p class="activity">'  # the handout's leave answer space
        assert section.count(item) == 4 and section.rindex(text) > section.rindex(item), name


def test_spanish_editions_are_marked_spanish_in_html_and_pdf(bilingual):
    assert '<html lang="es">' in bilingual["html"]["report.es.html"]
    assert '<html lang="es">' in bilingual["html"]["report-student.es.html"]
    assert _pdf_language(bilingual["handout"] / "report-student.es.pdf") == "es"
    assert '<html lang="en">' in bilingual["html"]["report.html"]
    assert _pdf_language(bilingual["out"] / "report.es.pdf") == "es"
    assert _pdf_language(bilingual["out"] / "report.pdf") == "en"


def _pdf_language(pdf: Path) -> str:
    """The document catalog's /Lang, searched in the file and in its compressed object streams."""
    data = pdf.read_bytes()
    chunks = [data] + [_inflate(m.group(1)) for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)]
    found = {m.group(1).decode() for chunk in chunks for m in re.finditer(rb"/Lang\s*\((\w+)\)", chunk)}
    assert len(found) == 1, found
    return found.pop()


def _inflate(stream: bytes) -> bytes:
    try:
        return zlib.decompress(stream)
    except zlib.error:
        return b""


def test_instructor_editions_quote_the_same_numbers(bilingual):
    """Every decimal number of one edition appears, written the other way, in the other (references and the
    provenance aside)."""
    english, spanish = _body(bilingual["html"]["report.html"]), _body(bilingual["html"]["report.es.html"])
    decimals_en = set(re.findall(r"(?<![\w.,])\d+\.\d+(?!\w|[.,]\d)", english))
    decimals_es = set(re.findall(r"(?<![\w.,])\d+,\d+(?!\w|[.,]\d)", spanish))
    assert len(decimals_en) >= 60  # the results: means, spreads, errors, ticks in the alt text
    assert {n.replace(".", ",") for n in decimals_en} == decimals_es
    assert not re.search(r"\d\.\d", re.sub(r"\d{1,3}(?:\.\d{3})+(?!\d)", "", spanish))  # only 10.000-style groups


SPANISH_ENGLISH_WORDS = ("the", "and", "of", "with", "for", "from", "is", "are", "this", "that", "which", "each",
                         "per", "than", "seed", "seeds", "run", "runs", "study", "figure", "table", "degree",
                         "weight", "decay", "noise", "width", "depth", "hidden", "layer", "units", "training", "test")
"""Frequent English words, and those of the report's subject, none of which a Spanish sentence uses."""


@pytest.mark.parametrize("name", ["report.es.html", "report-student.es.html"])
def test_spanish_edition_has_no_english_words_left(bilingual, name):
    text = _body(bilingual["html"][name])
    words = set(re.findall(r"[A-Za-z]+", text.lower()))
    assert sorted(words & set(SPANISH_ENGLISH_WORDS)) == []
    # Every message the report translates, in its English form (short ones are too easily part of a name).
    with speaking("es") as catalogue:
        english = [m for m, t in catalogue.messages.items() if isinstance(t, str) and len(m) >= 5 and m != t
                   and m[0].isalpha()]
    assert len(english) > 100
    assert [m for m in english if re.search(rf"(?<!\w){re.escape(m)}(?!\w)", text)] == []


def test_spanish_edition_keeps_the_english_titles_of_the_papers_under_the_lecture_headings(bilingual):
    references = bilingual["html"]["report.es.html"].split('<section id="references"')[1]
    assert "Generalización, memorización y calibración de modelos profundos" in references
    assert "Understanding deep learning requires rethinking generalization" in references
    assert 'start="5" style="counter-reset: list-item 4"' in references  # numbering runs on across the groups
    english = bilingual["html"]["report.html"].split('<section id="references"')[1]
    assert "Generalization, memorization and calibration of deep models" in english


def test_spanish_student_handout_shows_no_number_of_the_results(bilingual):
    with speaking("es"):
        candidates = result_numbers(bilingual["results"], bilingual["definitions"])
        assert_shows_no_result(candidates, bilingual["html"]["report.es.html"],
                               bilingual["html"]["report-student.es.html"],
                               bilingual["handout"] / "report-student.es.pdf")


def test_spanish_figures_write_ticks_with_a_decimal_comma(bilingual):
    html = bilingual["html"]["report.es.html"]
    svg = figure_svg(html, "fig-overfitting-data")
    assert "0,5" in svg and ">0.5<" not in svg and "datos de entrenamiento" in svg


def test_figures_drawn_as_units_of_their_own_are_drawn_in_their_editions_language(bilingual):
    for name, width, alt in (("report.es.html", "ancho 10", "funciones por panel muestreadas"),
                             ("report.html", "width 10", "functions per panel drawn")):
        html = bilingual["html"][name]
        figure = re.search(r'<figure id="fig-prior-draws-2".*?</figure>', html, re.S).group(0)
        svg = figure_svg(html, "fig-prior-draws-2")
        assert f">{width}<" in svg and alt in figure, name


def test_clean_removes_the_spanish_editions(bilingual, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(bilingual["out"], out)
    result = run_reportgen("clean", "--out", out, "--definitions", bilingual["definitions"])
    assert result.returncode == 0, result.stderr
    left = {p.name for p in out.iterdir()} if out.exists() else set()
    assert not left & {"report.html", "report.pdf", "report.es.html", "report.es.pdf", "results.json"}


# --------------------------------------------------------------------------- definitions and catalogues


def test_a_text_missing_in_a_language_built_fails_under_strict_before_any_work(tiny_course, tmp_path):
    (tiny_course / "capacity.toml").write_text((tiny_course / "capacity.toml").read_text().replace(
        'title = "Capacity"', 'title = { en = "Capacity" }'))
    result = run_reportgen("build", "--definitions", tiny_course, "--out", tmp_path / "out", "--cache",
                           tmp_path / "store", "--lang", "es", "--strict")
    assert result.returncode == 1
    assert "capacity.toml: title: no es text (the es editions show en)" in result.stderr
    assert not (tmp_path / "out").exists() and "computed" not in result.stderr


def test_every_built_in_message_has_a_spanish_translation():
    """Each literal message of the built-in templates (t, tn) and of the analyses (_, ngettext) is in es."""
    used = _template_messages(builtin_templates()) | _python_messages(ROOT / "reportgen")
    assert len(used) > 100
    with speaking("es") as catalogue:
        assert sorted(m for m in used if catalogue.get(m) is None) == []


def _template_messages(folder: Path) -> set[str]:
    env = environment()
    found = set()
    for path in folder.rglob("*"):
        if path.suffix in (".j2", ".css"):
            for node in env.parse(path.read_text(encoding="utf-8")).find_all(jinja2.nodes.Call):
                if (isinstance(node.node, jinja2.nodes.Name) and node.node.name in ("t", "tn") and node.args
                        and isinstance(node.args[0], jinja2.nodes.Const)):
                    found.add(node.args[0].value)
    return found


def _python_messages(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node, "func", None)
            name = getattr(name, "id", None) or getattr(name, "attr", None)
            if name in ("_", "ngettext") and node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    return found


def test_numbers_follow_the_language():
    with speaking("es"):
        assert [language.number(v) for v in (0.1, 0.0, 1e-8, 10000, 5000, -0.05, 2.5e-5)] == [
            "0,1", "0,0", "10⁻⁸", "10.000", "5.000", "−0,05", "2,5 × 10⁻⁵"]
        assert language.listing([0, 0.5, 1]) == "0; 0,5; 1"
        assert language.ngettext("{n} run", "{n} runs", 3) == "3 ejecuciones"
    with speaking("en"):
        assert [language.number(v) for v in (0.1, 1e-8, 10000, 5000, -1e-8, 1e20, 0.0001)] == [
            "0.1", "10⁻⁸", "10,000", "5,000", "−10⁻⁸", "10²⁰", "0.0001"]
        assert language.listing([0, 0.5, 1]) == "0, 0.5, 1"


def test_numbers_inside_formulas_are_written_for_latex_in_the_language():
    from reportgen.formatting import fmt
    from reportgen.render import in_math

    with speaking("en"):
        assert [in_math(v) for v in (1e-8, -1e-8, 2.5e-5, -0.05)] == ["10^{-8}", "{-}10^{-8}", "2.5 \\times 10^{-5}",
                                                                      "{-}0.05"]
    with speaking("es"):
        assert [in_math(v) for v in (2.5e-5, 0.25, 1e-8)] == ["2{,}5 \\times 10^{-5}", "0{,}25", "10^{-8}"]
        assert in_math(fmt(123456.0)) == "1{,}23 \\times 10^{5}"  # the num filter's HTML power, inside a formula


def test_a_negative_number_in_a_formula_is_set_as_a_sign_without_an_operators_spacing():
    from reportgen.mathsvg import render_latex
    from reportgen.render import in_math

    signed = render_latex(f"[{in_math(-0.05)}, 1.05]", display=False).width_em
    subtracted = render_latex("[-0.05, 1.05]", display=False).width_em
    assert signed < subtracted - 0.3  # ziamath spaces a bare minus as a binary operator, about 0.6 em


def test_user_templates_are_translated_by_a_language_folder_beside_them(tmp_path):
    mine = write_files(tmp_path / "mine", {"studies/overfitting.html.j2": "<p>{{ t('Setup') }}</p>",
                                           "es/studies/overfitting.html.j2": "<p>Mi texto</p>",
                                           CATALOGUE: po_text({"Setup": "Preparación"})})
    english = environment([mine], "en").get_template("studies/overfitting.html.j2")
    spanish = environment([mine], "es").get_template("studies/overfitting.html.j2")
    assert Path(english.filename) == mine / "studies/overfitting.html.j2"
    assert Path(spanish.filename) == mine / "es/studies/overfitting.html.j2"
    with speaking("es", [mine]):
        assert english.render() == "<p>Preparación</p>"  # the course's own message comes first
    # A course's English template still wins over the built-in Spanish one (its restyling holds in both).
    assert Path(environment([mine], "es").get_template("macros.html.j2").filename) == (
        builtin_templates() / "macros.html.j2")


def test_a_bad_message_file_is_refused_with_one_line(tiny_course, tmp_path):
    mine = write_files(tmp_path / "mine", {CATALOGUE: 'msgid "Setup"\nthis is not gettext\n'})
    result = run_reportgen("validate", "--definitions", tiny_course, "--templates", mine)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {mine / CATALOGUE}: invalid message catalogue"), line


def test_a_bibliography_group_naming_no_entry_is_refused(tiny_course, tmp_path):
    text = (builtin_templates() / "bibliography.toml").read_text(encoding="utf-8")
    mine = write_files(tmp_path / "mine", {"bibliography.toml": text.replace('"hornik1989", "liang2017"',
                                                                             '"hornik1989", "liang2071"')})
    result = run_reportgen("validate", "--definitions", tiny_course, "--templates", mine)
    assert result.returncode == 2
    assert "bibliography.toml: group[0].entries[1]: no entry has key 'liang2071'" in result.stderr


def test_a_formulas_text_reads_its_numbers_as_the_language_writes_them():
    from reportgen.mathsvg import typeset_math

    with speaking("es"):
        html = typeset_math(r"\([{-}0{,}05;\ 1{,}05]\)")
    assert 'alttext="el intervalo de menos 0,05 a 1,05"' in html
    assert "<mn>0,05</mn>" in html and "<mn>1,05</mn>" in html
