"""GEMM: forgegrad's hand-written kernel against numpy's BLAS, GFLOP/s side by side, in
float32 and (on the CPU) float64.

    python bench/gemm.py [--device cpu|cuda] [--repeat 7] [--json out.json]

Each shape and transpose form is timed for both libraries in the same process, in
alternating rounds, taking the best of --repeat rounds (this machine is shared: the best
round is the least disturbed). The ratio forgegrad / numpy is the figure that counts.
numpy's OpenBLAS runs the kernel it picks for this CPU (the table's first line names it).
With --device cuda the yardstick is cuBLAS through CuPy, on the GPU's square and MLP shapes
(float32 only).

The float64 rows time cpu::gemm's double overload through a ctypes library built here from
the GEMM's sources (bench/gemm_double.cpp; needs g++), as forgegrad has no float64 tensors yet
to reach it through _C.gemm.
"""

import ctypes
import json
import os
import pathlib
import platform
import shutil
import subprocess
import tempfile

# numpy's OpenBLAS is the yardstick, so let it pick its own kernel for this CPU: some
# machines here set OPENBLAS_CORETYPE=Haswell (and OPENBLAS_L2_SIZE) for old OpenBLAS builds,
# which holds a current one to AVX2 on AVX-512 CPUs. Every result is checked below.
for variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(variable, None)

import numpy as np  # noqa: E402  (after the environment is set: OpenBLAS reads it on load)

import forgegrad as fg  # noqa: E402
from forgegrad import _C  # noqa: E402

from timing import best_seconds_interleaved, gemm_operands, gpu_sync, parse_args  # noqa: E402


def openblas_kernel():
    """The kernel family numpy's OpenBLAS runs (threadpoolctl, when installed)."""
    try:
        import threadpoolctl
    except ImportError:
        return "unknown kernel"
    for pool in threadpoolctl.threadpool_info():
        if pool.get("internal_api") == "openblas":
            return f"OpenBLAS {pool.get('version')} {pool.get('architecture')}"
    return "no OpenBLAS"


# (M, N, K): the squares, and the shapes an MLP 784-256-... trains with.
SHAPES = {
    "cpu": [(1024, 1024, 1024), (2048, 2048, 2048), (256, 256, 784), (64, 256, 784)],
    "cuda": [
        (4096, 4096, 4096),
        (2048, 2048, 2048),
        (1024, 1024, 1024),
        (256, 256, 784),
        (64, 256, 784),
        (1024, 256, 784),
    ],
}
FORMS = ["NN", "NT", "TN"]
ROOT = pathlib.Path(__file__).resolve().parent.parent
# The sources of the CPU GEMM, each with the instruction-set flags CMakeLists.txt gives it
# (the x86-64 micro-kernels on x86-64 only), and the module's threads.
DOUBLE_GEMM_SOURCES = {
    "csrc/cpu/gemm.cpp": [],
    "csrc/core/cpu_features.cpp": [],
    "bench/gemm_double.cpp": [],
}
if platform.machine().lower() in ("x86_64", "amd64"):
    DOUBLE_GEMM_SOURCES.update(
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
THREAD_FLAGS = ["-fopenmp"] if _C.threading_backend() == "openmp" else ["-pthread"]


def double_gemm():
    """cpu::gemm in double as f(a, b, trans_a, trans_b) -> C, on float64 numpy arrays stored
    as the flags say (built with -O3, as the extension is)."""
    compiler = os.environ.get("CXX") or shutil.which("g++")
    build = pathlib.Path(tempfile.mkdtemp(prefix="fg_gemm_double_"))
    objects = []
    for source, flags in DOUBLE_GEMM_SOURCES.items():
        obj = build / (pathlib.Path(source).stem + ".o")
        subprocess.run(
            [
                compiler,
                "-std=c++20",
                "-O3",
                "-fPIC",
                *THREAD_FLAGS,
                "-c",
                *flags,
                f"-I{ROOT / 'csrc'}",
                str(ROOT / source),
                "-o",
                str(obj),
            ],
            check=True,
        )
        objects.append(str(obj))
    library = build / "libgemm_double.so"
    subprocess.run([compiler, "-shared", *THREAD_FLAGS, *objects, "-o", str(library)], check=True)
    gemm = ctypes.CDLL(str(library)).fg_gemm_double
    pointer = ctypes.POINTER(ctypes.c_double)
    gemm.argtypes = [
        pointer,
        pointer,
        pointer,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int64,
        ctypes.c_int64,
        ctypes.c_int64,
    ]
    gemm.restype = None

    def multiply(a, b, trans_a, trans_b):
        M, K = (a.shape[1], a.shape[0]) if trans_a else a.shape
        N = b.shape[0] if trans_b else b.shape[1]
        c = np.empty((M, N))
        gemm(*(x.ctypes.data_as(pointer) for x in (c, a, b)), trans_a, trans_b, M, N, K)
        return c

    return multiply


def yardstick(device):
    """(name, module with asarray/asnumpy, the product of two of its arrays, sync): numpy's
    BLAS on the CPU, cuBLAS through CuPy on a GPU."""
    if device == "cpu":
        return (f"numpy {np.__version__} ({openblas_kernel()})", np, np.asarray, lambda: None)
    import cupy

    return (f"cupy {cupy.__version__} (cuBLAS)", cupy, cupy.asnumpy, gpu_sync)


def main():
    args = parse_args(__doc__, repeat=9, devices=("cpu", "cuda"))
    rng = np.random.default_rng(0)
    name, xp, to_host, sync = yardstick(args.device)
    settle = 0.2 if args.device == "cpu" else 0.0  # only CPU thread pools need to settle
    rows = []
    print(
        f"forgegrad {fg.__version__} on {args.device} (isa={_C.get_isa()}, "
        f"threads={fg.get_num_threads()}), against {name}, "
        f"{platform.processor() or platform.machine()}"
    )
    label = name.split()[0]
    print(
        f"{'dtype':>7} {'M':>5} {'N':>5} {'K':>5} {'form':>4} {'forgegrad':>10} {label:>10} "
        f"{'ratio':>6}"
    )
    # float32 through _C.gemm, then (CPU) float64 through the ctypes library.
    gemm64 = double_gemm() if args.device == "cpu" else None
    for dtype in ["float32"] + (["float64"] if gemm64 else []):
        for M, N, K in SHAPES[args.device]:
            for form in FORMS:
                a, b = gemm_operands(M, N, K, form, rng)
                ta, tb = form[0] == "T", form[1] == "T"
                if dtype == "float32":
                    fa, fb = fg.tensor(a, device=args.device), fg.tensor(b, device=args.device)
                    ours_fn = lambda: _C.gemm(fa, fb, trans_a=ta, trans_b=tb)  # noqa: E731
                    tolerance = 1e-3 * np.sqrt(K)
                else:
                    a, b = a.astype(np.float64), b.astype(np.float64)
                    ours_fn = lambda: gemm64(a, b, ta, tb)  # noqa: E731
                    tolerance = 1e-11 * np.sqrt(K)
                xa, xb = xp.asarray(a), xp.asarray(b)
                xa, xb = (xa.T if ta else xa), (xb.T if tb else xb)  # views: BLAS gets the flags
                ours_out = ours_fn()
                ours_out = ours_out if dtype == "float64" else ours_out.cpu().numpy()
                error = np.abs(ours_out - to_host(xa @ xb)).max()
                assert error < tolerance, f"{dtype} {form} {M}x{N}x{K}: max error {error}"
                flops = 2.0 * M * N * K
                ours_s, theirs_s = best_seconds_interleaved(
                    [ours_fn, lambda: xa @ xb], args.repeat, settle=settle, sync=sync
                )
                ours, theirs = flops / ours_s / 1e9, flops / theirs_s / 1e9
                rows.append(
                    {
                        "dtype": dtype,
                        "M": M,
                        "N": N,
                        "K": K,
                        "form": form,
                        "forgegrad_gflops": ours,
                        "yardstick_gflops": theirs,
                        "ratio": ours / theirs,
                    }
                )
                print(
                    f"{dtype:>7} {M:5d} {N:5d} {K:5d} {form:>4} {ours:10.1f} {theirs:10.1f} "
                    f"{ours / theirs:6.2f}"
                )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "bench": "gemm",
                    "device": args.device,
                    "isa": _C.get_isa(),
                    "threads": fg.get_num_threads(),
                    "yardstick": name,
                    "rows": rows,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
