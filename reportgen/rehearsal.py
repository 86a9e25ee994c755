"""The report rendered before any work, with stand-ins for every number not computed yet.

``validate`` and ``build`` render every template the course's report includes, for each audience, with the real
course, studies and runs, and a :class:`StandIn` wherever a result goes: its facts, metrics, figures, tables and
explorers, and the build's provenance. A template that names something the definitions do not have, calls a macro
wrongly or breaks at run time is then refused in one line naming its template and line, before any training.
What the stand-ins stand for (a fact's value, which branch it takes) is known only after the analysis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .editions import Material
from .language import speaking
from .model import Course, Study
from .outputs import Edition
from .plan import plan_study
from .render import environment, render_template

_JINJA_MARKS = {"jinja_pass_arg", "unsafe_callable", "alters_data", "__html__"}
"""Attributes Jinja reads to decide how to call or print a value: a stand-in has none of them."""


class StandIn(float):
    """A value still to be computed: any attribute, item or call of it is another stand-in; it reads as the number
    1 (so filters that format numbers accept it) and, iterated, as two stand-ins (so a loop body runs, and
    ``for name, value in ….items()`` unpacks)."""

    def __new__(cls) -> "StandIn":
        return super().__new__(cls, 1.0)

    def __getattr__(self, name: str) -> "StandIn":
        if name.startswith("__") or name in _JINJA_MARKS:
            raise AttributeError(name)
        return StandIn()

    def __getitem__(self, key: Any) -> "StandIn":
        return StandIn()

    def __call__(self, *args: Any, **kwargs: Any) -> "StandIn":
        return StandIn()

    def __iter__(self):
        return iter((StandIn(), StandIn()))

    def __len__(self) -> int:
        return 2


class StandInResult:
    """A study's result before its runs are computed: the real study and runs, every computed part a stand-in."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.runs = tuple(plan_study(study))
        self.statuses = ("ok",) * len(self.runs)
        self.diverged = ()
        self.metrics = self.figures = self.tables = self.facts = self.explorers = StandIn()


def rehearse(course: Course, folders: list[Path], language: str, audiences: tuple[str, ...],
             notebooks: bool = True) -> None:
    """Render the course's report for each of ``audiences`` in ``language`` with stand-in results; BadInputError
    naming the template and line of the first error."""
    material = Material(course=course, results=[StandInResult(study) for study in course.studies],
                        provenance=StandIn(), folders=folders, notebooks=notebooks)
    env = environment(folders, language)
    # A message given a stand-in (a word a fact chooses) is that stand-in: its words are known after the analysis.
    translate, translate_count = env.globals["t"], env.globals["tn"]
    env.globals["t"] = lambda message, **values: StandIn() if isinstance(message, StandIn) else translate(
        message, **values)
    env.globals["tn"] = lambda singular, plural, n, **values: StandIn() if isinstance(singular, StandIn) else (
        translate_count(singular, plural, n, **values))
    with speaking(language, folders):
        for audience in audiences:
            render_template(env, material.context(Edition(audience, language, language)), folders, language)
