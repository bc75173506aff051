"""F.interpolate and the older names PyTorch keeps for it (upsample, upsample_nearest,
upsample_bilinear). The output size and the modes follow torch.nn.functional.interpolate:
1-d input (N, C, L) runs on the (N, C, H, W) kernels of csrc/ops/interpolate.cpp with a
height of one, and 'area' is adaptive average pooling."""

from __future__ import annotations

from typing import TYPE_CHECKING
import math

from .. import _C, _errors
from .._checks import is_int, is_real
from . import _pooling

if TYPE_CHECKING:
    from .._C import Tensor

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

# the modes each input rank takes, and the kernel's name for each (area is adaptive pooling)
_MODES = {
    3: {
        "nearest": "nearest",
        "nearest-exact": "nearest-exact",
        "linear": "bilinear",
        "area": "area",
    },
    4: {
        "nearest": "nearest",
        "nearest-exact": "nearest-exact",
        "bilinear": "bilinear",
        "bicubic": "bicubic",
        "area": "area",
    },
}
_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")


def _per_axis(value, what, dims, accepts, kind, op):
    """A number, or a tuple or list of one per spatial axis, as a list of `dims`."""
    if isinstance(value, (tuple, list)):
        if len(value) != dims:
            raise _errors.ValueError(
                f"[{op}] expected {what} with one value per spatial dimension ({dims}), got "
                f"{value!r}"
            )
        values = list(value)
    else:
        values = [value] * dims
    if not all(accepts(v) for v in values):
        raise _errors.TypeError(
            f"[{op}] expected {what} as {kind} or a tuple of them, got {value!r}"
        )
    return values


def _check_mode(input, mode, align_corners, op):
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor input, got {type(input).__name__}")
    if input.dim() not in _MODES:
        raise _errors.ValueError(
            f"[{op}] expected a 3-d (N, C, L) or 4-d (N, C, H, W) input, "
            f"got shape {tuple(input.shape)}"
        )
    modes = _MODES[input.dim()]
    if mode not in modes:
        raise _errors.ValueError(
            f"[{op}] expected mode {' | '.join(map(repr, modes))} for "
            f"{input.dim()}-d input, got {mode!r}"
        )
    if mode not in _INTERPOLATING and align_corners is not None:
        raise _errors.ValueError(
            f"[{op}] align_corners can only be set with the interpolating "
            f"modes linear | bilinear | bicubic, got mode {mode!r}"
        )


def _output_size(input, size, scale_factor, recompute_scale_factor, op):
    """(the output's spatial sizes, the scale factors the kernels map coordinates by or None)."""
    dims = input.dim() - 2
    if (size is None) == (scale_factor is None):
        raise _errors.ValueError(
            f"[{op}] expected exactly one of size and scale_factor, got "
            f"size={size!r} and scale_factor={scale_factor!r}"
        )
    if size is not None:
        if recompute_scale_factor:
            raise _errors.ValueError(
                f"[{op}] recompute_scale_factor is not meaningful with an "
                f"explicit size, got size={size!r}"
            )
        return [int(s) for s in _per_axis(size, "size", dims, is_int, "an int", op)], None
    factors = [
        float(s) for s in _per_axis(scale_factor, "scale_factor", dims, is_real, "a number", op)
    ]
    sizes = [math.floor(float(n * s)) for n, s in zip(input.shape[2:], factors)]
    return sizes, (None if recompute_scale_factor else factors)


def interpolate(
    input: Tensor,
    size: int | tuple[int, ...] | None = None,
    scale_factor: float | tuple[float, ...] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resizes the spatial dimensions of (N, C, L) or (N, C, H, W) to `size`, or to
    floor(size * scale_factor), by nearest, nearest-exact, (bi)linear, bicubic or area
    interpolation, with PyTorch's source-index rules."""
    op = "interpolate"
    _check_mode(input, mode, align_corners, op)
    if antialias:
        raise _errors.ValueError(f"[{op}] antialias=True is not supported, got mode {mode!r}")
    sizes, factors = _output_size(input, size, scale_factor, recompute_scale_factor, op)
    if mode == "area":  # PyTorch's area is adaptive average pooling to the output size
        pool = _pooling.adaptive_avg_pool1d if input.dim() == 3 else _pooling.adaptive_avg_pool2d
        return pool(input, sizes)
    kernel_mode = _MODES[input.dim()][mode]
    factors = factors or [0.0] * len(sizes)  # 0: map coordinates by in / out
    if input.dim() == 3:  # a height of one, copied
        out = _C._interpolate(
            input.unsqueeze(2), [1] + sizes, [0.0] + factors, kernel_mode, bool(align_corners), op
        )
        return out.squeeze(2)
    return _C._interpolate(input, sizes, factors, kernel_mode, bool(align_corners), op)


def upsample(
    input: Tensor,
    size: int | tuple[int, ...] | None = None,
    scale_factor: float | tuple[float, ...] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """interpolate under its older name."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(
    input: Tensor,
    size: int | tuple[int, ...] | None = None,
    scale_factor: float | tuple[float, ...] | None = None,
) -> Tensor:
    """interpolate with mode 'nearest'."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(
    input: Tensor,
    size: int | tuple[int, ...] | None = None,
    scale_factor: float | tuple[float, ...] | None = None,
) -> Tensor:
    """interpolate with mode 'bilinear' and align_corners=True, as PyTorch's."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
