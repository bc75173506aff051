"""F.rms_norm and nn.RMSNorm (layer_norm's kernels with the mean left out) against a float64
reference written as loops; gradients by central differences; eps=None; errors."""

import math

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
import forgegrad.nn.functional as F
from helpers import as_tensor, assert_close, gradcheck, to_numpy

RNG = np.random.default_rng(17)


def loop_rms_norm(x, rank, weight, eps):
    """each row of the last `rank` dimensions divided by its root mean square"""
    rows = x.reshape(-1, int(np.prod(x.shape[x.ndim - rank :])))
    out = np.empty_like(rows)
    for i, row in enumerate(rows):
        mean_square = sum(v * v for v in row) / len(row)
        out[i] = row / math.sqrt(mean_square + eps)
    out = out.reshape(x.shape)
    return out if weight is None else out * weight


@pytest.mark.parametrize(
    "shape, rank",
    [((7, 33), 1), ((3, 4, 5), 2), ((2, 3, 1, 4), 3), ((5,), 1), ((2, 3000), 1), ((0, 4), 1)],
)
@pytest.mark.parametrize("affine", [False, True])
def test_forward_against_float64_loops(device, shape, rank, affine):
    x = RNG.standard_normal(shape) * 3 + 1  # a mean away from 0: none must be subtracted
    normalized = shape[len(shape) - rank :]
    weight = RNG.uniform(0.5, 1.5, normalized) if affine else None
    out = F.rms_norm(
        as_tensor(x.astype(np.float32), device),
        normalized,
        None if weight is None else as_tensor(weight.astype(np.float32), device),
        eps=1e-5,
    )
    assert out.dtype == fg.float32 and tuple(out.shape) == shape
    assert_close(
        to_numpy(out),
        loop_rms_norm(x.astype(np.float32).astype(np.float64), rank, weight, 1e-5),
        rtol=2e-5,
    )


@pytest.mark.parametrize("shape, normalized", [((4, 6), (6,)), ((2, 3, 4), (3, 4))])
def test_gradients_by_finite_differences(device, shape, normalized):
    x = RNG.standard_normal(shape) + 0.5
    weight = RNG.uniform(0.5, 1.5, normalized)
    gradcheck(lambda x, w: F.rms_norm(x, normalized, w, 1e-3), x, weight, device=device)
    gradcheck(lambda x: F.rms_norm(x, normalized), x, device=device)


def test_eps_none_is_the_dtypes_machine_epsilon():
    x = RNG.standard_normal((3, 4)) * 1e-5
    for dtype, eps in (
        (np.float64, np.finfo(np.float64).eps),
        (np.float32, np.finfo(np.float32).eps),
    ):
        got = to_numpy(F.rms_norm(fg.tensor(x.astype(dtype)), [4]))
        ref = loop_rms_norm(x.astype(dtype).astype(np.float64), 1, None, float(eps))
        assert_close(got, ref, rtol=1e-12 if dtype == np.float64 else 2e-5)


def test_module_parameters_repr_and_forward():
    norm = nn.RMSNorm([2, 3])
    assert [n for n, _ in norm.named_parameters()] == ["weight"]
    assert np.array_equal(to_numpy(norm.weight), np.ones((2, 3)))
    assert repr(norm) == "RMSNorm((2, 3), eps=None, elementwise_affine=True)"
    plain = nn.RMSNorm(4, eps=1e-6, elementwise_affine=False)
    assert list(plain.parameters()) == [] and plain.normalized_shape == (4,)
    x = RNG.standard_normal((5, 4))
    assert_close(to_numpy(plain(fg.tensor(x))), loop_rms_norm(x, 1, None, 1e-6), rtol=1e-12)
    norm.double()(fg.tensor(RNG.standard_normal((4, 2, 3)), requires_grad=True)).sum().backward()
    assert norm.weight.grad is not None and tuple(norm.weight.grad.shape) == (2, 3)


def test_errors_name_the_op():
    with pytest.raises(ValueError, match=r"\[rms_norm\] expected input whose last dimensions"):
        F.rms_norm(fg.ones(3, 4), [3])
    with pytest.raises(ValueError, match=r"\[rms_norm\] expected weight of shape"):
        F.rms_norm(fg.ones(3, 4), [4], fg.ones(3))
    with pytest.raises(TypeError, match=r"\[rms_norm\] expected a float32 or float64"):
        F.rms_norm(fg.ones(3, 4, dtype=fg.int64), [4])
    with pytest.raises(ValueError, match=r"\[rms_norm\] expected eps >= 0"):
        F.rms_norm(fg.ones(3, 4), [4], eps=-1.0)
    with pytest.raises(ValueError, match=r"\[RMSNorm\] expected eps >= 0"):
        nn.RMSNorm(4, eps=-1.0)
