"""Small classification data sets, split into train / validation / test.

    splits = datasets.digits(seed=0)
    model = nn.Sequential(nn.Linear(splits.num_features, 128), nn.ReLU(),
                          nn.Linear(128, splits.num_classes))
    train = DataLoader(splits.train, batch_size=64, shuffle=True)

- ``digits``: scikit-learn's 8x8 handwritten digits (shipped with scikit-learn, no download).
- ``spirals``: 2-D interleaved spirals, the classic small non-linear problem.
- ``synthetic``: Gaussian class clusters of MNIST's shape (784 features, 10 classes) for
  benchmarks.

Every split is stratified (each class in the same proportion in train, val and test) and
deterministic for a given seed. Features are float32, labels int64.
"""

import dataclasses
import math

import numpy as np

from . import _errors
from .data import TensorDataset
from ._checks import check_int, is_real

__all__ = ["Splits", "digits", "spirals", "synthetic"]

_SKLEARN_MISSING = (
    '[digits] needs scikit-learn, which is not installed: pip install "forgegrad[datasets]"'
)


@dataclasses.dataclass(frozen=True)
class Splits:
    """A data set split three ways; each split a ``TensorDataset`` of (features, labels)."""

    train: TensorDataset
    val: TensorDataset
    test: TensorDataset
    num_features: int
    num_classes: int
    name: str


# ------------------------------------------------------------------------ validation
def _check_int(op, name, value, minimum):
    return check_int(value, name, minimum, op)


def _check_float(op, name, value, minimum: float = 0.0):
    if not is_real(value):
        raise _errors.TypeError(f"[{op}] expected a number for {name}, got {value!r}")
    if not (math.isfinite(value) and value >= minimum):
        raise _errors.ValueError(f"[{op}] expected a finite {name} >= {minimum}, got {value}")
    return float(value)


def _check_fractions(op, val_fraction, test_fraction):
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not is_real(f):
            raise _errors.TypeError(f"[{op}] expected a number for {name}, got {f!r}")
        if not 0.0 < f < 1.0:
            raise _errors.ValueError(f"[{op}] expected 0 < {name} < 1, got {f}")
    if val_fraction + test_fraction >= 1.0:
        raise _errors.ValueError(
            f"[{op}] expected val_fraction + test_fraction < 1 (something "
            f"left to train on), got {val_fraction} + {test_fraction}"
        )


def _check_seed(op, seed) -> None:
    if seed is not None:
        _check_int(op, "seed", seed, 0)


# ------------------------------------------------------------------------- splitting
def _splits(name, x, y, parts, num_classes):
    """Splits from (x, y) and the (train, val, test) index arrays."""
    for part, index in zip(("train", "val", "test"), parts):
        if len(index) == 0:
            raise _errors.ValueError(
                f"[{name}] the {part} split came out empty; ask for more "
                f"samples or a larger fraction"
            )
    train, val, test = (TensorDataset(x[i], y[i]) for i in parts)
    return Splits(train, val, test, num_features=x.shape[1], num_classes=num_classes, name=name)


def _stratified(y, rng, val_fraction, test_fraction):
    """Index arrays (train, val, test), each class divided in the given proportions."""
    parts = ([], [], [])
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        n_test = round(test_fraction * len(members))
        n_val = round(val_fraction * len(members))
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    # Shuffle within each split so that samples are not grouped by class.
    return tuple(rng.permutation(np.concatenate(p)) for p in parts)


# -------------------------------------------------------------------------- data sets
def digits(seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.2) -> Splits:
    """scikit-learn's 1797 handwritten 8x8 digits: 64 pixel features in [0, 1], 10 classes.

    Needs scikit-learn (``pip install "forgegrad[datasets]"``). The split is stratified with
    scikit-learn's ``train_test_split`` (test first, then validation from the rest).
    """
    _check_fractions("digits", val_fraction, test_fraction)
    _check_seed("digits", seed)
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as e:
        raise ModuleNotFoundError(_SKLEARN_MISSING, name="sklearn") from e
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)  # pixels are 0..16
    y = data.target.astype(np.int64)
    index = np.arange(len(y))
    try:
        rest, test = train_test_split(index, test_size=test_fraction, stratify=y, random_state=seed)
        train, val = train_test_split(
            rest,
            test_size=val_fraction / (1.0 - test_fraction),
            stratify=y[rest],
            random_state=seed,
        )
    except ValueError as e:  # a split too small to hold every class
        raise _errors.ValueError(
            f"[digits] cannot split with val_fraction={val_fraction}, "
            f"test_fraction={test_fraction}: {e}"
        ) from e
    return _splits("digits", x, y, (train, val, test), num_classes=10)


def spirals(
    n: int = 300,
    classes: int = 3,
    noise: float = 0.2,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> Splits:
    """``classes`` interleaved 2-D spiral arms, ``n`` points in all (split evenly over the
    classes). Each arm sweeps 4 radians outwards from the origin, the arms rotated evenly
    about it; ``noise`` is the standard deviation of the angle's Gaussian jitter."""
    classes = _check_int("spirals", "classes", classes, 2)
    n = _check_int("spirals", "n", n, classes)
    noise = _check_float("spirals", "noise", noise)
    _check_seed("spirals", seed)
    _check_fractions("spirals", val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    sizes = [n // classes + (c < n % classes) for c in range(classes)]
    xs, ys = [], []
    for c, size in enumerate(sizes):
        radius = np.linspace(0.0, 1.0, size)
        angle = (
            np.linspace(0.0, 4.0, size)
            + 2.0 * np.pi * c / classes
            + noise * rng.standard_normal(size)
        )
        xs.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        ys.append(np.full(size, c, dtype=np.int64))
    x, y = np.concatenate(xs).astype(np.float32), np.concatenate(ys)
    parts = _stratified(y, rng, val_fraction, test_fraction)
    return _splits("spirals", x, y, parts, num_classes=classes)


def synthetic(
    n: int = 10000,
    features: int = 784,
    classes: int = 10,
    noise: float = 1.0,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> Splits:
    """Gaussian clusters with MNIST's shape: each class a random mean, each sample that mean
    plus noise of standard deviation ``noise``. Means are drawn with norm about 3, so at
    ``noise=1`` the classes are learnable but overlap a little, at any ``features``."""
    classes = _check_int("synthetic", "classes", classes, 2)
    n = _check_int("synthetic", "n", n, classes)
    features = _check_int("synthetic", "features", features, 1)
    noise = _check_float("synthetic", "noise", noise)
    _check_seed("synthetic", seed)
    _check_fractions("synthetic", val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((classes, features), dtype=np.float32)
    means *= 3.0 / math.sqrt(features)
    y = np.arange(n, dtype=np.int64) % classes  # balanced classes
    x = rng.standard_normal((n, features), dtype=np.float32)
    x *= noise
    x += means[y]
    parts = _stratified(y, rng, val_fraction, test_fraction)
    return _splits("synthetic", x, y, parts, num_classes=classes)
