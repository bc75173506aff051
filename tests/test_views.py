"""Strided tensors: every view op and basic index against numpy (values, shapes, element
strides, shared memory), their backward rules, ops on non-contiguous inputs, writes through
views, the version counter, and the errors."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F
from helpers import as_tensor, assert_close, check_backward, make_input, to_numpy


def np_unfold(x, dim, size, step):
    """numpy's sliding windows with PyTorch's layout: windows along dim, elements last."""
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=dim)
    return np.take(windows, range(0, windows.shape[dim], step), axis=dim)


# (id, forgegrad view, numpy view, input shape)
VIEWS = [
    ("transpose", lambda t: t.transpose(0, 2), lambda a: a.swapaxes(0, 2), (2, 3, 5)),
    ("transpose-neg", lambda t: fg.transpose(t, -1, -2), lambda a: a.swapaxes(-1, -2), (2, 3, 5)),
    ("permute", lambda t: t.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), (2, 3, 5)),
    ("permute-fn", lambda t: fg.permute(t, (1, 2, 0)), lambda a: a.transpose(1, 2, 0), (2, 3, 5)),
    ("movedim", lambda t: fg.movedim(t, 0, -1), lambda a: np.moveaxis(a, 0, -1), (2, 3, 5)),
    (
        "movedim-many",
        lambda t: t.movedim((0, 1), (2, 0)),
        lambda a: np.moveaxis(a, (0, 1), (2, 0)),
        (2, 3, 5),
    ),
    ("swapaxes", lambda t: fg.swapaxes(t, 0, 1), lambda a: np.swapaxes(a, 0, 1), (3, 5)),
    ("swapdims", lambda t: t.swapdims(1, 2), lambda a: np.swapaxes(a, 1, 2), (2, 3, 5)),
    ("t", lambda t: t.t(), lambda a: a.T, (3, 5)),
    ("t-1d", lambda t: fg.t(t), lambda a: a, (7,)),
    ("T-2d", lambda t: t.T, lambda a: a.T, (7, 33)),
    ("T-3d", lambda t: t.T, lambda a: a.transpose(2, 1, 0), (2, 3, 5)),
    ("mT", lambda t: t.mT, lambda a: a.swapaxes(-1, -2), (2, 3, 5)),
    ("expand", lambda t: t.expand(4, -1, 5), lambda a: np.broadcast_to(a, (4, 3, 5)), (3, 1)),
    (
        "expand-tuple",
        lambda t: t.expand((2, 3, 5)),
        lambda a: np.broadcast_to(a, (2, 3, 5)),
        (1, 5),
    ),
    (
        "expand_as",
        lambda t: t.expand_as(fg.zeros(4, 7)),
        lambda a: np.broadcast_to(a, (4, 7)),
        (7,),
    ),
    (
        "broadcast_to",
        lambda t: fg.broadcast_to(t, (2, 3, 5)),
        lambda a: np.broadcast_to(a, (2, 3, 5)),
        (3, 1),
    ),
    ("narrow", lambda t: t.narrow(1, 1, 3), lambda a: a[:, 1:4], (2, 5, 3)),
    ("narrow-neg", lambda t: fg.narrow(t, -1, -3, 2), lambda a: a[..., -3:-1], (2, 5, 7)),
    ("select", lambda t: t.select(1, 2), lambda a: a[:, 2], (4, 3, 5)),
    ("select-neg", lambda t: fg.select(t, -1, -1), lambda a: a[..., -1], (4, 3, 5)),
    ("unsqueeze", lambda t: t.unsqueeze(1), lambda a: a[:, None], (3, 5)),
    ("unsqueeze-end", lambda t: fg.unsqueeze(t, -1), lambda a: a[..., None], (3, 5)),
    ("squeeze", lambda t: t.squeeze(), lambda a: a.squeeze(), (1, 3, 1, 5)),
    ("squeeze-dim", lambda t: fg.squeeze(t, 2), lambda a: a.squeeze(2), (1, 3, 1, 5)),
    ("squeeze-dims", lambda t: t.squeeze((0, 1)), lambda a: a.squeeze(0), (1, 3, 1, 5)),
    ("unflatten", lambda t: t.unflatten(1, (3, -1)), lambda a: a.reshape(2, 3, 4, 5), (2, 12, 5)),
    ("view", lambda t: t.view(6, 5), lambda a: a.reshape(6, 5), (2, 3, 5)),
    ("reshape", lambda t: t.reshape(-1, 15), lambda a: a.reshape(-1, 15), (2, 3, 5)),
    ("flatten", lambda t: t.flatten(1), lambda a: a.reshape(2, 15), (2, 3, 5)),
    ("diagonal", lambda t: t.diagonal(), lambda a: a.diagonal(), (4, 6)),
    ("diagonal-offset", lambda t: fg.diagonal(t, 2, 0, 1), lambda a: a.diagonal(2), (4, 6)),
    ("diagonal-below", lambda t: t.diagonal(-1, 2, 0), lambda a: a.diagonal(-1, 2, 0), (4, 3, 5)),
    ("unfold", lambda t: t.unfold(1, 3, 2), lambda a: np_unfold(a, 1, 3, 2), (2, 9, 3)),
    ("unfold-overlap", lambda t: t.unfold(0, 4, 1), lambda a: np_unfold(a, 0, 4, 1), (7,)),
    ("slice-step", lambda t: t[1::2], lambda a: a[1::2], (7, 3)),
    ("slice-any-axis", lambda t: t[:, ::3, 1:], lambda a: a[:, ::3, 1:], (2, 7, 5)),
    ("index-int-tuple", lambda t: t[1, :, -1], lambda a: a[1, :, -1], (3, 4, 5)),
    ("index-ellipsis", lambda t: t[..., 1:3], lambda a: a[..., 1:3], (3, 4, 5)),
    ("index-ellipsis-mid", lambda t: t[0, ..., 2], lambda a: a[0, ..., 2], (3, 4, 5)),
    ("index-none", lambda t: t[None, :, None, ::2], lambda a: a[None, :, None, ::2], (3, 4)),
    ("index-chain", lambda t: t.T[1:, ::2][0], lambda a: a.T[1:, ::2][0], (5, 6)),
]
IDS = [v[0] for v in VIEWS]


@pytest.mark.parametrize("name,view,np_view,shape", VIEWS, ids=IDS)
def test_view_values_strides_and_shared_memory(name, view, np_view, shape, device):
    a = make_input(shape)
    t = as_tensor(a, device)
    v = view(t)
    ref = np_view(a)
    assert tuple(v.shape) == ref.shape
    np.testing.assert_array_equal(to_numpy(v), ref)
    # numpy's strides where numpy's result is a view too (size-1 dims may differ in both)
    if ref.size > 1 and np.shares_memory(ref, a):
        for size, got, want in zip(ref.shape, v.stride(), ref.strides):
            if size > 1:
                assert got * 4 == want, f"strides {v.stride()} vs numpy {ref.strides}"
    if np.shares_memory(ref, a):
        assert v.is_contiguous() == (ref.flags.c_contiguous or ref.size <= 1)
    if device == "cpu":
        assert np.shares_memory(v.numpy(), t.numpy())


@pytest.mark.parametrize("name,view,np_view,shape", VIEWS, ids=IDS)
def test_view_backward(name, view, np_view, shape, device):
    check_backward(view, np_view, shape, device=device)


@pytest.mark.parametrize("name,view,np_view,shape", VIEWS, ids=IDS)
def test_write_through_view_changes_the_base(name, view, np_view, shape, device):
    if name.startswith(("expand", "broadcast", "unfold-overlap")):
        pytest.skip("elements share memory: writes are refused (test_writes_into_expanded)")
    a = make_input(shape)
    t = as_tensor(a, device)
    view(t).fill_(7.0)
    seen = np_view(np.arange(a.size).reshape(shape))  # the flat indices the view sees
    a.flat[seen.ravel()] = 7.0
    np.testing.assert_array_equal(to_numpy(t), a)


def test_reshape_is_a_view_when_strides_allow_else_a_copy(device):
    a = make_input((4, 6, 5))
    t = as_tensor(a, device)
    v = t[:, ::2].reshape(2, 2, 3, 5)  # a stepped axis kept whole, another split: a view
    assert v.stride() == (60, 30, 10, 1)
    np.testing.assert_array_equal(to_numpy(v), a[:, ::2].reshape(2, 2, 3, 5))
    split = t.transpose(0, 1).reshape(6, 2, 2, 5)  # (6, 4, 5) with 4 split: a view
    assert split.stride() == (5, 60, 30, 1)
    np.testing.assert_array_equal(to_numpy(split), a.transpose(1, 0, 2).reshape(6, 2, 2, 5))
    copied = t.transpose(1, 2).reshape(4, 30)  # spans two runs of memory: a copy
    assert copied.is_contiguous()
    np.testing.assert_array_equal(to_numpy(copied), a.transpose(0, 2, 1).reshape(4, 30))
    copied.fill_(0.0)
    np.testing.assert_array_equal(to_numpy(t), a)  # the copy is the user's own
    with pytest.raises(RuntimeError, match=r"\[view\].*reshape"):
        t.transpose(1, 2).view(4, 30)
    assert t.transpose(0, 1).view(6, 4, 5).shape == (6, 4, 5)


def test_transpose_view_with_size_one_dims_is_contiguous():
    t = fg.zeros(1, 5)
    assert t.T.is_contiguous() and t.T.shape == (5, 1)
    assert fg.zeros(3, 0).T.is_contiguous()


def test_contiguous_is_free_when_already_contiguous_and_recorded_otherwise(device):
    t = as_tensor(make_input((3, 4)), device, requires_grad=True)
    assert t.contiguous() is t
    c = t.T.contiguous()
    assert c.is_contiguous() and c.stride() == (3, 1) and c.grad_fn is not None
    (c * as_tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3), device)).sum().backward()
    np.testing.assert_array_equal(to_numpy(t.grad), np.arange(12.0).reshape(4, 3).T)
    assert t.T.contiguous().is_contiguous()


def test_clone_is_contiguous_and_detach_keeps_strides(device):
    t = as_tensor(make_input((3, 4)), device)
    v = t[:, ::2]
    assert v.clone().is_contiguous() and not v.is_contiguous()
    d = v.detach()
    assert d.stride() == v.stride() and d.storage_offset() == v.storage_offset()
    np.testing.assert_array_equal(to_numpy(d), to_numpy(v))


# ---- ops on non-contiguous inputs equal the same ops on contiguous copies --------------
NON_CONTIGUOUS = [
    lambda t: t.T,
    lambda t: t[:, ::2],
    lambda t: t.unsqueeze(0).expand(2, -1, -1)[1],
    lambda t: t.permute(1, 0)[1:],
]
OPS = [
    ("add", lambda x: x + x.T.T * 2),
    ("mul-broadcast", lambda x: x * x[:1]),
    ("div", lambda x: x / (x.abs() + 1)),
    ("compare", lambda x: (x > x.T.T * 0.5).float()),
    ("exp", lambda x: x.exp()),
    ("clamp", lambda x: x.clamp(-0.5, 0.5)),
    ("pow", lambda x: x**2),
    ("sum", lambda x: x.sum(0)),
    ("mean-all", lambda x: x.mean()),
    ("max", lambda x: fg.max(x, 1).values),
    ("argmax", lambda x: x.argmax(1).float()),
    ("matmul", lambda x: x @ x.T),
    ("linear", lambda x: F.linear(x, x, x[:, 0])),
    ("softmax", lambda x: x.softmax(-1)),
    ("log_softmax", lambda x: x.log_softmax(0)),
    ("relu", lambda x: x.relu()),
    ("gelu", lambda x: F.gelu(x)),
    ("tanh", lambda x: x.tanh()),
    ("mse", lambda x: F.mse_loss(x, x.T.T * 0.5)),
    (
        "cross_entropy",
        lambda x: F.cross_entropy(x, fg.zeros(x.shape[0], dtype=fg.int64, device=x.device)),
    ),
    ("bce", lambda x: F.binary_cross_entropy_with_logits(x, x.sigmoid())),
]


@pytest.mark.parametrize("make", NON_CONTIGUOUS, ids=["T", "stepped", "expanded", "permuted"])
@pytest.mark.parametrize("name,op", OPS, ids=[o[0] for o in OPS])
def test_ops_on_views_equal_ops_on_copies(make, name, op, device):
    a = make_input((6, 6))
    x = make(as_tensor(a, device, requires_grad=True))
    copy = make(as_tensor(a, device)).contiguous().detach().requires_grad_()
    got, want = op(x), op(copy)
    assert_close(to_numpy(got), to_numpy(want), rtol=1e-6, what=name)
    if got.requires_grad:
        got.sum().backward()
        want.sum().backward()


def test_gradient_of_a_view_reaches_the_base(device):
    a = make_input((4, 6))
    t = as_tensor(a, device, requires_grad=True)
    t.T[::2].sum().backward()  # rows of t.T = columns of t
    expected = np.zeros((4, 6))
    expected[:, ::2] = 1
    np.testing.assert_array_equal(to_numpy(t.grad), expected)


def test_unfold_backward_accumulates_overlapping_windows(device):
    t = as_tensor(np.arange(6.0, dtype=np.float32), device, requires_grad=True)
    t.unfold(0, 3, 1).sum().backward()  # element i lies in min(i + 1, 3, 6 - i) windows
    np.testing.assert_array_equal(to_numpy(t.grad), [1, 2, 3, 3, 2, 1])


# ---- writes ----------------------------------------------------------------------------
def test_in_place_ops_on_views_write_through(device):
    a = make_input((4, 5))
    t = as_tensor(a, device)
    with fg.no_grad():
        t.T[1:3].mul_(2.0)
        t[:, 0].add_(1.0)
        t[::2, ::2].add_(10.0)
        t[1].copy_(as_tensor(np.arange(5.0, dtype=np.float32), device))
        t.diagonal().zero_()
    a.T[1:3] *= 2
    a[:, 0] += 1
    a[::2, ::2] += 10
    a[1] = np.arange(5.0)
    np.fill_diagonal(a, 0)
    assert_close(to_numpy(t), a, rtol=1e-6)


def test_copy_between_overlapping_views(device):
    a = np.arange(10.0, dtype=np.float32)
    t = as_tensor(a, device)
    t[1:].copy_(t[:-1])
    a[1:] = a[:-1].copy()
    np.testing.assert_array_equal(to_numpy(t), a)
    m = as_tensor(np.arange(9.0, dtype=np.float32).reshape(3, 3), device)
    m.copy_(m.T)  # the same memory read transposed: through a temporary
    np.testing.assert_array_equal(to_numpy(m), np.arange(9.0).reshape(3, 3).T)


def test_writes_into_expanded_views_are_refused(device):
    t = as_tensor(np.ones(3, np.float32), device)
    e = t.expand(4, 3)
    for write in (
        lambda: e.fill_(0.0),
        lambda: e.add_(e),
        lambda: e.copy_(fg.zeros(4, 3, device=device)),
    ):
        with pytest.raises(RuntimeError, match="single memory location"):
            write()


def test_a_view_changed_after_it_was_saved_makes_backward_raise(device):
    t = as_tensor(make_input((3, 4)), device, requires_grad=True)
    base = t * 1.0
    v = base.T  # saved by exp's backward (through the view's output)
    y = v.exp()
    with fg.no_grad():
        base[0].fill_(0.0)  # another view of the same storage
    with pytest.raises(RuntimeError, match="changed in place"):
        y.sum().backward()


def test_version_is_shared_by_views():
    t = fg.zeros(3, 4)
    x = fg.ones(3, 4, requires_grad=True)
    y = x * t.T.T  # mul saves the view of t
    t[:, 1].fill_(2.0)
    with pytest.raises(RuntimeError, match="changed in place"):
        y.sum().backward()


# ---- indexing ---------------------------------------------------------------------------
def test_basic_indexing_matches_numpy(device):
    a = make_input((4, 5, 6))
    t = as_tensor(a, device)
    for key in [
        0,
        -1,
        (1, 2),
        (slice(None), 3),
        (Ellipsis,),
        (None,),
        (1, None, ..., 2),
        (slice(1, None, 2), slice(None, None, 3), slice(-2, None)),
        (np.int64(2), slice(None, 100)),
        (slice(5, 1),),
        (),
    ]:
        np.testing.assert_array_equal(to_numpy(t[key]), a[key], err_msg=repr(key))


def test_first_axis_tensor_and_list_indices_still_gather(device):
    a = make_input((5, 3))
    t = as_tensor(a, device)
    np.testing.assert_array_equal(to_numpy(t[[4, 0, -1]]), a[[4, 0, -1]])
    np.testing.assert_array_equal(to_numpy(t[np.array([1, 1])]), a[[1, 1]])
    idx = fg.tensor([2, 0], dtype=fg.int64, device=device)
    np.testing.assert_array_equal(to_numpy(t[idx]), a[[2, 0]])
    np.testing.assert_array_equal(to_numpy(t.T[[1, 2]]), a.T[[1, 2]])  # of a view


def test_indexing_errors(device):
    t = as_tensor(make_input((3, 4)), device)
    with pytest.raises(IndexError, match="dimension 1 with size 4"):
        t[0, 4]
    with pytest.raises(IndexError, match="dimension 0 with size 3"):
        t[-4]
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        t[..., ...]
    with pytest.raises(ValueError, match="positive"):
        t[:, ::-1]
    with pytest.raises(TypeError):
        t[0, "a"]
    with pytest.raises(IndexError, match="tensors used as indices must be integer"):
        t[0, t[0]]
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 1 with size 4"):
        t[:, [0, 4]]


# ---- errors of the view ops -------------------------------------------------------------
@pytest.mark.parametrize(
    "call,error",
    [
        (lambda t: t.transpose(0, 3), IndexError),
        (lambda t: t.permute(0), RuntimeError),
        (lambda t: t.permute(0, 0), RuntimeError),
        (lambda t: t.permute(0, 1, 2), RuntimeError),
        (lambda t: t.expand(3, 5), RuntimeError),
        (lambda t: t.expand(4), RuntimeError),
        (lambda t: t.narrow(1, 2, 4), RuntimeError),
        (lambda t: t.narrow(1, 9, 1), IndexError),
        (lambda t: t.select(0, 3), IndexError),
        (lambda t: t.unsqueeze(4), IndexError),
        (lambda t: t.squeeze(3), IndexError),
        (lambda t: t.diagonal(0, 1, 1), RuntimeError),
        (lambda t: t.unfold(1, 6, 1), RuntimeError),
        (lambda t: t.unfold(1, 2, 0), RuntimeError),
        (lambda t: t.view(5, 3), ValueError),
        (lambda t: t.unflatten(1, (2, 3)), ValueError),
        (lambda t: t.movedim(0, 5), IndexError),
        (lambda t: t.mT.mT[0].mT, RuntimeError),
        (lambda t: t[None].t(), RuntimeError),
    ],
)
def test_view_errors(call, error, device):
    with pytest.raises(error):
        call(as_tensor(make_input((3, 4, 1)), device).squeeze(-1))


# ---- interop -------------------------------------------------------------------------------
def test_numpy_of_a_view_shares_memory_with_strides():
    t = fg.arange(12.0).reshape(3, 4)
    n = t.T[1:].numpy()
    assert n.strides == (4, 16) and np.shares_memory(n, t.numpy())
    n[0, 0] = 100.0
    assert t[0, 1].item() == 100.0


def test_from_numpy_shares_strided_arrays_and_refuses_negative_strides():
    a = np.arange(24.0, dtype=np.float32).reshape(4, 6)
    t = fg.from_numpy(a[:, 1::2])
    assert t.stride() == (6, 2) and t.tolist() == a[:, 1::2].tolist()
    t.fill_(-1.0)
    assert (a[:, 1::2] == -1).all() and (a[:, ::2] != -1).all()
    with pytest.raises(ValueError, match="negative"):
        fg.from_numpy(a[::-1])
    np.testing.assert_array_equal(fg.tensor(a[::-1]).numpy(), a[::-1])  # tensor() copies


def test_dlpack_export_of_a_view_keeps_strides():
    t = fg.arange(12.0).reshape(3, 4)
    n = np.from_dlpack(t.T[::2])
    np.testing.assert_array_equal(n, np.arange(12.0).reshape(3, 4).T[::2])
    assert n.strides == (8, 16) and np.shares_memory(n, t.numpy())


def test_repr_tolist_item_save_of_views(tmp_path):
    t = fg.arange(6.0).reshape(2, 3)
    assert t.T.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    assert t.T[2, 1].item() == 5.0
    assert repr(t.T) == "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])"
    fg.save({"v": t.T[1:]}, tmp_path / "v.fg")
    loaded = fg.load(tmp_path / "v.fg")["v"]
    assert loaded.tolist() == [[1.0, 4.0], [2.0, 5.0]] and loaded.is_contiguous()


def test_storage_offset_and_stride_accessors():
    t = fg.zeros(4, 5)
    v = t[1:, 2:]
    assert v.storage_offset() == 7 and v.stride() == (5, 1) and v.stride(0) == 5
    assert v.stride(-1) == 1 and not v.is_contiguous()
