"""Philox streams. ``default_generator`` is the global one that ``rand``, ``randn``, dropout
and ``nn.init`` draw from: ``manual_seed`` restarts it; ``get_rng_state`` / ``set_rng_state``
save and restore its exact position, so a run resumed from a checkpoint draws the same
dropout masks as one that never stopped. A ``Generator`` is a stream of its own, passed as
``generator=`` to the sampling functions, as in PyTorch."""

import os
from typing import Any, Self

import numpy as np

from . import _C, _errors
from ._C import manual_seed
from ._checks import as_device, is_int

__all__ = [
    "Generator",
    "default_generator",
    "manual_seed",
    "seed",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
]

_SEED_BITS = (1 << 64) - 1


class Generator:
    """A Philox stream of its own: the same seed gives the same numbers, whatever the other
    streams (the global one included) draw meanwhile. ``device``: where the tensors it fills
    live; a stream's numbers are the same on every device."""

    def __init__(self, device: _C.device | str = "cpu") -> None:
        self.device = as_device(device, "Generator")
        self._stream = _C._Generator()  # the global stream's default seed

    @classmethod
    def _over(cls, stream: Any) -> Self:
        """A Generator over an existing stream (the global one)."""
        generator = cls.__new__(cls)
        generator.device, generator._stream = _C.device("cpu"), stream
        return generator

    def manual_seed(self, seed: int) -> Self:
        """Restart the stream from ``seed`` (any int, reduced to 64 bits as PyTorch does)."""
        if not is_int(seed):
            raise _errors.TypeError(
                f"[manual_seed] expected an int seed, got {type(seed).__name__}"
            )
        self._stream.set_state(int(seed) & _SEED_BITS, 0)
        return self

    def seed(self) -> int:
        """Restart the stream from a fresh seed out of the operating system; returns it."""
        fresh = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(fresh)
        return fresh

    def initial_seed(self) -> int:
        """The seed the stream started from."""
        return self._stream.state()[0]

    def get_state(self) -> _C.Tensor:
        """The stream's position as an int64 Tensor [seed, counter] (uint64 bit patterns), a
        Tensor so that ``forgegrad.save`` stores it with the rest of a checkpoint."""
        return _C.from_numpy(np.array(self._stream.state(), dtype=np.uint64).view(np.int64))

    def set_state(self, new_state: _C.Tensor) -> Self:
        """Put the stream back where ``get_state`` found it."""
        self._stream.set_state(*_decode_state(new_state, "set_state"))
        return self


def _decode_state(state: object, op: str) -> list[int]:
    if not isinstance(state, _C.Tensor):
        raise _errors.TypeError(
            f"[{op}] expected a Tensor from get_state, got {type(state).__name__}"
        )
    if state.dtype != _C.dtype.int64 or state.shape != (2,):
        raise _errors.ValueError(
            f"[{op}] expected an int64 Tensor of shape (2,) from get_state, got "
            f"{state.dtype} of shape {state.shape}"
        )
    return state.cpu().numpy().view(np.uint64).tolist()  # a checkpoint's may be on a GPU


default_generator = Generator._over(_C._default_generator())


def stream_for(generator: Generator | None, device: Any, op: str) -> Any:
    """The C++ stream behind ``generator`` (None: the global one) for a draw on ``device``."""
    if generator is None:
        return None
    if not isinstance(generator, Generator):
        raise _errors.TypeError(
            f"[{op}] expected generator to be a forgegrad.Generator or None, got "
            f"{type(generator).__name__}"
        )
    device_type = as_device(device, op).type if device is not None else "cpu"
    if generator.device.type != device_type:
        raise _errors.ValueError(
            f"[{op}] expected a '{device_type}' generator for a {device_type} "
            f"tensor, got a '{generator.device.type}' one"
        )
    return generator._stream


def seed() -> int:
    """Restart the global stream from a fresh seed out of the operating system; returns it."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the global stream started from."""
    return default_generator.initial_seed()


def get_rng_state() -> _C.Tensor:
    """The global stream's position (``default_generator.get_state()``)."""
    return default_generator.get_state()


def set_rng_state(state: _C.Tensor) -> None:
    """Put the global stream back where ``get_rng_state`` found it."""
    default_generator._stream.set_state(*_decode_state(state, "set_rng_state"))
