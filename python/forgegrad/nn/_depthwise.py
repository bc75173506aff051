"""Depthwise convolution (groups == in_channels, out_channels = multiplier x in_channels) on
its direct kernel (csrc/ops/depthwise.cpp), the branch F.conv1d and F.conv2d take for it
(nn/_conv.py): a few multiply-adds per pixel, too few for im2col and a matmul to pay."""

from .. import _C

_KERNEL_DTYPES = (_C.dtype.float32, _C.dtype.float64)


def is_depthwise(x, groups):
    """x (N, C, *spatial) convolved with groups == C > 1 in a dtype the kernel takes. A single
    channel (groups == C == 1) is an ordinary convolution, which the GEMM runs faster."""
    return groups == x.shape[1] > 1 and x.dtype in _KERNEL_DTYPES


def depthwise_convolution(op, x, weight, bias, stride, sides, dilation, dims):
    """x (N, C, *spatial) padded by sides' (before, before) pairs, weight (C m, 1, *kernel),
    bias (C m) or None -> (N, C m, *out); conv1d as conv2d of height 1."""
    if dims == 1:
        x, weight = x.unsqueeze(2), weight.unsqueeze(2)
        stride, dilation, sides = (1,) + stride, (1,) + dilation, ((0, 0),) + tuple(sides)
    out = _C._depthwise_conv2d(
        x, weight, bias, list(stride), [before for before, _ in sides], list(dilation), op
    )
    return out if dims == 2 else out.squeeze(2)
