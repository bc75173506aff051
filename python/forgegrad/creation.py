"""Creation functions: ``tensor``, ``zeros``, ``randn`` and the rest, as in PyTorch."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _C, _errors
from ._checks import as_device, check_tensor, is_int, is_real
from .random import stream_for

if TYPE_CHECKING:
    from ._C import Tensor
    from .random import Generator

# A size: zeros(2, 3) or zeros((2, 3)); a device: forgegrad.device("cuda:0") or "cuda:0".
Size = builtins.int | Sequence[builtins.int]
Device = _C.device | str | None

# Python numbers (and lists of them) by numpy kind: floats the default float32, as PyTorch.
_FROM_NUMPY_KIND = {
    "f": _C.dtype.float32,
    "i": _C.dtype.int64,
    "u": _C.dtype.int64,
    "b": _C.dtype.bool,
}
# Each dtype's numpy equivalent; bfloat16 has none, and travels as float64 (rounded once).
_TO_NUMPY = {
    _C.dtype.float32: np.float32,
    _C.dtype.float64: np.float64,
    _C.dtype.float16: np.float16,
    _C.dtype.bfloat16: np.float64,
    _C.dtype.int64: np.int64,
    _C.dtype.int32: np.int32,
    _C.dtype.int16: np.int16,
    _C.dtype.int8: np.int8,
    _C.dtype.uint8: np.uint8,
    _C.dtype.bool: np.bool_,
}
_FROM_NUMPY = {np.dtype(v): k for k, v in _TO_NUMPY.items() if k != _C.dtype.bfloat16}


def _size(size):
    """zeros(2, 3) and zeros((2, 3)) alike, as reshape parses its sizes."""
    return _C._size(*size)


def _check_fits(array, dtype, op):
    """Values that an integer numpy `dtype` cannot hold are an error, not a wrap-around."""
    if np.issubdtype(dtype, np.integer) and array.size:
        limits = np.iinfo(dtype)
        # As Python numbers, compared exactly: numpy would compare float64(2**63) with the
        # int64 maximum as float64 and find it no larger, and the cast would wrap.
        low, high = array.min().item(), array.max().item()
        if low < limits.min or high > limits.max:
            raise _errors.ValueError(
                f"[{op}] values from {low} to {high} do not fit "
                f"{np.dtype(dtype).name} ([{limits.min}, {limits.max}])"
            )


def _check_int64(value, op):
    if not -(2**63) <= value < 2**63:
        raise _errors.ValueError(f"[{op}] {value} does not fit int64")


def _finish(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t


def _numpy_dtype(dtype):
    """A numpy dtype's equivalent (one without, uint16 say, by its kind)."""
    return _FROM_NUMPY.get(dtype) or _FROM_NUMPY_KIND[dtype.kind]


_PYTHON_NUMBER_DTYPES = {builtins.bool: _C.dtype.bool, int: _C.dtype.int64, float: _C.dtype.float32}


def _sequence_dtype(data):
    """PyTorch's dtype for nested sequences: the promotion of their elements' types, Python
    bools, ints and floats as bool, int64 and float32, numpy scalars and arrays and Tensors
    as their own dtype; an empty sequence float32."""
    found, pending = set(), [data]
    while pending:
        sequence = pending.pop()
        types = set(map(type, sequence))
        if types <= _PYTHON_NUMBER_DTYPES.keys():  # the common case, without a Python loop
            found.update(_PYTHON_NUMBER_DTYPES[t] for t in types)
            continue
        for item in sequence:
            if isinstance(item, (list, tuple)):
                pending.append(item)
            elif isinstance(item, _C.Tensor):
                found.add(item.dtype)
            elif isinstance(item, (np.ndarray, np.generic)) and item.dtype.kind in "fiub":
                found.add(_numpy_dtype(item.dtype))
            elif type(item) in _PYTHON_NUMBER_DTYPES:
                found.add(_PYTHON_NUMBER_DTYPES[type(item)])
    return functools.reduce(_C.promote_types, found) if found else _C.dtype.float32


def tensor(
    data: Any, dtype: _C.dtype | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, numpy arrays, Tensors).

    The dtype, unless ``dtype`` says otherwise, is as in PyTorch: a Tensor's or a numpy
    array's or scalar's own (float64 stays float64; numpy dtypes without an equivalent, uint16
    say, become int64), for Python numbers: floats float32, ints int64, bools bool, and for
    sequences the promotion of their elements' (``[1, np.float64(2)]`` is float64).
    """
    if dtype is not None and not isinstance(dtype, _C.dtype):
        raise _errors.TypeError(f"[tensor] expected a forgegrad dtype, got {dtype!r}")
    if isinstance(data, _C.Tensor):
        out = _C._to_dtype(data.detach().clone(), dtype or data.dtype)
        return _finish(_C._to_device(out, device), requires_grad)
    try:
        array = np.asarray(data)
    except ValueError as e:  # ragged nesting, say
        raise _errors.ValueError(
            f"[tensor] expected a rectangular nesting of numbers: {e}"
        ) from None
    if array.dtype.kind not in "fiub":
        raise _errors.TypeError(f"[tensor] expected numbers, got data of numpy dtype {array.dtype}")
    if dtype is not None:
        target = dtype
    elif isinstance(data, (np.ndarray, np.generic)):
        target = _numpy_dtype(array.dtype)
    elif isinstance(data, (list, tuple)):
        target = _sequence_dtype(data)
    else:  # a Python number
        target = _FROM_NUMPY_KIND[array.dtype.kind]
    if not target.is_floating_point and array.dtype.kind == "f" and not np.isfinite(array).all():
        raise _errors.ValueError(f"[tensor] cannot store non-finite values as {target}")
    _check_fits(array, _TO_NUMPY[target], "tensor")
    out = _C._copy_from_numpy(np.asarray(array, dtype=_TO_NUMPY[target], order="C"))
    return _finish(_C._to_device(_C._to_dtype(out, target), device), requires_grad)


def as_tensor(data: Any, dtype: _C.dtype | None = None, device: Device = None) -> Tensor:
    """``data`` itself when it is a Tensor of that dtype and device already (or converted to
    them, keeping its graph), else ``tensor(data, dtype, device)``: a copy. (PyTorch shares
    a numpy array's memory here; forgegrad copies it: ``from_numpy`` shares.)"""
    if not isinstance(data, _C.Tensor):
        return tensor(data, dtype=dtype, device=device)
    if dtype is not None and not isinstance(dtype, _C.dtype):
        raise _errors.TypeError(f"[as_tensor] expected a forgegrad dtype, got {dtype!r}")
    target = as_device(device, "as_tensor")
    if target is not None and target != data.device:
        data = data.to(target)
    return data if dtype is None or dtype == data.dtype else data.to(dtype)


def is_tensor(obj: object) -> bool:
    """Whether ``obj`` is a forgegrad Tensor (a Parameter too)."""
    return isinstance(obj, _C.Tensor)


def numel(input: Tensor) -> int:
    """The number of elements of ``input``."""
    return check_tensor(input, "numel").numel()


def empty(
    *size: Size, dtype: _C.dtype | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    """An uninitialized tensor of ``size`` (``empty(2, 3)`` or ``empty((2, 3))``): its
    values are whatever the memory held. dtype float32 unless ``dtype`` says."""
    return _finish(_C.empty(_size(size), dtype, device), requires_grad)


def zeros(
    *size: Size, dtype: _C.dtype | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of zeros of ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``), float32 unless
    ``dtype`` says.

    >>> forgegrad.zeros(2, 3).shape
    (2, 3)
    """
    return _finish(_C.full(_size(size), 0.0, dtype, device), requires_grad)


def ones(
    *size: Size, dtype: _C.dtype | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ones of ``size`` (``ones(2, 3)`` or ``ones((2, 3))``), float32 unless
    ``dtype`` says.

    >>> forgegrad.ones(3, dtype=forgegrad.int64)
    tensor([1, 1, 1])
    """
    return _finish(_C.full(_size(size), 1.0, dtype, device), requires_grad)


def full(
    size: Size,
    fill_value: float,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """``fill_value`` in every element of a tensor of ``size``. Without ``dtype`` the
    value's type decides, as in PyTorch: bool, int64 for an integer, else float32.

    >>> forgegrad.full((2,), 7)
    tensor([7, 7])
    """
    if dtype is None:  # like torch: the fill value's type decides
        dtype = (
            _C.dtype.bool
            if isinstance(fill_value, builtins.bool)
            else _C.dtype.int64
            if isinstance(fill_value, (int, np.integer))
            else _C.dtype.float32
        )
    if dtype == _C.dtype.int64 and isinstance(fill_value, (int, np.integer)):
        _check_int64(fill_value, "full")
        return _finish(_C.full_int64(_size((size,)), int(fill_value), device), requires_grad)
    return _finish(_C.full(_size((size,)), float(fill_value), dtype, device), requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """start, start + step, ... before end. Integer arguments give int64, exact over all of
    int64 (a float would round them past 2**53); an int64 arange of other numbers truncates
    them to integers first, as PyTorch does."""
    if end is None:
        start, end = 0, start
    for v in (start, end, step):
        if isinstance(v, (builtins.bool, np.bool_)) or not hasattr(v, "__float__"):
            raise _errors.TypeError(
                f"[arange] expected real numbers for start, end and step, got "
                f"{v!r} ({type(v).__name__})"
            )
    integral = all(is_int(v) for v in (start, end, step))
    if dtype is None:
        dtype = _C.dtype.int64 if integral else _C.dtype.float32
    if integral and dtype == _C.dtype.int64:
        for v in (start, end, step):
            _check_int64(v, "arange")
        return _finish(_C._arange_int64(int(start), int(end), int(step), device), requires_grad)
    return _finish(_C.arange(float(start), float(end), float(step), dtype, device), requires_grad)


def random_draws(
    draw: Callable[..., Tensor],
    shape: Sequence[int],
    generator: Generator | None,
    dtype: _C.dtype | None,
    device: Device,
    op: str,
) -> Tensor:
    """draw (_C.rand or _C.randn) of a shape from generator's stream (None: the global one)."""
    return draw(shape, dtype, device, stream_for(generator, device, op))


def rand(
    *size: Size,
    generator: Generator | None = None,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform on [0, 1), from the Philox stream of ``generator`` (None: the global one,
    which ``manual_seed`` sets). Drawn in float32; a float64, float16 or bfloat16 dtype gets
    those draws cast (the same numbers per seed)."""
    return _finish(
        random_draws(_C.rand, _size(size), generator, dtype, device, "rand"), requires_grad
    )


def randn(
    *size: Size,
    generator: Generator | None = None,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal, from the Philox stream of ``generator``. Drawn in float32, as
    ``rand``."""
    return _finish(
        random_draws(_C.randn, _size(size), generator, dtype, device, "randn"), requires_grad
    )


def zeros_like(
    t: Tensor, dtype: _C.dtype | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    """Zeros of ``t``'s shape, dtype and device, unless ``dtype`` or ``device`` say."""
    check_tensor(t, "zeros_like")
    return zeros(
        t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad
    )


def ones_like(
    t: Tensor, dtype: _C.dtype | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    """Ones of ``t``'s shape, dtype and device, unless ``dtype`` or ``device`` say."""
    check_tensor(t, "ones_like")
    return ones(
        t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad
    )


# ---- evenly spaced values, the identity, the *_like family, random integers


def _real_bound(value, name, op):
    """A Python or numpy real, or a one-element Tensor (PyTorch takes 0-d tensors), as a
    float."""
    if isinstance(value, _C.Tensor):
        if value.numel() != 1:
            raise _errors.ValueError(
                f"[{op}] expected {name} to be a number or a one-element tensor, "
                f"got shape {value.shape}"
            )
        return float(value.item())
    if not is_real(value):
        raise _errors.TypeError(f"[{op}] expected {name} to be a real number, got {value!r}")
    return float(value)


def _count(value, name, op):
    if not is_int(value):
        raise _errors.TypeError(f"[{op}] expected {name} to be an int, got {value!r}")
    if value < 0:
        raise _errors.ValueError(f"[{op}] expected {name} >= 0, got {value}")
    return int(value)


def _evenly_spaced(start, end, steps, op):
    """PyTorch's linspace points in float64: the first half stepped up from start, the second
    half stepped down from end, so both ends are exact."""
    start, end = _real_bound(start, "start", op), _real_bound(end, "end", op)
    steps = _count(steps, "steps", op)
    i = np.arange(steps, dtype=np.float64)
    if steps == 1:
        return np.array([start])
    step = (end - start) / (steps - 1)
    return np.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i))


def _from_values(values, dtype, device, requires_grad):
    """float64 values as a new dtype tensor (float32 by default); integer dtypes truncate."""
    dtype = dtype or _C.dtype.float32
    if not dtype.is_floating_point:
        values = np.trunc(values)
    return tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """steps values from start to end (both included), evenly spaced."""
    return _from_values(_evenly_spaced(start, end, steps, "linspace"), dtype, device, requires_grad)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """base ** linspace(start, end, steps)."""
    base = _real_bound(base, "base", "logspace")
    return _from_values(
        np.power(base, _evenly_spaced(start, end, steps, "logspace")), dtype, device, requires_grad
    )


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """An n x m (m defaults to n) matrix with ones on the diagonal."""
    n = _count(n, "n", "eye")
    m = n if m is None else _count(m, "m", "eye")
    return tensor(
        np.eye(n, m), dtype=dtype or _C.dtype.float32, device=device, requires_grad=requires_grad
    )


def _like(input, dtype, device, op):
    """input's shape, and dtype and device unless given."""
    check_tensor(input, op)
    return tuple(input.shape), dtype or input.dtype, device or input.device


def _floating_like(input, dtype, device, op):
    shape, dtype, device = _like(input, dtype, device, op)
    if not dtype.is_floating_point:
        raise _errors.TypeError(f"[{op}] expected a floating-point dtype, got {dtype}")
    return shape, dtype, device


def empty_like(
    input: Tensor,
    *,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """An uninitialized tensor of ``input``'s shape, dtype and device, unless ``dtype`` or
    ``device`` say."""
    shape, dtype, device = _like(input, dtype, device, "empty_like")
    return empty(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(
    input: Tensor,
    fill_value: float,
    *,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """``fill_value`` in a tensor of ``input``'s shape, dtype and device, unless ``dtype`` or
    ``device`` say."""
    shape, dtype, device = _like(input, dtype, device, "full_like")
    return full(shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(
    input: Tensor,
    *,
    generator: Generator | None = None,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform draws in [0, 1) of ``input``'s shape, dtype and device (a floating dtype),
    unless ``dtype`` or ``device`` say."""
    shape, dtype, device = _floating_like(input, dtype, device, "rand_like")
    return rand(shape, generator=generator, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(
    input: Tensor,
    *,
    generator: Generator | None = None,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal draws of ``input``'s shape, dtype and device (a floating dtype),
    unless ``dtype`` or ``device`` say."""
    shape, dtype, device = _floating_like(input, dtype, device, "randn_like")
    return randn(
        shape, generator=generator, dtype=dtype, device=device, requires_grad=requires_grad
    )


def _integer_range(low, high, dtype, op):
    """[low, high) checked: ints, low < high, and every value of it fits dtype."""
    for name, v in (("low", low), ("high", high)):
        if not is_int(v):
            raise _errors.TypeError(f"[{op}] expected {name} to be an int, got {v!r}")
    _check_int64(low, op)
    _check_int64(high - 1, op)  # high itself may be 2**63: [0, int64's max]
    if low >= high:
        raise _errors.ValueError(f"[{op}] expected low < high, got low={low} and high={high}")
    if not dtype.is_floating_point:
        limits = np.iinfo(_TO_NUMPY[dtype]) if dtype != _C.dtype.bool else None
        lowest, highest = (limits.min, limits.max) if limits else (0, 1)
        if low < lowest or high - 1 > highest:
            raise _errors.ValueError(
                f"[{op}] expected a range within [{lowest}, {highest}] for "
                f"{dtype}, got [{low}, {high})"
            )
    return int(low), int(high)


def _random_integers(low, high, size, generator, dtype, device, requires_grad, op):
    dtype = dtype or _C.dtype.int64
    low, high = _integer_range(low, high, dtype, op)
    stream = stream_for(generator, device, op)
    values = _C._randint(low, high - low, _size((size,)), device, stream)
    return _finish(_C._to_dtype(values, dtype), requires_grad)


def randint(
    *args: int | Sequence[int],
    low: int | None = None,
    high: int | None = None,
    size: Sequence[int] | None = None,
    generator: Generator | None = None,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers uniform on [low, high) (low defaults to 0): ``randint(high, size)``,
    ``randint(low, high, size)``, or by keyword, as in PyTorch. int64 unless dtype says."""
    given: list[Any] = list(args)
    if size is None and given:
        size = given.pop()
    if high is None and given:
        high = given.pop()
    if low is None:
        low = given.pop() if given else 0
    if given or size is None or high is None:
        raise _errors.TypeError(
            "[randint] expected (high, size) or (low, high, size), got "
            f"{len(args)} positional arguments"
        )
    return _random_integers(low, high, size, generator, dtype, device, requires_grad, "randint")


def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    generator: Generator | None = None,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """randint with input's shape, dtype and device: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``."""
    shape, dtype, device = _like(input, dtype, device, "randint_like")
    if high is None:
        low, high = 0, low
    return _random_integers(
        low, high, shape, generator, dtype, device, requires_grad, "randint_like"
    )


def randperm(
    n: int,
    *,
    generator: Generator | None = None,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """A random permutation of 0 .. n - 1 (int64 unless dtype says)."""
    n = _count(n, "n", "randperm")
    values = _C._randperm(n, device, stream_for(generator, device, "randperm"))
    return _finish(_C._to_dtype(values, dtype or _C.dtype.int64), requires_grad)
