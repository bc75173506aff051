"""Callbacks: hooks ``fit`` calls at the start, after each epoch and at the end.
``EarlyStopping`` stops when a logged value stops improving (and puts the best weights
back); ``ModelCheckpoint`` saves the model's state dict after epochs."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

from .. import _C, _errors
from .._checks import is_int, is_real
from ..distributed import training as _distributed
from ..distributed.process_group import rank_zero_only
from ..serialization import save
from .metrics import Mode, monitor_mode

if TYPE_CHECKING:
    from ..nn.module import Module
    from ..optim.optimizer import Optimizer


class Callback:
    """Hooks ``fit`` calls. ``on_epoch_end`` returns True to stop training; ``logs`` are the
    epoch's logged values by name (epoch, loss, val_loss, accuracy, lr, time, ...)."""

    def on_train_begin(self, model: Module, optimizer: Optimizer) -> None:
        """Called once by ``fit`` before the first epoch."""

    def on_epoch_end(
        self, epoch: int, logs: dict[str, float], model: Module, optimizer: Optimizer
    ) -> bool:
        """Called after each epoch (validation included); True stops training."""
        return False

    def on_train_end(self, model: Module, optimizer: Optimizer) -> None:
        """Called once by ``fit`` after the last epoch, also when a callback stopped it."""

    def _monitored(self) -> str | None:
        """The logged value this callback needs (fit checks it is logged), or None."""
        return None


def _check_monitor(monitor: str, op: str) -> str:
    if not isinstance(monitor, str):
        raise _errors.TypeError(
            f"[{op}] monitor must be the name of a logged value such as 'val_loss', got {monitor!r}"
        )
    return monitor


class _Monitor:
    """Tracks the best value of one logged quantity."""

    def __init__(self, monitor: str, mode: Mode, min_delta: float, op: str) -> None:
        self.monitor, self.op = monitor, op
        self.mode = monitor_mode(monitor, mode, op)
        self.min_delta = abs(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, logs: dict[str, float]) -> bool:
        if self.monitor not in logs:
            raise _errors.ValueError(
                f"[{self.op}] monitors {self.monitor!r}, which is not logged "
                f"(logged: {sorted(logs)}); pass val_data to fit for val_ "
                "values"
            )
        value = logs[self.monitor]
        better = (
            value < self.best - self.min_delta
            if self.mode == "min"
            else value > self.best + self.min_delta
        )
        if better:
            self.best = value
        return better


def _snapshot(model: Module) -> dict[str, _C.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs; with restore_best, the
    model ends with the weights of its best epoch (also when training ran to the end)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: Mode = "auto",
        restore_best: bool = True,
    ) -> None:
        if not is_int(patience) or patience < 0:
            raise _errors.ValueError(
                f"[EarlyStopping] patience must be an int >= 0, got {patience!r}"
            )
        if not is_real(min_delta):
            raise _errors.TypeError(
                f"[EarlyStopping] min_delta must be a number, got {min_delta!r}"
            )
        if not math.isfinite(min_delta):
            raise _errors.ValueError(f"[EarlyStopping] min_delta must be finite, got {min_delta!r}")
        self.monitor = _check_monitor(monitor, "EarlyStopping")
        self.mode, self.min_delta = mode, min_delta
        self.patience, self.restore_best = patience, restore_best
        self._reset()

    def _reset(self) -> None:
        self.tracker = _Monitor(self.monitor, self.mode, self.min_delta, "EarlyStopping")
        self.best_epoch: int | None = None
        self.best_weights: dict[str, _C.Tensor] | None = None
        self.wait, self.restored = 0, False

    def on_train_begin(self, model: Module, optimizer: Optimizer) -> None:
        self._reset()  # each fit starts afresh

    def _monitored(self) -> str | None:
        return self.monitor

    def on_epoch_end(
        self, epoch: int, logs: dict[str, float], model: Module, optimizer: Optimizer
    ) -> bool:
        if self.tracker.improved(logs):
            self.best_epoch, self.wait = epoch, 0
            if self.restore_best:
                self.best_weights = _snapshot(model)
            return False
        self.wait += 1
        return self.wait >= self.patience  # `patience` epochs in a row without improvement

    def on_train_end(self, model: Module, optimizer: Optimizer) -> None:
        self.restored = self.restore_best and self.best_weights is not None
        if self.best_weights is not None and self.restored:
            model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model's state dict to `path` (a safetensors file, written atomically) after
    each epoch, or only when `monitor` improves with save_best_only. `path` may hold
    ``{epoch}``, formatted per save; its directory must exist when training begins."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = True,
        mode: Mode = "auto",
    ) -> None:
        path = os.fspath(path) if isinstance(path, os.PathLike) else path
        if not isinstance(path, str):
            raise _errors.TypeError(
                f"[ModelCheckpoint] path must be a str or os.PathLike, got {type(path).__name__}"
            )
        try:
            path.format(epoch=1)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
            raise _errors.ValueError(
                f"[ModelCheckpoint] path {path!r} may hold {{epoch}} and no "
                f"other braces (double them: {{{{ }}}}); formatting it gave "
                f"{type(error).__name__}: {error}"
            ) from None
        self.path, self.save_best_only = path, save_best_only
        self.monitor, self.mode = _check_monitor(monitor, "ModelCheckpoint"), mode
        self._reset()

    def _reset(self) -> None:
        self.tracker = _Monitor(self.monitor, self.mode, 0.0, "ModelCheckpoint")
        self.saved: list[str] = []  # the paths written, in order

    def _monitored(self) -> str | None:
        return self.monitor if self.save_best_only else None

    def on_train_begin(self, model: Module, optimizer: Optimizer) -> None:  # each fit afresh
        self._reset()
        if not rank_zero_only():  # only rank 0 writes (distributed/training.py)
            return
        first = self.path.format(epoch=1)
        directory = os.path.dirname(first) or "."
        if not os.path.isdir(directory):
            raise FileNotFoundError(
                f"[ModelCheckpoint] the directory {directory!r} of "
                f"{self.path!r} does not exist; create it first"
            )
        if os.path.isdir(first):
            raise _errors.ValueError(
                f"[ModelCheckpoint] path {first!r} is a directory; give a "
                "file name in it, such as 'model.safetensors'"
            )

    def on_epoch_end(
        self, epoch: int, logs: dict[str, float], model: Module, optimizer: Optimizer
    ) -> bool:
        if not self.save_best_only or self.tracker.improved(logs):
            path = self.path.format(epoch=epoch)
            if rank_zero_only():
                save(model.state_dict(), path)
            _distributed.checkpoint_written()
            self.saved.append(path)
        return False
