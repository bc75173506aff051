"""F.instance_norm: group_norm with a group per channel (each instance's channel normalized by
its own statistics), or batch_norm on running statistics when use_input_stats is False."""
from __future__ import annotations

from typing import TYPE_CHECKING
from .. import _C, _errors
from ..autograd import no_grad

if TYPE_CHECKING:
    from .._C import Tensor


def _update_running(running, value, momentum) -> None:
    running.copy_(running * (1 - momentum) + value.to(running.dtype) * momentum)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    if not use_input_stats:
        return _C.batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    if input.dim() < 3:
        raise _errors.ValueError(f"[instance_norm] expected input of shape (N, C, *) with "
                                 f"spatial dimensions, got {tuple(input.shape)}")
    spatial = 1
    for size in input.shape[2:]:
        spatial *= size
    if spatial <= 1:
        raise _errors.ValueError(f"[instance_norm] expected more than 1 spatial element when "
                                 f"training, got input of shape {tuple(input.shape)}")
    out = _C.group_norm(input, input.shape[1], weight, bias, eps)
    if (running_mean is None) != (running_var is None):
        raise _errors.ValueError("[instance_norm] expected running_mean and running_var both "
                                 "given or both None")
    if running_mean is not None:
        with no_grad():  # the running statistics average the instances' (unbiased variance)
            dims = tuple(range(2, input.dim()))
            x = input.detach()
            _update_running(running_mean, x.mean(dims).mean(0), momentum)
            _update_running(running_var, x.var(dims).mean(0), momentum)
    return out
