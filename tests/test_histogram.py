"""bincount and histc: counts of values; PyTorch's result dtypes, errors and edges (their
values against numpy: tests/op_db.py)."""

import math

import numpy as np
import pytest

import forgegrad as fg

from helpers import np_histc, to_numpy


def test_bincount_result_types_follow_pytorch(device):
    x = fg.tensor([1, 3, 1, 0], dtype=fg.uint8, device=device)
    assert fg.bincount(x).dtype == fg.int64
    assert to_numpy(x.bincount(minlength=6)).tolist() == [1, 2, 0, 1, 0, 0]
    # float32 weights sum in float32; any other weights (float64, float16, integers) in float64
    for weights, dtype in [
        (fg.float32, fg.float32),
        (fg.float64, fg.float64),
        (fg.float16, fg.float64),
        (fg.int64, fg.float64),
    ]:
        w = fg.tensor([1, 2, 3, 4], device=device).to(weights)
        got = fg.bincount(x, weights=w)
        assert got.dtype == dtype and to_numpy(got).tolist() == [4.0, 4.0, 0.0, 2.0]
    assert to_numpy(fg.bincount(fg.tensor([], dtype=fg.int64, device=device))).tolist() == []


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        (([1, -2, 3],), {}, ValueError, r"\[bincount\] expected non-negative values, got -2"),
        (([[1, 2]],), {}, ValueError, r"\[bincount\] expected a 1-d tensor, got shape \(1, 2\)"),
        (([1.0, 2.0],), {}, TypeError, r"\[bincount\] expected an integer tensor, got float32"),
        (([True, False],), {}, TypeError, r"\[bincount\] expected an integer tensor, got bool"),
        (([1, 2],), {"minlength": -1}, ValueError, r"\[bincount\] expected minlength >= 0, got -1"),
        (
            ([1, 2],),
            {"weights": [1.0, 2.0, 3.0]},
            ValueError,
            r"\[bincount\] expected weights of the input's shape \(2,\), got shape \(3,\)",
        ),
    ],
)
def test_bincount_refuses_what_pytorch_refuses(args, kwargs, error, message):
    kwargs = {k: fg.tensor(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    with pytest.raises(error, match=message):
        fg.bincount(fg.tensor(*args), **kwargs)


def test_histc_range_edges_and_dtype(device):
    x = fg.tensor([1.0, 2.0, 1.0, 5.0, -1.0, math.nan, 3.0], dtype=fg.float64, device=device)
    got = fg.histc(x, bins=4, min=0, max=3)  # 3 lands in the last (closed) bin; -1, 5, NaN out
    assert got.dtype == fg.float64 and to_numpy(got).tolist() == [0.0, 2.0, 1.0, 1.0]
    single = fg.tensor([2.0, 2.0], dtype=fg.float16, device=device)  # one value: [1, 3]
    assert single.histc(bins=4).dtype == fg.float16
    assert to_numpy(single.histc(bins=4).float()).tolist() == [0.0, 0.0, 2.0, 0.0]
    empty = fg.histc(fg.tensor([], device=device), bins=3)
    assert to_numpy(empty).tolist() == [0.0, 0.0, 0.0]
    values = np.random.default_rng(3).normal(size=1000).astype(np.float32)
    np.testing.assert_array_equal(
        to_numpy(fg.histc(fg.tensor(values, device=device), bins=17)),
        np_histc(values.astype(np.float64), bins=17),
    )


@pytest.mark.parametrize(
    "values, kwargs, error, message",
    [
        ([1, 2], {}, TypeError, r"\[histc\] expected a floating-point tensor, got int64"),
        ([1.0, 2.0], {"bins": 0}, ValueError, r"\[histc\] expected bins > 0, got 0"),
        (
            [1.0, 2.0],
            {"min": 3.0, "max": 1.0},
            ValueError,
            r"\[histc\] expected max larger than min, got min 3 and max 1",
        ),
        ([1.0, math.inf], {}, ValueError, r"\[histc\] expected a finite range, got \[1, inf\]"),
        ([1.0, math.nan], {}, ValueError, r"\[histc\] expected a finite range"),
    ],
)
def test_histc_refuses_what_pytorch_refuses(values, kwargs, error, message):
    with pytest.raises(error, match=message):
        fg.histc(fg.tensor(values), **kwargs)


def test_counts_never_require_grad():
    # no gradient, as in PyTorch: the counts are not part of the graph
    x = fg.tensor([0.5, 1.5, 1.0], requires_grad=True)
    assert not fg.histc(x, bins=3).requires_grad
    w = fg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert not fg.bincount(fg.tensor([0, 2, 2]), weights=w).requires_grad
