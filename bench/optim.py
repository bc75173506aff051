"""Optimizer step: forgegrad's fused kernels (SGD, the Adam family, RMSprop, Adagrad,
Adadelta) against PyTorch's optimizers (foreach, and fused where PyTorch has it),
milliseconds per step side by side.

    python bench/optim.py [--device cpu|cuda] [--repeat 7] [--json out.json]

The parameter groups are those of a 784-256-256-10 MLP (269k parameters) and of a wider
network (4.2M). Each optimizer is timed for both libraries in the same process, in
alternating rounds, taking the best round. PyTorch is optional: without it only
forgegrad's times are printed. With --device cuda both run on the GPU, where a group of
67M parameters joins the table.
"""

import json
import platform

import numpy as np

import forgegrad as fg

from timing import best_seconds_interleaved, cell, gpu_sync, optional_torch, parse_args

torch = optional_torch(fg.get_num_threads())

GROUPS = {
    "mlp-784-256-256-10": [(256, 784), (256,), (256, 256), (256,), (10, 256), (10,)],
    "wide-4.2M": [(2048, 1024), (2048,), (1024, 2048), (1024,), (10, 1024), (10,)],
    "large-67M": [(8192, 4096), (8192,), (4096, 8192), (4096,)],
}
CPU_GROUPS = ["mlp-784-256-256-10", "wide-4.2M"]
OPTIMIZERS = {
    "SGD momentum": ("SGD", dict(lr=0.01, momentum=0.9)),
    "Adam": ("Adam", dict(lr=1e-3)),
    "AdamW": ("AdamW", dict(lr=1e-3, weight_decay=0.01)),
    "RMSprop": ("RMSprop", dict(lr=1e-2, momentum=0.9, centered=True)),
    "Adagrad": ("Adagrad", dict(lr=1e-2)),
    "Adadelta": ("Adadelta", dict()),
    "Adamax": ("Adamax", dict(lr=2e-3)),
    "NAdam": ("NAdam", dict(lr=2e-3)),
    "RAdam": ("RAdam", dict(lr=1e-3)),
}


def forgegrad_step(shapes, name, kwargs, rng, device):
    params = [
        fg.tensor(rng.standard_normal(s, dtype=np.float32), device=device, requires_grad=True)
        for s in shapes
    ]
    for p in params:
        p.grad = fg.tensor(rng.standard_normal(p.shape, dtype=np.float32), device=device)
    return getattr(fg.optim, name)(params, **kwargs).step


def torch_step(shapes, name, kwargs, rng, device, **flags):
    params = [
        torch.tensor(rng.standard_normal(s, dtype=np.float32), device=device, requires_grad=True)
        for s in shapes
    ]
    for p in params:
        p.grad = torch.tensor(rng.standard_normal(tuple(p.shape), dtype=np.float32), device=device)
    return getattr(torch.optim, name)(params, **kwargs, **flags).step


def main():
    args = parse_args(__doc__, repeat=7, devices=("cpu", "cuda"))
    gpu = args.device == "cuda"
    rng = np.random.default_rng(0)
    print(
        f"forgegrad {fg.__version__} on {args.device} (threads={fg.get_num_threads()}), "
        f"torch {torch.__version__ if torch else '(not installed)'}, "
        f"{platform.processor() or platform.machine()}"
    )
    print(
        f"{'group':>20} {'optimizer':>13} {'forgegrad ms':>12} {'torch foreach':>13} "
        f"{'torch fused':>11} {'vs foreach':>10} {'vs fused':>8}"
    )
    rows = []
    for group in GROUPS if gpu else CPU_GROUPS:
        shapes = GROUPS[group]
        for label, (name, kwargs) in OPTIMIZERS.items():
            steps = [forgegrad_step(shapes, name, kwargs, rng, args.device)]
            if torch is not None:
                steps.append(torch_step(shapes, name, kwargs, rng, args.device, foreach=True))
                try:
                    steps.append(torch_step(shapes, name, kwargs, rng, args.device, fused=True))
                except (RuntimeError, TypeError):  # no fused kernel in this build
                    pass
            times = best_seconds_interleaved(
                steps,
                args.repeat,
                settle=0.0 if gpu else 0.2,
                sync=gpu_sync if gpu else lambda: None,
            )
            ms = [t * 1e3 for t in times] + [None] * (3 - len(times))
            ratios = [None if t is None else t / ms[0] for t in ms[1:]]
            rows.append(
                {
                    "group": group,
                    "optimizer": label,
                    "forgegrad_ms": ms[0],
                    "torch_foreach_ms": ms[1],
                    "torch_fused_ms": ms[2],
                    "speedup_vs_foreach": ratios[0],
                    "speedup_vs_fused": ratios[1],
                }
            )
            print(
                f"{group:>20} {label:>13} {ms[0]:12.3f} {cell(ms[1], 13, '.3f')} "
                f"{cell(ms[2], 11, '.3f')} {cell(ratios[0], 10, '.2f')} "
                f"{cell(ratios[1], 8, '.2f')}"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "bench": "optim",
                    "device": args.device,
                    "threads": fg.get_num_threads(),
                    "rows": rows,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
