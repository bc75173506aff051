"""The threads of the CPU kernels' parallel regions: OpenMP's, or in a build without OpenMP
(FORGEGRAD_OPENMP=OFF, Apple clang) forgegrad's std::thread pool (csrc/cpu/thread_pool.h).
tests/cpu_threads/parallel_check.cpp checks csrc/cpu/parallel.h built both ways, whichever
this module was built with, so the pool is checked on every run of the suite."""

import os
import pathlib
import shutil
import subprocess

import pytest

import forgegrad as fg
from forgegrad import _C

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMPILER = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")


@pytest.mark.skipif(COMPILER is None, reason="no C++ compiler (CXX, g++ or c++) on the PATH")
@pytest.mark.parametrize("backend", ["openmp", "std::thread"])
def test_parallel_regions(backend, tmp_path):
    binary = tmp_path / "parallel_check"
    flags = ["-fopenmp"] if backend == "openmp" else []
    build = subprocess.run(
        [
            COMPILER,
            "-std=c++17",
            "-O1",
            *flags,
            "-pthread",
            f"-I{ROOT / 'csrc'}",
            str(ROOT / "tests/cpu_threads/parallel_check.cpp"),
            "-o",
            str(binary),
        ],
        capture_output=True,
        text=True,
    )
    if backend == "openmp" and build.returncode != 0 and "openmp" in build.stderr.lower():
        pytest.skip(f"{COMPILER} has no OpenMP")
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    lines = run.stdout.splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    assert lines[0] == f"threading {backend}"
    assert lines[-1].startswith("0 of "), run.stdout


def test_info_names_the_threading_backend():
    assert fg.info()["threading_backend"] == _C.threading_backend()
    assert _C.threading_backend() in ("openmp", "std::thread")


def test_kernels_run_on_the_threads_asked_for(restore_threads):
    for count in (1, 2, 3):
        fg.set_num_threads(count)
        assert _C._parallel_region_threads() == count
