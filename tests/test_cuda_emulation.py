"""The CUDA kernels checked without a GPU: tests/cuda_emulation compiles them for the host
(its cuda_runtime.h stands in for CUDA's), runs each block's threads as fibers on one host
thread, with __syncthreads a barrier and __shfl_xor_sync an exchange within a warp, and compares the
results with float64 references and with the CPU kernels. gemm_emulation.cpp covers the
SGEMM kernels (every tile, transpose, edge size, split of K, batch and epilogue);
kernels_emulation.cpp every other kernel of the catalogue, against its CPU version, and the
reductions, softmax, cross-entropy and Adam against float64. This checks the kernels'
indexing, bounds, barriers and math, not the GPU's speed or its compiler."""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EMULATION = ROOT / "tests" / "cuda_emulation"
COMPILER = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
# The CPU kernels that kernels_emulation.cpp compares with (all but the GEMM's).
CPU_KERNELS = [
    "elementwise",
    "cast",
    "activation",
    "random",
    "layout",
    "loss",
    "softmax",
    "reduce",
    "optim",
    "im2col",
    "pool",
    "norm",
    "depthwise",
    "interpolate",
    "conv",
    "attention",
    "rnn",
]


@pytest.mark.skipif(COMPILER is None, reason="no C++ compiler (CXX, g++ or c++) on the PATH")
@pytest.mark.parametrize("driver", ["gemm_emulation.cpp", "kernels_emulation.cpp"])
def test_cuda_kernels_on_emulated_threads(driver, tmp_path):
    sources = [str(EMULATION / driver)]
    if driver == "kernels_emulation.cpp":
        sources += [str(ROOT / "csrc" / "cpu" / f"{name}.cpp") for name in CPU_KERNELS]
    binary = tmp_path / "emulation"
    build = subprocess.run(
        [
            COMPILER,
            "-std=c++20",
            "-O1",
            "-fopenmp",
            "-pthread",
            "-Wno-unknown-pragmas",
            f"-I{ROOT / 'csrc'}",
            f"-I{ROOT}",
            f"-I{EMULATION}",
            *sources,
            "-o",
            str(binary),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    # One OpenMP thread for the CPU side: the emulated GPU threads are many already.
    run = subprocess.run(
        [str(binary)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith("0 of "), run.stdout
