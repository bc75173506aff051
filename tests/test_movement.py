"""Data movement composed in Python (forgegrad/_movement.py): flip, roll, repeat, tile, tril,
triu, hstack, vstack, against numpy; gradients through the ops they are made of."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import nn
from helpers import as_tensor, gradcheck, make_input, to_numpy

X = make_input((3, 4, 5))

CASES = [
    ("flip", lambda t: fg.flip(t, (0, 2)), lambda a: np.flip(a, (0, 2))),
    ("flip_method", lambda t: t.flip(-1), lambda a: np.flip(a, -1)),
    ("fliplr", fg.fliplr, np.fliplr),
    ("flipud", fg.flipud, np.flipud),
    ("roll", lambda t: fg.roll(t, (1, -2), (0, 2)), lambda a: np.roll(a, (1, -2), (0, 2))),
    ("roll_flat", lambda t: t.roll(7), lambda a: np.roll(a, 7)),
    ("repeat", lambda t: t.repeat(2, 1, 3, 1), lambda a: np.tile(a, (2, 1, 3, 1))),
    ("tile", lambda t: fg.tile(t, (2, 1)), lambda a: np.tile(a, (2, 1))),
    ("tril", lambda t: fg.tril(t, -1), lambda a: np.tril(a, -1)),
    ("triu", lambda t: t.triu(2), lambda a: np.triu(a, 2)),
    ("hstack", lambda t: fg.hstack([t, t[:, :2]]), lambda a: np.hstack([a, a[:, :2]])),
    ("vstack", lambda t: fg.vstack([t[0], t[1, 0]]), lambda a: np.vstack([a[0], a[1, 0]])),
]


@pytest.mark.parametrize("name, op, ref", CASES, ids=[c[0] for c in CASES])
def test_movement_matches_numpy(name, op, ref, device):
    np.testing.assert_array_equal(to_numpy(op(as_tensor(X, device))), ref(X))


@pytest.mark.parametrize("name, op, ref", CASES, ids=[c[0] for c in CASES])
def test_movement_gradients(name, op, ref):
    gradcheck(op, X[:2, :3, :4].astype(np.float64))


def test_movement_errors():
    with pytest.raises(ValueError, match=r"\[fliplr\] expected at least 2 dimensions"):
        fg.fliplr(fg.ones(3))
    with pytest.raises(IndexError, match=r"\[flip\] dimension 3 is out of range"):
        fg.flip(fg.ones(2, 2), (3,))
    with pytest.raises(ValueError, match=r"\[repeat\] expected at least 2 sizes"):
        fg.ones(2, 2).repeat(2)
    with pytest.raises(ValueError, match=r"\[roll\] expected as many shifts as dims"):
        fg.roll(fg.ones(2, 2), (1, 2), 0)


def test_tril_in_place_and_integers():
    x = fg.ones(3, 3, dtype=fg.int64)
    x.triu_()
    assert x.tolist() == [[1, 1, 1], [0, 1, 1], [0, 0, 1]]
    assert fg.roll(fg.tensor([]), 3).tolist() == []


# ---- the data movement of issue 14 composed in Python (values and gradients: tests/op_db.py)
INDEX = fg.tensor([0, 2])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: fg.ones(3, 2).index_add(0, fg.tensor([3, 0]), fg.ones(2, 2)),
            IndexError,
            r"\[index_add\] index 3 is out of bounds for dimension 0 with size 3",
        ),
        (
            lambda: fg.ones(3, 2).index_add(0, fg.tensor([-1]), fg.ones(1, 2)),
            IndexError,
            r"\[index_add\] index -1 is out of bounds",
        ),
        (
            lambda: fg.ones(3, 2).index_add(0, fg.tensor([0.0]), fg.ones(1, 2)),
            TypeError,
            r"\[index_add\] expected an index of dtype forgegrad.int64 or forgegrad.int32",
        ),
        (
            lambda: fg.ones(3, 2).index_add(0, INDEX, fg.ones(3, 2)),
            ValueError,
            r"\[index_add\] expected source of shape \(2, 2\)",
        ),
        (
            lambda: fg.ones(3, 2).index_add(0, INDEX, fg.ones(2, 2, dtype=fg.float64)),
            TypeError,
            r"\[index_add\] expected source of the input's dtype",
        ),
        (
            lambda: fg.ones(3, 2).index_add(2, INDEX, fg.ones(2, 2)),
            IndexError,
            r"\[index_add\] dimension 2 is out of range",
        ),
        (
            lambda: fg.ones(3, 2).index_copy(0, INDEX.int(), fg.ones(2, 2)),
            TypeError,
            r"\[index_copy\] expected an index of dtype forgegrad.int64, got forgegrad.int32",
        ),
        (
            lambda: fg.ones(3, 2).index_copy(1, fg.tensor([[0]]), fg.ones(3, 1)),
            ValueError,
            r"\[index_copy\] expected a 0-d or 1-d index",
        ),
        (
            lambda: fg.ones(3, 2).index_fill(1, fg.tensor([-3]), 1.0),
            IndexError,
            r"\[index_fill\] index -3 is out of bounds for dimension 1 with size 2",
        ),
        (
            lambda: fg.ones(3, 2).index_fill(1, fg.tensor([0]), fg.ones(2)),
            ValueError,
            r"\[index_fill\] expected a number or a 0-d tensor as value",
        ),
        (
            lambda: fg.ones(3, 2).masked_scatter(fg.ones(3, 2).bool(), fg.ones(5)),
            ValueError,
            r"\[masked_scatter\] expected a source of at least 6 elements",
        ),
        (
            lambda: fg.ones(3, 2).masked_scatter(fg.ones(3, 2), fg.ones(6)),
            TypeError,
            r"\[masked_scatter\] expected a bool mask",
        ),
        (
            lambda: fg.ones(3, 2).masked_scatter(fg.ones(3).bool(), fg.ones(6)),
            ValueError,
            r"\[masked_scatter\] mask of shape \(3,\) does not broadcast",
        ),
        (
            lambda: fg.ones(3, 2).take(fg.tensor([6])),
            IndexError,
            r"\[take\] index 6 is out of range for a tensor of 6 elements",
        ),
        (
            lambda: fg.ones(3, 2).take(fg.tensor([1]).int()),
            TypeError,
            r"\[take\] expected an int64",
        ),
        (
            lambda: F.one_hot(fg.tensor([0, 3]), 3),
            ValueError,
            r"\[one_hot\] expected class values < num_classes \(3\), got 3",
        ),
        (
            lambda: F.one_hot(fg.tensor([-1, 0])),
            ValueError,
            r"\[one_hot\] expected class values >= 0",
        ),
        (lambda: F.one_hot(fg.tensor([1.0])), TypeError, r"\[one_hot\] expected an int64 tensor"),
        (
            lambda: F.one_hot(fg.tensor([], dtype=fg.int64)),
            ValueError,
            r"\[one_hot\] cannot infer the number of classes",
        ),
        (lambda: fg.meshgrid(fg.ones(2, 2)), ValueError, r"\[meshgrid\] expected 0-d or 1-d"),
        (
            lambda: fg.meshgrid(fg.ones(2), fg.ones(2, dtype=fg.int64)),
            TypeError,
            r"\[meshgrid\] expected tensors of one dtype",
        ),
        (
            lambda: fg.meshgrid(fg.ones(2), indexing="yx"),
            ValueError,
            r"\[meshgrid\] expected indexing 'ij' or 'xy'",
        ),
        (
            lambda: fg.cartesian_prod(fg.ones(2), fg.ones(2, 2)),
            ValueError,
            r"\[cartesian_prod\] expected 1-d tensors",
        ),
        (
            lambda: fg.repeat_interleave(fg.ones(3), fg.tensor([1, 2])),
            ValueError,
            r"\[repeat_interleave\] expected one repeat per slice along dim \(3\), got 2",
        ),
        (
            lambda: fg.repeat_interleave(fg.tensor([1, -2])),
            ValueError,
            r"\[repeat_interleave\] expected repeats >= 0, got -2",
        ),
        (
            lambda: fg.repeat_interleave(fg.tensor([1.0])),
            TypeError,
            r"\[repeat_interleave\] expected repeats of dtype int64 or int32",
        ),
        (
            lambda: fg.ones(3).repeat_interleave(2, output_size=5),
            ValueError,
            r"\[repeat_interleave\] output_size 5 does not match the 6 elements",
        ),
        (
            lambda: F.pad(fg.ones(2, 3), (3, 3), mode="reflect"),
            ValueError,
            r"\[pad\] padding size should be less than the corresponding input dimension",
        ),
        (
            lambda: F.pad(fg.ones(2, 3), (4, 0), mode="circular"),
            ValueError,
            r"\[pad\] padding \(4, 0\) wraps around dimension 1 of size 3 more than once",
        ),
        (
            lambda: F.pad(fg.ones(3), (1, 1), mode="replicate"),
            ValueError,
            r"\[pad\] mode 'replicate' pads the last 1, 2 or 3 dimensions",
        ),
        (
            lambda: F.pad(fg.ones(2, 3), (1, 1, 1)),
            ValueError,
            r"\[pad\] expected an even number of padding sizes",
        ),
        (lambda: F.pad(fg.ones(2, 3), (1,) * 6), ValueError, r"\[pad\] padding of length 6"),
        (lambda: F.pad(fg.ones(2, 3), (-4, 0)), ValueError, r"\[pad\] padding \(-4, 0\) crops"),
        (
            lambda: F.pad(fg.ones(2, 3), (1, 1), mode="reflect", value=1.0),
            ValueError,
            r"\[pad\] mode 'reflect' takes no value",
        ),
        (lambda: F.pad(fg.ones(2, 3), (1, 1), mode="wrap"), ValueError, r"\[pad\] expected mode"),
        (
            lambda: fg.ones(3, 2).index_select(0, fg.tensor([3])),
            IndexError,
            r"\[index_select\] index 3 is out of bounds for dimension 0 with size 3",
        ),
        (
            lambda: fg.ones(3, 2).index_select(-1, fg.tensor([0.0])),
            TypeError,
            r"\[index_select\] expected an index of dtype int64 or int32, got float32",
        ),
        (
            lambda: F.pad(fg.ones(2, 0), (1, 1), mode="replicate"),
            ValueError,
            r"\[pad\] mode 'replicate' expected a non-empty dimension 1",
        ),
    ],
)
def test_index_and_pad_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_index_writes_in_place_and_on_integers():
    x = fg.zeros(3, 2, dtype=fg.int64)
    x.index_add_(0, fg.tensor([2, 2]), fg.tensor([[1, 2], [3, 4]]), alpha=2)
    x.index_fill_(1, fg.tensor([0]), -1)
    x.index_copy_(0, fg.tensor([0]), fg.tensor([[7, 8]]))
    assert x.tolist() == [[7, 8], [-1, 0], [-1, 12]]
    y = fg.zeros(2, 2)
    y.masked_scatter_(fg.tensor([[True, False], [False, True]]), fg.tensor([5.0, 6.0, 7.0]))
    assert y.tolist() == [[5.0, 0.0], [0.0, 6.0]]
    with pytest.raises(ValueError, match=r"\[masked_scatter_\] the result of shape"):
        fg.zeros(2).masked_scatter_(fg.ones(3, 2).bool(), fg.ones(6))


def test_index_fill_value_tensor_gets_its_gradient_once_per_element():
    value = fg.tensor(2.0, requires_grad=True)
    fg.ones(3, 2).index_fill(0, fg.tensor([1, 1, -1]), value).sum().backward()
    assert value.grad.item() == 4.0  # rows 1 and 2, each once however often named


def test_one_hot_and_repeat_interleave_shapes():
    assert F.one_hot(fg.tensor([[0, 2]])).tolist() == [[[1, 0, 0], [0, 0, 1]]]
    assert F.one_hot(fg.tensor([], dtype=fg.int64), 4).shape == (0, 4)
    assert fg.repeat_interleave(fg.tensor([2, 0, 1])).tolist() == [0, 0, 2]
    assert (
        fg.tensor([[1, 2], [3, 4]])
        .repeat_interleave(fg.tensor([0, 2]), dim=0, output_size=2)
        .tolist()
        == [[3, 4]] * 2
    )


def test_meshgrid_xy_and_views():
    x, y = fg.arange(3), fg.arange(2)
    gx, gy = fg.meshgrid(x, y, indexing="xy")
    assert gx.tolist() == [[0, 1, 2]] * 2 and gy.tolist() == [[0, 0, 0], [1, 1, 1]]
    assert [g.shape for g in fg.meshgrid([x, y])] == [(3, 2), (3, 2)]


def test_pad_modules_are_f_pad():
    x = make_input((2, 3, 4))
    t = as_tensor(x, "cpu")
    pairs = [
        (nn.ZeroPad1d(2), np.pad(x, [(0, 0), (0, 0), (2, 2)])),
        (
            nn.ConstantPad2d((1, 0, 2, 1), 3.5),
            np.pad(x, [(0, 0), (2, 1), (1, 0)], constant_values=3.5),
        ),
        (nn.ConstantPad3d(1, -1.0), np.pad(x, 1, constant_values=-1.0)),
        (nn.ZeroPad2d((1, 1, 0, 1)), np.pad(x, [(0, 0), (0, 1), (1, 1)])),
        (nn.ReflectionPad1d((3, 1)), np.pad(x, [(0, 0), (0, 0), (3, 1)], "reflect")),
        (nn.ReflectionPad2d(1), np.pad(x, [(0, 0), (1, 1), (1, 1)], "reflect")),
        (nn.ReplicationPad1d(2), np.pad(x, [(0, 0), (0, 0), (2, 2)], "edge")),
        (nn.ReplicationPad2d((0, 1, 2, 0)), np.pad(x, [(0, 0), (2, 0), (0, 1)], "edge")),
        (nn.CircularPad1d(4), np.pad(x, [(0, 0), (0, 0), (4, 4)], "wrap")),
        (nn.CircularPad2d((1, 2, 3, 0)), np.pad(x, [(0, 0), (3, 0), (1, 2)], "wrap")),
    ]
    for module, want in pairs:
        np.testing.assert_array_equal(to_numpy(module(t)), want, err_msg=repr(module))
    assert repr(nn.ConstantPad1d(2, 1.5)) == "ConstantPad1d(padding=(2, 2), value=1.5)"
    assert repr(nn.ReflectionPad1d(1)) == "ReflectionPad1d((1, 1))"
    with pytest.raises(ValueError, match=r"\[ReflectionPad2d\] expected an int or 4"):
        nn.ReflectionPad2d((1, 2))


def test_pad_keeps_dtype_and_crops_past_both_ends():
    x = fg.arange(6).reshape(2, 3)
    assert F.pad(x, (1, -2), value=9).tolist() == [[9, 0], [9, 3]]
    assert F.pad(x, (0, 0, -1, -1)).shape == (0, 3)
    assert F.pad(fg.ones(0, 2), (1, 1)).shape == (0, 4)


def test_new_tensors_take_dtype_and_device_of_self():
    x = fg.ones(2, dtype=fg.float64)
    assert x.new_zeros(2, 3).dtype == fg.float64 and x.new_zeros((2, 3)).shape == (2, 3)
    assert x.new_ones(1).tolist() == [1.0] and x.new_empty(4).shape == (4,)
    assert x.new_full((2,), 7, dtype=fg.int64).tolist() == [7, 7]
    assert fg.tensor([1]).new_zeros(2, dtype=fg.float32).dtype == fg.float32
    made = x.new_tensor([[1, 2]], requires_grad=True)
    assert made.dtype == fg.float64 and made.requires_grad and made.shape == (1, 2)
    assert x.new_zeros(1, device="cpu").device.type == "cpu"
    with pytest.raises(TypeError, match=r"\[new_zeros\] unexpected arguments \['layout'\]"):
        x.new_zeros(2, layout=None)


def test_clone_takes_a_memory_format_and_keeps_the_values():
    x = fg.arange(6.0).reshape(2, 3).t()
    for memory_format in (fg.preserve_format, fg.contiguous_format):
        copy = x.clone(memory_format=memory_format)
        assert copy.tolist() == x.tolist() and copy.is_contiguous()
    assert repr(fg.preserve_format) == "forgegrad.preserve_format"
    with pytest.raises(TypeError):
        fg.clone(x, memory_format="channels_last")


def test_split_family_and_selections_on_any_dim():
    x = fg.arange(24.0).reshape(2, 3, 4)
    assert [p.shape for p in x.split([1, 3], -1)] == [(2, 3, 1), (2, 3, 3)]
    assert [p.shape for p in fg.split(x, 2, dim=1)] == [(2, 2, 4), (2, 1, 4)]
    assert [p.shape for p in x.chunk(3, -1)] == [(2, 3, 2), (2, 3, 2)]
    assert len(x.unbind(-2)) == 3 and x.flatten(1, -1).shape == (2, 12)
    assert x.index_select(-1, fg.tensor([3, 0])).tolist() == to_numpy(x)[..., [3, 0]].tolist()
    assert fg.argwhere(x > 21).tolist() == [[1, 2, 2], [1, 2, 3]]
    assert x.masked_select(x < 2).tolist() == [0.0, 1.0]
