"""The op database: for every public op of the op table (csrc/python/op_table.h), sample
inputs, a float64 numpy reference, and whether it has a gradient. tests/test_op_db.py runs
each op forward against its reference and backward against central differences of it, and
tests/test_op_table.py fails when a public op has no entry here.

    OpInfo("exp", np.exp, Sample((7, 33)))

A Sample gives the op's tensor inputs, as shapes (random float32 values from `domain`) or
as arrays (integer targets, say), and its other arguments as keywords; `call` says how to
call the op when that is not op(*tensors, **kwargs) (max(x, dim) gives (values, indices)).
"""

import collections
import itertools
import math

import numpy as np

import forgegrad as fg
import forgegrad.nn.functional as F

from helpers import np_bce, np_bce_logits, np_ctc_loss, np_cross_entropy, np_gelu, np_gelu_tanh
from helpers import np_l1, np_log_softmax, np_mse, np_nll, np_sigmoid, np_softmax
from helpers import np_digamma, np_erfinv, np_histc, np_polygamma
import pool_reference as pool_ref
import interpolate_reference as interp_ref
import multi_head_attention_reference as mha_ref

Sample = collections.namedtuple("Sample", ["inputs", "kwargs"])


def sample(*inputs, **kwargs):
    return Sample(inputs, kwargs)


class OpInfo:
    """One op's test recipe. grad: its float inputs get a gradient (checked by finite
    differences); domain, avoid, distinct: how inputs are drawn (see helpers.make_input);
    untested_here: why an op without samples is tested elsewhere (and where)."""

    def __init__(
        self,
        name,
        ref=None,
        *samples,
        grad=True,
        call=None,
        domain=(-2.0, 2.0),
        domains=None,
        avoid=(),
        distinct=False,
        untested_here=None,
    ):
        assert samples or untested_here, f"{name}: give samples, or say where it is tested"
        self.name, self.ref, self.samples, self.grad = name, ref, samples, grad
        self.call = call or (lambda op, *tensors, **kwargs: op(*tensors, **kwargs))
        self.domain, self.domains, self.avoid, self.distinct = domain, domains, avoid, distinct
        self.untested_here = untested_here

    def __repr__(self):
        return self.name


_targets = np.random.default_rng(7).integers(0, 5, size=7)  # class indices for 7 rows of 5
_targets_ignored = np.where(np.arange(7) % 3 == 1, -100, _targets)  # rows 1 and 4: ignore_index
_class_weights = np.random.default_rng(9).uniform(0.25, 2.0, size=5)
_probabilities = np.random.default_rng(10).dirichlet(np.ones(5), size=7).astype(np.float32)


def _weighted(op, x, t, **kwargs):
    """op with the fixed class weights, which get no gradient (as in PyTorch)."""
    return op(x, t, fg.tensor(_class_weights, dtype=x.dtype, device=x.device), **kwargs)


_mask = np.random.default_rng(8).random((7, 5)) < 0.5
_rows = np.array([4, 0, 6])
_ints = np.random.default_rng(9).integers(-50, 50, size=(7, 5))
_small_ints = np.random.default_rng(10).integers(-4, 5, size=(5,))  # ties with _ints' rows
_divisors = np.array([3, -7, 2, -1, 5])
_shifts = np.array([0, 1, 3, 7, 2])
_floats = np.array([[0.0, -1.5, np.nan, np.inf, -np.inf], [2.0, 1e-9, -0.0, 3.0, np.nan]])


def _np_nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    # the float32 extremes for the infinities: the inputs are float32
    largest = np.finfo(np.float32).max
    return np.nan_to_num(
        x,
        nan=nan,
        posinf=largest if posinf is None else posinf,
        neginf=-largest if neginf is None else neginf,
    )


_bin_values = np.random.default_rng(13).integers(0, 9, size=20)
_near = _floats + np.array([[0.0, 1e-6, np.nan, np.inf, 1.0], [1e-4, 0.0, 0.0, -1e-12, 0.0]])


# normalization: numpy's mean and var (biased) over the normalized axes
def _np_normalized(x, axes, eps):
    return (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def _np_per_channel(y, weight, bias):
    along_channels = (-1,) + (1,) * (y.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(along_channels)
    return y if bias is None else y + bias.reshape(along_channels)


def _np_layer_norm(x, weight=None, bias=None, normalized_shape=(), eps=1e-5):
    y = _np_normalized(x, tuple(range(x.ndim - len(normalized_shape), x.ndim)), eps)
    y = y if weight is None else y * weight
    return y if bias is None else y + bias


def _np_rms_norm(x, weight=None, normalized_shape=(), eps=None):
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    eps = np.finfo(np.float32).eps if eps is None else eps  # the op runs in float32 here
    y = x / np.sqrt((x * x).mean(axis=axes, keepdims=True) + eps)
    return y if weight is None else y * weight


_embedding_indices = np.array([[0, 2, 5, 2], [1, 2, 0, 3], [5, 5, 4, 2]])


def _np_group_norm(x, weight=None, bias=None, num_groups=1, eps=1e-5):
    groups = x.reshape(x.shape[0], num_groups, -1)
    return _np_per_channel(_np_normalized(groups, (2,), eps).reshape(x.shape), weight, bias)


_running_mean = np.array([0.5, -0.25, 0.0, 1.0, 0.125])
_running_var = np.array([1.5, 0.5, 2.0, 1.0, 0.75])


def _np_batch_norm(x, weight=None, bias=None, training=False, eps=1e-5):
    if training:
        y = _np_normalized(x, (0,) + tuple(range(2, x.ndim)), eps)
    else:
        along_channels = (-1,) + (1,) * (x.ndim - 2)
        y = (x - _running_mean.reshape(along_channels)) / np.sqrt(
            _running_var.reshape(along_channels) + eps
        )
    return _np_per_channel(y, weight, bias)


def _batch_norm(op, x, weight=None, bias=None, **kwargs):
    """op with fresh running statistics (a training call moves them)."""
    running = [fg.tensor(r, dtype=x.dtype, device=x.device) for r in (_running_mean, _running_var)]
    return op(x, *running, weight, bias, **kwargs)


def _np_index_put(x, rows, values):
    out = x.copy()
    out[rows] = values
    return out


def _max_values(op, x, **kwargs):
    return op(x, **kwargs).values


def _indices(op, x, **kwargs):
    return op(x, **kwargs).indices


def _np_sorted(x, dim=-1, descending=False):
    return np.flip(np.sort(x, axis=dim), axis=dim) if descending else np.sort(x, axis=dim)


def _np_order(x, dim=-1, descending=False):
    return np.argsort(-x if descending else x, axis=dim, kind="stable")


def _np_topk(x, k, dim=-1, largest=True):
    return np.take(_np_sorted(x, dim, largest), np.arange(k), axis=dim)


def _np_at_rank(x, rank, dim=-1, keepdim=False):
    out = np.take(np.sort(x, axis=dim), [rank], axis=dim)
    return out if keepdim else np.squeeze(out, axis=dim)


def _np_kthvalue(x, k, dim=-1, keepdim=False):
    return _np_at_rank(x, k - 1, dim, keepdim)


def _np_median(x, dim=None, keepdim=False):
    if dim is None:
        return np.sort(x.reshape(-1))[(x.size - 1) // 2]
    return _np_at_rank(x, (x.shape[dim] - 1) // 2, dim, keepdim)


def _np_mode(x, dim=-1, keepdim=False):
    """The most frequent value along dim, the smallest of a tie."""

    def line(v):
        values, counts = np.unique(v, return_counts=True)
        return values[np.argmax(counts)]

    out = np.apply_along_axis(line, dim, x)
    return np.expand_dims(out, dim) if keepdim else out


_repeated_rows = np.array([4, 0, 6, 0])  # index_add: repeats add up
_columns = np.array([4, 0, 2])
_no_index = np.zeros(0, dtype=np.int64)
_flat_positions = np.array([[0, -1, 7], [34, 3, -35]])
_gather_index = np.random.default_rng(11).integers(0, 5, size=(7, 3))
_scatter_index = np.argsort(np.random.default_rng(12).random((7, 5)), axis=1)[:, :3]  # distinct


def _np_scatter_add(x, index, src):
    out = x.copy()
    for r in range(index.shape[0]):
        for k in range(index.shape[1]):
            out[r, index[r, k]] += src[r, k]
    return out


def _np_scatter(x, index, src):
    out = x.copy()
    np.put_along_axis(out, index, src, 1)
    return out


def _along(out, dim):
    """out with dim moved to the front (a view numpy writes through; 0-d as 1-d)."""
    return np.moveaxis(out.reshape(out.shape or (1,)), dim, 0)


def _np_index_add(x, index, source, dim, alpha=1):
    out = x.copy()
    np.add.at(_along(out, dim), index, alpha * _along(source, dim))
    return out


def _np_index_copy(x, index, source, dim):
    out = x.copy()
    _along(out, dim)[index] = _along(source, dim)
    return out


def _np_index_fill(x, index, value, dim):
    out = x.copy()
    _along(out, dim)[index] = value
    return out


def _np_masked_scatter(x, mask, source):
    out = np.array(np.broadcast_to(x, np.broadcast_shapes(x.shape, mask.shape)))
    mask = np.broadcast_to(mask, out.shape)
    out[mask] = source.reshape(-1)[: mask.sum()]
    return out


def _np_pad(x, pad, mode="constant", value=None):
    """PyTorch's padding: per dimension from the last, negative pads crop, then numpy pads."""
    out = x
    for i in range(len(pad) // 2):
        d, before, after = x.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]
        crop = [slice(None)] * x.ndim
        crop[d] = slice(max(-before, 0), out.shape[d] - max(-after, 0))
        widths = [(0, 0)] * x.ndim
        widths[d] = (max(before, 0), max(after, 0))
        extra = {"constant_values": value or 0} if mode == "constant" else {}
        numpy_mode = {
            "constant": "constant",
            "reflect": "reflect",
            "replicate": "edge",
            "circular": "wrap",
        }[mode]
        out = np.pad(out[tuple(crop)], widths, numpy_mode, **extra)
    return out


def _np_one_hot(t, num_classes=-1):
    return np.eye(t.max() + 1 if num_classes == -1 else num_classes, dtype=np.int64)[t]


def _np_attention(q, k, v, is_causal=False, scale=None):
    scores = q @ np.swapaxes(k, -1, -2) * (scale or 1 / math.sqrt(q.shape[-1]))
    if is_causal:
        scores = np.where(np.tril(np.ones(scores.shape[-2:], bool)), scores, -np.inf)
    return np_softmax(scores, axis=-1) @ v


def op_function(name):
    """The op under test: the op table's binding, else the composition in Python that
    forgegrad or forgegrad.nn.functional exports (PYTHON_OPS); "F.name" for nn.functional's
    op where the op table's name is another op (F.unfold, Tensor.unfold)."""
    if name.startswith("F."):
        return getattr(F, name[2:])
    return getattr(fg._C, name, None) or getattr(fg, name, None) or getattr(F, name)


def _np_max(x, dim=None, keepdim=False):
    return np.max(x, axis=dim, keepdims=keepdim)


def _np_windows(x, kernel_size, dilation, padding, stride):
    """x (N, C, H, W) zero-padded -> its kernel windows (N, C, kh, kw, out_h, out_w)."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = [
        (v, v) if isinstance(v, int) else v for v in (kernel_size, dilation, padding, stride)
    ]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    spans = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = np.lib.stride_tricks.sliding_window_view(xp, spans, axis=(2, 3))
    return windows[:, :, ::sh, ::sw, ::dh, ::dw].transpose(0, 1, 4, 5, 2, 3)


def _np_unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    windows = _np_windows(x, kernel_size, dilation, padding, stride)
    return windows.reshape(x.shape[0], -1, windows.shape[-2] * windows.shape[-1])


def _np_fold(columns, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """unfold's adjoint: columns added at the flat pixel positions that unfold reads."""
    n, rows, positions = columns.shape
    channels = rows // (
        math.prod(kernel_size) if isinstance(kernel_size, tuple) else kernel_size**2
    )
    pixels = np.arange(1, channels * math.prod(output_size) + 1, dtype=np.float64)
    sources = (
        _np_unfold(
            pixels.reshape(1, channels, *output_size), kernel_size, dilation, padding, stride
        )
        .astype(np.int64)
        .reshape(-1)
    )
    out = np.zeros((n, pixels.size + 1))
    for i in range(n):
        np.add.at(out[i], sources, columns[i].reshape(-1))
    return out[:, 1:].reshape(n, channels, *output_size)


def _np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    n, (o, cg, kh, kw) = x.shape[0], w.shape
    windows = _np_windows(x, (kh, kw), dilation, padding, stride)
    windows = windows.reshape(n, groups, cg, kh, kw, *windows.shape[-2:])
    out = np.einsum("ngcijhw,gocij->ngohw", windows, w.reshape(groups, o // groups, cg, kh, kw))
    out = out.reshape(n, o, *out.shape[-2:])
    return out if b is None else out + b.reshape(1, o, 1, 1)


def _np_conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return _np_conv2d(
        x[:, :, None], w[:, :, None], b, (1, stride), (0, padding), (1, dilation), groups
    )[:, :, 0]


def _np_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """fold of each input pixel's products with the taps."""
    (n, c, h, wd), (kh, kw) = x.shape, w.shape[2:]
    pair = [
        (v, v) if isinstance(v, int) else v for v in (stride, padding, output_padding, dilation)
    ]
    output_size = tuple(
        (size - 1) * s - 2 * p + d * (k - 1) + extra + 1
        for size, s, p, extra, d, k in zip((h, wd), *pair, (kh, kw))
    )
    columns = np.einsum(
        "gck,ngcl->ngkl",
        w.reshape(groups, c // groups, -1),
        x.reshape(n, groups, c // groups, h * wd),
    ).reshape(n, -1, h * wd)
    out = _np_fold(columns, output_size, (kh, kw), pair[3], pair[1], pair[0])
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def _np_conv_transpose1d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _np_conv_transpose2d(
        x[:, :, None],
        w[:, :, None],
        b,
        (1, stride),
        (0, padding),
        (0, output_padding),
        groups,
        (1, dilation),
    )[:, :, 0]


# max_pool2d's indices of 2x2 windows in 4x4 planes, for max_unpool2d
_unpool_indices = np.array([[[[1, 3], [12, 11]], [[5, 2], [8, 15]]]], dtype=np.int64)

OP_DB = [
    OpInfo("manual_seed", untested_here="not a tensor op: tests/test_dropout_random.py"),
    OpInfo(
        "clone",
        lambda x, memory_format=None: x.copy(),
        sample((7, 33)),
        sample((7, 33), memory_format=fg.contiguous_format),
    ),
    # elementwise
    OpInfo("add", np.add, sample((7, 33), (33,)), sample((7, 1), (1, 5))),
    OpInfo("sub", np.subtract, sample((7, 33), (7, 33)), sample((3, 1), (5,))),
    OpInfo("mul", np.multiply, sample((7, 33), (33,))),
    OpInfo("div", np.divide, sample((7, 33), (7, 33)), domains=[(-2.0, 2.0), "nonzero"]),
    OpInfo("multiply", np.multiply, sample((7, 5), (5,))),
    OpInfo("divide", np.divide, sample((7, 5), (5,)), domains=[(-2.0, 2.0), "nonzero"]),
    OpInfo("true_divide", np.divide, sample((7, 5), (5,)), domains=[(-2.0, 2.0), "nonzero"]),
    OpInfo(
        "div",
        lambda a, b, rounding_mode: (
            np.floor_divide(a, b)
            if rounding_mode == "floor"
            else np.trunc(a / b).astype(np.result_type(a, b))
        ),
        sample((7, 5), (5,), rounding_mode="floor"),
        sample((7, 5), (5,), rounding_mode="trunc"),
        sample(_ints, _divisors, rounding_mode="floor"),
        grad=False,
        domains=[(-2.0, 2.0), "nonzero"],
    ),
    OpInfo(
        "floor_divide",
        np.floor_divide,
        sample((7, 5), (5,)),
        sample(_ints, _divisors),
        grad=False,
        domains=[(-2.0, 2.0), "nonzero"],
    ),
    OpInfo("remainder", np.remainder, sample((7, 5), (5,)), domains=[(-2.0, 2.0), "nonzero"]),
    OpInfo("remainder", np.remainder, sample(_ints, _divisors), grad=False),
    OpInfo("fmod", np.fmod, sample((7, 5), (5,)), domains=[(-2.0, 2.0), "nonzero"]),
    OpInfo("fmod", np.fmod, sample(_ints, _divisors), grad=False),
    # distinct draws of 42 and 7 values never tie (their grids are offset)
    OpInfo("maximum", np.maximum, sample((6, 7), (7,)), distinct=True),
    OpInfo("maximum", np.maximum, sample(_ints, _small_ints), grad=False),
    OpInfo("minimum", np.minimum, sample((6, 7), (7,)), distinct=True),
    OpInfo("minimum", np.minimum, sample(_ints, _small_ints), grad=False),
    OpInfo("fmax", np.fmax, sample((6, 7), (7,)), distinct=True),
    OpInfo("fmin", np.fmin, sample((6, 7), (7,)), distinct=True),
    OpInfo(
        "pow",
        lambda x, y=None, exponent=None: np.power(x, exponent if y is None else y),
        sample((7, 5), (5,)),
        sample((7, 5), exponent=3.0),
        sample((7, 5), exponent=-0.5),
        domains=["positive", (-2.0, 2.0)],
    ),
    OpInfo("pow", np.power, sample(np.abs(_ints), np.array([0, 1, 2, 3, 5])), grad=False),
    OpInfo("atan2", np.arctan2, sample((7, 5), (5,)), domains=[(-2.0, 2.0), "nonzero"]),
    OpInfo("arctan2", np.arctan2, sample((7, 5), (7, 5)), domains=[(-2.0, 2.0), "nonzero"]),
    OpInfo("hypot", np.hypot, sample((7, 5), (5,)), domain="nonzero"),
    OpInfo(
        "lerp",
        lambda a, b, w: a + w * (b - a),
        sample((7, 5), (7, 5), (5,)),
        domains=[(-2.0, 2.0), (-2.0, 2.0), (0.0, 1.0)],
    ),
    OpInfo("lerp", lambda a, b, weight: a + weight * (b - a), sample((7, 5), (5,), weight=0.75)),
    OpInfo("bitwise_and", np.bitwise_and, sample(_ints, _divisors), grad=False),
    OpInfo("bitwise_or", np.bitwise_or, sample(_ints, _divisors), grad=False),
    OpInfo("bitwise_xor", np.bitwise_xor, sample(_ints, _divisors), grad=False),
    OpInfo("bitwise_left_shift", np.left_shift, sample(_ints, _shifts), grad=False),
    OpInfo("bitwise_right_shift", np.right_shift, sample(_ints, _shifts), grad=False),
    OpInfo("bitwise_not", np.invert, sample(_ints), sample(_mask), grad=False),
    OpInfo(
        "logical_and", np.logical_and, sample(_ints, _small_ints), sample((7, 5), _mask), grad=False
    ),
    OpInfo("logical_or", np.logical_or, sample(_ints, _small_ints), grad=False),
    OpInfo("logical_xor", np.logical_xor, sample(_ints, _small_ints), grad=False),
    OpInfo("logical_not", np.logical_not, sample(_small_ints), sample(_floats), grad=False),
    OpInfo("neg", np.negative, sample((33,))),
    OpInfo("exp", np.exp, sample((7, 33))),
    OpInfo("log", np.log, sample((7, 33)), domain="positive"),
    OpInfo("log1p", np.log1p, sample((7, 33)), sample((1,)), domain=(-0.9, 3.0)),
    OpInfo("sqrt", np.sqrt, sample((7, 33)), domain="positive"),
    OpInfo("abs", np.abs, sample((7, 33)), domain="nonzero"),
    OpInfo("sin", np.sin, sample((7, 33))),
    OpInfo("cos", np.cos, sample((7, 33))),
    OpInfo("tan", np.tan, sample((7, 33)), domain=(-1.2, 1.2)),
    OpInfo("asin", np.arcsin, sample((7, 33)), domain=(-0.9, 0.9)),
    OpInfo("acos", np.arccos, sample((7, 33)), domain=(-0.9, 0.9)),
    OpInfo("atan", np.arctan, sample((7, 33))),
    OpInfo("sinh", np.sinh, sample((7, 33))),
    OpInfo("cosh", np.cosh, sample((7, 33))),
    OpInfo("asinh", np.arcsinh, sample((7, 33))),
    OpInfo("acosh", np.arccosh, sample((7, 33)), domain=(1.1, 3.0)),
    OpInfo("atanh", np.arctanh, sample((7, 33)), domain=(-0.9, 0.9)),
    OpInfo("exp2", np.exp2, sample((7, 33))),
    OpInfo("expm1", np.expm1, sample((7, 33))),
    OpInfo("log2", np.log2, sample((7, 33)), domain="positive"),
    OpInfo("log10", np.log10, sample((7, 33)), domain="positive"),
    OpInfo("rsqrt", lambda x: 1 / np.sqrt(x), sample((7, 33)), domain="positive"),
    OpInfo("reciprocal", np.reciprocal, sample((7, 33)), domain="nonzero"),
    OpInfo("erf", lambda x: np.vectorize(math.erf)(x), sample((7, 33))),
    OpInfo("erfc", lambda x: np.vectorize(math.erfc)(x), sample((7, 33))),
    OpInfo("floor", np.floor, sample((7, 33)), grad=False),
    OpInfo("ceil", np.ceil, sample((7, 33)), grad=False),
    OpInfo(
        "round",
        np.round,
        sample((7, 33)),
        sample((7, 33), decimals=2),
        sample((7, 33), decimals=-1),
        grad=False,
    ),
    OpInfo("trunc", np.trunc, sample((7, 33)), grad=False),
    OpInfo("sign", np.sign, sample((7, 33)), grad=False),
    OpInfo("frac", lambda x: x - np.trunc(x), sample((7, 33)), avoid=(-1.0, 0.0, 1.0)),
    OpInfo("square", np.square, sample((7, 33))),
    OpInfo("sgn", np.sign, sample((7, 33)), grad=False),
    OpInfo("lgamma", np.vectorize(math.lgamma), sample((7, 33)), domain=(0.05, 6.0)),
    OpInfo(
        "lgamma",
        np.vectorize(math.lgamma),
        sample((33,)),
        domain=(-2.95, -0.05),
        avoid=(-2.0, -1.0),
    ),
    OpInfo("digamma", np_digamma, sample((7, 33)), domain=(0.05, 6.0)),
    OpInfo("digamma", np_digamma, sample((33,)), domain=(-2.95, -0.05), avoid=(-2.0, -1.0)),
    # from 0.5: nearer 0, values of 1e3 to 1e5 in the summed loss drown finite differences
    OpInfo(
        "polygamma",
        lambda x, n: np_polygamma(n, x),
        sample((7, 33), n=1),
        sample((33,), n=2),
        sample((33,), n=3),
        call=lambda op, x, n: op(n, input=x),
        domain=(0.5, 6.0),
    ),
    OpInfo(
        "polygamma",
        lambda x, n: np_polygamma(n, x),
        sample((33,), n=1),
        sample((33,), n=0),
        call=lambda op, x, n: op(n, input=x),
        domain=(-2.95, -0.05),
        avoid=(-2.0, -1.0),
    ),
    OpInfo("erfinv", np_erfinv, sample((7, 33)), domain=(-0.95, 0.95)),
    OpInfo("nan_to_num", _np_nan_to_num, sample((7, 33)), sample((33,), nan=1.5)),
    # no finite differences across the replaced values (test_elementwise checks that gradient)
    OpInfo(
        "nan_to_num",
        _np_nan_to_num,
        sample(_floats.astype(np.float32)),
        sample(_floats.astype(np.float32), nan=1.5, posinf=9.0, neginf=-9.0),
        grad=False,
    ),
    OpInfo(
        "bincount",
        np.bincount,
        sample(_bin_values),
        sample(_bin_values, minlength=12),
        sample(_bin_values, (20,)),
        sample(np.zeros(0, dtype=np.int64), minlength=3),
        grad=False,
    ),
    OpInfo(
        "histc",
        np_histc,
        sample((40,)),
        sample((7, 33), bins=7, min=-1.0, max=1.5),
        sample((33,), bins=4, min=0.5, max=0.5),
        grad=False,
    ),
    OpInfo(
        "clamp",
        lambda x, min=None, max=None: np.clip(x, min, max),
        sample((7, 33), min=-0.5, max=0.75),
        sample((33,), min=0.25),
        avoid=(-0.5, 0.75, 0.25),
    ),
    OpInfo(
        "clip",
        lambda x, min=None, max=None: np.clip(x, min, max),
        sample((7, 5), min=-0.5, max=0.75),
        avoid=(-0.5, 0.75),
    ),
    OpInfo("clamp_min", lambda x, min: np.maximum(x, min), sample((7, 5), min=0.25), avoid=(0.25,)),
    OpInfo("clamp_max", lambda x, max: np.minimum(x, max), sample((7, 5), max=0.25), avoid=(0.25,)),
    OpInfo(
        "clamp",
        lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
        sample((6, 7), (7,), (6, 1)),
        call=lambda op, x, lo, hi: op(x, lo, hi),
        # x's 42 values lie at -2 + odd/21, the bounds' at -2 + even/21: never within a
        # difference step of each other, however the draws pair them
        domains=[(-2.0, 2.0), (-2.0 + 4 / 21, -2.0 + 4 / 21 + 4 / 3), (0.0, 8 / 7)],
        distinct=True,
    ),
    # comparisons and tests
    OpInfo("eq", np.equal, sample(_ints, _small_ints), sample(_floats, _near), grad=False),
    OpInfo("ne", np.not_equal, sample(_ints, _small_ints), grad=False),
    OpInfo("not_equal", np.not_equal, sample(_floats, _near), grad=False),
    OpInfo("lt", np.less, sample(_ints, _small_ints), grad=False),
    OpInfo("less", np.less, sample(_floats, _near), grad=False),
    OpInfo("le", np.less_equal, sample(_ints, _small_ints), grad=False),
    OpInfo("less_equal", np.less_equal, sample(_floats, _near), grad=False),
    OpInfo("gt", np.greater, sample(_ints, _small_ints), grad=False),
    OpInfo("greater", np.greater, sample(_floats, _near), grad=False),
    OpInfo("ge", np.greater_equal, sample(_ints, _small_ints), grad=False),
    OpInfo("greater_equal", np.greater_equal, sample(_floats, _near), grad=False),
    OpInfo(
        "isclose",
        np.isclose,
        sample(_floats, _near),
        sample(_floats, _near, equal_nan=True),
        sample(_floats, _near, rtol=1e-3, atol=0.0),
        sample(_ints, _ints),
        grad=False,
    ),
    OpInfo("allclose", untested_here="returns a Python bool: tests/test_binary_math.py"),
    OpInfo("equal", untested_here="returns a Python bool: tests/test_binary_math.py"),
    OpInfo("isnan", np.isnan, sample(_floats), sample(_ints), grad=False),
    OpInfo("isinf", np.isinf, sample(_floats), sample(_ints), grad=False),
    OpInfo("isfinite", np.isfinite, sample(_floats), sample(_ints), grad=False),
    # reductions
    OpInfo(
        "sum",
        lambda x, dim=None, keepdim=False: np.sum(x, axis=dim, keepdims=keepdim),
        sample((7, 33)),
        sample((3, 7, 5), dim=(0, 2)),
        sample((7, 33), dim=1, keepdim=True),
    ),
    OpInfo(
        "mean",
        lambda x, dim=None, keepdim=False: np.mean(x, axis=dim, keepdims=keepdim),
        sample((7, 33)),
        sample((3, 7, 5), dim=1, keepdim=True),
    ),
    OpInfo("max", _np_max, sample((7, 33)), distinct=True),
    OpInfo(
        "max",
        _np_max,
        sample((7, 33), dim=1),
        sample((3, 7, 5), dim=0, keepdim=True),
        call=_max_values,
        distinct=True,
    ),
    OpInfo(
        "min",
        lambda x, dim=None, keepdim=False: np.min(x, axis=dim, keepdims=keepdim),
        sample((7, 33)),
        distinct=True,
    ),
    OpInfo(
        "min",
        lambda x, dim=None, keepdim=False: np.min(x, axis=dim, keepdims=keepdim),
        sample((7, 33), dim=1),
        call=_max_values,
        distinct=True,
    ),
    OpInfo(
        "amax",
        lambda x, dim=(), keepdim=False: np.max(x, axis=dim or None, keepdims=keepdim),
        sample((7, 33)),
        sample((3, 7, 5), dim=(0, 2), keepdim=True),
        distinct=True,
    ),
    OpInfo(
        "amin",
        lambda x, dim=(), keepdim=False: np.min(x, axis=dim or None, keepdims=keepdim),
        sample((7, 33)),
        sample((3, 7, 5), dim=1),
        distinct=True,
    ),
    OpInfo(
        "aminmax",
        lambda x, dim=None: np.max(x, axis=dim),
        sample((7, 5), dim=1),
        call=lambda op, x, **kw: op(x, **kw).max,
        distinct=True,
    ),
    OpInfo(
        "argmin",
        lambda x, dim=None, keepdim=False: np.argmin(x, axis=dim, keepdims=keepdim),
        sample((7, 33)),
        sample((7, 33), dim=0),
        grad=False,
        distinct=True,
    ),
    OpInfo(
        "prod",
        lambda x, dim=None, keepdim=False: np.prod(x, axis=dim, keepdims=keepdim),
        sample((7, 5)),
        sample((3, 7, 5), dim=1),
        domain=(0.5, 1.5),
    ),
    OpInfo(
        "var",
        lambda x, dim=None, correction=1: np.var(x, axis=dim, ddof=correction),
        sample((7, 5)),
        sample((7, 5), dim=1, correction=0),
    ),
    OpInfo(
        "std",
        lambda x, dim=None, correction=1: np.std(x, axis=dim, ddof=correction),
        sample((7, 5)),
        sample((7, 5), dim=0, correction=2),
    ),
    OpInfo(
        "var_mean",
        lambda x, dim=None: np.var(x, axis=dim, ddof=1),
        sample((7, 5), dim=1),
        call=lambda op, x, **kw: op(x, **kw)[0],
    ),
    OpInfo(
        "std_mean",
        lambda x, dim=None: np.mean(x, axis=dim),
        sample((7, 5), dim=1),
        call=lambda op, x, **kw: op(x, **kw)[1],
    ),
    OpInfo(
        "logsumexp",
        lambda x, dim, keepdim=False: np.log(np.sum(np.exp(x), axis=dim, keepdims=keepdim)),
        sample((7, 5), dim=1),
        sample((3, 7, 5), dim=(0, 2), keepdim=True),
    ),
    OpInfo(
        "norm",
        lambda x, p="fro", dim=None: np.linalg.norm(
            x.reshape(-1) if dim is None else x,
            2 if p == "fro" else p,
            **({} if dim is None else {"axis": dim}),
        ),
        sample((7, 5)),
        sample((7, 5), p=1, dim=1),
        sample((7, 5), p=3.0, dim=0),
        domain="nonzero",
    ),
    OpInfo(
        "all",
        lambda x, dim=None: np.all(x, axis=dim),
        sample(_ints),
        sample(_mask, dim=1),
        grad=False,
    ),
    OpInfo(
        "any",
        lambda x, dim=None: np.any(x, axis=dim),
        sample(_mask),
        sample(_ints, dim=0),
        grad=False,
    ),
    OpInfo(
        "count_nonzero",
        lambda x, dim=None: np.count_nonzero(x, axis=dim),
        sample(_mask),
        sample(_small_ints, dim=0),
        grad=False,
    ),
    OpInfo(
        "cumsum",
        lambda x, dim: np.cumsum(x, axis=dim),
        sample((7, 5), dim=1),
        sample((3, 7, 5), dim=0),
    ),
    OpInfo("cumsum", lambda x, dim: np.cumsum(x, axis=dim), sample(_ints, dim=0), grad=False),
    OpInfo(
        "cumprod",
        lambda x, dim: np.cumprod(x, axis=dim),
        sample((7, 5), dim=1),
        sample((3, 7, 5), dim=0),
        domain=(0.5, 1.5),
    ),
    OpInfo(
        "cummax",
        lambda x, dim: np.maximum.accumulate(x, axis=dim),
        sample((7, 5), dim=1),
        call=_max_values,
        distinct=True,
    ),
    OpInfo(
        "cummin",
        lambda x, dim: np.minimum.accumulate(x, axis=dim),
        sample((7, 5), dim=0),
        call=_max_values,
        distinct=True,
    ),
    OpInfo(
        "sort",
        _np_sorted,
        sample((7, 33)),
        sample((3, 7, 5), dim=0, descending=True),
        sample((7, 5), dim=-2),
        call=_max_values,
        distinct=True,
    ),
    OpInfo(
        "sort",
        _np_order,
        sample((7, 33), descending=True),
        sample((3, 7, 5), dim=1),
        call=_indices,
        grad=False,
        distinct=True,
    ),
    OpInfo(
        "sort",
        _np_order,
        sample(_small_ints),
        sample(_ints, dim=0, descending=True),
        call=_indices,
        grad=False,
    ),
    OpInfo(
        "argsort",
        _np_order,
        sample((7, 33)),
        sample((3, 7, 5), dim=0, descending=True),
        sample(_ints, dim=1),
        grad=False,
        distinct=True,
    ),
    OpInfo("msort", lambda x: np.sort(x, axis=0), sample((7, 5)), distinct=True),
    OpInfo(
        "topk",
        _np_topk,
        sample((7, 33), k=4),
        sample((3, 7, 5), k=2, dim=1, largest=False),
        sample((5,), k=0),
        call=_max_values,
        distinct=True,
    ),
    OpInfo(
        "kthvalue",
        _np_kthvalue,
        sample((7, 33), k=3),
        sample((3, 7, 5), k=7, dim=1),
        sample((7, 5), k=1, dim=0, keepdim=True),
        call=_max_values,
        distinct=True,
    ),
    OpInfo(
        "median",
        _np_median,
        sample((7, 33)),
        sample((3, 8, 5), dim=1),
        sample((7, 5), dim=0, keepdim=True),
        distinct=True,
        call=lambda op, x, **kw: op(x, **kw).values if "dim" in kw else op(x),
    ),
    OpInfo(
        "nanmedian",
        _np_median,
        sample((7, 33)),
        sample((3, 8, 5), dim=-1),
        distinct=True,
        call=lambda op, x, **kw: op(x, **kw).values if "dim" in kw else op(x),
    ),
    OpInfo(
        "mode",
        _np_mode,
        sample(_ints // 10),
        sample(_ints % 4, dim=0, keepdim=True),
        call=_max_values,
        grad=False,
    ),
    # all distinct: the min
    OpInfo("mode", _np_mode, sample((7, 5)), call=_max_values, distinct=True),
    OpInfo(
        "argmax",
        lambda x, dim=None, keepdim=False: np.argmax(x, axis=dim, keepdims=keepdim),
        sample((7, 33)),
        sample((7, 33), dim=0),
        grad=False,
        distinct=True,
    ),
    # shape
    OpInfo(
        "reshape",
        np.reshape,
        sample((7, 33), shape=(33, 7)),
        call=lambda op, x, shape: op(x, *shape),
    ),
    OpInfo(
        "view",
        np.reshape,
        sample((3, 7, 5), shape=(21, -1)),
        call=lambda op, x, shape: op(x, *shape),
    ),
    OpInfo(
        "flatten",
        lambda x, start_dim=0: x.reshape(x.shape[:start_dim] + (-1,)),
        sample((3, 7, 5)),
        sample((3, 7, 5), start_dim=1),
    ),
    OpInfo(
        "transpose",
        lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1),
        sample((7, 33), dim0=0, dim1=1),
        sample((3, 7, 5), dim0=0, dim1=2),
    ),
    # views
    OpInfo(
        "permute",
        np.transpose,
        sample((3, 7, 5), axes=(2, 0, 1)),
        call=lambda op, x, axes: op(x, *axes),
    ),
    OpInfo("movedim", np.moveaxis, sample((3, 7, 5), source=0, destination=2)),
    OpInfo(
        "swapaxes",
        lambda x, axis0, axis1: np.swapaxes(x, axis0, axis1),
        sample((3, 7, 5), axis0=0, axis1=2),
    ),
    OpInfo(
        "swapdims",
        lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1),
        sample((3, 7, 5), dim0=2, dim1=1),
    ),
    OpInfo("t", np.transpose, sample((7, 33)), sample((7,))),
    OpInfo(
        "expand",
        np.broadcast_to,
        sample((7, 1), shape=(3, 7, 33)),
        call=lambda op, x, shape: op(x, *shape),
    ),
    OpInfo(
        "expand_as",
        lambda x: np.broadcast_to(x, (3, 7, 33)),
        sample((7, 1)),
        call=lambda op, x: op(x, fg.empty(3, 7, 33)),
    ),  # only other's shape counts
    OpInfo(
        "broadcast_to", lambda x, size: np.broadcast_to(x, size), sample((7, 1), size=(3, 7, 33))
    ),
    OpInfo(
        "narrow",
        lambda x, dim, start, length: np.take(x, range(start, start + length), dim),
        sample((7, 33), dim=1, start=3, length=5),
    ),
    OpInfo(
        "select",
        lambda x, dim, index: np.take(x, index, dim),
        sample((7, 33), dim=1, index=4),
        sample((7, 33), dim=0, index=-1),
    ),
    OpInfo(
        "unsqueeze",
        lambda x, dim: np.expand_dims(x, dim),
        sample((7, 33), dim=1),
        sample((7, 33), dim=-1),
    ),
    OpInfo(
        "squeeze",
        lambda x, dim=None: np.squeeze(x, dim),
        sample((7, 1, 33)),
        sample((7, 1, 33), dim=1),
    ),
    OpInfo(
        "unflatten",
        lambda x, dim, sizes: x.reshape(x.shape[:dim] + sizes + x.shape[dim + 1 :]),
        sample((7, 33), dim=1, sizes=(3, 11)),
    ),
    OpInfo(
        "diagonal",
        lambda x, offset=0, dim1=0, dim2=1: np.diagonal(x, offset, dim1, dim2),
        sample((7, 33)),
        sample((3, 7, 5), offset=1, dim1=1, dim2=2),
    ),
    OpInfo(
        "unfold",
        lambda x, dimension, size, step: np.take(
            np.lib.stride_tricks.sliding_window_view(x, size, axis=dimension),
            range(0, x.shape[dimension] - size + 1, step),
            dimension,
        ),
        sample((7, 33), dimension=1, size=5, step=3),
    ),
    # joining and splitting (the split family: one piece, a view, compared)
    OpInfo(
        "cat",
        lambda a, b, dim=0: np.concatenate([a, b], dim),
        sample((3, 5), (4, 5)),
        sample((3, 5), (3, 2), dim=1),
        call=lambda op, a, b, **kw: op([a, b], **kw),
    ),
    OpInfo(
        "concat",
        lambda a, b: np.concatenate([a, b]),
        sample((3, 5), (4, 5)),
        call=lambda op, a, b: op((a, b)),
    ),
    OpInfo(
        "concatenate",
        lambda a, b, axis=0: np.concatenate([a, b], axis),
        sample((3, 5), (3, 2), axis=-1),
        call=lambda op, a, b, **kw: op([a, b], **kw),
    ),
    OpInfo(
        "stack",
        lambda a, b, dim=0: np.stack([a, b], dim),
        sample((3, 5), (3, 5), dim=1),
        call=lambda op, a, b, **kw: op([a, b], **kw),
    ),
    OpInfo(
        "split",
        lambda x: np.split(x, [3, 6], 1)[2],
        sample((4, 7)),
        call=lambda op, x: op(x, 3, 1)[2],
    ),
    OpInfo(
        "chunk",
        lambda x: x[3:6],
        sample((7, 5)),  # pieces of ceil(7 / 3) rows
        call=lambda op, x: op(x, 3)[1],
    ),
    OpInfo("unbind", lambda x: x[:, 2], sample((4, 5)), call=lambda op, x: op(x, 1)[2]),
    # indexing
    OpInfo(
        "index_select",
        lambda x, i: np.take(x, i, 1),
        sample((7, 33), _rows),
        call=lambda op, x, i: op(x, 1, i),
    ),
    OpInfo("nonzero", np.argwhere, sample(_mask), grad=False),
    OpInfo("argwhere", np.argwhere, sample(_mask), grad=False),
    OpInfo("where", np.where, sample(_mask, (7, 5), (7, 5)), sample(_mask, (7, 1), (5,))),
    OpInfo(
        "masked_fill", lambda x, m, value: np.where(m, value, x), sample((7, 5), _mask, value=0.5)
    ),
    OpInfo("masked_select", lambda x, m: x[m], sample((7, 5), _mask)),
    OpInfo(
        "index_put",
        _np_index_put,
        sample((7, 5), _rows, (3, 5)),
        sample((7, 5), _rows, (5,)),
        call=lambda op, x, rows, values: op(x, (rows,), values),
    ),
    OpInfo("index_put_", untested_here="in place: tests/test_indexing.py"),
    OpInfo(
        "gather",
        lambda x, i: np.take_along_axis(x, i, 1),
        sample((7, 5), _gather_index),
        call=lambda op, x, i: op(x, 1, i),
    ),
    OpInfo(
        "take_along_dim",
        lambda x, i: np.take_along_axis(x, i, 1),
        sample((7, 5), _gather_index),
        call=lambda op, x, i: op(x, i, 1),
    ),
    OpInfo(
        "scatter_add",
        _np_scatter_add,
        sample((7, 5), _gather_index, (7, 3)),
        call=lambda op, x, i, src: op(x, 1, i, src),
    ),
    OpInfo(
        "scatter",
        lambda x, i, src: _np_scatter(x, i, src),
        sample((7, 5), _scatter_index, (7, 3)),
        call=lambda op, x, i, src: op(x, 1, i, src),
    ),
    OpInfo(
        "scatter_reduce",
        _np_scatter_add,
        sample((7, 5), _gather_index, (7, 3)),
        call=lambda op, x, i, src: op(x, 1, i, src, "sum"),
    ),
    OpInfo(
        "matmul",
        np.matmul,
        sample((7, 33), (33, 5)),
        sample((33,), (33, 7)),
        sample((2, 1, 3, 4), (5, 4, 6)),
    ),
    OpInfo("mm", np.matmul, sample((7, 33), (33, 5))),
    OpInfo("bmm", np.matmul, sample((3, 7, 5), (3, 5, 4))),
    OpInfo("mv", np.matmul, sample((7, 33), (33,))),
    OpInfo("dot", np.dot, sample((33,), (33,))),
    OpInfo("vdot", np.vdot, sample((33,), (33,))),
    OpInfo("outer", np.outer, sample((7,), (5,))),
    OpInfo("ger", np.outer, sample((7,), (5,))),
    OpInfo("inner", np.inner, sample((3, 7, 5), (4, 5)), sample((5,), (5,))),
    OpInfo(
        "addmm",
        lambda c, a, b, beta=1, alpha=1: beta * c + alpha * (a @ b),
        sample((5,), (7, 33), (33, 5)),
        sample((7, 5), (7, 3), (3, 5), beta=0.5, alpha=2.0),
    ),
    OpInfo(
        "baddbmm",
        lambda c, a, b, beta=1, alpha=1: beta * c + alpha * (a @ b),
        sample((3, 7, 4), (3, 7, 5), (3, 5, 4), alpha=-1.5),
    ),
    OpInfo(
        "addmv",
        lambda c, a, v, beta=1, alpha=1: beta * c + alpha * (a @ v),
        sample((7,), (7, 33), (33,), beta=2.0),
    ),
    OpInfo("linear", lambda x, w, b: x @ w.T + b, sample((7, 33), (5, 33), (5,))),
    # activations
    OpInfo("relu", lambda x: np.maximum(x, 0.0), sample((7, 33)), avoid=(0.0,)),
    OpInfo(
        "leaky_relu",
        lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
        sample((7, 33)),
        sample((33,), negative_slope=0.2),
        avoid=(0.0,),
    ),
    OpInfo(
        "gelu",
        lambda x, approximate="none": (np_gelu if approximate == "none" else np_gelu_tanh)(x),
        sample((7, 33)),
        sample((33,), approximate="tanh"),
    ),
    OpInfo("tanh", np.tanh, sample((7, 33))),
    OpInfo("sigmoid", np_sigmoid, sample((7, 33))),
    OpInfo("silu", lambda x: x * np_sigmoid(x), sample((7, 33))),
    OpInfo(
        "softplus",
        lambda x, beta=1.0, threshold=20.0: np.where(
            beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta
        ),
        sample((7, 5)),
        sample((7, 5), beta=2.0, threshold=1.0),
        avoid=(0.5,),
    ),
    OpInfo(
        "elu",
        lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x)),
        sample((7, 5)),
        sample((7, 5), alpha=0.5),
        avoid=(0.0,),
    ),
    OpInfo(
        "selu",
        lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
        sample((7, 5)),
        avoid=(0.0,),
    ),
    OpInfo(
        "celu",
        lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x / alpha)),
        sample((7, 5)),
        sample((7, 5), alpha=2.0),
        avoid=(0.0,),
    ),
    OpInfo("mish", lambda x: x * np.tanh(np.log1p(np.exp(x))), sample((7, 5)), domain=(-6.0, 6.0)),
    OpInfo(
        "hardtanh",
        lambda x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val),
        sample((7, 5)),
        sample((7, 5), min_val=-0.5, max_val=1.5),
        avoid=(-1.0, 1.0, -0.5, 1.5),
    ),
    OpInfo(
        "relu6",
        lambda x: np.clip(x, 0.0, 6.0),
        sample((7, 5)),
        domain=(-2.0, 8.0),
        avoid=(0.0, 6.0),
    ),
    OpInfo(
        "hardsigmoid",
        lambda x: np.clip(x / 6 + 0.5, 0.0, 1.0),
        sample((7, 5)),
        domain=(-4.0, 4.0),
        avoid=(-3.0, 3.0),
    ),
    OpInfo(
        "hardswish",
        lambda x: x * np.clip(x + 3, 0.0, 6.0) / 6,
        sample((7, 5)),
        domain=(-4.0, 4.0),
        avoid=(-3.0, 3.0),
    ),
    OpInfo("logsigmoid", lambda x: -np.logaddexp(0.0, -x), sample((7, 5)), domain=(-30.0, 30.0)),
    OpInfo("softsign", lambda x: x / (1 + np.abs(x)), sample((7, 5))),
    OpInfo("tanhshrink", lambda x: x - np.tanh(x), sample((7, 5))),
    OpInfo(
        "threshold",
        lambda x, threshold, value: np.where(x > threshold, x, value),
        sample((7, 5), threshold=0.5, value=-1.0),
        avoid=(0.5,),
    ),
    OpInfo(
        "softshrink",
        lambda x, lambd=0.5: np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0.0)),
        sample((7, 5)),
        sample((7, 5), lambd=1.0),
        avoid=(-0.5, 0.5, -1.0, 1.0),
    ),
    OpInfo(
        "hardshrink",
        lambda x, lambd=0.5: np.where(np.abs(x) > lambd, x, 0.0),
        sample((7, 5)),
        sample((7, 5), lambd=1.0),
        avoid=(-0.5, 0.5, -1.0, 1.0),
    ),
    OpInfo(
        "prelu",
        lambda x, w: np.where(x > 0, x, w.reshape((-1,) + (1,) * (x.ndim - 2)) * x),
        sample((7, 5), (5,)),
        sample((3, 4, 5), (4,)),
        sample((3, 4, 5), (1,)),
        avoid=(0.0,),
    ),
    OpInfo(
        "glu",
        lambda x, dim=-1: np.split(x, 2, dim)[0] / (1 + np.exp(-np.split(x, 2, dim)[1])),
        sample((7, 6)),
        sample((4, 6, 5), dim=1),
    ),
    OpInfo(
        "softmax", lambda x, dim=-1: np_softmax(x, dim), sample((7, 33)), sample((3, 7, 5), dim=1)
    ),
    OpInfo(
        "log_softmax",
        lambda x, dim=-1: np_log_softmax(x, dim),
        sample((7, 33)),
        sample((3, 7, 5), dim=0),
    ),
    # training=False: the identity (its random masks are tests/test_dropout_random.py's)
    OpInfo("dropout", lambda x, p, training: x, sample((7, 33), p=0.5, training=False)),
    # losses
    OpInfo(
        "cross_entropy",
        np_cross_entropy,
        sample((7, 5), _targets),
        sample((7, 5), _targets, reduction="sum", label_smoothing=0.1),
        sample((7, 5), _probabilities, label_smoothing=0.2),
        sample((3, 5, 4), (3, 5, 4)),
    ),
    OpInfo(
        "cross_entropy",
        lambda x, t, **kw: np_cross_entropy(x, t, weight=_class_weights, **kw),
        sample((7, 5), _targets_ignored),
        sample((7, 5), _targets_ignored, label_smoothing=0.1),
        call=_weighted,
    ),
    OpInfo(
        "nll_loss",
        np_nll,
        sample((7, 5), _targets),
        sample((7, 5), _targets, reduction="none"),
        sample((7, 5), _targets_ignored, ignore_index=-100),
    ),
    OpInfo(
        "nll_loss",
        lambda x, t, **kw: np_nll(x, t, weight=_class_weights, **kw),
        sample((7, 5), _targets_ignored),
        sample((7, 5), _targets, ignore_index=3),
        call=_weighted,
    ),
    OpInfo("mse_loss", np_mse, sample((7, 33), (7, 33)), sample((33,), (33,), reduction="sum")),
    OpInfo(
        "l1_loss",
        np_l1,
        sample((7, 33), (7, 33), reduction="none"),
        sample((33,), (33,)),
        domains=[(-2.0, -0.5), (0.5, 2.0)],
    ),
    OpInfo(
        "binary_cross_entropy_with_logits",
        np_bce_logits,
        sample((7, 33), (7, 33)),
        sample((33,), (33,), reduction="none"),
        domains=[(-2.0, 2.0), (0.0, 1.0)],
    ),
    OpInfo(
        "binary_cross_entropy_with_logits",
        lambda x, t, weight, pos_weight, **kw: np_bce_logits(
            x, t, weight=weight, pos_weight=pos_weight, **kw
        ),
        sample((7, 5), (7, 5), (1, 5), (5,)),
        sample((33,), (33,), (33,), (1,), reduction="sum"),
        call=lambda op, x, t, weight, pos_weight, **kw: op(
            x, t, weight, pos_weight=pos_weight, **kw
        ),
        domains=[(-2.0, 2.0), (0.0, 1.0), (0.5, 2.0), (0.5, 2.0)],
    ),
    # log_probs need not be normalized: the loss is -log of a sum of products of exp(log_probs)
    OpInfo(
        "ctc_loss",
        np_ctc_loss,
        sample(
            (5, 3, 3),
            np.array([[1, 1, 2], [2, 1, 0], [1, 0, 0]]),
            input_lengths=[5, 4, 3],
            target_lengths=[2, 2, 0],
        ),
        sample(
            (4, 2, 3),
            np.array([[2, 1], [1, 2]]),
            input_lengths=[4, 3],
            target_lengths=[2, 1],
            blank=0,
            reduction="sum",
        ),
        domain=(-2.0, 0.0),
    ),
    OpInfo(
        "binary_cross_entropy",
        np_bce,
        sample((7, 33), (7, 33)),
        sample((33,), (33,), reduction="none"),
        domains=[(0.05, 0.95), (0.0, 1.0)],
    ),
    OpInfo(
        "binary_cross_entropy",
        lambda x, t, weight, **kw: np_bce(x, t, weight=weight, **kw),
        sample((7, 5), (7, 5), (5,), reduction="none"),
        domains=[(0.05, 0.95), (0.0, 1.0), (0.5, 2.0)],
    ),
    # data movement composed in Python (PYTHON_OPS)
    OpInfo(
        "index_add",
        _np_index_add,
        sample((7, 5), _repeated_rows, (4, 5), dim=0),
        sample((3, 7, 5), _columns, (3, 7, 3), dim=-1, alpha=2.0),
        sample((), np.array([0]), (), dim=0),
        sample((7, 5), _no_index, (7, 0), dim=1),
        call=lambda op, x, i, src, dim, **kw: op(x, dim, i, src, **kw),
    ),
    OpInfo(
        "index_add",
        _np_index_add,
        sample(_ints, np.array([1, 1]), _ints[:2] * 3, dim=0),
        grad=False,
        call=lambda op, x, i, src, dim: op(x, dim, i, src),
    ),
    OpInfo(
        "index_copy",
        _np_index_copy,
        sample((7, 5), _rows, (3, 5), dim=0),
        sample((3, 7, 5), _columns, (3, 7, 3), dim=-1),
        sample((), np.array([0]), (), dim=-1),
        call=lambda op, x, i, src, dim: op(x, dim, i, src),
    ),
    OpInfo(
        "index_fill",
        _np_index_fill,
        sample((7, 5), np.array([1, -1, 1]), (), dim=1),
        sample((3, 7, 5), _rows, dim=-2, value=0.5),
        sample((), np.array([0]), dim=0, value=-1.0),
        sample((7, 5), _no_index, dim=0, value=2.0),
        call=lambda op, x, i, value, dim: op(x, dim, i, value),
    ),
    OpInfo(
        "masked_scatter",
        _np_masked_scatter,
        sample((7, 5), _mask, (40,)),
        sample((5,), _mask, (7, 6)),
        sample((), np.array(True), (2,)),
    ),
    OpInfo(
        "take",
        lambda x, i: np.take(x, i),
        sample((7, 5), _flat_positions),
        sample((), np.array([0, -1])),
        sample((7, 5), _no_index),
    ),
    OpInfo(
        "one_hot",
        _np_one_hot,
        sample(_targets),
        sample(_targets, num_classes=7),
        sample(np.array(3), num_classes=5),
        sample(_no_index, num_classes=3),
        grad=False,
    ),
    OpInfo(
        "meshgrid",
        lambda *xs, indexing="ij": np.stack(np.meshgrid(*xs, indexing=indexing)),
        sample((3,), (4,)),
        sample((3,), (4,), (2,), indexing="xy"),
        sample((), (4,)),
        call=lambda op, *xs, **kw: fg.stack(op(*xs, **kw)),
    ),
    OpInfo(
        "cartesian_prod",
        lambda *xs: (
            np.array(list(itertools.product(*xs))).reshape(-1, len(xs)) if len(xs) > 1 else xs[0]
        ),
        sample((3,), (4,)),
        sample((3,), (2,), (2,)),
        sample((5,)),
    ),
    OpInfo(
        "repeat_interleave",
        lambda x, repeats, dim=None: np.repeat(x, repeats, axis=dim),
        sample((3, 4), repeats=2, dim=1),
        sample((3, 4), repeats=3),
        sample((3, 4), repeats=2, dim=-2),
        sample((), repeats=4, dim=0),
    ),
    OpInfo(
        "repeat_interleave",
        lambda x, r, dim=None: np.repeat(x, r, axis=dim),
        sample((3, 4), np.array([1, 0, 3]), dim=0),
        sample((3, 4), np.array([2]), dim=-1),
        sample((3, 4), np.array([1, 2, 0, 1, 0, 0, 3, 1, 1, 1, 2, 1])),
    ),
    OpInfo(
        "repeat_interleave",
        lambda r: np.repeat(np.arange(len(r)), r),
        sample(np.array([2, 0, 3])),
        sample(_no_index),
        grad=False,
    ),
    OpInfo(
        "pad",
        _np_pad,
        sample((2, 3, 4), pad=(1, 2)),
        sample((2, 3, 4), pad=(1, -1, -2, 1, 0, 2), value=0.5),
        sample((4,), pad=(-4, 0)),
        sample((2, 3, 5), pad=(2, 1), mode="reflect"),
        sample((2, 3, 4, 5), pad=(1, 2, 3, 0), mode="reflect"),
        sample((2, 3, 5), pad=(-1, 3), mode="reflect"),
        sample((3, 4), pad=(2, 3), mode="replicate"),
        sample((2, 2, 3, 4, 5), pad=(1, 1, 2, 0, 1, 3), mode="replicate"),
        sample((2, 3, 5), pad=(2, 5), mode="circular"),
        sample((1, 3, 4), pad=(1, -1, 2, 1), mode="circular"),
    ),
    OpInfo("unique", np.unique, sample(_ints), sample(_small_ints), grad=False),
    OpInfo("unique", lambda x, dim: np.unique(x, axis=dim), sample(_ints % 3, dim=1), grad=False),
    OpInfo(
        "unique_consecutive",
        lambda x: x[np.r_[True, x[1:] != x[:-1]]],
        sample(np.array([1, 1, 2, 2, 3, 1, 1, 2])),
        sample(_small_ints),
        grad=False,
    ),
    # convolution (tests/test_conv.py checks them against direct loops)
    OpInfo(
        "F.unfold",
        _np_unfold,
        sample((2, 3, 7, 6), kernel_size=3),
        sample((1, 2, 5, 9), kernel_size=(2, 3), dilation=(2, 1), padding=(1, 2), stride=(2, 3)),
    ),
    OpInfo(
        "fold",
        _np_fold,
        sample((2, 12, 20), output_size=(5, 6), kernel_size=2),
        sample(
            (1, 12, 12),
            output_size=(5, 9),
            kernel_size=(2, 3),
            dilation=(2, 1),
            padding=(1, 2),
            stride=(2, 3),
        ),
    ),
    OpInfo(
        "conv1d",
        _np_conv1d,
        sample((2, 3, 9), (4, 3, 3), (4,)),
        sample((1, 4, 10), (2, 2, 4), stride=3, padding=2, dilation=2, groups=2),
    ),
    OpInfo(
        "conv2d",
        _np_conv2d,
        sample((2, 3, 7, 6), (4, 3, 3, 3), (4,)),
        sample(
            (1, 4, 8, 5),
            (6, 2, 3, 2),
            (6,),
            stride=(2, 1),
            padding=(1, 2),
            dilation=(1, 2),
            groups=2,
        ),
        sample((2, 3, 5, 6), (6, 1, 3, 3), groups=3),
    ),
    OpInfo(
        "conv_transpose1d",
        _np_conv_transpose1d,
        sample((2, 3, 5), (3, 2, 3), (2,)),
        sample((1, 4, 6), (4, 1, 4), stride=3, padding=1, output_padding=2, groups=2, dilation=2),
    ),
    OpInfo(
        "conv_transpose2d",
        _np_conv_transpose2d,
        sample((2, 3, 4, 5), (3, 2, 3, 3), (2,)),
        sample(
            (1, 4, 3, 4),
            (4, 3, 2, 3),
            (6,),
            stride=(2, 3),
            padding=(1, 0),
            output_padding=(1, 2),
            groups=2,
        ),
    ),
    # pooling (nn/_pooling.py); tests/test_pool.py has the argument combinations
    OpInfo(
        "max_pool2d",
        pool_ref.max_pool2d,
        sample((2, 3, 7, 9), kernel_size=3, stride=2, padding=1),
        sample((3, 8, 7), kernel_size=(2, 3), dilation=2, ceil_mode=True),
        distinct=True,
    ),
    OpInfo(
        "max_pool1d",
        pool_ref.as_1d(pool_ref.max_pool2d),
        sample((2, 3, 11), kernel_size=3, stride=2, padding=1),
        distinct=True,
    ),
    OpInfo(
        "avg_pool2d",
        pool_ref.avg_pool2d,
        sample(
            (2, 3, 7, 9),
            kernel_size=3,
            stride=2,
            padding=1,
            ceil_mode=True,
            count_include_pad=False,
        ),
        sample((3, 6, 5), kernel_size=2, divisor_override=3),
    ),
    OpInfo(
        "avg_pool1d",
        pool_ref.as_1d(pool_ref.avg_pool2d),
        sample((2, 3, 11), kernel_size=4, stride=3, padding=2),
    ),
    OpInfo(
        "adaptive_avg_pool2d",
        pool_ref.adaptive_avg_pool2d,
        sample((2, 3, 7, 9), output_size=(3, 4)),
        sample((3, 5, 5), output_size=(None, 2)),
    ),
    OpInfo(
        "adaptive_avg_pool1d",
        pool_ref.as_1d(pool_ref.adaptive_avg_pool2d),
        sample((2, 3, 10), output_size=4),
    ),
    OpInfo(
        "adaptive_max_pool2d",
        pool_ref.adaptive_max_pool2d,
        sample((2, 3, 7, 9), output_size=(3, 4)),
        distinct=True,
    ),
    OpInfo(
        "adaptive_max_pool1d",
        pool_ref.as_1d(pool_ref.adaptive_max_pool2d),
        sample((2, 3, 10), output_size=3),
        distinct=True,
    ),
    OpInfo(
        "max_unpool2d",
        lambda x, indices, kernel_size: pool_ref.max_unpool2d(x, indices, (4, 4)),
        sample((1, 2, 2, 2), _unpool_indices, kernel_size=2),
    ),
    OpInfo(
        "layer_norm",
        _np_layer_norm,
        sample((7, 33), normalized_shape=(33,)),
        sample((3, 4, 5), (4, 5), (4, 5), normalized_shape=(4, 5), eps=1e-3),
        sample((2, 3, 2, 3), (3, 2, 3), normalized_shape=(3, 2, 3)),
        call=lambda op, x, weight=None, bias=None, **kw: op(x, weight=weight, bias=bias, **kw),
    ),
    OpInfo(
        "group_norm",
        _np_group_norm,
        sample((3, 6, 5), (6,), (6,), num_groups=3),
        sample((2, 4, 3, 3), num_groups=2, eps=1e-3),
        sample((1, 5, 7), (5,), (5,), num_groups=5),
        call=lambda op, x, weight=None, bias=None, **kw: op(x, weight=weight, bias=bias, **kw),
    ),
    OpInfo(
        "batch_norm",
        _np_batch_norm,
        sample((7, 5), (5,), (5,), training=True),
        sample((3, 5, 4), (5,), (5,)),
        sample((2, 5, 3, 3), training=True, eps=1e-3),
        sample((2, 5, 3, 3), (5,), (5,), eps=1e-3),
        call=_batch_norm,
    ),
    OpInfo(
        "instance_norm",
        lambda x, weight=None, bias=None, eps=1e-5: _np_group_norm(
            x, weight, bias, x.shape[1], eps
        ),
        sample((3, 4, 5)),
        sample((2, 3, 2, 3), (3,), (3,), eps=1e-3),
        call=lambda op, x, weight=None, bias=None, **kw: op(x, weight=weight, bias=bias, **kw),
    ),
    # resizing, pixel shuffling and channel dropouts (nn/_interpolate.py, _pixel_shuffle.py,
    # _channel_dropout.py); tests/test_upsample.py has the argument combinations
    OpInfo(
        "interpolate",
        interp_ref.interpolate,
        sample((2, 3, 5, 7), size=(9, 4), mode="bilinear"),
        sample((1, 2, 5, 6), scale_factor=1.5, mode="bicubic", align_corners=True),
        sample((2, 3, 7), size=11),
        sample((1, 2, 7, 6), scale_factor=(0.5, 1.7), mode="nearest-exact"),
    ),
    OpInfo(
        "upsample",
        interp_ref.interpolate,
        sample((1, 2, 4, 5), scale_factor=2, mode="bilinear", align_corners=False),
    ),
    OpInfo("upsample_nearest", interp_ref.interpolate, sample((1, 2, 4, 5), size=(7, 3))),
    OpInfo(
        "upsample_bilinear",
        lambda x, **kw: interp_ref.interpolate(x, mode="bilinear", align_corners=True, **kw),
        sample((1, 2, 4, 5), scale_factor=2),
    ),
    OpInfo(
        "pixel_shuffle",
        interp_ref.pixel_shuffle,
        sample((2, 8, 3, 2), upscale_factor=2),
        sample((9, 2, 3), upscale_factor=3),
    ),
    OpInfo("pixel_unshuffle", interp_ref.pixel_unshuffle, sample((2, 2, 6, 4), downscale_factor=2)),
    # training=False: the identity (their random masks are tests/test_upsample.py's)
    OpInfo("dropout1d", lambda x, p, training: x, sample((3, 4, 5), p=0.5, training=False)),
    OpInfo("dropout2d", lambda x, p, training: x, sample((2, 3, 4, 5), p=0.5, training=False)),
    OpInfo("dropout3d", lambda x, p, training: x, sample((2, 3, 2, 4, 5), p=0.5, training=False)),
    OpInfo("alpha_dropout", lambda x, p, training: x, sample((7, 33), p=0.5, training=False)),
    OpInfo(
        "feature_alpha_dropout",
        lambda x, p, training: x,
        sample((2, 3, 4, 5), p=0.5, training=False),
    ),
    # sequence models: embedding lookups (padding_idx, scale_grad_by_freq and max_norm change
    # the gradient or the weight, not the values: tests/test_embedding.py's) and rms_norm
    OpInfo(
        "embedding",
        lambda i, w: w[i],
        sample(_embedding_indices, (6, 4)),
        sample(_embedding_indices[0], (6, 3)),
    ),
    OpInfo(
        "rms_norm",
        _np_rms_norm,
        sample((7, 33), normalized_shape=(33,)),
        sample((3, 4, 5), (4, 5), normalized_shape=(4, 5), eps=1e-3),
        sample((2, 3, 2, 3), (3, 2, 3), normalized_shape=(3, 2, 3), eps=1e-4),
        call=lambda op, x, weight=None, **kw: op(x, weight=weight, **kw),
    ),
    # attention: masks, dropout, grouped heads and bad input are tests/test_attention.py's
    OpInfo(
        "scaled_dot_product_attention",
        _np_attention,
        sample((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)),
        sample((1, 9, 8), (1, 9, 8), (1, 9, 8), is_causal=True),
        sample((33, 3), (17, 3), (17, 2), scale=0.5),
    ),
    # attention: F.multi_head_attention_forward's output (masks, weights, the module's options:
    # tests/test_multihead_attention.py's); need_weights=False runs scaled_dot_product_attention
    OpInfo(
        "multi_head_attention_forward",
        lambda q, k, v, w, b, out_w, out_b, num_heads, need_weights=True: (
            mha_ref.multi_head_attention(
                q, k, v, num_heads, out_w, out_b, in_proj_weight=w, in_proj_bias=b
            )[0]
        ),
        sample((5, 2, 8), (6, 2, 8), (6, 2, 8), (24, 8), (24,), (8, 8), (8,), num_heads=2),
        sample(
            (3, 4), (5, 4), (5, 4), (12, 4), (12,), (4, 4), (4,), num_heads=1, need_weights=False
        ),
        domain=(-1.0, 1.0),
        call=lambda op, q, k, v, w, b, out_w, out_b, num_heads, need_weights=True: op(
            q,
            k,
            v,
            q.shape[-1],
            num_heads,
            w,
            b,
            None,
            None,
            False,
            0.0,
            out_w,
            out_b,
            need_weights=need_weights,
        )[0],
    ),
]

# The ops composed in Python that OP_DB tests besides the op table's
PYTHON_OPS = set(
    fg._movement.FUNCTIONS
    + fg._index_ops.FUNCTIONS
    + fg._unique.FUNCTIONS
    + ["pad", "one_hot"]
    + ["F.unfold", "fold", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]
    + ["instance_norm"]
    + fg.nn._pooling.__all__
    + fg.nn._interpolate.__all__
    + fg.nn._pixel_shuffle.__all__
    + fg.nn._channel_dropout.__all__
    + ["embedding"]
    + ["multi_head_attention_forward"]
)
