"""Loss layers, each a Module over its function in ``nn.functional``, with
``reduction='mean' | 'sum' | 'none'``."""

from . import functional as F
from .module import Module
from .._checks import is_real

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    _function = None  # the functional form: (input, target, reduction) -> loss

    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"[{type(self).__name__}] reduction must be one of {_REDUCTIONS}, "
                             f"got {reduction!r}")
        self.reduction = reduction

    def forward(self, input, target):
        return self._function(input, target, reduction=self.reduction)

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction='{self.reduction}'"


class MSELoss(_Loss):
    _function = staticmethod(F.mse_loss)


class L1Loss(_Loss):
    _function = staticmethod(F.l1_loss)


class _WeightedLoss(_Loss):
    """A loss with weights (per class, or per element for the binary ones), kept as a buffer
    as PyTorch keeps it: in state_dict when given, moved by ``to(device)``."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Logits (N, C) (or (C), or (N, C, d1, ...)) and class indices (N,) or class
    probabilities of the logits' shape -> the fused log-softmax + NLL loss. weight: (C,)
    class weights; ignore_index: a class index target that adds nothing (and is not counted
    by the mean)."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        if not is_real(label_smoothing):
            raise TypeError(f"[CrossEntropyLoss] label_smoothing must be a number in [0, 1], "
                            f"got {label_smoothing!r}")
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"[CrossEntropyLoss] label_smoothing must be in [0, 1], "
                             f"got {label_smoothing}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Log-probabilities (N, C) (or (C), or (N, C, d1, ...)) and class indices -> the
    negative log-likelihood, weighted by ``weight`` (C,), skipping ``ignore_index``."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Probabilities and targets of one shape -> the binary cross-entropy, each log clamped
    at -100 as PyTorch's; weight: broadcast over the elements' losses."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Logits and targets of one shape -> the binary cross-entropy of sigmoid(logits), fused
    and stable; weight: broadcast over the losses; pos_weight: the positive term's weight,
    broadcast over the classes (the last dim)."""

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)
