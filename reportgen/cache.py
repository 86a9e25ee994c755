"""Content-addressed store: one ``.npz`` file per run outcome, one JSON file per study analysis.

Run entries are keyed by what determines the numbers (see
:mod:`reportgen.plan`); analysis entries by the run keys of a study plus the
version of the analysis code, so editing prose or templates reuses both.
Entries are written to a temporary file and renamed into place, so a reader
sees a whole entry or none, and two builds writing the same entry at once
both succeed. An entry that cannot be read is a miss, reported once and
replaced by the rebuild.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import BadInputError
from .outcomes import Outcome, from_arrays, to_arrays


@dataclass
class ResultCache:
    """A folder of entries, or a disabled cache that never hits and never writes."""

    root: Path | None
    warnings: list[str] = field(default_factory=list)

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> Outcome | None:
        """The stored outcome for ``key``, or None on a miss (absent or unreadable)."""
        if self.root is None:
            return None
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as arrays:
                return from_arrays(arrays)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as exc:
            self.warnings.append(f"cache entry {path.name} is unreadable ({exc.__class__.__name__}); recomputing it")
            return None

    def put(self, key: str, outcome: Outcome) -> None:
        """Store an outcome atomically (temporary file, then rename)."""
        if self.root is None:
            return
        buffer = io.BytesIO()
        np.savez(buffer, **to_arrays(outcome))
        atomic_write(self._path(key), buffer.getvalue())

    def get_analysis(self, key: str) -> dict | None:
        """A study's stored analysis (figures, tables, facts, metrics), or None."""
        if self.root is None:
            return None
        path = self.root / "analysis" / f"{key}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            self.warnings.append(f"analysis entry {path.name} is unreadable ({exc.__class__.__name__}); redoing it")
            return None

    def put_analysis(self, key: str, payload: dict) -> None:
        """Store a study's analysis atomically."""
        if self.root is not None:
            # Keys keep their order: a cached analysis must render exactly like a fresh one (dict order shows in
            # results.json and in whatever the templates iterate over).
            atomic_write(self.root / "analysis" / f"{key}.json", json.dumps(payload).encode())

    def previous_keys(self, study_id: str) -> dict[str, dict]:
        """The key parts of each run of the study's last build (by run label), for ``--explain``."""
        if self.root is None:
            return {}
        try:
            return json.loads((self.root / "index" / f"{study_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def record_keys(self, study_id: str, parts_by_label: dict[str, dict]) -> None:
        """Remember this build's key parts per run label."""
        if self.root is not None:
            atomic_write(self.root / "index" / f"{study_id}.json",
                          json.dumps(parts_by_label, sort_keys=True).encode())

    def check_writable(self) -> None:
        """Fail early, with a clear message, when the cache folder cannot be written."""
        if self.root is None:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
                pass
        except OSError as exc:
            raise BadInputError(f"{self.root}: cache folder is not writable ({exc.strerror or exc}); "
                                "use --cache DIR to move it or --no-cache to bypass it") from None


def stage(path: Path, data: bytes) -> Path:
    """Write ``data`` in full to a temporary file beside ``path`` and return it, ready to be renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; these are ordinary outputs
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    tmp = stage(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
