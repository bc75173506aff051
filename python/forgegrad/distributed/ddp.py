"""DistributedDataParallel: one model per process, gradients averaged across processes.

    ddp = DistributedDataParallel(model)      # every rank starts from rank 0's weights
    loss_fn(ddp(x_shard), y_shard).backward()  # gradients averaged over ranks in backward
    optimizer.step()                           # the same step on every rank

Each rank runs forward and backward on its own shard of the batch. The gradients are
packed into buckets (``bucket_cap_mb`` each, parameters in reverse registration order,
which is roughly the order backward produces them) and a bucket's all-reduce starts as soon
as its last gradient is ready (a post-accumulate-grad hook, called by the C++ engine), as a
non-blocking MPI_Iallreduce (or an NCCL all-reduce on the GPU's stream), so communication
overlaps the rest of backward. Buckets start in the same order on every rank. When the
last bucket has started, the hook waits for them all and writes the averages into ``.grad``:
when ``backward()`` returns, the gradients are averaged and ``optimizer.step()`` can run.

Parameters that get no gradient: with ``find_unused_parameters=False`` (the default, and
the cheaper) every parameter that requires grad must get a gradient in every backward;
otherwise its bucket never completes, its gradients are never averaged (the optimizer step
that follows uses this rank's own), and the next forward raises a RuntimeError naming the
parameters that got none. With ``find_unused_parameters=True`` each forward walks the
autograd graph from the outputs to find the parameters it cannot reach, and counts them
ready at once, with zeros in their bucket; a parameter no rank used keeps ``.grad`` as it
was (None after zero_grad), one used on some ranks gets the average over all ranks (zeros
from the others), as in PyTorch.

``state_dict()`` of the wrapper has PyTorch's ``"module."`` prefix on every key (the model
is its submodule ``module``): save ``ddp.module.state_dict()`` to get a checkpoint that
loads into the plain model, as PyTorch users do.
"""

from collections.abc import Iterator
from typing import Any
import contextlib
import functools
import weakref

import numpy as np

from .. import _C, _errors
from ..autograd import no_grad
from ..creation import zeros
from ..nn.module import Module, Parameter
from .collectives import all_gather_object, broadcast, flat_values, wait
from .process_group import group

__all__ = ["DistributedDataParallel"]

_OP = "DistributedDataParallel"


class _Bucket:
    """Gradients of some parameters of one dtype and device, packed into one flat buffer."""

    def __init__(self, device, dtype) -> None:
        self.device, self.dtype = device, dtype
        # (parameter index, parameter, start, end) in the buffer
        self.slots: list[tuple[int, Any, int, int]] = []
        self.numel = 0
        self.ready: set[int] = set()  # indices of the parameters whose gradient is in
        self.request = None  # the MPI request of the all-reduce under way

    def add(self, index, param) -> None:
        self.slots.append((index, param, self.numel, self.numel + param.numel()))
        self.numel += param.numel()

    def allocate(self) -> None:
        self.buffer = zeros(self.numel, dtype=self.dtype, device=self.device)
        self.array = self.buffer.numpy() if self.device.type == "cpu" else None

    def full(self):
        return len(self.ready) == len(self.slots)


def _model_description(module):
    """(kind, name, shape, dtype) of every parameter and buffer, in order."""
    return [
        ("parameter", n, tuple(p.shape), str(p.dtype)) for n, p in module.named_parameters()
    ] + [("buffer", n, tuple(b.shape), str(b.dtype)) for n, b in module.named_buffers()]


def _check_same_model(module, g):
    """Every rank's model must have rank 0's parameters and buffers: same names, shapes and
    dtypes; else ValueError on every rank naming the first that differs."""
    mine = _model_description(module)
    everyone = [None] * g.size
    all_gather_object(everyone, mine)
    reference = everyone[0]
    for rank, theirs in enumerate(everyone):
        if theirs == reference:
            continue
        for ours, other in zip(reference, theirs):
            if ours == other:
                continue
            kind, name = ours[0], ours[1]
            if ours[:2] != other[:2]:
                raise _errors.ValueError(
                    f"[{_OP}] the model differs across ranks: rank 0 has "
                    f"{kind} {name!r} where rank {rank} has {other[0]} "
                    f"{other[1]!r}"
                )
            raise _errors.ValueError(
                f"[{_OP}] {kind} {name!r} has shape {ours[2]} and "
                f"{ours[3]} on rank 0 but shape {other[2]} and {other[3]} "
                f"on rank {rank}; every rank must build the same model"
            )
        longer, shorter = (reference, 0) if len(reference) > len(theirs) else (theirs, rank)
        extra = longer[min(len(reference), len(theirs))]
        raise _errors.ValueError(
            f"[{_OP}] the model differs across ranks: rank "
            f"{rank if shorter == 0 else 0} has {extra[0]} {extra[1]!r}, "
            f"which rank {shorter} lacks"
        )


def _tensors_in(value):
    """The tensors that require grad in a forward's output (nested tuples, lists, dicts)."""
    if isinstance(value, _C.Tensor):
        return [value] if value.requires_grad else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors_in(item)]
    return []


def _call_if_alive(ddp_ref, index, param) -> None:
    ddp = ddp_ref()
    if ddp is not None:
        ddp._grad_ready(index)


class DistributedDataParallel(Module):
    """Wraps `module` for data-parallel training over the process group (see the module's
    docstring). bucket_cap_mb: the size of a gradient bucket in MiB (smaller: communication
    starts earlier in backward, in more, smaller messages). broadcast_buffers: rank 0's
    buffers (BatchNorm statistics) are sent to every rank at each forward.
    find_unused_parameters: see the module docstring."""

    def __init__(
        self,
        module: Module,
        bucket_cap_mb: float = 25,
        broadcast_buffers: bool = True,
        find_unused_parameters: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise _errors.TypeError(f"[{_OP}] expected an nn.Module, got {type(module).__name__}")
        if (
            isinstance(bucket_cap_mb, bool)
            or not isinstance(bucket_cap_mb, (int, float))
            or not bucket_cap_mb > 0
        ):
            raise _errors.ValueError(
                f"[{_OP}] bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}"
            )
        g = group(_OP)
        self.module = module
        self.bucket_cap_mb = bucket_cap_mb
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        self._group = g
        self._names: list[str] = []
        self._params: list[Parameter] = []
        for name, p in module.named_parameters():
            if p.requires_grad:
                self._names.append(name)
                self._params.append(p)
        devices = {p.device for p in self._params}
        if len(devices) > 1:
            raise _errors.ValueError(
                f"[{_OP}] expected every parameter on one device, got "
                f"{sorted(str(d) for d in devices)}"
            )
        _check_same_model(module, g)
        self._broadcast(list(module.parameters()) + list(module.buffers()))
        self._buckets, self._bucket_of = self._make_buckets(bucket_cap_mb * 2**20)
        self._reset(sync=False)
        ddp_ref = weakref.ref(self)
        handles = [
            p.register_post_accumulate_grad_hook(functools.partial(_call_if_alive, ddp_ref, i))
            for i, p in enumerate(self._params)
        ]
        weakref.finalize(self, lambda: [h.remove() for h in handles])

    # ---------------------------------------------------------------- setup
    def _make_buckets(self, cap_bytes):
        """Buckets of at most cap_bytes (one parameter larger than that has its own), the
        parameters in reverse registration order, one dtype per bucket."""
        buckets, bucket_of = [], {}
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            nbytes = p.numel() * p.dtype.itemsize
            last = buckets[-1] if buckets else None
            if (
                last is None
                or last.dtype != p.dtype
                or (last.slots and (last.numel * last.dtype.itemsize + nbytes > cap_bytes))
            ):
                last = _Bucket(p.device, p.dtype)
                buckets.append(last)
            last.add(i, p)
            bucket_of[i] = last
        for bucket in buckets:
            bucket.allocate()
        return buckets, bucket_of

    def _broadcast(self, tensors) -> None:
        """Rank 0's values into every rank's tensors (all sent at once, then waited on)."""
        if self._group.size == 1 or not tensors:
            return
        with no_grad():
            works = [broadcast(t, 0, async_op=True) for t in tensors]
            for work in works:
                work.wait()

    # ---------------------------------------------------------------- one iteration
    def _reset(self, sync) -> None:
        self._sync = sync  # whether this iteration's backward averages gradients
        self._state = "idle"  # idle -> reducing (a hook ran) -> done (gradients averaged)
        self._next_bucket = 0  # buckets start in order, the same on every rank
        # find_unused_parameters: (the usage array, its MPI request)
        self._used: tuple[np.ndarray, Any] | None = None
        for bucket in self._buckets:
            bucket.ready.clear()
            bucket.request = None

    def _check_previous_iteration(self):
        if self._state != "reducing":
            return
        missing = [
            self._names[i] for b in self._buckets for i, _, _, _ in b.slots if i not in b.ready
        ]
        raise RuntimeError(
            f"[{_OP}] the last backward gave no gradient to "
            f"{', '.join(missing)}, so the gradients were not averaged across "
            "ranks. If the model does not use every parameter in every forward, "
            "pass find_unused_parameters=True (or give them requires_grad=False)"
        )

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        self._check_previous_iteration()
        recording = _C.is_grad_enabled()
        if recording:
            self._reset(sync=self.require_backward_grad_sync)
        if self.broadcast_buffers:
            self._sync_buffers()
        output = self.module(*inputs, **kwargs)
        if recording and self._sync and self.find_unused_parameters:
            self._mark_unused(output)
        return output

    def _sync_buffers(self) -> None:
        """Rank 0's buffers (BatchNorm's running statistics) into every rank's."""
        self._broadcast(list(self.module.buffers()))

    def _mark_unused(self, output) -> None:
        """Count the parameters this forward's graph cannot reach as ready (zeros), and start
        summing the ranks' usage, which says after the all-reduce which were used anywhere."""
        reached = _C._leaves_in_graph(_tensors_in(output), self._params)
        usage = np.array(reached, dtype=np.uint8)
        g = self._group
        self._used = (usage, g.comm.Iallreduce(g.MPI.IN_PLACE, usage, g.MPI.MAX))
        for i, used in enumerate(reached):
            if not used:
                self._bucket_of[i].ready.add(i)
        self._start_ready_buckets()
        if self._next_bucket == len(self._buckets):  # nothing is left for backward to give
            self._finish()

    def _grad_ready(self, index):
        """The post-accumulate-grad hook: parameter `index` has its whole gradient."""
        if not self._sync:
            return
        if self._state == "done":
            raise RuntimeError(
                f"[{_OP}] {self._names[index]} got a gradient after this "
                "iteration's gradients were averaged: a second backward needs "
                "a new forward (or run the earlier ones under no_sync())"
            )
        self._state = "reducing"
        self._bucket_of[index].ready.add(index)
        self._start_ready_buckets()
        if self._next_bucket == len(self._buckets):
            self._finish()
        else:  # MPI moves non-blocking collectives along only inside MPI calls
            self._group.MPI.Request.Testall(
                [b.request for b in self._buckets if b.request is not None]
            )

    def _start_ready_buckets(self) -> None:
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].full():
            self._start(self._buckets[self._next_bucket])
            self._next_bucket += 1

    def _start(self, bucket) -> None:
        """Pack the bucket's gradients (zeros for unused parameters) and start the sum."""
        g = self._group
        with no_grad():
            for _, param, start, end in bucket.slots:
                grad = param.grad
                if bucket.array is not None:
                    bucket.array[start:end] = 0 if grad is None else flat_values(grad)
                elif grad is None:
                    bucket.buffer[start:end].zero_()
                else:
                    _C._copy_(bucket.buffer[start:end], grad.detach().reshape(-1))
            if bucket.array is None:  # NCCL: queued on the stream, averaged there
                g.nccl.all_reduce(bucket.buffer, 4)  # ncclAvg
            else:
                bucket.request = g.comm.Iallreduce(g.MPI.IN_PLACE, bucket.array, g.MPI.SUM)

    def _finish(self) -> None:
        """Wait for every bucket, and write the averages into the parameters' .grad."""
        requests = [b.request for b in self._buckets if b.request is not None]
        if self._used is not None:
            requests.append(self._used[1])
        wait(requests, _OP)
        used_anywhere = None if self._used is None else self._used[0]
        with no_grad():
            for bucket in self._buckets:
                if bucket.array is not None:
                    bucket.array /= self._group.size
                for index, param, start, end in bucket.slots:
                    values = bucket.buffer[start:end].reshape(param.shape)
                    if param.grad is not None:
                        _C._copy_(param.grad, values)
                    elif used_anywhere is not None and used_anywhere[index]:
                        param.grad = values.clone()
        self._state = "done"

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, forward and backward leave the gradients of this rank alone (they add up
        in .grad, as without DDP); the first backward after, from a forward outside, averages
        the sum. For gradient accumulation without communication at every micro-batch."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self) -> str:
        return (
            f"world_size={self._group.size}, buckets={len(self._buckets)}, "
            f"bucket_cap_mb={self.bucket_cap_mb}, "
            f"find_unused_parameters={self.find_unused_parameters}"
        )
