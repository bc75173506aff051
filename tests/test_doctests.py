"""The examples in the docstrings run (doctest over every module of the package), and the
public objects have docstrings (what help() and the API reference show)."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import forgegrad

# Modules that need an optional dependency at import time, and that dependency.
OPTIONAL = {"forgegrad.onnx": "onnx"}


def all_modules():
    names = ["forgegrad"]
    for info in pkgutil.walk_packages(forgegrad.__path__, "forgegrad."):
        if info.name.split(".")[-1] != "__main__":  # running it would start the CLI
            names.append(info.name)
    return sorted(names)


MODULES = all_modules()


def import_or_skip(name):
    try:
        return importlib.import_module(name)
    except ImportError as error:
        missing = getattr(error, "name", None) or ""
        if missing.split(".")[0] == "forgegrad":
            raise
        pytest.skip(f"{name} needs {missing or OPTIONAL.get(name, 'an optional package')}")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = import_or_skip(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs = {
        "fg": forgegrad,
        "forgegrad": forgegrad,
        "nn": forgegrad.nn,
        "F": forgegrad.nn.functional,
        "np": pytest.importorskip("numpy"),
    }
    forgegrad.manual_seed(0)
    for test in finder.find(module, name, globs=dict(globs)):
        if test.examples and inspect.getmodule(test) in (None, module):
            runner.run(test, clear_globs=True)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"


def test_doctest_runner_reports_a_wrong_example():
    def wrong():
        """
        >>> 1 + 1
        3
        """

    test = doctest.DocTestFinder().find(wrong, "wrong")[0]
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda _: None)
    assert runner.summarize(verbose=False).failed == 1


# Every public object of the package, the compiled module's classes and Tensor's methods
# included: in each public module (no part of its name starts with "_"), its public names
# (its __all__, or what does not start with "_"), each class and function among them, and
# each class's public methods and properties.
def documented_here(obj):
    module = getattr(obj, "__module__", None) or ""
    return module == "forgegrad" or module.startswith("forgegrad.")


def public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return names


def undocumented():
    missing = set()
    for name in MODULES:
        if any(part.startswith("_") for part in name.split(".")):
            continue
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if not module.__doc__:
            missing.add(name)
        for attr in public_names(module):
            obj = getattr(module, attr, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not documented_here(obj):
                continue
            where = f"{obj.__module__}.{obj.__qualname__}"
            if not (obj.__doc__ or "").strip():  # a class's own, not its base's
                missing.add(where)
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if member.startswith("_") or not (
                        inspect.isfunction(value) or isinstance(value, property)
                    ):
                        continue
                    if member in ("name", "value") and hasattr(obj, "__members__"):
                        continue  # pybind11's own properties of an enum
                    # An override without its own docstring shows the base class's (help()).
                    if not inspect.getdoc(getattr(obj, member)):
                        missing.add(f"{where}.{member}")
    return sorted(missing)


def test_public_objects_have_docstrings():
    missing = undocumented()
    assert not missing, f"{len(missing)} public objects without a docstring:\n" + "\n".join(missing)
