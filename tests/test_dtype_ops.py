"""float64 (and float16/bfloat16 through float32) beyond the element math: activations,
softmax, losses, dropout, reductions, matmul and linear against numpy, their float64
gradients against central differences, the optimizers on float64 parameters, and
nn.Module.double() / .to(dtype): a float64 MLP trains as its float32 twin does."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import nn, optim

from helpers import (
    as_tensor,
    assert_close,
    gradcheck,
    make_input,
    np_cross_entropy,
    np_gelu,
    np_log_softmax,
    np_sigmoid,
    np_softmax,
    to_numpy,
)

_targets = np.array([0, 2, 1, 4, 3, 2, 0])

OPS = [
    ("relu", F.relu, lambda x: np.maximum(x, 0)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    ("gelu", F.gelu, np_gelu),
    ("tanh", fg.tanh, np.tanh),
    ("sigmoid", fg.sigmoid, np_sigmoid),
    ("silu", F.silu, lambda x: x * np_sigmoid(x)),
    ("softmax", lambda x: F.softmax(x, 1), lambda x: np_softmax(x, 1)),
    ("log_softmax", lambda x: F.log_softmax(x, 0), lambda x: np_log_softmax(x, 0)),
    ("mean", lambda x: x.mean(1), lambda x: x.mean(1)),
    ("max", lambda x: x.max(1).values, lambda x: x.max(1)),
    (
        "cross_entropy",
        lambda x: F.cross_entropy(x, fg.tensor(_targets, device=x.device)),
        lambda x: np_cross_entropy(x, _targets),
    ),
    ("mse_loss", lambda x: F.mse_loss(x, x * 0.5), lambda x: np.mean((0.5 * x) ** 2)),
    ("dropout (eval)", lambda x: F.dropout(x, 0.5, training=False), lambda x: x),
]


@pytest.mark.parametrize("name,fn,ref", OPS, ids=[o[0] for o in OPS])
def test_float64_values_and_gradients(name, fn, ref, device):
    x = make_input((7, 5), avoid=(0.0,), distinct=True)
    got = fn(as_tensor(x.astype(np.float64), device))
    assert got.dtype == fg.float64
    assert_close(to_numpy(got), ref(x.astype(np.float64)), rtol=1e-12, atol=1e-12)
    gradcheck(fn, x, device=device, max_checks=35)


@pytest.mark.parametrize("dtype", [fg.float16, fg.bfloat16])
@pytest.mark.parametrize("name,fn,ref", OPS[:8], ids=[o[0] for o in OPS[:8]])
def test_storage_dtypes_compute_in_float32(name, fn, ref, dtype, device):
    x = make_input((7, 5))
    t = as_tensor(x, device).to(dtype)
    got = fn(t)
    assert got.dtype == dtype
    rounded = to_numpy(t.float()).astype(np.float64)
    assert_close(to_numpy(got.float()), ref(rounded), rtol=1e-2, atol=1e-2)


def test_integer_inputs(device):
    i = fg.tensor([[-2, 0, 3]], device=device)
    assert F.relu(i).dtype == fg.int64 and F.relu(i).cpu().tolist() == [[0, 0, 3]]
    assert fg.tanh(i).dtype == fg.float32 and fg.sigmoid(i).dtype == fg.float32
    assert i.max().item() == 3 and i.max(1).values.dtype == fg.int64
    assert fg.argmax(i).item() == 2
    mask = fg.tensor([[False, True], [False, False]], device=device)
    assert mask.max().item() is True and mask.max(1).values.cpu().tolist() == [True, False]
    assert fg.argmax(mask).item() == 1
    with pytest.raises(TypeError, match=r"\[mean\] could not infer the output dtype"):
        i.mean()
    with pytest.raises(TypeError, match=r"\[mse_loss\] expected input and target of one dtype"):
        F.mse_loss(fg.zeros(3, device=device), fg.zeros(3, device=device).double())


def test_dropout_float64_keeps_or_scales(device):
    x = fg.ones(1000, dtype=fg.float64, device=device)
    y = to_numpy(F.dropout(x, 0.25))
    assert set(np.unique(y)) <= {0.0, 1 / 0.75} and 0.6 < (y > 0).mean() < 0.9


def test_linear_float64_and_transposed_weight(device):
    x, w, b = make_input((5, 7)), make_input((3, 7)), make_input((3,))
    ref = x.astype(np.float64) @ w.T + b
    got = F.linear(*[as_tensor(a.astype(np.float64), device) for a in (x, w, b)])
    assert got.dtype == fg.float64
    assert_close(to_numpy(got), ref, rtol=1e-12, atol=1e-12)
    gradcheck(F.linear, x, w, b, device=device)
    # a .T view of an (in, out) matrix (tied weights): no copy, same values and gradients
    gradcheck(lambda x, wt, b: F.linear(x, wt.T, b), x, w.T.copy(), b, device=device)


def _mlp_losses(dtype, make_optimizer, device, steps=15):
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4)).to(device)
    model.to(dtype)
    optimizer = make_optimizer(model.parameters())
    rng = np.random.default_rng(1)
    x = fg.tensor(rng.standard_normal((32, 6)), dtype=dtype, device=device)
    y = fg.tensor(rng.integers(0, 4, 32), device=device)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(p.dtype == dtype for p in model.parameters())
    return losses


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
        lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
    ],
    ids=["sgd", "adam", "adamw"],
)
def test_float64_mlp_trains_as_float32(make_optimizer, device):
    f32 = _mlp_losses(fg.float32, make_optimizer, device)
    f64 = _mlp_losses(fg.float64, make_optimizer, device)
    assert f64[-1] < f64[0] - 0.1  # it learns
    np.testing.assert_allclose(f64, f32, rtol=1e-4)  # the same steps, to float32's rounding


def test_module_dtype_conversions(device):
    model = nn.Sequential(nn.Linear(3, 2)).to(device)
    weight = model[0].weight
    model[0].register_buffer("count", fg.tensor([1, 2], device=device))
    model.double()
    assert model[0].weight is weight and weight.dtype == fg.float64
    assert model[0].count.dtype == fg.int64  # integer buffers keep their dtype
    model.to(device, fg.float32)
    assert weight.dtype == fg.float32 and model[0].bias.dtype == fg.float32
    model.half()
    assert weight.dtype == fg.float16
    with pytest.raises(TypeError, match=r"\[SGD\] can only optimize float32 and float64"):
        optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"\[to\] nn.Module.to only accepts floating point"):
        model.to(fg.int64)


def test_load_state_dict_converts_dtypes(device):
    source = nn.Linear(3, 2).to(device)
    target = nn.Linear(3, 2).to(device).double()
    target.load_state_dict(source.state_dict())
    assert target.weight.dtype == fg.float64
    np.testing.assert_array_equal(to_numpy(target.weight), to_numpy(source.weight))
