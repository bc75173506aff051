"""forgegrad.onnx.export: exported models run in onnxruntime and agree with forgegrad."""
import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install onnx)")
ort = pytest.importorskip("onnxruntime",
                          reason="onnxruntime is not installed (pip install onnxruntime)")


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
    model = nn.Sequential(nn.Linear(20, 33), nn.GELU(), nn.Dropout(0.3), nn.Linear(33, 17),
                          nn.Tanh(), nn.Linear(17, 7), nn.LeakyReLU(0.1), nn.Linear(7, 5),
                          nn.LogSoftmax(dim=1))
    _check(model, fg.randn(4, 20), tmp_path / "mlp.onnx", batch=fg.randn(9, 20))
    assert model.training is False  # export leaves the mode as it found it (set by _check)


def test_export_keeps_training_mode_and_names_weights(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
    fg.onnx.export(model, fg.randn(1, 3), tmp_path / "m.onnx")
    assert model.training
    names = {init.name for init in onnx.load(str(tmp_path / "m.onnx")).graph.initializer}
    assert {"0.weight", "0.bias"} <= names


@pytest.mark.parametrize("activation", [nn.ReLU(), nn.GELU(approximate="tanh"), nn.SiLU(),
                                        nn.ELU(), nn.Softplus(), nn.Softmax(dim=-1)])
def test_activations(tmp_path, activation):
    fg.manual_seed(1)
    _check(nn.Sequential(nn.Linear(6, 7), activation), fg.randn(3, 6), tmp_path / "a.onnx")


def test_cnn_conv_bn_relu_pool(tmp_path):
    fg.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 6, 3, stride=2, dilation=1, groups=2),
                          nn.BatchNorm2d(6), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(6, 10))
    _randomize_running_stats(model)
    _check(model, fg.randn(2, 1, 16, 16), tmp_path / "cnn.onnx", batch=fg.randn(5, 1, 16, 16))


def test_resnet_block_with_a_residual_add(tmp_path):
    fg.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          _ResidualBlock(4), _ResidualBlock(4), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 3))
    _randomize_running_stats(model)
    _check(model, fg.randn(2, 3, 15, 15), tmp_path / "res.onnx", batch=fg.randn(3, 3, 15, 15))


def test_conv1d_and_batchnorm1d(tmp_path):
    fg.manual_seed(4)
    model = nn.Sequential(nn.Conv1d(2, 5, 5, padding=2, dilation=1), nn.BatchNorm1d(5),
                          nn.ReLU(), nn.MaxPool1d(3, stride=2), nn.AdaptiveAvgPool1d(1),
                          nn.Flatten(), nn.Linear(5, 2))
    _randomize_running_stats(model)
    _check(model, fg.randn(3, 2, 29), tmp_path / "c1.onnx")


def test_embedding_layernorm_sequence_model(tmp_path):
    fg.manual_seed(5)
    model = nn.Sequential(nn.Embedding(11, 8), nn.LayerNorm(8), nn.Linear(8, 16), nn.ReLU(),
                          nn.Linear(16, 11))
    model.eval()
    ids = fg.tensor(np.random.default_rng(0).integers(0, 11, (2, 7)))
    fg.onnx.export(model, ids, tmp_path / "seq.onnx", input_names=["ids"],
                   dynamic_axes={"ids": {0: "batch", 1: "time"}})
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
