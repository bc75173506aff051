"""Neural-network building blocks, as ``torch.nn``: ``Module`` and ``Parameter``, layers,
losses, containers, ``init`` and ``utils``; ``functional`` holds the stateless ops."""
from . import functional, init, utils
from .module import Module, Parameter
from .linear import Linear
from .activation import (ReLU, LeakyReLU, GELU, Tanh, Sigmoid, SiLU, Softmax, LogSoftmax,
                         Softmin, Softplus, ELU, SELU, CELU, Mish, Hardtanh, ReLU6, Hardsigmoid,
                         Hardswish, LogSigmoid, Softsign, Tanhshrink, Threshold, Softshrink,
                         Hardshrink, GLU, PReLU)
from .dropout import Dropout
from .container import Sequential, ModuleList
from .loss import (MSELoss, L1Loss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss,
                   SmoothL1Loss, HuberLoss, KLDivLoss, PoissonNLLLoss, CosineSimilarity,
                   PairwiseDistance, CosineEmbeddingLoss, MarginRankingLoss, TripletMarginLoss,
                   SoftMarginLoss, MultiMarginLoss, CTCLoss)
from .flatten import Flatten, Identity
from .padding import (ZeroPad1d, ZeroPad2d, ConstantPad1d, ConstantPad2d, ConstantPad3d,
                      ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d,
                      CircularPad1d, CircularPad2d)
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d
from .fold import Unfold, Fold
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, LPPool1d, LPPool2d,
                      AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
                      MaxUnpool2d)
from .normalization import (LayerNorm, GroupNorm, BatchNorm1d, BatchNorm2d, InstanceNorm1d,
                            InstanceNorm2d, LocalResponseNorm)
from .dropout import Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout
from .upsampling import Upsample, UpsamplingNearest2d, UpsamplingBilinear2d
from .pixelshuffle import PixelShuffle, PixelUnshuffle
from .flatten import Unflatten
from ._dict_containers import ModuleDict, ParameterList, ParameterDict
from .sparse import Embedding
from .normalization import RMSNorm
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell
from .multihead_attention import MultiheadAttention
from .transformer import (Transformer, TransformerEncoder, TransformerDecoder,
                          TransformerEncoderLayer, TransformerDecoderLayer)

__all__ = ["functional", "init", "utils", "Module", "Parameter", "Linear", "ReLU", "LeakyReLU",
           "GELU", "Tanh", "Sigmoid", "SiLU", "Softmax", "LogSoftmax", "Dropout", "Flatten",
           "Identity", "Sequential", "ModuleList", "MSELoss", "L1Loss", "CrossEntropyLoss",
           "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "SmoothL1Loss", "HuberLoss", "KLDivLoss",
           "PoissonNLLLoss", "CosineSimilarity", "PairwiseDistance", "CosineEmbeddingLoss",
           "MarginRankingLoss", "TripletMarginLoss", "SoftMarginLoss", "MultiMarginLoss", "CTCLoss",
           "Softmin", "Softplus", "ELU", "SELU", "CELU", "Mish", "Hardtanh", "ReLU6",
           "Hardsigmoid", "Hardswish", "LogSigmoid", "Softsign", "Tanhshrink", "Threshold",
           "Softshrink", "Hardshrink", "GLU", "PReLU",
           "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d",
           "CircularPad1d", "CircularPad2d",
           "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "Unfold", "Fold",
           "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "LPPool1d", "LPPool2d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
           "MaxUnpool2d",
           "LayerNorm", "GroupNorm", "BatchNorm1d", "BatchNorm2d", "InstanceNorm1d",
           "InstanceNorm2d", "LocalResponseNorm",
           "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
           "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle",
           "PixelUnshuffle", "Unflatten",
           "ModuleDict", "ParameterList", "ParameterDict", "Embedding", "RMSNorm",
           "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
           "MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerDecoder",
           "TransformerEncoderLayer", "TransformerDecoderLayer"]
