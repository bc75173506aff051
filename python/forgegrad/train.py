"""The training loop: ``fit`` (epochs of minibatch steps, validation, a progress bar),
``evaluate``, ``predict``, the per-epoch ``History``, and the callbacks ``EarlyStopping`` and
``ModelCheckpoint``.

    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
                  splits.train, splits.val, epochs=20)
    history.plot("curves.png")   # train against validation: overfitting shows as a gap
    history                      # in Jupyter, a table of the epochs
"""
import contextlib
import math
import os
import sys
import time

import numpy as np

from . import _C, _errors
from . import metrics as _metric_lib
from .autograd import no_grad
from .data import DataLoader, Dataset, TensorDataset
from .distributed import training as _distributed
from .distributed.process_group import rank_zero_only
from .nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss
from .nn.module import Module
from .optim.lr_scheduler import ReduceLROnPlateau
from .optim.optimizer import has_param_groups
from .serialization import save
from ._checks import as_device, is_int, is_real

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "EarlyStopping",
           "ModelCheckpoint"]


# ---------------------------------------------------------------------------- argument checks
# Where the public classes are reached from, for "pass an instance: nn.MSELoss()".
_PUBLIC_PREFIXES = (("forgegrad.nn", "nn."), ("forgegrad.optim.lr_scheduler",
                                               "optim.lr_scheduler."),
                    ("forgegrad.optim", "optim."))


def _not_a_class(value, what, op, args="(...)"):
    """A class passed where an instance belongs (nn.MSELoss for nn.MSELoss()) is a TypeError."""
    if isinstance(value, type):
        prefix = next((p for m, p in _PUBLIC_PREFIXES if value.__module__.startswith(m)), "")
        raise _errors.TypeError(f"[{op}] {what} is the class {value.__name__}; pass an instance: "
                                f"{prefix}{value.__name__}{args}")


def _check_model(model, op):
    _not_a_class(model, "model", op)
    if not (callable(model) and callable(getattr(model, "train", None))
            and callable(getattr(model, "eval", None)) and hasattr(model, "training")):
        raise _errors.TypeError(f"[{op}] model must be a Module (callable, with train(), eval() "
                                f"and training), got {type(model).__name__}")


def _check_loss_fn(loss_fn, op):
    _not_a_class(loss_fn, "loss_fn", op, args="()")
    if not callable(loss_fn):
        raise _errors.TypeError(f"[{op}] loss_fn must be callable, got {type(loss_fn).__name__}")


def _check_optimizer(optimizer):
    _not_a_class(optimizer, "optimizer", "fit")
    if (not has_param_groups(optimizer)
            or not callable(getattr(optimizer, "step", None))
            or not callable(getattr(optimizer, "zero_grad", None))):
        raise _errors.TypeError("[fit] optimizer must be an Optimizer (param_groups with 'lr', "
                                f"step() and zero_grad()), got {type(optimizer).__name__}")


def _check_scheduler(scheduler):
    if scheduler is None:
        return
    _not_a_class(scheduler, "scheduler", "fit")
    if not callable(getattr(scheduler, "step", None)):
        raise _errors.TypeError("[fit] scheduler must be an lr scheduler (with step()) or None, "
                                f"got {type(scheduler).__name__}")


_HOOKS = ("on_train_begin", "on_epoch_end", "on_train_end")


def _check_callbacks(callbacks):
    """The callbacks as a list, each checked to have the hooks fit calls."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        name = type(callbacks).__name__
        raise _errors.TypeError("[fit] callbacks must be a list of Callbacks, got a single "
                                f"{name}; pass a list: callbacks=[{name}(...)]")
    if isinstance(callbacks, (str, bytes, dict)) or not hasattr(callbacks, "__iter__"):
        raise _errors.TypeError(f"[fit] callbacks must be a list of Callbacks, got "
                                f"{type(callbacks).__name__}")
    callbacks = list(callbacks)
    for i, callback in enumerate(callbacks):
        _not_a_class(callback, f"callbacks[{i}]", "fit")
        if not all(callable(getattr(callback, hook, None)) for hook in _HOOKS):
            raise _errors.TypeError(f"[fit] callbacks[{i}] must be a Callback (with "
                                    f"{', '.join(_HOOKS)}), got {type(callback).__name__}")
    return callbacks


def _logged_keys(metrics, validating):
    """The keys of the logs fit records each epoch, in their order."""
    train = ["loss", *(name for name, _ in metrics)]
    return ["epoch", *train, *(f"val_{k}" for k in train if validating), "lr", "time",
            "samples_per_s"]


def _check_monitors(callbacks, metrics, validating):
    """Every callback that watches a logged value must watch one fit logs."""
    logged = _logged_keys(metrics, validating)
    for callback in callbacks:
        monitor = callback._monitored() if isinstance(callback, Callback) else None
        if monitor is None or monitor in logged:
            continue
        name = type(callback).__name__
        if monitor.startswith("val_") and not validating and monitor[4:] in logged:
            raise _errors.ValueError(f"[fit] {name} monitors {monitor!r}, which fit logs only with "
                                     f"val_data; pass val_data to fit, or monitor {monitor[4:]!r}")
        raise _errors.ValueError(f"[fit] {name} monitors {monitor!r}, which fit does not log; it "
                                 f"logs {logged}")


def _pair(batch, op, device=None):
    """A batch as (inputs, targets), its tensors moved to `device` when one is given."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch if device is None else tuple(_moved(t, device) for t in batch)
    what = type(batch).__name__
    if isinstance(batch, (tuple, list)):
        what += f" of {len(batch)}"
    raise _errors.ValueError(f"[{op}] expected batches of (inputs, targets), got a {what}")


def _moved(value, device):
    return value.to(device) if isinstance(value, _C.Tensor) and value.device != device else value


def _model_device(model):
    """Where the model's parameters are (the first one's device), or None without any."""
    if isinstance(model, Module):
        for p in model.parameters():
            return p.device
    return None


def _check_loss(loss):
    if not isinstance(loss, _C.Tensor):
        raise _errors.TypeError(f"[fit] loss_fn must return a Tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise _errors.ValueError("[fit] loss_fn must return one number (a one-element Tensor), got "
                                 f"shape {tuple(loss.shape)}")


def _try_first_batches(model, loss_fn, loaders, metrics, reduction, device):
    """Run the model and the loss once on the first batch of each loader (in dataset order:
    no epoch, shuffle or random number is used up), in eval mode without gradients, so that
    a model, loss, metrics and data that do not fit together fail before training changes
    anything. The train/eval mode of every module is put back."""
    with _inference(model):
        for loader in loaders:
            inputs, targets = _pair(loader._first_batch(), "fit", device)
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            _check_loss(loss)
            _Totals(metrics, reduction).add(loss.item(), inputs, outputs, targets)


@contextlib.contextmanager
def _inference(model):
    """Eval mode without gradients; afterwards every module has its own train/eval mode back
    (not one flag for all, which would undo a submodule the user froze in eval mode)."""
    modules = list(model.modules()) if isinstance(model, Module) else [model]
    modes = [(m, m.training) for m in modules]
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        for module, mode in modes:
            module.training = mode


# ---------------------------------------------------------------------------- data and metrics
def _loader(data, batch_size, shuffle, seed, op, distributed=False):
    """A DataLoader from a DataLoader, a Dataset, or an (inputs, targets) pair of arrays;
    `distributed`: over this rank's shard (distributed/training.py)."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, tuple):
        data = TensorDataset(*data)
    if not isinstance(data, Dataset) and not (hasattr(data, "__getitem__")
                                              and hasattr(data, "__len__")):
        raise _errors.TypeError(f"[{op}] expected a DataLoader, a Dataset or an (inputs, targets) "
                                f"tuple, got {type(data).__name__}")
    if distributed:
        return DataLoader(data, batch_size=batch_size,
                          sampler=_distributed.sampler_for(data, shuffle, seed))
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)


def _metrics(metrics, loss_fn, op):
    """The metrics to log, as (logged name, metric name or callable) pairs: from a name, a
    callable, a list of them, or a dict {name: metric name or callable}."""
    if metrics is None:  # accuracy for the classification losses
        return (("accuracy", "accuracy"),) if isinstance(loss_fn, (CrossEntropyLoss, NLLLoss,
                                                             BCEWithLogitsLoss)) else ()
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    if isinstance(metrics, dict):
        items = list(metrics.items())
    elif hasattr(metrics, "__iter__") and not isinstance(metrics, bytes):
        items = [(getattr(m, "__name__", None) if callable(m) else m, m) for m in metrics]
    else:
        raise _errors.TypeError(f"[{op}] metrics must be a metric name, a callable, or a list "
                                f"or dict of them, got {metrics!r}")
    specs = []
    for name, metric in items:
        if not isinstance(name, str) or name == "<lambda>" or (
                not callable(metric) and not isinstance(metric, str)):
            raise _errors.TypeError(f"[{op}] metrics must be names or named callables (a def, "
                                    f"or a dict {{'name': fn}} for a lambda), got {metric!r}")
        if isinstance(metric, str) and not _metric_lib.is_known(metric):
            raise _errors.ValueError(f"[{op}] unknown metric {metric!r}; known: "
                                     f"{', '.join(_metric_lib.NAMES)} (and top<k>_accuracy), "
                                     "or pass a callable fn(outputs, targets) -> number")
        if name in _OWN_KEYS or name.startswith("val_"):
            raise _errors.ValueError(f"[{op}] a metric cannot be named {name!r}, which fit logs "
                                     "itself")
        specs.append((name, metric))
    names = [name for name, _ in specs]
    if len(set(names)) != len(names):
        raise _errors.ValueError(f"[{op}] metrics named twice: {names}")
    return tuple(specs)


def _reduction(loss_fn, op):
    """How the loss of a batch combines its samples: 'mean' or 'sum' (logged per sample)."""
    reduction = getattr(loss_fn, "reduction", "mean")
    if reduction not in ("mean", "sum"):
        raise _errors.ValueError(f"[{op}] needs a loss that reduces a batch to one number "
                                 f"(reduction 'mean' or 'sum'), got reduction={reduction!r}")
    return reduction


class _Totals:
    """What an epoch's batches add up to: the per-sample loss and each metric's counts."""

    def __init__(self, metrics, reduction):
        self.reduction, self.samples, self.loss = reduction, 0, 0.0
        self.metrics = [_metric_lib.make(name, metric) for name, metric in metrics]

    def add(self, loss, inputs, outputs, targets):
        n = inputs.shape[0] if inputs.ndim else 1
        self.samples += n
        self.loss += loss * n if self.reduction == "mean" else loss
        for metric in self.metrics:
            metric.update(outputs, targets)

    def logs(self, prefix=""):
        out = {prefix + "loss": self.loss / self.samples}
        for metric in self.metrics:
            out[prefix + metric.name] = metric.result()
        return out


# ---------------------------------------------------------------------------- history
class History:
    """Per-epoch records: ``history.epochs`` is a list of dicts (epoch, loss, val_loss,
    accuracy, val_accuracy, lr, time, samples_per_s); ``history["val_loss"]`` is one column.
    ``restored_epoch``: the epoch whose weights EarlyStopping restored, or None."""

    def __init__(self):
        self.epochs = []
        self.stopped_early = False
        self.interrupted = False
        self.restored_epoch = None  # the epoch whose weights EarlyStopping put back

    def __getitem__(self, key):
        return [record.get(key) for record in self.epochs]

    def __len__(self):
        return len(self.epochs)

    @property
    def history(self):
        keys = dict.fromkeys(k for record in self.epochs for k in record)
        return {k: self[k] for k in keys}

    def best_epoch(self, monitor="val_loss", mode="auto"):
        values = [(v, i) for i, v in enumerate(self[monitor]) if v is not None]
        if not values:
            raise _errors.ValueError(f"[History] no values recorded for {monitor!r}")
        pick = max if _mode(monitor, mode, "History") == "max" else min
        return self.epochs[pick(values)[1]]["epoch"]

    def plot(self, path=None, *, title=None):
        """Train against validation loss and each metric per epoch (accuracies in percent),
        on a new matplotlib Figure; the epoch whose weights early stopping restored is
        marked. The Figure is returned (Jupyter shows it) and saved to `path` when one is
        given. pyplot and the matplotlib backend are not touched."""
        try:
            from matplotlib.figure import Figure
        except ImportError as error:
            raise ImportError('[History.plot] needs matplotlib: pip install "forgegrad[plot]"'
                              ) from error
        if not self.epochs:
            raise _errors.ValueError("[History.plot] nothing to plot: no epoch has run")
        names = ["loss"] + self._metric_names()
        figure = Figure(figsize=(5 * len(names), 4))
        axes = figure.subplots(1, len(names), squeeze=False)[0]
        epochs = self["epoch"]
        for ax, name in zip(axes, names):
            scale = 100 if _metric_lib.is_fraction(name) else 1
            for key, label in ((name, "train"), ("val_" + name, "validation")):
                values = self[key]
                if any(v is not None for v in values):
                    ax.plot(epochs, [math.nan if v is None else v * scale for v in values],
                            marker="o", label=label)
            if self.restored_epoch is not None:
                ax.axvline(self.restored_epoch, color="gray", linestyle="--",
                           label=f"restored (epoch {self.restored_epoch})")
            ax.set_xlabel("epoch")
            ax.set_ylabel(f"{name} (%)" if scale == 100 else name)
            ax.set_title(name)
            ax.grid(alpha=0.3)
            ax.legend()
        figure.suptitle(title if title is not None else self._title())
        figure.tight_layout()
        if path is not None:
            figure.savefig(os.fspath(path), dpi=100)
        return figure

    def _metric_names(self):
        """The logged metrics (not loss, lr, time, ...), without their val_ twins."""
        return [k for k in self.epochs[0] if k not in _OWN_KEYS and not k.startswith("val_")]

    def _title(self):
        ending = (", stopped early" if self.stopped_early else
                  ", interrupted" if self.interrupted else "")
        return f"Training history: {len(self.epochs)} epochs{ending}"

    def _summary_items(self):
        """(key, text) of the last epoch's values, for repr and the notebook table."""
        last = self.epochs[-1]
        return [(k, _number(k, v)) for k, v in last.items() if k not in ("epoch", "time")]

    def __repr__(self):
        parts = [f"{len(self.epochs)} epochs"]
        if self.restored_epoch is not None:
            parts.append(f"restored epoch {self.restored_epoch}")
        if self.stopped_early:
            parts.append("stopped early")
        if self.interrupted:
            parts.append("interrupted")
        if self.epochs:
            parts.append("last: " + ", ".join(f"{k}={text}" for k, text in self._summary_items()))
        return f"History({'; '.join(parts)})"

    def _repr_html_(self):
        """A table of the epochs, for Jupyter; the restored epoch in bold."""
        import html
        if not self.epochs:
            return f"<p>{html.escape(repr(self))}</p>"
        keys = list(dict.fromkeys(k for record in self.epochs for k in record))
        head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        rows = []
        for record in self.epochs:
            cells = "".join(
                "<td>{}</td>".format("" if record.get(k) is None else html.escape(
                    str(record[k]) if k == "epoch" else _number(k, record[k]))) for k in keys)
            bold = ' style="font-weight:bold"' if record["epoch"] == self.restored_epoch else ""
            rows.append(f"<tr{bold}>{cells}</tr>")
        return (f"<p>{html.escape(self._title())}</p><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")


# What fit logs besides the metrics.
_OWN_KEYS = ("epoch", "loss", "lr", "time", "samples_per_s")


# ---------------------------------------------------------------------------- callbacks
class Callback:
    """Hooks ``fit`` calls. ``on_epoch_end`` returns True to stop training."""

    def on_train_begin(self, model, optimizer):
        pass

    def on_epoch_end(self, epoch, logs, model, optimizer):
        return False

    def on_train_end(self, model, optimizer):
        pass

    def _monitored(self):
        """The logged value this callback needs (fit checks it is logged), or None."""
        return None


def _check_monitor(monitor, op):
    if not isinstance(monitor, str):
        raise _errors.TypeError(f"[{op}] monitor must be the name of a logged value such as "
                                f"'val_loss', got {monitor!r}")
    return monitor


def _mode(monitor, mode, op):
    if mode == "auto":
        return "max" if _metric_lib.higher_is_better(monitor) else "min"
    if mode not in ("min", "max"):
        raise _errors.ValueError(f"[{op}] mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


class _Monitor:
    """Tracks the best value of one logged quantity."""

    def __init__(self, monitor, mode, min_delta, op):
        self.monitor, self.op = monitor, op
        self.mode = _mode(monitor, mode, op)
        self.min_delta = abs(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, logs):
        if self.monitor not in logs:
            raise _errors.ValueError(f"[{self.op}] monitors {self.monitor!r}, which is not logged "
                                     f"(logged: {sorted(logs)}); pass val_data to fit for val_ "
                                     "values")
        value = logs[self.monitor]
        better = (value < self.best - self.min_delta if self.mode == "min"
                  else value > self.best + self.min_delta)
        if better:
            self.best = value
        return better


def _snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs; with restore_best, the
    model ends with the weights of its best epoch (also when training ran to the end)."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best=True):
        if not is_int(patience) or patience < 0:
            raise _errors.ValueError("[EarlyStopping] patience must be an int >= 0, got "
                                     f"{patience!r}")
        if not is_real(min_delta):
            raise _errors.TypeError("[EarlyStopping] min_delta must be a number, got "
                                    f"{min_delta!r}")
        if not math.isfinite(min_delta):
            raise _errors.ValueError(f"[EarlyStopping] min_delta must be finite, got {min_delta!r}")
        self.monitor = _check_monitor(monitor, "EarlyStopping")
        self.mode, self.min_delta = mode, min_delta
        self.patience, self.restore_best = patience, restore_best
        self.on_train_begin(None, None)

    def on_train_begin(self, model, optimizer):  # each fit starts afresh
        self.tracker = _Monitor(self.monitor, self.mode, self.min_delta, "EarlyStopping")
        self.best_epoch, self.best_weights, self.wait, self.restored = None, None, 0, False

    def _monitored(self):
        return self.monitor

    def on_epoch_end(self, epoch, logs, model, optimizer):
        if self.tracker.improved(logs):
            self.best_epoch, self.wait = epoch, 0
            if self.restore_best:
                self.best_weights = _snapshot(model)
            return False
        self.wait += 1
        return self.wait >= self.patience  # `patience` epochs in a row without improvement

    def on_train_end(self, model, optimizer):
        self.restored = self.restore_best and self.best_weights is not None
        if self.restored:
            model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model's state dict to `path` (a safetensors file, written atomically) after
    each epoch, or only when `monitor` improves with save_best_only. `path` may hold
    ``{epoch}``, formatted per save; its directory must exist when training begins."""

    def __init__(self, path, monitor="val_loss", save_best_only=True, mode="auto"):
        path = os.fspath(path) if isinstance(path, os.PathLike) else path
        if not isinstance(path, str):
            raise _errors.TypeError(f"[ModelCheckpoint] path must be a str or os.PathLike, got "
                                    f"{type(path).__name__}")
        try:
            path.format(epoch=1)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
            raise _errors.ValueError(f"[ModelCheckpoint] path {path!r} may hold {{epoch}} and no "
                                     f"other braces (double them: {{{{ }}}}); formatting it gave "
                                     f"{type(error).__name__}: {error}") from None
        self.path, self.save_best_only = path, save_best_only
        self.monitor, self.mode = _check_monitor(monitor, "ModelCheckpoint"), mode
        self._reset()

    def _reset(self):
        self.tracker = _Monitor(self.monitor, self.mode, 0.0, "ModelCheckpoint")
        self.saved = []

    def _monitored(self):
        return self.monitor if self.save_best_only else None

    def on_train_begin(self, model, optimizer):  # each fit starts afresh
        self._reset()
        if not rank_zero_only():  # only rank 0 writes (distributed/training.py)
            return
        first = self.path.format(epoch=1)
        directory = os.path.dirname(first) or "."
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"[ModelCheckpoint] the directory {directory!r} of "
                                    f"{self.path!r} does not exist; create it first")
        if os.path.isdir(first):
            raise _errors.ValueError(f"[ModelCheckpoint] path {first!r} is a directory; give a "
                                     "file name in it, such as 'model.safetensors'")

    def on_epoch_end(self, epoch, logs, model, optimizer):
        if not self.save_best_only or self.tracker.improved(logs):
            path = self.path.format(epoch=epoch)
            if rank_zero_only():
                save(model.state_dict(), path)
            _distributed.checkpoint_written()
            self.saved.append(path)
        return False


# ---------------------------------------------------------------------------- the loop
def _progress(loader, epoch, epochs, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=len(loader), desc=f"epoch {epoch}/{epochs}", unit="batch",
                dynamic_ncols=True, leave=True)


def _number(key, value):
    """A logged value as the progress bar and summary show it, in a fixed format."""
    if _metric_lib.is_fraction(key):
        return f"{value:.2%}"
    if key == "samples_per_s":
        return f"{value:.0f}"
    if value != 0 and not 1e-3 <= abs(value) < 1e5:
        return f"{value:.3e}"
    return f"{value:.4f}"


def _postfix(logs):
    """The bar's postfix: short names, fixed precision."""
    return {_metric_lib.short_name(key): _number(key, value) for key, value in logs.items()
            if key not in ("epoch", "time", "lr")}


_WIDTH = 80  # the summary wraps to fit a terminal of this many columns


def _summary(logs, epochs, show_lr):
    """The line(s) printed after an epoch, each at most 80 columns: the epoch, each logged
    value by its short name (validation next to training), the lr if a scheduler moves it,
    and the time; wrapped, indented, where one line would not hold them."""
    items = [f"epoch {logs['epoch']}/{epochs}"]
    items += [f"{_metric_lib.short_name(k)} {_number(k, v)}" for k, v in logs.items()
              if k not in ("epoch", "lr", "time", "samples_per_s")]
    if show_lr:
        items.append(f"lr {logs['lr']:.3g}")
    items.append(f"{logs['time']:.1f}s")
    lines, line = [], ""
    for item in items:
        item = item[:_WIDTH - 2]
        if line and len(line) + 3 + len(item) > _WIDTH:
            lines.append(line)
            line = "  " + item
        else:
            line = f"{line} - {item}" if line else item
    return "\n".join(lines + [line])


def fit(model, loss_fn, optimizer, train_data, val_data=None, epochs=10, *, batch_size=64,
        scheduler=None, callbacks=(), metrics=None, progress=True, seed=None, initial_epoch=0,
        device=None, verbose=1):
    """Train `model` on `train_data` through epoch `epochs`; returns a History.

    train_data / val_data: DataLoaders, Datasets or (inputs, targets) arrays (wrapped in
    DataLoaders of `batch_size`, the training one shuffled with `seed`). metrics: what to
    log beside the loss: names ('accuracy', 'top5_accuracy', 'f1', 'mae', 'r2', ...; see
    forgegrad.metrics), callables fn(outputs, targets) -> number, or a dict {name: either};
    default accuracy for the classification losses. Each is computed over the whole epoch.
    verbose: 1 (default) shows a progress bar (with `progress`, needs tqdm) and one summary
    line per epoch, 2 only the summary lines, 0 nothing; all on stderr. scheduler:
    stepped once per epoch (ReduceLROnPlateau with val_loss, or loss without val_data).
    initial_epoch: resume a run after that many epochs (load the model, optimizer and
    scheduler states, and set_rng_state, first): training runs epochs initial_epoch + 1 ..
    epochs, with the training loader moved to that epoch's shuffle.
    device: train there ('cuda', say): the model is moved first (its Parameters stay the
    same objects, so the optimizer follows). Batches go to the model's device either way.
    Ctrl-C ends training cleanly where it is (the unfinished epoch is not logged): the
    History so far comes back with ``interrupted`` set, and callbacks still finish
    (EarlyStopping restores weights).
    Before the first step fit checks its arguments (callbacks must monitor values it logs)
    and runs the model and the loss once on the first batch of train_data and of val_data,
    in eval mode without gradients: a setup mistake raises before training changes anything.
    Distributed: when forgegrad.distributed's process group is up with 2 ranks or more
    (``mpiexec -n 4 ...``), fit trains the model wrapped in DistributedDataParallel on each
    rank's shard of the data (batch_size per rank), averages the logged values over the
    ranks, and shows, prints and saves checkpoints on rank 0 only (see
    forgegrad/distributed/training.py).
    """
    for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if not is_int(value) or value < 0:
            raise _errors.ValueError(f"[fit] {name} must be an int >= 0, got {value!r}")
    if initial_epoch > epochs:
        raise _errors.ValueError(f"[fit] initial_epoch ({initial_epoch}) is past epochs ({epochs})")
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise _errors.ValueError(f"[fit] verbose must be 0 (silent), 1 (progress bar and a line "
                                 f"per epoch) or 2 (a line per epoch), got {verbose!r}")
    # Everything is checked before the first training step, so that a mistake in the setup
    # fails at once and leaves the model, the optimizer and the loaders as they were.
    _check_model(model, "fit")
    device = as_device(device, "fit")
    _check_loss_fn(loss_fn, "fit")
    _check_optimizer(optimizer)
    _check_scheduler(scheduler)
    callbacks = _check_callbacks(callbacks)
    metrics = _metrics(metrics, loss_fn, "fit")
    reduction = _reduction(loss_fn, "fit")
    _check_monitors(callbacks, metrics, val_data is not None)
    distributed = _distributed.active()
    if not rank_zero_only():
        verbose = 0  # rank 0 reports for all
    train_loader = _loader(train_data, batch_size, True, seed, "fit", distributed)
    val_loader = None if val_data is None else _loader(val_data, batch_size, False, None, "fit",
                                                       distributed)
    loaders = [loader for loader in (train_loader, val_loader) if loader is not None]
    for name, loader in zip(("train_data", "val_data"), loaders):
        if len(loader) == 0:
            raise _errors.ValueError(f"[fit] {name} yields no batches ({len(loader.dataset)} "
                                     f"samples, batch_size={loader.batch_size}, "
                                     f"drop_last={loader.drop_last})")
    history = History()
    home = _model_device(model)
    if device is not None and home is not None and device != home:
        model.to(device)
    device = device if device is not None else home  # where the batches go
    try:
        _try_first_batches(model, loss_fn, loaders, metrics, reduction, device)
    except KeyboardInterrupt:  # nothing has started: an empty History
        history.interrupted = True
        return history
    except BaseException:
        if home is not None and _model_device(model) != home:
            model.to(home)  # a failed setup leaves the model where it was
        raise
    if initial_epoch or train_loader is not train_data:  # a loader of the caller's continues
        train_loader.set_epoch(initial_epoch)
    trained = _distributed.wrap(model) if distributed else model
    for callback in callbacks:
        callback.on_train_begin(model, optimizer)
    try:
        for epoch in range(initial_epoch + 1, epochs + 1):
            bar = _progress(train_loader, epoch, epochs, progress and verbose == 1)
            try:  # Ctrl-C anywhere in the epoch (training, validation, callbacks) ends cleanly
                start = time.perf_counter()
                _distributed.set_epoch(train_loader, epoch)
                totals = _train_epoch(trained, loss_fn, optimizer, train_loader, metrics,
                                      reduction, epoch, bar, device)
                elapsed = time.perf_counter() - start
                train_logs, samples = totals.logs(), totals.samples
                if distributed:
                    train_logs, samples, elapsed = _distributed.averaged(train_logs, samples,
                                                                         elapsed)
                logs = {"epoch": epoch, **train_logs}
                if val_loader is not None:
                    logs.update({f"val_{k}": v for k, v in
                                 _validation(trained, loss_fn, val_loader, metrics, reduction,
                                             device, distributed).items()})
                logs.update(lr=optimizer.param_groups[0]["lr"], time=elapsed,
                            samples_per_s=samples / elapsed if elapsed > 0 else math.inf)
                history.epochs.append(logs)
                if bar is not None:  # the bar ends on the training numbers; the summary
                    bar.set_postfix(_postfix(totals.logs()), refresh=False)  # has them all
                    bar.close()
                if verbose:
                    # stderr, with the bar: stdout stays the program's own output
                    print(_summary(logs, epochs, scheduler is not None), file=sys.stderr,
                          flush=True)
                if scheduler is not None:
                    if isinstance(scheduler, ReduceLROnPlateau):
                        scheduler.step(logs.get("val_loss", logs["loss"]))
                    else:
                        scheduler.step()
                stop = [c.on_epoch_end(epoch, logs, model, optimizer) for c in callbacks]
                if distributed:
                    stop = [_distributed.agree(any(stop))]
            except KeyboardInterrupt:
                history.interrupted = True
                break
            finally:
                if bar is not None:
                    bar.close()  # a no-op when already closed
            if any(stop):
                history.stopped_early = True
                break
    finally:
        for callback in callbacks:
            callback.on_train_end(model, optimizer)
            if isinstance(callback, EarlyStopping) and callback.restored:
                history.restored_epoch = callback.best_epoch
    return history


def _train_epoch(model, loss_fn, optimizer, loader, metrics, reduction, epoch, bar, device):
    model.train()
    totals = _Totals(metrics, reduction)
    start = shown = time.perf_counter()
    for batch, pair in enumerate(loader, 1):
        inputs, targets = _pair(pair, "fit", device)
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        value = loss.item()
        if not math.isfinite(value):  # stop before the step spreads it into the weights
            raise RuntimeError(f"[fit] the training loss became {value} in epoch {epoch}, "
                               f"batch {batch}; the model holds the weights before that "
                               "batch. Lower the learning rate or clip gradients")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        totals.add(value, inputs, outputs, targets)
        if bar is not None:
            bar.update(1)
            now = time.perf_counter()
            if now - shown > 0.2:  # formatting every batch would cost more than small steps
                shown = now
                rate = totals.samples / (now - start)
                bar.set_postfix(_postfix({**totals.logs(), "samples_per_s": rate}), refresh=False)
    return totals


def evaluate(model, loss_fn, data, metrics=None, batch_size=256):
    """Loss per sample (and metrics) of `model` over `data`, in eval mode, without
    gradients; the model's train/eval mode is restored afterwards. Batches go to the
    model's device."""
    _check_model(model, "evaluate")
    _check_loss_fn(loss_fn, "evaluate")
    loader = _loader(data, batch_size, False, None, "evaluate")
    if len(loader) == 0:
        raise _errors.ValueError("[evaluate] got no data to evaluate on")
    return _evaluate(model, loss_fn, loader, _metrics(metrics, loss_fn, "evaluate"),
                     _reduction(loss_fn, "evaluate"), _model_device(model))


def _evaluate(model, loss_fn, loader, metrics, reduction, device):
    return _evaluation_totals(model, loss_fn, loader, metrics, reduction, device).logs()


def _evaluation_totals(model, loss_fn, loader, metrics, reduction, device):
    totals = _Totals(metrics, reduction)
    with _inference(model):
        for batch in loader:
            inputs, targets = _pair(batch, "evaluate", device)
            outputs = model(inputs)
            totals.add(loss_fn(outputs, targets).item(), inputs, outputs, targets)
    return totals


def _validation(trained, loss_fn, loader, metrics, reduction, device, distributed):
    """The validation logs of an epoch; distributed, of this rank's shard averaged over the
    ranks, with rank 0's buffers (BatchNorm statistics) on every rank first."""
    if not distributed:
        return _evaluate(trained, loss_fn, loader, metrics, reduction, device)
    trained._sync_buffers()
    totals = _evaluation_totals(_distributed.unwrap(trained), loss_fn, loader, metrics,
                                reduction, device)
    return _distributed.averaged(totals.logs(), totals.samples, 0.0)[0]


def predict(model, data, batch_size=256):
    """`model`'s outputs for `data` (an array or Tensor of inputs, a Dataset whose first
    column is the inputs, or a DataLoader), batch by batch in eval mode (on the model's
    device), as one Tensor on the CPU."""
    _check_model(model, "predict")
    if isinstance(data, (np.ndarray, _C.Tensor)):
        data = TensorDataset(data)
    loader = _loader(data, batch_size, False, None, "predict")
    device = _model_device(model)
    outputs = []
    with _inference(model):
        for batch in loader:
            inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
            output = model(inputs if device is None else _moved(inputs, device))
            if not isinstance(output, _C.Tensor) or output.ndim == 0:
                raise _errors.ValueError(
                    "[predict] expected the model to return a Tensor with one "
                    "row per input, got "
                    + (f"shape {tuple(output.shape)}"
                       if isinstance(output, _C.Tensor) else type(output).__name__))
            outputs.append(output.cpu().numpy())
    if not outputs:
        raise _errors.ValueError("[predict] got no inputs")
    return _C.from_numpy(np.concatenate(outputs))
