"""What the course's introduction explains, found from the types in each study's definition.

The introduction describes the lecture's data recipe only for studies whose definition holds a
:class:`~reportgen.schema.DataSpec`, and its training only for kinds trained by reportgen's kernels whose
definition holds a :class:`~reportgen.schema.TrainSpec`, wherever in the definition they sit. A field that merely
shares a name (a plug-in's own ``train`` table) is not mistaken for them. Each kind may add its own paragraphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from . import kinds
from .model import Study
from .schema import DataSpec, MLPSpec, PolynomialSpec, TrainSpec


@dataclass(frozen=True)
class Part:
    """A study the introduction speaks of, and the part of its definition that makes it do so."""

    study: Study
    key: str
    """Dotted path of that part in the definition, e.g. ``data``."""
    value: Any
    """The part itself: a :class:`DataSpec` or a :class:`TrainSpec`."""

    def swept(self, field: str) -> bool:
        """Whether the study's sweep varies ``field`` of this part."""
        return self.study.swept(f"{self.key}.{field}") is not None


def parts(study: Study, kind: type) -> list[Part]:
    """Every part of ``study``'s definition that is a ``kind``, at any depth, in field order."""
    found: list[Part] = []
    pending: list[tuple[str, BaseModel]] = [("", study.base)]
    while pending:
        prefix, model = pending.pop(0)
        for name in type(model).model_fields:
            value = getattr(model, name)
            key = f"{prefix}{name}"
            if isinstance(value, kind):
                found.append(Part(study, key, value))
            elif isinstance(value, BaseModel):
                pending.append((f"{key}.", value))
    return found


def introduction(studies: list[Study]) -> dict[str, Any]:
    """What the introduction covers for ``studies``: the studies with the lecture's data (``fitted``), those trained
    by reportgen's kernels (``trained``), whether any holds a polynomial or an MLP, whether ``all``, ``some`` or
    ``none`` of their kinds write notebook code (``coded``), and each kind's own paragraphs (template names, once
    per kind, in course order)."""
    fitted = [part for study in studies for part in parts(study, DataSpec)[:1]]
    trained = [part for study in studies if kinds.get(study.kind).trains for part in parts(study, TrainSpec)[:1]]
    paragraphs = [kinds.get(name).introduction for name in dict.fromkeys(study.kind for study in studies)]
    coded = sum(kinds.get(study.kind).lab is not None for study in studies)
    return {"fitted": fitted, "trained": trained,
            "polynomial": any(parts(study, PolynomialSpec) for study in studies),
            "mlp": any(parts(study, MLPSpec) for study in studies),
            "coded": "all" if coded == len(studies) else "some" if coded else "none",
            "paragraphs": [name for name in paragraphs if name]}
