"""Creation functions: ``tensor``, ``zeros``, ``randn`` and the rest, as in PyTorch."""
import builtins

import numpy as np

from . import _C
from . import _errors
from ._checks import is_int

# Python numbers (and lists of them) by numpy kind: floats the default float32, as PyTorch.
_FROM_NUMPY_KIND = {"f": _C.dtype.float32, "i": _C.dtype.int64, "u": _C.dtype.int64,
                    "b": _C.dtype.bool}
# Each dtype's numpy equivalent; bfloat16 has none, and travels as float64 (rounded once).
_TO_NUMPY = {_C.dtype.float32: np.float32, _C.dtype.float64: np.float64,
             _C.dtype.float16: np.float16, _C.dtype.bfloat16: np.float64,
             _C.dtype.int64: np.int64, _C.dtype.int32: np.int32, _C.dtype.int16: np.int16,
             _C.dtype.int8: np.int8, _C.dtype.uint8: np.uint8, _C.dtype.bool: np.bool_}
_FROM_NUMPY = {np.dtype(v): k for k, v in _TO_NUMPY.items() if k != _C.dtype.bfloat16}


def _size(size):
    """zeros(2, 3) and zeros((2, 3)) alike, as reshape parses its sizes."""
    return _C._size(*size)


def _check_fits(array, dtype, op):
    """Values that an integer numpy `dtype` cannot hold are an error, not a wrap-around."""
    if np.issubdtype(dtype, np.integer) and array.size:
        limits = np.iinfo(dtype)
        low, high = array.min(), array.max()
        if low < limits.min or high > limits.max:
            raise _errors.ValueError(f"[{op}] values from {low} to {high} do not fit "
                                     f"{np.dtype(dtype).name} ([{limits.min}, {limits.max}])")


def _check_int64(value, op):
    if not -2**63 <= value < 2**63:
        raise _errors.ValueError(f"[{op}] {value} does not fit int64")


def _finish(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (nested lists, numbers, numpy arrays, Tensors).

    The dtype, unless ``dtype`` says otherwise, is as in PyTorch: a Tensor's or a numpy
    array's own (float64 stays float64; numpy dtypes without an equivalent, uint16 say,
    become int64), and for Python numbers: floats float32, ints int64, bools bool.
    """
    if dtype is not None and not isinstance(dtype, _C.dtype):
        raise _errors.TypeError(f"[tensor] expected a forgegrad dtype, got {dtype!r}")
    if isinstance(data, _C.Tensor):
        out = _C._to_dtype(data.detach().clone(), dtype or data.dtype)
        return _finish(_C._to_device(out, device), requires_grad)
    try:
        array = np.asarray(data)
    except ValueError as e:  # ragged nesting, say
        raise _errors.ValueError("[tensor] expected a rectangular nesting of numbers: "
                                 f"{e}") from None
    if array.dtype.kind not in "fiub":
        raise _errors.TypeError(f"[tensor] expected numbers, got data of numpy dtype {array.dtype}")
    from_numpy_data = isinstance(data, (np.ndarray, np.generic))
    if dtype is not None:
        target = dtype
    elif from_numpy_data and array.dtype in _FROM_NUMPY:
        target = _FROM_NUMPY[array.dtype]
    else:
        target = _FROM_NUMPY_KIND[array.dtype.kind]
    if (not target.is_floating_point and array.dtype.kind == "f"
            and not np.isfinite(array).all()):
        raise _errors.ValueError(f"[tensor] cannot store non-finite values as {target}")
    _check_fits(array, _TO_NUMPY[target], "tensor")
    out = _C._copy_from_numpy(np.asarray(array, dtype=_TO_NUMPY[target], order="C"))
    return _finish(_C._to_device(_C._to_dtype(out, target), device), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _finish(_C.empty(_size(size), dtype, device), requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _finish(_C.full(_size(size), 0.0, dtype, device), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _finish(_C.full(_size(size), 1.0, dtype, device), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:  # like torch: the fill value's type decides
        dtype = (_C.dtype.bool if isinstance(fill_value, builtins.bool) else
                 _C.dtype.int64 if isinstance(fill_value, (int, np.integer)) else
                 _C.dtype.float32)
    if dtype == _C.dtype.int64 and isinstance(fill_value, (int, np.integer)):
        _check_int64(fill_value, "full")
        return _finish(_C.full_int64(_size((size,)), int(fill_value), device), requires_grad)
    return _finish(_C.full(_size((size,)), float(fill_value), dtype, device), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """start, start + step, ... before end. Integer arguments give int64, exact over all of
    int64 (a float would round them past 2**53); an int64 arange of other numbers truncates
    them to integers first, as PyTorch does."""
    if end is None:
        start, end = 0, start
    for v in (start, end, step):
        if isinstance(v, (builtins.bool, np.bool_)) or not hasattr(v, "__float__"):
            raise _errors.TypeError(f"[arange] expected real numbers for start, end and step, got "
                                    f"{v!r} ({type(v).__name__})")
    integral = all(is_int(v) for v in (start, end, step))
    if dtype is None:
        dtype = _C.dtype.int64 if integral else _C.dtype.float32
    if integral and dtype == _C.dtype.int64:
        for v in (start, end, step):
            _check_int64(v, "arange")
        return _finish(_C._arange_int64(int(start), int(end), int(step), device), requires_grad)
    return _finish(_C.arange(float(start), float(end), float(step), dtype, device), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1), from the Philox stream ``manual_seed`` sets. Drawn in float32; a
    float64, float16 or bfloat16 dtype gets those draws cast (the same numbers per seed)."""
    return _finish(_C.rand(_size(size), dtype, device), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal, from the Philox stream ``manual_seed`` sets. Drawn in float32, as
    ``rand``."""
    return _finish(_C.randn(_size(size), dtype, device), requires_grad)


def _check_tensor(t, op):
    if not isinstance(t, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor, got {type(t).__name__}")


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    _check_tensor(t, "zeros_like")
    return zeros(t.shape, dtype=dtype or t.dtype, device=device or t.device,
                 requires_grad=requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    _check_tensor(t, "ones_like")
    return ones(t.shape, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)
