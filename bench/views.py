"""Views: GB/s of contiguous() on non-contiguous views (the strided-copy kernel), against
a plain contiguous copy of the same bytes (clone) and numpy's np.ascontiguousarray; and the
matmul of a transposed view (a.T @ b) against the GEMM called with its transpose flag.

    python bench/views.py [--device cpu|cuda] [--repeat 7] [--json out.json]

Bytes moved counts the view's elements read once and written once. numpy runs on the CPU
only (its column is empty on a GPU). a.T @ b must cost what the flagged GEMM costs: the view
reaches the GEMM as its flag, with no copy.
"""

import json
import platform

import numpy as np

import forgegrad as fg

from timing import best_seconds_interleaved, gpu_sync, parse_args


def cases(rng, device):
    """name -> (base array, view of a tensor, the same view of the array)."""
    square = rng.standard_normal((4096, 4096), dtype=np.float32)
    four_d = rng.standard_normal((32, 64, 64, 128), dtype=np.float32)
    out = {}
    for name, array, view in [
        ("transpose 4096x4096", square, lambda t: t.T),
        (
            "permute (0,3,1,2) 4-D",
            four_d,
            lambda t: (
                t.permute(0, 3, 1, 2) if isinstance(t, fg.Tensor) else t.transpose(0, 3, 1, 2)
            ),
        ),
        ("slice [:, ::2] 4096x4096", square, lambda t: t[:, ::2]),
    ]:
        tensor = fg.tensor(array, device=device)
        out[name] = (view(tensor), view(array))
    return out


def main():
    args = parse_args(__doc__, repeat=7, devices=("cpu", "cuda"))
    gpu = args.device == "cuda"
    sync = gpu_sync if gpu else (lambda: None)
    rng = np.random.default_rng(0)
    print(
        f"forgegrad {fg.__version__} on {args.device} (threads={fg.get_num_threads()}), "
        f"{platform.processor() or platform.machine()}"
    )
    print(
        f"{'view':>26} {'contiguous GB/s':>15} {'clone GB/s':>10} {'numpy GB/s':>10} "
        f"{'of clone':>8}"
    )
    rows = []
    for name, (view, array_view) in cases(rng, args.device).items():
        dense = view.contiguous()  # the same bytes, laid out row-major
        calls = [lambda: view.contiguous(), lambda: dense.clone()]
        if not gpu:
            calls.append(lambda: np.ascontiguousarray(array_view))
        seconds = best_seconds_interleaved(
            calls, args.repeat, settle=0.0 if gpu else 0.2, sync=sync
        )
        nbytes = 2 * 4 * view.numel()
        gbs = [nbytes / s / 1e9 for s in seconds] + ([] if not gpu else [float("nan")])
        rows.append(
            {"view": name, "contiguous_gbs": gbs[0], "clone_gbs": gbs[1], "numpy_gbs": gbs[2]}
        )
        print(f"{name:>26} {gbs[0]:15.1f} {gbs[1]:10.1f} {gbs[2]:10.1f} {gbs[0] / gbs[1]:8.2f}")
    print(
        f"\n{'a.T @ b, a (K, M), b (K, N)':>34} {'a.T @ b ms':>10} {'flagged GEMM ms':>15} "
        f"{'ratio':>6}"
    )
    matmul_rows = []
    for dtype in (np.float32, np.float64):
        for m, n, k in [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (512, 256, 4096)]:
            a = fg.tensor(rng.standard_normal((k, m)).astype(dtype), device=args.device)
            b = fg.tensor(rng.standard_normal((k, n)).astype(dtype), device=args.device)
            seconds = best_seconds_interleaved(
                [lambda: a.T @ b, lambda: fg._C.gemm(a, b, trans_a=True)],
                args.repeat,
                settle=0.0 if gpu else 0.2,
                sync=sync,
            )
            name = f"{np.dtype(dtype).name} M={m} N={n} K={k}"
            matmul_rows.append(
                {"case": name, "view_ms": seconds[0] * 1e3, "flagged_ms": seconds[1] * 1e3}
            )
            print(
                f"{name:>34} {seconds[0] * 1e3:10.3f} {seconds[1] * 1e3:15.3f} "
                f"{seconds[0] / seconds[1]:6.2f}"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "bench": "views",
                    "device": args.device,
                    "threads": fg.get_num_threads(),
                    "rows": rows,
                    "transposed_matmul": matmul_rows,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
