"""Checks that need no computation, run before any: the output folder and the characters the PDF can show.

Everything a build can refuse without training is refused first, in the
first second, with one line and nothing written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from .errors import BadInputError
from .tempfiles import probe


def check_output_folder(out: Path) -> None:
    """Refuse an output folder that is a file, cannot be created, or cannot be written."""
    if out.exists() and not out.is_dir():
        raise BadInputError(f"{out}: --out names a file, expected a folder")
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise BadInputError(f"{out}: cannot create the output folder: {existing} is a file, not a folder")
    reason = _unwritable(existing)
    if reason:
        verb = "cannot write the output folder" if existing == out else f"cannot create the output folder in {existing}"
        raise BadInputError(f"{out}: {verb} ({reason}); choose another with --out")


def _unwritable(folder: Path) -> str | None:
    """Why ``folder`` cannot be written, or None; root is stopped only by a read-only file system."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except OSError as exc:
        return exc.strerror or str(exc)
    if not os.access(folder, os.W_OK | os.X_OK):
        return "permission denied"
    try:
        # access() trusts the mode bits; a probe also meets ACLs, quotas and whatever else the kernel says.
        probe(folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def unshowable(texts: Iterable[tuple[str, str]]) -> list[str]:
    """Warnings for characters of user text that no installed font has: the PDF would show an empty box.

    ``texts`` holds (where, text) pairs, ``where`` naming the file and key.
    """
    covered = font_coverage()
    if covered is None:
        return []
    warnings = []
    for where, text in texts:
        missing = sorted({c for c in text if ord(c) > 0x7E and not c.isspace() and ord(c) not in covered})
        if missing:
            shown = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            warnings.append(f"{where}: {shown}{more} in no installed font: the PDF shows an empty box for "
                            f"{'it' if len(missing) == 1 else 'them'} (install a font that has "
                            f"{'it' if len(missing) == 1 else 'them'}, e.g. Noto)")
    return warnings


@lru_cache(maxsize=1)
def font_coverage() -> frozenset[int] | None:
    """Every code point some installed font has, as fontconfig (WeasyPrint's font source) reports it."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listing = subprocess.run([fc_list, "--format", "%{charset}\n"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    points: set[int] = set()
    for token in listing.split():
        low, _, high = token.partition("-")
        try:
            points.update(range(int(low, 16), int(high or low, 16) + 1))
        except ValueError:
            continue
    return frozenset(points)
