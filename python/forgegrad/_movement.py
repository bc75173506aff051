"""Data-movement ops composed of the op table's (index_select, narrow, cat, expand, where),
so their gradients come from those: flip, fliplr, flipud, roll, repeat, tile, tril, triu,
hstack, vstack, atleast_1d, atleast_2d, meshgrid, cartesian_prod."""

import builtins
from collections.abc import Sequence

from . import _C, _errors


def _dims(dims, ndim, op):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    wrapped = []
    for d in dims:
        if not -builtins.max(ndim, 1) <= d < builtins.max(ndim, 1):
            raise IndexError(f"[{op}] dimension {d} is out of range for a {ndim}-d tensor")
        wrapped.append(d % builtins.max(ndim, 1))
    if len(set(wrapped)) != len(wrapped):
        raise _errors.ValueError(f"[{op}] dimension appears more than once in {dims}")
    return wrapped


def flip(input: _C.Tensor, dims: int | Sequence[int]) -> _C.Tensor:
    """input with the order of its elements reversed along each of dims."""
    out = input
    for d in _dims(dims, input.ndim, "flip"):
        if input.ndim == 0:
            break
        n = input.shape[d]
        out = _C.index_select(out, d, _C._arange_int64(n - 1, -1, -1, device=input.device))
    return out


def fliplr(input: _C.Tensor) -> _C.Tensor:
    """``input`` with its columns (dim 1) in reverse order; at least 2 dims."""
    if input.ndim < 2:
        raise _errors.ValueError(f"[fliplr] expected at least 2 dimensions, got {input.ndim}")
    return flip(input, (1,))


def flipud(input: _C.Tensor) -> _C.Tensor:
    """``input`` with its rows (dim 0) in reverse order; at least 1 dim."""
    if input.ndim < 1:
        raise _errors.ValueError("[flipud] expected at least 1 dimension, got 0")
    return flip(input, (0,))


def roll(
    input: _C.Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None
) -> _C.Tensor:
    """Elements shifted along dims (the flattened tensor without dims), wrapping around."""
    if dims is None:
        if not isinstance(shifts, int) and len(shifts) != 1:
            raise _errors.ValueError("[roll] without dims, expected one shift")
        shift = shifts if isinstance(shifts, int) else shifts[0]
        return roll(input.reshape(-1), shift, 0).reshape(input.shape)
    shift_list = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dim_list = _dims(dims, input.ndim, "roll")
    if len(shift_list) != len(dim_list):
        raise _errors.ValueError(
            f"[roll] expected as many shifts as dims, got {len(shift_list)} and {len(dim_list)}"
        )
    out = input
    for shift, d in zip(shift_list, dim_list):
        n = out.shape[d]
        if n == 0:
            continue
        k = shift % n
        if k:
            out = _C.cat([_C.narrow(out, d, n - k, k), _C.narrow(out, d, 0, n - k)], d)
    return out


def repeat(input, *sizes):
    """Tensor.repeat: input tiled sizes[i] times along dimension i (leading sizes add
    dimensions)."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes
    if len(sizes) < input.ndim:
        raise _errors.ValueError(f"[repeat] expected at least {input.ndim} sizes, got {len(sizes)}")
    if any(s < 0 for s in sizes):
        raise _errors.ValueError(f"[repeat] expected sizes >= 0, got {sizes}")
    shape = (1,) * (len(sizes) - input.ndim) + tuple(input.shape)
    x = input.reshape(shape)
    # (s0, n0, s1, n1, ...) broadcast, then merged pairwise
    expanded = []
    for s, n in zip(sizes, shape):
        expanded += [s, n]
    interleaved = x.reshape(tuple(v for n in shape for v in (1, n))).expand(*expanded)
    return interleaved.reshape(tuple(s * n for s, n in zip(sizes, shape)))


def tile(input: _C.Tensor, dims: Sequence[int]) -> _C.Tensor:
    """numpy's tile: dims padded with leading 1s to input's rank, then repeat."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return repeat(input, *((1,) * (input.ndim - len(dims)) + dims))


def _triangle(input, diagonal, lower, op):
    if input.ndim < 2:
        raise _errors.ValueError(f"[{op}] expected at least 2 dimensions, got {input.ndim}")
    rows, cols = input.shape[-2], input.shape[-1]
    r = _C._arange_int64(0, rows, 1, device=input.device).reshape(rows, 1)
    c = _C._arange_int64(0, cols, 1, device=input.device).reshape(1, cols)
    keep = (c - r <= diagonal) if lower else (c - r >= diagonal)
    return _C.masked_fill(input, ~keep, 0)


def tril(input: _C.Tensor, diagonal: int = 0) -> _C.Tensor:
    """The lower triangle (on and below the diagonal-th diagonal) of the last two dims."""
    return _triangle(input, diagonal, True, "tril")


def triu(input: _C.Tensor, diagonal: int = 0) -> _C.Tensor:
    """The upper triangle (on and above the diagonal-th diagonal) of the last two dims."""
    return _triangle(input, diagonal, False, "triu")


def atleast_1d(input: _C.Tensor) -> _C.Tensor:
    """``input``, a 0-d tensor as 1-d (views, no copy)."""
    return input.reshape(1) if input.ndim == 0 else input


def atleast_2d(input: _C.Tensor) -> _C.Tensor:
    """``input``, a 0-d or 1-d tensor as one row (views, no copy)."""
    return input.reshape(1, -1) if input.ndim < 2 else input


def hstack(tensors: Sequence[_C.Tensor]) -> _C.Tensor:
    """The tensors joined along their columns: dim 1, or dim 0 for 1-d tensors."""
    tensors = [atleast_1d(t) for t in tensors]
    return _C.cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[_C.Tensor]) -> _C.Tensor:
    """The tensors joined as rows (dim 0), 1-d tensors taken as one row each."""
    return _C.cat([atleast_2d(t) for t in tensors], 0)


def meshgrid(
    *tensors: _C.Tensor | Sequence[_C.Tensor], indexing: str = "ij"
) -> tuple[_C.Tensor, ...]:
    """Coordinate grids: the i-th output holds tensors[i]'s values along dimension i
    ("ij"); with indexing="xy" the first two inputs span dimensions 1 and 0 (x along columns).
    Expanded views; each input 0-d or 1-d."""
    given: Sequence[object] = tensors
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        given = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise _errors.ValueError(f"[meshgrid] expected indexing 'ij' or 'xy', got {indexing!r}")
    if not given:
        raise _errors.ValueError("[meshgrid] expected at least one tensor")
    checked: list[_C.Tensor] = []
    for t in given:
        if not isinstance(t, _C.Tensor):
            raise _errors.TypeError(f"[meshgrid] expected Tensors, got {type(t).__name__}")
        checked.append(t)
        if t.ndim > 1:
            raise _errors.ValueError(
                f"[meshgrid] expected 0-d or 1-d tensors, got shape {tuple(t.shape)}"
            )
        first = checked[0]
        if t.dtype != first.dtype or t.device != first.device:
            raise _errors.TypeError(
                f"[meshgrid] expected tensors of one dtype and device, got "
                f"{first.dtype} on {first.device} and {t.dtype} on "
                f"{t.device}"
            )
    swap = indexing == "xy" and len(checked) > 1
    ordered = (checked[1], checked[0]) + tuple(checked[2:]) if swap else tuple(checked)
    shape = [t.numel() for t in ordered]
    grids: list[_C.Tensor] = []
    for i, t in enumerate(ordered):
        along = [1] * len(shape)
        along[i] = shape[i]
        grids.append(t.reshape(along).expand(*shape))
    return (grids[1], grids[0], *grids[2:]) if swap else tuple(grids)


def cartesian_prod(*tensors: _C.Tensor) -> _C.Tensor:
    """Every combination of one element of each 1-d tensor, as rows (the last tensor's
    element changing fastest); one tensor: itself."""
    for t in tensors:
        if not isinstance(t, _C.Tensor) or t.ndim != 1:
            shape = tuple(t.shape) if isinstance(t, _C.Tensor) else type(t).__name__
            raise _errors.ValueError(f"[cartesian_prod] expected 1-d tensors, got {shape}")
    if len(tensors) == 1:
        return tensors[0]
    return _C.stack([g.reshape(-1) for g in meshgrid(*tensors)], 1)


FUNCTIONS = [
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "tile",
    "tril",
    "triu",
    "atleast_1d",
    "atleast_2d",
    "hstack",
    "vstack",
    "meshgrid",
    "cartesian_prod",
]
METHODS = ["flip", "fliplr", "flipud", "roll", "repeat", "tile", "tril", "triu"]
IN_PLACE = ["tril", "triu"]
