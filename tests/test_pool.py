"""Pooling (max, average, power-average, adaptive, in 1-d and 2-d) and max_unpool2d against
the float64 direct-loop references of tests/pool_reference.py, forward in float32 and float64 and
backward by central differences in float64, on each device; the modules against the
functions; bad input. Max pooling draws distinct values, so that each window's maximum (and
the gradient's path) cannot flip under a difference step."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
import forgegrad.nn.functional as F
import pool_reference as ref
from helpers import as_tensor, assert_close, gradcheck, make_input, to_numpy

DTYPES = {"float32": (fg.float32, np.float32, 1e-5), "float64": (fg.float64, np.float64, 1e-12)}

# (shape, kernel_size, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((2, 3, 7, 9), 3, None, 0, 1, False),
    ((2, 3, 7, 9), (3, 2), (2, 1), (1, 1), 1, False),
    ((1, 2, 8, 7), 2, 2, 1, 1, True),
    ((1, 1, 5, 5), 2, 2, 1, 1, True),  # ceil_mode's last window would start in the padding
    ((2, 2, 9, 8), 3, 1, 1, 2, False),
    ((1, 3, 10, 9), (2, 3), (3, 2), (1, 0), (3, 2), True),
    ((2, 3, 4, 5), 1, 1, 0, 1, False),
    ((1, 1, 3, 3), 4, 1, 2, 1, False),  # the kernel larger than the input, padded
    ((1, 2, 9, 9), 2, 3, 0, 1, False),  # stride past the kernel: inputs no window reads
    ((3, 5, 5), 3, 2, 1, 1, True),  # unbatched
]
# (shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [
    ((2, 3, 7, 9), 3, None, 0, False, True, None),
    ((2, 3, 7, 9), (3, 2), (2, 1), (1, 1), False, True, None),
    ((2, 3, 7, 9), (3, 2), (2, 1), (1, 1), False, False, None),
    ((1, 2, 8, 7), 3, 2, 1, True, False, None),
    ((1, 1, 5, 5), 2, 2, 1, True, True, None),  # the last window would start in the padding
    ((1, 1, 5, 5), 2, 2, 1, True, False, None),
    ((2, 2, 6, 5), 3, 2, 1, False, True, 4),
    ((1, 1, 3, 3), 4, 1, 2, False, False, None),  # the kernel larger than the input, padded
    ((3, 5, 6), 2, 1, 1, False, True, 3),  # unbatched
]
# (shape, output_size): dividing the input and not, larger than it, None, unbatched
ADAPTIVE_CASES = [
    ((2, 3, 7, 9), (3, 4)),
    ((1, 2, 8, 8), 4),
    ((1, 2, 5, 7), (5, 7)),
    ((1, 1, 5, 3), (7, 6)),
    ((2, 2, 6, 9), (None, 2)),
    ((1, 1, 5, 5), 1),
    ((3, 7, 5), (2, 3)),
]


def max_kwargs(case):
    _, kernel, stride, padding, dilation, ceil_mode = case
    return dict(
        kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )


def avg_kwargs(case):
    _, kernel, stride, padding, ceil_mode, count_include_pad, divisor = case
    return dict(
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor,
    )


def check_forward(out, want, dtype):
    fg_dtype, _, rtol = DTYPES[dtype]
    assert out.dtype == fg_dtype
    assert_close(to_numpy(out), want, rtol=rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool2d_values_and_indices(case, dtype, device):
    x = make_input(case[0], distinct=True).astype(DTYPES[dtype][1])
    out, indices = F.max_pool2d(as_tensor(x, device), return_indices=True, **max_kwargs(case))
    want, want_indices = ref.max_pool2d_with_indices(x.astype(np.float64), **max_kwargs(case))
    check_forward(out, want, dtype)
    assert indices.dtype == fg.int64
    np.testing.assert_array_equal(to_numpy(indices), want_indices)


@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool2d_gradient(case, device):
    gradcheck(
        lambda t: F.max_pool2d(t, **max_kwargs(case)),
        make_input(case[0], distinct=True),
        device=device,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool2d(case, dtype, device):
    x = make_input(case[0]).astype(DTYPES[dtype][1])
    out = F.avg_pool2d(as_tensor(x, device), **avg_kwargs(case))
    check_forward(out, ref.avg_pool2d(x.astype(np.float64), **avg_kwargs(case)), dtype)


@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool2d_gradient(case, device):
    gradcheck(lambda t: F.avg_pool2d(t, **avg_kwargs(case)), make_input(case[0]), device=device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, output_size", ADAPTIVE_CASES)
def test_adaptive_pool2d(shape, output_size, dtype, device):
    x = make_input(shape, distinct=True).astype(DTYPES[dtype][1])
    t = as_tensor(x, device)
    check_forward(
        F.adaptive_avg_pool2d(t, output_size),
        ref.adaptive_avg_pool2d(x.astype(np.float64), output_size),
        dtype,
    )
    out, indices = F.adaptive_max_pool2d(t, output_size, return_indices=True)
    want, want_indices = ref.adaptive_max_pool2d_with_indices(x.astype(np.float64), output_size)
    check_forward(out, want, dtype)
    np.testing.assert_array_equal(to_numpy(indices), want_indices)


@pytest.mark.parametrize("shape, output_size", ADAPTIVE_CASES)
def test_adaptive_pool2d_gradients(shape, output_size, device):
    x = make_input(shape, distinct=True)
    gradcheck(lambda t: F.adaptive_avg_pool2d(t, output_size), x, device=device)
    gradcheck(lambda t: F.adaptive_max_pool2d(t, output_size), x, device=device)


# 1-d pooling: (shape, keyword arguments) per function
ONE_D = [
    ("max_pool1d", ref.max_pool2d, (2, 3, 11), dict(kernel_size=3, stride=2, padding=1)),
    (
        "max_pool1d",
        ref.max_pool2d,
        (3, 10),
        dict(kernel_size=2, stride=3, padding=1, dilation=2, ceil_mode=True),
    ),
    (
        "avg_pool1d",
        ref.avg_pool2d,
        (2, 3, 11),
        dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False),
    ),
    ("avg_pool1d", ref.avg_pool2d, (3, 7), dict(kernel_size=3)),
    ("adaptive_avg_pool1d", ref.adaptive_avg_pool2d, (2, 3, 10), dict(output_size=4)),
    ("adaptive_avg_pool1d", ref.adaptive_avg_pool2d, (3, 5), dict(output_size=7)),
    ("adaptive_max_pool1d", ref.adaptive_max_pool2d, (2, 3, 10), dict(output_size=3)),
    ("adaptive_max_pool1d", ref.adaptive_max_pool2d, (3, 5), dict(output_size=None)),
    (
        "lp_pool1d",
        ref.lp_pool2d,
        (2, 3, 10),
        dict(norm_type=2, kernel_size=3, stride=2, ceil_mode=True),
    ),
    ("lp_pool1d", ref.lp_pool2d, (3, 8), dict(norm_type=2, kernel_size=4)),
]


# (shape, norm_type, kernel_size, stride, ceil_mode), on positive inputs (x^p of a negative x
# is not real for a fractional p)
LP_CASES = [
    ((2, 3, 7, 9), 2, 3, None, False),
    ((2, 3, 7, 9), 3, (3, 2), (2, 1), True),  # the last windows partly outside
    ((1, 2, 8, 7), 1.5, 2, 2, True),
    ((1, 1, 3, 3), 4, 3, 1, False),  # one window, the whole input
    ((3, 5, 6), 2, 2, 1, False),  # unbatched
]


@pytest.mark.parametrize("case", LP_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_lp_pool2d(case, dtype, device):
    shape, norm_type, kernel_size, stride, ceil_mode = case
    fg_dtype, np_dtype, _ = DTYPES[dtype]
    x = make_input(shape, domain="positive").astype(np_dtype)
    out = F.lp_pool2d(as_tensor(x, device), norm_type, kernel_size, stride, ceil_mode)
    check_forward(
        out, ref.lp_pool2d(x.astype(np.float64), norm_type, kernel_size, stride, ceil_mode), dtype
    )
    gradcheck(lambda t: F.lp_pool2d(t, norm_type, kernel_size, stride, ceil_mode), x, device=device)


@pytest.mark.parametrize("name, reference, shape, kwargs", ONE_D)
def test_pool1d(name, reference, shape, kwargs, device):
    x = make_input(shape, distinct=True)
    out = getattr(F, name)(as_tensor(x, device), **kwargs)
    want = ref.as_1d(reference)(x.astype(np.float64), **kwargs)
    assert tuple(out.shape) == want.shape
    assert_close(to_numpy(out), want)
    gradcheck(lambda t: getattr(F, name)(t, **kwargs), x, device=device)


@pytest.mark.parametrize(
    "name, reference",
    [
        ("max_pool1d", ref.max_pool2d_with_indices),
        ("adaptive_max_pool1d", ref.adaptive_max_pool2d_with_indices),
    ],
)
def test_pool1d_indices_are_positions_along_the_line(name, reference, device):
    x = make_input((2, 3, 9), distinct=True)
    kwargs = dict(kernel_size=3, stride=2) if name == "max_pool1d" else dict(output_size=4)
    _, indices = getattr(F, name)(as_tensor(x, device), return_indices=True, **kwargs)
    np.testing.assert_array_equal(
        to_numpy(indices), ref.as_1d(reference)(x.astype(np.float64), **kwargs)[1]
    )


def test_nan_propagates_and_its_index_is_taken(device):
    x = make_input((1, 2, 4, 4), distinct=True)
    x[0, 0, 1, 2] = np.nan
    x[0, 1, 3, 3] = np.nan
    t = as_tensor(x, device)
    for out, indices in (
        F.max_pool2d(t, 2, return_indices=True),
        F.adaptive_max_pool2d(t, 1, return_indices=True),
    ):
        values, where = to_numpy(out), to_numpy(indices)
        assert np.isnan(values[0, 0, 0, -1]) and where[0, 0, 0, -1] == 1 * 4 + 2
        assert np.isnan(values[0, 1, -1, -1]) and where[0, 1, -1, -1] == 3 * 4 + 3
    assert np.isfinite(to_numpy(F.max_pool2d(t, 2))[0, 0, -1, 0])  # a window without NaN


@pytest.mark.parametrize(
    "shape, kernel, stride, padding, output_size",
    [
        ((2, 3, 6, 8), 2, None, 0, None),
        ((1, 2, 7, 5), 3, 3, 1, (7, 5)),  # padded windows, not overlapping: one index each
        ((2, 1, 5, 5), 2, 2, 0, (5, 5)),  # the row and column pooling dropped, given back
        ((3, 6, 6), 2, 2, 0, (7, 6)),  # unbatched, a row more than the default
    ],
)
def test_max_unpool2d_round_trip(shape, kernel, stride, padding, output_size, device):
    x = make_input(shape, distinct=True)
    pooled, indices = F.max_pool2d(
        as_tensor(x, device), kernel, stride, padding, return_indices=True
    )
    out = F.max_unpool2d(pooled, indices, kernel, stride, padding, output_size)
    hw = tuple(output_size[-2:]) if output_size else tuple(out.shape[-2:])
    want = ref.max_unpool2d(to_numpy(pooled).astype(np.float64), to_numpy(indices), hw)
    assert tuple(out.shape) == want.shape
    assert_close(to_numpy(out), want)
    module = nn.MaxUnpool2d(kernel, stride, padding)
    np.testing.assert_array_equal(to_numpy(module(pooled, indices, output_size)), to_numpy(out))
    gradcheck(
        lambda t: F.max_unpool2d(t, indices, kernel, stride, padding, output_size),
        to_numpy(pooled),
        device=device,
    )


def test_modules_match_the_functions():
    x = as_tensor(make_input((2, 3, 7, 8), distinct=True), "cpu")
    line = as_tensor(make_input((2, 3, 9), distinct=True), "cpu")
    pairs = [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), F.max_pool2d(x, 3, 2, 1, ceil_mode=True), x),
        (nn.MaxPool1d(2, dilation=2), F.max_pool1d(line, 2, dilation=2), line),
        (
            nn.AvgPool2d(2, 1, 1, count_include_pad=False, divisor_override=3),
            F.avg_pool2d(x, 2, 1, 1, count_include_pad=False, divisor_override=3),
            x,
        ),
        (nn.AvgPool1d(3, 2, 1), F.avg_pool1d(line, 3, 2, 1), line),
        (nn.AdaptiveAvgPool2d((None, 3)), F.adaptive_avg_pool2d(x, (None, 3)), x),
        (nn.AdaptiveAvgPool1d(4), F.adaptive_avg_pool1d(line, 4), line),
        (nn.AdaptiveMaxPool2d(2), F.adaptive_max_pool2d(x, 2), x),
        (nn.AdaptiveMaxPool1d(5), F.adaptive_max_pool1d(line, 5), line),
        (nn.LPPool2d(2, 3, 2, ceil_mode=True), F.lp_pool2d(x, 2, 3, 2, ceil_mode=True), x),
        (nn.LPPool1d(2, 3), F.lp_pool1d(line, 2, 3), line),
    ]
    for module, want, input in pairs:
        np.testing.assert_array_equal(to_numpy(module(input)), to_numpy(want))
    out, indices = nn.MaxPool2d(2, return_indices=True)(x)
    np.testing.assert_array_equal(
        to_numpy(indices), to_numpy(F.max_pool2d(x, 2, return_indices=True)[1])
    )
    _, indices = nn.AdaptiveMaxPool2d(3, return_indices=True)(x)
    assert indices.dtype == fg.int64
    assert repr(nn.MaxPool2d(3, 2, 1)) == (
        "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)"
    )
    assert repr(nn.AdaptiveAvgPool2d((None, 3))) == "AdaptiveAvgPool2d(output_size=(None, 3))"
    assert repr(nn.LPPool2d(2, 3)) == (
        "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"
    )


def test_pooling_in_a_network_trains():
    model = nn.Sequential(
        nn.MaxPool2d(2), nn.AvgPool2d(2, 1, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()
    )
    x = as_tensor(make_input((2, 3, 8, 8)), "cpu").requires_grad_()
    model(x).sum().backward()
    assert x.grad is not None and tuple(x.grad.shape) == (2, 3, 8, 8)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: F.max_pool2d(x[0, 0], 2), ValueError, "[max_pool2d] expected a 3-d"),
        (lambda x: F.max_pool1d(x, 2), ValueError, "[max_pool1d] expected a 2-d"),
        (lambda x: F.max_pool2d(x, 0), ValueError, "[max_pool2d] expected a positive kernel_size"),
        (lambda x: F.max_pool2d(x, 2, stride=0), ValueError, "positive kernel_size, stride"),
        (lambda x: F.max_pool2d(x, 3, padding=2), ValueError, "[max_pool2d] expected padding in"),
        (lambda x: F.avg_pool2d(x, 9), ValueError, "[avg_pool2d] expected an output size of at"),
        (lambda x: F.max_pool1d(x[0], 2, padding=-1), ValueError, "[max_pool1d] expected padding"),
        (lambda x: F.avg_pool2d(x, 2, divisor_override=0), ValueError, "divisor_override other"),
        (lambda x: F.max_pool2d(x, (1, 2, 3)), TypeError, "[max_pool2d] expected kernel_size as"),
        (lambda x: F.adaptive_avg_pool2d(x, -1), ValueError, "expected output_size >= 0"),
        (lambda x: F.max_pool2d(x, 2, padding=1, dilation=5), ValueError, "expected every window"),
        (lambda x: F.max_pool2d(x.long(), 2), TypeError, "[max_pool2d] expected a floating"),
        (
            lambda x: F.max_unpool2d(x, x.long() * 0 + 99, 2),
            ValueError,
            "[max_unpool2d] expected indices in [0, 64)",
        ),
        (lambda x: F.max_unpool2d(x, x, 2), ValueError, "[max_unpool2d] expected int64 indices"),
        (
            lambda x: F.max_unpool2d(x, x.long() * 0, 2, output_size=(3, 3)),
            ValueError,
            "[max_unpool2d] expected output_size[0] between",
        ),
        (lambda x: F.max_pool2d(fg.zeros(2, 0, 4, 4), 2), ValueError, "non-zero C, H and W"),
        (
            lambda x: F.lp_pool2d(x, 0, 2),
            ValueError,
            "[lp_pool2d] expected norm_type as a positive",
        ),
        (lambda x: F.lp_pool1d(x[0], "2", 2), ValueError, "[lp_pool1d] expected norm_type"),
        (lambda x: F.lp_pool2d([1.0], 2, 2), TypeError, "[lp_pool2d] expected a Tensor input"),
    ],
)
def test_bad_input_is_refused(call, error, message):
    x = as_tensor(make_input((1, 2, 4, 4)), "cpu")
    with pytest.raises(error) as raised:
        call(x)
    assert message in str(raised.value)


def test_empty_batch_gives_an_empty_result():
    out = F.max_pool2d(fg.zeros(0, 2, 4, 4), 2)
    assert tuple(out.shape) == (0, 2, 2, 2)
    assert tuple(F.adaptive_avg_pool2d(fg.zeros(0, 2, 4, 4), 3).shape) == (0, 2, 3, 3)
