"""Optimizers (``SGD``, ``Adam``, ``AdamW``, ``Adamax``, ``NAdam``, ``RAdam``, ``RMSprop``,
``Adagrad``, ``Adadelta``) with fused C++ updates, and learning-rate schedules
(``lr_scheduler``), as ``torch.optim``."""

from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW, Adamax, NAdam, RAdam
from .rmsprop import RMSprop, Adagrad, Adadelta
from . import lr_scheduler

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "lr_scheduler",
]
