"""F.pixel_shuffle and F.pixel_unshuffle: (*, C r^2, H, W) <-> (*, C, H r, W r), each a
reshape, a permutation and a reshape, so their gradients are those of the views."""

from __future__ import annotations

from typing import TYPE_CHECKING
from .. import _C, _errors
from .._checks import is_int

if TYPE_CHECKING:
    from .._C import Tensor

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _check(input, factor, name, op):
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor input, got {type(input).__name__}")
    if not is_int(factor):
        raise _errors.TypeError(f"[{op}] expected {name} as an int, got {factor!r}")
    if factor <= 0:
        raise _errors.ValueError(f"[{op}] expected a positive {name}, got {factor}")
    if input.dim() < 3:
        raise _errors.ValueError(
            f"[{op}] expected at least 3 dimensions (*, C, H, W), got shape {tuple(input.shape)}"
        )


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): channel c r^2 + i r + j becomes the pixel offset
    (i, j) of each r x r block of channel c."""
    op, r = "pixel_shuffle", upscale_factor
    _check(input, r, "upscale_factor", op)
    *batch, channels, h, w = input.shape
    if channels % (r * r):
        raise _errors.ValueError(
            f"[{op}] expected the channel dimension to be divisible by "
            f"upscale_factor^2 = {r * r}, got {channels}"
        )
    b = len(batch)
    blocks = input.reshape(*batch, channels // (r * r), r, r, h, w)
    order = list(range(b)) + [b, b + 3, b + 1, b + 4, b + 2]  # (c, h, i, w, j)
    return blocks.permute(*order).reshape(*batch, channels // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W), pixel_shuffle's inverse."""
    op, r = "pixel_unshuffle", downscale_factor
    _check(input, r, "downscale_factor", op)
    *batch, channels, h, w = input.shape
    if h % r or w % r:
        raise _errors.ValueError(
            f"[{op}] expected height and width divisible by downscale_factor = {r}, got {h} and {w}"
        )
    b = len(batch)
    blocks = input.reshape(*batch, channels, h // r, r, w // r, r)
    order = list(range(b)) + [b, b + 2, b + 4, b + 1, b + 3]  # (c, i, j, h, w)
    return blocks.permute(*order).reshape(*batch, channels * r * r, h // r, w // r)
