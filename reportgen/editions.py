"""The rendering stage: each edition of the report (who it is for, in which language) as HTML and PDF.

Facts and figures are computed once and shared by every edition; an edition
changes only the words around them and how numbers are written. ``build``
renders both formats, ``serve`` the HTML alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .executors import LocalProcesses
from .heap import set_aside
from .language import DEFAULT, LANGUAGES, speaking
from .notebooks import notebook_name
from .publish import BUILD_INFO

AUDIENCES = {"instructor": ("instructor",), "student": ("student",), "all": ("instructor", "student")}
FORMATS = ("html", "pdf")


@dataclass(frozen=True)
class Edition:
    """One rendering of the report: the audience it is written for and its language."""

    audience: str
    language: str = DEFAULT
    own_language: str = DEFAULT
    """The course's own language, whose editions have plain file names; the others carry their code."""

    @property
    def stem(self) -> str:
        """File name stem: the instructor edition is the full report; another language than the course's
        adds its code (``report-student.es``)."""
        stem = "report" if self.audience == "instructor" else f"report-{self.audience}"
        return stem if self.language == self.own_language else f"{stem}.{self.language}"

    def file_name(self, fmt: str) -> str:
        """The name of this edition's file in format ``fmt`` (html or pdf)."""
        return f"{self.stem}.{fmt}"

    @property
    def name(self) -> str:
        """How progress lines name it: ``instructor edition``, ``student edition in es``."""
        return f"{self.audience} edition" + ("" if self.language == self.own_language else f" in {self.language}")


def editions(audience: str, languages: tuple[str, ...] = (DEFAULT,),
             own_language: str | None = None) -> tuple[Edition, ...]:
    """The editions a build for ``audience`` (instructor, student or all) in ``languages`` renders.

    ``own_language`` is the course's language (default: the first of ``languages``).
    """
    own = own_language or languages[0]
    return tuple(Edition(name, code, own) for code in languages for name in AUDIENCES[audience])


def output_names(audience: str, languages: tuple[str, ...] = (DEFAULT,),
                 own_language: str | None = None, notebooks: bool = True) -> tuple[str, ...]:
    """The files a build for ``audience`` in ``languages`` writes (with ``notebooks``, each edition's lab
    notebook too)."""
    chosen = editions(audience, languages, own_language)
    names = [edition.file_name(fmt) for edition in chosen for fmt in FORMATS]
    if notebooks:
        names += [notebook_name(e.audience, e.language, e.own_language) for e in chosen]
    if "instructor" in AUDIENCES[audience]:
        names.append("results.json")  # the numbers are solutions: never beside a student handout alone
    return tuple(names)


ALL_OUTPUTS = tuple(dict.fromkeys(
    name for own in LANGUAGES for name in output_names("all", tuple(LANGUAGES), own) + (BUILD_INFO,)))
"""Every file name a build may write, in any language, whatever the course's own (what ``clean`` removes)."""


@dataclass(frozen=True)
class Material:
    """What every edition is rendered from: the course, its results, their provenance and the template folders."""

    course: Any
    results: list
    """Per study, its results by language (``{"en": StudyResult, "es": …}``) or one result for every language."""
    provenance: dict[str, Any]
    folders: list[Path]
    notebooks: bool = True
    """Whether the build writes the lab notebooks (the student edition then names its own)."""

    def context(self, edition: Edition) -> dict[str, Any]:
        """The template context of ``edition``."""
        from .render import load_bibliography

        notebook = notebook_name("student", edition.language, edition.own_language) if self.notebooks else None
        return {"course": self.course, "results": self.results_in(edition.language), "provenance": self.provenance,
                "bibliography": load_bibliography(self.folders), "audience": edition.audience,
                "lang": edition.language, "notebook": notebook}

    def results_in(self, language: str) -> list:
        """The studies' results as analysed in ``language`` (their captions, labels and ticks in its words)."""
        return [result.get(language, next(iter(result.values()))) if isinstance(result, dict) else result
                for result in self.results]


def render_html(material: Material, edition: Edition) -> str:
    """The self-contained HTML of one edition, written in its language."""
    from .render import render_html as render

    with speaking(edition.language, material.folders):
        return render(material.context(edition), material.folders, edition.language)


def render_editions(material: Material, chosen: Iterable[Edition], formats: tuple[str, ...] = FORMATS,
                    line: Callable[[str], None] = lambda _: None,
                    timed: Callable[[str, float], None] = lambda stage, seconds: None,
                    jobs: int = 1) -> dict[str, bytes]:
    """Every chosen edition in every format, by file name; ``timed(stage, seconds)`` hears what each stage took.

    With ``jobs`` > 1 the PDFs are typeset in that many processes at once (WeasyPrint uses one core).
    """
    with set_aside():  # the results and the libraries outlive the millions of objects typesetting allocates
        return _render_editions(material, list(chosen), formats, line, timed, jobs)


def _render_editions(material: Material, chosen: list[Edition], formats: tuple[str, ...],
                     line: Callable[[str], None], timed: Callable[[str, float], None], jobs: int) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    pages: list[tuple[Edition, str]] = []
    for edition in chosen:
        line(f"rendering the {edition.name} (HTML)")
        start = time.perf_counter()
        html = render_html(material, edition)
        files[edition.file_name("html")] = html.encode("utf-8")
        pages.append((edition, html))
        timed("html", time.perf_counter() - start)
    if "pdf" in formats:
        line(f"rendering {', '.join(f'the {e.name}' for e in chosen)} (PDF)")
        start = time.perf_counter()
        documents = typeset([html for _, html in pages], material.course.epoch, jobs)
        for (edition, _), document in zip(pages, documents):
            files[edition.file_name("pdf")] = document
        for _ in pages:
            timed("pdf", (time.perf_counter() - start) / len(pages))
    return {edition.file_name(fmt): files[edition.file_name(fmt)] for edition in chosen for fmt in formats}


def typeset(pages: list[str], epoch: int, jobs: int = 1) -> list[bytes]:
    """The PDF of each HTML page, in ``jobs`` processes when there are several (the bytes do not depend on it)."""
    if jobs <= 1 or len(pages) <= 1:
        return [typeset_page((html, epoch)) for html in pages]
    with LocalProcesses(min(jobs, len(pages))) as workers:
        workers.start({"weasyprint"})  # imported once here, so every worker starts with it
        documents = dict(workers.map(typeset_page, [(html, epoch) for html in pages]))
    return [documents[i] for i in range(len(pages))]


def typeset_page(page: tuple[str, int]) -> bytes:
    """The PDF of one (HTML, epoch) page: a work unit of :func:`typeset`."""
    from .pdf import render_pdf

    html, epoch = page
    return render_pdf(html, epoch=epoch)
