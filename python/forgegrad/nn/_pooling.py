"""The pooling functions of torch.nn.functional: max, average, power-average (lp) and adaptive
pooling in 1-d and 2-d, and max_unpool2d. Each lowers its input onto the op table's
(N, C, H, W) pooling ops (csrc/ops/pool.cpp): unbatched input gets a batch of one, 1-d input
a height of one, and sizes become (h, w) pairs. max_unpool2d is a scatter into zeros, so its
gradient is a gather."""

from __future__ import annotations

from collections.abc import Sequence
import math
from .. import _C, _errors
from .._C import Tensor
from .._checks import is_int, is_real

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "lp_pool1d",
    "lp_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "max_unpool2d",
]

# A window's size: one int for every dimension, or one per dimension.
_Size = int | tuple[int, ...]
# An adaptive pool's output size: None keeps the input's size along that dimension.
_OutputSize = int | None | tuple[int | None, ...]
# A max pool's result: the maxima, or (maxima, their indices) with return_indices.
_MaxResult = Tensor | tuple[Tensor, Tensor]


def _sizes(value, what, op, dims, allow_none: bool = False):
    """An int, or a tuple of one or `dims` ints (None too where allow_none), as `dims` ints."""
    if is_int(value) or (allow_none and value is None):
        return (value,) * dims
    if (
        isinstance(value, (tuple, list))
        and len(value) in (1, dims)
        and all(is_int(v) or (allow_none and v is None) for v in value)
    ):
        return tuple(value) * (dims // len(value))
    raise _errors.TypeError(
        f"[{op}] expected {what} as an int or a tuple of {dims} ints, got {value!r}"
    )


def _check_tensor(input, op):
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor input, got {type(input).__name__}")


def _planes(input, op, dims):
    """input as (N, C, H, W), and the function that shapes a result of it back."""
    _check_tensor(input, op)
    layout = "(C, L)" if dims == 1 else "(C, H, W)"
    batched_layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    if input.dim() not in (dims + 1, dims + 2):
        raise _errors.ValueError(
            f"[{op}] expected a {dims + 1}-d {layout} or {dims + 2}-d {batched_layout} "
            f"input, got shape {tuple(input.shape)}"
        )
    batched = input.dim() == dims + 2
    x = input if batched else input.unsqueeze(0)
    if dims == 1:
        x = x.unsqueeze(2)

    def back(t):
        if dims == 1:
            t = t.squeeze(2)
        return t if batched else t.squeeze(0)

    return x, back


def _as_2d(sizes, dims, fill):
    """1-d sizes as (fill, size): the height of one that 1-d pooling runs on."""
    return sizes if dims == 2 else (fill, sizes[0])


def _window(op, dims, kernel_size, stride, padding, dilation=1):
    kernel = _sizes(kernel_size, "kernel_size", op, dims)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    strides = kernel if no_stride else _sizes(stride, "stride", op, dims)
    return (
        _as_2d(kernel, dims, 1),
        _as_2d(strides, dims, 1),
        _as_2d(_sizes(padding, "padding", op, dims), dims, 0),
        _as_2d(_sizes(dilation, "dilation", op, dims), dims, 1),
    )


def _max_pool(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, back = _planes(input, op, dims)
    kernel, strides, pads, dilations = _window(op, dims, kernel_size, stride, padding, dilation)
    values, indices = _C._max_pool2d(
        x, list(kernel), list(strides), list(pads), list(dilations), bool(ceil_mode), op
    )
    return (back(values), back(indices)) if return_indices else back(values)


def max_pool1d(
    input: Tensor,
    kernel_size: _Size,
    stride: _Size | None = None,
    padding: _Size = 0,
    dilation: _Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> _MaxResult:
    """The maximum of each window over the last dimension of (N, C, L) or (C, L); with
    return_indices also each maximum's position in L."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: Tensor,
    kernel_size: _Size,
    stride: _Size | None = None,
    padding: _Size = 0,
    dilation: _Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> _MaxResult:
    """The maximum of each window over the last two dimensions of (N, C, H, W) or (C, H, W);
    with return_indices also each maximum's flat position h * W + w in its plane."""
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(
    op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    x, back = _planes(input, op, dims)
    kernel, strides, pads, _ = _window(op, dims, kernel_size, stride, padding)
    if divisor_override is not None and not is_int(divisor_override):
        raise _errors.TypeError(
            f"[{op}] expected divisor_override as an int or None, got {divisor_override!r}"
        )
    return back(
        _C._avg_pool2d(
            x,
            list(kernel),
            list(strides),
            list(pads),
            bool(ceil_mode),
            bool(count_include_pad),
            divisor_override,
            op,
        )
    )


def avg_pool1d(
    input: Tensor,
    kernel_size: _Size,
    stride: _Size | None = None,
    padding: _Size = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """The mean of each window over the last dimension of (N, C, L) or (C, L)."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input: Tensor,
    kernel_size: _Size,
    stride: _Size | None = None,
    padding: _Size = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """The mean of each window over the last two dimensions of (N, C, H, W) or (C, H, W);
    divided by divisor_override instead of the window's size when given."""
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _lp_pool(op, dims, input, norm_type, kernel_size, stride, ceil_mode):
    # PyTorch's composition, kept for its results: the window's mean of x^p times the window's
    # size (a partial ceil_mode window is averaged over the part inside), then the p-th root.
    _check_tensor(input, op)  # before input.pow below
    if not is_real(norm_type) or not 0 < norm_type < float("inf"):
        raise _errors.ValueError(
            f"[{op}] expected norm_type as a positive, finite number, got {norm_type!r}"
        )
    kernel = _sizes(kernel_size, "kernel_size", op, dims)
    mean = _avg_pool(op, dims, input.pow(norm_type), kernel_size, stride, 0, ceil_mode, True, None)
    return (mean.sign() * mean.abs().relu()).mul(math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool1d(
    input: Tensor,
    norm_type: float,
    kernel_size: _Size,
    stride: _Size | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    """The p-norm of each window, (sum x^p)^(1/p) with p = norm_type, over the last dimension
    of (N, C, L) or (C, L)."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(
    input: Tensor,
    norm_type: float,
    kernel_size: _Size,
    stride: _Size | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    """The p-norm of each window, (sum x^p)^(1/p) with p = norm_type, over the last two
    dimensions of (N, C, H, W) or (C, H, W)."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def _adaptive_size(op, dims, x, output_size):
    """(h, w) of the output: None keeps the input's size along that dimension."""
    sizes = _as_2d(_sizes(output_size, "output_size", op, dims, allow_none=True), dims, 1)
    return [x.shape[2 + d] if s is None else s for d, s in enumerate(sizes)]


def adaptive_avg_pool1d(input: Tensor, output_size: _OutputSize) -> Tensor:
    """Means over output_size windows that tile the last dimension of (N, C, L) or (C, L)."""
    x, back = _planes(input, "adaptive_avg_pool1d", 1)
    return back(
        _C._adaptive_avg_pool2d(
            x, _adaptive_size("adaptive_avg_pool1d", 1, x, output_size), "adaptive_avg_pool1d"
        )
    )


def adaptive_avg_pool2d(input: Tensor, output_size: _OutputSize) -> Tensor:
    """Means over an output_size (h, w) grid of windows that tile each (H, W) plane."""
    x, back = _planes(input, "adaptive_avg_pool2d", 2)
    return back(
        _C._adaptive_avg_pool2d(
            x, _adaptive_size("adaptive_avg_pool2d", 2, x, output_size), "adaptive_avg_pool2d"
        )
    )


def _adaptive_max(op, dims, input, output_size, return_indices):
    x, back = _planes(input, op, dims)
    values, indices = _C._adaptive_max_pool2d(x, _adaptive_size(op, dims, x, output_size), op)
    return (back(values), back(indices)) if return_indices else back(values)


def adaptive_max_pool1d(
    input: Tensor, output_size: _OutputSize, return_indices: bool = False
) -> _MaxResult:
    """Maxima over output_size windows that tile the last dimension of (N, C, L) or (C, L)."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(
    input: Tensor, output_size: _OutputSize, return_indices: bool = False
) -> _MaxResult:
    """Maxima over an output_size (h, w) grid of windows that tile each (H, W) plane."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def _unpool_size(op, x, kernel, strides, pads, output_size):
    """PyTorch's: (in - 1) * stride - 2 * padding + kernel, or output_size's last two sizes
    where given, which must lie within a stride of that."""
    default = [(x.shape[2 + d] - 1) * strides[d] - 2 * pads[d] + kernel[d] for d in range(2)]
    if output_size is None:
        return default
    sizes = list(output_size)
    if len(sizes) == 4:
        sizes = sizes[2:]
    if len(sizes) != 2 or not all(is_int(s) for s in sizes):
        raise _errors.ValueError(f"[{op}] expected output_size as 2 or 4 ints, got {output_size!r}")
    for d in range(2):
        low, high = default[d] - strides[d], default[d] + strides[d]
        if not low < sizes[d] < high:
            raise _errors.ValueError(
                f"[{op}] expected output_size[{d}] between {low} and {high} (exclusive), "
                f"got {output_size!r}"
            )
    return sizes


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: _Size,
    stride: _Size | None = None,
    padding: _Size = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """The inverse of max_pool2d(return_indices=True): each value put back at its index in a
    plane of zeros."""
    op = "max_unpool2d"
    x, back = _planes(input, op, 2)
    if (
        not isinstance(indices, _C.Tensor)
        or indices.dtype != _C.dtype.int64
        or tuple(indices.shape) != tuple(input.shape)
    ):
        raise _errors.ValueError(
            f"[{op}] expected int64 indices of the input's shape {tuple(input.shape)}, got "
            f"{getattr(indices, 'dtype', type(indices).__name__)} of shape "
            f"{tuple(getattr(indices, 'shape', ()))}"
        )
    kernel, strides, pads, _ = _window(op, 2, kernel_size, stride, padding)
    if min(kernel) <= 0 or min(strides) <= 0 or min(pads) < 0:
        raise _errors.ValueError(
            f"[{op}] expected positive kernel_size and stride and "
            f"padding >= 0, got {kernel}, {strides} and {pads}"
        )
    height, width = _unpool_size(op, x, kernel, strides, pads, output_size)
    N, C = x.shape[0], x.shape[1]
    flat_indices = indices.reshape(N, C, -1)
    if flat_indices.numel() and (
        int(flat_indices.min()) < 0 or int(flat_indices.max()) >= height * width
    ):
        raise _errors.ValueError(
            f"[{op}] expected indices in [0, {height * width}) (the output's {height}x{width} "
            f"plane), got values in [{int(flat_indices.min())}, {int(flat_indices.max())}]"
        )
    planes = _C.full([N, C, height * width], 0.0, dtype=x.dtype, device=x.device)
    out = _C.scatter(planes, 2, flat_indices, x.reshape(N, C, -1))
    return back(out.reshape(N, C, height, width))
