"""F.pad, composed of the op table's (narrow, cat, full, index_select), so its gradient comes
from those: constant padding on any number of trailing dimensions (a negative pad crops),
and reflect, replicate and circular padding as one index_select per padded dimension."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
import numpy as np

from .. import _C, _errors
from .._checks import is_int

if TYPE_CHECKING:
    from .._C import Tensor

_MODES = ("constant", "reflect", "replicate", "circular")


def _crop(input, d, before, after):
    """input without the elements the negative pads of dimension d remove (PyTorch's modes
    all crop first, then pad what is left)."""
    size = input.shape[d]
    if before < -size or after < -size or before + size + after < 0:
        raise _errors.ValueError(
            f"[pad] padding ({before}, {after}) crops dimension {d} of size {size} past its end"
        )
    if before >= 0 and after >= 0:
        return input
    start = max(-before, 0)
    return _C.narrow(input, d, start, size + min(after, 0) - start)


def _constant(input, widths, value):
    out = input
    for d, (before, after) in widths:
        out = _crop(out, d, before, after)
        if before > 0 or after > 0:
            blocks = []
            for width in (before, after):
                shape = list(out.shape)
                shape[d] = max(width, 0)
                blocks.append(_C.full(shape, value, dtype=out.dtype, device=out.device))
            out = _C.cat([blocks[0], out, blocks[1]], d)
    return out


def _source_positions(mode, size, before, after, device):
    """int64: for each output position along the dimension, the input position it copies."""
    j = np.arange(-before, size + after, dtype=np.int64)
    if mode == "reflect":
        j = np.where(j < 0, -j, np.where(j >= size, 2 * (size - 1) - j, j))
    elif mode == "replicate":
        j = np.clip(j, 0, size - 1)
    else:  # circular
        j = j % size
    return _C._to_device(_C.from_numpy(np.ascontiguousarray(j)), device)


def _copied(input, widths, mode):
    out = input
    for d, (before, after) in widths:
        if out.shape[d] == 0:
            raise _errors.ValueError(
                f"[pad] mode '{mode}' expected a non-empty dimension {d}, got input "
                f"of shape {tuple(input.shape)}"
            )
        out = _crop(out, d, before, after)
        size, before, after = out.shape[d], max(before, 0), max(after, 0)
        if size == 0:
            raise _errors.ValueError(
                f"[pad] input of shape {tuple(input.shape)} is too small: its "
                f"padding leaves nothing of dimension {d} to copy in mode '{mode}'"
            )
        if mode == "reflect" and (before >= size or after >= size):
            raise _errors.ValueError(
                f"[pad] padding size should be less than the corresponding input "
                f"dimension in mode 'reflect', but got: padding ({before}, {after}) "
                f"at dimension {d} of size {size} of input of shape "
                f"{tuple(input.shape)}"
            )
        if mode == "circular" and (before > size or after > size):
            raise _errors.ValueError(
                f"[pad] padding ({before}, {after}) wraps around dimension {d} of "
                f"size {size} more than once in mode 'circular'"
            )
        if before or after:
            out = _C.index_select(out, d, _source_positions(mode, size, before, after, out.device))
    return out


def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    """input padded by pad = (last dim's before, after, the one before's before, after, ...):
    with value ("constant"; negative pads crop), the input mirrored at its edges without
    repeating them ("reflect"), its edge values ("replicate") or its other end ("circular")."""
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[pad] expected a Tensor, got {type(input).__name__}")
    pad = tuple(pad)
    if not all(is_int(p) for p in pad):
        raise _errors.TypeError(f"[pad] expected integer padding sizes, got {pad}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise _errors.ValueError(
            f"[pad] expected an even number of padding sizes (before, after per "
            f"dimension), got {len(pad)}"
        )
    if len(pad) > 2 * input.ndim:
        raise _errors.ValueError(
            f"[pad] padding of length {len(pad)} is more than two sizes for each "
            f"of the input's {input.ndim} dimensions"
        )
    if mode not in _MODES:
        raise _errors.ValueError(
            f"[pad] expected mode 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    # (dimension, (before, after)), the last dimension first
    widths = [(input.ndim - 1 - i, (pad[2 * i], pad[2 * i + 1])) for i in range(len(pad) // 2)]
    if mode == "constant":
        return _constant(input, widths, 0 if value is None else value)
    if value is not None and value != 0:
        raise _errors.ValueError(f"[pad] mode '{mode}' takes no value, got {value}")
    # PyTorch's rule: 1, 2 or 3 trailing dimensions, after at most a batch and a channel one
    n = len(widths)
    if n not in (1, 2, 3) or input.ndim not in (n + 1, n + 2):
        raise _errors.ValueError(
            f"[pad] mode '{mode}' pads the last 1, 2 or 3 dimensions of a 2-d or "
            f"3-d, 3-d or 4-d, or 4-d or 5-d input, got {len(pad)} padding sizes "
            f"for a {input.ndim}-d input"
        )
    return _copied(input, widths, mode)
