"""matmul (@, Tensor.matmul, fg.matmul; 2-D and batched), F.linear, and the raw GEMM binding
_C.gemm for every transpose, odd and large sizes, and each micro-kernel ISA this CPU has."""

import itertools

import numpy as np
import pytest
from hypothesis import given, strategies as st

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import _C

from helpers import (
    as_tensor,
    assert_close,
    check_backward,
    check_forward,
    gradcheck,
    make_input,
    to_numpy,
)

ODD = [1, 7, 33, 129]
ISAS = ["scalar", "avx2", "avx512"]


def _gemm_atol(k):
    # Each output is a K-term dot product of values with E|a||b| = 1: judge the error
    # norm-wise against sum_k |a_ik b_kj| ~ K (cancellation can make the result itself ~0).
    # 1e-6 * K is ~15x the typical float32 error of a blocked dot product.
    return 1e-6 * max(k, 8)


def _matmul_np(a, b):
    return np.matmul(a, b)


@pytest.mark.parametrize("m,k,n", list(itertools.product(ODD, ODD, ODD)), ids=str)
def test_matmul_forward(m, k, n, device):
    check_forward(lambda a, b: a @ b, _matmul_np, (m, k), (k, n), device=device, atol=_gemm_atol(k))


@pytest.mark.parametrize(
    "m,k,n",
    [
        (1, 1, 1),
        (7, 33, 1),
        (1, 7, 129),
        (33, 129, 7),
        (129, 1, 33),
        (7, 7, 7),
        (33, 33, 129),
        (129, 33, 7),
    ],
    ids=str,
)
def test_matmul_backward(m, k, n, device):
    check_backward(
        lambda a, b: a @ b, _matmul_np, (m, k), (k, n), device=device, atol=_gemm_atol(max(m, k, n))
    )


def test_matmul_spellings(device):
    a, b = make_input((7, 33)), make_input((33, 5))
    ta, tb = as_tensor(a, device), as_tensor(b, device)
    ref = a.astype(np.float64) @ b
    for out in (ta @ tb, ta.matmul(tb), fg.matmul(ta, tb)):
        assert_close(to_numpy(out), ref, atol=_gemm_atol(33))


@pytest.mark.parametrize(
    "shapes",
    [
        ((3, 7, 33), (3, 33, 5)),  # 3-D @ 3-D, equal batch
        ((1, 1, 1), (1, 1, 1)),
        ((5, 33, 1), (5, 1, 129)),
        ((3, 7, 33), (33, 5)),  # 3-D @ 2-D
        ((4, 129, 7), (7, 33)),
        ((7, 33), (3, 33, 5)),  # 2-D @ 3-D
        ((1, 129), (4, 129, 7)),
    ],
    ids=str,
)
def test_matmul_batched(shapes, device):
    k = shapes[0][-1]
    check_forward(lambda a, b: a @ b, _matmul_np, *shapes, device=device, atol=_gemm_atol(k))
    check_backward(
        lambda a, b: a @ b,
        _matmul_np,
        *shapes,
        device=device,
        atol=_gemm_atol(max(max(s) for s in shapes)),
        max_checks=100,
    )


def test_matmul_many_batches(device):
    # More matrices than a GPU grid's z axis holds (65535): the batch is split in launches.
    a, b = make_input((70000, 2, 3)), make_input((70000, 3, 2))
    out = to_numpy(as_tensor(a, device) @ as_tensor(b, device))
    assert_close(out, np.matmul(a.astype(np.float64), b), atol=_gemm_atol(3))


@pytest.mark.parametrize(
    "shapes",
    [
        ((7,), (7, 33)),
        ((129,), (129, 1)),
        ((33, 7), (7,)),
        ((1, 129), (129,)),
        ((7,), (7,)),
        ((129,), (129,)),
    ],
    ids=str,
)
def test_matmul_1d(shapes, device):
    # 1-D operands follow numpy/PyTorch: a vector on the left is a row, on the right a column,
    # and that dimension is dropped from the result (1-D @ 1-D is a 0-d dot product).
    k = shapes[0][-1]
    check_forward(lambda a, b: a @ b, _matmul_np, *shapes, device=device, atol=_gemm_atol(k))
    check_backward(lambda a, b: a @ b, _matmul_np, *shapes, device=device, atol=_gemm_atol(k))


def test_matmul_non_contiguous(device):
    # Transposed views as operands (the backward of a @ b.T, as in linear layers).
    a, b = make_input((33, 7)), make_input((129, 33))
    ta, tb = as_tensor(a, device), as_tensor(b, device)
    assert_close(to_numpy(ta.T @ tb.T), a.T.astype(np.float64) @ b.T, atol=_gemm_atol(33))
    check_backward(
        lambda x, y: x.T @ y.T,
        lambda x, y: x.T @ y.T,
        (33, 7),
        (129, 33),
        device=device,
        atol=_gemm_atol(129),
    )


@pytest.mark.parametrize(
    "m,k,n", [(513, 1031, 517), (1000, 64, 1000), (64, 2500, 70), (2049, 17, 3)], ids=str
)
def test_matmul_large(m, k, n, device):
    check_forward(lambda a, b: a @ b, _matmul_np, (m, k), (k, n), device=device, atol=_gemm_atol(k))


def test_matmul_large_backward(device):
    check_backward(
        lambda a, b: a @ b,
        _matmul_np,
        (257, 300),
        (300, 131),
        device=device,
        atol=_gemm_atol(300),
        max_checks=20,
    )


@given(
    m=st.integers(1, 80),
    k=st.integers(1, 80),
    n=st.integers(1, 80),
    batch=st.sampled_from([None, 1, 3]),
)
def test_matmul_hypothesis(m, k, n, batch, device):
    sa = (m, k) if batch is None else (batch, m, k)
    check_forward(lambda a, b: a @ b, _matmul_np, sa, (k, n), device=device, atol=_gemm_atol(k))
    check_backward(
        lambda a, b: a @ b,
        _matmul_np,
        sa,
        (k, n),
        device=device,
        atol=_gemm_atol(max(m, k, n)),
        max_checks=25,
    )


# ------------------------------------------------- any rank, broadcast batches, views
RANK_SHAPES = [
    ((4,), (4,)),
    ((3, 4), (4,)),
    ((4,), (4, 5)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 6)),
    ((2, 5, 3, 4), (5, 4, 6)),
    ((1, 3, 4), (2, 1, 4, 5)),
    ((2, 2, 3, 4), (2, 2, 4, 3)),
    ((4,), (3, 2, 4, 1)),
    ((3, 1, 1, 4), (2, 4, 2)),
]


@pytest.mark.parametrize("sa,sb", RANK_SHAPES, ids=str)
def test_matmul_ranks(sa, sb, device):
    check_forward(lambda a, b: a @ b, _matmul_np, sa, sb, device=device, atol=_gemm_atol(4))
    gradcheck(fg.matmul, make_input(sa), make_input(sb), device=device)


# Views of a (4, 6, 6) tensor, as forgegrad and as numpy spell them.
VIEWS = {
    "transposed": (lambda t: t.mT, lambda a: a.swapaxes(-1, -2)),  # (4, 6, 6)
    "permuted": (lambda t: t.permute(1, 0, 2), lambda a: a.transpose(1, 0, 2)),  # (6, 4, 6)
    "sliced rows": (lambda t: t[:, 1:5], lambda a: a[:, 1:5]),  # (4, 4, 6)
    "stepped": (lambda t: t[:, ::2, ::2], lambda a: a[:, ::2, ::2]),  # (4, 3, 3)
    "expanded": (
        lambda t: t[:1].expand(4, 6, 6),
        lambda a: np.broadcast_to(a[:1], (4, 6, 6)),
    ),  # (4, 6, 6)
    "column slice": (lambda t: t[..., 1:4], lambda a: a[..., 1:4]),  # (4, 6, 3)
    "batch transposed": (lambda t: t.transpose(0, 2), lambda a: a.transpose(2, 1, 0)),  # (6, 6, 4)
}


@pytest.mark.parametrize(
    "left,right",
    [
        ("transposed", "transposed"),
        ("transposed", "expanded"),
        ("sliced rows", "transposed"),
        ("expanded", "expanded"),
        ("stepped", "stepped"),
        ("column slice", "stepped"),
        ("batch transposed", "permuted"),
        ("permuted", "batch transposed"),
    ],
    ids=str,
)
def test_matmul_of_views(left, right, device):
    # Any strided operand: transposes go to the GEMM as flags, the rest are copied first.
    a, b = make_input((4, 6, 6)), make_input((4, 6, 6))
    (fa, na), (fb, nb) = VIEWS[left], VIEWS[right]
    got = fa(as_tensor(a, device)) @ fb(as_tensor(b, device))
    assert_close(to_numpy(got), np.matmul(na(a).astype(np.float64), nb(b)), atol=_gemm_atol(6))
    gradcheck(lambda x, y: fa(x) @ fb(y), a, b, device=device, max_checks=20)


def test_transposed_operands_are_not_copied():
    # a.T @ b reads a where it lies: the product of a transposed view matches, and changing a
    # afterwards (a copy would hide it) is seen by the next product through the same view.
    a = fg.tensor(make_input((5, 3)))
    at = a.T
    b = fg.tensor(make_input((5, 4)))
    first = to_numpy(at @ b)
    assert_close(first, to_numpy(a).T.astype(np.float64) @ to_numpy(b), atol=_gemm_atol(5))
    a.copy_(a * 2)
    assert_close(to_numpy(at @ b), 2 * first, atol=_gemm_atol(5))


@pytest.mark.parametrize(
    "sa,sb",
    [((0, 4), (4, 3)), ((3, 0), (0, 4)), ((2, 0, 3, 4), (4, 5)), ((3, 4), (4, 0)), ((0,), (0,))],
    ids=str,
)
def test_matmul_empty(sa, sb, device):
    a, b = np.zeros(sa, np.float32), np.zeros(sb, np.float32)
    got = fg.matmul(as_tensor(a, device), as_tensor(b, device))
    np.testing.assert_array_equal(to_numpy(got), np.matmul(a, b))


def test_matmul_float64_and_half(device):
    a, b = make_input((3, 5, 7)).astype(np.float64), make_input((7, 4)).astype(np.float64)
    got = as_tensor(a, device) @ as_tensor(b, device)
    assert got.dtype == fg.float64
    assert_close(to_numpy(got), a @ b, rtol=1e-12, atol=1e-12)
    for dtype in (fg.float16, fg.bfloat16):
        h = as_tensor(a, device).to(dtype) @ as_tensor(b, device).to(dtype)
        assert h.dtype == dtype
        assert_close(to_numpy(h.float()), a @ b, rtol=2e-2, atol=5e-2)


def test_matmul_errors(device):
    f32, f64 = as_tensor(make_input((3, 4)), device), as_tensor(make_input((4, 2)), device).double()
    with pytest.raises(
        TypeError,
        match=r"\[matmul\] expected both operands to have the same "
        r"dtype, got float32 and float64",
    ):
        f32 @ f64
    with pytest.raises(ValueError, match=r"\[matmul\] inner dimensions differ"):
        f32 @ f32
    with pytest.raises(
        ValueError,
        match=r"\[matmul\] the batch dimensions of shapes "
        r"\(2, 3, 4\) and \(4, 4, 5\) cannot be broadcast",
    ):
        fg.zeros(2, 3, 4, device=device) @ fg.zeros(4, 4, 5, device=device)
    with pytest.raises(
        ValueError,
        match=r"\[matmul\] expected operands of at least one "
        r"dimension",
    ):
        fg.tensor(1.0, device=device) @ f32
    with pytest.raises(TypeError, match=r"\[matmul\] expected a floating-point tensor, got int64"):
        fg.ones(2, 2, dtype=fg.int64, device=device) @ fg.ones(2, 2, dtype=fg.int64, device=device)


# ------------------------------------------------------------------ the named products
def _addmm_np(c, a, b, beta=1.0, alpha=1.0):
    return beta * c + alpha * (a @ b)


NAMED = [
    ("mm", np.matmul, [(7, 33), (33, 5)], {}),
    ("bmm", np.matmul, [(3, 7, 5), (3, 5, 4)], {}),
    ("mv", np.matmul, [(7, 33), (33,)], {}),
    ("dot", np.dot, [(33,), (33,)], {}),
    ("vdot", np.vdot, [(33,), (33,)], {}),
    ("outer", np.outer, [(7,), (5,)], {}),
    ("ger", np.outer, [(7,), (5,)], {}),
    ("inner", np.inner, [(3, 7, 5), (4, 5)], {}),
    ("inner", np.inner, [(5,), (5,)], {}),
    ("addmm", _addmm_np, [(5,), (7, 33), (33, 5)], {}),
    ("addmm", _addmm_np, [(7, 5), (7, 3), (3, 5)], {"beta": 0.5, "alpha": 2.0}),
    ("baddbmm", _addmm_np, [(3, 7, 4), (3, 7, 5), (3, 5, 4)], {"alpha": -1.5}),
    ("addmv", _addmm_np, [(7,), (7, 33), (33,)], {"beta": 2.0}),
]


@pytest.mark.parametrize("name,ref,shapes,kwargs", NAMED, ids=lambda v: str(v))
def test_named_products(name, ref, shapes, kwargs, device):
    arrays = [make_input(s) for s in shapes]
    want = np.asarray(ref(*[a.astype(np.float64) for a in arrays], **kwargs))
    tensors = [as_tensor(a, device) for a in arrays]
    method = getattr(tensors[0], name)
    for got in (getattr(fg, name)(*tensors, **kwargs), method(*tensors[1:], **kwargs)):
        assert_close(to_numpy(got), want, atol=_gemm_atol(33))
    gradcheck(lambda *t: getattr(fg, name)(*t, **kwargs), *arrays, device=device, max_checks=20)


def test_addmm_beta_zero_ignores_input(device):
    # As PyTorch: with beta=0 the input is not read, so its NaNs do not reach the result.
    c = np.full((2, 2), np.nan, np.float32)
    a, b = make_input((2, 3)), make_input((3, 2))
    got = fg.addmm(as_tensor(c, device), as_tensor(a, device), as_tensor(b, device), beta=0)
    assert_close(to_numpy(got), a.astype(np.float64) @ b, atol=_gemm_atol(3))


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda: fg.mm(fg.zeros(2, 3), fg.zeros(3)),
            r"\[mm\] expected the second operand to be 2-D",
        ),
        (
            lambda: fg.mm(fg.zeros(2, 3), fg.zeros(2, 3)),
            r"\[mm\] shapes \(2, 3\) and \(2, 3\) cannot",
        ),
        (
            lambda: fg.bmm(fg.zeros(2, 2, 3), fg.zeros(3, 3, 2)),
            r"\[bmm\] expected equal batch sizes",
        ),
        (lambda: fg.mv(fg.zeros(2, 3), fg.zeros(2)), r"\[mv\] shapes \(2, 3\) and \(2,\) cannot"),
        (lambda: fg.dot(fg.zeros(3), fg.zeros(4)), r"\[dot\] expected vectors of the same length"),
        (
            lambda: fg.outer(fg.zeros(2, 2), fg.zeros(3)),
            r"\[outer\] expected the first operand to be 1-D",
        ),
        (
            lambda: fg.addmm(fg.zeros(3, 3), fg.zeros(2, 3), fg.zeros(3, 2)),
            r"\[addmm\] expected input broadcastable to \(2, 2\), got \(3, 3\)",
        ),
        (
            lambda: fg.addmm(fg.zeros(2, 2).double(), fg.zeros(2, 3), fg.zeros(3, 2)),
            r"\[addmm\] expected input of the operands' dtype float32, got float64",
        ),
    ],
    ids=range(8),
)
def test_named_product_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# ---------------------------------------------------------------------------- linear
def _np_linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


@pytest.mark.parametrize(
    "xshape,out_f",
    [((1, 1), 1), ((7, 33), 129), ((129, 7), 33), ((3, 5, 33), 7), ((33,), 7)],
    ids=str,
)
@pytest.mark.parametrize("bias", [True, False])
def test_linear(xshape, out_f, bias, device):
    in_f = xshape[-1]
    shapes = [xshape, (out_f, in_f)] + ([(out_f,)] if bias else [])
    atol = _gemm_atol(max(in_f, out_f, xshape[0]))
    check_forward(F.linear, _np_linear, *shapes, device=device, atol=atol)
    check_backward(F.linear, _np_linear, *shapes, device=device, atol=atol, max_checks=100)


def _np_linear_relu(x, w, b=None):
    return np.maximum(_np_linear(x, w, b), 0.0)


@pytest.mark.parametrize(
    "xshape,out_f", [((1, 1), 1), ((7, 33), 129), ((3, 5, 33), 7), ((64, 300), 40)], ids=str
)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_relu(xshape, out_f, bias, device):
    # The ReLU in the GEMM's epilogue: against float64, and exactly what ReLU after linear
    # gives, forward and backward (the same sums, in the same order).
    in_f = xshape[-1]
    shapes = [xshape, (out_f, in_f)] + ([(out_f,)] if bias else [])
    fused = lambda *t: F.linear(*t, activation="relu")  # noqa: E731
    atol = _gemm_atol(max(in_f, out_f, xshape[0]))
    check_forward(fused, _np_linear_relu, *shapes, device=device, atol=atol)
    check_backward(fused, _np_linear_relu, *shapes, device=device, atol=atol, max_checks=100)
    arrays = [make_input(s) for s in shapes]
    results = []
    for run in (fused, lambda *t: F.relu(F.linear(*t))):
        tensors = [as_tensor(x, device, requires_grad=True) for x in arrays]
        out = run(*tensors)
        (out * out).sum().backward()
        results.append([to_numpy(out)] + [to_numpy(t.grad) for t in tensors])
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)


def test_linear_relu_keeps_nan(device):
    x = make_input((3, 5))
    x[1, 2] = np.nan
    w, b = make_input((4, 5)), make_input((4,))
    out = to_numpy(
        F.linear(
            as_tensor(x, device), as_tensor(w, device), as_tensor(b, device), activation="relu"
        )
    )
    assert np.isnan(out[1]).all() and not np.isnan(out[[0, 2]]).any()
    assert (out[[0, 2]] >= 0).all()


def test_linear_rejects_activation(device):
    x, w = as_tensor(make_input((2, 3)), device), as_tensor(make_input((4, 3)), device)
    with pytest.raises(
        ValueError,
        match=r"\[linear\] expected activation None or 'relu', "
        r"got 'gelu'",
    ):
        F.linear(x, w, activation="gelu")
    with pytest.raises(
        TypeError,
        match=r"\[linear\] expected activation None or a str, "
        r"got int",
    ):
        F.linear(x, w, activation=1)


def test_linear_bias_keyword(device):
    x, w, b = make_input((7, 33)), make_input((5, 33)), make_input((5,))
    out = F.linear(as_tensor(x, device), as_tensor(w, device), bias=as_tensor(b, device))
    assert_close(to_numpy(out), _np_linear(x.astype(np.float64), w, b), atol=_gemm_atol(33))


# ------------------------------------------------------------------------- _C.gemm
def _use_isa(isa):
    if isa != "scalar" and isa not in _available_isas():
        pytest.skip(f"this CPU lacks {isa} (detected_isa() = {_C.detected_isa()!r})")
    _C.set_isa(isa)
    assert _C.get_isa() == isa


def _available_isas():
    best = _C.detected_isa()
    return ISAS[: ISAS.index(best) + 1]


def _op(x, t):
    return x.T if t else x


def _gemm_operands(m, k, n, trans_a, trans_b):
    """Random a, b stored for the given transposes, and op(a) @ op(b) in float64."""
    a = make_input((k, m) if trans_a else (m, k))
    b = make_input((n, k) if trans_b else (k, n))
    return a, b, _op(a.astype(np.float64), trans_a) @ _op(b.astype(np.float64), trans_b)


GEMM_SIZES = [
    (1, 1, 1),
    (1, 7, 33),
    (7, 1, 129),
    (33, 129, 1),
    (129, 33, 7),
    (7, 7, 7),
    (17, 129, 33),
    (67, 258, 131),
    (6, 16, 8),
    (16, 6, 24),
]


@pytest.mark.parametrize("m,k,n", GEMM_SIZES, ids=str)
@pytest.mark.parametrize("trans_b", [False, True], ids=["Nb", "Tb"])
@pytest.mark.parametrize("trans_a", [False, True], ids=["Na", "Ta"])
@pytest.mark.parametrize("isa", ISAS)
def test_gemm(isa, trans_a, trans_b, m, k, n, restore_isa):
    _use_isa(isa)
    a, b, ref = _gemm_operands(m, k, n, trans_a, trans_b)
    out = _C.gemm(fg.tensor(a), fg.tensor(b), trans_a=trans_a, trans_b=trans_b)
    assert tuple(out.shape) == (m, n)
    assert_close(to_numpy(out), ref, atol=_gemm_atol(k))


@pytest.mark.parametrize("trans_b", [False, True], ids=["Nb", "Tb"])
@pytest.mark.parametrize("trans_a", [False, True], ids=["Na", "Ta"])
@pytest.mark.parametrize("isa", ISAS)
def test_gemm_bias_and_out(isa, trans_a, trans_b, restore_isa):
    _use_isa(isa)
    m, k, n = 33, 129, 7
    a, b, prod = _gemm_operands(m, k, n, trans_a, trans_b)
    bias = make_input((n,))
    ta, tb = fg.tensor(a), fg.tensor(b)
    out = _C.gemm(ta, tb, bias=fg.tensor(bias), trans_a=trans_a, trans_b=trans_b)
    assert_close(to_numpy(out), prod + bias, atol=_gemm_atol(k))
    # out= accumulates: out += op(a) @ op(b), and the same tensor comes back.
    c0 = make_input((m, n))
    c = fg.tensor(c0)
    ret = _C.gemm(ta, tb, trans_a=trans_a, trans_b=trans_b, out=c)
    assert_close(to_numpy(c), c0 + prod, atol=_gemm_atol(k))
    assert_close(to_numpy(ret), c0 + prod, atol=_gemm_atol(k))
    ret = _C.gemm(ta, tb, trans_a=trans_a, trans_b=trans_b, out=c)
    assert_close(to_numpy(c), c0 + 2 * prod, atol=2 * _gemm_atol(k))


@pytest.mark.parametrize("trans_b", [False, True], ids=["Nb", "Tb"])
@pytest.mark.parametrize("trans_a", [False, True], ids=["Na", "Ta"])
@pytest.mark.parametrize("isa", ISAS)
def test_gemm_out_with_bias(isa, trans_a, trans_b, restore_isa):
    _use_isa(isa)
    m, k, n = 7, 33, 129
    a, b, prod = _gemm_operands(m, k, n, trans_a, trans_b)
    bias, c0 = make_input((n,)), make_input((m, n))
    c = fg.tensor(c0)
    _C.gemm(
        fg.tensor(a), fg.tensor(b), bias=fg.tensor(bias), trans_a=trans_a, trans_b=trans_b, out=c
    )
    assert_close(to_numpy(c), c0 + prod + bias, atol=_gemm_atol(k))


# Sizes straddle the cache blocks (MC ~144, KC 256, NC ~4080-4096) and register tiles (6x16,
# 4x8, ...) on both sides: exactly on a block, one past it, several blocks plus a remainder.
@pytest.mark.parametrize(
    "m,k,n",
    [
        (513, 1031, 517),
        (1, 4099, 1),
        (300, 7, 1025),
        (9, 300, 8197),
        (144, 256, 4080),
        (145, 257, 4097),
        (6, 512, 16),
        (289, 513, 33),
    ],
    ids=str,
)
@pytest.mark.parametrize("trans", ["NN", "NT", "TN", "TT"])
@pytest.mark.parametrize("isa", ISAS)
def test_gemm_large(isa, trans, m, k, n, restore_isa):
    _use_isa(isa)
    trans_a, trans_b = trans[0] == "T", trans[1] == "T"
    a, b, ref = _gemm_operands(m, k, n, trans_a, trans_b)
    out = _C.gemm(fg.tensor(a), fg.tensor(b), trans_a=trans_a, trans_b=trans_b)
    assert_close(to_numpy(out), ref, atol=_gemm_atol(k))


@given(
    m=st.integers(1, 70),
    k=st.integers(1, 70),
    n=st.integers(1, 70),
    trans_a=st.booleans(),
    trans_b=st.booleans(),
    isa=st.sampled_from(ISAS),
)
def test_gemm_hypothesis(m, k, n, trans_a, trans_b, isa, restore_isa):
    if isa not in _available_isas():
        isa = "scalar"
    _C.set_isa(isa)
    a, b, ref = _gemm_operands(m, k, n, trans_a, trans_b)
    out = _C.gemm(fg.tensor(a), fg.tensor(b), trans_a=trans_a, trans_b=trans_b)
    assert_close(to_numpy(out), ref, atol=_gemm_atol(k))


# Register tile of each micro-kernel (MR rows, NR columns): the edge tiles are every row
# count 1..MR (each an instance of its own) and every column count 1..NR (masked).
TILES = {"scalar": (4, 8), "avx2": (6, 16), "avx512": (12, 32)}


@pytest.mark.parametrize("trans", ["NN", "NT", "TN"])
@pytest.mark.parametrize("isa", ISAS)
def test_gemm_every_edge_tile(isa, trans, restore_isa):
    _use_isa(isa)
    mr, nr = TILES[isa]
    trans_a, trans_b = trans[0] == "T", trans[1] == "T"
    k = 37
    for m in range(1, 2 * mr + 1):
        for n in sorted({1, 2, nr // 2 - 1, nr - 1, nr, nr + 1, 2 * nr - 3}):
            a, b, prod = _gemm_operands(m, k, n, trans_a, trans_b)
            bias, c0 = make_input((n,)), make_input((m, n))
            ta, tb, tbias = fg.tensor(a), fg.tensor(b), fg.tensor(bias)
            out = _C.gemm(ta, tb, bias=tbias, trans_a=trans_a, trans_b=trans_b)
            assert_close(to_numpy(out), prod + bias, atol=_gemm_atol(k), what=f"{m}x{n}")
            # Accumulating into the first m rows of a larger buffer: the row after them,
            # where a write past the last tile's columns would land, stays as it was.
            buffer = fg.tensor(np.concatenate([c0, np.full((1, n), 7.0, np.float32)]))
            _C.gemm(ta, tb, trans_a=trans_a, trans_b=trans_b, out=buffer[:m])
            result = to_numpy(buffer)
            assert_close(result[:m], c0 + prod, atol=_gemm_atol(k), what=f"{m}x{n} out=")
            assert (result[m] == 7.0).all(), f"{m}x{n}: the GEMM wrote past its output"


@pytest.mark.parametrize("k", [0, 37, 600])  # 600: three depth blocks, ReLU after the last
@pytest.mark.parametrize("trans", ["NN", "NT", "TN", "TT"])
@pytest.mark.parametrize("isa", ISAS)
def test_gemm_relu_epilogue(isa, trans, k, restore_isa):
    # relu=True gives exactly ReLU of what relu=False gives, with the bias and with out=,
    # on every edge tile; a ReLU applied before the last depth block would differ.
    _use_isa(isa)
    mr, nr = TILES[isa]
    trans_a, trans_b = trans[0] == "T", trans[1] == "T"
    for m in range(1, mr + 2):
        for n in sorted({1, nr - 1, nr + 1}):
            a, b, prod = _gemm_operands(m, k, n, trans_a, trans_b)
            bias, c0 = make_input((n,)), make_input((m, n))
            ta, tb, tbias = fg.tensor(a), fg.tensor(b), fg.tensor(bias)
            plain = to_numpy(_C.gemm(ta, tb, bias=tbias, trans_a=trans_a, trans_b=trans_b))
            fused = to_numpy(
                _C.gemm(ta, tb, bias=tbias, trans_a=trans_a, trans_b=trans_b, relu=True)
            )
            np.testing.assert_array_equal(fused, np.maximum(plain, 0.0), err_msg=f"{m}x{n}")
            assert_close(fused, np.maximum(prod + bias, 0.0), atol=_gemm_atol(k))
            out = fg.tensor(c0)
            _C.gemm(ta, tb, trans_a=trans_a, trans_b=trans_b, out=out, relu=True)
            assert_close(
                to_numpy(out), np.maximum(c0 + prod, 0.0), atol=_gemm_atol(k), what=f"{m}x{n} out="
            )


# Shapes the thread grid splits by columns (few rows), by rows (few columns) and both ways;
# each large enough (past 2M multiply-adds a thread) for up to 4 threads to take part.
@pytest.mark.parametrize(
    "m,k,n", [(24, 300, 2048), (2048, 300, 24), (260, 300, 270), (13, 4099, 200)], ids=str
)
@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("isa", ISAS)
def test_gemm_thread_splits(isa, threads, m, k, n, restore_isa, restore_threads):
    _use_isa(isa)
    fg.set_num_threads(threads)
    for trans_a, trans_b in [(False, False), (False, True), (True, False)]:
        a, b, prod = _gemm_operands(m, k, n, trans_a, trans_b)
        bias = make_input((n,))
        out = _C.gemm(
            fg.tensor(a), fg.tensor(b), bias=fg.tensor(bias), trans_a=trans_a, trans_b=trans_b
        )
        assert_close(
            to_numpy(out),
            prod + bias,
            atol=_gemm_atol(k),
            what=f"trans_a={trans_a} trans_b={trans_b}",
        )


def test_isa_paths_agree(restore_isa):
    a, b = make_input((129, 257)), make_input((257, 67))
    results = {}
    for isa in _available_isas():
        _C.set_isa(isa)
        results[isa] = to_numpy(_C.gemm(fg.tensor(a), fg.tensor(b)))
    ref = a.astype(np.float64) @ b
    for isa, r in results.items():
        assert_close(r, ref, atol=_gemm_atol(257), what=isa)


def test_matmul_uses_selected_isa_and_restores(restore_isa):
    # matmul goes through the same GEMM on every ISA path.
    a, b = make_input((65, 33)), make_input((33, 17))
    ref = a.astype(np.float64) @ b
    for isa in _available_isas():
        _C.set_isa(isa)
        assert_close(to_numpy(fg.tensor(a) @ fg.tensor(b)), ref, atol=_gemm_atol(33), what=isa)


def test_gemm_threads_agree(restore_threads):
    a, b = make_input((300, 200)), make_input((200, 250))
    ref = a.astype(np.float64) @ b
    for n in (1, 2, 3):
        fg.set_num_threads(n)
        assert fg.get_num_threads() == n
        assert_close(
            to_numpy(fg.tensor(a) @ fg.tensor(b)), ref, atol=_gemm_atol(200), what=f"{n} threads"
        )


def test_isa_detection():
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    detected = _C.detected_isa()
    assert detected in ISAS
    if "avx512f" in flags:
        assert detected == "avx512"
    elif {"avx2", "fma"} <= flags:
        assert detected == "avx2"
    else:
        assert detected == "scalar"
    assert _C.get_isa() in ISAS


def test_set_isa_rejects(restore_isa):
    before = _C.get_isa()
    with pytest.raises(ValueError):
        _C.set_isa("sse9")
    for isa in ISAS:
        if isa not in _available_isas():
            with pytest.raises(ValueError):
                _C.set_isa(isa)
    assert _C.get_isa() == before  # a rejected set_isa changes nothing


def test_gemm_errors():
    a, b = fg.tensor(make_input((7, 33))), fg.tensor(make_input((5, 7)))
    with pytest.raises(ValueError, match=r"gemm|matmul"):
        _C.gemm(a, b)  # inner dims 33 vs 5
    with pytest.raises(ValueError, match=r"gemm|matmul"):
        _C.gemm(a, fg.tensor(make_input((33, 5))), out=fg.tensor(make_input((7, 6))))
    with pytest.raises(ValueError, match=r"gemm|matmul"):
        _C.gemm(a, fg.tensor(make_input((33, 5))), bias=fg.tensor(make_input((6,))))
    with pytest.raises(TypeError, match=r"gemm|matmul"):
        _C.gemm(fg.tensor([[1, 2]]), fg.tensor([[1], [2]]))


# ----------------------------------------------------------------- NaN / inf in GEMM
@pytest.mark.parametrize("isa", ISAS)
def test_gemm_propagates_nan_and_inf(isa, restore_isa):
    # NaN * 0 and inf * 0 are NaN: a kernel that skips zero operands (or packs padding over
    # real data) would silently drop them.
    _use_isa(isa)
    m, k, n = 33, 129, 17
    a = make_input((m, k))
    b = make_input((k, n))
    a[2, 5] = np.nan
    a[7, 100] = np.inf
    b[100, :] = 0.0  # inf * 0 = NaN in row 7
    b[:, 3] = 0.0  # column 3 is all zeros: still NaN in rows 2 and 7
    with np.errstate(invalid="ignore"):
        ref = a.astype(np.float64) @ b.astype(np.float64)
    for trans_a, trans_b in itertools.product([False, True], repeat=2):
        aa = a.T.copy() if trans_a else a
        bb = b.T.copy() if trans_b else b
        out = to_numpy(_C.gemm(fg.tensor(aa), fg.tensor(bb), trans_a=trans_a, trans_b=trans_b))
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
        assert np.isnan(out[2]).all() and np.isnan(out[7]).all()
        assert not np.isnan(np.delete(out, [2, 7], axis=0)).any()


def test_matmul_nan_propagates(device):
    a = make_input((7, 33))
    a[3, 0] = np.nan
    b = np.zeros((33, 5), np.float32)
    out = to_numpy(as_tensor(a, device) @ as_tensor(b, device))
    assert np.isnan(out[3]).all() and not np.isnan(np.delete(out, 3, axis=0)).any()


def test_gemm_offset_views(restore_isa):
    # Operands that start mid-storage (first-axis slices) are read from their offset.
    a = make_input((40, 33))
    b = make_input((50, 17))
    ta, tb = fg.tensor(a), fg.tensor(b)
    out = _C.gemm(ta[5:12], tb[10:43])
    assert_close(to_numpy(out), a[5:12].astype(np.float64) @ b[10:43], atol=_gemm_atol(33))
    out = _C.gemm(ta[3:20], tb[1:8], trans_a=True, trans_b=True)  # (33, 17) @ (17, 7)
    ref = a[3:20].astype(np.float64).T @ b[1:8].astype(np.float64).T
    assert_close(to_numpy(out), ref, atol=_gemm_atol(17))


@pytest.mark.parametrize(
    "sa,sb",
    [((8, 150, 300), (8, 300, 70)), ((5, 289, 33), (33, 517)), ((257, 33), (3, 33, 145))],
    ids=str,
)
def test_matmul_batched_large(sa, sb, device):
    check_forward(lambda a, b: a @ b, _matmul_np, sa, sb, device=device, atol=_gemm_atol(sa[-1]))
    check_backward(
        lambda a, b: a @ b,
        _matmul_np,
        sa,
        sb,
        device=device,
        atol=_gemm_atol(max(max(sa), max(sb))),
        max_checks=10,
    )
