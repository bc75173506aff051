"""The checks ``fit``, ``evaluate`` and ``predict`` run on their arguments before anything
trains, so that a setup mistake fails at once, naming the argument, and leaves the model,
the optimizer and the data as they were."""

from .. import _C, _errors
from .._checks import is_int
from ..optim.optimizer import has_param_groups
from .callbacks import Callback
from .metrics import logged_keys

# Where the public classes are reached from, for "pass an instance: nn.MSELoss()".
_PUBLIC_PREFIXES = (
    ("forgegrad.nn", "nn."),
    ("forgegrad.optim.lr_scheduler", "optim.lr_scheduler."),
    ("forgegrad.optim", "optim."),
)


def not_a_class(value, what, op, args="(...)"):
    """A class passed where an instance belongs (nn.MSELoss for nn.MSELoss()) is a TypeError."""
    if isinstance(value, type):
        prefix = next((p for m, p in _PUBLIC_PREFIXES if value.__module__.startswith(m)), "")
        raise _errors.TypeError(
            f"[{op}] {what} is the class {value.__name__}; pass an instance: "
            f"{prefix}{value.__name__}{args}"
        )


def check_counts(epochs, initial_epoch, verbose):
    """fit's epochs and initial_epoch are counts, verbose 0, 1 or 2."""
    for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if not is_int(value) or value < 0:
            raise _errors.ValueError(f"[fit] {name} must be an int >= 0, got {value!r}")
    if initial_epoch > epochs:
        raise _errors.ValueError(f"[fit] initial_epoch ({initial_epoch}) is past epochs ({epochs})")
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise _errors.ValueError(
            f"[fit] verbose must be 0 (silent), 1 (progress bar and a line "
            f"per epoch) or 2 (a line per epoch), got {verbose!r}"
        )


def check_model(model, op):
    """A model instance (not its class): callable, with train(), eval() and training."""
    not_a_class(model, "model", op)
    if not (
        callable(model)
        and callable(getattr(model, "train", None))
        and callable(getattr(model, "eval", None))
        and hasattr(model, "training")
    ):
        raise _errors.TypeError(
            f"[{op}] model must be a Module (callable, with train(), eval() "
            f"and training), got {type(model).__name__}"
        )


def check_loss_fn(loss_fn, op):
    """A callable loss (an instance, not a class)."""
    not_a_class(loss_fn, "loss_fn", op, args="()")
    if not callable(loss_fn):
        raise _errors.TypeError(f"[{op}] loss_fn must be callable, got {type(loss_fn).__name__}")


def check_optimizer(optimizer):
    """An optimizer instance with param_groups, zero_grad() and step()."""
    not_a_class(optimizer, "optimizer", "fit")
    if (
        not has_param_groups(optimizer)
        or not callable(getattr(optimizer, "step", None))
        or not callable(getattr(optimizer, "zero_grad", None))
    ):
        raise _errors.TypeError(
            "[fit] optimizer must be an Optimizer (param_groups with 'lr', "
            f"step() and zero_grad()), got {type(optimizer).__name__}"
        )


def check_scheduler(scheduler):
    """None, or a learning-rate scheduler instance with step()."""
    if scheduler is None:
        return
    not_a_class(scheduler, "scheduler", "fit")
    if not callable(getattr(scheduler, "step", None)):
        raise _errors.TypeError(
            "[fit] scheduler must be an lr scheduler (with step()) or None, "
            f"got {type(scheduler).__name__}"
        )


_HOOKS = ("on_train_begin", "on_epoch_end", "on_train_end")


def check_callbacks(callbacks):
    """The callbacks as a list, each checked to have the hooks fit calls."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        name = type(callbacks).__name__
        raise _errors.TypeError(
            "[fit] callbacks must be a list of Callbacks, got a single "
            f"{name}; pass a list: callbacks=[{name}(...)]"
        )
    if isinstance(callbacks, (str, bytes, dict)) or not hasattr(callbacks, "__iter__"):
        raise _errors.TypeError(
            f"[fit] callbacks must be a list of Callbacks, got {type(callbacks).__name__}"
        )
    callbacks = list(callbacks)
    for i, callback in enumerate(callbacks):
        not_a_class(callback, f"callbacks[{i}]", "fit")
        if not all(callable(getattr(callback, hook, None)) for hook in _HOOKS):
            raise _errors.TypeError(
                f"[fit] callbacks[{i}] must be a Callback (with "
                f"{', '.join(_HOOKS)}), got {type(callback).__name__}"
            )
    return callbacks


def check_monitors(callbacks, metrics, validating):
    """Every callback that watches a logged value must watch one fit logs."""
    logged = logged_keys(metrics, validating)
    for callback in callbacks:
        monitor = callback._monitored() if isinstance(callback, Callback) else None
        if monitor is None or monitor in logged:
            continue
        name = type(callback).__name__
        if monitor.startswith("val_") and not validating and monitor[4:] in logged:
            raise _errors.ValueError(
                f"[fit] {name} monitors {monitor!r}, which fit logs only with "
                f"val_data; pass val_data to fit, or monitor {monitor[4:]!r}"
            )
        raise _errors.ValueError(
            f"[fit] {name} monitors {monitor!r}, which fit does not log; it logs {logged}"
        )


def check_loss(loss):
    """The loss function gave a one-element Tensor."""
    if not isinstance(loss, _C.Tensor):
        raise _errors.TypeError(f"[fit] loss_fn must return a Tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise _errors.ValueError(
            "[fit] loss_fn must return one number (a one-element Tensor), got "
            f"shape {tuple(loss.shape)}"
        )
