"""Predicates the argument checks of the Python layer share. A bool is an int to Python, but
never a number or a size to forgegrad; numpy scalars count as what they hold."""

import numbers

from . import _C, _errors


def is_real(value: object) -> bool:
    """A real number (int or float, Python or numpy), not a bool."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def is_int(value):
    """An integer (Python or numpy), not a bool."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral)


def check_int(value, name, minimum, op):
    """`value` as an int >= `minimum`: a TypeError for a non-integer (a bool included), a
    ValueError below the minimum, both naming `op` and the argument's `name`."""
    if not is_int(value):
        raise _errors.TypeError(f"[{op}] expected an integer {name}, got {value!r}")
    if value < minimum:
        raise _errors.ValueError(f"[{op}] expected {name} >= {minimum}, got {value}")
    return int(value)


def check_tensor(value, op):
    """`value`, when it is a Tensor; else a TypeError naming `op`."""
    if not isinstance(value, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor, got {type(value).__name__}")
    return value


def as_device(device, op):
    """None (kept), a device, or a string such as 'cuda' (a ValueError when malformed) as a
    device; anything else is a TypeError naming `op`."""
    if device is None or isinstance(device, _C.device):
        return device
    if not isinstance(device, str):
        raise _errors.TypeError(
            f"[{op}] expected device to be a device or a string such as 'cpu' "
            f"or 'cuda', got {device!r}"
        )
    return _C.device(device)
