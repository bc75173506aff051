"""What runs inside a DataLoader worker process: seeding, ``get_worker_info``, the loop that
turns index lists into batches, and the wrapper that carries a worker's exception (its type
and traceback) back to the main process. The protocol is torch's: the main process puts
``(task id, index)`` on the worker's index queue, the worker puts ``(task id, batch)`` on
the shared result queue; ``None`` ends the worker, ``ResumeIteration`` starts a new epoch
(persistent workers)."""

import dataclasses
import os
import queue
import random
import signal
import sys
import traceback
from typing import Any

import numpy as np

from .. import _C
from ._fetch import IterableFetcher, fetcher

# How often a waiting worker checks that the main process is still there, and how often the
# main process checks that its workers are (seconds).
STATUS_CHECK_INTERVAL = 5.0


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """Inside a worker: its ``id`` (0 .. num_workers - 1), ``num_workers``, the ``seed`` its
    random streams started from, and its copy of the ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's ``WorkerInfo`` inside a DataLoader worker process, None in the main
    process: an IterableDataset's ``__iter__`` shards its stream with it."""
    return _worker_info


class ResumeIteration:
    """Main -> persistent worker: a new epoch starts (an IterableDataset's stream restarts)."""


@dataclasses.dataclass(frozen=True)
class IterableEnded:
    """Worker -> main: this worker's share of the IterableDataset is spent."""

    worker_id: int


class ExceptionWrapper:
    """An exception raised in a worker, as its type and formatted traceback (a traceback
    itself cannot cross processes); ``reraise`` raises it again in the main process."""

    def __init__(self, where) -> None:
        exc_type, exc, tb = sys.exc_info()
        self.exc_type = exc_type
        self.message = "".join(traceback.format_exception(exc_type, exc, tb))
        self.where = where

    def reraise(self):
        message = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.message}"
        if self.exc_type is KeyError:  # KeyError would repr() the text into one long line
            message = _KeyErrorMessage(message)
        try:
            error = self.exc_type(message)
        except Exception:  # a type that cannot be built from a message alone
            raise RuntimeError(message) from None
        raise error


class _KeyErrorMessage(str):
    def __repr__(self) -> str:
        return str(self)


def generate_state(base_seed, worker_id):
    """The 4 x 32-bit state worker `worker_id` seeds numpy's global RNG with: torch's
    derivation (a SeedSequence-style hash of the worker id and the 64-bit base seed), so a
    worker's numpy numbers differ from every other worker's and from the base seed's."""
    init_a, mult_a, init_b, mult_b = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
    mix_mult_l, mix_mult_r, xshift, mask32 = 0xCA01F9DD, 0x4973F715, 16, 0xFFFFFFFF
    entropy = [worker_id, base_seed & mask32, base_seed >> 32, 0]
    hash_const_a = init_a

    def hash_value(value):
        nonlocal hash_const_a
        value = (value ^ hash_const_a) & mask32
        hash_const_a = (hash_const_a * mult_a) & mask32
        value = (value * hash_const_a) & mask32
        return (value ^ (value >> xshift)) & mask32

    def mix(x, y):
        result = ((mix_mult_l * x) & mask32) - ((mix_mult_r * y) & mask32)
        result &= mask32
        return (result ^ (result >> xshift)) & mask32

    pool = [hash_value(e) for e in entropy]
    for src in range(4):  # every word mixes into every other, so late bits reach early ones
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hash_value(pool[src]))
    hash_const_b, state = init_b, []
    for value in pool:
        value = (value ^ hash_const_b) & mask32
        hash_const_b = (hash_const_b * mult_b) & mask32
        value = (value * hash_const_b) & mask32
        state.append((value ^ (value >> xshift)) & mask32)
    return state


def _seed_worker(base_seed, worker_id):
    """As torch: Python's random and forgegrad's global stream from ``base_seed +
    worker_id``, numpy's global RNG from ``generate_state``. Returns the seed."""
    seed = base_seed + worker_id
    random.seed(seed)
    _C.manual_seed(seed)
    np.random.seed(generate_state(base_seed, worker_id))
    return seed


def worker_loop(
    dataset,
    index_queue,
    result_queue,
    done_event,
    batching,
    collate_fn,
    drop_last,
    base_seed,
    init_fn,
    worker_id,
    num_workers,
) -> None:
    global _worker_info
    parent = os.getppid()
    # Ctrl-C reaches the whole process group: the main process handles it and ends us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _C.set_num_threads(1)  # the workers share the cores with each other and the training
    seed = _seed_worker(base_seed, worker_id)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    where = f"in DataLoader worker process {worker_id}"
    init_error: ExceptionWrapper | None = None
    fetch: Any = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetch = fetcher(dataset, batching, collate_fn, drop_last)
    except Exception:
        init_error = ExceptionWrapper(where)
    ended = False
    while os.getppid() == parent:  # a worker whose main process died exits on its own
        try:
            task = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
        except queue.Empty:
            continue
        if task is None:
            break
        if isinstance(task, ResumeIteration):
            result_queue.put((task, None))
            ended = False
            try:
                fetch = fetcher(dataset, batching, collate_fn, drop_last)
            except Exception:
                init_error = ExceptionWrapper(where)
            continue
        if done_event.is_set() or ended:
            continue  # shutting down, or nothing left to read: skip what is still queued
        task_id, index = task
        batch: object  # the batch, an IterableEnded, or an ExceptionWrapper
        if init_error is not None:
            batch, init_error = init_error, None
        else:
            try:
                batch = fetch.fetch(index)
            except Exception as error:
                if isinstance(error, StopIteration) and isinstance(fetch, IterableFetcher):
                    batch, ended = IterableEnded(worker_id), True
                else:
                    batch = ExceptionWrapper(where)
        result_queue.put((task_id, batch))
        del batch, task, index
    if done_event.is_set():  # the main process reads no more: do not wait to flush to it
        result_queue.cancel_join_thread()
        result_queue.close()
