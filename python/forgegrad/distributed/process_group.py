"""The process group: one per process, over MPI (mpi4py) and, for GPU tensors, NCCL.

MPI starts the processes (``mpiexec -n 4 python train.py``) and gives each its rank and the
world size; MPI also carries the collectives between CPU tensors, and bootstraps NCCL as
llm.c does (rank 0 makes NCCL's unique id, MPI broadcasts it, every rank joins with it).
mpi4py is imported on ``init_process_group`` only, so ``import forgegrad`` never starts MPI.
"""

import datetime
import importlib.util
import os
import sys

from .. import _C, _errors
from . import faults

__all__ = [
    "init_process_group",
    "destroy_process_group",
    "is_initialized",
    "is_available",
    "get_rank",
    "get_world_size",
    "get_backend",
    "barrier",
]

_BACKENDS = ("auto", "mpi", "nccl")
DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # PyTorch's default


class _Group:
    """What init_process_group set up: the MPI communicator (a duplicate of COMM_WORLD, so
    that forgegrad's messages never mix with the program's own), and the NCCL communicator
    for GPU tensors when the group has one."""

    def __init__(self, mpi, comm, backend, timeout, nccl) -> None:
        self.MPI, self.comm, self.backend = mpi, comm, backend
        self.timeout, self.nccl = timeout, nccl
        self.rank, self.size = comm.Get_rank(), comm.Get_size()


_group: _Group | None = None


def is_available() -> bool:
    """Whether mpi4py can be imported (``pip install "forgegrad[distributed]"``)."""
    return importlib.util.find_spec("mpi4py") is not None


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            "[init_process_group] forgegrad.distributed needs mpi4py and an MPI "
            'runtime: pip install "forgegrad[distributed]"'
        ) from error
    return MPI


def _nccl_library():
    """The NCCL library the nvidia-nccl-cu12 wheel installs, else the loader's search."""
    spec = importlib.util.find_spec("nvidia.nccl") if importlib.util.find_spec("nvidia") else None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "lib", "libnccl.so.2")
        if os.path.exists(path):
            return path
    return "libnccl.so.2"


def _local_rank(MPI, comm):
    """This process's rank among the ranks on its machine (which GPU it takes)."""
    local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    try:
        return local.Get_rank()
    finally:
        local.Free()


def _join_nccl(MPI, comm):
    """An NCCL communicator over the same ranks, on GPU (local rank) % (GPUs here)."""
    _C._nccl_load(_nccl_library())
    unique_id = _C._nccl_unique_id() if comm.Get_rank() == 0 else None
    unique_id = comm.bcast(unique_id, root=0)
    device = _local_rank(MPI, comm) % _C.cuda_device_count()
    return _C._NcclCommunicator(unique_id, comm.Get_size(), comm.Get_rank(), device)


def _nccl_usable():
    return _C.cuda_compiled and _C.cuda_device_count() > 0


def init_process_group(
    backend: str = "auto", timeout: datetime.timedelta | float | None = None
) -> None:
    """Join this process to the group of processes ``mpiexec`` started (rank and world size
    come from MPI; a process started without ``mpiexec`` is a group of one).

    backend: ``"mpi"``: every collective through MPI, CPU tensors only; ``"nccl"``: GPU
    tensors through NCCL (needs a CUDA build, a GPU and ``pip install nvidia-nccl-cu12``;
    each rank takes GPU local_rank % device_count), CPU tensors through MPI; ``"auto"``:
    NCCL as well when this build has CUDA and the machine a GPU and NCCL loads, else MPI.
    timeout: how long a collective waits for the other ranks before it raises (a
    ``datetime.timedelta`` or seconds; default 30 minutes).

    Faults: from here on an exception that nothing catches, on any rank, makes that rank
    print it and call MPI_Abort, which ends every rank of the job (``faults.py``), instead of
    leaving the others waiting in their next collective forever."""
    global _group
    if _group is not None:
        raise RuntimeError(
            "[init_process_group] the process group is already initialized; "
            "call destroy_process_group() first"
        )
    if backend not in _BACKENDS:
        raise _errors.ValueError(
            f"[init_process_group] backend must be one of {_BACKENDS}, got {backend!r}"
        )
    timeout = _seconds(DEFAULT_TIMEOUT if timeout is None else timeout)
    if backend == "nccl" and not _nccl_usable():
        raise RuntimeError(
            "[init_process_group] backend='nccl' needs a GPU and a forgegrad "
            "built with CUDA; "
            + ("no GPU was found" if _C.cuda_compiled else "this build has no CUDA")
        )
    MPI = _import_mpi()
    comm = MPI.COMM_WORLD.Dup()
    nccl = None
    if backend == "nccl" or (backend == "auto" and _nccl_usable()):
        try:
            nccl = _join_nccl(MPI, comm)
        except RuntimeError:
            if backend == "nccl":
                comm.Free()
                raise
    _group = _Group(MPI, comm, "nccl" if nccl is not None else "mpi", timeout, nccl)
    faults.install(MPI, _group.rank, _group.size)


def _seconds(timeout):
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise _errors.ValueError(
            "[init_process_group] timeout must be a positive timedelta or "
            f"number of seconds, got {timeout!r}"
        )
    return float(timeout)


def group(op):
    """The process group, or RuntimeError naming `op` when there is none."""
    if _group is None:
        raise RuntimeError(
            f"[{op}] the default process group has not been initialized; call "
            "forgegrad.distributed.init_process_group() first (and start the "
            "processes with mpiexec)"
        )
    return _group


def is_initialized() -> bool:
    """Whether init_process_group has run (and destroy_process_group not since)."""
    return _group is not None


def get_rank() -> int:
    """This process's rank, 0 .. world size - 1."""
    return group("get_rank").rank


def get_world_size() -> int:
    """The number of processes in the group."""
    return group("get_world_size").size


def get_backend() -> str:
    """``"nccl"`` when GPU tensors go through NCCL, else ``"mpi"``."""
    return group("get_backend").backend


def barrier() -> None:
    """Wait until every rank has called barrier (and, with NCCL, until this GPU's queued
    work is done)."""
    g = group("barrier")
    if g.nccl is not None:
        _C._cuda_synchronize(g.nccl.device)
    from .collectives import wait  # a timed wait, as every collective's

    wait([g.comm.Ibarrier()], "barrier")


def destroy_process_group() -> None:
    """Leave the group: its communicators are freed and the fault handler removed; MPI itself
    stays up until the process ends (mpi4py finalizes it then)."""
    global _group
    g = group("destroy_process_group")
    faults.uninstall()
    _group = None
    g.nccl = None
    g.comm.Free()


def abort_job() -> None:
    """End every rank of the job now (MPI_Abort; mpiexec exits non-zero), for a rank that
    cannot go on and must not leave the others waiting."""
    g = group("abort_job")
    sys.stderr.flush()
    g.MPI.COMM_WORLD.Abort(1)


def launched_size():
    """The number of processes mpiexec started, from the launcher's environment (Open MPI,
    MPICH, Intel MPI), without starting MPI; 1 when not started by a launcher."""
    for variable in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS"):
        value = os.environ.get(variable, "")
        if value.isdigit():
            return int(value)
    return 1


def gpu_index():
    """The GPU this rank's NCCL communicator uses, or None without one."""
    return None if _group is None or _group.nccl is None else _group.nccl.device


def rank_zero_only():
    """True on rank 0 and when there is no process group (fit logs and saves there)."""
    return _group is None or _group.rank == 0
