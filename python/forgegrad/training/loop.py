"""The training loop: ``fit`` (epochs of minibatch steps, validation, a progress bar),
``evaluate`` and ``predict``. Each reads top to bottom: check the arguments, make the
loaders, try the first batches, then run."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import _C, _errors
from .._checks import as_device
from ..data import TensorDataset
from ..distributed import training as _distributed
from ..distributed.process_group import rank_zero_only
from ..nn.module import Module
from ..optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
from ..optim.optimizer import Optimizer
from . import checks
from .batches import Data, batch_count, inference, loader_for, model_device, moved, pair
from .callbacks import Callback, EarlyStopping
from .history import History
from .metrics import MetricsArg, Totals, reduction_of, resolve
from .report import postfix, progress_bar, summary

# A loss: (the model's outputs, the targets) -> a one-element Tensor, such as nn.MSELoss().
LossFn = Callable[[Any, Any], _C.Tensor]


def fit(
    model: Module,
    loss_fn: LossFn,
    optimizer: Optimizer,
    train_data: Data,
    val_data: Data | None = None,
    epochs: int = 10,
    *,
    batch_size: int = 64,
    scheduler: LRScheduler | None = None,
    callbacks: Iterable[Callback] = (),
    metrics: MetricsArg = None,
    progress: bool = True,
    seed: int | None = None,
    initial_epoch: int = 0,
    device: _C.device | str | None = None,
    verbose: int = 1,
) -> History:
    """Train `model` on `train_data` through epoch `epochs`; returns a History.

    train_data / val_data: DataLoaders, Datasets or (inputs, targets) arrays (wrapped in
    DataLoaders of `batch_size`, the training one shuffled with `seed`). A stream (an
    IterableDataset, or a DataLoader over one) without a length works too: each epoch runs
    until its iterator ends, and the progress bar counts batches without a total. metrics:
    what to log beside the loss: names ('accuracy', 'top5_accuracy', 'f1', 'mae', 'r2', ...;
    see forgegrad.metrics), callables fn(outputs, targets) -> number, or a dict {name:
    either}; default accuracy for the classification losses. Each is computed over the whole
    epoch. verbose: 1 (default) shows a progress bar (with `progress`, needs tqdm) and one
    summary line per epoch, 2 only the summary lines, 0 nothing; all on stderr. scheduler:
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
    # Everything is checked before the first training step, so that a mistake in the setup
    # fails at once and leaves the model, the optimizer and the loaders as they were.
    checks.check_counts(epochs, initial_epoch, verbose)
    checks.check_model(model, "fit")
    device = as_device(device, "fit")
    checks.check_loss_fn(loss_fn, "fit")
    checks.check_optimizer(optimizer)
    checks.check_scheduler(scheduler)
    callbacks = checks.check_callbacks(callbacks)
    specs = resolve(metrics, loss_fn, "fit")
    reduction = reduction_of(loss_fn, "fit")
    checks.check_monitors(callbacks, specs, val_data is not None)
    distributed = _distributed.active()
    if not rank_zero_only():
        verbose = 0  # rank 0 reports for all

    train_loader = loader_for(train_data, batch_size, True, seed, "fit", distributed)
    val_loader = (
        None
        if val_data is None
        else loader_for(val_data, batch_size, False, None, "fit", distributed)
    )
    loaders = [loader for loader in (train_loader, val_loader) if loader is not None]
    for name, loader in zip(("train_data", "val_data"), loaders):
        if batch_count(loader) == 0:
            raise _errors.ValueError(
                f"[fit] {name} yields no batches ({len(loader.dataset)} "
                f"samples, batch_size={loader.batch_size}, "
                f"drop_last={loader.drop_last})"
            )

    history = History()
    home = model_device(model)
    if device is not None and home is not None and device != home:
        model.to(device)
    device = device if device is not None else home  # where the batches go
    try:
        _try_first_batches(model, loss_fn, loaders, specs, reduction, device)
    except KeyboardInterrupt:  # nothing has started: an empty History
        history.interrupted = True
        return history
    except BaseException:
        if home is not None and model_device(model) != home:
            model.to(home)  # a failed setup leaves the model where it was
        raise
    if initial_epoch or train_loader is not train_data:  # a loader of the caller's continues
        train_loader.set_epoch(initial_epoch)

    trained = _distributed.wrap(model) if distributed else model
    for callback in callbacks:
        callback.on_train_begin(model, optimizer)
    try:
        for epoch in range(initial_epoch + 1, epochs + 1):
            bar = progress_bar(batch_count(train_loader), epoch, epochs, progress and verbose == 1)
            try:  # Ctrl-C anywhere in the epoch (training, validation, callbacks) ends cleanly
                logs = _epoch(
                    trained,
                    loss_fn,
                    optimizer,
                    train_loader,
                    val_loader,
                    specs,
                    reduction,
                    epoch,
                    bar,
                    device,
                    distributed,
                )
                history.epochs.append(logs)
                if bar is not None:
                    bar.close()
                if verbose:
                    # stderr, with the bar: stdout stays the program's own output
                    print(summary(logs, epochs, scheduler is not None), file=sys.stderr, flush=True)
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


def _try_first_batches(model, loss_fn, loaders, metrics, reduction, device):
    """Run the model and the loss once on the first batch of each loader (in dataset order:
    no epoch, shuffle or random number is used up), in eval mode without gradients, so that
    a model, loss, metrics and data that do not fit together fail before training changes
    anything. The train/eval mode of every module is put back."""
    with inference(model):
        for loader in loaders:
            inputs, targets = pair(loader._first_batch(), "fit", device)
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            checks.check_loss(loss)
            Totals(metrics, reduction).add(loss.item(), inputs, outputs, targets)


def _epoch(
    trained,
    loss_fn,
    optimizer,
    train_loader,
    val_loader,
    metrics,
    reduction,
    epoch,
    bar,
    device,
    distributed,
):
    """One epoch: train on every batch, validate; its logs (training values averaged over
    the ranks when distributed)."""
    start = time.perf_counter()
    _distributed.set_epoch(train_loader, epoch)
    totals = _train_epoch(
        trained, loss_fn, optimizer, train_loader, metrics, reduction, epoch, bar, device
    )
    elapsed = time.perf_counter() - start
    train_logs, samples = totals.logs(), totals.samples
    if bar is not None:  # the bar ends on the training numbers; the summary has them all
        bar.set_postfix(postfix(train_logs), refresh=False)
    if distributed:
        train_logs, samples, elapsed = _distributed.averaged(train_logs, samples, elapsed)
    logs = {"epoch": epoch, **train_logs}
    if val_loader is not None:
        logs.update(
            {
                f"val_{k}": v
                for k, v in _validation(
                    trained, loss_fn, val_loader, metrics, reduction, device, distributed
                ).items()
            }
        )
    logs.update(
        lr=optimizer.param_groups[0]["lr"],
        time=elapsed,
        samples_per_s=samples / elapsed if elapsed > 0 else math.inf,
    )
    return logs


def _train_epoch(model, loss_fn, optimizer, loader, metrics, reduction, epoch, bar, device):
    model.train()
    totals = Totals(metrics, reduction)
    start = shown = time.perf_counter()
    for batch, batch_pair in enumerate(loader, 1):
        inputs, targets = pair(batch_pair, "fit", device)
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        value = loss.item()
        if not math.isfinite(value):  # stop before the step spreads it into the weights
            raise RuntimeError(
                f"[fit] the training loss became {value} in epoch {epoch}, "
                f"batch {batch}; the model holds the weights before that "
                "batch. Lower the learning rate or clip gradients"
            )
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
                bar.set_postfix(postfix({**totals.logs(), "samples_per_s": rate}), refresh=False)
    _check_read(totals, "train_data", f"in epoch {epoch}")
    return totals


def _check_read(totals, name, when):
    """A stream that yielded nothing (an IterableDataset whose __iter__ does not start over)
    is an error, not a division by zero."""
    if totals.samples == 0:
        raise _errors.ValueError(
            f"[fit] {name} yielded no batches {when}; an IterableDataset's "
            "__iter__ must start the stream afresh on every call"
        )


def _validation(trained, loss_fn, loader, metrics, reduction, device, distributed):
    """The validation logs of an epoch; distributed, of this rank's shard averaged over the
    ranks, with rank 0's buffers (BatchNorm statistics) on every rank first."""
    if distributed:
        trained._sync_buffers()
        trained = _distributed.unwrap(trained)
    totals = _evaluation_totals(trained, loss_fn, loader, metrics, reduction, device)
    _check_read(totals, "val_data", "in validation")
    if not distributed:
        return totals.logs()
    return _distributed.averaged(totals.logs(), totals.samples, 0.0)[0]


def evaluate(
    model: Module, loss_fn: LossFn, data: Data, metrics: MetricsArg = None, batch_size: int = 256
) -> dict[str, float]:
    """Loss per sample (and metrics) of `model` over `data`, in eval mode, without
    gradients; the model's train/eval mode is restored afterwards. Batches go to the
    model's device."""
    checks.check_model(model, "evaluate")
    checks.check_loss_fn(loss_fn, "evaluate")
    loader = loader_for(data, batch_size, False, None, "evaluate")
    if batch_count(loader) == 0:
        raise _errors.ValueError("[evaluate] got no data to evaluate on")
    totals = _evaluation_totals(
        model,
        loss_fn,
        loader,
        resolve(metrics, loss_fn, "evaluate"),
        reduction_of(loss_fn, "evaluate"),
        model_device(model),
    )
    if totals.samples == 0:  # a stream that yielded nothing
        raise _errors.ValueError("[evaluate] got no data to evaluate on")
    return totals.logs()


def _evaluation_totals(model, loss_fn, loader, metrics, reduction, device):
    totals = Totals(metrics, reduction)
    with inference(model):
        for batch in loader:
            inputs, targets = pair(batch, "evaluate", device)
            outputs = model(inputs)
            totals.add(loss_fn(outputs, targets).item(), inputs, outputs, targets)
    return totals


def predict(
    model: Module, data: Data | np.ndarray[Any, Any] | _C.Tensor, batch_size: int = 256
) -> _C.Tensor:
    """`model`'s outputs for `data` (an array or Tensor of inputs, a Dataset whose first
    column is the inputs, or a DataLoader), batch by batch in eval mode (on the model's
    device), as one Tensor on the CPU."""
    checks.check_model(model, "predict")
    if isinstance(data, (np.ndarray, _C.Tensor)):
        data = TensorDataset(data)
    loader = loader_for(data, batch_size, False, None, "predict")
    device = model_device(model)
    outputs = []
    with inference(model):
        for batch in loader:
            inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
            output = model(inputs if device is None else moved(inputs, device))
            if not isinstance(output, _C.Tensor) or output.ndim == 0:
                raise _errors.ValueError(
                    "[predict] expected the model to return a Tensor with one "
                    "row per input, got "
                    + (
                        f"shape {tuple(output.shape)}"
                        if isinstance(output, _C.Tensor)
                        else type(output).__name__
                    )
                )
            outputs.append(output.cpu().numpy())
    if not outputs:
        raise _errors.ValueError("[predict] got no inputs")
    return _C.from_numpy(np.concatenate(outputs))
