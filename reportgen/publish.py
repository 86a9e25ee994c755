"""Publishing a build's outputs so that no kill can leave a mixed folder, and recovering from killed ones.

How a publish goes (``out`` is the output folder):

1. Every output, the manifest and build-info.json are written and fsynced
   into a stage folder beside ``out`` (same parent, so same file system),
   named ``.{out.name}.reportgen-stage-XXXXXXXX`` and holding :data:`MARKER`,
   which names what the build wrote. The marker goes in first: a stage
   without it is not provably ours and is never touched (unless empty).
2. The user's own entries in ``out`` join the stage: files as hard links,
   subfolders moved. The stage takes ``out``'s permission bits.
3. One ``renameat2(stage, out, RENAME_EXCHANGE)`` swaps the two folders: a
   reader, or a kill, sees all of the old report or all of the new one.
   Where ``out`` does not exist yet, a plain rename is just as atomic.
4. The old folder, now at the stage path, is drained: the old outputs and
   the hard links are unlinked; anything else (a file the user created
   during the build) is moved back into ``out``, never deleted.

Recovery (:func:`recover`, run first by every build, publish and clean):
a stage folder that carries the marker is from a publish killed before its
swap; a marker inside ``out`` means killed after it, and names the old
folder. Either way the user's entries go back into ``out`` when missing
there, what the marker lists as ours is deleted, and the folder goes. The
hidden temporary files ``.NAME.XXXXXXXX.tmp`` (:mod:`reportgen.tempfiles`) that
:func:`reportgen.cache.stage` leaves in ``out`` when killed are removed too (for output names only).

A lock (``flock`` on the parent folder) serializes publishes and recoveries
of one parent, so a recovery never takes a live publish for a killed one.

Fallback: where ``RENAME_EXCHANGE`` is unsupported (EINVAL, ENOSYS,
EOPNOTSUPP; any system but Linux), the parent folder is not writable, hard
links are refused, ``out`` is a symbolic link or a mount point, or the
current folder lies inside ``out`` (a swap would strand it), each output is
written to a temporary file in ``out`` and renamed into place one by one,
as before. The manifest is deleted before the first rename and written
last, so an interrupted publish is never taken as up to date.

Errors: an OSError while writing (disk full, I/O error, file too large,
read-only) raises :class:`~reportgen.errors.BuildError` naming the file and
the reason, after undoing the stage: the previous report stays as it was,
and no temporary file or stage folder is left.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import platform
import secrets
import sys
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from .cache import stage, write_synced
from .errors import BuildError
from .keys import user_key
from .outputs import ALL_OUTPUTS, BUILD_INFO, MANIFEST
from .tempfiles import is_probe, staged_for

MARKER = ".reportgen-stage.json"
"""In a stage folder (and, between swap and drain, in ``out``): proof that it is ours, and what we wrote."""
STAGE_INFIX = ".reportgen-stage-"

AT_FDCWD = -100
RENAME_EXCHANGE = 2
# renameat2 by number, for a libc too old to wrap it (glibc < 2.28).
_SYS_RENAMEAT2 = {"x86_64": 316, "i386": 353, "i686": 353, "aarch64": 276, "riscv64": 276, "loongarch64": 276,
                  "armv7l": 382, "ppc64le": 357, "ppc64": 357, "s390x": 347}
# The swap cannot be made here; the per-file renames still can.
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EBUSY,
                errno.EPERM, errno.EACCES, errno.EMLINK}


class _Unsupported(Exception):
    """The exchange cannot be used for this folder: publish file by file instead."""


def publish(out: Path, files: dict[str, bytes], digest: str, warnings=(),
            extras: dict[str, bytes] | None = None) -> list[Path]:
    """Put ``files`` (described by the manifest) and ``extras`` (not described) into ``out`` all at once."""
    manifest = manifest_bytes(files, digest, warnings)
    writes = {**files, **(extras or {}), MANIFEST: manifest}  # the manifest last: see the fallback
    out = Path(out)
    with _locked(out):
        _recover(out)
        try:
            _publish_swapped(out, writes)
        except _Unsupported:
            _publish_in_place(out, writes)
    return [out / name for name in files]


def manifest_bytes(files: dict[str, bytes], digest: str, warnings=()) -> bytes:
    """The manifest: the inputs' digest, each output's sha256, and the build's warnings, under this user's MAC."""
    manifest = {"inputs": digest, "outputs": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
                "warnings": list(warnings)}
    return json.dumps(_signed(manifest), indent=2).encode()


def marker_bytes(stage: str, writes: list[str]) -> bytes:
    """A stage folder's marker: its name and what this publish writes, under this user's MAC (only such a marker
    may send a recovery to delete or move anything)."""
    return json.dumps(_signed({"stage": stage, "writes": writes})).encode()


def read_manifest(out: Path) -> tuple[dict | None, str]:
    """The manifest in ``out`` when this user's reportgen wrote it, else None and why it is not believed.

    A build folder can arrive with a course, its manifest edited to match edited outputs: only the MAC under
    this user's key makes a manifest a record of what reportgen wrote.
    """
    path = out / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"{path}: no record of a previous build"
    except (OSError, ValueError) as exc:
        return None, f"{path}: unreadable ({exc.__class__.__name__})"
    if not _authentic(manifest):
        return None, f"{path}: not written by this user's reportgen (another user, machine or key wrote it, or it " \
                     "was edited)"
    return manifest, ""


def _signed(record: dict) -> dict:
    """``record`` with a ``mac`` of its other fields under this user's key."""
    return {**record, "mac": user_key().sign(json.dumps(record, sort_keys=True).encode())}


def _authentic(record: object) -> bool:
    """Whether ``record`` is a dict whose ``mac`` this user's key made over its other fields."""
    if not isinstance(record, dict) or not isinstance(record.get("mac"), str):
        return False
    rest = {key: value for key, value in record.items() if key != "mac"}
    return user_key().verify(json.dumps(rest, sort_keys=True).encode(), record["mac"])


def recover(out: Path) -> None:
    """Finish or undo what a killed publish left beside or inside ``out``, keeping every user entry."""
    out = Path(out)
    with _locked(out):
        try:
            _recover(out)
        except OSError as exc:
            raise BuildError(_failure(exc, out, "cannot recover the output folder")) from None


def exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``); OSError where unsupported."""
    call = _renameat2()
    if call is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available on this system", str(a))
    if call(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a), None, str(b))


def is_litter(name: str) -> bool:
    """True for the name of a temporary file that a killed write of one of reportgen's outputs leaves."""
    return is_probe(name) or staged_for(name) in _our_names()  # a write probe killed mid-check, or a staged output


# --------------------------------------------------------------------------- the swap


def _publish_swapped(shown: Path, writes: dict[str, bytes]) -> None:
    out = Path(os.path.abspath(shown))  # absolute: a relative path must not follow a swapped current folder
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if not _can_swap(out):
            raise _Unsupported
        folder = _make_stage(out, list(writes))
    except OSError as exc:
        if exc.errno in _NO_EXCHANGE or exc.errno == errno.EROFS:
            raise _Unsupported from None  # the parent is not writable: out itself may still be
        raise BuildError(_failure(exc, shown, "cannot create a stage folder beside it")) from None
    current = shown
    try:
        for name, data in writes.items():
            current = shown / name
            _write(folder / name, data)
        current = shown
        if not out.exists():
            _fsync(folder)
            os.rename(folder, out)
            (out / MARKER).unlink()
            _fsync(out.parent)
            return
        _gather_user_entries(out, folder, set(writes))
        os.chmod(folder, os.stat(out).st_mode & 0o7777)
        _fsync(folder)
        exchange(folder, out)
    except BaseException as exc:
        _undo(folder, out, set(writes))
        if isinstance(exc, OSError):
            if exc.errno in _NO_EXCHANGE and current == shown:
                raise _Unsupported from None
            raise BuildError(_failure(exc, current, "cannot write")) from None
        raise
    try:
        _fsync(out.parent)
        if _drain(folder, out, set(writes), folder_was_live=True):
            (out / MARKER).unlink()
        _fsync(out)
    except OSError as exc:
        # The new report is in place; the marker left in it lets the next command finish the tidying.
        raise BuildError(_failure(exc, shown, "published, but cannot remove the previous report")) from None


def _undo(folder: Path, out: Path, ours: set[str]) -> None:
    """Give back what an unswapped stage took from ``out`` and drop what was written into it."""
    try:
        _drain(folder, out, ours, folder_was_live=False)
    except OSError:
        pass  # the error being reported matters more; the next command's recovery retries this


def _can_swap(out: Path) -> bool:
    if not out.name or out.is_symlink() or (out.exists() and not out.is_dir()):
        return False
    if out.exists() and os.stat(out).st_dev != os.stat(out.parent).st_dev:
        return False  # a mount point: the stage would sit on another file system
    cwd = Path(os.getcwd())
    return not (cwd == out or out in cwd.parents)


def _make_stage(out: Path, names: list[str]) -> Path:
    while True:
        folder = out.parent / f".{out.name}{STAGE_INFIX}{secrets.token_hex(4)}"
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
    try:
        _write(folder / MARKER, marker_bytes(folder.name, names))
    except BaseException:
        (folder / MARKER).unlink(missing_ok=True)
        folder.rmdir()
        raise
    return folder


def _gather_user_entries(out: Path, folder: Path, ours: set[str]) -> None:
    """The user's files as hard links in the stage, their subfolders moved into it."""
    for entry in os.scandir(out):
        if entry.name in ours or entry.name == MARKER or is_litter(entry.name):
            continue
        if entry.is_dir(follow_symlinks=False):
            os.rename(entry.path, folder / entry.name)
        else:
            os.link(entry.path, folder / entry.name, follow_symlinks=False)


def _drain(folder: Path, out: Path, ours: set[str], folder_was_live: bool) -> bool:
    """Empty ``folder`` into ``out`` and remove it; True when nothing had to stay.

    ``folder_was_live``: it held the report until the swap (the old folder),
    so its entries are newer than the hard links in ``out``; otherwise it is
    an unswapped stage and ``out``'s entries win.
    """
    kept = False
    for entry in list(os.scandir(folder)):
        if entry.name == MARKER:
            continue
        source, target = Path(entry.path), out / entry.name
        is_dir = entry.is_dir(follow_symlinks=False)
        if not is_dir and (entry.name in ours or is_litter(entry.name)):
            source.unlink()
        elif not os.path.lexists(target):
            out.mkdir(exist_ok=True)
            os.rename(source, target)
        elif _same_file(source, target):
            source.unlink()
        elif not is_dir and not target.is_dir() and target.name not in ours:
            if folder_was_live:
                os.replace(source, target)  # the user replaced the file during the build: theirs wins
            else:
                source.unlink()  # our link to a version the user has replaced since
        else:
            kept = True  # both sides hold something different by this name: keep both
    if not kept:
        (folder / MARKER).unlink(missing_ok=True)
        folder.rmdir()
    return not kept


def _same_file(a: Path, b: Path) -> bool:
    first, second = os.lstat(a), os.lstat(b)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


# --------------------------------------------------------------------------- file by file


def _publish_in_place(out: Path, writes: dict[str, bytes]) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(_failure(exc, out, "cannot create the output folder")) from None
    staged: list[tuple[str, Path]] = []
    current = out
    try:
        for name, data in writes.items():
            current = out / name
            staged.append((name, stage(out / name, data)))
        current = out / MANIFEST
        (out / MANIFEST).unlink(missing_ok=True)
        _fsync(out)  # the manifest is gone for good before any output changes
        for name, tmp in staged:
            current = out / name
            os.replace(tmp, out / name)
        _fsync(out)
    except OSError as exc:
        raise BuildError(_failure(exc, current, "cannot write")) from None
    finally:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- recovery


def _recover(out: Path) -> None:
    out = Path(os.path.abspath(out))
    if not out.name or not out.parent.is_dir():
        return
    marker = _read_marker(out / MARKER)
    if marker is not None:  # killed after the swap: the old folder is the one the marker names
        old = out.parent / str(marker.get("stage", ""))
        if _is_stage_name(out, old.name) and old.is_dir() and not old.is_symlink():
            _drain(old, out, set(marker.get("writes", [])), folder_was_live=True)
        (out / MARKER).unlink(missing_ok=True)
    try:
        siblings = list(os.scandir(out.parent))
    except PermissionError:
        siblings = []  # stages there, if any, wait for a command that may list the folder
    for entry in siblings:
        if not (_is_stage_name(out, entry.name) and entry.is_dir(follow_symlinks=False)):
            continue
        folder = Path(entry.path)
        marker = _read_marker(folder / MARKER)
        if marker is not None:  # killed before the swap
            _drain(folder, out, set(marker.get("writes", [])), folder_was_live=False)
        else:
            try:
                folder.rmdir()  # killed between creating it and writing the marker; anything else is not ours
            except OSError:
                pass
    if out.is_dir():  # through a symbolic link too: the file-by-file fallback writes there
        for entry in list(os.scandir(out)):
            if is_litter(entry.name) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


def _read_marker(path: Path) -> dict | None:
    if path.is_symlink():
        return None
    try:
        marker = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    # Only a marker this user's reportgen wrote may name files to delete and a folder to drain.
    if not _authentic(marker) or not isinstance(marker.get("writes", []), list):
        return None
    return marker


def _is_stage_name(out: Path, name: str) -> bool:
    return "/" not in name and name.startswith(f".{out.name}{STAGE_INFIX}")


@lru_cache(maxsize=None)
def _our_names() -> frozenset[str]:
    return frozenset((*ALL_OUTPUTS, BUILD_INFO, MANIFEST))


# --------------------------------------------------------------------------- system calls


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out``'s parent folder (best effort: none where it cannot be taken)."""
    try:
        import fcntl

        fd = os.open(Path(os.path.abspath(out)).parent, os.O_RDONLY | os.O_DIRECTORY)
    except (ImportError, OSError):
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass  # e.g. a file system without locks: go on unserialized, as before
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write(path: Path, data: bytes) -> None:
    write_synced(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), path, data)


def _fsync(folder: Path) -> None:
    if os.name != "posix":
        return  # folders cannot be opened for fsync there
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _failure(exc: OSError, path: Path, what: str) -> str:
    return f"{path}: {what}: {exc.strerror or exc}"


@lru_cache(maxsize=None)
def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    arguments = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    try:
        call = libc.renameat2
    except AttributeError:
        number = _SYS_RENAMEAT2.get(platform.machine())
        if number is None:
            return None
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        return lambda *args: syscall(ctypes.c_long(number), *(kind(a) for kind, a in zip(arguments, args)))
    call.argtypes, call.restype = arguments, ctypes.c_int
    return call
