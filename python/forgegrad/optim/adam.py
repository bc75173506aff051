"""Adam and AdamW, as ``torch.optim.Adam`` and ``torch.optim.AdamW`` (their documented
formulas, one fused kernel call per group)."""
from .. import _C
from .. import creation
from .optimizer import Optimizer, check_flag, check_number


class Adam(Optimizer):
    """g = grad + weight_decay * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    v_max = max(v_max, v) with amsgrad;
    p = p - lr / (1 - b1^t) * m / (sqrt(v or v_max) / sqrt(1 - b2^t) + eps)."""

    _state_keys = ("step", "exp_avg", "exp_avg_sq")
    _buffer_keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _optional_buffer_keys = ("max_exp_avg_sq",)  # None when saved without amsgrad
    _decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _check_group(self, group):
        for key in ("lr", "eps", "weight_decay"):
            check_number(self, group, key)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"[{self._name}] betas must be a pair of numbers, got {betas!r}")
        for i, beta in enumerate(betas):
            check_number(self, {f"betas[{i}]": beta}, f"betas[{i}]", 0.0, 1.0,
                         high_inclusive=False)
        group["betas"] = tuple(betas)
        for key in ("amsgrad", "maximize"):
            check_flag(self, group, key)

    def _update(self, group, params):
        amsgrad = group["amsgrad"]
        # The new state is built aside and stored only after the kernel ran, so an
        # interrupted step leaves no step count advanced without its update.
        states = []
        for p in params:
            state = dict(self.state.get(p) or {"step": 0, "exp_avg": creation.zeros_like(p),
                                               "exp_avg_sq": creation.zeros_like(p)})
            if amsgrad and state.get("max_exp_avg_sq") is None:
                state["max_exp_avg_sq"] = creation.zeros_like(p)
            state["step"] += 1
            states.append(state)
        beta1, beta2 = group["betas"]
        _C._adam_step(params, [p.grad for p in params], [s["exp_avg"] for s in states],
                      [s["exp_avg_sq"] for s in states],
                      [s["max_exp_avg_sq"] for s in states] if amsgrad else [],
                      [s["step"] for s in states], lr=group["lr"], beta1=beta1, beta2=beta2,
                      eps=group["eps"], weight_decay=group["weight_decay"], amsgrad=amsgrad,
                      maximize=group["maximize"],
                      decoupled_weight_decay=self._decoupled_weight_decay)
        for p, state in zip(params, states):
            self.state[p] = state


class AdamW(Adam):
    """Adam with decoupled weight decay: p = p (1 - lr weight_decay) before the Adam step."""

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
