"""The networks the ``forgegrad`` command and ``forgegrad.sklearn``'s estimators build from a
few settings: an MLP (``build_mlp``) and a small CNN (``build_cnn``), with the activation
picked by name from ``ACTIVATIONS``."""

from . import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def build_mlp(num_features, hidden, num_classes, activation: str = "relu", dropout: float = 0.0):
    """Linear -> activation (-> Dropout) for each hidden size, then a Linear to the classes."""
    layers, width = [], num_features
    for size in hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def build_cnn(image_shape, channels, num_classes, activation: str = "relu", dropout: float = 0.0):
    """A conv block per entry of `channels`, each 3x3 Conv2d (padding 1; no bias, as the
    BatchNorm after it shifts) -> BatchNorm2d -> activation -> 2x2 MaxPool2d, which halves
    the image; then Flatten (-> Dropout) -> Linear to the classes."""
    in_channels, height, width = image_shape
    layers: list[nn.Module] = []
    for size in channels:
        layers.append(
            nn.Sequential(
                nn.Conv2d(in_channels, size, 3, padding=1, bias=False),
                nn.BatchNorm2d(size),
                ACTIVATIONS[activation](),
                nn.MaxPool2d(2),
            )
        )
        in_channels, height, width = size, height // 2, width // 2
    layers.append(nn.Flatten())
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(in_channels * height * width, num_classes))
    return nn.Sequential(*layers)
