"""conv2d's fused op (csrc/ops/conv.cpp: the CPU GEMM on im2col tiles, the CUDA implicit
GEMMs) against test_conv's float64 direct loops: 1x1 kernels with and without im2col, strides,
dilations, paddings, groups, batch 1, odd sizes, more output channels than a GPU tile, images
larger than a CPU tile (several tiles, the batch split among threads); every element of the
three gradients against the loops run backward (the CUDA input gradient's stride classes, the
weight gradient's slices of the batch's pixels), float64 gradients by finite differences,
gradients of only what requires them, and bit-for-bit repeatable sums."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F
from helpers import as_tensor, assert_close, gradcheck, to_numpy
from test_conv import (
    _pair,
    check_conv2d_gradients,
    check_conv2d_matches_loops,
    np_conv1d,
    np_conv2d,
)

RNG = np.random.default_rng(1515)


def _rand(*shape):
    return RNG.uniform(-1.0, 1.0, size=shape)


# (input shape, weight shape, stride, padding, dilation, groups)
GEMM_CASES = [
    ((2, 5, 4, 3), (7, 5, 1, 1), 1, 0, 1, 1),  # 1x1 stride 1: the image is the columns
    ((1, 6, 3, 5), (4, 3, 1, 1), 1, 0, 1, 2),  # the same, grouped
    ((2, 3, 5, 6), (4, 3, 1, 1), 2, 0, 1, 1),  # 1x1 strided: im2col
    ((1, 2, 3, 3), (3, 2, 1, 1), 1, 1, 1, 1),  # 1x1 padded: im2col
    ((3, 4, 9, 7), (6, 2, 3, 2), (2, 3), (2, 1), (2, 1), 2),
    ((1, 8, 6, 6), (4, 2, 3, 3), 1, 1, 1, 4),  # groups of two channels each
    ((1, 3, 5, 4), (70, 3, 3, 3), 1, 1, 1, 1),  # more output channels than a GPU tile
    ((2, 1, 11, 13), (3, 1, 5, 5), 1, 2, 1, 1),  # LeNet's first layer, odd sizes
]


# (input shape, weight shape, stride, padding, dilation, groups): the edges of the backward's
# GEMMs. A CUDA input gradient runs per class of pixels (h % stride_h, w % stride_w) over the
# taps that reach it; the weight gradient cuts the N P Q pixels into slices.
BACKWARD_CASES = [
    ((2, 6, 11, 10), (9, 2, 3, 3), 2, (2, 1), 2, 3),  # classes of h + 2 odd: no tap reaches
    ((2, 3, 8, 7), (4, 3, 1, 1), (2, 3), 0, 1, 1),  # 1x1 strided: most pixels get zeros
    ((1, 5, 10, 9), (3, 5, 2, 2), (3, 2), (0, 1), 1, 1),  # a kernel shorter than its stride
    ((1, 70, 6, 5), (8, 70, 3, 3), 1, 1, 1, 1),  # more input channels than a GPU tile
    ((1, 3, 5, 4), (70, 3, 3, 3), 1, 1, 1, 1),  # more output channels than a GPU tile
    ((2, 4, 23, 23), (4, 2, 3, 3), 1, 1, 1, 2),  # 1058 pixels: four slices of the depth
    ((2, 5, 4, 3), (7, 5, 1, 1), 1, 0, 1, 1),  # the image is the columns
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", GEMM_CASES)
def test_conv2d_gemm_matches_loops(xs, ws, stride, padding, dilation, groups, dtype, device):
    check_conv2d_matches_loops(xs, ws, stride, padding, dilation, groups, dtype, device)


@pytest.mark.parametrize(
    "xs,ws,stride,padding,dilation,groups",
    [
        GEMM_CASES[1],
        GEMM_CASES[3],
        GEMM_CASES[4],
        GEMM_CASES[5],
        BACKWARD_CASES[0],
        BACKWARD_CASES[1],
        BACKWARD_CASES[2],
    ],
)
def test_conv2d_gemm_gradients(xs, ws, stride, padding, dilation, groups, device):
    check_conv2d_gradients(xs, ws, stride, padding, dilation, groups, device)


def np_conv2d_gradients(x, w, dy, stride, padding, dilation, groups):
    """np_conv2d's loops run backward (integer padding): each output position's taps add its
    share of dy to the padded input's and the weight's gradients. -> dx, dw, db"""
    (sh, sw), (ph, pw), (dh, dv) = map(_pair, (stride, padding, dilation))
    n, o, cg = x.shape[0], w.shape[0], w.shape[1]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(dy.shape[2]):
        for j in range(dy.shape[3]):
            g = dy[:, :, i, j].reshape(n, groups, o // groups)
            for p in range(w.shape[2]):
                for q in range(w.shape[3]):
                    h, v = i * sh + p * dh, j * sw + q * dv
                    taps = w[:, :, p, q].reshape(groups, o // groups, cg)
                    pixels = xp[:, :, h, v].reshape(n, groups, cg)
                    dxp[:, :, h, v] += np.einsum("ngo,goc->ngc", g, taps).reshape(n, -1)
                    dw[:, :, p, q] += np.einsum("ngo,ngc->goc", g, pixels).reshape(o, cg)
    return dxp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]], dw, dy.sum(axis=(0, 2, 3))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", BACKWARD_CASES)
def test_conv2d_backward_matches_loops(xs, ws, stride, padding, dilation, groups, dtype, device):
    x, w, b = _rand(*xs), _rand(*ws), _rand(ws[0])
    t = getattr(fg, dtype)
    leaves = [as_tensor(a.astype(dtype), device, requires_grad=True) for a in (x, w, b)]
    y = F.conv2d(*leaves, stride, padding, dilation, groups)
    dy = _rand(*y.shape)
    y.backward(as_tensor(dy, device).to(t))
    want = np_conv2d_gradients(x, w, dy, stride, padding, dilation, groups)
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    for leaf, reference, name in zip(leaves, want, ("input", "weight", "bias")):
        assert leaf.grad.dtype == t
        assert_close(
            to_numpy(leaf.grad), reference, rtol=tolerance, atol=tolerance, what=f"{name} gradient"
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_over_several_cpu_tiles(dtype):
    # 576 column rows of 21 positions: 10 output rows a tile in float32, 5 in float64; two
    # images of 3.9M multiply-adds each, one a thread where there are two
    x, w, b = _rand(2, 64, 20, 21), _rand(16, 64, 3, 3) / 8, _rand(16)
    t = getattr(fg, dtype)
    got = F.conv2d(*[as_tensor(a, "cpu").to(t) for a in (x, w, b)], 1, 1)
    assert_close(
        to_numpy(got), np_conv2d(x, w, b, 1, 1), rtol=1e-12 if dtype == "float64" else 1e-4
    )


def test_conv2d_gradients_over_several_cpu_tiles():
    gradcheck(
        lambda x, w, b: F.conv2d(x, w, b, (1, 2), 1, (2, 1)),
        _rand(2, 64, 20, 21),
        _rand(8, 64, 3, 3) / 8,
        _rand(8),
        max_checks=20,
    )


# Stride 1: the CPU computes the input gradient as a convolution of dy by the flipped,
# transposed weights, with padding dilation (k - 1) - padding; the last case pads past that
# reach and takes col2im instead. (input shape, weight shape, stride, padding, dilation, groups)
STRIDE_ONE_CASES = [
    ((2, 4, 7, 9), (6, 4, 3, 3), 1, 1, 1, 1),  # a ResNet 3x3, odd sizes
    ((1, 6, 8, 5), (6, 2, 3, 2), 1, (2, 1), (2, 3), 3),  # dilated, grouped, uneven padding
    ((2, 3, 5, 5), (2, 3, 3, 3), 1, 0, 1, 1),  # no padding: dx pads by the full reach
    ((1, 2, 4, 6), (3, 2, 2, 3), 1, (1, 2), 1, 1),  # padding equal to the reach
    ((1, 2, 4, 4), (3, 2, 3, 3), 1, 3, 1, 1),  # padding past the reach: col2im
]


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", STRIDE_ONE_CASES)
def test_conv2d_stride_one_gradients(xs, ws, stride, padding, dilation, groups, device):
    check_conv2d_gradients(xs, ws, stride, padding, dilation, groups, device)


def _gradients_3x3_padding_1(x, w, dy):
    """dx and dw of conv2d(x, w, padding=1) for the output gradient dy, by shifted sums:
    dx[n, c, h, v] = sum over o, i, j of dy[n, o, h + 1 - i, v + 1 - j] w[o, c, i, j] and
    dw[o, c, i, j] = sum over n, h, v of dy[n, o, h, v] x[n, c, h + i - 1, v + j - 1]."""
    padded_dy = np.pad(dy, ((0, 0), (0, 0), (1, 1), (1, 1)))
    padded_x = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    height, width = dy.shape[2:]
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for i in range(3):
        for j in range(3):
            shifted = padded_dy[:, :, 2 - i : 2 - i + height, 2 - j : 2 - j + width]
            dx += np.einsum("nohw,oc->nchw", shifted, w[:, :, i, j])
            taps = padded_x[:, :, i : i + height, j : j + width]
            dw[:, :, i, j] = np.einsum("nohw,nchw->oc", dy, taps)
    return dx, dw


# (batch, in channels, out channels, height, width): rows of 21 take the columns matrix (two
# whole images a tile in float32); rows of 16 are whole GEMM panels (AVX2: 16 floats or two
# panels of 8 doubles) copied from a padded image, 288 column rows in two depth blocks,
# an image in two tiles of rows, and dweight's panels transposed from it
SEVERAL_TILES = [(5, 64, 40, 20, 21), (2, 32, 8, 32, 16)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n,c,o,h,w", SEVERAL_TILES)
def test_stride_one_over_several_cpu_tiles(n, c, o, h, w, dtype):
    x, weight, b = _rand(n, c, h, w), _rand(o, c, 3, 3) / 8, _rand(o)
    dy = _rand(n, o, h, w)
    t = getattr(fg, dtype)
    xt, wt = (as_tensor(a, "cpu").to(t).requires_grad_() for a in (x, weight))
    y = F.conv2d(xt, wt, as_tensor(b, "cpu").to(t), 1, 1)
    y.backward(as_tensor(dy, "cpu").to(t))
    rtol = 1e-12 if dtype == "float64" else 1e-4
    assert_close(to_numpy(y), np_conv2d(x, weight, b, 1, 1), rtol=rtol)
    dx, dw = _gradients_3x3_padding_1(x, weight, dy)
    assert_close(to_numpy(xt.grad), dx, rtol=rtol)
    assert_close(to_numpy(wt.grad), dw, rtol=rtol)


# Rows of 16 output positions (whole GEMM panels: the padded-image path) with strides,
# dilations, groups and uneven padding. (input shape, weight shape, stride, padding,
# dilation, groups)
PANEL_CASES = [
    ((2, 8, 5, 16), (6, 4, 3, 3), (2, 1), (1, 2), (1, 2), 2),
    ((1, 4, 3, 16), (4, 2, 3, 3), 1, 1, 1, 2),  # dx a convolution on panels too
    ((1, 3, 4, 18), (5, 3, 2, 3), 1, 0, 1, 1),  # no padding
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", PANEL_CASES)
def test_conv2d_panels_match_loops(xs, ws, stride, padding, dilation, groups, dtype):
    check_conv2d_matches_loops(xs, ws, stride, padding, dilation, groups, dtype, "cpu")


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", PANEL_CASES)
def test_conv2d_panels_gradients(xs, ws, stride, padding, dilation, groups):
    check_conv2d_gradients(xs, ws, stride, padding, dilation, groups, "cpu")


def test_conv1d_runs_on_the_fused_op(device):
    x, w = _rand(2, 3, 11), _rand(4, 3, 3)
    got = F.conv1d(as_tensor(x, device), as_tensor(w, device), None, 2, 1, 2)
    assert_close(to_numpy(got), np_conv1d(x, w, None, 2, 1, 2), rtol=1e-12)


def test_gradients_of_only_what_requires_them(device):
    x, w, b = _rand(2, 4, 6, 5), _rand(6, 2, 3, 3), _rand(6)
    full = [as_tensor(a, device, requires_grad=True) for a in (x, w, b)]
    F.conv2d(*full, 1, 1, 1, 2).sum().backward()
    weight_only = as_tensor(w, device, requires_grad=True)
    F.conv2d(as_tensor(x, device), weight_only, as_tensor(b, device), 1, 1, 1, 2).sum().backward()
    assert_close(to_numpy(weight_only.grad), to_numpy(full[1].grad), rtol=1e-12)
    input_only = as_tensor(x, device, requires_grad=True)
    F.conv2d(input_only, as_tensor(w, device), None, 1, 1, 1, 2).sum().backward()
    assert_close(to_numpy(input_only.grad), to_numpy(full[0].grad), rtol=1e-12)


def test_backward_sums_repeat_bit_for_bit(device):
    # on CUDA: 1152 pixels, the weight's gradient in four slices added in order
    x = as_tensor(_rand(8, 16, 12, 12).astype(np.float32), device, requires_grad=True)
    w = as_tensor(_rand(32, 16, 3, 3).astype(np.float32), device, requires_grad=True)
    b = as_tensor(_rand(32).astype(np.float32), device, requires_grad=True)
    grads = []
    for _ in range(2):
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, 1, 1).sum().backward()
        grads.append([to_numpy(t.grad) for t in (x, w, b)])
    assert all(np.array_equal(a, b) for a, b in zip(*grads))


def test_empty_batch_gradients():
    x = fg.zeros(0, 2, 4, 4, requires_grad=True)
    w, b = fg.ones(3, 2, 2, 2, requires_grad=True), fg.ones(3, requires_grad=True)
    F.conv2d(x, w, b).sum().backward()
    assert tuple(x.grad.shape) == (0, 2, 4, 4)
    assert np.array_equal(to_numpy(w.grad), np.zeros((3, 2, 2, 2)))
    assert np.array_equal(to_numpy(b.grad), np.zeros(3))
