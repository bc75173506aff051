"""Unfold and Fold, as torch.nn's: F.unfold and F.fold with their arguments given once."""

from __future__ import annotations

from typing import TYPE_CHECKING
from ._fold import fold, unfold
from .module import Module

if TYPE_CHECKING:
    from .._C import Tensor


class Unfold(Module):
    """Extracts sliding blocks (im2col): (N, C, H, W) -> (N, C * prod(kernel_size), L),
    L the number of block positions.

    Args:
        kernel_size: the block size, an int or a pair.
        dilation: the spacing of the block's elements.
        padding: zeros added on both sides of each spatial dimension.
        stride: the step between blocks.

    Examples:
        >>> nn.Unfold(kernel_size=2)(fg.zeros(1, 3, 4, 4)).shape
        (1, 12, 9)
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        dilation: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] = 0,
        stride: int | tuple[int, ...] = 1,
    ) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = (
            kernel_size,
            dilation,
            padding,
            stride,
        )

    def forward(self, input: Tensor) -> Tensor:
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:  # as PyTorch's
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )


class Fold(Module):
    """Sums sliding blocks back into an image (col2im), Unfold's adjoint:
    (N, C * prod(kernel_size), L) -> (N, C, *output_size).

    Args:
        output_size: the spatial size of the output, an int or a pair.
        kernel_size: the block size, an int or a pair.
        dilation: the spacing of the block's elements.
        padding: zeros added on both sides of each spatial dimension.
        stride: the step between blocks.
    """

    def __init__(
        self,
        output_size: int | tuple[int, ...],
        kernel_size: int | tuple[int, ...],
        dilation: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] = 0,
        stride: int | tuple[int, ...] = 1,
    ) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:  # as PyTorch's
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )
