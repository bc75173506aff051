"""What ``fit`` logs each epoch: the ``metrics=`` argument resolved to the accumulators of
``forgegrad.metrics``, and the totals an epoch's batches add up to (the loss per sample and
each metric over the whole epoch)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, SupportsFloat

from .. import _errors
from .. import metrics as _library
from .._C import Tensor
from ..nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss

# A metric of fit's: a name ('accuracy', 'f1', ...; see forgegrad.metrics) or a function
# (outputs, targets) -> a number; the metrics= argument: one, several, or a dict of named ones.
Metric = str | Callable[[Any, Any], SupportsFloat]
MetricsArg = Metric | Iterable[Metric] | Mapping[str, Metric] | None
# A metric resolved: (the key it is logged under, its name or callable).
Spec = tuple[str, Metric]

# What fit logs besides the metrics.
OWN_KEYS = ("epoch", "loss", "lr", "time", "samples_per_s")


def resolve(metrics: MetricsArg, loss_fn: object, op: str) -> tuple[Spec, ...]:
    """The metrics to log, as (logged name, metric name or callable) pairs: from a name, a
    callable, a list of them, or a dict {name: metric name or callable}."""
    if metrics is None:  # accuracy for the classification losses
        return (
            (("accuracy", "accuracy"),)
            if isinstance(loss_fn, (CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss))
            else ()
        )
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    if isinstance(metrics, dict):
        items = list(metrics.items())
    elif hasattr(metrics, "__iter__") and not isinstance(metrics, bytes):
        items = [(getattr(m, "__name__", None) if callable(m) else m, m) for m in metrics]
    else:
        raise _errors.TypeError(
            f"[{op}] metrics must be a metric name, a callable, or a list "
            f"or dict of them, got {metrics!r}"
        )
    specs: list[Spec] = []
    for name, metric in items:
        if (
            not isinstance(name, str)
            or name == "<lambda>"
            or (not callable(metric) and not isinstance(metric, str))
        ):
            raise _errors.TypeError(
                f"[{op}] metrics must be names or named callables (a def, "
                f"or a dict {{'name': fn}} for a lambda), got {metric!r}"
            )
        if isinstance(metric, str) and not _library.is_known(metric):
            raise _errors.ValueError(
                f"[{op}] unknown metric {metric!r}; known: "
                f"{', '.join(_library.NAMES)} (and top<k>_accuracy), "
                "or pass a callable fn(outputs, targets) -> number"
            )
        if name in OWN_KEYS or name.startswith("val_"):
            raise _errors.ValueError(
                f"[{op}] a metric cannot be named {name!r}, which fit logs itself"
            )
        specs.append((name, metric))
    names = [name for name, _ in specs]
    if len(set(names)) != len(names):
        raise _errors.ValueError(f"[{op}] metrics named twice: {names}")
    return tuple(specs)


def reduction_of(loss_fn: object, op: str) -> str:
    """How the loss of a batch combines its samples: 'mean' or 'sum' (logged per sample)."""
    reduction = getattr(loss_fn, "reduction", "mean")
    if reduction not in ("mean", "sum"):
        raise _errors.ValueError(
            f"[{op}] needs a loss that reduces a batch to one number "
            f"(reduction 'mean' or 'sum'), got reduction={reduction!r}"
        )
    return reduction


def logged_keys(metrics: Iterable[Spec], validating: bool) -> list[str]:
    """The keys of the logs fit records each epoch, in their order."""
    train = ["loss", *(name for name, _ in metrics)]
    return [
        "epoch",
        *train,
        *(f"val_{k}" for k in train if validating),
        "lr",
        "time",
        "samples_per_s",
    ]


# Whether a monitored value improves downward or upward; 'auto': by its name (accuracy: up).
Mode = Literal["auto", "min", "max"]


def monitor_mode(monitor: str, mode: Mode, op: str) -> Literal["min", "max"]:
    """'min' or 'max': whether `monitor` improves downward or upward ('auto': by its name)."""
    if mode == "auto":
        return "max" if _library.higher_is_better(monitor) else "min"
    if mode not in ("min", "max"):
        raise _errors.ValueError(f"[{op}] mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


class Totals:
    """What an epoch's batches add up to: the per-sample loss and each metric's counts."""

    def __init__(self, metrics: Iterable[Spec], reduction: str) -> None:
        self.reduction, self.samples, self.loss = reduction, 0, 0.0
        self.metrics = [_library.make(name, metric) for name, metric in metrics]

    def add(self, loss: float, inputs: Tensor, outputs: Any, targets: Tensor) -> None:
        """Adds one batch: its loss (weighted by its size when averaged) and metric counts."""
        n = inputs.shape[0] if inputs.ndim else 1
        self.samples += n
        self.loss += loss * n if self.reduction == "mean" else loss
        for metric in self.metrics:
            metric.update(outputs, targets)

    def logs(self, prefix: str = "") -> dict[str, float]:
        """The epoch's loss per sample and each metric, named with ``prefix`` ('val_')."""
        out = {prefix + "loss": self.loss / self.samples}
        for metric in self.metrics:
            out[prefix + metric.name] = metric.result()
        return out
