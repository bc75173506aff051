"""``Linear``: y = x W^T + b with W (out_features, in_features), as torch.nn.Linear."""

from __future__ import annotations

from typing import TYPE_CHECKING
import math

from .. import _C, _errors, creation
from . import init
from .module import Module, Parameter
from .._checks import is_int

if TYPE_CHECKING:
    from .._C import Tensor


def _check_features(value, name):
    if not is_int(value) or value <= 0:
        raise _errors.ValueError(f"[Linear] {name} must be a positive int, got {value!r}")


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features).

    Args:
        in_features: the size of each input's last dimension.
        out_features: the size of each output's last dimension.
        bias: whether to learn the additive bias b.
        device: where the parameters live (``"cpu"``, ``"cuda"``).

    Shape:
        input (*, in_features) -> output (*, out_features).

    Raises:
        ValueError: a feature count is not a positive int.

    Examples:
        >>> layer = nn.Linear(4, 3)
        >>> layer(fg.randn(10, 4)).shape
        (10, 3)
        >>> layer.weight.shape, layer.bias.shape
        ((3, 4), (3,))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: str | _C.device | None = None,
    ) -> None:
        super().__init__()
        _check_features(in_features, "in_features")
        _check_features(out_features, "out_features")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(creation.empty(out_features, in_features, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: W ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with a=sqrt(5)),
        and b from the same range, so models start alike."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return _C.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
