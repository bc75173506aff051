"""The metrics ``fit`` and ``evaluate`` log beside the loss, each computed over a whole epoch
from what it accumulates batch by batch (counts, sums, a confusion table), so that none is a
mean of per-batch values where that would differ.

Named metrics (``metrics=["accuracy", "f1"]``):

- ``accuracy``: argmax of (N, C) scores against class indices, or, for outputs shaped as the
  targets, the sign of logits against 0/1 targets;
- ``binary_accuracy``: logits > 0 against targets > 0.5, for outputs of any shape;
- ``top{k}_accuracy`` (``top5_accuracy``, ``top3_accuracy``, ...): the target among the k
  highest scores of (N, C) outputs;
- ``precision``, ``recall``, ``f1``: macro averages over the classes that occur among the
  targets or the predictions (predictions as for ``accuracy``), a class never predicted
  counting precision 0, as scikit-learn's ``average="macro"``;
- ``mae``, ``mse``, ``rmse``: of all output elements against the targets;
- ``r2``: the coefficient of determination of each output column, averaged over columns
  (scikit-learn's ``r2_score``).

A callable ``fn(outputs, targets) -> number`` (tensors, detached) is a metric too, logged
under its ``__name__`` (or under the key of a dict ``metrics={"name": fn}``), as the mean
over samples of its per-batch values, weighted by batch size.
"""

import math
import re
from collections.abc import Callable
from typing import Any, SupportsFloat

import numpy as np

from . import _C, _errors

__all__ = ["NAMES", "Metric", "is_known", "make", "higher_is_better", "is_fraction", "short_name"]

NAMES = (
    "accuracy",
    "binary_accuracy",
    "top5_accuracy",
    "precision",
    "recall",
    "f1",
    "mae",
    "mse",
    "rmse",
    "r2",
)
_TOP_K = re.compile(r"top(\d+)_accuracy$")
_SHORT = {
    "accuracy": "acc",
    "binary_accuracy": "bin_acc",
    "precision": "prec",
    "recall": "rec",
    "samples_per_s": "samples/s",
}

_Array = np.ndarray[Any, Any]
# A fraction metric's count of one batch: (out, tgt, name) -> (right answers, answers).
_Count = Callable[[_Array, _Array, str], tuple[int, int]]


class Metric:
    """What an epoch's metric accumulates: ``update`` per batch, ``result`` at the end.
    name: the logged key; kind: which named metric it computes (the name, unless a dict
    gave it another)."""

    def __init__(self, name: str, kind: str | None = None) -> None:
        self.name, self.kind = name, name if kind is None else kind

    def update(self, outputs: Any, targets: _C.Tensor) -> None:
        """Adds one batch's model outputs and targets."""
        raise NotImplementedError

    def result(self) -> float:
        """The value over every batch added since the metric was made."""
        raise NotImplementedError


def _rows(outputs: Any, targets: _C.Tensor, name: str) -> tuple[_Array, _Array]:
    """outputs and targets as numpy arrays (float64 outputs), one row per sample."""
    if (
        not isinstance(outputs, _C.Tensor)
        or outputs.ndim == 0
        or (outputs.shape[0] != targets.shape[0])
    ):
        got = (
            f"shape {tuple(outputs.shape)}"
            if isinstance(outputs, _C.Tensor)
            else type(outputs).__name__
        )
        raise _errors.ValueError(
            f"[fit] {name} needs outputs with one row per sample (a Tensor "
            f"of {targets.shape[0]} rows), got {got}"
        )
    return (outputs.detach().cpu().double().numpy(), targets.detach().cpu().numpy())


def _labels(out: _Array, tgt: _Array, name: str) -> tuple[_Array, _Array]:
    """Predicted and true class labels: argmax of (N, C) scores against indices, or the
    sign of logits against 0/1 targets of the outputs' shape."""
    if out.ndim == 2 and tgt.ndim == 1:
        return out.argmax(axis=1), tgt.astype(np.int64)
    if out.shape == tgt.shape:
        return (out > 0).astype(np.int64).ravel(), (tgt > 0.5).astype(np.int64).ravel()
    raise _errors.ValueError(
        f"[fit] {name} needs (N, C) scores with (N,) class indices, or "
        f"logits shaped as 0/1 targets; got outputs of shape {out.shape} "
        f"and targets of shape {tgt.shape}"
    )


class _Fraction(Metric):
    """Right answers over answers: accuracy and its kinds."""

    def __init__(self, name: str, kind: str, count: _Count) -> None:
        super().__init__(name, kind)
        self.count, self.right, self.total = count, 0, 0

    def update(self, outputs: Any, targets: _C.Tensor) -> None:
        right, total = self.count(*_rows(outputs, targets, self.name), self.name)
        self.right += right
        self.total += total

    def result(self) -> float:
        return self.right / self.total if self.total else math.nan


def _accuracy(out: _Array, tgt: _Array, name: str) -> tuple[int, int]:
    predicted, true = _labels(out, tgt, name)
    return int((predicted == true).sum()), true.size


def _binary_accuracy(out: _Array, tgt: _Array, name: str) -> tuple[int, int]:
    if out.shape != tgt.shape:
        raise _errors.ValueError(
            f"[fit] {name} needs logits shaped as the 0/1 targets, got "
            f"outputs of shape {out.shape} and targets of {tgt.shape}"
        )
    return int(((out > 0) == (tgt > 0.5)).sum()), tgt.size


def _top_k(k: int) -> _Count:
    def count(out: _Array, tgt: _Array, name: str) -> tuple[int, int]:
        if out.ndim != 2 or tgt.ndim != 1:
            raise _errors.ValueError(
                f"[fit] {name} needs (N, C) scores and (N,) class indices, "
                f"got outputs of shape {out.shape} and targets of "
                f"{tgt.shape}"
            )
        best = np.argsort(-out, axis=1, kind="stable")[:, :k]
        return int((best == tgt.astype(np.int64)[:, None]).any(axis=1).sum()), tgt.size

    return count


class _Confusion(Metric):
    """Macro precision, recall or F1 from per-class counts of true and false positives and
    false negatives."""

    def __init__(self, name: str, kind: str) -> None:
        super().__init__(name, kind)
        self.tp: dict[int, int] = {}
        self.fp: dict[int, int] = {}
        self.fn: dict[int, int] = {}

    def update(self, outputs: Any, targets: _C.Tensor) -> None:
        predicted, true = _labels(*_rows(outputs, targets, self.name), self.name)
        for label in np.union1d(predicted, true).tolist():
            hit_p, hit_t = predicted == label, true == label
            for counts, value in (
                (self.tp, hit_p & hit_t),
                (self.fp, hit_p & ~hit_t),
                (self.fn, ~hit_p & hit_t),
            ):
                counts[label] = counts.get(label, 0) + int(value.sum())

    def result(self) -> float:
        if not self.tp:
            return math.nan
        scores = []
        for label in self.tp:
            tp, fp, fn = self.tp[label], self.fp[label], self.fn[label]
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            scores.append(
                {
                    "precision": precision,
                    "recall": recall,
                    "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
                }[self.kind]
            )
        return float(np.mean(scores))


class _Errors(Metric):
    """mae, mse, rmse: sums of absolute or squared errors over all elements."""

    def __init__(self, name: str, kind: str) -> None:
        super().__init__(name, kind)
        self.total, self.count = 0.0, 0

    def update(self, outputs: Any, targets: _C.Tensor) -> None:
        out, tgt = _rows(outputs, targets, self.name)
        error = out - tgt.reshape(out.shape) if tgt.size == out.size else None
        if error is None:
            raise _errors.ValueError(
                f"[fit] {self.name} needs targets with one value per output,"
                f" got outputs of shape {out.shape} and targets of "
                f"{tgt.shape}"
            )
        self.total += float(np.abs(error).sum() if self.kind == "mae" else (error**2).sum())
        self.count += error.size

    def result(self) -> float:
        if not self.count:
            return math.nan
        mean = self.total / self.count
        return math.sqrt(mean) if self.kind == "rmse" else mean


class _R2(Metric):
    """1 - SSE / SST per output column, from sums of y, y^2 and squared errors; averaged."""

    def __init__(self, name: str, kind: str) -> None:
        super().__init__(name, kind)
        # per-column sums (arrays) once a batch came
        self.n = 0
        self.sum: float | _Array = 0.0
        self.sum_sq: float | _Array = 0.0
        self.sse: float | _Array = 0.0

    def update(self, outputs: Any, targets: _C.Tensor) -> None:
        out, tgt = _rows(outputs, targets, self.name)
        if tgt.size != out.size:
            raise _errors.ValueError(
                f"[fit] r2 needs targets with one value per output, got "
                f"outputs of shape {out.shape} and targets of {tgt.shape}"
            )
        out = out.reshape(out.shape[0], -1)
        tgt = tgt.reshape(out.shape).astype(np.float64)
        self.n += out.shape[0]
        self.sum = self.sum + tgt.sum(axis=0)
        self.sum_sq = self.sum_sq + (tgt**2).sum(axis=0)
        self.sse = self.sse + ((out - tgt) ** 2).sum(axis=0)

    def result(self) -> float:
        if self.n < 2:
            return math.nan
        sst = self.sum_sq - self.sum**2 / self.n
        # a constant column: 1 when predicted exactly, else 0 (as scikit-learn)
        per_column = np.where(
            sst > 0, 1 - self.sse / np.where(sst > 0, sst, 1), np.where(self.sse == 0, 1.0, 0.0)
        )
        return float(np.mean(per_column))


class _Callable(Metric):
    """A user's fn(outputs, targets) -> number: the batch-size-weighted mean of its values."""

    def __init__(self, name: str, fn: Callable[[Any, Any], SupportsFloat]) -> None:
        super().__init__(name)
        self.fn, self.total, self.count = fn, 0.0, 0

    def update(self, outputs: Any, targets: _C.Tensor) -> None:
        value = self.fn(outputs.detach() if isinstance(outputs, _C.Tensor) else outputs, targets)
        try:
            value = float(value)
        except (TypeError, ValueError) as error:
            raise _errors.TypeError(
                f"[fit] metric {self.name!r} must return a number (or a "
                f"one-element Tensor), got {type(value).__name__}"
            ) from error
        n = targets.shape[0] if getattr(targets, "ndim", 0) else 1
        self.total += value * n
        self.count += n

    def result(self) -> float:
        return self.total / self.count if self.count else math.nan


def is_known(name: str) -> bool:
    """Whether ``fit`` knows the metric ``name`` ('accuracy', 'top5_accuracy', 'r2', ...)."""
    return name in NAMES or bool(_TOP_K.match(name))


def make(name: str, metric: str | Callable[[Any, Any], SupportsFloat]) -> Metric:
    """A fresh accumulator logged as `name`: `metric` is a known metric's name or a
    callable fn(outputs, targets) -> number."""
    if callable(metric):
        return _Callable(name, metric)
    top = _TOP_K.match(metric)
    if top:
        return _Fraction(name, metric, _top_k(int(top.group(1))))
    if metric in ("accuracy", "binary_accuracy"):
        return _Fraction(name, metric, _accuracy if metric == "accuracy" else _binary_accuracy)
    if metric in ("precision", "recall", "f1"):
        return _Confusion(name, metric)
    if metric == "r2":
        return _R2(name, metric)
    return _Errors(name, metric)


def higher_is_better(key: str) -> bool:
    """Whether a logged key (a metric, perhaps val_) improves upward."""
    name = key[4:] if key.startswith("val_") else key
    return "acc" in name or name in ("precision", "recall", "f1", "r2")


def is_fraction(key: str) -> bool:
    """Whether a logged key is an accuracy, shown in percent."""
    name = key[4:] if key.startswith("val_") else key
    return name in ("accuracy", "binary_accuracy") or bool(_TOP_K.match(name))


def short_name(key: str) -> str:
    """The progress bar's name for a logged key: val_accuracy -> val_acc, top5_accuracy ->
    top5."""
    prefix, name = ("val_", key[4:]) if key.startswith("val_") else ("", key)
    top = _TOP_K.match(name)
    return prefix + (f"top{top.group(1)}" if top else _SHORT.get(name, name))
