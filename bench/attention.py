"""The fused attention kernel alone: forgegrad's F.scaled_dot_product_attention against
PyTorch's (CPU: its flash-attention CPU kernel; GPU: its CUDA kernels) in one process, same
inputs, milliseconds side by side.

    python bench/attention.py [--device cpu|cuda] [--repeat 5] [--json out.json]

Rows: T = 128, 512, 2048 query and key positions, float32, causal or not; forward alone
(under no_grad) and forward + backward (the gradients of q, k and v). Sizes (batch, heads,
head dim): (32, 4, 32) at T = 128 (the default charlm GPT's), (8, 8, 64) at 128, (4, 8, 64)
at 512, (4, 4, 32) at 2048, about the attention of a small GPT's layer. The script checks
that outputs and gradients agree before timing.
Rounds alternate between the libraries and the best round counts (bench/timing.py).
"torch / fg" above 1 means forgegrad is faster. PyTorch is optional: without it only
forgegrad's times are printed (put its site-packages on PYTHONPATH).
"""

import contextlib
import json

import numpy as np

import forgegrad as fg
import forgegrad.nn.functional as F

from timing import (
    best_seconds_interleaved,
    cell,
    gpu_sync,
    optional_torch,
    parse_args,
    run_description,
)

torch = optional_torch(fg.get_num_threads())

# (T, batch, heads, head dim); the first is the default charlm GPT's attention
# (forgegrad train --task charlm: context 128, 4 heads of 32, batch 32)
SIZES = [(128, 32, 4, 32), (128, 8, 8, 64), (512, 4, 8, 64), (2048, 4, 4, 32)]


def to_numpy(t):
    return t.detach().cpu().numpy()


def assert_close(what, ours, theirs, rtol):
    """Agreement within rtol of the larger values (float32 sums taken in other orders)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    error = np.abs(ours - theirs).max() / max(1.0, np.abs(theirs).max())
    assert error <= rtol, f"{what}: max difference {error:.3g} of the largest value"


def attention_fns(lib, attention, arrays, grad, causal, device):
    """forward (and backward with `grad`) of lib's attention on copies of arrays."""
    if lib is fg:
        q, k, v = (fg.tensor(a, device=device, requires_grad=True) for a in arrays[:3])
        g = fg.tensor(arrays[3], device=device)
    else:
        q, k, v = (torch.tensor(a, device=device, requires_grad=True) for a in arrays[:3])
        g = torch.from_numpy(arrays[3]).to(device)

    def forward():
        return attention(q, k, v, is_causal=causal)

    def forward_backward():
        q.grad = k.grad = v.grad = None
        out = attention(q, k, v, is_causal=causal)
        out.backward(g)
        return out, q.grad, k.grad, v.grad

    return forward_backward if grad else forward


def rows(rng, device):
    """(name, [fg fn, torch fn], forward_only) of each size, causal or not, fwd and fwd+bwd."""
    out = []
    for T, batch, heads, dim in SIZES:
        arrays = [rng.standard_normal((batch, heads, T, dim), dtype=np.float32) for _ in range(4)]
        for causal in (False, True):
            for grad in (False, True):
                name = (
                    f"T={T} B={batch} H={heads} E={dim}{' causal' if causal else ''} "
                    f"{'fwd+bwd' if grad else 'fwd'}"
                )
                fns = [
                    attention_fns(fg, F.scaled_dot_product_attention, arrays, grad, causal, device)
                ]
                if torch is not None:
                    fns.append(
                        attention_fns(
                            torch,
                            torch.nn.functional.scaled_dot_product_attention,
                            arrays,
                            grad,
                            causal,
                            device,
                        )
                    )
                    ours, theirs = fns[0](), fns[1]()
                    for what, a, b in zip(
                        ("out", "dq", "dk", "dv"),
                        ours if grad else [ours],
                        theirs if grad else [theirs],
                    ):
                        assert_close(f"{name} {what}", to_numpy(a), to_numpy(b), 1e-4)
                out.append((name, fns, not grad))
    return out


def main():
    args = parse_args(__doc__, repeat=5, devices=("cpu", "cuda"))
    gpu = args.device == "cuda"
    rng = np.random.default_rng(0)
    print(run_description(args.device, torch))
    print(f"{'':40} {'forgegrad ms':>12} {'torch ms':>9} {'torch / fg':>10}")
    table = []
    for name, fns, forward_only in rows(rng, args.device):
        with contextlib.ExitStack() as no_grad:
            if forward_only:
                no_grad.enter_context(fg.no_grad())
                if torch is not None:
                    no_grad.enter_context(torch.no_grad())
            seconds = best_seconds_interleaved(
                fns, args.repeat, settle=0.0 if gpu else 0.2, sync=gpu_sync if gpu else lambda: None
            )
        ms = [s * 1e3 for s in seconds] + [None] * (2 - len(seconds))
        ratio = ms[1] / ms[0] if ms[1] is not None else None
        table.append(
            {"name": name, "forgegrad_ms": ms[0], "torch_ms": ms[1], "torch_over_forgegrad": ratio}
        )
        print(f"{name:40} {ms[0]:12.3f} {cell(ms[1], 9, '.3f')} {cell(ratio, 10, '.2f')}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "bench": "attention",
                    "device": args.device,
                    "threads": fg.get_num_threads(),
                    "rows": table,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
