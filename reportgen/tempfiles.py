"""The temporary files reportgen makes beside the files it writes, and how it knows them again.

One naming rule for every atomic write (the result store's entries, the outputs, the store key, the compiled
kernels): ``.NAME.XXXXXXXX.tmp`` beside ``NAME``, where ``XXXXXXXX`` is what :func:`tempfile.mkstemp` draws; and
one for the probes that test whether a folder can be written: ``.reportgen-probe-XXXXXXXX``. A killed build may
leave either behind, and whoever cleans up deletes a name only when it matches these rules exactly (and, for
outputs, names a file reportgen writes), never a look-alike of the user's.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

SUFFIX = ".tmp"
PROBE_PREFIX = ".reportgen-probe-"
_RANDOM = r"[a-z0-9_]{8}"
"""What :mod:`tempfile` puts between a prefix and a suffix: eight of its letters, digits and underscores."""
_STAGED = re.compile(rf"\.(.+)\.{_RANDOM}{re.escape(SUFFIX)}")
_PROBE = re.compile(rf"{re.escape(PROBE_PREFIX)}{_RANDOM}")


def create(path: Path) -> tuple[int, Path]:
    """A new empty file beside ``path``, private to this user, to be renamed onto ``path`` once written: its open
    descriptor and its path, ``.NAME.XXXXXXXX.tmp``."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=SUFFIX)
    return handle, Path(name)


def staged_for(name: str) -> str | None:
    """The name of the file whose temporary file (:func:`create`) ``name`` is, or None if it is not one."""
    match = _STAGED.fullmatch(name)
    return match.group(1) if match else None


def probe(folder: Path) -> None:
    """Create and delete a file in ``folder``; the OSError, if any, says why it cannot be written."""
    with tempfile.NamedTemporaryFile(dir=folder, prefix=PROBE_PREFIX):
        pass


def is_probe(name: str) -> bool:
    """Whether ``name`` is that of a :func:`probe`'s file (left behind when a build is killed mid-check)."""
    return _PROBE.fullmatch(name) is not None
