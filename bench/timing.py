"""What the benchmarks share: their command line, timing in interleaved rounds where the
best round wins, GEMM operands, PyTorch as an optional yardstick, and table cells."""

import argparse
import platform

# The timing loop and the optional PyTorch are the installed package's (forgegrad bench uses
# them too); the scripts import them from here with the rest.
from forgegrad.benchmark import best_seconds_interleaved, calls_for, optional_torch  # noqa: F401


def parse_args(doc, repeat, devices=("cpu",)):
    """--repeat (rounds), --json (where to write the table) and, for a script that runs on
    more than the CPU, --device, for a script `doc` opens."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--json", help="write the table here as JSON")
    if len(devices) > 1:
        parser.add_argument("--device", choices=devices, default=devices[0])
    return parser.parse_args()


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


def cell(value, width, fmt):
    """A table cell: the number formatted, or a dash where there is none."""
    return f"{value:{width}{fmt}}" if value is not None else f"{'-':>{width}}"


def run_description(device, torch):
    """The line a benchmark opens with: forgegrad's build and threads, PyTorch's version, CPU."""
    import forgegrad as fg

    return (
        f"forgegrad {fg.__version__} on {device} (isa={fg.info()['isa']}, "
        f"threads={fg.get_num_threads()}), "
        f"torch {torch.__version__ if torch else '(not installed)'}, "
        f"{platform.processor() or platform.machine()}"
    )
