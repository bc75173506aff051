"""forgegrad: neural-network training on hand-written C++ and CUDA kernels.

The math lives in the C++ extension ``forgegrad._C``; this package is the thin,
PyTorch-shaped layer over it.
"""
from . import _C
from ._C import Tensor, device, from_numpy, from_dlpack, manual_seed, is_grad_enabled
from ._C import set_num_threads, get_num_threads
from ._C import (exp, log, sqrt, abs, clamp, sum, mean, argmax, matmul, flatten, transpose,
                 relu, tanh, sigmoid, softmax, log_softmax, clone, add, sub, mul, div, neg)
from ._tensor import max, reshape
# views and layout (issue 13, part A)
from ._C import (contiguous, movedim, swapaxes, swapdims, broadcast_to, narrow, select,
                 unsqueeze, squeeze, unflatten, diagonal)
from ._tensor import permute, t
from .autograd import no_grad, enable_grad, set_grad_enabled
from .creation import (tensor, zeros, ones, empty, full, arange, rand, randn, zeros_like,
                       ones_like)
from .info import info
from .random import get_rng_state, set_rng_state

__version__ = _C.__version__

float32 = _C.dtype.float32
int64 = _C.dtype.int64
bool = _C.dtype.bool  # noqa: A001  (torch.bool, shadowing the builtin inside this module only)
uint8 = _C.dtype.uint8
long = int64
float = float32  # noqa: A001
dtype = _C.dtype

from . import nn, optim, data, datasets, cuda  # noqa: E402  (they use the names above)
from .data import Dataset, TensorDataset, DataLoader  # noqa: E402
from .serialization import save, load  # noqa: E402
from .train import (fit, evaluate, predict, History, Callback, EarlyStopping,  # noqa: E402
                    ModelCheckpoint)

__all__ = [
    "Tensor", "tensor", "from_numpy", "from_dlpack", "zeros", "ones", "empty", "full", "arange",
    "rand", "randn", "zeros_like", "ones_like", "manual_seed", "get_rng_state", "set_rng_state",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "float32", "int64", "bool",
    "uint8", "device", "info", "set_num_threads", "get_num_threads", "nn", "cuda", "exp", "log",
    "sqrt", "abs", "clamp", "sum", "mean", "max", "argmax", "matmul", "reshape", "flatten",
    "transpose", "relu", "tanh", "sigmoid", "softmax", "log_softmax", "clone", "add", "sub",
    "mul", "div", "neg", "optim", "data", "datasets", "Dataset", "TensorDataset", "DataLoader",
    "save", "load", "fit", "evaluate", "predict", "History", "Callback", "EarlyStopping",
    "ModelCheckpoint",
    "contiguous", "movedim", "swapaxes", "swapdims", "broadcast_to", "narrow", "select",
    "unsqueeze", "squeeze", "unflatten", "diagonal", "permute", "t",
]
