"""Stateless ops under PyTorch's names and signatures (``torch.nn.functional``)."""
from .._C import (relu, leaky_relu, gelu, tanh, sigmoid, silu, softmax, log_softmax, linear,
                  dropout, mse_loss, l1_loss, cross_entropy, nll_loss,
                  binary_cross_entropy_with_logits)

__all__ = ["relu", "leaky_relu", "gelu", "tanh", "sigmoid", "silu", "softmax", "log_softmax",
           "linear", "dropout", "mse_loss", "l1_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy_with_logits"]
