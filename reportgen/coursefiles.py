"""Reading a course's files: regular files only, from inside their folder, of bounded size.

A course folder may come from a stranger. Whatever a build reads or hashes
from it (definitions, templates, the bibliography, message catalogues) goes
through :func:`read_course_file`, so that a FIFO named ``course.toml`` cannot
block the build, a link to ``/proc/self/mem`` or to ``~/.ssh/id_rsa`` is not
followed out of the course, and a link to a gigabyte file is refused before a
byte of it is read. Every refusal is one :class:`BadInputError` line naming
the file, what was expected and what was found.

:func:`parse_toml` does the same for the TOML in those files: nesting deep
enough to exhaust Python's stack, integers too long to convert and keys no
terminal can show become one line naming the file and the key, never a
traceback.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import tomllib
from pathlib import Path
from typing import Any, Iterable

from .errors import BadInputError
from .limits import DEFAULT_MAX_FILE_KB, Limits
from .messages import lower_first

FIXED_LIMIT_KB = 16 * DEFAULT_MAX_FILE_KB
"""Largest file read where no course limit reaches (templates, bibliographies, catalogues, reportgen's own code):
generous for any template or stylesheet, far below a file that would exhaust memory."""
FIXED_LIMIT = FIXED_LIMIT_KB * 1024
"""The same, in bytes, as :func:`read_course_file` takes it."""

MAX_NESTING = 32
"""Deepest nesting of tables and arrays in a TOML file; a definition needs five or six levels."""

_INT64 = (-2**63, 2**63 - 1)
"""TOML's integers (toml.io: "64 bit (signed long) range expected, −2^63 to 2^63−1")."""

_FOUND = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_course_file(path: Path, inside: Path | Iterable[Path], limit: Limits | int, what: str, *,
                     name: str | None = None, folder: str = "its folder") -> bytes:
    """The bytes of ``path``, a regular file inside ``inside`` of at most ``limit``; else one BadInputError line.

    ``inside`` is one folder or several (the real path must lie in one of them); ``limit`` is the course's
    limits (the refusal names the setting that raises them) or a fixed number of bytes. ``what`` names the
    kind of file in the plural ("definitions"), ``name`` the file as the user should read it and ``folder``
    the folder it must stay in ("the definitions folder").
    """
    name = name or str(path)
    folders = [inside] if isinstance(inside, (str, os.PathLike)) else list(inside)
    real = Path(os.path.realpath(path))
    if not any(real.is_relative_to(os.path.realpath(f)) for f in folders):
        # Checked before opening: even opening some devices does something.
        pronoun = "it" if len(folders) == 1 else "them"
        raise BadInputError(f"{name}: links outside {folder} (to {real}); {what} are read only from inside {pronoun}")
    try:
        # Classified before opening, so a device is refused without being opened and a socket (which cannot be
        # opened) is named for what it is.
        _check_regular(os.stat(real).st_mode, name, what)
        # O_NONBLOCK: a FIFO swapped in after the check still cannot block; fstat then refuses it.
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
        try:
            status = os.fstat(fd)
            _check_regular(status.st_mode, name, what)
            limit_bytes = limit.max_file_kb * 1024 if isinstance(limit, Limits) else limit
            if status.st_size > limit_bytes:
                raise BadInputError(f"{name}: {_too_big(status.st_size, limit, what)}")
            # At most one byte past the limit: /proc files report a size of 0, and a file may grow meanwhile.
            data = _read_at_most(fd, limit_bytes + 1)
        finally:
            os.close(fd)
    except FileNotFoundError:
        found = f"links to {real}, which does not exist" if os.path.islink(path) else "file not found"
        raise BadInputError(f"{name}: {found}") from None
    except OSError as exc:
        raise BadInputError(f"{name}: cannot read file ({exc.__class__.__name__}: {exc.strerror or exc})") from None
    if len(data) > limit_bytes:
        raise BadInputError(f"{name}: {_too_big(len(data), limit, what)}")
    return data


def read_course_text(path: Path, inside: Path | Iterable[Path], limit: Limits | int, what: str, *,
                     name: str | None = None, folder: str = "its folder", encoding: str = "utf-8-sig") -> str:
    """:func:`read_course_file`, decoded; text that is not in ``encoding`` is refused in one line.

    The default, utf-8-sig, drops the byte-order mark an editor may write (Windows Notepad does).
    """
    data = read_course_file(path, inside, limit, what, name=name, folder=folder)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{name or path}: cannot read file (UnicodeDecodeError: {exc})") from None


def _check_regular(mode: int, name: str, what: str) -> None:
    """Refuse anything but a regular file, saying what it is."""
    if stat.S_ISREG(mode):
        return
    found = next((words for test, words in _FOUND if test(mode)), "not a file")
    raise BadInputError(f"{name}: not a regular file ({found}); {what} are read only from regular files")


def _too_big(size: int, limit: Limits | int, what: str) -> str:
    """Why a file of ``size`` bytes is refused: under the course's limits, with the setting that raises them."""
    if isinstance(limit, Limits):
        return limit.file_problem(size) or ""
    return f"file is {size / 1024:,.0f} KB, over the limit of {limit // 1024:,} KB for {what}"


def _read_at_most(fd: int, count: int) -> bytes:
    """Up to ``count`` bytes from ``fd``: fewer only at the end of the file."""
    chunks, left = [], count
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# --------------------------------------------------------------------------- TOML


def parse_toml(text: str, name: str, names: bool = True) -> dict[str, Any]:
    """The TOML document ``text`` of the file ``name``, or one BadInputError line naming the file and the key.

    Anything tomllib or a later step would choke on is refused: bad syntax, deep nesting, integers beyond 64
    bits. ``names``: the document's keys are names that messages print as key paths (a definition's), not text
    (a catalogue's messages), so a key no terminal shows on one line is refused.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib (3.11) puts the position at the end of its message; it belongs where the key path goes.
        match = re.fullmatch(r"(.*) \(at (line \d+, column \d+|end of document)\)", str(exc), re.DOTALL)
        message, position = (match.group(1), match.group(2)) if match else (str(exc), "")
        raise BadInputError(f"{name}: {position + ': ' if position else ''}invalid TOML: "
                            f"{lower_first(message)}") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively: a few hundred levels exhaust the stack.
        raise BadInputError(f"{name}: invalid TOML: nested too deeply (more than {MAX_NESTING} levels of arrays "
                            "and tables)") from None
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise BadInputError(f"{name}: invalid TOML: {lower_first(str(exc))}") from None
        # Python refuses to convert integers of more than 4,300 digits (a guard against quadratic time).
        limit = sys.get_int_max_str_digits()
        raise BadInputError(f"{name}: {_long_integer_position(text, limit)}invalid TOML: expected a 64-bit "
                            f"integer, got one of more than {limit:,} digits") from None
    check_document(document, name, names)
    return document


def check_document(document: dict[str, Any], name: str, names: bool = True) -> None:
    """Refuse nesting deeper than MAX_NESTING, integers beyond TOML's 64 bits and (``names``) unprintable keys.

    Walked with a stack, not recursion: the point is to refuse what recursive code (ours, pydantic's) would
    not survive.
    """
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while pending:
        value, path = pending.pop()
        if isinstance(value, (dict, list)) and len(path) >= MAX_NESTING:
            raise BadInputError(f"{name}: {_key_path(path[:3])}{'…' if len(path) > 3 else ''}: nested too deeply "
                                f"(more than {MAX_NESTING} levels of arrays and tables)")
        if isinstance(value, dict):
            for key, item in value.items():
                if names and not key.isprintable():
                    bad = next(c for c in key if not c.isprintable())
                    raise BadInputError(f"{name}: {_key_path((*path, key))}: expected a key of printable "
                                        f"characters, got one with U+{ord(bad):04X}")
                pending.append((item, (*path, key)))
        elif isinstance(value, list):
            pending.extend((item, (*path, i)) for i, item in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
            # TOML's integers are 64-bit; a longer one would reach numpy (a seed) and fail there, mid-build.
            raise BadInputError(f"{name}: {_key_path(path)}: expected a 64-bit integer, got one of "
                                f"{len(str(abs(value))):,} digits")


def _key_path(path: tuple[str | int, ...]) -> str:
    """``train.steps``, ``sweep.seeds[2]``; a key that cannot be shown as it is, quoted with escapes."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = part if part.isprintable() and part else json.dumps(part)  # \n, \u0000, \u202e …
            text += f".{shown}" if text else shown
    return text or "(top level)"


def _long_integer_position(text: str, limit: int) -> str:
    """``line 3, column 9: `` where an integer of more than ``limit`` digits starts, or nothing if none is seen."""
    match = re.search(r"(?<![\w.])[+-]?(?:0[xob])?[0-9A-Fa-f_]{%d,}" % (limit + 1), text)
    if match is None:
        return ""
    line = text.count("\n", 0, match.start()) + 1
    column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
    return f"line {line}, column {column}: "
