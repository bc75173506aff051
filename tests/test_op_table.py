"""The op table (csrc/python/op_table.h) against what it drives: each entry is bound under
its argument names and defaults, is a Tensor method and an export exactly where declared,
and every public op has a test recipe in tests/op_db.py."""

import re

import pytest

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import _C, _ops
from op_db import OP_DB, PYTHON_OPS

PUBLIC = [op for op in _ops.OPS if op.is_method or op.in_forgegrad or op.in_functional]


def test_names_are_unique_and_cover_the_old_surface():
    names = [op.name for op in _ops.OPS]
    assert len(names) == len(set(names))
    # The methods and exports that existed before the table, kept.
    for name in ["exp", "sum", "max", "reshape", "matmul", "relu", "clone", "neg"]:
        assert name in fg.__all__ and hasattr(fg.Tensor, name)
    assert hasattr(fg.Tensor, "view") and "view" not in fg.__all__
    assert "binary_cross_entropy_with_logits" in F.__all__ and "linear" not in fg.__all__


@pytest.mark.parametrize("op", _ops.OPS, ids=lambda op: op.name)
def test_entry_is_bound_with_its_argument_names_and_defaults(op):
    function = getattr(_C, op.name)
    assert callable(function)
    # pybind11 writes the signature into the docstring: [1. ]name(arg: type = default) -> ...
    # (overload 2 is the catch-all that names the op in a TypeError: module.cpp)
    lines = [line.strip() for line in function.__doc__.splitlines()]
    signature = next((line[3:] for line in lines if line.startswith("1. ")), lines[0])
    assert signature.startswith(op.name + "("), signature
    written = re.findall(r"(?:\(|, )(\*?\w+)(?=: |\)|,)", signature[len(op.name) :])
    declared = [a.name for a in op.args]
    assert written[: len(declared)] == declared, signature
    assert written[len(declared) :] in ([], ["*args"]), signature
    for arg in op.args:
        if not arg.required:
            assert f"{arg.name}: " in signature and f" = {arg.default!r}" in signature


@pytest.mark.parametrize("op", _ops.OPS, ids=lambda op: op.name)
def test_methods_and_exports_are_where_declared(op):
    function = getattr(_C, op.name)
    assert hasattr(fg.Tensor, op.name) == op.is_method
    assert (getattr(fg, op.name, None) is function) == op.in_forgegrad
    # empty, full, rand, ...: forgegrad exports creation.py's wrappers of these bindings
    wrapped = getattr(fg, op.name, None) is getattr(fg.creation, op.name, False)
    assert (op.name in fg.__all__) == (op.in_forgegrad or wrapped)
    assert (getattr(F, op.name, None) is function) == op.in_functional
    # nn.functional may export another op of the name: F.unfold is im2col, not Tensor.unfold
    assert (op.name in F.__all__ and getattr(F, op.name) is function) == op.in_functional


def test_every_public_op_has_an_op_db_entry():
    in_db = {info.name for info in OP_DB}
    missing = [op.name for op in PUBLIC if op.name not in in_db]
    assert not missing, f"ops without a tests/op_db.py entry: {missing}"
    public = {op.name for op in PUBLIC} | PYTHON_OPS
    assert in_db <= public, in_db - public


def test_keyword_only_arguments_are_refused_positionally():
    linear = next(op for op in _ops.OPS if op.name == "linear")
    assert [a.name for a in linear.args if a.keyword_only] == ["activation"]
    x, w = fg.ones(2, 3), fg.ones(4, 3)
    with pytest.raises(TypeError):
        F.linear(x, w, None, "relu")
    assert F.linear(x, w, None, activation="relu").shape == (2, 4)
