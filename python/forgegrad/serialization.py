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
{name: Tensor} dict. Tensors load on the CPU, with requires_grad=False, in their own dtype
(F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL); dtypes forgegrad lacks convert as
``forgegrad.tensor`` converts them (U16 -> int64).
"""

import contextlib
import errno
import fcntl
import json
import math
import os
import re
import secrets
import stat
import time
from typing import Any

import numpy as np
import safetensors.numpy
from safetensors import safe_open

from . import _C, _errors
from ._C import Tensor
from .creation import tensor

_META_KEY = "forgegrad"
_VERSION = 1
_MAX_DEPTH = 100  # nesting far beyond any state dict; deeper would exhaust Python's stack
_MAX_JSON_DEPTH = 3 * _MAX_DEPTH + 2  # a dict is 3 JSON levels, plus the header and a leaf
# Limits on what load parses, so a crafted file cannot take gigabytes and minutes; save refuses
# to write past them. A header holds ~100 bytes per tensor and the metadata ~25 values per
# parameter with Adam's state, so they allow ~50,000 parameters; raise them for larger files.
MAX_HEADER_BYTES = 16 * 2**20  # safetensors itself stops at 100 MB
MAX_METADATA_VALUES = 1_000_000  # ~100 MB of Python objects at most
STALE_TEMP_SECONDS = 60  # a save's temporary unlocked and untouched this long is a dead one's
# Strings are blanked in two linear passes: escapes out first, then quote to quote. (One
# pattern for strings with escapes rescans to the end from every quote of an unclosed one:
# quadratic, days for a crafted 16 MB header.)
_JSON_ESCAPE = re.compile(r"\\.", re.S)
_JSON_STRING = re.compile(r'"[^"]*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_OPENERS = np.frombuffer(b"[{", np.uint8)
_SCALARS = (bool, int, str, type(None))


def _show(path):
    """A key path as the indexing that reaches it: ``obj['state'][0]['exp_avg']``."""
    return "obj" + "".join(f"[{key!r}]" for key in path)


def _unsupported(value, path):
    return _errors.TypeError(
        f"[save] cannot store a {type(value).__name__} at {_show(path)}: "
        f"expected a Tensor, dict, list, tuple, int, float, bool, str or "
        f"None (convert numpy values with forgegrad.tensor or .item())"
    )


def _as_array(t):
    """t's values as a C-contiguous numpy array for safetensors.numpy; a bfloat16 tensor's as
    its uint16 bit patterns (numpy has no bfloat16), which _mark_bfloat16 then labels BF16."""
    t = t.detach().cpu()
    if t.dtype == _C.dtype.bfloat16:  # float32 holds it exactly: its top 16 bits are it
        return (np.ascontiguousarray(t.float().numpy()).view(np.uint32) >> 16).astype(np.uint16)
    return np.asarray(t.numpy(), order="C")


def _header(data):
    """(JSON header, where the tensors' bytes start) of a safetensors file's bytes."""
    size = int.from_bytes(data[:8], "little")
    return json.loads(bytes(data[8 : 8 + size])), 8 + size


def _mark_bfloat16(data, names):
    """The safetensors bytes with the named U16 tensors relabelled BF16 (offsets are relative
    to the data, which stays as is; the header stays padded to 8 bytes, as safetensors pads)."""
    if not names:
        return data
    header, start = _header(data)
    for name in names:
        header[name]["dtype"] = "BF16"
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[start:]


def _read_bfloat16(path, name):
    """A BF16 tensor of a safetensors file, which safetensors' numpy reader refuses."""
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        entry = json.loads(f.read(size))[name]
        begin, end = entry["data_offsets"]
        f.seek(8 + size + begin)
        bits = np.frombuffer(f.read(end - begin), dtype="<u2").reshape(entry["shape"])
    values = (bits.astype(np.uint32) << 16).view(np.float32)
    return _C._to_dtype(_C.from_numpy(np.ascontiguousarray(values)), _C.dtype.bfloat16)


def _load_tensor(f, path, name):
    if f.get_slice(name).get_dtype() == "BF16":
        return _read_bfloat16(path, name)
    return tensor(f.get_tensor(name))


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
            raise _errors.TypeError(
                f"[save] {_show(path[:3])}... nests deeper than {_MAX_DEPTH} levels"
            )
        if isinstance(value, (list, tuple, dict)):
            if id(value) in self.open_containers:
                raise _errors.TypeError(f"[save] {_show(path)} contains itself")
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
                raise _errors.TypeError(
                    f"[save] {_show(self.owners[name])} and {_show(path)} "
                    f"would both be stored as tensor {name!r}; rename one of "
                    "the keys"
                )
            if name == "__metadata__":
                raise _errors.TypeError(
                    f"[save] {_show(path)} would be stored as tensor {name!r}, "
                    f"a name safetensors reserves; rename the key"
                )
            self.owners[name] = path
            self.tensors[name] = _as_array(value)
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
                    raise _errors.TypeError(
                        f"[save] dict keys must be str or int, got {key!r} "
                        f"({type(key).__name__}) in {_show(path)}"
                    )
            return {"dict": [[key, self.walk(item, path + (key,))] for key, item in value.items()]}
        raise _unsupported(value, path)


def _unflatten(node, tensors, depth=0):
    """The inverse of ``_flatten``; raises ValueError on a malformed skeleton."""
    if depth > _MAX_DEPTH:
        raise _errors.ValueError(f"its metadata nests deeper than {_MAX_DEPTH} levels")
    if type(node) in _SCALARS + (float,):
        return node
    if type(node) is list:
        return [_unflatten(item, tensors, depth + 1) for item in node]
    if type(node) is dict and len(node) == 1:
        ((tag, body),) = node.items()
        if tag == "tensor" and type(body) is str:
            if body not in tensors:
                raise _errors.ValueError(
                    f"its metadata refers to tensor {body!r}, which it does not hold"
                )
            return tensors[body]
        if tag == "tuple" and type(body) is list:
            return tuple(_unflatten(item, tensors, depth + 1) for item in body)
        if (
            tag == "dict"
            and type(body) is list
            and all(
                type(pair) is list and len(pair) == 2 and type(pair[0]) in (str, int)
                for pair in body
            )
        ):
            return {key: _unflatten(item, tensors, depth + 1) for key, item in body}
        if tag == "float" and body in ("inf", "-inf", "nan"):
            return float(body)
    raise _errors.ValueError(f"unexpected node in its metadata: {json.dumps(node)[:80]}")


def _check_metadata(text):
    """Refuse, before ``json.loads`` builds anything, metadata holding more than
    MAX_METADATA_VALUES JSON values or nested deeper than _MAX_JSON_DEPTH (json.loads of 20
    million empty lists took 2.85 GB and 25 s). Both are counted on the text with its strings
    blanked out: every value or key but the first follows a '[', '{', ',' or ':', so the count
    is an upper bound (exact but for empty containers), and save checks its own metadata the
    same way, so a file save writes always loads. Raises ValueError saying which limit."""
    structure = _JSON_STRING.sub('""', _JSON_ESCAPE.sub("", text))
    values = 1 + sum(map(structure.count, "[{,:"))
    if values > MAX_METADATA_VALUES:
        raise _errors.ValueError(
            f"its metadata holds up to {values} JSON values, over the limit "
            "forgegrad.serialization.MAX_METADATA_VALUES = "
            f"{MAX_METADATA_VALUES}"
        )
    brackets = _NOT_A_BRACKET.sub("", structure)
    if len(brackets) > 2 * values:  # more closers than openers: not JSON, and unbounded
        raise _errors.ValueError("its metadata is not JSON: unbalanced brackets")
    steps = np.isin(np.frombuffer(brackets.encode(), np.uint8), _OPENERS).astype(np.int32) * 2 - 1
    depth = np.cumsum(steps).max(initial=0)
    if depth > _MAX_JSON_DEPTH:
        raise _errors.ValueError(
            f"its metadata nests {depth} JSON levels deep, over the limit of "
            f"{_MAX_JSON_DEPTH} ({_MAX_DEPTH} levels of containers)"
        )


def _remove_stale_temporaries(directory, name):
    """Remove the temporaries that earlier saves of ``name`` left in ``directory`` when they
    were killed (SIGKILL, power loss: nothing in Python runs). Stale means: named as ``save``
    names them for this target, a regular file, untouched for STALE_TEMP_SECONDS, and not
    locked: a live save holds an flock on its temporary until the rename, the kernel drops it
    when the process dies, and this works across processes, containers and (through fcntl
    locks) NFS clients, where a pid check would not. The age covers the instant between a
    save creating its temporary and locking it. Best effort: errors leave the file alone."""
    pattern = re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{16}}\.tmp")
    oldest = time.time() - STALE_TEMP_SECONDS
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if not pattern.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):  # BlockingIOError: a live save holds it
                info = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(info.st_mode) or info.st_mtime > oldest:
                    continue
                fd = os.open(entry.path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    if os.path.samestat(os.fstat(fd), os.lstat(entry.path)):
                        os.remove(entry.path)
                finally:
                    os.close(fd)


def _fsync_directory(directory):
    """Make a rename in ``directory`` durable. Filesystems that cannot sync a directory
    (EINVAL) and directories we may write but not open are skipped; a failed sync (EIO)
    raises, since the new file may then not survive a crash."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def save(obj: object, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (a state dict, or any nesting of dicts, lists, tuples, Tensors and JSON
    scalars) to ``path`` as a safetensors file, atomically: the data goes to a temporary file
    beside the target (``.NAME.<random>.tmp``), is synced, and is renamed over the target,
    so a failed or killed save leaves the file that was there untouched. Every failure Python
    sees (exceptions, KeyboardInterrupt) removes the temporary; one a killed save left is
    removed by a later save of the same target (see _remove_stale_temporaries). A symlink
    at ``path`` stays and the file it names is replaced; an existing file keeps its
    permission bits (a new one gets the umask's). Tensors are saved detached; ``obj`` is not
    modified. Raises ValueError for an object larger than ``load`` accepts (the limits
    MAX_HEADER_BYTES and MAX_METADATA_VALUES), before writing anything."""
    target = os.path.realpath(os.fspath(path))
    tensors, root = _Flattener().run(obj)
    text = json.dumps({"version": _VERSION, "root": root}, allow_nan=False)
    try:
        _check_metadata(text)
    except ValueError as e:
        raise _errors.ValueError(
            f"[save] cannot write {path}: {e}; store long lists of numbers as Tensors"
        ) from None
    bfloat16_names = [name for name, array in tensors.items() if array.dtype == np.uint16]
    data = _mark_bfloat16(
        safetensors.numpy.save(tensors, metadata={_META_KEY: text}), bfloat16_names
    )
    header_bytes = int.from_bytes(data[:8], "little")
    if header_bytes > MAX_HEADER_BYTES:
        raise _errors.ValueError(
            f"[save] cannot write {path}: its safetensors header would be "
            f"{header_bytes} bytes, over the limit "
            f"forgegrad.serialization.MAX_HEADER_BYTES = {MAX_HEADER_BYTES} "
            "(too many tensors for one file)"
        )
    directory, name = os.path.split(target)
    _remove_stale_temporaries(directory, name)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    temp = os.path.join(directory, f".{name}.{secrets.token_hex(8)}.tmp")
    # os.open rather than mkstemp: O_EXCL reserves the name as mkstemp does, and mode 0o666
    # lets the umask give the checkpoint the usual permissions (mkstemp's are 0o600).
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        # Held until the rename: this temporary is live. Where the filesystem has no locks,
        # other saves cannot lock it either, so they leave it alone.
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
        os.fsync(fd)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
    finally:
        os.close(fd)
    _fsync_directory(directory)


def _read_header_bytes(path):
    """The header length a safetensors file declares (its first 8 bytes, little-endian), or
    None where the file cannot hold such a header (safetensors then says what is wrong)."""
    with open(path, "rb") as f:
        prefix = f.read(8)
        size = os.fstat(f.fileno()).st_size
    declared = int.from_bytes(prefix, "little")
    return declared if len(prefix) == 8 and 8 + declared <= size else None


def load(path: str | os.PathLike[str]) -> Any:
    """Read a checkpoint written by ``save`` (the same structure, with CPU Tensors), or any
    safetensors file (a flat {name: Tensor} dict). Raises FileNotFoundError for a missing
    file and ValueError for one that is not a valid checkpoint, or that exceeds a limit on
    what forgegrad parses: a header over MAX_HEADER_BYTES (checked before anything parses
    it), metadata over MAX_METADATA_VALUES values or nested deeper than save writes
    (checked before json.loads)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"[load] {path} is a directory, not a checkpoint file")

    def invalid(reason):
        return _errors.ValueError(
            f"[load] {path} is not a valid forgegrad/safetensors checkpoint: {reason}"
        )

    header_bytes = _read_header_bytes(path)  # OSError: missing file, permissions
    if header_bytes is not None and header_bytes > MAX_HEADER_BYTES:
        raise invalid(
            f"its header is {header_bytes} bytes, over the limit forgegrad."
            f"serialization.MAX_HEADER_BYTES = {MAX_HEADER_BYTES}"
        )
    try:
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            tensors = {name: _load_tensor(f, path, name) for name in f.keys()}
    except OSError:  # missing file, permissions: the OS's own error
        raise
    except Exception as e:  # safetensors' SafetensorError, dtypes numpy cannot hold, ...
        raise invalid(e) from e
    if _META_KEY not in metadata:
        return tensors
    try:
        _check_metadata(metadata[_META_KEY])
        header = json.loads(metadata[_META_KEY])
        if type(header) is not dict or "root" not in header:
            raise _errors.ValueError("its metadata has no 'root'")
        if header.get("version") != _VERSION:
            raise _errors.ValueError(
                f"format version {header.get('version')!r}, this forgegrad reads version {_VERSION}"
            )
        return _unflatten(header["root"], tensors)
    except (ValueError, RecursionError) as e:  # json.JSONDecodeError is a ValueError
        raise invalid(e) from e
