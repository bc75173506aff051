"""float64 numpy references for the pooling ops, written as direct loops over each output's
window (not the kernels' algorithm): used by tests/test_pool.py and tests/op_db.py. Inputs
are (N, C, H, W) or unbatched (C, H, W); sizes are ints or (h, w) pairs."""

import math

import numpy as np


def pair(v):
    return tuple(v) * (2 // len(v)) if isinstance(v, (tuple, list)) else (v, v)


def output_size(n, kernel, stride, padding, dilation, ceil_mode):
    """The number of windows along one dimension (PyTorch's documented formula)."""
    reach = dilation * (kernel - 1) + 1
    rounding = math.ceil if ceil_mode else math.floor
    out = rounding((n + 2 * padding - reach) / stride) + 1
    if ceil_mode and (out - 1) * stride >= n + padding:  # the last window starts in padding
        out -= 1
    return out


def _batched(fn):
    """fn on (N, C, H, W); (C, H, W) as a batch of one, results shaped back."""

    def wrapped(x, *args, **kwargs):
        if x.ndim == 4:
            return fn(x, *args, **kwargs)
        out = fn(x[None], *args, **kwargs)
        return tuple(o[0] for o in out) if isinstance(out, tuple) else out[0]

    return wrapped


@_batched
def max_pool2d_with_indices(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    (kh, kw), (ph, pw), (dh, dw) = pair(kernel_size), pair(padding), pair(dilation)
    sh, sw = pair(stride if stride is not None else kernel_size)
    N, C, H, W = x.shape
    OH = output_size(H, kh, sh, ph, dh, ceil_mode)
    OW = output_size(W, kw, sw, pw, dw, ceil_mode)
    out = np.empty((N, C, OH, OW))
    indices = np.empty((N, C, OH, OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    best, at = None, None
                    for a in range(kh):
                        for b in range(kw):
                            h, w = i * sh - ph + a * dh, j * sw - pw + b * dw
                            if not (0 <= h < H and 0 <= w < W):
                                continue
                            v = x[n, c, h, w]
                            if best is None or v > best or np.isnan(v):
                                best, at = v, h * W + w
                    out[n, c, i, j], indices[n, c, i, j] = best, at
    return out, indices


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode)[0]


@_batched
def avg_pool2d(
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    (kh, kw), (ph, pw) = pair(kernel_size), pair(padding)
    sh, sw = pair(stride if stride is not None else kernel_size)
    N, C, H, W = x.shape
    OH = output_size(H, kh, sh, ph, 1, ceil_mode)
    OW = output_size(W, kw, sw, pw, 1, ceil_mode)
    out = np.empty((N, C, OH, OW))
    for i in range(OH):
        for j in range(OW):
            # the window, cut at the far edge of the padding, then at the input
            h0, w0 = i * sh - ph, j * sw - pw
            h1, w1 = min(h0 + kh, H + ph), min(w0 + kw, W + pw)
            padded = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            total = np.zeros((N, C))
            for h in range(h0, h1):
                for w in range(w0, w1):
                    total += x[:, :, h, w]
            if divisor_override:
                divisor = divisor_override
            else:
                divisor = padded if count_include_pad else (h1 - h0) * (w1 - w0)
            out[:, :, i, j] = total / divisor
    return out


def _adaptive_bounds(o, n_in, n_out):
    return (o * n_in) // n_out, -(-((o + 1) * n_in) // n_out)


def _adaptive_sizes(x, output_size):
    sizes = pair(output_size)
    return [x.shape[-2 + d] if s is None else s for d, s in enumerate(sizes)]


@_batched
def adaptive_max_pool2d_with_indices(x, output_size):
    N, C, H, W = x.shape
    OH, OW = _adaptive_sizes(x, output_size)
    out = np.empty((N, C, OH, OW))
    indices = np.empty((N, C, OH, OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                h0, h1 = _adaptive_bounds(i, H, OH)
                for j in range(OW):
                    w0, w1 = _adaptive_bounds(j, W, OW)
                    best, at = None, None
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            v = x[n, c, h, w]
                            if best is None or v > best or np.isnan(v):
                                best, at = v, h * W + w
                    out[n, c, i, j], indices[n, c, i, j] = best, at
    return out, indices


def adaptive_max_pool2d(x, output_size):
    return adaptive_max_pool2d_with_indices(x, output_size)[0]


@_batched
def adaptive_avg_pool2d(x, output_size):
    N, C, H, W = x.shape
    OH, OW = _adaptive_sizes(x, output_size)
    out = np.empty((N, C, OH, OW))
    for i in range(OH):
        h0, h1 = _adaptive_bounds(i, H, OH)
        for j in range(OW):
            w0, w1 = _adaptive_bounds(j, W, OW)
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / ((h1 - h0) * (w1 - w0))
    return out


def max_unpool2d(x, indices, output_hw):
    if x.ndim == 3:
        return max_unpool2d(x[None], indices[None], output_hw)[0]
    N, C = x.shape[:2]
    out = np.zeros((N, C, output_hw[0] * output_hw[1]))
    for n in range(N):
        for c in range(C):
            for v, k in zip(x[n, c].reshape(-1), indices[n, c].reshape(-1)):
                out[n, c, k] = v
    return out.reshape(N, C, *output_hw)


def as_1d(fn):
    """A 2-d reference as its 1-d form on (N, C, L) or (C, L), a height of one: sizes given
    as keywords become (1, size), padding (0, size); tuple results are (values, indices)."""
    fills = {"kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1, "output_size": 1}

    def wrapped(x, **kwargs):
        def widened(name, v):
            if name not in fills or (v is None and name == "stride"):
                return v
            return (fills[name], v[0] if isinstance(v, (tuple, list)) else v)

        out = fn(x[..., None, :], **{k: widened(k, v) for k, v in kwargs.items()})
        return tuple(o[..., 0, :] for o in out) if isinstance(out, tuple) else out[..., 0, :]

    return wrapped


@_batched
def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum of x^p over the window's part inside the input, scaled to the full window's size
    by the part's count, as PyTorch's ceil_mode windows are) ^ (1/p), by direct loops."""
    kh, kw = pair(kernel_size)
    sh, sw = pair(stride if stride is not None else kernel_size)
    n, c, h, w = x.shape
    oh = output_size(h, kh, sh, 0, 1, ceil_mode)
    ow = output_size(w, kw, sw, 0, 1, ceil_mode)
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * sh : min(i * sh + kh, h), j * sw : min(j * sw + kw, w)]
            count = window.shape[2] * window.shape[3]
            total = (window**norm_type).sum(axis=(2, 3))
            out[:, :, i, j] = (total * (kh * kw) / count) ** (1.0 / norm_type)
    return out
