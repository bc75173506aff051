"""Every op of tests/op_db.py, forward against its float64 numpy reference and backward
against central differences of it (and in float64 against central differences of the op
itself), on each device; its Tensor method gives the same."""

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import _ops
from helpers import _make_inputs, as_tensor, assert_close, check_backward, gradcheck, to_numpy
from op_db import OP_DB, op_function

TABLE = {op.name: op for op in _ops.OPS}


def is_method(name):
    return TABLE[name].is_method if name in TABLE else hasattr(fg.Tensor, name)


CASES = [(info, i, s) for info in OP_DB for i, s in enumerate(info.samples)]
IDS = [f"{info.name}-{i}" for info, i, _ in CASES]


def inputs(info, s):
    return _make_inputs(s.inputs, info.domain, info.domains, info.avoid, info.distinct)


def as_float64(xs):
    return [x.astype(np.float64) if x.dtype == np.float32 else x for x in xs]


@pytest.mark.parametrize("info, index, s", CASES, ids=IDS)
def test_forward(info, index, s, device):
    xs = inputs(info, s)
    out = info.call(op_function(info.name), *[as_tensor(x, device) for x in xs], **s.kwargs)
    ref = np.asarray(info.ref(*as_float64(xs), **s.kwargs))
    want = (
        fg.bool
        if ref.dtype == bool
        else fg.int64
        if np.issubdtype(ref.dtype, np.integer)
        else fg.float32
    )
    assert out.dtype == want and out.device.type == fg.device(device).type
    assert tuple(out.shape) == ref.shape
    assert_close(to_numpy(out), ref, what=f"{info.name} forward")


@pytest.mark.parametrize(
    "info, index, s",
    [c for c in CASES if c[0].grad],
    ids=[i for c, i in zip(CASES, IDS) if c[0].grad],
)
def test_backward(info, index, s, device):
    op = op_function(info.name)
    check_backward(
        lambda *ts: info.call(op, *ts, **s.kwargs),
        lambda *xs: info.ref(*xs, **s.kwargs),
        inputs=inputs(info, s),
        device=device,
    )


@pytest.mark.parametrize(
    "info, index, s",
    [c for c in CASES if c[0].grad],
    ids=[i for c, i in zip(CASES, IDS) if c[0].grad],
)
def test_backward_float64(info, index, s, device):
    # The op's own float64 backward against central differences of the op itself.
    xs = inputs(info, s)
    floats = [i for i, x in enumerate(xs) if x.dtype == np.float32]
    op = op_function(info.name)

    def fn(*float_tensors):
        args = [as_tensor(x, device) for x in xs]
        for i, t in zip(floats, float_tensors):
            args[i] = t
        return info.call(op, *args, **s.kwargs)

    gradcheck(fn, *[xs[i] for i in floats], device=device, max_checks=20)


def as_method(name):
    """The op as t.name(...): t is its first argument, or its `input` where the call names it
    (polygamma(n, input=t) is t.polygamma(n))."""

    def method(*args, **kwargs):
        if "input" in kwargs:
            return getattr(kwargs.pop("input"), name)(*args, **kwargs)
        return getattr(args[0], name)(*args[1:], **kwargs)

    return method


@pytest.mark.parametrize(
    "info, index, s",
    [c for c in CASES if is_method(c[0].name)],
    ids=[i for c, i in zip(CASES, IDS) if is_method(c[0].name)],
)
def test_method_matches_function(info, index, s):
    tensors = [as_tensor(x, "cpu") for x in inputs(info, s)]
    function = info.call(op_function(info.name), *tensors, **s.kwargs)
    method = info.call(as_method(info.name), *tensors, **s.kwargs)
    np.testing.assert_array_equal(to_numpy(method), to_numpy(function))
