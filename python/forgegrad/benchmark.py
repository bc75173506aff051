"""``forgegrad bench``: a quick benchmark suite that runs from the installed package, a
small subset of the measurements of the repository's ``bench/`` scripts, printed as ratio
tables: forgegrad against numpy (GEMM GFLOP/s, elementwise GB/s) and against PyTorch's CPU
build (an MLP training step, a conv layer's forward and backward) when PyTorch is installed;
without it those rows show forgegrad's times and a dash, and a line says so.

Timing as in ``bench/timing.py``: each function is called for about ``min_time`` per round,
the rounds alternate between the libraries (a shared machine disturbs both alike), and the
best round counts.
"""

import importlib.util
import platform
import time

import numpy as np

from . import _C
from ._C import from_numpy


def calls_for(fn, min_time, sync):
    """How many calls of fn last about min_time (after one warm-up call)."""
    fn()
    sync()
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < min_time:
        fn()
        calls += 1
        sync()
    return max(calls, 1)


def best_seconds_interleaved(
    fns, repeat, min_time: float = 0.05, settle: float = 0.2, sync=lambda: None
):
    """Best per-call time of each fn over `repeat` rounds; every round times each fn in
    turn, so both sides see the same disturbances of this shared machine. Before each
    timing it sleeps `settle` seconds: the thread pools of OpenMP and OpenBLAS spin a while
    after their work, and a spinning pool would steal the cores from the next library.
    `sync` waits for work a call left running (a GPU's kernels) and ends every timing."""
    counts = [calls_for(fn, min_time, sync) for fn in fns]
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, (fn, calls) in enumerate(zip(fns, counts)):
            time.sleep(settle)
            fn()  # wakes this library's threads
            sync()
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            sync()
            best[i] = min(best[i], (time.perf_counter() - start) / calls)
    return best


def optional_torch(threads):
    """PyTorch on `threads` threads, or None when it is not installed."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    torch.set_num_threads(threads)
    return torch


def _numpy_rows(timer):
    """(name, unit, forgegrad, numpy) for GEMM and elementwise ops, in GFLOP/s and GB/s."""
    rng = np.random.default_rng(0)
    rows = []
    for n in (256, 1024):
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        fa, fb = from_numpy(a), from_numpy(b)
        seconds = timer([lambda: fa @ fb, lambda: a @ b])
        rows.append(
            (f"matmul {n}x{n}x{n} float32", "GFLOP/s", *(2 * n**3 / s / 1e9 for s in seconds))
        )
    x, y = (rng.standard_normal(1 << 22, dtype=np.float32) for _ in range(2))
    fx, fy = from_numpy(x), from_numpy(y)
    for name, ours, theirs, arrays in (
        ("add", lambda: fx + fy, lambda: x + y, 3),
        ("relu", lambda: fx.relu(), lambda: np.maximum(x, 0), 2),
        ("sum", lambda: fx.sum(), lambda: x.sum(), 1),
    ):
        seconds = timer([ours, theirs])
        rows.append((f"{name} 4M float32", "GB/s", *(arrays * x.nbytes / s / 1e9 for s in seconds)))
    return rows


def _mlp_step(lib, x, y, weights):
    """One training step (zero_grad, forward, loss, backward, Adam) of a 784-256-256-10
    ReLU MLP in library `lib` (forgegrad or torch), from the same initial weights."""
    layers = []
    for w, b in weights:
        linear = lib.nn.Linear(w.shape[1], w.shape[0])
        with lib.no_grad():
            linear.weight.copy_(lib.from_numpy(w))
            linear.bias.copy_(lib.from_numpy(b))
        layers += [linear, lib.nn.ReLU()]
    model = lib.nn.Sequential(*layers[:-1])
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()
    xs, ys = lib.from_numpy(x), lib.from_numpy(y)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(xs), ys).backward()
        optimizer.step()

    return step


def _conv_step(lib, x, w):
    """Forward and backward of a 3x3 conv (padding 1) in library `lib`."""
    xs = lib.from_numpy(x).requires_grad_()
    ws = lib.from_numpy(w).requires_grad_()

    def step() -> None:
        lib.nn.functional.conv2d(xs, ws, padding=1).sum().backward()

    return step


def _torch_rows(timer, torch):
    """(name, forgegrad ms, torch ms or None) for the model-sized workloads."""
    import forgegrad

    rng = np.random.default_rng(0)
    sizes = (784, 256, 256, 10)
    weights = [
        (rng.uniform(-1, 1, (o, i)).astype(np.float32) / np.sqrt(i), np.zeros(o, np.float32))
        for i, o in zip(sizes, sizes[1:])
    ]
    x = rng.standard_normal((64, 784), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    images = rng.standard_normal((8, 32, 16, 16), dtype=np.float32)
    kernels = rng.standard_normal((32, 32, 3, 3), dtype=np.float32) / 17
    rows = []
    for name, build in (
        ("MLP training step, batch 64", lambda lib: _mlp_step(lib, x, y, weights)),
        ("conv2d 3x3 fwd+bwd, 8x32x16x16", lambda lib: _conv_step(lib, images, kernels)),
    ):
        fns = [build(forgegrad)] + ([build(torch)] if torch is not None else [])
        seconds = timer(fns)
        rows.append((name, seconds[0] * 1e3, seconds[1] * 1e3 if torch is not None else None))
    return rows


def run(repeat=3, min_time: float = 0.05, settle: float = 0.05, out=print):
    """Measure and print the two ratio tables; returns them as a dict (for --json)."""
    torch = optional_torch(_C.get_num_threads())

    def timer(fns):
        return best_seconds_interleaved(fns, repeat, min_time, settle)

    out(
        f"forgegrad {_C.__version__} quick benchmark on {platform.processor() or 'this CPU'}"
        f" ({_C.get_num_threads()} threads), best of {repeat} rounds; the full suite is "
        "bench/*.py in a source checkout (forgegrad bench --scripts)"
    )
    out("")
    out(
        f"{'against numpy ' + np.__version__:<32} {'unit':>8} {'forgegrad':>10} {'numpy':>10} "
        f"{'fg / numpy':>10}"
    )
    numpy_rows = _numpy_rows(timer)
    for name, unit, ours, theirs in numpy_rows:
        out(f"{name:<32} {unit:>8} {ours:10.1f} {theirs:10.1f} {ours / theirs:10.2f}")
    out("")
    label = f"against PyTorch {torch.__version__}" if torch is not None else "against PyTorch"
    out(f"{label:<32} {'fg ms':>8} {'torch ms':>10} {'torch / fg':>10}")
    torch_rows = _torch_rows(timer, torch)
    for name, ours, theirs in torch_rows:
        cells = (
            f"{theirs:10.3f} {theirs / ours:10.2f}"
            if theirs is not None
            else f"{'-':>10} {'-':>10}"
        )
        out(f"{name:<32} {ours:8.3f} {cells}")
    if torch is None:
        out(
            "PyTorch is not installed: its columns are empty; pip install torch (the CPU "
            "build) to compare"
        )
    out("Ratios above 1 mean forgegrad is faster.")
    return {
        "numpy": [dict(zip(("name", "unit", "forgegrad", "numpy"), r)) for r in numpy_rows],
        "torch": [dict(zip(("name", "forgegrad_ms", "torch_ms"), r)) for r in torch_rows],
        "torch_version": torch.__version__ if torch is not None else None,
    }


__all__ = ["run", "best_seconds_interleaved", "calls_for", "optional_torch"]
