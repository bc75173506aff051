"""The character-level GPT's training step: forgegrad against the same model in PyTorch (CPU),
same weights and batch, in one process; tokens per second of both, and where forgegrad's
step time goes.

    python bench/gpt.py [--repeat 5] [--json out.json]

The model is `forgegrad train --task charlm`'s default (4 layers, 4 heads, width 128,
context 128, head tied to the token embedding; vocabulary of the stdlib corpus), batch 32
windows of the training text. A step is what train_charlm does: zero_grad, forward,
cross-entropy, backward, clip_grad_norm_(1.0), AdamW.step (a constant lr of 2e-3 here). The
PyTorch twin below has the same parameter names, so forgegrad's initial state dict loads into
it; both then take CHECKED_STEPS (5) steps on the same batches and their losses are printed side by
side and must agree to 1e-4 (relative). Timing: interleaved rounds, best round
(bench/timing.py). "fg / torch" above 1 means forgegrad is faster.

The profile times each part of the step on its own, at the model's shapes, forward and
backward, summed over the layers that have it: the GEMMs of the Linear layers, attention
(the reshapes around it and scaled_dot_product_attention), LayerNorm, GELU, the residual
additions, embeddings, cross-entropy, clipping and the optimizer; "rest" is the step minus
their sum (the autograd engine's bookkeeping, Python, and what the parts do differently
when run together).

Last, a floor under any step: the step's matrix products (the Linear layers' and
attention's, its causal half only) in GFLOP, timed at the best rate a large GEMM reaches
here in either library, against the step time that 1.5x PyTorch's tokens/s asks for.
"""

import json
import platform

import numpy as np

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad.charlm import GPT, GPTConfig, load_corpus

from timing import best_seconds_interleaved, cell, optional_torch, parse_args

torch = optional_torch(fg.get_num_threads())
BATCH, LR, CHECKED_STEPS = 32, 2e-3, 5


def torch_gpt(config):
    """The same GPT in PyTorch, with forgegrad.charlm.model's parameter names."""
    m, tF = torch.nn, torch.nn.functional

    class CausalSelfAttention(m.Module):
        def __init__(self):
            super().__init__()
            self.qkv = m.Linear(config.width, 3 * config.width)
            self.proj = m.Linear(config.width, config.width)

        def forward(self, x):
            b, t, c = x.shape
            qkv = self.qkv(x).reshape(b, t, 3, config.heads, c // config.heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
            y = tF.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.proj(y.transpose(1, 2).reshape(b, t, c))

    class MLP(m.Module):
        def __init__(self):
            super().__init__()
            self.fc = m.Linear(config.width, 4 * config.width)
            self.gelu = m.GELU()
            self.proj = m.Linear(4 * config.width, config.width)

        def forward(self, x):
            return self.proj(self.gelu(self.fc(x)))

    class Block(m.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.attn = m.LayerNorm(config.width), CausalSelfAttention()
            self.ln2, self.mlp = m.LayerNorm(config.width), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(m.Module):
        def __init__(self):
            super().__init__()
            self.wte = m.Embedding(config.vocab_size, config.width)
            self.wpe = m.Embedding(config.context, config.width)
            self.blocks = m.ModuleList(Block() for _ in range(config.layers))
            self.ln_f = m.LayerNorm(config.width)
            self.head = m.Linear(config.width, config.vocab_size, bias=False)
            self.head.weight = self.wte.weight

        def forward(self, ids):
            x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    return GPT()


def training_step(lib, model, batches):
    """train_charlm's step, the same text for both libraries; each call takes the next batch
    of `batches` (cycling) and returns the loss."""
    optimizer = lib.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    cross_entropy = lib.nn.functional.cross_entropy
    position = [0]

    def step():
        x, y = batches[position[0] % len(batches)]
        position[0] += 1
        optimizer.zero_grad()
        logits = model(x)
        loss = cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss

    return step


def check_losses(fg_step, torch_step, steps):
    """Both libraries' losses over the first steps, printed, agreeing to 1e-4 (relative)."""
    print(f"{'step':>4} {'forgegrad loss':>15} {'torch loss':>15} {'rel. diff':>10}")
    for i in range(steps):
        ours, theirs = fg_step().item(), torch_step().item()
        difference = abs(ours - theirs) / abs(theirs)
        print(f"{i + 1:>4} {ours:15.8f} {theirs:15.8f} {difference:10.2e}")
        assert difference <= 1e-4, f"step {i + 1}: losses {ours} and {theirs} differ"


# ---------------------------------------------------------------------------- the profile
def block_linears(width):
    """{name: (in, out)} of the Linear layers of one transformer block."""
    return {
        "qkv": (width, 3 * width),
        "attn proj": (width, width),
        "mlp fc": (width, 4 * width),
        "mlp proj": (4 * width, width),
    }


def part_timers(lib, config, x_ids, y_ids):
    """{part: (function, how many of it a step runs)}: forward and backward of each part of
    the step at the model's shapes, on random inputs of library `lib`."""
    m = lib.nn
    functional = F if lib is fg else torch.nn.functional
    rng = np.random.default_rng(0)
    b, t, c, h = BATCH, config.context, config.width, config.heads

    def tensor(*shape, grad=True):
        values = rng.standard_normal(shape, dtype=np.float32)
        return (
            fg.tensor(values, requires_grad=grad)
            if lib is fg
            else torch.tensor(values, requires_grad=grad)
        )

    def fwd_bwd(fn, *inputs):
        def run():
            for value in inputs:
                value.grad = None
            out = fn()
            out.backward(lib.ones_like(out))

        return run

    x, wide = tensor(b, t, c), tensor(b, t, 4 * c)
    linears = {name: m.Linear(i, o) for name, (i, o) in block_linears(c).items()}
    head = m.Linear(c, config.vocab_size, bias=False)
    qkv_out = tensor(b, t, 3 * c)
    norm, gelu = m.LayerNorm(c), m.GELU()
    embedding, positions = m.Embedding(config.vocab_size, c), m.Embedding(t, c)
    logits = tensor(b * t, config.vocab_size)
    model = GPT(config) if lib is fg else torch_gpt(config)
    params = list(model.parameters())
    for p in params:
        p.grad = lib.zeros_like(p)
    optimizer = lib.optim.AdamW(params, lr=LR, weight_decay=0.0)

    def attention():
        qkv = qkv_out.reshape(b, t, 3, h, c // h)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        y = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return y.transpose(1, 2).reshape(b, t, c)

    parts = {
        f"GEMM {name}": (
            fwd_bwd(lambda layer=layer, i=(wide if name == "mlp proj" else x): layer(i), x, wide),
            config.layers,
        )
        for name, layer in linears.items()
    }
    parts["GEMM head"] = (fwd_bwd(lambda: head(x), x), 1)
    parts["attention"] = (fwd_bwd(attention, qkv_out), config.layers)
    parts["LayerNorm"] = (fwd_bwd(lambda: norm(x), x), 2 * config.layers + 1)
    parts["GELU"] = (fwd_bwd(lambda: gelu(wide), wide), config.layers)
    parts["residual add"] = (fwd_bwd(lambda: x + x, x), 2 * config.layers)
    parts["embeddings"] = (fwd_bwd(lambda: embedding(x_ids) + positions(lib.arange(t))), 1)
    parts["cross-entropy"] = (
        fwd_bwd(lambda: functional.cross_entropy(logits, y_ids.reshape(-1)), logits),
        1,
    )
    parts["clip_grad_norm_"] = (lambda: lib.nn.utils.clip_grad_norm_(params, 1.0), 1)
    parts["AdamW step"] = (optimizer.step, 1)
    return parts


def profile(config, batch, step_seconds, repeat):
    """Print the time of each part of the step (ms, times the number of each per step)."""
    timers = [part_timers(fg, config, *batch[0])]
    if torch is not None:
        timers.append(part_timers(torch, config, *batch[1]))
    print(
        f"\n{'where the step goes':24} {'forgegrad ms':>12} {'share':>6} {'torch ms':>9} "
        f"{'share':>6}"
    )
    rows, total = [], [0.0] * len(timers)
    for name in timers[0]:
        seconds = best_seconds_interleaved([t[name][0] for t in timers], repeat)
        ms = [s * 1e3 * t[name][1] for s, t in zip(seconds, timers)]
        total = [a + b for a, b in zip(total, ms)]
        rows.append((name, ms))
    step_ms = [s * 1e3 for s in step_seconds]
    rows.append(("rest", [s - t for s, t in zip(step_ms, total)]))
    rows.append(("step", step_ms))
    table = []
    for name, ms in rows:
        ms = ms + [None] * (2 - len(ms))
        shares = [None if v is None else 100 * v / s for v, s in zip(ms, step_ms + [None])]
        table.append({"part": name, "forgegrad_ms": ms[0], "torch_ms": ms[1]})
        print(
            f"{name:24} {ms[0]:12.2f} {shares[0]:5.1f}% {cell(ms[1], 9, '.2f')} "
            f"{cell(shares[1], 5, '.1f')}{'%' if ms[1] is not None else ' '}"
        )
    return table


def product_floor(config, step_seconds, repeat):
    """The step's matrix products in GFLOP: each Linear's forward, input gradient and weight
    gradient (the head's too), and attention's seven products (QK^T and PV forward; the
    scores again, dP, dV, dK and dQ backward) over the causal half only. Timed at the best
    rate a large GEMM (2048^3) reaches here in either library, they are a floor under any
    step: what the issue's goal asks of the whole step is set against it."""
    b, t, c, h = BATCH, config.context, config.width, config.heads
    tokens = b * t
    weights = config.layers * sum(i * o for i, o in block_linears(c).values())
    gemm_flop = 6 * tokens * (weights + c * config.vocab_size)
    attention_flop = config.layers * 7 * 2 * b * h * (t * (t + 1) // 2) * (c // h)
    product_flop = gemm_flop + attention_flop
    rng = np.random.default_rng(0)
    a, w = (rng.standard_normal((2048, 2048), dtype=np.float32) for _ in range(2))
    libs = [fg] + ([torch] if torch is not None else [])
    operands = [(lib.tensor(a), lib.tensor(w)) for lib in libs]
    seconds = best_seconds_interleaved(
        [lambda x=x, y=y: x @ y for x, y in operands], repeat, min_time=0.3
    )
    rates = [2 * 2048**3 / s / 1e9 for s in seconds]
    floor_ms = product_flop / max(rates) / 1e6
    print(
        f"\nthe step's products: {gemm_flop / 1e9:.2f} GFLOP in the Linear layers, "
        f"{attention_flop / 1e9:.2f} in attention (causal half)"
    )
    print(
        "best GEMM rate here (2048^3): "
        + ", ".join(f"{lib.__name__} {r:.0f} GFLOP/s" for lib, r in zip(libs, rates))
    )
    print(f"the products alone at the best rate: {floor_ms:.1f} ms per step")
    if len(step_seconds) > 1:
        print(f"1.5x torch's tokens/s needs the whole step in {step_seconds[1] * 1e3 / 1.5:.1f} ms")
    return {
        "product_gflop": product_flop / 1e9,
        "gemm_gflops": rates,
        "product_floor_ms": floor_ms,
    }


def main():
    args = parse_args(__doc__, repeat=5)
    fg.manual_seed(0)
    corpus = load_corpus()
    config = GPTConfig(len(corpus.vocabulary))
    rng = np.random.default_rng(0)
    arrays = [corpus.batch("train", BATCH, config.context, rng) for _ in range(8)]
    print(
        f"forgegrad {fg.__version__} (isa={fg.info()['isa']}, threads={fg.get_num_threads()}), "
        f"torch {torch.__version__ if torch else '(not installed)'}, "
        f"{platform.processor() or platform.machine()}"
    )
    model = GPT(config)
    print(
        f"GPT: {config.layers} layers, {config.heads} heads, width {config.width}, context "
        f"{config.context}, vocabulary {config.vocab_size}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters; batch {BATCH}"
    )
    fg_batches = [(fg.tensor(x), fg.tensor(y)) for x, y in arrays]
    steps = [training_step(fg, model, fg_batches)]
    if torch is not None:
        twin = torch_gpt(config)
        twin.load_state_dict(
            {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in model.state_dict().items()}
        )
        torch_batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in arrays]
        steps.append(training_step(torch, twin, torch_batches))
        check_losses(*steps, CHECKED_STEPS)
    seconds = best_seconds_interleaved(steps, args.repeat, min_time=0.5)
    tokens = BATCH * config.context
    rates = [tokens / s for s in seconds] + [None] * (2 - len(seconds))
    ratio = rates[0] / rates[1] if rates[1] else None
    print(f"\n{'training step':24} {'forgegrad':>12} {'torch':>12} {'fg / torch':>10}")
    print(
        f"{'ms per step':24} {seconds[0] * 1e3:12.1f} "
        f"{cell(seconds[1] * 1e3 if len(seconds) > 1 else None, 12, '.1f')}"
    )
    print(
        f"{'tokens/s':24} {rates[0]:12,.0f} {cell(rates[1], 12, ',.0f')} {cell(ratio, 10, '.2f')}"
    )
    result = {
        "bench": "gpt",
        "threads": fg.get_num_threads(),
        "batch": BATCH,
        "context": config.context,
        "forgegrad_tokens_per_s": rates[0],
        "torch_tokens_per_s": rates[1],
        "fg_over_torch": ratio,
    }
    batch = [fg_batches[0]] + ([torch_batches[0]] if torch is not None else [])
    result["profile"] = profile(config, batch, seconds, args.repeat)
    result["floor"] = product_floor(config, seconds, args.repeat)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
