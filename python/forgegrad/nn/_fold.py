"""F.unfold and F.fold (im2col and col2im), PyTorch's signatures: the kernels are the op
table's _im2col and _col2im (csrc/ops/im2col.cpp) on batched input; here the arguments'
int-or-pair forms and the unbatched inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING
from .. import _C, _errors
from .._checks import check_tensor, is_int

if TYPE_CHECKING:
    from .._C import Tensor

    from ._pooling import _Size


def _pair(op, name, value):
    """value as a pair of ints: an int repeated, or a tuple or list of two."""
    if is_int(value):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) for v in value):
        return (int(value[0]), int(value[1]))
    raise _errors.TypeError(f"[{op}] expected {name} as an int or a pair of ints, got {value!r}")


def unfold(
    input: Tensor, kernel_size: _Size, dilation: _Size = 1, padding: _Size = 0, stride: _Size = 1
) -> Tensor:
    """(N, C, H, W) or (C, H, W) -> (N, C kh kw, L) or (C kh kw, L): each column the
    kernel_size block under one of the L kernel positions, rows ordered (c, kh, kw)."""
    check_tensor(input, "unfold")
    if input.ndim not in (3, 4):
        raise _errors.ValueError(
            f"[unfold] expected input of shape (N, C, H, W) or (C, H, W), got {input.ndim}-d input"
        )
    pairs = [
        _pair("unfold", name, value)
        for name, value in (
            ("kernel_size", kernel_size),
            ("dilation", dilation),
            ("padding", padding),
            ("stride", stride),
        )
    ]
    batched = input.ndim == 4
    out = _C._im2col(input if batched else input.unsqueeze(0), *pairs)
    return out if batched else out.squeeze(0)


def fold(
    input: Tensor,
    output_size: _Size,
    kernel_size: _Size,
    dilation: _Size = 1,
    padding: _Size = 0,
    stride: _Size = 1,
) -> Tensor:
    """unfold's adjoint: (N, C kh kw, L) or (C kh kw, L) -> (N, C, *output_size) or
    (C, *output_size), entries of overlapping blocks summed."""
    check_tensor(input, "fold")
    if input.ndim not in (2, 3):
        raise _errors.ValueError(
            f"[fold] expected input of shape (N, C * kernel_h * kernel_w, L) or "
            f"(C * kernel_h * kernel_w, L), got {input.ndim}-d input"
        )
    pairs = [
        _pair("fold", name, value)
        for name, value in (
            ("output_size", output_size),
            ("kernel_size", kernel_size),
            ("dilation", dilation),
            ("padding", padding),
            ("stride", stride),
        )
    ]
    batched = input.ndim == 3
    out = _C._col2im(input if batched else input.unsqueeze(0), *pairs)
    return out if batched else out.squeeze(0)
