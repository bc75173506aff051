"""nn.Embedding and F.embedding against numpy row lookups: index shapes and dtypes, the
weight gradient (a scatter-add of the output's rows, checked by finite differences and
against np.add.at), padding_idx, max_norm, scale_grad_by_freq, from_pretrained, errors."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
import forgegrad.nn.functional as F
from helpers import as_tensor, assert_close, gradcheck, to_numpy

RNG = np.random.default_rng(16)


def np_embedding_grad(indices, dout, num_embeddings, padding_idx=None, by_freq=False):
    """The weight gradient: each output row added into the row it was looked up from."""
    flat, rows = indices.reshape(-1), dout.reshape(-1, dout.shape[-1])
    if by_freq:
        rows = rows / np.bincount(flat, minlength=num_embeddings)[flat][:, None]
    grad = np.zeros((num_embeddings, dout.shape[-1]))
    np.add.at(grad, flat, rows)
    if padding_idx is not None:
        grad[padding_idx] = 0
    return grad


@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 0), (2, 1, 4)])
def test_forward_is_the_rows_of_weight(device, shape, index_dtype):
    weight = RNG.standard_normal((6, 3))
    indices = RNG.integers(0, 6, size=shape).astype(index_dtype)
    out = F.embedding(fg.tensor(indices, device=device), as_tensor(weight, device))
    assert tuple(out.shape) == shape + (3,) and out.device.type == fg.device(device).type
    assert np.array_equal(to_numpy(out), weight[indices])


def test_backward_adds_repeated_rows_in_index_order(device):
    indices = np.array([[1, 4, 1], [0, 1, 4]])
    weight = as_tensor(RNG.standard_normal((5, 3)), device, requires_grad=True)
    dout = RNG.standard_normal((2, 3, 3))
    F.embedding(fg.tensor(indices, device=device), weight).backward(as_tensor(dout, device))
    assert_close(to_numpy(weight.grad), np_embedding_grad(indices, dout, 5), rtol=1e-12)


def test_backward_is_deterministic_on_the_cpu():
    indices = fg.tensor(RNG.integers(0, 7, size=4000))
    weight = nn.Parameter(fg.tensor(RNG.standard_normal((7, 5)).astype(np.float32)))
    dout = fg.tensor(RNG.standard_normal((4000, 5)).astype(np.float32))
    grads = []
    for _ in range(2):
        weight.grad = None
        F.embedding(indices, weight).backward(dout)
        grads.append(to_numpy(weight.grad).copy())
    assert np.array_equal(grads[0], grads[1])


def test_weight_gradient_by_finite_differences(device):
    # padding_idx and scale_grad_by_freq change the gradient but not the values, so finite
    # differences cannot see them: np_embedding_grad checks those
    indices = fg.tensor(np.array([[0, 2, 3], [3, 3, 1]], dtype=np.int32), device=device)
    gradcheck(lambda w: F.embedding(indices, w), RNG.standard_normal((4, 3)), device=device)


@pytest.mark.parametrize("by_freq", [False, True])
@pytest.mark.parametrize("padding_idx", [2, -2, None])
def test_padding_row_and_frequency_scaling(device, by_freq, padding_idx):
    indices = np.array([0, 2, 2, 1, 2])
    weight = as_tensor(RNG.standard_normal((4, 2)), device, requires_grad=True)
    dout = RNG.standard_normal((5, 2))
    out = F.embedding(
        fg.tensor(indices, device=device),
        weight,
        padding_idx=padding_idx,
        scale_grad_by_freq=by_freq,
    )
    assert np.array_equal(to_numpy(out), to_numpy(weight)[indices])
    out.backward(as_tensor(dout, device))
    ref = np_embedding_grad(indices, dout, 4, padding_idx=padding_idx, by_freq=by_freq)
    assert_close(to_numpy(weight.grad), ref, rtol=1e-12)


def test_max_norm_renormalizes_the_looked_up_rows_in_place(device):
    rows = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0], [1.0, 0.0]])
    weight = as_tensor(rows, device)
    out = F.embedding(fg.tensor([[0, 1], [0, 2]], device=device), weight, max_norm=2.0)
    expected = rows.copy()
    expected[0] *= 2.0 / (5.0 + 1e-7)
    expected[2] *= 2.0 / (10.0 + 1e-7)  # row 3 was not looked up: unchanged
    assert_close(to_numpy(weight), expected, rtol=1e-12)
    assert_close(to_numpy(out), expected[[[0, 1], [0, 2]]], rtol=1e-12)
    F.embedding(fg.tensor([3], device=device), weight, max_norm=0.5, norm_type=1.0)
    assert_close(to_numpy(weight)[3], [0.5 / (1 + 1e-7), 0.0], rtol=1e-12)


def test_embedding_module_init_and_parameter_names(device):
    fg.manual_seed(0)
    emb = nn.Embedding(10, 4, padding_idx=3, device=device)
    assert [n for n, _ in emb.named_parameters()] == ["weight"]
    assert tuple(emb.weight.shape) == (10, 4) and emb.weight.requires_grad
    assert np.array_equal(to_numpy(emb.weight)[3], np.zeros(4))
    others = np.delete(to_numpy(emb.weight), 3, axis=0)
    assert 0.5 < others.std() < 1.5  # N(0, 1)
    out = emb(fg.tensor([[3, 1]], device=device))
    assert tuple(out.shape) == (1, 2, 4) and not to_numpy(out)[0, 0].any()
    assert repr(emb) == "Embedding(10, 4, padding_idx=3)"
    assert nn.Embedding(5, 2, padding_idx=-1).padding_idx == 4


def test_max_norm_module_keeps_gradients():
    emb = nn.Embedding(4, 3, max_norm=1.0)
    emb(fg.tensor([1, 1, 2])).sum().backward()
    norms = np.linalg.norm(to_numpy(emb.weight), axis=1)
    assert np.all(norms[[1, 2]] <= 1.0 + 1e-6)
    assert np.allclose(to_numpy(emb.weight.grad), [[0] * 3, [2] * 3, [1] * 3, [0] * 3])


def test_embedding_module_trains_with_an_optimizer():
    emb = nn.Embedding(5, 3, padding_idx=0)
    opt = fg.optim.SGD(emb.parameters(), lr=1.0)
    before = to_numpy(emb.weight).copy()
    emb(fg.tensor([0, 2, 2])).sum().backward()
    opt.step()
    after = to_numpy(emb.weight)
    assert np.array_equal(after[0], before[0]) and np.allclose(after[2], before[2] - 2.0)
    assert np.array_equal(after[[1, 3, 4]], before[[1, 3, 4]])


def test_from_pretrained_shares_and_freezes():
    table = fg.tensor(RNG.standard_normal((3, 2)))
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen.num_embeddings == 3
    assert np.array_equal(to_numpy(frozen(fg.tensor([2, 0]))), to_numpy(table)[[2, 0]])
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad
    assert np.array_equal(to_numpy(trainable.weight), to_numpy(table))  # row 1 kept
    custom = nn.Embedding(3, 2, _weight=table)
    assert np.array_equal(to_numpy(custom.weight), to_numpy(table))


def test_errors_name_the_op():
    weight = fg.ones(4, 2)
    with pytest.raises(IndexError, match=r"\[embedding\] index 4 is out of range"):
        F.embedding(fg.tensor([0, 4]), weight)
    with pytest.raises(IndexError, match=r"\[embedding\] index -1 is out of range"):
        F.embedding(fg.tensor([-1]), weight)
    with pytest.raises(TypeError, match=r"\[embedding\] expected indices of dtype int64"):
        F.embedding(fg.tensor([0.0]), weight)
    with pytest.raises(ValueError, match=r"\[embedding\] expected a 2-d weight"):
        F.embedding(fg.tensor([0]), fg.ones(4))
    with pytest.raises(ValueError, match=r"\[embedding\] sparse"):
        F.embedding(fg.tensor([0]), weight, sparse=True)
    with pytest.raises(ValueError, match=r"\[embedding\] padding_idx must be within"):
        F.embedding(fg.tensor([0]), weight, padding_idx=4)
    with pytest.raises(ValueError, match=r"\[Embedding\] sparse"):
        nn.Embedding(4, 2, sparse=True)
    with pytest.raises(ValueError, match=r"\[Embedding\] expected _weight of shape \(4, 2\)"):
        nn.Embedding(4, 2, _weight=fg.ones(2, 4))
    with pytest.raises(ValueError, match=r"\[Embedding.from_pretrained\] expected a 2-d"):
        nn.Embedding.from_pretrained(fg.ones(3))
