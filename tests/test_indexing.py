"""x[key] and x[key] = value against numpy: values, shapes and whether memory is shared, for
basic keys (views), advanced keys (int tensors, lists, arrays, masks; copies), mixes of both,
and errors; gradients through both in float64; the indexing ops (where, masked_fill, ...)."""

import numpy as np
import pytest

import forgegrad as fg

from helpers import as_tensor, gradcheck, make_input, to_numpy

A = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
MASK = (A % 7) < 3
I = np.array([1, 0, 1])  # noqa: E741 (reads as the index in the cases below)

# (key, whether the result is a view); keys whose numpy and PyTorch results differ (an int
# beside a separated advanced index) are left out: forgegrad follows PyTorch there.
KEYS = [
    (0, True),
    (-1, True),
    ((1, 2), True),
    ((slice(None), 0), True),
    ((..., 1), True),
    ((None, 0), True),
    ((slice(1, None, 2), slice(None, None, 3)), True),
    ((0, ..., None), True),
    ((slice(None), slice(None), slice(None), slice(None)), True),
    ((slice(0, 0),), True),
    ([1, 0], False),
    ((I,), False),
    ((slice(None), [2, 0, 1]), False),
    ((slice(None), I, I), False),
    ((I, slice(None), I), False),
    ((..., I), False),
    ((slice(None), I, slice(None), I), False),
    ((np.array([[0, 1], [1, 0]]),), False),
    ((slice(None), np.array([[0], [2]]), np.array([1, 3])), False),
    ((np.array(1),), False),
    ((MASK,), False),
    ((0, MASK[0]), False),
    ((slice(None), MASK[0]), False),
    ((MASK[:, :, 0, 0], slice(None), 1), False),
    ((np.array([], dtype=np.int64),), False),
    ((slice(None), [-1, -3]), False),
    ((None, I), False),
    (([[0, 1]], [[2], [1]]), False),
    ((np.array([0, 1], dtype=np.int32),), False),
    ((np.array([0, 1], dtype=np.uint8),), False),
]


def _fg_key(key, device, as_tensors):
    """The key with its arrays as forgegrad tensors (or left as arrays and lists)."""
    if not isinstance(key, tuple):
        key = (key,)
    convert = (lambda v: as_tensor(v, device)) if as_tensors else (lambda v: v)
    return tuple(convert(k) if isinstance(k, np.ndarray) else k for k in key)


@pytest.mark.parametrize("as_tensors", [True, False], ids=["tensors", "arrays"])
@pytest.mark.parametrize("key,view", KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_getitem(key, view, as_tensors, device):
    t = as_tensor(A, device)
    got = t[_fg_key(key, device, as_tensors)]
    want = A[key]
    assert tuple(got.shape) == want.shape
    np.testing.assert_array_equal(to_numpy(got), want)
    # a view shares t's memory: a write to t shows through it, and not through a copy
    t.add_(1.0)
    np.testing.assert_array_equal(to_numpy(got), want + 1 if view else want)


@pytest.mark.parametrize("key,view", KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_setitem(key, view, device):
    want = A.copy()
    shape = want[key].shape
    # Where the key picks an element twice, which write lands is not defined (on a GPU):
    # such keys get values that agree wherever they pick the same element.
    picked = np.arange(A.size).reshape(A.shape)[key]
    repeats = picked.size != np.unique(picked).size
    value = (A[key] if repeats else np.arange(picked.size, dtype=np.float32).reshape(shape)) + 1000
    want[key] = value
    t = as_tensor(A, device)
    t[_fg_key(key, device, True)] = as_tensor(value, device)
    np.testing.assert_array_equal(to_numpy(t), want)
    # a number, and a value broadcast from a row
    want[key] = -1.0
    t[_fg_key(key, device, True)] = -1.0
    np.testing.assert_array_equal(to_numpy(t), want)
    if len(shape) and not repeats:
        row = value.reshape(-1, shape[-1])[0] if value.size else value
        want[key] = row
        t[_fg_key(key, device, True)] = as_tensor(row, device)
        np.testing.assert_array_equal(to_numpy(t), want)


def test_setitem_converts_dtypes_and_overlaps(device):
    i = fg.tensor([1, 2, 3, 4], device=device)
    i[[0, 1]] = 2.7  # a float into an int tensor truncates, as PyTorch
    i[i > 3] = fg.tensor(0.0, device=device)
    assert i.cpu().tolist() == [2, 2, 3, 0]
    x = fg.tensor([1.0, 2.0, 3.0, 4.0], device=device)
    x[1:] = x[:-1]  # overlapping source and destination: read before written
    assert x.cpu().tolist() == [1.0, 1.0, 2.0, 3.0]
    x[[3, 0]] = x[[0, 3]]
    assert x.cpu().tolist() == [3.0, 1.0, 2.0, 1.0]


def test_augmented_assignment(device):
    x = fg.zeros(2, 3, device=device)
    x[0] += 1  # a view: written in place, then written back to itself
    x[:, [0, 2]] += fg.tensor([10.0, 20.0], device=device)
    x[x > 15] *= 2
    np.testing.assert_array_equal(to_numpy(x), [[11, 1, 42], [10, 0, 40]])


def test_setitem_errors(device):
    x = fg.zeros(2, 3, device=device)
    with pytest.raises(
        ValueError,
        match=r"\[setitem\] a value of shape \(2,\) cannot be "
        r"broadcast to the indexed shape \(3,\)",
    ):
        x[0] = fg.zeros(2, device=device)
    with pytest.raises(ValueError, match=r"cannot be broadcast"):
        x[[0, 1]] = fg.zeros(4, device=device)
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 0 with size 2"):
        x[[2]] = 1.0
    leaf = fg.zeros(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\[setitem\] a leaf tensor that requires grad"):
        leaf[0] = 1.0
    with fg.no_grad():
        leaf[0] = 1.0
    assert leaf.cpu().tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "key,message",
    [
        ((0, 0, 0), "too many indices for a tensor of dimension 2"),
        (([0, 3],), "index 3 is out of bounds for dimension 0 with size 3"),
        ((slice(None), [-5]), "index -5 is out of bounds for dimension 1 with size 4"),
        (([0, 1], [0, 1, 2]), "cannot be broadcast"),
        ((np.ones((2, 4), bool),), r"the shape of the mask \(2, 4\)"),
    ],
    ids=str,
)
def test_getitem_errors(key, message, device):
    t = as_tensor(make_input((3, 4)), device)
    with pytest.raises((IndexError, ValueError), match=message):
        t[_fg_key(key, device, True)]


GRAD_KEYS = [
    (slice(None), [2, 0, 2]),
    ((MASK[0, :, :, 0],)),
    ((I, slice(None), [0, 1, 3])),
    ((0, slice(1, 3))),
]


@pytest.mark.parametrize("key", GRAD_KEYS, ids=str)
def test_getitem_gradients(key, device):
    k = _fg_key(key, device, True)
    gradcheck(lambda x: x[k], make_input((3, 4, 5)), device=device, max_checks=30)


# (repeated indices are left out: which of their values lands is not defined)
@pytest.mark.parametrize("key", GRAD_KEYS[1:] + [(slice(None), [2, 0])], ids=str)
def test_setitem_gradients(key, device):
    k = _fg_key(key, device, True)
    shape = make_input((3, 4, 5))[key].shape

    def f(x, v):
        y = x * 2.0
        y[k] = v * 3.0
        return y

    gradcheck(f, make_input((3, 4, 5)), make_input(shape), device=device, max_checks=30)


def test_setitem_keeps_the_history_other_ops_saw(device):
    # y's values are used by a later op (y[[0, 2]] + ...) and then overwritten: the gradient
    # through the earlier read still reaches x.
    x = fg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x * 1.0
    y[[0, 2]] += x[[1, 1]]
    y.sum().backward()
    assert x.grad.cpu().tolist() == [1.0, 3.0, 1.0]


def test_where_masked_fill_nonzero(device):
    c = np.array([[True, False, True], [False, False, True]])
    a, b = make_input((2, 3)), make_input((3,))
    np.testing.assert_array_equal(
        to_numpy(fg.where(as_tensor(c, device), as_tensor(a, device), as_tensor(b, device))),
        np.where(c, a, b),
    )
    w = fg.where(as_tensor(c, device), as_tensor(a, device), 0)  # a number: a's dtype
    assert w.dtype == fg.float32
    ints = fg.where(as_tensor(c, device), fg.tensor([1, 2, 3], device=device), 2.5)
    assert ints.dtype == fg.float32  # int tensor and a float number: float32, as PyTorch
    m = as_tensor(a, device).masked_fill(as_tensor(c[0], device), -1.0)
    np.testing.assert_array_equal(to_numpy(m), np.where(c[0], -1.0, a).astype(np.float32))
    np.testing.assert_array_equal(to_numpy(fg.nonzero(as_tensor(c, device))), np.argwhere(c))
    rows, cols = fg.where(as_tensor(c, device))
    np.testing.assert_array_equal(to_numpy(rows), np.nonzero(c)[0])
    np.testing.assert_array_equal(to_numpy(cols), np.nonzero(c)[1])
    with pytest.raises(TypeError, match=r"\[where\] expected a bool condition"):
        fg.where(as_tensor(a, device), as_tensor(a, device), as_tensor(a, device))


def test_where_gradients(device):
    c = as_tensor(np.array([[True, False, True], [False, False, True]]), device)
    gradcheck(lambda a, b: fg.where(c, a, b), make_input((2, 3)), make_input((3,)), device=device)


def test_where_0d_keeps_the_graph_of_the_input_not_taken():
    x = fg.tensor(1.5, requires_grad=True)
    fg.where(fg.tensor(True), fg.tensor(2.0), x).backward()
    assert x.grad.item() == 0.0


def test_index_put_accumulates(device):
    x = fg.zeros(4, device=device)
    x.index_put_(
        (fg.tensor([1, 1, 3], device=device),), fg.tensor(2.0, device=device), accumulate=True
    )
    assert x.cpu().tolist() == [0.0, 4.0, 0.0, 2.0]
    y = x.index_put((fg.tensor([0], device=device),), fg.tensor([5.0], device=device))
    assert y.cpu().tolist() == [5.0, 4.0, 0.0, 2.0] and x.cpu().tolist()[0] == 0.0


def test_masked_fill_in_place(device):
    a = make_input((3, 4))
    mask = make_input((4,)) > 0
    t = as_tensor(a, device)
    assert t.masked_fill_(as_tensor(mask, device), 7.0) is t
    np.testing.assert_array_equal(to_numpy(t), np.where(mask, np.float32(7.0), a))
    leaf = as_tensor(a, device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\[masked_fill_\] a leaf tensor that requires grad"):
        leaf.masked_fill_(as_tensor(mask, device), 0.0)
