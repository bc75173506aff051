"""``finfo`` and ``iinfo``: the numerical limits of forgegrad's dtypes, as ``torch.finfo`` and
``torch.iinfo`` give them (``fg.finfo(fg.float32).eps``)."""

from __future__ import annotations

import numpy as np

from . import _C, _errors

# bfloat16: float32's exponent with 8 bits of significand; numpy has no such type
_BFLOAT16: dict[str, float] = {
    "bits": 16,
    "eps": 2.0**-7,
    "max": float(np.float32(3.3895313892515355e38)),
    "tiny": 2.0**-126,
    "resolution": 0.01,
}


def _dtype_argument(dtype, op, floating):
    if dtype is None and floating:
        return _C.dtype.float32  # the default dtype
    if not isinstance(dtype, _C.dtype):
        raise _errors.TypeError(f"[{op}] expected a forgegrad dtype, got {dtype!r}")
    if dtype.is_floating_point != floating or dtype == _C.dtype.bool:
        kind = "a floating-point" if floating else "an integer"
        raise _errors.TypeError(f"[{op}] expected {kind} dtype, got {dtype}")
    return dtype


class finfo:
    """The limits of a floating-point dtype (float32 when none is given): ``bits``, ``eps``
    (the gap from 1 to the next value), ``max``, ``min`` (= -max), ``tiny`` (the smallest
    normal value; also ``smallest_normal``), ``resolution`` and ``dtype`` (its name)."""

    def __init__(self, dtype: _C.dtype | None = None) -> None:
        dtype = _dtype_argument(dtype, "finfo", floating=True)
        values: dict[str, float]
        if dtype == _C.dtype.bfloat16:
            values = dict(_BFLOAT16)
        else:
            info = np.finfo(getattr(np, dtype.name))
            values = {
                "bits": info.bits,
                "eps": float(info.eps),
                "max": float(info.max),
                "tiny": float(info.smallest_normal),
                "resolution": 10.0**-info.precision,
            }
        self.bits: int = int(values["bits"])
        self.eps: float = values["eps"]
        self.max: float = values["max"]
        self.min: float = -values["max"]
        self.tiny: float = values["tiny"]
        self.smallest_normal: float = values["tiny"]
        self.resolution: float = values["resolution"]
        self.dtype: str = dtype.name

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


class iinfo:
    """The limits of an integer dtype: ``bits``, ``min``, ``max`` and ``dtype`` (its name)."""

    def __init__(self, dtype: _C.dtype) -> None:
        dtype = _dtype_argument(dtype, "iinfo", floating=False)
        info = np.iinfo(getattr(np, dtype.name))
        self.bits: int = info.bits
        self.min: int = int(info.min)
        self.max: int = int(info.max)
        self.dtype: str = dtype.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
