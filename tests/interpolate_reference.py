"""float64 numpy references for F.interpolate, F.pixel_shuffle and F.pixel_unshuffle, used
by tests/test_upsample.py and tests/op_db.py. Interpolation is written as one resampling
matrix per axis (row o: the weights output o gives each input position, from PyTorch's
documented source-coordinate rules), applied to H and W by direct loops; pixel shuffling
as a loop over output pixels."""

import math

import numpy as np

from pool_reference import adaptive_avg_pool2d

# PyTorch's bicubic kernel: Keys' cubic convolution with A = -0.75
CUBIC_A = -0.75


def _cubic(d):
    """The cubic convolution kernel at distance d."""
    d = abs(d)
    if d <= 1:
        return ((CUBIC_A + 2) * d - (CUBIC_A + 3)) * d * d + 1
    if d < 2:
        return ((CUBIC_A * d - 5 * CUBIC_A) * d + 8 * CUBIC_A) * d - 4 * CUBIC_A
    return 0.0


def _scale(n_in, n_out, align_corners, factor, dtype):
    """Input positions per output step, in the precision PyTorch computes it in."""
    if align_corners:
        return dtype(n_in - 1) / dtype(n_out - 1) if n_out > 1 else dtype(0)
    return dtype(1.0 / factor) if factor else dtype(n_in) / dtype(n_out)


def resampling_matrix(n_in, n_out, mode, align_corners=False, factor=None):
    """(n_out, n_in): row o holds the weights of the inputs output o reads."""
    m = np.zeros((n_out, n_in))
    if mode in ("nearest", "nearest-exact"):
        scale = _scale(n_in, n_out, False, factor, np.float32)  # float32, as PyTorch
        for o in range(n_out):
            if mode == "nearest-exact":
                src = math.floor(np.float32((o + 0.5) * float(scale)))
            else:
                src = o if n_in == n_out else math.floor(np.float32(scale * np.float32(o)))
            m[o, min(src, n_in - 1)] = 1.0
        return m
    if mode == "linear" and n_in == n_out:  # PyTorch copies an unchanged axis
        return np.eye(n_in)
    scale = _scale(n_in, n_out, align_corners, factor, np.float64)
    for o in range(n_out):
        src = scale * o if align_corners else scale * (o + 0.5) - 0.5
        if mode == "linear":
            src = max(src, 0.0)
            low = min(math.floor(src), n_in - 1)
            frac = min(max(src - low, 0.0), 1.0)
            m[o, low] += 1 - frac
            m[o, min(low + 1, n_in - 1)] += frac
        else:  # cubic: four taps around src, clamped to the border
            low = min(math.floor(src), n_in - 1)
            frac = min(max(src - low, 0.0), 1.0)
            for k in range(-1, 3):
                m[o, min(max(low + k, 0), n_in - 1)] += _cubic(frac - k)
    return m


def _per_axis(value, dims):
    return list(value) if isinstance(value, (tuple, list)) else [value] * dims


def interpolate(
    x, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None
):
    """x (N, C, L) or (N, C, H, W) resized as torch.nn.functional.interpolate."""
    dims = x.ndim - 2
    if size is not None:
        sizes, factors = _per_axis(size, dims), [None] * dims
    else:
        factors = [float(f) for f in _per_axis(scale_factor, dims)]
        sizes = [math.floor(n * f) for n, f in zip(x.shape[2:], factors)]
        if recompute_scale_factor:
            factors = [None] * dims
    if mode == "area":
        planes = x if dims == 2 else x[:, :, None, :]
        out = adaptive_avg_pool2d(planes, tuple(sizes) if dims == 2 else (1, sizes[0]))
        return out if dims == 2 else out[:, :, 0, :]
    axis_mode = {"bilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    matrices = [
        resampling_matrix(n, s, axis_mode, bool(align_corners), f)
        for n, s, f in zip(x.shape[2:], sizes, factors)
    ]
    out = np.zeros(x.shape[:2] + tuple(sizes))
    for index in np.ndindex(*out.shape):
        n, c, *where = index
        if dims == 1:
            out[index] = sum(matrices[0][where[0], i] * x[n, c, i] for i in range(x.shape[2]))
        else:
            oh, ow = where
            out[index] = sum(
                matrices[0][oh, i] * matrices[1][ow, j] * x[n, c, i, j]
                for i in range(x.shape[2])
                for j in range(x.shape[3])
            )
    return out


def pixel_shuffle(x, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): out[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w]."""
    r = upscale_factor
    *batch, channels, h, w = x.shape
    out = np.zeros((*batch, channels // (r * r), h * r, w * r))
    for index in np.ndindex(*out.shape):
        *b, c, y, z = index
        out[index] = x[(*b, c * r * r + (y % r) * r + z % r, y // r, z // r)]
    return out


def pixel_unshuffle(x, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W), pixel_shuffle's inverse."""
    r = downscale_factor
    *batch, channels, h, w = x.shape
    out = np.zeros((*batch, channels * r * r, h // r, w // r))
    for index in np.ndindex(*out.shape):
        *b, k, y, z = index
        c, i, j = k // (r * r), k // r % r, k % r
        out[index] = x[(*b, c, y * r + i, z * r + j)]
    return out
