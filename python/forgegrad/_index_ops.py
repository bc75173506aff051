"""Indexed reads and writes composed of the op table's (scatter_add, scatter, index_put,
index_select, nonzero, eq), so their gradients come from those: index_add, index_copy,
index_fill, masked_scatter, take, one_hot, repeat_interleave."""

import numpy as np

from . import _C, _errors
from ._checks import is_int
from ._movement import _dims

_INT64 = (_C.dtype.int64,)
_INT32_OR_INT64 = (_C.dtype.int64, _C.dtype.int32)


def _check_tensor(value, what, op):
    if not isinstance(value, _C.Tensor):
        raise _errors.TypeError(
            f"[{op}] expected {what} to be a Tensor, got {type(value).__name__}"
        )


def _bounds(index):
    """(smallest, largest) of a non-empty integer tensor, read on the host."""
    return int(_C.amin(index)), int(_C.amax(index))


def _index_along(op, input, dim, index, dtypes, negative=False):
    """dim wrapped and index as int64 1-d, both checked against input (0-d: one element);
    negative=True lets -size <= i < 0 count from the end (wrapped here)."""
    _check_tensor(index, "index", op)
    if index.dtype not in dtypes:
        raise _errors.TypeError(
            f"[{op}] expected an index of dtype "
            f"{' or '.join(str(d) for d in dtypes)}, got {index.dtype}"
        )
    if index.ndim > 1:
        raise _errors.ValueError(
            f"[{op}] expected a 0-d or 1-d index, got shape {tuple(index.shape)}"
        )
    if index.device != input.device:
        raise _errors.ValueError(f"[{op}] expected the index on {input.device}, got {index.device}")
    d = _dims(dim, input.ndim, op)[0]
    size = input.shape[d] if input.ndim else 1
    index = _C._to_dtype(index.detach().reshape(-1), _C.dtype.int64)
    if index.numel():
        lo, hi = _bounds(index)
        low = -size if negative else 0
        if lo < low or hi >= size:
            raise IndexError(
                f"[{op}] index {lo if lo < low else hi} is out of bounds for "
                f"dimension {d} with size {size}"
            )
        if negative and lo < 0:
            index = _C.remainder(index, size)
    return d, index


def _at_least_1d(t):
    return t.reshape(1) if t.ndim == 0 else t


def _source_along(op, input, d, index, source):
    """source checked to be input's dtype and shape, but index.numel() long along d; both
    seen with at least one dimension, and index spread over source's shape."""
    _check_tensor(source, "source", op)
    if source.dtype != input.dtype:
        raise _errors.TypeError(
            f"[{op}] expected source of the input's dtype {input.dtype}, got {source.dtype}"
        )
    x, src = _at_least_1d(input), _at_least_1d(source)
    want = list(x.shape)
    want[d] = index.numel()
    if list(src.shape) != want or (source.ndim != input.ndim and input.ndim > 1):
        raise _errors.ValueError(
            f"[{op}] expected source of shape {tuple(want)} (the input's, with "
            f"one slice per index along dimension {d}), got "
            f"{tuple(source.shape)}"
        )
    spread = [1] * x.ndim
    spread[d] = index.numel()
    return x, src, index.reshape(spread).expand(*src.shape)


def index_add(
    input: _C.Tensor, dim: int, index: _C.Tensor, source: _C.Tensor, *, alpha: float = 1
) -> _C.Tensor:
    """input with alpha * source's slices added at index along dim (repeats add up)."""
    d, index = _index_along("index_add", input, dim, index, _INT32_OR_INT64)
    if isinstance(alpha, float) and not input.dtype.is_floating_point:
        raise _errors.TypeError(
            f"[index_add] a float alpha ({alpha}) needs a floating input, got {input.dtype}"
        )
    x, src, spread = _source_along("index_add", input, d, index, source)
    if alpha != 1:
        src = src * alpha
    return _C.scatter_add(x, d, spread, src).reshape(input.shape)


def index_copy(input: _C.Tensor, dim: int, index: _C.Tensor, source: _C.Tensor) -> _C.Tensor:
    """input with source's slices written at index along dim."""
    d, index = _index_along("index_copy", input, dim, index, _INT64)
    x, src, spread = _source_along("index_copy", input, d, index, source)
    return _C.scatter(x, d, spread, src).reshape(input.shape)


def index_fill(input: _C.Tensor, dim: int, index: _C.Tensor, value: float | _C.Tensor) -> _C.Tensor:
    """input with every element of the slices at index along dim set to value (a number or
    a 0-d tensor, which then gets the gradient of the elements it fills)."""
    d, index = _index_along("index_fill", input, dim, index, _INT64, negative=True)
    if isinstance(value, _C.Tensor) and value.ndim != 0:
        raise _errors.ValueError(
            f"[index_fill] expected a number or a 0-d tensor as value, got shape "
            f"{tuple(value.shape)}"
        )
    # each slice once, however often index names it: value's gradient counts it once
    once = _C._to_device(_C.from_numpy(np.unique(index.cpu().numpy())), input.device)
    # dim moved to the front, where index_put writes whole rows (a view of the result is
    # moved back: cheaper than index_put's own permuting of an inner dimension)
    front = _C.movedim(_at_least_1d(input), d, 0)
    return _C.movedim(_C.index_put(front, (once,), value), 0, d).reshape(input.shape)


def masked_scatter(input: _C.Tensor, mask: _C.Tensor, source: _C.Tensor) -> _C.Tensor:
    """input (broadcast with mask) with source's first elements, in order, written where the
    mask is True."""
    _check_tensor(mask, "mask", "masked_scatter")
    _check_tensor(source, "source", "masked_scatter")
    if mask.dtype != _C.dtype.bool:
        raise _errors.TypeError(f"[masked_scatter] expected a bool mask, got {mask.dtype}")
    if source.dtype != input.dtype:
        raise _errors.TypeError(
            f"[masked_scatter] expected source of the input's dtype {input.dtype}, "
            f"got {source.dtype}"
        )
    try:
        shape = np.broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    except ValueError:
        raise _errors.ValueError(
            f"[masked_scatter] mask of shape {tuple(mask.shape)} does not "
            f"broadcast with the input's {tuple(input.shape)}"
        ) from None
    target = _at_least_1d(input.expand(*shape))
    picked = _C.nonzero(_at_least_1d(mask.expand(*shape)), as_tuple=True)
    count = picked[0].numel()
    if source.numel() < count:
        raise _errors.ValueError(
            f"[masked_scatter] expected a source of at least {count} elements (the "
            f"mask's True count), got {source.numel()}"
        )
    values = _C.narrow(source.reshape(-1), 0, 0, count)
    return _C.index_put(target, picked, values).reshape(shape)


def take(input: _C.Tensor, index: _C.Tensor) -> _C.Tensor:
    """input's elements at index (counting input flattened; negative from the end), shaped as
    index."""
    _check_tensor(index, "index", "take")
    if index.dtype != _C.dtype.int64:
        raise _errors.TypeError(f"[take] expected an int64 index, got {index.dtype}")
    n = input.numel()
    if index.numel():
        lo, hi = _bounds(index)
        if lo < -n or hi >= n:
            raise IndexError(
                f"[take] index {lo if lo < -n else hi} is out of range for a tensor of {n} elements"
            )
    return _C.index_select(input.reshape(-1), 0, index.reshape(-1)).reshape(index.shape)


def one_hot(tensor: _C.Tensor, num_classes: int = -1) -> _C.Tensor:
    """(*tensor.shape, num_classes) int64: 1 at each value's class, 0 elsewhere
    (num_classes=-1: one more than the largest value)."""
    _check_tensor(tensor, "tensor", "one_hot")
    if tensor.dtype != _C.dtype.int64:
        raise _errors.TypeError(
            f"[one_hot] expected an int64 tensor of class indices, got {tensor.dtype}"
        )
    if num_classes < -1:
        raise _errors.ValueError(
            f"[one_hot] expected num_classes >= 0 (or -1: inferred), got {num_classes}"
        )
    if tensor.numel() == 0 and num_classes == -1:
        raise _errors.ValueError(
            "[one_hot] cannot infer the number of classes from an empty tensor; pass num_classes"
        )
    if tensor.numel():
        lo, hi = _bounds(tensor)
        if lo < 0:
            raise _errors.ValueError(f"[one_hot] expected class values >= 0, got {lo}")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise _errors.ValueError(
                f"[one_hot] expected class values < num_classes ({num_classes}), got {hi}"
            )
    classes = _C._arange_int64(0, num_classes, 1, device=tensor.device)
    return _C._to_dtype(_C.eq(tensor.detach().unsqueeze(-1), classes), _C.dtype.int64)


def _repeated_positions(repeats, output_size):
    """int64 (sum of repeats): 0 repeats[0] times, then 1 repeats[1] times, ..."""
    if repeats.dtype not in _INT32_OR_INT64:
        raise _errors.TypeError(
            f"[repeat_interleave] expected repeats of dtype int64 or int32, got {repeats.dtype}"
        )
    if repeats.ndim != 1:
        raise _errors.ValueError(
            f"[repeat_interleave] expected 1-d repeats, got shape {tuple(repeats.shape)}"
        )
    counts = repeats.detach().cpu().numpy()
    if (counts < 0).any():
        raise _errors.ValueError(
            f"[repeat_interleave] expected repeats >= 0, got {int(counts.min())}"
        )
    _check_output_size(int(counts.sum()), output_size)
    positions = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    return _C._to_device(_C.from_numpy(positions), repeats.device)


def _check_output_size(total, output_size):
    if output_size is not None and output_size != total:
        raise _errors.ValueError(
            f"[repeat_interleave] output_size {output_size} does not match the "
            f"{total} elements the repeats give"
        )


def repeat_interleave(
    input: _C.Tensor,
    repeats: int | _C.Tensor | None = None,
    dim: int | None = None,
    *,
    output_size: int | None = None,
) -> _C.Tensor:
    """Each slice of input along dim (the flattened input when dim is None) repeated
    `repeats` times (an int, or a tensor: one count per slice), in place of the slice.
    repeat_interleave(repeats): 0 repeats[0] times, 1 repeats[1] times, ..."""
    if repeats is None:
        _check_tensor(input, "repeats", "repeat_interleave")
        return _repeated_positions(input, output_size)
    x = input.reshape(-1) if dim is None else _at_least_1d(input)
    d = 0 if dim is None else _dims(dim, input.ndim, "repeat_interleave")[0]
    size = x.shape[d]
    if isinstance(repeats, _C.Tensor):
        if repeats.ndim == 0 or tuple(repeats.shape) == (1,) and size != 1:
            repeats = repeats.reshape(1).expand(size)  # one count for every slice
        if repeats.ndim == 1 and repeats.shape[0] != size:
            raise _errors.ValueError(
                f"[repeat_interleave] expected one repeat per slice along dim "
                f"({size}), got {repeats.shape[0]}"
            )
        return _C.index_select(x, d, _repeated_positions(repeats, output_size))
    if not is_int(repeats) or repeats < 0:
        raise _errors.ValueError(
            f"[repeat_interleave] expected repeats >= 0 (an int or a tensor), got {repeats!r}"
        )
    repeats = int(repeats)
    _check_output_size(size * repeats, output_size)
    shape = list(x.shape)
    spread = x.unsqueeze(d + 1).expand(*shape[: d + 1], repeats, *shape[d + 1 :])
    return spread.reshape(*shape[:d], size * repeats, *shape[d + 1 :])


FUNCTIONS = ["index_add", "index_copy", "index_fill", "masked_scatter", "take", "repeat_interleave"]
METHODS = ["index_add", "index_copy", "index_fill", "masked_scatter", "take", "repeat_interleave"]
IN_PLACE = ["index_add", "index_copy", "index_fill", "masked_scatter"]
