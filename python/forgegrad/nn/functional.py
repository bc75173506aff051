"""Stateless ops under PyTorch's names and signatures (``torch.nn.functional``), as the op
table (csrc/python/op_table.h) declares them, the losses composed of them (_losses.py) and
the few written here."""

from typing import TYPE_CHECKING, SupportsIndex, SupportsInt

from .. import _C, _ops
from . import _losses
from ._losses import *  # noqa: F401,F403 (listed in _losses.__all__)
from ._padding import pad
from .._index_ops import one_hot
from ._fold import unfold, fold
from ._conv import conv1d, conv2d, conv3d
from ._conv_transpose import conv_transpose1d, conv_transpose2d
from . import _pooling
from ._pooling import *  # noqa: F401,F403 (listed in _pooling.__all__)
from ._normalization import instance_norm, local_response_norm
from . import _interpolate, _channel_dropout, _pixel_shuffle
from ._interpolate import *  # noqa: F401,F403 (listed in _interpolate.__all__)
from ._channel_dropout import *  # noqa: F401,F403 (listed in _channel_dropout.__all__)
from ._pixel_shuffle import *  # noqa: F401,F403 (listed in _pixel_shuffle.__all__)
from ._embedding import embedding
from ._multi_head_attention import multi_head_attention_forward

globals().update(_ops.exports("functional"))
if TYPE_CHECKING:  # the same names, for type checkers (tools/gen_stubs.py writes the stub)
    from .._functional_exports import *  # noqa: F401,F403


def softmin(
    input: _C.Tensor, dim: SupportsInt | SupportsIndex = -1, *, dtype: _C.dtype | None = None
) -> _C.Tensor:
    """softmax(-input): the smallest entries weigh most."""
    return softmax(-input, dim, dtype=dtype)  # noqa: F405 (an op-table export)


__all__ = (
    list(_ops.exports("functional"))
    + _losses.__all__
    + [
        "softmin",
        "pad",
        "one_hot",
        "unfold",
        "fold",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "instance_norm",
        "local_response_norm",
    ]
    + _pooling.__all__
    + _interpolate.__all__
    + _channel_dropout.__all__
    + _pixel_shuffle.__all__
    + ["embedding"]
    + ["multi_head_attention_forward"]
)
