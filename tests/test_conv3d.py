"""conv3d (F.conv3d, nn.Conv3d) against a float64 direct loop over output positions and
kernel taps: strides, paddings ('same', 'valid', per dimension), dilations, groups, 1x1x1
kernels, batch 1 and unbatched input, padding modes; float64 gradients by central
differences, on each device; PyTorch's parameter names and repr; bad input."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
import forgegrad.nn.functional as F
from helpers import as_tensor, assert_close, gradcheck, to_numpy

RNG = np.random.default_rng(3030)
_NP_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _triple(v):
    return (v,) * 3 if isinstance(v, int) else tuple(v)


def np_conv3d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, mode="zeros"):
    """x (N, C, D, H, W), w (O, C / groups, kd, kh, kw): at each output position, the sum
    over the kernel's taps of the padded input there times the tap's weights."""
    stride, dilation, kernel = _triple(stride), _triple(dilation), w.shape[2:]
    if padding == "valid":
        sides = [(0, 0)] * 3
    elif padding == "same":  # PyTorch's split: the odd one after
        sides = [
            (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)
        ]
    else:
        sides = [(p, p) for p in _triple(padding)]
    xp = np.pad(x, ((0, 0), (0, 0), *sides), mode=_NP_MODES[mode])
    n, o, cg = x.shape[0], w.shape[0], w.shape[1]
    size = [
        (xp.shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(3)
    ]
    out = np.zeros((n, o, *size))
    for pos in np.ndindex(*size):
        for tap in np.ndindex(*kernel):
            at = tuple(p * s + t * d for p, s, t, d in zip(pos, stride, tap, dilation))
            pixels = xp[(slice(None), slice(None)) + at].reshape(n, groups, cg)
            taps = w[(slice(None), slice(None)) + tap].reshape(groups, o // groups, cg)
            out[(slice(None), slice(None)) + pos] += np.einsum(
                "ngc,goc->ngo", pixels, taps
            ).reshape(n, o)
    return out if b is None else out + b.reshape(1, o, 1, 1, 1)


def _rand(*shape):
    return RNG.uniform(-1.0, 1.0, size=shape)


# (input shape, weight shape, stride, padding, dilation, groups)
CASES = [
    ((2, 3, 4, 5, 6), (4, 3, 3, 3, 3), 1, 0, 1, 1),
    ((1, 4, 7, 6, 5), (4, 2, 2, 3, 1), (2, 1, 2), (1, 0, 2), (2, 1, 1), 2),
    ((2, 2, 3, 3, 3), (5, 2, 1, 1, 1), 1, 0, 1, 1),  # 1x1x1
    ((1, 3, 5, 5, 4), (3, 1, 3, 3, 3), 1, "same", (2, 1, 1), 3),  # depthwise, 'same'
    ((1, 2, 4, 4, 4), (2, 2, 2, 2, 2), 1, "same", 1, 1),  # an even kernel: the odd pad after
    ((2, 2, 3, 4, 3), (1, 2, 3, 3, 3), 2, "valid", 1, 1),
    ((1, 1, 2, 2, 2), (2, 1, 3, 3, 3), 1, 1, 1, 1),  # the kernel larger than the input, padded
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CASES)
def test_conv3d_matches_loops(xs, ws, stride, padding, dilation, groups, dtype, device):
    x, w, b = _rand(*xs), _rand(*ws), _rand(ws[0])
    t = getattr(fg, dtype)
    got = F.conv3d(
        as_tensor(x, device).to(t),
        as_tensor(w, device).to(t),
        as_tensor(b, device).to(t),
        stride,
        padding,
        dilation,
        groups,
    )
    assert got.dtype == t
    assert_close(
        to_numpy(got),
        np_conv3d(x, w, b, stride, padding, dilation, groups),
        rtol=1e-12 if dtype == "float64" else 2e-5,
    )
    unbatched = F.conv3d(
        as_tensor(x[0], device), as_tensor(w, device), None, stride, padding, dilation, groups
    )
    assert_close(
        to_numpy(unbatched),
        np_conv3d(x[:1], w, None, stride, padding, dilation, groups)[0],
        rtol=1e-12,
    )


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CASES[:4])
def test_conv3d_gradients(xs, ws, stride, padding, dilation, groups, device):
    gradcheck(
        lambda x, w, b: F.conv3d(x, w, b, stride, padding, dilation, groups),
        _rand(*xs),
        _rand(*ws),
        _rand(ws[0]),
        device=device,
    )


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_module_padding_modes(mode, device):
    fg.manual_seed(0)
    layer = nn.Conv3d(2, 3, (3, 2, 3), padding=(1, 1, 2), padding_mode=mode, dtype=fg.float64).to(
        device
    )
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert tuple(layer.weight.shape) == (3, 2, 3, 2, 3)
    x = _rand(2, 2, 4, 5, 6)
    want = np_conv3d(x, to_numpy(layer.weight), to_numpy(layer.bias), 1, (1, 1, 2), 1, 1, mode)
    assert_close(to_numpy(layer(as_tensor(x, device))), want, rtol=1e-12)


def test_conv3d_repr_and_init_as_pytorch():
    layer = nn.Conv3d(4, 8, 3, stride=2, padding=1, groups=2, bias=False)
    assert repr(layer) == (
        "Conv3d(4, 8, kernel_size=(3, 3, 3), stride=(2, 2, 2), "
        "padding=(1, 1, 1), groups=2, bias=False)"
    )
    bound = 1 / np.sqrt(2 * 27)  # kaiming_uniform_(a=sqrt(5)): 1 / sqrt(fan_in)
    assert np.abs(to_numpy(layer.weight)).max() <= bound


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x, w: F.conv3d(x[0, 0], w), ValueError, "[conv3d] expected input of 4 or 5"),
        (lambda x, w: F.conv3d(x, w[0]), ValueError, "[conv3d] expected weight of 5 dimensions"),
        (lambda x, w: F.conv3d(x, w, groups=2), ValueError, "[conv3d] expected out_channels"),
        (lambda x, w: F.conv3d(x, w, stride=(1, 2)), TypeError, "[conv3d] expected stride as an"),
        (lambda x, w: F.conv3d(x, w, padding="same", stride=2), ValueError, "stride 1 with"),
        (lambda x, w: F.conv3d(x[:, :, :1], w), ValueError, "[conv3d] expected a dilated kernel"),
        (lambda x, w: F.conv3d(x, w.double()), TypeError, "[conv3d] expected input and weight"),
        (lambda x, w: F.conv3d(x, w, fg.zeros(2)), ValueError, "[conv3d] expected bias of shape"),
    ],
)
def test_bad_input_is_refused(call, error, message):
    x, w = fg.zeros(1, 2, 3, 3, 3), fg.zeros(3, 2, 2, 2, 2)
    with pytest.raises(error) as raised:
        call(x, w)
    assert message in str(raised.value)
