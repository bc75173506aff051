"""forgegrad: neural-network training on hand-written C++ and CUDA kernels.

The math lives in the C++ extension ``forgegrad._C``; this package is the thin,
PyTorch-shaped layer over it.
"""
from . import _C
from ._C import Tensor, device, from_numpy, manual_seed, is_grad_enabled
from ._C import set_num_threads, get_num_threads
from ._C import (exp, log, sqrt, abs, clamp, sum, mean, argmax, matmul, flatten, transpose,
                 relu, tanh, sigmoid, softmax, log_softmax, clone, add, sub, mul, div, neg)
from ._tensor import max, reshape
from .autograd import no_grad, enable_grad, set_grad_enabled
from .creation import (tensor, zeros, ones, empty, full, arange, rand, randn, zeros_like,
                       ones_like)
from .info import info

__version__ = _C.__version__

float32 = _C.dtype.float32
int64 = _C.dtype.int64
bool = _C.dtype.bool  # noqa: A001  (torch.bool, shadowing the builtin inside this module only)
uint8 = _C.dtype.uint8
long = int64
float = float32  # noqa: A001
dtype = _C.dtype

from . import nn  # noqa: E402  (nn uses the names above)

__all__ = [
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "empty", "full", "arange", "rand",
    "randn", "zeros_like", "ones_like", "manual_seed", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "float32", "int64", "bool", "uint8", "device",
    "info", "set_num_threads", "get_num_threads", "nn", "exp", "log", "sqrt", "abs", "clamp",
    "sum", "mean", "max", "argmax", "matmul", "reshape", "flatten", "transpose", "relu", "tanh",
    "sigmoid", "softmax", "log_softmax", "clone",
]
