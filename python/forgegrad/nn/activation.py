"""Activation layers, each a Module over its function in ``nn.functional``."""

from . import functional as F
from .module import Module
from .._checks import is_int, is_real


class ReLU(Module):
    """``inplace`` is accepted for PyTorch code; forgegrad computes out of place (same result,
    the input left unchanged)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        if not is_real(negative_slope):
            raise TypeError(f"[LeakyReLU] negative_slope must be a number, "
                            f"got {negative_slope!r}")
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"[GELU] approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate='{self.approximate}'"


class Tanh(Module):
    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    def forward(self, input):
        return F.sigmoid(input)


class SiLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.silu(input)


def _softmax_dim(dim, input):
    # PyTorch's legacy choice when no dim is given.
    if dim is not None:
        return dim
    return 0 if input.ndim in (0, 1, 3) else 1


class Softmax(Module):
    _function = staticmethod(F.softmax)

    def __init__(self, dim=None):
        super().__init__()
        if dim is not None and (not is_int(dim)):
            raise TypeError(f"[{type(self).__name__}] dim must be an int or None, got {dim!r}")
        self.dim = dim

    def forward(self, input):
        return self._function(input, _softmax_dim(self.dim, input))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    _function = staticmethod(F.log_softmax)
