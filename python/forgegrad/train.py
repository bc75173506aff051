"""``forgegrad.train``: the names it has always held, now defined in ``forgegrad.training``
(kept so that ``from forgegrad.train import fit, EarlyStopping`` goes on working)."""

from .training import Callback, EarlyStopping, History, ModelCheckpoint, evaluate, fit, predict

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "EarlyStopping", "ModelCheckpoint"]
