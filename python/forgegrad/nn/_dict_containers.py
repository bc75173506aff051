"""``ModuleDict``, ``ParameterList`` and ``ParameterDict``: containers whose entries the
owner registers, so their parameters appear under "name.key" as in PyTorch."""

import collections.abc
import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Self, SupportsIndex, overload

from .. import _C, _errors
from .module import Module, Parameter


def _pairs(values, owner):
    """(key, value) pairs from a mapping or an iterable of pairs, as dict.update takes."""
    if isinstance(values, collections.abc.Mapping):
        return list(values.items())
    if isinstance(values, (str, bytes)) or not isinstance(values, collections.abc.Iterable):
        raise _errors.TypeError(
            f"[{owner}] update expects a mapping or an iterable of "
            f"(key, value) pairs, got {type(values).__name__}"
        )
    pairs = []
    for i, pair in enumerate(values):
        if not isinstance(pair, collections.abc.Iterable) or isinstance(pair, (str, bytes)):
            raise _errors.TypeError(
                f"[{owner}] update expects (key, value) pairs, got "
                f"{type(pair).__name__} at position {i}"
            )
        pair = tuple(pair)
        if len(pair) != 2:
            raise _errors.ValueError(
                f"[{owner}] update expects (key, value) pairs, got one of "
                f"length {len(pair)} at position {i}"
            )
        pairs.append(pair)
    return pairs


def _as_parameter(value):
    """A plain Tensor becomes a Parameter (as PyTorch's ParameterList/Dict do)."""
    if isinstance(value, _C.Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class _KeyedEntries:
    """The dict methods of a container whose entries are one registry of the Module
    ("_modules" or "_parameters"), named by _REGISTRY."""

    _REGISTRY: Any = None

    def _entries(self):
        return self.__dict__[self._REGISTRY]

    def __getitem__(self, key):
        return self._entries()[key]

    def __delitem__(self, key) -> None:
        del self._entries()[key]

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self):
        return iter(self._entries())

    def __contains__(self, key) -> bool:
        return key in self._entries()

    def clear(self) -> None:
        """Removes every entry."""
        self._entries().clear()

    def pop(self, key):
        """Removes the entry ``key`` and returns it."""
        value = self[key]
        del self[key]
        return value

    def keys(self):
        """The keys, in insertion order."""
        return self._entries().keys()

    def items(self):
        """The (key, entry) pairs, in insertion order."""
        return self._entries().items()

    def values(self):
        """The entries, in insertion order."""
        return self._entries().values()


class ModuleDict(_KeyedEntries, Module):
    """An ordered dict of Modules, registered under their keys."""

    _REGISTRY = "_modules"

    def __init__(
        self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
    ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def update(self, modules: Any) -> None:
        """Add or replace the entries of a mapping or of (key, module) pairs; all are
        checked first, so a bad one adds none.
        """
        pairs = _pairs(modules, "ModuleDict")
        for key, module in pairs:  # all checked first: a bad entry adds none
            if not isinstance(module, Module):
                raise _errors.TypeError(
                    f"[ModuleDict] values must be Modules, got "
                    f"{type(module).__name__} for key {key!r}"
                )
        for key, module in pairs:
            self[key] = module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("[ModuleDict] has no forward(); index it instead")


class ParameterList(Module):
    """A list of Parameters registered as "0", "1", ...; Tensors are made Parameters."""

    def __init__(self, values: Iterable[_C.Tensor] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, idx):
        i = operator.index(idx)
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"[ParameterList] index {idx} is out of range for {n} parameters")
        return str(i % n)

    @overload
    def __getitem__(self, idx: slice) -> Self: ...
    @overload
    def __getitem__(self, idx: SupportsIndex) -> Parameter: ...

    def __getitem__(self, idx: SupportsIndex | slice) -> Parameter | Self:
        if isinstance(idx, slice):
            return type(self)(list(self)[idx])
        return self._parameters[self._index(idx)]

    def __setitem__(self, idx: SupportsIndex, param: _C.Tensor) -> None:
        self.register_parameter(self._index(idx), _as_parameter(param))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def append(self, value: _C.Tensor) -> Self:
        """Add ``value`` (made a Parameter when a plain Tensor) at the end; returns self."""
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values: Iterable[_C.Tensor]) -> Self:
        """Append each Tensor of ``values``; returns self."""
        if isinstance(values, (str, bytes, _C.Tensor)) or not isinstance(
            values, collections.abc.Iterable
        ):
            raise _errors.TypeError(
                "[ParameterList] extend expects an iterable of Tensors, "
                f"got {type(values).__name__} (append adds one)"
            )
        for value in values:
            self.append(value)
        return self

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("[ParameterList] has no forward(); iterate over it instead")

    def extra_repr(self) -> str:
        return "\n".join(
            f"({i}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]"
            for i, p in enumerate(self)
        )


class ParameterDict(_KeyedEntries, Module):
    """An ordered dict of Parameters registered under their keys; Tensors are made
    Parameters."""

    _REGISTRY = "_parameters"

    def __init__(
        self, parameters: Mapping[str, _C.Tensor] | Iterable[tuple[str, _C.Tensor]] | None = None
    ) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key: str, value: _C.Tensor) -> None:
        self.register_parameter(key, _as_parameter(value))

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter under ``key``, or ``default`` when absent."""
        return self._parameters.get(key, default)

    def update(self, parameters: Mapping[str, _C.Tensor] | Iterable[tuple[str, _C.Tensor]]) -> None:
        """Add or replace the entries of a mapping or of (key, Tensor) pairs."""
        for key, value in _pairs(parameters, "ParameterDict"):
            self[key] = value

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("[ParameterDict] has no forward(); index it instead")
