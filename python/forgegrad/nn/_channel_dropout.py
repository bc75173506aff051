"""The dropouts of torch.nn.functional beyond dropout: channel-wise (dropout1d, dropout2d,
dropout3d: whole channels zeroed, the rest scaled by 1 / (1 - p)) and the SELU-preserving
alpha_dropout and feature_alpha_dropout. Their keep masks come from F.dropout on a tensor of
ones, so they draw from the same Philox stream as dropout: one seed, one mask, on every
device."""

from __future__ import annotations

from typing import TYPE_CHECKING
import math
import warnings

from .. import _C, _errors
from .. import creation
from .._checks import is_real

if TYPE_CHECKING:
    from .._C import Tensor

__all__ = ["dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

# SELU's negative saturation, -scale * alpha: alpha_dropout sets dropped elements to it
_SELU_SATURATION = 1.7580993408473766


def _check(input, p, op):
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor input, got {type(input).__name__}")
    if not is_real(p):
        raise _errors.TypeError(f"[{op}] expected a probability p in [0, 1], got {p!r}")
    if not 0 <= p <= 1:
        raise _errors.ValueError(f"[{op}] expected a probability p in [0, 1], got {p!r}")


def _keep(shape, p, like):
    """1 where an element of `shape` is kept (probability 1 - p), 0 where dropped."""
    ones = creation.ones(*shape, dtype=like.dtype, device=like.device)
    return (_C.dropout(ones, p, True) != 0).to(like.dtype)


def _channel_shape(input, batched):
    """The mask's shape: one draw per (sample, channel), broadcast over the rest."""
    kept = 2 if batched else 1
    return tuple(input.shape[:kept]) + (1,) * (input.dim() - kept)


def _multiply(input, factor, inplace):
    if inplace:
        input.mul_(factor)
        return input
    return input * factor


def _channel_dropout(input, p, training, inplace, batched):
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        return _multiply(input, 0.0, inplace)
    keep = _keep(_channel_shape(input, batched), p, input)
    return _multiply(input, keep * (1.0 / (1.0 - p)), inplace)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zeroes whole channels of (N, C, L) or (C, L) with probability p."""
    _check(input, p, "dropout1d")
    if input.dim() not in (2, 3):
        raise _errors.ValueError(
            f"[dropout1d] expected a 2-d (C, L) or 3-d (N, C, L) input, "
            f"got shape {tuple(input.shape)}"
        )
    return _channel_dropout(input, p, training, inplace, input.dim() == 3)


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zeroes whole channels of (N, C, H, W) with probability p. As PyTorch, 3-d input is
    taken as (N, C, L), with a warning."""
    _check(input, p, "dropout2d")
    if input.dim() < 2:
        raise _errors.ValueError(
            f"[dropout2d] expected a 4-d (N, C, H, W) input, got shape {tuple(input.shape)}"
        )
    if input.dim() == 3:
        warnings.warn(
            "[dropout2d] got a 3-d input: treated as (N, C, L), channel-wise 1-d "
            "dropout, as PyTorch does; use dropout1d for that",
            UserWarning,
            stacklevel=2,
        )
    elif input.dim() != 4:
        warnings.warn(
            f"[dropout2d] expected a 4-d (N, C, H, W) input, got a {input.dim()}-d "
            "one: dropping channels of dimension 1",
            UserWarning,
            stacklevel=2,
        )
    return _channel_dropout(input, p, training, inplace, True)


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) with probability p. As
    PyTorch, other ranks are taken as unbatched, with a warning."""
    _check(input, p, "dropout3d")
    if input.dim() == 0:
        raise _errors.ValueError(
            "[dropout3d] expected a 4-d (C, D, H, W) or 5-d (N, C, D, H, W) input, got a 0-d tensor"
        )
    if input.dim() not in (4, 5):
        warnings.warn(
            f"[dropout3d] expected a 4-d (C, D, H, W) or 5-d (N, C, D, H, W) input, "
            f"got a {input.dim()}-d one: dropping slices of dimension 0",
            UserWarning,
            stacklevel=2,
        )
    return _channel_dropout(input, p, training, inplace, input.dim() == 5)


def _alpha_dropout(input, p, training, inplace, shape):
    """PyTorch's alpha dropout: dropped elements become SELU's saturation, then an affine
    map a x + b brings the mean and variance back to the input's (for unit-normal input)."""
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        return _multiply(input, 0.0, inplace)
    a = 1.0 / math.sqrt((_SELU_SATURATION**2 * p + 1) * (1 - p))
    keep = _keep(shape, p, input)
    shift = (keep - 1.0) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
    scale = keep * a
    if inplace:
        input.mul_(scale).add_(shift)
        return input
    return input * scale + shift


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout for SELU networks: keeps the mean and variance of unit-normal input."""
    _check(input, p, "alpha_dropout")
    return _alpha_dropout(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """alpha_dropout of whole channels (dimension 1) at once."""
    _check(input, p, "feature_alpha_dropout")
    if input.dim() < 2:
        raise _errors.ValueError(
            f"[feature_alpha_dropout] expected at least 2 dimensions "
            f"(N, C, ...), got shape {tuple(input.shape)}"
        )
    return _alpha_dropout(input, p, training, inplace, _channel_shape(input, True))
