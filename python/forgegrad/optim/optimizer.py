"""``Optimizer``: parameter groups, state, ``zero_grad``, ``step`` and state dicts.

A subclass supplies its defaults, a check of one group's hyperparameters, and ``_update``,
the fused update of one group's parameters that have gradients; this class does the rest.
"""

from collections.abc import Callable, Iterable
from typing import Any, TypeVar
import copy
import math
import numbers

from .. import _C, _errors
from .. import creation
from ..autograd import enable_grad, no_grad
from ..nn.module import Module
from .._checks import is_real


_Loss = TypeVar("_Loss")  # what a step's closure returns: the loss

# What an optimizer takes: Parameters (model.parameters()), or groups of them, each a dict
# {"params": [...], "lr": ..., ...} with its own hyperparameters.
Params = Iterable[_C.Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class of the optimizers: parameter groups, per-parameter state, zero_grad,
    step and state dicts, as torch.optim.Optimizer.

    Args:
        params: an iterable of Tensors, or of dicts each holding ``"params"`` and the
            hyperparameters that differ for that group.
        defaults: the hyperparameters of groups that do not set them.

    Examples:
        >>> model = nn.Linear(3, 1)
        >>> opt = fg.optim.SGD([{"params": [model.weight]},
        ...                     {"params": [model.bias], "lr": 0.1}], lr=0.01)
        >>> [group["lr"] for group in opt.param_groups]
        [0.01, 0.1]
    """

    # Keys every non-empty per-parameter state holds (checked when a state dict is loaded).
    _state_keys: tuple[str, ...] = ()
    # Per-parameter state entries that are buffers shaped like the parameter: a loaded one
    # must be such a Tensor, or None for those in _optional_buffer_keys ("not started yet").
    _buffer_keys: tuple[str, ...] = ()
    _optional_buffer_keys: tuple[str, ...] = ()

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self._check_group(self.defaults)
        # parameter Tensor -> its state (Tensors hash by identity)
        self.state: dict[Any, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, _C.Tensor):
            raise _errors.TypeError(
                f"[{self._name}] params must be an iterable of Tensors or of "
                "dicts, got a single Tensor"
            )
        if isinstance(params, (Module, str, bytes, dict)) or not hasattr(params, "__iter__"):
            raise _errors.TypeError(
                f"[{self._name}] params must be an iterable of Tensors or of "
                f"dicts (e.g. model.parameters()), got {type(params).__name__}"
            )
        groups: list[Any] = list(params)  # Parameters, or dicts of them
        if not groups:
            raise _errors.ValueError(f"[{self._name}] got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self):
        return type(self).__name__

    # ---- the subclass's part ----
    def _check_group(self, group) -> None:
        """Raise ValueError for a hyperparameter out of range (here: lr, when given, so a
        PyTorch-style subclass that only writes __init__ and step() works)."""
        if "lr" in group:
            check_number(self, group, "lr")

    def _update(self, group, params):
        """Update `params` (those of `group` with a gradient) in place, under no_grad."""
        raise NotImplementedError(f"[{self._name}] defines neither _update() nor step()")

    def _next_states(self, params, buffers, **initial):
        """Each parameter's state for this step: a copy of its state (``{"step": 0,
        **initial}`` at its first step) with "step" advanced and each of ``buffers`` ({key:
        fill value}) created, filled, where missing. Built aside and stored by the caller
        only after the kernel ran, so an interrupted step advances no step count without its
        update."""
        states = []
        for p in params:
            state = dict(self.state.get(p) or {"step": 0, **initial})
            for key, fill in buffers.items():
                if state.get(key) is None:
                    state[key] = creation.full(p.shape, fill, dtype=p.dtype, device=p.device)
            state["step"] += 1
            states.append(state)
        return states

    # ---- groups ----
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``"params"``), missing hyperparameters
        taken from the defaults.

        Raises:
            TypeError: ``param_group`` is not a dict, or holds something other than Tensors.
            ValueError: a parameter is already in another group, or a hyperparameter is out of
                range.
        """
        if not isinstance(param_group, dict):
            raise _errors.TypeError(
                f"[{self._name}] a param group must be a dict, got {type(param_group).__name__}"
            )
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise _errors.ValueError(f"[{self._name}] a param group needs a 'params' entry")
        group["params"] = [params] if isinstance(params, _C.Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in group["params"]:
            if not isinstance(p, _C.Tensor):
                raise _errors.TypeError(
                    f"[{self._name}] can only optimize Tensors, got {type(p).__name__}"
                )
            if p.dtype not in (_C.dtype.float32, _C.dtype.float64):
                raise _errors.TypeError(
                    f"[{self._name}] can only optimize float32 and float64 "
                    f"Tensors, got {p.dtype} (keep a float32 master copy of "
                    "float16 or bfloat16 weights)"
                )
            if not p.is_leaf:
                raise _errors.ValueError(
                    f"[{self._name}] can only optimize leaf Tensors (a "
                    "parameter, not the result of an op)"
                )
            if id(p) in seen:
                raise _errors.ValueError(
                    f"[{self._name}] a parameter appears in more than one "
                    "place among the param groups"
                )
            seen.add(id(p))
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter: set them to None, or fill them with zeros
        when ``set_to_none`` is False.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    def step(self, closure: Callable[[], _Loss] | None = None) -> _Loss | None:
        """One update of every parameter that has a gradient; returns closure's loss."""
        for group in self.param_groups:  # every group checked before any is updated
            self._check_group(group)
        loss: _Loss | None = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                if params:
                    self._update(group, params)
        return loss

    # ---- state dicts (PyTorch's layout: parameters by index across the groups) ----
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as PyTorch lays it out: ``{"state": {index: {...}},
        "param_groups": [{..., "params": [index, ...]}]}``, parameters numbered in group
        order; load_state_dict takes it back.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take hyperparameters and state from `state_dict`. Everything is checked first: a
        rejected state dict leaves the optimizer as it was."""
        name = self._name
        if (
            not isinstance(state_dict, dict)
            or set(state_dict) != {"state", "param_groups"}
            or not isinstance(state_dict["state"], dict)
            or not isinstance(state_dict["param_groups"], (list, tuple))
            or not all(isinstance(g, dict) for g in state_dict["param_groups"])
        ):
            raise _errors.ValueError(
                f"[{name}.load_state_dict] expected a dict with 'state' (a "
                "dict) and 'param_groups' (a list of dicts), as state_dict() "
                "makes"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise _errors.ValueError(
                f"[{name}.load_state_dict] the state dict has "
                f"{len(saved_groups)} "
                f"param groups, the optimizer {len(self.param_groups)}"
            )
        params_by_index: dict[int, Any] = {}
        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            saved_params = saved.get("params", ())
            if not isinstance(saved_params, (list, tuple)):
                raise _errors.ValueError(
                    f"[{name}.load_state_dict] param group {i}'s 'params' "
                    "must be a list of parameter indices, got "
                    f"{saved_params!r}"
                )
            saved_params = list(saved_params)
            if len(saved_params) != len(group["params"]):
                raise _errors.ValueError(
                    f"[{name}.load_state_dict] param group {i} has "
                    f"{len(saved_params)} parameters in the state dict, "
                    f"{len(group['params'])} in the optimizer"
                )
            params_by_index.update(zip(saved_params, group["params"]))
            missing = [k for k in self.defaults if k not in saved]
            if missing:
                raise _errors.ValueError(
                    f"[{name}.load_state_dict] param group {i} has no {missing}"
                )
            new_group = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            new_group["params"] = group["params"]
            self._check_group(new_group)
            new_groups.append(new_group)
        new_state = {}
        for index, saved in state_dict["state"].items():
            if index not in params_by_index:
                raise _errors.ValueError(
                    f"[{name}.load_state_dict] state for parameter {index}, "
                    "which no param group lists"
                )
            p = params_by_index[index]
            new_state[p] = self._checked_state(saved, p, index)
        self.param_groups = new_groups
        self.state = new_state

    def _checked_state(self, saved, p, index):
        """A copy of one parameter's saved state, on p's device, after checking it fits p."""
        where = f"[{self._name}.load_state_dict] state of parameter {index}"
        if not isinstance(saved, dict):
            raise _errors.ValueError(f"{where}: expected a dict, got {type(saved).__name__}")
        missing = [k for k in self._state_keys if k not in saved]
        if saved and missing:
            raise _errors.ValueError(f"{where}: missing {missing}")
        state = {}
        for key, value in saved.items():
            if isinstance(value, _C.Tensor):
                if value.shape != p.shape or value.dtype != p.dtype:
                    raise _errors.ValueError(
                        f"{where}: expected {key} of shape {p.shape} and "
                        f"dtype {p.dtype}, got shape {value.shape} and dtype "
                        f"{value.dtype}"
                    )
                value = value.detach().to(p.device).clone()
            elif key == "step" and (not isinstance(value, numbers.Integral) or value < 0):
                raise _errors.ValueError(f"{where}: expected a step count >= 0, got {value!r}")
            elif key in self._buffer_keys and not (
                value is None and key in self._optional_buffer_keys
            ):
                raise _errors.ValueError(
                    f"{where}: expected {key} to be a Tensor of shape "
                    f"{p.shape}, got {type(value).__name__}"
                )
            state[key] = value
        return state

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])


def has_param_groups(optimizer):
    """Whether `optimizer` holds param groups as an Optimizer does (a non-empty list of dicts
    with 'lr'): what schedulers and fit need of one, duck-typed."""
    groups = getattr(optimizer, "param_groups", None)
    return (
        isinstance(groups, list)
        and bool(groups)
        and all(isinstance(g, dict) and "lr" in g for g in groups)
    )


# ---- hyperparameter checks shared by the optimizers ----
def check_number(
    optimizer, group, key, low: float = 0.0, high=math.inf, high_inclusive: bool = True
):
    """group[key] must be a real number in [low, high] (or [low, high))."""
    value = group[key]
    if not is_real(value):
        raise _errors.TypeError(f"[{optimizer._name}] {key} must be a number, got {value!r}")
    if (
        not math.isfinite(value)
        or value < low
        or value > high
        or (value == high and not high_inclusive)
    ):
        bracket = "]" if high_inclusive else ")"
        raise _errors.ValueError(
            f"[{optimizer._name}] {key} must be a finite number in "
            f"[{low}, {high}{bracket}, got {value}"
        )


def check_hyperparameters(optimizer, group, numbers, flags, fractions=(), betas: bool = False):
    """Each of ``numbers`` a finite number >= 0, each of ``fractions`` one in [0, 1], each of
    ``flags`` True or False and, with ``betas``, group["betas"] a pair of numbers in [0, 1)
    (kept as a tuple)."""
    for key in numbers:
        check_number(optimizer, group, key)
    for key in fractions:
        check_number(optimizer, group, key, 0.0, 1.0)
    for key in flags:
        check_flag(optimizer, group, key)
    if not betas:
        return
    pair = group["betas"]
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise _errors.TypeError(
            f"[{optimizer._name}] betas must be a pair of numbers, got {pair!r}"
        )
    for i, beta in enumerate(pair):
        check_number(
            optimizer, {f"betas[{i}]": beta}, f"betas[{i}]", 0.0, 1.0, high_inclusive=False
        )
    group["betas"] = tuple(pair)


def check_flag(optimizer, group, key):
    """A TypeError unless the param group's ``key`` holds True or False."""
    if not isinstance(group[key], bool):
        raise _errors.TypeError(
            f"[{optimizer._name}] {key} must be True or False, got {group[key]!r}"
        )
