"""RMSprop, Adagrad and Adadelta: steps scaled by running sums or averages of squared
gradients, as ``torch.optim``'s (their documented formulas, one fused kernel call per
group)."""

from .. import _C
from .optimizer import Optimizer, Params, check_hyperparameters


class RMSprop(Optimizer):
    """g = grad + weight_decay * p;  v = alpha v + (1 - alpha) g^2;
    centered: g_avg = alpha g_avg + (1 - alpha) g, v_hat = v - g_avg^2 (else v_hat = v);
    momentum > 0: b = momentum b + g / (sqrt(v_hat) + eps), p = p - lr b;
    otherwise p = p - lr g / (sqrt(v_hat) + eps)."""

    _state_keys = ("step", "square_avg")
    _buffer_keys = ("square_avg", "momentum_buffer", "grad_avg")
    _optional_buffer_keys = ("momentum_buffer", "grad_avg")

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                maximize=maximize,
            ),
        )

    def _check_group(self, group) -> None:
        check_hyperparameters(
            self,
            group,
            ("lr", "eps", "weight_decay", "momentum"),
            ("centered", "maximize"),
            fractions=("alpha",),
        )

    def _update(self, group, params) -> None:
        buffers = {"square_avg": 0.0}
        if group["momentum"] > 0:
            buffers["momentum_buffer"] = 0.0
        if group["centered"]:
            buffers["grad_avg"] = 0.0
        states = self._next_states(params, buffers)
        # The buffers the options leave unused are not read: their lists may be empty.
        _C._rmsprop_step(
            params,
            [p.grad for p in params],
            [s["square_avg"] for s in states],
            [s["momentum_buffer"] for s in states] if group["momentum"] > 0 else [],
            [s["grad_avg"] for s in states] if group["centered"] else [],
            lr=group["lr"],
            alpha=group["alpha"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum=group["momentum"],
            centered=group["centered"],
            maximize=group["maximize"],
        )
        self.state.update(zip(params, states))


class Adagrad(Optimizer):
    """g = grad + weight_decay * p;  sum = sum + g^2 (starting at initial_accumulator_value);
    p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps)."""

    _state_keys = ("step", "sum")
    _buffer_keys = ("sum",)

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
                maximize=maximize,
            ),
        )

    def _check_group(self, group) -> None:
        check_hyperparameters(
            self,
            group,
            ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
            ("maximize",),
        )

    def _update(self, group, params) -> None:
        states = self._next_states(params, {"sum": group["initial_accumulator_value"]})
        _C._adagrad_step(
            params,
            [p.grad for p in params],
            [s["sum"] for s in states],
            [s["step"] for s in states],
            lr=group["lr"],
            lr_decay=group["lr_decay"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
        )
        self.state.update(zip(params, states))


class Adadelta(Optimizer):
    """g = grad + weight_decay * p;  v = rho v + (1 - rho) g^2;
    delta = sqrt(u + eps) / sqrt(v + eps) * g;  u = rho u + (1 - rho) delta^2;
    p = p - lr delta."""

    _state_keys = ("step", "square_avg", "acc_delta")
    _buffer_keys = ("square_avg", "acc_delta")

    def __init__(
        self,
        params: Params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        )

    def _check_group(self, group) -> None:
        check_hyperparameters(
            self, group, ("lr", "eps", "weight_decay"), ("maximize",), fractions=("rho",)
        )

    def _update(self, group, params) -> None:
        states = self._next_states(params, {"square_avg": 0.0, "acc_delta": 0.0})
        _C._adadelta_step(
            params,
            [p.grad for p in params],
            [s["square_avg"] for s in states],
            [s["acc_delta"] for s in states],
            lr=group["lr"],
            rho=group["rho"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
        )
        self.state.update(zip(params, states))
