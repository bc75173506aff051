"""cat, stack, split, chunk, unbind against numpy: shapes, dtype promotion, views (split,
chunk and unbind share the input's memory), gradients in float64, errors."""

import numpy as np
import pytest

import forgegrad as fg

from helpers import as_tensor, gradcheck, make_input, to_numpy


@pytest.mark.parametrize(
    "shapes,dim",
    [
        ([(2, 3), (4, 3), (1, 3)], 0),
        ([(2, 3), (2, 1)], 1),
        ([(2, 3, 4), (2, 3, 1)], -1),
        ([(5,)], 0),
    ],
    ids=str,
)
def test_cat_and_gradients(shapes, dim, device):
    arrays = [make_input(s) for s in shapes]
    got = fg.cat([as_tensor(a, device) for a in arrays], dim)
    np.testing.assert_array_equal(to_numpy(got), np.concatenate(arrays, dim))
    gradcheck(lambda *t: fg.cat(list(t), dim), *arrays, device=device)


def test_cat_dtypes_views_and_empties(device):
    ints, floats = fg.tensor([1, 2], device=device), fg.tensor([0.5], device=device)
    assert fg.cat([ints, floats]).dtype == fg.float32  # promoted, as PyTorch
    x = as_tensor(make_input((4, 6)), device)
    np.testing.assert_array_equal(
        to_numpy(fg.cat([x.T, x.T[:2]])), np.concatenate([to_numpy(x).T, to_numpy(x).T[:2]])
    )
    # 1-d empty tensors are skipped whatever the others' shapes (PyTorch's legacy rule)
    assert fg.cat([fg.zeros(0, device=device), x]).shape == (4, 6)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack(dim, device):
    arrays = [make_input((2, 3)) for _ in range(3)]
    got = fg.stack([as_tensor(a, device) for a in arrays], dim)
    np.testing.assert_array_equal(to_numpy(got), np.stack(arrays, dim))
    gradcheck(lambda *t: fg.stack(list(t), dim), *arrays, device=device)


def test_split_chunk_unbind_are_views(device):
    x = as_tensor(np.arange(24, dtype=np.float32).reshape(4, 6), device)
    parts = x.split(4, dim=1)
    assert [tuple(p.shape) for p in parts] == [(4, 4), (4, 2)]
    assert [tuple(p.shape) for p in fg.split(x, [1, 3])] == [(1, 6), (3, 6)]
    assert [tuple(p.shape) for p in x.chunk(4, 1)] == [(4, 2)] * 3  # as PyTorch: 3 chunks
    rows = x.unbind()
    assert len(rows) == 4 and tuple(rows[0].shape) == (6,)
    x.add_(100.0)  # the pieces share x's memory
    assert to_numpy(parts[1])[0, 0] == 104.0 and to_numpy(rows[3])[0] == 118.0
    gradcheck(lambda t: t.split([2, 4], 1)[1] * 2.0, make_input((3, 6)), device=device)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: fg.cat([]), r"\[cat\] expected a non-empty list"),
        (lambda: fg.cat([fg.zeros(2, 3), fg.zeros(2, 4)]), r"\[cat\] sizes of tensors must match"),
        (
            lambda: fg.cat([fg.zeros(2, 3), fg.zeros(3)]),
            r"\[cat\] expected tensors of 2 dimensions",
        ),
        (lambda: fg.cat(fg.zeros(2)), r"\[cat\] expected a list or tuple of Tensors"),
        (lambda: fg.cat([fg.zeros(2), 1.0]), r"\[cat\] expected Tensors in the list"),
        (
            lambda: fg.stack([fg.zeros(2), fg.zeros(3)]),
            r"\[stack\] expects each tensor to be equal",
        ),
        (lambda: fg.zeros(5).split([2, 2]), r"\[split\] split sizes must add up to the size 5"),
        (lambda: fg.zeros(5).chunk(0), r"\[chunk\] expected chunks > 0"),
        (lambda: fg.tensor(1.0).unbind(), r"\[unbind\] expected a tensor with at least one"),
    ],
    ids=range(9),
)
def test_errors(call, message):
    with pytest.raises((ValueError, TypeError, IndexError), match=message):
        call()
