"""Samplers, as in ``torch.utils.data``: the order in which a map-style dataset is read
(``Sampler``, ``SequentialSampler``, ``RandomSampler``, ``SubsetRandomSampler``,
``WeightedRandomSampler``) and how it is cut into batches (``BatchSampler``).

Random samplers are reproducible by epoch: a sampler holds a seed, drawn when it is built
from its ``generator`` (a ``forgegrad.Generator``; None: the global stream, so
``forgegrad.manual_seed`` fixes it) unless ``seed=`` gives it, and epoch ``k`` (its
``k``-th ``iter()``) draws from ``numpy.random.default_rng([*seed, k])``. So every epoch
has a new order, a run's sequence of orders repeats, and ``set_epoch(k)`` resumes it.
"""

import builtins
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

from .. import _errors
from .._C import Tensor
from .._checks import check_int, is_int
from ..creation import rand
from ..random import Generator
from .collate import to_numpy

__all__ = [
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
]

_T_co = TypeVar("_T_co", covariant=True)


def check_generator(generator: Generator | None, op: str) -> Generator | None:
    if generator is not None and not isinstance(generator, Generator):
        raise _errors.TypeError(
            f"[{op}] expected generator to be a forgegrad.Generator or "
            f"None, got {type(generator).__name__}"
        )
    return generator


def draw_seed(generator: Generator | None, op: str) -> tuple[int, ...]:
    """A seed of two 24-bit draws (float32 has 24 mantissa bits) from `generator`'s stream
    (None: the global one)."""
    check_generator(generator, op)
    return tuple(
        int(v) for v in (rand(2, generator=generator).numpy() * (1 << 24)).astype(np.int64)
    )


def check_bool(value: object, name: str, op: str) -> bool:
    if not isinstance(value, (builtins.bool, np.bool_)):
        raise _errors.TypeError(f"[{op}] expected {name} to be a bool, got {value!r}")
    return builtins.bool(value)


class Sampler(Generic[_T_co]):
    """Base class: ``iter(sampler)`` yields dataset indices (or, for a batch sampler, lists
    of them); ``len(sampler)`` is how many, where known."""

    def __init__(self, data_source: Sized | None = None) -> None:
        del data_source  # accepted for torch's signature; a sampler keeps what it needs

    def __iter__(self) -> Iterator[_T_co]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class _EpochSeeded(Sampler[int]):
    """A sampler whose ``k``-th epoch draws from ``default_rng([*seed, k])``."""

    def _seed(self, seed: int | None, generator: Generator | None, op: str) -> None:
        if seed is not None:
            self.seed: tuple[int, ...] = (check_int(seed, "seed", 0, op),)
        else:
            self.seed = draw_seed(generator, op)
        self.generator = generator
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` epoch number ``epoch`` (its order included)."""
        self.epoch = check_int(epoch, "epoch", 0, type(self).__name__)

    def _next_rng(self) -> np.random.Generator:
        rng = np.random.default_rng([*self.seed, self.epoch])
        self.epoch += 1
        return rng


class RandomSampler(_EpochSeeded):
    """A random order of ``data_source``'s indices: a permutation (``num_samples`` beyond
    ``len(data_source)`` chains permutations), or with ``replacement=True`` ``num_samples``
    independent draws. The order is drawn when ``iter()`` is called."""

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = check_bool(replacement, "replacement", "RandomSampler")
        self._num_samples = (
            None
            if num_samples is None
            else check_int(num_samples, "num_samples", 1, "RandomSampler")
        )
        self._seed(seed, generator, "RandomSampler")

    @property
    def num_samples(self) -> int:
        """How many indices one pass yields."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, count = len(self.data_source), self.num_samples
        rng = self._next_rng()
        if n == 0:
            return iter([])
        if self.replacement:
            return iter(rng.integers(0, n, size=count).tolist())
        rounds = [rng.permutation(n) for _ in range(-(-count // n))]
        return iter(np.concatenate(rounds)[:count].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(_EpochSeeded):
    """The given ``indices`` in a new random order every epoch."""

    def __init__(
        self,
        indices: Iterable[int] | np.ndarray[Any, Any] | Tensor,
        generator: Generator | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        self.indices = index_list(indices, "SubsetRandomSampler")
        self._seed(seed, generator, "SubsetRandomSampler")

    def __iter__(self) -> Iterator[int]:
        order = self._next_rng().permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(_EpochSeeded):
    """``num_samples`` indices ``0 .. len(weights) - 1``, index ``i`` drawn with probability
    ``weights[i] / sum(weights)`` (weights need not sum to 1); without replacement each
    index comes at most once."""

    def __init__(
        self,
        weights: Sequence[float] | np.ndarray[Any, Any] | Tensor,
        num_samples: int,
        replacement: bool = True,
        generator: Generator | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        op = "WeightedRandomSampler"
        weights = np.asarray(to_numpy(weights), dtype=np.float64)
        if weights.ndim != 1:
            raise _errors.ValueError(
                f"[{op}] expected a 1-d sequence of weights, got shape {weights.shape}"
            )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise _errors.ValueError(f"[{op}] expected finite weights >= 0 with a positive sum")
        self.weights = weights
        self.num_samples = check_int(num_samples, "num_samples", 1, op)
        self.replacement = check_bool(replacement, "replacement", op)
        if not self.replacement and self.num_samples > np.count_nonzero(weights):
            raise _errors.ValueError(
                f"[{op}] cannot draw {self.num_samples} samples without "
                f"replacement from {np.count_nonzero(weights)} non-zero "
                "weights"
            )
        self._seed(seed, generator, op)

    def __iter__(self) -> Iterator[int]:
        rng = self._next_rng()
        drawn = rng.choice(
            len(self.weights),
            size=self.num_samples,
            replace=self.replacement,
            p=self.weights / self.weights.sum(),
        )
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Lists of ``batch_size`` indices from ``sampler`` (the last one shorter unless
    ``drop_last``). ``iter()`` starts ``sampler``'s epoch at once."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = check_int(batch_size, "batch_size", 1, "BatchSampler")
        self.drop_last = check_bool(drop_last, "drop_last", "BatchSampler")

    def __iter__(self) -> Iterator[list[int]]:
        return self._batches(iter(self.sampler))

    def _batches(self, indices: Iterator[int]) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in indices:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]  # unsized: TypeError, as in torch
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class InfiniteConstantSampler(Sampler[Any]):
    """``None`` forever: the loader's index stream for an IterableDataset, which ignores
    indices (a batch of it is ``batch_size`` more samples from the stream)."""

    def __iter__(self) -> Iterator[Any]:  # None, in batches of index lists
        while True:
            yield None


def index_list(indices: Iterable[int] | np.ndarray[Any, Any] | Tensor, op: str) -> list[int]:
    """A list of Python ints from a sequence, numpy array or Tensor of integers."""
    values = list(to_numpy(indices).tolist() if hasattr(indices, "shape") else indices)
    if not all(is_int(i) for i in values):
        raise _errors.TypeError(
            f"[{op}] expected integer indices, got {sorted({type(i).__name__ for i in values})}"
        )
    return [int(i) for i in values]
