"""Ordering ops beyond tests/op_db.py's value and gradient checks: NaN placement, stability,
PyTorch's choices among ties, long lines (the merge passes), 0-d, empty and narrow dtypes,
unique and unique_consecutive against numpy, and the errors."""

import numpy as np
import pytest

import forgegrad as fg
from helpers import as_tensor, to_numpy

NAN = float("nan")
ROWS = np.array([[3.0, 1.0, 3.0, 2.0, 1.0, NAN], [2.0, 2.0, 1.0, 1.0, 5.0, 0.0]])


def test_sort_puts_nan_last_and_keeps_equal_values_in_order(device):
    values, indices = fg.sort(as_tensor(ROWS, device))
    np.testing.assert_array_equal(to_numpy(indices), [[1, 4, 3, 0, 2, 5], [5, 2, 3, 0, 1, 4]])
    values, indices = fg.sort(as_tensor(ROWS, device), descending=True)
    np.testing.assert_array_equal(to_numpy(values)[0], [NAN, 3, 3, 2, 1, 1])
    np.testing.assert_array_equal(to_numpy(indices), [[5, 0, 2, 3, 1, 4], [4, 0, 1, 2, 3, 5]])


@pytest.mark.parametrize("n", [1, 15, 16, 17, 1000, 4099])
@pytest.mark.parametrize("dim", [0, 1])
def test_sort_long_lines_match_numpy_stable_sort(n, dim, device):
    x = np.random.default_rng(n).integers(-20, 20, size=(n, 3) if dim == 0 else (3, n))
    for descending in (False, True):
        values, indices = fg.sort(as_tensor(x, device), dim=dim, descending=descending)
        order = np.argsort(-x if descending else x, axis=dim, kind="stable")
        np.testing.assert_array_equal(to_numpy(indices), order)
        np.testing.assert_array_equal(to_numpy(values), np.take_along_axis(x, order, axis=dim))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.uint8, np.int32])
def test_radix_sorted_lines_order_specials_as_comparisons_do(dtype, device):
    rng = np.random.default_rng(5)
    if np.issubdtype(dtype, np.floating):
        x = rng.integers(-4, 4, size=(2, 300)).astype(dtype) / 2
        x[:, ::7], x[:, 3::11], x[:, 5::13] = -0.0, np.inf, -np.inf
        x[:, 1::9] = NAN
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, int(info.max) + 1, size=(2, 300)).astype(dtype)
    nan = np.isnan(x) if np.issubdtype(dtype, np.floating) else np.zeros(x.shape, bool)
    for descending in (False, True):
        values, indices = fg.sort(as_tensor(x, device), dim=1, descending=descending)
        key = np.where(nan, 0, x).astype(np.float64)  # -0.0 == 0.0: ties keep their order
        order = np.stack(
            [
                np.lexsort((-k if descending else k, ~n if descending else n))
                for k, n in zip(key, nan)
            ]
        )
        np.testing.assert_array_equal(to_numpy(indices), order)
        np.testing.assert_array_equal(to_numpy(values), np.take_along_axis(x, order, 1))


@pytest.mark.parametrize("k", [1, 7, 100, 1000])
def test_topk_is_the_stable_sorts_first_k(k, device):
    x = np.random.default_rng(k).integers(-30, 30, size=(3, 1000)).astype(np.float32)
    x[1, ::17] = NAN
    for largest in (False, True):
        values, indices = fg.topk(as_tensor(x, device), k, largest=largest)
        order = np.argsort(-x if largest else x, axis=1, kind="stable")
        order[1] = np.argsort(
            np.where(np.isnan(x[1]), -np.inf if largest else np.inf, -x[1] if largest else x[1]),
            kind="stable",
        )
        np.testing.assert_array_equal(to_numpy(indices), order[:, :k])
        np.testing.assert_array_equal(to_numpy(values), np.take_along_axis(x, order[:, :k], 1))


def test_picking_ops_follow_pytorch_on_ties_and_nan(device):
    x = as_tensor(ROWS, device)
    assert to_numpy(fg.topk(x, 3).indices).tolist() == [[5, 0, 2], [4, 0, 1]]
    assert to_numpy(fg.topk(x, 3, largest=False).indices).tolist() == [[1, 4, 3], [5, 2, 3]]
    mode = fg.mode(x)  # the smallest of the most frequent, at its last occurrence
    assert to_numpy(mode.values).tolist() == [1, 1] and to_numpy(mode.indices).tolist() == [4, 3]
    median = fg.median(x, 1)  # a NaN row's median is its NaN
    assert np.isnan(to_numpy(median.values)[0]) and to_numpy(median.indices).tolist() == [5, 3]
    assert np.isnan(fg.median(x).item())
    nanmedian = fg.nanmedian(x, 1)
    assert to_numpy(nanmedian.values).tolist() == [2, 1]
    assert to_numpy(nanmedian.indices).tolist() == [3, 3]
    assert fg.nanmedian(x).item() == 2.0  # of the 11 numbers
    assert np.isnan(fg.nanmedian(as_tensor(np.array([NAN, NAN]), device)).item())


def test_zero_d_empty_and_narrow_dtypes(device):
    values, indices = fg.sort(as_tensor(np.array(3.0), device))
    assert values.shape == () and indices.item() == 0
    assert fg.topk(as_tensor(np.array(3.0), device), 1).values.item() == 3.0
    empty = fg.sort(as_tensor(np.zeros((0, 3)), device), dim=0)
    assert empty.values.shape == (0, 3) and empty.indices.dtype == fg.int64
    assert np.isnan(fg.median(as_tensor(np.zeros(0), device)).item())
    half = fg.sort(as_tensor(np.array([1.0, 3.0, 2.0]), device).half(), descending=True)
    assert half.values.dtype == fg.float16 and to_numpy(half.indices).tolist() == [1, 2, 0]
    flags = fg.sort(as_tensor(np.array([True, False, True]), device))
    assert flags.values.dtype == fg.bool and to_numpy(flags.indices).tolist() == [1, 0, 2]


def test_gradients_go_where_values_came_from():
    x = fg.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], requires_grad=True)
    fg.topk(x, 2).values.sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [[1, 0, 1], [0, 1, 1]])
    x.grad = None
    fg.median(x).backward()  # the lower of the middle two: 2
    np.testing.assert_array_equal(to_numpy(x.grad), [[0, 0, 1], [0, 0, 0]])


def test_changing_indices_in_place_fails_backward():
    x = fg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, indices = fg.sort(x)
    indices.zero_()
    with pytest.raises(RuntimeError, match="sort used was changed in place"):
        values.sum().backward()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fg.topk(fg.ones(2), 3), r"\[topk\] expected k in \[0, 2\]"),
        (lambda: fg.kthvalue(fg.ones(2), 0), r"\[kthvalue\] expected k in \[1, 2\]"),
        (lambda: fg.median(fg.ones(0, 3), 0), r"\[median\] expected a dimension of non-zero size"),
        (lambda: fg.mode(fg.ones(3, 0)), r"\[mode\] expected a dimension of non-zero size"),
        (lambda: fg.sort(fg.ones(2, 2), dim=2), r"\[sort\]"),
        (lambda: fg.unique(fg.ones(()), dim=0), r"\[unique\] dimension 0 is out of range"),
    ],
)
def test_errors_name_the_op(call, message):
    with pytest.raises(IndexError, match=message):
        call()


def test_unique_matches_numpy(device):
    x = np.random.default_rng(0).integers(0, 20, size=(50, 7))
    values, inverse, counts = fg.unique(
        as_tensor(x, device), return_inverse=True, return_counts=True
    )
    want_values, want_inverse, want_counts = np.unique(x, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(to_numpy(values), want_values)
    np.testing.assert_array_equal(to_numpy(inverse), want_inverse.reshape(x.shape))
    np.testing.assert_array_equal(to_numpy(counts), want_counts)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unique_along_dim_matches_numpy(dim, device):
    x = np.random.default_rng(1).integers(0, 2, size=(40, 3, 2)).swapaxes(0, dim % 3)
    values, inverse, counts = as_tensor(x, device).unique(
        dim=dim, return_inverse=True, return_counts=True
    )
    want_values, want_inverse, want_counts = np.unique(
        x, axis=dim, return_inverse=True, return_counts=True
    )
    np.testing.assert_array_equal(to_numpy(values), want_values)
    np.testing.assert_array_equal(to_numpy(inverse), want_inverse.reshape(-1))
    np.testing.assert_array_equal(to_numpy(counts), want_counts)


def test_unique_edges(device):
    values, counts = fg.unique(
        as_tensor(np.array([1.0, NAN, NAN, 0.0]), device), return_counts=True
    )  # NaNs are distinct, as in PyTorch
    np.testing.assert_array_equal(to_numpy(values), [0, 1, NAN, NAN])
    assert to_numpy(counts).tolist() == [1, 1, 1, 1]
    values, inverse = fg.unique(as_tensor(np.array(5), device), return_inverse=True)
    assert to_numpy(values).tolist() == [5] and inverse.shape == () and inverse.item() == 0
    values, counts = fg.unique(as_tensor(np.zeros((0, 3)), device), dim=0, return_counts=True)
    assert values.shape == (0, 3) and counts.shape == (0,)


def test_unique_consecutive(device):
    x = as_tensor(np.array([1, 1, 2, 2, 3, 1, 1, 2]), device)
    values, inverse, counts = fg.unique_consecutive(x, return_inverse=True, return_counts=True)
    assert to_numpy(values).tolist() == [1, 2, 3, 1, 2]
    assert to_numpy(inverse).tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    assert to_numpy(counts).tolist() == [2, 2, 1, 2, 1]
    rows = as_tensor(np.array([[1, 2], [1, 2], [0, 5], [1, 2]]), device)
    assert to_numpy(fg.unique_consecutive(rows, dim=0)).tolist() == [[1, 2], [0, 5], [1, 2]]
