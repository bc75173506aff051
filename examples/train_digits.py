"""Train a two-layer MLP on scikit-learn's handwritten digits with forgegrad's ops.

    pip install ".[datasets]" && python examples/train_digits.py

The model, its SGD update and the data loop are written out by hand here; the training API
(nn.Module, optim, fit) replaces them in the next release.
"""
import argparse
import math
import time

import numpy as np

import forgegrad as fg
import forgegrad.nn.functional as F


def load_digits(seed):
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise SystemExit('this example needs scikit-learn: pip install "forgegrad[datasets]"')
    data = sklearn_digits()
    x = (data.data / 16.0).astype(np.float32)  # pixels are 0..16
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = len(x) // 5
    return (x[n_test:], y[n_test:]), (x[:n_test], y[:n_test])


def linear_params(n_in, n_out):
    """PyTorch's default Linear initialization: U(-1/sqrt(in), 1/sqrt(in))."""
    bound = 1.0 / math.sqrt(n_in)
    weight = (fg.rand(n_out, n_in) * (2 * bound) - bound).requires_grad_()
    bias = (fg.rand(n_out) * (2 * bound) - bound).requires_grad_()
    return weight, bias


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    fg.manual_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_digits(args.seed)
    w1, b1 = linear_params(x_train.shape[1], args.hidden)
    w2, b2 = linear_params(args.hidden, 10)
    params = [w1, b1, w2, b2]

    def model(x):
        return F.linear(F.relu(F.linear(x, w1, b1)), w2, b2)

    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order), args.batch_size):
            batch = order[i:i + args.batch_size]
            loss = F.cross_entropy(model(fg.tensor(x_train[batch])), fg.tensor(y_train[batch]))
            for p in params:
                p.grad = None
            loss.backward()
            with fg.no_grad():
                for p in params:
                    p.copy_(p - args.lr * p.grad)
            total += loss.item() * len(batch)
        if epoch % 5 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:3d}  train loss {total / len(order):.4f}")

    with fg.no_grad():
        predictions = model(fg.tensor(x_test)).argmax(dim=1).numpy()
    accuracy = (predictions == y_test).mean()
    print(f"trained in {time.perf_counter() - start:.1f}s")
    print(f"test accuracy: {100 * accuracy:.1f}%")


if __name__ == "__main__":
    main()
