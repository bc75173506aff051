"""F.scaled_dot_product_attention against a plain float64 composition written here
(softmax(q k^T scale + mask) v, the whole score matrix at once): bool and additive masks,
causal, L != S, odd lengths, one token, a long sequence, broadcast batch dimensions, grouped
query heads, dropout (its mask read back through an identity value), gradients by finite
differences in float64, and bad input."""

import math

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F
from helpers import CUDA_SKIP_REASON, as_tensor, assert_close, cuda_available, gradcheck, to_numpy

RNG = np.random.default_rng(1616)


def np_attention(q, k, v, mask=None, causal=False, scale=None, groups=1, keep=None, p=0.0):
    """The reference: scores for every (row, key) pair at once, in float64. keep: the dropout
    mask (1 keeps), scaled by 1 / (1 - p); a row with no key taking part gives 0."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    if groups > 1:
        k, v = np.repeat(k, groups, axis=-3), np.repeat(v, groups, axis=-3)
    L, S = q.shape[-2], k.shape[-2]
    scores = q @ np.swapaxes(k, -1, -2) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if causal:
        mask = np.tril(np.ones((L, S), bool))
    if mask is not None and mask.dtype == bool:
        scores = np.where(mask, scores, -np.inf)
    elif mask is not None:
        scores = scores + mask
    top = np.max(scores, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    weights = np.exp(scores - top)
    total = np.sum(weights, axis=-1, keepdims=True)
    weights = np.where(total > 0, weights / np.where(total > 0, total, 1), 0)
    if keep is not None:
        weights = weights * keep / (1 - p)
    return weights @ v


def randn(*shape):
    return RNG.standard_normal(shape)


def attend(device, dtype, q, k, v, mask=None, **kwargs):
    cast = (lambda a: a.astype(np.float32)) if dtype == "float32" else (lambda a: a)
    tensors = [as_tensor(cast(a), device) for a in (q, k, v)]
    if mask is not None:
        mask = as_tensor(mask if mask.dtype == bool else cast(mask), device)
    return to_numpy(F.scaled_dot_product_attention(*tensors, attn_mask=mask, **kwargs))


SHAPES = [  # (batch dims, L, S, E, Ev)
    ((2, 3), 5, 5, 8, 8),
    ((1, 2), 7, 13, 4, 6),
    ((3,), 33, 17, 16, 5),
    ((), 1, 1, 3, 2),
    ((2, 1), 1, 70, 8, 8),
    ((1, 1), 129, 65, 32, 32),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masking", ["none", "bool", "additive", "causal"])
@pytest.mark.parametrize("batch, L, S, E, Ev", SHAPES)
def test_forward_matches_the_composition(device, dtype, masking, batch, L, S, E, Ev):
    q, k, v = randn(*batch, L, E), randn(*batch, S, E), randn(*batch, S, Ev)
    mask = {
        "none": None,
        "causal": None,
        "bool": RNG.uniform(size=(L, S)) < 0.7,
        "additive": RNG.uniform(-2, 2, size=(*batch, L, S)),
    }[masking]
    got = attend(device, dtype, q, k, v, mask, is_causal=masking == "causal")
    assert_close(
        got,
        np_attention(q, k, v, mask, causal=masking == "causal"),
        rtol=1e-4 if dtype == "float32" else 1e-10,
        atol=1e-5 if dtype == "float32" else 1e-12,
    )


def test_long_sequence_single_head():
    T, E = 4096, 4
    q, k, v = randn(1, T, E), randn(1, T, E), randn(1, T, E)
    got = attend("cpu", "float32", q, k, v, is_causal=True)
    rows = slice(0, T, 7)  # every 7th row of the reference: the full one is 4096 x 4096
    ref = np.concatenate(
        [np_attention(q[:, r : r + 1], k[:, : r + 1], v[:, : r + 1]) for r in range(T)[rows]],
        axis=1,
    )
    assert_close(got[:, rows], ref, rtol=1e-4, atol=1e-5)


def test_scale_and_mask_broadcast_over_batch_dims(device):
    q, k, v = randn(2, 3, 6, 4), randn(1, 3, 9, 4), randn(3, 9, 5)
    padding = RNG.uniform(size=(2, 1, 1, 9)) < 0.8
    got = attend(device, "float64", q, k, v, padding, scale=0.3)
    assert_close(got, np_attention(q, k, v, padding, scale=0.3), rtol=1e-10)


def test_grouped_query_heads(device):
    q, k, v = randn(2, 6, 5, 4), randn(2, 2, 7, 4), randn(2, 2, 7, 3)
    got = attend(device, "float64", q, k, v, is_causal=True, enable_gqa=True)
    assert_close(got, np_attention(q, k, v, causal=True, groups=3), rtol=1e-10)


def test_rows_with_every_key_masked_give_zero_and_no_gradient(device):
    mask = np.ones((4, 6), bool)
    mask[1] = False
    q = as_tensor(randn(2, 4, 3), device, requires_grad=True)
    k, v = as_tensor(randn(2, 6, 3), device), as_tensor(randn(2, 6, 5), device)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=as_tensor(mask, device))
    out.sum().backward()
    assert np.all(to_numpy(out)[:, 1] == 0) and np.all(to_numpy(q.grad)[:, 1] == 0)
    additive = np.where(mask, 0.0, -np.inf)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=as_tensor(additive, device))
    assert np.all(to_numpy(out)[:, 1] == 0)


def test_no_keys_give_zeros(device):
    out = attend(device, "float64", randn(2, 3, 4), randn(2, 0, 4), randn(2, 0, 5))
    assert out.shape == (2, 3, 5) and np.all(out == 0)


@pytest.mark.parametrize("masking", ["none", "bool", "additive", "causal"])
def test_gradients_by_finite_differences(device, masking):
    L, S = (5, 5) if masking == "causal" else (4, 7)
    mask = {
        "none": None,
        "causal": None,
        "bool": RNG.uniform(size=(L, S)) < 0.7,
        "additive": RNG.uniform(-2, 2, size=(L, S)),
    }[masking]
    mask_t = None if mask is None else as_tensor(mask, device)
    gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask_t, is_causal=masking == "causal", scale=0.7
        ),
        randn(2, L, 3),
        randn(2, S, 3),
        randn(2, S, 4),
        device=device,
    )


def test_gradients_with_grouped_heads_and_broadcasting(device):
    gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
        randn(2, 4, 3, 2),
        randn(2, 2, 5, 2),
        randn(1, 2, 5, 3),
        device=device,
    )


def split_heads(qkv, heads):
    """q, k, v (B, heads, T, D) as views of a (B, T, 3 heads D) projection, as charlm does."""
    B, T, width = qkv.shape
    return qkv.reshape(B, T, 3, heads, width // (3 * heads)).permute(2, 0, 3, 1, 4).unbind(0)


@pytest.mark.parametrize("causal", [False, True])
def test_heads_viewed_out_of_a_projection_are_read_in_place(device, causal):
    # 70 positions: past a tile of 32 and a block of 64 rows, in strides of 3 heads D
    B, T, heads, D = 2, 70, 3, 4
    qkv = randn(B, T, 3 * heads * D)
    q, k, v = qkv.reshape(B, T, 3, heads, D).transpose(2, 0, 3, 1, 4)
    x = as_tensor(qkv, device, requires_grad=True)
    out = F.scaled_dot_product_attention(*split_heads(x, heads), is_causal=causal)
    assert_close(to_numpy(out), np_attention(q, k, v, causal=causal), rtol=1e-10)
    # the heads go back next to their rows as a view, as PyTorch's CPU output allows
    merged = out.transpose(1, 2)
    assert merged.is_contiguous()
    g = randn(B, T, heads * D)
    merged.reshape(B, T, heads * D).backward(as_tensor(g, device))
    # the same gradient as from contiguous copies of the heads
    y = as_tensor(qkv, device, requires_grad=True)
    copies = [h.contiguous() for h in split_heads(y, heads)]
    out_of_copies = F.scaled_dot_product_attention(*copies, is_causal=causal)
    out_of_copies.backward(as_tensor(g.reshape(B, T, heads, D).transpose(0, 2, 1, 3), device))
    assert_close(to_numpy(x.grad), to_numpy(y.grad), rtol=1e-12)


def test_gradients_of_heads_viewed_out_of_a_projection(device):
    gradcheck(
        lambda x: F.scaled_dot_product_attention(*split_heads(x, 2), is_causal=True),
        randn(2, 5, 3 * 2 * 3),
        device=device,
    )


def test_gradients_of_transposed_and_broadcast_operands(device):
    # a key whose rows are not contiguous (copied), values broadcast over the batch (stride 0)
    gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(
            q, k.transpose(-1, -2), v.expand(2, 1, 6, 4), enable_gqa=True
        ),
        randn(2, 3, 5, 2),
        randn(2, 1, 2, 6),
        randn(1, 1, 6, 4),
        device=device,
    )


def dropout_keep(device, shape, p, seed):
    """The keep mask (B, H, L, S) of a draw with this seed, read back through q = k = 0 (every
    weight 1 / S) and value = the identity, so out[..., i, j] = keep / ((1 - p) S)."""
    B, H, L, S = shape
    fg.manual_seed(seed)
    eye = np.broadcast_to(np.eye(S), (B, H, S, S))
    out = attend(
        device, "float64", np.zeros((B, H, L, 1)), np.zeros((B, H, S, 1)), eye, dropout_p=p
    )
    return np.round(out * (1 - p) * S)


def test_dropout_rate_and_determinism(device):
    keep = dropout_keep(device, (2, 3, 40, 50), 0.3, seed=5)
    assert set(np.unique(keep)) <= {0.0, 1.0}
    assert abs(1 - keep.mean() - 0.3) < 0.03  # 12000 draws: 5 standard deviations
    assert np.array_equal(keep, dropout_keep(device, (2, 3, 40, 50), 0.3, seed=5))
    assert not np.array_equal(keep, dropout_keep(device, (2, 3, 40, 50), 0.3, seed=6))


def test_dropout_values_and_gradients_use_one_mask(device):
    shape, p = (1, 2, 5, 6), 0.4
    keep = dropout_keep(device, shape, p, seed=11)
    q, k, v = randn(1, 2, 5, 3), randn(1, 2, 6, 3), randn(1, 2, 6, 4)
    g = randn(1, 2, 5, 4)
    ts = [as_tensor(a, device, requires_grad=True) for a in (q, k, v)]
    fg.manual_seed(11)
    out = F.scaled_dot_product_attention(*ts, dropout_p=p)
    p = float(np.float32(p))  # the draws are compared with p as a float32, as F.dropout's
    assert_close(to_numpy(out), np_attention(q, k, v, keep=keep, p=p), rtol=1e-10)
    out.backward(as_tensor(g, device))
    arrays, eps = [q, k, v], 1e-6
    for i, t in enumerate(ts):
        numeric = np.zeros(arrays[i].size)
        for j in range(arrays[i].size):
            plus, minus = [a.copy() for a in arrays], [a.copy() for a in arrays]
            plus[i].reshape(-1)[j] += eps
            minus[i].reshape(-1)[j] -= eps
            numeric[j] = np.sum(
                (np_attention(*plus, keep=keep, p=p) - np_attention(*minus, keep=keep, p=p)) * g
            ) / (2 * eps)
        assert_close(to_numpy(t.grad).reshape(-1), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.cuda
@pytest.mark.skipif(not cuda_available(), reason=CUDA_SKIP_REASON)
def test_dropout_mask_is_the_same_on_both_devices():
    shape = (1, 2, 9, 11)
    assert np.array_equal(dropout_keep("cpu", shape, 0.5, 3), dropout_keep("cuda", shape, 0.5, 3))


def test_dropout_is_off_at_zero_and_everything_dropped_at_one():
    q, k, v = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2)
    assert np.all(attend("cpu", "float64", q, k, v, dropout_p=1.0) == 0)
    assert_close(
        attend("cpu", "float64", q, k, v, dropout_p=0.0), np_attention(q, k, v), rtol=1e-10
    )


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((randn(4), randn(4), randn(4)), {}, ValueError, "at least 2 dimensions"),
        ((randn(3, 4), randn(5, 3), randn(5, 4)), {}, ValueError, "E"),
        ((randn(3, 4), randn(5, 4), randn(6, 4)), {}, ValueError, "S"),
        (
            (randn(3, 4), randn(5, 4), randn(5, 4)),
            {"attn_mask": randn(4, 5)},
            ValueError,
            "attn_mask",
        ),
        (
            (randn(3, 4), randn(5, 4), randn(5, 4)),
            {"attn_mask": np.ones((3, 5), bool), "is_causal": True},
            ValueError,
            "is_causal",
        ),
        ((randn(3, 4), randn(5, 4), randn(5, 4)), {"dropout_p": 1.5}, ValueError, "dropout_p"),
        ((randn(3, 4), randn(5, 4), randn(5, 4)), {"dropout_p": -0.1}, ValueError, "dropout_p"),
        (
            (randn(2, 6, 3, 4), randn(2, 4, 5, 4), randn(2, 4, 5, 4)),
            {"enable_gqa": True},
            ValueError,
            "heads",
        ),
        ((randn(2, 3, 4), randn(3, 5, 4), randn(3, 5, 4)), {}, ValueError, "broadcast"),
    ],
)
def test_bad_input_names_the_op(args, kwargs, error, message):
    q, k, v = (fg.tensor(a) for a in args)
    if "attn_mask" in kwargs:
        kwargs = dict(kwargs, attn_mask=fg.tensor(kwargs["attn_mask"]))
    with pytest.raises(error, match=rf"\[scaled_dot_product_attention\].*{message}"):
        F.scaled_dot_product_attention(q, k, v, **kwargs)


def test_bad_dtypes_name_the_op():
    q = fg.tensor(randn(3, 4))
    with pytest.raises(TypeError, match=r"\[scaled_dot_product_attention\]"):
        F.scaled_dot_product_attention(q, q.to(fg.float32), q)
    with pytest.raises(TypeError, match=r"\[scaled_dot_product_attention\]"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=fg.tensor(np.ones((3, 3), np.int64)))
