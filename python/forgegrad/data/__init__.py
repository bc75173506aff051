"""Datasets, samplers and the DataLoader, as ``torch.utils.data`` (also importable as
``forgegrad.utils.data``): one file per concept.

    dataset.py     Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset,
                   ChainDataset, random_split
    sampler.py     Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
                   WeightedRandomSampler, BatchSampler
    collate.py     default_collate, default_convert (samples -> batches of Tensors)
    dataloader.py  DataLoader (batching, shuffling, worker processes)
    _worker.py     what runs in a worker process; get_worker_info
    _fetch.py      reading one batch, in the main process or a worker
"""

from ._worker import WorkerInfo, get_worker_info
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "Subset",
    "ConcatDataset",
    "ChainDataset",
    "random_split",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "DataLoader",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "WorkerInfo",
]
