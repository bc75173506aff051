"""Activations: F.relu, leaky_relu, gelu (exact and tanh), tanh, sigmoid, silu, softmax and
log_softmax over any dim, and the Tensor-method spellings."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import forgegrad as fg
import forgegrad.nn.functional as F

from helpers import (LARGE_SHAPES, SHAPES, as_tensor, assert_close, check_backward,
                     check_forward, make_input, np_gelu, np_gelu_tanh, np_log_softmax,
                     np_sigmoid, np_softmax, to_numpy)

# name -> (forgegrad fn, float64 numpy fn, domain, kinks)
ACT = {
    "relu": (F.relu, lambda x: np.maximum(x, 0.0), (-3.0, 3.0), (0.0,)),
    "relu_method": (lambda t: t.relu(), lambda x: np.maximum(x, 0.0), (-3.0, 3.0), (0.0,)),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), (-3.0, 3.0), (0.0,)),
    "leaky_relu_0.2": (lambda t: F.leaky_relu(t, negative_slope=0.2),
                       lambda x: np.where(x > 0, x, 0.2 * x), (-3.0, 3.0), (0.0,)),
    "leaky_relu_pos": (lambda t: F.leaky_relu(t, 0.3), lambda x: np.where(x > 0, x, 0.3 * x),
                       (-3.0, 3.0), (0.0,)),
    "gelu": (F.gelu, np_gelu, (-5.0, 5.0), ()),
    "gelu_none": (lambda t: F.gelu(t, approximate="none"), np_gelu, (-5.0, 5.0), ()),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), np_gelu_tanh, (-5.0, 5.0), ()),
    "tanh": (F.tanh, np.tanh, (-4.0, 4.0), ()),
    "tanh_method": (lambda t: t.tanh(), np.tanh, (-4.0, 4.0), ()),
    "tanh_fn": (fg.tanh, np.tanh, (-4.0, 4.0), ()),
    "sigmoid": (F.sigmoid, np_sigmoid, (-8.0, 8.0), ()),
    "sigmoid_method": (lambda t: t.sigmoid(), np_sigmoid, (-8.0, 8.0), ()),
    "sigmoid_fn": (fg.sigmoid, np_sigmoid, (-8.0, 8.0), ()),
    "silu": (F.silu, lambda x: x * np_sigmoid(x), (-6.0, 6.0), ()),
}

# (shape, dim) for softmax / log_softmax
SOFTMAX_CASES = [((1,), 0), ((7,), -1), ((129,), 0), ((7, 33), -1), ((7, 33), 0), ((33, 129), 1),
                 ((129, 1), 1), ((3, 7, 5), 1), ((3, 7, 5), -1), ((3, 7, 5), 0)]


@pytest.mark.parametrize("shape", SHAPES + [()], ids=str)
@pytest.mark.parametrize("op", list(ACT))
def test_activation(op, shape, device):
    fn, ref, dom, avoid = ACT[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)
    check_backward(fn, ref, shape, device=device, domain=dom, avoid=avoid, elementwise=True)


@pytest.mark.parametrize("shape", LARGE_SHAPES, ids=str)
@pytest.mark.parametrize("op", ["relu", "leaky_relu", "gelu", "gelu_tanh", "tanh", "sigmoid",
                                "silu"])
def test_activation_large(op, shape, device):
    fn, ref, dom, avoid = ACT[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)
    check_backward(fn, ref, shape, device=device, domain=dom, avoid=avoid,
                   elementwise=True)


@pytest.mark.parametrize("op", ["sigmoid", "tanh", "silu", "gelu", "gelu_tanh"])
def test_activation_saturation(op, device):
    # Large |x| saturates without inf/NaN (exp overflow in a naive formula would give NaN).
    fn, ref, _, _ = ACT[op]
    x = np.array([-100.0, -50.0, -20.0, -10.0, 10.0, 20.0, 50.0, 100.0], dtype=np.float32)
    check_forward(fn, ref, inputs=[x], device=device)
    check_backward(fn, ref, inputs=[x], device=device)


@pytest.mark.parametrize("op", ["relu", "leaky_relu", "gelu", "gelu_tanh", "tanh", "sigmoid",
                                "silu"])
def test_activation_nan_propagates(op, device):
    fn = ACT[op][0]
    x = make_input((33,))
    x[[0, 7, 32]] = np.nan
    out = to_numpy(fn(as_tensor(x, device)))
    assert np.isnan(out[[0, 7, 32]]).all(), f"{op} dropped a NaN: {out[[0, 7, 32]]}"
    assert not np.isnan(np.delete(out, [0, 7, 32])).any()


def test_relu_grad_at_zero_is_zero(device):
    # PyTorch's convention: relu'(0) = 0.
    x = as_tensor(np.array([-1.0, 0.0, 2.0], dtype=np.float32), device, requires_grad=True)
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0.0, 0.0, 1.0])


# -------------------------------------------------------------------------- softmax
SOFTMAX = {
    "softmax": (lambda d: (lambda t: F.softmax(t, dim=d)), np_softmax),
    "softmax_method": (lambda d: (lambda t: t.softmax(d)), np_softmax),
    "log_softmax": (lambda d: (lambda t: F.log_softmax(t, dim=d)), np_log_softmax),
    "log_softmax_method": (lambda d: (lambda t: t.log_softmax(d)), np_log_softmax),
}


@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES, ids=str)
@pytest.mark.parametrize("op", list(SOFTMAX))
def test_softmax(op, shape, dim, device):
    make, ref = SOFTMAX[op]
    np_fn = lambda x: ref(x, axis=dim)
    check_forward(make(dim), np_fn, shape, device=device, domain=(-4.0, 4.0))
    check_backward(make(dim), np_fn, shape, device=device, domain=(-4.0, 4.0))


def test_softmax_default_dim(device):
    check_forward(F.softmax, np_softmax, (7, 33), device=device)
    check_forward(F.log_softmax, np_log_softmax, (7, 33), device=device)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_large(op, device):
    make, ref = SOFTMAX[op]
    for dim in (0, 1):
        check_forward(make(dim), lambda x: ref(x, axis=dim), (513, 1031), device=device)
        check_backward(make(dim), lambda x: ref(x, axis=dim), (513, 1031), device=device,
                       max_checks=20)


@pytest.mark.parametrize("shape", [(5, 2047), (3, 2048), (2, 70001)], ids=str)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_rows_of_a_block_each(op, shape, device):
    # Rows from 2048 long get a block each on the GPU, below a warp.
    make, ref = SOFTMAX[op]
    check_forward(make(1), lambda x: ref(x, axis=1), shape, device=device)
    check_backward(make(1), lambda x: ref(x, axis=1), shape, device=device, max_checks=20)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_stable_for_huge_logits(op, device):
    make, ref = SOFTMAX[op]
    x = np.array([[1e4, -1e4, 0.0, 9999.0], [-5e3, -5e3 + 1.0, -5e3 - 3.0, -6e3]],
                 dtype=np.float32)
    check_forward(make(-1), lambda a: ref(a, axis=-1), inputs=[x], device=device)
    # eps=1e-3: with |x| ~ 1e4 a 1e-6 step is resolved only to ~1e-6 relative in float64 and
    # log_softmax values ~ -2e4 cancel in the difference; softmax curvature is O(1), so the
    # truncation error of a 1e-3 step is ~1e-7.
    check_backward(make(-1), lambda a: ref(a, axis=-1), inputs=[x], device=device, eps=1e-3)


def test_softmax_rows_sum_to_one(device):
    x = as_tensor(make_input((33, 129), (-10.0, 10.0)), device)
    s = to_numpy(F.softmax(x, dim=1)).astype(np.float64).sum(axis=1)
    assert_close(s, np.ones(33))


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=30),
       data=st.data(), op=st.sampled_from(["softmax", "log_softmax"]))
def test_softmax_hypothesis(shape, data, op, device):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    make, ref = SOFTMAX[op]
    np_fn = lambda x: ref(x, axis=dim)
    check_forward(make(dim), np_fn, shape, device=device, domain=(-4.0, 4.0))
    check_backward(make(dim), np_fn, shape, device=device, domain=(-4.0, 4.0), max_checks=30)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40),
       op=st.sampled_from(["relu", "leaky_relu_0.2", "gelu", "gelu_tanh", "tanh", "sigmoid",
                           "silu"]))
def test_activation_hypothesis(shape, op, device):
    fn, ref, dom, avoid = ACT[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)
    check_backward(fn, ref, shape, device=device, domain=dom, avoid=avoid,
                   elementwise=True)


def test_softmax_masked_with_minus_inf(device):
    # -inf logits (attention-style masks) get probability 0 and log-probability -inf.
    x = np.array([[0.5, -np.inf, 1.0, -np.inf], [-np.inf, 2.0, -1.0, 0.0]], dtype=np.float32)
    t = as_tensor(x, device)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert_close(to_numpy(F.softmax(t, dim=1)), np_softmax(x.astype(np.float64), 1))
        assert_close(to_numpy(F.log_softmax(t, dim=1)), np_log_softmax(x.astype(np.float64), 1))


def test_softmax_on_offset_view(device):
    x = make_input((40, 33))
    t = as_tensor(x, device)
    assert_close(to_numpy(F.softmax(t[7:30], dim=1)), np_softmax(x[7:30].astype(np.float64), 1))
    assert_close(to_numpy(F.log_softmax(t[7:30], dim=0)),
                 np_log_softmax(x[7:30].astype(np.float64), 0))
    assert_close(to_numpy(F.gelu(t[9:11])), np_gelu(x[9:11].astype(np.float64)))


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_rows_longer_than_a_block(op, device):
    # One row much longer than any block: a split (parallel) max/sum inside the row.
    make, ref = SOFTMAX[op]
    check_forward(make(1), lambda a: ref(a, axis=1), (3, 300007), device=device,
                  domain=(-10.0, 10.0))
    check_forward(make(0), lambda a: ref(a, axis=0), (300007, 2), device=device,
                  domain=(-10.0, 10.0))


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_nan_stays_in_its_row(op, device):
    make, _ = SOFTMAX[op]
    x = make_input((5, 7))
    x[2, 3] = np.nan
    out = to_numpy(make(1)(as_tensor(x, device)))
    assert np.isnan(out[2]).all()
    assert not np.isnan(np.delete(out, 2, axis=0)).any()
