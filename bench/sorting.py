"""Sorting and scans against numpy (and PyTorch where installed): sort, argsort, topk and
cumsum of float32 rows, milliseconds per call side by side.

    python bench/sorting.py [--repeat 5] [--json out.json]

Shapes: many short rows (4096 x 256, the last dimension), a few long ones (16 x 65536) and
one line of 2**22. numpy's topk is argpartition then a sort of the k picked (what a numpy
user writes); its sort is np.sort (quicksort, vectorized where numpy has it), which is not
stable: forgegrad's is always stable, as np.sort(kind="stable") is.
"""

import json
import platform

import numpy as np

import forgegrad as fg

from timing import best_seconds_interleaved, cell, optional_torch, parse_args

torch = optional_torch(fg.get_num_threads())
SHAPES = [(4096, 256), (16, 65536), (1, 1 << 22)]
K = 16


def np_topk(a, k):
    picked = np.argpartition(-a, k, axis=-1)[..., :k]
    values = np.take_along_axis(a, picked, -1)
    order = np.argsort(-values, axis=-1)
    return np.take_along_axis(values, order, -1), np.take_along_axis(picked, order, -1)


def cases(a):
    """name -> (forgegrad call, numpy call, torch call or None)"""
    x = fg.tensor(a)
    t = torch.from_numpy(a) if torch else None
    return {
        "sort": (
            lambda: fg.sort(x),
            lambda: np.sort(a, axis=-1),
            t is not None and (lambda: torch.sort(t)),
        ),
        "sort (stable)": (
            lambda: fg.sort(x, stable=True),
            lambda: np.sort(a, axis=-1, kind="stable"),
            t is not None and (lambda: torch.sort(t, stable=True)),
        ),
        "argsort": (
            lambda: fg.argsort(x),
            lambda: np.argsort(a, axis=-1),
            t is not None and (lambda: torch.argsort(t)),
        ),
        f"topk (k={K})": (
            lambda: fg.topk(x, K),
            lambda: np_topk(a, K),
            t is not None and (lambda: torch.topk(t, K)),
        ),
        "cumsum": (
            lambda: fg.cumsum(x, -1),
            lambda: np.cumsum(a, axis=-1),
            t is not None and (lambda: torch.cumsum(t, -1)),
        ),
    }


def main():
    args = parse_args(__doc__, repeat=5)
    rng = np.random.default_rng(0)
    print(
        f"forgegrad {fg.__version__} (threads={fg.get_num_threads()}), numpy {np.__version__}"
        f"{', torch ' + torch.__version__ if torch else ''}, "
        f"{platform.processor() or platform.machine()}"
    )
    print(
        f"{'op':>14} {'shape':>13} {'forgegrad ms':>12} {'numpy ms':>9} {'torch ms':>9} "
        f"{'numpy/fg':>8} {'torch/fg':>8}"
    )
    rows = []
    for shape in SHAPES:
        a = rng.standard_normal(shape, dtype=np.float32)
        for name, (ours, theirs, torch_call) in cases(a).items():
            fns = [ours, theirs] + ([torch_call] if torch_call else [])
            times = best_seconds_interleaved(fns, args.repeat, settle=0.1)
            fg_ms, np_ms = times[0] * 1e3, times[1] * 1e3
            torch_ms = times[2] * 1e3 if torch_call else None
            rows.append(
                {
                    "op": name,
                    "shape": shape,
                    "forgegrad_ms": fg_ms,
                    "numpy_ms": np_ms,
                    "torch_ms": torch_ms,
                }
            )
            print(
                f"{name:>14} {str(shape):>13} {fg_ms:12.2f} {np_ms:9.2f} "
                f"{cell(torch_ms, 9, '.2f')} {np_ms / fg_ms:8.2f} "
                f"{cell(torch_ms and torch_ms / fg_ms, 8, '.2f')}"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"bench": "sorting", "threads": fg.get_num_threads(), "rows": rows}, f, indent=2
            )


if __name__ == "__main__":
    main()
