"""Parameter initialization, as ``torch.nn.init``: each function fills a tensor in place
(under no_grad) from forgegrad's Philox stream and returns it."""

from __future__ import annotations

from typing import TYPE_CHECKING
import math
import warnings

import numpy as np

from .. import _C, _errors, creation
from ..autograd import no_grad
from .._checks import is_real

if TYPE_CHECKING:
    from .._C import Tensor


def _check(tensor, op):
    if not isinstance(tensor, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor, got {type(tensor).__name__}")
    if tensor.dtype != _C.dtype.float32:
        raise _errors.TypeError(f"[{op}] expected a float32 tensor, got {tensor.dtype}")


def _check_numbers(op, **values):
    bad = {k: v for k, v in values.items() if not is_real(v)}
    if bad:
        got = ", ".join(f"{k}={v!r}" for k, v in bad.items())
        what = "must be a number" if len(values) == 1 else "must be numbers"
        raise _errors.TypeError(f"[{op}] {' and '.join(values)} {what}, got {got}")


def _fill_from(tensor, values):
    with no_grad():
        tensor.copy_(values)
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation, as torch.nn.init.calculate_gain."""
    linear = (
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    )
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if not is_real(slope):
            raise _errors.ValueError(f"[calculate_gain] negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise _errors.ValueError(f"[calculate_gain] unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise _errors.ValueError(
            "[init] fan in and fan out need a tensor of at least 2 "
            f"dimensions, got shape {tensor.shape}"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode, op):
    if mode not in ("fan_in", "fan_out"):
        raise _errors.ValueError(f"[{op}] mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _empty(tensor, op) -> bool:
    """A tensor without elements has no fan to scale by: as in PyTorch, initializing it is a
    no-op with a warning (the caller returns it unchanged)."""
    if tensor.numel():
        return False
    warnings.warn(
        f"[{op}] initializing a zero-element tensor (shape {tuple(tensor.shape)}) is a no-op",
        stacklevel=3,
    )
    return True


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fills ``tensor`` in place with draws from U(a, b); returns it."""
    _check(tensor, "uniform_")
    _check_numbers("uniform_", a=a, b=b)
    if not a <= b:
        raise _errors.ValueError(f"[uniform_] expected a <= b, got a={a}, b={b}")
    return _fill_from(tensor, creation.rand(tensor.shape, device=tensor.device) * (b - a) + a)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fills ``tensor`` in place with draws from N(mean, std^2); returns it."""
    _check(tensor, "normal_")
    _check_numbers("normal_", mean=mean, std=std)
    if not std >= 0:
        raise _errors.ValueError(f"[normal_] expected std >= 0, got {std}")
    return _fill_from(tensor, creation.randn(tensor.shape, device=tensor.device) * std + mean)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fills ``tensor`` in place with ``val``; returns it."""
    _check(tensor, "constant_")
    _check_numbers("constant_", val=val)
    with no_grad():
        tensor.fill_(val)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fills ``tensor`` in place with zeros; returns it."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fills ``tensor`` in place with ones; returns it."""
    return constant_(tensor, 1.0)


def _fill_with_std(tensor, std, uniform):
    """Uniform on [-sqrt(3) std, sqrt(3) std] (that std), or normal with mean 0 and std."""
    if uniform:
        bound = math.sqrt(3.0) * std
        return uniform_(tensor, -bound, bound)
    return normal_(tensor, 0.0, std)


def _xavier(tensor, gain, op, uniform):
    _check(tensor, op)
    _check_numbers(op, gain=gain)
    if _empty(tensor, op):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return _fill_with_std(tensor, gain * math.sqrt(2.0 / (fan_in + fan_out)), uniform)


def _kaiming(tensor, a, mode, nonlinearity, op, uniform):
    _check(tensor, op)
    if _empty(tensor, op):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, op))
    return _fill_with_std(tensor, std, uniform)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot's uniform init, in place: U(-b, b), b = gain sqrt(6 / (fan_in + fan_out)).

    >>> w = forgegrad.nn.init.xavier_uniform_(forgegrad.empty(64, 32))
    >>> bool(w.abs().max() <= (6 / 96) ** 0.5)
    True
    """
    return _xavier(tensor, gain, "xavier_uniform_", uniform=True)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot's normal init, in place: N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out))."""
    return _xavier(tensor, gain, "xavier_normal_", uniform=False)


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He's uniform init, in place: U(-b, b), b = gain sqrt(3 / fan), with the gain of
    ``nonlinearity`` (negative slope ``a``) and the fan of ``mode`` ("fan_in" or "fan_out").
    nn.Linear and the convolutions initialize their weights with it (a = sqrt(5)), as PyTorch."""
    return _kaiming(tensor, a, mode, nonlinearity, "kaiming_uniform_", uniform=True)


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He's normal init, in place: N(0, std^2), std = gain / sqrt(fan), with the gain of
    ``nonlinearity`` (negative slope ``a``) and the fan of ``mode`` ("fan_in" or "fan_out")."""
    return _kaiming(tensor, a, mode, nonlinearity, "kaiming_normal_", uniform=False)


def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0
) -> Tensor:
    """Fills ``tensor`` in place with draws from N(mean, std^2) truncated to [a, b] (bounds
    in the tensor's units, as PyTorch's): uniform draws between the normal's distribution
    function at a and at b, mapped back through its inverse. Returns it."""
    _check(tensor, "trunc_normal_")
    _check_numbers("trunc_normal_", mean=mean, std=std, a=a, b=b)
    if not std >= 0:
        raise _errors.ValueError(f"[trunc_normal_] expected std >= 0, got {std}")
    if not a < b:
        raise _errors.ValueError(f"[trunc_normal_] expected a < b, got a={a}, b={b}")
    if std == 0 or not a <= mean <= b and min(abs(a - mean), abs(b - mean)) > 10 * std:
        # no spread, or a window so far out that the distribution function cannot tell
        # its ends apart: the nearest point of the window to the mean
        return constant_(tensor, min(max(mean, a), b))

    def cdf(x: float) -> float:  # of the standard normal
        return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))

    low, high = 2 * cdf((a - mean) / std) - 1, 2 * cdf((b - mean) / std) - 1
    uniform = creation.rand(tensor.shape, device=tensor.device) * (high - low) + low
    values = _C.erfinv(uniform) * (std * math.sqrt(2.0)) + mean
    return _fill_from(tensor, values.clamp(min=a, max=b))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Fills ``tensor`` (2 or more dimensions, flattened past the first) in place with a
    (semi-)orthogonal matrix times ``gain``: the Q of a QR factorization of normal draws, its
    signs fixed by R's diagonal so that it is uniform over orthogonal matrices. Returns it.
    The factorization runs on the host, in float64."""
    _check(tensor, "orthogonal_")
    _check_numbers("orthogonal_", gain=gain)
    if tensor.ndim < 2:
        raise _errors.ValueError(
            f"[orthogonal_] only tensors with 2 or more dimensions are supported, got "
            f"shape {tuple(tensor.shape)}"
        )
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    draws = creation.randn(rows, cols).numpy().astype(np.float64)
    if rows < cols:
        draws = draws.T
    q, r = np.linalg.qr(draws)
    signs = np.sign(np.diag(r))
    q = q * np.where(signs == 0, 1.0, signs)
    if rows < cols:
        q = q.T
    values = creation.tensor((gain * q).reshape(tuple(tensor.shape)), dtype=tensor.dtype)
    return _fill_from(tensor, values.to(tensor.device))


def eye_(tensor: Tensor) -> Tensor:
    """Fills the 2-dimensional ``tensor`` in place with the identity (ones on the diagonal,
    zeros elsewhere, for any shape); returns it."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise _errors.ValueError(
            f"[eye_] only 2-dimensional tensors are supported, got shape {tuple(tensor.shape)}"
        )
    return _fill_from(tensor, creation.eye(*tensor.shape, device=tensor.device))
