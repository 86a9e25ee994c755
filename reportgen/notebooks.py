"""The lab as Jupyter notebooks: ``lab.ipynb`` for students, ``lab-solutions.ipynb`` for the instructor.

Both are editions, like the report's: one per audience and language (``lab.es.ipynb`` beside a course in
English), one notebook for the course with a section per study (a build of one study makes that study's
notebook, under the same names). They are written from what the report is rendered from: the definitions
(the setup cells), the catalogues (every sentence, through ``_()``) and the study templates (the activities,
collected by rendering each study's template as the student edition does). Each kind writes its own
sections' code through its ``lab`` (as the built-in kinds do with :mod:`reportgen.studies.lab`); a kind without
one gets a section of words and activities.

The student notebook holds the setup as code, and per activity a Markdown cell, a code cell with a TODO and
runnable defaults, and an answer cell: no result, no output. The solutions notebook adds, per study, the
code that reproduces every run of the report and the report's comparison, leaving the runs in
``results[study_id]`` in the shape of results.json's runs.

Cells carry nbgrader's cell metadata (schema version 3): setup and text cells are locked, answer cells are
manually graded solutions, and the solutions' own code sits between ``### BEGIN SOLUTION`` and
``### END SOLUTION``, so the solutions notebook is an nbgrader source notebook. Bytes are deterministic:
cell ids come from each cell's place, keys are sorted, and nothing records a time or a machine.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any, Iterable

from . import kinds
from .labcode import IMPORTS, localized_comments, solution_tools
from .language import Text, _, speaking
from .outputs import Edition

KERNEL = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
"""The notebook's metadata: the standard Python kernel, no version of the machine that wrote it."""
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
"""nbgrader's markers: what lies between them is replaced by a stub when nbgrader releases a source notebook."""


def render_notebooks(material, chosen: Iterable) -> dict[str, bytes]:
    """Each chosen edition's notebook, by file name."""
    return {e.notebook: notebook_bytes(material, e) for e in chosen}


def notebook_bytes(material, edition) -> bytes:
    """One edition's notebook, validated against nbformat v4, as deterministic bytes."""
    import nbformat

    with speaking(edition.language, material.folders):
        lab = Lab(material, edition)
        cells = lab.cells()
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=KERNEL)
    nbformat.validate(notebook)
    return (nbformat.writes(notebook) + "\n").encode("utf-8")


class Lab:
    """The cells of one edition's notebook, in order; call :meth:`cells` while speaking its language."""

    def __init__(self, material, edition) -> None:
        self.material = material
        self.edition = edition
        self.solutions = edition.audience == "instructor"
        self.results = material.results_in(edition.language)
        self._cells: list[dict] = []
        self._counts: dict[str, int] = {}

    # ----------------------------------------------------------------------- cells

    def _id(self, section: str) -> str:
        """A cell id from its place: the section (study id, or ``lab``) and the cell's number in it."""
        slug = re.sub(r"[^A-Za-z0-9_-]", "-", section)[:48] or "section"
        self._counts[slug] = self._counts.get(slug, 0) + 1
        return f"{slug}-{self._counts[slug]:02d}"

    def _add(self, kind: str, source: str, section: str, *, locked: bool = False, solution: bool = False,
             points: float | None = None) -> None:
        import nbformat

        ident = self._id(section)
        grader = {"schema_version": 3, "grade": points is not None, "locked": locked, "solution": solution,
                  "grade_id": ident}
        if points is not None:
            grader["points"] = points
        metadata: dict[str, Any] = {"nbgrader": grader}
        if locked and not self.solutions:
            metadata.update(editable=False, deletable=False)  # as nbgrader releases a locked cell
        if kind == "code":
            source = localized_comments(source)
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        self._cells.append(make(source=source.rstrip("\n"), id=ident, metadata=metadata))

    def markdown(self, text: str, section: str, **how: Any) -> None:
        """A Markdown cell, locked unless told otherwise."""
        self._add("markdown", text, section, locked=how.pop("locked", True), **how)

    def code(self, source: str, section: str, **how: Any) -> None:
        """A code cell, locked unless told otherwise."""
        self._add("code", source, section, locked=how.pop("locked", True), **how)

    def solution_code(self, source: str, section: str) -> None:
        """Code of the solutions only, between nbgrader's markers."""
        self._add("code", f"{BEGIN}\n{source}\n{END}", section, solution=True)

    # ----------------------------------------------------------------------- the notebook

    def cells(self) -> list[dict]:
        """Every cell: the title and how to work, the imports, then one section per study."""
        labs = [lab_of(result.study) for result in self.results]
        self.title(labs)
        self.code(IMPORTS, "lab")
        if self.solutions:
            self.solution_code(solution_tools(), "lab")
            for tools in dict.fromkeys(lab.tools for lab in labs if lab is not None):
                self.solution_code(tools, "lab")
        for result, lab in zip(self.results, labs):
            self.study(result, lab)
        if self.solutions and any(labs):
            self.markdown(_("Every run of the report is now in `results`: `results[study_id]` lists its runs, each "
                            "with its `params`, `seed`, `status` and `metrics`, in the shape of the runs of "
                            "results.json, so the notebook can be checked against the report run by run."), "end")
        return self._cells

    def title(self, labs: list) -> None:
        """The title cell and the introduction: what to do, and how (``labs``: each study's notebook code writer,
        None for a study whose kind has none)."""
        course = self.material.course
        kicker = _("Lab notebook · solutions") if self.solutions else _("Lab notebook")
        if len(self.results) == 1:
            heading = f"# {self.results[0].study.title}\n\n{kicker} · {course.title}"
        else:
            heading = f"# {course.title}\n\n{kicker}"
        parts = [heading]
        if course.profile:
            parts.append("**" + _("Reduced profile “{name}”", name=course.profile) + "**"
                         + (f": {course.profile_description}" if course.profile_description else "") + ". "
                         + _("Its numbers differ from those of a full build."))
        coded = [result for result, lab in zip(self.results, labs) if lab is not None]
        if self.solutions:
            if len(coded) == len(labs):
                parts.append(_("This is the instructor's notebook. It holds the students' notebook, and after each "
                               "study's activities the code that reproduces every run of the report: the same data, "
                               "seeds and initial weights, trained one model at a time as in the lecture. It ends "
                               "each study with the comparison the report makes."))
            elif coded:
                parts.append(_("This is the instructor's notebook. It holds the students' notebook and, after the "
                               "activities of each study that has notebook code, the code that reproduces its runs "
                               "and the comparison the report makes."))
            else:
                parts.append(_("This is the instructor's notebook: the students' notebook, with a note after each "
                               "activity. This course's studies come with no notebook code: their runs and results "
                               "are in the instructor report."))
        if self.solutions and any(kinds.get(result.study.kind).trains for result in coded):
            parts.append(_("Trained one at a time, runs agree with the report's batched training to float rounding "
                           "over the first hundred steps. Over thousands of steps Adam amplifies that rounding: most "
                           "runs end within a few percent of the report's numbers, and a few that fit the noise far "
                           "below its floor end further apart (see reportgen's docs/trainer.md, \"Exactness of "
                           "the batched trainer\")."))
        if self.solutions:
            parts.append(_("For nbgrader, this is a source notebook: answer cells are graded by hand, and the "
                           "solution code between the BEGIN and END SOLUTION markers is left out of the release."))
        elif len(coded) == len(labs):
            parts.append(_("Run the cells in order from the top (Shift+Enter). The setup cells of each study hold "
                           "its data, model and training, as the report describes them. Each activity has a code "
                           "cell marked TODO: change a value there, run it again, and write what you see in the "
                           "answer cell below it."))
        elif coded:
            parts.append(_("Run the cells in order from the top (Shift+Enter). The setup cells of each study that "
                           "has notebook code hold its data, model and training, as the report describes them, and "
                           "each of its activities has a code cell marked TODO: change a value there, run it "
                           "again, and write what you see in the answer cell below it."))
        else:
            parts.append(_("Write your answer to each activity in the cell below it. This course's studies come "
                           "with no notebook code: the handout lists the setup of each."))
        if not self.solutions and len(coded) > 1:
            parts.append(_("Studies share variable names: run a study's setup cells again before you go back to "
                           "one of its activities."))
        self.markdown("\n\n".join(parts), "lab")

    def study(self, result, lab) -> None:
        """One study's section: title and summary, setup, activities, and for the solutions the runs."""
        study = result.study
        section = study.id
        text = f"## {study.title}"
        if study.summary:
            text += f"\n\n{study.summary}"
        self.markdown(text, section)
        shown = lab.section(study) if lab is not None else None
        if shown is None:
            self.markdown(_("This study's kind has no notebook code: its activities are below."), section)
        else:
            for kind, source in shown.setup:
                (self.code if kind == "code" else self.markdown)(source, section)
        self.activities(result, section, shown.todo if shown else "")
        if self.solutions and shown is not None:
            self.markdown("### " + _("Reproducing the report") + "\n\n"
                          + _("Every run of the study: each setting of its sweep, with each seed, from the same "
                              "data and initial weights as the report's runs."), section)
            self.solution_code(shown.runs, section)
            self.markdown(_("The report's comparison: each setting's mean over seeds, and the settings with the "
                            "lowest mean errors, from this notebook's runs."), section)
            self.solution_code(shown.compare, section)

    def activities(self, result, section: str, todo: str) -> None:
        """Per activity: its text, a code cell with a TODO and the setup's values, and a cell for the answer."""
        items = activity_texts(self.material, result, self.edition)
        if not items:
            return
        self.markdown("### " + _("Activities"), section)
        for number, item in enumerate(items, 1):
            self.markdown("**" + _("Activity {n}.", n=number) + "** " + item, section)
            if todo:
                self.code(todo, section, locked=False)
            if self.solutions and todo:
                answer = _("The instructor report discusses this activity with the numbers of its runs; the "
                           "comparison at the end of this study computes them again.")
            elif self.solutions:
                answer = _("Answer from this study's results in the instructor report.")
            else:
                answer = _("*Write your answer here.*")
            self.markdown(answer, section, locked=False, solution=True, points=1)


def lab_of(study):
    """The study's kind's notebook section writer (``kind.lab``), or None when the kind has none: its section
    then has words and activities, no code."""
    return getattr(kinds.get(study.kind), "lab", None)


def activity_texts(material, result, edition) -> list[str]:
    """The activities of one study as its template lists them in the student edition, in Markdown."""
    from .render import environment

    found: list = []

    def sink(items) -> str:
        found.extend(items)
        return ""

    student = Edition("student", edition.language, edition.own_language)
    context = {**material.context(student), "result": result, "activity_sink": sink}
    env = environment(material.folders, edition.language)
    env.from_string('{% import "macros.html.j2" as m with context %}{% include result.study.template %}').render(
        **context)
    return [markdown(item) for item in found]


def markdown(item: Any) -> str:
    """An activity as Markdown: a definition's text as written; a template's (HTML) with code in backticks, math
    between dollars, and no other markup."""
    if isinstance(item, Text):
        return str(item)
    text = re.sub(r"<code>(.*?)</code>", r"`\1`", str(item), flags=re.S)
    text = unescape(re.sub(r"<[^>]+>", "", text))
    return text.replace("\\(", "$").replace("\\)", "$").replace("\\[", "$$").replace("\\]", "$$")
