"""Learning-rate schedulers, as in ``torch.optim.lr_scheduler``.

Every scheduler here except ``ReduceLROnPlateau`` sets the lr of epoch ``t`` from a closed form
of ``base_lr`` and ``t``, where torch updates the current lr recursively (its "chainable"
form). The two give the same lrs whenever nothing else changes the lr between steps, and the
closed form reads as the formula in the docs. What differs: two schedulers stepped together
on one optimizer do not multiply their factors as in torch (the last one stepped sets the lr),
and an lr changed by hand is overwritten at the next step. To run schedules one after another,
use ``SequentialLR``.

``state_dict()`` holds plain Python values only (no optimizer); the lrs themselves live in
the optimizer's param groups, as in torch.
"""
import copy
import math
import numbers
from bisect import bisect_right

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LinearLR", "SequentialLR", "ReduceLROnPlateau"]


# ------------------------------------------------------------------------ argument checks
def _check_optimizer(optimizer, name):
    # Duck-typed, so that anything holding param groups can be scheduled.
    groups = getattr(optimizer, "param_groups", None)
    if (not isinstance(groups, list) or not groups
            or not all(isinstance(g, dict) and "lr" in g for g in groups)):
        raise TypeError(f"[{name}] expected an Optimizer (param_groups: a list of dicts "
                        f"with 'lr'), got {type(optimizer).__name__}")


def _int(name, arg, value, low):
    """``value`` as an int >= ``low``: TypeError for a non-int (bools too), else ValueError."""
    what = "a positive int" if low == 1 else f"an int >= {low}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"[{name}] {arg} must be {what}, got {value!r}")
    if value < low:
        raise ValueError(f"[{name}] {arg} must be {what}, got {value!r}")
    return int(value)


def _float(name, arg, value, ok, what):
    """``value`` as a finite float for which ``ok`` holds; ``what`` says the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"[{name}] {arg} must be {what}, got {value!r}")
    if not math.isfinite(value) or not ok(float(value)):
        raise ValueError(f"[{name}] {arg} must be {what}, got {value!r}")
    return float(value)


def _milestones(name, milestones, low):
    if not isinstance(milestones, (list, tuple)):
        raise TypeError(f"[{name}] milestones must be a list of ints, got "
                        f"{type(milestones).__name__}")
    values = [_int(name, "each milestone", m, low) for m in milestones]
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"[{name}] milestones must be strictly increasing, got {list(milestones)}")
    return values


def _positive(x):
    return x > 0


def _non_negative(x):
    return x >= 0


# ------------------------------------------------------------------------ base class
class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and sets each group's lr to ``get_lr()``.

    With ``last_epoch=-1`` each param group gets an ``"initial_lr"`` (kept if already there, so
    schedulers built one after another share the same base); the base lrs come from it.
    Construction takes the first step, to epoch 0, as torch does.
    """

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        _check_optimizer(optimizer, name)
        last_epoch = _int(name, "last_epoch", last_epoch, -1)
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", float(group["lr"]))
            elif "initial_lr" not in group:
                raise KeyError(f"[{name}] param_groups[{i}] has no 'initial_lr': resuming at "
                               f"last_epoch={last_epoch} needs the optimizer of the first run")
        self.optimizer = optimizer
        self.base_lrs = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self):
        """The lr of each param group at epoch ``self.last_epoch``."""
        raise NotImplementedError

    def step(self):
        """Advance one epoch and set each group's lr."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The lrs the last ``step()`` set, one per param group."""
        return list(self._last_lr)

    def state_dict(self):
        """Everything but the optimizer, as plain Python values (copies)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        if not isinstance(state_dict, dict):
            raise TypeError(f"[{type(self).__name__}] load_state_dict expects a dict, got "
                            f"{type(state_dict).__name__}")
        self.__dict__.update(copy.deepcopy(state_dict))


_LRScheduler = LRScheduler  # torch's older name, which custom schedulers still subclass


# ------------------------------------------------------------------------ schedules
class StepLR(LRScheduler):
    """``lr = base_lr * gamma ** (epoch // step_size)``."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _int("StepLR", "step_size", step_size, 1)
        self.gamma = _float("StepLR", "gamma", gamma, _positive, "a positive float")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        factor = self.gamma ** (self.last_epoch // self.step_size)
        return [base * factor for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """``lr = base_lr * gamma ** (number of milestones <= epoch)``; milestones strictly increasing
    (torch also takes repeats and any order; here those are errors)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = _milestones("MultiStepLR", milestones, 0)
        self.gamma = _float("MultiStepLR", "gamma", gamma, _positive, "a positive float")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        factor = self.gamma ** bisect_right(self.milestones, self.last_epoch)
        return [base * factor for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """``lr = base_lr * gamma ** epoch``."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = _float("ExponentialLR", "gamma", gamma, _positive, "a positive float")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.

    The closed form; torch's recursive form gives the same values. Past ``T_max`` both go on
    as a cosine (back up to ``base_lr`` at ``2 * T_max``); there are no warm restarts.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = _int("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = _float("CosineAnnealingLR", "eta_min", eta_min, _non_negative,
                              "a float >= 0")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scales ``base_lr`` by a factor going linearly from ``start_factor`` (epoch 0) to
    ``end_factor`` (epoch ``total_iters``, and after): the usual warm-up."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        self.start_factor = _float("LinearLR", "start_factor", start_factor,
                                   lambda x: 0 < x <= 1, "in (0, 1]")
        self.end_factor = _float("LinearLR", "end_factor", end_factor,
                                 lambda x: 0 <= x <= 1, "in [0, 1]")
        self.total_iters = _int("LinearLR", "total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        done = min(self.last_epoch, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [base * factor for base in self.base_lrs]


class SequentialLR(LRScheduler):
    """Runs ``schedulers[i]`` from ``milestones[i - 1]`` on; each one starts at its own epoch 0
    when its milestone is reached (torch's ``scheduler.step(0)``)."""

    def __init__(self, optimizer, schedulers, milestones):
        _check_optimizer(optimizer, "SequentialLR")
        if not isinstance(schedulers, (list, tuple)) or not schedulers:
            raise ValueError("[SequentialLR] schedulers must be a non-empty list of schedulers, "
                             f"got {schedulers!r}")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"[SequentialLR] schedulers[{i}] is a ReduceLROnPlateau, whose "
                                 "step() needs a metric; it cannot be sequenced")
            if not isinstance(s, LRScheduler):
                raise TypeError(f"[SequentialLR] schedulers[{i}] must be an LRScheduler, got "
                                f"{type(s).__name__}")
            if s.optimizer is not optimizer:
                raise ValueError(f"[SequentialLR] schedulers[{i}] ({type(s).__name__}) "
                                 "schedules a different optimizer")
        self._milestones = _milestones("SequentialLR", milestones, 1)
        if len(self._milestones) != len(schedulers) - 1:
            raise ValueError(f"[SequentialLR] expected {len(schedulers) - 1} milestones for "
                             f"{len(schedulers)} schedulers, got {len(self._milestones)}")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self.last_epoch = 0
        # Each scheduler took its first step when it was built; undo those and restart the
        # first one from the initial lrs, as torch does (a chainable custom scheduler would
        # otherwise start from whatever lr the last one built had set).
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in self._schedulers:
            s.last_epoch -= 1
        self._schedulers[0].step()
        self._last_lr = self._schedulers[0].get_last_lr()

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler.last_epoch = -1  # so that this step() is its epoch 0
        scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: copy.deepcopy(v) for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        if not isinstance(state_dict, dict):
            raise TypeError("[SequentialLR] load_state_dict expects a dict, got "
                            f"{type(state_dict).__name__}")
        inner = state_dict["_schedulers"]
        if len(inner) != len(self._schedulers):
            raise ValueError(f"[SequentialLR] state_dict holds {len(inner)} schedulers, this "
                             f"SequentialLR has {len(self._schedulers)}")
        self.__dict__.update(copy.deepcopy({k: v for k, v in state_dict.items()
                                            if k != "_schedulers"}))
        for s, s_state in zip(self._schedulers, inner):
            s.load_state_dict(s_state)


# ------------------------------------------------------------------------ on plateau
class ReduceLROnPlateau(LRScheduler):
    """Multiplies the lrs by ``factor`` once the metric given to ``step(metric)`` has not
    improved for more than ``patience`` steps, then waits ``cooldown`` steps before counting
    again. Improvement means beating the best value by ``threshold`` (relative or absolute);
    lrs never go below ``min_lr`` (one float, or one per param group), and a change smaller
    than ``eps`` is skipped.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        name = "ReduceLROnPlateau"
        _check_optimizer(optimizer, name)
        if mode not in ("min", "max"):
            raise ValueError(f"[{name}] mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"[{name}] threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.factor = _float(name, "factor", factor, lambda x: 0 < x < 1, "in (0, 1)")
        self.patience = _int(name, "patience", patience, 0)
        self.cooldown = _int(name, "cooldown", cooldown, 0)
        self.threshold = _float(name, "threshold", threshold, _non_negative, "a float >= 0")
        self.eps = _float(name, "eps", eps, _non_negative, "a float >= 0")
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(f"[{name}] expected {n_groups} min_lrs (one per param group), "
                                 f"got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = [_float(name, "min_lr", m, _non_negative, "a float >= 0")
                            for m in min_lr]
        else:
            self.default_min_lr = _float(name, "min_lr", min_lr, _non_negative, "a float >= 0")
            self.min_lrs = [self.default_min_lr] * n_groups
        self.optimizer = optimizer
        self.mode = mode
        self.threshold_mode = threshold_mode
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, a, best):
        if self.mode == "min":
            return a < (best * (1 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (1 + self.threshold) if self.threshold_mode == "rel"
                    else best + self.threshold)

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def step(self, metrics):
        """Record one value of the monitored metric (a number or a one-element Tensor)."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError("[ReduceLROnPlateau] step() expects the monitored metric as a "
                            f"number, got {type(metrics).__name__}") from None
        self.last_epoch += 1
        if self.is_better(current, self.best):  # NaN is never better: it counts as bad
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs) and self.default_min_lr is not None:
            self.min_lrs = [self.default_min_lr] * len(groups)  # a group was added since
        elif len(groups) != len(self.min_lrs):
            raise RuntimeError(f"[ReduceLROnPlateau] the optimizer has {len(groups)} param "
                               f"groups but min_lrs has {len(self.min_lrs)}; a group was added "
                               "after the scheduler was built")
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new
