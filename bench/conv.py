"""Convolutional networks: forgegrad against PyTorch (CPU: oneDNN; GPU: cuDNN) in one process,
same weights and inputs, milliseconds side by side.

    python bench/conv.py [--device cpu|cuda] [--repeat 5] [--json out.json]

Rows:
  lenet5 step      a LeNet-5 training step (conv5-pool-conv5-pool-fc-fc-fc, SGD with
                   momentum, cross-entropy), batch 64 of 1x28x28: zero_grad, forward, loss,
                   backward and step
  resnet block     a ResNet basic block (conv3x3-BN-ReLU-conv3x3-BN, + identity, ReLU; 64
                   channels, 32x32, batch 32, training mode) forward and backward, the input
                   requiring grad as inside a network
  conv 3x3 / 1x1   conv2d forward alone, 64 -> 64 channels, 32x32, batch 32, with GFLOP/s,
                   and forgegrad's GEMM of the same M, N, K (M = out channels, K = in channels
                   x taps, N = batch x positions) as the ceiling the conv can reach
  depthwise 3x3    groups = channels = 64, 32x32, batch 32: forward, and forward + backward;
                   the "im2col" rows compute the same conv as unfold and a batched matmul
                   (forgegrad's generic path) for comparison with the direct kernel

Both libraries start from forgegrad's initial weights (copied into the torch modules through
the state dict) and run on the same batch; the script checks that losses, outputs and
gradients agree before timing. Rounds alternate between the libraries and the best round
counts (bench/timing.py). "torch / fg" above 1 means forgegrad is faster. PyTorch is
optional: without it only forgegrad's times are printed (put its site-packages on PYTHONPATH).
"""

import contextlib
import json
import platform

import numpy as np

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import _C

from timing import best_seconds_interleaved, cell, gpu_sync, optional_torch, parse_args
from train_mlp import training_step

torch = optional_torch(fg.get_num_threads())


def lenet5(lib):
    """LeNet-5 for 1x28x28 digits in library `lib` (forgegrad or torch)."""
    m = lib.nn
    return m.Sequential(
        m.Conv2d(1, 6, 5, padding=2),
        m.ReLU(),
        m.MaxPool2d(2),
        m.Conv2d(6, 16, 5),
        m.ReLU(),
        m.MaxPool2d(2),
        m.Flatten(),
        m.Linear(16 * 5 * 5, 120),
        m.ReLU(),
        m.Linear(120, 84),
        m.ReLU(),
        m.Linear(84, 10),
    )


def basic_block(lib, channels):
    """A ResNet basic block in library `lib`, with PyTorch's torchvision parameter names."""
    m = lib.nn

    class BasicBlock(m.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = m.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = m.BatchNorm2d(channels)
            self.conv2 = m.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = m.BatchNorm2d(channels)
            self.relu = m.ReLU()

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + x)

    return BasicBlock()


def to_numpy(t):
    return t.detach().cpu().numpy()


def torch_copy(model, build, device):
    """The torch twin of forgegrad `model` built by build(torch), with its state dict."""
    twin = build(torch)
    twin.load_state_dict(
        {k: torch.from_numpy(to_numpy(v).copy()) for k, v in model.state_dict().items()}
    )
    return twin.to(device)


def difference(ours, theirs):
    """Max |ours - theirs| over theirs' largest magnitude (at least 1)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return np.abs(ours - theirs).max() / max(1.0, np.abs(theirs).max())


def assert_close(what, ours, theirs, rtol):
    """Agreement within rtol of the larger values (float32 sums taken in other orders)."""
    error = difference(ours, theirs)
    assert error <= rtol, f"{what}: max difference {error:.3g} of the largest value"


def sgd_step(lib, model, x, y):
    """The training step a user writes (bench/train_mlp.py's), with SGD and momentum."""
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return training_step(model, optimizer, lib.nn.CrossEntropyLoss(), x, y)


def lenet_row(rng, device):
    """(step functions, name, flops) of the LeNet-5 training step."""
    x = rng.standard_normal((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    model = lenet5(fg).to(device)
    steps = [sgd_step(fg, model, fg.tensor(x, device=device), fg.tensor(y, device=device))]
    if torch is not None:
        twin = torch_copy(model, lenet5, device)
        steps.append(
            sgd_step(torch, twin, torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
        )
        for i in range(3):  # the same losses step after step: the same training
            ours, theirs = steps[0]().item(), steps[1]().item()
            assert_close(f"lenet5 loss, step {i}", ours, theirs, 1e-4)
    return steps


def block_row(rng, device):
    """Forward and backward of the ResNet basic block, with the gradient of its input."""
    x = rng.standard_normal((32, 64, 32, 32), dtype=np.float32)
    g = rng.standard_normal(x.shape, dtype=np.float32)
    model = basic_block(fg, 64).to(device)
    fns = [
        forward_backward(
            model, fg.tensor(x, device=device, requires_grad=True), fg.tensor(g, device=device)
        )
    ]
    if torch is not None:
        twin = torch_copy(model, lambda lib: basic_block(lib, 64), device)
        fns.append(
            forward_backward(
                twin,
                torch.tensor(x, device=device, requires_grad=True),
                torch.from_numpy(g).to(device),
            )
        )
        (ours, _), (theirs, _) = fns[0](), fns[1]()
        assert_close("resnet block output", to_numpy(ours), to_numpy(theirs), 1e-4)
        check_block_gradients(model, x, g, device)
    return fns


def check_block_gradients(model, x, g, device):
    """The block's gradients against torch's, in float64 copies of both: in float32 at this
    size both libraries' input gradients are ~17% off the float64 ones (the training-mode
    BatchNorm backward subtracts nearly equal sums of 32768 terms), so float32 cannot judge."""
    state = {
        k: v.to(fg.float64) if v.dtype == fg.float32 else v for k, v in model.state_dict().items()
    }
    model = basic_block(fg, 64).to(device, fg.float64)
    model.load_state_dict(state)
    twin = torch_copy(model, lambda lib: basic_block(lib, 64), device).double()
    x_ours = fg.tensor(x.astype(np.float64), device=device, requires_grad=True)
    x_theirs = torch.tensor(x.astype(np.float64), device=device, requires_grad=True)
    forward_backward(model, x_ours, fg.tensor(g.astype(np.float64), device=device))()
    forward_backward(twin, x_theirs, torch.from_numpy(g.astype(np.float64)).to(device))()
    for what, a, b in (
        ("input", x_ours.grad, x_theirs.grad),
        ("conv1 weight", model.conv1.weight.grad, twin.conv1.weight.grad),
        ("conv2 weight", model.conv2.weight.grad, twin.conv2.weight.grad),
    ):
        assert_close(f"resnet block {what} gradient (float64)", to_numpy(a), to_numpy(b), 1e-9)


def forward_backward(model, x, g):
    def run():
        model.zero_grad()
        x.grad = None
        out = model(x)
        out.backward(g)
        return out, x.grad

    return run


def conv_operands(rng, channels, kernel, groups):
    x = rng.standard_normal((32, channels, 32, 32), dtype=np.float32)
    w = rng.standard_normal((channels, channels // groups, kernel, kernel), dtype=np.float32)
    return x, w


def im2col_conv(x, w, padding, groups):
    """conv2d as forgegrad's generic path computes it: unfold, then a batched matmul with the
    groups as a batch dimension (stride 1)."""
    n, c, h, width = x.shape
    o, kernel = w.shape[0], w.shape[2]
    columns = F.unfold(x, kernel, padding=padding)
    out = w.reshape(groups, o // groups, -1) @ columns.reshape(n, groups, -1, columns.shape[2])
    return out.reshape(n, o, h + 2 * padding - kernel + 1, width + 2 * padding - kernel + 1)


def conv_rows(rng, device):
    """(name, fns, flops) rows of conv2d alone: dense 3x3 and 1x1 with the GEMM of the same
    sizes, then depthwise 3x3 (direct kernel, im2col path, forward + backward)."""
    rows = []
    for kernel in (3, 1):
        x, w = conv_operands(rng, 64, kernel, 1)
        padding = kernel // 2
        fx, fw = fg.tensor(x, device=device), fg.tensor(w, device=device)
        fns = [lambda fx=fx, fw=fw, p=padding: F.conv2d(fx, fw, padding=p)]
        if torch is not None:
            tx, tw = torch.from_numpy(x).to(device), torch.from_numpy(w).to(device)
            fns.append(
                lambda tx=tx, tw=tw, p=padding: torch.nn.functional.conv2d(tx, tw, padding=p)
            )
            assert_close(f"conv {kernel}x{kernel}", to_numpy(fns[0]()), to_numpy(fns[1]()), 1e-4)
        M, K, N = 64, 64 * kernel * kernel, 32 * 32 * 32
        flops = 2.0 * M * N * K
        rows.append((f"conv {kernel}x{kernel} fwd", fns, flops))
        a = fg.tensor(rng.standard_normal((M, K), dtype=np.float32), device=device)
        b = fg.tensor(rng.standard_normal((K, N), dtype=np.float32), device=device)
        rows.append((f"  GEMM M={M} N={N} K={K}", [lambda a=a, b=b: _C.gemm(a, b)], flops))
    x, w = conv_operands(rng, 64, 3, 64)
    flops = 2.0 * 32 * 64 * 32 * 32 * 9
    fx, fw = fg.tensor(x, device=device), fg.tensor(w, device=device)
    direct = [lambda: F.conv2d(fx, fw, padding=1, groups=64)]
    composed = [lambda: im2col_conv(fx, fw, 1, 64)]
    assert_close("depthwise im2col path", to_numpy(composed[0]()), to_numpy(direct[0]()), 1e-5)
    g = rng.standard_normal(x.shape, dtype=np.float32)
    fg_train = [
        depthwise_step(fg, F.conv2d, x, w, g, device),
        depthwise_step(
            fg, lambda x, w, padding, groups: im2col_conv(x, w, padding, groups), x, w, g, device
        ),
    ]
    if torch is not None:
        tx, tw = torch.from_numpy(x).to(device), torch.from_numpy(w).to(device)
        direct.append(lambda: torch.nn.functional.conv2d(tx, tw, padding=1, groups=64))
        assert_close("depthwise 3x3", to_numpy(direct[0]()), to_numpy(direct[1]()), 1e-5)
        fg_train.append(depthwise_step(torch, torch.nn.functional.conv2d, x, w, g, device))
        for name, (ours, theirs) in zip(("input", "weight"), zip(fg_train[0](), fg_train[2]())):
            assert_close(f"depthwise 3x3 {name} gradient", to_numpy(ours), to_numpy(theirs), 1e-4)
    rows.append(("depthwise 3x3 fwd", direct, flops))
    rows.append(("  im2col path fwd", composed, flops))
    rows.append(("depthwise 3x3 fwd+bwd", [fg_train[0]] + fg_train[2:], 3 * flops))
    rows.append(("  im2col path fwd+bwd", fg_train[1:2], 3 * flops))
    return rows


def depthwise_step(lib, conv2d, x, w, g, device):
    """forward and backward of a depthwise conv, returning (dx, dw)"""
    if lib is fg:
        tx, tw = (fg.tensor(a, device=device, requires_grad=True) for a in (x, w))
        tg = fg.tensor(g, device=device)
    else:
        tx, tw = (torch.tensor(a, device=device, requires_grad=True) for a in (x, w))
        tg = torch.from_numpy(g).to(device)

    def run():
        tx.grad = tw.grad = None
        conv2d(tx, tw, padding=1, groups=x.shape[1]).backward(tg)
        return tx.grad, tw.grad

    return run


def main():
    args = parse_args(__doc__, repeat=5, devices=("cpu", "cuda"))
    gpu = args.device == "cuda"
    rng = np.random.default_rng(0)
    fg.manual_seed(0)
    if torch is not None:
        torch.backends.cudnn.benchmark = gpu  # cuDNN picks its fastest algorithm per shape
    print(
        f"forgegrad {fg.__version__} on {args.device} (isa={fg.info()['isa']}, "
        f"threads={fg.get_num_threads()}), "
        f"torch {torch.__version__ if torch else '(not installed)'}, "
        f"{platform.processor() or platform.machine()}"
    )
    rows = [
        ("lenet5 step (batch 64)", lenet_row(rng, args.device), None),
        ("resnet block fwd+bwd", block_row(rng, args.device), None),
    ]
    rows += conv_rows(rng, args.device)
    print(
        f"{'':24} {'forgegrad ms':>12} {'torch ms':>9} {'torch / fg':>10} "
        f"{'fg GFLOP/s':>10} {'torch GFLOP/s':>13}"
    )
    table = []
    for name, fns, flops in rows:
        with contextlib.ExitStack() as forward_only:
            if "fwd" in name and "bwd" not in name:
                forward_only.enter_context(fg.no_grad())
                if torch is not None:
                    forward_only.enter_context(torch.no_grad())
            seconds = best_seconds_interleaved(
                fns, args.repeat, settle=0.0 if gpu else 0.2, sync=gpu_sync if gpu else lambda: None
            )
        ms = [s * 1e3 for s in seconds] + [None] * (2 - len(seconds))
        ratio = ms[1] / ms[0] if ms[1] is not None else None
        gflops = [None if (flops is None or t is None) else flops / t / 1e6 for t in ms]
        table.append(
            {
                "name": name.strip(),
                "forgegrad_ms": ms[0],
                "torch_ms": ms[1],
                "torch_over_forgegrad": ratio,
                "forgegrad_gflops": gflops[0],
                "torch_gflops": gflops[1],
            }
        )
        print(
            f"{name:24} {ms[0]:12.3f} {cell(ms[1], 9, '.3f')} {cell(ratio, 10, '.2f')} "
            f"{cell(gflops[0], 10, '.1f')} {cell(gflops[1], 13, '.1f')}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "bench": "conv",
                    "device": args.device,
                    "threads": fg.get_num_threads(),
                    "rows": table,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
