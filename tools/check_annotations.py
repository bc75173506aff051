"""Lists the public Python functions and methods of forgegrad whose parameters or return
lack a type annotation, and exits 1 when there is one (tests/test_typing.py runs it):

    python tools/check_annotations.py                     # all of the public API
    python tools/check_annotations.py forgegrad.data ...  # what starts with these names

Public: what the API reference documents (the modules its pages name, docs/api/*.md's
``::: module`` lines): each module's ``__all__``, or its names without a leading
underscore, and of a class the methods, properties and special methods it defines itself.
The compiled module and Tensor have their stubs (tools/gen_stubs.py) and are left out.
"""

import importlib
import inspect
import pathlib
import re
import sys

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "api"
# What a method may leave unannotated: its first parameter, and __init__'s return.
IMPLICIT_FIRST = {"self", "cls", "mcs"}


def public_modules():
    """The modules the API reference documents, imported."""
    names = sorted(
        {
            name
            for page in DOCS.glob("*.md")
            for name in re.findall(r"^::: ([\w.]+)", page.read_text(), re.M)
        }
    )
    for name in names:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError:  # a class (forgegrad.Tensor), not a module
            continue


def exported(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        value = getattr(module, name, None)
        module_name = getattr(value, "__module__", None) or ""
        if module_name.startswith("forgegrad.") and module_name != "forgegrad._C":
            yield name, value


def missing(function):
    """The names of `function`'s unannotated parameters, and "return" when its return is."""
    function = inspect.unwrap(function)
    if not inspect.isfunction(function) or function.__code__.co_filename.startswith("<"):
        return []  # generated code: a dataclass's __eq__, __repr__, ...
    annotations = function.__annotations__
    parameters = list(inspect.signature(function, follow_wrapped=False).parameters)
    if "." in function.__qualname__ and parameters and parameters[0] in IMPLICIT_FIRST:
        parameters = parameters[1:]
    gaps = [p for p in parameters if p not in annotations]
    if "return" not in annotations and function.__name__ != "__init__":
        gaps.append("return")
    return gaps


def class_members(cls):
    for name, value in vars(cls).items():
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
            continue
        if getattr(value, "__module__", None) in sys.stdlib_module_names:
            continue  # the standard library's, copied into the class: an Enum's __new__
        if isinstance(value, property):
            yield name, value.fget
        elif isinstance(value, (staticmethod, classmethod)):
            yield name, value.__func__
        elif inspect.isfunction(value):
            yield name, value


def untyped():
    """["module.Class.method: x, return", ...], each public definition once."""
    seen, out = set(), []
    for module in public_modules():
        for name, value in exported(module):
            if inspect.isclass(value):
                members = [(f"{value.__qualname__}.{n}", f) for n, f in class_members(value)]
            else:
                members = [(getattr(value, "__qualname__", name), value)]
            for qualname, function in members:
                key = (getattr(value, "__module__", ""), qualname)
                if key in seen or not inspect.isfunction(inspect.unwrap(function)):
                    continue
                seen.add(key)
                gaps = missing(function)
                if gaps:
                    out.append(f"{key[0]}.{qualname}: {', '.join(gaps)}")
    return sorted(out)


if __name__ == "__main__":
    found = [line for line in untyped() if line.startswith(tuple(sys.argv[1:]) or "")]
    print("\n".join(found))
    print(f"{len(found)} public functions or methods lack annotations", file=sys.stderr)
    sys.exit(1 if found else 0)
