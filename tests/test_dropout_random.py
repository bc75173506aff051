"""F.dropout and the Philox random generators: rand, randn, manual_seed reproducibility."""

import math

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F

from helpers import SHAPES, as_tensor, assert_close, make_input, to_numpy


# --------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("shape", SHAPES + [(513, 1031)], ids=str)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_values_and_grad(p, shape, device):
    x = make_input(shape, "nonzero")  # nonzero: a zero output means "dropped"
    xt = as_tensor(x, device, requires_grad=True)
    y = F.dropout(xt, p=p, training=True)
    assert tuple(y.shape) == shape and y.dtype == fg.float32
    out = to_numpy(y).astype(np.float64)
    kept = out != 0
    # Kept elements are x / (1 - p) (float32 of the float64 value: relative 1e-6).
    assert_close(out[kept], x.astype(np.float64)[kept] / (1.0 - p), rtol=1e-6)
    g = make_input(shape)
    (y * as_tensor(g, device)).sum().backward()
    # d/dx = mask / (1 - p): g / (1 - p) where kept, 0 where dropped.
    expected = np.where(kept, g.astype(np.float64) / (1.0 - p), 0.0)
    assert_close(to_numpy(xt.grad), expected, rtol=1e-6)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_rate(p, device):
    n = 200_003
    x = fg.ones(n, device=device)
    dropped = float((to_numpy(F.dropout(x, p=p)) == 0).mean())
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(dropped - p) < 5 * sigma, f"dropped fraction {dropped} for p={p}"


def test_dropout_default_p_is_half(device):
    x = fg.ones(100_000, device=device)
    y = to_numpy(F.dropout(x))
    assert set(np.unique(y).tolist()) <= {0.0, 2.0}
    assert abs((y == 0).mean() - 0.5) < 0.01


def test_dropout_mask_is_not_periodic(device):
    # Consecutive chunks of a mask must differ (a counter-based generator misused can repeat).
    x = fg.ones(4096, device=device)
    m = to_numpy(F.dropout(x, 0.5)).reshape(64, 64) != 0
    assert len({row.tobytes() for row in m}) == 64


def test_dropout_p0_identity_p1_zeros(device):
    x = make_input((33, 129), "nonzero")
    xt = as_tensor(x, device, requires_grad=True)
    np.testing.assert_array_equal(to_numpy(F.dropout(xt, p=0.0)), x)
    y1 = F.dropout(xt, p=1.0)
    np.testing.assert_array_equal(to_numpy(y1), np.zeros_like(x))
    assert not np.isnan(to_numpy(y1)).any()
    y1.sum().backward()
    np.testing.assert_array_equal(to_numpy(xt.grad), np.zeros_like(x))


def test_dropout_eval_is_identity(device):
    x = make_input((7, 33))
    xt = as_tensor(x, device, requires_grad=True)
    y = F.dropout(xt, p=0.5, training=False)
    np.testing.assert_array_equal(to_numpy(y), x)
    (y * 3.0).sum().backward()
    np.testing.assert_array_equal(to_numpy(xt.grad), np.full_like(x, 3.0))


def test_dropout_reproducible_with_seed(device):
    x = as_tensor(make_input((33, 129), "nonzero"), device)
    fg.manual_seed(1234)
    a = to_numpy(F.dropout(x, 0.3))
    b = to_numpy(F.dropout(x, 0.3))
    fg.manual_seed(1234)
    a2 = to_numpy(F.dropout(x, 0.3))
    b2 = to_numpy(F.dropout(x, 0.3))
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert not np.array_equal(a == 0, b == 0), "two draws in a row gave the same mask"
    fg.manual_seed(1235)
    assert not np.array_equal(to_numpy(F.dropout(x, 0.3)) == 0, a == 0)


def test_dropout_under_no_grad(device):
    x = as_tensor(make_input((7, 33), "nonzero"), device, requires_grad=True)
    with fg.no_grad():
        y = F.dropout(x, 0.5)
    assert not y.requires_grad


def test_dropout_nan_propagates_where_kept(device):
    x = np.full(1000, np.nan, dtype=np.float32)
    y = to_numpy(F.dropout(as_tensor(x, device), 0.5, training=False))
    assert np.isnan(y).all()
    y = to_numpy(F.dropout(as_tensor(x, device), 0.0))
    assert np.isnan(y).all()


# ---------------------------------------------------------------------- rand / randn
def test_rand_range_and_moments(device):
    n = 1_000_003
    u = to_numpy(fg.rand(n, device=device))
    assert u.dtype == np.float32 and u.shape == (n,)
    u = u.astype(np.float64)
    assert u.min() >= 0.0 and u.max() < 1.0
    se = math.sqrt(1 / 12 / n)
    assert abs(u.mean() - 0.5) < 5 * se
    assert abs(u.var() - 1 / 12) < 0.002
    hist, _ = np.histogram(u, bins=10, range=(0, 1))
    assert np.all(np.abs(hist / n - 0.1) < 0.003), hist


def test_randn_moments(device):
    n = 1_000_003
    z = to_numpy(fg.randn(n, device=device)).astype(np.float64)
    assert np.isfinite(z).all()
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.std() - 1.0) < 0.005
    assert abs(np.mean(z > 1.0) - 0.158655) < 0.002
    assert abs(np.mean(np.abs(z) > 3.0) - 0.0026998) < 0.0005
    assert abs(np.mean(z**3)) < 0.02  # symmetric


@pytest.mark.parametrize("fn", ["rand", "randn"])
def test_random_shapes_dtype_and_size_forms(fn, device):
    f = getattr(fg, fn)
    for size_args, shape in [
        ((1,), (1,)),
        ((7,), (7,)),
        ((3, 33), (3, 33)),
        (((3, 33),), (3, 33)),
        (([2, 3, 5],), (2, 3, 5)),
    ]:
        t = f(*size_args, device=device)
        assert tuple(t.shape) == shape and t.dtype == fg.float32
        assert t.device.type == device


@pytest.mark.parametrize("fn", ["rand", "randn"])
def test_random_reproducible(fn, device):
    f = getattr(fg, fn)
    fg.manual_seed(7)
    a, b = to_numpy(f(33, 129, device=device)), to_numpy(f(33, 129, device=device))
    fg.manual_seed(7)
    a2, b2 = to_numpy(f(33, 129, device=device)), to_numpy(f(33, 129, device=device))
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert not np.array_equal(a, b)
    fg.manual_seed(8)
    assert not np.array_equal(to_numpy(f(33, 129, device=device)), a)


def test_random_odd_sizes_not_repeating(device):
    # Philox yields 4 numbers per counter: odd sizes must not reuse or skip a block's tail.
    fg.manual_seed(0)
    parts = [to_numpy(fg.rand(k, device=device)) for k in (1, 3, 5, 7)]
    allv = np.concatenate(parts)
    assert len(np.unique(allv)) == allv.size
    z = to_numpy(fg.randn(1, 7, device=device)).ravel()
    assert len(np.unique(z)) == 7


def test_rand_requires_grad_flag(device):
    t = fg.randn(3, 4, device=device).requires_grad_()
    assert t.requires_grad and t.is_leaf
    (t * 2.0).sum().backward()
    np.testing.assert_array_equal(to_numpy(t.grad), np.full((3, 4), 2.0))


def test_mixed_random_stream_reproducible(device):
    x = as_tensor(make_input((33, 7), "nonzero"), device)

    def draw():
        return (
            to_numpy(fg.rand(5, device=device)),
            to_numpy(F.dropout(x, 0.4)),
            to_numpy(fg.randn(3, 3, device=device)),
            to_numpy(F.dropout(x, 0.4)),
        )

    fg.manual_seed(99)
    first = draw()
    fg.manual_seed(99)
    second = draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1] == 0, first[3] == 0)


@pytest.mark.parametrize("seed", [0, 1, 2**32, 2**63 - 1, 2**64 - 1])
def test_manual_seed_range(seed, device):
    fg.manual_seed(seed)
    a = to_numpy(fg.rand(8, device=device))
    fg.manual_seed(seed)
    np.testing.assert_array_equal(to_numpy(fg.rand(8, device=device)), a)
    assert ((a >= 0) & (a < 1)).all()


def test_different_seeds_give_different_streams(device):
    seen = set()
    for seed in (0, 1, 2, 3, 2**32, 2**32 + 1):
        fg.manual_seed(seed)
        seen.add(to_numpy(fg.rand(4, device=device)).tobytes())
    assert len(seen) == 6


# ----------------------------------------------------------------------------- stream state
def test_rng_state_round_trip_replays_every_draw():
    fg.manual_seed(123)
    fg.rand(5)  # move away from the start of the stream
    state = fg.get_rng_state()
    assert state.dtype == fg.int64 and state.shape == (2,)
    x = fg.ones(33, 7)
    first = [fg.rand(7).numpy(), fg.randn(3, 5).numpy(), F.dropout(x, 0.5).numpy()]
    fg.rand(100)
    fg.set_rng_state(state)
    again = [fg.rand(7).numpy(), fg.randn(3, 5).numpy(), F.dropout(x, 0.5).numpy()]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_rng_state_keeps_seeds_past_2_63():
    fg.manual_seed(2**64 - 1)
    state = fg.get_rng_state()
    want = fg.rand(4).numpy()
    fg.manual_seed(0)
    fg.set_rng_state(state)
    np.testing.assert_array_equal(fg.rand(4).numpy(), want)


@pytest.mark.parametrize(
    "bad, error",
    [([1, 2], TypeError), (fg.zeros(2), ValueError), (fg.tensor([1, 2, 3]), ValueError)],
)
def test_set_rng_state_rejects_what_get_rng_state_does_not_make(bad, error):
    fg.manual_seed(7)
    want = fg.rand(3).numpy()
    fg.manual_seed(7)
    with pytest.raises(error, match="set_rng_state"):
        fg.set_rng_state(bad)
    np.testing.assert_array_equal(fg.rand(3).numpy(), want)  # the stream did not move
