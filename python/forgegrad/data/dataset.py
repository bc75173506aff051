"""Datasets, as in ``torch.utils.data``: map-style ``Dataset`` (``ds[i]``, ``len(ds)``),
``IterableDataset`` (a stream, ``iter(ds)``), ``TensorDataset`` (rows of arrays),
``Subset``, ``ConcatDataset``, ``ChainDataset`` and ``random_split``.

A ``TensorDataset`` over ``np.memmap`` arrays (or ``np.load(path, mmap_mode="r")``) reads
only the rows a batch asks for, so data larger than memory trains as any other.
"""

from __future__ import annotations

import bisect
import builtins
import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _C, _errors
from .._checks import is_int
from ..creation import tensor
from .collate import storable, storage_dtype, to_numpy
from .sampler import draw_seed, index_list

if TYPE_CHECKING:
    from ..random import Generator

__all__ = [
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "Subset",
    "ConcatDataset",
    "ChainDataset",
    "random_split",
]


class Dataset:
    """Base class of map-style datasets: ``ds[i]`` is sample ``i``, ``len(ds)`` their number.
    ``a + b`` is ``ConcatDataset([a, b])``."""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of datasets read as a stream: ``__iter__`` yields the samples. With
    ``num_workers > 0`` every worker iterates its own copy; shard the stream in ``__iter__``
    with ``get_worker_info()`` (None in the main process) so that each sample comes once::

        def __iter__(self):
            info = forgegrad.data.get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return itertools.islice(self.read(), start, None, step)
    """

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other: IterableDataset) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


def _is_int_index(index: object) -> bool:
    return isinstance(index, (int, np.integer)) and not isinstance(index, builtins.bool)


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays: ``ds[i] == (a[i], b[i], ...)``.

    Accepts numpy arrays and forgegrad Tensors, mixed. Columns are stored as numpy arrays
    (float -> float32, integer -> int64, bool -> bool, uint8 kept) in ``.arrays``. Like
    torch's, it shares memory with its inputs where no conversion is needed; ``ds[i]``
    returns copies. An ``np.memmap`` column is kept as the file mapping and converted batch
    by batch, so only the rows read are ever in memory.
    """

    def __init__(self, *arrays: np.ndarray[Any, Any] | _C.Tensor) -> None:
        if not arrays:
            raise _errors.ValueError("[TensorDataset] expected at least one array, got none")
        stored = []
        for k, a in enumerate(arrays):
            if not isinstance(a, (np.ndarray, _C.Tensor)):
                raise _errors.TypeError(
                    f"[TensorDataset] expected numpy arrays or Tensors, "
                    f"got {type(a).__name__} as argument {k}"
                )
            what = f"argument {k} to hold an array"
            if isinstance(a, np.memmap):
                storage_dtype(a.dtype, "TensorDataset", what)  # checked, converted per batch
            else:
                a = storable(to_numpy(a), "TensorDataset", what)
            if a.ndim == 0:
                raise _errors.ValueError(
                    f"[TensorDataset] expected arrays with a first (sample) "
                    f"dimension, got a 0-d array as argument {k}"
                )
            stored.append(a)
        sizes = [len(a) for a in stored]
        if len(set(sizes)) > 1:
            raise _errors.ValueError(
                f"[TensorDataset] expected arrays with the same first dimension, got sizes {sizes}"
            )
        self.arrays = tuple(stored)

    def __getitem__(self, index: Any) -> tuple[_C.Tensor, ...]:
        n = len(self)
        if _is_int_index(index) and not -n <= index < n:
            raise IndexError(f"[TensorDataset] index {index} is out of range for {n} samples")
        return tuple(
            tensor(storable(np.asarray(a[index]), "TensorDataset", "values")) for a in self.arrays
        )

    def __len__(self) -> int:
        return len(self.arrays[0])

    def gather(self, indices: list[int]) -> tuple[_C.Tensor, ...]:
        """The batch of samples ``indices`` (a list of ints), one fancy-indexing read per
        column, as fresh Tensors (no copy beyond the gather itself and the dtype rule)."""
        return tuple(
            _C.from_numpy(storable(np.asarray(a[indices]), "TensorDataset", "values"))
            for a in self.arrays
        )

    def __repr__(self) -> str:
        cols = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset(n={len(self)}, arrays=[{cols}])"


def batch_gatherer(dataset):
    """A function reading a whole batch of `dataset` at once (indices -> the collated batch),
    or None when the dataset must be read sample by sample (its own __getitem__)."""
    own_getitem = type(dataset).__getitem__
    if isinstance(dataset, TensorDataset) and own_getitem is TensorDataset.__getitem__:
        return dataset.gather
    if isinstance(dataset, Subset) and own_getitem is Subset.__getitem__:
        inner = batch_gatherer(dataset.dataset)
        if inner is not None:
            return lambda indices: inner([dataset.indices[i] for i in indices])
    return None


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order: ``Subset(ds, idx)[k] ==
    ds[idx[k]]``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = index_list(indices, "Subset")

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {type(self.dataset).__name__})"


class ConcatDataset(Dataset):
    """Map-style datasets one after another: indices ``0 .. len(a) - 1`` read ``a``, the next
    ones ``b``, and so on; negative indices count from the end of the whole."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise _errors.ValueError("[ConcatDataset] expected at least one dataset, got none")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise _errors.TypeError(
                    "[ConcatDataset] expected map-style datasets, got an "
                    f"IterableDataset ({type(d).__name__}); use ChainDataset"
                )
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if not _is_int_index(index):
            raise _errors.TypeError(
                f"[ConcatDataset] expected an integer index, got {type(index).__name__}"
            )
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"[ConcatDataset] index {index} is out of range for {n} samples")
        if index < 0:
            index += n
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another (each sample of the first, then of the next)."""

    def __init__(self, datasets: Iterable[IterableDataset]) -> None:
        self.datasets = list(datasets)
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise _errors.TypeError(
                    f"[ChainDataset] expected IterableDatasets, got {type(d).__name__}"
                )

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def _split_lengths(lengths, n):
    """Absolute lengths from ints, or from fractions summing to 1 (the remainder of the
    floors goes one by one to the first subsets, as torch does)."""
    lengths = list(lengths)
    if lengths and all(is_int(x) for x in lengths):
        lengths = [int(x) for x in lengths]
        if any(x < 0 for x in lengths):
            raise _errors.ValueError(f"[random_split] expected lengths >= 0, got {lengths}")
    elif math.isclose(sum(lengths), 1) and all(0 <= x <= 1 for x in lengths):
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    else:
        raise _errors.ValueError(
            "[random_split] expected lengths as ints summing to the "
            f"dataset's length ({n}) or fractions summing to 1, got "
            f"{lengths}"
        )
    if sum(lengths) != n:
        raise _errors.ValueError(
            f"[random_split] the lengths {lengths} sum to {sum(lengths)}, "
            f"not the dataset's length {n}"
        )
    return lengths


def random_split(
    dataset: Dataset, lengths: Sequence[int] | Sequence[float], generator: Generator | None = None
) -> list[Subset]:
    """Disjoint random ``Subset``s of `dataset` of the given `lengths` (ints, or fractions of
    ``len(dataset)`` summing to 1). The permutation is drawn from `generator` (a
    ``forgegrad.Generator``; None: the global stream, so ``manual_seed`` fixes it)."""
    lengths = _split_lengths(lengths, len(dataset))
    rng = np.random.default_rng(draw_seed(generator, "random_split"))
    order = rng.permutation(len(dataset)).tolist()
    starts = [0, *itertools.accumulate(lengths)]
    return [Subset(dataset, order[a:b]) for a, b in zip(starts, starts[1:])]
