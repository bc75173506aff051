"""F.interpolate (nearest, nearest-exact, linear, bilinear, bicubic, area; size or
scale_factor; align_corners; recompute_scale_factor) against the float64 resampling matrices
of tests/interpolate_reference.py, forward in float32 and float64 and backward by central
differences in float64, on each device; Upsample and its fixed-mode layers; pixel_shuffle /
pixel_unshuffle and their layers; Unflatten; the channel and alpha dropouts; bad input."""

import math

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
import forgegrad.nn.functional as F
import interpolate_reference as ref
from helpers import as_tensor, assert_close, gradcheck, make_input, to_numpy

DTYPES = {"float32": (fg.float32, np.float32, 1e-5), "float64": (fg.float64, np.float64, 1e-12)}

# (shape, keyword arguments): up and down, odd sizes, one-pixel inputs and outputs, equal
# sizes, scale factors that do and do not divide, per-axis factors, recomputed factors
CASES = [
    ((2, 3, 5, 7), dict(size=(9, 4))),
    ((1, 2, 7, 6), dict(size=(3, 11), mode="nearest-exact")),
    ((1, 2, 5, 5), dict(scale_factor=1.7)),
    ((1, 1, 6, 4), dict(scale_factor=(0.5, 2.5), mode="nearest-exact")),
    ((1, 2, 3, 4), dict(scale_factor=(1.3, 1.2))),  # sizes unchanged: nearest copies
    ((2, 2, 5, 7), dict(size=(8, 3), mode="bilinear")),
    ((1, 2, 5, 7), dict(size=(8, 3), mode="bilinear", align_corners=True)),
    ((1, 2, 4, 5), dict(scale_factor=2, mode="bilinear")),
    ((1, 1, 7, 9), dict(scale_factor=(0.6, 0.45), mode="bilinear")),
    ((1, 1, 4, 5), dict(scale_factor=1.5, mode="bilinear", recompute_scale_factor=True)),
    ((1, 2, 1, 6), dict(size=(4, 6), mode="bilinear", align_corners=True)),
    ((1, 1, 4, 4), dict(size=(1, 1), mode="bilinear", align_corners=True)),
    ((1, 2, 5, 6), dict(size=(9, 4), mode="bicubic")),
    ((1, 2, 5, 6), dict(size=(9, 4), mode="bicubic", align_corners=True)),
    ((1, 1, 3, 4), dict(scale_factor=(2.5, 1.4), mode="bicubic")),
    ((1, 1, 8, 7), dict(scale_factor=0.5, mode="bicubic")),
    ((2, 3, 7, 9), dict(size=(3, 4), mode="area")),
    ((2, 3, 7), dict(size=12)),
    ((2, 3, 9), dict(scale_factor=0.4, mode="nearest-exact")),
    ((2, 3, 7), dict(size=11, mode="linear")),
    ((1, 2, 7), dict(scale_factor=2.5, mode="linear", align_corners=True)),
    ((1, 2, 5), dict(scale_factor=0.7, mode="linear")),
    ((1, 2, 1), dict(size=5, mode="linear")),
    ((1, 2, 10), dict(size=4, mode="area")),
]
CASE_IDS = [f"{shape}-{kwargs}" for shape, kwargs in CASES]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, kwargs", CASES, ids=CASE_IDS)
def test_interpolate_matches_reference(shape, kwargs, dtype, device):
    fg_dtype, np_dtype, rtol = DTYPES[dtype]
    x = make_input(shape).astype(np_dtype)
    out = F.interpolate(as_tensor(x, device), **kwargs)
    assert out.dtype == fg_dtype
    assert_close(to_numpy(out), ref.interpolate(x.astype(np.float64), **kwargs), rtol=rtol)


@pytest.mark.parametrize("shape, kwargs", CASES, ids=CASE_IDS)
def test_interpolate_gradient(shape, kwargs, device):
    gradcheck(lambda t: F.interpolate(t, **kwargs), make_input(shape), device=device)


def test_nearest_source_indices_are_pytorchs():
    # PyTorch 2.x CPU: nearest floors o * in / out; nearest-exact floors (o + 0.5) * in / out
    x = fg.arange(5, dtype=fg.float32).reshape(1, 1, 5)
    assert F.interpolate(x, size=8).tolist()[0][0] == [0, 0, 1, 1, 2, 3, 3, 4]
    assert F.interpolate(x, size=8, mode="nearest-exact").tolist()[0][0] == [0, 0, 1, 2, 2, 3, 4, 4]
    assert F.interpolate(x, size=3).tolist()[0][0] == [0, 1, 3]
    assert F.interpolate(x, size=3, mode="nearest-exact").tolist()[0][0] == [0, 2, 4]
    # a given scale_factor maps by its inverse, not by in / out
    assert F.interpolate(x, scale_factor=1.5).tolist()[0][0] == [0, 0, 1, 2, 2, 3, 4]


def test_interpolate_of_a_view_and_empty_batch(device):
    x = make_input((2, 3, 6, 5))
    view = as_tensor(x, device).transpose(2, 3)
    assert_close(
        to_numpy(F.interpolate(view, size=(4, 7), mode="bilinear")),
        ref.interpolate(x.transpose(0, 1, 3, 2), size=(4, 7), mode="bilinear"),
        rtol=1e-5,
    )
    empty = F.interpolate(fg.zeros(0, 3, 4, 4, device=device), scale_factor=2)
    assert tuple(empty.shape) == (0, 3, 8, 8)


def test_upsample_layers_call_interpolate(device):
    x = as_tensor(make_input((1, 2, 4, 5)), device)
    layers = [
        (nn.Upsample(scale_factor=2), dict(scale_factor=2.0)),
        (
            nn.Upsample(size=(7, 3), mode="bicubic", align_corners=True),
            dict(size=(7, 3), mode="bicubic", align_corners=True),
        ),
        (
            nn.Upsample(scale_factor=(1.5, 2), mode="bilinear", recompute_scale_factor=True),
            dict(scale_factor=(1.5, 2), mode="bilinear", recompute_scale_factor=True),
        ),
        (nn.UpsamplingNearest2d(size=6), dict(size=6)),
        (
            nn.UpsamplingBilinear2d(scale_factor=3),
            dict(scale_factor=3, mode="bilinear", align_corners=True),
        ),
    ]
    for layer, kwargs in layers:
        np.testing.assert_array_equal(to_numpy(layer(x)), to_numpy(F.interpolate(x, **kwargs)))
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.UpsamplingBilinear2d(size=(3, 4))) == (
        "UpsamplingBilinear2d(size=(3, 4), mode='bilinear')"
    )
    assert_close(
        to_numpy(F.upsample_bilinear(x, scale_factor=2)),
        to_numpy(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)),
    )
    assert_close(to_numpy(F.upsample_nearest(x, size=5)), to_numpy(F.interpolate(x, size=5)))
    assert_close(
        to_numpy(F.upsample(x, size=5, mode="bicubic")),
        to_numpy(F.interpolate(x, size=5, mode="bicubic")),
    )


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: F.interpolate(x, size=4, mode="cubic"), ValueError, "expected mode"),
        (lambda x: F.interpolate(x[0, 0], size=4), ValueError, "3-d \\(N, C, L\\) or 4-d"),
        (lambda x: F.interpolate(x.reshape(1, 2, 1, 4, 5), size=4), ValueError, "got shape"),
        (
            lambda x: F.interpolate(x.reshape(1, 2, 20), size=4, mode="bilinear"),
            ValueError,
            "expected mode",
        ),
        (lambda x: F.interpolate(x, size=4, mode="linear"), ValueError, "expected mode"),
        (lambda x: F.interpolate(x, size=4, align_corners=False), ValueError, "align_corners"),
        (lambda x: F.interpolate(x, size=4, scale_factor=2), ValueError, "exactly one"),
        (lambda x: F.interpolate(x), ValueError, "exactly one"),
        (lambda x: F.interpolate(x, size=(4, 5, 6)), ValueError, "one value per spatial"),
        (lambda x: F.interpolate(x, size=2.5), TypeError, "as an int"),
        (lambda x: F.interpolate(x, scale_factor="2"), TypeError, "as a number"),
        (lambda x: F.interpolate(x, size=0), ValueError, "greater than 0"),
        (lambda x: F.interpolate(x, scale_factor=0.1), ValueError, "greater than 0"),
        (
            lambda x: F.interpolate(x, size=3, recompute_scale_factor=True),
            ValueError,
            "recompute_scale_factor",
        ),
        (
            lambda x: F.interpolate(x, size=3, mode="bilinear", antialias=True),
            ValueError,
            "antialias",
        ),
        (lambda x: F.interpolate(x.long(), size=3), TypeError, "int64"),
        (lambda x: F.interpolate([1.0], size=3), TypeError, "Tensor"),
    ],
)
def test_interpolate_bad_input(call, error, message):
    x = fg.ones(1, 2, 4, 5)
    with pytest.raises(error, match=f"\\[interpolate\\].*{message}"):
        call(x)


# ----------------------------------------------------------------------- pixel shuffle
SHUFFLE_CASES = [
    ((2, 8, 3, 2), 2),
    ((1, 9, 2, 3), 3),
    ((4, 3, 5), 2),
    ((2, 1, 18, 2, 2), 3),
    ((1, 5, 4, 3), 1),
]


@pytest.mark.parametrize("shape, r", SHUFFLE_CASES)
def test_pixel_shuffle_and_unshuffle(shape, r, device):
    x = make_input(shape)
    out = F.pixel_shuffle(as_tensor(x, device), r)
    want = ref.pixel_shuffle(x.astype(np.float64), r)
    np.testing.assert_array_equal(to_numpy(out), want.astype(np.float32))
    back = F.pixel_unshuffle(out, r)
    np.testing.assert_array_equal(to_numpy(back), x)
    np.testing.assert_array_equal(
        to_numpy(F.pixel_unshuffle(as_tensor(want, device), r)), ref.pixel_unshuffle(want, r)
    )
    gradcheck(lambda t: F.pixel_shuffle(t, r), x, device=device)
    gradcheck(lambda t: F.pixel_unshuffle(t, r), want, device=device)
    np.testing.assert_array_equal(to_numpy(nn.PixelShuffle(r)(as_tensor(x, device))), to_numpy(out))
    np.testing.assert_array_equal(to_numpy(nn.PixelUnshuffle(r)(out)), x)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: F.pixel_shuffle(fg.ones(3, 4, 5), 2), ValueError, "divisible by upscale"),
        (lambda: F.pixel_shuffle(fg.ones(4, 5), 2), ValueError, "at least 3 dimensions"),
        (lambda: F.pixel_shuffle(fg.ones(4, 5, 5), 0), ValueError, "positive"),
        (lambda: F.pixel_shuffle(fg.ones(4, 5, 5), 2.0), TypeError, "as an int"),
        (lambda: F.pixel_unshuffle(fg.ones(1, 4, 5), 2), ValueError, "divisible by downscale"),
    ],
)
def test_pixel_shuffle_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_unflatten_layer(device):
    x = as_tensor(make_input((2, 12, 3)), device)
    layer = nn.Unflatten(1, (3, 2, 2))
    assert tuple(layer(x).shape) == (2, 3, 2, 2, 3)
    np.testing.assert_array_equal(to_numpy(layer(x)), to_numpy(x).reshape(2, 3, 2, 2, 3))
    assert tuple(nn.Unflatten(-1, [3, 1])(x).shape) == (2, 12, 3, 1)
    assert tuple(nn.Unflatten(1, (-1, 4))(x).shape) == (2, 3, 4, 3)
    assert repr(layer) == "Unflatten(dim=1, unflattened_size=(3, 2, 2))"
    with pytest.raises(TypeError, match="tuple of ints"):
        nn.Unflatten(1, (3, 2.0))
    with pytest.raises(TypeError, match="dim must be an int"):
        nn.Unflatten("a", (3, 4))


# ---------------------------------------------------------------------- channel dropout
CHANNEL_DROPOUTS = [
    ("dropout1d", (6, 40, 5), 2),
    ("dropout1d", (40, 5), 1),
    ("dropout2d", (6, 40, 3, 4), 2),
    ("dropout3d", (3, 40, 2, 2, 3), 2),
    ("dropout3d", (40, 2, 3, 2), 1),
]


@pytest.mark.parametrize("name, shape, channel_dims", CHANNEL_DROPOUTS)
@pytest.mark.parametrize("p", [0.2, 0.7])
def test_channel_dropout_zeroes_whole_channels(name, shape, channel_dims, p, device):
    x = make_input(shape, "nonzero")
    xt = as_tensor(x, device, requires_grad=True)
    y = getattr(F, name)(xt, p=p)
    out = to_numpy(y).astype(np.float64)
    channels = out.reshape(math.prod(shape[:channel_dims]), -1)
    kept = channels[:, 0] != 0
    assert np.all((channels != 0) == kept[:, None]), "a channel partly dropped"
    assert 0 < kept.sum() < len(kept)
    assert_close(out, np.where((out != 0), x / (1 - p), 0.0), rtol=1e-6)
    g = make_input(shape)
    (y * as_tensor(g, device)).sum().backward()
    assert_close(to_numpy(xt.grad), np.where(out != 0, g / (1 - p), 0.0), rtol=1e-6)


def test_channel_dropout_rate_and_seed(device):
    x = fg.ones(400, 500, 2, device=device)
    fg.manual_seed(7)
    first = to_numpy(F.dropout1d(x, p=0.3))
    fg.manual_seed(7)
    np.testing.assert_array_equal(to_numpy(F.dropout1d(x, p=0.3)), first)
    dropped = float((first[:, :, 0] == 0).mean())
    assert abs(dropped - 0.3) < 5 * math.sqrt(0.3 * 0.7 / 200_000)
    if device == "cuda":  # the mask is the Philox stream's: the CPU draws the same one
        fg.manual_seed(7)
        np.testing.assert_array_equal(to_numpy(F.dropout1d(fg.ones(400, 500, 2), p=0.3)), first)


def test_channel_dropout_modes_and_inplace(device):
    x = as_tensor(make_input((2, 3, 4, 4), "nonzero"), device)
    assert F.dropout2d(x, 0.5, training=False) is x
    assert F.dropout2d(x, 0.0) is x
    assert not to_numpy(F.dropout2d(x, 1.0)).any()
    layer = nn.Dropout2d(0.5)
    assert layer.eval()(x) is x
    assert repr(layer) == "Dropout2d(p=0.5, inplace=False)"
    y = x.clone()
    out = F.dropout2d(y, 0.5, inplace=True)
    assert out is y and set(np.unique(to_numpy(y) / to_numpy(x)).tolist()) <= {0.0, 2.0}
    with pytest.warns(UserWarning, match="3-d input"):
        assert tuple(F.dropout2d(fg.ones(2, 3, 4, device=device)).shape) == (2, 3, 4)
    with pytest.warns(UserWarning, match="got a 3-d one"):  # PyTorch: unbatched, dimension 0
        out = to_numpy(F.dropout3d(fg.ones(40, 2, 3, device=device), 0.5))
        assert np.all(out == out[:, :1, :1]) and 0 < (out[:, 0, 0] == 0).sum() < 40
    for layer, shape in ((nn.Dropout1d(0.4), (3, 4, 5)), (nn.Dropout3d(0.4), (2, 3, 2, 2, 2))):
        out = to_numpy(layer(fg.ones(*shape, device=device)))
        assert set(np.unique(out).tolist()) <= {0.0, float(np.float32(1 / 0.6))}


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: F.dropout1d(fg.ones(2, 3, 4, 5)), ValueError, r"\[dropout1d\] expected a 2-d"),
        (lambda: F.dropout3d(fg.ones(())), ValueError, r"\[dropout3d\] expected a 4-d"),
        (lambda: F.dropout2d(fg.ones(3)), ValueError, r"\[dropout2d\] expected a 4-d"),
        (lambda: F.dropout2d(fg.ones(2, 3, 4, 4), p=1.5), ValueError, r"\[dropout2d\].*\[0, 1\]"),
        (lambda: F.alpha_dropout(fg.ones(3), p=-0.1), ValueError, r"\[alpha_dropout\]"),
        (lambda: F.feature_alpha_dropout(fg.ones(3), p=0.1), ValueError, "at least 2 dimensions"),
        (lambda: F.dropout1d(fg.ones(2, 3), p="a"), TypeError, r"\[dropout1d\]"),
        (lambda: nn.AlphaDropout(2.0), ValueError, r"\[AlphaDropout\]"),
    ],
)
def test_dropout_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------------------------------------ alpha dropout
SATURATION = 1.7580993408473766  # SELU's -scale * alpha


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_alpha_dropout_values_and_moments(p, device):
    a = 1 / math.sqrt((SATURATION**2 * p + 1) * (1 - p))
    x = np.random.default_rng(3).standard_normal((200, 1000))
    xt = as_tensor(x, device, requires_grad=True)
    y = F.alpha_dropout(xt, p, training=True)
    out = to_numpy(y)
    dropped_value = a * (p - 1) * SATURATION
    dropped = np.isclose(out, dropped_value, rtol=0, atol=1e-12)
    assert abs(dropped.mean() - p) < 0.01
    assert_close(out[~dropped], a * x[~dropped] + SATURATION * a * p, rtol=1e-12)
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02  # SELU's fixed point kept
    y.sum().backward()
    assert_close(to_numpy(xt.grad), np.where(dropped, 0.0, a), rtol=1e-12)
    assert F.alpha_dropout(xt, p) is xt  # training defaults to False
    assert nn.AlphaDropout(p).eval()(xt) is xt


def test_feature_alpha_dropout_drops_channels(device):
    p = 0.4
    a = 1 / math.sqrt((SATURATION**2 * p + 1) * (1 - p))
    x = make_input((4, 50, 3, 3), domain=(-1.0, 2.0))  # none at the dropped value
    out = to_numpy(nn.FeatureAlphaDropout(p)(as_tensor(x, device))).astype(np.float64)
    dropped = np.isclose(out, a * (p - 1) * SATURATION, rtol=0, atol=1e-5)
    per_channel = dropped.reshape(200, 9)
    assert np.all(per_channel == per_channel[:, :1]) and 0 < per_channel[:, 0].sum() < 200
    assert_close(out[~dropped], a * x[~dropped] + SATURATION * a * p, rtol=1e-5)
    y = fg.ones(2, 3, device=device)
    assert not to_numpy(F.alpha_dropout(y, 1.0, training=True)).any()
    z = y.clone()
    assert F.alpha_dropout(z, 0.5, training=True, inplace=True) is z
