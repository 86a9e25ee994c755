"""The files a build writes, and their names: one definition that the build, the atomic swap and ``clean`` read.

An edition is one rendering of the report, for an audience in a language. Its
files are the report (HTML and PDF) and the lab notebook; the instructor's
numbers go to ``results.json``. Editions in another language than the course's
own carry its code: ``report-student.es.pdf``, ``lab.es.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .language import DEFAULT, LANGUAGES

AUDIENCES = {"instructor": ("instructor",), "student": ("student",), "all": ("instructor", "student")}
"""Each audience a build may be asked for (``--audience``, course.toml's ``audience``), and the editions it makes."""
FORMATS = ("html", "pdf")
RESULTS = "results.json"
"""Every run's numbers: solutions, so never beside a student handout alone."""
BUILD_INFO = "build-info.json"
"""Per-build facts (runs trained or reused, timings): the one output that is not deterministic."""
MANIFEST = ".reportgen-manifest.json"
"""Written beside the outputs: the digest of the inputs they were built from, and their hashes (what
reportgen wrote there, and so may replace or delete)."""
NOTEBOOK_STEMS = {"student": "lab", "instructor": "lab-solutions"}
"""File name stem of each audience's lab notebook."""
NOTEBOOK_SUFFIX = ".ipynb"


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
        return self._in_language(stem)

    def file_name(self, fmt: str) -> str:
        """The name of this edition's file in format ``fmt`` (html or pdf)."""
        return f"{self.stem}.{fmt}"

    @property
    def notebook(self) -> str:
        """This edition's lab notebook: ``lab.ipynb`` (student) or ``lab-solutions.ipynb`` (instructor)."""
        return self._in_language(NOTEBOOK_STEMS[self.audience]) + NOTEBOOK_SUFFIX

    @property
    def name(self) -> str:
        """How progress lines name it: ``instructor edition``, ``student edition in es``."""
        return f"{self.audience} edition" + ("" if self.language == self.own_language else f" in {self.language}")

    def _in_language(self, stem: str) -> str:
        return stem if self.language == self.own_language else f"{stem}.{self.language}"


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
        names += [edition.notebook for edition in chosen]
    if "instructor" in AUDIENCES[audience]:
        names.append(RESULTS)
    return tuple(names)


ALL_OUTPUTS = tuple(dict.fromkeys(
    name for own in LANGUAGES for name in output_names("all", tuple(LANGUAGES), own) + (BUILD_INFO,)))
"""Every file name a build may write, in any language, whatever the course's own (what ``clean`` removes)."""
