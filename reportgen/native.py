"""The C gradient kernels: compiled once per machine, loaded with ctypes.

Torch spends a few microseconds dispatching each tensor operation, and a
training step of a small MLP or polynomial needs a dozen or more of them:
training such models is mostly overhead. ``kernels/polynomial.c`` and
``kernels/mlp.c`` compute the forward pass, the loss and the gradient of a
whole chunk of runs in one call, and Adam's elementwise work with torch's
rounding (``kernels/common.h``).

Each kernel is compiled with the system C compiler into the user's cache
folder (0.15 s for polynomials, 0.3 s for MLPs, once per kernel version), so
a build compiles only what its studies train. Without a compiler, or with
``REPORTGEN_KERNEL=torch``, the trainer falls back to batched torch
operations: slower, equally exact against the lecture's loop, but not the
same bits, so the choice is part of every trained run's cache key.

This module must not import torch: the planner asks it for the kernel's
identity.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import tempfiles

SOURCES = Path(__file__).with_name("kernels")
"""``<kind>.c`` for each kind of model, and the ``common.h`` they include."""
KINDS = ("polynomial", "mlp")
FLAGS = ("-O3", "-shared", "-fPIC",
         # IEEE arithmetic in source order: no fused multiply-adds, no reassociation, NaNs propagate.
         "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math")
"""Compiler flags. No -march=native: the same machine code, and the same bits, on every x86-64 or arm64."""
ACTIVATIONS = {"tanh": 0, "sigmoid": 1, "relu": 2, "identity": 3}
"""The kernel's activation codes."""


@dataclass(frozen=True)
class Kernel:
    """The loaded kernel and what it was built from."""

    library: ctypes.CDLL
    identity: str


@dataclass(frozen=True)
class Unavailable:
    """Why there is no kernel: the trainer then uses torch."""

    reason: str


def requested() -> str:
    """What ``REPORTGEN_KERNEL`` asks for: ``c`` (the default: the C kernel, where it compiles) or ``torch``; any
    other value is bad input, refused before any work rather than read as the default."""
    value = os.environ.get("REPORTGEN_KERNEL", "").strip() or "c"
    if value not in ("c", "torch"):
        from .errors import BadInputError

        raise BadInputError(f"REPORTGEN_KERNEL: expected c or torch, got {value!r}")
    return value


def kernel(kind: str) -> Kernel | Unavailable:
    """The compiled kernel for ``kind`` (polynomial or mlp), building it on first use; or why it cannot be had."""
    if requested() == "torch":
        return Unavailable("REPORTGEN_KERNEL=torch")
    return _load(os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or "", kind)


def backend_id(kind: str) -> str:
    """What computes ``kind``'s gradients here, for cache keys: ``c <hash of sources, flags, compiler>``, or torch."""
    found = kernel(kind)
    return f"c {found.identity}" if isinstance(found, Kernel) else "torch"


@dataclass(frozen=True)
class GradientCode:
    """Which code computes the gradients of the kinds a build trains; its text is the build log's line."""

    native: bool
    """Whether the C kernels compute every kind's gradients (else torch computes them all, several times slower)."""
    kinds: tuple[tuple[str, str], ...]
    """Per kind: its kernel's identity where ``native``; else, for each kind without a kernel, why."""

    def __str__(self) -> str:
        if self.native:
            return "C kernel " + ", ".join(f"{kind} {identity}" for kind, identity in self.kinds)
        return f"torch (no C kernel: {'; '.join(f'{kind}: {reason}' for kind, reason in self.kinds)})"


def describe(kinds) -> GradientCode:
    """Which gradient code runs for ``kinds``, and why when it is the slow one."""
    found = {kind: kernel(kind) for kind in sorted(kinds)}
    missing = tuple((kind, k.reason) for kind, k in found.items() if isinstance(k, Unavailable))
    if missing:
        return GradientCode(native=False, kinds=missing)
    return GradientCode(native=True, kinds=tuple((kind, k.identity) for kind, k in found.items()))


def forget() -> None:
    """Drop the loaded kernels, so that ``kernel()`` finds (or compiles) them again, as a new process would."""
    _load.cache_clear()
    _compiler_version.cache_clear()


@lru_cache(maxsize=None)
def _load(compiler: str, kind: str) -> Kernel | Unavailable:
    if not compiler:
        return Unavailable("no C compiler found; set CC or install gcc")
    version = _compiler_version(compiler)
    if isinstance(version, Unavailable):
        return version
    source = SOURCES / f"{kind}.c"
    digest = hashlib.sha256()
    for part in (source.read_bytes(), (SOURCES / "common.h").read_bytes(), " ".join(FLAGS).encode(),
                 version.encode(), platform.machine().encode()):
        digest.update(part + b"\0")
    identity = digest.hexdigest()[:16]
    path = _cache_folder() / f"{kind}-{identity}.so"
    if not path.exists():
        failure = _compile(compiler, source, path)
        if failure:
            return Unavailable(failure)
    try:
        library = ctypes.CDLL(str(path))
    except OSError as error:
        return Unavailable(f"could not load {path.name}: {error}")
    _declare(library, kind)
    return Kernel(library, identity)


@lru_cache(maxsize=None)
def _compiler_version(compiler: str) -> str | Unavailable:
    """The first line of ``compiler --version``, part of every kernel's identity."""
    try:
        return subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30,
                              check=True).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError) as error:
        return Unavailable(f"{compiler} --version failed: {error}")


def _declare(library: ctypes.CDLL, kind: str) -> None:
    """Argument and result types of the library's entry points (see the sources for their meaning)."""
    pointer, count, number, size = ctypes.c_void_p, ctypes.c_int, ctypes.c_float, ctypes.c_long
    signatures = {
        "adam_available": (count, [count]),
        "adam_moments": (count, [count, size, pointer, pointer, pointer, pointer, pointer, number, number, number]),
        "adam_update": (None, [size, pointer, pointer, pointer, number, number, number]),
    }
    if kind == "polynomial":
        signatures["poly_gradients"] = (count, [count, pointer, pointer, count, count] + [pointer] * 6)
        signatures["poly_predict"] = (None, [count, pointer, pointer, count, pointer, pointer, pointer])
    else:
        signatures["mlp_gradients"] = (count, [count, pointer, pointer, pointer, count, count] + [pointer] * 5)
        signatures["mlp_predict"] = (count, [count, pointer, pointer, pointer, count, count] + [pointer] * 3)
        signatures["mlp_tanh"] = (None, [size, pointer, pointer])
    for name, (result, arguments) in signatures.items():
        function = getattr(library, name)
        function.restype, function.argtypes = result, arguments


def _compile(compiler: str, source: Path, path: Path) -> str | None:
    """Compile into ``path`` (atomically: builds running at once may race); an error line, or None."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfiles.create(path)
        os.close(handle)
        done = subprocess.run([compiler, *FLAGS, "-o", temporary, str(source), "-lm"], capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            return f"{compiler} failed: {lines[0] if lines else f'exit status {done.returncode}'}"
        os.replace(temporary, path)
        return None
    except (OSError, subprocess.SubprocessError) as error:
        return f"compiling with {compiler} failed: {error}"
    finally:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)


def _cache_folder() -> Path:
    """Where compiled kernels live: $XDG_CACHE_HOME/reportgen (default ~/.cache), or the temporary folder."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "reportgen"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / f"reportgen-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
