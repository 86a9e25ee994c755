"""Content-addressed store: one ``.npz`` file per run outcome, one JSON file per study analysis.

Run entries are keyed by what determines the numbers (see
:mod:`reportgen.plan`); analysis entries by the run keys of a study plus the
version of the analysis code, so editing prose or templates reuses both.
Entries are written to a temporary file and renamed into place, so a reader
sees a whole entry or none, and two builds writing the same entry at once
both succeed.

Every entry (``<k[:2]>/<k>.npz``, ``analysis/<k>.json``, ``index/<study>.json``)
is *sealed*: one ASCII header line of 95 bytes, then the body (an ``.npz``
archive or UTF-8 JSON)::

    reportgen-entry 2 hmac-sha256=<64 lowercase hex digits>\\n
    <body>

The HMAC is taken under this user's key (:mod:`reportgen.keys`), which never
lies in a course folder: a store that arrives with a course, or that another
user edited and resealed, is not believed. The MAC lives in the same file as
what it covers, so one rename publishes both. A reader verifies it before
using a byte: a mismatch (another key wrote it, or it was changed since), a
missing or malformed header or an unknown format version is a miss with a
warning (``--strict`` fails on it), and the rebuild rewrites the entry. An
entry written before entries were sealed with a key (a bare ``.npz`` or JSON
body, or format 1, sealed with a plain SHA-256) is a plain miss, recomputed
without a warning. An entry that cannot be read is a miss too, reported once
and replaced by the rebuild.

The root of a store carries :data:`STORE_MARKER`. A store is only written
into a folder that is new, empty, already marked, or an unmarked store from
before the marker (then it is adopted): never into a folder that holds
anything else, such as a home folder given to ``--cache`` by mistake.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import tempfiles
from .errors import BadInputError, BuildError
from .keys import user_key
from .outcomes import Outcome, from_arrays, to_arrays

STORE_MARKER = ".reportgen-store"
"""A file at the root of every result store: ``clean --cache`` removes only a folder that carries it."""
MARKER_TEXT = (b"This folder is a reportgen result store (cached run outcomes and analyses, all recomputable); "
               b"`reportgen clean --cache` removes it.\n")
"""What the marker file says to someone who finds it."""
ENTRY_VERSION = 2
"""The format version written in every entry's header line (1: a plain SHA-256, no longer believed)."""

_MAGIC = b"reportgen-entry"
_HEADER = re.compile(rb"reportgen-entry ([0-9]{1,9}) (hmac-)?sha256=([0-9a-f]{64})")
_HEADER_MAX = 128  # a valid header is 95 bytes; looking further only reads garbage
_KEYLESS_VERSIONS = {1}  # sealed with a digest anyone can recompute: recomputed quietly, like unsealed entries
# What an entry written before sealing starts with: a zip archive (np.savez) or a JSON object.
_UNSEALED_NPZ = b"PK\x03\x04"
_UNSEALED_JSON = b"{"
_HEX2 = re.compile(r"[0-9a-f]{2}")
_KEY = r"[0-9a-f]{64}"
# What each kind of store folder holds; two-hex-digit folders hold the runs whose keys start with their name.
_STORE_FOLDERS = {"index": r"[^/]+\.json", "analysis": rf"{_KEY}\.json"}


class DamagedEntry(ValueError):
    """A sealed entry's header is missing or malformed, or its body does not match its MAC."""


class KeylessEntry(ValueError):
    """An entry sealed by an older reportgen with a plain digest, which proves nothing about who wrote it."""


def seal(body: bytes) -> bytes:
    """``body`` behind its header line: ``reportgen-entry 2 hmac-sha256=<hex>`` under this user's key."""
    return b"%s %d hmac-sha256=%s\n" % (_MAGIC, ENTRY_VERSION, user_key().sign(body).encode()) + body


def unseal(data: bytes) -> bytes:
    """The body of a sealed entry, verified against its header; raise :class:`DamagedEntry` otherwise."""
    if not data.startswith(_MAGIC + b" "):
        raise DamagedEntry("no reportgen-entry header")
    end = data.find(b"\n", 0, _HEADER_MAX)
    header = _HEADER.fullmatch(data[:end]) if end >= 0 else None
    if header is None:
        raise DamagedEntry("malformed reportgen-entry header")
    version, keyed, mac = int(header[1]), header[2] is not None, header[3]
    if version in _KEYLESS_VERSIONS and not keyed:
        raise KeylessEntry(f"entry format {version}")
    if version != ENTRY_VERSION:
        raise DamagedEntry(f"entry format {version}, this reportgen reads format {ENTRY_VERSION}")
    if not keyed:
        raise DamagedEntry("malformed reportgen-entry header")
    body = data[end + 1:]
    if not user_key().verify(body, mac):
        raise DamagedEntry("not written under this user's key: another user or machine wrote it, or it was "
                           "changed since")
    return body


@dataclass
class ResultCache:
    """A folder of entries, or a disabled cache that never hits and never writes."""

    root: Path | None
    warnings: list[str] = field(default_factory=list)
    _claimed: bool = field(default=False, init=False, repr=False)

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.npz"

    def _analysis_path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / "analysis" / f"{key}.json"

    def get(self, key: str) -> Outcome | None:
        """The stored outcome for ``key``, or None on a miss (absent, unreadable or failing verification)."""
        if self.root is None:
            return None
        path = self._path(key)
        body = self._read(path, _UNSEALED_NPZ, "cache entry", "recomputing it")
        if body is None:
            return None
        try:
            with np.load(io.BytesIO(body), allow_pickle=False) as arrays:
                return from_arrays(arrays)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as exc:
            self.warnings.append(f"cache entry {path.name} is unreadable ({exc.__class__.__name__}); recomputing it")
            return None

    def holds(self, key: str) -> bool:
        """Whether an entry for outcome ``key`` exists (not whether it verifies: :meth:`get` checks that)."""
        return self.root is not None and self._path(key).is_file()

    def holds_analysis(self, key: str) -> bool:
        """Whether an analysis entry for ``key`` exists (not whether it verifies)."""
        return self.root is not None and self._analysis_path(key).is_file()

    def put(self, key: str, outcome: Outcome) -> None:
        """Store an outcome atomically (temporary file, then rename); a failed write is a BuildError."""
        if self.root is None:
            return
        buffer = io.BytesIO()
        np.savez(buffer, **to_arrays(outcome))
        self._write(self._path(key), buffer.getvalue())

    def get_analysis(self, key: str) -> dict | None:
        """A study's stored analysis (figures, tables, facts, metrics), or None."""
        if self.root is None:
            return None
        path = self._analysis_path(key)
        body = self._read(path, _UNSEALED_JSON, "analysis entry", "redoing it")
        if body is None:
            return None
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError as exc:
            self.warnings.append(f"analysis entry {path.name} is unreadable ({exc.__class__.__name__}); redoing it")
            return None

    def put_analysis(self, key: str, payload: dict) -> None:
        """Store a study's analysis atomically; a failed write is a BuildError."""
        if self.root is not None:
            # Keys keep their order: a cached analysis must render exactly like a fresh one (dict order shows in
            # results.json and in whatever the templates iterate over).
            self._write(self._analysis_path(key), json.dumps(payload).encode())

    def previous_keys(self, study_id: str) -> dict[str, dict]:
        """The key parts of each run of the study's last build (by run label), for ``--explain``."""
        if self.root is None:
            return {}
        path = self.root / "index" / f"{study_id}.json"
        body = self._read(path, _UNSEALED_JSON, "index entry", "ignoring it")
        if body is None:
            return {}
        try:
            parts = json.loads(body.decode("utf-8"))
        except ValueError:
            return {}
        return parts if isinstance(parts, dict) else {}

    def record_keys(self, study_id: str, parts_by_label: dict[str, dict]) -> None:
        """Remember this build's key parts per run label; a failed write is a BuildError."""
        if self.root is not None:
            self._write(self.root / "index" / f"{study_id}.json", json.dumps(parts_by_label, sort_keys=True).encode())

    def check_writable(self) -> None:
        """Fail early, with a clear message, when the cache folder cannot be written or is not a store."""
        if self.root is None:
            return
        try:
            # Nothing is created here: a build refused later (a bad template) must leave no store behind. The store
            # is made, or adopted and marked, at its first write.
            if self.root.is_dir():
                self._refuse_strangers()
            folder = self.root
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            if not folder.is_dir():
                raise NotADirectoryError(20, "not a folder", str(folder))
            # The marker may exist already (a store mounted read-only): only writing proves the folder writable.
            tempfiles.probe(folder)
        except OSError as exc:
            raise BadInputError(f"{self.root}: cache folder is not writable ({exc.strerror or exc}); "
                                "use --cache DIR to move it or --no-cache to bypass it") from None

    def _read(self, path: Path, unsealed: bytes, kind: str, then: str) -> bytes | None:
        """The verified body of the entry at ``path``, or None on a miss (warned about unless merely absent)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.warnings.append(f"{kind} {path.name} is unreadable ({exc.strerror or exc.__class__.__name__}); "
                                 f"{then}")
            return None
        if not data.startswith(_MAGIC) and data.startswith(unsealed):
            return None  # written before entries were sealed: unverifiable, so recomputed, but nothing is wrong
        try:
            return unseal(data)
        except KeylessEntry:
            return None  # written by a reportgen that sealed without a key: recomputed, but nothing is wrong
        except DamagedEntry as exc:
            self.warnings.append(f"{kind} {path.name} fails verification ({exc}); {then}")
            return None

    def _write(self, path: Path, body: bytes) -> None:
        """Seal ``body`` and publish it at ``path``; an OSError (disk full, I/O error) ends the build."""
        try:
            self._claim()
            atomic_write(path, seal(body))
        except OSError as exc:
            raise BuildError(f"{path}: could not write this cache entry ({exc.strerror or exc}); free some space, "
                             "or use --cache DIR to move the store or --no-cache to bypass it") from None

    def _claim(self) -> None:
        """Create the store or adopt an unmarked one, and mark it; refuse a folder that holds anything else."""
        if self._claimed:
            return
        assert self.root is not None
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / STORE_MARKER).is_file():
            self._refuse_strangers()
            atomic_write(self.root / STORE_MARKER, MARKER_TEXT)
        self._claimed = True

    def _refuse_strangers(self) -> None:
        """Bad input when the store folder is unmarked and holds anything a store does not."""
        assert self.root is not None
        if (self.root / STORE_MARKER).is_file():
            return
        strangers = foreign_entries(self.root)
        if strangers:
            more = f" and {len(strangers) - 1} more" if len(strangers) > 1 else ""
            raise BadInputError(f"{self.root}: not a reportgen result store (no {STORE_MARKER}, and it holds "
                                f"{strangers[0]!r}{more}); refusing to write into it: use --cache DIR with a new "
                                "or empty folder, or --no-cache")


def foreign_entries(root: Path) -> list[str]:
    """Names in ``root`` that no result store holds, sorted: none for an empty folder or an unmarked store."""
    strangers = []
    with os.scandir(root) as entries:
        for entry in entries:
            name = entry.name
            if _temporary(name) or name == STORE_MARKER:  # the marker: another build made this store a moment ago
                continue
            pattern = _STORE_FOLDERS.get(name) or (rf"{name}[0-9a-f]{{62}}\.npz" if _HEX2.fullmatch(name) else None)
            if (pattern and entry.is_dir(follow_symlinks=False)
                    and all(re.fullmatch(pattern, child) or _temporary(child) for child in os.listdir(entry.path))):
                continue
            strangers.append(name)
    return sorted(strangers)


def _temporary(name: str) -> bool:
    """A leftover of an interrupted write (``stage``) or writability probe: part of a store, not a stranger."""
    # ".probe-…": the probes of stores that earlier versions wrote.
    return tempfiles.is_probe(name) or name.startswith(".probe-") or tempfiles.staged_for(name) is not None


def stage(path: Path, data: bytes) -> Path:
    """Write ``data`` in full to a temporary file beside ``path`` and return it, ready to be renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfiles.create(path)
    try:
        write_synced(fd, tmp, data)
    except BaseException:
        # The write's own error (disk full, I/O error) is the one to report, not a failed clean-up's.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_synced(fd: int, path: Path, data: bytes) -> None:
    """Write ``data`` through ``fd``, a new file at ``path``, and close it: on disk (fsync) and world-readable."""
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, 0o644)  # temporary files are made private; these are ordinary outputs


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    tmp = stage(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
