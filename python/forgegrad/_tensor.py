"""Tensor methods that read best in Python: repr, conversions, and the op methods,
which are the functions of ``forgegrad._C`` attached to the class."""
import builtins
import collections
import functools
import operator

import numpy as np

from . import _C
from .creation import _size

Tensor = _C.Tensor

MaxResult = collections.namedtuple("max", ["values", "indices"])


def max(input, dim=None, keepdim=False):
    """The largest element, or ``(values, indices)`` along ``dim``, as ``torch.max``."""
    if dim is None:
        return _C._max(input)
    return MaxResult(*_C._max_dim(input, dim, keepdim))


def reshape(input, *shape):
    """A view with a new shape (one dimension may be -1)."""
    return _C._reshape(input, _size(shape))


def _repr(self):
    array = self.detach().cpu().numpy()
    if self.dtype == _C.dtype.float32:
        body = np.array2string(array, separator=", ", prefix="tensor(",
                               formatter={"float_kind": lambda v: f"{v:.4f}"})
    else:
        body = np.array2string(array, separator=", ", prefix="tensor(")
    extras = []
    if self.dtype not in (_C.dtype.float32, _C.dtype.int64):
        extras.append(f"dtype={self.dtype}")
    if self.device.type != "cpu":
        extras.append(f"device='{self.device}'")
    if self.grad_fn is not None:
        extras.append(f"grad_fn={self.grad_fn!r}")
    elif self.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + ", ".join([body] + extras) + ")"


def _to(self, *args, **kwargs):
    """``t.to(dtype)``, ``t.to(device)``, ``t.to(device, dtype)``, or by keyword."""
    dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
    if kwargs:
        raise TypeError(f"[to] unexpected arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, _C.dtype):
            dtype = arg
        elif isinstance(arg, (str, _C.device)):
            device = arg
        else:
            raise TypeError(f"[to] expected a dtype or a device, got {arg!r}")
    out = self if device is None else _C._to_device(self, device)
    return out if dtype is None else _C._to_dtype(out, dtype)


def _single_value(self, kind):
    if self.numel() != 1:
        raise ValueError(f"[{kind}] only one-element tensors convert to a Python {kind}, "
                         f"got shape {self.shape}")
    return self.item()


def _in_place(op, name, takes_alpha=False, augmented=False):
    """``t.mul_(other)``, ``t += other`` and the like: the result written back into t.

    A write into t is not recorded by autograd, so while gradients are recorded it is refused
    on a leaf that requires grad (update parameters under no_grad), and where the result
    would join a graph: there ``+=`` and friends give a new, recorded tensor instead (as
    ``loss /= 4`` or ``total += loss`` mean), and ``add_`` and friends refuse. ``add_`` and
    ``sub_`` take PyTorch's ``alpha`` (other scaled by it)."""
    def method(self, other, *, alpha=1):
        if alpha != 1:
            if not takes_alpha:
                raise TypeError(f"[{name}] takes no alpha")
            other = other * alpha
        recorded = _C.is_grad_enabled() and (
            self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
        if recorded and self.is_leaf and self.requires_grad:
            raise RuntimeError(f"[{name}] a leaf tensor that requires grad cannot be changed "
                               "in place while gradients are recorded; wrap the update in "
                               "forgegrad.no_grad()")
        if recorded:
            if augmented:
                return op(self, other)
            raise RuntimeError(f"[{name}] would change a tensor of a recorded graph in place, "
                               "which autograd does not record; write the out-of-place form "
                               "(y = y + x), or use forgegrad.no_grad()")
        result = op(self, other)
        if result.shape != self.shape or result.dtype != self.dtype:
            raise ValueError(f"[{name}] the result (shape {result.shape}, {result.dtype}) "
                             f"cannot be written into a tensor of shape {self.shape}, "
                             f"{self.dtype}")
        return _C._copy_(self, result)
    method.__name__ = name
    return method


_METHODS = {
    "__repr__": _repr,
    "__str__": _repr,
    "tolist": lambda self: self.detach().cpu().numpy().tolist(),
    "to": _to,
    "float": lambda self: _C._to_dtype(self, _C.dtype.float32),
    "long": lambda self: _C._to_dtype(self, _C.dtype.int64),
    "bool": lambda self: _C._to_dtype(self, _C.dtype.bool),
    "cpu": lambda self: _C._to_device(self, "cpu"),
    "cuda": lambda self, device="cuda": _C._to_device(self, device),
    "__deepcopy__": lambda self, memo: _deepcopy(self, memo),
    "__iter__": lambda self: _iter(self),
    "data": property(lambda self: self.detach(), lambda self, value: _set_data(self, value)),
    "__bool__": lambda self: builtins.bool(_single_value(self, "bool")),
    "__float__": lambda self: float(_single_value(self, "float")),
    "__int__": lambda self: int(_single_value(self, "int")),
    "max": max,
    "reshape": reshape,
    "view": lambda self, *shape: _C._view(self, _size(shape)),
    "fill_": lambda self, value: _fill(self, value),
    "zero_": lambda self: _C._fill_(self, 0.0),
    "copy_": functools.partialmethod(_C._copy_),
    "add_": _in_place(operator.add, "add_", takes_alpha=True),
    "sub_": _in_place(operator.sub, "sub_", takes_alpha=True),
    "mul_": _in_place(operator.mul, "mul_"),
    "div_": _in_place(operator.truediv, "div_"),
    # Without these, `p -= lr * p.grad` would rebind p to a new tensor, leaving the
    # parameter unchanged.
    "__iadd__": _in_place(operator.add, "__iadd__", augmented=True),
    "__isub__": _in_place(operator.sub, "__isub__", augmented=True),
    "__imul__": _in_place(operator.mul, "__imul__", augmented=True),
    "__itruediv__": _in_place(operator.truediv, "__itruediv__", augmented=True),
}


def _set_data(self, value):
    """``t.data = v``: the values of v written into t, which keeps its identity, its graph
    role and every reference to it (PyTorch swaps the storage; forgegrad copies, so the
    shape and dtype must match)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"[data] expected a Tensor, got {type(value).__name__}")
    if value.shape != self.shape or value.dtype != self.dtype:
        raise ValueError(f"[data] expected a tensor of shape {self.shape} and {self.dtype}, got "
                         f"shape {value.shape} and {value.dtype}")
    _C._copy_(self.detach(), value.detach())


def _fill(self, value):
    """``t.fill_(value)``; an int into an int64 tensor goes exactly (past 2**53, where a
    float would round it)."""
    if (self.dtype == _C.dtype.int64 and isinstance(value, (int, np.integer))
            and not isinstance(value, builtins.bool)):
        if not -2**63 <= value < 2**63:
            raise ValueError(f"[fill_] cannot store {value} in a int64 tensor")
        return _C._copy_(self, _C.full_int64(list(self.shape), int(value), self.device))
    return _C._fill_(self, value)


def _iter(self):
    """The rows along the first axis, as PyTorch iterates; a 0-d tensor has none to give."""
    if self.ndim == 0:
        raise TypeError("[iter] iteration over a 0-d tensor")
    return (self[i] for i in range(self.shape[0]))


def _deepcopy(self, memo):
    """copy.deepcopy of a leaf tensor (or Parameter): new storage, same requires_grad and a
    copy of its grad, as in PyTorch (which, too, refuses results of ops)."""
    if not self.is_leaf:
        raise RuntimeError("[deepcopy] only leaf tensors can be deep-copied; detach() first")
    out = type(self)(self.detach().clone())
    out.requires_grad_(self.requires_grad)
    if self.grad is not None:
        out.grad = self.grad.clone()
    return out


# The op functions whose first argument is the tensor become methods of the same name.
_OP_METHODS = ["exp", "log", "sqrt", "abs", "clamp", "sum", "mean", "argmax", "flatten",
               "transpose", "matmul", "relu", "tanh", "sigmoid", "softmax", "log_softmax",
               "clone", "add", "sub", "mul", "div", "neg"]


# ---- views and layout (issue 13, part A); the op table takes these over ----

def _sizes(args):
    """``f(2, 3)`` or ``f((2, 3))`` as a list of ints, as torch's size arguments."""
    return list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)


def permute(input, *dims):
    """A view with the dims reordered: ``permute(x, (2, 0, 1))`` or ``x.permute(2, 0, 1)``."""
    return _C._permute(input, _sizes(dims))


def expand(input, *sizes):
    """A view repeating size-1 dims (stride 0) to ``sizes``; -1 keeps a size."""
    return _C._expand(input, _sizes(sizes))


def t(input):
    """The transpose of a tensor of at most 2 dims (a view), as ``torch.t``."""
    if input.ndim > 2:
        raise RuntimeError(f"[t] expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return _C._reverse_dims(input)


def unfold(input, dimension, size, step):
    """A view of every window of ``size`` elements along ``dimension``, ``step`` apart (a new
    last dim holds each window's elements), as ``Tensor.unfold``."""
    return _C._unfold(input, dimension, size, step)


_VIEW_METHODS = {
    "contiguous": lambda self: self if self.is_contiguous() else _C.contiguous(self),
    "permute": permute,
    "expand": expand,
    "expand_as": lambda self, other: _C._expand(self, list(other.shape)),
    "t": t,
    "unfold": unfold,
    # T reverses every dim (deprecated by PyTorch beyond 2-D, still given); mT swaps the last two.
    "T": property(lambda self: _C._reverse_dims(self)),
    "mT": property(lambda self: _C._matrix_transpose(self)),
}
_VIEW_OP_METHODS = ["movedim", "swapaxes", "swapdims", "broadcast_to", "narrow",
                    "select", "unsqueeze", "squeeze", "unflatten", "diagonal"]


def _install():
    for name, method in {**_METHODS, **_VIEW_METHODS}.items():
        setattr(Tensor, name, method)
    for name in _OP_METHODS + _VIEW_OP_METHODS:
        setattr(Tensor, name, functools.partialmethod(getattr(_C, name)))


_install()
