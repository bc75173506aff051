"""nn.MultiheadAttention and F.multi_head_attention_forward against the float64 per-head
loops of multi_head_attention_reference.py: masks of each kind (bool and float, 2-d and 3-d
attn_mask, key_padding_mask, both), batch_first both ways, unbatched input, kdim/vdim,
add_bias_kv, add_zero_attn, static_k/v, need_weights and average_attn_weights, is_causal,
dropout; gradients by central differences in float64; PyTorch's state_dict names; errors."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
import forgegrad.nn.functional as F
import multi_head_attention_reference as ref
from helpers import as_tensor, assert_close, gradcheck, to_numpy

RNG = np.random.default_rng(31)
E, H, L, S, N = 8, 2, 5, 6, 3  # embed_dim, heads, target and source lengths, batch


def params(module):
    return {name: to_numpy(t).astype(np.float64) for name, t in module.state_dict().items()}


def inputs(*shapes):
    return [RNG.uniform(-1.0, 1.0, size=shape).astype(np.float32) for shape in shapes]


def reference_of(module, query, key, value, **kwargs):
    p = params(module)
    return ref.multi_head_attention(
        query.astype(np.float64),
        key.astype(np.float64),
        value.astype(np.float64),
        module.num_heads,
        p["out_proj.weight"],
        p.get("out_proj.bias"),
        in_proj_weight=p.get("in_proj_weight"),
        in_proj_bias=p.get("in_proj_bias"),
        q_proj_weight=p.get("q_proj_weight"),
        k_proj_weight=p.get("k_proj_weight"),
        v_proj_weight=p.get("v_proj_weight"),
        bias_k=p.get("bias_k"),
        bias_v=p.get("bias_v"),
        add_zero_attn=module.add_zero_attn,
        batch_first=module.batch_first,
        **kwargs,
    )


def run(module, query, key, value, device, key_padding_mask=None, attn_mask=None, **kwargs):
    masks = {
        name: None if m is None else fg.tensor(m, device=device)
        for name, m in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask))
    }
    q = as_tensor(query, device)
    k = q if key is query else as_tensor(key, device)
    v = k if value is key else as_tensor(value, device)
    return module(q, k, v, **masks, **kwargs)


def check(
    module,
    query,
    key,
    value,
    device,
    need_weights=True,
    average_attn_weights=True,
    rtol=1e-5,
    **masks,
):
    out, weights = run(
        module,
        query,
        key,
        value,
        device,
        need_weights=need_weights,
        average_attn_weights=average_attn_weights,
        **masks,
    )
    want, want_weights = reference_of(
        module, query, key, value, average_attn_weights=average_attn_weights, **masks
    )
    assert out.device.type == fg.device(device).type
    assert_close(to_numpy(out), want, rtol=rtol, what="output")
    if need_weights:
        assert_close(to_numpy(weights), want_weights, rtol=rtol, what="weights")
    else:
        assert weights is None


def sequences(batch_first, batched=True, lengths=(L, S, S), dims=(E, E, E)):
    if not batched:
        return inputs(*[(t, d) for t, d in zip(lengths, dims)])
    return inputs(*[(N, t, d) if batch_first else (t, N, d) for t, d in zip(lengths, dims)])


_causal = np.triu(np.ones((L, S), dtype=bool), 1)
_float_2d = RNG.uniform(-2.0, 1.0, size=(L, S))
_bool_3d = RNG.random((N * H, L, S)) < 0.3
_bool_3d[..., 0] = False  # every query keeps a key
_float_3d = RNG.uniform(-2.0, 1.0, size=(N * H, L, S))
_padding = np.zeros((N, S), dtype=bool)
_padding[0, -2:], _padding[2, -1] = True, True
_float_padding = RNG.uniform(-3.0, 0.0, size=(N, S))
MASKS = {
    "none": {},
    "bool_2d": {"attn_mask": _causal},
    "float_2d": {"attn_mask": _float_2d},
    "bool_3d": {"attn_mask": _bool_3d},
    "float_3d": {"attn_mask": _float_3d},
    "bool_padding": {"key_padding_mask": _padding},
    "float_padding": {"key_padding_mask": _float_padding},
    "bool_both": {"attn_mask": _causal, "key_padding_mask": _padding},
    "float_both": {"attn_mask": _float_3d, "key_padding_mask": _float_padding},
}


# ------------------------------------------------------------------------------- forward
@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_masks_match_the_reference(device, mask, batch_first, need_weights):
    mha = nn.MultiheadAttention(E, H, batch_first=batch_first, device=device)
    query, key, value = sequences(batch_first)
    check(mha, query, key, value, device, need_weights=need_weights, **MASKS[mask])


@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_weights_averaged_or_per_head(average, batch_first):
    mha = nn.MultiheadAttention(E, H, batch_first=batch_first)
    query, key, value = sequences(batch_first)
    out, weights = run(mha, query, key, value, "cpu", average_attn_weights=average)
    assert tuple(weights.shape) == ((N, L, S) if average else (N, H, L, S))
    check(mha, query, key, value, "cpu", average_attn_weights=average)


@pytest.mark.parametrize("sharing", ["self", "key_is_value", "distinct"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_projection_paths(device, sharing, need_weights):
    """Self-attention projects q, k, v in one GEMM, key is value in two, else three."""
    mha = nn.MultiheadAttention(E, H, device=device)
    x, key, value = sequences(False, lengths=(S, S, S))
    query = x if sharing == "self" else sequences(False, lengths=(S,))[0]
    key = x if sharing == "self" else key
    value = key if sharing != "distinct" else value
    check(mha, query, key, value, device, need_weights=need_weights, key_padding_mask=_padding)


@pytest.mark.parametrize("mask", ["none", "bool_2d", "float_3d_unbatched", "padding"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_unbatched_input(device, mask, need_weights):
    mha = nn.MultiheadAttention(E, H, batch_first=True, device=device)
    query, key, value = sequences(True, batched=False)
    masks = {
        "none": {},
        "bool_2d": {"attn_mask": _causal},
        "float_3d_unbatched": {"attn_mask": _float_3d[:H]},
        "padding": {"key_padding_mask": _padding[0]},
    }[mask]
    out, weights = run(mha, query, key, value, device, **masks)
    assert tuple(out.shape) == (L, E) and tuple(weights.shape) == (L, S)
    check(mha, query, key, value, device, need_weights=need_weights, **masks)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_kdim_vdim_use_separate_projections(device, need_weights, bias):
    mha = nn.MultiheadAttention(E, H, kdim=5, vdim=3, bias=bias, device=device)
    assert mha.in_proj_weight is None and tuple(mha.k_proj_weight.shape) == (E, 5)
    query, key, value = sequences(False, dims=(E, 5, 3))
    check(mha, query, key, value, device, need_weights=need_weights, **MASKS["bool_both"])


@pytest.mark.parametrize("add_bias_kv", [False, True])
@pytest.mark.parametrize("add_zero_attn", [False, True])
@pytest.mark.parametrize("mask", ["none", "float_both", "bool_padding"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_bias_kv_and_zero_attention(device, add_bias_kv, add_zero_attn, mask, need_weights):
    mha = nn.MultiheadAttention(
        E, H, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn, device=device
    )
    query, key, value = sequences(False)
    check(mha, query, key, value, device, need_weights=need_weights, **MASKS[mask])
    if need_weights:
        weights = run(mha, query, key, value, device, **MASKS[mask])[1]
        assert weights.shape[-1] == S + add_bias_kv + add_zero_attn


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("padding", [False, True])
def test_is_causal_hint_with_its_mask(device, need_weights, padding):
    """is_causal with the causal attn_mask gives the masked result on every path (the fused
    kernel's own causal mask, or the mask itself when weights or padding need it)."""
    mha = nn.MultiheadAttention(E, H, device=device)
    x = sequences(False, lengths=(L,))[0]
    causal = np.triu(np.ones((L, L), dtype=bool), 1)
    masks = {"attn_mask": causal}
    if padding:
        masks["key_padding_mask"] = np.array([[False] * (L - 1) + [True]] * N)
    out, _ = run(mha, x, x, x, device, need_weights=need_weights, is_causal=True, **masks)
    assert_close(to_numpy(out), reference_of(mha, x, x, x, **masks)[0])


def test_bool_and_float_masks_agree():
    mha = nn.MultiheadAttention(E, H)
    query, key, value = sequences(False)
    as_float = np.where(_padding, -np.inf, 0.0).astype(np.float32)
    a = run(mha, query, key, value, "cpu", key_padding_mask=_padding, attn_mask=_bool_3d)[0]
    b = run(
        mha,
        query,
        key,
        value,
        "cpu",
        key_padding_mask=as_float,
        attn_mask=np.where(_bool_3d, -np.inf, 0.0).astype(np.float32),
    )[0]
    assert np.array_equal(to_numpy(a), to_numpy(b))


def test_float64_module_matches_reference_closely():
    mha = nn.MultiheadAttention(E, H, dtype=fg.float64)
    assert all(p.dtype == fg.float64 for p in mha.parameters())
    query, key, value = [x.astype(np.float64) for x in sequences(False)]
    out, weights = run(mha, query, key, value, "cpu", **MASKS["float_both"])
    want, want_weights = reference_of(mha, query, key, value, **MASKS["float_both"])
    assert out.dtype == fg.float64
    assert_close(to_numpy(out), want, rtol=1e-12)
    assert_close(to_numpy(weights), want_weights, rtol=1e-12)


def test_static_k_and_v_replace_the_projections():
    """F.multi_head_attention_forward with static_k/static_v (N * heads, S, head_dim)."""
    mha = nn.MultiheadAttention(E, H)
    query, key, value = sequences(False)
    static_k, static_v = inputs((N * H, 4, E // H), (N * H, 4, E // H))
    p = params(mha)
    out, weights = F.multi_head_attention_forward(
        fg.tensor(query),
        fg.tensor(key),
        fg.tensor(value),
        E,
        H,
        mha.in_proj_weight,
        mha.in_proj_bias,
        None,
        None,
        False,
        0.0,
        mha.out_proj.weight,
        mha.out_proj.bias,
        static_k=fg.tensor(static_k),
        static_v=fg.tensor(static_v),
        average_attn_weights=False,
    )
    # the reference with identity key/value projections and keys laid out per head
    q = (
        query.astype(np.float64).transpose(1, 0, 2) @ p["in_proj_weight"][:E].T
        + p["in_proj_bias"][:E]
    )
    for n in range(N):
        for h in range(H):
            cols = slice(h * E // H, (h + 1) * E // H)
            scores = q[n, :, cols] @ static_k[n * H + h].T / np.sqrt(E // H)
            probs = np.exp(scores - scores.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            assert_close(to_numpy(weights)[n, h], probs)
    assert tuple(out.shape) == (L, N, E)


# ------------------------------------------------------------------------------- dropout
def test_dropout_zero_is_deterministic_in_training():
    mha = nn.MultiheadAttention(E, H, dropout=0.0)
    query, key, value = sequences(False)
    first, second = (run(mha, query, key, value, "cpu")[0] for _ in range(2))
    assert np.array_equal(to_numpy(first), to_numpy(second))


@pytest.mark.parametrize("need_weights", [True, False])
def test_dropout_acts_in_training_only(device, need_weights):
    mha = nn.MultiheadAttention(E, H, dropout=0.5, device=device)
    query, key, value = sequences(False)
    train = [
        to_numpy(run(mha, query, key, value, device, need_weights=need_weights)[0])
        for _ in range(2)
    ]
    assert not np.array_equal(train[0], train[1])
    mha.eval()
    check(mha, query, key, value, device, need_weights=need_weights)


def test_dropout_zeroes_and_rescales_the_returned_weights():
    p = 0.4
    mha = nn.MultiheadAttention(E, H, dropout=p)
    query, key, value = sequences(False)
    dropped = to_numpy(run(mha, query, key, value, "cpu", average_attn_weights=False)[1])
    kept = reference_of(mha, query, key, value, average_attn_weights=False)[1]
    zero = dropped == 0
    assert 0 < zero.mean() < 1
    assert_close(dropped[~zero], kept[~zero] / (1 - p))


# ----------------------------------------------------------------------------- gradients
def _functional(need_weights, separate=False, bias_kv=False, zero_attn=False, masks=None):
    """F.multi_head_attention_forward as a function of its tensors, for gradcheck."""
    masks = masks or {}

    def fn(query, key, value, w, b, out_w, out_b, *extra):
        kw = {name: fg.tensor(m, device=query.device) for name, m in masks.items()}
        bias_k, bias_v = extra[-2:] if bias_kv else (None, None)
        if separate:
            kw.update(
                use_separate_proj_weight=True,
                q_proj_weight=extra[0],
                k_proj_weight=extra[1],
                v_proj_weight=extra[2],
            )
        out, weights = F.multi_head_attention_forward(
            query,
            key,
            value,
            E,
            H,
            None if separate else w,
            b,
            bias_k,
            bias_v,
            zero_attn,
            0.0,
            out_w,
            out_b,
            need_weights=need_weights,
            **kw,
        )
        return out if weights is None else out * weights.mean() + weights.sum()

    return fn


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask", ["none", "float_both", "bool_2d"])
def test_gradients_by_finite_differences(device, need_weights, mask):
    query, key, value = sequences(False)
    weight, bias, out_w, out_b = inputs((3 * E, E), (3 * E,), (E, E), (E,))
    gradcheck(
        _functional(need_weights, masks=MASKS[mask]),
        query,
        key,
        value,
        weight,
        bias,
        out_w,
        out_b,
        device=device,
    )


@pytest.mark.parametrize("need_weights", [True, False])
def test_gradients_separate_projections_bias_kv_zero_attn(need_weights):
    query, key, value = sequences(False, dims=(E, 5, 3))
    bias, out_w, out_b, qw, kw, vw, bias_k, bias_v = inputs(
        (3 * E,), (E, E), (E,), (E, E), (E, 5), (E, 3), (1, 1, E), (1, 1, E)
    )
    fn = _functional(
        need_weights, separate=True, bias_kv=True, zero_attn=True, masks=MASKS["bool_padding"]
    )
    gradcheck(
        lambda q, k, v, *rest: fn(q, k, v, None, *rest),
        query,
        key,
        value,
        bias,
        out_w,
        out_b,
        qw,
        kw,
        vw,
        bias_k,
        bias_v,
    )


def test_self_attention_gradient_reaches_the_shared_input():
    """query is key is value: the one input's gradient sums the three uses."""
    x, weight, bias, out_w, out_b = inputs((L, N, E), (3 * E, E), (3 * E,), (E, E), (E,))
    fn = _functional(False)
    gradcheck(lambda x, *ws: fn(x, x, x, *ws), x, weight, bias, out_w, out_b)


# ----------------------------------------------------------------------- state and init
STATE_KEYS = [
    ({}, ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]),
    ({"bias": False}, ["in_proj_weight", "out_proj.weight"]),
    (
        {"add_bias_kv": True},
        ["in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj.weight", "out_proj.bias"],
    ),
    (
        {"kdim": 5, "vdim": 3},
        [
            "q_proj_weight",
            "k_proj_weight",
            "v_proj_weight",
            "in_proj_bias",
            "out_proj.weight",
            "out_proj.bias",
        ],
    ),
    (
        {"kdim": 8, "vdim": 3, "bias": False, "add_bias_kv": True},
        ["q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v", "out_proj.weight"],
    ),
]


@pytest.mark.parametrize("kwargs, keys", STATE_KEYS)
def test_state_dict_names_are_pytorchs(kwargs, keys):
    assert list(nn.MultiheadAttention(8, 2, **kwargs).state_dict()) == keys


def test_parameter_shapes_and_initialization():
    mha = nn.MultiheadAttention(16, 4, add_bias_kv=True, kdim=6)
    shapes = {name: tuple(p.shape) for name, p in mha.named_parameters()}
    assert shapes == {
        "q_proj_weight": (16, 16),
        "k_proj_weight": (16, 6),
        "v_proj_weight": (16, 16),
        "in_proj_bias": (48,),
        "bias_k": (1, 1, 16),
        "bias_v": (1, 1, 16),
        "out_proj.weight": (16, 16),
        "out_proj.bias": (16,),
    }
    assert not to_numpy(mha.in_proj_bias).any() and not to_numpy(mha.out_proj.bias).any()
    bound = np.sqrt(6.0 / (16 + 6))  # xavier_uniform_: fan_in 6, fan_out 16
    k = to_numpy(mha.k_proj_weight)
    assert np.abs(k).max() <= bound and np.abs(k).max() > 0.8 * bound
    packed = to_numpy(nn.MultiheadAttention(16, 4).in_proj_weight)
    assert np.abs(packed).max() <= np.sqrt(6.0 / (16 + 48))
    assert to_numpy(mha.bias_k).std() > 0


def test_load_state_dict_carries_the_outputs():
    src = nn.MultiheadAttention(E, H, kdim=5, add_bias_kv=True)
    dst = nn.MultiheadAttention(E, H, kdim=5, add_bias_kv=True)
    dst.load_state_dict({k: to_numpy(v) for k, v in src.state_dict().items()})
    query, key, value = sequences(False, dims=(E, 5, E))
    for a, b in zip(run(src, query, key, value, "cpu"), run(dst, query, key, value, "cpu")):
        assert np.array_equal(to_numpy(a), to_numpy(b))


def test_repr_names_the_options():
    assert "embed_dim=8, num_heads=2" in repr(nn.MultiheadAttention(8, 2))
    assert "(out_proj): Linear(" in repr(nn.MultiheadAttention(8, 2))


# -------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"embed_dim": 10, "num_heads": 3}, "divisible by num_heads"),
        ({"embed_dim": 0, "num_heads": 1}, "embed_dim to be a positive int"),
        ({"embed_dim": 8, "num_heads": 0}, "num_heads to be a positive int"),
        ({"embed_dim": 8, "num_heads": 2, "dropout": 1.5}, "dropout to be a probability"),
        ({"embed_dim": 8, "num_heads": 2, "kdim": -1}, "kdim to be a positive int"),
    ],
)
def test_bad_construction(kwargs, message):
    with pytest.raises(ValueError, match=r"\[MultiheadAttention\].*" + message):
        nn.MultiheadAttention(**kwargs)


def _bad_calls():
    q, k, v = sequences(False)
    return [
        ((q[0], k, v), {}, "key and value of 2 dimensions"),
        ((q[None], k[None], v[None]), {}, "query of 2 .unbatched. or 3 .batched. dimensions"),
        ((q[..., :5], k, v), {}, "query with 8 features"),
        ((q, k[..., :5], v), {}, "key with 8 features"),
        ((q, k, v[:-1]), {}, "key and value of one sequence length"),
        ((q, k[:, :2], v[:, :2]), {}, "the query's batch size"),
        ((q, k, v), {"attn_mask": np.zeros((L, S + 1), bool)}, r"attn_mask of shape \(5, 6\)"),
        ((q, k, v), {"attn_mask": np.zeros((N, L, S), bool)}, r"attn_mask of shape \(6, 5, 6\)"),
        ((q, k, v), {"attn_mask": np.zeros((S,), bool)}, "2-d attn_mask"),
        (
            (q, k, v),
            {"key_padding_mask": np.zeros((N, S - 1), bool)},
            r"key_padding_mask of shape \(3, 6\)",
        ),
        (
            (q, k, v),
            {"key_padding_mask": np.zeros((S,), bool)},
            r"key_padding_mask of shape \(N, S\)",
        ),
        (
            (q, k, v),
            {"key_padding_mask": np.zeros((N, S), np.int64)},
            "key_padding_mask of dtype bool or a floating dtype",
        ),
        ((q, k, v), {"is_causal": True}, "attn_mask, the causal mask, with is_causal=True"),
    ]


@pytest.mark.parametrize("case", range(13))
def test_bad_input_names_the_module(case):
    args, masks, message = _bad_calls()[case]
    mha = nn.MultiheadAttention(E, H)
    before = {k: to_numpy(v).copy() for k, v in mha.state_dict().items()}
    with pytest.raises(
        ValueError if "dtype" not in message else TypeError,
        match=r"\[MultiheadAttention\] expected .*" + message,
    ):
        run(mha, *args, "cpu", **masks)
    assert all(np.array_equal(to_numpy(v), before[k]) for k, v in mha.state_dict().items())


def test_functional_checks_its_arguments():
    query, key, value = (fg.tensor(x) for x in sequences(False))
    w, b = fg.ones(3 * E, E), fg.zeros(3 * E)
    with pytest.raises(ValueError, match=r"\[multi_head_attention_forward\].*embed_dim_to_check"):
        F.multi_head_attention_forward(
            query, key, value, E + 1, H, w, b, None, None, False, 0.0, fg.ones(E, E), None
        )
    with pytest.raises(ValueError, match=r"\[multi_head_attention_forward\].*q_proj_weight"):
        F.multi_head_attention_forward(
            query,
            key,
            value,
            E,
            H,
            None,
            b,
            None,
            None,
            False,
            0.0,
            fg.ones(E, E),
            None,
            use_separate_proj_weight=True,
        )
    with pytest.raises(ValueError, match=r"\[multi_head_attention_forward\].*bias_k and bias_v"):
        F.multi_head_attention_forward(
            query, key, value, E, H, w, b, fg.ones(1, 1, E), None, False, 0.0, fg.ones(E, E), None
        )
    with pytest.raises(TypeError, match=r"\[multi_head_attention_forward\] expected query"):
        F.multi_head_attention_forward(
            query.numpy(), key, value, E, H, w, b, None, None, False, 0.0, fg.ones(E, E), None
        )
