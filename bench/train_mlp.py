"""Training step: a 784-256-256-10 ReLU MLP with Adam and cross-entropy, forgegrad against
PyTorch's CPU build, milliseconds per step side by side.

    python bench/train_mlp.py [--device cpu|cuda] [--repeat 7] [--json out.json]

One step is what a training loop does per batch: zero_grad, forward, loss, backward and
the optimizer step. Both libraries start from the same weights and train on the same
batch; the script checks that their losses agree after a few steps. PyTorch is timed with
its default Adam (foreach) and with fused=True; it is optional: without it only forgegrad's
times are printed. Rounds alternate between the libraries and the best round counts.
With --device cuda both train on the GPU (PyTorch's CUDA build as the yardstick).
"""

import json
import platform

import numpy as np

import forgegrad as fg
from forgegrad import nn, optim

from timing import best_seconds_interleaved, cell, gpu_sync, optional_torch, parse_args

torch = optional_torch(fg.get_num_threads())

SIZES = [784, 256, 256, 10]
BATCHES = {"cpu": [32, 64, 256, 1024], "cuda": [64, 256, 1024, 4096]}


def initial_weights(rng):
    """(weight, bias) per layer, PyTorch's default init range, as float32 arrays."""
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        layers.append(
            (
                rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                rng.uniform(-bound, bound, fan_out).astype(np.float32),
            )
        )
    return layers


def training_step(model, optimizer, loss_fn, x, y):
    """One step of the loop a user writes, the same text for both libraries."""

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def forgegrad_step(weights, x, y, device):
    layers = []
    for w, b in weights:
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.load_state_dict({"weight": fg.tensor(w), "bias": fg.tensor(b)})
        layers += [linear, nn.ReLU()]
    model = nn.Sequential(*layers[:-1]).to(device)
    return training_step(
        model,
        optim.Adam(model.parameters(), lr=1e-3),
        nn.CrossEntropyLoss(),
        fg.tensor(x, device=device),
        fg.tensor(y, device=device),
    )


def torch_step(weights, x, y, device, **adam_flags):
    layers = []
    for w, b in weights:
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, **adam_flags)
    return training_step(
        model,
        optimizer,
        torch.nn.CrossEntropyLoss(),
        torch.from_numpy(x).to(device),
        torch.from_numpy(y).to(device),
    )


def check_same_training(ours, theirs, batch):
    """Five steps from the same weights give the same losses (float32 rounding apart)."""
    for i in range(5):
        a, b = ours().item(), theirs().item()
        assert abs(a - b) <= 1e-4 * max(1.0, abs(b)), f"batch {batch} step {i}: {a} vs {b}"


def main():
    args = parse_args(__doc__, repeat=7, devices=("cpu", "cuda"))
    gpu = args.device == "cuda"
    rng = np.random.default_rng(0)
    print(
        f"forgegrad {fg.__version__} on {args.device} (isa={fg.info()['isa']}, "
        f"threads={fg.get_num_threads()}), "
        f"torch {torch.__version__ if torch else '(not installed)'}, "
        f"{platform.processor() or platform.machine()}"
    )
    print(
        f"{'batch':>5} {'forgegrad ms':>12} {'torch ms':>9} {'torch fused ms':>14} "
        f"{'vs torch':>8} {'vs fused':>8} {'forgegrad samples/s':>19}"
    )
    rows = []
    for batch in BATCHES[args.device]:
        weights = initial_weights(rng)
        x = rng.standard_normal((batch, SIZES[0]), dtype=np.float32)
        y = rng.integers(0, SIZES[-1], batch)
        steps = [forgegrad_step(weights, x, y, args.device)]
        if torch is not None:
            steps += [
                torch_step(weights, x, y, args.device, foreach=True),
                torch_step(weights, x, y, args.device, fused=True),
            ]
            check_same_training(steps[0], steps[1], batch)
        times = best_seconds_interleaved(
            steps, args.repeat, settle=0.0 if gpu else 0.2, sync=gpu_sync if gpu else lambda: None
        )
        ms = [t * 1e3 for t in times] + [None] * (3 - len(times))
        ratios = [None if t is None else t / ms[0] for t in ms[1:]]
        rows.append(
            {
                "batch": batch,
                "forgegrad_ms": ms[0],
                "torch_ms": ms[1],
                "torch_fused_ms": ms[2],
                "speedup_vs_torch": ratios[0],
                "speedup_vs_fused": ratios[1],
                "forgegrad_samples_per_s": batch / times[0],
            }
        )
        print(
            f"{batch:5d} {ms[0]:12.3f} {cell(ms[1], 9, '.3f')} {cell(ms[2], 14, '.3f')} "
            f"{cell(ratios[0], 8, '.2f')} {cell(ratios[1], 8, '.2f')} "
            f"{batch / times[0]:19,.0f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "bench": "train_mlp",
                    "device": args.device,
                    "sizes": SIZES,
                    "threads": fg.get_num_threads(),
                    "rows": rows,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
