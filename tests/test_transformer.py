"""TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and
Transformer against float64 references composed in numpy (multi_head_attention_reference.py:
per-head loops, layer norm, the feed-forward block) from the modules' own state dicts:
norm_first both ways, batch_first both ways, unbatched input, activations, masks; dropout;
gradients by central differences in float64; PyTorch's state_dict names; errors."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
import forgegrad.nn.functional as F
import multi_head_attention_reference as ref
from helpers import as_tensor, assert_close, to_numpy

RNG = np.random.default_rng(32)
D, H, FF, N, S, T = 8, 2, 12, 2, 5, 4  # d_model, heads, feed-forward width, batch, lengths

# Through two residual blocks and their LayerNorms the float32 rounding of the attention
# reaches a few 1e-6 of the output's scale; 3e-5 leaves room above that.
RTOL = 3e-5


def params(module):
    return {name: to_numpy(t).astype(np.float64) for name, t in module.state_dict().items()}


def sequence(length, batch_first, batched=True):
    shape = (length, D) if not batched else (N, length, D) if batch_first else (length, N, D)
    return RNG.uniform(-1.0, 1.0, size=shape).astype(np.float32)


def tensor(x, device):
    return None if x is None else fg.tensor(x, device=device)


_causal_t = np.triu(np.ones((T, T), dtype=bool), 1)
_src_padding = np.zeros((N, S), dtype=bool)
_src_padding[1, -2:] = True
_float_src_mask = RNG.uniform(-1.0, 0.0, size=(S, S))
_memory_padding = np.zeros((N, S), dtype=bool)
_memory_padding[0, -1] = True


def _activation_case(name):
    """(the module's activation argument, the reference's name)"""
    return {
        "relu": ("relu", "relu"),
        "gelu": ("gelu", "gelu"),
        "F.gelu": (F.gelu, "gelu"),
        "nn.ReLU": (nn.ReLU(), "relu"),
    }[name]


# ------------------------------------------------------------------------------- layers
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "F.gelu", "nn.ReLU"])
def test_encoder_layer_matches_reference(device, norm_first, batch_first, activation):
    argument, name = _activation_case(activation)
    layer = nn.TransformerEncoderLayer(
        D,
        H,
        FF,
        dropout=0.0,
        activation=argument,
        batch_first=batch_first,
        norm_first=norm_first,
        device=device,
    )
    src = sequence(S, batch_first)
    out = layer(
        tensor(src, device),
        src_mask=tensor(_float_src_mask, device),
        src_key_padding_mask=tensor(_src_padding, device),
    )
    want = ref.encoder_layer(
        params(layer),
        src.astype(np.float64),
        H,
        src_mask=_float_src_mask,
        src_key_padding_mask=_src_padding,
        activation=name,
        batch_first=batch_first,
        norm_first=norm_first,
    )
    assert out.device.type == fg.device(device).type
    assert_close(to_numpy(out), want, rtol=RTOL)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_decoder_layer_matches_reference(device, norm_first, batch_first, activation):
    layer = nn.TransformerDecoderLayer(
        D,
        H,
        FF,
        dropout=0.0,
        activation=activation,
        batch_first=batch_first,
        norm_first=norm_first,
        device=device,
    )
    tgt, memory = sequence(T, batch_first), sequence(S, batch_first)
    out = layer(
        tensor(tgt, device),
        tensor(memory, device),
        tgt_mask=tensor(_causal_t, device),
        memory_key_padding_mask=tensor(_memory_padding, device),
        tgt_is_causal=True,
    )
    want = ref.decoder_layer(
        params(layer),
        tgt.astype(np.float64),
        memory.astype(np.float64),
        H,
        tgt_mask=_causal_t,
        memory_key_padding_mask=_memory_padding,
        activation=activation,
        batch_first=batch_first,
        norm_first=norm_first,
    )
    assert_close(to_numpy(out), want, rtol=RTOL)


def test_layers_take_unbatched_input():
    encoder = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True)
    decoder = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0)
    src, tgt = sequence(S, False, batched=False), sequence(T, False, batched=False)
    out = encoder(fg.tensor(src), src_key_padding_mask=fg.tensor(_src_padding[1]))
    assert_close(
        to_numpy(out),
        ref.encoder_layer(
            params(encoder), src.astype(np.float64), H, src_key_padding_mask=_src_padding[1]
        ),
        rtol=RTOL,
    )
    out = decoder(fg.tensor(tgt), fg.tensor(src), tgt_mask=fg.tensor(_causal_t))
    assert_close(
        to_numpy(out),
        ref.decoder_layer(
            params(decoder), tgt.astype(np.float64), src.astype(np.float64), H, tgt_mask=_causal_t
        ),
        rtol=RTOL,
    )


def test_bias_false_layers_have_no_biases_and_match_reference():
    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, bias=False)
    assert not any(name.endswith("bias") for name in layer.state_dict())
    src = sequence(S, False)
    assert_close(
        to_numpy(layer(fg.tensor(src))),
        ref.encoder_layer(params(layer), src.astype(np.float64), H),
        rtol=RTOL,
    )


# ------------------------------------------------------------------------------- stacks
def _encoder_reference(p, src, num_layers, prefix="", **kw):
    x = src
    for i in range(num_layers):
        x = ref.encoder_layer(p, x, H, prefix=f"{prefix}layers.{i}.", **kw)
    if f"{prefix}norm.weight" in p:
        x = ref.layer_norm(x, p[f"{prefix}norm.weight"], p[f"{prefix}norm.bias"], 1e-5)
    return x


def _decoder_reference(p, tgt, memory, num_layers, prefix="", **kw):
    x = tgt
    for i in range(num_layers):
        x = ref.decoder_layer(p, x, memory, H, prefix=f"{prefix}layers.{i}.", **kw)
    if f"{prefix}norm.weight" in p:
        x = ref.layer_norm(x, p[f"{prefix}norm.weight"], p[f"{prefix}norm.bias"], 1e-5)
    return x


@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("is_causal", [None, True])
def test_encoder_stack_matches_reference(device, norm, is_causal):
    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, device=device)
    encoder = nn.TransformerEncoder(
        layer, 2, norm=nn.LayerNorm(D, device=device) if norm else None, enable_nested_tensor=False
    )
    # the copies start equal and stay distinct objects
    assert encoder.layers[0].linear1.weight is not encoder.layers[1].linear1.weight
    assert np.array_equal(
        to_numpy(encoder.layers[0].linear1.weight), to_numpy(encoder.layers[1].linear1.weight)
    )
    with fg.no_grad():
        encoder.layers[1].linear1.weight.mul_(0.5)  # so the two layers differ
    src = sequence(S, False)
    causal = nn.Transformer.generate_square_subsequent_mask(S, device=device)
    out = encoder(
        tensor(src, device),
        mask=causal,
        is_causal=is_causal,
        src_key_padding_mask=tensor(_src_padding, device),
    )
    want = _encoder_reference(
        params(encoder),
        src.astype(np.float64),
        2,
        src_mask=np.triu(np.ones((S, S), bool), 1),
        src_key_padding_mask=_src_padding,
    )
    assert_close(to_numpy(out), want, rtol=RTOL)


@pytest.mark.parametrize("tgt_is_causal", [None, True, False])
def test_decoder_stack_matches_reference(device, tgt_is_causal):
    layer = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, batch_first=True, device=device)
    decoder = nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(D, device=device))
    tgt, memory = sequence(T, True), sequence(S, True)
    mask = nn.Transformer.generate_square_subsequent_mask(T, device=device)
    out = decoder(
        tensor(tgt, device),
        tensor(memory, device),
        tgt_mask=mask,
        tgt_is_causal=tgt_is_causal,
        memory_key_padding_mask=tensor(_memory_padding, device),
    )
    want = _decoder_reference(
        params(decoder),
        tgt.astype(np.float64),
        memory.astype(np.float64),
        2,
        tgt_mask=_causal_t,
        memory_key_padding_mask=_memory_padding,
        batch_first=True,
    )
    assert_close(to_numpy(out), want, rtol=RTOL)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_reference(device, batch_first, norm_first):
    model = nn.Transformer(
        D,
        H,
        num_encoder_layers=2,
        num_decoder_layers=1,
        dim_feedforward=FF,
        dropout=0.0,
        activation="gelu",
        batch_first=batch_first,
        norm_first=norm_first,
        device=device,
    )
    src, tgt = sequence(S, batch_first), sequence(T, batch_first)
    out = model(
        tensor(src, device),
        tensor(tgt, device),
        tgt_mask=model.generate_square_subsequent_mask(T, device=device),
        src_key_padding_mask=tensor(_src_padding, device),
        memory_key_padding_mask=tensor(_src_padding, device),
    )
    p = params(model)
    kw = {"activation": "gelu", "batch_first": batch_first, "norm_first": norm_first}
    memory = _encoder_reference(
        p, src.astype(np.float64), 2, prefix="encoder.", src_key_padding_mask=_src_padding, **kw
    )
    want = _decoder_reference(
        p,
        tgt.astype(np.float64),
        memory,
        1,
        prefix="decoder.",
        tgt_mask=_causal_t,
        memory_key_padding_mask=_src_padding,
        **kw,
    )
    assert tuple(out.shape) == tgt.shape
    assert_close(to_numpy(out), want, rtol=RTOL)


def test_transformer_initializes_matrices_xavier_uniform():
    model = nn.Transformer(16, 2, 1, 1, dim_feedforward=24)
    w = to_numpy(model.encoder.layers[0].linear1.weight)  # (24, 16)
    bound = np.sqrt(6.0 / (16 + 24))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.array_equal(to_numpy(model.decoder.norm.weight), np.ones(16))


def test_custom_encoder_and_decoder_are_used():
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF, dropout=0.0), 1)
    model = nn.Transformer(
        D, H, dim_feedforward=FF, custom_encoder=encoder, dropout=0.0, num_decoder_layers=1
    )
    assert model.encoder is encoder
    assert "encoder.norm.weight" not in model.state_dict()


def test_generate_square_subsequent_mask():
    mask = to_numpy(nn.Transformer.generate_square_subsequent_mask(4))
    want = np.where(np.triu(np.ones((4, 4), bool), 1), -np.inf, 0.0)
    assert np.array_equal(mask, want)
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=fg.float64).dtype == fg.float64
    assert nn.Transformer.generate_square_subsequent_mask(0).shape == (0, 0)


# ------------------------------------------------------------------------------- dropout
def test_dropout_acts_in_training_only(device):
    model = nn.Transformer(D, H, 1, 1, dim_feedforward=FF, dropout=0.3, device=device)
    src, tgt = tensor(sequence(S, False), device), tensor(sequence(T, False), device)
    first, second = to_numpy(model(src, tgt)), to_numpy(model(src, tgt))
    assert not np.array_equal(first, second)
    model.eval()
    a, b = to_numpy(model(src, tgt)), to_numpy(model(src, tgt))
    assert np.array_equal(a, b)
    p = params(model)
    memory = _encoder_reference(p, to_numpy(src).astype(np.float64), 1, prefix="encoder.")
    assert_close(
        a,
        _decoder_reference(p, to_numpy(tgt).astype(np.float64), memory, 1, prefix="decoder."),
        rtol=RTOL,
    )


def test_dropout_zero_is_deterministic_in_training():
    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0)
    src = fg.tensor(sequence(S, False))
    assert np.array_equal(to_numpy(layer(src)), to_numpy(layer(src)))


# ----------------------------------------------------------------------------- gradients
def _module_gradcheck(module, arrays, forward, device, eps=1e-6, checks=6):
    """forward(*tensors)'s gradient in float64, for the inputs and for a few elements of
    each parameter, against central differences of the module itself."""
    module.to(fg.float64)
    ts = [as_tensor(np.asarray(a, np.float64), device, requires_grad=True) for a in arrays]
    out = forward(*ts)
    g = RNG.uniform(-1.0, 1.0, size=tuple(out.shape))
    out.backward(as_tensor(g, device))

    def loss():
        with fg.no_grad():
            return float(
                np.sum(to_numpy(forward(*[as_tensor(to_numpy(t), device) for t in ts])) * g)
            )

    def numeric(tensor, k):
        values = to_numpy(tensor).copy()
        flat = values.reshape(-1)
        original, results = flat[k], []
        for step in (eps, -eps):
            flat[k] = original + step
            with fg.no_grad():
                tensor.copy_(as_tensor(values, device))
            results.append(loss())
        flat[k] = original
        with fg.no_grad():
            tensor.copy_(as_tensor(values, device))
        return (results[0] - results[1]) / (2 * eps)

    named = [(f"input {i}", t) for i, t in enumerate(ts)] + list(module.named_parameters())
    for name, t in named:
        assert t.grad is not None, f"{name}: no gradient"
        got = to_numpy(t.grad).reshape(-1)
        for k in RNG.choice(got.size, min(checks, got.size), replace=False):
            assert_close(got[k], numeric(t, k), rtol=1e-6, atol=1e-7, what=f"grad of {name}")


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_gradients(device, norm_first):
    layer = nn.TransformerEncoderLayer(
        4, 2, 6, dropout=0.0, activation="gelu", norm_first=norm_first, device=device
    )
    padding = fg.tensor(np.array([[False, False, True], [False] * 3]), device=device)
    _module_gradcheck(
        layer,
        [sequence(3, False)[:, :, :4]],
        lambda src: layer(src, src_key_padding_mask=padding),
        device,
    )


def test_decoder_layer_gradients(device):
    layer = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, batch_first=True, device=device)
    mask = nn.Transformer.generate_square_subsequent_mask(3, device=device, dtype=fg.float64)
    _module_gradcheck(
        layer,
        [sequence(3, True)[..., :4], sequence(2, True)[..., :4]],
        lambda tgt, memory: layer(tgt, memory, tgt_mask=mask),
        device,
    )


# ----------------------------------------------------------------------- state and names
ENCODER_LAYER_KEYS = [
    "self_attn.in_proj_weight",
    "self_attn.in_proj_bias",
    "self_attn.out_proj.weight",
    "self_attn.out_proj.bias",
    "linear1.weight",
    "linear1.bias",
    "linear2.weight",
    "linear2.bias",
    "norm1.weight",
    "norm1.bias",
    "norm2.weight",
    "norm2.bias",
]
DECODER_LAYER_KEYS = [
    "self_attn.in_proj_weight",
    "self_attn.in_proj_bias",
    "self_attn.out_proj.weight",
    "self_attn.out_proj.bias",
    "multihead_attn.in_proj_weight",
    "multihead_attn.in_proj_bias",
    "multihead_attn.out_proj.weight",
    "multihead_attn.out_proj.bias",
    "linear1.weight",
    "linear1.bias",
    "linear2.weight",
    "linear2.bias",
    "norm1.weight",
    "norm1.bias",
    "norm2.weight",
    "norm2.bias",
    "norm3.weight",
    "norm3.bias",
]


def test_layer_state_dict_names_are_pytorchs():
    assert list(nn.TransformerEncoderLayer(8, 2, 16).state_dict()) == ENCODER_LAYER_KEYS
    assert list(nn.TransformerDecoderLayer(8, 2, 16).state_dict()) == DECODER_LAYER_KEYS
    assert list(nn.TransformerEncoderLayer(8, 2, 16, bias=False).state_dict()) == [
        "self_attn.in_proj_weight",
        "self_attn.out_proj.weight",
        "linear1.weight",
        "linear2.weight",
        "norm1.weight",
        "norm2.weight",
    ]


def test_stack_state_dict_names_are_pytorchs():
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, nn.LayerNorm(8))
    assert list(encoder.state_dict()) == (
        [f"layers.0.{k}" for k in ENCODER_LAYER_KEYS]
        + [f"layers.1.{k}" for k in ENCODER_LAYER_KEYS]
        + ["norm.weight", "norm.bias"]
    )
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2)
    assert list(decoder.state_dict()) == (
        [f"layers.0.{k}" for k in DECODER_LAYER_KEYS]
        + [f"layers.1.{k}" for k in DECODER_LAYER_KEYS]
    )
    model = nn.Transformer(8, 2, 1, 1, 16)
    assert list(model.state_dict()) == (
        [f"encoder.layers.0.{k}" for k in ENCODER_LAYER_KEYS]
        + ["encoder.norm.weight", "encoder.norm.bias"]
        + [f"decoder.layers.0.{k}" for k in DECODER_LAYER_KEYS]
        + ["decoder.norm.weight", "decoder.norm.bias"]
    )
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["encoder.layers.0.self_attn.in_proj_weight"] == (24, 8)
    assert shapes["decoder.layers.0.linear1.weight"] == (16, 8)


def test_load_state_dict_round_trip():
    a = nn.Transformer(D, H, 1, 1, FF, dropout=0.0)
    b = nn.Transformer(D, H, 1, 1, FF, dropout=0.0)
    b.load_state_dict({k: to_numpy(v) for k, v in a.state_dict().items()})
    src, tgt = fg.tensor(sequence(S, False)), fg.tensor(sequence(T, False))
    assert np.array_equal(to_numpy(a(src, tgt)), to_numpy(b(src, tgt)))


def test_dtype_argument_converts_the_parameters():
    layer = nn.TransformerDecoderLayer(D, H, FF, dtype=fg.float64)
    assert {p.dtype for p in layer.parameters()} == {fg.float64}


# -------------------------------------------------------------------------------- errors
def test_bad_activation():
    with pytest.raises(
        ValueError,
        match=r"\[TransformerEncoderLayer\] expected activation "
        r"'relu', 'gelu' or a callable, got 'tanh'",
    ):
        nn.TransformerEncoderLayer(D, H, activation="tanh")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"d_model": 0}, "d_model to be a positive int"),
        ({"dim_feedforward": 0}, "dim_feedforward to be a positive int"),
        ({"nhead": 3}, "divisible by num_heads"),
    ],
)
def test_bad_layer_sizes(kwargs, message):
    args = {"d_model": D, "nhead": H, **kwargs}
    with pytest.raises(ValueError, match=message):
        nn.TransformerDecoderLayer(**args)


def test_bad_stacks():
    with pytest.raises(ValueError, match=r"\[TransformerEncoder\] expected num_layers"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H), 0)
    with pytest.raises(TypeError, match=r"\[TransformerDecoder\] expected the layer"):
        nn.TransformerDecoder("layer", 2)


def test_transformer_checks_its_inputs():
    model = nn.Transformer(D, H, 1, 1, FF)
    src, tgt = fg.tensor(sequence(S, False)), fg.tensor(sequence(T, False))
    with pytest.raises(ValueError, match=r"\[Transformer\] expected src .*d_model=8"):
        model(src[..., :4], tgt)
    with pytest.raises(ValueError, match=r"\[Transformer\] expected src and tgt of one batch"):
        model(src, tgt[:, :1])
    with pytest.raises(
        TypeError,
        match=r"\[TransformerEncoder\] expected mask of dtype bool "
        r"or a floating dtype",
    ):
        model(src, tgt, src_mask=fg.zeros(S, S, dtype=fg.int64))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 4\)"):
        model(src, tgt, tgt_mask=fg.zeros(S, S))
    with pytest.raises(ValueError, match=r"attn_mask, the causal mask, with is_causal=True"):
        model(src, tgt, tgt_is_causal=True)
