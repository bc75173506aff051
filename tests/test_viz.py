"""forgegrad.viz: filters and feature_maps write PNG files for the layers and models they
accept (a conv's kernels with one or several input channels, nested and flat Sequentials,
residual blocks) and refuse the rest with "[viz.<function>] expected ..." errors; without
matplotlib they say what to install."""

import re
import sys

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn, viz

PNG = b"\x89PNG\r\n\x1a\n"
try:
    import matplotlib  # noqa: F401

    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False
needs_matplotlib = pytest.mark.skipif(
    not HAVE_MATPLOTLIB,
    reason=('forgegrad.viz draws with matplotlib (pip install "forgegrad[plot]"), not installed'),
)


def block(in_channels, out_channels):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


def small_cnn():
    return nn.Sequential(block(1, 4), block(4, 6), nn.Flatten(), nn.Linear(6 * 2 * 2, 3))


class Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv(x).relu()


def blocks_drawn(model, x):
    """The (children, map shape) of each row feature_maps draws."""
    return [(names, maps.shape) for names, maps in viz._block_outputs(model, x)]


@needs_matplotlib
@pytest.mark.parametrize(
    "layer",
    [
        nn.Conv2d(1, 5, 3),
        nn.Conv2d(3, 4, (3, 5), bias=False),
        nn.Conv2d(4, 4, 3, groups=4),
        nn.Conv2d(2, 3, 1),
    ],
    ids=["in1", "in3", "depthwise", "1x1"],
)
def test_filters_writes_a_png(layer, tmp_path):
    path = tmp_path / "filters.png"
    assert viz.filters(layer, path) == str(path)
    assert path.read_bytes()[:8] == PNG


@needs_matplotlib
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 1, 8, 8), (1, 5, 7)])
def test_feature_maps_writes_a_png_and_keeps_the_mode(shape, tmp_path):
    model = small_cnn()
    path = tmp_path / "maps.png"
    assert viz.feature_maps(model, fg.rand(*shape), path) == str(path)
    assert path.read_bytes()[:8] == PNG
    assert model.training  # put back as it was; eval inside
    model.eval()
    viz.feature_maps(model, np.random.rand(*shape), path, max_maps=2)
    assert not model.training
    viz.feature_maps(model.double(), fg.rand(*shape), path)  # x follows the model's dtype


def test_blocks_of_nested_and_flat_sequentials():
    x = fg.rand(1, 1, 8, 8)
    assert blocks_drawn(small_cnn(), x) == [(["0"], (4, 4, 4)), (["1"], (6, 2, 2))]
    flat = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 5, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(5, 2),
    )
    # the global pooling to 1x1 ends the second block
    assert blocks_drawn(flat, x) == [(["0", "1", "2"], (4, 4, 4)), (["3", "4"], (5, 4, 4))]
    residual = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), Residual(3), nn.MaxPool2d(2), nn.Flatten()
    )
    assert blocks_drawn(residual, x) == [(["0"], (3, 8, 8)), (["1", "2"], (3, 4, 4))]


def test_feature_maps_values_are_the_block_outputs():
    model = small_cnn().eval()
    x = fg.rand(1, 1, 8, 8)
    (_, first), (_, second) = viz._block_outputs(model, x)
    np.testing.assert_allclose(first, model[0](x)[0].detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(second, model[1](model[0](x))[0].detach().numpy(), rtol=1e-6)


def test_tiles_are_scaled_each_to_its_own_range():
    tiles = np.array([[[1.0, 3.0], [2.0, 5.0]], [[-4.0, -4.0], [-4.0, -4.0]]])
    np.testing.assert_array_equal(
        viz._scaled(tiles), [[[0.0, 0.5], [0.25, 1.0]], [[0.5, 0.5], [0.5, 0.5]]]
    )


@pytest.mark.parametrize(
    "layer",
    [nn.Linear(3, 4), nn.Conv1d(1, 2, 3), nn.ReLU(), "conv"],
    ids=["linear", "conv1d", "relu", "str"],
)
def test_filters_refuses_a_layer_without_2d_kernels(layer, tmp_path):
    with pytest.raises(TypeError, match=r"^\[viz.filters\] expected an nn.Conv2d layer, got "):
        viz.filters(layer, tmp_path / "f.png")


@pytest.mark.parametrize("shape", [(8, 8), (2, 1, 8, 8), (1, 3, 8, 8), (3, 8, 8), (1, 1, 1, 8, 8)])
def test_feature_maps_refuses_a_wrong_input_shape(shape, tmp_path):
    with pytest.raises(
        ValueError,
        match=r"^\[viz.feature_maps\] expected one input of shape "
        r"\(1, H, W\) or \(1, 1, H, W\) .*got shape " + re.escape(str(shape)) + "$",
    ):
        viz.feature_maps(small_cnn(), fg.rand(*shape), tmp_path / "m.png")


def test_feature_maps_refuses_other_models_and_arguments(tmp_path):
    path = tmp_path / "m.png"
    with pytest.raises(TypeError, match=r"\[viz.feature_maps\] expected an nn.Sequential"):
        viz.feature_maps(Residual(1), fg.rand(1, 8, 8), path)
    with pytest.raises(
        ValueError,
        match=r"\[viz.feature_maps\] expected a model with an "
        r"nn.Conv2d",
    ):
        viz.feature_maps(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), fg.rand(1, 8, 8), path)
    with pytest.raises(TypeError, match=r"\[viz.feature_maps\] expected x as a Tensor"):
        viz.feature_maps(small_cnn(), [[[0.0]]], path)
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match=r"expected max_maps as a positive int"):
            viz.feature_maps(small_cnn(), fg.rand(1, 8, 8), path, max_maps=bad)
    to_a_point = nn.Sequential(nn.Conv2d(1, 2, 8), nn.Flatten())  # 8x8 -> 1x1
    with pytest.raises(ValueError, match=r"no conv block of the model gives an image larger"):
        viz.feature_maps(to_a_point, fg.rand(1, 8, 8), path)


@pytest.mark.parametrize("draw", ["filters", "feature_maps"])
def test_bad_paths(draw, tmp_path):
    args = {"filters": (nn.Conv2d(1, 2, 3),), "feature_maps": (small_cnn(), fg.rand(1, 8, 8))}[draw]
    function = getattr(viz, draw)
    with pytest.raises(FileNotFoundError, match=rf"\[viz.{draw}\] the directory .* does not"):
        function(*args, tmp_path / "missing" / "x.png")
    with pytest.raises(ValueError, match=rf"\[viz.{draw}\] path .* is a directory"):
        function(*args, tmp_path)
    with pytest.raises(TypeError, match=rf"\[viz.{draw}\] expected path as a str"):
        function(*args, 3)


@pytest.mark.parametrize("draw", ["filters", "feature_maps"])
def test_without_matplotlib_says_what_to_install(draw, tmp_path, monkeypatch):
    # None in sys.modules makes `import matplotlib` fail as if it were not installed
    for name in {"matplotlib"} | {m for m in sys.modules if m.startswith("matplotlib.")}:
        monkeypatch.setitem(sys.modules, name, None)
    args = {"filters": (nn.Conv2d(1, 2, 3),), "feature_maps": (small_cnn(), fg.rand(1, 8, 8))}[draw]
    with pytest.raises(
        ImportError,
        match=rf"^\[viz.{draw}\] needs matplotlib: pip install "
        r'"forgegrad\[plot\]"$',
    ):
        getattr(viz, draw)(*args, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
