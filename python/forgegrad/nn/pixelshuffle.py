"""``PixelShuffle`` and ``PixelUnshuffle``: F.pixel_shuffle / F.pixel_unshuffle as layers."""

from __future__ import annotations

from typing import TYPE_CHECKING
from . import functional as F
from .module import Module

if TYPE_CHECKING:
    from .._C import Tensor


class PixelShuffle(Module):
    """Rearranges (N, C * r^2, H, W) into (N, C, H * r, W * r), r the upscale factor.

    Args:
        upscale_factor: r.

    Examples:
        >>> nn.PixelShuffle(2)(fg.zeros(1, 8, 3, 3)).shape
        (1, 2, 6, 6)
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """PixelShuffle's inverse: (N, C, H * r, W * r) -> (N, C * r^2, H, W).

    Args:
        downscale_factor: r.
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
