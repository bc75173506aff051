"""The CUDA SGEMM kernels checked without a GPU: tests/cuda_emulation compiles
csrc/cuda/gemm_kernel.cuh for the host, runs each block's 256 threads as host threads with
__syncthreads as a barrier, and compares the products with float64 (every tile, transpose,
edge size, split of K, batch and epilogue; see gemm_emulation.cpp). This checks the kernels'
indexing, bounds and barriers, not the GPU's speed or its compiler."""
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMPILER = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")


@pytest.mark.skipif(COMPILER is None, reason="no C++ compiler (CXX, g++ or c++) on the PATH")
def test_cuda_gemm_kernels_on_emulated_threads(tmp_path):
    binary = tmp_path / "gemm_emulation"
    build = subprocess.run([COMPILER, "-std=c++20", "-O1", "-pthread", "-Wno-unknown-pragmas",
                            f"-I{ROOT / 'csrc'}", f"-I{ROOT / 'tests' / 'cuda_emulation'}",
                            str(ROOT / "tests" / "cuda_emulation" / "gemm_emulation.cpp"),
                            "-o", str(binary)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith("0 of "), run.stdout
