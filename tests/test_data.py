"""TensorDataset and DataLoader: dtypes and shapes of what they hand out, every sample exactly
once per epoch, reproducible shuffles, generic collation, and errors on bad arguments."""

import numpy as np
import pytest

import forgegrad as fg
from forgegrad.data import DataLoader, Dataset, TensorDataset

from helpers import to_numpy


def make_xy(rng, n=23, features=3, classes=4):
    x = rng.standard_normal((n, features))  # float64: the dataset converts to float32
    y = rng.integers(0, classes, size=n)
    return x, y


def epoch_rows(loader):
    """The sample ids seen in one epoch, in order (column 0 of x holds each sample's id)."""
    rows = [to_numpy(xb)[:, 0] for xb, _ in loader]
    return np.concatenate([np.zeros(0, np.float32)] + rows).astype(np.int64)


def id_dataset(n):
    """x[i] = (i, -i), y[i] = i: batches tell which samples they hold and stay paired."""
    ids = np.arange(n)
    return TensorDataset(np.stack([ids, -ids], axis=1).astype(np.float32), ids)


# --------------------------------------------------------------------- TensorDataset
def test_tensor_dataset_numpy_dtypes_and_items(rng):
    x, y = make_xy(rng)
    mask = y > 1
    ds = TensorDataset(x, y.astype(np.int32), mask)
    assert len(ds) == 23
    assert [a.dtype for a in ds.arrays] == [np.float32, np.int64, np.bool_]
    np.testing.assert_array_equal(ds.arrays[0], x.astype(np.float32))
    xi, yi, mi = ds[5]
    assert isinstance(xi, fg.Tensor) and xi.dtype == fg.float32 and tuple(xi.shape) == (3,)
    assert yi.dtype == fg.int64 and yi.item() == y[5]
    assert mi.dtype == fg.bool and mi.item() == mask[5]
    np.testing.assert_array_equal(to_numpy(xi), x[5].astype(np.float32))
    np.testing.assert_array_equal(to_numpy(ds[-1][0]), x[-1].astype(np.float32))
    with pytest.raises(IndexError):
        ds[23]


def test_tensor_dataset_keeps_uint8_images_as_uint8(rng):
    pixels = rng.integers(0, 256, size=(10, 4, 4), dtype=np.uint8)
    ds = TensorDataset(pixels, np.arange(10))
    assert ds.arrays[0].dtype == np.uint8
    xb, _ = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.dtype == fg.uint8
    np.testing.assert_array_equal(to_numpy(xb.float()), pixels[:4].astype(np.float32))


def test_tensor_dataset_refuses_uint64_values_int64_cannot_hold():
    with pytest.raises(ValueError, match=r"\[TensorDataset\] values from .* do not fit int64"):
        TensorDataset(np.array([1, 2**64 - 1], np.uint64))
    assert TensorDataset(np.array([1, 2], np.uint64)).arrays[0].dtype == np.int64


def test_tensor_dataset_mixes_tensors_and_arrays(rng):
    x, y = make_xy(rng)
    xt = fg.tensor(x, requires_grad=True)
    ds = TensorDataset(xt, y)
    assert ds.arrays[0].dtype == np.float32 and ds.arrays[1].dtype == np.int64
    np.testing.assert_array_equal(ds.arrays[0], to_numpy(xt).astype(np.float32))
    assert not ds[0][0].requires_grad


def test_tensor_dataset_single_item_is_a_copy(rng):
    x, y = make_xy(rng)
    ds = TensorDataset(x.astype(np.float32), y)
    item = ds[0][0]
    item.numpy()[:] = 123.0
    assert ds.arrays[0][0, 0] != 123.0


def test_tensor_dataset_errors(rng):
    x, y = make_xy(rng)
    with pytest.raises(ValueError, match=r"\[TensorDataset\].*\[23, 22\]"):
        TensorDataset(x, y[:-1])
    with pytest.raises(ValueError, match=r"\[TensorDataset\].*at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match=r"\[TensorDataset\].*list"):
        TensorDataset(x, list(y))
    with pytest.raises(TypeError, match=r"\[TensorDataset\].*<U1"):
        TensorDataset(np.array(["a", "b"]))
    with pytest.raises(ValueError, match=r"\[TensorDataset\].*0-d"):
        TensorDataset(np.array(1.0))
    ds = TensorDataset(x, y)
    for index in (23, 100, -24):
        with pytest.raises(
            IndexError,
            match=rf"^\[TensorDataset\] index {index} is out of "
            r"range for 23 samples$",
        ):
            ds[index]
    assert np.array_equal(to_numpy(ds[-23][1]), y[0])  # negative indices count from the end


# ------------------------------------------------------------------------ DataLoader
def test_loader_yields_tensors_of_the_right_dtypes_and_shapes(rng):
    x, y = make_xy(rng, n=23)
    loader = DataLoader(TensorDataset(x, y), batch_size=5)
    batches = list(loader)
    assert len(batches) == len(loader) == 5
    assert [tuple(xb.shape) for xb, _ in batches] == [(5, 3)] * 4 + [(3, 3)]
    for xb, yb in batches:
        assert isinstance(xb, fg.Tensor) and xb.dtype == fg.float32
        assert yb.dtype == fg.int64 and tuple(yb.shape) == (xb.shape[0],)
        assert xb.device.type == "cpu"
    # Unshuffled: the batches are the data, in order.
    np.testing.assert_array_equal(
        np.concatenate([to_numpy(b[0]) for b in batches]), x.astype(np.float32)
    )
    np.testing.assert_array_equal(np.concatenate([to_numpy(b[1]) for b in batches]), y)


def test_batches_do_not_alias_the_dataset():
    ds = id_dataset(10)
    xb, _ = next(iter(DataLoader(ds, batch_size=4)))
    xb.numpy()[:] = -1.0
    assert ds.arrays[0][0, 0] == 0.0


@pytest.mark.parametrize("n,batch_size", [(23, 5), (20, 5), (7, 1), (3, 10), (1, 1)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_sample_once_per_epoch(n, batch_size, shuffle):
    loader = DataLoader(id_dataset(n), batch_size=batch_size, shuffle=shuffle, seed=3)
    assert len(loader) == -(-n // batch_size)
    for _ in range(3):
        rows = epoch_rows(loader)
        assert sorted(rows) == list(range(n))


@pytest.mark.parametrize("n,batch_size", [(23, 5), (20, 5), (3, 10), (9, 2)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_drop_last(n, batch_size, shuffle):
    loader = DataLoader(
        id_dataset(n), batch_size=batch_size, shuffle=shuffle, seed=1, drop_last=True
    )
    assert len(loader) == n // batch_size
    for _ in range(2):
        sizes = [xb.shape[0] for xb, _ in loader]
        assert sizes == [batch_size] * (n // batch_size)
        rows = epoch_rows(loader)
        assert len(set(rows)) == len(rows) == (n // batch_size) * batch_size
        assert set(rows) <= set(range(n))


def test_features_and_labels_stay_paired_when_shuffled():
    for xb, yb in DataLoader(id_dataset(50), batch_size=8, shuffle=True, seed=0):
        x, y = to_numpy(xb), to_numpy(yb)
        np.testing.assert_array_equal(x[:, 0], y)
        np.testing.assert_array_equal(x[:, 1], -y)


def test_empty_dataset_gives_no_batches():
    loader = DataLoader(id_dataset(0), batch_size=4, shuffle=True, seed=0)
    assert len(loader) == 0 and list(loader) == []


def test_shuffle_with_seed_is_reproducible_and_changes_each_epoch():
    a = DataLoader(id_dataset(40), batch_size=7, shuffle=True, seed=11)
    b = DataLoader(id_dataset(40), batch_size=7, shuffle=True, seed=11)
    epochs_a = [epoch_rows(a) for _ in range(3)]
    epochs_b = [epoch_rows(b) for _ in range(3)]
    for ea, eb in zip(epochs_a, epochs_b):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(epochs_a[0], epochs_a[1])
    assert not np.array_equal(epochs_a[1], epochs_a[2])
    assert not np.array_equal(epochs_a[0], np.arange(40))  # actually shuffled
    c = DataLoader(id_dataset(40), batch_size=7, shuffle=True, seed=12)
    assert not np.array_equal(epoch_rows(c), epochs_a[0])


def test_shuffle_without_seed_follows_manual_seed():
    def first_epochs():
        loader = DataLoader(id_dataset(40), batch_size=7, shuffle=True)
        return [epoch_rows(loader) for _ in range(2)]

    fg.manual_seed(5)
    first = first_epochs()
    fg.manual_seed(5)
    again = first_epochs()
    fg.manual_seed(6)
    other = first_epochs()
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], other[0])


def test_epoch_order_is_fixed_when_iteration_starts():
    loader = DataLoader(id_dataset(30), batch_size=4, shuffle=True, seed=2)
    it0, it1 = iter(loader), iter(loader)  # two epochs begun before either is read
    rows1 = np.concatenate([to_numpy(xb)[:, 0] for xb, _ in it1])
    rows0 = np.concatenate([to_numpy(xb)[:, 0] for xb, _ in it0])
    fresh = DataLoader(id_dataset(30), batch_size=4, shuffle=True, seed=2)
    np.testing.assert_array_equal(rows0, epoch_rows(fresh))
    np.testing.assert_array_equal(rows1, epoch_rows(fresh))


def test_set_epoch_repositions_the_shuffle_sequence():
    loader = DataLoader(id_dataset(30), batch_size=4, shuffle=True, seed=2)
    orders = [epoch_rows(loader) for _ in range(4)]
    assert loader.epoch == 4
    resumed = DataLoader(id_dataset(30), batch_size=4, shuffle=True, seed=2)
    resumed.set_epoch(2)
    np.testing.assert_array_equal(epoch_rows(resumed), orders[2])
    np.testing.assert_array_equal(epoch_rows(resumed), orders[3])
    with pytest.raises(ValueError, match="epoch"):
        resumed.set_epoch(-1)
    assert resumed.epoch == 4  # a rejected set_epoch changes nothing


def test_device_argument():
    loader = DataLoader(id_dataset(6), batch_size=4, device="cpu")
    assert loader.device == fg.device("cpu")
    assert all(xb.device.type == "cpu" and yb.device.type == "cpu" for xb, yb in loader)
    with pytest.raises(ValueError, match="gpu"):
        DataLoader(id_dataset(6), device="gpu")
    with pytest.raises(TypeError, match=r"\[DataLoader\].*device"):
        DataLoader(id_dataset(6), device=0)


# ---------------------------------------------------------------- generic datasets
class Squares(Dataset):
    """Samples (array, Tensor, int, float, bool) of every kind collation supports."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return (
            np.full(2, i, dtype=np.float64),
            fg.tensor([i, i * i]),
            i * i,
            float(i) / 2,
            i % 2 == 0,
        )


def test_generic_dataset_collation():
    loader = DataLoader(Squares(7), batch_size=3)
    batches = list(loader)
    assert len(batches) == len(loader) == 3
    a, t, sq, half, even = batches[-1]
    assert [b.dtype for b in batches[0]] == [fg.float32, fg.int64, fg.int64, fg.float32, fg.bool]
    np.testing.assert_array_equal(to_numpy(a), [[6.0, 6.0]])
    np.testing.assert_array_equal(to_numpy(batches[0][1]), [[0, 0], [1, 1], [2, 4]])
    np.testing.assert_array_equal(to_numpy(batches[1][2]), [9, 16, 25])
    np.testing.assert_array_equal(to_numpy(batches[0][3]), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(to_numpy(batches[1][4]), [False, True, False])


def test_generic_dataset_shuffles_every_sample_once():
    loader = DataLoader(Squares(11), batch_size=4, shuffle=True, seed=0)
    seen = np.concatenate([to_numpy(b[2]) for b in loader])
    assert sorted(seen) == [i * i for i in range(11)]


def test_generic_single_values_and_dicts():
    class Single(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.arange(3) + i

    class Dicts(Single):
        def __getitem__(self, i):
            return {"x": np.ones(2) * i, "y": i}

    (batch,) = list(DataLoader(Single(), batch_size=5))
    assert isinstance(batch, fg.Tensor) and tuple(batch.shape) == (5, 3)
    np.testing.assert_array_equal(to_numpy(batch)[:, 0], np.arange(5))
    first = next(iter(DataLoader(Dicts(), batch_size=2)))
    assert set(first) == {"x", "y"}
    np.testing.assert_array_equal(to_numpy(first["x"]), [[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(to_numpy(first["y"]), [0, 1])


def test_tensor_dataset_subclass_uses_its_getitem():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2.0, y

    (xb, yb) = next(iter(DataLoader(Doubled(np.ones((3, 2)), np.arange(3)), batch_size=3)))
    np.testing.assert_array_equal(to_numpy(xb), np.full((3, 2), 2.0))
    np.testing.assert_array_equal(to_numpy(yb), [0, 1, 2])


def test_collation_errors():
    class Ragged(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.zeros(i + 1)

    class NumpyStrings(Ragged):
        def __getitem__(self, i):
            return np.array(["abc"])

    with pytest.raises(ValueError, match=r"\[default_collate\].*different shapes"):
        list(DataLoader(Ragged(), batch_size=2))
    with pytest.raises(TypeError, match=r"\[default_collate\].*<U3"):
        list(DataLoader(NumpyStrings(), batch_size=2))

    class DictsWithOtherKeys(Ragged):
        def __getitem__(self, i):
            return {"x": np.zeros(2), "y": 1} if i == 0 else {"x": np.zeros(2), "label": 1}

    with pytest.raises(
        ValueError,
        match=r"^\[default_collate\] samples have different keys: "
        r"\['x', 'y'\] and \['label', 'x'\]$",
    ):
        list(DataLoader(DictsWithOtherKeys(), batch_size=2))


def test_first_batch_leaves_the_epoch_and_the_shuffle_alone():
    # fit tries its model on _first_batch() before training: the first batch_size samples in
    # dataset order, without using up an epoch of the loader's sequence of shuffles.
    loader = DataLoader(id_dataset(10), batch_size=4, shuffle=True, seed=3)
    xb, yb = loader._first_batch()
    assert to_numpy(yb).tolist() == [0, 1, 2, 3] and loader.epoch == 0
    again = DataLoader(id_dataset(10), batch_size=4, shuffle=True, seed=3)
    assert np.array_equal(epoch_rows(loader), epoch_rows(again))
    assert to_numpy(DataLoader(id_dataset(3), batch_size=4)._first_batch()[1]).tolist() == [0, 1, 2]


# ---------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    "batch_size,error",
    [(0, ValueError), (-3, ValueError), (2.0, TypeError), ("4", TypeError), (True, TypeError)],
)
def test_bad_batch_size(batch_size, error):
    with pytest.raises(error, match=r"\[DataLoader\].*batch_size"):
        DataLoader(id_dataset(4), batch_size=batch_size)


def test_bad_dataset_and_seed():
    with pytest.raises(TypeError, match=r"\[DataLoader\].*__len__.*int"):
        DataLoader(5)
    with pytest.raises(TypeError, match=r"\[DataLoader\].*seed"):
        DataLoader(id_dataset(4), shuffle=True, seed=1.5)
    with pytest.raises(ValueError, match=r"\[DataLoader\].*seed"):
        DataLoader(id_dataset(4), shuffle=True, seed=-1)


def test_attributes():
    ds = id_dataset(9)
    loader = DataLoader(ds, batch_size=4)
    assert loader.dataset is ds and loader.batch_size == 4
    assert "batch_size=4" in repr(loader)
