"""``DataLoader``: a dataset read in batches of forgegrad Tensors, with torch's arguments and
semantics.

    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, num_workers=2)
    for xb, yb in loader:      # forgegrad Tensors: float32 (64, ...) and int64 (64,)
        ...

The index sampler (``batch_sampler``, or ``BatchSampler(sampler, batch_size, drop_last)``,
the sampler being ``RandomSampler`` with ``shuffle=True`` and ``SequentialSampler``
otherwise) says which samples make each batch; ``collate_fn`` (``default_collate``) stacks
them. ``num_workers > 0`` reads batches in that many worker processes, ``prefetch_factor``
batches ahead each, and hands them out in the sampler's order: the batches are exactly those
of ``num_workers=0``. A ``TensorDataset`` is read a whole batch at a time (one
fancy-indexing call per column, handed to ``from_numpy`` without another copy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
import builtins
import itertools
import multiprocessing
import numbers
import queue
import weakref

from .. import _C, _errors
from .._checks import as_device, check_int
from . import _worker
from ._fetch import fetcher
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import (
    BatchSampler,
    InfiniteConstantSampler,
    RandomSampler,
    SequentialSampler,
    check_bool,
    check_generator,
    draw_seed,
)

if TYPE_CHECKING:
    from ..random import Generator

__all__ = ["DataLoader"]


def _check_options(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last):
    """torch's rules for which of these go together."""
    if isinstance(dataset, IterableDataset):
        for name, value in (
            ("shuffle", shuffle),
            ("sampler", sampler),
            ("batch_sampler", batch_sampler),
        ):
            if value not in (None, False):
                raise _errors.ValueError(
                    f"[DataLoader] an IterableDataset decides its own "
                    f"order: expected no {name}, got {name}={value!r}"
                )
    elif not (
        hasattr(dataset, "__getitem__")
        and (hasattr(dataset, "__len__") or sampler is not None or batch_sampler is not None)
    ):
        raise _errors.TypeError(
            f"[DataLoader] expected a dataset with __len__ and __getitem__ "
            f"(or an IterableDataset), got {type(dataset).__name__}"
        )
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise _errors.ValueError(
                "[DataLoader] batch_sampler is mutually exclusive with "
                "batch_size, shuffle, sampler and drop_last"
            )
    elif batch_size is None and drop_last:
        raise _errors.ValueError(
            "[DataLoader] batch_size=None turns batching off and is "
            "mutually exclusive with drop_last"
        )
    if sampler is not None and shuffle:
        raise _errors.ValueError("[DataLoader] sampler is mutually exclusive with shuffle")


def _check_workers(num_workers, prefetch_factor, persistent_workers, timeout):
    num_workers = check_int(num_workers, "num_workers", 0, "DataLoader")
    if prefetch_factor is not None:
        if num_workers == 0:
            raise _errors.ValueError(
                "[DataLoader] prefetch_factor needs num_workers > 0 "
                "(the main process reads one batch at a time)"
            )
        check_int(prefetch_factor, "prefetch_factor", 1, "DataLoader")
    if persistent_workers and num_workers == 0:
        raise _errors.ValueError("[DataLoader] persistent_workers needs num_workers > 0")
    if not isinstance(timeout, numbers.Real) or isinstance(timeout, builtins.bool):
        raise _errors.TypeError(
            f"[DataLoader] expected a number of seconds as timeout, got {timeout!r}"
        )
    if timeout < 0:
        raise _errors.ValueError(f"[DataLoader] expected timeout >= 0, got {timeout}")
    return num_workers


def _context(context):
    if context is None:
        return multiprocessing.get_context()
    if isinstance(context, str):
        return multiprocessing.get_context(context)  # ValueError names the valid methods
    return context


def _wait_for_feeder_thread(q) -> None:
    """Lets the thread that writes ``q``'s items into its pipe finish, for at most a few
    seconds (it may be stuck on a full pipe no one reads): the next loader forks its workers,
    and a thread that is still exiting at a fork can leave the child's allocator locked. glibc's
    malloc guards against that, AddressSanitizer's does not (the likely cause of a CI
    run that hung in that stage)."""
    thread = getattr(q, "_thread", None)  # multiprocessing's own; None if nothing was put
    if thread is not None:
        thread.join(timeout=_worker.STATUS_CHECK_INTERVAL)


class DataLoader:
    """Iterates over ``dataset`` in batches; each ``iter()`` is one epoch.

    Arguments as torch's: ``batch_size`` (None: no batching, samples one at a time through
    ``default_convert``), ``shuffle``, ``sampler``, ``batch_sampler``, ``num_workers``,
    ``collate_fn``, ``pin_memory`` (accepted; batches are already where a copy to a GPU
    starts from), ``drop_last``, ``timeout`` (seconds to wait for a worker's batch; 0:
    forever), ``worker_init_fn(worker_id)``, ``multiprocessing_context`` (default: the
    platform's), ``generator`` (for the shuffle and the workers' seeds),
    ``prefetch_factor`` (batches each worker reads ahead; 2), ``persistent_workers`` (keep
    the workers from one epoch to the next).

    Workers seed themselves as torch's do: from a base seed drawn from ``generator`` (None:
    the global stream) when they start, worker ``i`` seeds Python's ``random`` and
    forgegrad's global stream with ``base + i`` and numpy's global RNG with a hash of both.
    An exception in a worker is raised again here, its type kept, its message naming the
    worker and carrying the original traceback.

    forgegrad's own keywords: ``seed`` fixes the shuffle (``shuffle=True``: epoch ``k`` is
    ``numpy.random.default_rng([seed, k])``'s permutation; without it the seed comes from
    ``generator`` or ``forgegrad.manual_seed``'s stream when the loader is built);
    ``device``: batches are moved there. ``epoch`` is the number of the next epoch
    (``set_epoch`` repositions it, to resume a run's sequence of shuffles).
    """

    def __init__(
        self,
        dataset: Dataset | Sequence[Any],
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Iterable[Any] | None = None,
        batch_sampler: Iterable[list[Any]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], object] | None = None,
        multiprocessing_context: str | multiprocessing.context.BaseContext | None = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        seed: int | None = None,
        device: _C.device | str | None = None,
    ) -> None:
        if batch_size is not None:
            batch_size = check_int(batch_size, "batch_size", 1, "DataLoader")
        drop_last = check_bool(drop_last, "drop_last", "DataLoader")
        _check_options(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last)
        self.num_workers = _check_workers(num_workers, prefetch_factor, persistent_workers, timeout)
        for name, fn in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn)):
            if fn is not None and not callable(fn):
                raise _errors.TypeError(
                    f"[DataLoader] expected {name} to be callable, got {type(fn).__name__}"
                )
        self.dataset = dataset
        self.shuffle = builtins.bool(shuffle)
        self.generator = check_generator(generator, "DataLoader")
        self.device = as_device(device, "DataLoader")
        self.pin_memory, self.pin_memory_device = builtins.bool(pin_memory), pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = (
            prefetch_factor if prefetch_factor is not None else 2 if self.num_workers else None
        )
        self.persistent_workers = builtins.bool(persistent_workers)
        self._iterable = isinstance(dataset, IterableDataset)
        if seed is not None:
            check_int(seed, "seed", 0, "DataLoader")
        self._owns_shuffle = sampler is None and self.shuffle
        if sampler is None:
            sampler = (
                InfiniteConstantSampler()
                if self._iterable
                else RandomSampler(dataset, generator=generator, seed=seed)
                if self.shuffle
                else SequentialSampler(dataset)
            )
        if batch_sampler is not None:
            batch_size = None  # the batch sampler decides, as torch records it
        elif batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.collate_fn = (
            collate_fn
            if collate_fn is not None
            else default_collate
            if self._batching
            else default_convert
        )
        self.epoch = 0
        self._persistent_iterator: _WorkerIter | None = None

    @property
    def _batching(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._batching else self.sampler

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` epoch number ``epoch`` (its shuffle order included)."""
        self.epoch = check_int(epoch, "epoch", 0, "DataLoader")

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError when the stream's length is unknown, as torch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)

    def __iter__(self) -> Iterator[Any]:
        # The epoch's order is fixed here, when iter() is called, not at the first next().
        if self._owns_shuffle:  # then the sampler is the RandomSampler made here
            self.sampler.set_epoch(self.epoch)  # type: ignore[union-attr]
        self.epoch += 1
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return _WorkerIter(self)
        if self._persistent_iterator is None:
            self._persistent_iterator = _WorkerIter(self)
        else:
            self._persistent_iterator.restart(self)
        return self._persistent_iterator

    def _first_batch(self):
        """The first batch in dataset order, read here without workers, moving no epoch and
        drawing no shuffle: fit tries the model on it before training."""
        if self._iterable:
            index = [None] * (self.batch_size or 1)
        else:
            if len(self.dataset) == 0:
                raise _errors.ValueError(
                    "[DataLoader] the dataset is empty: there is no first batch"
                )
            size = self.batch_size or getattr(self.batch_sampler, "batch_size", 1)
            index = list(range(min(len(self.dataset), size))) if self._batching else 0
        fetch = fetcher(self.dataset, self._batching, self.collate_fn, False)
        try:
            return moved(fetch.fetch(index), self.device)
        except StopIteration:
            raise _errors.ValueError(
                "[DataLoader] the dataset is empty: there is no first batch"
            ) from None

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, "
            f"num_workers={self.num_workers})"
        )


def moved(batch, device):
    """``batch``'s Tensors, at any depth, on ``device`` (None: where they are)."""
    if device is None:
        return batch
    if isinstance(batch, _C.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: moved(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        values = [moved(v, device) for v in batch]
        return type(batch)(*values) if hasattr(batch, "_fields") else type(batch)(values)
    return batch


class _SingleProcessIter:
    """``num_workers=0``: each batch read in the main process when it is asked for."""

    def __init__(self, loader) -> None:
        self._loader = loader
        self._indices = iter(loader._index_sampler)
        self._fetch = fetcher(loader.dataset, loader._batching, loader.collate_fn, loader.drop_last)

    def __iter__(self):
        return self

    def __next__(self):
        return moved(self._fetch.fetch(next(self._indices)), self._loader.device)

    def __len__(self) -> int:
        return len(self._loader)


class _WorkerIter:
    """``num_workers > 0``: worker processes read the batches, ``prefetch_factor`` tasks
    each in flight; the results are handed out in task order, whichever worker finishes
    first. Tasks go round-robin to the workers, so with an IterableDataset batch ``k`` comes
    from worker ``k % num_workers`` (until a worker's share is spent)."""

    def __init__(self, loader) -> None:
        # A weak reference: a persistent loader holds its iterator, and a cycle between them
        # would leave the workers to the garbage collector, which closes the queues first.
        self._loader = weakref.ref(loader)
        self._device, self._timeout = loader.device, loader.timeout
        self._persistent = loader.persistent_workers
        n = loader.num_workers
        context = _context(loader.multiprocessing_context)
        seed_high, seed_low = draw_seed(loader.generator, "DataLoader")
        base_seed = seed_high << 24 | seed_low
        self._results = context.Queue()
        self._done = context.Event()
        self._index_queues, self._workers = [], []
        self._shut_down = False
        for worker_id in range(n):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()  # never block exit on tasks no one will read
            worker = context.Process(
                target=_worker.worker_loop,
                daemon=True,
                args=(
                    loader.dataset,
                    index_queue,
                    self._results,
                    self._done,
                    loader._batching,
                    loader.collate_fn,
                    loader.drop_last,
                    base_seed,
                    loader.worker_init_fn,
                    worker_id,
                    n,
                ),
            )
            worker.start()
            self._index_queues.append(index_queue)
            self._workers.append(worker)
        self._start_epoch(loader)

    def _start_epoch(self, loader) -> None:
        # Taken now: the iterator holds its loader weakly, and may outlive it.
        self._length: int | None
        try:
            self._length = len(loader)
        except TypeError as error:  # a stream without a length: len() raises it afresh
            self._length, self._no_length = None, str(error)
        self._indices = iter(loader._index_sampler)
        self._sent = self._received = 0  # task ids
        self._pending: dict[int, list[Any]] = {}  # task id -> [worker id] or [worker id, result]
        self._active = [True] * len(self._workers)
        self._next_worker = itertools.cycle(range(len(self._workers)))
        for _ in range(loader.prefetch_factor * len(self._workers)):
            self._send_task()

    def restart(self, loader) -> None:
        """A new epoch on the same (persistent) workers: each drops what is left of the last
        one; results of it still on their way are discarded."""
        for index_queue in self._index_queues:
            index_queue.put(_worker.ResumeIteration())
        waiting = len(self._workers)
        while waiting:
            task_id, _ = self._get()
            if isinstance(task_id, _worker.ResumeIteration):
                waiting -= 1
        self._start_epoch(loader)

    def __iter__(self):
        return self

    def __len__(self) -> int:
        if self._length is None:
            raise _errors.TypeError(self._no_length)
        return self._length

    def _send_task(self) -> None:
        try:
            index = next(self._indices)
        except StopIteration:
            return
        for _ in range(len(self._workers)):
            worker_id = next(self._next_worker)
            if self._active[worker_id]:
                break
        else:
            return
        self._index_queues[worker_id].put((self._sent, index))
        self._pending[self._sent] = [worker_id]
        self._sent += 1

    def __next__(self):
        while True:
            # Skip the tasks of workers whose stream is spent: they will never answer.
            while self._received < self._sent:
                entry = self._pending[self._received]
                if len(entry) == 2 or self._active[entry[0]]:
                    break
                del self._pending[self._received]
                self._received += 1
            else:
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            entry = self._pending[self._received]
            if len(entry) == 2:  # arrived earlier, out of order
                del self._pending[self._received]
                return self._hand_out(entry[1])
            task_id, result = self._get()
            if isinstance(result, _worker.IterableEnded):
                self._active[result.worker_id] = False
                self._send_task()
                continue
            if task_id != self._received:
                self._pending[task_id].append(result)
                continue
            del self._pending[task_id]
            return self._hand_out(result)

    def _hand_out(self, result):
        self._received += 1
        self._send_task()
        if isinstance(result, _worker.ExceptionWrapper):
            if not self._persistent:
                self._shutdown()
            result.reraise()
        return moved(result, self._device)

    def _get(self):
        """The next (task id, result) from any worker; raises if one died or, with a
        timeout, none answered in time."""
        timeout = self._timeout
        while True:
            try:
                return self._results.get(timeout=timeout or _worker.STATUS_CHECK_INTERVAL)
            except queue.Empty:
                dead = [w.pid for w in self._workers if not w.is_alive()]
                if dead:
                    self._shutdown()
                    raise RuntimeError(
                        f"[DataLoader] worker process(es) {dead} exited unexpectedly"
                    ) from None
                if timeout:
                    self._shutdown()
                    raise RuntimeError(
                        f"[DataLoader] timed out after {timeout} s waiting for "
                        "a batch from the workers"
                    ) from None

    def _shutdown(self) -> None:
        """End the workers (asked first, then terminated if they do not go) and close the
        queues; safe to call twice and from __del__."""
        if self._shut_down:
            return
        self._shut_down = True
        self._done.set()
        for index_queue in self._index_queues:
            index_queue.put(None)
        for worker in self._workers:
            worker.join(timeout=_worker.STATUS_CHECK_INTERVAL)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        for q in (*self._index_queues, self._results):
            q.cancel_join_thread()
            q.close()
        for q in self._index_queues:
            _wait_for_feeder_thread(q)
        loader = self._loader()
        if loader is not None and loader._persistent_iterator is self:
            loader._persistent_iterator = None

    def __del__(self) -> None:
        if hasattr(self, "_shut_down"):
            self._shutdown()
