"""F.conv_transpose1d and F.conv_transpose2d (the gradient of conv w.r.t. its input, as a
layer), composed of the op table's ops: one batched matmul per group spreads each input
pixel over the kernel's taps, and col2im (F.fold) sums the taps into the output.
conv_transpose1d is conv_transpose2d on a height-1 view."""

from __future__ import annotations

from typing import TYPE_CHECKING
import math

from .. import _C, _errors
from ._conv import add_bias, check_operands, int_tuple, positive_ints

if TYPE_CHECKING:
    from .._C import Tensor

    from ._pooling import _Size


def _conv_transpose(
    op, input, weight, bias, stride, padding, output_padding, groups, dilation, dims
):
    """input (N, C, *spatial) or (C, *spatial), weight (C, O / groups, *kernel)."""
    x = check_operands(op, input, weight, groups, dims)
    batched = x is input
    stride = positive_ints(op, "stride", stride, dims)
    dilation = positive_ints(op, "dilation", dilation, dims)
    padding = int_tuple(op, "padding", padding, dims)
    output_padding = int_tuple(op, "output_padding", output_padding, dims)
    if any(p < 0 for p in padding + output_padding):
        raise _errors.ValueError(
            f"[{op}] expected padding and output_padding >= 0, got {padding} and {output_padding}"
        )
    # fold puts exactly one kernel position on each input pixel only below the stride
    if any(p >= s for p, s in zip(output_padding, stride)):
        raise _errors.ValueError(
            f"[{op}] expected output_padding smaller than stride {stride}, got {output_padding}"
        )
    channels, kernel_size = weight.shape[0], weight.shape[2:]
    if channels % groups:
        raise _errors.ValueError(
            f"[{op}] expected in_channels (weight.shape[0]) divisible by groups {groups}, got "
            f"{channels}"
        )
    if x.shape[1] != channels:
        raise _errors.ValueError(
            f"[{op}] expected input with {channels} channels (weight.shape[0]), got "
            f"{x.shape[1]} in input of shape {tuple(input.shape)}"
        )
    spatial = x.shape[2:]
    output_size = [
        (size - 1) * s - 2 * p + d * (k - 1) + extra + 1
        for size, s, p, d, k, extra in zip(
            spatial, stride, padding, dilation, kernel_size, output_padding
        )
    ]
    if any(size <= 0 for size in output_size):
        raise _errors.ValueError(
            f"[{op}] expected a positive output size, got {tuple(output_size)} from input of "
            f"spatial size {tuple(spatial)}, kernel_size {tuple(kernel_size)}, stride {stride}, "
            f"padding {padding}, dilation {dilation} and output_padding {output_padding}"
        )
    n = x.shape[0]
    # (groups, O / groups kh kw, C / groups) @ (N, groups, C / groups, H W): each input
    # pixel's contribution to every tap, as the columns of fold
    taps = weight.reshape(groups, channels // groups, -1).transpose(1, 2)
    pixels = math.prod(spatial)  # spelled out: a reshape of no elements cannot infer -1
    columns = taps @ x.reshape(n, groups, channels // groups, pixels)
    columns = columns.reshape(n, columns.shape[1] * columns.shape[2], pixels)
    if dims == 1:  # as conv_transpose2d of height 1
        kernel_size, output_size = (1,) + tuple(kernel_size), [1] + output_size
        stride, padding, dilation = (1,) + stride, (0,) + padding, (1,) + dilation
    out = _C._col2im(
        columns, list(output_size), list(kernel_size), list(dilation), list(padding), list(stride)
    )
    out = add_bias(op, out if dims == 2 else out.squeeze(2), bias, dims)
    return out if batched else out.squeeze(0)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _Size = 1,
    padding: _Size = 0,
    output_padding: _Size = 0,
    groups: int = 1,
    dilation: _Size = 1,
) -> Tensor:
    """input (N, C, L) or (C, L), weight (C, O / groups, k) -> (N, O, L_out) or (O, L_out)"""
    return _conv_transpose(
        "conv_transpose1d",
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        1,
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _Size = 1,
    padding: _Size = 0,
    output_padding: _Size = 0,
    groups: int = 1,
    dilation: _Size = 1,
) -> Tensor:
    """input (N, C, H, W) or (C, H, W), weight (C, O / groups, kh, kw) -> (N, O, H_out, W_out)
    or (O, H_out, W_out)"""
    return _conv_transpose(
        "conv_transpose2d",
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        2,
    )
