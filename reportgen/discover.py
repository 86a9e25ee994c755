"""Where things are: the course a command works on, and the templates and lecture reportgen ships.

A wheel installs ``templates/`` and ``experiments/`` inside the package (as
``reportgen/templates`` and ``reportgen/lecture``); a checkout, editable
installs included, keeps them at the top of the repository where authors edit
them. Every other module asks here, so the two layouts are known in one place.
"""

from __future__ import annotations

from pathlib import Path

from .errors import BadInputError

COURSE_FILE = "course.toml"
STORE_NAME = ".reportgen-cache"
_PACKAGE = Path(__file__).resolve().parent


def _shipped(packaged: str, checkout: str) -> Path:
    inside = _PACKAGE / packaged
    return inside if inside.is_dir() else _PACKAGE.parent / checkout


def builtin_templates() -> Path:
    """The templates reportgen ships: inside the installed package, else the checkout's ``templates/``."""
    return _shipped("templates", "templates")


def lecture_definitions() -> Path:
    """The lecture's definitions reportgen ships: inside the installed package, else the checkout's ``experiments/``."""
    return _shipped("lecture", "experiments")


def find_definitions(folder: Path = Path(".")) -> Path | None:
    """The definitions of the course at ``folder``: itself if it holds course.toml, else its experiments/, or None."""
    folder = Path(folder)
    for candidate in (folder, folder / "experiments"):
        if (candidate / COURSE_FILE).is_file():
            return candidate
    return None


def definitions_folder(given: Path | None) -> Path:
    """The folder ``--definitions`` names, else the course found in the working folder; BadInputError if none."""
    if given is not None:
        return Path(given)
    found = find_definitions()
    if found is None:
        raise BadInputError(f"no {COURSE_FILE} here or in ./experiments: start a course with `reportgen init DIR`, "
                            "or name its folder with --definitions DIR")
    return found


def course_root(definitions: Path) -> Path:
    """Where a course's result store goes: the definitions folder when it is the working folder, else its parent."""
    # The parent keeps a checkout's store at its root (beside experiments/), as it always was; a course folder made
    # by `reportgen init` and built where it stands keeps its store inside, where its .gitignore expects it.
    folder = Path(definitions).resolve()
    return folder if folder == Path.cwd().resolve() else folder.parent


def default_store(definitions: Path | None) -> Path:
    """The result store of ``definitions``; without them, of the course found here, else ``./.reportgen-cache``."""
    # Lenient on purpose: `reportgen clean` must still clean outputs in a folder that holds no course.
    if definitions is None:
        definitions = find_definitions()
    return (course_root(definitions) if definitions is not None else Path.cwd().resolve()) / STORE_NAME
