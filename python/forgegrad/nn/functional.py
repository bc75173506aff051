"""Stateless ops under PyTorch's names and signatures (``torch.nn.functional``), as the op
table (csrc/python/op_table.h) declares them."""
from .. import _ops

globals().update(_ops.exports("functional"))

__all__ = list(_ops.exports("functional"))
