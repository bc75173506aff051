"""Tensors under ``copy.copy``, ``copy.deepcopy`` and ``pickle``, as in PyTorch.

Modules and optimizers are plain Python objects holding tensors, so they copy and pickle
once their tensors do. A Tensor (or Parameter, or another subclass) keeps its type, dtype,
device, requires_grad and the attributes set on it:

- ``copy.copy`` gives a new tensor sharing the storage;
- ``copy.deepcopy`` copies each storage once, so views stay views of one copy and tied
  parameters stay tied, and copies ``.grad`` too; only graph leaves can be deep-copied;
- ``pickle`` stores the values (bfloat16 exactly, as float32) and the device; loading needs
  that device.
"""

import copy

import numpy as np

from . import _C


def _as_type(cls, values):
    """`values` (a Tensor) as an instance of cls, a Tensor subclass, sharing its storage,
    whatever arguments cls's own __init__ takes."""
    if cls is _C.Tensor:
        return values
    out = cls.__new__(cls)
    _C.Tensor.__init__(out, values)
    return out


def _finish(out, requires_grad, attributes):
    out.requires_grad_(requires_grad)
    out.__dict__.update(attributes)
    return out


def rebuild(cls, array, dtype_name, device, requires_grad, attributes):
    """A pickled tensor back: the inverse of ``reduce_ex``."""
    values = _C.from_numpy(np.ascontiguousarray(array))
    values = values.to(getattr(_C.dtype, dtype_name)).to(device)
    return _finish(_as_type(cls, values), requires_grad, attributes)


def reduce_ex(self, protocol):
    """How pickle stores a tensor: its values as a numpy array (a copy, contiguous), dtype,
    device, requires_grad and attributes. As in PyTorch, a result of an op pickles as a leaf;
    its graph and gradient are not stored."""
    from ._tensor import _numpy_values

    array = np.array(_numpy_values(self), copy=True)
    return (
        rebuild,
        (
            type(self),
            array,
            _dtype_name(self.dtype),
            str(self.device),
            self.requires_grad,
            dict(self.__dict__),
        ),
    )


def _dtype_name(dtype):
    return next(
        name
        for name in dir(_C.dtype)
        if getattr(_C.dtype, name) is dtype or getattr(_C.dtype, name) == dtype
    )


def shallow_copy(self):
    """``copy.copy``: a new tensor of the same type sharing the storage (a leaf, as the
    one PyTorch rebuilds)."""
    return _finish(_as_type(type(self), self.detach()), self.requires_grad, dict(self.__dict__))


def deep_copy(self, memo):
    """``copy.deepcopy``: each storage copied once per deepcopy call, and this tensor a view
    of the copy with its own shape, strides and offset; its grad and attributes deep-copied."""
    if not self.is_leaf:
        raise RuntimeError(
            "[deepcopy] only tensors created by the user (graph leaves) "
            "can be deep-copied; detach() the result of an op first"
        )
    if id(self) in memo:
        return memo[id(self)]
    source = self.detach()
    key = ("forgegrad storage", source._storage_key())
    storage = memo.get(key)
    if storage is None:
        storage = source._as_strided([source._storage_size()], [1], 0).clone()
        memo[key] = storage
        # deepcopy's own keep-alive list: the original stays alive, so its storage's address
        # (the key) is not reused by another storage during this deepcopy
        memo.setdefault(id(memo), []).append(source)
    values = storage._as_strided(list(self.shape), list(self.stride()), self.storage_offset())
    out = _as_type(type(self), values)
    memo[id(self)] = out
    if self.grad is not None:
        out.grad = copy.deepcopy(self.grad, memo)
    return _finish(out, self.requires_grad, copy.deepcopy(dict(self.__dict__), memo))
