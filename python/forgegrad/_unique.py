"""unique and unique_consecutive, composed of sort, comparisons and nonzero. Their
results' sizes depend on the data, so (as nonzero) they wait for the device. No gradient, as
in PyTorch."""

import math

from . import _C, _errors


def _runs(rows, order, return_inverse, return_counts):
    """The runs of equal rows (an (m,) or (m, k) tensor, m >= 1) taken in `order` (None: as
    they are): [each run's first row, then where asked each original row's run
    (inverse) and the run lengths]."""
    if order is not None:
        rows = _C.index_select(rows, 0, order)
    m = rows.shape[0]
    differs = _C.ne(_C.narrow(rows, 0, 1, m - 1), _C.narrow(rows, 0, 0, m - 1))
    if rows.ndim > 1:
        differs = _C.any(differs, 1)
    starts = _C.cat([_C.full((1,), 1.0, _C.dtype.bool, rows.device), differs], 0)
    first = _C.nonzero(starts).reshape(-1)
    result = [_C.index_select(rows, 0, first)]
    if return_inverse:
        run = _C.sub(_C.cumsum(starts, 0), 1)  # the run of each row in order
        result.append(run if order is None else _C.scatter(run, 0, order, run))
    if return_counts:
        ends = _C.cat(
            [_C.narrow(first, 0, 1, first.shape[0] - 1), _C.full_int64((1,), m, rows.device)], 0
        )
        result.append(_C.sub(ends, first))
    return result


def _lexicographic_order(rows):
    """The permutation that sorts (m, k) rows lexicographically: stable sorts by each column,
    the last first."""
    order = _C._arange_int64(0, rows.shape[0], 1, device=rows.device)
    for c in range(rows.shape[1] - 1, -1, -1):
        column = _C.index_select(_C.select(rows, 1, c), 0, order)
        order = _C.index_select(order, 0, _C.argsort(column, 0))
    return order


def _distinct(input, dim, in_order, return_inverse, return_counts, op):
    """unique (in_order: sorted first) or unique_consecutive of input's elements (dim None)
    or of its slices along dim, seen as the rows of an (m, k) tensor."""
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
    input = input.detach()
    if dim is None:
        rows, rest, inverse_shape = input.reshape(-1), (), input.shape
    elif input.ndim == 0:
        raise IndexError(f"[{op}] dimension {dim} is out of range for a 0-d tensor")
    else:
        moved = _C.movedim(input, dim, 0)
        rest, inverse_shape = tuple(moved.shape[1:]), (moved.shape[0],)
        rows = moved.reshape(moved.shape[0], math.prod(rest))
    if rows.shape[0] == 0:
        empty = _C.full_int64((0,), 0, rows.device)
        result = [rows] + [empty] * (return_inverse + return_counts)
    else:
        order = None
        if in_order:
            order = _C.argsort(rows, 0) if dim is None else _lexicographic_order(rows)
        result = _runs(rows, order, return_inverse, return_counts)
    result[0] = result[0].reshape((result[0].shape[0],) + rest)
    if dim is not None:
        result[0] = _C.movedim(result[0], 0, dim)
    if return_inverse:
        result[1] = result[1].reshape(inverse_shape)
    return result[0] if len(result) == 1 else tuple(result)


def unique(
    input: _C.Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> _C.Tensor | tuple[_C.Tensor, ...]:
    """The distinct elements of input (or slices along dim), in ascending order (always sorted,
    as PyTorch's GPU result); return_inverse: where each element went; return_counts: how
    often each occurs. NaNs are all distinct."""
    return _distinct(input, dim, True, return_inverse, return_counts, "unique")


def unique_consecutive(
    input: _C.Tensor,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> _C.Tensor | tuple[_C.Tensor, ...]:
    """unique of each run of equal neighbours, in order: [1, 1, 2, 1] -> [1, 2, 1]."""
    return _distinct(input, dim, False, return_inverse, return_counts, "unique_consecutive")


FUNCTIONS = ["unique", "unique_consecutive"]
METHODS = FUNCTIONS
IN_PLACE: list[str] = []
