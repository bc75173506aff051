"""Containers: ``Sequential`` (modules applied in order) and ``ModuleList``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Self, SupportsIndex, overload
import collections
import operator

from .. import _C, _errors
from .activation import ReLU
from .linear import Linear
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d

if TYPE_CHECKING:
    from .._C import Tensor


def _fused_with_next_relu(modules: Sequence[Module], i: int) -> Callable[[Tensor], Tensor] | None:
    """modules[i] and the ReLU right after it as one call, or None: a Linear's GEMM applies
    the ReLU in its epilogue, a BatchNorm in its normalizing map. Exact types: a subclass may
    have its own forward; no fusion where a forward hook must see either module's call."""
    module = modules[i]
    if i + 1 == len(modules) or type(modules[i + 1]) is not ReLU:
        return None
    if module.__dict__.get("_forward_hooks") or modules[i + 1].__dict__.get("_forward_hooks"):
        return None
    if type(module) is Linear:
        return lambda input: _C.linear(input, module.weight, module.bias, activation="relu")
    if type(module) in (BatchNorm1d, BatchNorm2d):
        return lambda input: module.forward(input, activation="relu")
    return None


class Sequential(Module):
    """``Sequential(m0, m1, ...)`` or ``Sequential(OrderedDict(name=module, ...))``.

    A ``Linear`` or ``BatchNorm1d/2d`` directly followed by a ``ReLU`` runs as one op, the
    ReLU applied in the GEMM's epilogue or the normalization's map: the output and the
    gradients are those of the two run one after the other."""

    @overload
    def __init__(self, *modules: Module) -> None: ...
    @overload
    def __init__(self, modules: collections.OrderedDict[str, Module], /) -> None: ...

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], collections.OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def _index(self, idx: SupportsIndex) -> str:
        i = operator.index(idx)
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"[{type(self).__name__}] index {idx} is out of range for {n} modules")
        return list(self._modules)[i % n]

    @overload
    def __getitem__(self, idx: slice) -> Self: ...
    @overload
    def __getitem__(self, idx: SupportsIndex) -> Module: ...

    def __getitem__(self, idx: SupportsIndex | slice) -> Module | Self:
        """The module at ``idx``; a slice is a new container of those modules."""
        if isinstance(idx, slice):
            return type(self)(collections.OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._index(idx)]

    def __setitem__(self, idx: SupportsIndex, module: Module) -> None:
        self.add_module(self._index(idx), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def _check_module(self, module: object, what: str) -> None:
        if not isinstance(module, Module):
            raise _errors.TypeError(
                f"[{type(self).__name__}] can only {what} a Module, got {type(module).__name__}"
            )

    def append(self, module: Module) -> Self:
        """Add ``module`` at the end; returns self."""
        self._check_module(module, "append")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Self:
        """Append each of `modules`; all are checked first, so a bad one appends none."""
        if not hasattr(modules, "__iter__") or (
            isinstance(modules, Module) and not isinstance(modules, Sequential)
        ):
            raise _errors.TypeError(
                f"[{type(self).__name__}] extend expects an iterable of "
                f"Modules, got {type(modules).__name__} (append adds one "
                "module)"
            )
        modules = list(modules)
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise _errors.TypeError(
                    f"[{type(self).__name__}] extend expects Modules, got "
                    f"{type(module).__name__} at position {i}"
                )
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: SupportsIndex, module: Module) -> Self:
        """Put `module` before position `index`; the modules are renumbered from 0."""
        self._check_module(module, "insert")
        modules = list(self._modules.values())
        modules.insert(operator.index(index), module)
        self._renumber(modules)
        return self

    def __delitem__(self, idx: SupportsIndex | slice) -> None:
        """Remove a module (or a slice of them); the rest are renumbered from 0."""
        if not isinstance(idx, slice):
            self._index(idx)  # IndexError when out of range
        modules = list(self._modules.values())
        del modules[idx]
        self._renumber(modules)

    def _renumber(self, modules: Iterable[Module]) -> None:
        self._modules.clear()
        for i, module in enumerate(modules):
            self._modules[str(i)] = module

    def forward(self, input: Tensor) -> Tensor:
        modules = list(self)
        i = 0
        while i < len(modules):
            fused = _fused_with_next_relu(modules, i)
            if fused is not None:
                input = fused(input)
                i += 2
            else:
                input = modules[i](input)
                i += 1
        return input


class ModuleList(Sequential):
    """A list of Modules whose parameters the owner registers; it has no forward."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__(*modules)

    @overload
    def __getitem__(self, idx: slice) -> Self: ...
    @overload
    def __getitem__(self, idx: SupportsIndex) -> Module: ...

    def __getitem__(self, idx: SupportsIndex | slice) -> Module | Self:
        # A slice is a new ModuleList of those modules, renumbered from 0 (as PyTorch's).
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return super().__getitem__(idx)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("[ModuleList] has no forward(); iterate over it instead")
