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
from .language import speaking
from .outputs import FORMATS, Edition


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
        from .introduction import introduction
        from .render import load_bibliography

        student = Edition("student", edition.language, edition.own_language)
        notebook = student.notebook if self.notebooks else None
        results = self.results_in(edition.language)
        return {"course": self.course, "results": results, "provenance": self.provenance,
                "bibliography": load_bibliography(self.folders), "audience": edition.audience,
                "lang": edition.language, "notebook": notebook,
                "intro": introduction([result.study for result in results])}

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
