"""The CUDA kernels checked without a GPU: tests/cuda_emulation compiles them for the host
(its cuda_runtime.h stands in for CUDA's), runs each block's threads as host threads, with
__syncthreads a barrier and __shfl_xor_sync an exchange within a warp, and compares the
results with float64 references. gemm_emulation.cpp covers the SGEMM kernels (every tile,
transpose, edge size, split of K, batch and epilogue); lines_emulation.cpp the reductions,
softmax, cross-entropy and the multi-tensor Adam step. This checks the kernels' indexing,
bounds and barriers, not the GPU's speed or its compiler."""
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EMULATION = ROOT / "tests" / "cuda_emulation"
COMPILER = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")


@pytest.mark.skipif(COMPILER is None, reason="no C++ compiler (CXX, g++ or c++) on the PATH")
@pytest.mark.parametrize("driver", ["gemm_emulation.cpp", "lines_emulation.cpp"])
def test_cuda_kernels_on_emulated_threads(driver, tmp_path):
    binary = tmp_path / "emulation"
    build = subprocess.run([COMPILER, "-std=c++20", "-O1", "-pthread", "-Wno-unknown-pragmas",
                            f"-I{ROOT / 'csrc'}", f"-I{EMULATION}", str(EMULATION / driver),
                            "-o", str(binary)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith("0 of "), run.stdout
