"""Predicates the argument checks of the Python layer share. A bool is an int to Python, but
never a number or a size to forgegrad; numpy scalars count as what they hold."""
import numbers


def is_real(value):
    """A real number (int or float, Python or numpy), not a bool."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def is_int(value):
    """An integer (Python or numpy), not a bool."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral)
