"""SGEMM: forgegrad's hand-written kernel against numpy's BLAS, GFLOP/s side by side.

    python bench/gemm.py [--device cpu|cuda] [--repeat 7] [--json out.json]

Each shape and transpose form is timed for both libraries in the same process, in
alternating rounds, taking the best of --repeat rounds (this machine is shared: the best
round is the least disturbed). The ratio forgegrad / numpy is the figure that counts.
numpy's OpenBLAS runs the kernel it picks for this CPU (the table's first line names it).
With --device cuda the yardstick is cuBLAS through CuPy, on the GPU's square and MLP shapes.
"""
import json
import os
import platform

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
SHAPES = {"cpu": [(1024, 1024, 1024), (2048, 2048, 2048), (256, 256, 784), (64, 256, 784)],
          "cuda": [(4096, 4096, 4096), (2048, 2048, 2048), (1024, 1024, 1024), (256, 256, 784),
                   (64, 256, 784), (1024, 256, 784)]}
FORMS = ["NN", "NT", "TN"]


def yardstick(device):
    """(name, module with asarray/asnumpy, the product of two of its arrays, sync): numpy's
    BLAS on the CPU, cuBLAS through CuPy on a GPU."""
    if device == "cpu":
        return (f"numpy {np.__version__} ({openblas_kernel()})", np, np.asarray,
                lambda: None)
    import cupy
    return (f"cupy {cupy.__version__} (cuBLAS)", cupy, cupy.asnumpy, gpu_sync)


def main():
    args = parse_args(__doc__, repeat=9, devices=("cpu", "cuda"))
    rng = np.random.default_rng(0)
    name, xp, to_host, sync = yardstick(args.device)
    settle = 0.2 if args.device == "cpu" else 0.0  # only CPU thread pools need to settle
    rows = []
    print(f"forgegrad {fg.__version__} on {args.device} (isa={_C.get_isa()}, "
          f"threads={fg.get_num_threads()}), against {name}, "
          f"{platform.processor() or platform.machine()}")
    label = name.split()[0]
    print(f"{'M':>5} {'N':>5} {'K':>5} {'form':>4} {'forgegrad':>10} {label:>10} {'ratio':>6}")
    for M, N, K in SHAPES[args.device]:
        for form in FORMS:
            a, b = gemm_operands(M, N, K, form, rng)
            ta, tb = form[0] == "T", form[1] == "T"
            fa, fb = fg.tensor(a, device=args.device), fg.tensor(b, device=args.device)
            xa, xb = xp.asarray(a), xp.asarray(b)
            xa, xb = (xa.T if ta else xa), (xb.T if tb else xb)  # views: BLAS gets the flags
            ours_out = _C.gemm(fa, fb, trans_a=ta, trans_b=tb).cpu().numpy()
            error = np.abs(ours_out - to_host(xa @ xb)).max()
            assert error < 1e-3 * np.sqrt(K), f"{form} {M}x{N}x{K}: max error {error}"
            flops = 2.0 * M * N * K
            ours_s, theirs_s = best_seconds_interleaved(
                [lambda: _C.gemm(fa, fb, trans_a=ta, trans_b=tb), lambda: xa @ xb],
                args.repeat, settle=settle, sync=sync)
            ours, theirs = flops / ours_s / 1e9, flops / theirs_s / 1e9
            rows.append({"M": M, "N": N, "K": K, "form": form, "forgegrad_gflops": ours,
                         "yardstick_gflops": theirs, "ratio": ours / theirs})
            print(f"{M:5d} {N:5d} {K:5d} {form:>4} {ours:10.1f} {theirs:10.1f} "
                  f"{ours / theirs:6.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"bench": "gemm", "device": args.device, "isa": _C.get_isa(),
                       "threads": fg.get_num_threads(), "yardstick": name, "rows": rows}, f,
                      indent=2)


if __name__ == "__main__":
    main()
