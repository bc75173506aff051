"""Sampling from distributions, as in PyTorch: multinomial, normal, bernoulli, poisson, and the
in-place fills uniform_, normal_, exponential_, bernoulli_, geometric_, random_. Each takes
``generator=`` (a forgegrad.Generator; None: the global stream). The fills are uniform or
normal draws transformed by the op table's ops; multinomial, poisson and the integer draws
run on the host (csrc/ops/sampling.cpp). Draws have no gradient, as in PyTorch."""

from collections.abc import Sequence
from typing import cast

import numpy as np

from . import _C, _errors
from ._checks import check_tensor, is_int, is_real
from .autograd import no_grad
from .creation import _TO_NUMPY, Device, _integer_range, random_draws
from .random import Generator, stream_for

# The integers a float dtype holds exactly: random_()'s default range, as PyTorch's.
_EXACT_INTEGER_BITS = {
    _C.dtype.float32: 24,
    _C.dtype.float64: 53,
    _C.dtype.float16: 11,
    _C.dtype.bfloat16: 8,
}


def _host_values(x):
    """A number or a Tensor's values as a float64 numpy array."""
    return x.detach().cpu().double().numpy() if isinstance(x, _C.Tensor) else np.array([x])


def _check_probabilities(p, op):
    values = _host_values(p)
    if not ((values >= 0.0) & (values <= 1.0)).all():  # NaN fails too
        raise _errors.ValueError(
            f"[{op}] expected probabilities in [0, 1], got values from "
            f"{values.min()} to {values.max()}"
        )


def _check_std(std, op):
    values = _host_values(std)
    if not (values >= 0.0).all():
        raise _errors.ValueError(f"[{op}] expected std >= 0, got {values.min()}")


def _check_real(value, name, op):
    if not is_real(value):
        raise _errors.TypeError(f"[{op}] expected {name} to be a real number, got {value!r}")
    return float(value)


def _check_floating(t, op):
    if not t.dtype.is_floating_point:
        raise _errors.TypeError(f"[{op}] expected a floating-point tensor, got {t.dtype}")


def _uniform(t, generator, op, dtype=None):
    """Uniform [0, 1) draws of t's shape on t's device (float32 unless dtype says)."""
    return random_draws(_C.rand, tuple(t.shape), generator, dtype, t.device, op)


def multinomial(
    input: _C.Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Generator | None = None,
) -> _C.Tensor:
    """num_samples category indices per row of input (1-d: one row), drawn with probabilities
    proportional to the row's nonnegative weights; without replacement each category once."""
    check_tensor(input, "multinomial")
    if not is_int(num_samples):
        raise _errors.TypeError(
            f"[multinomial] expected num_samples to be an int, got {num_samples!r}"
        )
    return _C._multinomial(
        input.detach(),
        int(num_samples),
        bool(replacement),
        stream_for(generator, input.device, "multinomial"),
    )


def poisson(input: _C.Tensor, generator: Generator | None = None) -> _C.Tensor:
    """A Poisson count for each rate of input, in input's dtype."""
    check_tensor(input, "poisson")
    return _C._poisson(input.detach(), stream_for(generator, input.device, "poisson"))


def bernoulli(
    input: _C.Tensor, p: float | _C.Tensor | None = None, *, generator: Generator | None = None
) -> _C.Tensor:
    """1 with probability input (or p, when given), else 0, in input's dtype and shape."""
    check_tensor(input, "bernoulli")
    if p is None:
        _check_floating(input, "bernoulli")
        p = input.detach()
    elif not isinstance(p, _C.Tensor):
        _check_real(p, "p", "bernoulli")
    _check_probabilities(p, "bernoulli")
    with no_grad():
        return (_uniform(input, generator, "bernoulli") < p).to(input.dtype)


def normal(
    mean: float | _C.Tensor,
    std: float | _C.Tensor = 1.0,
    size: int | Sequence[int] | None = None,
    *,
    generator: Generator | None = None,
    dtype: _C.dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> _C.Tensor:
    """Normal draws with the given mean and standard deviation, PyTorch's overloads:
    ``normal(mean_tensor, std_tensor)`` (broadcast), ``normal(mean_tensor, std=1.0)``,
    ``normal(mean, std_tensor)``, and ``normal(mean, std, size)`` for two numbers."""
    tensors = [t for t in (mean, std) if isinstance(t, _C.Tensor)]
    for name, value in (("mean", mean), ("std", std)):
        if isinstance(value, _C.Tensor):
            _check_floating(value, "normal")
        else:
            _check_real(value, name, "normal")
    if tensors and (size is not None or dtype is not None or device is not None or requires_grad):
        raise _errors.TypeError(
            "[normal] size, dtype, device and requires_grad go with a number "
            "mean and std, not with Tensors"
        )
    if not tensors and size is None:
        raise _errors.TypeError("[normal] with a number mean and std, expected size")
    _check_std(std, "normal")
    shape: Sequence[int]
    if tensors:
        if len(tensors) == 2 and tensors[0].device != tensors[1].device:
            raise _errors.ValueError(
                f"[normal] expected mean and std on one device, got {tensors[0].device} "
                f"and {tensors[1].device}"
            )
        shapes = [tuple(t.shape) for t in tensors]
        try:
            shape = np.broadcast_shapes(*shapes)
        except ValueError:
            raise _errors.ValueError(
                f"[normal] mean and std of shapes {shapes[0]} and {shapes[-1]} do not broadcast"
            ) from None
        dtype, device = _C.result_type(mean, std), tensors[0].device
    else:  # size is an int or a sequence here (None raised above)
        shape = cast(Sequence[int], (size,) if is_int(size) else size)
    with no_grad():
        noise = random_draws(_C.randn, tuple(shape), generator, dtype, device, "normal")
        out = noise * std + mean
    return out.requires_grad_(True) if requires_grad else out


# ---- the in-place fills: each gives the values that Tensor.<name> writes into the tensor


def uniform_(self, from_=0.0, to=1.0, *, generator=None):
    """Uniform on [from_, to)."""
    _check_floating(self, "uniform_")
    low, high = _check_real(from_, "from", "uniform_"), _check_real(to, "to", "uniform_")
    if not low <= high:
        raise _errors.ValueError(f"[uniform_] expected from <= to, got from={low} and to={high}")
    return _uniform(self, generator, "uniform_", self.dtype) * (high - low) + low


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    _check_floating(self, "normal_")
    mean, std = _check_real(mean, "mean", "normal_"), _check_real(std, "std", "normal_")
    _check_std(std, "normal_")
    noise = random_draws(_C.randn, tuple(self.shape), generator, self.dtype, self.device, "normal_")
    return noise * std + mean


def exponential_(self, lambd=1.0, *, generator=None):
    """Exponential with rate lambd: -log(1 - u) / lambd for u uniform on [0, 1)."""
    _check_floating(self, "exponential_")
    rate = _check_real(lambd, "lambd", "exponential_")
    if not rate > 0.0:
        raise _errors.ValueError(f"[exponential_] expected lambd > 0, got {rate}")
    return _C.log1p(-_uniform(self, generator, "exponential_", self.dtype)) / -rate


def bernoulli_(self, p=0.5, *, generator=None):
    """1 with probability p (a number, or a Tensor that broadcasts to self), else 0."""
    if not isinstance(p, _C.Tensor):
        _check_real(p, "p", "bernoulli_")
    _check_probabilities(p, "bernoulli_")
    hits = _uniform(self, generator, "bernoulli_") < p
    if hits.shape != self.shape:
        raise _errors.ValueError(
            f"[bernoulli_] expected p to broadcast to shape {self.shape}, got shape {p.shape}"
        )
    return hits.to(self.dtype)


def geometric_(self, p, *, generator=None):
    """The number of Bernoulli(p) trials up to the first success: ceil(log(1 - u) /
    log(1 - p)) for u uniform on [0, 1), at least 1."""
    p = _check_real(p, "p", "geometric_")
    if not 0.0 < p < 1.0:
        raise _errors.ValueError(f"[geometric_] expected p in (0, 1), got {p}")
    u = _uniform(self, generator, "geometric_", _C.dtype.float64)
    trials = _C.ceil(_C.log1p(-u) / float(np.log1p(-p)))
    return _C.clamp(trials, 1.0, None).to(self.dtype)


def random_(self, *bounds, generator=None):
    """Integers uniform on [from, to): ``random_(from, to)``, ``random_(to)``, or ``random_()``:
    [0, the largest integer self's dtype holds exactly]."""
    if len(bounds) > 2:
        raise _errors.TypeError(f"[random_] expected at most from and to, got {len(bounds)} bounds")
    if len(bounds) == 2:
        low, high = bounds
    elif bounds:
        low, high = 0, bounds[0]
    elif self.dtype.is_floating_point:
        low, high = 0, 2 ** _EXACT_INTEGER_BITS[self.dtype] + 1
    else:
        low, high = (
            0,
            2 if self.dtype == _C.dtype.bool else (int(np.iinfo(_TO_NUMPY[self.dtype]).max) + 1),
        )
    range_dtype = _C.dtype.int64 if self.dtype.is_floating_point else self.dtype
    low, high = _integer_range(low, high, range_dtype, "random_")
    values = _C._randint(
        low,
        high - low,
        tuple(self.shape),
        self.device,
        stream_for(generator, self.device, "random_"),
    )
    return values.to(self.dtype)


FUNCTIONS = ["multinomial", "poisson", "bernoulli", "normal"]
METHODS = ["multinomial", "bernoulli"]
IN_PLACE = ["uniform_", "normal_", "exponential_", "bernoulli_", "geometric_", "random_"]
