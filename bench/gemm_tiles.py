"""SGEMM tiles on the GPU: the kernel of csrc/cuda/gemm_kernel.cuh with each tile of
bench/gemm_tiles.h, against cuBLAS through CuPy, GFLOP/s side by side.

    python bench/gemm_tiles.py [--arch 90] [--repeat 5] [--json out.json]

Which tile gemm.cu should take for large products is a question for the GPU, and a lent
GPU comes for minutes: this script answers it in one run. It compiles bench/gemm_tiles.cu
with nvcc into a library of every tile, loads it with ctypes, and for each shape and form
checks every tile against cuBLAS (output poisoned with NaN first; relative error under
1e-5, on the host) and times them, cuBLAS among them, in alternating rounds with CUDA
events, the best round counting. The registers, local memory (spills) and blocks a
multiprocessor that the compiler gave each kernel come from the CUDA runtime. A tile that
fails its check is reported and left out of that shape's timing, and the script goes on
(exit status 1 at the end); the JSON is rewritten after every shape.
"""

import argparse
import ctypes
import json
import os
import pathlib
import shutil
import subprocess
import sys

import cupy
import numpy as np

from timing import gemm_operands

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHAPES = [
    (4096, 4096, 4096, "NN"),
    (4096, 4096, 4096, "NT"),
    (4096, 4096, 4096, "TN"),
    (2048, 2048, 2048, "NN"),
    (8192, 1024, 1024, "NN"),
]


def nvcc():
    """The CUDA compiler, where CMake would find it too."""
    cuda_path = os.environ.get("CUDA_PATH", "/usr/local/cuda")
    return (
        os.environ.get("CUDACXX") or shutil.which("nvcc") or os.path.join(cuda_path, "bin", "nvcc")
    )


def build(arch):
    """Compiles the tiles' library for sm_<arch>; returns it loaded."""
    out = ROOT / "build" / "gemm_tiles" / f"libgemm_tiles_sm{arch}.so"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            nvcc(),
            "-O3",
            "-std=c++17",
            "-shared",
            "-Xcompiler",
            "-fPIC",
            f"-arch=sm_{arch}",
            f"-I{ROOT / 'csrc'}",
            f"-I{ROOT}",
            str(ROOT / "bench" / "gemm_tiles.cu"),
            "-o",
            str(out),
        ],
        check=True,
    )
    library = ctypes.CDLL(str(out))
    library.fg_tile_name.restype = ctypes.c_char_p
    library.fg_tile_gemm.argtypes = (
        [ctypes.c_int] * 3 + [ctypes.c_void_p] * 3 + [ctypes.c_int64] * 3
    )
    library.fg_tile_attributes.argtypes = [ctypes.c_int] * 3 + [ctypes.POINTER(ctypes.c_int)] * 3
    return library


def relative_error(got, expected):
    """‖got − expected‖ / ‖expected‖ in float64 on the host, for a GPU array `got` and a
    host array `expected` (NaN if anything is NaN)."""
    got = cupy.asnumpy(got).astype(np.float64)
    return float(np.linalg.norm(got - expected) / np.linalg.norm(expected))


def check(code, what):
    if code != 0:
        raise RuntimeError(f"{what}: cudaError_t {code}")


def attributes(library, tile, ta, tb):
    """(registers, local bytes, blocks per multiprocessor) of a tile's kernel."""
    values = [ctypes.c_int() for _ in range(3)]
    check(
        library.fg_tile_attributes(tile, ta, tb, *[ctypes.byref(v) for v in values]),
        "cudaFuncGetAttributes",
    )
    return tuple(v.value for v in values)


def best_ms(fns, repeat, min_ms=20.0):
    """Best per-call milliseconds of each fn over `repeat` alternating rounds, each round
    timing enough calls to last about min_ms, with CUDA events on the default stream."""
    start, end = cupy.cuda.Event(), cupy.cuda.Event()

    def timed(fn, calls):
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        end.synchronize()
        return cupy.cuda.get_elapsed_time(start, end) / calls

    counts = []
    for fn in fns:
        fn()  # warm-up: module load, cuBLAS's handle and workspace
        counts.append(max(1, int(min_ms / max(timed(fn, 1), 1e-3))))
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, (fn, calls) in enumerate(zip(fns, counts)):
            best[i] = min(best[i], timed(fn, calls))
    return best


def main():
    properties = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    gpu = properties["name"]
    gpu = gpu.decode() if isinstance(gpu, bytes) else gpu
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default=f"{properties['major']}{properties['minor']}")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="write the table here as JSON")
    args = parser.parse_args()
    library = build(args.arch)
    tiles = [library.fg_tile_name(i).decode() for i in range(library.fg_tile_count())]
    print(
        f"SGEMM tiles on {gpu} (sm_{args.arch}) against cupy {cupy.__version__} (cuBLAS), "
        f"GFLOP/s, best of {args.repeat} rounds; the first tile is gemm.cu's for large "
        f"products"
    )
    print(
        f"{'M':>5} {'N':>5} {'K':>5} {'form':>4} {'tile':>14} {'regs':>4} {'local':>5} "
        f"{'blk/SM':>6} {'GFLOP/s':>8} {'cuBLAS':>8} {'ratio':>6}"
    )
    rng = np.random.default_rng(0)
    rows, failures = [], 0
    for M, N, K, form in SHAPES:
        ta, tb = form[0] == "T", form[1] == "T"
        a, b = (cupy.asarray(x) for x in gemm_operands(M, N, K, form, rng))
        op_a, op_b = (a.T if ta else a), (b.T if tb else b)
        reference = cupy.asnumpy(op_a @ op_b).astype(np.float64)
        c = cupy.empty((M, N), dtype=cupy.float32)

        def ours(tile):
            return lambda: check(
                library.fg_tile_gemm(tile, ta, tb, c.data.ptr, a.data.ptr, b.data.ptr, M, N, K),
                tiles[tile],
            )

        passed = []
        for tile in range(len(tiles)):
            cupy.cuda.runtime.memset(c.data.ptr, 0xFF, c.nbytes)  # all NaN
            ours(tile)()
            error = relative_error(c, reference)
            if error < 1e-5:  # False for NaN too
                passed.append(tile)
                continue
            failures += 1
            print(f"FAIL tile {tiles[tile]} {form} {M}x{N}x{K}: relative error {error}")
            rows.append({"M": M, "N": N, "K": K, "form": form, "tile": tiles[tile], "error": error})
        fns = [ours(tile) for tile in passed]
        fns.append(lambda: cupy.matmul(op_a, op_b, out=c))
        times = best_ms(fns, args.repeat)
        flops = 2.0 * M * N * K
        theirs = flops / times[-1] / 1e6
        for tile, ms in zip(passed, times[:-1]):
            registers, local, blocks = attributes(library, tile, ta, tb)
            gflops = flops / ms / 1e6
            rows.append(
                {
                    "M": M,
                    "N": N,
                    "K": K,
                    "form": form,
                    "tile": tiles[tile],
                    "registers": registers,
                    "local_bytes": local,
                    "blocks_per_sm": blocks,
                    "gflops": gflops,
                    "cublas_gflops": theirs,
                    "ratio": gflops / theirs,
                }
            )
            print(
                f"{M:5d} {N:5d} {K:5d} {form:>4} {tiles[tile]:>14} {registers:4d} "
                f"{local:5d} {blocks:6d} {gflops:8.0f} {theirs:8.0f} {gflops / theirs:6.2f}"
            )
        if args.json:
            with open(args.json, "w") as f:
                json.dump(
                    {
                        "bench": "gemm_tiles",
                        "gpu": gpu,
                        "arch": args.arch,
                        "yardstick": f"cupy {cupy.__version__} (cuBLAS)",
                        "rows": rows,
                    },
                    f,
                    indent=2,
                )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
