"""The fuzz driver: hypothesis over one op family, run in a child process by test_fuzz.py.

    python tests/fuzz_driver.py FAMILY CASE_FILE

Every op is one line of SPECS: its name, the forgegrad call, a float64 numpy reference and the
reference gradient (PyTorch's conventions at NaN, inf and 0 written out). Each case either
gives the reference's answer (forward and backward) or raises a clean exception whose message
names the op ("[op] ..."). The case is written to CASE_FILE before it runs, so that if the
process dies by a signal, the parent names the case that killed it. Exits 0 when every case
passed; otherwise hypothesis prints the shrunk failing case and the exit status is 1.

Set CI to run the fixed derandomized sequence; FG_FUZZ_EXAMPLES sets the examples per family.
"""

import math
import os
import signal
import sys
import tempfile
import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import forgegrad as fg

F = fg.nn.functional
np.seterr(all="ignore")  # the references meet NaN and inf on purpose
CLEAN_ERRORS = (ValueError, TypeError, IndexError, MemoryError, RuntimeError)
MAX_EXAMPLES = int(os.environ.get("FG_FUZZ_EXAMPLES", "150"))
CASE_FILE = None  # set by main()

# ---- values ------------------------------------------------------------------------------

# The values that broke things before: NaN, infinities, signed zeros, denormals, the float32
# extremes, and the edges of exp's range.
SPECIAL = [
    math.nan,
    math.inf,
    -math.inf,
    0.0,
    -0.0,
    1e-40,
    -1e-40,
    1.4e-45,
    3e38,
    -3e38,
    3.4028235e38,
    1.1754944e-38,
    88.8,
    -104.0,
    1.0,
    -1.0,
    1e-20,
    1e20,
    1e15,
    -1e15,
]
MODERATE = st.floats(-4, 4, width=32)
WILD = st.one_of(MODERATE, st.sampled_from(SPECIAL), st.floats(width=32))


def arrays(shape, wild, positive=False):
    """float32 arrays: moderate values (every gradient is checked) or wild ones."""
    moderate = st.floats(0.0625, 4, width=32) if positive else MODERATE
    return hnp.arrays(np.float32, shape, elements=WILD if wild else moderate)


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)


def describe(**parts):
    def one(v):
        if isinstance(v, list):
            return "[" + ", ".join(one(x) for x in v) + "]"
        if isinstance(v, np.ndarray):
            return f"np.array({v.tolist()!r}, dtype=np.{v.dtype}).reshape({v.shape})"
        return repr(v)

    return ", ".join(f"{k}={one(v)}" for k, v in parts.items())


def record_case(family, **parts):
    text = f"[{family}] " + describe(**parts)
    with open(CASE_FILE, "w") as f:
        f.write(text + "\n")
    return text


# ---- comparison --------------------------------------------------------------------------


def to_numpy(t):
    return t.detach().numpy()


def assert_close(actual, expected, what, rtol=1e-4, atol=1e-6, lenient=None):
    """actual (forgegrad's float32) against expected (float64 rounded to float32): NaN where
    NaN, the same infinity where infinite, close elsewhere. Positions where `lenient` is True
    (inputs at the float32 extremes, where float32 intermediates overflow) are not compared."""
    actual = np.asarray(actual)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = np.asarray(expected, dtype=np.float64).astype(np.float32).astype(np.float64)
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape}, expected {expected.shape}"
    )
    if actual.dtype == np.bool_ or expected.size == 0:
        assert np.array_equal(actual, expected.astype(actual.dtype)), (
            f"{what}: {actual} != {expected}"
        )
        return
    a = actual.astype(np.float64)
    skip = np.zeros(a.shape, bool) if lenient is None else np.broadcast_to(lenient, a.shape)
    bad_nan = np.isnan(expected) != np.isnan(a)
    inf = np.isinf(expected) | np.isinf(a)
    bad_inf = inf & ~np.isnan(expected) & ~np.isnan(a) & (a != expected)
    finite = np.isfinite(expected) & np.isfinite(a)
    with np.errstate(invalid="ignore", over="ignore"):
        bad_value = finite & (np.abs(a - expected) > atol + rtol * np.abs(expected))
    bad = (bad_nan | bad_inf | bad_value) & ~skip
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} of {bad.size} wrong; at "
        f"{np.argwhere(bad)[:4].tolist()}: got {a[bad][:4]}, "
        f"expected {expected[bad][:4]}"
    )


def extreme(*arrays_):
    """Positions (broadcast) where an input is non-finite or near the float32 limits."""
    masks = [
        ~np.isfinite(x) | (np.abs(x) > 1e18) | ((x != 0) & (np.abs(x) < 1e-18)) for x in arrays_
    ]
    return (
        np.broadcast_arrays(*masks)[0]
        if len(masks) == 1
        else np.logical_or.reduce(np.broadcast_arrays(*masks))
    )


def run_clean(op, fn):
    """fn() -> (result, None), or (None, the exception) when it is a clean one."""
    try:
        return fn(), None
    except CLEAN_ERRORS as e:
        assert str(e).startswith("[") or isinstance(e, MemoryError), (
            f"{op}: {type(e).__name__} without an [op] prefix: {e}"
        )
        return None, e


def sum_to(g, shape):
    """A broadcast gradient summed back to an input's shape."""
    g = np.asarray(g, np.float64)
    while g.ndim > len(shape):
        g = g.sum(0)
    for d, n in enumerate(shape):
        if n == 1 and g.shape[d] != 1:
            g = g.sum(d, keepdims=True)
    return g.reshape(shape)


def sign_torch(x):
    """torch.sign: 0 at NaN (and at +-0), so that abs and l1_loss pass no NaN gradient."""
    return np.where(np.isnan(x), 0.0, np.sign(x))


def errstate(fn):
    def wrapped(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return wrapped


# ---- the op table ------------------------------------------------------------------------


@dataclass(repr=False)
class Spec:
    name: str
    fg: Callable  # (*forgegrad tensors) -> tensor
    ref: Callable  # (*float64 arrays) -> array
    grad: Optional[Callable] = None  # (g, *float64 arrays) -> gradient per input (broadcast)
    positive: bool = False  # moderate values drawn from (0.05, 4): the op's domain
    strict_wild: bool = False  # extremes compared too (the op's NaN/inf rules are exact)
    rtol: float = 1e-4

    def __repr__(self):
        return self.name


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _phi(x):
    return 0.5 * np.vectorize(math.erfc, otypes=[float])(-x / math.sqrt(2))


_C0, _C1 = math.sqrt(2 / math.pi), 0.044715


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(_C0 * (x + _C1 * x**3)))


def _gelu_tanh_grad(x):
    t = np.tanh(_C0 * (x + _C1 * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _C0 * (1 + 3 * _C1 * x * x)


UNARY = [
    Spec("neg", lambda x: -x, lambda x: -x, lambda g, x: (-g,), strict_wild=True),
    # the gradient is g * exp(x) as float32 (PyTorch's rule: g times the result, inf past 88.7)
    Spec("exp", fg.exp, np.exp, lambda g, x: (g * np.exp(x).astype(np.float32),)),
    Spec("log", fg.log, np.log, lambda g, x: (g / x,), positive=True),
    Spec("sqrt", fg.sqrt, np.sqrt, lambda g, x: (g / (2 * np.sqrt(x)),), positive=True),
    Spec("abs", fg.abs, np.abs, lambda g, x: (g * sign_torch(x),), strict_wild=True),
    Spec(
        "relu",
        F.relu,
        lambda x: np.where(x < 0, 0.0, x),
        lambda g, x: (np.where(x <= 0, 0.0, g),),
        strict_wild=True,
    ),  # NaN: gradient passes
    Spec(
        "leaky_relu",
        lambda x: F.leaky_relu(x, 0.2),
        lambda x: np.where(x < 0, 0.2 * x, x),
        lambda g, x: (np.where(x > 0, g, 0.2 * g),),
        strict_wild=True,
    ),
    Spec(
        "gelu",
        F.gelu,
        lambda x: x * _phi(x),
        lambda g, x: (g * (_phi(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)),),
    ),
    Spec(
        "gelu_tanh",
        lambda x: F.gelu(x, approximate="tanh"),
        _gelu_tanh,
        lambda g, x: (g * _gelu_tanh_grad(x),),
    ),
    Spec("tanh", F.tanh, np.tanh, lambda g, x: (g * (1 - np.tanh(x) ** 2),)),
    Spec("sigmoid", F.sigmoid, _sig, lambda g, x: (g * _sig(x) * (1 - _sig(x)),)),
    Spec(
        "silu", F.silu, lambda x: x * _sig(x), lambda g, x: (g * _sig(x) * (1 + x * (1 - _sig(x))),)
    ),
    Spec(
        "clamp",
        lambda x: fg.clamp(x, -1.0, 2.0),
        lambda x: np.minimum(np.maximum(x, -1), 2),
        lambda g, x: (np.where((x >= -1) & (x <= 2), g, 0.0),),
        strict_wild=True,
    ),
    # clamp with min > max: the max wins, and NaN stays NaN (PyTorch).
    Spec(
        "clamp_crossed",
        lambda x: fg.clamp(x, 2.0, -1.0),
        lambda x: np.where(np.isnan(x), x, -1.0),
        lambda g, x: (np.zeros_like(x),),
        strict_wild=True,
    ),
    Spec("pow2", lambda x: x**2, lambda x: x**2, lambda g, x: (2 * g * x,)),
    Spec("pow3", lambda x: x**3, lambda x: x**3, lambda g, x: (3 * g * x * x,)),
    Spec("pow_half", lambda x: x**0.5, np.sqrt, lambda g, x: (0.5 * g * x**-0.5,), positive=True),
    Spec("pow_neg1", lambda x: x**-1, lambda x: 1 / x, lambda g, x: (-g / (x * x),), positive=True),
    Spec(
        "pow_big_odd",
        lambda x: x**2147483647,
        lambda x: np.power(x, 2147483647.0),
        None,
        strict_wild=True,
    ),
]

BINARY = [
    Spec("add", lambda a, b: a + b, lambda a, b: a + b, lambda g, a, b: (g, g), strict_wild=True),
    Spec("sub", lambda a, b: a - b, lambda a, b: a - b, lambda g, a, b: (g, -g), strict_wild=True),
    Spec(
        "mul",
        lambda a, b: a * b,
        lambda a, b: a * b,
        lambda g, a, b: (g * b, g * a),
        strict_wild=True,
    ),
    Spec(
        "div",
        lambda a, b: a / b,
        lambda a, b: a / b,
        lambda g, a, b: (g / b, -g * a / (b * b)),
        strict_wild=True,
    ),
    Spec("eq", lambda a, b: a == b, np.equal, strict_wild=True),
    Spec("ne", lambda a, b: a != b, np.not_equal, strict_wild=True),
    Spec("lt", lambda a, b: a < b, np.less, strict_wild=True),
    Spec("le", lambda a, b: a <= b, np.less_equal, strict_wild=True),
    Spec("gt", lambda a, b: a > b, np.greater, strict_wild=True),
    Spec("ge", lambda a, b: a >= b, np.greater_equal, strict_wild=True),
]

SPEC_BY_NAME = {s.name: s for s in UNARY + BINARY}


def leaf(x, grad=True):
    t = fg.tensor(x)
    return t.requires_grad_() if grad and t.dtype == fg.float32 else t


def check_grads(leaves, expected_grads, out_shape, lenient, what, rtol=1e-4):
    """Each leaf's .grad against its expected gradient, given over the output's shape
    (broadcast) and summed back to the leaf's; `lenient` (output shape) marks positions not
    compared."""
    for i, (t, expected) in enumerate(zip(leaves, expected_grads)):
        if not t.requires_grad:
            continue
        skip = sum_to(np.broadcast_to(lenient, out_shape).astype(float), t.shape) > 0
        assert t.grad is not None, f"{what}: no gradient for input {i}"
        # each element's gradient is a float32 before a broadcast input's are summed (so
        # overflowed ones of both signs make NaN, as in PyTorch)
        elementwise = errstate(lambda g: np.broadcast_to(g, out_shape).astype(np.float32))(expected)
        assert_close(
            to_numpy(t.grad),
            sum_to(elementwise, t.shape),
            f"{what} d(input {i})",
            rtol=rtol,
            lenient=skip,
        )


# ---- families ----------------------------------------------------------------------------


@st.composite
def elementwise_cases(draw, table, arity):
    """(spec, wild, inputs, seed)"""
    spec = SPEC_BY_NAME[draw(st.sampled_from([s.name for s in table]))]
    wild = draw(st.booleans())
    if arity == 2:
        shape_a, shape_b = draw(
            hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4)
        ).input_shapes
        if draw(st.integers(0, 9)) == 0:  # sometimes shapes that do not broadcast
            shape_b = tuple(s + 1 for s in shape_b)
        inputs = [draw(arrays(shape_a, wild)), draw(arrays(shape_b, wild))]
    else:
        inputs = [draw(arrays(draw(shapes), wild, spec.positive))]
    return spec.name, wild, inputs, draw(st.integers(0, 2**31 - 1))


def run_elementwise(case, family):
    name, wild, inputs, seed = case
    spec = SPEC_BY_NAME[name]
    record_case(family, op=name, wild=wild, inputs=inputs, seed=seed)
    x64 = [x.astype(np.float64) for x in inputs]
    try:
        expected = errstate(spec.ref)(*x64)
    except ValueError:  # numpy could not broadcast: forgegrad must refuse cleanly
        _, err = run_clean(spec.name, lambda: spec.fg(*[leaf(x) for x in inputs]))
        assert err is not None, f"{spec.name}: shapes {[x.shape for x in inputs]} accepted"
        return
    leaves = [leaf(x, spec.grad is not None) for x in inputs]
    out = spec.fg(*leaves)
    lenient = None if (spec.strict_wild or not wild) else extreme(*x64)
    assert_close(to_numpy(out), expected, spec.name, rtol=spec.rtol, lenient=lenient)
    if spec.grad is None or out.dtype != fg.float32:
        return
    g = np.random.default_rng(seed).uniform(-2, 2, out.shape).astype(np.float32)
    out.backward(fg.tensor(g))
    expected_grads = errstate(spec.grad)(g.astype(np.float64), *x64)
    # div's gradient -(g / b) (a / b) overflows float32 where the float64 one does not.
    exact = not wild or (spec.strict_wild and spec.name != "div")
    grad_lenient = np.zeros(out.shape, bool) if exact else np.broadcast_to(extreme(*x64), out.shape)
    check_grads(leaves, expected_grads, out.shape, grad_lenient, spec.name, spec.rtol)


def expect_same_outcome(op, fg_call, ref_call):
    """Runs the numpy reference; where it refuses (bad dim, empty max...) forgegrad must
    refuse cleanly too. Returns (forgegrad's result, the reference) or None after a refusal."""
    try:
        expected = errstate(ref_call)()
    except (ValueError, IndexError, TypeError) as e:
        _, err = run_clean(op, fg_call)
        assert err is not None, f"{op}: numpy refused ({e}), forgegrad accepted"
        return None
    return fg_call(), expected


def as_axis(dim, ndim):
    """numpy's axis for a torch dim; a 0-d tensor reduces over dim 0 / -1 as over nothing."""
    if ndim == 0:
        dims = dim if isinstance(dim, tuple) else (dim,)
        if dim is not None and all(d in (0, -1) for d in dims):
            return ()
    return dim


# ---- reductions: sum, mean (dims, keepdim), max (full, dim), argmax -----------------------


@st.composite
def reduce_cases(draw):
    op = draw(st.sampled_from(["sum", "mean", "max", "max_dim", "argmax"]))
    x = draw(arrays(draw(shapes), draw(st.booleans())))
    k = max(x.ndim, 1)
    one_dim = st.integers(-k - 1, k)
    if op in ("sum", "mean"):
        dim = draw(
            st.one_of(st.none(), one_dim, st.lists(one_dim, min_size=1, max_size=3).map(tuple))
        )
    elif op == "max_dim":
        dim = draw(one_dim)
    elif op == "argmax":
        dim = draw(st.one_of(st.none(), one_dim))
    else:
        dim = None
    return op, x, dim, draw(st.booleans()), draw(st.integers(0, 2**31 - 1))


def run_reduce(case, family):
    op, x, dim, keepdim, seed = case
    record_case(family, op=op, x=x, dim=dim, keepdim=keepdim, seed=seed)
    x64 = x.astype(np.float64)
    axis = as_axis(dim, x.ndim)
    t = leaf(x)
    if op in ("sum", "mean"):

        def ref():
            # a dim named twice is refused, on a 0-d tensor too (PyTorch: "dim 0 appears
            # multiple times"), where the axis numpy gets is ()
            dims = dim if isinstance(dim, tuple) else () if dim is None else (dim,)
            if len(set(d % max(x.ndim, 1) for d in dims)) < len(dims):
                raise ValueError("repeated dim")
            total = np.sum(x64, axis=axis, keepdims=keepdim)
            if op == "sum":
                return total
            # the float32 sum over the count, as PyTorch: mean([3e38, 3e38]) is inf
            count = x.size // max(np.size(total), 1) if x.size else 0
            return np.float32(total).astype(np.float64) / count

        outcome = expect_same_outcome(op, lambda: getattr(fg, op)(t, dim=dim, keepdim=keepdim), ref)
        if outcome is None:
            return
        out, expected = outcome
        # float32 partial sums round, each by up to eps * sum |x|: where huge values cancel,
        # that error stays in a small result (3e38 - 3e38 + 1 ...)
        slack = 1.2e-7 * x.size * np.sum(np.abs(x64), axis=axis, keepdims=keepdim)
        if op == "mean":
            slack = slack / max(x.size // max(np.size(expected), 1), 1)
        assert_close(to_numpy(out), expected, op, atol=1e-6 + slack)
        g = np.random.default_rng(seed).uniform(-2, 2, out.shape).astype(np.float32)
        out.backward(fg.tensor(g))
        g_keep = g.reshape(np.sum(x64, axis=axis, keepdims=True).shape)
        count = x.size // g_keep.size if g_keep.size else 1  # elements per reduced value
        expected_grad = np.broadcast_to(g_keep, x.shape) / (count if op == "mean" else 1)
        assert_close(to_numpy(t.grad), expected_grad, f"{op} gradient")
    elif op == "max":
        outcome = expect_same_outcome(op, lambda: fg.max(t), lambda: np.max(x64))
        if outcome is None:
            return
        out, expected = outcome
        assert_close(to_numpy(out), expected, op)
        out.backward()
        # ties share the gradient evenly, as in PyTorch; a NaN maximum is shared by the NaNs
        ties = np.isnan(x64) if np.isnan(expected) else x64 == expected
        assert_close(to_numpy(t.grad), ties / ties.sum(), "max gradient")
    elif op == "max_dim":
        outcome = expect_same_outcome(
            op, lambda: fg.max(t, dim, keepdim), lambda: np.max(x64, axis=axis, keepdims=keepdim)
        )
        if outcome is None:
            return
        (values, indices), expected = outcome
        assert_close(to_numpy(values), expected, "max(dim) values")
        expected_idx = (
            np.zeros(np.shape(expected), np.int64)
            if x.ndim == 0
            else np.argmax(x64, axis=dim, keepdims=keepdim)
        )
        assert np.array_equal(indices.numpy(), expected_idx), (
            f"max(dim) indices {indices.numpy()} != {expected_idx}"
        )
        values.backward(fg.ones(values.shape))
        if x.ndim:
            hit = np.zeros(x.shape)
            np.put_along_axis(hit, np.argmax(x64, axis=dim, keepdims=True), 1.0, axis=dim)
            assert_close(to_numpy(t.grad), hit, "max(dim) gradient")
    else:

        def ref():
            if dim is None:
                return np.argmax(x64) if x.size else np.argmax(x64)  # empty: numpy refuses
            return (
                np.zeros((), np.int64)
                if x.ndim == 0 and axis == ()
                else np.argmax(x64, axis=dim, keepdims=keepdim)
            )

        outcome = expect_same_outcome(op, lambda: fg.argmax(t, dim=dim, keepdim=keepdim), ref)
        if outcome is None:
            return
        out, expected = outcome
        if dim is None and keepdim:  # PyTorch keeps every dim as 1
            expected = np.reshape(expected, (1,) * x.ndim)
        assert np.array_equal(out.numpy(), expected), f"argmax {out.numpy()} != {expected}"


# ---- softmax, log_softmax ----------------------------------------------------------------


@errstate
def softmax64(x, axis):
    if x.ndim == 0:
        x = x.reshape(1)
        return softmax64(x, 0)[0], None
    m = np.max(x, axis=axis, keepdims=True) if x.size else x
    m = np.where(np.isneginf(m), 0.0, m)  # an all -inf line: NaN, as PyTorch gives
    e = np.exp(x - m)
    total = e.sum(axis=axis, keepdims=True)
    return e / total, (x - m) - np.log(total)


@st.composite
def softmax_cases(draw):
    x = draw(arrays(draw(shapes), draw(st.booleans())))
    k = max(x.ndim, 1)
    return (
        draw(st.sampled_from(["softmax", "log_softmax"])),
        x,
        draw(st.integers(-k - 1, k)),
        draw(st.integers(0, 2**31 - 1)),
    )


def run_softmax(case, family):
    op, x, dim, seed = case
    record_case(family, op=op, x=x, dim=dim, seed=seed)
    x64 = x.astype(np.float64)
    t = leaf(x)
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        _, err = run_clean(op, lambda: getattr(F, op)(t, dim))
        assert err is not None, f"{op}: dim {dim} accepted for shape {x.shape}"
        return
    out = getattr(F, op)(t, dim)
    if x.ndim == 0:
        p = np.float64(1.0) if np.isfinite(x64) else np.float64(np.nan)
        logp = np.log(p)
    else:
        p, logp = softmax64(x64, dim)
    assert_close(to_numpy(out), p if op == "softmax" else logp, op, rtol=2e-4)
    g = np.random.default_rng(seed).uniform(-2, 2, out.shape).astype(np.float32)
    out.backward(fg.tensor(g))
    g64, axis = g.astype(np.float64), (dim if x.ndim else None)
    with np.errstate(all="ignore"):
        if op == "softmax":
            expected = p * (g64 - np.sum(g64 * p, axis=axis, keepdims=x.ndim > 0))
        else:
            expected = g64 - p * np.sum(g64, axis=axis, keepdims=x.ndim > 0)
    # Lines holding a float32 extreme: the float32 products in the backward overflow.
    lenient = (
        np.broadcast_to(np.any(np.abs(x64) > 1e30, axis=axis, keepdims=x.ndim > 0), x.shape)
        & np.isfinite(p).all()
    )
    assert_close(
        to_numpy(t.grad), expected, f"{op} gradient", rtol=2e-4, atol=1e-5, lenient=lenient
    )


# ---- losses ------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


@st.composite
def loss_cases(draw):
    op = draw(
        st.sampled_from(
            ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss"]
        )
    )
    wild = draw(st.booleans())
    reduction = draw(st.sampled_from(REDUCTIONS + ["avg"] * (draw(st.integers(0, 19)) == 0)))
    if op in ("cross_entropy", "nll_loss"):
        n, c = draw(st.integers(0, 5)), draw(st.integers(0, 5))
        x = draw(arrays((n, c), wild))
        target = np.array(
            draw(st.lists(st.integers(-1 if c else 0, c if c else 0), min_size=n, max_size=n)),
            np.int64,
        )
        smoothing = (
            draw(st.sampled_from([0.0, 0.1, 0.5, 1.0, -0.1, 1.5])) if op == "cross_entropy" else 0.0
        )
    else:
        shape = draw(shapes)
        x = draw(arrays(shape, wild))
        target = draw(arrays(shape, wild))
        smoothing = 0.0
    return op, x, target, reduction, smoothing, draw(st.integers(0, 2**31 - 1))


@errstate
def loss64(op, x, t, smoothing):
    """(per-element losses, their gradient with respect to x and to t (or None))"""
    if op == "mse_loss":
        return (x - t) ** 2, 2 * (x - t), -2 * (x - t)
    if op == "l1_loss":
        return np.abs(x - t), sign_torch(x - t), -sign_torch(x - t)
    if op == "binary_cross_entropy_with_logits":
        return (np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))), _sig(x) - t, -x)
    n, c = x.shape
    if not (0 <= smoothing <= 1) or np.any((t < 0) | (t >= c)):
        raise ValueError("target or label_smoothing out of range")
    rows = np.arange(n)
    if op == "nll_loss":
        dx = np.zeros_like(x)
        dx[rows, t] = -1
        return -x[rows, t], dx, None
    p, logp = softmax64(x, 1) if x.size else (x, x)
    q = np.full_like(x, smoothing / max(c, 1))
    q[rows, t] += 1 - smoothing
    # -sum(q log p), the smoothing part only where smoothing is on (0 * -inf is no term)
    loss = -(1 - smoothing) * logp[rows, t]
    if smoothing:
        loss = loss - smoothing / max(c, 1) * logp.sum(1)
    return loss, p - q, None


def run_loss(case, family):
    op, x, target, reduction, smoothing, seed = case
    record_case(
        family, op=op, x=x, target=target, reduction=reduction, label_smoothing=smoothing, seed=seed
    )
    xt = leaf(x)
    tt = leaf(target)
    kwargs = {"reduction": reduction}
    if op == "cross_entropy":
        kwargs["label_smoothing"] = smoothing
    x64 = x.astype(np.float64)

    def ref():
        if reduction not in REDUCTIONS:
            raise ValueError("reduction")
        losses, dx, dt = loss64(
            op, x64, target.astype(np.float64) if dt_float else target, smoothing
        )
        return losses, dx, dt

    dt_float = target.dtype == np.float32
    outcome = expect_same_outcome(op, lambda: getattr(F, op)(xt, tt, **kwargs), ref)
    if outcome is None:
        return
    out, (losses, dx, dt) = outcome
    count = losses.size
    with np.errstate(all="ignore"):
        expected = {
            "none": losses,
            "sum": np.sum(losses),
            "mean": np.sum(losses) / count if count else np.nan,
        }[reduction]
    wild_inputs = (
        extreme(x64)
        if op in ("cross_entropy", "nll_loss")
        else extreme(x64, target.astype(np.float64))
    )
    lenient = np.any(wild_inputs) & ~np.isnan(expected)
    # A class loss is logsumexp - the target's logit: float32 logits of size L leave an error
    # up to eps * L in each row's loss (log 2 from logits of 2.2e12 comes out 0.69336)
    slack = 0.0
    if op in ("cross_entropy", "nll_loss"):
        slack = 2.4e-7 * np.max(np.abs(x64), initial=0, where=np.isfinite(x64))
        slack *= count if reduction == "sum" else 1
    assert_close(to_numpy(out), expected, op, rtol=2e-4, atol=1e-5 + slack, lenient=lenient)
    g = np.random.default_rng(seed).uniform(-2, 2, out.shape).astype(np.float64)
    out.backward(fg.tensor(g.astype(np.float32)))
    scale = {"none": 1.0, "sum": 1.0, "mean": 1.0 / count if count else 0.0}[reduction]
    row_g = g.reshape(-1, 1) if op in ("cross_entropy", "nll_loss") and reduction == "none" else g
    with np.errstate(all="ignore"):
        expected_dx = row_g * scale * dx
    # l1's gradient at NaN is exact (sign(NaN) = 0, PyTorch); elsewhere extremes may overflow
    # float32 intermediates.
    grad_lenient = (
        np.zeros(x.shape, bool)
        if op == "l1_loss"
        else np.broadcast_to(
            np.any(wild_inputs, axis=-1, keepdims=True) if x.ndim else wild_inputs, x.shape
        )
    )
    assert_close(
        to_numpy(xt.grad), expected_dx, f"{op} d(input)", rtol=2e-4, atol=1e-5, lenient=grad_lenient
    )
    if dt is not None and tt.grad is not None:
        with np.errstate(all="ignore"):
            expected_dt = g * scale * dt
        assert_close(
            to_numpy(tt.grad),
            expected_dt,
            f"{op} d(target)",
            rtol=2e-4,
            atol=1e-5,
            lenient=None if op == "l1_loss" else extreme(x64, target.astype(float)),
        )


# ---- matmul and linear -------------------------------------------------------------------


@st.composite
def matmul_cases(draw):
    op = draw(st.sampled_from(["matmul", "linear"]))
    n, k, m, b = (draw(st.integers(0, 5)) for _ in range(4))
    k2 = k if draw(st.integers(0, 9)) else k + 1  # sometimes inner dimensions that differ
    if op == "matmul":
        shape_a = draw(st.sampled_from([(k,), (n, k), (b, n, k)]))
        shape_b = draw(st.sampled_from([(k2,), (k2, m), (b, k2, m)]))
    else:
        shape_a = draw(st.sampled_from([(k,), (n, k), (b, n, k)]))
        shape_b = (m, k2)
    wild = draw(st.booleans())
    a, w = draw(arrays(shape_a, wild)), draw(arrays(shape_b, wild))
    bias = draw(st.one_of(st.none(), arrays((m,), wild))) if op == "linear" else None
    return op, a, w, bias, draw(st.integers(0, 2**31 - 1))


def _matmul_grads(g, a, b):
    """d(a @ b) for numpy matmul shapes: 1-D operands as rows/columns, batch dims summed."""
    a2 = a[None] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    out_shape = np.matmul(a2, b2).shape
    g2 = g.reshape(out_shape)
    da = sum_to(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
    db = sum_to(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape) if b2.ndim >= 2 else None
    if b2.ndim > a2.ndim or b2.ndim == 3 and a2.ndim == 3:
        db = np.matmul(np.swapaxes(np.broadcast_to(a2, out_shape[:-2] + a2.shape[-2:]), -1, -2), g2)
        db = db if b.ndim == 3 else db.sum(0)
    return da, db.reshape(b.shape)


def run_matmul(case, family):
    op, a, w, bias, seed = case
    record_case(family, op=op, a=a, w=w, bias=bias, seed=seed)
    a64, w64 = a.astype(np.float64), w.astype(np.float64)
    ta, tw = leaf(a), leaf(w)
    tb = None if bias is None else leaf(bias)
    if op == "matmul":
        outcome = expect_same_outcome(op, lambda: fg.matmul(ta, tw), lambda: a64 @ w64)
    else:
        outcome = expect_same_outcome(
            op,
            lambda: F.linear(ta, tw, tb),
            lambda: a64 @ w64.T + (0 if bias is None else bias.astype(np.float64)),
        )
    if outcome is None:
        return
    out, expected = outcome
    wild = (
        extreme(a64).any()
        or extreme(w64).any()
        or (bias is not None and extreme(bias.astype(np.float64)).any())
    )
    k = a.shape[-1]
    scale = (
        k
        * max(1.0, float(np.max(np.abs(a64), initial=0)))
        * max(1.0, float(np.max(np.abs(w64), initial=0)))
    )
    lenient = np.full(np.shape(expected), bool(wild))
    assert_close(to_numpy(out), expected, op, rtol=1e-4, atol=1e-6 * scale, lenient=lenient)
    if wild:
        return
    g = np.random.default_rng(seed).uniform(-2, 2, out.shape)
    out.backward(fg.tensor(g.astype(np.float32)))
    g = g.astype(np.float32).astype(np.float64)
    if op == "matmul":
        da, dw = _matmul_grads(g, a64, w64)
    else:
        da, dwt = _matmul_grads(g, a64, w64.T)
        dw = dwt.T
        if tb is not None:
            assert_close(
                to_numpy(tb.grad),
                sum_to(g, (1,) * (g.ndim - 1) + bias.shape).reshape(bias.shape),
                "linear d(bias)",
                atol=1e-5 * scale,
            )
    assert_close(to_numpy(ta.grad), da, f"{op} d(input)", atol=1e-5 * scale)
    assert_close(to_numpy(tw.grad), dw, f"{op} d(weight)", atol=1e-5 * scale)


# ---- shapes: reshape, view, flatten, transpose, indexing, huge sizes ----------------------


@st.composite
def shape_cases(draw):
    op = draw(
        st.sampled_from(
            [
                "reshape",
                "view",
                "flatten",
                "transpose",
                "index_int",
                "index_slice",
                "index_tensor",
                "empty_huge",
            ]
        )
    )
    shape = draw(shapes)
    x = draw(arrays(shape, False))
    k = max(x.ndim, 1)
    if op in ("reshape", "view"):
        size = x.size
        target = draw(
            st.one_of(
                st.permutations(shape).map(tuple),
                st.just((size,)),
                st.just((-1,)),
                st.lists(st.integers(-1, 6), max_size=4).map(tuple),
                # element counts that overflow int64 (issue 12: view/reshape overflow)
                st.sampled_from([(2**62 + 1, 4), (2**32, 2**32), (2**63 - 1, 2), (-1, 2**62)]),
            )
        )
        arg = target
    elif op == "flatten":
        arg = (draw(st.integers(-k - 1, k)), draw(st.integers(-k - 1, k)))
    elif op == "transpose":
        arg = (draw(st.integers(-k - 1, k)), draw(st.integers(-k - 1, k)))
    elif op == "index_int":
        n = shape[0] if shape else 0
        arg = draw(st.integers(-n - 2, n + 1))
    elif op == "index_slice":
        arg = slice(
            draw(st.one_of(st.none(), st.integers(-7, 7))),
            draw(st.one_of(st.none(), st.integers(-7, 7))),
            draw(st.one_of(st.none(), st.integers(1, 3))),
        )
    elif op == "index_tensor":
        n = shape[0] if shape else 0
        arg = np.array(draw(st.lists(st.integers(-n - 1, n), max_size=5)), np.int64)
    else:
        arg = tuple(
            draw(
                st.lists(
                    st.sampled_from([2**20, 2**31, 2**40, 2**62, 0, 3]), min_size=1, max_size=4
                )
            )
        )
    return op, x, arg, draw(st.integers(0, 2**31 - 1))


def run_shape(case, family):
    op, x, arg, seed = case
    record_case(family, op=op, x=x, arg=arg, seed=seed)
    x64 = x.astype(np.float64)
    t = leaf(x)
    if op == "empty_huge":
        numel = math.prod(arg)
        out, err = run_clean(op, lambda: fg.empty(arg))
        if numel * 4 > 2**50:
            assert err is not None, f"empty{arg}: {numel} elements allocated"
        elif 0 < numel * 4 <= 2**30:
            assert err is None and tuple(out.shape) == arg, f"empty{arg}: {err!r}"
        else:  # may not fit this machine; empty ones forgegrad refuses (PyTorch makes them)
            assert err is not None or tuple(out.shape) == arg
        return

    if op in ("reshape", "view") and x.size == 0 and max(arg, default=0) > 2**40:
        # numpy cannot hold such a shape even empty; PyTorch gives it (zeros(0).reshape(-1,
        # 2**62) is (0, 2**62)): either that or a clean refusal.
        out, err = run_clean(op, lambda: t.reshape(*arg) if op == "reshape" else t.view(*arg))
        assert err is not None or (
            out.numel() == 0 and all(a in (-1, b) for a, b in zip(arg, out.shape))
        ), f"{op}{arg}: {out.shape}"
        return

    def ref():
        if op in ("reshape", "view"):
            return x64.reshape(arg)
        if op == "flatten":
            if x.ndim == 0:
                if arg[0] not in (0, -1) or arg[1] not in (0, -1):
                    raise IndexError("dim")
                return x64.reshape(1)
            s, e = (np.core.multiarray.normalize_axis_index(d, x.ndim) for d in arg)
            if s > e:
                raise ValueError("start after end")
            return x64.reshape(x.shape[:s] + (math.prod(x.shape[s : e + 1]),) + x.shape[e + 1 :])
        if op == "transpose":
            if x.ndim == 0:
                if arg[0] not in (0, -1) or arg[1] not in (0, -1):
                    raise IndexError("dim")
                return x64
            return np.swapaxes(x64, *arg)
        if x.ndim == 0:
            raise IndexError("0-d")
        if op == "index_tensor":
            return x64[arg]
        return x64[arg]

    call = {
        "reshape": lambda: t.reshape(*arg),
        "view": lambda: t.view(*arg),
        "flatten": lambda: fg.flatten(t, *arg),
        "transpose": lambda: fg.transpose(t, *arg),
        "index_int": lambda: t[arg],
        "index_slice": lambda: t[arg],
        "index_tensor": lambda: t[fg.tensor(arg)],
    }[op]
    outcome = expect_same_outcome(op, call, ref)
    if outcome is None:
        return
    out, expected = outcome
    assert_close(to_numpy(out), expected, op)
    g = np.random.default_rng(seed).uniform(-2, 2, out.shape)
    out.backward(fg.tensor(g.astype(np.float32)))
    g = g.astype(np.float32).astype(np.float64)
    if op in ("reshape", "view", "flatten"):
        expected_grad = g.reshape(x.shape)
    elif op == "transpose":
        expected_grad = g if x.ndim == 0 else np.swapaxes(g, *arg)
    else:
        expected_grad = np.zeros(x.shape)
        np.add.at(expected_grad, arg, g)
    assert_close(to_numpy(t.grad), expected_grad, f"{op} gradient")


# ---- nn modules: Linear, Sequential -------------------------------------------------------


@st.composite
def nn_cases(draw):
    n, d_in, hidden, d_out = (draw(st.integers(0, 6)) for _ in range(4))
    return (
        draw(st.sampled_from(["Linear", "Sequential"])),
        draw(st.booleans()),
        draw(arrays((n, d_in), False)),
        hidden,
        d_out,
        draw(st.integers(0, 2**31 - 1)),
    )


def run_nn(case, family):
    kind, bias, x, hidden, d_out, seed = case
    record_case(family, module=kind, bias=bias, x=x, hidden=hidden, out=d_out, seed=seed)
    fg.manual_seed(seed)
    d_in = x.shape[1]

    def build():
        if kind == "Linear":
            return [fg.nn.Linear(d_in, d_out, bias=bias)]
        return [
            fg.nn.Linear(d_in, hidden, bias=bias),
            fg.nn.ReLU(),
            fg.nn.Linear(hidden, d_out, bias=bias),
            fg.nn.Tanh(),
        ]

    layers, err = run_clean("Linear", build)
    if err is not None:  # forgegrad refuses layers of 0 features (PyTorch makes them)
        assert 0 in (d_in, d_out) or kind == "Sequential" and hidden == 0, err
        return
    model = layers[0] if kind == "Linear" else fg.nn.Sequential(*layers)
    t = leaf(x)
    out = model(t)
    # numpy forward, keeping what the backward needs
    h, saved = x.astype(np.float64), []
    # Rows whose ReLU input is within float32 rounding of 0 (denormal inputs): which side of
    # 0 it lands on is float32's call, and so is the gradient's mask: such a case's gradients
    # are not compared.
    sign_unsure = np.zeros(x.shape[0], bool)
    for layer in layers:
        saved.append(h)
        if isinstance(layer, fg.nn.Linear):
            h = h @ to_numpy(layer.weight).astype(np.float64).T
            if layer.bias is not None:
                h = h + to_numpy(layer.bias)
        elif isinstance(layer, fg.nn.ReLU):
            sign_unsure |= (np.abs(h) < 1e-30).any(axis=1)
            h = np.maximum(h, 0)
        else:
            h = np.tanh(h)
    assert_close(to_numpy(out), h, f"{kind} forward", atol=1e-5)
    g = np.random.default_rng(seed).uniform(-2, 2, out.shape).astype(np.float32)
    out.backward(fg.tensor(g))
    g = g.astype(np.float64)
    if sign_unsure.any():
        return
    for layer, inp in zip(reversed(layers), reversed(saved)):
        if isinstance(layer, fg.nn.Linear):
            w = to_numpy(layer.weight).astype(np.float64)
            assert_close(to_numpy(layer.weight.grad), g.T @ inp, f"{kind} d(weight)", atol=1e-5)
            if layer.bias is not None:
                assert_close(to_numpy(layer.bias.grad), g.sum(0), f"{kind} d(bias)", atol=1e-5)
            g = g @ w
        elif isinstance(layer, fg.nn.ReLU):
            g = np.where(inp <= 0, 0.0, g)
        else:
            g = g * (1 - np.tanh(inp) ** 2)
    assert_close(to_numpy(t.grad), g, f"{kind} d(input)", atol=1e-5)


# ---- dtypes: an op either takes a dtype and is right in it, or refuses it cleanly ----------

DTYPE_OPS = {
    **{s.name: (s.fg, s.ref) for s in UNARY},
    **{
        s.name: ((lambda f: lambda x: f(x, x))(s.fg), (lambda r: lambda x: r(x, x))(s.ref))
        for s in BINARY
    },
    "sum": (fg.sum, np.sum),
    "mean": (fg.mean, np.mean),
    "max": (fg.max, np.max),
    "argmax": (fg.argmax, np.argmax),
    "softmax": (F.softmax, lambda x: softmax64(x, -1)[0]),
    "log_softmax": (F.log_softmax, lambda x: softmax64(x, -1)[1]),
    "matmul": (lambda x: fg.matmul(x, fg.transpose(x, 0, -1)), lambda x: x @ x.swapaxes(0, -1)),
    "mse_loss": (lambda x: F.mse_loss(x, x), lambda x: np.float64(0)),
    "cross_entropy": (
        lambda x: F.cross_entropy(x.reshape(1, -1), fg.tensor([0])),
        lambda x: -softmax64(x.reshape(1, -1), -1)[1][0, 0],
    ),
}


@st.composite
def dtype_cases(draw):
    dtype = draw(st.sampled_from([np.int64, np.bool_, np.uint8, np.float64, np.int32, np.float16]))
    x = draw(
        hnp.arrays(
            dtype,
            draw(st.sampled_from([(3,), (2, 3)])),
            elements=st.integers(0, 1) if dtype == np.bool_ else st.integers(0, 9),
        )
    )
    return draw(st.sampled_from(sorted(DTYPE_OPS))), x, draw(st.booleans())


def run_dtype(case, family):
    op, x, via_from_numpy = case
    record_case(family, op=op, x=x, via_from_numpy=via_from_numpy)
    # Every numpy dtype drawn has a forgegrad equivalent, which both keep.
    t = fg.from_numpy(x) if via_from_numpy else fg.tensor(x)
    assert t.dtype == FG_DTYPES[x.dtype.name], f"{x.dtype} became {t.dtype}"
    fn, ref = DTYPE_OPS[op]
    out, err = run_clean(op, lambda: fn(t))
    if err is not None:  # a dtype the op does not take (or integers to a negative power)
        assert isinstance(err, TypeError) or "negative integer powers" in str(err), (
            f"{op} on {t.dtype}: {type(err).__name__}: {err}"
        )
        return
    # Taken: the values are right (small integers: exact in every dtype drawn; float16
    # results are rounded to float16; integer results are exact where they fit their dtype:
    # wrap-around past it is tests/test_promotion_ops.py's).
    actual = to_numpy(out)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        expected = np.asarray(ref(x.astype(np.float64)), dtype=np.float64)
    if actual.dtype == np.bool_:  # bool arithmetic (add, mul) is logical: nonzero is true
        np.testing.assert_array_equal(actual, expected != 0, err_msg=f"{op} on {t.dtype}")
        return
    if actual.dtype.kind in "iu":
        info = np.iinfo(actual.dtype)
        fits = np.isfinite(expected) & (expected >= info.min) & (expected <= min(info.max, 2**53))
        np.testing.assert_array_equal(actual[fits], expected[fits], err_msg=f"{op} on {t.dtype}")
        return
    actual = actual.astype(np.float64)
    rtol = 2e-3 if t.dtype == fg.float16 else 1e-5
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=1e-6, equal_nan=True, err_msg=f"{op} on {t.dtype}"
    )


# ---- creation: arange, zeros/ones/full/empty, rand/randn, tensor --------------------------

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# What a test may allocate: counts up to this are checked value by value; from HUGE_COUNT on
# a clean refusal is required (8 PB and more); counts in between are not run (they may fit).
SMALL_COUNT, HUGE_COUNT = 4096, 2**50
INT64_EDGES = [
    INT64_MIN,
    INT64_MIN + 1,
    INT64_MAX,
    INT64_MAX - 1,
    2**53,
    2**53 + 1,
    -(2**53),
    2**62,
    -(2**62),
    2**31,
    0,
    1,
    -1,
]
BIG_INTS = st.one_of(
    st.integers(INT64_MIN, INT64_MAX),
    st.sampled_from(INT64_EDGES),
    st.sampled_from([2**63, -(2**63) - 1, 2**64]),
)  # the last: past int64
ANY_FLOAT = st.one_of(
    st.floats(-10, 10),
    st.sampled_from(
        [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-300, 1e300, 2.0**63, -(2.0**63), 1e15]
    ),
    st.floats(),
)
NUMPY_INT_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
NUMPY_DTYPES = [np.float16, np.float32, np.float64] + NUMPY_INT_TYPES + [np.bool_]


def as_int_kind(draw, value):
    """value as a Python int or, where it fits, a numpy integer scalar of a drawn kind."""
    kinds = [t for t in NUMPY_INT_TYPES if np.iinfo(t).min <= value <= np.iinfo(t).max]
    kind = draw(st.sampled_from([int] + kinds))
    return kind(value)


@st.composite
def creation_cases(draw):
    op = draw(
        st.sampled_from(
            [
                "arange_int",
                "arange_near",
                "arange_float",
                "arange_truncated",
                "fill",
                "random",
                "tensor",
            ]
        )
    )
    if op == "arange_int":  # free over int64 and past it: mostly huge counts or refusals
        args = [draw(BIG_INTS) for _ in range(3)]
        if draw(st.booleans()):
            args[2] = draw(st.integers(-5, 5))
        args = [as_int_kind(draw, v) for v in args]
    elif op == "arange_near":  # short ranges anywhere in int64, the extremes included
        start = draw(BIG_INTS.filter(lambda v: INT64_MIN <= v <= INT64_MAX))
        step = draw(
            st.one_of(
                st.integers(-5, 5), st.sampled_from([2**62, -(2**62), INT64_MAX, INT64_MIN, 2**40])
            )
        )
        end = min(
            max(start + step * draw(st.integers(0, 40)) + draw(st.integers(-2, 2)), INT64_MIN),
            INT64_MAX,
        )
        args = [as_int_kind(draw, v) for v in (start, end, step)]
    elif op in ("arange_float", "arange_truncated"):
        start = draw(ANY_FLOAT)
        step = draw(st.one_of(ANY_FLOAT, st.floats(-3, 3), st.sampled_from([0.1, -0.25, 1e-3])))
        span = draw(st.one_of(st.floats(-50, 50), ANY_FLOAT))
        end = start + span if draw(st.booleans()) else draw(ANY_FLOAT)
        args = [start, end, step]
    elif op == "fill":
        sizes = draw(
            st.lists(
                st.one_of(
                    st.integers(0, 5),
                    st.sampled_from([-1, 2**31, 2**40, 2**62, 2**63, 2.0, None, "3", True]),
                ),
                max_size=4,
            )
        )
        args = [
            draw(st.sampled_from(["zeros", "ones", "empty", "full", "full_tuple"])),
            sizes,
            draw(st.one_of(ANY_FLOAT, BIG_INTS, st.booleans())),
            draw(st.sampled_from([None, "float32", "int64", "bool", "uint8"])),
        ]
    elif op == "random":
        args = [
            draw(st.sampled_from(["rand", "randn"])),
            draw(
                st.lists(
                    st.one_of(st.integers(0, 5), st.sampled_from([-1, 2**40, 2**62])), max_size=3
                )
            ),
            draw(st.integers(0, 2**31 - 1)),
        ]
    else:
        dtype = draw(st.sampled_from(NUMPY_DTYPES))
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            elements = st.one_of(
                st.integers(info.min, info.max), st.sampled_from([info.min, info.max, 0])
            )
        elif dtype == np.bool_:
            elements = st.booleans()
        else:
            elements = st.floats(width=np.finfo(dtype).bits) | st.sampled_from([0.5, -2.75])
        x = draw(hnp.arrays(dtype, draw(shapes), elements=elements))
        args = [
            x,
            draw(st.sampled_from(["array", "list"])),
            draw(st.sampled_from([None, None, "float32", "int64", "bool", "uint8"])),
        ]
    return op, args


NP_OF = {
    "float32": np.float32,
    "float64": np.float64,
    "float16": np.float16,
    "int64": np.int64,
    "int32": np.int32,
    "int16": np.int16,
    "int8": np.int8,
    "bool": np.bool_,
    "uint8": np.uint8,
}
FG_DTYPES = {name: getattr(fg, name) for name in NP_OF}
FLOATING_NAMES = ("float32", "float64", "float16")


def expect_refused(op, fn, *kinds):
    """fn() must raise a clean exception (of `kinds` when given)."""
    out, err = run_clean(op, fn)
    assert err is not None, f"{op}: expected a refusal, got {out!r}"
    assert not kinds or isinstance(err, kinds), f"{op}: {type(err).__name__}: {err}"


def check_arange(op, call, length, values, integral):
    """length: the reference count (None when the call must be refused); values(n): the
    reference's n values."""
    if length is None:
        return expect_refused(op, call)
    if SMALL_COUNT < length < HUGE_COUNT:
        return  # might fit this machine: not run
    out, err = run_clean(op, call)
    if length >= HUGE_COUNT:
        assert err is not None, f"{op}: {length} elements made: {out.shape}"
        return
    assert err is None, f"{op}: {err!r}"
    assert out.dtype == (fg.int64 if integral else fg.float32), f"{op}: dtype {out.dtype}"
    assert tuple(out.shape) == (length,), f"{op}: shape {out.shape}, expected ({length},)"
    expected = values(length)
    if integral:
        assert out.numpy().tolist() == expected, f"{op}: {out.numpy().tolist()} != {expected}"
    else:
        assert_close(out.numpy(), expected, op, rtol=1e-6, atol=0)


def int_arange_length(start, end, step):
    """PyTorch's count, or None where it refuses (zero step, a step away from end)."""
    if step == 0 or (end - start) * step < 0:
        return None
    return max(0, (end - start + step - (1 if step > 0 else -1)) // step)


def run_creation(case, family):
    op, args = case
    record_case(family, op=op, args=args)
    if op in ("arange_int", "arange_near"):
        start, end, step = (int(v) for v in args)
        fits = all(INT64_MIN <= v <= INT64_MAX for v in (start, end, step))
        length = int_arange_length(start, end, step) if fits else None
        check_arange(
            op,
            lambda: fg.arange(*args),
            length,
            lambda n: list(range(start, end, step)),
            integral=True,
        )
    elif op == "arange_float":
        start, end, step = args
        finite = all(math.isfinite(v) for v in args)
        length = None
        if finite and step != 0 and not (end > start and step < 0 or end < start and step > 0):
            quotient = (end - start) / step
            length = math.ceil(quotient) if math.isfinite(quotient) else HUGE_COUNT
        check_arange(
            op,
            lambda: fg.arange(start, end, step),
            length,
            lambda n: start + np.arange(n) * step,
            integral=False,
        )
    elif op == "arange_truncated":  # float bounds, dtype int64: truncated first (PyTorch)
        fits = all(math.isfinite(v) and -(2.0**63) <= v < 2.0**63 for v in args)
        start, end, step = (int(v) if fits else 0 for v in args)
        length = int_arange_length(start, end, step) if fits else None
        check_arange(
            op,
            lambda: fg.arange(*args, dtype=fg.int64),
            length,
            lambda n: list(range(start, end, step)),
            integral=True,
        )
    elif op == "fill":
        run_fill(*args)
    elif op == "random":
        run_random(*args)
    else:
        run_tensor(*args)


def expected_numel(sizes):
    """The element count of `sizes`, or the exception class a clean refusal must have."""
    if any(isinstance(s, bool) or not isinstance(s, int) for s in sizes):
        return TypeError
    if any(s < 0 for s in sizes):  # a size past int64 may be found first: a TypeError
        return ValueError if all(s <= INT64_MAX for s in sizes) else (ValueError, TypeError)
    return math.prod(sizes)


def check_made(op, call, sizes, bytes_per):
    """Runs a creation call of `sizes`: a clean refusal where they are bad or past any
    memory; else the tensor of that shape (returned; None when not run or refused). An empty
    tensor whose other sizes multiply past any memory may be refused (PyTorch makes it)."""
    numel = expected_numel(sizes)
    if not isinstance(numel, int):
        return expect_refused(op, call, numel)
    if numel * bytes_per >= HUGE_COUNT:
        return expect_refused(op, call)
    if math.prod(s for s in sizes if s) > SMALL_COUNT and numel:
        return None
    out, err = run_clean(op, call)
    assert err is None or numel == 0, f"{op}{tuple(sizes)}: {err!r}"
    if err is not None:
        return None
    assert tuple(out.shape) == tuple(sizes), f"{op}: shape {out.shape}, expected {sizes}"
    return out


def full_reference(value, dtype_name):
    """(dtype name, the value stored) for full(size, value, dtype), None where PyTorch
    refuses; "either" where forgegrad may refuse or store (NaN as bool, inf as float32)."""
    if dtype_name is None:
        dtype_name = (
            "bool" if isinstance(value, bool) else "int64" if isinstance(value, int) else "float32"
        )
    if dtype_name == "float32":
        stored = (
            np.float32(value)
            if abs(float(value)) <= 3.4028235e38 or not math.isfinite(value)
            else "either"
        )
        return dtype_name, stored
    if dtype_name == "bool":
        return dtype_name, (
            "either" if isinstance(value, float) and math.isnan(value) else bool(value)
        )
    if isinstance(value, float) and not math.isfinite(value):
        return dtype_name, None
    truncated = int(value)
    info = np.iinfo(NP_OF[dtype_name])
    if not info.min <= truncated <= info.max:
        return dtype_name, None
    if dtype_name == "uint8" and value < 0:  # in (-1, 0): truncates to 0; PyTorch refuses
        return dtype_name, "either" if truncated == 0 else None
    return dtype_name, truncated


def run_fill(kind, sizes, value, dtype_name):
    dtype = FG_DTYPES.get(dtype_name)
    size_arg = tuple(sizes)
    if kind in ("zeros", "ones", "empty"):
        call = lambda: getattr(fg, kind)(*size_arg, dtype=dtype)  # noqa: E731
        stored_dtype, stored = dtype_name or "float32", {"zeros": 0, "ones": 1}.get(kind)
    else:
        call = (
            (lambda: fg.full(size_arg, value, dtype=dtype))
            if kind == "full_tuple"
            else (lambda: fg.full(list(size_arg), value, dtype=dtype))
        )
        stored_dtype, stored = full_reference(value, dtype_name)
        if stored is None:
            if isinstance(expected_numel(sizes), int):  # (the shape is allocated first)
                expect_refused(kind, call, ValueError, TypeError, MemoryError)
            else:
                expect_refused(kind, call)
            return
    if stored == "either":
        out, err = run_clean(kind, call)
        if err is not None:
            return
    bytes_per = np.dtype(NP_OF[stored_dtype]).itemsize
    out = check_made(kind, call, sizes, bytes_per)
    if out is None:
        return
    assert out.dtype == FG_DTYPES[stored_dtype], (
        f"{kind}: dtype {out.dtype}, expected {stored_dtype}"
    )
    if stored is not None and stored != "either":
        expected = np.full(size_arg, stored, NP_OF[stored_dtype])
        assert np.array_equal(out.numpy(), expected, equal_nan=stored_dtype == "float32"), (
            f"{kind}: {out.numpy()} != {expected}"
        )


def run_random(kind, sizes, seed):
    fn = getattr(fg, kind)
    fg.manual_seed(seed)
    out = check_made(kind, lambda: fn(*sizes), sizes, 4)
    if out is None:
        return
    values = out.numpy()
    assert out.dtype == fg.float32 and np.isfinite(values).all(), f"{kind}: {values}"
    if kind == "rand":
        assert ((values >= 0) & (values < 1)).all(), f"rand outside [0, 1): {values}"
    fg.manual_seed(seed)
    assert np.array_equal(fn(*sizes).numpy(), values), f"{kind}: not reproducible"


def tensor_reference(x, dtype_name, from_array):
    """forgegrad.tensor's documented conversion of x: (dtype name, values, whether a refusal
    is allowed too); None where it must refuse (values the target cannot hold). A numpy
    array keeps its dtype (where forgegrad has it), as torch.tensor; Python numbers read as
    float32, int64 or bool."""
    if dtype_name is None and from_array and x.dtype.name in NP_OF:
        dtype_name = x.dtype.name
    if dtype_name is None:
        dtype_name = {"f": "float32", "b": "bool"}.get(
            x.dtype.kind, "uint8" if x.dtype == np.uint8 else "int64"
        )
    target = NP_OF[dtype_name]
    nonfinite = x.dtype.kind == "f" and not np.isfinite(x).all()
    if dtype_name in FLOATING_NAMES + ("bool",):
        with np.errstate(all="ignore"):  # NaN/inf as bool: True in PyTorch, refused here
            return dtype_name, x.astype(target), dtype_name == "bool" and nonfinite
    if nonfinite:
        return None
    info = np.iinfo(target)
    if x.size and (x.min() < info.min or x.max() > info.max):
        return None  # (PyTorch truncates -0.5 into a uint8 0; forgegrad refuses it)
    return (
        dtype_name,
        np.trunc(x).astype(target) if x.dtype.kind == "f" else x.astype(target),
        False,
    )


def run_tensor(x, form, dtype_name):
    data = x if form == "array" else x.tolist()
    # a list forgets the numpy dtype: Python floats, ints and bools as numpy reads them back
    source = x if form == "array" else np.asarray(data) if x.ndim else np.asarray(x.item())
    if x.size and x.dtype.kind in "iu" and source.dtype.kind == "f":
        source = x  # numpy reads ints past int64 back as floats; they stay ints to forgegrad
    reference = tensor_reference(source, dtype_name, form == "array")
    call = lambda: fg.tensor(data, dtype=FG_DTYPES.get(dtype_name))  # noqa: E731
    if reference is None:
        return expect_refused("tensor", call, ValueError, TypeError)
    expected_dtype, expected, may_refuse = reference
    out, err = run_clean("tensor", call)
    if err is not None and may_refuse:
        return
    assert err is None, f"tensor({x.dtype}, {form}, dtype={dtype_name}): {err!r}"
    assert out.dtype == FG_DTYPES[expected_dtype], (
        f"tensor({x.dtype}, {form}): dtype {out.dtype}, expected {expected_dtype}"
    )
    assert tuple(out.shape) == source.shape, f"tensor: shape {out.shape}, expected {source.shape}"
    assert np.array_equal(out.numpy(), expected, equal_nan=expected_dtype in FLOATING_NAMES), (
        f"tensor({x.dtype}, {form}, dtype={dtype_name}): {out.numpy()} != {expected}"
    )


# ---- indexing: __getitem__ with every kind of key, against numpy's x[key] -----------------

# Keys numpy and PyTorch take that forgegrad refuses, by design (a clean exception, not an
# answer): negative slice steps (PyTorch refuses them too), None, Ellipsis, (), boolean masks,
# index arrays of other than one dimension (0-d ones included).
REFUSABLE_KEYS = {
    "neg_step",
    "none",
    "ellipsis",
    "empty_tuple",
    "bool_array",
    "bool_tensor",
    "array_2d",
    "array_0d",
    "tensor_0d",
}
HUGE_INDICES = [INT64_MAX, INT64_MIN, 2**63, 2**64 - 1, -(2**63) - 1, 2**62, -(2**62)]


@st.composite
def index_cases(draw):
    x = draw(arrays(draw(shapes), False))
    n = x.shape[0] if x.ndim else 0
    small = st.integers(-n - 2, n + 1)
    index_value = st.one_of(small, small, st.sampled_from(HUGE_INDICES))
    kind = draw(
        st.sampled_from(
            [
                "int",
                "slice",
                "neg_step",
                "list",
                "tuple_in_tuple",
                "tuple_1",
                "array",
                "array_2d",
                "array_0d",
                "tensor",
                "tensor_0d",
                "bool_array",
                "bool_tensor",
                "none",
                "ellipsis",
                "empty_tuple",
                "float_list",
            ]
        )
    )
    bound = st.one_of(
        st.none(), st.integers(-7, 7), st.sampled_from([2**62, -(2**62), 2**70, -(2**70)])
    )
    if kind == "int":
        key = as_int_kind(draw, draw(index_value))
    elif kind in ("slice", "neg_step"):
        step = (
            draw(st.one_of(st.none(), st.integers(0, 3), st.sampled_from([2**62, 2**70])))
            if kind == "slice"
            else draw(st.sampled_from([-1, -2, -(2**62)]))
        )
        key = slice(draw(bound), draw(bound), step)
    elif kind in ("list", "tuple_in_tuple", "tensor"):
        values = draw(st.lists(index_value if draw(st.booleans()) else small, max_size=5))
        key = (
            values
            if kind == "list"
            else (tuple(values),)
            if kind == "tuple_in_tuple"
            else fg.tensor(np.array(values, np.int64))
            if all(INT64_MIN <= v <= INT64_MAX for v in values)
            else values
        )
    elif kind == "tuple_1":
        key = (draw(st.one_of(small, st.builds(slice, bound, bound))),)
    elif kind in ("array", "array_2d", "array_0d"):
        dtype = draw(st.sampled_from(NUMPY_INT_TYPES))
        info = np.iinfo(dtype)
        elements = st.one_of(
            st.integers(max(-n - 2, info.min), min(n + 1, info.max)),
            st.sampled_from([info.min, info.max]),
        )
        shape = {
            "array": draw(st.integers(0, 5)),
            "array_2d": (draw(st.integers(0, 3)), 2),
            "array_0d": (),
        }[kind]
        key = draw(hnp.arrays(dtype, shape, elements=elements))
    elif kind == "tensor_0d":
        key = fg.tensor(draw(small))
    elif kind in ("bool_array", "bool_tensor"):
        mask = draw(hnp.arrays(np.bool_, draw(st.sampled_from([n, n, n + 1]))))
        key = mask if kind == "bool_array" else fg.tensor(mask)
    elif kind == "float_list":
        key = [draw(st.floats(-3, 3))]
    else:
        key = {"none": None, "ellipsis": Ellipsis, "empty_tuple": ()}[kind]
    return x, kind, key, draw(st.integers(0, 2**31 - 1))


def numpy_key(key, n):
    """The key as numpy reads it, with PyTorch's meaning where numpy's differs: uint64
    values past int64 are out of bounds (numpy wraps them into valid negative indices).
    Raises IndexError where the key is out of bounds."""
    if isinstance(key, fg.Tensor):
        return key.numpy()
    values = (
        key[0] if isinstance(key, tuple) and len(key) == 1 and isinstance(key[0], tuple) else key
    )
    if (isinstance(values, (list, np.ndarray)) or values is not key) and np.asarray(
        values, dtype=object if isinstance(values, list) else None
    ).dtype != bool:
        flat = [int(v) for v in np.asarray(values, dtype=object).ravel()]
        if any(not -n <= v < n for v in flat):
            raise IndexError("index out of bounds")
    if isinstance(key, np.ndarray) and key.dtype.kind == "u":
        return key.astype(np.int64)
    return key


def run_index(case, family):
    x, kind, key, seed = case
    record_case(family, x=x, kind=kind, key=key, seed=seed)
    x64 = x.astype(np.float64)
    t = leaf(x)
    n = x.shape[0] if x.ndim else 0

    def ref():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy's deprecated forms refuse, as forgegrad
            return x64[numpy_key(key, n)]

    op = f"index[{kind}]"
    try:
        expected = ref()
    except (IndexError, ValueError, TypeError, OverflowError) as e:
        out, err = run_clean(op, lambda: t[key])
        assert err is not None, f"{op}: numpy refused {key!r} ({e}), forgegrad gave {out!r}"
        return
    out, err = run_clean(op, lambda: t[key])
    if err is not None:
        assert kind in REFUSABLE_KEYS, f"{op}: refused {key!r}: {err!r}"
        return
    assert_close(to_numpy(out), expected, op)
    g = np.random.default_rng(seed).uniform(-2, 2, out.shape).astype(np.float32)
    out.backward(fg.tensor(g))
    expected_grad = np.zeros(x.shape)
    np.add.at(expected_grad, numpy_key(key, n), g.astype(np.float64))  # repeats sum
    assert_close(to_numpy(t.grad), expected_grad, f"{op} gradient")


# ---- nn modules: Linear, activations, Softmax/LogSoftmax, Dropout, Sequential -------------


def _softmax_ref(dim):
    def forward(h):
        s = softmax64(h, dim)[0]
        return s, s

    return forward, lambda g, s: s * (g - (g * s).sum(dim, keepdims=True))


def _log_softmax_ref(dim):
    def forward(h):
        ls = softmax64(h, dim)[1]
        return ls, ls

    return forward, lambda g, ls: g - np.exp(ls) * g.sum(dim, keepdims=True)


def _pointwise(f, df):
    """(forward, backward) of an elementwise layer: f(h), and g * df(h)."""
    return (lambda h: (f(h), h)), (lambda g, h: g * df(h))


def layer_reference(layer, ndim):
    """(forward h -> (out, saved), backward (g, saved) -> g_in) in float64 for one layer."""
    nn = fg.nn
    if isinstance(layer, nn.Linear):
        w = to_numpy(layer.weight).astype(np.float64)
        b = 0.0 if layer.bias is None else to_numpy(layer.bias).astype(np.float64)
        return (lambda h: (h @ w.T + b, h)), (lambda g, h: g @ w)
    if isinstance(layer, (nn.Softmax, nn.LogSoftmax)):
        dim = layer.dim if layer.dim is not None else (0 if ndim in (0, 1, 3) else 1)
        return (_log_softmax_ref if isinstance(layer, nn.LogSoftmax) else _softmax_ref)(dim)
    if isinstance(layer, nn.LeakyReLU):
        a = layer.negative_slope
        return _pointwise(lambda h: np.where(h < 0, a * h, h), lambda h: np.where(h > 0, 1.0, a))
    if isinstance(layer, nn.GELU):
        spec = SPEC_BY_NAME["gelu_tanh" if layer.approximate == "tanh" else "gelu"]
    else:
        spec = SPEC_BY_NAME.get(
            {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.SiLU: "silu"}.get(
                type(layer)
            )
        )
    if spec is not None:
        return _pointwise(spec.ref, lambda h: spec.grad(np.ones_like(h), h)[0])
    if isinstance(layer, nn.Dropout):
        assert not layer.training or layer.p == 0, "a random dropout has no fixed reference"
        return _pointwise(lambda h: h, np.ones_like)
    assert isinstance(layer, nn.Identity), layer
    return _pointwise(lambda h: h, np.ones_like)


ACTIVATIONS = [
    "ReLU",
    "LeakyReLU",
    "GELU",
    "GELU_tanh",
    "Tanh",
    "Sigmoid",
    "SiLU",
    "Softmax",
    "LogSoftmax",
    "Dropout_eval",
    "Dropout_p0",
    "Identity",
]


@st.composite
def module_cases(draw):
    kind = draw(st.sampled_from(["Sequential", "Sequential", "Dropout_train"]))
    lead = tuple(draw(st.lists(st.sampled_from([0, 1, 1, 2, 3, 5]), min_size=1, max_size=2)))
    d_in = draw(st.integers(1, 6))
    x = draw(arrays(lead + (d_in,), False))
    if kind == "Dropout_train":
        return (
            kind,
            x,
            [draw(st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]))],
            draw(st.integers(0, 2**31 - 1)),
        )
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            layers.append(("Linear", draw(st.integers(1, 6)), draw(st.booleans())))
        else:
            name = draw(st.sampled_from(ACTIVATIONS))
            arg = (
                draw(st.one_of(st.none(), st.integers(-x.ndim - 1, x.ndim)))
                if "Softmax" in name
                else draw(st.floats(-1, 1, width=32))
                if name == "LeakyReLU"
                else None
            )
            layers.append((name, arg))
    return kind, x, layers, draw(st.integers(0, 2**31 - 1))


def build_layer(spec, width):
    """A module from its drawn spec, and the feature width after it."""
    nn = fg.nn
    name = spec[0]
    if name == "Linear":
        return nn.Linear(width, spec[1], bias=spec[2]), spec[1]
    if name in ("Softmax", "LogSoftmax"):
        return getattr(nn, name)(spec[1]), width
    if name == "LeakyReLU":
        return nn.LeakyReLU(spec[1]), width
    if name.startswith("Dropout"):
        layer = nn.Dropout(0.0 if name == "Dropout_p0" else 0.7)
        return (layer.eval() if name == "Dropout_eval" else layer), width
    return (nn.GELU("tanh") if name == "GELU_tanh" else getattr(nn, name)()), width


def run_modules(case, family):
    kind, x, layers, seed = case
    record_case(family, kind=kind, x=x, layers=layers, seed=seed)
    fg.manual_seed(seed)
    t = leaf(x)
    if kind == "Dropout_train":
        run_dropout_train(t, x, layers[0], seed)
        return
    modules, width = [], x.shape[-1]
    for spec in layers:
        module, width = build_layer(spec, width)
        modules.append(module)
    model = fg.nn.Sequential(*modules)
    h, saved, backwards = x.astype(np.float64), [], []
    try:
        for module in modules:
            forward, backward = layer_reference(module, h.ndim)
            h, keep = errstate(forward)(h)
            # stored as float32 between layers, as forgegrad's are: a denormal LeakyReLU
            # output that float32 rounds to 0 stops the next ReLU's gradient there too
            h = errstate(lambda v: v.astype(np.float32).astype(np.float64))(h)
            saved.append(keep)
            backwards.append(backward)
    except (ValueError, IndexError, np.exceptions.AxisError):  # a Softmax dim out of range
        expect_refused("Sequential", lambda: model(t), IndexError, ValueError)
        return
    out = model(t)
    assert_close(to_numpy(out), h, "Sequential forward", atol=1e-5)
    g = np.random.default_rng(seed).uniform(-2, 2, out.shape).astype(np.float32)
    out.backward(fg.tensor(g))
    g = g.astype(np.float64)
    grads = {}
    for module, backward, keep in zip(reversed(modules), reversed(backwards), reversed(saved)):
        if isinstance(module, fg.nn.Linear):
            flat_g, flat_h = g.reshape(-1, g.shape[-1]), keep.reshape(-1, keep.shape[-1])
            grads[id(module.weight)] = flat_g.T @ flat_h
            if module.bias is not None:
                grads[id(module.bias)] = flat_g.sum(0)
        g = errstate(backward)(g, keep)
    assert_close(to_numpy(t.grad), g, "Sequential d(input)", atol=1e-5)
    for name, p in model.named_parameters():
        assert_close(to_numpy(p.grad), grads[id(p)], f"Sequential d({name})", atol=1e-5)


def run_dropout_train(t, x, p, seed):
    """Training-mode Dropout: each element 0 or x / (1 - p), the gradient through the same
    mask; p = 1 zeroes everything (PyTorch)."""
    out = fg.nn.Dropout(p)(t)
    y = to_numpy(out).astype(np.float64)
    x64 = x.astype(np.float64)
    kept = x64 * (1.0 / (1 - p)) if p < 1 else np.zeros_like(x64)
    # within a unit of float32's last place, denormals' too (3e-45 / 0.75 rounds to 4.2e-45)
    is_kept = np.isclose(y, kept, rtol=1e-6, atol=1.5e-45) & (y != 0)
    assert (is_kept | (y == 0)).all(), f"Dropout({p}): {y} is neither 0 nor x / (1 - p)"
    g = np.random.default_rng(seed).uniform(-2, 2, out.shape).astype(np.float32)
    out.backward(fg.tensor(g))
    scale = 1.0 / (1 - p) if p < 1 else 0.0
    expected = np.where(is_kept, g * scale, 0.0)
    decided = is_kept | (x64 != 0)  # where x is 0, a kept element cannot be told apart
    assert_close(
        np.where(decided, to_numpy(t.grad), 0),
        np.where(decided, expected, 0),
        f"Dropout({p}) gradient",
    )


# ---- optimizers: one to three steps of SGD / Adam / AdamW against PyTorch's formulas -------


def torch_lerp(start, end, weight):
    """torch.lerp as PyTorch computes it (two forms, by weight), which decides where an
    infinite gradient makes NaN."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


@errstate
def sgd_reference(p, g, state, h):
    """torch.optim.SGD's single-tensor step; state: {"momentum_buffer": array or None}."""
    d = -g if h["maximize"] else g
    if h["weight_decay"]:
        d = d + h["weight_decay"] * p
    if h["momentum"]:
        buf = state.get("momentum_buffer")
        buf = d.copy() if buf is None else h["momentum"] * buf + (1 - h["dampening"]) * d
        state["momentum_buffer"] = buf
        d = d + h["momentum"] * buf if h["nesterov"] else buf
    return p - h["lr"] * d


@errstate
def adam_reference(p, g, state, h, decoupled):
    """torch.optim.Adam / AdamW's single-tensor step; state: step, exp_avg, exp_avg_sq,
    max_exp_avg_sq (NaN propagates through torch.maximum)."""
    g = -g if h["maximize"] else g
    beta1, beta2 = h["betas"]
    if decoupled:
        p = p * (1 - h["lr"] * h["weight_decay"])
    elif h["weight_decay"]:
        g = g + h["weight_decay"] * p
    t = state["step"] = state.get("step", 0) + 1
    m = state["exp_avg"] = torch_lerp(state.get("exp_avg", np.zeros_like(p)), g, 1 - beta1)
    v = state["exp_avg_sq"] = (
        beta2 * state.get("exp_avg_sq", np.zeros_like(p)) + (1 - beta2) * g * g
    )
    if h["amsgrad"]:
        v = state["max_exp_avg_sq"] = np.maximum(state.get("max_exp_avg_sq", np.zeros_like(p)), v)
    denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + h["eps"]
    return p - h["lr"] / (1 - beta1**t) * (m / denom)


OPT_VALUES = st.one_of(MODERATE, MODERATE, st.sampled_from([math.nan, math.inf, -math.inf, 0.0]))
LRS = [0.0, 1e-3, 0.1, 1.0, 10.0, -0.1, math.nan, math.inf]


@st.composite
def optim_cases(draw):
    kind = draw(st.sampled_from(["SGD", "Adam", "AdamW", "clip"]))
    count = draw(st.integers(1, 3))
    params = [draw(arrays(draw(shapes), False)) for _ in range(count)]
    steps = draw(st.integers(1, 3))
    wild = draw(st.booleans())
    grads = [
        [
            draw(hnp.arrays(np.float32, p.shape, elements=OPT_VALUES if wild else MODERATE))
            if draw(st.integers(0, 5))
            else None
            for p in params
        ]
        for _ in range(steps)
    ]
    if kind == "clip":
        h = dict(
            max_norm=draw(st.sampled_from([0.0, 0.5, 1.0, 100.0, -1.0, math.inf])),
            norm_type=draw(st.sampled_from([2.0, 1.0, 3.0, 0.5, math.inf, 0.0])),
            error_if_nonfinite=draw(st.booleans()),
        )
        return kind, params, grads[:1], h, None
    lr = draw(st.sampled_from(LRS))
    wd = draw(st.sampled_from([0.0, 0.0, 0.01, 0.5, -0.1]))
    if kind == "SGD":
        momentum = draw(st.sampled_from([0.0, 0.9, 0.5, -0.5]))
        h = dict(
            lr=lr,
            momentum=momentum,
            dampening=draw(st.sampled_from([0.0, 0.0, 0.3])),
            weight_decay=wd,
            nesterov=draw(st.booleans()),
            maximize=draw(st.booleans()),
        )
    else:
        h = dict(
            lr=lr,
            betas=(
                draw(st.sampled_from([0.9, 0.0, 0.3, 0.5, 1.0])),
                draw(st.sampled_from([0.999, 0.5, 0.0, -0.1])),
            ),
            eps=draw(st.sampled_from([1e-8, 0.0, 1e-3])),
            weight_decay=wd,
            amsgrad=draw(st.booleans()),
            maximize=draw(st.booleans()),
        )
    # sometimes a hyperparameter turned bad between steps: that step must change nothing
    spoil = draw(
        st.one_of(
            st.none(),
            st.tuples(
                st.integers(0, steps - 1),
                st.sampled_from(
                    [("lr", -1.0), ("lr", math.nan), ("weight_decay", -1.0), ("lr", "0.1")]
                ),
            ),
        )
    )
    return kind, params, grads, h, spoil


def hyper_valid(kind, h):
    """Whether PyTorch's checks (and forgegrad's: finite lr) accept these hyperparameters."""
    numbers = [h["lr"], h["weight_decay"]] + (
        [h["momentum"], h["dampening"]] if kind == "SGD" else [h["eps"], *h["betas"]]
    )
    if not all(isinstance(v, float) and math.isfinite(v) and v >= 0 for v in numbers):
        return False
    if kind == "SGD":
        return not h["nesterov"] or (h["momentum"] > 0 and h["dampening"] == 0)
    return all(b < 1 for b in h["betas"])


def optimizer_snapshot(optimizer, leaves):
    """Parameters, gradients, state and hyperparameters, as plain values."""

    def plain(v):
        return to_numpy(v).copy() if isinstance(v, fg.Tensor) else v

    return (
        [to_numpy(p).copy() for p in leaves],
        [None if p.grad is None else to_numpy(p.grad).copy() for p in leaves],
        {
            i: {k: plain(v) for k, v in optimizer.state[p].items()}
            for i, p in enumerate(leaves)
            if p in optimizer.state
        },
        [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups],
    )


def assert_same_snapshot(before, after, what):
    for a, b in zip(before[:2], after[:2]):
        for x, y in zip(a, b):
            assert (x is None) == (y is None) and (
                x is None or np.array_equal(x, y, equal_nan=True)
            ), f"{what}: a parameter or gradient changed"
    assert before[2].keys() == after[2].keys(), f"{what}: the state changed"
    for i in before[2]:
        for k, v in before[2][i].items():
            w = after[2][i][k]
            same = np.array_equal(v, w, equal_nan=True) if isinstance(v, np.ndarray) else v == w
            assert same, f"{what}: state {i} {k} changed"
    assert repr(before[3]) == repr(after[3]), f"{what}: the hyperparameters changed"


def run_optim(case, family):
    kind, params, grads, h, spoil = case
    record_case(family, kind=kind, params=params, grads=grads, h=h, spoil=spoil)
    leaves = [leaf(p) for p in params]
    if kind == "clip":
        run_clip(leaves, params, grads[0], h)
        return
    cls = getattr(fg.optim, kind)
    if not hyper_valid(kind, h):
        expect_refused(kind, lambda: cls(leaves, **h), ValueError)
        return
    optimizer = cls(leaves, **h)
    expected = [p.astype(np.float64) for p in params]
    states = [{} for _ in params]
    # Where g * g underflows float32 (tiny gradients), Adam with eps 0 divides by 0 as
    # PyTorch's float32 does, the float64 reference not: such elements are not compared
    # from then on.
    underflown = [np.zeros(p.shape, bool) for p in params]
    for step, step_grads in enumerate(grads):
        for t, g in zip(leaves, step_grads):
            t.grad = None if g is None else fg.tensor(g)
        if spoil is not None and spoil[0] == step:
            key, value = spoil[1]
            saved_value = optimizer.param_groups[0][key]
            optimizer.param_groups[0][key] = value
            before = optimizer_snapshot(optimizer, leaves)
            expect_refused(kind, optimizer.step, ValueError, TypeError)
            assert_same_snapshot(
                before, optimizer_snapshot(optimizer, leaves), f"{kind} step refused"
            )
            optimizer.param_groups[0][key] = saved_value
        optimizer.step()
        for i, g in enumerate(step_grads):
            if g is None:
                continue
            g64 = g.astype(np.float64)
            # Adam's gradient has its L2 term in it (a tiny parameter's makes a tiny gradient)
            g_eff = g64 + h["weight_decay"] * expected[i] if kind == "Adam" else g64
            underflown[i] |= (g_eff != 0) & (np.abs(g_eff) < 1e-18)
            expected[i] = (
                sgd_reference(expected[i], g64, states[i], h)
                if kind == "SGD"
                else adam_reference(expected[i], g64, states[i], h, kind == "AdamW")
            )
            what = f"{kind} step {step + 1} param {i}"
            largest = np.abs(g64).max(initial=0, where=np.isfinite(g64))
            scale = 1e-5 * (1 + abs(h["lr"])) * (1 + largest)
            assert_close(
                to_numpy(leaves[i]), expected[i], what, rtol=1e-4, atol=scale, lenient=underflown[i]
            )
            state = optimizer.state[leaves[i]]
            for key, value in states[i].items():
                if key == "step":
                    assert state[key] == value, f"{what}: step {state[key]} != {value}"
                else:
                    actual = to_numpy(state[key])
                    assert_close(
                        actual, value, f"{what} {key}", rtol=1e-4, atol=scale, lenient=underflown[i]
                    )


def run_clip(leaves, params, grads, h):
    """clip_grad_norm_ against PyTorch's: the total norm of the gradients (NaN, inf as they
    come), each gradient scaled by min(1, max_norm / (total + 1e-6)); error_if_nonfinite
    raises on a non-finite total, leaving the gradients as they were."""
    for t, g in zip(leaves, grads):
        t.grad = None if g is None else fg.tensor(g)
    call = lambda: fg.nn.utils.clip_grad_norm_(leaves, **h)  # noqa: E731
    present = [g.astype(np.float64) for g in grads if g is not None]
    order = h["norm_type"]
    if not h["max_norm"] >= 0 or not order > 0:  # forgegrad refuses these (PyTorch runs on)
        expect_refused("clip_grad_norm_", call, ValueError)
        return
    with np.errstate(all="ignore"):
        flat = np.abs(np.concatenate([g.ravel() for g in present])) if present else np.zeros(0)
        if order == math.inf:
            total = np.nan if np.isnan(flat).any() else flat.max(initial=0.0)
        else:
            total = np.sum(flat**order) ** (1 / order)
    if h["error_if_nonfinite"] and not np.isfinite(total):
        before = [None if t.grad is None else to_numpy(t.grad).copy() for t in leaves]
        expect_refused("clip_grad_norm_", call, RuntimeError)
        for b, t in zip(before, leaves):
            assert b is None or np.array_equal(b, to_numpy(t.grad), equal_nan=True), (
                "clip_grad_norm_ changed gradients before refusing"
            )
        return
    norm = call()
    assert_close(to_numpy(norm), total, "clip_grad_norm_ total", rtol=1e-5)
    with np.errstate(all="ignore"):
        coef = min(h["max_norm"] / (total + 1e-6), 1.0) if not np.isnan(total) else np.nan
    for t, g in zip(leaves, grads):
        if g is not None:
            with np.errstate(all="ignore"):
                assert_close(
                    to_numpy(t.grad),
                    g.astype(np.float64) * coef,
                    "clip_grad_norm_ gradient",
                    rtol=1e-5,
                )


# ---- save / load: random nested state dicts round-trip exactly ----------------------------

SAVE_KEYS = st.one_of(
    st.text(max_size=6),
    st.integers(-3, 2**70),
    st.sampled_from(["weight", "a.b", "", "0", "__metadata__", "ü"]),
)
SAVE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.text(max_size=8),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324, 1e308]),
)


@st.composite
def save_tensors(draw):
    dtype = draw(st.sampled_from([np.float32, np.int64, np.bool_, np.uint8]))
    elements = {
        np.float32: WILD,
        np.int64: st.integers(INT64_MIN, INT64_MAX),
        np.bool_: st.booleans(),
        np.uint8: st.integers(0, 255),
    }[dtype]
    return fg.tensor(draw(hnp.arrays(dtype, draw(shapes), elements=elements)))


SAVE_TREES = st.recursive(
    st.one_of(SAVE_SCALARS, save_tensors()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(SAVE_KEYS, inner, max_size=3),
    ),
    max_leaves=8,
)


def tensor_names(obj, path=()):
    """The name save gives each tensor (its key path joined with '.')."""
    if isinstance(obj, fg.Tensor):
        return [".".join(str(k) for k in path)]
    items = (
        obj.items()
        if isinstance(obj, dict)
        else enumerate(obj)
        if isinstance(obj, (list, tuple))
        else ()
    )
    return [name for k, v in items for name in tensor_names(v, path + (k,))]


def assert_same_tree(a, b, where="obj"):
    """a and b equal in type and value all the way down (NaN equal to NaN, -0.0 to -0.0)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} came back as {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} came back as {list(b)}"
        assert all(type(k) is type(j) for k, j in zip(a, b)), f"{where}: key types changed"
        for k in a:
            assert_same_tree(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: {len(a)} items came back as {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tree(x, y, f"{where}[{i}]")
    elif isinstance(a, fg.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, (
            f"{where}: {a.dtype} {a.shape} came back as {b.dtype} {b.shape}"
        )
        assert a.numpy().tobytes() == b.numpy().tobytes(), f"{where}: {a} came back as {b}"
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        ), f"{where}: {a} -> {b}"
    else:
        assert a == b, f"{where}: {a!r} came back as {b!r}"


def run_save(case, family):
    (obj,) = case
    record_case(family, obj=obj)
    names = tensor_names(obj)
    clash = len(set(names)) < len(names) or "__metadata__" in names
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "checkpoint.safetensors")
        _, err = run_clean("save", lambda: fg.save(obj, path))
        if clash:  # two tensors under one name, or safetensors' reserved one
            assert isinstance(err, TypeError), f"save: names {names} accepted: {err!r}"
            assert os.listdir(directory) == [], f"save left {os.listdir(directory)}"
            return
        assert err is None, f"save: {err!r}"
        assert_same_tree(obj, fg.load(path))


# ---- driver ------------------------------------------------------------------------------

FAMILIES = {
    "unary": (elementwise_cases(UNARY, 1), run_elementwise),
    "binary": (elementwise_cases(BINARY, 2), run_elementwise),
    "reduce": (reduce_cases(), run_reduce),
    "softmax": (softmax_cases(), run_softmax),
    "loss": (loss_cases(), run_loss),
    "matmul": (matmul_cases(), run_matmul),
    "shape": (shape_cases(), run_shape),
    "nn": (nn_cases(), run_nn),
    "dtype": (dtype_cases(), run_dtype),
    "creation": (creation_cases(), run_creation),
    "index": (index_cases(), run_index),
    "modules": (module_cases(), run_modules),
    "optim": (optim_cases(), run_optim),
    "save": (st.tuples(SAVE_TREES), run_save),
    # test_fuzz.py's check that a crash is reported with its case
    "crash_selftest": (
        st.just(None),
        lambda case, family: (
            record_case(family, what="a deliberate segfault"),
            os.kill(os.getpid(), signal.SIGSEGV),
        ),
    ),
}


def main(family, case_file):
    global CASE_FILE
    CASE_FILE = case_file
    strategy, run = FAMILIES[family]
    settings_ = settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=bool(os.environ.get("CI")),
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )

    @settings_
    @given(strategy)
    def fuzz(case):
        run(case, family)

    try:
        fuzz()
    except Exception:
        import traceback

        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
