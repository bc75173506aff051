"""Shape layers: ``Flatten``, ``Unflatten`` and ``Identity``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .. import _C, _errors
from .module import Module
from .._checks import is_int

if TYPE_CHECKING:
    from .._C import Tensor


class Flatten(Module):
    """Merges dimensions ``start_dim`` to ``end_dim`` into one (Tensor.flatten).

    Args:
        start_dim: the first dimension merged (the batch dimension, 0, is kept by default).
        end_dim: the last dimension merged.

    Raises:
        TypeError: a dimension is not an int.

    Examples:
        >>> nn.Flatten()(fg.zeros(8, 3, 4, 4)).shape
        (8, 48)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for name, dim in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not is_int(dim):
                raise _errors.TypeError(f"[Flatten] {name} must be an int, got {dim!r}")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return _C.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dimension `dim` into `unflattened_size` (Tensor.unflatten)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not is_int(dim):
            raise _errors.TypeError(f"[Unflatten] dim must be an int, got {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
            is_int(size) for size in unflattened_size
        ):
            raise _errors.TypeError(
                f"[Unflatten] unflattened_size must be a tuple of ints, got {unflattened_size!r}"
            )
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return _C.unflatten(input, self.dim, list(self.unflattened_size))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """Returns its input; any constructor arguments are accepted and ignored, as in
    PyTorch.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:  # torch ignores them too
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input
