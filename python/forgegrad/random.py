"""The global Philox stream that ``rand``, ``randn``, dropout and ``nn.init`` draw from:
``manual_seed`` restarts it; ``get_rng_state`` / ``set_rng_state`` save and restore its exact
position, so a run resumed from a checkpoint draws the same dropout masks as one that never
stopped."""
import numpy as np

from . import _C
from . import _errors
from ._C import manual_seed

__all__ = ["manual_seed", "get_rng_state", "set_rng_state"]


def get_rng_state():
    """The stream's position as an int64 Tensor [seed, counter] (uint64 bit patterns), a
    Tensor so that ``forgegrad.save`` stores it with the rest of a checkpoint."""
    return _C.from_numpy(np.array(_C._get_rng_state(), dtype=np.uint64).view(np.int64))


def set_rng_state(state):
    """Put the stream back where ``get_rng_state`` found it."""
    if not isinstance(state, _C.Tensor):
        raise _errors.TypeError(f"[set_rng_state] expected a Tensor from get_rng_state, "
                                f"got {type(state).__name__}")
    if state.dtype != _C.dtype.int64 or state.shape != (2,):
        raise _errors.ValueError(f"[set_rng_state] expected an int64 Tensor of shape (2,) from "
                                 f"get_rng_state, got {state.dtype} of shape {state.shape}")
    seed, offset = state.cpu().numpy().view(np.uint64).tolist()  # a checkpoint's may be on a GPU
    _C._set_rng_state(seed, offset)
