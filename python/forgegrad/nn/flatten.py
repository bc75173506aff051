"""Shape layers: ``Flatten`` and ``Identity``."""

from .. import _C, _errors
from .module import Module
from .._checks import is_int


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, dim in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not is_int(dim):
                raise _errors.TypeError(f"[Flatten] {name} must be an int, got {dim!r}")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return _C.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    def __init__(self, *args, **kwargs):  # PyTorch accepts and ignores any arguments
        super().__init__()

    def forward(self, input):
        return input
