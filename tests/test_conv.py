"""Convolution: F.unfold, F.fold, F.conv1d, F.conv2d, F.conv_transpose1d and
F.conv_transpose2d and their modules against float64
numpy references written with direct loops over output positions and kernel taps, across
strides, paddings ('same', 'valid', ints, pairs, padding modes), dilations and groups;
float64 gradients by finite differences; the argument errors."""

import math

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import nn
from helpers import as_tensor, assert_close, gradcheck, to_numpy

RNG = np.random.default_rng(15)
_NP_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _out_size(size, k, s, p_total, d):
    return (size + p_total - d * (k - 1) - 1) // s + 1


def np_unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """x (N, C, H, W) -> (N, C kh kw, L), one tap of every position at a time."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = map(_pair, (kernel_size, dilation, padding, stride))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c = x.shape[:2]
    oh, ow = _out_size(x.shape[2], kh, sh, 2 * ph, dh), _out_size(x.shape[3], kw, sw, 2 * pw, dw)
    cols = np.zeros((n, c, kh, kw, oh, ow))
    for i in range(oh):
        for j in range(ow):
            for p in range(kh):
                for q in range(kw):
                    cols[:, :, p, q, i, j] = xp[:, :, i * sh + p * dh, j * sw + q * dw]
    return cols.reshape(n, c * kh * kw, oh * ow)


def np_fold(cols, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """cols (N, C kh kw, L) -> (N, C, H, W): every entry added to the pixel it came from."""
    (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = map(
        _pair, (output_size, kernel_size, dilation, padding, stride)
    )
    oh, ow = _out_size(h, kh, sh, 2 * ph, dh), _out_size(w, kw, sw, 2 * pw, dw)
    n = cols.shape[0]
    cols = cols.reshape(n, -1, kh, kw, oh, ow)
    image = np.zeros((n, cols.shape[1], h + 2 * ph, w + 2 * pw))
    for i in range(oh):
        for j in range(ow):
            for p in range(kh):
                for q in range(kw):
                    image[:, :, i * sh + p * dh, j * sw + q * dw] += cols[:, :, p, q, i, j]
    return image[:, :, ph : ph + h, pw : pw + w]


def _sides(padding, kernel, dilation):
    """(before, after) per spatial dimension, 'same' split as PyTorch (the extra one after)."""
    if padding == "valid":
        return [(0, 0)] * len(kernel)
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [(t // 2, t - t // 2) for t in totals]
    padding = (padding,) * len(kernel) if isinstance(padding, int) else padding
    return [(p, p) for p in padding]


def np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, mode="zeros"):
    """x (N, C, H, W), w (O, C / groups, kh, kw): a sum over taps at each output position."""
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    kh, kw = w.shape[2:]
    sides = _sides(padding, (kh, kw), (dh, dw))
    xp = np.pad(x, ((0, 0), (0, 0), *sides), mode=_NP_MODES[mode])
    n, o, cg = x.shape[0], w.shape[0], w.shape[1]
    oh, ow = _out_size(xp.shape[2], kh, sh, 0, dh), _out_size(xp.shape[3], kw, sw, 0, dw)
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            for p in range(kh):
                for q in range(kw):
                    pixels = xp[:, :, i * sh + p * dh, j * sw + q * dw].reshape(n, groups, cg)
                    taps = w[:, :, p, q].reshape(groups, o // groups, cg)
                    out[:, :, i, j] += np.einsum("ngc,goc->ngo", pixels, taps).reshape(n, o)
    return out if b is None else out + b.reshape(1, o, 1, 1)


def np_conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, mode="zeros"):
    pad2 = padding if isinstance(padding, str) else (0, _pair(padding)[0])
    return np_conv2d(
        x[:, :, None],
        w[:, :, None],
        b,
        (1, _pair(stride)[0]),
        pad2,
        (1, _pair(dilation)[0]),
        groups,
        mode,
    )[:, :, 0]


def np_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """x (N, C, H, W), w (C, O / groups, kh, kw): each input pixel spread over the taps."""
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(
        _pair, (stride, padding, output_padding, dilation)
    )
    n, (c, og, kh, kw) = x.shape[0], w.shape
    h, wd = x.shape[2:]
    out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    out_w = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    full = np.zeros(
        (
            n,
            og * groups,
            (h - 1) * sh + dh * (kh - 1) + 1 + oph,
            (wd - 1) * sw + dw * (kw - 1) + 1 + opw,
        )
    )
    for i in range(h):
        for j in range(wd):
            for p in range(kh):
                for q in range(kw):
                    pixels = x[:, :, i, j].reshape(n, groups, c // groups)
                    taps = w[:, :, p, q].reshape(groups, c // groups, og)
                    full[:, :, i * sh + p * dh, j * sw + q * dw] += np.einsum(
                        "ngc,gco->ngo", pixels, taps
                    ).reshape(n, -1)
    out = full[:, :, ph : ph + out_h, pw : pw + out_w]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def _rand(*shape):
    return RNG.uniform(-1.0, 1.0, size=shape)


def _dtype_tolerance(dtype):
    return 1e-12 if dtype == "float64" else 2e-5


# (input shape, kernel_size, dilation, padding, stride): odd sizes, 1x1, overlapping and
# strided taps, a kernel larger than the input made to fit by padding, batch 1
UNFOLD_CASES = [
    ((2, 3, 7, 6), 3, 1, 0, 1),
    ((1, 2, 5, 9), (2, 3), (2, 1), (1, 2), (2, 3)),
    ((2, 1, 4, 4), 1, 1, 0, 1),
    ((1, 2, 3, 2), (5, 4), 1, 2, 1),
    ((2, 2, 6, 7), (3, 2), (1, 3), 0, (1, 2)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,kernel,dilation,padding,stride", UNFOLD_CASES)
def test_unfold_and_fold_match_loops(shape, kernel, dilation, padding, stride, dtype, device):
    x = _rand(*shape)
    want = np_unfold(x, kernel, dilation, padding, stride)
    got = F.unfold(as_tensor(x, device).to(getattr(fg, dtype)), kernel, dilation, padding, stride)
    assert got.dtype == getattr(fg, dtype)
    assert_close(to_numpy(got), want, rtol=_dtype_tolerance(dtype))
    cols = _rand(*want.shape)
    want = np_fold(cols, shape[2:], kernel, dilation, padding, stride)
    got = F.fold(
        as_tensor(cols, device).to(getattr(fg, dtype)), shape[2:], kernel, dilation, padding, stride
    )
    assert_close(to_numpy(got), want, rtol=_dtype_tolerance(dtype))


@pytest.mark.parametrize("shape,kernel,dilation,padding,stride", UNFOLD_CASES[:2])
def test_unfold_and_fold_gradients(shape, kernel, dilation, padding, stride, device):
    gradcheck(
        lambda x: F.unfold(x, kernel, dilation, padding, stride), _rand(*shape), device=device
    )
    cols = np_unfold(_rand(*shape), kernel, dilation, padding, stride)
    gradcheck(
        lambda c: F.fold(c, shape[2:], kernel, dilation, padding, stride), cols, device=device
    )


def test_unbatched_unfold_fold_and_modules(device):
    x = _rand(2, 5, 4)
    got = nn.Unfold((2, 3), padding=1)(as_tensor(x, device))
    assert_close(to_numpy(got), np_unfold(x[None], (2, 3), padding=1)[0])
    folded = nn.Fold((5, 4), (2, 3), padding=1)(got)
    assert_close(
        to_numpy(folded),
        np_fold(np_unfold(x[None], (2, 3), padding=1), (5, 4), (2, 3), padding=1)[0],
    )
    assert repr(nn.Fold(4, 2)) == (
        "Fold(output_size=4, kernel_size=2, dilation=1, padding=0, stride=1)"
    )
    assert repr(nn.Unfold((2, 3), stride=2)) == (
        "Unfold(kernel_size=(2, 3), dilation=1, padding=0, stride=2)"
    )


# (input shape, weight shape, stride, padding, dilation, groups)
CONV2D_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0, 1, 1),
    ((1, 4, 8, 5), (6, 2, 3, 2), (2, 1), (1, 2), (1, 2), 2),
    ((2, 3, 5, 6), (6, 1, 3, 3), 1, "same", 1, 3),  # depthwise with multiplier 2
    ((1, 2, 6, 7), (3, 2, 2, 4), 1, "same", (2, 1), 1),  # odd totals: the extra one after
    ((2, 2, 5, 5), (3, 2, 2, 3), 2, "valid", 1, 1),
    ((1, 3, 4, 4), (5, 3, 1, 1), 1, 0, 1, 1),
    ((2, 2, 2, 3), (2, 2, 4, 5), 1, 2, 1, 1),  # kernel larger than the input
    ((1, 2, 9, 7), (2, 1, 3, 3), 3, 1, 2, 2),
]


def check_conv2d_matches_loops(xs, ws, stride, padding, dilation, groups, dtype, device):
    """F.conv2d on random operands of shapes xs, ws (batched, in dtype, and unbatched)
    against np_conv2d's float64 direct loops."""
    x, w, b = _rand(*xs), _rand(*ws), _rand(ws[0])
    t = getattr(fg, dtype)
    got = F.conv2d(
        as_tensor(x, device).to(t),
        as_tensor(w, device).to(t),
        as_tensor(b, device).to(t),
        stride,
        padding,
        dilation,
        groups,
    )
    assert got.dtype == t
    want = np_conv2d(x, w, b, stride, padding, dilation, groups)
    assert_close(to_numpy(got), want, rtol=_dtype_tolerance(dtype))
    unbatched = F.conv2d(
        as_tensor(x[0], device), as_tensor(w, device), None, stride, padding, dilation, groups
    )
    assert_close(
        to_numpy(unbatched),
        np_conv2d(x[:1], w, None, stride, padding, dilation, groups)[0],
        rtol=1e-12,
    )


def check_conv2d_gradients(xs, ws, stride, padding, dilation, groups, device):
    """F.conv2d's gradients of random operands by central differences in float64."""
    gradcheck(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
        _rand(*xs),
        _rand(*ws),
        _rand(ws[0]),
        device=device,
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CONV2D_CASES)
def test_conv2d_matches_loops(xs, ws, stride, padding, dilation, groups, dtype, device):
    check_conv2d_matches_loops(xs, ws, stride, padding, dilation, groups, dtype, device)


@pytest.mark.parametrize(
    "xs,ws,stride,padding,dilation,groups", [CONV2D_CASES[1], CONV2D_CASES[3], CONV2D_CASES[2]]
)
def test_conv2d_gradients(xs, ws, stride, padding, dilation, groups, device):
    check_conv2d_gradients(xs, ws, stride, padding, dilation, groups, device)


# (input shape, weight shape, stride, padding, dilation, groups)
CONV1D_CASES = [
    ((2, 3, 9), (4, 3, 3), 1, 0, 1, 1),
    ((1, 4, 10), (2, 2, 4), 3, 2, 2, 2),
    ((2, 3, 7), (3, 1, 4), 1, "same", 1, 3),
    ((2, 2, 5), (3, 2, 2), (2,), "valid", (1,), 1),
    ((1, 2, 2), (3, 2, 5), 1, (2,), 1, 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CONV1D_CASES)
def test_conv1d_matches_loops(xs, ws, stride, padding, dilation, groups, dtype, device):
    x, w, b = _rand(*xs), _rand(*ws), _rand(ws[0])
    t = getattr(fg, dtype)
    got = F.conv1d(
        as_tensor(x, device).to(t),
        as_tensor(w, device).to(t),
        as_tensor(b, device).to(t),
        stride,
        padding,
        dilation,
        groups,
    )
    assert_close(
        to_numpy(got),
        np_conv1d(x, w, b, stride, padding, dilation, groups),
        rtol=_dtype_tolerance(dtype),
    )
    unbatched = F.conv1d(
        as_tensor(x[0], device), as_tensor(w, device), None, stride, padding, dilation, groups
    )
    assert_close(
        to_numpy(unbatched),
        np_conv1d(x[:1], w, None, stride, padding, dilation, groups)[0],
        rtol=1e-12,
    )


def test_conv1d_gradients(device):
    gradcheck(
        lambda x, w, b: F.conv1d(x, w, b, 2, "valid", 2, 2),
        _rand(2, 4, 9),
        _rand(4, 2, 3),
        _rand(4),
        device=device,
    )
    gradcheck(
        lambda x, w: F.conv1d(x, w, None, 1, "same", 1, 1),
        _rand(1, 2, 6),
        _rand(3, 2, 4),
        device=device,
    )


# (input shape, weight shape, stride, padding, output_padding, groups, dilation)
CONV_TRANSPOSE2D_CASES = [
    ((2, 3, 4, 5), (3, 2, 3, 3), 1, 0, 0, 1, 1),
    ((1, 4, 3, 4), (4, 3, 2, 3), (2, 3), (1, 0), (1, 2), 2, 1),
    ((2, 2, 3, 3), (2, 1, 3, 2), 2, 1, 0, 2, (2, 1)),  # depthwise
    ((1, 3, 2, 2), (3, 2, 1, 1), 3, 0, 2, 1, 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "xs,ws,stride,padding,output_padding,groups,dilation", CONV_TRANSPOSE2D_CASES
)
def test_conv_transpose2d_matches_loops(
    xs, ws, stride, padding, output_padding, groups, dilation, dtype, device
):
    x, w, b = _rand(*xs), _rand(*ws), _rand(ws[1] * groups)
    t = getattr(fg, dtype)
    got = F.conv_transpose2d(
        as_tensor(x, device).to(t),
        as_tensor(w, device).to(t),
        as_tensor(b, device).to(t),
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
    want = np_conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)
    assert_close(to_numpy(got), want, rtol=_dtype_tolerance(dtype))
    unbatched = F.conv_transpose2d(
        as_tensor(x[0], device),
        as_tensor(w, device),
        None,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
    assert_close(
        to_numpy(unbatched),
        np_conv_transpose2d(x[:1], w, None, stride, padding, output_padding, groups, dilation)[0],
        rtol=1e-12,
    )


def test_conv_transpose_gradients_and_1d(device):
    xs, ws, stride, padding, output_padding, groups, dilation = CONV_TRANSPOSE2D_CASES[1]
    gradcheck(
        lambda x, w, b: F.conv_transpose2d(
            x, w, b, stride, padding, output_padding, groups, dilation
        ),
        _rand(*xs),
        _rand(*ws),
        _rand(ws[1] * groups),
        device=device,
    )
    x, w, b = _rand(2, 4, 5), _rand(4, 1, 3), _rand(2)
    want = np_conv_transpose2d(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), (0, 1), 2, (1, 2))[
        :, :, 0
    ]
    got = F.conv_transpose1d(
        as_tensor(x, device), as_tensor(w, device), as_tensor(b, device), 2, 1, 1, 2, 2
    )
    assert_close(to_numpy(got), want, rtol=1e-12)
    gradcheck(lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1, 2, 2), x, w, b, device=device)


def test_conv_transpose_modules(device):
    conv = nn.ConvTranspose2d(
        4,
        6,
        (2, 3),
        stride=2,
        padding=1,
        output_padding=(1, 0),
        groups=2,
        dtype=fg.float64,
        device=device,
    )
    assert tuple(conv.weight.shape) == (4, 3, 2, 3)
    x = _rand(2, 4, 3, 4)
    want = np_conv_transpose2d(x, to_numpy(conv.weight), to_numpy(conv.bias), 2, 1, (1, 0), 2)
    assert_close(to_numpy(conv(as_tensor(x, device))), want, rtol=1e-12)
    sized = conv(as_tensor(x, device), output_size=(2, 6, 5, 8))
    assert_close(
        to_numpy(sized),
        np_conv_transpose2d(x, to_numpy(conv.weight), to_numpy(conv.bias), 2, 1, (1, 1), 2),
        rtol=1e-12,
    )
    assert repr(conv) == (
        "ConvTranspose2d(4, 6, kernel_size=(2, 3), stride=(2, 2), "
        "padding=(1, 1), output_padding=(1, 0), groups=2)"
    )
    conv1 = nn.ConvTranspose1d(3, 2, 4, stride=3, bias=False, dtype=fg.float64, device=device)
    x = _rand(3, 5)
    want = np_conv_transpose2d(x[None, :, None], to_numpy(conv1.weight)[:, :, None], None, (1, 3))[
        0, :, 0
    ]
    assert_close(to_numpy(conv1(as_tensor(x, device))), want, rtol=1e-12)


def test_conv_transpose_errors():
    x, w = fg.zeros(1, 4, 3, 3), fg.zeros(4, 2, 3, 3)
    with pytest.raises(ValueError, match=r"\[conv_transpose2d\] expected output_padding smaller"):
        F.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"\[conv_transpose2d\] expected input with 4 channels"):
        F.conv_transpose2d(fg.zeros(1, 3, 3, 3), w)
    with pytest.raises(ValueError, match=r"\[conv_transpose2d\] expected a positive output size"):
        F.conv_transpose2d(fg.zeros(1, 4, 1, 1), w, padding=2)
    with pytest.raises(ValueError, match=r"\[conv_transpose1d\] expected in_channels"):
        F.conv_transpose1d(fg.zeros(1, 4, 3), fg.zeros(4, 2, 3), groups=3)
    with pytest.raises(ValueError, match=r"\[ConvTranspose2d\] expected padding_mode 'zeros'"):
        nn.ConvTranspose2d(2, 2, 2, padding_mode="reflect")


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv2d_module_padding_modes(mode, padding, device):
    conv = nn.Conv2d(
        4, 6, (3, 2), padding=padding, groups=2, padding_mode=mode, dtype=fg.float64, device=device
    )
    x = _rand(2, 4, 5, 6)
    want = np_conv2d(x, to_numpy(conv.weight), to_numpy(conv.bias), 1, padding, 1, 2, mode)
    assert_close(to_numpy(conv(as_tensor(x, device))), want, rtol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "circular"])
def test_conv1d_module_padding_modes_and_gradients(mode, device):
    conv = nn.Conv1d(
        2, 3, 3, stride=2, padding=2, dilation=1, padding_mode=mode, dtype=fg.float64, device=device
    )
    x = _rand(2, 2, 7)
    want = np_conv1d(x, to_numpy(conv.weight), to_numpy(conv.bias), 2, 2, 1, 1, mode)
    assert_close(to_numpy(conv(as_tensor(x, device))), want, rtol=1e-12)
    unbatched = conv(as_tensor(x[1], device))
    assert_close(to_numpy(unbatched), want[1], rtol=1e-12)
    gradcheck(lambda t: conv(t), x, device=device)


def test_module_parameters_init_and_repr():
    fg.manual_seed(0)
    conv = nn.Conv2d(4, 8, 3, stride=(2, 1), groups=2)
    assert tuple(conv.weight.shape) == (8, 2, 3, 3) and tuple(conv.bias.shape) == (8,)
    assert conv.weight.dtype == fg.float32
    bound = 1 / math.sqrt(2 * 9)  # kaiming_uniform_(a=sqrt(5)) and the bias: 1/sqrt(fan_in)
    for p in (conv.weight, conv.bias):
        values = to_numpy(p)
        assert np.abs(values).max() <= bound and np.abs(values).max() > bound / 2
    assert [name for name, _ in conv.named_parameters()] == ["weight", "bias"]
    assert repr(conv) == "Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 1), groups=2)"
    assert repr(
        nn.Conv1d(2, 3, 5, padding="same", dilation=2, bias=False, padding_mode="reflect")
    ) == (
        "Conv1d(2, 3, kernel_size=(5,), stride=(1,), padding=same, dilation=(2,), bias=False, "
        "padding_mode=reflect)"
    )
    assert nn.Conv1d(2, 3, 2, dtype=fg.float64).weight.dtype == fg.float64
    assert nn.Conv2d(2, 3, 1, bias=False).bias is None


def test_module_trains_weight_and_bias():
    conv = nn.Conv2d(2, 3, 2, dtype=fg.float64)
    conv(as_tensor(_rand(2, 2, 4, 4), "cpu")).sum().backward()
    assert tuple(conv.weight.grad.shape) == (3, 2, 2, 2)
    assert_close(to_numpy(conv.bias.grad), np.full(3, 2 * 9.0), rtol=1e-12)


def test_empty_batch():
    out = F.conv2d(fg.zeros(0, 2, 4, 4), fg.ones(3, 2, 2, 2))
    assert tuple(out.shape) == (0, 3, 3, 3)
    out = F.conv_transpose2d(fg.zeros(0, 2, 4, 4), fg.ones(2, 3, 2, 2))
    assert tuple(out.shape) == (0, 3, 5, 5)


def _conv_error(message, *args, **kwargs):
    with pytest.raises(ValueError, match=message):
        F.conv2d(*args, **kwargs)


def test_errors_name_the_op():
    x, w = fg.zeros(1, 4, 5, 5), fg.zeros(6, 2, 3, 3)
    _conv_error(r"\[conv2d\] expected input of 3 or 4 dimensions", fg.zeros(4, 5), w)
    _conv_error(r"\[conv2d\] expected weight of 4 dimensions", x, fg.zeros(6, 2, 3))
    _conv_error(r"\[conv2d\] expected input with 2 channels", x, w)
    _conv_error(
        r"\[conv2d\] expected out_channels .* divisible by groups 4",
        x,
        fg.zeros(6, 1, 3, 3),
        groups=4,
    )
    _conv_error(r"\[conv2d\] expected a dilated kernel", x, w, groups=2, dilation=3)
    _conv_error(r"\[conv2d\] expected stride > 0", x, w, groups=2, stride=0)
    _conv_error(r"\[conv2d\] expected dilation > 0", x, w, groups=2, dilation=(1, -1))
    _conv_error(r"\[conv2d\] expected padding >= 0", x, w, groups=2, padding=-1)
    _conv_error(
        r"\[conv2d\] expected stride 1 with padding='same'",
        x,
        w,
        groups=2,
        stride=2,
        padding="same",
    )
    _conv_error(r"\[conv2d\] expected padding 'same', 'valid'", x, w, groups=2, padding="full")
    _conv_error(r"\[conv2d\] expected bias of shape \(6,\)", x, w, fg.zeros(3), groups=2)
    _conv_error(r"\[conv2d\] expected groups as a positive int", x, w, groups=0)
    with pytest.raises(TypeError, match=r"\[conv2d\] expected input and weight of one dtype"):
        F.conv2d(x, w.double(), groups=2)
    with pytest.raises(TypeError, match=r"\[conv2d\] expected a floating-point input"):
        F.conv2d(x.long(), w.long(), groups=2)
    with pytest.raises(TypeError, match=r"\[conv1d\] expected stride as an int or a tuple of 1"):
        F.conv1d(fg.zeros(1, 2, 5), fg.zeros(3, 2, 2), stride=(1, 1))
    with pytest.raises(ValueError, match=r"\[Conv2d\] expected in_channels divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match=r"\[Conv1d\] expected stride 1 with padding='same'"):
        nn.Conv1d(3, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"\[Conv2d\] expected padding_mode"):
        nn.Conv2d(3, 6, 3, padding_mode="mirror")


def test_unfold_fold_errors():
    with pytest.raises(ValueError, match=r"\[unfold\] expected input of shape"):
        F.unfold(fg.zeros(2, 3), 2)
    with pytest.raises(ValueError, match=r"\[unfold\] expected a dilated kernel"):
        F.unfold(fg.zeros(1, 1, 3, 3), 4)
    with pytest.raises(ValueError, match=r"\[unfold\] expected stride > 0"):
        F.unfold(fg.zeros(1, 1, 3, 3), 2, stride=0)
    with pytest.raises(ValueError, match=r"\[unfold\] expected padding >= 0"):
        F.unfold(fg.zeros(1, 1, 3, 3), 2, padding=(0, -1))
    with pytest.raises(TypeError, match=r"\[unfold\] expected kernel_size as an int or a pair"):
        F.unfold(fg.zeros(1, 1, 3, 3), (1, 2, 3))
    with pytest.raises(ValueError, match=r"\[fold\] expected input.size\(1\) divisible"):
        F.fold(fg.zeros(1, 5, 4), (3, 3), 2)
    with pytest.raises(ValueError, match=r"\[fold\] expected input.size\(2\) to be the 4"):
        F.fold(fg.zeros(1, 4, 5), (3, 3), 2)
    with pytest.raises(ValueError, match=r"\[fold\] expected input of shape"):
        F.fold(fg.zeros(4), (3, 3), 2)
