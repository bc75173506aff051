"""Tensor methods that read best in Python: conversions, in-place updates. (The op
methods come from the op table: see _ops.py; repr is _printing's, copy and pickle
_copying's.)"""

import builtins
import functools
import operator
import weakref

import numpy as np

from . import (
    _C,
    _copying,
    _errors,
    _index_ops,
    _movement,
    _printing,
    _sampling,
    _unique,
    autograd,
    creation,
)

from ._checks import check_tensor

Tensor = _C.Tensor


def _numpy_values(self):
    """The values as a numpy array (detached, on the CPU; bfloat16, which numpy lacks, as
    float32, which holds it exactly)."""
    t = self.detach().cpu()
    return (t.float() if t.dtype == _C.dtype.bfloat16 else t).numpy()


def _to(self, *args, **kwargs):
    """``t.to(dtype)``, ``t.to(device)``, ``t.to(device, dtype)``, or by keyword."""
    dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
    if kwargs:
        raise _errors.TypeError(f"[to] unexpected arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, _C.dtype):
            dtype = arg
        elif isinstance(arg, (str, _C.device)):
            device = arg
        else:
            raise _errors.TypeError(f"[to] expected a dtype or a device, got {arg!r}")
    out = self if device is None else _C._to_device(self, device)
    return out if dtype is None else _C._to_dtype(out, dtype)


def _single_value(self, kind):
    if self.numel() != 1:
        raise _errors.ValueError(
            f"[{kind}] only one-element tensors convert to a Python {kind}, got shape {self.shape}"
        )
    return self.item()


def in_place_method(op, name, augmented=False):
    """``t.mul_(other)``, ``t += other`` and the like: op(t, ...) written back into t.

    A write into t is not recorded by autograd, so while gradients are recorded it is refused
    on a leaf that requires grad (update parameters under no_grad), and where the result
    would join a graph: there ``+=`` and friends give a new, recorded tensor instead (as
    ``loss /= 4`` or ``total += loss`` mean), and ``add_`` and friends refuse."""

    def method(self, *args, **kwargs):
        recorded = _C.is_grad_enabled() and (
            self.requires_grad
            or builtins.any(
                isinstance(a, Tensor) and a.requires_grad for a in (*args, *kwargs.values())
            )
        )
        if recorded and self.is_leaf and self.requires_grad:
            raise RuntimeError(
                f"[{name}] a leaf tensor that requires grad cannot be changed "
                "in place while gradients are recorded; wrap the update in "
                "forgegrad.no_grad()"
            )
        if recorded:
            if augmented:
                return op(self, *args, **kwargs)
            raise RuntimeError(
                f"[{name}] would change a tensor of a recorded graph in place, "
                "which autograd does not record; write the out-of-place form "
                "(y = y + x), or use forgegrad.no_grad()"
            )
        result = op(self, *args, **kwargs)
        if result.shape != self.shape:
            raise _errors.ValueError(
                f"[{name}] the result of shape {result.shape} cannot be "
                f"written into a tensor of shape {self.shape}"
            )
        if not _C.can_cast(result.dtype, self.dtype):  # PyTorch's rule: float into int64, no
            raise RuntimeError(
                f"[{name}] result type {result.dtype} can't be cast to the "
                f"desired output type {self.dtype}"
            )
        return _C._copy_(self, result)

    method.__name__ = name
    method.__doc__ = (
        f"``{getattr(op, '__name__', name)}(self, ...)`` written back into "
        "``self``, in place; returns ``self``."
    )
    return method


def copy_(self: Tensor, src: Tensor) -> Tensor:
    """Copies ``src``'s values (broadcast, converted to ``self``'s dtype and device) into
    ``self``; returns ``self``."""
    return _C._copy_(self, src)


def _dtype_conversion(dtype, name):
    def method(self):
        return _C._to_dtype(self, dtype)

    method.__name__ = name
    method.__doc__ = f"``self``'s values as {dtype} (a recorded conversion)."
    return method


def _documented(doc, function):
    function.__doc__ = doc
    return function


_METHODS = {
    "__repr__": _printing.tensor_repr,
    "__str__": _printing.tensor_repr,
    "__format__": _printing.tensor_format,
    "tolist": _documented(
        "The values as nested Python lists (a number for a 0-d tensor).",
        lambda self: _numpy_values(self).tolist(),
    ),
    "to": _to,
    # ---- dtype conversions
    **{
        name: _dtype_conversion(dtype, name)
        for name, dtype in [
            ("float", _C.dtype.float32),
            ("double", _C.dtype.float64),
            ("half", _C.dtype.float16),
            ("bfloat16", _C.dtype.bfloat16),
            ("long", _C.dtype.int64),
            ("int", _C.dtype.int32),
            ("short", _C.dtype.int16),
            ("char", _C.dtype.int8),
            ("byte", _C.dtype.uint8),
            ("bool", _C.dtype.bool),
        ]
    },
    "type": _documented(
        "PyTorch's legacy type name (``'torch.FloatTensor'``) without an "
        "argument; with a dtype or such a name, ``self`` converted to it.",
        lambda self, dtype=None: _type(self, dtype),
    ),
    "is_floating_point": _documented(
        "Whether the dtype is a floating-point one.", lambda self: self.dtype.is_floating_point
    ),
    "element_size": _documented(
        "The size of one element in bytes.", lambda self: self.dtype.itemsize
    ),
    "nelement": _documented("The number of elements (``numel()``).", lambda self: self.numel()),
    "ndimension": _documented("The number of dimensions (``dim()``).", lambda self: self.ndim),
    "type_as": _documented(
        "``self`` converted to ``other``'s dtype (``self`` itself when it has it already).",
        lambda self, other: self.to(check_tensor(other, "type_as").dtype),
    ),
    "view_as": _documented(
        "A view of ``self`` in ``other``'s shape (``view(other.shape)``).",
        lambda self, other: self.view(check_tensor(other, "view_as").shape),
    ),
    "reshape_as": _documented(
        "``self`` in ``other``'s shape (``reshape(other.shape)``): a view when it can be.",
        lambda self, other: self.reshape(check_tensor(other, "reshape_as").shape),
    ),
    "cpu": _documented(
        "``self``'s values in CPU memory (a recorded copy).",
        lambda self: _C._to_device(self, "cpu"),
    ),
    "cuda": _documented(
        "``self``'s values on the GPU ``device`` (a recorded copy).",
        lambda self, device="cuda": _C._to_device(self, device),
    ),
    "__deepcopy__": _copying.deep_copy,
    "__copy__": _copying.shallow_copy,
    "__reduce_ex__": _copying.reduce_ex,
    "__iter__": lambda self: _iter(self),
    "data": property(
        lambda self: self.detach(),
        lambda self, value: _set_data(self, value),
        doc="The values without the graph (``detach()``); assigning replaces "
        "them in place, unrecorded.",
    ),
    "__bool__": lambda self: builtins.bool(_single_value(self, "bool")),
    "__float__": lambda self: float(_single_value(self, "float")),
    "__int__": lambda self: int(_single_value(self, "int")),
    "__abs__": lambda self: _C.abs(self),
    # T reverses every dim (deprecated by PyTorch beyond 2-D, still given); mT swaps the last two.
    "T": property(lambda self: _C._reverse_dims(self), doc="A view with the dims reversed."),
    "contiguous": _documented(
        "The values in row-major order: ``self`` itself when they are already, else a copy.",
        lambda self: self if self.is_contiguous() else _C._contiguous(self),
    ),
    "mT": property(
        lambda self: _C._matrix_transpose(self),
        doc="A view with the last two dims swapped (a batch of transposes).",
    ),
    "fill_": _documented(
        "Sets every element to ``value``, in place; returns ``self``.",
        lambda self, value: _fill(self, value),
    ),
    "zero_": _documented(
        "Sets every element to 0, in place; returns ``self``.", lambda self: _C._fill_(self, 0.0)
    ),
    "copy_": copy_,
    "__pow__": lambda self, exponent: _C.pow(self, exponent),
    # ---- new tensors, of self's dtype and on its device unless dtype= or device= say
    "new_zeros": _documented(
        "Zeros of the given size, of ``self``'s dtype and device unless "
        "``dtype=`` or ``device=`` say otherwise.",
        lambda self, *size, **kw: _new(self, creation.zeros, size, kw),
    ),
    "new_ones": _documented(
        "Ones of the given size, of ``self``'s dtype and device unless "
        "``dtype=`` or ``device=`` say otherwise.",
        lambda self, *size, **kw: _new(self, creation.ones, size, kw),
    ),
    "new_empty": _documented(
        "An uninitialized tensor of the given size, of ``self``'s dtype "
        "and device unless ``dtype=`` or ``device=`` say otherwise.",
        lambda self, *size, **kw: _new(self, creation.empty, size, kw),
    ),
    "new_full": _documented(
        "``fill_value`` in a tensor of ``size``, of ``self``'s dtype and "
        "device unless ``dtype=`` or ``device=`` say otherwise.",
        lambda self, size, fill_value, **kw: _new(self, creation.full, (size, fill_value), kw),
    ),
    "new_tensor": _documented(
        "A new tensor of ``data``'s values, of ``self``'s dtype and "
        "device unless ``dtype=`` or ``device=`` say otherwise.",
        lambda self, data, **kw: _new(self, creation.tensor, (data,), kw),
    ),
}


# Without these, `p -= lr * p.grad` would rebind p to a new tensor, leaving the parameter
# unchanged. (add_ and the other op_name_ forms come from the op table.)
for _name, _op in [
    ("add", "add"),
    ("sub", "sub"),
    ("mul", "mul"),
    ("truediv", "truediv"),
    ("floordiv", "floordiv"),
    ("mod", "mod"),
    ("pow", "pow"),
    ("and", "and_"),
    ("or", "or_"),
    ("xor", "xor"),
    ("lshift", "lshift"),
    ("rshift", "rshift"),
]:
    _METHODS[f"__i{_name}__"] = in_place_method(
        getattr(operator, _op), f"__i{_name}__", augmented=True
    )


# dtype <-> PyTorch's legacy tensor type names, for Tensor.type()
_TYPE_NAMES = {
    _C.dtype.float32: "FloatTensor",
    _C.dtype.float64: "DoubleTensor",
    _C.dtype.float16: "HalfTensor",
    _C.dtype.bfloat16: "BFloat16Tensor",
    _C.dtype.int64: "LongTensor",
    _C.dtype.int32: "IntTensor",
    _C.dtype.int16: "ShortTensor",
    _C.dtype.int8: "CharTensor",
    _C.dtype.uint8: "ByteTensor",
    _C.dtype.bool: "BoolTensor",
}


def _type(self, dtype):
    """``t.type()``: the type's name, 'forgegrad.FloatTensor' (a GPU tensor's
    'forgegrad.cuda.FloatTensor'), as torch's; ``t.type(dtype)``: t cast to dtype (a dtype, or
    such a name)."""
    prefix = "forgegrad." if self.device.type == "cpu" else "forgegrad.cuda."
    if dtype is None:
        return prefix + _TYPE_NAMES[self.dtype]
    if isinstance(dtype, str):
        by_name = {name: d for d, name in _TYPE_NAMES.items()}
        name = dtype.rsplit(".", 1)[-1]
        if not dtype.startswith("forgegrad.") or name not in by_name:
            raise _errors.TypeError(
                f"[type] expected a dtype or a name such as 'forgegrad.FloatTensor', got {dtype!r}"
            )
        dtype = by_name[name]
    return _C._to_dtype(self, dtype)


def _new(self, make, args, kwargs):
    unexpected = set(kwargs) - {"dtype", "device", "requires_grad"}
    if unexpected:
        raise _errors.TypeError(f"[new_{make.__name__}] unexpected arguments {sorted(unexpected)}")
    dtype, device = kwargs.get("dtype"), kwargs.get("device")
    return make(
        *args,
        dtype=self.dtype if dtype is None else dtype,
        device=self.device if device is None else device,
        requires_grad=kwargs.get("requires_grad", False),
    )


def _set_data(self, value):
    """``t.data = v``: the values of v written into t, which keeps its identity, its graph
    role and every reference to it (PyTorch swaps the storage; forgegrad copies, so the
    shape and dtype must match)."""
    if not isinstance(value, Tensor):
        raise _errors.TypeError(f"[data] expected a Tensor, got {type(value).__name__}")
    if value.shape != self.shape or value.dtype != self.dtype:
        raise _errors.ValueError(
            f"[data] expected a tensor of shape {self.shape} and "
            f"{self.dtype}, got "
            f"shape {value.shape} and {value.dtype}"
        )
    _C._copy_(self.detach(), value.detach())


def _fill(self, value):
    """``t.fill_(value)``; an int into an int64 tensor goes exactly (past 2**53, where a
    float would round it)."""
    if (
        self.dtype == _C.dtype.int64
        and isinstance(value, (int, np.integer))
        and not isinstance(value, builtins.bool)
    ):
        if not -(2**63) <= value < 2**63:
            raise _errors.ValueError(f"[fill_] cannot store {value} in a int64 tensor")
        return _C._copy_(self, _C.full_int64(list(self.shape), int(value), self.device))
    return _C._fill_(self, value)


def _iter(self):
    """The rows along the first axis, as PyTorch iterates; a 0-d tensor has none to give."""
    if self.ndim == 0:
        raise _errors.TypeError("[iter] iteration over a 0-d tensor")
    return (self[i] for i in range(self.shape[0]))


def _register_post_accumulate_grad_hook(self, hook):
    """``hook(tensor)`` runs in each backward that reaches this leaf, once the gradient of that
    backward has been added to ``.grad`` (all of it: a leaf used twice has both parts in),
    while backward goes on with the rest of the graph. The hook gets this tensor and must
    return None. Returns a handle whose ``remove()`` unregisters it. As in PyTorch."""
    if not callable(hook):
        raise _errors.TypeError(
            "[register_post_accumulate_grad_hook] expected a callable "
            f"hook(tensor), got {type(hook).__name__}"
        )
    owner = weakref.ref(self)  # not self: the engine holds the hook, and self holds the engine's

    def call(leaf):
        tensor = owner()
        result = hook(leaf if tensor is None else tensor)
        if result is not None:
            raise _errors.TypeError(
                "[register_post_accumulate_grad_hook] a post accumulate grad "
                f"hook must return None, got {type(result).__name__}"
            )

    key = _C.Tensor._add_post_accumulate_grad_hook(self, call)
    return autograd.RemovableHandle(
        functools.partial(_C.Tensor._remove_post_accumulate_grad_hook, self, key)
    )


_METHODS["register_post_accumulate_grad_hook"] = _register_post_accumulate_grad_hook


def _register_hook(self, hook):
    """``hook(grad)`` runs in each backward that computes this tensor's gradient, with all of
    it, before it is used: added into a leaf's ``.grad``, passed on below a non-leaf, or
    returned by ``autograd.grad``. Returning a tensor (same shape, dtype and device)
    replaces the gradient; None keeps it. Returns a handle whose ``remove()`` unregisters
    it. As in PyTorch."""
    if not callable(hook):
        raise _errors.TypeError(
            f"[register_hook] expected a callable hook(grad), got {type(hook).__name__}"
        )

    def call(grad):
        result = hook(grad)
        if result is not None and not isinstance(result, Tensor):
            raise _errors.TypeError(
                f"[register_hook] a hook must return a Tensor or None, got {type(result).__name__}"
            )
        return result

    key = _C.Tensor._add_grad_hook(self, call)
    return autograd.RemovableHandle(functools.partial(_C.Tensor._remove_grad_hook, self, key))


_METHODS["register_hook"] = _register_hook


def _install():
    for name, method in _METHODS.items():
        setattr(Tensor, name, method)
    for module in (_movement, _index_ops, _unique):
        for name in module.METHODS:
            setattr(Tensor, name, getattr(module, name))
        for name in module.IN_PLACE:
            setattr(Tensor, name + "_", in_place_method(getattr(module, name), name + "_"))
    for name in _sampling.METHODS:
        setattr(Tensor, name, getattr(_sampling, name))
    for name in _sampling.IN_PLACE:  # already named with their _
        setattr(Tensor, name, in_place_method(getattr(_sampling, name), name))


_install()
