"""A character-level GPT trained on the Python standard library's own source, in one script:
the model written out as ordinary Modules, a short training run, and a sample.

    python examples/char_gpt.py                  # 600 steps of a 3-layer, width-96 model
    python examples/char_gpt.py --steps 3000     # longer: the code it writes looks better

`forgegrad train --task charlm` is the same job with more options (forgegrad/charlm/); here
the corpus comes from forgegrad.charlm.load_corpus (the stdlib's .py files without the tests,
split by file, one id per character) and everything else is below. It prints the training
and validation loss in nats per character as it goes, then 300 characters that continue
"def " (a uniform guess over the ~220 characters would score a loss of 5.4 nats).
"""

import argparse
import math

import numpy as np
import numpy.typing as npt

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import nn, optim
from forgegrad.charlm import load_corpus
from forgegrad.sampling import sample_next


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)  # queries, keys and values in one product
        self.proj = nn.Linear(width, width)

    def forward(self, x: fg.Tensor) -> fg.Tensor:
        batch, length, width = x.shape
        qkv = self.qkv(x).reshape(batch, length, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (batch, heads, length, width/heads)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # sees only the past
        return self.proj(y.transpose(1, 2).reshape(batch, length, width))


class Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, x: fg.Tensor) -> fg.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class CharGPT(nn.Module):
    def __init__(self, vocab_size: int, context: int, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.context = context
        self.tokens = nn.Embedding(vocab_size, width)
        self.positions = nn.Embedding(context, width)
        self.blocks = nn.Sequential(*(Block(width, heads) for _ in range(layers)))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size, bias=False)
        self.head.weight = self.tokens.weight  # tied: one Parameter reads and writes characters

    def forward(self, ids: fg.Tensor) -> fg.Tensor:
        x = self.tokens(ids) + self.positions(fg.arange(ids.shape[1]))
        return self.head(self.ln(self.blocks(x)))


def loss_of(model: CharGPT, x: npt.NDArray[np.int64], y: npt.NDArray[np.int64]) -> fg.Tensor:
    logits = model(fg.tensor(x))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), fg.tensor(y).reshape(-1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--corpus", help="a directory of .py files (default: the stdlib)")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.05,
        help="about this share of the files is held out for validation",
    )
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=300, help="characters to sample")
    args = parser.parse_args()

    fg.manual_seed(0)
    rng = np.random.default_rng(0)
    corpus = load_corpus(args.corpus, args.val_fraction)
    vocabulary = corpus.vocabulary
    print(
        f"{len(corpus.train):,} training and {len(corpus.val):,} validation characters, "
        f"{len(vocabulary)} distinct"
    )

    model = CharGPT(len(vocabulary), args.context, args.width, args.layers, heads=4)
    optimizer = optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)
    steps: int = args.steps
    warmup = min(50, steps)  # then a cosine decay to a tenth of the learning rate

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / max(steps - warmup, 1)))

    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    for step in range(1, steps + 1):
        loss = loss_of(model, *corpus.batch("train", 32, args.context, rng))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        if step % 100 == 0 or step == steps:
            print(f"step {step}: train loss {loss.item():.3f} nats/char")

    model.eval()
    with fg.no_grad():
        val_rng = np.random.default_rng(1)
        val = np.mean(
            [
                loss_of(model, *corpus.batch("val", 32, args.context, val_rng)).item()
                for _ in range(16)
            ]
        )
        print(f"validation loss: {val:.3f} nats/char")
        ids = fg.tensor(vocabulary.encode("def ").astype(np.int64)).unsqueeze(0)
        for _ in range(args.tokens):
            logits = model(ids[:, -args.context :])[:, -1]
            next_id = sample_next(logits, temperature=0.8, top_k=40)
            ids = fg.cat([ids, next_id.unsqueeze(1)], dim=1)
    print("sample:")
    print(vocabulary.decode(ids[0]))


if __name__ == "__main__":
    main()
