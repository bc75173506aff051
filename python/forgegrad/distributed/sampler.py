"""DistributedSampler: each rank's share of a dataset's indices, for DataLoader(sampler=...).

    sampler = DistributedSampler(dataset)                 # rank and world from the group
    loader = DataLoader(dataset, batch_size=32, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                          # a new shuffle each epoch
        for xb, yb in loader: ...

Every rank draws the same permutation (``numpy.random.default_rng([seed, epoch])``) and
takes every num_replicas-th index of it, starting at its rank, so the shards are disjoint
and together cover the dataset once. Shards are of equal length (ranks must run the same
number of steps, or the collectives of the last ones would wait for ever): without
drop_last the permutation is padded by repeating its first indices, so a few samples are
seen twice per epoch; with drop_last its tail is dropped instead. As PyTorch's.
"""

from collections.abc import Iterator, Sized
import math

import numpy as np

from .. import _errors
from .._checks import is_int
from .process_group import get_rank, get_world_size

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """The indices of this process's shard of a dataset: each of ``num_replicas``
    processes gets every num_replicas-th index of the (shuffled, padded to a multiple)
    order, so together they see the dataset once per epoch.

    Args:
        dataset: anything with ``__len__``.
        num_replicas: the number of processes (the group's size by default).
        rank: this process's rank (the group's by default).
        shuffle: a new order each epoch (call set_epoch), the same on every rank.
        seed: the shuffle's seed, the same on every rank.
        drop_last: drop the tail instead of padding it with repeated indices.

    Examples:
        >>> from forgegrad.distributed import DistributedSampler
        >>> list(DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False))
        [1, 4, 7, 0]
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if not hasattr(dataset, "__len__"):
            raise _errors.TypeError(
                "[DistributedSampler] expected a dataset with __len__, got "
                f"{type(dataset).__name__}"
            )
        num_replicas = get_world_size() if num_replicas is None else num_replicas
        rank = get_rank() if rank is None else rank
        if not is_int(num_replicas) or num_replicas < 1:
            raise _errors.ValueError(
                f"[DistributedSampler] num_replicas must be an int >= 1, got {num_replicas!r}"
            )
        if not is_int(rank) or not 0 <= rank < num_replicas:
            raise _errors.ValueError(
                f"[DistributedSampler] invalid rank {rank!r}, rank should be "
                f"in the interval [0, {num_replicas - 1}]"
            )
        if not is_int(seed) or seed < 0:
            raise _errors.ValueError(f"[DistributedSampler] seed must be an int >= 0, got {seed!r}")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        order = (
            np.random.default_rng([self.seed, self.epoch]).permutation(n)
            if self.shuffle
            else np.arange(n)
        )
        if self.total_size > n:  # pad with the first indices, as many times as it takes
            order = np.resize(order, self.total_size)
        order = order[: self.total_size]
        return iter(order[self.rank : self.total_size : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose shuffle the next iteration uses (call it before each epoch, with
        the same value on every rank)."""
        if not is_int(epoch) or epoch < 0:
            raise _errors.ValueError(
                f"[DistributedSampler] epoch must be an int >= 0, got {epoch!r}"
            )
        self.epoch = int(epoch)

    def __repr__(self) -> str:
        return (
            f"DistributedSampler(num_replicas={self.num_replicas}, rank={self.rank}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})"
        )
