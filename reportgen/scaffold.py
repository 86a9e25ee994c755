"""``reportgen init``: a course folder that builds where it stands (``cd DIR && reportgen build``).

Either a minimal course to start another lecture from, or the lecture's own
course copied from the definitions reportgen ships.
"""

from __future__ import annotations

from pathlib import Path

from .discover import STORE_NAME, lecture_definitions
from .errors import BadInputError

GITIGNORE = f"""# What reportgen build writes: the report and the result store.
build/
{STORE_NAME}/
"""

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
    """Write a minimal course (``course.toml``, one study, ``.gitignore``) into a new or empty ``folder``."""
    return _write(Path(folder), {"course.toml": COURSE.encode(), "overfitting.toml": STUDY.encode()})


def write_lecture(folder: Path) -> list[Path]:
    """Write the lecture's course (course.toml with its profiles, the four studies) into a new or empty ``folder``."""
    shipped = lecture_definitions()
    # Bytes, not text: the copy must be the shipped definitions exactly, comments and line endings included.
    return _write(Path(folder), {path.name: path.read_bytes() for path in sorted(shipped.glob("*.toml"))})


def _write(folder: Path, definitions: dict[str, bytes]) -> list[Path]:
    _refuse_unless_empty(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in {**definitions, ".gitignore": GITIGNORE.encode()}.items():
        (folder / name).write_bytes(data)
        written.append(folder / name)
    return written


def _refuse_unless_empty(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise BadInputError(f"{folder}: not a folder; choose an empty folder")
    # A folder holding only .git counts as empty, so `git init DIR && reportgen init DIR` works.
    entries = sorted(p.name for p in folder.iterdir() if p.name != ".git") if folder.is_dir() else []
    definitions = [name for name in entries if name.endswith(".toml")]
    if definitions:
        raise BadInputError(f"{folder}: already holds definitions ({definitions[0]}); choose an empty folder")
    if entries:
        others = f" and {len(entries) - 1} more" if len(entries) > 1 else ""
        raise BadInputError(f"{folder}: not empty (holds {entries[0]}{others}); choose an empty folder")
