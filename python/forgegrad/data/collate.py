"""Samples to batches: ``default_collate`` stacks a list of samples into one batch, field by
field and recursively, as ``torch.utils.data.default_collate`` does; ``default_convert``
turns one sample's numpy arrays into Tensors (the loader's ``batch_size=None`` mode).

forgegrad's storage rule applies to everything that becomes a Tensor here: floats become
float32 (the dtype its math runs in), integers int64 (labels), bools bool, and uint8 stays
uint8 (image pixels). Tensors are stacked as they are (dtype and device kept).
"""

import builtins
import collections.abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _C, _errors
from ..creation import _check_fits

__all__ = ["default_collate", "default_convert"]

# numpy kind -> the dtype forgegrad stores it as (float32 for math, int64 for labels);
# uint8 (image pixels) stays uint8, as in torch, for a `.float() / 255` in the model.
_STORE_AS = {"f": np.float32, "i": np.int64, "u": np.int64, "b": np.bool_}


def storage_dtype(dtype: np.dtype[Any], op: str, what: str) -> np.dtype[Any]:
    """The numpy dtype forgegrad keeps values of `dtype` as; TypeError for non-numbers."""
    if dtype.kind not in _STORE_AS:
        raise _errors.TypeError(
            f"[{op}] expected {what} of numbers (float, int or bool), got numpy dtype {dtype}"
        )
    return np.dtype(np.uint8) if dtype == np.uint8 else np.dtype(_STORE_AS[dtype.kind])


def storable(array: np.ndarray[Any, Any], op: str, what: str) -> np.ndarray[Any, Any]:
    """``array`` as a C-contiguous array of the dtype forgegrad keeps for its kind; no copy
    when it already is one (0-d arrays stay 0-d)."""
    dtype = storage_dtype(array.dtype, op, what)
    if array.dtype.kind in "iu":
        _check_fits(array, dtype, op)
    return np.asarray(array, dtype=dtype, order="C")


def to_numpy(value: Any) -> np.ndarray[Any, Any]:
    """A Tensor's values (detached, on the CPU) or anything numpy can read, as an array."""
    if isinstance(value, _C.Tensor):
        value = value.detach()
        if value.device.type != "cpu":
            value = value.to("cpu")
        return value.numpy()
    return np.asarray(value)


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def _stack_arrays(values: Sequence[Any]) -> _C.Tensor:
    arrays = [np.asarray(v) for v in values]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise _errors.ValueError(
            f"[default_collate] cannot stack samples of different shapes, got {sorted(shapes)}"
        )
    return _C.from_numpy(storable(np.stack(arrays), "default_collate", "samples"))


def _stack_tensors(tensors: Sequence[_C.Tensor]) -> _C.Tensor:
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise _errors.ValueError(
            f"[default_collate] cannot stack samples of different shapes, got {sorted(shapes)}"
        )
    return _C.stack(list(tensors), 0)


def _keys(sample: collections.abc.Mapping[Any, Any]) -> str:
    return "[" + ", ".join(sorted(map(repr, sample))) + "]"


def default_collate(batch: Sequence[Any]) -> Any:
    """One batch from a list of samples, as torch's ``default_collate``:

    * Tensors are stacked (a new first dimension), numpy arrays and numpy or Python numbers
      become one Tensor (dtypes as in this module's docstring);
    * strings and bytes stay a list;
    * a dict (any mapping) gives a dict of batches, a named tuple the same named tuple, a
      tuple a tuple and a list a list of batches, field by field, recursively.

    Samples must agree: same keys, same number of fields, same shapes (ValueError otherwise).
    """
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise _errors.TypeError(
            f"[default_collate] expected a list of samples, got {type(batch).__name__}"
        )
    if len(batch) == 0:
        raise _errors.ValueError("[default_collate] expected at least one sample, got none")
    first = batch[0]
    if isinstance(first, _C.Tensor):
        if not all(isinstance(s, _C.Tensor) for s in batch):
            raise _errors.TypeError(
                "[default_collate] expected every sample to be a Tensor like the first"
            )
        return _stack_tensors(batch)
    if isinstance(first, (np.ndarray, np.generic, builtins.bool, int, float)):
        return _stack_arrays(batch)
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, collections.abc.Mapping):
        for sample in batch:
            if not isinstance(sample, collections.abc.Mapping) or sample.keys() != first.keys():
                other = (
                    _keys(sample)
                    if isinstance(sample, collections.abc.Mapping)
                    else f"a {type(sample).__name__}"
                )
                raise _errors.ValueError(
                    f"[default_collate] samples have different keys: {_keys(first)} and {other}"
                )
        collated = {key: default_collate([s[key] for s in batch]) for key in first}
        return collated if type(first) is dict else _rebuilt(first, collated)
    if isinstance(first, collections.abc.Sequence):
        sizes = {len(s) if isinstance(s, collections.abc.Sequence) else -1 for s in batch}
        if len(sizes) > 1:
            raise _errors.ValueError(
                "[default_collate] expected every sample to have the same "
                f"number of fields, got {sorted(sizes)}"
            )
        fields = [default_collate(list(field)) for field in zip(*batch)]
        if _is_namedtuple(first):
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else _rebuilt(first, fields)
    raise _errors.TypeError(
        "[default_collate] expected samples of Tensors, numpy arrays, "
        "numbers, strings, dicts, lists or tuples, got "
        f"{type(first).__name__}"
    )


def _rebuilt(like: Any, values: Any) -> Any:
    """A container of like's type holding `values`, or the plain dict or list when that type
    cannot be built from them (as torch falls back)."""
    try:
        return type(like)(values)
    except TypeError:
        return values


def default_convert(data: Any) -> Any:
    """One sample with its numpy arrays (and numpy numbers) as Tensors, recursively through
    dicts, tuples and lists; Tensors, Python numbers and strings stay as they are. What the
    loader applies to each sample when ``batch_size=None`` turns batching off."""
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind in _STORE_AS:
        return _C.from_numpy(storable(np.asarray(data), "default_convert", "arrays"))
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        return converted if type(data) is dict else _rebuilt(data, converted)
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return tuple(default_convert(d) for d in data)
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuilt(data, [default_convert(d) for d in data])
    return data
