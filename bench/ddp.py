"""Data-parallel training with DistributedDataParallel: samples/s on 1 and 2 ranks, and how
much of the gradient all-reduce backward hides.

    python bench/ddp.py [--repeat 5] [--json out.json]

The script starts itself under mpiexec, once with 1 rank and once with 2 (one thread per
rank; each rank trains on its own batch of the same size, so 2 ranks do twice the work per
step), on a compute-bound MLP (512-1024-1024-10) and a small CNN (two conv-BatchNorm-ReLU-
pool blocks on 1x28x28 images), with DDP's default 25 MB buckets (one bucket for these
models: nothing to overlap) and with 0.02 MB ones (several buckets in each model). Per
model, bucket size and rank count:

- samples/s: the whole step (zero_grad, forward, loss, backward with DDP's all-reduce,
  SGD step) over all ranks;
- on 2 ranks, the share of the all-reduce hidden under backward: 1 - (step with DDP - step
  under no_sync, which skips the communication) / (one blocking all-reduce of all the
  gradients, timed alone); 100% when the step costs no more than without communication.

Best round of `--repeat`. Two ranks on a 2-core machine show the mechanism, not scaling:
each rank has one core, and MPI's progress and the other rank compete for them.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

BUCKETS_MB = (25, 0.02)  # PyTorch's default (one bucket for these models), and 20 kB


def models():
    from forgegrad import nn

    mlp = nn.Sequential(
        nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)
    )
    cnn = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )
    return {"mlp": (mlp, (512,), 128), "cnn": (cnn, (1, 28, 28), 64)}


def best_of(step, repeat, min_time=0.3):
    """The best seconds per call of step over `repeat` rounds of about min_time each. Every
    rank makes the same number of calls (rank 0's choice): a step holds collectives, which
    every rank must call alike."""
    import forgegrad.distributed as dist

    step()
    start = time.perf_counter()
    for _ in range(3):
        step()
    counts = [max(1, round(min_time / ((time.perf_counter() - start) / 3)))]
    dist.broadcast_object_list(counts, 0)
    best = float("inf")
    for _ in range(repeat):
        dist.barrier()
        start = time.perf_counter()
        for _ in range(counts[0]):
            step()
        elapsed = [time.perf_counter() - start]
        gathered = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, elapsed[0])
        best = min(best, max(gathered) / counts[0])
    return best


def worker(repeat):
    """Under mpiexec: time each model; rank 0 prints one JSON line per model."""
    import forgegrad as fg
    import forgegrad.distributed as dist
    from forgegrad import nn, optim

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    for name, bucket_mb in ((m, b) for m in models() for b in BUCKETS_MB):
        model, shape, batch = models()[name]  # a fresh model for each DDP
        ddp = dist.DistributedDataParallel(model, bucket_cap_mb=bucket_mb)
        optimizer = optim.SGD(ddp.parameters(), lr=0.01)
        loss_fn = nn.CrossEntropyLoss()
        rng = np.random.default_rng(rank)
        x = fg.from_numpy(rng.standard_normal((batch, *shape)).astype(np.float32))
        y = fg.from_numpy(rng.integers(0, 10, batch))

        def step():
            optimizer.zero_grad()
            loss_fn(ddp(x), y).backward()
            optimizer.step()

        def step_without_communication():
            with ddp.no_sync():
                step()

        grads = [fg.zeros(p.numel()) for p in ddp.parameters()]
        flat = fg.zeros(sum(g.numel() for g in grads))

        def all_reduce_alone():
            dist.all_reduce(flat)

        seconds = best_of(step, repeat)
        row = {
            "model": name,
            "ranks": world,
            "batch_per_rank": batch,
            "bucket_mb": bucket_mb,
            "samples_per_s": world * batch / seconds,
            "step_ms": seconds * 1e3,
            "gradient_mb": flat.numel() * 4 / 2**20,
            "buckets": len(ddp._buckets),
        }
        if world > 1:
            alone = best_of(step_without_communication, repeat)
            reduce = best_of(all_reduce_alone, repeat)
            exposed = max(seconds - alone, 0.0)
            row.update(
                no_sync_step_ms=alone * 1e3,
                all_reduce_ms=reduce * 1e3,
                hidden_share=min(max(1 - exposed / reduce, 0.0), 1.0),
            )
        if rank == 0:
            print("ROW " + json.dumps(row), flush=True)
    dist.destroy_process_group()


def launch(ranks, repeat):
    """Run this script's worker on `ranks` ranks; its rows."""
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
    )
    job = subprocess.run(
        [
            mpiexec,
            "-n",
            str(ranks),
            "--oversubscribe",
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            "--repeat",
            str(repeat),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if job.returncode:
        sys.exit(f"bench/ddp.py: the {ranks}-rank run failed:\n{job.stdout}{job.stderr}")
    return [json.loads(line[4:]) for line in job.stdout.splitlines() if line.startswith("ROW ")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="write the table here as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.repeat)
    rows = launch(1, args.repeat) + launch(2, args.repeat)
    print(
        "| model | ranks | batch/rank | samples/s | step ms | all-reduce ms (alone) "
        "| step ms, no_sync | hidden under backward |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (r["model"], -r["bucket_mb"], r["ranks"])):
        extra = (
            f"{r['all_reduce_ms']:.2f} | {r['no_sync_step_ms']:.2f} | {r['hidden_share']:.0%}"
            if r["ranks"] > 1
            else "- | - | -"
        )
        print(
            f"| {r['model']} ({r['gradient_mb']:.1f} MB of gradients; {r['buckets']} x "
            f"{r['bucket_mb']} MB buckets) | {r['ranks']} | {r['batch_per_rank']} | "
            f"{r['samples_per_s']:.0f} | {r['step_ms']:.2f} | {extra} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
