"""``reportgen clean``: remove what reportgen provably wrote, and nothing else.

An output goes only when the manifest in its folder lists it with the
sha256 it still has: a file reportgen never wrote, or one changed since,
stays (and ``clean`` says why). A result store goes only when it carries the
store's own marker file.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from .cache import STORE_MARKER
from .errors import BadInputError, BuildError
from .outputs import ALL_OUTPUTS, BUILD_INFO, MANIFEST
from .publish import read_manifest, recover


def clean_outputs(out: Path) -> list[str]:
    """Remove the outputs in ``out`` that reportgen wrote, then ``out`` if empty; one line per thing kept."""
    recover(out)  # a killed build's stage folders and temporary files go first
    if not out.is_dir():
        return []
    recorded, unbelieved = _recorded_hashes(out)
    kept: list[str] = []
    changed = False
    for name in sorted(set(ALL_OUTPUTS) - {BUILD_INFO}):
        path = out / name
        if not (path.is_file() and not path.is_symlink()):
            continue
        if name not in recorded:
            kept.append(f"kept {path}: not written by reportgen (no manifest entry)")
        elif (digest := _sha256(path)) is None:
            kept.append(f"kept {path}: cannot be read, so it cannot be shown to be reportgen's")
            changed = True
        elif digest != recorded[name]:
            kept.append(f"kept {path}: changed since reportgen wrote it")
            changed = True
        else:
            _remove(path)
    bookkeeping = [out / MANIFEST, out / BUILD_INFO]
    if unbelieved:
        kept.append(f"kept {unbelieved}, so it proves nothing")
    elif not recorded:
        if (out / BUILD_INFO).is_file():
            kept.append(f"kept {out / BUILD_INFO}: not written by reportgen (no manifest entry)")
    elif changed:
        kept.append(f"kept {out / MANIFEST} and {out / BUILD_INFO}: they describe the outputs kept")
    else:
        for path in bookkeeping:  # they describe outputs that are gone now
            if path.is_file():
                _remove(path)
    others = sorted(p.name for p in out.iterdir() if p not in bookkeeping and p.name not in ALL_OUTPUTS)
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        kept.append(f"kept {len(others)} other entr{'y' if len(others) == 1 else 'ies'} in {out}: {shown}")
    if not any(out.iterdir()) and not out.is_symlink():
        out.rmdir()
    return kept


def check_store(folder: Path) -> None:
    """Refuse (exit 2) to treat ``folder`` as a result store unless it carries the store's marker."""
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_symlink() or not folder.is_dir() or not (folder / STORE_MARKER).is_file():
        raise BadInputError(f"{folder}: not a reportgen result store (no {STORE_MARKER} file in it); "
                            "left it as it is")


def remove_store(folder: Path) -> bool:
    """Remove the result store ``folder`` (checked with :func:`check_store`); False when there is none."""
    check_store(folder)
    if not folder.exists():
        return False
    try:
        shutil.rmtree(folder)
    except OSError as exc:
        raise BuildError(f"{exc.filename or folder}: cannot remove the result store: {exc.strerror or exc}") from None
    return True


def _recorded_hashes(out: Path) -> tuple[dict[str, str], str]:
    """The output hashes the manifest records, and why a manifest that exists is not believed (else "")."""
    if not (out / MANIFEST).exists():
        return {}, ""
    manifest, why = read_manifest(out)  # one another user, machine or key wrote proves nothing: keep everything
    outputs = manifest.get("outputs") if manifest is not None else None
    if not isinstance(outputs, dict):
        return {}, why or f"{out / MANIFEST}: records no outputs"
    return {name: digest for name, digest in outputs.items() if isinstance(digest, str)}, ""


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError as exc:
        raise BuildError(f"{path}: cannot remove it: {exc.strerror or exc}") from None
