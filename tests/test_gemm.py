"""The GEMM in float64 and _C.gemm's dtype checks.

forgegrad has no float64 tensors yet, so the double GEMM (cpu::gemm's double overload: the
packing driver of csrc/cpu/gemm.cpp with each double micro-kernel) is checked by
tests/cpu_gemm/gemm_double_check.cpp, built here with the kernels' own instruction-set flags
and run once for each micro-kernel ISA this CPU has (FORGEGRAD_ISA picks it), against a long
double product. The CUDA double kernel is checked emulated by tests/test_cuda_emulation.py."""

import os
import pathlib
import platform
import shutil
import subprocess

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import _C

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMPILER = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
ISAS = ["scalar", "avx2", "avx512"]
# The sources of the CPU GEMM, each with the instruction-set flags CMakeLists.txt gives it
# (the x86-64 micro-kernels on x86-64 only), and the module's threads.
GEMM_SOURCES = {
    "csrc/cpu/gemm.cpp": [],
    "csrc/core/cpu_features.cpp": [],
    "tests/cpu_gemm/gemm_double_check.cpp": [],
}
if platform.machine().lower() in ("x86_64", "amd64"):
    GEMM_SOURCES.update(
        {
            "csrc/cpu/gemm_avx2.cpp": ["-mavx2", "-mfma"],
            "csrc/cpu/gemm_avx512.cpp": [
                "-mavx512f",
                "-mavx512bw",
                "-mavx512dq",
                "-mavx512vl",
                "-mfma",
            ],
        }
    )
THREAD_FLAGS = ["-fopenmp"] if _C.threading_backend() == "openmp" else []


@pytest.fixture(scope="module")
def double_gemm_check(tmp_path_factory):
    if COMPILER is None:
        pytest.skip("no C++ compiler (CXX, g++ or c++) on the PATH")
    build = tmp_path_factory.mktemp("gemm_double_check")
    objects = []
    for source, flags in GEMM_SOURCES.items():
        obj = build / (pathlib.Path(source).stem + ".o")
        done = subprocess.run(
            [
                COMPILER,
                "-std=c++20",
                "-O2",
                *THREAD_FLAGS,
                "-c",
                *flags,
                f"-I{ROOT / 'csrc'}",
                f"-I{ROOT}",
                str(ROOT / source),
                "-o",
                str(obj),
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        objects.append(str(obj))
    binary = build / "gemm_double_check"
    done = subprocess.run(
        [COMPILER, *THREAD_FLAGS, "-pthread", *objects, "-o", str(binary)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return binary


@pytest.mark.parametrize("isa", ISAS)
def test_double_gemm_every_isa(isa, double_gemm_check):
    best = _C.detected_isa()
    if ISAS.index(isa) > ISAS.index(best):
        pytest.skip(f"this CPU lacks {isa} (detected_isa() = {best!r})")
    # Two threads, so that the large products are split among threads.
    run = subprocess.run(
        [str(double_gemm_check)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "FORGEGRAD_ISA": isa, "OMP_NUM_THREADS": "2"},
    )
    lines = run.stdout.splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    assert lines[0] == f"isa {isa}", lines[0]
    assert lines[-1].startswith("0 of "), run.stdout


def _float32(shape):
    return fg.tensor(np.ones(shape, np.float32))


@pytest.mark.parametrize("role", ["a", "b", "bias", "out"])
def test_gemm_operands_of_another_dtype(role):
    a, b = _float32((3, 4)), _float32((4, 5))
    kwargs = {}
    other = fg.tensor(
        np.ones({"a": (3, 4), "b": (4, 5), "bias": (5,), "out": (3, 5)}[role], np.int64)
    )
    if role in ("a", "b"):
        a, b = (other, b) if role == "a" else (a, other)
    else:
        kwargs[role] = other
    with pytest.raises(TypeError, match=rf"\[gemm\] expected {role} .*got int64"):
        _C.gemm(a, b, **kwargs)


def test_gemm_out_keeps_float32():
    out = _C.gemm(_float32((3, 4)), _float32((4, 5)))
    assert out.dtype == fg.float32
    np.testing.assert_array_equal(out.numpy(), np.full((3, 5), 4.0, np.float32))
