"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, as
``torch.optim.SGD`` (its documented formula, one fused kernel call per group)."""

from .. import _C, _errors
from .optimizer import Optimizer, Params, check_flag, check_number


class SGD(Optimizer):
    """g = grad + weight_decay * p;  b = momentum * b + (1 - dampening) * g (b = g at first);
    g = g + momentum * b if nesterov else b;  p = p - lr * g."""

    _state_keys = ("momentum_buffer",)
    _buffer_keys = _optional_buffer_keys = ("momentum_buffer",)

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
            ),
        )

    def _check_group(self, group):
        for key in ("lr", "momentum", "dampening", "weight_decay"):
            check_number(self, group, key)
        for key in ("nesterov", "maximize"):
            check_flag(self, group, key)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise _errors.ValueError(
                "[SGD] nesterov needs momentum > 0 and dampening 0, got "
                f"momentum={group['momentum']}, "
                f"dampening={group['dampening']}"
            )

    def _update(self, group, params) -> None:
        states = [self.state.setdefault(p, {"momentum_buffer": None}) for p in params]
        buffers = _C._sgd_step(
            params,
            [p.grad for p in params],
            [s["momentum_buffer"] for s in states],
            lr=group["lr"],
            momentum=group["momentum"],
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
            maximize=group["maximize"],
        )
        if group["momentum"] != 0:
            for state, buffer in zip(states, buffers):
                state["momentum_buffer"] = buffer
