"""F.conv1d, F.conv2d and F.conv3d: PyTorch's arguments parsed and checked here, the
convolution one C++ op with its own backward (_C._conv2d: csrc/ops/conv.cpp, on the GEMM on
the CPU and an implicit GEMM on CUDA). conv1d is conv2d on a height-1 view; conv3d a sum of
conv2d over the kernel's depth taps."""

from __future__ import annotations

from typing import TYPE_CHECKING
from .. import _C, _errors
from .._checks import check_tensor, is_int
from ._depthwise import depthwise_convolution, is_depthwise
from ._padding import pad

if TYPE_CHECKING:
    from .._C import Tensor

    from ._pooling import _Size

_PADDING_STRINGS = ("same", "valid")


def int_tuple(op, name, value, dims):
    """value as a tuple of dims ints: an int repeated, or a tuple or list of dims."""
    if is_int(value):
        return (int(value),) * dims
    if isinstance(value, (tuple, list)) and len(value) == dims and all(is_int(v) for v in value):
        return tuple(int(v) for v in value)
    raise _errors.TypeError(
        f"[{op}] expected {name} as an int or a tuple of {dims} ints, got {value!r}"
    )


def padding_sides(op, padding, kernel_size, stride, dilation):
    """The (before, after) padding of each spatial dimension: 'valid' none, 'same' the
    input's size kept (stride 1 only; an odd total puts the extra one after, as PyTorch),
    ints the same on both sides."""
    dims = len(kernel_size)
    if isinstance(padding, str):
        if padding not in _PADDING_STRINGS:
            raise _errors.ValueError(
                f"[{op}] expected padding 'same', 'valid', an int or a tuple of ints, "
                f"got {padding!r}"
            )
        if padding == "valid":
            return ((0, 0),) * dims
        if any(s != 1 for s in stride):
            raise _errors.ValueError(
                f"[{op}] expected stride 1 with padding='same', got stride {stride}"
            )
        totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    padding = int_tuple(op, "padding", padding, dims)
    if any(p < 0 for p in padding):
        raise _errors.ValueError(f"[{op}] expected padding >= 0, got {padding}")
    return tuple((p, p) for p in padding)


def positive_ints(op, name, value, dims):
    """value as a tuple of dims positive ints (stride, dilation, kernel_size)."""
    value = int_tuple(op, name, value, dims)
    if any(v <= 0 for v in value):
        raise _errors.ValueError(f"[{op}] expected {name} > 0, got {value}")
    return value


def check_operands(op, input, weight, groups, dims):
    """The checks conv and conv_transpose share: input (N, C, *spatial) or (C, *spatial),
    weight of dims + 2 dimensions, one dtype, groups a positive int. Returns the input
    batched."""
    check_tensor(input, op)
    check_tensor(weight, op)
    if input.ndim not in (dims + 1, dims + 2):
        raise _errors.ValueError(
            f"[{op}] expected input of {dims + 1} or {dims + 2} dimensions (unbatched or "
            f"batched), got {input.ndim}-d input of shape {tuple(input.shape)}"
        )
    if weight.ndim != dims + 2:
        raise _errors.ValueError(
            f"[{op}] expected weight of {dims + 2} dimensions (channels, channels / groups, "
            f"*kernel_size), got shape {tuple(weight.shape)}"
        )
    if input.dtype != weight.dtype:
        raise _errors.TypeError(
            f"[{op}] expected input and weight of one dtype, got {input.dtype} and {weight.dtype}"
        )
    if not input.is_floating_point():
        raise _errors.TypeError(f"[{op}] expected a floating-point input, got {input.dtype}")
    if not is_int(groups) or groups <= 0:
        raise _errors.ValueError(f"[{op}] expected groups as a positive int, got {groups!r}")
    return input if input.ndim == dims + 2 else input.unsqueeze(0)


def check_bias(op, bias, channels):
    """bias None or a tensor of shape (channels,)."""
    if bias is None:
        return
    check_tensor(bias, op)
    if tuple(bias.shape) != (channels,):
        raise _errors.ValueError(
            f"[{op}] expected bias of shape ({channels},), got {tuple(bias.shape)}"
        )


def add_bias(op, out, bias, dims):
    """out (N, O, *spatial) + bias (O) or None along the channels."""
    check_bias(op, bias, out.shape[1])
    return out if bias is None else out + bias.reshape(out.shape[1], *([1] * dims))


def _convolution(op, input, weight, bias, stride, padding, dilation, groups, dims):
    """conv{dims}d: input (N, C, *spatial) or (C, *spatial), weight (O, C / groups, *kernel)."""
    x = check_operands(op, input, weight, groups, dims)
    batched = x is input
    stride = positive_ints(op, "stride", stride, dims)
    dilation = positive_ints(op, "dilation", dilation, dims)
    out_channels, group_channels, kernel_size = weight.shape[0], weight.shape[1], weight.shape[2:]
    channels = x.shape[1]
    if out_channels % groups:
        raise _errors.ValueError(
            f"[{op}] expected out_channels (weight.shape[0]) divisible by groups {groups}, "
            f"got {out_channels}"
        )
    if channels != group_channels * groups:
        raise _errors.ValueError(
            f"[{op}] expected input with {group_channels * groups} channels (weight.shape[1] "
            f"{group_channels} x groups {groups}), got {channels} in input of shape "
            f"{tuple(input.shape)}"
        )
    sides = padding_sides(op, padding, kernel_size, stride, dilation)
    spatial = x.shape[2:]
    for size, (before, after), k, d in zip(spatial, sides, kernel_size, dilation):
        if d * (k - 1) + 1 > size + before + after:
            raise _errors.ValueError(
                f"[{op}] expected a dilated kernel of at most the padded input's size, got "
                f"kernel_size {tuple(kernel_size)} with dilation {dilation} on input of "
                f"spatial size {tuple(spatial)} padded by {sides}"
            )
    if any(after != before for before, after in sides):  # 'same' with an odd total
        x = pad(x, [v for before, after in reversed(sides) for v in (0, after - before)])
        sides = tuple((before, before) for before, _ in sides)
    if dims == 3:
        out = add_bias(
            op, _conv3d_by_depth_taps(x, weight, stride, sides, dilation, groups), bias, 3
        )
        return out if batched else out.squeeze(0)
    if is_depthwise(x, groups):  # a direct kernel, no im2col (nn/_depthwise.py)
        out = depthwise_convolution(op, x, weight, bias, stride, sides, dilation, dims)
        return out if batched else out.squeeze(0)
    if dims == 1:  # as conv2d of height 1
        x, weight = x.unsqueeze(2), weight.unsqueeze(2)
        stride, dilation = (1,) + stride, (1,) + dilation
        sides = ((0, 0),) + sides
    check_bias(op, bias, out_channels)
    out = _C._conv2d(
        x, weight, bias, list(stride), [before for before, _ in sides], list(dilation), groups
    )
    if dims == 1:
        out = out.squeeze(2)
    return out if batched else out.squeeze(0)


def _conv3d_by_depth_taps(x, weight, stride, sides, dilation, groups):
    """x (N, C, D, H, W) with weight (O, C / groups, kd, kh, kw), without bias: for each depth
    tap, one conv2d of the input planes that tap meets (all output depths as one batch) with
    that tap's (kh, kw) kernels, and the taps' results summed."""
    (depth_pad, _), plane_sides = sides[0], sides[1:]
    if depth_pad:
        x = pad(x, [0, 0, 0, 0, depth_pad, depth_pad])
    n, channels, depth, *plane = x.shape
    taps, step, spacing = weight.shape[2], stride[0], dilation[0]
    out_depth = (depth - spacing * (taps - 1) - 1) // step + 1
    out = None
    for tap in range(taps):
        first = tap * spacing
        planes = x[:, :, first : first + (out_depth - 1) * step + 1 : step]  # (N, C, D_out, H, W)
        planes = planes.transpose(1, 2).reshape(n * out_depth, channels, *plane)
        part = _C._conv2d(
            planes,
            weight[:, :, tap].contiguous(),
            None,
            list(stride[1:]),
            [before for before, _ in plane_sides],
            list(dilation[1:]),
            groups,
        )
        out = part if out is None else out + part
    return out.reshape(n, out_depth, *out.shape[1:]).transpose(1, 2)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _Size = 1,
    padding: _Size | str = 0,
    dilation: _Size = 1,
    groups: int = 1,
) -> Tensor:
    """input (N, C, L) or (C, L), weight (O, C / groups, k) -> (N, O, L_out) or (O, L_out)"""
    return _convolution("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _Size = 1,
    padding: _Size | str = 0,
    dilation: _Size = 1,
    groups: int = 1,
) -> Tensor:
    """input (N, C, H, W) or (C, H, W), weight (O, C / groups, kh, kw) -> (N, O, H_out,
    W_out) or (O, H_out, W_out)"""
    return _convolution("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _Size = 1,
    padding: _Size | str = 0,
    dilation: _Size = 1,
    groups: int = 1,
) -> Tensor:
    """input (N, C, D, H, W) or (C, D, H, W), weight (O, C / groups, kd, kh, kw) -> (N, O,
    D_out, H_out, W_out) or (O, D_out, H_out, W_out)"""
    return _convolution("conv3d", input, weight, bias, stride, padding, dilation, groups, 3)
