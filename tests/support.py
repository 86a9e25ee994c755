"""Helpers shared by several test files: reading what a build wrote as a reader sees it (the visible text of a
page, the text of a PDF), finding result numbers where they must not be, a stand-in plug-in distribution, one
study's section rendered alone, and the English a translated page still shows.

Fixtures, the CLI runner and the course files live in conftest.py; browser helpers in browser_support.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reportgen.discover import builtin_templates
from reportgen.formatting import fmt
from reportgen.language import fixed

from .conftest import write_files

# --------------------------------------------------------------------------- text of a page or a PDF


class _VisibleText(HTMLParser):
    """The text a reader sees without JavaScript: no tags, attributes (so no data URIs), head, style, script, inline
    SVG, or element marked ``hidden`` (an explorer before its script shows it)."""

    HIDDEN = {"head", "style", "script", "svg", "title", "math"}  # math: a formula's MathML, read aloud, not shown
    INLINE = {"a", "abbr", "b", "code", "em", "i", "img", "small", "span", "strong", "sub", "sup"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if self.hidden:
            self.hidden += tag not in self.VOID  # inside a hidden element, count its nesting
        elif tag in self.HIDDEN or any(name == "hidden" for name, _ in attrs):
            self.hidden = 1
        elif tag not in self.INLINE:
            self.parts.append(" ")  # block boundaries separate words; inline tags do not

    def handle_endtag(self, tag):
        if self.hidden:
            self.hidden -= 1
        elif tag not in self.INLINE:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The visible text of an HTML document (or fragment), whitespace collapsed."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split())


def text_with_formulas(html: str) -> str:
    """What a reader sees, with each formula replaced by its LaTeX source (the image's alt text)."""
    html = re.sub(r'<img[^>]*\balt="([^"]*)"[^>]*>', lambda m: f" {m.group(1)} ", html)
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def section(html: str, ident: str) -> str:
    """The HTML of the ``<section>`` that starts at the element with id ``ident``."""
    start = html.index(f'id="{ident}"')
    return html[start:html.index("</section>", start)]


def shown_as_figures(html: str) -> str:
    """``html`` without the figures' folded "Plotted values": in a student edition they list the data set (the
    student's to see), whose hundreds of values coincide with a metric's now and then. What a student edition's
    figures are is pinned by test_student_edition_has_no_result_figure_or_table_but_every_data_figure."""
    return re.sub(r'<details class="figure-values">.*?</details>', "", html, flags=re.S)


def poppler(tool: str, *args) -> str:
    """The output of a poppler-utils tool (pdftotext, pdfinfo; .ci/run installs them); skips where it is missing."""
    try:
        return subprocess.run([tool, *map(str, args)], capture_output=True, text=True, check=True,
                              timeout=120).stdout
    except FileNotFoundError:
        pytest.skip(f"{tool} (poppler-utils) is not installed; .ci/run installs it")


def pdf_text(pdf: Path) -> str:
    """The text of a PDF (pdftotext), whitespace collapsed and words hyphenated at a line end joined again."""
    text = poppler("pdftotext", pdf, "-")
    text = re.sub(r"([a-z])[-\u2010]\n([a-z])", r"\1\2", text)  # words hyphenated at a line end (hyphens: auto)
    return " ".join(text.split())


# --------------------------------------------------------------------------- the leak test: result numbers

BIBLIOGRAPHY = (builtin_templates() / "bibliography.toml").read_text(encoding="utf-8")


def contains_number(text: str, number: str, decimal: str = ".") -> bool:
    """Whether ``number`` occurs in ``text`` as a whole number, not as part of a longer one or of a hash."""
    mark = re.escape(decimal)
    return re.search(rf"(?<![\w.,]){re.escape(number)}(?![\w]|{mark}\d)", text) is not None


def decimal_mark() -> str:
    """The decimal mark of the current language."""
    return fixed(0.5, 1)[1]


def _printed_forms(name: str, value: float) -> set[str]:
    """The ways the report prints a number in the current language: fmt with 3 and 2 digits (plain and as HTML
    text), and 2 decimals for ratios."""
    forms = {fmt(value, 3, html=False), fmt(value, 2, html=False),
             visible_text(str(fmt(value, 3))), visible_text(str(fmt(value, 2)))}
    if name == "ratio" or "ratio" in name:
        forms.add(fixed(value, 2))
    return forms


def definition_values(definitions: Path) -> str:
    """Text of the definitions' own values: the files, every resolved field, and what the data figure says."""
    from reportgen.data import make_dataset
    from reportgen.spec import load_course

    parts = [p.read_text() for p in sorted(definitions.glob("*.toml"))]
    course = load_course(definitions)
    for study in course.studies:
        configs = [study.base] + [point.config for point in study.points]
        for config in configs:
            parts.append(json.dumps(config.model_dump(mode="json")))
            if study.kind != "prior":
                data = make_dataset(config.data)
                numbers = [data.x_train.min(), data.x_train.max(), *(data.gap or ())]
                parts.append(" ".join(f"{x:.2f}" for x in numbers))
    return "\n".join(parts)


def result_numbers(results: dict, definitions: Path) -> dict[str, str]:
    """Every metric of ``results`` (results.json), printed as the report prints numbers in the current language,
    mapped to the run it comes from; numbers that the definitions or the provenance also hold are left out."""
    # Numbers that are not results may coincide with one: definition values, versions in the provenance and the
    # references (a year such as 2020, a page number).
    own_values = (definition_values(definitions) + json.dumps(results["provenance"]) + BIBLIOGRAPHY).replace(
        ".", decimal_mark())
    candidates: dict[str, str] = {}
    for study in results["studies"]:
        for run in study["runs"]:
            for name, value in run["metrics"].items():
                for number in _printed_forms(name, value) if type(value) is float else ():
                    if len(number) >= 4 and not contains_number(own_values, number, decimal_mark()):
                        candidates.setdefault(number, f"{study['id']} {run['params']} seed {run['seed']}: {name}")
    return candidates


def assert_shows_no_result(candidates: dict[str, str], instructor_html: str, student_html: str,
                           student_pdf: Path) -> None:
    """The student edition (HTML, then PDF) shows none of ``candidates``, which the instructor edition does show."""
    # Not vacuous: the metrics give hundreds of numbers, and the instructor edition prints some of them.
    assert len(candidates) > 100
    instructor = visible_text(instructor_html)
    assert sum(contains_number(instructor, number, decimal_mark()) for number in candidates) >= 10
    # The HTML is checked before the PDF is read: without poppler, only the PDF half may skip.
    student = visible_text(shown_as_figures(student_html))
    leaked_html = {n: where for n, where in candidates.items() if contains_number(student, n, decimal_mark())}
    assert leaked_html == {}, "student HTML shows result numbers"
    student_text = pdf_text(student_pdf)
    leaked_pdf = {n: where for n, where in candidates.items() if contains_number(student_text, n, decimal_mark())}
    assert leaked_pdf == {}, "student PDF shows result numbers"


# --------------------------------------------------------------------------- a stand-in plug-in distribution


def fake_distribution(site: Path, module_source: str, entry: str = "broken = brokenkind:KIND",
                      name: str = "brokenkind", files: dict[str, str] | None = None) -> dict:
    """A distribution ``name`` on ``site`` (dist-info, the module ``name`` and any other ``files``) registering one
    study kind; the env to see it."""
    write_files(site, {
        f"{name}.py": module_source,
        f"{name}-0.1.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n",
        f"{name}-0.1.dist-info/entry_points.txt": f"[reportgen.study_kinds]\n{entry}\n",
        **(files or {}),
    })
    return os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def course_using(tmp_path: Path, kind: str) -> Path:
    """A one-study course whose study is of ``kind``."""
    return write_files(tmp_path / "c", {"course.toml": 'title = "T"\nstudies = ["s"]\n',
                                        "s.toml": f'kind = "{kind}"\ntitle = "S"\n'})


# --------------------------------------------------------------------------- one study's section


def render_section(result, audience: str = "instructor", language: str = "en") -> str:
    """A study's section rendered as the report renders it (its macros, and the course introduction's facts for
    a course of that study alone), before math and references are resolved."""
    from reportgen.introduction import introduction
    from reportgen.language import speaking
    from reportgen.render import environment

    with speaking(language):
        template = environment(None, language).from_string(
            '{% import "macros.html.j2" as m with context %}{% include result.study.template %}')
        return template.render(result=result, audience=audience, lang=language, explorers=False,
                               intro=introduction([result.study]))


def english_left(pot: Path, page: str) -> tuple[int, list[str]]:
    """The English stretches of a catalogue's messages (text of 20 characters or more between two fields or
    formulas), counted, and those ``page`` still shows: what a translated page must not hold."""
    from reportgen.catalogues import read

    stretches = [text for message in read(pot) if message.id
                 for msgid in (message.id if isinstance(message.id, tuple) else (message.id,))
                 for text in re.split(r"\{\w+\}|\\\(.*?\\\)", msgid) if len(text.strip()) >= 20]
    return len(stretches), [text for text in stretches if text.strip() in page]
