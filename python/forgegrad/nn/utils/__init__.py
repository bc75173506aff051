"""Parameter utilities: ``clip_grad_norm_`` and ``clip_grad_value_``,
``parameters_to_vector`` and ``vector_to_parameters``; ``rnn`` (padding of sequences)."""

import math
from collections.abc import Iterable as _Iterable

from ... import _C, _errors
from ...autograd import no_grad
from ..._checks import is_real
from . import rnn as rnn  # `as rnn`: re-exported for type checkers


# What the clipping functions take: one Tensor, or an iterable of them (model.parameters()).
Tensors = _C.Tensor | _Iterable[_C.Tensor]


def _tensor_list(parameters: Tensors, op: str) -> list[_C.Tensor]:
    """`parameters` (one Tensor or an iterable of them, e.g. a generator) as a list."""
    if isinstance(parameters, _C.Tensor):
        parameters = [parameters]
    if isinstance(parameters, (str, bytes)) or not hasattr(parameters, "__iter__"):
        raise _errors.TypeError(
            f"[{op}] expected an iterable of Tensors (e.g. "
            f"model.parameters()), got {type(parameters).__name__}"
        )
    parameters = list(parameters)
    for p in parameters:
        if not isinstance(p, _C.Tensor):
            raise _errors.TypeError(f"[{op}] expected Tensors, got {type(p).__name__}")
    return parameters


def _grad_norm(grad, norm_type):
    if norm_type == math.inf:
        return grad.abs().max().item() if grad.numel() else 0.0
    if norm_type == 2.0:
        return math.sqrt((grad * grad).sum().item())  # the sum accumulates in float64
    return (grad.abs() ** norm_type).sum().item() ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters: Tensors, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> _C.Tensor:
    """Scale the gradients of `parameters` in place so their global norm is at most
    `max_norm`; returns the norm before clipping as a 0-d Tensor, as
    torch.nn.utils.clip_grad_norm_.

    A non-finite total norm raises RuntimeError when error_if_nonfinite; otherwise, as in
    PyTorch, the gradients are scaled by the non-finite factor (NaN, or 0 for an infinite
    norm), which makes the problem visible in the next step rather than hiding it."""
    parameters = _tensor_list(parameters, "clip_grad_norm_")
    for name, value in (("max_norm", max_norm), ("norm_type", norm_type)):
        if not (is_real(value) or isinstance(value, _C.Tensor)):
            raise _errors.TypeError(f"[clip_grad_norm_] {name} must be a number, got {value!r}")
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not max_norm >= 0:
        raise _errors.ValueError(f"[clip_grad_norm_] max_norm must be >= 0, got {max_norm}")
    if not norm_type > 0:
        raise _errors.ValueError(
            f"[clip_grad_norm_] norm_type must be > 0 (or inf), got {norm_type}"
        )
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return _C.full([], 0.0, None, None)
    with no_grad():
        norms = [_grad_norm(g, norm_type) for g in grads]
        if norm_type == math.inf:
            # Python's max() drops a NaN that is not first; the norm must stay NaN.
            total = math.nan if any(math.isnan(n) for n in norms) else max(norms)
        else:
            total = sum(n**norm_type for n in norms) ** (1.0 / norm_type)
        if error_if_nonfinite and not math.isfinite(total):
            raise RuntimeError(
                f"[clip_grad_norm_] the total norm of order {norm_type} of the "
                f"gradients is {total}; set error_if_nonfinite=False to clip "
                "anyway"
            )
        coef = max_norm / (total + 1e-6)
        coef = coef if math.isnan(coef) else min(coef, 1.0)
        for g in grads:
            g.mul_(coef)
    return _C.full([], total, None, None)


def clip_grad_value_(parameters: Tensors, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp the gradients of `parameters` in place to [-clip_value, clip_value], as
    torch.nn.utils.clip_grad_value_; parameters without a gradient are skipped. `foreach`
    is accepted for PyTorch's signature: every gradient is clamped by one kernel anyway."""
    parameters = _tensor_list(parameters, "clip_grad_value_")
    if not (is_real(clip_value) or isinstance(clip_value, _C.Tensor)):
        raise _errors.TypeError(
            f"[clip_grad_value_] clip_value must be a number, got {clip_value!r}"
        )
    clip_value = float(clip_value)
    with no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Tensors) -> _C.Tensor:
    """The parameters' values flattened and joined into one vector, recorded (a graph from
    it reaches each parameter), as torch.nn.utils.parameters_to_vector."""
    tensors = _tensor_list(parameters, "parameters_to_vector")
    if not tensors:
        raise _errors.ValueError("[parameters_to_vector] expected at least one parameter")
    device = tensors[0].device
    for p in tensors:
        if p.device != device:
            raise _errors.ValueError(
                f"[parameters_to_vector] expected parameters on one device, got {device} "
                f"and {p.device}"
            )
    return _C.cat([p.reshape(-1) for p in tensors])


def vector_to_parameters(vec: _C.Tensor, parameters: Tensors) -> None:
    """Copies consecutive slices of the 1-d ``vec`` into the parameters, in place and
    unrecorded; its length must be their total number of elements."""
    tensors = _tensor_list(parameters, "vector_to_parameters")
    if not isinstance(vec, _C.Tensor):
        raise _errors.TypeError(
            f"[vector_to_parameters] expected vec to be a Tensor, got {type(vec).__name__}"
        )
    total = sum(p.numel() for p in tensors)
    if vec.ndim != 1 or vec.numel() != total:
        raise _errors.ValueError(
            f"[vector_to_parameters] expected a 1-d vec of {total} elements (the parameters'), "
            f"got shape {tuple(vec.shape)}"
        )
    start = 0
    with no_grad():
        for p in tensors:
            p.copy_(vec[start : start + p.numel()].reshape(p.shape))
            start += p.numel()
