"""Type information: mypy sees forgegrad's types (the stubs of the compiled module, _C.pyi,
shipped with py.typed), so it rejects a wrong call and an unknown method and accepts a
correct script; the committed stubs are what tools/gen_stubs.py generates now; help() and
inspect show the op methods' real signatures."""

import importlib.util
import inspect
import pathlib
import subprocess
import sys
import textwrap

import pytest

import forgegrad as fg
from forgegrad import _index_ops, _movement, _sampling, _unique

ROOT = pathlib.Path(__file__).resolve().parent.parent
needs_mypy = pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None,
    reason="mypy is not installed (pip install forgegrad[test])",
)


def mypy(tmp_path, source):
    """(exit status, output) of `mypy --strict` on source, against the installed package."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            "/dev/null",
            str(script),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    return run.returncode, run.stdout + run.stderr


@needs_mypy
def test_mypy_rejects_wrong_calls_and_unknown_methods(tmp_path):
    status, output = mypy(
        tmp_path,
        """
        import forgegrad as fg
        fg.zeros("a")
        fg.tensor([1.0]).no_such_method()
        fg.nn.Linear(3, 2)("a")
        fg.EarlyStopping(patience="5")
        """,
    )
    assert status == 1, output
    assert 'script.py:3: error: Argument 1 to "zeros" has incompatible type "str"' in output
    assert 'script.py:4: error: "Tensor" has no attribute "no_such_method"' in output
    # calling a module is typed by its forward; the training API has real types
    assert (
        'script.py:5: error: Argument 1 to "__call__" of "Module" has incompatible type' in output
    )
    assert (
        'script.py:6: error: Argument "patience" to "EarlyStopping" has incompatible type' in output
    )


@needs_mypy
def test_mypy_accepts_a_correct_script(tmp_path):
    status, output = mypy(
        tmp_path,
        """
        import forgegrad as fg
        import forgegrad.nn.functional as F

        x = fg.randn(4, 3, requires_grad=True)
        y: fg.Tensor = (fg.relu(x @ fg.ones(3, 2)) * 2.0 + 1).sum(dim=1).mean()
        y.backward()
        shape: tuple[int, ...] = x.shape
        grad = x.grad
        assert grad is not None
        print(shape, grad.abs().max().item(), x.dtype == fg.float32, fg.exp(x).T.shape)

        model = fg.nn.Linear(3, 2)
        logits: fg.Tensor = model(x)
        loss: fg.Tensor = F.cross_entropy(logits, fg.zeros(4, dtype=fg.int64))
        history: fg.History = fg.fit(model, fg.nn.CrossEntropyLoss(),
                                     fg.optim.SGD(model.parameters(), lr=0.1),
                                     (x.detach(), fg.zeros(4)), epochs=1,
                                     callbacks=[fg.EarlyStopping(patience=2)])
        print(loss.item(), history["loss"], fg.evaluate(model, F.cross_entropy, (x, x))["loss"])
        """,
    )
    assert status == 0, output


def test_stubs_match_a_fresh_generation():
    # The stubs are generated from the build (tools/gen_stubs.py) and committed; they must
    # not drift from the op table and the bindings.
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_stubs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr


def test_the_public_api_is_annotated_throughout():
    # Every public function and method, parameters and return (tools/check_annotations.py
    # says which modules are public: those the API reference documents).
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_annotations.py")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_annotation_check_names_what_is_missing():
    spec = importlib.util.spec_from_file_location(
        "check_annotations", ROOT / "tools" / "check_annotations.py"
    )
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)

    class Layer(fg.nn.Module):
        def forward(self, x, scale: float = 1.0):
            return x

        def __init__(self, size: int):
            super().__init__()

    assert check.missing(Layer.forward) == ["x", "return"]  # self needs none
    assert check.missing(Layer.__init__) == []  # nor __init__'s return
    assert check.missing(fg.data.default_collate) == []


def test_stubs_and_marker_ship_in_the_package():
    package = pathlib.Path(fg.__file__).parent
    for name in ("py.typed", "_C.pyi", "_op_exports.pyi", "_functional_exports.pyi"):
        assert (package / name).is_file(), name


def test_op_methods_show_their_signature_and_doc():
    assert str(inspect.signature(fg.Tensor.sum)) == (
        "(self, dim=None, keepdim=False, *, dtype=None, axis=None)"
    )
    assert str(inspect.signature(fg.Tensor.polygamma)) == "(self, n)"  # t is polygamma's input
    assert str(inspect.signature(fg.Tensor.reshape)) == "(self, *shape)"
    assert str(inspect.signature(fg.Tensor.add_)) == "(self, other, *, alpha=1)"
    assert "sum(input: forgegrad._C.Tensor, dim" in fg.Tensor.sum.__doc__
    assert type(fg.Tensor.__dict__["sum"]).__name__ == "function"  # not a partialmethod
    x = fg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(1).tolist() == [3.0, 7.0] and x.polygamma(0).shape == (2, 2)


def test_all_lists_the_python_functions():
    # __all__ writes them out so that type checkers see them: it must keep up with the modules.
    for module in (_movement, _index_ops, _sampling, _unique):
        assert set(module.FUNCTIONS) <= set(fg.__all__), module.__name__
    assert len(fg.__all__) == len(set(fg.__all__))
