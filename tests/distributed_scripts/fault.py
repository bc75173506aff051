"""A rank that fails stops the job. argv[1]: "raise" (rank 1 raises; the excepthook
aborts every rank at once) or "leave" (rank 1 leaves quietly; rank 0's collective times out
after 3 s, raises, and aborts the job). Rank 0 waits in a collective all along."""

import sys

import forgegrad as fg
import forgegrad.distributed as dist

dist.init_process_group(timeout=3)
if dist.get_rank() == 1:
    if sys.argv[1] == "raise":
        raise ValueError("boom on rank 1")
    sys.exit(0)
dist.all_reduce(fg.ones(4))
print("rank 0 went past a collective that rank 1 never joined", flush=True)
