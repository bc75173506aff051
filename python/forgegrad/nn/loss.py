"""Loss layers, each a Module over its function in ``nn.functional``, with
``reduction='mean' | 'sum' | 'none'``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TYPE_CHECKING

from .. import _errors
from . import functional as F
from .module import Module
from .._checks import is_real

if TYPE_CHECKING:
    from .._C import Tensor

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    _function: Any = None  # the functional form: (input, target, reduction=...) -> loss
    _reductions: tuple[str, ...] = _REDUCTIONS

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in self._reductions:
            raise _errors.ValueError(
                f"[{type(self).__name__}] reduction must be one of "
                f"{self._reductions}, got {reduction!r}"
            )
        self.reduction = reduction

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._function(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction='{self.reduction}'"


class MSELoss(_Loss):
    """The mean squared error, (input - target)^2, reduced.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (the elementwise losses).

    Examples:
        >>> nn.MSELoss()(fg.tensor([1.0, 2.0]), fg.tensor([1.0, 4.0]))
        tensor(2.)
    """

    _function = staticmethod(F.mse_loss)


class L1Loss(_Loss):
    """The mean absolute error, |input - target|, reduced.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (the elementwise losses).
    """

    _function = staticmethod(F.l1_loss)


class _WeightedLoss(_Loss):
    """A loss with weights (per class, or per element for the binary ones), kept as a buffer
    as PyTorch keeps it: in state_dict when given, moved by ``to(device)``."""

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Logits (N, C) (or (C), or (N, C, d1, ...)) and class indices (N,) or class
    probabilities of the logits' shape -> the fused log-softmax + NLL loss. weight: (C,)
    class weights; ignore_index: a class index target that adds nothing (and is not counted
    by the mean)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, reduction)
        if not is_real(label_smoothing):
            raise _errors.TypeError(
                "[CrossEntropyLoss] label_smoothing must be a number in [0, "
                f"1], got {label_smoothing!r}"
            )
        if not 0.0 <= label_smoothing <= 1.0:
            raise _errors.ValueError(
                f"[CrossEntropyLoss] label_smoothing must be in [0, 1], got {label_smoothing}"
            )
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_WeightedLoss):
    """Log-probabilities (N, C) (or (C), or (N, C, d1, ...)) and class indices -> the
    negative log-likelihood, weighted by ``weight`` (C,), skipping ``ignore_index``."""

    def __init__(
        self, weight: Tensor | None = None, *, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class BCELoss(_WeightedLoss):
    """Probabilities and targets of one shape -> the binary cross-entropy, each log clamped
    at -100 as PyTorch's; weight: broadcast over the elements' losses."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Logits and targets of one shape -> the binary cross-entropy of sigmoid(logits), fused
    and stable; weight: broadcast over the losses; pos_weight: the positive term's weight,
    broadcast over the classes (the last dim)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        *,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class SmoothL1Loss(_Loss):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""

    def __init__(self, *, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """KL(target || exp(input)) for log-probabilities ``input``; reduction 'batchmean' is the
    KL divergence of each sample averaged over the batch."""

    _reductions = _REDUCTIONS + ("batchmean",)

    def __init__(self, *, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(_Loss):
    """The Poisson negative log-likelihood of target for the rate exp(input) (log_input) or
    input; full adds the Stirling term."""

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        *,
        eps: float = 1e-8,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(
            input, target, self.log_input, self.full, eps=self.eps, reduction=self.reduction
        )


class CosineSimilarity(Module):
    """The cosine of the angle between x1 and x2 along ``dim``, norms clamped at eps."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p along the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class _PairMarginLoss(_Loss):
    """A loss of two inputs, a target of signs and a margin."""

    def __init__(self, margin: float = 0.0, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return self._function(input1, input2, target, self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(_PairMarginLoss):
    """1 - cos(x1, x2) for target 1, max(0, cos(x1, x2) - margin) for target -1."""

    _function = staticmethod(F.cosine_embedding_loss)


class MarginRankingLoss(_PairMarginLoss):
    """max(0, -target (input1 - input2) + margin)."""

    _function = staticmethod(F.margin_ranking_loss)


class TripletMarginLoss(_Loss):
    """max(d(anchor, positive) - d(anchor, negative) + margin, 0), d the p-distance."""

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        *,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(  # type: ignore[override]  # three inputs, not (input, target)
        self,
        anchor: Tensor,
        positive: Tensor,
        negative: Tensor,
    ) -> Tensor:
        return F.triplet_margin_loss(
            anchor,
            positive,
            negative,
            self.margin,
            self.p,
            self.eps,
            self.swap,
            reduction=self.reduction,
        )


class SoftMarginLoss(_Loss):
    """log(1 + exp(-target input)), targets 1 or -1."""

    _function = staticmethod(F.soft_margin_loss)


class MultiMarginLoss(_WeightedLoss):
    """The multi-class hinge loss of scores (N, C) and class indices (N), weight (C,)."""

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Tensor | None = None,
        *,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, reduction)
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(
            input, target, self.p, self.margin, self.weight, reduction=self.reduction
        )


class CTCLoss(_Loss):
    """Connectionist temporal classification: log-probabilities (T, N, C) of C classes (blank
    among them) per frame, targets padded (N, S) or concatenated, and the lengths of each
    sequence's input and target -> -log p(target), summed over every alignment."""

    def __init__(
        self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False
    ) -> None:
        super().__init__(reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(  # type: ignore[override]
        self,
        log_probs: Tensor,
        targets: Tensor,
        input_lengths: Tensor | int | Sequence[int],
        target_lengths: Tensor | int | Sequence[int],
    ) -> Tensor:
        return F.ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            self.blank,
            self.reduction,
            self.zero_infinity,
        )
