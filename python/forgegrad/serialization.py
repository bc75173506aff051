"""``save`` and ``load``: checkpoints as safetensors files, never pickle.

File format: a plain safetensors file. Every Tensor in the saved object is a safetensors
tensor named by its key path joined with "." ({"model": {"0.weight": T}} -> "model.0.weight";
a flat model state dict keeps its own names), so other tools read the weights as they are.
Everything else lives as JSON in the header metadata under the one key "forgegrad":
``{"version": 1, "root": NODE}``, where a NODE is a JSON null, bool, int, finite float or
string for the same Python value, a JSON list for a list, or one of the one-key objects
``{"dict": [[key, NODE], ...]}`` (str or int keys, in order), ``{"tuple": [NODE, ...]}``,
``{"tensor": NAME}`` and ``{"float": "inf" | "-inf" | "nan"}``.
A safetensors file without that key (one exported from PyTorch, say) loads as a flat
{name: Tensor} dict. Tensors load on the CPU, with requires_grad=False; dtypes forgegrad
lacks convert as ``forgegrad.tensor`` converts them (F64 -> float32, I32 -> int64).
"""
import contextlib
import json
import math
import os
import secrets

import numpy as np
import safetensors.numpy
from safetensors import safe_open

from ._C import Tensor
from .creation import tensor

_META_KEY = "forgegrad"
_VERSION = 1
_MAX_DEPTH = 100  # nesting far beyond any state dict; deeper would exhaust Python's stack
_SCALARS = (bool, int, str, type(None))


def _show(path):
    """A key path as the indexing that reaches it: ``obj['state'][0]['exp_avg']``."""
    return "obj" + "".join(f"[{key!r}]" for key in path)


def _unsupported(value, path):
    return TypeError(f"[save] cannot store a {type(value).__name__} at {_show(path)}: "
                     f"expected a Tensor, dict, list, tuple, int, float, bool, str or "
                     f"None (convert numpy values with forgegrad.tensor or .item())")


class _Flattener:
    """``obj`` -> (tensors {name: contiguous numpy array}, JSON-able skeleton), by ``run``.
    A class rather than nested closures: closures that call each other form a reference cycle,
    which kept every saved tensor alive until the cycle collector ran."""

    def __init__(self):
        self.tensors, self.owners, self.open_containers = {}, {}, set()

    def run(self, obj):
        return self.tensors, self.walk(obj, ())

    def walk(self, value, path):
        if len(path) > _MAX_DEPTH:
            raise TypeError(f"[save] {_show(path[:3])}... nests deeper than {_MAX_DEPTH} levels")
        if isinstance(value, (list, tuple, dict)):
            if id(value) in self.open_containers:
                raise TypeError(f"[save] {_show(path)} contains itself")
            self.open_containers.add(id(value))
            try:
                return self.walk_container(value, path)
            finally:
                self.open_containers.discard(id(value))
        return self.walk_leaf(value, path)

    def walk_leaf(self, value, path):
        if isinstance(value, Tensor):
            name = ".".join(str(key) for key in path)
            if name in self.owners:
                raise TypeError(f"[save] {_show(self.owners[name])} and {_show(path)} would both "
                                f"be stored as tensor {name!r}; rename one of the keys")
            if name == "__metadata__":
                raise TypeError(f"[save] {_show(path)} would be stored as tensor {name!r}, a "
                                f"name safetensors reserves; rename the key")
            self.owners[name] = path
            self.tensors[name] = np.asarray(value.detach().cpu().numpy(), order="C")
            return {"tensor": name}
        if type(value) in _SCALARS:
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {"float": repr(value)}
        raise _unsupported(value, path)

    def walk_container(self, value, path):
        if type(value) is list:
            return [self.walk(item, path + (i,)) for i, item in enumerate(value)]
        if type(value) is tuple:
            return {"tuple": [self.walk(item, path + (i,)) for i, item in enumerate(value)]}
        if isinstance(value, dict):  # OrderedDict and defaultdict load as plain dicts
            for key in value:
                if type(key) not in (str, int):
                    raise TypeError(f"[save] dict keys must be str or int, got {key!r} "
                                    f"({type(key).__name__}) in {_show(path)}")
            return {"dict": [[key, self.walk(item, path + (key,))] for key, item in value.items()]}
        raise _unsupported(value, path)


def _unflatten(node, tensors, depth=0):
    """The inverse of ``_flatten``; raises ValueError on a malformed skeleton."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"its metadata nests deeper than {_MAX_DEPTH} levels")
    if type(node) in _SCALARS + (float,):
        return node
    if type(node) is list:
        return [_unflatten(item, tensors, depth + 1) for item in node]
    if type(node) is dict and len(node) == 1:
        (tag, body), = node.items()
        if tag == "tensor" and type(body) is str:
            if body not in tensors:
                raise ValueError(f"its metadata refers to tensor {body!r}, which it does not hold")
            return tensors[body]
        if tag == "tuple" and type(body) is list:
            return tuple(_unflatten(item, tensors, depth + 1) for item in body)
        if tag == "dict" and type(body) is list and all(
                type(pair) is list and len(pair) == 2 and type(pair[0]) in (str, int)
                for pair in body):
            return {key: _unflatten(item, tensors, depth + 1) for key, item in body}
        if tag == "float" and body in ("inf", "-inf", "nan"):
            return float(body)
    raise ValueError(f"unexpected node in its metadata: {json.dumps(node)[:80]}")


def save(obj, path):
    """Write ``obj`` (a state dict, or any nesting of dicts, lists, tuples, Tensors and JSON
    scalars) to ``path`` as a safetensors file, atomically: a failed save leaves the file
    that was there untouched. Tensors are saved detached; ``obj`` is not modified."""
    path = os.fspath(path)
    tensors, root = _Flattener().run(obj)
    metadata = {_META_KEY: json.dumps({"version": _VERSION, "root": root}, allow_nan=False)}
    data = safetensors.numpy.save(tensors, metadata=metadata)
    directory = os.path.dirname(os.path.abspath(path))
    temp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    # os.open rather than mkstemp: O_EXCL reserves the name as mkstemp does, and mode 0o666
    # lets the umask give the checkpoint the usual permissions (mkstemp's are 0o600).
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
    with contextlib.suppress(OSError, AttributeError):  # make the rename durable (POSIX)
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def load(path):
    """Read a checkpoint written by ``save`` (the same structure, with CPU Tensors), or any
    safetensors file (a flat {name: Tensor} dict). Raises FileNotFoundError for a missing
    file and ValueError for one that is not a valid checkpoint."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"[load] {path} is a directory, not a checkpoint file")

    def invalid(reason):
        return ValueError(f"[load] {path} is not a valid forgegrad/safetensors checkpoint: "
                          f"{reason}")

    try:
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            tensors = {name: tensor(f.get_tensor(name)) for name in f.keys()}
    except OSError:  # missing file, permissions: the OS's own error
        raise
    except Exception as e:  # safetensors' SafetensorError, dtypes numpy cannot hold, ...
        raise invalid(e) from e
    if _META_KEY not in metadata:
        return tensors
    try:
        header = json.loads(metadata[_META_KEY])
        if type(header) is not dict or "root" not in header:
            raise ValueError("its metadata has no 'root'")
        if header.get("version") != _VERSION:
            raise ValueError(f"format version {header.get('version')!r}, this forgegrad reads "
                             f"version {_VERSION}")
        return _unflatten(header["root"], tensors)
    except (ValueError, RecursionError) as e:  # json.JSONDecodeError is a ValueError
        raise invalid(e) from e
