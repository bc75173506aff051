"""Datasets and batching: ``Dataset``, ``TensorDataset`` and ``DataLoader``, as in
``torch.utils.data``.

    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, seed=0)
    for xb, yb in loader:      # forgegrad Tensors: float32 (64, ...) and int64 (64,)
        ...

A ``TensorDataset`` keeps its columns as numpy arrays, so the loader gathers a whole batch
with one fancy-indexing call per column and hands the fresh array to ``from_numpy`` without
copying it again. Any other dataset is read sample by sample and collated by stacking.
"""
import builtins
import math

import numpy as np

from . import _C, _errors
from .creation import _check_fits, rand, tensor
from ._checks import as_device, is_int

__all__ = ["Dataset", "TensorDataset", "DataLoader"]

# numpy kind -> the dtype forgegrad stores it as (float32 for math, int64 for labels);
# uint8 (image pixels) stays uint8, as in torch, for a `.float() / 255` in the model.
_STORE_AS = {"f": np.float32, "i": np.int64, "u": np.int64, "b": np.bool_}


def _storable(array, op, what):
    """``array`` (at least 1-d) as a C-contiguous array of the dtype forgegrad keeps for its
    kind; no copy when it already is one."""
    if array.dtype.kind not in _STORE_AS:
        raise _errors.TypeError(f"[{op}] expected {what} of numbers (float, int or bool), "
                                f"got numpy dtype {array.dtype}")
    dtype = np.uint8 if array.dtype == np.uint8 else _STORE_AS[array.dtype.kind]
    if array.dtype.kind in "iu":
        _check_fits(array, dtype, op)
    return np.ascontiguousarray(array, dtype=dtype)


def _to_numpy(value):
    """A Tensor's values (detached, on the CPU) or anything numpy can read, as an array."""
    if isinstance(value, _C.Tensor):
        value = value.detach()
        if value.device.type != "cpu":
            value = value.to("cpu")
        return value.numpy()
    return np.asarray(value)


class Dataset:
    """Base class of map-style datasets: ``ds[i]`` is sample ``i``, ``len(ds)`` their number."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays: ``ds[i] == (a[i], b[i], ...)``.

    Accepts numpy arrays and forgegrad Tensors, mixed. Columns are stored as numpy arrays
    (float -> float32, integer -> int64, bool -> bool) in ``.arrays``. Like torch's, it
    shares memory with its inputs where no conversion is needed; ``ds[i]`` returns copies.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise _errors.ValueError("[TensorDataset] expected at least one array, got none")
        stored = []
        for k, a in enumerate(arrays):
            if not isinstance(a, (np.ndarray, _C.Tensor)):
                raise _errors.TypeError(f"[TensorDataset] expected numpy arrays or Tensors, "
                                        f"got {type(a).__name__} as argument {k}")
            a = _to_numpy(a)
            if a.ndim == 0:
                raise _errors.ValueError(f"[TensorDataset] expected arrays with a first (sample) "
                                         f"dimension, got a 0-d array as argument {k}")
            stored.append(_storable(a, "TensorDataset", f"argument {k} to hold an array"))
        sizes = [len(a) for a in stored]
        if len(set(sizes)) > 1:
            raise _errors.ValueError("[TensorDataset] expected arrays with the same first "
                                     f"dimension, got sizes {sizes}")
        self.arrays = tuple(stored)

    def __getitem__(self, index):
        n = len(self)
        if (isinstance(index, (int, np.integer)) and not isinstance(index, builtins.bool)
                and not -n <= index < n):
            raise IndexError(f"[TensorDataset] index {index} is out of range for {n} samples")
        return tuple(tensor(a[index]) for a in self.arrays)

    def __len__(self):
        return len(self.arrays[0])

    def __repr__(self):
        cols = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset(n={len(self)}, arrays=[{cols}])"


def _check_dataset(dataset):
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise _errors.TypeError(f"[DataLoader] expected a dataset with __len__ and __getitem__, "
                                f"got {type(dataset).__name__}")


def _check_int(value, name, minimum):
    if not is_int(value):
        raise _errors.TypeError(f"[DataLoader] expected an integer {name}, got {value!r}")
    if value < minimum:
        raise _errors.ValueError(f"[DataLoader] expected {name} >= {minimum}, got {value}")
    return int(value)


def _stack(values):
    """One batch column from per-sample values (arrays, numbers, Tensors) as a Tensor."""
    arrays = [_to_numpy(v) for v in values]
    if len({a.shape for a in arrays}) > 1:
        raise _errors.ValueError(f"[DataLoader] cannot stack samples of different shapes, "
                                 f"got {sorted({a.shape for a in arrays})}")
    batch = _storable(np.stack(arrays), "DataLoader", "samples")
    return _C.from_numpy(batch)


def _collate(samples):
    """Stack per-sample items field by field, as torch's default_collate does: tuples and
    lists give a tuple of batches, dicts a dict, single values one Tensor."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise _errors.ValueError("[DataLoader] expected every sample to have the same number "
                                     f"of fields, got {sorted({len(s) for s in samples})}")
        return tuple(_stack(field) for field in zip(*samples))
    if isinstance(first, dict):
        def keys(sample):
            return "[" + ", ".join(sorted(map(repr, sample))) + "]"

        for s in samples:
            if not isinstance(s, dict) or s.keys() != first.keys():
                other = keys(s) if isinstance(s, dict) else f"a {type(s).__name__}"
                raise _errors.ValueError(f"[DataLoader] samples have different keys: {keys(first)} "
                                         f"and {other}")
        return {key: _stack([s[key] for s in samples]) for key in first}
    return _stack(samples)


# ---------------------------------------------------------------------------- sampler=
# The smallest support for DataLoader(sampler=...) that forgegrad.distributed's
# DistributedSampler needs: an iterable of dataset indices with __len__, which gives the
# order of an epoch instead of shuffle (which it excludes, as in PyTorch).
def _check_sampler(sampler, shuffle):
    if sampler is None:
        return None
    if not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
        raise _errors.TypeError("[DataLoader] sampler must be an iterable of indices with "
                                f"__len__, got {type(sampler).__name__}")
    if shuffle:
        raise _errors.ValueError("[DataLoader] sampler option is mutually exclusive with shuffle")
    return sampler


def _sampled_order(sampler):
    """The indices the sampler gives for one epoch, as an int64 array."""
    order = np.fromiter(iter(sampler), dtype=np.int64)
    if len(order) != len(sampler):
        raise _errors.ValueError(f"[DataLoader] the sampler gave {len(order)} indices, but its "
                                 f"len() is {len(sampler)}")
    return order


class DataLoader:
    """Iterates over a dataset in batches of forgegrad Tensors.

    Each ``iter()`` is one epoch, in which every sample appears exactly once (less the short
    last batch with ``drop_last=True``). With ``shuffle=True`` epoch ``k`` is permuted by
    ``numpy.random.default_rng([seed, k])``, so a run's sequence of orders is reproducible
    and changes from epoch to epoch; without ``seed`` the base seed is drawn from forgegrad's
    generator when the loader is built, so ``forgegrad.manual_seed`` fixes it, as in torch.
    ``device``: batches are moved there with ``.to(device)``. ``epoch`` is the number of
    the next epoch (``set_epoch`` repositions it, to resume a run's sequence of orders).
    ``sampler``: an iterable of dataset indices with ``__len__`` (a
    ``forgegrad.distributed.DistributedSampler``) that gives each epoch's order instead.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 device=None, sampler=None):
        _check_dataset(dataset)
        self.sampler = _check_sampler(sampler, shuffle)
        self.dataset = dataset
        self.batch_size = _check_int(batch_size, "batch_size", 1)
        self.shuffle = builtins.bool(shuffle)
        self.drop_last = builtins.bool(drop_last)
        self.device = as_device(device, "DataLoader")
        if seed is not None:
            self.seed = (_check_int(seed, "seed", 0),)
        elif self.shuffle:
            # Two 24-bit draws (float32 has 24 mantissa bits) from the manual_seed stream.
            self.seed = tuple(int(v) for v in (rand(2).numpy() * (1 << 24)).astype(np.int64))
        else:
            self.seed = None
        self.epoch = 0

    def set_epoch(self, epoch):
        """Make the next ``iter()`` epoch number ``epoch`` (its shuffle order included)."""
        self.epoch = _check_int(epoch, "epoch", 0)

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        # Not a generator function: the epoch's order is fixed as soon as iter() is called.
        n = len(self.dataset)
        if self.sampler is not None:
            order = _sampled_order(self.sampler)
            n = len(order)
        elif self.shuffle:
            order = np.random.default_rng([*self.seed, self.epoch]).permutation(n)
        else:
            order = np.arange(n)
        self.epoch += 1
        stop = len(self) * self.batch_size if self.drop_last else n
        return self._batches(order[:stop])

    def _first_batch(self):
        """The batch of the first ``batch_size`` samples in dataset order, without moving
        ``epoch`` or drawing a shuffle: fit tries the model on it before training."""
        n = len(self.dataset)
        if n == 0:
            raise _errors.ValueError("[DataLoader] the dataset is empty: there is no first batch")
        return next(self._batches(np.arange(min(n, self.batch_size))))

    def _batches(self, order):
        fast = (isinstance(self.dataset, TensorDataset)
                and type(self.dataset).__getitem__ is TensorDataset.__getitem__)
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            if fast:
                # Fancy indexing returns a fresh contiguous array that from_numpy wraps as is.
                batch = tuple(_C.from_numpy(a[index]) for a in self.dataset.arrays)
            else:
                batch = _collate([self.dataset[int(i)] for i in index])
            yield self._move(batch)

    def _move(self, batch):
        if self.device is None:
            return batch
        if isinstance(batch, tuple):
            return tuple(t.to(self.device) for t in batch)
        if isinstance(batch, dict):
            return {k: t.to(self.device) for k, t in batch.items()}
        return batch.to(self.device)

    def __repr__(self):
        return (f"DataLoader(dataset={self.dataset!r}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
