"""Conv1d, Conv2d, Conv3d, ConvTranspose1d and ConvTranspose2d, as torch.nn's: weight (out_channels,
in_channels / groups, *kernel_size) (transposed: (in_channels, out_channels / groups,
*kernel_size)) and bias (out_channels), PyTorch's default initialization, and padding_mode
'zeros' or the input padded by F.pad ('reflect', 'replicate', 'circular') before a
convolution without padding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
import math

from .. import _C, _errors, creation
from . import init
from ._conv import conv1d, conv2d, conv3d, int_tuple, padding_sides, positive_ints
from ._conv_transpose import conv_transpose1d, conv_transpose2d
from ._padding import pad
from .module import Module, Parameter
from ..autograd import no_grad
from .._checks import is_int

if TYPE_CHECKING:
    from .._C import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    dims, transposed = 2, False
    convolution: Any = None

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        groups,
        bias,
        padding_mode,
        device,
        dtype,
        output_padding,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        for name, value in (
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("groups", groups),
        ):
            if not is_int(value) or value <= 0:
                raise _errors.ValueError(f"[{op}] expected {name} as a positive int, got {value!r}")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if value % groups:
                raise _errors.ValueError(
                    f"[{op}] expected {name} divisible by groups {groups}, got {value}"
                )
        if padding_mode not in _PADDING_MODES:
            raise _errors.ValueError(
                f"[{op}] expected padding_mode 'zeros', 'reflect', 'replicate' or 'circular', "
                f"got {padding_mode!r}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        if self.transposed and padding_mode != "zeros":
            raise _errors.ValueError(f"[{op}] expected padding_mode 'zeros', got {padding_mode!r}")
        if self.transposed and isinstance(padding, str):
            raise _errors.ValueError(
                f"[{op}] expected padding as an int or a tuple of ints, got {padding!r}"
            )
        self.kernel_size = positive_ints(op, "kernel_size", kernel_size, self.dims)
        self.stride = positive_ints(op, "stride", stride, self.dims)
        self.dilation = positive_ints(op, "dilation", dilation, self.dims)
        self.output_padding = int_tuple(op, "output_padding", output_padding, self.dims)
        # (before, after) per spatial dimension, which also checks padding
        self._padding_sides = padding_sides(
            op, padding, self.kernel_size, self.stride, self.dilation
        )
        self.padding = (
            padding if isinstance(padding, str) else int_tuple(op, "padding", padding, self.dims)
        )
        self.padding_mode = padding_mode
        shape = (
            (in_channels, out_channels // groups)
            if self.transposed
            else (out_channels, in_channels // groups)
        ) + self.kernel_size
        # init fills float32; another dtype gets those values converted
        self.weight = Parameter(_in_dtype(creation.empty(*shape, device=device), dtype))
        if bias:
            self.bias = Parameter(_in_dtype(creation.empty(out_channels, device=device), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_ with a = sqrt(5) on the weight, the bias from
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups x kernel taps."""
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        weight = _float32_copy(self.weight)
        init.kaiming_uniform_(weight, a=math.sqrt(5))
        _assign(self.weight, weight)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
            bias = _float32_copy(self.bias)
            init.uniform_(bias, -bound, bound)
            _assign(self.bias, bias)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return type(self).convolution(
                input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
            )
        widths = [v for sides in reversed(self._padding_sides) for v in sides]
        return type(self).convolution(
            pad(input, widths, self.padding_mode),
            self.weight,
            self.bias,
            self.stride,
            0,
            self.dilation,
            self.groups,
        )

    def extra_repr(self) -> str:  # as PyTorch's
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


def _in_dtype(tensor, dtype):
    return tensor if dtype is None else tensor.to(dtype=dtype)


def _float32_copy(tensor):
    return tensor.detach().to(dtype=_C.dtype.float32)


def _assign(parameter, values) -> None:
    """parameter's values from values (float32), in the parameter's dtype, in place."""
    with no_grad():
        parameter.copy_(values)


class _PlainConvNd(_ConvNd):
    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            0,
        )


class Conv1d(_PlainConvNd):
    """input (N, in_channels, L) or (in_channels, L) -> (N, out_channels, L_out)"""

    dims, convolution = 1, staticmethod(conv1d)


class Conv2d(_PlainConvNd):
    """input (N, in_channels, H, W) or (in_channels, H, W) -> (N, out_channels, H_out, W_out)"""

    dims, convolution = 2, staticmethod(conv2d)


class Conv3d(_PlainConvNd):
    """input (N, in_channels, D, H, W) or (in_channels, D, H, W) -> (N, out_channels, D_out,
    H_out, W_out)"""

    dims, convolution = 3, staticmethod(conv3d)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            output_padding,
        )

    def forward(self, input, output_size=None):
        """output_size, when given, picks output_padding: the trailing sizes of the output."""
        output_padding = self.output_padding
        if output_size is not None:
            op = type(self).__name__
            spatial = tuple(input.shape[-self.dims :])
            smallest = [
                (size - 1) * s - 2 * p + d * (k - 1) + 1
                for size, s, p, d, k in zip(
                    spatial, self.stride, self.padding, self.dilation, self.kernel_size
                )
            ]
            wanted = int_tuple(op, "output_size", list(output_size)[-self.dims :], self.dims)
            output_padding = tuple(w - least for w, least in zip(wanted, smallest))
            if any(not 0 <= extra < s for extra, s in zip(output_padding, self.stride)):
                raise _errors.ValueError(
                    f"[{op}] expected output_size from {tuple(smallest)} to "
                    f"{tuple(least + s - 1 for least, s in zip(smallest, self.stride))}, got "
                    f"{wanted}"
                )
        return type(self).convolution(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """input (N, in_channels, L) or (in_channels, L) -> (N, out_channels, L_out)"""

    dims, convolution = 1, staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """input (N, in_channels, H, W) or (in_channels, H, W) -> (N, out_channels, H_out, W_out)"""

    dims, convolution = 2, staticmethod(conv_transpose2d)
