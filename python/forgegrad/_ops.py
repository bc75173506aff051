"""The op table (csrc/python/op_table.h, one line per op) as Python sees it: each op's
argument names and defaults and where it goes. At import this attaches the Tensor methods;
``forgegrad`` and ``forgegrad.nn.functional`` take their op exports from ``exports``."""
import collections
import functools

from . import _C
from ._tensor import in_place_method

Arg = collections.namedtuple("Arg", ["name", "default", "keyword_only"])
Arg.required = property(lambda self: self.default is _C._REQUIRED)

OpEntry = collections.namedtuple("OpEntry", ["name", "args", "is_method", "in_forgegrad",
                                             "in_functional", "has_in_place"])

OPS = tuple(OpEntry(name, tuple(Arg(*a) for a in args), *where)
            for name, args, *where in _C._op_table)


def exports(namespace):
    """{name: function} of the ops that ``namespace`` ("forgegrad" or "functional") exports."""
    field = {"forgegrad": "in_forgegrad", "functional": "in_functional"}[namespace]
    return {op.name: getattr(_C, op.name) for op in OPS if getattr(op, field)}


def _method_form(op):
    # The tensor is the op's first argument, t.sum(1) is forgegrad.sum(t, 1), or its `input`
    # where that comes later: t.polygamma(1) is forgegrad.polygamma(1, t).
    function = getattr(_C, op.name)
    if "input" not in [a.name for a in op.args[1:]]:
        return function
    return lambda self, *args, **kwargs: function(*args, input=self, **kwargs)


def _install_methods():
    for op in OPS:
        if op.is_method:
            setattr(_C.Tensor, op.name, functools.partialmethod(_method_form(op)))
        if op.has_in_place:
            setattr(_C.Tensor, op.name + "_", in_place_method(_method_form(op), op.name + "_"))


_install_methods()
