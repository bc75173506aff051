"""A griffe extension for the API reference (mkdocs.yml), which inspects the installed
forgegrad rather than reading its source.

Inspection finds where an object was defined from its ``__self__`` or ``__module__``: for a
pybind11 function that is a function-record capsule, for a Tensor method (a function that
``forgegrad._ops`` makes and names ``Tensor.sum``) that module, which has no Tensor. So
``forgegrad.exp``, ``nn.functional.relu`` and ``Tensor.sum`` become aliases that resolve to
nothing, and the reference would leave them out without a warning. Each is pointed at the
object of the same name in the compiled module ``forgegrad._C``.

What a module imports for its own use is not its API (``forgegrad.data`` imports ``tensor``
and ``is_int``): aliases its ``__all__`` leaves out, or all of them where it has none, are
removed from what the reference sees.

An inspected attribute also takes its value's class docstring as its own (``int``'s for
``dims = 1``, the dtype enum's for ``forgegrad.float32``); that is dropped.
"""

import griffe

COMPILED_MODULE = "forgegrad._C"


def _points_nowhere(alias):
    return "pybind11_detail_function_record" in alias.target_path or alias.target_path.startswith(
        ("functools.", "forgegrad._ops.")
    )


def _is_imported(module, alias):
    """An alias the module's ``__all__`` leaves out, or without one any alias but the
    compiled ops: what the module imports for its own use."""
    if module.exports:
        return alias.name not in {str(name) for name in module.exports}
    return not alias.target_path.startswith(COMPILED_MODULE + ".")


class CompiledOps(griffe.Extension):
    def on_package(self, *, pkg, **kwargs):
        if pkg.path == "forgegrad":
            self._retarget(pkg, pkg.get_member(COMPILED_MODULE.removeprefix("forgegrad.")))

    def _retarget(self, obj, compiled):
        for name, member in obj.members.items():
            if member.is_alias:
                if _points_nowhere(member) and name in compiled.members:
                    member.target = compiled.members[name]
            elif member.is_module or member.is_class:
                self._retarget(member, compiled)
        if obj.is_module:
            for name in [
                name
                for name, member in obj.members.items()
                if member.is_alias and _is_imported(obj, member)
            ]:
                obj.del_member(name)

    def on_attribute_instance(self, *, node, attr, **kwargs):
        value = getattr(node, "obj", None)
        if attr.docstring is not None and getattr(value, "__doc__", None) == type(value).__doc__:
            attr.docstring = None
