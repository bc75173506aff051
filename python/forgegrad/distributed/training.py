"""What ``fit`` does differently when it runs in a process group of 2 ranks or more.

- The model trains wrapped in DistributedDataParallel (every rank starts from rank 0's
  weights; gradients are averaged in backward), so every rank takes the same steps.
- Data given as arrays or a Dataset is sharded with a DistributedSampler (the training
  shards reshuffled each epoch, with one seed for all ranks); ``batch_size`` is per rank,
  as in PyTorch, so a step sees world size x batch_size samples. A DataLoader is used as
  given: give it ``sampler=DistributedSampler(dataset)``, or every rank sees every sample.
- Each epoch's logged values are averaged over the ranks (weighted by their samples), so
  every rank logs the same numbers, and callbacks (EarlyStopping, schedulers) decide alike;
  the decision to stop is rank 0's, sent to all.
- Only rank 0 shows a progress bar and prints; only rank 0 writes checkpoints
  (ModelCheckpoint), and the others wait for the file to be written.
"""

import numpy as np

from ..creation import rand
from .collectives import all_gather_object, broadcast_object_list
from .ddp import DistributedDataParallel
from .process_group import barrier, is_initialized, get_world_size
from .sampler import DistributedSampler


def active():
    """Whether fit runs distributed: a process group of 2 ranks or more is up."""
    return is_initialized() and get_world_size() > 1


def sampler_for(dataset, shuffle, seed):
    """A DistributedSampler over `dataset`; its seed is rank 0's (drawn from forgegrad's
    generator when `seed` is None, as DataLoader's is)."""
    if seed is None:
        drawn = [int(rand(1).numpy()[0] * (1 << 24))]
        broadcast_object_list(drawn, 0)
        seed = drawn[0]
    return DistributedSampler(dataset, shuffle=shuffle, seed=seed)


def set_epoch(loader, epoch) -> None:
    """Give a loader's sampler the epoch, when it takes one (DistributedSampler does)."""
    set_sampler_epoch = getattr(getattr(loader, "sampler", None), "set_epoch", None)
    if callable(set_sampler_epoch):
        set_sampler_epoch(epoch)


def wrap(model):
    """``model`` in a DistributedDataParallel (as it is when it is one already)."""
    return model if isinstance(model, DistributedDataParallel) else DistributedDataParallel(model)


def unwrap(model):
    """The module inside a DistributedDataParallel, or ``model`` itself."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def averaged(logs, samples, elapsed):
    """(logs averaged over the ranks weighted by samples, all ranks' samples, the longest
    elapsed time); the same numbers on every rank, computed from one gathered list."""
    everyone = [None] * get_world_size()
    all_gather_object(everyone, (samples, logs, elapsed))
    counts = np.array([n for n, _, _ in everyone], dtype=np.float64)
    total = counts.sum()
    averages = {
        key: float(
            sum(n * rank_logs[key] for n, (_, rank_logs, _) in zip(counts, everyone)) / total
        )
        for key in logs
    }
    return averages, int(total), max(t for _, _, t in everyone)


def agree(stop):
    """Rank 0's decision, on every rank."""
    decision = [bool(stop)]
    broadcast_object_list(decision, 0)
    return decision[0]


def checkpoint_written() -> None:
    """After rank 0 saved a checkpoint: the others wait until the file is there."""
    if active():
        barrier()
