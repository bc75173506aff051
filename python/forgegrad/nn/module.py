"""``Module`` and ``Parameter``: PyTorch's module mechanics (registration by attribute,
parameter and buffer trees, train/eval, state dicts, a printable tree)."""

from __future__ import annotations

import collections
import itertools
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ParamSpec, Protocol, Self, TypeVar

import numpy as np

from .. import _C, _errors
from ..autograd import RemovableHandle, no_grad
from .._checks import as_device


class Parameter(_C.Tensor):
    """A Tensor a Module registers as a parameter: a leaf sharing ``data``'s storage, with
    requires_grad=True by default.

    Args:
        data: the values (an empty float32 tensor when None).
        requires_grad: whether autograd records operations on it.

    Examples:
        >>> w = nn.Parameter(fg.zeros(2, 3))
        >>> w.shape, w.requires_grad
        ((2, 3), True)
    """

    def __init__(self, data: _C.Tensor | None = None, requires_grad: bool = True) -> None:
        if data is None:
            data = _C.empty([0], None, None)
        if not isinstance(data, _C.Tensor):
            raise _errors.TypeError(f"[Parameter] expected a Tensor, got {type(data).__name__}")
        super().__init__(data)
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


def _as_tensor(value):
    """A state dict's value as a forgegrad Tensor (numpy arrays and DLPack tensors such as
    PyTorch's converted; they are copied when loaded), or None when it is none of these."""
    if isinstance(value, _C.Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return _C.from_numpy(np.ascontiguousarray(value))
    if hasattr(value, "__dlpack__"):
        if getattr(value, "requires_grad", False) and callable(getattr(value, "detach", None)):
            value = value.detach()  # PyTorch exports only tensors without gradient tracking
        return _C.from_dlpack(value)
    return None


# The attributes Module.__init__ sets on every module.
_OWN_ATTRIBUTES = ("training", "_parameters", "_buffers", "_non_persistent", "_modules")

_Args = ParamSpec("_Args")
_Result = TypeVar("_Result", covariant=True)


class _Forward(Protocol[_Args, _Result]):
    """What calling a module sees: its forward's parameters and result."""

    @property
    def forward(self) -> Callable[_Args, _Result]: ...


IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _ForwardHooks:
    """A module's forward hooks, made by the first one registered, so that a module without
    any calls forward with nothing else to check."""

    def __init__(self) -> None:
        self.pre: dict[int, tuple[Callable[..., Any], bool, bool]] = {}
        self.post: dict[int, tuple[Callable[..., Any], bool, bool]] = {}

    @staticmethod
    def of(module: Module) -> _ForwardHooks:
        hooks = module.__dict__.get("_forward_hooks")
        if hooks is None:
            hooks = _ForwardHooks()
            object.__setattr__(module, "_forward_hooks", hooks)
        return hooks

    def __bool__(self) -> bool:
        return bool(self.pre or self.post)

    def add(
        self, kind: str, hook: Callable[..., Any], prepend: bool, with_kwargs: bool, always: bool
    ) -> RemovableHandle:
        name = "register_forward_pre_hook" if kind == "pre" else "register_forward_hook"
        if not callable(hook):
            raise _errors.TypeError(f"[{name}] expected a callable hook, got {type(hook).__name__}")
        table = self.pre if kind == "pre" else self.post
        key = next(_hook_keys)
        table[key] = (hook, bool(with_kwargs), bool(always))
        if prepend:
            table.update({k: table.pop(k) for k in list(table) if k != key})

        def remove() -> None:
            table.pop(key, None)

        return RemovableHandle(remove)

    def call(self, module: Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        for hook, with_kwargs, _ in list(self.pre.values()):
            if not with_kwargs:
                result = hook(module, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
                continue
            result = hook(module, args, kwargs)
            if result is None:
                continue
            if not (isinstance(result, tuple) and len(result) == 2):
                raise _errors.TypeError(
                    "[register_forward_pre_hook] a hook with kwargs must return None or "
                    f"(args, kwargs), got {type(result).__name__}"
                )
            args, kwargs = result
        try:
            output = module.forward(*args, **kwargs)
        except Exception:
            for hook, with_kwargs, always in list(self.post.values()):
                if not always:
                    continue
                try:
                    if with_kwargs:
                        hook(module, args, kwargs, None)
                    else:
                        hook(module, args, None)
                except Exception as error:  # forward's error is the one raised
                    warnings.warn(
                        f"[register_forward_hook] an always_call hook raised {error!r} "
                        "after forward raised; forward's error follows",
                        stacklevel=2,
                    )
            raise
        for hook, with_kwargs, _ in list(self.post.values()):
            result = (
                hook(module, args, kwargs, output) if with_kwargs else hook(module, args, output)
            )
            if result is not None:
                output = result
        return output


_hook_keys = itertools.count()


class Module:
    """Base class of every layer and model: assign Parameters, buffers and sub-Modules as
    attributes in ``__init__``, write ``forward``, call the module.

    Examples:
        >>> class TwoLayer(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = nn.Linear(4, 8)
        ...         self.out = nn.Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).relu())
        >>> model = TwoLayer()
        >>> model(fg.randn(5, 4)).shape
        (5, 2)
        >>> [name for name, _ in model.named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", {})

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation the module performs; calling the module calls it.

        Subclasses override it (the base raises NotImplementedError).
        """
        raise NotImplementedError(f"[{type(self).__name__}] defines no forward()")

    # Typed by the subclass's forward, so that model(x) checks x and has forward's result type.
    def __call__(
        self: _Forward[_Args, _Result], *args: _Args.args, **kwargs: _Args.kwargs
    ) -> _Result:
        hooks = self.__dict__.get("_forward_hooks")  # made by the first hook registered
        if not hooks:
            return self.forward(*args, **kwargs)
        return hooks.call(self, args, kwargs)

    # ---- forward hooks ----
    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """``hook(module, args)`` runs before each ``forward``; a result other than None
        replaces the positional arguments (a tuple, or one value). With ``with_kwargs``:
        ``hook(module, args, kwargs)``, returning None or ``(args, kwargs)``. Hooks run in
        the order registered (``prepend``: first). Returns a handle whose ``remove()``
        unregisters it. As in PyTorch."""
        return _ForwardHooks.of(self).add("pre", hook, prepend, with_kwargs, False)

    def register_forward_hook(
        self,
        hook: Callable[..., Any],
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """``hook(module, args, output)`` runs after each ``forward``; a result other than
        None replaces the output. With ``with_kwargs``: ``hook(module, args, kwargs,
        output)``. ``always_call``: it runs even when ``forward`` raised (its result is
        then ignored, and the error goes on). Returns a handle whose ``remove()``
        unregisters it. As in PyTorch (feature extraction: keep an inner layer's output)."""
        return _ForwardHooks.of(self).add("post", hook, prepend, with_kwargs, always_call)

    # ---- registration ----
    def _check_initialized(self):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"[{type(self).__name__}] call super().__init__() before "
                "assigning parameters or modules"
            )

    def __setattr__(self, name: str, value: Any) -> None:
        # Assigning a Parameter or Module replaces an attribute of another kind by that name,
        # as in PyTorch; the explicit register_parameter / add_module refuse to.
        if isinstance(value, Parameter):
            self._register("_parameters", name, value, "register_parameter", replace=True)
        elif isinstance(value, Module):
            self._register("_modules", name, value, "add_module", replace=True)
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise _errors.TypeError(
                    f"[{type(self).__name__}] cannot assign a "
                    f"{type(value).__name__} to parameter '{name}' "
                    "(expected a Parameter or None)"
                )
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, _C.Tensor):
                raise _errors.TypeError(
                    f"[{type(self).__name__}] cannot assign a "
                    f"{type(value).__name__} to buffer '{name}'"
                )
            self._buffers[name] = value
        else:
            if "_modules" in self.__dict__ and name in self._modules:
                if value is not None:
                    raise _errors.TypeError(
                        f"[{type(self).__name__}] cannot assign a "
                        f"{type(value).__name__} to submodule '{name}'"
                    )
                self._modules[name] = None
                return
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers and modules live in dicts.
        if name in _OWN_ATTRIBUTES:  # missing only when __init__ skipped Module.__init__
            self._check_initialized()
        for registry in ("_parameters", "_buffers", "_modules"):
            table = self.__dict__.get(registry)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            table = self.__dict__.get(registry)
            if table is not None and name in table:
                del table[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def _register(self, kind, name, value, op, replace: bool = False):
        """Put `value` under `name` in the registry `kind` ("_parameters", ...). As in
        PyTorch, a name that is already an attribute of another kind is a KeyError, except
        that assignment (replace=True) replaces an instance attribute, parameter, buffer or
        submodule; a class attribute (a method, a property) is never replaced."""
        self._check_initialized()
        if not isinstance(name, str) or not name or "." in name:
            raise _errors.ValueError(
                f"[{op}] a name must be a non-empty string without '.', got {name!r}"
            )
        if name not in self.__dict__[kind] and (
            hasattr(type(self), name) or (not replace and hasattr(self, name))
        ):
            raise KeyError(f"[{op}] attribute '{name}' already exists in {type(self).__name__}")
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != kind:
                self.__dict__[registry].pop(name, None)
        if kind != "_buffers":
            self._non_persistent.discard(name)
        self.__dict__.pop(name, None)
        self.__dict__[kind][name] = value

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (as assigning a Parameter attribute does).

        Raises:
            TypeError: ``param`` is neither a Parameter nor None.
        """
        if param is not None and not isinstance(param, Parameter):
            raise _errors.TypeError(
                f"[{type(self).__name__}] parameter '{name}' must be a "
                f"Parameter or None, got {type(param).__name__}"
            )
        self._register("_parameters", name, param, "register_parameter")

    def register_buffer(self, name: str, tensor: _C.Tensor | None, persistent: bool = True) -> None:
        """A Tensor that is state but not a parameter; saved in state_dict when persistent."""
        if tensor is not None and not isinstance(tensor, _C.Tensor):
            raise _errors.TypeError(
                f"[{type(self).__name__}] buffer '{name}' must be a Tensor or "
                f"None, got {type(tensor).__name__}"
            )
        self._register("_buffers", name, tensor, "register_buffer")
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the submodule ``name`` (as assigning it does).

        Raises:
            TypeError: ``module`` is neither a Module nor None.
        """
        if module is not None and not isinstance(module, Module):
            raise _errors.TypeError(
                f"[{type(self).__name__}] submodule '{name}' must be a Module "
                f"or None, got {type(module).__name__}"
            )
        self._register("_modules", name, module, "add_module")

    register_module = add_module

    # ---- traversal ----
    def named_modules(
        self, prefix: str = "", memo: set[int] | None = None, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for self and every submodule; a module reachable by two
        paths comes once, unless remove_duplicate=False (as state_dict needs)."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(
                    f"{prefix}.{name}" if prefix else name, memo, remove_duplicate
                )

    def modules(self) -> Iterator[Module]:
        """Self and every submodule, each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct submodule, each once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct submodules, each once."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, each once; only this module's
        own when ``recurse`` is False."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, each once (what an optimizer takes).

        Examples:
            >>> sum(p.numel() for p in nn.Linear(3, 2).parameters())
            8
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, _C.Tensor]]:
        """(dotted name, buffer) for every buffer, each once."""
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[_C.Tensor]:
        """Every buffer (running statistics and the like), each once."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` (``"encoder.layers.0"``); ``""`` is self.
        An AttributeError names the first part of the path that is not a submodule."""
        if not isinstance(target, str):
            raise _errors.TypeError(
                f"[get_submodule] expected a dotted name, got {type(target).__name__}"
            )
        module = self
        path: list[str] = []
        for name in target.split(".") if target else []:
            child = module._modules.get(name)
            if child is None:
                where = ".".join(path) or type(self).__name__
                raise AttributeError(f"[get_submodule] {where} has no submodule {name!r}")
            module = child
            path.append(name)
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target`` (``"encoder.layers.0.weight"``)."""
        if not isinstance(target, str):
            raise _errors.TypeError(
                f"[get_parameter] expected a dotted name, got {type(target).__name__}"
            )
        owner_path, _, name = target.rpartition(".")
        owner = self.get_submodule(owner_path)
        parameter = owner._parameters.get(name)
        if parameter is None:
            raise AttributeError(
                f"[get_parameter] {owner_path or type(self).__name__} has no parameter {name!r}"
            )
        return parameter

    def apply(self, fn: Callable[[Module], object]) -> Self:
        """fn(module) on every submodule, children first, then on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ----
    def train(self, mode: bool = True) -> Self:
        """Set training mode (dropout active, batch statistics) on self and every
        submodule, or evaluation mode when ``mode`` is False; returns self.

        Raises:
            TypeError: ``mode`` is not a bool.
        """
        if not isinstance(mode, bool):
            raise _errors.TypeError(f"[train] mode must be True or False, got {mode!r}")
        self._check_initialized()
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Self:
        """Evaluation mode, ``train(False)``; returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        """Switch gradient tracking of every parameter on or off (freezing); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad``: set it to None, or fill it with zeros when
        ``set_to_none`` is False."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    # ---- devices ----
    def to(self, *args: Any, device: Any = None, dtype: _C.dtype | None = None) -> Self:
        """Move every parameter (with its .grad) and buffer to a device and/or convert the
        floating ones to a floating dtype: to(device), to(dtype), to(device, dtype), as
        PyTorch; returns self. The Parameter objects stay the same, as in PyTorch, so an
        optimizer built before keeps updating them. Integer buffers keep their dtype."""
        for arg in args:
            if isinstance(arg, _C.dtype):
                dtype = arg
            else:
                device = arg
        if device is not None:
            device = as_device(device, "to")
        if device is None and dtype is None:
            raise _errors.TypeError("[to] expected a device, a dtype or both, got neither")
        if dtype is not None and not dtype.is_floating_point:
            raise _errors.TypeError(
                f"[to] nn.Module.to only accepts floating point dtypes, got {dtype}"
            )
        if device is not None and device.type == "cuda":
            from .. import cuda

            if device.index >= cuda.device_count():  # before anything moves
                raise RuntimeError(
                    f"[to] no device {device}: this machine has {cuda.device_count()} CUDA devices"
                )

        def changes(t):
            return (device is not None and t.device != device) or (
                dtype is not None and t.dtype.is_floating_point and t.dtype != dtype
            )

        def target_dtype(t):
            return dtype if dtype is not None and t.dtype.is_floating_point else None

        buffers = []  # buffer copies first, so that a failed copy changes nothing
        for module in self.modules():
            for name, t in module._buffers.items():
                if t is not None and changes(t):
                    moved = t.to(device) if device is not None else t
                    if target_dtype(t) is not None:
                        moved = moved.to(target_dtype(t))
                    buffers.append((module, name, moved))
        params = [p for p in self.parameters() if changes(p)]
        _C._move_to_(params, device, dtype)
        for module, name, moved in buffers:
            module._buffers[name] = moved
        return self

    def double(self) -> Self:
        """Convert the floating parameters and buffers to float64; returns self."""
        return self.to(_C.dtype.float64)

    def float(self) -> Self:
        """Convert the floating parameters and buffers to float32; returns self."""
        return self.to(_C.dtype.float32)

    def half(self) -> Self:
        """Convert the floating parameters and buffers to float16; returns self."""
        return self.to(_C.dtype.float16)

    def bfloat16(self) -> Self:
        """Convert the floating parameters and buffers to bfloat16; returns self."""
        return self.to(_C.dtype.bfloat16)

    def cpu(self) -> Self:
        """Move the parameters and buffers to the CPU; returns self."""
        return self.to("cpu")

    def cuda(self, device: str | int = "cuda") -> Self:
        """Move the parameters and buffers to a GPU (``"cuda"``, ``"cuda:1"``); returns
        self."""
        return self.to(device)

    # ---- state dicts ----
    def state_dict(self, prefix: str = "") -> collections.OrderedDict[str, _C.Tensor]:
        """Parameters and persistent buffers by dotted name, detached (sharing storage). As
        in PyTorch, a module or parameter shared by two paths is listed under both."""
        out = collections.OrderedDict()
        for module_prefix, module in self.named_modules(prefix.rstrip("."), remove_duplicate=False):
            lead = f"{module_prefix}." if module_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[lead + name] = p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[lead + name] = b.detach()
        return out

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy values into the parameters and buffers, converted to their dtypes (a float32
        checkpoint loads into a float64 model), as PyTorch. Values may be forgegrad Tensors,
        numpy arrays, or other libraries' tensors with ``__dlpack__`` (a PyTorch state dict,
        read through DLPack without importing torch). Missing and unexpected keys are
        reported (an error when strict); shapes are checked and values converted for every key
        before anything is written, so a rejected load changes nothing."""
        if not isinstance(state_dict, collections.abc.Mapping):
            raise _errors.TypeError(
                f"[load_state_dict] expected a dict of Tensors, got {type(state_dict).__name__}"
            )
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        values = {key: _as_tensor(state_dict[key]) for key in own if key in state_dict}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = values[key]
            if value is None:
                kind = type(state_dict[key])
                problems.append(
                    f"{key}: expected a Tensor (forgegrad's, a numpy array, or "
                    f"another library's with __dlpack__), got "
                    f"{kind.__module__}.{kind.__qualname__}"
                )
            elif value.shape != target.shape:
                problems.append(f"{key}: expected shape {target.shape}, got shape {value.shape}")
        if problems:
            raise RuntimeError(
                f"[load_state_dict] cannot load into {type(self).__name__}: " + "; ".join(problems)
            )
        with no_grad():  # every conversion first: one that fails (NaN into int) writes nothing
            converted = {
                key: values[key].to(target.device).to(target.dtype)
                for key, target in own.items()
                if key in state_dict
            }
            for key, value in converted.items():
                own[key].copy_(value)
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ----
    def extra_repr(self) -> str:
        """The module's settings as its repr shows them (``in_features=4, ...``);
        subclasses override it."""
        return ""

    def __repr__(self) -> str:
        lines = [
            f"({name}): " + repr(module).replace("\n", "\n  ")
            for name, module in self._modules.items()
        ]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(([extra] if extra else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"
