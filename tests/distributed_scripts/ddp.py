"""DistributedDataParallel under mpiexec (2 ranks; alone, one rank: --device cuda checks
the NCCL path). Prints "ddp ok on rank R of W"; a failed check raises, aborting the job.

1. 20 SGD steps with each rank at batch B/W give the parameters of one process at batch B
   (to 1e-5), with buckets small enough that there are several, the first sent while
   backward is still running.
2. no_sync: gradients stay local inside, and the next synced backward averages the sums.
3. find_unused_parameters, buffers broadcast from rank 0, the state_dict prefix, the error
   that names a parameter without a gradient, and a model that differs across ranks."""

import numpy as np

import forgegrad as fg
import forgegrad.distributed as dist
import group
from forgegrad import nn, optim
from forgegrad.distributed import DistributedDataParallel as DDP

device, rank, world = group.start()


def mlp(seed):
    fg.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 3)
    ).to(device)


def gathered(array):
    everyone = [None] * world
    dist.all_gather_object(everyone, array)
    return everyone


# ---- 1. DDP at B/W per rank == one process at B, after 20 steps
B, STEPS = 12, 20
data = np.random.default_rng(0)
X = fg.from_numpy(data.standard_normal((STEPS, B, 8)).astype(np.float32)).to(device)
Y = fg.from_numpy(data.integers(0, 3, size=(STEPS, B))).to(device)
reference = mlp(seed=100)  # rank 0's model, which DDP gives every rank
# Ranks differ until the broadcast. 400-byte buckets: the last layer's weight and bias (396
# bytes) fill the first, so it is complete before backward reaches the middle layer (with
# the middle bias in it too, whether it started before that layer's weight hook ran depended
# on the order of the hooks of one node, which follows addresses).
ddp = DDP(mlp(seed=100 + rank), bucket_cap_mb=400 / 2**20)
assert len(ddp._buckets) > 2, len(ddp._buckets)
for p, q in zip(ddp.module.parameters(), reference.parameters()):
    assert np.array_equal(p.detach().cpu().numpy(), q.detach().cpu().numpy()), (
        "the construction did not broadcast rank 0's parameters"
    )
loss_fn = nn.CrossEntropyLoss()
opt_ddp = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
opt_ref = optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
shard = slice(rank * B // world, (rank + 1) * B // world)
# overlap: when backward reaches the middle layer, the last layer's bucket is already sent
started_before_the_end = []
ddp.module[2].weight.register_post_accumulate_grad_hook(
    lambda t: started_before_the_end.append(ddp._next_bucket >= 1 and ddp._state == "reducing")
)
for step in range(STEPS):
    opt_ddp.zero_grad()
    loss_fn(ddp(X[step][shard]), Y[step][shard]).backward()
    opt_ddp.step()
    opt_ref.zero_grad()
    loss_fn(reference(X[step]), Y[step]).backward()
    opt_ref.step()
assert started_before_the_end == [True] * STEPS, started_before_the_end
for (name, p), q in zip(ddp.module.named_parameters(), reference.parameters()):
    gap = np.abs(p.detach().cpu().numpy() - q.detach().cpu().numpy()).max()
    assert gap < 1e-5, f"{name} differs from one process at batch {B} by {gap}"
assert list(ddp.state_dict())[0] == "module.0.weight"  # PyTorch's prefix
assert list(ddp.module.state_dict())[0] == "0.weight"

# ---- 2. no_sync: two micro-batches, the first kept local
model = DDP(mlp(seed=2))
local = mlp(seed=2)  # the same weights, no DDP: this rank's own gradients
x = [
    fg.from_numpy(
        np.random.default_rng(10 * rank + i).standard_normal((4, 8)).astype(np.float32)
    ).to(device)
    for i in range(2)
]
with model.no_sync():
    (model(x[0]) ** 2).mean().backward()
(local(x[0]) ** 2).mean().backward()
for p, q in zip(model.parameters(), local.parameters()):
    assert np.allclose(p.grad.cpu().numpy(), q.grad.cpu().numpy(), atol=1e-7), (
        "no_sync averaged the gradients"
    )
(model(x[1]) ** 2).mean().backward()
(local(x[1]) ** 2).mean().backward()
for p, q in zip(model.parameters(), local.parameters()):
    expected = np.mean(gathered(q.grad.cpu().numpy()), axis=0)  # mean of the ranks' sums
    assert np.allclose(p.grad.cpu().numpy(), expected, atol=1e-6), "no_sync accumulation"


# ---- 3. parameters without a gradient
class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.head = nn.Linear(4, 1)
        self.spare = nn.Linear(4, 1)  # used by rank 0 only, in `some`

    def forward(self, x, use_spare=False):
        h = self.body(x).relu()
        return self.head(h) + (self.spare(h) if use_spare else 0)


fg.manual_seed(3)
found = DDP(TwoHeads().to(device), find_unused_parameters=True)
xs = fg.ones(2, 4, device=device) * (rank + 1)
found(xs, use_spare=(rank == 0)).sum().backward()
spare_local = found.module.spare.weight.grad
spare_grads = gathered(None if spare_local is None else spare_local.cpu().numpy())
if world > 1:  # rank 0's gradient averaged with the others' zeros
    assert spare_grads[1] is not None and np.allclose(spare_grads[1], spare_grads[0])
    found.zero_grad()
    found(xs).sum().backward()  # unused on every rank: .grad stays None
    assert found.module.spare.weight.grad is None
    assert found.module.head.weight.grad is not None

strict = DDP(TwoHeads().to(device))
strict(xs).sum().backward()  # spare gets no gradient: its bucket never completes
try:
    strict(xs)
except RuntimeError as error:
    assert "spare.weight" in str(error) and "find_unused_parameters=True" in str(error), error
else:
    raise AssertionError("a parameter without a gradient went unnoticed")

# ---- buffers: rank 0's running statistics reach every rank at each forward
norm = DDP(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).to(device))
norm.eval()
norm.module[1].running_mean.fill_(float(rank + 1))
with fg.no_grad():
    norm(fg.ones(2, 4, device=device))
assert np.allclose(norm.module[1].running_mean.cpu().numpy(), 1.0), "buffers not broadcast"


# ---- a model that differs across ranks is refused, naming the parameter
class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(4, width)


try:
    DDP(Net(5 if rank == world - 1 and world > 1 else 4).to(device))
except ValueError as error:
    assert world > 1 and "'fc.weight'" in str(error) and f"rank {world - 1}" in str(error), error
else:
    assert world == 1, "a model that differs across ranks was accepted"

dist.barrier()
print(f"ddp ok on rank {rank} of {world}", flush=True)
dist.destroy_process_group()
