"""The C gradient kernels: built once, reused, and replaced by torch when they cannot be had."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from reportgen import native
from reportgen.train import train_runs

from .conftest import mlp_job, polynomial_job, run_reportgen


@pytest.fixture(autouse=True)
def fresh_kernel(tmp_path, monkeypatch):
    """Each test finds (or compiles) the kernel anew, in its own cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("REPORTGEN_KERNEL", raising=False)
    native.forget()
    yield
    native.forget()


def fake_compiler(folder, compile_error: str):
    """A ``cc`` that answers --version but fails to compile with ``compile_error`` on stderr."""
    path = folder / "cc"
    path.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then echo "fake cc 1.0"; exit 0; fi\n'
                    f'echo "{compile_error}" >&2\nexit 1\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_each_kernel_is_compiled_on_first_use_into_the_cache_folder_and_reused(tmp_path):
    folder = tmp_path / "cache" / "reportgen"
    first = native.kernel("polynomial")
    assert isinstance(first, native.Kernel), first
    assert os.listdir(folder) == [f"polynomial-{first.identity}.so"]  # only what was asked for
    mlp = native.kernel("mlp")
    assert mlp.identity != first.identity
    built = {name: (folder / name).stat().st_mtime_ns for name in os.listdir(folder)}
    assert sorted(built) == [f"mlp-{mlp.identity}.so", f"polynomial-{first.identity}.so"]  # no temporaries
    native.forget()
    assert native.kernel("polynomial").identity == first.identity
    assert native.kernel("mlp").identity == mlp.identity
    assert {name: (folder / name).stat().st_mtime_ns for name in os.listdir(folder)} == built


def test_failed_compile_falls_back_to_torch_with_the_compiler_message(tmp_path, monkeypatch, lecture_data):
    job = mlp_job(lecture_data, 5, depth=2, steps=60)
    monkeypatch.setenv("REPORTGEN_KERNEL", "torch")
    with_torch = train_runs([job])[0]
    monkeypatch.delenv("REPORTGEN_KERNEL")
    monkeypatch.setenv("CC", str(fake_compiler(tmp_path, "mlp.c:1: error: no such luck")))

    found = native.kernel("mlp")
    assert isinstance(found, native.Unavailable)
    assert found.reason.endswith("failed: mlp.c:1: error: no such luck")
    assert native.backend_id("mlp") == "torch"
    described = native.describe(["mlp"])
    assert not described.native and str(described).startswith("torch (no C kernel: mlp: ")
    fallback = train_runs([job])[0]
    assert np.array_equal(fallback.losses, with_torch.losses)
    assert np.array_equal(fallback.parameters, with_torch.parameters)
    assert list((tmp_path / "cache" / "reportgen").iterdir()) == []  # the failed output was removed


def test_missing_compiler_is_named_in_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    found = native.kernel("polynomial")
    assert isinstance(found, native.Unavailable)
    assert "no-such-cc --version failed" in found.reason


def test_kernel_identity_changes_with_the_compiler(tmp_path, monkeypatch):
    real = native.kernel("mlp")
    wrapper = tmp_path / "cc"
    compiler = os.environ.get("CC") or "cc"
    wrapper.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then echo "other cc 2.0"; exit 0; fi\n'
                       f'exec {compiler} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("CC", str(wrapper))
    other = native.kernel("mlp")
    assert isinstance(real, native.Kernel) and isinstance(other, native.Kernel)
    assert other.identity != real.identity


def test_kernel_tanh_is_within_two_ulp_of_the_exact_value_and_keeps_nan_and_infinities():
    found = native.kernel("mlp")
    bits = np.arange(0, 0x7F800000, 1009, dtype=np.uint32)  # every 1009th positive finite float, denormals too
    x = np.concatenate([bits.view(np.float32), -bits.view(np.float32), [np.inf, -np.inf, np.nan]]).astype(np.float32)
    out = np.empty_like(x)
    found.library.mlp_tanh(len(x), x.ctypes.data, out.ctypes.data)
    exact = np.tanh(x[:-3].astype(np.float64)).astype(np.float32)
    ulps = np.abs(_ordered(out[:-3]) - _ordered(exact))
    assert ulps.max() <= 2
    assert np.mean(ulps == 0) > 0.9
    assert out[-3] == 1 and out[-2] == -1 and np.isnan(out[-1])


def _ordered(values: np.ndarray) -> np.ndarray:
    """Float bit patterns as integers that count ulps across zero."""
    ints = values.view(np.int32).astype(np.int64)
    return np.where(ints < 0, -(ints & 0x7FFFFFFF), ints)


def test_kernel_and_torch_fallback_agree_over_the_first_100_steps_of_mixed_chunks(monkeypatch, lecture_data):
    # Later, Adam at lr 0.01 amplifies last-bit differences (as it does for the lecture's own loop).
    jobs = [mlp_job(lecture_data, w, depth=d, seed=s, steps=100, weight_decay=wd)
            for w, d, s, wd in [(1, 1, 0, 0.0), (7, 2, 1, 1e-3), (20, 2, 2, 0.0), (3, 3, 3, 0.0)]]
    jobs += [polynomial_job(lecture_data, d, seed=s, weight_decay=wd)
             for d, s, wd in [(1, 0, 0.0), (5, 1, 1e-2), (16, 2, 0.0), (100, 3, 1e-3)]]
    with_kernel = train_runs(jobs)
    monkeypatch.setenv("REPORTGEN_KERNEL", "torch")
    with_torch = train_runs(jobs)
    for a, b in zip(with_kernel, with_torch):
        assert np.allclose(a.losses, b.losses, rtol=1e-6, atol=0)
        assert np.allclose(a.test_pred, b.test_pred, rtol=1e-5, atol=1e-6)


def test_build_without_the_kernel_says_so_and_still_writes_the_report(tmp_path, tiny_course):
    environment = {**os.environ, "CC": str(fake_compiler(tmp_path, "cc: error: broken on purpose")),
                   "XDG_CACHE_HOME": str(tmp_path / "cache")}
    environment.pop("REPORTGEN_KERNEL", None)
    result = run_reportgen("build", "capacity", "--definitions", tiny_course, "--out", tmp_path / "build",
                           "--no-cache", "--timings", env=environment)
    assert result.returncode == 0, result.stderr
    note = "note: gradients come from torch (no C kernel: "
    assert note in result.stderr and "error: broken on purpose); MLPs train several times slower" in result.stderr
    assert "gradients  torch (no C kernel: " in result.stderr
    assert (tmp_path / "build" / "report.pdf").read_bytes().startswith(b"%PDF")


def test_the_gradient_code_is_a_record_that_says_whether_the_kernels_run(monkeypatch):
    """The build's note about slow gradients reads the record's flag, not its wording; the wording is made from it."""
    found = native.kernel("polynomial")
    if isinstance(found, native.Kernel):
        described = native.describe(["polynomial"])
        assert described.native and str(described) == f"C kernel polynomial {found.identity}"
    monkeypatch.setenv("REPORTGEN_KERNEL", "torch")
    described = native.describe(["polynomial", "mlp"])
    assert not described.native
    assert described.kinds == (("mlp", "REPORTGEN_KERNEL=torch"), ("polynomial", "REPORTGEN_KERNEL=torch"))
