"""Every collective against numpy, on each rank: run under mpiexec (2 or 3 ranks), or alone
(one rank; --device cuda checks the NCCL path). Prints "collectives ok on rank R of W"; any
mismatch raises, which aborts the job (a non-zero exit)."""

import numpy as np

import forgegrad as fg
import forgegrad.distributed as dist
import group

device, rank, world = group.start()


def values(r, shape, dtype=np.float32):
    """Rank r's input: known to every rank, so each can compute the expected result."""
    rng = np.random.default_rng(100 + r)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-5, 6, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def mine(shape, dtype=np.float32):
    return fg.from_numpy(values(rank, shape, dtype)).to(device)


def check(tensor, expected, what, rtol=1e-6):
    got = tensor.cpu().numpy()
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    assert np.allclose(got, expected, rtol=rtol, atol=1e-6), (what, got, expected)


everyone = lambda shape, dtype=np.float32: np.stack(
    [
        values(r, shape, dtype)  # noqa: E731
        for r in range(world)
    ]
)

# all_reduce: every op, float32 / float64 / int64, a 0-d tensor, an empty one
for dtype in (np.float32, np.float64, np.int64):
    for op, reduce in (
        (dist.ReduceOp.SUM, np.sum),
        (dist.ReduceOp.MAX, np.max),
        (dist.ReduceOp.MIN, np.min),
        (dist.ReduceOp.PRODUCT, np.prod),
    ):
        t = mine((7, 33), dtype)
        dist.all_reduce(t, op)
        check(t, reduce(everyone((7, 33), dtype), axis=0), f"all_reduce {op} {dtype}")
for dtype in (np.float32, np.float64):
    t = mine((5,), dtype)
    dist.all_reduce(t, dist.ReduceOp.AVG)
    check(t, everyone((5,), dtype).mean(axis=0), "all_reduce AVG")
scalar = mine(())
dist.all_reduce(scalar)
check(scalar, everyone(()).sum(axis=0), "all_reduce 0-d")
empty = fg.zeros(0, 4, device=device)
dist.all_reduce(empty)
assert empty.shape == (0, 4)

# a non-contiguous view: reduced through a contiguous copy, written back into the view only
base = mine((6, 8))
view = base.T[::2]  # (4, 6), strided
untouched = base.cpu().numpy()[:, 1::2].copy()
dist.all_reduce(view)
check(view, everyone((6, 8)).sum(axis=0).T[::2], "all_reduce of a view")
assert np.array_equal(base.cpu().numpy()[:, 1::2], untouched), "the view's neighbours changed"

# the tensor's own memory: a numpy array sharing it sees the result (no copy was made)
if device == "cpu":
    shared = values(rank, (9,))
    t = fg.from_numpy(shared)
    dist.all_reduce(t)
    assert np.allclose(shared, everyone((9,)).sum(axis=0)), "all_reduce copied the tensor"

# async_op: a Work to wait on
t = mine((3, 3))
work = dist.all_reduce(t, async_op=True)
assert work.wait() and work.is_completed()
check(t, everyone((3, 3)).sum(axis=0), "all_reduce async")

# broadcast from every root
for src in range(world):
    t = mine((4, 5))
    dist.broadcast(t, src)
    check(t, values(src, (4, 5)), f"broadcast from {src}")

# all_gather into a list, and into one tensor (stacked and concatenated)
outs = [fg.zeros(3, 4, device=device) for _ in range(world)]
dist.all_gather(outs, mine((3, 4)))
for r, out in enumerate(outs):
    check(out, values(r, (3, 4)), f"all_gather [{r}]")
stacked = fg.zeros(world, 3, 4, device=device)
dist.all_gather_into_tensor(stacked, mine((3, 4)))
check(stacked, everyone((3, 4)), "all_gather_into_tensor")
concatenated = fg.zeros(world * 3, 4, device=device)
dist.all_gather_into_tensor(concatenated, mine((3, 4)))
check(concatenated, everyone((3, 4)).reshape(world * 3, 4), "all_gather_into_tensor (cat)")
# the input a slice of the output, as sharded optimizers do
inplace = fg.zeros(world * 2, device=device)
inplace[rank * 2 : (rank + 1) * 2] = fg.from_numpy(values(rank, (2,))).to(device)
dist.all_gather_into_tensor(inplace, inplace[rank * 2 : (rank + 1) * 2])
check(inplace, everyone((2,)).reshape(-1), "all_gather_into_tensor in place")

# reduce_scatter: rank i gets the reduction of every rank's i-th block
blocks = everyone((world, 6))  # [rank][block] -> values
out = fg.zeros(6, device=device)
dist.reduce_scatter(
    out, [fg.from_numpy(values(rank, (world, 6))[i]).to(device) for i in range(world)]
)
check(out, blocks[:, rank].sum(axis=0), "reduce_scatter")
out = fg.zeros(6, device=device)
dist.reduce_scatter_tensor(out, mine((world, 6)), dist.ReduceOp.MAX)
check(out, blocks[:, rank].max(axis=0), "reduce_scatter_tensor MAX")
out = fg.zeros(6, device=device)
dist.reduce_scatter_tensor(out, mine((world * 6,)), dist.ReduceOp.AVG)
check(out, blocks[:, rank].mean(axis=0), "reduce_scatter_tensor AVG")

# Python objects, and bad arguments raise on every rank alike
gathered = [None] * world
dist.all_gather_object(gathered, {"rank": rank})
assert gathered == [{"rank": r} for r in range(world)]
shared_list = [f"from {rank}", rank]
dist.broadcast_object_list(shared_list, src=world - 1)
assert shared_list == [f"from {world - 1}", world - 1]
for bad, error in (
    (lambda: dist.all_reduce(mine((2,), np.int64), dist.ReduceOp.AVG), TypeError),
    (lambda: dist.broadcast(mine((2,)), world), ValueError),
    (lambda: dist.all_gather([mine((2,))] * (world + 1), mine((2,))), ValueError),
    (lambda: dist.all_gather_into_tensor(fg.zeros(1), mine((2,))), ValueError),
    (lambda: dist.all_reduce([1.0]), TypeError),
):
    try:
        bad()
    except error as caught:
        assert str(caught).startswith("["), caught
    else:
        raise AssertionError("no error")
dist.barrier()
print(f"collectives ok on rank {rank} of {world}", flush=True)
dist.destroy_process_group()
