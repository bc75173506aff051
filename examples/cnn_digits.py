"""A small convolutional network on scikit-learn's 8x8 handwritten digits, and pictures of
what it learned: the first layer's kernels and each conv block's maps of one test digit.

    pip install ".[datasets,plot]" && python examples/cnn_digits.py

It is what `forgegrad train --model cnn --plot-filters ... --plot-features ...` runs,
written out: two conv blocks (3x3 convolution, BatchNorm, ReLU, 2x2 max pooling, each
halving the image) and a linear classifier; about 99% test accuracy.
"""

import argparse

import forgegrad as fg
from forgegrad import nn, optim, viz

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    # no bias in the convolution: the BatchNorm after it has its own shift
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


def as_images(split: fg.TensorDataset) -> fg.TensorDataset:
    """The digits' 64 features as one-channel 8x8 images."""
    pixels, labels = split.arrays
    return fg.TensorDataset(pixels.reshape(-1, 1, 8, 8), labels)


fg.manual_seed(args.seed)
data = fg.datasets.digits(seed=args.seed)
train, val, test = as_images(data.train), as_images(data.val), as_images(data.test)

first = conv_block(1, 32)
model = nn.Sequential(
    first,  # 1x8x8 -> 32x4x4
    conv_block(32, 64),  # -> 64x2x2
    nn.Flatten(),
    nn.Dropout(0.2),
    nn.Linear(64 * 2 * 2, 10),
)
optimizer = optim.Adam(model.parameters(), lr=2e-3)
scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

fg.fit(
    model,
    loss_fn,
    optimizer,
    train,
    val,
    epochs=args.epochs,
    batch_size=32,
    scheduler=scheduler,
    seed=args.seed,
)
print(f"test accuracy: {fg.evaluate(model, loss_fn, test)['accuracy']:.1%}")

conv = first[0]  # a Module to type checkers; a Conv2d here
assert isinstance(conv, nn.Conv2d)
viz.filters(conv, "cnn_filters.png")  # the first conv layer's 32 kernels
image, label = test.arrays[0][0], test.arrays[1][0]
viz.feature_maps(model, image, "cnn_features.png")  # the input, block 1, block 2
print(f"drew the filters to cnn_filters.png and the maps of a test {label} to cnn_features.png")
