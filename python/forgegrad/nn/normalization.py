"""Normalization layers, as torch.nn's: LayerNorm, RMSNorm, GroupNorm, BatchNorm1d/2d (running
statistics in buffers, so state dicts match PyTorch's), InstanceNorm1d/2d and
LocalResponseNorm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
import numbers

from .. import _C, _errors, creation
from . import _normalization
from .module import Module, Parameter
from ..autograd import no_grad
from .._checks import is_int, is_real

if TYPE_CHECKING:
    from .._C import Tensor


def _check_eps(eps, layer):
    if not is_real(eps) or eps < 0:
        raise _errors.ValueError(f"[{layer}] expected eps >= 0, got {eps!r}")


def _check_count(value, name, layer):
    if not is_int(value) or value <= 0:
        raise _errors.ValueError(f"[{layer}] expected {name} to be a positive int, got {value!r}")


def _affine_parameters(module, shape, affine, bias, device, dtype) -> None:
    """weight = 1 and bias = 0 of `shape` as Parameters, or None where absent."""
    module.weight = Parameter(creation.ones(*shape, dtype=dtype, device=device)) if affine else None
    module.bias = (
        Parameter(creation.zeros(*shape, dtype=dtype, device=device)) if affine and bias else None
    )


def _reset_affine(module: Module) -> None:
    """weight = 1 and bias = 0, where the module has them."""
    with no_grad():
        if module.weight is not None:
            module.weight.fill_(1.0)
        if module.bias is not None:
            module.bias.fill_(0.0)


class LayerNorm(Module):
    """Normalizes over the last dimensions ``normalized_shape`` to zero mean and unit
    variance, then scales by ``weight`` and shifts by ``bias``.

    Args:
        normalized_shape: the trailing shape normalized over (an int or a tuple).
        eps: added to the variance for stability.
        elementwise_affine: whether to learn ``weight`` (ones) and ``bias`` (zeros).
        bias: whether to learn ``bias`` when elementwise_affine.
        device: where the parameters live.
        dtype: their floating dtype.

    Shape:
        input (*, *normalized_shape) -> output of the same shape.

    Examples:
        >>> nn.LayerNorm(8)(fg.randn(2, 5, 8)).shape
        (2, 5, 8)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = (
            (int(normalized_shape),)
            if isinstance(normalized_shape, (int, numbers.Integral))
            else tuple(normalized_shape)
        )
        _check_eps(eps, "LayerNorm")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        """Set the weight to ones and the bias to zeros."""
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return _C.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last dimensions normalized_shape; eps None
    is the machine epsilon of the input's dtype, as torch.nn.RMSNorm (PyTorch 2.4+)."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = (
            (int(normalized_shape),)
            if isinstance(normalized_shape, (int, numbers.Integral))
            else tuple(normalized_shape)
        )
        if eps is not None:
            _check_eps(eps, "RMSNorm")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, False, device, dtype)

    def reset_parameters(self) -> None:
        """Set the weight to ones."""
        if self.weight is not None:
            with no_grad():
                self.weight.fill_(1.0)

    def forward(self, input: Tensor) -> Tensor:
        return _C.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Normalizes each group of ``num_channels // num_groups`` channels of each sample,
    then applies a per-channel affine.

    Args:
        num_groups: the number of groups; must divide num_channels.
        num_channels: C of the (N, C, *) input.
        eps: added to the variance for stability.
        affine: whether to learn per-channel ``weight`` and ``bias``.
        device: where the parameters live.
        dtype: their floating dtype.
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__()
        _check_count(num_groups, "num_groups", "GroupNorm")
        _check_count(num_channels, "num_channels", "GroupNorm")
        if num_channels % num_groups:
            raise _errors.ValueError(
                f"[GroupNorm] expected num_channels divisible by "
                f"num_groups, got {num_channels} and {num_groups}"
            )
        _check_eps(eps, "GroupNorm")
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups,
            num_channels,
            eps,
            affine,
        )
        _affine_parameters(self, (num_channels,), affine, True, device, dtype)

    reset_parameters = LayerNorm.reset_parameters

    def forward(self, input: Tensor) -> Tensor:
        return _C.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _NormBase(Module):
    """Per-channel normalization with optional running statistics: the buffers running_mean,
    running_var and num_batches_tracked (int64), as PyTorch names them."""

    _layer = "BatchNorm"

    def __init__(
        self,
        num_features,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        _check_count(num_features, "num_features", self._layer)
        _check_eps(eps, self._layer)
        if momentum is not None and (not is_real(momentum) or not 0 <= momentum <= 1):
            raise _errors.ValueError(
                f"[{self._layer}] expected momentum in [0, 1] or None, got {momentum!r}"
            )
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, (num_features,), affine, True, device, dtype)
        if track_running_stats:
            self.register_buffer(
                "running_mean", creation.zeros(num_features, dtype=dtype, device=device)
            )
            self.register_buffer(
                "running_var", creation.ones(num_features, dtype=dtype, device=device)
            )
            self.register_buffer(
                "num_batches_tracked", creation.zeros((), dtype=_C.dtype.int64, device=device)
            )
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1 and the batch count 0, as at construction."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.fill_(0.0)
                self.running_var.fill_(1.0)
                self.num_batches_tracked.fill_(0)

    def reset_parameters(self) -> None:
        """Reset the running statistics, the weight to ones and the bias to zeros."""
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input):
        raise NotImplementedError

    def _averaging_factor(self):
        """The momentum of this step's running update: PyTorch's cumulative average
        (1 / batches seen) when momentum is None."""
        if not (self.training and self.track_running_stats):
            return 0.0 if self.momentum is None else self.momentum
        with no_grad():
            self.num_batches_tracked.add_(1)
        if self.momentum is None:
            return 1.0 / float(self.num_batches_tracked.item())
        return self.momentum

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    def forward(self, input, *, activation=None):
        """activation='relu': forgegrad's extension, the ReLU after the layer fused in."""
        self._check_input_dim(input)
        factor = self._averaging_factor()
        batch_statistics = self.training or self.running_mean is None
        # eval with running statistics uses them; otherwise the batch's, updating those
        # tracked only while training
        tracked = not self.training or self.track_running_stats
        return _C.batch_norm(
            input,
            self.running_mean if tracked else None,
            self.running_var if tracked else None,
            self.weight,
            self.bias,
            batch_statistics,
            factor,
            self.eps,
            activation=activation,
        )


def _expect_dims(layer, input, dims, shapes):
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[{layer}] expected a Tensor, got {type(input).__name__}")
    if input.dim() not in dims:
        raise _errors.ValueError(
            f"[{layer}] expected input of shape {shapes}, got {tuple(input.shape)}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L): per channel, batch statistics in
    training (updating ``running_mean``/``running_var``), running statistics in eval.

    Args:
        num_features: C.
        eps: added to the variance for stability.
        momentum: the running statistics' update factor; None averages cumulatively.
        affine: whether to learn per-channel ``weight`` and ``bias``.
        track_running_stats: whether to keep running statistics.
        device: where the parameters and buffers live.
        dtype: their floating dtype.

    Examples:
        >>> nn.BatchNorm1d(4)(fg.randn(16, 4)).shape
        (16, 4)
    """

    _layer = "BatchNorm1d"

    def _check_input_dim(self, input) -> None:
        _expect_dims(self._layer, input, (2, 3), "(N, C) or (N, C, L)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W), per channel; arguments as BatchNorm1d.

    Examples:
        >>> nn.BatchNorm2d(3)(fg.randn(2, 3, 5, 5)).shape
        (2, 3, 5, 5)
    """

    _layer = "BatchNorm2d"

    def _check_input_dim(self, input) -> None:
        _expect_dims(self._layer, input, (4,), "(N, C, H, W)")


class _InstanceNorm(_NormBase):
    _spatial = 1

    def __init__(
        self,
        num_features,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        batched = self._spatial + 2
        _expect_dims(
            self._layer,
            input,
            (batched - 1, batched),
            f"(N, C, {'L' if self._spatial == 1 else 'H, W'}) or without N",
        )
        if input.dim() == batched - 1:
            return self.forward(input.unsqueeze(0)).squeeze(0)
        if input.shape[1] != self.num_features and self.affine:
            raise _errors.ValueError(
                f"[{self._layer}] expected {self.num_features} channels, "
                f"got input of shape {tuple(input.shape)}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        use_input_stats = self.training or not self.track_running_stats
        return _normalization.instance_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            factor,
            self.eps,
        )


class InstanceNorm1d(_InstanceNorm):
    """Normalizes each channel of each sample of (N, C, L) or (C, L) over its length.

    Args:
        num_features: C.
        eps: added to the variance for stability.
        momentum: the running statistics' update factor (when tracked).
        affine: whether to learn per-channel ``weight`` and ``bias`` (off by default).
        track_running_stats: whether to keep running statistics (off by default).
        device: where the parameters and buffers live.
        dtype: their floating dtype.
    """

    _layer = "InstanceNorm1d"


class InstanceNorm2d(_InstanceNorm):
    """Normalizes each channel of each sample of (N, C, H, W) or (C, H, W) over H and W;
    arguments as InstanceNorm1d.
    """

    _layer = "InstanceNorm2d"
    _spatial = 2


class LocalResponseNorm(Module):
    """local_response_norm over (N, C, *): each element divided by (k + alpha / size * s)^beta,
    s the sum of squares over the ``size`` neighbouring channels."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return _normalization.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
