"""Elementwise ops: arithmetic with broadcasting and Python scalars, unary math, pow, clamp,
comparisons; forward vs float64 numpy, backward vs float64 central differences."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import forgegrad as fg

from helpers import (
    CUDA_SKIP_REASON,
    LARGE_SHAPES,
    SHAPES,
    assert_close,
    as_tensor,
    check_backward,
    check_forward,
    cuda_available,
    make_input,
    np_digamma,
    np_erfinv,
    np_polygamma,
    to_numpy,
)

# name -> (forgegrad fn, float64 numpy fn, input domain, kinks to keep away from)
UNARY = {
    "neg": (lambda t: -t, np.negative, (-2.0, 2.0), ()),
    "exp": (fg.exp, np.exp, (-3.0, 3.0), ()),
    "exp_method": (lambda t: t.exp(), np.exp, (-3.0, 3.0), ()),
    "log": (fg.log, np.log, "positive", ()),
    "log_method": (lambda t: t.log(), np.log, "positive", ()),
    "sqrt": (fg.sqrt, np.sqrt, "positive", ()),
    "sqrt_method": (lambda t: t.sqrt(), np.sqrt, "positive", ()),
    "abs": (fg.abs, np.abs, (-2.0, 2.0), (0.0,)),
    "abs_method": (lambda t: t.abs(), np.abs, (-2.0, 2.0), (0.0,)),
    "clamp_both": (
        lambda t: t.clamp(min=-0.5, max=0.75),
        lambda x: np.clip(x, -0.5, 0.75),
        (-2.0, 2.0),
        (-0.5, 0.75),
    ),
    "clamp_min": (lambda t: t.clamp(min=-0.5), lambda x: np.maximum(x, -0.5), (-2.0, 2.0), (-0.5,)),
    "clamp_max": (lambda t: t.clamp(max=0.75), lambda x: np.minimum(x, 0.75), (-2.0, 2.0), (0.75,)),
    "clamp_fn": (
        lambda t: fg.clamp(t, -1.0, 1.0),
        lambda x: np.clip(x, -1.0, 1.0),
        (-2.0, 2.0),
        (-1.0, 1.0),
    ),
    "pow2": (lambda t: t**2.0, lambda x: x**2.0, (-2.0, 2.0), ()),
    "pow3_int": (lambda t: t**3, lambda x: x**3, (-2.0, 2.0), ()),
    "pow_half": (lambda t: t**0.5, np.sqrt, "positive", ()),
    "pow_neg": (lambda t: t**-1.5, lambda x: x**-1.5, "positive", ()),
    "pow_one": (lambda t: t**1.0, lambda x: x, (-2.0, 2.0), ()),
    "pow_zero": (lambda t: t**0.0, lambda x: np.ones_like(x), (-2.0, 2.0), ()),
    "add_scalar": (lambda t: t + 2.5, lambda x: x + 2.5, (-2.0, 2.0), ()),
    "radd_scalar": (lambda t: 2.5 + t, lambda x: 2.5 + x, (-2.0, 2.0), ()),
    "add_int_scalar": (lambda t: t + 2, lambda x: x + 2, (-2.0, 2.0), ()),
    "sub_scalar": (lambda t: t - 1.25, lambda x: x - 1.25, (-2.0, 2.0), ()),
    "rsub_scalar": (lambda t: 1.25 - t, lambda x: 1.25 - x, (-2.0, 2.0), ()),
    "mul_scalar": (lambda t: t * 3.0, lambda x: x * 3.0, (-2.0, 2.0), ()),
    "rmul_scalar": (lambda t: -3.0 * t, lambda x: -3.0 * x, (-2.0, 2.0), ()),
    "div_scalar": (lambda t: t / 1.5, lambda x: x / 1.5, (-2.0, 2.0), ()),
    "rdiv_scalar": (lambda t: 1.5 / t, lambda x: 1.5 / x, "nonzero", ()),
}

BINARY = {
    "add": (lambda a, b: a + b, np.add, (-2.0, 2.0)),
    "sub": (lambda a, b: a - b, np.subtract, (-2.0, 2.0)),
    "mul": (lambda a, b: a * b, np.multiply, (-2.0, 2.0)),
    "div": (lambda a, b: a / b, np.divide, "nonzero"),
}

BROADCAST = [
    ((7,), (7,)),
    ((1,), (129,)),
    ((129,), (1,)),
    ((33, 1), (1, 129)),
    ((7, 33), (33,)),
    ((33,), (7, 33)),
    ((3, 1, 5), (7, 1)),
    ((3, 7, 5), (3, 7, 5)),
    ((), (7,)),
    ((7, 33), ()),
]

SHAPES_0D = SHAPES + [()]


def _domains(dom, n):
    # The numerator (first input) may be anything; only the divisor must stay away from 0.
    return [(-2.0, 2.0)] * (n - 1) + [dom]


@pytest.mark.parametrize("shape", SHAPES_0D, ids=str)
@pytest.mark.parametrize("op", list(UNARY))
def test_unary_forward(op, shape, device):
    fn, ref, dom, avoid = UNARY[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)


@pytest.mark.parametrize("shape", SHAPES_0D, ids=str)
@pytest.mark.parametrize("op", list(UNARY))
def test_unary_backward(op, shape, device):
    fn, ref, dom, avoid = UNARY[op]
    check_backward(fn, ref, shape, device=device, domain=dom, avoid=avoid, elementwise=True)


@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
@pytest.mark.parametrize("op", list(BINARY))
def test_binary_forward(op, shapes, device):
    fn, ref, dom = BINARY[op]
    check_forward(fn, ref, *shapes, device=device, domains=_domains(dom, 2))


@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
@pytest.mark.parametrize("op", list(BINARY))
def test_binary_backward(op, shapes, device):
    fn, ref, dom = BINARY[op]
    check_backward(fn, ref, *shapes, device=device, domains=_domains(dom, 2))


LARGE_UNARY = ["exp", "log", "sqrt", "abs", "clamp_both", "pow3_int", "rdiv_scalar"]


@pytest.mark.parametrize("shape", LARGE_SHAPES, ids=str)
@pytest.mark.parametrize("op", LARGE_UNARY)
def test_unary_forward_large(op, shape, device):
    fn, ref, dom, avoid = UNARY[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)


@pytest.mark.parametrize("op", list(BINARY))
def test_binary_large(op, device):
    fn, ref, dom = BINARY[op]
    check_forward(fn, ref, (513, 1031), (1031,), device=device, domains=_domains(dom, 2))
    check_backward(
        fn, ref, (513, 1031), (1031,), device=device, domains=_domains(dom, 2), max_checks=40
    )


@pytest.mark.parametrize("op", LARGE_UNARY)
def test_unary_backward_large(op, device):
    fn, ref, dom, avoid = UNARY[op]
    check_backward(fn, ref, (513, 1031), device=device, domain=dom, avoid=avoid, elementwise=True)


def test_chain_of_ops(device):
    # A composite expression: every intermediate backward rule in one graph.
    check_backward(
        lambda a, b: ((a * b + 1.5) / (b * b + 1.0)).exp() - a.abs().sqrt(),
        lambda a, b: np.exp((a * b + 1.5) / (b * b + 1.0)) - np.sqrt(np.abs(a)),
        (7, 33),
        (33,),
        device=device,
        avoid=(0.0,),
    )


def test_non_contiguous_inputs(device):
    # A transposed view and a strided slice feed elementwise ops like contiguous tensors.
    a = make_input((33, 7))
    b = make_input((7, 33))
    ta, tb = as_tensor(a, device), as_tensor(b, device)
    assert_close(to_numpy(ta.T * tb), a.astype(np.float64).T * b)
    assert_close(to_numpy(ta.transpose(0, 1) + tb), a.astype(np.float64).T + b)
    assert_close(to_numpy(ta[::2].exp()), np.exp(a[::2].astype(np.float64)))


# ------------------------------------------------------------------- comparisons
CMP = {
    "eq": (lambda a, b: a == b, np.equal),
    "ne": (lambda a, b: a != b, np.not_equal),
    "lt": (lambda a, b: a < b, np.less),
    "le": (lambda a, b: a <= b, np.less_equal),
    "gt": (lambda a, b: a > b, np.greater),
    "ge": (lambda a, b: a >= b, np.greater_equal),
}


def _small_ints(shape, rng, dtype):
    # Few distinct values, so equal elements (the interesting case) are common.
    return rng.integers(-2, 3, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.int64], ids=["float32", "int64"])
@pytest.mark.parametrize(
    "shapes",
    [((7,), (7,)), ((33, 1), (1, 129)), ((7, 33), (33,)), ((1,), (129,)), ((), (7,))],
    ids=str,
)
@pytest.mark.parametrize("op", list(CMP))
def test_compare(op, shapes, dtype, device, rng):
    fn, ref = CMP[op]
    a = _small_ints(shapes[0], rng, dtype)
    b = _small_ints(shapes[1], rng, dtype)
    out = fn(as_tensor(a, device), as_tensor(b, device))
    assert out.dtype == fg.bool
    assert not out.requires_grad
    np.testing.assert_array_equal(to_numpy(out), ref(a, b))


@pytest.mark.parametrize("op", list(CMP))
def test_compare_scalar_both_sides(op, device, rng):
    fn, ref = CMP[op]
    a = _small_ints((7, 33), rng, np.float32)
    np.testing.assert_array_equal(to_numpy(fn(as_tensor(a, device), 1.0)), ref(a, 1.0))
    np.testing.assert_array_equal(to_numpy(fn(1.0, as_tensor(a, device))), ref(1.0, a))
    ai = _small_ints((33,), rng, np.int64)
    np.testing.assert_array_equal(to_numpy(fn(as_tensor(ai, device), 1)), ref(ai, 1))


def test_compare_on_grad_tensor_has_no_grad(device):
    x = as_tensor(make_input((7,)), device, requires_grad=True)
    m = x > 0.0
    assert m.dtype == fg.bool and not m.requires_grad


# ----------------------------------------------------------------------------- NaN
NAN_OPS = {
    "add": lambda t: t + 1.0,
    "mul": lambda t: t * 2.0,
    "div": lambda t: 1.0 / t,
    "neg": lambda t: -t,
    "exp": fg.exp,
    "log": fg.log,
    "sqrt": fg.sqrt,
    "abs": fg.abs,
    "pow": lambda t: t**2.0,
    "clamp": lambda t: t.clamp(min=0.0, max=1.0),
    "clamp_min": lambda t: t.clamp(min=0.5),
    "clamp_max": lambda t: t.clamp(max=0.5),
}


@pytest.mark.parametrize("op", list(NAN_OPS))
def test_nan_propagates(op, device):
    x = make_input((33,), "positive")
    x[[0, 5, 32]] = np.nan
    out = to_numpy(NAN_OPS[op](as_tensor(x, device)))
    assert np.isnan(out[[0, 5, 32]]).all(), f"{op} dropped a NaN: {out[[0, 5, 32]]}"
    assert not np.isnan(np.delete(out, [0, 5, 32])).any()


# ------------------------------------------------------------------------- hypothesis
HYP_UNARY = ["exp", "log", "sqrt", "abs", "clamp_both", "pow3_int", "rdiv_scalar", "neg"]


@given(
    op=st.sampled_from(HYP_UNARY),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=40),
)
def test_unary_hypothesis(op, shape, device):
    fn, ref, dom, avoid = UNARY[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)
    check_backward(fn, ref, shape, device=device, domain=dom, avoid=avoid, elementwise=True)


@given(
    op=st.sampled_from(list(BINARY)),
    shapes=hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=24
    ),
)
def test_binary_broadcast_hypothesis(op, shapes, device):
    fn, ref, dom = BINARY[op]
    a_shape, b_shape = shapes.input_shapes
    check_forward(fn, ref, a_shape, b_shape, device=device, domains=_domains(dom, 2))
    check_backward(
        fn, ref, a_shape, b_shape, device=device, domains=_domains(dom, 2), max_checks=30
    )


@pytest.mark.cuda
def test_cpu_and_cuda_agree():
    if not cuda_available():
        pytest.skip(CUDA_SKIP_REASON)
    a, b = make_input((33, 129)), make_input((129,), "nonzero")
    for op in ("add", "sub", "mul", "div"):
        fn = BINARY[op][0]
        cpu = to_numpy(fn(as_tensor(a, "cpu"), as_tensor(b, "cpu")))
        gpu = to_numpy(fn(as_tensor(a, "cuda"), as_tensor(b, "cuda")))
        assert_close(gpu, cpu, what=op)


# ------------------------------------------------------------------ special values
SPECIAL = np.array(
    [0.0, -0.0, 1.0, -1.0, 0.5, -2.0, 100.0, -200.0, np.inf, -np.inf, np.nan, 1e-30, 3e38],
    dtype=np.float32,
)

SPECIAL_OPS = {
    "exp": (fg.exp, np.exp),
    "log": (fg.log, np.log),
    "sqrt": (fg.sqrt, np.sqrt),
    "abs": (fg.abs, np.abs),
    "neg": (lambda t: -t, np.negative),
    "recip": (lambda t: 1.0 / t, lambda x: np.float32(1.0) / x),
    "pow_half": (lambda t: t**0.5, lambda x: x ** np.float32(0.5)),
    "pow_neg1": (lambda t: t**-1.0, lambda x: x ** np.float32(-1.0)),
    "square": (lambda t: t**2.0, lambda x: x ** np.float32(2.0)),
    "sub_self": (lambda t: t - t, lambda x: x - x),
    "mul_zero": (lambda t: t * 0.0, lambda x: x * np.float32(0.0)),
    "clamp": (lambda t: t.clamp(-1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0)),
}


@pytest.mark.parametrize("op", list(SPECIAL_OPS))
def test_special_values_match_numpy(op, device):
    # inf, -inf, NaN, 0, -0, overflow and underflow behave as IEEE float32 (numpy float32).
    fn, ref = SPECIAL_OPS[op]
    x = SPECIAL
    if op == "pow_half":
        # (-inf) ** 0.5 is +inf in C99 pow and PyTorch but NaN in numpy: left out.
        x = x[~np.isneginf(x)]
    with np.errstate(all="ignore"):
        expected = ref(x)
    got = to_numpy(fn(as_tensor(x, device)))
    assert_close(got, expected.astype(np.float64), what=op)


def test_compare_nan_and_inf(device):
    a = np.array([np.nan, np.nan, 1.0, np.inf, -np.inf], dtype=np.float32)
    b = np.array([np.nan, 1.0, np.nan, np.inf, 0.0], dtype=np.float32)
    ta, tb = as_tensor(a, device), as_tensor(b, device)
    for op, (fn, ref) in CMP.items():
        np.testing.assert_array_equal(to_numpy(fn(ta, tb)), ref(a, b), err_msg=op)


def test_compare_int64_exact(device):
    # Large int64 values must be compared as integers, not through float/double.
    big = 2**62
    a = as_tensor(np.array([big + 1, big, -big - 1], dtype=np.int64), device)
    b = as_tensor(np.array([big, big, -big], dtype=np.int64), device)
    assert to_numpy(a == b).tolist() == [False, True, False]
    assert to_numpy(a > b).tolist() == [True, False, False]
    assert to_numpy(a == big).tolist() == [False, True, False]
    assert to_numpy(a != big + 1).tolist() == [False, True, True]


# ------------------------------------------------------------ accuracy over the range
SWEEPS = {
    # name: (fn, float64 reference, inputs spanning the op's whole float32 range)
    "exp": (fg.exp, np.exp, np.linspace(-87.3, 88.72, 40001)),  # normal results up to FLT_MAX
    "log": (fg.log, np.log, np.logspace(-37.9, 38.5, 40001)),
    "log_near_1": (fg.log, np.log, np.linspace(0.9, 1.1, 40001)),
    "sqrt": (fg.sqrt, np.sqrt, np.logspace(-37.9, 38.5, 40001)),
    "tanh": (fg.tanh, np.tanh, np.linspace(-20.0, 20.0, 40001)),
    "tanh_small": (fg.tanh, np.tanh, np.logspace(-30, 0, 4001)),
    "sigmoid": (fg.sigmoid, lambda v: 1.0 / (1.0 + np.exp(-v)), np.linspace(-80.0, 80.0, 40001)),
    "pow_2.5": (lambda t: t**2.5, lambda v: v**2.5, np.logspace(-10, 10, 4001)),
    "pow_-0.7": (lambda t: t**-0.7, lambda v: v**-0.7, np.logspace(-10, 10, 4001)),
}


@pytest.mark.parametrize("op", list(SWEEPS))
def test_accuracy_sweep(op, device):
    # Pure relative error (atol=0) over the whole float32 range of normal results; float32
    # math libraries manage 1 to 4 ulp (CUDA documents 2 for expf and tanhf, 4 for powf; an
    # ulp is at most 1.2e-7), and 1e-6 leaves room for a vectorised polynomial.
    fn, ref, x = SWEEPS[op]
    x = x.astype(np.float32)
    check_forward(fn, ref, inputs=[x], device=device, rtol=1e-6, atol=0.0)


def test_exp_does_not_overflow_early(device):
    # exp(88.5) = 2.7e38 < FLT_MAX = 3.4e38: finite; exp(88.8) overflows to inf.
    x = np.array([88.38, 88.5, 88.7, 88.8], dtype=np.float32)
    got = to_numpy(fg.exp(as_tensor(x, device)))
    assert np.isfinite(got[:3]).all(), got
    assert_close(got[:3], np.exp(x[:3].astype(np.float64)), rtol=1e-6, atol=0.0)
    assert got[3] == np.inf


def test_kink_gradients_follow_pytorch(device):
    # clamp passes the gradient on the closed interval [min, max]; abs'(0) = 0 (sign(0)).
    x = as_tensor(np.array([-1.0, -0.5, 0.0, 0.75, 1.0], np.float32), device, requires_grad=True)
    x.clamp(min=-0.5, max=0.75).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0.0, 1.0, 1.0, 1.0, 0.0])
    y = as_tensor(np.array([-2.0, 0.0, 3.0], np.float32), device, requires_grad=True)
    y.abs().sum().backward()
    np.testing.assert_array_equal(to_numpy(y.grad), [-1.0, 0.0, 1.0])


@pytest.mark.parametrize(
    "scalar",
    [np.float32(1.5), np.float64(1.5), np.int64(2)],
    ids=["np.float32", "np.float64", "np.int64"],
)
def test_numpy_scalar_operands(scalar, device):
    # numpy scalars are numbers (numbers.Real) and arise everywhere (arr.mean(), arr[i]):
    # they work like Python scalars on either side, as in PyTorch.
    x = make_input((7, 33), "nonzero")
    t = as_tensor(x, device)
    s = float(scalar)
    x64 = x.astype(np.float64)
    assert_close(to_numpy(t * scalar), x64 * s)
    assert_close(to_numpy(t + scalar), x64 + s)
    assert_close(to_numpy(t - scalar), x64 - s)
    assert_close(to_numpy(t / scalar), x64 / s)
    assert_close(to_numpy(t.abs() ** scalar), np.abs(x64) ** s)
    for r in (scalar * t, scalar + t, scalar - t, scalar / t):
        assert isinstance(r, fg.Tensor), f"{type(scalar).__name__} op Tensor gave {type(r)}"
    assert_close(to_numpy(scalar * t), s * x64)
    assert_close(to_numpy(scalar - t), s - x64)
    assert_close(to_numpy(scalar / t), s / x64)


def test_log1p_is_exact_near_zero_where_log_of_one_plus_x_is_not(device):
    # 1 + 1e-8 rounds to 1 in float32: log(1 + x) would give 0, log1p gives x.
    x = np.array([1e-8, -3e-9, 2e-30, 0.0], dtype=np.float32)
    got = fg.tensor(x, device=device).log1p()
    assert_close(to_numpy(got), np.log1p(x.astype(np.float64)), rtol=1e-6)
    assert to_numpy(fg.log1p(fg.tensor([-1.0, -2.0], device=device))).tolist()[0] == -np.inf


# ---- the gamma family, erfinv, nan_to_num, round(decimals), sgn ----------------------------
_INF = math.inf


def _values(values, device, dtype=fg.float64):
    return fg.tensor(values, dtype=dtype, device=device)


def test_gamma_family_and_erfinv_are_float64_accurate_away_from_poles(device):
    x = np.concatenate([np.linspace(-30.3, 60.1, 397), np.geomspace(1e-6, 1e12, 60)])
    t = _values(x, device)
    assert_close(to_numpy(fg.lgamma(t)), np.vectorize(math.lgamma)(x), rtol=1e-12)
    # digamma away from its root near 1.4616, where any value has a large relative error
    assert_close(to_numpy(fg.digamma(t)), np_digamma(x), rtol=1e-12, atol=1e-14)
    for n in (1, 2, 5):
        assert_close(to_numpy(fg.polygamma(n, t)), np_polygamma(n, x), rtol=1e-12, atol=0)
    p = np.concatenate(
        [
            np.linspace(-0.999, 0.999, 201),
            1 - np.geomspace(1e-16, 1e-3, 40),
            np.geomspace(1e-300, 1e-3, 40),
        ]
    )
    assert_close(to_numpy(fg.erfinv(_values(p, device))), np_erfinv(p), rtol=1e-13, atol=0)


def test_gamma_family_and_erfinv_edge_values_follow_pytorch(device):
    x = _values([0.0, -0.0, -1.0, -2.5, _INF, -_INF], device)
    assert_close(to_numpy(fg.lgamma(x)), [_INF, _INF, _INF, math.lgamma(-2.5), _INF, _INF])
    assert_close(to_numpy(fg.digamma(x)), [-_INF, _INF, np.nan, np_digamma(-2.5), _INF, np.nan])
    assert_close(to_numpy(fg.polygamma(1, x))[[0, 2, 4]], [_INF, _INF, 0.0])
    assert_close(to_numpy(fg.polygamma(3, x))[[0, 2, 4, 5]], [_INF, _INF, 0.0, _INF])
    # far below 0 too, without a sum over |x| terms
    far = _values([-2000.5, -1e15 - 0.5], device)
    assert_close(to_numpy(fg.polygamma(2, far))[:1], np_polygamma(2, [-2000.5]), rtol=1e-12)
    assert np.isfinite(to_numpy(fg.polygamma(4, far))).all()
    e = to_numpy(fg.erfinv(_values([1.0, -1.0, 1.5, -2.0, -0.0, 0.0], device)))
    assert_close(e, [_INF, -_INF, np.nan, np.nan, 0.0, 0.0])
    assert np.signbit(e[4]) and not np.signbit(e[5])
    # integers become float32, as every real-valued op's
    assert fg.erfinv(fg.tensor([0, 1], device=device)).dtype == fg.float32
    assert fg.digamma(fg.tensor([True], device=device)).dtype == fg.float32


def test_polygamma_takes_the_order_first_and_as_a_method(device):
    x = _values([0.5, 2.0, 7.25], device)
    assert_close(to_numpy(x.polygamma(2)), np_polygamma(2, to_numpy(x)), rtol=1e-12)
    assert_close(to_numpy(fg.polygamma(0, x)), to_numpy(fg.digamma(x)), rtol=0)
    y = x.clone()
    y.polygamma_(1)
    assert_close(to_numpy(y), np_polygamma(1, to_numpy(x)), rtol=1e-12)
    with pytest.raises(ValueError, match=r"\[polygamma\] expected an order n >= 0, got -1"):
        fg.polygamma(-1, x)


def test_gamma_family_gradients_chain(device):
    # lgamma' = digamma, digamma' = trigamma, polygamma(n)' = polygamma(n + 1), erfinv' =
    # sqrt(pi) / 2 exp(erfinv^2), in float64 against the references
    values = [0.3, 1.7, -0.4, 4.5]
    x = np.array(values)
    for op, want in [
        (fg.lgamma, np_digamma(x)),
        (fg.digamma, np_polygamma(1, x)),
        (lambda t: fg.polygamma(2, t), np_polygamma(3, x)),
        (lambda t: fg.erfinv(t / 5), math.sqrt(math.pi) / 10 * np.exp(np_erfinv(x / 5) ** 2)),
    ]:
        t = _values(values, device).requires_grad_(True)
        op(t).sum().backward()
        assert_close(to_numpy(t.grad), want, rtol=1e-12)


def test_nan_to_num_defaults_are_the_dtypes_extremes(device):
    raw = [np.nan, _INF, -_INF, 1.5]
    for dtype, top in [
        (fg.float32, np.finfo(np.float32).max),
        (fg.float16, 65504.0),
        (fg.float64, np.finfo(np.float64).max),
    ]:
        got = fg.nan_to_num(_values(raw, device, dtype))
        assert got.dtype == dtype
        assert_close(to_numpy(got.to(fg.float64)), [0.0, top, -top, 1.5], rtol=0)
    got = _values(raw, device).nan_to_num(nan=-1.0, posinf=7, neginf=-7)
    assert_close(to_numpy(got), [-1.0, 7.0, -7.0, 1.5], rtol=0)
    ints = fg.tensor([3, -4], device=device)
    assert fg.nan_to_num(ints, nan=1.0).dtype == fg.int64
    assert to_numpy(fg.nan_to_num(ints)).tolist() == [3, -4]
    t = _values(raw, device)
    t.nan_to_num_(posinf=2.0)
    assert_close(to_numpy(t), [0.0, 2.0, -np.finfo(np.float64).max, 1.5], rtol=0)


def test_nan_to_num_passes_the_gradient_where_the_input_was_finite(device):
    x = _values([np.nan, _INF, -_INF, 1.5, -2.0], device).requires_grad_(True)
    fg.nan_to_num(x).sum().backward()
    assert to_numpy(x.grad).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_round_with_decimals_rounds_half_to_even(device):
    x = _values([0.5, 1.5, 2.5, -0.5, -2.5], device)
    assert to_numpy(fg.round(x)).tolist() == [0.0, 2.0, 2.0, -0.0, -2.0]
    tens = _values([15.0, 25.0, -35.0, 44.0], device)
    assert to_numpy(fg.round(tens, decimals=-1)).tolist() == [20.0, 20.0, -40.0, 40.0]
    quarters = _values([0.25, 0.75, -0.125, 1.0625], device)
    assert to_numpy(quarters.round(decimals=1)).tolist() == [0.2, 0.8, -0.1, 1.1]
    quarters.round_(decimals=2)
    assert to_numpy(quarters).tolist() == [0.25, 0.75, -0.12, 1.06]
    ints = fg.tensor([15, -25], device=device)
    assert fg.round(ints).dtype == fg.int64 and to_numpy(fg.round(ints)).tolist() == [15, -25]
    with pytest.raises(TypeError, match=r"\[round\] expected a floating-point tensor"):
        fg.round(ints, decimals=-1)
    with pytest.raises(TypeError):
        fg.round(x, 1)  # decimals is keyword-only, as in PyTorch
    x.requires_grad_(True)
    fg.round(x * 3, decimals=1).sum().backward()
    assert to_numpy(x.grad).tolist() == [0.0] * 5


def test_sgn_is_sign_for_real_tensors(device):
    for values, dtype in [
        ([-2.5, 0.0, 3.0], fg.float32),
        ([-2, 0, 3], fg.int64),
        ([True, False], fg.bool),
    ]:
        t = fg.tensor(values, dtype=dtype, device=device)
        assert fg.sgn(t).dtype == dtype
        assert to_numpy(t.sgn()).tolist() == to_numpy(fg.sign(t)).tolist()
