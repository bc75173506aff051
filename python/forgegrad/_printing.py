"""Tensor repr and str as PyTorch prints them, and ``set_printoptions``.

One format for all elements, chosen from the nonzero finite values: whole numbers as ``1.``,
fixed point with `precision` digits, or scientific notation when the values span more than
a factor 1000, pass 1e8 or fall below 1e-4. Columns are aligned, rows wrap at `linewidth`,
tensors of more than `threshold` elements show `edgeitems` at each edge of each dimension
around ``...``; the suffixes (device, dtype when not the default for the values, grad_fn or
requires_grad) follow the values, wrapped as PyTorch wraps them.
"""

import contextlib
from collections.abc import Iterator
from typing import Any
import dataclasses
import math

import numpy as np

from . import _C, _errors


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: object = None  # None: chosen from the values; True / False: always / never


OPTIONS = _PrintOptions()
_PROFILES: dict[str, dict[str, float]] = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """As ``torch.set_printoptions``: options left None keep their value, except sci_mode,
    which every call sets (None: chosen from the values). profile: 'default', 'short' or
    'full' (no summarizing), applied before the other arguments."""
    if profile is not None and profile not in _PROFILES:
        raise _errors.ValueError(
            f"[set_printoptions] profile must be one of {sorted(_PROFILES)}, got {profile!r}"
        )
    given = dict(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth)
    for name, value in given.items():
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = value is None or (
            is_number and value >= 0 and (name == "threshold" or float(value).is_integer())
        )
        if not ok:
            raise _errors.ValueError(
                f"[set_printoptions] {name} must be a number >= 0"
                f"{'' if name == 'threshold' else ' (whole)'}, got {value!r}"
            )
    if sci_mode not in (None, True, False):
        raise _errors.TypeError(
            f"[set_printoptions] sci_mode must be None, True or False, got {sci_mode!r}"
        )
    updates = {
        **(_PROFILES[profile] if profile is not None else {}),
        **{
            name: value if name == "threshold" else int(value)
            for name, value in given.items()
            if value is not None
        },
    }
    for name, value in updates.items():
        setattr(OPTIONS, name, value)
    OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The options, as a dict that set_printoptions(**options) takes back."""
    return dataclasses.asdict(OPTIONS)


@contextlib.contextmanager
def printoptions(**options: Any) -> Iterator[None]:
    """set_printoptions(**options) inside the block; the previous options afterwards."""
    previous = get_printoptions()
    set_printoptions(**options)
    try:
        yield
    finally:
        set_printoptions(**previous)


class _Formatter:
    """One element format for a whole tensor (as PyTorch's): its width and its mode."""

    def __init__(self, values, floating):
        self.floating, self.int_mode, self.sci_mode, self.max_width = floating, True, False, 1
        flat = values.reshape(-1)
        if not floating:
            self.max_width = max([len(str(v)) for v in flat.tolist()], default=1)
            return
        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return
        magnitudes = np.abs(shown)
        smallest, largest = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        self.sci_mode = (
            largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
            if OPTIONS.sci_mode is None
            else OPTIONS.sci_mode
        )
        precision = OPTIONS.precision
        if self.sci_mode:
            texts = [f"{v:.{precision}e}" for v in shown.tolist()]
        elif self.int_mode:
            texts = [f"{v:.0f}." for v in shown.tolist()]  # "." after whole numbers
        else:
            texts = [f"{v:.{precision}f}" for v in shown.tolist()]
        self.max_width = max(len(t) for t in texts)

    def format(self, value):
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{OPTIONS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{OPTIONS.precision}f}"
        return text.rjust(self.max_width)


def _summarized(values):
    """The elements a summarized print shows, to choose the format from."""
    edge = OPTIONS.edgeitems
    if values.ndim == 0:
        return values
    if values.ndim == 1:
        if values.shape[0] > 2 * edge:
            return np.concatenate((values[:edge], values[-edge:]))
        return values
    if not edge:
        return np.empty([0] * values.ndim, values.dtype)
    rows = _shown_rows(values.shape[0], True)
    return np.stack([_summarized(values[i]) for i in rows if i is not None])


def _shown_rows(count, summarize):
    """The row indices printed along one dimension, None where '...' stands."""
    edge = OPTIONS.edgeitems
    if summarize and count > 2 * edge:
        return [*range(edge), None, *range(count - edge, count)]
    return list(range(count))


def _vector(values, indent, summarize, formatter):
    per_line = max(1, math.floor((OPTIONS.linewidth - indent) / (formatter.max_width + 2)))
    if summarize and not OPTIONS.edgeitems:
        items = ["..."]
    else:
        items = [
            " ..." if i is None else formatter.format(values[i].item())
            for i in _shown_rows(values.shape[0], summarize)
        ]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(values, indent, summarize, formatter):
    if values.ndim == 0:
        return formatter.format(values.item())
    if values.ndim == 1:
        return _vector(values, indent, summarize, formatter)
    slices = [
        "..." if i is None else _nested(values[i], indent + 1, summarize, formatter)
        for i in _shown_rows(values.shape[0], summarize)
    ]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _values(tensor):
    """The values as numpy: floats as float64 (every float dtype converts exactly)."""
    from ._tensor import _numpy_values

    values = _numpy_values(tensor)
    return values.astype(np.float64) if tensor.dtype.is_floating_point else values


def _body(tensor, indent):
    values = _values(tensor)
    summarize = values.size > OPTIONS.threshold
    formatter = _Formatter(
        _summarized(values) if summarize else values, tensor.dtype.is_floating_point
    )
    return _nested(values, indent, summarize, formatter)


def _with_suffixes(text, suffixes, indent):
    """Each suffix after ", ", or on a new line where it would pass the line width."""
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > OPTIONS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"


def tensor_repr(tensor):
    """``repr(t)`` as PyTorch writes it."""
    import forgegrad.nn  # Parameter prints as a plain tensor after its own first line

    plain = type(tensor) in (_C.Tensor, forgegrad.nn.Parameter)
    prefix = "tensor(" if plain else f"{type(tensor).__name__}("
    indent = len(prefix)
    suffixes = []
    if tensor.device.type != "cpu":
        suffixes.append(f"device='{tensor.device}'")
    if tensor.numel() == 0:
        if tensor.ndim != 1:
            suffixes.append(f"size={tuple(tensor.shape)}")
        if tensor.dtype != _C.dtype.float32:
            suffixes.append(f"dtype={tensor.dtype}")
        body = "[]"
    else:
        if not OPTIONS.edgeitems:
            suffixes.append(f"size={tuple(tensor.shape)}")
        if tensor.dtype not in (_C.dtype.float32, _C.dtype.int64, _C.dtype.bool):
            suffixes.append(f"dtype={tensor.dtype}")
        body = _body(tensor, indent)
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn={tensor.grad_fn!r}")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)


def tensor_format(tensor, spec):
    """``f"{t:.4f}"``: a 0-d tensor formats as its Python number; others only with an empty
    spec (as str), as in PyTorch."""
    if tensor.ndim == 0:
        return format(tensor.item(), spec)
    if not spec:
        return tensor_repr(tensor)
    raise _errors.TypeError(
        f"[format] format spec {spec!r} needs a 0-d tensor (one number), got "
        f"shape {tuple(tensor.shape)}; format t.item() for a one-element "
        "tensor, or each of t.tolist()"
    )
