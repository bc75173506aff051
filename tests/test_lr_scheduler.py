"""optim.lr_scheduler: each schedule against its formula, written out here independently (as
torch documents it, recursive where torch's form is recursive; the sequences of the newer
schedules were compared once by hand with torch 2.13's), on an optimizer with two param
groups of different lrs; schedulers composing as in torch (chainable: two stepped together
multiply, an lr set by hand is kept and scaled); state dicts and the checks of
load_state_dict; SequentialLR's switching; ReduceLROnPlateau on scripted metrics; bad
arguments.

PyTorch is not installed here: the torch sequences below are derived by hand from torch's
recursive update rules (torch/optim/lr_scheduler.py, the get_lr of each class), written out
step by step in the comments."""

import copy
import json
import math
import re
from collections import Counter

import numpy as np
import pytest

import forgegrad as fg
from forgegrad.optim import SGD, Adam
from forgegrad.optim.lr_scheduler import (
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiplicativeLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)

BASE = (0.3, 0.02)  # the lrs of the two param groups


def make_opt(lrs=BASE):
    """SGD with one param group per lr: the first takes the default lr, the rest their own."""
    groups = [{"params": [fg.zeros(3, requires_grad=True)]}]
    groups += [{"params": [fg.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs[1:]]
    return SGD(groups, lr=lrs[0])


def group_lrs(opt):
    return [g["lr"] for g in opt.param_groups]


def run(scheduler, epochs):
    """The lrs of epochs 0 .. epochs-1, shape (epochs, groups): epoch 0 is set when the
    scheduler is built, each step() moves to the next. Checks get_last_lr on the way."""
    out = []
    for _ in range(epochs):
        assert scheduler.get_last_lr() == group_lrs(scheduler.optimizer)
        out.append(group_lrs(scheduler.optimizer))
        scheduler.step()
    return np.array(out)


def per_group(factors, bases=BASE):
    """Expected lrs (epochs, groups) for schedules that scale each base lr by one factor."""
    return np.outer(factors, bases)


def exact(message):
    return "^" + re.escape(message) + "$"


# ------------------------------------------------------------------------ each schedule
def test_step_lr():
    # torch's recursive form: multiply by gamma at every epoch > 0 divisible by step_size
    n, step_size, gamma = 40, 7, 0.5
    factors = [1.0]
    for t in range(1, n):
        factors.append(factors[-1] * (gamma if t % step_size == 0 else 1.0))
    got = run(StepLR(make_opt(), step_size=step_size, gamma=gamma), n)
    np.testing.assert_allclose(got, per_group(factors), rtol=1e-12)
    assert got[6, 0] == pytest.approx(0.3) and got[7, 0] == pytest.approx(0.15)


def test_multi_step_lr():
    n, milestones, gamma = 50, [3, 10, 11, 30], 0.3
    factors = [1.0]
    for t in range(1, n):
        factors.append(factors[-1] * (gamma if t in milestones else 1.0))
    got = run(MultiStepLR(make_opt(), milestones=milestones, gamma=gamma), n)
    np.testing.assert_allclose(got, per_group(factors), rtol=1e-12)


@pytest.mark.parametrize("milestones", [[2, 2, 5], [5, 2, 2], (2, 5, 2)])
def test_multi_step_lr_repeated_milestones_multiply(milestones):
    # torch keeps milestones as a Counter: at epoch 2, listed twice, the lr is multiplied by
    # gamma ** 2; the order they are given in does not matter.
    sched = MultiStepLR(make_opt(), milestones=milestones, gamma=0.5)
    got = run(sched, 7)
    np.testing.assert_allclose(got, per_group([1, 1, 0.25, 0.25, 0.25, 0.125, 0.125]), rtol=1e-12)
    assert sched.milestones == Counter({2: 2, 5: 1})
    state = sched.state_dict()
    assert state["milestones"] == [2, 2, 5]  # a sorted list with the repeats: JSON-plain
    again = MultiStepLR(make_opt(), milestones=[1])
    again.load_state_dict(json.loads(json.dumps(state)))
    assert again.milestones == Counter({2: 2, 5: 1})


def test_multi_step_lr_milestone_0_and_closed_form_with_repeats():
    # A milestone at 0 applies at construction (torch's step to epoch 0 finds it there).
    got = run(MultiStepLR(make_opt(), milestones=[0, 0, 3], gamma=0.5), 5)
    np.testing.assert_allclose(got, per_group([0.25, 0.25, 0.25, 0.125, 0.125]), rtol=1e-12)
    # The closed form counts repeats too: resuming after epoch 2 sets epoch 3's lr.
    opt = make_opt()
    MultiStepLR(opt, milestones=[2, 2, 5], gamma=0.5)
    resumed = MultiStepLR(opt, milestones=[2, 2, 5], gamma=0.5, last_epoch=2)
    assert resumed.last_epoch == 3
    assert group_lrs(opt) == pytest.approx([0.25 * b for b in BASE], rel=1e-12)


def test_exponential_lr():
    n, gamma = 60, 0.93
    got = run(ExponentialLR(make_opt(), gamma=gamma), n)
    np.testing.assert_allclose(got, per_group(gamma ** np.arange(n)), rtol=1e-12)


@pytest.mark.parametrize("eta_min", [0.0, 0.001])
def test_cosine_annealing_lr(eta_min):
    # Three periods: past T_max the lr climbs back to base_lr at 2 * T_max, then falls again.
    n, t_max = 3 * 13 + 1, 13
    t = np.arange(n)
    expected = eta_min + (np.array(BASE) - eta_min) * (1 + np.cos(np.pi * t / t_max))[:, None] / 2
    got = run(CosineAnnealingLR(make_opt(), T_max=t_max, eta_min=eta_min), n)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert got[t_max] == pytest.approx([eta_min, eta_min], abs=1e-15)
    assert got[2 * t_max] == pytest.approx(BASE)


def torch_cosine_recursive(base, eta_min, t_max, n):
    """torch's chainable CosineAnnealingLR update (its docs' recursive formula)."""
    lrs = [base]
    for t in range(1, n):
        prev = lrs[-1]
        if (t - 1 - t_max) % (2 * t_max) == 0:  # leaving the minimum: the ratio below is 0/0
            lrs.append(prev + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2)
        else:
            lrs.append(
                eta_min
                + (prev - eta_min)
                * (1 + math.cos(math.pi * t / t_max))
                / (1 + math.cos(math.pi * (t - 1) / t_max))
            )
    return lrs


def test_cosine_closed_form_equals_torch_recursive_form():
    # The module claims the closed form gives torch's values, past T_max as well.
    n, t_max, eta_min = 4 * 10 + 1, 10, 0.002
    got = run(CosineAnnealingLR(make_opt(), T_max=t_max, eta_min=eta_min), n)
    for g, base in enumerate(BASE):
        np.testing.assert_allclose(
            got[:, g], torch_cosine_recursive(base, eta_min, t_max, n), rtol=1e-9
        )


@pytest.mark.parametrize(
    "start, end, total", [(1 / 3, 1.0, 5), (0.01, 1.0, 8), (1.0, 0.25, 6), (0.5, 0.5, 3)]
)
def test_linear_lr(start, end, total):
    n = total + 10
    factors = np.interp(np.arange(n), [0, total], [start, end])  # interp holds `end` after
    got = run(LinearLR(make_opt(), start_factor=start, end_factor=end, total_iters=total), n)
    np.testing.assert_allclose(got, per_group(factors), rtol=1e-12)


@pytest.mark.parametrize("factor, total", [(1 / 3, 5), (0.5, 1), (1.0, 3)])
def test_constant_lr(factor, total):
    n = total + 4
    factors = np.where(np.arange(n) < total, factor, 1.0)
    got = run(ConstantLR(make_opt(), factor=factor, total_iters=total), n)
    np.testing.assert_allclose(got, per_group(factors), rtol=1e-12)
    with pytest.raises(ValueError, match=r"\[ConstantLR\] factor"):
        ConstantLR(make_opt(), factor=0.0)
    with pytest.raises(ValueError, match=r"\[ConstantLR\] total_iters"):
        ConstantLR(make_opt(), total_iters=0)


def test_linear_lr_defaults_warm_up_from_a_third():
    got = run(LinearLR(make_opt()), 7)
    np.testing.assert_allclose(
        got[:, 0], 0.3 * np.array([1, 1.4, 1.8, 2.2, 2.6, 3, 3]) / 3, rtol=1e-12
    )


def test_scheduled_lr_drives_the_optimizer():
    # p's gradient is c at every step, so after the steps p = -c * (sum of the lrs used).
    p = fg.zeros(3, requires_grad=True)
    opt = SGD([p], lr=0.5)
    sched = StepLR(opt, step_size=2, gamma=0.1)
    c = fg.tensor([1.0, -2.0, 4.0])
    for _ in range(5):
        opt.zero_grad()
        (p * c).sum().backward()
        opt.step()
        sched.step()
    total_lr = 0.5 * (1 + 1 + 0.1 + 0.1 + 0.01)
    np.testing.assert_allclose(
        p.detach().numpy(), -total_lr * np.array([1.0, -2.0, 4.0]), rtol=1e-6
    )


class Power:
    """A callable object as lr_lambda: its state (base) is what a state dict saves of it."""

    def __init__(self, base):
        self.base = base

    def __call__(self, epoch):
        return self.base**epoch


def test_lambda_lr_one_function_or_one_per_group():
    got = run(LambdaLR(make_opt(), lambda epoch: 1 / (1 + epoch)), 5)
    np.testing.assert_allclose(got, per_group(1 / (1 + np.arange(5))), rtol=1e-15)
    got = run(LambdaLR(make_opt(), [lambda epoch: 0.9**epoch, lambda epoch: 1 + epoch]), 5)
    np.testing.assert_allclose(got[:, 0], 0.3 * 0.9 ** np.arange(5), rtol=1e-15)
    np.testing.assert_allclose(got[:, 1], 0.02 * (1 + np.arange(5)), rtol=1e-15)


def test_lambda_lr_saves_a_callable_objects_state_as_torch():
    opt = make_opt()
    sched = LambdaLR(opt, [Power(0.5), lambda epoch: 1.0])
    sched.step()
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"base": 0.5}, None]
    other = LambdaLR(make_opt(), [Power(0.9), lambda epoch: 2.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].base == 0.5 and other.last_epoch == 1
    other.step()
    assert group_lrs(other.optimizer) == [0.3 * 0.25, 0.02 * 2.0]  # its own lambda is kept


def test_multiplicative_lr_multiplies_from_epoch_1():
    got = run(MultiplicativeLR(make_opt(), lambda epoch: 0.5 + 0.1 * epoch), 5)
    factors = np.cumprod([1.0, 0.6, 0.7, 0.8, 0.9])
    np.testing.assert_allclose(got, per_group(factors), rtol=1e-14)


def test_multiplicative_lr_chains_with_exponential_lr():
    opt = make_opt([1.0])
    got = run_together([MultiplicativeLR(opt, lambda epoch: 0.5), ExponentialLR(opt, 0.9)], 4)
    np.testing.assert_allclose(got[:, 0], 0.45 ** np.arange(4), rtol=1e-14)


@pytest.mark.parametrize("total, power", [(5, 1.0), (6, 2.0), (4, 0.5)])
def test_polynomial_lr(total, power):
    got = run(PolynomialLR(make_opt(), total_iters=total, power=power), total + 3)
    t = np.minimum(np.arange(total + 3), total)
    np.testing.assert_allclose(got, per_group((1 - t / total) ** power), rtol=1e-12, atol=1e-17)


def test_polynomial_lr_resumes_from_its_closed_form():
    opt = make_opt()
    PolynomialLR(opt, total_iters=4, power=2.0)
    for group in opt.param_groups:
        group["lr"] = 123.0  # what the optimizer holds does not matter to a resume
    PolynomialLR(opt, total_iters=4, power=2.0, last_epoch=1)
    np.testing.assert_allclose(group_lrs(opt), np.array(BASE) * 0.25, rtol=1e-15)


def warm_restarts_ref(epoch, t_0, t_mult, eta_min=0.0, bases=BASE):
    """torch's formula: eta_min + (base - eta_min)(1 + cos(pi T_cur / T_i)) / 2, T_i the length
    of the cycle holding epoch (T_0 T_mult^n) and T_cur the epochs since it started (the
    cycles start at T_0 (T_mult^n - 1) / (T_mult - 1), or at multiples of T_0)."""
    starts = [t_0 * n if t_mult == 1 else t_0 * (t_mult**n - 1) // (t_mult - 1) for n in range(12)]
    n = max(i for i, start in enumerate(starts) if start <= epoch)
    t_cur, t_i = epoch - starts[n], t_0 * t_mult**n
    return [eta_min + (b - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2 for b in bases]


@pytest.mark.parametrize("t_0, t_mult, eta_min", [(3, 1, 0.0), (2, 2, 0.001), (3, 3, 0.0)])
def test_cosine_annealing_warm_restarts(t_0, t_mult, eta_min):
    got = run(CosineAnnealingWarmRestarts(make_opt(), T_0=t_0, T_mult=t_mult, eta_min=eta_min), 30)
    want = [warm_restarts_ref(e, t_0, t_mult, eta_min) for e in range(30)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert got[t_0].tolist() == list(BASE)  # the restart


def test_cosine_annealing_warm_restarts_steps_to_fractional_epochs():
    # torch's example: step(epoch + i / iters) within each epoch; also jumps forward and back.
    opt = make_opt()
    sched = CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3, eta_min=0.01)
    for epoch in [0.25, 0.5, 1.75, 2.0, 2.5, 7.9, 8.0, 26.0, 26.5, 1.0, 30]:
        sched.step(epoch)
        np.testing.assert_allclose(group_lrs(opt), warm_restarts_ref(epoch, 2, 3, 0.01), rtol=1e-12)
        assert sched.last_epoch == math.floor(epoch)
    sched.step()  # from epoch 30 (in the cycle from 26, 54 long), one more
    np.testing.assert_allclose(group_lrs(opt), warm_restarts_ref(31, 2, 3, 0.01), rtol=1e-12)
    with pytest.raises(
        ValueError, match=exact("[CosineAnnealingWarmRestarts] epoch must be a number >= 0, got -1")
    ):
        sched.step(-1)
    assert sched.last_epoch == 31


def cyclic_ref(t, base, top, step_size, mode="triangular", gamma=1.0):
    """The triangular policy of Smith's paper, as torch documents it for step_size_up ==
    step_size_down: cycle = floor(1 + t / (2 s)), x = |t / s - 2 cycle + 1|."""
    cycle = math.floor(1 + t / (2 * step_size))
    x = abs(t / step_size - 2 * cycle + 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": gamma**t}[mode]
    return base + (top - base) * max(0.0, 1 - x) * scale


@pytest.mark.parametrize(
    "mode, gamma", [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.95)]
)
def test_cyclic_lr_modes(mode, gamma):
    opt = make_opt()
    sched = CyclicLR(
        opt,
        base_lr=[0.01, 0.001],
        max_lr=[0.1, 0.02],
        step_size_up=4,
        mode=mode,
        gamma=gamma,
        cycle_momentum=False,
    )
    got = run(sched, 25)
    want = [
        [cyclic_ref(t, 0.01, 0.1, 4, mode, gamma), cyclic_ref(t, 0.001, 0.02, 4, mode, gamma)]
        for t in range(25)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-17)
    assert sched.base_lrs == [0.01, 0.001]


def test_cyclic_lr_asymmetric_cycle_and_momentum():
    # Up over 3 steps (+0.03 each), down over 2 (-0.045 each); momentum 0.9 -> 0.8 -> 0.9.
    opt = make_opt()
    sched = CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=2)
    lrs, momentums = [], []
    for _ in range(7):
        lrs.append(group_lrs(opt)[0])
        momentums.append(opt.param_groups[1]["momentum"])
        sched.step()
    np.testing.assert_allclose(lrs, [0.01, 0.04, 0.07, 0.1, 0.055, 0.01, 0.04], rtol=1e-12)
    np.testing.assert_allclose(
        momentums, [0.9, 0.9 - 0.1 / 3, 0.9 - 0.2 / 3, 0.8, 0.85, 0.9, 0.9 - 0.1 / 3], rtol=1e-12
    )
    assert opt.param_groups[0]["max_momentum"] == 0.9
    assert opt.param_groups[0]["base_momentum"] == 0.8


def test_cyclic_lr_cycles_adams_beta1_and_takes_a_scale_fn():
    p = fg.zeros(2, requires_grad=True)
    opt = Adam([p], lr=0.5, betas=(0.7, 0.99))
    sched = CyclicLR(
        opt,
        base_lr=0.01,
        max_lr=0.1,
        step_size_up=2,
        scale_fn=lambda cycle: 1 / cycle,
        base_momentum=0.85,
        max_momentum=0.95,
    )
    lrs, beta1s = [], []
    for _ in range(7):
        lrs.append(group_lrs(opt)[0])
        beta1s.append(opt.param_groups[0]["betas"][0])
        assert opt.param_groups[0]["betas"][1] == 0.99
        sched.step()
    np.testing.assert_allclose(lrs, [0.01, 0.055, 0.1, 0.055, 0.01, 0.0325, 0.055], rtol=1e-12)
    np.testing.assert_allclose(beta1s, [0.95, 0.9, 0.85, 0.9, 0.95, 0.925, 0.9], rtol=1e-12)
    p.grad = fg.ones(2)
    opt.step()  # the optimizer takes the cycled betas


def one_cycle_ref(t, total, top, pct=0.3, div=25.0, final_div=1e4, cos=True):
    """torch's two phases: up from top / div to top until step pct * total - 1, then down to
    top / div / final_div at step total - 1, each annealed by a cosine or linearly."""

    def anneal(start, end, frac):
        if cos:
            return end + (start - end) * (1 + math.cos(math.pi * frac)) / 2
        return start + (end - start) * frac

    peak = pct * total - 1
    if t <= peak:
        return anneal(top / div, top, t / peak)
    return anneal(top, top / div / final_div, (t - peak) / (total - 1 - peak))


@pytest.mark.parametrize("cos", [True, False], ids=["cos", "linear"])
def test_one_cycle_lr(cos):
    opt = make_opt()
    sched = OneCycleLR(
        opt, max_lr=[1.0, 0.1], total_steps=20, anneal_strategy="cos" if cos else "linear"
    )
    lrs, momentums = [], []
    for _ in range(20):
        lrs.append(group_lrs(opt))
        momentums.append(opt.param_groups[0]["momentum"])
        sched.step()
    want = [
        [one_cycle_ref(t, 20, 1.0, cos=cos), one_cycle_ref(t, 20, 0.1, cos=cos)] for t in range(20)
    ]
    np.testing.assert_allclose(lrs, want, rtol=1e-12)
    assert lrs[0] == pytest.approx([0.04, 0.004]) and lrs[5] == pytest.approx([1.0, 0.1])
    # The momentum mirrors the lr: max_momentum at the ends, base_momentum at the peak.
    want_momentum = [
        0.95 - (0.95 - 0.85) * (one_cycle_ref(t, 20, 1.0, cos=cos) - 0.04) / 0.96
        if t <= 5
        else 0.85 + 0.1 * (1.0 - one_cycle_ref(t, 20, 1.0, cos=cos)) / (1.0 - 4e-6)
        for t in range(20)
    ]
    np.testing.assert_allclose(momentums, want_momentum, rtol=1e-12)
    assert opt.param_groups[1]["min_lr"] == 0.1 / 25 / 1e4
    # Stepped total_steps times in all; one more is refused and changes nothing.
    assert sched.last_epoch == 20
    with pytest.raises(
        ValueError, match=exact("[OneCycleLR] stepped past total_steps=20: step 21 asked for")
    ):
        sched.step()
    assert sched.last_epoch == 20


def test_one_cycle_lr_three_phases_by_epochs_and_steps_per_epoch():
    opt = make_opt([1.0])
    got = run(
        OneCycleLR(
            opt,
            max_lr=1.0,
            epochs=4,
            steps_per_epoch=5,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
            cycle_momentum=False,
        ),
        20,
    )
    # Up to 1.0 at step 4, back to 0.04 at step 8, down to 4e-6 at step 19.
    want = (
        [0.04 + 0.24 * t for t in range(5)]
        + [1.0 - 0.24 * t for t in range(1, 5)]
        + [0.04 - (0.04 - 4e-6) * t / 11 for t in range(1, 12)]
    )
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-12)


def test_chained_scheduler_steps_each_and_multiplies():
    opt = make_opt()
    chained = ChainedScheduler([ExponentialLR(opt, gamma=0.9), PolynomialLR(opt, total_iters=4)])
    assert chained.optimizer is opt
    got = run(chained, 6)
    factors = 0.9 ** np.arange(6) * (1 - np.minimum(np.arange(6), 4) / 4)
    np.testing.assert_allclose(got, per_group(factors), rtol=1e-12, atol=1e-17)


# ------------------------------------------------------------------------ chainable: composing
def run_together(schedulers, epochs):
    """Like run, for schedulers on one optimizer stepped together, in the order given."""
    opt = schedulers[0].optimizer
    out = []
    for _ in range(epochs):
        out.append(group_lrs(opt))
        for s in schedulers:
            s.step()
            assert s.get_last_lr() == group_lrs(opt)
    return np.array(out)


@pytest.mark.parametrize("exponential_first", [True, False])
def test_two_schedulers_stepped_together_multiply_as_in_torch(exponential_first):
    # torch, lr 1.0: ExponentialLR(0.9) multiplies by 0.9 at every epoch > 0, MultiStepLR([2],
    # 0.1) by 0.1 at epoch 2. Epoch 0: 1.0; 1: 1.0 * 0.9 = 0.9; 2: 0.9 * 0.9 * 0.1 = 0.081;
    # 3: 0.081 * 0.9 = 0.0729. (The closed forms, last one stepped winning: 1, 1, 0.1, 0.1.)
    opt = make_opt([1.0])
    exponential = ExponentialLR(opt, gamma=0.9)
    multi = MultiStepLR(opt, milestones=[2], gamma=0.1)
    order = [exponential, multi] if exponential_first else [multi, exponential]
    got = run_together(order, 4)[:, 0]
    np.testing.assert_allclose(got, [1.0, 0.9, 0.081, 0.0729], rtol=1e-12, atol=0)
    # Per param group, from each group's own lr.
    opt = make_opt()
    got = run_together([ExponentialLR(opt, gamma=0.9), MultiStepLR(opt, [2], gamma=0.1)], 4)
    np.testing.assert_allclose(got, per_group([1.0, 0.9, 0.081, 0.0729]), rtol=1e-12)


def test_linear_warm_up_with_step_lr_as_in_torch():
    # torch, lr 1.0: LinearLR(0.25, 1.0, total_iters=3) multiplies by 0.25 at epoch 0, then by
    # 1 + 0.75 / (3 * 0.25 + (t - 1) * 0.75) at t = 1, 2, 3: 2, 1.5, 4/3, then by 1; StepLR(2,
    # 0.5) by 0.5 at epochs 2, 4, 6. Epoch 0: 0.25; 1: 0.25 * 2 = 0.5; 2: 0.5 * 1.5 * 0.5 =
    # 0.375; 3: 0.375 * 4/3 = 0.5; 4: 0.5 * 0.5 = 0.25; 5: 0.25; 6: 0.125.
    opt = make_opt([1.0])
    warm = LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=3)
    got = run_together([warm, StepLR(opt, step_size=2, gamma=0.5)], 7)[:, 0]
    np.testing.assert_allclose(got, [0.25, 0.5, 0.375, 0.5, 0.25, 0.25, 0.125], rtol=1e-12)
    # Two groups: the warm-up is kept (built second, StepLR leaves the lr of epoch 0 as is).
    opt = make_opt()
    got = run_together([LinearLR(opt, 0.25, 1.0, 3), StepLR(opt, 2, 0.5)], 7)
    np.testing.assert_allclose(
        got, per_group([0.25, 0.5, 0.375, 0.5, 0.25, 0.25, 0.125]), rtol=1e-12
    )


def test_cosine_with_exponential_as_in_torch():
    # torch, lr 1.0, eta_min 0: CosineAnnealingLR(T_max=4) multiplies by
    # (1 + cos(pi t / 4)) / (1 + cos(pi (t - 1) / 4)) at t = 1 .. 4, ExponentialLR(0.5) by 0.5:
    # the product telescopes to (1 + cos(pi t / 4)) / 2 * 0.5 ** t.
    opt = make_opt([1.0])
    got = run_together([CosineAnnealingLR(opt, T_max=4), ExponentialLR(opt, gamma=0.5)], 5)
    np.testing.assert_allclose(
        got[:, 0],
        [1.0, 0.42677669529663687, 0.125, 0.018305826175840784, 0.0],
        rtol=1e-12,
        atol=1e-15,
    )


def test_reduce_on_plateau_with_exponential_scales_the_same_lr():
    opt = make_opt([1.0])
    decay = ExponentialLR(opt, gamma=0.5)
    plateau = ReduceLROnPlateau(opt, patience=0, factor=0.1)
    lrs = []
    for metric in [1.0, 1.0, 0.5]:  # the second is bad: reduce
        decay.step()
        plateau.step(metric)
        lrs.append(group_lrs(opt)[0])
    np.testing.assert_allclose(lrs, [0.5, 0.025, 0.0125], rtol=1e-12)


def test_lr_changed_by_hand_is_kept_and_scaled_by_the_next_step():
    def set_lr(opt, lr):
        for g in opt.param_groups:
            g["lr"] = lr

    # ExponentialLR(0.5): 1.0, 0.5; set to 0.2; then 0.1, 0.05.
    opt = make_opt([1.0])
    sched = ExponentialLR(opt, gamma=0.5)
    sched.step()
    set_lr(opt, 0.2)
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.1], rel=1e-12)
    sched.step()
    assert group_lrs(opt) == pytest.approx([0.05], rel=1e-12)

    # StepLR(2, 0.1): set to 0.7 at epoch 0; kept at epoch 1; 0.07 at epochs 2 and 3.
    opt = make_opt([1.0])
    sched = StepLR(opt, step_size=2, gamma=0.1)
    set_lr(opt, 0.7)
    lrs = []
    for _ in range(3):
        sched.step()
        lrs.append(group_lrs(opt)[0])
    np.testing.assert_allclose(lrs, [0.7, 0.07, 0.07], rtol=1e-12)

    # CosineAnnealingLR(T_max=4, eta_min=0.1): epoch 1: 0.1 + 0.9 * (1 + cos(pi/4)) / 2; set to
    # 0.5; epoch 2: 0.1 + 0.4 * (1 + cos(pi/2)) / (1 + cos(pi/4)); epoch 3: 0.1 + (that - 0.1)
    # * (1 + cos(3 pi/4)) / (1 + cos(pi/2)).
    opt = make_opt([1.0])
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    sched.step()
    assert group_lrs(opt)[0] == pytest.approx(0.8681980515339464, rel=1e-12)
    set_lr(opt, 0.5)
    sched.step()
    assert group_lrs(opt)[0] == pytest.approx(0.334314575050762, rel=1e-12)
    sched.step()
    assert group_lrs(opt)[0] == pytest.approx(0.168629150101524, rel=1e-12)

    # LinearLR(0.5, 1.0, total_iters=2): 0.5; epoch 1: * (1 + 0.5 / 1) = 0.75; set to 0.3;
    # epoch 2: * (1 + 0.5 / 1.5) = 0.4; epoch 3 (past total_iters): kept.
    opt = make_opt([1.0])
    sched = LinearLR(opt, start_factor=0.5, total_iters=2)
    sched.step()
    assert group_lrs(opt) == pytest.approx([0.75], rel=1e-12)
    set_lr(opt, 0.3)
    sched.step()
    sched.step()
    assert group_lrs(opt) == pytest.approx([0.4], rel=1e-12)


# ------------------------------------------------------------------------ base class behaviour
def test_initial_lr_is_recorded_and_shared():
    opt = make_opt()
    first = ExponentialLR(opt, gamma=0.5)
    first.step()
    assert [g["initial_lr"] for g in opt.param_groups] == list(BASE)
    # A second scheduler built now takes its base lrs from initial_lr, not from the lr the
    # first one set. Building it does not reset the lr, though: torch's schedulers are
    # chainable, and StepLR's step to epoch 0 keeps the current lr (0.5 * base here).
    second = StepLR(opt, step_size=3)
    assert second.base_lrs == list(BASE)
    assert group_lrs(opt) == pytest.approx([0.5 * b for b in BASE])


def test_last_epoch_resumes_from_initial_lr():
    # Resuming sets the closed-form lr of epoch last_epoch + 1 from initial_lr, whatever lr
    # the optimizer holds (the module docstring says how torch differs).
    opt = make_opt()
    StepLR(opt, step_size=3, gamma=0.5)
    resumed = StepLR(opt, step_size=3, gamma=0.5, last_epoch=6)  # its first step is epoch 7
    assert resumed.last_epoch == 7
    assert group_lrs(opt) == pytest.approx([b * 0.25 for b in BASE])
    with pytest.raises(
        ValueError,
        match=r"\[StepLR\] resuming at last_epoch=6 needs "
        r"'initial_lr' in every param group \(load the "
        r"optimizer's state first\)",
    ):
        StepLR(make_opt(), step_size=3, last_epoch=6)


def test_resuming_without_initial_lr_in_some_group_changes_nothing():
    opt = make_opt()
    opt.param_groups[0]["initial_lr"] = BASE[0]  # the second group has none
    with pytest.raises(
        ValueError,
        match=r"^\[StepLR\] resuming at last_epoch=5 needs "
        r"'initial_lr' in every param group.*param_groups\[1\]",
    ):
        StepLR(opt, 2, last_epoch=5)
    assert group_lrs(opt) == list(BASE) and "initial_lr" not in opt.param_groups[1]


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "ReduceLROnPlateau"])
@pytest.mark.parametrize("bad", ["0.1", None, [0.1]], ids=repr)
def test_a_group_lr_that_is_not_a_number_is_refused_at_construction(name, bad):
    opt = make_opt()
    opt.param_groups[1]["lr"] = bad
    with pytest.raises(
        TypeError,
        match=rf"^\[{name}\] param_groups\[1\]\['lr'\] must be a "
        r"float >= 0, got ",
    ):
        BUILDERS[name](opt)
    assert "initial_lr" not in opt.param_groups[0] and opt.param_groups[0]["lr"] == BASE[0]


def test_get_last_lr_is_a_copy():
    sched = ExponentialLR(make_opt(), gamma=0.5)
    sched.step()
    last = sched.get_last_lr()
    assert last == pytest.approx([0.15, 0.01])
    last[0] = 123.0
    assert sched.get_last_lr() == pytest.approx([0.15, 0.01])
    assert sched.last_epoch == 1


# ------------------------------------------------------------------------ state dicts
def plain_values_only(value):
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_values_only(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain_values_only(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def sequential(opt):
    return SequentialLR(
        opt,
        [
            LinearLR(opt, start_factor=0.1, total_iters=4),
            CosineAnnealingLR(opt, T_max=6, eta_min=0.001),
            StepLR(opt, step_size=2, gamma=0.5),
        ],
        milestones=[5, 12],
    )


SCHEDULES = {
    "StepLR": lambda opt: StepLR(opt, step_size=3, gamma=0.5),
    "MultiStepLR": lambda opt: MultiStepLR(opt, milestones=[2, 9, 11], gamma=0.2),
    "ExponentialLR": lambda opt: ExponentialLR(opt, gamma=0.9),
    "CosineAnnealingLR": lambda opt: CosineAnnealingLR(opt, T_max=7, eta_min=0.001),
    "LinearLR": lambda opt: LinearLR(opt, start_factor=0.2, total_iters=10),
    "ConstantLR": lambda opt: ConstantLR(opt, factor=0.25, total_iters=6),
    "SequentialLR": sequential,
    "LambdaLR": lambda opt: LambdaLR(opt, [Power(0.8), lambda epoch: 1 / (1 + epoch)]),
    "MultiplicativeLR": lambda opt: MultiplicativeLR(opt, lambda epoch: 0.95),
    "PolynomialLR": lambda opt: PolynomialLR(opt, total_iters=12, power=1.5),
    "CosineAnnealingWarmRestarts": lambda opt: CosineAnnealingWarmRestarts(
        opt, T_0=2, T_mult=2, eta_min=0.001
    ),
    "CyclicLR": lambda opt: CyclicLR(
        opt, base_lr=0.01, max_lr=[0.2, 0.05], step_size_up=3, mode="triangular2"
    ),
    "OneCycleLR": lambda opt: OneCycleLR(opt, max_lr=0.5, total_steps=25, three_phase=True),
    "ChainedScheduler": lambda opt: ChainedScheduler(
        [ExponentialLR(opt, gamma=0.9), CosineAnnealingLR(opt, T_max=9)]
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_state_dict_round_trip_continues_identically(name):
    opt_a = make_opt()
    sched_a = SCHEDULES[name](opt_a)
    for _ in range(6):
        sched_a.step()
    state = sched_a.state_dict()
    assert "optimizer" not in state and plain_values_only(state)
    json.dumps(state)  # plain enough to sit in a checkpoint's JSON metadata

    # A fresh run: optimizer and scheduler built as at the start, then both loaded.
    opt_b = make_opt()
    sched_b = SCHEDULES[name](opt_b)
    opt_b.load_state_dict(opt_a.state_dict())
    sched_b.load_state_dict(state)
    state["_last_lr"][0] = 999.0  # the scheduler holds copies, not the dict it was given

    def epoch(sched):  # a ChainedScheduler has none of its own (as torch's)
        return (sched._schedulers[0] if isinstance(sched, ChainedScheduler) else sched).last_epoch

    assert epoch(sched_b) == epoch(sched_a) == 6
    assert sched_b.get_last_lr() == sched_a.get_last_lr()
    assert run(sched_b, 15).tolist() == run(sched_a, 15).tolist()


def test_state_dict_is_a_copy():
    sched = MultiStepLR(make_opt(), milestones=[2, 5])
    state = sched.state_dict()
    state["milestones"].append(3)
    state["base_lrs"][0] = 7.0
    # milestones are a Counter, as in torch (the state dict holds them as a sorted list)
    assert sched.milestones == Counter([2, 5]) and sched.base_lrs == list(BASE)


# ------------------------------------------------------------------------ load_state_dict checks
CHECKED = dict(
    SCHEDULES, ReduceLROnPlateau=lambda opt: ReduceLROnPlateau(opt, patience=1, min_lr=[0.0, 0.001])
)


def advance(sched, n):
    for i in range(n):
        sched.step(float(i % 2)) if isinstance(sched, ReduceLROnPlateau) else sched.step()


def put(**items):
    """A mutation of a state dict: set these keys."""
    return lambda state: {**state, **items}


def drop(key):
    return lambda state: {k: v for k, v in state.items() if k != key}


def inner(i, **items):
    """A mutation of SequentialLR's state: set these keys of inner scheduler i's state, and
    make a valid change to scheduler 0's (which a partial load would show)."""

    def mutate(state):
        state = copy.deepcopy(state)
        state["_schedulers"][0]["last_epoch"] = 0
        state["_schedulers"][i].update(items)
        return state

    return mutate


REJECTED = [
    (
        "StepLR",
        lambda state: list(state.items()),
        TypeError,
        exact("[StepLR.load_state_dict] expected a dict, got list"),
    ),
    ("StepLR", put(gama=0.5), ValueError, r"^\[StepLR\.load_state_dict\] .*unknown keys 'gama'"),
    (
        "StepLR",
        drop("step_size"),
        ValueError,
        r"^\[StepLR\.load_state_dict\] .*missing keys \['step_size'\]",
    ),
    (
        "StepLR",
        put(last_epoch=-2),
        ValueError,
        exact("[StepLR.load_state_dict] last_epoch must be an int >= -1, got -2"),
    ),
    ("StepLR", put(last_epoch=2.0), TypeError, r"\[StepLR\.load_state_dict\] last_epoch"),
    ("StepLR", put(last_epoch=True), TypeError, r"\[StepLR\.load_state_dict\] last_epoch"),
    ("StepLR", put(step_size=0), ValueError, r"\[StepLR\.load_state_dict\] step_size"),
    ("StepLR", put(gamma="0.5"), TypeError, r"\[StepLR\.load_state_dict\] gamma"),
    (
        "ExponentialLR",
        put(base_lrs=[0.3]),
        ValueError,
        exact(
            "[ExponentialLR.load_state_dict] base_lrs must hold one value per param group (2), "
            "got 1"
        ),
    ),
    (
        "ExponentialLR",
        put(base_lrs=[0.3, "0.02"]),
        TypeError,
        r"\[ExponentialLR\.load_state_dict\] each of base_lrs",
    ),
    (
        "ExponentialLR",
        put(_last_lr=[0.1, float("nan")]),
        ValueError,
        r"\[ExponentialLR\.load_state_dict\] each of _last_lr",
    ),
    ("ExponentialLR", put(_last_lr=0.1), TypeError, r"\[ExponentialLR\.load_state_dict\] _last_lr"),
    ("ExponentialLR", put(gamma=0.0), ValueError, r"\[ExponentialLR\.load_state_dict\] gamma"),
    (
        "MultiStepLR",
        put(milestones=[2, -1]),
        ValueError,
        r"\[MultiStepLR\.load_state_dict\] each milestone",
    ),
    (
        "MultiStepLR",
        put(milestones={"2": 1}),
        TypeError,
        r"\[MultiStepLR\.load_state_dict\] milestones must be a list",
    ),
    (
        "CosineAnnealingLR",
        put(T_max=0),
        ValueError,
        r"\[CosineAnnealingLR\.load_state_dict\] T_max",
    ),
    ("CosineAnnealingLR", put(eta_min=-0.1), ValueError, r"eta_min"),
    ("LinearLR", put(start_factor=0.0), ValueError, r"\[LinearLR\.load_state_dict\] start_factor"),
    ("LinearLR", put(total_iters=1.5), TypeError, r"\[LinearLR\.load_state_dict\] total_iters"),
    (
        "SequentialLR",
        put(_schedulers=[{}, {}]),
        ValueError,
        r"\[SequentialLR\.load_state_dict\] the state dict holds 2 schedulers, this SequentialLR "
        r"has 3",
    ),
    (
        "SequentialLR",
        inner(2, gamma=0.0),
        ValueError,
        r"^\[SequentialLR\.load_state_dict\] _schedulers\[2\]: \[StepLR\.load_state_dict\] gamma",
    ),
    (
        "SequentialLR",
        inner(1, extra=1),
        ValueError,
        r"_schedulers\[1\]: \[CosineAnnealingLR\.load_state_dict\] .*unknown keys 'extra'",
    ),
    (
        "SequentialLR",
        put(_milestones=[5]),
        ValueError,
        r"\[SequentialLR\.load_state_dict\] expected 2 milestones for 3 schedulers, got 1",
    ),
    ("SequentialLR", put(_milestones=[12, 5]), ValueError, r"strictly increasing"),
    (
        "SequentialLR",
        put(last_epoch=-1),
        ValueError,
        r"\[SequentialLR\.load_state_dict\] last_epoch",
    ),
    (
        "ReduceLROnPlateau",
        put(mode="avg"),
        ValueError,
        exact("[ReduceLROnPlateau.load_state_dict] mode must be 'min' or 'max', got 'avg'"),
    ),
    ("ReduceLROnPlateau", put(factor=1.5), ValueError, r"factor must be in \(0, 1\)"),
    ("ReduceLROnPlateau", put(num_bad_epochs=-1), ValueError, r"num_bad_epochs"),
    ("ReduceLROnPlateau", put(cooldown_counter=0.5), TypeError, r"cooldown_counter"),
    ("ReduceLROnPlateau", put(best=float("nan")), ValueError, r"best must not be NaN"),
    ("ReduceLROnPlateau", put(best="1.0"), TypeError, r"best must be a number"),
    (
        "ReduceLROnPlateau",
        put(min_lrs=[0.0]),
        ValueError,
        r"\[ReduceLROnPlateau\.load_state_dict\] min_lrs must hold one value per param group",
    ),
    ("ReduceLROnPlateau", put(threshold_mode="pct"), ValueError, r"threshold_mode"),
    ("ReduceLROnPlateau", put(optimizer=None), ValueError, r"unknown keys 'optimizer'"),
    (
        "LambdaLR",
        put(lr_lambdas=[None]),
        ValueError,
        r"^\[LambdaLR\.load_state_dict\] lr_lambdas must be a list of 2",
    ),
    (
        "LambdaLR",
        put(lr_lambdas=[None, {"k": 1}]),
        ValueError,
        r"^\[LambdaLR\.load_state_dict\] lr_lambdas must hold .* of a callable object",
    ),
    ("MultiplicativeLR", put(lr_lambdas=[{"k": 1}, None]), ValueError, r"lr_lambdas"),
    ("PolynomialLR", put(power=-1.0), ValueError, r"\[PolynomialLR\.load_state_dict\] power"),
    ("PolynomialLR", put(total_iters=0), ValueError, r"total_iters"),
    ("CosineAnnealingWarmRestarts", put(T_mult=0), ValueError, r"T_mult"),
    ("CosineAnnealingWarmRestarts", put(T_i=2.5), TypeError, r"T_i"),
    ("CosineAnnealingWarmRestarts", put(T_cur=-1), ValueError, r"T_cur must be a number >= 0"),
    (
        "CyclicLR",
        put(mode="sawtooth"),
        ValueError,
        exact(
            "[CyclicLR.load_state_dict] mode must be one of 'triangular', 'triangular2', "
            "'exp_range', got 'sawtooth'"
        ),
    ),
    ("CyclicLR", put(max_lrs=[0.1]), ValueError, r"max_lrs must hold one value per param group"),
    ("CyclicLR", put(step_ratio=1.0), ValueError, r"step_ratio must be in \(0, 1\)"),
    ("CyclicLR", put(_scale_fn_custom={"a": 1}), ValueError, r"_scale_fn_custom"),
    ("CyclicLR", put(base_momentums=[0.8, -0.1]), ValueError, r"base_momentums"),
    ("OneCycleLR", put(_anneal_func_type="exp"), ValueError, r"_anneal_func_type"),
    ("OneCycleLR", put(total_steps=-5), ValueError, r"total_steps"),
    ("OneCycleLR", put(_schedule_phases=[{"end_step": 3}]), ValueError, r"_schedule_phases"),
    (
        "ChainedScheduler",
        put(_schedulers=[{}]),
        ValueError,
        r"\[ChainedScheduler\.load_state_dict\] the state dict holds 1 schedulers, this "
        r"ChainedScheduler has 2",
    ),
    (
        "ChainedScheduler",
        inner(1, T_max=0),
        ValueError,
        r"_schedulers\[1\]: \[CosineAnnealingLR\.load_state_dict\] T_max",
    ),
]


@pytest.mark.parametrize(
    "name, mutate, error, message",
    REJECTED,
    ids=[f"{n}-{i}" for i, (n, _, _, _) in enumerate(REJECTED)],
)
def test_load_state_dict_rejections_change_nothing(name, mutate, error, message):
    opt = make_opt()
    sched = CHECKED[name](opt)
    advance(sched, 3)
    good = sched.state_dict()
    # A valid change beside the bad one, so that a partial load would show.
    bad = mutate({**copy.deepcopy(good), "_last_lr": [9.0, 9.0]})
    before, lrs = sched.state_dict(), group_lrs(opt)
    with pytest.raises(error, match=message):
        sched.load_state_dict(bad)
    assert sched.state_dict() == before and group_lrs(opt) == lrs
    if name in ("SequentialLR", "ChainedScheduler"):
        assert [s.state_dict() for s in sched._schedulers] == before["_schedulers"]
    sched.load_state_dict(good)  # the state it came from still loads
    assert sched.state_dict() == before


def test_load_state_dict_rejects_another_schedulers_state():
    exponential = ExponentialLR(make_opt(), gamma=0.5).state_dict()
    sched = StepLR(make_opt(), step_size=3)
    before = sched.state_dict()
    with pytest.raises(
        ValueError,
        match=r"^\[StepLR\.load_state_dict\] the state dict is not a "
        r"StepLR's: missing keys \['step_size'\]$",
    ):
        sched.load_state_dict(exponential)
    assert sched.state_dict() == before


# ------------------------------------------------------------------------ SequentialLR
def test_sequential_lr_matches_torch_docs_example():
    # torch's docs: lr 0.05; 0.005 for epochs 0..19, then ExponentialLR(0.9) from its epoch 0.
    # (ConstantLR(factor=0.1, total_iters=20) there is LinearLR with both factors 0.1 here.)
    opt = make_opt([0.05])
    first = LinearLR(opt, start_factor=0.1, end_factor=0.1, total_iters=20)
    sched = SequentialLR(opt, [first, ExponentialLR(opt, gamma=0.9)], milestones=[20])
    got = run(sched, 23)[:, 0]
    np.testing.assert_allclose(got, [0.005] * 20 + [0.05, 0.045, 0.0405], rtol=1e-12)


def test_sequential_lr_restarts_each_scheduler_at_its_milestone():
    n, milestones = 25, (5, 12)
    expected = []
    for t in range(n):
        if t < milestones[0]:  # LinearLR(start_factor=0.1, total_iters=4)
            factor = np.interp(t, [0, 4], [0.1, 1.0])
            expected.append([factor * b for b in BASE])
        elif t < milestones[1]:  # CosineAnnealingLR(T_max=6, eta_min=0.001), from its epoch 0
            local = t - milestones[0]
            expected.append(
                [0.001 + (b - 0.001) * (1 + math.cos(math.pi * local / 6)) / 2 for b in BASE]
            )
        else:  # StepLR(step_size=2, gamma=0.5), from its epoch 0
            local = t - milestones[1]
            expected.append([b * 0.5 ** (local // 2) for b in BASE])
    sched = sequential(make_opt())
    got = run(sched, n)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[milestones[0]] == pytest.approx(BASE) and got[milestones[1]] == pytest.approx(BASE)
    assert sched.last_epoch == n


def test_sequential_lr_starts_a_scheduler_at_its_epoch_0_even_if_stepped_before():
    opt = make_opt()
    warm = LinearLR(opt, start_factor=0.5, total_iters=2)
    decay = ExponentialLR(opt, gamma=0.5)
    decay.step()
    decay.step()
    got = run(SequentialLR(opt, [warm, decay], milestones=[3]), 6)
    np.testing.assert_allclose(got[:, 0], [0.15, 0.225, 0.3, 0.3, 0.15, 0.075], rtol=1e-12)


class HalvingLR(LRScheduler):
    """A custom scheduler written the torch way: chainable, from the group's current lr."""

    def get_lr(self):
        return [
            g["lr"] * (0.5 if self.last_epoch > 0 else 1.0) for g in self.optimizer.param_groups
        ]


def test_custom_chainable_scheduler_in_sequential_lr():
    opt = make_opt()
    halving = HalvingLR(opt)
    warm = LinearLR(opt, start_factor=0.1, total_iters=2)  # sets lr to 0.1 * base now
    sched = SequentialLR(opt, [halving, warm], milestones=[3])  # starts again from base
    got = run(sched, 6)
    np.testing.assert_allclose(got, per_group([1, 0.5, 0.25, 0.1, 0.55, 1.0]), rtol=1e-12)


# ------------------------------------------------------------------------ ReduceLROnPlateau
def plateau_run(metrics, **kwargs):
    """Steps a ReduceLROnPlateau through `metrics`; returns the lrs after each step."""
    sched = ReduceLROnPlateau(make_opt(), **kwargs)
    out = []
    for m in metrics:
        sched.step(m)
        assert sched.get_last_lr() == group_lrs(sched.optimizer)
        out.append(group_lrs(sched.optimizer))
    return np.array(out)


def reductions(lrs):
    """The 1-based steps after which group 0's lr went down."""
    before = np.concatenate([[BASE[0]], lrs[:-1, 0]])
    return [i + 1 for i in np.flatnonzero(lrs[:, 0] < before)]


def test_plateau_waits_patience_steps():
    # patience=2: the third bad step in a row reduces; an improvement resets the count.
    metrics = [10, 9, 9, 9, 9, 8, 8, 8, 8, 8, 7]
    lrs = plateau_run(metrics, patience=2, factor=0.5)
    assert reductions(lrs) == [5, 9]
    np.testing.assert_allclose(lrs[-1], [b * 0.25 for b in BASE], rtol=1e-12)


@pytest.mark.parametrize("cooldown, expected", [(0, [3, 5, 7, 9]), (2, [3, 7]), (5, [3, 10])])
def test_plateau_cooldown(cooldown, expected):
    # A flat metric: bad from step 2 on. After a reduction, `cooldown` steps do not count.
    lrs = plateau_run([5.0] * 10, patience=1, cooldown=cooldown, factor=0.5)
    assert reductions(lrs) == expected


@pytest.mark.parametrize("mode, expected", [("rel", [2]), ("abs", [])])
def test_plateau_threshold_mode(mode, expected):
    # 9.5 after 10 improves by 5%: not enough against a relative 10% (needs < 9),
    # enough against an absolute 0.1 (needs < 9.9).
    lrs = plateau_run([10.0, 9.5], patience=0, threshold=0.1, threshold_mode=mode)
    assert reductions(lrs) == expected


def test_plateau_mode_max():
    # Rising is good in max mode; a fall or a flat step is bad, and so is NaN.
    lrs = plateau_run(
        [1.0, 2.0, 3.0, 3.0, 2.0, 4.0, float("nan"), 3.0], mode="max", patience=1, factor=0.5
    )
    assert reductions(lrs) == [5, 8]
    # The same metrics in min mode: 1.0 stays the best, every later step is bad.
    assert reductions(plateau_run([1.0, 2.0, 3.0, 3.0], patience=1)) == [3]


def test_plateau_min_lr_per_group_and_eps():
    lrs = plateau_run([1.0] * 5, patience=0, factor=0.1, min_lr=[0.01, 0.0])
    np.testing.assert_allclose(lrs[:, 0], [0.3, 0.03, 0.01, 0.01, 0.01], rtol=1e-12)
    np.testing.assert_allclose(lrs[:, 1], [0.02, 0.002, 2e-4, 2e-5, 2e-6], rtol=1e-12)
    # A change no larger than eps is skipped: 0.3 -> 0.03 goes through, 0.02 -> 0.002 not.
    lrs = plateau_run([1.0, 1.0], patience=0, factor=0.1, eps=0.05)
    np.testing.assert_allclose(lrs[-1], [0.03, 0.02], rtol=1e-12)


def test_plateau_takes_a_tensor_metric_and_round_trips():
    opt_a = make_opt()
    sched_a = ReduceLROnPlateau(opt_a, patience=1, cooldown=1, factor=0.5)
    for m in [fg.tensor(3.0), fg.tensor([2.0]), 2.5, 2.5]:
        sched_a.step(m)
    assert sched_a.best == 2.0 and sched_a.get_last_lr() == pytest.approx([0.15, 0.01])
    state = sched_a.state_dict()
    assert "optimizer" not in state and plain_values_only(state)

    opt_b = make_opt()
    sched_b = ReduceLROnPlateau(opt_b)  # defaults, all replaced by the state dict
    opt_b.load_state_dict(opt_a.state_dict())
    sched_b.load_state_dict(state)
    for m in [2.5, 2.5, 2.5, 1.0, 1.5, 1.5, 1.5]:
        sched_a.step(m)
        sched_b.step(m)
        assert group_lrs(opt_b) == group_lrs(opt_a)
    assert sched_b.state_dict() == sched_a.state_dict()


# ------------------------------------------------------------------------ bad arguments
BAD = [
    (
        lambda o: StepLR(o, step_size=0),
        ValueError,
        exact("[StepLR] step_size must be a positive int, got 0"),
    ),
    (lambda o: StepLR(o, step_size=2.5), TypeError, r"\[StepLR\] step_size must be a positive int"),
    (lambda o: StepLR(o, step_size=True), TypeError, r"\[StepLR\] step_size"),
    (
        lambda o: StepLR(o, step_size=3, gamma=0),
        ValueError,
        exact("[StepLR] gamma must be a positive float, got 0"),
    ),
    (lambda o: StepLR(o, step_size=3, gamma=float("nan")), ValueError, r"\[StepLR\] gamma"),
    (lambda o: StepLR(o, step_size=3, last_epoch=-2), ValueError, r"\[StepLR\] last_epoch"),
    (lambda o: MultiStepLR(o, milestones=[-1, 3]), ValueError, r"\[MultiStepLR\] each milestone"),
    (
        lambda o: MultiStepLR(o, milestones=5),
        TypeError,
        r"\[MultiStepLR\] milestones must be a list",
    ),
    (lambda o: MultiStepLR(o, milestones=[2], gamma=-0.1), ValueError, r"\[MultiStepLR\] gamma"),
    (lambda o: ExponentialLR(o, gamma=0.0), ValueError, r"\[ExponentialLR\] gamma"),
    (lambda o: ExponentialLR(o, gamma="0.9"), TypeError, r"\[ExponentialLR\] gamma"),
    (
        lambda o: CosineAnnealingLR(o, T_max=-5),
        ValueError,
        exact("[CosineAnnealingLR] T_max must be a positive int, got -5"),
    ),
    (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, r"\[CosineAnnealingLR\] T_max"),
    (
        lambda o: CosineAnnealingLR(o, T_max=10, eta_min=-0.1),
        ValueError,
        r"\[CosineAnnealingLR\] eta_min",
    ),
    (
        lambda o: LinearLR(o, start_factor=0),
        ValueError,
        exact("[LinearLR] start_factor must be in (0, 1], got 0"),
    ),
    (lambda o: LinearLR(o, start_factor=1.5), ValueError, r"\[LinearLR\] start_factor"),
    (lambda o: LinearLR(o, end_factor=1.1), ValueError, r"\[LinearLR\] end_factor"),
    (lambda o: LinearLR(o, total_iters=0), ValueError, r"\[LinearLR\] total_iters"),
    (
        lambda o: ReduceLROnPlateau(o, factor=1.0),
        ValueError,
        exact("[ReduceLROnPlateau] factor must be in (0, 1), got 1.0"),
    ),
    (lambda o: ReduceLROnPlateau(o, factor=0), ValueError, r"\[ReduceLROnPlateau\] factor"),
    (
        lambda o: ReduceLROnPlateau(o, mode="mn"),
        ValueError,
        exact("[ReduceLROnPlateau] mode must be 'min' or 'max', got 'mn'"),
    ),
    (lambda o: ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold_mode"),
    (lambda o: ReduceLROnPlateau(o, patience=-1), ValueError, "patience"),
    (lambda o: ReduceLROnPlateau(o, cooldown=1.5), TypeError, "cooldown"),
    (lambda o: ReduceLROnPlateau(o, threshold=-1e-4), ValueError, "threshold"),
    (
        lambda o: ReduceLROnPlateau(o, min_lr=[0.0]),
        ValueError,
        exact("[ReduceLROnPlateau] expected 2 min_lrs (one per param group), got 1"),
    ),
    (lambda o: ReduceLROnPlateau(o, min_lr=-1e-3), ValueError, "min_lr"),
    (
        lambda o: SequentialLR(o, [StepLR(o, 2), StepLR(o, 3)], milestones=[]),
        ValueError,
        exact("[SequentialLR] expected 1 milestones for 2 schedulers, got 0"),
    ),
    (
        lambda o: SequentialLR(o, [StepLR(o, 2), StepLR(o, 3), StepLR(o, 4)], milestones=[6, 4]),
        ValueError,
        r"\[SequentialLR\] milestones must be strictly increasing",
    ),
    (
        lambda o: SequentialLR(o, [StepLR(o, 2), StepLR(make_opt(), 3)], milestones=[4]),
        ValueError,
        r"\[SequentialLR\] schedulers\[1\] \(StepLR\) schedules a different optimizer",
    ),
    (
        lambda o: SequentialLR(o, [StepLR(o, 2), ReduceLROnPlateau(o)], milestones=[4]),
        ValueError,
        r"\[SequentialLR\] schedulers\[1\] is a ReduceLROnPlateau",
    ),
    (
        lambda o: SequentialLR(o, [StepLR(o, 2), "cosine"], milestones=[4]),
        TypeError,
        r"\[SequentialLR\] schedulers\[1\] must be an LRScheduler, got str",
    ),
    (lambda o: SequentialLR(o, [], milestones=[]), ValueError, r"\[SequentialLR\] schedulers"),
    (
        lambda o: LambdaLR(o, 0.5),
        TypeError,
        exact("[LambdaLR] lr_lambda must be a function of the epoch or a list of them, got float"),
    ),
    (
        lambda o: LambdaLR(o, [lambda e: 1.0]),
        ValueError,
        exact("[LambdaLR] expected 2 lr_lambdas (one per param group), got 1"),
    ),
    (
        lambda o: LambdaLR(o, lambda e: -1.0),
        ValueError,
        exact("[LambdaLR] lr_lambda(0) must be a float >= 0, got -1.0"),
    ),
    (lambda o: MultiplicativeLR(o, [lambda e: 1.0, "x"]), TypeError, r"\[MultiplicativeLR\] "),
    (
        lambda o: MultiplicativeLR(o, lambda e: None).step(),
        TypeError,
        r"\[MultiplicativeLR\] lr_lambda\(1\) must be a float",
    ),
    (lambda o: PolynomialLR(o, total_iters=0), ValueError, r"\[PolynomialLR\] total_iters"),
    (lambda o: PolynomialLR(o, power=-2.0), ValueError, r"\[PolynomialLR\] power"),
    (
        lambda o: CosineAnnealingWarmRestarts(o, T_0=0),
        ValueError,
        exact("[CosineAnnealingWarmRestarts] T_0 must be a positive int, got 0"),
    ),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), TypeError, r"T_mult"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=2, eta_min=-1.0), ValueError, r"eta_min"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=2).step("3"), TypeError, r"epoch"),
    (
        lambda o: CyclicLR(o, base_lr=0.01, max_lr=[0.1]),
        ValueError,
        exact("[CyclicLR] max_lr must hold one value per param group (2), got 1"),
    ),
    (lambda o: CyclicLR(o, base_lr=-0.01, max_lr=0.1), ValueError, r"\[CyclicLR\] base_lr"),
    (lambda o: CyclicLR(o, 0.01, 0.1, step_size_up=0), ValueError, r"step_size_up"),
    (lambda o: CyclicLR(o, 0.01, 0.1, step_size_down=1.5), TypeError, r"step_size_down"),
    (lambda o: CyclicLR(o, 0.01, 0.1, mode="sine"), ValueError, r"\[CyclicLR\] mode must be"),
    (lambda o: CyclicLR(o, 0.01, 0.1, scale_fn=3), TypeError, r"\[CyclicLR\] scale_fn"),
    (
        lambda o: CyclicLR(o, 0.01, 0.1, scale_fn=abs, scale_mode="epochs"),
        ValueError,
        r"scale_mode",
    ),
    (lambda o: CyclicLR(o, 0.01, 0.1, gamma=0.0), ValueError, r"\[CyclicLR\] gamma"),
    (lambda o: CyclicLR(o, 0.01, 0.1, cycle_momentum=1), TypeError, r"cycle_momentum"),
    (lambda o: CyclicLR(o, 0.01, 0.1, max_momentum=[0.9]), ValueError, r"max_momentum"),
    (
        lambda o: OneCycleLR(o, max_lr=0.1),
        ValueError,
        exact("[OneCycleLR] expected total_steps, or epochs and steps_per_epoch"),
    ),
    (lambda o: OneCycleLR(o, 0.1, total_steps=0), ValueError, r"\[OneCycleLR\] total_steps"),
    (lambda o: OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=-1), ValueError, r"steps_per_epoch"),
    (lambda o: OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5), ValueError, r"pct_start"),
    (
        lambda o: OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp"),
        ValueError,
        r"_anneal_func_type must be one of 'cos', 'linear'",
    ),
    (lambda o: OneCycleLR(o, 0.1, total_steps=10, div_factor=0), ValueError, r"div_factor"),
    (lambda o: OneCycleLR(o, 0.1, total_steps=10, three_phase="yes"), TypeError, r"three_phase"),
    (
        lambda o: OneCycleLR(o, 0.1, total_steps=10, last_epoch=3),
        ValueError,
        r"\[OneCycleLR\] resuming at last_epoch=3 needs \['max_lr', 'min_lr', 'max_momentum', "
        r"'base_momentum'\]",
    ),
    (lambda o: ChainedScheduler([]), ValueError, r"\[ChainedScheduler\] schedulers"),
    (
        lambda o: ChainedScheduler([StepLR(o, 2), ReduceLROnPlateau(o)]),
        ValueError,
        r"\[ChainedScheduler\] schedulers\[1\] is a ReduceLROnPlateau",
    ),
    (
        lambda o: ChainedScheduler([StepLR(o, 2), StepLR(make_opt(), 3)]),
        ValueError,
        r"\[ChainedScheduler\] schedulers\[1\] \(StepLR\) schedules a different optimizer",
    ),
    (
        lambda o: ChainedScheduler([StepLR(o, 2)], optimizer="sgd"),
        TypeError,
        r"\[ChainedScheduler\] expected an Optimizer",
    ),
]


@pytest.mark.parametrize("build, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_arguments(build, error, message):
    opt = make_opt()
    with pytest.raises(error, match=message):
        build(opt)


@pytest.mark.parametrize(
    "build",
    [
        lambda o: StepLR(o, step_size=0),
        lambda o: LinearLR(o, start_factor=2.0),
        lambda o: ReduceLROnPlateau(o, factor=2.0),
        lambda o: CyclicLR(o, 0.01, 0.1, max_momentum=[0.9]),
        lambda o: OneCycleLR(o, 0.1, total_steps=5, pct_start=2.0),
    ],
)
def test_rejected_arguments_leave_the_optimizer_unchanged(build):
    opt = make_opt()
    before = opt.state_dict()
    with pytest.raises(ValueError):
        build(opt)
    assert opt.state_dict() == before and "initial_lr" not in opt.param_groups[0]


NOT_OPTIMIZERS = [None, "sgd", [fg.zeros(2, requires_grad=True)], {"lr": 0.1}]
BUILDERS = {
    "StepLR": lambda o: StepLR(o, 3),
    "MultiStepLR": lambda o: MultiStepLR(o, [2]),
    "ExponentialLR": lambda o: ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda o: CosineAnnealingLR(o, 10),
    "LinearLR": LinearLR,
    "ReduceLROnPlateau": ReduceLROnPlateau,
    "SequentialLR": lambda o: SequentialLR(o, [], milestones=[]),
    "LambdaLR": lambda o: LambdaLR(o, lambda epoch: 1.0),
    "MultiplicativeLR": lambda o: MultiplicativeLR(o, lambda epoch: 1.0),
    "PolynomialLR": PolynomialLR,
    "CosineAnnealingWarmRestarts": lambda o: CosineAnnealingWarmRestarts(o, 3),
    "CyclicLR": lambda o: CyclicLR(o, 0.01, 0.1),
    "OneCycleLR": lambda o: OneCycleLR(o, 0.1, total_steps=10),
}


@pytest.mark.parametrize("name", list(BUILDERS))
@pytest.mark.parametrize("not_an_optimizer", NOT_OPTIMIZERS, ids=repr)
def test_not_an_optimizer_is_a_type_error(name, not_an_optimizer):
    with pytest.raises(TypeError, match=rf"^\[{name}\] expected an Optimizer"):
        BUILDERS[name](not_an_optimizer)


def test_plateau_step_needs_a_number():
    sched = ReduceLROnPlateau(make_opt())
    with pytest.raises(
        TypeError,
        match=r"\[ReduceLROnPlateau\] step\(\) expects the monitored "
        r"metric as a number, got str",
    ):
        sched.step("low")
    assert sched.last_epoch == 0 and sched.num_bad_epochs == 0


def test_base_class_needs_get_lr():
    with pytest.raises(NotImplementedError):
        LRScheduler(make_opt())


def test_cycling_momentum_needs_an_optimizer_with_momentum():
    class Plain(SGD):  # an optimizer without momentum or betas among its defaults
        def __init__(self, params):
            super().__init__(params, lr=0.1)
            del self.defaults["momentum"]

    opt = Plain([fg.zeros(2, requires_grad=True)])
    with pytest.raises(
        ValueError,
        match=r"^\[CyclicLR\] cycle_momentum needs an optimizer with "
        r"a 'momentum' or 'betas' hyperparameter, got Plain",
    ):
        CyclicLR(opt, 0.01, 0.1)
    assert "initial_lr" not in opt.param_groups[0]
    OneCycleLR(opt, 0.1, total_steps=5, cycle_momentum=False)
