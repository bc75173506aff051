"""Collectives on forgegrad tensors, in place, with PyTorch's names and arguments.

CPU tensors go through MPI (mpi4py) with no copy: MPI reads and writes the tensor's own
memory through a numpy view of it. A tensor that is not contiguous (a transposed or sliced
view) cannot be handed to MPI as it is: the collective runs on a contiguous copy, which is
written back into the view afterwards. GPU tensors go through NCCL, on the stream
forgegrad's kernels use, so a collective is ordered with the kernels around it.

Every wait is bounded by the group's timeout (``init_process_group(timeout=...)``): a rank
whose peers never arrive raises a RuntimeError naming the collective instead of hanging.
``async_op=True`` returns a ``Work`` whose ``wait()`` finishes the collective; otherwise the
call returns once it is done (on the GPU: once it is queued, as in PyTorch).
"""

import enum
import pickle
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, overload

import numpy as np

from .. import _C, _errors
from .process_group import group as _group

__all__ = [
    "ReduceOp",
    "Work",
    "all_reduce",
    "broadcast",
    "all_gather",
    "all_gather_into_tensor",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "all_gather_object",
    "broadcast_object_list",
]


class ReduceOp(enum.Enum):
    """How all_reduce and reduce_scatter combine the ranks' values. AVG: the sum divided by
    the world size (floating-point tensors only)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


_MPI_OPS = {
    ReduceOp.SUM: "SUM",
    ReduceOp.AVG: "SUM",
    ReduceOp.PRODUCT: "PROD",
    ReduceOp.MAX: "MAX",
    ReduceOp.MIN: "MIN",
}
_NCCL_OPS = {
    ReduceOp.SUM: 0,
    ReduceOp.PRODUCT: 1,
    ReduceOp.MAX: 2,
    ReduceOp.MIN: 3,
    ReduceOp.AVG: 4,
}  # ncclRedOp_t
# What MPI carries (numpy has no bfloat16, MPI no 16-bit float).
_MPI_DTYPES = {
    _C.dtype.float32,
    _C.dtype.float64,
    _C.dtype.int64,
    _C.dtype.int32,
    _C.dtype.int16,
    _C.dtype.int8,
    _C.dtype.uint8,
    _C.dtype.bool,
}


def wait(requests, op):
    """Wait for MPI requests, at most the group's timeout; each test also moves MPI's
    progress along (non-blocking collectives advance only inside MPI calls)."""
    g = _group(op)
    if g.MPI.Request.Testall(requests):
        return
    start = time.monotonic()
    pause = 0.0
    while not g.MPI.Request.Testall(requests):
        waited = time.monotonic() - start
        if waited > g.timeout:
            raise RuntimeError(
                f"[{op}] rank {g.rank} of {g.size} waited {g.timeout:g} s for "
                "the other ranks, which did not join this collective: one may "
                "have failed or left, or the ranks called collectives in "
                "different orders"
            )
        # Spin for the first 0.2 ms (a collective about to finish), then sleep, longer and
        # longer up to 1 ms: a rank that spins would take the core from a rank still
        # computing where the ranks share cores.
        if waited > 2e-4:
            pause = min(max(pause * 2, 5e-5), 1e-3)
        time.sleep(pause)


class Work:
    """A collective under way. ``wait()`` blocks until it is done (within the group's
    timeout) and writes its result into the tensors; ``is_completed()`` says whether the
    transfer has finished, without waiting."""

    def __init__(
        self, op: str, requests: list[Any], finish: Callable[[], None] | None = None
    ) -> None:
        self._op, self._requests, self._finish, self._done = op, requests, finish, False

    def is_completed(self) -> bool:
        """Whether the operation has finished (without waiting)."""
        return self._done or _group(self._op).MPI.Request.Testall(self._requests)

    def wait(self) -> bool:
        """Block until the operation has finished (at most the group's timeout); True."""
        if not self._done:
            wait(self._requests, self._op)
            self._done = True
            if self._finish is not None:
                self._finish()
        return True


def _finished(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


# ---------------------------------------------------------------------------- argument checks
def _group_for(op, group):
    if group is not None:
        raise _errors.ValueError(
            f"[{op}] only the default group (group=None) is supported, got {group!r}"
        )
    return _group(op)


def _check_tensor(t, op, what: str = "tensor"):
    if not isinstance(t, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected {what} to be a Tensor, got {type(t).__name__}")
    if t.device.type == "cpu" and t.dtype not in _MPI_DTYPES:
        raise _errors.TypeError(
            f"[{op}] MPI carries no {t.dtype} values; convert the tensor "
            "(.float()) or use a GPU tensor with the nccl backend"
        )


def _check_like(tensors, like, op, what):
    """A list of world-size tensors of `like`'s shape, dtype and device."""
    g = _group(op)
    if not isinstance(tensors, (list, tuple)) or len(tensors) != g.size:
        got = (
            f"{len(tensors)} items"
            if isinstance(tensors, (list, tuple))
            else type(tensors).__name__
        )
        raise _errors.ValueError(
            f"[{op}] expected {what} to be a list of {g.size} tensors (one per rank), got {got}"
        )
    for i, t in enumerate(tensors):
        _check_tensor(t, op, f"{what}[{i}]")
        if t.shape != like.shape or t.dtype != like.dtype or t.device != like.device:
            raise _errors.ValueError(
                f"[{op}] expected {what}[{i}] of shape {like.shape}, "
                f"{like.dtype} on {like.device}, got shape {t.shape}, "
                f"{t.dtype} on {t.device}"
            )


def _check_sizes(big, small, op, big_name, small_name):
    """`big` holds world-size times the elements of `small`, same dtype and device."""
    g = _group(op)
    if big.dtype != small.dtype or big.device != small.device:
        raise _errors.ValueError(
            f"[{op}] expected {big_name} and {small_name} of one dtype and "
            f"device, got {big.dtype} on {big.device} and {small.dtype} on "
            f"{small.device}"
        )
    if big.numel() != g.size * small.numel():
        raise _errors.ValueError(
            f"[{op}] expected {big_name} to hold {g.size} x "
            f"{small.numel()} elements (world size x {small_name}), got "
            f"{big.numel()}"
        )


def _reduce_op(op, name, dtype):
    if not isinstance(op, ReduceOp):
        raise _errors.TypeError(
            f"[{name}] expected a ReduceOp (ReduceOp.SUM, AVG, PRODUCT, MAX, MIN), got {op!r}"
        )
    if op is ReduceOp.AVG and not dtype.is_floating_point:
        raise _errors.TypeError(
            f"[{name}] ReduceOp.AVG needs a floating-point tensor, got {dtype}; use SUM and divide"
        )
    if dtype == _C.dtype.bool:
        raise _errors.TypeError(f"[{name}] cannot reduce bool tensors; convert them (.int())")
    return op


def _check_src(src, op):
    g = _group(op)
    if isinstance(src, bool) or not isinstance(src, int) or not 0 <= src < g.size:
        raise _errors.ValueError(
            f"[{op}] expected src to be a rank, 0 .. {g.size - 1}, got {src!r}"
        )


# ---------------------------------------------------------------------------- CPU buffers
def flat_values(t):
    """t's values as a flat C-contiguous array: a view of its memory when it is contiguous."""
    t = t.detach()
    return (t if t.is_contiguous() else _C._contiguous(t)).numpy().reshape(-1)


def _writable(t):
    """(flat array MPI may write, done()): t's own memory when contiguous, else a copy that
    done() writes back into t. done() also counts the write as an in-place change of t."""
    t = t.detach()
    if t.is_contiguous():
        return t.numpy().reshape(-1), t._bump_version
    staging = _C._contiguous(t)
    return staging.numpy().reshape(-1), lambda: _C._copy_(t, staging)


def _apart(send, recv):
    """send, or a copy of it when it overlaps recv (MPI forbids aliased send and receive
    buffers; all_gather_into_tensor's input is often a slice of its output)."""
    return send.copy() if np.may_share_memory(send, recv) else send


def _apart_gpu(send, recv):
    """As _apart, for GPU tensors: a copy of send when it shares recv's storage."""
    return send.clone() if send._storage_key() == recv._storage_key() else send


def _mpi_op(g, op):
    return getattr(g.MPI, _MPI_OPS[op])


def _nccl(g, op):
    if g.nccl is None:
        raise RuntimeError(
            f"[{op}] GPU tensors need the NCCL backend; this process group has "
            "none: init_process_group(backend='nccl'), with pip install "
            "nvidia-nccl-cu12"
        )
    return g.nccl


def _on_gpu(*tensors):
    return any(t.device.type == "cuda" for t in tensors)


def _contiguous_gpu(t, op, nccl):
    """(contiguous tensor NCCL may write, done()): as _writable, on the GPU."""
    t = t.detach()
    if t.device.index != nccl.device:
        raise _errors.ValueError(
            f"[{op}] expected a tensor on cuda:{nccl.device}, this "
            f"rank's GPU, got one on {t.device}"
        )
    if t.is_contiguous():
        return t, lambda: None
    staging = _C._contiguous(t)
    return staging, lambda: _C._copy_(t, staging)


# ---------------------------------------------------------------------------- collectives
@overload
def all_reduce(
    tensor: _C.Tensor, op: ReduceOp = ..., group: None = ..., async_op: Literal[False] = ...
) -> None: ...


@overload
def all_reduce(
    tensor: _C.Tensor, op: ReduceOp = ..., group: None = ..., *, async_op: Literal[True]
) -> Work: ...


@overload
def all_reduce(
    tensor: _C.Tensor, op: ReduceOp = ..., group: None = ..., async_op: bool = ...
) -> Work | None: ...


def all_reduce(
    tensor: _C.Tensor, op: ReduceOp = ReduceOp.SUM, group: None = None, async_op: bool = False
) -> Work | None:
    """Every rank's `tensor` becomes the reduction (sum by default) of all ranks' tensors."""
    g = _group_for("all_reduce", group)
    _check_tensor(tensor, "all_reduce")
    op = _reduce_op(op, "all_reduce", tensor.dtype)
    if _on_gpu(tensor):
        data, done = _contiguous_gpu(tensor, "all_reduce", _nccl(g, "all_reduce"))
        g.nccl.all_reduce(data, _NCCL_OPS[op])
        done()
        return _finished(Work("all_reduce", []), async_op)
    data, done = _writable(tensor)
    request = g.comm.Iallreduce(g.MPI.IN_PLACE, data, _mpi_op(g, op))

    def finish() -> None:
        if op is ReduceOp.AVG:
            data[...] /= g.size
        done()

    return _finished(Work("all_reduce", [request], finish), async_op)


@overload
def broadcast(
    tensor: _C.Tensor, src: int, group: None = ..., async_op: Literal[False] = ...
) -> None: ...


@overload
def broadcast(
    tensor: _C.Tensor, src: int, group: None = ..., *, async_op: Literal[True]
) -> Work: ...


@overload
def broadcast(
    tensor: _C.Tensor, src: int, group: None = ..., async_op: bool = ...
) -> Work | None: ...


def broadcast(
    tensor: _C.Tensor, src: int, group: None = None, async_op: bool = False
) -> Work | None:
    """Every rank's `tensor` becomes rank `src`'s."""
    g = _group_for("broadcast", group)
    _check_tensor(tensor, "broadcast")
    _check_src(src, "broadcast")
    if _on_gpu(tensor):
        data, done = _contiguous_gpu(tensor, "broadcast", _nccl(g, "broadcast"))
        g.nccl.broadcast(data, src)
        done()
        return _finished(Work("broadcast", []), async_op)
    data, done = _writable(tensor)
    return _finished(Work("broadcast", [g.comm.Ibcast(data, root=src)], done), async_op)


@overload
def all_gather(
    tensor_list: Sequence[_C.Tensor],
    tensor: _C.Tensor,
    group: None = ...,
    async_op: Literal[False] = ...,
) -> None: ...


@overload
def all_gather(
    tensor_list: Sequence[_C.Tensor],
    tensor: _C.Tensor,
    group: None = ...,
    *,
    async_op: Literal[True],
) -> Work: ...


@overload
def all_gather(
    tensor_list: Sequence[_C.Tensor], tensor: _C.Tensor, group: None = ..., async_op: bool = ...
) -> Work | None: ...


def all_gather(
    tensor_list: Sequence[_C.Tensor], tensor: _C.Tensor, group: None = None, async_op: bool = False
) -> Work | None:
    """``tensor_list[i]`` becomes rank i's `tensor` (on every rank). The ranks' values arrive
    in one buffer and are copied into the list; all_gather_into_tensor avoids that copy."""
    g = _group_for("all_gather", group)
    _check_tensor(tensor, "all_gather")
    _check_like(tensor_list, tensor, "all_gather", "tensor_list")
    n = tensor.numel()
    if _on_gpu(tensor):
        from ..creation import empty

        send, _ = _contiguous_gpu(tensor, "all_gather", _nccl(g, "all_gather"))
        gathered = empty(g.size * n, dtype=tensor.dtype, device=tensor.device)
        g.nccl.all_gather(gathered, send, g.size)
        for i, out in enumerate(tensor_list):
            _C._copy_(out.detach(), gathered[i * n : (i + 1) * n].reshape(tensor.shape))
        return _finished(Work("all_gather", []), async_op)
    send = flat_values(tensor)
    rows = np.empty((g.size, n), dtype=send.dtype)
    request = g.comm.Iallgather(send, rows)

    def finish() -> None:
        for out, values in zip(tensor_list, rows):
            data, done = _writable(out)
            data[...] = values
            done()

    return _finished(Work("all_gather", [request], finish), async_op)


@overload
def all_gather_into_tensor(
    output_tensor: _C.Tensor,
    input_tensor: _C.Tensor,
    group: None = ...,
    async_op: Literal[False] = ...,
) -> None: ...


@overload
def all_gather_into_tensor(
    output_tensor: _C.Tensor, input_tensor: _C.Tensor, group: None = ..., *, async_op: Literal[True]
) -> Work: ...


@overload
def all_gather_into_tensor(
    output_tensor: _C.Tensor, input_tensor: _C.Tensor, group: None = ..., async_op: bool = ...
) -> Work | None: ...


def all_gather_into_tensor(
    output_tensor: _C.Tensor, input_tensor: _C.Tensor, group: None = None, async_op: bool = False
) -> Work | None:
    """`output_tensor` (world size x input's elements: (world * n, ...) or (world, n, ...))
    becomes the ranks' inputs one after another, rank 0 first; MPI writes it directly."""
    g = _group_for("all_gather_into_tensor", group)
    op = "all_gather_into_tensor"
    _check_tensor(output_tensor, op, "output_tensor")
    _check_tensor(input_tensor, op, "input_tensor")
    _check_sizes(output_tensor, input_tensor, op, "output_tensor", "input_tensor")
    if _on_gpu(output_tensor):
        out, done = _contiguous_gpu(output_tensor, op, _nccl(g, op))
        send = _apart_gpu(_contiguous_gpu(input_tensor, op, g.nccl)[0], out)
        g.nccl.all_gather(out, send, g.size)
        done()
        return _finished(Work(op, []), async_op)
    out, done = _writable(output_tensor)
    request = g.comm.Iallgather(_apart(flat_values(input_tensor), out), out)
    return _finished(Work(op, [request], done), async_op)


@overload
def reduce_scatter(
    output: _C.Tensor,
    input_list: Sequence[_C.Tensor],
    op: ReduceOp = ...,
    group: None = ...,
    async_op: Literal[False] = ...,
) -> None: ...


@overload
def reduce_scatter(
    output: _C.Tensor,
    input_list: Sequence[_C.Tensor],
    op: ReduceOp = ...,
    group: None = ...,
    *,
    async_op: Literal[True],
) -> Work: ...


@overload
def reduce_scatter(
    output: _C.Tensor,
    input_list: Sequence[_C.Tensor],
    op: ReduceOp = ...,
    group: None = ...,
    async_op: bool = ...,
) -> Work | None: ...


def reduce_scatter(
    output: _C.Tensor,
    input_list: Sequence[_C.Tensor],
    op: ReduceOp = ReduceOp.SUM,
    group: None = None,
    async_op: bool = False,
) -> Work | None:
    """Rank i's `output` becomes the reduction over ranks of their ``input_list[i]``. The list
    is packed into one buffer for MPI (a copy); reduce_scatter_tensor avoids it."""
    g = _group_for("reduce_scatter", group)
    _check_tensor(output, "reduce_scatter", "output")
    _check_like(input_list, output, "reduce_scatter", "input_list")
    op = _reduce_op(op, "reduce_scatter", output.dtype)
    if _on_gpu(output):
        out, done = _contiguous_gpu(output, "reduce_scatter", _nccl(g, "reduce_scatter"))
        packed = _C.cat([t.detach().reshape(-1) for t in input_list])
        g.nccl.reduce_scatter(out, packed, _NCCL_OPS[op], g.size)
        done()
        return _finished(Work("reduce_scatter", []), async_op)
    values = np.concatenate([flat_values(t) for t in input_list])
    return _reduce_scatter_cpu(g, output, values, op, async_op, "reduce_scatter")


@overload
def reduce_scatter_tensor(
    output: _C.Tensor,
    input: _C.Tensor,
    op: ReduceOp = ...,
    group: None = ...,
    async_op: Literal[False] = ...,
) -> None: ...


@overload
def reduce_scatter_tensor(
    output: _C.Tensor,
    input: _C.Tensor,
    op: ReduceOp = ...,
    group: None = ...,
    *,
    async_op: Literal[True],
) -> Work: ...


@overload
def reduce_scatter_tensor(
    output: _C.Tensor, input: _C.Tensor, op: ReduceOp = ..., group: None = ..., async_op: bool = ...
) -> Work | None: ...


def reduce_scatter_tensor(
    output: _C.Tensor,
    input: _C.Tensor,
    op: ReduceOp = ReduceOp.SUM,
    group: None = None,
    async_op: bool = False,
) -> Work | None:  # noqa: A002
    """Rank i's `output` becomes the reduction over ranks of their `input`'s i-th block of
    output's size (input holds world size x output's elements)."""
    name = "reduce_scatter_tensor"
    g = _group_for(name, group)
    _check_tensor(output, name, "output")
    _check_tensor(input, name, "input")
    _check_sizes(input, output, name, "input", "output")
    op = _reduce_op(op, name, output.dtype)
    if _on_gpu(output):
        out, done = _contiguous_gpu(output, name, _nccl(g, name))
        send = _apart_gpu(_contiguous_gpu(input, name, g.nccl)[0], out)
        g.nccl.reduce_scatter(out, send, _NCCL_OPS[op], g.size)
        done()
        return _finished(Work(name, []), async_op)
    return _reduce_scatter_cpu(g, output, flat_values(input), op, async_op, name)


def _reduce_scatter_cpu(g, output, packed, op, async_op, name):
    out, done = _writable(output)
    request = g.comm.Ireduce_scatter_block(_apart(packed, out), out, _mpi_op(g, op))

    def finish() -> None:
        if op is ReduceOp.AVG:
            out[...] /= g.size
        done()

    return _finished(Work(name, [request], finish), async_op)


# ---------------------------------------------------------------------------- Python objects
def all_gather_object(object_list: list[Any], obj: Any, group: None = None) -> None:
    """``object_list[i]`` becomes rank i's `obj` (pickled: only for objects of trusted
    peers, as in PyTorch). object_list must have world-size items."""
    g = _group_for("all_gather_object", group)
    if not isinstance(object_list, list) or len(object_list) != g.size:
        raise _errors.ValueError(
            f"[all_gather_object] expected object_list to be a list of "
            f"{g.size} items, got {object_list!r}"
        )
    data = np.frombuffer(bytearray(pickle.dumps(obj)), dtype=np.uint8)
    sizes = np.empty(g.size, dtype=np.int64)
    wait([g.comm.Iallgather(np.array([data.size], dtype=np.int64), sizes)], "all_gather_object")
    gathered = np.empty(int(sizes.sum()), dtype=np.uint8)
    wait([g.comm.Iallgatherv(data, [gathered, sizes])], "all_gather_object")
    ends = np.cumsum(sizes)
    for i, end in enumerate(ends):
        object_list[i] = pickle.loads(gathered[end - sizes[i] : end].tobytes())


def broadcast_object_list(object_list: list[Any], src: int = 0, group: None = None) -> None:
    """The items of rank `src`'s object_list replace those of every rank's (pickled; the
    lists must have the same length)."""
    g = _group_for("broadcast_object_list", group)
    _check_src(src, "broadcast_object_list")
    if not isinstance(object_list, list):
        raise _errors.TypeError(
            f"[broadcast_object_list] expected a list, got {type(object_list).__name__}"
        )
    data = (
        np.frombuffer(bytearray(pickle.dumps(object_list)), dtype=np.uint8)
        if g.rank == src
        else None
    )
    size = np.array([0 if data is None else data.size], dtype=np.int64)
    wait([g.comm.Ibcast(size, root=src)], "broadcast_object_list")
    if data is None:
        data = np.empty(int(size[0]), dtype=np.uint8)
    wait([g.comm.Ibcast(data, root=src)], "broadcast_object_list")
    received = pickle.loads(data.tobytes())
    if len(received) != len(object_list):
        raise _errors.ValueError(
            f"[broadcast_object_list] rank {src} sent {len(received)} "
            f"items, this rank's list has {len(object_list)}"
        )
    object_list[:] = received
