"""F.instance_norm: group_norm with a group per channel (each instance's channel normalized by
its own statistics), or batch_norm on running statistics when use_input_stats is False; and
F.local_response_norm, a mean of squares over neighbouring channels."""

from __future__ import annotations

from typing import TYPE_CHECKING
from .. import _C, _errors
from .._checks import is_int, is_real
from ..autograd import no_grad
from ._padding import pad
from ._pooling import avg_pool2d

if TYPE_CHECKING:
    from .._C import Tensor


def _update_running(running, value, momentum) -> None:
    running.copy_(running * (1 - momentum) + value.to(running.dtype) * momentum)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes each channel of each sample of ``input`` (N, C, *) over its positions,
    then scales and shifts by ``weight`` and ``bias`` (C,). Running statistics, when given,
    are updated by ``momentum``; ``use_input_stats=False`` normalizes with them instead."""
    if not use_input_stats:
        return _C.batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    if input.dim() < 3:
        raise _errors.ValueError(
            f"[instance_norm] expected input of shape (N, C, *) with "
            f"spatial dimensions, got {tuple(input.shape)}"
        )
    spatial = 1
    for size in input.shape[2:]:
        spatial *= size
    if spatial <= 1:
        raise _errors.ValueError(
            f"[instance_norm] expected more than 1 spatial element when "
            f"training, got input of shape {tuple(input.shape)}"
        )
    out = _C.group_norm(input, input.shape[1], weight, bias, eps)
    if (running_mean is None) != (running_var is None):
        raise _errors.ValueError(
            "[instance_norm] expected running_mean and running_var both given or both None"
        )
    if running_mean is not None:
        with no_grad():  # the running statistics average the instances' (unbiased variance)
            dims = tuple(range(2, input.dim()))
            x = input.detach()
            _update_running(running_mean, x.mean(dims).mean(0), momentum)
            _update_running(running_var, x.var(dims).mean(0), momentum)
    return out


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Each element of ``input`` (N, C, *) divided by (k + alpha / size * s)^beta, s the sum of
    squares over the ``size`` channels around it (``size // 2`` before, ``(size - 1) // 2``
    after; missing channels count as zeros), as in AlexNet and PyTorch."""
    op = "local_response_norm"
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor input, got {type(input).__name__}")
    if input.dim() < 3:
        raise _errors.ValueError(
            f"[{op}] expected an input of shape (N, C, *) with 3 or more "
            f"dimensions, got {tuple(input.shape)}"
        )
    if not is_int(size) or size < 1:
        raise _errors.ValueError(f"[{op}] expected size as an int >= 1, got {size!r}")
    for name, value in (("alpha", alpha), ("beta", beta), ("k", k)):
        if not is_real(value):
            raise _errors.TypeError(f"[{op}] expected {name} as a number, got {value!r}")
    shape = tuple(input.shape)
    squares = (input * input).reshape(shape[0], 1, shape[1], -1)  # channels as rows
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    mean = avg_pool2d(squares, (size, 1), stride=1).reshape(shape)
    return input / (mean * alpha + k).pow(beta)
