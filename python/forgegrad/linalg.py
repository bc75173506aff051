"""``torch.linalg``'s vector norm."""

from . import _C

vector_norm = _C.vector_norm

__all__ = ["vector_norm"]
