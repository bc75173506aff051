"""Recurrent layers: forgegrad's LSTM and GRU against PyTorch's CPU ones in one process, same
weights and batch, milliseconds side by side.

    python bench/rnn.py [--repeat 5] [--json out.json]

Rows: forward + backward (sum of the output, every weight's gradient) of a 2-layer layer,
input 128 -> hidden 256, T = 64 steps, batch 32; and the forward alone under no-grad.
forgegrad runs each layer-direction as one op: the input projection of all steps in one GEMM,
per step one GEMM and one fused gate kernel, and the backward through time in one node.
The script first checks that outputs and gradients agree (float32, relative 1e-4). Rounds
alternate between the libraries and the best round counts (bench/timing.py); "torch / fg"
above 1 means forgegrad is faster. PyTorch is optional (put its site-packages on PYTHONPATH).
"""

import json
import platform

import numpy as np

import forgegrad as fg

from timing import best_seconds_interleaved, cell, optional_torch, parse_args

torch = optional_torch(fg.get_num_threads())

T, BATCH, INPUT, HIDDEN, LAYERS = 64, 32, 128, 256, 2


def twins(kind):
    """The forgegrad layer and its PyTorch copy (None without PyTorch), same weights."""
    layer = getattr(fg.nn, kind)(INPUT, HIDDEN, num_layers=LAYERS)
    if torch is None:
        return layer, None
    theirs = getattr(torch.nn, kind)(INPUT, HIDDEN, num_layers=LAYERS)
    theirs.load_state_dict(
        {k: torch.from_numpy(np.array(v.numpy())) for k, v in layer.state_dict().items()}
    )
    return layer, theirs


def step(layer, x):
    """Forward and backward: the gradient of sum(output) reaches every weight."""
    for p in layer.parameters():
        p.grad = None
    out, _ = layer(x)
    out.sum().backward()
    return out


def check_agreement(kind, ours, theirs, x_np):
    out = step(ours, fg.tensor(x_np)).detach().numpy()
    out_t = step(theirs, torch.from_numpy(x_np)).detach().numpy()
    assert np.allclose(out, out_t, rtol=1e-4, atol=1e-5), f"{kind}: outputs differ"
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        g, h = p.grad.numpy(), q.grad.numpy()
        err = np.abs(g - h).max() / np.abs(h).max()
        assert err < 1e-4, f"{kind}: gradient of {name} differs ({err:.2g})"


def main():
    args = parse_args(__doc__, repeat=5)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((T, BATCH, INPUT), dtype=np.float32)
    rows = []
    print(
        f"{platform.processor() or platform.machine()}, {fg.get_num_threads()} threads; "
        f"{LAYERS} layers {INPUT} -> {HIDDEN}, T={T}, batch {BATCH}, float32"
    )
    print(f"{'case':<24}{'forgegrad ms':>14}{'torch ms':>12}{'torch / fg':>12}")
    for kind in ("LSTM", "GRU"):
        ours, theirs = twins(kind)
        x = fg.tensor(x_np)
        x_t = torch.from_numpy(x_np) if theirs is not None else None
        if theirs is not None:
            check_agreement(kind, ours, theirs, x_np)
        cases = {
            "forward + backward": (lambda: step(ours, x), theirs and (lambda: step(theirs, x_t)))
        }

        def forward_fg():
            with fg.no_grad():
                ours(x)

        def forward_torch():
            with torch.no_grad():
                theirs(x_t)

        cases["forward"] = (forward_fg, theirs and forward_torch)
        for case, (fn_fg, fn_torch) in cases.items():
            fns = [fn_fg] + ([fn_torch] if fn_torch else [])
            times = best_seconds_interleaved(fns, args.repeat)
            mine, other = times[0] * 1e3, (times[1] * 1e3 if len(times) > 1 else None)
            ratio = other / mine if other else None
            name = f"{kind} {case}"
            print(
                f"{name:<24}{cell(mine, 14, '.2f')}{cell(other, 12, '.2f')}{cell(ratio, 12, '.2f')}"
            )
            rows.append({"case": name, "forgegrad_ms": mine, "torch_ms": other})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
