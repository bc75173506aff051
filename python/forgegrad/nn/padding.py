"""Padding layers, as torch.nn's: each is F.pad with its mode and the padding given once (an
int: the same on every side of each padded dimension; a tuple: F.pad's (before, after, ...))."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .. import _errors
from ._padding import pad
from .module import Module

if TYPE_CHECKING:
    from .._C import Tensor


class _Pad(Module):
    mode, dims = "constant", 1

    def __init__(self, padding: int | Sequence[int], value: float = 0.0) -> None:
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.dims)
        padding = tuple(padding)
        if len(padding) != 2 * self.dims:
            raise _errors.ValueError(
                f"[{type(self).__name__}] expected an int or {2 * self.dims} "
                f"padding sizes, got {padding}"
            )
        self.padding, self.value = padding, value

    def forward(self, input: Tensor) -> Tensor:
        if self.mode == "constant":
            return pad(input, self.padding, "constant", self.value)
        return pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:  # as PyTorch's
        if self.mode == "constant":
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class _ConstantPad(_Pad):
    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding, value)


class _ModePad(_Pad):  # reflect, replicate, circular: no fill value
    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding)


class ConstantPad1d(_ConstantPad):
    """F.pad over the last dimension, mode 'constant'."""

    mode, dims = "constant", 1


class ConstantPad2d(_ConstantPad):
    """F.pad over the last 2 dimensions, mode 'constant'."""

    mode, dims = "constant", 2


class ConstantPad3d(_ConstantPad):
    """F.pad over the last 3 dimensions, mode 'constant'."""

    mode, dims = "constant", 3


class ReflectionPad1d(_ModePad):
    """F.pad over the last dimension, mode 'reflect'."""

    mode, dims = "reflect", 1


class ReflectionPad2d(_ModePad):
    """F.pad over the last 2 dimensions, mode 'reflect'."""

    mode, dims = "reflect", 2


class ReplicationPad1d(_ModePad):
    """F.pad over the last dimension, mode 'replicate'."""

    mode, dims = "replicate", 1


class ReplicationPad2d(_ModePad):
    """F.pad over the last 2 dimensions, mode 'replicate'."""

    mode, dims = "replicate", 2


class CircularPad1d(_ModePad):
    """F.pad over the last dimension, mode 'circular'."""

    mode, dims = "circular", 1


class CircularPad2d(_ModePad):
    """F.pad over the last 2 dimensions, mode 'circular'."""

    mode, dims = "circular", 2


class ZeroPad1d(ConstantPad1d):
    """F.pad with zeros over the last dimension."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """F.pad with zeros over the last 2 dimensions."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"
