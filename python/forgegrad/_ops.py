"""The op table (csrc/python/op_table.h, one line per op) as Python sees it: each op's
argument names and defaults and where it goes. At import this attaches the Tensor methods;
``forgegrad`` and ``forgegrad.nn.functional`` take their op exports from ``exports``."""

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

from . import _C
from ._tensor import in_place_method


class Arg(NamedTuple):
    """One argument of an op: its name, its default (``_C._REQUIRED`` when it has none)."""

    name: str
    default: Any
    keyword_only: bool

    @property
    def required(self) -> bool:
        return self.default is _C._REQUIRED


class OpEntry(NamedTuple):
    """One line of the op table: the op's name, arguments and where it goes."""

    name: str
    args: tuple[Arg, ...]
    is_method: bool
    in_forgegrad: bool
    in_functional: bool
    has_in_place: bool


OPS = tuple(
    OpEntry(name, tuple(Arg(*a) for a in args), *where) for name, args, *where in _C._op_table
)

# The ops whose shape comes as the remaining positional arguments: t.reshape(2, 3).
_VARIADIC = {"reshape", "view", "permute", "expand"}


def exports(namespace: str) -> dict[str, Callable[..., Any]]:
    """{name: function} of the ops that ``namespace`` ("forgegrad" or "functional") exports."""
    field = {"forgegrad": "in_forgegrad", "functional": "in_functional"}[namespace]
    return {op.name: getattr(_C, op.name) for op in OPS if getattr(op, field)}


def _tensor_argument(op: OpEntry) -> str:
    # The tensor is the op's first argument, t.sum(1) is forgegrad.sum(t, 1), or its `input`
    # where that comes later: t.polygamma(1) is forgegrad.polygamma(1, t).
    names = [a.name for a in op.args]
    return "input" if "input" in names[1:] else names[0]


def _method_signature(op: OpEntry) -> inspect.Signature:
    """The method's signature for help() and inspect: self, then the op's other arguments."""
    self_ = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    kinds = {False: inspect.Parameter.POSITIONAL_OR_KEYWORD, True: inspect.Parameter.KEYWORD_ONLY}
    rest = [
        inspect.Parameter(
            a.name,
            kinds[a.keyword_only],
            default=inspect.Parameter.empty if a.required else a.default,
        )
        for a in op.args
        if a.name != _tensor_argument(op)
    ]
    if op.name in _VARIADIC:
        rest.append(inspect.Parameter("shape", inspect.Parameter.VAR_POSITIONAL))
    return inspect.Signature([self_, *rest])


def _method_form(op: OpEntry) -> Callable[..., Any]:
    """The op as a Tensor method, with the op's signature and the binding's typed form."""
    function = getattr(_C, op.name)
    if _tensor_argument(op) == "input" and op.args[0].name != "input":

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return function(*args, input=self, **kwargs)
    else:

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return function(self, *args, **kwargs)

    # The binding's first typed signature ("1. " numbers it where there are several).
    typed = [
        line.removeprefix("1. ")
        for line in (function.__doc__ or "").splitlines()
        if line.removeprefix("1. ").startswith(f"{op.name}(")
    ]
    method.__name__, method.__qualname__ = op.name, f"Tensor.{op.name}"
    method.__doc__ = (
        f"``t.{op.name}(...)`` is ``forgegrad._C.{op.name}`` with t as its "
        f"``{_tensor_argument(op)}``:\n\n    " + (typed[0] if typed else "")
    )
    method.__signature__ = _method_signature(op)  # type: ignore[attr-defined]
    return method


def _install_methods() -> None:
    for op in OPS:
        if not (op.is_method or op.has_in_place):
            continue
        method = _method_form(op)
        if op.is_method:
            setattr(_C.Tensor, op.name, method)
        if op.has_in_place:
            in_place = in_place_method(method, op.name + "_")
            in_place.__signature__ = method.__signature__  # type: ignore[attr-defined]
            in_place.__doc__ = f"``t.{op.name}_(...)``: ``t.{op.name}(...)`` written into t."
            setattr(_C.Tensor, op.name + "_", in_place)


_install_methods()
