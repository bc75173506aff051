"""digits(), spirals(), synthetic(): shapes, dtypes, value ranges, stratified splits that are
disjoint and cover the data, determinism for a seed, and errors on bad arguments."""

import importlib.util
import sys

import numpy as np
import pytest

from forgegrad import datasets
from forgegrad.data import TensorDataset

SMALL_SYNTHETIC = dict(n=600, features=50, classes=10)  # keeps the tests fast

needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None,
    reason="digits() needs scikit-learn (forgegrad[datasets])",
)


@pytest.fixture(scope="module")
def digits_splits():
    pytest.importorskip("sklearn", reason="digits() needs scikit-learn (forgegrad[datasets])")
    return datasets.digits(seed=0)


def columns(split):
    x, y = split.arrays
    return x, y


def all_rows(splits):
    """Features and labels of train + val + test, stacked."""
    parts = [columns(s) for s in (splits.train, splits.val, splits.test)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def sorted_rows(x, y):
    """Rows (features, label) in a canonical order, so that two sets of rows compare."""
    rows = np.concatenate([x.astype(np.float64), y[:, None].astype(np.float64)], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def check_structure(splits, name, num_features, num_classes, n):
    assert splits.name == name
    assert splits.num_features == num_features and splits.num_classes == num_classes
    for split in (splits.train, splits.val, splits.test):
        assert isinstance(split, TensorDataset)
        x, y = columns(split)
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.shape == (len(y), num_features) and len(split) == len(y)
        assert np.isfinite(x).all()
        assert y.min() >= 0 and y.max() < num_classes
    assert len(splits.train) + len(splits.val) + len(splits.test) == n


def check_stratified(splits, val_fraction, test_fraction, num_classes):
    """Each class makes up (almost) the same share of every split as of the whole."""
    _, y = all_rows(splits)
    total = np.bincount(y, minlength=num_classes)
    for split, fraction in ((splits.val, val_fraction), (splits.test, test_fraction)):
        counts = np.bincount(columns(split)[1], minlength=num_classes)
        assert np.all(np.abs(counts - fraction * total) <= 1.5), (counts, fraction * total)
    assert len(splits.test) == pytest.approx(test_fraction * len(y), abs=num_classes)
    assert len(splits.val) == pytest.approx(val_fraction * len(y), abs=num_classes)


def check_disjoint(splits):
    """No sample is in two splits (rows are distinct, so compare rows)."""
    x, y = all_rows(splits)
    rows = sorted_rows(x, y)
    assert not np.any(np.all(rows[1:] == rows[:-1], axis=1)), "a row appears twice"


def assert_same(a, b):
    for sa, sb in ((a.train, b.train), (a.val, b.val), (a.test, b.test)):
        for ca, cb in zip(sa.arrays, sb.arrays):
            np.testing.assert_array_equal(ca, cb)


# -------------------------------------------------------------------------- digits
def test_digits_shapes_ranges_and_coverage(digits_splits):
    splits = digits_splits
    check_structure(splits, "digits", 64, 10, 1797)
    x, y = all_rows(splits)
    assert x.min() == 0.0 and x.max() == 1.0
    # The splits together are exactly scikit-learn's data, scaled by 1/16.
    from sklearn.datasets import load_digits

    data = load_digits()
    np.testing.assert_array_equal(
        sorted_rows(x, y), sorted_rows((data.data / 16).astype(np.float32), data.target)
    )
    check_stratified(splits, 0.1, 0.2, 10)


def test_digits_seed(digits_splits):
    assert_same(digits_splits, datasets.digits(seed=0))
    other = datasets.digits(seed=1, val_fraction=0.15, test_fraction=0.25)
    assert not np.array_equal(columns(other.test)[1][:50], columns(digits_splits.test)[1][:50])
    check_stratified(other, 0.15, 0.25, 10)


def test_digits_without_scikit_learn(monkeypatch):
    # None in sys.modules makes `import sklearn...` fail as if it were not installed; the
    # submodules too, since an imported submodule is found without its parent.
    for name in {"sklearn"} | {m for m in sys.modules if m.startswith("sklearn.")}:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "forgegrad\[datasets\]"'):
        datasets.digits()


@pytest.mark.parametrize(
    "kwargs,error",
    [
        (dict(val_fraction=0.0), ValueError),
        (dict(test_fraction=1.0), ValueError),
        (dict(val_fraction=0.5, test_fraction=0.5), ValueError),
        (dict(test_fraction=-0.1), ValueError),
        (dict(val_fraction="0.1"), TypeError),
        (dict(seed=-1), ValueError),
        (dict(seed=0.5), TypeError),
        (dict(val_fraction=0.001), ValueError),  # too small to hold one sample of each class
    ],
)
@needs_sklearn  # the last case reaches scikit-learn's splitter
def test_digits_bad_arguments(kwargs, error):
    with pytest.raises(error, match=r"\[digits\]"):
        datasets.digits(**kwargs)


# ------------------------------------------------------------------------- spirals
def test_spirals_shapes_and_splits():
    splits = datasets.spirals(n=301, classes=4, noise=0.1, seed=3)
    check_structure(splits, "spirals", 2, 4, 301)
    check_disjoint(splits)
    check_stratified(splits, 0.1, 0.2, 4)
    x, y = all_rows(splits)
    assert sorted(np.bincount(y)) == [75, 75, 75, 76]  # split evenly, remainder spread
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius.max() <= 1.0 + 1e-6  # noise jitters the angle, never the radius


def test_spirals_noise_free_points_lie_on_their_arm():
    splits = datasets.spirals(n=90, classes=3, noise=0.0, seed=0)
    x, y = all_rows(splits)
    radius = np.hypot(x[:, 0], x[:, 1])
    angle = np.arctan2(x[:, 0], x[:, 1])  # x = r sin(t), y = r cos(t)
    expected = 4.0 * radius + 2.0 * np.pi * y / 3  # t = 4 r + arm offset
    keep = radius > 1e-3  # the angle of the origin is undefined
    diff = np.angle(np.exp(1j * (angle[keep] - expected[keep])))
    np.testing.assert_allclose(diff, 0.0, atol=1e-5)


def test_spirals_determinism():
    assert_same(datasets.spirals(seed=7), datasets.spirals(seed=7))
    a, b = datasets.spirals(seed=7), datasets.spirals(seed=8)
    assert not np.array_equal(a.train.arrays[0], b.train.arrays[0])


@pytest.mark.parametrize(
    "kwargs,error",
    [
        (dict(classes=1), ValueError),
        (dict(n=2, classes=3), ValueError),
        (dict(noise=-0.1), ValueError),
        (dict(noise=float("nan")), ValueError),
        (dict(n=10.0), TypeError),
        (dict(classes=True), TypeError),
        (dict(test_fraction=0.0), ValueError),
        (dict(val_fraction=0.6, test_fraction=0.4), ValueError),
        (dict(n=6, classes=3), ValueError),  # val would be empty
    ],
)
def test_spirals_bad_arguments(kwargs, error):
    with pytest.raises(error, match=r"\[spirals\]"):
        datasets.spirals(**kwargs)


# ----------------------------------------------------------------------- synthetic
def test_synthetic_default_shape_is_mnists():
    splits = datasets.synthetic(n=200)
    check_structure(splits, "synthetic", 784, 10, 200)


def test_synthetic_splits_and_learnability():
    splits = datasets.synthetic(seed=1, **SMALL_SYNTHETIC)
    check_structure(splits, "synthetic", 50, 10, 600)
    check_disjoint(splits)
    check_stratified(splits, 0.1, 0.2, 10)
    assert np.bincount(all_rows(splits)[1]).tolist() == [60] * 10
    # Nearest class mean (from train) classifies test well above chance (10%), not perfectly.
    x, y = columns(splits.train)
    xt, yt = columns(splits.test)
    means = np.stack([x[y == c].mean(axis=0) for c in range(10)])
    guess = np.argmin(((xt[:, None, :] - means[None]) ** 2).sum(axis=-1), axis=1)
    assert 0.6 < np.mean(guess == yt) < 1.0


def test_synthetic_noise_controls_difficulty():
    x, y = all_rows(datasets.synthetic(noise=0.0, **SMALL_SYNTHETIC))
    # Without noise every sample is its class mean: one distinct row per class.
    assert len(np.unique(x, axis=0)) == 10
    assert all(len(np.unique(x[y == c], axis=0)) == 1 for c in range(10))


def test_synthetic_determinism():
    assert_same(
        datasets.synthetic(seed=4, **SMALL_SYNTHETIC), datasets.synthetic(seed=4, **SMALL_SYNTHETIC)
    )
    a = datasets.synthetic(seed=4, **SMALL_SYNTHETIC)
    b = datasets.synthetic(seed=5, **SMALL_SYNTHETIC)
    assert not np.array_equal(a.train.arrays[0], b.train.arrays[0])


@pytest.mark.parametrize(
    "kwargs,error",
    [
        (dict(classes=1), ValueError),
        (dict(n=5, classes=10), ValueError),
        (dict(features=0), ValueError),
        (dict(noise=-1.0), ValueError),
        (dict(features=2.5), TypeError),
        (dict(val_fraction=1.2), ValueError),
        (dict(seed="0"), TypeError),
    ],
)
def test_synthetic_bad_arguments(kwargs, error):
    with pytest.raises(error, match=r"\[synthetic\]"):
        datasets.synthetic(**kwargs)
