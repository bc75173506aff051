"""Depthwise conv2d (groups == in_channels, out_channels = multiplier x in_channels), which
F.conv2d and F.conv1d run on the direct kernels of csrc/cpu/depthwise.cpp and
csrc/cuda/depthwise.cu: forward against a float64 numpy reference written with direct loops
over output positions and kernel taps, across strides, paddings ('same' with odd totals,
'valid', ints, pairs), dilations, multipliers 1 and 2, odd sizes, batch 1, 1x1 kernels and
kernels larger than the input made to fit by padding; float64 gradients by finite
differences; the errors of the kernel's own entry point."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import _C, nn
from helpers import as_tensor, assert_close, gradcheck, to_numpy

RNG = np.random.default_rng(16)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _sides(padding, kernel, dilation):
    """(before, after) per spatial axis; 'same' puts an odd total's extra one after."""
    if padding == "valid":
        return [(0, 0), (0, 0)]
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [(t // 2, t - t // 2) for t in totals]
    return [(p, p) for p in _pair(padding)]


def np_depthwise_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """x (N, C, H, W), w (C m, 1, kh, kw): output channel o reads input channel o // m;
    each output pixel the sum over its taps that land inside the image."""
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    n, c, height, width = x.shape
    out_channels, _, kh, kw = w.shape
    multiplier = out_channels // c
    (top, bottom), (left, right) = _sides(padding, (kh, kw), (dh, dw))
    oh = (height + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (width + left + right - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, out_channels, oh, ow))
    for o in range(out_channels):
        for i in range(oh):
            for j in range(ow):
                for p in range(kh):
                    for q in range(kw):
                        h, v = i * sh - top + p * dh, j * sw - left + q * dw
                        if 0 <= h < height and 0 <= v < width:
                            out[:, o, i, j] += w[o, 0, p, q] * x[:, o // multiplier, h, v]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def _rand(*shape):
    return RNG.uniform(-1.0, 1.0, size=shape)


# (input shape, multiplier, kernel_size, stride, padding, dilation)
CASES = [
    ((2, 3, 7, 6), 1, 3, 1, 1, 1),
    ((1, 4, 8, 5), 2, (3, 2), (2, 1), (1, 2), (1, 2)),
    ((2, 3, 5, 6), 2, 3, 1, "same", 1),
    ((1, 2, 6, 7), 1, (2, 4), 1, "same", (2, 1)),  # odd totals: the extra one after
    ((2, 2, 5, 5), 1, (2, 3), 2, "valid", 1),
    ((1, 3, 4, 4), 2, 1, 1, 0, 1),  # 1x1
    ((2, 2, 2, 3), 1, (4, 5), 1, 2, 1),  # kernel larger than the input
    ((1, 2, 9, 7), 2, 3, 3, 1, 2),
    ((3, 1, 11, 13), 1, 5, (1, 2), (2, 0), 1),  # one channel, wide odd rows
]


def _weight_shape(x_shape, multiplier, kernel):
    return (x_shape[1] * multiplier, 1, *_pair(kernel))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,multiplier,kernel,stride,padding,dilation", CASES)
def test_depthwise_matches_loops(xs, multiplier, kernel, stride, padding, dilation, dtype, device):
    ws = _weight_shape(xs, multiplier, kernel)
    x, w, b = _rand(*xs), _rand(*ws), _rand(ws[0])
    t = getattr(fg, dtype)
    got = F.conv2d(
        as_tensor(x, device).to(t),
        as_tensor(w, device).to(t),
        as_tensor(b, device).to(t),
        stride,
        padding,
        dilation,
        groups=xs[1],
    )
    assert got.dtype == t
    want = np_depthwise_conv2d(x, w, b, stride, padding, dilation)
    assert_close(to_numpy(got), want, rtol=1e-12 if dtype == "float64" else 2e-5)
    unbatched = F.conv2d(
        as_tensor(x[0], device), as_tensor(w, device), None, stride, padding, dilation, groups=xs[1]
    )
    assert_close(
        to_numpy(unbatched),
        np_depthwise_conv2d(x[:1], w, None, stride, padding, dilation)[0],
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    "xs,multiplier,kernel,stride,padding,dilation",
    [CASES[1], CASES[2], CASES[3], CASES[6], CASES[7]],
)
def test_depthwise_gradients(xs, multiplier, kernel, stride, padding, dilation, device):
    ws = _weight_shape(xs, multiplier, kernel)
    gradcheck(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups=xs[1]),
        _rand(*xs),
        _rand(*ws),
        _rand(ws[0]),
        device=device,
    )


def test_depthwise_runs_the_direct_kernel(device):
    x = as_tensor(_rand(2, 4, 6, 6), device, requires_grad=True)
    w = as_tensor(_rand(8, 1, 3, 3), device, requires_grad=True)
    assert F.conv2d(x, w, padding=1, groups=4).grad_fn.name == "depthwise_conv2d"
    grouped = as_tensor(_rand(4, 2, 3, 3), device, requires_grad=True)
    assert F.conv2d(x, grouped, padding=1, groups=2).grad_fn.name != "depthwise_conv2d"
    single = as_tensor(_rand(2, 1, 6, 6), device, requires_grad=True)
    assert F.conv2d(single, w, padding=1).grad_fn.name != "depthwise_conv2d"


def test_gradient_of_the_weight_alone(device):
    """Only the weight requires grad (a first layer): the input's gradient is not needed."""
    x = _rand(2, 3, 6, 5)
    gradcheck(
        lambda w: F.conv2d(as_tensor(x, device), w, None, 2, "valid", 1, groups=3),
        _rand(6, 1, 2, 3),
        device=device,
    )
    w = as_tensor(_rand(3, 1, 3, 3), device)
    gradcheck(lambda x: F.conv2d(x, w, padding=1, groups=3), x, device=device)


def test_depthwise_conv1d_and_module(device):
    x, w, b = _rand(2, 3, 9), _rand(6, 1, 4), _rand(6)
    got = F.conv1d(
        as_tensor(x, device), as_tensor(w, device), as_tensor(b, device), 2, 1, 2, groups=3
    )
    want = np_depthwise_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), (1, 2))[:, :, 0]
    assert_close(to_numpy(got), want, rtol=1e-12)
    gradcheck(lambda x, w: F.conv1d(x, w, None, 1, "same", 1, groups=3), x, w, device=device)
    conv = nn.Conv2d(
        4, 8, 3, padding=1, groups=4, padding_mode="reflect", dtype=fg.float64, device=device
    )
    x = _rand(2, 4, 5, 6)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    want = np_depthwise_conv2d(padded, to_numpy(conv.weight), to_numpy(conv.bias))
    assert_close(to_numpy(conv(as_tensor(x, device))), want, rtol=1e-12)


def test_float32_sums_of_many_terms(device):
    """The weight's gradient sums batch x positions terms per tap (more than a GPU block has
    threads); float32 stays within a float32 rounding of the float64 result."""
    x, w, g = _rand(4, 2, 24, 20), _rand(2, 1, 3, 3), _rand(4, 2, 24, 20)
    xt = as_tensor(x, device).float().requires_grad_()
    wt = as_tensor(w, device).float().requires_grad_()
    F.conv2d(xt, wt, padding=1, groups=2).backward(as_tensor(g, device).float())
    x64 = as_tensor(x, device, requires_grad=True)
    w64 = as_tensor(w, device, requires_grad=True)
    F.conv2d(x64, w64, padding=1, groups=2).backward(as_tensor(g, device))
    assert_close(to_numpy(wt.grad), to_numpy(w64.grad), rtol=1e-5, atol=1e-4)
    assert_close(to_numpy(xt.grad), to_numpy(x64.grad), rtol=1e-5, atol=1e-5)


def test_empty_batch(device):
    x = fg.zeros(0, 2, 4, 4, device=device, requires_grad=True)
    w = fg.ones(4, 1, 2, 2, device=device, requires_grad=True)
    out = F.conv2d(x, w, groups=2)
    assert tuple(out.shape) == (0, 4, 3, 3)
    out.sum().backward()
    assert_close(to_numpy(w.grad), np.zeros((4, 1, 2, 2)))
    assert tuple(x.grad.shape) == (0, 2, 4, 4)


def test_errors_name_the_op():
    x, w = fg.zeros(1, 4, 5, 5), fg.zeros(8, 1, 3, 3)
    with pytest.raises(ValueError, match=r"\[conv2d\] expected bias of shape \(8,\)"):
        F.conv2d(x, w, fg.zeros(3), groups=4)
    with pytest.raises(
        ValueError,
        match=r"\[conv2d\] expected a depthwise weight of shape "
        r"\(multiplier x 4, 1, kh, kw\)",
    ):
        _C._depthwise_conv2d(x, fg.zeros(6, 1, 3, 3), None, [1, 1], [0, 0], [1, 1], "conv2d")
    with pytest.raises(ValueError, match=r"\[conv2d\] expected input of shape \(N, C, H, W\)"):
        _C._depthwise_conv2d(fg.zeros(4, 5, 5), w, None, [1, 1], [0, 0], [1, 1], "conv2d")
    with pytest.raises(TypeError, match=r"\[conv2d\] expected input and weight of one dtype"):
        _C._depthwise_conv2d(x, w.double(), None, [1, 1], [0, 0], [1, 1], "conv2d")
    with pytest.raises(ValueError, match=r"\[conv2d\] expected stride > 0"):
        _C._depthwise_conv2d(x, w, None, [0, 1], [0, 0], [1, 1], "conv2d")
    with pytest.raises(ValueError, match=r"\[conv2d\] expected a dilated kernel"):
        _C._depthwise_conv2d(x, w, None, [1, 1], [0, 0], [3, 3], "conv2d")
