"""``reportgen init``: a minimal course that builds as it is, to start another lecture from."""

from __future__ import annotations

from pathlib import Path

from .errors import BadInputError

COURSE = '''# The course: title page and the order of the studies (one .toml file per study beside this one).
title = "My course"
subtitle = "Lab report"
authors = ["Your name"]
date = 2026-01-01                    # the report's date; reportgen never reads the clock
studies = ["overfitting"]
audience = "instructor"              # instructor (everything), student (no solutions) or all

# A reduced profile for quick checks: reportgen build --profile quick
[profiles.quick]
description = "quick check: 500 steps"
"train.steps" = 500
'''

STUDY = '''# One study: polynomials of growing degree fitted to the lecture's data (x sin(10x), a gap, noise 0.1).
kind = "overfitting"
title = "Overfitting: polynomial degree"
summary = "How the degree of a polynomial trades training error against generalization."

[data]
target = "x * sin(10 * x)"
noise = 0.1

[model]
kind = "polynomial"
degree = 3

[train]
lr = 0.01
steps = 3000

[sweep]
"model.degree" = [1, 3, 9]
seeds = [0, 1]
'''


def write_course(folder: Path) -> list[Path]:
    """Write ``course.toml`` and ``overfitting.toml`` into ``folder``; refuse to overwrite a course."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BadInputError(f"{folder}: not a folder; choose an empty folder")
    existing = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if existing:
        raise BadInputError(f"{folder}: already holds definitions ({existing[0].name}); choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("course.toml", COURSE), ("overfitting.toml", STUDY)):
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    return written
