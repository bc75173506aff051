"""Pictures of what a convolutional network learned (matplotlib, in the ``plot`` extra).

    viz.filters(model[0][0], "filters.png")        # the first conv layer's kernels
    viz.feature_maps(model, image, "features.png")  # each conv block's output for one image

``filters`` draws a ``Conv2d``'s kernels as a grid of tiles: one per output channel when
each kernel sees one input channel (the first layer of a grayscale network, a depthwise
layer), else one per (output, input) channel pair, a row per output channel. Each tile is
scaled to its own range (black its smallest weight, white its largest), so the pattern
shows whatever the kernel's size.

``feature_maps`` runs one input through an ``nn.Sequential`` child by child (in eval mode,
without gradients) and draws a row per conv block: a block starts at a child that holds a
``Conv2d`` and takes in the children after it (BatchNorm, ReLU, pooling) while their output
stays an image larger than 1x1, so a global pooling or the classifier ends it. Each map is
scaled to its own range.
"""

import math
import os
from typing import Any

import numpy as np

from . import _C, _errors
from .autograd import no_grad
from .nn.container import Sequential
from .nn.conv import Conv2d

__all__ = ["filters", "feature_maps"]

_GAP = 1  # pixels between tiles, drawn in the background colour
_TILE_PIXELS = 12  # the least size of a tile's side in the mosaic


def _pyplot(op):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(f'[viz.{op}] needs matplotlib: pip install "forgegrad[plot]"') from error
    return plt


def _check_path(op: str, path: str | os.PathLike[str]) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise _errors.TypeError(
            f"[viz.{op}] expected path as a str or os.PathLike, got {type(path).__name__}"
        )
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"[viz.{op}] the directory {directory!r} of {path!r} does not exist"
        )
    if os.path.isdir(path):
        raise _errors.ValueError(f"[viz.{op}] path {path!r} is a directory; give a file name")
    return path


def _numpy(tensor):
    return tensor.detach().cpu().to(dtype=_C.dtype.float64).numpy()


def _scaled(tiles):
    """Each tile (the last two axes) mapped to [0, 1] by its own min and max; a constant
    tile comes out mid-grey."""
    low = tiles.min(axis=(-2, -1), keepdims=True)
    span = tiles.max(axis=(-2, -1), keepdims=True) - low
    return np.where(span > 0, (tiles - low) / np.where(span > 0, span, 1.0), 0.5)


def _mosaic(tiles, columns):
    """(count, h, w) tiles in [0, 1] as one image, `columns` tiles a row, _GAP apart; the
    gaps and empty places are NaN (drawn as the background). Small tiles are enlarged (each
    value a square of pixels) so that the gaps stay thin beside them."""
    zoom = max(1, _TILE_PIXELS // max(tiles.shape[1:]))
    tiles = tiles.repeat(zoom, axis=1).repeat(zoom, axis=2)
    count, h, w = tiles.shape
    rows = math.ceil(count / columns)
    image = np.full((rows * (h + _GAP) - _GAP, columns * (w + _GAP) - _GAP), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        image[r * (h + _GAP) : r * (h + _GAP) + h, c * (w + _GAP) : c * (w + _GAP) + w] = tile
    return image


def _show(ax, image, cmap, gap_colour) -> None:
    cmap = cmap.with_extremes(bad=gap_colour)
    ax.imshow(image, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()


def filters(conv_layer: Conv2d, path: str | os.PathLike[str], cmap: str = "gray") -> str:
    """Draw `conv_layer`'s kernels (an ``nn.Conv2d``) as a grid of tiles into `path` (PNG);
    returns `path`."""
    if not isinstance(conv_layer, Conv2d):
        raise _errors.TypeError(
            f"[viz.filters] expected an nn.Conv2d layer, got {type(conv_layer).__name__}"
        )
    path = _check_path("filters", path)
    plt = _pyplot("filters")
    weight = _numpy(conv_layer.weight)  # (out, in / groups, kh, kw)
    out_channels, in_per_group, kh, kw = weight.shape
    if in_per_group == 1:
        columns = math.ceil(math.sqrt(out_channels))
        tiles = weight[:, 0]
        title = f"{out_channels} kernels of {kh}x{kw} (one input channel each)"
    else:
        columns = in_per_group  # a row per output channel
        tiles = weight.reshape(-1, kh, kw)
        title = (
            f"{out_channels} x {in_per_group} kernels of {kh}x{kw} "
            "(a row per output channel, a column per input channel)"
        )
    image = _mosaic(_scaled(tiles), columns)
    # up to 0.06 inch per pixel, within a page
    scale = min(0.06, 12.0 / image.shape[1], 16.0 / image.shape[0])
    fig, ax = plt.subplots(
        figsize=(max(image.shape[1] * scale, 4.0), max(image.shape[0] * scale, 2.0) + 0.6)
    )
    _show(ax, image, plt.get_cmap(cmap), "tab:blue")  # gaps unlike any grey
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _holds_conv(module):
    return any(isinstance(m, Conv2d) for m in module.modules())


def _is_image(value):
    return isinstance(value, _C.Tensor) and value.ndim == 4 and value.shape[2] * value.shape[3] > 1


def _first_conv(model):
    return next(m for m in model.modules() if isinstance(m, Conv2d))


def _one_input(model, x):
    """x as a batch of one on the model's device and in its dtype, checked against the
    first conv."""
    if isinstance(x, np.ndarray):
        x = _C.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if not isinstance(x, _C.Tensor):
        raise _errors.TypeError(
            f"[viz.feature_maps] expected x as a Tensor or numpy array, got {type(x).__name__}"
        )
    conv = _first_conv(model)
    batch = x.unsqueeze(0) if x.ndim == 3 else x
    if batch.ndim != 4 or batch.shape[0] != 1 or batch.shape[1] != conv.in_channels:
        raise _errors.ValueError(
            f"[viz.feature_maps] expected one input of shape ({conv.in_channels}, H, W) or "
            f"(1, {conv.in_channels}, H, W) (the first Conv2d's in_channels), got shape "
            f"{tuple(x.shape)}"
        )
    return batch.to(device=conv.weight.device, dtype=conv.weight.dtype)


def _block_outputs(model, x):
    """[(names of the block's children, its output as (C, H, W) numpy)] per conv block."""
    blocks, in_block = [], False
    children = list(model.named_children())
    last_conv = max(i for i, (_, child) in enumerate(children) if _holds_conv(child))
    with no_grad():
        for i, (name, child) in enumerate(children):
            if i > last_conv and not in_block:
                break  # the rest (the classifier, say) need not run
            x = child(x)
            starts = i <= last_conv and _holds_conv(child)
            if not (starts or in_block):
                continue
            if starts:
                blocks.append(([], []))
            in_block = _is_image(x)
            names, maps = blocks[-1]
            if in_block:
                names.append(name)
                maps[:] = [_numpy(x[0])]
            elif not maps:  # a conv child that already ends flat or in a 1x1 map
                blocks.pop()
    return [(names, maps[0]) for names, maps in blocks]


def _children(names):
    return f"child {names[0]}" if len(names) == 1 else f"children {names[0]}-{names[-1]}"


def feature_maps(
    model: Sequential,
    x: _C.Tensor | np.ndarray[Any, Any],
    path: str | os.PathLike[str],
    max_maps: int = 32,
    cmap: str = "viridis",
) -> str:
    """Draw what each conv block of `model` (an ``nn.Sequential``) makes of the single
    input `x` ((C, H, W) or (1, C, H, W)) into `path` (PNG): the input, then a row per
    block with its first `max_maps` channels. Returns `path`."""
    if not isinstance(model, Sequential):
        raise _errors.TypeError(
            "[viz.feature_maps] expected an nn.Sequential whose children run in order (put "
            f"conv blocks in an nn.Sequential), got {type(model).__name__}"
        )
    if not _holds_conv(model):
        raise _errors.ValueError(
            "[viz.feature_maps] expected a model with an nn.Conv2d, got none in it"
        )
    if isinstance(max_maps, bool) or not isinstance(max_maps, int) or max_maps < 1:
        raise _errors.ValueError(
            f"[viz.feature_maps] expected max_maps as a positive int, got {max_maps!r}"
        )
    path = _check_path("feature_maps", path)
    plt = _pyplot("feature_maps")
    x = _one_input(model, x)
    was_training = model.training
    model.eval()
    try:
        blocks = _block_outputs(model, x)
    finally:
        model.train(was_training)
    if not blocks:
        raise _errors.ValueError(
            "[viz.feature_maps] no conv block of the model gives an image "
            "larger than 1x1 for this input"
        )
    rows = [("input", _numpy(x[0]))] + [
        (f"block {i + 1} ({_children(names)})", maps) for i, (names, maps) in enumerate(blocks)
    ]
    columns = min(16, max(len(maps[:max_maps]) for _, maps in rows))
    # the input's channels a few times as large as the maps, as long as they fit a row
    input_columns = min(columns, max(len(rows[0][1]), columns // 4))
    images = [
        (
            label,
            maps.shape,
            _mosaic(_scaled(maps[:max_maps]), input_columns if label == "input" else columns),
        )
        for label, maps in rows
    ]
    heights = [image.shape[0] / image.shape[1] * columns for _, _, image in images]
    width = 10.0
    fig, axes = plt.subplots(
        len(images),
        1,
        squeeze=False,
        figsize=(width, sum(h * width / columns for h in heights) + 0.5 * len(images)),
        gridspec_kw={"height_ratios": heights},
    )
    for ax, (label, shape, image) in zip(axes[:, 0], images):
        c, h, w = shape
        shown = f"{max_maps} of {c} maps" if c > max_maps else f"{c} map{'s' * (c > 1)}"
        _show(ax, image, plt.get_cmap(cmap), "white")
        ax.set_anchor("W")
        ax.set_title(f"{label}: {shown} of {h}x{w}", fontsize=9, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
