"""The C gradient kernel: compiled once per machine, loaded with ctypes.

Torch spends a few microseconds dispatching each tensor operation, and a
training step of a small MLP or polynomial needs a dozen or more of them:
training such models is mostly overhead. ``kernel.c`` computes the forward
pass, the loss and the gradient of a whole chunk of runs in one call; Adam
stays torch's.

The kernel is compiled with the system C compiler into the user's cache
folder (about 0.3 s, once per kernel version). Without a compiler, or with
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

SOURCE = Path(__file__).with_name("kernel.c")
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


def kernel() -> Kernel | Unavailable:
    """The compiled kernel, building it on first use; or why it cannot be had."""
    if os.environ.get("REPORTGEN_KERNEL", "c") == "torch":
        return Unavailable("REPORTGEN_KERNEL=torch")
    return _load(os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or "")


def backend_id() -> str:
    """What computes gradients here, for cache keys: ``c <hash of source, flags and compiler>`` or ``torch``."""
    found = kernel()
    return f"c {found.identity}" if isinstance(found, Kernel) else "torch"


def describe() -> str:
    """One line for build logs: which gradient code runs, and why when it is the slow one."""
    found = kernel()
    if isinstance(found, Kernel):
        return f"C kernel {found.identity}"
    return f"torch (no C kernel: {found.reason})"


def forget() -> None:
    """Drop the loaded kernel, so that the next ``kernel()`` finds (or compiles) it again, as a new process would."""
    _load.cache_clear()


@lru_cache(maxsize=None)
def _load(compiler: str) -> Kernel | Unavailable:
    if not compiler:
        return Unavailable("no C compiler found; set CC or install gcc")
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30,
                                 check=True).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError) as error:
        return Unavailable(f"{compiler} --version failed: {error}")
    digest = hashlib.sha256()
    for part in (SOURCE.read_bytes(), " ".join(FLAGS).encode(), version.encode(), platform.machine().encode()):
        digest.update(part + b"\0")
    identity = digest.hexdigest()[:16]
    path = _cache_folder() / f"kernel-{identity}.so"
    if not path.exists():
        failure = _compile(compiler, path)
        if failure:
            return Unavailable(failure)
    try:
        library = ctypes.CDLL(str(path))
    except OSError as error:
        return Unavailable(f"could not load {path.name}: {error}")
    pointer, count = ctypes.c_void_p, ctypes.c_int
    library.mlp_gradients.argtypes = [count, pointer, pointer, pointer, count, count,
                                      pointer, pointer, pointer, pointer, pointer]
    library.mlp_predict.argtypes = [count, pointer, pointer, pointer, count, count, pointer, pointer, pointer]
    library.mlp_gradients.restype = library.mlp_predict.restype = ctypes.c_int
    library.poly_gradients.argtypes = [count, pointer, pointer, count, count, pointer, pointer, pointer, pointer,
                                       pointer, pointer]
    library.poly_gradients.restype = ctypes.c_int
    library.poly_predict.argtypes = [count, pointer, pointer, count, pointer, pointer, pointer]
    library.poly_predict.restype = None
    number = ctypes.c_float
    library.adam_moments.argtypes = [count, ctypes.c_long, pointer, pointer, pointer, pointer, pointer,
                                     number, number, number]
    library.adam_moments.restype = library.adam_available.restype = ctypes.c_int
    library.adam_available.argtypes = [count]
    library.adam_update.argtypes = [ctypes.c_long, pointer, pointer, pointer, number, number, number]
    library.adam_update.restype = None
    library.mlp_tanh.argtypes = [ctypes.c_long, pointer, pointer]
    library.mlp_tanh.restype = None
    return Kernel(library, identity)


def _compile(compiler: str, path: Path) -> str | None:
    """Compile into ``path`` (atomically: builds running at once may race); an error line, or None."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".kernel-", suffix=".so")
        os.close(handle)
        done = subprocess.run([compiler, *FLAGS, "-o", temporary, str(SOURCE), "-lm"], capture_output=True,
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
