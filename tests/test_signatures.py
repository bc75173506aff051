"""The compiled functions' help: __doc__, help() and inspect.signature show each function's
real overloads with their argument names and defaults, never the catch-all overload that
turns a call fitting none of them into a one-line `[op]` TypeError; that error stays."""

import inspect
import pydoc

import pytest

import forgegrad as fg
from forgegrad import _C


def compiled_functions():
    """(qualified name, function) of every function bound in _C and on _C.Tensor, as stored
    (a method unwrapped from pybind11's instancemethod)."""
    for scope, prefix in ((_C, "_C."), (_C.Tensor, "_C.Tensor.")):
        for name in dir(scope):
            if name.startswith("__") or name == "_pybind11_conduit_v1_":  # pybind11's own
                continue
            function = inspect.getattr_static(scope, name)
            function = getattr(function, "__func__", function)
            if type(function).__name__ == "builtin_function_or_method":
                yield prefix + name, getattr(scope, name)


FUNCTIONS = dict(compiled_functions())


def test_there_are_compiled_functions_to_check():
    assert len(FUNCTIONS) > 200 and "_C.sum" in FUNCTIONS and "_C.Tensor.numel" in FUNCTIONS


def test_no_doc_shows_the_catch_all_overload():
    shown = [name for name, f in FUNCTIONS.items() if "*args, **kwargs" in (f.__doc__ or "")]
    assert shown == []


def test_inspect_reads_every_single_overload_signature():
    single = {
        name: f
        for name, f in FUNCTIONS.items()
        if not (f.__doc__ or "").startswith("Overloaded function")
    }
    assert len(single) > 200
    failing = []
    for name, function in single.items():
        try:
            inspect.signature(function)
        except ValueError:
            failing.append(name)
    assert failing == []


def test_signatures_have_names_and_defaults():
    assert str(inspect.signature(_C.sum)) == (
        "(input, dim=None, keepdim=False, *, dtype=None, axis=None)"
    )
    assert str(inspect.signature(fg.nn.functional.cross_entropy)).startswith(
        "(input, target, weight=None"
    )
    # a default that is no Python literal (a memory format) shows as ...
    assert str(inspect.signature(_C.clone)) == "(input, *, memory_format=Ellipsis)"
    # methods: self when looked up on the class, dropped when bound
    assert str(inspect.signature(_C.Tensor.numel)) == "(self)"
    assert str(inspect.signature(fg.tensor([1.0]).numel)) == "()"
    # the doc keeps the typed form, without the signature line inspect took
    assert _C.sum.__doc__.startswith("sum(input: forgegrad._C.Tensor, dim: object = None")


def test_help_shows_the_real_signature():
    for function in (fg.sum, fg.Tensor.sum, _C.Tensor.numel):
        text = pydoc.render_doc(function, renderer=pydoc.plaintext)
        assert "*args" not in text and "**kwargs" not in text, text
    assert "sum(input, dim=None, keepdim=False, *, dtype=None, axis=None)" in (
        pydoc.render_doc(fg.sum, renderer=pydoc.plaintext)
    )
    assert "sum(self, dim=None, keepdim=False, *, dtype=None, axis=None)" in (
        pydoc.render_doc(fg.Tensor.sum, renderer=pydoc.plaintext)
    )


def test_a_call_that_fits_no_overload_still_names_the_op():
    with pytest.raises(
        TypeError,
        match=r"^\[sum\] got \(str\); expected sum\(input: Tensor, "
        r"dim: object = None",
    ):
        fg.sum("a")
    with pytest.raises(
        TypeError,
        match=r"^\[numel\] got \(int\); expected numel\(self: "
        r"Tensor\)",
    ):
        fg.tensor([1.0]).numel(3)
    with pytest.raises(
        TypeError,
        match=r"^\[clone\] got \(Tensor\(float32\), "
        r"memory_format=str\)",
    ):
        fg.tensor([1.0]).clone(memory_format="x")
