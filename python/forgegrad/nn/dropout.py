"""Dropout layers: ``Dropout`` zeroes elements with probability p in training mode (scaling
the rest by 1 / (1 - p)), ``Dropout1d/2d/3d`` whole channels, ``AlphaDropout`` and
``FeatureAlphaDropout`` keep SELU activations' mean and variance; all are the identity in
eval mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _errors
from . import functional as F
from .module import Module
from .._checks import is_real

if TYPE_CHECKING:
    from .._C import Tensor


class _DropoutNd(Module):
    """A probability p and the inplace flag, checked as PyTorch checks them."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        if not is_real(p):
            raise _errors.TypeError(
                f"[{name}] p must be a number (a probability in [0, 1]), got {p!r}"
            )
        if not 0 <= p <= 1:
            raise _errors.ValueError(f"[{name}] p must be a probability in [0, 1], got {p!r}")
        self.p, self.inplace = float(p), inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zeroes each element with probability ``p`` in training mode and scales the rest by
    1 / (1 - p); the identity in eval mode.

    Args:
        p: the probability of zeroing an element, in [0, 1].
        inplace: accepted for PyTorch code; forgegrad computes out of place.

    Raises:
        ValueError: ``p`` is outside [0, 1].

    Examples:
        >>> drop = nn.Dropout(0.5).eval()
        >>> drop(fg.ones(3))
        tensor([1., 1., 1.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)


class Dropout1d(_DropoutNd):
    """dropout1d over (N, C, L) or (C, L)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """dropout2d over (N, C, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """dropout3d over (N, C, D, H, W) or (C, D, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """alpha_dropout: for SELU networks."""

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """feature_alpha_dropout: alpha dropout of whole channels."""

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)
