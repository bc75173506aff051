"""optim: SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam and RAdam against
float64 numpy references written here from the pseudo-code in PyTorch's documentation
(independently of forgegrad's code), for every option combination, over several steps with
a fresh random gradient each step, on a group of parameters of odd sizes (one empty, two over
100k elements so that the fused kernel's thread split falls inside tensors and runs across
tensor boundaries), and the newer six in float64 too; param groups, parameters
without grads, per-parameter step counts, zero_grad, closures, state dicts (layout, exact
resume, rejected loads leave the optimizer unchanged), bad arguments, the kernels' own checks
and repr.

Tolerances. Parameters and state buffers: |got - ref| <= atol + 1e-5 |ref| elementwise, with
atol = 1e-6 max(1, max|ref|) for parameters and 1e-6 max|ref| for buffers (helpers'
norm-wise floor). The reference runs the whole trajectory in float64 from the same float32
start and float32 gradients, so the error measured is forgegrad's float32 rounding: ~6e-8
relative per operation, a few dozen operations over 5 steps, well under 1e-5. The floor is
needed where a value cancels towards 0 (a parameter crossing zero; a momentum or Adam m that
sums gradients of both signs): there the absolute error stays at float32 rounding of the
terms (~1e-7 of their size) while the relative error is unbounded. For Adam the update
lr * m_hat / (sqrt(v_hat) + eps) inherits that absolute error of m, scaled by lr / sqrt(v_hat),
which the parameter's floor covers.

Where the documented pseudo-code and torch's code differ, the reference follows torch's code
and says so (SGD's maximize with weight decay; Adam's amsgrad maximum, see the functions).
"""

import itertools
import math
import re

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import _C
from forgegrad.optim import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop

from helpers import assert_close, make_input, to_numpy

RTOL = 1e-5
STEPS = 5
# One group of odd sizes: an empty one, and two large ones placed so that with 4 threads the
# kernel's even split over the group's 538k elements (above 4 x its 131k-element grain, so
# all 4 threads take part) cuts inside both large tensors, and one thread's range runs from
# the middle of (717, 331) through the small ones into (300003,).
SHAPES = [(7,), (717, 331), (33, 5), (0,), (129,), (300_003,)]
# Gradient scale per step: small steps make Adam's second moment v fall (so that amsgrad's
# running maximum differs from v), and stress eps against sqrt(v_hat).
GRAD_SCALES = [1.0, 0.8, 0.01, 1.5, 0.02]


@pytest.fixture
def threads4(restore_threads):
    """4 threads whatever the machine, so the fused kernel's split is the same everywhere."""
    fg.set_num_threads(4)
    yield


# ----------------------------------------------------------------- float64 references
# Written from the "Algorithm" boxes of torch.optim.SGD / Adam / AdamW. One call is one step
# of one parameter; `st` is that parameter's state (its own step count t).
def sgd_ref_step(
    p, grad, st, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False
):
    # The documented pseudo-code applies maximize at the end (theta += lr g) after adding
    # weight_decay * theta to the *un-negated* gradient; torch's code (_single_tensor_sgd)
    # negates the gradient first, so that weight decay still decays when maximizing. The two
    # differ only for maximize with weight_decay != 0; this follows torch's code, which
    # forgegrad means to match (see test_maximize_still_decays_weights).
    st["t"] = st.get("t", 0) + 1
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * p
    if momentum != 0:
        if st["t"] > 1:
            st["b"] = momentum * st["b"] + (1 - dampening) * g
        else:
            st["b"] = g
        g = g + momentum * st["b"] if nesterov else st["b"]
    return p - lr * g


def adam_ref_step(
    p,
    grad,
    st,
    lr,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    maximize=False,
    decoupled=False,
):
    b1, b2 = betas
    g = -grad if maximize else grad
    if decoupled:  # AdamW: theta <- theta - lr * lambda * theta
        p = p - lr * weight_decay * p
    elif weight_decay != 0:  # Adam: g <- g + lambda * theta
        g = g + weight_decay * p
    t = st["t"] = st.get("t", 0) + 1
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
    m_hat = st["m"] / (1 - b1**t)
    if amsgrad:
        # The current docs (and torch's code): the maximum of the raw v, then bias-corrected.
        st["v_max"] = np.maximum(st.get("v_max", 0.0), st["v"])
        v_hat = st["v_max"] / (1 - b2**t)
    else:
        v_hat = st["v"] / (1 - b2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_step(cls, p, grad, st, hp):
    if cls in REFERENCES:  # RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam (below)
        return REFERENCES[cls](p, grad, st, **hp)
    if cls is SGD:
        return sgd_ref_step(p, grad, st, **hp)
    if cls is AdamW:
        hp = dict({"weight_decay": 1e-2}, **hp)  # AdamW's default, where Adam's is 0
    return adam_ref_step(p, grad, st, decoupled=cls is AdamW, **hp)


def ref_run(cls, params0, grads, hp):
    """The reference trajectory: params0 (float32 arrays), grads[step][i] (float32 arrays or
    None for no grad at that step). Returns the final params and states (float64)."""
    ps = [x.astype(np.float64) for x in params0]
    states = [{} for _ in ps]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is not None:
                ps[i] = ref_step(cls, ps[i], g.astype(np.float64), states[i], hp)
    return ps, states


# ----------------------------------------------------------------------------- helpers
def make_params(shapes):
    return [make_input(s) for s in shapes]


def make_grads(shapes, steps=STEPS, scales=GRAD_SCALES):
    # |grad| >= 0.5 x scale: at Adam's first step p moves by lr * g / (|g| + eps), a step
    # function of g = grad + weight_decay * p; a g that cancels to ~eps would make that
    # direction float32 noise (in any implementation), as a kink does for other ops.
    return [
        [
            (make_input(s, domain="nonzero") * np.float32(scales[k % len(scales)])).astype(
                np.float32
            )
            for s in shapes
        ]
        for k in range(steps)
    ]


def leaves(arrays, device="cpu"):
    return [fg.tensor(x, requires_grad=True, device=device) for x in arrays]


def fg_run(opt, ps, grads):
    """Set each step's grads (None: no grad), on each parameter's device, and step."""
    for step_grads in grads:
        for p, g in zip(ps, step_grads):
            p.grad = None if g is None else fg.tensor(g, device=p.device)
        opt.step()


def values(ps):
    return [to_numpy(p).copy() for p in ps]


def assert_params(ps, refs, what="param"):
    for i, (p, ref) in enumerate(zip(ps, refs)):
        assert_close(to_numpy(p), ref, rtol=RTOL, what=f"{what} {i} {tuple(ref.shape)}")


def assert_buffer(got, ref, what):
    assert isinstance(got, fg.Tensor), f"{what}: expected a Tensor, got {type(got).__name__}"
    ref = np.asarray(ref, dtype=np.float64)
    atol = 0.1 * RTOL * float(np.max(np.abs(ref))) if ref.size else 0.0
    assert_close(to_numpy(got), ref, rtol=RTOL, atol=atol, what=what)


def assert_state_matches(cls, opt, ps, ref_states, hp):
    """The optimizer's per-parameter state against the reference's."""
    if cls in REFERENCES:
        check_new_state(opt, ps, ref_states, RTOL)
        return
    for i, (p, st) in enumerate(zip(ps, ref_states)):
        if "t" not in st:
            assert p not in opt.state, f"param {i}: has state but never had a grad"
            continue
        state = opt.state[p]
        if cls is SGD:
            if hp.get("momentum", 0) == 0:
                assert state.get("momentum_buffer") is None
            else:
                assert_buffer(state["momentum_buffer"], st["b"], f"momentum_buffer {i}")
            continue
        assert state["step"] == st["t"] and isinstance(state["step"], int)
        assert_buffer(state["exp_avg"], st["m"], f"exp_avg {i}")
        assert_buffer(state["exp_avg_sq"], st["v"], f"exp_avg_sq {i}")
        if hp.get("amsgrad"):
            assert_buffer(state["max_exp_avg_sq"], st["v_max"], f"max_exp_avg_sq {i}")
        else:
            assert "max_exp_avg_sq" not in state


def check_against_reference(cls, hp, device, steps=STEPS, scales=GRAD_SCALES):
    """`steps` steps of `cls(**hp)` on SHAPES on `device`, parameters checked against the
    reference after every step (a missed or doubled element shows at the step it happens),
    state at the end."""
    params0 = make_params(SHAPES)
    grads = make_grads(SHAPES, steps, scales)
    ps = leaves(params0, device)
    opt = cls(ps, **hp)
    refs = [x.astype(np.float64) for x in params0]
    ref_states = [{} for _ in ps]
    for k, step_grads in enumerate(grads):
        fg_run(opt, ps, [step_grads])
        old = refs
        refs = [
            ref_step(cls, r, g.astype(np.float64), st, hp)
            for r, g, st in zip(refs, step_grads, ref_states)
        ]
        assert_params(ps, refs, what=f"step {k + 1}: param")
        # The test is only as good as its data: most elements moved by far more than the
        # tolerance at this step, so an element the kernel skipped would show.
        for r0, r1 in zip(old, refs):
            if r1.size:
                bound = 0.1 * RTOL * max(1.0, np.max(np.abs(r1))) + RTOL * np.abs(r1)
                assert np.mean(np.abs(r1 - r0) > 10 * bound) > 0.5
    assert_state_matches(cls, opt, ps, ref_states, hp)
    for p, g in zip(ps, grads[-1]):
        # Updated in place, outside any graph; the gradient itself is left alone (maximize
        # negates a copy).
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
        np.testing.assert_array_equal(to_numpy(p.grad), g)
    return opt, ps, ref_states


# ------------------------------------------------------------ every option combination
SGD_CASES = [
    c
    for c in itertools.product([0.0, 0.9], [0.0, 0.3], [False, True], [0.0, 0.05], [False, True])
    if not c[2] or (c[0] > 0 and c[1] == 0)
]  # nesterov needs momentum, no dampening


@pytest.mark.parametrize(
    "momentum,dampening,nesterov,weight_decay,maximize",
    SGD_CASES,
    ids=[
        f"mom{m}-damp{d}-{'nesterov' if n else 'plain'}-wd{w}-{'max' if x else 'min'}"
        for m, d, n, w, x in SGD_CASES
    ],
)
def test_sgd_matches_reference(
    threads4, momentum, dampening, nesterov, weight_decay, maximize, device
):
    check_against_reference(
        SGD,
        dict(
            lr=0.1,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
            maximize=maximize,
        ),
        device,
    )


ADAM_HPS = {"default": {}, "betas0.8,0.95-eps1e-3": dict(betas=(0.8, 0.95), eps=1e-3)}
ADAM_CASES = list(itertools.product([0.0, 0.05], [False, True], [False, True], ADAM_HPS))


@pytest.mark.parametrize(
    "weight_decay,amsgrad,maximize,hps",
    ADAM_CASES,
    ids=[
        f"wd{w}-{'amsgrad' if a else 'adam'}-{'max' if x else 'min'}-{h}"
        for w, a, x, h in ADAM_CASES
    ],
)
def test_adam_matches_reference(threads4, weight_decay, amsgrad, maximize, hps, device):
    hp = dict(
        lr=0.05, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize, **ADAM_HPS[hps]
    )
    _, _, ref_states = check_against_reference(Adam, hp, device)
    if amsgrad:
        # The data makes amsgrad matter: at the end v is below its running maximum by far
        # more than the tolerance for most elements (by ~0.1% with beta2 = 0.999, which lets v
        # fall at most that much per step), so max_exp_avg_sq is told apart from exp_avg_sq
        # (counted over the whole group: weight decay keeps v rising in a few elements).
        v = np.concatenate([np.ravel(st["v"]) for st in ref_states])
        v_max = np.concatenate([np.ravel(st["v_max"]) for st in ref_states])
        assert np.mean(v_max > v * (1 + 20 * RTOL)) > 0.5


ADAMW_CASES = list(itertools.product([0.0, 0.1], [False, True], [False, True]))


@pytest.mark.parametrize(
    "weight_decay,amsgrad,maximize",
    ADAMW_CASES,
    ids=[f"wd{w}-{'amsgrad' if a else 'adam'}-{'max' if x else 'min'}" for w, a, x in ADAMW_CASES],
)
def test_adamw_matches_reference(threads4, weight_decay, amsgrad, maximize, device):
    check_against_reference(
        AdamW, dict(lr=0.05, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize), device
    )


def test_adamw_default_weight_decay_is_decoupled():
    # AdamW's default weight_decay is 1e-2 and differs from Adam's coupled L2 term.
    params0, grads = make_params([(33,)]), make_grads([(33,)], steps=3)
    pw, pa = leaves(params0), leaves(params0)
    w, a = AdamW(pw, lr=0.05), Adam(pa, lr=0.05, weight_decay=1e-2)
    assert (
        w.defaults["weight_decay"] == 1e-2 and Adam(leaves(params0)).defaults["weight_decay"] == 0.0
    )
    fg_run(w, pw, grads)
    fg_run(a, pa, grads)
    assert_params(pw, ref_run(AdamW, params0, grads, dict(lr=0.05, weight_decay=1e-2))[0])
    assert_params(pa, ref_run(Adam, params0, grads, dict(lr=0.05, weight_decay=1e-2))[0])
    assert not np.allclose(to_numpy(pw[0]), to_numpy(pa[0]), rtol=1e-4, atol=0)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_maximize_still_decays_weights(cls):
    # maximize negates the gradient, not the weight decay (torch's code; see sgd_ref_step):
    # with a zero gradient, maximizing and minimizing shrink the weights alike. Without weight
    # decay, maximize is the mirror image of minimize.
    x = make_input((129,), "nonzero")
    moves = {}
    for maximize in (False, True):
        p = leaves([x])[0]
        opt = cls(
            [p],
            lr=0.1,
            weight_decay=0.5,
            maximize=maximize,
            **({"momentum": 0.9} if cls is SGD else {}),
        )
        for _ in range(3):
            p.grad = fg.zeros(129)
            opt.step()
        moves[maximize] = to_numpy(p).copy()
    for got in moves.values():
        assert np.all(np.abs(got) < np.abs(x)) and np.all(np.sign(got) == np.sign(x))
    np.testing.assert_array_equal(moves[False], moves[True])

    g = make_grads([(129,)], steps=3)
    mirror = {}
    for maximize in (False, True):
        p = leaves([x])[0]
        opt = cls(
            [p],
            lr=0.1,
            weight_decay=0.0,
            maximize=maximize,
            **({"momentum": 0.9} if cls is SGD else {}),
        )
        fg_run(opt, [p], g)
        mirror[maximize] = to_numpy(p).astype(np.float64) - x
    # Not bitwise: x - u and x + u round differently; 1e-5 covers a few float32 ulps of |x| <= 2.
    assert_close(mirror[True], -mirror[False], rtol=RTOL, atol=1e-5)


@pytest.mark.parametrize(
    "cls,hp",
    [
        (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
        (Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
        (AdamW, dict(lr=0.05)),
    ],
)
def test_thread_count_does_not_change_results(restore_threads, cls, hp):
    # Each element's update is independent of how the group is split across threads, so one
    # thread and four give bit-identical parameters.
    params0, grads = make_params(SHAPES), make_grads(SHAPES, steps=3)
    out = []
    for n in (1, 4):
        fg.set_num_threads(n)
        ps = leaves(params0)
        fg_run(cls(ps, **hp), ps, grads)
        out.append(values(ps))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


# -------------------------------------------------------------------------- param groups
def test_param_groups_use_their_own_hyperparameters():
    shapes0, shapes1 = [(7,), (33, 5)], [(129,), (3, 7, 5)]
    hp0 = dict(lr=0.1, momentum=0.9, nesterov=True)
    hp1 = dict(
        lr=0.02, momentum=0.5, dampening=0.4, weight_decay=0.1, maximize=True, nesterov=False
    )  # else it takes nesterov=True from the defaults: invalid here
    x0, x1 = make_params(shapes0), make_params(shapes1)
    g = make_grads(shapes0 + shapes1)
    p0, p1 = leaves(x0), leaves(x1)
    opt = SGD([{"params": p0}, {"params": p1, **hp1}], **hp0)
    assert [len(grp["params"]) for grp in opt.param_groups] == [2, 2]
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["dampening"] == 0.0
    assert opt.param_groups[1]["lr"] == 0.02 and opt.param_groups[1]["nesterov"] is False
    fg_run(opt, p0 + p1, g)
    assert_params(p0, ref_run(SGD, x0, [s[:2] for s in g], hp0)[0])
    assert_params(p1, ref_run(SGD, x1, [s[2:] for s in g], hp1)[0])


def test_adam_param_groups_and_add_param_group():
    # Two groups of different betas/amsgrad; after two steps a third group is added, which
    # takes the defaults for what it does not set and starts its own step count.
    defaults = dict(lr=0.05, betas=(0.8, 0.9))
    hp1 = dict(lr=0.01, betas=(0.5, 0.7), amsgrad=True, weight_decay=0.2, eps=1e-4)
    hp2 = dict(weight_decay=0.3, maximize=True)
    x = make_params([(7,), (33,), (129,)])
    g = make_grads([(7,), (33,), (129,)])
    ps = leaves(x)
    opt = Adam([{"params": [ps[0]]}, {"params": ps[1], **hp1}], **defaults)  # a bare Tensor
    assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is ps[1]
    fg_run(opt, ps[:2], [s[:2] for s in g[:2]])
    opt.add_param_group({"params": [ps[2]], **hp2})
    group = opt.param_groups[2]
    assert group["params"][0] is ps[2]
    assert group["lr"] == 0.05 and group["betas"] == (0.8, 0.9) and group["eps"] == 1e-8
    assert group["weight_decay"] == 0.3 and group["maximize"] is True
    assert group["amsgrad"] is False
    fg_run(opt, ps, g[2:])
    assert [opt.state[p]["step"] for p in ps] == [5, 5, 3]
    assert_params(ps[:1], ref_run(Adam, x[:1], [s[:1] for s in g], defaults)[0])
    assert_params(ps[1:2], ref_run(Adam, x[1:2], [s[1:2] for s in g], hp1)[0])
    assert_params(ps[2:], ref_run(Adam, x[2:], [s[2:] for s in g[2:]], dict(defaults, **hp2))[0])


def test_add_param_group_rejects_and_leaves_groups_unchanged():
    p, q = leaves(make_params([(3,), (4,)]))
    opt = SGD([p], lr=0.1)
    before = [dict(grp) for grp in opt.param_groups]
    for bad, exc in [
        ({"params": [p]}, ValueError),  # already optimized
        ({"params": [q], "lr": -1.0}, ValueError),
        ({"params": [q], "momentum": -0.5}, ValueError),
        ({"params": [q], "nesterov": True}, ValueError),
        ({"params": [q, q]}, ValueError),
        ({"lr": 0.1}, ValueError),  # no params
        ({"params": [q, 1.0]}, TypeError),
        ({"params": [q * 2]}, ValueError),
        ([q], TypeError),
    ]:  # not a dict
        with pytest.raises(exc, match=r"\[SGD\]"):
            opt.add_param_group(bad)
        assert opt.param_groups == before
    opt.add_param_group({"params": q})  # q was never taken by a rejected call
    assert opt.param_groups[1]["params"][0] is q and opt.param_groups[1]["lr"] == 0.1


@pytest.mark.parametrize(
    "cls,hp",
    [
        (SGD, dict(lr=0.1)),
        (SGD, dict(lr=0.1, momentum=0.9)),
        (Adam, dict(lr=0.05, amsgrad=True)),
        (AdamW, dict(lr=0.05)),
    ],
)
def test_params_without_grad_are_skipped(cls, hp):
    x = make_params([(7,), (33,), (129,)])
    ps = leaves(x)
    opt = cls(ps, **hp)
    g = make_grads([(7,), (33,), (129,)], steps=3)
    fg_run(opt, ps, [[s[0], None, s[2]] for s in g])
    np.testing.assert_array_equal(to_numpy(ps[1]), x[1])  # untouched, bit for bit
    assert ps[1].grad is None and ps[1] not in opt.state
    assert ps[0] in opt.state and ps[2] in opt.state
    assert set(opt.state_dict()["state"]) == {0, 2}
    assert_params([ps[0], ps[2]], ref_run(cls, [x[0], x[2]], [[s[0], s[2]] for s in g], hp)[0])
    # A step with no gradient anywhere changes nothing.
    opt.zero_grad()
    snapshot = values(ps)
    opt.step()
    for a, b in zip(values(ps), snapshot):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "cls,hp",
    [
        (SGD, dict(lr=0.1, momentum=0.9, dampening=0.3)),
        (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
        (Adam, dict(lr=0.05, amsgrad=True)),
        (AdamW, dict(lr=0.05, weight_decay=0.1)),
    ],
)
def test_param_gaining_grad_later_starts_its_own_count(cls, hp):
    # Steps 1-2: only A has a grad; 3-4: both; 5: only B. B's first update is a first step
    # (Adam's bias correction with t = 1; SGD's momentum buffer = its grad, undampened) while
    # A is at step 3; A skips step 5 without its count moving.
    x = make_params([(33, 5), (129,)])
    g = make_grads([(33, 5), (129,)])
    mask = [(1, 0), (1, 0), (1, 1), (1, 1), (0, 1)]
    g = [[gi if m else None for gi, m in zip(s, ms)] for s, ms in zip(g, mask)]
    ps = leaves(x)
    opt = cls(ps, **hp)
    fg_run(opt, ps, g[:3])
    if cls is SGD:
        # B's buffer after its first step is exactly its gradient (no dampening applied).
        np.testing.assert_array_equal(to_numpy(opt.state[ps[1]]["momentum_buffer"]), g[2][1])
    else:
        assert opt.state[ps[0]]["step"] == 3 and opt.state[ps[1]]["step"] == 1
    fg_run(opt, ps, g[3:])
    refs, ref_states = ref_run(cls, x, g, hp)
    assert_params(ps, refs)
    assert_state_matches(cls, opt, ps, ref_states, hp)
    if cls is not SGD:
        assert [opt.state[p]["step"] for p in ps] == [4, 3]


# ----------------------------------------------------------------- zero_grad and closures
def test_zero_grad():
    ps = leaves(make_params([(7,), (3, 5), (4,)]))
    opt = Adam(ps)
    ps[0].grad, ps[1].grad = fg.ones(7), fg.ones(3, 5)
    opt.zero_grad(set_to_none=False)
    assert ps[2].grad is None  # no grad stays no grad
    for p in ps[:2]:
        assert p.grad is not None and tuple(p.grad.shape) == tuple(p.shape)
        np.testing.assert_array_equal(to_numpy(p.grad), np.zeros(p.shape, np.float32))
    opt.zero_grad()  # set_to_none=True by default
    assert all(p.grad is None for p in ps)


def test_step_with_closure_returns_its_loss_and_records_grad():
    x = make_input((33,))
    p = leaves([x])[0]
    opt = SGD([p], lr=0.1)
    calls = []

    def closure():
        calls.append(fg.is_grad_enabled())
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        calls.append(loss)
        return loss

    with fg.no_grad():  # step() turns grad on for the closure even here
        loss = opt.step(closure)
    assert calls[0] is True and len(calls) == 2 and loss is calls[1]
    assert loss.item() == pytest.approx(float(np.sum(x.astype(np.float64) ** 2)), rel=1e-5)
    assert_close(to_numpy(p), x - 0.1 * 2 * x.astype(np.float64), rtol=RTOL)  # loss' grad: 2p
    assert fg.is_grad_enabled()
    assert opt.step() is None


# --------------------------------------------------------------------------- state dicts
def test_state_dict_layout():
    x = make_params([(7,), (33,), (5, 3), (129,)])
    ps = leaves(x)
    opt = Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.5, "amsgrad": True}], lr=0.01)
    g = make_grads([(7,), (33,), (5, 3), (129,)], steps=2)
    fg_run(opt, ps, [[s[0], s[1], s[2], None] for s in g])  # ps[3] has no state
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    groups = sd["param_groups"]
    assert [grp["params"] for grp in groups] == [[0, 1], [2, 3]]  # indices across groups
    assert groups[0] == {
        "params": [0, 1],
        "lr": 0.01,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
        "maximize": False,
    }
    assert groups[1]["lr"] == 0.5 and groups[1]["amsgrad"] is True
    assert sorted(sd["state"]) == [0, 1, 2]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert set(sd["state"][2]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    for i in range(3):
        state, live = sd["state"][i], opt.state[ps[i]]
        assert state["step"] == 2
        for key in live:
            if key != "step":
                assert tuple(state[key].shape) == tuple(ps[i].shape)
                np.testing.assert_array_equal(to_numpy(state[key]), to_numpy(live[key]))
    # The returned groups are the state dict's own: editing them leaves the optimizer alone.
    groups[0]["lr"] = 123.0
    groups[0]["params"].append(99)
    assert opt.param_groups[0]["lr"] == 0.01 and len(opt.param_groups[0]["params"]) == 2


def test_sgd_state_dict_layout():
    ps = leaves(make_params([(7,), (4, 3)]))
    opt = SGD(ps, lr=0.1, momentum=0.9)
    fg_run(opt, ps, make_grads([(7,), (4, 3)], steps=1))
    sd = opt.state_dict()
    assert sd["param_groups"] == [
        {
            "params": [0, 1],
            "lr": 0.1,
            "momentum": 0.9,
            "dampening": 0.0,
            "weight_decay": 0.0,
            "nesterov": False,
            "maximize": False,
        }
    ]
    assert sorted(sd["state"]) == [0, 1]
    assert tuple(sd["state"][1]["momentum_buffer"].shape) == (4, 3)


RESUME_CASES = [
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (SGD, dict(lr=0.1, momentum=0.8, dampening=0.2)),
    (Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.01, betas=(0.8, 0.95))),
    (AdamW, dict(lr=0.05, maximize=True)),
    (RMSprop, dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    (Adagrad, dict(lr=0.05, lr_decay=0.1, initial_accumulator_value=0.2)),
    (Adadelta, dict(lr=0.5, weight_decay=0.01)),
    (Adamax, dict(lr=0.05, maximize=True)),
    (NAdam, dict(lr=0.05, weight_decay=0.01, decoupled_weight_decay=True)),
    (RAdam, dict(lr=0.05, weight_decay=0.01)),
]


@pytest.mark.parametrize("via_file", [False, True], ids=["in-memory", "via-file"])
@pytest.mark.parametrize(
    "cls,hp", RESUME_CASES, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(RESUME_CASES)]
)
def test_state_dict_resume_is_bit_identical(tmp_path, cls, hp, via_file, device):
    shapes = [(7,), (33, 5), (129,), (1031,)]
    x = make_params(shapes)
    g = make_grads(shapes, steps=6)
    # Two groups, the second with its own lr; the last parameter gets its first grad at
    # step 3, so the saved step counts differ between parameters.
    g = [[gi if (i < 3 or k >= 2) else None for i, gi in enumerate(s)] for k, s in enumerate(g)]

    def build(ps, **override):
        return cls([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02}], **dict(hp, **override))

    ps = leaves(x, device)
    opt = build(ps)
    fg_run(opt, ps, g[:3])
    sd = opt.state_dict()
    if via_file:
        fg.save(sd, tmp_path / "opt.safetensors")
        sd = fg.load(tmp_path / "opt.safetensors")
    # A fresh optimizer over copies of the params, built with other hyperparameters: the
    # state dict's win. Loading copies the state (it does not alias the saved tensors).
    ps2 = leaves(values(ps), device)
    opt2 = build(ps2, lr=7.0)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == hp["lr"] and opt2.param_groups[1]["lr"] == 0.02
    flat = [p for grp in opt2.param_groups for p in grp["params"]]
    assert len(flat) == len(ps2) and all(a is b for a, b in zip(flat, ps2))
    for p, p2 in zip(ps, ps2):
        for key, value in opt.state.get(p, {}).items():
            if isinstance(value, fg.Tensor):
                assert opt2.state[p2][key] is not value
    # Both go on with the same grads: identical to the last bit, parameters and state.
    fg_run(opt, ps, g[3:])
    fg_run(opt2, ps2, g[3:])
    for a, b in zip(values(ps), values(ps2)):
        np.testing.assert_array_equal(a, b)
    for p, p2 in zip(ps, ps2):
        s1, s2 = opt.state[p], opt2.state[p2]
        assert set(s1) == set(s2)
        for key in s1:
            if isinstance(s1[key], fg.Tensor):
                np.testing.assert_array_equal(to_numpy(s1[key]), to_numpy(s2[key]))
            else:
                assert s1[key] == s2[key]


def snapshot(opt):
    """Everything load_state_dict may change, by value and identity."""
    groups = [
        {k: (tuple(id(p) for p in v) if k == "params" else v) for k, v in grp.items()}
        for grp in opt.param_groups
    ]
    state = {
        id(p): {
            k: (id(v), to_numpy(v).copy()) if isinstance(v, fg.Tensor) else v for k, v in s.items()
        }
        for p, s in opt.state.items()
    }
    return id(opt.param_groups), groups, state


def assert_same_snapshot(a, b):
    assert a[0] == b[0] and a[1] == b[1]
    assert a[2].keys() == b[2].keys()
    for pid in a[2]:
        sa, sb = a[2][pid], b[2][pid]
        assert sa.keys() == sb.keys()
        for k in sa:
            if isinstance(sa[k], tuple):
                assert sa[k][0] == sb[k][0]
                np.testing.assert_array_equal(sa[k][1], sb[k][1])
            else:
                assert sa[k] == sb[k]


def _edit_state(index, **changes):
    def edit(sd):
        sd["state"][index] = dict(sd["state"][index], **changes)

    return edit


def _drop_state_key(index, key):
    def edit(sd):
        sd["state"][index] = {k: v for k, v in sd["state"][index].items() if k != key}

    return edit


def _edit_group(index, **changes):
    def edit(sd):
        sd["param_groups"][index] = dict(sd["param_groups"][index], **changes)

    return edit


def _drop_group_key(index, key):
    def edit(sd):
        sd["param_groups"][index] = {k: v for k, v in sd["param_groups"][index].items() if k != key}

    return edit


# Each edit breaks the last group or parameter, so everything before it was checked and
# accepted first: a load that half-applied would show.
BAD_LOADS = {
    "fewer-groups": lambda sd: sd["param_groups"].pop(),
    "more-groups": lambda sd: sd["param_groups"].append(dict(sd["param_groups"][-1])),
    "fewer-params": _edit_group(1, params=[2]),
    "more-params": _edit_group(1, params=[2, 3, 4]),
    "state-wrong-shape": _edit_state(3, exp_avg=fg.zeros(5, 5)),
    "state-wrong-dtype": _edit_state(3, exp_avg_sq=fg.zeros(129, dtype=fg.int64)),
    "amsgrad-state-wrong-shape": _edit_state(3, max_exp_avg_sq=fg.zeros(128)),
    "negative-step": _edit_state(3, step=-1),
    "fractional-step": _edit_state(3, step=2.5),
    "state-missing-key": _drop_state_key(3, "exp_avg_sq"),
    "state-not-a-dict": lambda sd: sd["state"].__setitem__(3, [1, 2]),
    "state-for-unknown-index": lambda sd: sd["state"].__setitem__(7, dict(sd["state"][0])),
    "negative-lr": _edit_group(1, lr=-1.0),
    "beta-one": _edit_group(1, betas=(0.9, 1.0)),
    "negative-eps": _edit_group(1, eps=-1e-8),
    "negative-weight-decay": _edit_group(1, weight_decay=-0.1),
    "nan-lr": _edit_group(1, lr=float("nan")),
    "not-a-state-dict": lambda sd: sd.pop("state"),
    "state-not-a-mapping": lambda sd: sd.__setitem__("state", []),
    "group-not-a-dict": lambda sd: sd["param_groups"].__setitem__(1, 5),
    "group-params-not-a-list": _edit_group(1, params=5),
    "infinite-lr": _edit_group(1, lr=float("inf")),
    # A state buffer that is not a Tensor would otherwise be accepted and fail (or corrupt the
    # step count) at the next step(); a group missing a hyperparameter would fail there too.
    "state-buffer-not-a-tensor": _edit_state(3, exp_avg=[0.0] * 129),
    "group-missing-hyperparameter": _drop_group_key(1, "eps"),
}


@pytest.mark.parametrize("case", list(BAD_LOADS))
def test_rejected_load_state_dict_leaves_optimizer_unchanged(case):
    shapes = [(7,), (33,), (5, 3), (129,)]
    x = make_params(shapes)
    ps = leaves(x)
    opt = Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.5, "amsgrad": True}], lr=0.01)
    g = make_grads(shapes, steps=2)
    fg_run(opt, ps, g)
    # A valid state dict from another optimizer, different in every value, to load.
    other_ps = leaves(make_params(shapes))
    other = Adam(
        [{"params": other_ps[:2]}, {"params": other_ps[2:], "lr": 0.25, "amsgrad": True}], lr=0.02
    )
    fg_run(other, other_ps, make_grads(shapes, steps=3))
    sd = other.state_dict()
    sd = {"state": dict(sd["state"]), "param_groups": list(sd["param_groups"])}
    before = snapshot(opt)
    BAD_LOADS[case](sd)
    with pytest.raises(ValueError, match=r"\[Adam\.load_state_dict\]|\[Adam\]"):
        opt.load_state_dict(sd)
    assert_same_snapshot(snapshot(opt), before)
    # ... and it still steps as if nothing had happened.
    fg_run(opt, ps, g[:1])
    assert_params(
        ps,
        ref_run(Adam, x[:2], [s[:2] for s in g + g[:1]], dict(lr=0.01))[0]
        + ref_run(Adam, x[2:], [s[2:] for s in g + g[:1]], dict(lr=0.5, amsgrad=True))[0],
    )


def test_load_state_dict_checks_sgd_hyperparameters_and_buffers():
    ps = leaves(make_params([(7,), (33,)]))
    opt = SGD(ps, lr=0.1, momentum=0.9)
    fg_run(opt, ps, make_grads([(7,), (33,)], steps=1))
    before = snapshot(opt)
    good = opt.state_dict()
    for edit in [
        _edit_group(0, lr=-1.0),
        _edit_group(0, momentum=-0.1),
        _edit_group(0, nesterov=True, dampening=0.5),
        _edit_state(1, momentum_buffer=fg.zeros(32)),
        _edit_state(1, momentum_buffer=np.zeros(33, np.float32)),
    ]:
        sd = {"state": dict(good["state"]), "param_groups": list(good["param_groups"])}
        edit(sd)
        with pytest.raises(ValueError, match=r"\[SGD"):
            opt.load_state_dict(sd)
        assert_same_snapshot(snapshot(opt), before)
    # A missing buffer (None: not started) is fine and starts afresh as the next grad.
    sd = {"state": {0: {"momentum_buffer": None}}, "param_groups": list(good["param_groups"])}
    opt.load_state_dict(sd)
    assert opt.state[ps[0]]["momentum_buffer"] is None and ps[1] not in opt.state
    g = make_grads([(7,), (33,)], steps=1)[0]
    fg_run(opt, ps, [g])
    np.testing.assert_array_equal(to_numpy(opt.state[ps[0]]["momentum_buffer"]), g[0])


# ----------------------------------------------------------------------------- bad input
def _p():
    return fg.zeros(3, requires_grad=True)


BAD_ARGS = {
    "sgd-negative-lr": (lambda: SGD([_p()], lr=-0.1), ValueError),
    "sgd-nan-lr": (lambda: SGD([_p()], lr=float("nan")), ValueError),
    "sgd-negative-momentum": (lambda: SGD([_p()], momentum=-0.1), ValueError),
    "sgd-negative-dampening": (lambda: SGD([_p()], momentum=0.9, dampening=-0.1), ValueError),
    "sgd-negative-weight-decay": (lambda: SGD([_p()], weight_decay=-1e-4), ValueError),
    "sgd-nesterov-without-momentum": (lambda: SGD([_p()], nesterov=True), ValueError),
    "sgd-nesterov-with-dampening": (
        lambda: SGD([_p()], momentum=0.9, dampening=0.1, nesterov=True),
        ValueError,
    ),
    "sgd-lr-not-a-number": (lambda: SGD([_p()], lr="0.1"), TypeError),
    "sgd-infinite-lr": (lambda: SGD([_p()], lr=float("inf")), ValueError),
    "adam-infinite-weight-decay": (lambda: Adam([_p()], weight_decay=float("inf")), ValueError),
    "sgd-nesterov-not-a-bool": (lambda: SGD([_p()], momentum=0.9, nesterov=1), TypeError),
    "adam-negative-lr": (lambda: Adam([_p()], lr=-1e-3), ValueError),
    "adam-beta1-one": (lambda: Adam([_p()], betas=(1.0, 0.999)), ValueError),
    "adam-beta2-one": (lambda: Adam([_p()], betas=(0.9, 1.0)), ValueError),
    "adam-beta1-negative": (lambda: Adam([_p()], betas=(-0.1, 0.999)), ValueError),
    "adam-beta2-above-one": (lambda: Adam([_p()], betas=(0.9, 1.5)), ValueError),
    "adam-betas-not-a-pair": (lambda: Adam([_p()], betas=(0.9,)), TypeError),
    "adam-negative-eps": (lambda: Adam([_p()], eps=-1e-8), ValueError),
    "adam-negative-weight-decay": (lambda: Adam([_p()], weight_decay=-0.1), ValueError),
    "adam-amsgrad-not-a-bool": (lambda: Adam([_p()], amsgrad="yes"), TypeError),
    "adamw-negative-weight-decay": (lambda: AdamW([_p()], weight_decay=-0.01), ValueError),
    "adamw-beta-one": (lambda: AdamW([_p()], betas=(0.9, 1.0)), ValueError),
    "rmsprop-negative-lr": (lambda: RMSprop([_p()], lr=-0.1), ValueError),
    "rmsprop-alpha-above-one": (lambda: RMSprop([_p()], alpha=1.5), ValueError),
    "rmsprop-negative-momentum": (lambda: RMSprop([_p()], momentum=-0.9), ValueError),
    "rmsprop-negative-eps": (lambda: RMSprop([_p()], eps=-1e-8), ValueError),
    "rmsprop-centered-not-a-bool": (lambda: RMSprop([_p()], centered=1), TypeError),
    "adagrad-negative-lr-decay": (lambda: Adagrad([_p()], lr_decay=-0.1), ValueError),
    "adagrad-negative-initial-accumulator": (
        lambda: Adagrad([_p()], initial_accumulator_value=-1.0),
        ValueError,
    ),
    "adagrad-negative-weight-decay": (lambda: Adagrad([_p()], weight_decay=-0.1), ValueError),
    "adadelta-rho-above-one": (lambda: Adadelta([_p()], rho=1.1), ValueError),
    "adadelta-negative-eps": (lambda: Adadelta([_p()], eps=-1e-6), ValueError),
    "adamax-beta1-one": (lambda: Adamax([_p()], betas=(1.0, 0.999)), ValueError),
    "adamax-nan-lr": (lambda: Adamax([_p()], lr=float("nan")), ValueError),
    "nadam-negative-momentum-decay": (lambda: NAdam([_p()], momentum_decay=-1e-3), ValueError),
    "nadam-decoupled-not-a-bool": (lambda: NAdam([_p()], decoupled_weight_decay="yes"), TypeError),
    "radam-beta2-one": (lambda: RAdam([_p()], betas=(0.9, 1.0)), ValueError),
    "radam-maximize-not-a-bool": (lambda: RAdam([_p()], maximize=None), TypeError),
    "params-single-tensor": (lambda: SGD(_p()), TypeError),
    "params-not-tensors": (lambda: Adam([_p(), np.zeros(3, np.float32)]), TypeError),
    "params-non-leaf": (lambda: SGD([_p() * 2]), ValueError),
    "params-int64": (lambda: Adam([fg.zeros(3, dtype=fg.int64)]), TypeError),
    "params-same-twice": (lambda: (lambda p: SGD([p, p]))(_p()), ValueError),
    "params-same-in-two-groups": (
        lambda: (lambda p: Adam([{"params": [p]}, {"params": [p], "lr": 0.1}]))(_p()),
        ValueError,
    ),
    "params-empty-list": (lambda: SGD([]), ValueError),
    "params-empty-generator": (lambda: Adam(p for p in []), ValueError),
}


@pytest.mark.parametrize("case", list(BAD_ARGS))
def test_bad_constructor_arguments(case):
    make, exc = BAD_ARGS[case]
    names = "SGD|Adam|AdamW|RMSprop|Adagrad|Adadelta|Adamax|NAdam|RAdam"
    with pytest.raises(exc, match=rf"^\[({names})\] "):
        make()


@pytest.mark.parametrize(
    "params, name",
    [
        (lambda: fg.nn.Linear(2, 3), "Linear"),
        (lambda: fg.nn.Sequential(fg.nn.Linear(2, 2)), "Sequential"),
        (lambda: None, "NoneType"),
        (lambda: 5, "int"),
    ],
    ids=["module", "sequential", "none", "int"],
)
def test_params_that_are_not_an_iterable_of_tensors(params, name):
    # A Module instead of model.parameters() is the usual slip.
    with pytest.raises(
        TypeError,
        match=r"^\[SGD\] params must be an iterable of Tensors or "
        r"of dicts \(e.g. model.parameters\(\)\), got "
        rf"{name}$",
    ):
        SGD(params())


@pytest.mark.parametrize(
    "cls, key, bad, error",
    [
        (SGD, "lr", "x", TypeError),
        (SGD, "momentum", -1.0, ValueError),
        (Adam, "betas", (0.9,), TypeError),
        (AdamW, "eps", None, TypeError),
    ],
)
def test_step_checks_every_group_before_updating_any(cls, key, bad, error):
    # A bad hyperparameter set by hand in the second group is found before the first moves
    # (and before the closure runs).
    params = [fg.ones(3, requires_grad=True), fg.ones(2, requires_grad=True)]
    opt = cls([{"params": [params[0]]}, {"params": [params[1]]}], lr=0.1)
    for p in params:
        p.grad = fg.ones(*p.shape)
    opt.param_groups[1][key] = bad
    calls = []
    with pytest.raises(error, match=rf"^\[{cls.__name__}\] {key}"):
        opt.step(lambda: calls.append(1))
    assert calls == [] and opt.state == {}
    for p in params:
        assert np.array_equal(to_numpy(p), np.ones(p.shape, np.float32))


def test_bad_grad_cannot_be_set():
    p = _p()
    opt = SGD([p], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"\[grad\].*shape"):
        p.grad = fg.ones(4)
    with pytest.raises(ValueError, match=r"\[grad\].*shape"):
        p.grad = fg.ones(3, 1)
    with pytest.raises(TypeError, match=r"\[grad\].*dtype"):
        p.grad = fg.zeros(3, dtype=fg.int64)
    assert p.grad is None
    opt.step()  # nothing to do
    np.testing.assert_array_equal(to_numpy(p), np.zeros(3, np.float32))
    assert p not in opt.state


def _adam_kwargs(**kw):
    return dict(
        dict(
            lr=0.1,
            beta1=0.9,
            beta2=0.999,
            eps=1e-8,
            weight_decay=0.0,
            amsgrad=False,
            maximize=False,
            decoupled_weight_decay=False,
        ),
        **kw,
    )


def _adam_call(bad):
    """Arguments of a two-parameter _adam_step, with `bad` replacing one entry."""
    ps = [fg.tensor(make_input(s)) for s in [(7,), (33, 5)]]
    args = dict(
        params=ps,
        grads=[fg.tensor(make_input(p.shape)) for p in ps],
        exp_avgs=[fg.zeros(*p.shape) for p in ps],
        exp_avg_sqs=[fg.zeros(*p.shape) for p in ps],
        max_exp_avg_sqs=[fg.zeros(*p.shape) for p in ps],
        steps=[1, 1],
    )
    kw = _adam_kwargs(amsgrad=True)
    name, value = bad
    if name in args:
        args[name] = value(args[name])
    else:
        kw[name] = value
    return args, kw


ADAM_KERNEL_BAD = {
    "exp_avg-shape": (
        ("exp_avgs", lambda t: [t[0], fg.zeros(5, 33)]),
        ValueError,
        r"\[adam_step\] expected exp_avgs\[1\] of shape \(33, 5\)",
    ),
    "exp_avg_sq-shape": (
        ("exp_avg_sqs", lambda t: [t[0], fg.zeros(165)]),
        ValueError,
        r"\[adam_step\] expected exp_avg_sqs\[1\] of shape",
    ),
    "max_exp_avg_sq-shape": (
        ("max_exp_avg_sqs", lambda t: [t[0], fg.zeros(33, 4)]),
        ValueError,
        r"\[adam_step\] expected max_exp_avg_sqs\[1\]",
    ),
    "max_exp_avg_sqs-missing": (
        ("max_exp_avg_sqs", lambda t: []),
        ValueError,
        r"\[adam_step\] expected 2 max_exp_avg_sqs",
    ),
    "grad-shape": (
        ("grads", lambda t: [t[0], fg.zeros(33)]),
        ValueError,
        r"\[adam_step\] expected grads\[1\]",
    ),
    "too-few-exp_avgs": (
        ("exp_avgs", lambda t: t[:1]),
        ValueError,
        r"\[adam_step\] expected 2 exp_avgs",
    ),
    "steps-count": (("steps", lambda s: [1]), ValueError, r"\[adam_step\] expected 2 step"),
    "step-zero": (
        ("steps", lambda s: [1, 0]),
        ValueError,
        r"\[adam_step\] expected step counts >= 1",
    ),
    "exp_avg-dtype": (
        ("exp_avgs", lambda t: [t[0], fg.zeros(33, 5, dtype=fg.int64)]),
        TypeError,
        r"\[adam_step\].*float32",
    ),
}


@pytest.mark.parametrize("case", list(ADAM_KERNEL_BAD))
def test_adam_kernel_rejects_bad_buffers_before_touching_anything(case):
    bad, exc, message = ADAM_KERNEL_BAD[case]
    args, kw = _adam_call(bad)
    tensors = [
        t for v in args.values() if isinstance(v, list) for t in v if isinstance(t, fg.Tensor)
    ]
    before = [to_numpy(t).copy() for t in tensors]
    with pytest.raises(exc, match=message):
        _C._adam_step(**args, **kw)
    # Checked before any update: parameter 0, whose buffers were fine, is untouched too.
    for t, b in zip(tensors, before):
        np.testing.assert_array_equal(to_numpy(t), b)


def test_sgd_kernel_rejects_bad_buffers():
    p, g = fg.tensor(make_input((7,))), fg.tensor(make_input((7,)))
    kw = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)
    with pytest.raises(ValueError, match=r"\[sgd_step\] expected momentum_buffers\[0\] of shape"):
        _C._sgd_step([p], [g], [fg.zeros(8)], **kw)
    with pytest.raises(ValueError, match=r"\[sgd_step\] expected 1 momentum buffers"):
        _C._sgd_step([p], [g], [], **kw)
    with pytest.raises(ValueError, match=r"\[sgd_step\] expected grads\[0\]"):
        _C._sgd_step([p], [fg.zeros(6)], [None], **kw)
    # A valid call: None starts a buffer equal to the grad and returns it.
    x, gx = to_numpy(p).copy(), to_numpy(g).copy()
    (buf,) = _C._sgd_step([p], [g], [None], **kw)
    np.testing.assert_array_equal(to_numpy(buf), gx)
    assert_close(to_numpy(p), x - 0.1 * gx.astype(np.float64), rtol=RTOL)


# ---------------------------------------------------------------------------------- repr
def test_repr_lists_each_groups_hyperparameters():
    ps = leaves(make_params([(3,), (4,)]))
    text = repr(
        Adam(
            [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.5, "amsgrad": True}],
            lr=0.001,
            betas=(0.8, 0.99),
        )
    )
    assert text.startswith("Adam (") and text.endswith(")")
    g0, g1 = text.split("Parameter Group 1")
    assert "Parameter Group 0" in g0
    for part, lr, ams in [(g0, "0.001", "False"), (g1, "0.5", "True")]:
        assert re.search(rf"^\s+lr: {re.escape(lr)}$", part, re.M)
        assert re.search(rf"^\s+amsgrad: {ams}$", part, re.M)
        for key in ("betas: (0.8, 0.99)", "eps: 1e-08", "weight_decay: 0.0", "maximize: False"):
            assert key in part
    assert "params" not in text and "tensor(" not in text
    sgd = repr(SGD([ps[0]], lr=0.1, momentum=0.9, nesterov=True))
    assert sgd.startswith("SGD (") and "nesterov: True" in sgd and "momentum: 0.9" in sgd
    assert "dampening: 0.0" in sgd


# ----------------------------------------------------------------------------- subclasses
def test_a_pytorch_style_subclass_with_its_own_step_works():
    class SignSGD(fg.optim.Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            with fg.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            p -= group["lr"] * (p.grad / p.grad.abs())
            return None

    x = make_input((7,), domain="nonzero")
    p = fg.tensor(x, requires_grad=True)
    opt = SignSGD([p], lr=0.5)
    (p * p).sum().backward()
    opt.step()
    assert_close(to_numpy(p), x - 0.5 * np.sign(x.astype(np.float64)))
    with pytest.raises(ValueError, match="SignSGD"):
        SignSGD([fg.zeros(2, requires_grad=True)], lr=-1.0)


def test_a_subclass_without_an_update_rule_says_so():
    class Nothing(fg.optim.Optimizer):
        pass

    p = fg.ones(2, requires_grad=True)
    opt = Nothing([p], dict(lr=0.1))
    p.sum().backward()
    with pytest.raises(NotImplementedError, match=r"\[Nothing\].*_update"):
        opt.step()


def test_an_interrupted_adam_step_advances_no_step_count(monkeypatch):
    p = fg.ones(3, requires_grad=True)
    opt = Adam([p], lr=0.1)
    p.sum().backward()
    opt.step()
    before = snapshot(opt)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fg.optim.adam._C, "_adam_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        opt.step()
    assert_same_snapshot(snapshot(opt), before)


def test_an_infinite_gradient_or_parameter_stays_infinite_as_in_pytorch():
    """Found by the fuzz suite: a 0 factor times inf made NaN where PyTorch adds no term
    (SGD momentum without nesterov on a fresh buffer; weight decay 0 on an infinite p)."""
    p = fg.tensor([0.0, 1.0], requires_grad=True)
    opt = fg.optim.SGD([p], lr=1e-3, momentum=0.9)
    p.grad = fg.tensor([math.inf, 1.0])
    opt.step()
    assert p.detach().numpy()[0] == -math.inf
    for opt_class in (fg.optim.SGD, fg.optim.Adam):
        q = fg.tensor([math.inf], requires_grad=True)
        opt = opt_class([q], lr=0.1)
        q.grad = fg.tensor([1.0])
        opt.step()
        assert q.detach().numpy()[0] == math.inf, opt_class


def test_amsgrad_max_propagates_nan_as_torch_maximum():
    p = fg.tensor([1.0], requires_grad=True)
    opt = fg.optim.Adam([p], lr=0.1, amsgrad=True)
    p.grad = fg.tensor([math.nan])
    opt.step()
    assert math.isnan(opt.state[p]["max_exp_avg_sq"].numpy()[0])


# ------------------------------------------- RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam
# float64 references written from the "Algorithm" boxes of torch.optim's pages. One call is one
# step of one parameter; `st` is its state, with torch's state keys. maximize negates the
# gradient first, as for SGD above (torch's code; for these the docs say the same).
def rmsprop_ref_step(
    p,
    grad,
    st,
    lr=1e-2,
    alpha=0.99,
    eps=1e-8,
    weight_decay=0.0,
    momentum=0.0,
    centered=False,
    maximize=False,
):
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * p
    st["step"] = st.get("step", 0) + 1
    st["square_avg"] = alpha * st.get("square_avg", 0.0) + (1 - alpha) * g * g
    v_tilde = st["square_avg"]
    if centered:
        st["grad_avg"] = alpha * st.get("grad_avg", 0.0) + (1 - alpha) * g
        v_tilde = v_tilde - st["grad_avg"] ** 2
    if momentum > 0:
        st["momentum_buffer"] = momentum * st.get("momentum_buffer", 0.0) + g / (
            np.sqrt(v_tilde) + eps
        )
        return p - lr * st["momentum_buffer"]
    return p - lr * g / (np.sqrt(v_tilde) + eps)


def adagrad_ref_step(
    p,
    grad,
    st,
    lr=1e-2,
    lr_decay=0.0,
    weight_decay=0.0,
    initial_accumulator_value=0.0,
    eps=1e-10,
    maximize=False,
):
    g = -grad if maximize else grad
    t = st["step"] = st.get("step", 0) + 1
    lr_t = lr / (1 + (t - 1) * lr_decay)
    if weight_decay != 0:
        g = g + weight_decay * p
    st["sum"] = st.get("sum", initial_accumulator_value) + g * g
    return p - lr_t * g / (np.sqrt(st["sum"]) + eps)


def adadelta_ref_step(p, grad, st, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * p
    st["step"] = st.get("step", 0) + 1
    st["square_avg"] = st.get("square_avg", 0.0) * rho + g * g * (1 - rho)
    delta = np.sqrt(st.get("acc_delta", 0.0) + eps) / np.sqrt(st["square_avg"] + eps) * g
    st["acc_delta"] = st.get("acc_delta", 0.0) * rho + delta * delta * (1 - rho)
    return p - lr * delta


def adamax_ref_step(
    p, grad, st, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False
):
    b1, b2 = betas
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * p
    t = st["step"] = st.get("step", 0) + 1
    st["exp_avg"] = b1 * st.get("exp_avg", 0.0) + (1 - b1) * g
    st["exp_inf"] = np.maximum(b2 * st.get("exp_inf", 0.0), np.abs(g) + eps)
    return p - lr * st["exp_avg"] / ((1 - b1**t) * st["exp_inf"])


def decayed(p, grad, lr, weight_decay, decoupled, maximize):
    """NAdam's and RAdam's first lines: theta <- theta - lr lambda theta (decoupled), or
    g <- g + lambda theta; returns theta and g."""
    g = -grad if maximize else grad
    if weight_decay != 0 and decoupled:
        p = p - lr * weight_decay * p
    elif weight_decay != 0:
        g = g + weight_decay * p
    return p, g


def nadam_ref_step(
    p,
    grad,
    st,
    lr=2e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    momentum_decay=4e-3,
    decoupled_weight_decay=False,
    maximize=False,
):
    b1, b2 = betas
    p, g = decayed(p, grad, lr, weight_decay, decoupled_weight_decay, maximize)
    t = st["step"] = st.get("step", 0) + 1
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    st["mu_product"] = st.get("mu_product", 1.0) * mu
    st["exp_avg"] = b1 * st.get("exp_avg", 0.0) + (1 - b1) * g
    st["exp_avg_sq"] = b2 * st.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
    m_hat = mu_next * st["exp_avg"] / (1 - st["mu_product"] * mu_next) + (1 - mu) * g / (
        1 - st["mu_product"]
    )
    v_hat = st["exp_avg_sq"] / (1 - b2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def radam_ref_step(
    p,
    grad,
    st,
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    decoupled_weight_decay=False,
    maximize=False,
):
    b1, b2 = betas
    p, g = decayed(p, grad, lr, weight_decay, decoupled_weight_decay, maximize)
    t = st["step"] = st.get("step", 0) + 1
    st["exp_avg"] = b1 * st.get("exp_avg", 0.0) + (1 - b1) * g
    st["exp_avg_sq"] = b2 * st.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
    m_hat = st["exp_avg"] / (1 - b1**t)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho_t > 5:
        adaptive = np.sqrt(1 - b2**t) / (np.sqrt(st["exp_avg_sq"]) + eps)
        rect = math.sqrt(
            (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        )
        return p - lr * m_hat * rect * adaptive
    return p - lr * m_hat


REFERENCES = {
    RMSprop: rmsprop_ref_step,
    Adagrad: adagrad_ref_step,
    Adadelta: adadelta_ref_step,
    Adamax: adamax_ref_step,
    NAdam: nadam_ref_step,
    RAdam: radam_ref_step,
}
# Each option of each, over 8 steps: RAdam's rho_t passes 5 at step 6 (beta2 = 0.999), so both
# of its branches run.
CASES = [
    (RMSprop, dict(lr=0.01)),
    (RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-3, momentum=0.9)),
    (RMSprop, dict(lr=0.01, centered=True)),
    (RMSprop, dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.05, maximize=True)),
    (Adagrad, dict(lr=0.05)),
    (Adagrad, dict(lr=0.05, lr_decay=0.1, weight_decay=0.05, initial_accumulator_value=0.3)),
    (Adagrad, dict(lr=0.05, eps=1e-3, maximize=True)),
    (Adadelta, dict()),
    (Adadelta, dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.05)),
    (Adadelta, dict(maximize=True)),
    (Adamax, dict(lr=0.05)),
    (Adamax, dict(lr=0.05, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.05)),
    (Adamax, dict(lr=0.05, maximize=True)),
    (NAdam, dict(lr=0.05)),
    (NAdam, dict(lr=0.05, weight_decay=0.05, momentum_decay=0.01)),
    (NAdam, dict(lr=0.05, weight_decay=0.05, decoupled_weight_decay=True, maximize=True)),
    (RAdam, dict(lr=0.05)),
    (RAdam, dict(lr=0.05, weight_decay=0.05, betas=(0.8, 0.99))),
    (RAdam, dict(lr=0.05, weight_decay=0.05, decoupled_weight_decay=True, maximize=True)),
]
CASE_IDS = [
    f"{cls.__name__}-{'-'.join(f'{k}{v}' for k, v in hp.items()) or 'defaults'}"
    for cls, hp in CASES
]
LONG_STEPS = 8
# No tiny gradients here: Adadelta's steps scale with the gradient, and would fall to the
# tolerance at 0.01 x its size.
LONG_GRAD_SCALES = [1.0, 0.8, 0.3, 1.5, 0.5]


def check_new_state(opt, ps, ref_states, rtol):
    """Each parameter's state: torch's keys, the step count an int, each buffer and
    mu_product as in the reference."""
    for i, (p, st) in enumerate(zip(ps, ref_states)):
        state = opt.state[p]
        assert set(state) == set(st), f"param {i}: state keys {sorted(state)}"
        assert state["step"] == st["step"] and isinstance(state["step"], int)
        for key, ref in st.items():
            if key == "mu_product":
                assert state[key] == pytest.approx(ref, rel=1e-12)
            elif key != "step":
                assert_close(
                    to_numpy(state[key]),
                    np.asarray(ref, np.float64),
                    rtol=rtol,
                    atol=0.1 * rtol * float(np.max(np.abs(ref))) if np.size(ref) else 0,
                    what=f"{key} {i}",
                )


@pytest.mark.parametrize("cls,hp", CASES, ids=CASE_IDS)
def test_new_optimizers_match_reference(threads4, cls, hp, device):
    # float32 on SHAPES (the kernel's thread split falls inside tensors), checked every step.
    check_against_reference(cls, hp, device, LONG_STEPS, LONG_GRAD_SCALES)


@pytest.mark.parametrize("cls,hp", CASES, ids=CASE_IDS)
def test_new_optimizers_match_reference_in_float64(cls, hp, device):
    # float64 all the way: the same numbers as the reference to a few float64 roundings.
    shapes = [(7,), (33, 5), (0,), (1031,)]
    params0 = [x.astype(np.float64) for x in make_params(shapes)]
    grads = [[g.astype(np.float64) for g in step] for step in make_grads(shapes, steps=LONG_STEPS)]
    ps = leaves(params0, device)
    opt = cls(ps, **hp)
    fg_run(opt, ps, grads)
    refs, ref_states = list(params0), [{} for _ in ps]
    for step_grads in grads:
        refs = [REFERENCES[cls](r, g, st, **hp) for r, g, st in zip(refs, step_grads, ref_states)]
    for i, (p, ref) in enumerate(zip(ps, refs)):
        assert p.dtype == fg.float64
        assert_close(to_numpy(p), ref, rtol=1e-12, atol=1e-12, what=f"param {i}")
    check_new_state(opt, ps, ref_states, 1e-12)


def test_new_optimizers_default_hyperparameters_are_torchs():
    p = _p()
    defaults = {cls: cls([p]).defaults for cls in REFERENCES}
    assert defaults[RMSprop] == dict(
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        maximize=False,
    )
    assert defaults[Adagrad] == dict(
        lr=1e-2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
        maximize=False,
    )
    assert defaults[Adadelta] == dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False)
    assert defaults[Adamax] == dict(
        lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False
    )
    assert defaults[NAdam] == dict(
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        maximize=False,
    )
    assert defaults[RAdam] == dict(
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        decoupled_weight_decay=False,
        maximize=False,
    )


def test_rmsprop_adds_the_buffers_an_option_turned_on_later_needs():
    # torch keeps momentum_buffer and grad_avg only with momentum > 0 and centered; a group
    # switched to them later starts those buffers at zero, its square_avg kept.
    x = make_params([(33,)])
    grads = make_grads([(33,)], steps=2)
    p = leaves(x)[0]
    opt = RMSprop([p], lr=0.01)
    fg_run(opt, [p], grads[:1])
    assert set(opt.state[p]) == {"step", "square_avg"}
    opt.param_groups[0].update(momentum=0.9, centered=True)
    fg_run(opt, [p], grads[1:])
    st = {}
    ref = x[0].astype(np.float64)
    ref = rmsprop_ref_step(ref, grads[0][0].astype(np.float64), st, lr=0.01)
    ref = rmsprop_ref_step(
        ref, grads[1][0].astype(np.float64), st, lr=0.01, momentum=0.9, centered=True
    )
    assert_close(to_numpy(p), ref, rtol=RTOL, what="param")
    check_new_state(opt, [p], [st], RTOL)


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"mu_product": 1.5}, r"expected mu_product, a number in \[0, 1\], got 1.5"),
        ({"mu_product": "0.5"}, r"expected mu_product, a number in \[0, 1\], got '0.5'"),
        ({"mu_product": None}, r"missing \['mu_product'\]"),
    ],
    ids=["above-one", "string", "missing"],
)
def test_nadam_load_state_dict_checks_mu_product(changes, error):
    p = leaves(make_params([(3,)]))[0]
    opt = NAdam([p])
    state = {"step": 2, "mu_product": 0.5, "exp_avg": fg.zeros(3), "exp_avg_sq": fg.zeros(3)}
    state.update(changes)
    state = {k: v for k, v in state.items() if v is not None}
    sd = dict(opt.state_dict(), state={0: state})
    with pytest.raises(
        ValueError,
        match=rf"^\[NAdam.load_state_dict\] state of parameter 0: "
        rf"{error}",
    ):
        opt.load_state_dict(sd)
    assert opt.state == {}


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda p, g: _C._rmsprop_step(
                [p],
                [g],
                [],
                [],
                [],
                lr=0.1,
                alpha=0.9,
                eps=1e-8,
                weight_decay=0.0,
                momentum=0.0,
                centered=False,
                maximize=False,
            ),
            r"\[rmsprop_step\] expected 1 square_avgs",
        ),
        (
            lambda p, g: _C._rmsprop_step(
                [p],
                [g],
                [fg.zeros(3)],
                [],
                [],
                lr=0.1,
                alpha=0.9,
                eps=1e-8,
                weight_decay=0.0,
                momentum=0.9,
                centered=False,
                maximize=False,
            ),
            r"\[rmsprop_step\] expected 1 momentum_buffers",
        ),
        (
            lambda p, g: _C._adagrad_step(
                [p],
                [g],
                [fg.zeros(4)],
                [1],
                lr=0.1,
                lr_decay=0.0,
                weight_decay=0.0,
                eps=1e-10,
                maximize=False,
            ),
            r"\[adagrad_step\] expected sums\[0\] of shape",
        ),
        (
            lambda p, g: _C._adamax_step(
                [p],
                [g],
                [fg.zeros(3)],
                [fg.zeros(3)],
                [0],
                lr=0.1,
                beta1=0.9,
                beta2=0.999,
                eps=1e-8,
                weight_decay=0.0,
                maximize=False,
            ),
            r"\[adamax_step\] expected step counts >= 1",
        ),
        (
            lambda p, g: _C._nadam_step(
                [p],
                [g],
                [fg.zeros(3)],
                [fg.zeros(3)],
                [1],
                [2.0],
                lr=0.1,
                beta1=0.9,
                beta2=0.999,
                eps=1e-8,
                weight_decay=0.0,
                momentum_decay=4e-3,
                maximize=False,
                decoupled_weight_decay=False,
            ),
            r"\[nadam_step\] expected mu_products in \[0, 1\]",
        ),
        (
            lambda p, g: _C._radam_step(
                [p],
                [g],
                [fg.zeros(3, dtype=fg.float64)],
                [fg.zeros(3)],
                [1],
                lr=0.1,
                beta1=0.9,
                beta2=0.999,
                eps=1e-8,
                weight_decay=0.0,
                maximize=False,
                decoupled_weight_decay=False,
            ),
            r"\[radam_step\] expected exp_avgs\[0\] of its parameter's dtype",
        ),
    ],
    ids=[
        "rmsprop-no-square-avgs",
        "rmsprop-momentum-without-buffers",
        "adagrad-wrong-shape",
        "adamax-step-zero",
        "nadam-mu-product",
        "radam-wrong-dtype",
    ],
)
def test_new_kernels_reject_bad_buffers_before_touching_anything(call, message):
    p = fg.ones(3)
    with pytest.raises((ValueError, TypeError), match=message):
        call(p, fg.ones(3))
    np.testing.assert_array_equal(to_numpy(p), np.ones(3, np.float32))


@pytest.mark.parametrize("cls", list(REFERENCES))
def test_new_optimizers_skip_params_without_grad_and_count_steps_each(cls):
    x = make_params([(7,), (5,)])
    grads = make_grads([(7,), (5,)], steps=3)
    grads = [[g0, g1 if k == 2 else None] for k, (g0, g1) in enumerate(grads)]
    ps = leaves(x)
    opt = cls(ps)
    fg_run(opt, ps, grads)
    assert opt.state[ps[0]]["step"] == 3 and opt.state[ps[1]]["step"] == 1
    refs, states = [x[0].astype(np.float64), x[1].astype(np.float64)], [{}, {}]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is not None:
                refs[i] = REFERENCES[cls](refs[i], g.astype(np.float64), states[i])
    assert_params(ps, refs)
