"""forgegrad: neural-network training on hand-written C++ and CUDA kernels.

The math lives in the C++ extension ``forgegrad._C``; this package is the thin,
PyTorch-shaped layer over it.
"""

from typing import TYPE_CHECKING

from . import _C, _index_ops, _movement, _ops, _sampling, _tensor, _unique  # noqa: F401
from ._C import Tensor, device, from_numpy, from_dlpack, is_grad_enabled
from ._C import set_num_threads, get_num_threads

# The ops (exp, sum, matmul, relu, manual_seed, ...) as the op table declares them.
globals().update(_ops.exports("forgegrad"))
if TYPE_CHECKING:  # the same names, for type checkers (tools/gen_stubs.py writes the stub)
    from ._op_exports import *  # noqa: F401,F403
from .autograd import no_grad, enable_grad, set_grad_enabled, inference_mode
from .creation import tensor, zeros, ones, empty, full, arange, rand, randn, zeros_like, ones_like
from .creation import as_tensor, is_tensor, numel
from ._type_info import finfo, iinfo
from .info import info
from ._einsum import einsum
from ._movement import (
    flip,
    fliplr,
    flipud,
    roll,
    tile,
    tril,
    triu,
    atleast_1d,  # noqa: F401
    atleast_2d,
    hstack,
    vstack,
    meshgrid,
    cartesian_prod,
)
from ._index_ops import (
    index_add,
    index_copy,
    index_fill,
    masked_scatter,  # noqa: F401
    take,
    repeat_interleave,
)
from ._unique import unique, unique_consecutive  # noqa: F401
from .random import get_rng_state, set_rng_state
from .random import Generator, default_generator, seed, initial_seed
from .creation import (
    linspace,
    logspace,
    eye,
    empty_like,
    full_like,
    rand_like,
    randn_like,
    randint,
    randint_like,
    randperm,
)
from ._sampling import multinomial, poisson, bernoulli, normal  # noqa: F401
from ._printing import set_printoptions, get_printoptions, printoptions

__version__ = _C.__version__

# ---- dtypes and type promotion
from ._C import promote_types, result_type, can_cast  # noqa: E402

float32 = _C.dtype.float32
float64 = _C.dtype.float64
float16 = _C.dtype.float16
bfloat16 = _C.dtype.bfloat16
int64 = _C.dtype.int64
int32 = _C.dtype.int32
int16 = _C.dtype.int16
int8 = _C.dtype.int8
uint8 = _C.dtype.uint8
bool = _C.dtype.bool  # noqa: A001  (torch.bool, shadowing the builtin inside this module only)
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
dtype = _C.dtype
memory_format = _C.memory_format  # clone(memory_format=...)
preserve_format = memory_format.preserve_format
contiguous_format = memory_format.contiguous_format

from . import nn, optim, data, datasets, cuda, linalg  # noqa: E402  (they use the names above)
from .data import Dataset, TensorDataset, DataLoader  # noqa: E402
from .serialization import save, load  # noqa: E402
from .training import (
    fit,
    evaluate,
    predict,
    History,
    Callback,
    EarlyStopping,  # noqa: E402
    ModelCheckpoint,
)
from . import viz  # noqa: E402,F401  (matplotlib is imported only when a picture is drawn)
from . import metrics  # noqa: E402
from . import onnx  # noqa: E402,F401  (the onnx package is imported only by export)
from . import utils  # noqa: E402  (forgegrad.utils.data, torch's path to forgegrad.data)

__all__ = [
    "Tensor",
    "tensor",
    "from_numpy",
    "from_dlpack",
    "zeros",
    "ones",
    "empty",
    "full",
    "arange",
    "rand",
    "randn",
    "zeros_like",
    "ones_like",
    "get_rng_state",
    "set_rng_state",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "as_tensor",
    "is_tensor",
    "numel",
    "finfo",
    "iinfo",
    "is_grad_enabled",
    "float32",
    "int64",
    "bool",
    "uint8",
    "float64",
    "float16",
    "bfloat16",
    "int32",
    "int16",
    "int8",
    "promote_types",
    "result_type",
    "can_cast",
    "device",
    "info",
    "set_num_threads",
    "get_num_threads",
    "nn",
    "cuda",
    "linalg",
    "optim",
    "data",
    "datasets",
    "Dataset",
    "TensorDataset",
    "DataLoader",
    "save",
    "load",
    "fit",
    "evaluate",
    "predict",
    "History",
    "Callback",
    "EarlyStopping",
    "ModelCheckpoint",
    "einsum",
    "Generator",
    "default_generator",
    "seed",
    "initial_seed",
    "linspace",
    "logspace",
    "eye",
    "empty_like",
    "full_like",
    "rand_like",
    "randn_like",
    "randint",
    "randint_like",
    "randperm",
    "memory_format",
    "preserve_format",
    "contiguous_format",
    "set_printoptions",
    "get_printoptions",
    "printoptions",
    "metrics",
    "utils",
    # _movement, _index_ops, _sampling and _unique's FUNCTIONS, written out for type checkers
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "tile",
    "tril",
    "triu",
    "atleast_1d",
    "atleast_2d",
    "hstack",
    "vstack",
    "meshgrid",
    "cartesian_prod",
    "index_add",
    "index_copy",
    "index_fill",
    "masked_scatter",
    "take",
    "repeat_interleave",
    "multinomial",
    "poisson",
    "bernoulli",
    "normal",
    "unique",
    "unique_consecutive",
]
__all__ += list(_ops.exports("forgegrad"))  # their stub: _op_exports.pyi
