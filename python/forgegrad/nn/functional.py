"""Stateless ops under PyTorch's names and signatures (``torch.nn.functional``), as the op
table (csrc/python/op_table.h) declares them, and the few written here from those."""
from .. import _ops

globals().update(_ops.exports("functional"))


def softmin(input, dim=-1, *, dtype=None):
    """softmax(-input): the smallest entries weigh most."""
    return softmax(-input, dim, dtype=dtype)  # noqa: F821 (an op-table export)


__all__ = list(_ops.exports("functional")) + ["softmin"]
