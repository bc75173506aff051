"""``Dropout``: zeroes elements with probability p in training mode (scaling the rest by
1 / (1 - p)); the identity in eval mode."""

from .. import _errors
from . import functional as F
from .module import Module
from .._checks import is_real


class Dropout(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not is_real(p):
            raise _errors.TypeError("[Dropout] p must be a number (a probability in [0, 1]), got "
                                    f"{p!r}")
        if not 0 <= p <= 1:
            raise _errors.ValueError(f"[Dropout] p must be a probability in [0, 1], got {p!r}")
        self.p, self.inplace = float(p), inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
