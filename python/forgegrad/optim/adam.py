"""Adam and its variants AdamW, Adamax, NAdam and RAdam, as ``torch.optim``'s (their
documented formulas, one fused kernel call per group)."""

from .. import _C, _errors
from .._checks import is_real
from .optimizer import Optimizer, Params, check_hyperparameters


class Adam(Optimizer):
    """g = grad + weight_decay * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    v_max = max(v_max, v) with amsgrad;
    p = p - lr / (1 - b1^t) * m / (sqrt(v or v_max) / sqrt(1 - b2^t) + eps)."""

    _state_keys = ("step", "exp_avg", "exp_avg_sq")
    _buffer_keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _optional_buffer_keys = ("max_exp_avg_sq",)  # None when saved without amsgrad
    _decoupled_weight_decay = False

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
            ),
        )

    def _check_group(self, group) -> None:
        check_hyperparameters(
            self, group, ("lr", "eps", "weight_decay"), ("amsgrad", "maximize"), betas=True
        )

    def _update(self, group, params) -> None:
        amsgrad = group["amsgrad"]
        buffers = {"exp_avg": 0.0, "exp_avg_sq": 0.0}
        if amsgrad:
            buffers["max_exp_avg_sq"] = 0.0
        states = self._next_states(params, buffers)
        beta1, beta2 = group["betas"]
        _C._adam_step(
            params,
            [p.grad for p in params],
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [s["max_exp_avg_sq"] for s in states] if amsgrad else [],
            [s["step"] for s in states],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            amsgrad=amsgrad,
            maximize=group["maximize"],
            decoupled_weight_decay=self._decoupled_weight_decay,
        )
        self.state.update(zip(params, states))


class AdamW(Adam):
    """Adam with decoupled weight decay: p = p (1 - lr weight_decay) before the Adam step."""

    _decoupled_weight_decay = True

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )


def _kernel_lists(params, states, *keys):
    """The lists a fused step takes after the parameters: their gradients, each state buffer
    named in ``keys``, and the step counts."""
    return (
        [p.grad for p in params],
        *([s[key] for s in states] for key in keys),
        [s["step"] for s in states],
    )


def _adam_hyperparameters(group, *keys):
    """The hyperparameters every Adam variant's kernel takes, and those named in ``keys``."""
    beta1, beta2 = group["betas"]
    return dict(
        lr=group["lr"],
        beta1=beta1,
        beta2=beta2,
        eps=group["eps"],
        weight_decay=group["weight_decay"],
        maximize=group["maximize"],
        **{key: group[key] for key in keys},
    )


class Adamax(Optimizer):
    """g = grad + weight_decay * p;  m = b1 m + (1 - b1) g;  u = max(b2 u, |g| + eps);
    p = p - lr / (1 - b1^t) * m / u."""

    _state_keys = ("step", "exp_avg", "exp_inf")
    _buffer_keys = ("exp_avg", "exp_inf")

    def __init__(
        self,
        params: Params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        )

    def _check_group(self, group) -> None:
        check_hyperparameters(self, group, ("lr", "eps", "weight_decay"), ("maximize",), betas=True)

    def _update(self, group, params) -> None:
        states = self._next_states(params, {"exp_avg": 0.0, "exp_inf": 0.0})
        _C._adamax_step(
            params,
            *_kernel_lists(params, states, "exp_avg", "exp_inf"),
            **_adam_hyperparameters(group),
        )
        self.state.update(zip(params, states))


class NAdam(Optimizer):
    """Adam with Nesterov momentum, whose coefficient warms up:
    mu_t = b1 (1 - 0.96^(t momentum_decay) / 2);
    g = grad + weight_decay * p (or p = p (1 - lr weight_decay) with decoupled_weight_decay);
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  denom = sqrt(v / (1 - b2^t)) + eps;
    p = p - lr (1 - mu_t) / (1 - mu_1...mu_t) g / denom
          - lr mu_{t+1} / (1 - mu_1...mu_{t+1}) m / denom.
    The state's "mu_product" (mu_1...mu_t) is a float (a 0-d tensor in torch)."""

    _state_keys = ("step", "mu_product", "exp_avg", "exp_avg_sq")
    _buffer_keys = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
            ),
        )

    def _check_group(self, group) -> None:
        check_hyperparameters(
            self,
            group,
            ("lr", "eps", "weight_decay", "momentum_decay"),
            ("decoupled_weight_decay", "maximize"),
            betas=True,
        )

    def _checked_state(self, saved, p, index):
        state = super()._checked_state(saved, p, index)
        mu_product = state.get("mu_product", 1.0)
        if not is_real(mu_product) or not 0.0 <= mu_product <= 1.0:
            raise _errors.ValueError(
                f"[{self._name}.load_state_dict] state of parameter {index}: "
                f"expected mu_product, a number in [0, 1], got {mu_product!r}"
            )
        return state

    def _update(self, group, params) -> None:
        states = self._next_states(params, {"exp_avg": 0.0, "exp_avg_sq": 0.0}, mu_product=1.0)
        grads, exp_avgs, exp_avg_sqs, steps = _kernel_lists(params, states, "exp_avg", "exp_avg_sq")
        mu_products = _C._nadam_step(
            params,
            grads,
            exp_avgs,
            exp_avg_sqs,
            steps,
            [float(s["mu_product"]) for s in states],
            **_adam_hyperparameters(group, "momentum_decay", "decoupled_weight_decay"),
        )
        for state, mu_product in zip(states, mu_products):
            state["mu_product"] = mu_product
        self.state.update(zip(params, states))


class RAdam(Optimizer):
    """Adam whose adaptive step is rectified, and skipped while its variance is intractable:
    g = grad + weight_decay * p (or p = p (1 - lr weight_decay) with decoupled_weight_decay);
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  rho_inf = 2 / (1 - b2) - 1;
    rho_t = rho_inf - 2 t b2^t / (1 - b2^t);  m_hat = m / (1 - b1^t);
    rho_t > 5: r_t = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t)),
    p = p - lr m_hat r_t sqrt(1 - b2^t) / (sqrt(v) + eps);  otherwise p = p - lr m_hat."""

    _state_keys = ("step", "exp_avg", "exp_avg_sq")
    _buffer_keys = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
            ),
        )

    def _check_group(self, group) -> None:
        check_hyperparameters(
            self,
            group,
            ("lr", "eps", "weight_decay"),
            ("decoupled_weight_decay", "maximize"),
            betas=True,
        )

    def _update(self, group, params) -> None:
        states = self._next_states(params, {"exp_avg": 0.0, "exp_avg_sq": 0.0})
        _C._radam_step(
            params,
            *_kernel_lists(params, states, "exp_avg", "exp_avg_sq"),
            **_adam_hyperparameters(group, "decoupled_weight_decay"),
        )
        self.state.update(zip(params, states))
