"""Padding layers, as torch.nn's: each is F.pad with its mode and the padding given once (an
int: the same on every side of each padded dimension; a tuple: F.pad's (before, after, ...))."""
from __future__ import annotations

from typing import TYPE_CHECKING
from .. import _errors
from ._padding import pad
from .module import Module

if TYPE_CHECKING:
    from .._C import Tensor


class _Pad(Module):
    mode, dims = "constant", 1

    def __init__(self, padding, value: float = 0.0) -> None:
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.dims)
        padding = tuple(padding)
        if len(padding) != 2 * self.dims:
            raise _errors.ValueError(
                f"[{type(self).__name__}] expected an int or {2 * self.dims} "
                f"padding sizes, got {padding}")
        self.padding, self.value = padding, value

    def forward(self, input: Tensor) -> Tensor:
        if self.mode == "constant":
            return pad(input, self.padding, "constant", self.value)
        return pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:  # as PyTorch's
        if self.mode == "constant":
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


def _pad_class(name, mode, dims, takes_value):
    def __init__(self, padding, value) -> None:
        _Pad.__init__(self, padding, value)

    def __init_without_value(self, padding) -> None:
        _Pad.__init__(self, padding)

    cls = type(name, (_Pad,), {"mode": mode, "dims": dims,
                               "__init__": __init__ if takes_value else __init_without_value,
                               "__doc__": f"F.pad over the last {dims} dimension(s), mode "
                                          f"'{mode}'."})
    cls.__module__ = __name__
    return cls


ConstantPad1d = _pad_class("ConstantPad1d", "constant", 1, True)
ConstantPad2d = _pad_class("ConstantPad2d", "constant", 2, True)
ConstantPad3d = _pad_class("ConstantPad3d", "constant", 3, True)
ReflectionPad1d = _pad_class("ReflectionPad1d", "reflect", 1, False)
ReflectionPad2d = _pad_class("ReflectionPad2d", "reflect", 2, False)
ReplicationPad1d = _pad_class("ReplicationPad1d", "replicate", 1, False)
ReplicationPad2d = _pad_class("ReplicationPad2d", "replicate", 2, False)
CircularPad1d = _pad_class("CircularPad1d", "circular", 1, False)
CircularPad2d = _pad_class("CircularPad2d", "circular", 2, False)


class ZeroPad1d(ConstantPad1d):
    """F.pad with zeros over the last dimension."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """F.pad with zeros over the last 2 dimensions."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"
