"""The losses and distances of ``torch.nn.functional`` that are compositions of differentiable
ops (abs, where, clamp, exp, log, sum, indexing, the fused BCE-with-logits kernel): each is a
few elementwise passes and a reduction, so a kernel of its own would buy little, and autograd
gives the backward. PyTorch's formulas, names and defaults; arguments that PyTorch places
after its deprecated ``size_average`` / ``reduce`` are keyword-only here."""

from __future__ import annotations

from typing import TYPE_CHECKING
import math

import numpy as np

from .. import _C, _errors
from .._checks import is_int, is_real
from ..creation import arange, ones_like

if TYPE_CHECKING:
    from .._C import Tensor

__all__ = [
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
    "poisson_nll_loss",
    "cosine_similarity",
    "normalize",
    "pairwise_distance",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "triplet_margin_loss",
    "soft_margin_loss",
    "multi_margin_loss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, op, allowed=_REDUCTIONS):
    if reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed)
        raise _errors.ValueError(f"[{op}] expected reduction one of {names}, got {reduction!r}")


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def _check_floating(op, **tensors):
    for name, t in tensors.items():
        if not isinstance(t, _C.Tensor):
            raise _errors.TypeError(
                f"[{op}] expected {name} to be a Tensor, got {type(t).__name__}"
            )
        if not t.dtype.is_floating_point:
            raise _errors.TypeError(f"[{op}] expected a floating-point {name}, got {t.dtype}")


def _check_same_shape(op, input, target, what: str = "input and target"):
    if input.shape != target.shape:
        raise _errors.ValueError(
            f"[{op}] expected {what} of one shape, got {tuple(input.shape)} "
            f"and {tuple(target.shape)}"
        )


def _check_positive(op, name, value, allow_zero: bool = False):
    if not is_real(value):
        raise _errors.TypeError(f"[{op}] expected {name} to be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise _errors.ValueError(f"[{op}] expected {name} {bound}, got {value}")


def _pointwise_args(op, input, target, reduction, allowed=_REDUCTIONS) -> None:
    _check_floating(op, input=input, target=target)
    _check_same_shape(op, input, target)
    _check_reduction(reduction, op, allowed)


def _quadratic_then_linear(diff, threshold):
    """0.5 d^2 / threshold where |d| < threshold, |d| - 0.5 threshold beyond: the smooth L1
    curve, whose two pieces meet with equal slope at |d| = threshold."""
    distance = diff.abs()
    return _C.where(
        distance < threshold, diff * diff * (0.5 / threshold), distance - 0.5 * threshold
    )


def smooth_l1_loss(
    input: Tensor, target: Tensor, *, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, d = input - target; beta = 0 is
    the L1 loss."""
    _pointwise_args("smooth_l1_loss", input, target, reduction)
    _check_positive("smooth_l1_loss", "beta", beta, allow_zero=True)
    diff = input - target
    losses = diff.abs() if beta == 0 else _quadratic_then_linear(diff, beta)
    return _reduce(losses, reduction)


def huber_loss(
    input: Tensor, target: Tensor, *, reduction: str = "mean", delta: float = 1.0
) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): delta times the smooth L1
    loss with beta = delta."""
    _pointwise_args("huber_loss", input, target, reduction)
    _check_positive("huber_loss", "delta", delta)
    return _reduce(_quadratic_then_linear(input - target, delta) * delta, reduction)


def kl_div(
    input: Tensor, target: Tensor, *, reduction: str = "mean", log_target: bool = False
) -> Tensor:
    """KL(target || exp(input)) pointwise for log-probabilities ``input``:
    target (log target - input), 0 where target is 0 (or exp(t) (t - input) when the target is
    given as log-probabilities). reduction 'batchmean' divides the sum by the batch size, the
    KL divergence's definition; 'mean' divides by the number of elements, as PyTorch's."""
    _pointwise_args("kl_div", input, target, reduction, _REDUCTIONS + ("batchmean",))
    if log_target:
        losses = target.exp() * (target - input)
    else:
        # log(1) = 0 where the target is 0: 0 log 0 counts as 0, and no inf enters the graph.
        losses = target * (_C.where(target == 0, 1.0, target).log() - input)
    if reduction == "batchmean":
        return losses.sum() / input.shape[0] if input.ndim else losses.sum()
    return _reduce(losses, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    *,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Tensor:
    """The Poisson negative log-likelihood of target given the rate exp(input) (log_input) or
    input: exp(input) - target input, or input - target log(input + eps). full adds the
    Stirling term target log target - target + 0.5 log(2 pi target) where target > 1."""
    _pointwise_args("poisson_nll_loss", input, target, reduction)
    _check_positive("poisson_nll_loss", "eps", eps, allow_zero=True)
    if log_input:
        losses = input.exp() - target * input
    else:
        losses = input - target * (input + eps).log()
    if full:
        # Where target <= 1 the term is 0; 1 stands in there so that log sees no 0.
        t = _C.where(target > 1, target, 1.0)
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        losses = losses + _C.where(target > 1, stirling, 0.0)
    return _reduce(losses, reduction)


def _clamped_norm(x, dim, eps):
    """max(||x||_2, eps) along dim (kept): the clamp is taken on the squared norm, so a zero
    vector gets a zero gradient, not 0 * inf."""
    return (x * x).sum(dim, keepdim=True).clamp(min=eps * eps).sqrt()


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along dim; x1 and x2 broadcast."""
    _check_floating("cosine_similarity", x1=x1, x2=x2)
    if not is_int(dim):
        raise _errors.TypeError(f"[cosine_similarity] expected dim to be an int, got {dim!r}")
    _check_positive("cosine_similarity", "eps", eps, allow_zero=True)
    if x1.shape != x2.shape:  # PyTorch's broadcasting, so that dim names the same axis
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
        x1, x2 = _C.broadcast_to(x1, shape), _C.broadcast_to(x2, shape)
    return ((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps))).sum(dim)


def _vector_norm(x, p, dim, keepdim):
    """The p-norm along dim: p = inf the largest |x|, -inf the smallest, p = 0 the count of
    non-zeros."""
    if p == math.inf:
        return x.abs().max(dim, keepdim=keepdim).values
    if p == -math.inf:
        return -(-x.abs()).max(dim, keepdim=keepdim).values
    if p == 0:
        return (x != 0).sum(dim, keepdim=keepdim).to(x.dtype)
    if p == 1:
        return x.abs().sum(dim, keepdim=keepdim)
    if p == 2:
        return (x * x).sum(dim, keepdim=keepdim).sqrt()
    return (x.abs() ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(||input||_p, eps) along dim: unit vectors, as torch.nn.functional.normalize.
    A zero vector stays zero."""
    _check_floating("normalize", input=input)
    if not is_real(p):
        raise _errors.TypeError(f"[normalize] expected p to be a number, got {p!r}")
    if not is_int(dim):
        raise _errors.TypeError(f"[normalize] expected dim to be an int, got {dim!r}")
    _check_positive("normalize", "eps", eps, allow_zero=True)
    if not -input.ndim <= dim < max(input.ndim, 1):
        raise IndexError(
            f"[normalize] dim {dim} is out of range for a tensor of {input.ndim} dimensions"
        )
    if p == 2:
        return input / _clamped_norm(input, dim, eps)
    return input / _vector_norm(input, p, dim, True).clamp(min=eps)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim; x1 and x2 broadcast. eps keeps the norm of
    equal vectors off its kink at 0."""
    _check_floating("pairwise_distance", x1=x1, x2=x2)
    if not is_real(p):
        raise _errors.TypeError(f"[pairwise_distance] expected p to be a number, got {p!r}")
    return _vector_norm(x1 - x2 + eps, p, -1, keepdim)


def _check_sign_target(op, target, shape):
    if not isinstance(target, _C.Tensor):
        raise _errors.TypeError(
            f"[{op}] expected target to be a Tensor, got {type(target).__name__}"
        )
    if target.shape != shape:
        raise _errors.ValueError(
            f"[{op}] expected target of shape {tuple(shape)}, got {tuple(target.shape)}"
        )


def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, *, reduction: str = "mean"
) -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos - margin) where it is -1 (0 elsewhere);
    inputs (N, D) with target (N), or (D) with a 0-d target. cos is PyTorch's here:
    x1.x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12))."""
    op = "cosine_embedding_loss"
    _check_floating(op, input1=input1, input2=input2)
    _check_same_shape(op, input1, input2, "input1 and input2")
    if input1.ndim not in (1, 2):
        raise _errors.ValueError(
            f"[{op}] expected inputs of shape (N, D) or (D), got {tuple(input1.shape)}"
        )
    _check_sign_target(op, target, input1.shape[:-1])
    _check_reduction(reduction, op)
    dim = input1.ndim - 1
    squared_norms = ((input1 * input1).sum(dim) + 1e-12) * ((input2 * input2).sum(dim) + 1e-12)
    cos = (input1 * input2).sum(dim) / squared_norms.sqrt()
    losses = _C.where(target == 1, 1.0 - cos, 0.0) + _C.where(
        target == -1, (cos - margin).clamp(min=0.0), 0.0
    )
    return _reduce(losses, reduction)


def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, *, reduction: str = "mean"
) -> Tensor:
    """max(0, -target (input1 - input2) + margin): target 1 asks input1 to rank higher."""
    op = "margin_ranking_loss"
    _check_floating(op, input1=input1, input2=input2)
    _check_same_shape(op, input1, input2, "input1 and input2")
    _check_sign_target(op, target, input1.shape)
    _check_reduction(reduction, op)
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0.0), reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    *,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0), d the pairwise p-distance; swap takes
    min(d(a, n), d(p, n)) as the negative's distance."""
    op = "triplet_margin_loss"
    _check_floating(op, anchor=anchor, positive=positive, negative=negative)
    if not anchor.shape == positive.shape == negative.shape:
        raise _errors.ValueError(
            f"[{op}] expected anchor, positive and negative of one shape, got "
            f"{tuple(anchor.shape)}, {tuple(positive.shape)} and "
            f"{tuple(negative.shape)}"
        )
    _check_positive(op, "margin", margin)
    _check_reduction(reduction, op)
    positive_distance = pairwise_distance(anchor, positive, p, eps)
    negative_distance = pairwise_distance(anchor, negative, p, eps)
    if swap:
        swapped = pairwise_distance(positive, negative, p, eps)
        negative_distance = _C.where(swapped < negative_distance, swapped, negative_distance)
    return _reduce((positive_distance - negative_distance + margin).clamp(min=0.0), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target input)), by the fused BCE-with-logits kernel: at label 1 it is
    softplus(-z), stable for any z = target input."""
    _pointwise_args("soft_margin_loss", input, target, reduction)
    z = target * input
    losses = _C.binary_cross_entropy_with_logits(z, ones_like(z), reduction="none")
    return _reduce(losses, reduction)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    *,
    reduction: str = "mean",
) -> Tensor:
    """The multi-class hinge loss: per row, sum over classes j != y of
    w[y] max(0, margin - x[y] + x[j])^p / C, for scores (N, C) (or (C)) and class indices y."""
    op = "multi_margin_loss"
    _check_floating(op, input=input)
    if p not in (1, 2):
        raise _errors.ValueError(f"[{op}] expected p 1 or 2, got {p!r}")
    if input.ndim not in (1, 2):
        raise _errors.ValueError(
            f"[{op}] expected input of shape (N, C) or (C), got {tuple(input.shape)}"
        )
    _check_reduction(reduction, op)
    scores = input if input.ndim == 2 else input.unsqueeze(0)
    rows, classes = scores.shape
    if not isinstance(target, _C.Tensor) or target.dtype != _C.dtype.int64:
        raise _errors.TypeError(
            f"[{op}] expected int64 class indices as target, got "
            f"{getattr(target, 'dtype', type(target).__name__)}"
        )
    if target.shape != input.shape[:-1]:
        raise _errors.ValueError(
            f"[{op}] expected target of shape {tuple(input.shape[:-1])}, got {tuple(target.shape)}"
        )
    target = target.reshape(rows)
    outside = [int(t) for t in target.cpu().numpy() if not 0 <= t < classes]
    if outside:
        raise _errors.ValueError(
            f"[{op}] expected class indices in [0, {classes}), got {outside[0]}"
        )
    target_scores = scores[arange(rows, device=scores.device), target].unsqueeze(1)
    hinge = (margin - target_scores + scores).clamp(min=0.0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        _check_floating(op, weight=weight)
        if weight.shape != (classes,):
            raise _errors.ValueError(
                f"[{op}] expected weight of shape ({classes},), got {tuple(weight.shape)}"
            )
        hinge = hinge * weight[target].unsqueeze(1)
    is_target = arange(classes, device=scores.device) == target.unsqueeze(1)
    losses = _C.where(is_target, 0.0, hinge).sum(1) / classes
    return _reduce(losses if input.ndim == 2 else losses.squeeze(0), reduction)
