"""Grad mode: ``no_grad`` and friends, as context managers and decorators."""

import functools
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from . import _C

_F = TypeVar("_F", bound=Callable[..., Any])


class set_grad_enabled:
    """Turns gradient recording on or off: at once, or for a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.previous = _C.is_grad_enabled()
        _C._set_grad_enabled(self.mode)  # like torch: takes effect on construction

    def __enter__(self) -> "set_grad_enabled":
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _C._set_grad_enabled(self.previous)
        return False


class _GradModeContext:
    mode = True

    def __enter__(self) -> "_GradModeContext":
        self.previous = _C.is_grad_enabled()
        _C._set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _C._set_grad_enabled(self.previous)
        return False

    def __call__(self, fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # wraps keeps fn's signature


class no_grad(_GradModeContext):
    """Ops inside record no graph: ``with fg.no_grad(): ...`` or ``@fg.no_grad()``."""

    mode = False


class enable_grad(_GradModeContext):
    """Turns recording back on inside a ``no_grad`` region."""

    mode = True


class RemovableHandle:
    """What ``Tensor.register_post_accumulate_grad_hook`` returns: ``remove()`` unregisters
    the hook (again: nothing happens); as a context manager, it removes it on exit."""

    def __init__(self, remove: Callable[[], None] | None) -> None:
        self._remove = remove

    def remove(self) -> None:
        """Unregisters the hook; a second call does nothing."""
        if self._remove is not None:
            self._remove()
            self._remove = None

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.remove()
        return False
