"""Activation layers, each a Module over its function in ``nn.functional``."""

from __future__ import annotations

from typing import Any, TYPE_CHECKING
import inspect

from . import functional as F
from .module import Module, Parameter
from .._checks import is_int, is_real
from .. import _C, _errors, creation

if TYPE_CHECKING:
    from .._C import Tensor


class ReLU(Module):
    """``inplace`` is accepted for PyTorch code; forgegrad computes out of place (same result,
    the input left unchanged)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)


class LeakyReLU(Module):
    """max(0, x) + negative_slope * min(0, x), elementwise.

    Args:
        negative_slope: the slope for negative inputs.
        inplace: accepted for PyTorch code; forgegrad computes out of place.

    Raises:
        TypeError: ``negative_slope`` is not a number.

    Examples:
        >>> nn.LeakyReLU(0.1)(fg.tensor([-1.0, 2.0]))
        tensor([-0.1000,  2.0000])
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        if not is_real(negative_slope):
            raise _errors.TypeError(
                f"[LeakyReLU] negative_slope must be a number, got {negative_slope!r}"
            )
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF (``approximate='tanh'``: its tanh estimate).

    Args:
        approximate: ``'none'`` or ``'tanh'``.

    Raises:
        ValueError: ``approximate`` is neither.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise _errors.ValueError(
                f"[GELU] approximate must be 'none' or 'tanh', got {approximate!r}"
            )
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate='{self.approximate}'"


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class SiLU(Module):
    """x * sigmoid(x), elementwise (also called swish).

    Args:
        inplace: accepted for PyTorch code; forgegrad computes out of place.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)


def _softmax_dim(dim, input):
    # PyTorch's legacy choice when no dim is given.
    if dim is not None:
        return dim
    return 0 if input.ndim in (0, 1, 3) else 1


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``dim``: each slice along it sums to 1.

    Args:
        dim: the dimension to normalize; None picks PyTorch's legacy default (0 for 0-, 1-
            and 3-dimensional inputs, else 1).

    Raises:
        TypeError: ``dim`` is neither an int nor None.

    Examples:
        >>> nn.Softmax(dim=1)(fg.zeros(2, 4))
        tensor([[0.2500, 0.2500, 0.2500, 0.2500],
                [0.2500, 0.2500, 0.2500, 0.2500]])
    """

    _function = staticmethod(F.softmax)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is not None and (not is_int(dim)):
            raise _errors.TypeError(
                f"[{type(self).__name__}] dim must be an int or None, got {dim!r}"
            )
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return self._function(input, _softmax_dim(self.dim, input))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along ``dim``, computed stably; arguments as Softmax."""

    _function = staticmethod(F.log_softmax)


class Softmin(Softmax):
    """softmax(-x) along ``dim``; arguments as Softmax."""

    _function = staticmethod(F.softmin)


class _WithArguments(Module):
    """A module over ``_function(input, **arguments)``, its arguments kept as attributes (and
    shown by repr) under PyTorch's names: ``_parameters`` lists them with their defaults
    (REQUIRED: none)."""

    _function: Any = None
    _arguments: tuple[tuple[str, Any], ...] = ()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()
        bound = inspect.signature(type(self)).bind(*args, **kwargs)
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            if name != "inplace" and not is_real(value) and not is_int(value):
                raise _errors.TypeError(
                    f"[{type(self).__name__}] {name} must be a number, got {value!r}"
                )
            setattr(self, name, value)

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, **{k: getattr(self, k) for k, _ in self._arguments})

    def extra_repr(self) -> str:
        return ", ".join(
            f"{k}={getattr(self, k)}" for k, _ in self._arguments if k != "inplace" or self.inplace
        )


_REQUIRED = inspect.Parameter.empty


def _activation_module(name, function, **arguments):
    """The module class `name` over `function`, constructed with `arguments` (their defaults)."""
    cls = type(
        name,
        (_WithArguments,),
        {
            "_function": function,
            "_arguments": tuple(arguments.items()),
            "__doc__": f"The module form of ``F.{function.__name__}``.",
        },
    )
    cls.__signature__ = inspect.Signature(
        [
            inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=v)
            for k, v in arguments.items()
        ]
    )
    cls.__module__ = __name__
    return cls


Softplus = _activation_module("Softplus", F.softplus, beta=1.0, threshold=20.0)
ELU = _activation_module("ELU", F.elu, alpha=1.0, inplace=False)
SELU = _activation_module("SELU", F.selu, inplace=False)
CELU = _activation_module("CELU", F.celu, alpha=1.0, inplace=False)
Mish = _activation_module("Mish", F.mish, inplace=False)
Hardtanh = _activation_module("Hardtanh", F.hardtanh, min_val=-1.0, max_val=1.0, inplace=False)
ReLU6 = _activation_module("ReLU6", F.relu6, inplace=False)
Hardsigmoid = _activation_module("Hardsigmoid", F.hardsigmoid, inplace=False)
Hardswish = _activation_module("Hardswish", F.hardswish, inplace=False)
LogSigmoid = _activation_module("LogSigmoid", F.logsigmoid)
Softsign = _activation_module("Softsign", F.softsign)
Tanhshrink = _activation_module("Tanhshrink", F.tanhshrink)
Threshold = _activation_module(
    "Threshold", F.threshold, threshold=_REQUIRED, value=_REQUIRED, inplace=False
)
Softshrink = _activation_module("Softshrink", F.softshrink, lambd=0.5)
Hardshrink = _activation_module("Hardshrink", F.hardshrink, lambd=0.5)
GLU = _activation_module("GLU", F.glu, dim=-1)


class PReLU(Module):
    """where(x > 0, x, a x) with a learned ``weight`` a: one value, or one per channel (dim 1
    of the input) with num_parameters=C; starts at ``init``."""

    def __init__(
        self,
        num_parameters: int = 1,
        init: float = 0.25,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__()
        if not is_int(num_parameters) or num_parameters < 1:
            raise _errors.ValueError(
                f"[PReLU] num_parameters must be a positive int, got {num_parameters!r}"
            )
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(
            creation.full((num_parameters,), float(init), dtype=dtype, device=device)
        )

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
