"""forgegrad.onnx.export: exported models run in onnxruntime and agree with forgegrad."""

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install onnx)")
ort = pytest.importorskip(
    "onnxruntime", reason="onnxruntime is not installed (pip install onnxruntime)"
)


def _run(path, **inputs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {k: v.numpy() for k, v in inputs.items()})


def _check(model, example, path, batch=None, dynamic=True):
    model.eval()
    fg.onnx.export(model, example, path, dynamic_axes={"input": {0: "batch"}} if dynamic else None)
    x = example if batch is None else batch
    (got,) = _run(path, input=x)
    with fg.no_grad():
        expected = model(x).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


class _ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding="same", bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = nn.functional.relu(self.bn1(self.conv1(x)))
        return (self.bn2(self.conv2(y)) + x).relu()


def _randomize_running_stats(model):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(fg.randn(m.num_features) * 0.3)
            m.running_var.copy_(fg.rand(m.num_features) + 0.5)


def test_mlp_with_a_dynamic_batch(tmp_path):
    fg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(20, 33),
        nn.GELU(),
        nn.Dropout(0.3),
        nn.Linear(33, 17),
        nn.Tanh(),
        nn.Linear(17, 7),
        nn.LeakyReLU(0.1),
        nn.Linear(7, 5),
        nn.LogSoftmax(dim=1),
    )
    _check(model, fg.randn(4, 20), tmp_path / "mlp.onnx", batch=fg.randn(9, 20))
    assert model.training is False  # export leaves the mode as it found it (set by _check)


def test_export_keeps_training_mode_and_names_weights(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
    fg.onnx.export(model, fg.randn(1, 3), tmp_path / "m.onnx")
    assert model.training
    names = {init.name for init in onnx.load(str(tmp_path / "m.onnx")).graph.initializer}
    assert {"0.weight", "0.bias"} <= names


@pytest.mark.parametrize(
    "activation",
    [
        nn.ReLU(),
        nn.GELU(approximate="tanh"),
        nn.SiLU(),
        nn.ELU(),
        nn.Softplus(),
        nn.Softmax(dim=-1),
    ],
)
def test_activations(tmp_path, activation):
    fg.manual_seed(1)
    _check(nn.Sequential(nn.Linear(6, 7), activation), fg.randn(3, 6), tmp_path / "a.onnx")


def test_cnn_conv_bn_relu_pool(tmp_path):
    fg.manual_seed(2)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 6, 3, stride=2, dilation=1, groups=2),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(6, 10),
    )
    _randomize_running_stats(model)
    _check(model, fg.randn(2, 1, 16, 16), tmp_path / "cnn.onnx", batch=fg.randn(5, 1, 16, 16))


def test_resnet_block_with_a_residual_add(tmp_path):
    fg.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        _ResidualBlock(4),
        _ResidualBlock(4),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    _randomize_running_stats(model)
    _check(model, fg.randn(2, 3, 15, 15), tmp_path / "res.onnx", batch=fg.randn(3, 3, 15, 15))


def test_conv3d(tmp_path):
    fg.manual_seed(5)
    model = nn.Sequential(
        nn.Conv3d(2, 4, 3, padding=(1, 0, 1), stride=(1, 2, 1)),
        nn.ReLU(),
        nn.Conv3d(4, 4, 1, groups=2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 2 * 5, 3),
    )
    _check(model, fg.randn(2, 2, 4, 5, 5), tmp_path / "c3.onnx", batch=fg.randn(3, 2, 4, 5, 5))


def test_local_response_norm(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 6, 3), nn.LocalResponseNorm(3, alpha=0.1, beta=0.6, k=1.5))
    _check(model, fg.randn(2, 2, 6, 5), tmp_path / "lrn.onnx")
    with pytest.raises(TypeError, match=r"\[onnx.export\] LocalResponseNorm\(2\): an even"):
        fg.onnx.export(nn.LocalResponseNorm(2), fg.randn(1, 3, 4, 4), tmp_path / "even.onnx")
    with pytest.raises(TypeError, match=r"LocalResponseNorm on 3-d input: onnxruntime"):
        fg.onnx.export(nn.LocalResponseNorm(3), fg.randn(1, 3, 4), tmp_path / "3d.onnx")


def test_conv1d_and_batchnorm1d(tmp_path):
    fg.manual_seed(4)
    model = nn.Sequential(
        nn.Conv1d(2, 5, 5, padding=2, dilation=1),
        nn.BatchNorm1d(5),
        nn.ReLU(),
        nn.MaxPool1d(3, stride=2),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(5, 2),
    )
    _randomize_running_stats(model)
    _check(model, fg.randn(3, 2, 29), tmp_path / "c1.onnx")


def test_embedding_layernorm_sequence_model(tmp_path):
    fg.manual_seed(5)
    model = nn.Sequential(
        nn.Embedding(11, 8), nn.LayerNorm(8), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 11)
    )
    model.eval()
    ids = fg.tensor(np.random.default_rng(0).integers(0, 11, (2, 7)))
    fg.onnx.export(
        model,
        ids,
        tmp_path / "seq.onnx",
        input_names=["ids"],
        dynamic_axes={"ids": {0: "batch", 1: "time"}},
    )
    other = fg.tensor(np.random.default_rng(1).integers(0, 11, (3, 5)))
    (got,) = _run(tmp_path / "seq.onnx", ids=other)
    with fg.no_grad():
        expected = model(other).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_unsupported_module_is_named(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.PixelShuffle(2))
    with pytest.raises(TypeError, match=r"\[onnx.export\] PixelShuffle is not supported"):
        fg.onnx.export(model, fg.randn(1, 4), tmp_path / "x.onnx")


def test_bad_arguments(tmp_path):
    model = nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"\[onnx.export\] expected a forgegrad nn.Module"):
        fg.onnx.export(lambda x: x, fg.randn(1, 3), tmp_path / "x.onnx")
    with pytest.raises(TypeError, match=r"\[onnx.export\] expected example_input"):
        fg.onnx.export(model, np.zeros((1, 3), np.float32), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match=r"\[onnx.export\] expected opset_version"):
        fg.onnx.export(model, fg.randn(1, 3), tmp_path / "x.onnx", opset_version=9)
    with pytest.raises(ValueError, match=r"\[onnx.export\] 2 input_names for 1 inputs"):
        fg.onnx.export(model, fg.randn(1, 3), tmp_path / "x.onnx", input_names=["a", "b"])
    with pytest.raises(ValueError, match=r"\[onnx.export\] dynamic_axes names 'x'"):
        fg.onnx.export(model, fg.randn(1, 3), tmp_path / "x.onnx", dynamic_axes={"x": [0]})
    with pytest.raises(ValueError, match=r"\[onnx.export\] dynamic_axes\['input'\] names axis 5"):
        fg.onnx.export(model, fg.randn(1, 3), tmp_path / "x.onnx", dynamic_axes={"input": [5]})
    with pytest.raises(ValueError, match=r"\[Linear\]|\[linear\]|shape"):
        fg.onnx.export(model, fg.randn(1, 4), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_missing_onnx_package_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # as if not installed
    with pytest.raises(ImportError, match=r"\[onnx.export\] needs the onnx package"):
        fg.onnx.export(nn.Linear(2, 2), fg.randn(1, 2), tmp_path / "x.onnx")


# --- sequence models ------------------------------------------------------------------------


def _flat(outputs):
    if isinstance(outputs, tuple):
        return [x for item in outputs for x in _flat(item)]
    return [] if outputs is None else [outputs]


def _agree(
    model,
    path,
    example,
    others=(),
    names=None,
    dynamic_axes=None,
    atol=2e-5,
    opset=fg.onnx.DEFAULT_OPSET,
):
    """Exports model on `example` (a tuple of Tensors), then checks onnxruntime against
    forgegrad on it and on each tuple in `others` (other sizes along the dynamic axes)."""
    model.eval()
    names = names or [f"input_{i}" for i in range(len(example))]
    fg.onnx.export(
        model, example, path, input_names=names, dynamic_axes=dynamic_axes, opset_version=opset
    )
    for inputs in (example, *others):
        got = _run(path, **dict(zip(names, inputs)))
        with fg.no_grad():
            expected = _flat(model(*inputs))
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == tuple(e.shape)
            np.testing.assert_allclose(g, e.numpy(), rtol=1e-4, atol=atol)


class _Attention(nn.Module):
    def __init__(self, **options):
        super().__init__()
        self.options = options

    def forward(self, q, k, v, *mask):
        return nn.functional.scaled_dot_product_attention(q, k, v, *mask, **self.options)


@pytest.mark.parametrize(
    "mask, options",
    [
        (None, {}),
        (None, {"is_causal": True}),
        (None, {"scale": 0.3}),
        ("bool", {}),
        ("float", {"scale": 0.5}),
    ],
)
def test_scaled_dot_product_attention(tmp_path, mask, options):
    fg.manual_seed(10)
    q, k, v = fg.randn(2, 3, 5, 4), fg.randn(2, 3, 5, 4), fg.randn(2, 3, 5, 6)
    example = (q, k, v)
    if mask == "bool":  # True: takes part; every query keeps key 0
        keep = fg.rand(5, 5) > 0.4
        keep[:, 0] = True
        example += (keep,)
    elif mask == "float":
        example += (fg.randn(2, 1, 5, 5),)
    dynamic = {f"input_{i}": {2: "length"} for i in range(3)}
    longer = (fg.randn(2, 3, 7, 4), fg.randn(2, 3, 7, 4), fg.randn(2, 3, 7, 6))
    _agree(
        _Attention(**options),
        tmp_path / "sdpa.onnx",
        example,
        others=[longer] if mask is None else [],
        dynamic_axes=dynamic if mask is None else None,
    )


def test_causal_attention_with_fewer_queries_than_keys(tmp_path):
    fg.manual_seed(10)
    q, k, v = fg.randn(1, 2, 3, 4), fg.randn(1, 2, 5, 4), fg.randn(1, 2, 5, 4)
    _agree(_Attention(is_causal=True), tmp_path / "sdpa.onnx", (q, k, v))


class _SelfAttention(nn.Module):
    def __init__(self, attention, **options):
        super().__init__()
        self.attention, self.options = attention, options

    def forward(self, x, *padding):
        return self.attention(x, x, x, *padding, **self.options)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("weights", ["average", "per_head", "none"])
def test_multihead_self_attention_with_key_padding(tmp_path, batch_first, weights):
    fg.manual_seed(11)
    mha = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    nn.init.normal_(mha.in_proj_bias)
    options = {"need_weights": weights != "none", "average_attn_weights": weights == "average"}
    x = fg.randn(3, 6, 8) if batch_first else fg.randn(6, 3, 8)
    padding = fg.tensor([[False] * 6, [False] * 4 + [True] * 2, [False] * 5 + [True]])
    longer = (
        fg.randn(2, 9, 8) if batch_first else fg.randn(9, 2, 8),
        fg.tensor([[False] * 9, [False] * 2 + [True] * 7]),
    )
    length = 1 if batch_first else 0
    dynamic = {
        "input_0": {length: "length", 1 - length: "batch"},
        "input_1": {0: "batch", 1: "length"},
    }
    _agree(
        _SelfAttention(mha, **options),
        tmp_path / "mha.onnx",
        (x, padding),
        others=[longer],
        dynamic_axes=dynamic,
    )


@pytest.mark.parametrize("opset", [18, 21])  # ReduceMean takes its axes as an input from 18
def test_attention_weights_in_later_opsets(tmp_path, opset):
    fg.manual_seed(11)
    mha = nn.MultiheadAttention(8, 2)
    _agree(_SelfAttention(mha), tmp_path / "mha.onnx", (fg.randn(5, 2, 8),), opset=opset)


def test_multihead_cross_attention_with_masks_and_unbatched(tmp_path):
    fg.manual_seed(12)
    mha = nn.MultiheadAttention(8, 4, kdim=5, vdim=3)
    query, key, value = fg.randn(4, 2, 8), fg.randn(6, 2, 5), fg.randn(6, 2, 3)
    attn_mask = fg.randn(2 * 4, 4, 6)  # float, per batch and head: added to the scores
    _agree(mha, tmp_path / "cross.onnx", (query, key, value), names=["q", "k", "v"])

    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, q, k, v, mask):
            return self.mha(q, k, v, attn_mask=mask)[0]

    _agree(Masked(), tmp_path / "masked.onnx", (query, key, value, attn_mask))
    bool_mask = fg.rand(4, 6) > 0.6
    bool_mask[:, 0] = False
    _agree(
        Masked(),
        tmp_path / "unbatched.onnx",
        (fg.randn(4, 8), fg.randn(6, 5), fg.randn(6, 3), bool_mask),
    )


class _SelfAttentionLayer(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, padding):
        return self.layer(x, src_key_padding_mask=padding)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer(tmp_path, norm_first, activation):
    fg.manual_seed(13)
    layer = nn.TransformerEncoderLayer(
        8, 2, dim_feedforward=16, activation=activation, norm_first=norm_first, batch_first=True
    )
    x = fg.randn(2, 5, 8)
    padding = fg.tensor([[False] * 5, [False] * 3 + [True] * 2])
    _agree(_SelfAttentionLayer(layer), tmp_path / "layer.onnx", (x, padding))


def test_causal_transformer_encoder_with_a_dynamic_length(tmp_path):
    fg.manual_seed(14)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation=nn.GELU())
    encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))

    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, x, mask):
            return self.encoder(x, mask=mask, is_causal=True)

    mask = nn.Transformer.generate_square_subsequent_mask
    dynamic = {"x": {0: "length", 1: "batch"}, "mask": {0: "length", 1: "length"}}
    _agree(
        Causal(),
        tmp_path / "encoder.onnx",
        (fg.randn(5, 2, 8), mask(5)),
        names=["x", "mask"],
        others=[(fg.randn(7, 3, 8), mask(7))],
        dynamic_axes=dynamic,
    )


def test_transformer_decoder_layer_and_transformer(tmp_path):
    fg.manual_seed(15)
    layer = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    tgt, memory = fg.randn(2, 4, 8), fg.randn(2, 6, 8)
    causal = nn.Transformer.generate_square_subsequent_mask(4)

    class Decode(nn.Module):
        def __init__(self, decoder):
            super().__init__()
            self.decoder = decoder

        def forward(self, tgt, memory):
            return self.decoder(tgt, memory, tgt_mask=causal)

    _agree(Decode(layer), tmp_path / "decoder_layer.onnx", (tgt, memory))
    model = nn.Transformer(
        8,
        2,
        num_encoder_layers=2,
        num_decoder_layers=2,
        dim_feedforward=16,
        norm_first=True,
        batch_first=True,
    )
    _agree(model, tmp_path / "transformer.onnx", (memory, tgt), names=["src", "tgt"])


def test_char_gpt_with_a_dynamic_sequence_length(tmp_path):
    from forgegrad.charlm import GPT, GPTConfig

    fg.manual_seed(16)
    model = GPT(GPTConfig(vocab_size=13, context=16, layers=2, heads=2, width=16))
    rng = np.random.default_rng(0)

    def ids(*shape):
        return fg.tensor(rng.integers(0, 13, shape))

    _agree(
        model,
        tmp_path / "gpt.onnx",
        (ids(2, 9),),
        names=["ids"],
        others=[(ids(3, 4),), (ids(1, 16),)],
        dynamic_axes={"ids": {0: "batch", 1: "length"}},
    )
    graph = onnx.load(str(tmp_path / "gpt.onnx")).graph
    names = {init.name for init in graph.initializer}
    assert "wte.weight" in names and "head.weight" not in names  # the tied head shares it


@pytest.mark.parametrize(
    "kind, options",
    [
        ("RNN", {}),
        ("RNN", {"nonlinearity": "relu", "bidirectional": True}),
        ("LSTM", {}),
        ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
        ("GRU", {"num_layers": 2}),
        ("GRU", {"bidirectional": True, "bias": False}),
        ("LSTM", {"num_layers": 3, "batch_first": True}),
    ],
)
@pytest.mark.parametrize("initial", [False, True])
def test_recurrent_layers(tmp_path, kind, options, initial):
    fg.manual_seed(17)
    rnn = getattr(nn, kind)(5, 6, **options)
    x = fg.randn(4, 3, 5) if options.get("batch_first") else fg.randn(3, 4, 5)
    directions = 2 if options.get("bidirectional") else 1
    states = (options.get("num_layers", 1) * directions, 4, 6)
    example = (x,)
    if initial:
        example += (fg.randn(*states),) + ((fg.randn(*states),) if kind == "LSTM" else ())

    class Run(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn

        def forward(self, x, *hx):
            return self.rnn(x, (tuple(hx) if kind == "LSTM" else hx[0]) if hx else None)

    batch = 0 if options.get("batch_first") else 1
    dynamic = {"input_0": {batch: "batch", 1 - batch: "steps"}}
    dynamic.update({f"input_{i}": {1: "batch"} for i in range(1, len(example))})
    longer = (fg.randn(*((2, 7, 5) if batch == 0 else (7, 2, 5))),) + tuple(
        fg.randn(states[0], 2, 6) for _ in example[1:]
    )
    _agree(Run(), tmp_path / "rnn.onnx", example, others=[longer], dynamic_axes=dynamic)
    ops = [node.op_type for node in onnx.load(str(tmp_path / "rnn.onnx")).graph.node]
    assert ops.count(kind) == options.get("num_layers", 1)  # one ONNX node per layer


def test_unbatched_lstm_and_refusals(tmp_path):
    fg.manual_seed(18)
    _agree(nn.LSTM(3, 4, bidirectional=True), tmp_path / "lstm.onnx", (fg.randn(5, 3),))
    with pytest.raises(
        TypeError,
        match=r"\[onnx.export\] LSTM\(proj_size=2\): ONNX's LSTM has "
        "no projection",
    ):
        fg.onnx.export(nn.LSTM(3, 4, proj_size=2), fg.randn(5, 1, 3), tmp_path / "p.onnx")
    with pytest.raises(TypeError, match=r"\[onnx.export\] MultiheadAttention with add_bias_kv"):
        mha = nn.MultiheadAttention(4, 2, add_bias_kv=True)
        fg.onnx.export(_SelfAttention(mha), fg.randn(3, 1, 4), tmp_path / "b.onnx")
    assert not (tmp_path / "p.onnx").exists() and not (tmp_path / "b.onnx").exists()
