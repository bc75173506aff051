"""forgegrad's ValueError and TypeError, for the Python layer's bad-input errors: subclasses
of the builtin exceptions and of RuntimeError (module.cpp defines them, for the C++ ops), so
that `except ValueError` and `except RuntimeError` both catch them, wherever they come from.
Raised by name, `raise _errors.ValueError(...)`, so that an `except ValueError` next to them
still means the builtin one."""

from ._C import TypeError, ValueError  # noqa: A004 (these are the builtins' subclasses)

__all__ = ["TypeError", "ValueError"]
