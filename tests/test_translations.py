"""The report's words as gettext catalogues: complete for the built-ins, fuzzy when the English changes, English
with a warning where a translation is missing, and lists and dates as each language writes them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reportgen.catalogues import po_path, read
from reportgen.discover import builtin_templates
from reportgen.language import conjoined, listing, long_date, speaking
from reportgen.render import cite

from .conftest import COURSE, QUICK_STUDY, run_reportgen, write_files


def test_the_built_in_catalogue_translates_every_message_and_none_is_fuzzy():
    result = run_reportgen("translations", "status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(100 %), 0 fuzzy, 0 missing" in result.stdout


def test_no_built_in_template_has_a_copy_per_language():
    from reportgen.language import LANGUAGES

    assert [code for code in LANGUAGES if (builtin_templates() / code).exists()] == []


@pytest.fixture
def translated_course(tmp_path) -> Path:
    """A course whose own template adds a sentence, translated in its own catalogue."""
    intro = (builtin_templates() / "intro.html.j2").read_text()
    course = write_files(tmp_path / "course", {"course.toml": COURSE + 'templates = "tpl"\n',
                                               "overfitting.toml": QUICK_STUDY})
    write_files(course / "tpl", {"intro.html.j2": intro + '<p>{{ t("A sentence of the course.") }}</p>\n'})
    result = run_reportgen("translations", "update", "--templates", course / "tpl", "--lang", "es")
    assert result.returncode == 0, result.stderr
    po = po_path(course / "tpl" / "locale", "es")
    catalog = read(po, "es")
    assert [m.id for m in catalog if m.id] == ["A sentence of the course."]  # the built-in ones stay built in
    po.write_text(po.read_text().replace('msgid "A sentence of the course."\nmsgstr ""',
                                         'msgid "A sentence of the course."\nmsgstr "Una oración del curso."'))
    return course


def test_a_course_catalogue_translates_its_own_template(translated_course, tmp_path):
    status = run_reportgen("translations", "status", "--templates", translated_course / "tpl")
    assert status.returncode == 0 and "1 of 1 messages translated" in status.stdout, status.stdout
    result = run_reportgen("build", "--definitions", translated_course, "--out", tmp_path / "out", "--no-cache",
                           "--lang", "es", "--strict")
    assert result.returncode == 0, result.stderr
    assert "Una oración del curso." in (tmp_path / "out" / "report.es.html").read_text()


def test_a_changed_english_sentence_turns_fuzzy_and_the_spanish_build_falls_back_with_a_warning(translated_course,
                                                                                              tmp_path):
    template = translated_course / "tpl" / "intro.html.j2"
    template.write_text(template.read_text().replace("A sentence of the course.", "A sentence of the course, changed."))
    result = run_reportgen("translations", "update", "--templates", translated_course / "tpl", "--lang", "es")
    assert result.returncode == 0, result.stderr
    (entry,) = [m for m in read(po_path(translated_course / "tpl" / "locale", "es"), "es") if m.id]
    assert entry.id == "A sentence of the course, changed." and entry.fuzzy
    assert entry.string == "Una oración del curso."  # kept for the translator to check, not used
    status = run_reportgen("translations", "status", "--templates", translated_course / "tpl")
    assert status.returncode == 1 and "1 fuzzy" in status.stdout
    args = ("build", "--definitions", translated_course, "--out", tmp_path / "out", "--no-cache", "--lang", "es")
    built = run_reportgen(*args)
    assert built.returncode == 0, built.stderr
    assert "es: 1 message fuzzy or untranslated, shown in English" in built.stderr
    html = (tmp_path / "out" / "report.es.html").read_text()
    assert "A sentence of the course, changed." in html and "Una oración del curso." not in html
    strict = run_reportgen(*args, "--strict")
    assert strict.returncode == 1 and "fuzzy or untranslated" in strict.stderr


def test_a_catalogue_field_reaching_for_attributes_is_refused_with_its_line(translated_course):
    po = po_path(translated_course / "tpl" / "locale", "es")
    po.write_text(po.read_text().replace('msgstr "Una oración del curso."', 'msgstr "Una {x.__class__} oración."'))
    result = run_reportgen("validate", "--definitions", translated_course)
    assert result.returncode == 2
    assert "messages.po, line" in result.stderr and "not a plain {name} field" in result.stderr


def test_a_broken_catalogue_is_one_line(translated_course):
    po = po_path(translated_course / "tpl" / "locale", "es")
    po.write_text('msgid "x"\nthis is not gettext\n')
    result = run_reportgen("validate", "--definitions", translated_course)
    assert result.returncode == 2 and "invalid message catalogue" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("code, integers, decimals, words, date", [
    ("en", "1, 3, 5, and 10", "0.1, 0.3, and 1.0", "sigmoid and tanh", "November 29, 2026"),
    ("es", "1, 3, 5 y 10", "0,1; 0,3 y 1,0", "sigmoid y tanh", "29 de noviembre de 2026"),
])
def test_lists_and_dates_read_as_each_language_writes_them(code, integers, decimals, words, date):
    with speaking(code):
        assert conjoined([1, 3, 5, 10]) == integers
        assert conjoined([0.1, 0.3, 1.0]) == decimals
        assert conjoined(["sigmoid", "tanh"]) == words
        assert listing([9, 10, 11]) == "9, 10, 11"  # a set of whole numbers: commas in every language
        assert listing([0.1, 0.3]) == ("0.1, 0.3" if code == "en" else "0,1; 0,3")
        assert long_date("2026-11-29") == date
        assert cite(r"\cite{a,b}", [{"key": "a"}, {"key": "b"}]) == (
            '[<a class="cite" href="#ref-a">1</a>, <a class="cite" href="#ref-b">2</a>]')


def test_emphasis_in_a_message_is_set_in_italics_and_nothing_else_is_markup():
    from reportgen.render import _filled

    assert _filled("una distribución *a priori* gaussiana", {}) == "una distribución <i>a priori</i> gaussiana"
    assert _filled("marked * are {x}", {"x": "<b>*y*</b>"}) == "marked * are &lt;b&gt;*y*&lt;/b&gt;"


def test_the_catalogue_files_are_byte_stable(tmp_path):
    """Updating the built-in catalogue twice changes nothing (no dates, a fixed order)."""
    from reportgen.catalogues import builtin_locale, update

    copy = tmp_path / "locale"
    shutil.copytree(builtin_locale(), copy)
    root = Path(__file__).resolve().parent.parent
    update(builtin_templates(), root / "reportgen", copy, ("es",))
    for name in ("messages.pot", "es/LC_MESSAGES/messages.po"):
        assert (copy / name).read_bytes() == (builtin_locale() / name).read_bytes(), name
