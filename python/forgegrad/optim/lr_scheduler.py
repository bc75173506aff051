"""Learning-rate schedulers, as in ``torch.optim.lr_scheduler``.

The schedulers compose as in torch: most are chainable. Each ``step()`` computes a param
group's new lr from its CURRENT lr (``group["lr"]``), with torch's recursive update of each
schedule (``get_lr()``): StepLR and MultiStepLR multiply by ``gamma`` at their epochs,
ExponentialLR by ``gamma`` every epoch, MultiplicativeLR by its function of the epoch,
LinearLR and PolynomialLR by the ratio of consecutive factors, CosineAnnealingLR by the ratio
of consecutive cosines (about ``eta_min``). As in torch, LambdaLR, CosineAnnealingWarmRestarts,
CyclicLR and OneCycleLR are not chainable: they set each lr from their formula. So two schedulers
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

from collections.abc import Callable, Iterable, Sequence
from typing import Any, SupportsFloat
import copy
import math
import types
from bisect import bisect_right
from collections import Counter

from .. import _errors
from .._checks import is_int, is_real
from .optimizer import Optimizer, has_param_groups

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "MultiplicativeLR",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "LinearLR",
    "ConstantLR",
    "PolynomialLR",
    "CyclicLR",
    "OneCycleLR",
    "SequentialLR",
    "ChainedScheduler",
    "ReduceLROnPlateau",
]


# ------------------------------------------------------------------------ argument checks
def _check_optimizer(optimizer, name):
    if not has_param_groups(optimizer):  # duck-typed: anything with param groups is scheduled
        raise _errors.TypeError(
            f"[{name}] expected an Optimizer (param_groups: a list of dicts "
            f"with 'lr'), got {type(optimizer).__name__}"
        )
    for i, group in enumerate(optimizer.param_groups):
        for key in ("lr", "initial_lr"):
            if key in group:
                _non_negative_float(name, f"param_groups[{i}]['{key}']", group[key])


def _int(name, arg, value, low):
    """``value`` as an int >= ``low``: TypeError for a non-int (bools too), else ValueError."""
    what = "a positive int" if low == 1 else f"an int >= {low}"
    if not is_int(value):
        raise _errors.TypeError(f"[{name}] {arg} must be {what}, got {value!r}")
    if value < low:
        raise _errors.ValueError(f"[{name}] {arg} must be {what}, got {value!r}")
    return int(value)


def _float(name, arg, value, ok, what):
    """``value`` as a finite float for which ``ok`` holds; ``what`` says the allowed range."""
    if not is_real(value):
        raise _errors.TypeError(f"[{name}] {arg} must be {what}, got {value!r}")
    if not math.isfinite(value) or not ok(float(value)):
        raise _errors.ValueError(f"[{name}] {arg} must be {what}, got {value!r}")
    return float(value)


def _milestone_list(name, arg, values, low):
    if not isinstance(values, (list, tuple)):
        raise _errors.TypeError(
            f"[{name}] {arg} must be a list of ints, got {type(values).__name__}"
        )
    return [_int(name, "each milestone", v, low) for v in values]


def _increasing_milestones(name, arg, milestones):
    """SequentialLR's milestones: positive ints, strictly increasing."""
    values = _milestone_list(name, arg, milestones, 1)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise _errors.ValueError(
            f"[{name}] milestones must be strictly increasing, got {list(milestones)}"
        )
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
        raise _errors.TypeError(
            f"[{name}] {arg} must be a list of floats, got {type(values).__name__}"
        )
    if length is not None and len(values) != length:
        raise _errors.ValueError(
            f"[{name}] {arg} must hold one value per param group ({length}), got {len(values)}"
        )
    return [_non_negative_float(name, f"each of {arg}", v) for v in values]


def _per_group(name, arg, value, n_groups):
    """A float >= 0 for every param group, or a list of one per group (as torch takes lrs
    and momentums)."""
    if isinstance(value, (list, tuple)):
        return _float_list(name, arg, value, n_groups)
    return [_non_negative_float(name, arg, value)] * n_groups


def _flag(name, arg, value):
    if not isinstance(value, bool):
        raise _errors.TypeError(f"[{name}] {arg} must be True or False, got {value!r}")
    return value


def _choice(name, arg, value, choices):
    if value not in choices:
        raise _errors.ValueError(
            f"[{name}] {arg} must be one of {', '.join(map(repr, choices))}, got {value!r}"
        )
    return value


def _position(name, arg, value):
    """An epoch or a place in a cycle: a number >= 0, fractions allowed, kept as given."""
    _float(name, arg, value, lambda x: x >= 0, "a number >= 0")
    return value


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
    _settings: dict[str, Any] = {}
    # Attributes that hold the user's functions (a function, a list of them, or None). For
    # each function a state dict holds what torch's holds: a copy of a callable object's
    # __dict__, None for a plain function; loading it updates those objects.
    _functions: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        _check_optimizer(optimizer, name)
        last_epoch = _epoch(name, "last_epoch", last_epoch)
        for i, group in enumerate(optimizer.param_groups):  # all checked before any is set
            if last_epoch != -1 and "initial_lr" not in group:
                raise _errors.ValueError(
                    f"[{name}] resuming at last_epoch={last_epoch} needs "
                    "'initial_lr' in every param group (load the optimizer's "
                    f"state first); param_groups[{i}] has none"
                )
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", float(group["lr"]))
        self.optimizer = optimizer
        self.base_lrs = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        if last_epoch == -1:
            self.step()
        else:
            self._step_to(last_epoch + 1)

    def _take_settings(self, **arguments) -> None:
        """Check each constructor argument with its ``_settings`` check and keep it, so that
        construction and load_state_dict check alike."""
        for key, value in arguments.items():
            setattr(self, key, self._settings[key](type(self).__name__, key, value))

    def get_lr(self) -> list[float]:
        """The lr of each param group at epoch ``self.last_epoch`` (just advanced), computed
        from the group's current lr."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set each group's lr (chainable: from its current lr)."""
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _step_to(self, epoch) -> None:
        """Go to ``epoch`` and set the lrs from the closed form where the schedule has one
        (torch's ``step(epoch)``), else take an ordinary step into it."""
        if hasattr(self, "_get_closed_form_lr"):
            self.last_epoch = epoch
            self._set_lrs(self._get_closed_form_lr())
        else:
            self.last_epoch = epoch - 1
            self.step()

    def _set_lrs(self, lrs) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lrs the last ``step()`` set, one per param group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, as plain Python values (copies)."""
        state = {
            k: copy.deepcopy(v)
            for k, v in self.__dict__.items()
            if k != "optimizer" and k not in self._functions
        }
        for key in self._functions:
            functions = getattr(self, key)
            state[key] = (
                [_function_state(f) for f in functions]
                if isinstance(functions, list)
                else _function_state(functions)
            )
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the state a ``state_dict()`` of this kind of scheduler returned. Everything is
        checked first: a rejected state dict leaves the scheduler as it was."""
        self._apply_state(self._checked_state(state_dict))

    # -------------------------------------------------------------- state checks
    def _apply_state(self, checked) -> None:
        """Set a state ``_checked_state`` returned."""
        checked = dict(checked)
        for key in self._functions:
            for function, saved in _function_pairs(getattr(self, key), checked.pop(key)):
                if saved is not None:
                    vars(function).update(saved)
        self.__dict__.update(checked)

    def _state_checks(self):
        """{key: check(name, arg, value) -> the value to keep} for this scheduler's state."""
        n_groups = len(self.optimizer.param_groups)

        def lrs(name, arg, value):
            return _float_list(name, arg, value, n_groups)

        checks = {"last_epoch": _epoch, "base_lrs": lrs, "_last_lr": lrs, **self._settings}
        for key in self._functions:
            checks[key] = self._function_state_check(getattr(self, key))
        return checks

    @staticmethod
    def _function_state_check(functions):
        """The check of the saved state of ``functions`` (the attribute's value)."""

        def check(name, arg, value):
            expected = (
                "None or a dict (a callable object's __dict__, as state_dict() makes) per function"
            )
            if isinstance(functions, list) and (
                not isinstance(value, list) or len(value) != len(functions)
            ):
                raise _errors.ValueError(
                    f"[{name}] {arg} must be a list of {len(functions)}: {expected}, got {value!r}"
                )
            for function, saved in _function_pairs(functions, value):
                if saved is not None and (
                    not isinstance(saved, dict) or _function_state(function) is None
                ):
                    raise _errors.ValueError(
                        f"[{name}] {arg} must hold {expected} of a callable object, got {value!r}"
                    )
            return copy.deepcopy(value)

        return check

    def _checked_state(self, state_dict):
        """The values ``load_state_dict(state_dict)`` would set, all checked (copies); raises
        TypeError / ValueError naming ``[<Scheduler>.load_state_dict]`` and changes nothing."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise _errors.TypeError(f"[{name}] expected a dict, got {type(state_dict).__name__}")
        expected = set(self.state_dict())
        unknown = sorted(map(repr, set(state_dict) - expected))
        missing = sorted(expected - set(state_dict))
        if unknown or missing:
            raise _errors.ValueError(
                f"[{name}] the state dict is not a {type(self).__name__}'s: "
                + "; ".join(
                    ([f"unknown keys {', '.join(unknown)}"] if unknown else [])
                    + ([f"missing keys {missing}"] if missing else [])
                )
            )
        checks = self._state_checks()
        return {
            key: checks[key](name, key, value) if key in checks else copy.deepcopy(value)
            for key, value in state_dict.items()
        }


_LRScheduler = LRScheduler  # torch's older name, which custom schedulers still subclass


def _function_state(function):
    """What a state dict keeps of a user's function (torch's form): a copy of a callable
    object's __dict__; None for a plain function, a builtin, or no function."""
    if (
        function is None
        or isinstance(function, types.FunctionType)
        or not hasattr(function, "__dict__")
    ):
        return None
    return copy.deepcopy(vars(function))


def _function_pairs(functions, saved):
    """(function, its saved state) pairs of an attribute of ``_functions``."""
    return zip(functions, saved) if isinstance(functions, list) else [(functions, saved)]


# ------------------------------------------------------------------------ schedules
# A factor of the initial lr by epoch, for every param group or one per group.
LrLambda = Callable[[int], float] | Sequence[Callable[[int], float]]
# A setting of every param group (one number) or of each (a number per group).
PerGroup = float | Sequence[float]


class _FunctionScheduler(LRScheduler):
    """LambdaLR's and MultiplicativeLR's ``lr_lambda``: a function of the epoch for every
    param group, or a list of one per group."""

    _functions = ("lr_lambdas",)

    def __init__(self, optimizer: Optimizer, lr_lambda: LrLambda, last_epoch: int = -1) -> None:
        name = type(self).__name__
        _check_optimizer(optimizer, name)
        n_groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)) and len(lr_lambda) != n_groups:
            raise _errors.ValueError(
                f"[{name}] expected {n_groups} lr_lambdas (one per param "
                f"group), got {len(lr_lambda)}"
            )
        functions = (
            list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else ([lr_lambda] * n_groups)
        )
        for function in functions:
            if not callable(function):
                raise _errors.TypeError(
                    f"[{name}] lr_lambda must be a function of the epoch or a "
                    f"list of them, got {type(function).__name__}"
                )
        self.lr_lambdas = functions
        super().__init__(optimizer, last_epoch)

    def _factors(self):
        """Each group's function at ``last_epoch``: a factor, a finite number >= 0."""
        name, epoch = type(self).__name__, self.last_epoch
        return [
            _float(name, f"lr_lambda({epoch})", function(epoch), lambda x: x >= 0, "a float >= 0")
            for function in self.lr_lambdas
        ]


class LambdaLR(_FunctionScheduler):
    """``lr = base_lr * lr_lambda(epoch)``, one function for every group or one per group.

    As torch's, its state dict holds, per function, None (a plain function or lambda: not
    saved, the one the scheduler was built with is used) or a copy of a callable object's
    ``__dict__`` (loaded back into that object)."""

    def get_lr(self) -> list[float]:
        return [base * factor for base, factor in zip(self.base_lrs, self._factors())]


class MultiplicativeLR(_FunctionScheduler):
    """Multiplies each group's lr by ``lr_lambda(epoch)`` at every epoch after epoch 0
    (chainable); the functions are saved as LambdaLR's."""

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._current_lrs()
        return [lr * factor for lr, factor in zip(self._current_lrs(), self._factors())]


class StepLR(LRScheduler):
    """Multiplies the lr by ``gamma`` at every epoch > 0 divisible by ``step_size``; alone,
    ``lr = base_lr * gamma ** (epoch // step_size)``."""

    _settings = {"step_size": _positive_int, "gamma": _positive_float}
    step_size: int
    gamma: float

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self._take_settings(step_size=step_size, gamma=gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
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
    milestones: Counter[int]
    gamma: float

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self._take_settings(milestones=milestones, gamma=gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        factor = self.gamma ** bisect_right(milestones, self.last_epoch)
        return [base * factor for base in self.base_lrs]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["milestones"] = sorted(self.milestones.elements())  # JSON-plain, unlike a Counter
        return state


class ExponentialLR(LRScheduler):
    """Multiplies the lr by ``gamma`` every epoch after epoch 0; alone,
    ``lr = base_lr * gamma ** epoch``."""

    _settings = {"gamma": _positive_float}
    gamma: float

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self._take_settings(gamma=gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


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
    T_max: int
    eta_min: float

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        self._take_settings(T_max=T_max, eta_min=eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return self._current_lrs()
        if (t - 1 - t_max) % (2 * t_max) == 0:
            rise = (1 - math.cos(math.pi / t_max)) / 2
            return [
                lr + (base - eta_min) * rise for lr, base in zip(self._current_lrs(), self.base_lrs)
            ]
        ratio = (1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max))
        return [eta_min + (lr - eta_min) * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing from ``base_lr`` to ``eta_min`` restarted every cycle, the first
    ``T_0`` epochs long, each next one ``T_mult`` times longer:
    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``, ``T_cur`` the
    epochs since the last restart, ``T_i`` the current cycle's length.

    As torch's, ``step(epoch)`` goes to ``epoch``, a fraction allowed (``step(epoch + i /
    iters)`` within an epoch); the cycle holding it is found in exact arithmetic (torch
    takes a float logarithm, which can land one cycle off at a restart)."""

    _settings = {"T_0": _positive_int, "T_mult": _positive_int, "eta_min": _non_negative_float}
    T_0: int
    T_mult: int
    eta_min: float

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self._take_settings(T_0=T_0, T_mult=T_mult, eta_min=eta_min)
        self.T_i = self.T_0
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch (restarting at the end of a cycle), or go to ``epoch``."""
        if epoch is None and self.last_epoch >= 0:
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
            self.last_epoch += 1
        else:
            epoch = 0 if epoch is None else _position(type(self).__name__, "epoch", epoch)
            self.T_cur, self.T_i = self._cycle_at(epoch)
            self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())

    def _step_to(self, epoch) -> None:
        self.step(epoch)

    def _cycle_at(self, epoch):
        """(T_cur, T_i) at ``epoch``: the epochs since the restart before it, and the length
        of its cycle."""
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        start, length = 0, self.T_0
        while epoch >= start + length:
            start, length = start + length, length * self.T_mult
        return epoch - start, length

    def _state_checks(self):
        return {**super()._state_checks(), "T_i": _positive_int, "T_cur": _position}


class LinearLR(LRScheduler):
    """Scales the lr by a factor going linearly from ``start_factor`` (epoch 0) to
    ``end_factor`` (epoch ``total_iters``, and after): the usual warm-up. Chainable as in
    torch: epoch 0 multiplies the lr by ``start_factor``, each epoch ``t <= total_iters`` by
    the ratio of consecutive factors, ``1 + (end - start) / (total_iters * start +
    (t - 1) * (end - start))``, later epochs leave it."""

    _settings = {
        "start_factor": _start_factor,
        "end_factor": _end_factor,
        "total_iters": _positive_int,
    }
    start_factor: float
    end_factor: float
    total_iters: int

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        self._take_settings(
            start_factor=start_factor, end_factor=end_factor, total_iters=total_iters
        )
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
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


class ConstantLR(LRScheduler):
    """Scales the lr by ``factor`` for the first ``total_iters`` epochs, then gives it back:
    a constant warm-up. Chainable as in torch: epoch 0 multiplies the lr by ``factor``, epoch
    ``total_iters`` divides it by ``factor``, the others leave it."""

    # factor 0 could not be undone at total_iters (PyTorch divides by it there)
    _settings = {"factor": _start_factor, "total_iters": _positive_int}
    factor: float
    total_iters: int

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        self._take_settings(factor=factor, total_iters=total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if t == self.total_iters:
            return [lr / self.factor for lr in self._current_lrs()]
        return self._current_lrs()

    def _get_closed_form_lr(self):
        factor = self.factor if self.last_epoch < self.total_iters else 1.0
        return [base * factor for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decays the lr by a polynomial of the epoch to 0 at ``total_iters``; chainable as in
    torch (each epoch ``t <= total_iters`` multiplies by ``((1 - t / total_iters) / (1 - (t -
    1) / total_iters)) ** power``), alone ``lr = base_lr * (1 - min(t, total_iters) /
    total_iters) ** power``."""

    _settings = {"total_iters": _positive_int, "power": _non_negative_float}
    total_iters: int
    power: float

    def __init__(
        self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1
    ) -> None:
        self._take_settings(total_iters=total_iters, power=power)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, total = self.last_epoch, self.total_iters
        if t == 0 or t > total:
            return self._current_lrs()
        factor = ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        factor = (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
        return [base * factor for base in self.base_lrs]


# ---------------------------------------------------------------- cycles (with momentum)
def _momentum_cycle(name, optimizer, base_momentum, max_momentum):
    """CyclicLR's and OneCycleLR's momentum settings, checked: whether the momentum that
    cycles is beta1 (Adam and its variants) rather than "momentum" (SGD, RMSprop), and each
    group's base and max momentum."""
    defaults = getattr(optimizer, "defaults", {})
    if "momentum" not in defaults and "betas" not in defaults:
        raise _errors.ValueError(
            f"[{name}] cycle_momentum needs an optimizer with a 'momentum' or "
            f"'betas' hyperparameter, got {type(optimizer).__name__}; pass "
            "cycle_momentum=False"
        )
    n_groups = len(optimizer.param_groups)
    return (
        "betas" in defaults,
        _per_group(name, "base_momentum", base_momentum, n_groups),
        _per_group(name, "max_momentum", max_momentum, n_groups),
    )


def _set_momentum(group, momentum, use_beta1) -> None:
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _start_momentum_cycle(optimizer, use_beta1, base_momentums, max_momentums) -> None:
    """Each group starts at its max momentum and keeps both bounds, as torch's do."""
    for group, low, high in zip(optimizer.param_groups, base_momentums, max_momentums):
        _set_momentum(group, high, use_beta1)
        group["max_momentum"] = high
        group["base_momentum"] = low


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


class CyclicLR(LRScheduler):
    """Cycles each group's lr between ``base_lr`` and ``max_lr`` (a float, or one per group):
    up over ``step_size_up`` steps, down over ``step_size_down`` (default: as up), the
    height of each cycle scaled by ``mode``: 'triangular' (1), 'triangular2' (halved each
    cycle), 'exp_range' (``gamma ** step``), or by ``scale_fn(x)``, x the cycle number
    (``scale_mode='cycle'``) or the step ('iterations'). With ``cycle_momentum`` the
    optimizer's momentum (or beta1) cycles the other way, between ``max_momentum`` and
    ``base_momentum``. Meant to be stepped after each batch.

    Building it (with ``last_epoch=-1``) sets each group's lr to ``base_lr``, as torch's does.
    ``scale_fn`` is saved as LambdaLR's functions are."""

    _settings = {
        "mode": lambda name, arg, value: _choice(name, arg, value, _CYCLIC_MODES),
        "gamma": _positive_float,
        "scale_mode": lambda name, arg, value: _choice(name, arg, value, ("cycle", "iterations")),
        "cycle_momentum": _flag,
        "use_beta1": _flag,
        "total_size": _positive_float,
        "step_ratio": lambda name, arg, value: _float(
            name, arg, value, lambda x: 0 < x < 1, "in (0, 1)"
        ),
    }
    _functions = ("_scale_fn_custom",)
    mode: str
    gamma: float
    scale_mode: str
    cycle_momentum: bool
    use_beta1: bool
    total_size: float

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: PerGroup,
        max_lr: PerGroup,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: PerGroup = 0.8,
        max_momentum: PerGroup = 0.9,
        last_epoch: int = -1,
    ) -> None:
        name = "CyclicLR"
        _check_optimizer(optimizer, name)
        n_groups = len(optimizer.param_groups)
        base_lrs = _per_group(name, "base_lr", base_lr, n_groups)
        self.max_lrs = _per_group(name, "max_lr", max_lr, n_groups)
        up = _positive_int(name, "step_size_up", step_size_up)
        down = (
            up if step_size_down is None else _positive_int(name, "step_size_down", step_size_down)
        )
        if scale_fn is not None and not callable(scale_fn):
            raise _errors.TypeError(
                f"[{name}] scale_fn must be a function or None, got {type(scale_fn).__name__}"
            )
        self._take_settings(
            mode=mode, gamma=gamma, cycle_momentum=cycle_momentum, total_size=float(up + down)
        )
        if scale_fn is None:  # the mode's scaling takes the cycle or the step, whatever given
            scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self._take_settings(scale_mode=scale_mode)
        self.step_ratio = up / self.total_size
        self._scale_fn_custom = scale_fn
        if cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _momentum_cycle(
                name, optimizer, base_momentum, max_momentum
            )
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
            if cycle_momentum:
                _start_momentum_cycle(
                    optimizer, self.use_beta1, self.base_momentums, self.max_momentums
                )
        super().__init__(optimizer, last_epoch)
        # The cycle's bounds are base_lr, not the groups' initial_lr (which another
        # scheduler may have set first): the lr of the first epoch is set again from them.
        self.base_lrs = base_lrs
        self._set_lrs(self.get_lr())

    def scale_fn(self, x: float) -> float:
        """The height of the cycle at x (the cycle number or the step, by scale_mode)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        rise = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        height = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        if self.cycle_momentum:
            for group, low, high in zip(
                self.optimizer.param_groups, self.base_momentums, self.max_momentums
            ):
                _set_momentum(group, high - (high - low) * rise * height, self.use_beta1)
        return [
            base + (top - base) * rise * height for base, top in zip(self.base_lrs, self.max_lrs)
        ]

    def _state_checks(self):
        n_groups = len(self.optimizer.param_groups)

        def per_group(name, arg, value):
            return _float_list(name, arg, value, n_groups)

        return {
            **super()._state_checks(),
            "max_lrs": per_group,
            "base_momentums": per_group,
            "max_momentums": per_group,
        }


class OneCycleLR(LRScheduler):
    """The 1cycle policy: the lr anneals from ``max_lr / div_factor`` up to ``max_lr`` over
    the first ``pct_start`` of ``total_steps`` (or ``epochs * steps_per_epoch``), then down to
    ``max_lr / div_factor / final_div_factor`` (with ``three_phase``: back to the start first,
    then down), by a cosine or linearly (``anneal_strategy``); with ``cycle_momentum`` the
    momentum (or beta1) goes the other way between ``max_momentum`` and ``base_momentum``.
    Stepped after each batch; a step past ``total_steps`` is a ValueError.

    Building it (with ``last_epoch=-1``) sets each group's ``initial_lr``, ``max_lr`` and
    ``min_lr`` (and momentum bounds), as torch's does."""

    _settings = {
        "total_steps": _positive_int,
        "cycle_momentum": _flag,
        "use_beta1": _flag,
        "_anneal_func_type": lambda name, arg, value: _choice(name, arg, value, ("cos", "linear")),
    }
    total_steps: int
    cycle_momentum: bool
    use_beta1: bool
    _anneal_func_type: str

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: PerGroup,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: PerGroup = 0.85,
        max_momentum: PerGroup = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        name = "OneCycleLR"
        _check_optimizer(optimizer, name)
        if total_steps is None and (epochs is None or steps_per_epoch is None):
            raise _errors.ValueError(
                f"[{name}] expected total_steps, or epochs and steps_per_epoch"
            )
        if total_steps is None:
            total_steps = _positive_int(name, "epochs", epochs) * _positive_int(
                name, "steps_per_epoch", steps_per_epoch
            )
        self._take_settings(
            total_steps=total_steps,
            cycle_momentum=cycle_momentum,
            _anneal_func_type=anneal_strategy,
        )
        pct_start = _float(name, "pct_start", pct_start, lambda x: 0 <= x <= 1, "in [0, 1]")
        max_lrs = _per_group(name, "max_lr", max_lr, len(optimizer.param_groups))
        div_factor = _positive_float(name, "div_factor", div_factor)
        final_div_factor = _positive_float(name, "final_div_factor", final_div_factor)
        self._schedule_phases = _one_cycle_phases(
            pct_start, self.total_steps, _flag(name, "three_phase", three_phase)
        )
        if cycle_momentum:
            self.use_beta1, base_momentums, max_momentums = _momentum_cycle(
                name, optimizer, base_momentum, max_momentum
            )
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
            if cycle_momentum:
                _start_momentum_cycle(optimizer, self.use_beta1, base_momentums, max_momentums)
        else:
            needed = ["max_lr", "min_lr"] + (
                ["max_momentum", "base_momentum"] if cycle_momentum else []
            )
            for i, group in enumerate(optimizer.param_groups):
                missing = [key for key in needed if key not in group]
                if missing:
                    raise _errors.ValueError(
                        f"[{name}] resuming at last_epoch={last_epoch} needs "
                        f"{needed} in every param group (load the optimizer's "
                        f"state first); param_groups[{i}] has no {missing}"
                    )
        super().__init__(optimizer, last_epoch)

    def step(self) -> None:
        if self.last_epoch >= self.total_steps:
            raise _errors.ValueError(
                f"[OneCycleLR] stepped past total_steps={self.total_steps}: "
                f"step {self.last_epoch + 1} asked for"
            )
        super().step()

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step, lrs = self.last_epoch, []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == len(self._schedule_phases) - 1:
                    # A phase of no steps (torch divides by zero there) is at its end.
                    pct = (step - start) / (end - start) if end != start else 1.0
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        _set_momentum(
                            group,
                            self._anneal(
                                group[phase["start_momentum"]], group[phase["end_momentum"]], pct
                            ),
                            self.use_beta1,
                        )
                    break
                start = end
        return lrs

    def _state_checks(self):
        return {**super()._state_checks(), "_schedule_phases": _phases}


def _one_cycle_phases(pct_start, total_steps, three_phase):
    """OneCycleLR's phases as torch's: the step each ends at, and the group keys of the lr
    and momentum at its start and end."""

    def phase(end_step, lrs, momentums):
        return {
            "end_step": end_step,
            "start_lr": lrs[0],
            "end_lr": lrs[1],
            "start_momentum": momentums[0],
            "end_momentum": momentums[1],
        }

    warm_up = phase(
        float(pct_start * total_steps) - 1,
        ("initial_lr", "max_lr"),
        ("max_momentum", "base_momentum"),
    )
    if not three_phase:
        return [
            warm_up,
            phase(total_steps - 1, ("max_lr", "min_lr"), ("base_momentum", "max_momentum")),
        ]
    return [
        warm_up,
        phase(
            float(2 * pct_start * total_steps) - 2,
            ("max_lr", "initial_lr"),
            ("base_momentum", "max_momentum"),
        ),
        phase(total_steps - 1, ("initial_lr", "min_lr"), ("max_momentum", "max_momentum")),
    ]


def _phases(name, arg, value):
    """OneCycleLR's saved phases: a list of dicts as _one_cycle_phases makes."""
    keys = {"end_step", "start_lr", "end_lr", "start_momentum", "end_momentum"}
    names = {"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"}
    if (
        not isinstance(value, list)
        or not value
        or not all(
            isinstance(p, dict)
            and set(p) == keys
            and is_real(p["end_step"])
            and all(p[k] in names for k in keys - {"end_step"})
            for p in value
        )
    ):
        raise _errors.ValueError(
            f"[{name}] {arg} must be a list of phases as OneCycleLR makes them, got {value!r}"
        )
    return copy.deepcopy(value)


class _SchedulerList(LRScheduler):
    """SequentialLR's and ChainedScheduler's schedulers: their checks, and a state dict
    holding each one's state, all checked before any is loaded."""

    _schedulers: list[LRScheduler]

    @staticmethod
    def _checked_schedulers(name, schedulers, optimizer):
        """``schedulers`` (a non-empty list of schedulers of one optimizer) as a list, and that
        optimizer (the first scheduler's when ``optimizer`` is None)."""
        if optimizer is not None:
            _check_optimizer(optimizer, name)
        if not isinstance(schedulers, (list, tuple)) or not schedulers:
            raise _errors.ValueError(
                f"[{name}] schedulers must be a non-empty list of schedulers, got {schedulers!r}"
            )
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise _errors.ValueError(
                    f"[{name}] schedulers[{i}] is a ReduceLROnPlateau, whose "
                    f"step() needs a metric; it cannot be {name}'s"
                )
            if not isinstance(s, LRScheduler):
                raise _errors.TypeError(
                    f"[{name}] schedulers[{i}] must be an LRScheduler, got {type(s).__name__}"
                )
        optimizer = schedulers[0].optimizer if optimizer is None else optimizer
        for i, s in enumerate(schedulers):
            if s.optimizer is not optimizer:
                raise _errors.ValueError(
                    f"[{name}] schedulers[{i}] ({type(s).__name__}) schedules a different optimizer"
                )
        return list(schedulers), optimizer

    def state_dict(self) -> dict[str, Any]:
        state = {
            k: copy.deepcopy(v)
            for k, v in self.__dict__.items()
            if k not in ("optimizer", "_schedulers")
        }
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def _apply_state(self, checked) -> None:
        checked = dict(checked)
        for s, s_state in zip(self._schedulers, checked.pop("_schedulers")):
            s._apply_state(s_state)
        self.__dict__.update(checked)

    def _state_checks(self):
        n_groups = len(self.optimizer.param_groups)
        n_schedulers = len(self._schedulers)

        def schedulers(name, arg, value):
            if not isinstance(value, (list, tuple)):
                raise _errors.TypeError(
                    f"[{name}] {arg} must be a list of state dicts, got {type(value).__name__}"
                )
            if len(value) != n_schedulers:
                raise _errors.ValueError(
                    f"[{name}] the state dict holds {len(value)} schedulers, "
                    f"this {type(self).__name__} has {n_schedulers}"
                )
            checked = []
            for i, (s, s_state) in enumerate(zip(self._schedulers, value)):
                try:
                    checked.append(s._checked_state(s_state))
                except (TypeError, ValueError) as e:
                    raise type(e)(f"[{name}] {arg}[{i}]: {e}") from None
            return checked

        return {
            "_last_lr": lambda name, arg, value: _float_list(name, arg, value, n_groups),
            "_schedulers": schedulers,
        }


class SequentialLR(_SchedulerList):
    """Runs ``schedulers[i]`` from ``milestones[i - 1]`` on; each one starts at its own epoch 0
    when its milestone is reached, from its closed form there (torch's ``_update_lr(0)``:
    ``base_lr`` times its epoch-0 factor, not the lr the previous scheduler left), then steps
    chainably. Its state dict holds every scheduler's."""

    def __init__(
        self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int]
    ) -> None:
        name = "SequentialLR"
        _check_optimizer(optimizer, name)  # given, unlike ChainedScheduler's
        self._schedulers, self.optimizer = self._checked_schedulers(name, schedulers, optimizer)
        self._milestones = _increasing_milestones(name, "milestones", milestones)
        if len(self._milestones) != len(schedulers) - 1:
            raise _errors.ValueError(
                f"[{name}] expected {len(schedulers) - 1} milestones for "
                f"{len(schedulers)} schedulers, got {len(self._milestones)}"
            )
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

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._step_to(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def _state_checks(self):
        n_schedulers = len(self._schedulers)

        def milestones(name, arg, value):
            values = _increasing_milestones(name, arg, value)
            if len(values) != n_schedulers - 1:
                raise _errors.ValueError(
                    f"[{name}] expected {n_schedulers - 1} milestones for "
                    f"{n_schedulers} schedulers, got {len(values)}"
                )
            return values

        return {
            **super()._state_checks(),
            "last_epoch": _non_negative_int,
            "_milestones": milestones,
        }


class ChainedScheduler(_SchedulerList):
    """Steps each of ``schedulers`` in turn at every ``step()``: chainable schedules of one
    optimizer (``optimizer``, or the first scheduler's) whose factors multiply, as when
    stepped one by one. Its state dict holds every scheduler's."""

    def __init__(
        self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None
    ) -> None:
        self._schedulers, self.optimizer = self._checked_schedulers(
            "ChainedScheduler", schedulers, optimizer
        )
        self._last_lr = self._current_lrs()

    def step(self) -> None:
        for s in self._schedulers:
            s.step()
        self._last_lr = self._current_lrs()


# ------------------------------------------------------------------------ on plateau
class ReduceLROnPlateau(LRScheduler):
    """Multiplies the lrs by ``factor`` once the metric given to ``step(metric)`` has not
    improved for more than ``patience`` steps, then waits ``cooldown`` steps before counting
    again. Improvement means beating the best value by ``threshold`` (relative or absolute);
    lrs never go below ``min_lr`` (one float, or one per param group), and a change smaller
    than ``eps`` is skipped. Like torch's, it scales the current lrs (chainable).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0,
        eps: float = 1e-8,
    ) -> None:
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
                raise _errors.ValueError(
                    f"[{name}] expected {n_groups} min_lrs (one per param group), got {len(min_lr)}"
                )
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

    def is_better(self, a: float, best: float) -> bool:
        """Whether ``a`` improves on ``best`` by more than the threshold, in ``mode``'s
        direction."""
        if self.mode == "min":
            return a < (
                best * (1 - self.threshold)
                if self.threshold_mode == "rel"
                else best - self.threshold
            )
        return a > (
            best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        )

    @property
    def in_cooldown(self) -> bool:
        """Whether the cooldown after a reduction is still running (bad epochs not counted)."""
        return self.cooldown_counter > 0

    def step(self, metrics: SupportsFloat) -> None:  # type: ignore[override]
        """Record one value of the monitored metric (a number or a one-element Tensor)."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise _errors.TypeError(
                "[ReduceLROnPlateau] step() expects the monitored metric as a "
                f"number, got {type(metrics).__name__}"
            ) from None
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
            raise RuntimeError(
                f"[ReduceLROnPlateau] the optimizer has {len(groups)} param "
                f"groups but min_lrs has {len(self.min_lrs)}; a group was added "
                "after the scheduler was built"
            )
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
                raise _errors.TypeError(f"[{name}] {arg} must be a number, got {value!r}")
            if math.isnan(value):
                raise _errors.ValueError(f"[{name}] {arg} must not be NaN")
            return float(value)

        return {
            "factor": _plateau_factor,
            "patience": _non_negative_int,
            "cooldown": _non_negative_int,
            "threshold": _non_negative_float,
            "eps": _non_negative_float,
            "mode": _mode,
            "threshold_mode": _threshold_mode,
            "default_min_lr": default_min_lr,
            "min_lrs": min_lrs,
            "best": best,
            "num_bad_epochs": _non_negative_int,
            "cooldown_counter": _non_negative_int,
            "last_epoch": _non_negative_int,
            "_last_lr": lambda name, arg, value: _float_list(name, arg, value, n_groups),
        }

    def _checked_state(self, state_dict):
        checked = super()._checked_state(state_dict)
        name = "ReduceLROnPlateau.load_state_dict"
        n_groups = len(self.optimizer.param_groups)
        if checked["default_min_lr"] is None and len(checked["min_lrs"]) != n_groups:
            raise _errors.ValueError(
                f"[{name}] min_lrs must hold one value per param group "
                f"({n_groups}), got {len(checked['min_lrs'])}"
            )
        return checked


def _mode(name, arg, value):
    if value not in ("min", "max"):
        raise _errors.ValueError(f"[{name}] {arg} must be 'min' or 'max', got {value!r}")
    return value


def _threshold_mode(name, arg, value):
    if value not in ("rel", "abs"):
        raise _errors.ValueError(f"[{name}] {arg} must be 'rel' or 'abs', got {value!r}")
    return value


def _plateau_factor(name, arg, value):
    return _float(name, arg, value, lambda x: 0 < x < 1, "in (0, 1)")
