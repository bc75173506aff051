"""Optimizers (``SGD``, ``Adam``, ``AdamW``) with fused C++ updates, and learning-rate
schedules (``lr_scheduler``), as ``torch.optim``."""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
