"""Learning-rate schedulers, as in ``torch.optim.lr_scheduler``.

The schedulers compose as in torch: they are chainable. Each ``step()`` computes a param
group's new lr from its CURRENT lr (``group["lr"]``), with torch's recursive update of each
schedule (``get_lr()``): StepLR and MultiStepLR multiply by ``gamma`` at their epochs,
ExponentialLR by ``gamma`` every epoch, LinearLR by the ratio of consecutive warm-up factors,
CosineAnnealingLR by the ratio of consecutive cosines (about ``eta_min``). So two schedulers
stepped on one optimizer multiply their factors (ExponentialLR(0.9) with MultiStepLR([2], 0.1)
gives 1, 0.9, 0.081, 0.0729), a LinearLR warm-up combines with a decay stepped beside it, and
an lr changed by hand is kept and scaled by the next step. Stepped alone, each schedule gives
the lrs of its closed form in ``base_lr`` and the epoch (as in torch's docs), up to float
rounding.

The closed forms (``_get_closed_form_lr()``, as torch has them) are used where the lr cannot
come from the one before, as torch's ``step(epoch)`` does:

* ``SequentialLR`` starts each later scheduler at its milestone from its closed form at epoch
  0 (torch's ``_update_lr(0)``), so it starts from ``base_lr``, not from the lr the previous
  scheduler left;
* a scheduler built with ``last_epoch=k >= 0`` (resuming) sets the lr of epoch ``k + 1`` from
  ``initial_lr`` by its closed form. Torch takes a recursive step there, from the lr the
  optimizer holds, with version-dependent special cases; here resuming gives the schedule's lr
  whatever the optimizer holds. Schedulers without a closed form (custom subclasses) take the
  recursive step.

``state_dict()`` holds plain Python values only (no optimizer); the lrs themselves live in
the optimizer's param groups, as in torch, so restore the optimizer's state with the
scheduler's. ``load_state_dict()`` checks everything first (the keys of this scheduler's
state, each value's type and range, one lr per param group) and on a rejection raises
``TypeError`` / ``ValueError`` naming ``[<Scheduler>.load_state_dict]`` with nothing changed.
"""
import copy
import math
from bisect import bisect_right
from collections import Counter

from .._checks import is_int, is_real
from .optimizer import has_param_groups

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LinearLR", "SequentialLR", "ReduceLROnPlateau"]


# ------------------------------------------------------------------------ argument checks
def _check_optimizer(optimizer, name):
    if not has_param_groups(optimizer):  # duck-typed: anything with param groups is scheduled
        raise TypeError(f"[{name}] expected an Optimizer (param_groups: a list of dicts "
                        f"with 'lr'), got {type(optimizer).__name__}")
    for i, group in enumerate(optimizer.param_groups):
        for key in ("lr", "initial_lr"):
            if key in group:
                _non_negative_float(name, f"param_groups[{i}]['{key}']", group[key])


def _int(name, arg, value, low):
    """``value`` as an int >= ``low``: TypeError for a non-int (bools too), else ValueError."""
    what = "a positive int" if low == 1 else f"an int >= {low}"
    if not is_int(value):
        raise TypeError(f"[{name}] {arg} must be {what}, got {value!r}")
    if value < low:
        raise ValueError(f"[{name}] {arg} must be {what}, got {value!r}")
    return int(value)


def _float(name, arg, value, ok, what):
    """``value`` as a finite float for which ``ok`` holds; ``what`` says the allowed range."""
    if not is_real(value):
        raise TypeError(f"[{name}] {arg} must be {what}, got {value!r}")
    if not math.isfinite(value) or not ok(float(value)):
        raise ValueError(f"[{name}] {arg} must be {what}, got {value!r}")
    return float(value)


def _milestone_list(name, arg, values, low):
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"[{name}] {arg} must be a list of ints, got {type(values).__name__}")
    return [_int(name, "each milestone", v, low) for v in values]


def _increasing_milestones(name, arg, milestones):
    """SequentialLR's milestones: positive ints, strictly increasing."""
    values = _milestone_list(name, arg, milestones, 1)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"[{name}] milestones must be strictly increasing, got {list(milestones)}")
    return values


def _milestone_counter(name, arg, milestones):
    """MultiStepLR's milestones, as torch takes them: non-negative ints in any order, a
    repeated one counting as often as it appears (its factors multiply)."""
    return Counter(_milestone_list(name, arg, milestones, 0))


# Checkers of one setting, ``check(name, arg, value) -> the value to keep``; the constructors
# and load_state_dict share them.
def _positive_int(name, arg, value):
    return _int(name, arg, value, 1)


def _non_negative_int(name, arg, value):
    return _int(name, arg, value, 0)


def _epoch(name, arg, value):
    return _int(name, arg, value, -1)


def _positive_float(name, arg, value):
    return _float(name, arg, value, lambda x: x > 0, "a positive float")


def _non_negative_float(name, arg, value):
    return _float(name, arg, value, lambda x: x >= 0, "a float >= 0")


def _start_factor(name, arg, value):
    return _float(name, arg, value, lambda x: 0 < x <= 1, "in (0, 1]")


def _end_factor(name, arg, value):
    return _float(name, arg, value, lambda x: 0 <= x <= 1, "in [0, 1]")


def _float_list(name, arg, values, length=None):
    """A list of finite floats >= 0 (lrs), of ``length`` items when given."""
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"[{name}] {arg} must be a list of floats, got {type(values).__name__}")
    if length is not None and len(values) != length:
        raise ValueError(f"[{name}] {arg} must hold one value per param group ({length}), "
                         f"got {len(values)}")
    return [_non_negative_float(name, f"each of {arg}", v) for v in values]


# ------------------------------------------------------------------------ base class
class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and sets each group's lr to ``get_lr()``,
    which a subclass computes from the group's current lr (torch's chainable form).

    With ``last_epoch=-1`` each param group gets an ``"initial_lr"`` (kept if already there, so
    schedulers built one after another share the same base); the base lrs come from it.
    Construction takes the first step, to epoch 0, as torch does. Built with
    ``last_epoch=k >= 0`` (resuming), the first step goes to epoch ``k + 1`` and sets the
    closed-form lr there when the schedule has one (see the module docstring).
    """

    # Settings a subclass keeps in its state: {attribute: check(name, arg, value)}, used by
    # load_state_dict (the constructors run the same checks on their arguments).
    _settings = {}

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        _check_optimizer(optimizer, name)
        last_epoch = _epoch(name, "last_epoch", last_epoch)
        for i, group in enumerate(optimizer.param_groups):  # all checked before any is set
            if last_epoch != -1 and "initial_lr" not in group:
                raise ValueError(f"[{name}] resuming at last_epoch={last_epoch} needs "
                                 "'initial_lr' in every param group (load the optimizer's "
                                 f"state first); param_groups[{i}] has none")
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", float(group["lr"]))
        self.optimizer = optimizer
        self.base_lrs = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        if last_epoch == -1:
            self.step()
        else:
            self._step_to(last_epoch + 1)

    def _take_settings(self, **arguments):
        """Check each constructor argument with its ``_settings`` check and keep it, so that
        construction and load_state_dict check alike."""
        for key, value in arguments.items():
            setattr(self, key, self._settings[key](type(self).__name__, key, value))

    def get_lr(self):
        """The lr of each param group at epoch ``self.last_epoch`` (just advanced), computed
        from the group's current lr."""
        raise NotImplementedError

    def step(self):
        """Advance one epoch and set each group's lr (chainable: from its current lr)."""
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _step_to(self, epoch):
        """Go to ``epoch`` and set the lrs from the closed form where the schedule has one
        (torch's ``step(epoch)``), else take an ordinary step into it."""
        if hasattr(self, "_get_closed_form_lr"):
            self.last_epoch = epoch
            self._set_lrs(self._get_closed_form_lr())
        else:
            self.last_epoch = epoch - 1
            self.step()

    def _set_lrs(self, lrs):
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The lrs the last ``step()`` set, one per param group."""
        return list(self._last_lr)

    def state_dict(self):
        """Everything but the optimizer, as plain Python values (copies)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """Take the state a ``state_dict()`` of this kind of scheduler returned. Everything is
        checked first: a rejected state dict leaves the scheduler as it was."""
        self._apply_state(self._checked_state(state_dict))

    # -------------------------------------------------------------- state checks
    def _apply_state(self, checked):
        """Set a state ``_checked_state`` returned."""
        self.__dict__.update(checked)

    def _state_checks(self):
        """{key: check(name, arg, value) -> the value to keep} for this scheduler's state."""
        n_groups = len(self.optimizer.param_groups)

        def lrs(name, arg, value):
            return _float_list(name, arg, value, n_groups)

        return {"last_epoch": _epoch, "base_lrs": lrs, "_last_lr": lrs, **self._settings}

    def _checked_state(self, state_dict):
        """The values ``load_state_dict(state_dict)`` would set, all checked (copies); raises
        TypeError / ValueError naming ``[<Scheduler>.load_state_dict]`` and changes nothing."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"[{name}] expected a dict, got {type(state_dict).__name__}")
        expected = set(self.state_dict())
        unknown = sorted(map(repr, set(state_dict) - expected))
        missing = sorted(expected - set(state_dict))
        if unknown or missing:
            raise ValueError(f"[{name}] the state dict is not a {type(self).__name__}'s: "
                             + "; ".join(([f"unknown keys {', '.join(unknown)}"] if unknown
                                          else []) + ([f"missing keys {missing}"] if missing
                                                      else [])))
        checks = self._state_checks()
        return {key: checks[key](name, key, value) if key in checks else copy.deepcopy(value)
                for key, value in state_dict.items()}


_LRScheduler = LRScheduler  # torch's older name, which custom schedulers still subclass


# ------------------------------------------------------------------------ schedules
class StepLR(LRScheduler):
    """Multiplies the lr by ``gamma`` at every epoch > 0 divisible by ``step_size``; alone,
    ``lr = base_lr * gamma ** (epoch // step_size)``."""

    _settings = {"step_size": _positive_int, "gamma": _positive_float}

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self._take_settings(step_size=step_size, gamma=gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        factor = self.gamma ** (self.last_epoch // self.step_size)
        return [base * factor for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiplies the lr by ``gamma`` at each milestone epoch; alone,
    ``lr = base_lr * gamma ** (number of milestones <= epoch)``.

    As in torch, ``milestones`` are non-negative ints in any order, kept as a ``Counter``: a
    milestone given twice multiplies by ``gamma ** 2``. (The state dict holds them as a sorted
    list, repeats included.)
    """

    _settings = {"milestones": _milestone_counter, "gamma": _positive_float}

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self._take_settings(milestones=milestones, gamma=gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        factor = self.gamma ** bisect_right(milestones, self.last_epoch)
        return [base * factor for base in self.base_lrs]

    def state_dict(self):
        state = super().state_dict()
        state["milestones"] = sorted(self.milestones.elements())  # JSON-plain, unlike a Counter
        return state


class ExponentialLR(LRScheduler):
    """Multiplies the lr by ``gamma`` every epoch after epoch 0; alone,
    ``lr = base_lr * gamma ** epoch``."""

    _settings = {"gamma": _positive_float}

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self._take_settings(gamma=gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from ``base_lr`` to ``eta_min`` over ``T_max`` epochs, by torch's
    recursive update::

        lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi * t / T_max))
                                                / (1 + cos(pi * (t - 1) / T_max))

    except at epoch 0 (lr kept) and on leaving a minimum, where the ratio would be 0 / 0
    (``(t - 1 - T_max) % (2 * T_max) == 0``): there ``lr_t = lr_{t-1} + (base_lr - eta_min)
    * (1 - cos(pi / T_max)) / 2``. Alone it gives the closed form
    ``eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``; past ``T_max`` both go on
    as a cosine (back up to ``base_lr`` at ``2 * T_max``); there are no warm restarts.
    """

    _settings = {"T_max": _positive_int, "eta_min": _non_negative_float}

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self._take_settings(T_max=T_max, eta_min=eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return self._current_lrs()
        if (t - 1 - t_max) % (2 * t_max) == 0:
            rise = (1 - math.cos(math.pi / t_max)) / 2
            return [lr + (base - eta_min) * rise
                    for lr, base in zip(self._current_lrs(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max))
        return [eta_min + (lr - eta_min) * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scales the lr by a factor going linearly from ``start_factor`` (epoch 0) to
    ``end_factor`` (epoch ``total_iters``, and after): the usual warm-up. Chainable as in
    torch: epoch 0 multiplies the lr by ``start_factor``, each epoch ``t <= total_iters`` by
    the ratio of consecutive factors, ``1 + (end - start) / (total_iters * start +
    (t - 1) * (end - start))``, later epochs leave it."""

    _settings = {"start_factor": _start_factor, "end_factor": _end_factor,
                 "total_iters": _positive_int}

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        self._take_settings(start_factor=start_factor, end_factor=end_factor,
                            total_iters=total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, start, end = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [lr * start for lr in self._current_lrs()]
        if t > self.total_iters:
            return self._current_lrs()
        ratio = 1.0 + (end - start) / (self.total_iters * start + (t - 1) * (end - start))
        return [lr * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        done = min(self.last_epoch, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [base * factor for base in self.base_lrs]


class SequentialLR(LRScheduler):
    """Runs ``schedulers[i]`` from ``milestones[i - 1]`` on; each one starts at its own epoch 0
    when its milestone is reached, from its closed form there (torch's ``_update_lr(0)``:
    ``base_lr`` times its epoch-0 factor, not the lr the previous scheduler left), then steps
    chainably."""

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
        self._milestones = _increasing_milestones("SequentialLR", "milestones", milestones)
        if len(self._milestones) != len(schedulers) - 1:
            raise ValueError(f"[SequentialLR] expected {len(schedulers) - 1} milestones for "
                             f"{len(schedulers)} schedulers, got {len(self._milestones)}")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self.last_epoch = 0
        # Each scheduler took its first step when it was built; undo those and restart the
        # first one from the initial lrs, as torch does (chainable schedulers would otherwise
        # start from whatever lr the last one built had set).
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
            scheduler._step_to(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: copy.deepcopy(v) for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        """Takes its own state and every inner scheduler's, all checked before any is set."""
        self._apply_state(self._checked_state(state_dict))

    def _apply_state(self, checked):
        checked = dict(checked)
        for s, s_state in zip(self._schedulers, checked.pop("_schedulers")):
            s._apply_state(s_state)
        self.__dict__.update(checked)

    def _state_checks(self):
        n_groups = len(self.optimizer.param_groups)
        n_schedulers = len(self._schedulers)

        def milestones(name, arg, value):
            values = _increasing_milestones(name, arg, value)
            if len(values) != n_schedulers - 1:
                raise ValueError(f"[{name}] expected {n_schedulers - 1} milestones for "
                                 f"{n_schedulers} schedulers, got {len(values)}")
            return values

        def schedulers(name, arg, value):
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"[{name}] {arg} must be a list of state dicts, got "
                                f"{type(value).__name__}")
            if len(value) != n_schedulers:
                raise ValueError(f"[{name}] the state dict holds {len(value)} schedulers, this "
                                 f"SequentialLR has {n_schedulers}")
            checked = []
            for i, (s, s_state) in enumerate(zip(self._schedulers, value)):
                try:
                    checked.append(s._checked_state(s_state))
                except (TypeError, ValueError) as e:
                    raise type(e)(f"[{name}] {arg}[{i}]: {e}") from None
            return checked

        return {"last_epoch": _non_negative_int, "_milestones": milestones,
                "_last_lr": lambda name, arg, value: _float_list(name, arg, value, n_groups),
                "_schedulers": schedulers}


# ------------------------------------------------------------------------ on plateau
class ReduceLROnPlateau(LRScheduler):
    """Multiplies the lrs by ``factor`` once the metric given to ``step(metric)`` has not
    improved for more than ``patience`` steps, then waits ``cooldown`` steps before counting
    again. Improvement means beating the best value by ``threshold`` (relative or absolute);
    lrs never go below ``min_lr`` (one float, or one per param group), and a change smaller
    than ``eps`` is skipped. Like torch's, it scales the current lrs (chainable).
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        name = "ReduceLROnPlateau"
        _check_optimizer(optimizer, name)
        mode = _mode(name, "mode", mode)
        threshold_mode = _threshold_mode(name, "threshold_mode", threshold_mode)
        self.factor = _plateau_factor(name, "factor", factor)
        self.patience = _non_negative_int(name, "patience", patience)
        self.cooldown = _non_negative_int(name, "cooldown", cooldown)
        self.threshold = _non_negative_float(name, "threshold", threshold)
        self.eps = _non_negative_float(name, "eps", eps)
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(f"[{name}] expected {n_groups} min_lrs (one per param group), "
                                 f"got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = [_non_negative_float(name, "min_lr", m) for m in min_lr]
        else:
            self.default_min_lr = _non_negative_float(name, "min_lr", min_lr)
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

    def _state_checks(self):
        n_groups = len(self.optimizer.param_groups)

        def default_min_lr(name, arg, value):
            return None if value is None else _non_negative_float(name, arg, value)

        def min_lrs(name, arg, value):
            # Any length with a scalar min_lr (_reduce_lr refills it when groups were added).
            return _float_list(name, arg, value)

        def best(name, arg, value):  # +-inf before the first step; never NaN
            if not is_real(value):
                raise TypeError(f"[{name}] {arg} must be a number, got {value!r}")
            if math.isnan(value):
                raise ValueError(f"[{name}] {arg} must not be NaN")
            return float(value)

        return {"factor": _plateau_factor, "patience": _non_negative_int,
                "cooldown": _non_negative_int, "threshold": _non_negative_float,
                "eps": _non_negative_float, "mode": _mode, "threshold_mode": _threshold_mode,
                "default_min_lr": default_min_lr, "min_lrs": min_lrs, "best": best,
                "num_bad_epochs": _non_negative_int, "cooldown_counter": _non_negative_int,
                "last_epoch": _non_negative_int,
                "_last_lr": lambda name, arg, value: _float_list(name, arg, value, n_groups)}

    def _checked_state(self, state_dict):
        checked = super()._checked_state(state_dict)
        name = "ReduceLROnPlateau.load_state_dict"
        n_groups = len(self.optimizer.param_groups)
        if checked["default_min_lr"] is None and len(checked["min_lrs"]) != n_groups:
            raise ValueError(f"[{name}] min_lrs must hold one value per param group "
                             f"({n_groups}), got {len(checked['min_lrs'])}")
        return checked


def _mode(name, arg, value):
    if value not in ("min", "max"):
        raise ValueError(f"[{name}] {arg} must be 'min' or 'max', got {value!r}")
    return value


def _threshold_mode(name, arg, value):
    if value not in ("rel", "abs"):
        raise ValueError(f"[{name}] {arg} must be 'rel' or 'abs', got {value!r}")
    return value


def _plateau_factor(name, arg, value):
    return _float(name, arg, value, lambda x: 0 < x < 1, "in (0, 1)")
