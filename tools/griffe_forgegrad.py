"""A griffe extension for the API reference (mkdocs.yml), which inspects the installed
forgegrad rather than reading its source.

Inspection finds where an object was defined from its ``__self__`` or ``__module__``: for a
pybind11 function that is a function-record capsule, for a Tensor method installed as a
``functools.partialmethod`` the functools module. So ``forgegrad.exp``,
``nn.functional.relu`` and ``Tensor.sum`` become aliases that resolve to nothing, and the
reference would leave them out without a warning. Each is pointed at the object of the same
name in the compiled module ``forgegrad._C``. Names with a leading underscore, dunders
included, are private to the reference (mkdocs.yml's ``filters: public`` reads ``public``).

An inspected attribute also takes its value's class docstring as its own (``int``'s for
``dims = 1``, the dtype enum's for ``forgegrad.float32``); that is dropped.
"""
import griffe


def _points_nowhere(alias):
    return "pybind11_detail_function_record" in alias.target_path or \
        alias.target_path.startswith("functools.")


class CompiledOps(griffe.Extension):
    def on_package(self, *, pkg, **kwargs):
        if pkg.path == "forgegrad":
            self._retarget(pkg, pkg.get_member("_C"))

    def _retarget(self, obj, compiled):
        for name, member in obj.members.items():
            if name.startswith("_"):
                member.public = False  # dunders too: the Tensor page names the operators
            if member.is_alias:
                if _points_nowhere(member) and name in compiled.members:
                    member.target = compiled.members[name]
                    member.public = not name.startswith("_")  # installed here, not imported
            elif member.is_module or member.is_class:
                self._retarget(member, compiled)

    def on_attribute_instance(self, *, node, attr, **kwargs):
        value = getattr(node, "obj", None)
        if attr.docstring is not None and getattr(value, "__doc__", None) == type(value).__doc__:
            attr.docstring = None
