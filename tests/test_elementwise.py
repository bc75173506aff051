"""Elementwise ops: arithmetic with broadcasting and Python scalars, unary math, pow, clamp,
comparisons; forward vs float64 numpy, backward vs float64 central differences."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import forgegrad as fg

from helpers import (CUDA_SKIP_REASON, LARGE_SHAPES, SHAPES, assert_close, as_tensor,
                     check_backward, check_forward, cuda_available, make_input, to_numpy)

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
    "clamp_both": (lambda t: t.clamp(min=-0.5, max=0.75), lambda x: np.clip(x, -0.5, 0.75),
                   (-2.0, 2.0), (-0.5, 0.75)),
    "clamp_min": (lambda t: t.clamp(min=-0.5), lambda x: np.maximum(x, -0.5), (-2.0, 2.0), (-0.5,)),
    "clamp_max": (lambda t: t.clamp(max=0.75), lambda x: np.minimum(x, 0.75), (-2.0, 2.0), (0.75,)),
    "clamp_fn": (lambda t: fg.clamp(t, -1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0), (-2.0, 2.0),
                 (-1.0, 1.0)),
    "pow2": (lambda t: t ** 2.0, lambda x: x ** 2.0, (-2.0, 2.0), ()),
    "pow3_int": (lambda t: t ** 3, lambda x: x ** 3, (-2.0, 2.0), ()),
    "pow_half": (lambda t: t ** 0.5, np.sqrt, "positive", ()),
    "pow_neg": (lambda t: t ** -1.5, lambda x: x ** -1.5, "positive", ()),
    "pow_one": (lambda t: t ** 1.0, lambda x: x, (-2.0, 2.0), ()),
    "pow_zero": (lambda t: t ** 0.0, lambda x: np.ones_like(x), (-2.0, 2.0), ()),
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
    check_backward(fn, ref, shape, device=device, domain=dom, avoid=avoid)


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


@pytest.mark.parametrize("shape", LARGE_SHAPES, ids=str)
@pytest.mark.parametrize("op", ["exp", "log", "sqrt", "abs", "clamp_both", "pow3_int", "rdiv_scalar"])
def test_unary_forward_large(op, shape, device):
    fn, ref, dom, avoid = UNARY[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)


@pytest.mark.parametrize("op", list(BINARY))
def test_binary_large(op, device):
    fn, ref, dom = BINARY[op]
    check_forward(fn, ref, (513, 1031), (1031,), device=device, domains=_domains(dom, 2))
    check_backward(fn, ref, (513, 1031), (1031,), device=device, domains=_domains(dom, 2),
                   max_checks=40)


@pytest.mark.parametrize("op", ["exp", "clamp_both", "rdiv_scalar"])
def test_unary_backward_large(op, device):
    fn, ref, dom, avoid = UNARY[op]
    check_backward(fn, ref, (513, 1031), device=device, domain=dom, avoid=avoid, max_checks=40)


def test_chain_of_ops(device):
    # A composite expression: every intermediate backward rule in one graph.
    check_backward(lambda a, b: ((a * b + 1.5) / (b * b + 1.0)).exp() - a.abs().sqrt(),
                   lambda a, b: np.exp((a * b + 1.5) / (b * b + 1.0)) - np.sqrt(np.abs(a)),
                   (7, 33), (33,), device=device, avoid=(0.0,))


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
@pytest.mark.parametrize("shapes", [((7,), (7,)), ((33, 1), (1, 129)), ((7, 33), (33,)),
                                    ((1,), (129,)), ((), (7,))], ids=str)
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
    "pow": lambda t: t ** 2.0,
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


@given(op=st.sampled_from(HYP_UNARY),
       shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=40))
def test_unary_hypothesis(op, shape, device):
    fn, ref, dom, avoid = UNARY[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)
    check_backward(fn, ref, shape, device=device, domain=dom, avoid=avoid, max_checks=30)


@given(op=st.sampled_from(list(BINARY)),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                min_side=1, max_side=24))
def test_binary_broadcast_hypothesis(op, shapes, device):
    fn, ref, dom = BINARY[op]
    a_shape, b_shape = shapes.input_shapes
    check_forward(fn, ref, a_shape, b_shape, device=device, domains=_domains(dom, 2))
    check_backward(fn, ref, a_shape, b_shape, device=device, domains=_domains(dom, 2),
                   max_checks=30)


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
