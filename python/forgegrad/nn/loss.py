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
        return self._function(input, target, self.reduction)

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction='{self.reduction}'"


class MSELoss(_Loss):
    _function = staticmethod(F.mse_loss)


class L1Loss(_Loss):
    _function = staticmethod(F.l1_loss)


class CrossEntropyLoss(_Loss):
    """Logits (N, C) and class indices (N,) -> the fused log-softmax + NLL loss."""

    def __init__(self, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not is_real(label_smoothing):
            raise TypeError(f"[CrossEntropyLoss] label_smoothing must be a number in [0, 1], "
                            f"got {label_smoothing!r}")
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"[CrossEntropyLoss] label_smoothing must be in [0, 1], "
                             f"got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.reduction, self.label_smoothing)


class NLLLoss(_Loss):
    _function = staticmethod(F.nll_loss)


class BCEWithLogitsLoss(_Loss):
    _function = staticmethod(F.binary_cross_entropy_with_logits)
