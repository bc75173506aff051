"""Tensor basics: dtypes, devices, creation functions, attributes, repr, numpy interop
(zero-copy both ways), item/tolist, conversions, views (reshape/view/flatten/slices),
transpose, and first-axis indexing with gradients."""

import gc

import numpy as np
import pytest

import forgegrad as fg

from helpers import as_tensor, assert_close, check_backward, check_forward, make_input, to_numpy

DTYPES = [
    (fg.float32, np.float32, "float32"),
    (fg.int64, np.int64, "int64"),
    (fg.bool, np.bool_, "bool"),
    (fg.uint8, np.uint8, "uint8"),
]


# ------------------------------------------------------------------- dtypes, devices
@pytest.mark.parametrize("dt,npdt,name", DTYPES, ids=[d[2] for d in DTYPES])
def test_dtype_objects(dt, npdt, name):
    assert str(dt) == f"forgegrad.{name}"
    assert dt == dt
    for other, _, oname in DTYPES:
        if oname != name:
            assert dt != other


def test_device_object():
    d = fg.device("cpu")
    assert str(d) == "cpu" and d.type == "cpu"
    t = fg.zeros(2)
    assert str(t.device) == "cpu" and t.device.type == "cpu"
    assert t.device == fg.device("cpu")


def test_device_argument_forms(device):
    for dev in (device, fg.device(device)):
        t = fg.ones(3, device=dev)
        assert t.device.type == device


# ----------------------------------------------------------------------- fg.tensor()
@pytest.mark.parametrize(
    "data,dtype,shape",
    [
        (1.5, fg.float32, ()),
        (3, fg.int64, ()),
        (True, fg.bool, ()),
        ([1.0, 2.5, -3.0], fg.float32, (3,)),
        ([[1, 2, 3], [4, 5, 6]], fg.int64, (2, 3)),
        ([True, False], fg.bool, (2,)),
        ([[[1.0]], [[2.0]]], fg.float32, (2, 1, 1)),
        ([1, 2.5], fg.float32, (2,)),  # mixed int/float -> float32, like PyTorch
        ([], fg.float32, (0,)),
    ],
    ids=str,
)
def test_tensor_from_python(data, dtype, shape, device):
    t = fg.tensor(data, device=device)
    assert t.dtype == dtype and tuple(t.shape) == shape and t.device.type == device
    np.testing.assert_array_equal(to_numpy(t), np.array(data, dtype=to_numpy(t).dtype))


@pytest.mark.parametrize(
    "arr,dtype",
    [
        (np.array([1.25, -2.5], np.float64), fg.float64),  # torch.tensor keeps numpy's dtype
        (np.array([[1.5]], np.float32), fg.float32),
        (np.array([1, -2, 3], np.int32), fg.int32),
        (np.array([1, -2, 3], np.int64), fg.int64),
        (np.array([True, False, True]), fg.bool),
    ],
    ids=lambda v: str(getattr(v, "dtype", v)),
)
def test_tensor_from_numpy_converts(arr, dtype, device):
    t = fg.tensor(arr, device=device)
    assert t.dtype == dtype and tuple(t.shape) == arr.shape
    np.testing.assert_array_equal(to_numpy(t), arr)


def test_tensor_copies_its_input():
    a = np.arange(4, dtype=np.float32)
    t = fg.tensor(a)
    a[0] = 99.0
    assert t.tolist()[0] == 0.0
    u = fg.tensor(t)
    t.numpy()[1] = 42.0
    assert u.tolist()[1] == 1.0
    assert u.dtype == fg.float32


def test_tensor_float64_rounds_to_float32_when_asked():
    x = np.array([0.1, 1 / 3, -2.7182818284590452, 3e38], np.float64)
    np.testing.assert_array_equal(fg.tensor(x, dtype=fg.float32).numpy(), x.astype(np.float32))
    np.testing.assert_array_equal(fg.tensor(x.tolist()).numpy(), x.astype(np.float32))


def test_tensor_dtype_and_requires_grad_args(device):
    t = fg.tensor([1, 2, 3], dtype=fg.float32, device=device, requires_grad=True)
    assert t.dtype == fg.float32 and t.requires_grad and t.is_leaf
    assert t.tolist() == [1.0, 2.0, 3.0]
    u = fg.tensor([1.0, 2.0], dtype=fg.int64, device=device)
    assert u.dtype == fg.int64 and u.tolist() == [1, 2]


def test_tensor_non_contiguous_numpy_input():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(fg.tensor(a.T).numpy(), a.T)
    np.testing.assert_array_equal(fg.tensor(a[:, ::2]).numpy(), a[:, ::2])


# ---------------------------------------------------------------- creation functions
@pytest.mark.parametrize("fn,value", [("zeros", 0.0), ("ones", 1.0)])
def test_zeros_ones(fn, value, device):
    f = getattr(fg, fn)
    for args, shape in [
        ((7,), (7,)),
        ((3, 33), (3, 33)),
        (((3, 33),), (3, 33)),
        (([2, 1, 5],), (2, 1, 5)),
        ((0,), (0,)),
        ((129, 1), (129, 1)),
    ]:
        t = f(*args, device=device)
        assert tuple(t.shape) == shape and t.dtype == fg.float32
        np.testing.assert_array_equal(to_numpy(t), np.full(shape, value, np.float32))
    t = f(4, dtype=fg.int64, device=device)
    assert t.dtype == fg.int64 and t.tolist() == [int(value)] * 4
    t = f(2, 3, device=device, requires_grad=True)
    assert t.requires_grad and t.is_leaf


def test_empty_and_full(device):
    e = fg.empty(3, 5, device=device)
    assert tuple(e.shape) == (3, 5) and e.dtype == fg.float32
    assert tuple(fg.empty((2, 2), dtype=fg.int64, device=device).shape) == (2, 2)
    f = fg.full((2, 3), 1.5, device=device)
    assert f.dtype == fg.float32
    np.testing.assert_array_equal(to_numpy(f), np.full((2, 3), 1.5))
    f = fg.full([4], -7, dtype=fg.int64, device=device)
    assert f.dtype == fg.int64 and f.tolist() == [-7] * 4


@pytest.mark.parametrize(
    "args,kwargs,expected,dtype",
    [
        ((5,), {}, np.arange(5), fg.int64),
        ((2, 7), {}, np.arange(2, 7), fg.int64),
        ((10, 0, -3), {}, np.arange(10, 0, -3), fg.int64),
        ((0, 1, 0.25), {}, np.arange(0, 1, 0.25), fg.float32),
        ((0.5, 3.0), {}, np.arange(0.5, 3.0), fg.float32),
        ((5,), {"dtype": fg.float32}, np.arange(5.0), fg.float32),
        ((3, 3), {}, np.arange(3, 3), fg.int64),
    ],
    ids=str,
)
def test_arange(args, kwargs, expected, dtype, device):
    t = fg.arange(*args, **kwargs, device=device)
    assert t.dtype == dtype
    np.testing.assert_allclose(to_numpy(t), expected, rtol=1e-6)
    assert tuple(t.shape) == expected.shape


def test_like_functions(device):
    x = as_tensor(make_input((3, 7)), device)
    for f, v in ((fg.zeros_like, 0.0), (fg.ones_like, 1.0)):
        y = f(x)
        assert tuple(y.shape) == (3, 7) and y.dtype == fg.float32 and y.device.type == device
        np.testing.assert_array_equal(to_numpy(y), np.full((3, 7), v))
    yi = fg.ones_like(as_tensor(np.arange(4), device))
    assert yi.dtype == fg.int64 and yi.tolist() == [1, 1, 1, 1]


# ------------------------------------------------------------------------ attributes
def test_attributes(device):
    t = as_tensor(make_input((3, 7, 5)), device)
    assert t.shape == (3, 7, 5) and isinstance(t.shape, tuple)
    assert t.ndim == 3 and t.dim() == 3
    assert t.numel() == 105
    assert t.size() == (3, 7, 5) and t.size(1) == 7 and t.size(-1) == 5
    assert len(t) == 3
    s = as_tensor(np.array(2.0, np.float32), device)
    assert s.shape == () and s.ndim == 0 and s.numel() == 1


def test_item(device):
    assert as_tensor(np.array([2.5], np.float32), device).item() == 2.5
    v = fg.tensor(7, device=device).item()
    assert v == 7 and isinstance(v, int)
    f = fg.tensor([[1.25]], device=device).item()
    assert f == 1.25 and isinstance(f, float)
    b = fg.tensor(True, device=device).item()
    assert b is True
    with pytest.raises(ValueError):
        fg.tensor([1.0, 2.0], device=device).item()
    with pytest.raises(ValueError):
        fg.zeros(0, device=device).item()


def test_tolist(device):
    assert fg.tensor([[1, 2], [3, 4]], device=device).tolist() == [[1, 2], [3, 4]]
    lst = fg.tensor([[1.5, -2.0]], device=device).tolist()
    assert lst == [[1.5, -2.0]] and isinstance(lst[0][0], float)
    assert fg.tensor([True, False], device=device).tolist() == [True, False]
    assert fg.tensor(3.5, device=device).tolist() == 3.5
    ints = fg.tensor([5], device=device).tolist()
    assert isinstance(ints[0], int)


def test_repr(device):
    # PyTorch's strings (tests/test_tensor_repr.py has many more), with the device suffix
    on = "" if device == "cpu" else ", device='cuda:0'"
    assert repr(fg.tensor([[1.0, 2.0]], device=device, requires_grad=True)) == (
        f"tensor([[1., 2.]]{on}, requires_grad=True)"
    )
    assert repr(fg.tensor([[1.5, 2.0]], device=device)) == f"tensor([[1.5000, 2.0000]]{on})"
    assert repr(fg.tensor([1, 22, -333], device=device)) == f"tensor([   1,   22, -333]{on})"
    assert repr(fg.tensor([True, False], device=device)) == f"tensor([ True, False]{on})"
    assert repr(fg.tensor(2.5, device=device)) == f"tensor(2.5000{on})"
    assert repr(fg.zeros(0, device=device)) == f"tensor([]{on})"


def test_repr_non_leaf_and_large(device):
    x = fg.ones(3, device=device, requires_grad=True)
    assert repr(x * 2.0).startswith("tensor([2., 2., 2.]") and "grad_fn=<" in repr(x * 2.0)
    big = repr(fg.zeros(1000, 1000, device=device))
    assert big.startswith("tensor([[0., 0., 0.,  ..., 0., 0., 0.],") and len(big) < 1000


# ----------------------------------------------------------------- numpy interop
@pytest.mark.parametrize("npdt", [np.float32, np.int64, np.bool_, np.uint8])
def test_from_numpy_zero_copy_both_ways(npdt):
    a = (np.arange(12) % 3).astype(npdt).reshape(3, 4)
    t = fg.from_numpy(a)
    assert tuple(t.shape) == (3, 4)
    assert (
        t.dtype
        == {np.float32: fg.float32, np.int64: fg.int64, np.bool_: fg.bool, np.uint8: fg.uint8}[npdt]
    )
    a[1, 2] = 1
    assert t.tolist()[1][2] == 1
    n = t.numpy()
    assert n.dtype == np.dtype(npdt) and np.shares_memory(n, a)
    n[2, 3] = 0
    assert a[2, 3] == 0


def test_from_numpy_keeps_array_alive():
    t = fg.from_numpy(np.full(1000, 3.0, np.float32))
    gc.collect()
    assert t.sum().item() == 3000.0


def test_from_numpy_read_only_is_copied():
    # A tensor's memory can be written (copy_, fill_), so read-only memory is never shared.
    a = np.arange(4, dtype=np.float32)
    a.flags.writeable = False
    t = fg.from_numpy(a)
    t.fill_(7.0)
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert t.tolist() == [7.0] * 4


def test_from_numpy_float64_shares_memory_and_other_dtypes_raise():
    a = np.zeros(3)
    t = fg.from_numpy(a)
    a[1] = 2.5
    assert t.dtype == fg.float64 and t.tolist() == [0.0, 2.5, 0.0]
    with pytest.raises(TypeError, match="uint16"):
        fg.from_numpy(np.zeros(3, np.uint16))


def test_from_numpy_writes_visible_to_ops():
    a = np.ones(5, np.float32)
    t = fg.from_numpy(a)
    a[:] = 2.0
    assert (t * 3.0).tolist() == [6.0] * 5


def test_numpy_zero_copy():
    t = fg.zeros(3, 4)
    n = t.numpy()
    assert n.dtype == np.float32 and n.shape == (3, 4)
    n[1, 1] = 5.0
    assert t.tolist()[1][1] == 5.0
    assert np.shares_memory(n, t.numpy())


def test_numpy_outlives_tensor():
    n = fg.full((1000,), 2.0).numpy()
    gc.collect()
    np.testing.assert_array_equal(n, np.full(1000, 2.0, np.float32))


@pytest.mark.parametrize(
    "dt,npdt", [(fg.int64, np.int64), (fg.bool, np.bool_), (fg.uint8, np.uint8)]
)
def test_numpy_dtypes(dt, npdt):
    assert fg.zeros(3, dtype=dt).numpy().dtype == np.dtype(npdt)


def test_numpy_requires_grad_raises():
    t = fg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        t.numpy()
    assert t.detach().numpy().tolist() == [1.0, 1.0, 1.0]


def test_numpy_of_views():
    base = fg.tensor(np.arange(24, dtype=np.float32).reshape(6, 4))
    ref = np.arange(24, dtype=np.float32).reshape(6, 4)
    np.testing.assert_array_equal(base[2:5].numpy(), ref[2:5])
    np.testing.assert_array_equal(base[1].numpy(), ref[1])
    np.testing.assert_array_equal(base.T.numpy(), ref.T)
    np.testing.assert_array_equal(base[::2].numpy(), ref[::2])
    np.testing.assert_array_equal(base.reshape(3, 8).numpy(), ref.reshape(3, 8))


# ------------------------------------------------------------------------ conversions
def test_to_dtype(device):
    x = fg.tensor([1.7, -2.7, 0.2], device=device)
    i = x.to(fg.int64)
    assert i.dtype == fg.int64 and i.tolist() == [1, -2, 0]  # truncation, as C and PyTorch
    assert x.long().tolist() == [1, -2, 0]
    f = fg.tensor([3, -4], device=device).float()
    assert f.dtype == fg.float32 and f.tolist() == [3.0, -4.0]
    b = fg.tensor([True, False], device=device).to(fg.float32)
    assert b.tolist() == [1.0, 0.0]
    assert x.to(fg.float32).tolist() == x.tolist()


def test_to_device_cpu():
    x = fg.tensor([1.0, 2.0])
    for d in ("cpu", fg.device("cpu")):
        y = x.to(d)
        assert y.device.type == "cpu" and y.tolist() == [1.0, 2.0]


def test_to_dtype_gradient(device):
    x = fg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x.to(fg.float32) * 3.0
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_contiguous_and_clone(device):
    x = make_input((7, 33))
    t = as_tensor(x, device)
    c = t.T.contiguous()
    np.testing.assert_array_equal(to_numpy(c), x.T)
    k = t.clone()
    np.testing.assert_array_equal(to_numpy(k), x)
    check_backward(lambda a: a.T.contiguous(), lambda a: a.T, (7, 33), device=device)


# ---------------------------------------------------------------------------- views
def test_reshape_view_share_storage():
    t = fg.tensor(np.arange(12, dtype=np.float32))
    r = t.reshape(3, -1)
    v = t.view(4, 3)
    f = r.flatten()
    assert r.shape == (3, 4) and v.shape == (4, 3) and f.shape == (12,)
    t.numpy()[5] = 100.0
    assert r.tolist()[1][1] == 100.0 and v.tolist()[1][2] == 100.0 and f.tolist()[5] == 100.0
    r.numpy()[0, 0] = -1.0
    assert t.tolist()[0] == -1.0


@pytest.mark.parametrize(
    "shape,args,expected",
    [
        ((12,), (3, 4), (3, 4)),
        ((12,), (-1, 6), (2, 6)),
        ((3, 4), (12,), (12,)),
        ((3, 4), ((2, 6),), (2, 6)),
        ((3, 4), ([4, -1],), (4, 3)),
        ((2, 3, 5), (-1,), (30,)),
        ((7,), (7, 1, 1), (7, 1, 1)),
        ((1,), ((),), ()),
    ],
    ids=str,
)
def test_reshape(shape, args, expected, device):
    fn = lambda t: t.reshape(*args)
    out = check_forward(fn, lambda a: a.reshape(expected), shape, device=device)
    assert tuple(out.shape) == expected
    check_backward(fn, lambda a: a.reshape(expected), shape, device=device)
    check_backward(lambda t: t.view(*args), lambda a: a.reshape(expected), shape, device=device)


@pytest.mark.parametrize(
    "start,end,expected",
    [
        (0, -1, (105,)),
        (1, -1, (3, 35)),
        (0, 1, (21, 5)),
        (1, 1, (3, 7, 5)),
        (-2, -1, (3, 35)),
    ],
    ids=str,
)
def test_flatten(start, end, expected, device):
    fn = lambda t: t.flatten(start, end)
    out = check_forward(fn, lambda a: a.reshape(expected), (3, 7, 5), device=device)
    assert tuple(out.shape) == expected
    check_backward(fn, lambda a: a.reshape(expected), (3, 7, 5), device=device)


def test_flatten_default(device):
    check_forward(lambda t: t.flatten(), lambda a: a.reshape(-1), (3, 7, 5), device=device)


@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (129, 1), (33, 129)], ids=str)
def test_T(shape, device):
    check_forward(lambda t: t.T, lambda a: a.T, shape, device=device)
    check_backward(lambda t: t.T, lambda a: a.T, shape, device=device)


@pytest.mark.parametrize("d0,d1", [(0, 1), (1, 0), (0, 2), (1, -1), (-1, -3), (1, 1)])
def test_transpose(d0, d1, device):
    ref = lambda a: np.swapaxes(a, d0, d1)
    check_forward(lambda t: t.transpose(d0, d1), ref, (3, 7, 5), device=device)
    check_backward(lambda t: t.transpose(d0, d1), ref, (3, 7, 5), device=device)


def test_ops_on_views_with_offset(device):
    # Views starting mid-storage must be read from their offset by every kernel.
    x = make_input((33, 7))
    w = make_input((7, 5))
    t = as_tensor(x, device)
    v = t[5:20]
    x64 = x.astype(np.float64)
    assert_close(to_numpy(v.exp()), np.exp(x64[5:20]))
    assert_close(to_numpy(v.sum(dim=0)), x64[5:20].sum(0), atol=15e-5)
    assert_close(to_numpy(v @ as_tensor(w, device)), x64[5:20] @ w, atol=1e-5)
    assert_close(to_numpy(v.max(dim=1)[0]), x64[5:20].max(1))
    e = np.exp(x64[5:20])
    assert_close(to_numpy(v.softmax(1)), e / e.sum(1, keepdims=True))
    assert_close(to_numpy(t[3].reshape(7, 1)), x64[3].reshape(7, 1))


# ------------------------------------------------------------------------ indexing
INDEXERS = {
    "int": lambda: 3,
    "int0": lambda: 0,
    "neg_int": lambda: -1,
    "neg_int_first": lambda: -7,
    "slice": lambda: slice(2, 5),
    "slice_open": lambda: slice(None, 4),
    "slice_neg": lambda: slice(-3, None),
    "slice_empty": lambda: slice(4, 2),
    "slice_step2": lambda: slice(None, None, 2),
    "slice_step3": lambda: slice(1, 7, 3),
    "slice_past_end": lambda: slice(5, 100),
    "list": lambda: [0, 6, 2],
    "list_repeat": lambda: [1, 1, 4, 1, -1],
    "np_array": lambda: np.array([5, 0, 3, 3], dtype=np.int64),
    "np_array_int32": lambda: np.array([2, 4], dtype=np.int32),
}


@pytest.mark.parametrize("shape", [(7,), (7, 33), (7, 3, 5)], ids=str)
@pytest.mark.parametrize("kind", list(INDEXERS))
def test_getitem(kind, shape, device):
    idx = INDEXERS[kind]()
    ref = lambda a: a[idx]
    check_forward(lambda t: t[idx], ref, shape, device=device)
    check_backward(lambda t: t[idx], ref, shape, device=device)


@pytest.mark.parametrize("idx", [[2, 2, 2], [0, 1, 0, 1, 6], [3]], ids=str)
def test_getitem_tensor_index_accumulates(idx, device):
    x = make_input((7, 4))
    ti = as_tensor(np.array(idx, dtype=np.int64), device)
    check_forward(lambda t: t[ti], lambda a: a[idx], inputs=[x], device=device)
    xt = as_tensor(x, device, requires_grad=True)
    g = make_input((len(idx), 4))
    (xt[ti] * as_tensor(g, device)).sum().backward()
    expected = np.zeros((7, 4))
    np.add.at(expected, np.array(idx), g.astype(np.float64))
    assert_close(to_numpy(xt.grad), expected)


def test_getitem_int_gives_lower_rank(device):
    t = as_tensor(make_input((7, 3)), device)
    assert t[2].shape == (3,)
    assert t[2][1].shape == ()
    assert as_tensor(make_input((7,)), device)[-1].shape == ()


def test_getitem_int64_tensor_and_bool_dtype(device):
    labels = as_tensor(np.array([3, 1, 4, 1, 5], np.int64), device)
    np.testing.assert_array_equal(to_numpy(labels[[0, 2]]), [3, 4])
    np.testing.assert_array_equal(to_numpy(labels[1:3]), [1, 4])
    assert labels[1:3].dtype == fg.int64


def test_slice_step1_is_a_view():
    t = fg.tensor(np.arange(10, dtype=np.float32))
    s = t[2:6]
    t.numpy()[3] = -5.0
    assert s.tolist()[1] == -5.0
    s.numpy()[0] = 77.0
    assert t.tolist()[2] == 77.0


def test_slice_step2_is_a_copy_with_right_values():
    t = fg.tensor(np.arange(10, dtype=np.float32))
    s = t[::2]
    assert s.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_getitem_large(device):
    x = make_input((4099, 33))
    idx = np.random.default_rng(0).integers(0, 4099, size=10_000)
    check_forward(lambda t: t[idx], lambda a: a[idx], inputs=[x], device=device)
    check_forward(lambda t: t[100:4000], lambda a: a[100:4000], inputs=[x], device=device)
    check_backward(lambda t: t[idx], lambda a: a[idx], inputs=[x], device=device, max_checks=50)


# ------------------------------------------------------------------ more edge cases
def test_int64_values_exact(device):
    # int64 data must never pass through float/double (2**62 + 1 is not a double).
    vals = [2**62 + 1, -(2**62) - 3, 2**63 - 1, -(2**63)]
    t = fg.tensor(vals, device=device)
    assert t.dtype == fg.int64 and t.tolist() == vals
    assert fg.tensor(2**62 + 1, device=device).item() == 2**62 + 1
    np.testing.assert_array_equal(
        to_numpy(fg.tensor(np.array(vals, np.int64), device=device)), np.array(vals, np.int64)
    )
    idx = t[[0, 2]]
    assert idx.tolist() == [vals[0], vals[2]]


def test_int64_full_exact(device):
    t = fg.full((3,), 2**62 + 1, dtype=fg.int64, device=device)
    assert t.tolist() == [2**62 + 1] * 3


@pytest.mark.parametrize(
    "args,length",
    [((0, 1, 0.1), 10), ((1, 2.5, 0.5), 3), ((0.0, 1.0, 0.3), 4), ((-1, 1, 0.25), 8)],
    ids=str,
)
def test_arange_float_lengths(args, length, device):
    t = fg.arange(*args, device=device)
    assert t.dtype == fg.float32 and tuple(t.shape) == (length,)
    np.testing.assert_allclose(to_numpy(t), args[0] + args[2] * np.arange(length), atol=1e-6)


def test_empty_index_list(device):
    x = as_tensor(make_input((7, 3)), device)
    assert tuple(x[[]].shape) == (0, 3)
    assert tuple(x[np.array([], dtype=np.int64)].shape) == (0, 3)


def test_from_numpy_offset_slice_zero_copy():
    a = np.arange(20, dtype=np.float32).reshape(5, 4)
    t = fg.from_numpy(a[2:])
    assert t.shape == (3, 4) and t.tolist()[0][0] == 8.0
    a[2, 0] = -1.0
    assert t.tolist()[0][0] == -1.0
    t.numpy()[2, 3] = 55.0
    assert a[4, 3] == 55.0


def test_to_bool_and_uint8(device):
    x = fg.tensor([0.0, 2.5, -1.0], device=device)
    b = x.to(fg.bool)
    assert b.dtype == fg.bool and b.tolist() == [False, True, True]
    u = fg.tensor([0.0, 7.9, 255.0], device=device).to(fg.uint8)
    assert u.dtype == fg.uint8 and u.tolist() == [0, 7, 255]


def test_len_of_0d_raises():
    with pytest.raises(TypeError):
        len(fg.tensor(1.0))


def test_numpy_of_0d_and_empty():
    assert fg.tensor(2.5).numpy().shape == ()
    assert float(fg.tensor(2.5).numpy()) == 2.5
    assert fg.zeros(0, 3).numpy().shape == (0, 3)


SPELLINGS = [
    ("exp", (), {}),
    ("log", (), {}),
    ("sqrt", (), {}),
    ("abs", (), {}),
    ("clamp", (0.2, 0.9), {}),
    ("sum", (), {"dim": 1}),
    ("mean", (0,), {"keepdim": True}),
    ("argmax", (), {"dim": 1}),
    ("reshape", (7, 3), {}),
    ("flatten", (), {}),
    ("transpose", (0, 1), {}),
    ("relu", (), {}),
    ("tanh", (), {}),
    ("sigmoid", (), {}),
    ("softmax", (1,), {}),
    ("log_softmax", (0,), {}),
]


@pytest.mark.parametrize("name,args,kwargs", SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_function_and_method_spellings_agree(name, args, kwargs, device):
    x = as_tensor(make_input((3, 7), "positive"), device)
    a = getattr(fg, name)(x, *args, **kwargs)
    b = getattr(x, name)(*args, **kwargs)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def test_max_and_matmul_spellings(device):
    x = as_tensor(make_input((3, 7)), device)
    assert fg.max(x).item() == x.max().item()
    v1, i1 = fg.max(x, 1)
    v2, i2 = x.max(1)
    np.testing.assert_array_equal(to_numpy(v1), to_numpy(v2))
    np.testing.assert_array_equal(to_numpy(i1), to_numpy(i2))
    np.testing.assert_array_equal(to_numpy(fg.matmul(x, x.T)), to_numpy(x.matmul(x.T)))


def test_python_conversions(device):
    assert bool(fg.tensor([0.0], device=device)) is False
    assert bool(fg.tensor(2.0, device=device)) is True
    with pytest.raises(ValueError):
        bool(fg.tensor([1.0, 2.0], device=device))
    assert float(fg.tensor([2.5], device=device)) == 2.5
    assert int(fg.tensor(3, device=device)) == 3
    rows = [r.tolist() for r in fg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)]
    assert rows == [[1.0, 2.0], [3.0, 4.0]]


def test_hashable_by_identity():
    # As in PyTorch: tensors are hashable by identity, so parameters can key dicts and sets
    # (optimizer state, parameter de-duplication), even though == is elementwise.
    a, b = fg.ones(3), fg.ones(3)
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert len({a, b, a}) == 2


def test_int_index_is_a_view():
    t = fg.tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
    r = t[2]
    t.numpy()[2, 1] = 99.0
    assert r.tolist() == [6.0, 99.0, 8.0]


def test_negative_indices_in_index_tensor(device):
    x = make_input((7, 3))
    t = as_tensor(x, device)
    idx = np.array([-1, 0, -7], np.int64)
    np.testing.assert_array_equal(to_numpy(t[as_tensor(idx, device)]), x[idx])


# ----------------------------------------------------------------------------- in-place arithmetic
@pytest.mark.parametrize(
    "method, np_op",
    [("add_", np.add), ("sub_", np.subtract), ("mul_", np.multiply), ("div_", np.divide)],
)
def test_in_place_methods_write_into_the_same_storage(method, np_op):
    a, b = make_input((7, 33)), make_input((33,), domain="nonzero")
    t = fg.tensor(a)
    pointer = t._data_ptr()
    assert getattr(t, method)(fg.tensor(b)) is t and t._data_ptr() == pointer
    assert_close(t.numpy(), np_op(a.astype(np.float64), b))


def test_add_and_sub_take_alpha():
    a, b = make_input((33,)), make_input((33,))
    assert_close(
        fg.tensor(a).add_(fg.tensor(b), alpha=-0.5).numpy(), a - 0.5 * b.astype(np.float64)
    )
    assert_close(fg.tensor(a).sub_(fg.tensor(b), alpha=2).numpy(), a - 2.0 * b.astype(np.float64))
    with pytest.raises(TypeError, match="alpha"):
        fg.tensor(a).mul_(2.0, alpha=3)


def test_augmented_assignment_updates_a_parameter_in_place():
    # `p -= lr * p.grad` must change the parameter itself, not rebind a local name.
    p = fg.tensor(make_input((7,)), requires_grad=True)
    (p * p).sum().backward()
    before, grad = p.detach().numpy().copy(), p.grad.numpy().copy()
    alias = p
    with fg.no_grad():
        alias -= 0.1 * p.grad
        alias *= 2.0
    assert alias is p
    assert_close(p.detach().numpy(), (before - 0.1 * grad.astype(np.float64)) * 2.0)


def test_in_place_arithmetic_is_refused_where_it_would_bypass_autograd_or_broadcast():
    p = fg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\[__isub__\].*no_grad"):
        p -= 1.0
    with pytest.raises(RuntimeError, match=r"\[mul_\]"):
        p.mul_(2.0)
    t = fg.ones(3)
    with pytest.raises(ValueError, match=r"\[add_\].*shape \(2, 3\)"):
        t.add_(fg.ones(2, 3))
    np.testing.assert_array_equal(t.numpy(), np.ones(3, np.float32))  # unchanged
    np.testing.assert_array_equal(p.detach().numpy(), np.ones(3, np.float32))


def test_copy_between_overlapping_views_reads_the_source_first():
    t = fg.arange(6.0)
    t[1:6].copy_(t[0:5])
    np.testing.assert_array_equal(t.numpy(), [0, 0, 1, 2, 3, 4])
    u = fg.arange(6.0)
    u[0:5].copy_(u[1:6])
    np.testing.assert_array_equal(u.numpy(), [1, 2, 3, 4, 5, 5])


@pytest.mark.parametrize(
    "dtype, value",
    [
        (fg.uint8, 300),
        (fg.uint8, -1),
        (fg.int64, 1e30),
        (fg.int64, float("nan")),
        (fg.bool, float("nan")),
    ],
)
def test_fill_refuses_values_the_dtype_cannot_hold(dtype, value):
    t = fg.ones(3, dtype=dtype)
    with pytest.raises(ValueError, match=r"\[fill_\] cannot store"):
        t.fill_(value)
    assert t.tolist() == fg.ones(3, dtype=dtype).tolist()


def test_copy_into_integers_truncates_but_refuses_what_has_no_integer():
    t = fg.zeros(3, dtype=fg.int64)
    assert t.copy_(fg.tensor([1.7, -2.5, 3.0])).tolist() == [1, -2, 3]
    with pytest.raises(ValueError, match=r"\[copy_\] cannot store nan \(element 1\)"):
        t.copy_(fg.tensor([0.0, float("nan"), 1e30]))
    assert t.tolist() == [1, -2, 3]


def test_big_endian_arrays_are_read_by_value():
    a = np.arange(5, dtype=">f4")
    np.testing.assert_array_equal(fg.from_numpy(a).numpy(), np.arange(5, dtype=np.float32))
    np.testing.assert_array_equal(fg.tensor(a.astype(">i8")).numpy(), np.arange(5))


@pytest.mark.parametrize(
    "array, dtype",
    [
        (np.array([2**64 - 1], np.uint64), None),
        (np.array([300, 2]), fg.uint8),
        (np.array([-1, 2]), fg.uint8),
        (np.array([1e30]), fg.int64),
        # numpy reads these ints as float64, where 2**63
        # equals the int64 maximum
        ([2**63, 0], None),
        (np.array([2.0**63]), fg.int64),
    ],
)
def test_tensor_refuses_integers_that_would_wrap(array, dtype):
    with pytest.raises(ValueError, match=r"\[tensor\] values from .* do not fit"):
        fg.tensor(array, dtype=dtype)


def test_augmented_assignment_in_a_graph_gives_a_recorded_tensor():
    # loss /= 4, total += loss, h += x: as in PyTorch, the gradient flows through them.
    w = fg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss /= 4
    total = fg.zeros(())
    total += loss
    total += (3 * w).sum()
    total.backward()
    np.testing.assert_allclose(w.grad.numpy(), [2 * 1.0 / 4 + 3, 2 * 2.0 / 4 + 3])


def test_explicit_in_place_methods_refuse_to_change_a_recorded_graph():
    w = fg.tensor([1.0, 2.0], requires_grad=True)
    h = w * 2
    with pytest.raises(RuntimeError, match=r"\[add_\] would change a tensor of a recorded graph"):
        h.add_(1.0)
    acc = fg.zeros(2)
    with pytest.raises(RuntimeError, match=r"\[mul_\]"):
        acc.mul_(w)
    np.testing.assert_array_equal(acc.numpy(), [0.0, 0.0])


def test_data_reads_detached_and_writes_values_in_place():
    from forgegrad import nn

    layer = nn.Linear(2, 2)
    weight = layer.weight
    assert not weight.data.requires_grad and weight.data._data_ptr() == weight._data_ptr()
    layer.weight.data = fg.full((2, 2), 3.0)
    assert layer.weight is weight and weight.requires_grad
    np.testing.assert_array_equal(weight.detach().numpy(), np.full((2, 2), 3.0, np.float32))
    with pytest.raises(ValueError, match=r"\[data\] expected a tensor of shape \(2, 2\)"):
        layer.weight.data = fg.zeros(3)
    with pytest.raises(TypeError, match=r"\[data\] expected a Tensor"):
        layer.weight.data = np.zeros((2, 2), np.float32)
    assert "Parameter containing" in str(weight)


@pytest.mark.parametrize(
    "write",
    [lambda u: u.fill_(5.0), lambda u: u.add_(1.0), lambda u: u.copy_(fg.ones(*u.shape) * 3)],
    ids=["fill_", "add_", "copy_"],
)
@pytest.mark.parametrize(
    "make",
    [lambda t: t.T, lambda t: t.transpose(0, 1), lambda t: t[::2]],
    ids=["T", "transpose", "stepped-slice"],
)
def test_writes_through_views_change_the_base(make, write):
    # PyTorch's semantics: transpose and stepped slices are views (they were copies before
    # strides), so a write through them changes t, and only the elements they see.
    t = fg.arange(8.0).reshape(4, 2)
    expected = np.arange(8.0, dtype=np.float32).reshape(4, 2)
    seen = make(fg.from_numpy(expected))
    write(seen)
    write(make(t))
    np.testing.assert_array_equal(t.numpy(), expected)
    assert not np.array_equal(expected, np.arange(8.0).reshape(4, 2))


def test_copies_of_views_can_be_written_without_changing_the_base():
    t = fg.zeros(4, 2)
    for u in (t.T.clone(), t.T.contiguous(), t[::2].clone()):
        u.fill_(1.0)
        assert u.sum().item() == u.numel()
    assert t.sum().item() == 0.0
    t[1:3].fill_(2.0)  # a slice is a view and writes through
    assert t.sum().item() == 8.0


def test_fill_of_an_int64_tensor_is_exact_past_2_53():
    t = fg.zeros(2, dtype=fg.int64)
    assert t.fill_(2**53 + 1).tolist() == [2**53 + 1] * 2
    assert t.fill_(2**63 - 1).tolist() == [2**63 - 1] * 2
    with pytest.raises(ValueError, match=r"\[fill_\] cannot store"):
        t.fill_(2**63)


@pytest.mark.parametrize(
    "data, want",
    [
        ([1, 2.5], fg.float32),
        ([[1, 2], [3.0, 4]], fg.float32),
        ([True, False], fg.bool),
        ([True, 1], fg.int64),
        (np.float64(1.5), fg.float64),
        (np.int32(3), fg.int32),
        ([np.float64(1.5), 2.0], fg.float64),
        ([1, np.float64(2)], fg.float64),
        ([np.int32(3), 4], fg.int64),
        ([np.int8(1), np.int16(2)], fg.int16),
        ([np.uint8(1), np.int8(2)], fg.int16),
        ([np.float16(1)], fg.float16),
        ([np.int64(3), 2.5], fg.float32),
        ([np.array([1, 2], dtype=np.int32)], fg.int32),
        ([fg.tensor(1, dtype=fg.int32), fg.tensor(2, dtype=fg.int32)], fg.int32),
        ([fg.tensor(1.5, dtype=fg.float64), 1], fg.float64),
        ([fg.tensor(3), 2.5], fg.float32),
        ([], fg.float32),
        ([[]], fg.float32),
    ],
)
def test_tensor_infers_dtype_as_pytorch(data, want):
    # a sequence takes the promotion of its elements' types (Python floats as float32)
    assert fg.tensor(data).dtype == want
    assert fg.tensor(data).shape == np.asarray(data, dtype=np.float64).shape
