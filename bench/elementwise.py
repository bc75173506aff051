"""Elementwise kernels: GB/s of forgegrad's elementwise, activation, reduction and scan ops
on large tensors, against a plain copy of the same bytes (the memory-bandwidth ceiling).

    python bench/elementwise.py [--device cpu|cuda] [--repeat 7] [--json out.json]

Bytes moved counts each input read once and each output written once (for a composed op,
such as pow of |x| or clamp between -|y| and |y|, each of its kernels' reads and writes).
The copy is numpy's
on the CPU and a device-to-device copy through CuPy on a GPU; the fraction of it that an op
reaches is the figure that counts (it says how far from the ceiling the kernel runs).
"""

import json
import platform

import numpy as np

import forgegrad as fg
import forgegrad.nn.functional as F

from timing import best_seconds_interleaved, gpu_sync, parse_args

SIZE = {"cpu": 1 << 24, "cuda": 1 << 28}  # floats: 64 MiB past the CPU's caches, 1 GiB


def ops(x, y):
    """name -> (call, floats moved per element)."""
    return {
        "add": (lambda: x + y, 3),
        "mul": (lambda: x * y, 3),
        "add (broadcast row)": (lambda: x + y[0], 2),
        "relu": (lambda: F.relu(x), 2),
        "exp": (lambda: x.exp(), 2),
        "gelu (tanh)": (lambda: F.gelu(x, approximate="tanh"), 2),
        "sum (all)": (lambda: x.sum(), 1),
        "sum (dim 0)": (lambda: x.sum(0), 1),
        "softmax (dim 1)": (lambda: F.softmax(x, 1), 2),
        # issue 14's additions: binary math, activations, reductions and scans
        "remainder": (lambda: x % y, 3),
        "maximum": (lambda: fg.maximum(x, y), 3),
        "atan2": (lambda: fg.atan2(x, y), 3),
        "pow (tensor exponent)": (lambda: x.abs() ** y, 5),
        "clamp (tensor bounds)": (lambda: fg.clamp(x, -y.abs(), y.abs()), 8),
        "sin": (lambda: x.sin(), 2),
        "softplus": (lambda: F.softplus(x), 2),
        "elu": (lambda: F.elu(x), 2),
        "mish": (lambda: F.mish(x), 2),
        "hardswish": (lambda: F.hardswish(x), 2),
        "amax (dim 1)": (lambda: x.amax(1), 1),
        "prod (dim 1)": (lambda: x.prod(1), 1),
        "var (dim 1)": (lambda: x.var(1), 2),
        "logsumexp (dim 1)": (lambda: x.logsumexp(1), 2),
        "cumsum (dim 1)": (lambda: x.cumsum(1), 2),
        "cumsum (dim 0)": (lambda: x.cumsum(0), 2),
        "lgamma": (lambda: x.lgamma(), 2),
        "digamma": (lambda: x.digamma(), 2),
        "erfinv": (lambda: (x * 0.5).erfinv(), 4),
        "nan_to_num": (lambda: x.nan_to_num(), 2),
    }


def copy_call(device, n):
    """A copy of n float32 numbers, and the sync it needs."""
    if device == "cpu":
        src, dst = np.ones(n, np.float32), np.empty(n, np.float32)
        return (lambda: np.copyto(dst, src)), (lambda: None)
    import cupy

    src, dst = cupy.ones(n, cupy.float32), cupy.empty(n, cupy.float32)
    return (lambda: dst.__setitem__(slice(None), src)), gpu_sync


def main():
    args = parse_args(__doc__, repeat=7, devices=("cpu", "cuda"))
    gpu = args.device == "cuda"
    n = SIZE[args.device]
    rng = np.random.default_rng(0)
    rows_count = 1024
    x = fg.tensor(
        rng.standard_normal((rows_count, n // rows_count), dtype=np.float32), device=args.device
    )
    y = fg.tensor(
        rng.standard_normal((rows_count, n // rows_count), dtype=np.float32), device=args.device
    )
    copy, sync = copy_call(args.device, n)
    print(
        f"forgegrad {fg.__version__} on {args.device} (threads={fg.get_num_threads()}, "
        f"simd_clone={fg.info()['simd_clone']}), {n:,} floats, "
        f"{platform.processor() or platform.machine()}"
    )
    print(f"{'op':>20} {'forgegrad GB/s':>14} {'copy GB/s':>10} {'of copy':>8}")
    rows = []
    for name, (call, floats) in ops(x, y).items():
        ours, copied = best_seconds_interleaved(
            [call, copy], args.repeat, settle=0.0 if gpu else 0.2, sync=sync
        )
        ours_gbs = floats * 4 * n / ours / 1e9
        copy_gbs = 2 * 4 * n / copied / 1e9
        rows.append(
            {
                "op": name,
                "forgegrad_gbs": ours_gbs,
                "copy_gbs": copy_gbs,
                "fraction": ours_gbs / copy_gbs,
            }
        )
        print(f"{name:>20} {ours_gbs:14.1f} {copy_gbs:10.1f} {ours_gbs / copy_gbs:8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "bench": "elementwise",
                    "device": args.device,
                    "floats": n,
                    "threads": fg.get_num_threads(),
                    "rows": rows,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
