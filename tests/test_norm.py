"""Normalization (layer_norm, group_norm, batch_norm, instance_norm, local_response_norm and
their modules) against float64 references written as loops over each group's elements;
gradients by central differences; running statistics, state dicts and the errors."""

import math

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
import forgegrad.nn.functional as F
from helpers import as_tensor, gradcheck, to_numpy

RNG = np.random.default_rng(15)


def loop_moments(values):
    """mean and biased variance of a flat list, by loops"""
    mean = 0.0
    for v in values:
        mean += v
    mean /= len(values)
    var = 0.0
    for v in values:
        var += (v - mean) ** 2
    return mean, var / len(values)


def loop_normalize_groups(x, groups, eps):
    """x (G, n) flat groups: each by its own statistics"""
    out = np.empty_like(x)
    for g in range(x.shape[0]):
        mean, var = loop_moments(list(x[g]))
        for k in range(x.shape[1]):
            out[g, k] = (x[g, k] - mean) / math.sqrt(var + eps)
    return out


def loop_layer_norm(x, rank, weight, bias, eps):
    D = int(np.prod(x.shape[x.ndim - rank :]))
    y = loop_normalize_groups(x.reshape(-1, D), None, eps)
    for row in range(y.shape[0]):
        for k in range(D):
            if weight is not None:
                y[row, k] *= weight.reshape(-1)[k]
            if bias is not None:
                y[row, k] += bias.reshape(-1)[k]
    return y.reshape(x.shape)


def loop_channel_affine(y, weight, bias):
    """y (N, C, L): times weight[c], plus bias[c]"""
    for n in range(y.shape[0]):
        for c in range(y.shape[1]):
            for i in range(y.shape[2]):
                if weight is not None:
                    y[n, c, i] *= weight[c]
                if bias is not None:
                    y[n, c, i] += bias[c]
    return y


def loop_group_norm(x, groups, weight, bias, eps):
    N, C = x.shape[:2]
    y = loop_normalize_groups(x.reshape(N * groups, -1), None, eps)
    return loop_channel_affine(y.reshape(N, C, -1), weight, bias).reshape(x.shape)


def loop_batch_moments(x):
    """x (N, C, *) -> per channel mean, biased and unbiased variance, by loops"""
    N, C = x.shape[:2]
    planes = x.reshape(N, C, -1)
    stats = []
    for c in range(C):
        values = [planes[n, c, i] for n in range(N) for i in range(planes.shape[2])]
        mean, var = loop_moments(values)
        stats.append((mean, var, var * len(values) / (len(values) - 1)))
    return [np.array(s) for s in zip(*stats)]


def loop_batch_norm(x, mean, var, weight, bias, eps):
    N, C = x.shape[:2]
    planes = x.reshape(N, C, -1).copy()
    for n in range(N):
        for c in range(C):
            for i in range(planes.shape[2]):
                planes[n, c, i] = (planes[n, c, i] - mean[c]) / math.sqrt(var[c] + eps)
    return loop_channel_affine(planes, weight, bias).reshape(x.shape)


def optional(array, device):
    return None if array is None else as_tensor(array, device)


def affine_arrays(shape, affine):
    weight = RNG.uniform(0.5, 1.5, size=shape) if affine in ("weight", "both") else None
    bias = RNG.uniform(-1.0, 1.0, size=shape) if affine == "both" else None
    return weight, bias


@pytest.mark.parametrize(
    "shape,rank",
    [((7, 33), 1), ((1, 5), 1), ((3, 4, 5), 2), ((2, 3, 2, 3), 3), ((4, 1), 1), ((5,), 1)],
)
@pytest.mark.parametrize("affine", ["none", "weight", "both"])
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_layer_norm_matches_loops(shape, rank, affine, eps, device):
    x = RNG.normal(3.0, 2.0, size=shape)
    weight, bias = affine_arrays(shape[len(shape) - rank :], affine)
    want = loop_layer_norm(x, rank, weight, bias, eps)
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-5)):
        got = F.layer_norm(
            as_tensor(x.astype(dtype), device),
            shape[len(shape) - rank :],
            optional(None if weight is None else weight.astype(dtype), device),
            optional(None if bias is None else bias.astype(dtype), device),
            eps,
        )
        np.testing.assert_allclose(to_numpy(got), want, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "shape,groups",
    [
        ((3, 6, 5), 1),
        ((3, 6, 5), 2),
        ((3, 6, 5), 3),
        ((3, 6, 5), 6),
        ((1, 4, 3, 3), 2),
        ((2, 3), 3),
        ((2, 4, 7), 4),
    ],
)
@pytest.mark.parametrize("affine", ["none", "both"])
def test_group_norm_matches_loops(shape, groups, affine, device):
    x = RNG.normal(-1.0, 3.0, size=shape)
    weight, bias = affine_arrays((shape[1],), affine)
    got = F.group_norm(
        as_tensor(x, device), groups, optional(weight, device), optional(bias, device), eps=1e-4
    )
    np.testing.assert_allclose(
        to_numpy(got), loop_group_norm(x, groups, weight, bias, 1e-4), rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize("shape", [(7, 5), (3, 5, 4), (2, 5, 3, 3), (1, 5, 7)])
@pytest.mark.parametrize("affine", ["none", "both"])
def test_batch_norm_training_uses_batch_statistics_and_moves_running_ones(shape, affine, device):
    x = RNG.normal(2.0, 1.5, size=shape)
    weight, bias = affine_arrays((5,), affine)
    running_mean, running_var = RNG.normal(size=5), RNG.uniform(0.5, 2.0, size=5)
    rm, rv = as_tensor(running_mean, device), as_tensor(running_var, device)
    got = F.batch_norm(
        as_tensor(x, device),
        rm,
        rv,
        optional(weight, device),
        optional(bias, device),
        training=True,
        momentum=0.3,
        eps=1e-3,
    )
    mean, var, unbiased = loop_batch_moments(x)
    np.testing.assert_allclose(
        to_numpy(got), loop_batch_norm(x, mean, var, weight, bias, 1e-3), rtol=1e-10, atol=1e-10
    )
    np.testing.assert_allclose(to_numpy(rm), 0.7 * running_mean + 0.3 * mean, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(rv), 0.7 * running_var + 0.3 * unbiased, rtol=1e-12)


@pytest.mark.parametrize("shape", [(7, 5), (2, 5, 3, 3), (1, 5, 1)])
def test_batch_norm_eval_uses_running_statistics(shape, device):
    x = RNG.normal(size=shape)
    weight, bias = affine_arrays((5,), "both")
    running_mean, running_var = RNG.normal(size=5), RNG.uniform(0.5, 2.0, size=5)
    rm = as_tensor(running_mean.astype(np.float32), device)
    got = F.batch_norm(
        as_tensor(x, device),
        rm,
        as_tensor(running_var, device),
        as_tensor(weight, device),
        as_tensor(bias, device),
    )
    want = loop_batch_norm(x, running_mean.astype(np.float32), running_var, weight, bias, 1e-5)
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(to_numpy(rm), running_mean.astype(np.float32))  # untouched


GRAD_CASES = [
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (3, 4), w, b), (2, 3, 4), (3, 4)),
    ("layer_norm rank 1", lambda x, w, b: F.layer_norm(x, 5, w, b, 0.1), (3, 5), (5,)),
    ("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), (2, 4, 3), (4,)),
    ("group_norm 1 group", lambda x, w, b: F.group_norm(x, 1, w, b), (1, 3, 2, 2), (3,)),
    ("batch_norm train", lambda x, w, b: F.batch_norm(x, None, None, w, b, True), (3, 4, 2), (4,)),
    ("batch_norm 2d", lambda x, w, b: F.batch_norm(x, None, None, w, b, True), (2, 3, 2, 2), (3,)),
    (
        "batch_norm eval",
        lambda x, w, b: F.batch_norm(
            x,
            fg.zeros(4, dtype=fg.float64, device=x.device) + 0.5,
            fg.ones(4, dtype=fg.float64, device=x.device) * 2,
            w,
            b,
        ),
        (3, 4),
        (4,),
    ),
    ("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (2, 3, 4), (3,)),
    (
        "batch_norm relu",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, True, activation="relu"),
        (3, 4, 2),
        (4,),
    ),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients_match_finite_differences(case, device):
    _, fn, shape, affine_shape = case
    x = RNG.normal(size=shape)
    gradcheck(
        fn,
        x,
        RNG.uniform(0.5, 1.5, size=affine_shape),
        RNG.normal(size=affine_shape),
        device=device,
    )
    gradcheck(lambda x: fn(x, None, None), x, device=device)


@pytest.mark.parametrize("layer", [nn.BatchNorm1d, nn.BatchNorm2d])
@pytest.mark.parametrize("training", [True, False])
def test_sequential_fuses_batch_norm_relu(layer, training, device):
    # BatchNorm then ReLU runs as one op with exactly the outputs, gradients and running
    # statistics of the two modules run one after the other.
    shape = (5, 4, 3, 2) if layer is nn.BatchNorm2d else (5, 4, 3)
    x = RNG.normal(size=shape).astype(np.float32)
    results = []
    for fused in (True, False):
        model = nn.Sequential(layer(4), nn.ReLU()).to(device).train(training)
        with fg.no_grad():
            model[0].weight.copy_(fg.tensor([0.5, -1.0, 2.0, 1.5], device=device))
            model[0].running_mean.fill_(0.1)
            model[0].running_var.fill_(0.9)
        model.zero_grad()
        xt = as_tensor(x, device, requires_grad=True)
        out = model(xt) if fused else model[1](model[0](xt))
        (out * out).sum().backward()
        results.append(
            [
                to_numpy(t)
                for t in (
                    out,
                    xt.grad,
                    model[0].weight.grad,
                    model[0].bias.grad,
                    model[0].running_mean,
                    model[0].running_var,
                )
            ]
        )
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)
    assert (results[0][0] >= 0).all() and (results[0][0] == 0).any()


def test_batch_norm_module_tracks_running_statistics_over_steps():
    for momentum in (0.1, None):
        layer = nn.BatchNorm1d(3, momentum=momentum).double()
        running_mean, running_var = np.zeros(3), np.ones(3)
        for step in range(1, 4):
            x = RNG.normal(step, 2.0, size=(6, 3, 4))
            layer(fg.tensor(x))
            mean, _, unbiased = loop_batch_moments(x)
            factor = 1.0 / step if momentum is None else momentum
            running_mean = (1 - factor) * running_mean + factor * mean
            running_var = (1 - factor) * running_var + factor * unbiased
        np.testing.assert_allclose(to_numpy(layer.running_mean), running_mean, rtol=1e-12)
        np.testing.assert_allclose(to_numpy(layer.running_var), running_var, rtol=1e-12)
        assert layer.num_batches_tracked.dtype == fg.int64
        assert layer.num_batches_tracked.item() == 3
        layer.eval()
        x = RNG.normal(size=(2, 3))
        want = loop_batch_norm(x, running_mean, running_var, np.ones(3), np.zeros(3), 1e-5)
        np.testing.assert_allclose(to_numpy(layer(fg.tensor(x))), want, rtol=1e-10, atol=1e-12)


def test_batch_norm_without_running_statistics_always_uses_the_batch():
    layer = nn.BatchNorm2d(2, affine=False, track_running_stats=False)
    assert layer.running_mean is None and layer.num_batches_tracked is None
    assert list(layer.state_dict()) == []
    x = RNG.normal(size=(2, 2, 3, 3))
    mean, var, _ = loop_batch_moments(x)
    want = loop_batch_norm(x, mean, var, None, None, 1e-5)
    for mode in (layer.train, layer.eval):
        mode()
        np.testing.assert_allclose(to_numpy(layer(fg.tensor(x))), want, rtol=1e-10, atol=1e-12)


def test_batch_norm_state_dict_has_pytorchs_keys_and_loads():
    layer = nn.BatchNorm2d(3)
    assert list(layer.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    state = {
        "weight": fg.tensor([1.0, 2.0, 3.0]),
        "bias": fg.tensor([0.0, -1.0, 1.0]),
        "running_mean": fg.tensor([0.5, 0.25, 0.0]),
        "running_var": fg.tensor([2.0, 1.0, 4.0]),
        "num_batches_tracked": fg.tensor(7, dtype=fg.int64),
    }
    layer.load_state_dict(state)
    layer.eval()
    x = RNG.normal(size=(2, 3, 2, 2)).astype(np.float32)
    want = loop_batch_norm(
        x.astype(np.float64),
        [0.5, 0.25, 0.0],
        [2.0, 1.0, 4.0],
        [1.0, 2.0, 3.0],
        [0.0, -1.0, 1.0],
        1e-5,
    )
    np.testing.assert_allclose(to_numpy(layer(fg.tensor(x))), want, rtol=1e-5, atol=1e-6)
    assert layer.num_batches_tracked.item() == 7
    layer.double()
    assert layer.running_mean.dtype == fg.float64 and layer.num_batches_tracked.dtype == fg.int64


def test_norm_modules_match_the_functional_forms():
    x = RNG.normal(size=(2, 4, 3, 5))
    layer = nn.LayerNorm((3, 5)).double()
    assert layer.weight.shape == (3, 5) and list(layer.state_dict()) == ["weight", "bias"]
    np.testing.assert_allclose(
        to_numpy(layer(fg.tensor(x))),
        loop_layer_norm(x, 2, None, None, 1e-5),
        rtol=1e-10,
        atol=1e-12,
    )
    assert nn.LayerNorm(5, elementwise_affine=False).weight is None
    no_bias = nn.LayerNorm(5, bias=False)
    assert no_bias.bias is None and no_bias.weight.shape == (5,)
    groups = nn.GroupNorm(2, 4).double()
    np.testing.assert_allclose(
        to_numpy(groups(fg.tensor(x))),
        loop_group_norm(x, 2, None, None, 1e-5),
        rtol=1e-10,
        atol=1e-12,
    )
    instances = nn.InstanceNorm2d(4)
    assert instances.weight is None and instances.running_mean is None
    np.testing.assert_allclose(
        to_numpy(instances(fg.tensor(x))),
        loop_group_norm(x, 4, None, None, 1e-5),
        rtol=1e-10,
        atol=1e-12,
    )
    unbatched = nn.InstanceNorm1d(4)(fg.tensor(x[0, :, 0]))
    np.testing.assert_allclose(
        to_numpy(unbatched),
        loop_group_norm(x[:1, :, 0], 4, None, None, 1e-5)[0],
        rtol=1e-10,
        atol=1e-12,
    )


def test_instance_norm_running_statistics_average_the_instances():
    layer = nn.InstanceNorm1d(3, track_running_stats=True).double()
    x = RNG.normal(1.0, 2.0, size=(4, 3, 6))
    layer(fg.tensor(x))
    means = x.mean(axis=2).mean(axis=0)
    variances = x.var(axis=2, ddof=1).mean(axis=0)
    np.testing.assert_allclose(to_numpy(layer.running_mean), 0.1 * means, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(layer.running_var), 0.9 + 0.1 * variances, rtol=1e-12)
    layer.eval()
    want = loop_batch_norm(x, 0.1 * means, 0.9 + 0.1 * variances, None, None, 1e-5)
    np.testing.assert_allclose(to_numpy(layer(fg.tensor(x))), want, rtol=1e-10, atol=1e-12)


def test_modules_train_end_to_end_with_gradients_on_their_parameters():
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.LayerNorm(6))
    x = fg.tensor(RNG.normal(size=(5, 4)).astype(np.float32))
    model(x).square().sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name


def test_non_contiguous_and_empty_inputs(device):
    x = RNG.normal(size=(5, 4, 3))
    strided = as_tensor(x, device).transpose(0, 2)  # (3, 4, 5), not contiguous
    np.testing.assert_allclose(
        to_numpy(F.layer_norm(strided, 5)),
        loop_layer_norm(x.transpose(2, 1, 0), 1, None, None, 1e-5),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        to_numpy(F.group_norm(strided, 2)),
        loop_group_norm(x.transpose(2, 1, 0), 2, None, None, 1e-5),
        rtol=1e-10,
        atol=1e-12,
    )
    empty = as_tensor(np.zeros((0, 5)), device, requires_grad=True)
    out = F.layer_norm(empty, 5)
    assert out.shape == (0, 5)
    out.sum().backward()
    assert empty.grad.shape == (0, 5)
    running = [as_tensor(np.zeros(5), device), as_tensor(np.ones(5), device)]
    assert F.batch_norm(as_tensor(np.zeros((0, 5, 2)), device), *running).shape == (0, 5, 2)


def test_bad_input_raises_errors_naming_the_op():
    x = fg.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"\[layer_norm\] expected input whose last"):
        F.layer_norm(x, (3,))
    with pytest.raises(ValueError, match=r"\[layer_norm\] expected weight of shape"):
        F.layer_norm(x, 4, fg.ones(3))
    with pytest.raises(ValueError, match=r"\[group_norm\] expected num_groups"):
        F.group_norm(x, 2)
    with pytest.raises(ValueError, match=r"\[batch_norm\] expected more than 1 value"):
        F.batch_norm(fg.zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"\[batch_norm\] expected running_mean"):
        F.batch_norm(x, None, None)
    with pytest.raises(TypeError, match=r"\[batch_norm\] expected a float32 or float64"):
        F.batch_norm(fg.zeros(2, 3, dtype=fg.int64), None, None, training=True)
    with pytest.raises(TypeError, match=r"\[group_norm\] expected bias of dtype"):
        F.group_norm(x, 3, bias=fg.zeros(3, dtype=fg.float64))
    with pytest.raises(ValueError, match=r"\[batch_norm\] expected activation None or 'relu'"):
        F.batch_norm(x, None, None, training=True, activation="gelu")
    with pytest.raises(ValueError, match=r"\[BatchNorm2d\] expected input of shape"):
        nn.BatchNorm2d(3)(x)
    with pytest.raises(ValueError, match=r"\[GroupNorm\] expected num_channels divisible"):
        nn.GroupNorm(2, 3)
    with pytest.raises(ValueError, match=r"\[instance_norm\] expected more than 1 spatial"):
        F.instance_norm(fg.zeros(2, 3, 1))


@pytest.mark.parametrize("rms", [False, True])
def test_layer_norm_rows_backward_against_float64(rms, device):
    # Many rows (several row chunks of the weight and bias sums) of a width past the 8-wide
    # vector loops, float32 against the analytic float64 gradients.
    x = RNG.normal(1.0, 2.0, size=(300, 133))
    weight, bias = RNG.uniform(0.5, 1.5, 133), RNG.uniform(-1.0, 1.0, 133)
    dy = RNG.normal(size=x.shape)
    mean = np.zeros((300, 1)) if rms else x.mean(1, keepdims=True)
    rstd = 1 / np.sqrt(((x - mean) ** 2).mean(1, keepdims=True) + 1e-5)
    xhat, g = (x - mean) * rstd, dy * weight
    centered_g = g - (0 if rms else g.mean(1, keepdims=True))
    dx = rstd * (centered_g - xhat * (g * xhat).mean(1, keepdims=True))
    tensors = [
        as_tensor(a.astype(np.float32), device, requires_grad=True) for a in (x, weight, bias)
    ]
    if rms:
        out = F.rms_norm(tensors[0], (133,), tensors[1], eps=1e-5)
    else:
        out = F.layer_norm(tensors[0], (133,), tensors[1], tensors[2], eps=1e-5)
    out.backward(as_tensor(dy.astype(np.float32), device))
    np.testing.assert_allclose(to_numpy(tensors[0].grad), dx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(tensors[1].grad), (dy * xhat).sum(0), rtol=1e-4, atol=1e-4)
    if not rms:
        np.testing.assert_allclose(to_numpy(tensors[2].grad), dy.sum(0), rtol=1e-4, atol=1e-4)


def loop_local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha / size * (sum of squares over the channels c - size // 2 ..
    c + (size - 1) // 2 that exist)) ^ beta, by a loop over channels."""
    out = np.empty_like(x, dtype=np.float64)
    channels = x.shape[1]
    for c in range(channels):
        low, high = max(0, c - size // 2), min(channels, c + (size - 1) // 2 + 1)
        squares = (x[:, low:high].astype(np.float64) ** 2).sum(axis=1)
        out[:, c] = x[:, c] / (k + alpha / size * squares) ** beta
    return out


@pytest.mark.parametrize(
    "shape, size, alpha, beta, k",
    [
        ((2, 5, 4, 3), 3, 1e-2, 0.75, 1.0),
        ((2, 6, 7), 4, 0.5, 0.5, 2.0),  # an even size: one channel more before than after
        ((1, 3, 2, 2, 2), 2, 1.0, 1.0, 1.0),  # 5-d
        ((2, 4, 3), 1, 1e-4, 0.75, 1.0),
        ((1, 2, 3), 7, 0.3, 0.75, 1.0),  # wider than the channels
    ],
)
def test_local_response_norm(shape, size, alpha, beta, k, device):
    x = RNG.standard_normal(shape)
    out = F.local_response_norm(as_tensor(x, device), size, alpha, beta, k)
    np.testing.assert_allclose(
        to_numpy(out), loop_local_response_norm(x, size, alpha, beta, k), rtol=1e-12, atol=1e-14
    )
    x32 = as_tensor(x.astype(np.float32), device)
    np.testing.assert_allclose(
        to_numpy(nn.LocalResponseNorm(size, alpha, beta, k)(x32)),
        loop_local_response_norm(x, size, alpha, beta, k),
        rtol=1e-5,
        atol=1e-6,
    )
    gradcheck(lambda t: F.local_response_norm(t, size, alpha, beta, k), x, device=device)


def test_local_response_norm_refuses_bad_input():
    with pytest.raises(ValueError, match=r"\[local_response_norm\] expected an input of shape"):
        F.local_response_norm(fg.zeros(2, 3), 2)
    with pytest.raises(ValueError, match=r"\[local_response_norm\] expected size as an int"):
        F.local_response_norm(fg.zeros(2, 3, 4), 0)
    with pytest.raises(TypeError, match=r"\[local_response_norm\] expected beta as a number"):
        F.local_response_norm(fg.zeros(2, 3, 4), 2, beta="x")
    assert repr(nn.LocalResponseNorm(2)) == "LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)"
