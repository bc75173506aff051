"""unique and unique_consecutive, composed of sort, comparisons and masked_select. Their
results' sizes depend on the data, so (as nonzero) they wait for the device. No gradient, as
in PyTorch."""
from . import _errors
import math

from . import _C


def _runs(rows, order, shape_of, return_inverse, return_counts):
    """The runs of equal rows (an (m,) or (m, k) tensor) taken in `order` (None: as they are):
    each run's first row and, where asked, each original row's run (inverse) and run lengths."""
    if order is not None:
        rows = _C.index_select(rows, 0, order)
    m = rows.shape[0]
    if m == 0:
        empty = _C.full_int64((0,), 0, rows.device)
        result = [rows.reshape(shape_of(0))] + [empty] * (return_inverse + return_counts)
        return result[0] if len(result) == 1 else tuple(result)
    differs = _C.ne(_C.narrow(rows, 0, 1, m - 1), _C.narrow(rows, 0, 0, m - 1))
    if rows.ndim > 1:
        differs = _C.any(differs, 1)
    starts = _C.cat([_C.full((1,), 1.0, _C.dtype.bool, rows.device), differs], 0)
    result = [_C.masked_select(rows.reshape(m, -1), starts.reshape(m, 1)).reshape(shape_of(-1))]
    if return_inverse:
        run = _C.sub(_C.cumsum(starts, 0), 1)  # the run of each row in order
        result.append(run if order is None else _C.scatter(run, 0, order, run))
    if return_counts:
        first = _C.nonzero(starts).reshape(-1)
        ends = _C.cat([_C.narrow(first, 0, 1, first.shape[0] - 1),
                       _C.full_int64((1,), m, rows.device)], 0)
        result.append(_C.sub(ends, first))
    return result[0] if len(result) == 1 else tuple(result)


def _as_rows(input, dim, op):
    """input as (m, k) rows along dim (every element a row of one for dim None), and how to
    shape m' such rows back"""
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
    input = input.detach()
    if dim is None:
        return input.reshape(-1), lambda m: (m,), (input.shape if input.ndim else ())
    if input.ndim == 0:
        raise IndexError(f"[{op}] dimension {dim} is out of range for a 0-d tensor")
    moved = _C.movedim(input, dim, 0)
    rest = tuple(moved.shape[1:])
    rows = moved.reshape(moved.shape[0], math.prod(rest))

    def shape_of(m):
        return (m,) + rest
    return rows, shape_of, (moved.shape[0],)


def _back_along(out, input, dim):
    if dim is None:
        return out
    first = out[0] if isinstance(out, tuple) else out
    moved = _C.movedim(first, 0, dim)
    return (moved,) + out[1:] if isinstance(out, tuple) else moved


def _lexicographic_order(rows):
    """The permutation that sorts (m, k) rows lexicographically: stable sorts by each column,
    the last first."""
    order = _C._arange_int64(0, rows.shape[0], 1, device=rows.device)
    for c in range(rows.shape[1] - 1, -1, -1):
        column = _C.index_select(_C.select(rows, 1, c), 0, order)
        order = _C.index_select(order, 0, _C.argsort(column, 0))
    return order


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements of input (or slices along dim), in ascending order (always sorted,
    as PyTorch's GPU result); return_inverse: where each element went; return_counts: how
    often each occurs. NaNs are all distinct."""
    rows, shape_of, inverse_shape = _as_rows(input, dim, "unique")
    order = (_C.argsort(rows, 0) if dim is None else _lexicographic_order(rows))
    out = _runs(rows, order, shape_of, return_inverse, return_counts)
    if return_inverse:
        out = (out[0], out[1].reshape(inverse_shape)) + out[2:]
    return _back_along(out, input, dim)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """unique of each run of equal neighbours, in order: [1, 1, 2, 1] -> [1, 2, 1]."""
    rows, shape_of, inverse_shape = _as_rows(input, dim, "unique_consecutive")
    out = _runs(rows, None, shape_of, return_inverse, return_counts)
    if return_inverse:
        out = (out[0], out[1].reshape(inverse_shape)) + out[2:]
    return _back_along(out, input, dim)


FUNCTIONS = ["unique", "unique_consecutive"]
METHODS = FUNCTIONS
IN_PLACE = []
