"""An LSTM that learns to add: two numbers written as digit strings, read digit by digit, and
their sum written out digit by digit, a task whose every answer is known.

    python examples/lstm_sequence.py [--digits 8] [--steps 600] [--seed 0]

Each time step reads one digit of each addend, least significant first (a one-hot pair, 20
inputs), and the LSTM writes the sum's digit at that position (10 classes); one more step of
zeros reads out the last carry. The carry is what the recurrence must learn: a digit of the
sum depends on every digit before it. Accuracy counts whole sums, every digit right, on
numbers never seen in training. A run with the defaults (600 steps of batch 64, 8-digit
numbers, 2 CPU threads; 46 s on a busy shared 2-core machine, 8.5 s of CPU time) ended at
loss 0.0115 with 100.0% of the 2000 held-out sums exactly right.
"""

import argparse
import time

import numpy as np

import forgegrad as fg
from forgegrad import nn, optim

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--digits", type=int, default=8)
parser.add_argument("--steps", type=int, default=600)
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--hidden", type=int, default=64)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()


def additions(count: int, digits: int, rng: np.random.Generator) -> tuple[fg.Tensor, fg.Tensor]:
    """count random sums: inputs (count, digits + 1, 20) one-hot digit pairs, least
    significant first, and targets (count, digits + 1): the digits of a + b."""
    a = rng.integers(0, 10, size=(count, digits))
    b = rng.integers(0, 10, size=(count, digits))
    place = 10 ** np.arange(digits)
    total = (a * place).sum(1) + (b * place).sum(1)
    targets = (total[:, None] // 10 ** np.arange(digits + 1)) % 10
    inputs = np.zeros((count, digits + 1, 20), dtype=np.float32)
    rows, steps = np.arange(count)[:, None], np.arange(digits)[None, :]
    inputs[rows, steps, a] = 1.0
    inputs[rows, steps, 10 + b] = 1.0
    return fg.tensor(inputs), fg.tensor(targets)


class Adder(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(20, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x: fg.Tensor) -> fg.Tensor:
        out, _ = self.lstm(x)  # (batch, steps, hidden)
        return self.head(out)  # (batch, steps, 10): a digit's logits at every step


fg.manual_seed(args.seed)
rng = np.random.default_rng(args.seed)
model = Adder(args.hidden)
optimizer = optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
test_x, test_y = additions(2000, args.digits, np.random.default_rng(args.seed + 1))

start = time.perf_counter()
for step in range(1, args.steps + 1):
    x, y = additions(args.batch, args.digits, rng)
    optimizer.zero_grad()
    loss = loss_fn(model(x).reshape(-1, 10), y.reshape(-1))
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if step % 100 == 0 or step == args.steps:
        print(f"step {step}: loss {loss.item():.4f} ({time.perf_counter() - start:.0f} s)")

with fg.no_grad():
    model.eval()
    predicted = model(test_x).argmax(-1)
digits_right = (predicted == test_y).numpy()
print(f"digit accuracy: {100 * digits_right.mean():.1f}%")
print(
    f"sum accuracy: {100 * digits_right.all(1).mean():.1f}% of {len(digits_right)} "
    f"held-out sums exactly right"
)
