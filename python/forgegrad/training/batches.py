"""How the data reaches the model: a DataLoader made from what the caller gave, its batches
as (inputs, targets) on the model's device, and eval mode for the passes that only look."""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from .. import _C, _errors
from ..autograd import no_grad
from ..data import DataLoader, Dataset, IterableDataset, TensorDataset
from ..distributed import training as _distributed
from ..nn.module import Module


class MapStyle(Protocol):
    """Anything indexable with a length, read as a dataset: a list of (input, target) pairs."""

    def __getitem__(self, index: int, /) -> Any: ...

    def __len__(self) -> int: ...


# What fit, evaluate and predict take as data: a DataLoader, a Dataset (or anything with
# __getitem__ and __len__), or an (inputs, targets) pair of arrays or Tensors.
Data = DataLoader | Dataset | MapStyle | tuple[Any, Any]


def loader_for(data, batch_size, shuffle, seed, op, distributed=False):
    """A DataLoader from a DataLoader, a Dataset (an IterableDataset too, read in its own
    order), or an (inputs, targets) pair of arrays; `distributed`: over this rank's shard
    (distributed/training.py)."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, tuple):
        data = TensorDataset(*data)
    if isinstance(data, IterableDataset):
        if distributed:
            raise _errors.ValueError(
                f"[{op}] cannot shard an IterableDataset over the ranks; "
                "give a DataLoader over one whose __iter__ yields this "
                "rank's samples (forgegrad.distributed.get_rank())"
            )
        return DataLoader(data, batch_size=batch_size)
    if not isinstance(data, Dataset) and not (
        hasattr(data, "__getitem__") and hasattr(data, "__len__")
    ):
        raise _errors.TypeError(
            f"[{op}] expected a DataLoader, a Dataset or an (inputs, targets) "
            f"tuple, got {type(data).__name__}"
        )
    if distributed:
        return DataLoader(
            data, batch_size=batch_size, sampler=_distributed.sampler_for(data, shuffle, seed)
        )
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)


def batch_count(loader):
    """The number of batches an epoch of `loader` yields, or None when unknown (a stream
    without __len__: its epoch ends when its iterator does)."""
    try:
        return len(loader)
    except (TypeError, NotImplementedError):  # no __len__, or Dataset's that says so
        return None


def pair(batch, op, device=None):
    """A batch as (inputs, targets), its tensors moved to `device` when one is given."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch if device is None else tuple(moved(t, device) for t in batch)
    what = type(batch).__name__
    if isinstance(batch, (tuple, list)):
        what += f" of {len(batch)}"
    raise _errors.ValueError(f"[{op}] expected batches of (inputs, targets), got a {what}")


def moved(value, device):
    """A tensor on ``device`` (the same one when it is there); anything else as it is."""
    return value.to(device) if isinstance(value, _C.Tensor) and value.device != device else value


def model_device(model):
    """Where the model's parameters are (the first one's device), or None without any."""
    if isinstance(model, Module):
        for p in model.parameters():
            return p.device
    return None


@contextlib.contextmanager
def inference(model):
    """Eval mode without gradients; afterwards every module has its own train/eval mode back
    (not one flag for all, which would undo a submodule the user froze in eval mode)."""
    modules = list(model.modules()) if isinstance(model, Module) else [model]
    modes = [(m, m.training) for m in modules]
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        for module, mode in modes:
            module.training = mode
