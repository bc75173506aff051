"""Reading one batch from a dataset, given what the index sampler yielded: the same code in
the main process (``num_workers=0``) and in each worker."""

from .collate import default_collate
from .dataset import IterableDataset, batch_gatherer


class MapFetcher:
    """Map-style: ``index`` is a list of indices (batching on) or one index (off)."""

    def __init__(self, dataset, batching, collate_fn) -> None:
        self.dataset, self.batching, self.collate_fn = dataset, batching, collate_fn
        self.gather = batch_gatherer(dataset) if collate_fn is default_collate else None

    def fetch(self, index):
        if not self.batching:
            return self.collate_fn(self.dataset[index])
        if self.gather is not None:  # one fancy-indexing read per column, no per-sample work
            return self.gather(index)
        if hasattr(self.dataset, "__getitems__"):
            return self.collate_fn(self.dataset.__getitems__(index))
        return self.collate_fn([self.dataset[i] for i in index])


class IterableFetcher:
    """IterableDataset: each batch is the next ``len(index)`` samples of the stream (a short
    last one unless ``drop_last``); StopIteration once the stream is spent."""

    def __init__(self, dataset, batching, collate_fn, drop_last) -> None:
        self.iterator = iter(dataset)
        self.batching, self.collate_fn, self.drop_last = batching, collate_fn, drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.batching:
            return self.collate_fn(next(self.iterator))
        samples = []
        for _ in index:
            try:
                samples.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not samples or (self.drop_last and len(samples) < len(index)):
            raise StopIteration
        return self.collate_fn(samples)


def fetcher(dataset, batching, collate_fn, drop_last):
    if isinstance(dataset, IterableDataset):
        return IterableFetcher(dataset, batching, collate_fn, drop_last)
    return MapFetcher(dataset, batching, collate_fn)
