"""Reductions: sum, mean, max (values/indices), argmax over all dims, one dim (negative ok),
several dims, keepdim; empty tensors; NaN propagation; the edge cases of min/amax/prod,
var/std, norms, scans, gather and scatter."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import forgegrad as fg

from helpers import (
    as_tensor,
    assert_close,
    check_backward,
    check_forward,
    gradcheck,
    make_input,
    to_numpy,
)

# (shape, dim) cases; dim None = reduce everything.
CASES = [
    ((1,), None),
    ((1,), 0),
    ((7,), -1),
    ((33,), 0),
    ((129,), None),
    ((7, 33), None),
    ((7, 33), 0),
    ((7, 33), 1),
    ((33, 129), -1),
    ((33, 129), (0, 1)),
    ((1, 129), 0),
    ((129, 1), 1),
    ((129, 1), -2),
    ((3, 7, 5), None),
    ((3, 7, 5), 1),
    ((3, 7, 5), -1),
    ((3, 7, 5), (0, 2)),
    ((3, 7, 5), (-1, 0)),
]
INT_CASES = [(s, d) for s, d in CASES if not isinstance(d, tuple)]
# keepdim=True with dim=None is left out: the spec defines keepdim only with a dim.
KEEP = [(s, d, k) for s, d in CASES for k in (False, True) if not (d is None and k)]
INT_KEEP = [(s, d, k) for s, d, k in KEEP if not isinstance(d, tuple)]


def _axis(dim):
    return dim if dim is None or isinstance(dim, int) else tuple(dim)


def _n_reduced(shape, dim):
    if dim is None:
        return int(np.prod(shape))
    dims = (dim,) if isinstance(dim, int) else dim
    return int(np.prod([shape[d] for d in dims]))


def _sum_fn(dim, keepdim):
    if dim is None:
        return lambda t: t.sum()
    return lambda t: t.sum(dim=dim, keepdim=keepdim)


def _mean_fn(dim, keepdim):
    if dim is None:
        return lambda t: t.mean()
    return lambda t: t.mean(dim=dim, keepdim=keepdim)


# Sums of n values of |x| <= 2: the accuracy that matters is relative to sum|x| (cancellation
# makes the result itself arbitrarily small), so atol = 1e-5 * n (mean |x| is 1): a norm-wise
# relative error of 1e-5; for mean that is 1e-5 absolute.
@pytest.mark.parametrize("shape,dim,keepdim", KEEP, ids=str)
def test_sum(shape, dim, keepdim, device):
    fn = _sum_fn(dim, keepdim)
    ref = lambda x: np.sum(x, axis=_axis(dim), keepdims=keepdim)
    atol = 1e-5 * _n_reduced(shape, dim)
    check_forward(fn, ref, shape, device=device, atol=atol)
    check_backward(fn, ref, shape, device=device)


@pytest.mark.parametrize("shape,dim,keepdim", KEEP, ids=str)
def test_mean(shape, dim, keepdim, device):
    fn = _mean_fn(dim, keepdim)
    ref = lambda x: np.mean(x, axis=_axis(dim), keepdims=keepdim)
    check_forward(fn, ref, shape, device=device, atol=1e-5)
    check_backward(fn, ref, shape, device=device)


def test_sum_mean_functions(device):
    check_forward(
        lambda t: fg.sum(t, dim=1), lambda x: x.sum(1), (7, 33), device=device, atol=33e-5
    )
    check_forward(
        lambda t: fg.mean(t, 0, True),
        lambda x: x.mean(0, keepdims=True),
        (7, 33),
        device=device,
        atol=1e-5,
    )


@pytest.mark.parametrize("shape", [(1 << 20) + 3, (513, 1031)], ids=str)
def test_sum_large_positive(shape, device):
    # Positive terms, no cancellation: plain relative error, 1e-5 (a naive float32 running
    # sum over 1M terms loses ~1e-4 of it; blocked/pairwise accumulation must not).
    check_forward(lambda t: t.sum(), np.sum, shape, device=device, domain="positive")
    check_forward(lambda t: t.mean(), np.mean, shape, device=device, domain="positive")


def test_sum_large_dims(device):
    shape = (513, 1031)
    for dim in (0, 1):
        check_forward(
            lambda t: t.sum(dim), lambda x: x.sum(dim), shape, device=device, atol=1e-5 * shape[dim]
        )
        check_backward(
            lambda t: t.sum(dim), lambda x: x.sum(dim), shape, device=device, max_checks=30
        )


# ------------------------------------------------------------------------------- max
@pytest.mark.parametrize("shape", [(1,), (7,), (33,), (129,), (7, 33), (3, 7, 5)], ids=str)
def test_max_all(shape, device):
    out = check_forward(lambda t: t.max(), np.max, shape, device=device, distinct=True)
    assert out.ndim == 0
    check_backward(lambda t: t.max(), np.max, shape, device=device, distinct=True)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", [c for c in INT_CASES if c[1] is not None], ids=str)
def test_max_dim(shape, dim, keepdim, device):
    x = make_input(shape, distinct=True)
    res = as_tensor(x, device).max(dim=dim, keepdim=keepdim)
    values, indices = res  # a (values, indices) pair ...
    assert res.values is not None and res.indices is not None  # ... with named fields
    assert_close(to_numpy(res.values), to_numpy(values))
    ref_v = np.max(x.astype(np.float64), axis=dim, keepdims=keepdim)
    ref_i = np.argmax(x, axis=dim)
    if keepdim:
        ref_i = np.expand_dims(ref_i, dim)
    assert values.dtype == fg.float32 and indices.dtype == fg.int64
    assert_close(to_numpy(values), ref_v)
    np.testing.assert_array_equal(to_numpy(indices), ref_i)
    np.testing.assert_array_equal(to_numpy(res.indices), ref_i)
    check_backward(
        lambda t: t.max(dim=dim, keepdim=keepdim)[0],
        lambda a: np.max(a, axis=dim, keepdims=keepdim),
        shape,
        device=device,
        distinct=True,
    )
    check_backward(
        lambda t: t.max(dim, keepdim).values,
        lambda a: np.max(a, axis=dim, keepdims=keepdim),
        shape,
        device=device,
        distinct=True,
    )


def test_max_function(device):
    check_forward(lambda t: fg.max(t), np.max, (7, 33), device=device, distinct=True)
    x = make_input((7, 33), distinct=True)
    v, i = fg.max(as_tensor(x, device), dim=1)
    assert_close(to_numpy(v), x.max(1))
    np.testing.assert_array_equal(to_numpy(i), x.argmax(1))


@pytest.mark.parametrize("shape,dim,keepdim", INT_KEEP, ids=str)
def test_argmax(shape, dim, keepdim, device):
    x = make_input(shape, distinct=True)
    t = as_tensor(x, device)
    out = t.argmax() if dim is None else t.argmax(dim=dim, keepdim=keepdim)
    assert out.dtype == fg.int64
    ref = np.argmax(x, axis=dim, keepdims=keepdim)
    np.testing.assert_array_equal(to_numpy(out), ref)
    assert not out.requires_grad


def test_argmax_function_and_ties(device):
    # Ties resolve to the first occurrence, as in numpy and PyTorch on CPU.
    x = np.array([[1.0, 3.0, 3.0, 0.5], [2.0, 2.0, 2.0, 2.0]], dtype=np.float32)
    t = as_tensor(x, device)
    np.testing.assert_array_equal(to_numpy(fg.argmax(t, dim=1)), [1, 0])
    np.testing.assert_array_equal(to_numpy(t.max(dim=1).indices), [1, 0])
    assert fg.argmax(t).item() == 1


def test_max_large(device):
    check_forward(lambda t: t.max(), np.max, (513, 1031), device=device, distinct=True)
    check_forward(
        lambda t: t.max(0)[0], lambda x: x.max(0), (513, 1031), device=device, distinct=True
    )
    x = make_input((513, 1031), distinct=True)
    np.testing.assert_array_equal(to_numpy(as_tensor(x, device).argmax(dim=1)), x.argmax(1))
    assert as_tensor(x, device).argmax().item() == int(x.argmax())


def test_max_all_negative(device):
    # An accumulator initialised to 0 instead of -inf would return 0 here.
    x = -make_input((129,), "positive") - 1.0
    check_forward(lambda t: t.max(), np.max, inputs=[x], device=device)
    check_forward(
        lambda t: t.max(0)[0], lambda a: a.max(0), inputs=[x.reshape(129, 1)], device=device
    )


# ----------------------------------------------------------------------------- empty
def test_empty_sum_mean(device):
    e = fg.zeros(0, device=device)
    assert e.sum().item() == 0.0
    assert np.isnan(e.mean().item())
    e2 = fg.zeros(3, 0, device=device)
    np.testing.assert_array_equal(to_numpy(e2.sum(dim=1)), np.zeros(3))
    assert tuple(e2.sum(dim=0).shape) == (0,)
    assert np.isnan(to_numpy(e2.mean(dim=1))).all()


def test_empty_max_argmax_raise(device):
    e = fg.zeros(0, device=device)
    with pytest.raises(ValueError, match="max"):
        e.max()
    with pytest.raises(ValueError, match="argmax"):
        e.argmax()
    e2 = fg.zeros(3, 0, device=device)
    with pytest.raises(ValueError, match="max"):
        e2.max(dim=1)
    with pytest.raises(ValueError, match="argmax"):
        e2.argmax(dim=1)


# ------------------------------------------------------------------------------- NaN
def test_nan_propagates_through_reductions(device):
    x = make_input((7, 33))
    x[2, 5] = np.nan
    t = as_tensor(x, device)
    assert np.isnan(t.sum().item())
    assert np.isnan(t.mean().item())
    assert np.isnan(t.max().item())
    s = to_numpy(t.sum(dim=1))
    assert np.isnan(s[2]) and not np.isnan(np.delete(s, 2)).any()
    v, i = t.max(dim=1)
    v = to_numpy(v)
    assert np.isnan(v[2]) and not np.isnan(np.delete(v, 2)).any()
    assert to_numpy(i)[2] == 5  # the NaN's position, like numpy and PyTorch
    m0 = to_numpy(t.max(dim=0)[0])
    assert np.isnan(m0[5]) and not np.isnan(np.delete(m0, 5)).any()
    assert to_numpy(t.argmax(dim=1))[2] == 5
    assert t.argmax().item() == 2 * 33 + 5


@pytest.mark.parametrize("n", [33, 2048, 5000, 70001])
def test_max_ties_and_nan_in_long_rows(n, device):
    # Whichever lane, warp or block sees them: the first of equal maxima, the first NaN.
    x = np.zeros((3, n), dtype=np.float32)
    x[1, n // 3] = x[1, n - 1] = 1.0
    x[2, n // 2] = x[2, n - 2] = np.nan
    x[2, n - 1] = np.inf
    t = as_tensor(x, device)
    v, i = t.max(dim=1)
    np.testing.assert_array_equal(to_numpy(i), [0, n // 3, n // 2])
    np.testing.assert_array_equal(to_numpy(v)[:2], [0.0, 1.0])
    assert np.isnan(to_numpy(v)[2])
    assert t.argmax().item() == 2 * n + n // 2


def test_nan_first_element_max(device):
    # NaN in the very first slot (where a max loop often starts) must survive too.
    x = np.array([np.nan, 1.0, 2.0], dtype=np.float32)
    assert np.isnan(as_tensor(x, device).max().item())
    x = np.array([1.0, 2.0, np.nan], dtype=np.float32)
    assert np.isnan(as_tensor(x, device).max().item())


# ------------------------------------------------------------------------ hypothesis
@st.composite
def shape_and_dim(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40))
    dim = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    return shape, dim


@given(sd=shape_and_dim(), keepdim=st.booleans(), op=st.sampled_from(["sum", "mean", "max"]))
def test_reduce_hypothesis(sd, keepdim, op, device):
    shape, dim = sd
    keepdim = keepdim and dim is not None
    if op == "sum":
        fn, ref = _sum_fn(dim, keepdim), lambda x: np.sum(x, axis=dim, keepdims=keepdim)
        atol = 1e-5 * _n_reduced(shape, dim)
    elif op == "mean":
        fn, ref = _mean_fn(dim, keepdim), lambda x: np.mean(x, axis=dim, keepdims=keepdim)
        atol = 1e-5
    else:
        if dim is None:
            fn, ref, keepdim = (lambda t: t.max()), np.max, False
        else:
            fn = lambda t: t.max(dim=dim, keepdim=keepdim)[0]
            ref = lambda x: np.max(x, axis=dim, keepdims=keepdim)
        atol = None
    check_forward(fn, ref, shape, device=device, atol=atol, distinct=(op == "max"))
    check_backward(fn, ref, shape, device=device, distinct=(op == "max"), max_checks=30)


# Rows on both sides of the GPU's line lengths: a block a row from 2048, chunks of 16384
# summed by several blocks past that.
@pytest.mark.parametrize(
    "shape,dim",
    [
        ((3, 300007), 1),
        ((300007, 3), 0),
        ((2, 1031, 513), 1),
        ((5, 2047), 1),
        ((5, 2048), 1),
        ((4, 16384), 1),
        ((4, 16385), 1),
        ((2, 32768), 1),
    ],
    ids=str,
)
def test_reductions_long_axis(shape, dim, device):
    n = shape[dim]
    check_forward(lambda t: t.sum(dim), lambda a: a.sum(dim), shape, device=device, atol=1e-5 * n)
    check_forward(lambda t: t.mean(dim), lambda a: a.mean(dim), shape, device=device, atol=1e-5)
    x = make_input(shape, distinct=True)
    t = as_tensor(x, device)
    v, i = t.max(dim)
    assert_close(to_numpy(v), x.max(dim))
    np.testing.assert_array_equal(to_numpy(i), x.argmax(dim))
    np.testing.assert_array_equal(to_numpy(t.argmax(dim)), x.argmax(dim))


@pytest.mark.parametrize(
    "dims,keepdim",
    [((0,), False), ((1,), True), ((0, 2), False), (None, False), ((2, 1), True), ((-1,), False)],
    ids=str,
)
def test_sum_of_a_permuted_view(dims, keepdim, device):
    # A permutation of a contiguous layout is summed where it lies (in memory order), the
    # result permuted back; values, shapes and gradients as for a contiguous copy.
    x = make_input((3, 4, 5))
    view = lambda t: t.permute(2, 0, 1)  # noqa: E731
    want = x.transpose(2, 0, 1).astype(np.float64).sum(axis=dims, keepdims=keepdim)
    got = view(as_tensor(x, device)).sum(dims, keepdim=keepdim)
    assert tuple(got.shape) == want.shape
    assert_close(to_numpy(got), want)
    gradcheck(lambda t: view(t).sum(dims, keepdim=keepdim), x, device=device, max_checks=20)


# ---- the reductions of issue 14 (values: tests/op_db.py) -----------------------------------------


def test_prod_gradient_with_zeros():
    for values, grad in [
        ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),
        ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),
        ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0]),
    ]:
        x = fg.tensor(values, requires_grad=True)
        x.prod().backward()
        assert x.grad.tolist() == grad


def test_cumprod_gradient_with_zeros_matches_finite_differences():
    from helpers import gradcheck

    x = np.array([[1.5, 0.0, 2.0, -1.0], [0.5, 2.0, 0.0, 0.0]])
    gradcheck(lambda t: fg.cumprod(t, 1), x)


def test_prod_and_cumsum_of_integers_are_int64():
    assert fg.tensor([2, 3], dtype=fg.int8).prod().dtype == fg.int64
    assert fg.tensor([True, True]).cumsum(0).tolist() == [1, 2]
    assert fg.ones(0).prod().item() == 1.0


def test_min_max_forms():
    x = fg.tensor([[3.0, 1.0], [0.0, 5.0]])
    assert x.min().item() == 0.0 and fg.max(x).item() == 5.0
    values, indices = fg.min(x, 1)
    assert values.tolist() == [1.0, 0.0] and indices.tolist() == [1, 0]
    assert fg.max(x, fg.tensor([4.0, 4.0])).tolist() == [[4.0, 4.0], [4.0, 5.0]]
    assert fg.aminmax(x).min.item() == 0.0 and fg.aminmax(x).max.item() == 5.0
    assert x.argmin().item() == 2


def test_amax_shares_the_gradient_among_ties():
    x = fg.tensor([[1.0, 3.0], [3.0, 2.0]], requires_grad=True)
    fg.amax(x).backward()
    assert x.grad.tolist() == [[0.0, 0.5], [0.5, 0.0]]


def test_var_std_arguments():
    x = fg.tensor([[1.0, 2.0, 4.0], [0.0, 0.0, 3.0]])
    np.testing.assert_allclose(to_numpy(x.var(1, False)), np.var(to_numpy(x), axis=1), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(fg.std(x, correction=0)), np.std(to_numpy(x)), rtol=1e-6)
    with pytest.raises(TypeError, match=r"\[var\] got both unbiased and correction"):
        x.var(unbiased=True, correction=1)
    with pytest.raises(TypeError, match=r"\[var\] expected a floating-point input"):
        fg.tensor([1, 2]).var()


def test_std_and_norm_gradients_are_zero_at_constant_or_zero_data():
    x = fg.tensor([2.0, 2.0, 2.0], requires_grad=True)
    x.std().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    z = fg.zeros(3, requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]


def test_logsumexp_is_stable():
    x = fg.tensor([[1000.0, 1000.0], [-float("inf"), -float("inf")]])
    out = fg.logsumexp(x, 1)
    np.testing.assert_allclose(to_numpy(out)[0], 1000.0 + np.log(2.0))
    assert to_numpy(out)[1] == -np.inf


def test_all_any_and_axis_alias():
    x = fg.tensor([[1, 0], [2, 3]])
    assert x.all().item() is False and x.any().item() is True
    assert fg.all(x, dim=1).tolist() == [False, True]
    assert x.sum(axis=0).tolist() == [3, 3]
    with pytest.raises(TypeError, match=r"\[sum\] got both dim and axis"):
        x.sum(0, axis=0)


def test_cummax_gradient_goes_where_the_maximum_was_found():
    x = fg.tensor([1.0, 3.0, 2.0, 5.0], requires_grad=True)
    values, indices = fg.cummax(x, 0)
    assert indices.tolist() == [0, 1, 1, 3]
    values.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 0.0, 1.0]


def test_gather_and_scatter_check_their_index():
    x = fg.zeros(2, 3)
    with pytest.raises(IndexError, match=r"\[gather\] index 3 is out of bounds"):
        fg.gather(x, 1, fg.tensor([[3]]))
    with pytest.raises(TypeError, match=r"\[gather\] expected an int64 index"):
        fg.gather(x, 1, fg.tensor([[0]], dtype=fg.int32))
    with pytest.raises(ValueError, match=r"\[scatter_add\] expected an index with as many"):
        fg.scatter_add(x, 1, fg.tensor([0]), fg.ones(1))
    with pytest.raises(ValueError, match=r"\[scatter_reduce\] expected reduce"):
        fg.scatter_reduce(x, 1, fg.tensor([[0]]), fg.ones(1, 1), "max")


def test_scatter_forms():
    x = fg.zeros(2, 3)
    index = fg.tensor([[0, 2], [1, 1]])
    assert fg.scatter(x, 1, index, value=7.0).tolist() == [[7.0, 0.0, 7.0], [0.0, 7.0, 0.0]]
    assert fg.scatter_add(x, 1, index, fg.ones(2, 2)).tolist() == [[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]]
    mean = fg.scatter_reduce(fg.ones(2, 3), 1, index, fg.tensor([[3.0, 5.0], [2.0, 4.0]]), "mean")
    np.testing.assert_allclose(to_numpy(mean), [[2.0, 1.0, 3.0], [1.0, 7.0 / 3.0, 1.0]], rtol=1e-6)
    y = fg.zeros(2, 3)
    y.scatter_add_(1, index, fg.ones(2, 2))
    assert y.sum().item() == 4.0
    h = fg.tensor([1.0, 2.0], dtype=fg.float16)
    assert fg.gather(h, 0, fg.tensor([1, 1, 0])).tolist() == [2.0, 2.0, 1.0]
