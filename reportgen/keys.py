"""The key that proves a result store entry or a build folder was written by this user (or this user's team).

A course folder travels with whatever lies in it: a result store, a build
folder with its manifest. A SHA-256 beside the content detects corruption,
not forgery: whoever edits an entry recomputes it. So every entry, every
manifest and every publish marker carries an HMAC-SHA256 under a key that
never lies in a course folder. What another user or machine wrote is then a
claim, not a result: a store entry is recomputed, a build folder is out of
date.

The key is, in this order:

- the file ``$REPORTGEN_KEY_FILE`` names: one key for a team that shares a
  store on purpose (32 random bytes: ``head -c 32 /dev/urandom > team.key``);
- ``$XDG_CONFIG_HOME/reportgen/store.key`` (``~/.config/reportgen/store.key``),
  made on first use with 32 random bytes, mode 0600.

A key file must be a regular file of this user that no one else may read or
write, as ssh asks of a private key. Where no key file can be kept (a
read-only or missing home), the process makes one up for itself, and says
that nothing it writes will be reused by a later build.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import tempfiles
from .errors import BadInputError

KEY_FILE_VARIABLE = "REPORTGEN_KEY_FILE"
"""Names a key file to use instead of this user's own (a team's shared key)."""
KEY_BYTES = 32
_MIN_BYTES, _MAX_BYTES = 16, 4096


@dataclass(frozen=True)
class Key:
    """The secret, where it came from, and why it will not outlive this process when it cannot."""

    secret: bytes
    source: str
    """The key file, or a description of a key made up for this process."""
    ephemeral_reason: str | None = None
    """Why no key file could be kept (then what this process writes is not reused later), or None."""

    def sign(self, body: bytes) -> str:
        """The HMAC-SHA256 of ``body`` under this key, in hex."""
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def verify(self, body: bytes, mac: str | bytes) -> bool:
        """Whether ``mac`` is the HMAC of ``body`` under this key (compared in constant time)."""
        expected = self.sign(body)
        given = mac.decode("ascii", "replace") if isinstance(mac, bytes) else str(mac)
        return hmac.compare_digest(expected, given)


def default_key_path() -> Path:
    """Where this user's own key lives when ``$REPORTGEN_KEY_FILE`` names none."""
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(config) / "reportgen" / "store.key"


@lru_cache(maxsize=None)
def _key_for(named: str | None, default: Path) -> Key:
    if named is not None:
        if not named:
            raise BadInputError(f"{KEY_FILE_VARIABLE}: expected the path of a key file, got an empty value")
        return Key(read_key(Path(named), f"{KEY_FILE_VARIABLE}={named}"), named)
    if default.exists() or default.is_symlink():
        return Key(read_key(default, str(default)), str(default))
    try:
        return Key(_create(default), str(default))
    except OSError as exc:
        reason = f"cannot keep a key at {default} ({exc.strerror or exc})"
        return Key(secrets.token_bytes(KEY_BYTES), "made up for this process", ephemeral_reason=reason)


def user_key() -> Key:
    """This user's (or the team's) key, read once per process and per setting of the environment."""
    return _key_for(os.environ.get(KEY_FILE_VARIABLE), default_key_path())


def read_key(path: Path, what: str) -> bytes:
    """The key in ``path``; bad input, in one line, unless it is a regular file of this user only."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise BadInputError(f"{what}: cannot read the key ({exc.strerror or exc}; a link is not followed)") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInputError(f"{what}: expected a key file, got something that is not a regular file")
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise BadInputError(f"{what}: the key file must belong to you and be readable by no one else "
                                f"(chmod 600), got owner {info.st_uid} and mode {stat.S_IMODE(info.st_mode):o}")
        data = os.read(fd, _MAX_BYTES + 1)
    finally:
        os.close(fd)
    if not _MIN_BYTES <= len(data) <= _MAX_BYTES:
        raise BadInputError(f"{what}: expected a key of {_MIN_BYTES} to {_MAX_BYTES} bytes, got {len(data)}")
    return data


def _create(path: Path) -> bytes:
    """A new random key at ``path``, published whole; a key that another process made first wins."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_bytes(KEY_BYTES)
    fd, tmp = tempfiles.create(path)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secret)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)  # unlike a rename, fails if the key exists: two first builds agree on one key
    except FileExistsError:
        return read_key(path, str(path))
    finally:
        os.unlink(tmp)
    return secret
