"""fit under mpiexec (2 ranks): it shards the data, trains through DistributedDataParallel,
logs on rank 0 only, writes checkpoints on rank 0 only (once per epoch) that every rank can
load, and stops early on every rank at the same epoch. Prints "fit ok on rank R of W".
argv[1]: the folder for the checkpoints."""

import os
import sys

import numpy as np

import forgegrad as fg
import forgegrad.distributed as dist
import forgegrad.training.callbacks as callbacks_module
from forgegrad import nn, optim

dist.init_process_group()
rank, world = dist.get_rank(), dist.get_world_size()
folder = sys.argv[1]

saves = []
real_save = callbacks_module.save
callbacks_module.save = lambda state, path: (saves.append(path), real_save(state, path))

rng = np.random.default_rng(0)
X = rng.standard_normal((96, 6)).astype(np.float32)
y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
fg.manual_seed(rank)  # different on each rank: DDP gives them rank 0's weights
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
checkpoint = fg.ModelCheckpoint(
    os.path.join(folder, "model-{epoch}.safetensors"), save_best_only=False
)
stopper = fg.EarlyStopping(patience=1, min_delta=1e9)  # stops after epoch 2
history = fg.fit(
    model,
    nn.CrossEntropyLoss(),
    optim.Adam(model.parameters(), lr=0.01),
    (X[:64], y[:64]),
    (X[64:], y[64:]),
    epochs=5,
    batch_size=8,
    verbose=2,
    callbacks=[checkpoint, stopper],
    seed=0,
)

everyone = [None] * world
dist.all_gather_object(everyone, (history.epochs, len(saves)))
assert all(epochs == everyone[0][0] for epochs, _ in everyone), "ranks logged different values"
assert len(history) == 2 and history.stopped_early, history
assert [n for _, n in everyone] == [2] + [0] * (world - 1), f"saves per rank: {everyone}"
assert checkpoint.saved == [os.path.join(folder, f"model-{e}.safetensors") for e in (1, 2)]
loaded = fg.load(checkpoint.saved[-1])
assert set(loaded) == set(model.state_dict())  # no "module." prefix: the plain model's
# every epoch each rank saw 32 of the 64 training samples: 4 steps of 8
assert all(abs(e["samples_per_s"] * e["time"] - 64) < 1e-6 for e in history.epochs), history.epochs
params = [None] * world
dist.all_gather_object(params, [p.detach().numpy() for p in model.parameters()])
assert all(np.array_equal(a, b) for other in params for a, b in zip(other, params[0])), (
    "the ranks' models differ after fit"
)
print(f"fit ok on rank {rank} of {world}", flush=True)
dist.destroy_process_group()
