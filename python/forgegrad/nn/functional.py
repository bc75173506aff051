"""Stateless ops under PyTorch's names and signatures (``torch.nn.functional``), as the op
table (csrc/python/op_table.h) declares them, and the losses composed of them (_losses.py)."""
from .. import _ops
from . import _losses
from ._losses import *  # noqa: F401,F403 (listed in _losses.__all__)

globals().update(_ops.exports("functional"))

__all__ = list(_ops.exports("functional")) + _losses.__all__
