"""Activations: F.relu, leaky_relu, gelu (exact and tanh), tanh, sigmoid, silu, softmax and
log_softmax over any dim, and the Tensor-method spellings; the parametrized activations and
their modules."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import nn

from helpers import (
    LARGE_SHAPES,
    SHAPES,
    as_tensor,
    assert_close,
    check_backward,
    check_forward,
    make_input,
    np_gelu,
    np_gelu_tanh,
    np_log_softmax,
    np_sigmoid,
    np_softmax,
    to_numpy,
)

# name -> (forgegrad fn, float64 numpy fn, domain, kinks)
ACT = {
    "relu": (F.relu, lambda x: np.maximum(x, 0.0), (-3.0, 3.0), (0.0,)),
    "relu_method": (lambda t: t.relu(), lambda x: np.maximum(x, 0.0), (-3.0, 3.0), (0.0,)),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), (-3.0, 3.0), (0.0,)),
    "leaky_relu_0.2": (
        lambda t: F.leaky_relu(t, negative_slope=0.2),
        lambda x: np.where(x > 0, x, 0.2 * x),
        (-3.0, 3.0),
        (0.0,),
    ),
    "leaky_relu_pos": (
        lambda t: F.leaky_relu(t, 0.3),
        lambda x: np.where(x > 0, x, 0.3 * x),
        (-3.0, 3.0),
        (0.0,),
    ),
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
SOFTMAX_CASES = [
    ((1,), 0),
    ((7,), -1),
    ((129,), 0),
    ((7, 33), -1),
    ((7, 33), 0),
    ((33, 129), 1),
    ((129, 1), 1),
    ((3, 7, 5), 1),
    ((3, 7, 5), -1),
    ((3, 7, 5), 0),
]


@pytest.mark.parametrize("shape", SHAPES + [()], ids=str)
@pytest.mark.parametrize("op", list(ACT))
def test_activation(op, shape, device):
    fn, ref, dom, avoid = ACT[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)
    check_backward(fn, ref, shape, device=device, domain=dom, avoid=avoid, elementwise=True)


@pytest.mark.parametrize("shape", LARGE_SHAPES, ids=str)
@pytest.mark.parametrize(
    "op", ["relu", "leaky_relu", "gelu", "gelu_tanh", "tanh", "sigmoid", "silu"]
)
def test_activation_large(op, shape, device):
    fn, ref, dom, avoid = ACT[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)
    check_backward(fn, ref, shape, device=device, domain=dom, avoid=avoid, elementwise=True)


@pytest.mark.parametrize("op", ["sigmoid", "tanh", "silu", "gelu", "gelu_tanh"])
def test_activation_saturation(op, device):
    # Large |x| saturates without inf/NaN (exp overflow in a naive formula would give NaN).
    fn, ref, _, _ = ACT[op]
    x = np.array([-100.0, -50.0, -20.0, -10.0, 10.0, 20.0, 50.0, 100.0], dtype=np.float32)
    check_forward(fn, ref, inputs=[x], device=device)
    check_backward(fn, ref, inputs=[x], device=device)


@pytest.mark.parametrize(
    "op", ["relu", "leaky_relu", "gelu", "gelu_tanh", "tanh", "sigmoid", "silu"]
)
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
    "softmax": (lambda d: lambda t: F.softmax(t, dim=d), np_softmax),
    "softmax_method": (lambda d: lambda t: t.softmax(d), np_softmax),
    "log_softmax": (lambda d: lambda t: F.log_softmax(t, dim=d), np_log_softmax),
    "log_softmax_method": (lambda d: lambda t: t.log_softmax(d), np_log_softmax),
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
        check_backward(
            make(dim), lambda x: ref(x, axis=dim), (513, 1031), device=device, max_checks=20
        )


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
    x = np.array([[1e4, -1e4, 0.0, 9999.0], [-5e3, -5e3 + 1.0, -5e3 - 3.0, -6e3]], dtype=np.float32)
    check_forward(make(-1), lambda a: ref(a, axis=-1), inputs=[x], device=device)
    # eps=1e-3: with |x| ~ 1e4 a 1e-6 step is resolved only to ~1e-6 relative in float64 and
    # log_softmax values ~ -2e4 cancel in the difference; softmax curvature is O(1), so the
    # truncation error of a 1e-3 step is ~1e-7.
    check_backward(make(-1), lambda a: ref(a, axis=-1), inputs=[x], device=device, eps=1e-3)


def test_softmax_rows_sum_to_one(device):
    x = as_tensor(make_input((33, 129), (-10.0, 10.0)), device)
    s = to_numpy(F.softmax(x, dim=1)).astype(np.float64).sum(axis=1)
    assert_close(s, np.ones(33))


@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=30),
    data=st.data(),
    op=st.sampled_from(["softmax", "log_softmax"]),
)
def test_softmax_hypothesis(shape, data, op, device):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    make, ref = SOFTMAX[op]
    np_fn = lambda x: ref(x, axis=dim)
    check_forward(make(dim), np_fn, shape, device=device, domain=(-4.0, 4.0))
    check_backward(make(dim), np_fn, shape, device=device, domain=(-4.0, 4.0), max_checks=30)


@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40),
    op=st.sampled_from(["relu", "leaky_relu_0.2", "gelu", "gelu_tanh", "tanh", "sigmoid", "silu"]),
)
def test_activation_hypothesis(shape, op, device):
    fn, ref, dom, avoid = ACT[op]
    check_forward(fn, ref, shape, device=device, domain=dom, avoid=avoid)
    check_backward(fn, ref, shape, device=device, domain=dom, avoid=avoid, elementwise=True)


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
    assert_close(
        to_numpy(F.log_softmax(t[7:30], dim=0)), np_log_softmax(x[7:30].astype(np.float64), 0)
    )
    assert_close(to_numpy(F.gelu(t[9:11])), np_gelu(x[9:11].astype(np.float64)))


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_rows_longer_than_a_block(op, device):
    # One row much longer than any block: a split (parallel) max/sum inside the row.
    make, ref = SOFTMAX[op]
    check_forward(
        make(1), lambda a: ref(a, axis=1), (3, 300007), device=device, domain=(-10.0, 10.0)
    )
    check_forward(
        make(0), lambda a: ref(a, axis=0), (300007, 2), device=device, domain=(-10.0, 10.0)
    )


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_nan_stays_in_its_row(op, device):
    make, _ = SOFTMAX[op]
    x = make_input((5, 7))
    x[2, 3] = np.nan
    out = to_numpy(make(1)(as_tensor(x, device)))
    assert np.isnan(out[2]).all()
    assert not np.isnan(np.delete(out, 2, axis=0)).any()


# ---- the parametrized activations (values and gradients: tests/op_db.py) ----------------------

MODULES = [
    (nn.Softplus(beta=2.0), F.softplus, dict(beta=2.0)),
    (nn.ELU(0.5), F.elu, dict(alpha=0.5)),
    (nn.SELU(), F.selu, {}),
    (nn.CELU(2.0), F.celu, dict(alpha=2.0)),
    (nn.Mish(), F.mish, {}),
    (nn.Hardtanh(-2.0, 2.0), F.hardtanh, dict(min_val=-2.0, max_val=2.0)),
    (nn.ReLU6(), F.relu6, {}),
    (nn.Hardsigmoid(), F.hardsigmoid, {}),
    (nn.Hardswish(), F.hardswish, {}),
    (nn.LogSigmoid(), F.logsigmoid, {}),
    (nn.Softsign(), F.softsign, {}),
    (nn.Tanhshrink(), F.tanhshrink, {}),
    (nn.Threshold(0.1, 20.0), F.threshold, dict(threshold=0.1, value=20.0)),
    (nn.Softshrink(1.0), F.softshrink, dict(lambd=1.0)),
    (nn.Hardshrink(1.0), F.hardshrink, dict(lambd=1.0)),
    (nn.GLU(0), F.glu, dict(dim=0)),
]


@pytest.mark.parametrize(
    "module, function, kwargs", MODULES, ids=[type(m).__name__ for m, _, _ in MODULES]
)
def test_activation_modules_call_their_functions(module, function, kwargs, device):
    x = as_tensor(make_input((6, 5), domain=(-4.0, 4.0)), device)
    np.testing.assert_array_equal(to_numpy(module(x)), to_numpy(function(x, **kwargs)))
    assert type(module).__name__ in repr(module)
    for value in kwargs.values():
        assert str(value) in repr(module)


@pytest.mark.parametrize("dtype", [fg.float64, fg.float16, fg.bfloat16])
def test_parametrized_activations_keep_the_dtype(dtype):
    x = fg.tensor([-2.0, -0.5, 0.5, 2.0], dtype=dtype)
    for function in (F.softplus, F.elu, F.mish, F.hardswish, F.logsigmoid, F.softshrink):
        out = function(x)
        assert out.dtype == dtype
        np.testing.assert_allclose(
            to_numpy(out.float()), to_numpy(function(x.float())), rtol=1e-2, atol=1e-2
        )


def test_activations_are_stable_far_out():
    x = fg.tensor([-1000.0, -80.0, 80.0, 1000.0])
    np.testing.assert_allclose(to_numpy(F.logsigmoid(x)), [-1000.0, -80.0, 0.0, 0.0], atol=1e-30)
    np.testing.assert_allclose(to_numpy(F.softplus(x)), [0.0, 0.0, 80.0, 1000.0], atol=1e-30)
    np.testing.assert_allclose(to_numpy(F.mish(x)), [0.0, 0.0, 80.0, 1000.0], atol=1e-30)
    x.requires_grad_()
    F.logsigmoid(x).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [1.0, 1.0, 0.0, 0.0], atol=1e-30)


def test_activation_integer_input_is_refused():
    with pytest.raises(TypeError, match=r"\[Elu\]"):
        F.elu(fg.tensor([1, 2]))


def test_activation_argument_errors():
    with pytest.raises(ValueError, match=r"\[hardtanh\] expected min_val <= max_val"):
        F.hardtanh(fg.ones(2), 1.0, -1.0)
    with pytest.raises(ValueError, match=r"\[celu\] ZeroDivisionError"):
        F.celu(fg.ones(2), 0.0)
    with pytest.raises(ValueError, match=r"\[softshrink\] expected lambd >= 0"):
        F.softshrink(fg.ones(2), -1.0)
    with pytest.raises(ValueError, match=r"\[glu\] expected an even size"):
        F.glu(fg.ones(3))
    with pytest.raises(ValueError, match=r"\[prelu\] expected 1 weight or one per channel"):
        F.prelu(fg.ones(2, 3), fg.ones(2))
    with pytest.raises(TypeError, match=r"\[ELU\] alpha must be a number"):
        nn.ELU("a")


def test_inplace_writes_into_a_tensor_outside_a_graph():
    x = fg.tensor([-1.0, 2.0, 9.0])
    out = F.relu6(x, inplace=True)
    assert x.tolist() == [0.0, 2.0, 6.0] and out._data_ptr() == x._data_ptr()
    y = fg.tensor([-1.0, 2.0])
    F.relu(y, inplace=True)
    assert y.tolist() == [0.0, 2.0]
    # inside a recorded graph: out of place, so the gradient stays right
    w = fg.tensor([-1.0, 2.0], requires_grad=True)
    out = F.elu(w * 1.0, inplace=True)
    out.sum().backward()
    np.testing.assert_allclose(to_numpy(w.grad), [np.exp(-1.0), 1.0], rtol=1e-6)


def test_prelu_learns_its_weight(device):
    m = nn.PReLU(3, init=0.1).to(device)
    assert [name for name, _ in m.named_parameters()] == ["weight"]
    x = as_tensor(
        np.array([[[-1.0, 2.0]], [[-3.0, -1.0]], [[4.0, -2.0]]], np.float32)[None, :, 0], device
    )  # (1, 3, 2)
    out = m(x)
    np.testing.assert_allclose(to_numpy(out), [[[-0.1, 2.0], [-0.3, -0.1], [4.0, -0.2]]], rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(to_numpy(m.weight.grad), [-1.0, -4.0, -2.0])


def test_softmax_dtype_casts_first():
    x = fg.tensor([[1, 2, 3]])
    out = F.softmax(x, 1, dtype=fg.float64)
    assert out.dtype == fg.float64
    np.testing.assert_allclose(to_numpy(out), np_softmax(np.array([[1.0, 2.0, 3.0]]), 1))
    assert x.log_softmax(1, dtype=fg.float32).dtype == fg.float32
    np.testing.assert_allclose(
        to_numpy(F.softmin(fg.tensor([1.0, 2.0]), 0)),
        np_softmax(np.array([-1.0, -2.0]), 0),
        rtol=1e-6,
    )


def _normal_cdf_and_gelu(x):
    """float64 Phi(x), gelu(x) and gelu'(x) of float32 x, through math.erfc, which keeps
    its relative accuracy in the tails (1 + erf(x) does not)."""
    import math

    xs = x.astype(np.float64)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in xs])
    pdf = np.exp(-0.5 * xs * xs) / math.sqrt(2.0 * math.pi)
    return xs * cdf, cdf + xs * pdf


def test_gelu_exact_over_the_float_range(device):
    # The vectorized erf (float32 on the CPU) against float64, to a few ulp relative: the
    # region near 0, the tails down to where Phi(x) is subnormal, and large |x|.
    # The CPU's tails come from exp(-x^2 / 2) computed without rounding x^2; the GPU's erfcf
    # of a rounded x / sqrt 2 has about z^2 ulp there, so it is compared to |x| <= 10.
    limit, rtol = (14.5, 3e-6) if device == "cpu" else (10.0, 2e-5)
    edges = [np.nextafter(np.float32(1), np.float32(0)), 1.0, -1.0, 1e-30, -1e-30, 0.0, 3e4, -3e4]
    x = np.concatenate([np.linspace(-limit, limit, 200001), edges]).astype(np.float32)
    y_ref, dy_ref = _normal_cdf_and_gelu(x)
    t = as_tensor(x, device, requires_grad=True)
    y = F.gelu(t)
    y.backward(fg.ones_like(y))
    y, dy = to_numpy(y).astype(np.float64), to_numpy(t.grad).astype(np.float64)
    forward_error = np.abs(y - y_ref) / np.maximum(np.abs(y_ref), 1e-38)
    assert forward_error.max() <= rtol, f"gelu at x = {x[forward_error.argmax()]}"
    # gelu' crosses 0 near x = -0.75, where cdf + x pdf cancels: absolute error there
    backward_error = np.abs(dy - dy_ref) / np.maximum(np.abs(dy_ref), 0.1)
    assert backward_error.max() <= rtol, f"gelu' at x = {x[backward_error.argmax()]}"


def test_gelu_exact_non_finite(device):
    # As PyTorch: gelu(inf) = inf, gelu(-inf) = -inf * Phi(-inf) = NaN, NaN stays NaN; the
    # gradient at both infinities is NaN (inf * density 0).
    t = as_tensor(np.float32([np.inf, -np.inf, np.nan, -1e30, 1e30]), device, requires_grad=True)
    y = F.gelu(t)
    y.backward(fg.ones_like(y))
    np.testing.assert_array_equal(to_numpy(y), np.float32([np.inf, np.nan, np.nan, 0.0, 1e30]))
    np.testing.assert_array_equal(to_numpy(t.grad), np.float32([np.nan, np.nan, np.nan, 0.0, 1.0]))
