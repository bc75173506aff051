"""torch.utils.data's pieces beyond test_data.py's basics: samplers, batch samplers, the
DataLoader's option rules and len(), default_collate of nested samples, worker processes
(same batches in the same order as num_workers=0, errors, seeds, IterableDataset sharding),
Subset / ConcatDataset / random_split, np.memmap datasets read lazily, and fit on it all.
Worker tests start processes: a few only, small ones."""

import collections
import gc
import itertools
import tracemalloc

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn, optim
from forgegrad.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)
from forgegrad.data._worker import generate_state

from helpers import to_numpy


def id_dataset(n):
    ids = np.arange(n)
    return TensorDataset(np.stack([ids, -ids], axis=1).astype(np.float32), ids)


def as_lists(batches):
    """Batches (Tensors, tuples, dicts of them) as nested Python lists, for comparing."""
    if isinstance(batches, fg.Tensor):
        return to_numpy(batches).tolist()
    if isinstance(batches, dict):
        return {k: as_lists(v) for k, v in batches.items()}
    if isinstance(batches, (list, tuple)):
        return [as_lists(b) for b in batches]
    return batches


class Records(Dataset):
    """Samples of every kind read one by one: (array, dict of number and Tensor, string)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(3, i, np.float64), {"id": i, "sq": fg.tensor([i * i])}, f"s{i}"


class Stream(IterableDataset):
    """0 .. n-1, each worker taking every num_workers-th item from its id on."""

    def __init__(self, n, with_len=True):
        self.n, self.with_len = n, with_len

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        if not self.with_len:
            raise TypeError("Stream has no length")
        return self.n


# ------------------------------------------------------------------------------ samplers
def test_sequential_and_random_samplers():
    data = list(range(10))
    assert list(SequentialSampler(data)) == data and len(SequentialSampler(data)) == 10
    sampler = RandomSampler(data, seed=3)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == data and first != second
    again = RandomSampler(data, seed=3)
    assert list(again) == first
    again.set_epoch(1)
    assert list(again) == second
    longer = list(RandomSampler(data, num_samples=25, seed=0))
    assert len(longer) == 25 and sorted(longer[:10]) == data and sorted(longer[10:20]) == data
    drawn = list(RandomSampler(data, replacement=True, num_samples=200, seed=0))
    assert len(drawn) == 200 and set(drawn) == set(data)  # with replacement: repeats


def test_random_sampler_generator_and_manual_seed_fix_the_order():
    def orders(**kwargs):
        sampler = RandomSampler(range(20), **kwargs)
        return [list(sampler) for _ in range(2)]

    g1, g2 = fg.Generator().manual_seed(7), fg.Generator().manual_seed(7)
    assert orders(generator=g1) == orders(generator=g2)
    assert orders(generator=fg.Generator().manual_seed(8)) != orders(generator=g1)
    fg.manual_seed(4)
    first = orders()
    fg.manual_seed(4)
    assert orders() == first


def test_subset_random_and_weighted_samplers():
    picked = SubsetRandomSampler(np.array([3, 5, 8, 13]), seed=0)
    assert len(picked) == 4 and sorted(picked) == [3, 5, 8, 13]
    weights = [0.0, 1.0, 3.0, 0.0, 6.0]
    drawn = list(WeightedRandomSampler(weights, 4000, seed=0))
    counts = np.bincount(drawn, minlength=5) / 4000
    assert counts[0] == counts[3] == 0
    np.testing.assert_allclose(counts[[1, 2, 4]], [0.1, 0.3, 0.6], atol=0.03)
    once = list(WeightedRandomSampler(fg.tensor(weights), 3, replacement=False, seed=1))
    assert sorted(once) == [1, 2, 4]
    with pytest.raises(ValueError, match=r"\[WeightedRandomSampler\].*without replacement"):
        WeightedRandomSampler(weights, 4, replacement=False)
    with pytest.raises(ValueError, match=r"\[WeightedRandomSampler\].*1-d"):
        WeightedRandomSampler([[1.0, 2.0]], 1)
    with pytest.raises(ValueError, match=r"\[WeightedRandomSampler\].*>= 0"):
        WeightedRandomSampler([1.0, -1.0], 1)


def test_batch_sampler():
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2
    with pytest.raises(ValueError, match=r"\[BatchSampler\].*batch_size >= 1"):
        BatchSampler(range(7), 0, False)
    with pytest.raises(TypeError, match=r"\[BatchSampler\].*drop_last.*bool"):
        BatchSampler(range(7), 2, None)
    with pytest.raises(TypeError, match=r"\[RandomSampler\].*replacement.*bool"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match=r"\[RandomSampler\].*num_samples >= 1"):
        RandomSampler(range(3), num_samples=0)


def test_loader_with_a_sampler_or_a_batch_sampler():
    ds = id_dataset(10)
    reverse = list(range(9, -1, -1))
    batches = [to_numpy(y).tolist() for _, y in DataLoader(ds, batch_size=4, sampler=reverse)]
    assert batches == [[9, 8, 7, 6], [5, 4, 3, 2], [1, 0]]
    pairs = [[0, 9], [1, 8, 2], [5]]
    loader = DataLoader(ds, batch_sampler=pairs)
    assert [to_numpy(y).tolist() for _, y in loader] == pairs
    assert len(loader) == 3 and loader.batch_size is None
    weighted = DataLoader(ds, batch_size=5, sampler=WeightedRandomSampler([1.0] * 10, 15))
    assert len(weighted) == 3 and sum(len(y) for _, y in weighted) == 15


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(batch_sampler=[[0]], batch_size=2), "mutually exclusive"),
        (dict(batch_sampler=[[0]], shuffle=True), "mutually exclusive"),
        (dict(batch_sampler=[[0]], sampler=[0]), "mutually exclusive"),
        (dict(batch_sampler=[[0]], drop_last=True), "mutually exclusive"),
        (dict(sampler=[0, 1], shuffle=True), "sampler is mutually exclusive with shuffle"),
        (dict(batch_size=None, drop_last=True), "batch_size=None"),
        (dict(num_workers=-1), "num_workers >= 0"),
        (dict(prefetch_factor=2), "prefetch_factor needs num_workers > 0"),
        (dict(persistent_workers=True), "persistent_workers needs num_workers > 0"),
        (dict(timeout=-1), "timeout >= 0"),
    ],
)
def test_loader_option_rules(kwargs, message):
    with pytest.raises(ValueError, match=rf"\[DataLoader\].*{message}"):
        DataLoader(id_dataset(4), **kwargs)


def test_iterable_dataset_refuses_shuffle_and_samplers():
    for kwargs in (dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError, match=r"\[DataLoader\] an IterableDataset decides"):
            DataLoader(Stream(4), **kwargs)


# ------------------------------------------------------------------ batching and collation
def test_batch_size_none_converts_samples_one_by_one():
    loader = DataLoader(Records(3), batch_size=None)
    assert len(loader) == 3
    array, record, name = next(iter(loader))
    assert isinstance(array, fg.Tensor) and tuple(array.shape) == (3,)
    assert record["id"] == 0 and name == "s0"  # numbers and strings stay as they are
    converted = default_convert({"a": np.arange(2), "b": [np.ones(1), 2.5], "c": "x"})
    assert isinstance(converted["a"], fg.Tensor) and converted["a"].dtype == fg.int64
    assert isinstance(converted["b"], list) and isinstance(converted["b"][0], fg.Tensor)
    assert converted["b"][1] == 2.5 and converted["c"] == "x"


def test_default_collate_of_nested_samples():
    Point = collections.namedtuple("Point", "x y")
    samples = [
        {
            "pos": Point(np.array([i, i + 1.0]), i),
            "tags": [f"t{i}", i % 2 == 0],
            "t": fg.tensor([[i, -i]], dtype=fg.float64),
        }
        for i in range(3)
    ]
    batch = default_collate(samples)
    assert set(batch) == {"pos", "tags", "t"}
    assert isinstance(batch["pos"], Point)
    np.testing.assert_array_equal(to_numpy(batch["pos"].x), [[0, 1], [1, 2], [2, 3]])
    assert batch["pos"].x.dtype == fg.float32 and batch["pos"].y.dtype == fg.int64
    assert isinstance(batch["tags"], list) and batch["tags"][0] == ["t0", "t1", "t2"]
    assert to_numpy(batch["tags"][1]).tolist() == [True, False, True]
    assert batch["t"].dtype == fg.float64 and tuple(batch["t"].shape) == (3, 1, 2)
    loader = DataLoader(Records(5), batch_size=2)
    arrays, record, names = list(loader)[-1]
    assert tuple(arrays.shape) == (1, 3) and names == ["s4"]
    assert as_lists(record) == {"id": [4], "sq": [[16]]}
    with pytest.raises(ValueError, match=r"\[default_collate\].*same number of fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match=r"\[default_collate\].*got NoneType"):
        default_collate([None, None])
    with pytest.raises(ValueError, match=r"\[default_collate\].*at least one sample"):
        default_collate([])


def test_custom_collate_fn():
    def pad(samples):
        return [int(to_numpy(y)) for _, y in samples]

    assert list(DataLoader(id_dataset(5), batch_size=2, collate_fn=pad)) == [[0, 1], [2, 3], [4]]
    with pytest.raises(TypeError, match=r"\[DataLoader\].*collate_fn to be callable"):
        DataLoader(id_dataset(5), collate_fn=3)


# ------------------------------------------------------------------------------- workers
def test_workers_give_the_batches_of_num_workers_0_in_the_same_order():
    ds = id_dataset(37)
    for dataset in (ds, Records(11)):
        serial = DataLoader(dataset, batch_size=4, shuffle=True, seed=5)
        parallel = DataLoader(
            dataset, batch_size=4, shuffle=True, seed=5, num_workers=2, prefetch_factor=3
        )
        for _ in range(2):  # two epochs: each its own shuffle, the same in both
            assert as_lists(list(parallel)) == as_lists(list(serial))
    persistent = DataLoader(
        ds, batch_size=5, shuffle=True, seed=1, num_workers=2, persistent_workers=True
    )
    first = iter(persistent)
    next(first)  # epoch 0 left half read: the next one starts clean on the same workers
    workers = [w.pid for w in first._workers]
    serial = DataLoader(ds, batch_size=5, shuffle=True, seed=1)
    serial.set_epoch(1)
    for _ in range(2):  # epochs 1 and 2
        assert as_lists(list(persistent)) == as_lists(list(serial))
    processes = persistent._persistent_iterator._workers
    assert [w.pid for w in processes] == workers
    del persistent, first  # the loader goes: its workers are asked to end, not killed
    for w in processes:
        w.join(timeout=10)
        assert w.exitcode == 0


class Fails(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError(f"no sample {i}")
        return np.float32(i)


def test_a_worker_error_is_raised_here_with_the_worker_and_its_traceback():
    loader = DataLoader(Fails(), batch_size=2, num_workers=2)
    it = iter(loader)
    assert to_numpy(next(it)).tolist() == [0, 1] and to_numpy(next(it)).tolist() == [2, 3]
    with pytest.raises(KeyError) as caught:
        next(it)
    message = str(caught.value)
    assert "Caught KeyError in DataLoader worker process 0" in message
    assert "Original Traceback" in message and "in __getitem__" in message
    assert "no sample 5" in message
    assert all(not w.is_alive() for w in it._workers)  # the workers are gone, no hang


class WorkerFacts(Dataset):
    """Sample i: the worker's id, its seed, and a draw from numpy's global RNG."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return np.array([info.id, info.seed, np.random.randint(1 << 30)])


def reseed_numpy(worker_id):
    assert get_worker_info().id == worker_id
    np.random.seed(1000 + worker_id)


def test_worker_seeds_info_and_init_fn():
    assert get_worker_info() is None  # in the main process
    # torch's derivation of the workers' numpy seeds (values from torch's _generate_state)
    assert generate_state(12345, 1) == [530262504, 3509291438, 1156716502, 3400667355]
    assert generate_state(2**40 + 7, 0) == [1188088520, 935548948, 2315380233, 2593243894]

    def facts(init_fn=None):
        loader = DataLoader(
            WorkerFacts(),
            batch_size=1,
            num_workers=2,
            worker_init_fn=init_fn,
            generator=fg.Generator().manual_seed(3),
        )
        return np.concatenate([to_numpy(b) for b in loader])

    seeded = facts()
    ids, seeds, draws = seeded[:, 0], seeded[:, 1], seeded[:, 2]
    assert ids.tolist() == [0, 1, 0, 1]  # tasks go round-robin
    base = int(seeds[0])
    assert seeds.tolist() == [base, base + 1] * 2  # base seed + worker id, as torch
    expected = [
        np.random.RandomState(generate_state(base, w)).randint(1 << 30, size=2) for w in (0, 1)
    ]
    assert draws.tolist() == [expected[0][0], expected[1][0], expected[0][1], expected[1][1]]
    np.testing.assert_array_equal(facts(), seeded)  # the same generator, the same seeds
    reseeded = facts(reseed_numpy)[:, 2]  # worker_init_fn runs after the seeding
    assert reseeded.tolist()[::2] == np.random.RandomState(1000).randint(1 << 30, size=2).tolist()


def test_iterable_dataset_sharded_across_workers_and_len():
    serial = [to_numpy(b).tolist() for b in DataLoader(Stream(10), batch_size=3)]
    assert serial == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    loader = DataLoader(Stream(10), batch_size=2, num_workers=2)
    batches = [to_numpy(b).tolist() for b in loader]
    # worker 0 reads 0 2 4 6 8, worker 1 reads 1 3 5 7 9; batches alternate between them
    assert batches == [[0, 2], [1, 3], [4, 6], [5, 7], [8], [9]]
    assert len(loader) == 5  # len(dataset) / batch_size, as torch (sharding makes more)
    assert len(DataLoader(Stream(10), batch_size=3, drop_last=True)) == 3
    assert [to_numpy(b).tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [
        [0, 1, 2],
        [3, 4, 5],
    ]
    with pytest.raises(TypeError):
        len(DataLoader(Stream(4, with_len=False)))
    chained = [int(x) for x in DataLoader(ChainDataset([Stream(2), Stream(3)]), batch_size=None)]
    assert chained == [0, 1, 0, 1, 2]


def test_a_worker_iterator_outlives_its_loader():
    iterator = iter(DataLoader(id_dataset(10), batch_size=3, num_workers=1))
    gc.collect()  # the iterator holds its loader weakly
    assert len(iterator) == 4 and sum(1 for _ in iterator) == 4
    stream = iter(DataLoader(Stream(4, with_len=False), num_workers=1))
    gc.collect()
    for _ in range(2):  # each call raises a fresh error, with the stream's message
        with pytest.raises(TypeError, match="Stream has no length"):
            len(stream)


def test_breaking_out_of_a_worker_loop_ends_the_workers():
    loader = DataLoader(id_dataset(100), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)
    workers = it._workers
    del it  # what a `break` leaves: the iterator's last reference goes
    for w in workers:
        w.join(timeout=10)
        assert not w.is_alive()


# ------------------------------------------------------------------------------ datasets
def test_subset_and_concat_dataset():
    ds = id_dataset(10)
    sub = Subset(ds, [7, 2, 2, 9])
    assert len(sub) == 4 and int(to_numpy(sub[0][1])) == 7 and int(to_numpy(sub[-1][1])) == 9
    assert [to_numpy(y).tolist() for _, y in DataLoader(sub, batch_size=3)] == [[7, 2, 2], [9]]
    with pytest.raises(TypeError, match=r"\[Subset\].*integer indices"):
        Subset(ds, [1.5])
    both = ConcatDataset([id_dataset(3), Subset(ds, [5, 6])])
    assert len(both) == 5 and both.cumulative_sizes == [3, 5]
    labels = [int(to_numpy(both[i][1])) for i in range(-5, 5)]
    assert labels == [0, 1, 2, 5, 6] * 2
    for index in (5, -6):
        with pytest.raises(IndexError, match=rf"\[ConcatDataset\] index {index} is out of range"):
            both[index]
    assert len(id_dataset(2) + id_dataset(3)) == 5
    with pytest.raises(TypeError, match=r"\[ConcatDataset\].*IterableDataset"):
        ConcatDataset([Stream(3)])
    with pytest.raises(ValueError, match=r"\[ConcatDataset\].*at least one"):
        ConcatDataset([])


def test_random_split_lengths_and_determinism():
    ds = id_dataset(10)
    parts = random_split(ds, [0.5, 0.3, 0.2], generator=fg.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [5, 3, 2]
    ids = sorted(itertools.chain.from_iterable(p.indices for p in parts))
    assert ids == list(range(10))  # disjoint and complete
    again = random_split(ds, [5, 3, 2], generator=fg.Generator().manual_seed(1))
    assert [p.indices for p in again] == [p.indices for p in parts]
    other = random_split(ds, [5, 3, 2], generator=fg.Generator().manual_seed(2))
    assert [p.indices for p in other] != [p.indices for p in parts]
    assert [len(p) for p in random_split(range(7), [0.5, 0.5])] == [4, 3]  # remainder first
    with pytest.raises(ValueError, match=r"\[random_split\].*sum to 9, not .* 10"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match=r"\[random_split\].*fractions summing to 1"):
        random_split(ds, [0.5, 0.2])


def test_memmap_dataset_is_read_a_batch_at_a_time(tmp_path):
    rows, features = 40_000, 100  # 32 MB of float64 on disk
    x = np.lib.format.open_memmap(
        tmp_path / "x.npy", mode="w+", dtype=np.float64, shape=(rows, features)
    )
    x[:] = np.arange(rows)[:, None] + np.arange(features) / 1000
    x.flush()
    del x
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    labels = np.memmap(tmp_path / "y.i64", dtype=np.int64, mode="w+", shape=(rows,))
    labels[:] = np.arange(rows) % 3
    tracemalloc.start()
    try:
        ds = TensorDataset(mapped, labels)
        assert isinstance(ds.arrays[0], np.memmap)  # kept as the mapping, not converted
        loader = DataLoader(ds, batch_size=64, shuffle=True, seed=0)
        for k, (xb, yb) in zip(range(20), loader):
            rows_read = to_numpy(xb)[:, 0].astype(np.int64)
            assert xb.dtype == fg.float32 and tuple(xb.shape) == (64, features)
            np.testing.assert_array_equal(to_numpy(yb), rows_read % 3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak / 2**20:.1f} MiB: the 32 MB array was read whole"
    np.testing.assert_allclose(to_numpy(ds[123][0])[:3], [123.0, 123.001, 123.002], rtol=1e-6)


def test_utils_data_is_the_same_module():
    from forgegrad.utils.data import DataLoader as AliasLoader, random_split as alias_split

    assert AliasLoader is DataLoader and alias_split is random_split
    assert fg.utils.data.TensorDataset is TensorDataset


def test_fit_trains_on_a_worker_loader_with_a_sampler():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    train, val = random_split(
        TensorDataset(x, y), [0.75, 0.25], generator=fg.Generator().manual_seed(0)
    )
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    loader = DataLoader(
        train,
        batch_size=16,
        sampler=RandomSampler(train, seed=0),
        num_workers=2,
        persistent_workers=True,
    )
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.05),
        loader,
        DataLoader(val, batch_size=32),
        epochs=3,
        progress=False,
        verbose=0,
    )
    assert len(history) == 3 and history.epochs[-1]["val_accuracy"] > 0.7


def test_bad_generator_names_the_loader():
    with pytest.raises(
        TypeError,
        match=r"\[DataLoader\] expected generator to be a "
        r"forgegrad.Generator or None, got int",
    ):
        DataLoader(id_dataset(3), generator=3)
    with pytest.raises(TypeError, match=r"\[random_split\] expected generator"):
        random_split(id_dataset(3), [1, 2], generator=np.random.default_rng(0))
