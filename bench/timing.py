"""What the benchmarks share: their command line, timing in interleaved rounds where the
best round wins, GEMM operands, PyTorch as an optional yardstick, and table cells."""
import argparse
import platform
import time


def parse_args(doc, repeat, devices=("cpu",)):
    """--repeat (rounds), --json (where to write the table) and, for a script that runs on
    more than the CPU, --device, for a script `doc` opens."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--json", help="write the table here as JSON")
    if len(devices) > 1:
        parser.add_argument("--device", choices=devices, default=devices[0])
    return parser.parse_args()


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


def best_seconds_interleaved(fns, repeat, min_time=0.05, settle=0.2, sync=lambda: None):
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


def gemm_operands(M, N, K, form, rng):
    """Random float32 operands of an (M, N, K) product in `form` ("NN", "NT", "TN"): A as
    (K, M) when the form transposes it, else (M, K); B as (N, K) or (K, N)."""
    a = rng.standard_normal((K, M) if form[0] == "T" else (M, K), dtype="float32")
    b = rng.standard_normal((N, K) if form[1] == "T" else (K, N), dtype="float32")
    return a, b


def gpu_sync():
    """Waits for forgegrad's GPU work and PyTorch's and CuPy's (all on the default stream of
    the current device, which one device synchronize covers)."""
    import forgegrad as fg
    fg.cuda.synchronize()


def optional_torch(threads):
    """PyTorch on `threads` threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def cell(value, width, fmt):
    """A table cell: the number formatted, or a dash where there is none."""
    return f"{value:{width}{fmt}}" if value is not None else f"{'-':>{width}}"


def run_description(device, torch):
    """The line a benchmark opens with: forgegrad's build and threads, PyTorch's version, CPU."""
    import forgegrad as fg
    return (f"forgegrad {fg.__version__} on {device} (isa={fg.info()['isa']}, "
            f"threads={fg.get_num_threads()}), "
            f"torch {torch.__version__ if torch else '(not installed)'}, "
            f"{platform.processor() or platform.machine()}")
